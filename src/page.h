/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The system page size and rounding to it: the one place that asks for it
 * (sysconf is cached: fault handlers ask on every fault).
 */
#ifndef DAXMAP_PAGE_H
#define DAXMAP_PAGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

static inline size_t page_size(void)
{
	/* atomic: handler threads and callers may be the first to ask at once */
	static _Atomic size_t ps;
	size_t v = atomic_load_explicit(&ps, memory_order_relaxed);

	if (!v) {
		v = (size_t)sysconf(_SC_PAGESIZE);
		atomic_store_explicit(&ps, v, memory_order_relaxed);
	}
	return v;
}

/* x rounded up to a page multiple (x must be at least a page below 2^64). */
static inline uint64_t page_up(uint64_t x)
{
	uint64_t ps = page_size();
	return (x + ps - 1) & ~(ps - 1);
}

#endif
