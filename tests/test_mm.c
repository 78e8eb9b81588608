/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the application does to its own mappings (issue 14): mremap, munmap
 * and madvise of parts of a mapping, mlockall and mlock, mprotect, two
 * mappings of one object seen by one thread, a corrupted size word, the VMA
 * limit and debugger reads of holes. Each test is bounded by a watchdog: a
 * hang fails the program instead of stalling ctest.
 *
 * "Reaches the pool" is checked the hard way: unmap, close, reopen, read.
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
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Sanitizer runtimes reserve terabytes of shadow and map as they go: a
 * process at its VMA limit, or one that mlockall()s all it has, is not
 * what they can run in. Those tests say so and pass (TU_SANITIZED). */

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define PS 4096u
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define SES (64 * KiB) /* the small extent size of most tests here */
/* DAXMAP_TEST_BLOCKS=1: the same tests on objects made of blocks (a pool of
 * 2 * SES extents, version 3, objects DAXMAP_SMALL: the unit stays SES) */
static int blocks;
#define OCREATE (DAXMAP_CREATE | (blocks ? DAXMAP_SMALL : 0))

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static daxmap_pool *pool_create_es(const char *name, uint64_t size, uint64_t es)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool = NULL;
	const char *path = tu_path(name);

	daxmap_pool_opts_init(&o);
	o.extent_size = blocks && es == SES ? 2 * SES : es;
	unlink(path);
	TU_OK(daxmap_pool_create_opts(&pool, path, size, 0600, &o));
	return pool;
}

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	return st;
}

/* A pool of 32 MiB with small extents at tu_path(pool_name), object "o"
 * of `len` bytes mapped read-write whole. */
struct fix {
	const char *path;
	daxmap_pool *pool;
	daxmap_obj *obj;
	char *va;
	uint64_t len;
};

static struct fix fix_setup(const char *pool_name, uint64_t len)
{
	struct fix x;

	x.pool = pool_create_es(pool_name, 32 * MiB, SES);
	x.path = tu_path(pool_name);
	x.obj = NULL;
	x.len = len;
	TU_OK(daxmap_obj_open(&x.obj, x.pool, "o", OCREATE));
	TU_OK(daxmap_obj_truncate(x.obj, len));
	TU_OK(daxmap_map((void **)&x.va, x.obj, 0, len, RW));
	return x;
}

/* Closes what fix_setup opened; the mapping is unmapped first unless va is NULL. */
static void fix_close(struct fix *x)
{
	if (x->va)
		TU_OK(daxmap_unmap(x->va, x->len));
	TU_OK(daxmap_obj_close(x->obj));
	TU_OK(daxmap_pool_close(x->pool));
}

/* Reopens the pool at `path` and copies object bytes [off, off+len) out. */
static void pool_read_back(const char *path, const char *name, uint64_t off, void *buf,
			   size_t len)
{
	daxmap_pool *pool = NULL;
	daxmap_obj *obj = NULL;
	uint64_t a = off & ~(uint64_t)(PS - 1);
	void *va;

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, name, 0));
	TU_OK(daxmap_map(&va, obj, a, (size_t)(off - a) + len, DAXMAP_PROT_READ));
	memcpy(buf, (char *)va + (off - a), len);
	TU_OK(daxmap_unmap(va, (size_t)(off - a) + len));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

static uint8_t pool_byte(const char *path, const char *name, uint64_t off)
{
	uint8_t v = 0xee;
	pool_read_back(path, name, off, &v, 1);
	return v;
}

/* An address range nobody uses, len bytes. */
static char *spare_range(size_t len)
{
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	return p;
}

/* The application's own memory at [p, p+len), filled with v. */
static void own_memory_at(char *p, size_t len, uint8_t v)
{
	CU_ASSERT_FATAL(mmap(p, len, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0) == p);
	memset(p, v, len);
}

static int all_bytes(const char *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)p[i] != v)
			return 0;
	return 1;
}

/* ======================================================================
 * 1. mremap of a mapping
 * ====================================================================== */

/*
 * The application moves a mapping (one kernel VMA: the registered
 * reservation, with zeros of a hole read in it) with mremap. It used to
 * hang (the fault at the new address found no mapping: wake, fault again,
 * forever). The registry follows: a hole and the write after a hole read
 * at the new address reach the pool, a punch tears the mapping down where
 * it is now, daxmap_unmap finds it there and not at the old place.
 */
static void test_mremap_of_mapping_is_followed(void)
{
	struct fix x;
	char *dst, *nva;
	uint8_t v = 0xff;

	tu_watchdog_arm("faults after mremap of a mapping", 30);
	x = fix_setup("mremap1.pool", 16 * SES);
	CU_ASSERT(tu_try_read8(x.va + 3 * SES + 1, &v) == 0 && v == 0); /* extent 3: zeros */
	dst = spare_range(x.len);
	nva = mremap(x.va, x.len, x.len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	CU_ASSERT_FATAL(nva == dst);
	CU_ASSERT(tu_try_write8(nva + 5 * SES + 7, 0x22) == 0); /* a hole at the new place */
	CU_ASSERT(tu_try_write8(nva + 3 * SES + 1, 0x33) == 0); /* write after a hole read */
	CU_ASSERT(tu_try_write8(nva + 9 * SES, 0x34) == 0);
	TU_OK(daxmap_obj_punch_hole(x.obj, 9 * SES, SES)); /* found at its new place */
	CU_ASSERT(tu_try_read8(nva + 9 * SES, &v) == 0 && v == 0);
	CU_ASSERT(daxmap_unmap(x.va, x.len) == -EINVAL);
	x.va = nva;
	TU_OK(daxmap_persist(nva, x.len));
	fix_close(&x);
	CU_ASSERT(pool_byte(x.path, "o", 5 * SES + 7) == 0x22);
	CU_ASSERT(pool_byte(x.path, "o", 3 * SES + 1) == 0x33);
	CU_ASSERT(pool_byte(x.path, "o", 9 * SES) == 0);
	tu_watchdog_disarm();
}

/*
 * The application moves a part of a mapping, and grows it in place: only
 * whole mappings are followed, so the moved part is in no mapping: an
 * access there is SIGBUS (with the reason logged), never a hang; the rest
 * of the mapping works where it was. (What is at the old place afterwards
 * is anybody's: another thread's mmap may get it at once.)
 */
static void test_mremap_of_part_of_mapping_never_hangs(void)
{
	const uint64_t plen = 4 * SES;
	struct fix x;
	char *dst, *part, *grown;

	tu_watchdog_arm("faults after mremap of part of a mapping", 30);
	x = fix_setup("mremap2.pool", 16 * SES);
	dst = spare_range(2 * plen);
	part = mremap(x.va + 4 * SES, plen, plen, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	CU_ASSERT_FATAL(part == dst);
	CU_ASSERT(tu_try_write8(part + 2 * SES + 3, 0x66) == SIGBUS);
	CU_ASSERT(tu_try_write8(x.va + 10 * SES, 0x77) == 0); /* the rest, where it was */
	grown = mremap(part, plen, 2 * plen, 0);
	if (grown == part)
		CU_ASSERT(tu_try_write8(part + plen + 5, 1) == SIGBUS);
	TU_OK(daxmap_persist(x.va + 10 * SES, 1));
	fix_close(&x);
	munmap(dst, 2 * plen);
	CU_ASSERT(pool_byte(x.path, "o", 10 * SES) == 0x77);
	CU_ASSERT(pool_byte(x.path, "o", 6 * SES + 3) == 0);
	tu_watchdog_disarm();
}

/*
 * The application moves pool pages (a written extent: one VMA of the pool
 * file, no event tells) elsewhere. Stores there still reach the pool; but
 * before the extent is freed by a punch, the moved copy must stop mapping
 * it (SIGSEGV), so that it never shows the extent's next owner.
 */
static void test_mremap_of_pool_pages_never_outlives_their_extent(void)
{
	struct fix x;
	char *dst, *moved;
	uint8_t v = 0;

	tu_watchdog_arm("mremap of pool pages", 30);
	x = fix_setup("mremap3.pool", 8 * SES);
	x.va[2 * SES] = 0x51; /* extent 2: pool pages, one VMA between holes */
	dst = spare_range(SES);
	moved = mremap(x.va + 2 * SES, SES, SES, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	CU_ASSERT_FATAL(moved == dst);
	CU_ASSERT(moved[0] == 0x51);
	moved[1] = 0x52;
	TU_OK(daxmap_obj_punch_hole(x.obj, 2 * SES, SES));
	CU_ASSERT(tu_try_read8(moved, &v) == SIGSEGV);
	/* the rest of the mapping is as it was; extent 2 reads zero no more
	 * through the old place (unmapped by the move) but the object does */
	CU_ASSERT(tu_try_write8(x.va + 5 * SES, 0x53) == 0);
	TU_OK(daxmap_persist(x.va + 5 * SES, 1));
	fix_close(&x);
	munmap(dst, SES);
	CU_ASSERT(pool_byte(x.path, "o", 2 * SES + 1) == 0);
	CU_ASSERT(pool_byte(x.path, "o", 5 * SES) == 0x53);
	tu_watchdog_disarm();
}

/* ======================================================================
 * 2. munmap (and madvise) of part of a mapping
 * ====================================================================== */

/*
 * The application unmaps pages of a mapping, an untouched one and one of
 * pool pages, and puts memory of its own there. Neither a later fault in
 * the same extent, nor a punch, a shrink or a grow, nor daxmap_unmap may
 * map over, tear down, zero or unmap that memory.
 */
static void test_munmap_of_part_then_own_memory_is_never_clobbered(void)
{
	struct fix x;
	char *hole_page, *data_page;
	uint8_t v = 0;
	int sig;

	tu_watchdog_arm("munmap of part of a mapping", 30);
	x = fix_setup("munmap.pool", 8 * SES);
	hole_page = x.va + 2 * PS;       /* extent 0, never touched */
	data_page = x.va + SES + 3 * PS; /* extent 1, mapped to the pool below */
	x.va[SES] = 0x21;
	CU_ASSERT_FATAL(munmap(hole_page, PS) == 0);
	own_memory_at(hole_page, PS, 0x5a);
	CU_ASSERT_FATAL(munmap(data_page, PS) == 0);
	own_memory_at(data_page, PS, 0x6b);
	/* a fault in the same extent maps the pool around the foreign page */
	CU_ASSERT(tu_try_write8(x.va + 7, 0x31) == 0);
	CU_ASSERT(tu_try_write8(x.va + 5 * PS, 0x32) == 0);
	CU_ASSERT(all_bytes(hole_page, PS, 0x5a));
	/* a punch of both extents tears down only what is still the library's */
	TU_OK(daxmap_obj_punch_hole(x.obj, 0, 2 * SES));
	CU_ASSERT(all_bytes(hole_page, PS, 0x5a));
	CU_ASSERT(all_bytes(data_page, PS, 0x6b));
	sig = tu_try_read8(x.va + 7, &v);
	if (sig || v)
		fprintf(stderr, "  read of the punched extent: signal %d, value %#x\n", sig, v);
	CU_ASSERT(sig == 0 && v == 0);
	CU_ASSERT(tu_try_write8(x.va + SES + 9, 0x41) == 0);
	CU_ASSERT(all_bytes(data_page, PS, 0x6b));
	/* a shrink and a grow pass over them too */
	TU_OK(daxmap_obj_truncate(x.obj, 100));
	TU_OK(daxmap_obj_truncate(x.obj, x.len));
	CU_ASSERT(all_bytes(hole_page, PS, 0x5a));
	CU_ASSERT(all_bytes(data_page, PS, 0x6b));
	CU_ASSERT(tu_try_write8(x.va + 6 * SES, 0x42) == 0);
	TU_OK(daxmap_persist(x.va + 6 * SES, 1));
	fix_close(&x);
	/* daxmap_unmap left the application's memory alone */
	CU_ASSERT(tu_try_read8(hole_page, &v) == 0 && v == 0x5a);
	CU_ASSERT(tu_try_read8(data_page, &v) == 0 && v == 0x6b);
	munmap(hole_page, PS);
	munmap(data_page, PS);
	CU_ASSERT(pool_byte(x.path, "o", 6 * SES) == 0x42);
	tu_watchdog_disarm();
}

/*
 * The application munmaps a whole mapping without daxmap_unmap, and a new
 * mapping (of another object) gets the same address space: its faults must
 * resolve against its own object, not the dead mapping's, and the pools
 * close (the dead mapping is forgotten).
 */
static void test_munmap_of_whole_mapping_then_a_new_one_there(void)
{
	struct fix x;
	daxmap_obj *other = NULL;
	char *old, *nva = NULL;
	uint64_t nlen = 0;
	uint8_t v = 0xff;
	int tries;

	tu_watchdog_arm("munmap of a whole mapping", 30);
	x = fix_setup("munmap2.pool", 8 * SES);
	x.va[0] = 0x71; /* the first object has data at 0 */
	TU_OK(daxmap_persist(x.va, 1));
	TU_OK(daxmap_obj_open(&other, x.pool, "other", OCREATE));
	TU_OK(daxmap_obj_truncate(other, x.len));
	old = x.va;
	CU_ASSERT_FATAL(munmap(old, x.len) == 0);
	/* a mapping that the kernel places over some of the freed range: a
	 * reservation takes its length plus an extent, so try shorter ones */
	for (tries = 1; tries < 8; tries++) {
		nlen = x.len - (uint64_t)tries * SES;
		TU_OK(daxmap_map((void **)&nva, other, 0, nlen, RW));
		if (nva < old + x.len && nva + nlen > old)
			break;
		TU_OK(daxmap_unmap(nva, nlen));
	}
	if (tries < 8) {
		char *p = nva > old ? nva : old; /* in both */
		uint64_t off = (uint64_t)(p - nva);
		CU_ASSERT(tu_try_read8(p, &v) == 0 && v == 0); /* the other object: a hole */
		CU_ASSERT(tu_try_write8(p + 5, 0x72) == 0);
		TU_OK(daxmap_persist(p + 5, 1));
		TU_OK(daxmap_unmap(nva, nlen));
		if (nva != old)
			CU_ASSERT(daxmap_unmap(old, x.len) == -EINVAL); /* forgotten */
		TU_OK(daxmap_obj_close(other));
		x.va = NULL;
		fix_close(&x);
		CU_ASSERT(pool_byte(x.path, "o", 0) == 0x71);
		CU_ASSERT(pool_byte(x.path, "other", off + 5) == 0x72);
	} else {
		printf("\n  (the freed range was not handed out again: nothing to check)\n");
		TU_OK(daxmap_unmap(old, x.len)); /* the dead one, still known */
		TU_OK(daxmap_obj_close(other));
		x.va = NULL;
		fix_close(&x);
	}
	tu_watchdog_disarm();
}

/*
 * MADV_DONTNEED of a mapping by the application drops nothing of the pool:
 * written bytes read back, holes read zero, writes still reach the pool.
 */
static void test_madvise_dontneed_of_mapping_keeps_pool_data(void)
{
	struct fix x;
	uint8_t v = 0xff;

	tu_watchdog_arm("madvise of a mapping", 30);
	x = fix_setup("madv.pool", 8 * SES);
	x.va[0] = 0x12;
	CU_ASSERT(tu_try_read8(x.va + 2 * SES, &v) == 0 && v == 0); /* zeros of a hole read */
	CU_ASSERT(madvise(x.va, x.len, MADV_DONTNEED) == 0);
	CU_ASSERT(x.va[0] == 0x12);
	CU_ASSERT(tu_try_read8(x.va + 2 * SES, &v) == 0 && v == 0);
	CU_ASSERT(tu_try_write8(x.va + 2 * SES + 1, 0x13) == 0);
	TU_OK(daxmap_persist(x.va, x.len));
	fix_close(&x);
	CU_ASSERT(pool_byte(x.path, "o", 0) == 0x12);
	CU_ASSERT(pool_byte(x.path, "o", 2 * SES + 1) == 0x13);
	tu_watchdog_disarm();
}

/* ======================================================================
 * 3. mlockall and mlock
 * ====================================================================== */

/*
 * In a child (mlockall changes the whole process): stores into a mapping
 * made after mlockall(MCL_CURRENT|MCL_FUTURE), or into a mapping that was
 * mlock()ed, reach the pool, or daxmap_map refuses with a message. Returns
 * the child's exit status: 0 reached, 1 lost, 2 refused, 3 setup failed.
 */
static int child_stores_under_mlock(const char *name, int how)
{
	const uint64_t len = 8 * SES;
	struct daxmap_pool_opts o;
	struct daxmap_pool_stat st;
	daxmap_pool *pool = NULL;
	daxmap_obj *obj = NULL;
	const char *path = tu_path(name);
	char *va;
	pid_t pid;
	int status, ret;

	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid > 0) {
		CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
		if (!WIFEXITED(status)) {
			fprintf(stderr, "  child (%s) died of signal %d\n", name,
				WIFSIGNALED(status) ? WTERMSIG(status) : -1);
			return 4;
		}
		return WEXITSTATUS(status);
	}
	alarm(30); /* the child's watchdog */
	if (how == 0 && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
		perror("mlockall");
		_exit(3);
	}
	daxmap_pool_opts_init(&o);
	o.extent_size = blocks ? 2 * SES : SES;
	unlink(path);
	if (daxmap_pool_create_opts(&pool, path, 32 * MiB, 0600, &o) < 0 ||
	    daxmap_obj_open(&obj, pool, "lk", OCREATE) < 0 ||
	    daxmap_obj_truncate(obj, len) < 0) {
		fprintf(stderr, "  setup: %s\n", daxmap_errormsg());
		_exit(3);
	}
	ret = daxmap_map((void **)&va, obj, 0, len, RW);
	if (ret < 0) {
		fprintf(stderr, "  daxmap_map refused: %s\n", daxmap_errormsg());
		_exit(2);
	}
	if (how == 1 && mlock(va, len) < 0) {
		perror("mlock");
		_exit(3);
	}
	for (uint64_t e = 0; e < 8; e++)
		va[e * SES + 5] = (char)(0x70 + e);
	/* the teardowns of a punch and a shrink make fresh ranges: those too
	 * must bring their next stores to the pool */
	if (daxmap_obj_punch_hole(obj, 2 * SES, SES) < 0 || daxmap_obj_truncate(obj, 7 * SES) < 0 ||
	    daxmap_obj_truncate(obj, len) < 0) {
		fprintf(stderr, "  punch/truncate: %s\n", daxmap_errormsg());
		_exit(3);
	}
	va[2 * SES + 5] = 0x72;
	va[7 * SES + 5] = 0x77;
	daxmap_pool_stat(pool, &st);
	if (daxmap_persist(va, len) < 0 || daxmap_unmap(va, len) < 0 ||
	    daxmap_obj_close(obj) < 0 || daxmap_pool_close(pool) < 0) {
		fprintf(stderr, "  teardown: %s\n", daxmap_errormsg());
		_exit(3);
	}
	if (daxmap_pool_open(&pool, path) < 0 || daxmap_obj_open(&obj, pool, "lk", 0) < 0 ||
	    daxmap_map((void **)&va, obj, 0, len, DAXMAP_PROT_READ) < 0) {
		fprintf(stderr, "  reopen: %s\n", daxmap_errormsg());
		_exit(3);
	}
	ret = 0;
	for (uint64_t e = 0; e < 8; e++)
		if (va[e * SES + 5] != (char)(0x70 + e))
			ret = 1;
	if (ret)
		fprintf(stderr, "  stores lost (%s): faults %llu, extents allocated %llu\n",
			how ? "mlock" : "mlockall", (unsigned long long)st.faults,
			(unsigned long long)st.extents_allocated);
	_exit(ret);
}

static void test_mlockall_stores_reach_pool_or_map_refuses(void)
{
	int r;

	if (TU_SANITIZED) {
		printf("\n  skipped: mlockall under a sanitizer locks its shadow memory\n");
		return;
	}
	r = child_stores_under_mlock("mlockall.pool", 0);
	CU_ASSERT(r == 0 || r == 2);
}

static void test_mlock_of_mapping_stores_reach_pool(void)
{
	int r;

	if (TU_TSAN) {
		printf("\n  skipped: ThreadSanitizer cannot follow the library in a fork child\n");
		return;
	}
	r = child_stores_under_mlock("mlock.pool", 1);
	CU_ASSERT(r == 0 || r == 2);
}

/* ======================================================================
 * 4. two mappings of one object
 * ====================================================================== */

#define COH_EXTENTS 2000u
#define COH_THREADS 3u

struct coh_run {
	char *m0, *m1;
	unsigned id;
	_Atomic unsigned *go;
	unsigned misses;
};

static void *coh_main(void *arg)
{
	struct coh_run *r = arg;

	/* every thread in every extent, all at once: one of them takes the
	 * fault, the others store into pages it has just published */
	for (unsigned e = 0; e < COH_EXTENTS; e++) {
		volatile char *w = r->m0 + (uint64_t)e * SES + PS * r->id;
		volatile char *rd = r->m1 + (uint64_t)e * SES + PS * r->id;

		atomic_fetch_add(r->go, 1);
		while (atomic_load(r->go) < (e + 1) * COH_THREADS)
			;
		*w = (char)(e | 1);
		if (*rd != (char)(e | 1))
			r->misses++;
	}
	return NULL;
}

/*
 * Mapping M1 reads every extent while it is a hole (zeros); then threads
 * store through M0 and load the same byte back through M1: the load must
 * see the thread's own completed store, every time.
 */
static void test_store_through_one_mapping_is_seen_through_another(void)
{
	const uint64_t len = (uint64_t)COH_EXTENTS * SES;
	struct coh_run r[COH_THREADS];
	pthread_t t[COH_THREADS];
	_Atomic unsigned go = 0;
	daxmap_pool *pool;
	daxmap_obj *obj = NULL;
	char *m0, *m1;
	unsigned misses = 0;
	uint8_t v;

	tu_watchdog_arm("two mappings, store then load", 60);
	pool = pool_create_es("coh.pool", len + 32 * MiB, SES);
	TU_OK(daxmap_obj_open(&obj, pool, "co", OCREATE));
	TU_OK(daxmap_obj_truncate(obj, len));
	TU_OK(daxmap_map((void **)&m0, obj, 0, len, RW));
	TU_OK(daxmap_map((void **)&m1, obj, 0, len, RW));
	for (uint64_t e = 0; e < COH_EXTENTS; e++)
		CU_ASSERT_FATAL(tu_try_read8(m1 + e * SES, &v) == 0 && v == 0);
	for (unsigned i = 0; i < COH_THREADS; i++) {
		r[i] = (struct coh_run){.m0 = m0, .m1 = m1, .id = i, .go = &go};
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, coh_main, &r[i]) == 0);
	}
	for (unsigned i = 0; i < COH_THREADS; i++) {
		pthread_join(t[i], NULL);
		misses += r[i].misses;
	}
	printf("\n  %u extents: %u loads through the other mapping missed the store\n",
	       COH_EXTENTS, misses);
	CU_ASSERT(misses == 0);
	TU_OK(daxmap_unmap(m0, len));
	TU_OK(daxmap_unmap(m1, len));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	tu_watchdog_disarm();
}

/* ======================================================================
 * 5. a corrupted size word
 * ====================================================================== */

/* Byte offset of the slot of object `name` in the pool file (format of src/layout.h:
 * object table at 64 KiB, 256-byte slots: state, size, goal, name_len, reserved,
 * checksum, name). */
static off_t slot_of(int fd, const char *name)
{
	for (off_t off = 65536;; off += 256) {
		unsigned char s[256];
		uint32_t nl;
		CU_ASSERT_FATAL(pread(fd, s, sizeof(s), off) == (ssize_t)sizeof(s));
		memcpy(&nl, s + 24, 4);
		if (nl == strlen(name) && !memcmp(s + 40, name, nl))
			return off;
		CU_ASSERT_FATAL(off < 65536 + 4096 * 256);
	}
}

struct check_lines {
	char text[8192];
	unsigned damaged;
};

static void check_report(const char *msg, void *arg)
{
	struct check_lines *c = arg;
	size_t n = strlen(c->text);
	if (!strncmp(msg, "damaged:", 8))
		c->damaged++;
	snprintf(c->text + n, sizeof(c->text) - n, "    %s\n", msg);
}

/*
 * The size word of an object is lowered in the pool file (every checksum
 * stays valid). The checker must not call that clean, and what open
 * accepts must not show the old bytes again when the object grows back.
 */
static void test_shrunk_size_word_exposes_no_old_bytes(void)
{
	const uint64_t forged = SES + 100;
	struct check_lines cl;
	struct fix x;
	int fd, ret;
	off_t slot;

	tu_watchdog_arm("a shrunk size word", 30);
	x = fix_setup("size.pool", 4 * SES);
	memset(x.va, 0xa5, x.len);
	TU_OK(daxmap_persist(x.va, x.len));
	fix_close(&x);

	fd = open(x.path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	slot = slot_of(fd, "o");
	CU_ASSERT_FATAL(pwrite(fd, &forged, 8, slot + 8) == 8);
	close(fd);

	memset(&cl, 0, sizeof(cl));
	ret = daxmap_pool_check(x.path, DAXMAP_CHECK_DATA, check_report, &cl);
	printf("\n  check --data of the forged pool: %d\n%s", ret, cl.text);
	CU_ASSERT(ret == 1 && cl.damaged > 0);

	TU_OK(daxmap_pool_open(&x.pool, x.path));
	TU_OK(daxmap_obj_open(&x.obj, x.pool, "o", 0));
	TU_OK(daxmap_obj_truncate(x.obj, x.len));
	TU_OK(daxmap_map((void **)&x.va, x.obj, 0, x.len, DAXMAP_PROT_READ));
	CU_ASSERT(all_bytes(x.va, (size_t)forged, 0xa5));
	CU_ASSERT(all_bytes(x.va + forged, (size_t)(x.len - forged), 0));
	fix_close(&x);
	tu_watchdog_disarm();
}

/* ======================================================================
 * 6. mprotect
 * ====================================================================== */

/*
 * daxmap_mprotect changes what the library maps: after a change to
 * read-only, a fault maps read-only (a write is SIGSEGV, where a plain
 * mprotect would have been undone by the next fault mapping the extent
 * read-write); no access at all with 0; back to read-write, the write
 * after a hole read made while read-only still reaches the pool. A mapping
 * made read-only by daxmap_map can be made writable too.
 */
static void test_daxmap_mprotect_is_respected_by_later_faults(void)
{
	struct fix x;
	daxmap_obj *obj2 = NULL;
	char *ro;
	uint8_t v = 0xff;

	tu_watchdog_arm("daxmap_mprotect", 30);
	x = fix_setup("mprot.pool", 8 * SES);
	x.va[0] = 1;
	/* extent 5 gets data through another mapping: in x.va it is a read of
	 * data, which maps pool pages (read-write, before: defect 6) */
	TU_OK(daxmap_obj_open(&obj2, x.pool, "o", 0));
	TU_OK(daxmap_map((void **)&ro, obj2, 0, x.len, RW));
	ro[5 * SES] = 0x55;
	TU_OK(daxmap_unmap(ro, x.len));
	CU_ASSERT(daxmap_mprotect(x.va, x.len, DAXMAP_PROT_WRITE) == -EINVAL);
	CU_ASSERT(daxmap_mprotect(x.va, SES, DAXMAP_PROT_READ) == -EINVAL);
	TU_OK(daxmap_mprotect(x.va, x.len, DAXMAP_PROT_READ));
	CU_ASSERT(tu_try_read8(x.va + 2 * SES, &v) == 0 && v == 0); /* hole read */
	CU_ASSERT(tu_try_write8(x.va + 2 * SES, 1) == SIGSEGV);
	CU_ASSERT(tu_try_write8(x.va + 3 * SES, 1) == SIGSEGV); /* untouched */
	CU_ASSERT(tu_try_read8(x.va + 5 * SES, &v) == 0 && v == 0x55); /* read fault maps... */
	CU_ASSERT(tu_try_write8(x.va + 5 * SES, 1) == SIGSEGV);        /* ...read-only */
	CU_ASSERT(tu_try_write8(x.va, 2) == SIGSEGV);
	CU_ASSERT(x.va[0] == 1);
	TU_OK(daxmap_mprotect(x.va, x.len, 0));
	CU_ASSERT(tu_try_read8(x.va, &v) == SIGSEGV);
	CU_ASSERT(tu_try_read8(x.va + 6 * SES, &v) == SIGSEGV);
	TU_OK(daxmap_mprotect(x.va, x.len, RW));
	CU_ASSERT(tu_try_write8(x.va + 2 * SES + 1, 0x61) == 0); /* after the hole read */
	CU_ASSERT(tu_try_write8(x.va + 4 * SES, 0x62) == 0);
	CU_ASSERT(tu_try_write8(x.va, 0x63) == 0);
	TU_OK(daxmap_persist(x.va, x.len));
	/* a mapping made read-only, then writable */
	TU_OK(daxmap_map((void **)&ro, obj2, 0, x.len, DAXMAP_PROT_READ));
	CU_ASSERT(tu_try_read8(ro + 7 * SES, &v) == 0 && v == 0);
	TU_OK(daxmap_mprotect(ro, x.len, RW));
	CU_ASSERT(tu_try_write8(ro + 7 * SES + 1, 0x64) == 0);
	CU_ASSERT(x.va[7 * SES + 1] == 0x64);
	TU_OK(daxmap_persist(ro, x.len));
	TU_OK(daxmap_unmap(ro, x.len));
	TU_OK(daxmap_obj_close(obj2));
	fix_close(&x);
	CU_ASSERT(pool_byte(x.path, "o", 2 * SES + 1) == 0x61);
	CU_ASSERT(pool_byte(x.path, "o", 4 * SES) == 0x62);
	CU_ASSERT(pool_byte(x.path, "o", 0) == 0x63);
	CU_ASSERT(pool_byte(x.path, "o", 7 * SES + 1) == 0x64);
	tu_watchdog_disarm();
}

/* ======================================================================
 * 7. the VMA limit
 * ====================================================================== */

static long max_map_count(void)
{
	long n = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/*
 * Uses up the process's VMAs: a PROT_READ region split by mprotect of every
 * other page until the kernel refuses. Returns the region (*len its size);
 * `spare` VMAs are given back at the end.
 */
static char *eat_vmas(size_t *len, unsigned spare)
{
	size_t n = (size_t)max_map_count() * 2 + 64, i, made;
	char *p = mmap(NULL, n * PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	for (i = 1; i < n; i += 2)
		if (mprotect(p + i * PS, PS, PROT_NONE) < 0)
			break;
	made = i;
	/* give back `spare` splits: each mprotect back to PROT_READ merges two */
	for (unsigned k = 0; k < spare && made > 2; k++) {
		made -= 2;
		mprotect(p + made * PS, PS, PROT_READ);
	}
	*len = n * PS;
	return p;
}

/*
 * At vm.max_map_count, daxmap_map says that the VMA limit is the cause and
 * how to raise it, and a fault that cannot be mapped is SIGBUS quickly (it
 * must not take about 150 ms holding its range and maps_lock).
 */
static void test_vma_limit_is_named_and_fails_fast(void)
{
	daxmap_pool *pool;
	daxmap_obj *obj = NULL;
	char *va = NULL, *eaten, *ok[8];
	size_t elen;
	int nok;
	unsigned sigbus = 0;
	double t0, dt;
	int ret;

	if (TU_SANITIZED) {
		printf("\n  skipped: a sanitizer runtime cannot run at the VMA limit\n");
		return;
	}
	tu_watchdog_arm("faults at the VMA limit", 120);
	pool = pool_create_es("vma.pool", 64 * MiB, SES);
	TU_OK(daxmap_obj_open(&obj, pool, "vm", OCREATE));
	TU_OK(daxmap_obj_truncate(obj, 32 * SES));

	eaten = eat_vmas(&elen, 0);
	/* a reservation may merge with a neighbour once; the ones after cannot */
	for (nok = 0; nok < 8; nok++)
		if ((ret = daxmap_map((void **)&ok[nok], obj, 0, 3 * PS, RW)) < 0)
			break;
	printf("\n  daxmap_map at the limit: %d: %s\n", ret, daxmap_errormsg());
	CU_ASSERT(ret == -ENOMEM);
	CU_ASSERT(strstr(daxmap_errormsg(), "max_map_count") != NULL);
	munmap(eaten, elen);
	while (nok > 0)
		TU_OK(daxmap_unmap(ok[--nok], 3 * PS));

	/* room for the mapping only: its faults cannot split it */
	TU_OK(daxmap_map((void **)&va, obj, 0, 32 * SES, RW));
	eaten = eat_vmas(&elen, 0);
	t0 = now_s();
	for (unsigned e = 1; e < 21; e += 2)
		sigbus += tu_try_write8(va + (uint64_t)e * SES, 1) == SIGBUS;
	dt = now_s() - t0;
	munmap(eaten, elen);
	printf("  10 faults at the limit: %u SIGBUS, %.1f ms each\n", sigbus, dt * 100);
	CU_ASSERT(sigbus >= 5);
	CU_ASSERT(dt < 10 * 0.02); /* well under 20 ms a fault */
	/* with VMAs to spare again, the same pages fault afresh (error markers
	 * are cleared after ~20 ms) and succeed */
	usleep(100 * 1000);
	CU_ASSERT(tu_try_write8(va + SES, 2) == 0);
	TU_OK(daxmap_unmap(va, 32 * SES));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	tu_watchdog_disarm();
}

/* ======================================================================
 * 8. debugger reads
 * ====================================================================== */

/*
 * gdb reads through /proc/PID/mem (and ptrace). The outcome for holes is
 * what doc says: written pages read back their bytes; a hole reads zeros,
 * or fails with EIO where the kernel does not let a remote read raise a
 * userfaultfd fault; never other bytes, never a hang. process_vm_readv
 * does raise the fault and reads zeros.
 */
static void test_debugger_reads_of_mapping(void)
{
	struct iovec local, remote;
	struct fix x;
	char buf[64];
	ssize_t n;
	int fd;

	tu_watchdog_arm("debugger reads", 30);
	x = fix_setup("dbg.pool", 4 * SES);
	memset(x.va, 0x3c, 64);
	fd = open("/proc/self/mem", O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pread(fd, buf, 64, (off_t)(uintptr_t)x.va) == 64 && all_bytes(buf, 64, 0x3c));
	memset(buf, 0x77, sizeof(buf));
	n = pread(fd, buf, 64, (off_t)(uintptr_t)(x.va + 2 * SES));
	printf("\n  /proc/self/mem read of a hole: %zd (%s)\n", n, n < 0 ? strerror(errno) : "ok");
	CU_ASSERT((n == 64 && all_bytes(buf, 64, 0)) || (n < 0 && errno == EIO));
	close(fd);
	memset(buf, 0x77, sizeof(buf));
	local = (struct iovec){.iov_base = buf, .iov_len = 64};
	remote = (struct iovec){.iov_base = x.va + 3 * SES, .iov_len = 64};
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	printf("  process_vm_readv of a hole: %zd (%s)\n", n, n < 0 ? strerror(errno) : "ok");
	CU_ASSERT(n == 64 && all_bytes(buf, 64, 0));
	CU_ASSERT(pstat(x.pool).extents_allocated == 1);
	fix_close(&x);
	tu_watchdog_disarm();
}

/* ======================================================================
 * stress: the application's own memory calls beside faults and punches
 * ====================================================================== */

#define ST_THREADS 4u
#define ST_EXTENTS 64u
#define ST_SLOTS 8u      /* checked bytes per extent: one per page 0..7 */
#define ST_FOREIGN 6u    /* pages a thread unmaps and refills per cycle */
#define ST_MOVED 6u      /* pages a thread moves away per cycle */
#define ST_OPS 400u      /* stores, loads and punches per cycle */

struct st_run {
	daxmap_obj *obj;
	char *m0;        /* a mapping nobody unmaps parts of: coherence check */
	unsigned id;
	uint64_t seed;
	double until;
	/* extent e belongs to thread e % ST_THREADS: only it stores and punches
	 * there, so its model of those bytes is exact */
	uint8_t model[ST_EXTENTS][ST_SLOTS];
	unsigned cycles, stores, punches, foreign, moved, bad;
};

static uint64_t st_slot_off(unsigned e, unsigned s)
{
	return (uint64_t)e * SES + (uint64_t)s * PS + 17;
}

static void st_bad(struct st_run *r, const char *what, unsigned e, unsigned s, int sig, int got,
		   int want)
{
	if (r->bad++ < 10)
		fprintf(stderr, "  thread %u: %s at extent %u slot %u: signal %d, read %#x, want %#x\n",
			r->id, what, e, s, sig, got, want);
}

static void *st_main(void *arg)
{
	struct st_run *r = arg;
	const uint64_t len = (uint64_t)ST_EXTENTS * SES;
	char *spare = spare_range(ST_MOVED * PS);

	while (now_s() < r->until && r->bad == 0) {
		char *va, *fpage[ST_FOREIGN], *mpage[ST_MOVED];
		unsigned nf = 0, nm = 0, me[ST_MOVED], ms[ST_MOVED];
		uint8_t mval[ST_MOVED], mpunched[ST_MOVED], v;
		int sig;

		if (daxmap_map((void **)&va, r->obj, 0, len, RW) < 0) {
			st_bad(r, "daxmap_map", 0, 0, 0, 0, 0);
			break;
		}
		for (unsigned op = 0; op < ST_OPS; op++) {
			uint64_t x = tu_rand(&r->seed);
			unsigned e = (unsigned)(x % (ST_EXTENTS / ST_THREADS)) * ST_THREADS + r->id;
			unsigned sl = (unsigned)((x >> 16) % ST_SLOTS), k;
			char *p = va + st_slot_off(e, sl), *pg = (char *)((uintptr_t)p & ~(uintptr_t)(PS - 1));
			int gone = 0;

			for (k = 0; k < nf; k++)
				gone |= fpage[k] == pg;
			for (k = 0; k < nm; k++)
				gone |= mpage[k] == pg;
			switch ((x >> 32) % 16) {
			case 0: /* the application's own memory where a page of the mapping was */
				if (nf < ST_FOREIGN && !gone) {
					CU_ASSERT_FATAL(munmap(pg, PS) == 0);
					own_memory_at(pg, PS, (uint8_t)(0xc0 | r->id));
					fpage[nf++] = pg;
					r->foreign++;
				}
				break;
			case 1: /* a page moved away with mremap */
				if (nm < ST_MOVED && !gone &&
				    mremap(pg, PS, PS, MREMAP_MAYMOVE | MREMAP_FIXED, spare + nm * PS) !=
					    MAP_FAILED) {
					mpage[nm] = pg;
					me[nm] = e;
					ms[nm] = sl;
					mpunched[nm] = 0;
					mval[nm++] = r->model[e][sl];
					r->moved++;
				}
				break;
			case 2:
				if (daxmap_obj_punch_hole(r->obj, (uint64_t)e * SES, SES) < 0) {
					st_bad(r, "punch", e, 0, 0, 0, 0);
					break;
				}
				memset(r->model[e], 0, ST_SLOTS);
				for (k = 0; k < nm; k++)
					if (me[k] == e)
						mpunched[k] = 1; /* its copy: SIGSEGV from now on */
				r->punches++;
				break;
			case 3:
			case 4:
			case 5:
			case 6:
			case 7: /* store, then load it back through the other mapping */
				if (gone)
					break;
				v = (uint8_t)(x >> 40) | 1;
				if ((sig = tu_try_write8(p, v)) != 0) {
					st_bad(r, "store", e, sl, sig, 0, v);
					break;
				}
				r->model[e][sl] = v;
				r->stores++;
				sig = tu_try_read8(r->m0 + st_slot_off(e, sl), &v);
				if (sig || v != r->model[e][sl])
					st_bad(r, "load through the other mapping", e, sl, sig, v,
					       r->model[e][sl]);
				break;
			default: /* load */
				if (gone)
					break;
				sig = tu_try_read8(p, &v);
				if (sig || v != r->model[e][sl])
					st_bad(r, "load", e, sl, sig, v, r->model[e][sl]);
				break;
			}
		}
		/* what the application put there is untouched by everyone's faults
		 * and punches, and by daxmap_unmap */
		for (unsigned k = 0; k < nf; k++)
			if (!all_bytes(fpage[k], PS, (uint8_t)(0xc0 | r->id)))
				st_bad(r, "own memory clobbered (before unmap)", 0, k, 0, fpage[k][0], 0xc0);
		for (unsigned k = 0; k < nm; k++) {
			/* a moved page of pool pages reads its value until its
			 * extent is punched (then SIGSEGV); a moved hole is in
			 * no mapping (a part of a mapping is not followed):
			 * SIGBUS, or zeros of a hole read; never other bytes */
			sig = tu_try_read8(spare + k * PS + 17, &v);
			if (!(sig == SIGBUS || sig == SIGSEGV || (sig == 0 && v == 0) ||
			      (sig == 0 && !mpunched[k] && v == mval[k])))
			{
				FILE *mf = fopen("/proc/self/maps", "r");
				char line[256];
				uintptr_t a0 = (uintptr_t)(spare + k * PS);
				while (mf && fgets(line, sizeof(line), mf)) {
					unsigned long b0, b1;
					if (sscanf(line, "%lx-%lx", &b0, &b1) == 2 && b0 <= a0 && b1 > a0)
						fprintf(stderr, "    copy %#lx: %s", (unsigned long)a0, line);
				}
				if (mf)
					fclose(mf);
				fprintf(stderr, "    punched %d model %#x mval %#x\n", mpunched[k], r->model[me[k]][ms[k]], mval[k]);
				st_bad(r, "moved page", me[k], ms[k], sig, v, mval[k]);
			}
		}
		if (daxmap_unmap(va, len) < 0)
			st_bad(r, "daxmap_unmap", 0, 0, 0, 0, 0);
		for (unsigned k = 0; k < nf; k++) {
			if (!all_bytes(fpage[k], PS, (uint8_t)(0xc0 | r->id)))
				st_bad(r, "own memory clobbered (after unmap)", 0, k, 0, fpage[k][0],
				       0xc0);
			munmap(fpage[k], PS);
		}
		munmap(spare, ST_MOVED * PS);
		spare = spare_range(ST_MOVED * PS);
		r->cycles++;
	}
	munmap(spare, ST_MOVED * PS);
	return NULL;
}

/*
 * Threads map the object, unmap pages of their mapping and put memory of
 * their own there, move pages away with mremap, store, load and punch, and
 * unmap and map again, all at once; each has its extents and a byte model
 * of them. Checked: loads (through its mapping and through a mapping that
 * nobody changes) see the model, the application's memory is never
 * touched, a moved page never shows another extent's bytes, nothing hangs,
 * and the pool holds the model after a reopen. DAXMAP_MM_STRESS_SECS sets
 * the time (default 5 s).
 */
static void test_stress_own_memory_calls_beside_faults_and_punches(void)
{
	const char *secs = getenv("DAXMAP_MM_STRESS_SECS");
	const uint64_t len = (uint64_t)ST_EXTENTS * SES;
	double dur = secs && *secs ? atof(secs) : 5.0;
	uint64_t seed = tu_seed("mm stress");
	static struct st_run r[ST_THREADS];
	pthread_t t[ST_THREADS];
	unsigned bad = 0;
	struct fix x;

	tu_watchdog_arm("mm stress", (unsigned)dur + 60);
	x = fix_setup("stress.pool", len);
	for (unsigned i = 0; i < ST_THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].obj = x.obj;
		r[i].m0 = x.va;
		r[i].id = i;
		r[i].seed = seed + i * 0x9e3779b97f4a7c15u;
		r[i].until = now_s() + dur;
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, st_main, &r[i]) == 0);
	}
	for (unsigned i = 0; i < ST_THREADS; i++) {
		pthread_join(t[i], NULL);
		printf("  thread %u: %u cycles, %u stores, %u punches, %u own pages, %u moved, %u bad\n",
		       i, r[i].cycles, r[i].stores, r[i].punches, r[i].foreign, r[i].moved, r[i].bad);
		bad += r[i].bad;
	}
	CU_ASSERT(bad == 0);
	TU_OK(daxmap_persist(x.va, len));
	fix_close(&x);
	/* the pool holds the model */
	{
		static char back[ST_EXTENTS * SES];
		pool_read_back(x.path, "o", 0, back, sizeof(back));
		for (unsigned e = 0; e < ST_EXTENTS; e++)
			for (unsigned sl = 0; sl < ST_SLOTS; sl++)
				if ((uint8_t)back[st_slot_off(e, sl)] != r[e % ST_THREADS].model[e][sl] &&
				    bad++ < 10)
					fprintf(stderr, "  pool: extent %u slot %u holds %#x, want %#x\n", e,
						sl, (uint8_t)back[st_slot_off(e, sl)],
						r[e % ST_THREADS].model[e][sl]);
	}
	CU_ASSERT(bad == 0);
	tu_watchdog_disarm();
}

int main(void)
{
	blocks = getenv("DAXMAP_TEST_BLOCKS") && atoi(getenv("DAXMAP_TEST_BLOCKS")) == 1;
	if (blocks)
		printf("test_mm: on objects made of blocks (DAXMAP_TEST_BLOCKS=1)\n");
	static const struct tu_test tests[] = {
		{"mremap_of_mapping_is_followed", test_mremap_of_mapping_is_followed},
		{"mremap_of_part_of_mapping_never_hangs", test_mremap_of_part_of_mapping_never_hangs},
		{"mremap_of_pool_pages_never_outlives_their_extent",
		 test_mremap_of_pool_pages_never_outlives_their_extent},
		{"munmap_of_part_then_own_memory_is_never_clobbered",
		 test_munmap_of_part_then_own_memory_is_never_clobbered},
		{"munmap_of_whole_mapping_then_a_new_one_there",
		 test_munmap_of_whole_mapping_then_a_new_one_there},
		{"madvise_dontneed_of_mapping_keeps_pool_data",
		 test_madvise_dontneed_of_mapping_keeps_pool_data},
		{"mlockall_stores_reach_pool_or_map_refuses",
		 test_mlockall_stores_reach_pool_or_map_refuses},
		{"mlock_of_mapping_stores_reach_pool", test_mlock_of_mapping_stores_reach_pool},
		{"store_through_one_mapping_is_seen_through_another",
		 test_store_through_one_mapping_is_seen_through_another},
		{"shrunk_size_word_exposes_no_old_bytes", test_shrunk_size_word_exposes_no_old_bytes},
		{"daxmap_mprotect_is_respected_by_later_faults",
		 test_daxmap_mprotect_is_respected_by_later_faults},
		{"vma_limit_is_named_and_fails_fast", test_vma_limit_is_named_and_fails_fast},
		{"debugger_reads_of_mapping", test_debugger_reads_of_mapping},
		{"stress_own_memory_calls_beside_faults_and_punches",
		 test_stress_own_memory_calls_beside_faults_and_punches},
		{NULL, NULL},
	};
	return tu_run("mm", tests);
}
