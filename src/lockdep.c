/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Run-time lock validator (lockdep.h; doc/LOCKING.md, "Run-time validation").
 *
 * Per thread: the stack of held locks, each with its class, its mode and
 * the stack trace of its acquisition (libunwind's unw_backtrace). Globally:
 * the order learned so far, an adjacency matrix of classes (one 64-bit word
 * per class: bit b of after[a] means "b was taken while a was held"), with
 * the two stacks that first made each edge. The common acquisition finds
 * all its edges already known and takes no lock; graph_lock is taken only
 * to name a new class or add a new edge, and that is where a cycle is
 * looked for: a new edge A -> B closes one exactly when A is reachable from
 * B. Every report goes to stderr and ends in abort().
 */
#define _GNU_SOURCE
#include "lockdep.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* The library's classes: names exactly as in doc/LOCKING.md's chart. */
struct lockclass lockclass_pools_lock = LOCKCLASS("pools_lock", 0);
struct lockclass lockclass_maps_lock = LOCKCLASS("maps_lock", 0);
struct lockclass lockclass_objtab = LOCKCLASS("pool->objtab.lock", 0);
struct lockclass lockclass_range = LOCKCLASS("obj->range_lock", 0);
struct lockclass lockclass_extents = LOCKCLASS("obj->extents_lock", 0);
struct lockclass lockclass_alloc = LOCKCLASS("pool->alloc.lock", 0);
struct lockclass lockclass_log = LOCKCLASS("pool->log.lock", 0);
struct lockclass lockclass_err = LOCKCLASS("pool->fault.err_lock", 0);
struct lockclass lockclass_retry = LOCKCLASS("pool->fault.retry_lock", 0);
struct lockclass lockclass_rangelock_mu = LOCKCLASS("rangelock->mu", 0);
struct lockclass lockclass_grow = LOCKCLASS("pool->grow_lock", 0);
struct lockclass lockclass_shared_op = LOCKCLASS("run->op", 0);
struct lockclass lockclass_shared_meta = LOCKCLASS("run->meta", 0);

struct lockclass *const lockdep_library_classes[] = {
	&lockclass_pools_lock, &lockclass_maps_lock, &lockclass_objtab, &lockclass_range,
	&lockclass_extents,    &lockclass_alloc,     &lockclass_log,    &lockclass_err,
	&lockclass_retry,      &lockclass_rangelock_mu, &lockclass_grow, &lockclass_shared_op,
	&lockclass_shared_meta, NULL,
};

#define LOCKDEP_MAX_CLASSES 64 /* one bit each in a uint64_t row */
#define LOCKDEP_MAX_HELD 16
#define LOCKDEP_TRACE 16 /* frames kept per acquisition; frame 0 is lockdep's own */

struct lockdep_trace {
	int n;
	void *ip[LOCKDEP_TRACE];
};

struct lockdep_held {
	struct lockclass *cls;
	const void *lock;
	unsigned mode;
	struct lockdep_trace trace;
};

/* The acquisitions that first made an edge a -> b. */
struct lockdep_edge {
	pid_t tid;
	unsigned mode_a, mode_b;
	struct lockdep_trace a, b;
};

static __thread int nheld;
static __thread struct lockdep_held held[LOCKDEP_MAX_HELD];

/* protects: classes, nclasses, edges, and the writes of after[] */
static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lockclass *classes[LOCKDEP_MAX_CLASSES];
static int nclasses;
static uint64_t after[LOCKDEP_MAX_CLASSES]; /* read without graph_lock (atomic) */
static struct lockdep_edge *edges[LOCKDEP_MAX_CLASSES][LOCKDEP_MAX_CLASSES];

static pid_t lockdep_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* always inlined: frame 0 of the trace is then the lockdep_* entry point */
static inline __attribute__((always_inline)) void trace_save(struct lockdep_trace *t)
{
	t->n = unw_backtrace(t->ip, LOCKDEP_TRACE);
	if (t->n < 0)
		t->n = 0;
}

static void trace_print(const char *indent, const struct lockdep_trace *t)
{
	unw_accessors_t *acc = unw_get_accessors(unw_local_addr_space);

	if (t->n <= 1)
		fprintf(stderr, "%s(no stack trace)\n", indent);
	for (int i = 1; i < t->n; i++) {
		uintptr_t ip = (uintptr_t)t->ip[i];
		char name[160] = "?";
		unw_word_t off = 0;
		Dl_info di;

		/* ip - 1: inside the call, so that the name (and addr2line on
		 * the module offset) is that of the caller's line */
		if (acc->get_proc_name(unw_local_addr_space, (unw_word_t)(ip - 1), name, sizeof(name),
				       &off, NULL) == 0)
			off += 1;
		else
			strcpy(name, "?");
		if (dladdr((void *)ip, &di) && di.dli_fname) {
			const char *base = strrchr(di.dli_fname, '/');
			fprintf(stderr, "%s#%d %s+%#lx (%s+%#lx)\n", indent, i - 1, name,
				(unsigned long)off, base ? base + 1 : di.dli_fname,
				(unsigned long)(ip - (uintptr_t)di.dli_fbase));
		} else {
			fprintf(stderr, "%s#%d %s+%#lx [%#lx]\n", indent, i - 1, name,
				(unsigned long)off, (unsigned long)ip);
		}
	}
}

static const char *mode_name(unsigned mode)
{
	if (mode & LOCKDEP_TRY)
		return (mode & LOCKDEP_SHARED) ? "shared, trylock" : "exclusive, trylock";
	return (mode & LOCKDEP_SHARED) ? "shared" : "exclusive";
}

static void report_held(void)
{
	fprintf(stderr, "locks held by thread %d: %d\n", (int)lockdep_tid(), nheld);
	for (int i = 0; i < nheld; i++) {
		fprintf(stderr, "  %s (%s, lock %p), acquired at:\n", held[i].cls->name,
			mode_name(held[i].mode), held[i].lock);
		trace_print("    ", &held[i].trace);
	}
}

static void report_begin(const char *what)
{
	flockfile(stderr);
	fprintf(stderr, "\n==== libdaxmap lockdep: %s ====\n", what);
}

static __attribute__((noreturn)) void report_end(void)
{
	fprintf(stderr, "(lock order and rules: doc/LOCKING.md)\n====\n");
	funlockfile(stderr);
	abort();
}

/* The class's index, naming it on its first use. */
static int class_index(struct lockclass *c)
{
	int id = __atomic_load_n(&c->id, __ATOMIC_ACQUIRE);

	if (id)
		return id - 1;
	pthread_mutex_lock(&graph_lock);
	id = c->id;
	if (!id) {
		if (nclasses == LOCKDEP_MAX_CLASSES) {
			report_begin("too many lock classes");
			fprintf(stderr, "class %s would be number %d; raise LOCKDEP_MAX_CLASSES\n",
				c->name, nclasses + 1);
			report_end();
		}
		classes[nclasses] = c;
		id = ++nclasses;
		__atomic_store_n(&c->id, id, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&graph_lock);
	return id - 1;
}

/* Shortest path from -> to in the learned order; returns its number of
 * nodes (0: none), the nodes in path[]. Under graph_lock. */
static int path_find(int from, int to, int *path)
{
	int prev[LOCKDEP_MAX_CLASSES], queue[LOCKDEP_MAX_CLASSES], qh = 0, qt = 0, n = 0;
	uint64_t seen = (uint64_t)1 << from;

	queue[qt++] = from;
	while (qh < qt && !(seen & ((uint64_t)1 << to))) {
		int x = queue[qh++];
		uint64_t next = after[x] & ~seen;
		while (next) {
			int y = __builtin_ctzll(next);
			next &= next - 1;
			seen |= (uint64_t)1 << y;
			prev[y] = x;
			queue[qt++] = y;
		}
	}
	if (!(seen & ((uint64_t)1 << to)))
		return 0;
	for (int x = to;; x = prev[x]) {
		queue[n++] = x; /* reversed path; the queue is no longer needed */
		if (x == from)
			break;
	}
	for (int i = 0; i < n; i++)
		path[i] = queue[n - 1 - i];
	return n;
}

static __attribute__((noreturn)) void report_inversion(const struct lockdep_held *a,
						       const struct lockdep_held *b, const int *path,
						       int n)
{
	report_begin("lock order inversion");
	fprintf(stderr, "thread %d takes %s while holding %s,\n", (int)lockdep_tid(), b->cls->name,
		a->cls->name);
	fprintf(stderr, "but the order learned so far has %s before %s.\n\n", b->cls->name,
		a->cls->name);
	fprintf(stderr, "new: %s -> %s, in thread %d:\n", a->cls->name, b->cls->name,
		(int)lockdep_tid());
	fprintf(stderr, "  %s (%s, lock %p) acquired at:\n", a->cls->name, mode_name(a->mode),
		a->lock);
	trace_print("    ", &a->trace);
	fprintf(stderr, "  %s (%s, lock %p) being acquired at:\n", b->cls->name,
		mode_name(b->mode), b->lock);
	trace_print("    ", &b->trace);
	for (int i = 0; i + 1 < n; i++) {
		const char *x = classes[path[i]]->name, *y = classes[path[i + 1]]->name;
		const struct lockdep_edge *e = edges[path[i]][path[i + 1]];

		fprintf(stderr, "\nold: %s -> %s, first seen in thread %d:\n", x, y, e ? (int)e->tid : -1);
		if (!e) {
			fprintf(stderr, "  (no record: out of memory when it was learned)\n");
			continue;
		}
		fprintf(stderr, "  %s (%s) acquired at:\n", x, mode_name(e->mode_a));
		trace_print("    ", &e->a);
		fprintf(stderr, "  %s (%s) acquired at:\n", y, mode_name(e->mode_b));
		trace_print("    ", &e->b);
	}
	fprintf(stderr, "\n");
	report_end();
}

/* Learns a -> b, unless it closes a cycle. */
static void edge_add(const struct lockdep_held *a, const struct lockdep_held *b)
{
	int ia = a->cls->id - 1, ib = b->cls->id - 1, path[LOCKDEP_MAX_CLASSES], n;
	struct lockdep_edge *e;

	pthread_mutex_lock(&graph_lock);
	if (after[ia] & ((uint64_t)1 << ib))
		goto out; /* another thread learned it meanwhile */
	if ((n = path_find(ib, ia, path)) > 0)
		report_inversion(a, b, path, n);
	e = malloc(sizeof(*e));
	if (e) {
		e->tid = lockdep_tid();
		e->mode_a = a->mode;
		e->mode_b = b->mode;
		e->a = a->trace;
		e->b = b->trace;
	}
	edges[ia][ib] = e;
	__atomic_store_n(&after[ia], after[ia] | ((uint64_t)1 << ib), __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&graph_lock);
}

void lockdep_acquire(struct lockclass *c, const void *lock, unsigned mode)
{
	int ib = class_index(c);
	struct lockdep_held *b;

	if (nheld == LOCKDEP_MAX_HELD) {
		report_begin("too many locks held");
		fprintf(stderr, "taking %s (lock %p) with %d locks held already\n", c->name, lock,
			nheld);
		report_held();
		report_end();
	}
	b = &held[nheld];
	b->cls = c;
	b->lock = lock;
	b->mode = mode;
	trace_save(&b->trace);
	for (int i = 0; i < nheld; i++) {
		const struct lockdep_held *a = &held[i];

		if (a->cls == c) {
			if ((c->flags & LOCKCLASS_NESTABLE) && a->lock != lock)
				continue;
			report_begin("recursive acquisition");
			fprintf(stderr, "thread %d takes %s (%s, lock %p)\n", (int)lockdep_tid(),
				c->name, mode_name(mode), lock);
			fprintf(stderr, "while holding %s (%s, lock %p)%s, acquired at:\n", c->name,
				mode_name(a->mode), a->lock,
				a->lock == lock ? ": the same lock" : ": a lock of the same class");
			trace_print("    ", &a->trace);
			fprintf(stderr, "now being acquired at:\n");
			trace_print("    ", &b->trace);
			report_end();
		}
		/* a trylock never waits, so it cannot be part of a deadlock */
		if (mode & LOCKDEP_TRY)
			continue;
		if (!(__atomic_load_n(&after[a->cls->id - 1], __ATOMIC_ACQUIRE) &
		      ((uint64_t)1 << ib)))
			edge_add(a, b);
	}
	nheld++;
}

/* Index of `lock` in the held stack, the most recent first; -1 if absent. */
static int held_find(const void *lock)
{
	for (int i = nheld - 1; i >= 0; i--)
		if (held[i].lock == lock)
			return i;
	return -1;
}

static void held_remove(int i)
{
	memmove(&held[i], &held[i + 1], (size_t)(nheld - i - 1) * sizeof(held[0]));
	nheld--;
}

void lockdep_release(struct lockclass *c, const void *lock)
{
	int i = held_find(lock);

	if (i < 0) {
		struct lockdep_trace t;

		trace_save(&t);
		report_begin("release of a lock not held");
		fprintf(stderr, "thread %d releases %s (lock %p), which it does not hold, at:\n",
			(int)lockdep_tid(), c ? c->name : "?", lock);
		trace_print("    ", &t);
		report_held();
		report_end();
	}
	held_remove(i);
}

void lockdep_forget(const void *lock)
{
	int i = held_find(lock);

	if (i >= 0)
		held_remove(i);
}

void lockdep_assert_none_held(const char *where)
{
	if (nheld == 0)
		return;
	report_begin("lock held at the end of a section that must release all");
	fprintf(stderr, "thread %d reached the end of %s with %d lock%s held\n", (int)lockdep_tid(),
		where, nheld, nheld == 1 ? "" : "s");
	report_held();
	report_end();
}

/* DAXMAP_LOCKDEP_DUMP=1 in the environment: the learned order goes to
 * stderr at exit, one "lockdep: order A -> B" line per edge. */
static void lockdep_dump(void)
{
	pthread_mutex_lock(&graph_lock);
	for (int a = 0; a < nclasses; a++)
		for (int b = 0; b < nclasses; b++)
			if (after[a] & ((uint64_t)1 << b))
				fprintf(stderr, "lockdep: order %s -> %s\n", classes[a]->name,
					classes[b]->name);
	pthread_mutex_unlock(&graph_lock);
}

__attribute__((constructor)) static void lockdep_setup(void)
{
	const char *d = getenv("DAXMAP_LOCKDEP_DUMP");

	if (d && *d && strcmp(d, "0") != 0)
		atexit(lockdep_dump);
}
