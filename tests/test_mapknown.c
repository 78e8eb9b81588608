/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mapping known data takes no fault (doc/DESIGN.md, "Mapping known data"):
 * daxmap_map maps the extents an object has already at once, below EOF,
 * for any offset and length; touching them takes none of the library's
 * faults (the pool's fault counter stays), holes and EOF behave as before,
 * and a punch or truncate tears the early mapping down like any other.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	return st;
}

static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 2654435761u >> 13) | 1; /* never 0 */
}

/* Writes the pattern over [off, off+len) of obj with pwrite (no mapping). */
static void fill(daxmap_obj *obj, uint64_t off, uint64_t len)
{
	size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);
	CU_ASSERT_FATAL(buf != NULL);
	for (uint64_t done = 0; done < len; done += chunk) {
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + done + i);
		CU_ASSERT_FATAL(daxmap_obj_pwrite(obj, buf, n, off + done, 0) == (ssize_t)n);
	}
	free(buf);
}

/* Bytes of [p, p+len) (object offset off) that differ from the pattern, one per page. */
static uint64_t bad_pages(const volatile uint8_t *p, uint64_t off, uint64_t len)
{
	uint64_t bad = 0;
	for (uint64_t i = 0; i < len; i += 4096)
		bad += p[i] != pat(off + i);
	return bad;
}

/*
 * Extents 0, 1 and 3 written, 2 a hole, EOF half way into extent 3: the
 * map maps 0, 1 and the half of 3 at once; reads and stores there take no
 * fault; the hole still reads zeros through a fault; past EOF is SIGBUS.
 */
static void test_known_extents_are_mapped_at_once_holes_and_eof_as_before(void)
{
	daxmap_pool *pool = tu_pool_create("known.pool", 64 * MiB);
	uint64_t es = pstat(pool).extent_size, size = 3 * es + es / 2;
	struct daxmap_pool_stat st0, st;
	daxmap_obj *obj;
	volatile uint8_t *p;
	uint8_t v;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	fill(obj, 0, 2 * es);
	fill(obj, 3 * es, es / 2);
	uint64_t got = 0;
	TU_OK(daxmap_obj_size(obj, &got));
	CU_ASSERT(got == size);
	st0 = pstat(pool);
	TU_OK(daxmap_map((void **)&p, obj, 0, 4 * es, RW));
	st = pstat(pool);
	CU_ASSERT(st.bytes_mapped_known - st0.bytes_mapped_known == 2 * es + es / 2);
	CU_ASSERT(bad_pages(p, 0, 2 * es) == 0);
	CU_ASSERT(bad_pages(p + 3 * es, 3 * es, es / 2) == 0);
	for (uint64_t i = 0; i < 2 * es; i += 4096)
		p[i + 1] = 0x5a;
	p[3 * es + 7] = 0x5b;
	CU_ASSERT(pstat(pool).faults == st0.faults); /* none of ours */
	/* the extents of the object's first 2 extents are one VMA */
	CU_ASSERT(tu_vma_count((const void *)p, 2 * es) == 1);
	/* the hole: zeros, through a fault, nothing allocated */
	CU_ASSERT(tu_try_read8(p + 2 * es + 100, &v) == 0 && v == 0);
	st = pstat(pool);
	CU_ASSERT(st.faults == st0.faults + 1 && st.extents_allocated == st0.extents_allocated);
	/* EOF: the page holding it is there, the next one is SIGBUS */
	CU_ASSERT(tu_try_read8(p + size - 1, &v) == 0 && v == pat(size - 1));
	CU_ASSERT(tu_try_read8(p + size, &v) == SIGBUS);
	/* the stores through the early mapping are the object's */
	uint8_t b = 0;
	CU_ASSERT(daxmap_obj_pread(obj, &b, 1, es + 4096 + 1) == 1 && b == 0x5a);
	CU_ASSERT(daxmap_obj_pread(obj, &b, 1, 3 * es + 7) == 1 && b == 0x5b);
	TU_OK(daxmap_unmap((void *)p, 4 * es));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

/* A mapping at an offset inside an extent, ending inside another: the
 * pool pages of each extent land at the right addresses. */
static void test_mapping_at_an_offset_maps_the_right_pages(void)
{
	daxmap_pool *pool = tu_pool_create("offset.pool", 64 * MiB);
	uint64_t es = pstat(pool).extent_size, off = es / 2 + 4096 * 3, len = es + 4096 * 5;
	struct daxmap_pool_stat st0;
	daxmap_obj *obj;
	volatile uint8_t *p;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	fill(obj, 0, 3 * es);
	st0 = pstat(pool);
	TU_OK(daxmap_map((void **)&p, obj, off, len, DAXMAP_PROT_READ));
	CU_ASSERT(pstat(pool).bytes_mapped_known - st0.bytes_mapped_known == len);
	CU_ASSERT(bad_pages(p, off, len) == 0);
	CU_ASSERT(p[len - 1] == pat(off + len - 1));
	CU_ASSERT(pstat(pool).faults == st0.faults);
	/* read-only: a store is SIGSEGV, and changes nothing */
	CU_ASSERT(tu_try_write8(p + 10, 0) == SIGSEGV);
	CU_ASSERT(p[10] == pat(off + 10));
	TU_OK(daxmap_unmap((void *)p, len));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

/*
 * After the early mapping, a punch and a truncate tear it down as they do
 * a faulted one: the punched extent reads zeros and a store there lands in
 * a fresh extent of the object; past the new EOF is SIGBUS.
 */
static void test_punch_and_truncate_tear_down_an_early_mapping(void)
{
	daxmap_pool *pool = tu_pool_create("punch.pool", 64 * MiB);
	uint64_t es = pstat(pool).extent_size;
	daxmap_obj *obj;
	volatile uint8_t *p;
	uint8_t v, b = 0;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	fill(obj, 0, 3 * es);
	TU_OK(daxmap_map((void **)&p, obj, 0, 3 * es, RW));
	CU_ASSERT(p[es + 5] == pat(es + 5));
	TU_OK(daxmap_obj_punch_hole(obj, 0, es));
	CU_ASSERT(tu_try_read8(p + 5, &v) == 0 && v == 0);
	CU_ASSERT(tu_try_write8(p + 5, 0x77) == 0);
	CU_ASSERT(daxmap_obj_pread(obj, &b, 1, 5) == 1 && b == 0x77);
	TU_OK(daxmap_obj_truncate(obj, es + 4096));
	CU_ASSERT(tu_try_read8(p + es + 5, &v) == 0 && v == pat(es + 5));
	CU_ASSERT(tu_try_read8(p + es + 4096, &v) == SIGBUS);
	CU_ASSERT(tu_try_read8(p + 2 * es + 5, &v) == SIGBUS);
	CU_ASSERT(pstat(pool).used == 2 * es);
	TU_OK(daxmap_unmap((void *)p, 3 * es));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(tu_path("punch.pool"), DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/*
 * A reopened pool (a database opened again): its object, larger than what
 * is populated at once, is mapped whole by the call, and reading and
 * writing all of it takes no fault.
 */
static void test_reopened_large_object_is_read_and_written_without_faults(void)
{
	const char *path = tu_path("reopen.pool");
	daxmap_pool *pool = tu_pool_create("reopen.pool", 160 * MiB);
	uint64_t size = 96 * MiB, bad;
	struct daxmap_pool_stat st0;
	daxmap_obj *obj;
	volatile uint8_t *p;

	TU_OK(daxmap_obj_open(&obj, pool, "db", DAXMAP_CREATE));
	fill(obj, 0, size);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "db", 0));
	st0 = pstat(pool);
	TU_OK(daxmap_map((void **)&p, obj, 0, size, RW));
	CU_ASSERT(pstat(pool).bytes_mapped_known - st0.bytes_mapped_known == size);
	bad = bad_pages(p, 0, size);
	for (uint64_t i = 0; i < size; i += 4096)
		p[i + 2] = (uint8_t)~pat(i + 2);
	CU_ASSERT(bad == 0);
	CU_ASSERT(pstat(pool).faults == st0.faults);
	TU_OK(daxmap_unmap((void *)p, size));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/*
 * An object in many pieces (a hole between every two written extents): a
 * map maps its first 64 runs and leaves the rest to faults, so it adds a
 * bounded number of VMAs (found by review: 20,000 pieces took 40,000 VMAs
 * and 53 ms with maps_lock held); every byte reads back either way.
 */
static void test_object_in_many_pieces_maps_a_bounded_number_of_runs(void)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	const char *path = tu_path("pieces.pool");
	uint64_t es = 64 << 10, n = 300;
	struct daxmap_pool_stat st0, st;
	daxmap_obj *obj;
	volatile uint8_t *p;
	int vmas0, vmas;

	unlink(path);
	daxmap_pool_opts_init(&o);
	o.extent_size = es;
	TU_OK(daxmap_pool_create_opts(&pool, path, 64 * MiB, 0600, &o));
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	for (uint64_t i = 0; i < n; i++)
		fill(obj, 2 * i * es, 4096);
	st0 = pstat(pool);
	vmas0 = tu_vma_count(NULL, SIZE_MAX);
	TU_OK(daxmap_map((void **)&p, obj, 0, 2 * n * es, DAXMAP_PROT_READ));
	vmas = tu_vma_count(NULL, SIZE_MAX);
	st = pstat(pool);
	CU_ASSERT(st.bytes_mapped_known - st0.bytes_mapped_known == 64 * es);
	CU_ASSERT(vmas - vmas0 <= 2 * 64 + 2);
	printf("\n  %llu pieces: %llu KiB mapped at once, %d VMAs more ", (unsigned long long)n,
	       (unsigned long long)((st.bytes_mapped_known - st0.bytes_mapped_known) >> 10),
	       vmas - vmas0);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++)
		bad += bad_pages(p + 2 * i * es, 2 * i * es, 4096);
	CU_ASSERT(bad == 0);
	/* the first 64 took no fault, the others one each */
	CU_ASSERT(pstat(pool).faults - st0.faults == n - 64);
	TU_OK(daxmap_unmap((void *)p, 2 * n * es));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"known extents are mapped at once, holes and EOF as before",
		 test_known_extents_are_mapped_at_once_holes_and_eof_as_before},
		{"mapping at an offset maps the right pages",
		 test_mapping_at_an_offset_maps_the_right_pages},
		{"punch and truncate tear down an early mapping",
		 test_punch_and_truncate_tear_down_an_early_mapping},
		{"reopened large object is read and written without faults",
		 test_reopened_large_object_is_read_and_written_without_faults},
		{"object in many pieces maps a bounded number of runs",
		 test_object_in_many_pieces_maps_a_bounded_number_of_runs},
		{NULL, NULL},
	};
	return tu_run("mapknown", tests);
}
