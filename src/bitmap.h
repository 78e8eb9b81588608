/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bitmaps of 64-bit words: one bit per extent (the allocator's free-space
 * and warmth maps). Not thread-safe: the owner's lock protects them.
 */
#ifndef DAXMAP_BITMAP_H
#define DAXMAP_BITMAP_H

#include <stddef.h>
#include <stdint.h>

static inline int bit_test(const uint64_t *bm, uint64_t i)
{
	return (bm[i >> 6] >> (i & 63)) & 1;
}

static inline void bit_set(uint64_t *bm, uint64_t i)
{
	bm[i >> 6] |= UINT64_C(1) << (i & 63);
}

static inline void bit_clear(uint64_t *bm, uint64_t i)
{
	bm[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

/* First i in [from, n) with bit i set in `yes` and clear in `no` (no may be
 * NULL), or n. */
static inline uint64_t bit_find_andnot(const uint64_t *yes, const uint64_t *no, uint64_t from,
				       uint64_t n)
{
	uint64_t w, i = from;

	if (i >= n)
		return n;
	w = (yes[i >> 6] & ~(no ? no[i >> 6] : 0)) & (~UINT64_C(0) << (i & 63));
	i &= ~UINT64_C(63);
	for (;;) {
		if (w) {
			i += (uint64_t)__builtin_ctzll(w);
			return i < n ? i : n;
		}
		i += 64;
		if (i >= n)
			return n;
		w = yes[i >> 6] & ~(no ? no[i >> 6] : 0);
	}
}

/* First set bit at or after `from` and before `n`, or n. */
static inline uint64_t bit_find(const uint64_t *bm, uint64_t from, uint64_t n)
{
	return bit_find_andnot(bm, NULL, from, n);
}

#endif
