/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Crash emulation (builds with DAXMAP_CRASHTEST only; see doc/DESIGN.md,
 * "Crash consistency: how it is tested").
 *
 * Every persistence point the library issues (media_persist,
 * media_zero_persist, daxmap_persist) is reported to a hook, before the bytes
 * are made durable, with the range of the pool file that the persist writes
 * back: widened to pages for msync (pmem_msync aligns to pages), to cache
 * lines for cache flushes. A test (tests/test_crash.c) keeps a shadow of
 * what is durable and turns each point into crash images.
 *
 * When DAXMAP_CRASHTEST is off, the library-side calls are empty inlines
 * and nothing of this is compiled in.
 */
#ifndef DAXMAP_CRASHTEST_H
#define DAXMAP_CRASHTEST_H

#include <stddef.h>

/*
 * The hook: pool file `path`, mapped at `base` (pool_len bytes, the live
 * contents), is about to make [off, off + len) durable. A call with len 0
 * and a larger pool_len says that the file's size is durably pool_len now
 * (a grow extended it: the new bytes read zero). Called from any
 * library thread (fault handlers, the zeroer, the caller's), possibly with
 * library locks held: it must not call into the library.
 */
typedef void (*daxmap_crashtest_fn)(void *arg, const char *path, const char *base,
				    size_t pool_len, size_t off, size_t len);

#ifdef DAXMAP_CRASHTEST
/* Installs the hook (NULL removes it). Exported from crash-test builds only. */
__attribute__((visibility("default"))) void daxmap_crashtest_set_hook(daxmap_crashtest_fn fn,
								      void *arg);
#endif

#ifdef DAXMAP_BUILD
#ifdef DAXMAP_CRASHTEST
/* 1 when a hook is installed. */
int crashtest_hooked(void);
/*
 * A persist of [off, off+len) of pool file `path`, mapped at `base`
 * (pool_len bytes); is_pmem says how it writes back (cache lines or pages).
 * The hook knows files and byte ranges only: it calls no module.
 */
void crashtest_persist(const char *path, const char *base, size_t pool_len, int is_pmem,
		       size_t off, size_t len);
#else
static inline int crashtest_hooked(void)
{
	return 0;
}
static inline void crashtest_persist(const char *path, const char *base, size_t pool_len,
				     int is_pmem, size_t off, size_t len)
{
	(void)path, (void)base, (void)pool_len, (void)is_pmem, (void)off, (void)len;
}
#endif
#endif

#endif
