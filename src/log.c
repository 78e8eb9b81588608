/* SPDX-License-Identifier: BSD-3-Clause */
/* The intent log: record, clear, replay (see log.h). */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "out.h"

int log_load(struct log_state *l, const struct pool_media *md) NO_TSA
{
	mutex_init(&l->lock, lockclass_log);
	pthread_cond_init(&l->free_cond, NULL);
	l->busy = 0;
	l->seq = 0;
	l->md = md;
	l->records = (struct log_record *)(md->base + POOL_LOG_OFF);
	for (unsigned i = 0; i < LOG_RECORDS; i++) {
		const struct log_record *r = &l->records[i];
		int ret = layout_log_check(r, i, md->max_objects);
		if (ret < 0)
			return ret;
		if (ret > 0 && r->seq >= l->seq)
			l->seq = r->seq + 1;
	}
	return 0;
}

void log_fini(struct log_state *l) NO_TSA
{
	if (!l->records)
		return;
	pthread_cond_destroy(&l->free_cond);
	mutex_destroy(&l->lock);
	l->records = NULL;
}

/*
 * Voids a record: op first (the record is void from that store on), then
 * every other word. Only the whole record being zero makes a later record
 * in this place safe: log_begin writes it word by word, and a crash may
 * leave any subset of those words durable (failure atomicity is 8 bytes).
 * Had the old words stayed, the new op word alone (same op as the old
 * record) would complete the old record, checksum and all, and open would
 * replay that earlier operation over data written since.
 */
static void record_clear(struct log_state *l, unsigned idx)
{
	struct log_record *r = &l->records[idx];

	__atomic_store_n(&r->op, LOG_OP_NONE, __ATOMIC_RELEASE);
	r->slot = r->a = r->b = r->seq = 0;
	r->reserved[0] = r->reserved[1] = 0;
	r->checksum = 0;
	media_persist(l->md, r, sizeof(*r));
}

static int record_zero(const struct log_record *r)
{
	return !r->op && !r->slot && !r->a && !r->b && !r->seq && !r->reserved[0] &&
	       !r->reserved[1] && !r->checksum;
}

int log_replay(struct log_state *l, int (*apply)(void *arg, const struct log_record *r),
	       void *arg) NO_TSA
{
	for (;;) {
		unsigned best = LOG_RECORDS;
		for (unsigned i = 0; i < LOG_RECORDS; i++)
			if (layout_log_valid(&l->records[i]) &&
			    (best == LOG_RECORDS || l->records[i].seq < l->records[best].seq))
				best = i;
		if (best == LOG_RECORDS)
			break;
		const struct log_record *r = &l->records[best];
		int ret = apply(arg, r);
		if (ret < 0)
			return ret;
		LOG(OUT_NOTICE, "pool %s: replayed logged operation %llu on slot %llu", l->md->path,
		    (unsigned long long)r->op, (unsigned long long)r->slot);
		record_clear(l, best);
	}
	/* torn records (bad checksum) never started: wipe them, and the
	 * leftovers of records that older versions voided by op alone */
	for (unsigned i = 0; i < LOG_RECORDS; i++)
		if (!record_zero(&l->records[i]))
			record_clear(l, i);
	return 0;
}

/* takes l->lock */
unsigned log_begin(struct log_state *l, enum log_op op, uint32_t slot, uint64_t a, uint64_t b)
{
	struct log_record *r;
	unsigned idx;
	uint64_t seq;

	mutex_lock(&l->lock);
	while (l->busy == ~UINT64_C(0))
		mutex_wait(&l->lock, &l->free_cond);
	idx = (unsigned)__builtin_ctzll(~l->busy);
	l->busy |= UINT64_C(1) << idx;
	seq = l->seq++;
	mutex_unlock(&l->lock);

	/* the record is ours alone now: fill, then one persist commits it
	 * (a torn record fails its checksum and counts as never begun) */
	r = &l->records[idx];
	r->slot = slot;
	r->a = a;
	r->b = b;
	r->seq = seq;
	r->reserved[0] = r->reserved[1] = 0;
	r->op = op;
	r->checksum = layout_log_checksum(r);
	media_persist(l->md, r, sizeof(*r));
	return idx;
}

/* takes l->lock */
void log_end(struct log_state *l, unsigned idx)
{
	record_clear(l, idx);
	mutex_lock(&l->lock);
	l->busy &= ~(UINT64_C(1) << idx);
	pthread_cond_signal(&l->free_cond);
	mutex_unlock(&l->lock);
}
