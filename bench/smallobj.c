/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/smallobj: the life of a short-lived small object (create, one
 * durable write of --size bytes, close, unlink) beside the same life of a
 * file in the same directory (default /dev/shm: open O_CREAT|O_EXCL,
 * write, fdatasync, close, unlink) (doc/PERFORMANCE.md, "Small objects").
 *
 *   smallobj [--n N] [--reps N] [--dir DIR] [--size BYTES] [--small]
 *
 * --small creates the objects with DAXMAP_SMALL (64 KiB blocks). The space
 * one live object takes of the pool is printed beside the file's blocks.
 *
 * Medians over --reps (default 5) of N lives each (default 20000);
 * ratio = file time / object time (above 1: the object is cheaper).
 *
 * A benchmark, not a test: exits 0 once it ran, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdaxmap.h>

#include "benchutil.h"

#define MAX_REPS 21

int main(int argc, char **argv)
{
	unsigned n = 20000, size = 4096;
	int reps = 5, ret, oflags = DAXMAP_CREATE | DAXMAP_EXCL;
	uint64_t space;
	const char *dir = "/dev/shm";
	char pool_path[4096], file_path[4096], *buf;
	double obj[MAX_REPS], file[MAX_REPS];
	daxmap_pool *pool;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc)
			n = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--small"))
			oflags |= DAXMAP_SMALL;
		else {
			fprintf(stderr, "usage: smallobj [--n N] [--reps N] [--dir DIR] [--size BYTES] "
					"[--small]\n");
			return 2;
		}
	}
	if (n == 0 || reps < 1 || reps > MAX_REPS || size == 0 || size > (1u << 20)) {
		fprintf(stderr, "smallobj: bad arguments\n");
		return 2;
	}
	snprintf(pool_path, sizeof(pool_path), "%s/bench-smallobj.%d.pool", dir, (int)getpid());
	snprintf(file_path, sizeof(file_path), "%s/bench-smallobj.%d.file", dir, (int)getpid());
	if (!(buf = malloc(size)))
		bench_die("smallobj", "malloc", ENOMEM);
	memset(buf, 0x5a, size);
	if ((ret = daxmap_pool_create(&pool, pool_path, 256u << 20, 0600)) < 0)
		bench_die("smallobj", "pool create", ret);
	{
		/* the space of one live object: what the pool's used bytes grow by
		 * (a split extent counts whole: blocks_used says what it holds) */
		struct daxmap_pool_stat s0, s1;
		daxmap_obj *o;
		if (daxmap_pool_stat(pool, &s0) < 0 ||
		    (ret = daxmap_obj_open(&o, pool, "small", oflags)) < 0 ||
		    daxmap_obj_pwrite(o, buf, size, 0, DAXMAP_DSYNC) != (ssize_t)size ||
		    daxmap_pool_stat(pool, &s1) < 0 || daxmap_obj_close(o) < 0 ||
		    daxmap_obj_unlink(pool, "small") < 0)
			bench_die("smallobj", "space", ret < 0 ? ret : EIO);
		space = (oflags & DAXMAP_SMALL) ? s1.blocks_used - s0.blocks_used : s1.used - s0.used;
	}
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now();
		for (unsigned i = 0; i < n; i++) {
			daxmap_obj *o;
			if ((ret = daxmap_obj_open(&o, pool, "small", oflags)) < 0)
				bench_die("smallobj", "create", ret);
			if (daxmap_obj_pwrite(o, buf, size, 0, DAXMAP_DSYNC) != (ssize_t)size)
				bench_die("smallobj", "pwrite", EIO);
			if ((ret = daxmap_obj_close(o)) < 0 ||
			    (ret = daxmap_obj_unlink(pool, "small")) < 0)
				bench_die("smallobj", "close/unlink", ret);
		}
		obj[r] = (bench_now() - t0) / n;
		t0 = bench_now();
		for (unsigned i = 0; i < n; i++) {
			int fd = open(file_path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
			if (fd < 0 || write(fd, buf, size) != (ssize_t)size || fdatasync(fd) < 0 ||
			    close(fd) < 0 || unlink(file_path) < 0)
				bench_die("smallobj", "file", errno);
		}
		file[r] = (bench_now() - t0) / n;
	}
	double d = bench_median(obj, reps), f = bench_median(file, reps);
	printf("life of a %u-byte object (create, durable write, unlink), %u x %d reps "
	       "(median), dir %s\n", size, n, reps, dir);
	printf("daxmap object %8.2f us   file %8.2f us   ratio %.2fx\n", d * 1e6, f * 1e6, f / d);
	printf("space of one live object: %llu KiB%s (a file on tmpfs: %u KiB)\n",
	       (unsigned long long)(space >> 10), (oflags & DAXMAP_SMALL) ? " (blocks)" : "",
	       (size + 4095) / 4096 * 4);
	daxmap_pool_close(pool);
	unlink(pool_path);
	free(buf);
	return 0;
}
