/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/truncate_punch: what truncate, punch hole and zero range of a fully
 * mapped and written libdaxmap object cost, and what faulting it back in
 * costs, beside the kernel doing the same to a MAP_SHARED memfd of the same
 * size, all in one run (doc/PERFORMANCE.md, "Truncate, punch hole, zero
 * range").
 *
 *   truncate_punch [--quick] [--reps N] [--dir DIR]
 *
 * Every case starts from fresh memory: a new pool (prefaulted, in DIR,
 * default /dev/shm) with one object of the region size mapped read-write
 * and one byte written per 4 KiB page; or a new memfd of the same size,
 * mapped MAP_SHARED and written the same way, and left mapped while it is
 * truncated or punched. Setup is not timed; each figure is the median of
 * --reps runs (default 3) with [min..max] beside it. Reps are taken round
 * robin (every case once, then again) after a warm-up, as in first_touch.
 *
 * Ratios are ours / kernel of the time per operation: below 1 means
 * libdaxmap is faster, above 1 means it is slower.
 *
 * This is a benchmark, not a test: it exits 0 once it has run (2 on a setup
 * error) and prints a warning when a result looks wrong (pool space not
 * freed, bytes not zero).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/falloc.h>

#include <libdaxmap.h>

#include "benchutil.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

#define PAGE ((size_t)4096)
#define EXT ((size_t)2 << 20)
#define GIB ((double)(1u << 30))
#define MAX_REPS 50
#define NPUNCH_MAX 256

static size_t g_size = (size_t)1 << 30; /* bytes of each region */
static size_t g_npages;
static int g_reps = 3;
static const char *g_dir = "/dev/shm";
static char g_cur_path[4096];          /* pool to delete on a signal */
static size_t g_punch[NPUNCH_MAX];     /* extent indices of the random punches */
static int g_npunch;
static int g_zero_range_ok;            /* the memfd supports FALLOC_FL_ZERO_RANGE */
static int g_zero_range_errno;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void cleanup(void)
{
	if (g_cur_path[0])
		unlink(g_cur_path);
	g_cur_path[0] = 0;
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "truncate_punch: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	cleanup();
	exit(2);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("  WARNING: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* Median, min and max of n figures (sorts a copy). */
struct stat3 {
	double med, min, max;
};

static struct stat3 summarize(const double *in, int n)
{
	double v[MAX_REPS];
	struct stat3 s;

	memcpy(v, in, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), bench_dcmp);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* Number of VMAs overlapping [va, va+len) in /proc/self/maps. */
static int vma_count(const char *va, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t lo = (uintptr_t)va, hi = lo + len;
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < hi && e > lo)
			n++;
	}
	fclose(f);
	return n;
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	if (!buf[0])
		snprintf(buf, len, "?");
}

/* One byte written per 4 KiB page, sequentially; returns seconds. */
static double touch_all(char *base)
{
	volatile char *b = (volatile char *)base;
	double t0 = bench_now();

	for (size_t i = 0; i < g_npages; i++)
		b[i * PAGE] = 1;
	return bench_now() - t0;
}

/* 1 if every sampled byte (one per page) of [p, p+len) reads zero. */
static int reads_zero(const char *p, size_t len)
{
	const volatile char *b = (const volatile char *)p;

	for (size_t i = 0; i < len; i += PAGE)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* Touch and free a few GiB: this VM gives freed memory back to the host
 * (virtio-balloon free page reporting), and the first use of such memory is
 * slow; whatever is used again soon after is not reported back. */
static void warm_up(void)
{
	size_t len = 3 * g_size + (size_t)(1u << 30);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	for (size_t i = 0; i < len; i += PAGE)
		p[i] = 1;
	munmap(p, len);
}

/* ------------------------------------------------------------------ */
/* The kernel: a MAP_SHARED memfd, written through its mapping        */

struct kern {
	int fd;
	char *va;
};

static void kern_open(struct kern *k)
{
	k->fd = memfd_create("truncate_punch", MFD_CLOEXEC);
	if (k->fd < 0 || ftruncate(k->fd, (off_t)g_size) < 0)
		die("memfd: %s", strerror(errno));
	k->va = mmap(NULL, g_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
	if (k->va == MAP_FAILED)
		die("mmap memfd: %s", strerror(errno));
	touch_all(k->va);
}

static void kern_close(struct kern *k)
{
	munmap(k->va, g_size);
	close(k->fd);
}

static void kern_punch(struct kern *k, size_t off, size_t len)
{
	if (fallocate(k->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		die("fallocate(PUNCH_HOLE) of the memfd: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* libdaxmap: a prefaulted pool, one object mapped and written whole   */

static uint64_t pool_size_for(size_t obj_bytes)
{
	uint64_t s = (uint64_t)obj_bytes + obj_bytes / 5 + (16u << 20);
	return (s + EXT - 1) & ~(uint64_t)(EXT - 1);
}

struct ours {
	daxmap_pool *pool;
	daxmap_obj *obj;
	char *va;
};

static void ours_open(struct ours *o)
{
	struct daxmap_pool_opts opts;
	void *va;

	snprintf(g_cur_path, sizeof(g_cur_path), "%s/truncate_punch.%d.pool", g_dir, (int)getpid());
	unlink(g_cur_path);
	daxmap_pool_opts_init(&opts);
	opts.prefault = 1;
	if (daxmap_pool_create_opts(&o->pool, g_cur_path, pool_size_for(g_size), 0600, &opts) < 0)
		die("daxmap_pool_create_opts(%s): %s", g_cur_path, daxmap_errormsg());
	if (daxmap_obj_open(&o->obj, o->pool, "bench", DAXMAP_CREATE) < 0 ||
	    daxmap_obj_truncate(o->obj, g_size) < 0)
		die("object: %s", daxmap_errormsg());
	if (daxmap_map(&va, o->obj, 0, g_size, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE) < 0)
		die("daxmap_map: %s", daxmap_errormsg());
	o->va = va;
	touch_all(o->va);
}

static void ours_close(struct ours *o)
{
	if (daxmap_unmap(o->va, g_size) < 0 || daxmap_obj_close(o->obj) < 0 ||
	    daxmap_pool_close(o->pool) < 0)
		die("teardown: %s", daxmap_errormsg());
	unlink(g_cur_path);
	g_cur_path[0] = 0;
}

static void ours_stat(struct ours *o, struct daxmap_pool_stat *st)
{
	if (daxmap_pool_stat(o->pool, st) < 0)
		die("daxmap_pool_stat: %s", daxmap_errormsg());
}

/* Seconds until the zeroer has zeroed every free extent (polls every 1 ms). */
static double ours_wait_zeroed(struct ours *o)
{
	struct daxmap_pool_stat st;
	double t0 = bench_now();

	for (;;) {
		ours_stat(o, &st);
		if (st.free_unzeroed == 0)
			return bench_now() - t0;
		if (bench_now() - t0 > 60)
			die("the zeroer did not finish in 60 s (free_unzeroed %llu)",
			    (unsigned long long)st.free_unzeroed);
		usleep(1000);
	}
}

/* ------------------------------------------------------------------ */
/* The cases                                                          */

enum { TRUNC, PUNCH, PUNCH_RAND, REFAULT, REFAULT_ZEROED, ZERO, NCASES };

static const char *const case_name[NCASES] = {
	"(1) shrink to 0",
	"(2) punch hole, whole region",
	"(3) punch 2 MiB ranges at random",
	"(4a) refault after (2), at once",
	"(4b) refault after (2), zeroer done",
	"(5) zero range, whole region",
};

static double g_kern[NCASES][MAX_REPS], g_ours[NCASES][MAX_REPS]; /* seconds */
static double g_kern_memset[MAX_REPS];  /* (5) fallback: memset of the memfd mapping */
static double g_zeroer_s[MAX_REPS];     /* (4b) wait for free_unzeroed == 0 after a punch */
static double g_punch_zeroed_s[MAX_REPS]; /* (4b) that punch until free_unzeroed == 0 */
static int g_vma[NCASES][MAX_REPS];     /* our mapping's VMAs after the case */
static int g_vma_setup[MAX_REPS];       /* ... after the setup's writes */
static uint64_t g_zf[NCASES][MAX_REPS]; /* bytes_zeroed_fault during the case */
static uint64_t g_used_after[NCASES];   /* pool used after the case (last rep) */

static void case_truncate(int r)
{
	struct kern k;
	struct ours o;
	struct daxmap_pool_stat st;
	double t0;

	kern_open(&k);
	t0 = bench_now();
	if (ftruncate(k.fd, 0) < 0)
		die("ftruncate(memfd, 0): %s", strerror(errno));
	g_kern[TRUNC][r] = bench_now() - t0;
	kern_close(&k);

	ours_open(&o);
	g_vma_setup[r] = vma_count(o.va, g_size);
	t0 = bench_now();
	if (daxmap_obj_truncate(o.obj, 0) < 0)
		die("daxmap_obj_truncate: %s", daxmap_errormsg());
	g_ours[TRUNC][r] = bench_now() - t0;
	g_vma[TRUNC][r] = vma_count(o.va, g_size);
	ours_stat(&o, &st);
	g_used_after[TRUNC] = st.used;
	ours_close(&o);
}

/* (2), then (4a) at once, then punch again, wait for the zeroer, (4b) */
static void case_punch_refault(int r)
{
	struct kern k;
	struct ours o;
	struct daxmap_pool_stat st0, st1;
	double t0;

	kern_open(&k);
	t0 = bench_now();
	kern_punch(&k, 0, g_size);
	g_kern[PUNCH][r] = bench_now() - t0;
	g_kern[REFAULT][r] = touch_all(k.va);
	/* the kernel has no background work to wait for: the same again */
	kern_punch(&k, 0, g_size);
	g_kern[REFAULT_ZEROED][r] = touch_all(k.va);
	kern_close(&k);

	ours_open(&o);
	t0 = bench_now();
	if (daxmap_obj_punch_hole(o.obj, 0, g_size) < 0)
		die("daxmap_obj_punch_hole: %s", daxmap_errormsg());
	g_ours[PUNCH][r] = bench_now() - t0;
	g_vma[PUNCH][r] = vma_count(o.va, g_size);
	ours_stat(&o, &st0);
	g_used_after[PUNCH] = st0.used;
	if (!reads_zero(o.va, g_size))
		warn("punched region does not read zero");

	g_ours[REFAULT][r] = touch_all(o.va);
	ours_stat(&o, &st1);
	g_vma[REFAULT][r] = vma_count(o.va, g_size);
	g_zf[REFAULT][r] = st1.bytes_zeroed_fault - st0.bytes_zeroed_fault;
	g_used_after[REFAULT] = st1.used;

	t0 = bench_now();
	if (daxmap_obj_punch_hole(o.obj, 0, g_size) < 0)
		die("daxmap_obj_punch_hole: %s", daxmap_errormsg());
	g_zeroer_s[r] = ours_wait_zeroed(&o);
	g_punch_zeroed_s[r] = bench_now() - t0;
	ours_stat(&o, &st0);
	g_ours[REFAULT_ZEROED][r] = touch_all(o.va);
	ours_stat(&o, &st1);
	g_vma[REFAULT_ZEROED][r] = vma_count(o.va, g_size);
	g_zf[REFAULT_ZEROED][r] = st1.bytes_zeroed_fault - st0.bytes_zeroed_fault;
	g_used_after[REFAULT_ZEROED] = st1.used;
	ours_close(&o);
}

static void case_punch_random(int r)
{
	struct kern k;
	struct ours o;
	struct daxmap_pool_stat st;
	double t0;

	kern_open(&k);
	t0 = bench_now();
	for (int i = 0; i < g_npunch; i++)
		kern_punch(&k, g_punch[i] * EXT, EXT);
	g_kern[PUNCH_RAND][r] = bench_now() - t0;
	kern_close(&k);

	ours_open(&o);
	t0 = bench_now();
	for (int i = 0; i < g_npunch; i++)
		if (daxmap_obj_punch_hole(o.obj, g_punch[i] * EXT, EXT) < 0)
			die("daxmap_obj_punch_hole: %s", daxmap_errormsg());
	g_ours[PUNCH_RAND][r] = bench_now() - t0;
	g_vma[PUNCH_RAND][r] = vma_count(o.va, g_size);
	ours_stat(&o, &st);
	g_used_after[PUNCH_RAND] = st.used;
	ours_close(&o);
}

static void case_zero(int r)
{
	struct kern k;
	struct ours o;
	struct daxmap_pool_stat st;
	double t0;

	kern_open(&k);
	if (g_zero_range_ok) {
		t0 = bench_now();
		if (fallocate(k.fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, (off_t)g_size) < 0)
			die("fallocate(ZERO_RANGE) of the memfd: %s", strerror(errno));
		g_kern[ZERO][r] = bench_now() - t0;
	} else {
		/* tmpfs has no ZERO_RANGE: the kernel's ways to make it read
		 * zero are punching (frees, the (2) figure) or zeroing in
		 * place through the mapping (stays allocated, as ours) */
		g_kern[ZERO][r] = 0;
	}
	t0 = bench_now();
	memset(k.va, 0, g_size);
	g_kern_memset[r] = bench_now() - t0;
	kern_close(&k);

	ours_open(&o);
	t0 = bench_now();
	if (daxmap_obj_zero_range(o.obj, 0, g_size) < 0)
		die("daxmap_obj_zero_range: %s", daxmap_errormsg());
	g_ours[ZERO][r] = bench_now() - t0;
	g_vma[ZERO][r] = vma_count(o.va, g_size);
	ours_stat(&o, &st);
	g_used_after[ZERO] = st.used;
	if (!reads_zero(o.va, g_size))
		warn("zeroed range does not read zero");
	ours_close(&o);
}

/* ------------------------------------------------------------------ */

static void probe_zero_range(void)
{
	int fd = memfd_create("truncate_punch_probe", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)EXT) < 0)
		die("memfd: %s", strerror(errno));
	g_zero_range_ok = fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0,
				    (off_t)EXT) == 0;
	g_zero_range_errno = g_zero_range_ok ? 0 : errno;
	close(fd);
}

/* distinct extent indices, a fixed pseudo-random choice */
static void make_punch_list(void)
{
	size_t n = g_size / EXT, *all = malloc(n * sizeof(*all));
	uint64_t x = 0x9e3779b97f4a7c15ull;

	if (!all)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		all[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(bench_rnd(&x) % (i + 1)), tmp = all[i];
		all[i] = all[j];
		all[j] = tmp;
	}
	g_npunch = (int)(n / 2 < NPUNCH_MAX ? n / 2 : NPUNCH_MAX);
	memcpy(g_punch, all, (size_t)g_npunch * sizeof(*all));
	free(all);
}

static void usage(void)
{
	fprintf(stderr, "usage: truncate_punch [--quick] [--reps N] [--dir DIR]\n"
			"  --quick      256 MiB regions instead of 1 GiB (64 random punches)\n"
			"  --reps N     repeat each figure N times, report the median (default 3)\n"
			"  --dir DIR    directory of the pools (default /dev/shm)\n");
	exit(2);
}

static void print_ms(const char *who, struct stat3 s, double bytes)
{
	char range[48];

	snprintf(range, sizeof(range), "[%.1f..%.1f]", s.min * 1e3, s.max * 1e3);
	printf("  %-46s %9.1f %-17s", who, s.med * 1e3, range);
	if (bytes > 0)
		printf(" %7.2f GiB/s", bytes / GIB / s.med);
	else
		printf(" %13s", "");
}

static void print_ints(const char *what, const int *v)
{
	printf("%s", what);
	for (int r = 0; r < g_reps; r++)
		printf("%s%d", r ? "/" : " ", v[r]);
}

static void print_mib(const char *what, const uint64_t *v)
{
	printf("%s", what);
	for (int r = 0; r < g_reps; r++)
		printf("%s%llu", r ? "/" : " ", (unsigned long long)(v[r] >> 20));
	printf(" MiB");
}

int main(int argc, char **argv)
{
	struct utsname un;
	char thp_shmem[128];
	struct stat3 k, o;
	double ratio[NCASES];
	double rand_bytes;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			g_size = (size_t)256 << 20;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			g_reps = atoi(argv[++i]);
			if (g_reps < 1 || g_reps > MAX_REPS)
				usage();
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			g_dir = argv[++i];
		} else {
			usage();
		}
	}
	g_npages = g_size / PAGE;
	setvbuf(stdout, NULL, _IOLBF, 0);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	make_punch_list();
	probe_zero_range();
	rand_bytes = (double)g_npunch * (double)EXT;

	uname(&un);
	read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", thp_shmem,
		  sizeof(thp_shmem));
	printf("# truncate_punch: libdaxmap %s, %zu MiB regions written one byte per 4 KiB page, "
	       "median of %d reps [min..max]\n",
	       daxmap_version(), g_size >> 20, g_reps);
	printf("# machine: %ld CPUs online, Linux %s, euid %d; THP shmem_enabled: %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), un.release, (int)geteuid(), thp_shmem);
	printf("# ours: pool in %s (prefaulted, %llu MiB), object mapped read-write whole; "
	       "kernel: memfd MAP_SHARED, left mapped\n",
	       g_dir, (unsigned long long)(pool_size_for(g_size) >> 20));
	printf("# times in ms per operation (setup excluded); ratio = ours / kernel time: "
	       "< 1 ours faster, > 1 ours slower\n");

	warm_up();
	for (int r = 0; r < g_reps; r++) {
		fprintf(stderr, "truncate_punch: rep %d/%d\n", r + 1, g_reps);
		if (r > 0)
			warm_up();
		case_truncate(r);
		case_punch_refault(r);
		case_punch_random(r);
		case_zero(r);
	}

	printf("\n%-48s %9s %-17s %13s\n", "", "ms", "[min..max]", "");
	for (int c = 0; c < NCASES; c++) {
		double bytes = c == PUNCH_RAND ? rand_bytes : (double)g_size;
		const char *kname, *oname;

		switch (c) {
		case TRUNC:
			printf("== (1) shrink to 0 of a fully written %zu MiB object ==\n",
			       g_size >> 20);
			kname = "kernel: ftruncate(memfd, 0)";
			oname = "libdaxmap: daxmap_obj_truncate(obj, 0)";
			break;
		case PUNCH:
			printf("== (2) punch hole of the whole %zu MiB ==\n", g_size >> 20);
			kname = "kernel: fallocate(PUNCH_HOLE|KEEP_SIZE)";
			oname = "libdaxmap: daxmap_obj_punch_hole";
			break;
		case PUNCH_RAND:
			printf("== (3) punch of %d random 2 MiB-aligned 2 MiB ranges, one call each "
			       "(total) ==\n", g_npunch);
			kname = "kernel: fallocate(PUNCH_HOLE|KEEP_SIZE) x N";
			oname = "libdaxmap: daxmap_obj_punch_hole x N";
			break;
		case REFAULT:
			printf("== (4) refault after (2): one byte written per 4 KiB page ==\n");
			kname = "kernel: memfd first touch after punch";
			oname = "libdaxmap: at once after the punch";
			break;
		case REFAULT_ZEROED:
			kname = "kernel: same, second time";
			oname = "libdaxmap: after free_unzeroed == 0";
			break;
		default:
			printf("== (5) zero range of the whole %zu MiB ==\n", g_size >> 20);
			kname = "kernel: fallocate(ZERO_RANGE|KEEP_SIZE)";
			oname = "libdaxmap: daxmap_obj_zero_range";
			break;
		}
		o = summarize(g_ours[c], g_reps);
		if (c == ZERO && !g_zero_range_ok) {
			printf("  %s: %s here (tmpfs); baselines instead:\n", kname,
			       strerror(g_zero_range_errno));
			k = summarize(g_kern_memset, g_reps);
			print_ms("kernel: memset(memfd mapping, 0) in place", k, bytes);
			printf("\n");
			print_ms("kernel: fallocate(PUNCH_HOLE), from (2)", summarize(g_kern[PUNCH], g_reps),
				 bytes);
			printf("\n");
		} else {
			k = summarize(g_kern[c], g_reps);
			print_ms(kname, k, bytes);
			printf("\n");
		}
		ratio[c] = o.med / k.med;
		print_ms(oname, o, bytes);
		printf(" ratio %.2fx\n", ratio[c]);
		if (c == PUNCH) {
			struct stat3 z = summarize(g_punch_zeroed_s, g_reps);
			print_ms("libdaxmap: punch + zeroer done (see (4b))", z, bytes);
			printf(" ratio %.2fx\n", z.med / k.med);
		}
		if (c == PUNCH_RAND)
			printf("  per call: kernel %.1f us, libdaxmap %.1f us\n",
			       k.med * 1e6 / g_npunch, o.med * 1e6 / g_npunch);
		print_ints("  VMAs of our mapping after it (per rep):", g_vma[c]);
		if (c == TRUNC)
			print_ints(" (after the setup's writes:", g_vma_setup), printf(")");
		printf("; pool used after it %llu MiB", (unsigned long long)(g_used_after[c] >> 20));
		if (c == REFAULT || c == REFAULT_ZEROED)
			print_mib("; bytes_zeroed_fault", g_zf[c]);
		printf("\n");
		if (c == REFAULT_ZEROED) {
			struct stat3 z = summarize(g_zeroer_s, g_reps);
			printf("  background zeroer: free_unzeroed reached 0 %.1f ms [%.1f..%.1f] after "
			       "the punch returned (%.2f GiB/s)\n",
			       z.med * 1e3, z.min * 1e3, z.max * 1e3, (double)g_size / GIB / z.med);
		}
	}

	printf("\n== Summary: ratio ours / kernel time per operation (< 1: ours faster) ==\n");
	for (int c = 0; c < NCASES; c++)
		printf("  %-40s %6.2fx%s\n", case_name[c], ratio[c],
		       c == ZERO && !g_zero_range_ok ? "  (kernel: memset in place; no ZERO_RANGE)"
						     : "");
	if (g_used_after[TRUNC] || g_used_after[PUNCH])
		warn("pool space not freed: used %llu after truncate, %llu after punch",
		     (unsigned long long)g_used_after[TRUNC], (unsigned long long)g_used_after[PUNCH]);
	if (g_used_after[PUNCH_RAND] != g_size - (size_t)rand_bytes)
		warn("pool used %llu after the random punches, expected %llu",
		     (unsigned long long)g_used_after[PUNCH_RAND],
		     (unsigned long long)(g_size - (size_t)rand_bytes));
	if (g_used_after[ZERO] != g_size)
		warn("zero range changed the allocation: used %llu", (unsigned long long)g_used_after[ZERO]);
	cleanup();
	return 0;
}
