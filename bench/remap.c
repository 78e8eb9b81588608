/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/remap: mapping an object whose data exists (a database opened
 * again), beside mmap(2) of a file of the same size in the same directory
 * (default /dev/shm) doing the same job (doc/PERFORMANCE.md, "Mapping
 * known data").
 *
 *   remap [--reps N] [--dir DIR] [--size MiB] [--sparse N]
 *
 * The object and the file are written whole first (not timed). Each rep
 * times, on both sides: map + unmap alone; map, a load from every 4 KiB
 * page, unmap; map, loads from --sparse random pages (default 64), unmap.
 * Figures are medians over --reps (default 7); ratio = mmap time / daxmap
 * time (above 1: daxmap is faster).
 *
 * A benchmark, not a test: exits 0 once it ran, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libdaxmap.h>

#include "benchutil.h"

#define MiB ((uint64_t)1 << 20)
#define MAX_REPS 51

static uint64_t g_size = 256 * MiB, g_sparse = 64;
static int g_reps = 7;
static const char *g_dir = "/dev/shm";

static volatile unsigned g_sink;

/* Loads: none (touch 0), every page (1), or g_sparse random pages (2). */
static void loads(const volatile unsigned char *p, int touch, uint64_t seed)
{
	unsigned sum = 0;

	if (touch == 1)
		for (uint64_t off = 0; off < g_size; off += 4096)
			sum += p[off];
	else if (touch == 2)
		for (uint64_t i = 0; i < g_sparse; i++)
			sum += p[(bench_rnd(&seed) % (g_size / 4096)) * 4096];
	g_sink += sum;
}

/* One timed map, loads, unmap; seconds. */
static double run(daxmap_obj *obj, int fd, int touch, uint64_t seed)
{
	double t0 = bench_now();
	void *p;
	int ret;

	if (obj) {
		if ((ret = daxmap_map(&p, obj, 0, g_size, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0)
			bench_die("remap", "daxmap_map", ret);
		loads(p, touch, seed);
		if ((ret = daxmap_unmap(p, g_size)) < 0)
			bench_die("remap", "daxmap_unmap", ret);
	} else {
		p = mmap(NULL, g_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			bench_die("remap", "mmap", errno);
		loads(p, touch, seed);
		munmap(p, g_size);
	}
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	static const char *what[3] = {"map + unmap", "map, load every page", "map, sparse loads"};
	char pool_path[4096], file_path[4096], *fill;
	double t[6][MAX_REPS];
	daxmap_pool *pool;
	daxmap_obj *obj;
	int fd, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			g_reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			g_dir = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			g_size = strtoull(argv[++i], NULL, 0) * MiB;
		else if (!strcmp(argv[i], "--sparse") && i + 1 < argc)
			g_sparse = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: remap [--reps N] [--dir DIR] [--size MiB] "
					"[--sparse N]\n");
			return 2;
		}
	}
	if (g_reps < 1 || g_reps > MAX_REPS || g_size < MiB) {
		fprintf(stderr, "remap: bad arguments\n");
		return 2;
	}
	snprintf(pool_path, sizeof(pool_path), "%s/bench-remap.%d.pool", g_dir, (int)getpid());
	snprintf(file_path, sizeof(file_path), "%s/bench-remap.%d.file", g_dir, (int)getpid());
	if (!(fill = malloc(MiB)))
		bench_die("remap", "malloc", ENOMEM);
	memset(fill, 0x5a, MiB);
	/* room for the object plus the metadata budget (1% + 8 MiB) */
	if ((ret = daxmap_pool_create(&pool, pool_path, g_size + g_size / 50 + 16 * MiB, 0600)) < 0)
		bench_die("remap", "pool create", ret);
	if ((ret = daxmap_obj_open(&obj, pool, "db", DAXMAP_CREATE)) < 0)
		bench_die("remap", "object open", ret);
	fd = open(file_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_die("remap", "file create", errno);
	for (uint64_t off = 0; off < g_size; off += MiB) {
		if (daxmap_obj_pwrite(obj, fill, MiB, off, 0) != (ssize_t)MiB)
			bench_die("remap", "fill object", -ENOSPC);
		if (pwrite(fd, fill, MiB, (off_t)off) != (ssize_t)MiB)
			bench_die("remap", "fill file", errno);
	}
	/* round robin: each case once per rep, the same pages on both sides */
	for (int r = 0; r < g_reps; r++)
		for (int k = 0; k < 3; k++) {
			uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)r;
			t[2 * k][r] = run(obj, -1, k, seed);
			t[2 * k + 1][r] = run(NULL, fd, k, seed);
		}
	printf("mapping a written %llu MiB object again, %d reps (median), dir %s\n",
	       (unsigned long long)(g_size / MiB), g_reps, g_dir);
	printf("%-22s %12s %12s %8s\n", "case", "daxmap", "mmap(2)", "ratio");
	for (int k = 0; k < 3; k++) {
		double d = bench_median(t[2 * k], g_reps), s = bench_median(t[2 * k + 1], g_reps);
		printf("%-22s %9.1f us %9.1f us %7.2fx\n", what[k], d * 1e6, s * 1e6, s / d);
	}
	printf("(sparse: %llu random pages; every page: %llu pages)\n", (unsigned long long)g_sparse,
	       (unsigned long long)(g_size / 4096));
	close(fd);
	unlink(file_path);
	daxmap_obj_close(obj);
	daxmap_pool_close(pool);
	unlink(pool_path);
	free(fill);
	return 0;
}
