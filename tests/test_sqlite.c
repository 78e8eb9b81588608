/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SQLite through the daxmap VFS (examples/sqlite-vfs): the workload in
 * DELETE and WAL modes, with and without memory-mapped I/O, close and
 * reopen; locks between connections; xFetch pointing into the pool; a full
 * pool giving SQLITE_FULL; missing and busy pools giving SQLITE_CANTOPEN, the
 * reason in the SQLite log, xGetLastError and sqlite3_system_errno; the
 * stock sqlite3 shell loading the extension, and running under LD_PRELOAD.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <daxmap_vfs.h>
#include <sqlite3.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char uri[1024];

/* "file:NAME?vfs=daxmap&pool=<tmp>/POOL[&EXTRA]" */
static const char *db_uri(const char *name, const char *pool, const char *extra)
{
	snprintf(uri, sizeof(uri), "file:%s?vfs=daxmap&pool=%s%s%s", name, tu_path(pool),
		 extra ? "&" : "", extra ? extra : "");
	return uri;
}

static sqlite3 *db_open(const char *name, const char *pool, const char *extra)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(db_uri(name, pool, extra), &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "open %s: %s\n", uri, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	CU_ASSERT_FATAL(rc == SQLITE_OK);
	sqlite3_busy_timeout(db, 0);
	return db;
}

static int exec_rc(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	sqlite3_free(err);
	return rc;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	CU_ASSERT_FATAL(rc == SQLITE_OK);
}

/* First column of the first row as integer. */
static sqlite3_int64 query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3_int64 v = -1;
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void query_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st;
	out[0] = 0;
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void assert_integrity(sqlite3 *db)
{
	char res[256];
	query_text(db, "PRAGMA integrity_check", res, sizeof(res));
	if (strcmp(res, "ok") != 0)
		fprintf(stderr, "integrity_check: %s\n", res);
	CU_ASSERT_FATAL(strcmp(res, "ok") == 0);
}

struct found {
	const char *name;
	uint64_t size;
	int seen;
};

static int find_cb(const char *name, uint64_t size, void *arg)
{
	struct found *f = arg;
	if (strcmp(name, f->name) == 0) {
		f->seen = 1;
		f->size = size;
	}
	return 0;
}

/* Whether object `name` exists in the pool (the VFS must have closed it), and its size. */
static int pool_has(const char *pool, const char *name, uint64_t *size)
{
	daxmap_pool *p;
	struct found f = { name, 0, 0 };
	TU_OK(daxmap_pool_open(&p, tu_path(pool)));
	TU_OK(daxmap_pool_list(p, find_cb, &f));
	TU_OK(daxmap_pool_close(p));
	if (size)
		*size = f.size;
	return f.seen;
}

/*
 * Tables, an index, inserts, updates, deletes, a committed and a rolled-back
 * transaction, VACUUM, integrity_check; close, reopen, the same content.
 */
static void workload(const char *pool, const char *journal, int mmap)
{
	char pragma[128], mode[32];
	sqlite3 *db = db_open("work.db", pool, "pool_size=64M");

	snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode=%s", journal);
	query_text(db, pragma, mode, sizeof(mode));
	CU_ASSERT_FATAL(strcasecmp(mode, journal) == 0);
	snprintf(pragma, sizeof(pragma), "PRAGMA mmap_size=%d", mmap ? 64 << 20 : 0);
	exec_ok(db, pragma);
	exec_ok(db, "PRAGMA synchronous=FULL; PRAGMA cache_size=-256");
	exec_ok(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
		    "CREATE INDEX t_k ON t(k)");
	exec_ok(db, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<5000)"
		    " INSERT INTO t SELECT i, printf('key%06d', i), randomblob(i % 700) FROM c; COMMIT");
	exec_ok(db, "UPDATE t SET k = k || 'u' WHERE id % 3 = 0");
	exec_ok(db, "DELETE FROM t WHERE id % 5 = 0");
	/* rolled back: none of it stays */
	exec_ok(db, "BEGIN; DELETE FROM t; INSERT INTO t VALUES(100000, 'gone', NULL); ROLLBACK");
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t") == 4000);
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t WHERE id = 100000") == 0);
	/* committed in many small transactions */
	for (int i = 0; i < 50; i++)
		exec_ok(db, "INSERT INTO t(k, v) VALUES('small', zeroblob(100))");
	exec_ok(db, "DELETE FROM t WHERE id > 2500 AND id < 5000");
	exec_ok(db, "VACUUM");
	assert_integrity(db);
	sqlite3_int64 sum = query_int(db, "SELECT sum(id) + sum(length(v)) + count(DISTINCT k) FROM t");
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t WHERE k LIKE '%u'") > 0);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);

	/* every file closed: the pool is closed too, and holds what SQLite left */
	uint64_t size;
	CU_ASSERT(pool_has(pool, "work.db", &size));
	CU_ASSERT(size > 0 && size % 4096 == 0);
	uint64_t jsize = 1;
	int journal_left = pool_has(pool, "work.db-journal", &jsize);
	if (strcmp(journal, "truncate") == 0) { /* the journal stays, empty */
		CU_ASSERT(journal_left && jsize == 0);
	} else if (strcmp(journal, "persist") == 0) { /* the journal stays, not hot */
		CU_ASSERT(journal_left && jsize > 0);
	} else {
		CU_ASSERT(!journal_left);
	}
	CU_ASSERT(!pool_has(pool, "work.db-wal", NULL)); /* the last close checkpoints and deletes it */

	db = db_open("work.db", pool, NULL);
	query_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	CU_ASSERT(strcasecmp(mode, strcasecmp(journal, "wal") == 0 ? "wal" : "delete") == 0);
	snprintf(pragma, sizeof(pragma), "PRAGMA mmap_size=%d", mmap ? 64 << 20 : 0);
	exec_ok(db, pragma);
	assert_integrity(db);
	CU_ASSERT(query_int(db, "SELECT sum(id) + sum(length(v)) + count(DISTINCT k) FROM t") == sum);
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t WHERE k = 'small'") == 50);
	CU_ASSERT(query_int(db, "SELECT id FROM t WHERE k = 'key002002'") == 2002);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
}

static void test_workload_delete(void)
{
	workload("del.pool", "delete", 0);
}

static void test_workload_delete_mmap(void)
{
	workload("delmm.pool", "delete", 1);
}

static void test_workload_wal(void)
{
	workload("wal.pool", "wal", 0);
}

static void test_workload_wal_mmap(void)
{
	workload("walmm.pool", "wal", 1);
}

static void test_workload_truncate_mode(void)
{
	workload("trunc.pool", "truncate", 0);
}

static void test_workload_persist_mode(void)
{
	workload("persist.pool", "persist", 0);
}

static void test_workload_truncate_mode_mmap(void)
{
	workload("truncmm.pool", "truncate", 1);
}

/* A second connection reads the first one's WAL; the pool is held while open, clean after. */
static void test_wal_file_is_an_object_while_open(void)
{
	sqlite3 *db = db_open("w.db", "walobj.pool", "pool_size=32M");
	exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
		    "CREATE TABLE t(x); INSERT INTO t VALUES(42)");
	sqlite3 *db2 = db_open("w.db", "walobj.pool", NULL);
	CU_ASSERT(query_int(db2, "SELECT x FROM t") == 42);
	CU_ASSERT(sqlite3_close(db2) == SQLITE_OK);
	/* while open, the pool is ours: a check from outside sees it busy */
	CU_ASSERT(daxmap_pool_check(tu_path("walobj.pool"), 0, NULL, NULL) == -EBUSY);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
	CU_ASSERT(daxmap_pool_check(tu_path("walobj.pool"), DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/* In-process locks: two connections exclude each other as on a file system. */
static void test_locks_between_connections(void)
{
	sqlite3 *a = db_open("l.db", "locks.pool", "pool_size=32M");
	sqlite3 *b = db_open("l.db", "locks.pool", NULL);

	exec_ok(a, "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
	/* rollback mode: a writer with RESERVED lets readers in, cannot commit over them */
	exec_ok(a, "BEGIN IMMEDIATE; INSERT INTO t VALUES(2)");
	CU_ASSERT(exec_rc(b, "BEGIN IMMEDIATE") == SQLITE_BUSY);
	exec_ok(b, "BEGIN");
	CU_ASSERT(query_int(b, "SELECT count(*) FROM t") == 1);
	CU_ASSERT(exec_rc(a, "COMMIT") == SQLITE_BUSY); /* b holds SHARED */
	exec_ok(b, "COMMIT");
	exec_ok(a, "COMMIT");
	CU_ASSERT(query_int(b, "SELECT count(*) FROM t") == 2);

	/* WAL: readers and one writer at once, a second writer busy */
	exec_ok(a, "PRAGMA journal_mode=WAL");
	exec_ok(a, "BEGIN IMMEDIATE; INSERT INTO t VALUES(3)");
	CU_ASSERT(query_int(b, "SELECT count(*) FROM t") == 2);
	CU_ASSERT(exec_rc(b, "BEGIN IMMEDIATE") == SQLITE_BUSY);
	exec_ok(a, "COMMIT");
	CU_ASSERT(query_int(b, "SELECT count(*) FROM t") == 3);
	CU_ASSERT(sqlite3_close(b) == SQLITE_OK);
	CU_ASSERT(sqlite3_close(a) == SQLITE_OK);
}

/*
 * DELETE mode: the journal deleted at each commit is kept (parked, zeroed,
 * absent for SQLite) while the database is open, and gone once it closes;
 * another connection never takes it for a hot journal.
 */
static void test_deleted_journal_is_absent_and_gone_at_close(void)
{
	sqlite3 *a = db_open("j.db", "journal.pool", "pool_size=32M");
	sqlite3 *b = db_open("j.db", "journal.pool", NULL);
	sqlite3_vfs *vfs = sqlite3_vfs_find("daxmap");
	int res = -1;

	CU_ASSERT_FATAL(vfs != NULL);
	exec_ok(a, "CREATE TABLE t(x)");
	for (int i = 0; i < 200; i++) {
		exec_ok(i % 2 ? a : b, "INSERT INTO t VALUES(randomblob(3000))");
		CU_ASSERT(query_int(i % 2 ? b : a, "SELECT count(*) FROM t") == i + 1);
	}
	CU_ASSERT(vfs->xAccess(vfs, "j.db-journal", SQLITE_ACCESS_EXISTS, &res) == SQLITE_OK);
	CU_ASSERT(res == 0);
	CU_ASSERT(vfs->xAccess(vfs, "j.db-journal", SQLITE_ACCESS_READWRITE, &res) == SQLITE_OK);
	CU_ASSERT(res == 0);
	exec_ok(a, "BEGIN; UPDATE t SET x = zeroblob(10); ROLLBACK");
	CU_ASSERT(query_int(b, "SELECT count(*) FROM t WHERE length(x) = 3000") == 200);
	assert_integrity(b);
	CU_ASSERT(sqlite3_close(b) == SQLITE_OK);
	CU_ASSERT(sqlite3_close(a) == SQLITE_OK);
	CU_ASSERT(pool_has("journal.pool", "j.db", NULL));
	CU_ASSERT(!pool_has("journal.pool", "j.db-journal", NULL));
}

/* xFetch hands out pointers into the daxmap mapping of the database object. */
static void test_fetch_points_into_the_pool(void)
{
	sqlite3 *db = db_open("f.db", "fetch.pool", "pool_size=32M");
	sqlite3_file *f = NULL;
	void *p = NULL;

	exec_ok(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
	CU_ASSERT_FATAL(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK);
	CU_ASSERT_FATAL(f && f->pMethods->iVersion >= 3);
	exec_ok(db, "PRAGMA mmap_size=1048576");
	CU_ASSERT(f->pMethods->xFetch(f, 0, 4096, &p) == SQLITE_OK);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(memcmp(p, "SQLite format 3", 16) == 0);
	CU_ASSERT(daxmap_persist(p, 4096) == 0); /* only a daxmap mapping is accepted */
	CU_ASSERT(f->pMethods->xUnfetch(f, 0, p) == SQLITE_OK);
	/* past EOF or past the mmap_size limit: no pointer, SQLite reads instead */
	CU_ASSERT(f->pMethods->xFetch(f, 1 << 20, 4096, &p) == SQLITE_OK && p == NULL);
	char *vfs = NULL;
	CU_ASSERT(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &vfs) == SQLITE_OK);
	CU_ASSERT(vfs && strcmp(vfs, "daxmap") == 0);
	sqlite3_free(vfs);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
}

/*
 * In journal mode `journal`, runs `create`, then inserts rows of 100 kB
 * (at most `max`) until one fails, which must be SQLITE_FULL; returns how
 * many statements ran, the failed one included.
 */
static int insert_until_full(sqlite3 *db, const char *journal, const char *create, int max)
{
	char pragma[64];
	int rc = SQLITE_OK, i;

	snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode=%s", journal);
	exec_ok(db, pragma);
	exec_ok(db, create);
	for (i = 0; i < max && rc == SQLITE_OK; i++)
		rc = exec_rc(db, "INSERT INTO t VALUES(randomblob(100000))");
	CU_ASSERT(rc == SQLITE_FULL);
	return i;
}

/* A full pool is SQLITE_FULL, never SIGBUS; what was committed before stays. */
static void full_pool(const char *pool, const char *journal)
{
	sqlite3 *db = db_open("full.db", pool, "pool_size=16M");
	int i = insert_until_full(db, journal,
				  "CREATE TABLE t(x); INSERT INTO t VALUES(zeroblob(1000))", 1000);

	CU_ASSERT(i > 5 && i < 1000);
	sqlite3_int64 n = query_int(db, "SELECT count(*) FROM t");
	CU_ASSERT(n == i); /* every statement but the failed one */
	assert_integrity(db);
	if (strcmp(journal, "delete") == 0) {
		/* freeing rows needs journal space; with the journal in memory it works,
		 * and the freed pages are reused */
		exec_ok(db, "PRAGMA journal_mode=MEMORY");
		exec_ok(db, "DELETE FROM t WHERE rowid > 3");
		exec_ok(db, "INSERT INTO t VALUES(randomblob(100000))");
		n = 4;
	}
	/* WAL: the closing checkpoint cannot grow the database; the WAL stays and
	 * the next open recovers it */
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
	db = db_open("full.db", pool, NULL);
	assert_integrity(db);
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t") == n);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
	CU_ASSERT(daxmap_pool_check(tu_path(pool), DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/*
 * pool_max: the pool grows by itself (pool_grow steps, default 64 MiB) as
 * the database grows past the pool's first size, in WAL and DELETE mode,
 * until its maximum; then SQLITE_FULL. The pool checks clean and the size
 * it grew to stays after a reopen.
 */
static void growing_pool(const char *pool, const char *journal)
{
	sqlite3 *db = db_open("grow.db", pool, "pool_size=16M&pool_max=64M&pool_grow=8M");
	int i = insert_until_full(db, journal, "CREATE TABLE t(x)", 2000);

	/* 16 MiB held ~100 such rows; 64 MiB holds several hundred */
	CU_ASSERT(i > 300);
	printf("\n  %s: %d rows of 100 kB before SQLITE_FULL at the maximum ", journal, i - 1);
	assert_integrity(db);
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t") == i - 1);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
	daxmap_pool *p;
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_open(&p, tu_path(pool)));
	TU_OK(daxmap_pool_stat(p, &st));
	CU_ASSERT(st.size == (64u << 20) && st.max_size == (64u << 20));
	TU_OK(daxmap_pool_close(p));
	CU_ASSERT(daxmap_pool_check(tu_path(pool), DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	/* reopened without the parameters: the data is there */
	db = db_open("grow.db", pool, NULL);
	assert_integrity(db);
	CU_ASSERT(query_int(db, "SELECT count(*) FROM t") == i - 1);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
}

static void test_growing_pool_wal(void)
{
	growing_pool("growwal.pool", "wal");
}

static void test_growing_pool_delete(void)
{
	growing_pool("growdel.pool", "delete");
}

static void test_full_pool_delete(void)
{
	full_pool("full.pool", "delete");
}

static void test_full_pool_wal(void)
{
	full_pool("fullwal.pool", "wal");
}

static void test_no_pool_is_cantopen(void)
{
	sqlite3 *db = NULL;
	char bad[600];

	unsetenv("DAXMAP_POOL");
	CU_ASSERT(sqlite3_open_v2("x.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				  "daxmap") == SQLITE_CANTOPEN);
	sqlite3_close(db);
	snprintf(bad, sizeof(bad), "file:x.db?vfs=daxmap&pool=%s/no/such/dir/p", tu_dir());
	CU_ASSERT(sqlite3_open_v2(bad, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				  NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);
	snprintf(bad, sizeof(bad), "file:x.db?vfs=daxmap&pool=%s&pool_size=lots", tu_path("bad.pool"));
	CU_ASSERT(sqlite3_open_v2(bad, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				  NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);
	/* read-only open of a missing database: no object is created */
	db = db_open("exists.db", "ro.pool", "pool_size=16M");
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
	CU_ASSERT(sqlite3_open_v2(db_uri("missing.db", "ro.pool", NULL), &db,
				  SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);
	CU_ASSERT(!pool_has("ro.pool", "missing.db", NULL));
}

/* The last line of the SQLite log (SQLITE_CONFIG_LOG, set in main) and its code. */
static char last_log[1024];
static int last_log_code;

static void log_to_last(void *arg, int code, const char *msg)
{
	(void)arg;
	last_log_code = code;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

/*
 * Opens `name` (a URI when it starts with "file:") on the daxmap VFS,
 * read-write and created unless ro, which must fail with SQLITE_CANTOPEN:
 * SQLite's message is the generic one, and the reason, which must contain
 * `why`, is in the log and in xGetLastError; sqlite3_system_errno() gives
 * `err`.
 */
static void open_fails_saying(const char *name, int ro, const char *why, int err)
{
	sqlite3_vfs *vfs = sqlite3_vfs_find("daxmap");
	char reason[512];
	sqlite3 *db = NULL;

	last_log[0] = 0;
	int flags = ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	CU_ASSERT(sqlite3_open_v2(name, &db, flags | SQLITE_OPEN_URI, "daxmap") == SQLITE_CANTOPEN);
	CU_ASSERT_STRING_EQUAL(sqlite3_errmsg(db), "unable to open database file");
	if (!strstr(last_log, why))
		fprintf(stderr, "\n%s: the log says \"%s\", not \"%s\"\n", name, last_log, why);
	CU_ASSERT(strncmp(last_log, "daxmap: ", 8) == 0 && strstr(last_log, why) != NULL);
	CU_ASSERT(last_log_code == SQLITE_CANTOPEN);
	CU_ASSERT(vfs->xGetLastError(vfs, sizeof(reason), reason) == err);
	CU_ASSERT(strcmp(reason, last_log + 8) == 0);
	CU_ASSERT(sqlite3_system_errno(db) == err);
	sqlite3_close(db);
}

static void test_open_failures_say_why(void)
{
	char name[600];
	int ready[2], hold[2];
	pid_t pid;

	/* no pool named anywhere */
	unsetenv("DAXMAP_POOL");
	open_fails_saying("x.db", 0, "no pool: DAXMAP_POOL is not set and the URI names none", 0);
	/* a bad size for the pool to create */
	setenv("DAXMAP_POOL", tu_path("why.pool"), 1);
	setenv("DAXMAP_POOL_SIZE", "12Q", 1);
	open_fails_saying("x.db", 0, "DAXMAP_POOL_SIZE=12Q is not a size", EINVAL);
	unsetenv("DAXMAP_POOL_SIZE");
	unsetenv("DAXMAP_POOL");
	snprintf(name, sizeof(name), "file:x.db?pool=%s&pool_size=lots", tu_path("why.pool"));
	open_fails_saying(name, 0, "pool_size=lots is not a size", EINVAL);
	/* too small for a pool: the library's reason */
	snprintf(name, sizeof(name), "file:x.db?pool=%s&pool_size=1M", tu_path("why.pool"));
	open_fails_saying(name, 0, "pool size 1048576", EINVAL);

	/* a read-only open of a database that is not there: the library's reason */
	CU_ASSERT(sqlite3_close(db_open("other.db", "why-ro.pool", "pool_size=16M")) == SQLITE_OK);
	snprintf(name, sizeof(name), "file:missing.db?pool=%s", tu_path("why-ro.pool"));
	open_fails_saying(name, 1, "object \"missing.db\": no object \"missing.db\" in pool", ENOENT);

	/* the pool is open in another process */
	CU_ASSERT_FATAL(pipe(ready) == 0 && pipe(hold) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		daxmap_pool *pool;
		char c;
		close(ready[0]);
		close(hold[1]); /* the parent's close of it is the end of the hold */
		if (daxmap_pool_create(&pool, tu_path("busy-why.pool"), 16 << 20, 0600) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(hold[0], &c, 1) < 0)
			_exit(2);
		_exit(daxmap_pool_close(pool) < 0 ? 3 : 0);
	}
	close(ready[1]);
	close(hold[0]);
	char c;
	CU_ASSERT_FATAL(read(ready[0], &c, 1) == 1);
	snprintf(name, sizeof(name), "file:x.db?pool=%s", tu_path("busy-why.pool"));
	open_fails_saying(name, 0, "is busy: open in another process", EBUSY);
	close(hold[1]); /* the holder closes its pool and exits */
	int status;
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	/* and once it is gone the database opens */
	sqlite3 *db = db_open("x.db", "busy-why.pool", NULL);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
}

/* Runs a shell command, returns its exit status; output (stdout+stderr) in out. */
static int run(const char *cmd, char *out, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	CU_ASSERT_FATAL(f != NULL);
	while (n + 1 < len && !feof(f)) {
		size_t r = fread(out + n, 1, len - 1 - n, f);
		if (r == 0)
			break;
		n += r;
	}
	out[n] = 0;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The stock sqlite3 shell .loads the extension and runs a script on a pool. */
/*
 * The stock sqlite3 shell is not built with sanitizers; an instrumented
 * extension or preload object cannot be loaded into it (the sanitizer's
 * runtime must come first in the process). Those two tests run in the plain
 * builds only and say so under a sanitizer.
 */

static int skip_under_sanitizer(const char *what)
{
	if (TU_SANITIZED)
		printf("\n  skipped under a sanitizer: %s loads an instrumented object into the "
		       "uninstrumented sqlite3 shell\n", what);
	return TU_SANITIZED;
}

static void test_shell_loads_extension(void)
{
	char script[600], cmd[1400], out[4096];
	FILE *f;

	if (skip_under_sanitizer("shell .load"))
		return;

	snprintf(script, sizeof(script), "%s", tu_path("script.sql"));
	f = fopen(script, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, ".load %s\n.open file:shell.db?vfs=daxmap&pool=%s&pool_size=32M\n", DAXMAP_SQLITE_EXT,
		tu_path("shell.pool"));
	fprintf(f, "PRAGMA journal_mode=WAL;\n"
		   "CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER);\n"
		   "BEGIN;\n"
		   "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<1000)\n"
		   "  INSERT INTO kv SELECT 'k' || i, i FROM c;\n"
		   "COMMIT;\n"
		   "UPDATE kv SET v = v * 2 WHERE v <= 10;\n"
		   "SELECT count(*), sum(v) FROM kv;\n"
		   "PRAGMA integrity_check;\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s -batch < %s 2>&1", SQLITE3_SHELL, script);
	CU_ASSERT(run(cmd, out, sizeof(out)) == 0);
	if (strcmp(out, "wal\n1000|500555\nok\n") != 0)
		fprintf(stderr, "shell said: %s\n", out);
	CU_ASSERT(strcmp(out, "wal\n1000|500555\nok\n") == 0);

	/* what the shell wrote, read through the VFS linked into this program */
	sqlite3 *db = db_open("shell.db", "shell.pool", NULL);
	CU_ASSERT(query_int(db, "SELECT sum(v) FROM kv") == 500555);

	/* a second process meets a pool this one holds: it cannot open it, and
	 * with the shell's log on (README) it says why */
	snprintf(cmd, sizeof(cmd), "%s -batch -cmd '.log stderr' -cmd '.load %s' "
		 "-cmd '.open file:shell.db?vfs=daxmap&pool=%s' </dev/null 2>&1", SQLITE3_SHELL,
		 DAXMAP_SQLITE_EXT, tu_path("shell.pool"));
	run(cmd, out, sizeof(out));
	if (!strstr(out, "unable to open database") || !strstr(out, "open in another process"))
		fprintf(stderr, "shell said: %s\n", out);
	CU_ASSERT(strstr(out, "unable to open database") != NULL);
	CU_ASSERT(strstr(out, "daxmap: pool ") != NULL);
	CU_ASSERT(strstr(out, "is busy: open in another process") != NULL);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);

	/* a URI on the command line is opened before any -cmd runs: the VFS is
	 * not there yet (README: .open it after the .load) */
	snprintf(cmd, sizeof(cmd), "%s -batch -cmd '.load %s' 'file:shell.db?vfs=daxmap&pool=%s' "
		 "</dev/null 2>&1", SQLITE3_SHELL, DAXMAP_SQLITE_EXT, tu_path("shell.pool"));
	run(cmd, out, sizeof(out));
	CU_ASSERT(strstr(out, "no such vfs: daxmap") != NULL);
}

/* LD_PRELOAD puts the unmodified shell on the VFS; DAXMAP_POOL names the pool, created on first use. */
static void test_preload_default_pool(void)
{
	char cmd[1400], out[4096];
	struct stat st;

	if (skip_under_sanitizer("LD_PRELOAD"))
		return;

	snprintf(cmd, sizeof(cmd),
		 "DAXMAP_POOL=%s DAXMAP_POOL_SIZE=24M LD_PRELOAD=%s %s -batch -vfs daxmap app.db "
		 "'CREATE TABLE t(x); INSERT INTO t VALUES(7); SELECT x FROM t;' 2>&1",
		 tu_path("env.pool"), DAXMAP_PRELOAD, SQLITE3_SHELL);
	CU_ASSERT(run(cmd, out, sizeof(out)) == 0);
	CU_ASSERT(strcmp(out, "7\n") == 0);
	CU_ASSERT(stat(tu_path("env.pool"), &st) == 0 && st.st_size == 24 << 20);
	/* DAXMAP_VFS_DEFAULT=1: a program that names no VFS at all */
	snprintf(cmd, sizeof(cmd),
		 "DAXMAP_POOL=%s DAXMAP_VFS_DEFAULT=1 LD_PRELOAD=%s %s -batch app.db 'SELECT x + 1 FROM t;' 2>&1",
		 tu_path("env.pool"), DAXMAP_PRELOAD, SQLITE3_SHELL);
	CU_ASSERT(run(cmd, out, sizeof(out)) == 0);
	CU_ASSERT(strcmp(out, "8\n") == 0);
	CU_ASSERT(access("app.db", F_OK) != 0); /* nothing landed in the working directory */
	CU_ASSERT(pool_has("env.pool", "app.db", NULL));
}

int main(void)
{
	static const struct tu_test tests[] = {
		{ "workload_delete", test_workload_delete },
		{ "workload_delete_mmap", test_workload_delete_mmap },
		{ "workload_wal", test_workload_wal },
		{ "workload_wal_mmap", test_workload_wal_mmap },
		{ "workload_truncate_mode", test_workload_truncate_mode },
		{ "workload_truncate_mode_mmap", test_workload_truncate_mode_mmap },
		{ "workload_persist_mode", test_workload_persist_mode },
		{ "deleted_journal_is_absent_and_gone_at_close",
		  test_deleted_journal_is_absent_and_gone_at_close },
		{ "wal_file_is_an_object_while_open", test_wal_file_is_an_object_while_open },
		{ "locks_between_connections", test_locks_between_connections },
		{ "fetch_points_into_the_pool", test_fetch_points_into_the_pool },
		{ "full_pool_delete", test_full_pool_delete },
		{ "full_pool_wal", test_full_pool_wal },
		{ "growing_pool_wal", test_growing_pool_wal },
		{ "growing_pool_delete", test_growing_pool_delete },
		{ "no_pool_is_cantopen", test_no_pool_is_cantopen },
		{ "open_failures_say_why", test_open_failures_say_why },
		{ "shell_loads_extension", test_shell_loads_extension },
		{ "preload_default_pool", test_preload_default_pool },
		{ NULL, NULL },
	};
	/* before anything initializes SQLite */
	sqlite3_config(SQLITE_CONFIG_LOG, log_to_last, NULL);
	if (daxmap_vfs_register(0) != SQLITE_OK) {
		fprintf(stderr, "cannot register the daxmap VFS\n");
		return 1;
	}
	return tu_run("sqlite", tests);
}
