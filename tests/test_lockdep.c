/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The run-time lock validator (src/lockdep.c, compiled into this program
 * with classes of the test's own): each mistake runs in a forked child that
 * must die of SIGABRT with the expected report on stderr. Then the
 * library's own operations, in a child process of their own, must give no
 * report, and every lock order they show must be one doc/LOCKING.md allows.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include "../src/lock.h"
#include "../src/lockdep.h"
#include "../src/rangelock.h"
#include "lockchart.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The children below make their mistakes on purpose: those marked NO_TSA
 * would not even compile under clang's -Wthread-safety -Werror, which
 * catches them statically; the validator must catch them at run time.
 */
static struct lockclass class_a = LOCKCLASS("test A", 0);
static struct lockclass class_b = LOCKCLASS("test B", 0);
static struct lockclass class_rw = LOCKCLASS("test rw", 0);
static struct lockclass class_nest = LOCKCLASS("test nestable", LOCKCLASS_NESTABLE);
static struct lockclass class_range = LOCKCLASS("test range", 0);

static struct dm_mutex lock_a = MUTEX_INITIALIZER(class_a);
static struct dm_mutex lock_a2 = MUTEX_INITIALIZER(class_a);
static struct dm_mutex lock_b = MUTEX_INITIALIZER(class_b);
static struct dm_rwlock lock_rw = RWLOCK_INITIALIZER(class_rw);

#define OUT_MAX (256 * 1024)

struct child {
	int status;
	char out[OUT_MAX]; /* its stderr */
};

static struct child res;

static void child_collect(pid_t pid, int fd, struct child *r)
{
	size_t n = 0;
	ssize_t k;

	while (n < OUT_MAX - 1 && (k = read(fd, r->out + n, OUT_MAX - 1 - n)) > 0)
		n += (size_t)k;
	r->out[n] = 0;
	close(fd);
	CU_ASSERT_FATAL(waitpid(pid, &r->status, 0) == pid);
}

/* Runs fn in a forked child with its stderr captured. */
static void child_run(void (*fn)(void), struct child *r)
{
	int p[2];
	pid_t pid;

	CU_ASSERT_FATAL(pipe(p) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		fn();
		_exit(0);
	}
	close(p[1]);
	child_collect(pid, p[0], r);
}

static int died_of_abort(const struct child *r)
{
	return WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT;
}

/* Asserts that the report holds `text`; prints the report when it does not. */
#define CHECK_REPORT(r, text)                                                                      \
	do {                                                                                       \
		int found_ = strstr((r)->out, (text)) != NULL;                                     \
		if (!found_)                                                                       \
			fprintf(stderr, "\nexpected \"%s\" in:\n%s\n", (text), (r)->out);          \
		CU_ASSERT(found_);                                                                 \
	} while (0)

/* --- order inversion across two threads, run one after the other --- */

static void *inversion_thread1(void *arg)
{
	(void)arg;
	mutex_lock(&lock_a);
	mutex_lock(&lock_b);
	mutex_unlock(&lock_b);
	mutex_unlock(&lock_a);
	return NULL;
}

static void *inversion_thread2(void *arg)
{
	(void)arg;
	mutex_lock(&lock_b);
	mutex_lock(&lock_a); /* no deadlock now, but one waits to happen */
	mutex_unlock(&lock_a);
	mutex_unlock(&lock_b);
	return NULL;
}

static void inversion_child(void)
{
	pthread_t t;

	pthread_create(&t, NULL, inversion_thread1, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, inversion_thread2, NULL);
	pthread_join(t, NULL);
}

static void test_inversion_across_threads_reports_both_stacks(void)
{
	child_run(inversion_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "libdaxmap lockdep: lock order inversion");
	CHECK_REPORT(&res, "takes test A while holding test B");
	CHECK_REPORT(&res, "the order learned so far has test A before test B");
	CHECK_REPORT(&res, "new: test B -> test A");
	CHECK_REPORT(&res, "old: test A -> test B, first seen in thread");
	/* both acquisition stacks: the old edge's and the current one */
	CHECK_REPORT(&res, "inversion_thread1");
	CHECK_REPORT(&res, "inversion_thread2");
}

/* Shared mode counts for the order just as exclusive does. */
static void rw_inversion_child(void) NO_TSA
{
	rwlock_rdlock(&lock_rw);
	mutex_lock(&lock_a);
	mutex_unlock(&lock_a);
	rwlock_rdunlock(&lock_rw);

	mutex_lock(&lock_a);
	rwlock_wrlock(&lock_rw);
}

static void test_rwlock_inversion_in_either_mode(void)
{
	child_run(rw_inversion_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "takes test rw while holding test A");
	CHECK_REPORT(&res, "test rw (shared) acquired at:");
	CHECK_REPORT(&res, "rw_inversion_child");
}

/* A longer cycle: A -> B, B -> rw, then rw -> A closes it. */
static void cycle3_child(void) NO_TSA
{
	mutex_lock(&lock_a);
	mutex_lock(&lock_b);
	mutex_unlock(&lock_b);
	mutex_unlock(&lock_a);
	mutex_lock(&lock_b);
	rwlock_wrlock(&lock_rw);
	rwlock_wrunlock(&lock_rw);
	mutex_unlock(&lock_b);
	rwlock_wrlock(&lock_rw);
	mutex_lock(&lock_a);
}

static void test_cycle_through_three_classes(void)
{
	child_run(cycle3_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "takes test A while holding test rw");
	CHECK_REPORT(&res, "old: test A -> test B");
	CHECK_REPORT(&res, "old: test B -> test rw");
}

/* --- unbalanced unlock --- */

static void unbalanced_child(void) NO_TSA
{
	mutex_lock(&lock_b);
	mutex_unlock(&lock_a);
}

static void test_release_of_lock_not_held(void)
{
	child_run(unbalanced_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "libdaxmap lockdep: release of a lock not held");
	CHECK_REPORT(&res, "releases test A");
	CHECK_REPORT(&res, "unbalanced_child");
	CHECK_REPORT(&res, "locks held by thread");
	CHECK_REPORT(&res, "test B (exclusive");
}

/* --- a fault handler that keeps a lock (lock state from a return value) --- */

static int stand_in_lookup(int found)
{
	return found ? 0 : -ENOENT;
}

/* Stands in for fault.c's fault_handle, with the 2015 mistake: whether the
 * lock is released depends on what the lookup returned. */
static void stand_in_fault_handle(int found) NO_TSA
{
	mutex_lock(&lock_a);
	if (stand_in_lookup(found) == 0)
		mutex_unlock(&lock_a);
	lockdep_assert_none_held("fault handler");
}

static void *stand_in_handler_thread(void *arg)
{
	(void)arg;
	stand_in_fault_handle(1); /* fine */
	stand_in_fault_handle(0); /* keeps lock_a */
	return NULL;
}

static void held_child(void)
{
	pthread_t t;

	pthread_create(&t, NULL, stand_in_handler_thread, NULL);
	pthread_join(t, NULL);
}

static void test_lock_held_at_end_of_fault_handler(void)
{
	child_run(held_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "lock held at the end of a section that must release all");
	CHECK_REPORT(&res, "reached the end of fault handler with 1 lock held");
	CHECK_REPORT(&res, "test A (exclusive");
	CHECK_REPORT(&res, "stand_in_fault_handle");
}

/* --- recursive acquisition --- */

static void recursive_child(void) NO_TSA
{
	mutex_lock(&lock_a);
	mutex_lock(&lock_a2); /* another lock, same class: not a documented nesting */
}

static void test_recursive_acquisition_of_a_class(void)
{
	child_run(recursive_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "libdaxmap lockdep: recursive acquisition");
	CHECK_REPORT(&res, "takes test A (exclusive");
	CHECK_REPORT(&res, "a lock of the same class");
	CHECK_REPORT(&res, "recursive_child");
}

static void recursive_self_child(void) NO_TSA
{
	rwlock_rdlock(&lock_rw);
	rwlock_rdlock(&lock_rw);
}

static void test_recursive_read_of_one_rwlock(void)
{
	child_run(recursive_self_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "recursive acquisition");
	CHECK_REPORT(&res, "the same lock");
}

/* Two range locks nested: the range lock counts as one class. */
static void range_nest_child(void) NO_TSA
{
	struct rangelock r1, r2;
	struct range_entry e1, e2;

	rangelock_init(&r1, class_range);
	rangelock_init(&r2, class_range);
	rangelock_lock(&r1, &e1, 0, 4096, 1);
	rangelock_lock(&r2, &e2, 0, 4096, 0);
}

static void test_nested_range_locks_reported(void)
{
	child_run(range_nest_child, &res);
	CU_ASSERT(died_of_abort(&res));
	CHECK_REPORT(&res, "takes test range (shared");
	CHECK_REPORT(&res, "while holding test range (exclusive");
}

/* A class marked nestable may be held twice (two locks), and the order to
 * other classes is still learned. */
static void nestable_child(void)
{
	struct dm_mutex n1, n2;

	mutex_init(&n1, class_nest);
	mutex_init(&n2, class_nest);
	mutex_lock(&n1);
	mutex_lock(&n2);
	mutex_lock(&lock_b);
	mutex_unlock(&lock_b);
	mutex_unlock(&n2);
	mutex_unlock(&n1);
	lockdep_assert_none_held("nestable_child");
}

static void test_nestable_class_may_nest(void)
{
	child_run(nestable_child, &res);
	CU_ASSERT(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CU_ASSERT(strstr(res.out, "libdaxmap lockdep") == NULL);
}

/* A trylock never waits: taking B then trying A adds no order. */
static void trylock_child(void)
{
	struct rangelock r;
	struct range_entry e;
	struct range_parked item;

	rangelock_init(&r, class_range);
	rangelock_lock(&r, &e, 0, 4096, 1);
	mutex_lock(&lock_b);
	mutex_unlock(&lock_b);
	rangelock_unlock(&r, &e);

	mutex_lock(&lock_b);
	if (rangelock_trylock(&r, &e, 0, 4096, 1, &item) == 0)
		rangelock_unlock(&r, &e);
	mutex_unlock(&lock_b);
	lockdep_assert_none_held("trylock_child");
}

static void test_trylock_adds_no_order(void)
{
	child_run(trylock_child, &res);
	CU_ASSERT(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CU_ASSERT(strstr(res.out, "libdaxmap lockdep") == NULL);
}

/* --- the library's own operations --- */

/*
 * Run by this program re-executed with DAXMAP_LOCKDEP_DUMP=1 (the library's
 * validator reads it when the library loads): every kind of operation, so
 * that the validator sees each lock the library takes.
 */
static void workload(void)
{
	const uint64_t mib = 1 << 20;
	daxmap_pool *pool;
	daxmap_obj *obj;
	struct daxmap_pool_stat st;
	uint8_t v;
	char *p;
	pid_t pid;
	int status;

	pool = tu_pool_create("lockdep.pool", 64 * mib);
	TU_OK(daxmap_obj_open(&obj, pool, "o", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(obj, 16 * mib));
	TU_OK(daxmap_map((void **)&p, obj, 0, 32 * mib, PROT_READ | PROT_WRITE));
	for (uint64_t off = 0; off < 8 * mib; off += mib)
		p[off] = 1;                        /* first touch: allocate */
	CU_ASSERT(tu_try_read8(p + 12 * mib, &v) == 0); /* read of a hole */
	CU_ASSERT(tu_try_write8(p + 12 * mib, 2) == 0); /* then a write */
	CU_ASSERT(tu_try_write8(p + 20 * mib, 3) == SIGBUS); /* past EOF */
	TU_OK(daxmap_persist(p, 8 * mib));
	TU_OK(daxmap_obj_punch_hole(obj, 2 * mib, 2 * mib));
	TU_OK(daxmap_obj_zero_range(obj, 4 * mib, 2 * mib));
	TU_OK(daxmap_obj_allocate(obj, 14 * mib, 2 * mib));
	/* pread, pwrite into a hole, and one past EOF (the range to the end) */
	CU_ASSERT(daxmap_obj_pwrite(obj, p, 4096, 10 * mib, 0) == 4096);
	CU_ASSERT(daxmap_obj_pwrite(obj, &v, 1, 17 * mib, DAXMAP_DSYNC) == 1);
	CU_ASSERT(daxmap_obj_pread(obj, &v, 1, 10 * mib) == 1);
	TU_OK(daxmap_obj_truncate(obj, 5 * mib));
	TU_OK(daxmap_obj_truncate(obj, 24 * mib));
	p[22 * mib] = 4;
	TU_OK(daxmap_pool_stat(pool, &st));
	fflush(NULL);
	pid = fork(); /* the atfork handlers take pools_lock and maps_lock */
	if (pid == 0)
		_exit(0);
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	TU_OK(daxmap_unmap(p, 32 * mib));
	TU_OK(daxmap_obj_close(obj));
	TU_OK(daxmap_obj_unlink(pool, "o"));
	TU_OK(daxmap_pool_close(pool));
	TU_OK(daxmap_pool_open(&pool, tu_path("lockdep.pool")));
	TU_OK(daxmap_pool_close(pool));
}

static void test_library_operations_give_no_report_and_follow_the_chart(void)
{
	struct chart chart;
	int p[2], edges = 0;
	pid_t pid;
	char *line;

	CU_ASSERT_FATAL(chart_read(&chart, DAXMAP_SOURCE_DIR "/doc/LOCKING.md") > 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1); /* CUnit's own report too, shown on failure */
		dup2(p[1], 2);
		setenv("DAXMAP_LOCKDEP_DUMP", "1", 1);
		execl("/proc/self/exe", "test_lockdep", "--workload", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	child_collect(pid, p[0], &res);
	CU_ASSERT(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	CU_ASSERT(strstr(res.out, "libdaxmap lockdep:") == NULL);
	if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0 ||
	    strstr(res.out, "libdaxmap lockdep:"))
		fprintf(stderr, "\nworkload output:\n%s\n", res.out);
	/* every order the library showed must be one the chart allows */
	for (line = strstr(res.out, "lockdep: order "); line;
	     line = strstr(line + 1, "lockdep: order ")) {
		char a[96], b[96];

		if (sscanf(line, "lockdep: order %95s -> %95s", a, b) != 2)
			continue;
		edges++;
		if (!chart_allows(&chart, a, b))
			fprintf(stderr, "\nlearned order %s -> %s is not in doc/LOCKING.md's chart\n",
				a, b);
		CU_ASSERT(chart_allows(&chart, a, b));
	}
	if (DAXMAP_LIB_LOCKDEP) {
		/* the validator was there and watched: the fault path's order */
		CHECK_REPORT(&res, "lockdep: order maps_lock -> obj->range_lock");
		CHECK_REPORT(&res, "lockdep: order obj->range_lock -> obj->extents_lock");
		CHECK_REPORT(&res, "lockdep: order obj->extents_lock -> pool->alloc.lock");
		CHECK_REPORT(&res, "lockdep: order pools_lock -> maps_lock");
	} else {
		CU_ASSERT(edges == 0);
		printf("\n  (library built without DAXMAP_LOCKDEP: only checked that it runs)\n");
	}
}

int main(int argc, char **argv)
{
	static const struct tu_test tests[] = {
		{"inversion across threads reports both stacks",
		 test_inversion_across_threads_reports_both_stacks},
		{"rwlock inversion in either mode", test_rwlock_inversion_in_either_mode},
		{"cycle through three classes", test_cycle_through_three_classes},
		{"release of a lock not held", test_release_of_lock_not_held},
		{"lock held at end of fault handler", test_lock_held_at_end_of_fault_handler},
		{"recursive acquisition of a class", test_recursive_acquisition_of_a_class},
		{"recursive read of one rwlock", test_recursive_read_of_one_rwlock},
		{"nested range locks reported", test_nested_range_locks_reported},
		{"nestable class may nest", test_nestable_class_may_nest},
		{"trylock adds no order", test_trylock_adds_no_order},
		{"library operations give no report and follow the chart",
		 test_library_operations_give_no_report_and_follow_the_chart},
		{NULL, NULL},
	};

	static const struct tu_test workload_tests[] = {
		{"library workload", workload},
		{NULL, NULL},
	};

	if (argc == 2 && strcmp(argv[1], "--workload") == 0)
		return tu_run("lockdep workload", workload_tests);
	return tu_run("lockdep", tests);
}
