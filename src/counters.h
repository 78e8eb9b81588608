/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool's statistics counters (daxmap_pool_stat): relaxed atomics that
 * the modules that count are handed a pointer to. A leaf: no locks, no calls.
 */
#ifndef DAXMAP_COUNTERS_H
#define DAXMAP_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "libdaxmap.h"

struct pool_counters {
	_Atomic uint64_t faults, faults_write, faults_hole_read, faults_sigbus, faults_noop;
	_Atomic uint64_t extents_allocated, extents_freed;
	_Atomic uint64_t bytes_zeroed_fault, bytes_zeroed_background;
	_Atomic uint64_t bytes_detached;           /* freed bytes whose pages left the file */
	_Atomic uint64_t bytes_warmed;             /* free bytes the warmer instantiated */
	_Atomic uint64_t extents_warm, extents_cold; /* allocations of warm / cold extents */
	_Atomic uint64_t bytes_mapped_known; /* allocated bytes daxmap_map mapped at once */
	_Atomic uint64_t grows;              /* grows of the pool since open (either kind) */
	_Atomic uint64_t latency[DAXMAP_LAT_BUCKETS];
	_Atomic uint64_t nmappings; /* live mappings (a gauge: map adds, unmap takes) */
	_Atomic uint64_t faults_active; /* faults being resolved right now (a gauge) */
};

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

#endif
