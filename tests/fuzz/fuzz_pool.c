/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target over pool images (tests/fuzz/README.md).
 *
 * Input: one strategy byte, then up to FUZZ_PREFIX bytes that replace the
 * start of a valid, empty 16 MiB pool (64 KiB extents, 8 object slots):
 * the header, the intent log, the object table and the whole extent table.
 * The rest of the file (data extents, all zero) stays as created. Strategy
 * bits fix up checksums after the bytes are placed, so that mutations get
 * past them and reach the deeper checks:
 *   bit 0  header checksum      bit 1  slot checksums (LIVE/DYING slots)
 *   bit 2  log record checksums (records with an op)
 * Bit 3 picks the base: a pool of fixed size (format version 1), or a
 * growable one (version 2, max_size 32 MiB: the layout is the maximum's,
 * the size words at 2048 and 2112 are outside the header checksum); bit 4,
 * over bit 3, a pool with blocks (version 3: 128 KiB extents, max_size
 * 32 MiB, a block table after the extent table, small objects' slot
 * flags). Each
 * input starts from a 16 MiB file again (an interrupted grow that open
 * undoes cuts the file back).
 *
 * Each input is then checked (daxmap_pool_check), opened, listed, and every
 * object is opened, mapped and read: its first pages and its last page
 * before EOF, then punched, zeroed in part and shrunk. Every data byte
 * of the pool is zero, so any non-zero byte read
 * means the library mapped something that is not this pool's data: abort.
 * A crash, a hang, a sanitizer report, a leak or that abort is a finding.
 */
#define _GNU_SOURCE
#include <libdaxmap.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_pool.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define SLOT_SIZE 256u
#define OBJTAB_OFF 65536u
#define LOG_OFF 4096u
#define LOG_RECORDS 64u
#define HDR_CHECKSUM_OFF 4088u
#define HDR_CUR_SIZE_OFF 2048u
#define HDR_GROW_TO_OFF 2112u

static char pool_path[256];
static unsigned char *base; /* the pool's metadata as created: FUZZ_META bytes */
static unsigned char *base2; /* the same of a growable pool */
static unsigned char *base3; /* the same of a pool with blocks (version 3) */
static unsigned char *img;
static long page;

static uint64_t fletcher64(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t lo = 0, hi = 0;

	for (size_t i = 0; i < len; i += 4) {
		uint32_t w = 0;
		memcpy(&w, p + i, len - i >= 4 ? 4 : len - i);
		lo += w;
		hi += lo;
	}
	return (hi << 32) | (lo & 0xffffffffu);
}

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "fuzz_pool: %s: %s (%s)\n", what, daxmap_errormsg(), strerror(errno));
	abort();
}

const char *fuzz_pool_path(void)
{
	return pool_path;
}

int fuzz_pool_init(void)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool;
	const char *dir = getenv("DAXMAP_TEST_DIR");
	int fd;

	if (base)
		return 0;
	page = sysconf(_SC_PAGESIZE);
	snprintf(pool_path, sizeof(pool_path), "%s/daxmap-fuzz-%d.pool", dir && *dir ? dir : "/dev/shm",
		 (int)getpid());
	unlink(pool_path);
	daxmap_pool_opts_init(&o);
	o.extent_size = FUZZ_EXTENT;
	o.max_objects = FUZZ_MAX_OBJECTS;
	o.fault_threads = 1;
	base = malloc(FUZZ_META);
	base2 = malloc(FUZZ_META);
	base3 = malloc(FUZZ_META);
	img = malloc(FUZZ_META);
	if (!base || !base2 || !base3 || !img)
		die("malloc");
	for (int k = 0; k < 3; k++) {
		/* blocks, then growable, first: the fixed one stays as the file */
		unsigned char *b = k == 0 ? base3 : k == 1 ? base2 : base;
		o.max_size = k < 2 ? FUZZ_MAX_SIZE : 0;
		o.extent_size = k == 0 ? FUZZ_BLOCKS_EXTENT : FUZZ_EXTENT;
		unlink(pool_path);
		if (daxmap_pool_create_opts(&pool, pool_path, FUZZ_POOL_SIZE, 0600, &o) < 0)
			die("create the base pool");
		if (daxmap_pool_close(pool) < 0)
			die("close the base pool");
		fd = open(pool_path, O_RDONLY);
		if (fd < 0 || pread(fd, b, FUZZ_META, 0) != (ssize_t)FUZZ_META)
			die("read the base pool");
		close(fd);
	}
	atexit(fuzz_pool_fini);
	return 0;
}

void fuzz_pool_fini(void)
{
	if (pool_path[0])
		unlink(pool_path);
}

/* Writes strategy byte + prefix over the base metadata into the pool file. */
void fuzz_pool_write(const uint8_t *data, size_t size)
{
	unsigned strategy = size ? data[0] : 0;
	int fd;

	if (size) {
		data++;
		size--;
	}
	if (size > FUZZ_PREFIX)
		size = FUZZ_PREFIX;
	memcpy(img, strategy & 16 ? base3 : strategy & 8 ? base2 : base, FUZZ_META);
	memcpy(img, data, size);
	if (strategy & 2) {
		for (unsigned i = 0; i < FUZZ_MAX_OBJECTS; i++) {
			unsigned char *s = img + OBJTAB_OFF + i * SLOT_SIZE, tmp[SLOT_SIZE];
			uint64_t state, c;
			memcpy(&state, s, 8);
			if (state == 0)
				continue;
			memcpy(tmp, s, SLOT_SIZE);
			memset(tmp, 0, 16);      /* state, size */
			memset(tmp + 32, 0, 8);  /* checksum */
			c = fletcher64(tmp, SLOT_SIZE);
			memcpy(s + 32, &c, 8);
		}
	}
	if (strategy & 4) {
		for (unsigned i = 0; i < LOG_RECORDS; i++) {
			unsigned char *r = img + LOG_OFF + i * 64;
			uint64_t op, c;
			memcpy(&op, r, 8);
			if (op == 0)
				continue;
			c = fletcher64(r, 56);
			memcpy(r + 56, &c, 8);
		}
	}
	if (strategy & 1) {
		/* cur_size and grow_to count as zero (version 2 leaves them out) */
		static unsigned char tmp[HDR_CHECKSUM_OFF];
		uint64_t c;
		memcpy(tmp, img, HDR_CHECKSUM_OFF);
		memset(tmp + HDR_CUR_SIZE_OFF, 0, 8);
		memset(tmp + HDR_GROW_TO_OFF, 0, 8);
		c = fletcher64(tmp, HDR_CHECKSUM_OFF);
		memcpy(img + HDR_CHECKSUM_OFF, &c, 8);
	}
	fd = open(pool_path, O_WRONLY);
	/* the file as created: 16 MiB, the data all zero (what an earlier
	 * input's open cut back or grew is restored; cut parts read zero) */
	if (fd < 0 || ftruncate(fd, (off_t)(FUZZ_META)) < 0 ||
	    ftruncate(fd, (off_t)FUZZ_POOL_SIZE) < 0 ||
	    pwrite(fd, img, FUZZ_META, 0) != (ssize_t)FUZZ_META)
		die("write the pool image");
	close(fd);
}

static int collect(const char *name, uint64_t size, void *arg)
{
	char (*names)[DAXMAP_MAX_NAME + 1] = arg;
	(void)size;
	for (unsigned i = 0; i < FUZZ_MAX_OBJECTS; i++)
		if (!names[i][0]) {
			snprintf(names[i], DAXMAP_MAX_NAME + 1, "%s", name);
			return 0;
		}
	return 1; /* more objects than slots: the walk must not report that */
}

/* Maps len bytes of obj at off (page aligned) and reads one byte per page
 * below EOF: all must be zero. */
static void read_range(daxmap_obj *obj, uint64_t off, size_t len, uint64_t eof)
{
	volatile unsigned char *p;

	if (daxmap_map((void **)&p, obj, off, len, DAXMAP_PROT_READ) < 0)
		return; /* e.g. EFBIG for a huge EOF: fine */
	for (uint64_t o = 0; o < len && off + o < eof; o += (uint64_t)page) {
		uint64_t last = eof - off < o + (uint64_t)page ? eof - off - 1 : o + (uint64_t)page - 1;
		if (p[o] != 0 || p[last] != 0) {
			fprintf(stderr, "fuzz_pool: non-zero byte at object offset %llu: the mapping "
					"is not this pool's zeroed data\n",
				(unsigned long long)(off + o));
			abort();
		}
	}
	if (daxmap_unmap((void *)p, len) < 0)
		die("unmap");
}

void fuzz_pool_exercise(void)
{
	char names[FUZZ_MAX_OBJECTS][DAXMAP_MAX_NAME + 1];
	struct daxmap_pool_opts o;
	struct daxmap_pool_stat st;
	daxmap_pool *pool;
	int ret;

	ret = daxmap_pool_check(pool_path, 0, NULL, NULL);
	if (ret < 0 && ret != -EPROTONOSUPPORT)
		die("check could not run");
	daxmap_pool_opts_init(&o);
	o.fault_threads = 1;
	ret = daxmap_pool_open_opts(&pool, pool_path, &o);
	if (ret < 0) {
		if (daxmap_errormsg()[0] == 0)
			die("open failed without a message");
		return;
	}
	if (daxmap_pool_stat(pool, &st) < 0)
		die("stat");
	memset(names, 0, sizeof(names));
	if (daxmap_pool_list(pool, collect, names) != 0)
		die("list reported more objects than slots");
	for (unsigned i = 0; i < FUZZ_MAX_OBJECTS && names[i][0]; i++) {
		daxmap_obj *obj;
		uint64_t size;

		if (daxmap_obj_open(&obj, pool, names[i], 0) < 0)
			die("open a listed object");
		if (daxmap_obj_size(obj, &size) < 0)
			die("size");
		read_range(obj, 0, 4 * (size_t)page, size);
		if (size > 4 * (uint64_t)page)
			read_range(obj, (size - 1) & ~((uint64_t)page - 1), (size_t)page, size);
		/* change its extents too: punch, zero and shrink only write zeros,
		 * so the data stays all zero; errors are fine, crashes are not */
		if (size > 0) {
			daxmap_obj_punch_hole(obj, (uint64_t)page, 2 * (uint64_t)page);
			daxmap_obj_zero_range(obj, size / 3, (uint64_t)page);
			daxmap_obj_truncate(obj, size / 2);
			read_range(obj, 0, 2 * (size_t)page, size / 2);
		}
		if (daxmap_obj_close(obj) < 0)
			die("obj close");
	}
	if (daxmap_pool_close(pool) < 0)
		die("pool close");
	/* what open repaired must now check clean */
	ret = daxmap_pool_check(pool_path, 0, NULL, NULL);
	if (ret != 0) {
		fprintf(stderr, "fuzz_pool: the pool opened, but check says %d afterwards\n", ret);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_pool_init();
	fuzz_pool_write(data, size);
	fuzz_pool_exercise();
	return 0;
}
