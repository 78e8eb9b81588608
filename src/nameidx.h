/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The object table's index by name: name hash -> object slot, a multimap
 * (two names may share a hash; the caller compares the names of the slots
 * it gets back). Open addressing with linear probing and backward-shift
 * deletion, grown to keep it at most half full. Not thread-safe: the
 * object table's lock protects it.
 */
#ifndef DAXMAP_NAMEIDX_H
#define DAXMAP_NAMEIDX_H

#include <stdint.h>

struct nameidx_ent {
	uint64_t hash;
	uint32_t slot1; /* slot + 1; 0 marks an empty bucket */
	uint32_t pad_;
};

struct nameidx {
	struct nameidx_ent *ents;
	uint64_t cap; /* power of two, or 0 */
	uint64_t count;
};

void nameidx_init(struct nameidx *x);
void nameidx_free(struct nameidx *x);
/* Makes room for n more entries, so that the next n adds cannot fail. -ENOMEM. */
int nameidx_reserve(struct nameidx *x, uint64_t n);
/* Adds (hash, slot); call nameidx_reserve first. */
void nameidx_add(struct nameidx *x, uint64_t hash, uint32_t slot);
/* Removes (hash, slot) if present. */
void nameidx_del(struct nameidx *x, uint64_t hash, uint32_t slot);
/*
 * The slots stored with `hash`, one per call: start with *pos = 0; returns
 * 1 with *slot set, or 0 when there are no more. Adds and deletes between
 * calls invalidate *pos.
 */
int nameidx_next(const struct nameidx *x, uint64_t hash, uint64_t *pos, uint32_t *slot);

#endif
