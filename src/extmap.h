/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-memory extent map of one object: object extent index -> pool extent
 * index, an open-addressing hash table. Built from the persistent extent
 * table at pool open; the persistent table is the truth, this is its index.
 * Not thread-safe: the object's extents_lock protects it.
 */
#ifndef DAXMAP_EXTMAP_H
#define DAXMAP_EXTMAP_H

#include <stdint.h>

#define EXTMAP_NONE UINT64_MAX

struct extmap {
	uint64_t *keys; /* object extent index + 1; 0 marks an empty bucket */
	uint64_t *vals; /* pool extent index */
	uint64_t cap;   /* power of two, or 0 */
	uint64_t count;
};

void extmap_init(struct extmap *m);
void extmap_free(struct extmap *m);
uint64_t extmap_get(const struct extmap *m, uint64_t key);
/* Makes room for n more entries, so that the next n puts cannot fail. */
int extmap_reserve(struct extmap *m, uint64_t n);
/* Inserts or replaces; call extmap_reserve first. */
void extmap_put(struct extmap *m, uint64_t key, uint64_t val);
/* Removes key; returns its value or EXTMAP_NONE. */
uint64_t extmap_del(struct extmap *m, uint64_t key);

#endif
