/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sqlite_vfs: SQLite on the daxmap VFS (examples/sqlite-vfs) beside the
 * stock unix VFS, same run, same settings, both in one directory
 * (default /dev/shm): a pool there for daxmap, a plain file for unix.
 *
 *   sqlite_vfs [--dir DIR] [--reps N] [--quick]
 *
 * Per journal mode (DELETE, TRUNCATE, PERSIST, WAL) and mmap_size (0,
 * 256 MiB), with synchronous=FULL on both: inserts one transaction per row,
 * inserts in transactions of 1000 rows, 1-row UPDATE transactions, point
 * selects by key (each its own autocommit read transaction), full scans.
 * --journal MODE runs one mode only. Each figure
 * is the median of N reps (default 3), reps taken round-robin; ratio is
 * daxmap / unix (above 1: daxmap faster).
 */
#define _GNU_SOURCE
#include <daxmap_vfs.h>
#include <sqlite3.h>

#include "benchutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OP_INS1, OP_INSB, OP_UPD1, OP_SEL, OP_SCAN, NOPS };
static const char *op_names[NOPS] = { "insert, 1 row/txn", "insert, 1000 rows/txn",
				      "update, 1 row/txn", "point select", "scan (rows/s)" };

static int n_ins1 = 5000, n_insb = 200000, n_upd1 = 5000, n_sel = 200000, n_scan = 10;
static const char *dir = "/dev/shm";

static void must(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "sqlite_vfs: %s: %s\n", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		exit(1);
	}
}

static void exec(sqlite3 *db, const char *sql)
{
	must(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

/* One run of every operation on a fresh database; ops/s in out[]. */
static void run(int daxmap, const char *journal, int mmap, double out[NOPS])
{
	char uri[1024], path[600], sql[200];
	unsigned char blob[100];
	sqlite3 *db;
	sqlite3_stmt *ins, *sel, *upd;
	uint64_t seed = 42;
	double t;

	if (daxmap) {
		snprintf(path, sizeof(path), "%s/sqlite_vfs_bench.pool", dir);
		unlink(path);
		snprintf(uri, sizeof(uri), "file:bench.db?vfs=daxmap&pool=%s&pool_size=256M", path);
	} else {
		static const char *sfx[] = { "", "-journal", "-wal", "-shm" };
		for (int i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/sqlite_vfs_bench.db%s", dir, sfx[i]);
			unlink(path);
		}
		snprintf(uri, sizeof(uri), "file:%s/sqlite_vfs_bench.db?vfs=unix", dir);
	}
	must(NULL, sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
				   NULL), uri);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL; PRAGMA mmap_size=%d",
		 journal, mmap ? 256 << 20 : 0);
	exec(db, sql);
	exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v BLOB); CREATE INDEX t_k ON t(k)");
	must(db, sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?, ?, ?)", -1, &ins, NULL), "prepare");
	must(db, sqlite3_prepare_v2(db, "SELECT v FROM t WHERE id = ?", -1, &sel, NULL), "prepare");
	must(db, sqlite3_prepare_v2(db, "UPDATE t SET v = ? WHERE id = ?", -1, &upd, NULL), "prepare");
	memset(blob, 0xab, sizeof(blob));

	int id = 0;
	t = bench_now();
	for (int i = 0; i < n_ins1; i++) {
		sqlite3_bind_int(ins, 1, ++id);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)(bench_rnd(&seed) % 1000000));
		sqlite3_bind_blob(ins, 3, blob, sizeof(blob), SQLITE_STATIC);
		must(db, sqlite3_step(ins), "insert");
		sqlite3_reset(ins);
	}
	out[OP_INS1] = n_ins1 / (bench_now() - t);

	t = bench_now();
	for (int i = 0; i < n_insb; i++) {
		if (i % 1000 == 0)
			exec(db, "BEGIN");
		sqlite3_bind_int(ins, 1, ++id);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)(bench_rnd(&seed) % 1000000));
		sqlite3_bind_blob(ins, 3, blob, sizeof(blob), SQLITE_STATIC);
		must(db, sqlite3_step(ins), "insert");
		sqlite3_reset(ins);
		if (i % 1000 == 999 || i == n_insb - 1)
			exec(db, "COMMIT");
	}
	out[OP_INSB] = n_insb / (bench_now() - t);

	t = bench_now();
	for (int i = 0; i < n_upd1; i++) {
		blob[0] = (unsigned char)i;
		sqlite3_bind_blob(upd, 1, blob, sizeof(blob), SQLITE_STATIC);
		sqlite3_bind_int(upd, 2, (int)(bench_rnd(&seed) % (uint64_t)id) + 1);
		must(db, sqlite3_step(upd), "update");
		sqlite3_reset(upd);
	}
	out[OP_UPD1] = n_upd1 / (bench_now() - t);

	t = bench_now();
	for (int i = 0; i < n_sel; i++) {
		sqlite3_bind_int(sel, 1, (int)(bench_rnd(&seed) % (uint64_t)id) + 1);
		must(db, sqlite3_step(sel), "select");
		sqlite3_reset(sel);
	}
	out[OP_SEL] = n_sel / (bench_now() - t);

	t = bench_now();
	for (int i = 0; i < n_scan; i++)
		exec(db, "SELECT sum(length(v)) + sum(k) FROM t");
	out[OP_SCAN] = (double)n_scan * id / (bench_now() - t);

	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	must(db, sqlite3_close(db), "close");
}

#define MAX_REPS 15

int main(int argc, char **argv)
{
	static const char *journals[] = { "delete", "truncate", "persist", "wal" };
	const char *only = NULL;
	int reps = 3;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--journal") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "--quick") == 0) {
			n_ins1 = 1000, n_insb = 20000, n_upd1 = 1000, n_sel = 20000, n_scan = 3;
		} else {
			fprintf(stderr, "usage: sqlite_vfs [--dir DIR] [--reps N] [--journal MODE] "
					"[--quick]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS)
		reps = 3;
	if (daxmap_vfs_register(0) != SQLITE_OK) {
		fprintf(stderr, "sqlite_vfs: cannot register the daxmap VFS\n");
		return 1;
	}
	printf("SQLite %s, dir %s, synchronous=FULL, %d reps (median)\n", sqlite3_libversion(), dir, reps);
	for (int j = 0; j < 4; j++) {
		if (only && strcmp(only, journals[j]) != 0)
			continue;
		for (int mm = 0; mm < 2; mm++) {
			double r[2][NOPS][MAX_REPS];
			for (int rep = 0; rep < reps; rep++) {
				for (int v = 0; v < 2; v++) {
					double o[NOPS];
					run(v, journals[j], mm, o);
					for (int op = 0; op < NOPS; op++)
						r[v][op][rep] = o[op];
				}
			}
			printf("\njournal_mode=%s mmap_size=%s\n", journals[j], mm ? "256M" : "0");
			printf("  %-24s %14s %14s %8s\n", "operation", "unix ops/s", "daxmap ops/s", "ratio");
			for (int op = 0; op < NOPS; op++) {
				double u = bench_median(r[0][op], reps), d = bench_median(r[1][op], reps);
				printf("  %-24s %14.0f %14.0f %7.2fx\n", op_names[op], u, d, d / u);
			}
		}
	}
	char path[600];
	snprintf(path, sizeof(path), "%s/sqlite_vfs_bench.pool", dir);
	unlink(path);
	static const char *sfx[] = { "", "-journal", "-wal", "-shm" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/sqlite_vfs_bench.db%s", dir, sfx[i]);
		unlink(path);
	}
	return 0;
}
