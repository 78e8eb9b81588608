/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The object table at scale: its index by name (src/nameidx.c) and its
 * placement tree (src/goaltree.c), compiled in directly (their symbols are
 * hidden in libdaxmap.so) and held to simple models: names whose hashes
 * collide (forced: a handful of hash values for thousands of entries),
 * and the widest-gap goal against the sort-every-goal computation it
 * replaced. Then, through the library, thousands of objects created,
 * opened by name, unlinked and reopened against a model.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goaltree.h"
#include "nameidx.h"

#define NSLOTS 6000
#define NHASH 7 /* every entry's hash is one of these: collisions everywhere */

static uint64_t hash_of(uint32_t slot)
{
	return UINT64_C(0xabcdef0123456789) * (slot % NHASH + 1);
}

/* the slots the index returns for hash h, as a bitmap; -1 on a duplicate */
static int collect(const struct nameidx *x, uint64_t h, uint8_t *seen)
{
	uint64_t pos = 0;
	uint32_t slot;
	int n = 0;

	memset(seen, 0, NSLOTS);
	while (nameidx_next(x, h, &pos, &slot)) {
		if (slot >= NSLOTS || seen[slot])
			return -1;
		seen[slot] = 1;
		n++;
	}
	return n;
}

static void test_name_index_with_colliding_hashes(void)
{
	struct nameidx x;
	uint8_t *in = calloc(NSLOTS, 1), *seen = malloc(NSLOTS);
	uint64_t st = tu_seed("objtab_names");
	int bad = 0;

	CU_ASSERT_FATAL(in && seen);
	nameidx_init(&x);
	for (int round = 0; round < 6; round++) {
		/* add or delete a random half of the slots */
		for (uint32_t i = 0; i < NSLOTS; i++) {
			if (tu_rand(&st) & 1)
				continue;
			if (in[i]) {
				nameidx_del(&x, hash_of(i), i);
				in[i] = 0;
			} else {
				CU_ASSERT_FATAL(nameidx_reserve(&x, 1) == 0);
				nameidx_add(&x, hash_of(i), i);
				in[i] = 1;
			}
		}
		/* a delete of something absent changes nothing */
		nameidx_del(&x, hash_of(1), NSLOTS + 1);
		nameidx_del(&x, 12345, 3);
		uint64_t count = 0;
		for (uint32_t h = 0; h < NHASH; h++) {
			int n = collect(&x, hash_of(h), seen);
			for (uint32_t i = 0; i < NSLOTS && n >= 0; i++)
				if (seen[i] != (in[i] && i % NHASH == h))
					bad++;
			CU_ASSERT(n >= 0);
			count += (uint64_t)(n > 0 ? n : 0);
		}
		CU_ASSERT(count == x.count);
		CU_ASSERT(collect(&x, 42, seen) == 0);
	}
	CU_ASSERT(bad == 0);
	nameidx_free(&x);
	free(in);
	free(seen);
}

/* the computation goaltree replaces: sort every goal, take the widest gap */
static uint64_t ref_pick(const uint64_t *goals, const uint8_t *in, uint32_t nslots,
			 uint64_t nextents)
{
	uint64_t *g = malloc((nslots + 1) * sizeof(*g)), n = 0, best_len = 0, goal = 0;

	for (uint32_t i = 0; i < nslots; i++)
		if (in[i])
			g[n++] = goals[i];
	for (uint64_t i = 1; i < n; i++) /* insertion sort: small n */
		for (uint64_t j = i; j > 0 && g[j - 1] > g[j]; j--) {
			uint64_t t = g[j];
			g[j] = g[j - 1];
			g[j - 1] = t;
		}
	if (n == 0 || g[0] > 0)
		best_len = n ? g[0] : nextents;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t lo = g[k], hi = k + 1 < n ? g[k + 1] : nextents;
		if (hi - lo > best_len) {
			best_len = hi - lo;
			goal = lo + (hi - lo) / 2;
		}
	}
	free(g);
	return goal;
}

static void test_placement_tree_matches_sorting_every_goal(void)
{
	enum { SLOTS = 300 };
	uint64_t goals[SLOTS], st = tu_seed("objtab_goals");
	uint8_t in[SLOTS] = {0};
	int bad = 0;

	for (int run = 0; run < 40 && !bad; run++) {
		struct goaltree t;
		/* small pools make equal goals and zero gaps common */
		uint64_t nextents = 1 + tu_rand(&st) % (run % 2 ? 50 : 100000);

		goaltree_init(&t);
		memset(in, 0, sizeof(in));
		for (int step = 0; step < 2000 && !bad; step++) {
			uint32_t slot = (uint32_t)(tu_rand(&st) % SLOTS);
			if (in[slot]) {
				goaltree_remove(&t, slot);
				in[slot] = 0;
			} else {
				/* like a create: the goal the tree picks, or now and then any */
				uint64_t g = tu_rand(&st) % 4 ? goaltree_pick(&t, nextents)
							      : tu_rand(&st) % nextents;
				CU_ASSERT_FATAL(goaltree_reserve(&t, slot) == 0);
				goaltree_insert(&t, slot, g);
				goals[slot] = g;
				in[slot] = 1;
			}
			if (goaltree_pick(&t, nextents) != ref_pick(goals, in, SLOTS, nextents)) {
				fprintf(stderr, "run %d step %d: tree %llu, sorted %llu\n", run, step,
					(unsigned long long)goaltree_pick(&t, nextents),
					(unsigned long long)ref_pick(goals, in, SLOTS, nextents));
				bad++;
			}
		}
		goaltree_remove(&t, SLOTS + 5); /* never inserted: nothing happens */
		goaltree_free(&t);
	}
	CU_ASSERT(bad == 0);
}

static void name_of(char *buf, size_t len, uint32_t i)
{
	snprintf(buf, len, "dir/obj-%u", i);
}

static void test_many_objects_open_unlink_reopen_against_a_model(void)
{
	enum { N = 3000 };
	struct daxmap_pool_opts opts;
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint8_t live[N] = {0};
	uint64_t st = tu_seed("objtab_objects"), nlive = 0;
	struct daxmap_pool_stat ps;
	char name[64];
	int bad = 0;

	daxmap_pool_opts_init(&opts);
	opts.max_objects = N;
	opts.warm = DAXMAP_WARM_OFF;
	TU_OK(daxmap_pool_create_opts(&pool, tu_path("many.pool"), 64 << 20, 0600, &opts));
	for (int round = 0; round < 4; round++) {
		for (uint32_t i = 0; i < N; i++) {
			uint64_t r = tu_rand(&st) % 3;
			name_of(name, sizeof(name), i);
			if (r == 0 && live[i]) {
				TU_OK(daxmap_obj_unlink(pool, name));
				live[i] = 0;
				nlive--;
			} else if (r == 1) {
				int ret = daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE | DAXMAP_EXCL);
				if (ret != (live[i] ? -EEXIST : 0))
					bad++;
				if (ret == 0) {
					/* a goal of its own: its first byte writes */
					CU_ASSERT(daxmap_obj_pwrite(obj, name, 1, 0, 0) == 1 ||
						  daxmap_obj_pwrite(obj, name, 1, 0, 0) == -ENOSPC);
					daxmap_obj_close(obj);
					live[i] = 1;
					nlive++;
				}
			}
		}
		if (round == 2) { /* the index is rebuilt at open */
			TU_OK(daxmap_pool_close(pool));
			TU_OK(daxmap_pool_open_opts(&pool, tu_path("many.pool"), &opts));
		}
		for (uint32_t i = 0; i < N; i++) {
			int ret;
			name_of(name, sizeof(name), i);
			ret = daxmap_obj_open(&obj, pool, name, 0);
			if (ret != (live[i] ? 0 : -ENOENT))
				bad++;
			if (ret == 0)
				daxmap_obj_close(obj);
		}
		TU_OK(daxmap_pool_stat(pool, &ps));
		CU_ASSERT(ps.objects == nlive);
	}
	CU_ASSERT(bad == 0);
	/* every slot fills up, then none is left */
	for (uint32_t i = 0; i < N; i++) {
		name_of(name, sizeof(name), i);
		if (!live[i]) {
			TU_OK(daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE));
			daxmap_obj_close(obj);
		}
	}
	CU_ASSERT(daxmap_obj_open(&obj, pool, "one-too-many", DAXMAP_CREATE) == -ENFILE);
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_check(tu_path("many.pool"), 0, NULL, NULL) == 0);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"name_index_with_colliding_hashes", test_name_index_with_colliding_hashes},
		{"placement_tree_matches_sorting_every_goal",
		 test_placement_tree_matches_sorting_every_goal},
		{"many_objects_open_unlink_reopen_against_a_model",
		 test_many_objects_open_unlink_reopen_against_a_model},
		{NULL, NULL},
	};
	return tu_run("objtab", tests);
}
