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

/* takes maps_lock shared, the object's range, then its extents_lock */
void peer_handle(void *arg, const struct shared_req *r)
{
	struct peer *pe = arg;
	struct daxmap_obj *obj = object_get_opened(pe->tab, r->slot);
	uint64_t es, lo, hi, size;
	struct range_entry re;
	int ret = 0;

	/* not open here: it is loaded afresh when it is (object_open) */
	if (!obj)
		return;
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
	if (ret < 0)
		LOG(OUT_ERROR, "pool %s: the change of object slot %u by another process left a "
			       "mapping here in place: %s", pe->path, r->slot, daxmap_errormsg());
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
		peer_handle(pe, &r);
		shared_request(sh, &r);
	}
	/* its logged record, if any, finishes the operation (idempotent, as
	 * at open); then everyone adopts the size it left */
	if ((ret = log_replay(pe->log, object_replay, pe->tab)) < 0)
		LOG(OUT_ERROR, "pool %s: recovery of a dead process's operation failed: %s",
		    pe->path, daxmap_errormsg());
	if (f.active) {
		struct shared_req r = {.slot = f.slot, .kind = SHARED_REQ_REFRESH};
		peer_handle(pe, &r);
		shared_request(sh, &r);
		shared_meta_lock(sh);
		/* what was dropped and not freed, the others find again */
		object_repush_range(pe->tab, f.slot, f.free_lo, f.free_hi);
		shared_fence_clear(sh);
		shared_meta_unlock(sh);
	}
}
