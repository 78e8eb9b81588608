/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pool creation is all or nothing: a process killed at any moment of
 * daxmap_pool_create leaves either no file at the path or a whole pool,
 * never a file that later opens refuse. On /dev/shm and on a disk file
 * system (DAXMAP_DISK_TEST_DIR, default /var/tmp).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_SIZE (UINT64_C(1) << 30)

static void ignore_report(const char *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

/* Kills creates at random moments; returns how many left a whole pool. */
static int kill_creates(const char *dir, int rounds, uint64_t *seed)
{
	char path[512];
	int whole = 0;

	snprintf(path, sizeof(path), "%s/create-kill.pool", dir);
	for (int i = 0; i < rounds; i++) {
		struct stat st;
		pid_t pid;
		int status;

		unlink(path);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			daxmap_pool *pool;
			_exit(daxmap_pool_create(&pool, path, POOL_SIZE, 0600) == 0 ? 0 : 1);
		}
		usleep((useconds_t)(tu_rand(seed) % 60000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (stat(path, &st) < 0) {
			CU_ASSERT_EQUAL(errno, ENOENT);
			continue;
		}
		/* there is a file: it must be a whole, clean pool */
		int rc = daxmap_pool_check(path, 0, ignore_report, NULL);
		if (rc != 0)
			printf("round %d: file left at %s is not a whole pool (check %d: %s)\n", i,
			       path, rc, daxmap_errormsg());
		CU_ASSERT_EQUAL(rc, 0);
		whole++;
	}
	unlink(path);
	return whole;
}

static void test_killed_create_leaves_nothing_or_a_whole_pool(void)
{
	uint64_t seed = tu_seed("create-kill");
	const char *disk = getenv("DAXMAP_DISK_TEST_DIR");
	char diskdir[256];
	int whole;

	whole = kill_creates(tu_dir(), 20, &seed);
	printf("create-kill: %d of 20 killed creates on %s had finished\n", whole, tu_dir());
	snprintf(diskdir, sizeof(diskdir), "%s/daxmap-create.XXXXXX", disk && *disk ? disk : "/var/tmp");
	if (mkdtemp(diskdir)) {
		whole = kill_creates(diskdir, 10, &seed);
		printf("create-kill: %d of 10 killed creates on %s had finished\n", whole, diskdir);
		rmdir(diskdir);
	}
}

static void test_create_over_existing_path_is_eexist_and_leaves_it(void)
{
	daxmap_pool *pool = NULL;
	const char *path = tu_path("exists.pool");
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs("not a pool", f);
	fclose(f);
	CU_ASSERT_EQUAL(daxmap_pool_create(&pool, path, 64 << 20, 0600), -EEXIST);
	CU_ASSERT(pool == NULL);
	f = fopen(path, "r");
	char buf[32] = {0};
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "not a pool");
}

int main(void)
{
	static const struct tu_test tests[] = {
		{"killed_create_leaves_nothing_or_a_whole_pool",
		 test_killed_create_leaves_nothing_or_a_whole_pool},
		{"create_over_existing_path_is_eexist_and_leaves_it",
		 test_create_over_existing_path_is_eexist_and_leaves_it},
		{NULL, NULL},
	};
	return tu_run("create", tests);
}
