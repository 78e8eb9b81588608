/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection points (test builds only: see inject.h). The state is a
 * pair of atomic counters per point, process-wide; a hit takes one from
 * `left` with a compare-and-swap, so N armed failures fire exactly N times
 * however many handler threads race for them. A leaf: it calls no module
 * (daxmap_inject_clear, which also touches a pool, lives in pool.c).
 */
#include "inject.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "out.h"

static const char *const inject_names[INJ_NPOINTS] = {
	[INJ_ALLOC] = "alloc", [INJ_ZERO] = "zero",   [INJ_PERSIST] = "persist",
	[INJ_MMAP] = "mmap",   [INJ_IOCTL] = "ioctl", [INJ_WAKE] = "wake",
	[INJ_ZEROER] = "zeroer", [INJ_STALL] = "stall", [INJ_PUNCH] = "punch", [INJ_GROW] = "grow",
};

static _Atomic unsigned inject_left[INJ_NPOINTS];
static _Atomic int inject_err[INJ_NPOINTS];
static _Atomic long inject_fired[INJ_NPOINTS];

static int inject_lookup(const char *name)
{
	for (int i = 0; name && i < INJ_NPOINTS; i++)
		if (strcmp(name, inject_names[i]) == 0)
			return i;
	return -1;
}

int inject_hit(enum inject_point p)
{
	unsigned left = atomic_load(&inject_left[p]);

	while (left > 0)
		if (atomic_compare_exchange_weak(&inject_left[p], &left, left - 1)) {
			atomic_fetch_add(&inject_fired[p], 1);
			LOG(OUT_NOTICE, "injected failure at %s: %s", inject_names[p],
			    strerror(atomic_load(&inject_err[p])));
			return -atomic_load(&inject_err[p]);
		}
	return 0;
}

int inject_armed(enum inject_point p)
{
	return atomic_load(&inject_left[p]) > 0;
}

int daxmap_inject_set(const char *point, unsigned count, int err)
{
	int p = inject_lookup(point);

	if (p < 0)
		return ERR(-EINVAL, "no injection point %s", point ? point : "(null)");
	atomic_store(&inject_err[p], err > 0 ? err : EIO);
	atomic_store(&inject_left[p], count);
	return 0;
}

void inject_disarm_all(void)
{
	for (int p = 0; p < INJ_NPOINTS; p++)
		atomic_store(&inject_left[p], 0);
}

long daxmap_inject_hits(const char *point)
{
	int p = inject_lookup(point);

	return p < 0 ? -EINVAL : atomic_load(&inject_fired[p]);
}
