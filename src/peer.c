/* SPDX-License-Identifier: BSD-3-Clause */
/* Requests of other processes, fence drops, recovery of a dead process's operation (peer.h). */
#define _GNU_SOURCE
#include "peer.h"

#include "libdaxmap.h"
#include "map.h"
#include "out.h"
#include "page.h"
#include "rangelock.h"

static void peer_adopt_size(struct daxmap_obj *obj, uint64_t size)
{
	mutex_lock(&obj->extents_lock);
	atomic_store(&obj->size, size);
	mutex_unlock(&obj->extents_lock);
}

/* The operation that sent r is still in progress: its fence is up (a
 * request goes out only with it, and a first open waits while it is).
 * Takes meta. */
static int peer_request_current(struct shared *sh, const struct shared_req *r)
{
	const struct shared_fence *f = &sh->run->fence;
	int cur;

	shared_meta_lock(sh);
	cur = f->active && f->slot == r->slot && sh->run->req.seq == r->seq;
	shared_meta_unlock(sh);
	return cur;
}

/* r for this process: from another's request (`check`: only while its
 * operation is in progress), or a recovery's own step.
 * takes maps_lock shared, the object's range, then its extents_lock */
static void peer_apply(struct peer *pe, const struct shared_req *r, int check)
{
	struct daxmap_obj *obj = object_get_opened(pe->tab, r->slot);
	uint64_t es, lo, hi, size;
	struct range_entry re;
	int ret = 0;

	/* not open here: it is loaded afresh when it is (object_open); a
	 * request whose operation is over (we took long, and its sender gave
	 * up on us once we had closed the object) is not ours any more */
	if (!obj)
		return;
	if (check && !peer_request_current(pe->sh, r)) {
		object_unpin(obj);
		return;
	}
	es = obj->md->extent_size;
	hi = r->hi < DAXMAP_MAX_OBJ_SIZE ? r->hi : DAXMAP_MAX_OBJ_SIZE;
	lo = r->kind == SHARED_REQ_GROW ? r->old : r->lo;
	map_rdlock();
	/* what the request changes, as our own operation would hold it: a
	 * change of EOF to the end of everything */
	rangelock_lock(&obj->range_lock, &re, (lo < hi ? lo : hi) & ~(es - 1),
		       r->kind == SHARED_REQ_PUNCH ? ((hi + es - 1) / es) * es
						   : DAXMAP_MAX_OBJ_SIZE + es,
		       1);
	switch (r->kind) {
	case SHARED_REQ_PUNCH:
		if (r->lo < hi)
			ret = map_teardown_obj_range(obj, r->lo, hi, 1);
		break;
	case SHARED_REQ_SHRINK:
		peer_adopt_size(obj, r->size);
		ret = map_teardown_obj_range(obj, r->lo, DAXMAP_MAX_OBJ_SIZE, 0);
		break;
	case SHARED_REQ_GROW:
		peer_adopt_size(obj, r->size);
		map_zap_obj_range(obj, page_up(r->old), page_up(r->size));
		break;
	case SHARED_REQ_REFRESH:
		if (r->lo < hi)
			ret = map_teardown_obj_range(obj, r->lo, hi, 0);
		size = obj->md->slots[r->slot].size;
		peer_adopt_size(obj, size);
		map_zap_obj_range(obj, 0, page_up(size));
		break;
	default:
		break;
	}
	/* (after the teardown: it tells our mappings' pool pages by the map) */
	if (r->free_lo < r->free_hi)
		object_forget_range(obj, r->free_lo, r->free_hi);
	fault_requeue(pe->fault, rangelock_unlock(&obj->range_lock, &re));
	map_rdunlock();
	object_unpin(obj);
	if (ret < 0)
		LOG(OUT_ERROR, "pool %s: the change of object slot %u by another process left a "
			       "mapping here in place: %s", pe->path, r->slot, daxmap_errormsg());
}

void peer_handle(void *arg, const struct shared_req *r)
{
	peer_apply(arg, r, 1);
}

void peer_fence_dropped(void *arg)
{
	struct peer *pe = arg;

	fault_release_fenced(pe->fault);
}

/* takes meta; then as peer_handle; the log's lock; extents_lock */
void peer_recover(void *arg)
{
	struct peer *pe = arg;
	struct shared *sh = pe->sh;
	struct shared_fence f;
	int ret;

	shared_meta_lock(sh);
	f = sh->run->fence;
	if (f.active)
		shared_fence_adopt(sh);
	shared_meta_unlock(sh);
	LOG(OUT_NOTICE, "pool %s: a process died in the middle of an operation%s: recovering it",
	    pe->path, f.active ? " on an object" : "");
	object_table_catch_up(pe->tab);
	if (f.active) {
		/* nothing its operation may free stays mapped or known anywhere */
		struct shared_req r = {.slot = f.slot, .kind = SHARED_REQ_REFRESH,
				       .lo = f.lo & ~((uint64_t)page_size() - 1), .hi = f.hi,
				       .free_lo = f.free_lo, .free_hi = f.free_hi};
		peer_apply(pe, &r, 0);
		shared_request(sh, &r);
	}
	/* its logged record, if any, finishes the operation (idempotent, as
	 * at open); then everyone adopts the size it left */
	if ((ret = log_replay(pe->log, object_replay, pe->tab)) < 0)
		LOG(OUT_ERROR, "pool %s: recovery of a dead process's operation failed: %s",
		    pe->path, daxmap_errormsg());
	if (f.active) {
		struct shared_req r = {.slot = f.slot, .kind = SHARED_REQ_REFRESH};
		peer_apply(pe, &r, 0);
		shared_request(sh, &r);
		shared_meta_lock(sh);
		/* what was dropped and not freed, the others find again */
		object_repush_range(pe->tab, f.slot, f.free_lo, f.free_hi);
		shared_fence_clear(sh);
		shared_meta_unlock(sh);
	}
}
