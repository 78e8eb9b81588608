/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/multiproc: several processes on one pool (doc/PERFORMANCE.md,
 * "Several processes on one pool"), the two targets of issue 18, each beside
 * its reference from the same run:
 *
 *   1. first touch, in process B, of the extents process A allocated (B's
 *      mapping existed before: every touch is a fault that finds the extent
 *      A recorded), per extent, beside a single-process fault on an
 *      allocated extent (map, then daxmap_obj_allocate, then touch), and the
 *      kernel's minor fault on a MAP_SHARED memfd page that exists;
 *   2. a punch of 256 MiB of an object mapped (and touched) by 4 processes,
 *      beside the same punch with 1 process, and fallocate(PUNCH_HOLE) of a
 *      memfd mapped by 4 processes and by 1.
 *
 *   multiproc [--quick] [--reps N] [--dir DIR]
 *
 * Workers are this program again (fork + exec), each opening the pool
 * shared; commands go down a pipe, answers come back up another. Figures
 * are medians of --reps runs (default 5) with [min..max]. This is a
 * benchmark, not a test: it exits 0 once it has run (2 on a setup error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/falloc.h>

#include <libdaxmap.h>

#include "benchutil.h"

#define PAGE ((size_t)4096)
#define EXT ((size_t)2 << 20)
#define MAX_REPS 50
#define MAX_PEERS 3

static const char *prog = "multiproc";
static size_t g_size = (size_t)256 << 20; /* the object */
static int g_reps = 5;
static const char *g_dir = "/dev/shm";
static char g_pool[4096];

struct worker {
	pid_t pid;
	FILE *cmd, *ans;
};

static void check(int ret, const char *what)
{
	if (ret < 0)
		bench_die(prog, what, ret);
}

static daxmap_pool *pool_open(const char *path, int create, int shared)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool;

	daxmap_pool_opts_init(&o);
	o.shared = shared;
	o.prefault = 1; /* pages exist: what is measured is ours, not page allocation */
	if (create)
		check(daxmap_pool_create_opts(&pool, path, 4 * g_size, 0600, &o), "create pool");
	else
		check(daxmap_pool_open_opts(&pool, path, &o), "open pool");
	return pool;
}

/* Waits until freed space is cleared and the warmers had time to work:
 * what is timed is then the faults, not the background threads beside them. */
static void settle(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;

	int i;

	for (i = 0; i < 5000; i++) {
		check(daxmap_pool_stat(pool, &st), "stat");
		if (st.free_unzeroed == 0 && st.free_warm == st.free)
			break;
		usleep(1000);
	}
	if (getenv("MP_DEBUG"))
		fprintf(stderr, "settle %d ms, warm %llu of %llu free\n", i,
			(unsigned long long)st.free_warm >> 20, (unsigned long long)st.free >> 20);
}

static void touch(volatile char *p, size_t len, size_t step)
{
	for (size_t off = 0; off < len; off += step)
		p[off] = 1;
}

/* A worker: opens the pool shared and the object "o", maps it, and then
 * runs commands: 'f' touches one byte per extent and answers the time per
 * extent in ns; 't' touches every page, 'm' maps the object afresh, both
 * answering 0; 'q' quits. */
static int worker_main(const char *path)
{
	daxmap_pool *pool = pool_open(path, 0, 1);
	daxmap_obj *obj;
	void *va;
	int c;

	check(daxmap_obj_open(&obj, pool, "o", 0), "open object");
	check(daxmap_map(&va, obj, 0, g_size, PROT_READ | PROT_WRITE), "map");
	printf("ready\n");
	fflush(stdout);
	while ((c = getchar()) != EOF && c != 'q') {
		double t0;
		settle(pool);
		t0 = bench_now();
		if (c == 'f') {
			touch(va, g_size, EXT);
		} else if (c == 't') {
			touch(va, g_size, PAGE);
		} else if (c == 'm') {
			/* a fresh mapping, as the one process's: the punches of
			 * the reps before left this one in pieces */
			check(daxmap_unmap(va, g_size), "unmap");
			check(daxmap_map(&va, obj, 0, g_size, PROT_READ | PROT_WRITE), "map");
		} else {
			continue;
		}
		printf("%.1f\n", c == 'f' ? (bench_now() - t0) * 1e9 / (double)(g_size / EXT) : 0.0);
		fflush(stdout);
	}
	check(daxmap_unmap(va, g_size), "unmap");
	check(daxmap_obj_close(obj), "close object");
	check(daxmap_pool_close(pool), "close pool");
	return 0;
}

static struct worker worker_start(const char *self)
{
	int down[2], up[2];
	struct worker w;
	char line[64], size[32];

	snprintf(size, sizeof(size), "%zu", g_size);
	if (pipe(down) < 0 || pipe(up) < 0)
		bench_die(prog, "pipe", errno);
	if ((w.pid = fork()) < 0)
		bench_die(prog, "fork", errno);
	if (w.pid == 0) {
		dup2(down[0], 0);
		dup2(up[1], 1);
		close(down[1]);
		close(up[0]);
		execl(self, self, "--worker", g_pool, size, (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	w.cmd = fdopen(down[1], "w");
	w.ans = fdopen(up[0], "r");
	if (!fgets(line, sizeof(line), w.ans) || strcmp(line, "ready\n"))
		bench_die(prog, "worker did not start", EIO);
	return w;
}

static double worker_do(struct worker *w, int c)
{
	char line[64];

	fputc(c, w->cmd);
	fflush(w->cmd);
	if (!fgets(line, sizeof(line), w->ans))
		bench_die(prog, "worker answer", EIO);
	return atof(line);
}

static void worker_stop(struct worker *w)
{
	int st;

	fputc('q', w->cmd);
	fclose(w->cmd);
	fclose(w->ans);
	waitpid(w->pid, &st, 0);
}

static void report(const char *what, double *v, int n, const char *unit)
{
	double lo, hi, med;

	qsort(v, (size_t)n, sizeof(*v), bench_dcmp);
	lo = v[0];
	hi = v[n - 1];
	med = v[n / 2];
	printf("  %-58s %9.1f %s [%.1f..%.1f]\n", what, med, unit, lo, hi);
}

/* 1: first touch in B of what A allocated, beside a single process's. */
static void bench_first_touch(const char *self)
{
	double ours[MAX_REPS], single[MAX_REPS], kern[MAX_REPS];
	daxmap_pool *pool;
	daxmap_obj *obj;
	struct worker b;
	void *va;

	printf("first touch of an allocated extent (%zu extents of 2 MiB, ns per extent):\n",
	       g_size / EXT);
	snprintf(g_pool, sizeof(g_pool), "%s/multiproc-%d.pool", g_dir, (int)getpid());
	unlink(g_pool);
	pool = pool_open(g_pool, 1, 1);
	check(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE), "create object");
	check(daxmap_obj_truncate(obj, g_size), "truncate");
	b = worker_start(self);
	for (int r = 0; r < g_reps; r++) {
		worker_do(&b, 'm'); /* B maps the object while it is a hole */
		settle(pool);
		check(daxmap_obj_allocate(obj, 0, g_size), "allocate");
		settle(pool);
		ours[r] = worker_do(&b, 'f');
		check(daxmap_obj_punch_hole(obj, 0, g_size), "punch");
	}
	worker_stop(&b);
	check(daxmap_obj_close(obj), "close object");
	check(daxmap_pool_close(pool), "close pool");
	unlink(g_pool);
	/* one process, a pool not shared: its own mapping made before the allocation */
	pool = pool_open(g_pool, 1, getenv("MP_SINGLE_SHARED") != NULL);
	check(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE), "create object");
	check(daxmap_obj_truncate(obj, g_size), "truncate");
	for (int r = 0; r < g_reps; r++) {
		check(daxmap_map(&va, obj, 0, g_size, PROT_READ | PROT_WRITE), "map");
		check(daxmap_obj_allocate(obj, 0, g_size), "allocate");
		settle(pool);
		double t0 = bench_now();
		touch(va, g_size, EXT);
		single[r] = (bench_now() - t0) * 1e9 / (double)(g_size / EXT);
		check(daxmap_unmap(va, g_size), "unmap");
		check(daxmap_obj_punch_hole(obj, 0, g_size), "punch");
	}
	check(daxmap_obj_close(obj), "close object");
	check(daxmap_pool_close(pool), "close pool");
	unlink(g_pool);
	/* the kernel: a minor fault on a MAP_SHARED memfd page that exists */
	for (int r = 0; r < g_reps; r++) {
		int fd = memfd_create("multiproc", MFD_CLOEXEC);
		char *m;
		if (fd < 0 || ftruncate(fd, (off_t)g_size) < 0 ||
		    fallocate(fd, 0, 0, (off_t)g_size) < 0)
			bench_die(prog, "memfd", errno);
		m = mmap(NULL, g_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			bench_die(prog, "mmap", errno);
		double t0 = bench_now();
		touch(m, g_size, PAGE);
		kern[r] = (bench_now() - t0) * 1e9 / (double)(g_size / PAGE);
		munmap(m, g_size);
		close(fd);
	}
	double o_med, s_med;
	report("process B, extents process A allocated", ours, g_reps, "ns");
	o_med = ours[g_reps / 2];
	report("one process (not shared), extents allocated after mapping", single, g_reps, "ns");
	s_med = single[g_reps / 2];
	report("kernel: minor fault on an existing memfd page (per 4 KiB)", kern, g_reps, "ns");
	printf("  ratio B / one process: %.2fx (target <= 1.00x)\n", o_med / s_med);
}

/* 2: punch of the whole object mapped by 1 + npeers processes. */
static double punch_ours(const char *self, int npeers)
{
	double t[MAX_REPS];
	struct worker w[MAX_PEERS];
	daxmap_pool *pool;
	daxmap_obj *obj;
	void *va;

	snprintf(g_pool, sizeof(g_pool), "%s/multiproc-%d.pool", g_dir, (int)getpid());
	unlink(g_pool);
	pool = pool_open(g_pool, 1, 1);
	check(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE), "create object");
	check(daxmap_obj_truncate(obj, g_size), "truncate");
	check(daxmap_map(&va, obj, 0, g_size, PROT_READ | PROT_WRITE), "map");
	for (int k = 0; k < npeers; k++)
		w[k] = worker_start(self);
	for (int r = 0; r < g_reps; r++) {
		touch(va, g_size, PAGE);
		for (int k = 0; k < npeers; k++)
			worker_do(&w[k], 't');
		double t0 = bench_now();
		check(daxmap_obj_punch_hole(obj, 0, g_size), "punch");
		t[r] = (bench_now() - t0) * 1e3;
	}
	for (int k = 0; k < npeers; k++)
		worker_stop(&w[k]);
	check(daxmap_unmap(va, g_size), "unmap");
	check(daxmap_obj_close(obj), "close object");
	check(daxmap_pool_close(pool), "close pool");
	unlink(g_pool);
	char what[96];
	snprintf(what, sizeof(what), "libdaxmap, object mapped by %d process%s", npeers + 1,
		 npeers ? "es" : "");
	report(what, t, g_reps, "ms");
	return t[g_reps / 2];
}

static double punch_kernel(int nproc)
{
	double t[MAX_REPS];

	for (int r = 0; r < g_reps; r++) {
		int fd = memfd_create("multiproc", MFD_CLOEXEC), go[2], done[2];
		pid_t pids[MAX_PEERS];
		char *m, c;
		if (fd < 0 || ftruncate(fd, (off_t)g_size) < 0 || pipe(go) < 0 || pipe(done) < 0)
			bench_die(prog, "memfd", errno);
		m = mmap(NULL, g_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			bench_die(prog, "mmap", errno);
		touch(m, g_size, PAGE);
		for (int k = 0; k < nproc - 1; k++) {
			if ((pids[k] = fork()) == 0) {
				touch(m, g_size, PAGE); /* its own page tables over every page */
				if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
					_exit(1);
				_exit(0);
			}
			if (read(done[0], &c, 1) != 1)
				bench_die(prog, "child", EIO);
		}
		double t0 = bench_now();
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)g_size) < 0)
			bench_die(prog, "punch", errno);
		t[r] = (bench_now() - t0) * 1e3;
		for (int k = 0; k < nproc - 1; k++) {
			int st;
			if (write(go[1], "g", 1) != 1)
				bench_die(prog, "child", EIO);
			waitpid(pids[k], &st, 0);
		}
		munmap(m, g_size);
		close(fd);
		close(go[0]);
		close(go[1]);
		close(done[0]);
		close(done[1]);
	}
	char what[96];
	snprintf(what, sizeof(what), "kernel: memfd mapped by %d process%s", nproc,
		 nproc > 1 ? "es" : "");
	report(what, t, g_reps, "ms");
	return t[g_reps / 2];
}

static void bench_punch(const char *self)
{
	double one, four, k1, k4;

	printf("punch of a %zu MiB object, every page mapped in each process (ms):\n",
	       g_size >> 20);
	one = punch_ours(self, 0);
	four = punch_ours(self, MAX_PEERS);
	k1 = punch_kernel(1);
	k4 = punch_kernel(MAX_PEERS + 1);
	printf("  ratio 4 processes / 1: libdaxmap %.2fx (target <= 2.00x), kernel %.2fx\n",
	       four / one, k4 / k1);
}

int main(int argc, char **argv)
{
	const char *self = "/proc/self/exe";
	char exe[4096];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--worker") && i + 2 < argc) {
			g_size = strtoull(argv[i + 2], NULL, 10); /* the parent's */
			return worker_main(argv[i + 1]);
		} else if (!strcmp(argv[i], "--quick")) {
			g_reps = 3;
			g_size = (size_t)64 << 20;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			g_reps = atoi(argv[++i]);
			if (g_reps < 1 || g_reps > MAX_REPS)
				bench_die(prog, "--reps: 1 to 50", EINVAL);
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			g_dir = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--quick] [--reps N] [--dir DIR]\n", argv[0]);
			return 2;
		}
	}
	/* workers are exec'd by path: /proc/self/exe of the child is the same file */
	if ((n = readlink(self, exe, sizeof(exe) - 1)) > 0) {
		exe[n] = 0;
		self = exe;
	}
	printf("multiproc: %zu MiB object, %d reps, pools in %s\n", g_size >> 20, g_reps, g_dir);
	bench_first_touch(self);
	bench_punch(self);
	return 0;
}
