/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extent allocator: free-space bitmaps, goal-directed placement, and the
 * zeroer thread, which clears freed extents and keeps free ones warm.
 */
#define _GNU_SOURCE
#include "alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitmap.h"
#include "extmap.h"
#include "inject.h"
#include "out.h"

/* Dirty extents the zeroer clears between two fdatasyncs. */
#define ALLOC_CLEAR_BATCH 64
/* How far past a frontier the warmer looks for a cold extent. */
#define ALLOC_WARM_AHEAD 64

int alloc_init(struct alloc *a, struct pool_media *md, struct pool_counters *counters,
	       uint64_t warm_budget, int warm, struct alloc *parent) NO_TSA
{
	uint64_t words = (md->nextents + 63) / 64;

	memset(a, 0, sizeof(*a));
	a->md = md;
	a->parent = parent;
	a->cleared_gen = 1; /* the zeroer's first idle moment looks for whole free extents */
	if (parent) {
		a->bshift = parent->md->extent_shift - md->extent_shift;
		warm_budget = 0; /* blocks come from (warm) extents; freed ones are punched */
		warm = 0;
	}
	a->counters = counters;
	a->warm_budget = warm_budget;
	a->warming = md->nextents;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	a->ncpus = ncpus > 0 ? (unsigned)ncpus : 1;
	mutex_init(&a->lock, lockclass_alloc);
	pthread_cond_init(&a->zeroer_cond, NULL);
	pthread_cond_init(&a->zeroed_cond, NULL);
	a->free_zeroed = calloc(words ? words : 1, sizeof(uint64_t));
	a->free_dirty = calloc(words ? words : 1, sizeof(uint64_t));
	a->warm = calloc(words ? words : 1, sizeof(uint64_t));
	a->was_warm = calloc(words ? words : 1, sizeof(uint64_t));
	if (!a->free_zeroed || !a->free_dirty || !a->warm || !a->was_warm) {
		alloc_fini(a);
		return ERR(-ENOMEM, "cannot allocate free-space bitmaps for %llu extents",
			   (unsigned long long)md->nextents);
	}
	/* what an earlier run (or the prefault) left warm stays warm */
	if (!warm && !parent)
		media_find_warm(md, a->warm);
	/* object.c has validated every entry before this runs (those past the
	 * file's end are zero: not free, not there, until a grow) */
	for (uint64_t i = 0; i < atomic_load(&md->npresent); i++) {
		uint64_t tag = ext_entry_tag(md->exttab[i]);
		/* a block is free only in a split extent (elsewhere its entry is
		 * 0 and the extent is the extent allocator's) */
		if (parent && ext_entry_tag(parent->md->exttab[i >> a->bshift]) != EXT_TAG_SPLIT)
			continue;
		if (parent && (i & ((UINT64_C(1) << a->bshift) - 1)) == 0)
			a->nsplit++;
		if (tag != EXT_TAG_FREE)
			bit_clear(a->warm, i); /* warm bits are for free zeroed extents only */
		if (tag == EXT_TAG_FREE) {
			media_hull_reset(md, i); /* nothing written, nothing exposed */
			bit_set(a->free_zeroed, i);
			a->nzeroed++;
			if (warm)
				bit_set(a->warm, i);
			a->nwarm += bit_test(a->warm, i);
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
	free(a->warm);
	free(a->was_warm);
	a->free_zeroed = a->free_dirty = a->warm = a->was_warm = NULL;
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
	if (a->sh)
		shared_ring_push(a->sh, a->table, idx); /* the others catch up from it */
}

void alloc_share(struct alloc *a, struct shared *sh, unsigned table) NO_TSA
{
	a->sh = sh;
	a->table = table;
	a->ring_seen = sh->run->ring_seq; /* alloc_init read the tables under meta */
	a->epoch_seen = sh->run->epoch;
}

/* Extent i's bits say what its table entry says (another process changed it). */
static void alloc_refresh_locked(struct alloc *a, uint64_t i) REQUIRES(a->lock)
{
	uint64_t tag = ext_entry_tag(a->md->exttab[i]);

	if (i >= atomic_load(&a->md->npresent))
		return;
	if (bit_test(a->free_zeroed, i)) {
		bit_clear(a->free_zeroed, i);
		a->nzeroed--;
	}
	if (bit_test(a->warm, i)) {
		bit_clear(a->warm, i);
		a->nwarm--;
	}
	if (bit_test(a->free_dirty, i)) {
		bit_clear(a->free_dirty, i);
		a->ndirty--;
	}
	if (tag == EXT_TAG_FREE) {
		bit_set(a->free_zeroed, i);
		a->nzeroed++;
	} else if (tag == EXT_TAG_DIRTY) {
		bit_set(a->free_dirty, i);
		a->ndirty++;
	}
}

/*
 * A shared pool: applies the table changes of every process since the
 * last call (our own again too: the bits follow the entries, so that is
 * idempotent), or rescans the table when the ring moved on too far or a
 * process died holding meta. Nothing of ours is out of the bitmaps here:
 * clearing and committing an extent happen in one hold of meta.
 */
static void alloc_sync_locked(struct alloc *a) REQUIRES(a->lock)
{
	const struct shared_run *run = a->sh->run;
	uint64_t seq = run->ring_seq, idx;
	unsigned t;

	if (a->epoch_seen != run->epoch || seq - a->ring_seen > SHARED_RING) {
		for (uint64_t i = 0; i < a->md->nextents; i++)
			alloc_refresh_locked(a, i);
		a->epoch_seen = run->epoch;
	} else {
		for (uint64_t k = a->ring_seen; k < seq; k++)
			if (shared_ring_get(a->sh, k, &t, &idx) == 0 && t == a->table &&
			    idx < a->md->nextents)
				alloc_refresh_locked(a, idx);
	}
	a->ring_seen = seq;
	if (a->ndirty)
		pthread_cond_signal(&a->zeroer_cond); /* freed by others: ours to clear too */
}

/* A shared pool's meta lock around a call (nothing otherwise). */
static void alloc_meta_lock(struct alloc *a) NO_TSA
{
	if (a->sh)
		shared_meta_lock(a->sh);
}

static void alloc_meta_unlock(struct alloc *a) NO_TSA
{
	if (a->sh)
		shared_meta_unlock(a->sh);
}

/* a->lock, after meta in a shared pool, brought up to date */
static void alloc_lock(struct alloc *a) ACQUIRE(a->lock) NO_TSA
{
	mutex_lock(&a->lock);
	if (a->sh)
		alloc_sync_locked(a);
}

/* Extent i joins the free, zeroed set (its entry already says so); `warm`
 * tells whether its pages exist (zeroed in place) or not (detached). */
static void alloc_put_zeroed_locked(struct alloc *a, uint64_t i, int warm) REQUIRES(a->lock)
{
	media_hull_reset(a->md, i); /* it reads zero: nothing written, nothing exposed */
	bit_clear(a->was_warm, i);
	bit_set(a->free_zeroed, i);
	a->nzeroed++;
	if (warm) {
		bit_set(a->warm, i);
		a->nwarm++;
	}
}

/* Where allocations head next: the warmer works ahead of these. */
static void alloc_push_frontier_locked(struct alloc *a, uint64_t i) REQUIRES(a->lock)
{
	if (i >= a->md->nextents)
		return;
	for (unsigned k = 0; k < a->nfrontier; k++)
		if (a->frontier[k] == i)
			return;
	memmove(&a->frontier[1], &a->frontier[0],
		(ALLOC_FRONTIERS - 1) * sizeof(a->frontier[0]));
	a->frontier[0] = i;
	if (a->nfrontier < ALLOC_FRONTIERS)
		a->nfrontier++;
	if (a->nwarm < a->warm_budget && a->nwarm < a->nzeroed)
		pthread_cond_signal(&a->zeroer_cond); /* cold space to warm ahead of it */
}

/*
 * Records extent i (out of the free bitmaps, durably zero) as allocated with
 * one 8-byte entry store + persist: the commit point of an allocation. If
 * the persist fails (injection builds), the entry's durable state is
 * unknown: it is rewritten as free and zeroed, and the extent goes back to
 * the free-zeroed bitmap (cold: its warmth is not worth tracking here).
 */
static int alloc_commit_locked(struct alloc *a, uint64_t i, uint64_t entry) REQUIRES(a->lock)
{
	int ret;

	alloc_set_entry(a, i, entry);
	if ((ret = INJECT(INJ_PERSIST)) < 0) {
		alloc_set_entry(a, i, EXT_TAG_FREE << EXT_TAG_SHIFT);
		alloc_put_zeroed_locked(a, i, 0);
	}
	return ret;
}

/*
 * Chooses a free extent: zeroed ones first. Placement wins over warmth: a
 * hint (the object's own position, or next to a neighbour) is taken warm or
 * cold, because an object's extents must stay contiguous to stay one VMA;
 * the warmer works ahead of those positions. A hint that the warmer holds
 * right now is waited for (*wait: it is back, warm, within one extent's
 * warming). Without a usable hint, the nearest warm extent after the goal,
 * else the nearest cold one. Returns nextents if none.
 */
static uint64_t alloc_pick(struct alloc *a, const uint64_t hints[ALLOC_HINTS], int *dirty,
			   int *wait) REQUIRES(a->lock)
{
	uint64_t n = a->md->nextents, i, from;

	*dirty = 0;
	*wait = hints[0] < n && hints[0] == a->warming;
	if (*wait)
		return n;
	if (a->nzeroed > 0) {
		for (int h = 0; h < ALLOC_HINTS; h++)
			if (hints[h] < n && bit_test(a->free_zeroed, hints[h]))
				return hints[h];
		/* nearest free zeroed extent after the goal keeps the object's
		 * extents ascending, so later neighbours can still merge */
		from = hints[0] < n ? hints[0] : a->cursor;
		/* no goal to stay next to: a warm one (a warm bit is only ever
		 * set on a free zeroed extent) */
		if (hints[0] >= n && a->nwarm > 0 &&
		    ((i = bit_find(a->warm, from, n)) < n || (i = bit_find(a->warm, 0, n)) < n))
			return i;
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
	*wait = a->warming < n; /* the last free extent, being warmed */
	return n;
}

/* Takes a free zeroed extent out of the bitmaps; counts whether it was warm. */
static void alloc_take_zeroed_locked(struct alloc *a, uint64_t i) REQUIRES(a->lock)
{
	bit_clear(a->free_zeroed, i);
	a->nzeroed--;
	if (bit_test(a->warm, i)) {
		bit_clear(a->warm, i);
		bit_set(a->was_warm, i); /* its pages stay when it is zeroed in place */
		a->nwarm--;
		counter_add(&a->counters->extents_warm, 1);
	} else {
		counter_add(&a->counters->extents_cold, 1);
	}
}

/* detached[k] of an extent zeroed in place over its written hull only */
#define ALLOC_IN_PLACE_HULL (-1)

/*
 * Clears dirty extents idx[0..n) (ascending, ours: out of every bitmap):
 * one that no application mapping ever mapped by zeroing what pwrite wrote
 * of it, in place; runs of consecutive others with one call (punched, or
 * zeroed in place where the file system cannot punch), then makes the holes
 * durable. Returns how many were cleared, detached[k] saying how: 1 pages
 * detached, 0 zeroed in place, ALLOC_IN_PLACE_HULL its written part zeroed
 * (each counts as zeroed by the zeroer or, inline, on the fault path);
 * those from the first failure on stay dirty, and *err says why. No lock held.
 */
static unsigned alloc_clear(struct alloc *a, const uint64_t *idx, unsigned n, int *detached,
			    int inline_, int *err)
{
	_Atomic uint64_t *zeroed = inline_ ? &a->counters->bytes_zeroed_fault
					   : &a->counters->bytes_zeroed_background;
	unsigned k = 0, done = 0;
	int any_detached = 0, ret = 0;

	while (k < n) {
		unsigned run = 1;
		/* never mapped by the application: only what pwrite wrote is
		 * zeroed, in place (ALLOC_IN_PLACE_HULL: its pages stay) */
		if (media_clear_unexposed(a->md, idx[k])) {
			detached[k] = ALLOC_IN_PLACE_HULL;
			counter_add(zeroed, a->md->extent_size);
			done = ++k;
			continue;
		}
		while (k + run < n && idx[k + run] == idx[k] + run &&
		       atomic_load(&a->md->hull[idx[k + run]]) == MEDIA_EXPOSED)
			run++;
		if ((ret = media_clear(a->md, idx[k], run)) < 0)
			break;
		for (unsigned j = 0; j < run; j++)
			detached[k + j] = ret;
		counter_add(zeroed, (uint64_t)run << a->md->extent_shift);
		if (ret)
			counter_add(&a->counters->bytes_detached, (uint64_t)run << a->md->extent_shift);
		any_detached |= ret;
		k += run;
		done = k;
	}
	/* the holes must be durable before any entry says "zeroed"; a failed
	 * clearing's error stays the one reported */
	if (any_detached) {
		int sret = media_sync(a->md);
		if (sret < 0) {
			done = 0;
			ret = sret;
		}
	}
	*err = ret < 0 ? ret : 0;
	return done;
}

static int alloc_extent_once(struct alloc *a, uint64_t entry, const uint64_t hints[ALLOC_HINTS],
			     uint64_t *idx);

/* Free extents an optional split (a fresh run) leaves to the pool, at least. */
#define ALLOC_SPLIT_RESERVE 4

/*
 * Blocks: a free extent of the parent is split (its entry := EXT_SPLIT,
 * durably: all its block entries are 0, its bytes zero), preferably the one
 * holding the hint's block (the next after an object's last block), so
 * that an object's blocks stay contiguous across extents; its blocks join
 * the free zeroed set and *x says which. An optional split (a fresh run)
 * is made only out of plenty of free extents, without growing the pool
 * (else -ENOSPC). Takes the parent's lock (as alloc_extent), then a->lock;
 * holds neither across the other.
 */
static int alloc_split(struct alloc *a, const uint64_t hints[ALLOC_HINTS], uint64_t *x,
		       int optional)
{
	struct alloc *p = a->parent;
	uint64_t ph[ALLOC_HINTS];
	int ret;

	for (int h = 0; h < ALLOC_HINTS; h++)
		ph[h] = hints[h] < a->md->nextents ? hints[h] >> a->bshift : EXTMAP_NONE;
	if (optional) {
		/* only out of plenty: never the pool's last extents (objects of
		 * extents need them), never a grow, never a wait */
		uint64_t present = atomic_load(&p->md->npresent);
		mutex_lock(&p->lock);
		ret = p->nzeroed > ALLOC_SPLIT_RESERVE && p->nzeroed > present / 8;
		mutex_unlock(&p->lock);
		if (!ret)
			return -ENOSPC;
		ret = alloc_extent_once(p, EXT_SPLIT, ph, x);
	} else {
		ret = alloc_extent(p, EXT_SPLIT, ph, x);
	}
	if (ret < 0)
		return ret;
	mutex_lock(&a->lock);
	for (uint64_t i = *x << a->bshift; i < (*x + 1) << a->bshift; i++)
		alloc_put_zeroed_locked(a, i, 0);
	a->nsplit++;
	pthread_cond_broadcast(&a->zeroed_cond);
	mutex_unlock(&a->lock);
	return 0;
}

/* A run of this many free zeroed blocks, aligned, starts a fresh run. */
#define ALLOC_RUN 8
/* Bitmap words alloc_find_run looks at, at most, per call (under the lock). */
#define ALLOC_RUN_SCAN 4096

/* Blocks: the first block of an aligned run of ALLOC_RUN free zeroed
 * blocks at or after `from` (then from the start), or nextents. */
static uint64_t alloc_find_run_locked(struct alloc *a, uint64_t from) REQUIRES(a->lock)
{
	uint64_t words = (a->md->nextents + 63) / 64, mask = (UINT64_C(1) << ALLOC_RUN) - 1;

	for (uint64_t k = 0; k < words && k < ALLOC_RUN_SCAN; k++) {
		uint64_t w = (from / 64 + k) % words, bits = a->free_zeroed[w];
		for (unsigned j = 0; bits && j < 64; j += ALLOC_RUN)
			if (((bits >> j) & mask) == mask && w * 64 + j + ALLOC_RUN <= a->md->nextents)
				return w * 64 + j;
	}
	return a->md->nextents;
}

/*
 * Blocks: an object that grows at its end (hints[1]: the block after its
 * left neighbour; no right neighbour, hints[2]) finds that block taken, by
 * another object that grows beside it: rather than interleave with it (a
 * VMA per block in both objects' mappings), it starts a fresh run: at an
 * aligned run of free blocks, else at the first block of a newly split
 * extent. An object's first block takes any free block (small objects pack
 * into shared extents); a hole is filled where it falls. A failed split
 * leaves the usual placement. Takes a->lock, then (alloc_split) the
 * parent's lock.
 */
static void alloc_fresh_run(struct alloc *a, uint64_t hints[ALLOC_HINTS])
{
	uint64_t n = a->md->nextents, x, run = n;
	int taken;

	if (hints[1] >= n || hints[2] < n)
		return;
	/* taken: allocated (a dirty one, which a punch of this object may just
	 * have freed, is not: that object refills its own hole) */
	mutex_lock(&a->lock);
	taken = !bit_test(a->free_zeroed, hints[1]) && !bit_test(a->free_dirty, hints[1]);
	if (taken)
		run = alloc_find_run_locked(a, hints[1]);
	mutex_unlock(&a->lock);
	if (!taken)
		return;
	if (run < n)
		hints[0] = run;
	else if (alloc_split(a, hints, &x, 1) == 0)
		hints[0] = x << a->bshift;
}

/* Blocks: extent x's blocks are all free and zeroed, and out of a's bitmaps:
 * the parent gets it back (EXT_SPLIT -> 0, durably). Takes the parent's lock. */
static void alloc_unsplit(struct alloc *a, uint64_t x)
{
	struct alloc *p = a->parent;

	mutex_lock(&p->lock);
	alloc_set_entry(p, x, 0);
	alloc_put_zeroed_locked(p, x, 0);
	pthread_cond_broadcast(&p->zeroed_cond);
	pthread_cond_signal(&p->zeroer_cond);
	mutex_unlock(&p->lock);
}

/* Blocks: takes the blocks of extent x out of the free set if they are all
 * free and zeroed and as many others are free (then the caller gives it
 * back: alloc_unsplit). */
static int alloc_take_whole_locked(struct alloc *a, uint64_t x) REQUIRES(a->lock)
{
	uint64_t lo = x << a->bshift, hi = (x + 1) << a->bshift;

	/* one extent's worth of free blocks stays: a small object created and
	 * unlinked over and over must not split and give back an extent each
	 * time */
	if (a->nzeroed < 2 * (hi - lo))
		return 0;
	for (uint64_t i = lo; i < hi; i++)
		if (!bit_test(a->free_zeroed, i))
			return 0;
	for (uint64_t i = lo; i < hi; i++) {
		bit_clear(a->free_zeroed, i);
		a->nzeroed--;
		if (bit_test(a->warm, i)) {
			bit_clear(a->warm, i);
			a->nwarm--;
		}
	}
	a->nsplit--; /* the parent's again once alloc_unsplit ran */
	return 1;
}

/* Blocks: up to max split extents whose blocks are all free (a crash left
 * them so, or the reserve kept them), out of the free set into x[], for
 * alloc_unsplit; one bit test rejects most extents. */
static unsigned alloc_scan_whole_locked(struct alloc *a, uint64_t *x, unsigned max)
	REQUIRES(a->lock)
{
	uint64_t n = atomic_load(&a->md->npresent) >> a->bshift;
	unsigned k = 0;

	for (uint64_t e = 0; e < n && k < max; e++)
		if (bit_test(a->free_zeroed, e << a->bshift) && alloc_take_whole_locked(a, e))
			x[k++] = e;
	return k;
}

/* takes a->lock (twice when it must clear: never across the clearing); a
 * full pool with automatic growth: a->grow (pool->grow_lock, then a->lock) */
static int alloc_extent_loop(struct alloc *a, uint64_t entry, uint64_t hints[ALLOC_HINTS],
			     uint64_t *idx);

/* takes meta (shared pools), then a->lock */
int alloc_extent(struct alloc *a, uint64_t entry, const uint64_t hints_in[ALLOC_HINTS],
		 uint64_t *idx)
{
	uint64_t hints[ALLOC_HINTS] = {hints_in[0], hints_in[1], hints_in[2]};
	int ret;

	alloc_meta_lock(a);
	ret = alloc_extent_loop(a, entry, hints, idx);
	alloc_meta_unlock(a);
	return ret;
}

static int alloc_extent_loop(struct alloc *a, uint64_t entry, uint64_t hints[ALLOC_HINTS],
			     uint64_t *idx)
{
	uint64_t x;

	if (a->parent)
		alloc_fresh_run(a, hints);
	for (;;) {
		uint64_t seen = atomic_load(&a->md->size);
		int ret = alloc_extent_once(a, entry, hints, idx), g;

		if (ret == -ENOSPC && a->parent) {
			/* blocks: carve another extent (the parent grows the
			 * pool if it must), then try again */
			if ((g = alloc_split(a, hints, &x, 0)) == -ENOSPC)
				return ERR(-ENOSPC, "pool %s is full: no free block of %s and no "
						    "free extent to split into blocks",
					   a->md->path, "64 KiB");
			if (g < 0)
				return g;
			continue;
		}
		if (ret != -ENOSPC || !a->grow)
			return ret;
		/* the pool grows by a step (or another thread just grew it):
		 * then try again; at its maximum, -ENOSPC with the reason */
		if ((g = a->grow(a->grow_arg, seen)) < 0)
			return g;
	}
}

static int alloc_extent_once(struct alloc *a, uint64_t entry, const uint64_t hints[ALLOC_HINTS],
			     uint64_t *idx)
{
	const struct pool_media *md = a->md;
	uint64_t i;
	int dirty, wait, ret, detached = 0;

	alloc_lock(a);
	for (;;) {
		i = alloc_pick(a, hints, &dirty, &wait);
		if (i < md->nextents || (a->nbusy == 0 && !wait))
			break;
		/* everything free is being cleared, or the extent we want is
		 * being warmed, right now: wait for it (what is warmed of it
		 * already, the fault need not do again) */
		atomic_fetch_add(&a->waiters, 1);
		mutex_wait(&a->lock, &a->zeroed_cond);
		atomic_fetch_sub(&a->waiters, 1);
	}
	if ((ret = INJECT(INJ_ALLOC)) < 0)
		i = md->nextents;
	if (i < md->nextents) {
		if (dirty) {
			bit_clear(a->free_dirty, i);
			bit_clear(a->was_warm, i); /* cleared inline: punched, cold */
			a->ndirty--;
			a->nbusy++;
		} else {
			alloc_take_zeroed_locked(a, i);
			ret = alloc_commit_locked(a, i, entry);
		}
		a->cursor = i + 1 < md->nextents ? i + 1 : 0;
		a->nallocs++;
		alloc_push_frontier_locked(a, i + 1);
	}
	mutex_unlock(&a->lock);

	if (ret < 0)
		return ERR(ret, "allocation of an extent in pool %s failed (injected)", md->path);
	if (i >= md->nextents) {
		char sz[OUT_SIZE_MAX];
		if (a->parent)
			return -ENOSPC; /* no free block: alloc_extent splits an extent */
		return ERR(-ENOSPC, "pool %s is full: no free extent of %s", md->path,
			   out_size(sz, md->extent_size));
	}
	if (dirty) {
		/* No zeroed extent was left. The extent is ours (out of both
		 * bitmaps); its entry still says dirty, so a crash now leaves
		 * it free. Clear it durably, then record the allocation. A
		 * failed clearing (also an injected one) leaves it dirty. */
		int injected = (ret = INJECT(INJ_ZERO)) < 0;
		int cleared = !injected && alloc_clear(a, &i, 1, &detached, 1, &ret) == 1;
		mutex_lock(&a->lock);
		a->nbusy--;
		if (ret == 0) {
			media_hull_reset(a->md, i); /* zero now: the new owner's writes count */
			counter_add(&a->counters->extents_cold, 1);
			ret = alloc_commit_locked(a, i, entry);
		} else {
			bit_set(a->free_dirty, i);
			a->ndirty++;
			pthread_cond_signal(&a->zeroer_cond);
		}
		pthread_cond_broadcast(&a->zeroed_cond);
		mutex_unlock(&a->lock);
		/* only injection fails a commit; media_clear's own errors
		 * carry their message already */
		if (ret < 0)
			return injected || cleared
				       ? ERR(ret, "clearing or recording extent %llu of pool %s "
						  "failed (injected)", (unsigned long long)i, md->path)
				       : ret;
	}
	counter_add(&a->counters->extents_allocated, 1);
	*idx = i;
	return 0;
}

/* takes a->lock */
void alloc_free(struct alloc *a, uint64_t idx)
{
	alloc_meta_lock(a);
	alloc_lock(a);
	alloc_set_entry(a, idx, EXT_FREE_DIRTY);
	if (!bit_test(a->free_dirty, idx)) {
		bit_set(a->free_dirty, idx);
		a->ndirty++;
	}
	pthread_cond_signal(&a->zeroer_cond);
	mutex_unlock(&a->lock);
	alloc_meta_unlock(a);
	counter_add(&a->counters->extents_freed, 1);
}

/* takes a->lock */
void alloc_grow(struct alloc *a, uint64_t from, uint64_t to)
{
	mutex_lock(&a->lock);
	for (uint64_t i = from; i < to; i++) {
		media_hull_reset(a->md, i);
		bit_set(a->free_zeroed, i); /* fresh file space: zero, cold */
	}
	a->nzeroed += to - from;
	pthread_cond_broadcast(&a->zeroed_cond);
	pthread_cond_signal(&a->zeroer_cond);
	mutex_unlock(&a->lock);
}

/* takes a->lock */
void alloc_counts(struct alloc *a, uint64_t *nfree, uint64_t *ndirty, uint64_t *nwarm,
		  uint64_t *nsplit)
{
	alloc_meta_lock(a);
	alloc_lock(a);
	*nfree = a->nzeroed + a->ndirty + a->nbusy + (a->warming < a->md->nextents);
	*ndirty = a->ndirty + a->nbusy;
	*nwarm = a->nwarm;
	if (nsplit)
		*nsplit = a->nsplit;
	mutex_unlock(&a->lock);
	alloc_meta_unlock(a);
}

/* takes a->lock */
void alloc_expect(struct alloc *a, uint64_t goal)
{
	mutex_lock(&a->lock);
	alloc_push_frontier_locked(a, goal);
	mutex_unlock(&a->lock);
}

/*
 * Warming in a shared pool: another process may take the extent while it
 * is warmed, and store into it at once. Each step writes its zeros under
 * meta, only while the extent's entry still says free and zeroed (an
 * allocation commits under meta). 1 when all of it is warm.
 */
static int alloc_warm_shared(struct alloc *a, uint64_t i)
{
	const struct pool_media *md = a->md;
	uint64_t off = media_extent_off(md, i, 0);
	int ok = 1;

	for (uint64_t done = 0; ok && done < md->extent_size; done += MEDIA_WARM_STEP) {
		size_t step = (size_t)(md->extent_size - done < MEDIA_WARM_STEP
					       ? md->extent_size - done : MEDIA_WARM_STEP);
		shared_meta_lock(a->sh);
		ok = __atomic_load_n(&md->exttab[i], __ATOMIC_ACQUIRE) == 0 &&
		     media_warm_step(md, off + done, step) == 0;
		shared_meta_unlock(a->sh);
		/* background work: a thread waiting for meta (of any process:
		 * the mutex is not fair) gets it between two steps */
		shared_meta_yield(a->sh);
	}
	if (ok)
		media_warm_done(md, i, 1);
	return ok;
}

/*
 * The next free extent to warm, or nextents: first a cold one just ahead
 * of a frontier (newest first), where the next allocations will land, then
 * the next cold one of a sweep over the pool, as long as the budget lasts.
 */
static uint64_t alloc_next_cold_locked(struct alloc *a) REQUIRES(a->lock)
{
	uint64_t n = a->md->nextents, i;

	if (a->nwarm >= a->warm_budget || a->nwarm >= a->nzeroed)
		return n;
	for (unsigned k = 0; k < a->nfrontier; k++) {
		/* the newest frontier is where a fault may be working right
		 * now: start `lead` past it, so the two never race over one
		 * extent (alloc_zeroer adapts the lead) */
		uint64_t f = a->frontier[k] + (k == 0 ? a->lead : 0);
		uint64_t lim = f + ALLOC_WARM_AHEAD < n ? f + ALLOC_WARM_AHEAD : n;
		if ((i = bit_find_andnot(a->free_zeroed, a->warm, f, lim)) < lim)
			return i;
	}
	if ((i = bit_find_andnot(a->free_zeroed, a->warm, a->sweep, n)) == n)
		i = bit_find_andnot(a->free_zeroed, a->warm, 0, n);
	a->sweep = i < n ? i + 1 : 0;
	return i;
}

/* Takes up to ALLOC_CLEAR_BATCH dirty extents out of the bitmap, ascending. */
static unsigned alloc_take_dirty_locked(struct alloc *a, uint64_t *idx) REQUIRES(a->lock)
{
	uint64_t n = a->md->nextents, i = 0;
	unsigned k = 0;

	while (k < ALLOC_CLEAR_BATCH && (i = bit_find(a->free_dirty, i, n)) < n) {
		bit_clear(a->free_dirty, i);
		a->ndirty--;
		a->nbusy++;
		idx[k++] = i++;
	}
	return k;
}

/*
 * Between two steps of warming: wait while faults keep every CPU busy (the
 * warmer never competes with them for a CPU), a little at a time, for at
 * most 100 ms; but never while an allocation waits in alloc_extent, for
 * that fault may be waiting for this very extent (and the faults counted
 * busy may be waiting behind it). Never stops the warming.
 */
static int alloc_warm_pause(void *arg)
{
	struct alloc *a = arg;

	for (int i = 0; i < 1000 && atomic_load(&a->waiters) == 0 &&
			atomic_load_explicit(&a->counters->faults_active, memory_order_relaxed) >=
				a->ncpus;
	     i++)
		usleep(100);
	return 0;
}

/*
 * The zeroer. Dirty extents first: a batch is taken out of the free-dirty
 * bitmap, cleared with no lock held (their pages leave the file, or are
 * zeroed in place), made durable, and only then marked zeroed (in the
 * table, durably, and in the bitmap). With nothing to clear it warms one
 * free extent at a time (alloc_next_cold_locked), with no lock held: the
 * warming only reads, so an extent allocated meanwhile loses nothing.
 * takes a->lock (never across clearing or warming)
 */
static void *alloc_zeroer(void *arg)
{
	struct alloc *a = arg;
	const struct pool_media *md = a->md;
	uint64_t idx[ALLOC_CLEAR_BATCH], i, whole[ALLOC_CLEAR_BATCH];
	int detached[ALLOC_CLEAR_BATCH];

	mutex_lock(&a->lock);
	for (;;) {
		unsigned n, done, nwhole = 0;
		int err;

		/* blocks, going idle after clearing: whole free extents go back */
		if (a->parent && a->ndirty == 0 && a->scanned_gen != a->cleared_gen) {
			a->scanned_gen = a->cleared_gen;
			/* (below two extents' worth of free blocks, nothing goes back) */
			if (a->nzeroed >= UINT64_C(2) << a->bshift &&
			    (nwhole = alloc_scan_whole_locked(a, whole, ALLOC_CLEAR_BATCH)) > 0) {
				mutex_unlock(&a->lock);
				for (unsigned k = 0; k < nwhole; k++)
					alloc_unsplit(a, whole[k]);
				mutex_lock(&a->lock);
				nwhole = 0;
				pthread_cond_broadcast(&a->zeroed_cond);
			}
		}
		while (!a->zeroer_stop && a->ndirty == 0 &&
		       (i = alloc_next_cold_locked(a)) == md->nextents &&
		       !(a->parent && a->scanned_gen != a->cleared_gen))
			mutex_wait(&a->lock, &a->zeroer_cond);
		if (a->zeroer_stop)
			break;
		if (a->ndirty == 0 && i == md->nextents)
			continue; /* blocks: a scan for whole free extents is due (above) */
		/* held by a test (injection builds), so that faults clear inline */
		if (INJECT_ARMED(INJ_ZEROER)) {
			mutex_unlock(&a->lock);
			usleep(1000);
			mutex_lock(&a->lock);
			continue;
		}
		if (a->ndirty == 0) {
			uint64_t allocs = a->nallocs;
			int warm;

			if (a->sh) {
				/* shared: it stays free while it is warmed (each
				 * step checks, alloc_warm_shared): an allocation
				 * holding meta never waits for the warmer */
				mutex_unlock(&a->lock);
				warm = alloc_warm_shared(a, i);
				mutex_lock(&a->lock);
				if (warm && bit_test(a->free_zeroed, i) && !bit_test(a->warm, i)) {
					bit_set(a->warm, i);
					a->nwarm++;
				}
			} else {
				/* ours while it is warmed (its pages are written) */
				bit_clear(a->free_zeroed, i);
				a->nzeroed--;
				a->warming = i;
				mutex_unlock(&a->lock);
				warm = media_warm(md, i, 1, alloc_warm_pause, a);
				mutex_lock(&a->lock);
				a->warming = md->nextents;
				alloc_put_zeroed_locked(a, i, warm);
			}
			if (warm)
				counter_add(&a->counters->bytes_warmed, md->extent_size);
			pthread_cond_broadcast(&a->zeroed_cond);
			/* allocations went on meanwhile: they may catch up, keep
			 * further ahead; idle: come back to the frontier */
			if (a->nallocs != allocs && a->lead < ALLOC_WARM_AHEAD / 2)
				a->lead = 2 * a->lead + 1;
			else if (a->nallocs == allocs && a->lead > 0)
				a->lead--;
			continue;
		}
		if (a->sh) {
			/* shared: taking, clearing and committing in one hold of
			 * meta, so that no other process sees them half done */
			mutex_unlock(&a->lock);
			shared_meta_lock(a->sh);
			alloc_lock(a);
		}
		n = alloc_take_dirty_locked(a, idx);
		mutex_unlock(&a->lock);

		done = alloc_clear(a, idx, n, detached, 0, &err);
		if (done < n)
			LOG(OUT_ERROR, "%u freed extents of pool %s stay out of use for now: %s",
			    n - done, md->path, daxmap_errormsg());

		mutex_lock(&a->lock);
		for (unsigned k = 0; k < n; k++) {
			a->nbusy--;
			if (k < done) {
				alloc_set_entry(a, idx[k], 0);
				/* warm again if its pages all stay: zeroed in place
				 * whole, or over its hull when it was warm */
				alloc_put_zeroed_locked(a, idx[k],
							detached[k] == 0 ||
								(detached[k] == ALLOC_IN_PLACE_HULL &&
								 bit_test(a->was_warm, idx[k])));
			} else {
				bit_set(a->free_dirty, idx[k]);
				a->ndirty++;
			}
		}
		a->cleared_gen++;
		/* blocks: an extent whose blocks are all free again goes back */
		for (unsigned k = 0; a->parent && k < done; k++) {
			uint64_t x = idx[k] >> a->bshift;
			if ((nwhole == 0 || whole[nwhole - 1] != x) && alloc_take_whole_locked(a, x))
				whole[nwhole++] = x;
		}
		if (nwhole) {
			mutex_unlock(&a->lock);
			for (unsigned k = 0; k < nwhole; k++)
				alloc_unsplit(a, whole[k]);
			mutex_lock(&a->lock);
		}
		pthread_cond_broadcast(&a->zeroed_cond);
		if (a->sh) {
			mutex_unlock(&a->lock);
			shared_meta_unlock(a->sh);
			mutex_lock(&a->lock);
		}
		if (done < n) {
			/* the file system refused: retry later, not in a loop */
			mutex_unlock(&a->lock);
			sleep(1);
			mutex_lock(&a->lock);
		}
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
