/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * demo: create a pool, map an object, write, close, reopen, read back.
 *
 *   daxmap_demo [POOL]      (default /dev/shm/daxmap-demo.pool)
 *
 * The first run creates the pool and writes a greeting plus a counter; each
 * later run reopens it, shows what the previous run left, and bumps the counter.
 */
#include <libdaxmap.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_SIZE (UINT64_C(8) << 20)

struct note {
	char text[64];
	unsigned long runs;
};

static int fail(const char *what, int ret)
{
	fprintf(stderr, "daxmap_demo: %s: %s\n", what, daxmap_errormsg());
	return ret < 0 ? -ret : 1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/shm/daxmap-demo.pool";
	struct daxmap_pool_stat st;
	daxmap_pool *pool;
	daxmap_obj *obj;
	struct note *n;
	void *addr;
	int ret, created = 0;

	ret = daxmap_pool_open(&pool, path);
	if (ret == -ENOENT) {
		ret = daxmap_pool_create(&pool, path, UINT64_C(64) << 20, 0600);
		created = 1;
	}
	if (ret < 0)
		return fail(path, ret);
	if ((ret = daxmap_obj_open(&obj, pool, "greeting", DAXMAP_CREATE)) < 0)
		return fail("open object", ret);
	if ((ret = daxmap_obj_truncate(obj, OBJ_SIZE)) < 0)
		return fail("truncate", ret);
	if ((ret = daxmap_map(&addr, obj, 0, OBJ_SIZE, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0)
		return fail("map", ret);

	n = addr; /* the first touch of this page allocates an extent from the pool */
	if (created || n->runs == 0)
		printf("%s: new pool, nothing stored yet\n", path);
	else
		printf("%s: found \"%s\" (run %lu)\n", path, n->text, n->runs);
	n->runs++;
	snprintf(n->text, sizeof(n->text), "hello from run %lu", n->runs);
	if ((ret = daxmap_persist(n, sizeof(*n))) < 0)
		return fail("persist", ret);

	daxmap_pool_stat(pool, &st);
	printf("wrote \"%s\"; pool: %llu MiB, %llu MiB used, %llu faults\n", n->text,
	       (unsigned long long)(st.size >> 20), (unsigned long long)(st.used >> 20),
	       (unsigned long long)st.faults);
	if ((ret = daxmap_unmap(addr, OBJ_SIZE)) < 0 || (ret = daxmap_obj_close(obj)) < 0 ||
	    (ret = daxmap_pool_close(pool)) < 0)
		return fail("close", ret);

	/* reopen and read back: the bytes came from the pool file */
	if ((ret = daxmap_pool_open(&pool, path)) < 0 ||
	    (ret = daxmap_obj_open(&obj, pool, "greeting", 0)) < 0 ||
	    (ret = daxmap_map(&addr, obj, 0, OBJ_SIZE, DAXMAP_PROT_READ)) < 0)
		return fail("reopen", ret);
	n = addr;
	printf("after reopen: \"%s\"\n", n->text);
	ret = strncmp(n->text, "hello from run", 14) == 0 ? 0 : 1;
	daxmap_unmap(addr, OBJ_SIZE);
	daxmap_obj_close(obj);
	daxmap_pool_close(pool);
	return ret;
}
