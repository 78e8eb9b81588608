/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mappings: address-space reservation, registration with the pool's
 * userfaultfd, the process-wide registry of live mappings, mapping pool
 * pages into them (map_pool_pages: the one place that does), teardown,
 * persist, and what a fork does to them.
 */
#ifndef DAXMAP_MAP_H
#define DAXMAP_MAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lock.h"
#include "object.h"

struct dm_mapping {
	char *va;          /* start, aligned so that va - obj_off is extent aligned
			      (for extents up to the reservation alignment) */
	size_t len;        /* page multiple */
	uint64_t obj_off;  /* object offset mapped at va */
	int prot;          /* PROT_NONE, PROT_READ or PROT_READ|PROT_WRITE; changed by
			      daxmap_mprotect only, under maps_lock exclusive */
	struct daxmap_obj *obj;
	struct daxmap_pool *pool;  /* obj->pool: which handle's faults these are (identity) */
	uint64_t first_ext; /* object extent index of va */
	/* bit i: object extent first_ext+i is mapped to the pool in this mapping
	 * over its whole part inside the mapping; set and cleared with that
	 * extent's range held exclusively, or, by daxmap_map before the
	 * mapping is known to anyone, with maps_lock exclusive (no range held) */
	_Atomic uint64_t *resolved;
	_Atomic uint64_t poisoned; /* pages answered with UFFDIO_POISON (sticky markers) */
	dev_t pool_dev;   /* the pool file, to tell its pages from other memory */
	ino_t pool_ino;
};

/* protects: the registry of live mappings. Shared: fault resolution, persist,
 * size changes; exclusive: map, unmap, fork. */
extern struct dm_rwlock maps_lock;

void map_rdlock(void) ACQUIRE_SHARED(maps_lock);
void map_rdunlock(void) RELEASE_SHARED(maps_lock);

/* The mapping containing addr, or NULL. */
struct dm_mapping *map_lookup(const void *addr) REQUIRES_SHARED(maps_lock);

/* Clips object range [*lo, *hi) to mapping m; 0 when nothing of it is in m. */
static inline int map_clip(const struct dm_mapping *m, uint64_t *lo, uint64_t *hi)
{
	if (*lo < m->obj_off)
		*lo = m->obj_off;
	if (*hi > m->obj_off + m->len)
		*hi = m->obj_off + m->len;
	return *lo < *hi;
}

/*
 * Maps the pool pages of extent pidx (object extent starting at object
 * offset estart) over object range [lo, hi) of mapping m, MADV_DONTFORK,
 * populated when `populate` (else the first touch of each page is the
 * kernel's minor fault). [lo, hi) may run on into the following extents
 * when they follow pidx in the pool too. Errors: -EUCLEAN (extent outside
 * the pool), the mmap's (-ENOMEM names the VMA limit and how to raise it).
 */
int map_pool_pages(struct dm_mapping *m, uint64_t pidx, uint64_t estart, uint64_t lo,
		   uint64_t hi, int populate);

/* MADV_DONTNEED of [addr, addr+len) where a mapping still owns it (a page
 * poisoned for an error, to fault afresh); nothing where no mapping covers
 * it or the application put memory of its own there. */
void map_zap_pages(const void *addr, size_t len) REQUIRES_SHARED(maps_lock);

/* Clears page-table state (poison markers, zero pages of hole reads) of
 * every mapping of obj over object range [start, end), so that the next
 * access faults again. Caller holds the range exclusively. */
void map_zap_obj_range(struct daxmap_obj *obj, uint64_t start, uint64_t end)
	REQUIRES_SHARED(maps_lock);

/*
 * Turns object range [start, end) (page aligned) of every mapping of obj
 * back into fault-on-touch. in_place 0 (shrink): atomically for concurrent
 * accesses, a fresh registered range is moved over it with mremap(); the
 * caller holds no other object lock (a handler must be free to read the
 * remap event that the mremap waits for). in_place 1 (punch): replaced where
 * it is, so it merges with its neighbours (see map.c for why that is safe
 * for a punch). Caller holds the range exclusively.
 */
int map_teardown_obj_range(struct daxmap_obj *obj, uint64_t start, uint64_t end, int in_place)
	REQUIRES_SHARED(maps_lock);

/*
 * Extent e of obj is now mapped to the pool in mapping `except` (or, with
 * except NULL, was written through the pool by a pwrite): drop the zeros of
 * hole reads that other mappings still show for it, so their next access
 * maps the pool too. Caller holds e's range exclusively.
 */
void map_drop_zero_copies(struct daxmap_obj *obj, uint64_t e, struct dm_mapping *except)
	REQUIRES_SHARED(maps_lock);

/*
 * The object grew: in every mapping of obj, map the pool pages of its old
 * last extent pidx (index e) over [from, to) (page aligned, cut at the end
 * of the extent), so that an object growing a page at a time does not take
 * one fault per page. Caller holds e's range exclusively.
 */
void map_extend_tail(struct daxmap_obj *obj, uint64_t e, uint64_t pidx, uint64_t from,
		     uint64_t to) REQUIRES_SHARED(maps_lock);

/*
 * The application moved [from, from+len) of registered memory to `to` with
 * mremap (a UFFD_EVENT_REMAP, or one of our own teardowns: those come from
 * no mapping and change nothing). Any thread, no lock: noted for
 * map_apply_moves.
 */
void map_note_move(uintptr_t from, uintptr_t to, size_t len);
/* Around every read() of a uffd and the note of what it read: a change of
 * the registry waits until no thread is between the two. */
void map_note_begin(void);
void map_note_end(void);
/* Whether noted moves wait to be applied, or a move may be being noted. */
int map_moves_pending(void);
/* Applies the noted moves to the registry if maps_lock is free (a trylock:
 * never waits; call with no lock held). Takes maps_lock (exclusive), then
 * pool->objtab.lock. */
void map_apply_moves(void);

/* pthread_atfork hooks (installed by pool.c). */
void map_fork_prepare(void) ACQUIRE(maps_lock);
void map_fork_parent(void) RELEASE(maps_lock);
void map_fork_child(void) RELEASE(maps_lock);

static inline int map_test_resolved(struct dm_mapping *m, uint64_t e)
{
	uint64_t b = e - m->first_ext;
	return (atomic_load_explicit(&m->resolved[b >> 6], memory_order_acquire) >> (b & 63)) & 1;
}

static inline void map_set_resolved(struct dm_mapping *m, uint64_t e)
{
	uint64_t b = e - m->first_ext;
	atomic_fetch_or_explicit(&m->resolved[b >> 6], UINT64_C(1) << (b & 63), memory_order_release);
}

static inline void map_clear_resolved(struct dm_mapping *m, uint64_t e)
{
	uint64_t b = e - m->first_ext;
	atomic_fetch_and_explicit(&m->resolved[b >> 6], ~(UINT64_C(1) << (b & 63)),
				  memory_order_release);
}

#endif
