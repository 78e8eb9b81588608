/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Truncate, punch hole and zero range racing with faults: stores and loads
 * through live mappings while another thread shrinks, grows and punches the
 * same object. What must hold (doc/LOCKING.md): nothing below the lowest EOF
 * ever faults with SIGBUS or loses a store; no store through a torn-down
 * mapping reaches an extent that was freed and handed to another object;
 * freed extents come back zeroed; a fault that waited for a shrink sees the
 * new EOF; two faults on one hole allocate one extent.
 *
 * Every test prints its seed (replay: DAXMAP_TEST_SEED=n), runs for a
 * bounded time (DAXMAP_TEST_RACE_SECS scales the churn, default 4 s per
 * test), and a watchdog aborts the program, naming the thread, when any
 * thread makes no progress for DAXMAP_TEST_WATCHDOG_SECS (default 60):
 * that is a deadlock.
 *
 * Worker threads never call CUnit (it is not thread-safe): they count and
 * print failures, and the test thread asserts on the counts after joining.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define EXT DAXMAP_DEFAULT_EXTENT_SIZE
#define PS UINT64_C(4096)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

/* ---- time, watchdog ------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double env_secs(const char *name, double dflt)
{
	const char *s = getenv(name);
	double v = s && *s ? strtod(s, NULL) : 0;
	return v > 0 ? v : dflt;
}

/* churn duration of one test, in ns */
static uint64_t churn_ns(void)
{
	return (uint64_t)(env_secs("DAXMAP_TEST_RACE_SECS", 4.0) * 1e9);
}

#define WD_SLOTS 32

struct wd_slot {
	_Atomic int used;
	const char *name;
	_Atomic uint64_t beat; /* now_ns() of the last sign of progress */
};

static struct wd_slot wd_slots[WD_SLOTS];
static const char *_Atomic wd_test = "(none)";
static _Atomic uint64_t wd_seed;

/* A thread says it is alive and will keep saying so; returns its slot. */
static int wd_register(const char *name)
{
	for (int i = 0; i < WD_SLOTS; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&wd_slots[i].used, &expect, 2)) {
			wd_slots[i].name = name;
			atomic_store(&wd_slots[i].beat, now_ns());
			atomic_store(&wd_slots[i].used, 1);
			return i;
		}
	}
	fprintf(stderr, "watchdog: out of slots\n");
	abort();
}

static void wd_beat(int slot)
{
	atomic_store_explicit(&wd_slots[slot].beat, now_ns(), memory_order_relaxed);
}

static void wd_done(int slot)
{
	atomic_store(&wd_slots[slot].used, 0);
}

static void *wd_thread(void *arg)
{
	uint64_t limit = (uint64_t)(env_secs("DAXMAP_TEST_WATCHDOG_SECS", 60.0) * 1e9);
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		uint64_t t;
		usleep(250 * 1000);
		t = now_ns();
		for (int i = 0; i < WD_SLOTS; i++) {
			uint64_t b = atomic_load(&wd_slots[i].beat);
			if (atomic_load(&wd_slots[i].used) != 1 || t < b || t - b <= limit)
				continue;
			fprintf(stderr,
				"\nWATCHDOG: test %s: thread \"%s\" made no progress for %.1f s: "
				"deadlock (seed %llu; replay with DAXMAP_TEST_SEED=%llu). Aborting.\n",
				atomic_load(&wd_test), wd_slots[i].name, (double)(t - b) / 1e9,
				(unsigned long long)atomic_load(&wd_seed),
				(unsigned long long)atomic_load(&wd_seed));
			for (int j = 0; j < WD_SLOTS; j++)
				if (atomic_load(&wd_slots[j].used) == 1)
					fprintf(stderr, "WATCHDOG:   \"%s\": last progress %.1f s ago\n",
						wd_slots[j].name,
						(double)(t - atomic_load(&wd_slots[j].beat)) / 1e9);
			fflush(stderr);
			abort();
		}
	}
	return NULL;
}

/* ---- failures reported by worker threads --------------------------------- */

static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long nfail;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	unsigned long n = atomic_fetch_add(&nfail, 1);

	if (n >= 20)
		return; /* the first ones tell the story */
	pthread_mutex_lock(&fail_mu);
	fprintf(stderr, "FAIL [%s seed %llu]: ", atomic_load(&wd_test),
		(unsigned long long)atomic_load(&wd_seed));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&fail_mu);
}

static uint64_t test_begin(const char *name)
{
	uint64_t seed = tu_seed(name);
	atomic_store(&wd_test, name);
	atomic_store(&wd_seed, seed);
	atomic_store(&nfail, 0);
	return seed;
}

/* ---- 8-byte accesses that may fault ---------------------------------------- */

/* Little-endian, byte by byte (testutil catches signals per byte access).
 * Returns 0 or the signal; a store cut by a signal leaves a torn word. */
static int try_write64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		int sig = tu_try_write8(p + i, (uint8_t)(v >> (8 * i)));
		if (sig)
			return sig;
	}
	return 0;
}

static int try_read64(const uint8_t *p, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t b;
		int sig = tu_try_read8(p + i, &b);
		if (sig)
			return sig;
		*v |= (uint64_t)b << (8 * i);
	}
	return 0;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/*
 * The word a thread stores at object offset off: byte 7 is its tag (writer
 * id + 1, or TAG_B for object B), bytes 4-6 a generation, bytes 0-3 the
 * offset / 8. Never zero.
 */
#define TAG_B 0xb0u
static uint64_t word(unsigned tag, uint64_t off, uint64_t gen)
{
	return ((uint64_t)tag << 56) | ((gen & 0xffffff) << 32) | ((off >> 3) & 0xffffffffu);
}

/* A word read back from A at off is plausible: every byte is zero (a hole,
 * zeroing, a torn store) or what some writer stores at off. Anything else
 * is data from another offset or another object. */
static int plausible_a(uint64_t v, uint64_t off, unsigned nwriters)
{
	uint64_t w = word(0, off, 0);
	unsigned tag = (unsigned)(v >> 56);
	for (int i = 0; i < 4; i++) {
		uint8_t b = (uint8_t)(v >> (8 * i)), e = (uint8_t)(w >> (8 * i));
		if (b != 0 && b != e)
			return 0;
	}
	return tag <= nwriters;
}

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	int ret = daxmap_pool_stat(pool, &st);
	CU_ASSERT_FATAL(ret == 0);
	return st;
}

/* ---- the churn of tests 1 and 2 ------------------------------------------- */

#define AMAX (64 * MiB)  /* A's largest size and mapping length */
#define FLOOR (16 * MiB) /* A never shrinks below, never punched below */
#define NWRITERS 3
#define BSIZE (16 * MiB) /* object B of test 2 */

struct churn {
	daxmap_pool *pool;
	daxmap_obj *a, *b;
	uint8_t *am, *bm;
	uint64_t seed, deadline;
	uint64_t *shadow; /* what A must hold below FLOOR, FLOOR / 8 words */
	_Atomic int stop;
	/* writers */
	_Atomic uint64_t writes, reads, sigbus, sigbus_below_floor, sigsegv, bad_sigaddr,
		readback_bad, foreign;
	/* truncater */
	_Atomic uint64_t ops[4], op_err;
	/* B checker */
	_Atomic uint64_t b_rounds, b_bad, b_err;
	uint64_t bgen[BSIZE / EXT];
};

struct writer_arg {
	struct churn *c;
	unsigned id;
	char name[32];
};

static void *writer_thread(void *arg)
{
	struct writer_arg *wa = arg;
	struct churn *c = wa->c;
	uint64_t rng = c->seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (wa->id + 1)), gen = 0;
	uint64_t npages = AMAX / PS, floor_pages = FLOOR / PS;
	int wd = wd_register(wa->name);

	while (!atomic_load(&c->stop)) {
		uint64_t r = tu_rand(&rng), page = r % npages, off, v;
		int is_read = (r >> 32) % 4 == 0, sig;

		wd_beat(wd);
		if (page < floor_pages) {
			/* below FLOOR: only my own pages, only stores */
			page = page - page % NWRITERS + wa->id;
			if (page >= floor_pages)
				continue;
			is_read = 0;
		}
		off = page * PS + ((r >> 40) % (PS / 8)) * 8;
		if (is_read) {
			sig = try_read64(c->am + off, &v);
			atomic_fetch_add(&c->reads, 1);
			if (sig == 0 && !plausible_a(v, off, NWRITERS)) {
				atomic_fetch_add(&c->foreign, 1);
				fail("A at offset %#llx reads %#llx: not zero and not a word "
				     "of A at this offset (stale or foreign data)",
				     (unsigned long long)off, (unsigned long long)v);
			}
		} else {
			v = word(wa->id + 1, off, ++gen);
			sig = try_write64(c->am + off, v);
			atomic_fetch_add(&c->writes, 1);
			if (sig == 0 && off < FLOOR) {
				uint64_t back;
				c->shadow[off / 8] = v;
				if (try_read64(c->am + off, &back) != 0 || back != v) {
					atomic_fetch_add(&c->readback_bad, 1);
					fail("A at offset %#llx: wrote %#llx, read back %#llx",
					     (unsigned long long)off, (unsigned long long)v,
					     (unsigned long long)back);
				}
			}
		}
		if (sig == SIGBUS) {
			uint8_t *at = tu_last_sigaddr();
			atomic_fetch_add(&c->sigbus, 1);
			if (at < c->am + FLOOR || off < FLOOR) {
				atomic_fetch_add(&c->sigbus_below_floor, 1);
				fail("SIGBUS at A offset %#llx (%s of offset %#llx): below FLOOR %#llx, "
				     "which is never past EOF",
				     (unsigned long long)(at - c->am), is_read ? "load" : "store",
				     (unsigned long long)off, (unsigned long long)FLOOR);
			}
			if (at < c->am + (off & ~(PS - 1)) || at >= c->am + off + 8) {
				atomic_fetch_add(&c->bad_sigaddr, 1);
				fail("SIGBUS for an access at A offset %#llx names address %p "
				     "(A offset %#llx)", (unsigned long long)off, (void *)at,
				     (unsigned long long)(at - c->am));
			}
		} else if (sig != 0) {
			atomic_fetch_add(&c->sigsegv, 1);
			fail("signal %d at A offset %#llx (%s)", sig, (unsigned long long)off,
			     is_read ? "load" : "store");
		}
	}
	wd_done(wd);
	return NULL;
}

/* Shrinks, grows, punches and zeroes A, never below FLOOR, until the deadline. */
static void *truncater_thread(void *arg)
{
	struct churn *c = arg;
	uint64_t rng = c->seed ^ UINT64_C(0x7472756e63617465);
	int wd = wd_register("truncater");
	static const char *const names[] = {"shrink", "grow", "punch", "zero range"};

	while (now_ns() < c->deadline) {
		uint64_t r = tu_rand(&rng), off, len, size = 0;
		int op = (int)(r % 4), ret;

		wd_beat(wd);
		off = FLOOR + tu_rand(&rng) % (AMAX - FLOOR);
		len = 1 + tu_rand(&rng) % (AMAX - off < 16 * MiB ? AMAX - off : 16 * MiB);
		switch (op) {
		case 0:
			ret = daxmap_obj_truncate(c->a, off); /* any byte >= FLOOR */
			break;
		case 1:
			ret = daxmap_obj_truncate(c->a, AMAX);
			break;
		case 2:
			ret = daxmap_obj_punch_hole(c->a, off, len);
			break;
		default:
			ret = daxmap_obj_zero_range(c->a, off, len); /* may extend, never past AMAX */
			break;
		}
		atomic_fetch_add(&c->ops[op], 1);
		if (ret < 0) {
			atomic_fetch_add(&c->op_err, 1);
			fail("%s of A (off %#llx len %#llx) = %d: %s", names[op],
			     (unsigned long long)off, (unsigned long long)len, ret,
			     daxmap_errormsg());
		}
		if (daxmap_obj_size(c->a, &size) == 0 && size < FLOOR)
			fail("A's size %#llx fell below FLOOR", (unsigned long long)size);
		if ((r >> 32) % 3 == 0)
			usleep((useconds_t)((r >> 40) % 300));
	}
	wd_done(wd);
	return NULL;
}

/* B extent k with generation g: every word is word(TAG_B, off, g). */
static void b_fill(struct churn *c, uint64_t k, uint64_t g)
{
	for (uint64_t off = k * EXT; off < (k + 1) * EXT; off += 8) {
		uint64_t v = word(TAG_B, off, g);
		memcpy(c->bm + off, &v, 8);
	}
}

/* Verifies all of B; returns the number of bad words (and reports the first). */
static uint64_t b_verify(struct churn *c, const char *when)
{
	uint64_t bad = 0;

	for (uint64_t off = 0; off < BSIZE; off += 8) {
		uint64_t want = word(TAG_B, off, c->bgen[off / EXT]), got = load64(c->bm + off);
		if (got != want && bad++ == 0)
			fail("B at offset %#llx (%s): %#llx, want %#llx%s",
			     (unsigned long long)off, when, (unsigned long long)got,
			     (unsigned long long)want,
			     plausible_a(got, off, NWRITERS) || (got >> 56) <= NWRITERS
				     ? " (a word of A: a store through a stale mapping of A)"
				     : "");
	}
	if (bad)
		fail("B: %llu bad words (%s)", (unsigned long long)bad, when);
	return bad;
}

/* Punches a random extent of B and rewrites it (taking whatever extent the
 * allocator hands out: often one A just freed), then checks all of B. */
static void *b_checker_thread(void *arg)
{
	struct churn *c = arg;
	uint64_t rng = c->seed ^ UINT64_C(0x636865636b657221);
	int wd = wd_register("B checker");

	while (!atomic_load(&c->stop)) {
		uint64_t k = tu_rand(&rng) % (BSIZE / EXT);
		int ret;

		wd_beat(wd);
		ret = daxmap_obj_punch_hole(c->b, k * EXT, EXT);
		if (ret < 0) {
			atomic_fetch_add(&c->b_err, 1);
			fail("punch of B extent %llu = %d: %s", (unsigned long long)k, ret,
			     daxmap_errormsg());
			break;
		}
		c->bgen[k]++;
		b_fill(c, k, c->bgen[k]);
		wd_beat(wd);
		if (b_verify(c, "after a rewrite, while A churns")) {
			atomic_fetch_add(&c->b_bad, 1);
			break;
		}
		atomic_fetch_add(&c->b_rounds, 1);
	}
	wd_done(wd);
	return NULL;
}

/* Compares A below FLOOR with the shadow; returns the number of bad words. */
static uint64_t a_verify_floor(struct churn *c, const char *when)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < FLOOR / 8; i++) {
		uint64_t got = load64(c->am + i * 8);
		if (got != c->shadow[i] && bad++ < 5)
			fail("A at offset %#llx (%s): %#llx, last written %#llx (writer %u)",
			     (unsigned long long)(i * 8), when, (unsigned long long)got,
			     (unsigned long long)c->shadow[i], (unsigned)((i * 8 / PS) % NWRITERS));
	}
	if (bad)
		fail("A below FLOOR: %llu words lost (%s)", (unsigned long long)bad, when);
	return bad;
}

/* Creates A (and B when with_b) in a pool of pool_size bytes and churns for churn_ns(). */
static void churn_run(struct churn *c, const char *poolname, uint64_t pool_size, int with_b,
		      int mainwd)
{
	pthread_t wt[NWRITERS], tt, bt;
	struct writer_arg wa[NWRITERS];
	uint64_t t0;

	c->pool = tu_pool_create(poolname, pool_size);
	c->shadow = calloc(FLOOR / 8, sizeof(uint64_t));
	CU_ASSERT_FATAL(c->shadow != NULL);
	TU_OK(daxmap_obj_open(&c->a, c->pool, "A", DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_truncate(c->a, AMAX));
	/* below FLOOR is allocated up front: a store there never needs space */
	TU_OK(daxmap_obj_allocate(c->a, 0, FLOOR));
	TU_OK(daxmap_map((void **)&c->am, c->a, 0, AMAX, RW));
	if (with_b) {
		TU_OK(daxmap_obj_open(&c->b, c->pool, "B", DAXMAP_CREATE | DAXMAP_EXCL));
		TU_OK(daxmap_obj_truncate(c->b, BSIZE));
		TU_OK(daxmap_map((void **)&c->bm, c->b, 0, BSIZE, RW));
		for (uint64_t k = 0; k < BSIZE / EXT; k++)
			b_fill(c, k, 0);
	}

	t0 = now_ns();
	c->deadline = t0 + churn_ns();
	for (unsigned i = 0; i < NWRITERS; i++) {
		wa[i].c = c;
		wa[i].id = i;
		snprintf(wa[i].name, sizeof(wa[i].name), "writer %u", i);
		CU_ASSERT_FATAL(pthread_create(&wt[i], NULL, writer_thread, &wa[i]) == 0);
	}
	if (with_b)
		CU_ASSERT_FATAL(pthread_create(&bt, NULL, b_checker_thread, c) == 0);
	CU_ASSERT_FATAL(pthread_create(&tt, NULL, truncater_thread, c) == 0);
	while (now_ns() < c->deadline) {
		wd_beat(mainwd);
		usleep(50 * 1000);
	}
	pthread_join(tt, NULL);
	atomic_store(&c->stop, 1);
	for (unsigned i = 0; i < NWRITERS; i++)
		pthread_join(wt[i], NULL);
	if (with_b)
		pthread_join(bt, NULL);
	wd_beat(mainwd);

	printf("  %.1f s: %llu stores, %llu loads, %llu SIGBUS (%llu below FLOOR); "
	       "%llu shrinks, %llu grows, %llu punches, %llu zero ranges",
	       (double)(now_ns() - t0) / 1e9, (unsigned long long)c->writes,
	       (unsigned long long)c->reads, (unsigned long long)c->sigbus,
	       (unsigned long long)c->sigbus_below_floor, (unsigned long long)c->ops[0],
	       (unsigned long long)c->ops[1], (unsigned long long)c->ops[2],
	       (unsigned long long)c->ops[3]);
	if (with_b)
		printf("; B rewritten and checked %llu times", (unsigned long long)c->b_rounds);
	printf("\n");
	CU_ASSERT_EQUAL(c->op_err, 0);
	CU_ASSERT_EQUAL(c->sigbus_below_floor, 0);
	CU_ASSERT_EQUAL(c->bad_sigaddr, 0);
	CU_ASSERT_EQUAL(c->sigsegv, 0);
	CU_ASSERT_EQUAL(c->readback_bad, 0);
	CU_ASSERT_EQUAL(c->foreign, 0);
	CU_ASSERT(c->ops[0] > 0 && c->ops[2] > 0);
	/* the race was run, not dodged: some accesses landed past EOF */
	CU_ASSERT(c->sigbus > 0);
}

static void churn_free(struct churn *c)
{
	free(c->shadow);
	c->shadow = NULL;
}

static void test_faulting_writers_race_truncate_and_punch(void)
{
	struct churn *c = calloc(1, sizeof(*c));
	const char *path;
	int wd = wd_register("main");

	CU_ASSERT_FATAL(c != NULL);
	c->seed = test_begin("faulting_writers_race_truncate_and_punch");
	churn_run(c, "race1.pool", 96 * MiB, 0, wd);
	CU_ASSERT_EQUAL(a_verify_floor(c, "after joining"), 0);

	/* and durably: the same bytes after unmap, close and reopen */
	path = tu_path("race1.pool");
	TU_OK(daxmap_unmap(c->am, AMAX));
	TU_OK(daxmap_obj_close(c->a));
	TU_OK(daxmap_pool_close(c->pool));
	wd_beat(wd);
	TU_OK(daxmap_pool_open(&c->pool, path));
	TU_OK(daxmap_obj_open(&c->a, c->pool, "A", 0));
	TU_OK(daxmap_map((void **)&c->am, c->a, 0, AMAX, RW));
	CU_ASSERT_EQUAL(a_verify_floor(c, "after reopen"), 0);
	TU_OK(daxmap_unmap(c->am, AMAX));
	TU_OK(daxmap_obj_close(c->a));
	TU_OK(daxmap_pool_close(c->pool));
	CU_ASSERT_EQUAL(nfail, 0);
	churn_free(c);
	free(c);
	wd_done(wd);
}

static void test_no_access_reaches_a_freed_extent(void)
{
	struct churn *c = calloc(1, sizeof(*c));
	struct daxmap_pool_stat st;
	daxmap_obj *cobj;
	uint8_t *cm;
	uint64_t t0, cbytes;
	int wd = wd_register("main");

	CU_ASSERT_FATAL(c != NULL);
	c->seed = test_begin("no_access_reaches_a_freed_extent");
	/* a tight pool: A at its largest plus B leave two extents, so B's
	 * allocations take the extents A's punches and shrinks just freed */
	churn_run(c, "race2.pool", AMAX + BSIZE + 2 * EXT + 4 * MiB, 1, wd);
	st = pstat(c->pool);
	CU_ASSERT_FATAL(st.data_size >= AMAX + BSIZE + EXT);
	CU_ASSERT_EQUAL(c->b_err, 0);
	CU_ASSERT_EQUAL(c->b_bad, 0);
	CU_ASSERT(c->b_rounds > 0);
	CU_ASSERT_EQUAL(b_verify(c, "after joining"), 0);
	CU_ASSERT_EQUAL(a_verify_floor(c, "after joining"), 0);

	/* A goes: exactly B's extents stay in use */
	TU_OK(daxmap_unmap(c->am, AMAX));
	TU_OK(daxmap_obj_close(c->a));
	TU_OK(daxmap_obj_unlink(c->pool, "A"));
	st = pstat(c->pool);
	CU_ASSERT_EQUAL(st.used, BSIZE);
	CU_ASSERT_EQUAL(st.used + st.free, st.data_size);
	if (st.used != BSIZE)
		fprintf(stderr, "used %llu after unlinking A, B holds %llu\n",
			(unsigned long long)st.used, (unsigned long long)BSIZE);

	/* every free extent zeroed by the background zeroer ... */
	t0 = now_ns();
	while ((st = pstat(c->pool)).free_unzeroed != 0 && now_ns() - t0 < 30 * 1000000000ull) {
		wd_beat(wd);
		usleep(10 * 1000);
	}
	CU_ASSERT_EQUAL_FATAL(st.free_unzeroed, 0);
	/* ... and then a fresh object C takes all of them: every byte reads zero */
	cbytes = st.free;
	TU_OK(daxmap_obj_open(&cobj, c->pool, "C", DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_allocate(cobj, 0, cbytes));
	st = pstat(c->pool);
	CU_ASSERT_EQUAL(st.free, 0);
	CU_ASSERT_EQUAL(st.used, BSIZE + cbytes);
	TU_OK(daxmap_map((void **)&cm, cobj, 0, cbytes, DAXMAP_PROT_READ));
	for (uint64_t off = 0, bad = 0; off < cbytes; off += 8) {
		uint64_t v = load64(cm + off);
		if (v != 0 && bad++ == 0) {
			fprintf(stderr, "C at offset %#llx (extent %llu) reads %#llx: stale data\n",
				(unsigned long long)off, (unsigned long long)(off / EXT),
				(unsigned long long)v);
			CU_FAIL("a fresh object's extent holds stale data");
		}
	}
	CU_ASSERT_EQUAL(b_verify(c, "after C took every free extent"), 0);
	TU_OK(daxmap_unmap(cm, cbytes));
	TU_OK(daxmap_obj_close(cobj));
	TU_OK(daxmap_unmap(c->bm, BSIZE));
	TU_OK(daxmap_obj_close(c->b));
	TU_OK(daxmap_pool_close(c->pool));
	CU_ASSERT_EQUAL(nfail, 0);
	churn_free(c);
	free(c);
	wd_done(wd);
}

/* ---- test 3: a fault waiting for a shrink --------------------------------- */

#define T3_SIZE (8 * MiB)
#define T3_AT (6 * MiB)
#define T3_SMALL (1 * MiB)
#define T3_FILL 0xa5

enum { PH_BEFORE, PH_SHRUNK, PH_GROWING, PH_GROWN };

struct t3 {
	const uint8_t *r;         /* the reader's mapping (fresh each cycle) */
	_Atomic int phase;        /* PH_*: set by the main thread around its calls */
	_Atomic int started, saw_sigbus;
	uint64_t first_sigbus;    /* cycles whose first access already saw SIGBUS */
	uint64_t n_fill, n_sigbus, n_zero;
	int wd;
};

/*
 * Reads at 6 MiB until three reads that began after the grow. Each read is
 * judged by the phase before it began and the phase after it ended: old data
 * only if it began before the shrink returned, zero only if it ended after
 * the grow began, SIGBUS only if it began before the grow returned; and the
 * order is old data, SIGBUS, zero.
 */
static void *t3_reader(void *arg)
{
	struct t3 *t = arg;
	int seen_bus = 0, seen_zero = 0, grown_reads = 0, first = 1;

	atomic_store(&t->started, 1);
	for (;;) {
		int ph = atomic_load(&t->phase), after, sig;
		uint8_t v = 0;

		wd_beat(t->wd);
		sig = tu_try_read8(t->r + T3_AT, &v);
		after = atomic_load(&t->phase);
		if (sig == SIGBUS) {
			t->n_sigbus++;
			if (first)
				t->first_sigbus++;
			if (tu_last_sigaddr() != (void *)(t->r + T3_AT))
				fail("SIGBUS names %p, the load was at %p", tu_last_sigaddr(),
				     (const void *)(t->r + T3_AT));
			if (seen_zero)
				fail("SIGBUS after the regrown object read zero (phase %d)", ph);
			if (ph == PH_GROWN)
				fail("SIGBUS for a read that began after the grow back to 8 MiB "
				     "returned");
			seen_bus = 1;
			atomic_store(&t->saw_sigbus, 1);
		} else if (sig != 0) {
			fail("signal %d reading 6 MiB (phase %d)", sig, ph);
			break;
		} else if (v == T3_FILL) {
			t->n_fill++;
			if (ph != PH_BEFORE)
				fail("read the old data at 6 MiB in a read that began after the "
				     "shrink to 1 MiB returned (phase %d)", ph);
			if (seen_bus || seen_zero)
				fail("read the old data at 6 MiB after %s", seen_bus ? "SIGBUS" : "zero");
		} else if (v == 0) {
			t->n_zero++;
			if (after < PH_GROWING)
				fail("read zero at 6 MiB in a read that ended before the grow began "
				     "(phase %d..%d): past EOF must be SIGBUS, and before the shrink "
				     "the old data", ph, after);
			seen_zero = 1;
		} else {
			fail("read %#x at 6 MiB (phase %d..%d): neither the data, zero, nor SIGBUS",
			     v, ph, after);
		}
		first = 0;
		if (ph == PH_GROWN && ++grown_reads >= 3)
			break;
	}
	return NULL;
}

static void test_fault_waiting_on_truncate_gets_sigbus_after_eof_moves(void)
{
	uint64_t rng = test_begin("fault_waiting_on_truncate_gets_sigbus_after_eof_moves");
	uint64_t t0 = now_ns(), deadline = t0 + churn_ns() / 2, cycles = 0;
	daxmap_pool *pool = tu_pool_create("race3.pool", 64 * MiB);
	struct t3 t;
	daxmap_obj *obj;
	uint8_t *w;
	int wd = wd_register("main");

	memset(&t, 0, sizeof(t));
	t.wd = wd_register("reader at 6 MiB");
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, T3_SIZE));
	TU_OK(daxmap_map((void **)&w, obj, 0, T3_SIZE, RW));
	memset(w, T3_FILL, T3_SIZE);

	while (cycles < 2000 && (cycles < 20 || now_ns() < deadline)) {
		pthread_t th;
		uint64_t spin, t1;

		wd_beat(wd);
		TU_OK(daxmap_map((void **)&t.r, obj, 0, T3_SIZE, DAXMAP_PROT_READ));
		atomic_store(&t.phase, PH_BEFORE);
		atomic_store(&t.started, 0);
		atomic_store(&t.saw_sigbus, 0);
		CU_ASSERT_FATAL(pthread_create(&th, NULL, t3_reader, &t) == 0);
		while (!atomic_load(&t.started))
			sched_yield();
		/* shrink at a random moment around the reader's first fault */
		spin = tu_rand(&rng) % 60000;
		for (t1 = now_ns(); now_ns() - t1 < spin;)
			;
		TU_OK(daxmap_obj_truncate(obj, T3_SMALL));
		atomic_store(&t.phase, PH_SHRUNK);
		for (t1 = now_ns(); !atomic_load(&t.saw_sigbus);) {
			wd_beat(wd);
			if (now_ns() - t1 > 10 * 1000000000ull)
				break;
			sched_yield();
		}
		if (!atomic_load(&t.saw_sigbus))
			fail("the reader never got SIGBUS in 10 s after the shrink (cycle %llu)",
			     (unsigned long long)cycles);
		atomic_store(&t.phase, PH_GROWING);
		TU_OK(daxmap_obj_truncate(obj, T3_SIZE));
		atomic_store(&t.phase, PH_GROWN);
		pthread_join(th, NULL);
		wd_beat(wd);
		TU_OK(daxmap_unmap((void *)t.r, T3_SIZE));
		/* the regrown part reads zero through the writer's mapping too */
		for (uint64_t off = T3_SMALL; off < T3_SIZE; off += PS)
			if (w[off] != 0) {
				fail("offset %#llx reads %#x after shrink and regrow",
				     (unsigned long long)off, w[off]);
				break;
			}
		memset(w + T3_SMALL, T3_FILL, T3_SIZE - T3_SMALL);
		cycles++;
		if (nfail)
			break;
	}
	printf("  %llu cycles in %.1f s; reads: %llu old data, %llu SIGBUS, %llu zero; "
	       "%llu cycles faulted first straight into SIGBUS\n",
	       (unsigned long long)cycles, (double)(now_ns() - t0) / 1e9,
	       (unsigned long long)t.n_fill, (unsigned long long)t.n_sigbus,
	       (unsigned long long)t.n_zero, (unsigned long long)t.first_sigbus);
	CU_ASSERT_EQUAL(nfail, 0);
	CU_ASSERT(t.n_sigbus >= cycles);
	TU_OK(daxmap_unmap(w, T3_SIZE));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	wd_done(t.wd);
	wd_done(wd);
}

/* ---- test 4: one allocation per hole, however many faults ----------------- */

#define T4_THREADS 4
#define T4_OBJ (64 * MiB)
#define T4_RACE (32 * MiB) /* racing faults below, punch/truncate churn above */

struct t4 {
	daxmap_obj *obj;
	uint8_t *m;
	pthread_barrier_t go, done;
	_Atomic uint64_t ext; /* the extent of this round */
	_Atomic int stop;
	_Atomic uint64_t churn_allocs, churn_ops;
	uint64_t seed;
	int nochurn;
};

struct t4_arg {
	struct t4 *t;
	unsigned id;
	char name[32];
};

/* thread id's word in extent e: threads 0 and 2 share the first page */
static uint64_t t4_off(uint64_t e, unsigned id)
{
	return e * EXT + (id % 2 ? id : 0) * PS + id * 8;
}

static void *t4_faulter(void *arg)
{
	struct t4_arg *a = arg;
	struct t4 *t = a->t;
	int wd = wd_register(a->name);

	for (;;) {
		uint64_t e, off, v;
		uint8_t b;

		wd_beat(wd);
		pthread_barrier_wait(&t->go);
		if (atomic_load(&t->stop))
			break;
		e = atomic_load(&t->ext);
		off = t4_off(e, a->id);
		/* odd threads read their page first: a hole read racing the
		 * stores, then a store that must find the same extent */
		if (a->id % 2 && tu_try_read8(t->m + off, &b) != 0)
			fail("load at %#llx faulted", (unsigned long long)off);
		v = word(a->id + 1, off, e + 1);
		if (try_write64(t->m + off, v) != 0)
			fail("store at %#llx faulted", (unsigned long long)off);
		pthread_barrier_wait(&t->done);
	}
	wd_done(wd);
	return NULL;
}

/* Allocates, writes, and punches or truncates away [T4_RACE, T4_OBJ), over and over. */
static void *t4_churn(void *arg)
{
	struct t4 *t = arg;
	uint64_t rng = t->seed ^ UINT64_C(0x70756e63686c6f6f);
	uint64_t n = (T4_OBJ - T4_RACE) / EXT;
	int wd = wd_register("punch/truncate churn");

	while (!atomic_load(&t->stop)) {
		uint64_t r = tu_rand(&rng), j = r % n, s = T4_RACE + j * EXT;
		int ret;

		wd_beat(wd);
		/* all holes now: allocate makes exactly n extents */
		ret = daxmap_obj_allocate(t->obj, T4_RACE, T4_OBJ - T4_RACE);
		if (ret < 0) {
			fail("allocate = %d: %s", ret, daxmap_errormsg());
			break;
		}
		atomic_fetch_add(&t->churn_allocs, n);
		for (int i = 0; i < 8; i++) {
			uint64_t off = T4_RACE + tu_rand(&rng) % (T4_OBJ - T4_RACE);
			if (tu_try_write8(t->m + off, 1) != 0)
				fail("churn store at %#llx faulted", (unsigned long long)off);
		}
		if ((r >> 32) % 2) {
			ret = daxmap_obj_punch_hole(t->obj, T4_RACE, T4_OBJ - T4_RACE);
		} else {
			ret = daxmap_obj_truncate(t->obj, s);
			if (ret == 0 && s > T4_RACE)
				ret = daxmap_obj_punch_hole(t->obj, T4_RACE, s - T4_RACE);
			if (ret == 0)
				ret = daxmap_obj_truncate(t->obj, T4_OBJ);
		}
		if (ret < 0) {
			fail("punch/truncate = %d: %s", ret, daxmap_errormsg());
			break;
		}
		atomic_fetch_add(&t->churn_ops, 1);
	}
	wd_done(wd);
	return NULL;
}

static void test_two_faults_on_one_hole_allocate_once(void)
{
	struct t4 t;
	struct t4_arg args[T4_THREADS];
	pthread_t th[T4_THREADS], ch;
	daxmap_pool *pool;
	struct daxmap_pool_stat st0, st;
	uint64_t t0 = now_ns(), deadline = t0 + churn_ns() / 2, rounds = 0, noop0;
	int wd = wd_register("main");

	memset(&t, 0, sizeof(t));
	t.seed = test_begin("two_faults_on_one_hole_allocate_once");
	pool = tu_pool_create("race4.pool", 128 * MiB);
	TU_OK(daxmap_obj_open(&t.obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(t.obj, T4_OBJ));
	TU_OK(daxmap_map((void **)&t.m, t.obj, 0, T4_OBJ, RW));
	CU_ASSERT_FATAL(pthread_barrier_init(&t.go, NULL, T4_THREADS + 1) == 0);
	CU_ASSERT_FATAL(pthread_barrier_init(&t.done, NULL, T4_THREADS + 1) == 0);
	for (unsigned i = 0; i < T4_THREADS; i++) {
		args[i].t = &t;
		args[i].id = i;
		snprintf(args[i].name, sizeof(args[i].name), "faulter %u", i);
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, t4_faulter, &args[i]) == 0);
	}
	st0 = pstat(pool);
	noop0 = st0.faults_noop;
	CU_ASSERT_FATAL(pthread_create(&ch, NULL, t4_churn, &t) == 0);

	for (;;) {
		uint64_t e = rounds % (T4_RACE / EXT);

		/* stop only after a whole pass: a fault message whose thread
		 * was woken by another fault's resolution may still be queued
		 * and be run after the next punch, allocating its extent ahead
		 * of that extent's round (which then allocates nothing); over
		 * whole passes the count stays exact */
		if (e == 0 && rounds >= 2 * T4_RACE / EXT && (rounds >= 20000 || now_ns() >= deadline))
			break;
		wd_beat(wd);
		if (e == 0 && rounds > 0)
			TU_OK(daxmap_obj_punch_hole(t.obj, 0, T4_RACE)); /* fresh holes again */
		atomic_store(&t.ext, e);
		pthread_barrier_wait(&t.go);
		pthread_barrier_wait(&t.done);
		for (unsigned i = 0; i < T4_THREADS; i++) {
			uint64_t off = t4_off(e, i), got = load64(t.m + off);
			if (got != word(i + 1, off, e + 1))
				fail("round %llu: thread %u's store at %#llx is lost: %#llx "
				     "(two extents for one hole?)", (unsigned long long)rounds, i,
				     (unsigned long long)off, (unsigned long long)got);
		}
		rounds++;
		if (nfail)
			break;
	}
	atomic_store(&t.stop, 1);
	pthread_barrier_wait(&t.go);
	for (unsigned i = 0; i < T4_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_join(ch, NULL);
	wd_beat(wd);
	st = pstat(pool);
	printf("  %llu rounds of %d threads on a fresh extent in %.1f s, %llu churn cycles; "
	       "allocated %llu (%llu by the churn), %llu faults found the work done\n",
	       (unsigned long long)rounds, T4_THREADS, (double)(now_ns() - t0) / 1e9,
	       (unsigned long long)t.churn_ops,
	       (unsigned long long)(st.extents_allocated - st0.extents_allocated),
	       (unsigned long long)t.churn_allocs,
	       (unsigned long long)(st.faults_noop - noop0));
	CU_ASSERT_EQUAL(nfail, 0);
	CU_ASSERT(t.churn_ops > 0);
	/* exactly one allocation per round, plus the churn's own */
	CU_ASSERT_EQUAL(st.extents_allocated - st0.extents_allocated, rounds + t.churn_allocs);
	pthread_barrier_destroy(&t.go);
	pthread_barrier_destroy(&t.done);
	TU_OK(daxmap_unmap(t.m, T4_OBJ));
	TU_OK(daxmap_obj_close(t.obj));
	TU_OK(daxmap_pool_close(pool));
	wd_done(wd);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"faulting_writers_race_truncate_and_punch",
		 test_faulting_writers_race_truncate_and_punch},
		{"no_access_reaches_a_freed_extent", test_no_access_reaches_a_freed_extent},
		{"fault_waiting_on_truncate_gets_sigbus_after_eof_moves",
		 test_fault_waiting_on_truncate_gets_sigbus_after_eof_moves},
		{"two_faults_on_one_hole_allocate_once", test_two_faults_on_one_hole_allocate_once},
		{NULL, NULL},
	};
	pthread_t wdt;

	if (pthread_create(&wdt, NULL, wd_thread, NULL) != 0)
		return 2;
	pthread_detach(wdt);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return tu_run("truncate_race", tests);
}
