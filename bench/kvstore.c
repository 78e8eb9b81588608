/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/kvstore: the kvstore example against LMDB, doing the same work with
 * the same durability, side by side in one run.
 *
 *   kvstore [-n KEYS] [-d DIR] [-r RUNS]   (default 1000000 keys in /dev/shm, 1 run)
 *
 * 16-byte keys, 100-byte values. Phases: sequential fill, random fill,
 * random reads, random deletes; fills and deletes once with one durable
 * operation each (kv_put returning; one committed LMDB transaction) and once
 * in batches of 1000 (kv_commit; one LMDB transaction per batch). LMDB runs
 * with its default (synchronous) flags; its random reads share one read
 * transaction, its best case. Prints operations per second and kv/LMDB;
 * with -r, the best of RUNS runs for each row (for a machine with other load).
 */
#define _GNU_SOURCE
#include "kv.h"
#include "benchutil.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY 16
#define VAL 100

static unsigned long nkeys = 1000000;
static const char *dir = "/dev/shm";
static char kv_path[512], mdb_path[512];
static uint64_t *perm; /* a random permutation of 0 .. nkeys-1 */

static void make_key(char *k, uint64_t i)
{
	char buf[KEY + 1];
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)i);
	memcpy(k, buf, KEY);
}

static void make_val(char *v, uint64_t i)
{
	for (int j = 0; j < VAL; j++)
		v[j] = (char)('a' + (i + (uint64_t)j) % 26);
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_kvstore: %s: %s\n", what, msg);
	exit(1);
}

/* ---- kvstore ---- */

static struct kv *kv_fresh(void)
{
	struct kv_create_opts o = {.pool_size = UINT64_C(1) << 30, .index_slots = UINT64_C(1) << 21};
	struct kv *kv;
	unlink(kv_path);
	if (kv_open(&kv, kv_path, &o) < 0)
		die("kv_open", kv_errormsg());
	return kv;
}

/* what: 0 fill in order, 1 fill in random order, 2 delete in random order */
static double kv_run(struct kv *kv, int what, unsigned batch)
{
	char k[KEY], v[VAL];
	double t = bench_now();
	for (unsigned long i = 0; i < nkeys; i++) {
		uint64_t key = what == 0 ? i : perm[i];
		int ret;
		if (batch > 1 && i % batch == 0 && kv_begin(kv) < 0)
			die("kv_begin", kv_errormsg());
		make_key(k, key);
		if (what == 2) {
			ret = kv_del(kv, k, KEY);
		} else {
			make_val(v, key);
			ret = kv_put(kv, k, KEY, v, VAL);
		}
		if (ret < 0)
			die(what == 2 ? "kv_del" : "kv_put", kv_errormsg());
		if (batch > 1 && (i % batch == batch - 1 || i == nkeys - 1) && kv_commit(kv) < 0)
			die("kv_commit", kv_errormsg());
	}
	return (double)nkeys / (bench_now() - t);
}

static double kv_reads(struct kv *kv)
{
	char k[KEY], v[VAL], want[VAL];
	size_t vlen;
	uint64_t x = 88172645463325252u;
	double t = bench_now();
	for (unsigned long i = 0; i < nkeys; i++) {
		make_key(k, bench_rnd(&x) % nkeys);
		if (kv_get(kv, k, KEY, v, VAL, &vlen) < 0 || vlen != VAL)
			die("kv_get", kv_errormsg());
		if (i % 1024 == 0) { /* spot check */
			make_val(want, x % nkeys);
			if (memcmp(v, want, VAL))
				die("kv_get", "wrong value");
		}
	}
	return (double)nkeys / (bench_now() - t);
}

/* ---- LMDB ---- */

struct mdb {
	MDB_env *env;
	MDB_dbi dbi;
};

static void mdb_check(int rc, const char *what)
{
	if (rc)
		die(what, mdb_strerror(rc));
}

static struct mdb mdb_fresh(void)
{
	struct mdb m;
	MDB_txn *txn;
	char lock[600];
	snprintf(lock, sizeof(lock), "%s-lock", mdb_path);
	unlink(mdb_path);
	unlink(lock);
	mdb_check(mdb_env_create(&m.env), "mdb_env_create");
	mdb_check(mdb_env_set_mapsize(m.env, (size_t)4 << 30), "mdb_env_set_mapsize");
	mdb_check(mdb_env_open(m.env, mdb_path, MDB_NOSUBDIR, 0600), "mdb_env_open");
	mdb_check(mdb_txn_begin(m.env, NULL, 0, &txn), "mdb_txn_begin");
	mdb_check(mdb_dbi_open(txn, NULL, 0, &m.dbi), "mdb_dbi_open");
	mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
	return m;
}

static void mdb_done(struct mdb *m)
{
	char lock[600];
	mdb_env_close(m->env);
	snprintf(lock, sizeof(lock), "%s-lock", mdb_path);
	unlink(mdb_path);
	unlink(lock);
}

static double mdb_run(struct mdb *m, int what, unsigned batch)
{
	char k[KEY], v[VAL];
	MDB_val mk = {KEY, k}, mv = {VAL, v};
	MDB_txn *txn = NULL;
	double t = bench_now();
	for (unsigned long i = 0; i < nkeys; i++) {
		uint64_t key = what == 0 ? i : perm[i];
		if (i % batch == 0)
			mdb_check(mdb_txn_begin(m->env, NULL, 0, &txn), "mdb_txn_begin");
		make_key(k, key);
		if (what == 2) {
			mdb_check(mdb_del(txn, m->dbi, &mk, NULL), "mdb_del");
		} else {
			make_val(v, key);
			mdb_check(mdb_put(txn, m->dbi, &mk, &mv, 0), "mdb_put");
		}
		if (i % batch == batch - 1 || i == nkeys - 1)
			mdb_check(mdb_txn_commit(txn), "mdb_txn_commit"); /* synchronous: durable */
	}
	return (double)nkeys / (bench_now() - t);
}

static double mdb_reads(struct mdb *m)
{
	char k[KEY], want[VAL];
	MDB_val mk = {KEY, k}, mv;
	MDB_txn *txn;
	uint64_t x = 88172645463325252u;
	double t = bench_now();
	mdb_check(mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
	for (unsigned long i = 0; i < nkeys; i++) {
		make_key(k, bench_rnd(&x) % nkeys);
		mdb_check(mdb_get(txn, m->dbi, &mk, &mv), "mdb_get");
		if (i % 1024 == 0) {
			make_val(want, x % nkeys);
			if (mv.mv_size != VAL || memcmp(mv.mv_data, want, VAL))
				die("mdb_get", "wrong value");
		}
	}
	mdb_txn_abort(txn);
	return (double)nkeys / (bench_now() - t);
}

#define ROWS 7
static char names[ROWS][64];
static double best[ROWS][2];

static void row(int i, const char *name, double kv, double mdb)
{
	snprintf(names[i], sizeof(names[i]), "%s", name);
	best[i][0] = kv > best[i][0] ? kv : best[i][0];
	best[i][1] = mdb > best[i][1] ? mdb : best[i][1];
}

int main(int argc, char **argv)
{
	static const char *fill[] = {"sequential fill", "random fill", "random delete"};
	int opt, runs = 1, r = 0;

	while ((opt = getopt(argc, argv, "n:d:r:")) != -1) {
		if (opt == 'n')
			nkeys = strtoul(optarg, NULL, 0);
		else if (opt == 'd')
			dir = optarg;
		else if (opt == 'r')
			runs = atoi(optarg);
		else {
			fprintf(stderr, "usage: kvstore [-n KEYS] [-d DIR] [-r RUNS]\n");
			return 2;
		}
	}
	if (nkeys == 0 || nkeys > 1500000) /* the index holds 3/4 of 2^21 keys */
		die("-n", "1 .. 1500000 keys");
	snprintf(kv_path, sizeof(kv_path), "%s/bench-kvstore.pool", dir);
	snprintf(mdb_path, sizeof(mdb_path), "%s/bench-kvstore.mdb", dir);
	perm = malloc(nkeys * sizeof(*perm));
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (unsigned long i = 0; i < nkeys; i++)
		perm[i] = i;
	for (unsigned long i = nkeys - 1; i > 0; i--) {
		uint64_t j = bench_rnd(&x) % (i + 1), tmp = perm[i];
		perm[i] = perm[j], perm[j] = tmp;
	}

	printf("%lu keys of %d bytes, values of %d bytes, files in %s; %s; best of %d runs\n",
	       nkeys, KEY, VAL, dir, mdb_version(NULL, NULL, NULL), runs);
	for (int run = 0; run < runs; run++, r = 0) {
		for (unsigned batch = 1; batch <= 1000; batch *= 1000) {
			const char *unit = batch == 1 ? "durable op" : "batch of 1000";
			char name[64];
			for (int what = 0; what < 2; what++) {
				struct kv *kv = kv_fresh();
				struct mdb m = mdb_fresh();
				double a = kv_run(kv, what, batch), b = mdb_run(&m, what, batch);
				snprintf(name, sizeof(name), "%s, %s", fill[what], unit);
				row(r++, name, a, b);
				if (what == 1) {
					if (batch == 1)
						row(r++, "random read", kv_reads(kv), mdb_reads(&m));
					a = kv_run(kv, 2, batch), b = mdb_run(&m, 2, batch);
					snprintf(name, sizeof(name), "%s, %s", fill[2], unit);
					row(r++, name, a, b);
				}
				kv_close(kv);
				unlink(kv_path);
				mdb_done(&m);
			}
		}
	}
	printf("%-30s %12s %12s %9s\n", "ops/s", "kvstore", "LMDB", "kv/LMDB");
	for (int i = 0; i < ROWS; i++)
		printf("%-30s %12.0f %12.0f %8.2fx\n", names[i], best[i][0], best[i][1],
		       best[i][0] / best[i][1]);
	free(perm);
	return 0;
}
