/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fault path: the handler threads that read the pool's userfaultfd and
 * the resolution of one fault, top to bottom (see doc/DESIGN.md, "one
 * fault", and doc/LOCKING.md). Opening and registering the userfaultfd is
 * uffd.c's; mapping pool pages is map.c's.
 */
#ifndef DAXMAP_FAULT_H
#define DAXMAP_FAULT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "lock.h"
#include "media.h"
#include "rangelock.h"
#include "shared.h"
#include "uffd.h"

struct daxmap_pool;
struct fault_wake_pending;

struct fault_ctx {
	struct dm_mutex err_lock; /* protects: err_addr[], err_count, err_cap, wake_pending */
	uintptr_t *err_addr /* under err_lock */; /* pages poisoned for an error (not
				  EOF): cleared again for a fresh attempt; grows as needed */
	unsigned err_count /* under err_lock */, err_cap /* under err_lock */;
	struct fault_wake_pending *wake_pending /* under err_lock */; /* failed wakes to retry */
	struct dm_mutex retry_lock; /* protects: retry list */
	struct range_parked *retry /* under retry_lock */; /* parked faults to run again */
	struct range_parked *fenced /* under retry_lock */; /* faults behind another
				  process's fence (shared pools): woken when a fence drops */
	struct shared *sh; /* a pool opened shared: its run file (fault_share), else NULL */
	int kick_fd; /* eventfd: written when the retry list gets work */
	int stop_fd; /* eventfd: handler threads exit when it is readable */
	unsigned nthreads;
	pthread_t *threads;
	void *zero_src; /* extent_size bytes of read-only zeros, the source of hole reads */
	/* set by fault_start, read-only afterwards */
	struct daxmap_pool *pool; /* identity: the mappings whose faults are ours */
	const struct pool_media *md; /* NULL while not started */
	const struct pool_uffd *uffd;
	struct pool_counters *counters;
};

/* Sets up f (a zeroed struct, kick_fd and stop_fd -1) and starts nthreads
 * handler threads on uffd, for the mappings of `pool`; sets uffd's drain hook. */
int fault_start(struct fault_ctx *f, struct daxmap_pool *pool, const struct pool_media *md,
		struct pool_uffd *uffd, struct pool_counters *counters, unsigned nthreads);
/* The pool is opened shared (before any mapping exists): a read of a hole
 * allocates (a zero page of ours would hide another process's later
 * write), and a fault behind another process's fence waits for it. */
void fault_share(struct fault_ctx *f, struct shared *sh);
/* A fence dropped: the faults that waited for it run again. Takes retry_lock. */
void fault_release_fenced(struct fault_ctx *f);
/* Stops the handler threads and frees f's state (idempotent; the uffd stays
 * open: it is the caller's). */
void fault_stop(struct fault_ctx *f);
/* In a fork child: closes f's descriptors (its threads do not exist there). */
void fault_forget_child(struct fault_ctx *f);
/* Hands faults parked on a range lock (returned by rangelock_unlock) back
 * to the handler threads. Call with no lock held but maps_lock after every
 * unlock of an object range. Takes f->retry_lock. */
void fault_requeue(struct fault_ctx *f, struct range_parked *list);
/* Pages answered with SIGBUS because of an error (not EOF) get a fresh
 * attempt at their next access: call with no lock held after freeing space.
 * Takes f->err_lock, then (not nested) maps_lock shared. */
void fault_retry_errors(struct fault_ctx *f);

#endif
