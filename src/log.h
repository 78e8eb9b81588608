/*
 * The intent log: operations that change several metadata words (shrink,
 * punch hole, zero range) record what they are about to do, durably,
 * before they start, and clear the record when they are done. Every
 * operation is idempotent, so recovery at open simply runs each recorded
 * one again: after a crash the object has the new state, never a mix.
 *
 * The log lives at POOL_LOG_OFF: LOG_RECORDS records of 64 bytes, each with
 * a checksum (a torn record never started: it is ignored).
 */
#ifndef DAXMAP_LOG_H
#define DAXMAP_LOG_H

#include <stdint.h>

#include "pool.h"

enum log_op {
	LOG_OP_NONE = 0,
	LOG_OP_SHRINK = 1, /* a: new size */
	LOG_OP_PUNCH = 2,  /* [a, b): bytes to punch, within EOF */
	LOG_OP_ZERO = 3,   /* [a, b): bytes to zero in place, within EOF */
};

struct log_record {
	uint64_t op;
	uint64_t slot;
	uint64_t a, b;
	uint64_t seq;
	uint64_t reserved[2];
	uint64_t checksum; /* fletcher64 of the fields before it */
};

#define LOG_RECORDS 64

/* Validates the log area; called at open. */
int log_load(struct daxmap_pool *pool);
/*
 * Checks record i on its own: 0 when empty or torn (bad checksum: never
 * begun, ignored), 1 for a committed record that the next open replays,
 * -EUCLEAN with a message for a committed record that is no valid operation.
 */
int log_record_check(const struct log_record *r, unsigned i, uint32_t max_objects);
/* Runs every recorded operation again, oldest first, then clears the log. */
int log_replay(struct daxmap_pool *pool);
/* Durably records an operation; returns its record index. Takes pool->log.lock. */
unsigned log_begin(struct daxmap_pool *pool, enum log_op op, uint32_t slot, uint64_t a, uint64_t b)
	EXCLUDES(pool->log.lock);
/* Clears a record once its operation is complete and durable. Takes pool->log.lock. */
void log_end(struct daxmap_pool *pool, unsigned idx) EXCLUDES(pool->log.lock);
void log_fini(struct daxmap_pool *pool);

#endif
