/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Truncate (shrink and grow), punch hole, zero range and allocate: their
 * meanings as ftruncate(2) and fallocate(2) give them, checked through
 * mappings, pool space and reopen; argument checks; and recovery of an
 * operation whose intent was logged when the process died.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define EXT (2 * MiB)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define MAPLEN (32 * MiB)

struct fix {
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint8_t *a;
	char path[512];
};

static uint64_t used(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	CU_ASSERT_FATAL(daxmap_pool_stat(pool, &st) == 0);
	return st.used;
}

static uint64_t objsize(daxmap_obj *obj)
{
	uint64_t s = 0;
	CU_ASSERT_FATAL(daxmap_obj_size(obj, &s) == 0);
	return s;
}

/* A 64 MiB pool with object "o" of `size` bytes mapped RW over MAPLEN, filled with `fill`. */
static void fix_open(struct fix *f, const char *name, uint64_t size, int fill)
{
	f->pool = tu_pool_create(name, 64 * MiB);
	snprintf(f->path, sizeof(f->path), "%s", tu_path(name));
	TU_OK(daxmap_obj_open(&f->obj, f->pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(f->obj, size));
	TU_OK(daxmap_map((void **)&f->a, f->obj, 0, MAPLEN, RW));
	if (fill >= 0)
		memset(f->a, fill, size);
}

static void fix_close(struct fix *f)
{
	TU_OK(daxmap_unmap(f->a, MAPLEN));
	TU_OK(daxmap_obj_close(f->obj));
	TU_OK(daxmap_pool_close(f->pool));
}

static void fix_reopen(struct fix *f)
{
	fix_close(f);
	TU_OK(daxmap_pool_open(&f->pool, f->path));
	TU_OK(daxmap_obj_open(&f->obj, f->pool, "o", 0));
	TU_OK(daxmap_map((void **)&f->a, f->obj, 0, MAPLEN, RW));
}

static int all_eq(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void test_shrink_makes_past_eof_sigbus_and_frees_extents(void)
{
	struct fix f;
	uint8_t v;

	fix_open(&f, "shrink.pool", 16 * MiB, 0x55);
	CU_ASSERT_EQUAL(used(f.pool), 16 * MiB);
	TU_OK(daxmap_obj_truncate(f.obj, 5000));
	CU_ASSERT_EQUAL(objsize(f.obj), 5000);
	CU_ASSERT_EQUAL(used(f.pool), EXT); /* only the extent holding EOF stays */
	CU_ASSERT_EQUAL(tu_try_read8(f.a + 4999, &v), 0);
	CU_ASSERT_EQUAL(v, 0x55);
	CU_ASSERT_EQUAL(tu_try_read8(f.a + 5000, &v), 0); /* same page as EOF */
	CU_ASSERT_EQUAL(v, 0); /* the tail of the last page reads zero */
	CU_ASSERT_EQUAL(tu_try_read8(f.a + 8192, &v), SIGBUS);
	CU_ASSERT_EQUAL(tu_last_sigaddr(), f.a + 8192);
	CU_ASSERT_EQUAL(tu_try_write8(f.a + 8 * MiB, 1), SIGBUS);
	CU_ASSERT_EQUAL(tu_try_read8(f.a + EXT, &v), SIGBUS);
	fix_reopen(&f);
	CU_ASSERT_EQUAL(objsize(f.obj), 5000);
	CU_ASSERT_EQUAL(used(f.pool), EXT);
	CU_ASSERT(all_eq(f.a, 5000, 0x55));
	fix_close(&f);
}

static void test_grow_after_shrink_reads_zero(void)
{
	struct fix f;

	fix_open(&f, "regrow.pool", 8 * MiB, 0x77);
	TU_OK(daxmap_obj_truncate(f.obj, 3 * MiB + 100));
	TU_OK(daxmap_obj_truncate(f.obj, 8 * MiB));
	CU_ASSERT(all_eq(f.a, 3 * MiB + 100, 0x77));
	CU_ASSERT(all_eq(f.a + 3 * MiB + 100, 5 * MiB - 100, 0));
	/* the mapping stays valid across shrink and regrow: writes work again */
	memset(f.a + 6 * MiB, 0x12, 4096);
	fix_reopen(&f);
	CU_ASSERT(all_eq(f.a + 3 * MiB + 100, 3 * MiB - 100, 0));
	CU_ASSERT(all_eq(f.a + 6 * MiB, 4096, 0x12));
	fix_close(&f);
}

static void test_bytes_stored_past_eof_in_last_page_read_zero_after_grow(void)
{
	struct fix f;

	fix_open(&f, "tail.pool", 5000, 0x31);
	/* stores past EOF inside the last page are allowed (mmap semantics)
	 * but are not part of the object */
	memset(f.a + 5000, 0x99, 8192 - 5000);
	TU_OK(daxmap_obj_truncate(f.obj, 12000));
	CU_ASSERT(all_eq(f.a, 5000, 0x31));
	CU_ASSERT(all_eq(f.a + 5000, 12000 - 5000, 0));
	fix_close(&f);
}

static void test_punch_frees_whole_extents_and_zeroes_partial_ones(void)
{
	struct fix f;

	fix_open(&f, "punch.pool", 8 * MiB, 0x66);
	TU_OK(daxmap_obj_punch_hole(f.obj, 4096, 6 * MiB));
	CU_ASSERT_EQUAL(objsize(f.obj), 8 * MiB); /* size kept */
	CU_ASSERT(all_eq(f.a, 4096, 0x66));
	CU_ASSERT(all_eq(f.a + 4096, 6 * MiB, 0));
	CU_ASSERT(all_eq(f.a + 6 * MiB + 4096, 2 * MiB - 4096, 0x66));
	/* [2 MiB, 6 MiB) were whole extents: freed; the ends were zeroed in place */
	CU_ASSERT_EQUAL(used(f.pool), 4 * MiB);
	/* a write into the hole allocates again and sticks */
	f.a[3 * MiB] = 7;
	CU_ASSERT_EQUAL(used(f.pool), 6 * MiB);
	fix_reopen(&f);
	CU_ASSERT_EQUAL(f.a[3 * MiB], 7);
	CU_ASSERT(all_eq(f.a + 4096, 3 * MiB - 4096, 0));
	CU_ASSERT(all_eq(f.a + 6 * MiB + 4096, 2 * MiB - 4096, 0x66));
	fix_close(&f);
}

static void test_punch_inside_one_page_zeroes_only_the_range(void)
{
	struct fix f;

	fix_open(&f, "punchsmall.pool", 1 * MiB, 0x44);
	TU_OK(daxmap_obj_punch_hole(f.obj, 100, 200));
	CU_ASSERT(all_eq(f.a, 100, 0x44));
	CU_ASSERT(all_eq(f.a + 100, 200, 0));
	CU_ASSERT(all_eq(f.a + 300, MiB - 300, 0x44));
	CU_ASSERT_EQUAL(used(f.pool), EXT);
	fix_close(&f);
}

static void test_punch_crossing_eof_keeps_size_and_changes_nothing_past_it(void)
{
	struct fix f;
	uint8_t v;

	fix_open(&f, "punchEOF.pool", 3 * MiB, 0x21);
	TU_OK(daxmap_obj_punch_hole(f.obj, 2 * MiB, 100 * MiB));
	CU_ASSERT_EQUAL(objsize(f.obj), 3 * MiB);
	CU_ASSERT(all_eq(f.a, 2 * MiB, 0x21));
	CU_ASSERT(all_eq(f.a + 2 * MiB, MiB, 0));
	CU_ASSERT_EQUAL(tu_try_read8(f.a + 3 * MiB, &v), SIGBUS);
	/* entirely past EOF: nothing to do */
	TU_OK(daxmap_obj_punch_hole(f.obj, 10 * MiB, MiB));
	CU_ASSERT_EQUAL(objsize(f.obj), 3 * MiB);
	fix_close(&f);
}

static void test_punch_tears_down_every_mapping(void)
{
	struct fix f;
	uint8_t *b;

	fix_open(&f, "punch2.pool", 8 * MiB, 0x5a);
	TU_OK(daxmap_map((void **)&b, f.obj, 2 * MiB, 4 * MiB, DAXMAP_PROT_READ));
	CU_ASSERT(all_eq(b, 4 * MiB, 0x5a));
	TU_OK(daxmap_obj_punch_hole(f.obj, 2 * MiB, 2 * MiB));
	CU_ASSERT(all_eq(b, 2 * MiB, 0));
	CU_ASSERT(all_eq(b + 2 * MiB, 2 * MiB, 0x5a));
	/* a write through one mapping after the punch is seen through the other */
	f.a[2 * MiB + 10] = 0xab;
	CU_ASSERT_EQUAL(b[10], 0xab);
	TU_OK(daxmap_unmap(b, 4 * MiB));
	fix_close(&f);
}

static void test_zero_range_reads_zero_and_keeps_allocation(void)
{
	struct fix f;

	fix_open(&f, "zero.pool", 4 * MiB, 0x3c);
	TU_OK(daxmap_obj_zero_range(f.obj, 1000, 3 * MiB));
	CU_ASSERT(all_eq(f.a, 1000, 0x3c));
	CU_ASSERT(all_eq(f.a + 1000, 3 * MiB, 0));
	CU_ASSERT(all_eq(f.a + 1000 + 3 * MiB, MiB - 1000, 0x3c));
	CU_ASSERT_EQUAL(used(f.pool), 4 * MiB);
	CU_ASSERT_EQUAL(objsize(f.obj), 4 * MiB);
	fix_reopen(&f);
	CU_ASSERT(all_eq(f.a + 1000, 3 * MiB, 0));
	fix_close(&f);
}

static void test_zero_range_past_eof_extends_size(void)
{
	struct fix f;

	fix_open(&f, "zeroext.pool", 5000, 0x11);
	memset(f.a + 5000, 0x99, 100); /* past EOF, inside the last page */
	TU_OK(daxmap_obj_zero_range(f.obj, 4000, 2 * MiB));
	CU_ASSERT_EQUAL(objsize(f.obj), 4000 + 2 * MiB);
	CU_ASSERT(all_eq(f.a, 4000, 0x11));
	CU_ASSERT(all_eq(f.a + 4000, 2 * MiB, 0));
	fix_close(&f);
}

static void test_allocate_reserves_space_and_extends_size(void)
{
	struct fix f;

	fix_open(&f, "alloc.pool", 0, -1);
	TU_OK(daxmap_obj_allocate(f.obj, MiB, 4 * MiB));
	CU_ASSERT_EQUAL(objsize(f.obj), 5 * MiB);
	CU_ASSERT_EQUAL(used(f.pool), 3 * EXT); /* extents 0, 1, 2 */
	CU_ASSERT(all_eq(f.a, 5 * MiB, 0));
	memset(f.a, 1, 5 * MiB); /* no new allocation on first touch */
	CU_ASSERT_EQUAL(used(f.pool), 3 * EXT);
	fix_close(&f);
}

static void test_allocate_on_full_pool_is_enospc_and_keeps_size(void)
{
	struct fix f;
	struct daxmap_pool_stat st;

	fix_open(&f, "allocfull.pool", 0, -1);
	TU_OK(daxmap_pool_stat(f.pool, &st));
	uint64_t len = st.data_size + 1000;
	int ret = daxmap_obj_allocate(f.obj, MiB, len);
	CU_ASSERT_EQUAL(ret, -ENOSPC);
	CU_ASSERT_EQUAL(objsize(f.obj), 0);
	/* the message says how much of the range stays allocated: all the
	 * extents from the one holding the offset on, in sizes people read */
	char want[1024];
	snprintf(want, sizeof(want),
		 "object \"o\": allocate of %llu bytes (%.1f MiB) at offset %llu: pool %s is full; "
		 "%llu bytes (%llu MiB) of it are allocated and stay so (the size is unchanged) "
		 "(No space left on device)",
		 (unsigned long long)len, (double)len / MiB, (unsigned long long)MiB, f.path,
		 (unsigned long long)(st.data_size - MiB), (unsigned long long)((st.data_size - MiB) / MiB));
	if (strcmp(daxmap_errormsg(), want) != 0)
		fprintf(stderr, "\n got: %s\nwant: %s\n", daxmap_errormsg(), want);
	CU_ASSERT(strcmp(daxmap_errormsg(), want) == 0);
	CU_ASSERT_EQUAL(used(f.pool), st.data_size);
	/* freeing it all again works */
	TU_OK(daxmap_obj_truncate(f.obj, 1));
	TU_OK(daxmap_obj_truncate(f.obj, 0));
	CU_ASSERT_EQUAL(used(f.pool), 0);
	fix_close(&f);
}

static void test_bad_ranges_are_refused_and_change_nothing(void)
{
	struct fix f;
	int (*ops[])(daxmap_obj *, uint64_t, uint64_t) = {
		daxmap_obj_punch_hole, daxmap_obj_zero_range, daxmap_obj_allocate};

	fix_open(&f, "bad.pool", MiB, 0x42);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		CU_ASSERT_EQUAL(ops[i](f.obj, 0, 0), -EINVAL);
		CU_ASSERT_EQUAL(ops[i](f.obj, UINT64_MAX, 2), -EINVAL);
		CU_ASSERT_EQUAL(ops[i](f.obj, 1, UINT64_MAX), -EINVAL);
		CU_ASSERT_EQUAL(ops[i](f.obj, UINT64_C(1) << 63, 4096), -EFBIG);
		CU_ASSERT_EQUAL(ops[i](f.obj, (UINT64_C(1) << 63) - 4096, UINT64_C(1) << 63), -EFBIG);
		CU_ASSERT_EQUAL(ops[i](f.obj, DAXMAP_MAX_OBJ_SIZE, 1), -EFBIG);
		CU_ASSERT_EQUAL(ops[i](NULL, 0, 1), -EINVAL);
		CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	}
	CU_ASSERT_EQUAL(daxmap_obj_truncate(f.obj, UINT64_MAX), -EFBIG);
	CU_ASSERT_EQUAL(daxmap_obj_truncate(f.obj, DAXMAP_MAX_OBJ_SIZE + 1), -EFBIG);
	CU_ASSERT_EQUAL(objsize(f.obj), MiB);
	CU_ASSERT(all_eq(f.a, MiB, 0x42));
	fix_close(&f);
}

static void test_growing_a_page_at_a_time_faults_once_per_extent(void)
{
	struct fix f;
	struct daxmap_pool_stat st0, st1;
	uint64_t size = 4096;

	fix_open(&f, "growpage.pool", size, 0x10);
	CU_ASSERT_FATAL(daxmap_pool_stat(f.pool, &st0) == 0);
	/* an appender: grow by one page, write it, 200 times (all in extent 0) */
	for (int i = 0; i < 200; i++) {
		TU_OK(daxmap_obj_truncate(f.obj, size + 4096));
		memset(f.a + size, 0x20 + (i & 7), 4096);
		size += 4096;
	}
	CU_ASSERT_FATAL(daxmap_pool_stat(f.pool, &st1) == 0);
	printf("\n  200 one-page grows: %llu faults\n",
	       (unsigned long long)(st1.faults - st0.faults));
	CU_ASSERT(st1.faults - st0.faults <= 2);
	CU_ASSERT_EQUAL(used(f.pool), EXT);
	/* the page past the new EOF still gives SIGBUS; the data is all there */
	uint8_t v;
	CU_ASSERT_EQUAL(tu_try_read8(f.a + size, &v), SIGBUS);
	fix_reopen(&f);
	CU_ASSERT(all_eq(f.a, 4096, 0x10));
	for (int i = 0; i < 200; i++)
		CU_ASSERT(all_eq(f.a + 4096 + (uint64_t)i * 4096, 4096, (uint8_t)(0x20 + (i & 7))));
	fix_close(&f);
}

/* ---- recovery of a logged operation -------------------------------------- */

/* Writes an intent record into a closed pool, as if the process had died
 * right after logging (the on-media format of src/log.h). */
static void plant_record(const char *path, uint64_t op, uint64_t slot, uint64_t a, uint64_t b,
			 int torn)
{
	uint64_t r[8] = {op, slot, a, b, 1, 0, 0, 0};
	int fd = open(path, O_RDWR);

	CU_ASSERT_FATAL(fd >= 0);
	r[7] = tu_fletcher64(r, 56) + (torn ? 1 : 0);
	CU_ASSERT_FATAL(pwrite(fd, r, sizeof(r), 4096) == (ssize_t)sizeof(r));
	close(fd);
}

static void test_logged_punch_is_finished_at_open(void)
{
	struct fix f;

	fix_open(&f, "replay.pool", 8 * MiB, 0x70);
	fix_close(&f);
	plant_record(f.path, 2 /* PUNCH */, 0, 2 * MiB, 6 * MiB + 10, 0);
	TU_OK(daxmap_pool_open(&f.pool, f.path));
	TU_OK(daxmap_obj_open(&f.obj, f.pool, "o", 0));
	TU_OK(daxmap_map((void **)&f.a, f.obj, 0, MAPLEN, RW));
	CU_ASSERT_EQUAL(used(f.pool), 4 * MiB); /* extents 1 and 2 freed */
	CU_ASSERT(all_eq(f.a, 2 * MiB, 0x70));
	CU_ASSERT(all_eq(f.a + 2 * MiB, 4 * MiB + 10, 0));
	CU_ASSERT(all_eq(f.a + 6 * MiB + 10, 2 * MiB - 10, 0x70));
	fix_close(&f);
}

static void test_logged_shrink_is_finished_at_open(void)
{
	struct fix f;

	fix_open(&f, "replay2.pool", 8 * MiB, 0x71);
	fix_close(&f);
	plant_record(f.path, 1 /* SHRINK */, 0, 3 * MiB, 0, 0);
	TU_OK(daxmap_pool_open(&f.pool, f.path));
	TU_OK(daxmap_obj_open(&f.obj, f.pool, "o", 0));
	TU_OK(daxmap_map((void **)&f.a, f.obj, 0, MAPLEN, RW));
	CU_ASSERT_EQUAL(objsize(f.obj), 3 * MiB);
	CU_ASSERT_EQUAL(used(f.pool), 2 * EXT);
	TU_OK(daxmap_obj_truncate(f.obj, 4 * MiB));
	CU_ASSERT(all_eq(f.a, 3 * MiB, 0x71));
	CU_ASSERT(all_eq(f.a + 3 * MiB, MiB, 0)); /* rest of the EOF extent was zeroed */
	fix_close(&f);
}

static void test_torn_log_record_is_ignored(void)
{
	struct fix f;

	fix_open(&f, "torn.pool", 4 * MiB, 0x72);
	fix_close(&f);
	plant_record(f.path, 2 /* PUNCH */, 0, 0, 4 * MiB, 1);
	TU_OK(daxmap_pool_open(&f.pool, f.path));
	TU_OK(daxmap_obj_open(&f.obj, f.pool, "o", 0));
	TU_OK(daxmap_map((void **)&f.a, f.obj, 0, MAPLEN, RW));
	CU_ASSERT(all_eq(f.a, 4 * MiB, 0x72));
	CU_ASSERT_EQUAL(used(f.pool), 4 * MiB);
	fix_close(&f);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"shrink_makes_past_eof_sigbus_and_frees_extents",
		 test_shrink_makes_past_eof_sigbus_and_frees_extents},
		{"grow_after_shrink_reads_zero", test_grow_after_shrink_reads_zero},
		{"bytes_stored_past_eof_in_last_page_read_zero_after_grow",
		 test_bytes_stored_past_eof_in_last_page_read_zero_after_grow},
		{"punch_frees_whole_extents_and_zeroes_partial_ones",
		 test_punch_frees_whole_extents_and_zeroes_partial_ones},
		{"punch_inside_one_page_zeroes_only_the_range",
		 test_punch_inside_one_page_zeroes_only_the_range},
		{"punch_crossing_eof_keeps_size_and_changes_nothing_past_it",
		 test_punch_crossing_eof_keeps_size_and_changes_nothing_past_it},
		{"punch_tears_down_every_mapping", test_punch_tears_down_every_mapping},
		{"zero_range_reads_zero_and_keeps_allocation",
		 test_zero_range_reads_zero_and_keeps_allocation},
		{"zero_range_past_eof_extends_size", test_zero_range_past_eof_extends_size},
		{"allocate_reserves_space_and_extends_size",
		 test_allocate_reserves_space_and_extends_size},
		{"allocate_on_full_pool_is_enospc_and_keeps_size",
		 test_allocate_on_full_pool_is_enospc_and_keeps_size},
		{"bad_ranges_are_refused_and_change_nothing",
		 test_bad_ranges_are_refused_and_change_nothing},
		{"growing_a_page_at_a_time_faults_once_per_extent",
		 test_growing_a_page_at_a_time_faults_once_per_extent},
		{"logged_punch_is_finished_at_open", test_logged_punch_is_finished_at_open},
		{"logged_shrink_is_finished_at_open", test_logged_shrink_is_finished_at_open},
		{"torn_log_record_is_ignored", test_torn_log_record_is_ignored},
		{NULL, NULL},
	};
	return tu_run("truncate", tests);
}
