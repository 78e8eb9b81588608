/* SPDX-License-Identifier: BSD-3-Clause */
/* The helpers the benchmarks share: median of doubles, setup-error exit (benchutil.h). */
#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdaxmap.h>

int bench_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_dcmp);
	return v[n / 2];
}

void bench_die(const char *prog, const char *what, long err)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", prog, what, strerror((int)(err < 0 ? -err : err)),
		daxmap_errormsg());
	exit(2);
}
