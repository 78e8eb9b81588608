/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run-time lock validator, in the manner of the kernel's lockdep
 * (doc/LOCKING.md, "Run-time validation"). Compiled in when DAXMAP_LOCKDEP
 * is defined (CMake option DAXMAP_LOCKDEP, on for Debug builds); otherwise
 * every hook below compiles to nothing.
 *
 * Every lock belongs to a class, one per line of the lock chart in
 * doc/LOCKING.md, named exactly as there. The validator keeps, per thread,
 * the stack of held locks with the stack trace of each acquisition, and
 * learns a global order graph of classes as the code runs (A -> B when B is
 * taken while A is held). It reports, on stderr, and aborts:
 *   - a new edge that closes a cycle (an order inversion), with the stacks
 *     of the acquisitions that made the old edges and of the current one;
 *   - a release of a lock that is not held;
 *   - an acquisition of a class already held (unless LOCKCLASS_NESTABLE);
 *   - locks still held where none may be (lockdep_assert_none_held).
 */
#ifndef DAXMAP_LOCKDEP_H
#define DAXMAP_LOCKDEP_H

/* A lock class. Define one with LOCKCLASS(); the id is assigned on first use. */
struct lockclass {
	const char *name; /* as in doc/LOCKING.md's chart */
	unsigned flags;   /* LOCKCLASS_* */
	int id;           /* 0 until first used; then index + 1 (atomic) */
};

/* Several locks of the class may be held at once by one thread (never the
 * same lock twice). */
#define LOCKCLASS_NESTABLE 1u

#define LOCKCLASS(name_, flags_) {.name = (name_), .flags = (flags_), .id = 0}

/* Acquisition modes. */
#define LOCKDEP_EXCL 0u
#define LOCKDEP_SHARED 1u
#define LOCKDEP_TRY 2u /* a trylock that succeeded: it never waited, so it adds no order */

/* The library's classes, one per lock of doc/LOCKING.md (defined in lockdep.c). */
extern struct lockclass lockclass_pools_lock;    /* pools_lock */
extern struct lockclass lockclass_maps_lock;     /* maps_lock */
extern struct lockclass lockclass_objtab;        /* pool->objtab.lock */
extern struct lockclass lockclass_range;         /* obj->range_lock */
extern struct lockclass lockclass_extents;       /* obj->extents_lock */
extern struct lockclass lockclass_alloc;         /* pool->alloc.lock */
extern struct lockclass lockclass_log;           /* pool->log.lock */
extern struct lockclass lockclass_err;           /* pool->fault.err_lock */
extern struct lockclass lockclass_retry;         /* pool->fault.retry_lock */
extern struct lockclass lockclass_rangelock_mu;  /* rangelock->mu */
extern struct lockclass lockclass_grow;          /* pool->grow_lock */
extern struct lockclass lockclass_shared_op;     /* run->op */
extern struct lockclass lockclass_shared_meta;   /* run->meta */

#ifdef DAXMAP_LOCKDEP

/* The class argument of the lock initialisers (lock.h, rangelock.h). */
#define LOCKDEP_CLASS(c) (&(c))

void lockdep_acquire(struct lockclass *c, const void *lock, unsigned mode);
void lockdep_release(struct lockclass *c, const void *lock);
/* Drops `lock` from this thread's held stack without a report: a fork
 * child reinitialising a lock its parent held across fork(). */
void lockdep_forget(const void *lock);
/* Reports (and aborts) if the calling thread holds any lock; `where` names
 * the place, e.g. "fault handler". */
void lockdep_assert_none_held(const char *where);
/* The library's classes, NULL-terminated (the doc check compares them with
 * the chart). */
extern struct lockclass *const lockdep_library_classes[];

#else

/* Type-checks the class name without referring to the object. */
#define LOCKDEP_CLASS(c) ((void)sizeof(c), (struct lockclass *)0)

/* Not even a call: nothing of the validator is left in the code. */
#define lockdep_acquire(c, lock, mode) ((void)0)
#define lockdep_release(c, lock) ((void)0)
#define lockdep_forget(lock) ((void)0)
#define lockdep_assert_none_held(where) ((void)0)

#endif

#endif
