/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a process that has a pool open shared does for the others (the
 * callbacks of its run file's service thread, shared.h): a request of
 * another process's operation (drop the extents it frees, tear down the
 * mappings it changes, adopt its EOF), the faults to wake when a fence
 * drops, and the recovery of an operation whose process died holding op.
 */
#ifndef DAXMAP_PEER_H
#define DAXMAP_PEER_H

#include "fault.h"
#include "log.h"
#include "object.h"
#include "shared.h"

/* What the callbacks work on (wired once by pool.c). */
struct peer {
	struct objtab *tab;
	struct fault_ctx *fault;
	struct log_state *log;
	struct shared *sh;
	const char *path;
};

/* arg: the struct peer. Take maps_lock shared, then the object's
 * range, then its extents_lock (never a lock of another process). */
void peer_handle(void *arg, const struct shared_req *r);
/* Takes the fault context's retry_lock. */
void peer_fence_dropped(void *arg);
/* With op held, taken from a dead holder: its operation is finished (its
 * logged record replayed) or undone, every process told. */
void peer_recover(void *arg);

#endif
