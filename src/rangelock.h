/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interval reader/writer lock over an object's byte range.
 *
 * A holder names [start, end) and a mode. Overlapping holders conflict
 * unless both are shared. Waiters are granted in arrival order among those
 * that overlap, so a truncate waiting for the range is not starved by a
 * stream of faults, and no holder ever waits for a later arrival (no
 * deadlock inside the lock). The entry lives on the caller's stack.
 *
 * Fault-handler threads never wait here: rangelock_trylock() either grants
 * the range or parks the caller's work item on the lock, and the next
 * rangelock_unlock() hands every parked item back to its caller to run
 * again. A handler is then always free to read the userfaultfd, which an
 * mremap() by the range's holder waits for (doc/LOCKING.md).
 */
#ifndef DAXMAP_RANGELOCK_H
#define DAXMAP_RANGELOCK_H

#include <stdint.h>

#include "lock.h"

struct range_entry {
	uint64_t start, end;
	int exclusive;
	int granted;
	struct range_entry *next;
};

/* A work item parked by a failed trylock; embedded in the caller's own struct. */
struct range_parked {
	struct range_parked *next;
};

struct CAPABILITY("range lock") rangelock {
	struct dm_mutex mu; /* protects: the entry list and the parked list below */
#ifdef DAXMAP_LOCKDEP
	struct lockclass *cls; /* the validator sees the whole lock as one lock of this class */
#endif
	pthread_cond_t cond;
	struct range_entry *head /* under mu */, *tail /* under mu */;
	struct range_parked *parked /* under mu */;
};

/* rangelock_init(rl, class): the class names the lock for the validator (lockdep.h). */
#define rangelock_init(rl, c) rangelock_init_class((rl), LOCKDEP_CLASS(c))
void rangelock_init_class(struct rangelock *rl, struct lockclass *c);
void rangelock_destroy(struct rangelock *rl);
/* Waits until [start, end) can be held in the given mode, and holds it. */
void rangelock_lock(struct rangelock *rl, struct range_entry *re, uint64_t start, uint64_t end,
		    int exclusive) ACQUIRE(rl);
/*
 * Holds [start, end) and returns 0 if that needs no wait; otherwise parks
 * `item` on the lock and returns -EBUSY (the item comes back from a later
 * rangelock_unlock).
 */
int rangelock_trylock(struct rangelock *rl, struct range_entry *re, uint64_t start, uint64_t end,
		      int exclusive, struct range_parked *item) TSA(try_acquire_capability(0, rl));
/* Releases the range; returns the items parked meanwhile (NULL if none), for
 * the caller to run again. */
struct range_parked *rangelock_unlock(struct rangelock *rl, struct range_entry *re) RELEASE(rl);

#endif
