/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kv: a crash-safe key-value store on libdaxmap, using only its public API.
 *
 * Two objects in one pool, both mapped and used with plain loads and stores:
 *
 *   kv.log    4 KiB superblock, then records {sum, klen, vlen, key, value},
 *             8-byte aligned, appended in 2 MiB chunks; a record never
 *             crosses a chunk boundary
 *   kv.index  open-addressing hash table (linear probing) of 8-byte slots:
 *             0 empty, 1 deleted, else tag << 40 | log offset of a record
 *
 * The persist orders everything relies on:
 *   1. a record is written and persisted before a slot points at it, so a
 *      slot never reaches a torn record;
 *   2. a put or delete is published by one aligned 8-byte store into its
 *      slot, persisted before the call returns: a crash leaves the old slot
 *      or the new one, never half of each;
 *   3. a chunk is punched only after the slots that pointed into it were
 *      overwritten and persisted, so no durable slot points into a hole.
 * The in-memory state (live bytes per chunk, counts, where to append) is
 * rebuilt from the index at every open.
 *
 * Several processes (KV_SHARED, KV_READONLY): the pool is opened shared, so
 * every process maps the same pool pages. One writer at a time, held by an
 * OFD lock on a byte of the pool file far past its end. Readers take no lock
 * to read: a slot is loaded once, and the record it names was complete
 * before the slot was stored (order 1), so a reader sees the old value or
 * the new one. What readers need protecting from is reuse: a reader that
 * loaded a slot just before the writer overwrote it may still be reading
 * the old record when its chunk dies. So a dead chunk is neither punched
 * nor appended to again until every reader that might still hold a pointer
 * into it has finished, as LMDB's reader table does: the third object,
 * kv.readers, holds an epoch the writer advances whenever chunks die, and
 * one slot per reader where it publishes the epoch it entered under while
 * it reads (0 when it does not). A chunk that died at epoch D waits until
 * every live reader is idle or entered after D. A reader holds an OFD lock
 * on its own byte of the pool file while it has the store open; the kernel
 * drops it when the reader dies, so the writer ignores the epoch a killed
 * reader left behind (F_OFD_GETLK). Readers map the log and the index
 * read-only, over the same ranges as the writer, and re-read the log's
 * size when a slot points past what they knew.
 */
#define _GNU_SOURCE /* qsort_r, F_OFD_SETLK */
#include "kv.h"

#include <libdaxmap.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (UINT64_C(2) << 20)       /* unit of log allocation and punching: one extent */
#define OFF_BITS 40                     /* a slot holds a 40-bit log offset ... */
#define OFF_MASK ((UINT64_C(1) << OFF_BITS) - 1)
/* the log's mapping: 64 GiB of address space (reserved, nothing allocated
 * until written), the most the store can hold; offsets fit OFF_BITS easily */
#define LOG_MAP (UINT64_C(1) << 36)
#define NCHUNKS (LOG_MAP / CHUNK)
#define REC_START UINT64_C(4096)        /* records start after the superblock */
#define SLOT_EMPTY UINT64_C(0)
#define SLOT_DELETED UINT64_C(1)
#define MAGIC "DAXKV01"
#define DEFAULT_POOL_SIZE (UINT64_C(1) << 30)
#define DEFAULT_SLOTS (UINT64_C(1) << 20)
/* a shared pool has at most 64 openers: one writer and 63 readers */
#define NREADERS 63
/* The OFD locks live on the pool file at offsets no pool reaches (2^50 at
 * most), so they never meet the library's own flock: byte LOCK_BASE is the
 * writer's, LOCK_BASE + 1 + i reader slot i's. */
#define LOCK_BASE ((off_t)1 << 62)
#define RTAB_SIZE 4096

struct super {
	char magic[8];
	uint64_t index_slots;
	uint64_t sum; /* of the fields above */
};

struct rec {
	uint64_t sum; /* hash of klen, vlen, key and value */
	uint32_t klen;
	uint32_t vlen;
	/* key, then value */
};

/* kv.readers, mapped read-write by the writer and every reader. */
struct rslot {
	uint64_t epoch;  /* 0: not reading; else the table's epoch + 1 when the read began */
	uint64_t pid;    /* of its owner, for whoever looks at the table */
	uint64_t pad[6]; /* a cache line per reader: one reader's stores never slow another */
};

struct rtab {
	uint64_t epoch; /* advanced by the writer whenever chunks die */
	uint64_t pad[7];
	struct rslot slot[NREADERS];
};
_Static_assert(sizeof(struct rtab) <= RTAB_SIZE, "the reader table fits its object");

struct wait { /* chunks [first, first + n) died at epoch; not reused before readers pass it */
	uint64_t first, n, epoch;
};

struct op { /* a queued put (off) or delete (key copy) */
	uint64_t off;
	char *key;
	size_t klen;
};

struct kv {
	daxmap_pool *pool;
	daxmap_obj *log_obj, *idx_obj;
	char *log;       /* mapping of kv.log, LOG_MAP bytes */
	uint64_t *slot;  /* mapping of kv.index */
	uint64_t nslots;
	uint64_t tail;   /* where the next record goes ... */
	uint64_t tail_chunk; /* ... in this chunk */
	uint32_t *live;  /* live record bytes per chunk, queued puts included */
	uint64_t keys, deleted, punched;
	int in_batch;
	uint64_t batch_start; /* log offset of the batch's first record */
	struct op *ops;       /* the batch */
	size_t nops, ops_cap, nputs;
	/* several processes; all 0 or NULL in a store opened by kv_open */
	int flags;            /* KV_SHARED, KV_READONLY */
	int lock_fd;          /* the pool file, for the OFD locks (-1: none) */
	int rslot;            /* a reader's slot in the table */
	daxmap_obj *rt_obj;
	struct rtab *rt;      /* kv.readers: set in a shared store only */
	uint64_t log_size;    /* a reader: the log's size as last read */
	uint8_t *waiting;     /* the writer: 1 per chunk in waits */
	struct wait *waits;
	size_t nwaits, waits_cap;
	uint64_t nwaiting;    /* chunks in waits */
};

static _Thread_local char errmsg[256];

const char *kv_errormsg(void)
{
	return errmsg;
}

static int kv_err(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int kv_err(int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return ret;
}

/* A fast 64-bit hash (not cryptographic): index position, tag and checksum. */
static uint64_t hash64(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	uint64_t w;

	h ^= n * UINT64_C(0x9e3779b97f4a7c15);
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 29);
}

static uint64_t rec_size(size_t klen, size_t vlen)
{
	return (sizeof(struct rec) + klen + vlen + 7) & ~UINT64_C(7);
}

static struct rec *rec_at(const struct kv *kv, uint64_t off)
{
	return (struct rec *)(kv->log + off);
}

static const char *rec_key(const struct rec *r)
{
	return (const char *)(r + 1);
}

static uint64_t rec_sum(const struct rec *r)
{
	return hash64(r + 1, (size_t)r->klen + r->vlen, (uint64_t)r->klen << 32 | r->vlen);
}

static uint64_t chunk_first(uint64_t c)
{
	return c ? c * CHUNK : REC_START;
}

/* One aligned 8-byte store: a crash never sees half of it. */
static void store8(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int persist(const void *addr, size_t len)
{
	int ret = daxmap_persist(addr, len);
	return ret < 0 ? kv_err(ret, "persist: %s", daxmap_errormsg()) : 0;
}

/*
 * Gives chunk c back to the pool once no record in it is live. Without this
 * the pool fills with dead values: deleted and overwritten records are never
 * written again. Whole extents are freed, so the object becomes sparse.
 */
static void defer(struct kv *kv, uint64_t first, uint64_t n);

static void maybe_punch(struct kv *kv, uint64_t c)
{
	if (c == kv->tail_chunk || kv->live[c] != 0)
		return;
	if (kv->rt) {
		/* readers may still be in it; chunk 0 too, which is reused, never punched */
		if (!kv->waiting[c])
			defer(kv, c, 1);
		return;
	}
	if (c == 0)
		return;
	if (daxmap_obj_punch_hole(kv->log_obj, c * CHUNK, CHUNK) == 0)
		kv->punched++; /* on failure the space comes back at the next open */
}

/* ---- readers and the chunks they keep (shared stores) ----------------- */

/* Takes byte `at` of the pool file: 0, or -EBUSY when another open file has it. */
static int lock_byte(int fd, off_t at)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
}

/* Whether another open file holds byte `at`; when the kernel cannot say, it
 * does (keeping a chunk too long is safe, freeing it early is not). */
static int byte_held(int fd, off_t at)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};

	return fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type != F_UNLCK;
}

/*
 * A reader enters: it publishes the epoch it saw, then (after a full fence)
 * loads slots. The writer stores a slot, then (after a full fence) advances
 * the epoch and later loads the readers' slots. Either the writer sees this
 * reader's epoch, which is at most the one the chunk died in, or the reader
 * sees the new slot and never reaches the old record.
 */
static void pin(struct kv *kv)
{
	uint64_t e = __atomic_load_n(&kv->rt->epoch, __ATOMIC_SEQ_CST);

	__atomic_store_n(&kv->rt->slot[kv->rslot].epoch, e + 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void unpin(struct kv *kv)
{
	__atomic_store_n(&kv->rt->slot[kv->rslot].epoch, 0, __ATOMIC_RELEASE);
}

/* Chunks [first, first + n) are dead: they wait for the readers now reading. */
static void defer(struct kv *kv, uint64_t first, uint64_t n)
{
	uint64_t e;

	for (uint64_t c = first; c < first + n; c++)
		kv->waiting[c] = 1;
	kv->nwaiting += n;
	if (kv->nwaits == kv->waits_cap) {
		size_t cap = kv->waits_cap ? 2 * kv->waits_cap : 64;
		struct wait *w = realloc(kv->waits, cap * sizeof(*w));
		if (!w)
			return; /* they stay unused until the next open finds them dead */
		kv->waits = w;
		kv->waits_cap = cap;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the slot stores before the epoch */
	e = __atomic_load_n(&kv->rt->epoch, __ATOMIC_SEQ_CST);
	kv->waits[kv->nwaits++] = (struct wait){first, n, e};
	__atomic_store_n(&kv->rt->epoch, e + 1, __ATOMIC_SEQ_CST);
}

/* The smallest epoch + 1 a live reader is reading under; UINT64_MAX if none reads. */
static uint64_t oldest_reader(struct kv *kv)
{
	uint64_t oldest = UINT64_MAX;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < NREADERS; i++) {
		uint64_t v = __atomic_load_n(&kv->rt->slot[i].epoch, __ATOMIC_SEQ_CST);
		/* a reader killed inside a read left its epoch, but its lock is gone */
		if (v != 0 && v < oldest && byte_held(kv->lock_fd, LOCK_BASE + 1 + i))
			oldest = v;
	}
	return oldest;
}

/* Punches (and makes reusable) the waiting chunks that no reader can still read. */
static void reclaim(struct kv *kv)
{
	uint64_t oldest;

	if (!kv->nwaits)
		return;
	oldest = oldest_reader(kv);
	for (size_t i = 0; i < kv->nwaits;) {
		struct wait w = kv->waits[i];
		uint64_t from = w.first ? w.first : 1; /* chunk 0 holds the superblock */
		if (oldest <= w.epoch + 1) {
			i++;
			continue;
		}
		if (w.first + w.n > from &&
		    daxmap_obj_punch_hole(kv->log_obj, from * CHUNK, (w.first + w.n - from) * CHUNK) == 0)
			kv->punched += w.first + w.n - from;
		for (uint64_t c = w.first; c < w.first + w.n; c++)
			kv->waiting[c] = 0;
		kv->nwaiting -= w.n;
		kv->waits[i] = kv->waits[--kv->nwaits];
	}
}

/*
 * Moves the tail to the lowest chunk without live records (a punched chunk,
 * or a new one past the end, which grows the object).
 */
static int next_chunk(struct kv *kv)
{
	uint64_t c, old = kv->tail_chunk;
	int ret;

	if (kv->rt)
		reclaim(kv);
	for (c = 0; c < NCHUNKS && (kv->live[c] || c == old || (kv->waiting && kv->waiting[c])); c++)
		;
	if (c == NCHUNKS)
		return kv_err(-ENOSPC, "log full: %llu bytes of live records",
			      (unsigned long long)LOG_MAP);
	/*
	 * Allocate before the first store. Letting the first touch of the hole
	 * allocate (which the library does for any store) would work while the
	 * pool has space, but a full pool would make that store SIGBUS; an
	 * explicit allocation turns it into -ENOSPC with the store intact.
	 */
	ret = daxmap_obj_allocate(kv->log_obj, c * CHUNK, CHUNK);
	if (ret < 0 && kv->nwaiting)
		return kv_err(ret, "cannot grow the log: %s (%llu dead chunks wait for readers)",
			      daxmap_errormsg(), (unsigned long long)kv->nwaiting);
	if (ret < 0)
		return kv_err(ret, "cannot grow the log: %s", daxmap_errormsg());
	kv->tail_chunk = c;
	kv->tail = chunk_first(c);
	maybe_punch(kv, old); /* its records may all have died while it was the tail */
	return 0;
}

/* Writes a record at the tail (not yet durable); stores its offset in *off. */
static int append(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen,
		  uint64_t *off)
{
	uint64_t size = rec_size(klen, vlen);
	struct rec *r;
	int ret;

	if (kv->tail + size > (kv->tail_chunk + 1) * CHUNK && (ret = next_chunk(kv)) < 0)
		return ret;
	r = rec_at(kv, kv->tail);
	r->klen = (uint32_t)klen;
	r->vlen = (uint32_t)vlen;
	if (klen)
		memcpy((char *)(r + 1), key, klen);
	if (vlen)
		memcpy((char *)(r + 1) + klen, val, vlen);
	r->sum = rec_sum(r);
	kv->live[kv->tail_chunk] += (uint32_t)size;
	*off = kv->tail;
	kv->tail += size;
	return 0;
}

/*
 * Finds key: returns its slot, or -1 with *spot set to the slot where it
 * would go (the first deleted or empty one on its probe sequence).
 */
static int64_t find(const struct kv *kv, const void *key, size_t klen, uint64_t h, uint64_t *spot)
{
	uint64_t mask = kv->nslots - 1, tag = h >> OFF_BITS, i = h & mask;

	*spot = UINT64_MAX;
	for (uint64_t n = 0; n < kv->nslots; n++, i = (i + 1) & mask) {
		uint64_t s = kv->slot[i];
		if (s == SLOT_EMPTY || s == SLOT_DELETED) {
			if (*spot == UINT64_MAX)
				*spot = i;
			if (s == SLOT_EMPTY)
				break;
			continue;
		}
		const struct rec *r = rec_at(kv, s & OFF_MASK);
		if (s >> OFF_BITS == tag && r->klen == klen && memcmp(rec_key(r), key, klen) == 0)
			return (int64_t)i;
	}
	return -1;
}

static int check_key(const struct kv *kv, const void *key, size_t klen)
{
	if (!kv || (!key && klen))
		return kv_err(-EINVAL, "NULL store or key");
	if (klen > KV_MAX_KEY)
		return kv_err(-E2BIG, "key of %zu bytes: the limit is %u", klen, KV_MAX_KEY);
	return 0;
}

static int check_writer(const struct kv *kv)
{
	return kv->flags & KV_READONLY ? kv_err(-EROFS, "the store is open read-only (a reader)") : 0;
}

/* Makes room for one more queued operation. */
static int op_reserve(struct kv *kv)
{
	if (kv->nops == kv->ops_cap) {
		size_t cap = kv->ops_cap ? 2 * kv->ops_cap : 64;
		struct op *ops = realloc(kv->ops, cap * sizeof(*ops));
		if (!ops)
			return kv_err(-ENOMEM, "out of memory for the batch");
		kv->ops = ops;
		kv->ops_cap = cap;
	}
	return 0;
}

/* Publishes the queued operations: the persist orders 1-3 at the top. */
static int commit(struct kv *kv)
{
	uint64_t mask = kv->nslots - 1, lo = UINT64_MAX, hi = 0, spot;
	int ret, deleted_any = 0;

	/* order 1: every record of the batch is durable before any slot points at it */
	if (kv->tail > kv->batch_start &&
	    (ret = persist(kv->log + kv->batch_start, kv->tail - kv->batch_start)) < 0)
		goto out;
	for (size_t n = 0; n < kv->nops; n++) {
		struct op *op = &kv->ops[n];
		const struct rec *r = op->key ? NULL : rec_at(kv, op->off);
		const void *key = r ? rec_key(r) : op->key;
		size_t klen = r ? r->klen : op->klen;
		uint64_t h = hash64(key, klen, 0), i, old, val;
		int64_t at = find(kv, key, klen, h, &spot);

		if (r) { /* put: overwrite in place, or take the free slot */
			i = at >= 0 ? (uint64_t)at : spot;
			val = (h >> OFF_BITS << OFF_BITS) | op->off;
			if (at < 0) {
				/*
				 * A put after a delete of the same key may land in an
				 * earlier slot than the deleted one: the delete must be
				 * durable first, or a crash could keep both copies.
				 */
				if (deleted_any && (ret = persist(&kv->slot[lo], (hi - lo + 1) * 8)) < 0)
					goto out;
				deleted_any = 0;
				kv->deleted -= kv->slot[i] == SLOT_DELETED;
				kv->keys++;
			}
		} else { /* delete */
			if (at < 0) {
				op->off = 0;
				continue;
			}
			i = (uint64_t)at;
			val = SLOT_DELETED;
			kv->keys--;
			kv->deleted++;
			deleted_any = 1;
		}
		old = kv->slot[i];
		store8(&kv->slot[i], val); /* order 2: the operation is published */
		lo = i < lo ? i : lo;
		hi = i > hi ? i : hi;
		/* a deleted slot followed by an empty one ends every probe: it can be empty too */
		for (uint64_t j = i; kv->slot[j] == SLOT_DELETED && kv->slot[(j + 1) & mask] == SLOT_EMPTY;
		     j = (j - 1) & mask) {
			store8(&kv->slot[j], SLOT_EMPTY);
			kv->deleted--;
			lo = j < lo ? j : lo;
			hi = j > hi ? j : hi;
		}
		/* the op now remembers the record it made dead, if any */
		op->off = old > SLOT_DELETED ? old & OFF_MASK : 0;
	}
	/*
	 * With msync a persist costs a system call whatever its length: one call
	 * over the span of stored slots. (On real pmem, flushing every stored
	 * slot's cache line separately would be cheaper than the span.)
	 */
	if (lo <= hi && (ret = persist(&kv->slot[lo], (hi - lo + 1) * 8)) < 0)
		goto out;
	/* order 3: nothing durable points at the dead records any more */
	for (size_t n = 0; n < kv->nops; n++) {
		const struct rec *r;
		uint64_t c = kv->ops[n].off / CHUNK;
		if (kv->ops[n].off == 0)
			continue;
		r = rec_at(kv, kv->ops[n].off);
		kv->live[c] -= (uint32_t)rec_size(r->klen, r->vlen);
		maybe_punch(kv, c);
	}
	if (kv->rt)
		reclaim(kv); /* this batch's dead chunks, and older ones readers have let go */
	ret = 0;
out:
	for (size_t n = 0; n < kv->nops; n++)
		free(kv->ops[n].key);
	kv->nops = kv->nputs = 0;
	kv->in_batch = 0;
	return ret;
}

int kv_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen)
{
	uint64_t off, spot;
	int ret;

	if ((ret = check_key(kv, key, klen)) < 0 || (ret = check_writer(kv)) < 0)
		return ret;
	if (!val && vlen)
		return kv_err(-EINVAL, "NULL value");
	if (vlen > KV_MAX_VALUE)
		return kv_err(-E2BIG, "value of %zu bytes: the limit is %u", vlen, KV_MAX_VALUE);
	/*
	 * At most 3/4 of the slots in use keeps probe sequences short and ends
	 * them. Near the limit only a put that takes no empty slot may go on
	 * (inside a batch we cannot tell: refused).
	 */
	if (kv->keys + kv->deleted + kv->nputs + 1 > kv->nslots / 4 * 3 &&
	    (kv->in_batch || (find(kv, key, klen, hash64(key, klen, 0), &spot) < 0 &&
			      kv->slot[spot] == SLOT_EMPTY)))
		return kv_err(-ENOSPC, "index full: %llu keys, %llu deleted slots of %llu",
			      (unsigned long long)kv->keys, (unsigned long long)kv->deleted,
			      (unsigned long long)kv->nslots);
	if (!kv->in_batch)
		kv->batch_start = kv->tail;
	if ((ret = op_reserve(kv)) < 0 || (ret = append(kv, key, klen, val, vlen, &off)) < 0)
		return ret;
	kv->ops[kv->nops++] = (struct op){.off = off};
	kv->nputs++;
	return kv->in_batch ? 0 : commit(kv);
}

int kv_del(struct kv *kv, const void *key, size_t klen)
{
	uint64_t spot;
	struct op op = {.klen = klen};
	int ret;

	if ((ret = check_key(kv, key, klen)) < 0 || (ret = check_writer(kv)) < 0)
		return ret;
	if (!kv->in_batch) {
		if (find(kv, key, klen, hash64(key, klen, 0), &spot) < 0)
			return kv_err(-ENOENT, "no such key");
		kv->batch_start = kv->tail;
	}
	/* a delete needs no log space (it works on a full pool): its key waits in memory */
	if ((ret = op_reserve(kv)) < 0)
		return ret;
	if (!(op.key = malloc(klen + 1)))
		return kv_err(-ENOMEM, "out of memory");
	if (klen)
		memcpy(op.key, key, klen);
	kv->ops[kv->nops++] = op;
	return kv->in_batch ? 0 : commit(kv);
}

/*
 * A reader's record at log offset off, or NULL when off is not where a
 * record can be. Nothing is read before it is known to lie inside the log
 * (past EOF is SIGBUS); the log may have grown since the reader last looked.
 * Under pin() a record a slot named cannot change, so checking it in place
 * and then copying it is safe.
 */
static const struct rec *rd_rec(struct kv *kv, uint64_t off)
{
	const struct rec *r;
	uint64_t size;

	if (off < REC_START || off % 8)
		return NULL;
	if (off + sizeof(*r) > kv->log_size) {
		daxmap_obj_size(kv->log_obj, &kv->log_size); /* sizes are shared */
		if (off + sizeof(*r) > kv->log_size)
			return NULL;
	}
	r = rec_at(kv, off);
	size = rec_size(r->klen, r->vlen);
	if (r->klen > KV_MAX_KEY || r->vlen > KV_MAX_VALUE || off + size > kv->log_size ||
	    off / CHUNK != (off + size - 1) / CHUNK)
		return NULL;
	return r;
}

/* find() for a reader (between pin and unpin): each slot is loaded once, as
 * the writer may store it meanwhile; *s gets the slot that matched. */
static int rd_find(struct kv *kv, const void *key, size_t klen, uint64_t *s, const struct rec **out)
{
	uint64_t h = hash64(key, klen, 0), mask = kv->nslots - 1, tag = h >> OFF_BITS, i = h & mask;

	for (uint64_t n = 0; n < kv->nslots; n++, i = (i + 1) & mask) {
		const struct rec *r;
		*s = __atomic_load_n(&kv->slot[i], __ATOMIC_ACQUIRE);
		if (*s == SLOT_EMPTY)
			break;
		if (*s == SLOT_DELETED || *s >> OFF_BITS != tag)
			continue;
		if (!(r = rd_rec(kv, *s & OFF_MASK)))
			return kv_err(-EUCLEAN, "index slot %llu points outside the log",
				      (unsigned long long)i);
		if (r->klen == klen && memcmp(rec_key(r), key, klen) == 0) {
			*out = r;
			return 0;
		}
	}
	return kv_err(-ENOENT, "no such key");
}

static int rd_get(struct kv *kv, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
	const struct rec *r = NULL;
	uint64_t s = 0;
	int ret;

	pin(kv);
	if ((ret = rd_find(kv, key, klen, &s, &r)) == 0) {
		if (rec_sum(r) != r->sum) {
			ret = kv_err(-EUCLEAN, "record at log offset %llu: checksum mismatch",
				     (unsigned long long)(s & OFF_MASK));
		} else {
			*vlen = r->vlen;
			if (cap)
				memcpy(buf, rec_key(r) + r->klen, cap < r->vlen ? cap : r->vlen);
		}
	}
	unpin(kv); /* the copy is done: the writer may reuse the chunk */
	return ret;
}

int kv_get(struct kv *kv, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen)
{
	const struct rec *r;
	uint64_t spot;
	int64_t i;
	int ret;

	if ((ret = check_key(kv, key, klen)) < 0)
		return ret;
	if ((!buf && cap) || !vlen)
		return kv_err(-EINVAL, "NULL buffer or length");
	if (kv->flags & KV_READONLY)
		return rd_get(kv, key, klen, buf, cap, vlen);
	if ((i = find(kv, key, klen, hash64(key, klen, 0), &spot)) < 0)
		return kv_err(-ENOENT, "no such key");
	r = rec_at(kv, kv->slot[i] & OFF_MASK);
	if (rec_sum(r) != r->sum)
		return kv_err(-EUCLEAN, "record at log offset %llu: checksum mismatch",
			      (unsigned long long)(kv->slot[i] & OFF_MASK));
	*vlen = r->vlen;
	if (cap)
		memcpy(buf, rec_key(r) + r->klen, cap < r->vlen ? cap : r->vlen);
	return 0;
}

int kv_begin(struct kv *kv)
{
	if (!kv || kv->in_batch)
		return kv_err(-EINVAL, kv ? "already in a batch" : "NULL store");
	if (check_writer(kv) < 0)
		return -EROFS;
	kv->in_batch = 1;
	kv->batch_start = kv->tail;
	return 0;
}

int kv_commit(struct kv *kv)
{
	if (kv && check_writer(kv) < 0)
		return -EROFS;
	if (!kv || !kv->in_batch)
		return kv_err(-EINVAL, kv ? "not in a batch" : "NULL store");
	return commit(kv);
}

static int cmp_keys(const void *a, const void *b, void *arg)
{
	const struct rec *x = rec_at(arg, *(const uint64_t *)a), *y = rec_at(arg, *(const uint64_t *)b);
	int c = memcmp(rec_key(x), rec_key(y), x->klen < y->klen ? x->klen : y->klen);
	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/*
 * A reader's scan: the offsets of the records the index names now, each
 * checked, in a growing array (the reader has no count of keys). The caller
 * holds pin() until it is done with them.
 */
static int rd_collect(struct kv *kv, uint64_t **out, uint64_t *count)
{
	uint64_t *offs = NULL, n = 0, cap = 0;

	for (uint64_t i = 0; i < kv->nslots; i++) {
		uint64_t s = __atomic_load_n(&kv->slot[i], __ATOMIC_ACQUIRE);
		const struct rec *r;
		if (s <= SLOT_DELETED)
			continue;
		if (!(r = rd_rec(kv, s & OFF_MASK)) || rec_sum(r) != r->sum) {
			free(offs);
			return kv_err(-EUCLEAN, "index slot %llu: record outside the log or damaged",
				      (unsigned long long)i);
		}
		if (n == cap) {
			uint64_t *o = realloc(offs, (cap = cap ? 2 * cap : 1024) * sizeof(*o));
			if (!o) {
				free(offs);
				return kv_err(-ENOMEM, "out of memory for the scan");
			}
			offs = o;
		}
		offs[n++] = s & OFF_MASK;
	}
	*out = offs;
	*count = n;
	return 0;
}

int kv_scan(struct kv *kv, kv_scan_cb cb, void *arg)
{
	uint64_t *offs = NULL, n = 0;
	int ret = 0;

	if (!kv || !cb)
		return kv_err(-EINVAL, "NULL store or callback");
	if (kv->flags & KV_READONLY) {
		/* pinned throughout: the callbacks read the records in place */
		pin(kv);
		if ((ret = rd_collect(kv, &offs, &n)) == 0) {
			qsort_r(offs, n, sizeof(*offs), cmp_keys, kv);
			for (uint64_t i = 0; i < n && ret == 0; i++) {
				const struct rec *r = rec_at(kv, offs[i]);
				ret = cb(rec_key(r), r->klen, rec_key(r) + r->klen, r->vlen, arg);
			}
			free(offs);
		}
		unpin(kv);
		return ret;
	}
	if (!(offs = malloc((kv->keys + 1) * sizeof(*offs))))
		return kv_err(-ENOMEM, "out of memory for %llu keys", (unsigned long long)kv->keys);
	for (uint64_t i = 0; i < kv->nslots; i++)
		if (kv->slot[i] > SLOT_DELETED)
			offs[n++] = kv->slot[i] & OFF_MASK;
	qsort_r(offs, n, sizeof(*offs), cmp_keys, kv);
	for (uint64_t i = 0; i < n && ret == 0; i++) {
		const struct rec *r = rec_at(kv, offs[i]);
		ret = cb(rec_key(r), r->klen, rec_key(r) + r->klen, r->vlen, arg);
	}
	free(offs);
	return ret;
}

int kv_stat(struct kv *kv, struct kv_stat *st)
{
	struct daxmap_pool_stat ps;

	if (!kv || !st)
		return kv_err(-EINVAL, "NULL argument");
	memset(st, 0, sizeof(*st));
	st->index_slots = kv->nslots;
	if (kv->flags & KV_READONLY) {
		pin(kv); /* live_bytes reads the records */
		for (uint64_t i = 0; i < kv->nslots; i++) {
			uint64_t s = __atomic_load_n(&kv->slot[i], __ATOMIC_ACQUIRE);
			const struct rec *r = s > SLOT_DELETED ? rd_rec(kv, s & OFF_MASK) : NULL;
			st->tombstones += s == SLOT_DELETED;
			st->keys += s > SLOT_DELETED;
			st->live_bytes += r ? rec_size(r->klen, r->vlen) : 0;
		}
		unpin(kv);
	} else {
		st->keys = kv->keys;
		st->tombstones = kv->deleted;
		for (uint64_t c = 0; c < NCHUNKS; c++)
			st->live_bytes += kv->live[c];
		st->chunks_punched = kv->punched;
		st->chunks_waiting = kv->nwaiting;
	}
	daxmap_obj_size(kv->log_obj, &st->log_size);
	for (int i = 0; kv->rt && i < NREADERS; i++)
		st->readers += i != kv->rslot && byte_held(kv->lock_fd, LOCK_BASE + 1 + i);
	st->readers += (kv->flags & KV_READONLY) != 0; /* our own lock does not show to us */
	if (daxmap_pool_stat(kv->pool, &ps) == 0) {
		st->pool_used = ps.used;
		st->pool_free = ps.free;
	}
	return 0;
}

/* A new store. The superblock is written last: a zero one means "never used". */
static int init(struct kv *kv, const struct kv_create_opts *o)
{
	struct super *sb = (struct super *)kv->log;
	uint64_t slots = o->index_slots ? o->index_slots : DEFAULT_SLOTS;
	int ret;

	if (slots < 64 || slots > (UINT64_C(1) << 32) || (slots & (slots - 1)))
		return kv_err(-EINVAL, "index_slots %llu: not a power of two in 64 .. 2^32",
			      (unsigned long long)slots);
	/* the index is allocated whole: stores into it must never find the pool full */
	if ((ret = daxmap_obj_truncate(kv->idx_obj, 0)) < 0 ||
	    (ret = daxmap_obj_allocate(kv->idx_obj, 0, slots * 8)) < 0 ||
	    (ret = daxmap_obj_allocate(kv->log_obj, 0, CHUNK)) < 0)
		return kv_err(ret, "cannot create the store: %s", daxmap_errormsg());
	memcpy(sb->magic, MAGIC, sizeof(sb->magic));
	sb->index_slots = slots;
	sb->sum = hash64(sb, offsetof(struct super, sum), 0);
	return persist(sb, sizeof(*sb));
}

/* Rebuilds the in-memory state from the index, checking every record. */
static int load(struct kv *kv, uint64_t log_size)
{
	uint64_t start = 0, end = REC_START, c;

	for (uint64_t i = 0; i < kv->nslots; i++) {
		uint64_t s = kv->slot[i], off = s & OFF_MASK, size;
		const struct rec *r = rec_at(kv, off);
		if (s == SLOT_EMPTY)
			continue;
		if (s == SLOT_DELETED) {
			kv->deleted++;
			continue;
		}
		if (off < REC_START || off % 8 || off + sizeof(*r) > log_size)
			return kv_err(-EUCLEAN, "index slot %llu points outside the log",
				      (unsigned long long)i);
		size = rec_size(r->klen, r->vlen);
		if (r->klen > KV_MAX_KEY || r->vlen > KV_MAX_VALUE || off + size > log_size ||
		    off / CHUNK != (off + size - 1) / CHUNK || rec_sum(r) != r->sum ||
		    hash64(rec_key(r), r->klen, 0) >> OFF_BITS != s >> OFF_BITS)
			return kv_err(-EUCLEAN, "record at log offset %llu (slot %llu) is damaged",
				      (unsigned long long)off, (unsigned long long)i);
		kv->keys++;
		kv->live[off / CHUNK] += (uint32_t)size;
		end = off + size > end ? off + size : end;
	}
	if (kv->keys + kv->deleted > kv->nslots / 4 * 3)
		return kv_err(-EUCLEAN, "index overfull");
	/* appends go on after the last live record (what follows it is dead) */
	kv->tail = end;
	kv->tail_chunk = (end - 1) / CHUNK;
	/* space a crash kept from being punched goes back now */
	for (c = 1; c <= log_size / CHUNK; c++) {
		int dead = c < log_size / CHUNK && !kv->live[c] && c != kv->tail_chunk;
		if (dead && !start)
			start = c;
		if (!dead && start) {
			/* shared: a reader may still be in them, left by the last writer */
			if (kv->rt)
				defer(kv, start, c - start);
			else
				daxmap_obj_punch_hole(kv->log_obj, start * CHUNK, (c - start) * CHUNK);
			start = 0;
		}
	}
	if (kv->rt) {
		if (!kv->live[0] && kv->tail_chunk != 0)
			defer(kv, 0, 1);
		/*
		 * The dead records after the last live one may be what a reader
		 * is reading (the last writer overwrote their slots just before
		 * it stopped): the first append starts a new chunk instead.
		 */
		kv->tail = (kv->tail_chunk + 1) * CHUNK;
		reclaim(kv);
	}
	/* the tail's chunk holds a live record or the superblock: it is allocated */
	return 0;
}

/*
 * The reader table of a shared store, made by whoever opens first (a reader
 * may come before any shared writer); a reader also takes a slot of it: the
 * first whose lock is free, so whoever had it before is gone.
 */
static int open_readers(struct kv *kv)
{
	void *addr;
	int ret;

	if ((ret = daxmap_obj_open(&kv->rt_obj, kv->pool, "kv.readers", DAXMAP_CREATE)) < 0 ||
	    (ret = daxmap_obj_allocate(kv->rt_obj, 0, RTAB_SIZE)) < 0 ||
	    (ret = daxmap_map(&addr, kv->rt_obj, 0, RTAB_SIZE, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0)
		return kv_err(ret, "the reader table: %s", daxmap_errormsg());
	kv->rt = addr;
	if (!(kv->flags & KV_READONLY))
		return 0;
	for (int i = 0; i < NREADERS; i++) {
		if (lock_byte(kv->lock_fd, LOCK_BASE + 1 + i) < 0)
			continue;
		/* an epoch left by a reader that was killed is not ours */
		__atomic_store_n(&kv->rt->slot[i].epoch, 0, __ATOMIC_SEQ_CST);
		kv->rt->slot[i].pid = (uint64_t)getpid();
		kv->rslot = i;
		return 0;
	}
	return kv_err(-EUSERS, "%d readers have the store open already", NREADERS);
}

/* Unmaps and closes what an open set up, in the reverse order. */
static void release(struct kv *kv)
{
	if (kv->slot)
		daxmap_unmap(kv->slot, kv->nslots * 8);
	if (kv->log)
		daxmap_unmap(kv->log, LOG_MAP);
	if (kv->rt && kv->rslot >= 0)
		kv->rt->slot[kv->rslot].pid = 0;
	if (kv->rt)
		daxmap_unmap(kv->rt, RTAB_SIZE);
	daxmap_obj_close(kv->rt_obj);
	daxmap_obj_close(kv->idx_obj);
	daxmap_obj_close(kv->log_obj);
}

static void free_kv(struct kv *kv)
{
	if (!kv)
		return;
	if (kv->lock_fd >= 0)
		close(kv->lock_fd); /* the writer's lock goes last: its work is done */
	free(kv->waits);
	free(kv->waiting);
	free(kv->ops);
	free(kv->live);
	free(kv);
}

int kv_open(struct kv **out, const char *path, const struct kv_create_opts *create)
{
	return kv_open_opts(out, path, &(struct kv_open_opts){.create = create});
}

int kv_open_opts(struct kv **out, const char *path, const struct kv_open_opts *opts)
{
	const struct kv_create_opts *create = opts ? opts->create : NULL;
	struct daxmap_pool_opts po;
	struct super *sb;
	struct kv *kv;
	uint64_t log_size, idx_size, size;
	void *addr;
	int ret, flags = create ? DAXMAP_CREATE : 0, created = 0, fl = opts ? opts->flags : 0, rd;
	int prot;

	if (!out || !path)
		return kv_err(-EINVAL, "NULL argument");
	*out = NULL;
	if (fl & ~(KV_SHARED | KV_READONLY))
		return kv_err(-EINVAL, "unknown flags 0x%x", (unsigned)fl);
	rd = fl & KV_READONLY;
	if (rd && create)
		return kv_err(-EINVAL, "a reader (KV_READONLY) cannot create a store");
	fl |= rd ? KV_SHARED : 0;
	prot = rd ? DAXMAP_PROT_READ : DAXMAP_PROT_READ | DAXMAP_PROT_WRITE;
	if (!(kv = calloc(1, sizeof(*kv))))
		return kv_err(-ENOMEM, "out of memory");
	kv->flags = fl;
	kv->lock_fd = kv->rslot = -1;
	if ((!rd && !(kv->live = calloc(NCHUNKS, sizeof(*kv->live)))) ||
	    ((fl & KV_SHARED) && !rd && !(kv->waiting = calloc(NCHUNKS, 1)))) {
		ret = kv_err(-ENOMEM, "out of memory");
		goto out_free;
	}
	daxmap_pool_opts_init(&po);
	po.shared = (fl & KV_SHARED) != 0;
	size = create && create->pool_size ? create->pool_size : DEFAULT_POOL_SIZE;
	ret = po.shared ? daxmap_pool_open_opts(&kv->pool, path, &po) : daxmap_pool_open(&kv->pool, path);
	if (ret == -ENOENT && create) {
		ret = po.shared ? daxmap_pool_create_opts(&kv->pool, path, size, 0600, &po)
				: daxmap_pool_create(&kv->pool, path, size, 0600);
		created = ret == 0;
		if (ret == -EEXIST && po.shared) /* another process made it meanwhile */
			ret = daxmap_pool_open_opts(&kv->pool, path, &po);
	}
	if (ret < 0) {
		kv_err(ret, "%s: %s", path, daxmap_errormsg());
		goto out_free;
	}
	if (po.shared) {
		if ((kv->lock_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
			ret = kv_err(-errno, "%s: %s", path, strerror(errno));
			goto out_close;
		}
		/* before anything is read: the store is ours to write, or busy */
		if (!rd && (ret = lock_byte(kv->lock_fd, LOCK_BASE)) < 0) {
			kv_err(ret, "%s: %s", path,
			       ret == -EBUSY ? "another process writes the store" : strerror(-ret));
			goto out_close;
		}
	}
	if ((ret = daxmap_obj_open(&kv->log_obj, kv->pool, "kv.log", flags)) < 0 ||
	    (ret = daxmap_obj_open(&kv->idx_obj, kv->pool, "kv.index", flags)) < 0) {
		if (ret == -ENOENT)
			ret = kv_err(-EINVAL, "%s: not a kvstore (no kv.log or kv.index object)", path);
		else
			kv_err(ret, "%s: %s", path, daxmap_errormsg());
		goto out_close;
	}
	if (po.shared && (ret = open_readers(kv)) < 0)
		goto out_close;
	/* one mapping for the log's whole possible range: growing it never moves it */
	if ((ret = daxmap_map(&addr, kv->log_obj, 0, LOG_MAP, prot)) < 0) {
		kv_err(ret, "map the log: %s", daxmap_errormsg());
		goto out_close;
	}
	kv->log = addr;
	sb = addr;
	daxmap_obj_size(kv->log_obj, &log_size); /* reading past EOF would be SIGBUS */
	if (log_size < REC_START || !memcmp(sb->magic, "\0\0\0\0\0\0\0", 8)) {
		if (!create) {
			ret = kv_err(-EINVAL, "%s: not a kvstore (empty superblock)", path);
			goto out_close;
		}
		if ((ret = init(kv, create)) < 0)
			goto out_close;
		daxmap_obj_size(kv->log_obj, &log_size);
	}
	if (memcmp(sb->magic, MAGIC, sizeof(sb->magic)) != 0) {
		ret = kv_err(-EINVAL, "%s: not a kvstore (bad magic)", path);
		goto out_close;
	}
	kv->nslots = sb->index_slots;
	daxmap_obj_size(kv->idx_obj, &idx_size);
	if (sb->sum != hash64(sb, offsetof(struct super, sum), 0) || idx_size != kv->nslots * 8) {
		ret = kv_err(-EUCLEAN, "%s: kvstore superblock damaged", path);
		goto out_close;
	}
	if ((ret = daxmap_map(&addr, kv->idx_obj, 0, idx_size, prot)) < 0) {
		kv_err(ret, "map the index: %s", daxmap_errormsg());
		goto out_close;
	}
	kv->slot = addr;
	/* a reader checks each record it reads instead: the writer may be at work */
	kv->log_size = log_size;
	if (!rd && (ret = load(kv, log_size)) < 0)
		goto out_close;
	*out = kv;
	return 0;

out_close:
	release(kv);
	/* a pool made for this store goes again, removed while we still hold
	 * its lock: nobody else can have opened it (unless it is shared) */
	if (created && !po.shared)
		unlink(path);
	daxmap_pool_close(kv->pool);
out_free:
	free_kv(kv);
	return ret;
}

int kv_close(struct kv *kv)
{
	int ret;

	if (!kv)
		return 0;
	for (size_t n = 0; n < kv->nops; n++)
		free(kv->ops[n].key);
	if (kv->rt && !(kv->flags & KV_READONLY))
		reclaim(kv); /* what is left waits for the next writer's open */
	release(kv);
	ret = daxmap_pool_close(kv->pool);
	if (ret < 0)
		kv_err(ret, "close: %s", daxmap_errormsg());
	free_kv(kv);
	return ret;
}
