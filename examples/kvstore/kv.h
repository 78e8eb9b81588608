/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kv: a crash-safe key-value store kept in a libdaxmap pool (README.md).
 *
 * Every function returns 0 or a negative errno value; kv_errormsg() then
 * says what failed. A store is used by one thread at a time (add your own
 * lock). kv_open opens the pool in one process at a time; kv_open_opts with
 * KV_SHARED lets one writer and up to 63 readers in other processes use it
 * at once (README.md, "Several processes").
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

/* Flags of struct kv_open_opts. */
#define KV_SHARED 0x1   /* open the pool shared: readers in other processes may
                           read while this process writes */
#define KV_READONLY 0x2 /* a reader (implies KV_SHARED): maps the store read-only;
                           puts, deletes and batches fail with -EROFS */

struct kv_open_opts {
	int flags;                           /* 0, KV_SHARED, KV_READONLY (or both) */
	const struct kv_create_opts *create; /* as kv_open's create; must be NULL
	                                        with KV_READONLY */
};

/*
 * kv_open with flags; opts NULL or flags 0 is kv_open exactly. With
 * KV_SHARED and without KV_READONLY the caller is the store's one writer:
 * another writer, in any process, gets -EBUSY until it closes or dies.
 * Readers take no lock on the read path and never wait for the writer: each
 * kv_get sees the value of the last put or delete published before it, or
 * a later one, never a torn value. The writer gives a dead log chunk back
 * to the pool only once no reader can still be reading it (a reader killed
 * with SIGKILL is seen to be gone). A shared pool is never removed again
 * when its store cannot be made (another process may have it open). More
 * errors: -EINVAL (unknown flags, create with KV_READONLY), -EUSERS (63
 * readers have the store open).
 */
int kv_open_opts(struct kv **kv, const char *path, const struct kv_open_opts *opts);

/* Closes the store; an uncommitted batch is discarded. NULL returns 0. */
int kv_close(struct kv *kv);

/*
 * Stores key -> value. When it returns 0 outside a batch, the put is durable.
 * A NULL pointer is accepted only with length 0. Errors: -EINVAL, -E2BIG
 * (key longer than KV_MAX_KEY or value longer than KV_MAX_VALUE), -ENOSPC
 * (pool or index full: the store is unchanged; in a shared store also when
 * dead chunks wait for a reader that has not finished), -EROFS (a reader).
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
 * error), -EROFS (a reader). Needs no new space: it works on a full pool.
 */
int kv_del(struct kv *kv, const void *key, size_t klen);

/*
 * Batches: after kv_begin, puts and deletes are queued (and their records
 * written) but neither visible nor durable until kv_commit, which makes them
 * durable with a few persists for the whole batch. A crash before kv_commit
 * returns keeps any subset of the batch (a batch is durable, not atomic).
 * Errors: -EINVAL (NULL, kv_begin inside a batch, kv_commit outside one),
 * -EROFS (a reader).
 */
int kv_begin(struct kv *kv);
int kv_commit(struct kv *kv);

/*
 * Calls cb for every key in ascending byte order (a key before its
 * extensions). key and val point into the store and are valid during the
 * call only; cb must not change the store. A non-zero return of cb stops the
 * scan and is returned. In a reader the scan reads the index while the
 * writer may change it: each key shows with a value it had during the scan
 * (a key deleted and put again in one batch meanwhile may be missed or show
 * twice), and the writer keeps every chunk the scan may read until it
 * returns: a long scan holds dead space in the pool, as a long read
 * transaction does in LMDB. Errors: -EINVAL, -ENOMEM, -EUCLEAN.
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
	/* a shared store (KV_SHARED); 0 otherwise */
	uint64_t readers;        /* live readers of the store */
	uint64_t chunks_waiting; /* the writer's dead chunks still kept for readers */
};

/*
 * Fills *st. In a reader, keys, tombstones and live_bytes are counted from
 * the index as it is during the call, and chunks_punched and
 * chunks_waiting are 0 (the writer knows them). Errors: -EINVAL.
 */
int kv_stat(struct kv *kv, struct kv_stat *st);

/* Message of the calling thread's last error. */
const char *kv_errormsg(void);

#endif /* KV_H */
