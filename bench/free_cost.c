/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/free_cost: what freeing space costs, on a disk file system by
 * default (where the old way wrote and msynced 2 MiB of zeros per extent),
 * beside the kernel doing the same job (fallocate PUNCH_HOLE of a file of
 * the same size on the same file system), in one run (doc/PERFORMANCE.md).
 *
 *   free_cost [--dir DIR] [--size MiB] [--reps N]
 *
 * Per rep: a fresh pool in DIR with one object of SIZE written and made
 * durable; then the object is punched whole and the time is taken until the
 * zeroer has made every freed extent reusable (free_unzeroed == 0), and the
 * bytes the process wrote to storage meanwhile (/proc/self/io write_bytes).
 * The baseline: a SIZE file written and fsynced, then punched whole and
 * fdatasynced. Medians of N reps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdaxmap.h>

#include "benchutil.h"

static long long io_written(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "write_bytes: %lld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
	fprintf(stderr, "free_cost: %s: %s (%s)\n", what, daxmap_errormsg(), strerror(errno));
	exit(1);
}

/* Seconds from the punch to every freed extent being reusable; *written: bytes to storage. */
static double ours(const char *dir, uint64_t size, long long *written, int *detaches)
{
	char path[4096];
	daxmap_pool *pool;
	daxmap_obj *obj;
	struct daxmap_pool_stat st;
	void *p;
	double t0, t;
	long long w0;

	snprintf(path, sizeof(path), "%s/free_cost.%d.pool", dir, (int)getpid());
	unlink(path);
	if (daxmap_pool_create(&pool, path, size + size / 5 + (UINT64_C(16) << 20), 0600) < 0 ||
	    daxmap_obj_open(&obj, pool, "x", DAXMAP_CREATE) < 0 ||
	    daxmap_obj_truncate(obj, size) < 0 ||
	    daxmap_map(&p, obj, 0, size, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE) < 0)
		die("setup");
	memset(p, 0xa5, size);
	if (daxmap_persist(p, size) < 0)
		die("persist");
	do {
		usleep(1000);
		daxmap_pool_stat(pool, &st);
	} while (st.free_unzeroed);
	w0 = io_written();
	t0 = bench_now();
	if (daxmap_obj_punch_hole(obj, 0, size) < 0)
		die("punch");
	do {
		daxmap_pool_stat(pool, &st);
	} while (st.free_unzeroed && (usleep(200), 1));
	t = bench_now() - t0;
	*written = io_written() - w0;
#ifdef DAXMAP_WARM_OFF
	*detaches = st.free_detaches;
#else
	*detaches = 0; /* a library from before freed extents left the file */
#endif
	if (daxmap_unmap(p, size) < 0 || daxmap_obj_close(obj) < 0 || daxmap_pool_close(pool) < 0)
		die("teardown");
	unlink(path);
	return t;
}

static double kernel(const char *dir, uint64_t size, long long *written)
{
	char path[4096];
	static char buf[1 << 20];
	double t0, t;
	long long w0;
	int fd;

	snprintf(path, sizeof(path), "%s/free_cost.%d.file", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t off = 0; off < size; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
			die("write");
	if (fsync(fd) < 0)
		die("fsync");
	w0 = io_written();
	t0 = bench_now();
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size) < 0 ||
	    fdatasync(fd) < 0)
		die("punch");
	t = bench_now() - t0;
	*written = io_written() - w0;
	close(fd);
	unlink(path);
	return t;
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp";
	uint64_t mib = 1024;
	int reps = 3, detaches = 0;
	double o[50], k[50];
	long long ow = 0, kw = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			mib = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: free_cost [--dir DIR] [--size MiB] [--reps N]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > 50 || mib < 16) {
		fprintf(stderr, "free_cost: --reps 1..50, --size at least 16\n");
		return 2;
	}
	printf("# free_cost: libdaxmap %s, %llu MiB freed in %s, median of %d reps\n",
	       daxmap_version(), (unsigned long long)mib, dir, reps);
	for (int r = 0; r < reps; r++) {
		long long w;
		k[r] = kernel(dir, mib << 20, &w);
		kw += w;
		o[r] = ours(dir, mib << 20, &w, &detaches);
		ow += w;
	}
	double km = bench_median(k, reps), om = bench_median(o, reps);
	printf("  kernel: punch + fdatasync of a file           %8.1f ms   %6.1f MiB written\n",
	       km * 1e3, (double)kw / reps / 1048576);
	printf("  libdaxmap: punch until reusable (detaches %d)  %8.1f ms   %6.1f MiB written   "
	       "ratio %.2fx the kernel's time\n",
	       detaches, om * 1e3, (double)ow / reps / 1048576, om / km);
	return 0;
}
