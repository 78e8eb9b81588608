/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap: the command-line tool for libdaxmap pools (doc/daxmap.1).
 *
 *   daxmap create PATH SIZE [--extent-size=SIZE] [--max-objects=N] [--max-size=SIZE]
 *   daxmap grow PATH SIZE
 *   daxmap info PATH [--json] [--bytes]
 *   daxmap ls PATH [--json] [--bytes]
 *   daxmap stat PATH NAME [--json] [--bytes]
 *   daxmap rm PATH NAME
 *   daxmap truncate PATH NAME SIZE
 *   daxmap punch PATH NAME OFF LEN
 *   daxmap check PATH [--force] [--progress] [--data] [--quiet] [--json]
 *   daxmap help [COMMAND] | --help | --version
 *
 * Options go anywhere after the command, as --opt VALUE or --opt=VALUE; "--"
 * ends them. SIZE, OFF and LEN take K, M, G or T suffixes (powers of 1024).
 * info, ls and stat read the file without opening the pool
 * (daxmap_pool_inspect), so they also read a pool open in another process.
 * Normal output goes to stdout, every message to stderr. Exit status: 0
 * success, 1 the operation failed (check: the pool is damaged), 2 bad usage
 * or (check) the check could not run.
 */
#define _GNU_SOURCE
#include <libdaxmap.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "size.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* getopt_long values of the options without a short form */
enum { OPT_EXTENT_SIZE = 256, OPT_MAX_OBJECTS, OPT_MAX_SIZE, OPT_JSON, OPT_BYTES, OPT_FORCE,
       OPT_PROGRESS, OPT_DATA };

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
static const struct opt opt_max_size = {"max-size", OPT_MAX_SIZE, "SIZE",
	"the size daxmap grow may grow it to (default: SIZE, fixed)"};
static const struct opt opt_json = {"json", OPT_JSON, NULL, "print JSON (sizes in bytes)"};
static const struct opt opt_bytes = {"bytes", OPT_BYTES, NULL,
	"print sizes in bytes (default: 64.0 MiB and the like)"};
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
	int json, bytes, force, progress, data, quiet;
	uint64_t extent_size, max_objects, max_size;
} o;

/* ---- output ---- */

/* A size as the options want it; four calls may share one printf. */
static const char *sz(uint64_t v)
{
	static char bufs[4][32];
	static unsigned next;
	char *b = bufs[next++ % 4];

	if (o.bytes)
		snprintf(b, sizeof(bufs[0]), "%" PRIu64, v);
	else
		size_human(v, b, sizeof(bufs[0]));
	return b;
}

/* Bytes of a well-formed UTF-8 sequence at s, or 0 (JSON wants valid text). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
		   c >= 0xf0 && c <= 0xf4 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong forms, surrogates or code points past U+10FFFF */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* s as a JSON string; a byte that is not part of valid UTF-8 becomes \u00XX. */
static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	while (*p) {
		size_t n = utf8_len(p);
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || n == 0)
			printf("\\u%04x", *p);
		else
			fwrite(p, 1, n, stdout);
		p += n ? n : 1;
	}
	putchar('"');
}

static void json_field(const char *name, uint64_t v, const char *sep)
{
	printf("\"%s\": %" PRIu64 "%s", name, v, sep);
}

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
	case OPT_MAX_SIZE:
		return arg_size(c->name, "maximum size", optarg, &o.max_size) < 0 ? EXIT_USAGE : -1;
	case OPT_JSON: o.json = 1; return -1;
	case OPT_BYTES: o.bytes = 1; return -1;
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

/* Reads PATH read-only (daxmap_pool_inspect); says so when the pool is live. */
static int inspect(const char *cmd, const char *path, struct daxmap_pool_info *info,
		   int (*cb)(const char *name, uint64_t size, void *arg), void *arg)
{
	int ret = daxmap_pool_inspect(path, 0, info, cb, arg);

	if (ret < 0) {
		fail(cmd);
		return -1;
	}
	if (info->in_use)
		fprintf(stderr, "daxmap %s: %s is open in another process: read without its lock, "
				"the figures may be moving\n", cmd, path);
	return ret;
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
	po.max_size = o.max_size;
	if (daxmap_pool_create_opts(&pool, argv[0], size, 0600, &po) < 0)
		return fail("create");
	return daxmap_pool_close(pool) < 0 ? fail("create") : 0;
}

static int cmd_grow(char **argv)
{
	daxmap_pool *pool;
	uint64_t size;
	int ret;

	if (arg_size("grow", "SIZE", argv[1], &size) < 0)
		return EXIT_USAGE;
	if ((ret = daxmap_pool_open(&pool, argv[0])) < 0) {
		fail("grow");
		if (ret == -EBUSY)
			fprintf(stderr, "daxmap grow: close the pool there first, or grow it from "
					"the process that has it open (daxmap_pool_grow)\n");
		return EXIT_FAIL;
	}
	ret = daxmap_pool_grow(pool, size) < 0 ? fail("grow") : 0;
	if (daxmap_pool_close(pool) < 0 && ret == 0)
		ret = fail("grow");
	return ret;
}

/* The objects read by one inspection, for info to print after its figures. */
struct objlist {
	struct objent {
		char *name;
		uint64_t size;
	} *v;
	size_t n, cap;
};

/* Returns 1 (which stops the walk) when out of memory. */
static int collect_obj(const char *name, uint64_t size, void *arg)
{
	struct objlist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct objent *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].name = strdup(name)))
		return 1;
	l->v[l->n++].size = size;
	return 0;
}

/* Objects printed so far; ls's JSON opens with the first (path set). */
struct listing {
	const char *path;
	size_t count;
};

static void ls_json_open(struct listing *ls)
{
	printf("{\"path\": ");
	json_str(ls->path);
	printf(", \"objects\": [");
	ls->path = NULL;
}

/* An object: a line of ls and info, or a JSON array element. */
static int print_obj(const char *name, uint64_t size, void *arg)
{
	struct listing *ls = arg;

	if (!o.json) {
		printf("%12s  %s\n", sz(size), name);
		return 0;
	}
	if (ls->path)
		ls_json_open(ls);
	printf("%s{\"name\": ", ls->count++ ? ", " : "");
	json_str(name);
	printf(", \"size\": %" PRIu64 "}", size);
	return 0;
}

static void uuid_str(const uint8_t *u, char out[37])
{
	char *p = out;

	for (int i = 0; i < 16; i++)
		p += sprintf(p, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", u[i]);
}

/* The regions of struct daxmap_pool_info, in file order: name, JSON key. */
static const struct {
	const char *name, *key;
	size_t off;
} regions[] = {
	{"header", "header", offsetof(struct daxmap_pool_info, header)},
	{"log", "log", offsetof(struct daxmap_pool_info, log)},
	{"object table", "object_table", offsetof(struct daxmap_pool_info, object_table)},
	{"extent table", "extent_table", offsetof(struct daxmap_pool_info, extent_table)},
	{"data", "data", offsetof(struct daxmap_pool_info, data)},
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

static const struct daxmap_region *region(const struct daxmap_pool_info *in, size_t i)
{
	return (const struct daxmap_region *)((const char *)in + regions[i].off);
}

static void info_text(const char *path, const struct daxmap_pool_info *in, uint64_t max,
		      const char *uuid, const char *created)
{
	uint64_t end = in->data.off + in->data.len;

	printf("pool          %s\n", path);
	printf("uuid          %s\n", uuid);
	printf("version       %u\n", in->version);
	printf("created       %s (%" PRIu64 ")\n", created, in->create_time);
	printf("size          %s\n", sz(in->size));
	if (!max)
		printf("max size      ? (cannot read it from the header)\n");
	else
		printf("max size      %s (%s)\n", sz(max),
		       max > in->size ? "can grow: daxmap grow"
		       : in->growable ? "grown to its maximum: cannot grow"
				      : "fixed: cannot grow");
	printf("extent size   %s\n", sz(in->extent_size));
	if (in->block_size)
		printf("block size    %s\n", sz(in->block_size));
	printf("data          %s (%" PRIu64 " extents)\n", sz(in->data.len), in->extents);
	printf("used          %s (%" PRIu64 " extents)\n", sz(in->used), in->used / in->extent_size);
	if (in->block_size)
		printf("blocks        %s used of %s (%" PRIu64 " of %" PRIu64 " blocks, in %" PRIu64
		       " split extents)\n", sz(in->blocks_used), sz(in->blocks_split),
		       in->blocks_used / in->block_size, in->blocks_split / in->block_size,
		       in->blocks_split / in->extent_size);
	printf("free          %s (%s not yet zeroed)\n", sz(in->free), sz(in->free_unzeroed));
	printf("objects       %" PRIu64 " of %" PRIu64, in->objects, in->max_objects);
	if (in->objects_dying)
		printf(", %" PRIu64 " being unlinked", in->objects_dying);
	if (in->bad_slots || in->bad_extents)
		printf(" (%" PRIu64 " slots and %" PRIu64 " extent entries unreadable: daxmap check "
		       "says more)", in->bad_slots, in->bad_extents);
	printf("\n%-14s %14s  %s\n", "layout", "offset", "size");
	for (size_t i = 0; i < NREGIONS; i++)
		printf("  %-12s %14" PRIu64 "  %s\n", regions[i].name, region(in, i)->off,
		       sz(region(in, i)->len));
	if (end < in->size)
		printf("  %-12s %14" PRIu64 "  %s\n", "unused", end, sz(in->size - end));
}

/* All but the closing of "object_list". */
static void info_json(const char *path, const struct daxmap_pool_info *in, uint64_t max,
		      const char *uuid, const char *created)
{
	printf("{\"path\": ");
	json_str(path);
	printf(", \"in_use\": %s, \"uuid\": \"%s\", \"version\": %u, \"created\": \"%s\", ",
	       in->in_use ? "true" : "false", uuid, in->version, created);
	json_field("create_time", in->create_time, ", ");
	json_field("size", in->size, ", ");
	json_field("max_size", max, ", ");
	printf("\"can_grow\": %s, ", max > in->size ? "true" : "false");
	json_field("extent_size", in->extent_size, ", ");
	json_field("block_size", in->block_size, ", ");
	json_field("extents", in->extents, ", ");
	json_field("used", in->used, ", ");
	json_field("free", in->free, ", ");
	json_field("free_unzeroed", in->free_unzeroed, ", ");
	json_field("blocks_split", in->blocks_split, ", ");
	json_field("blocks_used", in->blocks_used, ", ");
	json_field("growable", in->growable, ", ");
	json_field("objects", in->objects, ", ");
	json_field("max_objects", in->max_objects, ", ");
	json_field("objects_dying", in->objects_dying, ", ");
	json_field("bad_slots", in->bad_slots, ", ");
	json_field("bad_extents", in->bad_extents, ", ");
	printf("\"layout\": {");
	for (size_t i = 0; i < NREGIONS; i++)
		printf("%s\"%s\": {\"offset\": %" PRIu64 ", \"size\": %" PRIu64 "}", i ? ", " : "",
		       regions[i].key, region(in, i)->off, region(in, i)->len);
	printf("}, \"object_list\": [");
}

static int cmd_info(char **argv)
{
	struct daxmap_pool_info info;
	struct objlist l = {0};
	struct listing ls = {0};
	char uuid[37], created[40];
	uint64_t max;
	struct tm tm;
	time_t t;
	int ret = inspect("info", argv[0], &info, collect_obj, &l);

	if (ret > 0)
		fprintf(stderr, "daxmap info: out of memory listing the objects of %s\n", argv[0]);
	if (ret != 0)
		goto out;
	uuid_str(info.uuid, uuid);
	t = (time_t)info.create_time;
	if (!gmtime_r(&t, &tm) || !strftime(created, sizeof(created),
					    o.json ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(created, sizeof(created), "?");
	max = info.max_size;
	if (o.json)
		info_json(argv[0], &info, max, uuid, created);
	else
		info_text(argv[0], &info, max, uuid, created);
	if (!o.json && l.n)
		printf("%12s  %s\n", "size", "name");
	for (size_t i = 0; i < l.n; i++)
		print_obj(l.v[i].name, l.v[i].size, &ls);
	if (o.json)
		printf("]}\n");
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	return ret ? EXIT_FAIL : 0;
}

static int cmd_ls(char **argv)
{
	struct daxmap_pool_info info;
	struct listing ls = {.path = argv[0]};

	/* a read that fails half way leaves its JSON unterminated: the exit
	 * status and the message say so */
	if (inspect("ls", argv[0], &info, print_obj, &ls) < 0)
		return EXIT_FAIL;
	if (o.json) {
		if (ls.path)
			ls_json_open(&ls);
		printf("], \"in_use\": %s}\n", info.in_use ? "true" : "false");
	}
	return 0;
}

struct stat_find {
	const char *name;
	uint64_t size;
};

static int stat_match(const char *name, uint64_t size, void *arg)
{
	struct stat_find *f = arg;

	if (strcmp(name, f->name) != 0)
		return 0;
	f->size = size;
	return 1; /* found: stop the walk */
}

static int cmd_stat(char **argv)
{
	struct daxmap_pool_info info;
	struct stat_find f = {.name = argv[1]};
	int ret = inspect("stat", argv[0], &info, stat_match, &f);

	if (ret < 0)
		return EXIT_FAIL;
	if (ret == 0) {
		fprintf(stderr, "daxmap stat: no object \"%s\" in %s\n", argv[1], argv[0]);
		return EXIT_FAIL;
	}
	if (o.json) {
		printf("{\"path\": ");
		json_str(argv[0]);
		printf(", \"name\": ");
		json_str(argv[1]);
		printf(", \"size\": %" PRIu64 ", \"in_use\": %s}\n", f.size,
		       info.in_use ? "true" : "false");
	} else {
		printf("name  %s\nsize  %s\n", argv[1], sz(f.size));
	}
	return 0;
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

struct check_out {
	int tty;         /* stderr is a terminal: progress rewrites one line */
	int line_open;   /* a progress line without its newline is on the terminal */
	char what[64];   /* the table the last progress line was about */
	unsigned pct;    /* and its percentage */
	size_t findings; /* JSON: elements written */
	char *summary;   /* JSON: the summary line, printed last */
};

static void progress_end(struct check_out *co)
{
	if (co->line_open)
		fputc('\n', stderr);
	co->line_open = 0;
}

/*
 * The library reports "progress: TABLE: X of Y bytes (P%)" at most once per
 * whole percent of a table; shown are only the changes of P, on a terminal in one line that
 * is rewritten, elsewhere (--progress) one line each.
 */
static void check_progress(struct check_out *co, const char *msg)
{
	const char *what = msg + strlen("progress: "), *colon = strstr(what, ": ");
	const char *paren = strrchr(msg, '(');
	unsigned pct;
	size_t len;
	int same;

	if (!colon || !paren || sscanf(paren, "(%u%%)", &pct) != 1)
		return;
	len = (size_t)(colon - what);
	same = len == strlen(co->what) && !strncmp(co->what, what, len);
	if (same && pct == co->pct)
		return;
	if (!same)
		progress_end(co);
	snprintf(co->what, sizeof(co->what), "%.*s", (int)len, what);
	co->pct = pct;
	if (!co->tty) {
		fprintf(stderr, "progress: %s %u%%\n", co->what, pct);
		return;
	}
	fprintf(stderr, "\rdaxmap check: %s %3u%%", co->what, pct);
	co->line_open = 1;
	if (pct >= 100)
		progress_end(co);
}

static void check_report(const char *msg, void *arg)
{
	struct check_out *co = arg;
	const char *colon = strchr(msg, ':');

	if (!strncmp(msg, "progress: ", 10)) {
		check_progress(co, msg);
		return;
	}
	progress_end(co);
	if (o.json && !strncmp(msg, "summary: ", 9)) {
		free(co->summary);
		co->summary = strdup(msg + 9);
		return;
	}
	if (o.quiet && strncmp(msg, "damaged: ", 9) != 0)
		return;
	if (!o.json) {
		printf("%s\n", msg);
		return;
	}
	/* the JSON opens with the first finding: a check that could not run
	 * at all prints nothing on stdout */
	printf("%s{\"kind\": \"%.*s\", \"message\": ", co->findings++ ? ", " : "{\"findings\": [",
	       colon ? (int)(colon - msg) : 0, msg);
	json_str(colon ? colon + 2 : msg);
	putchar('}');
}

static void check_json_end(struct check_out *co, const char *path, int ret)
{
	if (ret < 0 && !co->findings)
		return;
	printf("%s]", co->findings ? "" : "{\"findings\": [");
	if (co->summary) {
		printf(", \"summary\": ");
		json_str(co->summary);
	}
	if (ret < 0) {
		printf(", \"error\": ");
		json_str(daxmap_errormsg());
	}
	printf(", \"path\": ");
	json_str(path);
	printf(", \"result\": \"%s\"}\n", ret < 0 ? "error" : ret ? "damaged" : "clean");
}

static int cmd_check(char **argv)
{
	struct check_out co = {.tty = isatty(STDERR_FILENO)};
	int flags = co.tty || o.progress ? DAXMAP_CHECK_PROGRESS : 0, ret;

	if (o.force)
		flags |= DAXMAP_CHECK_FORCE;
	if (o.data)
		flags |= DAXMAP_CHECK_DATA;
	ret = daxmap_pool_check(argv[0], flags, check_report, &co);
	progress_end(&co);
	if (o.json)
		check_json_end(&co, argv[0], ret);
	else if (ret >= 0)
		printf("%s: %s\n", argv[0], ret ? "damaged" : "clean");
	free(co.summary);
	fflush(stdout);
	if (ret < 0) {
		/* the library's message says what to do about a pool in use */
		fprintf(stderr, "daxmap check: could not check %s: %s\n", argv[0], daxmap_errormsg());
		return EXIT_USAGE;
	}
	return ret ? EXIT_FAIL : 0;
}

static const struct cmd cmds[] = {
	{"create", "PATH SIZE", 2,
	 "Creates a pool file of SIZE bytes (at least 16M) at PATH, which must not exist.\n"
	 "With --max-size, daxmap grow can grow it up to that size later; its metadata is\n"
	 "laid out for the maximum (8 bytes of extent table per extent of it, and with\n"
	 "extents of 128K or more 8 bytes of block table per 64K of it).\n",
	 {&opt_extent_size, &opt_max_objects, &opt_max_size}, cmd_create},
	{"grow", "PATH SIZE", 2,
	 "Grows the pool file to SIZE bytes, at most its maximum (create --max-size); the\n"
	 "new space is free. Opens the pool: it fails while the pool is open elsewhere.\n",
	 {NULL}, cmd_grow},
	{"info", "PATH", 1,
	 "Shows the pool's header (uuid, version, creation time), layout, free space and\n"
	 "objects. Reads the file only: a pool open elsewhere is read as it is.\n",
	 {&opt_json, &opt_bytes}, cmd_info},
	{"ls", "PATH", 1, "Lists the objects: size and name, one per line. Reads the file only.\n",
	 {&opt_json, &opt_bytes}, cmd_ls},
	{"stat", "PATH NAME", 2, "Shows one object's size. Reads the file only.\n",
	 {&opt_json, &opt_bytes}, cmd_stat},
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
	 {&opt_force, &opt_progress, &opt_data, &opt_quiet, &opt_json}, cmd_check},
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
