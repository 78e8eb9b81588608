/* Interval reader/writer lock: FIFO among overlapping ranges. */
#include "rangelock.h"

#include <assert.h>

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

void rangelock_init(struct rangelock *rl) NO_TSA
{
	mutex_init(&rl->mu);
	pthread_cond_init(&rl->cond, NULL);
	rl->head = rl->tail = NULL;
}

void rangelock_destroy(struct rangelock *rl) NO_TSA
{
	assert(rl->head == NULL);
	pthread_cond_destroy(&rl->cond);
	mutex_destroy(&rl->mu);
}

/* takes rl->mu (briefly) */
void rangelock_lock(struct rangelock *rl, struct range_entry *re, uint64_t start, uint64_t end,
		    int exclusive) NO_TSA
{
	assert(start < end);
	re->start = start;
	re->end = end;
	re->exclusive = exclusive;
	re->granted = 0;
	re->next = NULL;

	mutex_lock(&rl->mu);
	if (rl->tail)
		rl->tail->next = re;
	else
		rl->head = re;
	rl->tail = re;
	while (!range_may_run(rl, re))
		mutex_wait(&rl->mu, &rl->cond);
	re->granted = 1;
	mutex_unlock(&rl->mu);
}

/* takes rl->mu (briefly) */
void rangelock_unlock(struct rangelock *rl, struct range_entry *re) NO_TSA
{
	struct range_entry *prev = NULL, *p;

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
	pthread_cond_broadcast(&rl->cond);
	mutex_unlock(&rl->mu);
}
