/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static char pathbuf[4][512];
static int pathidx;

static void tu_cleanup(void)
{
	char cmd[300];
	if (dir[0] && !getenv("DAXMAP_TEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
}

const char *tu_dir(void)
{
	if (!dir[0]) {
		const char *base = getenv("DAXMAP_TEST_DIR");
		snprintf(dir, sizeof(dir), "%s/daxmap-test.XXXXXX", base && *base ? base : "/dev/shm");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(tu_cleanup);
	}
	return dir;
}

const char *tu_path(const char *name)
{
	char *p = pathbuf[pathidx++ & 3];
	snprintf(p, 512, "%s/%s", tu_dir(), name);
	return p;
}

daxmap_pool *tu_pool_create(const char *name, uint64_t size)
{
	return tu_pool_create_opts(name, size, NULL);
}

daxmap_pool *tu_pool_create_opts(const char *name, uint64_t size,
				 const struct daxmap_pool_opts *opts)
{
	daxmap_pool *pool = NULL;
	const char *path = tu_path(name);
	unlink(path);
	int ret = daxmap_pool_create_opts(&pool, path, size, 0600, opts);
	if (ret < 0)
		fprintf(stderr, "pool create %s: %s\n", path, daxmap_errormsg());
	CU_ASSERT_FATAL(ret == 0);
	return pool;
}

static __thread sigjmp_buf *tu_jmp;
static __thread void *tu_addr;
static __thread volatile int tu_sig;

static void tu_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!tu_jmp) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	tu_sig = sig;
	tu_addr = si->si_addr;
	siglongjmp(*tu_jmp, 1);
}

static void tu_install(void)
{
	static int done;
	if (done)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = tu_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	done = 1;
}

int tu_try_write8(volatile void *addr, uint8_t val)
{
	sigjmp_buf jb;
	tu_install();
	if (sigsetjmp(jb, 1)) {
		tu_jmp = NULL;
		return tu_sig;
	}
	tu_jmp = &jb;
	/* the handler reads tu_jmp: the store must come before the access
	 * (the compiler sees nothing read it otherwise, and drops it at -O1) */
	atomic_signal_fence(memory_order_seq_cst);
	*(volatile uint8_t *)addr = val;
	atomic_signal_fence(memory_order_seq_cst);
	tu_jmp = NULL;
	return 0;
}

int tu_try_read8(volatile const void *addr, uint8_t *out)
{
	sigjmp_buf jb;
	tu_install();
	if (sigsetjmp(jb, 1)) {
		tu_jmp = NULL;
		return tu_sig;
	}
	tu_jmp = &jb;
	/* the handler reads tu_jmp: the store must come before the access
	 * (the compiler sees nothing read it otherwise, and drops it at -O1) */
	atomic_signal_fence(memory_order_seq_cst);
	*out = *(volatile const uint8_t *)addr;
	atomic_signal_fence(memory_order_seq_cst);
	tu_jmp = NULL;
	return 0;
}

void *tu_last_sigaddr(void)
{
	return tu_addr;
}

int tu_vma_count(const void *start, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	uintptr_t s = (uintptr_t)start, e = s + len;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < e && b > s)
			n++;
	}
	fclose(f);
	return n;
}

uint64_t tu_seed(const char *test)
{
	const char *s = getenv("DAXMAP_TEST_SEED");
	uint64_t seed;
	if (s && *s) {
		seed = strtoull(s, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
	}
	printf("\n%s: seed %llu (replay with DAXMAP_TEST_SEED=%llu)\n", test,
	       (unsigned long long)seed, (unsigned long long)seed);
	return seed ? seed : 1;
}

uint64_t tu_rand(uint64_t *x)
{
	/* xorshift64* */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * UINT64_C(2685821657736338717);
}

int tu_run(const char *suite_name, const struct tu_test *tests)
{
	const char *only = getenv("DAXMAP_TEST_ONLY");
	CU_pSuite suite;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(suite_name, NULL, NULL);
	for (const struct tu_test *t = tests; t->name; t++)
		if (!only || !*only || strstr(t->name, only))
			CU_add_test(suite, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = (int)(CU_get_number_of_tests_failed() + CU_get_number_of_failures());
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

uint64_t tu_fletcher64(const void *buf, size_t len)
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

/* ---- watchdog ---- */

static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static int wd_armed;
static const char *wd_what;
static pthread_t wd_thread;

static void *watchdog_main(void *arg)
{
	unsigned secs = (unsigned)(uintptr_t)arg;
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&wd_mu);
	while (wd_armed && rc == 0)
		rc = pthread_cond_timedwait(&wd_cond, &wd_mu, &ts);
	if (wd_armed) {
		fprintf(stderr, "\nWATCHDOG: %s did not finish within %u s: hang\n", wd_what, secs);
		fflush(NULL);
		_exit(3);
	}
	pthread_mutex_unlock(&wd_mu);
	return NULL;
}

void tu_watchdog_arm(const char *what, unsigned secs)
{
	pthread_mutex_lock(&wd_mu);
	wd_armed = 1;
	wd_what = what;
	pthread_mutex_unlock(&wd_mu);
	CU_ASSERT_FATAL(pthread_create(&wd_thread, NULL, watchdog_main, (void *)(uintptr_t)secs) ==
			0);
}

void tu_watchdog_disarm(void)
{
	pthread_mutex_lock(&wd_mu);
	wd_armed = 0;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_mu);
	pthread_join(wd_thread, NULL);
}
