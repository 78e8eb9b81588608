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
