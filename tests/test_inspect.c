/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_pool_inspect(): the figures and objects of a closed pool and of one
 * open in this process, stopping the walk, the errno contract, and that it
 * changes nothing.
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

static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pwrite(fd, buf, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

/* A 32 MiB pool of 64 KiB extents and 16 slots holding "a": 200 KiB, its
 * first 128 KiB allocated. Left open when poolp is not NULL. */
static const char *make_pool(const char *name, daxmap_pool **poolp)
{
	const char *path = tu_path(name);
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	daxmap_obj *obj;

	unlink(path);
	daxmap_pool_opts_init(&o);
	o.extent_size = 64 * KiB;
	o.max_objects = 16;
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
	uint32_t version = 2;
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

int main(void)
{
	static const struct tu_test tests[] = {
		{"reads a closed pool", test_inspect_reads_a_closed_pool},
		{"reads a pool that is open", test_inspect_reads_a_pool_that_is_open},
		{"walk stops on non-zero", test_inspect_walk_stops_on_non_zero},
		{"errors", test_inspect_errors},
		{"changes nothing", test_inspect_changes_nothing},
		{NULL, NULL},
	};
	return tu_run("daxmap_pool_inspect", tests);
}
