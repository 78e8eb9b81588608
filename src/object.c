/* SPDX-License-Identifier: BSD-3-Clause */
/* The object table, in-memory objects, sizes, extent maps and their metadata changes. */
#define _GNU_SOURCE
#include "object.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

static int object_reload_locked(struct daxmap_obj *obj) REQUIRES(obj->extents_lock);

static uint64_t slot_offset(const struct pool_media *md, uint32_t slot)
{
	return (uint64_t)((char *)&md->slots[slot] - md->base);
}

static struct daxmap_obj *object_new(struct objtab *tab, uint32_t slot)
{
	struct daxmap_obj *obj = calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->tab = tab;
	obj->pool = tab->pool;
	obj->slot = slot;
	/* (a pool without blocks has no such slot: layout_slot_check refuses it) */
	if ((tab->md->slots[slot].flags & SLOT_F_SMALL) && tab->alloc_blk) {
		obj->md = tab->md->blk;
		obj->alloc = tab->alloc_blk;
		obj->goal = EXTMAP_NONE;
	} else {
		obj->md = tab->md;
		obj->alloc = tab->alloc;
		obj->goal = tab->md->slots[slot].goal;
	}
	atomic_init(&obj->size, tab->md->slots[slot].size);
	rangelock_init(&obj->range_lock, lockclass_range);
	mutex_init(&obj->extents_lock, lockclass_extents);
	extmap_init(&obj->extmap);
	return obj;
}

static void object_delete(struct daxmap_obj *obj) NO_TSA
{
	extmap_free(&obj->extmap);
	mutex_destroy(&obj->extents_lock);
	rangelock_destroy(&obj->range_lock);
	free(obj);
}

/* The entries of one table (the extent table, or the block table) into the
 * extent maps of their owners, which must be of that kind. */
static int object_load_table(struct objtab *tab, const struct pool_media *md) NO_TSA
{
	const struct pool_media *whole = md->whole ? md->whole : md;
	uint64_t exttab_off = (uint64_t)((char *)md->exttab - md->base);
	unsigned bshift = whole->extent_shift - md->extent_shift;
	const char *what = md->whole ? "block" : "extent";

	for (uint64_t i = 0; i < md->nextents; i++) {
		uint64_t ent = md->exttab[i], e;
		uint64_t off = exttab_off + i * sizeof(uint64_t);
		struct daxmap_obj *obj;
		uint32_t slot;
		int ret = layout_ext_check(ent, i, off, md->max_objects, md->extent_shift,
					   md->whole ? LAYOUT_BLOCKS
					   : whole->blk ? LAYOUT_EXTENTS_SPLIT : LAYOUT_EXTENTS);

		if (ret >= 0 && ent != 0 && i >= atomic_load(&md->npresent))
			return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: it lies past the "
					     "pool's current size but is not free", what,
				   (unsigned long long)i, (unsigned long long)off);
		if (ret >= 0 && ent != 0 && md->whole &&
		    ext_entry_tag(whole->exttab[i >> bshift]) != EXT_TAG_SPLIT)
			return ERR(-EUCLEAN, "block table entry %llu at offset %llu is not 0, but "
					     "extent %llu is not split into blocks",
				   (unsigned long long)i, (unsigned long long)off,
				   (unsigned long long)(i >> bshift));
		if (ret <= 0 || ret == 2) {
			if (ret < 0)
				return ret;
			continue;
		}
		slot = ext_entry_slot(ent);
		e = ext_entry_index(ent);
		if ((obj = tab->objs[slot]) == NULL)
			return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: owner slot "
				   "%u is not a live object", what, (unsigned long long)i,
				   (unsigned long long)off, slot);
		if (obj->md != md)
			return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: owner slot %u is "
				   "an object made of %s", what, (unsigned long long)i,
				   (unsigned long long)off, slot, md->whole ? "extents" : "blocks");
		if (extmap_get(&obj->extmap, e) != EXTMAP_NONE)
			return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: object "
				   "slot %u has two %ss at index %llu", what, (unsigned long long)i,
				   (unsigned long long)off, slot, what, (unsigned long long)e);
		if (extmap_reserve(&obj->extmap, 1))
			return ERR(-ENOMEM, "out of memory loading extent maps");
		extmap_put(&obj->extmap, e, i);
	}
	return 0;
}

static int object_load_extents(struct objtab *tab) NO_TSA
{
	int ret = object_load_table(tab, tab->md);

	if (ret == 0 && tab->md->blk)
		ret = object_load_table(tab, tab->md->blk);
	return ret;
}

/* Live objects have distinct names by construction; two with one name mean
 * a damaged table (only the first could ever be opened). */
static int object_check_names(struct objtab *tab) NO_TSA
{
	const struct pool_media *md = tab->md;
	struct slot_name_key *k = malloc((tab->live ? tab->live : 1) * sizeof(*k));
	uint64_t n = 0;
	int ret = 0;

	if (!k)
		return ERR(-ENOMEM, "out of memory checking object names");
	for (uint32_t i = 0; i < md->max_objects; i++) {
		if (!tab->objs[i] || tab->objs[i]->dying)
			continue;
		k[n].hash = layout_name_hash(&md->slots[i]);
		k[n++].slot = i;
	}
	qsort(k, n, sizeof(*k), layout_name_key_cmp);
	for (uint64_t i = 1; i < n && ret == 0; i++)
		for (uint64_t j = i; ret == 0 && j-- > 0 && k[j].hash == k[i].hash;) {
			const struct obj_slot *a = &md->slots[k[j].slot], *b = &md->slots[k[i].slot];
			if (a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len))
				ret = ERR(-EUCLEAN, "object slot %u at offset %llu: its name is also the "
					  "name of slot %u", k[i].slot,
					  (unsigned long long)slot_offset(md, k[i].slot), k[j].slot);
		}
	free(k);
	return ret;
}

/* The index by name and the placement tree of the live objects. */
static int object_index_load(struct objtab *tab) NO_TSA
{
	const struct pool_media *md = tab->md;
	uint32_t top = 0; /* highest live slot: the tree grows with creates */

	for (uint32_t i = 0; i < md->max_objects; i++)
		if (tab->objs[i])
			top = i;
	if (nameidx_reserve(&tab->names, tab->live) < 0 || goaltree_reserve(&tab->goals, top) < 0)
		return ERR(-ENOMEM, "out of memory indexing %llu objects",
			   (unsigned long long)tab->live);
	for (uint32_t i = 0; i < md->max_objects; i++) {
		if (!tab->objs[i] || tab->objs[i]->dying)
			continue;
		nameidx_add(&tab->names, layout_name_hash(&md->slots[i]), i);
		if (tab->objs[i]->goal != EXTMAP_NONE)
			goaltree_insert(&tab->goals, i, tab->objs[i]->goal);
	}
	return 0;
}

int object_load(struct objtab *tab) NO_TSA
{
	const struct pool_media *md = tab->md;
	int ret;

	mutex_init(&tab->lock, lockclass_objtab);
	tab->live = 0;
	nameidx_init(&tab->names);
	goaltree_init(&tab->goals);
	tab->free_hint = 0;
	tab->objs = calloc(md->max_objects, sizeof(*tab->objs));
	if (!tab->objs)
		return ERR(-ENOMEM, "cannot allocate the object table");
	for (uint32_t i = 0; i < md->max_objects; i++) {
		if ((ret = layout_slot_check(&md->slots[i], i, slot_offset(md, i), md->nextents,
					     md->blk != NULL)) < 0)
			return ret;
		if (md->slots[i].state == SLOT_FREE)
			continue;
		if (!(tab->objs[i] = object_new(tab, i)))
			return ERR(-ENOMEM, "cannot allocate object %u", i);
		if (md->slots[i].state == SLOT_DYING)
			tab->objs[i]->dying = 1;
		else
			tab->live++;
	}
	if ((ret = object_check_names(tab)) < 0 || (ret = object_index_load(tab)) < 0)
		return ret;
	return object_load_extents(tab);
}

void object_share(struct objtab *tab, struct shared *sh) NO_TSA
{
	tab->sh = sh;
	tab->gen_seen = sh->run->objtab_gen;
	tab->epoch_seen = UINT64_MAX; /* a first catch-up finishes dead unlinks */
	for (uint32_t i = 0; i < tab->md->max_objects; i++) {
		struct daxmap_obj *obj = tab->objs[i];
		if (!obj)
			continue;
		obj->gen_seen = sh->slot_gen[i];
		obj->ring_seen = sh->run->ring_seq;
		obj->epoch_seen = sh->run->epoch;
	}
}

void object_zero_bytes_locked(struct daxmap_obj *obj, uint64_t start, uint64_t end)
{
	const struct pool_media *md = obj->md;
	uint64_t es = md->extent_size;

	while (start < end) {
		uint64_t e = start >> md->extent_shift, e_end = (e + 1) * es;
		uint64_t stop = e_end < end ? e_end : end;
		uint64_t pidx = extmap_get(&obj->extmap, e);

		if (pidx != EXTMAP_NONE)
			media_zero_persist(md, media_extent_addr(md, pidx) + (start - e * es),
					   stop - start);
		start = stop;
	}
}

/* Removes every extent with index in [lo, hi) from obj's map; frees it too
 * when `and_free` (else another process's operation frees it: object_forget_range). */
static void object_drop_range_locked(struct daxmap_obj *obj, uint64_t lo, uint64_t hi,
				     int and_free) REQUIRES(obj->extents_lock)
{
	struct extmap *m = &obj->extmap;

	if (hi - lo <= m->count) {
		for (uint64_t e = lo; e < hi; e++) {
			uint64_t pidx = extmap_del(m, e);
			if (pidx != EXTMAP_NONE && and_free)
				alloc_free(obj->alloc, pidx);
		}
		return;
	}
	/* a wide range over a sparse object: walk the map, not the range */
	for (uint64_t i = 0; i < m->cap; i++) {
		uint64_t e, pidx;
		if (m->keys[i] == 0 || (e = m->keys[i] - 1) < lo || e >= hi)
			continue;
		pidx = extmap_del(m, e);
		if (and_free)
			alloc_free(obj->alloc, pidx);
		i--; /* backward shift may have moved another key into bucket i */
	}
}

/* Frees every extent with index in [lo, hi). */
static void object_free_range_locked(struct daxmap_obj *obj, uint64_t lo, uint64_t hi)
	REQUIRES(obj->extents_lock)
{
	object_drop_range_locked(obj, lo, hi, 1);
}

static void slot_set_state(const struct pool_media *md, uint32_t slot, uint64_t state)
{
	__atomic_store_n(&md->slots[slot].state, state, __ATOMIC_RELEASE);
	media_persist(md, &md->slots[slot].state, sizeof(uint64_t));
}

/* Frees every extent of an object and its slot (unlink, and its recovery). */
static void object_destroy_slot(struct objtab *tab, struct daxmap_obj *obj) NO_TSA
{
	/* DYING first: a crash while extents are freed leaves an object that
	 * recovery finishes, never a live object with missing extents */
	slot_set_state(tab->md, obj->slot, SLOT_DYING);
	object_free_range_locked(obj, 0, UINT64_MAX);
	slot_set_state(tab->md, obj->slot, SLOT_FREE);
	tab->objs[obj->slot] = NULL;
	object_delete(obj);
}

void object_recover(struct objtab *tab) NO_TSA
{
	for (uint32_t i = 0; i < tab->md->max_objects; i++) {
		struct daxmap_obj *obj = tab->objs[i];
		const struct pool_media *md;
		uint64_t eof_ext, last;

		if (!obj)
			continue;
		md = obj->md;
		if (obj->dying) {
			LOG(OUT_NOTICE, "pool %s: finishing the unlink of object slot %u",
			    md->path, i);
			object_destroy_slot(tab, obj);
			continue;
		}
		/* extents wholly past EOF: a shrink was interrupted after its size
		 * change was durable; finish it */
		eof_ext = (atomic_load(&obj->size) + md->extent_size - 1) >> md->extent_shift;
		object_free_range_locked(obj, eof_ext, UINT64_MAX);
		/* an object grows after its last extent: warm there first */
		if (eof_ext > 0 && obj->goal != EXTMAP_NONE &&
		    (last = extmap_get(&obj->extmap, eof_ext - 1)) != EXTMAP_NONE)
			alloc_expect(tab->alloc, last + 1);
	}
}

void object_unload(struct objtab *tab) NO_TSA
{
	if (!tab->objs)
		return;
	nameidx_free(&tab->names);
	goaltree_free(&tab->goals);
	for (uint32_t i = 0; i < tab->md->max_objects; i++)
		if (tab->objs[i])
			object_delete(tab->objs[i]);
	free(tab->objs);
	tab->objs = NULL;
	mutex_destroy(&tab->lock);
}

/* An object nobody else reaches (no handle, no mapping, no pin: an unlink,
 * a first open) loads its map again. Under tab->lock and meta. */
static int object_reload_unreached(struct daxmap_obj *obj) NO_TSA
{
	return object_reload_locked(obj);
}

/* We created or unlinked the object in slot (under meta; nothing for a
 * pool that is not shared): the others' tables catch up, ours is current. */
static void objtab_changed_locked(struct objtab *tab, uint32_t slot) REQUIRES(tab->lock)
{
	if (!tab->sh)
		return;
	tab->sh->run->objtab_gen++;
	tab->sh->slot_gen[slot]++;
	tab->gen_seen = tab->sh->run->objtab_gen;
}

/* The object in slot i leaves the indexes (it is no more, or not this one). */
static void object_forget_slot_locked(struct objtab *tab, uint32_t i) REQUIRES(tab->lock)
{
	struct daxmap_obj *obj = tab->objs[i];

	if (!obj->dying) {
		tab->live--;
		nameidx_del(&tab->names, layout_name_hash(&tab->md->slots[i]), i);
		if (obj->goal != EXTMAP_NONE)
			goaltree_remove(&tab->goals, i);
	}
	tab->objs[i] = NULL;
	object_delete(obj);
}

/*
 * A shared pool (under meta): the table catches up with the creates and
 * unlinks of the other processes. Objects this process has open or mapped
 * cannot have changed (an unlink is refused while another process has
 * them); the others are built anew from their slot when its generation
 * moved, and load their extents when they are opened (object_open). A
 * DYING slot under meta is an unlink whose process died (unlinks run in one
 * hold of meta): it is finished here.
 */
static void objtab_sync_locked(struct objtab *tab) REQUIRES(tab->lock)
{
	const struct pool_media *md = tab->md;
	struct shared *sh = tab->sh;

	if (tab->gen_seen == sh->run->objtab_gen && tab->epoch_seen == sh->run->epoch)
		return;
	for (uint32_t i = 0; i < md->max_objects; i++) {
		struct daxmap_obj *obj = tab->objs[i];
		uint64_t state = __atomic_load_n(&md->slots[i].state, __ATOMIC_ACQUIRE);

		if (obj && (obj->opens || obj->maps || obj->pins))
			continue;
		if (obj && (state != SLOT_LIVE || obj->gen_seen != sh->slot_gen[i]))
			object_forget_slot_locked(tab, i);
		if (state == SLOT_FREE || tab->objs[i])
			continue;
		if (layout_slot_check(&md->slots[i], i, slot_offset(md, i), md->nextents, 0) < 0 ||
		    nameidx_reserve(&tab->names, 1) < 0 || goaltree_reserve(&tab->goals, i) < 0 ||
		    !(obj = object_new(tab, i))) {
			LOG(OUT_ERROR, "pool %s: object slot %u left out: %s", md->path, i,
			    daxmap_errormsg());
			continue;
		}
		obj->gen_seen = sh->slot_gen[i];
		obj->epoch_seen = UINT64_MAX; /* its extents load when it is opened */
		tab->objs[i] = obj;
		if (state == SLOT_DYING) {
			LOG(OUT_NOTICE, "pool %s: finishing the unlink of object slot %u of a "
					"process that died", md->path, i);
			(void)object_reload_unreached(obj);
			object_destroy_slot(tab, obj);
			objtab_changed_locked(tab, i);
			continue;
		}
		tab->live++;
		nameidx_add(&tab->names, layout_name_hash(&md->slots[i]), i);
		if (obj->goal != EXTMAP_NONE)
			goaltree_insert(&tab->goals, i, obj->goal);
	}
	if (tab->free_hint > 0)
		tab->free_hint = 0; /* unlinks elsewhere freed slots below it */
	tab->gen_seen = sh->run->objtab_gen;
	tab->epoch_seen = sh->run->epoch;
}

/* Takes meta and brings the table up to date (shared pools; else nothing). */
static void objtab_lock_shared(struct objtab *tab) REQUIRES(tab->lock) NO_TSA
{
	if (!tab->sh)
		return;
	shared_meta_lock(tab->sh);
	objtab_sync_locked(tab);
}

static void objtab_unlock_shared(struct objtab *tab) REQUIRES(tab->lock) NO_TSA
{
	if (tab->sh)
		shared_meta_unlock(tab->sh);
}

/*
 * The object is opened here for the first time since it was last closed,
 * in a shared pool: its map and size are loaded afresh if anything changed
 * meanwhile (no request reached us while we had it closed), and our bit in
 * its openers mask is set. -EAGAIN while an operation's fence is on it.
 */
static int object_first_open_shared(struct daxmap_obj *obj) NO_TSA /* tab->lock held */
{
	struct shared *sh = obj->tab->sh;
	const struct shared_fence *f = &sh->run->fence;
	int ret = 0;

	/* (pinned: a request of before its last close is still at work on it) */
	if ((f->active && f->slot == obj->slot) || obj->pins)
		return -EAGAIN;
	/* nobody else reaches its map: no handle, no mapping, no request */
	if (obj->gen_seen != sh->slot_gen[obj->slot] || obj->epoch_seen != sh->run->epoch) {
		if ((ret = object_reload_unreached(obj)) < 0)
			return ret;
		atomic_store(&obj->size, obj->md->slots[obj->slot].size);
		obj->gen_seen = sh->slot_gen[obj->slot];
	}
	shared_opener_set(sh, obj->slot, 1);
	return 0;
}

/* The last handle or mapping of obj went: clear our openers bit. Takes meta. */
static void object_last_close_shared(struct daxmap_obj *obj) NO_TSA /* tab->lock held */
{
	struct shared *sh = obj->tab->sh;

	if (!sh || obj->opens || obj->maps)
		return;
	shared_meta_lock(sh);
	shared_opener_set(sh, obj->slot, 0);
	shared_meta_unlock(sh);
}

static int name_check(const char *name, size_t *len)
{
	if (!name)
		return ERR(-EINVAL, "object name is NULL");
	*len = strnlen(name, DAXMAP_MAX_NAME + 1);
	if (*len == 0)
		return ERR(-EINVAL, "object name is empty");
	if (*len > DAXMAP_MAX_NAME)
		return ERR(-ENAMETOOLONG, "object name longer than %d bytes", DAXMAP_MAX_NAME);
	return 0;
}

/* The live object named name[0, len), through the index by name hash. */
static struct daxmap_obj *object_find_locked(struct objtab *tab, const char *name,
					     size_t len) REQUIRES(tab->lock)
{
	const struct pool_media *md = tab->md;
	uint64_t hash = layout_name_hash_bytes(name, (uint32_t)len), pos = 0;
	uint32_t i;

	while (nameidx_next(&tab->names, hash, &pos, &i)) {
		struct daxmap_obj *obj = tab->objs[i];
		const struct obj_slot *s = &md->slots[i];

		if (obj && !obj->dying && s->name_len == len && memcmp(s->name, name, len) == 0)
			return obj;
	}
	return NULL;
}

/*
 * Goal of a new object: the middle of the widest gap between the goals of
 * the live objects (or 0 when no object starts there), so that objects grow
 * contiguously into their own part of the pool. The placement tree keeps
 * the widest gap, so this reads it instead of sorting every goal.
 */
static uint64_t object_pick_goal(struct objtab *tab) REQUIRES(tab->lock)
{
	/* within the pool's current size: a grow opens new space at its end,
	 * the widest gap for the next goal */
	return goaltree_pick(&tab->goals, atomic_load(&tab->md->npresent));
}

static int object_create_locked(struct objtab *tab, const char *name, size_t len, int small,
				struct daxmap_obj **out) REQUIRES(tab->lock)
{
	const struct pool_media *md = tab->md;
	struct daxmap_obj *obj;
	struct obj_slot *s;
	uint64_t goal;
	uint32_t i;

	/* every slot below the hint is in use: creates do not rescan them */
	for (i = tab->free_hint; i < md->max_objects; i++)
		if (!tab->objs[i] && md->slots[i].state == SLOT_FREE)
			break;
	tab->free_hint = i;
	if (i == md->max_objects)
		return ERR(-ENFILE, "pool %s has no free object slot (%u in use)", md->path,
			   md->max_objects);
	/* room in the index first: once the slot is LIVE, indexing must not fail */
	if (nameidx_reserve(&tab->names, 1) < 0 || goaltree_reserve(&tab->goals, i) < 0)
		return ERR(-ENOMEM, "out of memory indexing object %s", name);
	small = small && tab->alloc_blk; /* a pool without blocks: extents */
	goal = small ? 0 : object_pick_goal(tab);
	s = &md->slots[i];
	/* fill and persist the slot while it is FREE, then commit with one
	 * 8-byte store of its state */
	memset((char *)s + sizeof(s->state), 0, sizeof(*s) - sizeof(s->state));
	memcpy(s->name, name, len);
	s->name_len = (uint32_t)len;
	s->goal = goal;
	s->flags = small ? SLOT_F_SMALL : 0;
	s->size = 0;
	s->checksum = layout_slot_checksum(s);
	media_persist(md, s, sizeof(*s));
	if (!(obj = object_new(tab, i)))
		return ERR(-ENOMEM, "out of memory creating object \"%s\"", name);
	slot_set_state(md, i, SLOT_LIVE);
	tab->objs[i] = obj;
	tab->live++;
	nameidx_add(&tab->names, layout_name_hash_bytes(name, (uint32_t)len), i);
	tab->free_hint = i + 1;
	if (tab->sh) {
		objtab_changed_locked(tab, i);
		obj->gen_seen = tab->sh->slot_gen[i];
		obj->ring_seen = tab->sh->run->ring_seq;
		obj->epoch_seen = tab->sh->run->epoch;
	}
	if (!small) {
		goaltree_insert(&tab->goals, i, goal);
		alloc_expect(tab->alloc, goal); /* its first extents land there: warm them */
	}
	*out = obj;
	return 0;
}

/* takes tab->lock */
int object_open(struct objtab *tab, struct daxmap_obj **objp, const char *name, int flags)
{
	struct daxmap_obj *obj;
	size_t len = 0;
	int ret;

	if ((ret = name_check(name, &len)) < 0)
		return ret;
	if (flags & ~(DAXMAP_CREATE | DAXMAP_EXCL | DAXMAP_SMALL))
		return ERR(-EINVAL, "unknown flags %#x", flags);
	if ((flags & DAXMAP_EXCL) && !(flags & DAXMAP_CREATE))
		return ERR(-EINVAL, "DAXMAP_EXCL without DAXMAP_CREATE");
	if ((flags & DAXMAP_SMALL) && !(flags & DAXMAP_CREATE))
		return ERR(-EINVAL, "DAXMAP_SMALL without DAXMAP_CREATE");

	for (;;) {
		uint32_t fseq = tab->sh ? shared_fence_seq(tab->sh) : 0;

		mutex_lock(&tab->lock);
		objtab_lock_shared(tab);
		obj = object_find_locked(tab, name, len);
		if (obj && (flags & DAXMAP_EXCL))
			ret = ERR(-EEXIST, "object \"%s\" exists", name);
		else if (!obj && !(flags & DAXMAP_CREATE))
			ret = ERR(-ENOENT, "no object \"%s\" in pool %s", name, tab->md->path);
		else if (!obj)
			ret = object_create_locked(tab, name, len, (flags & DAXMAP_SMALL) != 0, &obj);
		if (ret == 0 && tab->sh && obj->opens == 0 && obj->maps == 0)
			ret = object_first_open_shared(obj);
		if (ret == 0) {
			obj->opens++;
			*objp = obj;
		}
		objtab_unlock_shared(tab);
		mutex_unlock(&tab->lock);
		if (ret != -EAGAIN)
			return ret;
		/* another process changes the object right now: after it */
		shared_fence_wait(tab->sh, fseq);
		ret = 0;
	}
}

int object_check(struct daxmap_obj *obj)
{
	if (!obj)
		return ERR(-EINVAL, "object handle is NULL");
	return media_usable(obj->md);
}

int daxmap_obj_close(daxmap_obj *obj)
{
	int ret;

	if (!obj)
		return 0;
	if ((ret = object_check(obj)) < 0)
		return ret;
	mutex_lock(&obj->tab->lock);
	if (obj->opens == 0) {
		ret = ERR(-EINVAL, "object handle is not open");
	} else {
		obj->opens--;
		object_last_close_shared(obj);
	}
	mutex_unlock(&obj->tab->lock);
	return ret;
}

/* takes tab->lock (and, freeing extents, the allocator's lock under it) */
int object_unlink(struct objtab *tab, const char *name)
{
	struct daxmap_obj *obj;
	size_t len = 0;
	int ret;

	if ((ret = name_check(name, &len)) < 0)
		return ret;
	/* shared: no other process's operation (and its requests) is on it */
	if (tab->sh)
		shared_op_lock(tab->sh);
	mutex_lock(&tab->lock);
	objtab_lock_shared(tab);
	obj = object_find_locked(tab, name, len);
	if (!obj) {
		ret = ERR(-ENOENT, "no object \"%s\" in pool %s", name, tab->md->path);
	} else if (obj->opens || obj->maps || obj->pins) {
		ret = ERR(-EBUSY, "object \"%s\" has %u open handles and %u mappings", name,
			  obj->opens, obj->maps);
	} else if (tab->sh && shared_opened_elsewhere(tab->sh, obj->slot)) {
		ret = ERR(-EBUSY, "object \"%s\" is open or mapped in another process", name);
	} else if (tab->sh && (ret = object_reload_unreached(obj)) < 0) {
		/* (its extents must all be known to be freed) */
	} else {
		uint32_t slot = obj->slot;

		tab->live--;
		nameidx_del(&tab->names, layout_name_hash_bytes(name, (uint32_t)len), obj->slot);
		if (obj->goal != EXTMAP_NONE)
			goaltree_remove(&tab->goals, obj->slot);
		if (obj->slot < tab->free_hint)
			tab->free_hint = obj->slot;
		object_destroy_slot(tab, obj);
		objtab_changed_locked(tab, slot);
	}
	objtab_unlock_shared(tab);
	mutex_unlock(&tab->lock);
	if (tab->sh)
		shared_op_unlock(tab->sh);
	return ret;
}

int daxmap_obj_size(daxmap_obj *obj, uint64_t *size)
{
	int ret;

	if ((ret = object_check(obj)) < 0)
		return ret;
	if (!size)
		return ERR(-EINVAL, "size is NULL");
	*size = atomic_load(&obj->size);
	return 0;
}

void object_set_size_locked(struct daxmap_obj *obj, uint64_t size)
{
	const struct pool_media *md = obj->md;

	md->slots[obj->slot].size = size;
	media_persist(md, &md->slots[obj->slot].size, sizeof(uint64_t));
	atomic_store(&obj->size, size);
}

void object_shrink_locked(struct daxmap_obj *obj, uint64_t size, uint64_t zero_end)
{
	uint64_t es = obj->md->extent_size;
	uint64_t first_free = (size + es - 1) >> obj->md->extent_shift;

	object_set_size_locked(obj, size);
	if (zero_end > size)
		object_zero_bytes_locked(obj, size, zero_end);
	object_free_range_locked(obj, first_free, UINT64_MAX);
}

void object_punch_locked(struct daxmap_obj *obj, uint64_t off, uint64_t end)
{
	uint64_t es = obj->md->extent_size;
	uint64_t e_lo = (off + es - 1) >> obj->md->extent_shift;
	uint64_t e_hi = end >> obj->md->extent_shift;

	if (e_lo >= e_hi) {
		object_zero_bytes_locked(obj, off, end);
		return;
	}
	object_zero_bytes_locked(obj, off, e_lo * es);
	object_zero_bytes_locked(obj, e_hi * es, end);
	object_free_range_locked(obj, e_lo, e_hi);
}

/* takes obj->extents_lock (recovery at open: nothing else runs) */
int object_replay(void *arg, const struct log_record *r)
{
	struct objtab *tab = arg;
	uint32_t slot = (uint32_t)r->slot; /* below max_objects: the log validated it */
	struct daxmap_obj *obj;
	uint64_t size, es, a = r->a, b = r->b;

	/* pinned while it runs (a shared pool's recovery: other threads of
	 * ours may be catching up with the object table meanwhile) */
	mutex_lock(&tab->lock);
	if ((obj = tab->objs[slot]) != NULL && !obj->dying)
		obj->pins++;
	mutex_unlock(&tab->lock);
	if (!obj || obj->dying)
		return ERR(-EUCLEAN, "log record for object slot %u, which is not live", slot);
	es = obj->md->extent_size;
	mutex_lock(&obj->extents_lock);
	size = atomic_load(&obj->size);
	if (tab->sh) {
		/* a dead process's operation (peer.c): its whole map, fence
		 * and all (the recovering thread owns the fence), and the
		 * persistent size (it may not be open here) */
		int ret;
		shared_meta_lock(tab->sh);
		ret = object_reload_locked(obj);
		shared_meta_unlock(tab->sh);
		if (ret < 0) {
			mutex_unlock(&obj->extents_lock);
			object_unpin(obj);
			return ret;
		}
		size = obj->md->slots[slot].size;
		atomic_store(&obj->size, size);
	}
	switch (r->op) {
	case LOG_OP_SHRINK:
		if (a <= size)
			object_shrink_locked(obj, a, ((a + es - 1) / es) * es);
		break;
	case LOG_OP_PUNCH:
		if (a < b)
			object_punch_locked(obj, a, b < size ? b : size);
		break;
	case LOG_OP_ZERO:
		if (a < b)
			object_zero_bytes_locked(obj, a, b < size ? b : size);
		break;
	default:
		break;
	}
	mutex_unlock(&obj->extents_lock);
	object_unpin(obj);
	return 0;
}

/* Pool extent i enters obj's map if the table says it is obj's (and the
 * fence's operation is not about to free it). */
static int object_adopt_locked(struct daxmap_obj *obj, uint64_t i) REQUIRES(obj->extents_lock)
{
	uint64_t ent = __atomic_load_n(&obj->md->exttab[i], __ATOMIC_ACQUIRE), e;

	if (ext_entry_tag(ent) != EXT_TAG_ALLOC || ext_entry_slot(ent) != obj->slot)
		return 0;
	e = ext_entry_index(ent);
	if (shared_fence_frees(obj->tab->sh, obj->slot, e))
		return 0;
	if (extmap_reserve(&obj->extmap, 1))
		return ERR(-ENOMEM, "out of memory growing the extent map");
	extmap_put(&obj->extmap, e, i);
	return 0;
}

/* The whole map again from the table (a rescan). Under meta. What the map
 * has in a fence's free range that the table still gives it stays: this
 * process may map it until it has handled the fence's request (its
 * teardown tells its pool pages by the map). */
static int object_reload_locked(struct daxmap_obj *obj) REQUIRES(obj->extents_lock)
{
	const struct shared_run *run = obj->tab->sh->run;
	struct extmap old = obj->extmap;
	int ret = 0;

	extmap_init(&obj->extmap);
	for (uint64_t i = 0; i < obj->md->nextents && ret == 0; i++)
		ret = object_adopt_locked(obj, i);
	for (uint64_t b = 0; b < old.cap && ret == 0; b++) {
		uint64_t e = old.keys[b] - 1, i = old.vals[b], ent;
		if (!old.keys[b] || !shared_fence_frees(obj->tab->sh, obj->slot, e) ||
		    i >= obj->md->nextents)
			continue;
		ent = __atomic_load_n(&obj->md->exttab[i], __ATOMIC_ACQUIRE);
		if (ext_entry_tag(ent) != EXT_TAG_ALLOC || ext_entry_slot(ent) != obj->slot ||
		    ext_entry_index(ent) != e)
			continue;
		if (extmap_reserve(&obj->extmap, 1))
			ret = ERR(-ENOMEM, "out of memory growing the extent map");
		else
			extmap_put(&obj->extmap, e, i);
	}
	extmap_free(&old);
	obj->ring_seen = run->ring_seq;
	obj->epoch_seen = run->epoch;
	return ret;
}

/* Catches up with the ring (under meta), or rescans. */
static int object_sync_locked(struct daxmap_obj *obj) REQUIRES(obj->extents_lock)
{
	const struct shared_run *run = obj->tab->sh->run;
	uint64_t seq = run->ring_seq, idx;
	unsigned t;
	int ret = 0;

	if (obj->epoch_seen != run->epoch || seq - obj->ring_seen > SHARED_RING)
		return object_reload_locked(obj);
	for (uint64_t k = obj->ring_seen; k < seq && ret == 0; k++)
		if (shared_ring_get(obj->tab->sh, k, &t, &idx) == 0 && t == 0 &&
		    idx < obj->md->nextents)
			ret = object_adopt_locked(obj, idx);
	if (ret == 0)
		obj->ring_seen = seq;
	return ret;
}

/* takes obj->extents_lock, then meta */
int object_sync(struct daxmap_obj *obj)
{
	int ret;

	mutex_lock(&obj->extents_lock);
	shared_meta_lock(obj->tab->sh);
	ret = object_sync_locked(obj);
	shared_meta_unlock(obj->tab->sh);
	mutex_unlock(&obj->extents_lock);
	return ret;
}

/* takes obj->extents_lock, then (a hole in a shared pool) meta */
uint64_t object_extent_get(struct daxmap_obj *obj, uint64_t e)
{
	uint64_t pidx;

	mutex_lock(&obj->extents_lock);
	pidx = extmap_get(&obj->extmap, e);
	if (pidx == EXTMAP_NONE && obj->tab->sh) {
		/* another process may have allocated it (a failed catch-up
		 * is a hole: it reads zero, and an allocation fails alike) */
		shared_meta_lock(obj->tab->sh);
		if (object_sync_locked(obj) == 0)
			pidx = extmap_get(&obj->extmap, e);
		shared_meta_unlock(obj->tab->sh);
	}
	mutex_unlock(&obj->extents_lock);
	return pidx;
}

/* takes obj->extents_lock, then (shared pools) meta */
void object_extents_get(struct daxmap_obj *obj, uint64_t e, uint64_t n, uint64_t *pidx)
{
	mutex_lock(&obj->extents_lock);
	if (obj->tab->sh) {
		shared_meta_lock(obj->tab->sh);
		(void)object_sync_locked(obj); /* (a miss is no more than a fault later) */
		shared_meta_unlock(obj->tab->sh);
	}
	for (uint64_t k = 0; k < n; k++)
		pidx[k] = extmap_get(&obj->extmap, e + k);
	mutex_unlock(&obj->extents_lock);
}

/* takes obj->extents_lock */
void object_forget_range(struct daxmap_obj *obj, uint64_t lo, uint64_t hi)
{
	mutex_lock(&obj->extents_lock);
	object_drop_range_locked(obj, lo, hi, 0);
	mutex_unlock(&obj->extents_lock);
}

/* takes meta */
int object_fenced(struct daxmap_obj *obj, uint64_t off)
{
	int fenced;

	if (!obj->tab->sh)
		return 0;
	shared_meta_lock(obj->tab->sh);
	fenced = shared_fenced(obj->tab->sh, obj->slot, off);
	shared_meta_unlock(obj->tab->sh);
	return fenced;
}

void object_repush_range(struct objtab *tab, uint32_t slot, uint64_t lo, uint64_t hi)
{
	const struct pool_media *md = tab->md;

	for (uint64_t i = 0; i < md->nextents; i++) {
		uint64_t ent = md->exttab[i];
		if (ext_entry_tag(ent) == EXT_TAG_ALLOC && ext_entry_slot(ent) == slot &&
		    ext_entry_index(ent) >= lo && ext_entry_index(ent) < hi)
			shared_ring_push(tab->sh, 0, i);
	}
}

static int object_extent_alloc_locked(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
	REQUIRES(obj->extents_lock);

/*
 * A hole in a shared pool: in one hold of meta, catch up (another process
 * may have allocated it: then it is found, not allocated twice), refuse
 * behind another operation's fence (-EAGAIN: the caller waits for it to
 * drop), else allocate as below.
 */
static int object_extent_alloc_shared(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
	REQUIRES(obj->extents_lock)
{
	struct shared *sh = obj->tab->sh;
	int ret;

	shared_meta_lock(sh);
	if ((ret = object_sync_locked(obj)) == 0 &&
	    (*pidx = extmap_get(&obj->extmap, e)) == EXTMAP_NONE) {
		if (shared_fenced(sh, obj->slot, e << obj->md->extent_shift))
			ret = -EAGAIN;
		else
			ret = object_extent_alloc_locked(obj, e, pidx);
	}
	shared_meta_unlock(sh);
	return ret;
}

/* takes obj->extents_lock, then the allocator's lock */
int object_extent_alloc(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
{
	int ret = 0;

	mutex_lock(&obj->extents_lock);
	*pidx = extmap_get(&obj->extmap, e);
	if (*pidx == EXTMAP_NONE)
		ret = obj->tab->sh ? object_extent_alloc_shared(obj, e, pidx)
				   : object_extent_alloc_locked(obj, e, pidx);
	mutex_unlock(&obj->extents_lock);
	return ret;
}

/* A hole: allocates and records pool extent *pidx for object extent e. */
static int object_extent_alloc_locked(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
{
	const struct pool_media *md = obj->md;
	uint64_t hints[ALLOC_HINTS] = {EXTMAP_NONE, EXTMAP_NONE, EXTMAP_NONE}, nb;
	int ret;

	/* room in the map first: once the entry is durable, the in-memory
	 * insert must not fail */
	if (extmap_reserve(&obj->extmap, 1))
		return ERR(-ENOMEM, "out of memory growing the extent map");
	/* contiguity: the object's own goal position, else right after the
	 * left neighbour, else right before the right neighbour */
	if (obj->goal + e >= obj->goal && obj->goal + e < md->nextents)
		hints[0] = obj->goal + e;
	if (e > 0 && (nb = extmap_get(&obj->extmap, e - 1)) != EXTMAP_NONE)
		hints[1] = nb + 1;
	if ((nb = extmap_get(&obj->extmap, e + 1)) != EXTMAP_NONE && nb > 0)
		hints[2] = nb - 1;
	if (hints[0] == EXTMAP_NONE) {
		hints[0] = hints[1] != EXTMAP_NONE ? hints[1] : hints[2];
	}
	ret = alloc_extent(obj->alloc, ext_entry_alloc(obj->slot, e), hints, pidx);
	if (ret == 0)
		extmap_put(&obj->extmap, e, *pidx);
	return ret;
}

/* takes tab->lock, then meta */
void object_table_catch_up(struct objtab *tab)
{
	mutex_lock(&tab->lock);
	objtab_lock_shared(tab);
	objtab_unlock_shared(tab);
	mutex_unlock(&tab->lock);
}

/* takes tab->lock */
struct daxmap_obj *object_get_opened(struct objtab *tab, uint32_t slot)
{
	struct daxmap_obj *obj;

	mutex_lock(&tab->lock);
	obj = tab->objs[slot];
	if (obj && !obj->opens && !obj->maps)
		obj = NULL;
	if (obj)
		obj->pins++;
	mutex_unlock(&tab->lock);
	return obj;
}

/* takes tab->lock */
void object_unpin(struct daxmap_obj *obj)
{
	mutex_lock(&obj->tab->lock);
	obj->pins--;
	mutex_unlock(&obj->tab->lock);
}

/* takes obj->extents_lock, then meta */
int object_fence(struct daxmap_obj *obj, uint64_t lo, uint64_t hi, uint64_t free_lo,
		 uint64_t free_hi, int drops)
{
	struct shared *sh = obj->tab->sh;
	int ret;

	mutex_lock(&obj->extents_lock);
	shared_meta_lock(sh);
	shared_fence_set(sh, obj->slot, lo, hi, free_lo, free_hi);
	if (drops)
		shared_fence_drops(sh);
	ret = object_sync_locked(obj); /* (ours: the fence's whole range too) */
	shared_meta_unlock(sh);
	mutex_unlock(&obj->extents_lock);
	return ret;
}

/* takes tab->lock */
void object_busy_counts(struct objtab *tab, uint64_t *opens, uint64_t *maps)
{
	*opens = *maps = 0;
	mutex_lock(&tab->lock);
	for (uint32_t i = 0; i < tab->md->max_objects; i++) {
		struct daxmap_obj *obj = tab->objs[i];
		if (obj) {
			*opens += obj->opens;
			*maps += obj->maps;
		}
	}
	mutex_unlock(&tab->lock);
}

/* takes tab->lock */
void object_map_get(struct daxmap_obj *obj)
{
	mutex_lock(&obj->tab->lock);
	obj->maps++;
	mutex_unlock(&obj->tab->lock);
}

/* takes tab->lock */
void object_map_put(struct daxmap_obj *obj)
{
	mutex_lock(&obj->tab->lock);
	obj->maps--;
	object_last_close_shared(obj);
	mutex_unlock(&obj->tab->lock);
}

/* takes tab->lock */
uint64_t object_live_count(struct objtab *tab)
{
	uint64_t n;

	mutex_lock(&tab->lock);
	objtab_lock_shared(tab);
	n = tab->live;
	objtab_unlock_shared(tab);
	mutex_unlock(&tab->lock);
	return n;
}

/* takes tab->lock, never across the callback */
int object_list(struct objtab *tab, int (*cb)(const char *name, uint64_t size, void *arg),
		void *arg)
{
	int ret = 0;

	/* names are copied out under the lock; the callback runs without it
	 * (it may open, close or unlink objects) */
	for (uint32_t i = 0; i < tab->md->max_objects && ret == 0; i++) {
		char name[DAXMAP_MAX_NAME + 1];
		uint64_t size = 0;
		int live = 0;

		mutex_lock(&tab->lock);
		objtab_lock_shared(tab);
		struct daxmap_obj *obj = tab->objs[i];
		if (obj && !obj->dying) {
			const struct obj_slot *s = &tab->md->slots[i];
			memcpy(name, s->name, s->name_len);
			name[s->name_len] = 0;
			size = obj->opens || obj->maps || !tab->sh ? atomic_load(&obj->size)
								   : s->size;
			live = 1;
		}
		objtab_unlock_shared(tab);
		mutex_unlock(&tab->lock);
		if (live)
			ret = cb(name, size, arg);
	}
	return ret;
}
