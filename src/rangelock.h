/*
 * Interval reader/writer lock over an object's byte range.
 *
 * A holder names [start, end) and a mode. Overlapping holders conflict
 * unless both are shared. Waiters are granted in arrival order among those
 * that overlap, so a truncate waiting for the range is not starved by a
 * stream of faults, and no holder ever waits for a later arrival (no
 * deadlock inside the lock). The entry lives on the caller's stack.
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

struct CAPABILITY("range lock") rangelock {
	struct dm_mutex mu; /* protects: the entry list below */
	pthread_cond_t cond;
	struct range_entry *head /* under mu */, *tail /* under mu */;
};

void rangelock_init(struct rangelock *rl);
void rangelock_destroy(struct rangelock *rl);
void rangelock_lock(struct rangelock *rl, struct range_entry *re, uint64_t start, uint64_t end,
		    int exclusive) ACQUIRE(rl);
void rangelock_unlock(struct rangelock *rl, struct range_entry *re) RELEASE(rl);

#endif
