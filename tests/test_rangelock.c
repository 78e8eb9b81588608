/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the interval reader/writer lock (src/rangelock.c), compiled
 * into this program: conflicts, sharing, FIFO fairness among overlapping
 * waiters, and a randomized check that conflicting holders never overlap.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include "../src/rangelock.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The lock validator (compiled in) checks these locks as one class of the test's own. */
static struct lockclass test_range_class = LOCKCLASS("test range lock", 0);

/* How long a test waits for something that must happen (ms). */
#define MUST_HAPPEN_MS 5000
/* How long a test watches for something that must not happen (ms). */
#define MUST_NOT_HAPPEN_MS 150

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Waits until *flag >= want or ms pass; returns 1 if it got there. */
static int wait_flag(atomic_int *flag, int want, unsigned ms)
{
	for (unsigned t = 0; t < ms; t++) {
		if (atomic_load(flag) >= want)
			return 1;
		sleep_ms(1);
	}
	return atomic_load(flag) >= want;
}

/* Number of entries (granted or waiting) in the lock's queue. */
static int queue_len(struct rangelock *rl)
{
	int n = 0;
	mutex_lock(&rl->mu);
	for (struct range_entry *p = rl->head; p; p = p->next)
		n++;
	mutex_unlock(&rl->mu);
	return n;
}

/* Waits until the queue holds n entries (a waiter has enqueued itself). */
static int wait_queue_len(struct rangelock *rl, int n, unsigned ms)
{
	for (unsigned t = 0; t < ms; t++) {
		if (queue_len(rl) >= n)
			return 1;
		sleep_ms(1);
	}
	return queue_len(rl) >= n;
}

/*
 * A locker thread: takes [start, end) in the given mode, records the order
 * of its grant in *granted_seq (from a shared sequence), sets entered, waits
 * for release to be set, then unlocks and sets left.
 */
struct locker {
	struct rangelock *rl;
	uint64_t start, end;
	int exclusive;
	atomic_int entered, release, left;
	atomic_int *seq;
	int granted_seq;
	pthread_t tid;
};

static void *locker_main(void *arg)
{
	struct locker *l = arg;
	struct range_entry re;

	rangelock_lock(l->rl, &re, l->start, l->end, l->exclusive);
	if (l->seq)
		l->granted_seq = atomic_fetch_add(l->seq, 1);
	atomic_store(&l->entered, 1);
	while (!atomic_load(&l->release))
		sleep_ms(1);
	rangelock_unlock(l->rl, &re);
	atomic_store(&l->left, 1);
	return NULL;
}

static void locker_start(struct locker *l, struct rangelock *rl, uint64_t start, uint64_t end,
			 int exclusive, atomic_int *seq)
{
	memset(l, 0, sizeof(*l));
	l->rl = rl;
	l->start = start;
	l->end = end;
	l->exclusive = exclusive;
	l->seq = seq;
	l->granted_seq = -1;
	CU_ASSERT_FATAL(pthread_create(&l->tid, NULL, locker_main, l) == 0);
}

static void locker_finish(struct locker *l)
{
	atomic_store(&l->release, 1);
	pthread_join(l->tid, NULL);
	CU_ASSERT(atomic_load(&l->left) == 1);
}

/* Two threads hold disjoint (adjacent) exclusive ranges at the same time. */
static void test_disjoint_exclusive_ranges_held_concurrently(void)
{
	struct rangelock rl;
	struct locker a, b;

	rangelock_init(&rl, test_range_class);
	locker_start(&a, &rl, 0, 4096, 1, NULL);
	CU_ASSERT_FATAL(wait_flag(&a.entered, 1, MUST_HAPPEN_MS));
	/* [4096, 8192) touches [0, 4096) but does not overlap it */
	locker_start(&b, &rl, 4096, 8192, 1, NULL);
	CU_ASSERT(wait_flag(&b.entered, 1, MUST_HAPPEN_MS));
	CU_ASSERT(atomic_load(&a.entered) && !atomic_load(&a.left));
	locker_finish(&a);
	locker_finish(&b);
	CU_ASSERT(queue_len(&rl) == 0);
	rangelock_destroy(&rl);
}

/* An exclusive request overlapping a held exclusive range waits for its release. */
static void test_overlapping_exclusive_blocks_until_release(void)
{
	struct rangelock rl;
	struct range_entry re;
	struct locker b;

	rangelock_init(&rl, test_range_class);
	rangelock_lock(&rl, &re, 100, 200, 1);
	/* overlap by a single unit at the end of the held range */
	locker_start(&b, &rl, 199, 300, 1, NULL);
	CU_ASSERT(wait_queue_len(&rl, 2, MUST_HAPPEN_MS));
	sleep_ms(MUST_NOT_HAPPEN_MS);
	CU_ASSERT(atomic_load(&b.entered) == 0);
	rangelock_unlock(&rl, &re);
	CU_ASSERT(wait_flag(&b.entered, 1, MUST_HAPPEN_MS));
	locker_finish(&b);
	CU_ASSERT(queue_len(&rl) == 0);
	rangelock_destroy(&rl);
}

/* Overlapping shared holders proceed together. */
static void test_shared_overlapping_ranges_proceed_together(void)
{
	struct rangelock rl;
	struct range_entry re;
	struct locker b, c;

	rangelock_init(&rl, test_range_class);
	rangelock_lock(&rl, &re, 0, 1000, 0);
	locker_start(&b, &rl, 500, 1500, 0, NULL);
	locker_start(&c, &rl, 0, 1000, 0, NULL);
	CU_ASSERT(wait_flag(&b.entered, 1, MUST_HAPPEN_MS));
	CU_ASSERT(wait_flag(&c.entered, 1, MUST_HAPPEN_MS));
	rangelock_unlock(&rl, &re);
	locker_finish(&b);
	locker_finish(&c);
	CU_ASSERT(queue_len(&rl) == 0);
	rangelock_destroy(&rl);
}

/* A held shared range blocks an overlapping exclusive request. */
static void test_shared_holder_blocks_overlapping_exclusive(void)
{
	struct rangelock rl;
	struct range_entry re;
	struct locker b;

	rangelock_init(&rl, test_range_class);
	rangelock_lock(&rl, &re, 0, 1000, 0);
	locker_start(&b, &rl, 999, 2000, 1, NULL);
	CU_ASSERT(wait_queue_len(&rl, 2, MUST_HAPPEN_MS));
	sleep_ms(MUST_NOT_HAPPEN_MS);
	CU_ASSERT(atomic_load(&b.entered) == 0);
	rangelock_unlock(&rl, &re);
	CU_ASSERT(wait_flag(&b.entered, 1, MUST_HAPPEN_MS));
	locker_finish(&b);
	rangelock_destroy(&rl);
}

/* A held exclusive range blocks an overlapping shared request. */
static void test_exclusive_holder_blocks_overlapping_shared(void)
{
	struct rangelock rl;
	struct range_entry re;
	struct locker b;

	rangelock_init(&rl, test_range_class);
	rangelock_lock(&rl, &re, 1000, 2000, 1);
	locker_start(&b, &rl, 0, 1001, 0, NULL);
	CU_ASSERT(wait_queue_len(&rl, 2, MUST_HAPPEN_MS));
	sleep_ms(MUST_NOT_HAPPEN_MS);
	CU_ASSERT(atomic_load(&b.entered) == 0);
	rangelock_unlock(&rl, &re);
	CU_ASSERT(wait_flag(&b.entered, 1, MUST_HAPPEN_MS));
	locker_finish(&b);
	rangelock_destroy(&rl);
}

/*
 * FIFO: main holds [0,100) shared; W asks [0,100) exclusive and waits; a
 * later shared request R on [50,60) would be compatible with main's hold
 * but must not overtake W. A later shared request on a range W does not
 * cover ([200,300)) is not held up by W.
 */
static void test_waiting_exclusive_not_overtaken_by_later_shared(void)
{
	struct rangelock rl;
	struct range_entry re;
	struct locker w, r, other;
	atomic_int seq = 0;

	rangelock_init(&rl, test_range_class);
	rangelock_lock(&rl, &re, 0, 100, 0);
	(void)atomic_fetch_add(&seq, 1); /* main is grant 0 */
	locker_start(&w, &rl, 0, 100, 1, &seq);
	CU_ASSERT_FATAL(wait_queue_len(&rl, 2, MUST_HAPPEN_MS));
	locker_start(&r, &rl, 50, 60, 0, &seq);
	CU_ASSERT_FATAL(wait_queue_len(&rl, 3, MUST_HAPPEN_MS));
	locker_start(&other, &rl, 200, 300, 0, NULL);
	CU_ASSERT(wait_flag(&other.entered, 1, MUST_HAPPEN_MS));
	sleep_ms(MUST_NOT_HAPPEN_MS);
	CU_ASSERT(atomic_load(&w.entered) == 0);
	CU_ASSERT(atomic_load(&r.entered) == 0); /* not overtaking W */
	rangelock_unlock(&rl, &re);
	CU_ASSERT(wait_flag(&w.entered, 1, MUST_HAPPEN_MS));
	sleep_ms(MUST_NOT_HAPPEN_MS);
	CU_ASSERT(atomic_load(&r.entered) == 0); /* W holds it now */
	locker_finish(&w);
	CU_ASSERT(wait_flag(&r.entered, 1, MUST_HAPPEN_MS));
	CU_ASSERT(w.granted_seq == 1);
	CU_ASSERT(r.granted_seq == 2);
	locker_finish(&r);
	locker_finish(&other);
	CU_ASSERT(queue_len(&rl) == 0);
	rangelock_destroy(&rl);
}

/* ---- randomized: per-cell occupancy counters catch any conflicting overlap ---- */

#define CELLS 64
#define RAND_THREADS 8
#define RAND_ITERS 20000

struct cell {
	atomic_int readers, writers;
};

static struct rangelock rand_rl;
static struct cell cells[CELLS];
static atomic_long violations, grants_excl, grants_shared;
static uint64_t rand_seed;

static void *rand_worker(void *arg)
{
	uint64_t st = rand_seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(uintptr_t)arg + 1);

	for (int it = 0; it < RAND_ITERS; it++) {
		uint64_t r = tu_rand(&st);
		uint64_t start = r % CELLS;
		uint64_t len = 1 + ((r >> 8) % ((r & (1u << 20)) ? CELLS : 8));
		uint64_t end = start + len > CELLS ? CELLS : start + len;
		int excl = ((r >> 16) % 3) == 0;
		struct range_entry re;

		rangelock_lock(&rand_rl, &re, start, end, excl);
		for (uint64_t c = start; c < end; c++) {
			if (excl) {
				if (atomic_fetch_add(&cells[c].writers, 1) != 0 ||
				    atomic_load(&cells[c].readers) != 0)
					atomic_fetch_add(&violations, 1);
			} else {
				atomic_fetch_add(&cells[c].readers, 1);
				if (atomic_load(&cells[c].writers) != 0)
					atomic_fetch_add(&violations, 1);
			}
		}
		if ((r >> 24) % 16 == 0)
			sched_yield(); /* hold it a little longer now and then */
		for (uint64_t c = start; c < end; c++) {
			if (excl) {
				if (atomic_load(&cells[c].readers) != 0)
					atomic_fetch_add(&violations, 1);
				atomic_fetch_sub(&cells[c].writers, 1);
			} else {
				if (atomic_load(&cells[c].writers) != 0)
					atomic_fetch_add(&violations, 1);
				atomic_fetch_sub(&cells[c].readers, 1);
			}
		}
		rangelock_unlock(&rand_rl, &re);
		atomic_fetch_add(excl ? &grants_excl : &grants_shared, 1);
	}
	return NULL;
}

static void test_random_ranges_conflicting_holders_never_overlap(void)
{
	pthread_t t[RAND_THREADS];

	rand_seed = tu_seed("rangelock random");
	rangelock_init(&rand_rl, test_range_class);
	memset(cells, 0, sizeof(cells));
	atomic_store(&violations, 0);
	atomic_store(&grants_excl, 0);
	atomic_store(&grants_shared, 0);
	for (uintptr_t i = 0; i < RAND_THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, rand_worker, (void *)i) == 0);
	for (int i = 0; i < RAND_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("  %ld exclusive + %ld shared grants, %ld violations\n", atomic_load(&grants_excl),
	       atomic_load(&grants_shared), atomic_load(&violations));
	CU_ASSERT(atomic_load(&violations) == 0);
	CU_ASSERT(atomic_load(&grants_excl) + atomic_load(&grants_shared) ==
		  (long)RAND_THREADS * RAND_ITERS);
	for (int c = 0; c < CELLS; c++)
		CU_ASSERT(atomic_load(&cells[c].readers) == 0 && atomic_load(&cells[c].writers) == 0);
	CU_ASSERT(queue_len(&rand_rl) == 0);
	rangelock_destroy(&rand_rl);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"disjoint_exclusive_ranges_held_concurrently",
		 test_disjoint_exclusive_ranges_held_concurrently},
		{"overlapping_exclusive_blocks_until_release",
		 test_overlapping_exclusive_blocks_until_release},
		{"shared_overlapping_ranges_proceed_together",
		 test_shared_overlapping_ranges_proceed_together},
		{"shared_holder_blocks_overlapping_exclusive",
		 test_shared_holder_blocks_overlapping_exclusive},
		{"exclusive_holder_blocks_overlapping_shared",
		 test_exclusive_holder_blocks_overlapping_shared},
		{"waiting_exclusive_not_overtaken_by_later_shared",
		 test_waiting_exclusive_not_overtaken_by_later_shared},
		{"random_ranges_conflicting_holders_never_overlap",
		 test_random_ranges_conflicting_holders_never_overlap},
		{NULL, NULL},
	};
	return tu_run("rangelock", tests);
}
