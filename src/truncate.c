/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The range operations on an object: truncate (shrink, grow), punch hole,
 * zero range and allocate. Each sequences, for its whole duration:
 * maps_lock shared (to reach every mapping), the affected object range
 * exclusively (no fault there resolves), the teardown of mappings before
 * extents are freed, the intent log before the first metadata word changes,
 * and the metadata change itself under extents_lock (object.c). Parked
 * faults go back to the handlers (fault.c) once the range is released.
 * doc/LOCKING.md has the chart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>

#include "extmap.h"
#include "fault.h"
#include "libdaxmap.h"
#include "log.h"
#include "map.h"
#include "object.h"
#include "out.h"
#include "page.h"
#include "pool.h"
#include "rangelock.h"
#include "truncate.h"

/* takes obj->extents_lock */
void truncate_grow_locked(struct daxmap_obj *obj, uint64_t old, uint64_t size, uint64_t data_from,
			  unsigned rec)
{
	uint64_t tail_end = page_up(old), e = old >> obj->md->extent_shift, pidx;
	uint64_t ext_end = (e + 1) << obj->md->extent_shift;
	uint64_t zero_end = ext_end < size ? ext_end : size;

	if (zero_end > data_from)
		zero_end = data_from;
	mutex_lock(&obj->extents_lock);
	/* what the grow exposes of the old last extent must read zero: bytes
	 * stored past the old EOF in its last page (as ftruncate does), and
	 * the rest, which is zero unless the size word in the pool was
	 * damaged (lowered): then it holds old bytes that a grown range must
	 * not show. Only what is exposed is zeroed (an appender pays for the
	 * bytes it is about to write, once), and nothing a pwrite has just
	 * written (from data_from on). */
	if (zero_end > old)
		object_zero_bytes_locked(obj, old, zero_end);
	object_set_size_locked(obj, size);
	pidx = extmap_get(&obj->extmap, e);
	mutex_unlock(&obj->extents_lock);
	/* the grow is durable: before any other thread can store into the
	 * grown range (below), nothing may undo it any more */
	if (rec != TRUNCATE_NO_RECORD)
		log_end(obj->tab->log, rec);
	/* pages past the old EOF may hold SIGBUS markers: clear them */
	map_zap_obj_range(obj, tail_end, page_up(size));
	/* the old last extent's mappings stopped at the old EOF: extend them */
	if (pidx != EXTMAP_NONE)
		map_extend_tail(obj, e, pidx, tail_end, page_up(size));
}

/* takes the log's lock */
unsigned truncate_extend_begin(struct daxmap_obj *obj, uint64_t old)
{
	return log_begin(obj->tab->log, LOG_OP_SHRINK, obj->slot, old, 0);
}

/* takes the log's lock */
void truncate_extend_end(struct daxmap_obj *obj, unsigned rec)
{
	log_end(obj->tab->log, rec);
}

/* takes op */
void truncate_share_lock(struct daxmap_obj *obj, struct truncate_share *ts)
{
	ts->on = obj->tab->sh != NULL;
	ts->size = UINT64_MAX;
	ts->dropped = 0;
	ts->wait.n = 0;
	if (ts->on)
		shared_op_lock(obj->tab->sh);
	/* with op held, no other process moves EOF: it is stable from here */
	ts->old = atomic_load(&obj->size);
}

/* takes (object_fence) extents_lock, then meta */
void truncate_share_fence(struct daxmap_obj *obj, struct truncate_share *ts, uint64_t lo,
			  uint64_t hi, uint64_t free_lo, uint64_t free_hi, unsigned kind,
			  uint64_t req_lo, uint64_t req_hi, uint64_t size)
{
	struct shared *sh = obj->tab->sh;

	if (!ts->on)
		return;
	/* everything allocated before the fence is in our map now: what we
	 * free is all there is (a failed catch-up frees less, never more);
	 * with a request, the others drop the free range and nothing there
	 * enters their maps until the fence drops */
	(void)object_fence(obj, lo, hi, free_lo, free_hi, kind != 0);
	if (kind) {
		struct shared_req r = {.slot = obj->slot, .kind = kind, .lo = req_lo,
				       .hi = req_hi, .free_lo = free_lo, .free_hi = free_hi,
				       .size = size, .old = ts->old};
		if (kind == SHARED_REQ_SHRINK)
			ts->size = size;
		ts->dropped = 1;
		ts->free_lo = free_lo;
		ts->free_hi = free_hi;
		shared_request_send(sh, &r, &ts->wait);
	}
}

/* takes meta (between the waits) */
void truncate_share_wait(struct daxmap_obj *obj, struct truncate_share *ts)
{
	if (ts->on && ts->wait.n)
		shared_request_wait(obj->tab->sh, &ts->wait);
}

/* takes op, then (with a fence) meta */
void truncate_share_write(struct daxmap_obj *obj, struct truncate_share *ts, uint64_t end)
{
	uint64_t es = obj->md->extent_size;

	truncate_share_lock(obj, ts);
	/* a write that grows fences EOF on; its free range is what its undo
	 * record frees if its process dies before the size is durable */
	if (end > ts->old)
		truncate_share_fence(obj, ts, ts->old, UINT64_MAX, (ts->old + es - 1) / es,
				     UINT64_MAX, 0, 0, 0, 0);
}

/* takes meta, then op's release */
void truncate_share_end(struct daxmap_obj *obj, struct truncate_share *ts)
{
	struct shared *sh = obj->tab->sh;
	uint64_t now;

	if (!ts->on)
		return;
	truncate_share_wait(obj, ts); /* (an operation that had nothing to free) */
	now = obj->md->slots[obj->slot].size;
	if (now > ts->old || (ts->size != UINT64_MAX && now != ts->size)) {
		struct shared_req r = {.slot = obj->slot, .kind = SHARED_REQ_GROW,
				       .size = now, .old = ts->old};
		if (now <= ts->old)
			r.kind = SHARED_REQ_REFRESH; /* the announced shrink did not happen */
		shared_request(sh, &r);
	}
	shared_meta_lock(sh);
	/* what the others dropped and we did not free (an operation that
	 * failed, or changed less), they find again */
	if (ts->dropped)
		object_repush_range(obj->tab, obj->slot, ts->free_lo, ts->free_hi);
	shared_fence_clear(sh);
	shared_meta_unlock(sh);
	shared_op_unlock(sh);
}

int truncate_range_check(uint64_t off, uint64_t len, const char *what)
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
static uint64_t lock_end(const struct daxmap_obj *obj, uint64_t end, int to_infinity)
{
	uint64_t es = obj->md->extent_size;
	return to_infinity ? DAXMAP_MAX_OBJ_SIZE + es : ((end + es - 1) / es) * es;
}

/* takes pool->fault.retry_lock */
void truncate_unlock_range(struct daxmap_obj *obj, struct range_entry *re)
{
	fault_requeue(&obj->pool->fault, rangelock_unlock(&obj->range_lock, re));
}

/*
 * A metadata change of several words: the intent (op, la, lb) is logged
 * durably first, then change(obj, a, b) runs under extents_lock, then the
 * record is cleared. A crash in between replays the change (object_replay).
 * Takes the log's lock (briefly, twice), then obj->extents_lock.
 */
static void logged_change(struct daxmap_obj *obj, enum log_op op, uint64_t la, uint64_t lb,
			  void (*change)(struct daxmap_obj *, uint64_t, uint64_t), uint64_t a,
			  uint64_t b) EXCLUDES(obj->extents_lock)
{
	unsigned rec = log_begin(obj->tab->log, op, obj->slot, la, lb);

	mutex_lock(&obj->extents_lock);
	change(obj, a, b);
	mutex_unlock(&obj->extents_lock);
	log_end(obj->tab->log, rec);
}

static int object_shrink(struct daxmap_obj *obj, uint64_t size, struct truncate_share *ts)
{
	uint64_t es = obj->md->extent_size, old, start = size & ~(es - 1);
	struct range_entry re;
	int ret = 0;

	/* shared: misses from the new EOF on wait; the others drop what lies
	 * past it and adopt the new EOF first */
	truncate_share_fence(obj, ts, size, UINT64_MAX, (size + es - 1) / es, UINT64_MAX,
			     SHARED_REQ_SHRINK, page_up(size), UINT64_MAX, size);
	map_rdlock();
	rangelock_lock(&obj->range_lock, &re, start, lock_end(obj, 0, 1), 1);
	old = atomic_load(&obj->size);
	if (size < old) {
		/* no mapping may reach past the new EOF before anything is freed:
		 * ours (while the other processes tear down theirs), theirs */
		ret = map_teardown_obj_range(obj, page_up(size), DAXMAP_MAX_OBJ_SIZE, 0);
		truncate_share_wait(obj, ts);
		if (ret == 0) {
			uint64_t ext_end = start + es, zero_end = page_up(old);
			logged_change(obj, LOG_OP_SHRINK, size, 0, object_shrink_locked, size,
				      zero_end < ext_end ? zero_end : ext_end);
		}
	}
	truncate_unlock_range(obj, &re);
	map_rdunlock();
	if (ret == 0)
		fault_retry_errors(&obj->pool->fault);
	return ret;
}

/* A shrink that slips in before the lock is taken can make a range cross
 * EOF: then it takes the lock again, to the end. */
int truncate_lock_to(struct daxmap_obj *obj, struct range_entry *re, uint64_t off, uint64_t end)
	NO_TSA
{
	uint64_t mask = ~(obj->md->extent_size - 1);

	for (;;) {
		uint64_t size = atomic_load(&obj->size), now;
		int to_end = end > size;
		/* moving EOF touches the extent holding the old EOF too */
		uint64_t start = (to_end && size < off ? size : off) & mask;

		rangelock_lock(&obj->range_lock, re, start, lock_end(obj, end, to_end), 1);
		now = atomic_load(&obj->size);
		if (!(end > now) == !to_end && (!to_end || (now & mask) >= start))
			return to_end;
		/* EOF moved before we held the range: take the right one */
		fault_requeue(&obj->pool->fault, rangelock_unlock(&obj->range_lock, re));
	}
}

static int object_grow(struct daxmap_obj *obj, uint64_t size, struct truncate_share *ts)
{
	uint64_t es = obj->md->extent_size;
	struct range_entry re;
	uint64_t old;

	truncate_share_fence(obj, ts, ts->old, UINT64_MAX, (ts->old + es - 1) / es, UINT64_MAX, 0,
			     0, 0, 0);
	map_rdlock();
	if (truncate_lock_to(obj, &re, size, size)) {
		old = atomic_load(&obj->size);
		truncate_grow_locked(obj, old, size, size, TRUNCATE_NO_RECORD);
	}
	truncate_unlock_range(obj, &re);
	map_rdunlock();
	return 0;
}

int daxmap_obj_truncate(daxmap_obj *obj, uint64_t size)
{
	struct truncate_share ts;
	uint64_t old;
	int ret;

	if ((ret = object_check(obj)) < 0)
		return ret;
	if (size > DAXMAP_MAX_OBJ_SIZE)
		return ERR(-EFBIG, "size %llu beyond the maximum object size %llu",
			   (unsigned long long)size, (unsigned long long)DAXMAP_MAX_OBJ_SIZE);
	truncate_share_lock(obj, &ts);
	old = ts.old;
	if (size != old)
		ret = size < old ? object_shrink(obj, size, &ts) : object_grow(obj, size, &ts);
	truncate_share_end(obj, &ts);
	return ret;
}

int daxmap_obj_punch_hole(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	uint64_t es, end, size;
	struct truncate_share ts;
	struct range_entry re;
	int ret;

	if ((ret = object_check(obj)) < 0 || (ret = truncate_range_check(off, len, "punch hole")) < 0)
		return ret;
	es = obj->md->extent_size;
	truncate_share_lock(obj, &ts);
	end = off + len < ts.old ? off + len : ts.old;
	if (off < end) {
		/* shared: the others drop and tear down the whole extents first */
		uint64_t wlo = (off + es - 1) / es, whi = end / es;
		truncate_share_fence(obj, &ts, off, end, wlo, whi > wlo ? whi : wlo,
				     whi > wlo ? SHARED_REQ_PUNCH : 0, wlo * es, whi * es, 0);
	}
	map_rdlock();
	rangelock_lock(&obj->range_lock, &re, off & ~(es - 1), lock_end(obj, off + len, 0), 1);
	/* like FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE: nothing past EOF changes */
	size = atomic_load(&obj->size);
	end = off + len < size ? off + len : size;
	if (off < end) {
		uint64_t whole_lo = ((off + es - 1) / es) * es, whole_hi = (end / es) * es;
		/* whole extents leave every mapping before they are freed;
		 * partial ones stay mapped and are zeroed in place */
		if (whole_lo < whole_hi)
			ret = map_teardown_obj_range(obj, whole_lo, whole_hi, 1);
		truncate_share_wait(obj, &ts); /* the other processes' too */
		if (ret == 0)
			logged_change(obj, LOG_OP_PUNCH, off, end, object_punch_locked, off, end);
	}
	truncate_unlock_range(obj, &re);
	map_rdunlock();
	truncate_share_end(obj, &ts);
	if (ret == 0)
		fault_retry_errors(&obj->pool->fault);
	return ret;
}

int daxmap_obj_zero_range(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	uint64_t end, size;
	struct truncate_share ts;
	struct range_entry re;
	int ret, grows;

	if ((ret = object_check(obj)) < 0 || (ret = truncate_range_check(off, len, "zero range")) < 0)
		return ret;
	end = off + len;
	/* shared: nothing is freed; a miss in the range (or past EOF, when it
	 * grows) waits */
	truncate_share_lock(obj, &ts);
	truncate_share_fence(obj, &ts, off, end > ts.old ? UINT64_MAX : end, 0, 0, 0, 0, 0, 0);
	map_rdlock();
	grows = truncate_lock_to(obj, &re, off, end);
	size = atomic_load(&obj->size);
	if (off < size) {
		/* in place: the extents stay allocated, mappings stay valid */
		uint64_t zend = end < size ? end : size;
		logged_change(obj, LOG_OP_ZERO, off, zend, object_zero_bytes_locked, off, zend);
	}
	/* like FALLOC_FL_ZERO_RANGE without KEEP_SIZE: a range past EOF
	 * extends the object (the new part is a hole and reads zero) */
	if (grows && end > size)
		truncate_grow_locked(obj, size, end, end, TRUNCATE_NO_RECORD);
	truncate_unlock_range(obj, &re);
	map_rdunlock();
	truncate_share_end(obj, &ts);
	return 0;
}

int daxmap_obj_allocate(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	uint64_t end, pidx;
	struct truncate_share ts;
	struct range_entry re;
	int ret, grows;

	if ((ret = object_check(obj)) < 0 || (ret = truncate_range_check(off, len, "allocate")) < 0)
		return ret;
	end = off + len;
	truncate_share_write(obj, &ts, end);
	map_rdlock();
	grows = truncate_lock_to(obj, &re, off, end);
	for (uint64_t e = off >> obj->md->extent_shift; ret == 0 && (e << obj->md->extent_shift) < end; e++)
		ret = object_extent_alloc(obj, e, &pidx);
	/* like fallocate(2) mode 0: the size grows only when all succeeded */
	if (ret == 0 && grows && end > atomic_load(&obj->size))
		truncate_grow_locked(obj, atomic_load(&obj->size), end, end, TRUNCATE_NO_RECORD);
	if (ret == -ENOSPC) {
		/* what stays allocated: the extents from off up to the first hole */
		const struct obj_slot *slot = &obj->md->slots[obj->slot];
		uint64_t e = off >> obj->md->extent_shift, upto;
		char got[OUT_SIZE_MAX], want[OUT_SIZE_MAX];

		while ((e << obj->md->extent_shift) < end && object_extent_get(obj, e) != EXTMAP_NONE)
			e++;
		upto = e << obj->md->extent_shift > off ? e << obj->md->extent_shift : off;
		ret = ERR(-ENOSPC, "object \"%.*s\": allocate of %s at offset %llu: pool %s is "
				   "full; %s of it are allocated and stay so (the size is unchanged)",
			  (int)slot->name_len, slot->name, out_size(want, len),
			  (unsigned long long)off, obj->md->path, out_size(got, upto - off));
	}
	truncate_unlock_range(obj, &re);
	map_rdunlock();
	truncate_share_end(obj, &ts);
	return ret;
}

