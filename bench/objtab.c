/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/objtab: the object table at scale (doc/PERFORMANCE.md, "The object
 * table at scale"): N creates (daxmap_obj_open with DAXMAP_CREATE|
 * DAXMAP_EXCL, then close), the reopen of a pool holding them, N opens by
 * name (and closes) in random order, then N/2 unlinks, each timed whole,
 * beside the targets of issue 16 for N = 100,000.
 *
 *   objtab [--n N] [--dir DIR]
 *
 * The pool (in DIR, default /dev/shm) has max_objects N and the smallest
 * size whose metadata budget (1% + 8 MiB) holds N slots; warming is off
 * (this measures the table, not the free space). Exits 0 once it ran, 2 on
 * a setup error.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdaxmap.h>

#include "benchutil.h"

static void die(const char *what, int ret)
{
	fprintf(stderr, "objtab: %s: %d (%s)\n", what, ret, daxmap_errormsg());
	exit(2);
}

static void name_of(char *buf, size_t len, uint32_t i)
{
	snprintf(buf, len, "table/object-%08u", i);
}

/* target: seconds allowed for this n (the figure for 100,000 objects,
 * scaled linearly for other n; the reopen's is not scaled) */
static void report(const char *what, uint32_t ops, double s, double target)
{
	printf("%-14s %8u ops %9.3f s %9.2f us/op   target < %.2f s: %s\n", what, ops, s,
	       s * 1e6 / ops, target, s < target ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
	struct daxmap_pool_opts opts;
	uint32_t n = 100000, *order;
	const char *dir = "/dev/shm";
	char path[4096], name[64];
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t size, seed = 88172645463325252ull;
	double t0, t_create, t_reopen, t_open, t_unlink;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc)
			n = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: objtab [--n N] [--dir DIR]\n");
			return 2;
		}
	}
	if (n < 2 || !(order = malloc(n * sizeof(*order))))
		return 2;
	snprintf(path, sizeof(path), "%s/bench-objtab.%d.pool", dir, (int)getpid());
	daxmap_pool_opts_init(&opts);
	opts.max_objects = n;
	opts.warm = DAXMAP_WARM_OFF;
	/* 256-byte slots plus room for the log and some extents, within 1% + 8 MiB */
	size = (uint64_t)n * 256 * 100 + (UINT64_C(64) << 20);
	if (size < DAXMAP_MIN_POOL_SIZE)
		size = DAXMAP_MIN_POOL_SIZE;
	if ((ret = daxmap_pool_create_opts(&pool, path, size, 0600, &opts)) < 0)
		die("pool create", ret);

	t0 = bench_now();
	for (uint32_t i = 0; i < n; i++) {
		name_of(name, sizeof(name), i);
		if ((ret = daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE | DAXMAP_EXCL)) < 0)
			die("create", ret);
		daxmap_obj_close(obj);
	}
	t_create = bench_now() - t0;
	if ((ret = daxmap_pool_close(pool)) < 0)
		die("close", ret);

	t0 = bench_now();
	if ((ret = daxmap_pool_open_opts(&pool, path, &opts)) < 0)
		die("reopen", ret);
	t_reopen = bench_now() - t0;

	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j, t;
		j = (uint32_t)(bench_rnd(&seed) % (i + 1));
		t = order[i], order[i] = order[j], order[j] = t;
	}
	t0 = bench_now();
	for (uint32_t i = 0; i < n; i++) {
		name_of(name, sizeof(name), order[i]);
		if ((ret = daxmap_obj_open(&obj, pool, name, 0)) < 0)
			die("open", ret);
		daxmap_obj_close(obj);
	}
	t_open = bench_now() - t0;

	t0 = bench_now();
	for (uint32_t i = 0; i < n / 2; i++) {
		name_of(name, sizeof(name), order[i]);
		if ((ret = daxmap_obj_unlink(pool, name)) < 0)
			die("unlink", ret);
	}
	t_unlink = bench_now() - t0;
	daxmap_pool_close(pool);
	unlink(path);

	printf("object table: %u objects, pool %llu MiB in %s\n", n,
	       (unsigned long long)(size >> 20), dir);
	report("create", n, t_create, 5.0 * n / 100000);
	report("reopen", 1, t_reopen, 2.0);
	report("open by name", n, t_open, 2.0 * n / 100000);
	report("unlink", n / 2, t_unlink, 5.0 * n / 100000);
	free(order);
	return 0;
}
