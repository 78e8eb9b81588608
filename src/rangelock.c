/* SPDX-License-Identifier: BSD-3-Clause */
/* Interval reader/writer lock: FIFO among overlapping ranges, parking for non-waiters. */
#include "rangelock.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>

static int range_conflicts(const struct range_entry *a, const struct range_entry *b)
{
	if (a->end <= b->start || b->end <= a->start)
		return 0;
	return a->exclusive || b->exclusive;
}

/* An entry may run when no earlier entry (granted or waiting) conflicts. */
static int range_may_run(struct rangelock *rl, const struct range_entry *re) REQUIRES(rl->mu)
{
	for (const struct range_entry *p = rl->head; p && p != re; p = p->next)
		if (range_conflicts(p, re))
			return 0;
	return 1;
}

static void range_append(struct rangelock *rl, struct range_entry *re) REQUIRES(rl->mu)
{
	re->next = NULL;
	if (rl->tail)
		rl->tail->next = re;
	else
		rl->head = re;
	rl->tail = re;
}

static void range_setup(struct range_entry *re, uint64_t start, uint64_t end, int exclusive)
{
	assert(start < end);
	re->start = start;
	re->end = end;
	re->exclusive = exclusive;
	re->granted = 0;
	re->next = NULL;
}

void rangelock_init_class(struct rangelock *rl, struct lockclass *c) NO_TSA
{
#ifdef DAXMAP_LOCKDEP
	rl->cls = c;
#else
	(void)c;
#endif
	mutex_init(&rl->mu, lockclass_rangelock_mu);
	pthread_cond_init(&rl->cond, NULL);
	rl->head = rl->tail = NULL;
	rl->parked = NULL;
}

void rangelock_destroy(struct rangelock *rl) NO_TSA
{
	assert(rl->head == NULL && rl->parked == NULL);
	pthread_cond_destroy(&rl->cond);
	mutex_destroy(&rl->mu);
}

/* takes rl->mu (released while waiting) */
void rangelock_lock(struct rangelock *rl, struct range_entry *re, uint64_t start, uint64_t end,
		    int exclusive) NO_TSA
{
	lockdep_acquire(LOCK_CLASS_OF(rl), rl, exclusive ? LOCKDEP_EXCL : LOCKDEP_SHARED);
	range_setup(re, start, end, exclusive);
	mutex_lock(&rl->mu);
	range_append(rl, re);
	while (!range_may_run(rl, re))
		mutex_wait(&rl->mu, &rl->cond);
	re->granted = 1;
	mutex_unlock(&rl->mu);
}

/* takes rl->mu (briefly) */
int rangelock_trylock(struct rangelock *rl, struct range_entry *re, uint64_t start, uint64_t end,
		      int exclusive, struct range_parked *item) NO_TSA
{
	int ret = 0;

	range_setup(re, start, end, exclusive);
	mutex_lock(&rl->mu);
	range_append(rl, re);
	if (range_may_run(rl, re)) {
		re->granted = 1;
	} else {
		/* take the entry out again and park the work: parking and the
		 * unlock that returns it share rl->mu, so no wake-up is lost */
		struct range_entry *prev = NULL;
		for (struct range_entry *p = rl->head; p != re; p = p->next)
			prev = p;
		if (prev)
			prev->next = NULL;
		else
			rl->head = NULL;
		rl->tail = prev;
		item->next = rl->parked;
		rl->parked = item;
		ret = -EBUSY;
	}
	mutex_unlock(&rl->mu);
	if (ret == 0)
		lockdep_acquire(LOCK_CLASS_OF(rl), rl,
				(exclusive ? LOCKDEP_EXCL : LOCKDEP_SHARED) | LOCKDEP_TRY);
	return ret;
}

/* takes rl->mu (briefly) */
struct range_parked *rangelock_unlock(struct rangelock *rl, struct range_entry *re) NO_TSA
{
	struct range_entry *prev = NULL, *p;
	struct range_parked *parked;

	lockdep_release(LOCK_CLASS_OF(rl), rl);
	mutex_lock(&rl->mu);
	assert(re->granted);
	for (p = rl->head; p && p != re; p = p->next)
		prev = p;
	assert(p == re);
	if (prev)
		prev->next = re->next;
	else
		rl->head = re->next;
	if (rl->tail == re)
		rl->tail = prev;
	re->granted = 0;
	parked = rl->parked;
	rl->parked = NULL;
	pthread_cond_broadcast(&rl->cond);
	mutex_unlock(&rl->mu);
	return parked;
}
