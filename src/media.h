/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool's media: the pool file, mapped whole (a fixed-size pool, with
 * libpmem) or inside a mapping of its maximum size (a growable one, so that
 * a grow extends it in place), its geometry (from the validated header) and
 * the persistence primitives every module uses. Also whether the handle is
 * still usable (not inherited by fork). Everything here is set once at open
 * and read-only afterwards, except `forked` (set in a fork child, where
 * nothing else runs yet), `detach`, and `size`/`npresent`, which only grow
 * (media_grow).
 */
#ifndef DAXMAP_MEDIA_H
#define DAXMAP_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

struct pool_media {
	char *path;
	int fd;          /* O_RDWR; holds the flock that makes us the only opener (pool.c) */
	char *base;      /* the whole file: mapped by pmem_map_file (fixed size), or
			    by mmap over the maximum size (growable) */
	size_t mapped_len; /* the file's maximum size (a fixed pool's size) */
	int is_pmem;     /* 1: persistence is cache flushes, 0: msync */
	int growable;    /* format version 2: cur_size and grow_to in the header, and
			    base is our mmap of mapped_len bytes, not libpmem's */
	_Atomic uint64_t size;     /* the file's size now (grows: media_grow) */
	_Atomic uint64_t npresent; /* extents inside it: those allocation may use */

	struct pool_hdr *hdr;
	struct obj_slot *slots;
	uint64_t *exttab;
	uint64_t data_off, extent_size, nextents;
	unsigned extent_shift;
	uint32_t max_objects;
	int forked; /* set in a child after fork: the handle is dead there */
	int shared; /* opened shared: another process may write any extent, so
		       every hull is MEDIA_EXPOSED (a free clears it whole) */
	int tmpfs;  /* the file lives on tmpfs (its size is memory already committed) */
	_Atomic int detach; /* 1 while the file system punches holes: freed extents
			       leave the file (media_clear); 0 once it refused */
	/* per pool extent, in memory only: its bytes from this offset on are
	 * zero (the extent was only ever written by pwrite, up to there), or
	 * MEDIA_EXPOSED once a mapping of the application mapped it (then a
	 * kernel reference may outlive the mapping, and only a punch detaches
	 * the pages it holds). Set at open: 0 for free zeroed extents,
	 * MEDIA_EXPOSED for every other. */
	_Atomic uint32_t *hull;
	/* version 3: the blocks, seen as a media of their own (blk): the same
	 * file, base and data area, with 64 KiB units, the block table for its
	 * extent table and a hull per block; objects made of blocks use it
	 * (and its allocator) where others use the whole. In that view, blk is
	 * NULL and whole points back; in the whole, whole is NULL. */
	struct pool_media *blk;
	struct pool_media *whole;
};

#define MEDIA_EXPOSED UINT32_MAX

/* A media with no file yet: fd -1, path copied. -ENOMEM. */
int media_init(struct pool_media *md, const char *path);
/*
 * Validates the header of the open file md->fd and maps the file whole;
 * fills the geometry. Errors as daxmap_pool_open (-EINVAL not a pool,
 * -EUCLEAN damaged header, -EPROTONOSUPPORT, mapping errors).
 */
int media_map(struct pool_media *md);
/* The block view of a version 3 pool (md->blk), after media_map. -ENOMEM. */
int media_map_blocks(struct pool_media *md);
/* Unmaps and closes what media_map and the opener set up; frees the path.
 * Safe on a media that got only part of the way. */
void media_fini(struct pool_media *md);
/* In a fork child: the handle is dead; the file is closed so that the pool
 * lock goes away with the parent. */
void media_forget_child(struct pool_media *md);

/* -EINVAL with a message when the handle was inherited across fork. */
int media_usable(const struct pool_media *md);

/*
 * Grows the pool file to new_size bytes (more than now, at most the
 * maximum), durably and crash-safe: grow_to is recorded, the file extended
 * (fallocate: the new extents read zero, and their table entries are zero
 * already: free and zeroed), synced, cur_size committed with one 8-byte
 * store, grow_to cleared. A crash leaves the old size or the new one
 * (media_map finishes or undoes it). Then md->size and md->npresent move;
 * the caller hands the new extents to the allocator. On failure (-ENOSPC:
 * the file system is full) the file is cut back: nothing changed. The
 * caller serialises grows; no lock is taken here.
 */
int media_grow(struct pool_media *md, uint64_t new_size);

/* Instantiates every data page of the pool now (the prefault option). */
void media_prefault(const struct pool_media *md);

/* Makes [addr, addr+len) of the pool mapping durable. */
void media_persist(const struct pool_media *md, const void *addr, size_t len);
/* Zeroes [addr, addr+len) of the pool mapping and makes the zeros durable. */
void media_zero_persist(const struct pool_media *md, void *addr, size_t len);

/*
 * Makes extents [idx, idx+n) read zero, for reuse by another object. Where
 * the file system can, their pages leave the file (a punched hole), so a
 * kernel reference that outlives every mapping of them (a pipe, an io_uring
 * buffer, direct I/O in flight) keeps a detached page and can never reach
 * the next owner; then the space is reserved again. Durable only after
 * media_sync(). Where the file system cannot punch, the bytes are zeroed in
 * place, durably. Returns 1 (detached), 0 (zeroed in place), or a negative
 * error (the space could not be reserved again: the extents must stay out
 * of use). Takes no lock; the extents must be nobody's.
 */
int media_clear(struct pool_media *md, uint64_t idx, uint64_t n);
/* Makes the file system's record of media_clear's holes durable. */
int media_sync(const struct pool_media *md);
/*
 * Instantiates the pages of extents [idx, idx+n), so that mapping them
 * later costs no page allocation. They must be free, zeroed and nobody's
 * while it runs (on tmpfs their zeros are written again). Between steps of
 * 128 KiB it asks pause(arg), which may wait, and stops when that returns
 * nonzero. Returns 1 when all of it is warm, 0 when it stopped or failed.
 * No lock held.
 */
int media_warm(const struct pool_media *md, uint64_t idx, uint64_t n,
	       int (*pause)(void *arg), void *arg);
/* Its steps, for a caller that must hold a lock around each (a shared pool:
 * the extent must still be free when its zeros are written): the bytes
 * [off, off+step) of the pool file (step <= MEDIA_WARM_STEP), 0 or -1; then
 * the end of warming extents [idx, idx+n). */
#define MEDIA_WARM_STEP (UINT64_C(128) << 10)
int media_warm_step(const struct pool_media *md, uint64_t off, size_t step);
void media_warm_done(const struct pool_media *md, uint64_t idx, uint64_t n);

/*
 * Sets bit i of `bits` for each extent whose pages all exist already (on
 * tmpfs, where a file's written pages are its data and fallocated or
 * punched ones its holes: SEEK_DATA tells them apart); elsewhere sets
 * none. For open: what an earlier run left warm need not be warmed again.
 */
void media_find_warm(const struct pool_media *md, uint64_t *bits);

/* Pool extent idx's bytes up to `end` may be nonzero now (a pwrite wrote
 * them through the pool mapping); nothing once it is exposed. */
void media_hull_written(const struct pool_media *md, uint64_t idx, uint64_t end);
/* Pool extents [idx, idx+n) are mapped into an application mapping. */
void media_hull_expose(const struct pool_media *md, uint64_t idx, uint64_t n);
/* Extent idx reads zero again (cleared): its hull is empty. */
void media_hull_reset(const struct pool_media *md, uint64_t idx);
/*
 * Clears extent idx in place when no application mapping ever mapped it:
 * zeroes the bytes its pwrites wrote (durably) and drops the pool
 * mapping's page-table entries over them; its pages stay. No kernel
 * reference to its pages can exist (none was ever mapped where one could
 * be taken), so nothing needs detaching. Returns 1 when it did so, 0 when
 * the extent was exposed (the caller punches it: media_clear). No lock.
 */
int media_clear_unexposed(struct pool_media *md, uint64_t idx);

/* Address of pool extent idx in the pool mapping. */
static inline char *media_extent_addr(const struct pool_media *md, uint64_t idx)
{
	return md->base + md->data_off + (idx << md->extent_shift);
}

/* File offset of byte `off` of pool extent idx. */
static inline uint64_t media_extent_off(const struct pool_media *md, uint64_t idx, uint64_t off)
{
	return md->data_off + (idx << md->extent_shift) + off;
}

#endif
