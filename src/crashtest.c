/* Crash emulation hook: reports every persistence point (see crashtest.h). */
#define _GNU_SOURCE
#include "crashtest.h"

#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "map.h"
#include "object.h"
#include "pool.h"

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

/* What the persist writes back: msync writes whole pages, a cache flush whole lines. */
static size_t persist_granule(struct daxmap_pool *pool)
{
	return pool->is_pmem ? 64 : (size_t)sysconf(_SC_PAGESIZE);
}

void crashtest_persist(struct daxmap_pool *pool, const void *addr, size_t len)
{
	daxmap_crashtest_fn fn = atomic_load(&hook);
	size_t g = persist_granule(pool), off, end;

	if (!fn || len == 0)
		return;
	off = (size_t)((const char *)addr - pool->base);
	end = off + len;
	off &= ~(g - 1);
	end = (end + g - 1) & ~(g - 1);
	if (end > pool->mapped_len)
		end = pool->mapped_len;
	fn(atomic_load(&hook_arg), pool->path, pool->base, pool->mapped_len, off, end - off);
}

void crashtest_persist_user(struct dm_mapping *m, const void *addr, size_t len)
{
	struct daxmap_pool *pool = m->pool;
	uint64_t es = pool->extent_size, g = persist_granule(pool);
	uintptr_t va = (uintptr_t)m->va, p, end;

	if (!atomic_load(&hook) || len == 0)
		return;
	/* widen as the persist does, in the mapping (extents are page aligned
	 * in both the mapping and the pool), clipped to the mapping */
	p = (uintptr_t)addr & ~(uintptr_t)(g - 1);
	end = ((uintptr_t)addr + len + g - 1) & ~(uintptr_t)(g - 1);
	if (p < va)
		p = va;
	if (end > va + m->len)
		end = va + m->len;
	while (p < end) {
		uint64_t off = m->obj_off + (p - va), e = off / es, pidx;
		uintptr_t n = (uintptr_t)((e + 1) * es - off);

		if (n > end - p)
			n = end - p;
		/* only extents mapped to the pool write anything back; holes
		 * read as copied zeros are anonymous memory */
		if (map_test_resolved(m, e) && (pidx = object_extent_get(m->obj, e)) != EXTMAP_NONE)
			crashtest_persist(pool, pool_extent_addr(pool, pidx) + (off - e * es), n);
		p += n;
	}
}
