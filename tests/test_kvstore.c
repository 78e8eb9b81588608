/* SPDX-License-Identifier: BSD-3-Clause */
/* The kvstore example (examples/kvstore): every operation, limits, reopen, a full pool. */
#define _GNU_SOURCE
#include "testutil.h"
#include "kv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct kv *open_new(const char *name, uint64_t pool_size, uint64_t slots)
{
	struct kv_create_opts o = {.pool_size = pool_size, .index_slots = slots};
	struct kv *kv = NULL;
	unlink(tu_path(name));
	int ret = kv_open(&kv, tu_path(name), &o);
	if (ret < 0)
		fprintf(stderr, "kv_open: %s\n", kv_errormsg());
	CU_ASSERT_FATAL(ret == 0);
	return kv;
}

static struct kv *reopen(struct kv *kv, const char *name)
{
	CU_ASSERT_FATAL(kv_close(kv) == 0);
	kv = NULL;
	int ret = kv_open(&kv, tu_path(name), NULL);
	if (ret < 0)
		fprintf(stderr, "kv_open: %s\n", kv_errormsg());
	CU_ASSERT_FATAL(ret == 0);
	return kv;
}

/* 1: key holds exactly val; 0: absent. */
static void expect(struct kv *kv, const char *key, size_t klen, const void *val, size_t vlen)
{
	static char buf[KV_MAX_VALUE];
	size_t got = 12345;
	int ret = kv_get(kv, key, klen, buf, sizeof(buf), &got);
	if (!val) {
		CU_ASSERT(ret == -ENOENT);
		return;
	}
	CU_ASSERT_FATAL(ret == 0);
	CU_ASSERT_FATAL(got == vlen);
	CU_ASSERT(memcmp(buf, val, vlen) == 0);
}

#define S(x) x, strlen(x)

static void test_put_get_survive_reopen(void)
{
	struct kv *kv = open_new("basic", 64 << 20, 4096);
	CU_ASSERT(kv_put(kv, S("apple"), S("red")) == 0);
	CU_ASSERT(kv_put(kv, S("banana"), S("yellow")) == 0);
	expect(kv, S("apple"), S("red"));
	expect(kv, S("banana"), S("yellow"));
	expect(kv, S("cherry"), NULL, 0);
	expect(kv, S("appl"), NULL, 0);
	kv = reopen(kv, "basic");
	expect(kv, S("apple"), S("red"));
	expect(kv, S("banana"), S("yellow"));
	kv_close(kv);
}

static void test_empty_key_and_empty_value(void)
{
	struct kv *kv = open_new("empty", 64 << 20, 4096);
	size_t vlen = 7;
	CU_ASSERT(kv_put(kv, "", 0, S("empty key")) == 0);
	CU_ASSERT(kv_put(kv, NULL, 0, S("NULL key of length 0")) == 0);
	CU_ASSERT(kv_put(kv, S("nothing"), NULL, 0) == 0);
	CU_ASSERT(kv_get(kv, S("nothing"), NULL, 0, &vlen) == 0);
	CU_ASSERT(vlen == 0);
	kv = reopen(kv, "empty");
	expect(kv, "", 0, S("NULL key of length 0"));
	expect(kv, S("nothing"), "", 0);
	CU_ASSERT(kv_del(kv, "", 0) == 0);
	expect(kv, "", 0, NULL, 0);
	kv_close(kv);
}

static void test_max_sizes_and_beyond(void)
{
	struct kv *kv = open_new("max", 64 << 20, 4096);
	char *key = malloc(KV_MAX_KEY + 1), *val = malloc(KV_MAX_VALUE + 1);
	for (size_t i = 0; i <= KV_MAX_VALUE; i++)
		val[i] = (char)(i * 7 + 3);
	memset(key, 'k', KV_MAX_KEY + 1);
	CU_ASSERT(kv_put(kv, key, KV_MAX_KEY, val, KV_MAX_VALUE) == 0);
	CU_ASSERT(kv_put(kv, key, KV_MAX_KEY + 1, val, 1) == -E2BIG);
	CU_ASSERT(kv_put(kv, key, 1, val, KV_MAX_VALUE + 1) == -E2BIG);
	CU_ASSERT(strstr(kv_errormsg(), "limit") != NULL);
	CU_ASSERT(kv_del(kv, key, KV_MAX_KEY + 1) == -E2BIG);
	/* several maximum records: each fills half a chunk, so they cross into new chunks */
	for (int i = 0; i < 5; i++) {
		key[0] = (char)('0' + i);
		CU_ASSERT_FATAL(kv_put(kv, key, KV_MAX_KEY, val, KV_MAX_VALUE) == 0);
	}
	kv = reopen(kv, "max");
	for (int i = 0; i < 5; i++) {
		key[0] = (char)('0' + i);
		expect(kv, key, KV_MAX_KEY, val, KV_MAX_VALUE);
	}
	key[0] = 'k';
	expect(kv, key, KV_MAX_KEY, val, KV_MAX_VALUE);
	free(key);
	free(val);
	kv_close(kv);
}

static void test_overwrite_keeps_the_last_value(void)
{
	struct kv *kv = open_new("over", 64 << 20, 4096);
	char val[64];
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(val, sizeof(val), "value %d %.*s", i, i % 40, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		CU_ASSERT_FATAL(kv_put(kv, S("k"), val, (size_t)n) == 0);
	}
	expect(kv, S("k"), val, strlen(val));
	kv = reopen(kv, "over");
	expect(kv, S("k"), val, strlen(val));
	struct kv_stat st;
	CU_ASSERT(kv_stat(kv, &st) == 0);
	CU_ASSERT(st.keys == 1);
	kv_close(kv);
}

static void test_delete_is_durable_and_reported(void)
{
	struct kv *kv = open_new("del", 64 << 20, 4096);
	CU_ASSERT(kv_put(kv, S("a"), S("1")) == 0);
	CU_ASSERT(kv_put(kv, S("b"), S("2")) == 0);
	CU_ASSERT(kv_del(kv, S("a")) == 0);
	CU_ASSERT(kv_del(kv, S("a")) == -ENOENT);
	CU_ASSERT(kv_del(kv, S("never")) == -ENOENT);
	expect(kv, S("a"), NULL, 0);
	kv = reopen(kv, "del");
	expect(kv, S("a"), NULL, 0);
	expect(kv, S("b"), S("2"));
	CU_ASSERT(kv_put(kv, S("a"), S("again")) == 0);
	expect(kv, S("a"), S("again"));
	kv_close(kv);
}

struct collect {
	char keys[64][16];
	int n;
};

static int collect_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	struct collect *c = arg;
	CU_ASSERT(klen < 16);
	CU_ASSERT(vlen == klen && memcmp(key, val, klen) == 0); /* values equal keys here */
	memcpy(c->keys[c->n], key, klen);
	c->keys[c->n][klen] = 0;
	return ++c->n == 64;
}

static int stop_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	(void)key, (void)klen, (void)val, (void)vlen;
	return ++*(int *)arg == 3 ? 42 : 0;
}

static void test_scan_is_ordered_and_skips_deleted(void)
{
	static const char *in[] = {"pear", "b", "apple", "", "ab", "a", "zz", "app", "z", NULL};
	static const char *out[] = {"", "a", "ab", "app", "b", "pear", "z", "zz"};
	struct kv *kv = open_new("scan", 64 << 20, 4096);
	struct collect c = {.n = 0};
	int calls = 0;
	for (int i = 0; in[i]; i++)
		CU_ASSERT(kv_put(kv, S(in[i]), S(in[i])) == 0);
	CU_ASSERT(kv_del(kv, S("apple")) == 0);
	kv = reopen(kv, "scan");
	CU_ASSERT(kv_scan(kv, collect_cb, &c) == 0);
	CU_ASSERT_FATAL(c.n == 8);
	for (int i = 0; i < 8; i++)
		CU_ASSERT(strcmp(c.keys[i], out[i]) == 0);
	CU_ASSERT(kv_scan(kv, stop_cb, &calls) == 42);
	CU_ASSERT(calls == 3);
	kv_close(kv);
}

static void test_bad_input_gets_clear_errors(void)
{
	struct kv *kv = open_new("bad", 64 << 20, 4096);
	struct kv *other;
	struct kv_create_opts o = {.index_slots = 1000};
	size_t vlen;
	char buf[8];
	daxmap_pool *pool;
	int fd;

	CU_ASSERT(kv_put(NULL, S("a"), S("b")) == -EINVAL);
	CU_ASSERT(kv_put(kv, NULL, 1, S("b")) == -EINVAL);
	CU_ASSERT(kv_put(kv, S("a"), NULL, 1) == -EINVAL);
	CU_ASSERT(kv_get(kv, NULL, 3, buf, sizeof(buf), &vlen) == -EINVAL);
	CU_ASSERT(kv_get(kv, S("a"), buf, sizeof(buf), NULL) == -EINVAL);
	CU_ASSERT(kv_del(kv, NULL, 2) == -EINVAL);
	CU_ASSERT(kv_scan(kv, NULL, NULL) == -EINVAL);
	CU_ASSERT(kv_commit(kv) == -EINVAL);
	CU_ASSERT(kv_begin(kv) == 0);
	CU_ASSERT(kv_begin(kv) == -EINVAL);
	CU_ASSERT(kv_commit(kv) == 0);
	CU_ASSERT(kv_open(NULL, tu_path("x"), NULL) == -EINVAL);
	CU_ASSERT(kv_open(&other, NULL, NULL) == -EINVAL);
	/* open elsewhere: the pool lock */
	CU_ASSERT(kv_open(&other, tu_path("bad"), NULL) == -EBUSY);
	kv_close(kv);
	CU_ASSERT(kv_open(&other, tu_path("missing"), NULL) == -ENOENT);
	CU_ASSERT(kv_open(&other, tu_path("slots"), &o) == -EINVAL);
	CU_ASSERT(strstr(kv_errormsg(), "power of two") != NULL);
	/* a daxmap pool that holds no store */
	pool = tu_pool_create("plain", 32 << 20);
	daxmap_pool_close(pool);
	CU_ASSERT(kv_open(&other, tu_path("plain"), NULL) == -EINVAL);
	CU_ASSERT(strstr(kv_errormsg(), "not a kvstore") != NULL);
	/* a file that is no pool at all */
	fd = open(tu_path("text"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < 4096; i++)
		CU_ASSERT(write(fd, "hello, world\n", 13) == 13);
	close(fd);
	CU_ASSERT(kv_open(&other, tu_path("text"), NULL) == -EINVAL);
	CU_ASSERT(kv_errormsg()[0] != 0);
}

static void test_batch_is_invisible_until_commit(void)
{
	struct kv *kv = open_new("batch", 64 << 20, 4096);
	CU_ASSERT(kv_put(kv, S("old"), S("1")) == 0);
	CU_ASSERT(kv_begin(kv) == 0);
	CU_ASSERT(kv_put(kv, S("new"), S("2")) == 0);
	CU_ASSERT(kv_del(kv, S("old")) == 0);
	CU_ASSERT(kv_put(kv, S("old"), S("3")) == 0); /* delete then put in one batch */
	CU_ASSERT(kv_put(kv, S("gone"), S("4")) == 0);
	CU_ASSERT(kv_del(kv, S("gone")) == 0);
	CU_ASSERT(kv_del(kv, S("never")) == 0);
	expect(kv, S("new"), NULL, 0);
	expect(kv, S("old"), S("1"));
	CU_ASSERT(kv_commit(kv) == 0);
	expect(kv, S("new"), S("2"));
	expect(kv, S("old"), S("3"));
	expect(kv, S("gone"), NULL, 0);
	/* an uncommitted batch goes with close */
	CU_ASSERT(kv_begin(kv) == 0);
	CU_ASSERT(kv_put(kv, S("new"), S("lost")) == 0);
	kv = reopen(kv, "batch");
	expect(kv, S("new"), S("2"));
	expect(kv, S("old"), S("3"));
	struct kv_stat st;
	kv_stat(kv, &st);
	CU_ASSERT(st.keys == 2);
	kv_close(kv);
}

static void test_index_full_is_enospc(void)
{
	struct kv *kv = open_new("idx", 64 << 20, 64);
	char key[8];
	int i, ret = 0;
	for (i = 0; i < 100 && ret == 0; i++) {
		snprintf(key, sizeof(key), "%d", i);
		ret = kv_put(kv, S(key), S(key));
	}
	CU_ASSERT(ret == -ENOSPC);
	CU_ASSERT(i == 49); /* 3/4 of 64 */
	CU_ASSERT(strstr(kv_errormsg(), "index full") != NULL);
	CU_ASSERT(kv_put(kv, S("0"), S("overwrite")) == 0);
	CU_ASSERT(kv_del(kv, S("1")) == 0);
	/* its probe sequence passes the deleted slot, which it takes */
	CU_ASSERT(kv_put(kv, S("1"), S("fits again")) == 0);
	kv = reopen(kv, "idx");
	expect(kv, S("0"), S("overwrite"));
	expect(kv, S("1"), S("fits again"));
	expect(kv, S("47"), S("47"));
	kv_close(kv);
}

/* The store on a full pool: -ENOSPC, no SIGBUS, nothing lost; deletes give the space back. */
static void test_full_pool_is_enospc_and_deletes_give_space_back(void)
{
	struct kv *kv = open_new("full", 32 << 20, 4096);
	static char val[100 << 10];
	struct kv_stat st1, st2;
	char key[16];
	int n, ret = 0;

	for (n = 0; ret == 0; n++) {
		memset(val, 'a' + n % 26, sizeof(val));
		snprintf(key, sizeof(key), "k%d", n);
		ret = kv_put(kv, S(key), val, sizeof(val));
	}
	n--;
	CU_ASSERT_FATAL(ret == -ENOSPC);
	CU_ASSERT(n > 20);
	printf("\n  %d values of 100 KiB fit: %s\n", n, kv_errormsg());
	expect(kv, S(key), NULL, 0);
	CU_ASSERT(kv_put(kv, S("k0"), val, sizeof(val)) == -ENOSPC); /* an overwrite needs space too */
	for (int i = 0; i < n; i++) {
		memset(val, 'a' + i % 26, sizeof(val));
		snprintf(key, sizeof(key), "k%d", i);
		expect(kv, S(key), val, sizeof(val));
	}
	kv_stat(kv, &st1);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_FATAL(kv_del(kv, S(key)) == 0); /* deletes need no space */
	}
	kv_stat(kv, &st2);
	CU_ASSERT(st2.chunks_punched > 0);
	CU_ASSERT(st2.pool_used < st1.pool_used);
	CU_ASSERT(st2.live_bytes == 0);
	/* the space is usable again */
	for (int i = 0; i < n / 2; i++) {
		memset(val, 'A' + i % 26, sizeof(val));
		snprintf(key, sizeof(key), "again%d", i);
		ret = kv_put(kv, S(key), val, sizeof(val));
		if (ret < 0)
			fprintf(stderr, "put %d: %s\n", i, kv_errormsg());
		CU_ASSERT_FATAL(ret == 0);
	}
	kv = reopen(kv, "full");
	for (int i = 0; i < n / 2; i++) {
		memset(val, 'A' + i % 26, sizeof(val));
		snprintf(key, sizeof(key), "again%d", i);
		expect(kv, S(key), val, sizeof(val));
	}
	kv_close(kv);
}

/* Random puts, overwrites and deletes against a model, in and out of batches, with reopens. */
static void test_random_ops_match_a_model(void)
{
	enum { NKEYS = 3000, OPS = 60000 };
	static int model[NKEYS]; /* value version, or -1 for absent */
	uint64_t rng = tu_seed("test_random_ops_match_a_model");
	struct kv *kv = open_new("model", 128 << 20, 8192);
	char key[32], val[600];
	struct kv_stat st;
	int batch = 0;

	for (int k = 0; k < NKEYS; k++)
		model[k] = -1;
	for (int i = 0; i < OPS; i++) {
		int k = (int)(tu_rand(&rng) % NKEYS), klen = snprintf(key, sizeof(key), "key%d", k);
		if (!batch && tu_rand(&rng) % 500 == 0) {
			CU_ASSERT_FATAL(kv_begin(kv) == 0);
			batch = 1 + (int)(tu_rand(&rng) % 100);
		}
		if (tu_rand(&rng) % 3 == 0) {
			int ret = kv_del(kv, key, (size_t)klen);
			CU_ASSERT_FATAL(ret == 0 || (ret == -ENOENT && !batch && model[k] < 0));
			model[k] = -1;
		} else {
			size_t vlen = (size_t)(i % 600);
			memset(val, 'a' + i % 26, vlen);
			CU_ASSERT_FATAL(kv_put(kv, key, (size_t)klen, val, vlen) == 0);
			model[k] = i;
		}
		if (batch && --batch == 0)
			CU_ASSERT_FATAL(kv_commit(kv) == 0);
		if (i % 20000 == 19999 && !batch)
			kv = reopen(kv, "model");
	}
	if (batch)
		CU_ASSERT_FATAL(kv_commit(kv) == 0);
	kv = reopen(kv, "model");
	int live = 0;
	for (int k = 0; k < NKEYS; k++) {
		int klen = snprintf(key, sizeof(key), "key%d", k);
		if (model[k] < 0) {
			expect(kv, key, (size_t)klen, NULL, 0);
			continue;
		}
		live++;
		memset(val, 'a' + model[k] % 26, (size_t)(model[k] % 600));
		expect(kv, key, (size_t)klen, val, (size_t)(model[k] % 600));
	}
	kv_stat(kv, &st);
	CU_ASSERT(st.keys == (uint64_t)live);
	kv_close(kv);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"put_get_survive_reopen", test_put_get_survive_reopen},
		{"empty_key_and_empty_value", test_empty_key_and_empty_value},
		{"max_sizes_and_beyond", test_max_sizes_and_beyond},
		{"overwrite_keeps_the_last_value", test_overwrite_keeps_the_last_value},
		{"delete_is_durable_and_reported", test_delete_is_durable_and_reported},
		{"scan_is_ordered_and_skips_deleted", test_scan_is_ordered_and_skips_deleted},
		{"bad_input_gets_clear_errors", test_bad_input_gets_clear_errors},
		{"batch_is_invisible_until_commit", test_batch_is_invisible_until_commit},
		{"index_full_is_enospc", test_index_full_is_enospc},
		{"full_pool_is_enospc_and_deletes_give_space_back",
		 test_full_pool_is_enospc_and_deletes_give_space_back},
		{"random_ops_match_a_model", test_random_ops_match_a_model},
		{NULL, NULL},
	};
	return tu_run("kvstore", tests);
}
