/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/first_touch: what a first touch of libdaxmap memory costs, beside
 * the kernel doing the same job, all in one run (doc/PERFORMANCE.md).
 *
 *   first_touch [--quick] [--reps N] [--dir DIR] [--huge-dir DIR]
 *
 * Every throughput figure is one byte written (or read) per 4 KiB page of a
 * fresh region, timed from the first to the last store (setup and teardown
 * excluded), repeated --reps times (default 3) on fresh memory; the median is
 * reported, with the min..max range beside it. Ratios are to the median of
 * the kernel's MAP_SHARED memfd sequential first touch of the same run.
 *
 * 2 threads: extents are interleaved between the threads (thread t writes
 * the pages of extents e with e % 2 == t, in the same sequential or random
 * page order as the 1-thread case).
 *
 * This is a benchmark, not a test: it always exits 0 once it has run, and
 * prints MET/MISSED for each target of the issue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libdaxmap.h>

#include "benchutil.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

#define PAGE ((size_t)4096)
#define EXT ((size_t)2 << 20)
#define GIB ((double)(1u << 30))
#define MAX_REPS 50

static size_t g_size = (size_t)1 << 30; /* bytes of each region */
static size_t g_npages;
static int g_reps = 3;
static const char *g_dir = "/dev/shm";
static const char *g_huge_dir;
static char g_mount_dir[64];     /* non-empty: we mounted it, unmount at exit */
static char g_cur_path[4096];    /* pool or file to delete on a signal */
static uint32_t *g_perm;         /* random page order */
static int g_lat_samples = 200;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void warm_up(void);

static void cleanup(void)
{
	if (g_cur_path[0])
		unlink(g_cur_path);
	g_cur_path[0] = 0;
	if (g_mount_dir[0]) {
		if (umount2(g_mount_dir, MNT_DETACH) == 0)
			rmdir(g_mount_dir);
		else
			fprintf(stderr, "first_touch: cannot unmount %s: %s\n", g_mount_dir,
				strerror(errno));
		g_mount_dir[0] = 0;
	}
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
	fprintf(stderr, "first_touch: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	cleanup();
	exit(2);
}

/* Median, min and max of n figures (sorts them). */
struct stat3 {
	double med, min, max;
	int valid;
};

static struct stat3 summarize(double *v, int n)
{
	struct stat3 s = {0, 0, 0, 0};

	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), bench_dcmp);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.valid = 1;
	return s;
}

static double percentile(const double *sorted, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);
	return sorted[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

/* A field of /proc/meminfo in kB, -1 if absent. */
static long meminfo_kb(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t fl = strlen(field);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* A field of /proc/self/smaps_rollup in kB, -1 if absent. */
static long rollup_kb(const char *field)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	size_t fl = strlen(field);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
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

/* ------------------------------------------------------------------ */
/* The touch loop: one byte per 4 KiB page, written or read.          */

struct touch_job {
	char *base;
	const uint32_t *order; /* NULL: sequential */
	int tid, nthreads, read;
	pthread_barrier_t *bar;
	volatile uint64_t sink;
};

static void touch_run(struct touch_job *j)
{
	volatile char *b = (volatile char *)j->base;
	uint64_t sum = 0;

	for (size_t i = 0; i < g_npages; i++) {
		size_t p = j->order ? j->order[i] : i;

		if (j->nthreads > 1 && (int)((p * PAGE / EXT) % (size_t)j->nthreads) != j->tid)
			continue;
		if (j->read)
			sum += (uint64_t)b[p * PAGE];
		else
			b[p * PAGE] = 1;
	}
	j->sink = sum;
}

static void *touch_thread(void *arg)
{
	struct touch_job *j = arg;

	pthread_barrier_wait(j->bar);
	touch_run(j);
	return NULL;
}

/* Seconds to touch every page of base with nthreads threads (1 or 2). */
static double touch(char *base, const uint32_t *order, int nthreads, int read)
{
	struct touch_job jobs[2];
	pthread_t th[2];
	pthread_barrier_t bar;
	double t0, t1;

	if (nthreads == 1) {
		struct touch_job j = {.base = base, .order = order, .tid = 0, .nthreads = 1,
				      .read = read, .bar = NULL, .sink = 0};
		t0 = bench_now();
		touch_run(&j);
		return bench_now() - t0;
	}
	pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct touch_job){.base = base, .order = order, .tid = t,
					     .nthreads = nthreads, .read = read, .bar = &bar,
					     .sink = 0};
		if (pthread_create(&th[t], NULL, touch_thread, &jobs[t]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&bar);
	t0 = bench_now();
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	t1 = bench_now();
	pthread_barrier_destroy(&bar);
	return t1 - t0;
}

static double gibs(double secs)
{
	return (double)g_size / GIB / secs;
}

/* ------------------------------------------------------------------ */
/* Kernel baselines                                                   */

static double kernel_memfd(const uint32_t *order, int read, int nthreads)
{
	int fd = memfd_create("first_touch", MFD_CLOEXEC);
	char *p;
	double t;

	if (fd < 0 || ftruncate(fd, (off_t)g_size) < 0)
		die("memfd: %s", strerror(errno));
	p = mmap(NULL, g_size, read ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd: %s", strerror(errno));
	t = touch(p, order, nthreads, read);
	munmap(p, g_size);
	close(fd);
	return gibs(t);
}

static long g_anon_huge_kb = -1;

static double kernel_anon_huge(void)
{
	char *raw = mmap(NULL, g_size + EXT, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *p;
	double t;

	if (raw == MAP_FAILED)
		die("mmap anon: %s", strerror(errno));
	p = (char *)(((uintptr_t)raw + EXT - 1) & ~(uintptr_t)(EXT - 1));
	if (madvise(p, g_size, MADV_HUGEPAGE) < 0)
		fprintf(stderr, "first_touch: MADV_HUGEPAGE: %s\n", strerror(errno));
	t = touch(p, NULL, 1, 0);
	g_anon_huge_kb = rollup_kb("AnonHugePages");
	munmap(raw, g_size + EXT);
	return gibs(t);
}

/* ------------------------------------------------------------------ */
/* libdaxmap                                                          */

static uint64_t pool_size_for(size_t obj_bytes)
{
	uint64_t s = (uint64_t)obj_bytes + obj_bytes / 5 + (16u << 20);
	return (s + EXT - 1) & ~(uint64_t)(EXT - 1);
}

struct ours {
	daxmap_pool *pool;
	daxmap_obj *obj;
	char *va;
	size_t len;
};

/*
 * How a pool is made ready before the timed touch:
 *   M_PREFAULT  prefault = 1 (every page instantiated at open)
 *   M_DEFAULT   default options, touched at once after create (the warmer
 *               has just started)
 *   M_SETTLED   default options, touched after the pool was open 3 s
 *   M_REFAULT   default options: touched, punched whole, 3 s, touched
 *               again (the second touch is timed: the freed extents rewarmed)
 *   M_COLD      warm = DAXMAP_WARM_OFF, touched at once (nothing warm)
 */
enum { M_PREFAULT, M_DEFAULT, M_SETTLED, M_REFAULT, M_COLD, M_MODES };
static const char *const mode_name[M_MODES] = {"prefaulted", "default, at once",
					       "default, open 3 s", "refault after punch + 3 s",
					       "warm off (cold)"};
#define SETTLE_S 3

static void ours_open(struct ours *o, const char *dir, int mode, size_t obj_bytes, int prot)
{
	struct daxmap_pool_opts opts;
	void *va;
	int ret;

	snprintf(g_cur_path, sizeof(g_cur_path), "%s/first_touch.%d.pool", dir, (int)getpid());
	unlink(g_cur_path);
	daxmap_pool_opts_init(&opts);
	opts.prefault = mode == M_PREFAULT;
	opts.warm = mode == M_COLD ? DAXMAP_WARM_OFF : 0;
	if ((ret = daxmap_pool_create_opts(&o->pool, g_cur_path, pool_size_for(obj_bytes), 0600,
					   &opts)) < 0)
		die("daxmap_pool_create_opts(%s): %s", g_cur_path, daxmap_errormsg());
	if (daxmap_obj_open(&o->obj, o->pool, "bench", DAXMAP_CREATE) < 0 ||
	    daxmap_obj_truncate(o->obj, obj_bytes) < 0)
		die("object: %s", daxmap_errormsg());
	if (daxmap_map(&va, o->obj, 0, obj_bytes, prot) < 0)
		die("daxmap_map: %s", daxmap_errormsg());
	o->va = va;
	o->len = obj_bytes;
}

static void ours_close(struct ours *o)
{
	if (daxmap_unmap(o->va, o->len) < 0 || daxmap_obj_close(o->obj) < 0 ||
	    daxmap_pool_close(o->pool) < 0)
		die("teardown: %s", daxmap_errormsg());
	unlink(g_cur_path);
	g_cur_path[0] = 0;
}

/* p50 of the library's fault-handling histogram, as the bucket's lower bound in ns */
static uint64_t hist_p50_ns(const struct daxmap_pool_stat *st)
{
	uint64_t total = 0, acc = 0;

	for (int i = 0; i < DAXMAP_LAT_BUCKETS; i++)
		total += st->latency_ns_log2[i];
	for (int i = 0; i < DAXMAP_LAT_BUCKETS; i++) {
		acc += st->latency_ns_log2[i];
		if (total && acc * 2 >= total)
			return (uint64_t)1 << i;
	}
	return 0;
}

static double ours_first_touch(const char *dir, int mode, const uint32_t *order, int nthreads,
			       struct daxmap_pool_stat *st, long *pmd_kb)
{
	struct ours o;
	double t;

	ours_open(&o, dir, mode, g_size, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE);
	if (mode == M_SETTLED)
		sleep(SETTLE_S);
	t = touch(o.va, order, nthreads, 0);
	if (mode == M_REFAULT) {
		if (daxmap_obj_punch_hole(o.obj, 0, g_size) < 0)
			die("punch: %s", daxmap_errormsg());
		sleep(SETTLE_S);
		t = touch(o.va, order, nthreads, 0);
	}
	*pmd_kb = meminfo_kb("ShmemPmdMapped");
	if (daxmap_pool_stat(o.pool, st) < 0)
		die("daxmap_pool_stat: %s", daxmap_errormsg());
	if (st->used != g_size && mode != M_REFAULT)
		fprintf(stderr, "first_touch: warning: pool used %llu after touching %zu bytes\n",
			(unsigned long long)st->used, g_size);
	ours_close(&o);
	return gibs(t);
}

/* ------------------------------------------------------------------ */
/* Single first-touch latency: library vs a bare userfaultfd handler   */

static void lat_touch(char *base, int n, double *us)
{
	for (int i = 0; i < n; i++) {
		volatile char *p = base + (size_t)i * EXT;
		double t0 = bench_now();
		*p = 1;
		us[i] = (bench_now() - t0) * 1e6;
	}
	qsort(us, (size_t)n, sizeof(*us), bench_dcmp);
}

static void lat_ours(const char *dir, int mode, double *us, struct daxmap_pool_stat *st)
{
	struct ours o;

	ours_open(&o, dir, mode, (size_t)g_lat_samples * EXT, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE);
	if (mode == M_SETTLED)
		sleep(SETTLE_S);
	lat_touch(o.va, g_lat_samples, us);
	daxmap_pool_stat(o.pool, st);
	ours_close(&o);
}

struct bare {
	int uffd, stop_fd, file_fd;
	char *base;
	size_t len;
	uint64_t faults;
};

static void *bare_handler(void *arg)
{
	struct bare *b = arg;
	struct pollfd pfd[2] = {{.fd = b->uffd, .events = POLLIN}, {.fd = b->stop_fd, .events = POLLIN}};
	struct uffd_msg msg;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd[1].revents & POLLIN)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(b->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg)) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			die("read uffd: %s", strerror(errno));
		}
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uintptr_t addr = (uintptr_t)msg.arg.pagefault.address & ~(uintptr_t)(EXT - 1);
		off_t off = (off_t)(addr - (uintptr_t)b->base);
		if (mmap((void *)addr, EXT, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_SHARED | MAP_POPULATE, b->file_fd, off) == MAP_FAILED)
			die("bare handler mmap: %s", strerror(errno));
		struct uffdio_range r = {.start = addr, .len = EXT};
		while (ioctl(b->uffd, UFFDIO_WAKE, &r) < 0)
			if (errno != EAGAIN)
				die("UFFDIO_WAKE: %s", strerror(errno));
		b->faults++;
	}
	return NULL;
}

static int open_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
	}
#ifdef UFFD_USER_MODE_ONLY
	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
#endif
	return fd;
}

static void lat_bare(const char *dir, double *us)
{
	struct bare b;
	struct uffdio_api api;
	struct uffdio_register reg;
	pthread_t th;
	size_t len = (size_t)g_lat_samples * EXT;
	char *raw, *map;
	uint64_t one = 1;

	memset(&b, 0, sizeof(b));
	/* the pool stand-in: a fallocated, prefaulted file like a prefaulted pool */
	snprintf(g_cur_path, sizeof(g_cur_path), "%s/first_touch.%d.bare", dir, (int)getpid());
	unlink(g_cur_path);
	b.file_fd = open(g_cur_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b.file_fd < 0 || posix_fallocate(b.file_fd, 0, (off_t)len) != 0)
		die("bare file %s: %s", g_cur_path, strerror(errno));
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, b.file_fd, 0);
	if (map == MAP_FAILED || madvise(map, len, MADV_POPULATE_READ) < 0)
		die("prefault of %s: %s", g_cur_path, strerror(errno));
	munmap(map, len);

	if ((b.uffd = open_uffd()) < 0)
		die("userfaultfd: %s", strerror(errno));
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	if (ioctl(b.uffd, UFFDIO_API, &api) < 0)
		die("UFFDIO_API: %s", strerror(errno));
	raw = mmap(NULL, len + EXT, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	b.base = (char *)(((uintptr_t)raw + EXT - 1) & ~(uintptr_t)(EXT - 1));
	b.len = len;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)b.base;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(b.uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER: %s", strerror(errno));
	if ((b.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		die("eventfd: %s", strerror(errno));
	if (pthread_create(&th, NULL, bare_handler, &b))
		die("pthread_create failed");

	lat_touch(b.base, g_lat_samples, us);

	if (write(b.stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		die("eventfd write: %s", strerror(errno));
	pthread_join(th, NULL);
	munmap(raw, len + EXT);
	close(b.uffd);
	close(b.stop_fd);
	close(b.file_fd);
	unlink(g_cur_path);
	g_cur_path[0] = 0;
}

/* ------------------------------------------------------------------ */
/* Hole-read scan                                                     */

struct hole_result {
	double ours_gibs[MAX_REPS], memfd_gibs[MAX_REPS];
	uint64_t handler_p50_ns[MAX_REPS];
	uint64_t used_after_scan, used_after_write, faults_hole_read;
	long anon_kb;
	int write_ok;
};

static void hole_scan(struct hole_result *r)
{
	for (int rep = 0; rep < g_reps; rep++) {
		struct ours o;
		struct daxmap_pool_stat st;
		double t;

		warm_up();
		r->memfd_gibs[rep] = kernel_memfd(NULL, 1, 1);

		ours_open(&o, g_dir, M_DEFAULT, g_size, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE);
		t = touch(o.va, NULL, 1, 1);
		r->ours_gibs[rep] = gibs(t);
		daxmap_pool_stat(o.pool, &st);
		r->handler_p50_ns[rep] = hist_p50_ns(&st);
		if (rep == g_reps - 1) {
			/* a later write to a scanned page must reach the pool */
			size_t off = g_size / 2 + 5 * PAGE + 123;
			void *va;

			r->anon_kb = rollup_kb("Anonymous");
			daxmap_pool_stat(o.pool, &st);
			r->used_after_scan = st.used;
			r->faults_hole_read = st.faults_hole_read;
			o.va[off] = 0x5a;
			daxmap_pool_stat(o.pool, &st);
			r->used_after_write = st.used;
			if (daxmap_unmap(o.va, o.len) < 0 || daxmap_map(&va, o.obj, 0, o.len,
									 DAXMAP_PROT_READ) < 0)
				die("remap: %s", daxmap_errormsg());
			o.va = va;
			r->write_ok = ((volatile char *)o.va)[off] == 0x5a &&
				      ((volatile char *)o.va)[off - 1] == 0;
		}
		ours_close(&o);
	}
}

/* ------------------------------------------------------------------ */

static int mount_huge(void)
{
	if (g_huge_dir)
		return 1;
	if (geteuid() != 0) {
		printf("# huge tmpfs: not root and no --huge-dir: huge cases skipped\n");
		return 0;
	}
	snprintf(g_mount_dir, sizeof(g_mount_dir), "/tmp/daxmap-huge-XXXXXX");
	if (!mkdtemp(g_mount_dir)) {
		printf("# huge tmpfs: mkdtemp: %s: huge cases skipped\n", strerror(errno));
		g_mount_dir[0] = 0;
		return 0;
	}
	if (mount("tmpfs", g_mount_dir, "tmpfs", 0, "huge=always,size=4G") < 0) {
		printf("# huge tmpfs: mount -t tmpfs -o huge=always %s: %s: huge cases skipped\n",
		       g_mount_dir, strerror(errno));
		rmdir(g_mount_dir);
		g_mount_dir[0] = 0;
		return 0;
	}
	g_huge_dir = g_mount_dir;
	return 1;
}

static void make_perm(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	g_perm = malloc(g_npages * sizeof(*g_perm));
	if (!g_perm)
		die("out of memory");
	for (size_t i = 0; i < g_npages; i++)
		g_perm[i] = (uint32_t)i;
	for (size_t i = g_npages - 1; i > 0; i--) {
		size_t j = (size_t)(bench_rnd(&x) % (i + 1));
		uint32_t tmp = g_perm[i];
		g_perm[i] = g_perm[j];
		g_perm[j] = tmp;
	}
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

static void usage(void)
{
	fprintf(stderr, "usage: first_touch [--quick] [--reps N] [--dir DIR] [--huge-dir DIR]\n"
			"  --quick      256 MiB regions instead of 1 GiB, 100 latency samples\n"
			"  --reps N     repeat each throughput figure N times, report the median "
			"(default 3)\n"
			"  --dir DIR    directory of the plain tmpfs pools (default /dev/shm)\n"
			"  --huge-dir D a tmpfs mounted huge=always (default: mount one as root)\n");
	exit(2);
}

/*
 * The nearest peer's way (LLNL UMap with 2 MiB pages): an anonymous region
 * registered with userfaultfd, each fault answered by one UFFDIO_COPY of
 * 2 MiB (zeros from a buffer) over the faulting 2 MiB. A bare handler
 * thread, as small as it gets: UMap's own bookkeeping only adds to it.
 */
struct copy_handler {
	int uffd, stop_fd;
	char *base, *src;
};

static void *copy_handler_main(void *arg)
{
	struct copy_handler *h = arg;
	struct pollfd pfd[2] = {{.fd = h->uffd, .events = POLLIN}, {.fd = h->stop_fd, .events = POLLIN}};
	struct uffd_msg msg;

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[1].revents & POLLIN)
			return NULL;
		if (read(h->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		struct uffdio_copy c = {
			.dst = (uintptr_t)msg.arg.pagefault.address & ~(uintptr_t)(EXT - 1),
			.src = (uintptr_t)h->src, .len = EXT, .mode = 0};
		while (ioctl(h->uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
			if (errno != EAGAIN)
				die("UFFDIO_COPY: %s", strerror(errno));
		if (c.copy < 0) { /* raced another fault on the same 2 MiB: just wake */
			struct uffdio_range r = {.start = c.dst, .len = EXT};
			ioctl(h->uffd, UFFDIO_WAKE, &r);
		}
	}
}

static double uffd_copy_2m(void)
{
	struct copy_handler h;
	struct uffdio_api api = {.api = UFFD_API, .features = 0};
	struct uffdio_register reg;
	pthread_t th;
	uint64_t one = 1;
	char *raw;
	double t;

	h.uffd = open_uffd();
	h.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (h.uffd < 0 || h.stop_fd < 0 || ioctl(h.uffd, UFFDIO_API, &api) < 0)
		die("userfaultfd: %s", strerror(errno));
	h.src = aligned_alloc(EXT, EXT);
	if (!h.src)
		die("out of memory");
	memset(h.src, 0, EXT);
	raw = mmap(NULL, g_size + EXT, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	h.base = (char *)(((uintptr_t)raw + EXT - 1) & ~(uintptr_t)(EXT - 1));
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)h.base;
	reg.range.len = g_size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(h.uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER: %s", strerror(errno));
	if (pthread_create(&th, NULL, copy_handler_main, &h))
		die("pthread_create failed");
	t = touch(h.base, NULL, 1, 0);
	if (write(h.stop_fd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write: %s", strerror(errno));
	pthread_join(th, NULL);
	munmap(raw, g_size + EXT);
	free(h.src);
	close(h.uffd);
	close(h.stop_fd);
	return gibs(t);
}

/* a case of the "ours" matrix */
struct ocase {
	int huge, mode, random, nthreads;
	struct stat3 s;
	struct daxmap_pool_stat st; /* of the last rep */
	long pmd_kb;
	int ran;
};

static struct ocase *find_case(struct ocase *c, int n, int huge, int mode, int random,
			       int nthreads)
{
	for (int i = 0; i < n; i++)
		if (c[i].huge == huge && c[i].mode == mode && c[i].random == random &&
		    c[i].nthreads == nthreads)
			return &c[i];
	return NULL;
}

/* A case's median over the memfd baseline, 0 if it did not run. */
static double case_ratio(struct ocase *cases, int ncases, int huge, int mode, int random,
			 int nthreads, double base)
{
	struct ocase *c = find_case(cases, ncases, huge, mode, random, nthreads);
	return c ? c->s.med / base : 0;
}

static void target_row(const char *what, double figure, double need, int have, const char *unit,
		       int lower_is_better)
{
	if (!have) {
		printf("  %-58s %10s   need %s%-6.2f%s  SKIPPED\n", what, "n/a",
		       lower_is_better ? "<=" : ">=", need, unit);
		return;
	}
	int met = lower_is_better ? figure <= need : figure >= need;
	printf("  %-58s %9.2f%s  need %s%-6.2f%s  %s\n", what, figure, unit,
	       lower_is_better ? "<=" : ">=", need, unit, met ? "MET" : "MISSED");
}

int main(int argc, char **argv)
{
	struct utsname un;
	char thp[128], thp_defrag[128], thp_shmem[128];
	static double base_v[5][MAX_REPS], case_v[32][MAX_REPS];
	double memfd_seq_med;
	struct stat3 memfd_seq, memfd_rand, anon_huge, memfd_2t, umap;
	struct ocase cases[32];
	int ncases = 0, have_huge;
	double lat_o[2][1000], lat_b[2][1000], lat_d[2][1000];
	struct daxmap_pool_stat lat_st[2], lat_dst[2];
	int lat_ran[2] = {0, 0};
	struct hole_result hole;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			g_size = (size_t)256 << 20;
			g_lat_samples = 100;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			g_reps = atoi(argv[++i]);
			if (g_reps < 1 || g_reps > MAX_REPS)
				usage();
		} else if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			g_dir = argv[++i];
		} else if (!strcmp(argv[i], "--huge-dir") && i + 1 < argc) {
			g_huge_dir = argv[++i];
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
	make_perm();

	uname(&un);
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	read_line("/sys/kernel/mm/transparent_hugepage/defrag", thp_defrag, sizeof(thp_defrag));
	read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", thp_shmem,
		  sizeof(thp_shmem));
	printf("# first_touch: libdaxmap %s, %zu MiB regions, one byte per 4 KiB page, "
	       "median of %d reps [min..max]\n",
	       daxmap_version(), g_size >> 20, g_reps);
	printf("# machine: %ld CPUs online, Linux %s, euid %d\n", sysconf(_SC_NPROCESSORS_ONLN),
	       un.release, (int)geteuid());
	printf("# THP enabled: %s; defrag: %s; shmem_enabled: %s\n", thp, thp_defrag, thp_shmem);
	printf("# 2 threads: extents interleaved (thread t writes extents e %% 2 == t)\n");
	have_huge = mount_huge();
	printf("# pools: plain tmpfs %s; huge tmpfs %s\n", g_dir,
	       have_huge ? g_huge_dir : "(skipped)");

	/* the figures of all cases are taken rep by rep (every case once, then
	 * again), so a slow phase of the machine hits all cases alike */
	for (int huge = 0; huge <= 1; huge++) {
		if (huge && !have_huge)
			continue;
		/* prefaulted and default pools: the whole matrix; the other
		 * ways of readying a pool: sequential, 1 thread */
		for (int mode = 0; mode < M_MODES; mode++)
			for (int random = 0; random <= 1; random++)
				for (int nt = 1; nt <= 2; nt++) {
					struct ocase *c;
					if (mode > M_DEFAULT && (random || nt > 1))
						continue;
					c = &cases[ncases++];
					c->huge = huge;
					c->mode = mode;
					c->random = random;
					c->nthreads = nt;
				}
	}
	warm_up();
	for (int r = 0; r < g_reps; r++) {
		fprintf(stderr, "first_touch: rep %d/%d\n", r + 1, g_reps);
		if (r > 0)
			warm_up();
		base_v[0][r] = kernel_memfd(NULL, 0, 1);
		base_v[1][r] = kernel_memfd(g_perm, 0, 1);
		base_v[2][r] = kernel_anon_huge();
		base_v[3][r] = kernel_memfd(NULL, 0, 2);
		base_v[4][r] = uffd_copy_2m();
		for (int i = 0; i < ncases; i++) {
			struct ocase *c = &cases[i];
			case_v[i][r] = ours_first_touch(c->huge ? g_huge_dir : g_dir, c->mode,
							c->random ? g_perm : NULL, c->nthreads,
							&c->st, &c->pmd_kb);
		}
	}

	/* --- kernel baselines --- */
	printf("\n== Kernel baselines (first write, GiB/s) ==\n");
	memfd_seq = summarize(base_v[0], g_reps);
	memfd_seq_med = memfd_seq.med;
	memfd_rand = summarize(base_v[1], g_reps);
	anon_huge = summarize(base_v[2], g_reps);
	memfd_2t = summarize(base_v[3], g_reps);
	umap = summarize(base_v[4], g_reps);
	printf("  %-44s %7.2f [%.2f..%.2f]  %5.2fx\n", "memfd MAP_SHARED, sequential", memfd_seq.med,
	       memfd_seq.min, memfd_seq.max, 1.0);
	printf("  %-44s %7.2f [%.2f..%.2f]  %5.2fx\n", "memfd MAP_SHARED, random", memfd_rand.med,
	       memfd_rand.min, memfd_rand.max, memfd_rand.med / memfd_seq_med);
	printf("  %-44s %7.2f [%.2f..%.2f]  %5.2fx  (AnonHugePages %ld MiB)\n",
	       "anonymous MADV_HUGEPAGE, sequential", anon_huge.med, anon_huge.min, anon_huge.max,
	       anon_huge.med / memfd_seq_med, g_anon_huge_kb / 1024);
	printf("  %-44s %7.2f [%.2f..%.2f]  %5.2fx  (2 threads / 1 thread: %.2fx)\n",
	       "memfd MAP_SHARED, sequential, 2 threads", memfd_2t.med, memfd_2t.min, memfd_2t.max,
	       memfd_2t.med / memfd_seq_med, memfd_2t.med / memfd_seq_med);
	printf("  %-44s %7.2f [%.2f..%.2f]  %5.2fx\n", "uffd COPY 2 MiB into anonymous (UMap's way)",
	       umap.med, umap.min, umap.max, umap.med / memfd_seq_med);

	/* --- ours --- */
	printf("\n== libdaxmap first write (GiB/s, ratio to memfd sequential) ==\n");
	printf("  %-44s %7s %-15s %6s   %s\n", "case", "GiB/s", "[min..max]", "ratio",
	       "last rep: faults/write/noop, zeroed in fault path, handler p50");
	for (int i = 0; i < ncases; i++) {
		struct ocase *c = &cases[i];
		char name[96], range[48];

		c->s = summarize(case_v[i], g_reps);
		c->ran = 1;
		snprintf(name, sizeof(name), "%s %s, %s, %d thread%s",
			 c->huge ? "huge tmpfs" : "/dev/shm", mode_name[c->mode],
			 c->random ? "random" : "sequential", c->nthreads, c->nthreads > 1 ? "s" : "");
		snprintf(range, sizeof(range), "[%.2f..%.2f]", c->s.min, c->s.max);
		printf("  %-56s %7.2f %-15s %5.2fx   %llu/%llu/%llu, %llu MiB, ~%llu us", name,
		       c->s.med, range, c->s.med / memfd_seq_med, (unsigned long long)c->st.faults,
		       (unsigned long long)c->st.faults_write, (unsigned long long)c->st.faults_noop,
		       (unsigned long long)(c->st.bytes_zeroed_fault >> 20),
		       (unsigned long long)(hist_p50_ns(&c->st) / 1000));
		if (c->huge)
			printf(", ShmemPmdMapped %ld MiB", c->pmd_kb / 1024);
		if (c->mode != M_PREFAULT)
			printf(", warm/cold %llu/%llu", (unsigned long long)c->st.extents_warm,
			       (unsigned long long)c->st.extents_cold);
		printf("\n");
	}
	{
		struct ocase *c = find_case(cases, ncases, 0, M_PREFAULT, 0, 1);
		printf("  counters (daxmap_pool_stat, /dev/shm prefaulted sequential 1 thread, last "
		       "rep): faults %llu, faults_write %llu, faults_hole_read %llu, faults_noop "
		       "%llu, extents_allocated %llu, bytes_zeroed_fault %llu, "
		       "bytes_zeroed_background %llu, fault_threads %llu, is_pmem %d\n",
		       (unsigned long long)c->st.faults, (unsigned long long)c->st.faults_write,
		       (unsigned long long)c->st.faults_hole_read,
		       (unsigned long long)c->st.faults_noop,
		       (unsigned long long)c->st.extents_allocated,
		       (unsigned long long)c->st.bytes_zeroed_fault,
		       (unsigned long long)c->st.bytes_zeroed_background,
		       (unsigned long long)c->st.fault_threads, c->st.is_pmem);
		printf("  handler latency histogram (same run; bucket >= 1 us: count):");
		for (int i = 10; i < DAXMAP_LAT_BUCKETS; i++)
			if (c->st.latency_ns_log2[i])
				printf(" %llu us: %llu", (unsigned long long)(1ull << i) / 1000,
				       (unsigned long long)c->st.latency_ns_log2[i]);
		printf("\n");
	}

	/* --- latency --- */
	printf("\n== Single first touch of one 2 MiB extent (us, %d samples, fresh extents) ==\n",
	       g_lat_samples);
	for (int huge = 0; huge <= 1; huge++) {
		const char *dir = huge ? g_huge_dir : g_dir;
		double *o = lat_o[huge], *b = lat_b[huge];

		if (huge && !have_huge)
			continue;
		/* alternate: bare, ours, bare, ours: both see the same machine state */
		lat_bare(dir, b);
		lat_ours(dir, M_PREFAULT, o, &lat_st[huge]);
		lat_ours(dir, M_SETTLED, lat_d[huge], &lat_dst[huge]);
		lat_ran[huge] = 1;
		printf("  %-10s bare uffd (mmap 2 MiB POPULATE + WAKE): p50 %7.1f  p99 %7.1f\n",
		       huge ? "huge tmpfs" : "/dev/shm", percentile(b, g_lat_samples, 0.5),
		       percentile(b, g_lat_samples, 0.99));
		printf("  %-10s libdaxmap:                              p50 %7.1f  p99 %7.1f   "
		       "ratio p50 %.2fx  (handler p50 ~%llu us)\n",
		       "", percentile(o, g_lat_samples, 0.5), percentile(o, g_lat_samples, 0.99),
		       percentile(o, g_lat_samples, 0.5) / percentile(b, g_lat_samples, 0.5),
		       (unsigned long long)hist_p50_ns(&lat_st[huge]) / 1000);
		printf("  %-10s libdaxmap, default pool open 3 s:       p50 %7.1f  p99 %7.1f   "
		       "ratio p50 %.2fx  (handler p50 ~%llu us, warm/cold %llu/%llu)\n",
		       "", percentile(lat_d[huge], g_lat_samples, 0.5),
		       percentile(lat_d[huge], g_lat_samples, 0.99),
		       percentile(lat_d[huge], g_lat_samples, 0.5) / percentile(b, g_lat_samples, 0.5),
		       (unsigned long long)hist_p50_ns(&lat_dst[huge]) / 1000,
		       (unsigned long long)lat_dst[huge].extents_warm,
		       (unsigned long long)lat_dst[huge].extents_cold);
	}

	/* --- hole-read scan --- */
	printf("\n== Hole-read scan (read one byte per 4 KiB page of a never-written region) ==\n");
	memset(&hole, 0, sizeof(hole));
	hole_scan(&hole);
	printf("  per rep (memfd / libdaxmap GiB/s, library handler p50):");
	for (int r = 0; r < g_reps; r++)
		printf(" %.2f/%.2f ~%llu us%s", hole.memfd_gibs[r], hole.ours_gibs[r],
		       (unsigned long long)hole.handler_p50_ns[r] / 1000, r + 1 < g_reps ? ";" : "\n");
	struct stat3 hm = summarize(hole.memfd_gibs, g_reps), ho = summarize(hole.ours_gibs, g_reps);
	printf("  %-44s %7.2f [%.2f..%.2f]\n", "kernel: memfd hole", hm.med, hm.min, hm.max);
	printf("  %-44s %7.2f [%.2f..%.2f]  ratio %.2fx\n", "libdaxmap: object hole (RW mapping)",
	       ho.med, ho.min, ho.max, ho.med / hm.med);
	printf("  pool used after scan: %llu bytes (%s); faults_hole_read %llu; process anonymous "
	       "memory while mapped: %ld MiB\n",
	       (unsigned long long)hole.used_after_scan, hole.used_after_scan == 0 ? "OK" : "FAIL",
	       (unsigned long long)hole.faults_hole_read, hole.anon_kb / 1024);
	printf("  later write to a scanned page reaches the pool: %s (pool used after it: %llu "
	       "bytes)\n",
	       hole.write_ok ? "OK" : "FAIL", (unsigned long long)hole.used_after_write);

	/* --- targets --- */
	printf("\n== Targets (medians; ratio to memfd sequential %.2f GiB/s of this run) ==\n",
	       memfd_seq_med);
#define RATIO(h, p, r, n) case_ratio(cases, ncases, h, p, r, n, memfd_seq_med)
#define HAVE(h) (!(h) || have_huge)
	target_row("/dev/shm prefaulted, sequential, 1 thread", RATIO(0, M_PREFAULT, 0, 1), 4, 1, "x", 0);
	target_row("/dev/shm prefaulted, random, 1 thread", RATIO(0, M_PREFAULT, 1, 1), 4, 1, "x", 0);
	target_row("huge tmpfs prefaulted, sequential, 1 thread", RATIO(1, M_PREFAULT, 0, 1), 20, HAVE(1),
		   "x", 0);
	target_row("/dev/shm default, at once, sequential, 1 thread", RATIO(0, M_DEFAULT, 0, 1), 1.5,
		   1, "x", 0);
	target_row("huge tmpfs default, at once, sequential, 1 thread", RATIO(1, M_DEFAULT, 0, 1), 4,
		   HAVE(1), "x", 0);
	target_row("/dev/shm default, at once / UMap's way", RATIO(0, M_DEFAULT, 0, 1) *
		   memfd_seq_med / umap.med, 1.2, 1, "x", 0);
	target_row("/dev/shm default, open 3 s, sequential, 1 thread", RATIO(0, M_SETTLED, 0, 1), 4,
		   1, "x", 0);
	target_row("huge tmpfs default, open 3 s, sequential, 1 thread", RATIO(1, M_SETTLED, 0, 1),
		   20, HAVE(1), "x", 0);
	target_row("/dev/shm default, open 3 s / UMap's way", RATIO(0, M_SETTLED, 0, 1) *
		   memfd_seq_med / umap.med, 3, 1, "x", 0);
	target_row("/dev/shm default, open 3 s / prefaulted (moonshot 1/1.2)",
		   RATIO(0, M_SETTLED, 0, 1) / RATIO(0, M_PREFAULT, 0, 1), 1 / 1.2, 1, "x", 0);
	for (int h = 0; h <= 1; h++) {
		char what[96];
		double settled = RATIO(h, M_SETTLED, 0, 1), again = RATIO(h, M_REFAULT, 0, 1);
		snprintf(what, sizeof(what), "%s refault after punch + 3 s / open 3 s",
			 h ? "huge tmpfs" : "/dev/shm");
		target_row(what, settled > 0 ? again / settled : 0, 0.9, HAVE(h), "x", 0);
	}
	for (int h = 0; h <= 1; h++)
		for (int r = 0; r <= 1; r++) {
			char what[96];
			double one = RATIO(h, M_PREFAULT, r, 1), two = RATIO(h, M_PREFAULT, r, 2);
			snprintf(what, sizeof(what), "2 threads / 1 thread, %s prefaulted, %s",
				 h ? "huge tmpfs" : "/dev/shm", r ? "random" : "sequential");
			target_row(what, one > 0 ? two / one : 0, 1.0, HAVE(h), "x", 0);
		}
	target_row("single touch p50 / bare uffd p50, /dev/shm",
		   percentile(lat_o[0], g_lat_samples, 0.5) /
			   percentile(lat_b[0], g_lat_samples, 0.5),
		   1.5, lat_ran[0], "x", 1);
	for (int h = 0; h <= 1; h++) {
		char what[96];
		snprintf(what, sizeof(what), "single touch p50, default pool open 3 s / bare, %s",
			 h ? "huge tmpfs" : "/dev/shm");
		target_row(what, lat_ran[h] ? percentile(lat_d[h], g_lat_samples, 0.5) /
						 percentile(lat_b[h], g_lat_samples, 0.5) : 0,
			   1.3, lat_ran[h], "x", 1);
	}
	if (have_huge)
		target_row("single touch p50 / bare uffd p50, huge tmpfs (info)",
			   percentile(lat_o[1], g_lat_samples, 0.5) /
				   percentile(lat_b[1], g_lat_samples, 0.5),
			   1.5, lat_ran[1], "x", 1);
	target_row("hole-read scan / memfd hole read", ho.med / hm.med, 1.0, 1, "x", 0);
	printf("  %-58s %10s   need 0       %s\n", "pool used after the hole-read scan",
	       hole.used_after_scan == 0 ? "0" : "non-zero", hole.used_after_scan == 0 ? "MET" : "MISSED");
	printf("  %-58s %10s   need OK      %s\n", "later write to a scanned page reaches the pool",
	       hole.write_ok ? "OK" : "FAIL", hole.write_ok ? "MET" : "MISSED");
#undef RATIO
#undef HAVE
	cleanup();
	return 0;
}
