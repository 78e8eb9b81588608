/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash test of SQLite on the daxmap VFS: a child process (fork and exec of
 * this program with --child) runs write transactions and reports each one
 * that committed to the parent through a pipe; the parent SIGKILLs it at a
 * random moment, reopens the database, requires PRAGMA integrity_check to
 * say ok and every reported commit to be there, whole. Many times, in DELETE,
 * TRUNCATE, PERSIST and WAL modes, with and without mmap_size; sometimes the kill comes while
 * the child is still opening (and recovering) the database.
 *
 * DAXMAP_SQLITE_CRASH_ITERS (default 40) sets the number of kills;
 * DAXMAP_TEST_SEED replays a run (the seed is printed).
 *
 * What a SIGKILL tests: everything a process has stored into the pool is in
 * the pool file (shared mapping) when it dies, so this checks that SQLite's
 * protocol through the VFS (allocate, copy, size, truncate, unlink, the
 * journals' pread and pwrite, the WAL
 * and its in-process index) leaves a database that recovers, at any instant.
 * Loss of power is the library's crash emulation's subject (test_crash).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <daxmap_vfs.h>
#include <sqlite3.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCOUNTS 10
#define BALANCE 1000

/* Row k's payload: its length and bytes follow from k. */
static size_t payload_len(sqlite3_int64 k)
{
	return 50 + (size_t)((k * 7919) % 3000);
}

static void payload(sqlite3_int64 k, unsigned char *buf)
{
	size_t n = payload_len(k);
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(k * 31 + (sqlite3_int64)i);
}

__attribute__((noreturn)) static void child_die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "child: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
	exit(3);
}

static void child_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		child_die(db, sql);
}

/* --child POOL MODE MMAP: write transactions until killed; report each commit on stdout. */
__attribute__((noreturn)) static void child(const char *pool, const char *mode, const char *mmap)
{
	char uri[1024], sql[256];
	unsigned char buf[4096];
	sqlite3 *db;
	sqlite3_stmt *ins, *last;

	snprintf(uri, sizeof(uri), "file:crash.db?vfs=daxmap&pool=%s&pool_size=64M", pool);
	if (daxmap_vfs_register(0) != SQLITE_OK)
		child_die(NULL, "register");
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
			    NULL) != SQLITE_OK)
		child_die(db, "open");
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL; PRAGMA mmap_size=%s",
		 mode, mmap);
	child_exec(db, sql);
	child_exec(db, "BEGIN;"
		       "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB, h INTEGER);"
		       "CREATE INDEX IF NOT EXISTS t_h ON t(h);"
		       "CREATE TABLE IF NOT EXISTS meta(k INTEGER PRIMARY KEY, last INTEGER);"
		       "INSERT OR IGNORE INTO meta VALUES(1, 0);"
		       "CREATE TABLE IF NOT EXISTS acct(id INTEGER PRIMARY KEY, bal INTEGER);"
		       "CREATE TABLE IF NOT EXISTS scratch(id INTEGER PRIMARY KEY, junk BLOB);"
		       "COMMIT");
	child_exec(db, "INSERT OR IGNORE INTO acct WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL "
		       "SELECT i+1 FROM c WHERE i<9) SELECT i, 1000 FROM c");
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, ?1 * 2654435761 % 1000003)", -1, &ins,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT last FROM meta", -1, &last, NULL) != SQLITE_OK)
		child_die(db, "prepare");
	if (sqlite3_step(last) != SQLITE_ROW)
		child_die(db, "meta");
	sqlite3_int64 k = sqlite3_column_int64(last, 0) + 1;
	sqlite3_finalize(last);

	for (;; k++) {
		child_exec(db, "BEGIN");
		payload(k, buf);
		sqlite3_bind_int64(ins, 1, k);
		sqlite3_bind_blob(ins, 2, buf, (int)payload_len(k), SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			child_die(db, "insert");
		sqlite3_reset(ins);
		/* a transfer between accounts: the sum is kept only if both updates commit together */
		snprintf(sql, sizeof(sql),
			 "UPDATE meta SET last = %lld;"
			 "UPDATE acct SET bal = bal - %lld WHERE id = %lld;"
			 "UPDATE acct SET bal = bal + %lld WHERE id = %lld;"
			 "INSERT INTO scratch(junk) VALUES(randomblob(%lld));"
			 "DELETE FROM scratch WHERE id < (SELECT max(id) FROM scratch) - 20",
			 k, k % 50, k % ACCOUNTS, k % 50, (k * 7 + 3) % ACCOUNTS, (k * 131) % 5000);
		child_exec(db, sql);
		child_exec(db, "COMMIT");
		printf("%lld\n", k);
		fflush(stdout);
	}
}

/* Reopens the database, checks it; returns the number of rows (the last commit). */
static sqlite3_int64 verify(const char *pool, sqlite3_int64 reported)
{
	char uri[1024];
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned char buf[4096];
	sqlite3_int64 last = -1, n = 0;

	snprintf(uri, sizeof(uri), "file:crash.db?vfs=daxmap&pool=%s", pool);
	int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
	/* The pool lock is an flock: it goes when the last descriptor of the
	 * killed child's open file does. Under ThreadSanitizer the child may
	 * have been in the middle of starting its symbolizer (a fork that runs
	 * no atfork handler and closes inherited descriptors only afterwards):
	 * that orphan holds the lock for a moment after the kill. Wait for it. */
	for (int i = 0; rc == SQLITE_CANTOPEN && i < 200; i++) {
		sqlite3_close(db);
		usleep(10000);
		rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "reopen after the kill: %s (%s)\n", sqlite3_errmsg(db),
			daxmap_errormsg());
	CU_ASSERT_FATAL(rc == SQLITE_OK);
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
	CU_ASSERT_FATAL(sqlite3_step(st) == SQLITE_ROW);
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		fprintf(stderr, "integrity_check: %s\n", sqlite3_column_text(st, 0));
	CU_ASSERT_FATAL(strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
	sqlite3_finalize(st);

	if (sqlite3_prepare_v2(db, "SELECT last FROM meta", -1, &st, NULL) != SQLITE_OK) {
		/* killed before the schema committed: nothing may have been reported */
		CU_ASSERT(reported == 0);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	CU_ASSERT(last >= reported);

	/* every row 1..last, whole: the reported ones and any that committed after */
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "SELECT id, v, h FROM t ORDER BY id", -1, &st, NULL) ==
			SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		n++;
		if (id != n || (size_t)sqlite3_column_bytes(st, 1) != payload_len(id)) {
			fprintf(stderr, "row %lld: id %lld, %d bytes\n", n, id, sqlite3_column_bytes(st, 1));
			CU_FAIL_FATAL("rows");
		}
		payload(id, buf);
		CU_ASSERT_FATAL(memcmp(sqlite3_column_blob(st, 1), buf, payload_len(id)) == 0);
		CU_ASSERT_FATAL(sqlite3_column_int64(st, 2) == id * 2654435761 % 1000003);
	}
	sqlite3_finalize(st);
	CU_ASSERT(n == last);
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "SELECT count(*), sum(bal) FROM acct", -1, &st, NULL) ==
			SQLITE_OK);
	CU_ASSERT(sqlite3_step(st) == SQLITE_ROW);
	if (last > 0) {
		CU_ASSERT(sqlite3_column_int64(st, 0) == ACCOUNTS);
		CU_ASSERT(sqlite3_column_int64(st, 1) == ACCOUNTS * BALANCE);
	}
	sqlite3_finalize(st);
out:
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
	return n;
}

static void test_sigkill_during_transactions(void)
{
	static const char *modes[] = { "delete", "truncate", "persist", "wal" };
	enum { NMODES = sizeof(modes) / sizeof(modes[0]) };
	const char *env = getenv("DAXMAP_SQLITE_CRASH_ITERS");
	int iters = env ? atoi(env) : 40;
	uint64_t seed = tu_seed("test_sqlite_crash");
	sqlite3_int64 reported_total = 0;
	sqlite3_int64 reported[NMODES] = { 0 };
	char pools[NMODES][512];
	int early_kills = 0;

	for (int m = 0; m < NMODES; m++)
		snprintf(pools[m], sizeof(pools[m]), "%s", tu_path(modes[m]));
	for (int it = 0; it < iters; it++) {
		int m = it % NMODES, fds[2];
		const char *mmap = tu_rand(&seed) % 2 ? "67108864" : "0";
		/* kill while it opens and recovers; not at the first open of a pool,
		 * which creates it: a pool whose creation was killed cannot be opened */
		int early = tu_rand(&seed) % 8 == 0 && it >= NMODES;
		int want = 1 + (int)(tu_rand(&seed) % 40);
		useconds_t delay = (useconds_t)(tu_rand(&seed) % (early ? 30000 : 3000));

		CU_ASSERT_FATAL(pipe(fds) == 0);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
			execl("/proc/self/exe", "test_sqlite_crash", "--child", pools[m], modes[m], mmap,
			      (char *)NULL);
			_exit(127);
		}
		close(fds[1]);
		FILE *in = fdopen(fds[0], "r");
		long long k;
		int got = 0;
		if (!early) {
			while (got < want && fscanf(in, "%lld", &k) == 1) {
				CU_ASSERT_FATAL(k == reported[m] + 1);
				reported[m] = k;
				got++;
			}
			CU_ASSERT_FATAL(got == want);
		}
		usleep(delay);
		kill(pid, SIGKILL);
		/* what it reported before it died committed too */
		while (fscanf(in, "%lld", &k) == 1) {
			CU_ASSERT_FATAL(k == reported[m] + 1);
			reported[m] = k;
			got++;
		}
		fclose(in);
		int status;
		CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fprintf(stderr, "child ended with status %#x\n", status);
		CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		early_kills += early;
		reported_total += got;

		sqlite3_int64 rows = verify(pools[m], reported[m]);
		CU_ASSERT_FATAL(rows >= reported[m]);
		/* commits after the last report may be there; the next child continues after them */
		reported[m] = rows;
		CU_ASSERT(daxmap_pool_check(pools[m], DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	}
	printf("\ntest_sqlite_crash: %d kills (%d while opening), %lld commits reported, "
	       "all present; rows: delete %lld, truncate %lld, persist %lld, wal %lld\n",
	       iters, early_kills, (long long)reported_total, (long long)reported[0],
	       (long long)reported[1], (long long)reported[2], (long long)reported[3]);
}

int main(int argc, char **argv)
{
	static const struct tu_test tests[] = {
		{ "sigkill_during_transactions", test_sigkill_during_transactions },
		{ NULL, NULL },
	};
	if (argc == 5 && strcmp(argv[1], "--child") == 0)
		child(argv[2], argv[3], argv[4]);
	if (daxmap_vfs_register(0) != SQLITE_OK) {
		fprintf(stderr, "cannot register the daxmap VFS\n");
		return 1;
	}
	return tu_run("sqlite_crash", tests);
}
