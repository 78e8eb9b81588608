/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Huge pages: with the pool on a tmpfs mounted huge=always, a resolved 2 MiB
 * extent is mapped by one PMD (extent and virtual address are both 2 MiB
 * aligned). Needs root to mount; otherwise the test says why it is skipped
 * and passes.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define ES DAXMAP_DEFAULT_EXTENT_SIZE
#define MiB (UINT64_C(1) << 20)
#define OBJ_SIZE (64 * MiB)

/* Sum of the "<key>: N kB" fields of the smaps entries overlapping [start, start+len). */
static long smaps_kb(const void *start, size_t len, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	uintptr_t s = (uintptr_t)start, e = s + len;
	size_t klen = strlen(key);
	int in = 0;
	long total = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t tok = strcspn(line, " \t\n");
		unsigned long lo, hi;

		if (tok > 0 && line[tok - 1] == ':') {
			/* a field line: "Key:   N kB" */
			if (in && tok - 1 == klen && strncmp(line, key, klen) == 0)
				total += strtol(line + tok, NULL, 10);
		} else if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			/* a VMA header line: "start-end perms offset dev inode path" */
			in = lo < e && hi > s;
		}
	}
	fclose(f);
	return total;
}

static void test_extent_on_huge_tmpfs_is_pmd_mapped(void)
{
	char dir[] = "/tmp/daxmap-huge.XXXXXX";
	char path[256];
	daxmap_pool *pool = NULL;
	daxmap_obj *obj = NULL;
	struct daxmap_pool_opts o;
	long file_pmd, shmem_pmd;
	void *va;
	int vmas;

	if (geteuid() != 0) {
		printf("\n  skipped: not running as root (mounting a huge=always tmpfs needs it)\n");
		return;
	}
	if (!mkdtemp(dir)) {
		printf("\n  skipped: mkdtemp %s: %s\n", dir, strerror(errno));
		return;
	}
	if (mount("tmpfs", dir, "tmpfs", 0, "huge=always,size=2G") != 0) {
		printf("\n  skipped: mount -t tmpfs -o huge=always,size=2G tmpfs %s: %s\n", dir,
		       strerror(errno));
		rmdir(dir);
		return;
	}
	snprintf(path, sizeof(path), "%s/huge.pool", dir);
	daxmap_pool_opts_init(&o);
	o.extent_size = ES;
	if (daxmap_pool_create_opts(&pool, path, 256 * MiB, 0600, &o) < 0) {
		fprintf(stderr, "pool create %s: %s\n", path, daxmap_errormsg());
		CU_FAIL("pool create on huge tmpfs");
		goto out_umount;
	}
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, OBJ_SIZE));
	TU_OK(daxmap_map(&va, obj, 0, OBJ_SIZE, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE));
	CU_ASSERT(((uintptr_t)va & (ES - 1)) == 0);
	for (uint64_t off = 0; off < OBJ_SIZE; off += 4096)
		CU_ASSERT_FATAL(tu_try_write8((char *)va + off, (uint8_t)(off >> 12 | 1)) == 0);
	file_pmd = smaps_kb(va, OBJ_SIZE, "FilePmdMapped");
	shmem_pmd = smaps_kb(va, OBJ_SIZE, "ShmemPmdMapped");
	vmas = tu_vma_count(va, OBJ_SIZE);
	printf("\n  64 MiB object on huge tmpfs: FilePmdMapped %ld kB, ShmemPmdMapped %ld kB, "
	       "%d VMAs\n",
	       file_pmd, shmem_pmd, vmas);
	CU_ASSERT(file_pmd > 0 || shmem_pmd > 0);
	CU_ASSERT(file_pmd == (long)(OBJ_SIZE >> 10) || shmem_pmd == (long)(OBJ_SIZE >> 10));
	for (uint64_t off = 0; off < OBJ_SIZE; off += 4096)
		CU_ASSERT(((volatile uint8_t *)va)[off] == (uint8_t)(off >> 12 | 1));
	TU_OK(daxmap_unmap(va, OBJ_SIZE));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_pool_close(pool));
out_umount:
	unlink(path);
	if (umount(dir) != 0)
		fprintf(stderr, "umount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"extent_on_huge_tmpfs_is_pmd_mapped", test_extent_on_huge_tmpfs_is_pmd_mapped},
		{NULL, NULL},
	};
	return tu_run("hugepage", tests);
}
