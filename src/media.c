/* SPDX-License-Identifier: BSD-3-Clause */
/* The mapped pool file: header validation at map time, persist, zeroing (media.h). */
#define _GNU_SOURCE
#include "media.h"

#include <errno.h>
#include <stdatomic.h>
#include <libpmem.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "crashtest.h"
#include "inject.h"
#include "out.h"
#include "page.h"

int media_init(struct pool_media *md, const char *path)
{
	memset(md, 0, sizeof(*md));
	md->fd = -1;
	md->path = strdup(path);
	return md->path ? 0 : ERR(-ENOMEM, "out of memory");
}

/* Writes one 8-byte word of the header with pwrite and syncs it (before
 * the file is mapped). */
static int media_put_word(struct pool_media *md, size_t off, uint64_t v)
{
	if (pwrite(md->fd, &v, sizeof(v), (off_t)off) != (ssize_t)sizeof(v) ||
	    fdatasync(md->fd) < 0)
		return ERR(errno ? -errno : -EIO, "cannot write the header of %s", md->path);
	return 0;
}

/*
 * A grow was interrupted (grow_to set): finished when the file reached its
 * size (cur_size := grow_to), else undone (the file cut back to cur_size);
 * then grow_to := 0. Either leaves a pool whose size words agree with the
 * file; the extents past cur_size were never handed out (their entries are
 * zero either way).
 */
static int media_end_grow(struct pool_media *md, struct pool_hdr *h, uint64_t file_size)
{
	int ret;

	if (file_size >= h->grow_to) {
		LOG(OUT_NOTICE, "%s: finishing a grow from %llu to %llu bytes that was interrupted",
		    md->path, (unsigned long long)h->cur_size, (unsigned long long)h->grow_to);
		if ((ret = media_put_word(md, offsetof(struct pool_hdr, cur_size), h->grow_to)) < 0)
			return ret;
		h->cur_size = h->grow_to;
	} else {
		LOG(OUT_NOTICE, "%s: undoing a grow from %llu to %llu bytes that was interrupted",
		    md->path, (unsigned long long)h->cur_size, (unsigned long long)h->grow_to);
		if (ftruncate(md->fd, (off_t)h->cur_size) < 0 || fdatasync(md->fd) < 0)
			return ERR(-errno, "cannot cut %s back to %llu bytes", md->path,
				   (unsigned long long)h->cur_size);
	}
	if ((ret = media_put_word(md, offsetof(struct pool_hdr, grow_to), 0)) < 0)
		return ret;
	h->grow_to = 0;
	return 0;
}

/*
 * A growable pool: the file mapped over its maximum size (past the file's
 * end the pages are not there until a grow extends it), with MAP_SYNC
 * where the file system is DAX (then persistence is cache flushes), else
 * as libpmem would tell (pmem_is_pmem honours PMEM_IS_PMEM_FORCE).
 */
static int media_map_max(struct pool_media *md, uint64_t max)
{
	void *p = mmap(NULL, (size_t)max, PROT_READ | PROT_WRITE,
		       MAP_SHARED_VALIDATE | MAP_SYNC, md->fd, 0);
	int sync = p != MAP_FAILED;

	if (!sync)
		p = mmap(NULL, (size_t)max, PROT_READ | PROT_WRITE, MAP_SHARED, md->fd, 0);
	if (p == MAP_FAILED)
		return ERR(-errno, "cannot map %s (%llu bytes of address space for its maximum "
				   "size)", md->path, (unsigned long long)max);
	md->base = p;
	md->mapped_len = (size_t)max;
	md->growable = 1; /* also: base is ours to munmap (media_fini) */
	md->is_pmem = sync || pmem_is_pmem(p, POOL_HDR_SIZE);
	return 0;
}

int media_grow(struct pool_media *md, uint64_t new_size)
{
	uint64_t old = atomic_load(&md->size);
	struct pool_hdr *h = md->hdr;
	int ret = 0;

	h->grow_to = new_size;
	media_persist(md, &h->grow_to, sizeof(h->grow_to));
	if ((ret = INJECT(INJ_GROW)) < 0)
		errno = -ret;
	if (ret < 0 || fallocate(md->fd, 0, (off_t)old, (off_t)(new_size - old)) < 0 ||
	    fdatasync(md->fd) < 0) {
		ret = ERR(-errno, "cannot grow pool %s from %llu to %llu bytes", md->path,
			  (unsigned long long)old, (unsigned long long)new_size);
		/* cut back what may have been extended: nothing changed */
		if (ftruncate(md->fd, (off_t)old) < 0 || fdatasync(md->fd) < 0)
			LOG(OUT_ERROR, "cutting pool %s back to %llu bytes: %s", md->path,
			    (unsigned long long)old, strerror(errno));
		h->grow_to = 0;
		media_persist(md, &h->grow_to, sizeof(h->grow_to));
		return ret;
	}
	/* the extension is durable: the crash-test hook sees the new size,
	 * and the persists below are of a file of that size */
	atomic_store(&md->size, new_size);
	if (md->blk) /* the block view's persists report the same file size */
		atomic_store(&md->blk->size, new_size);
	crashtest_persist(md->path, md->base, (size_t)new_size, md->is_pmem, 0, 0);
	h->cur_size = new_size;
	media_persist(md, &h->cur_size, sizeof(h->cur_size));
	h->grow_to = 0;
	media_persist(md, &h->grow_to, sizeof(h->grow_to));
	atomic_store(&md->npresent, layout_present(h, new_size));
	if (md->blk)
		atomic_store(&md->blk->npresent, atomic_load(&md->npresent)
							 << (md->extent_shift - POOL_BLOCK_SHIFT));
	return 0;
}

int media_map(struct pool_media *md)
{
	struct stat st;
	struct pool_hdr h;
	ssize_t n;
	int ret;

	if (fstat(md->fd, &st) < 0)
		return ERR(-errno, "cannot stat %s", md->path);
	if (!S_ISREG(st.st_mode))
		return ERR(-EINVAL, "%s is not a regular file", md->path);
	if ((uint64_t)st.st_size < POOL_HDR_SIZE)
		return ERR(-EINVAL, "%s is not a daxmap pool: %lld bytes is smaller than a pool "
				    "header", md->path, (long long)st.st_size);
	n = pread(md->fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h))
		return ERR(n < 0 ? -errno : -EIO, "cannot read the header of %s", md->path);
	if ((ret = layout_hdr_check(&h, (uint64_t)st.st_size, md->path)) < 0)
		return ret;
	if (h.version >= 2 && h.grow_to != 0 &&
	    (ret = media_end_grow(md, &h, (uint64_t)st.st_size)) < 0)
		return ret;

	/* version 3 has the size words also when it cannot grow (its maximum
	 * is its size): mapped as a fixed pool then */
	if (layout_growable(&h)) {
		if ((ret = media_map_max(md, h.pool_size)) < 0)
			return ret;
		if ((uint64_t)lseek(md->fd, 0, SEEK_END) != h.cur_size)
			return ERR(-EUCLEAN, "%s changed size while opening", md->path);
	} else {
		md->base = pmem_map_file(md->path, 0, 0, 0, &md->mapped_len, &md->is_pmem);
		if (!md->base)
			return ERR(errno ? -errno : -EIO, "pmem_map_file(%s) failed: %s", md->path,
				   pmem_errormsg());
		if (md->mapped_len != h.pool_size)
			return ERR(-EUCLEAN, "%s changed size while opening", md->path);
	}
	madvise(md->base, md->mapped_len, MADV_DONTFORK);
	md->hdr = (struct pool_hdr *)md->base;
	if (memcmp(md->hdr, &h, sizeof(h)) != 0)
		return ERR(-EUCLEAN, "%s: header changed while opening", md->path);
	md->slots = (struct obj_slot *)(md->base + h.objtab_off);
	md->exttab = (uint64_t *)(md->base + h.exttab_off);
	md->data_off = h.data_off;
	md->extent_size = h.extent_size;
	md->extent_shift = (unsigned)__builtin_ctzll(h.extent_size);
	md->nextents = h.nextents;
	md->hull = malloc((h.nextents ? h.nextents : 1) * sizeof(*md->hull));
	if (!md->hull)
		return ERR(-ENOMEM, "out of memory for %llu extents", (unsigned long long)h.nextents);
	for (uint64_t i = 0; i < h.nextents; i++)
		atomic_init(&md->hull[i], MEDIA_EXPOSED); /* until alloc_init knows better */
	atomic_store(&md->size, layout_cur_size(&h));
	atomic_store(&md->npresent, layout_present(&h, layout_cur_size(&h)));
	md->max_objects = h.max_objects;
	struct statfs sfs;
	md->tmpfs = fstatfs(md->fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
	atomic_store(&md->detach, 1);
	return 0;
}

int media_map_blocks(struct pool_media *md)
{
	struct pool_media *b;
	unsigned shift = md->extent_shift - POOL_BLOCK_SHIFT;

	if (!layout_has_blocks(md->hdr))
		return 0;
	if (!(b = malloc(sizeof(*b))))
		return ERR(-ENOMEM, "out of memory for the blocks of %s", md->path);
	*b = *md; /* the file, its mapping and geometry: shared, never freed by b */
	b->exttab = (uint64_t *)(md->base + md->hdr->blktab_off);
	b->extent_size = POOL_BLOCK_SIZE;
	b->extent_shift = POOL_BLOCK_SHIFT;
	b->nextents = md->nextents << shift;
	atomic_init(&b->size, atomic_load(&md->size));
	atomic_init(&b->npresent, atomic_load(&md->npresent) << shift);
	atomic_init(&b->detach, 1);
	b->blk = NULL;
	b->whole = md;
	b->hull = malloc((b->nextents ? b->nextents : 1) * sizeof(*b->hull));
	if (!b->hull) {
		uint64_t n = b->nextents;
		free(b);
		return ERR(-ENOMEM, "out of memory for %llu blocks", (unsigned long long)n);
	}
	for (uint64_t i = 0; i < b->nextents; i++)
		atomic_init(&b->hull[i], MEDIA_EXPOSED); /* until alloc_init knows better */
	md->blk = b;
	return 0;
}

void media_fini(struct pool_media *md)
{
	if (md->blk) {
		free((void *)md->blk->hull);
		free(md->blk);
		md->blk = NULL;
	}
	if (md->base && md->growable)
		munmap(md->base, md->mapped_len);
	else if (md->base)
		pmem_unmap(md->base, md->mapped_len);
	md->base = NULL;
	free((void *)md->hull);
	md->hull = NULL;
	if (md->fd >= 0)
		close(md->fd);
	md->fd = -1;
	free(md->path);
	md->path = NULL;
}

void media_forget_child(struct pool_media *md)
{
	if (md->blk) {
		md->blk->forked = 1;
		md->blk->fd = -1;
	}
	md->forked = 1;
	if (md->fd >= 0)
		close(md->fd);
	md->fd = -1;
}

int media_usable(const struct pool_media *md)
{
	if (md->forked)
		return ERR(-EINVAL, "pool handle %s was inherited across fork(): it is not usable "
				    "in the child", md->path);
	return 0;
}

/*
 * Drops the pool mapping's page-table entries over [off, off+len) of the
 * file, leaving the pages in the file: a page that the pool mapping maps too
 * costs every object mapping of it about 25 us more per 2 MiB to populate
 * (measured: 99 vs 72 us). Not on pmem, whose mapping is the media itself.
 */
static void media_unmap_pages(const struct pool_media *md, uint64_t off, uint64_t len)
{
	if (!md->is_pmem && madvise(md->base + off, (size_t)len, MADV_DONTNEED) < 0)
		LOG(OUT_DEBUG, "dropping the pool mapping of %s at %llu: %s", md->path,
		    (unsigned long long)off, strerror(errno));
}

void media_prefault(const struct pool_media *md)
{
	/* on tmpfs this is where a fallocated page gets zeroed */
	uint64_t size = atomic_load(&md->size);

	if (madvise(md->base + md->data_off, size - md->data_off, MADV_POPULATE_READ) < 0)
		LOG(OUT_WARN, "prefault of %s failed: %s", md->path, strerror(errno));
	media_unmap_pages(md, md->data_off, size - md->data_off);
}

/* a persistence point: reported to the crash-test hook (crash-test builds) first */
static void media_report(const struct pool_media *md, const void *addr, size_t len)
{
	crashtest_persist(md->path, md->base, (size_t)atomic_load(&md->size), md->is_pmem,
			  (size_t)((const char *)addr - md->base), len);
}

void media_persist(const struct pool_media *md, const void *addr, size_t len)
{
	media_report(md, addr, len);
	/* tmpfs has no storage to write back to: its msync does nothing but
	 * cost a system call (one per allocation on the fault path); what a
	 * killed process stored is in the file either way */
	if (md->is_pmem)
		pmem_persist(addr, len);
	else if (!md->tmpfs && pmem_msync(addr, len) < 0)
		LOG(OUT_ERROR, "msync of pool %s failed: %s", md->path, strerror(errno));
}

void media_zero_persist(const struct pool_media *md, void *addr, size_t len)
{
	if (md->is_pmem && !crashtest_hooked()) {
		pmem_memset_persist(addr, 0, len);
	} else {
		/* non-temporal stores: zeroing megabytes through the cache
		 * costs several times more and evicts the application's data */
		pmem_memset(addr, 0, len, PMEM_F_MEM_NONTEMPORAL);
		media_persist(md, addr, len);
	}
}

/* Every writer of an extent's hull holds its object extent's range
 * exclusively (a pwrite, a fault that maps it) or maps_lock exclusively (a
 * daxmap_map that maps it at once, when no range is held): no two race, so
 * a plain load and store do (no locked instruction after the copy). */
void media_hull_written(const struct pool_media *md, uint64_t idx, uint64_t end)
{
	uint32_t cur = atomic_load_explicit(&md->hull[idx], memory_order_relaxed);

	if (cur != MEDIA_EXPOSED && cur < end)
		atomic_store_explicit(&md->hull[idx], (uint32_t)end, memory_order_relaxed);
}

void media_hull_expose(const struct pool_media *md, uint64_t idx, uint64_t n)
{
	for (uint64_t i = idx; i < idx + n && i < md->nextents; i++)
		atomic_store(&md->hull[i], MEDIA_EXPOSED);
}

void media_hull_reset(const struct pool_media *md, uint64_t idx)
{
	atomic_store(&md->hull[idx], md->shared ? MEDIA_EXPOSED : 0);
}

/* A hull this large has its pool-mapping entries dropped when it is zeroed. */
#define MEDIA_HULL_DROP (UINT64_C(512) << 10)

int media_clear_unexposed(struct pool_media *md, uint64_t idx)
{
	uint32_t hull = atomic_load(&md->hull[idx]);
	uint64_t off = media_extent_off(md, idx, 0), len;

	if (hull == MEDIA_EXPOSED || hull > md->extent_size)
		return 0;
	len = page_up(hull); /* pages: what the drop below works in */
	if (len > md->extent_size)
		len = md->extent_size;
	if (len) {
		media_zero_persist(md, md->base + off, (size_t)len);
		/* the pool mapping's page-table entries over a small hull stay: the
		 * drop is a TLB shootdown of every CPU the process runs on, and the
		 * next pwrite there faults them back in; what they cost a later
		 * object mapping is small in proportion (media_unmap_pages) */
		if (len >= MEDIA_HULL_DROP)
			media_unmap_pages(md, off, len);
	}
	return 1;
}

int media_clear(struct pool_media *md, uint64_t idx, uint64_t n)
{
	uint64_t off = media_extent_off(md, idx, 0), len = n << md->extent_shift;

	if (atomic_load(&md->detach)) {
		int inj = INJECT(INJ_PUNCH);

		if (inj == 0 && fallocate(md->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					  (off_t)off, (off_t)len) == 0) {
			/* the range reads zero now: a persistence point of its zeros */
			media_report(md, md->base + off, len);
			/* the space again, so that a later store cannot fail for
			 * lack of it (SIGBUS at fault time) */
			if (fallocate(md->fd, 0, (off_t)off, (off_t)len) < 0)
				return ERR(-errno, "cannot reserve %llu bytes of pool %s again after "
						   "freeing them", (unsigned long long)len, md->path);
			return 1;
		}
		if (inj < 0)
			errno = -inj;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return ERR(-errno, "cannot punch %llu bytes of pool %s",
				   (unsigned long long)len, md->path);
		atomic_store(&md->detach, 0);
		LOG(OUT_WARN, "the file system of pool %s cannot punch holes: freed extents are "
			      "zeroed in place, and a page the kernel still holds (a pipe, an io_uring "
			      "buffer, direct I/O) can reach the object that reuses it", md->path);
	}
	media_zero_persist(md, md->base + off, len);
	media_unmap_pages(md, off, len);
	return 0;
}

int media_sync(const struct pool_media *md)
{
	if (fdatasync(md->fd) < 0)
		return ERR(-errno, "fdatasync of pool %s failed", md->path);
	return 0;
}

/* (Warming steps, MEDIA_WARM_STEP: the mmap lock is held for reading
 * across each where the pages are faulted in, and a fault handler's mmap
 * waits for it.) */

int media_warm_step(const struct pool_media *md, uint64_t off, size_t step)
{
	static const char zeros[MEDIA_WARM_STEP];
	ssize_t r;

	/* tmpfs: writing the zeros instantiates the pages through the file,
	 * so no mmap lock is held (a fault elsewhere in the process never
	 * waits for us); elsewhere that would dirty page cache (writeback of
	 * zeros): fault them in, reading */
	if (md->tmpfs) {
		/* and read them back: pages written once sit on the inactive
		 * list, and mapping them costs ~45 us more per 2 MiB (the
		 * activation) than pages used twice */
		char back[MEDIA_WARM_STEP];
		r = pwrite(md->fd, zeros, step, (off_t)off);
		if (r == (ssize_t)step)
			r = pread(md->fd, back, step, (off_t)off);
	} else {
		r = madvise(md->base + off, step, MADV_POPULATE_READ);
	}
	if (r < 0 && errno != EINTR) {
		LOG(OUT_DEBUG, "warming pool %s at %llu: %s", md->path, (unsigned long long)off,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void media_warm_done(const struct pool_media *md, uint64_t idx, uint64_t n)
{
	if (!md->tmpfs)
		media_unmap_pages(md, media_extent_off(md, idx, 0), n << md->extent_shift);
}

int media_warm(const struct pool_media *md, uint64_t idx, uint64_t n,
	       int (*pause)(void *arg), void *arg)
{
	uint64_t off = media_extent_off(md, idx, 0), len = n << md->extent_shift;

	for (uint64_t done = 0; done < len; done += MEDIA_WARM_STEP) {
		size_t step = (size_t)(len - done < MEDIA_WARM_STEP ? len - done : MEDIA_WARM_STEP);

		if (pause(arg) || media_warm_step(md, off + done, step) < 0)
			return 0;
	}
	media_warm_done(md, idx, n);
	return 1;
}

void media_find_warm(const struct pool_media *md, uint64_t *bits)
{
	uint64_t n = atomic_load(&md->npresent), end = md->data_off + (n << md->extent_shift), data,
		 hole;

	if (!md->tmpfs)
		return;
	for (off_t pos = (off_t)md->data_off; (uint64_t)pos < end; pos = (off_t)hole) {
		if ((data = (uint64_t)lseek(md->fd, pos, SEEK_DATA)) == (uint64_t)-1 ||
		    (hole = (uint64_t)lseek(md->fd, (off_t)data, SEEK_HOLE)) == (uint64_t)-1)
			return; /* no more data (ENXIO), or no answer: the rest is cold */
		/* the whole extents inside [data, hole) */
		for (uint64_t i = (data - md->data_off + md->extent_size - 1) >> md->extent_shift;
		     i < n && media_extent_off(md, i + 1, 0) <= hole; i++)
			bits[i >> 6] |= UINT64_C(1) << (i & 63);
	}
}
