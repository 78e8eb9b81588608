/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrent first touches of one fresh extent: N threads released together
 * by a barrier store distinct bytes of the same hole. Invariant "one
 * allocation, one zeroing": every store survives (no late zeroing over it),
 * each extent is allocated exactly once, and the bytes are in the pool
 * (they survive unmap, close and reopen). Also read faults racing write
 * faults on one fresh extent: reads see 0 or the written value only.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ES DAXMAP_DEFAULT_EXTENT_SIZE
#define NEXT 16                 /* fresh extents per run */
#define SPAN (64 * 1024)        /* bytes of each extent the threads write */
#define POOL_SIZE (128ull << 20)
#define MAXT 8

/* The value of byte k of extent e in run `run`: never 0. */
static uint8_t val(unsigned run, unsigned e, unsigned k)
{
	return (uint8_t)(1 + (run * 97u + e * 131u + k * 7u + (k >> 12) * 3u) % 255u);
}

/*
 * Where in its extent byte k lies: the SPAN bytes are spread over the whole
 * extent, 4 KiB of every 32 KiB, so the threads' first stores hit different
 * pages of the same extent.
 */
static size_t pos(unsigned k)
{
	return (size_t)(k / 4096u) * (ES / (SPAN / 4096u)) + (k % 4096u);
}

struct run {
	unsigned nthreads, nwriters, run_id;
	char *base;
	pthread_barrier_t bar;
	atomic_long sigs, bad_reads, reads;
	uint64_t seed;
};

struct worker {
	struct run *r;
	unsigned id;
	pthread_t tid;
};

static int is_writer(const struct run *r, unsigned id)
{
	/* writers are ids 0 .. nwriters-1 */
	return id < r->nwriters;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	unsigned nw = r->nwriters;

	for (unsigned e = 0; e < NEXT; e++) {
		volatile uint8_t *ext = (volatile uint8_t *)r->base + (size_t)e * ES;

		pthread_barrier_wait(&r->bar);
		if (is_writer(r, w->id)) {
			/* writer i stores bytes i, i+nw, ...; each starts at a
			 * different page so the first stores fault on different
			 * pages of the hole at once */
			unsigned cnt = SPAN / nw, j0 = w->id * cnt / nw;
			for (unsigned n = 0; n < cnt; n++) {
				unsigned k = w->id + nw * ((j0 + n) % cnt);
				if (tu_try_write8(ext + pos(k), val(r->run_id, e, k)) != 0) {
					atomic_fetch_add(&r->sigs, 1);
					break;
				}
			}
		} else {
			/* a reader sweeps the same bytes twice, from a different
			 * page each time: each byte must be 0 or its final value */
			uint64_t st = r->seed + w->id * 1000003u + e;
			for (int pass = 0; pass < 2; pass++) {
				unsigned k0 = (unsigned)(tu_rand(&st) % SPAN);
				for (unsigned n = 0; n < SPAN; n++) {
					unsigned k = (k0 + n) % SPAN;
					uint8_t v;
					if (tu_try_read8(ext + pos(k), &v) != 0) {
						atomic_fetch_add(&r->sigs, 1);
						break;
					}
					atomic_fetch_add_explicit(&r->reads, 1, memory_order_relaxed);
					if (v != 0 && v != val(r->run_id, e, k))
						atomic_fetch_add(&r->bad_reads, 1);
				}
			}
		}
	}
	return NULL;
}

static unsigned check_bytes(const uint8_t *base, unsigned run_id)
{
	unsigned bad = 0;
	for (unsigned e = 0; e < NEXT; e++)
		for (unsigned k = 0; k < SPAN; k++)
			if (base[(size_t)e * ES + pos(k)] != val(run_id, e, k)) {
				if (bad < 5)
					fprintf(stderr, "extent %u byte %u: %u, want %u\n", e, k,
						base[(size_t)e * ES + pos(k)], val(run_id, e, k));
				bad++;
			}
	return bad;
}

static void stress_run(unsigned nthreads, unsigned nwriters, const char *name)
{
	static unsigned run_counter;
	char pname[64], label[96];
	struct daxmap_pool_opts o;
	daxmap_pool *pool = NULL;
	daxmap_obj *obj = NULL;
	struct daxmap_pool_stat st;
	struct worker w[MAXT];
	struct run r;
	void *va;

	memset(&r, 0, sizeof(r));
	r.nthreads = nthreads;
	r.nwriters = nwriters;
	r.run_id = ++run_counter;
	snprintf(label, sizeof(label), "%s (%u threads, %u writers)", name, nthreads, nwriters);
	r.seed = tu_seed(label);
	snprintf(pname, sizeof(pname), "stress%u.pool", r.run_id);

	/* more handler threads than cores: handlers race each other too */
	daxmap_pool_opts_init(&o);
	o.fault_threads = 4;
	unlink(tu_path(pname));
	TU_OK(daxmap_pool_create_opts(&pool, tu_path(pname), POOL_SIZE, 0600, &o));
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, (uint64_t)NEXT * ES));
	TU_OK(daxmap_map(&va, obj, 0, (size_t)NEXT * ES, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	r.base = va;

	CU_ASSERT_FATAL(pthread_barrier_init(&r.bar, NULL, nthreads) == 0);
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].r = &r;
		w[i].id = i;
		CU_ASSERT_FATAL(pthread_create(&w[i].tid, NULL, worker_main, &w[i]) == 0);
	}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&r.bar);

	CU_ASSERT(atomic_load(&r.sigs) == 0);
	CU_ASSERT(atomic_load(&r.bad_reads) == 0);
	CU_ASSERT(check_bytes(va, r.run_id) == 0);
	TU_OK(daxmap_pool_stat(pool, &st));
	printf("  faults %llu (write %llu, hole read %llu, noop %llu, sigbus %llu), "
	       "extents allocated %llu, reads checked %ld, bad reads %ld\n",
	       (unsigned long long)st.faults, (unsigned long long)st.faults_write,
	       (unsigned long long)st.faults_hole_read, (unsigned long long)st.faults_noop,
	       (unsigned long long)st.faults_sigbus, (unsigned long long)st.extents_allocated,
	       atomic_load(&r.reads), atomic_load(&r.bad_reads));
	/* one allocation per extent, however many threads raced for it */
	CU_ASSERT(st.extents_allocated == NEXT);
	CU_ASSERT(st.used == (uint64_t)NEXT * ES);
	CU_ASSERT(st.faults_sigbus == 0);

	TU_OK(daxmap_unmap(va, (size_t)NEXT * ES));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	/* the stores are in the pool, not in memory that went away */
	pool = NULL;
	obj = NULL;
	TU_OK(daxmap_pool_open(&pool, tu_path(pname)));
	TU_OK(daxmap_obj_open(&obj, pool, "o", 0));
	TU_OK(daxmap_map(&va, obj, 0, (size_t)NEXT * ES, DAXMAP_PROT_READ));
	CU_ASSERT(check_bytes(va, r.run_id) == 0);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.used == (uint64_t)NEXT * ES);
	CU_ASSERT(st.extents_allocated == 0); /* reading back allocates nothing */
	TU_OK(daxmap_unmap(va, (size_t)NEXT * ES));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	unlink(tu_path(pname));
}

static void test_4_writers_same_fresh_extent_one_allocation_all_stores_kept(void)
{
	stress_run(4, 4, "4 writers");
}

static void test_8_writers_same_fresh_extent_one_allocation_all_stores_kept(void)
{
	stress_run(8, 8, "8 writers");
}

static void test_readers_racing_writers_see_zero_or_written_value(void)
{
	stress_run(8, 4, "4 readers + 4 writers");
}

static void test_2_writers_6_readers_on_fresh_extent(void)
{
	stress_run(8, 2, "6 readers + 2 writers");
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"4_writers_same_fresh_extent_one_allocation_all_stores_kept",
		 test_4_writers_same_fresh_extent_one_allocation_all_stores_kept},
		{"8_writers_same_fresh_extent_one_allocation_all_stores_kept",
		 test_8_writers_same_fresh_extent_one_allocation_all_stores_kept},
		{"readers_racing_writers_see_zero_or_written_value",
		 test_readers_racing_writers_see_zero_or_written_value},
		{"2_writers_6_readers_on_fresh_extent", test_2_writers_6_readers_on_fresh_extent},
		{NULL, NULL},
	};
	return tu_run("stress", tests);
}
