/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxkv: the command-line face of the kvstore example.
 *
 *   daxkv [-s POOL_SIZE] [-n INDEX_SLOTS] POOL put KEY VALUE
 *   daxkv POOL get KEY | del KEY | scan | stats
 *   daxkv [-s POOL_SIZE] [-n INDEX_SLOTS] POOL bench [N]
 *   daxkv --shared ... (any of the above)
 *   daxkv -h | --help
 *
 * put and bench create the pool and the store when missing (POOL_SIZE with
 * K, M, G or T; default 1G); a pool created for a store that cannot be made
 * is removed again. Options come before POOL, so keys and values may start
 * with '-'. With --shared the pool is opened shared: put, del and bench as
 * the store's one writer, get, scan and stats as a reader, so gets run while
 * another daxkv --shared writes. Exit status: 0 done, 1 key not found, 2
 * error or bad usage.
 */
#include "kv.h"
#include "size.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: daxkv [--shared] [-s POOL_SIZE] [-n INDEX_SLOTS] POOL "
		   "put KEY VALUE | get KEY | del KEY | scan | stats | bench [N]\n");
}

static int bad_usage(void)
{
	usage(stderr);
	return 2;
}

static void help(void)
{
	usage(stdout);
	printf("  -s, --size=POOL_SIZE   size of a new pool: a number with K, M, G or T (powers\n"
	       "                         of 1024); default 1G\n"
	       "  -n, --slots=N          index slots of a new store: a power of two from 64 to\n"
	       "                         2^32 (K, M, G or T allowed); default 1M\n"
	       "  -S, --shared           open the pool shared: put, del and bench as the one\n"
	       "                         writer (another one is refused), get, scan and stats\n"
	       "                         as a reader, beside a writer in another process\n"
	       "  -h, --help             show this help\n"
	       "put and bench create the pool and the store when missing. Exit status: 0 done,\n"
	       "1 no such key, 2 error or bad usage.\n");
}

/* A size or a count for option `what`: strict, else a message and -1. */
static int arg_size(const char *what, const char *s, uint64_t *out)
{
	if (size_parse(s, out) == 0)
		return 0;
	fprintf(stderr, "daxkv: bad %s \"%s\": a number with an optional K, M, G or T suffix "
			"that fits 64 bits\n", what, s);
	return -1;
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
	static const struct option longopts[] = {{"size", required_argument, NULL, 's'},
						 {"slots", required_argument, NULL, 'n'},
						 {"shared", no_argument, NULL, 'S'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct kv_create_opts co = {0};
	struct kv_stat st;
	struct kv *kv;
	const char *cmd;
	char *buf;
	size_t vlen;
	uint64_t n = 100000;
	int opt, ret, nargs, shared = 0, writes;

	/* "+": options end at POOL */
	while ((opt = getopt_long(argc, argv, "+s:n:Sh", longopts, NULL)) != -1) {
		if (opt == 'h') {
			help();
			return 0;
		}
		if (opt == 'S') {
			shared = 1;
			continue;
		}
		if (opt == 's' && arg_size("pool size", optarg, &co.pool_size) == 0)
			continue;
		if (opt == 'n' && arg_size("index slot count", optarg, &co.index_slots) == 0)
			continue;
		return bad_usage();
	}
	if (argc - optind < 2)
		return bad_usage();
	cmd = argv[optind + 1];
	nargs = argc - optind - 2;
	if (!(strcmp(cmd, "put") == 0 && nargs == 2) && !(strcmp(cmd, "bench") == 0 && nargs <= 1) &&
	    !((strcmp(cmd, "get") == 0 || strcmp(cmd, "del") == 0) && nargs == 1) &&
	    !((strcmp(cmd, "scan") == 0 || strcmp(cmd, "stats") == 0) && nargs == 0))
		return bad_usage();
	if (strcmp(cmd, "bench") == 0 && nargs) {
		if (arg_size("operation count", argv[optind + 2], &n) < 0)
			return 2;
		if (n == 0) {
			fprintf(stderr, "daxkv bench: N must be at least 1\n");
			return 2;
		}
	}
	writes = !strcmp(cmd, "put") || !strcmp(cmd, "del") || !strcmp(cmd, "bench");
	ret = kv_open_opts(&kv, argv[optind],
			   &(struct kv_open_opts){
				   .flags = !shared ? 0 : writes ? KV_SHARED : KV_READONLY,
				   .create = strcmp(cmd, "put") && strcmp(cmd, "bench") ? NULL : &co});
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
		if (ret == 0 && shared)
			printf("readers %llu\n", (unsigned long long)st.readers);
	} else {
		ret = bench(kv, (unsigned long)n);
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
