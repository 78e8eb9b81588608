/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxkv: the command-line face of the kvstore example.
 *
 *   daxkv [-s POOL_SIZE] [-n INDEX_SLOTS] POOL put KEY VALUE
 *   daxkv POOL get KEY | del KEY | scan | stats
 *   daxkv [-s POOL_SIZE] [-n INDEX_SLOTS] POOL bench [N]
 *
 * put and bench create the pool and the store when missing (POOL_SIZE with
 * K, M or G; default 1G). Exit status: 0 done, 1 key not found, 2 error.
 */
#include "kv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: daxkv [-s POOL_SIZE] [-n INDEX_SLOTS] POOL "
			"put KEY VALUE | get KEY | del KEY | scan | stats | bench [N]\n");
	return 2;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10;
	}
	return v;
}

static int print_pair(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	(void)arg;
	printf("%.*s\t%.*s\n", (int)klen, (const char *)key, (int)vlen, (const char *)val);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* N durable puts of random 16-byte keys with 100-byte values, then N gets. */
static int bench(struct kv *kv, unsigned long n)
{
	char key[17], val[100], buf[100];
	uint64_t x = 88172645463325252u;
	size_t vlen;
	double t;
	int ret = 0;

	memset(val, 'v', sizeof(val));
	t = now();
	for (unsigned long i = 0; i < n && ret == 0; i++) {
		snprintf(key, sizeof(key), "%016lx", (unsigned long)((i * 2654435761u) % n));
		ret = kv_put(kv, key, 16, val, sizeof(val));
	}
	if (ret < 0)
		return ret;
	printf("put  %lu: %.0f ops/s (each durable)\n", n, (double)n / (now() - t));
	t = now();
	for (unsigned long i = 0; i < n && ret == 0; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		snprintf(key, sizeof(key), "%016lx", (unsigned long)(x % n));
		ret = kv_get(kv, key, 16, buf, sizeof(buf), &vlen);
	}
	if (ret < 0)
		return ret;
	printf("get  %lu: %.0f ops/s\n", n, (double)n / (now() - t));
	return 0;
}

int main(int argc, char **argv)
{
	struct kv_create_opts co = {0};
	struct kv_stat st;
	struct kv *kv;
	const char *cmd;
	char *buf;
	size_t vlen;
	int opt, ret, nargs;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			co.pool_size = parse_size(optarg);
		else if (opt == 'n')
			co.index_slots = parse_size(optarg);
		else
			return usage();
	}
	if (argc - optind < 2)
		return usage();
	cmd = argv[optind + 1];
	nargs = argc - optind - 2;
	if (!(strcmp(cmd, "put") == 0 && nargs == 2) && !(strcmp(cmd, "bench") == 0 && nargs <= 1) &&
	    !((strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0) && nargs == 1) &&
	    !((strcmp(cmd, "scan") == 0 || strcmp(cmd, "stats") == 0) && nargs == 0))
		return usage();
	ret = kv_open(&kv, argv[optind], strcmp(cmd, "put") && strcmp(cmd, "bench") ? NULL : &co);
	if (ret < 0) {
		fprintf(stderr, "daxkv: %s\n", kv_errormsg());
		return 2;
	}
	const char *key = nargs ? argv[optind + 2] : "";
	if (strcmp(cmd, "put") == 0) {
		ret = kv_put(kv, key, strlen(key), argv[optind + 3], strlen(argv[optind + 3]));
	} else if (strcmp(cmd, "get") == 0) {
		if (!(buf = malloc(KV_MAX_VALUE)))
			ret = -ENOMEM;
		else if ((ret = kv_get(kv, key, strlen(key), buf, KV_MAX_VALUE, &vlen)) == 0)
			printf("%.*s\n", (int)vlen, buf);
		free(buf);
	} else if (strcmp(cmd, "del") == 0) {
		ret = kv_del(kv, key, strlen(key));
	} else if (strcmp(cmd, "scan") == 0) {
		ret = kv_scan(kv, print_pair, NULL);
	} else if (strcmp(cmd, "stats") == 0) {
		if ((ret = kv_stat(kv, &st)) == 0)
			printf("keys %llu\nindex_slots %llu\ntombstones %llu\nlive_bytes %llu\n"
			       "log_size %llu\npool_used %llu\npool_free %llu\n",
			       (unsigned long long)st.keys, (unsigned long long)st.index_slots,
			       (unsigned long long)st.tombstones, (unsigned long long)st.live_bytes,
			       (unsigned long long)st.log_size, (unsigned long long)st.pool_used,
			       (unsigned long long)st.pool_free);
	} else {
		ret = bench(kv, nargs ? strtoul(key, NULL, 0) : 100000);
	}
	if (ret < 0 && ret != -ENOENT)
		fprintf(stderr, "daxkv %s: %s\n", cmd, kv_errormsg());
	else if (ret == -ENOENT)
		fprintf(stderr, "daxkv %s: no such key\n", cmd);
	if (kv_close(kv) < 0 && ret == 0) {
		fprintf(stderr, "daxkv: %s\n", kv_errormsg());
		ret = -EIO;
	}
	return ret == 0 ? 0 : ret == -ENOENT ? 1 : 2;
}
