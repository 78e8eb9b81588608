/*
 * On-media layout of a pool file. All integers are little-endian (the
 * library runs on x86-64 and other little-endian Linux targets only).
 *
 *   0            header (4 KiB, struct pool_hdr)
 *   4 KiB        reserved for the metadata log (60 KiB, zero for now)
 *   64 KiB       object table: max_objects slots of 256 bytes
 *   exttab_off   extent table: one 8-byte entry per data extent
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
 */
#ifndef DAXMAP_LAYOUT_H
#define DAXMAP_LAYOUT_H

#include <stdint.h>

#define POOL_MAGIC "DAXMAPPL"
#define POOL_VERSION 1u
#define POOL_HDR_SIZE 4096u
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
	uint32_t flags;        /* none defined: must be 0 */
	uint64_t objtab_off;
	uint64_t exttab_off;
	uint64_t data_off;
	uint64_t nextents;
	uint8_t uuid[16];
	uint64_t create_time;  /* seconds since the epoch */
	uint8_t reserved[POOL_HDR_SIZE - 104];
	uint64_t checksum;     /* fletcher64 of the bytes before it */
};
_Static_assert(sizeof(struct pool_hdr) == POOL_HDR_SIZE, "pool header must fill 4 KiB");

/* Object slot states (slot.state). */
#define SLOT_FREE UINT64_C(0)
#define SLOT_LIVE UINT64_C(0x4556494c4a424f44) /* "DOBJLIVE" */
#define SLOT_DYING UINT64_C(0x474e49594a424f44) /* "DOBJYING" */

#define SLOT_SIZE 256u
#define SLOT_NAME_MAX 216u

struct obj_slot {
	uint64_t state;    /* SLOT_FREE, SLOT_LIVE or SLOT_DYING */
	uint64_t size;     /* object size (EOF) */
	uint64_t goal;     /* pool extent index preferred for object extent 0 */
	uint32_t name_len; /* bytes of name, 1 .. DAXMAP_MAX_NAME */
	uint32_t reserved; /* must be 0 */
	uint64_t checksum; /* fletcher64 of goal, name_len, reserved and name */
	char name[SLOT_NAME_MAX]; /* zero-padded */
};
_Static_assert(sizeof(struct obj_slot) == SLOT_SIZE, "object slot must be 256 bytes");

/*
 * Extent table entry: bits 63..62 are the tag.
 *   0: free, zeroed (the whole entry is 0)
 *   1: free, not yet zeroed (the rest is 0)
 *   2: allocated: bits 61..40 object slot, bits 39..0 object extent index
 */
#define EXT_TAG_SHIFT 62
#define EXT_TAG_FREE UINT64_C(0)
#define EXT_TAG_DIRTY UINT64_C(1)
#define EXT_TAG_ALLOC UINT64_C(2)
#define EXT_FREE_DIRTY (EXT_TAG_DIRTY << EXT_TAG_SHIFT)
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

uint64_t layout_checksum(const void *buf, uint64_t len);

#endif
