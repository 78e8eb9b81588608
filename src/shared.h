/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A pool opened shared by several processes: the run file they share
 * (/dev/shm/daxmap-<pool uuid>-<dev>-<inode>.run, never inside the pool: PMDK's lesson,
 * pmdk#4141) and what lives in it: the process table, two robust
 * process-shared mutexes (`op`: one range operation at a time across the
 * processes; `meta`: the allocator, the object table, the change ring and
 * the fence), the ring of extent-table changes that lets every process
 * bring its in-memory state up to date from the persistent tables, the
 * fence of the range operation in progress, its request to the other
 * processes with their acknowledgements, and per object slot the mask of
 * processes that have it open and a generation. doc/DESIGN.md, "Several
 * processes on one pool", has the protocol; doc/LOCKING.md the order.
 *
 * The persistent tables stay the truth: the run file holds no state that
 * a crash of every process could lose, and it is rebuilt empty by the
 * first opener after the last one went away.
 */
#ifndef DAXMAP_SHARED_H
#define DAXMAP_SHARED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lock.h"

/* Processes that may have one pool open at once. */
#define SHARED_PROCS 64
/* Extent-table changes a process may fall behind by before it rescans. */
#define SHARED_RING 4096

/* A request's kind (struct shared_req.kind). */
enum shared_req_kind {
	SHARED_REQ_PUNCH = 1,  /* drop extents [free_lo, free_hi), tear [lo, hi) down in place */
	SHARED_REQ_SHRINK = 2, /* EOF := size, drop and tear down from lo on (mremap) */
	SHARED_REQ_GROW = 3,   /* EOF := size (was old): clear the SIGBUS markers past old */
	SHARED_REQ_REFRESH = 4, /* recovery: drop [free_lo, free_hi), tear [lo, hi) down,
				   EOF := the persistent size */
};

struct shared_req {
	uint32_t seq;    /* a seqlock: odd while the sender writes the request, then
			    the next even value, which its addressees acknowledge */
	uint32_t from;   /* the sender's process slot */
	uint64_t to;     /* the addressees: a bit per process slot */
	uint32_t slot;   /* the object */
	uint32_t kind;   /* enum shared_req_kind */
	uint64_t lo, hi; /* bytes whose mappings go */
	uint64_t free_lo, free_hi; /* object extents that may be freed: dropped from the maps */
	uint64_t size, old;
};

/* The fence of the range operation in progress (one at a time: `op`). */
struct shared_fence {
	uint32_t active; /* written last when set, first when cleared */
	uint32_t slot;
	uint32_t drops;  /* the others dropped [free_lo, free_hi) from their maps (a
			    punch's or shrink's request, a recovery): nothing there
			    may enter a map but the owner's until the fence drops */
	int32_t pid;     /* the owner: pid and start time (its process slot may be
			    another process's by the time it is found dead) */
	uint64_t start;
	uint64_t lo, hi;           /* bytes: a miss there waits until it drops */
	uint64_t free_lo, free_hi; /* object extents the operation may free */
};

struct shared_proc {
	_Atomic uint32_t bell; /* futex: rung for a request or a dropped fence */
	_Atomic uint32_t ack;  /* futex: the last request sequence handled */
	int32_t pid;           /* 0: a free slot */
	_Atomic uint32_t op_waiting; /* its threads waiting for op (a release hands
					op over to them: shared_op_unlock) */
	_Atomic uint32_t meta_waiting; /* its threads waiting for meta (background
					  work steps aside: shared_meta_yield) */
	uint32_t pad_;
	uint64_t start;        /* start time (/proc/PID/stat): a reused pid is another process */
};

struct shared_run {
	uint64_t magic;
	uint32_t version, nslots;
	uint8_t uuid[16];
	uint64_t len;
	pthread_mutex_t op;   /* protects: req; one range operation (and its fence) at a
				 time across the processes. Robust: a holder's death
				 hands the next taker the recovery of its operation */
	pthread_mutex_t meta; /* protects: the allocators' shared view (ring, ring_seq),
				 the object table's (objtab_gen, openers, slot_gen), the
				 fence, the process table. Robust: a holder's death makes
				 every process rescan the tables (epoch) */
	uint64_t epoch;       /* under meta: bumped when a dead holder of meta was seen */
	uint64_t ring_seq;    /* under meta: changes pushed to ring so far */
	uint64_t objtab_gen;  /* under meta: bumped by every create and unlink */
	_Atomic uint32_t fence_seq; /* futex word: bumped when a fence drops */
	_Atomic uint32_t op_gen;    /* futex word: bumped by each take of op */
	_Atomic uint32_t meta_gen;  /* futex word: bumped by each outermost take of meta */
	_Atomic uint32_t meta_yielding; /* threads waiting in shared_meta_yield */
	struct shared_fence fence; /* under meta, set and cleared by op's holder */
	struct shared_req req;     /* under op */
	struct shared_proc procs[SHARED_PROCS]; /* under meta */
	uint64_t ring[SHARED_RING]; /* under meta: table << 63 | pool extent index */
	/* then nslots opener masks (bit per process slot: it has the object
	 * open or mapped) and nslots generations (bumped by every change of
	 * the object made under a fence, and by create and unlink) */
};

#define SHARED_PATH_MAX 96

/* One process's handle on the run file. */
struct shared {
	char path[SHARED_PATH_MAX]; /* of the run file */
	struct shared_run *run;
	uint64_t *openers, *slot_gen; /* in run */
	int fd;
	unsigned me;  /* our process slot */
	int first;    /* we found no live process: the recovery at open is ours */
	uint64_t epoch_seen_meta; /* ours: the epoch when we last took meta */
	/* the service thread: requests of other processes, fence drops */
	pthread_t svc;
	int svc_running;
	_Atomic int svc_stop;
	void (*handle)(void *arg, const struct shared_req *r);
	void (*fence_dropped)(void *arg);
	void (*recover)(void *arg); /* runs an operation's recovery (op taken dead) */
	void *arg;
};

/*
 * Opens or creates the run file of the pool with this uuid and takes a
 * process slot in it; holds the run file's flock until shared_ready(), so
 * that one opener at a time builds its state (and the first one recovers
 * the pool). It is made with the pool file's mode and must belong to us or
 * to the pool file's owner (else -EACCES: a run file another user made
 * could forge the shared state). -EUSERS when SHARED_PROCS processes have
 * it open.
 */
int shared_attach(struct shared *sh, const uint8_t uuid[16], uint32_t nslots,
		  const struct stat *pool);
/* Our state is built: other openers may come (releases the flock). */
void shared_ready(struct shared *sh);
/* Starts the service thread with the callbacks above. */
int shared_start(struct shared *sh, void (*handle)(void *, const struct shared_req *),
		 void (*fence_dropped)(void *), void (*recover)(void *), void *arg);
/* Stops the service thread (idempotent). */
void shared_stop(struct shared *sh);
/* Stops the service thread, leaves the process table (the last one out
 * removes the run file) and unmaps it (idempotent; nothing if never attached). */
void shared_detach(struct shared *sh);

/* Whether a live process has the pool with this uuid open shared (its run
 * file says so; read-only, no lock: the checker's question). */
int shared_in_use(const uint8_t uuid[16], const struct stat *pool);

/* meta, re-entrant within a thread (the outermost take is the one in the
 * lock order). A holder found dead: epoch bumped, the state consistent. */
void shared_meta_lock(struct shared *sh);
void shared_meta_unlock(struct shared *sh);
/* Background work between two holds of meta: if a thread of any process
 * waits for meta, let it have it first (a while at most; the mutex is not
 * fair). No lock held. */
void shared_meta_yield(struct shared *sh);
/* op. When its last holder died holding it, the recovery of its operation
 * (the recover callback) runs here before it returns: call with no lock held. */
void shared_op_lock(struct shared *sh);
void shared_op_unlock(struct shared *sh);

/* Under meta: a change of pool extent idx of table t (0 extents, 1 blocks). */
void shared_ring_push(struct shared *sh, unsigned t, uint64_t idx);
/* Under meta: the change numbered seq, or -1 if it left the ring (rescan). */
int shared_ring_get(const struct shared *sh, uint64_t seq, unsigned *t, uint64_t *idx);

/* Under meta, by op's holder: the fence of its operation (its own thread
 * is not held back by it). */
void shared_fence_set(struct shared *sh, uint32_t slot, uint64_t lo, uint64_t hi,
		      uint64_t free_lo, uint64_t free_hi);
/* Under meta, by op's holder, before the request that makes the others drop
 * the free range. */
void shared_fence_drops(struct shared *sh);
/* Under meta: drops this thread's fence (none: nothing), bumps the object's
 * generation, wakes every process. */
void shared_fence_clear(struct shared *sh);
/* Under meta: byte off of the object in slot is behind another thread's fence. */
int shared_fenced(const struct shared *sh, uint32_t slot, uint64_t off);
/* Under meta: object extent e of slot may be freed by the fence's operation
 * (and the caller is not its thread, which sees everything it may free). */
int shared_fence_frees(const struct shared *sh, uint32_t slot, uint64_t e);
/* Under op and meta: the fence of a dead process's operation is this thread's now. */
void shared_fence_adopt(struct shared *sh);
/* The fence sequence now, and a wait (no lock held) until it moves from seen. */
uint32_t shared_fence_seq(const struct shared *sh);
void shared_fence_wait(struct shared *sh, uint32_t seen);

/* Under op: sends r to every other live process that has its object open
 * or mapped and waits for each one's acknowledgement (not for the dead,
 * nor for one that closed the pool or the object meanwhile). In two steps:
 * send, then (after work of the caller's own) wait. */
struct shared_wait {
	uint32_t seq, slot;
	unsigned n; /* addressees left to wait for */
	unsigned idx[SHARED_PROCS];
	int32_t pid[SHARED_PROCS];
	uint64_t start[SHARED_PROCS];
};
void shared_request(struct shared *sh, struct shared_req *r);
void shared_request_send(struct shared *sh, struct shared_req *r, struct shared_wait *w);
void shared_request_wait(struct shared *sh, struct shared_wait *w);

/* Under meta: we have the object in slot open or mapped (on 1) or no more. */
void shared_opener_set(struct shared *sh, uint32_t slot, int on);
/* Under meta: another live process has the object open or mapped. */
int shared_opened_elsewhere(struct shared *sh, uint32_t slot);

#endif
