/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Objects: the object table (slots in the pool), the in-memory object that
 * all handles and mappings of one object share, its size and extent map,
 * and the metadata changes made under its extents_lock (the *_locked calls
 * below, which truncate.c sequences and log replay repeats).
 * Every live object has an in-memory struct daxmap_obj from pool open until
 * pool close or unlink; a handle is a pointer to it with an open count.
 */
#ifndef DAXMAP_OBJECT_H
#define DAXMAP_OBJECT_H

#include <stdatomic.h>
#include <stdint.h>

#include "alloc.h"
#include "counters.h"
#include "extmap.h"
#include "goaltree.h"
#include "layout.h"
#include "lock.h"
#include "media.h"
#include "nameidx.h"
#include "rangelock.h"
#include "shared.h"

struct daxmap_pool;
struct log_state;
struct pool_uffd;

/* object table state */
struct objtab {
	struct dm_mutex lock; /* protects: objs[], every slot's state and goal, open and map
				 counts, pins */
	struct daxmap_obj **objs /* under lock */; /* open objects by slot, NULL if not open */
	uint64_t live /* under lock */;            /* LIVE slots */
	struct nameidx names /* under lock */;     /* live objects by name hash */
	struct goaltree goals /* under lock */;    /* live objects' goals, for placement */
	uint32_t free_hint /* under lock */;       /* every slot below it is in use */
	/* wired once by pool.c before object_load, read-only afterwards */
	struct daxmap_pool *pool;     /* the handle: an identity here, never dereferenced */
	const struct pool_media *md;
	struct alloc *alloc;
	struct alloc *alloc_blk;      /* version 3: the blocks' allocator, else NULL */
	struct log_state *log;        /* for the range operations (truncate.c) */
	const struct pool_uffd *uffd; /* mappings of objects register with it (map.c) */
	struct pool_counters *counters;
	/* a pool opened shared: the run file (NULL otherwise), and what of the
	 * other processes' creates and unlinks this table has caught up with */
	struct shared *sh;
	uint64_t gen_seen /* under lock */, epoch_seen /* under lock */;
};

struct daxmap_obj {
	struct objtab *tab;
	struct daxmap_pool *pool;    /* == tab->pool: an identity below pool.c */
	const struct pool_media *md; /* its units: tab->md (extents), or tab->md->blk for an
					object made of blocks (DAXMAP_SMALL); fixed */
	struct alloc *alloc;  /* their allocator: tab->alloc or tab->alloc_blk; fixed */
	uint32_t slot;
	uint64_t goal;        /* pool extent index preferred for object extent 0, or
				 EXTMAP_NONE (blocks: next to their neighbours); fixed */
	unsigned opens;       /* open handles; under tab->lock */
	unsigned maps;        /* live mappings; under tab->lock */
	_Atomic uint64_t size; /* EOF; written with range_lock held exclusively from the
				  lower of old and new EOF to the end, and extents_lock */
	struct rangelock range_lock;  /* protects: the object's byte ranges: a fault holds its
					 extent exclusively while it resolves it; size and
					 extent changes hold the whole affected range */
	struct dm_mutex extents_lock; /* protects: extmap and the slot's persistent size */
	struct extmap extmap /* under extents_lock */;
	int dying; /* found DYING at open: recovery frees it */
	/* shared pools: the ring position and epoch the extent map has caught
	 * up with (under extents_lock), and the slot generation it was loaded
	 * at (under tab->lock: reloaded when first opened after it moved) */
	uint64_t ring_seen, epoch_seen, gen_seen;
	unsigned pins; /* under tab->lock: a request of another process is at work
			  on it (peer.c): it stays, as if open */
};

/* Validates the object table and the extent table of tab->md and builds
 * the objects (tab's pointers are wired by the caller). */
int object_load(struct objtab *tab);
/* The pool is opened shared: the table loaded under sh's meta lock is
 * this process's view of it from now on (before anything uses it). */
void object_share(struct objtab *tab, struct shared *sh);
/* Finishes interrupted unlinks and frees extents past EOF (after alloc_init). */
void object_recover(struct objtab *tab);
/* Runs a logged operation again (the log's replay callback; arg is the objtab). */
int object_replay(void *arg, const struct log_record *r);
/* Frees every in-memory object (pool close; idempotent). */
void object_unload(struct objtab *tab);

/* daxmap_obj_open and daxmap_obj_unlink on a usable pool. Take tab->lock. */
int object_open(struct objtab *tab, struct daxmap_obj **objp, const char *name, int flags)
	EXCLUDES(tab->lock);
int object_unlink(struct objtab *tab, const char *name) EXCLUDES(tab->lock);
/* daxmap_pool_list's walk. Takes tab->lock (never across the callback). */
int object_list(struct objtab *tab, int (*cb)(const char *name, uint64_t size, void *arg),
		void *arg) EXCLUDES(tab->lock);
/* LIVE objects now. Takes tab->lock. */
uint64_t object_live_count(struct objtab *tab) EXCLUDES(tab->lock);
/* Counts of open objects and mappings (pool close checks them). Takes tab->lock. */
void object_busy_counts(struct objtab *tab, uint64_t *opens, uint64_t *maps)
	EXCLUDES(tab->lock);

/* A mapping of obj was made or removed. Takes tab->lock. */
void object_map_get(struct daxmap_obj *obj);
void object_map_put(struct daxmap_obj *obj);

/*
 * Shared pools (tab->sh set): the object's extent map catches up with the
 * allocations other processes made (never with entries the fence's
 * operation may free). -ENOMEM. Takes obj->extents_lock, then meta.
 */
int object_sync(struct daxmap_obj *obj) EXCLUDES(obj->extents_lock);
/* Drops object extents [lo, hi) from obj's map without freeing them: the
 * fence's operation in another process frees them. Caller holds the range. */
void object_forget_range(struct daxmap_obj *obj, uint64_t lo, uint64_t hi)
	EXCLUDES(obj->extents_lock);
/* Byte off of obj is behind another thread's fence (shared pools; else 0). Takes meta. */
int object_fenced(struct daxmap_obj *obj, uint64_t off);
/* Under meta: the ring names every extent of slot in [lo, hi) still allocated
 * (the recovery of an operation whose process died: others dropped them). */
void object_repush_range(struct objtab *tab, uint32_t slot, uint64_t lo, uint64_t hi);
/* A shared pool's table catches up with other processes' creates and
 * unlinks now. Takes tab->lock, then meta. */
void object_table_catch_up(struct objtab *tab) EXCLUDES(tab->lock);
/* The object in slot, pinned, if this process has it open or mapped, else
 * NULL; object_unpin when done. Take tab->lock. */
struct daxmap_obj *object_get_opened(struct objtab *tab, uint32_t slot) EXCLUDES(tab->lock);
void object_unpin(struct daxmap_obj *obj);
/*
 * Shared pools, by op's holder: the fence over bytes [lo, hi) and object
 * extents [free_lo, free_hi) of obj (`drops`: the others are about to drop
 * those), and obj's map brought up to date in the same hold of meta, so
 * that everything allocated before the fence is in it. -ENOMEM (the map is
 * short then: the operation frees less, never more). Takes obj->extents_lock,
 * then meta.
 */
int object_fence(struct daxmap_obj *obj, uint64_t lo, uint64_t hi, uint64_t free_lo,
		 uint64_t free_hi, int drops) EXCLUDES(obj->extents_lock);

/* Checks obj and its pool; -EINVAL with a message if unusable. */
int object_check(struct daxmap_obj *obj);

/*
 * Below, "extent" is the object's unit: a pool extent, or for an object
 * made of blocks a 64 KiB block (obj->md is then the block view, whose
 * extent_size and extent_shift are the block's, and a pool "extent index"
 * is a block index): every caller computes with obj->md.
 */
/* Pool extent of object extent e, or EXTMAP_NONE. Takes obj->extents_lock. */
uint64_t object_extent_get(struct daxmap_obj *obj, uint64_t e) EXCLUDES(obj->extents_lock);
/* Pool extents of object extents [e, e+n) into pidx[] (EXTMAP_NONE for a
 * hole), in one hold of obj->extents_lock. */
void object_extents_get(struct daxmap_obj *obj, uint64_t e, uint64_t n, uint64_t *pidx)
	EXCLUDES(obj->extents_lock);

/*
 * Pool extent of object extent e, allocated (zeroed, recorded durably) if
 * the object has none there. The caller holds e's range exclusively.
 * Takes obj->extents_lock, then the allocator's lock.
 */
int object_extent_alloc(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
	EXCLUDES(obj->extents_lock);

/*
 * Metadata changes, each with extents_lock held and the affected range held
 * exclusively by the caller; each is idempotent (log replay runs them again).
 */
/* Zeroes, in the pool, the bytes of [start, end) that lie in allocated extents. */
void object_zero_bytes_locked(struct daxmap_obj *obj, uint64_t start, uint64_t end)
	REQUIRES(obj->extents_lock);
/* Sets EOF, durably. */
void object_set_size_locked(struct daxmap_obj *obj, uint64_t size) REQUIRES(obj->extents_lock);
/* Shrinks to `size`: the part of its last extent from `size` to `zero_end`
 * reads zero, extents past it are freed. */
void object_shrink_locked(struct daxmap_obj *obj, uint64_t size, uint64_t zero_end)
	REQUIRES(obj->extents_lock);
/* Punches [off, end): whole extents freed, the partial ends zeroed. */
void object_punch_locked(struct daxmap_obj *obj, uint64_t off, uint64_t end)
	REQUIRES(obj->extents_lock);

#endif
