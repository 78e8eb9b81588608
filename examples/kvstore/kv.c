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
 */
#define _GNU_SOURCE /* qsort_r */
#include "kv.h"

#include <libdaxmap.h>

#include <errno.h>
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
static void maybe_punch(struct kv *kv, uint64_t c)
{
	if (c == 0 || c == kv->tail_chunk || kv->live[c] != 0)
		return;
	if (daxmap_obj_punch_hole(kv->log_obj, c * CHUNK, CHUNK) == 0)
		kv->punched++; /* on failure the space comes back at the next open */
}

/*
 * Moves the tail to the lowest chunk without live records (a punched chunk,
 * or a new one past the end, which grows the object).
 */
static int next_chunk(struct kv *kv)
{
	uint64_t c, old = kv->tail_chunk;
	int ret;

	for (c = 0; c < NCHUNKS && (kv->live[c] || c == old); c++)
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

	if ((ret = check_key(kv, key, klen)) < 0)
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

	if ((ret = check_key(kv, key, klen)) < 0)
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
	kv->in_batch = 1;
	kv->batch_start = kv->tail;
	return 0;
}

int kv_commit(struct kv *kv)
{
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

int kv_scan(struct kv *kv, kv_scan_cb cb, void *arg)
{
	uint64_t *offs, n = 0;
	int ret = 0;

	if (!kv || !cb)
		return kv_err(-EINVAL, "NULL store or callback");
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
	st->keys = kv->keys;
	st->index_slots = kv->nslots;
	st->tombstones = kv->deleted;
	for (uint64_t c = 0; c < NCHUNKS; c++)
		st->live_bytes += kv->live[c];
	daxmap_obj_size(kv->log_obj, &st->log_size);
	st->chunks_punched = kv->punched;
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
			daxmap_obj_punch_hole(kv->log_obj, start * CHUNK, (c - start) * CHUNK);
			start = 0;
		}
	}
	/* the tail's chunk holds a live record or the superblock: it is allocated */
	return 0;
}

int kv_open(struct kv **out, const char *path, const struct kv_create_opts *create)
{
	struct super *sb;
	struct kv *kv;
	uint64_t log_size, idx_size;
	void *addr;
	int ret, flags = create ? DAXMAP_CREATE : 0, created = 0;

	if (!out || !path)
		return kv_err(-EINVAL, "NULL argument");
	*out = NULL;
	if (!(kv = calloc(1, sizeof(*kv))) || !(kv->live = calloc(NCHUNKS, sizeof(*kv->live)))) {
		ret = kv_err(-ENOMEM, "out of memory");
		goto out_free;
	}
	ret = daxmap_pool_open(&kv->pool, path);
	if (ret == -ENOENT && create) {
		ret = daxmap_pool_create(&kv->pool, path,
					 create->pool_size ? create->pool_size : DEFAULT_POOL_SIZE, 0600);
		created = ret == 0;
	}
	if (ret < 0) {
		kv_err(ret, "%s: %s", path, daxmap_errormsg());
		goto out_free;
	}
	if ((ret = daxmap_obj_open(&kv->log_obj, kv->pool, "kv.log", flags)) < 0 ||
	    (ret = daxmap_obj_open(&kv->idx_obj, kv->pool, "kv.index", flags)) < 0) {
		if (ret == -ENOENT)
			ret = kv_err(-EINVAL, "%s: not a kvstore (no kv.log or kv.index object)", path);
		else
			kv_err(ret, "%s: %s", path, daxmap_errormsg());
		goto out_close;
	}
	/* one mapping for the log's whole possible range: growing it never moves it */
	if ((ret = daxmap_map(&addr, kv->log_obj, 0, LOG_MAP, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0) {
		kv_err(ret, "map the log: %s", daxmap_errormsg());
		goto out_close;
	}
	kv->log = addr;
	sb = addr;
	daxmap_obj_size(kv->log_obj, &log_size); /* reading past EOF would be SIGBUS */
	if (log_size < REC_START || !memcmp(sb->magic, "\0\0\0\0\0\0\0", 8)) {
		if (!create) {
			ret = kv_err(-EINVAL, "%s: not a kvstore (empty superblock)", path);
			goto out_unmap;
		}
		if ((ret = init(kv, create)) < 0)
			goto out_unmap;
		daxmap_obj_size(kv->log_obj, &log_size);
	}
	if (memcmp(sb->magic, MAGIC, sizeof(sb->magic)) != 0) {
		ret = kv_err(-EINVAL, "%s: not a kvstore (bad magic)", path);
		goto out_unmap;
	}
	kv->nslots = sb->index_slots;
	daxmap_obj_size(kv->idx_obj, &idx_size);
	if (sb->sum != hash64(sb, offsetof(struct super, sum), 0) || idx_size != kv->nslots * 8) {
		ret = kv_err(-EUCLEAN, "%s: kvstore superblock damaged", path);
		goto out_unmap;
	}
	if ((ret = daxmap_map(&addr, kv->idx_obj, 0, idx_size, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0) {
		kv_err(ret, "map the index: %s", daxmap_errormsg());
		goto out_unmap;
	}
	kv->slot = addr;
	if ((ret = load(kv, log_size)) < 0)
		goto out_unmap_index;
	*out = kv;
	return 0;

out_unmap_index:
	daxmap_unmap(kv->slot, kv->nslots * 8);
out_unmap:
	daxmap_unmap(kv->log, LOG_MAP);
out_close:
	daxmap_obj_close(kv->idx_obj);
	daxmap_obj_close(kv->log_obj);
	/* a pool made for this store goes again, removed while we still hold
	 * its lock: nobody else can have opened it */
	if (created)
		unlink(path);
	daxmap_pool_close(kv->pool);
out_free:
	if (kv)
		free(kv->live);
	free(kv);
	return ret;
}

int kv_close(struct kv *kv)
{
	int ret;

	if (!kv)
		return 0;
	for (size_t n = 0; n < kv->nops; n++)
		free(kv->ops[n].key);
	daxmap_unmap(kv->slot, kv->nslots * 8);
	daxmap_unmap(kv->log, LOG_MAP);
	daxmap_obj_close(kv->idx_obj);
	daxmap_obj_close(kv->log_obj);
	ret = daxmap_pool_close(kv->pool);
	if (ret < 0)
		kv_err(ret, "close: %s", daxmap_errormsg());
	free(kv->ops);
	free(kv->live);
	free(kv);
	return ret;
}
