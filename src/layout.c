/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool format's checksums, geometry and validators (layout.h). Nothing
 * here touches a file: open and the read-only checker hand in what they read.
 */
#include "layout.h"

#include <errno.h>
#include <string.h>

#include "libdaxmap.h"
#include "out.h"

uint64_t layout_checksum(const void *buf, uint64_t len)
{
	const unsigned char *p = buf;
	uint64_t lo = 0, hi = 0;

	for (uint64_t i = 0; i < len; i += 4) {
		uint32_t w = 0;
		memcpy(&w, p + i, len - i >= 4 ? 4 : (size_t)(len - i));
		lo += w;
		hi += lo;
	}
	return (hi << 32) | (lo & 0xffffffffu);
}

int layout_blocks_fit(uint64_t extent)
{
	return extent >= 2 * POOL_BLOCK_SIZE;
}

int layout_has_blocks(const struct pool_hdr *h)
{
	return h->version >= 3;
}

uint64_t layout_blocks_per_extent(const struct pool_hdr *h)
{
	return layout_has_blocks(h) ? h->extent_size >> POOL_BLOCK_SHIFT : 0;
}

int layout_compute(struct pool_hdr *h, uint64_t size, uint64_t extent, uint32_t max_objects,
		   int blocks)
{
	uint64_t objtab = (uint64_t)max_objects * SLOT_SIZE, exttab_off, n, data_off;
	/* table bytes per extent: its entry, and its blocks' entries */
	uint64_t per = sizeof(uint64_t) * (1 + (blocks ? extent >> POOL_BLOCK_SHIFT : 0));

	if (blocks && !layout_blocks_fit(extent))
		return -1;
	exttab_off = POOL_OBJTAB_OFF + ((objtab + 4095) & ~UINT64_C(4095));
	if (exttab_off >= size)
		return -1;
	n = (size - exttab_off) / (extent + per);
	for (;;) {
		uint64_t end = exttab_off + n * per;
		data_off = (end + POOL_DATA_ALIGN - 1) & ~(POOL_DATA_ALIGN - 1);
		if (data_off <= size && n <= (size - data_off) / extent)
			break;
		if (n == 0)
			return -1;
		n--;
	}
	if (n == 0)
		return -1;
	h->pool_size = size;
	h->extent_size = extent;
	h->max_objects = max_objects;
	h->objtab_off = POOL_OBJTAB_OFF;
	h->exttab_off = exttab_off;
	h->data_off = data_off;
	h->nextents = n;
	h->blktab_off = blocks ? exttab_off + n * sizeof(uint64_t) : 0;
	return 0;
}

uint64_t layout_hdr_checksum(const struct pool_hdr *h)
{
	struct pool_hdr tmp = *h;
	tmp.cur_size = 0;
	tmp.grow_to = 0;
	return layout_checksum(&tmp, offsetof(struct pool_hdr, checksum));
}

uint64_t layout_cur_size(const struct pool_hdr *h)
{
	return h->version >= 2 ? h->cur_size : h->pool_size;
}

uint64_t layout_present(const struct pool_hdr *h, uint64_t size)
{
	uint64_t n;

	if (size < h->data_off)
		return 0;
	n = (size - h->data_off) / h->extent_size;
	return n < h->nextents ? n : h->nextents;
}

/* Every reserved byte zero: 0, or the offset of the first that is not. */
static size_t layout_hdr_stray(const struct pool_hdr *h)
{
	static const struct {
		size_t off, len;
	} r[] = {
		{offsetof(struct pool_hdr, reserved), sizeof(h->reserved)},
		{offsetof(struct pool_hdr, reserved2), sizeof(h->reserved2)},
		{offsetof(struct pool_hdr, reserved3), sizeof(h->reserved3)},
	};
	const uint8_t *p = (const uint8_t *)h;

	for (size_t k = 0; k < sizeof(r) / sizeof(r[0]); k++)
		for (size_t i = r[k].off; i < r[k].off + r[k].len; i++)
			if (p[i])
				return i;
	return 0;
}

/* Version 2's size words against the layout and the file. */
static int layout_hdr_sizes(const struct pool_hdr *h, uint64_t file_size, const char *path)
{
	uint64_t min = h->data_off + h->extent_size;

	if (h->cur_size < min || h->cur_size > h->pool_size)
		return ERR(-EUCLEAN, "%s: current size %llu at offset %u is not between %llu and "
				     "the maximum %llu", path, (unsigned long long)h->cur_size,
			   POOL_HDR_WORDS_OFF, (unsigned long long)min,
			   (unsigned long long)h->pool_size);
	if (h->grow_to == 0) {
		if (file_size != h->cur_size)
			return ERR(-EUCLEAN, "%s: header says %llu bytes but the file has %llu "
					     "(truncated or extended copy?)", path,
				   (unsigned long long)h->cur_size,
				   (unsigned long long)file_size);
		return 0;
	}
	if (h->grow_to < h->cur_size || h->grow_to > h->pool_size)
		return ERR(-EUCLEAN, "%s: interrupted grow to %llu at offset %u is not between "
				     "the current size %llu and the maximum %llu", path,
			   (unsigned long long)h->grow_to, POOL_HDR_WORDS_OFF + 64,
			   (unsigned long long)h->cur_size, (unsigned long long)h->pool_size);
	if (file_size < h->cur_size || file_size > h->grow_to)
		return ERR(-EUCLEAN, "%s: the file has %llu bytes, outside the interrupted grow "
				     "from %llu to %llu", path, (unsigned long long)file_size,
			   (unsigned long long)h->cur_size, (unsigned long long)h->grow_to);
	return 0;
}

int layout_hdr_check(const struct pool_hdr *h, uint64_t file_size, const char *path)
{
	struct pool_hdr want;
	size_t stray;

	if (memcmp(h->magic, POOL_MAGIC, sizeof(h->magic)) != 0)
		return ERR(-EINVAL, "%s is not a daxmap pool (bad magic)", path);
	if (h->version > POOL_VERSION)
		return ERR(-EPROTONOSUPPORT, "%s: pool version %u is newer than this library's %u",
			   path, h->version, POOL_VERSION);
	if (h->checksum != layout_hdr_checksum(h))
		return ERR(-EUCLEAN, "%s: pool header checksum mismatch at offset %zu", path,
			   offsetof(struct pool_hdr, checksum));
	if (h->version < POOL_VERSION_FIXED || h->hdr_size != POOL_HDR_SIZE ||
	    (h->flags & ~(h->version >= 3 ? POOL_F_GROWABLE : 0u)))
		return ERR(-EUCLEAN, "%s: bad version, header size or flags in the header", path);
	if ((stray = layout_hdr_stray(h)) != 0)
		return ERR(-EUCLEAN, "%s: reserved header byte at offset %zu is not zero", path,
			   stray);
	if (h->version == POOL_VERSION_FIXED && (h->cur_size || h->grow_to))
		return ERR(-EUCLEAN, "%s: version 1 header with size words at offset %u", path,
			   POOL_HDR_WORDS_OFF);
	if (h->version == POOL_VERSION_FIXED && h->pool_size != file_size)
		return ERR(-EUCLEAN, "%s: header says %llu bytes but the file has %llu "
				     "(truncated or extended copy?)", path,
			   (unsigned long long)h->pool_size, (unsigned long long)file_size);
	if (h->extent_size < POOL_MIN_EXTENT || h->extent_size > POOL_MAX_EXTENT ||
	    (h->extent_size & (h->extent_size - 1)) || h->max_objects == 0 ||
	    h->max_objects > POOL_MAX_OBJECTS)
		return ERR(-EUCLEAN, "%s: bad extent size or object count in the header", path);
	memset(&want, 0, sizeof(want));
	if (layout_compute(&want, h->pool_size, h->extent_size, h->max_objects,
			   layout_has_blocks(h)) < 0 ||
	    want.objtab_off != h->objtab_off || want.exttab_off != h->exttab_off ||
	    want.data_off != h->data_off || want.nextents != h->nextents ||
	    want.blktab_off != h->blktab_off)
		return ERR(-EUCLEAN, "%s: header layout does not match its sizes", path);
	if (h->version >= 3 && !(h->flags & POOL_F_GROWABLE) &&
	    (h->cur_size != h->pool_size || h->grow_to != 0))
		return ERR(-EUCLEAN, "%s: a pool that cannot grow, whose size words at offset %u "
				     "say another size or a grow", path, POOL_HDR_WORDS_OFF);
	if (h->version >= 2)
		return layout_hdr_sizes(h, file_size, path);
	return 0;
}

int layout_growable(const struct pool_hdr *h)
{
	return h->version == POOL_VERSION_GROW || (h->version >= 3 && (h->flags & POOL_F_GROWABLE));
}

uint64_t layout_slot_checksum(const struct obj_slot *s)
{
	/* leaves out state, size and the checksum: they change on their own */
	struct obj_slot tmp = *s;
	tmp.state = 0;
	tmp.size = 0;
	tmp.checksum = 0;
	return layout_checksum(&tmp, sizeof(tmp));
}

int layout_slot_check(const struct obj_slot *s, uint32_t i, uint64_t off, uint64_t nextents,
		      int blocks)
{
	if (s->state == SLOT_FREE)
		return 0; /* contents of a free slot are not meaningful (a create may have
			     been interrupted before its commit) */
	if (s->state != SLOT_LIVE && s->state != SLOT_DYING)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: unknown state %#llx", i,
			   (unsigned long long)off, (unsigned long long)s->state);
	if (s->checksum != layout_slot_checksum(s))
		return ERR(-EUCLEAN, "object slot %u at offset %llu: checksum mismatch", i,
			   (unsigned long long)off);
	if (s->name_len == 0 || s->name_len > DAXMAP_MAX_NAME ||
	    memchr(s->name, 0, s->name_len) != NULL)
		return ERR(-EUCLEAN, "object slot %u at offset %llu: bad name", i,
			   (unsigned long long)off);
	if (s->flags & ~(blocks ? SLOT_F_SMALL : 0u))
		return ERR(-EUCLEAN, "object slot %u at offset %llu: unknown flags %#x", i,
			   (unsigned long long)off, s->flags);
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

int layout_ext_check(uint64_t ent, uint64_t i, uint64_t off, uint32_t max_objects,
		     unsigned extent_shift, enum layout_table table)
{
	const char *what = table == LAYOUT_BLOCKS ? "block" : "extent";
	uint64_t tag = ext_entry_tag(ent), e;
	uint32_t slot;

	if (tag == EXT_TAG_FREE || tag == EXT_TAG_DIRTY) {
		if (ent != (tag << EXT_TAG_SHIFT))
			return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: "
				   "free entry with stray bits %#llx", what,
				   (unsigned long long)i, (unsigned long long)off,
				   (unsigned long long)ent);
		return 0;
	}
	if (tag == EXT_TAG_SPLIT && table == LAYOUT_EXTENTS_SPLIT && ent == EXT_SPLIT)
		return 2;
	if (tag != EXT_TAG_ALLOC)
		return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: bad tag", what,
			   (unsigned long long)i, (unsigned long long)off);
	slot = ext_entry_slot(ent);
	e = ext_entry_index(ent);
	if (slot >= max_objects)
		return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: owner slot "
			   "%u is not a live object", what, (unsigned long long)i,
			   (unsigned long long)off, slot);
	if (e >= (DAXMAP_MAX_OBJ_SIZE >> extent_shift))
		return ERR(-EUCLEAN, "%s table entry %llu at offset %llu: object "
			   "unit %llu beyond the maximum object size", what,
			   (unsigned long long)i, (unsigned long long)off,
			   (unsigned long long)e);
	return 1;
}

uint64_t layout_name_hash_bytes(const char *name, uint32_t len)
{
	/* FNV-1a */
	uint64_t h = UINT64_C(1469598103934665603);
	for (uint32_t k = 0; k < len; k++)
		h = (h ^ (unsigned char)name[k]) * UINT64_C(1099511628211);
	return h;
}

uint64_t layout_name_hash(const struct obj_slot *s)
{
	return layout_name_hash_bytes(s->name, s->name_len);
}

int layout_name_key_cmp(const void *a, const void *b)
{
	const struct slot_name_key *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

uint64_t layout_log_checksum(const struct log_record *r)
{
	return layout_checksum(r, offsetof(struct log_record, checksum));
}

int layout_log_valid(const struct log_record *r)
{
	return r->op != LOG_OP_NONE && r->checksum == layout_log_checksum(r);
}

int layout_log_check(const struct log_record *r, unsigned i, uint32_t max_objects)
{
	if (!layout_log_valid(r))
		return 0;
	if (r->op > LOG_OP_ZERO || r->slot >= max_objects || r->a > DAXMAP_MAX_OBJ_SIZE ||
	    r->b > DAXMAP_MAX_OBJ_SIZE || r->reserved[0] || r->reserved[1])
		return ERR(-EUCLEAN, "log record %u at offset %zu is not a valid operation", i,
			   POOL_LOG_OFF + i * sizeof(*r));
	return 1;
}

const char *layout_log_op_name(uint64_t op)
{
	switch (op) {
	case LOG_OP_SHRINK: return "shrink";
	case LOG_OP_PUNCH: return "punch hole";
	case LOG_OP_ZERO: return "zero range";
	default: return "?";
	}
}
