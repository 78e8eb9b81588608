/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * read(2)/write(2) of an object: daxmap_obj_pread and daxmap_obj_pwrite,
 * as fs-dax offers beside mmap (the kernel's dax_iomap_rw). They copy
 * through the library's own mapping of the pool (media's base), which no
 * userfaultfd watches, so they never take a fault of ours; they hold the
 * object's range lock as faults and truncate.c's operations do, so they
 * are serialised against truncate, punch and zero range; they are coherent
 * with every mapping of the object: a mapping that is resolved shows the
 * same pool pages, and the zero copies of a hole read are dropped once a
 * pwrite allocated the extent. doc/LOCKING.md has the nesting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libpmem.h>
#include <stdlib.h>
#include <string.h>

#include "extmap.h"
#include "libdaxmap.h"
#include "map.h"
#include "media.h"
#include "object.h"
#include "out.h"
#include "rangelock.h"
#include "truncate.h"

/* Copies to the pool at least this large use non-temporal stores: they do
 * not evict the caller's cache for data it is unlikely to read back soon.
 * Small ones (a database page) stay cached: a later read is cheaper. */
#define IO_NT_MIN (UINT64_C(64) << 10)

/* A buffer that lies in a daxmap mapping is copied through this much of a
 * bounce buffer at a time (see io_buf_mapped). */
#define IO_BOUNCE (UINT64_C(256) << 10)

/*
 * Whether buf (either end) lies in a daxmap mapping. Copying to or from one
 * may fault, and its fault may need a range this call holds (the same
 * object's, or another one's held by a call that waits for ours): such a
 * buffer is copied through a bounce buffer with no range held.
 */
static int io_buf_mapped(const void *buf, size_t len) REQUIRES_SHARED(maps_lock)
{
	return map_lookup(buf) != NULL || map_lookup((const char *)buf + len - 1) != NULL;
}

/* Checks shared by both calls; 1: nothing to do (len 0). */
static int io_check(daxmap_obj *obj, const void *buf, size_t len, const char *what)
{
	int ret;

	if ((ret = object_check(obj)) < 0)
		return ret;
	if (!buf)
		return ERR(-EINVAL, "%s: buffer is NULL", what);
	return len == 0;
}

/*
 * Reads [off, off+len) below EOF; the caller holds maps_lock shared. Takes
 * the range [off, off+len) rounded to extents shared (readers run together;
 * faults and writers there wait), then obj->extents_lock per extent for the
 * lookup.
 */
static ssize_t io_read_locked(daxmap_obj *obj, char *buf, uint64_t len, uint64_t off)
	REQUIRES_SHARED(maps_lock)
{
	const struct pool_media *md = obj->md;
	uint64_t es = md->extent_size, end = off + len, size, pos;
	struct range_entry re;

	size = atomic_load(&obj->size);
	if (off >= size)
		return 0;
	if (end > size)
		end = size;
	rangelock_lock(&obj->range_lock, &re, off & ~(es - 1), ((end + es - 1) / es) * es, 0);
	/* EOF again under the range: a shrink reaching our range waited for us
	 * or we for it; one below it leaves EOF past our end */
	size = atomic_load(&obj->size);
	if (end > size)
		end = size;
	for (pos = off; pos < end;) {
		uint64_t e = pos >> md->extent_shift, e_end = (e + 1) * es;
		uint64_t n = (e_end < end ? e_end : end) - pos;
		uint64_t pidx = object_extent_get(obj, e);

		if (pidx == EXTMAP_NONE)
			memset(buf + (pos - off), 0, n);
		else
			memcpy(buf + (pos - off), media_extent_addr(md, pidx) + (pos - e * es), n);
		pos += n;
	}
	truncate_unlock_range(obj, &re);
	return pos > off ? (ssize_t)(pos - off) : 0;
}

/* Copies n bytes to pool address dst; returns whether it used
 * non-temporal stores (they need a pmem_drain before others may see them). */
static int io_copy_to_pool(char *dst, const char *src, uint64_t n)
{
	if (n < IO_NT_MIN) {
		memcpy(dst, src, n);
		return 0;
	}
	pmem_memcpy(dst, src, n, PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_NOFLUSH);
	return 1;
}

/*
 * Writes [off, off+len); the caller holds maps_lock shared. Takes the range
 * exclusively (to the end of everything when it extends EOF:
 * truncate_lock_to), then, per extent, obj->extents_lock and the
 * allocator's lock for a hole (object_extent_alloc); the size change takes
 * extents_lock once more.
 */
static ssize_t io_write_locked(daxmap_obj *obj, const char *buf, uint64_t len, uint64_t off,
			       int flags) REQUIRES_SHARED(maps_lock)
{
	const struct pool_media *md = obj->md;
	uint64_t es = md->extent_size, end = off + len, pos, size;
	struct range_entry re;
	int ret = 0, grows, nt = 0;
	unsigned rec = 0;

	grows = truncate_lock_to(obj, &re, off, end);
	size = atomic_load(&obj->size);
	/* bytes past EOF are durable before the size that covers them: until
	 * the size is, a crash undoes the write past EOF (the record's shrink) */
	if (grows)
		rec = truncate_extend_begin(obj, size);
	for (pos = off; pos < end;) {
		uint64_t e = pos >> md->extent_shift, e_end = (e + 1) * es;
		uint64_t n = (e_end < end ? e_end : end) - pos, pidx;
		char *dst;

		/* a hole gets a zeroed extent, recorded durably before we use it:
		 * a crash leaves zeros or our bytes there, never stale ones */
		if ((ret = object_extent_alloc(obj, e, &pidx)) < 0)
			break;
		/* mappings that read the hole show anonymous zeros: drop them, so
		 * that their next load faults and maps the pool pages (it waits
		 * for our range); resolved mappings show the pool already */
		map_drop_zero_copies(obj, e, NULL);
		dst = media_extent_addr(md, pidx) + (pos - e * es);
		/* what a free of the extent must zero, if no mapping exposes it
		 * (before the copy: a copy cut short has written some of it) */
		media_hull_written(md, pidx, (pos - e * es) + n);
		nt |= io_copy_to_pool(dst, buf + (pos - off), n);
		/* the data is durable before the size that makes it reachable */
		if (flags & DAXMAP_DSYNC)
			media_persist(md, dst, n);
		pos += n;
	}
	if (nt)
		pmem_drain(); /* non-temporal stores are ordered before the range is released */
	/* after a short count n, the size is max(old size, off + n); an error
	 * before the first byte changes nothing */
	if (grows && pos > off && pos > size)
		truncate_grow_locked(obj, size, pos, off, rec); /* ends the record */
	else if (grows)
		truncate_extend_end(obj, rec);
	truncate_unlock_range(obj, &re);
	if (pos > off)
		return (ssize_t)(pos - off);
	return ret;
}

/* takes maps_lock shared */
static ssize_t io_read(daxmap_obj *obj, char *buf, uint64_t len, uint64_t off)
{
	ssize_t n;

	map_rdlock();
	n = io_read_locked(obj, buf, len, off);
	map_rdunlock();
	return n;
}

/*
 * A write as one operation of a shared pool (truncate.h: op, and a fence
 * from EOF on when it grows), or of any pool with nothing more. With
 * `mapped` non-NULL, a buffer in a daxmap mapping is not written: *mapped
 * says so (bounce it). Takes op, then maps_lock shared.
 */
static ssize_t io_write_shared(daxmap_obj *obj, const char *buf, uint64_t len, uint64_t off,
			       int flags, int *mapped)
{
	struct truncate_share ts;
	ssize_t n = 0;

	truncate_share_write(obj, &ts, off + len);
	map_rdlock();
	if (mapped)
		*mapped = io_buf_mapped(buf, len);
	if (!mapped || !*mapped)
		n = io_write_locked(obj, buf, len, off, flags);
	map_rdunlock();
	truncate_share_end(obj, &ts);
	return n;
}

/* The calls for a buffer in a daxmap mapping: through a bounce buffer, a
 * chunk at a time, each chunk a call of its own, with no lock held while
 * the caller's buffer is touched. Takes maps_lock shared per chunk. */
static ssize_t io_bounced(daxmap_obj *obj, char *buf, uint64_t len, uint64_t off, int flags,
			  int write)
{
	char *bounce = malloc(IO_BOUNCE);
	uint64_t done = 0;
	ssize_t n = 0;

	if (!bounce)
		return ERR(-ENOMEM, "out of memory for a bounce buffer");
	while (done < len) {
		uint64_t want = len - done < IO_BOUNCE ? len - done : IO_BOUNCE;

		if (write)
			memcpy(bounce, buf + done, want);
		n = write ? io_write_shared(obj, bounce, want, off + done, flags, NULL)
			  : io_read(obj, bounce, want, off + done);
		if (n <= 0)
			break;
		if (!write)
			memcpy(buf + done, bounce, (size_t)n);
		done += (uint64_t)n;
		if ((uint64_t)n < want)
			break;
	}
	free(bounce);
	return done > 0 ? (ssize_t)done : n;
}

/* takes maps_lock shared, then (io_read_locked) the range shared */
ssize_t daxmap_obj_pread(daxmap_obj *obj, void *buf, size_t len, uint64_t off)
{
	ssize_t n = 0;
	int ret, mapped;

	if ((ret = io_check(obj, buf, len, "pread")) != 0)
		return ret < 0 ? ret : 0;
	/* past the maximum size is past EOF: pread(2) returns 0 there, no error */
	if (off > UINT64_MAX - len)
		return ERR(-EINVAL, "pread: offset %llu + length %zu overflows",
			   (unsigned long long)off, len);
	map_rdlock();
	mapped = io_buf_mapped(buf, len);
	if (!mapped)
		n = io_read_locked(obj, buf, len, off);
	map_rdunlock();
	if (mapped)
		n = io_bounced(obj, buf, len, off, 0, 0);
	return n;
}

/* takes maps_lock shared, then (io_write_locked) the range exclusively */
ssize_t daxmap_obj_pwrite(daxmap_obj *obj, const void *buf, size_t len, uint64_t off, int flags)
{
	ssize_t n = 0;
	int ret, mapped;

	if (flags & ~DAXMAP_DSYNC)
		return ERR(-EINVAL, "pwrite: unknown flags %#x", flags);
	if ((ret = io_check(obj, buf, len, "pwrite")) != 0)
		return ret < 0 ? ret : 0;
	if ((ret = truncate_range_check(off, len, "pwrite")) < 0)
		return ret;
	if (obj->tab->sh) {
		/* (the op lock comes before maps_lock, and no op may be held
		 * while the caller's buffer in a mapping of ours faults) */
		n = io_write_shared(obj, buf, len, off, flags, &mapped);
		return mapped ? io_bounced(obj, (char *)buf, len, off, flags, 1) : n;
	}
	map_rdlock();
	mapped = io_buf_mapped(buf, len);
	if (!mapped)
		n = io_write_locked(obj, buf, len, off, flags);
	map_rdunlock();
	if (mapped)
		n = io_bounced(obj, (char *)buf, len, off, flags, 1);
	return n;
}
