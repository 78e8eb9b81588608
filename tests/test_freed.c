/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A freed extent's old pages never reach another object. The kernel can
 * hold references to pool pages that outlive every mapping of them: a page
 * spliced into a pipe (vmsplice), an io_uring fixed buffer, a direct I/O in
 * flight. When the extent is freed and handed to another object, such a
 * reference must keep a detached page: object B must never see or change
 * what object A's old references read or write, and A's old reference must
 * never show B's bytes (doc/DESIGN.md, "Freed space leaves the file").
 *
 * Each test fills the pool so that the next allocation must take the
 * extent that was just freed, and checks bytes, also after a reopen and
 * with daxmap_pool_check(DAXMAP_CHECK_DATA). An extent no mapping ever
 * mapped cannot be held so: it is zeroed in place, and checked to read zero.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>
#ifdef DAXMAP_HAVE_LIBURING
#include <liburing.h>
#endif
#ifdef DAXMAP_INJECT
#include "inject.h"
#endif

#define POOL_SIZE (UINT64_C(64) << 20)
#define CHUNK (64u << 10)
#define DIO_LEN (2u << 20) /* a whole extent: the longer the I/O, the wider the race */

struct fixture {
	const char *path;
	daxmap_pool *pool;
	daxmap_obj *a, *b, *filler;
	char *pa, *pb;
	uint64_t es;
};

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	return st;
}

/* Until every freed extent is ready for reuse (bounded: 20 s). */
static void wait_reclaimed(daxmap_pool *pool)
{
	for (int i = 0; i < 20000 && pstat(pool).free_unzeroed != 0; i++)
		usleep(1000);
	CU_ASSERT_FATAL(pstat(pool).free_unzeroed == 0);
}

/*
 * A pool whose free space is `spare` extents once object A has written its
 * first extent with 'A' (a filler object holds the rest), B open and mapped
 * but untouched.
 */
static void setup(struct fixture *f, const char *name, unsigned spare)
{
	struct daxmap_pool_stat st;
	void *p;

	memset(f, 0, sizeof(*f));
	f->path = tu_path(name);
	unlink(f->path);
	TU_OK(daxmap_pool_create(&f->pool, f->path, POOL_SIZE, 0600));
	st = pstat(f->pool);
	f->es = st.extent_size;
	TU_OK(daxmap_obj_open(&f->filler, f->pool, "filler", DAXMAP_CREATE));
	TU_OK(daxmap_obj_allocate(f->filler, 0, st.free - (1 + spare) * f->es));
	TU_OK(daxmap_obj_open(&f->a, f->pool, "A", DAXMAP_CREATE));
	TU_OK(daxmap_obj_open(&f->b, f->pool, "B", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(f->a, f->es));
	TU_OK(daxmap_obj_truncate(f->b, f->es));
	TU_OK(daxmap_map(&p, f->a, 0, f->es, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	f->pa = p;
	TU_OK(daxmap_map(&p, f->b, 0, f->es, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	f->pb = p;
	memset(f->pa, 'A', f->es);
	TU_OK(daxmap_persist(f->pa, f->es));
	CU_ASSERT_FATAL(pstat(f->pool).free == spare * f->es);
}

static void teardown(struct fixture *f)
{
	TU_OK(daxmap_unmap(f->pa, f->es));
	TU_OK(daxmap_unmap(f->pb, f->es));
	TU_OK(daxmap_obj_close(f->a));
	TU_OK(daxmap_obj_close(f->b));
	TU_OK(daxmap_obj_close(f->filler));
	TU_OK(daxmap_pool_close(f->pool));
}

static size_t count_byte(const char *p, size_t n, char c)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}

/* B's first extent reads 'B' everywhere, now and after a reopen; the pool checks clean. */
static void check_b_intact(struct fixture *f)
{
	daxmap_obj *b;
	void *p;

	CU_ASSERT(count_byte(f->pb, f->es, 'B') == f->es);
	teardown(f);
	TU_OK(daxmap_pool_open(&f->pool, f->path));
	TU_OK(daxmap_obj_open(&b, f->pool, "B", 0));
	TU_OK(daxmap_map(&p, b, 0, f->es, DAXMAP_PROT_READ));
	size_t ok = count_byte(p, f->es, 'B');
	if (ok != f->es)
		fprintf(stderr, "\nafter reopen, %zu of %llu bytes of B are not B's\n", f->es - ok,
			(unsigned long long)f->es);
	CU_ASSERT(ok == f->es);
	TU_OK(daxmap_unmap(p, f->es));
	TU_OK(daxmap_obj_close(b));
	TU_OK(daxmap_pool_close(f->pool));
	CU_ASSERT(daxmap_pool_check(f->path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/* A page of A spliced into a pipe; A punched; B takes the extent and writes:
 * the pipe must not show B's bytes. */
static void test_pipe_page_of_a_never_shows_b(void)
{
	struct fixture f;
	struct iovec iov;
	char buf[4096];
	int p[2];

	setup(&f, "pipe.pool", 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	iov.iov_base = f.pa;
	iov.iov_len = sizeof(buf);
	CU_ASSERT_FATAL(vmsplice(p[1], &iov, 1, 0) == (ssize_t)sizeof(buf));
	TU_OK(daxmap_obj_punch_hole(f.a, 0, f.es));
	wait_reclaimed(f.pool);
	memset(f.pb, 'B', f.es); /* the only free extent: A's old one */
	TU_OK(daxmap_persist(f.pb, f.es));
	CU_ASSERT(pstat(f.pool).free == 0);
	CU_ASSERT_FATAL(read(p[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	size_t leaked = count_byte(buf, sizeof(buf), 'B');
	if (leaked)
		fprintf(stderr, "\nthe pipe shows %zu bytes of object B\n", leaked);
	CU_ASSERT(leaked == 0);
	/* it still holds A's old bytes (its own), or nothing else */
	CU_ASSERT(count_byte(buf, sizeof(buf), 'A') == sizeof(buf));
	close(p[0]);
	close(p[1]);
	check_b_intact(&f);
}

#ifdef DAXMAP_HAVE_LIBURING
static int on_tmpfs(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
}

/* An io_uring fixed buffer registered on A's mapping; A punched; B takes the
 * extent; a READ_FIXED into A's old address must not write into B. */
static void test_io_uring_fixed_buffer_of_a_never_writes_b(void)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct fixture f;
	struct iovec iov;
	char *src = malloc(CHUNK);
	int fd, ret;

	CU_ASSERT_FATAL(src != NULL);
	setup(&f, "uring.pool", 0);
	memset(src, 'X', CHUNK);
	fd = open(tu_path("uring.src"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, src, CHUNK) == (ssize_t)CHUNK);
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "\nio_uring unavailable (%s): test not run\n", strerror(-ret));
		CU_FAIL("io_uring_queue_init");
		goto out;
	}
	iov.iov_base = f.pa;
	iov.iov_len = CHUNK;
	ret = io_uring_register_buffers(&ring, &iov, 1);
	if (ret < 0 && !on_tmpfs(f.path)) {
		/* the kernel pins only anonymous and shmem pages for the long
		 * term: on a disk file system nothing can leak this way */
		fprintf(stderr, "\nio_uring refuses to pin pool pages on this file system (%s): "
			"nothing to test\n", strerror(-ret));
		io_uring_queue_exit(&ring);
		TU_OK(daxmap_obj_punch_hole(f.a, 0, f.es)); /* B's extent, for the checks */
		memset(f.pb, 'B', f.es);
		goto out;
	}
	CU_ASSERT_FATAL(ret == 0);
	TU_OK(daxmap_obj_punch_hole(f.a, 0, f.es));
	wait_reclaimed(f.pool);
	memset(f.pb, 'B', f.es);
	TU_OK(daxmap_persist(f.pb, f.es));
	CU_ASSERT(pstat(f.pool).free == 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(sqe, fd, f.pa, CHUNK, 0, 0);
	CU_ASSERT_FATAL(io_uring_submit(&ring) == 1);
	CU_ASSERT_FATAL(io_uring_wait_cqe(&ring, &cqe) == 0);
	CU_ASSERT(cqe->res == (int)CHUNK);
	io_uring_cqe_seen(&ring, cqe);
	size_t hit = f.es - count_byte(f.pb, f.es, 'B');
	if (hit)
		fprintf(stderr, "\nthe fixed-buffer read changed %zu bytes of object B\n", hit);
	CU_ASSERT(hit == 0);
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
out:
	close(fd);
	free(src);
	check_b_intact(&f);
}
#endif

/*
 * Direct I/O into A's mapping in flight while A's extents are unmapped,
 * punched and taken by B, which writes them: when the read completes, B
 * must not change. Each round: the reader starts an O_DIRECT read of
 * DIO_LEN into A (its pages pinned by the kernel), the main thread unmaps
 * and punches A at once, and B writes the extents that were A's (the only
 * free ones); once the read has completed, B is checked.
 */
struct dio_reader {
	char *dst;
	int fd;
	_Atomic int go, started, done, stop;
	_Atomic long reads;
};

static void *dio_reader_main(void *arg)
{
	struct dio_reader *r = arg;

	for (;;) {
		while (!atomic_load(&r->go) && !atomic_load(&r->stop))
			;
		if (atomic_load(&r->stop))
			return NULL;
		atomic_store(&r->go, 0);
		atomic_store(&r->started, 1);
		/* the pages of A it pins are freed under it: that is the race */
		if (pread(r->fd, r->dst, DIO_LEN, 0) == (ssize_t)DIO_LEN)
			atomic_fetch_add(&r->reads, 1);
		atomic_store(&r->done, 1);
	}
}

static void test_direct_io_into_a_racing_punch_never_writes_b(void)
{
	const char *dir = getenv("DAXMAP_DISK_TEST_DIR");
	char srcpath[512];
	struct dio_reader r = {0};
	struct fixture f;
	pthread_t t;
	void *src = NULL, *p;
	long bad = 0, bad_rounds = 0;
	int fd, rounds = 200;

	snprintf(srcpath, sizeof(srcpath), "%s/daxmap-dio.%d", dir && *dir ? dir : "/var/tmp",
		 (int)getpid());
	CU_ASSERT_FATAL(posix_memalign(&src, 4096, DIO_LEN) == 0);
	memset(src, 'X', DIO_LEN);
	fd = open(srcpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, src, DIO_LEN) == (ssize_t)DIO_LEN && fsync(fd) == 0);
	close(fd);
	r.fd = open(srcpath, O_RDONLY | O_DIRECT);
	unlink(srcpath);
	if (r.fd < 0) {
		fprintf(stderr, "\nO_DIRECT unsupported for %s (%s): test not run\n", srcpath,
			strerror(errno));
		CU_FAIL("O_DIRECT open");
		free(src);
		return;
	}
	setup(&f, "dio.pool", 0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, dio_reader_main, &r) == 0);
	for (int i = 0; i < rounds; i++) {
		r.dst = f.pa;
		atomic_store(&r.done, 0);
		atomic_store(&r.started, 0);
		atomic_store(&r.go, 1);
		while (!atomic_load(&r.started))
			;
		usleep(20); /* into the read: its pages are pinned */
		TU_OK(daxmap_unmap(f.pa, f.es));
		TU_OK(daxmap_obj_punch_hole(f.a, 0, f.es));
		memset(f.pb, 'B', f.es); /* the only free extent: A's */
		while (!atomic_load(&r.done))
			;
		size_t n = f.es - count_byte(f.pb, f.es, 'B');
		bad += (long)n;
		bad_rounds += n != 0;
		/* A takes the extent back for the next round */
		TU_OK(daxmap_obj_punch_hole(f.b, 0, f.es));
		TU_OK(daxmap_map(&p, f.a, 0, f.es, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
		f.pa = p;
		memset(f.pa, 'A', f.es);
	}
	atomic_store(&r.stop, 1);
	pthread_join(t, NULL);
	close(r.fd);
	if (bad)
		fprintf(stderr, "\n%ld bytes of B changed by direct reads into A, in %ld of %d "
			"rounds (%ld reads)\n", bad, bad_rounds, rounds, atomic_load(&r.reads));
	CU_ASSERT(bad == 0);
	CU_ASSERT(atomic_load(&r.reads) > 0);
	TU_OK(daxmap_obj_punch_hole(f.a, 0, f.es));
	memset(f.pb, 'B', f.es);
	free(src);
	check_b_intact(&f);
}

#ifdef DAXMAP_INJECT
/*
 * A file system that cannot punch (injected EOPNOTSUPP): freed extents are
 * zeroed in place instead, the pool says so, and reuse still reads zero.
 */
static void test_without_punch_freed_extents_are_zeroed_in_place(void)
{
	struct daxmap_pool_stat st0, st;
	struct fixture f;

	setup(&f, "nopunch.pool", 0);
	CU_ASSERT(pstat(f.pool).free_detaches == 1);
	TU_OK(daxmap_inject_set("punch", 1000, EOPNOTSUPP));
	st0 = pstat(f.pool);
	TU_OK(daxmap_obj_punch_hole(f.a, 0, f.es));
	wait_reclaimed(f.pool);
	daxmap_inject_clear(NULL);
	st = pstat(f.pool);
	CU_ASSERT(st.free_detaches == 0);
	CU_ASSERT(st.bytes_detached == st0.bytes_detached);
	CU_ASSERT(st.bytes_zeroed_background - st0.bytes_zeroed_background == f.es);
	/* B takes A's old extent (the only free one): zeros, not A's bytes */
	f.pb[0] = 'B';
	CU_ASSERT(pstat(f.pool).free == 0);
	CU_ASSERT(count_byte(f.pb + 1, f.es - 1, 0) == f.es - 1);
	memset(f.pb, 'B', f.es);
	TU_OK(daxmap_persist(f.pb, f.es));
	check_b_intact(&f);
}
#endif

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_freed: watchdog: a test hung\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

/*
 * An extent no mapping of the application ever mapped (written only with
 * pwrite) cannot be held by the kernel: when freed, only what was written
 * of it is zeroed, in place (no punch, its pages stay), and it reads zero
 * when reused. Once mapped (here by a read fault over its data), it is
 * punched like any other.
 */
static void test_extent_written_only_by_pwrite_is_zeroed_in_place(void)
{
	const char *path = tu_path("inplace.pool");
	/* no warming: it would write zeros over a freed extent and hide a
	 * zeroing that missed bytes */
	struct daxmap_pool_opts opts = {.warm = DAXMAP_WARM_OFF};
	daxmap_pool *pool;
	daxmap_obj *o;
	struct daxmap_pool_stat st0, st;
	char buf[4096];
	void *p;
	uint8_t b;

	unlink(path);
	TU_OK(daxmap_pool_create_opts(&pool, path, POOL_SIZE, 0600, &opts));
	memset(buf, 'S', sizeof(buf));
	/* pwrite only: 4 KiB at 0 and 4 KiB at 1 MiB of its extent */
	TU_OK(daxmap_obj_open(&o, pool, "s", DAXMAP_CREATE));
	CU_ASSERT(daxmap_obj_pwrite(o, buf, sizeof(buf), 0, DAXMAP_DSYNC) == (ssize_t)sizeof(buf));
	CU_ASSERT(daxmap_obj_pwrite(o, buf, sizeof(buf), 1 << 20, DAXMAP_DSYNC) ==
		  (ssize_t)sizeof(buf));
	TU_OK(daxmap_obj_close(o));
	wait_reclaimed(pool);
	st0 = pstat(pool);
	TU_OK(daxmap_obj_unlink(pool, "s"));
	wait_reclaimed(pool);
	st = pstat(pool);
	CU_ASSERT(st.bytes_detached == st0.bytes_detached);
	CU_ASSERT(st.bytes_zeroed_background == st0.bytes_zeroed_background + st.extent_size);
	/* reused by write faults inside EOF (where nothing else zeroes: the
	 * allocator hands the extent out as zero), all the free space reads
	 * zero but for the byte each fault stored */
	char *r;
	TU_OK(daxmap_obj_open(&o, pool, "r", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(o, st.free));
	TU_OK(daxmap_map((void **)&r, o, 0, st.free, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	for (uint64_t off = 0; off < st.free; off += st.extent_size)
		r[off + st.extent_size - 1] = 1;
	uint64_t nonzero = st.free - count_byte(r, st.free, 0) - st.free / st.extent_size;
	CU_ASSERT(nonzero == 0);
	TU_OK(daxmap_unmap(r, st.free));
	TU_OK(daxmap_obj_close(o));
	TU_OK(daxmap_obj_unlink(pool, "r"));
	wait_reclaimed(pool);
	/* the same with the data mapped once: punched */
	memset(buf, 'S', sizeof(buf));
	TU_OK(daxmap_obj_open(&o, pool, "m", DAXMAP_CREATE));
	CU_ASSERT(daxmap_obj_pwrite(o, buf, sizeof(buf), 0, DAXMAP_DSYNC) == (ssize_t)sizeof(buf));
	TU_OK(daxmap_map(&p, o, 0, sizeof(buf), DAXMAP_PROT_READ));
	CU_ASSERT(tu_try_read8(p, &b) == 0 && b == 'S');
	TU_OK(daxmap_unmap(p, sizeof(buf)));
	TU_OK(daxmap_obj_close(o));
	st0 = pstat(pool);
	TU_OK(daxmap_obj_unlink(pool, "m"));
	wait_reclaimed(pool);
	st = pstat(pool);
	if (st.free_detaches)
		CU_ASSERT(st.bytes_detached == st0.bytes_detached + st.extent_size);
	/* every free extent reads zero */
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"pipe page of A never shows B", test_pipe_page_of_a_never_shows_b},
#ifdef DAXMAP_HAVE_LIBURING
		{"io_uring fixed buffer of A never writes B",
		 test_io_uring_fixed_buffer_of_a_never_writes_b},
#endif
		{"direct I/O into A racing punch never writes B",
		 test_direct_io_into_a_racing_punch_never_writes_b},
		{"extent written only by pwrite is zeroed in place",
		 test_extent_written_only_by_pwrite_is_zeroed_in_place},
#ifdef DAXMAP_INJECT
		{"without punch freed extents are zeroed in place",
		 test_without_punch_freed_extents_are_zeroed_in_place},
#endif
		{NULL, NULL},
	};
	signal(SIGALRM, on_alarm);
	alarm(240);
	return tu_run("freed", tests);
}
