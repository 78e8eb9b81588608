/* SPDX-License-Identifier: BSD-3-Clause */
/* Crash emulation hook: reports every persistence point (see crashtest.h). */
#define _GNU_SOURCE
#include "crashtest.h"

#include <stdatomic.h>
#include <stdint.h>
#include "page.h"

static _Atomic(daxmap_crashtest_fn) hook;
static void *_Atomic hook_arg;

void daxmap_crashtest_set_hook(daxmap_crashtest_fn fn, void *arg)
{
	atomic_store(&hook_arg, arg);
	atomic_store(&hook, fn);
}

int crashtest_hooked(void)
{
	return atomic_load(&hook) != NULL;
}

void crashtest_persist(const char *path, const char *base, size_t pool_len, int is_pmem,
		       size_t off, size_t len)
{
	daxmap_crashtest_fn fn = atomic_load(&hook);
	/* what the persist writes back: msync writes whole pages, a cache flush whole lines */
	size_t g = is_pmem ? 64 : page_size(), end;

	if (!fn)
		return;
	if (len == 0) {
		fn(atomic_load(&hook_arg), path, base, pool_len, 0, 0); /* the size is durable */
		return;
	}
	end = off + len;
	off &= ~(g - 1);
	end = (end + g - 1) & ~(g - 1);
	if (end > pool_len)
		end = pool_len;
	fn(atomic_load(&hook_arg), path, base, pool_len, off, end - off);
}
