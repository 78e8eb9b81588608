/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The range operations' shared steps, for the modules above truncate.c
 * that change an object's bytes and size the same way (io.c): the
 * argument check, holding a range that reaches the end when EOF moves,
 * growing, and the release that hands parked faults back.
 */
#ifndef DAXMAP_TRUNCATE_H
#define DAXMAP_TRUNCATE_H

#include <stdint.h>

#include "map.h"
#include "object.h"
#include "rangelock.h"

/* Checks an (off, len) argument pair: -EINVAL for len 0 or a sum that wraps,
 * -EFBIG past the maximum object size; `what` names the call in the message. */
int truncate_range_check(uint64_t off, uint64_t len, const char *what);

/*
 * Holds [off, end) of obj exclusively for an operation that may move EOF to
 * `end`, to the end of everything when it does: EOF moves only under a
 * range that reaches the end. Returns whether it holds that far. The caller
 * holds maps_lock shared and releases with truncate_unlock_range.
 */
int truncate_lock_to(struct daxmap_obj *obj, struct range_entry *re, uint64_t off, uint64_t end)
	REQUIRES_SHARED(maps_lock) ACQUIRE(obj->range_lock);

/* Releases an operation's range and hands the faults parked on it back to
 * the handlers. The caller still holds maps_lock. */
void truncate_unlock_range(struct daxmap_obj *obj, struct range_entry *re)
	RELEASE(obj->range_lock);

/*
 * A pool opened shared: the steps around an operation that changes an
 * object's extents or size, so that every process sees it (doc/DESIGN.md,
 * "Several processes on one pool"). lock takes the run file's op lock
 * (one such operation at a time across the processes; a holder found dead
 * is recovered there); fence sets the fence over bytes [lo, hi) (others' faults
 * and allocations there wait) and object extents [free_lo, free_hi) (what
 * the operation may free), brings obj's map up to date, and for a request
 * kind (punch, shrink: 0 for none) has every other process that has obj
 * open drop those extents and tear down its mappings of [req_lo, req_hi)
 * first, adopting EOF `size` for a shrink. end tells the others of a grow
 * (they clear their SIGBUS markers past the old EOF) or of a shrink that
 * did not happen, then drops the fence and op. Nothing for a pool that is
 * not shared. Call with no lock held.
 */
struct truncate_share {
	uint64_t old;   /* EOF when op was taken */
	uint64_t size;  /* EOF announced to the others (a shrink), or UINT64_MAX */
	uint64_t free_lo, free_hi; /* what the others dropped (with `dropped`) */
	int on;         /* shared: op is held */
	int dropped;
	struct shared_wait wait; /* the others' acknowledgements still to come */
};
/* takes op (sets old in every pool) */
void truncate_share_lock(struct daxmap_obj *obj, struct truncate_share *ts);
void truncate_share_fence(struct daxmap_obj *obj, struct truncate_share *ts, uint64_t lo,
			  uint64_t hi, uint64_t free_lo, uint64_t free_hi, unsigned kind,
			  uint64_t req_lo, uint64_t req_hi, uint64_t size);
void truncate_share_end(struct daxmap_obj *obj, struct truncate_share *ts);
/* The others have acknowledged the fence's request (fence sends it and
 * returns: the operation tears its own mappings down meanwhile; nothing is
 * freed before this). */
void truncate_share_wait(struct daxmap_obj *obj, struct truncate_share *ts);
/* lock, then for an operation that frees nothing and may grow EOF to
 * `end`: the fence from EOF on when it does, else none */
void truncate_share_write(struct daxmap_obj *obj, struct truncate_share *ts, uint64_t end);

/* No undo record for truncate_grow_locked to end (see truncate_extend_begin). */
#define TRUNCATE_NO_RECORD (~0u)

/*
 * Grows obj from `old` to `size`, durably: the bytes past the old EOF in its
 * last page are zeroed (as ftruncate does) up to data_from (bytes from there
 * on were just written by the caller and stay), then the size is committed
 * and the undo record `rec` of an extending write (or TRUNCATE_NO_RECORD)
 * is cleared, then SIGBUS markers past the old EOF are cleared and the
 * mappings of the old last extent are extended (from then on other threads
 * may store into the grown range, and nothing may undo the grow). The
 * caller holds [old, end) exclusively (a range from truncate_lock_to that
 * returned 1) and maps_lock shared. Takes obj->extents_lock, then the log's
 * lock.
 */
void truncate_grow_locked(struct daxmap_obj *obj, uint64_t old, uint64_t size,
			  uint64_t data_from, unsigned rec) REQUIRES_SHARED(maps_lock)
	EXCLUDES(obj->extents_lock);

/*
 * An extending write's undo record: logs the shrink back to `old`, which
 * replay runs if the write's size change is not durable when a crash hits
 * (the record is cleared once it is: by truncate_grow_locked, or by
 * truncate_extend_end when the write did not grow the object): then nothing
 * the write put past `old` stays, and no crash leaves data past an
 * object's EOF (which `daxmap check --data` reports as a damaged size
 * word). Takes the log's lock; the caller holds the range from
 * truncate_lock_to that returned 1.
 */
unsigned truncate_extend_begin(struct daxmap_obj *obj, uint64_t old);
void truncate_extend_end(struct daxmap_obj *obj, unsigned rec);

#endif
