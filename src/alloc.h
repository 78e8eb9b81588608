/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extent allocator: free space, goal-directed placement, clearing, warmth.
 *
 * Free extents are either zeroed (handed out directly) or dirty (freed, not
 * yet cleared). A background thread (the zeroer) clears dirty extents,
 * durably, before it marks them zeroed: their pages leave the pool file
 * (media_clear), so no kernel reference to an old page can follow the
 * extent to its next owner. An extent becomes allocated with one 8-byte
 * store of its table entry, after its bytes are zero and durable: no path
 * hands out stale bytes, even across a crash. When it has nothing to clear,
 * the same thread keeps free extents warm (their pages instantiated), ahead
 * of where allocations are heading, so first touches only map.
 */
#ifndef DAXMAP_ALLOC_H
#define DAXMAP_ALLOC_H

#include <pthread.h>
#include <stdint.h>

#include "counters.h"
#include "lock.h"
#include "media.h"
#include "shared.h"

/* Recent allocation positions the warmer works ahead of. */
#define ALLOC_FRONTIERS 8

struct alloc {
	struct dm_mutex lock; /* protects: the bitmaps, counts, cursors and frontiers below,
				 and every write of a persistent extent-table entry */
	uint64_t *free_zeroed /* under lock */; /* bit per extent: free and zero */
	uint64_t *free_dirty /* under lock */;  /* bit per extent: free, waiting for the zeroer */
	uint64_t *warm /* under lock */;        /* bit per free zeroed extent: its pages exist */
	uint64_t *was_warm /* under lock */;    /* bit per allocated extent that was warm when
						   taken: zeroed in place, it is warm again */
	uint64_t nzeroed /* under lock */, ndirty /* under lock */;
	uint64_t nwarm /* under lock */; /* free zeroed extents that are warm */
	uint64_t nbusy /* under lock */; /* taken out of free_dirty for clearing, not yet back */
	uint64_t cursor /* under lock */; /* where a goal-less search starts */
	uint64_t frontier[ALLOC_FRONTIERS] /* under lock */; /* where allocations head next */
	unsigned nfrontier /* under lock */;
	uint64_t sweep /* under lock */; /* the warmer's position in a whole-pool pass */
	uint64_t lead /* under lock */;  /* how far ahead of the newest frontier the warmer
					    starts: grows while allocations catch it up */
	uint64_t nallocs /* under lock */; /* allocations so far (the warmer sees progress) */
	uint64_t warming /* under lock */; /* the extent being warmed, out of the bitmaps
					      (its pages are written), or nextents */
	unsigned ncpus; /* the warmer steps aside while this many faults run */
	_Atomic unsigned waiters; /* allocations waiting in alloc_extent for the
				     zeroer or the warmer: while there is one,
				     the warmer never steps aside (it would
				     stall the fault it serves) */
	uint64_t warm_budget; /* free extents kept warm at most: 0 off, UINT64_MAX all */
	pthread_cond_t zeroer_cond;  /* signalled when there is work (dirty, or a new
					frontier to warm ahead of) or on stop */
	pthread_cond_t zeroed_cond;  /* broadcast when an extent leaves nbusy or is warm */
	int zeroer_stop /* under lock */;
	int zeroer_running;
	pthread_t zeroer;
	/* automatic growth (set once by pool_start, before any allocation):
	 * makes room when the pool is full, unless it grew past seen_size
	 * meanwhile; 0 when there is new space to try, else -ENOSPC with the
	 * reason. NULL: a full pool stays full. */
	int (*grow)(void *arg, uint64_t seen_size);
	void *grow_arg;
	struct pool_media *md;     /* NULL until alloc_init */
	struct pool_counters *counters;
	/* blocks (md is a block view, media.h): the extent allocator whose
	 * extents they are carved from (split when no free block is left,
	 * given back once all of an extent's blocks are free and zeroed);
	 * NULL for the extent allocator. Set by alloc_init. */
	struct alloc *parent;
	unsigned bshift; /* blocks: log2 of blocks per extent */
	uint64_t nsplit /* under lock */; /* blocks: extents split into blocks */
	uint64_t cleared_gen /* under lock */, scanned_gen /* under lock */; /* blocks: the
				zeroer looks for extents to give back when it goes idle
				after clearing (and once at start) */
	/* a pool opened shared (alloc_share): every call holds the run file's
	 * meta lock outside `lock` and first catches up with the extent-table
	 * changes of the other processes (ring_seen: the ring position applied;
	 * epoch_seen: a changed epoch means a rescan) */
	struct shared *sh;
	unsigned table; /* which table the ring entries of this allocator name */
	uint64_t ring_seen /* under lock */, epoch_seen /* under lock */;
};

/* Candidate pool extent indexes, best first; EXTMAP_NONE for "none". */
#define ALLOC_HINTS 3

/*
 * Builds the free bitmaps from md's extent table (validated by the caller).
 * warm_budget: how many free extents the background thread keeps warm (0:
 * none, UINT64_MAX: all); `warm` says they are all warm already (prefault).
 * parent: NULL, or, for a block allocator (md a block view), the extent
 * allocator; then only the blocks of split extents are free (warm_budget 0).
 */
int alloc_init(struct alloc *a, struct pool_media *md, struct pool_counters *counters,
	       uint64_t warm_budget, int warm, struct alloc *parent);
/* The pool is opened shared: a becomes one process's view of allocation
 * state that sh's meta lock serialises across the processes (before the
 * zeroer starts; no warming, no blocks). */
void alloc_share(struct alloc *a, struct shared *sh, unsigned table);
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

/* Extents [from, to), new file space of a grow (zero, entries zero), become
 * free and zeroed; waiting allocations and the warmer are told. Takes the lock. */
void alloc_grow(struct alloc *a, uint64_t from, uint64_t to) EXCLUDES(a->lock);
/* Frees an extent: durably marks it dirty and wakes the zeroer. Takes a->lock. */
void alloc_free(struct alloc *a, uint64_t idx) EXCLUDES(a->lock);

/* Free extents (zeroed + dirty + being zeroed), the dirty part of them, and
 * the warm ones; blocks: also the extents split now (nsplit may be NULL),
 * in the same hold of the lock. Takes a->lock. */
void alloc_counts(struct alloc *a, uint64_t *nfree, uint64_t *ndirty, uint64_t *nwarm,
		  uint64_t *nsplit) EXCLUDES(a->lock);

/* A new object will start at extent `goal`: warm ahead of it. Takes a->lock. */
void alloc_expect(struct alloc *a, uint64_t goal) EXCLUDES(a->lock);

#endif
