/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lock types of libdaxmap: thin wrappers over pthread mutexes and rwlocks
 * that carry clang thread-safety annotations, so that the compiler checks
 * what each function acquires, releases and requires. The lock order is
 * documented in doc/LOCKING.md; every lock is declared with a one-line
 * "protects:" comment.
 */
#ifndef DAXMAP_LOCK_H
#define DAXMAP_LOCK_H

#include <errno.h>
#include <pthread.h>

#include "lockdep.h"

#if defined(__clang__)
#define TSA(x) __attribute__((x))
#else
#define TSA(x)
#endif

#define CAPABILITY(x) TSA(capability(x))
#define GUARDED_BY(x) TSA(guarded_by(x))
#define PT_GUARDED_BY(x) TSA(pt_guarded_by(x))
#define ACQUIRE(...) TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) TSA(release_shared_capability(__VA_ARGS__))
#define REQUIRES(...) TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) TSA(requires_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) TSA(locks_excluded(__VA_ARGS__))
#define NO_TSA TSA(no_thread_safety_analysis)

/*
 * Each lock names its class (lockdep.h), as in doc/LOCKING.md's chart:
 * mutex_init(&pool->alloc.lock, lockclass_alloc), or for a static lock
 * MUTEX_INITIALIZER(lockclass_pools_lock). Without DAXMAP_LOCKDEP the
 * class is checked for its type and dropped.
 */
struct CAPABILITY("mutex") dm_mutex {
	pthread_mutex_t m;
#ifdef DAXMAP_LOCKDEP
	struct lockclass *cls;
#endif
};

struct CAPABILITY("rwlock") dm_rwlock {
	pthread_rwlock_t rw;
#ifdef DAXMAP_LOCKDEP
	struct lockclass *cls;
#endif
};

#ifdef DAXMAP_LOCKDEP
#define MUTEX_INITIALIZER(c) {PTHREAD_MUTEX_INITIALIZER, &(c)}
#define RWLOCK_INITIALIZER(c) {PTHREAD_RWLOCK_INITIALIZER, &(c)}
#define LOCK_CLASS_OF(l) ((l)->cls)
#else
#define MUTEX_INITIALIZER(c) {PTHREAD_MUTEX_INITIALIZER}
#define RWLOCK_INITIALIZER(c) {PTHREAD_RWLOCK_INITIALIZER}
#define LOCK_CLASS_OF(l) ((struct lockclass *)0)
#endif

#define mutex_init(l, c) mutex_init_class((l), LOCKDEP_CLASS(c))
#define rwlock_init(l, c) rwlock_init_class((l), LOCKDEP_CLASS(c))

static inline void mutex_init_class(struct dm_mutex *l, struct lockclass *c)
{
	pthread_mutex_init(&l->m, NULL);
#ifdef DAXMAP_LOCKDEP
	l->cls = c;
#else
	(void)c;
#endif
}

/* In a fork child: the lock its parent held across fork() is free again. */
static inline void mutex_reinit_child(struct dm_mutex *l)
{
	pthread_mutex_init(&l->m, NULL);
	lockdep_forget(l);
}

static inline void mutex_destroy(struct dm_mutex *l)
{
	pthread_mutex_destroy(&l->m);
}

static inline void mutex_lock(struct dm_mutex *l) ACQUIRE(l) NO_TSA
{
	lockdep_acquire(LOCK_CLASS_OF(l), l, LOCKDEP_EXCL);
	pthread_mutex_lock(&l->m);
}

static inline void mutex_unlock(struct dm_mutex *l) RELEASE(l) NO_TSA
{
	lockdep_release(LOCK_CLASS_OF(l), l);
	pthread_mutex_unlock(&l->m);
}

/* Waits on cond; l is held on return as on entry (the validator sees it held
 * throughout). */
static inline void mutex_wait(struct dm_mutex *l, pthread_cond_t *cond) REQUIRES(l) NO_TSA
{
	pthread_cond_wait(cond, &l->m);
}

static inline void rwlock_init_class(struct dm_rwlock *l, struct lockclass *c)
{
	/* Reader preference (the glibc default) is relied on: a fault holding
	 * the lock shared may wait for a range lock whose holder also holds it
	 * shared; a queued writer must not block that second reader. */
	pthread_rwlock_init(&l->rw, NULL);
#ifdef DAXMAP_LOCKDEP
	l->cls = c;
#else
	(void)c;
#endif
}

/* In a fork child: the lock its parent held across fork() is free again. */
static inline void rwlock_reinit_child(struct dm_rwlock *l)
{
	pthread_rwlock_init(&l->rw, NULL);
	lockdep_forget(l);
}

/* The validator treats shared and exclusive alike for the order. */
static inline void rwlock_rdlock(struct dm_rwlock *l) ACQUIRE_SHARED(l) NO_TSA
{
	lockdep_acquire(LOCK_CLASS_OF(l), l, LOCKDEP_SHARED);
	pthread_rwlock_rdlock(&l->rw);
}

static inline void rwlock_rdunlock(struct dm_rwlock *l) RELEASE_SHARED(l) NO_TSA
{
	lockdep_release(LOCK_CLASS_OF(l), l);
	pthread_rwlock_unlock(&l->rw);
}

static inline void rwlock_wrlock(struct dm_rwlock *l) ACQUIRE(l) NO_TSA
{
	lockdep_acquire(LOCK_CLASS_OF(l), l, LOCKDEP_EXCL);
	pthread_rwlock_wrlock(&l->rw);
}

/* 0 when taken exclusive without waiting, else -EBUSY (the validator learns
 * no order from it: it never waited). */
static inline int rwlock_trywrlock(struct dm_rwlock *l) TSA(try_acquire_capability(0, l)) NO_TSA
{
	if (pthread_rwlock_trywrlock(&l->rw) != 0)
		return -EBUSY;
	lockdep_acquire(LOCK_CLASS_OF(l), l, LOCKDEP_EXCL | LOCKDEP_TRY);
	return 0;
}

static inline void rwlock_wrunlock(struct dm_rwlock *l) RELEASE(l) NO_TSA
{
	lockdep_release(LOCK_CLASS_OF(l), l);
	pthread_rwlock_unlock(&l->rw);
}

#endif
