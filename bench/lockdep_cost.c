/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the run-time lock validator costs (doc/PERFORMANCE.md, "Lock
 * validator cost"). Built in every build dir with the library's own
 * DAXMAP_LOCKDEP setting, so the same program run from two build dirs
 * (validator on and off) gives the two columns:
 *
 *   1. N lock/unlock pairs of the mutex wrapper of src/lock.h, with no
 *      other lock held and with two held (the new acquisition then checks
 *      two known edges);
 *   2. first touch of a 256 MiB object, one write per page, in a fresh
 *      prefaulted pool each round (so the kernel's own page allocation is
 *      not timed), with 2 MiB extents and with 64 KiB extents (more faults,
 *      each doing less).
 *
 * usage: lockdep_cost [DIR]   pools go to DIR (default /dev/shm)
 * env:   LOCKDEP_COST_PAIRS (default 10000000), LOCKDEP_COST_ROUNDS (default 5)
 */
#define _GNU_SOURCE
#include <libdaxmap.h>

#include "../src/lock.h"
#include "benchutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* unused: without the validator only their types are looked at */
#define BENCH_CLASS static struct lockclass __attribute__((unused))
BENCH_CLASS bench_outer1 = LOCKCLASS("bench outer 1", 0);
BENCH_CLASS bench_outer2 = LOCKCLASS("bench outer 2", 0);
BENCH_CLASS bench_inner = LOCKCLASS("bench inner", 0);

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 0) : def;
}

/* ns per lock/unlock pair of `inner`, with `depth` (0..2) outer locks held */
static double bench_pairs(long n, int depth) NO_TSA
{
	struct dm_mutex o1, o2, in;
	double t0, t;

	mutex_init(&o1, bench_outer1);
	mutex_init(&o2, bench_outer2);
	mutex_init(&in, bench_inner);
	if (depth > 0)
		mutex_lock(&o1);
	if (depth > 1)
		mutex_lock(&o2);
	mutex_lock(&in); /* learn the edges outside the timed loop */
	mutex_unlock(&in);
	t0 = bench_now();
	for (long i = 0; i < n; i++) {
		mutex_lock(&in);
		mutex_unlock(&in);
	}
	t = bench_now() - t0;
	if (depth > 1)
		mutex_unlock(&o2);
	if (depth > 0)
		mutex_unlock(&o1);
	mutex_destroy(&in);
	mutex_destroy(&o2);
	mutex_destroy(&o1);
	return t * 1e9 / (double)n;
}

#define OBJ_SIZE (UINT64_C(256) << 20)

/* Seconds to first-touch every page of a 256 MiB object; faults in *nfaults. */
static double bench_first_touch(const char *dir, uint64_t extent_size, uint64_t *nfaults)
{
	struct daxmap_pool_opts o;
	struct daxmap_pool_stat st;
	daxmap_pool *pool;
	daxmap_obj *obj;
	char path[512];
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p;
	double t0, t;
	int ret;

	snprintf(path, sizeof(path), "%s/lockdep_cost.%d.pool", dir, (int)getpid());
	unlink(path);
	daxmap_pool_opts_init(&o);
	o.extent_size = extent_size;
	o.prefault = 1;
	/* room for the object, the metadata (1% + 8 MiB) and some slack */
	ret = daxmap_pool_create_opts(&pool, path, OBJ_SIZE + (OBJ_SIZE / 50) + (32u << 20), 0600,
				      &o);
	if (ret == 0)
		ret = daxmap_obj_open(&obj, pool, "bench", DAXMAP_CREATE);
	if (ret == 0)
		ret = daxmap_obj_truncate(obj, OBJ_SIZE);
	if (ret == 0)
		ret = daxmap_map((void **)&p, obj, 0, OBJ_SIZE, PROT_READ | PROT_WRITE);
	if (ret < 0) {
		fprintf(stderr, "lockdep_cost: %s: %s\n", path, daxmap_errormsg());
		unlink(path);
		exit(1);
	}
	t0 = bench_now();
	for (uint64_t off = 0; off < OBJ_SIZE; off += ps)
		p[off] = 1;
	t = bench_now() - t0;
	daxmap_pool_stat(pool, &st);
	*nfaults = st.faults;
	daxmap_unmap((void *)p, OBJ_SIZE);
	daxmap_obj_close(obj);
	daxmap_pool_close(pool);
	unlink(path);
	return t;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/dev/shm";
	long pairs = env_long("LOCKDEP_COST_PAIRS", 10000000);
	int rounds = (int)env_long("LOCKDEP_COST_ROUNDS", 5);
	static const uint64_t extents[] = {UINT64_C(2) << 20, UINT64_C(64) << 10};
	double *t = calloc((size_t)rounds, sizeof(*t));

	if (!t || rounds < 1 || pairs < 1)
		return 2;
#ifdef DAXMAP_LOCKDEP
	printf("lock validator: on (this program and, as built alongside, the library)\n");
#else
	printf("lock validator: off (this program and, as built alongside, the library)\n");
#endif
	for (int depth = 0; depth <= 2; depth += 2) {
		double best = 0;
		for (int r = 0; r < 3; r++) {
			double ns = bench_pairs(pairs, depth);
			best = r == 0 || ns < best ? ns : best;
		}
		printf("mutex lock+unlock pair, %d other locks held: %8.1f ns (best of 3 x %ld)\n",
		       depth, best, pairs);
	}
	for (size_t e = 0; e < sizeof(extents) / sizeof(extents[0]); e++) {
		uint64_t nfaults = 0;
		for (int r = 0; r < rounds; r++)
			t[r] = bench_first_touch(dir, extents[e], &nfaults);
		qsort(t, (size_t)rounds, sizeof(*t), bench_dcmp);
		printf("first touch of 256 MiB, %4llu KiB extents, %5llu faults: median %7.1f ms, "
		       "min %7.1f ms, %6.1f us/fault (median of %d)\n",
		       (unsigned long long)(extents[e] >> 10), (unsigned long long)nfaults,
		       t[rounds / 2] * 1e3, t[0] * 1e3, t[rounds / 2] * 1e6 / (double)nfaults, rounds);
	}
	free(t);
	return 0;
}
