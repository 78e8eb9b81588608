/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VMA economy: extents of an object are placed contiguously in the pool,
 * so its resolved extents merge into few kernel VMAs whatever order they
 * are touched in (the kernel allows ~65530 VMAs per process: one VMA per
 * 2 MiB extent would cap a process at 128 GiB mapped).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ES DAXMAP_DEFAULT_EXTENT_SIZE
#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

/* Fisher-Yates shuffle of 0..n-1. */
static void shuffle(uint64_t *a, uint64_t n, uint64_t *st)
{
	for (uint64_t i = 0; i < n; i++)
		a[i] = i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = tu_rand(st) % i, t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void test_dense_2gib_random_order_merges_into_few_vmas(void)
{
	const uint64_t osize = 2 * GiB, n = osize / ES;
	uint64_t st = tu_seed("dense 2 GiB random order");
	uint64_t *order = malloc(n * sizeof(uint64_t));
	daxmap_pool *pool = tu_pool_create("dense.pool", 2 * GiB + 512 * MiB);
	daxmap_obj *obj = NULL;
	struct daxmap_pool_stat ps;
	void *va;
	int vmas, failed = 0;

	CU_ASSERT_FATAL(order != NULL);
	TU_OK(daxmap_obj_open(&obj, pool, "dense", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, osize));
	TU_OK(daxmap_map(&va, obj, 0, osize, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	shuffle(order, n, &st);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = order[i];
		uint64_t off = e * ES + (tu_rand(&st) % ES);
		if (tu_try_write8((char *)va + off, (uint8_t)(e | 1)) != 0 && failed++ < 5)
			fprintf(stderr, "write to extent %llu failed (signal)\n",
				(unsigned long long)e);
	}
	CU_ASSERT(failed == 0);
	vmas = tu_vma_count(va, osize);
	TU_OK(daxmap_pool_stat(pool, &ps));
	printf("  %llu extents touched in random order: %d VMAs over the mapping; used %llu MiB, "
	       "extents allocated %llu\n",
	       (unsigned long long)n, vmas, (unsigned long long)(ps.used / MiB),
	       (unsigned long long)ps.extents_allocated);
	CU_ASSERT(vmas >= 1);
	CU_ASSERT(vmas <= 32);
	CU_ASSERT(ps.used == osize);
	CU_ASSERT(ps.extents_allocated == n);

	TU_OK(daxmap_unmap(va, osize));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	unlink(tu_path("dense.pool"));
	free(order);
}

static void test_sparse_8gib_object_vma_count_bounded(void)
{
	const uint64_t osize = 8 * GiB, n = osize / ES, touch = 1000;
	uint64_t st = tu_seed("sparse 8 GiB in 3 GiB pool");
	uint64_t *order = malloc(n * sizeof(uint64_t));
	unsigned char *hit = calloc(n, 1);
	daxmap_pool *pool = tu_pool_create("sparse.pool", 3 * GiB);
	daxmap_obj *obj = NULL;
	struct daxmap_pool_stat ps;
	uint64_t runs = 0;
	void *va;
	int vmas, failed = 0;

	CU_ASSERT_FATAL(order != NULL && hit != NULL);
	TU_OK(daxmap_obj_open(&obj, pool, "sparse", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, osize));
	TU_OK(daxmap_map(&va, obj, 0, osize, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	/* the first `touch` of a random permutation: 1000 distinct extents */
	shuffle(order, n, &st);
	for (uint64_t i = 0; i < touch; i++) {
		uint64_t e = order[i];
		hit[e] = 1;
		/* several random pages of each: one VMA per extent at most,
		 * never one per page */
		for (int p = 0; p < 4; p++) {
			uint64_t off = e * ES + (tu_rand(&st) % ES);
			if (tu_try_write8((char *)va + off, (uint8_t)(e | 1)) != 0 && failed++ < 5)
				fprintf(stderr, "write to extent %llu failed (signal)\n",
					(unsigned long long)e);
		}
	}
	CU_ASSERT(failed == 0);
	for (uint64_t e = 0; e < n; e++)
		if (hit[e] && (e == 0 || !hit[e - 1]))
			runs++;
	vmas = tu_vma_count(va, osize);
	TU_OK(daxmap_pool_stat(pool, &ps));
	printf("  %llu of %llu extents touched (%llu runs of adjacent extents): %d VMAs over "
	       "the mapping (bound %llu); used %llu MiB\n",
	       (unsigned long long)touch, (unsigned long long)n, (unsigned long long)runs, vmas,
	       (unsigned long long)(touch + runs + 1), (unsigned long long)(ps.used / MiB));
	/* each touched extent adds at most one pool VMA, and each run of
	 * touched extents splits the reservation at most once more */
	CU_ASSERT(vmas <= (int)(touch + runs + 1));
	CU_ASSERT(vmas < 65530 / 2);
	CU_ASSERT(ps.used == touch * ES);
	CU_ASSERT(ps.extents_allocated == touch);

	TU_OK(daxmap_unmap(va, osize));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	unlink(tu_path("sparse.pool"));
	free(order);
	free(hit);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"dense_2gib_random_order_merges_into_few_vmas",
		 test_dense_2gib_random_order_merges_into_few_vmas},
		{"sparse_8gib_object_vma_count_bounded", test_sparse_8gib_object_vma_count_bounded},
		{NULL, NULL},
	};
	return tu_run("vma", tests);
}
