/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/grow: a pool grown by 1 GiB while two threads first-touch objects
 * in it, beside the kernel doing the same job: a tmpfs file extended by
 * 1 GiB (fallocate) while two threads first-touch a MAP_SHARED mapping of
 * it (doc/PERFORMANCE.md, "Growing a pool").
 *
 *   grow [--dir DIR] [--size MiB] [--reps N]
 *
 * Each thread stores one byte per 4 KiB page, 2 MiB at a time, and records
 * how long each 2 MiB took. Once 10% of the first size is used the main
 * thread grows the pool (the file) to twice its size and times the call.
 * "their time" is what the two threads lost while the grow ran: the sum,
 * over the 2 MiB pieces that overlap the grow, of their time above the
 * median piece of the run. Medians over --reps (default 5).
 *
 * A benchmark, not a test: exits 0 once it ran, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libdaxmap.h>

#include "benchutil.h"

#define MiB ((uint64_t)1 << 20)
#define PIECE (2 * MiB)
#define MAX_REPS 21

static uint64_t g_size = 1024 * MiB;
static int g_reps = 5;
static const char *g_dir = "/dev/shm";

struct toucher {
	uint8_t *va;   /* piece k at va + k * stride */
	uint64_t npieces, stride;
	uint64_t first; /* bytes of capacity piece 0 needs; each next one needs 2 pieces more */
	double *start, *took; /* per piece */
	atomic_uint_fast64_t *done_bytes, *capacity;
};

/* Touches its pieces; a piece only once the pool (file) has room for it:
 * a wait for the grow counts in the piece's time. */
static void *toucher_main(void *arg)
{
	struct toucher *t = arg;

	for (uint64_t k = 0; k < t->npieces; k++) {
		double t0 = bench_now();
		while (atomic_load(t->capacity) < t->first + 2 * k * PIECE)
			;
		for (uint64_t off = 0; off < PIECE; off += 4096)
			t->va[k * t->stride + off] = 1;
		t->start[k] = t0;
		t->took[k] = bench_now() - t0;
		atomic_fetch_add(t->done_bytes, PIECE);
	}
	return NULL;
}

struct result {
	double call, lost, worst, median;
};

/* What the threads lost to the grow [g0, g1], from their per-piece times. */
static void account(struct toucher *t, int n, double g0, double g1, struct result *r)
{
	uint64_t total = 0;
	double *all;

	for (int i = 0; i < n; i++)
		total += t[i].npieces;
	if (!(all = malloc(total * sizeof(*all))))
		bench_die("grow", "malloc", ENOMEM);
	total = 0;
	for (int i = 0; i < n; i++)
		for (uint64_t k = 0; k < t[i].npieces; k++)
			all[total++] = t[i].took[k];
	r->median = bench_median(all, (int)total);
	free(all);
	r->lost = r->worst = 0;
	for (int i = 0; i < n; i++)
		for (uint64_t k = 0; k < t[i].npieces; k++) {
			double s = t[i].start[k], e = s + t[i].took[k];
			if (e < g0 || s > g1)
				continue;
			if (t[i].took[k] > r->median)
				r->lost += t[i].took[k] - r->median;
			if (t[i].took[k] > r->worst)
				r->worst = t[i].took[k];
		}
	r->call = g1 - g0;
}

/* One run; daxmap when lib, else the kernel's file. */
static void run(int lib, struct result *r)
{
	char path[4096];
	atomic_uint_fast64_t done = 0, capacity = 0;
	struct toucher t[2];
	pthread_t th[2];
	daxmap_pool *pool = NULL;
	daxmap_obj *obj[2] = {NULL, NULL};
	uint8_t *file_va = NULL;
	int fd = -1, ret;
	/* together they touch 1.6x the first size: the grow is needed */
	uint64_t each = (g_size * 8 / 10) & ~(PIECE - 1);

	snprintf(path, sizeof(path), "%s/bench-grow.%d.%s", g_dir, (int)getpid(),
		 lib ? "pool" : "file");
	if (lib) {
		struct daxmap_pool_opts o;
		daxmap_pool_opts_init(&o);
		o.max_size = 4 * g_size;
		if ((ret = daxmap_pool_create_opts(&pool, path, g_size, 0600, &o)) < 0)
			bench_die("grow", "pool create", ret);
	} else {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || posix_fallocate(fd, 0, (off_t)g_size) != 0)
			bench_die("grow", "file create", errno);
		file_va = mmap(NULL, 2 * each, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (file_va == MAP_FAILED)
			bench_die("grow", "mmap", errno);
	}
	if (lib) {
		struct daxmap_pool_stat st;
		daxmap_pool_stat(pool, &st);
		atomic_store(&capacity, st.free);
	} else {
		atomic_store(&capacity, g_size);
	}
	for (int i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].npieces = each / PIECE;
		t[i].capacity = &capacity;
		/* the file: the threads' pieces interleave from its start */
		t[i].stride = lib ? PIECE : 2 * PIECE;
		t[i].first = (uint64_t)(i + 1) * PIECE;
		t[i].start = calloc(t[i].npieces, sizeof(double));
		t[i].took = calloc(t[i].npieces, sizeof(double));
		t[i].done_bytes = &done;
		if (!t[i].start || !t[i].took)
			bench_die("grow", "calloc", ENOMEM);
		if (lib) {
			char name[8];
			snprintf(name, sizeof(name), "t%d", i);
			if ((ret = daxmap_obj_open(&obj[i], pool, name, DAXMAP_CREATE)) < 0 ||
			    (ret = daxmap_obj_truncate(obj[i], each)) < 0 ||
			    (ret = daxmap_map((void **)&t[i].va, obj[i], 0, each,
					      DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0)
				bench_die("grow", "object setup", ret);
		} else {
			t[i].va = file_va + (uint64_t)i * PIECE;
		}
	}
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, toucher_main, &t[i]) != 0)
			bench_die("grow", "pthread_create", EAGAIN);
	while (atomic_load(&done) < g_size / 10)
		usleep(50);
	double g0 = bench_now();
	if (lib)
		ret = daxmap_pool_grow(pool, 2 * g_size);
	else
		ret = fallocate(fd, 0, (off_t)g_size, (off_t)g_size) < 0 ? -errno : 0;
	double g1 = bench_now();
	if (ret < 0)
		bench_die("grow", lib ? "daxmap_pool_grow" : "fallocate", ret);
	atomic_fetch_add(&capacity, g_size);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	account(t, 2, g0, g1, r);
	for (int i = 0; i < 2; i++) {
		if (lib) {
			daxmap_unmap(t[i].va, each);
			daxmap_obj_close(obj[i]);
		}
		free(t[i].start);
		free(t[i].took);
	}
	if (lib)
		daxmap_pool_close(pool);
	else {
		munmap(file_va, 2 * each);
		close(fd);
	}
	unlink(path);
}

int main(int argc, char **argv)
{
	double v[2][4][MAX_REPS];
	static const char *side[2] = {"file (fallocate)", "daxmap"};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			g_dir = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			g_size = strtoull(argv[++i], NULL, 0) * MiB;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			g_reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: grow [--dir DIR] [--size MiB] [--reps N]\n");
			return 2;
		}
	}
	if (g_reps < 1 || g_reps > MAX_REPS || g_size < 64 * MiB) {
		fprintf(stderr, "grow: bad arguments\n");
		return 2;
	}
	for (int r = 0; r < g_reps; r++)
		for (int lib = 0; lib < 2; lib++) {
			struct result res;
			run(lib, &res);
			v[lib][0][r] = res.call;
			v[lib][1][r] = res.lost;
			v[lib][2][r] = res.worst;
			v[lib][3][r] = res.median;
		}
	printf("grow by %llu MiB while 2 threads first-touch, %d reps (median), dir %s\n",
	       (unsigned long long)(g_size / MiB), g_reps, g_dir);
	printf("%-18s %12s %14s %16s %14s\n", "", "grow call", "their time", "slowest 2 MiB",
	       "median 2 MiB");
	for (int lib = 1; lib >= 0; lib--)
		printf("%-18s %9.2f ms %11.2f ms %13.3f ms %11.3f ms\n", side[lib],
		       bench_median(v[lib][0], g_reps) * 1e3, bench_median(v[lib][1], g_reps) * 1e3,
		       bench_median(v[lib][2], g_reps) * 1e3, bench_median(v[lib][3], g_reps) * 1e3);
	printf("(their time: what the 2 threads' pieces overlapping the grow took above the "
	       "median piece, summed; target < 10 ms)\n");
	return 0;
}
