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

int slot_check(const struct obj_slot *s, uint32_t i, uint64_t off, uint64_t nextents)
{
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
	if (s->goal >= nextents && nextents > 0)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: goal %llu beyond %llu extents",
			   i, (unsigned long long)off, (unsigned long long)s->goal,
			   (unsigned long long)nextents);
	return 0;
}

static int slot_validate(struct daxmap_pool *pool, uint32_t i)
{
	return slot_check(&pool->slots[i], i, slot_offset(pool, i), pool->nextents);
}

int ext_entry_check(uint64_t ent, uint64_t i, uint64_t off, uint32_t max_objects,
		    unsigned extent_shift)
{
	uint64_t tag = ext_entry_tag(ent), e;
	uint32_t slot;

	if (tag == EXT_TAG_FREE || tag == EXT_TAG_DIRTY) {
		if (ent != (tag << EXT_TAG_SHIFT))
			return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: "
				   "free entry with stray bits %#llx",
				   (unsigned long long)i, (unsigned long long)off,
				   (unsigned long long)ent);
		return 0;
	}
	if (tag != EXT_TAG_ALLOC)
		return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: bad tag",
			   (unsigned long long)i, (unsigned long long)off);
	slot = ext_entry_slot(ent);
	e = ext_entry_index(ent);
	if (slot >= max_objects)
		return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: owner slot "
			   "%u is not a live object", (unsigned long long)i,
			   (unsigned long long)off, slot);
	if (e >= (DAXMAP_MAX_OBJ_SIZE >> extent_shift))
		return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: object "
			   "extent %llu beyond the maximum object size",
			   (unsigned long long)i, (unsigned long long)off,
			   (unsigned long long)e);
	return 1;
}

static int object_load_extents(struct daxmap_pool *pool) NO_TSA
{
	uint64_t exttab_off = (uint64_t)((char *)pool->exttab - pool->base);

	for (uint64_t i = 0; i < pool->nextents; i++) {
		uint64_t ent = pool->exttab[i], e;
		uint64_t off = exttab_off + i * sizeof(uint64_t);
		struct daxmap_obj *obj;
		uint32_t slot;
		int ret = ext_entry_check(ent, i, off, pool->max_objects, pool->extent_shift);

		if (ret <= 0) {
			if (ret < 0)
				return ret;
			continue;
		}
		slot = ext_entry_slot(ent);
		e = ext_entry_index(ent);
		if ((obj = pool->objtab.objs[slot]) == NULL)
			return ERR(-EUCLEAN, "extent table entry %llu at offset %llu: owner slot "
				   "%u is not a live object", (unsigned long long)i,
				   (unsigned long long)off, slot);
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

uint64_t slot_name_hash(const struct obj_slot *s)
{
	/* FNV-1a */
	uint64_t h = UINT64_C(1469598103934665603);
	for (uint32_t k = 0; k < s->name_len; k++)
		h = (h ^ (unsigned char)s->name[k]) * UINT64_C(1099511628211);
	return h;
}

int slot_name_key_cmp(const void *a, const void *b)
{
	const struct slot_name_key *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Live objects have distinct names by construction; two with one name mean
 * a damaged table (only the first could ever be opened). */
static int object_check_names(struct daxmap_pool *pool) NO_TSA
{
	struct slot_name_key *k = malloc((pool->objtab.live ? pool->objtab.live : 1) * sizeof(*k));
	uint64_t n = 0;
	int ret = 0;

	if (!k)
		return ERR(-ENOMEM, "out of memory checking object names");
	for (uint32_t i = 0; i < pool->max_objects; i++) {
		if (!pool->objtab.objs[i] || pool->objtab.objs[i]->dying)
			continue;
		k[n].hash = slot_name_hash(&pool->slots[i]);
		k[n++].slot = i;
	}
	qsort(k, n, sizeof(*k), slot_name_key_cmp);
	for (uint64_t i = 1; i < n && ret == 0; i++)
		for (uint64_t j = i; ret == 0 && j-- > 0 && k[j].hash == k[i].hash;) {
			const struct obj_slot *a = &pool->slots[k[j].slot], *b = &pool->slots[k[i].slot];
			if (a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len))
				ret = ERR(-EUCLEAN, "object slot %u at offset %llu: its name is also the "
					  "name of slot %u", k[i].slot,
					  (unsigned long long)slot_offset(pool, k[i].slot), k[j].slot);
		}
	free(k);
	return ret;
}

int object_load(struct daxmap_pool *pool) NO_TSA
{
	struct objtab *ot = &pool->objtab;
	int ret;

	mutex_init(&ot->lock, lockclass_objtab);
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
	if ((ret = object_check_names(pool)) < 0)
		return ret;
	return object_load_extents(pool);
}

/* Zeroes, in the pool, the bytes of [start, end) that lie in allocated extents. */
static void object_zero_bytes_locked(struct daxmap_obj *obj, uint64_t start, uint64_t end)
	REQUIRES(obj->extents_lock)
{
	struct daxmap_pool *pool = obj->pool;
	uint64_t es = pool->extent_size;

	while (start < end) {
		uint64_t e = start >> pool->extent_shift, e_end = (e + 1) * es;
		uint64_t stop = e_end < end ? e_end : end;
		uint64_t pidx = extmap_get(&obj->extmap, e);

		if (pidx != EXTMAP_NONE)
			pool_zero_persist(pool, pool_extent_addr(pool, pidx) + (start - e * es),
					  stop - start);
		start = stop;
	}
}

/* Frees every extent with index in [lo, hi). */
static void object_free_range_locked(struct daxmap_obj *obj, uint64_t lo, uint64_t hi)
	REQUIRES(obj->extents_lock)
{
	struct extmap *m = &obj->extmap;

	if (hi - lo <= m->count) {
		for (uint64_t e = lo; e < hi; e++) {
			uint64_t pidx = extmap_del(m, e);
			if (pidx != EXTMAP_NONE)
				alloc_free(obj->pool, pidx);
		}
		return;
	}
	/* a wide range over a sparse object: walk the map, not the range */
	for (uint64_t i = 0; i < m->cap; i++) {
		uint64_t e;
		if (m->keys[i] == 0 || (e = m->keys[i] - 1) < lo || e >= hi)
			continue;
		alloc_free(obj->pool, extmap_del(m, e));
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
	object_free_range_locked(obj, 0, UINT64_MAX);
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
		object_free_range_locked(obj, eof_ext, UINT64_MAX);
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
	uint64_t goal = 0;
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
	size_t len = 0;
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
	size_t len = 0;
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

static void object_set_size_locked(struct daxmap_obj *obj, uint64_t size) REQUIRES(obj->extents_lock)
{
	struct daxmap_pool *pool = obj->pool;

	pool->slots[obj->slot].size = size;
	pool_persist(pool, &pool->slots[obj->slot].size, sizeof(uint64_t));
	atomic_store(&obj->size, size);
}

/* Shrink to `size`: the part of its last extent from `size` to `zero_end`
 * reads zero, extents past it are freed. Idempotent (replay runs it again). */
static void object_shrink_locked(struct daxmap_obj *obj, uint64_t size, uint64_t zero_end)
	REQUIRES(obj->extents_lock)
{
	uint64_t es = obj->pool->extent_size;
	uint64_t first_free = (size + es - 1) >> obj->pool->extent_shift;

	object_set_size_locked(obj, size);
	if (zero_end > size)
		object_zero_bytes_locked(obj, size, zero_end);
	object_free_range_locked(obj, first_free, UINT64_MAX);
}

/* Punch [off, end): whole extents freed, the partial ends zeroed. Idempotent. */
static void object_punch_locked(struct daxmap_obj *obj, uint64_t off, uint64_t end)
	REQUIRES(obj->extents_lock)
{
	uint64_t es = obj->pool->extent_size;
	uint64_t e_lo = (off + es - 1) >> obj->pool->extent_shift;
	uint64_t e_hi = end >> obj->pool->extent_shift;

	if (e_lo >= e_hi) {
		object_zero_bytes_locked(obj, off, end);
		return;
	}
	object_zero_bytes_locked(obj, off, e_lo * es);
	object_zero_bytes_locked(obj, e_hi * es, end);
	object_free_range_locked(obj, e_lo, e_hi);
}

int object_replay(struct daxmap_pool *pool, enum log_op op, uint32_t slot, uint64_t a, uint64_t b)
{
	struct daxmap_obj *obj = pool->objtab.objs[slot];
	uint64_t size, es = pool->extent_size;

	if (!obj || obj->dying)
		return ERR(-EUCLEAN, "log record for object slot %u, which is not live", slot);
	mutex_lock(&obj->extents_lock);
	size = atomic_load(&obj->size);
	switch (op) {
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
	return 0;
}

/*
 * Grows the object from `old` to `size`; the caller holds [old, end)
 * exclusively and maps_lock shared.
 */
static void object_grow_locked(struct daxmap_obj *obj, uint64_t old, uint64_t size)
	REQUIRES_SHARED(maps_lock)
{
	uint64_t tail_end = page_up(old), e = old >> obj->pool->extent_shift, pidx;

	mutex_lock(&obj->extents_lock);
	/* bytes stored past the old EOF in its last page must read zero now
	 * that they become part of the object (as ftruncate does) */
	if (tail_end > old)
		object_zero_bytes_locked(obj, old, tail_end < size ? tail_end : size);
	object_set_size_locked(obj, size);
	pidx = extmap_get(&obj->extmap, e);
	mutex_unlock(&obj->extents_lock);
	/* pages past the old EOF may hold SIGBUS markers: clear them */
	map_zap_obj_range(obj, tail_end, page_up(size));
	/* the old last extent's mappings stopped at the old EOF: extend them */
	if (pidx != EXTMAP_NONE)
		map_extend_tail(obj, e, pidx, tail_end, page_up(size));
}

/* Checks an (off, len) argument pair: -EINVAL for len 0 or a sum that wraps,
 * -EFBIG past the maximum object size. */
static int range_check(uint64_t off, uint64_t len, const char *what)
{
	if (len == 0)
		return ERR(-EINVAL, "%s: length is 0", what);
	if (off > UINT64_MAX - len)
		return ERR(-EINVAL, "%s: offset %llu + length %llu overflows", what,
			   (unsigned long long)off, (unsigned long long)len);
	if (off + len > DAXMAP_MAX_OBJ_SIZE)
		return ERR(-EFBIG, "%s: offset %llu + length %llu beyond the maximum object size %llu",
			   what, (unsigned long long)off, (unsigned long long)len,
			   (unsigned long long)DAXMAP_MAX_OBJ_SIZE);
	return 0;
}

/* End of the range an operation must hold: to the end of everything when it
 * can move EOF, else to the end of its last extent. */
static uint64_t lock_end(struct daxmap_pool *pool, uint64_t end, int to_infinity)
{
	uint64_t es = pool->extent_size;
	return to_infinity ? DAXMAP_MAX_OBJ_SIZE + es : ((end + es - 1) / es) * es;
}

/* Releases an operation's range and hands parked faults back. */
static void object_unlock_range(struct daxmap_obj *obj, struct range_entry *re)
	RELEASE(obj->range_lock)
{
	fault_requeue(obj->pool, rangelock_unlock(&obj->range_lock, re));
}

/*
 * Each operation below holds, for its whole duration: maps_lock shared (to
 * reach every mapping), the affected object range exclusively (no fault
 * there resolves), and for metadata changes extents_lock. Mappings are torn
 * down before extents are freed; the intent is logged before the first
 * metadata word changes. doc/LOCKING.md.
 */
static int object_shrink(struct daxmap_obj *obj, uint64_t size)
{
	struct daxmap_pool *pool = obj->pool;
	uint64_t es = pool->extent_size, old, start = size & ~(es - 1);
	struct range_entry re;
	unsigned rec;
	int ret = 0;

	map_rdlock();
	rangelock_lock(&obj->range_lock, &re, start, lock_end(pool, 0, 1), 1);
	old = atomic_load(&obj->size);
	if (size < old) {
		/* no mapping may reach past the new EOF before anything is freed */
		ret = map_teardown_obj_range(obj, page_up(size), DAXMAP_MAX_OBJ_SIZE, 0);
		if (ret == 0) {
			uint64_t ext_end = start + es, zero_end = page_up(old);
			rec = log_begin(pool, LOG_OP_SHRINK, obj->slot, size, 0);
			mutex_lock(&obj->extents_lock);
			object_shrink_locked(obj, size, zero_end < ext_end ? zero_end : ext_end);
			mutex_unlock(&obj->extents_lock);
			log_end(pool, rec);
		}
	}
	object_unlock_range(obj, &re);
	map_rdunlock();
	if (ret == 0)
		fault_retry_errors(pool);
	return ret;
}

/*
 * Holds [off, end) exclusively for an operation that may move EOF to `end`,
 * to the end of everything when it does: EOF moves only under a range that
 * reaches the end. Returns whether it holds that far. A shrink that slips in
 * before the lock is taken can make a range cross EOF: then it takes the
 * lock again, to the end.
 */
static int object_lock_to(struct daxmap_obj *obj, struct range_entry *re, uint64_t off,
			  uint64_t end) REQUIRES_SHARED(maps_lock) ACQUIRE(obj->range_lock) NO_TSA
{
	uint64_t mask = ~(obj->pool->extent_size - 1);

	for (;;) {
		uint64_t size = atomic_load(&obj->size), now;
		int to_end = end > size;
		/* moving EOF touches the extent holding the old EOF too */
		uint64_t start = (to_end && size < off ? size : off) & mask;

		rangelock_lock(&obj->range_lock, re, start, lock_end(obj->pool, end, to_end), 1);
		now = atomic_load(&obj->size);
		if (!(end > now) == !to_end && (!to_end || (now & mask) >= start))
			return to_end;
		/* EOF moved before we held the range: take the right one */
		fault_requeue(obj->pool, rangelock_unlock(&obj->range_lock, re));
	}
}

static int object_grow(struct daxmap_obj *obj, uint64_t size)
{
	struct range_entry re;
	uint64_t old;

	map_rdlock();
	if (object_lock_to(obj, &re, size, size)) {
		old = atomic_load(&obj->size);
		object_grow_locked(obj, old, size);
	}
	object_unlock_range(obj, &re);
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
	return size < old ? object_shrink(obj, size) : object_grow(obj, size);
}

int daxmap_obj_punch_hole(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	struct daxmap_pool *pool;
	uint64_t es, end, size;
	struct range_entry re;
	unsigned rec;
	int ret;

	if ((ret = object_check(obj)) < 0 || (ret = range_check(off, len, "punch hole")) < 0)
		return ret;
	pool = obj->pool;
	es = pool->extent_size;
	map_rdlock();
	rangelock_lock(&obj->range_lock, &re, off & ~(es - 1), lock_end(pool, off + len, 0), 1);
	/* like FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE: nothing past EOF changes */
	size = atomic_load(&obj->size);
	end = off + len < size ? off + len : size;
	if (off < end) {
		uint64_t whole_lo = ((off + es - 1) / es) * es, whole_hi = (end / es) * es;
		/* whole extents leave every mapping before they are freed;
		 * partial ones stay mapped and are zeroed in place */
		if (whole_lo < whole_hi)
			ret = map_teardown_obj_range(obj, whole_lo, whole_hi, 1);
		if (ret == 0) {
			rec = log_begin(pool, LOG_OP_PUNCH, obj->slot, off, end);
			mutex_lock(&obj->extents_lock);
			object_punch_locked(obj, off, end);
			mutex_unlock(&obj->extents_lock);
			log_end(pool, rec);
		}
	}
	object_unlock_range(obj, &re);
	map_rdunlock();
	if (ret == 0)
		fault_retry_errors(pool);
	return ret;
}

int daxmap_obj_zero_range(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	struct daxmap_pool *pool;
	uint64_t end, size;
	struct range_entry re;
	unsigned rec;
	int ret, grows;

	if ((ret = object_check(obj)) < 0 || (ret = range_check(off, len, "zero range")) < 0)
		return ret;
	pool = obj->pool;
	end = off + len;
	map_rdlock();
	grows = object_lock_to(obj, &re, off, end);
	size = atomic_load(&obj->size);
	if (off < size) {
		/* in place: the extents stay allocated, mappings stay valid */
		uint64_t zend = end < size ? end : size;
		rec = log_begin(pool, LOG_OP_ZERO, obj->slot, off, zend);
		mutex_lock(&obj->extents_lock);
		object_zero_bytes_locked(obj, off, zend);
		mutex_unlock(&obj->extents_lock);
		log_end(pool, rec);
	}
	/* like FALLOC_FL_ZERO_RANGE without KEEP_SIZE: a range past EOF
	 * extends the object (the new part is a hole and reads zero) */
	if (grows && end > size)
		object_grow_locked(obj, size, end);
	object_unlock_range(obj, &re);
	map_rdunlock();
	return 0;
}

int daxmap_obj_allocate(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	struct daxmap_pool *pool;
	uint64_t end, pidx;
	struct range_entry re;
	int ret, grows;

	if ((ret = object_check(obj)) < 0 || (ret = range_check(off, len, "allocate")) < 0)
		return ret;
	pool = obj->pool;
	end = off + len;
	map_rdlock();
	grows = object_lock_to(obj, &re, off, end);
	for (uint64_t e = off >> pool->extent_shift; ret == 0 && (e << pool->extent_shift) < end; e++)
		ret = object_extent_alloc(obj, e, &pidx);
	/* like fallocate(2) mode 0: the size grows only when all succeeded */
	if (ret == 0 && grows && end > atomic_load(&obj->size))
		object_grow_locked(obj, atomic_load(&obj->size), end);
	object_unlock_range(obj, &re);
	map_rdunlock();
	return ret;
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
