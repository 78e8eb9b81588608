/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pool files: create, open, close, header validation, the one-opener lock,
 * capacity, persistence of objects across close and reopen, listing.
 *
 * The program doubles as its own helper for the cross-process tests:
 *   test_pool --try-open PATH     opens PATH, prints and exits with -ret
 *   test_pool --hold PATH         creates PATH, stores a pattern, says
 *                                 "ready" on stdout and waits to be killed
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)

/* The header fields the tests edit (see src/layout.h; the format is part
 * of what they check, so it is spelled out here independently). */
#define HDR_SIZE 4096u
#define HDR_OFF_VERSION 8
#define HDR_OFF_HDR_SIZE 12
#define HDR_OFF_POOL_SIZE 16
#define HDR_OFF_EXTENT_SIZE 24
#define HDR_OFF_MAX_OBJECTS 32
#define HDR_OFF_FLAGS 36
#define HDR_OFF_OBJTAB 40
#define HDR_OFF_EXTTAB 48
#define HDR_OFF_DATA 56
#define HDR_OFF_NEXTENTS 64
#define HDR_OFF_UUID 72
#define HDR_OFF_CTIME 88
#define HDR_OFF_RESERVED 96
#define HDR_OFF_CHECKSUM (HDR_SIZE - 8)

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	return (uint64_t)st.st_size;
}

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void read_at(const char *path, void *buf, size_t len, off_t off)
{
	int fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

static void write_at(const char *path, const void *buf, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pwrite(fd, buf, len, off) == (ssize_t)len);
	CU_ASSERT_FATAL(fsync(fd) == 0);
	close(fd);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	if (len)
		CU_ASSERT_FATAL(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	CU_ASSERT_FATAL(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CU_ASSERT_FATAL(write(out, buf, (size_t)n) == n);
	CU_ASSERT_FATAL(n == 0);
	close(in);
	close(out);
}

/* Fletcher-64 over 32-bit words, as the pool format defines its checksums. */
static void hdr_fix_checksum(unsigned char *h)
{
	/* the size words (cur_size at 2048, grow_to at 2112) are outside it */
	unsigned char t[HDR_OFF_CHECKSUM];
	memcpy(t, h, sizeof(t));
	memset(t + 2048, 0, 8);
	memset(t + 2112, 0, 8);
	uint64_t c = tu_fletcher64(t, HDR_OFF_CHECKSUM);
	memcpy(h + HDR_OFF_CHECKSUM, &c, sizeof(c));
}

static daxmap_pool *pool_open_ok(const char *path)
{
	daxmap_pool *pool = NULL;
	TU_OK(daxmap_pool_open(&pool, path));
	CU_ASSERT_FATAL(pool != NULL);
	return pool;
}

/* byte i of object `tag`: a pattern that differs between objects and offsets */
static uint8_t pat(unsigned tag, uint64_t i)
{
	return (uint8_t)((i * 131 + (i >> 12) * 7 + tag * 29 + 1) & 0xff);
}

static void obj_fill(daxmap_obj *obj, uint64_t size, unsigned tag)
{
	uint8_t *p;
	void *addr;

	if (size == 0)
		return;
	TU_OK(daxmap_map(&addr, obj, 0, size, RW));
	p = addr;
	for (uint64_t i = 0; i < size; i++)
		p[i] = pat(tag, i);
	TU_OK(daxmap_persist(addr, size));
	TU_OK(daxmap_unmap(addr, size));
}

/* Returns the number of bytes that differ from the pattern. */
static uint64_t obj_check(daxmap_obj *obj, uint64_t size, unsigned tag)
{
	uint64_t bad = 0;
	const uint8_t *p;
	void *addr;

	if (size == 0)
		return 0;
	TU_OK(daxmap_map(&addr, obj, 0, size, DAXMAP_PROT_READ));
	p = addr;
	for (uint64_t i = 0; i < size; i++)
		bad += p[i] != pat(tag, i);
	TU_OK(daxmap_unmap(addr, size));
	return bad;
}

/* ---- helper modes, run in a child process by exec ---------------------- */

static int helper_try_open(const char *path)
{
	daxmap_pool *pool = NULL;
	int ret = daxmap_pool_open(&pool, path);

	printf("%d\n", ret);
	fflush(stdout);
	if (ret == 0)
		daxmap_pool_close(pool);
	return ret < 0 ? -ret : 0;
}

static int helper_hold(const char *path)
{
	daxmap_pool *pool = NULL;
	daxmap_obj *obj = NULL;

	if (daxmap_pool_create(&pool, path, 32 * MiB, 0600) < 0 ||
	    daxmap_obj_open(&obj, pool, "held", DAXMAP_CREATE) < 0 ||
	    daxmap_obj_truncate(obj, 3 * MiB + 5) < 0) {
		fprintf(stderr, "hold: %s\n", daxmap_errormsg());
		return 3;
	}
	/* write through a mapping, persist, and keep everything open */
	void *addr;
	if (daxmap_map(&addr, obj, 0, 3 * MiB + 5, RW) < 0)
		return 4;
	for (uint64_t i = 0; i < 3 * MiB + 5; i++)
		((uint8_t *)addr)[i] = pat(9, i);
	if (daxmap_persist(addr, 3 * MiB + 5) < 0)
		return 5;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* Runs this program with args; returns its pid, its stdout on *out_fd. */
static pid_t spawn_self(const char *mode, const char *path, int *out_fd)
{
	int pfd[2];
	pid_t pid;

	CU_ASSERT_FATAL(pipe(pfd) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl("/proc/self/exe", "test_pool", mode, path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	*out_fd = pfd[0];
	return pid;
}

/* exec's the --try-open helper; returns the daxmap return code it saw */
static int other_process_open(const char *path)
{
	char buf[64] = {0};
	int fd, status;
	pid_t pid = spawn_self("--try-open", path, &fd);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	close(fd);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(status));
	CU_ASSERT_FATAL(n > 0);
	int ret = atoi(buf);
	CU_ASSERT(WEXITSTATUS(status) == (ret < 0 ? -ret : 0));
	return ret;
}

/* ---- tests -------------------------------------------------------------- */

static void test_create_open_close_round_trip(void)
{
	char *path = xstrdup(tu_path("roundtrip.pool"));
	struct daxmap_pool_stat st, st2;
	daxmap_pool *pool = NULL;

	unlink(path);
	TU_OK(daxmap_pool_create(&pool, path, 64 * MiB, 0640));
	CU_ASSERT_FATAL(pool != NULL);
	CU_ASSERT(file_size(path) == 64 * MiB);
	struct stat sb;
	CU_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
	/* fallocated: the file's blocks are all there */
	CU_ASSERT((uint64_t)sb.st_blocks * 512 >= 64 * MiB);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.size == 64 * MiB);
	CU_ASSERT(st.extent_size == DAXMAP_DEFAULT_EXTENT_SIZE);
	CU_ASSERT(st.max_objects == DAXMAP_DEFAULT_MAX_OBJECTS);
	CU_ASSERT(st.data_size > 0 && st.data_size <= st.size);
	CU_ASSERT(st.data_size % st.extent_size == 0);
	CU_ASSERT(st.used == 0);
	CU_ASSERT(st.free == st.data_size);
	CU_ASSERT(st.objects == 0 && st.mappings == 0);
	CU_ASSERT(st.fault_threads >= 2);
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(daxmap_pool_close(NULL) == 0);

	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_stat(pool, &st2));
	CU_ASSERT(st2.size == st.size && st2.data_size == st.data_size);
	CU_ASSERT(st2.extent_size == st.extent_size && st2.max_objects == st.max_objects);
	CU_ASSERT(st2.used == 0 && st2.objects == 0);
	TU_OK(daxmap_pool_close(pool));
	/* and once more: close really released everything */
	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_close(pool));
	CU_ASSERT(file_size(path) == 64 * MiB);

	/* non-default extent size and slot count survive a reopen */
	struct daxmap_pool_opts o;
	char *p2 = xstrdup(tu_path("roundtrip-opts.pool"));
	unlink(p2);
	daxmap_pool_opts_init(&o);
	o.extent_size = 64 << 10;
	o.max_objects = 17;
	TU_OK(daxmap_pool_create_opts(&pool, p2, 16 * MiB, 0600, &o));
	TU_OK(daxmap_pool_close(pool));
	pool = pool_open_ok(p2);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.extent_size == (64 << 10));
	CU_ASSERT(st.max_objects == 17);
	CU_ASSERT(st.size == 16 * MiB);
	TU_OK(daxmap_pool_close(pool));
	unlink(p2);
	free(p2);
	unlink(path);
	free(path);
}

static void test_create_over_existing_file_is_eexist(void)
{
	char *path = xstrdup(tu_path("exists.pool"));
	char *plain = xstrdup(tu_path("exists.txt"));
	daxmap_pool *pool = tu_pool_create("exists.pool", 32 * MiB), *p2 = (void *)1;
	char buf[16];

	/* over a live pool */
	CU_ASSERT(daxmap_pool_create(&p2, path, 32 * MiB, 0600) == -EEXIST);
	CU_ASSERT(p2 == NULL);
	CU_ASSERT(daxmap_errormsg()[0] != 0);
	TU_OK(daxmap_pool_close(pool));
	/* over a closed pool: still there and still a pool afterwards */
	CU_ASSERT(daxmap_pool_create(&p2, path, 16 * MiB, 0600) == -EEXIST);
	CU_ASSERT(file_size(path) == 32 * MiB);
	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_close(pool));
	/* over a plain file: untouched */
	write_file(plain, "precious bytes", 14);
	CU_ASSERT(daxmap_pool_create(&p2, plain, 16 * MiB, 0600) == -EEXIST);
	CU_ASSERT(file_size(plain) == 14);
	read_at(plain, buf, 14, 0);
	CU_ASSERT(memcmp(buf, "precious bytes", 14) == 0);
	unlink(plain);
	unlink(path);
	free(plain);
	free(path);
}

static void test_create_with_bad_size_is_einval(void)
{
	static const uint64_t sizes[] = {
		0, 1, 4096, DAXMAP_MIN_POOL_SIZE - 4096, DAXMAP_MIN_POOL_SIZE - 1,
		UINT64_C(1) << 51, UINT64_C(1) << 63, UINT64_MAX - 4095, UINT64_MAX,
	};
	char *path = xstrdup(tu_path("badsize.pool"));

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		daxmap_pool *pool = (void *)1;
		unlink(path);
		int ret = daxmap_pool_create(&pool, path, sizes[i], 0600);
		if (ret != -EINVAL)
			fprintf(stderr, "size %llu: %d\n", (unsigned long long)sizes[i], ret);
		CU_ASSERT(ret == -EINVAL);
		CU_ASSERT(pool == NULL);
		CU_ASSERT(strlen(daxmap_errormsg()) > 0);
		/* nothing left behind */
		CU_ASSERT(!file_exists(path));
	}
	/* the minimum itself is fine */
	daxmap_pool *pool = NULL;
	TU_OK(daxmap_pool_create(&pool, path, DAXMAP_MIN_POOL_SIZE, 0600));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	free(path);
}

static void test_create_with_bad_extent_size_is_einval(void)
{
	static const uint64_t extents[] = {
		1, 512, 2048, 4095, 3 << 20, (2 << 20) + 4096, 12288,
		UINT64_C(2) << 30, UINT64_C(1) << 40, UINT64_C(1) << 63, UINT64_MAX,
	};
	char *path = xstrdup(tu_path("badextent.pool"));
	struct daxmap_pool_opts o;

	for (size_t i = 0; i < sizeof(extents) / sizeof(extents[0]); i++) {
		daxmap_pool *pool = (void *)1;
		unlink(path);
		daxmap_pool_opts_init(&o);
		o.extent_size = extents[i];
		int ret = daxmap_pool_create_opts(&pool, path, 64 * MiB, 0600, &o);
		if (ret != -EINVAL)
			fprintf(stderr, "extent %llu: %d\n", (unsigned long long)extents[i], ret);
		CU_ASSERT(ret == -EINVAL);
		CU_ASSERT(pool == NULL);
		CU_ASSERT(strlen(daxmap_errormsg()) > 0);
		CU_ASSERT(!file_exists(path));
	}
	/* bad options that are not sizes */
	daxmap_pool *pool = (void *)1;
	daxmap_pool_opts_init(&o);
	o.reserved_[0] = 1;
	CU_ASSERT(daxmap_pool_create_opts(&pool, path, 64 * MiB, 0600, &o) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	daxmap_pool_opts_init(&o);
	o.prefault = 2;
	CU_ASSERT(daxmap_pool_create_opts(&pool, path, 64 * MiB, 0600, &o) == -EINVAL);
	CU_ASSERT(!file_exists(path));
	/* the limits themselves are fine: 4 KiB, and 1 GiB in a pool that holds one */
	daxmap_pool_opts_init(&o);
	o.extent_size = 4096;
	TU_OK(daxmap_pool_create_opts(&pool, path, 16 * MiB, 0600, &o));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	daxmap_pool_opts_init(&o);
	o.extent_size = UINT64_C(1) << 30;
	TU_OK(daxmap_pool_create_opts(&pool, path, (UINT64_C(1) << 30) + 64 * MiB, 0600, &o));
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.extent_size == UINT64_C(1) << 30);
	CU_ASSERT(st.data_size == UINT64_C(1) << 30);
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	free(path);
}

static void test_open_of_non_pool_file_is_einval(void)
{
	char *path = xstrdup(tu_path("random.bin"));
	uint64_t seed = tu_seed("open_non_pool");
	size_t len = 16 * MiB;
	uint8_t *buf = malloc(len);
	daxmap_pool *pool = (void *)1;

	CU_ASSERT_FATAL(buf != NULL);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = tu_rand(&seed);
		memcpy(buf + i, &r, 8);
	}
	/* random bytes of a pool's size */
	write_file(path, buf, len);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EINVAL);
	CU_ASSERT(pool == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	/* zeros: a fallocated file that never got its header */
	memset(buf, 0, len);
	write_file(path, buf, len);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	/* smaller than a header */
	write_file(path, "DAXMAPPL", 8);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EINVAL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	/* empty */
	write_file(path, NULL, 0);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EINVAL);
	CU_ASSERT(pool == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	/* untouched by the attempts */
	CU_ASSERT(file_size(path) == 0);
	/* missing */
	unlink(path);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -ENOENT);
	CU_ASSERT(!file_exists(path));
	CU_ASSERT(daxmap_pool_open(&pool, NULL) == -EINVAL);
	CU_ASSERT(daxmap_pool_open(NULL, path) == -EINVAL);
	free(buf);
	free(path);
}

static void test_open_of_pool_with_one_header_byte_flipped_is_euclean(void)
{
	static const size_t offs[] = {
		HDR_OFF_VERSION, HDR_OFF_VERSION + 3, HDR_OFF_HDR_SIZE, HDR_OFF_POOL_SIZE,
		HDR_OFF_POOL_SIZE + 5, HDR_OFF_EXTENT_SIZE + 2, HDR_OFF_MAX_OBJECTS, HDR_OFF_FLAGS,
		HDR_OFF_OBJTAB, HDR_OFF_EXTTAB + 1, HDR_OFF_DATA + 2, HDR_OFF_NEXTENTS,
		HDR_OFF_UUID, HDR_OFF_UUID + 15, HDR_OFF_CTIME, HDR_OFF_RESERVED + 8, 1000, 2048,
		HDR_OFF_CHECKSUM - 1, HDR_OFF_CHECKSUM, HDR_OFF_CHECKSUM + 4, HDR_SIZE - 1,
	};
	char *path = xstrdup(tu_path("flip.pool"));
	daxmap_pool *pool = tu_pool_create("flip.pool", 32 * MiB);
	daxmap_obj *obj;
	unsigned char b, orig[HDR_SIZE], after[HDR_SIZE];

	TU_OK(daxmap_obj_open(&obj, pool, "keep", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 5 * MiB));
	obj_fill(obj, 5 * MiB, 1);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	read_at(path, orig, HDR_SIZE, 0);

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			b = orig[offs[i]] ^ (uint8_t)(1u << bit);
			write_at(path, &b, 1, (off_t)offs[i]);
			pool = (void *)1;
			int ret = daxmap_pool_open(&pool, path);
			/* a flip that makes the version look newer may be
			 * reported as such; anything else is damage */
			int ok = ret == -EUCLEAN ||
				 (ret == -EPROTONOSUPPORT && offs[i] >= HDR_OFF_VERSION &&
				  offs[i] < HDR_OFF_VERSION + 4);
			if (!ok)
				fprintf(stderr, "flip of bit %d at header offset %zu: %d (%s)\n",
					bit, offs[i], ret, daxmap_errormsg());
			CU_ASSERT(ok);
			CU_ASSERT(pool == NULL);
			CU_ASSERT(strlen(daxmap_errormsg()) > 0);
			write_at(path, &orig[offs[i]], 1, (off_t)offs[i]);
		}
	}
	/* a damaged magic means "not a pool" */
	b = orig[0] ^ 0x20;
	write_at(path, &b, 1, 0);
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EINVAL);
	write_at(path, &orig[0], 1, 0);
	/* the failed opens wrote nothing */
	read_at(path, after, HDR_SIZE, 0);
	CU_ASSERT(memcmp(orig, after, HDR_SIZE) == 0);

	/* restored: opens, and the data is intact */
	pool = pool_open_ok(path);
	TU_OK(daxmap_obj_open(&obj, pool, "keep", 0));
	CU_ASSERT(obj_check(obj, 5 * MiB, 1) == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

/* A field changed and the checksum recomputed: the fields are validated
 * on their own, not only through the checksum. */
static void test_open_of_pool_with_bad_field_and_good_checksum_is_refused(void)
{
	struct edit {
		size_t off;
		uint64_t val;
		int width;
		int want;
	} edits[] = {
		{HDR_OFF_VERSION, 0, 4, -EUCLEAN},
		/* version 1 has no size words; versions 1 and 2 have no block
		 * table (this pool is version 3: it has both) */
		{HDR_OFF_VERSION, 1, 4, -EUCLEAN},
		{HDR_OFF_VERSION, 2, 4, -EUCLEAN},
		{HDR_OFF_VERSION, 4, 4, -EPROTONOSUPPORT},
		/* the size words (outside the checksum) against the file */
		{2048, 16 * MiB, 8, -EUCLEAN},
		{2112, 64 * MiB, 8, -EUCLEAN},
		{2056, 1, 1, -EUCLEAN},
		{3000, 1, 1, -EUCLEAN},
		{HDR_OFF_HDR_SIZE, 4095, 4, -EUCLEAN},
		{HDR_OFF_FLAGS, 2, 4, -EUCLEAN}, /* 1 (growable) is a valid version 3 flag */
		{HDR_OFF_POOL_SIZE, 16 * MiB, 8, -EUCLEAN},
		{HDR_OFF_EXTENT_SIZE, 3 << 20, 8, -EUCLEAN},
		{HDR_OFF_EXTENT_SIZE, 1 << 20, 8, -EUCLEAN},
		{HDR_OFF_MAX_OBJECTS, 0, 4, -EUCLEAN},
		{HDR_OFF_MAX_OBJECTS, 4097, 4, -EUCLEAN},
		{HDR_OFF_OBJTAB, 4096, 8, -EUCLEAN},
		{HDR_OFF_EXTTAB, 0, 8, -EUCLEAN},
		{HDR_OFF_DATA, 0, 8, -EUCLEAN},
		{HDR_OFF_NEXTENTS, 1000, 8, -EUCLEAN},
		{HDR_OFF_RESERVED, 1, 1, -EUCLEAN},
		{HDR_OFF_RESERVED + 1000, 0x80, 1, -EUCLEAN},
		{HDR_OFF_CHECKSUM - 1, 1, 1, -EUCLEAN},
	};
	char *path = xstrdup(tu_path("fields.pool"));
	daxmap_pool *pool = tu_pool_create("fields.pool", 32 * MiB);
	unsigned char orig[HDR_SIZE], h[HDR_SIZE];

	TU_OK(daxmap_pool_close(pool));
	read_at(path, orig, HDR_SIZE, 0);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		memcpy(h, orig, HDR_SIZE);
		memcpy(h + edits[i].off, &edits[i].val, (size_t)edits[i].width);
		hdr_fix_checksum(h);
		write_at(path, h, HDR_SIZE, 0);
		pool = (void *)1;
		int ret = daxmap_pool_open(&pool, path);
		if (ret != edits[i].want)
			fprintf(stderr, "header offset %zu := %llu: %d (%s)\n", edits[i].off,
				(unsigned long long)edits[i].val, ret, daxmap_errormsg());
		CU_ASSERT(ret == edits[i].want);
		CU_ASSERT(pool == NULL);
		CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	}
	/* uuid and creation time are free-form: a consistent header with new ones opens */
	memcpy(h, orig, HDR_SIZE);
	h[HDR_OFF_UUID] ^= 0xff;
	h[HDR_OFF_CTIME] ^= 0x01;
	hdr_fix_checksum(h);
	write_at(path, h, HDR_SIZE, 0);
	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

static void test_open_of_truncated_copy_fails_cleanly(void)
{
	char *path = xstrdup(tu_path("orig.pool"));
	char *copy = xstrdup(tu_path("copy.pool"));
	daxmap_pool *pool = tu_pool_create("orig.pool", 32 * MiB);
	daxmap_obj *obj;
	const uint64_t size = 32 * MiB;
	const uint64_t cuts[] = {0, 100, 4095, 4096, 8192, 65536, 1 * MiB, 2 * MiB + 17,
				 size / 2, size - 2 * MiB, size - 4096, size - 1};

	TU_OK(daxmap_obj_open(&obj, pool, "data", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 6 * MiB));
	obj_fill(obj, 6 * MiB, 2);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		copy_file(path, copy);
		CU_ASSERT_FATAL(truncate(copy, (off_t)cuts[i]) == 0);
		pool = (void *)1;
		int ret = daxmap_pool_open(&pool, copy);
		int want = cuts[i] < HDR_SIZE ? -EINVAL : -EUCLEAN;
		if (ret != want)
			fprintf(stderr, "copy cut at %llu: %d (%s)\n", (unsigned long long)cuts[i],
				ret, daxmap_errormsg());
		CU_ASSERT(ret == want);
		CU_ASSERT(pool == NULL);
		CU_ASSERT(strlen(daxmap_errormsg()) > 0);
		/* not "repaired" by the attempt */
		CU_ASSERT(file_size(copy) == cuts[i]);
	}
	/* an extended copy is refused too */
	copy_file(path, copy);
	CU_ASSERT_FATAL(truncate(copy, (off_t)(size + 4096)) == 0);
	CU_ASSERT(daxmap_pool_open(&pool, copy) == -EUCLEAN);
	/* a full copy is a good pool, with the data */
	copy_file(path, copy);
	pool = pool_open_ok(copy);
	TU_OK(daxmap_obj_open(&obj, pool, "data", 0));
	CU_ASSERT(obj_check(obj, 6 * MiB, 2) == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	/* and the original is untouched */
	pool = pool_open_ok(path);
	TU_OK(daxmap_obj_open(&obj, pool, "data", 0));
	CU_ASSERT(obj_check(obj, 6 * MiB, 2) == 0);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	unlink(copy);
	free(copy);
	free(path);
}

static void test_second_open_in_same_process_is_ebusy(void)
{
	char *path = xstrdup(tu_path("busy.pool"));
	daxmap_pool *pool = tu_pool_create("busy.pool", 32 * MiB), *p2 = (void *)1;
	daxmap_obj *obj;
	void *addr;

	CU_ASSERT(daxmap_pool_open(&p2, path) == -EBUSY);
	CU_ASSERT(p2 == NULL);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	/* the failed open did not disturb the first handle */
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 4096));
	TU_OK(daxmap_map(&addr, obj, 0, 4096, RW));
	memcpy(addr, "still mine", 10);
	CU_ASSERT(daxmap_pool_open(&p2, path) == -EBUSY);
	CU_ASSERT(memcmp(addr, "still mine", 10) == 0);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	/* closed: opens again */
	pool = pool_open_ok(path);
	TU_OK(daxmap_obj_open(&obj, pool, "o", 0));
	TU_OK(daxmap_map(&addr, obj, 0, 4096, DAXMAP_PROT_READ));
	CU_ASSERT(memcmp(addr, "still mine", 10) == 0);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

/* A pool open shared: a second open here (shared or not) is EBUSY, and the
 * checker and inspect see it in use though its flock is a shared one. */
static void test_pool_open_shared_is_in_use_for_everyone_else(void)
{
	char *path = xstrdup(tu_path("sharedbusy.pool"));
	struct daxmap_pool_opts o;
	struct daxmap_pool_info info;
	daxmap_pool *pool, *p2 = (void *)1;

	daxmap_pool_opts_init(&o);
	o.shared = 1;
	pool = tu_pool_create_opts("sharedbusy.pool", 32 * MiB, &o);
	CU_ASSERT(daxmap_pool_open_opts(&p2, path, &o) == -EBUSY);
	CU_ASSERT(p2 == NULL);
	CU_ASSERT(daxmap_pool_open(&p2, path) == -EBUSY);
	CU_ASSERT(daxmap_pool_check(path, 0, NULL, NULL) == -EBUSY);
	CU_ASSERT(strstr(daxmap_errormsg(), "shared") != NULL);
	CU_ASSERT(daxmap_pool_check(path, DAXMAP_CHECK_FORCE, NULL, NULL) == 0);
	TU_OK(daxmap_pool_inspect(path, 0, &info, NULL, NULL));
	CU_ASSERT(info.in_use == 1);
	TU_OK(daxmap_pool_close(pool));
	/* the last one out took the run file with it: nobody has it now */
	CU_ASSERT(daxmap_pool_check(path, 0, NULL, NULL) == 0);
	TU_OK(daxmap_pool_inspect(path, 0, &info, NULL, NULL));
	CU_ASSERT(info.in_use == 0);
	free(path);
}

static void test_second_open_from_another_process_is_ebusy(void)
{
	char *path = xstrdup(tu_path("xproc.pool"));
	daxmap_pool *pool = tu_pool_create("xproc.pool", 32 * MiB);

	CU_ASSERT(other_process_open(path) == -EBUSY);
	/* with an object open and mapped too */
	daxmap_obj *obj;
	void *addr;
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 8192));
	TU_OK(daxmap_map(&addr, obj, 0, 8192, RW));
	((volatile char *)addr)[0] = 1;
	CU_ASSERT(other_process_open(path) == -EBUSY);
	TU_OK(daxmap_unmap(addr, 8192));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	/* once closed here, the other process can open it */
	CU_ASSERT(other_process_open(path) == 0);
	/* and after that process has exited, so can we */
	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

static void test_pool_opens_again_after_owner_is_killed(void)
{
	char *path = xstrdup(tu_path("killed.pool"));
	char buf[16] = {0};
	daxmap_pool *pool = (void *)1;
	daxmap_obj *obj;
	int fd, status;
	size_t got = 0;
	pid_t pid;

	unlink(path);
	pid = spawn_self("--hold", path, &fd);
	while (got < 6) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	CU_ASSERT_FATAL(strncmp(buf, "ready\n", 6) == 0);
	/* the child holds it */
	CU_ASSERT(daxmap_pool_open(&pool, path) == -EBUSY);
	CU_ASSERT(pool == NULL);
	CU_ASSERT(kill(pid, SIGKILL) == 0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* the lock died with its owner; what it persisted is there */
	pool = pool_open_ok(path);
	TU_OK(daxmap_obj_open(&obj, pool, "held", 0));
	uint64_t size = 0;
	TU_OK(daxmap_obj_size(obj, &size));
	CU_ASSERT(size == 3 * MiB + 5);
	CU_ASSERT(obj_check(obj, 3 * MiB + 5, 9) == 0);
	struct daxmap_pool_stat st;
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.used == 2 * st.extent_size);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

static void test_96mib_pool_holds_80mib_object_fully_written(void)
{
	char *path = xstrdup(tu_path("p96.pool"));
	daxmap_pool *pool = tu_pool_create("p96.pool", 96 * MiB);
	struct daxmap_pool_stat st;
	daxmap_obj *obj;
	const uint64_t size = 80 * MiB;
	uint64_t *p;
	void *addr;

	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.size == 96 * MiB);
	CU_ASSERT_FATAL(st.data_size >= size);
	/* metadata budget: 1% + 8 MiB */
	CU_ASSERT(st.size - st.data_size <= 96 * MiB / 100 + 8 * MiB + st.extent_size);
	TU_OK(daxmap_obj_open(&obj, pool, "big", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, size));
	TU_OK(daxmap_map(&addr, obj, 0, size, RW));
	p = addr;
	/* every 8-byte word holds its own offset: misplaced extents show */
	for (uint64_t i = 0; i < size / 8; i++)
		p[i] = i * 8 + 0x5a5a000000000000ull;
	TU_OK(daxmap_persist(addr, size));
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.used == size);
	CU_ASSERT(st.extents_allocated == size / st.extent_size);
	CU_ASSERT(st.free == st.data_size - size);
	CU_ASSERT(st.faults_sigbus == 0);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < size / 8; i++)
		bad += p[i] != i * 8 + 0x5a5a000000000000ull;
	CU_ASSERT(bad == 0);
	TU_OK(daxmap_unmap(addr, size));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));

	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.used == size);
	TU_OK(daxmap_obj_open(&obj, pool, "big", 0));
	TU_OK(daxmap_map(&addr, obj, 0, size, DAXMAP_PROT_READ));
	p = addr;
	bad = 0;
	for (uint64_t i = 0; i < size / 8; i++)
		bad += p[i] != i * 8 + 0x5a5a000000000000ull;
	CU_ASSERT(bad == 0);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.extents_allocated == 0); /* reading data allocates nothing */
	TU_OK(daxmap_unmap(addr, size));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	free(path);
}

struct listed {
	char names[16][DAXMAP_MAX_NAME + 1];
	uint64_t sizes[16];
	int n;
	int stop_after; /* 0: never */
};

static int list_cb(const char *name, uint64_t size, void *arg)
{
	struct listed *l = arg;
	if (l->n < 16) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
		l->sizes[l->n] = size;
	}
	l->n++;
	return l->stop_after && l->n >= l->stop_after ? 42 : 0;
}

/* index of name in l, or -1 */
static int listed_find(const struct listed *l, const char *name)
{
	for (int i = 0; i < l->n && i < 16; i++)
		if (strcmp(l->names[i], name) == 0)
			return i;
	return -1;
}

static void test_objects_survive_close_and_reopen(void)
{
	static const struct {
		const char *name;
		uint64_t size;
	} objs[] = {
		{"empty", 0},
		{"small", 5000},
		{"three-extents", 4 * MiB + 17},
		{"sparse", 64 * MiB},
	};
	const size_t n = sizeof(objs) / sizeof(objs[0]);
	char *path = xstrdup(tu_path("survive.pool"));
	daxmap_pool *pool = tu_pool_create("survive.pool", 32 * MiB);
	struct daxmap_pool_stat st;
	daxmap_obj *obj;
	uint64_t used;

	for (size_t i = 0; i < n; i++) {
		TU_OK(daxmap_obj_open(&obj, pool, objs[i].name, DAXMAP_CREATE | DAXMAP_EXCL));
		TU_OK(daxmap_obj_truncate(obj, objs[i].size));
		if (objs[i].size <= 8 * MiB) {
			obj_fill(obj, objs[i].size, (unsigned)i);
		} else {
			/* sparse: one page in the middle */
			void *addr;
			TU_OK(daxmap_map(&addr, obj, 40 * MiB, 4096, RW));
			memset(addr, 0xc3, 4096);
			TU_OK(daxmap_persist(addr, 4096));
			TU_OK(daxmap_unmap(addr, 4096));
		}
		TU_OK(daxmap_obj_close(obj));
	}
	TU_OK(daxmap_pool_stat(pool, &st));
	used = st.used;
	CU_ASSERT(used == (1 + 3 + 1) * st.extent_size);
	CU_ASSERT(st.objects == n);
	TU_OK(daxmap_pool_close(pool));

	pool = pool_open_ok(path);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.objects == n);
	CU_ASSERT(st.used == used);
	struct listed l;
	memset(&l, 0, sizeof(l));
	TU_OK(daxmap_pool_list(pool, list_cb, &l));
	CU_ASSERT(l.n == (int)n);
	for (size_t i = 0; i < n; i++) {
		int k = listed_find(&l, objs[i].name);
		CU_ASSERT(k >= 0);
		if (k >= 0)
			CU_ASSERT(l.sizes[k] == objs[i].size);
		uint64_t size = 1;
		TU_OK(daxmap_obj_open(&obj, pool, objs[i].name, 0));
		TU_OK(daxmap_obj_size(obj, &size));
		CU_ASSERT(size == objs[i].size);
		if (objs[i].size <= 8 * MiB) {
			CU_ASSERT(obj_check(obj, objs[i].size, (unsigned)i) == 0);
		} else {
			void *addr;
			const uint8_t *p;
			uint64_t bad = 0;
			TU_OK(daxmap_map(&addr, obj, 38 * MiB, 6 * MiB, DAXMAP_PROT_READ));
			p = addr;
			for (uint64_t k2 = 0; k2 < 6 * MiB; k2++) {
				uint64_t off = 38 * MiB + k2;
				uint8_t want = off >= 40 * MiB && off < 40 * MiB + 4096 ? 0xc3 : 0;
				bad += p[k2] != want;
			}
			CU_ASSERT(bad == 0);
			TU_OK(daxmap_unmap(addr, 6 * MiB));
		}
		TU_OK(daxmap_obj_close(obj));
	}
	TU_OK(daxmap_pool_close(pool));
	unlink(path);
	free(path);
}

static void test_pool_list_reports_names_and_sizes(void)
{
	daxmap_pool *pool = tu_pool_create("list.pool", 32 * MiB);
	struct listed l;
	daxmap_obj *obj;
	char longname[DAXMAP_MAX_NAME + 1];

	memset(&l, 0, sizeof(l));
	TU_OK(daxmap_pool_list(pool, list_cb, &l));
	CU_ASSERT(l.n == 0);

	memset(longname, 'L', DAXMAP_MAX_NAME);
	longname[DAXMAP_MAX_NAME] = 0;
	const char *names[] = {"a", "bb", "with space", longname};
	const uint64_t sizes[] = {1, 2 * MiB, UINT64_C(1) << 40, DAXMAP_MAX_OBJ_SIZE};
	for (int i = 0; i < 4; i++) {
		TU_OK(daxmap_obj_open(&obj, pool, names[i], DAXMAP_CREATE));
		TU_OK(daxmap_obj_truncate(obj, sizes[i]));
		TU_OK(daxmap_obj_close(obj));
	}
	memset(&l, 0, sizeof(l));
	TU_OK(daxmap_pool_list(pool, list_cb, &l));
	CU_ASSERT(l.n == 4);
	for (int i = 0; i < 4; i++) {
		int k = listed_find(&l, names[i]);
		CU_ASSERT(k >= 0);
		if (k >= 0)
			CU_ASSERT(l.sizes[k] == sizes[i]);
	}
	/* a non-zero return stops the walk and is returned */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	CU_ASSERT(daxmap_pool_list(pool, list_cb, &l) == 42);
	CU_ASSERT(l.n == 2);
	/* unlinked objects are gone from the list */
	TU_OK(daxmap_obj_unlink(pool, "bb"));
	memset(&l, 0, sizeof(l));
	TU_OK(daxmap_pool_list(pool, list_cb, &l));
	CU_ASSERT(l.n == 3);
	CU_ASSERT(listed_find(&l, "bb") < 0);
	CU_ASSERT(listed_find(&l, "a") >= 0);
	/* bad arguments */
	CU_ASSERT(daxmap_pool_list(pool, NULL, NULL) == -EINVAL);
	CU_ASSERT(daxmap_pool_list(NULL, list_cb, &l) == -EINVAL);
	TU_OK(daxmap_pool_close(pool));
}

static void test_pool_close_with_open_object_or_mapping_is_ebusy(void)
{
	char *path = xstrdup(tu_path("closebusy.pool"));
	daxmap_pool *pool = tu_pool_create("closebusy.pool", 32 * MiB);
	struct daxmap_pool_stat st;
	daxmap_obj *obj, *obj2;
	uint64_t size;
	void *addr;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 3 * MiB));
	/* an open object */
	CU_ASSERT(daxmap_pool_close(pool) == -EBUSY);
	CU_ASSERT(strlen(daxmap_errormsg()) > 0);
	/* the pool and the object still work */
	TU_OK(daxmap_obj_size(obj, &size));
	CU_ASSERT(size == 3 * MiB);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.objects == 1);
	/* two handles: both must go */
	TU_OK(daxmap_obj_open(&obj2, pool, "o", 0));
	TU_OK(daxmap_obj_close(obj));
	CU_ASSERT(daxmap_pool_close(pool) == -EBUSY);
	obj = obj2;

	/* a mapping whose handle is closed */
	TU_OK(daxmap_map(&addr, obj, 0, 3 * MiB, RW));
	TU_OK(daxmap_obj_close(obj));
	CU_ASSERT(daxmap_pool_close(pool) == -EBUSY);
	/* the mapping still faults and stores */
	memset((char *)addr + 2 * MiB, 0x3c, 4096);
	CU_ASSERT(((volatile uint8_t *)addr)[2 * MiB + 4095] == 0x3c);
	TU_OK(daxmap_pool_stat(pool, &st));
	CU_ASSERT(st.mappings == 1);
	CU_ASSERT(st.used == st.extent_size);
	TU_OK(daxmap_persist(addr, 3 * MiB));
	TU_OK(daxmap_unmap(addr, 3 * MiB));
	TU_OK(daxmap_pool_close(pool));

	/* the store made after the refused close is in the pool */
	pool = pool_open_ok(path);
	TU_OK(daxmap_obj_open(&obj, pool, "o", 0));
	TU_OK(daxmap_map(&addr, obj, 2 * MiB, 4096, DAXMAP_PROT_READ));
	CU_ASSERT(((uint8_t *)addr)[0] == 0x3c && ((uint8_t *)addr)[4095] == 0x3c);
	TU_OK(daxmap_unmap(addr, 4096));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
	free(path);
}

/*
 * The layout of libdaxmap 0.1's struct daxmap_pool_stat, as a program built
 * then has it: the library may add fields at the end only.
 */
#define STAT_SIZE_0_1 416
_Static_assert(offsetof(struct daxmap_pool_stat, size) == 0, "stat moved");
_Static_assert(offsetof(struct daxmap_pool_stat, is_pmem) == 80, "stat moved");
_Static_assert(offsetof(struct daxmap_pool_stat, user_mode_only) == 84, "stat moved");
_Static_assert(offsetof(struct daxmap_pool_stat, faults) == 88, "stat moved");
_Static_assert(offsetof(struct daxmap_pool_stat, bytes_zeroed_background) == 152, "stat moved");
_Static_assert(offsetof(struct daxmap_pool_stat, latency_ns_log2) == 160, "stat moved");
_Static_assert(sizeof(struct daxmap_pool_stat) >= STAT_SIZE_0_1, "stat shrank");

/* A stat buffer of sizeof(struct daxmap_pool_stat) + 64 bytes, every byte 0xa5. */
static unsigned char *stat_buf(void)
{
	unsigned char *b = malloc(sizeof(struct daxmap_pool_stat) + 64);
	CU_ASSERT_FATAL(b != NULL);
	memset(b, 0xa5, sizeof(struct daxmap_pool_stat) + 64);
	return b;
}

static int all_a5(const unsigned char *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b[i] != 0xa5)
			return 0;
	return 1;
}

static void test_stat_fills_only_the_size_the_caller_has(void)
{
	daxmap_pool *pool = tu_pool_create("statsize.pool", 32 * MiB);
	const size_t full = sizeof(struct daxmap_pool_stat);
	struct daxmap_pool_stat ref, got;
	unsigned char *b = stat_buf();
	daxmap_obj *obj;

	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_allocate(obj, 0, 4 * MiB));
	TU_OK(daxmap_pool_stat(pool, &ref));
	CU_ASSERT(ref.used == 4 * MiB && ref.objects == 1 && ref.extents_allocated == 2);

	/* a program built with libdaxmap 0.1: its 416 bytes, not one more */
	TU_OK(daxmap_pool_stat_sized(pool, (struct daxmap_pool_stat *)b, STAT_SIZE_0_1));
	memcpy(&got, b, STAT_SIZE_0_1);
	CU_ASSERT(got.size == ref.size && got.data_size == ref.data_size);
	CU_ASSERT(got.extent_size == ref.extent_size && got.max_objects == ref.max_objects);
	CU_ASSERT(got.used == ref.used && got.objects == ref.objects);
	CU_ASSERT(got.extents_allocated == ref.extents_allocated);
	CU_ASSERT(memcmp(got.latency_ns_log2, ref.latency_ns_log2, sizeof(ref.latency_ns_log2)) == 0);
	CU_ASSERT(all_a5(b, STAT_SIZE_0_1, full + 64));

	/* a program built with a newer header: the fields this library lacks read 0 */
	memset(b, 0xa5, full + 64);
	TU_OK(daxmap_pool_stat_sized(pool, (struct daxmap_pool_stat *)b, full + 32));
	memcpy(&got, b, full);
	CU_ASSERT(got.size == ref.size && got.used == ref.used);
	for (size_t i = full; i < full + 32; i++)
		CU_ASSERT(b[i] == 0);
	CU_ASSERT(all_a5(b, full + 32, full + 64));

	/* smaller than the first struct: refused, nothing written */
	memset(b, 0xa5, full + 64);
	CU_ASSERT(daxmap_pool_stat_sized(pool, (void *)b, STAT_SIZE_0_1 - 1) == -EINVAL);
	CU_ASSERT(strstr(daxmap_errormsg(), "stat size 415 is smaller than the 416 bytes") != NULL);
	CU_ASSERT(daxmap_pool_stat_sized(pool, (struct daxmap_pool_stat *)b, 0) == -EINVAL);
	CU_ASSERT(daxmap_pool_stat_sized(pool, NULL, full) == -EINVAL);
	CU_ASSERT(all_a5(b, 0, full + 64));

	free(b);
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--try-open") == 0)
		return helper_try_open(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--hold") == 0)
		return helper_hold(argv[2]);

	static const struct tu_test tests[] = {
		{"create_open_close_round_trip", test_create_open_close_round_trip},
		{"create_over_existing_file_is_eexist", test_create_over_existing_file_is_eexist},
		{"create_with_bad_size_is_einval", test_create_with_bad_size_is_einval},
		{"create_with_bad_extent_size_is_einval", test_create_with_bad_extent_size_is_einval},
		{"open_of_non_pool_file_is_einval", test_open_of_non_pool_file_is_einval},
		{"open_of_pool_with_one_header_byte_flipped_is_euclean",
		 test_open_of_pool_with_one_header_byte_flipped_is_euclean},
		{"open_of_pool_with_bad_field_and_good_checksum_is_refused",
		 test_open_of_pool_with_bad_field_and_good_checksum_is_refused},
		{"open_of_truncated_copy_fails_cleanly", test_open_of_truncated_copy_fails_cleanly},
		{"second_open_in_same_process_is_ebusy", test_second_open_in_same_process_is_ebusy},
		{"pool_open_shared_is_in_use_for_everyone_else",
		 test_pool_open_shared_is_in_use_for_everyone_else},
		{"second_open_from_another_process_is_ebusy",
		 test_second_open_from_another_process_is_ebusy},
		{"pool_opens_again_after_owner_is_killed", test_pool_opens_again_after_owner_is_killed},
		{"96mib_pool_holds_80mib_object_fully_written",
		 test_96mib_pool_holds_80mib_object_fully_written},
		{"objects_survive_close_and_reopen", test_objects_survive_close_and_reopen},
		{"pool_list_reports_names_and_sizes", test_pool_list_reports_names_and_sizes},
		{"pool_close_with_open_object_or_mapping_is_ebusy",
		 test_pool_close_with_open_object_or_mapping_is_ebusy},
		{"stat_fills_only_the_size_the_caller_has", test_stat_fills_only_the_size_the_caller_has},
		{NULL, NULL},
	};
	return tu_run("pool", tests);
}
