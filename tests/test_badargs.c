/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every public function against bad arguments, from a table: each case must
 * return its documented error code, leave a message for daxmap_errormsg(),
 * not crash, and change nothing stored (the fixture pool's metadata bytes,
 * its object's size and data, the list of objects, and no file created).
 *
 * Not covered, on purpose: handles used after daxmap_pool_close() or
 * daxmap_obj_close() freed them, and a second daxmap_obj_close() of one
 * handle while another handle of the object is open. Those are
 * use-after-free and double-free bugs of the caller that the library
 * cannot detect safely (as with free(3) or close(2) of a reused fd).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define MAPLEN (256 * KiB)
#define DATALEN (128 * KiB)
#define META_LEN (2 * MiB) /* header, log, object and extent tables of a 16 MiB pool */

static struct {
	const char *path;   /* the open fixture pool */
	const char *closed; /* a valid pool file, closed */
	const char *newp;   /* a path that must never come to exist */
	daxmap_pool *pool;
	daxmap_obj *obj;
	unsigned char *map; /* MAPLEN bytes of obj, read-write */
	char longname[DAXMAP_MAX_NAME + 2];
	daxmap_pool *pool_out;
	daxmap_obj *obj_out;
	void *addr_out;
} fx;

static int cb_count(const char *name, uint64_t size, void *arg)
{
	(void)name;
	(void)size;
	++*(int *)arg;
	return 0;
}

static struct daxmap_pool_opts opts_with(int which)
{
	struct daxmap_pool_opts o;

	daxmap_pool_opts_init(&o);
	switch (which) {
	case 0: o.extent_size = 3000; break;
	case 1: o.extent_size = 2 * KiB; break;
	case 2: o.extent_size = UINT64_C(2) << 30; break;
	case 3: o.max_objects = (1u << 22) + 1; break;
	case 4: o.reserved_[0] = 1; break;
	case 5: o.prefault = 2; break;
	case 6: o.fault_threads = 65; break;
	case 7: o.max_objects = 1u << 22; break; /* metadata beyond 1% + 8 MiB of 16 MiB */
	case 8: o.shared = 2; break;
	default: break;
	}
	return o;
}

static int create_o(int which, uint64_t size)
{
	struct daxmap_pool_opts o = opts_with(which);
	return daxmap_pool_create_opts(&fx.pool_out, fx.newp, size, 0600, &o);
}

static int open_o(int which)
{
	struct daxmap_pool_opts o = opts_with(which);
	return daxmap_pool_open_opts(&fx.pool_out, fx.closed, &o);
}

/* a file of len bytes (zeros, or 'x' bytes) at a scratch path; opens it */
static int open_file(size_t len, int fill)
{
	const char *p = tu_path("notapool");
	char *buf = malloc(len ? len : 1);
	int fd, ret;

	memset(buf, fill, len);
	fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
	free(buf);
	ret = daxmap_pool_open(&fx.pool_out, p);
	unlink(p);
	return ret;
}

static int list_ok;
static struct daxmap_pool_stat st;
static uint64_t size_out;
static char stackbuf[8192] __attribute__((aligned(4096)));

#define PROT_RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define MAXS DAXMAP_MAX_OBJ_SIZE

struct badcase {
	const char *what;
	int want;
	int (*fn)(void);
};

static const struct badcase cases[] = {
#define CASES                                                                                      \
	/* pool create */                                                                          \
	X(-EINVAL, daxmap_pool_create(NULL, fx.newp, 16 * MiB, 0600))                              \
	X(-EINVAL, daxmap_pool_create(&fx.pool_out, NULL, 16 * MiB, 0600))                         \
	X(-EINVAL, daxmap_pool_create(&fx.pool_out, fx.newp, 0, 0600))                             \
	X(-EINVAL, daxmap_pool_create(&fx.pool_out, fx.newp, 4096, 0600))                          \
	X(-EINVAL, daxmap_pool_create(&fx.pool_out, fx.newp, 16 * MiB - 1, 0600))                  \
	X(-EINVAL, daxmap_pool_create(&fx.pool_out, fx.newp, UINT64_C(1) << 51, 0600))             \
	X(-EINVAL, daxmap_pool_create(&fx.pool_out, fx.newp, UINT64_MAX, 0600))                    \
	X(-EINVAL, create_o(0, 16 * MiB))                                                          \
	X(-EINVAL, create_o(1, 16 * MiB))                                                          \
	X(-EINVAL, create_o(2, 16 * MiB))                                                          \
	X(-EINVAL, create_o(3, 16 * MiB))                                                          \
	X(-EINVAL, create_o(4, 16 * MiB))                                                          \
	X(-EINVAL, create_o(5, 16 * MiB))                                                          \
	X(-EINVAL, create_o(6, 16 * MiB))                                                          \
	X(-EINVAL, create_o(7, 16 * MiB))                                                          \
	X(-EINVAL, create_o(8, 16 * MiB))                                                          \
	X(-EEXIST, daxmap_pool_create(&fx.pool_out, fx.path, 16 * MiB, 0600))                      \
	X(-EEXIST, daxmap_pool_create(&fx.pool_out, fx.closed, 16 * MiB, 0600))                    \
	X(-ENOENT, daxmap_pool_create(&fx.pool_out, "/nonexistent-dir/p", 16 * MiB, 0600))         \
	/* pool open */                                                                            \
	X(-EINVAL, daxmap_pool_open(NULL, fx.closed))                                              \
	X(-EINVAL, daxmap_pool_open(&fx.pool_out, NULL))                                           \
	X(-ENOENT, daxmap_pool_open(&fx.pool_out, fx.newp))                                        \
	X(-EBUSY, daxmap_pool_open(&fx.pool_out, fx.path))                                         \
	X(-EINVAL, open_file(0, 0))                                                                \
	X(-EINVAL, open_file(100, 0))                                                              \
	X(-EINVAL, open_file(8192, 0))                                                             \
	X(-EINVAL, open_file(16 << 20, 'x'))                                                       \
	X(-EINVAL, open_o(4))                                                                      \
	X(-EINVAL, open_o(5))                                                                      \
	X(-EINVAL, open_o(6))                                                                      \
	/* pool stat and list */                                                                   \
	X(-EINVAL, daxmap_pool_stat(NULL, &st))                                                    \
	X(-EINVAL, daxmap_pool_stat(fx.pool, NULL))                                                \
	X(-EINVAL, daxmap_pool_stat_sized(fx.pool, &st, 0))                                        \
	X(-EINVAL, daxmap_pool_stat_sized(fx.pool, &st, 415))                                      \
	X(-EINVAL, daxmap_pool_stat_sized(NULL, &st, sizeof(st)))                                  \
	/* the log level */                                                                        \
	X(-EINVAL, daxmap_set_log_level(-1))                                                       \
	X(-EINVAL, daxmap_set_log_level(5))                                                        \
	X(-EINVAL, daxmap_pool_list(NULL, cb_count, &list_ok))                                     \
	X(-EINVAL, daxmap_pool_list(fx.pool, NULL, NULL))                                          \
	/* object open and unlink */                                                               \
	X(-EINVAL, daxmap_obj_open(NULL, fx.pool, "obj", 0))                                       \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, NULL, "obj", 0))                                   \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, fx.pool, NULL, DAXMAP_CREATE))                     \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, fx.pool, "", DAXMAP_CREATE))                       \
	X(-ENAMETOOLONG, daxmap_obj_open(&fx.obj_out, fx.pool, fx.longname, DAXMAP_CREATE))        \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, fx.pool, "new", 0x8))                              \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, fx.pool, "new", DAXMAP_SMALL))                     \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, fx.pool, "new", -1))                               \
	X(-EINVAL, daxmap_obj_open(&fx.obj_out, fx.pool, "new", DAXMAP_EXCL))                      \
	X(-ENOENT, daxmap_obj_open(&fx.obj_out, fx.pool, "new", 0))                                \
	X(-EEXIST, daxmap_obj_open(&fx.obj_out, fx.pool, "obj", DAXMAP_CREATE | DAXMAP_EXCL))      \
	X(-EINVAL, daxmap_obj_unlink(NULL, "obj"))                                                 \
	X(-EINVAL, daxmap_obj_unlink(fx.pool, NULL))                                               \
	X(-EINVAL, daxmap_obj_unlink(fx.pool, ""))                                                 \
	X(-ENAMETOOLONG, daxmap_obj_unlink(fx.pool, fx.longname))                                  \
	X(-ENOENT, daxmap_obj_unlink(fx.pool, "new"))                                              \
	X(-EBUSY, daxmap_obj_unlink(fx.pool, "obj"))                                               \
	/* object size, truncate, punch, zero, allocate */                                         \
	X(-EINVAL, daxmap_obj_size(NULL, &size_out))                                               \
	X(-EINVAL, daxmap_obj_size(fx.obj, NULL))                                                  \
	X(-EINVAL, daxmap_obj_truncate(NULL, 0))                                                   \
	X(-EFBIG, daxmap_obj_truncate(fx.obj, MAXS + 1))                                           \
	X(-EFBIG, daxmap_obj_truncate(fx.obj, UINT64_MAX))                                         \
	X(-EINVAL, daxmap_obj_punch_hole(NULL, 0, 4096))                                           \
	X(-EINVAL, daxmap_obj_punch_hole(fx.obj, 0, 0))                                            \
	X(-EINVAL, daxmap_obj_punch_hole(fx.obj, UINT64_MAX, 2))                                   \
	X(-EINVAL, daxmap_obj_punch_hole(fx.obj, 1, UINT64_MAX))                                   \
	X(-EFBIG, daxmap_obj_punch_hole(fx.obj, MAXS, 1))                                          \
	X(-EFBIG, daxmap_obj_punch_hole(fx.obj, 0, MAXS + 1))                                      \
	X(-EINVAL, daxmap_obj_zero_range(NULL, 0, 4096))                                           \
	X(-EINVAL, daxmap_obj_zero_range(fx.obj, 0, 0))                                            \
	X(-EINVAL, daxmap_obj_zero_range(fx.obj, UINT64_MAX - 10, 11))                             \
	X(-EFBIG, daxmap_obj_zero_range(fx.obj, MAXS - 1, 2))                                      \
	X(-EFBIG, daxmap_obj_zero_range(fx.obj, UINT64_C(1) << 63, 1))                             \
	X(-EINVAL, daxmap_obj_allocate(NULL, 0, 4096))                                             \
	X(-EINVAL, daxmap_obj_allocate(fx.obj, 0, 0))                                              \
	X(-EINVAL, daxmap_obj_allocate(fx.obj, UINT64_MAX, 1))                                     \
	X(-EFBIG, daxmap_obj_allocate(fx.obj, MAXS, 4096))                                         \
	/* map, unmap, persist */                                                                  \
	X(-EINVAL, daxmap_map(NULL, fx.obj, 0, 4096, DAXMAP_PROT_READ))                            \
	X(-EINVAL, daxmap_map(&fx.addr_out, NULL, 0, 4096, DAXMAP_PROT_READ))                      \
	X(-EINVAL, daxmap_map(&fx.addr_out, fx.obj, 0, 4096, 0))                                   \
	X(-EINVAL, daxmap_map(&fx.addr_out, fx.obj, 0, 4096, DAXMAP_PROT_WRITE))                   \
	X(-EINVAL, daxmap_map(&fx.addr_out, fx.obj, 0, 4096, PROT_RW | 0x4))                       \
	X(-EINVAL, daxmap_map(&fx.addr_out, fx.obj, 0, 0, DAXMAP_PROT_READ))                       \
	X(-EINVAL, daxmap_map(&fx.addr_out, fx.obj, 1, 4096, DAXMAP_PROT_READ))                    \
	X(-EINVAL, daxmap_map(&fx.addr_out, fx.obj, 4095, 4096, DAXMAP_PROT_READ))                 \
	X(-EFBIG, daxmap_map(&fx.addr_out, fx.obj, MAXS, 4096, DAXMAP_PROT_READ))                  \
	X(-EFBIG, daxmap_map(&fx.addr_out, fx.obj, 0, SIZE_MAX, DAXMAP_PROT_READ))                 \
	X(-EFBIG, daxmap_map(&fx.addr_out, fx.obj, UINT64_MAX & ~UINT64_C(4095), 4096,             \
			     DAXMAP_PROT_READ))                                                    \
	X(-EINVAL, daxmap_unmap(NULL, 4096))                                                       \
	X(-EINVAL, daxmap_unmap(stackbuf, 4096))                                                   \
	X(-EINVAL, daxmap_unmap(fx.map, 4096))                                                     \
	X(-EINVAL, daxmap_unmap(fx.map + 4096, MAPLEN - 4096))                                     \
	X(-EINVAL, daxmap_unmap(fx.map, MAPLEN + 4096))                                            \
	X(-EINVAL, daxmap_unmap(fx.map, 0))                                                        \
	X(-EINVAL, daxmap_persist(NULL, 1))                                                        \
	X(-EINVAL, daxmap_persist(stackbuf, 8))                                                    \
	X(-EINVAL, daxmap_persist(fx.map, MAPLEN + 1))                                             \
	X(-EINVAL, daxmap_persist(fx.map + MAPLEN - 8, SIZE_MAX))                                  \
	/* check */                                                                                \
	X(-EINVAL, daxmap_pool_check(NULL, 0, NULL, NULL))                                         \
	X(-EINVAL, daxmap_pool_check(fx.closed, 0x100, NULL, NULL))                                \
	X(-EINVAL, daxmap_pool_check(fx.closed, -1, NULL, NULL))                                   \
	X(-ENOENT, daxmap_pool_check(fx.newp, 0, NULL, NULL))                                      \
	X(-EBUSY, daxmap_pool_check(fx.path, 0, NULL, NULL))                                       \
	X(-EINVAL, daxmap_pool_check(tu_dir(), 0, NULL, NULL))

#define X(want, expr) {#expr, want, NULL},
	CASES
#undef X
};

/* the expressions, by index (portable: no nested functions) */
static int run_expr(int idx)
{
	int i = 0;
#define X(want, expr)                                                                              \
	if (i++ == idx)                                                                            \
		return (expr);
	CASES
#undef X
	abort();
}

struct snapshot {
	unsigned char *meta; /* the pool file's metadata bytes */
	unsigned char data[DATALEN];
	uint64_t size;
	int nobjs;
	uint64_t used, objects;
};

static void snap(struct snapshot *s)
{
	int fd = open(fx.path, O_RDONLY);

	CU_ASSERT_FATAL(fd >= 0);
	if (!s->meta)
		s->meta = malloc(META_LEN);
	CU_ASSERT_FATAL(pread(fd, s->meta, META_LEN, 0) == (ssize_t)META_LEN);
	close(fd);
	memcpy(s->data, fx.map, DATALEN);
	TU_OK(daxmap_obj_size(fx.obj, &s->size));
	s->nobjs = 0;
	TU_OK(daxmap_pool_list(fx.pool, cb_count, &s->nobjs));
	TU_OK(daxmap_pool_stat(fx.pool, &st));
	s->used = st.used;
	s->objects = st.objects;
}

static void setup(void)
{
	struct daxmap_pool_opts o;
	daxmap_pool *p;

	fx.path = strdup(tu_path("fixture"));
	fx.closed = strdup(tu_path("closed"));
	fx.newp = strdup(tu_path("never"));
	memset(fx.longname, 'n', DAXMAP_MAX_NAME + 1);
	fx.longname[DAXMAP_MAX_NAME + 1] = 0;
	daxmap_pool_opts_init(&o);
	o.max_objects = 64;
	o.extent_size = 64 * KiB;
	TU_OK(daxmap_pool_create_opts(&fx.pool, fx.path, 16 * MiB, 0600, &o));
	TU_OK(daxmap_pool_create(&p, fx.closed, 16 * MiB, 0600));
	TU_OK(daxmap_pool_close(p));
	TU_OK(daxmap_obj_open(&fx.obj, fx.pool, "obj", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(fx.obj, 200 * KiB));
	TU_OK(daxmap_map((void **)&fx.map, fx.obj, 0, MAPLEN, PROT_RW));
	for (uint64_t i = 0; i < DATALEN; i++)
		fx.map[i] = (unsigned char)(i * 7 + 3);
	TU_OK(daxmap_persist(fx.map, DATALEN));
}

static void test_table(void)
{
	struct snapshot before = {0}, after = {0};
	const char *sentinel;
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	setup();
	snap(&before);
	for (int i = 0; i < n; i++) {
		const struct badcase *c = &cases[i];
		int ret;

		/* a known message first, so a case that sets none is caught */
		daxmap_pool_check(fx.closed, 0x4000, NULL, NULL);
		sentinel = "unknown check flags 0x4000 (Invalid argument)";
		CU_ASSERT_FATAL(strcmp(daxmap_errormsg(), sentinel) == 0);
		fx.pool_out = (daxmap_pool *)1;
		fx.obj_out = (daxmap_obj *)1;
		fx.addr_out = (void *)1;

		ret = run_expr(i);

		if (ret != c->want)
			fprintf(stderr, "case %d: %s = %d (%s), want %d\n", i, c->what, ret,
				daxmap_errormsg(), c->want);
		CU_ASSERT(ret == c->want);
		CU_ASSERT(daxmap_errormsg()[0] != 0);
		if (strcmp(daxmap_errormsg(), sentinel) == 0) {
			fprintf(stderr, "case %d: %s left no message of its own\n", i, c->what);
			CU_FAIL("no message");
		}
		/* failed open/create/obj_open clear the out pointer */
		if (strstr(c->what, "&fx.pool_out"))
			CU_ASSERT(fx.pool_out == NULL);
		if (strstr(c->what, "&fx.obj_out"))
			CU_ASSERT(fx.obj_out == NULL);
		CU_ASSERT(access(fx.newp, F_OK) != 0);
		snap(&after);
		if (memcmp(before.meta, after.meta, META_LEN) != 0 ||
		    memcmp(before.data, after.data, DATALEN) != 0 || before.size != after.size ||
		    before.nobjs != after.nobjs || before.used != after.used ||
		    before.objects != after.objects) {
			fprintf(stderr, "case %d: %s changed stored state\n", i, c->what);
			CU_FAIL("stored state changed");
		}
	}
	printf("\n%d bad-argument cases\n", n);
	/* the fixture is intact and usable: every byte readable, the closed
	 * pool opens and checks clean */
	CU_ASSERT(fx.map[DATALEN - 1] == (unsigned char)((DATALEN - 1) * 7 + 3));
	TU_OK(daxmap_unmap(fx.map, MAPLEN));
	TU_OK(daxmap_obj_close(fx.obj));
	TU_OK(daxmap_obj_close(NULL));
	TU_OK(daxmap_pool_close(fx.pool));
	TU_OK(daxmap_pool_close(NULL));
	daxmap_pool_opts_init(NULL);
	CU_ASSERT(daxmap_pool_check(fx.path, 0, NULL, NULL) == 0);
	CU_ASSERT(daxmap_pool_check(fx.closed, 0, NULL, NULL) == 0);
	free(before.meta);
	free(after.meta);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"every public function, bad arguments", test_table},
		{NULL, NULL},
	};
	return tu_run("bad arguments", tests);
}
