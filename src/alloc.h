/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extent allocator: free space, goal-directed placement, zeroing.
 *
 * Free extents are either zeroed (handed out directly) or dirty (freed, not
 * yet zeroed). A background thread zeroes dirty extents, durably, before it
 * marks them zeroed. An extent becomes allocated with one 8-byte store of its
 * table entry, after its bytes are zero and durable: no path hands out
 * stale bytes, even across a crash.
 */
#ifndef DAXMAP_ALLOC_H
#define DAXMAP_ALLOC_H

#include <pthread.h>
#include <stdint.h>

#include "counters.h"
#include "lock.h"
#include "media.h"

struct alloc {
	struct dm_mutex lock; /* protects: the bitmaps, counts and cursor below, and every
				 write of a persistent extent-table entry */
	uint64_t *free_zeroed /* under lock */; /* bit per extent: free and zero */
	uint64_t *free_dirty /* under lock */;  /* bit per extent: free, waiting for the zeroer */
	uint64_t nzeroed /* under lock */, ndirty /* under lock */;
	uint64_t nbusy /* under lock */; /* taken out of free_dirty for zeroing, not yet back */
	uint64_t cursor /* under lock */; /* where a goal-less search starts */
	pthread_cond_t zeroer_cond;  /* signalled when ndirty grows or on stop */
	pthread_cond_t zeroed_cond;  /* broadcast when an extent leaves nbusy */
	int zeroer_stop /* under lock */;
	int zeroer_running;
	pthread_t zeroer;
	const struct pool_media *md;     /* NULL until alloc_init */
	struct pool_counters *counters;
};

/* Candidate pool extent indexes, best first; EXTMAP_NONE for "none". */
#define ALLOC_HINTS 3

/* Builds the free bitmaps from md's extent table (validated by the caller). */
int alloc_init(struct alloc *a, const struct pool_media *md, struct pool_counters *counters);
/* Frees what alloc_init set up (idempotent; the zeroer must be stopped). */
void alloc_fini(struct alloc *a);
int alloc_start_zeroer(struct alloc *a);
/* Stops the zeroer if it runs. */
void alloc_stop_zeroer(struct alloc *a);

/*
 * Takes a zeroed extent, preferring the hints in order, then the nearest
 * free zeroed extent after hints[0]; zeroes a dirty one itself only when no
 * zeroed extent is left. Records `entry` durably in the extent table and
 * returns the pool extent index in *idx. -ENOSPC when the pool is full.
 * Takes a->lock.
 */
int alloc_extent(struct alloc *a, uint64_t entry, const uint64_t hints[ALLOC_HINTS],
		 uint64_t *idx) EXCLUDES(a->lock);

/* Frees an extent: durably marks it dirty and wakes the zeroer. Takes a->lock. */
void alloc_free(struct alloc *a, uint64_t idx) EXCLUDES(a->lock);

/* Free extents (zeroed + dirty + being zeroed) and the dirty part of them. Takes a->lock. */
void alloc_counts(struct alloc *a, uint64_t *nfree, uint64_t *ndirty) EXCLUDES(a->lock);

#endif
