/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fault path. Handler threads read fault messages from the pool's
 * userfaultfd; each message is resolved as follows (doc/DESIGN.md has the
 * data flow, doc/LOCKING.md the locks):
 *
 *   maps_lock (shared)            the mapping cannot go away
 *     obj->range_lock (exclusive, the faulting extent only; never waited
 *                      for: if taken, the message is parked on the lock and
 *                      comes back when the holder unlocks)
 *       re-check EOF              a truncate may have run while we waited
 *       write or WP fault:  object_extent_alloc  (extents_lock -> alloc.lock)
 *                           mmap(MAP_FIXED|MAP_SHARED|MAP_POPULATE) of the
 *                           pool pages over the extent, MADV_DONTFORK
 *       read of a hole:     UFFDIO_COPY of zeros, write-protected
 *       past EOF, errors:   UFFDIO_POISON of the faulting page (SIGBUS)
 *       UFFDIO_WAKE over the extent
 *
 * Every lock is taken and released in fault_handle(); nothing is held while
 * a handler waits for the next message, and no handler ever waits for a
 * range: the holder of a range may be in an mremap() that returns only
 * once a handler has read its UFFD_EVENT_REMAP.
 */
#define _GNU_SOURCE
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "extmap.h"
#include "inject.h"
#include "map.h"
#include "object.h"
#include "out.h"
#include "page.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A fault message parked on a range lock until the range's holder unlocks. */
struct fault_parked {
	struct range_parked link; /* first: the lock hands back &link */
	struct uffd_msg msg;
	int reminder; /* parked on a range: only wake its thread when it comes back */
};

/*
 * Reads one message from the uffd (non-blocking): the size read, or -1. A
 * remap event is noted for the registry (map_note_move) inside
 * map_note_begin/end: a fault in no mapping, or a change of the registry,
 * that sees no thread noting knows every move read so far is noted.
 */
static ssize_t fault_read_msg(struct fault_ctx *f, struct uffd_msg *msg)
{
	ssize_t n;

	map_note_begin();
	n = read(f->uffd->fd, msg, sizeof(*msg));
	if (n == (ssize_t)sizeof(*msg) && msg->event == UFFD_EVENT_REMAP)
		map_note_move((uintptr_t)msg->arg.remap.from, (uintptr_t)msg->arg.remap.to,
			      (size_t)msg->arg.remap.len);
	map_note_end();
	return n;
}

/*
 * UFFDIO_COPY and UFFDIO_POISON fail with EAGAIN while a remap event is
 * unread, and the mremap() that raised it (a teardown by truncate or punch)
 * returns only once a handler has read it. Every handler may be retrying such
 * an ioctl at once, so the retry loop must read the userfaultfd itself: the
 * events it finds are consumed, the fault messages go to the retry list for
 * the handlers to run later. Takes fault.retry_lock (through fault_requeue).
 */
static void fault_read_pending(struct fault_ctx *f)
{
	struct uffd_msg msg;

	while (fault_read_msg(f, &msg) == (ssize_t)sizeof(msg)) {
		struct fault_parked *node;

		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			LOG(OUT_DEBUG, "userfaultfd event %u read while retrying", msg.event);
			continue;
		}
		counter_add(&f->counters->faults, 1);
		if ((node = malloc(sizeof(*node))) != NULL) {
			node->msg = msg;
			node->reminder = 0;
			node->link.next = NULL;
			fault_requeue(f, &node->link);
		} else {
			/* no memory to keep it: wake the thread, whose access
			 * faults again and brings a fresh message */
			struct uffdio_range r = {
				.start = (uintptr_t)msg.arg.pagefault.address & ~(uintptr_t)(page_size() - 1),
				.len = page_size()};
			ioctl(f->uffd->fd, UFFDIO_WAKE, &r);
		}
	}
}

/* The uffd's drain hook (uffd.h): an ioctl retrying EAGAIN reads first. */
static void fault_drain(void *arg)
{
	fault_read_pending(arg);
}

/* An ioctl on the uffd, retried while pending events make it EAGAIN. */
static int uffd_ioctl(struct fault_ctx *f, unsigned long req, void *arg)
{
	return uffd_ioctl_retry(f->uffd, req, arg);
}

/* Immediate attempts at a wake before it is left to the handler threads. */
#define FAULT_WAKE_TRIES 4

/* A wake that failed, retried by the handler threads (list under err_lock). */
struct fault_wake_pending {
	struct fault_wake_pending *next;
	uintptr_t start;
	size_t len;
};

static int fault_wake_once(struct fault_ctx *f, uintptr_t start, size_t len)
{
	struct uffdio_range r = {.start = start, .len = len};
	int ret = INJECT(INJ_WAKE);

	return ret < 0 ? ret : uffd_ioctl(f, UFFDIO_WAKE, &r);
}

/*
 * Wakes the threads waiting in faults on [start, start+len). A failed wake
 * must not strand them (a thread in a userfaultfd fault sleeps until a wake
 * covers its address, and nothing else would come): it is retried at once
 * FAULT_WAKE_TRIES times, then queued for the handler threads, which retry
 * it with no lock held every FAULT_ERR_RETRY_MS until it succeeds. The
 * fault itself was resolved, so the thread gets no SIGBUS: it runs late.
 * takes fault.err_lock (when the wake is queued)
 */
static void fault_wake(struct fault_ctx *f, uintptr_t start, size_t len)
{
		struct fault_wake_pending *w;
	int ret = 0;

	for (int i = 0; i < FAULT_WAKE_TRIES; i++)
		if ((ret = fault_wake_once(f, start, len)) == 0)
			return;
	LOG(OUT_ERROR, "UFFDIO_WAKE at %#lx+%zu failed: %s; retrying", (unsigned long)start, len,
	    strerror(-ret));
	while ((w = malloc(sizeof(*w))) == NULL) {
		/* no memory to queue it: keep trying here rather than strand */
		usleep(1000);
		if (fault_wake_once(f, start, len) == 0)
			return;
	}
	w->start = start;
	w->len = len;
	mutex_lock(&f->err_lock);
	w->next = f->wake_pending;
	f->wake_pending = w;
	mutex_unlock(&f->err_lock);
}

/* Retries queued wakes once each; those that fail again stay queued.
 * takes fault.err_lock */
static void fault_retry_wakes(struct fault_ctx *f)
{
		struct fault_wake_pending *list, *w, *again = NULL;

	mutex_lock(&f->err_lock);
	list = f->wake_pending;
	f->wake_pending = NULL;
	mutex_unlock(&f->err_lock);
	while ((w = list) != NULL) {
		list = w->next;
		if (fault_wake_once(f, w->start, w->len) == 0) {
			free(w);
		} else {
			w->next = again;
			again = w;
		}
	}
	if (!again)
		return;
	mutex_lock(&f->err_lock);
	for (w = again; w->next; w = w->next)
		;
	w->next = f->wake_pending;
	f->wake_pending = again;
	mutex_unlock(&f->err_lock);
}

/*
 * SIGBUS for the faulting access: a poison marker on its page makes the
 * kernel raise SIGBUS (BUS_ADRERR, si_addr exact) in the faulting thread,
 * or EFAULT in a system call. Without UFFDIO_POISON: a queued SIGBUS
 * (SI_QUEUE, si_addr set), user-mode faults only. m is the mapping of the
 * page, or NULL for a page that belongs to none.
 */
static void fault_sigbus(struct fault_ctx *f, struct dm_mapping *m, uintptr_t page, pid_t tid,
			 int is_error)
{
		size_t ps = page_size();

	counter_add(&f->counters->faults_sigbus, 1);
	if (f->uffd->features & UFFD_FEATURE_POISON) {
		/* DONTWAKE: an error's marker is recorded (so that an unlink or
		 * the retry timer clears it) before the thread can see its
		 * SIGBUS; with no memory to record it, send a queued signal and
		 * leave no marker rather than one nobody would ever clear */
		struct uffdio_poison p = {.range = {.start = page, .len = ps},
					  .mode = UFFDIO_POISON_MODE_DONTWAKE};
		int ret = -ENOSPC;

		mutex_lock(&f->err_lock);
		if (is_error && f->err_count == f->err_cap) {
			unsigned cap = f->err_cap ? 2 * f->err_cap : 64;
			uintptr_t *n = realloc(f->err_addr, cap * sizeof(*n));
			if (n) {
				f->err_addr = n;
				f->err_cap = cap;
			}
		}
		if (!is_error || f->err_count < f->err_cap) {
			ret = uffd_ioctl(f, UFFDIO_POISON, &p);
			if (ret == -EEXIST) {
				/* the page holds zeros of a hole read (a write to
				 * it failed): drop them, then poison */
				madvise((void *)page, ps, MADV_DONTNEED);
				ret = uffd_ioctl(f, UFFDIO_POISON, &p);
			}
			if (ret == 0 && is_error)
				f->err_addr[f->err_count++] = page;
		}
		mutex_unlock(&f->err_lock);
		if (ret == 0) {
			if (m)
				atomic_fetch_add(&m->poisoned, 1);
			fault_wake(f, page, ps);
			return;
		}
		if (ret != -ENOSPC)
			LOG(OUT_ERROR, "UFFDIO_POISON at %#lx failed: %s", (unsigned long)page,
			    strerror(-ret));
	}
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = SI_QUEUE;
	si.si_addr = (void *)page;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, SIGBUS, &si) < 0)
		LOG(OUT_ERROR, "cannot send SIGBUS to thread %d: %s", (int)tid, strerror(errno));
	fault_wake(f, page, ps);
}

/*
 * SIGBUS for a fault at a page of no mapping that is still registered (an
 * application's mremap moved it there), a wake only where the page is
 * gone (an unmap raced the message: the thread then finds nothing there).
 * 0 when the thread gets SIGBUS.
 */
static int fault_poison_stray(struct fault_ctx *f, uintptr_t page, pid_t tid)
{
	struct uffdio_poison p = {.range = {.start = page, .len = page_size()},
				  .mode = UFFDIO_POISON_MODE_DONTWAKE};
	int ret;

	if (!(f->uffd->features & UFFD_FEATURE_POISON)) {
		fault_sigbus(f, NULL, page, tid, 0); /* queued signal */
		return 0;
	}
	ret = uffd_ioctl(f, UFFDIO_POISON, &p);
	if (ret == -EEXIST) {
		/* zeros of a hole read came along: drop them, then poison */
		madvise((void *)page, page_size(), MADV_DONTNEED);
		ret = uffd_ioctl(f, UFFDIO_POISON, &p);
	}
	if (ret == 0)
		counter_add(&f->counters->faults_sigbus, 1);
	fault_wake(f, page, page_size());
	return ret;
}

/* Zeros for a read of a hole: copied, write-protected, so the first write
 * to any of these pages comes back to us as a WP fault. */
static int fault_fill_zeros(struct fault_ctx *f, uintptr_t lo, uintptr_t hi)
{
	size_t ps = page_size(), step = 0; /* 0: the whole rest in one call */
	int inj = INJECT(INJ_IOCTL);

	if (inj < 0)
		return ERR(inj, "UFFDIO_COPY of zeros at %#lx failed (injected)", (unsigned long)lo);

	while (lo < hi) {
		struct uffdio_copy c;
		memset(&c, 0, sizeof(c));
		c.dst = lo;
		c.src = (uintptr_t)f->zero_src;
		c.len = step ? step : hi - lo;
		/* write-protected also in a mapping that is read-only now: a
		 * daxmap_mprotect may make it writable later (every mapping
		 * is registered for write-protect faults) */
		c.mode = UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP;
		if (ioctl(f->uffd->fd, UFFDIO_COPY, &c) == 0) {
			if (!step)
				break;
			lo += step;
			continue;
		}
		if (errno == ENOENT && !step) {
			/* the range spans two VMAs: a teardown's fresh range
			 * (shrink: from the page past EOF) is not merged by the
			 * kernel with a neighbour that holds zero pages, and
			 * UFFDIO_COPY works within one VMA. Go page by page. */
			step = ps;
			continue;
		}
		if (errno == ENOENT) {
			/* this page is registered no more: the application
			 * unmapped it (and may have put memory of its own
			 * there, which the copy never touches): skip it */
			lo += ps;
			continue;
		}
		if (errno == EAGAIN) {
			if (c.copy > 0)
				lo += (uintptr_t)c.copy;
			else
				fault_read_pending(f); /* an unread remap event: see there */
			continue;
		}
		if (errno == EEXIST) {
			/* some pages are there already (zeros from a read cut
			 * by EOF earlier): step over the one that stopped us */
			lo += (c.copy > 0 ? (uintptr_t)c.copy : 0) + ps;
			continue;
		}
		return ERR(-errno, "UFFDIO_COPY of zeros at %#lx failed", (unsigned long)lo);
	}
	counter_add(&f->counters->faults_hole_read, 1);
	return 0;
}

/* The pool pages of extent pidx over [lo, hi) of the mapping. */
static int fault_map_extent(struct fault_ctx *f, struct dm_mapping *m, uint64_t pidx,
			    uint64_t estart, uint64_t lo, uint64_t hi)
{
	int ret = INJECT(INJ_MMAP);

	if (ret < 0)
		return ERR(ret, "mmap of pool extent %llu at %p failed (injected)",
			   (unsigned long long)pidx, (void *)(m->va + (lo - m->obj_off)));
	if ((ret = map_pool_pages(m, pidx, estart, lo, hi, 1)) < 0)
		return ret;
	counter_add(&f->counters->faults_write, 1);
	return 0;
}

/*
 * Resolves the fault at page `addr` of mapping m, with extent e's range held
 * exclusively. Returns 0, or 1 for "past EOF", or a negative error.
 */
static int fault_resolve_locked(struct fault_ctx *f, struct dm_mapping *m, uintptr_t addr,
				int write) REQUIRES_SHARED(maps_lock)
{
	struct daxmap_obj *obj = m->obj;
	uint64_t off = m->obj_off + (addr - (uintptr_t)m->va);
	const struct pool_media *md = obj->md; /* the object's units: extents or blocks */
	uint64_t e = off >> md->extent_shift;
	uint64_t estart = e << md->extent_shift;
	uint64_t eof = page_up(atomic_load(&obj->size));
	uint64_t lo = estart, part_end = estart + md->extent_size, hi, pidx;
	int ret;

	/* checked after taking the range: a truncate we waited for moved EOF;
	 * shared, another process's operation moving EOF is waited for */
	if (off >= eof)
		return object_fenced(obj, off) ? 2 : 1;
	map_clip(m, &lo, &part_end); /* the extent's part inside the mapping */
	hi = part_end < eof ? part_end : eof;
	if (map_test_resolved(m, e)) {
		/* another thread mapped it while this message waited */
		counter_add(&f->counters->faults_noop, 1);
		goto wake;
	}
	pidx = object_extent_get(obj, e);
	if (pidx == EXTMAP_NONE && !write && !f->sh) {
		ret = fault_fill_zeros(f, (uintptr_t)m->va + (lo - m->obj_off),
				       (uintptr_t)m->va + (hi - m->obj_off));
		if (ret < 0)
			return ret;
		goto wake;
	}
	/* tests (injection builds) widen the window between deciding and allocating */
	if (INJECT(INJ_STALL) < 0)
		usleep(2000);
	if (pidx == EXTMAP_NONE && (ret = object_extent_alloc(obj, e, &pidx)) < 0)
		return ret == -EAGAIN ? 2 : ret; /* -EAGAIN: behind a fence */
	/* two mappings of one object see the same bytes: zeros another
	 * mapping copied for this extent while it was a hole go first. Once
	 * the pool pages are in this mapping, other threads store there
	 * without a fault, and a load of theirs through the other mapping
	 * must not find the old zeros (their fault there parks on our range) */
	map_drop_zero_copies(obj, e, m);
	if ((ret = fault_map_extent(f, m, pidx, estart, lo, hi)) < 0)
		return ret;
	if (hi == part_end)
		map_set_resolved(m, e);
wake:
	fault_wake(f, (uintptr_t)m->va + (lo - m->obj_off), hi - lo);
	return 0;
}

void fault_share(struct fault_ctx *f, struct shared *sh)
{
	f->sh = sh;
}

/* takes retry_lock */
void fault_release_fenced(struct fault_ctx *f)
{
	struct range_parked *list;

	mutex_lock(&f->retry_lock);
	list = f->fenced;
	f->fenced = NULL;
	mutex_unlock(&f->retry_lock);
	fault_requeue(f, list);
}

/* A fault behind another process's fence (fault_resolve_locked's 2) waits
 * for a fence to drop; if one dropped since fseq, it runs again now. Its
 * node is a reminder: once handed back, it wakes its thread, which faults
 * afresh. Takes retry_lock. */
static void fault_park_fenced(struct fault_ctx *f, struct fault_parked *node, uint32_t fseq)
{
	mutex_lock(&f->retry_lock);
	node->link.next = f->fenced;
	f->fenced = &node->link;
	mutex_unlock(&f->retry_lock);
	if (shared_fence_seq(f->sh) != fseq)
		fault_release_fenced(f);
}

/* Queues parked faults for the handler threads to run again. Takes fault.retry_lock. */
void fault_requeue(struct fault_ctx *f, struct range_parked *list)
{
		uint64_t one = 1;

	if (!list)
		return;
	mutex_lock(&f->retry_lock);
	while (list) {
		struct range_parked *next = list->next;
		list->next = f->retry;
		f->retry = list;
		list = next;
	}
	mutex_unlock(&f->retry_lock);
	if (write(f->kick_fd, &one, sizeof(one)) != sizeof(one))
		LOG(OUT_ERROR, "cannot wake fault threads: %s", strerror(errno));
}

/* takes fault.retry_lock */
static struct fault_parked *fault_next_retry(struct fault_ctx *f)
{
		struct range_parked *p;

	mutex_lock(&f->retry_lock);
	p = f->retry;
	if (p)
		f->retry = p->next;
	mutex_unlock(&f->retry_lock);
	return (struct fault_parked *)p;
}

static void fault_account(struct fault_ctx *f, uint64_t t0)
{
	uint64_t dt = now_ns() - t0;
	unsigned bucket = dt ? 63u - (unsigned)__builtin_clzll(dt) : 0u;

	counter_add(&f->counters->latency[bucket < DAXMAP_LAT_BUCKETS ? bucket
									  : DAXMAP_LAT_BUCKETS - 1],
		    1);
}

/*
 * Handles one fault message; `node` carries it when it comes back from a
 * range lock (else NULL). takes maps_lock (shared), then tries
 * obj->range_lock (the faulting extent, exclusive) without waiting.
 */
static void fault_handle(struct fault_ctx *f, const struct uffd_msg *msg,
			 struct fault_parked *node)
{
	uint64_t t0 = now_ns(), flags = msg->arg.pagefault.flags;
	uintptr_t addr = (uintptr_t)msg->arg.pagefault.address & ~(uintptr_t)(page_size() - 1);
	pid_t tid = (pid_t)msg->arg.pagefault.feat.ptid;
	int write = (flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP)) != 0;
	struct range_parked *parked = NULL;
	struct dm_mapping *m;
	int ret = 0, done = 1, moved = 0;

	if (node && node->reminder) {
		/* A message that waited for a range's holder may be stale by
		 * now: another fault on its extent may have mapped the page
		 * and woken its thread, or the holder freed the extent. Acting
		 * on it could allocate an extent nobody wants. Wake the thread
		 * instead: if it still needs the page, it faults afresh. */
		fault_wake(f, addr, page_size());
		free(node);
		fault_account(f, t0); /* the message is done with */
		return;
	}
	if (!node)
		counter_add(&f->counters->faults, 1);
	map_rdlock();
	m = map_lookup((void *)addr);
	if (!m && map_moves_pending()) {
		/* maybe a mapping moved here by mremap, not in the registry
		 * yet: apply the moves once maps_lock is released, then the
		 * thread faults again */
		moved = 1;
	} else if (!m) {
		/* Registered with our uffd, yet in no mapping: either
		 * daxmap_unmap ran while the message waited (the range is
		 * gone: the poison fails and the wake lets the thread find
		 * nothing there, SIGSEGV), or the application grew a mapping
		 * with mremap (or moved it over another mapping) and touched
		 * it there. A wake alone would be a fault-wake-refault loop
		 * (a hang): SIGBUS, with the reason. */
		if (fault_poison_stray(f, addr, tid) == 0)
			ret = ERR(-EFAULT, "%#lx is in no daxmap mapping (was a mapping grown with "
					   "mremap, or moved over another?)", (unsigned long)addr);
	} else if (m->pool != f->pool) {
		fault_wake(f, addr, page_size()); /* not ours: cannot happen */
	} else {
		uint64_t off = m->obj_off + (addr - (uintptr_t)m->va);
		uint64_t es = m->obj->md->extent_size, estart = off & ~(es - 1);
		struct range_entry re;

		if (!node && (node = malloc(sizeof(*node))) != NULL) {
			node->msg = *msg;
			node->reminder = 0;
		}
		if (node)
			node->reminder = 1; /* before the trylock: once parked, the
					       node is the unlocker's to hand back */
		if (!node) {
			ret = ERR(-ENOMEM, "out of memory for a fault (malloc failed: no memory, "
					   "or the process is at its vm.max_map_count limit of "
					   "memory mappings)");
			fault_sigbus(f, m, addr, tid, 1);
		} else if (rangelock_trylock(&m->obj->range_lock, &re, estart,
					     estart + es, 1, &node->link) == 0) {
			uint32_t fseq = f->sh ? shared_fence_seq(f->sh) : 0;

			/* the warmer steps aside while faults keep every CPU busy */
			atomic_fetch_add_explicit(&f->counters->faults_active, 1,
						  memory_order_relaxed);
			ret = fault_resolve_locked(f, m, addr, write);
			atomic_fetch_sub_explicit(&f->counters->faults_active, 1,
						  memory_order_relaxed);
			if (ret == 2) {
				ret = 0;
				done = 0;
				fault_park_fenced(f, node, fseq);
			} else if (ret != 0) {
				fault_sigbus(f, m, addr, tid, ret < 0);
			}
			parked = rangelock_unlock(&m->obj->range_lock, &re);
		} else {
			done = 0; /* parked: the range's holder hands it back */
		}
	}
	map_rdunlock();
	if (moved) {
		map_apply_moves();
		if (map_moves_pending())
			usleep(50); /* maps_lock busy, or a move being noted: soon */
		fault_wake(f, addr, page_size());
	}
	if (done)
		free(node);
	fault_requeue(f, parked);
	if (ret < 0)
		LOG(OUT_ERROR, "fault at %#lx (thread %d, %s): SIGBUS: %s", (unsigned long)addr,
		    (int)tid, write ? "write" : "read", daxmap_errormsg());
	if (done)
		fault_account(f, t0);
	lockdep_assert_none_held("fault handler");
}

/* Clears the poison markers left by errors so those pages fault afresh.
 * takes f->err_lock, then (not nested) maps_lock shared */
void fault_retry_errors(struct fault_ctx *f)
{
		uintptr_t *addrs;
	unsigned n;

	mutex_lock(&f->err_lock);
	n = f->err_count;
	addrs = f->err_addr;
	f->err_addr = NULL;
	f->err_count = f->err_cap = 0;
	mutex_unlock(&f->err_lock);
	if (n == 0) {
		free(addrs);
		return;
	}
	map_rdlock();
	for (unsigned i = 0; i < n; i++)
		/* only while a mapping of ours still owns it: never touch
		 * memory the application got back after an unmap */
		map_zap_pages((void *)addrs[i], page_size());
	map_rdunlock();
	free(addrs);
}

static void fault_event(struct fault_ctx *f, const struct uffd_msg *msg)
{
	switch (msg->event) {
	case UFFD_EVENT_PAGEFAULT:
		fault_handle(f, msg, NULL);
		break;
	case UFFD_EVENT_REMAP:
		/* reading it is what lets the mremap() return: our own
		 * teardowns (from a fresh range, in no mapping), or the
		 * application moving holes of a mapping, which the registry
		 * follows (noted by fault_read_msg; applied when maps_lock is
		 * free: never waited for here) */
		LOG(OUT_DEBUG, "userfaultfd remap %#llx -> %#llx",
		    (unsigned long long)msg->arg.remap.from, (unsigned long long)msg->arg.remap.to);
		map_apply_moves();
		break;
	default:
		LOG(OUT_WARN, "unexpected userfaultfd event %u", msg->event);
		break;
	}
}

/* Grace before an error's SIGBUS marker is cleared when nothing else clears it. */
#define FAULT_ERR_RETRY_MS 20

static void *fault_thread(void *arg)
{
	struct fault_ctx *f = arg;
		struct pollfd pfd[3] = {{.fd = f->uffd->fd, .events = POLLIN},
				{.fd = f->stop_fd, .events = POLLIN},
				{.fd = f->kick_fd, .events = POLLIN}};
	struct fault_parked *node;
	struct uffd_msg msg;
	sigset_t all;
	uint64_t kicks;

	/* signals are the application's business, not this thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		ssize_t n;
		unsigned pending;
		int wakes;

		/* parked faults first: they are older than anything queued */
		if ((node = fault_next_retry(f)) != NULL) {
			fault_handle(f, &node->msg, node);
			continue;
		}
		n = fault_read_msg(f, &msg);
		if (n == (ssize_t)sizeof(msg)) {
			fault_event(f, &msg);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			LOG(OUT_ERROR, "reading userfaultfd failed: %s", strerror(errno));
			break;
		}
		mutex_lock(&f->err_lock);
		pending = f->err_count;
		wakes = f->wake_pending != NULL;
		mutex_unlock(&f->err_lock);
		if (poll(pfd, 3, pending || wakes ? FAULT_ERR_RETRY_MS : -1) == 0 && pending)
			fault_retry_errors(f);
		if (wakes)
			fault_retry_wakes(f);
		if (pfd[1].revents & POLLIN)
			break;
		if (pfd[2].revents & POLLIN && read(f->kick_fd, &kicks, sizeof(kicks)) < 0 &&
		    errno != EAGAIN)
			LOG(OUT_ERROR, "reading the kick eventfd failed: %s", strerror(errno));
	}
	lockdep_assert_none_held("fault handler thread");
	return NULL;
}

int fault_start(struct fault_ctx *f, struct daxmap_pool *pool, const struct pool_media *md,
		struct pool_uffd *uffd, struct pool_counters *counters, unsigned nthreads)
{
	uffd->drain = fault_drain;
	uffd->drain_arg = f;
	mutex_init(&f->err_lock, lockclass_err);
	mutex_init(&f->retry_lock, lockclass_retry);
	f->retry = NULL;
	f->wake_pending = NULL;
	f->pool = pool;
	f->md = md;
	f->uffd = uffd;
	f->counters = counters;
	f->nthreads = nthreads;
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->stop_fd < 0 || f->kick_fd < 0)
		return ERR(-errno, "cannot create an eventfd");
	f->zero_src = mmap(NULL, md->extent_size, PROT_READ,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->zero_src == MAP_FAILED) {
		f->zero_src = NULL;
		return ERR(-errno, "cannot reserve the zero source of hole reads");
	}
	madvise(f->zero_src, md->extent_size, MADV_DONTFORK);
	f->threads = calloc(f->nthreads, sizeof(pthread_t));
	if (!f->threads)
		return ERR(-ENOMEM, "out of memory for fault threads");
	for (unsigned i = 0; i < f->nthreads; i++) {
		int rc = pthread_create(&f->threads[i], NULL, fault_thread, f);
		if (rc) {
			f->nthreads = i;
			return ERR(-rc, "cannot start fault-handler thread %u", i);
		}
	}
	return 0;
}

void fault_stop(struct fault_ctx *f)
{
	struct fault_parked *node;
	uint64_t one = 1;

	if (!f->md)
		return; /* never started */
	if (f->threads) {
		if (write(f->stop_fd, &one, sizeof(one)) != sizeof(one))
			LOG(OUT_ERROR, "cannot stop fault threads: %s", strerror(errno));
		for (unsigned i = 0; i < f->nthreads; i++)
			pthread_join(f->threads[i], NULL);
		free(f->threads);
		f->threads = NULL;
	}
	if (f->zero_src)
		munmap(f->zero_src, f->md->extent_size);
	f->zero_src = NULL;
	fault_forget_child(f);
	free(f->err_addr);
	f->err_addr = NULL;
	f->err_count = f->err_cap = 0;
	for (int pass = 0; pass < 2; pass++) {
		while ((node = fault_next_retry(f)) != NULL)
			free(node);
		f->retry = f->fenced; /* then those that waited for a fence */
		f->fenced = NULL;
	}
	while (f->wake_pending) {
		struct fault_wake_pending *w = f->wake_pending;
		f->wake_pending = w->next;
		free(w);
	}
	mutex_destroy(&f->retry_lock);
	mutex_destroy(&f->err_lock);
	f->md = NULL;
}

void fault_forget_child(struct fault_ctx *f)
{
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	if (f->kick_fd >= 0)
		close(f->kick_fd);
	f->stop_fd = f->kick_fd = -1;
}
