/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sqlite_multi: several processes on one SQLite database in WAL mode, the
 * daxmap VFS (examples/sqlite-vfs, the pool opened shared) beside the stock
 * unix VFS, same run, same settings, both in one directory (default
 * /dev/shm): a pool there for daxmap, a plain file for unix.
 *
 *   sqlite_multi [--dir DIR] [--procs N] [--secs S] [--reps R] [--sync MODE]
 *
 * N processes (default 4), each its own connection, run 1-row UPDATE
 * transactions (BEGIN IMMEDIATE; UPDATE of a random row of 10,000; COMMIT)
 * for S seconds (default 3) after a common start; the figure is the total
 * of committed transactions per second. synchronous=NORMAL and FULL (--sync
 * one of them only). A writer that finds the write lock taken retries at
 * once (a busy handler that yields), the same for both VFSs: SQLite's
 * default handler sleeps milliseconds, and the figure would be its sleeps.
 * Each figure is the median of R reps (default 3), reps taken round-robin;
 * ratio is daxmap / unix (above 1: daxmap faster). The last column is the
 * largest WAL at the end of a run (unix / daxmap): with writers always about,
 * checkpoints often cannot reset the WAL, which then grows for the whole run;
 * the pool (--pool-size, default 1G) must hold it.
 */
#define _GNU_SOURCE
#include <daxmap_vfs.h>
#include <libdaxmap.h>
#include <sqlite3.h>

#include "benchutil.h"

#include <sched.h>
#include <strings.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROWS 10000
#define MAX_PROCS 64
#define MAX_REPS 15

static const char *dir = "/dev/shm";
static const char *pool_size = "1G";
static int procs = 4;
static double secs = 3;
static double wal_max[2]; /* the largest WAL at the end of a run, MiB */

static void must(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "sqlite_multi[%d]: %s: %s\n", (int)getpid(), what,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		exit(1);
	}
}

/* Retry at once, yielding: the write lock is held for microseconds. */
static int busy_yield(void *arg, int n)
{
	(void)arg;
	(void)n;
	sched_yield();
	return 1;
}

static void uri_of(char *uri, size_t len, int daxmap)
{
	if (daxmap)
		snprintf(uri, len, "file:multi.db?vfs=daxmap&pool=%s/sqlite_multi_bench.pool&shared=1"
			 "&pool_size=%s", dir, pool_size);
	else
		snprintf(uri, len, "file:%s/sqlite_multi_bench.db?vfs=unix", dir);
}

static void remove_files(void)
{
	static const char *sfx[] = { "", "-journal", "-wal", "-shm" };
	char path[600];

	snprintf(path, sizeof(path), "%s/sqlite_multi_bench.pool", dir);
	unlink(path);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/sqlite_multi_bench.db%s", dir, sfx[i]);
		unlink(path);
	}
}

static sqlite3 *open_db(int daxmap, const char *sync)
{
	char uri[1024], sql[100];
	sqlite3 *db;

	uri_of(uri, sizeof(uri), daxmap);
	must(NULL, sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				   NULL), uri);
	sqlite3_busy_handler(db, busy_yield, NULL);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s", sync);
	must(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
	return db;
}

/* A child: waits for the start byte, runs transactions until `secs` are
 * over, writes its count to `out`, and closes at a second byte (the parent
 * looks at the WAL before the last close takes it away). */
__attribute__((noreturn)) static void child(int daxmap, const char *sync, int start, int out,
					    uint64_t seed)
{
	sqlite3 *db = open_db(daxmap, sync);
	sqlite3_stmt *begin, *upd, *commit;
	unsigned char blob[100];
	long long n = 0;
	char c;

	must(db, sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL), "prepare");
	must(db, sqlite3_prepare_v2(db, "UPDATE t SET v = ?1 WHERE id = ?2", -1, &upd, NULL), "prepare");
	must(db, sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL), "prepare");
	memset(blob, 0xab, sizeof(blob));
	/* one read first: the WAL index is mapped before the clock starts */
	must(db, sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL, NULL), "warm up");
	if (read(start, &c, 1) != 1)
		exit(1);
	double end = bench_now() + secs;
	while (bench_now() < end) {
		must(db, sqlite3_step(begin), "begin");
		sqlite3_reset(begin);
		blob[0] = (unsigned char)n;
		sqlite3_bind_blob(upd, 1, blob, sizeof(blob), SQLITE_STATIC);
		sqlite3_bind_int(upd, 2, (int)(bench_rnd(&seed) % ROWS) + 1);
		must(db, sqlite3_step(upd), "update");
		sqlite3_reset(upd);
		must(db, sqlite3_step(commit), "commit");
		sqlite3_reset(commit);
		n++;
	}
	sqlite3_finalize(begin);
	sqlite3_finalize(upd);
	sqlite3_finalize(commit);
	if (write(out, &n, sizeof(n)) != (ssize_t)sizeof(n) || read(start, &c, 1) != 1)
		exit(1);
	must(db, sqlite3_close(db), "close");
	exit(0);
}

static int wal_size_cb(const char *name, uint64_t size, void *arg)
{
	if (strcmp(name, "multi.db-wal") == 0)
		*(uint64_t *)arg = size;
	return 0;
}

/* The WAL's size now, in MiB: checkpoints that readers starve let it grow. */
static double wal_mib(int daxmap)
{
	char path[600];
	uint64_t size = 0;

	if (daxmap) {
		struct daxmap_pool_info info;
		snprintf(path, sizeof(path), "%s/sqlite_multi_bench.pool", dir);
		daxmap_pool_inspect(path, 0, &info, wal_size_cb, &size);
	} else {
		struct stat st;
		snprintf(path, sizeof(path), "%s/sqlite_multi_bench.db-wal", dir);
		if (stat(path, &st) == 0)
			size = (uint64_t)st.st_size;
	}
	return (double)size / (1 << 20);
}

/* One run: a fresh database, `procs` processes; transactions per second. */
static double run(int daxmap, const char *sync, uint64_t *seed)
{
	int start[2], out[2];
	pid_t pid[MAX_PROCS];
	long long total = 0;
	sqlite3 *db;

	remove_files();
	db = open_db(daxmap, sync);
	must(db, sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);"
				  "INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 "
				  "FROM c WHERE i < 10000) SELECT i, randomblob(100) FROM c",
			  NULL, NULL, NULL), "setup");
	/* closed before the fork: nothing of a pool crosses a fork */
	must(db, sqlite3_close(db), "close");
	if (pipe(start) < 0 || pipe(out) < 0) {
		perror("sqlite_multi: pipe");
		exit(2);
	}
	for (int i = 0; i < procs; i++) {
		uint64_t s = bench_rnd(seed);
		fflush(stdout);
		if ((pid[i] = fork()) < 0) {
			perror("sqlite_multi: fork");
			exit(2);
		}
		if (pid[i] == 0) {
			close(start[1]);
			close(out[0]);
			child(daxmap, sync, start[0], out[1], s);
		}
	}
	close(start[0]);
	close(out[1]);
	/* give them time to open and map; then all start at once */
	usleep(200000);
	for (int i = 0; i < procs; i++)
		if (write(start[1], "g", 1) != 1)
			exit(2);
	for (int i = 0; i < procs; i++) {
		long long n;
		if (read(out[0], &n, sizeof(n)) != (ssize_t)sizeof(n)) {
			fprintf(stderr, "sqlite_multi: a process failed\n");
			exit(1);
		}
		total += n;
	}
	double w = wal_mib(daxmap);
	if (w > wal_max[daxmap])
		wal_max[daxmap] = w;
	for (int i = 0; i < procs; i++)
		if (write(start[1], "c", 1) != 1)
			exit(2);
	for (int i = 0; i < procs; i++) {
		int status;
		waitpid(pid[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "sqlite_multi: a process ended with status %#x\n", status);
			exit(1);
		}
	}
	close(start[1]);
	close(out[0]);
	/* the work is there: every transaction changed one row */
	db = open_db(daxmap, sync);
	must(db, sqlite3_exec(db, "PRAGMA wal_checkpoint", NULL, NULL, NULL), "checkpoint");
	must(db, sqlite3_close(db), "close");
	return (double)total / secs;
}

int main(int argc, char **argv)
{
	static const char *syncs[] = { "NORMAL", "FULL" };
	const char *only = NULL;
	uint64_t seed = 42;
	int reps = 3;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--procs") == 0 && i + 1 < argc) {
			procs = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--secs") == 0 && i + 1 < argc) {
			secs = atof(argv[++i]);
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "--pool-size") == 0 && i + 1 < argc) {
			pool_size = argv[++i];
		} else {
			fprintf(stderr, "usage: sqlite_multi [--dir DIR] [--procs N] [--secs S] [--reps R] "
					"[--sync NORMAL|FULL] [--pool-size SIZE]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS)
		reps = 3;
	if (procs < 1 || procs > MAX_PROCS)
		procs = 4;
	if (!(secs > 0))
		secs = 3;
	if (daxmap_vfs_register(0) != SQLITE_OK) {
		fprintf(stderr, "sqlite_multi: cannot register the daxmap VFS\n");
		return 1;
	}
	printf("SQLite %s, dir %s, journal_mode=WAL, %d processes, 1-row UPDATE transactions, "
	       "%.1f s per run, %d reps (median)\n", sqlite3_libversion(), dir, procs, secs, reps);
	printf("  %-14s %14s %14s %8s %18s\n", "synchronous", "unix txn/s", "daxmap txn/s", "ratio",
	       "largest WAL, MiB");
	for (int s = 0; s < 2; s++) {
		double r[2][MAX_REPS];
		if (only && strcasecmp(only, syncs[s]) != 0)
			continue;
		wal_max[0] = wal_max[1] = 0;
		for (int rep = 0; rep < reps; rep++)
			for (int v = 0; v < 2; v++)
				r[v][rep] = run(v, syncs[s], &seed);
		double u = bench_median(r[0], reps), d = bench_median(r[1], reps);
		printf("  %-14s %14.0f %14.0f %7.2fx %8.0f / %-8.0f\n", syncs[s], u, d, d / u, wal_max[0],
		       wal_max[1]);
		fflush(stdout);
	}
	remove_files();
	return 0;
}
