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

#include <stdint.h>

#include "pool.h"

/* Candidate pool extent indexes, best first; EXTMAP_NONE for "none". */
#define ALLOC_HINTS 3

int alloc_init(struct daxmap_pool *pool);
void alloc_fini(struct daxmap_pool *pool);
int alloc_start_zeroer(struct daxmap_pool *pool);
void alloc_stop_zeroer(struct daxmap_pool *pool);

/*
 * Takes a zeroed extent, preferring the hints in order, then the nearest
 * free zeroed extent after hints[0]; zeroes a dirty one itself only when no
 * zeroed extent is left. Records `entry` durably in the extent table and
 * returns the pool extent index in *idx. -ENOSPC when the pool is full.
 * Takes pool->alloc.lock.
 */
int alloc_extent(struct daxmap_pool *pool, uint64_t entry, const uint64_t hints[ALLOC_HINTS],
		 uint64_t *idx) EXCLUDES(pool->alloc.lock);

/* Frees an extent: durably marks it dirty and wakes the zeroer. Takes pool->alloc.lock. */
void alloc_free(struct daxmap_pool *pool, uint64_t idx) EXCLUDES(pool->alloc.lock);

/* Free extents (zeroed + dirty + being zeroed) and the dirty part of them. */
void alloc_counts(struct daxmap_pool *pool, uint64_t *nfree, uint64_t *ndirty)
	EXCLUDES(pool->alloc.lock);

#endif
