/*
 * daxmap: the command-line tool for libdaxmap pools.
 *
 *   daxmap create PATH SIZE [--extent-size SIZE] [--max-objects N]
 *   daxmap info PATH
 *   daxmap ls PATH
 *   daxmap check PATH        exit 0 clean, 1 damaged, 2 could not run
 *
 * SIZE takes K, M, G or T suffixes (powers of 1024).
 */
#include <libdaxmap.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: daxmap create PATH SIZE [--extent-size SIZE] [--max-objects N]\n"
		   "       daxmap info PATH\n"
		   "       daxmap ls PATH\n"
		   "       daxmap check PATH   (exit 0 clean, 1 damaged, 2 could not run)\n"
		   "SIZE takes K, M, G or T suffixes.\n");
}

/* Parses "96M" and the like; 0 on success. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (!s || !*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	default: break;
	}
	if (*end != 0 || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	uint64_t size, v;
	int ret;

	if (argc < 2 || parse_size(argv[1], &size)) {
		usage(stderr);
		return 2;
	}
	daxmap_pool_opts_init(&o);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--extent-size") && i + 1 < argc && !parse_size(argv[i + 1], &v)) {
			o.extent_size = v;
			i++;
		} else if (!strcmp(argv[i], "--max-objects") && i + 1 < argc &&
			   !parse_size(argv[i + 1], &v) && v <= UINT32_MAX) {
			o.max_objects = (uint32_t)v;
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	ret = daxmap_pool_create_opts(&pool, argv[0], size, 0600, &o);
	if (ret < 0) {
		fprintf(stderr, "daxmap create: %s\n", daxmap_errormsg());
		return 1;
	}
	daxmap_pool_close(pool);
	return 0;
}

static int print_obj(const char *name, uint64_t size, void *arg)
{
	(void)arg;
	printf("%20" PRIu64 "  %s\n", size, name);
	return 0;
}

static int cmd_open(const char *path, daxmap_pool **pool, const char *cmd)
{
	int ret = daxmap_pool_open(pool, path);
	if (ret < 0)
		fprintf(stderr, "daxmap %s: %s\n", cmd, daxmap_errormsg());
	return ret;
}

static int cmd_info(const char *path)
{
	struct daxmap_pool_stat st;
	daxmap_pool *pool;

	if (cmd_open(path, &pool, "info") < 0)
		return 1;
	daxmap_pool_stat(pool, &st);
	printf("pool          %s\n", path);
	printf("size          %" PRIu64 "\n", st.size);
	printf("data          %" PRIu64 "\n", st.data_size);
	printf("extent size   %" PRIu64 "\n", st.extent_size);
	printf("used          %" PRIu64 "\n", st.used);
	printf("free          %" PRIu64 " (%" PRIu64 " not yet zeroed)\n", st.free, st.free_unzeroed);
	printf("objects       %" PRIu64 " of %" PRIu64 "\n", st.objects, st.max_objects);
	printf("persistence   %s\n", st.is_pmem ? "cache flushes (pmem)" : "msync");
	daxmap_pool_close(pool);
	return 0;
}

static int cmd_ls(const char *path)
{
	daxmap_pool *pool;

	if (cmd_open(path, &pool, "ls") < 0)
		return 1;
	daxmap_pool_list(pool, print_obj, NULL);
	daxmap_pool_close(pool);
	return 0;
}

/* Opening validates the header, every object slot and every extent entry. */
static int cmd_check(const char *path)
{
	daxmap_pool *pool;
	int ret = daxmap_pool_open(&pool, path);

	if (ret == -EUCLEAN || ret == -EINVAL || ret == -EPROTONOSUPPORT) {
		printf("%s: damaged: %s\n", path, daxmap_errormsg());
		return 1;
	}
	if (ret < 0) {
		fprintf(stderr, "daxmap check: could not check %s: %s\n", path, daxmap_errormsg());
		return 2;
	}
	printf("%s: clean\n", path);
	daxmap_pool_close(pool);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "create"))
		return cmd_create(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "info"))
		return cmd_info(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "ls"))
		return cmd_ls(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2]);
	usage(stderr);
	return 2;
}
