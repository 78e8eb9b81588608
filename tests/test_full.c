/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pool full: the faulting thread gets SIGBUS at the exact address, and
 * nothing else is hurt (invariant 5: errors in the fault path leave no lock
 * held and the pool consistent; other threads and objects carry on). Once
 * space comes back the same address faults afresh and its store reaches
 * the pool.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ES DAXMAP_DEFAULT_EXTENT_SIZE
#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
/* the object that fills the pool is larger than any pool used here */
#define BIG_SIZE (256 * MiB)

/* ---- helpers ---- */

static uint64_t nextents_of(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	return st.data_size / st.extent_size;
}

static uint64_t free_of(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	return st.free;
}

/* Object `name` with `n` extents written (byte 0 of each = tag+e), then unmapped and closed. */
static void make_written_object(daxmap_pool *pool, const char *name, uint64_t n, uint8_t tag)
{
	daxmap_obj *o = NULL;
	void *va;

	TU_OK(daxmap_obj_open(&o, pool, name, DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_truncate(o, n * ES));
	TU_OK(daxmap_map(&va, o, 0, n * ES, RW));
	for (uint64_t e = 0; e < n; e++)
		CU_ASSERT(tu_try_write8((char *)va + e * ES, (uint8_t)(tag + e)) == 0);
	TU_OK(daxmap_unmap(va, n * ES));
	TU_OK(daxmap_obj_close(o));
}

/*
 * Writes byte 0 of extents 0, 1, ... of the mapping until a write fails;
 * returns the number that succeeded and stores the failing signal.
 */
static uint64_t fill(char *va, uint64_t max, int *sig)
{
	uint64_t e;
	*sig = 0;
	for (e = 0; e < max; e++)
		if ((*sig = tu_try_write8(va + e * ES, (uint8_t)(0x40 + e))) != 0)
			break;
	return e;
}

/* ---- single thread ---- */

static void test_pool_full_sigbus_at_address_then_write_succeeds_after_unlink(void)
{
	const char *path = tu_path("full1.pool");
	daxmap_pool *pool = tu_pool_create("full1.pool", 20 * MiB);
	daxmap_obj *big = NULL, *other = NULL;
	struct daxmap_pool_stat st;
	uint64_t n = nextents_of(pool), filled, before;
	char *va, *bad, *ova;
	uint8_t v = 0;
	int sig;

	printf("\n  pool of 20 MiB holds %llu extents\n", (unsigned long long)n);
	CU_ASSERT_FATAL(n >= 3);
	/* "other" takes one extent first; then "keep" takes one more and is
	 * left alone; "big" fills what is left */
	make_written_object(pool, "other", 1, 0x10);
	make_written_object(pool, "keep", 1, 0x20);

	TU_OK(daxmap_obj_open(&big, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(big, BIG_SIZE));
	TU_OK(daxmap_map((void **)&va, big, 0, BIG_SIZE, RW));
	filled = fill(va, BIG_SIZE / ES, &sig);
	printf("  big got %llu extents, then signal %d\n", (unsigned long long)filled, sig);
	CU_ASSERT_FATAL(sig == SIGBUS);
	CU_ASSERT(filled == n - 2);
	CU_ASSERT(free_of(pool) == 0);

	/* a store to a new extent, not at a page boundary: SIGBUS, si_addr exact */
	bad = va + (filled + 1) * ES + 5 * 4096 + 123;
	sig = tu_try_write8(bad, 0xAB);
	CU_ASSERT(sig == SIGBUS);
	if (sig == SIGBUS && tu_last_sigaddr() != bad)
		fprintf(stderr, "  si_addr %p, faulting address %p\n", tu_last_sigaddr(), (void *)bad);
	CU_ASSERT(tu_last_sigaddr() == bad);
	/* still full: trying again fails again, it does not hang */
	CU_ASSERT(tu_try_write8(bad, 0xAB) == SIGBUS);
	/* the error's marker is cleared after a grace period: a later try is
	 * a fresh fault (counted again), and fails again while still full */
	TU_OK(daxmap_pool_stat(pool, &st));
	before = st.faults_sigbus;
	usleep(200 * 1000);
	CU_ASSERT(tu_try_write8(bad, 0xAB) == SIGBUS);
	CU_ASSERT(tu_last_sigaddr() == bad);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.faults_sigbus == before + 1);

	/* the library carries on: allocated pages of this mapping work */
	CU_ASSERT(tu_try_write8(va + 7, 0x77) == 0);
	CU_ASSERT(tu_try_read8(va + 7, &v) == 0 && v == 0x77);
	CU_ASSERT(tu_try_write8(va + (filled - 1) * ES + 3 * 4096, 0x78) == 0);
	CU_ASSERT(tu_try_read8(va + (filled - 1) * ES + 3 * 4096, &v) == 0 && v == 0x78);
	/* a hole read still works (zeros, nothing allocated) */
	CU_ASSERT(tu_try_read8(bad + ES, &v) == 0 && v == 0);
	/* another object's allocated extent faults in through a new mapping */
	TU_OK(daxmap_obj_open(&other, pool, "keep", 0));
	TU_OK(daxmap_map((void **)&ova, other, 0, ES, RW));
	CU_ASSERT(tu_try_read8(ova, &v) == 0 && v == 0x20);
	CU_ASSERT(tu_try_write8(ova + 4096, 0x21) == 0);
	TU_OK(daxmap_unmap(ova, ES));
	TU_OK(daxmap_obj_close(other));
	TU_OK(daxmap_pool_stat(pool, &st));
	printf("  faults_sigbus %llu\n", (unsigned long long)st.faults_sigbus);
	CU_ASSERT(st.faults_sigbus > 0);

	/* space comes back: the failed address faults afresh and succeeds */
	TU_OK(daxmap_obj_unlink(pool, "other"));
	CU_ASSERT(tu_try_write8(bad, 0xAB) == 0);
	CU_ASSERT(tu_try_read8(bad, &v) == 0 && v == 0xAB);
	CU_ASSERT(tu_try_read8(bad - 123, &v) == 0 && v == 0); /* rest of the extent zeroed */
	TU_OK(daxmap_persist(bad, 1));
	TU_OK(daxmap_unmap(va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));

	/* it reached the pool */
	pool = NULL;
	big = NULL;
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&big, pool, "big", 0));
	TU_OK(daxmap_map((void **)&va, big, 0, BIG_SIZE, DAXMAP_PROT_READ));
	bad = va + (filled + 1) * ES + 5 * 4096 + 123;
	CU_ASSERT(tu_try_read8(bad, &v) == 0 && v == 0xAB);
	CU_ASSERT(tu_try_read8(va + 7, &v) == 0 && v == 0x77);
	for (uint64_t e = 1; e < filled; e++)
		CU_ASSERT(tu_try_read8(va + e * ES, &v) == 0 && v == (uint8_t)(0x40 + e));
	/* the extent that failed first was never allocated: still a hole */
	CU_ASSERT(tu_try_read8(va + filled * ES, &v) == 0 && v == 0);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.used == n * ES); /* big: filled + 1, keep: 1 */
	TU_OK(daxmap_unmap(va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
}

/*
 * A hole that was read (zeros, write-protected) and then written while the
 * pool is full: the write gets SIGBUS, never lands in the zeros; once space
 * is back the same store reaches the pool.
 */
static void test_write_to_read_hole_at_pool_full_sigbus_then_reaches_pool(void)
{
	const char *path = tu_path("full3.pool");
	daxmap_pool *pool = tu_pool_create("full3.pool", 20 * MiB);
	daxmap_obj *big = NULL;
	uint64_t filled;
	char *va, *hole;
	uint8_t v = 1;
	int sig;

	make_written_object(pool, "other", 1, 0x10);
	TU_OK(daxmap_obj_open(&big, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(big, BIG_SIZE));
	TU_OK(daxmap_map((void **)&va, big, 0, BIG_SIZE, RW));
	filled = fill(va, BIG_SIZE / ES, &sig);
	CU_ASSERT_FATAL(sig == SIGBUS);
	hole = va + (filled + 2) * ES + 9 * 4096 + 5;
	CU_ASSERT(tu_try_read8(hole, &v) == 0 && v == 0);
	CU_ASSERT(tu_try_read8(hole + 4096, &v) == 0 && v == 0);
	sig = tu_try_write8(hole, 0x5A);
	CU_ASSERT(sig == SIGBUS);
	CU_ASSERT(tu_last_sigaddr() == hole);
	/* the neighbouring page still reads its zeros */
	CU_ASSERT(tu_try_read8(hole + 4096, &v) == 0 && v == 0);
	TU_OK(daxmap_obj_unlink(pool, "other"));
	CU_ASSERT(tu_try_write8(hole, 0x5A) == 0);
	CU_ASSERT(tu_try_read8(hole, &v) == 0 && v == 0x5A);
	CU_ASSERT(tu_try_read8(hole + 4096, &v) == 0 && v == 0);
	TU_OK(daxmap_unmap(va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));

	pool = NULL;
	big = NULL;
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&big, pool, "big", 0));
	TU_OK(daxmap_map((void **)&va, big, 0, BIG_SIZE, DAXMAP_PROT_READ));
	hole = va + (filled + 2) * ES + 9 * 4096 + 5;
	CU_ASSERT(tu_try_read8(hole, &v) == 0 && v == 0x5A);
	TU_OK(daxmap_unmap(va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
}

/*
 * More failed pages at once than the library keeps a list of (64 at the time
 * of writing): every one of them gets SIGBUS, and every one faults afresh
 * once space is back; none is left with a marker that nothing clears.
 */
#define MANY_PAGES 100
#define FIRST_EXT_PAGES 70 /* more than the list holds: pages of the second
			      extent find it full */

static void test_many_failed_pages_all_fault_afresh_after_unlink(void)
{
	daxmap_pool *pool = tu_pool_create("full4.pool", 20 * MiB);
	daxmap_obj *big = NULL;
	uint64_t filled;
	char *va;
	uint8_t v;
	int sig, nsig = 0, nexact = 0, nok = 0;

	/* "other" holds the two extents the failed pages need */
	make_written_object(pool, "other", 2, 0x10);
	TU_OK(daxmap_obj_open(&big, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(big, BIG_SIZE));
	TU_OK(daxmap_map((void **)&va, big, 0, BIG_SIZE, RW));
	filled = fill(va, BIG_SIZE / ES, &sig);
	CU_ASSERT_FATAL(sig == SIGBUS);
#define MANY_ADDR(i)                                                                               \
	((i) < FIRST_EXT_PAGES ? va + (filled + 1) * ES + (i)*4096 + 1                             \
			       : va + (filled + 2) * ES + ((i)-FIRST_EXT_PAGES) * 4096 + 1)
	for (int i = 0; i < MANY_PAGES; i++) {
		if (tu_try_write8(MANY_ADDR(i), (uint8_t)(i + 1)) == SIGBUS) {
			nsig++;
			nexact += tu_last_sigaddr() == MANY_ADDR(i);
		}
	}
	CU_ASSERT(nsig == MANY_PAGES);
	CU_ASSERT(nexact == MANY_PAGES); /* poison markers, exact si_addr, for all */
	TU_OK(daxmap_obj_unlink(pool, "other"));
	/* the second extent first: a success on the first extent maps all of
	 * it and would hide the markers of its pages */
	for (int j = 0; j < MANY_PAGES; j++) {
		int i = (j + FIRST_EXT_PAGES) % MANY_PAGES;
		sig = tu_try_write8(MANY_ADDR(i), (uint8_t)(i + 1));
		nok += sig == 0 && tu_try_read8(MANY_ADDR(i), &v) == 0 && v == (uint8_t)(i + 1);
	}
	printf("\n  %d pages failed with the pool full; %d of them written after unlink\n", nsig,
	       nok);
	CU_ASSERT(nok == MANY_PAGES);
#undef MANY_ADDR
	TU_OK(daxmap_unmap(va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));
	unlink(tu_path("full4.pool"));
}

/* ---- many threads at once ---- */

#define NT 8

struct full_run {
	char *va;
	uint64_t first; /* first extent of big that got no space */
	pthread_barrier_t bar;
	int sig[NT];
	void *sigaddr[NT];
	int retry_sig[NT];
	atomic_int done;
};

struct full_worker {
	struct full_run *r;
	unsigned id;
	pthread_t tid;
};

static char *thread_addr(struct full_run *r, unsigned id)
{
	/* each thread its own new extent (not the one the fill failed on),
	 * at a different page */
	return r->va + (r->first + 1 + id) * ES + id * 4096 + 17;
}

static void *full_worker_main(void *arg)
{
	struct full_worker *w = arg;
	struct full_run *r = w->r;
	char *a = thread_addr(r, w->id);

	pthread_barrier_wait(&r->bar);
	r->sig[w->id] = tu_try_write8(a, (uint8_t)(0x90 + w->id));
	r->sigaddr[w->id] = tu_last_sigaddr();
	atomic_fetch_add(&r->done, 1);
	return NULL;
}

static void test_threads_hitting_pool_full_at_once_all_get_sigbus_none_hang(void)
{
	const char *path = tu_path("full2.pool");
	daxmap_pool *pool;
	daxmap_obj *big = NULL, *spare = NULL;
	struct daxmap_pool_stat st;
	struct full_worker w[NT];
	struct full_run r;
	uint64_t n;
	int sig;
	uint8_t v;
	char *sva;

	memset(&r, 0, sizeof(r));
	tu_watchdog_arm("threads hitting pool-full", 60);
	pool = tu_pool_create("full2.pool", 40 * MiB);
	n = nextents_of(pool);
	printf("\n  pool of 40 MiB holds %llu extents\n", (unsigned long long)n);
	CU_ASSERT_FATAL(n > NT + 1);
	/* "spare" holds NT extents: unlinking it gives each thread its room */
	make_written_object(pool, "spare", NT, 0x30);
	TU_OK(daxmap_obj_open(&big, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(big, BIG_SIZE));
	TU_OK(daxmap_map((void **)&r.va, big, 0, BIG_SIZE, RW));
	r.first = fill(r.va, BIG_SIZE / ES, &sig);
	CU_ASSERT_FATAL(sig == SIGBUS);
	CU_ASSERT_FATAL(r.first == n - NT);
	CU_ASSERT_FATAL(r.first + NT + 2 < BIG_SIZE / ES);

	CU_ASSERT_FATAL(pthread_barrier_init(&r.bar, NULL, NT) == 0);
	for (unsigned i = 0; i < NT; i++) {
		w[i].r = &r;
		w[i].id = i;
		CU_ASSERT_FATAL(pthread_create(&w[i].tid, NULL, full_worker_main, &w[i]) == 0);
	}
	for (unsigned i = 0; i < NT; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&r.bar);
	CU_ASSERT(atomic_load(&r.done) == NT);
	for (unsigned i = 0; i < NT; i++) {
		if (r.sig[i] != SIGBUS || r.sigaddr[i] != thread_addr(&r, i))
			fprintf(stderr, "  thread %u: signal %d at %p (address %p)\n", i, r.sig[i],
				r.sigaddr[i], (void *)thread_addr(&r, i));
		CU_ASSERT(r.sig[i] == SIGBUS);
		CU_ASSERT(r.sigaddr[i] == thread_addr(&r, i));
	}
	TU_OK(daxmap_pool_stat(pool, &st));
	printf("  faults_sigbus %llu after %d threads hit pool-full\n",
	       (unsigned long long)st.faults_sigbus, NT);
	CU_ASSERT(st.faults_sigbus >= NT + 1);

	/* no lock left held: an allocated extent of big (its range lock) and
	 * another object's extent fault in through fresh mappings */
	TU_OK(daxmap_obj_open(&spare, pool, "spare", 0));
	TU_OK(daxmap_map((void **)&sva, spare, 0, NT * ES, RW));
	for (unsigned e = 0; e < NT; e++)
		CU_ASSERT(tu_try_read8(sva + e * ES, &v) == 0 && v == (uint8_t)(0x30 + e));
	TU_OK(daxmap_unmap(sva, NT * ES));
	TU_OK(daxmap_obj_close(spare));

	/* space back: every failed address (same extents, same range locks)
	 * now faults in, each from its own thread */
	TU_OK(daxmap_obj_unlink(pool, "spare"));
	memset(r.sig, 0, sizeof(r.sig));
	atomic_store(&r.done, 0);
	CU_ASSERT_FATAL(pthread_barrier_init(&r.bar, NULL, NT) == 0);
	for (unsigned i = 0; i < NT; i++)
		CU_ASSERT_FATAL(pthread_create(&w[i].tid, NULL, full_worker_main, &w[i]) == 0);
	for (unsigned i = 0; i < NT; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&r.bar);
	for (unsigned i = 0; i < NT; i++) {
		CU_ASSERT(r.sig[i] == 0);
		CU_ASSERT(tu_try_read8(thread_addr(&r, i), &v) == 0 && v == (uint8_t)(0x90 + i));
	}
	CU_ASSERT(free_of(pool) == 0);
	TU_OK(daxmap_unmap(r.va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	/* close succeeds: nothing is left busy */
	TU_OK(daxmap_pool_close(pool));

	pool = NULL;
	big = NULL;
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&big, pool, "big", 0));
	TU_OK(daxmap_map((void **)&r.va, big, 0, BIG_SIZE, DAXMAP_PROT_READ));
	for (unsigned i = 0; i < NT; i++)
		CU_ASSERT(tu_try_read8(thread_addr(&r, i), &v) == 0 && v == (uint8_t)(0x90 + i));
	TU_OK(daxmap_unmap(r.va, BIG_SIZE));
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	tu_watchdog_disarm();
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"pool_full_sigbus_at_address_then_write_succeeds_after_unlink",
		 test_pool_full_sigbus_at_address_then_write_succeeds_after_unlink},
		{"write_to_read_hole_at_pool_full_sigbus_then_reaches_pool",
		 test_write_to_read_hole_at_pool_full_sigbus_then_reaches_pool},
		{"many_failed_pages_all_fault_afresh_after_unlink",
		 test_many_failed_pages_all_fault_afresh_after_unlink},
		{"threads_hitting_pool_full_at_once_all_get_sigbus_none_hang",
		 test_threads_hitting_pool_full_at_once_all_get_sigbus_none_hang},
		{NULL, NULL},
	};
	return tu_run("full", tests);
}
