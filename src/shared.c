/* SPDX-License-Identifier: BSD-3-Clause */
/* The run file of a pool opened shared, its robust locks, ring, fence and requests (shared.h). */
#define _GNU_SOURCE
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "out.h"

#define SHARED_MAGIC UINT64_C(0x6e75727061647864) /* "dxdaprun" */
#define SHARED_VERSION 1
/* How long a wait for a peer lasts before it checks that the peer lives. */
#define SHARED_POLL_NS 50000000L

/* The request's fields, a seqlock's data: read while they may change,
 * with the sequence telling whether the copy holds (so accessed as
 * relaxed atomics). */
#define SEQ_STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define SEQ_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* The meta lock this thread holds, and how deep (it is re-entrant). */
static _Thread_local struct shared *meta_holder;
static _Thread_local unsigned meta_depth;
/* The fence this thread's operation set: its own accesses pass it. */
static _Thread_local struct shared *fence_owner;

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

static void futex_wait_ns(_Atomic uint32_t *word, uint32_t val, long ns)
{
	struct timespec ts = {0, ns};
	(void)futex(word, FUTEX_WAIT, val, &ts);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
	(void)futex(word, FUTEX_WAKE, INT_MAX, NULL);
}

static void bell_ring(struct shared_proc *p)
{
	atomic_fetch_add(&p->bell, 1);
	futex_wake_all(&p->bell);
}

/* Start time of pid (field 22 of /proc/PID/stat), 0 if there is no such
 * process, PROC_UNKNOWN when /proc does not tell. */
#define PROC_UNKNOWN UINT64_MAX
static uint64_t proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	/* no answer is no death: only "no such process" is (a live peer taken
	 * for dead would have extents freed under its mappings) */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT || errno == ESRCH ? 0 : PROC_UNKNOWN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH ? 0 : PROC_UNKNOWN;
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: fields count
	 * from the last ')' on, the state being field 3 */
	if (!(p = strrchr(buf, ')')))
		return 0;
	p++;
	/* a zombie (or one being reaped) is dead: its mappings are gone */
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X' || p[1] == 'x'))
		return 0;
	for (int field = 2; field < 21 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return PROC_UNKNOWN;
	return start;
}

static int pid_alive(pid_t pid, uint64_t start)
{
	uint64_t now;

	if (pid == 0)
		return 0;
	now = proc_start(pid);
	return now == PROC_UNKNOWN || now == start;
}

static int proc_alive(const struct shared_proc *p)
{
	return pid_alive(p->pid, p->start);
}

static size_t run_len(uint32_t nslots)
{
	size_t len = sizeof(struct shared_run) + 2 * (size_t)nslots * sizeof(uint64_t);
	long ps = sysconf(_SC_PAGESIZE);
	return (len + (size_t)ps - 1) & ~((size_t)ps - 1);
}

/* Named by the pool's uuid and its file (a copy of a pool file has the
 * same uuid, and is another pool). */
static void run_path(char *buf, size_t n, const uint8_t uuid[16], const struct stat *pool)
{
	int k = snprintf(buf, n, "/dev/shm/daxmap-");
	for (int i = 0; i < 16; i++)
		k += snprintf(buf + k, n - (size_t)k, "%02x", uuid[i]);
	snprintf(buf + k, n - (size_t)k, "-%llx-%llx.run", (unsigned long long)pool->st_dev,
		 (unsigned long long)pool->st_ino);
}

static void robust_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

static void run_map(struct shared *sh, struct shared_run *run, uint32_t nslots)
{
	sh->run = run;
	sh->openers = (uint64_t *)(run + 1);
	sh->slot_gen = sh->openers + nslots;
}

/* A process slot whose process is gone: it has nothing open any more. */
static void proc_reclaim_locked(struct shared *sh, unsigned i)
{
	uint64_t bit = UINT64_C(1) << i;

	for (uint32_t s = 0; s < sh->run->nslots; s++)
		sh->openers[s] &= ~bit;
	atomic_store(&sh->run->procs[i].op_waiting, 0);
	atomic_store(&sh->run->procs[i].meta_waiting, 0);
	sh->run->procs[i].pid = 0;
}

/* takes the run file's flock (held until shared_ready), then meta */
int shared_attach(struct shared *sh, const uint8_t uuid[16], uint32_t nslots,
		  const struct stat *pool)
{
	char *path = sh->path;
	mode_t mode = pool->st_mode;
	uid_t owner = pool->st_uid;
	size_t len = run_len(nslots);
	struct shared_run *run = NULL;
	struct stat a, b;
	int fd, fresh = 1;
	unsigned live = 0;

	memset(sh, 0, sizeof(*sh));
	sh->fd = -1;
	run_path(path, sizeof(sh->path), uuid, pool);
	for (;;) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode & 0666)) < 0)
			return ERR(-errno, "cannot open %s, the run file of a pool opened shared: %s",
				   path, strerror(errno));
		if (flock(fd, LOCK_EX) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(fd); /* the last one out removed it meanwhile: a new one */
	}
	if (a.st_uid != geteuid() && a.st_uid != owner) {
		close(fd);
		return ERR(-EACCES, "run file %s of a shared pool belongs to user %u, neither "
				    "us nor the pool's owner: remove it if no process has the "
				    "pool open", path, (unsigned)a.st_uid);
	}
	if (a.st_size == (off_t)len) {
		run = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (run == MAP_FAILED) {
			close(fd);
			return ERR(-errno, "cannot map the run file %s: %s", path, strerror(errno));
		}
		if (run->magic == SHARED_MAGIC && run->version == SHARED_VERSION &&
		    run->nslots == nslots && run->len == len && !memcmp(run->uuid, uuid, 16))
			for (unsigned i = 0; i < SHARED_PROCS; i++)
				live += proc_alive(&run->procs[i]);
		fresh = live == 0;
		if (fresh)
			munmap(run, len);
	}
	if (fresh) {
		/* nobody has the pool open: whatever the file held is stale */
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)len) < 0 ||
		    (run = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
			int e = errno;
			close(fd);
			return ERR(-e, "cannot set up the run file %s: %s", path, strerror(e));
		}
		run->version = SHARED_VERSION;
		run->nslots = nslots;
		run->len = len;
		memcpy(run->uuid, uuid, 16);
		robust_init(&run->op);
		robust_init(&run->meta);
		__atomic_store_n(&run->magic, SHARED_MAGIC, __ATOMIC_RELEASE);
	}
	run_map(sh, run, nslots);
	sh->fd = fd;
	sh->first = fresh;
	shared_meta_lock(sh);
	sh->me = SHARED_PROCS;
	for (unsigned i = 0; i < SHARED_PROCS; i++) {
		if (run->procs[i].pid && !proc_alive(&run->procs[i]))
			proc_reclaim_locked(sh, i);
		if (sh->me == SHARED_PROCS && run->procs[i].pid == 0)
			sh->me = i;
	}
	if (sh->me < SHARED_PROCS) {
		struct shared_proc *p = &run->procs[sh->me];
		p->pid = getpid();
		p->start = proc_start(p->pid);
		atomic_store(&p->ack, run->req.seq); /* requests before us are not ours */
	}
	shared_meta_unlock(sh);
	if (sh->me == SHARED_PROCS) {
		shared_detach(sh);
		return ERR(-EUSERS, "pool is open shared by %d processes already, the most there "
				    "may be", SHARED_PROCS);
	}
	return 0;
}

int shared_in_use(const uint8_t uuid[16], const struct stat *pool)
{
	char path[SHARED_PATH_MAX];
	struct stat st;
	const struct shared_run *run;
	int fd, live = 0;

	run_path(path, sizeof(path), uuid, pool);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(*run) &&
	    (run = mmap(NULL, sizeof(*run), PROT_READ, MAP_SHARED, fd, 0)) != MAP_FAILED) {
		if (run->magic == SHARED_MAGIC && !memcmp(run->uuid, uuid, 16))
			for (unsigned i = 0; i < SHARED_PROCS && !live; i++)
				live = proc_alive(&run->procs[i]);
		munmap((void *)run, sizeof(*run));
	}
	close(fd);
	return live;
}

void shared_ready(struct shared *sh)
{
	flock(sh->fd, LOCK_UN);
}

static void *shared_service(void *arg);

int shared_start(struct shared *sh, void (*handle)(void *, const struct shared_req *),
		 void (*fence_dropped)(void *), void (*recover)(void *), void *arg)
{
	int rc;

	sh->handle = handle;
	sh->fence_dropped = fence_dropped;
	sh->recover = recover;
	sh->arg = arg;
	if ((rc = pthread_create(&sh->svc, NULL, shared_service, sh)) != 0)
		return ERR(-rc, "cannot start the thread that serves the other processes");
	sh->svc_running = 1;
	return 0;
}

void shared_stop(struct shared *sh)
{
	if (!sh->svc_running)
		return;
	atomic_store(&sh->svc_stop, 1);
	bell_ring(&sh->run->procs[sh->me]);
	pthread_join(sh->svc, NULL);
	sh->svc_running = 0;
}

/* takes the run file's flock, then meta */
void shared_detach(struct shared *sh)
{
	unsigned live = 0;

	shared_stop(sh);
	if (!sh->run)
		return;
	flock(sh->fd, LOCK_EX);
	shared_meta_lock(sh);
	if (sh->me < SHARED_PROCS) {
		/* nothing of ours is left to tear down: a sender waits no more */
		atomic_store(&sh->run->procs[sh->me].ack, sh->run->req.seq & ~1u);
		futex_wake_all(&sh->run->procs[sh->me].ack);
		proc_reclaim_locked(sh, sh->me);
	}
	for (unsigned i = 0; i < SHARED_PROCS; i++)
		live += proc_alive(&sh->run->procs[i]);
	shared_meta_unlock(sh);
	if (live == 0)
		unlink(sh->path); /* under the flock: a newcomer finds the file gone and makes one */
	munmap(sh->run, sh->run->len);
	sh->run = NULL;
	close(sh->fd); /* drops the flock */
	sh->fd = -1;
}

void shared_meta_lock(struct shared *sh) NO_TSA
{
	if (meta_depth && meta_holder == sh) {
		meta_depth++;
		return;
	}
	if (meta_depth) {
		/* meta of two pools at once: no path does it (re-entrancy is
		 * per thread, for one pool) */
		LOG(OUT_ERROR, "internal error: meta of two shared pools held at once");
		abort();
	}
	lockdep_acquire(LOCKDEP_CLASS(lockclass_shared_meta), sh, LOCKDEP_EXCL);
	atomic_fetch_add(&sh->run->procs[sh->me].meta_waiting, 1);
	int rc = pthread_mutex_lock(&sh->run->meta);
	atomic_fetch_sub(&sh->run->procs[sh->me].meta_waiting, 1);
	atomic_fetch_add(&sh->run->meta_gen, 1);
	if (atomic_load(&sh->run->meta_yielding))
		futex_wake_all(&sh->run->meta_gen); /* a yielder waits for this take */
	if (rc == EOWNERDEAD) {
		/* its holder died: what it changed in the tables may have no
		 * trace in the ring; every process rescans (epoch) */
		sh->run->epoch++;
		LOG(OUT_NOTICE, "a process died holding the shared pool state: every process "
				"rescans the tables");
		pthread_mutex_consistent(&sh->run->meta);
	}
	meta_holder = sh;
	meta_depth = 1;
}

void shared_meta_unlock(struct shared *sh) NO_TSA
{
	if (--meta_depth)
		return;
	meta_holder = NULL;
	lockdep_release(LOCKDEP_CLASS(lockclass_shared_meta), sh);
	pthread_mutex_unlock(&sh->run->meta);
}

void shared_meta_yield(struct shared *sh)
{
	uint32_t gen = atomic_load(&sh->run->meta_gen);

	for (unsigned i = 0; i < SHARED_PROCS; i++)
		if (atomic_load(&sh->run->procs[i].meta_waiting)) { /* (0 in a free slot) */
			atomic_fetch_add(&sh->run->meta_yielding, 1);
			futex_wait_ns(&sh->run->meta_gen, gen, SHARED_POLL_NS / 50);
			atomic_fetch_sub(&sh->run->meta_yielding, 1);
			return;
		}
}

void shared_op_lock(struct shared *sh) NO_TSA
{
	_Atomic uint32_t *waiting = &sh->run->procs[sh->me].op_waiting;
	int rc;

	lockdep_acquire(LOCKDEP_CLASS(lockclass_shared_op), sh, LOCKDEP_EXCL);
	atomic_fetch_add(waiting, 1);
	rc = pthread_mutex_lock(&sh->run->op);
	atomic_fetch_sub(waiting, 1);
	atomic_fetch_add(&sh->run->op_gen, 1);
	futex_wake_all(&sh->run->op_gen); /* a release waiting to hand over */
	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&sh->run->op);
		if (sh->recover) /* (set by shared_start, before any op of ours) */
			sh->recover(sh->arg);
	}
}

/* Another process's thread waits for op. */
static int op_wanted_elsewhere(const struct shared *sh)
{
	for (unsigned i = 0; i < SHARED_PROCS; i++)
		if (i != sh->me && atomic_load(&sh->run->procs[i].op_waiting)) /* (0 in a free slot) */
			return 1;
	return 0;
}

void shared_op_unlock(struct shared *sh) NO_TSA
{
	uint32_t gen = atomic_load(&sh->run->op_gen);

	lockdep_release(LOCKDEP_CLASS(lockclass_shared_op), sh);
	pthread_mutex_unlock(&sh->run->op);
	/* a process running operations back to back would take op again
	 * before a waiter of another process wakes up (the mutex is not
	 * fair): let one of them have it first, for a while at most (a
	 * waiter that died keeps its count until its slot is reclaimed) */
	if (op_wanted_elsewhere(sh))
		futex_wait_ns(&sh->run->op_gen, gen, SHARED_POLL_NS / 25);
}

void shared_ring_push(struct shared *sh, unsigned t, uint64_t idx)
{
	struct shared_run *run = sh->run;

	run->ring[run->ring_seq % SHARED_RING] = (uint64_t)t << 63 | idx;
	run->ring_seq++;
}

int shared_ring_get(const struct shared *sh, uint64_t seq, unsigned *t, uint64_t *idx)
{
	const struct shared_run *run = sh->run;
	uint64_t v;

	if (run->ring_seq - seq > SHARED_RING)
		return -1;
	v = run->ring[seq % SHARED_RING];
	*t = (unsigned)(v >> 63);
	*idx = v & ~(UINT64_C(1) << 63);
	return 0;
}

void shared_fence_set(struct shared *sh, uint32_t slot, uint64_t lo, uint64_t hi,
		      uint64_t free_lo, uint64_t free_hi)
{
	struct shared_fence *f = &sh->run->fence;
	const struct shared_proc *me = &sh->run->procs[sh->me];

	f->slot = slot;
	f->drops = 0;
	f->pid = me->pid;
	f->start = me->start;
	f->lo = lo;
	f->hi = hi;
	f->free_lo = free_lo;
	f->free_hi = free_hi;
	__atomic_store_n(&f->active, 1, __ATOMIC_RELEASE);
	fence_owner = sh;
}

void shared_fence_drops(struct shared *sh)
{
	sh->run->fence.drops = 1;
}

void shared_fence_clear(struct shared *sh)
{
	struct shared_run *run = sh->run;

	if (!run->fence.active || fence_owner != sh)
		return;
	__atomic_store_n(&run->fence.active, 0, __ATOMIC_RELEASE);
	sh->slot_gen[run->fence.slot]++;
	fence_owner = NULL;
	atomic_fetch_add(&run->fence_seq, 1);
	futex_wake_all(&run->fence_seq);
	for (unsigned i = 0; i < SHARED_PROCS; i++)
		if (run->procs[i].pid)
			bell_ring(&run->procs[i]);
}

int shared_fenced(const struct shared *sh, uint32_t slot, uint64_t off)
{
	const struct shared_fence *f = &sh->run->fence;

	return f->active && f->slot == slot && fence_owner != sh && off >= f->lo && off < f->hi;
}

int shared_fence_frees(const struct shared *sh, uint32_t slot, uint64_t e)
{
	const struct shared_fence *f = &sh->run->fence;

	return f->active && f->drops && f->slot == slot && fence_owner != sh && e >= f->free_lo &&
	       e < f->free_hi;
}

void shared_fence_adopt(struct shared *sh)
{
	const struct shared_proc *me = &sh->run->procs[sh->me];

	sh->run->fence.pid = me->pid;
	sh->run->fence.start = me->start;
	sh->run->fence.drops = 1; /* its recovery makes everyone drop the free range */
	fence_owner = sh;
}

uint32_t shared_fence_seq(const struct shared *sh)
{
	return atomic_load(&sh->run->fence_seq);
}

void shared_fence_wait(struct shared *sh, uint32_t seen)
{
	if (atomic_load(&sh->run->fence_seq) == seen)
		futex_wait_ns(&sh->run->fence_seq, seen, SHARED_POLL_NS);
}

/* takes meta */
void shared_request_send(struct shared *sh, struct shared_req *r, struct shared_wait *w)
{
	struct shared_run *run = sh->run;
	uint64_t mask;

	shared_meta_lock(sh);
	mask = sh->openers[r->slot] & ~(UINT64_C(1) << sh->me);
	r->from = sh->me;
	r->to = mask;
	r->seq = run->req.seq + 2;
	/* a seqlock: odd while the fields change */
	__atomic_store_n(&run->req.seq, r->seq - 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	SEQ_STORE(run->req.from, r->from);
	SEQ_STORE(run->req.to, r->to);
	SEQ_STORE(run->req.slot, r->slot);
	SEQ_STORE(run->req.kind, r->kind);
	SEQ_STORE(run->req.lo, r->lo);
	SEQ_STORE(run->req.hi, r->hi);
	SEQ_STORE(run->req.free_lo, r->free_lo);
	SEQ_STORE(run->req.free_hi, r->free_hi);
	SEQ_STORE(run->req.size, r->size);
	SEQ_STORE(run->req.old, r->old);
	__atomic_store_n(&run->req.seq, r->seq, __ATOMIC_RELEASE);
	w->seq = r->seq;
	w->slot = r->slot;
	w->n = 0;
	for (unsigned i = 0; i < SHARED_PROCS; i++)
		if ((mask >> i & 1) && run->procs[i].pid) {
			w->idx[w->n] = i;
			w->pid[w->n] = run->procs[i].pid;
			w->start[w->n++] = run->procs[i].start;
		}
	shared_meta_unlock(sh);
	for (unsigned k = 0; k < w->n; k++)
		bell_ring(&run->procs[w->idx[k]]);
}

/* takes meta (not across the waits) */
void shared_request_wait(struct shared *sh, struct shared_wait *w)
{
	struct shared_run *run = sh->run;

	for (unsigned k = 0; k < w->n; k++) {
		struct shared_proc *p = &run->procs[w->idx[k]];
		uint32_t v;

		for (int polls = 0; (v = atomic_load(&p->ack)) != w->seq; polls++) {
			int gone;

			/* the first check soon: a dead peer costs 1 ms */
			futex_wait_ns(&p->ack, v, polls ? SHARED_POLL_NS : SHARED_POLL_NS / 50);
			if (atomic_load(&p->ack) == w->seq)
				break;
			/* gone: closed the pool (its slot is free or another's),
			 * or has the object neither open nor mapped any more
			 * (nothing of it to tear down), or died (its mappings
			 * went with it) */
			shared_meta_lock(sh);
			gone = p->pid != w->pid[k] || p->start != w->start[k] ||
			       !(sh->openers[w->slot] >> w->idx[k] & 1);
			if (!gone && !pid_alive(w->pid[k], w->start[k])) {
				proc_reclaim_locked(sh, w->idx[k]);
				gone = 1;
			}
			shared_meta_unlock(sh);
			if (gone)
				break;
		}
	}
	w->n = 0;
}

void shared_request(struct shared *sh, struct shared_req *r)
{
	struct shared_wait w;

	shared_request_send(sh, r, &w);
	shared_request_wait(sh, &w);
}

void shared_opener_set(struct shared *sh, uint32_t slot, int on)
{
	uint64_t bit = UINT64_C(1) << sh->me;

	if (on)
		sh->openers[slot] |= bit;
	else
		sh->openers[slot] &= ~bit;
}

int shared_opened_elsewhere(struct shared *sh, uint32_t slot)
{
	uint64_t mask = sh->openers[slot] & ~(UINT64_C(1) << sh->me);

	for (unsigned i = 0; i < SHARED_PROCS; i++)
		if ((mask >> i & 1) && !proc_alive(&sh->run->procs[i]))
			proc_reclaim_locked(sh, i);
	return (sh->openers[slot] & ~(UINT64_C(1) << sh->me)) != 0;
}

/* The dead holder of op left a fence: recover its operation (no wait: a
 * live holder may be waiting for this very thread). Takes op (trylock). */
static void shared_check_dead_op(struct shared *sh) NO_TSA
{
	struct shared_fence f;
	int rc;

	shared_meta_lock(sh);
	f = sh->run->fence;
	shared_meta_unlock(sh);
	if (!f.active || pid_alive(f.pid, f.start))
		return;
	rc = pthread_mutex_trylock(&sh->run->op);
	if (rc == EOWNERDEAD)
		pthread_mutex_consistent(&sh->run->op);
	if (rc != EOWNERDEAD && rc != 0)
		return; /* a live holder: it recovers it (shared_op_lock) or is at work */
	lockdep_acquire(LOCKDEP_CLASS(lockclass_shared_op), sh, LOCKDEP_EXCL | LOCKDEP_TRY);
	/* (with op held: a fence whose owner is dead is still up, or it
	 * was recovered by whoever had op before us) */
	shared_meta_lock(sh);
	f = sh->run->fence;
	shared_meta_unlock(sh);
	if (f.active && !pid_alive(f.pid, f.start))
		sh->recover(sh->arg);
	shared_op_unlock(sh);
}

/* The service thread: requests from the other processes, fence drops,
 * and the recovery of an operation whose process died. */
static void *shared_service(void *arg)
{
	struct shared *sh = arg;
	struct shared_run *run = sh->run;
	struct shared_proc *me = &run->procs[sh->me];
	uint32_t handled = atomic_load(&me->ack), fseen = atomic_load(&run->fence_seq);

	while (!atomic_load(&sh->svc_stop)) {
		uint32_t bell = atomic_load(&me->bell), seq, f;

		seq = __atomic_load_n(&run->req.seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			sched_yield(); /* being written: soon */
			continue;
		}
		if (seq != handled) {
			struct shared_req r;

			r.seq = seq;
			r.from = SEQ_LOAD(run->req.from);
			r.to = SEQ_LOAD(run->req.to);
			r.slot = SEQ_LOAD(run->req.slot);
			r.kind = SEQ_LOAD(run->req.kind);
			r.lo = SEQ_LOAD(run->req.lo);
			r.hi = SEQ_LOAD(run->req.hi);
			r.free_lo = SEQ_LOAD(run->req.free_lo);
			r.free_hi = SEQ_LOAD(run->req.free_hi);
			r.size = SEQ_LOAD(run->req.size);
			r.old = SEQ_LOAD(run->req.old);
			/* a request not addressed to us may be overwritten as
			 * we copy it: read it again then */
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&run->req.seq, __ATOMIC_RELAXED) != seq)
				continue;
			if ((r.to >> sh->me & 1) && r.slot < run->nslots)
				sh->handle(sh->arg, &r);
			handled = seq;
			atomic_store(&me->ack, seq);
			futex_wake_all(&me->ack);
		}
		if ((f = atomic_load(&run->fence_seq)) != fseen) {
			fseen = f;
			sh->fence_dropped(sh->arg);
		}
		shared_check_dead_op(sh);
		lockdep_assert_none_held("shared pool service thread");
		futex_wait_ns(&me->bell, bell, 4 * SHARED_POLL_NS);
	}
	return NULL;
}
