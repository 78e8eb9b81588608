/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Objects: open flags, names, unlink and the space it gives back (zeroed,
 * never stale), truncate, and the argument checks of map, unmap and persist.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	int ret = daxmap_pool_stat(pool, &st);
	CU_ASSERT_FATAL(ret == 0);
	return st;
}

static uint64_t osize(daxmap_obj *obj)
{
	uint64_t size = UINT64_MAX;
	TU_OK(daxmap_obj_size(obj, &size));
	return size;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (up to 10 s) until the background zeroer has zeroed every free extent. */
static struct daxmap_pool_stat wait_all_zeroed(daxmap_pool *pool)
{
	struct daxmap_pool_stat st = pstat(pool);
	for (int i = 0; i < 1000 && st.free_unzeroed != 0; i++) {
		sleep_ms(10);
		st = pstat(pool);
	}
	CU_ASSERT(st.free_unzeroed == 0);
	return st;
}

static int count_cb(const char *name, uint64_t size, void *arg)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static int nlisted(daxmap_pool *pool)
{
	int n = 0;
	TU_OK(daxmap_pool_list(pool, count_cb, &n));
	return n;
}

/* ---- open flags and names ---------------------------------------------- */

static void test_obj_open_flags(void)
{
	daxmap_pool *pool = tu_pool_create("flags.pool", 32 * MiB);
	daxmap_obj *obj = (void *)1, *obj2 = NULL;
	void *addr;

	/* flags 0 on a missing object */
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", 0) == -ENOENT);
	CU_ASSERT(obj == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(pstat(pool).objects == 0);
	/* EXCL alone is meaningless: refused, whether the object exists or not */
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", DAXMAP_EXCL) == -EINVAL);
	CU_ASSERT(pstat(pool).objects == 0);
	/* SMALL alone, as EXCL */
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", DAXMAP_SMALL) == -EINVAL);
	/* unknown flag bits */
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", 0x8) == -EINVAL);
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", DAXMAP_CREATE | 0x100) == -EINVAL);
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", -1) == -EINVAL);
	CU_ASSERT(daxmap_obj_open(&obj, pool, "x", (int)0x80000001u) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(pstat(pool).objects == 0);
	CU_ASSERT(nlisted(pool) == 0);

	/* CREATE makes a size-0 object */
	TU_OK(daxmap_obj_open(&obj, pool, "x", DAXMAP_CREATE));
	CU_ASSERT_FATAL(obj != NULL);
	CU_ASSERT(osize(obj) == 0);
	CU_ASSERT(pstat(pool).objects == 1);
	CU_ASSERT(pstat(pool).used == 0);
	/* CREATE on an existing object opens that object */
	TU_OK(daxmap_obj_open(&obj2, pool, "x", DAXMAP_CREATE));
	CU_ASSERT(pstat(pool).objects == 1);
	TU_OK(daxmap_obj_truncate(obj, 12345));
	CU_ASSERT(osize(obj2) == 12345);
	TU_OK(daxmap_map(&addr, obj, 0, 4096, RW));
	memcpy(addr, "same object", 11);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_map(&addr, obj2, 0, 4096, DAXMAP_PROT_READ));
	CU_ASSERT(memcmp(addr, "same object", 11) == 0);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_obj_close(obj2));
	/* CREATE|EXCL on an existing object */
	obj2 = (void *)1;
	CU_ASSERT(daxmap_obj_open(&obj2, pool, "x", DAXMAP_CREATE | DAXMAP_EXCL) == -EEXIST);
	CU_ASSERT(obj2 == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_obj_open(&obj2, pool, "x", DAXMAP_EXCL) == -EINVAL);
	/* and the refused opens changed nothing */
	CU_ASSERT(osize(obj) == 12345);
	/* flags 0 on an existing object */
	TU_OK(daxmap_obj_open(&obj2, pool, "x", 0));
	CU_ASSERT(osize(obj2) == 12345);
	TU_OK(daxmap_obj_close(obj2));
	/* CREATE|EXCL on a new name */
	TU_OK(daxmap_obj_open(&obj2, pool, "y", DAXMAP_CREATE | DAXMAP_EXCL));
	CU_ASSERT(osize(obj2) == 0);
	CU_ASSERT(pstat(pool).objects == 2);
	TU_OK(daxmap_obj_close(obj2));
	TU_OK(daxmap_obj_close(obj));
	/* bad handles */
	CU_ASSERT(daxmap_obj_open(NULL, pool, "x", 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_open(&obj, NULL, "x", 0) == -EINVAL);
	CU_ASSERT(daxmap_obj_close(NULL) == 0);
	CU_ASSERT(daxmap_obj_size(NULL, &(uint64_t){0}) == -EINVAL);
	CU_ASSERT(daxmap_obj_truncate(NULL, 1) == -EINVAL);
	TU_OK(daxmap_pool_close(pool));
}

static void test_obj_names(void)
{
	char *path = xstrdup(tu_path("names.pool"));
	daxmap_pool *pool = tu_pool_create("names.pool", 32 * MiB);
	char n199[DAXMAP_MAX_NAME + 1], n199b[DAXMAP_MAX_NAME + 1];
	char n200[DAXMAP_MAX_NAME + 2], n1000[1001];
	daxmap_obj *obj = (void *)1;

	CU_ASSERT(daxmap_obj_open(&obj, pool, "", DAXMAP_CREATE) == -EINVAL);
	CU_ASSERT(obj == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_obj_open(&obj, pool, NULL, DAXMAP_CREATE) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);

	memset(n199, 'n', DAXMAP_MAX_NAME);
	n199[DAXMAP_MAX_NAME] = 0;
	memcpy(n199b, n199, sizeof(n199));
	n199b[DAXMAP_MAX_NAME - 1] = 'm'; /* differs in the last byte only */
	memset(n200, 'n', DAXMAP_MAX_NAME + 1);
	n200[DAXMAP_MAX_NAME + 1] = 0;
	memset(n1000, 'q', 1000);
	n1000[1000] = 0;

	CU_ASSERT(daxmap_obj_open(&obj, pool, n200, DAXMAP_CREATE) == -ENAMETOOLONG);
	CU_ASSERT(obj == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_obj_open(&obj, pool, n1000, DAXMAP_CREATE) == -ENAMETOOLONG);
	CU_ASSERT(daxmap_obj_open(&obj, pool, n200, 0) == -ENAMETOOLONG);
	CU_ASSERT(pstat(pool).objects == 0);

	TU_OK(daxmap_obj_open(&obj, pool, n199, DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_truncate(obj, 199));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_open(&obj, pool, n199b, DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_truncate(obj, 198));
	TU_OK(daxmap_obj_close(obj));
	/* a one-byte name and one with bytes above 0x7f */
	TU_OK(daxmap_obj_open(&obj, pool, "1", DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_open(&obj, pool, "\xc3\xa9t\xc3\xa9/..", DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_close(obj));
	CU_ASSERT(pstat(pool).objects == 4);
	/* a prefix of a name is another name */
	CU_ASSERT(daxmap_obj_open(&obj, pool, "nnn", 0) == -ENOENT);
	TU_OK(daxmap_pool_close(pool));

	/* the 199-byte names come back whole, each with its own size */
	pool = NULL;
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, n199, 0));
	CU_ASSERT(osize(obj) == 199);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_open(&obj, pool, n199b, 0));
	CU_ASSERT(osize(obj) == 198);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_open(&obj, pool, "\xc3\xa9t\xc3\xa9/..", 0));
	TU_OK(daxmap_obj_close(obj));
	/* unlink checks names the same way */
	CU_ASSERT(daxmap_obj_unlink(pool, "") == -EINVAL);
	CU_ASSERT(daxmap_obj_unlink(pool, NULL) == -EINVAL);
	CU_ASSERT(daxmap_obj_unlink(pool, n200) == -ENAMETOOLONG);
	TU_OK(daxmap_obj_unlink(pool, n199));
	CU_ASSERT(daxmap_obj_open(&obj, pool, n199, 0) == -ENOENT);
	TU_OK(daxmap_obj_open(&obj, pool, n199b, 0));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

static void test_obj_open_without_free_slot_is_enfile(void)
{
	char *path = xstrdup(tu_path("slots.pool"));
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	daxmap_obj *a, *b, *c = (void *)1;

	unlink(path);
	daxmap_pool_opts_init(&o);
	o.max_objects = 2;
	TU_OK(daxmap_pool_create_opts(&pool, path, 32 * MiB, 0600, &o));
	TU_OK(daxmap_obj_open(&a, pool, "a", DAXMAP_CREATE));
	TU_OK(daxmap_obj_open(&b, pool, "b", DAXMAP_CREATE));
	CU_ASSERT(daxmap_obj_open(&c, pool, "c", DAXMAP_CREATE) == -ENFILE);
	CU_ASSERT(c == NULL);
	/* existing ones still open */
	TU_OK(daxmap_obj_open(&c, pool, "a", DAXMAP_CREATE));
	TU_OK(daxmap_obj_close(c));
	TU_OK(daxmap_obj_close(a));
	TU_OK(daxmap_obj_unlink(pool, "a"));
	TU_OK(daxmap_obj_open(&c, pool, "c", DAXMAP_CREATE));
	TU_OK(daxmap_obj_close(c));
	TU_OK(daxmap_obj_close(b));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	free(path);
}

/* ---- unlink ------------------------------------------------------------ */

static void test_obj_unlink_busy_and_missing(void)
{
	daxmap_pool *pool = tu_pool_create("unlinkbusy.pool", 32 * MiB);
	daxmap_obj *obj, *obj2;
	void *addr;

	CU_ASSERT(daxmap_obj_unlink(pool, "nope") == -ENOENT);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_obj_unlink(NULL, "nope") == -EINVAL);

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 4 * MiB));
	/* while a handle is open */
	CU_ASSERT(daxmap_obj_unlink(pool, "o") == -EBUSY);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	TU_OK(daxmap_obj_open(&obj2, pool, "o", 0));
	TU_OK(daxmap_obj_close(obj));
	CU_ASSERT(daxmap_obj_unlink(pool, "o") == -EBUSY); /* one handle left */
	/* while only a mapping is live */
	TU_OK(daxmap_map(&addr, obj2, 0, 4 * MiB, RW));
	TU_OK(daxmap_obj_close(obj2));
	CU_ASSERT(daxmap_obj_unlink(pool, "o") == -EBUSY);
	/* the refused unlinks left object and mapping alone */
	memset(addr, 0x11, 4096);
	memset((char *)addr + 3 * MiB, 0x22, 4096);
	CU_ASSERT(((volatile uint8_t *)addr)[4095] == 0x11);
	struct daxmap_pool_stat st = pstat(pool);
	CU_ASSERT(st.objects == 1 && st.used == 2 * st.extent_size && st.extents_freed == 0);
	TU_OK(daxmap_unmap(addr, 4 * MiB));
	TU_OK(daxmap_obj_unlink(pool, "o"));
	st = pstat(pool);
	CU_ASSERT(st.objects == 0);
	CU_ASSERT(st.used == 0);
	CU_ASSERT(st.extents_freed == 2);
	CU_ASSERT(daxmap_obj_unlink(pool, "o") == -ENOENT);
	CU_ASSERT(daxmap_obj_open(&obj, pool, "o", 0) == -ENOENT);
	/* a new object of that name starts empty */
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE | DAXMAP_EXCL));
	CU_ASSERT(osize(obj) == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

/* A name with spaces reads as one name in a message: every message quotes it. */
static void test_messages_quote_object_names(void)
{
	const char *path = tu_path("quote.pool");
	daxmap_pool *pool = tu_pool_create("quote.pool", 32 * MiB);
	daxmap_obj *obj, *o2;
	char want[512];

	CU_ASSERT(daxmap_obj_open(&obj, pool, "no such", 0) == -ENOENT);
	snprintf(want, sizeof(want), "no object \"no such\" in pool %s (No such file or directory)",
		 path);
	CU_ASSERT_STRING_EQUAL(daxmap_errormsg(), want);
	CU_ASSERT(daxmap_obj_unlink(pool, "no such") == -ENOENT);
	CU_ASSERT_STRING_EQUAL(daxmap_errormsg(), want);

	TU_OK(daxmap_obj_open(&obj, pool, "my table", DAXMAP_CREATE));
	CU_ASSERT(daxmap_obj_open(&o2, pool, "my table", DAXMAP_CREATE | DAXMAP_EXCL) == -EEXIST);
	CU_ASSERT_STRING_EQUAL(daxmap_errormsg(), "object \"my table\" exists (File exists)");
	CU_ASSERT(daxmap_obj_unlink(pool, "my table") == -EBUSY);
	CU_ASSERT_STRING_EQUAL(daxmap_errormsg(), "object \"my table\" has 1 open handles and 0 "
						  "mappings (Device or resource busy)");
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

/*
 * Fills every extent of a pool through object A, unlinks A and returns the
 * number of extents. The pool is then nothing but A's freed extents.
 */
static uint64_t fill_pool_and_unlink(daxmap_pool *pool, const char *name, uint8_t val,
				     uint64_t *alloc_before)
{
	struct daxmap_pool_stat st = pstat(pool);
	uint64_t n = st.data_size / st.extent_size, size = st.data_size;
	daxmap_obj *obj;
	void *addr;

	TU_OK(daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_truncate(obj, size));
	TU_OK(daxmap_map(&addr, obj, 0, size, RW));
	memset(addr, val, size);
	TU_OK(daxmap_persist(addr, size));
	st = pstat(pool);
	CU_ASSERT(st.used == size && st.free == 0);
	*alloc_before = st.extents_allocated;
	TU_OK(daxmap_unmap(addr, size));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_unlink(pool, name));
	return n;
}

/*
 * Object B reuses A's extents. For each extent: a read of the hole first
 * (zeros, nothing allocated), then one store in its middle, then every
 * other byte of the extent must read zero.
 */
static void check_new_object_sees_zeros(daxmap_pool *pool, const char *name, uint64_t n)
{
	struct daxmap_pool_stat st = pstat(pool);
	uint64_t es = st.extent_size, size = n * es, stale = 0, alloc0 = st.extents_allocated;
	daxmap_obj *obj;
	uint8_t *p;
	void *addr;

	TU_OK(daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE | DAXMAP_EXCL));
	TU_OK(daxmap_obj_truncate(obj, size));
	TU_OK(daxmap_map(&addr, obj, 0, size, RW));
	p = addr;
	for (uint64_t e = 0; e < n; e++) {
		uint8_t *x = p + e * es;
		CU_ASSERT(x[es / 2] == 0);
		x[es / 2 + 1] = 0x77;
		for (uint64_t i = 0; i < es; i++)
			if (i != es / 2 + 1)
				stale += x[i] != 0;
	}
	CU_ASSERT(stale == 0);
	if (stale)
		fprintf(stderr, "%llu stale bytes of the unlinked object\n",
			(unsigned long long)stale);
	st = pstat(pool);
	CU_ASSERT(st.extents_allocated - alloc0 == n); /* really reused every extent */
	CU_ASSERT(st.free == 0);
	TU_OK(daxmap_unmap(addr, size));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_unlink(pool, name));
}

static void test_unlink_returns_space_zeroed_in_background(void)
{
	daxmap_pool *pool = tu_pool_create("unlinkspace.pool", 32 * MiB);
	struct daxmap_pool_stat st0 = pstat(pool), st;
	uint64_t alloc, n;

	n = fill_pool_and_unlink(pool, "a", 0xa5, &alloc);
	CU_ASSERT_FATAL(n >= 4);
	st = pstat(pool);
	/* the space is back at once, zeroed or not */
	CU_ASSERT(st.free == st.data_size);
	CU_ASSERT(st.used == 0);
	CU_ASSERT(st.extents_freed == n);
	CU_ASSERT(st.free_unzeroed <= st.free);
	/* and the zeroer gets to all of it */
	st = wait_all_zeroed(pool);
	CU_ASSERT(st.bytes_zeroed_background - st0.bytes_zeroed_background +
			  st.bytes_zeroed_fault - st0.bytes_zeroed_fault >=
		  n * st.extent_size);
	CU_ASSERT(st.bytes_zeroed_background > st0.bytes_zeroed_background);
	CU_ASSERT(st.free == st.data_size);
	/* no byte of "a" shows through "b" */
	check_new_object_sees_zeros(pool, "b", n);
	TU_OK(daxmap_pool_close(pool));
}

static void test_unlink_then_immediate_reuse_reads_zero(void)
{
	/* no wait for the zeroer: the faults take dirty extents and must zero them
	 * (or wait for the zeroer) before anything is mapped */
	daxmap_pool *pool = tu_pool_create("unlinknow.pool", 32 * MiB);
	uint64_t alloc, n;

	for (int round = 0; round < 3; round++) {
		n = fill_pool_and_unlink(pool, "a", (uint8_t)(0x5a + round), &alloc);
		check_new_object_sees_zeros(pool, "b", n);
	}
	struct daxmap_pool_stat st = wait_all_zeroed(pool);
	CU_ASSERT(st.used == 0);
	TU_OK(daxmap_pool_close(pool));
}

static void test_unlinked_space_zeroed_after_reopen(void)
{
	/* closed right after the unlink: the dirty extents are remembered in
	 * the pool and zeroed before reuse after the reopen */
	char *path = xstrdup(tu_path("unlinkreopen.pool"));
	daxmap_pool *pool = tu_pool_create("unlinkreopen.pool", 32 * MiB);
	uint64_t alloc, n;

	n = fill_pool_and_unlink(pool, "a", 0xee, &alloc);
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_open(&pool, path));
	struct daxmap_pool_stat st = pstat(pool);
	CU_ASSERT(st.objects == 0 && st.used == 0 && st.free == st.data_size);
	check_new_object_sees_zeros(pool, "b", n);
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

/* ---- truncate ----------------------------------------------------------- */

static void test_truncate_grow_keeps_data_and_allocates_nothing(void)
{
	daxmap_pool *pool = tu_pool_create("grow.pool", 32 * MiB);
	daxmap_obj *obj;
	uint8_t *p;
	void *addr;

	TU_OK(daxmap_obj_open(&obj, pool, "g", DAXMAP_CREATE));
	CU_ASSERT(osize(obj) == 0);
	TU_OK(daxmap_obj_truncate(obj, 0)); /* same size: fine */
	TU_OK(daxmap_obj_truncate(obj, 5000));
	CU_ASSERT(osize(obj) == 5000);
	TU_OK(daxmap_map(&addr, obj, 0, 8 * MiB, RW));
	p = addr;
	memset(p, 0x44, 5000);
	/* past EOF inside the last page: the page is there, the bytes are not
	 * part of the object */
	p[6000] = 0x99;
	struct daxmap_pool_stat st = pstat(pool);
	CU_ASSERT(st.used == st.extent_size);
	TU_OK(daxmap_obj_truncate(obj, 3 * MiB + 1));
	CU_ASSERT(osize(obj) == 3 * MiB + 1);
	/* growing allocated nothing */
	CU_ASSERT(pstat(pool).used == st.extent_size);
	/* old bytes kept; bytes that were past the old EOF now read zero */
	uint64_t bad = 0;
	for (int i = 0; i < 5000; i++)
		bad += p[i] != 0x44;
	CU_ASSERT(bad == 0);
	CU_ASSERT(p[6000] == 0);
	for (int i = 5000; i < 8192; i++)
		bad += p[i] != 0;
	CU_ASSERT(bad == 0);
	/* the new range reads zero (hole reads allocate nothing) */
	CU_ASSERT(p[3 * MiB] == 0 && p[2 * MiB] == 0);
	CU_ASSERT(pstat(pool).used == st.extent_size);
	/* (shrinking: tests/test_truncate.c) */
	CU_ASSERT(osize(obj) == 3 * MiB + 1);
	CU_ASSERT(p[4999] == 0x44);
	TU_OK(daxmap_unmap(addr, 8 * MiB));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

static void test_truncate_beyond_max_size_is_efbig(void)
{
	char *path = xstrdup(tu_path("efbig.pool"));
	daxmap_pool *pool = tu_pool_create("efbig.pool", 32 * MiB);
	daxmap_obj *obj;

	TU_OK(daxmap_obj_open(&obj, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 4096));
	CU_ASSERT(daxmap_obj_truncate(obj, DAXMAP_MAX_OBJ_SIZE + 1) == -EFBIG);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_obj_truncate(obj, UINT64_MAX) == -EFBIG);
	CU_ASSERT(daxmap_obj_truncate(obj, UINT64_C(1) << 63) == -EFBIG);
	CU_ASSERT(daxmap_obj_truncate(obj, UINT64_MAX - 4095) == -EFBIG);
	CU_ASSERT(osize(obj) == 4096);
	/* the maximum itself is fine, and costs nothing */
	TU_OK(daxmap_obj_truncate(obj, DAXMAP_MAX_OBJ_SIZE));
	CU_ASSERT(osize(obj) == DAXMAP_MAX_OBJ_SIZE);
	CU_ASSERT(pstat(pool).used == 0);
	CU_ASSERT(daxmap_obj_truncate(obj, DAXMAP_MAX_OBJ_SIZE + 4096) == -EFBIG);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "big", 0));
	CU_ASSERT(osize(obj) == DAXMAP_MAX_OBJ_SIZE);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

static void test_object_may_exceed_pool_free_space(void)
{
	char *path = xstrdup(tu_path("sparse.pool"));
	daxmap_pool *pool = tu_pool_create("sparse.pool", 32 * MiB);
	const uint64_t size = UINT64_C(1) << 40, off = 512 * GiB + 6 * MiB;
	daxmap_obj *obj;
	void *addr;

	TU_OK(daxmap_obj_open(&obj, pool, "huge", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, size));
	CU_ASSERT(osize(obj) == size);
	CU_ASSERT(pstat(pool).used == 0);
	/* a window far into it; one store costs one extent */
	TU_OK(daxmap_map(&addr, obj, off, 4 * MiB, RW));
	CU_ASSERT(((volatile uint8_t *)addr)[3 * MiB] == 0);
	memcpy((char *)addr + 123, "far out", 7);
	CU_ASSERT(pstat(pool).used == pstat(pool).extent_size);
	TU_OK(daxmap_persist(addr, 4 * MiB));
	TU_OK(daxmap_unmap(addr, 4 * MiB));
	/* the last page of the object is reachable too */
	TU_OK(daxmap_map(&addr, obj, size - 4096, 4096, RW));
	((volatile uint8_t *)addr)[4095] = 0xfe;
	TU_OK(daxmap_unmap(addr, 4096));
	CU_ASSERT(pstat(pool).used == 2 * pstat(pool).extent_size);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "huge", 0));
	CU_ASSERT(osize(obj) == size);
	TU_OK(daxmap_map(&addr, obj, off, 4096, DAXMAP_PROT_READ));
	CU_ASSERT(memcmp((char *)addr + 123, "far out", 7) == 0);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_map(&addr, obj, size - 4096, 4096, DAXMAP_PROT_READ));
	CU_ASSERT(((uint8_t *)addr)[4095] == 0xfe);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

/* ---- map, unmap, persist arguments -------------------------------------- */

static void expect_map_fails(daxmap_obj *obj, uint64_t off, size_t len, int prot, int want1,
			     int want2)
{
	void *addr = (void *)1;
	int ret = daxmap_map(&addr, obj, off, len, prot);

	if (ret != want1 && ret != want2)
		fprintf(stderr, "daxmap_map(off %#llx, len %#zx, prot %d) = %d, want %d\n",
			(unsigned long long)off, len, prot, ret, want1);
	CU_ASSERT(ret == want1 || ret == want2);
	CU_ASSERT(addr == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	if (ret == 0)
		daxmap_unmap(addr, len);
}

static void test_map_bad_arguments_are_refused(void)
{
	daxmap_pool *pool = tu_pool_create("mapargs.pool", 32 * MiB);
	const uint64_t max = DAXMAP_MAX_OBJ_SIZE;
	daxmap_obj *obj;
	void *addr;

	TU_OK(daxmap_obj_open(&obj, pool, "m", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 8 * MiB));

	/* misaligned offsets */
	expect_map_fails(obj, 1, 4096, RW, -EINVAL, -EINVAL);
	expect_map_fails(obj, 4095, 4096, RW, -EINVAL, -EINVAL);
	expect_map_fails(obj, 4097, 4096, RW, -EINVAL, -EINVAL);
	expect_map_fails(obj, 2 * MiB + 512, 4096, RW, -EINVAL, -EINVAL);
	/* len 0 */
	expect_map_fails(obj, 0, 0, RW, -EINVAL, -EINVAL);
	expect_map_fails(obj, 4096, 0, DAXMAP_PROT_READ, -EINVAL, -EINVAL);
	/* prot */
	expect_map_fails(obj, 0, 4096, 0, -EINVAL, -EINVAL);
	expect_map_fails(obj, 0, 4096, DAXMAP_PROT_WRITE, -EINVAL, -EINVAL);
	expect_map_fails(obj, 0, 4096, PROT_READ | PROT_EXEC, -EINVAL, -EINVAL);
	expect_map_fails(obj, 0, 4096, RW | PROT_EXEC, -EINVAL, -EINVAL);
	expect_map_fails(obj, 0, 4096, 0x100 | RW, -EINVAL, -EINVAL);
	expect_map_fails(obj, 0, 4096, -1, -EINVAL, -EINVAL);
	/* offsets near 2^63 and 2^64 */
	expect_map_fails(obj, UINT64_C(1) << 63, 4096, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, (UINT64_C(1) << 63) - 4096, 4096, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, UINT64_MAX - 4095, 4096, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, UINT64_MAX - 4095, 8192, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, UINT64_MAX, 1, RW, -EINVAL, -EFBIG);
	expect_map_fails(obj, max, 4096, RW, -EFBIG, -EFBIG);
	/* offset + len past the maximum, or wrapping */
	expect_map_fails(obj, max - 4096, 8192, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, max - 4096, 4097, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, 0, (size_t)max + 1, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, 4096, (size_t)max, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, 0, SIZE_MAX, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, 4096, SIZE_MAX - 4094, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, 4096, SIZE_MAX - 100, RW, -EFBIG, -EFBIG);
	expect_map_fails(obj, UINT64_C(1) << 62, SIZE_MAX / 2, RW, -EFBIG, -EFBIG);
	/* NULL pointers */
	CU_ASSERT(daxmap_map(NULL, obj, 0, 4096, RW) == -EINVAL);
	expect_map_fails(NULL, 0, 4096, RW, -EINVAL, -EINVAL);

	/* nothing leaked by the refusals */
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.mappings == 0);
	CU_ASSERT(daxmap_obj_unlink(pool, "m") == -EBUSY); /* the handle only */

	/* the edges that are allowed: the last page below the maximum, and a
	 * length that is not a page multiple */
	TU_OK(daxmap_map(&addr, obj, max - 4096, 4096, DAXMAP_PROT_READ));
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_map(&addr, obj, max - 8192, 4097, DAXMAP_PROT_READ));
	TU_OK(daxmap_unmap(addr, 4097));
	TU_OK(daxmap_map(&addr, obj, 4096, 1, RW));
	CU_ASSERT(tu_vma_count(addr, 4096) >= 1);
	((volatile uint8_t *)addr)[4095] = 1; /* rounded up to a whole page */
	TU_OK(daxmap_unmap(addr, 1));
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.mappings == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

static void test_unmap_of_partial_or_foreign_range_is_einval(void)
{
	daxmap_pool *pool = tu_pool_create("unmapargs.pool", 32 * MiB);
	daxmap_obj *obj;
	char *p, stackbuf[64];
	void *addr, *heap = malloc(8192);
	const size_t len = 4 * MiB;

	TU_OK(daxmap_obj_open(&obj, pool, "u", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, len));
	TU_OK(daxmap_map(&addr, obj, 0, len, RW));
	p = addr;
	p[0] = 'a';
	p[3 * MiB] = 'b';

	CU_ASSERT(daxmap_unmap(addr, len - 4096) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_unmap(addr, 4096) == -EINVAL);
	CU_ASSERT(daxmap_unmap(addr, len + 4096) == -EINVAL);
	CU_ASSERT(daxmap_unmap(p + 4096, len - 4096) == -EINVAL);
	CU_ASSERT(daxmap_unmap(p + 2 * MiB, 2 * MiB) == -EINVAL);
	CU_ASSERT(daxmap_unmap(p + 1, len - 1) == -EINVAL);
	CU_ASSERT(daxmap_unmap(p + len, 4096) == -EINVAL);
	CU_ASSERT(daxmap_unmap(heap, 8192) == -EINVAL);
	CU_ASSERT(daxmap_unmap(stackbuf, sizeof(stackbuf)) == -EINVAL);
	CU_ASSERT(daxmap_unmap(NULL, 4096) == -EINVAL);
	CU_ASSERT(daxmap_unmap((void *)(uintptr_t)-4096, 4096) == -EINVAL);
	free(heap);
	/* the mapping survived every refusal, whole */
	CU_ASSERT(tu_vma_count(addr, len) >= 1);
	CU_ASSERT(p[0] == 'a' && p[3 * MiB] == 'b');
	p[len - 1] = 'c';
	CU_ASSERT(pstat(pool).mappings == 1);
	/* a length rounded to the same pages is the same mapping */
	TU_OK(daxmap_unmap(addr, len - 100));
	CU_ASSERT(tu_vma_count(addr, len) == 0);
	CU_ASSERT(pstat(pool).mappings == 0);
	/* twice */
	CU_ASSERT(daxmap_unmap(addr, len) == -EINVAL);

	/* the bytes were stored in the pool before the unmap */
	TU_OK(daxmap_map(&addr, obj, 0, len, DAXMAP_PROT_READ));
	p = addr;
	CU_ASSERT(p[0] == 'a' && p[3 * MiB] == 'b' && p[len - 1] == 'c');
	TU_OK(daxmap_unmap(addr, len));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

static void test_persist_outside_mapping_is_einval_holes_are_fine(void)
{
	daxmap_pool *pool = tu_pool_create("persist.pool", 32 * MiB);
	struct daxmap_pool_stat st0, st;
	char stackbuf[4096];
	daxmap_obj *obj;
	char *p, *heap = malloc(65536);
	void *addr, *ro;
	const size_t len = 8 * MiB;

	TU_OK(daxmap_obj_open(&obj, pool, "p", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, len));
	TU_OK(daxmap_map(&addr, obj, 0, len, RW));
	p = addr;

	CU_ASSERT(daxmap_persist(stackbuf, sizeof(stackbuf)) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	CU_ASSERT(daxmap_persist(heap, 65536) == -EINVAL);
	CU_ASSERT(daxmap_persist(NULL, 4096) == -EINVAL);
	/* starting inside, ending outside */
	CU_ASSERT(daxmap_persist(p + len - 4096, 8192) == -EINVAL);
	CU_ASSERT(daxmap_persist(p, len + 1) == -EINVAL);
	CU_ASSERT(daxmap_persist(p + 4096, SIZE_MAX) == -EINVAL);
	/* starting before */
	CU_ASSERT(daxmap_persist(p - 4096, 8192) == -EINVAL);
	free(heap);

	/* never touched: holes only */
	st0 = pstat(pool);
	TU_OK(daxmap_persist(p, len));
	TU_OK(daxmap_persist(p + 3 * MiB + 17, 1000));
	st = pstat(pool);
	CU_ASSERT(st.used == 0);
	CU_ASSERT(st.faults == st0.faults); /* persist faults nothing in */
	/* a mix: one extent written, one read as a hole, the rest untouched */
	memset(p + 2 * MiB + 100, 0x5e, 10000);
	CU_ASSERT(((volatile char *)p)[5 * MiB] == 0);
	TU_OK(daxmap_persist(p, len));
	TU_OK(daxmap_persist(p + 2 * MiB + 100, 10000));
	st = pstat(pool);
	CU_ASSERT(st.used == st.extent_size);
	/* through a read-only mapping too */
	TU_OK(daxmap_map(&ro, obj, 2 * MiB, 4 * MiB, DAXMAP_PROT_READ));
	TU_OK(daxmap_persist(ro, 4 * MiB));
	CU_ASSERT(((char *)ro)[100] == 0x5e);
	TU_OK(daxmap_persist(ro, 4 * MiB));
	/* len 0 is nothing to do */
	CU_ASSERT(daxmap_persist(p, 0) == 0);
	TU_OK(daxmap_unmap(ro, 4 * MiB));
	TU_OK(daxmap_unmap(addr, len));
	/* unmapped: no longer a daxmap range */
	CU_ASSERT(daxmap_persist(addr, 4096) == -EINVAL);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"obj_open_flags", test_obj_open_flags},
		{"obj_names", test_obj_names},
		{"obj_open_without_free_slot_is_enfile", test_obj_open_without_free_slot_is_enfile},
		{"obj_unlink_busy_and_missing", test_obj_unlink_busy_and_missing},
		{"messages_quote_object_names", test_messages_quote_object_names},
		{"unlink_returns_space_zeroed_in_background",
		 test_unlink_returns_space_zeroed_in_background},
		{"unlink_then_immediate_reuse_reads_zero", test_unlink_then_immediate_reuse_reads_zero},
		{"unlinked_space_zeroed_after_reopen", test_unlinked_space_zeroed_after_reopen},
		{"truncate_grow_keeps_data_and_allocates_nothing",
		 test_truncate_grow_keeps_data_and_allocates_nothing},
		{"truncate_beyond_max_size_is_efbig", test_truncate_beyond_max_size_is_efbig},
		{"object_may_exceed_pool_free_space", test_object_may_exceed_pool_free_space},
		{"map_bad_arguments_are_refused", test_map_bad_arguments_are_refused},
		{"unmap_of_partial_or_foreign_range_is_einval",
		 test_unmap_of_partial_or_foreign_range_is_einval},
		{"persist_outside_mapping_is_einval_holes_are_fine",
		 test_persist_outside_mapping_is_einval_holes_are_fine},
		{NULL, NULL},
	};
	return tu_run("object", tests);
}
