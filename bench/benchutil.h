/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The small helpers the benchmarks in bench/ share: a monotonic clock in
 * seconds, a seeded xorshift64 sequence, a qsort comparator and median of
 * doubles, and the exit for a setup error of a libdaxmap call.
 *
 * bench_now and bench_rnd are static inline: they run inside the timed
 * loops, where a call into another object file would add to what is
 * measured.
 */
#ifndef DAXMAP_BENCH_BENCHUTIL_H
#define DAXMAP_BENCH_BENCHUTIL_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds. */
static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The next value of the xorshift64 sequence in *s (not 0), also stored there. */
static inline uint64_t bench_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* qsort comparator: doubles in ascending order. */
int bench_dcmp(const void *a, const void *b);

/* Sorts v[0 .. n-1] (n >= 1) and returns v[n / 2]: for an even n the upper
 * of the two middle figures. */
double bench_median(double *v, int n);

/* Prints "PROG: WHAT: strerror(|err|) (daxmap_errormsg())" to stderr and
 * exits 2. err is an errno value, negative or not. */
void bench_die(const char *prog, const char *what, long err) __attribute__((noreturn));

#endif
