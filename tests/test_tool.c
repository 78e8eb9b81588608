/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daxmap tool and daxkv, through the real binaries (fork + exec of
 * DAXMAP_TOOL and DAXKV_TOOL, the paths CMake passes in; daxkv's tests only
 * when the examples are built): every subcommand, options in any position,
 * help, version, argument errors and their exit codes, human and exact
 * sizes, JSON, info of the header and layout, reading a pool open in this
 * process, progress with and without a terminal, and the exit codes of
 * check on clean, damaged, pending-log, foreign, missing and in-use pools;
 * create --max-size and grow, with info and check of the grown pool; info
 * and check of a pool with blocks (format version 3) and small objects.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DAXMAP_TOOL
#error "DAXMAP_TOOL must name the daxmap binary"
#endif

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define POOL_SIZE (32 * MiB)
#define EXTENT (64 * KiB)
#define MAXOBJ 16u
#define LOG_OFF 4096u
#define OBJTAB_OFF 65536u
#define EXTTAB_OFF (OBJTAB_OFF + 4096u) /* 16 slots of 256 bytes, rounded to 4 KiB */
#define HDR_UUID_OFF 72u                /* struct pool_hdr (src/layout.h): uuid[16] */
#define HDR_CTIME_OFF 88u               /* then create_time */
#define HDR_EXTTAB_OFF 48u              /* exttab_off */
#define HDR_BLKTAB_OFF 96u              /* version 3: blktab_off */

/* the last run: stdout, stderr, and both in the order they came */
static char sout[1 << 16], serr[1 << 16], out[1 << 17];
static size_t nsout, nserr, nout;

#define RUN_TTY 1 /* stderr is a terminal (a pseudo-terminal) */

static void take(int fd, char *buf, size_t *len, size_t cap, int *open_fd)
{
	ssize_t r = read(fd, buf + *len, cap - 1 - *len);

	if (r <= 0) { /* EOF, or EIO from a pty whose other end closed */
		close(fd);
		*open_fd = -1;
		return;
	}
	if (nout + (size_t)r < sizeof(out)) {
		memcpy(out + nout, buf + *len, (size_t)r);
		nout += (size_t)r;
	}
	*len += (size_t)r;
}

/* Runs bin with args (NULL-terminated); fills sout, serr and out. Returns
 * the exit status, or -1 for a signal. */
static int run(int flags, const char *bin, const char *const *args)
{
	const char *argv[16];
	int n = 0, po[2], pe[2], status;
	pid_t pid;

	argv[n++] = bin;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	CU_ASSERT_FATAL(pipe(po) == 0);
	if (flags & RUN_TTY) {
		pe[0] = posix_openpt(O_RDWR | O_NOCTTY);
		CU_ASSERT_FATAL(pe[0] >= 0 && grantpt(pe[0]) == 0 && unlockpt(pe[0]) == 0);
		pe[1] = open(ptsname(pe[0]), O_RDWR | O_NOCTTY);
		CU_ASSERT_FATAL(pe[1] >= 0);
	} else {
		CU_ASSERT_FATAL(pipe(pe) == 0);
	}
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	nsout = nserr = nout = 0;
	while (po[0] >= 0 || pe[0] >= 0) {
		struct pollfd p[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
		CU_ASSERT_FATAL(poll(p, 2, -1) > 0 || errno == EINTR);
		if (p[0].revents)
			take(po[0], sout, &nsout, sizeof(sout), &po[0]);
		if (p[1].revents)
			take(pe[0], serr, &nserr, sizeof(serr), &pe[0]);
	}
	sout[nsout] = serr[nserr] = out[nout] = 0;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status)) {
		fprintf(stderr, "%s %s: killed by signal %d\n", bin, args[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

#define tool(...) run(0, DAXMAP_TOOL, (const char *const[]){__VA_ARGS__})
#define tool_tty(...) run(RUN_TTY, DAXMAP_TOOL, (const char *const[]){__VA_ARGS__})
#ifdef DAXKV_TOOL
#define daxkv(...) run(0, DAXKV_TOOL, (const char *const[]){__VA_ARGS__})
#endif

#define HAS_IN(buf, s)                                                                             \
	do {                                                                                       \
		if (!strstr((buf), (s)))                                                           \
			fprintf(stderr, "%s:%d: %s lacks \"%s\":\n%s\n", __FILE__, __LINE__, #buf, \
				(s), (buf));                                                       \
		CU_ASSERT(strstr((buf), (s)) != NULL);                                             \
	} while (0)
#define HAS(s) HAS_IN(out, s)
#define LACKS(buf, s)                                                                              \
	do {                                                                                       \
		if (strstr((buf), (s)))                                                            \
			fprintf(stderr, "%s:%d: %s has \"%s\":\n%s\n", __FILE__, __LINE__, #buf,   \
				(s), (buf));                                                       \
		CU_ASSERT(strstr((buf), (s)) == NULL);                                             \
	} while (0)

static unsigned count(const char *buf, const char *s)
{
	unsigned n = 0;

	for (const char *p = buf; (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

/* python3 parses sout as JSON, and the Python expression `expr` (over d,
 * the parsed value; no single quotes) holds. */
static int json_holds(const char *expr)
{
	char cmd[2048];
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if (%s) else 3)'",
		 expr);
	p = popen(cmd, "w");
	CU_ASSERT_FATAL(p != NULL);
	fwrite(sout, 1, nsout, p);
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "JSON check failed (status %d): %s\non:\n%s\n", status, expr, sout);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pwrite(fd, buf, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static void peek(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, buf, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

/* A 32 MiB pool of 64 KiB extents and 16 slots with object "a" (slot 0):
 * 200 KiB, its first 128 KiB written with 0x5a. */
static const char *make_pool(const char *name)
{
	const char *path = tu_path(name);
	daxmap_pool *pool;
	daxmap_obj *obj;
	unsigned char *p;

	unlink(path);
	int rc = tool("create", path, "32M", "--extent-size", "64K", "--max-objects", "16", NULL);
	if (rc != 0)
		fprintf(stderr, "daxmap create %s: exit %d: %s\n", path, rc, out);
	CU_ASSERT_FATAL(rc == 0);
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "a", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 200 * KiB));
	TU_OK(daxmap_map((void **)&p, obj, 0, 256 * KiB, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	memset(p, 0x5a, 128 * KiB);
	TU_OK(daxmap_persist(p, 128 * KiB));
	TU_OK(daxmap_unmap(p, 256 * KiB));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	return path;
}

static void test_help(void)
{
	static const char *const cmds[] = {"create", "grow", "info", "ls", "stat", "rm",
					   "truncate", "punch", "check"};

	CU_ASSERT(tool("--help", NULL) == 0);
	HAS("daxmap punch PATH NAME OFF LEN");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[64];
		CU_ASSERT(tool(cmds[i], "--help", NULL) == 0);
		snprintf(want, sizeof(want), "usage: daxmap %s", cmds[i]);
		HAS(want);
	}
	CU_ASSERT(tool(NULL) == 2);
	CU_ASSERT(tool("frobnicate", "x", NULL) == 2);
	HAS("unknown command");
	CU_ASSERT(tool("stat", "x", NULL) == 2); /* missing NAME */
	CU_ASSERT(tool("ls", "x", "y", NULL) == 2);
}

static void test_create(void)
{
	const char *path = tu_path("create");
	const char *bad[] = {"", "12Q", "-16M", "+16M", " 16M", "16MM", "0x100000",
			     "18446744073709551616", "16777216T", "17179869184G"};

	unlink(path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT(tool("create", path, bad[i], NULL) == 2);
		CU_ASSERT(access(path, F_OK) != 0);
	}
	CU_ASSERT(tool("create", path, "1M", NULL) == 1); /* below the minimum */
	HAS("pool size");
	CU_ASSERT(tool("create", path, "16M", "--extent-size", "3K", NULL) == 1);
	CU_ASSERT(tool("create", path, "16M", "--max-objects", "0", NULL) == 2);
	CU_ASSERT(tool("create", path, "16M", "--bogus", NULL) == 2);
	CU_ASSERT(access(path, F_OK) != 0);
	CU_ASSERT(tool("create", path, "16M", NULL) == 0);
	CU_ASSERT(tool("create", path, "16M", NULL) == 1); /* exists */
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0);
	HAS("size          16777216");
	HAS("objects       0 of 4096");
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS(": clean");
}

static void test_objects(void)
{
	const char *path = make_pool("objects");
	daxmap_pool *pool;
	daxmap_obj *obj;
	unsigned char *p;
	uint64_t size;

	CU_ASSERT(tool("ls", path, "--bytes", NULL) == 0);
	HAS("204800  a");
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0);
	HAS("extent size   65536");
	HAS("objects       1 of 16");
	HAS("used          131072");
	CU_ASSERT(tool("stat", path, "a", "--bytes", NULL) == 0);
	HAS("size  204800");
	CU_ASSERT(tool("stat", path, "nope", NULL) == 1);
	HAS("no object \"nope\"");

	/* punch the first extent: size kept, the range reads zero, the rest not */
	CU_ASSERT(tool("punch", path, "a", "0", "64K", NULL) == 0);
	CU_ASSERT(tool("punch", path, "a", "0", "0", NULL) == 1); /* len 0 */
	CU_ASSERT(tool("punch", path, "a", "18446744073709551615", "2", NULL) == 1); /* wraps */
	CU_ASSERT(tool("punch", path, "a", "0", "1Z", NULL) == 2);
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0);
	HAS("used          65536");
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "a", 0));
	TU_OK(daxmap_obj_size(obj, &size));
	CU_ASSERT(size == 200 * KiB);
	TU_OK(daxmap_map((void **)&p, obj, 0, 256 * KiB, DAXMAP_PROT_READ));
	CU_ASSERT(p[0] == 0 && p[64 * KiB - 1] == 0);
	CU_ASSERT(p[64 * KiB] == 0x5a && p[128 * KiB - 1] == 0x5a);
	TU_OK(daxmap_unmap(p, 256 * KiB));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	CU_ASSERT(tool("truncate", path, "a", "1G", NULL) == 0);
	CU_ASSERT(tool("stat", path, "a", "--bytes", NULL) == 0);
	HAS("size  1073741824");
	CU_ASSERT(tool("truncate", path, "a", "100K", NULL) == 0);
	CU_ASSERT(tool("stat", "--bytes", path, "a", NULL) == 0);
	HAS("size  102400");
	CU_ASSERT(tool("truncate", path, "a", "128T", NULL) == 1); /* beyond the maximum */
	HAS("maximum object size");
	CU_ASSERT(tool("truncate", path, "a", "99999999999999999999", NULL) == 2);
	CU_ASSERT(tool("check", path, NULL) == 0);

	CU_ASSERT(tool("rm", path, "a", NULL) == 0);
	CU_ASSERT(tool("rm", path, "a", NULL) == 1);
	CU_ASSERT(tool("ls", path, NULL) == 0);
	CU_ASSERT(strstr(out, "  a") == NULL);
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0);
	HAS("used          0");
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("0 problems");
	CU_ASSERT(tool("ls", tu_path("missing"), NULL) == 1);
}

static void test_check_clean(void)
{
	const char *path = make_pool("clean");

	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS(": clean");
	HAS("1 objects (0 being unlinked), 2 of 480 extents allocated");
	CU_ASSERT(tool("check", path, "--data", "--progress", NULL) == 0);
	HAS("progress: extent table");
	HAS(": clean");
	CU_ASSERT(tool("check", path, "--bogus", NULL) == 2);
}

static void test_check_header(void)
{
	const char *path = make_pool("hdr");
	unsigned char b;

	peek(path, 200, &b, 1);
	b ^= 0x10;
	poke(path, 200, &b, 1);
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("damaged: ");
	HAS("checksum");
	HAS(": damaged");
	/* the library refuses it too */
	daxmap_pool *pool;
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EUCLEAN);
}

static void test_check_slot(void)
{
	const char *path = make_pool("slot");
	unsigned char b = 'z';

	poke(path, OBJTAB_OFF + 40, &b, 1); /* first name byte of slot 0 */
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("object slot 0 at offset 65536: checksum mismatch");
	/* its extents are not reported again as orphans */
	CU_ASSERT(strstr(out, "not a live object") == NULL);
}

static void test_check_dup_name(void)
{
	const char *path = make_pool("dup");
	unsigned char slot[256];
	daxmap_pool *pool;

	/* slot 0 copied to slot 3: two live objects named "a" */
	peek(path, OBJTAB_OFF, slot, sizeof(slot));
	poke(path, OBJTAB_OFF + 3 * 256, slot, sizeof(slot));
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("object slot 3 at offset 66304: name \"a\" is also the name of slot 0");
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EUCLEAN);
	CU_ASSERT(strstr(daxmap_errormsg(), "also the name of slot 0") != NULL);
}

static void test_check_extent(void)
{
	const char *path = make_pool("ext");
	uint64_t e, ents[480];
	char want[128];

	/* a free entry with stray bits, at entry 100 */
	e = 0x1234;
	poke(path, EXTTAB_OFF + 100 * 8, &e, 8);
	CU_ASSERT(tool("check", path, NULL) == 1);
	snprintf(want, sizeof(want), "extent table entry 100 at offset %u: free entry with stray bits",
		 EXTTAB_OFF + 100 * 8);
	HAS(want);

	/* an entry owned by a free slot */
	e = (UINT64_C(2) << 62) | (UINT64_C(5) << 40) | 0;
	poke(path, EXTTAB_OFF + 100 * 8, &e, 8);
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("owner slot 5 is not a live object");

	/* two entries for (slot 0, index 0) */
	peek(path, EXTTAB_OFF, ents, sizeof(ents));
	for (unsigned i = 0; i < 480; i++)
		if (ents[i] == (UINT64_C(2) << 62)) {
			e = ents[i];
			break;
		}
	poke(path, EXTTAB_OFF + 100 * 8, &e, 8);
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("is held by more than one entry");
	daxmap_pool *pool;
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EUCLEAN);

	/* an extent past EOF is a notice: the next open frees it */
	e = (UINT64_C(2) << 62) | 9;
	poke(path, EXTTAB_OFF + 100 * 8, &e, 8);
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("lies past its EOF");
	HAS(": clean");
}

static void test_check_truncated(void)
{
	const char *path = make_pool("trunc");

	CU_ASSERT(truncate(path, 8 * MiB) == 0);
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("truncated");
	CU_ASSERT(truncate(path, 100) == 0);
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("smaller than a pool header");
	CU_ASSERT(truncate(path, 0) == 0);
	CU_ASSERT(tool("check", path, NULL) == 1);
}

static void test_check_log(void)
{
	const char *path = make_pool("log");
	uint64_t rec[8] = {1 /* shrink */, 0 /* slot */, 4096 /* new size */, 0, 7 /* seq */, 0, 0, 0};
	daxmap_pool *pool;
	daxmap_obj *obj;
	uint64_t size;

	rec[7] = tu_fletcher64(rec, 56);
	poke(path, LOG_OFF + 3 * 64, rec, sizeof(rec));
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("log record 3 at offset 4288: pending shrink of object slot 0");
	HAS("will be replayed on the next open");
	HAS("1 log records to replay");
	HAS(": clean");
	/* and it is: the shrink happens at open */
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "a", 0));
	TU_OK(daxmap_obj_size(obj, &size));
	CU_ASSERT(size == 4096);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("0 log records to replay");

	/* a committed record for a free slot cannot be replayed: damaged */
	rec[1] = 4;
	rec[7] = tu_fletcher64(rec, 56);
	poke(path, LOG_OFF, rec, sizeof(rec));
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("not a live object: the next open cannot replay it");
	/* a torn record (bad checksum) is only a notice */
	rec[7]++;
	poke(path, LOG_OFF, rec, sizeof(rec));
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("torn");
}

static void test_check_foreign(void)
{
	const char *path = tu_path("foreign");
	char junk[8192];
	int fd;

	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	close(fd);
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("not a daxmap pool");
	CU_ASSERT(tool("check", tu_path("missing"), NULL) == 2);
	HAS("could not check");
	CU_ASSERT(tool("check", tu_dir(), NULL) == 2); /* a directory */
}

static void test_check_in_use(void)
{
	const char *path = make_pool("busy");
	daxmap_pool *pool;
	int fd;

	TU_OK(daxmap_pool_open(&pool, path));
	CU_ASSERT(tool("check", path, NULL) == 2);
	HAS("open elsewhere");
	CU_ASSERT(tool("check", path, "--force", NULL) == 0);
	HAS("in use");
	TU_OK(daxmap_pool_close(pool));
	/* the checker changes nothing: same bytes before and after */
	{
		static char before[EXTTAB_OFF + 4096], after[EXTTAB_OFF + 4096];
		peek(path, 0, before, sizeof(before));
		CU_ASSERT(tool("check", path, "--data", NULL) == 0);
		peek(path, 0, after, sizeof(after));
		CU_ASSERT(memcmp(before, after, sizeof(before)) == 0);
	}
	/* a read-only file can be checked */
	CU_ASSERT(chmod(path, 0400) == 0);
	fd = open(path, O_RDONLY);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT(tool("check", path, NULL) == 0);
}

static void test_check_stale_free(void)
{
	const char *path = make_pool("stale");
	unsigned char b = 1;
	uint64_t ents[480];
	unsigned i;

	/* a byte in a free, zeroed extent: only --data looks */
	peek(path, EXTTAB_OFF, ents, sizeof(ents));
	for (i = 0; i < 480 && ents[i] != 0; i++)
		;
	CU_ASSERT_FATAL(i < 480);
	poke(path, 2 * MiB + i * EXTENT + 777, &b, 1);
	CU_ASSERT(tool("check", path, NULL) == 0);
	CU_ASSERT(tool("check", path, "--data", NULL) == 1);
	HAS("free and marked zeroed but holds non-zero bytes");
}

static void test_options_anywhere_and_with_equals(void)
{
	const char *path = tu_path("opts");
	daxmap_pool *pool;
	daxmap_obj *obj;

	/* the two forms issue 15 found printing usage */
	unlink(path);
	CU_ASSERT(tool("create", "--extent-size", "64K", path, "64M", NULL) == 0);
	CU_ASSERT(tool("check", "--force", path, NULL) == 0);
	HAS(": clean");
	CU_ASSERT(tool("info", "--bytes", path, NULL) == 0);
	HAS("extent size   65536");
	HAS("objects       0 of 4096");
	unlink(path);
	CU_ASSERT(tool("create", path, "--max-objects=16", "64M", "--extent-size=128K", NULL) == 0);
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0);
	HAS("extent size   131072");
	HAS("objects       0 of 16");
	/* "--" ends the options: an object whose name starts with '-' */
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "-x", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 5));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(tool("stat", "--bytes", path, "--", "-x", NULL) == 0);
	HAS("size  5");
	CU_ASSERT(tool("stat", path, "-x", NULL) == 2);
	HAS("unknown option -x");
	CU_ASSERT(tool("check", path, "-q", NULL) == 0); /* the short form */
	LACKS(sout, "summary");
}

static void test_unknown_option_is_named_and_usage_is_exit_2(void)
{
	const char *path = make_pool("unknown");

	CU_ASSERT(tool("ls", path, "--bogus", NULL) == 2);
	HAS_IN(serr, "daxmap ls: unknown option --bogus");
	HAS_IN(serr, "usage: daxmap ls PATH");
	CU_ASSERT(nsout == 0); /* messages go to stderr only */
	CU_ASSERT(tool("check", "-z", path, NULL) == 2);
	HAS_IN(serr, "unknown option -z");
	CU_ASSERT(tool("ls", path, "--force", NULL) == 2); /* check's option, not ls's */
	HAS_IN(serr, "unknown option --force");
	CU_ASSERT(tool("create", tu_path("unknown2"), "16M", "--extent-size", NULL) == 2);
	HAS_IN(serr, "option --extent-size needs a value");
	CU_ASSERT(tool("info", "--json=yes", path, NULL) == 2);
	HAS_IN(serr, "option --json takes no value");
	CU_ASSERT(tool("--frobnicate", NULL) == 2);
	HAS_IN(serr, "daxmap: unknown option --frobnicate");
	CU_ASSERT(tool("stat", path, NULL) == 2);
	HAS_IN(serr, "missing arguments");
	CU_ASSERT(tool("rm", path, "a", "b", NULL) == 2);
	HAS_IN(serr, "too many arguments");
	CU_ASSERT(tool("truncate", path, "a", "1Q", NULL) == 2);
	CU_ASSERT(tool("create", tu_path("unknown2"), "16M", "--max-objects=0", NULL) == 2);
	CU_ASSERT(access(tu_path("unknown2"), F_OK) != 0);
	CU_ASSERT(nsout == 0);
}

static void test_version(void)
{
	char want[64];

	snprintf(want, sizeof(want), "daxmap (libdaxmap %s)\n", daxmap_version());
	CU_ASSERT(tool("--version", NULL) == 0);
	CU_ASSERT(strcmp(sout, want) == 0);
	CU_ASSERT(nserr == 0);
	CU_ASSERT(tool("-V", NULL) == 0);
	CU_ASSERT(strcmp(sout, want) == 0);
}

static void test_help_command_shows_its_options(void)
{
	CU_ASSERT(tool("help", "create", NULL) == 0);
	HAS_IN(sout, "usage: daxmap create PATH SIZE [--extent-size=SIZE] [--max-objects=N]");
	HAS_IN(sout, "--extent-size=SIZE");
	HAS_IN(sout, "--max-objects=N");
	HAS_IN(sout, "-h, --help");
	CU_ASSERT(tool("help", "check", NULL) == 0);
	HAS_IN(sout, "--force");
	HAS_IN(sout, "-q, --quiet");
	HAS_IN(sout, "--json");
	CU_ASSERT(tool("help", "ls", NULL) == 0);
	HAS_IN(sout, "--bytes");
	LACKS(sout, "--force");
	CU_ASSERT(nserr == 0);
	CU_ASSERT(tool("help", NULL) == 0);
	HAS_IN(sout, "daxmap check PATH [--force]");
	HAS_IN(sout, "daxmap --version");
	CU_ASSERT(tool("help", "frobnicate", NULL) == 2);
	HAS_IN(serr, "unknown command \"frobnicate\"");
	CU_ASSERT(tool("help", "ls", "ls", NULL) == 2);
}

static void test_json_parses(void)
{
	const char *path = make_pool("json");
	/* a name JSON must escape: a quote, a backslash, a newline, a control
	 * byte and a byte that is not UTF-8 */
	static const char odd[] = "q\"b\\n\nc\x01\xff-\xc3\xa9";
	daxmap_pool *pool;
	daxmap_obj *obj;

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, odd, DAXMAP_CREATE));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	CU_ASSERT(tool("info", path, "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"size\"] == 33554432 and d[\"extent_size\"] == 65536 and "
			     "d[\"used\"] == 131072 and d[\"objects\"] == 2 and "
			     "d[\"max_objects\"] == 16 and d[\"in_use\"] is False and "
			     "d[\"object_list\"][0] == {\"name\": \"a\", \"size\": 204800}"));
	CU_ASSERT(tool("ls", "--json", path, NULL) == 0);
	CU_ASSERT(json_holds("[o[\"name\"] for o in d[\"objects\"]] == "
			     "[\"a\", \"q\\\"b\\\\n\\nc\\x01\\xff-\\u00e9\"]"));
	CU_ASSERT(tool("stat", "--json", path, "a", NULL) == 0);
	CU_ASSERT(json_holds("d[\"name\"] == \"a\" and d[\"size\"] == 204800"));
	CU_ASSERT(tool("check", "--json", path, NULL) == 0);
	CU_ASSERT(json_holds("d[\"result\"] == \"clean\" and d[\"findings\"] == [] and "
			     "\"2 objects\" in d[\"summary\"]"));
	/* damaged: findings with their kind */
	{
		unsigned char b = 'z';
		poke(path, OBJTAB_OFF + 40, &b, 1); /* slot 0's name */
	}
	CU_ASSERT(tool("check", "--json", path, NULL) == 1);
	CU_ASSERT(json_holds("d[\"result\"] == \"damaged\" and d[\"findings\"][0][\"kind\"] == "
			     "\"damaged\" and \"checksum mismatch\" in d[\"findings\"][0][\"message\"]"));
	/* could not run: nothing on stdout, the reason on stderr */
	CU_ASSERT(tool("check", "--json", tu_path("missing"), NULL) == 2);
	CU_ASSERT(nsout == 0);
	HAS_IN(serr, "could not check");
}

static void test_sizes_human_by_default_bytes_on_request(void)
{
	const char *path = make_pool("human");

	CU_ASSERT(tool("ls", path, NULL) == 0);
	HAS_IN(sout, "200.0 KiB  a");
	CU_ASSERT(tool("ls", path, "--bytes", NULL) == 0);
	HAS_IN(sout, "      204800  a");
	LACKS(sout, "KiB");
	CU_ASSERT(tool("stat", path, "a", NULL) == 0);
	HAS_IN(sout, "size  200.0 KiB");
	CU_ASSERT(tool("info", path, NULL) == 0);
	HAS_IN(sout, "size          32.0 MiB");
	HAS_IN(sout, "extent size   64.0 KiB");
	HAS_IN(sout, "used          128.0 KiB (2 extents)");
	HAS_IN(sout, "data          30.0 MiB (480 extents)");
	CU_ASSERT(tool("info", "--bytes", path, NULL) == 0);
	HAS_IN(sout, "size          33554432");
	HAS_IN(sout, "used          131072 (2 extents)");
	LACKS(sout, "MiB");
	/* rounding to a tenth, and the next unit up */
	TU_OK(tool("truncate", path, "a", "1048575", NULL));
	CU_ASSERT(tool("stat", path, "a", NULL) == 0);
	HAS_IN(sout, "size  1.0 MiB");
	TU_OK(tool("truncate", path, "a", "1000", NULL));
	CU_ASSERT(tool("stat", path, "a", NULL) == 0);
	HAS_IN(sout, "size  1000 B");
}

static void test_info_shows_header_and_layout(void)
{
	const char *path = make_pool("fields");
	uint8_t uuid[16];
	uint64_t ctime;
	char want[128], *p = want;
	time_t now = time(NULL);

	peek(path, HDR_UUID_OFF, uuid, sizeof(uuid));
	peek(path, HDR_CTIME_OFF, &ctime, sizeof(ctime));
	CU_ASSERT(ctime <= (uint64_t)now && ctime + 60 >= (uint64_t)now);
	p += sprintf(p, "uuid          ");
	for (int i = 0; i < 16; i++)
		p += sprintf(p, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", uuid[i]);
	CU_ASSERT(tool("info", path, NULL) == 0);
	HAS_IN(sout, want);
	HAS_IN(sout, "version       1\n");
	snprintf(want, sizeof(want), " UTC (%llu)", (unsigned long long)ctime);
	HAS_IN(sout, want);
	HAS_IN(sout, "  header                    0  4.0 KiB");
	HAS_IN(sout, "  log                    4096  60.0 KiB");
	HAS_IN(sout, "  object table          65536  4.0 KiB");
	HAS_IN(sout, "  extent table          69632  1.9 MiB");
	HAS_IN(sout, "  data                2097152  30.0 MiB");
	HAS_IN(sout, "objects       1 of 16");
	CU_ASSERT(tool("info", path, "--json", NULL) == 0);
	snprintf(want, sizeof(want), "d[\"create_time\"] == %llu and len(d[\"uuid\"]) == 36",
		 (unsigned long long)ctime);
	CU_ASSERT(json_holds(want));
	CU_ASSERT(json_holds("d[\"layout\"] == {\"header\": {\"offset\": 0, \"size\": 4096}, "
			     "\"log\": {\"offset\": 4096, \"size\": 61440}, "
			     "\"object_table\": {\"offset\": 65536, \"size\": 4096}, "
			     "\"extent_table\": {\"offset\": 69632, \"size\": 2027520}, "
			     "\"data\": {\"offset\": 2097152, \"size\": 31457280}}"));

	/* it reads the file only: a pending log record stays pending, and a
	 * read-only file is fine */
	{
		uint64_t rec[8] = {1 /* shrink */, 0, 4096, 0, 7, 0, 0, 0};
		rec[7] = tu_fletcher64(rec, 56);
		poke(path, LOG_OFF, rec, sizeof(rec));
	}
	CU_ASSERT(chmod(path, 0400) == 0);
	CU_ASSERT(tool("stat", "--bytes", path, "a", NULL) == 0);
	HAS_IN(sout, "size  204800"); /* not yet shrunk */
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("1 log records to replay");
	CU_ASSERT(tool("info", tu_path("missing"), NULL) == 1);
	HAS_IN(serr, "daxmap info: cannot open");
}

static void test_live_pool_is_read_with_a_warning(void)
{
	const char *path = make_pool("live");
	daxmap_pool *pool;
	daxmap_obj *obj;
	unsigned char *p;

	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "fresh", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 100 * KiB));
	TU_OK(daxmap_map((void **)&p, obj, 0, 128 * KiB, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	p[0] = 1; /* one more extent */
	TU_OK(daxmap_persist(p, 1));

	CU_ASSERT(tool("info", "--bytes", path, NULL) == 0);
	HAS_IN(serr, "is open in another process");
	HAS_IN(serr, "the figures may be moving");
	LACKS(sout, "moving");
	HAS_IN(sout, "objects       2 of 16");
	HAS_IN(sout, "used          196608 (3 extents)");
	HAS_IN(sout, "102400  fresh");
	CU_ASSERT(tool("ls", path, NULL) == 0);
	HAS_IN(serr, "may be moving");
	HAS_IN(sout, "100.0 KiB  fresh");
	HAS_IN(sout, "200.0 KiB  a");
	CU_ASSERT(tool("stat", path, "fresh", "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"in_use\"] is True and d[\"size\"] == 102400"));
	CU_ASSERT(tool("info", path, "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"in_use\"] is True and d[\"objects\"] == 2"));
	/* changes still need the pool to themselves */
	CU_ASSERT(tool("rm", path, "fresh", NULL) == 1);
	HAS_IN(serr, "open elsewhere");

	TU_OK(daxmap_unmap(p, 128 * KiB));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(tool("ls", path, NULL) == 0);
	CU_ASSERT(nserr == 0);
}

static void test_progress_only_on_a_terminal_in_percent(void)
{
	const char *path = make_pool("pct");

	/* not a terminal: nothing */
	CU_ASSERT(tool("check", path, NULL) == 0);
	LACKS(out, "progress");
	LACKS(out, "%");
	/* asked for: one line per step, in percent, not in bytes */
	CU_ASSERT(tool("check", path, "--progress", NULL) == 0);
	HAS_IN(serr, "progress: object table 100%\n");
	HAS_IN(serr, "progress: extent table 100%\n");
	LACKS(serr, "bytes");
	LACKS(serr, "\r");
	/* a terminal: one line, rewritten */
	CU_ASSERT(tool_tty("check", path, NULL) == 0);
	HAS_IN(serr, "\rdaxmap check: extent table 100%");
	LACKS(serr, "bytes");
	LACKS(sout, "progress");
	HAS_IN(sout, ": clean");
}

static void test_create_refuses_too_many_objects(void)
{
	const char *path = tu_path("maxobj");

	unlink(path);
	CU_ASSERT(tool("create", path, "16M", "--max-objects", "100000", NULL) == 1);
	CU_ASSERT(access(path, F_OK) != 0);
	CU_ASSERT(nsout == 0);
	CU_ASSERT(count(serr, "daxmap create: ") == 1);
	/* the object table is what does not fit, not an extent */
	HAS_IN(serr, "100000 object slots");
	CU_ASSERT(strstr(serr, "holds no extent") == NULL);
}

static void test_busy_hint_printed_once(void)
{
	const char *path = make_pool("hint");
	daxmap_pool *pool;

	TU_OK(daxmap_pool_open(&pool, path));
	CU_ASSERT(tool("check", path, NULL) == 2);
	HAS_IN(serr, "open elsewhere");
	CU_ASSERT(count(out, "force") == 1);
	CU_ASSERT(nsout == 0);
	TU_OK(daxmap_pool_close(pool));
}

static void test_grow(void)
{
	const char *path = tu_path("grow"), *fixed = tu_path("grow-fixed");
	daxmap_pool *pool;
	daxmap_obj *obj;
	struct stat st;

	unlink(path);
	unlink(fixed);
	/* a maximum below the size, or one that is no size, makes no pool */
	CU_ASSERT(tool("create", path, "32M", "--max-size", "16M", NULL) == 1);
	HAS_IN(serr, "max_size");
	CU_ASSERT(tool("create", path, "32M", "--max-size", "64Q", NULL) == 2);
	HAS_IN(serr, "bad maximum size \"64Q\"");
	CU_ASSERT(access(path, F_OK) != 0);

	CU_ASSERT(tool("create", path, "32M", "--max-size=64M", "--extent-size", "64K",
		       "--max-objects", "16", NULL) == 0);
	CU_ASSERT(tool("info", path, NULL) == 0);
	HAS_IN(sout, "version       2\n");
	HAS_IN(sout, "size          32.0 MiB\n");
	HAS_IN(sout, "max size      64.0 MiB (can grow");
	HAS_IN(sout, "data          30.0 MiB (480 extents)\n");

	CU_ASSERT(tool("grow", path, "48M", NULL) == 0);
	CU_ASSERT(nout == 0);
	CU_ASSERT(stat(path, &st) == 0 && (uint64_t)st.st_size == 48 * MiB);
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0);
	HAS_IN(sout, "size          50331648\n");
	HAS_IN(sout, "max size      67108864 (can grow");
	HAS_IN(sout, "data          48234496 (736 extents)\n");
	CU_ASSERT(tool("info", path, "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"size\"] == 50331648 and d[\"max_size\"] == 67108864 and "
			     "d[\"can_grow\"] is True and d[\"extents\"] == 736 and "
			     "d[\"version\"] == 2"));
	CU_ASSERT(tool("check", path, "--data", NULL) == 0);
	HAS("0 of 736 extents allocated");
	HAS(": clean");

	/* the new space is usable: 40 MiB did not fit in 32 MiB */
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_allocate(obj, 0, 40 * MiB));
	TU_OK(daxmap_obj_close(obj));
	/* open here: the tool cannot open it, and says what to do */
	CU_ASSERT(tool("grow", path, "56M", NULL) == 1);
	HAS_IN(serr, "open elsewhere");
	HAS_IN(serr, "close the pool there first");
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("640 of 736 extents allocated");

	/* beyond the maximum, or smaller: refused, nothing changed */
	CU_ASSERT(tool("grow", path, "1G", NULL) == 1);
	HAS_IN(serr, "daxmap grow: ");
	HAS_IN(serr, "at most");
	CU_ASSERT(tool("grow", path, "32M", NULL) == 1);
	HAS_IN(serr, "shrink");
	CU_ASSERT(tool("grow", path, "1X", NULL) == 2);
	CU_ASSERT(tool("grow", path, NULL) == 2);
	CU_ASSERT(stat(path, &st) == 0 && (uint64_t)st.st_size == 48 * MiB);
	/* up to the maximum itself, and no further */
	CU_ASSERT(tool("grow", path, "64M", NULL) == 0);
	CU_ASSERT(tool("info", path, NULL) == 0);
	HAS_IN(sout, "size          64.0 MiB\n");
	HAS_IN(sout, "max size      64.0 MiB (grown to its maximum");
	CU_ASSERT(tool("grow", path, "65M", NULL) == 1);
	HAS_IN(serr, "at most");
	CU_ASSERT(tool("check", path, NULL) == 0);
	HAS("640 of 992 extents allocated");

	/* a pool created without --max-size keeps its size (its 2 MiB extents
	 * have blocks: version 3, whose header says that it cannot grow) */
	CU_ASSERT(tool("create", fixed, "32M", NULL) == 0);
	CU_ASSERT(tool("info", fixed, NULL) == 0);
	HAS_IN(sout, "version       3\n");
	HAS_IN(sout, "max size      32.0 MiB (fixed: cannot grow)");
	CU_ASSERT(tool("info", fixed, "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"max_size\"] == d[\"size\"] and d[\"can_grow\"] is False"));
	CU_ASSERT(tool("grow", fixed, "64M", NULL) == 1);
	HAS_IN(serr, "daxmap grow: ");
	HAS_IN(serr, "cannot grow");
	CU_ASSERT(stat(fixed, &st) == 0 && (uint64_t)st.st_size == 32 * MiB);
	CU_ASSERT(tool("check", fixed, NULL) == 0);
}

/* Version 3 (extents of 128 KiB or more): info shows the block size and the
 * blocks in use, check their table; a pool without blocks shows neither. */
static void test_info_and_check_of_a_pool_with_blocks(void)
{
	const char *path = tu_path("v3"), *v1 = make_pool("v1");
	uint64_t exttab, blktab, ent, x, dirty = UINT64_C(1) << 62;
	static char buf[100000];
	daxmap_pool *pool;
	daxmap_obj *obj;

	unlink(path);
	CU_ASSERT(tool("create", path, "32M", "--extent-size", "256K", "--max-objects", "16",
		       NULL) == 0);
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&obj, pool, "small", DAXMAP_CREATE | DAXMAP_SMALL));
	memset(buf, 0x42, sizeof(buf));
	CU_ASSERT(daxmap_obj_pwrite(obj, buf, sizeof(buf), 0, 0) == (ssize_t)sizeof(buf));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	CU_ASSERT(tool("info", path, NULL) == 0);
	HAS_IN(sout, "version       3\n");
	HAS_IN(sout, "extent size   256.0 KiB\n");
	HAS_IN(sout, "block size    64.0 KiB\n");
	HAS_IN(sout, "blocks        128.0 KiB used of 256.0 KiB (2 of 4 blocks, in 1 split "
		     "extents)\n");
	HAS_IN(sout, "used          256.0 KiB (1 extents)\n");
	HAS_IN(sout, "97.7 KiB  small");
	CU_ASSERT(tool("info", path, "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"version\"] == 3 and d[\"block_size\"] == 65536 and "
			     "d[\"blocks_split\"] == 262144 and d[\"blocks_used\"] == 131072 and "
			     "d[\"used\"] == 262144 and d[\"bad_extents\"] == 0"));
	CU_ASSERT(tool("check", path, "--data", "--progress", NULL) == 0);
	HAS("1 split into 4 blocks: 2 allocated, 2 free (0 waiting to be zeroed)");
	HAS_IN(serr, "progress: block table 100%\n");
	HAS_IN(serr, "progress: free blocks 100%\n");
	HAS(": clean");

	/* a block entry (free, dirty) of the first free extent, which is not
	 * split: damaged */
	peek(path, HDR_EXTTAB_OFF, &exttab, sizeof(exttab));
	peek(path, HDR_BLKTAB_OFF, &blktab, sizeof(blktab));
	for (x = 0;; x++) {
		peek(path, exttab + x * 8, &ent, sizeof(ent));
		if (ent == 0)
			break;
	}
	poke(path, blktab + (x * 4 + 2) * 8, &dirty, sizeof(dirty));
	CU_ASSERT(tool("check", path, NULL) == 1);
	HAS("is 0x4000000000000000, not 0, but extent");
	HAS("is not split into blocks");
	CU_ASSERT(tool("info", path, "--bytes", NULL) == 0); /* inspect reads on */
	HAS_IN(sout, "block size    65536\n");

	CU_ASSERT(tool("info", v1, NULL) == 0);
	HAS_IN(sout, "version       1\n");
	LACKS(sout, "block size");
	LACKS(sout, "blocks ");
	CU_ASSERT(tool("info", v1, "--json", NULL) == 0);
	CU_ASSERT(json_holds("d[\"block_size\"] == 0 and d[\"blocks_split\"] == 0"));
	CU_ASSERT(tool("check", v1, NULL) == 0);
	LACKS(sout, "split");
}

#ifdef DAXKV_TOOL
static void test_daxkv_sizes_are_strict(void)
{
	const char *path = tu_path("kv-strict");
	static const char *const bad[] = {"10Q", "-5", "", "+1G", "0x100000", "1GG",
					  "18446744073709551616", "17179869184G"};

	unlink(path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];
		CU_ASSERT(daxkv("-s", bad[i], path, "put", "k", "v", NULL) == 2);
		snprintf(want, sizeof(want), "bad pool size \"%s\"", bad[i]);
		HAS_IN(serr, want);
		CU_ASSERT(access(path, F_OK) != 0);
	}
	CU_ASSERT(daxkv("-n", "1Z", path, "put", "k", "v", NULL) == 2);
	HAS_IN(serr, "bad index slot count \"1Z\"");
	CU_ASSERT(daxkv("-s", "64M", "-n", "1K", path, "bench", "-3", NULL) == 2);
	CU_ASSERT(daxkv("-s", "64M", "-n", "1K", path, "bench", "0", NULL) == 2);
	CU_ASSERT(access(path, F_OK) != 0);
	/* good ones, with the long forms; a value may start with '-' */
	CU_ASSERT(daxkv("--size=64M", "--slots", "1K", path, "put", "k", "-v", NULL) == 0);
	CU_ASSERT(daxkv(path, "get", "k", NULL) == 0);
	CU_ASSERT(strcmp(sout, "-v\n") == 0);
	CU_ASSERT(tool("info", "--bytes", path, NULL) == 0);
	HAS_IN(sout, "size          67108864");
}

static void test_daxkv_help(void)
{
	CU_ASSERT(daxkv("-h", NULL) == 0);
	HAS_IN(sout, "usage: daxkv");
	HAS_IN(sout, "-s, --size=POOL_SIZE");
	CU_ASSERT(nserr == 0);
	CU_ASSERT(daxkv("--help", NULL) == 0);
	HAS_IN(sout, "-n, --slots=N");
	CU_ASSERT(daxkv("--bogus", NULL) == 2);
	HAS_IN(serr, "bogus");
	HAS_IN(serr, "usage: daxkv");
	CU_ASSERT(daxkv(NULL) == 2);
}

static void test_daxkv_leaves_no_pool_when_the_store_fails(void)
{
	const char *path = tu_path("kv-fail");

	unlink(path);
	/* bad index size: refused after the pool was made */
	CU_ASSERT(daxkv("-s", "64M", "-n", "3", path, "put", "k", "v", NULL) == 2);
	HAS_IN(serr, "not a power of two");
	CU_ASSERT(access(path, F_OK) != 0);
	/* an index larger than the pool: no space */
	CU_ASSERT(daxkv("-s", "16M", "-n", "4M", path, "put", "k", "v", NULL) == 2);
	HAS_IN(serr, "No space left");
	CU_ASSERT(access(path, F_OK) != 0);
	/* a pool that was there before stays, store or not */
	CU_ASSERT(tool("create", path, "16M", NULL) == 0);
	CU_ASSERT(daxkv("-n", "3", path, "put", "k", "v", NULL) == 2);
	CU_ASSERT(access(path, F_OK) == 0);
	CU_ASSERT(tool("check", path, NULL) == 0);
}
#endif

int main(void)
{
	static const struct tu_test tests[] = {
		{"help and usage", test_help},
		{"create", test_create},
		{"ls info stat punch truncate rm", test_objects},
		{"check: clean", test_check_clean},
		{"check: flipped header byte", test_check_header},
		{"check: corrupted slot", test_check_slot},
		{"check: two objects with one name", test_check_dup_name},
		{"check: corrupted extent entries", test_check_extent},
		{"check: truncated file", test_check_truncated},
		{"check: pending log record", test_check_log},
		{"check: foreign and missing files", test_check_foreign},
		{"check: pool in use; read-only", test_check_in_use},
		{"check --data: stale bytes in free space", test_check_stale_free},
		{"options in any position and as --opt=value", test_options_anywhere_and_with_equals},
		{"unknown option named; bad usage exits 2", test_unknown_option_is_named_and_usage_is_exit_2},
		{"--version and -V", test_version},
		{"help COMMAND shows its options", test_help_command_shows_its_options},
		{"--json parses", test_json_parses},
		{"human sizes by default, --bytes exact", test_sizes_human_by_default_bytes_on_request},
		{"info: header and layout; reads only", test_info_shows_header_and_layout},
		{"info ls stat of a pool open elsewhere", test_live_pool_is_read_with_a_warning},
		{"progress: percent, only on a terminal", test_progress_only_on_a_terminal_in_percent},
		{"create: too many objects for the pool", test_create_refuses_too_many_objects},
		{"check of a busy pool: one hint", test_busy_hint_printed_once},
		{"grow: --max-size, info, check, limits", test_grow},
		{"info and check of a pool with blocks", test_info_and_check_of_a_pool_with_blocks},
#ifdef DAXKV_TOOL
		{"daxkv: strict sizes", test_daxkv_sizes_are_strict},
		{"daxkv: -h and --help", test_daxkv_help},
		{"daxkv: no pool left when the store fails", test_daxkv_leaves_no_pool_when_the_store_fails},
#endif
		{NULL, NULL},
	};
	return tu_run("daxmap tool", tests);
}
