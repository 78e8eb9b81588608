/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_pool_inspect(): the figures and objects of a closed pool and of one
 * open in this process, stopping the walk, the errno contract, and that it
 * changes nothing. A growable pool (format version 2) before and after a
 * grow, with daxmap_pool_check(): a damaged entry of an extent past the
 * file's end, and an interrupted grow.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define OBJTAB_OFF 65536u
#define HDR_VERSION_OFF 8u /* struct pool_hdr (src/layout.h): after the magic */
#define HDR_GROW_TO_OFF 2112u /* version 2: grow_to, outside the checksum */
#define EXTTAB_OFF (OBJTAB_OFF + 4096u) /* 16 slots of 256 bytes, rounded to 4 KiB */

static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pwrite(fd, buf, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

/* A 32 MiB pool of 64 KiB extents and 16 slots holding "a": 200 KiB, its
 * first 128 KiB allocated; growable up to max_size unless that is 0. Left
 * open when poolp is not NULL. */
static const char *make_pool_max(const char *name, uint64_t max_size, daxmap_pool **poolp)
{
	const char *path = tu_path(name);
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	daxmap_obj *obj;

	unlink(path);
	daxmap_pool_opts_init(&o);
	o.extent_size = 64 * KiB;
	o.max_objects = 16;
	o.max_size = max_size;
	TU_OK(daxmap_pool_create_opts(&pool, path, 32 * MiB, 0600, &o));
	TU_OK(daxmap_obj_open(&obj, pool, "a", DAXMAP_CREATE));
	TU_OK(daxmap_obj_allocate(obj, 0, 128 * KiB)); /* two extents */
	TU_OK(daxmap_obj_truncate(obj, 200 * KiB));
	TU_OK(daxmap_obj_close(obj));
	if (poolp)
		*poolp = pool;
	else
		TU_OK(daxmap_pool_close(pool));
	return path;
}

static const char *make_pool(const char *name, daxmap_pool **poolp)
{
	return make_pool_max(name, 0, poolp);
}

/* The walk as "name=size name=size ". */
struct seen {
	char list[256];
	unsigned n;
	int stop_with;
};

static int remember(const char *name, uint64_t size, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->list);

	snprintf(s->list + len, sizeof(s->list) - len, "%s=%llu ", name, (unsigned long long)size);
	s->n++;
	return s->stop_with;
}

static void test_inspect_reads_a_closed_pool(void)
{
	const char *path = make_pool("closed", NULL);
	struct daxmap_pool_info in;
	struct seen s = {0};
	static const uint8_t zero[16];
	uint64_t now = (uint64_t)time(NULL);

	TU_OK(daxmap_pool_inspect(path, 0, &in, remember, &s));
	CU_ASSERT(in.in_use == 0);
	CU_ASSERT(in.version == 1);
	CU_ASSERT(in.create_time <= now && in.create_time + 60 >= now);
	CU_ASSERT(memcmp(in.uuid, zero, sizeof(zero)) != 0);
	CU_ASSERT(in.size == 32 * MiB);
	CU_ASSERT(in.extent_size == 64 * KiB);
	CU_ASSERT(in.extents == 480);
	CU_ASSERT(in.max_objects == 16);
	CU_ASSERT(in.header.off == 0 && in.header.len == 4096);
	CU_ASSERT(in.log.off == 4096 && in.log.len == 61440);
	CU_ASSERT(in.object_table.off == OBJTAB_OFF && in.object_table.len == 16 * 256);
	CU_ASSERT(in.extent_table.off == OBJTAB_OFF + 4096);
	CU_ASSERT(in.extent_table.off + in.extent_table.len == in.data.off);
	CU_ASSERT(in.data.off == 2 * MiB && in.data.len == 480 * 64 * KiB);
	CU_ASSERT(in.used == 128 * KiB);
	CU_ASSERT(in.free == in.data.len - in.used);
	CU_ASSERT(in.objects == 1 && in.objects_dying == 0);
	CU_ASSERT(in.bad_slots == 0 && in.bad_extents == 0);
	CU_ASSERT(strcmp(s.list, "a=204800 ") == 0);
	/* a closed pool reads the same twice */
	{
		struct daxmap_pool_info again;
		TU_OK(daxmap_pool_inspect(path, 0, &again, NULL, NULL));
		CU_ASSERT(memcmp(&in, &again, sizeof(in)) == 0);
	}
}

static void test_inspect_reads_a_pool_that_is_open(void)
{
	daxmap_pool *pool;
	const char *path = make_pool("open", &pool);
	struct daxmap_pool_info in;
	struct seen s = {0};
	daxmap_obj *obj;

	TU_OK(daxmap_obj_open(&obj, pool, "b", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 12345));
	TU_OK(daxmap_pool_inspect(path, 0, &in, remember, &s));
	CU_ASSERT(in.in_use == 1);
	CU_ASSERT(in.objects == 2);
	CU_ASSERT(strcmp(s.list, "a=204800 b=12345 ") == 0);
	/* the pool is none the worse */
	TU_OK(daxmap_obj_truncate(obj, 1));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.in_use == 0);
	CU_ASSERT(daxmap_pool_check(path, 0, NULL, NULL) == 0);
}

static void test_inspect_walk_stops_on_non_zero(void)
{
	daxmap_pool *pool;
	const char *path = make_pool("stop", &pool);
	struct daxmap_pool_info in;
	struct seen s = {.stop_with = 7};
	daxmap_obj *obj;

	TU_OK(daxmap_obj_open(&obj, pool, "b", DAXMAP_CREATE));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_inspect(path, 0, &in, remember, &s) == 7);
	CU_ASSERT(s.n == 1);
	s.stop_with = -5; /* negative too: returned as it is */
	s.n = 0;
	s.list[0] = 0;
	CU_ASSERT(daxmap_pool_inspect(path, 0, &in, remember, &s) == -5);
}

static void test_inspect_errors(void)
{
	const char *path = make_pool("errors", NULL);
	const char *junk = tu_path("junk");
	struct daxmap_pool_info in;
	char buf[8192];
	uint32_t version = 3;
	unsigned char b;
	int fd;

	CU_ASSERT(daxmap_pool_inspect(NULL, 0, &in, NULL, NULL) == -EINVAL);
	CU_ASSERT(daxmap_pool_inspect(path, 0, NULL, NULL, NULL) == -EINVAL);
	CU_ASSERT(daxmap_pool_inspect(path, 1, &in, NULL, NULL) == -EINVAL);
	CU_ASSERT(daxmap_pool_inspect(tu_path("missing"), 0, &in, NULL, NULL) == -ENOENT);
	CU_ASSERT(daxmap_pool_inspect(tu_dir(), 0, &in, NULL, NULL) == -EINVAL);
	memset(buf, 'x', sizeof(buf));
	fd = open(junk, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, buf, 100) == 100);
	close(fd);
	CU_ASSERT(daxmap_pool_inspect(junk, 0, &in, NULL, NULL) == -EINVAL); /* too small */
	CU_ASSERT(truncate(junk, 0) == 0);
	fd = open(junk, O_WRONLY);
	CU_ASSERT(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	close(fd);
	CU_ASSERT(daxmap_pool_inspect(junk, 0, &in, NULL, NULL) == -EINVAL); /* bad magic */
	CU_ASSERT(strstr(daxmap_errormsg(), "not a daxmap pool") != NULL);

	/* a damaged slot is counted, not listed */
	b = 'z';
	poke(path, OBJTAB_OFF + 40, &b, 1);
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.objects == 0 && in.bad_slots == 1);
	/* the header: a flipped byte, a newer version, a truncated file */
	b = 0x10;
	poke(path, 200, &b, 1);
	CU_ASSERT(daxmap_pool_inspect(path, 0, &in, NULL, NULL) == -EUCLEAN);
	CU_ASSERT(strstr(daxmap_errormsg(), "header checksum mismatch") != NULL);
	poke(path, HDR_VERSION_OFF, &version, sizeof(version));
	CU_ASSERT(daxmap_pool_inspect(path, 0, &in, NULL, NULL) == -EPROTONOSUPPORT);
	path = make_pool("errors2", NULL);
	CU_ASSERT(truncate(path, 8 * MiB) == 0);
	CU_ASSERT(daxmap_pool_inspect(path, 0, &in, NULL, NULL) == -EUCLEAN);
	CU_ASSERT(strstr(daxmap_errormsg(), "but the file has") != NULL);
}

static void test_inspect_changes_nothing(void)
{
	const char *path = make_pool("same", NULL);
	static char before[4 * MiB], after[4 * MiB];
	struct daxmap_pool_info in;
	int fd = open(path, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pread(fd, before, sizeof(before), 0) == (ssize_t)sizeof(before));
	CU_ASSERT(chmod(path, 0400) == 0);
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(pread(fd, after, sizeof(after), 0) == (ssize_t)sizeof(after));
	CU_ASSERT(memcmp(before, after, sizeof(before)) == 0);
	close(fd);
}

/* check's findings, one per line */
struct findings {
	char text[8192];
};

static void collect(const char *msg, void *arg)
{
	struct findings *f = arg;
	size_t len = strlen(f->text);

	snprintf(f->text + len, sizeof(f->text) - len, "%s\n", msg);
}

static int check(const char *path, struct findings *f)
{
	f->text[0] = 0;
	return daxmap_pool_check(path, DAXMAP_CHECK_DATA, collect, f);
}

#define HAS(f, s)                                                                                  \
	do {                                                                                       \
		if (!strstr((f).text, (s)))                                                        \
			fprintf(stderr, "%s:%d: lacks \"%s\":\n%s\n", __FILE__, __LINE__, (s),       \
				(f).text);                                                         \
		CU_ASSERT(strstr((f).text, (s)) != NULL);                                          \
	} while (0)

/* make_pool's pool, growable to 64 MiB: laid out for that, 992 extents, of
 * which the first 480 lie within 32 MiB. */
static const char *make_growable(const char *name)
{
	return make_pool_max(name, 64 * MiB, NULL);
}

static void test_growable_pool(void)
{
	const char *path = make_growable("grow");
	struct daxmap_pool_info in;
	struct daxmap_pool_stat st;
	struct findings f;
	daxmap_pool *pool;
	daxmap_obj *obj;

	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.version == 2);
	CU_ASSERT(in.size == 32 * MiB);
	CU_ASSERT(in.extents == 480);
	CU_ASSERT(in.data.off == 2 * MiB && in.data.len == 480 * 64 * KiB);
	CU_ASSERT(in.extent_table.off == EXTTAB_OFF);
	CU_ASSERT(in.used == 128 * KiB && in.free == in.data.len - in.used);
	CU_ASSERT(in.bad_extents == 0);
	CU_ASSERT(check(path, &f) == 0);
	HAS(f, "2 of 480 extents allocated");

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_pool_grow(pool, 48 * MiB));
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.size == 48 * MiB && st.max_size == 64 * MiB);
	/* into the new space: 40 MiB did not fit before */
	TU_OK(daxmap_obj_open(&obj, pool, "b", DAXMAP_CREATE));
	TU_OK(daxmap_obj_allocate(obj, 0, 40 * MiB));
	TU_OK(daxmap_obj_close(obj));
	/* read while open, after the grow */
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.in_use == 1 && in.size == 48 * MiB && in.extents == 736);
	TU_OK(daxmap_pool_close(pool));

	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.size == 48 * MiB);
	CU_ASSERT(in.extents == 736);
	CU_ASSERT(in.data.len == 736 * 64 * KiB);
	CU_ASSERT(in.used == 642 * 64 * KiB);
	CU_ASSERT(in.objects == 2 && in.bad_extents == 0);
	CU_ASSERT(check(path, &f) == 0);
	HAS(f, "642 of 736 extents allocated");
	HAS(f, "0 problems, 0 notices");
}

/* The entry of an extent past the file's end must stay 0 (free): open
 * refuses anything else, check names it. */
static void test_growable_absent_entry_damaged(void)
{
	const char *path = make_growable("absent");
	uint64_t ent = UINT64_C(1) << 63 | 5; /* allocated to slot 0, index 5 */
	struct daxmap_pool_info in;
	struct findings f;
	daxmap_pool *pool;
	char want[128];

	poke(path, EXTTAB_OFF + 900 * 8, &ent, sizeof(ent));
	CU_ASSERT(check(path, &f) == 1);
	snprintf(want, sizeof(want), "damaged: extent table entry 900 at offset %u: the extent lies "
		 "past the pool's current size", EXTTAB_OFF + 900 * 8);
	HAS(f, want);
	HAS(f, "1 problems");
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.bad_extents == 1 && in.extents == 480);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EUCLEAN);
	/* a free-but-dirty mark there is no better, nor is the last entry's */
	ent = 0;
	poke(path, EXTTAB_OFF + 900 * 8, &ent, sizeof(ent));
	CU_ASSERT(check(path, &f) == 0);
	ent = UINT64_C(1) << 62;
	poke(path, EXTTAB_OFF + 991 * 8, &ent, sizeof(ent));
	CU_ASSERT(check(path, &f) == 1);
	HAS(f, "extent table entry 991 at offset");
	/* the last present entry is an ordinary one: free, not zeroed is fine */
	ent = 0;
	poke(path, EXTTAB_OFF + 991 * 8, &ent, sizeof(ent));
	ent = UINT64_C(1) << 62;
	poke(path, EXTTAB_OFF + 479 * 8, &ent, sizeof(ent));
	CU_ASSERT(check(path, &f) == 0);
	HAS(f, "2 of 480 extents allocated, 478 free (1 waiting to be zeroed)");
}

/*
 * A crash during a grow of make_growable's pool to 48 MiB that left the
 * file at file_size: grow_to is set, a notice (not damage) saying what the
 * next open does, inspect shows the old size; then an open does it.
 */
static void grow_interrupted_at(const char *path, uint64_t file_size, const char *verdict)
{
	uint64_t to = 48 * MiB;
	struct daxmap_pool_info in;
	struct findings f;
	daxmap_pool *pool;
	char want[192];

	poke(path, HDR_GROW_TO_OFF, &to, sizeof(to));
	CU_ASSERT(truncate(path, (off_t)file_size) == 0);
	CU_ASSERT(check(path, &f) == 0);
	snprintf(want, sizeof(want), "notice: header at offset 2112: a grow from 33554432 to "
		 "50331648 bytes was interrupted (the file has %llu bytes): %s",
		 (unsigned long long)file_size, verdict);
	HAS(f, want);
	/* nothing read past cur_size */
	HAS(f, "2 of 480 extents allocated, ");
	HAS(f, "0 problems, 1 notices");
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.size == 32 * MiB && in.extents == 480);
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_pool_close(pool));
}

static void test_growable_interrupted_grow(void)
{
	const char *path = make_growable("interrupted");
	struct daxmap_pool_info in;
	struct findings f;
	struct stat st;

	/* not yet extended, or half way: undone */
	grow_interrupted_at(path, 32 * MiB, "undone");
	grow_interrupted_at(path, 40 * MiB, "undone (the file is cut back) on the next open");
	CU_ASSERT(stat(path, &st) == 0 && (uint64_t)st.st_size == 32 * MiB);
	CU_ASSERT(check(path, &f) == 0);
	HAS(f, "2 of 480 extents allocated, ");
	HAS(f, "0 problems, 0 notices");
	/* extended all the way: finished */
	grow_interrupted_at(path, 48 * MiB, "finished on the next open");
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.size == 48 * MiB && in.extents == 736);
	CU_ASSERT(check(path, &f) == 0);
	HAS(f, "2 of 736 extents allocated, ");
	HAS(f, "0 problems, 0 notices");
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"reads a closed pool", test_inspect_reads_a_closed_pool},
		{"reads a pool that is open", test_inspect_reads_a_pool_that_is_open},
		{"walk stops on non-zero", test_inspect_walk_stops_on_non_zero},
		{"errors", test_inspect_errors},
		{"changes nothing", test_inspect_changes_nothing},
		{"growable pool: inspect and check after a grow", test_growable_pool},
		{"growable pool: entry past the file's end", test_growable_absent_entry_damaged},
		{"growable pool: interrupted grow", test_growable_interrupted_grow},
		{NULL, NULL},
	};
	return tu_run("daxmap_pool_inspect", tests);
}
