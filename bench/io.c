/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/io: random 4 KiB daxmap_obj_pread and daxmap_obj_pwrite on a
 * 256 MiB object beside pread(2) and pwrite(2) on a 256 MiB file in the
 * same directory (default /dev/shm), single-threaded (doc/PERFORMANCE.md,
 * "pread and pwrite").
 *
 *   io [--ops N] [--reps N] [--dir DIR] [--size MiB] [--bs BYTES]
 *
 * Both the object and the file are written whole first (not timed), so
 * every operation hits allocated space. Each figure is the median over
 * --reps runs (default 5) of N operations (default 200000) at offsets
 * aligned to the block size, drawn from one seeded sequence shared by both
 * sides; ratio = syscall time / daxmap time (above 1: daxmap is faster).
 * "memcpy floor" is the same copies to and from a MAP_SHARED mapping of the
 * file: what any copy through a 4 KiB-page mapping of it costs.
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

static uint64_t g_size = 256 * MiB, g_ops = 200000;
static size_t g_bs = 4096;
static int g_reps = 5;
static const char *g_dir = "/dev/shm";

/* One timed run of g_ops operations; returns ns per operation. With `mem`
 * (a MAP_SHARED mapping of the file) it is plain memcpy: the floor. */
static double run(daxmap_obj *obj, int fd, int write, char *buf, uint64_t seed, char *mem)
{
	uint64_t nblocks = g_size / g_bs, s = seed;
	double t0 = bench_now();

	for (uint64_t i = 0; i < g_ops; i++) {
		uint64_t off = (bench_rnd(&s) % nblocks) * g_bs;
		ssize_t n;

		if (mem) {
			if (write)
				memcpy(mem + off, buf, g_bs);
			else
				memcpy(buf, mem + off, g_bs);
			continue;
		}
		if (obj)
			n = write ? daxmap_obj_pwrite(obj, buf, g_bs, off, 0)
				  : daxmap_obj_pread(obj, buf, g_bs, off);
		else
			n = write ? pwrite(fd, buf, g_bs, (off_t)off) : pread(fd, buf, g_bs, (off_t)off);
		if (n != (ssize_t)g_bs)
			bench_die("io", write ? "write" : "read", n < 0 ? (obj ? n : errno) : EIO);
	}
	return (bench_now() - t0) * 1e9 / (double)g_ops;
}

int main(int argc, char **argv)
{
	char pool_path[4096], file_path[4096], *buf, *fill;
	daxmap_pool *pool;
	daxmap_obj *obj;
	double t[6][MAX_REPS];
	char *mem;
	int fd, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			g_ops = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			g_reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			g_dir = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			g_size = strtoull(argv[++i], NULL, 0) * MiB;
		else if (!strcmp(argv[i], "--bs") && i + 1 < argc)
			g_bs = strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: io [--ops N] [--reps N] [--dir DIR] [--size MiB] "
					"[--bs BYTES]\n");
			return 2;
		}
	}
	if (g_reps < 1 || g_reps > MAX_REPS || g_bs == 0 || g_size < g_bs || g_ops == 0) {
		fprintf(stderr, "io: bad arguments\n");
		return 2;
	}
	snprintf(pool_path, sizeof(pool_path), "%s/bench-io.%d.pool", g_dir, (int)getpid());
	snprintf(file_path, sizeof(file_path), "%s/bench-io.%d.file", g_dir, (int)getpid());
	buf = malloc(g_bs);
	fill = malloc(MiB);
	if (!buf || !fill)
		bench_die("io", "malloc", ENOMEM);
	memset(buf, 0xa5, g_bs);
	memset(fill, 0x5a, MiB);

	/* the object: room for it plus the metadata budget (1% + 8 MiB) */
	if ((ret = daxmap_pool_create(&pool, pool_path, g_size + g_size / 50 + 16 * MiB, 0600)) < 0)
		bench_die("io", "pool create", ret);
	if ((ret = daxmap_obj_open(&obj, pool, "bench", DAXMAP_CREATE)) < 0)
		bench_die("io", "object open", ret);
	fd = open(file_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_die("io", "file create", errno);
	for (uint64_t off = 0; off < g_size; off += MiB) {
		if (daxmap_obj_pwrite(obj, fill, MiB, off, 0) != (ssize_t)MiB)
			bench_die("io", "fill object", -ENOSPC);
		if (pwrite(fd, fill, MiB, (off_t)off) != (ssize_t)MiB)
			bench_die("io", "fill file", errno);
	}

	mem = mmap(NULL, g_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (mem == MAP_FAILED)
		bench_die("io", "mmap of the file", errno);

	/* round robin: each case once per rep, the same offsets on both sides */
	for (int r = 0; r < g_reps; r++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)r;
		t[0][r] = run(obj, -1, 0, buf, seed, NULL);
		t[1][r] = run(NULL, fd, 0, buf, seed, NULL);
		t[2][r] = run(obj, -1, 1, buf, seed, NULL);
		t[3][r] = run(NULL, fd, 1, buf, seed, NULL);
		t[4][r] = run(NULL, -1, 0, buf, seed, mem);
		t[5][r] = run(NULL, -1, 1, buf, seed, mem);
	}
	printf("random %zu-byte I/O, %llu MiB, %llu ops x %d reps (median ns/op), dir %s\n", g_bs,
	       (unsigned long long)(g_size / MiB), (unsigned long long)g_ops, g_reps, g_dir);
	printf("%-8s %14s %14s %8s %14s\n", "op", "daxmap", "syscall", "ratio", "memcpy floor");
	for (int k = 0; k < 2; k++) {
		double d = bench_median(t[2 * k], g_reps), s = bench_median(t[2 * k + 1], g_reps);
		printf("%-8s %11.0f ns %11.0f ns %7.2fx %11.0f ns\n", k ? "pwrite" : "pread", d, s,
		       s / d, bench_median(t[4 + k], g_reps));
	}
	munmap(mem, g_size);
	close(fd);
	unlink(file_path);
	daxmap_obj_close(obj);
	daxmap_pool_close(pool);
	unlink(pool_path);
	free(buf);
	free(fill);
	return 0;
}
