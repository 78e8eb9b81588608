/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_pool_inspect(): the figures and objects of a closed pool and of one
 * open in this process, stopping the walk, the errno contract, and that it
 * changes nothing. A growable pool (format version 2) before and after a
 * grow, with daxmap_pool_check(): a damaged entry of an extent past the
 * file's end, and an interrupted grow. A pool with blocks (format version
 * 3) with objects made of them (DAXMAP_SMALL): inspect's block figures, and
 * check's findings on block tables damaged one way at a time.
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
	uint32_t version = 4; /* one past the newest this library knows */
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

/*
 * Version 3: blocks. Offsets are read from the header (struct pool_hdr,
 * src/layout.h), entries written with the table's encoding: bits 63..62
 * the tag (0 free, 1 free and dirty, 2 allocated, 3 split), 61..40 the
 * owner slot, 39..0 the index.
 */
#define HDR_EXTTAB_OFF 48u
#define HDR_DATA_OFF 56u
#define HDR_NEXTENTS_OFF 64u
#define HDR_BLKTAB_OFF 96u
#define ENT_DIRTY (UINT64_C(1) << 62)
#define ENT_SPLIT (UINT64_C(3) << 62)
#define SLOT_DYING UINT64_C(0x474e49594a424f44) /* "DOBJYING" */
#define BLK (64 * KiB)
#define BIG_EXTENT (256 * KiB) /* four blocks per extent */
#define BPE (BIG_EXTENT / BLK)

static uint64_t ent_alloc(uint32_t slot, uint64_t index)
{
	return UINT64_C(2) << 62 | (uint64_t)slot << 40 | index;
}

static void peek(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, buf, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static uint64_t peek64(const char *path, uint64_t off)
{
	uint64_t v;
	peek(path, off, &v, sizeof(v));
	return v;
}

static void poke64(const char *path, uint64_t off, uint64_t v)
{
	poke(path, off, &v, sizeof(v));
}

/* Where things are in make_blocks's pool, as its file says. */
struct blocks_pool {
	const char *path;
	uint64_t exttab, blktab, data, nextents;
	uint64_t split;     /* the first split extent */
	uint64_t free_blk;  /* a free block of a split extent */
	uint64_t s0_blk;    /* the block of "s" (slot 1) at index 0 */
	uint64_t free_ext;  /* an extent neither allocated nor split */
};

static uint64_t ext_off(const struct blocks_pool *p, uint64_t x)
{
	return p->exttab + x * 8;
}

static uint64_t blk_off(const struct blocks_pool *p, uint64_t b)
{
	return p->blktab + b * 8;
}

/*
 * A 32 MiB pool of 256 KiB extents (version 3, four blocks each) and 16
 * slots, growable to max_size unless it is 0: "a" (slot 0) made of
 * extents, 300 KiB written (two extents); "s" (slot 1) made of blocks,
 * 100000 bytes written (blocks 0 and 1); "t" (slot 2) made of blocks, 10
 * bytes written at 200 KiB (block 3 only, a hole before it).
 */
static struct blocks_pool make_blocks_max(const char *name, uint64_t max_size)
{
	static char buf[300 * KiB];
	struct blocks_pool p = {.path = tu_path(name)};
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t *ext, *blk;

	unlink(p.path);
	daxmap_pool_opts_init(&o);
	o.extent_size = BIG_EXTENT;
	o.max_objects = 16;
	o.max_size = max_size;
	TU_OK(daxmap_pool_create_opts(&pool, p.path, 32 * MiB, 0600, &o));
	memset(buf, 0xa5, sizeof(buf));
	TU_OK(daxmap_obj_open(&obj, pool, "a", DAXMAP_CREATE));
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 300 * KiB, 0, 0) == (ssize_t)(300 * KiB));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_open(&obj, pool, "s", DAXMAP_CREATE | DAXMAP_SMALL));
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 100000, 0, 0) == 100000);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_open(&obj, pool, "t", DAXMAP_CREATE | DAXMAP_SMALL));
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, 10, 200 * KiB, 0) == 10);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	p.exttab = peek64(p.path, HDR_EXTTAB_OFF);
	p.blktab = peek64(p.path, HDR_BLKTAB_OFF);
	p.data = peek64(p.path, HDR_DATA_OFF);
	p.nextents = peek64(p.path, HDR_NEXTENTS_OFF);
	CU_ASSERT_FATAL(p.blktab == p.exttab + p.nextents * 8);
	ext = calloc(p.nextents, 8);
	blk = calloc(p.nextents * BPE, 8);
	CU_ASSERT_FATAL(ext && blk);
	peek(p.path, p.exttab, ext, p.nextents * 8);
	peek(p.path, p.blktab, blk, p.nextents * BPE * 8);
	p.split = p.free_blk = p.s0_blk = p.free_ext = UINT64_MAX;
	for (uint64_t x = 0; x < p.nextents; x++) {
		if (ext[x] == ENT_SPLIT && p.split == UINT64_MAX)
			p.split = x;
		if (ext[x] == 0 && p.free_ext == UINT64_MAX)
			p.free_ext = x;
		for (uint64_t b = x * BPE; ext[x] == ENT_SPLIT && b < (x + 1) * BPE; b++) {
			if (blk[b] == 0 && p.free_blk == UINT64_MAX)
				p.free_blk = b;
			if (blk[b] == ent_alloc(1, 0))
				p.s0_blk = b;
		}
	}
	CU_ASSERT_FATAL(p.split != UINT64_MAX && p.free_blk != UINT64_MAX);
	CU_ASSERT_FATAL(p.s0_blk != UINT64_MAX && p.free_ext != UINT64_MAX);
	free(ext);
	free(blk);
	return p;
}

static struct blocks_pool make_blocks(const char *name)
{
	return make_blocks_max(name, 0);
}

/* Damage that check reports and open refuses; put right, the pool is clean. */
static void damaged_then_restored(const struct blocks_pool *p, uint64_t off, uint64_t ent,
				  const char *finding)
{
	uint64_t was = peek64(p->path, off);
	struct findings f;
	daxmap_pool *pool;

	poke64(p->path, off, ent);
	CU_ASSERT(check(p->path, &f) == 1);
	HAS(f, finding);
	CU_ASSERT(daxmap_pool_open(&pool, p->path) == -EUCLEAN);
	poke64(p->path, off, was);
	CU_ASSERT(check(p->path, &f) == 0);
	HAS(f, "0 problems, 0 notices");
}

static void test_blocks_pool_inspected_and_clean(void)
{
	struct blocks_pool p = make_blocks("blocks");
	struct daxmap_pool_info in;
	struct findings f;
	struct seen s = {0};
	daxmap_pool *pool;
	char want[160];

	TU_OK(daxmap_pool_inspect(p.path, 0, &in, remember, &s));
	CU_ASSERT(in.version == 3);
	CU_ASSERT(in.extent_size == BIG_EXTENT && in.block_size == BLK);
	CU_ASSERT(in.blocks_used == 3 * BLK);
	CU_ASSERT(in.blocks_split >= BIG_EXTENT && in.blocks_split % BIG_EXTENT == 0);
	/* split extents count as used, as daxmap_pool_stat counts them */
	CU_ASSERT(in.used == 2 * BIG_EXTENT + in.blocks_split);
	CU_ASSERT(in.free == in.data.len - in.used && in.free_unzeroed == 0);
	CU_ASSERT(in.bad_extents == 0 && in.bad_slots == 0);
	CU_ASSERT(in.extent_table.off == p.exttab && in.data.off == p.data);
	CU_ASSERT(in.extent_table.off + in.extent_table.len == in.data.off);
	CU_ASSERT(in.size == 32 * MiB && in.max_size == 32 * MiB);
	CU_ASSERT(strcmp(s.list, "a=307200 s=100000 t=204810 ") == 0);

	CU_ASSERT(check(p.path, &f) == 0);
	snprintf(want, sizeof(want), "2 of %llu extents allocated, ",
		 (unsigned long long)p.nextents);
	HAS(f, want);
	snprintf(want, sizeof(want), "%llu split into %llu blocks: 3 allocated, %llu free (0 "
		 "waiting to be zeroed)", (unsigned long long)(in.blocks_split / BIG_EXTENT),
		 (unsigned long long)(in.blocks_split / BLK),
		 (unsigned long long)(in.blocks_split / BLK - 3));
	HAS(f, want);
	HAS(f, "0 problems, 0 notices");
	TU_OK(daxmap_pool_open(&pool, p.path));
	TU_OK(daxmap_pool_close(pool));
}

/* A block entry of an extent that is not split must be 0. */
static void test_blocks_of_an_extent_not_split_must_be_zero(void)
{
	struct blocks_pool p = make_blocks("notsplit");
	uint64_t b = p.free_ext * BPE + 1, x;
	char want[200];

	snprintf(want, sizeof(want), "damaged: block table entry %llu at offset %llu is "
		 "0x4000000000000000, not 0, but extent %llu is not split into blocks",
		 (unsigned long long)b, (unsigned long long)blk_off(&p, b),
		 (unsigned long long)p.free_ext);
	damaged_then_restored(&p, blk_off(&p, b), ENT_DIRTY, want);
	/* an allocated extent's blocks no more than a free one's: "a"'s first */
	for (x = 0; peek64(p.path, ext_off(&p, x)) != ent_alloc(0, 0); x++)
		CU_ASSERT_FATAL(x < p.nextents);
	b = x * BPE + BPE - 1;
	snprintf(want, sizeof(want), "block table entry %llu at offset %llu is %#llx, not 0, "
		 "but extent %llu is not split", (unsigned long long)b,
		 (unsigned long long)blk_off(&p, b), (unsigned long long)ent_alloc(1, 5),
		 (unsigned long long)x);
	damaged_then_restored(&p, blk_off(&p, b), ent_alloc(1, 5), want);
}

/* Each table's owners are objects of its kind; owners are live. */
static void test_blocks_and_extents_owned_by_their_own_kind(void)
{
	struct blocks_pool p = make_blocks("kind");
	char want[200];

	/* a block of an object made of extents ("a", slot 0) */
	snprintf(want, sizeof(want), "damaged: block table entry %llu at offset %llu: owner "
		 "slot 0 is an object made of extents", (unsigned long long)p.free_blk,
		 (unsigned long long)blk_off(&p, p.free_blk));
	damaged_then_restored(&p, blk_off(&p, p.free_blk), ent_alloc(0, 4), want);
	/* an extent of an object made of blocks ("s", slot 1) */
	snprintf(want, sizeof(want), "damaged: extent table entry %llu at offset %llu: owner "
		 "slot 1 is an object made of blocks", (unsigned long long)p.free_ext,
		 (unsigned long long)ext_off(&p, p.free_ext));
	damaged_then_restored(&p, ext_off(&p, p.free_ext), ent_alloc(1, 7), want);
	/* a block of a free slot */
	snprintf(want, sizeof(want), "damaged: block table entry %llu at offset %llu: owner "
		 "slot 9 is not a live object", (unsigned long long)p.free_blk,
		 (unsigned long long)blk_off(&p, p.free_blk));
	damaged_then_restored(&p, blk_off(&p, p.free_blk), ent_alloc(9, 0), want);
}

/* (slot, index) is held by one block only. */
static void test_blocks_duplicate_block_index(void)
{
	struct blocks_pool p = make_blocks("dupblk");
	struct findings f;
	char want[200];

	poke64(p.path, blk_off(&p, p.free_blk), ent_alloc(1, 0));
	CU_ASSERT(check(p.path, &f) == 1);
	/* both holders are named */
	snprintf(want, sizeof(want), "damaged: block table entry %llu at offset %llu: block 0 of "
		 "object slot 1 is held by more than one entry", (unsigned long long)p.s0_blk,
		 (unsigned long long)blk_off(&p, p.s0_blk));
	HAS(f, want);
	snprintf(want, sizeof(want), "damaged: block table entry %llu at offset %llu: block 0 of "
		 "object slot 1 is held by more than one entry", (unsigned long long)p.free_blk,
		 (unsigned long long)blk_off(&p, p.free_blk));
	HAS(f, want);
	HAS(f, "2 problems");
	poke64(p.path, blk_off(&p, p.free_blk), 0);
	/* the same index in the other table is no duplicate: it is damage of its own */
	snprintf(want, sizeof(want), "extent table entry %llu at offset %llu: owner slot 1 is an "
		 "object made of blocks", (unsigned long long)p.free_ext,
		 (unsigned long long)ext_off(&p, p.free_ext));
	damaged_then_restored(&p, ext_off(&p, p.free_ext), ent_alloc(1, 0), want);
}

/* The split tag is for the extent table of a version 3 pool, alone. */
static void test_blocks_split_tag_where_it_is_not_allowed(void)
{
	struct blocks_pool p = make_blocks("splittag");
	const char *v1 = make_pool("splittag-v1", NULL);
	struct findings f;
	daxmap_pool *pool;
	char want[200];

	/* in the block table */
	snprintf(want, sizeof(want), "entry %llu at offset %llu: bad tag",
		 (unsigned long long)p.free_blk, (unsigned long long)blk_off(&p, p.free_blk));
	damaged_then_restored(&p, blk_off(&p, p.free_blk), ENT_SPLIT, want);
	/* with stray bits */
	snprintf(want, sizeof(want), "extent table entry %llu at offset %llu: bad tag",
		 (unsigned long long)p.free_ext, (unsigned long long)ext_off(&p, p.free_ext));
	damaged_then_restored(&p, ext_off(&p, p.free_ext), ENT_SPLIT | 1, want);
	/* in a version 1 pool, which has no blocks */
	poke64(v1, EXTTAB_OFF + 100 * 8, ENT_SPLIT);
	CU_ASSERT(check(v1, &f) == 1);
	snprintf(want, sizeof(want), "damaged: extent table entry 100 at offset %u: bad tag",
		 EXTTAB_OFF + 100 * 8);
	HAS(f, want);
	CU_ASSERT(daxmap_pool_open(&pool, v1) == -EUCLEAN);
}

/* A split extent whose blocks are all free (zeroed or not) is legal. */
static void test_blocks_split_extent_all_free_is_clean(void)
{
	struct blocks_pool p = make_blocks("allfree");
	struct daxmap_pool_info in, in0;
	struct findings f;
	daxmap_pool *pool;

	TU_OK(daxmap_pool_inspect(p.path, 0, &in0, NULL, NULL));
	poke64(p.path, ext_off(&p, p.free_ext), ENT_SPLIT);
	poke64(p.path, blk_off(&p, p.free_ext * BPE + 2), ENT_DIRTY);
	CU_ASSERT(check(p.path, &f) == 0);
	HAS(f, "1 waiting to be zeroed), 0 log records");
	HAS(f, "0 problems, 0 notices");
	TU_OK(daxmap_pool_inspect(p.path, 0, &in, NULL, NULL));
	CU_ASSERT(in.blocks_split == in0.blocks_split + BIG_EXTENT);
	CU_ASSERT(in.blocks_used == 3 * BLK && in.bad_extents == 0);
	CU_ASSERT(in.used == in0.used + BIG_EXTENT && in.free == in0.free - BIG_EXTENT);
	TU_OK(daxmap_pool_open(&pool, p.path));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(check(p.path, &f) == 0);
	HAS(f, "0 problems");
}

/* A block past its object's EOF is a notice (open frees it), its unit 64 KiB. */
static void test_blocks_past_eof_and_dying_owner(void)
{
	struct blocks_pool p = make_blocks("blkeof");
	uint64_t slot_t = OBJTAB_OFF + 2 * 256;
	struct daxmap_pool_info in;
	struct findings f;
	daxmap_pool *pool;
	char want[200];

	/* "t" is 204810 bytes: blocks 0 to 3; block 4 lies past its EOF */
	poke64(p.path, blk_off(&p, p.free_blk), ent_alloc(2, 4));
	CU_ASSERT(check(p.path, &f) == 0);
	snprintf(want, sizeof(want), "notice: block table entry %llu at offset %llu: block 4 of "
		 "object slot 2 lies past its EOF (204810 bytes)", (unsigned long long)p.free_blk,
		 (unsigned long long)blk_off(&p, p.free_blk));
	HAS(f, want);
	HAS(f, "4 allocated");
	HAS(f, "0 problems, 1 notices");
	/* and with non-zero bytes there, a damaged size word */
	{
		unsigned char b = 1;
		poke(p.path, p.data + p.free_blk * BLK + 5000, &b, 1);
	}
	CU_ASSERT(check(p.path, &f) == 1);
	snprintf(want, sizeof(want), "damaged: data block %llu at offset %llu: block 4 of object "
		 "slot 2 holds non-zero bytes past the object's EOF (204810 bytes)",
		 (unsigned long long)p.free_blk, (unsigned long long)(p.data + p.free_blk * BLK));
	HAS(f, want);
	CU_ASSERT(daxmap_pool_check(p.path, 0, NULL, NULL) == 0); /* only --data reads it */
	/* an unlink of "t" interrupted: its blocks are legal, freed by the next open */
	poke64(p.path, slot_t, SLOT_DYING);
	CU_ASSERT(check(p.path, &f) == 0);
	HAS(f, "unlink of \"t\" was interrupted");
	HAS(f, "2 objects (1 being unlinked)");
	HAS(f, "0 problems, 1 notices");
	TU_OK(daxmap_pool_open(&pool, p.path));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(check(p.path, &f) == 0);
	HAS(f, "0 problems, 0 notices");
	TU_OK(daxmap_pool_inspect(p.path, 0, &in, NULL, NULL));
	CU_ASSERT(in.objects == 2 && in.blocks_used == 2 * BLK);
}

/* --data: a free zeroed block of a split extent must read zero. */
static void test_blocks_free_block_with_stale_bytes(void)
{
	struct blocks_pool p = make_blocks("blkstale");
	struct findings f;
	unsigned char b = 0x77;
	char want[200];

	poke(p.path, p.data + p.free_blk * BLK + BLK - 1, &b, 1);
	CU_ASSERT(daxmap_pool_check(p.path, 0, NULL, NULL) == 0);
	CU_ASSERT(check(p.path, &f) == 1);
	snprintf(want, sizeof(want), "damaged: data block %llu at offset %llu: free and marked "
		 "zeroed but holds non-zero bytes", (unsigned long long)p.free_blk,
		 (unsigned long long)(p.data + p.free_blk * BLK));
	HAS(f, want);
	HAS(f, "1 problems");
	/* a free block waiting to be zeroed may hold anything */
	poke64(p.path, blk_off(&p, p.free_blk), ENT_DIRTY);
	CU_ASSERT(check(p.path, &f) == 0);
}

/* A growable version 3 pool: the blocks of extents past the file's end are 0. */
static void test_blocks_past_the_pools_current_size(void)
{
	struct blocks_pool p = make_blocks_max("blkgrow", 64 * MiB);
	uint64_t present = (32 * MiB - p.data) / BIG_EXTENT, b = (present + 3) * BPE + 1;
	struct daxmap_pool_info in;
	char want[200];

	TU_OK(daxmap_pool_inspect(p.path, 0, &in, NULL, NULL));
	CU_ASSERT(in.version == 3 && in.extents == present && in.max_size == 64 * MiB);
	CU_ASSERT_FATAL(p.nextents > present + 3);
	snprintf(want, sizeof(want), "damaged: block table entry %llu at offset %llu: the block "
		 "lies past the pool's current size (33554432 bytes, %llu blocks)",
		 (unsigned long long)b, (unsigned long long)blk_off(&p, b),
		 (unsigned long long)(present * BPE));
	damaged_then_restored(&p, blk_off(&p, b), ENT_DIRTY, want);
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
		{"blocks: inspect and check of a clean pool", test_blocks_pool_inspected_and_clean},
		{"blocks: entries of an extent not split", test_blocks_of_an_extent_not_split_must_be_zero},
		{"blocks: owners of each table's kind", test_blocks_and_extents_owned_by_their_own_kind},
		{"blocks: one block per (slot, index)", test_blocks_duplicate_block_index},
		{"blocks: split tag where it is not allowed", test_blocks_split_tag_where_it_is_not_allowed},
		{"blocks: split extent with all blocks free", test_blocks_split_extent_all_free_is_clean},
		{"blocks: past EOF, and a dying owner", test_blocks_past_eof_and_dying_owner},
		{"blocks: --data, stale bytes in a free block", test_blocks_free_block_with_stale_bytes},
		{"blocks: past the pool's current size", test_blocks_past_the_pools_current_size},
		{NULL, NULL},
	};
	return tu_run("daxmap_pool_inspect", tests);
}
