/*
 * daxmap: the command-line tool for libdaxmap pools (doc/daxmap.1).
 *
 *   daxmap create PATH SIZE [--extent-size SIZE] [--max-objects N]
 *   daxmap info PATH
 *   daxmap ls PATH
 *   daxmap stat PATH NAME
 *   daxmap rm PATH NAME
 *   daxmap truncate PATH NAME SIZE
 *   daxmap punch PATH NAME OFF LEN
 *   daxmap check PATH [--force] [--progress] [--data] [--quiet]
 *
 * SIZE, OFF and LEN take K, M, G or T suffixes (powers of 1024).
 * Exit status: 0 success, 1 the operation failed (check: the pool is
 * damaged), 2 bad usage or (check) the check could not run.
 */
#include <libdaxmap.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "size.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct cmd {
	const char *name;
	int nargs;       /* positional arguments, PATH included */
	const char *args; /* synopsis after the name */
	const char *help;
	int (*run)(int argc, char **argv); /* argv[0] is PATH */
};

static const struct cmd *find_cmd(const char *name);

static void usage_cmd(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: daxmap %s %s\n%s", c->name, c->args, c->help);
}

static int bad_usage(const char *name)
{
	usage_cmd(stderr, find_cmd(name));
	return EXIT_USAGE;
}

static int arg_size(const char *cmd, const char *what, const char *s, uint64_t *out)
{
	if (size_parse(s, out) == 0)
		return 0;
	fprintf(stderr, "daxmap %s: bad %s \"%s\": a number with an optional K, M, G or T suffix "
			"that fits 64 bits\n", cmd, what, s);
	return -1;
}

static int fail(const char *cmd, const char *what)
{
	fprintf(stderr, "daxmap %s: %s%s%s\n", cmd, what ? what : "", what ? ": " : "",
		daxmap_errormsg());
	return EXIT_FAIL;
}

static int pool_open(const char *cmd, const char *path, daxmap_pool **pool)
{
	if (daxmap_pool_open(pool, path) < 0) {
		fail(cmd, NULL);
		return -1;
	}
	return 0;
}

/* Opens PATH and the existing object NAME. */
static int obj_open(const char *cmd, const char *path, const char *name, daxmap_pool **pool,
		    daxmap_obj **obj)
{
	if (pool_open(cmd, path, pool) < 0)
		return -1;
	if (daxmap_obj_open(obj, *pool, name, 0) < 0) {
		fail(cmd, NULL);
		daxmap_pool_close(*pool);
		return -1;
	}
	return 0;
}

static int obj_done(daxmap_pool *pool, daxmap_obj *obj, int status)
{
	daxmap_obj_close(obj);
	if (daxmap_pool_close(pool) < 0 && status == 0)
		status = EXIT_FAIL;
	return status;
}

static int cmd_create(int argc, char **argv)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	uint64_t size, v;

	if (arg_size("create", "SIZE", argv[1], &size) < 0)
		return EXIT_USAGE;
	daxmap_pool_opts_init(&o);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--extent-size") && i + 1 < argc) {
			if (arg_size("create", "extent size", argv[++i], &v) < 0)
				return EXIT_USAGE;
			o.extent_size = v;
		} else if (!strcmp(argv[i], "--max-objects") && i + 1 < argc) {
			if (arg_size("create", "object count", argv[++i], &v) < 0)
				return EXIT_USAGE;
			if (v == 0 || v > UINT32_MAX) {
				fprintf(stderr, "daxmap create: bad object count %s\n", argv[i]);
				return EXIT_USAGE;
			}
			o.max_objects = (uint32_t)v;
		} else {
			return bad_usage("create");
		}
	}
	if (daxmap_pool_create_opts(&pool, argv[0], size, 0600, &o) < 0)
		return fail("create", NULL);
	return daxmap_pool_close(pool) < 0 ? fail("create", NULL) : 0;
}

static int print_obj(const char *name, uint64_t size, void *arg)
{
	(void)arg;
	printf("%20" PRIu64 "  %s\n", size, name);
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	struct daxmap_pool_stat st;
	daxmap_pool *pool;

	(void)argc;
	if (pool_open("info", argv[0], &pool) < 0)
		return EXIT_FAIL;
	if (daxmap_pool_stat(pool, &st) < 0) {
		fail("info", NULL);
		daxmap_pool_close(pool);
		return EXIT_FAIL;
	}
	printf("pool          %s\n", argv[0]);
	printf("size          %" PRIu64 "\n", st.size);
	printf("metadata      %" PRIu64 "\n", st.size - st.data_size);
	printf("data          %" PRIu64 " (%" PRIu64 " extents)\n", st.data_size,
	       st.extent_size ? st.data_size / st.extent_size : 0);
	printf("extent size   %" PRIu64 "\n", st.extent_size);
	printf("used          %" PRIu64 "\n", st.used);
	printf("free          %" PRIu64 " (%" PRIu64 " not yet zeroed)\n", st.free, st.free_unzeroed);
	printf("objects       %" PRIu64 " of %" PRIu64 "\n", st.objects, st.max_objects);
	printf("persistence   %s\n", st.is_pmem ? "cache flushes (pmem)" : "msync");
	if (st.objects) {
		printf("%20s  %s\n", "size", "name");
		daxmap_pool_list(pool, print_obj, NULL);
	}
	return daxmap_pool_close(pool) < 0 ? fail("info", NULL) : 0;
}

static int cmd_ls(int argc, char **argv)
{
	daxmap_pool *pool;
	int ret;

	(void)argc;
	if (pool_open("ls", argv[0], &pool) < 0)
		return EXIT_FAIL;
	ret = daxmap_pool_list(pool, print_obj, NULL);
	daxmap_pool_close(pool);
	return ret < 0 ? fail("ls", NULL) : 0;
}

static int cmd_stat(int argc, char **argv)
{
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t size;

	(void)argc;
	if (obj_open("stat", argv[0], argv[1], &pool, &obj) < 0)
		return EXIT_FAIL;
	if (daxmap_obj_size(obj, &size) < 0)
		return obj_done(pool, obj, fail("stat", NULL));
	printf("name  %s\nsize  %" PRIu64 "\n", argv[1], size);
	return obj_done(pool, obj, 0);
}

static int cmd_rm(int argc, char **argv)
{
	daxmap_pool *pool;
	int ret;

	(void)argc;
	if (pool_open("rm", argv[0], &pool) < 0)
		return EXIT_FAIL;
	ret = daxmap_obj_unlink(pool, argv[1]) < 0 ? fail("rm", NULL) : 0;
	daxmap_pool_close(pool);
	return ret;
}

static int cmd_truncate(int argc, char **argv)
{
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t size;

	(void)argc;
	if (arg_size("truncate", "SIZE", argv[2], &size) < 0)
		return EXIT_USAGE;
	if (obj_open("truncate", argv[0], argv[1], &pool, &obj) < 0)
		return EXIT_FAIL;
	return obj_done(pool, obj, daxmap_obj_truncate(obj, size) < 0 ? fail("truncate", NULL) : 0);
}

static int cmd_punch(int argc, char **argv)
{
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t off, len;

	(void)argc;
	if (arg_size("punch", "OFF", argv[2], &off) < 0 || arg_size("punch", "LEN", argv[3], &len) < 0)
		return EXIT_USAGE;
	if (obj_open("punch", argv[0], argv[1], &pool, &obj) < 0)
		return EXIT_FAIL;
	return obj_done(pool, obj,
			daxmap_obj_punch_hole(obj, off, len) < 0 ? fail("punch", NULL) : 0);
}

struct check_out {
	int quiet;
};

static void check_report(const char *msg, void *arg)
{
	struct check_out *co = arg;

	if (!strncmp(msg, "progress: ", 10)) {
		fprintf(stderr, "%s\n", msg);
		return;
	}
	if (co->quiet && strncmp(msg, "damaged: ", 9) != 0)
		return;
	printf("%s\n", msg);
}

static int cmd_check(int argc, char **argv)
{
	struct check_out co = {0};
	int flags = isatty(STDERR_FILENO) ? DAXMAP_CHECK_PROGRESS : 0, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			flags |= DAXMAP_CHECK_FORCE;
		else if (!strcmp(argv[i], "--progress"))
			flags |= DAXMAP_CHECK_PROGRESS;
		else if (!strcmp(argv[i], "--data"))
			flags |= DAXMAP_CHECK_DATA;
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			co.quiet = 1;
		else
			return bad_usage("check");
	}
	ret = daxmap_pool_check(argv[0], flags, check_report, &co);
	fflush(stdout);
	if (ret < 0) {
		fprintf(stderr, "daxmap check: could not check %s: %s%s\n", argv[0], daxmap_errormsg(),
			ret == -EBUSY ? " (--force checks it anyway)" : "");
		return 2;
	}
	printf("%s: %s\n", argv[0], ret ? "damaged" : "clean");
	return ret ? 1 : 0;
}

static const struct cmd cmds[] = {
	{"create", 2, "PATH SIZE [--extent-size SIZE] [--max-objects N]",
	 "Creates a pool file of SIZE bytes (at least 16M) at PATH, which must not exist.\n"
	 "  --extent-size SIZE  allocation unit: a power of two from 4K to 1G (default 2M)\n"
	 "  --max-objects N     object slots (default 4096)\n",
	 cmd_create},
	{"info", 1, "PATH", "Shows the pool's layout, free space and objects.\n", cmd_info},
	{"ls", 1, "PATH", "Lists the objects: size and name, one per line.\n", cmd_ls},
	{"stat", 2, "PATH NAME", "Shows one object's size.\n", cmd_stat},
	{"rm", 2, "PATH NAME", "Removes an object and frees its space.\n", cmd_rm},
	{"truncate", 3, "PATH NAME SIZE",
	 "Sets an object's size, as truncate(1): growing makes a hole, shrinking frees.\n",
	 cmd_truncate},
	{"punch", 4, "PATH NAME OFF LEN",
	 "Deallocates [OFF, OFF+LEN) of an object; it reads zero, the size is kept.\n", cmd_punch},
	{"check", 1, "PATH [--force] [--progress] [--data] [--quiet]",
	 "Checks the pool read-only (no userfaultfd needed), one line per finding.\n"
	 "Exit 0 clean (a pending log record is not damage: it is replayed on the next\n"
	 "open), 1 damaged, 2 the check could not run (missing file, pool in use).\n"
	 "  --force     check a pool that is open elsewhere (results may be inconsistent)\n"
	 "  --progress  progress lines on stderr (default when stderr is a terminal)\n"
	 "  --data      also verify that every free extent reads zero (reads all free space)\n"
	 "  --quiet     print only problems and the verdict\n",
	 cmd_check},
};

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: daxmap COMMAND ARGS...   (daxmap COMMAND --help for details)\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "       daxmap %s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "SIZE, OFF and LEN take K, M, G or T suffixes (powers of 1024).\n"
		   "Exit status: 0 success, 1 failure (check: damaged), 2 bad usage (check: could "
		   "not run).\n");
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("daxmap (libdaxmap %s)\n", daxmap_version());
		return 0;
	}
	if (argc < 2 || !(c = find_cmd(argv[1]))) {
		if (argc >= 2)
			fprintf(stderr, "daxmap: unknown command \"%s\"\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage_cmd(stdout, c);
			return 0;
		}
	if (argc - 2 < c->nargs || (argc - 2 > c->nargs && strcmp(c->name, "create") &&
				    strcmp(c->name, "check")))
		return bad_usage(c->name);
	return c->run(argc - 2, argv + 2);
}
