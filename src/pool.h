/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool handle: one instance of each module's state, assembled by
 * pool.c. Each module owns its struct (declared in its own header) and is
 * handed the others it needs when pool.c starts it; nothing below pool.c
 * dereferences a struct daxmap_pool.
 */
#ifndef DAXMAP_POOL_H
#define DAXMAP_POOL_H

#include "alloc.h"
#include "counters.h"
#include "fault.h"
#include "libdaxmap.h"
#include "log.h"
#include "media.h"
#include "object.h"
#include "peer.h"
#include "shared.h"
#include "uffd.h"

struct daxmap_pool {
	struct pool_media media;   /* the file, its geometry, persist */
	struct pool_uffd uffd;     /* the userfaultfd */
	struct log_state log;      /* the intent log */
	struct alloc alloc;        /* free space and the zeroer */
	struct alloc alloc_blk;    /* version 3: blocks, carved from alloc's extents */
	struct objtab objtab;      /* objects */
	struct fault_ctx fault;    /* handler threads */
	struct pool_counters counters;
	struct pool_counters counters_blk; /* the block allocator's */
	struct dm_mutex grow_lock; /* protects: one grow at a time (the file's
				      extension, the size words, the new extents'
				      hand-over to the allocator) */
	uint64_t grow_step; /* automatic growth by this much (whole extents), or 0:
			       set at open, read-only after */
	struct shared shared; /* opened shared: the run file (shared.run NULL otherwise) */
	struct peer peer;     /* opened shared: what serves the other processes */
	struct daxmap_pool *next_open; /* list of open pools, under pools_lock (pool.c) */
};

#endif
