/*
 * daxmap: the command-line tool for libdaxmap pools (doc/daxmap.1).
 *
 *   daxmap create PATH SIZE [--extent-size=SIZE] [--max-objects=N]
 *   daxmap info PATH
 *   daxmap ls PATH
 *   daxmap stat PATH NAME
 *   daxmap rm PATH NAME
 *   daxmap truncate PATH NAME SIZE
 *   daxmap punch PATH NAME OFF LEN
 *   daxmap check PATH [--force] [--progress] [--data] [--quiet]
 *   daxmap help [COMMAND] | --help | --version
 *
 * Options go anywhere after the command, as --opt VALUE or --opt=VALUE; "--"
 * ends them. SIZE, OFF and LEN take K, M, G or T suffixes (powers of 1024).
 * Normal output goes to stdout, every message to stderr. Exit status: 0
 * success, 1 the operation failed (check: the pool is damaged), 2 bad usage
 * or (check) the check could not run.
 */
#define _GNU_SOURCE
#include <libdaxmap.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "size.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* getopt_long values of the options without a short form */
enum { OPT_EXTENT_SIZE = 256, OPT_MAX_OBJECTS, OPT_FORCE, OPT_PROGRESS, OPT_DATA };

struct opt {
	const char *name; /* --name */
	int val;          /* a short option letter, or OPT_* */
	const char *arg;  /* the value's name in the help, NULL for a flag */
	const char *help;
};

static const struct opt opt_extent_size = {"extent-size", OPT_EXTENT_SIZE, "SIZE",
	"allocation unit: a power of two from 4K to 1G (default 2M)"};
static const struct opt opt_max_objects = {"max-objects", OPT_MAX_OBJECTS, "N",
	"object slots (default 4096); each takes pool space"};
static const struct opt opt_force = {"force", OPT_FORCE, NULL,
	"check a pool that is open elsewhere (results may be inconsistent)"};
static const struct opt opt_progress = {"progress", OPT_PROGRESS, NULL,
	"show progress on stderr (default when stderr is a terminal)"};
static const struct opt opt_data = {"data", OPT_DATA, NULL,
	"also verify that every free extent reads zero (reads all free space)"};
static const struct opt opt_quiet = {"quiet", 'q', NULL, "print only problems and the verdict"};
static const struct opt opt_help = {"help", 'h', NULL, "show this help"};

#define MAX_OPTS 6

struct cmd {
	const char *name;
	const char *args; /* the positional arguments */
	int nargs;
	const char *help;
	const struct opt *opts[MAX_OPTS + 1]; /* besides --help; NULL-terminated */
	int (*run)(char **argv);             /* argv[0] is PATH */
};

/* What the options said. */
static struct {
	int force, progress, data, quiet;
	uint64_t extent_size, max_objects;
} o;

/* ---- usage ---- */

static void synopsis(FILE *f, const char *lead, const struct cmd *c)
{
	fprintf(f, "%sdaxmap %s %s", lead, c->name, c->args);
	for (const struct opt *const *p = c->opts; *p; p++)
		fprintf(f, " [--%s%s%s]", (*p)->name, (*p)->arg ? "=" : "", (*p)->arg ? (*p)->arg : "");
	fputc('\n', f);
}

static void usage_cmd(FILE *f, const struct cmd *c)
{
	synopsis(f, "usage: ", c);
	fprintf(f, "%soptions (anywhere after the command; --opt VALUE or --opt=VALUE):\n", c->help);
	for (const struct opt *const *p = c->opts;; p++) {
		const struct opt *op = *p ? *p : &opt_help;
		char left[40];
		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", op->val < 256 ? "-" : "",
			 op->val < 256 ? op->val : ' ', op->val < 256 ? ", " : "   ", op->name,
			 op->arg ? "=" : "", op->arg ? op->arg : "");
		fprintf(f, "  %-22s %s\n", left, op->help);
		if (!*p)
			break;
	}
}

static int bad_usage(const struct cmd *c)
{
	synopsis(stderr, "usage: ", c);
	fprintf(stderr, "(daxmap help %s lists the options)\n", c->name);
	return EXIT_USAGE;
}

/* The message for a '?' or ':' from getopt_long: names the option. */
static void option_error(const char *who, int ch, char **argv, const struct option *lo)
{
	const char *arg = argv[optind - 1];
	const char *name = NULL;

	for (const struct option *l = lo; l->name; l++)
		if (l->val == optopt)
			name = l->name;
	if (ch == ':' && name && optopt >= 256)
		fprintf(stderr, "%s: option --%s needs a value\n", who, name);
	else if (ch == ':')
		fprintf(stderr, "%s: option %s needs a value\n", who, arg);
	else if (optopt && !strncmp(arg, "--", 2))
		fprintf(stderr, "%s: option --%s takes no value\n", who, name ? name : arg + 2);
	else if (optopt)
		fprintf(stderr, "%s: unknown option -%c\n", who, optopt);
	else
		fprintf(stderr, "%s: unknown option %s\n", who, arg);
}

static int arg_size(const char *cmd, const char *what, const char *s, uint64_t *out)
{
	if (size_parse(s, out) == 0)
		return 0;
	fprintf(stderr, "daxmap %s: bad %s \"%s\": a number with an optional K, M, G or T suffix "
			"that fits 64 bits\n", cmd, what, s);
	return -1;
}

/* Sets o from one option of c; -1 to go on, or the exit status. */
static int take_opt(const struct cmd *c, int ch)
{
	switch (ch) {
	case OPT_EXTENT_SIZE:
		return arg_size(c->name, "extent size", optarg, &o.extent_size) < 0 ? EXIT_USAGE : -1;
	case OPT_MAX_OBJECTS:
		if (arg_size(c->name, "object count", optarg, &o.max_objects) < 0)
			return EXIT_USAGE;
		if (o.max_objects == 0 || o.max_objects > UINT32_MAX) {
			fprintf(stderr, "daxmap %s: bad object count %s\n", c->name, optarg);
			return EXIT_USAGE;
		}
		return -1;
	case OPT_FORCE: o.force = 1; return -1;
	case OPT_PROGRESS: o.progress = 1; return -1;
	case OPT_DATA: o.data = 1; return -1;
	case 'q': o.quiet = 1; return -1;
	default: return EXIT_USAGE;
	}
}

/*
 * Parses c's options wherever they stand in argv (argv[0] is the command);
 * getopt_long moves the positional arguments to argv[optind..]. -1 to go
 * on, or the exit status.
 */
static int parse_opts(const struct cmd *c, int argc, char **argv)
{
	struct option lo[MAX_OPTS + 2];
	char shorts[2 * MAX_OPTS + 4] = ":h", who[32];
	size_t n = 0, ns = 2;
	int ch, ret;

	for (const struct opt *const *p = c->opts; *p; p++) {
		lo[n++] = (struct option){(*p)->name, (*p)->arg ? required_argument : no_argument,
					  NULL, (*p)->val};
		if ((*p)->val < 256) {
			shorts[ns++] = (char)(*p)->val;
			if ((*p)->arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = 0;
	lo[n++] = (struct option){opt_help.name, no_argument, NULL, opt_help.val};
	lo[n] = (struct option){NULL, 0, NULL, 0};
	snprintf(who, sizeof(who), "daxmap %s", c->name);
	optind = 0; /* glibc: start afresh, after main's own getopt_long */
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (ch == 'h') {
			usage_cmd(stdout, c);
			return 0;
		}
		if (ch == '?' || ch == ':') {
			option_error(who, ch, argv, lo);
			return bad_usage(c);
		}
		if ((ret = take_opt(c, ch)) >= 0)
			return ret;
	}
	if (argc - optind != c->nargs) {
		fprintf(stderr, "%s: %s arguments\n", who, argc - optind < c->nargs ? "missing" : "too many");
		return bad_usage(c);
	}
	return -1;
}

/* ---- commands ---- */

/* The library's message for the call that just failed. */
static int fail(const char *cmd)
{
	fprintf(stderr, "daxmap %s: %s\n", cmd, daxmap_errormsg());
	return EXIT_FAIL;
}

static int pool_open(const char *cmd, const char *path, daxmap_pool **pool)
{
	if (daxmap_pool_open(pool, path) < 0) {
		fail(cmd);
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
		fail(cmd);
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

static int cmd_create(char **argv)
{
	struct daxmap_pool_opts po;
	daxmap_pool *pool;
	uint64_t size;

	if (arg_size("create", "SIZE", argv[1], &size) < 0)
		return EXIT_USAGE;
	daxmap_pool_opts_init(&po);
	po.extent_size = o.extent_size;
	po.max_objects = (uint32_t)o.max_objects;
	if (daxmap_pool_create_opts(&pool, argv[0], size, 0600, &po) < 0)
		return fail("create");
	return daxmap_pool_close(pool) < 0 ? fail("create") : 0;
}

static int print_obj(const char *name, uint64_t size, void *arg)
{
	(void)arg;
	printf("%20" PRIu64 "  %s\n", size, name);
	return 0;
}

static int cmd_info(char **argv)
{
	struct daxmap_pool_stat st;
	daxmap_pool *pool;

	if (pool_open("info", argv[0], &pool) < 0)
		return EXIT_FAIL;
	if (daxmap_pool_stat(pool, &st) < 0) {
		fail("info");
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
	return daxmap_pool_close(pool) < 0 ? fail("info") : 0;
}

static int cmd_ls(char **argv)
{
	daxmap_pool *pool;
	int ret;

	if (pool_open("ls", argv[0], &pool) < 0)
		return EXIT_FAIL;
	ret = daxmap_pool_list(pool, print_obj, NULL);
	daxmap_pool_close(pool);
	return ret < 0 ? fail("ls") : 0;
}

static int cmd_stat(char **argv)
{
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t size;

	if (obj_open("stat", argv[0], argv[1], &pool, &obj) < 0)
		return EXIT_FAIL;
	if (daxmap_obj_size(obj, &size) < 0)
		return obj_done(pool, obj, fail("stat"));
	printf("name  %s\nsize  %" PRIu64 "\n", argv[1], size);
	return obj_done(pool, obj, 0);
}

static int cmd_rm(char **argv)
{
	daxmap_pool *pool;
	int ret;

	if (pool_open("rm", argv[0], &pool) < 0)
		return EXIT_FAIL;
	ret = daxmap_obj_unlink(pool, argv[1]) < 0 ? fail("rm") : 0;
	daxmap_pool_close(pool);
	return ret;
}

static int cmd_truncate(char **argv)
{
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t size;

	if (arg_size("truncate", "SIZE", argv[2], &size) < 0)
		return EXIT_USAGE;
	if (obj_open("truncate", argv[0], argv[1], &pool, &obj) < 0)
		return EXIT_FAIL;
	return obj_done(pool, obj, daxmap_obj_truncate(obj, size) < 0 ? fail("truncate") : 0);
}

static int cmd_punch(char **argv)
{
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t off, len;

	if (arg_size("punch", "OFF", argv[2], &off) < 0 || arg_size("punch", "LEN", argv[3], &len) < 0)
		return EXIT_USAGE;
	if (obj_open("punch", argv[0], argv[1], &pool, &obj) < 0)
		return EXIT_FAIL;
	return obj_done(pool, obj,
			daxmap_obj_punch_hole(obj, off, len) < 0 ? fail("punch") : 0);
}

static void check_report(const char *msg, void *arg)
{
	(void)arg;
	if (!strncmp(msg, "progress: ", 10)) {
		fprintf(stderr, "%s\n", msg);
		return;
	}
	if (o.quiet && strncmp(msg, "damaged: ", 9) != 0)
		return;
	printf("%s\n", msg);
}

static int cmd_check(char **argv)
{
	int flags = isatty(STDERR_FILENO) || o.progress ? DAXMAP_CHECK_PROGRESS : 0, ret;

	if (o.force)
		flags |= DAXMAP_CHECK_FORCE;
	if (o.data)
		flags |= DAXMAP_CHECK_DATA;
	ret = daxmap_pool_check(argv[0], flags, check_report, NULL);
	fflush(stdout);
	if (ret < 0) {
		/* the library's message says what to do about a pool in use */
		fprintf(stderr, "daxmap check: could not check %s: %s\n", argv[0], daxmap_errormsg());
		return EXIT_USAGE;
	}
	printf("%s: %s\n", argv[0], ret ? "damaged" : "clean");
	return ret ? EXIT_FAIL : 0;
}

static const struct cmd cmds[] = {
	{"create", "PATH SIZE", 2,
	 "Creates a pool file of SIZE bytes (at least 16M) at PATH, which must not exist.\n",
	 {&opt_extent_size, &opt_max_objects}, cmd_create},
	{"info", "PATH", 1, "Shows the pool's layout, free space and objects.\n", {NULL}, cmd_info},
	{"ls", "PATH", 1, "Lists the objects: size and name, one per line.\n", {NULL}, cmd_ls},
	{"stat", "PATH NAME", 2, "Shows one object's size.\n", {NULL}, cmd_stat},
	{"rm", "PATH NAME", 2, "Removes an object and frees its space.\n", {NULL}, cmd_rm},
	{"truncate", "PATH NAME SIZE", 3,
	 "Sets an object's size, as truncate(1): growing makes a hole, shrinking frees.\n", {NULL},
	 cmd_truncate},
	{"punch", "PATH NAME OFF LEN", 4,
	 "Deallocates [OFF, OFF+LEN) of an object; it reads zero, the size is kept.\n", {NULL},
	 cmd_punch},
	{"check", "PATH", 1,
	 "Checks the pool read-only (no userfaultfd needed), one line per finding.\n"
	 "Exit 0 clean (a pending log record is not damage: it is replayed on the next\n"
	 "open), 1 damaged, 2 the check could not run (missing file, pool in use).\n",
	 {&opt_force, &opt_progress, &opt_data, &opt_quiet}, cmd_check},
};
static const size_t ncmds = sizeof(cmds) / sizeof(cmds[0]);

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < ncmds; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: daxmap COMMAND ARGS... [OPTIONS]\n");
	for (size_t i = 0; i < ncmds; i++)
		synopsis(f, "       ", &cmds[i]);
	fprintf(f, "       daxmap help [COMMAND]   (a command's options)\n"
		   "       daxmap --version\n"
		   "SIZE, OFF and LEN take K, M, G or T suffixes (powers of 1024).\n"
		   "Exit status: 0 success, 1 failure (check: damaged), 2 bad usage (check: could "
		   "not run).\n");
}

static int cmd_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 || !(c = find_cmd(argv[0]))) {
		if (argc == 1)
			fprintf(stderr, "daxmap help: unknown command \"%s\"\n", argv[0]);
		else
			fprintf(stderr, "daxmap help: too many arguments\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	usage_cmd(stdout, c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option global[] = {{"help", no_argument, NULL, 'h'},
					       {"version", no_argument, NULL, 'V'},
					       {NULL, 0, NULL, 0}};
	const struct cmd *c;
	int ch, ret;

	opterr = 0; /* option_error names the option */
	/* "+": stop at the command; its options are its own */
	while ((ch = getopt_long(argc, argv, "+:hV", global, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'V') {
			printf("daxmap (libdaxmap %s)\n", daxmap_version());
			return 0;
		}
		option_error("daxmap", ch, argv, global);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help"))
		return cmd_help(argc - optind - 1, argv + optind + 1);
	if (!(c = find_cmd(argv[optind]))) {
		fprintf(stderr, "daxmap: unknown command \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if ((ret = parse_opts(c, argc, argv)) >= 0)
		return ret;
	return c->run(argv + optind);
}
