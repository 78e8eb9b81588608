/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Several processes on one SQLite database through the daxmap VFS, the pool
 * opened shared (URI shared=1; examples/sqlite-vfs/README.md, "Several
 * processes"): file locks and the WAL index across processes, sizes one
 * process sees after another wrote, and kill -9 of any of them.
 *
 *  - wal_4_writers: 4 processes run 1-row UPDATE transactions in WAL mode;
 *    then integrity_check is ok and the counters add up to the commits.
 *  - rollback_writers: the same in DELETE, TRUNCATE and PERSIST modes with
 *    2 to 4 processes, readers among the writers (SHARED, RESERVED, PENDING,
 *    EXCLUSIVE across processes; SQLITE_BUSY waited out with a busy timeout).
 *  - locks_across_processes: a transaction held open in one process makes the
 *    other's BEGIN IMMEDIATE busy, its EXCLUSIVE lock blocks readers, a
 *    reader of one process keeps its writer at PENDING and PENDING keeps
 *    readers of other processes out, and a holder killed in the middle of a
 *    write leaves a hot journal that the other rolls back.
 *  - sigkill_workers: 4 workers in WAL, then DELETE mode; one of them is
 *    killed (SIGKILL) at random moments and replaced; every survivor must go
 *    on committing after each kill; at the end integrity_check is ok and every
 *    transaction a worker saw COMMIT return for (reported on a pipe to the
 *    parent) is in the database.
 *  - refused: growth options with shared=1, a bad DAXMAP_POOL_SHARED, and
 *    shared and unshared openers of one pool.
 *
 * Every worker is a fresh process (fork, then exec of /proc/self/exe with
 * --worker or --hold): nothing of a pool crosses a fork. The parent never has
 * the pool open while workers run; it opens it afterwards, shared, to check.
 *
 * Environment: DAXMAP_TEST_SEED=S replays the random choices of seed S (the
 * interleaving of the processes differs from run to run);
 * DAXMAP_SQLITE_MULTI_SECS scales the kill test (default 8 s per mode).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <daxmap_vfs.h>
#include <sqlite3.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCOUNTS 16
#define MAXW 4          /* workers at once */
#define BUSY_MS 20000   /* busy timeout of every connection */
#define TID(w, seq) ((sqlite3_int64)(w) * 10000000 + (seq))

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void uri_of(char *buf, size_t len, const char *pool)
{
	snprintf(buf, len, "file:multi.db?vfs=daxmap&pool=%s&shared=1&pool_size=256M", pool);
}

/* ---- workers (their own processes: they report failures by exit status) ---- */

__attribute__((noreturn)) static void w_die(sqlite3 *db, const char *what, int rc)
{
	sqlite3_vfs *vfs = sqlite3_vfs_find(DAXMAP_VFS_NAME);
	char why[512] = "";

	if (vfs)
		vfs->xGetLastError(vfs, sizeof(why), why);
	fprintf(stderr, "worker %d: %s: %s (rc %d; the VFS's last error: \"%s\")\n", (int)getpid(),
		what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc, why);
	exit(3);
}

static sqlite3 *w_open(const char *pool)
{
	char uri[1024];
	sqlite3 *db;
	int rc;

	uri_of(uri, sizeof(uri), pool);
	if (daxmap_vfs_register(0) != SQLITE_OK)
		w_die(NULL, "register", SQLITE_ERROR);
	if ((rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL)) != SQLITE_OK)
		w_die(db, "open", rc);
	sqlite3_busy_timeout(db, BUSY_MS);
	return db;
}

/* sqlite3_exec, again while busy (the busy timeout ran out under contention) */
static int w_exec(sqlite3 *db, const char *sql)
{
	int rc;
	while ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) == SQLITE_BUSY)
		;
	return rc;
}

/*
 * --worker POOL JOURNAL WID NTX LOG SEED: NTX transactions (0: until killed),
 * each a 1-row UPDATE adding 1 to a random counter (LOG 1: and an INSERT of
 * its id into txlog); after each COMMIT, "C <id>" on stdout. Now and then a
 * read: the counters' sum includes every commit of this worker; and a
 * checkpoint that truncates the WAL.
 */
__attribute__((noreturn)) static void worker(char **argv)
{
	const char *pool = argv[0], *journal = argv[1];
	long wid = atol(argv[2]), ntx = atol(argv[3]);
	int log = atoi(argv[4]);
	uint64_t seed = strtoull(argv[5], NULL, 0) | 1;
	sqlite3_stmt *upd, *ins, *sum;
	char sql[128];
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sqlite3 *db = w_open(pool);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s", journal);
	if ((rc = w_exec(db, sql)) != SQLITE_OK)
		w_die(db, sql, rc);
	if ((rc = w_exec(db, "PRAGMA synchronous=NORMAL")) != SQLITE_OK)
		w_die(db, "synchronous", rc);
	/* half of the workers read the database through xFetch pointers */
	if ((seed & 2) && (rc = w_exec(db, "PRAGMA mmap_size=67108864")) != SQLITE_OK)
		w_die(db, "mmap_size", rc);
	if (sqlite3_prepare_v2(db, "UPDATE acct SET n = n + 1, last = ?1 WHERE id = ?2", -1, &upd,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO txlog VALUES(?1)", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT sum(n) FROM acct", -1, &sum, NULL) != SQLITE_OK)
		w_die(db, "prepare", 0);
	for (long seq = 1; ntx == 0 || seq <= ntx; seq++) {
		sqlite3_int64 tid = TID(wid, seq);
		for (;;) {
			if ((rc = w_exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
				w_die(db, "begin", rc);
			sqlite3_bind_int64(upd, 1, tid);
			sqlite3_bind_int64(upd, 2, (sqlite3_int64)(tu_rand(&seed) % ACCOUNTS));
			rc = sqlite3_step(upd);
			sqlite3_reset(upd);
			if (rc == SQLITE_DONE && log) {
				sqlite3_bind_int64(ins, 1, tid);
				rc = sqlite3_step(ins);
				sqlite3_reset(ins);
			}
			if (rc == SQLITE_BUSY) {
				w_exec(db, "ROLLBACK");
				continue;
			}
			if (rc != SQLITE_DONE)
				w_die(db, "update", rc);
			/* COMMIT busy (readers keep the EXCLUSIVE lock away): the
			 * transaction is still open, try again */
			if ((rc = w_exec(db, "COMMIT")) != SQLITE_OK)
				w_die(db, "commit", rc);
			break;
		}
		printf("C %lld\n", (long long)tid);
		fflush(stdout);
		/* now and then a WAL emptied and cut to 0: with readers always
		 * about, a passive checkpoint may never catch up and the WAL would
		 * grow without end (SQLite's checkpoint starvation); this also
		 * shrinks a file other processes have mapped and write */
		if (tu_rand(&seed) % 400 == 0 &&
		    (rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL)) !=
			    SQLITE_OK && rc != SQLITE_BUSY)
			w_die(db, "checkpoint", rc);
		if (tu_rand(&seed) % 8 == 0) {
			/* a read transaction of its own, SHARED beside the writers */
			while ((rc = sqlite3_step(sum)) == SQLITE_BUSY)
				sqlite3_reset(sum);
			if (rc != SQLITE_ROW)
				w_die(db, "sum", rc);
			if (sqlite3_column_int64(sum, 0) < seq) {
				fprintf(stderr, "worker %ld: sum %lld below its own %ld commits\n", wid,
					(long long)sqlite3_column_int64(sum, 0), seq);
				exit(4);
			}
			sqlite3_reset(sum);
		}
	}
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	sqlite3_finalize(sum);
	if ((rc = sqlite3_close(db)) != SQLITE_OK)
		w_die(NULL, "close", rc);
	exit(0);
}

/*
 * --hold POOL HOW: one transaction held open, driven by stdin: HOW "reserved"
 * (BEGIN IMMEDIATE and an update) or "exclusive" (BEGIN EXCLUSIVE and an
 * update that spills pages into the file, so its journal is hot). Prints
 * "held" once it has the lock, then commits at a byte on stdin (or is killed).
 */
__attribute__((noreturn)) static void hold(char **argv)
{
	int excl = strcmp(argv[1], "exclusive") == 0, rc;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sqlite3 *db = w_open(argv[0]);
	if ((rc = w_exec(db, "PRAGMA cache_size=2")) != SQLITE_OK)
		w_die(db, "cache_size", rc);
	if ((rc = w_exec(db, excl ? "BEGIN EXCLUSIVE" : "BEGIN IMMEDIATE")) != SQLITE_OK)
		w_die(db, "begin", rc);
	/* with a cache of 2 pages, rewriting every row of big spills dirty pages
	 * into the database file before the commit */
	if ((rc = w_exec(db, excl ? "UPDATE big SET v = randomblob(1000); UPDATE acct SET n = -1000000"
				  : "UPDATE acct SET n = n + 1000")) != SQLITE_OK)
		w_die(db, "update", rc);
	printf("held\n");
	fflush(stdout);
	if (read(0, &c, 1) != 1)
		exit(0);
	if ((rc = w_exec(db, "COMMIT")) != SQLITE_OK)
		w_die(db, "commit", rc);
	sqlite3_close(db);
	exit(0);
}

/* --try POOL SQL: runs SQL once with no busy timeout; prints its result code. */
__attribute__((noreturn)) static void try_sql(char **argv)
{
	char uri[1024];
	sqlite3 *db;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	uri_of(uri, sizeof(uri), argv[0]);
	if (daxmap_vfs_register(0) != SQLITE_OK ||
	    sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
		exit(3);
	printf("%d\n", sqlite3_exec(db, argv[1], NULL, NULL, NULL));
	sqlite3_close(db);
	exit(0);
}

/* ---- the parent ---- */

struct proc {
	pid_t pid;
	int out; /* its stdout */
	int in;  /* its stdin, or -1 */
	long wid;
	long commits; /* reported */
	char buf[256]; /* a line not yet whole */
	size_t len;
};

/* Recorded commit ids of a test. */
static sqlite3_int64 *ids;
static long nids, maxids;

/*
 * Reads what is there of p's reports (blocking until something is, or EOF);
 * records each "C <id>" line. 1: more may come, 0: EOF.
 */
static int proc_read(struct proc *p)
{
	ssize_t got = read(p->out, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
	char *line, *nl;

	if (got < 0 && errno == EINTR)
		return 1;
	if (got <= 0)
		return 0;
	p->len += (size_t)got;
	p->buf[p->len] = 0;
	for (line = p->buf; (nl = strchr(line, '\n')); line = nl + 1) {
		long long id;
		*nl = 0;
		if (sscanf(line, "C %lld", &id) != 1) {
			fprintf(stderr, "worker %ld said \"%s\"\n", p->wid, line);
			CU_FAIL_FATAL("a report that is not a commit");
		}
		if (ids) {
			CU_ASSERT_FATAL(nids < maxids);
			ids[nids++] = id;
		}
		p->commits++;
	}
	p->len -= (size_t)(line - p->buf);
	memmove(p->buf, line, p->len);
	return 1;
}

/* One line of p's output (the --hold programs), without its newline. */
static void proc_line(struct proc *p, char *out, size_t len)
{
	size_t n = 0;
	char c;
	while (n + 1 < len && read(p->out, &c, 1) == 1 && c != '\n')
		out[n++] = c;
	out[n] = 0;
}

static struct proc spawn(char *const args[], int want_stdin)
{
	int ofd[2], ifd[2] = { -1, -1 };
	struct proc p = { 0 };

	CU_ASSERT_FATAL(pipe(ofd) == 0);
	if (want_stdin)
		CU_ASSERT_FATAL(pipe(ifd) == 0);
	fflush(stdout);
	p.pid = fork();
	CU_ASSERT_FATAL(p.pid >= 0);
	if (p.pid == 0) {
		dup2(ofd[1], 1);
		close(ofd[0]);
		close(ofd[1]);
		if (want_stdin) {
			dup2(ifd[0], 0);
			close(ifd[0]);
			close(ifd[1]);
		}
		execv("/proc/self/exe", args);
		_exit(127);
	}
	close(ofd[1]);
	if (want_stdin)
		close(ifd[0]);
	p.in = ifd[1];
	p.out = ofd[0];
	return p;
}

static char seedbuf[MAXW * 64][24];
static int nseedbuf;

static struct proc spawn_worker(const char *pool, const char *journal, long wid, long ntx, int log,
				uint64_t *seed)
{
	char *s = seedbuf[nseedbuf++ % (int)(sizeof(seedbuf) / sizeof(seedbuf[0]))];
	char w[24], n[24], l[8];

	snprintf(s, 24, "%llu", (unsigned long long)tu_rand(seed));
	snprintf(w, sizeof(w), "%ld", wid);
	snprintf(n, sizeof(n), "%ld", ntx);
	snprintf(l, sizeof(l), "%d", log);
	char *const args[] = { "test_sqlite_multi", "--worker", (char *)pool, (char *)journal, w, n, l,
			       s, NULL };
	struct proc p = spawn(args, 0);
	p.wid = wid;
	return p;
}

static int wait_status(pid_t pid)
{
	int status;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	return status;
}

static sqlite3 *p_open(const char *pool)
{
	char uri[1024];
	sqlite3 *db = NULL;
	int rc;

	uri_of(uri, sizeof(uri), pool);
	rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
			     NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "open %s: %s\n", uri, sqlite3_errmsg(db));
	CU_ASSERT_FATAL(rc == SQLITE_OK);
	sqlite3_busy_timeout(db, BUSY_MS);
	return db;
}

static void p_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	CU_ASSERT_FATAL(rc == SQLITE_OK);
}

static sqlite3_int64 p_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3_int64 v = -1;
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void p_integrity(sqlite3 *db)
{
	sqlite3_stmt *st;
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
	CU_ASSERT_FATAL(sqlite3_step(st) == SQLITE_ROW);
	const char *res = (const char *)sqlite3_column_text(st, 0);
	if (strcmp(res, "ok") != 0)
		fprintf(stderr, "integrity_check: %s\n", res);
	CU_ASSERT_FATAL(strcmp(res, "ok") == 0);
	sqlite3_finalize(st);
}

/* daxmap_pool_check's findings, but for its summary, on stderr. */
static void check_report(const char *msg, void *arg)
{
	(void)arg;
	if (strncmp(msg, "summary: ", 9) != 0)
		fprintf(stderr, "pool check: %s\n", msg);
}

/* A fresh pool and database: the counters, the log, a table to spill. */
static void setup(const char *pool, const char *journal)
{
	char sql[128];

	unlink(pool);
	sqlite3 *db = p_open(pool);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s", journal);
	p_exec(db, sql);
	p_exec(db, "BEGIN;"
		   "CREATE TABLE acct(id INTEGER PRIMARY KEY, n INTEGER, last INTEGER);"
		   "CREATE TABLE txlog(id INTEGER PRIMARY KEY);"
		   "CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB);"
		   "INSERT INTO acct WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c "
		   "WHERE i < 15) SELECT i, 0, 0 FROM c;"
		   "INSERT INTO big WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
		   "WHERE i < 200) SELECT i, randomblob(1000) FROM c;"
		   "COMMIT");
	CU_ASSERT_FATAL(sqlite3_close(db) == SQLITE_OK);
}

/* Names of the objects of the pool, for what the last close leaves. */
static int has_object_cb(const char *name, uint64_t size, void *arg)
{
	(void)size;
	return strcmp(name, (const char *)arg) == 0;
}

static int has_object(const char *pool, const char *name)
{
	struct daxmap_pool_info info;
	return daxmap_pool_inspect(pool, 0, &info, has_object_cb, (void *)name) == 1;
}

/* Reads a worker's reports to EOF; returns its exit status. */
static int drain(struct proc *p)
{
	while (proc_read(p))
		;
	close(p->out);
	if (p->in >= 0)
		close(p->in);
	return wait_status(p->pid);
}

/* nw workers of ntx transactions each in `journal` mode; then the checks. */
static void run_writers(const char *name, const char *journal, int nw, long ntx, uint64_t *seed)
{
	const char *pool = tu_path(name);
	struct proc w[MAXW];
	long total = 0;
	double t0;

	setup(pool, journal);
	t0 = now_s();
	for (int i = 0; i < nw; i++)
		w[i] = spawn_worker(pool, journal, i + 1, ntx, 0, seed);
	for (int i = 0; i < nw; i++) {
		int status = drain(&w[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "worker %d ended with status %#x\n", i + 1, status);
		CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CU_ASSERT(w[i].commits == ntx);
		total += w[i].commits;
	}
	double dt = now_s() - t0;
	sqlite3 *db = p_open(pool);
	p_integrity(db);
	CU_ASSERT(p_int(db, "SELECT sum(n) FROM acct") == total);
	CU_ASSERT(p_int(db, "SELECT count(*) FROM acct") == ACCOUNTS);
	CU_ASSERT_FATAL(sqlite3_close(db) == SQLITE_OK);
	/* the last connection of all took the WAL and its index with it */
	CU_ASSERT(!has_object(pool, "multi.db-wal"));
	CU_ASSERT(!has_object(pool, "multi.db-shm"));
	CU_ASSERT(daxmap_pool_check(pool, DAXMAP_CHECK_DATA, check_report, NULL) == 0);
	printf("  %s, %d processes: %ld transactions in %.2f s (%.0f/s), integrity ok, sum ok\n",
	       journal, nw, total, dt, total / dt);
}

static void test_wal_4_writers(void)
{
	uint64_t seed = tu_seed("wal_4_writers");
	tu_watchdog_arm("wal_4_writers", 120);
	run_writers("wal.pool", "wal", 4, 5000, &seed);
	tu_watchdog_disarm();
}

static void test_rollback_writers(void)
{
	uint64_t seed = tu_seed("rollback_writers");
	tu_watchdog_arm("rollback_writers", 120);
	run_writers("delete2.pool", "delete", 2, 1000, &seed);
	run_writers("delete4.pool", "delete", 4, 500, &seed);
	run_writers("truncate3.pool", "truncate", 3, 500, &seed);
	run_writers("persist4.pool", "persist", 4, 300, &seed);
	tu_watchdog_disarm();
}

static struct proc spawn_hold(const char *pool, const char *how)
{
	char *const args[] = { "test_sqlite_multi", "--hold", (char *)pool, (char *)how, NULL };
	struct proc p = spawn(args, 1);
	char line[64];

	proc_line(&p, line, sizeof(line));
	CU_ASSERT_FATAL(strcmp(line, "held") == 0);
	return p;
}

/* The result code of SQL run once, with no busy timeout, in another process. */
static int try_elsewhere(const char *pool, const char *sql)
{
	char *const args[] = { "test_sqlite_multi", "--try", (char *)pool, (char *)sql, NULL };
	struct proc p = spawn(args, 0);
	char line[64];
	int status;

	proc_line(&p, line, sizeof(line));
	status = drain(&p);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return atoi(line);
}

static void test_locks_across_processes(void)
{
	const char *pool = tu_path("locks.pool");
	sqlite3 *db;
	struct proc h;
	int status;

	tu_watchdog_arm("locks_across_processes", 60);
	setup(pool, "delete");
	db = p_open(pool);
	sqlite3_busy_timeout(db, 0);

	/* RESERVED in another process: no second writer, readers welcome */
	h = spawn_hold(pool, "reserved");
	CU_ASSERT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_BUSY);
	CU_ASSERT(p_int(db, "SELECT sum(n) FROM acct") == 0);
	CU_ASSERT(write(h.in, "c", 1) == 1);
	status = drain(&h);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(p_int(db, "SELECT sum(n) FROM acct") == 1000 * ACCOUNTS);
	p_exec(db, "BEGIN IMMEDIATE; UPDATE acct SET n = 0; COMMIT");

	/* this process's locks seen from another: RESERVED, then EXCLUSIVE */
	p_exec(db, "BEGIN IMMEDIATE");
	CU_ASSERT(try_elsewhere(pool, "SELECT count(*) FROM acct") == SQLITE_OK);
	CU_ASSERT(try_elsewhere(pool, "BEGIN IMMEDIATE") == SQLITE_BUSY);
	p_exec(db, "UPDATE acct SET n = 0; COMMIT; BEGIN EXCLUSIVE");
	CU_ASSERT(try_elsewhere(pool, "SELECT count(*) FROM acct") == SQLITE_BUSY);
	p_exec(db, "COMMIT");
	CU_ASSERT(try_elsewhere(pool, "SELECT count(*) FROM acct") == SQLITE_OK);

	/* two connections here: a reader keeps the writer at PENDING, and
	 * PENDING keeps new readers of other processes out */
	sqlite3 *rd = p_open(pool);
	sqlite3_stmt *st;
	sqlite3_busy_timeout(rd, 0);
	CU_ASSERT_FATAL(sqlite3_prepare_v2(rd, "SELECT id FROM acct", -1, &st, NULL) == SQLITE_OK);
	CU_ASSERT(sqlite3_step(st) == SQLITE_ROW); /* a read transaction, held open */
	p_exec(db, "BEGIN IMMEDIATE; UPDATE acct SET n = 1");
	CU_ASSERT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_BUSY);
	CU_ASSERT(try_elsewhere(pool, "SELECT count(*) FROM acct") == SQLITE_BUSY);
	sqlite3_finalize(st);
	p_exec(db, "COMMIT");
	CU_ASSERT(try_elsewhere(pool, "SELECT count(*) FROM acct") == SQLITE_OK);
	CU_ASSERT(p_int(rd, "SELECT sum(n) FROM acct") == ACCOUNTS);
	CU_ASSERT_FATAL(sqlite3_close(rd) == SQLITE_OK);
	p_exec(db, "UPDATE acct SET n = 0");

	/* EXCLUSIVE: not even a reader; killed in the middle, its journal is hot */
	h = spawn_hold(pool, "exclusive");
	CU_ASSERT(p_int(db, "SELECT count(*) FROM big") == -1); /* SQLITE_BUSY: no row */
	CU_ASSERT(sqlite3_errcode(db) == SQLITE_BUSY);
	CU_ASSERT(has_object(pool, "multi.db-journal"));
	kill(h.pid, SIGKILL);
	status = drain(&h);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* the kernel dropped its locks; the reader rolls the hot journal back */
	sqlite3_busy_timeout(db, BUSY_MS);
	CU_ASSERT(p_int(db, "SELECT sum(n) FROM acct") == 0);
	CU_ASSERT(p_int(db, "SELECT count(*) FROM big") == 200);
	p_integrity(db);
	CU_ASSERT_FATAL(sqlite3_close(db) == SQLITE_OK);
	CU_ASSERT(daxmap_pool_check(pool, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	tu_watchdog_disarm();
}

static int cmp_id(const void *a, const void *b)
{
	sqlite3_int64 x = *(const sqlite3_int64 *)a, y = *(const sqlite3_int64 *)b;
	return x < y ? -1 : x > y;
}

/*
 * MAXW workers until `secs` are over, one of them killed at random moments
 * and replaced; after each kill every survivor must commit again. Then every
 * reported commit must be in txlog, and the counters add up.
 */
static void kill_phase(const char *name, const char *journal, double secs, uint64_t *seed)
{
	const char *pool = tu_path(name);
	struct proc w[MAXW];
	long next_wid = 1, kills = 0;
	double end;

	maxids = 4000000;
	nids = 0;
	ids = malloc(sizeof(*ids) * (size_t)maxids);
	CU_ASSERT_FATAL(ids != NULL);
	setup(pool, journal);
	for (int i = 0; i < MAXW; i++)
		w[i] = spawn_worker(pool, journal, next_wid++, 0, 1, seed);
	end = now_s() + secs;
	while (now_s() < end) {
		/* let them run a random while, then kill one at a random moment */
		double until = now_s() + (double)(tu_rand(seed) % 300) / 1000.0;
		long before[MAXW];
		while (now_s() < until) {
			struct pollfd pf[MAXW];
			for (int i = 0; i < MAXW; i++)
				pf[i] = (struct pollfd){ .fd = w[i].out, .events = POLLIN };
			if (poll(pf, MAXW, 10) <= 0)
				continue;
			for (int i = 0; i < MAXW; i++) {
				if ((pf[i].revents & (POLLIN | POLLHUP)) && !proc_read(&w[i])) {
					int status = wait_status(w[i].pid);
					fprintf(stderr, "worker %ld ended with status %#x\n", w[i].wid, status);
					CU_FAIL_FATAL("a worker ended by itself");
				}
			}
		}
		int v = (int)(tu_rand(seed) % MAXW);
		kill(w[v].pid, SIGKILL);
		int status = drain(&w[v]);
		CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		kills++;
		/* the others carry on: each commits again within the busy timeout */
		for (int i = 0; i < MAXW; i++)
			before[i] = w[i].commits;
		double stall = now_s() + BUSY_MS / 1000.0;
		for (int i = 0; i < MAXW; i++) {
			while (i != v && w[i].commits == before[i]) {
				struct pollfd pf = { .fd = w[i].out, .events = POLLIN };
				if (poll(&pf, 1, 100) <= 0) {
					if (now_s() > stall) {
						fprintf(stderr, "worker %ld made no commit after worker %ld "
								"was killed\n", w[i].wid, w[v].wid);
						CU_FAIL_FATAL("stalled after a kill");
					}
					continue;
				}
				CU_ASSERT_FATAL(proc_read(&w[i]));
			}
		}
		w[v] = spawn_worker(pool, journal, next_wid++, 0, 1, seed);
	}
	for (int i = 0; i < MAXW; i++) {
		kill(w[i].pid, SIGKILL);
		drain(&w[i]);
	}

	sqlite3 *db = p_open(pool);
	p_integrity(db);
	sqlite3_int64 rows = p_int(db, "SELECT count(*) FROM txlog");
	CU_ASSERT(p_int(db, "SELECT sum(n) FROM acct") == rows);
	CU_ASSERT(rows >= nids);
	/* every acknowledged commit is there */
	sqlite3_stmt *st;
	long missing = 0;
	qsort(ids, (size_t)nids, sizeof(*ids), cmp_id);
	CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "SELECT 1 FROM txlog WHERE id = ?", -1, &st, NULL) ==
			SQLITE_OK);
	for (long i = 0; i < nids; i++) {
		CU_ASSERT_FATAL(i == 0 || ids[i] != ids[i - 1]);
		sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) != SQLITE_ROW && missing++ < 10)
			fprintf(stderr, "commit %lld reported, not in the database\n", (long long)ids[i]);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	CU_ASSERT(missing == 0);
	CU_ASSERT_FATAL(sqlite3_close(db) == SQLITE_OK);
	int check = daxmap_pool_check(pool, DAXMAP_CHECK_DATA, check_report, NULL);
	CU_ASSERT(check == 0);
	printf("  %s: %ld kills, %ld workers, %ld commits reported, %ld of them missing (%lld rows), "
	       "pool check %d\n", journal, kills, next_wid - 1, nids, missing, (long long)rows, check);
	free(ids);
	ids = NULL;
}

static void test_sigkill_workers(void)
{
	const char *env = getenv("DAXMAP_SQLITE_MULTI_SECS");
	double secs = env ? atof(env) : 8;
	uint64_t seed = tu_seed("sigkill_workers");

	tu_watchdog_arm("sigkill_workers", (unsigned)(secs * 2 + 120));
	kill_phase("kill_wal.pool", "wal", secs, &seed);
	kill_phase("kill_delete.pool", "delete", secs * 0.75, &seed);
	tu_watchdog_disarm();
}

/* sqlite3_open_v2 fails with SQLITE_CANTOPEN, xGetLastError containing `why`. */
static void open_refused(const char *uri, const char *why)
{
	sqlite3 *db = NULL;
	char msg[512] = "";
	int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				 NULL);
	sqlite3_vfs *vfs = sqlite3_vfs_find(DAXMAP_VFS_NAME);
	vfs->xGetLastError(vfs, sizeof(msg), msg);
	if (rc != SQLITE_CANTOPEN || !strstr(msg, why))
		fprintf(stderr, "%s: rc %d, \"%s\"; expected \"%s\"\n", uri, rc, msg, why);
	CU_ASSERT(rc == SQLITE_CANTOPEN);
	CU_ASSERT(strstr(msg, why) != NULL);
	sqlite3_close(db);
}

static void test_refused(void)
{
	char uri[1024];
	const char *pool = tu_path("refused.pool");

	snprintf(uri, sizeof(uri), "file:r.db?vfs=daxmap&pool=%s&shared=1&pool_max=1G", pool);
	open_refused(uri, "a pool opened shared cannot grow");
	snprintf(uri, sizeof(uri), "file:r.db?vfs=daxmap&pool=%s&shared=1&pool_grow=64M", pool);
	open_refused(uri, "a pool opened shared cannot grow");
	setenv("DAXMAP_POOL_SHARED", "yes", 1);
	snprintf(uri, sizeof(uri), "file:r.db?vfs=daxmap&pool=%s", pool);
	open_refused(uri, "DAXMAP_POOL_SHARED=yes");
	unsetenv("DAXMAP_POOL_SHARED");

	/* held unshared by another process: a shared open is busy, and the reverse */
	daxmap_pool_close(tu_pool_create("refused.pool", 32 << 20));
	char *const args[] = { "test_sqlite_multi", "--hold-pool", (char *)pool, "0", NULL };
	struct proc h = spawn(args, 1);
	char line[64];
	proc_line(&h, line, sizeof(line));
	CU_ASSERT_FATAL(strcmp(line, "held") == 0);
	snprintf(uri, sizeof(uri), "file:r.db?vfs=daxmap&pool=%s&shared=1", pool);
	open_refused(uri, "open unshared in another process");
	CU_ASSERT(write(h.in, "c", 1) == 1);
	drain(&h);
	char *const args2[] = { "test_sqlite_multi", "--hold-pool", (char *)pool, "1", NULL };
	h = spawn(args2, 1);
	proc_line(&h, line, sizeof(line));
	CU_ASSERT_FATAL(strcmp(line, "held") == 0);
	snprintf(uri, sizeof(uri), "file:r.db?vfs=daxmap&pool=%s", pool);
	open_refused(uri, "is busy");
	/* shared beside it: fine */
	snprintf(uri, sizeof(uri), "file:r.db?vfs=daxmap&pool=%s&shared=1", pool);
	sqlite3 *db = NULL;
	CU_ASSERT(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				  NULL) == SQLITE_OK);
	CU_ASSERT(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT(write(h.in, "c", 1) == 1);
	drain(&h);
}

/* --hold-pool POOL SHARED: the pool open (shared or not) until a byte on stdin. */
__attribute__((noreturn)) static void hold_pool(char **argv)
{
	struct daxmap_pool_opts o;
	daxmap_pool *p;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	daxmap_pool_opts_init(&o);
	o.shared = atoi(argv[1]);
	if (daxmap_pool_open_opts(&p, argv[0], &o) < 0) {
		fprintf(stderr, "hold-pool: %s\n", daxmap_errormsg());
		exit(3);
	}
	printf("held\n");
	fflush(stdout);
	if (read(0, &c, 1) < 0)
		exit(3);
	daxmap_pool_close(p);
	exit(0);
}

int main(int argc, char **argv)
{
	static const struct tu_test tests[] = {
		{ "refused", test_refused },
		{ "locks_across_processes", test_locks_across_processes },
		{ "wal_4_writers", test_wal_4_writers },
		{ "rollback_writers", test_rollback_writers },
		{ "sigkill_workers", test_sigkill_workers },
		{ NULL, NULL },
	};
	if (argc == 8 && strcmp(argv[1], "--worker") == 0)
		worker(argv + 2);
	if (argc == 4 && strcmp(argv[1], "--hold") == 0)
		hold(argv + 2);
	if (argc == 4 && strcmp(argv[1], "--hold-pool") == 0)
		hold_pool(argv + 2);
	if (argc == 4 && strcmp(argv[1], "--try") == 0)
		try_sql(argv + 2);
	if (daxmap_vfs_register(0) != SQLITE_OK) {
		fprintf(stderr, "cannot register the daxmap VFS\n");
		return 1;
	}
	return tu_run("sqlite_multi", tests);
}
