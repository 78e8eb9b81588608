/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kv: a crash-safe key-value store kept in a libdaxmap pool (README.md).
 *
 * Every function returns 0 or a negative errno value; kv_errormsg() then
 * says what failed. A store is used by one thread at a time (add your own
 * lock), and a pool is open in one process at a time.
 */
#ifndef KV_H
#define KV_H 1

#include <stddef.h>
#include <stdint.h>

#define KV_MAX_KEY 1024u          /* longest key in bytes; the empty key is allowed */
#define KV_MAX_VALUE (1u << 20)   /* longest value in bytes (1 MiB) */

struct kv;

/* What a new store looks like; zero in a field means the default. */
struct kv_create_opts {
	uint64_t pool_size;   /* size of a new pool file; default 1 GiB */
	uint64_t index_slots; /* power of two, 64 .. 2^32; holds up to 3/4 as many keys;
	                         default 2^20 (8 MiB of index) */
};

/*
 * Opens the store in the pool file `path`. With create == NULL the pool must
 * exist and hold a store. Otherwise a missing pool is created and a pool
 * without a store gets one; a pool created by this call is removed again
 * when the store cannot be made in it (bad options, no space). Errors: -EINVAL (NULL, not a kvstore, bad
 * options), -EUCLEAN (store damaged: bad checksum or a slot pointing outside
 * the log), -EBUSY (open in another process), -ENOSPC, and the errors of
 * daxmap_pool_open/create.
 */
int kv_open(struct kv **kv, const char *path, const struct kv_create_opts *create);

/* Closes the store; an uncommitted batch is discarded. NULL returns 0. */
int kv_close(struct kv *kv);

/*
 * Stores key -> value. When it returns 0 outside a batch, the put is durable.
 * A NULL pointer is accepted only with length 0. Errors: -EINVAL, -E2BIG
 * (key longer than KV_MAX_KEY or value longer than KV_MAX_VALUE), -ENOSPC
 * (pool or index full: the store is unchanged).
 */
int kv_put(struct kv *kv, const void *key, size_t klen, const void *val, size_t vlen);

/*
 * Copies up to cap bytes of the value of key into buf and its full length
 * into *vlen (so *vlen > cap says buf was too small). Sees committed data
 * only, not a pending batch. Errors: -EINVAL, -E2BIG, -ENOENT, -EUCLEAN
 * (record checksum mismatch).
 */
int kv_get(struct kv *kv, const void *key, size_t klen, void *buf, size_t cap, size_t *vlen);

/*
 * Deletes key; durable when it returns 0 outside a batch. Errors: -EINVAL,
 * -E2BIG, -ENOENT (no such key; inside a batch a missing key is not an
 * error). Needs no new space: it works on a full pool.
 */
int kv_del(struct kv *kv, const void *key, size_t klen);

/*
 * Batches: after kv_begin, puts and deletes are queued (and their records
 * written) but neither visible nor durable until kv_commit, which makes them
 * durable with a few persists for the whole batch. A crash before kv_commit
 * returns keeps any subset of the batch (a batch is durable, not atomic).
 * Errors: -EINVAL (NULL, kv_begin inside a batch, kv_commit outside one).
 */
int kv_begin(struct kv *kv);
int kv_commit(struct kv *kv);

/*
 * Calls cb for every key in ascending byte order (a key before its
 * extensions). key and val point into the store and are valid during the
 * call only; cb must not change the store. A non-zero return of cb stops the
 * scan and is returned.
 */
typedef int (*kv_scan_cb)(const void *key, size_t klen, const void *val, size_t vlen, void *arg);
int kv_scan(struct kv *kv, kv_scan_cb cb, void *arg);

struct kv_stat {
	uint64_t keys;
	uint64_t index_slots;
	uint64_t tombstones;    /* index slots of deleted keys, not yet reusable as empty */
	uint64_t live_bytes;    /* log bytes in live records */
	uint64_t log_size;      /* size of the log object (its allocated chunks are fewer) */
	uint64_t chunks_punched; /* log chunks given back to the pool since open */
	uint64_t pool_used;     /* pool bytes allocated to extents (all objects) */
	uint64_t pool_free;
};

/* Fills *st. Errors: -EINVAL. */
int kv_stat(struct kv *kv, struct kv_stat *st);

/* Message of the calling thread's last error. */
const char *kv_errormsg(void);

#endif /* KV_H */
