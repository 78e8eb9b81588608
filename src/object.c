/* The object table, in-memory objects, sizes and extent maps. */
#define _GNU_SOURCE
#include "object.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "fault.h"
#include "map.h"
#include "out.h"

static uint64_t slot_checksum(const struct obj_slot *s)
{
	/* covers goal .. end of name, leaving out state, size and the checksum */
	struct obj_slot tmp = *s;
	tmp.state = 0;
	tmp.size = 0;
	tmp.checksum = 0;
	return layout_checksum(&tmp, sizeof(tmp));
}

static uint64_t slot_offset(struct daxmap_pool *pool, uint32_t slot)
{
	return (uint64_t)((char *)&pool->slots[slot] - pool->base);
}

static struct daxmap_obj *object_new(struct daxmap_pool *pool, uint32_t slot)
{
	struct daxmap_obj *obj = calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->pool = pool;
	obj->slot = slot;
	obj->goal = pool->slots[slot].goal;
	atomic_init(&obj->size, pool->slots[slot].size);
	rangelock_init(&obj->range_lock);
	mutex_init(&obj->extents_lock);
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

static int slot_validate(struct daxmap_pool *pool, uint32_t i)
{
	const struct obj_slot *s = &pool->slots[i];
	uint64_t off = slot_offset(pool, i);

	if (s->state == SLOT_FREE)
		return 0; /* contents of a free slot are not meaningful (a create may have
			     been interrupted before its commit) */
	if (s->state != SLOT_LIVE && s->state != SLOT_DYING)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: unknown state %#llx", i,
			   (unsigned long long)off, (unsigned long long)s->state);
	if (s->checksum != slot_checksum(s))
		return ERR(-EUCLEAN, "object slot %u at offset %llu: checksum mismatch", i,
			   (unsigned long long)off);
	if (s->name_len == 0 || s->name_len > DAXMAP_MAX_NAME ||
	    memchr(s->name, 0, s->name_len) != NULL || s->reserved != 0)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: bad name", i,
			   (unsigned long long)off);
	for (uint32_t k = s->name_len; k < SLOT_NAME_MAX; k++)
		if (s->name[k] != 0)
			return ERR(-EUCLEAN, "object slot %u at offset %llu: name not zero-padded",
				   i, (unsigned long long)off);
	if (s->size > DAXMAP_MAX_OBJ_SIZE)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: size %llu beyond maximum", i,
			   (unsigned long long)off, (unsigned long long)s->size);
	if (s->goal >= pool->nextents && pool->nextents > 0)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: goal %llu beyond %llu extents",
			   i, (unsigned long long)off, (unsigned long long)s->goal,
			   (unsigned long long)pool->nextents);
	return 0;
}

static int object_load_extents(struct daxmap_pool *pool) NO_TSA
{
	uint64_t exttab_off = (uint64_t)((char *)pool->exttab - pool->base);

	for (uint64_t i = 0; i < pool->nextents; i++) {
		uint64_t ent = pool->exttab[i], tag = ext_entry_tag(ent), e;
		uint64_t off = exttab_off + i * sizeof(uint64_t);
		struct daxmap_obj *obj;
		uint32_t slot;

		if (tag == EXT_TAG_FREE || tag == EXT_TAG_DIRTY) {
			if (ent != (tag << EXT_TAG_SHIFT))
				return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: "
					   "free entry with stray bits %#llx",
					   (unsigned long long)i, (unsigned long long)off,
					   (unsigned long long)ent);
			continue;
		}
		if (tag != EXT_TAG_ALLOC)
			return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: bad tag",
				   (unsigned long long)i, (unsigned long long)off);
		slot = ext_entry_slot(ent);
		e = ext_entry_index(ent);
		if (slot >= pool->max_objects || (obj = pool->objtab.objs[slot]) == NULL)
			return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: owner slot "
				   "%u is not a live object", (unsigned long long)i,
				   (unsigned long long)off, slot);
		if (e >= (DAXMAP_MAX_OBJ_SIZE >> pool->extent_shift))
			return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: object "
				   "extent %llu beyond the maximum object size",
				   (unsigned long long)i, (unsigned long long)off,
				   (unsigned long long)e);
		if (extmap_get(&obj->extmap, e) != EXTMAP_NONE)
			return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: object "
				   "slot %u has two extents at index %llu", (unsigned long long)i,
				   (unsigned long long)off, slot, (unsigned long long)e);
		if (extmap_reserve(&obj->extmap, 1))
			return ERR(-ENOMEM, "out of memory loading extent maps");
		extmap_put(&obj->extmap, e, i);
	}
	return 0;
}

int object_load(struct daxmap_pool *pool) NO_TSA
{
	struct objtab *ot = &pool->objtab;
	int ret;

	mutex_init(&ot->lock);
	ot->live = 0;
	ot->objs = calloc(pool->max_objects, sizeof(*ot->objs));
	if (!ot->objs)
		return ERR(-ENOMEM, "cannot allocate the object table");
	for (uint32_t i = 0; i < pool->max_objects; i++) {
		if ((ret = slot_validate(pool, i)) < 0)
			return ret;
		if (pool->slots[i].state == SLOT_FREE)
			continue;
		if (!(ot->objs[i] = object_new(pool, i)))
			return ERR(-ENOMEM, "cannot allocate object %u", i);
		if (pool->slots[i].state == SLOT_DYING)
			ot->objs[i]->dying = 1;
		else
			ot->live++;
	}
	return object_load_extents(pool);
}

/* Frees every extent of obj that lies at or past extent `from`. */
static void object_free_extents_from(struct daxmap_obj *obj, uint64_t from) NO_TSA
{
	struct extmap *m = &obj->extmap;

	for (uint64_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == 0 || m->keys[i] - 1 < from)
			continue;
		uint64_t e = m->keys[i] - 1;
		uint64_t pidx = extmap_del(m, e);
		alloc_free(obj->pool, pidx);
		i--; /* backward shift may have moved another key into bucket i */
	}
}

static void slot_set_state(struct daxmap_pool *pool, uint32_t slot, uint64_t state)
{
	__atomic_store_n(&pool->slots[slot].state, state, __ATOMIC_RELEASE);
	pool_persist(pool, &pool->slots[slot].state, sizeof(uint64_t));
}

/* Frees every extent of an object and its slot (unlink, and its recovery). */
static void object_destroy_slot(struct daxmap_pool *pool, struct daxmap_obj *obj) NO_TSA
{
	/* DYING first: a crash while extents are freed leaves an object that
	 * recovery finishes, never a live object with missing extents */
	slot_set_state(pool, obj->slot, SLOT_DYING);
	object_free_extents_from(obj, 0);
	slot_set_state(pool, obj->slot, SLOT_FREE);
	pool->objtab.objs[obj->slot] = NULL;
	object_delete(obj);
}

void object_recover(struct daxmap_pool *pool) NO_TSA
{
	for (uint32_t i = 0; i < pool->max_objects; i++) {
		struct daxmap_obj *obj = pool->objtab.objs[i];
		uint64_t eof_ext;

		if (!obj)
			continue;
		if (obj->dying) {
			LOG(OUT_NOTICE, "pool %s: finishing the unlink of object slot %u",
			    pool->path, i);
			object_destroy_slot(pool, obj);
			continue;
		}
		/* extents wholly past EOF: a shrink was interrupted after its size
		 * change was durable; finish it */
		eof_ext = (atomic_load(&obj->size) + pool->extent_size - 1) >> pool->extent_shift;
		object_free_extents_from(obj, eof_ext);
	}
}

void object_unload(struct daxmap_pool *pool) NO_TSA
{
	if (!pool->objtab.objs)
		return;
	for (uint32_t i = 0; i < pool->max_objects; i++)
		if (pool->objtab.objs[i])
			object_delete(pool->objtab.objs[i]);
	free(pool->objtab.objs);
	pool->objtab.objs = NULL;
	mutex_destroy(&pool->objtab.lock);
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

static struct daxmap_obj *object_find_locked(struct daxmap_pool *pool, const char *name,
					     size_t len) REQUIRES(pool->objtab.lock)
{
	for (uint32_t i = 0; i < pool->max_objects; i++) {
		struct daxmap_obj *obj = pool->objtab.objs[i];
		const struct obj_slot *s;

		if (!obj || obj->dying)
			continue;
		s = &pool->slots[i];
		if (s->name_len == len && memcmp(s->name, name, len) == 0)
			return obj;
	}
	return NULL;
}

static int goal_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Goal of a new object: the middle of the widest gap between the goals of
 * the live objects (or 0 when no object starts there), so that objects grow
 * contiguously into their own part of the pool.
 */
static int object_pick_goal(struct daxmap_pool *pool, uint64_t *goal) REQUIRES(pool->objtab.lock)
{
	uint64_t n = 0, best_len = 0;
	uint64_t *g = malloc((pool->objtab.live + 1) * sizeof(uint64_t));

	if (!g)
		return ERR(-ENOMEM, "out of memory choosing an object's place");
	for (uint32_t i = 0; i < pool->max_objects; i++)
		if (pool->objtab.objs[i])
			g[n++] = pool->objtab.objs[i]->goal;
	qsort(g, n, sizeof(*g), goal_cmp);
	*goal = 0;
	if (n == 0 || g[0] > 0) {
		/* [0, g[0]) has no object at its start: place the new one there,
		 * unless a wider gap exists further on */
		best_len = n ? g[0] : pool->nextents;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint64_t lo = g[k], hi = k + 1 < n ? g[k + 1] : pool->nextents;
		if (hi - lo > best_len) {
			best_len = hi - lo;
			*goal = lo + (hi - lo) / 2;
		}
	}
	free(g);
	return 0;
}

/* takes pool->objtab.lock */
static int object_create_locked(struct daxmap_pool *pool, const char *name, size_t len,
				struct daxmap_obj **out) REQUIRES(pool->objtab.lock)
{
	struct daxmap_obj *obj;
	struct obj_slot *s;
	uint64_t goal;
	uint32_t i;
	int ret;

	for (i = 0; i < pool->max_objects; i++)
		if (!pool->objtab.objs[i] && pool->slots[i].state == SLOT_FREE)
			break;
	if (i == pool->max_objects)
		return ERR(-ENFILE, "pool %s has no free object slot (%u in use)", pool->path,
			   pool->max_objects);
	if ((ret = object_pick_goal(pool, &goal)) < 0)
		return ret;
	s = &pool->slots[i];
	/* fill and persist the slot while it is FREE, then commit with one
	 * 8-byte store of its state */
	memset((char *)s + sizeof(s->state), 0, sizeof(*s) - sizeof(s->state));
	memcpy(s->name, name, len);
	s->name_len = (uint32_t)len;
	s->goal = goal;
	s->size = 0;
	s->checksum = slot_checksum(s);
	pool_persist(pool, s, sizeof(*s));
	if (!(obj = object_new(pool, i)))
		return ERR(-ENOMEM, "out of memory creating object %s", name);
	slot_set_state(pool, i, SLOT_LIVE);
	pool->objtab.objs[i] = obj;
	pool->objtab.live++;
	*out = obj;
	return 0;
}

int daxmap_obj_open(daxmap_obj **objp, daxmap_pool *pool, const char *name, int flags)
{
	struct daxmap_obj *obj;
	size_t len;
	int ret;

	if (!objp)
		return ERR(-EINVAL, "obj is NULL");
	*objp = NULL;
	if ((ret = pool_check(pool)) < 0 || (ret = name_check(name, &len)) < 0)
		return ret;
	if (flags & ~(DAXMAP_CREATE | DAXMAP_EXCL))
		return ERR(-EINVAL, "unknown flags %#x", flags);
	if ((flags & DAXMAP_EXCL) && !(flags & DAXMAP_CREATE))
		return ERR(-EINVAL, "DAXMAP_EXCL without DAXMAP_CREATE");

	mutex_lock(&pool->objtab.lock);
	obj = object_find_locked(pool, name, len);
	if (obj && (flags & DAXMAP_EXCL))
		ret = ERR(-EEXIST, "object %s exists", name);
	else if (!obj && !(flags & DAXMAP_CREATE))
		ret = ERR(-ENOENT, "no object %s in pool %s", name, pool->path);
	else if (!obj)
		ret = object_create_locked(pool, name, len, &obj);
	if (ret == 0) {
		obj->opens++;
		*objp = obj;
	}
	mutex_unlock(&pool->objtab.lock);
	return ret;
}

int object_check(struct daxmap_obj *obj)
{
	if (!obj)
		return ERR(-EINVAL, "object handle is NULL");
	return pool_check(obj->pool);
}

int daxmap_obj_close(daxmap_obj *obj)
{
	int ret;

	if (!obj)
		return 0;
	if ((ret = object_check(obj)) < 0)
		return ret;
	mutex_lock(&obj->pool->objtab.lock);
	if (obj->opens == 0)
		ret = ERR(-EINVAL, "object handle is not open");
	else
		obj->opens--;
	mutex_unlock(&obj->pool->objtab.lock);
	return ret;
}

int daxmap_obj_unlink(daxmap_pool *pool, const char *name)
{
	struct daxmap_obj *obj;
	size_t len;
	int ret;

	if ((ret = pool_check(pool)) < 0 || (ret = name_check(name, &len)) < 0)
		return ret;
	mutex_lock(&pool->objtab.lock);
	obj = object_find_locked(pool, name, len);
	if (!obj) {
		ret = ERR(-ENOENT, "no object %s in pool %s", name, pool->path);
	} else if (obj->opens || obj->maps) {
		ret = ERR(-EBUSY, "object %s has %u open handles and %u mappings", name,
			  obj->opens, obj->maps);
	} else {
		pool->objtab.live--;
		object_destroy_slot(pool, obj);
	}
	mutex_unlock(&pool->objtab.lock);
	if (ret == 0)
		fault_retry_errors(pool); /* space came back: failed faults may succeed now */
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

static uint64_t page_up(uint64_t x)
{
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	return (x + ps - 1) & ~(ps - 1);
}

/*
 * Grows the object. Holds maps_lock shared (to reach the mappings), the
 * range from the old EOF to the end exclusively (no fault there resolves
 * while EOF moves), and extents_lock for the persistent size.
 */
static int object_grow(struct daxmap_obj *obj, uint64_t old, uint64_t size)
{
	struct daxmap_pool *pool = obj->pool;
	struct range_entry re;
	uint64_t tail_end = page_up(old), pidx;

	map_rdlock();
	rangelock_lock(&obj->range_lock, &re, old, DAXMAP_MAX_OBJ_SIZE + pool->extent_size, 1);
	mutex_lock(&obj->extents_lock);
	/* bytes stored past the old EOF in its last page must read zero now
	 * that they become part of the object (as ftruncate does) */
	pidx = extmap_get(&obj->extmap, old >> pool->extent_shift);
	if (tail_end > old && pidx != EXTMAP_NONE) {
		uint64_t in_ext = old & (pool->extent_size - 1);
		uint64_t n = (tail_end < size ? tail_end : size) - old;
		pool_zero_persist(pool, pool_extent_addr(pool, pidx) + in_ext, n);
	}
	pool->slots[obj->slot].size = size;
	pool_persist(pool, &pool->slots[obj->slot].size, sizeof(uint64_t));
	atomic_store(&obj->size, size);
	mutex_unlock(&obj->extents_lock);
	/* pages past the old EOF may hold SIGBUS markers: clear them */
	map_zap_obj_range(obj, tail_end, page_up(size));
	rangelock_unlock(&obj->range_lock, &re);
	map_rdunlock();
	return 0;
}

int daxmap_obj_truncate(daxmap_obj *obj, uint64_t size)
{
	uint64_t old;
	int ret;

	if ((ret = object_check(obj)) < 0)
		return ret;
	if (size > DAXMAP_MAX_OBJ_SIZE)
		return ERR(-EFBIG, "size %llu beyond the maximum object size %llu",
			   (unsigned long long)size, (unsigned long long)DAXMAP_MAX_OBJ_SIZE);
	old = atomic_load(&obj->size);
	if (size == old)
		return 0;
	if (size < old)
		return ERR(-EOPNOTSUPP, "shrinking an object (%llu -> %llu) is not supported yet",
			   (unsigned long long)old, (unsigned long long)size);
	return object_grow(obj, old, size);
}

/* takes obj->extents_lock */
uint64_t object_extent_get(struct daxmap_obj *obj, uint64_t e)
{
	uint64_t pidx;

	mutex_lock(&obj->extents_lock);
	pidx = extmap_get(&obj->extmap, e);
	mutex_unlock(&obj->extents_lock);
	return pidx;
}

/* takes obj->extents_lock, then pool->alloc.lock */
int object_extent_alloc(struct daxmap_obj *obj, uint64_t e, uint64_t *pidx)
{
	struct daxmap_pool *pool = obj->pool;
	uint64_t hints[ALLOC_HINTS] = {EXTMAP_NONE, EXTMAP_NONE, EXTMAP_NONE}, nb;
	int ret = 0;

	mutex_lock(&obj->extents_lock);
	*pidx = extmap_get(&obj->extmap, e);
	if (*pidx != EXTMAP_NONE)
		goto out_unlock;
	/* room in the map first: once the entry is durable, the in-memory
	 * insert must not fail */
	if (extmap_reserve(&obj->extmap, 1)) {
		ret = ERR(-ENOMEM, "out of memory growing the extent map");
		goto out_unlock;
	}
	/* contiguity: the object's own goal position, else right after the
	 * left neighbour, else right before the right neighbour */
	if (obj->goal + e >= obj->goal && obj->goal + e < pool->nextents)
		hints[0] = obj->goal + e;
	if (e > 0 && (nb = extmap_get(&obj->extmap, e - 1)) != EXTMAP_NONE)
		hints[1] = nb + 1;
	if ((nb = extmap_get(&obj->extmap, e + 1)) != EXTMAP_NONE && nb > 0)
		hints[2] = nb - 1;
	if (hints[0] == EXTMAP_NONE) {
		hints[0] = hints[1] != EXTMAP_NONE ? hints[1] : hints[2];
	}
	ret = alloc_extent(pool, ext_entry_alloc(obj->slot, e), hints, pidx);
	if (ret == 0)
		extmap_put(&obj->extmap, e, *pidx);
out_unlock:
	mutex_unlock(&obj->extents_lock);
	return ret;
}

/* takes pool->objtab.lock */
void object_busy_counts(struct daxmap_pool *pool, uint64_t *opens, uint64_t *maps)
{
	*opens = *maps = 0;
	mutex_lock(&pool->objtab.lock);
	for (uint32_t i = 0; i < pool->max_objects; i++) {
		struct daxmap_obj *obj = pool->objtab.objs[i];
		if (obj) {
			*opens += obj->opens;
			*maps += obj->maps;
		}
	}
	mutex_unlock(&pool->objtab.lock);
}

/* takes pool->objtab.lock */
void object_map_get(struct daxmap_obj *obj)
{
	mutex_lock(&obj->pool->objtab.lock);
	obj->maps++;
	mutex_unlock(&obj->pool->objtab.lock);
}

/* takes pool->objtab.lock */
void object_map_put(struct daxmap_obj *obj)
{
	mutex_lock(&obj->pool->objtab.lock);
	obj->maps--;
	mutex_unlock(&obj->pool->objtab.lock);
}
