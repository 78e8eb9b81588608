/*
 * Objects: the object table (slots in the pool), the in-memory object that
 * all handles and mappings of one object share, its size and extent map.
 * Every live object has an in-memory struct daxmap_obj from pool open until
 * pool close or unlink; a handle is a pointer to it with an open count.
 */
#ifndef DAXMAP_OBJECT_H
#define DAXMAP_OBJECT_H

#include <stdatomic.h>
#include <stdint.h>

#include "extmap.h"
#include "log.h"
#include "pool.h"
#include "rangelock.h"

struct daxmap_obj {
	struct daxmap_pool *pool;
	uint32_t slot;
	uint64_t goal;        /* pool extent index preferred for object extent 0; fixed */
	unsigned opens;       /* open handles; under pool->objtab.lock */
	unsigned maps;        /* live mappings; under pool->objtab.lock */
	_Atomic uint64_t size; /* EOF; written with range_lock held exclusively from the
				  lower of old and new EOF to the end, and extents_lock */
	struct rangelock range_lock;  /* protects: the object's byte ranges: a fault holds its
					 extent exclusively while it resolves it; size and
					 extent changes hold the whole affected range */
	struct dm_mutex extents_lock; /* protects: extmap and the slot's persistent size */
	struct extmap extmap /* under extents_lock */;
	int dying; /* found DYING at open: recovery frees it */
};

/*
 * Checks one object slot (at byte offset off of the file) of a pool of
 * nextents extents: 0 when free or sound, else -EUCLEAN with a message.
 * Shared by open and the read-only checker.
 */
int slot_check(const struct obj_slot *s, uint32_t i, uint64_t off, uint64_t nextents);
/*
 * Checks extent table entry i (at byte offset off) on its own: 0 for a
 * proper free entry, 1 for an allocated one whose owner slot and index are
 * in range (the caller checks that the owner is live and unique), else
 * -EUCLEAN with a message.
 */
int ext_entry_check(uint64_t ent, uint64_t i, uint64_t off, uint32_t max_objects,
		    unsigned extent_shift);
/* Names of live slots, sorted by hash to find two objects with one name
 * (open refuses such a pool; the checker reports it). */
struct slot_name_key {
	uint64_t hash;
	uint32_t slot;
};
uint64_t slot_name_hash(const struct obj_slot *s);
int slot_name_key_cmp(const void *a, const void *b);

/* Validates the object table and the extent table and builds the objects. */
int object_load(struct daxmap_pool *pool);
/* Finishes interrupted unlinks and frees extents past EOF (after alloc_init). */
void object_recover(struct daxmap_pool *pool);
/* Runs a logged operation again (recovery at open; see log.h). */
int object_replay(struct daxmap_pool *pool, enum log_op op, uint32_t slot, uint64_t a, uint64_t b);
/* Frees every in-memory object (pool close). */
void object_unload(struct daxmap_pool *pool);

/* Pool extent of object extent e, or EXTMAP_NONE. Takes obj->extents_lock. */
uint64_t object_extent_get(struct daxmap_obj *obj, uint64_t e) EXCLUDES(obj->extents_lock);

/*
 * Pool extent of object extent e, allocated (zeroed, recorded durably) if
 * the object has none there. The caller holds e's range exclusively.
 * Takes obj->extents_lock, then pool->alloc.lock.
 */
int object_extent_alloc(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
	EXCLUDES(obj->extents_lock);

/* Counts of open objects and mappings (pool close checks them). */
void object_busy_counts(struct daxmap_pool *pool, uint64_t *opens, uint64_t *maps);

/* A mapping of obj was made or removed. Takes pool->objtab.lock. */
void object_map_get(struct daxmap_obj *obj);
void object_map_put(struct daxmap_obj *obj);

/* Checks obj and its pool; -EINVAL with a message if unusable. */
int object_check(struct daxmap_obj *obj);

#endif
