/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Range-lock scalability: T threads first-touching disjoint extents of ONE
 * object, against T threads each on ITS OWN object, in the same run. With a
 * range lock (not an object lock in disguise) the two should fault at the
 * same rate: the ratio one-object / separate-objects should be >= 0.9.
 *
 *   rangelock_scale [-t max_threads] [-n extents_per_thread] [-r rounds]
 *                   [-e extent_size_KiB] [-d dir]
 *
 * Defaults: 2 threads, 128 extents per thread, 7 rounds, 2 MiB extents,
 * pool in $DAXMAP_BENCH_DIR or /dev/shm. The pool is prefaulted and the
 * zeroer is left to finish between runs, so a fault costs its allocation,
 * the mmap of the extent and the wake (no inline zeroing, no cold tmpfs).
 * Each round runs every configuration once, in alternating order; the
 * figures are medians over the rounds.
 */
#define _GNU_SOURCE
#include <libdaxmap.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"

#define MAX_T 16

static unsigned opt_threads = 2, opt_rounds = 7;
static uint64_t opt_n = 128, opt_es = DAXMAP_DEFAULT_EXTENT_SIZE;

static void die(const char *what, int ret)
{
	fprintf(stderr, "rangelock_scale: %s: %s (%s)\n", what, strerror(-ret), daxmap_errormsg());
	exit(1);
}

struct run {
	_Atomic unsigned ready;
	_Atomic int go;
	unsigned nthreads;
	char *base[MAX_T]; /* where thread i starts touching */
	double t_end[MAX_T];
	double t_start;
};

struct worker {
	struct run *r;
	unsigned id;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	char *p = r->base[w->id];

	atomic_fetch_add(&r->ready, 1);
	while (!atomic_load(&r->go))
		;
	for (uint64_t e = 0; e < opt_n; e++)
		((volatile char *)p)[e * opt_es] = 1;
	r->t_end[w->id] = bench_now();
	return NULL;
}

/* One run: T threads, on one object (one mapping) or on T objects. Returns faults/s. */
static double run_once(daxmap_pool *pool, unsigned t, int one_object)
{
	daxmap_obj *obj[MAX_T] = {NULL};
	void *va[MAX_T] = {NULL};
	uint64_t len = one_object ? t * opt_n * opt_es : opt_n * opt_es;
	unsigned nobj = one_object ? 1 : t;
	struct worker w[MAX_T];
	pthread_t tid[MAX_T];
	struct daxmap_pool_stat st;
	struct run r;
	char name[32];
	double end = 0;
	int ret;

	memset(&r, 0, sizeof(r));
	r.nthreads = t;
	for (unsigned i = 0; i < nobj; i++) {
		snprintf(name, sizeof(name), "obj%u", i);
		if ((ret = daxmap_obj_open(&obj[i], pool, name, DAXMAP_CREATE | DAXMAP_EXCL)) < 0 ||
		    (ret = daxmap_obj_truncate(obj[i], len)) < 0 ||
		    (ret = daxmap_map(&va[i], obj[i], 0, len, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) <
			    0)
			die("setup", ret);
	}
	for (unsigned i = 0; i < t; i++)
		r.base[i] = one_object ? (char *)va[0] + i * opt_n * opt_es : (char *)va[i];
	for (unsigned i = 0; i < t; i++) {
		w[i] = (struct worker){.r = &r, .id = i};
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
			die("pthread_create", -EAGAIN);
	}
	while (atomic_load(&r.ready) < t)
		;
	r.t_start = bench_now();
	atomic_store(&r.go, 1);
	for (unsigned i = 0; i < t; i++) {
		pthread_join(tid[i], NULL);
		if (r.t_end[i] > end)
			end = r.t_end[i];
	}
	for (unsigned i = 0; i < nobj; i++) {
		snprintf(name, sizeof(name), "obj%u", i);
		if ((ret = daxmap_unmap(va[i], len)) < 0 || (ret = daxmap_obj_close(obj[i])) < 0 ||
		    (ret = daxmap_obj_unlink(pool, name)) < 0)
			die("teardown", ret);
	}
	/* the next run must find zeroed extents, as this one did */
	do {
		usleep(2000);
		if ((ret = daxmap_pool_stat(pool, &st)) < 0)
			die("stat", ret);
	} while (st.free_unzeroed > 0);
	return (double)(t * opt_n) / (end - r.t_start);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), bench_dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("DAXMAP_BENCH_DIR");
	struct daxmap_pool_opts opts;
	struct daxmap_pool_stat st;
	daxmap_pool *pool = NULL;
	char path[512];
	double *res[MAX_T + 1][2];
	uint64_t pool_size;
	int c, ret;

	while ((c = getopt(argc, argv, "t:n:r:e:d:")) != -1) {
		switch (c) {
		case 't': opt_threads = (unsigned)atoi(optarg); break;
		case 'n': opt_n = strtoull(optarg, NULL, 0); break;
		case 'r': opt_rounds = (unsigned)atoi(optarg); break;
		case 'e': opt_es = strtoull(optarg, NULL, 0) << 10; break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-t threads] [-n extents_per_thread] "
					"[-r rounds] [-e extent_KiB] [-d dir]\n", argv[0]);
			return 2;
		}
	}
	if (opt_threads < 1 || opt_threads > MAX_T || opt_rounds < 1 || opt_n < 1)
		return fprintf(stderr, "rangelock_scale: bad arguments\n"), 2;
	snprintf(path, sizeof(path), "%s/rangelock_scale.%d.pool", dir && *dir ? dir : "/dev/shm",
		 (int)getpid());
	/* room for the largest run, plus metadata (1% + 8 MiB) and slack */
	pool_size = opt_threads * opt_n * opt_es;
	pool_size += pool_size / 50 + (16 << 20) + 4 * opt_es;
	daxmap_pool_opts_init(&opts);
	opts.extent_size = opt_es;
	opts.prefault = 1;
	unlink(path);
	if ((ret = daxmap_pool_create_opts(&pool, path, pool_size, 0600, &opts)) < 0)
		die("pool create", ret);
	daxmap_pool_stat(pool, &st);
	printf("rangelock_scale: %llu extents of %llu KiB per thread, %u rounds, %llu fault "
	       "threads, pool %s (%s)\n",
	       (unsigned long long)opt_n, (unsigned long long)(opt_es >> 10), opt_rounds,
	       (unsigned long long)st.fault_threads, path, st.is_pmem ? "pmem" : "msync");
	for (unsigned t = 1; t <= opt_threads; t++)
		for (int k = 0; k < 2; k++)
			res[t][k] = calloc(opt_rounds, sizeof(double));
	run_once(pool, 1, 1); /* warm-up */
	for (unsigned r = 0; r < opt_rounds; r++)
		for (unsigned t = 1; t <= opt_threads; t++)
			for (int k = 0; k < 2; k++) {
				int one = (k + r + t) % 2; /* alternate which goes first */
				res[t][one][r] = run_once(pool, t, one);
			}
	printf("%8s %22s %22s %8s\n", "threads", "one object (faults/s)", "T objects (faults/s)",
	       "ratio");
	for (unsigned t = 1; t <= opt_threads; t++) {
		double one = median(res[t][1], opt_rounds), sep = median(res[t][0], opt_rounds);
		printf("%8u %22.0f %22.0f %8.2f%s\n", t, one, sep, one / sep,
		       one / sep >= 0.9 ? "" : "  (below 0.9)");
	}
	if ((ret = daxmap_pool_close(pool)) < 0)
		die("pool close", ret);
	unlink(path);
	return 0;
}
