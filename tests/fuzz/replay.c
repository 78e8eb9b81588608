/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runs fuzz_pool's entry point without libFuzzer: over every file named on
 * the command line, or every file in a named directory (the ctest
 * fuzz_regressions replays tests/fuzz/regressions/ and tests/fuzz/corpus/).
 *
 *   fuzz_replay FILE|DIR...
 *   fuzz_replay --make-seeds DIR    writes the seed corpus
 */
#define _GNU_SOURCE
#include <libdaxmap.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_pool.h"

static int replay_file(const char *path)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return 1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		perror(path);
		return 1;
	}
	close(fd);
	printf("%s (%lld bytes)\n", path, (long long)st.st_size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay(const char *path)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int ret = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if (!(d = opendir(path)))
		return 1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (asprintf(&names[n++], "%s/%s", path, de->d_name) < 0)
			return 1;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		ret |= replay_file(names[i]);
		free(names[i]);
	}
	free(names);
	return ret;
}

/* ---- seed corpus ---- */

static const char *seed_dir;

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "make-seeds: %s: %s\n", what, daxmap_errormsg());
	exit(1);
}

static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("poke");
	close(fd);
}

static void save(const char *path, const char *name, unsigned strategy)
{
	static unsigned char buf[FUZZ_PREFIX + 1];
	char out[512];
	int fd = open(path, O_RDONLY);

	buf[0] = (unsigned char)strategy;
	if (fd < 0 || pread(fd, buf + 1, FUZZ_PREFIX, 0) != (ssize_t)FUZZ_PREFIX)
		die("read seed");
	close(fd);
	/* trailing zeros add nothing: the base image is zero there too */
	size_t len = sizeof(buf);
	while (len > 1 && buf[len - 1] == 0)
		len--;
	snprintf(out, sizeof(out), "%s/%s", seed_dir, name);
	fd = open(out, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		die("write seed");
	close(fd);
	printf("%s: %zu bytes\n", out, len);
}

static daxmap_pool *mkpool_ext(const char *path, uint64_t max, uint64_t extent)
{
	struct daxmap_pool_opts o;
	daxmap_pool *pool;

	unlink(path);
	daxmap_pool_opts_init(&o);
	o.extent_size = extent;
	o.max_objects = FUZZ_MAX_OBJECTS;
	o.fault_threads = 1;
	o.max_size = max;
	if (daxmap_pool_create_opts(&pool, path, FUZZ_POOL_SIZE, 0600, &o) < 0)
		die("create");
	return pool;
}

static daxmap_pool *mkpool_max(const char *path, uint64_t max)
{
	return mkpool_ext(path, max, FUZZ_EXTENT);
}

static daxmap_pool *mkpool(const char *path)
{
	return mkpool_max(path, 0);
}

static void obj_fill_flags(daxmap_pool *pool, const char *name, uint64_t size, uint64_t off,
			   uint64_t len, int flags)
{
	daxmap_obj *obj;
	unsigned char *p;

	if (daxmap_obj_open(&obj, pool, name, DAXMAP_CREATE | flags) < 0 ||
	    daxmap_obj_truncate(obj, size) < 0)
		die("object");
	if (len) {
		if (daxmap_obj_allocate(obj, off, len) < 0 ||
		    daxmap_map((void **)&p, obj, off, len, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE) < 0)
			die("allocate/map");
		memset(p, 0x11, len);
		daxmap_unmap(p, len);
	}
	daxmap_obj_close(obj);
}

static void obj_fill(daxmap_pool *pool, const char *name, uint64_t size, uint64_t off,
		     uint64_t len)
{
	obj_fill_flags(pool, name, size, off, len, 0);
}

static int make_seeds(const char *dir)
{
	char path[512];
	daxmap_pool *pool;
	uint64_t v, rec[8];

	seed_dir = dir;
	snprintf(path, sizeof(path), "/dev/shm/daxmap-seed-%d", (int)getpid());

	pool = mkpool(path);
	daxmap_pool_close(pool);
	save(path, "empty", 0);

	pool = mkpool(path);
	obj_fill(pool, "a", 200 << 10, 0, 128 << 10);
	obj_fill(pool, "b", UINT64_C(1) << 40, UINT64_C(1) << 39, 192 << 10);
	obj_fill(pool, "hole", 5 << 20, 0, 0);
	obj_fill(pool, "z", 0, 0, 0);
	obj_fill(pool, "tail", 3 << 20, (2 << 20) + (64 << 10), 64 << 10);
	daxmap_pool_close(pool);
	save(path, "objects", 0);
	save(path, "objects-fixsums", 7);

	/* a pending shrink of "a" (slot 0) to 4 KiB */
	memset(rec, 0, sizeof(rec));
	rec[0] = 1;
	rec[2] = 4096;
	rec[4] = 1;
	poke(path, 4096 + 64, rec, sizeof(rec));
	save(path, "log-shrink", 4);
	/* a pending punch of b's data */
	rec[0] = 2;
	rec[1] = 1;
	rec[2] = UINT64_C(1) << 39;
	rec[3] = (UINT64_C(1) << 39) + (100 << 10);
	rec[4] = 2;
	poke(path, 4096 + 128, rec, sizeof(rec));
	save(path, "log-punch", 4);

	/* slot 1 ("dying") being unlinked */
	pool = mkpool(path);
	obj_fill(pool, "a", 200 << 10, 0, 128 << 10);
	obj_fill(pool, "dying", 1 << 20, 0, 256 << 10);
	daxmap_pool_close(pool);
	v = UINT64_C(0x474e49594a424f44);
	poke(path, 65536 + 256, &v, 8);
	save(path, "dying", 0);
	/* an extent past EOF (a shrink interrupted after its size change) and a
	 * free extent waiting to be zeroed */
	v = 4096;
	poke(path, 65536 + 256 + 8, &v, 8);
	v = 0;
	poke(path, 65536 + 256, &v, 8);
	v = UINT64_C(1) << 62;
	poke(path, 65536 + 4096 + 8 * 100, &v, 8);
	{
		uint64_t live = UINT64_C(0x4556494c4a424f44);
		poke(path, 65536 + 256, &live, 8);
	}
	save(path, "past-eof-dirty", 2);

	/* growable (version 2): objects; then a grow interrupted with the
	 * file not extended (open undoes it), and one whose file reached
	 * its size (open finishes it: here the file is the base's 16 MiB) */
	pool = mkpool_max(path, FUZZ_MAX_SIZE);
	obj_fill(pool, "a", 200 << 10, 0, 128 << 10);
	obj_fill(pool, "tail", 3 << 20, (2 << 20) + (64 << 10), 64 << 10);
	daxmap_pool_close(pool);
	save(path, "growable", 8 | 7);
	v = 12 << 20;
	poke(path, 2048, &v, 8);
	v = 24 << 20;
	poke(path, 2112, &v, 8);
	save(path, "grow-undo", 8 | 7);
	v = 16 << 20;
	poke(path, 2112, &v, 8);
	save(path, "grow-finish", 8 | 7);

	/* blocks (version 3): small objects beside one of extents, sharing
	 * split extents; then one of their blocks freed, not yet zeroed */
	pool = mkpool_ext(path, FUZZ_MAX_SIZE, FUZZ_BLOCKS_EXTENT);
	obj_fill(pool, "big", 300 << 10, 0, 256 << 10);
	obj_fill_flags(pool, "s1", 100 << 10, 0, 128 << 10, DAXMAP_SMALL);
	obj_fill_flags(pool, "s2", 1 << 20, 64 << 10, 64 << 10, DAXMAP_SMALL);
	obj_fill_flags(pool, "s3", 4 << 10, 0, 0, DAXMAP_SMALL);
	daxmap_pool_close(pool);
	save(path, "blocks", 16 | 7);
	{
		struct daxmap_pool_info in;
		memset(&in, 0, sizeof(in));
		if (daxmap_pool_inspect(path, 0, &in, NULL, NULL) < 0 || in.block_size == 0)
			die("inspect the pool with blocks");
		/* the block table follows the extent table's entries */
		uint64_t blktab = in.extent_table.off + 8 * in.extents;
		/* the first block entry that is allocated: dirty now */
		int fd = open(path, O_RDWR);
		for (uint64_t i = 0; fd >= 0 && i < 64; i++) {
			uint64_t e = 0;
			if (pread(fd, &e, 8, (off_t)(blktab + 8 * i)) == 8 && e >> 62 == 2) {
				v = UINT64_C(1) << 62;
				if (pwrite(fd, &v, 8, (off_t)(blktab + 8 * i)) != 8)
					die("poke");
				break;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	save(path, "blocks-dirty", 16 | 7);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 0;

	if (argc == 3 && !strcmp(argv[1], "--make-seeds"))
		return make_seeds(argv[2]);
	if (argc < 2) {
		fprintf(stderr, "usage: fuzz_replay FILE|DIR... | --make-seeds DIR\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		ret |= replay(argv[i]);
	printf("replayed: no crash\n");
	return ret;
}
