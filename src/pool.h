/*
 * The in-memory pool: the mapped file, its layout, the modules' state and
 * the counters. See layout.h for the file format.
 */
#ifndef DAXMAP_POOL_H
#define DAXMAP_POOL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"
#include "libdaxmap.h"
#include "lock.h"
#include "rangelock.h"

struct dm_mapping;
struct log_record;

/* allocator state, owned by alloc.c */
struct alloc {
	struct dm_mutex lock; /* protects: the bitmaps, counts and cursor below, and every
				 write of a persistent extent-table entry */
	uint64_t *free_zeroed /* under lock */; /* bit per extent: free and zero */
	uint64_t *free_dirty /* under lock */;  /* bit per extent: free, waiting for the zeroer */
	uint64_t nzeroed /* under lock */, ndirty /* under lock */;
	uint64_t nbusy /* under lock */; /* taken out of free_dirty for zeroing, not yet back */
	uint64_t cursor /* under lock */; /* where a goal-less search starts */
	pthread_cond_t zeroer_cond;  /* signalled when ndirty grows or on stop */
	pthread_cond_t zeroed_cond;  /* broadcast when an extent leaves nbusy */
	int zeroer_stop /* under lock */;
	int zeroer_running;
	pthread_t zeroer;
};

/* object table state, owned by object.c */
struct objtab {
	struct dm_mutex lock; /* protects: objs[], every slot's state and goal, open and map counts */
	struct daxmap_obj **objs /* under lock */; /* open objects by slot, NULL if not open */
	uint64_t live /* under lock */;            /* LIVE slots */
};

/* fault handling state, owned by fault.c */
struct fault_wake_pending;
struct fault_ctx {
	struct dm_mutex err_lock; /* protects: err_addr[], err_count, err_cap, wake_pending */
	uintptr_t *err_addr /* under err_lock */; /* pages poisoned for an error (not
				  EOF): cleared again for a fresh attempt; grows as needed */
	unsigned err_count /* under err_lock */, err_cap /* under err_lock */;
	struct fault_wake_pending *wake_pending /* under err_lock */; /* failed wakes to retry */
	struct dm_mutex retry_lock; /* protects: retry list */
	struct range_parked *retry /* under retry_lock */; /* parked faults to run again */
	int kick_fd; /* eventfd: written when the retry list gets work */
	int uffd;
	int stop_fd; /* eventfd: handler threads exit when it is readable */
	uint64_t features;
	int user_mode_only;
	unsigned nthreads;
	pthread_t *threads;
	void *zero_src; /* extent_size bytes of read-only zeros, the source of hole reads */
};

/* intent log state, owned by log.c */
struct log_state {
	struct dm_mutex lock; /* protects: busy, seq */
	pthread_cond_t free_cond; /* signalled when a record is released */
	uint64_t busy /* under lock */; /* bit per record in use */
	uint64_t seq /* under lock */;
	struct log_record *records;
};

struct pool_counters {
	_Atomic uint64_t faults, faults_write, faults_hole_read, faults_sigbus, faults_noop;
	_Atomic uint64_t extents_allocated, extents_freed;
	_Atomic uint64_t bytes_zeroed_fault, bytes_zeroed_background;
	_Atomic uint64_t latency[DAXMAP_LAT_BUCKETS];
};

struct daxmap_pool {
	char *path;
	int fd;          /* O_RDWR, holds the flock that makes us the only opener */
	char *base;      /* the whole file, mapped by pmem_map_file */
	size_t mapped_len;
	int is_pmem;

	struct pool_hdr *hdr;
	struct obj_slot *slots;
	uint64_t *exttab;
	uint64_t data_off, extent_size, nextents;
	unsigned extent_shift;
	uint32_t max_objects;

	struct alloc alloc;
	struct objtab objtab;
	struct fault_ctx fault;
	struct log_state log;
	struct pool_counters counters;
	_Atomic uint64_t nmappings;
	int forked; /* set in a child after fork: the handle is dead there */
	struct daxmap_pool *next_open; /* list of open pools, under pools_lock */
};

/* Makes [addr, addr+len) of the pool mapping durable. */
void pool_persist(struct daxmap_pool *pool, const void *addr, size_t len);
/* Zeroes [addr, addr+len) of the pool mapping and makes the zeros durable. */
void pool_zero_persist(struct daxmap_pool *pool, void *addr, size_t len);
/* Address of pool extent idx in the pool mapping. */
static inline char *pool_extent_addr(struct daxmap_pool *pool, uint64_t idx)
{
	return pool->base + pool->data_off + (idx << pool->extent_shift);
}
/*
 * Checks every byte of a header read from a file of file_size bytes: 0, or
 * -EINVAL (not a pool), -EPROTONOSUPPORT or -EUCLEAN with a message naming
 * the offset. Used by open and by the read-only checker (check.c).
 */
int pool_hdr_check(const struct pool_hdr *h, uint64_t file_size, const char *path);
/* -EINVAL with a message when pool is NULL or was inherited across fork. */
int pool_check(struct daxmap_pool *pool);

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

#endif
