/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Read-only inspection of a pool file: daxmap_pool_inspect(), what `daxmap
 * info`, `ls` and `stat` show. Like the checker it reads with pread(2) (no
 * mapping, no userfaultfd, nothing written), but it never takes the pool's
 * flock: it must not make an open elsewhere fail, and it must read a pool
 * that another process has open. So it reads what it finds, validating only
 * what it needs to read safely, and leaves verdicts to daxmap_pool_check().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layout.h"
#include "libdaxmap.h"
#include "out.h"
#include "shared.h"

#define INSPECT_CHUNK (UINT64_C(1) << 20) /* bytes read at a time */

struct inspect {
	const char *path;
	int fd;
	char *buf;  /* INSPECT_CHUNK bytes */
	uint64_t *blk; /* version 3: the block entries of one extent */
};

/* A regular file gives a short read only at its end: the file shrank. */
static int inspect_read(struct inspect *in, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(in->fd, buf, len, (off_t)off);

	if (n == (ssize_t)len)
		return 0;
	return ERR(n < 0 ? -errno : -EIO, "cannot read %zu bytes of %s at offset %llu%s", len,
		   in->path, (unsigned long long)off, n < 0 ? "" : ": the file shrank");
}

/*
 * Whether a process holds the pool's exclusive flock (daxmap_pool_open takes
 * it; shared openers take a shared one, and their run file tells instead),
 * as /proc/locks lists it: asking the kernel by trying the lock would
 * make an open racing with us fail with -EBUSY. Lines read
 * "1: FLOCK  ADVISORY  WRITE 1234 00:1b:32 0 EOF"; a waiter's has "->".
 * Without /proc, or for an owner in another pid namespace, it says no.
 */
static int inspect_in_use(const struct stat *st)
{
	char line[256], kind[16], mode[16];
	unsigned major_nr, minor_nr;
	unsigned long long ino;
	FILE *f = fopen("/proc/locks", "re");
	int held = 0;

	if (!f)
		return 0;
	while (!held && fgets(line, sizeof(line), f))
		held = sscanf(line, "%*s %15s %*s %15s %*d %x:%x:%llu", kind, mode, &major_nr,
			      &minor_nr, &ino) == 5 &&
		       !strcmp(kind, "FLOCK") && !strcmp(mode, "WRITE") &&
		       makedev(major_nr, minor_nr) == st->st_dev && ino == (unsigned long long)st->st_ino;
	fclose(f);
	return held;
}

/*
 * A growable pool (format version 2, or 3) is laid out for its maximum
 * size: the data region and the extents shown are those within the file's
 * current size (layout_present); the rest of the table covers extents a
 * grow adds. Version 3's block table lies within the extent_table region,
 * after the extent table proper (struct daxmap_pool_info has no region of
 * its own for it).
 */
static void inspect_layout(struct daxmap_pool_info *info, const struct pool_hdr *h,
			   uint64_t npresent)
{
	info->header = (struct daxmap_region){0, POOL_LOG_OFF};
	info->log = (struct daxmap_region){POOL_LOG_OFF, h->objtab_off - POOL_LOG_OFF};
	info->object_table = (struct daxmap_region){h->objtab_off, h->exttab_off - h->objtab_off};
	info->extent_table = (struct daxmap_region){h->exttab_off, h->data_off - h->exttab_off};
	info->data = (struct daxmap_region){h->data_off, npresent * h->extent_size};
	memcpy(info->uuid, h->uuid, sizeof(info->uuid));
	info->create_time = h->create_time;
	info->version = h->version;
	info->size = layout_cur_size(h);
	info->max_size = h->pool_size; /* version 2: the maximum; 1: the size */
	info->extent_size = h->extent_size;
	info->extents = npresent;
	info->max_objects = h->max_objects;
	info->block_size = layout_has_blocks(h) ? POOL_BLOCK_SIZE : 0;
	info->growable = (uint64_t)layout_growable(h);
}

/* Version 3: the block entries of split extent x, as each is when it is
 * read; *nalloc counts the allocated ones. Only split extents' blocks are
 * read: the others' entries are 0 unless the pool is damaged, and reading
 * the whole block table (bpe times the extent table) is the checker's job. */
static int inspect_blocks(struct inspect *in, const struct pool_hdr *h, uint64_t x,
			  uint64_t *nalloc, struct daxmap_pool_info *info)
{
	uint64_t bpe = layout_blocks_per_extent(h);
	int ret;

	if ((ret = inspect_read(in, in->blk, (size_t)(bpe * sizeof(uint64_t)),
				h->blktab_off + x * bpe * sizeof(uint64_t))) < 0)
		return ret;
	for (uint64_t k = 0; k < bpe; k++) {
		uint64_t ent = in->blk[k];
		if (ext_entry_tag(ent) == EXT_TAG_ALLOC && ext_entry_slot(ent) < h->max_objects)
			(*nalloc)++;
		else if (ent != 0 && ent != EXT_FREE_DIRTY)
			info->bad_extents++;
	}
	return 0;
}

/* Each 8-byte entry as it is at the moment it is read; one of an extent
 * past the file's end (npresent on) that is not 0 is bad. A split extent
 * (version 3) counts as used, as daxmap_pool_stat counts it. */
static int inspect_extents(struct inspect *in, const struct pool_hdr *h, uint64_t npresent,
			   struct daxmap_pool_info *info)
{
	uint64_t nalloc = 0, nfree = 0, ndirty = 0, nsplit = 0, nblocks = 0;
	int ret;

	for (uint64_t i = 0; i < h->nextents;) {
		uint64_t n = INSPECT_CHUNK / sizeof(uint64_t);
		const uint64_t *ents = (const uint64_t *)in->buf;
		if (n > h->nextents - i)
			n = h->nextents - i;
		if ((ret = inspect_read(in, in->buf, (size_t)(n * sizeof(uint64_t)),
					h->exttab_off + i * sizeof(uint64_t))) < 0)
			return ret;
		for (uint64_t k = 0; k < n; k++, i++) {
			uint64_t tag = ext_entry_tag(ents[k]);
			if (i >= npresent)
				info->bad_extents += ents[k] != 0;
			else if (ents[k] == 0)
				nfree++;
			else if (ents[k] == EXT_FREE_DIRTY)
				ndirty++;
			else if (tag == EXT_TAG_ALLOC && ext_entry_slot(ents[k]) < h->max_objects)
				nalloc++;
			else if (ents[k] == EXT_SPLIT && layout_has_blocks(h)) {
				nsplit++;
				if ((ret = inspect_blocks(in, h, i, &nblocks, info)) < 0)
					return ret;
			} else
				info->bad_extents++;
		}
	}
	info->used = (nalloc + nsplit) * h->extent_size;
	info->blocks_split = nsplit * h->extent_size;
	info->blocks_used = nblocks * POOL_BLOCK_SIZE;
	info->free = (nfree + ndirty) * h->extent_size;
	info->free_unzeroed = ndirty * h->extent_size;
	return 0;
}

/*
 * A slot is shown when its checksum covers the name read with it: a slot
 * reused while we read it (an unlink, then a create writing the new name
 * while the state is FREE) fails that and is counted as bad, not shown torn.
 */
static int slot_readable(const struct obj_slot *s)
{
	return s->checksum == layout_slot_checksum(s) && s->name_len >= 1 &&
	       s->name_len <= DAXMAP_MAX_NAME && !memchr(s->name, 0, s->name_len);
}

static int inspect_slots(struct inspect *in, const struct pool_hdr *h,
			 struct daxmap_pool_info *info,
			 int (*cb)(const char *name, uint64_t size, void *arg), void *arg)
{
	char name[DAXMAP_MAX_NAME + 1];
	int ret;

	for (uint32_t i = 0; i < h->max_objects;) {
		uint32_t n = (uint32_t)(INSPECT_CHUNK / SLOT_SIZE);
		if (n > h->max_objects - i)
			n = h->max_objects - i;
		if ((ret = inspect_read(in, in->buf, (size_t)n * SLOT_SIZE,
					h->objtab_off + (uint64_t)i * SLOT_SIZE)) < 0)
			return ret;
		for (uint32_t k = 0; k < n; k++, i++) {
			const struct obj_slot *s = (const struct obj_slot *)(in->buf + k * SLOT_SIZE);
			if (s->state == SLOT_FREE)
				continue;
			if ((s->state != SLOT_LIVE && s->state != SLOT_DYING) || !slot_readable(s)) {
				info->bad_slots++;
				continue;
			}
			if (s->state == SLOT_DYING) {
				info->objects_dying++;
				continue;
			}
			info->objects++;
			if (!cb)
				continue;
			memcpy(name, s->name, s->name_len);
			name[s->name_len] = 0;
			if ((ret = cb(name, s->size, arg)) != 0)
				return ret;
		}
	}
	return 0;
}

int daxmap_pool_inspect(const char *path, int flags, struct daxmap_pool_info *info,
			int (*cb)(const char *name, uint64_t size, void *arg), void *arg)
{
	struct inspect in = {.path = path, .fd = -1};
	struct pool_hdr h;
	struct stat st;
	uint64_t npresent;
	int ret;

	if (!path || !info)
		return ERR(-EINVAL, "%s is NULL", path ? "info" : "path");
	if (flags)
		return ERR(-EINVAL, "unknown inspect flags %#x", flags);
	memset(info, 0, sizeof(*info));
	in.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in.fd < 0)
		return ERR(-errno, "cannot open %s", path);
	if (fstat(in.fd, &st) < 0) {
		ret = ERR(-errno, "cannot stat %s", path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ERR(-EINVAL, "%s is not a regular file", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size < POOL_HDR_SIZE) {
		ret = ERR(-EINVAL, "%s is not a daxmap pool: %lld bytes is smaller than a pool "
				   "header", path, (long long)st.st_size);
		goto out_close;
	}
	if ((ret = inspect_read(&in, &h, sizeof(h), 0)) < 0 ||
	    (ret = layout_hdr_check(&h, (uint64_t)st.st_size, path)) < 0)
		goto out_close;
	/* the table lies within the file; the data of the extents past
	 * npresent (version 2 and 3) does not, and is never read */
	npresent = layout_present(&h, layout_cur_size(&h));
	inspect_layout(info, &h, npresent);
	in.buf = malloc(INSPECT_CHUNK);
	in.blk = malloc((layout_blocks_per_extent(&h) + 1) * sizeof(uint64_t));
	if (!in.buf || !in.blk) {
		ret = ERR(-ENOMEM, "out of memory inspecting %s", path);
		goto out_free;
	}
	/* asked before the read: an owner that comes or goes during it may be missed */
	info->in_use = inspect_in_use(&st) || shared_in_use(h.uuid, &st); /* (shared: a LOCK_SH) */
	if ((ret = inspect_extents(&in, &h, npresent, info)) == 0)
		ret = inspect_slots(&in, &h, info, cb, arg);
out_free:
	free(in.blk);
	free(in.buf);
out_close:
	close(in.fd);
	return ret;
}
