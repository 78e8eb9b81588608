/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault injection, for test builds only (CMake option DAXMAP_INJECT, on for
 * Debug builds). Each named point sits at one step of fault resolution;
 * a test arms a point so that its next N hits fail with a chosen errno,
 * and checks that the faulting thread gets SIGBUS (or, where a retry
 * recovers, nothing at all), that no lock stays held, and that the next
 * fault on the same range succeeds.
 *
 * Without DAXMAP_INJECT, INJECT() is the constant 0: every injection point
 * compiles to nothing and the daxmap_inject_* symbols do not exist.
 *
 * This header is internal (never installed). The test-control functions
 * at the bottom are exported from inject builds only, for tests/; they are
 * deliberately not in include/libdaxmap.h.
 */
#ifndef DAXMAP_INJECT_H
#define DAXMAP_INJECT_H

#include <libdaxmap.h>

enum inject_point {
	INJ_ALLOC,   /* "alloc":   alloc_extent finds no extent for us */
	INJ_ZERO,    /* "zero":    inline zeroing of a dirty extent on the fault path */
	INJ_PERSIST, /* "persist": persist of the extent-table entry that commits an allocation */
	INJ_MMAP,    /* "mmap":    mmap of the pool pages of the extent */
	INJ_IOCTL,   /* "ioctl":   UFFDIO_COPY of zeros for a read of a hole */
	INJ_WAKE,    /* "wake":    UFFDIO_WAKE of the faulting range */
	INJ_ZEROER,  /* "zeroer":  a hold, not a failure: while armed, the background zeroer
			leaves dirty extents alone (so a test can make the fault path zero) */
	INJ_STALL,   /* "stall":   not a failure: the next N fault resolutions sleep 2 ms
			with the range held, so racing faults really overlap in tests */
	INJ_PUNCH,   /* "punch":   the punch of a freed extent out of the pool file fails
			(with EOPNOTSUPP: the file system cannot punch, and freed
			extents are zeroed in place from then on) */
	INJ_GROW,    /* "grow":    extending the pool file in a grow fails (as ENOSPC would) */
	INJ_NPOINTS
};

#ifdef DAXMAP_INJECT
/* 0, or the negative errno the point was armed with (consuming one hit). */
int inject_hit(enum inject_point p);
/* 1 while the point is armed, consuming nothing (for holds). */
int inject_armed(enum inject_point p);
/* Disarms every point (daxmap_inject_clear's first half). */
void inject_disarm_all(void);
#define INJECT(p) inject_hit(p)
#define INJECT_ARMED(p) inject_armed(p)

/* ---- test control (tests/ only) ---- */

/*
 * Arms `point` ("alloc", "zero", "persist", "mmap", "ioctl", "wake",
 * "zeroer", "stall", "punch", "grow"): its next `count` hits fail with -err (err 0 means EIO);
 * count 0 disarms it. Returns 0, or -EINVAL for an unknown point.
 */
DAXMAP_API int daxmap_inject_set(const char *point, unsigned count, int err);
/*
 * Disarms every point; then, if pool is not NULL, clears the SIGBUS markers
 * that errors left in its mappings (fault_retry_errors), so the next access
 * to a failed page faults afresh at once instead of after the ~20 ms grace.
 * Defined in pool.c (it takes the pool handle).
 */
DAXMAP_API void daxmap_inject_clear(daxmap_pool *pool);
/* Failures injected at `point` since the process started (-EINVAL if unknown). */
DAXMAP_API long daxmap_inject_hits(const char *point);
#else
#define INJECT(p) 0
#define INJECT_ARMED(p) 0
#endif

#endif
