/*
 * userfaultfd: opening it, registering mappings, the fault-handler threads
 * and the resolution of one fault (see doc/DESIGN.md, "one fault").
 */
#ifndef DAXMAP_FAULT_H
#define DAXMAP_FAULT_H

#include <stddef.h>

#include "pool.h"
#include "rangelock.h"

/* Opens the pool's userfaultfd and negotiates features. */
int fault_open(struct daxmap_pool *pool);
/* Starts the handler threads. */
int fault_start(struct daxmap_pool *pool);
/* Stops the handler threads and closes the userfaultfd. */
void fault_stop(struct daxmap_pool *pool);
/* Registers [va, va+len) for missing faults, and write-protect faults when writable. */
int fault_register(struct daxmap_pool *pool, void *va, size_t len, int prot);
/* Hands faults parked on a range lock (returned by rangelock_unlock) back
 * to the handler threads. Call with no lock held after every unlock of an
 * object range. */
void fault_requeue(struct daxmap_pool *pool, struct range_parked *list);
/* Pages answered with SIGBUS because of an error (not EOF) get a fresh
 * attempt at their next access: call with no lock held after freeing space. */
void fault_retry_errors(struct daxmap_pool *pool);

#endif
