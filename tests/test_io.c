/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_obj_pread and daxmap_obj_pwrite: holes, EOF (short reads,
 * extension), coherence with one and two mappings both ways (also a
 * mapping that read the hole before the pwrite), persistence across
 * reopen, a full pool (-ENOSPC and short counts, never SIGBUS, a clean
 * check), bad arguments, and readers and writers racing punch and zero
 * range against a byte model.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define EXT (2 * MiB)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

static uint64_t objsize(daxmap_obj *obj)
{
	uint64_t s = 0;
	CU_ASSERT_FATAL(daxmap_obj_size(obj, &s) == 0);
	return s;
}

static uint64_t used(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	CU_ASSERT_FATAL(daxmap_pool_stat(pool, &st) == 0);
	return st.used;
}

static int all_eq(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void fill_pattern(uint8_t *p, size_t n, uint64_t off, uint8_t tag)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(((off + i) * 131 + tag) | 1);
}

static int check_pattern(const uint8_t *p, size_t n, uint64_t off, uint8_t tag)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(((off + i) * 131 + tag) | 1))
			return 0;
	return 1;
}

/* A pool `name` of `size` bytes with object "o" of `osize` bytes. */
static daxmap_obj *obj_setup(daxmap_pool **pool, const char *name, uint64_t size, uint64_t osize)
{
	daxmap_obj *obj;

	*pool = tu_pool_create(name, size);
	TU_OK(daxmap_obj_open(&obj, *pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, osize));
	return obj;
}

/* Unmaps a (maplen bytes, when not NULL), closes obj and its pool. */
static void obj_teardown(daxmap_pool *pool, daxmap_obj *obj, void *a, size_t maplen)
{
	if (a)
		TU_OK(daxmap_unmap(a, maplen));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

static void test_holes_read_zero_and_pwrite_allocates_only_its_extents(void)
{
	daxmap_pool *pool;
	daxmap_obj *obj = obj_setup(&pool, "holes.pool", 64 * MiB, 3 * EXT);
	uint8_t *buf = malloc(3 * EXT), *w = malloc(EXT);

	CU_ASSERT_FATAL(buf && w);
	memset(buf, 0xee, 3 * EXT);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 3 * EXT, 0) == (ssize_t)(3 * EXT));
	CU_ASSERT(all_eq(buf, 3 * EXT, 0));
	CU_ASSERT(used(pool) == 0); /* reading holes allocates nothing */

	/* 1 MiB straddling the middle of extent 1 only */
	fill_pattern(w, MiB, EXT + MiB / 2, 7);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, MiB, EXT + MiB / 2, 0) == (ssize_t)MiB);
	CU_ASSERT(used(pool) == EXT);
	CU_ASSERT(objsize(obj) == 3 * EXT);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 3 * EXT, 0) == (ssize_t)(3 * EXT));
	CU_ASSERT(all_eq(buf, EXT + MiB / 2, 0));
	CU_ASSERT(check_pattern(buf + EXT + MiB / 2, MiB, EXT + MiB / 2, 7));
	CU_ASSERT(all_eq(buf + EXT + MiB / 2 + MiB, 2 * EXT - MiB / 2 - MiB, 0));

	/* a write across an extent boundary allocates both sides */
	fill_pattern(w, 8 * KiB, 2 * EXT - 4 * KiB, 9);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 8 * KiB, 2 * EXT - 4 * KiB, 0) == (ssize_t)(8 * KiB));
	CU_ASSERT(used(pool) == 2 * EXT);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 8 * KiB, 2 * EXT - 4 * KiB) == (ssize_t)(8 * KiB));
	CU_ASSERT(check_pattern(buf, 8 * KiB, 2 * EXT - 4 * KiB, 9));
	obj_teardown(pool, obj, NULL, 0);
	free(buf);
	free(w);
}

static void test_eof_short_reads_and_extension(void)
{
	daxmap_pool *pool = tu_pool_create("eof.pool", 64 * MiB);
	uint8_t buf[16384], w[8192];
	daxmap_obj *obj;
	uint8_t *a;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	/* size 0: every read is at EOF */
	CU_ASSERT(daxmap_obj_pread(obj, buf, sizeof(buf), 0) == 0);
	fill_pattern(w, 100, 0, 1);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 100, 0, 0) == 100);
	CU_ASSERT(objsize(obj) == 100);
	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT(daxmap_obj_pread(obj, buf, sizeof(buf), 0) == 100); /* short at EOF */
	CU_ASSERT(check_pattern(buf, 100, 0, 1));
	CU_ASSERT(buf[100] == 0xee); /* nothing past the count is written */
	CU_ASSERT(daxmap_obj_pread(obj, buf, 10, 100) == 0);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 10, 1000) == 0);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 10, DAXMAP_MAX_OBJ_SIZE) == 0);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 10, DAXMAP_MAX_OBJ_SIZE + 100) == 0);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 50, 90) == 10);

	/* bytes stored past EOF in the last page through a mapping must read
	 * zero once a pwrite past them extends the object, as ftruncate */
	TU_OK(daxmap_map((void **)&a, obj, 0, 4 * EXT, RW));
	a[200] = 0x55;
	a[4000] = 0x66;
	fill_pattern(w, 8192, 3000, 2);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 8192, 3000, 0) == 8192);
	CU_ASSERT(objsize(obj) == 3000 + 8192);
	CU_ASSERT(daxmap_obj_pread(obj, buf, sizeof(buf), 0) == 3000 + 8192);
	CU_ASSERT(check_pattern(buf, 100, 0, 1));
	CU_ASSERT(all_eq(buf + 100, 2900, 0));
	CU_ASSERT(check_pattern(buf + 3000, 8192, 3000, 2));
	CU_ASSERT(a[200] == 0 && a[4000] == w[1000]);
	/* the mapping reaches the new EOF: no SIGBUS below it */
	uint8_t v = 0;
	CU_ASSERT(tu_try_read8(a + 3000 + 8191, &v) == 0 && v == w[8191]);

	/* a write far past EOF leaves a hole between */
	fill_pattern(w, 4096, 3 * EXT + 5, 3);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 4096, 3 * EXT + 5, 0) == 4096);
	CU_ASSERT(objsize(obj) == 3 * EXT + 5 + 4096);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 4096, 2 * EXT) == 4096 && all_eq(buf, 4096, 0));
	CU_ASSERT(check_pattern(a + 3 * EXT + 5, 4096, 3 * EXT + 5, 3));
	/* a write inside EOF keeps the size */
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 10, 0, DAXMAP_DSYNC) == 10);
	CU_ASSERT(objsize(obj) == 3 * EXT + 5 + 4096);
	obj_teardown(pool, obj, a, 4 * EXT);
}

static void test_coherence_with_one_mapping_both_ways(void)
{
	daxmap_pool *pool;
	daxmap_obj *obj = obj_setup(&pool, "coh1.pool", 64 * MiB, 4 * EXT);
	uint8_t buf[8192], w[8192];
	uint8_t *a;

	TU_OK(daxmap_map((void **)&a, obj, 0, 4 * EXT, RW));
	/* a store through the mapping is seen by pread */
	memset(a + 100, 0x5a, 5000);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 8192, 0) == 8192);
	CU_ASSERT(all_eq(buf, 100, 0) && all_eq(buf + 100, 5000, 0x5a) &&
		  all_eq(buf + 5100, 8192 - 5100, 0));
	/* a pwrite into a mapped extent is seen by loads */
	fill_pattern(w, 8192, 50, 4);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 8192, 50, 0) == 8192);
	CU_ASSERT(check_pattern(a + 50, 8192, 50, 4));
	/* the mapping reads a hole (zero copies), then a pwrite fills it: the
	 * next load must see the pool, not the copied zeros */
	CU_ASSERT(all_eq(a + EXT, 3 * 4096, 0));
	fill_pattern(w, 8192, EXT + 1000, 5);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 8192, EXT + 1000, 0) == 8192);
	CU_ASSERT(check_pattern(a + EXT + 1000, 8192, EXT + 1000, 5));
	CU_ASSERT(all_eq(a + EXT, 1000, 0));
	/* and a store through the mapping after that reaches the pool */
	a[EXT + 1000] = 0x77;
	CU_ASSERT(daxmap_obj_pread(obj, buf, 1, EXT + 1000) == 1 && buf[0] == 0x77);
	obj_teardown(pool, obj, a, 4 * EXT);
}

static void test_coherence_with_two_mappings(void)
{
	daxmap_pool *pool;
	daxmap_obj *obj = obj_setup(&pool, "coh2.pool", 64 * MiB, 4 * EXT);
	uint8_t buf[8192], w[8192];
	uint8_t *a, *b, *r;

	TU_OK(daxmap_map((void **)&a, obj, 0, 4 * EXT, RW));
	TU_OK(daxmap_map((void **)&b, obj, 0, 4 * EXT, RW));
	TU_OK(daxmap_map((void **)&r, obj, EXT, 2 * EXT, DAXMAP_PROT_READ));
	/* both read the hole of extent 1, the read-only one too */
	CU_ASSERT(all_eq(a + EXT, 8192, 0) && all_eq(b + EXT + 4096, 8192, 0) &&
		  all_eq(r, 8192, 0));
	fill_pattern(w, 8192, EXT + 10, 6);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 8192, EXT + 10, DAXMAP_DSYNC) == 8192);
	CU_ASSERT(check_pattern(a + EXT + 10, 8192, EXT + 10, 6));
	CU_ASSERT(check_pattern(b + EXT + 10, 8192, EXT + 10, 6));
	CU_ASSERT(check_pattern(r + 10, 8192, EXT + 10, 6));
	/* one mapping resolved the extent, the other had read its hole */
	b[3 * EXT] = 1;
	CU_ASSERT(all_eq(a + 3 * EXT + 4096, 4096, 0));
	fill_pattern(w, 4096, 3 * EXT + 4096, 8);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 4096, 3 * EXT + 4096, 0) == 4096);
	CU_ASSERT(check_pattern(a + 3 * EXT + 4096, 4096, 3 * EXT + 4096, 8));
	CU_ASSERT(check_pattern(b + 3 * EXT + 4096, 4096, 3 * EXT + 4096, 8));
	/* a store through either mapping is seen by pread */
	a[EXT + 20] = 0x11;
	b[EXT + 21] = 0x22;
	CU_ASSERT(daxmap_obj_pread(obj, buf, 2, EXT + 20) == 2 && buf[0] == 0x11 &&
		  buf[1] == 0x22);
	/* a buffer inside a mapping of the object itself: copied through a
	 * bounce buffer, never a fault on a range the call holds */
	CU_ASSERT(daxmap_obj_pwrite(obj, a + EXT + 10, 8192, 2 * EXT + 100, 0) == 8192);
	CU_ASSERT(daxmap_obj_pread(obj, b + 100, 8192, 2 * EXT + 100) == 8192);
	CU_ASSERT(memcmp(b + 100, a + EXT + 10, 8192) == 0);
	TU_OK(daxmap_unmap(r, 2 * EXT));
	TU_OK(daxmap_unmap(b, 4 * EXT));
	obj_teardown(pool, obj, a, 4 * EXT);
}

static void test_pwrite_persists_across_reopen(void)
{
	daxmap_pool *pool = tu_pool_create("reopen.pool", 64 * MiB);
	char path[512];
	uint8_t *w = malloc(EXT + 4096), *buf = malloc(EXT + 4096);
	daxmap_obj *obj;

	CU_ASSERT_FATAL(w && buf);
	snprintf(path, sizeof(path), "%s", tu_path("reopen.pool"));
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	fill_pattern(w, EXT + 4096, 12345, 10); /* large: non-temporal stores */
	CU_ASSERT(daxmap_obj_pwrite(obj, w, EXT + 4096, 12345, DAXMAP_DSYNC) ==
		  (ssize_t)(EXT + 4096));
	fill_pattern(w, 4096, 5 * EXT, 11);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 4096, 5 * EXT, 0) == 4096);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "o", 0));
	CU_ASSERT(objsize(obj) == 5 * EXT + 4096);
	CU_ASSERT(daxmap_obj_pread(obj, buf, EXT + 4096, 12345) == (ssize_t)(EXT + 4096));
	CU_ASSERT(check_pattern(buf, EXT + 4096, 12345, 10));
	CU_ASSERT(daxmap_obj_pread(obj, buf, 4096, 5 * EXT) == 4096);
	CU_ASSERT(check_pattern(buf, 4096, 5 * EXT, 11));
	CU_ASSERT(daxmap_obj_pread(obj, buf, 12345, 0) == 12345 && all_eq(buf, 12345, 0));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	free(w);
	free(buf);
}

static void test_pool_full_gives_short_count_then_enospc(void)
{
	daxmap_pool *pool = tu_pool_create("full.pool", 16 * MiB);
	struct daxmap_pool_stat st;
	uint64_t big = 64 * MiB, size;
	uint8_t *w = malloc(big), *buf = malloc(big);
	char path[512];
	daxmap_obj *obj, *other;
	ssize_t n;

	CU_ASSERT_FATAL(w && buf);
	snprintf(path, sizeof(path), "%s", tu_path("full.pool"));
	TU_OK(daxmap_pool_stat(pool, &st));
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_open(&other, pool, "bystander", DAXMAP_CREATE));
	fill_pattern(w, 4096, 0, 12);
	CU_ASSERT(daxmap_obj_pwrite(other, w, 4096, 0, DAXMAP_DSYNC) == 4096);
	/* more than the pool holds, from the middle of an extent */
	fill_pattern(w, big, 1000, 13);
	n = daxmap_obj_pwrite(obj, w, big, 1000, DAXMAP_DSYNC);
	CU_ASSERT_FATAL(n > 0 && (uint64_t)n < big);
	/* written up to the first extent that could not be allocated */
	CU_ASSERT(((uint64_t)n + 1000) % st.extent_size == 0);
	CU_ASSERT(objsize(obj) == 1000 + (uint64_t)n);
	CU_ASSERT(daxmap_obj_pread(obj, buf, big, 0) == n + 1000);
	CU_ASSERT(all_eq(buf, 1000, 0) && check_pattern(buf + 1000, (size_t)n, 1000, 13));
	/* nothing left: -ENOSPC, the size stays */
	size = objsize(obj);
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 4096, size + 4096, 0) == -ENOSPC);
	CU_ASSERT(objsize(obj) == size);
	/* a write into allocated space still works */
	CU_ASSERT(daxmap_obj_pwrite(obj, w, 4096, 1000, 0) == 4096);
	CU_ASSERT(daxmap_obj_pread(other, buf, 4096, 0) == 4096 && check_pattern(buf, 4096, 0, 12));
	TU_OK(daxmap_obj_close(other));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, 0, NULL, NULL) == 0);
	free(w);
	free(buf);
}

static void test_bad_arguments(void)
{
	daxmap_pool *pool;
	daxmap_obj *obj = obj_setup(&pool, "args.pool", 64 * MiB, 0);
	uint8_t buf[64] = {1};

	CU_ASSERT(daxmap_obj_pread(NULL, buf, 1, 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_pwrite(NULL, buf, 1, 0, 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_pread(obj, NULL, 1, 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_pwrite(obj, NULL, 1, 0, 0) == -EINVAL);
	CU_ASSERT(strstr(daxmap_errormsg(), "NULL") != NULL);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 1, 0, 0x100) == -EINVAL);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 1, 0, DAXMAP_DSYNC | 0x2) == -EINVAL);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 2, UINT64_MAX) == -EINVAL);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 2, UINT64_MAX, 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, SIZE_MAX, 2, 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 2, DAXMAP_MAX_OBJ_SIZE - 1, 0) == -EFBIG);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 1, DAXMAP_MAX_OBJ_SIZE, 0) == -EFBIG);
	CU_ASSERT(strstr(daxmap_errormsg(), "maximum object size") != NULL);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 1, (UINT64_C(1) << 63), 0) == -EFBIG);
	/* the last byte below the maximum is writable */
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 1, DAXMAP_MAX_OBJ_SIZE - 1, 0) == 1);
	CU_ASSERT(objsize(obj) == DAXMAP_MAX_OBJ_SIZE);
	TU_OK(daxmap_obj_truncate(obj, 10));
	/* a 0-byte pwrite changes nothing, past EOF neither */
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 0, 1000, 0) == 0);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 0, UINT64_MAX, DAXMAP_DSYNC) == 0);
	CU_ASSERT(objsize(obj) == 10);
	CU_ASSERT(daxmap_obj_pread(obj, buf, 0, 0) == 0);
	obj_teardown(pool, obj, NULL, 0);
}

/*
 * Concurrency against a model. The object is split into NREG regions that
 * straddle extents (64 KiB extents, 150 KiB regions), one per thread, so
 * threads share extents and their range locks. Each thread runs random
 * pwrite, pread, punch hole, zero range and stores and loads through one
 * shared mapping, over its own region only, and keeps the expected bytes:
 * every read of its region must match exactly, whatever the others do
 * beside it. A reader thread reads the whole object meanwhile (its bytes
 * are not checked: it only races).
 */
#define C_EXT (64 * KiB)
#define NREG 4
#define REG (150 * KiB)
#define C_SIZE (NREG * REG)

struct cthread {
	daxmap_obj *obj;
	uint8_t *map;
	uint64_t seed;
	int id;
	int failures;
	uint64_t ops;
};

static _Atomic int c_stop; /* set by the main thread when the run is over */

static void *c_worker(void *arg)
{
	struct cthread *t = arg;
	uint64_t base = (uint64_t)t->id * REG, st = t->seed;
	uint8_t *model = calloc(1, REG), *buf = malloc(REG), *w = malloc(REG);

	if (!model || !buf || !w) {
		t->failures++;
		return NULL;
	}
	while (!c_stop) {
		uint64_t op = tu_rand(&st) % 6, o = tu_rand(&st) % REG;
		uint64_t n = 1 + tu_rand(&st) % (REG - o);
		uint8_t tag = (uint8_t)tu_rand(&st);

		switch (op) {
		case 0: /* pwrite */
		case 1:
			fill_pattern(w, n, base + o, tag);
			if (daxmap_obj_pwrite(t->obj, w, n, base + o, op ? DAXMAP_DSYNC : 0) !=
			    (ssize_t)n)
				t->failures++;
			memcpy(model + o, w, n);
			break;
		case 2:
			if (daxmap_obj_punch_hole(t->obj, base + o, n) < 0)
				t->failures++;
			memset(model + o, 0, n);
			break;
		case 3:
			if (daxmap_obj_zero_range(t->obj, base + o, n) < 0)
				t->failures++;
			memset(model + o, 0, n);
			break;
		case 4: /* stores through the mapping */
			n = n > 512 ? 512 : n;
			memset(t->map + base + o, tag | 1, n);
			memset(model + o, tag | 1, n);
			break;
		default: /* loads through the mapping */
			if (memcmp(t->map + base + o, model + o, n) != 0) {
				fprintf(stderr, "thread %d: mapping differs from the model in "
					"[%llu, +%llu)\n", t->id,
					(unsigned long long)(base + o), (unsigned long long)n);
				t->failures++;
			}
			break;
		}
		/* and the whole region through pread after each step */
		if (daxmap_obj_pread(t->obj, buf, REG, base) != (ssize_t)REG ||
		    memcmp(buf, model, REG) != 0) {
			fprintf(stderr, "thread %d: pread differs from the model after op %llu\n",
				t->id, (unsigned long long)op);
			t->failures++;
		}
		t->ops++;
		if (t->failures)
			break;
	}
	free(model);
	free(buf);
	free(w);
	return NULL;
}

static void *c_reader(void *arg)
{
	struct cthread *t = arg;
	uint8_t *buf = malloc(C_SIZE);

	while (buf && !c_stop) {
		if (daxmap_obj_pread(t->obj, buf, C_SIZE, 0) != (ssize_t)C_SIZE)
			t->failures++;
		t->ops++;
	}
	free(buf);
	return NULL;
}

static void test_readers_writers_race_punch_and_zero_range_against_a_model(void)
{
	struct daxmap_pool_opts opts;
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint8_t *map;
	pthread_t th[NREG + 1];
	struct cthread ct[NREG + 1];
	uint64_t seed = tu_seed("io_race"), total = 0;
	int failures = 0;

	daxmap_pool_opts_init(&opts);
	opts.extent_size = C_EXT;
	TU_OK(daxmap_pool_create_opts(&pool, tu_path("race.pool"), 64 * MiB, 0600, &opts));
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, C_SIZE));
	TU_OK(daxmap_map((void **)&map, obj, 0, C_SIZE, RW));
	c_stop = 0;
	for (int i = 0; i <= NREG; i++) {
		ct[i] = (struct cthread){.obj = obj, .map = map, .seed = seed + (uint64_t)i * 7919,
					 .id = i};
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, i < NREG ? c_worker : c_reader,
					       &ct[i]) == 0);
	}
	sleep(4);
	c_stop = 1;
	for (int i = 0; i <= NREG; i++) {
		pthread_join(th[i], NULL);
		failures += ct[i].failures;
		total += ct[i].ops;
	}
	printf("io_race: %llu operations\n", (unsigned long long)total);
	CU_ASSERT(failures == 0);
	CU_ASSERT(objsize(obj) == C_SIZE);
	obj_teardown(pool, obj, map, C_SIZE);
	CU_ASSERT(daxmap_pool_check(tu_path("race.pool"), 0, NULL, NULL) == 0);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"holes_read_zero_and_pwrite_allocates_only_its_extents",
		 test_holes_read_zero_and_pwrite_allocates_only_its_extents},
		{"eof_short_reads_and_extension", test_eof_short_reads_and_extension},
		{"coherence_with_one_mapping_both_ways", test_coherence_with_one_mapping_both_ways},
		{"coherence_with_two_mappings", test_coherence_with_two_mappings},
		{"pwrite_persists_across_reopen", test_pwrite_persists_across_reopen},
		{"pool_full_gives_short_count_then_enospc",
		 test_pool_full_gives_short_count_then_enospc},
		{"bad_arguments", test_bad_arguments},
		{"readers_writers_race_punch_and_zero_range_against_a_model",
		 test_readers_writers_race_punch_and_zero_range_against_a_model},
		{NULL, NULL},
	};
	return tu_run("io", tests);
}
