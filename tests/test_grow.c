/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pools that grow while in use (doc/DESIGN.md, "Growing a pool"): a pool
 * created with max_size grows in place while objects are open, mapped and
 * faulting; the new space is free and zeroed at once; the size survives a
 * reopen; bad sizes and fixed pools are refused with EINVAL; a failed
 * extension changes nothing; every state a crash can leave (grow_to
 * recorded, the file extended or not) opens to the old size or the new one,
 * and a process killed while growing leaves a pool that opens and checks.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef DAXMAP_INJECT
#include "inject.h"
#endif

#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define OFF_CUR_SIZE 2048
#define OFF_GROW_TO 2112

static struct daxmap_pool_stat pstat(daxmap_pool *pool)
{
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	return st;
}

/* A pool of `size` bytes that may grow to `max` (0: fixed), other options default. */
static daxmap_pool *create(const char *name, uint64_t size, uint64_t max)
{
	return tu_pool_create_opts(name, size, &(struct daxmap_pool_opts){.max_size = max});
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	return (uint64_t)st.st_size;
}

static uint8_t pat(uint64_t off, unsigned tag)
{
	return (uint8_t)((off >> 12) * 31 + tag * 7 + 1);
}

/* Writes one byte per page of [off, off+len) through pwrite (the size set
 * first: on a disk file system each size change is an msync); -ENOSPC stops. */
static ssize_t fill(daxmap_obj *obj, uint64_t off, uint64_t len, unsigned tag)
{
	uint64_t size = 0;

	if (daxmap_obj_size(obj, &size) < 0 ||
	    (size < off + len && daxmap_obj_truncate(obj, off + len) < 0))
		return -EIO;
	for (uint64_t p = off; p < off + len; p += 4096) {
		uint8_t b = pat(p, tag);
		ssize_t n = daxmap_obj_pwrite(obj, &b, 1, p, 0);
		if (n != 1)
			return n;
	}
	return (ssize_t)len;
}

static uint64_t bad_bytes(daxmap_obj *obj, uint64_t off, uint64_t len, unsigned tag)
{
	uint64_t bad = 0;
	for (uint64_t p = off; p < off + len; p += 4096) {
		uint8_t b = 0;
		bad += daxmap_obj_pread(obj, &b, 1, p) != 1 || b != pat(p, tag);
	}
	return bad;
}

/*
 * A full pool grows: the file and the stat follow, the new space is free,
 * the object that filled the pool grows on, the size and every byte survive
 * a reopen, and the pool checks clean (also its data).
 */
static void test_full_pool_grows_and_keeps_its_size_after_reopen(void)
{
	const char *path = tu_path("full.pool");
	daxmap_pool *pool = create("full.pool", 32 * MiB, 256 * MiB);
	struct daxmap_pool_stat st = pstat(pool);
	uint64_t es = st.extent_size, have;
	daxmap_obj *obj;

	CU_ASSERT(st.size == 32 * MiB && st.max_size == 256 * MiB);
	CU_ASSERT(file_size(path) == 32 * MiB);
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	have = st.free;
	CU_ASSERT(fill(obj, 0, have, 1) == (ssize_t)have);
	CU_ASSERT(fill(obj, have, es, 1) == -ENOSPC);
	CU_ASSERT(pstat(pool).free == 0);

	TU_OK(daxmap_pool_grow(pool, 64 * MiB));
	st = pstat(pool);
	CU_ASSERT(st.size == 64 * MiB && file_size(path) == 64 * MiB);
	CU_ASSERT(st.free == 32 * MiB && st.free_unzeroed == 0);
	CU_ASSERT(st.data_size == have + 32 * MiB);
	CU_ASSERT(fill(obj, have, 32 * MiB, 1) == (ssize_t)(32 * MiB));
	CU_ASSERT(pstat(pool).free == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	TU_OK(daxmap_pool_open(&pool, path));
	st = pstat(pool);
	CU_ASSERT(st.size == 64 * MiB && st.max_size == 256 * MiB && st.free == 0);
	TU_OK(daxmap_obj_open(&obj, pool, "o", 0));
	CU_ASSERT(bad_bytes(obj, 0, have + 32 * MiB, 1) == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/* Sizes outside [now, max], fixed pools and NULL: EINVAL, nothing changed. */
static void test_bad_sizes_and_fixed_pools_are_einval(void)
{
	const char *path = tu_path("bad.pool");
	daxmap_pool *pool = create("bad.pool", 32 * MiB, 64 * MiB);
	daxmap_pool *fixed = create("fixed.pool", 32 * MiB, 0);
	struct daxmap_pool_opts o;
	daxmap_pool *p2 = NULL;

	CU_ASSERT(daxmap_pool_grow(pool, 16 * MiB) == -EINVAL);
	CU_ASSERT(strstr(daxmap_errormsg(), "shrink") != NULL);
	CU_ASSERT(daxmap_pool_grow(pool, 64 * MiB + 4096) == -EINVAL);
	CU_ASSERT(strstr(daxmap_errormsg(), "max_size") != NULL);
	CU_ASSERT(daxmap_pool_grow(pool, 32 * MiB) == 0); /* the size now: nothing */
	CU_ASSERT(daxmap_pool_grow(NULL, 64 * MiB) == -EINVAL);
	CU_ASSERT(daxmap_pool_grow(fixed, 64 * MiB) == -EINVAL);
	CU_ASSERT(strstr(daxmap_errormsg(), "cannot grow") != NULL);
	CU_ASSERT(pstat(fixed).max_size == 32 * MiB && pstat(pool).size == 32 * MiB);
	CU_ASSERT(file_size(path) == 32 * MiB);
	/* at create: a maximum below the size, beyond 1 PiB */
	daxmap_pool_opts_init(&o);
	o.max_size = 16 * MiB;
	CU_ASSERT(daxmap_pool_create_opts(&p2, tu_path("c1.pool"), 32 * MiB, 0600, &o) == -EINVAL);
	o.max_size = UINT64_C(1) << 51;
	CU_ASSERT(daxmap_pool_create_opts(&p2, tu_path("c2.pool"), 32 * MiB, 0600, &o) == -EINVAL);
	CU_ASSERT(access(tu_path("c1.pool"), F_OK) != 0 && access(tu_path("c2.pool"), F_OK) != 0);
	TU_OK(daxmap_pool_close(fixed));
	TU_OK(daxmap_pool_close(pool));
}

#ifdef DAXMAP_INJECT
/* An extension that fails (as on a full file system): nothing changed. */
/* A pool grown to its maximum is still a growable pool (format version 3
 * says so in its header): it reopens with grow_step, and inspect tells it
 * from a fixed one. */
static void test_pool_grown_to_its_maximum_reopens_as_growable(void)
{
	struct daxmap_pool_opts o = {.max_size = 64 * MiB, .grow_step = 2 * MiB};
	struct daxmap_pool_info in;
	daxmap_pool *pool = tu_pool_create_opts("tomax.pool", 32 * MiB, &o);
	char *path = strdup(tu_path("tomax.pool"));

	TU_OK(daxmap_pool_grow(pool, 64 * MiB));
	TU_OK(daxmap_pool_close(pool));
	memset(&in, 0, sizeof(in));
	TU_OK(daxmap_pool_inspect(path, 0, &in, NULL, NULL));
	CU_ASSERT(in.growable == 1 && in.size == 64 * MiB && in.max_size == 64 * MiB);
	o.max_size = 0;
	pool = NULL;
	TU_OK(daxmap_pool_open_opts(&pool, path, &o));
	CU_ASSERT(pstat(pool).max_size == 64 * MiB);
	/* at the maximum: -EINVAL naming it, nothing changed */
	CU_ASSERT(daxmap_pool_grow(pool, 66 * MiB) == -EINVAL);
	CU_ASSERT(strstr(daxmap_errormsg(), "max_size") != NULL);
	TU_OK(daxmap_pool_close(pool));
	/* a fixed pool is not growable */
	pool = create("fixed2.pool", 32 * MiB, 0);
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_inspect(tu_path("fixed2.pool"), 0, &in, NULL, NULL));
	CU_ASSERT(in.growable == 0);
	free(path);
}

static void test_failed_extension_changes_nothing(void)
{
	const char *path = tu_path("fail.pool");
	daxmap_pool *pool = create("fail.pool", 32 * MiB, 128 * MiB);
	struct daxmap_pool_stat st0 = pstat(pool);

	TU_OK(daxmap_inject_set("grow", 1, ENOSPC));
	CU_ASSERT(daxmap_pool_grow(pool, 64 * MiB) == -ENOSPC);
	CU_ASSERT(strstr(daxmap_errormsg(), "cannot grow") != NULL);
	daxmap_inject_clear(pool);
	CU_ASSERT(pstat(pool).size == st0.size && pstat(pool).free == st0.free);
	CU_ASSERT(file_size(path) == 32 * MiB);
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_open(&pool, path));
	CU_ASSERT(pstat(pool).size == 32 * MiB);
	TU_OK(daxmap_pool_grow(pool, 64 * MiB));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}
#endif

static void put_word(const char *path, off_t off, uint64_t v)
{
	int fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pwrite(fd, &v, sizeof(v), off) == (ssize_t)sizeof(v));
	close(fd);
}

static uint64_t get_word(const char *path, off_t off)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pread(fd, &v, sizeof(v), off) == (ssize_t)sizeof(v));
	close(fd);
	return v;
}

/*
 * Every state a grow passes through, as a crash would leave it: grow_to
 * recorded with the file not extended, partly extended, or extended; the
 * new size committed but grow_to not cleared. Each opens to the old size or
 * the new one, with the data, and checks clean; an extended copy (the file
 * longer, nothing recorded) is still refused.
 */
static void test_every_state_of_an_interrupted_grow_opens(void)
{
	static const struct {
		const char *what;
		uint64_t file, cur, grow_to, want;
	} states[] = {
		{"recorded, file not extended", 32, 32, 64, 32},
		{"recorded, file partly extended", 40, 32, 64, 32},
		{"recorded, file extended", 64, 32, 64, 64},
		{"committed, record not cleared", 64, 64, 64, 64},
	};
	const char *path = tu_path("states.pool");

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		daxmap_pool *pool = create("states.pool", 32 * MiB, 128 * MiB);
		daxmap_obj *obj;

		TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
		CU_ASSERT(fill(obj, 0, 8 * MiB, 3) == (ssize_t)(8 * MiB));
		TU_OK(daxmap_obj_close(obj));
		TU_OK(daxmap_pool_close(pool));
		CU_ASSERT_FATAL(truncate(path, (off_t)(states[i].file * MiB)) == 0);
		put_word(path, OFF_CUR_SIZE, states[i].cur * MiB);
		put_word(path, OFF_GROW_TO, states[i].grow_to * MiB);

		int ret = daxmap_pool_open(&pool, path);
		if (ret < 0)
			fprintf(stderr, "  %s: %s\n", states[i].what, daxmap_errormsg());
		CU_ASSERT_FATAL(ret == 0);
		CU_ASSERT(pstat(pool).size == states[i].want * MiB);
		CU_ASSERT(file_size(path) == states[i].want * MiB);
		CU_ASSERT(get_word(path, OFF_GROW_TO) == 0);
		TU_OK(daxmap_obj_open(&obj, pool, "o", 0));
		CU_ASSERT(bad_bytes(obj, 0, 8 * MiB, 3) == 0);
		/* the pool works on: it grows again, and the new space is usable */
		TU_OK(daxmap_pool_grow(pool, 96 * MiB));
		CU_ASSERT(fill(obj, 8 * MiB, 16 * MiB, 4) == (ssize_t)(16 * MiB));
		TU_OK(daxmap_obj_close(obj));
		TU_OK(daxmap_pool_close(pool));
		CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	}
	/* an extended copy: longer, no grow recorded */
	daxmap_pool *pool = create("states.pool", 32 * MiB, 128 * MiB);
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT_FATAL(truncate(path, (off_t)(48 * MiB)) == 0);
	pool = (void *)1;
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EUCLEAN && pool == NULL);
	CU_ASSERT(strstr(daxmap_errormsg(), "extended copy") != NULL);
	/* a grow recorded beyond the maximum is damage, not a grow */
	CU_ASSERT_FATAL(truncate(path, (off_t)(32 * MiB)) == 0);
	put_word(path, OFF_GROW_TO, 256 * MiB);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EUCLEAN);
}

struct race {
	daxmap_pool *pool;
	daxmap_obj *obj[3];
	uint8_t *va[3];
	uint64_t es, len;
	atomic_int stop;
	atomic_uint faults, ops, errors;
};

/* Stores a pattern into its own object's extents, first touch each. */
static void *race_writer(void *arg)
{
	struct race *r = ((struct race **)arg)[0];
	unsigned t = (unsigned)(uintptr_t)((struct race **)arg)[1];

	for (uint64_t off = 0; off < r->len && !atomic_load(&r->stop); off += 4096) {
		/* a new extent only while the grows keep ahead (the changer
		 * needs up to 8, the other writer one) */
		if (off % r->es == 0) {
			struct daxmap_pool_stat st;
			for (int i = 0; i < 20000; i++) {
				if (daxmap_pool_stat(r->pool, &st) < 0 || st.free >= 16 * r->es)
					break;
				usleep(100);
			}
		}
		if (tu_try_write8(r->va[t] + off, pat(off, t)) != 0) {
			atomic_fetch_add(&r->errors, 1);
			break;
		}
		if (off % r->es == 0)
			atomic_fetch_add(&r->faults, 1);
	}
	return NULL;
}

/* Punches and truncates its own object while the others fault. */
static void *race_changer(void *arg)
{
	struct race *r = arg;
	uint64_t seed = tu_seed("grow race");

	while (!atomic_load(&r->stop)) {
		uint64_t x = tu_rand(&seed), e = x % 8;
		uint8_t b = 1;
		if (daxmap_obj_pwrite(r->obj[2], &b, 1, e * r->es + 5, 0) != 1 ||
		    daxmap_obj_punch_hole(r->obj[2], e * r->es, r->es) < 0 ||
		    daxmap_obj_truncate(r->obj[2], (x >> 8) % 2 ? 4 * r->es : 8 * r->es) < 0)
			atomic_fetch_add(&r->errors, 1);
		atomic_fetch_add(&r->ops, 1);
	}
	return NULL;
}

/*
 * Two threads first-touch their objects (one extent per fault) past the
 * pool's first size while a third punches and truncates, and the main
 * thread grows the pool in steps ahead of them: no SIGBUS, no error, every
 * byte where it was stored, the pool checks clean.
 */
static void test_grow_while_faults_truncates_and_punches_run(void)
{
	const char *path = tu_path("race.pool");
	daxmap_pool *pool = create("race.pool", 64 * MiB, 512 * MiB);
	struct race r;
	pthread_t w[2], c;
	void *args[2][2];

	memset(&r, 0, sizeof(r));
	r.pool = pool;
	r.es = pstat(pool).extent_size;
	r.len = 160 * MiB; /* each: together beyond 64 MiB, within 512 */
	for (int t = 0; t < 3; t++) {
		char name[8];
		snprintf(name, sizeof(name), "o%d", t);
		TU_OK(daxmap_obj_open(&r.obj[t], pool, name, DAXMAP_CREATE));
		TU_OK(daxmap_obj_truncate(r.obj[t], t < 2 ? r.len : 8 * r.es));
		if (t < 2)
			TU_OK(daxmap_map((void **)&r.va[t], r.obj[t], 0, r.len, RW));
	}
	CU_ASSERT_FATAL(pthread_create(&c, NULL, race_changer, &r) == 0);
	for (int t = 0; t < 2; t++) {
		args[t][0] = &r;
		args[t][1] = (void *)(uintptr_t)t;
		CU_ASSERT_FATAL(pthread_create(&w[t], NULL, race_writer, args[t]) == 0);
	}
	/* grow in steps while they fault: they wait only for space */
	for (uint64_t size = 96 * MiB; size <= 384 * MiB; size += 32 * MiB) {
		usleep(2000);
		TU_OK(daxmap_pool_grow(pool, size));
	}
	for (int t = 0; t < 2; t++)
		pthread_join(w[t], NULL);
	atomic_store(&r.stop, 1);
	pthread_join(c, NULL);
	printf("\n  %u extents first-touched, %u punch/truncate rounds, %u errors ",
	       atomic_load(&r.faults), atomic_load(&r.ops), atomic_load(&r.errors));
	CU_ASSERT(atomic_load(&r.errors) == 0);
	CU_ASSERT(atomic_load(&r.faults) == 2 * r.len / r.es);
	CU_ASSERT(pstat(pool).size == 384 * MiB);
	for (int t = 0; t < 2; t++) {
		uint64_t bad = 0;
		for (uint64_t off = 0; off < r.len; off += 4096)
			bad += r.va[t][off] != pat(off, (unsigned)t);
		CU_ASSERT(bad == 0);
		CU_ASSERT(bad_bytes(r.obj[t], 0, r.len, (unsigned)t) == 0);
		TU_OK(daxmap_unmap(r.va[t], r.len));
	}
	for (int t = 0; t < 3; t++)
		TU_OK(daxmap_obj_close(r.obj[t]));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
}

/*
 * A write fault that finds the pool full waits for nobody: SIGBUS, with
 * the reason; after a grow the same store succeeds.
 */
static void test_full_pool_sigbus_then_grow_and_the_store_succeeds(void)
{
	daxmap_pool *pool = create("sigbus.pool", 32 * MiB, 64 * MiB);
	uint64_t es = pstat(pool).extent_size, have = pstat(pool).free;
	daxmap_obj *obj;
	uint8_t *p;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, have + es));
	TU_OK(daxmap_map((void **)&p, obj, 0, have + es, RW));
	for (uint64_t off = 0; off < have; off += es)
		CU_ASSERT(tu_try_write8(p + off, 1) == 0);
	CU_ASSERT(tu_try_write8(p + have, 2) == SIGBUS);
	CU_ASSERT(pstat(pool).faults_sigbus >= 1);
	TU_OK(daxmap_pool_grow(pool, 64 * MiB));
	/* the error marker clears after its grace (~20 ms): retry for up to 1 s */
	int sig = SIGBUS;
	for (int i = 0; i < 100 && sig == SIGBUS; i++) {
		sig = tu_try_write8(p + have, 2);
		if (sig == SIGBUS)
			usleep(10000);
	}
	CU_ASSERT(sig == 0 && p[have] == 2);
	TU_OK(daxmap_unmap(p, have + es));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

/*
 * The object that ends at the pool's old end grows on into the new space
 * at the next extent: its mapping stays one VMA across the boundary.
 */
static void test_object_at_the_end_grows_on_contiguously(void)
{
	daxmap_pool *pool = create("contig.pool", 32 * MiB, 128 * MiB);
	struct daxmap_pool_stat st = pstat(pool);
	uint64_t es = st.extent_size, have = st.free;
	daxmap_obj *obj;
	uint8_t *p;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, have + 4 * es));
	TU_OK(daxmap_map((void **)&p, obj, 0, have + 4 * es, RW));
	for (uint64_t off = 0; off < have; off += es)
		p[off] = 1;
	TU_OK(daxmap_pool_grow(pool, 64 * MiB));
	for (uint64_t off = have; off < have + 4 * es; off += es)
		p[off] = 2;
	int n = tu_vma_count(p + have - es, 2 * es);
	printf("\n  VMAs across the old end: %d ", n);
	CU_ASSERT(n == 1);
	TU_OK(daxmap_unmap(p, have + 4 * es));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

/*
 * kill -9 of a process that grows the pool and writes into the new space,
 * at a random moment, several times: each time the pool opens, its size is
 * one the child reached or was growing to, every byte the child reported
 * durable is there, and it checks clean.
 */
static void test_process_killed_while_growing_leaves_a_pool_that_opens(void)
{
	const char *path = tu_path("kill.pool");
	uint64_t seed = tu_seed("grow kill");
	daxmap_pool *pool = create("kill.pool", 32 * MiB, 1024 * MiB);
	TU_OK(daxmap_pool_close(pool));

	for (int round = 0; round < 6; round++) {
		int fds[2];
		CU_ASSERT_FATAL(pipe(fds) == 0);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			daxmap_pool *cp;
			daxmap_obj *obj;
			close(fds[0]);
			if (daxmap_pool_open(&cp, path) < 0 ||
			    daxmap_obj_open(&obj, cp, "o", DAXMAP_CREATE) < 0)
				_exit(3);
			/* one byte per extent, durably, then told to the parent;
			 * a grow of 8 MiB whenever less than 2 extents are free */
			for (uint64_t k = 0;; k++) {
				struct daxmap_pool_stat st;
				uint64_t at = k * (2 * MiB) + 4095, done = at + 1;
				uint8_t b = pat(at, 9);
				if (daxmap_pool_stat(cp, &st) < 0)
					_exit(4);
				if (st.free < 2 * st.extent_size) {
					if (st.size + 8 * MiB > st.max_size)
						_exit(0); /* at the maximum: done */
					if (daxmap_pool_grow(cp, st.size + 8 * MiB) < 0)
						_exit(5);
				}
				if (daxmap_obj_pwrite(obj, &b, 1, at, DAXMAP_DSYNC) != 1)
					_exit(6);
				if (write(fds[1], &done, sizeof(done)) != sizeof(done))
					_exit(7);
			}
		}
		close(fds[1]);
		usleep((useconds_t)(1000 + tu_rand(&seed) % 30000));
		kill(pid, SIGKILL);
		int status;
		CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
		uint64_t done = 0, v;
		while (read(fds[0], &v, sizeof(v)) == sizeof(v))
			done = v;
		close(fds[0]);
		CU_ASSERT(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));

		int ret = daxmap_pool_open(&pool, path);
		if (ret < 0)
			fprintf(stderr, "  round %d: %s\n", round, daxmap_errormsg());
		CU_ASSERT_FATAL(ret == 0);
		daxmap_obj *obj;
		uint64_t osize = 0;
		TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
		TU_OK(daxmap_obj_size(obj, &osize));
		CU_ASSERT(osize >= done);
		uint64_t bad = 0;
		for (uint64_t at = 4095; at < done; at += 2 * MiB) {
			uint8_t b = 0;
			bad += daxmap_obj_pread(obj, &b, 1, at) != 1 || b != pat(at, 9);
		}
		CU_ASSERT(bad == 0);
		struct daxmap_pool_stat st = pstat(pool);
		CU_ASSERT(st.size == file_size(path) && st.size <= st.max_size);
		printf("\n  round %d: killed after %llu extents written, pool %llu MiB ", round,
		       (unsigned long long)(done / (2 * MiB)), (unsigned long long)(st.size / MiB));
		TU_OK(daxmap_obj_close(obj));
		TU_OK(daxmap_pool_close(pool));
		CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);
	}
}

struct auto_race {
	uint8_t *va;
	uint64_t len;
	atomic_uint sigbus;
};

static void *auto_toucher(void *arg)
{
	struct auto_race *r = arg;
	for (uint64_t off = 0; off < r->len; off += 4096)
		if (tu_try_write8(r->va + off, pat(off, 5)) != 0)
			atomic_fetch_add(&r->sigbus, 1);
	return NULL;
}

/*
 * grow_step: two threads fill a pool past its first size with first
 * touches; it grows by itself, in steps, with no SIGBUS below the maximum;
 * at the maximum a touch is SIGBUS and a pwrite -ENOSPC, saying so. The
 * option works from an open too.
 */
static void test_automatic_growth_under_concurrent_faults(void)
{
	const char *path = tu_path("auto.pool");
	struct daxmap_pool_opts o = {.max_size = 128 * MiB, .grow_step = 16 * MiB};
	daxmap_pool *pool = tu_pool_create_opts("auto.pool", 32 * MiB, &o);
	struct auto_race r[2];
	daxmap_obj *obj[2];
	pthread_t t[2];
	struct daxmap_pool_stat st;

	for (int i = 0; i < 2; i++) {
		char name[8];
		snprintf(name, sizeof(name), "a%d", i);
		r[i].len = 48 * MiB;
		atomic_store(&r[i].sigbus, 0);
		TU_OK(daxmap_obj_open(&obj[i], pool, name, DAXMAP_CREATE));
		TU_OK(daxmap_obj_truncate(obj[i], r[i].len));
		TU_OK(daxmap_map((void **)&r[i].va, obj[i], 0, r[i].len, RW));
	}
	for (int i = 0; i < 2; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, auto_toucher, &r[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	st = pstat(pool);
	printf("\n  pool %llu MiB after %llu grows, %u + %u SIGBUS ", (unsigned long long)(st.size / MiB),
	       (unsigned long long)st.grows, atomic_load(&r[0].sigbus), atomic_load(&r[1].sigbus));
	CU_ASSERT(atomic_load(&r[0].sigbus) == 0 && atomic_load(&r[1].sigbus) == 0);
	CU_ASSERT(st.grows >= 3 && st.size > 96 * MiB && st.size <= 128 * MiB);
	CU_ASSERT(st.size == file_size(path));
	for (int i = 0; i < 2; i++) {
		uint64_t bad = 0;
		for (uint64_t off = 0; off < r[i].len; off += 4096)
			bad += r[i].va[off] != pat(off, 5);
		CU_ASSERT(bad == 0);
	}
	/* to the maximum, then full for good */
	daxmap_obj *big;
	TU_OK(daxmap_obj_open(&big, pool, "big", DAXMAP_CREATE));
	ssize_t n = fill(big, 0, 64 * MiB, 6);
	CU_ASSERT(n == -ENOSPC);
	CU_ASSERT(strstr(daxmap_errormsg(), "maximum") != NULL);
	CU_ASSERT(pstat(pool).size == 128 * MiB);
	TU_OK(daxmap_obj_close(big));
	for (int i = 0; i < 2; i++) {
		TU_OK(daxmap_unmap(r[i].va, r[i].len));
		TU_OK(daxmap_obj_close(obj[i]));
	}
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL) == 0);

	/* at open: a second pool fills by pwrite alone and grows */
	pool = tu_pool_create_opts("auto2.pool", 32 * MiB,
				   &(struct daxmap_pool_opts){.max_size = 64 * MiB});
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_open_opts(&pool, tu_path("auto2.pool"),
				    &(struct daxmap_pool_opts){.grow_step = 1}));
	TU_OK(daxmap_obj_open(&big, pool, "o", DAXMAP_CREATE));
	CU_ASSERT(fill(big, 0, 40 * MiB, 7) == (ssize_t)(40 * MiB));
	CU_ASSERT(pstat(pool).size > 32 * MiB);
	TU_OK(daxmap_obj_close(big));
	TU_OK(daxmap_pool_close(pool));
	/* on a pool that cannot grow: EINVAL */
	pool = tu_pool_create("auto3.pool", 32 * MiB);
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_open_opts(&pool, tu_path("auto3.pool"),
					&(struct daxmap_pool_opts){.grow_step = 1}) == -EINVAL);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"full pool grows and keeps its size after reopen",
		 test_full_pool_grows_and_keeps_its_size_after_reopen},
		{"bad sizes and fixed pools are EINVAL", test_bad_sizes_and_fixed_pools_are_einval},
#ifdef DAXMAP_INJECT
		{"failed extension changes nothing", test_failed_extension_changes_nothing},
		{"pool grown to its maximum reopens as growable",
		 test_pool_grown_to_its_maximum_reopens_as_growable},
#endif
		{"every state of an interrupted grow opens",
		 test_every_state_of_an_interrupted_grow_opens},
		{"grow while faults, truncates and punches run",
		 test_grow_while_faults_truncates_and_punches_run},
		{"full pool SIGBUS, then grow, and the store succeeds",
		 test_full_pool_sigbus_then_grow_and_the_store_succeeds},
		{"automatic growth under concurrent faults",
		 test_automatic_growth_under_concurrent_faults},
		{"object at the end grows on contiguously",
		 test_object_at_the_end_grows_on_contiguously},
		{"process killed while growing leaves a pool that opens",
		 test_process_killed_while_growing_leaves_a_pool_that_opens},
		{NULL, NULL},
	};
	return tu_run("grow", tests);
}
