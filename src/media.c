/* SPDX-License-Identifier: BSD-3-Clause */
/* The mapped pool file: header validation at map time, persist, zeroing (media.h). */
#define _GNU_SOURCE
#include "media.h"

#include <errno.h>
#include <libpmem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashtest.h"
#include "out.h"

int media_init(struct pool_media *md, const char *path)
{
	memset(md, 0, sizeof(*md));
	md->fd = -1;
	md->path = strdup(path);
	return md->path ? 0 : ERR(-ENOMEM, "out of memory");
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

	md->base = pmem_map_file(md->path, 0, 0, 0, &md->mapped_len, &md->is_pmem);
	if (!md->base)
		return ERR(errno ? -errno : -EIO, "pmem_map_file(%s) failed: %s", md->path,
			   pmem_errormsg());
	if (md->mapped_len != h.pool_size)
		return ERR(-EUCLEAN, "%s changed size while opening", md->path);
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
	md->max_objects = h.max_objects;
	return 0;
}

void media_fini(struct pool_media *md)
{
	if (md->base)
		pmem_unmap(md->base, md->mapped_len);
	md->base = NULL;
	if (md->fd >= 0)
		close(md->fd);
	md->fd = -1;
	free(md->path);
	md->path = NULL;
}

void media_forget_child(struct pool_media *md)
{
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

/* a persistence point: reported to the crash-test hook (crash-test builds) first */
static void media_report(const struct pool_media *md, const void *addr, size_t len)
{
	crashtest_persist(md->path, md->base, md->mapped_len, md->is_pmem,
			  (size_t)((const char *)addr - md->base), len);
}

void media_persist(const struct pool_media *md, const void *addr, size_t len)
{
	media_report(md, addr, len);
	if (md->is_pmem)
		pmem_persist(addr, len);
	else if (pmem_msync(addr, len) < 0)
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
