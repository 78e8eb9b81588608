/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The intent log: operations that change several metadata words (shrink,
 * punch hole, zero range) record what they are about to do, durably,
 * before they start, and clear the record when they are done. Every
 * operation is idempotent, so recovery at open simply runs each recorded
 * one again: after a crash the object has the new state, never a mix.
 *
 * The records (struct log_record, layout.h) live at POOL_LOG_OFF, each with
 * a checksum (a torn record never started: it is ignored). The log knows
 * records, not what they mean: replay hands each one to the caller's
 * `apply` (the object table's), as OpenZFS's range lock takes its policy.
 */
#ifndef DAXMAP_LOG_H
#define DAXMAP_LOG_H

#include <pthread.h>
#include <stdint.h>

#include "layout.h"
#include "lock.h"
#include "media.h"

struct log_state {
	struct dm_mutex lock; /* protects: busy, seq */
	pthread_cond_t free_cond; /* signalled when a record is released */
	uint64_t busy /* under lock */; /* bit per record in use */
	uint64_t seq /* under lock */;
	struct log_record *records; /* in the pool mapping; NULL until loaded */
	const struct pool_media *md;
};

/* Validates the log area of md and sets up l; called at open. */
int log_load(struct log_state *l, const struct pool_media *md);
/*
 * Runs every recorded operation again through apply(arg, record), oldest
 * first, clearing each once applied, then clears torn records. A negative
 * return from apply stops the replay and is returned.
 */
int log_replay(struct log_state *l, int (*apply)(void *arg, const struct log_record *r),
	       void *arg);
/* Durably records an operation; returns its record index. Takes l->lock. */
unsigned log_begin(struct log_state *l, enum log_op op, uint32_t slot, uint64_t a, uint64_t b)
	EXCLUDES(l->lock);
/* Clears a record once its operation is complete and durable. Takes l->lock. */
void log_end(struct log_state *l, unsigned idx) EXCLUDES(l->lock);
/* Releases what log_load set up (idempotent). */
void log_fini(struct log_state *l);

#endif
