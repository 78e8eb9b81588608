/* The intent log: record, clear, replay (see log.h). */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "object.h"
#include "out.h"

_Static_assert(sizeof(struct log_record) == 64, "log records are one cache line");
_Static_assert(LOG_RECORDS * 64 <= POOL_OBJTAB_OFF - POOL_LOG_OFF, "log fits its area");

static uint64_t record_checksum(const struct log_record *r)
{
	return layout_checksum(r, offsetof(struct log_record, checksum));
}

static int record_valid(const struct log_record *r)
{
	return r->op != LOG_OP_NONE && r->checksum == record_checksum(r);
}

int log_load(struct daxmap_pool *pool) NO_TSA
{
	struct log_state *l = &pool->log;

	mutex_init(&l->lock, lockclass_log);
	pthread_cond_init(&l->free_cond, NULL);
	l->busy = 0;
	l->seq = 0;
	l->records = (struct log_record *)(pool->base + POOL_LOG_OFF);
	for (unsigned i = 0; i < LOG_RECORDS; i++) {
		const struct log_record *r = &l->records[i];
		int ret = log_record_check(r, i, pool->max_objects);
		if (ret < 0)
			return ret;
		if (ret > 0 && r->seq >= l->seq)
			l->seq = r->seq + 1;
	}
	return 0;
}

int log_record_check(const struct log_record *r, unsigned i, uint32_t max_objects)
{
	if (!record_valid(r))
		return 0;
	if (r->op > LOG_OP_ZERO || r->slot >= max_objects || r->a > DAXMAP_MAX_OBJ_SIZE ||
	    r->b > DAXMAP_MAX_OBJ_SIZE || r->reserved[0] || r->reserved[1])
		return ERR(-EUCLEAN, "log record %u at offset %zu is not a valid operation", i,
			   POOL_LOG_OFF + i * sizeof(*r));
	return 1;
}

void log_fini(struct daxmap_pool *pool) NO_TSA
{
	pthread_cond_destroy(&pool->log.free_cond);
	mutex_destroy(&pool->log.lock);
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
static void record_clear(struct daxmap_pool *pool, unsigned idx)
{
	struct log_record *r = &pool->log.records[idx];

	__atomic_store_n(&r->op, LOG_OP_NONE, __ATOMIC_RELEASE);
	r->slot = r->a = r->b = r->seq = 0;
	r->reserved[0] = r->reserved[1] = 0;
	r->checksum = 0;
	pool_persist(pool, r, sizeof(*r));
}

static int record_zero(const struct log_record *r)
{
	return !r->op && !r->slot && !r->a && !r->b && !r->seq && !r->reserved[0] &&
	       !r->reserved[1] && !r->checksum;
}

int log_replay(struct daxmap_pool *pool) NO_TSA
{
	struct log_state *l = &pool->log;

	for (;;) {
		unsigned best = LOG_RECORDS;
		for (unsigned i = 0; i < LOG_RECORDS; i++)
			if (record_valid(&l->records[i]) &&
			    (best == LOG_RECORDS || l->records[i].seq < l->records[best].seq))
				best = i;
		if (best == LOG_RECORDS)
			break;
		const struct log_record *r = &l->records[best];
		int ret = object_replay(pool, (enum log_op)r->op, (uint32_t)r->slot, r->a, r->b);
		if (ret < 0)
			return ret;
		LOG(OUT_NOTICE, "pool %s: replayed logged operation %llu on slot %llu", pool->path,
		    (unsigned long long)r->op, (unsigned long long)r->slot);
		record_clear(pool, best);
	}
	/* torn records (bad checksum) never started: wipe them, and the
	 * leftovers of records that older versions voided by op alone */
	for (unsigned i = 0; i < LOG_RECORDS; i++)
		if (!record_zero(&l->records[i]))
			record_clear(pool, i);
	return 0;
}

/* takes pool->log.lock */
unsigned log_begin(struct daxmap_pool *pool, enum log_op op, uint32_t slot, uint64_t a, uint64_t b)
{
	struct log_state *l = &pool->log;
	struct log_record *r;
	unsigned idx;
	uint64_t seq;

	mutex_lock(&pool->log.lock);
	while (l->busy == ~UINT64_C(0))
		mutex_wait(&pool->log.lock, &l->free_cond);
	idx = (unsigned)__builtin_ctzll(~l->busy);
	l->busy |= UINT64_C(1) << idx;
	seq = l->seq++;
	mutex_unlock(&pool->log.lock);

	/* the record is ours alone now: fill, then one persist commits it
	 * (a torn record fails its checksum and counts as never begun) */
	r = &l->records[idx];
	r->slot = slot;
	r->a = a;
	r->b = b;
	r->seq = seq;
	r->reserved[0] = r->reserved[1] = 0;
	r->op = op;
	r->checksum = record_checksum(r);
	pool_persist(pool, r, sizeof(*r));
	return idx;
}

/* takes pool->log.lock */
void log_end(struct daxmap_pool *pool, unsigned idx)
{
	record_clear(pool, idx);
	mutex_lock(&pool->log.lock);
	pool->log.busy &= ~(UINT64_C(1) << idx);
	pthread_cond_signal(&pool->log.free_cond);
	mutex_unlock(&pool->log.lock);
}
