/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Regression tests, one per bug class of the 2015 linux-fsdevel DAX fault
 * locking thread (shared/reference/dax-fault-locking-thread-2015.txt):
 *
 *  (a) a lock released that was never taken on a fault path (the xfstests
 *      generic/075 deadlock): hole reads followed by many faults, every
 *      step under a watchdog;
 *  (b) an error return that keeps a lock held: a failure injected at each
 *      step of fault resolution (allocation, zeroing, persist, mmap, the
 *      UFFDIO_COPY ioctl, wake) gives the faulting thread SIGBUS (a failed
 *      wake: no SIGBUS, it is retried), leaves the pool consistent, and the
 *      next fault on the same range succeeds within bounded time;
 *  (c) a read fault and a write fault racing on one hole, and two write
 *      faults on one hole: exactly one allocation, no store lost;
 *  (d) faults racing truncate and hole punching: SIGBUS only past EOF, no
 *      mapping of a freed extent survives, pool used == extents of the object.
 *
 * (b) needs an inject build (DAXMAP_INJECT, the default for Debug); other
 * builds skip it and run the rest.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef DAXMAP_INJECT
#include "inject.h"
#endif

#define ES DAXMAP_DEFAULT_EXTENT_SIZE
#define PS 4096u
#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

/* ---- helpers ---- */

static struct daxmap_pool_stat stat_of(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;

	memset(&st, 0, sizeof(st));
	TU_OK(daxmap_pool_stat(pool, &st));
	return st;
}

#ifdef DAXMAP_INJECT /* the timed tests need the injection points */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#endif

/*
 * Waits until every fault message read so far has been handled to the end
 * (each one is counted once in the latency histogram when it is done). A
 * message can outlive its access: the wake that ends one thread's fault
 * covers the whole extent and also frees a second thread whose own message
 * is still queued; see doc/LOCKING.md, "Stale fault messages".
 */
static void drain_faults(daxmap_pool *pool)
{
	for (int i = 0; i < 2000; i++) {
		struct daxmap_pool_stat st = stat_of(pool);
		uint64_t done = 0;

		for (int b = 0; b < DAXMAP_LAT_BUCKETS; b++)
			done += st.latency_ns_log2[b];
		if (done >= st.faults)
			return;
		usleep(1000);
	}
	CU_FAIL("fault messages still pending after 2 s");
}

/* A start line for racing threads: all spin until the last one arrives. */
struct spin_barrier {
	_Atomic unsigned arrived;
	unsigned n;
};

static void spin_wait(struct spin_barrier *b)
{
	atomic_fetch_add(&b->arrived, 1);
	while (atomic_load(&b->arrived) < b->n)
		;
}

/* ======================================================================
 * (a) a lock released that was never taken (generic/075)
 * ====================================================================== */

struct many_run {
	char *va;
	uint64_t nexts;
	unsigned id;
	unsigned bad; /* accesses that failed */
};

static void *many_faults_main(void *arg)
{
	struct many_run *r = arg;
	uint64_t seed = 0x9e3779b97f4a7c15u * (r->id + 1);

	for (unsigned i = 0; i < 400; i++) {
		uint64_t x = tu_rand(&seed);
		char *p = r->va + (x % r->nexts) * ES + ((x >> 20) % (ES / PS)) * PS + r->id;
		uint8_t v;

		if (x & (1u << 9)) {
			if (tu_try_write8(p, (uint8_t)(0x50 + r->id)) != 0)
				r->bad++;
		} else if (tu_try_read8(p, &v) != 0 || (v != 0 && v != (uint8_t)(0x50 + r->id))) {
			r->bad++;
		}
	}
	return NULL;
}

static void test_hole_reads_then_many_faults_do_not_deadlock(void)
{
	tu_watchdog_arm("hole reads followed by many faults", 60);
	const uint64_t nexts = 8;
	daxmap_pool *pool = tu_pool_create("a.pool", 64 * MiB);
	daxmap_obj *obj = NULL;
	struct daxmap_pool_stat st0, st;
	struct many_run r[4];
	pthread_t t[4];
	char *va;
	uint8_t v = 1;

	TU_OK(daxmap_obj_open(&obj, pool, "a", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, nexts * ES));
	TU_OK(daxmap_map((void **)&va, obj, 0, nexts * ES, RW));
	st0 = stat_of(pool);
	/* the path that took the 2015 code through its unbalanced unlock:
	 * a read fault on a hole (nothing found, nothing allocated), again
	 * and again, each followed by the write that allocates */
	for (unsigned round = 0; round < 50; round++) {
		char *p = va + (round % nexts) * ES + (round % 7) * PS;

		CU_ASSERT(tu_try_read8(p, &v) == 0 && v == 0);
		CU_ASSERT(tu_try_read8(p + PS, &v) == 0 && v == 0);
		CU_ASSERT(tu_try_write8(p, (uint8_t)round) == 0);
		CU_ASSERT(tu_try_read8(p, &v) == 0 && v == (uint8_t)round);
		TU_OK(daxmap_obj_punch_hole(obj, (round % nexts) * ES, ES));
	}
	st = stat_of(pool);
	CU_ASSERT(st.faults_hole_read - st0.faults_hole_read >= 50);
	/* then many faults, from several threads, over holes and data */
	for (unsigned i = 0; i < 4; i++) {
		r[i] = (struct many_run){.va = va, .nexts = nexts, .id = i};
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, many_faults_main, &r[i]) == 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT(r[i].bad == 0);
	}
	/* everything that needs every lock free still runs: unmap (maps_lock
	 * exclusive), truncate (the object's whole range), unlink, close */
	TU_OK(daxmap_unmap(va, nexts * ES));
	TU_OK(daxmap_obj_truncate(obj, 0));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_unlink(pool, "a"));
	CU_ASSERT(stat_of(pool).used == 0);
	TU_OK(daxmap_pool_close(pool));
	tu_watchdog_disarm();
}

/* ======================================================================
 * (b) error returns that keep a lock held: injection at every step
 * ====================================================================== */

#ifdef DAXMAP_INJECT
enum inj_access { INJ_WRITE, INJ_READ_HOLE, INJ_WRITE_AFTER_READ };

/*
 * Arms `point` for `count` failures with `err`, makes one access of the
 * given kind to extent 1 of a fresh object, and checks: SIGBUS at the
 * exact address (or none, when the failure is recovered by retry), the
 * pool unchanged by the failed fault, other extents still fault in; then,
 * once the injection is cleared, the same address faults in at once, the
 * range can be punched (its lock is free), and the data is durable.
 */
static void inject_one(const char *point, enum inj_access how, unsigned count, int err,
		       int expect_sigbus, int zero_inline)
{
	char what[96];
	snprintf(what, sizeof(what), "injection at %s (x%u)", point, count);
	tu_watchdog_arm(what, 30);
	const char *path = tu_path("b.pool");
	daxmap_pool *pool = tu_pool_create("b.pool", 32 * MiB);
	daxmap_obj *obj = NULL, *fill = NULL;
	struct daxmap_pool_stat st0, st;
	long hits0 = daxmap_inject_hits(point);
	char *va, *fva, *addr;
	uint8_t v = 1;
	double t0, dt;
	int sig;

	printf("\n  %s, %s, errno %d: ", point,
	       how == INJ_WRITE ? "write" : how == INJ_READ_HOLE ? "read of a hole"
								 : "write after a hole read",
	       err);
	TU_OK(daxmap_obj_open(&obj, pool, "b", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 4 * ES));
	TU_OK(daxmap_map((void **)&va, obj, 0, 4 * ES, RW));
	addr = va + ES + 3 * PS + 5;
	if (zero_inline) {
		/* no zeroed extent left, only dirty ones, and the zeroer held:
		 * an allocation must zero on the fault path */
		uint64_t n = stat_of(pool).data_size / ES;
		TU_OK(daxmap_inject_set("zeroer", 1, 0));
		TU_OK(daxmap_obj_open(&fill, pool, "fill", DAXMAP_CREATE));
		TU_OK(daxmap_obj_truncate(fill, n * ES));
		TU_OK(daxmap_map((void **)&fva, fill, 0, n * ES, RW));
		for (uint64_t e = 0; e < n; e++)
			CU_ASSERT(tu_try_write8(fva + e * ES, 0xEE) == 0);
		TU_OK(daxmap_unmap(fva, n * ES));
		TU_OK(daxmap_obj_close(fill));
		TU_OK(daxmap_obj_unlink(pool, "fill"));
		st = stat_of(pool);
		CU_ASSERT_FATAL(st.free_unzeroed == st.free);
	}
	if (how == INJ_WRITE_AFTER_READ)
		CU_ASSERT(tu_try_read8(addr, &v) == 0 && v == 0);
	st0 = stat_of(pool);

	TU_OK(daxmap_inject_set(point, count, err));
	t0 = now_s();
	if (how == INJ_READ_HOLE)
		sig = tu_try_read8(addr, &v);
	else
		sig = tu_try_write8(addr, 0xA5);
	dt = now_s() - t0;
	printf("signal %d after %.1f ms, %ld injected", sig, dt * 1e3,
	       daxmap_inject_hits(point) - hits0);
	CU_ASSERT(daxmap_inject_hits(point) - hits0 == (long)count);
	if (expect_sigbus) {
		CU_ASSERT(sig == SIGBUS);
		CU_ASSERT(tu_last_sigaddr() == addr);
		/* the failed fault changed nothing: no extent leaked or lost
		 * (a failed mmap keeps the extent it recorded: the next fault
		 * maps it) */
		st = stat_of(pool);
		CU_ASSERT(st.used == st0.used + (strcmp(point, "mmap") == 0 ? ES : 0));
		CU_ASSERT(st.used + st.free == st.data_size);
	} else {
		/* recovered by retry: no signal, the store (or the zeros) is there */
		CU_ASSERT(sig == 0);
		CU_ASSERT(tu_try_read8(addr, &v) == 0 && v == (how == INJ_READ_HOLE ? 0 : 0xA5));
	}
	/* other threads' faults and other extents carry on meanwhile */
	CU_ASSERT(tu_try_write8(va + 2 * ES, 0x22) == 0);
	CU_ASSERT(tu_try_read8(va + 3 * ES, &v) == 0 && v == 0);

	/* the same range, once the failure is gone: at once, not after a grace */
	daxmap_inject_clear(pool);
	t0 = now_s();
	if (how == INJ_READ_HOLE) {
		CU_ASSERT(tu_try_read8(addr, &v) == 0 && v == 0);
		CU_ASSERT(stat_of(pool).used == st0.used + ES); /* only extent 2 */
	}
	CU_ASSERT(tu_try_write8(addr, 0x5A) == 0);
	CU_ASSERT(tu_try_read8(addr, &v) == 0 && v == 0x5A);
	CU_ASSERT(tu_try_read8(addr - 5, &v) == 0 && v == 0); /* zeroed, no stale bytes */
	printf(", refault %.1f ms", (now_s() - t0) * 1e3);
	st = stat_of(pool);
	CU_ASSERT(st.used == 2 * ES);
	/* no lock left held on the range: punch it (exclusive), fault again */
	TU_OK(daxmap_obj_punch_hole(obj, ES, ES));
	CU_ASSERT(tu_try_read8(addr, &v) == 0 && v == 0);
	CU_ASSERT(tu_try_write8(addr, 0x6B) == 0);
	TU_OK(daxmap_persist(addr, 1));
	TU_OK(daxmap_unmap(va, 4 * ES));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	/* durable, and the allocation table agrees with the objects */
	pool = NULL;
	obj = NULL;
	TU_OK(daxmap_pool_open(&pool, path));
	st = stat_of(pool);
	CU_ASSERT(st.used == 2 * ES);
	TU_OK(daxmap_obj_open(&obj, pool, "b", 0));
	TU_OK(daxmap_map((void **)&va, obj, 0, 4 * ES, DAXMAP_PROT_READ));
	CU_ASSERT(tu_try_read8(va + ES + 3 * PS + 5, &v) == 0 && v == 0x6B);
	CU_ASSERT(tu_try_read8(va + 2 * ES, &v) == 0 && v == 0x22);
	TU_OK(daxmap_unmap(va, 4 * ES));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_unlink(pool, "b"));
	CU_ASSERT(stat_of(pool).used == 0);
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	tu_watchdog_disarm();
}

static void test_failed_allocation_sigbus_no_lock_held(void)
{
	inject_one("alloc", INJ_WRITE, 1, ENOSPC, 1, 0);
	inject_one("alloc", INJ_WRITE_AFTER_READ, 1, ENOMEM, 1, 0);
}

static void test_failed_inline_zeroing_sigbus_no_lock_held(void)
{
	inject_one("zero", INJ_WRITE, 1, EIO, 1, 1);
}

static void test_failed_entry_persist_sigbus_no_lock_held(void)
{
	inject_one("persist", INJ_WRITE, 1, EIO, 1, 0);
	/* the commit after inline zeroing too */
	inject_one("persist", INJ_WRITE, 1, EIO, 1, 1);
}

static void test_failed_mmap_sigbus_no_lock_held(void)
{
	inject_one("mmap", INJ_WRITE, 1, ENOMEM, 1, 0);
	inject_one("mmap", INJ_WRITE_AFTER_READ, 1, EAGAIN, 1, 0);
}

static void test_failed_uffdio_copy_sigbus_no_lock_held(void)
{
	inject_one("ioctl", INJ_READ_HOLE, 1, EFAULT, 1, 0);
}

static void test_failed_wake_is_retried_thread_not_stranded(void)
{
	/* retried at once */
	inject_one("wake", INJ_WRITE, 1, EINVAL, 0, 0);
	inject_one("wake", INJ_READ_HOLE, 2, EINVAL, 0, 0);
	/* fails past the immediate retries: handed to the handler threads */
	inject_one("wake", INJ_WRITE, 12, EINVAL, 0, 0);
	inject_one("wake", INJ_WRITE_AFTER_READ, 8, EINVAL, 0, 0);
}

static void test_unknown_injection_point_is_refused(void)
{
	CU_ASSERT(daxmap_inject_set("nonesuch", 1, EIO) == -EINVAL);
	CU_ASSERT(daxmap_inject_hits("nonesuch") == -EINVAL);
}
#endif /* DAXMAP_INJECT */

/* ======================================================================
 * (c) faults racing on one hole
 * ====================================================================== */

struct hole_race {
	char *va;
	struct spin_barrier bar;
	char *addr[2];
	int write[2];
	uint8_t val[2];
	uint8_t got[2];
	int sig[2];
};

struct hole_racer {
	struct hole_race *r;
	int id;
};

static void *hole_racer_main(void *arg)
{
	struct hole_racer *h = arg;
	struct hole_race *r = h->r;

	spin_wait(&r->bar);
	if (r->write[h->id])
		r->sig[h->id] = tu_try_write8(r->addr[h->id], r->val[h->id]);
	else
		r->sig[h->id] = tu_try_read8(r->addr[h->id], &r->got[h->id]);
	return NULL;
}

/*
 * Two threads touch one hole at once, `rounds` times (each round a fresh
 * hole, punched before). Exactly one allocation per round, no store lost,
 * a read sees zeros, and a later write to the page that was read reaches
 * the pool (a second mapping sees it).
 */
static void hole_race(const char *name, int w0, int w1, unsigned rounds)
{
	tu_watchdog_arm(name, 120);
	const uint64_t nexts = 4;
	daxmap_pool *pool = tu_pool_create("c.pool", 32 * MiB);
	uint64_t seed = tu_seed(name);
	daxmap_obj *obj = NULL;
	struct hole_race r;
	struct hole_racer h[2];
	pthread_t t[2];
	unsigned extra_allocs = 0, lost = 0, bad_reads = 0, incoherent = 0;
	struct daxmap_pool_stat st_begin, st_end;
	char *va, *va2;

	TU_OK(daxmap_obj_open(&obj, pool, "c", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, nexts * ES));
	TU_OK(daxmap_map((void **)&va, obj, 0, nexts * ES, RW));
	TU_OK(daxmap_map((void **)&va2, obj, 0, nexts * ES, DAXMAP_PROT_READ));
	st_begin = stat_of(pool);
	for (unsigned round = 0; round < rounds; round++) {
		uint64_t e = round % nexts, x = tu_rand(&seed);
		struct daxmap_pool_stat st0, st;
		uint8_t v;

		memset(&r, 0, sizeof(r));
		r.bar.n = 2;
		r.write[0] = w0;
		r.write[1] = w1;
		/* same page or not, same extent always */
		r.addr[0] = va + e * ES + (x % (ES / PS)) * PS + 1;
		r.addr[1] = (x & 0x10000) ? r.addr[0] + 1 : va + e * ES + ((x >> 24) % (ES / PS)) * PS + 2;
		r.val[0] = (uint8_t)(0x10 + (round & 0x3f));
		r.val[1] = (uint8_t)(0x80 + (round & 0x3f));
		st0 = stat_of(pool);
#ifdef DAXMAP_INJECT
		/* the first fault stalls with its range held: the other one
		 * surely arrives while it is being resolved */
		TU_OK(daxmap_inject_set("stall", 1, 0));
#endif
		for (int i = 0; i < 2; i++) {
			h[i] = (struct hole_racer){.r = &r, .id = i};
			CU_ASSERT_FATAL(pthread_create(&t[i], NULL, hole_racer_main, &h[i]) == 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		drain_faults(pool);
		st = stat_of(pool);
		CU_ASSERT(r.sig[0] == 0 && r.sig[1] == 0);
		if (st.extents_allocated - st0.extents_allocated != (uint64_t)(w0 || w1)) {
			fprintf(stderr, "  round %u: %llu allocations, %llu faults (%llu found "
				"resolved), signals %d %d\n", round,
				(unsigned long long)(st.extents_allocated - st0.extents_allocated),
				(unsigned long long)(st.faults - st0.faults),
				(unsigned long long)(st.faults_noop - st0.faults_noop), r.sig[0],
				r.sig[1]);
			extra_allocs++;
		}
		for (int i = 0; i < 2; i++) {
			if (r.write[i] && (tu_try_read8(r.addr[i], &v) != 0 || v != r.val[i]))
				lost++;
			if (r.write[i] && (tu_try_read8(va2 + (r.addr[i] - va), &v) != 0 ||
					   v != r.val[i]))
				incoherent++;
			if (!r.write[i] && r.got[i] != 0 && !(r.addr[i] == r.addr[1 - i] &&
							      r.got[i] == r.val[1 - i]))
				bad_reads++;
			if (!r.write[i]) {
				/* the page that was read: a write must reach the pool */
				if (tu_try_write8(r.addr[i], 0x77) != 0 ||
				    tu_try_read8(va2 + (r.addr[i] - va), &v) != 0 || v != 0x77)
					incoherent++;
			}
		}
		TU_OK(daxmap_obj_punch_hole(obj, e * ES, ES));
	}
	st_end = stat_of(pool);
	printf("\n  %u rounds: %u with a second allocation, %u stores lost, %u bad reads, "
	       "%u incoherent (%llu faults, %llu found resolved by another)\n",
	       rounds, extra_allocs, lost, bad_reads, incoherent,
	       (unsigned long long)(st_end.faults - st_begin.faults),
	       (unsigned long long)(st_end.faults_noop - st_begin.faults_noop));
	CU_ASSERT(extra_allocs == 0);
	CU_ASSERT(lost == 0);
	CU_ASSERT(bad_reads == 0);
	CU_ASSERT(incoherent == 0);
	CU_ASSERT(stat_of(pool).used == 0);
	TU_OK(daxmap_unmap(va, nexts * ES));
	TU_OK(daxmap_unmap(va2, nexts * ES));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	tu_watchdog_disarm();
}

static void test_read_and_write_fault_racing_on_one_hole(void)
{
	hole_race("read and write fault racing on one hole", 0, 1, 300);
}

static void test_two_write_faults_on_one_hole_one_allocation_no_store_lost(void)
{
	hole_race("two write faults on one hole", 1, 1, 300);
}

/* ======================================================================
 * (d) faults racing truncate and punch hole
 * ====================================================================== */

#define D_NEXTS 8
#define D_SMALL (3 * ES + 5 * PS + 123) /* EOF the truncates drop to: mid-extent */

struct extent_race {
	daxmap_pool *pool;
	daxmap_obj *obj;
	char *va;
	int truncate; /* 1: truncate races the faults; 0: punch hole does */
	_Atomic int stop;
	_Atomic unsigned early_sigbus; /* SIGBUS below the lowest EOF ever set */
	_Atomic unsigned other_sig;
	_Atomic unsigned faults, ops, victim_rounds, victim_bad, op_errors;
};

/* TU_OK for helper threads (CUnit's fatal asserts must stay in the main thread) */
#define TH_OK(r, expr)                                                                             \
	do {                                                                                       \
		int th_ret_ = (expr);                                                              \
		if (th_ret_ < 0) {                                                                 \
			fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__, __LINE__, #expr, th_ret_, \
				daxmap_errormsg());                                                \
			atomic_fetch_add(&(r)->op_errors, 1);                                      \
		}                                                                                  \
	} while (0)

static void *race_faulter_main(void *arg)
{
	struct extent_race *r = arg;
	uint64_t seed = (uint64_t)(uintptr_t)&seed ^ 0x5bd1e995;

	while (!atomic_load(&r->stop)) {
		uint64_t x = tu_rand(&seed);
		uint64_t off = (x % (D_NEXTS * ES / PS)) * PS + 17;
		int sig;
		uint8_t v;

		if (x & (1u << 30))
			sig = tu_try_write8(r->va + off, 0xC3);
		else
			sig = tu_try_read8(r->va + off, &v);
		atomic_fetch_add(&r->faults, 1);
		if (sig == SIGBUS && off < D_SMALL)
			atomic_fetch_add(&r->early_sigbus, 1);
		else if (sig != 0 && sig != SIGBUS)
			atomic_fetch_add(&r->other_sig, 1);
	}
	return NULL;
}

static void *race_changer_main(void *arg)
{
	struct extent_race *r = arg;
	uint64_t seed = 0x2545f4914f6cdd1dULL;

	while (!atomic_load(&r->stop)) {
		uint64_t x = tu_rand(&seed);
		if (r->truncate) {
			TH_OK(r, daxmap_obj_truncate(r->obj, D_SMALL));
			TH_OK(r, daxmap_obj_truncate(r->obj, D_NEXTS * ES));
		} else {
			/* whole extents, and ranges with partial ends */
			uint64_t off = (x % D_NEXTS) * ES, len = ES * (1 + (x >> 8) % 2);
			if (x & 0x10000)
				off += PS * ((x >> 16) % 16);
			TH_OK(r, daxmap_obj_punch_hole(r->obj, off, len));
		}
		atomic_fetch_add(&r->ops, 1);
	}
	return NULL;
}

/*
 * Another object that keeps taking extents and giving them back: freed
 * extents of the racing object get reused here, so a store through a
 * mapping of a freed extent would show up as a corrupted byte.
 */
static void *race_victim_main(void *arg)
{
	struct extent_race *r = arg;
	daxmap_obj *v = NULL;
	char *va;

	TH_OK(r, daxmap_obj_open(&v, r->pool, "victim", DAXMAP_CREATE));
	TH_OK(r, daxmap_obj_truncate(v, 2 * ES));
	TH_OK(r, daxmap_map((void **)&va, v, 0, 2 * ES, RW));
	while (!atomic_load(&r->stop)) {
		uint8_t tag = (uint8_t)(0x20 + (atomic_load(&r->victim_rounds) & 0x1f)), b;

		for (uint64_t p = 0; p < 2 * ES; p += PS)
			if (tu_try_write8(va + p + 17, tag) != 0)
				atomic_fetch_add(&r->victim_bad, 1);
		usleep(200);
		for (uint64_t p = 0; p < 2 * ES; p += PS)
			if (tu_try_read8(va + p + 17, &b) != 0 || b != tag)
				atomic_fetch_add(&r->victim_bad, 1);
		TH_OK(r, daxmap_obj_punch_hole(v, 0, 2 * ES));
		atomic_fetch_add(&r->victim_rounds, 1);
	}
	TH_OK(r, daxmap_unmap(va, 2 * ES));
	TH_OK(r, daxmap_obj_close(v));
	TH_OK(r, daxmap_obj_unlink(r->pool, "victim"));
	return NULL;
}

static void extent_race(const char *name, int truncate)
{
	tu_watchdog_arm(name, 120);
	const char *path = tu_path("d.pool");
	struct extent_race r;
	pthread_t f[2], c, vt;
	uint64_t eof_ext;
	unsigned incoherent = 0;
	char *va2;
	uint8_t v;

	memset(&r, 0, sizeof(r));
	r.truncate = truncate;
	r.pool = tu_pool_create("d.pool", 64 * MiB);
	TU_OK(daxmap_obj_open(&r.obj, r.pool, "d", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(r.obj, D_NEXTS * ES));
	TU_OK(daxmap_map((void **)&r.va, r.obj, 0, D_NEXTS * ES, RW));
	for (int i = 0; i < 2; i++)
		CU_ASSERT_FATAL(pthread_create(&f[i], NULL, race_faulter_main, &r) == 0);
	CU_ASSERT_FATAL(pthread_create(&c, NULL, race_changer_main, &r) == 0);
	CU_ASSERT_FATAL(pthread_create(&vt, NULL, race_victim_main, &r) == 0);
	usleep(1500 * 1000);
	atomic_store(&r.stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(f[i], NULL);
	pthread_join(c, NULL);
	pthread_join(vt, NULL);
	printf("\n  %u faults, %u %s, %u victim rounds: %u SIGBUS below EOF, %u other signals, "
	       "%u victim bytes corrupted\n",
	       atomic_load(&r.faults), atomic_load(&r.ops), truncate ? "truncate pairs" : "punches",
	       atomic_load(&r.victim_rounds), atomic_load(&r.early_sigbus),
	       atomic_load(&r.other_sig), atomic_load(&r.victim_bad));
	{
		/* the slowest fault resolution (log2 histogram): a stall shows */
		struct daxmap_pool_stat st = stat_of(r.pool);
		int top = 0;
		for (int b = 0; b < DAXMAP_LAT_BUCKETS; b++)
			if (st.latency_ns_log2[b])
				top = b;
		printf("  slowest fault: under %.1f ms\n", (double)(UINT64_C(2) << top) / 1e6);
	}
	CU_ASSERT(atomic_load(&r.ops) > 10);
	CU_ASSERT(atomic_load(&r.early_sigbus) == 0);
	CU_ASSERT(atomic_load(&r.other_sig) == 0);
	CU_ASSERT(atomic_load(&r.victim_bad) == 0);
	CU_ASSERT(atomic_load(&r.op_errors) == 0);

	/* quiet now. EOF: SIGBUS exactly from the page-rounded EOF on */
	if (truncate) {
		TU_OK(daxmap_obj_truncate(r.obj, D_SMALL));
		CU_ASSERT(tu_try_write8(r.va + D_SMALL - 1, 0x01) == 0);
		CU_ASSERT(tu_try_write8(r.va + ((D_SMALL + PS - 1) & ~(uint64_t)(PS - 1)), 1) ==
			  SIGBUS);
		CU_ASSERT(tu_try_read8(r.va + (D_NEXTS - 1) * ES, &v) == SIGBUS);
	}
	eof_ext = truncate ? (D_SMALL + ES - 1) / ES : D_NEXTS;
	/* no mapping of a freed extent is left: a byte stored in each extent
	 * through the racing mapping is what a fresh mapping sees, and the
	 * pool holds exactly the object's extents (the victim is gone) */
	TU_OK(daxmap_map((void **)&va2, r.obj, 0, D_NEXTS * ES, DAXMAP_PROT_READ));
	for (uint64_t e = 0; e < eof_ext; e++)
		for (uint64_t p = 0; p < ES && e * ES + p < (truncate ? D_SMALL : D_NEXTS * ES);
		     p += 16 * PS) {
			uint8_t tag = (uint8_t)(0x40 + e + p / PS);
			if (tu_try_write8(r.va + e * ES + p + 9, tag) != 0 ||
			    tu_try_read8(va2 + e * ES + p + 9, &v) != 0 || v != tag)
				incoherent++;
		}
	CU_ASSERT(incoherent == 0);
	CU_ASSERT(stat_of(r.pool).used == eof_ext * ES);
	if (stat_of(r.pool).used != eof_ext * ES)
		fprintf(stderr, "  pool used %llu, object extents %llu\n",
			(unsigned long long)stat_of(r.pool).used,
			(unsigned long long)(eof_ext * ES));
	TU_OK(daxmap_unmap(va2, D_NEXTS * ES));
	TU_OK(daxmap_unmap(r.va, D_NEXTS * ES));
	TU_OK(daxmap_obj_close(r.obj));
	TU_OK(daxmap_pool_close(r.pool));
	/* the allocation table agrees after a reopen (no extent past EOF to
	 * reclaim, none owned by nobody) */
	r.pool = NULL;
	TU_OK(daxmap_pool_open(&r.pool, path));
	CU_ASSERT(stat_of(r.pool).used == eof_ext * ES);
	TU_OK(daxmap_obj_unlink(r.pool, "d"));
	CU_ASSERT(stat_of(r.pool).used == 0);
	TU_OK(daxmap_pool_close(r.pool));
	unlink(path);
	tu_watchdog_disarm();
}

static void test_faults_racing_truncate_sigbus_only_past_eof(void)
{
	extent_race("faults racing truncate", 1);
}

static void test_faults_racing_punch_hole_no_freed_extent_mapped(void)
{
	extent_race("faults racing punch hole", 0);
}

int main(int argc, char **argv)
{
	static struct tu_test tests[] = {
		{"a_hole_reads_then_many_faults_do_not_deadlock",
		 test_hole_reads_then_many_faults_do_not_deadlock},
#ifdef DAXMAP_INJECT
		{"b_failed_allocation_sigbus_no_lock_held",
		 test_failed_allocation_sigbus_no_lock_held},
		{"b_failed_inline_zeroing_sigbus_no_lock_held",
		 test_failed_inline_zeroing_sigbus_no_lock_held},
		{"b_failed_entry_persist_sigbus_no_lock_held",
		 test_failed_entry_persist_sigbus_no_lock_held},
		{"b_failed_mmap_sigbus_no_lock_held", test_failed_mmap_sigbus_no_lock_held},
		{"b_failed_uffdio_copy_sigbus_no_lock_held",
		 test_failed_uffdio_copy_sigbus_no_lock_held},
		{"b_failed_wake_is_retried_thread_not_stranded",
		 test_failed_wake_is_retried_thread_not_stranded},
		{"b_unknown_injection_point_is_refused", test_unknown_injection_point_is_refused},
#endif
		{"c_read_and_write_fault_racing_on_one_hole",
		 test_read_and_write_fault_racing_on_one_hole},
		{"c_two_write_faults_on_one_hole_one_allocation_no_store_lost",
		 test_two_write_faults_on_one_hole_one_allocation_no_store_lost},
		{"d_faults_racing_truncate_sigbus_only_past_eof",
		 test_faults_racing_truncate_sigbus_only_past_eof},
		{"d_faults_racing_punch_hole_no_freed_extent_mapped",
		 test_faults_racing_punch_hole_no_freed_extent_mapped},
		{NULL, NULL},
	};
#ifndef DAXMAP_INJECT
	printf("not an inject build (DAXMAP_INJECT off): the (b) tests are skipped\n");
#endif
	if (argc > 1) {
		/* run only the tests whose names contain argv[1] */
		size_t n = 0;
		for (size_t i = 0; tests[i].name; i++)
			if (strstr(tests[i].name, argv[1]))
				tests[n++] = tests[i];
		tests[n] = (struct tu_test){NULL, NULL};
	}
	return tu_run("regress2015", tests);
}
