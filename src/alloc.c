/* SPDX-License-Identifier: BSD-3-Clause */
/* Extent allocator: free-space bitmaps, goal-directed placement, the zeroer thread. */
#define _GNU_SOURCE
#include "alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extmap.h"
#include "inject.h"
#include "out.h"

static inline int bit_test(const uint64_t *bm, uint64_t i)
{
	return (bm[i >> 6] >> (i & 63)) & 1;
}

static inline void bit_set(uint64_t *bm, uint64_t i)
{
	bm[i >> 6] |= UINT64_C(1) << (i & 63);
}

static inline void bit_clear(uint64_t *bm, uint64_t i)
{
	bm[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

/* First set bit at or after `from` and before `n`, or n. */
static uint64_t bit_find(const uint64_t *bm, uint64_t from, uint64_t n)
{
	uint64_t w, i = from;

	if (i >= n)
		return n;
	w = bm[i >> 6] & (~UINT64_C(0) << (i & 63));
	i &= ~UINT64_C(63);
	for (;;) {
		if (w) {
			i += (uint64_t)__builtin_ctzll(w);
			return i < n ? i : n;
		}
		i += 64;
		if (i >= n)
			return n;
		w = bm[i >> 6];
	}
}

int alloc_init(struct alloc *a, const struct pool_media *md, struct pool_counters *counters) NO_TSA
{
	uint64_t words = (md->nextents + 63) / 64;

	memset(a, 0, sizeof(*a));
	a->md = md;
	a->counters = counters;
	mutex_init(&a->lock, lockclass_alloc);
	pthread_cond_init(&a->zeroer_cond, NULL);
	pthread_cond_init(&a->zeroed_cond, NULL);
	a->free_zeroed = calloc(words ? words : 1, sizeof(uint64_t));
	a->free_dirty = calloc(words ? words : 1, sizeof(uint64_t));
	if (!a->free_zeroed || !a->free_dirty) {
		alloc_fini(a);
		return ERR(-ENOMEM, "cannot allocate free-space bitmaps for %llu extents",
			   (unsigned long long)md->nextents);
	}
	/* object.c has validated every entry before this runs */
	for (uint64_t i = 0; i < md->nextents; i++) {
		uint64_t tag = ext_entry_tag(md->exttab[i]);
		if (tag == EXT_TAG_FREE) {
			bit_set(a->free_zeroed, i);
			a->nzeroed++;
		} else if (tag == EXT_TAG_DIRTY) {
			bit_set(a->free_dirty, i);
			a->ndirty++;
		}
	}
	return 0;
}

void alloc_fini(struct alloc *a) NO_TSA
{
	if (!a->md)
		return;
	free(a->free_zeroed);
	free(a->free_dirty);
	a->free_zeroed = a->free_dirty = NULL;
	pthread_cond_destroy(&a->zeroer_cond);
	pthread_cond_destroy(&a->zeroed_cond);
	mutex_destroy(&a->lock);
	a->md = NULL;
}

/* Stores a table entry and makes it durable: the commit point of every extent change. */
static void alloc_set_entry(struct alloc *a, uint64_t idx, uint64_t entry) REQUIRES(a->lock)
{
	__atomic_store_n(&a->md->exttab[idx], entry, __ATOMIC_RELEASE);
	media_persist(a->md, &a->md->exttab[idx], sizeof(uint64_t));
}

/*
 * Records extent i (out of the free bitmaps, durably zero) as allocated with
 * one 8-byte entry store + persist: the commit point of an allocation. If
 * the persist fails, the entry's durable state is unknown: it is rewritten
 * as free and zeroed, and the extent goes back to the free-zeroed bitmap.
 */
static int alloc_commit_locked(struct alloc *a, uint64_t i, uint64_t entry) REQUIRES(a->lock)
{
	int ret;

	alloc_set_entry(a, i, entry);
	if ((ret = INJECT(INJ_PERSIST)) < 0) {
		alloc_set_entry(a, i, EXT_TAG_FREE << EXT_TAG_SHIFT);
		bit_set(a->free_zeroed, i);
		a->nzeroed++;
	}
	return ret;
}

/* Chooses a free extent: zeroed ones first. Returns nextents if none. */
static uint64_t alloc_pick(struct alloc *a, const uint64_t hints[ALLOC_HINTS], int *dirty)
	REQUIRES(a->lock)
{
	uint64_t n = a->md->nextents, i, from;

	*dirty = 0;
	if (a->nzeroed > 0) {
		for (int h = 0; h < ALLOC_HINTS; h++)
			if (hints[h] < n && bit_test(a->free_zeroed, hints[h]))
				return hints[h];
		/* nearest free zeroed extent after the goal keeps the object's
		 * extents ascending, so later neighbours can still merge */
		from = hints[0] < n ? hints[0] : a->cursor;
		i = bit_find(a->free_zeroed, from, n);
		if (i == n)
			i = bit_find(a->free_zeroed, 0, n);
		return i;
	}
	if (a->ndirty > 0) {
		*dirty = 1;
		for (int h = 0; h < ALLOC_HINTS; h++)
			if (hints[h] < n && bit_test(a->free_dirty, hints[h]))
				return hints[h];
		return bit_find(a->free_dirty, 0, n);
	}
	return n;
}

/* takes a->lock (twice when it must zero: never across the zeroing) */
int alloc_extent(struct alloc *a, uint64_t entry, const uint64_t hints[ALLOC_HINTS],
		 uint64_t *idx)
{
	const struct pool_media *md = a->md;
	uint64_t i;
	int dirty, ret;

	mutex_lock(&a->lock);
	for (;;) {
		i = alloc_pick(a, hints, &dirty);
		if (i < md->nextents || a->nbusy == 0)
			break;
		/* everything free is being zeroed right now: wait for it */
		mutex_wait(&a->lock, &a->zeroed_cond);
	}
	if ((ret = INJECT(INJ_ALLOC)) < 0)
		i = md->nextents;
	if (i < md->nextents) {
		if (dirty) {
			bit_clear(a->free_dirty, i);
			a->ndirty--;
			a->nbusy++;
		} else {
			bit_clear(a->free_zeroed, i);
			a->nzeroed--;
			ret = alloc_commit_locked(a, i, entry);
		}
		a->cursor = i + 1 < md->nextents ? i + 1 : 0;
	}
	mutex_unlock(&a->lock);

	if (ret < 0)
		return ERR(ret, "allocation of an extent in pool %s failed (injected)", md->path);
	if (i >= md->nextents)
		return ERR(-ENOSPC, "pool %s is full: no free extent of %llu bytes", md->path,
			   (unsigned long long)md->extent_size);
	if (dirty) {
		/* No zeroed extent was left. The extent is ours (out of both
		 * bitmaps); its entry still says dirty, so a crash now leaves
		 * it free. Zero durably, then record the allocation. */
		/* a failed zeroing (injected) leaves the extent free-dirty:
		 * its entry never changed */
		if ((ret = INJECT(INJ_ZERO)) == 0) {
			media_zero_persist(md, media_extent_addr(md, i), md->extent_size);
			counter_add(&a->counters->bytes_zeroed_fault, md->extent_size);
		}
		mutex_lock(&a->lock);
		a->nbusy--;
		if (ret == 0) {
			ret = alloc_commit_locked(a, i, entry);
		} else {
			bit_set(a->free_dirty, i);
			a->ndirty++;
			pthread_cond_signal(&a->zeroer_cond);
		}
		pthread_cond_broadcast(&a->zeroed_cond);
		mutex_unlock(&a->lock);
		if (ret < 0)
			return ERR(ret, "zeroing or recording extent %llu of pool %s failed (injected)",
				   (unsigned long long)i, md->path);
	}
	counter_add(&a->counters->extents_allocated, 1);
	*idx = i;
	return 0;
}

/* takes a->lock */
void alloc_free(struct alloc *a, uint64_t idx)
{
	mutex_lock(&a->lock);
	alloc_set_entry(a, idx, EXT_FREE_DIRTY);
	bit_set(a->free_dirty, idx);
	a->ndirty++;
	pthread_cond_signal(&a->zeroer_cond);
	mutex_unlock(&a->lock);
	counter_add(&a->counters->extents_freed, 1);
}

/* takes a->lock */
void alloc_counts(struct alloc *a, uint64_t *nfree, uint64_t *ndirty)
{
	mutex_lock(&a->lock);
	*nfree = a->nzeroed + a->ndirty + a->nbusy;
	*ndirty = a->ndirty + a->nbusy;
	mutex_unlock(&a->lock);
}

/*
 * The zeroer: takes one dirty extent at a time out of the free-dirty bitmap,
 * zeroes it with no lock held, makes the zeros durable, and only then marks
 * it zeroed (in the table, durably, and in the bitmap).
 * takes a->lock (never across the zeroing)
 */
static void *alloc_zeroer(void *arg)
{
	struct alloc *a = arg;
	const struct pool_media *md = a->md;

	mutex_lock(&a->lock);
	for (;;) {
		uint64_t i;

		while (!a->zeroer_stop && a->ndirty == 0)
			mutex_wait(&a->lock, &a->zeroer_cond);
		if (a->zeroer_stop)
			break;
		/* held by a test (injection builds), so that faults zero inline */
		if (INJECT_ARMED(INJ_ZEROER)) {
			mutex_unlock(&a->lock);
			usleep(1000);
			mutex_lock(&a->lock);
			continue;
		}
		i = bit_find(a->free_dirty, 0, md->nextents);
		bit_clear(a->free_dirty, i);
		a->ndirty--;
		a->nbusy++;
		mutex_unlock(&a->lock);

		media_zero_persist(md, media_extent_addr(md, i), md->extent_size);
		counter_add(&a->counters->bytes_zeroed_background, md->extent_size);

		mutex_lock(&a->lock);
		a->nbusy--;
		alloc_set_entry(a, i, 0);
		bit_set(a->free_zeroed, i);
		a->nzeroed++;
			pthread_cond_broadcast(&a->zeroed_cond);
	}
	mutex_unlock(&a->lock);
	lockdep_assert_none_held("zeroer thread");
	return NULL;
}

int alloc_start_zeroer(struct alloc *a)
{
	int rc = pthread_create(&a->zeroer, NULL, alloc_zeroer, a);

	if (rc)
		return ERR(-rc, "cannot start the zeroer thread");
	a->zeroer_running = 1;
	return 0;
}

/* takes a->lock */
void alloc_stop_zeroer(struct alloc *a)
{
	if (!a->zeroer_running)
		return;
	mutex_lock(&a->lock);
	a->zeroer_stop = 1;
	pthread_cond_signal(&a->zeroer_cond);
	mutex_unlock(&a->lock);
	pthread_join(a->zeroer, NULL);
	a->zeroer_running = 0;
}
