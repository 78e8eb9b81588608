/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Objects made of blocks (DAXMAP_SMALL, pool format version 3): many small
 * objects share extents; their space comes back when they go; they are
 * mapped, faulted, punched and truncated as objects of extents are; freed
 * blocks never show old bytes to their next owner; a pool full of them
 * gives -ENOSPC and checks clean; one that grows large stays a few VMAs.
 * Real pools, real userfaultfd, real threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define BLK (64 * KiB)

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	CU_ASSERT_FATAL(daxmap_pool_stat(pool, &st) == 0);
	return st;
}

static void pat(uint8_t *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((seed * 131 + i * 7 + (i >> 9)) & 0xff);
}

static daxmap_obj *small_create(daxmap_pool *pool, const char *name)
{
	daxmap_obj *obj = NULL;
	TU_OK(daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE | DAXMAP_EXCL | DAXMAP_SMALL));
	return obj;
}

/* Waits (at most 10 s) until at most one extent is split (one extent's
 * worth of free blocks stays with the block allocator). */
static uint64_t wait_unsplit(daxmap_pool *pool)
{
	struct daxmap_pool_stat st = pstat(pool);
	for (int i = 0; i < 1000 && st.blocks_split > st.extent_size; i++) {
		usleep(10000);
		st = pstat(pool);
	}
	return st.blocks_split;
}

/* 200 objects of 4 KiB in a pool of ~30 extents: as extents they could not
 * fit; as blocks they take 7 extents, and give all but one back when unlinked. */
static void test_small_objects_share_extents_and_give_them_back(void)
{
	daxmap_pool *pool = tu_pool_create("share.pool", 64 * MiB);
	struct daxmap_pool_stat st0 = pstat(pool), st;
	enum { N = 200 };
	uint8_t buf[4096], got[4096];
	char name[32];

	CU_ASSERT(st0.block_size == BLK);
	CU_ASSERT(st0.data_size / st0.extent_size < N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		daxmap_obj *obj = small_create(pool, name);
		pat(buf, sizeof(buf), (uint64_t)i);
		CU_ASSERT(daxmap_obj_pwrite(obj, buf, sizeof(buf), 0, DAXMAP_DSYNC) == 4096);
		TU_OK(daxmap_obj_close(obj));
	}
	st = pstat(pool);
	printf("\n  %d small objects: %llu KiB in blocks, %llu KiB of extents split ", N,
	       (unsigned long long)(st.blocks_used >> 10),
	       (unsigned long long)(st.blocks_split >> 10));
	CU_ASSERT(st.blocks_used == N * BLK);
	CU_ASSERT(st.blocks_split <= ((N * BLK + st.extent_size - 1) / st.extent_size + 1) *
					     st.extent_size);
	CU_ASSERT(st.used - st0.used == st.blocks_split);
	CU_ASSERT(st.blocks_allocated - st0.blocks_allocated == N);
	/* reopened: every byte, and the same space */
	char *path = strdup(tu_path("share.pool"));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	TU_OK(daxmap_pool_open(&pool, path));
	CU_ASSERT(pstat(pool).blocks_split == st.blocks_split);
	CU_ASSERT(pstat(pool).blocks_used == N * BLK);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		daxmap_obj *obj = NULL;
		uint64_t size = 0;
		snprintf(name, sizeof(name), "s%d", i);
		TU_OK(daxmap_obj_open(&obj, pool, name, 0));
		TU_OK(daxmap_obj_size(obj, &size));
		pat(buf, sizeof(buf), (uint64_t)i);
		bad += size != 4096 || daxmap_obj_pread(obj, got, sizeof(got), 0) != 4096 ||
		       memcmp(buf, got, sizeof(got)) != 0;
		TU_OK(daxmap_obj_close(obj));
	}
	CU_ASSERT(bad == 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		TU_OK(daxmap_obj_unlink(pool, name));
	}
	/* the zeroer clears the freed blocks; whole extents go back, but one */
	CU_ASSERT(wait_unsplit(pool) <= st.extent_size);
	st = pstat(pool);
	CU_ASSERT(st.blocks_used == 0);
	/* (an extent given back between the two counts is in used only) */
	CU_ASSERT(st.used - st0.used >= st.blocks_split &&
		  st.used - st0.used <= st.blocks_split + st.extent_size);
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	free(path);
}

/* Bytes [0, n) of a mapping equal to expect[], through loads. */
static int map_equals(const volatile uint8_t *p, const uint8_t *expect, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != expect[i])
			return 0;
	return 1;
}

/* A mapping of a small object: faults per block, holes read zero, stores
 * are seen by pread and back, punch and truncate free blocks and tear
 * down the mapping, EOF gives SIGBUS, and everything persists. */
static void test_small_object_mapped_punched_truncated_and_reopened(void)
{
	daxmap_pool *pool = tu_pool_create("map.pool", 64 * MiB);
	const uint64_t size = MiB + 100 * KiB, len = 2 * MiB;
	uint8_t *model = calloc(1, len), *got = malloc(len);
	daxmap_obj *obj = small_create(pool, "m");
	volatile uint8_t *p = NULL;
	struct daxmap_pool_stat st0;
	uint8_t v;

	TU_OK(daxmap_obj_truncate(obj, size));
	TU_OK(daxmap_map((void **)&p, obj, 0, len, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	/* holes read zero and allocate nothing */
	CU_ASSERT(map_equals(p, model, size));
	CU_ASSERT(pstat(pool).blocks_used == 0);
	/* stores into three blocks, one of them across a block boundary */
	for (uint64_t o = 3 * BLK - 100; o < 3 * BLK + 100; o++)
		p[o] = model[o] = (uint8_t)(o * 3 + 1);
	p[10 * BLK + 5] = model[10 * BLK + 5] = 0x5a;
	st0 = pstat(pool);
	printf("\n  after stores in 3 blocks: %llu KiB in blocks ",
	       (unsigned long long)(st0.blocks_used >> 10));
	CU_ASSERT(st0.blocks_used >= 3 * BLK && st0.blocks_used <= (size + BLK - 1) / BLK * BLK);
	CU_ASSERT(daxmap_obj_pread(obj, got, len, 0) == (ssize_t)size);
	CU_ASSERT(memcmp(got, model, size) == 0);
	/* pwrite is seen through the mapping */
	pat(model + 7 * BLK + 10, 3 * BLK, 7);
	CU_ASSERT(daxmap_obj_pwrite(obj, model + 7 * BLK + 10, 3 * BLK, 7 * BLK + 10, 0) ==
		  (ssize_t)(3 * BLK));
	CU_ASSERT(map_equals(p, model, size));
	/* punch two whole blocks and a partial one: zeros, space back */
	uint64_t used = pstat(pool).blocks_used;
	TU_OK(daxmap_obj_punch_hole(obj, 7 * BLK + 10, 3 * BLK - 10));
	memset(model + 7 * BLK + 10, 0, 3 * BLK - 10);
	CU_ASSERT(map_equals(p, model, size));
	CU_ASSERT(daxmap_obj_pread(obj, got, len, 0) == (ssize_t)size);
	CU_ASSERT(memcmp(got, model, size) == 0);
	CU_ASSERT(pstat(pool).blocks_used <= used - 2 * BLK);
	/* a store after the punch lands in the object */
	p[8 * BLK + 1] = model[8 * BLK + 1] = 0x77;
	CU_ASSERT(daxmap_obj_pread(obj, got, 1, 8 * BLK + 1) == 1 && got[0] == 0x77);
	/* truncate into a block: past EOF is SIGBUS, the rest stays */
	TU_OK(daxmap_obj_truncate(obj, 5 * BLK + 123));
	memset(model + 5 * BLK + 123, 0, len - (5 * BLK + 123));
	CU_ASSERT(tu_try_read8(p + 6 * BLK, &v) == SIGBUS);
	CU_ASSERT(map_equals(p, model, 5 * BLK + 123));
	CU_ASSERT(pstat(pool).blocks_used <= 6 * BLK);
	TU_OK(daxmap_unmap((void *)p, len));
	TU_OK(daxmap_obj_close(obj));
	char *path = strdup(tu_path("map.pool"));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "m", 0));
	memset(got, 0xee, len);
	CU_ASSERT(daxmap_obj_pread(obj, got, len, 0) == (ssize_t)(5 * BLK + 123));
	CU_ASSERT(memcmp(got, model, 5 * BLK + 123) == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
	free(model);
	free(got);
}

/* Freed blocks (written through mappings and by pwrite) never show their
 * bytes to the objects that get them next. */
static void test_freed_blocks_read_zero_in_their_next_owner(void)
{
	daxmap_pool *pool = tu_pool_create("reuse.pool", 32 * MiB);
	enum { N = 40 };
	uint8_t *buf = malloc(4 * BLK), *zero = calloc(1, 4 * BLK);
	char name[32];
	int bad = 0;

	memset(buf, 0xab, 4 * BLK);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			daxmap_obj *obj;
			snprintf(name, sizeof(name), "r%d", i);
			obj = small_create(pool, name);
			TU_OK(daxmap_obj_truncate(obj, 4 * BLK));
			/* what the previous round wrote must not be here */
			CU_ASSERT(daxmap_obj_pread(obj, buf, 4 * BLK, 0) == (ssize_t)(4 * BLK));
			bad += memcmp(buf, zero, 4 * BLK) != 0;
			if (i % 2) {
				volatile uint8_t *p;
				TU_OK(daxmap_map((void **)&p, obj, 0, 4 * BLK,
						 DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
				for (uint64_t o = 0; o < 4 * BLK; o += 512)
					p[o] = 0xab;
				TU_OK(daxmap_unmap((void *)p, 4 * BLK));
			} else {
				memset(buf, 0xab, 4 * BLK);
				CU_ASSERT(daxmap_obj_pwrite(obj, buf, 4 * BLK, 0, 0) ==
					  (ssize_t)(4 * BLK));
			}
			TU_OK(daxmap_obj_close(obj));
		}
		for (int i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "r%d", i);
			TU_OK(daxmap_obj_unlink(pool, name));
		}
	}
	CU_ASSERT(bad == 0);
	TU_OK(daxmap_pool_close(pool));
	free(buf);
	free(zero);
}

/* A pool filled with small objects: -ENOSPC from pwrite (never SIGBUS),
 * nothing else changed, and the pool checks clean. */
static void test_pool_full_of_small_objects_is_enospc_and_checks_clean(void)
{
	daxmap_pool *pool = tu_pool_create("full.pool", 16 * MiB);
	uint8_t buf[8192];
	char name[32];
	int i, ret = 0;

	memset(buf, 0x3c, sizeof(buf));
	for (i = 0; i < 100000; i++) {
		daxmap_obj *obj;
		snprintf(name, sizeof(name), "f%d", i);
		obj = small_create(pool, name);
		ret = (int)daxmap_obj_pwrite(obj, buf, sizeof(buf), 0, DAXMAP_DSYNC);
		TU_OK(daxmap_obj_close(obj));
		if (ret < 0)
			break;
		CU_ASSERT_FATAL(ret == (int)sizeof(buf));
	}
	printf("\n  %d objects of 8 KiB in a 16 MiB pool, then %d (%s) ", i, ret,
	       daxmap_errormsg());
	CU_ASSERT(ret == -ENOSPC);
	CU_ASSERT(i >= 64); /* as extents, 7 would fit */
	/* the one that failed is empty; the others intact */
	daxmap_obj *obj = NULL;
	uint64_t size = 1;
	TU_OK(daxmap_obj_open(&obj, pool, name, 0));
	TU_OK(daxmap_obj_size(obj, &size));
	CU_ASSERT(size == 0);
	TU_OK(daxmap_obj_close(obj));
	char *path = strdup(tu_path("full.pool"));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	free(path);
}

/* A small object written to 8 MiB (128 blocks) is mapped in a few VMAs:
 * its blocks follow each other in the pool, across extents. */
static void test_small_object_grown_large_stays_few_vmas(void)
{
	daxmap_pool *pool = tu_pool_create("grow.pool", 64 * MiB);
	daxmap_obj *obj = small_create(pool, "g");
	const uint64_t len = 8 * MiB;
	uint8_t *buf = malloc(len), *got = malloc(len);
	const volatile uint8_t *p;
	struct daxmap_pool_stat st0;

	pat(buf, len, 3);
	for (uint64_t o = 0; o < len; o += 4 * KiB)
		CU_ASSERT_FATAL(daxmap_obj_pwrite(obj, buf + o, 4 * KiB, o, 0) == (ssize_t)(4 * KiB));
	st0 = pstat(pool);
	TU_OK(daxmap_map((void **)&p, obj, 0, len, DAXMAP_PROT_READ));
	int vmas = tu_vma_count((const void *)p, len);
	for (uint64_t o = 0; o < len; o++)
		got[o] = p[o];
	printf("\n  8 MiB in blocks: %d VMAs, %llu faults ", vmas,
	       (unsigned long long)(pstat(pool).faults - st0.faults));
	CU_ASSERT(memcmp(got, buf, len) == 0);
	CU_ASSERT(vmas <= 4);
	CU_ASSERT(pstat(pool).faults == st0.faults); /* mapped at once */
	TU_OK(daxmap_unmap((void *)p, len));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(buf);
	free(got);
}

/* Two objects of blocks appended in turn, 64 KiB at a time, to 8 MiB
 * each: their blocks interleave in runs of 512 KiB at least, not block by
 * block (which made 128 VMAs of each mapping), so each maps in at most
 * 16 runs plus what its first extent holds. */
static void test_objects_of_blocks_appended_in_turn_stay_few_vmas(void)
{
	daxmap_pool *pool = tu_pool_create("turn.pool", 64 * MiB);
	daxmap_obj *a = small_create(pool, "a"), *b = small_create(pool, "b");
	const uint64_t len = 8 * MiB;
	uint8_t *buf = malloc(BLK);
	const volatile uint8_t *p;

	memset(buf, 0x42, BLK);
	for (uint64_t o = 0; o < len; o += BLK) {
		CU_ASSERT_FATAL(daxmap_obj_pwrite(a, buf, BLK, o, 0) == (ssize_t)BLK);
		CU_ASSERT_FATAL(daxmap_obj_pwrite(b, buf, BLK, o, 0) == (ssize_t)BLK);
	}
	for (int k = 0; k < 2; k++) {
		TU_OK(daxmap_map((void **)&p, k ? b : a, 0, len, DAXMAP_PROT_READ));
		uint64_t sum = 0;
		for (uint64_t o = 0; o < len; o += 4096)
			sum += p[o];
		int vmas = tu_vma_count((const void *)p, len);
		printf("\n  object %c: %d VMAs ", k ? 'b' : 'a', vmas);
		CU_ASSERT(sum == 0x42 * (len / 4096));
		CU_ASSERT(vmas <= 20);
		TU_OK(daxmap_unmap((void *)p, len));
	}
	TU_OK(daxmap_obj_close(a));
	TU_OK(daxmap_obj_close(b));
	TU_OK(daxmap_pool_close(pool));
	free(buf);
}

/* kill -9 of a process churning small objects (and, every other round,
 * objects of extents): the pool checks clean with --data (a write past EOF
 * cut by the kill leaves nothing past EOF), opens, and every object holds
 * its whole write or nothing. */
static void test_kill_during_small_object_churn_leaves_a_clean_pool(void)
{
	if (TU_TSAN) {
		printf("\n  skipped: ThreadSanitizer cannot follow the library in a fork child\n");
		return;
	}
	uint64_t seed = tu_seed("small churn kill");
	char *path = strdup(tu_path("kill.pool"));
	daxmap_pool *pool = tu_pool_create("kill.pool", 32 * MiB);
	int fds[2];

	TU_OK(daxmap_pool_close(pool));
	for (int round = 0; round < 6; round++) {
		CU_ASSERT_FATAL(pipe(fds) == 0);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			/* the child: create, write (durably), unlink, and report
			 * each durable object on the pipe */
			daxmap_pool *cp = NULL;
			uint64_t st = seed + (uint64_t)round;
			uint8_t b[3 * 4096];
			close(fds[0]);
			if (daxmap_pool_open(&cp, path) < 0)
				_exit(2);
			for (unsigned i = 0;; i++) {
				char nm[32];
				daxmap_obj *o = NULL;
				/* as extents, 8 of them fit the pool */
				unsigned k = (unsigned)(tu_rand(&st) % (round % 2 ? 8 : 64));
				snprintf(nm, sizeof(nm), "k%u", k);
				/* odd rounds: objects of extents, whose appends are
				 * undone by a crash the same way */
				if (daxmap_obj_open(&o, cp, nm, DAXMAP_CREATE | DAXMAP_EXCL |
								(round % 2 ? 0 : DAXMAP_SMALL)) < 0) {
					daxmap_obj_unlink(cp, nm);
					continue;
				}
				memset(b, (int)(k + 1), sizeof(b));
				if (daxmap_obj_pwrite(o, b, sizeof(b), 0, DAXMAP_DSYNC) < 0)
					_exit(3);
				daxmap_obj_close(o);
				if (write(fds[1], &k, sizeof(k)) != sizeof(k))
					_exit(4);
				(void)i;
			}
		}
		close(fds[1]);
		usleep(20000 + (unsigned)(tu_rand(&seed) % 80000));
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		CU_ASSERT(WIFSIGNALED(status));
		close(fds[0]);
		CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
		TU_OK(daxmap_pool_open(&pool, path));
		/* every object there has its 12 KiB of its own byte, or is empty
		 * (created, not yet written when killed) */
		int bad = 0;
		for (unsigned k = 0; k < 64; k++) {
			char nm[32];
			daxmap_obj *o = NULL;
			uint8_t b[3 * 4096];
			snprintf(nm, sizeof(nm), "k%u", k);
			if (daxmap_obj_open(&o, pool, nm, 0) < 0)
				continue;
			ssize_t n = daxmap_obj_pread(o, b, sizeof(b), 0);
			for (ssize_t j = 0; j < n; j++)
				bad += b[j] != k + 1;
			bad += n != 0 && n != (ssize_t)sizeof(b);
			TU_OK(daxmap_obj_close(o));
		}
		CU_ASSERT(bad == 0);
		TU_OK(daxmap_pool_close(pool));
	}
	free(path);
}

/* A pool whose extents are too small for blocks keeps the format older
 * libraries read (version 1 here); DAXMAP_SMALL makes an object of its
 * extents there, which works as any. */
static void test_pool_without_blocks_makes_small_objects_of_extents(void)
{
	struct daxmap_pool_opts o;
	struct daxmap_pool_info in;
	uint8_t buf[5000], got[5000];

	daxmap_pool_opts_init(&o);
	o.extent_size = 64 * KiB;
	daxmap_pool *pool = tu_pool_create_opts("noblk.pool", 16 * MiB, &o);
	struct daxmap_pool_stat st0 = pstat(pool), st;
	CU_ASSERT(st0.block_size == 0);
	daxmap_obj *obj = small_create(pool, "s");
	pat(buf, sizeof(buf), 9);
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, sizeof(buf), 100, DAXMAP_DSYNC) == sizeof(buf));
	st = pstat(pool);
	CU_ASSERT(st.used - st0.used == 64 * KiB && st.blocks_used == 0 && st.blocks_split == 0);
	CU_ASSERT(daxmap_obj_pread(obj, got, sizeof(got), 100) == sizeof(got));
	CU_ASSERT(memcmp(buf, got, sizeof(got)) == 0);
	TU_OK(daxmap_obj_close(obj));
	char *path = strdup(tu_path("noblk.pool"));
	TU_OK(daxmap_pool_close(pool));
	memset(&in, 0, sizeof(in));
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.version == 1 && in.block_size == 0);
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	free(path);
}

/* ---- concurrent churn with a model ------------------------------------ */

#define CH_THREADS 4
#define CH_OBJS 6
#define CH_MAX (1536 * KiB) /* largest object a thread makes */

struct churn {
	daxmap_pool *pool;
	int t;
	uint64_t seed;
	uint64_t ops;
	int bad;
	uint8_t *model[CH_OBJS]; /* NULL: no such object */
	uint64_t size[CH_OBJS];
};

static void ch_name(char *b, size_t n, int t, int k)
{
	snprintf(b, n, "ch%d-%d", t, k);
}

static int ch_verify(daxmap_obj *o, const struct churn *c, int k, uint8_t *buf)
{
	uint64_t size = 0;
	if (daxmap_obj_size(o, &size) < 0 || size != c->size[k])
		return 1;
	if (size && daxmap_obj_pread(o, buf, CH_MAX, 0) != (ssize_t)size)
		return 1;
	return size && memcmp(buf, c->model[k], size) != 0;
}

/* One thread: its own objects, random pwrite, stores through a mapping,
 * punch, truncate, unlink, each checked against its model; every thread's
 * allocations, frees, splits and give-backs meet in the block allocator. */
static void *ch_thread(void *arg)
{
	struct churn *c = arg;
	uint8_t *buf = malloc(CH_MAX);
	char name[32];

	for (uint64_t i = 0; i < c->ops && !c->bad; i++) {
		int k = (int)(tu_rand(&c->seed) % CH_OBJS), op = (int)(tu_rand(&c->seed) % 10);
		uint64_t off = tu_rand(&c->seed) % CH_MAX, len = 1 + tu_rand(&c->seed) % (200 * KiB);
		daxmap_obj *o = NULL;
		uint8_t v = (uint8_t)(1 + (i + (uint64_t)c->t * 51) % 250);

		if (off + len > CH_MAX)
			len = CH_MAX - off;
		ch_name(name, sizeof(name), c->t, k);
		if (!c->model[k]) {
			if (daxmap_obj_open(&o, c->pool, name, DAXMAP_CREATE | DAXMAP_EXCL |
								DAXMAP_SMALL) < 0) {
				c->bad = 1;
				break;
			}
			c->model[k] = calloc(1, CH_MAX);
			c->size[k] = 0;
		} else if (daxmap_obj_open(&o, c->pool, name, 0) < 0) {
			c->bad = 2;
			break;
		}
		if (op < 4) {
			memset(buf, v, len);
			if (daxmap_obj_pwrite(o, buf, len, off, op == 0 ? DAXMAP_DSYNC : 0) !=
			    (ssize_t)len)
				c->bad = 3;
			memset(c->model[k] + off, v, len);
			if (off + len > c->size[k])
				c->size[k] = off + len;
		} else if (op < 6 && c->size[k] > 0) {
			/* stores through a mapping, within EOF */
			uint64_t sz = c->size[k], lo = off % sz, hi = lo + len < sz ? lo + len : sz;
			volatile uint8_t *p;
			if (daxmap_map((void **)&p, o, 0, sz, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE) < 0) {
				c->bad = 4;
			} else {
				for (uint64_t x = lo; x < hi; x += 997)
					p[x] = c->model[k][x] = v;
				daxmap_unmap((void *)p, sz);
			}
		} else if (op == 6 && c->size[k] > 0) {
			uint64_t lo = off % c->size[k], n = len;
			if (lo + n > c->size[k])
				n = c->size[k] - lo;
			if (daxmap_obj_punch_hole(o, lo, n) < 0)
				c->bad = 5;
			memset(c->model[k] + lo, 0, n);
		} else if (op == 7) {
			uint64_t ns = tu_rand(&c->seed) % CH_MAX;
			if (daxmap_obj_truncate(o, ns) < 0)
				c->bad = 6;
			if (ns < c->size[k])
				memset(c->model[k] + ns, 0, CH_MAX - ns);
			c->size[k] = ns;
		} else if (op == 8) {
			c->bad = ch_verify(o, c, k, buf) ? 7 : 0;
		} else {
			c->bad = ch_verify(o, c, k, buf) ? 8 : 0;
			daxmap_obj_close(o);
			o = NULL;
			if (daxmap_obj_unlink(c->pool, name) < 0)
				c->bad = 9;
			free(c->model[k]);
			c->model[k] = NULL;
		}
		if (o)
			daxmap_obj_close(o);
	}
	free(buf);
	return NULL;
}

static void test_concurrent_churn_of_small_objects_matches_a_model(void)
{
	uint64_t seed = tu_seed("small objects churn");
	daxmap_pool *pool = tu_pool_create("churn.pool", 96 * MiB);
	char *path = strdup(tu_path("churn.pool"));
	struct churn c[CH_THREADS];
	pthread_t th[CH_THREADS];
	uint8_t *buf = malloc(CH_MAX);

	struct statfs sfs;
	int on_tmpfs = statfs(tu_dir(), &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;

	tu_watchdog_arm("small objects churn", 240);
	memset(c, 0, sizeof(c));
	for (int t = 0; t < CH_THREADS; t++) {
		c[t].pool = pool;
		c[t].t = t;
		c[t].seed = seed * 7919 + (uint64_t)t;
		/* a disk file system makes every persist an msync: fewer there */
		c[t].ops = TU_SANITIZED ? 1000 : on_tmpfs ? 5000 : 600;
		CU_ASSERT_FATAL(pthread_create(&th[t], NULL, ch_thread, &c[t]) == 0);
	}
	for (int t = 0; t < CH_THREADS; t++) {
		pthread_join(th[t], NULL);
		if (c[t].bad)
			printf("\n  thread %d: failure %d", t, c[t].bad);
		CU_ASSERT(c[t].bad == 0);
	}
	struct daxmap_pool_stat st = pstat(pool);
	printf("\n  %d threads x %llu ops: %llu block allocations, %llu KiB split now, %llu KiB in blocks ",
	       CH_THREADS, (unsigned long long)c[0].ops, (unsigned long long)st.blocks_allocated,
	       (unsigned long long)(st.blocks_split >> 10), (unsigned long long)(st.blocks_used >> 10));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	/* reopened: every object as its model says */
	TU_OK(daxmap_pool_open(&pool, path));
	int bad = 0;
	for (int t = 0; t < CH_THREADS; t++)
		for (int k = 0; k < CH_OBJS; k++) {
			char name[32];
			daxmap_obj *o = NULL;
			ch_name(name, sizeof(name), t, k);
			if (!c[t].model[k]) {
				bad += daxmap_obj_open(&o, pool, name, 0) != -ENOENT;
				continue;
			}
			TU_OK(daxmap_obj_open(&o, pool, name, 0));
			bad += ch_verify(o, &c[t], k, buf);
			TU_OK(daxmap_obj_close(o));
			free(c[t].model[k]);
		}
	CU_ASSERT(bad == 0);
	TU_OK(daxmap_pool_close(pool));
	tu_watchdog_disarm();
	free(buf);
	free(path);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"small objects share extents and give them back",
		 test_small_objects_share_extents_and_give_them_back},
		{"small object mapped, punched, truncated and reopened",
		 test_small_object_mapped_punched_truncated_and_reopened},
		{"freed blocks read zero in their next owner",
		 test_freed_blocks_read_zero_in_their_next_owner},
		{"pool full of small objects is ENOSPC and checks clean",
		 test_pool_full_of_small_objects_is_enospc_and_checks_clean},
		{"small object grown large stays few VMAs",
		 test_small_object_grown_large_stays_few_vmas},
		{"objects of blocks appended in turn stay few VMAs",
		 test_objects_of_blocks_appended_in_turn_stay_few_vmas},
		{"kill during small object churn leaves a clean pool",
		 test_kill_during_small_object_churn_leaves_a_clean_pool},
		{"pool without blocks makes small objects of extents",
		 test_pool_without_blocks_makes_small_objects_of_extents},
		{"concurrent churn of small objects matches a model",
		 test_concurrent_churn_of_small_objects_matches_a_model},
		{NULL, NULL},
	};
	return tu_run("small", tests);
}
