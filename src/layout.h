/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * On-media layout of a pool file. All integers are little-endian (the
 * library runs on x86-64 and other little-endian Linux targets only).
 *
 *   0            header (4 KiB, struct pool_hdr)
 *   4 KiB        the intent log: LOG_RECORDS records of 64 bytes (log.h)
 *   64 KiB       object table: max_objects slots of 256 bytes
 *   exttab_off   extent table: one 8-byte entry per data extent
 *   blktab_off   version 3: block table: one 8-byte entry per 64 KiB block of
 *                every data extent (extent_size / POOL_BLOCK_SIZE entries each)
 *   data_off     data extents, 2 MiB aligned, extent_size each
 *
 * A fresh pool file is fallocated, so every metadata byte is zero: every
 * object slot is free and every extent entry says "free and zeroed".
 *
 * Every metadata update commits with one aligned 8-byte store followed by a
 * persist, so a crash leaves either the old or the new value:
 *  - extent allocation: entry 0 (free, zeroed) -> ALLOCATED(slot, index).
 *    The extent's bytes are zero and durable before the entry is written.
 *  - extent free: ALLOCATED -> FREE_DIRTY; the zeroer writes zeros, persists
 *    them, and only then stores 0.
 *  - object create: the slot's name, goal and checksum are written and
 *    persisted while its state is FREE; then state := LIVE.
 *  - size change: slot.size := new size.
 *  - object unlink: state := DYING, then every extent is freed, then
 *    state := FREE. Recovery finishes a DYING slot on open.
 *
 * Version 3 adds blocks (doc/DESIGN.md, "Small objects: blocks"): an
 * object created small (slot flag SLOT_F_SMALL) is made of 64 KiB blocks,
 * carved out of data extents. An extent whose entry is EXT_SPLIT holds
 * blocks; its block-table entries say, with the extent entry's encoding,
 * whether each block is free and zeroed, free and dirty, or allocated to
 * (slot, object block index). The block entries of an extent that is not
 * split are all 0. Splitting is one store (free zeroed -> EXT_SPLIT, its
 * blocks all zero and free), so is the way back (EXT_SPLIT -> 0, once every
 * block entry is 0 again); blocks are allocated and freed as extents are.
 */
#ifndef DAXMAP_LAYOUT_H
#define DAXMAP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define POOL_MAGIC "DAXMAPPL"
#define POOL_VERSION 3u    /* the newest this library knows and writes: blocks (and the
			      size words of version 2, also in a pool that cannot grow) */
#define POOL_VERSION_GROW 2u  /* growable, no blocks (written by 0.1 libraries) */
#define POOL_VERSION_FIXED 1u /* a pool whose size is fixed, no blocks; also written when
				 the extent size is too small for blocks */
#define POOL_F_GROWABLE 1u /* version 3: created with a maximum above its size (in a
			      version 2 pool, the version says it) */
#define POOL_BLOCK_SHIFT 16u
#define POOL_BLOCK_SIZE (UINT64_C(1) << POOL_BLOCK_SHIFT) /* 64 KiB */
#define POOL_HDR_SIZE 4096u
#define POOL_HDR_WORDS_OFF 2048u /* version 2: the words a grow changes */
#define POOL_LOG_OFF 4096u
#define POOL_OBJTAB_OFF 65536u
#define POOL_DATA_ALIGN (UINT64_C(2) << 20)
#define POOL_MIN_EXTENT (UINT64_C(4) << 10)
#define POOL_MAX_EXTENT (UINT64_C(1) << 30)
#define POOL_MAX_OBJECTS (1u << 22)
#define POOL_MAX_SIZE (UINT64_C(1) << 50)

struct pool_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;     /* POOL_HDR_SIZE */
	uint64_t pool_size;    /* file size */
	uint64_t extent_size;
	uint32_t max_objects;
	uint32_t flags;        /* version 3: POOL_F_GROWABLE or 0; before: 0 */
	uint64_t objtab_off;
	uint64_t exttab_off;
	uint64_t data_off;
	uint64_t nextents;
	uint8_t uuid[16];
	uint64_t create_time;  /* seconds since the epoch */
	uint64_t blktab_off;   /* version 3: the block table; 0 before */
	uint8_t reserved[POOL_HDR_WORDS_OFF - 104];
	/* version 2 only (0 in version 1), each in its own cache line and left
	 * out of the checksum: a grow changes them with one 8-byte store each */
	uint64_t cur_size;     /* the file's size now: pool_size is the maximum */
	uint8_t reserved2[56];
	uint64_t grow_to;      /* a grow under way to this size, or 0 */
	uint8_t reserved3[POOL_HDR_SIZE - POOL_HDR_WORDS_OFF - 80];
	uint64_t checksum;     /* fletcher64 of the bytes before it, cur_size and
				  grow_to read as 0 */
};
_Static_assert(sizeof(struct pool_hdr) == POOL_HDR_SIZE, "pool header must fill 4 KiB");
_Static_assert(offsetof(struct pool_hdr, cur_size) == POOL_HDR_WORDS_OFF, "cur_size offset");
_Static_assert(offsetof(struct pool_hdr, grow_to) == POOL_HDR_WORDS_OFF + 64, "grow_to offset");

/* Object slot states (slot.state). */
#define SLOT_FREE UINT64_C(0)
#define SLOT_LIVE UINT64_C(0x4556494c4a424f44) /* "DOBJLIVE" */
#define SLOT_DYING UINT64_C(0x474e49594a424f44) /* "DOBJYING" */

/* Object slot flags (slot.flags, version 3), fixed at create. */
#define SLOT_F_SMALL 1u /* made of blocks (the block table), not extents */

#define SLOT_SIZE 256u
#define SLOT_NAME_MAX 216u

struct obj_slot {
	uint64_t state;    /* SLOT_FREE, SLOT_LIVE or SLOT_DYING */
	uint64_t size;     /* object size (EOF) */
	uint64_t goal;     /* pool extent index preferred for object extent 0 */
	uint32_t name_len; /* bytes of name, 1 .. DAXMAP_MAX_NAME */
	uint32_t flags;    /* version 3: SLOT_F_SMALL or 0; before: 0 */
	uint64_t checksum; /* fletcher64 of goal, name_len, flags and name */
	char name[SLOT_NAME_MAX]; /* zero-padded */
};
_Static_assert(sizeof(struct obj_slot) == SLOT_SIZE, "object slot must be 256 bytes");

/*
 * Extent table entry: bits 63..62 are the tag.
 *   0: free, zeroed (the whole entry is 0)
 *   1: free, not yet zeroed (the rest is 0)
 *   2: allocated: bits 61..40 object slot, bits 39..0 object extent index
 *   3: version 3, extent table only: split into blocks (the rest is 0)
 * A block-table entry is the same, with a block index (object offset >> 16).
 */
#define EXT_TAG_SHIFT 62
#define EXT_TAG_FREE UINT64_C(0)
#define EXT_TAG_DIRTY UINT64_C(1)
#define EXT_TAG_ALLOC UINT64_C(2)
#define EXT_TAG_SPLIT UINT64_C(3)
#define EXT_FREE_DIRTY (EXT_TAG_DIRTY << EXT_TAG_SHIFT)
#define EXT_SPLIT (EXT_TAG_SPLIT << EXT_TAG_SHIFT)
#define EXT_SLOT_SHIFT 40
#define EXT_SLOT_MASK ((UINT64_C(1) << 22) - 1)
#define EXT_INDEX_MASK ((UINT64_C(1) << 40) - 1)

static inline uint64_t ext_entry_alloc(uint32_t slot, uint64_t index)
{
	return (EXT_TAG_ALLOC << EXT_TAG_SHIFT) | ((uint64_t)slot << EXT_SLOT_SHIFT) | index;
}

static inline uint64_t ext_entry_tag(uint64_t e)
{
	return e >> EXT_TAG_SHIFT;
}

static inline uint32_t ext_entry_slot(uint64_t e)
{
	return (uint32_t)((e >> EXT_SLOT_SHIFT) & EXT_SLOT_MASK);
}

static inline uint64_t ext_entry_index(uint64_t e)
{
	return e & EXT_INDEX_MASK;
}

/*
 * Intent-log records (the log's behaviour is in log.h): an operation that
 * changes several metadata words records itself here, durably, before it
 * starts, and clears the record once it is done.
 */
enum log_op {
	LOG_OP_NONE = 0,
	LOG_OP_SHRINK = 1, /* a: new size */
	LOG_OP_PUNCH = 2,  /* [a, b): bytes to punch, within EOF */
	LOG_OP_ZERO = 3,   /* [a, b): bytes to zero in place, within EOF */
};

struct log_record {
	uint64_t op;
	uint64_t slot;
	uint64_t a, b;
	uint64_t seq;
	uint64_t reserved[2];
	uint64_t checksum; /* fletcher64 of the fields before it */
};

#define LOG_RECORDS 64

_Static_assert(sizeof(struct log_record) == 64, "log records are one cache line");
_Static_assert(LOG_RECORDS * 64 <= POOL_OBJTAB_OFF - POOL_LOG_OFF, "log fits its area");

/*
 * The format's checksums and validators, shared by open (pool.c, object.c,
 * log.c) and the read-only checker (check.c). Each validator checks one
 * structure on its own and returns -EUCLEAN with a message naming the
 * offset; cross-structure checks are the caller's.
 */

/* Fletcher-64 over 32-bit words; a trailing partial word is zero-padded. */
uint64_t layout_checksum(const void *buf, uint64_t len);

/* Where each part goes for a pool of this size (fills h's layout fields;
 * with `blocks`, a block table too): computed, never trusted from the file.
 * -1 when no extent fits. */
int layout_compute(struct pool_hdr *h, uint64_t size, uint64_t extent, uint32_t max_objects,
		   int blocks);
/* Whether a pool of this version has blocks; blocks per extent (0 if none). */
int layout_has_blocks(const struct pool_hdr *h);
uint64_t layout_blocks_per_extent(const struct pool_hdr *h);
/* Whether a new pool with this extent size gets blocks (version 3). */
int layout_blocks_fit(uint64_t extent);

/* The header's checksum: the bytes before it, cur_size and grow_to as 0. */
uint64_t layout_hdr_checksum(const struct pool_hdr *h);

/*
 * Checks every byte of a header read from a file of file_size bytes: 0, or
 * -EINVAL (not a pool), -EPROTONOSUPPORT or -EUCLEAN with a message naming
 * the offset. Version 2: the layout is that of the maximum size
 * (pool_size); cur_size is the file's size, or, while grow_to is set (a
 * grow was interrupted), the file's size lies between the two (the opener
 * finishes or undoes it: media_map).
 */
int layout_hdr_check(const struct pool_hdr *h, uint64_t file_size, const char *path);

/* Whether the pool may grow: version 2, or 3 with POOL_F_GROWABLE (a grown
 * one too, at its maximum). */
int layout_growable(const struct pool_hdr *h);
/* The file size a header gives (version 1: pool_size; 2: cur_size). */
uint64_t layout_cur_size(const struct pool_hdr *h);
/* Extents whose data lies within a file of `size` bytes: those a pool of
 * that size may use (the table has h->nextents entries, for the maximum). */
uint64_t layout_present(const struct pool_hdr *h, uint64_t size);

/* The checksum a slot must carry (covers goal .. end of name). */
uint64_t layout_slot_checksum(const struct obj_slot *s);
/*
 * Checks object slot i (at byte offset off of the file) of a pool of
 * nextents extents (`blocks`: version 3, slot flags allowed): 0 when free
 * or sound, else -EUCLEAN.
 */
int layout_slot_check(const struct obj_slot *s, uint32_t i, uint64_t off, uint64_t nextents,
		      int blocks);

/* Which table an entry is of, for layout_ext_check. */
enum layout_table {
	LAYOUT_EXTENTS = 0,       /* the extent table of a pool without blocks */
	LAYOUT_EXTENTS_SPLIT = 1, /* the extent table of a version 3 pool */
	LAYOUT_BLOCKS = 2,        /* the block table */
};

/*
 * Checks extent (or block) table entry i (at byte offset off) on its own:
 * 0 for a proper free entry, 1 for an allocated one whose owner slot and
 * index are in range (the caller checks that the owner is live and
 * unique), 2 for a split extent (only in LAYOUT_EXTENTS_SPLIT), else
 * -EUCLEAN. extent_shift: the unit's (blocks: 16).
 */
int layout_ext_check(uint64_t ent, uint64_t i, uint64_t off, uint32_t max_objects,
		     unsigned extent_shift, enum layout_table table);

/* Names of live slots, sorted by hash to find two objects with one name
 * (open refuses such a pool; the checker reports it). */
struct slot_name_key {
	uint64_t hash;
	uint32_t slot;
};
uint64_t layout_name_hash(const struct obj_slot *s);
/* The same hash of a name given as bytes. */
uint64_t layout_name_hash_bytes(const char *name, uint32_t len);
int layout_name_key_cmp(const void *a, const void *b);

/* The checksum a log record must carry. */
uint64_t layout_log_checksum(const struct log_record *r);
/* 1 for a record that is committed (op set, checksum right), else 0. */
int layout_log_valid(const struct log_record *r);
/*
 * Checks log record i on its own: 0 when empty or torn (bad checksum: never
 * begun, ignored), 1 for a committed record that the next open replays,
 * -EUCLEAN for a committed record that is no valid operation.
 */
int layout_log_check(const struct log_record *r, unsigned i, uint32_t max_objects);
/* "shrink", "punch hole", "zero range" or "?". */
const char *layout_log_op_name(uint64_t op);

#endif
