/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mappings: reservation, registration, the registry, persist, fork.
 *
 * A mapping starts as a private anonymous reservation registered with the
 * pool's userfaultfd (missing faults, and write-protect faults when
 * writable). Faults replace parts of it with MAP_SHARED mappings of the
 * pool file, extent by extent (fault.c). The reservation is MADV_DONTFORK,
 * and so is every pool mapping placed in it: a child of fork() has nothing
 * there, and a stray access in it is SIGSEGV, never a store into anonymous
 * memory that the pool would not see.
 */
#define _GNU_SOURCE
#include "map.h"

#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crashtest.h"
#include "out.h"
#include "page.h"
#include "uffd.h"

struct dm_rwlock maps_lock = RWLOCK_INITIALIZER(lockclass_maps_lock);

/* the registry: live mappings sorted by address; under maps_lock */
static struct dm_mapping **maps GUARDED_BY(maps_lock);
static size_t nmaps GUARDED_BY(maps_lock), maps_cap GUARDED_BY(maps_lock);

void map_rdlock(void)
{
	/* whoever uses the registry sees the application's moves first,
	 * when maps_lock is free (never waited for) */
	map_apply_moves();
	rwlock_rdlock(&maps_lock);
}

void map_rdunlock(void)
{
	rwlock_rdunlock(&maps_lock);
}

/* index of the first mapping whose start is > addr */
static size_t map_upper(const void *addr) REQUIRES_SHARED(maps_lock)
{
	size_t lo = 0, hi = nmaps;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((const char *)addr < maps[mid]->va)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct dm_mapping *map_lookup(const void *addr)
{
	size_t i = map_upper(addr);
	struct dm_mapping *m;

	if (i == 0)
		return NULL;
	m = maps[i - 1];
	return (const char *)addr < m->va + m->len ? m : NULL;
}

static int map_insert(struct dm_mapping *m) REQUIRES(maps_lock)
{
	size_t i;

	if (nmaps == maps_cap) {
		size_t cap = maps_cap ? maps_cap * 2 : 16;
		struct dm_mapping **n = realloc(maps, cap * sizeof(*n));
		if (!n)
			return ERR(-ENOMEM, "out of memory registering a mapping");
		maps = n;
		maps_cap = cap;
	}
	i = map_upper(m->va);
	memmove(&maps[i + 1], &maps[i], (nmaps - i) * sizeof(*maps));
	maps[i] = m;
	nmaps++;
	return 0;
}

static void map_remove(struct dm_mapping *m) REQUIRES(maps_lock)
{
	size_t i = map_upper(m->va) - 1;

	memmove(&maps[i], &maps[i + 1], (nmaps - i - 1) * sizeof(*maps));
	nmaps--;
}

/* ---- following the application's mremap of a whole mapping ------------
 *
 * An mremap of a registered range (a mapping whose pages were never
 * written: written data is pool pages, in VMAs of their own, not
 * registered, and mremap moves one VMA) brings UFFD_EVENT_REMAP, which the
 * uffd's readers note here (map_note_move, any thread, no lock: a push on
 * a stack of moves). The registry can change only under maps_lock
 * exclusive, and a reader must never wait for that: a shrink holds
 * maps_lock shared while its own mremap waits for a reader. So moves are
 * applied by whoever finds maps_lock free (map_apply_moves, a trylock;
 * map_rdlock tries first), by every change of the registry before it
 * changes it, and by a fault that finds no mapping at its address while
 * moves are pending (it wakes its thread to fault again). A whole mapping
 * moved is placed at its new address; a part is not followed.
 */
struct map_move {
	struct map_move *next;
	uintptr_t from, to;
	size_t len;
};

/* pushed by uffd readers, taken whole under maps_lock exclusive: a stack
 * with one consumer at a time needs no more than exchange */
static _Atomic(struct map_move *) map_moves;
/* threads between a read() of the uffd and the note of the remap event it
 * may bring. The mremap returns as soon as its event is read, before it is
 * noted: a change of the registry waits for this to be 0 first, so that a
 * move the application has seen done is never applied after a mapping
 * made later at its old address. */
static _Atomic unsigned map_noting;

void map_note_begin(void)
{
	atomic_fetch_add(&map_noting, 1);
}

void map_note_end(void)
{
	atomic_fetch_sub(&map_noting, 1);
}

void map_note_move(uintptr_t from, uintptr_t to, size_t len)
{
	struct map_move *mv = malloc(sizeof(*mv));

	if (!mv) {
		LOG(OUT_ERROR, "out of memory noting an mremap of %#lx: faults at %#lx get SIGBUS",
		    (unsigned long)from, (unsigned long)to);
		return;
	}
	mv->from = from;
	mv->to = to;
	mv->len = len;
	mv->next = atomic_load(&map_moves);
	while (!atomic_compare_exchange_weak(&map_moves, &mv->next, mv))
		;
}

int map_moves_pending(void)
{
	return atomic_load(&map_moves) != NULL || atomic_load(&map_noting) > 0;
}

/* No mapping of the registry overlaps [s, e), but maybe `except`. */
static int map_range_free(uintptr_t s, uintptr_t e, const struct dm_mapping *except)
	REQUIRES(maps_lock)
{
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i] != except && (uintptr_t)maps[i]->va < e &&
		    (uintptr_t)maps[i]->va + maps[i]->len > s)
			return 0;
	return 1;
}

/* [s, e) of mapping m (page aligned) now lies at `to`. */
static void map_follow(struct dm_mapping *m, uintptr_t s, uintptr_t e, uintptr_t to)
	REQUIRES(maps_lock)
{
	int whole = s == (uintptr_t)m->va && e == (uintptr_t)m->va + m->len;

	if (!map_range_free(to, to + (e - s), whole ? m : NULL)) {
		LOG(OUT_ERROR, "%#lx+%lu of a daxmap mapping was moved with mremap over another "
			       "daxmap mapping at %#lx: not followed", (unsigned long)s,
		    (unsigned long)(e - s), (unsigned long)to);
		return;
	}
	if (whole) {
		map_remove(m);
		m->va = (char *)to;
		map_insert(m); /* room: one was just removed */
		LOG(OUT_NOTICE, "daxmap mapping moved with mremap from %#lx to %#lx: followed",
		    (unsigned long)s, (unsigned long)to);
		return;
	}
	/* A part is not followed: as a mapping of its own it would have to
	 * outlive the application's munmap of it (no event tells) and could
	 * then be found at an address reused by another mapping. Faults there
	 * get SIGBUS (fault_handle). */
	LOG(OUT_WARN, "%lu bytes at %#lx of a daxmap mapping were moved with mremap to %#lx: "
		      "only whole mappings are followed; faults there get SIGBUS",
	    (unsigned long)(e - s), (unsigned long)s, (unsigned long)to);
}

static void map_apply_move(const struct map_move *mv) REQUIRES(maps_lock)
{
	struct dm_mapping *hit[8];
	uintptr_t s[8], e[8];
	size_t n = 0;

	/* first who is hit (the registry changes as moves are applied) */
	for (size_t i = 0; i < nmaps && n < 8; i++) {
		uintptr_t va = (uintptr_t)maps[i]->va, end = va + maps[i]->len;
		s[n] = mv->from > va ? mv->from : va;
		e[n] = mv->from + mv->len < end ? mv->from + mv->len : end;
		if (s[n] < e[n])
			hit[n++] = maps[i];
	}
	for (size_t i = 0; i < n; i++)
		map_follow(hit[i], s[i], e[i], mv->to + (s[i] - mv->from));
}

/* Applies the noted moves, oldest first. Every change of the registry
 * (map, unmap, mprotect) does it first, so that a move noted earlier is
 * never applied to a mapping made later at the address it came from. */
static void map_apply_moves_locked(void) REQUIRES(maps_lock)
{
	struct map_move *list, *rev = NULL;

	/* a reader between its read() and its note holds no lock and waits
	 * for nothing: this ends in a few microseconds */
	while (atomic_load(&map_noting) > 0)
		sched_yield();
	list = atomic_exchange(&map_moves, NULL);
	while (list) { /* oldest first */
		struct map_move *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct map_move *next = rev->next;
		map_apply_move(rev); /* from a teardown's fresh range: no mapping, nothing */
		free(rev);
		rev = next;
	}
}

void map_apply_moves(void)
{
	if (!map_moves_pending())
		return;
	if (rwlock_trywrlock(&maps_lock) != 0)
		return;
	map_apply_moves_locked();
	rwlock_wrunlock(&maps_lock);
}

/*
 * A private anonymous range of len bytes with nothing in it, also under
 * mlockall(MCL_FUTURE), which populates every new mapping at mmap time,
 * before it can be registered: its pages would be plain anonymous memory
 * where a store never faults and never reaches the pool (KERNEL-NOTES 6).
 * Made PROT_NONE (never populated), unlocked (an mprotect that makes a
 * locked range writable populates it), then given its protection. Not for
 * a range in use: accesses in between are SIGSEGV. MAP_FAILED on error.
 */
static char *map_anon_unpopulated(void *where, size_t len, int prot)
{
	char *p = mmap(where, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return p;
	if (munlock(p, len) < 0 || mprotect(p, len, prot) < 0) {
		int err = errno;
		munmap(p, len);
		errno = err;
		return MAP_FAILED;
	}
	return p;
}

/*
 * Reserves len bytes at an address congruent to obj_off modulo the extent
 * size, so that extents fall on aligned virtual addresses (huge-page
 * mappings need the address and the pool offset both 2 MiB aligned).
 */
static char *map_reserve(size_t len, uint64_t obj_off, uint64_t align, int prot)
{
	size_t total = len + align;
	char *raw, *va;
	uintptr_t want = obj_off & (align - 1);

	if (total < len)
		return NULL;
	raw = map_anon_unpopulated(NULL, total, prot);
	if (raw == MAP_FAILED)
		return NULL;
	va = raw + ((want - ((uintptr_t)raw & (align - 1))) & (align - 1));
	if (va > raw)
		munmap(raw, (size_t)(va - raw));
	if (raw + total > va + len)
		munmap(va + len, (size_t)(raw + total - (va + len)));
	return va;
}

/* ---- what of a mapping is still the library's ---------------------------
 *
 * The application may munmap or mremap parts of a mapping and put memory of
 * its own there. The kernel tells a pager nothing of it where pool pages
 * were mapped (those VMAs are not registered: no userfaultfd event), and the
 * events for registered parts would make every fault's own mmap wait for a
 * handler to read the event it raises (doc/DESIGN.md, "What the application
 * does to a mapping"). So before the library maps, tears down, zeroes or
 * unmaps a range of a mapping, it asks the kernel what is there
 * (PROCMAP_QUERY on /proc/self/maps, Linux 6.11; about 0.2 us a VMA) and
 * acts on the pieces still its own: the pool file at the offset the extent
 * map gives, or anonymous memory registered with the pool's userfaultfd
 * (uffd_owns). Without PROCMAP_QUERY everything is taken to be its own, as
 * before. Something the application does between the question and the act
 * (another thread of it unmapping at that very moment) is not seen.
 */

/* struct procmap_query of <linux/fs.h> (6.11), missing from Debian 12's headers */
struct map_vma_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size;
	uint64_t vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define MAP_PROCMAP_QUERY _IOWR('f', 17, struct map_vma_query)
#define MAP_QUERY_COVERING_OR_NEXT 0x10u
#define MAP_VMA_SHARED 0x8u

/* /proc/self/maps for PROCMAP_QUERY: -1 not opened yet, -2 unsupported */
static _Atomic int map_query_fd = -1;

static int map_query_open(void)
{
	struct map_vma_query q = {.size = sizeof(q), .query_flags = MAP_QUERY_COVERING_OR_NEXT};
	int fd = atomic_load(&map_query_fd), want = -1, nfd;

	if (fd != -1)
		return fd;
	nfd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (nfd >= 0 && ioctl(nfd, MAP_PROCMAP_QUERY, &q) < 0 && errno != ENOENT) {
		LOG(OUT_NOTICE, "no PROCMAP_QUERY (Linux 6.11+): ranges of a mapping that the "
				"application unmapped or moved are not told from the library's");
		close(nfd);
		nfd = -2;
	} else if (nfd < 0) {
		nfd = -2;
	}
	if (!atomic_compare_exchange_strong(&map_query_fd, &want, nfd) && nfd >= 0)
		close(nfd); /* another thread was first */
	return atomic_load(&map_query_fd);
}

/* The VMA covering addr or the first after it: 0, 1 for none, -errno. */
static int map_vma_at(int fd, uintptr_t addr, struct map_vma_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->query_flags = MAP_QUERY_COVERING_OR_NEXT;
	q->query_addr = addr;
	if (ioctl(fd, MAP_PROCMAP_QUERY, q) == 0)
		return 0;
	return errno == ENOENT ? 1 : ERR(-errno, "PROCMAP_QUERY at %#lx failed", (unsigned long)addr);
}

/* 1 when [s, e) of VMA q is still mapping m's own, 0 when not, -errno. */
static int map_piece_ours(struct dm_mapping *m, const struct map_vma_query *q, uintptr_t s,
			  uintptr_t e)
{
	const struct pool_media *md = m->obj->md;
	uint64_t off, ei, pidx;

	/* registration is a property of the whole VMA: one page tells (and
	 * write-protects one page: cheap on the fault path) */
	(void)e;
	if (q->inode == 0 && !(q->vma_flags & MAP_VMA_SHARED))
		return uffd_owns(m->obj->tab->uffd, (void *)s, page_size());
	/* pool pages: of the pool file, at the offset of the extent there */
	if (q->inode != (uint64_t)m->pool_ino || makedev(q->dev_major, q->dev_minor) != m->pool_dev)
		return 0;
	off = m->obj_off + (s - (uintptr_t)m->va);
	ei = off >> md->extent_shift;
	if ((pidx = object_extent_get(m->obj, ei)) == EXTMAP_NONE)
		return 0;
	return q->vma_offset + (s - q->vma_start) ==
	       media_extent_off(md, pidx, off - (ei << md->extent_shift));
}

typedef int (*map_piece_fn)(struct dm_mapping *m, char *start, size_t len, void *arg);

/*
 * Calls fn on each run of [start, start+len) (inside mapping m) that is
 * still m's own (adjacent VMAs of its own make one run: one teardown, not
 * one per VMA), in address order; fn may remap its run. *foreign, when not
 * NULL, is set when some part is not m's own. 0 or the first error.
 */
static int map_each_owned(struct dm_mapping *m, char *start, size_t len, map_piece_fn fn,
			  void *arg, int *foreign)
{
	uintptr_t p = (uintptr_t)start, end = p + len, run = p;
	int fd = map_query_open(), ret, own;

	if (fd < 0)
		return fn(m, start, len, arg);
	while (p < end) {
		struct map_vma_query q;
		uintptr_t s, e;

		if ((ret = map_vma_at(fd, p, &q)) < 0)
			return ret;
		s = ret == 0 && q.vma_start > p ? (uintptr_t)q.vma_start : p;
		if (ret > 0 || s >= end)
			s = e = end, own = 0; /* nothing mapped up to the end */
		else if ((own = map_piece_ours(m, &q, s, e = q.vma_end < end ? q.vma_end : end)) < 0)
			return own;
		if (s > p || !own) {
			/* a gap or a foreign piece ends the run before it */
			if (foreign && (s > p || s < e))
				*foreign = 1;
			if (run < p && (ret = fn(m, (char *)run, p - run, arg)) < 0)
				return ret;
			run = own ? s : e;
		}
		p = e;
	}
	if (run < end && (ret = fn(m, (char *)run, end - run, arg)) < 0)
		return ret;
	return 0;
}

/* Whether pool-file offset off mapped at address a is where a live mapping
 * of the registry has it (a VMA in a gap of a mapping is not). */
static int map_at_its_place(uintptr_t a, uint64_t off) REQUIRES_SHARED(maps_lock)
{
	struct dm_mapping *m = map_lookup((void *)a);
	const struct pool_media *md;
	uint64_t o, ei, pidx;

	if (!m)
		return 0;
	md = m->obj->md;
	o = m->obj_off + (a - (uintptr_t)m->va);
	ei = o >> md->extent_shift;
	return (pidx = object_extent_get(m->obj, ei)) != EXTMAP_NONE &&
	       media_extent_off(md, pidx, o - (ei << md->extent_shift)) == off;
}

/*
 * Pool pages of mapping m's extents that the application moved away with
 * mremap (no event tells): the copy still maps the extent. Before such an
 * extent is freed, or the mapping goes, every VMA in the process that maps
 * the pool file over one of the given pool extents is made inaccessible
 * (an access there is SIGSEGV), unless it is where a live mapping of the
 * registry has those pages (m itself is out of it, or no longer maps these
 * extents). Reads
 * /proc/self/maps: slow, only when a missing piece was seen.
 */
static void map_hunt_strays(struct dm_mapping *m, const uint64_t *pidx, size_t n)
	REQUIRES_SHARED(maps_lock)
{
	const struct pool_media *md = m->obj->md;
	struct {
		uintptr_t s, e;
	} hit[64];
	size_t nhit = 0;
	char line[512];
	FILE *f;

	if (n == 0 || !(f = fopen("/proc/self/maps", "re")))
		return;
	while (fgets(line, sizeof(line), f) && nhit < 64) {
		unsigned long s, e, off, ino;
		unsigned maj, min;

		if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &s, &e, &off, &maj, &min, &ino) != 6 ||
		    ino != (unsigned long)m->pool_ino || makedev(maj, min) != m->pool_dev ||
		    ((uintptr_t)s >= (uintptr_t)md->base &&
		     (uintptr_t)s < (uintptr_t)md->base + md->mapped_len))
			continue; /* the pool's own mapping of the whole file */
		if (map_at_its_place(s, off))
			continue; /* a live mapping's own pool pages: not a stray */
		for (size_t i = 0; i < n && nhit < 64; i++) {
			uint64_t lo = media_extent_off(md, pidx[i], 0), hi = lo + md->extent_size;
			uint64_t a = off > lo ? off : lo, b = off + (e - s) < hi ? off + (e - s) : hi;
			if (a < b) {
				hit[nhit].s = s + (uintptr_t)(a - off);
				hit[nhit++].e = s + (uintptr_t)(b - off);
			}
		}
	}
	fclose(f);
	for (size_t i = 0; i < nhit; i++) {
		LOG(OUT_WARN, "%#lx+%lu maps pool extents of a daxmap mapping that the application "
			      "moved with mremap: made inaccessible before they are freed or unmapped",
		    (unsigned long)hit[i].s, (unsigned long)(hit[i].e - hit[i].s));
		mmap((void *)hit[i].s, hit[i].e - hit[i].s, PROT_NONE,
		     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
}

/* The pool extents of m's resolved extents in object range [lo, hi), for
 * map_hunt_strays; *n of them in a malloc'd array (NULL when none). */
static uint64_t *map_resolved_pidx(struct dm_mapping *m, uint64_t lo, uint64_t hi, size_t *n)
{
	unsigned shift = m->obj->md->extent_shift;
	uint64_t *v = NULL, pidx;
	size_t cap = 0;

	*n = 0;
	for (uint64_t e = lo >> shift; lo < hi && e <= (hi - 1) >> shift; e++) {
		uint64_t b = e - m->first_ext;
		if ((b & 63) == 0 && atomic_load(&m->resolved[b >> 6]) == 0) {
			e += 63; /* a word of nothing resolved: a sparse mapping's wide range */
			continue;
		}
		if (!map_test_resolved(m, e) || (pidx = object_extent_get(m->obj, e)) == EXTMAP_NONE)
			continue;
		if (*n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[(*n)++] = pidx;
	}
	return v;
}

/* vm.max_map_count, read once (0 if unknown): the fault path must not read
 * files while it holds its range and maps_lock. */
static long map_max_count(void)
{
	static _Atomic long max = -1;
	long v = atomic_load_explicit(&max, memory_order_relaxed);
	FILE *f;

	if (v >= 0)
		return v;
	v = 0;
	if ((f = fopen("/proc/sys/vm/max_map_count", "re")) != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	atomic_store_explicit(&max, v, memory_order_relaxed);
	return v;
}

/* Memory mappings (VMAs) of the process now: lines of /proc/self/maps.
 * Slow with many mappings (tens of ms at 65k): never under a lock. */
static long map_vma_count(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	long used = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		used += c == '\n';
	fclose(f);
	return used;
}

/* A mapping of [offset, offset+len) of obj, not placed yet (va NULL), or
 * NULL with a message. */
static struct dm_mapping *map_alloc(struct daxmap_obj *obj, uint64_t offset, size_t len, int prot)
{
	const struct pool_media *md = obj->md;
	struct dm_mapping *m = calloc(1, sizeof(*m));
	uint64_t nexts;
	struct stat st;

	if (!m) {
		ERR(-ENOMEM, "out of memory for a mapping");
		return NULL;
	}
	m->len = len;
	m->obj_off = offset;
	m->prot = prot;
	m->obj = obj;
	m->pool = obj->pool;
	m->first_ext = offset >> md->extent_shift;
	if (fstat(md->fd, &st) == 0) {
		m->pool_dev = st.st_dev;
		m->pool_ino = st.st_ino;
	}
	nexts = ((offset + len - 1) >> md->extent_shift) - m->first_ext + 1;
	/* large bitmaps come from calloc's fresh mmap: untouched words cost nothing */
	m->resolved = calloc((nexts + 63) / 64, sizeof(uint64_t));
	if (!m->resolved) {
		ERR(-ENOMEM, "out of memory for the state of %llu extents", (unsigned long long)nexts);
		free(m);
		return NULL;
	}
	return m;
}

/*
 * The kernel has just given us [va, va+len): a mapping of the registry
 * there is one the application unmapped with munmap (or moved away) and
 * never daxmap_unmapped. It is dead; left in the registry, it would take
 * the new mapping's faults (the lookup would find either). Forgotten, with
 * a warning (a later daxmap_unmap of it gets -EINVAL).
 */
static void map_forget_overlaps(const char *va, size_t len) REQUIRES(maps_lock)
{
	for (size_t i = 0; i < nmaps;) {
		struct dm_mapping *d = maps[i];

		if (d->va >= va + len || d->va + d->len <= va) {
			i++;
			continue;
		}
		LOG(OUT_WARN, "daxmap mapping %p+%zu was unmapped without daxmap_unmap (its address "
			      "space is mapped anew): forgotten", (void *)d->va, d->len);
		map_remove(d);
		object_map_put(d->obj);
		atomic_fetch_sub(&d->obj->tab->counters->nmappings, 1);
		free((void *)d->resolved);
		free(d);
	}
}


/* Extents read per hold of extents_lock; runs mapped per call at most (each
 * may split the reservation: two VMAs of the process's vm.max_map_count). */
#define MAP_KNOWN_CHUNK 256
#define MAP_KNOWN_RUNS 64

/*
 * Maps the allocated extents of new mapping m at once (doc/DESIGN.md,
 * "Mapping known data"): one mmap per run of extents that follow each
 * other in the pool, below the page-rounded EOF, not populated (the first
 * load of a page is the kernel's minor fault, as in a mapping of a file);
 * holes are left to our faults. An extent mapped to the end of its part in
 * m is resolved. At most MAP_KNOWN_RUNS runs (an object in many pieces
 * must not use up the process's mappings, or hold maps_lock long, for
 * extents nobody may touch): the rest, like holes, fault. With maps_lock
 * exclusive no object's range is held (doc/LOCKING.md, "What daxmap_map
 * holds"), so the extents and EOF stand still. A failure leaves the rest
 * to faults. Takes obj->extents_lock.
 */
static void map_known_locked(struct dm_mapping *m) REQUIRES(maps_lock)
{
	struct daxmap_obj *obj = m->obj;
	const struct pool_media *md = obj->md;
	unsigned shift = md->extent_shift;
	uint64_t eof = page_up(atomic_load(&obj->size)), end = m->obj_off + m->len;
	uint64_t pidx[MAP_KNOWN_CHUNK], e_end;
	unsigned runs = 0;

	if (end > eof)
		end = eof;
	if (m->obj_off >= end)
		return;
	e_end = ((end - 1) >> shift) + 1;
	for (uint64_t c = m->obj_off >> shift; c < e_end; c += MAP_KNOWN_CHUNK) {
		uint64_t n = e_end - c < MAP_KNOWN_CHUNK ? e_end - c : MAP_KNOWN_CHUNK, r;

		object_extents_get(obj, c, n, pidx);
		for (uint64_t k = 0; k < n; k += r) {
			uint64_t estart = (c + k) << shift, lo = estart, hi;

			r = 1;
			if (pidx[k] == EXTMAP_NONE)
				continue;
			while (k + r < n && pidx[k + r] == pidx[k] + r)
				r++;
			if (runs++ == MAP_KNOWN_RUNS)
				return;
			hi = (c + k + r) << shift;
			map_clip(m, &lo, &hi);
			if (hi > end)
				hi = end;
			if (map_pool_pages(m, pidx[k], estart, lo, hi, 0) < 0) {
				LOG(OUT_WARN, "mapping the allocated extents of a new mapping at "
					      "once: %s; the rest fault as usual",
				    daxmap_errormsg());
				return;
			}
			counter_add(&obj->tab->counters->bytes_mapped_known, hi - lo);
			/* resolved, as a fault decides it: mapped to the end of
			 * the extent's part in m, which EOF does not cut */
			for (uint64_t j = c + k; j < c + k + r; j++) {
				uint64_t plo = j << shift, phi = (j + 1) << shift;
				if (map_clip(m, &plo, &phi) && phi <= eof)
					map_set_resolved(m, j);
			}
		}
	}
}

/* takes maps_lock (exclusive), then pool->objtab.lock */
int daxmap_map(void **addr, daxmap_obj *obj, uint64_t offset, size_t len, int prot)
{
	size_t ps = page_size();
	const struct pool_media *md;
	struct dm_mapping *m = NULL;
	int ret;

	if (!addr)
		return ERR(-EINVAL, "addr is NULL");
	*addr = NULL;
	if ((ret = object_check(obj)) < 0)
		return ret;
	md = obj->md;
	if (prot != PROT_READ && prot != (PROT_READ | PROT_WRITE))
		return ERR(-EINVAL, "prot %#x: use DAXMAP_PROT_READ, optionally with "
				    "DAXMAP_PROT_WRITE", prot);
	if (len == 0)
		return ERR(-EINVAL, "length is 0");
	if (offset & (ps - 1))
		return ERR(-EINVAL, "offset %llu is not a multiple of the page size %zu",
			   (unsigned long long)offset, ps);
	if (len > DAXMAP_MAX_OBJ_SIZE || offset > DAXMAP_MAX_OBJ_SIZE - len ||
	    ((len + ps - 1) & ~(ps - 1)) > DAXMAP_MAX_OBJ_SIZE - offset)
		return ERR(-EFBIG, "offset %llu + length %zu beyond the maximum object size %llu",
			   (unsigned long long)offset, len,
			   (unsigned long long)DAXMAP_MAX_OBJ_SIZE);
	len = (len + ps - 1) & ~(ps - 1);

	if (!(m = map_alloc(obj, offset, len, prot)))
		return -ENOMEM;
	m->va = map_reserve(len, offset, md->extent_size, prot);
	if (!m->va) {
		long used = map_vma_count(), max = map_max_count();
		if (used >= 0 && max > 0 && used + 2 >= max)
			ret = ERR(-ENOMEM, "cannot reserve %zu bytes of address space: the process "
					   "has %ld memory mappings, its limit vm.max_map_count is "
					   "%ld; raise it (sysctl -w vm.max_map_count=N) or unmap "
					   "something", len, used, max);
		else
			ret = ERR(-ENOMEM, "cannot reserve %zu bytes of address space", len);
		goto out_free;
	}
	if (madvise(m->va, len, MADV_DONTFORK) < 0) {
		ret = ERR(-errno, "madvise(MADV_DONTFORK) of the reservation failed");
		goto out_unmap;
	}
	if ((ret = uffd_register(obj->tab->uffd, m->va, len, prot)) < 0)
		goto out_unmap;

	rwlock_wrlock(&maps_lock);
	map_apply_moves_locked();
	map_forget_overlaps(m->va, len);
	ret = map_insert(m);
	if (ret == 0) {
		object_map_get(obj);
		map_known_locked(m);
		/* read under the lock: once in the registry, an mremap of the
		 * mapping may move m->va (map_follow) */
		*addr = m->va;
	}
	rwlock_wrunlock(&maps_lock);
	if (ret < 0)
		goto out_unmap;
	atomic_fetch_add(&obj->tab->counters->nmappings, 1);
	return 0;

out_unmap:
	munmap(m->va, len);
out_free:
	free((void *)m->resolved);
	free(m);
	return ret;
}

static int map_munmap_piece(struct dm_mapping *m, char *start, size_t len, void *arg)
{
	(void)m;
	(void)arg;
	munmap(start, len);
	return 0;
}

/* Unmaps what is still m's own of it, never the application's memory
 * there; pool pages of it that the application moved elsewhere go too. */
static void map_unmap_owned(struct dm_mapping *m) REQUIRES(maps_lock)
{
	int foreign = 0;
	size_t n = 0;
	uint64_t *pidx;

	if (map_each_owned(m, m->va, m->len, map_munmap_piece, NULL, &foreign) < 0) {
		/* what was not unmapped stays: never the application's memory */
		LOG(OUT_ERROR, "unmapping %p+%zu: %s; what is left stays mapped", (void *)m->va,
		    m->len, daxmap_errormsg());
		return;
	}
	if (foreign) {
		pidx = map_resolved_pidx(m, m->obj_off, m->obj_off + m->len, &n);
		map_hunt_strays(m, pidx, n);
		free(pidx);
	}
}

/*
 * The mapping that is exactly [addr, addr+len) (len rounded up to pages),
 * after applying the application's pending moves; NULL with a message
 * (-EINVAL) when there is none.
 */
static struct dm_mapping *map_whole_locked(void *addr, size_t len) REQUIRES(maps_lock)
{
	size_t ps = page_size();
	struct dm_mapping *m;

	map_apply_moves_locked();
	m = map_lookup(addr);
	if (!m || m->va != (char *)addr || m->len != ((len + ps - 1) & ~(ps - 1))) {
		ERR(-EINVAL, "%p+%zu is not a whole daxmap mapping", addr, len);
		return NULL;
	}
	return m;
}

/* takes maps_lock (exclusive), then pool->objtab.lock */
int daxmap_unmap(void *addr, size_t len)
{
	struct dm_mapping *m;
	int ret = 0;

	rwlock_wrlock(&maps_lock);
	if (!(m = map_whole_locked(addr, len))) {
		ret = -EINVAL;
	} else {
		/* under the exclusive lock no fault is resolving in it; faults
		 * still queued find no mapping and just wake their thread */
		map_remove(m);
		map_unmap_owned(m);
		object_map_put(m->obj);
		atomic_fetch_sub(&m->obj->tab->counters->nmappings, 1);
	}
	rwlock_wrunlock(&maps_lock);
	if (ret == 0) {
		free((void *)m->resolved);
		free(m);
	}
	return ret;
}

static int map_mprotect_piece(struct dm_mapping *m, char *start, size_t len, void *arg)
{
	int prot = *(const int *)arg;

	/* zeros of hole reads are write-protected whatever the protection
	 * was (fault.c): a store after this one still comes to us */
	(void)m;
	if (mprotect(start, len, prot) < 0)
		return ERR(-errno, "mprotect of %p+%zu failed", (void *)start, len);
	return 0;
}

/* takes maps_lock (exclusive): no fault is resolving in any mapping */
int daxmap_mprotect(void *addr, size_t len, int prot)
{
	struct dm_mapping *m;
	int ret;

	if (prot != 0 && prot != PROT_READ && prot != (PROT_READ | PROT_WRITE))
		return ERR(-EINVAL, "prot %#x: use 0, DAXMAP_PROT_READ, or DAXMAP_PROT_READ with "
				    "DAXMAP_PROT_WRITE", prot);
	rwlock_wrlock(&maps_lock);
	if (!(m = map_whole_locked(addr, len))) {
		ret = -EINVAL;
	} else {
		/* faults resolved from now on map with it (map_pool_pages, the
		 * zeros of hole reads, teardown ranges) */
		m->prot = prot;
		ret = map_each_owned(m, m->va, m->len, map_mprotect_piece, &prot, NULL);
	}
	rwlock_wrunlock(&maps_lock);
	return ret;
}

/*
 * A daxmap_persist of [addr, addr+len) of mapping m is a persistence point:
 * the crash-test hook (crash-test builds) sees the pool-file ranges of the
 * parts mapped to the pool, widened as the persist widens them (extents are
 * page aligned in both the mapping and the pool) and clipped to the mapping.
 */
static void map_report_persist(struct dm_mapping *m, const void *addr, size_t len)
	REQUIRES_SHARED(maps_lock)
{
	const struct pool_media *md = m->obj->md;
	uint64_t es = md->extent_size, g = md->is_pmem ? 64 : page_size();
	uintptr_t va = (uintptr_t)m->va, p, end;

	if (!crashtest_hooked() || len == 0)
		return;
	p = (uintptr_t)addr & ~(uintptr_t)(g - 1);
	end = ((uintptr_t)addr + len + g - 1) & ~(uintptr_t)(g - 1);
	if (p < va)
		p = va;
	if (end > va + m->len)
		end = va + m->len;
	while (p < end) {
		uint64_t off = m->obj_off + (p - va), e = off / es, pidx;
		uintptr_t n = (uintptr_t)((e + 1) * es - off);

		if (n > end - p)
			n = end - p;
		/* only extents mapped to the pool write anything back; holes
		 * read as copied zeros are anonymous memory */
		if (map_test_resolved(m, e) && (pidx = object_extent_get(m->obj, e)) != EXTMAP_NONE)
			crashtest_persist(md->path, md->base, (size_t)atomic_load(&md->size), md->is_pmem,
					  (size_t)media_extent_off(md, pidx, off - e * es), n);
		p += n;
	}
}

/* takes maps_lock (shared) */
int daxmap_persist(const void *addr, size_t len)
{
	struct dm_mapping *m;
	const char *p = addr;
	int ret = 0;

	if (len == 0)
		return 0;
	map_rdlock();
	m = map_lookup(addr);
	if (m && len <= (size_t)(m->va + m->len - p))
		map_report_persist(m, addr, len);
	if (!m || len > (size_t)(m->va + m->len - p)) {
		ret = ERR(-EINVAL, "%p+%zu is not inside one daxmap mapping", addr, len);
	} else if (!m->obj->md->is_pmem) {
		/* one msync covers pool pages and holes alike (holes are
		 * anonymous memory: nothing to write) */
		if (pmem_msync(addr, len) < 0)
			ret = ERR(-EIO, "msync of %p+%zu failed: %s", addr, len, strerror(errno));
	} else {
		/* real pmem: flush cache lines of extents mapped to the pool;
		 * flushing a hole would fault it in, so msync those parts */
		uint64_t es = m->obj->md->extent_size;
		while (len > 0) {
			uint64_t off = m->obj_off + (uint64_t)(p - m->va);
			uint64_t e = off / es;
			size_t n = (size_t)((e + 1) * es - off);
			if (n > len)
				n = len;
			if (map_test_resolved(m, e))
				pmem_persist(p, n);
			else if (pmem_msync(p, n) < 0)
				ret = ERR(-EIO, "msync of %p+%zu failed", (const void *)p, n);
			p += n;
			len -= n;
		}
	}
	map_rdunlock();
	return ret;
}

static int map_dontneed_piece(struct dm_mapping *m, char *start, size_t len, void *arg)
{
	(void)m;
	(void)arg;
	madvise(start, len, MADV_DONTNEED);
	return 0;
}

/* MADV_DONTNEED of what is still m's own of [start, start+len). */
static void map_zap_owned(struct dm_mapping *m, char *start, size_t len)
	REQUIRES_SHARED(maps_lock)
{
	if (map_each_owned(m, start, len, map_dontneed_piece, NULL, NULL) < 0)
		LOG(OUT_ERROR, "zapping %p+%zu: %s", (void *)start, len, daxmap_errormsg());
}

void map_zap_pages(const void *addr, size_t len)
{
	struct dm_mapping *m = map_lookup(addr);

	if (m && (const char *)addr + len <= m->va + m->len)
		map_zap_owned(m, (char *)addr, len);
}

void map_zap_obj_range(struct daxmap_obj *obj, uint64_t start, uint64_t end)
{
	if (start >= end)
		return;
	for (size_t i = 0; i < nmaps; i++) {
		struct dm_mapping *m = maps[i];
		uint64_t lo, hi;

		if (m->obj != obj || atomic_load(&m->poisoned) == 0)
			continue;
		lo = start;
		hi = end;
		if (map_clip(m, &lo, &hi))
			map_zap_owned(m, m->va + (lo - m->obj_off), hi - lo);
	}
}

/* The registered anonymous range that replaces [target, target+len). */
static int map_swap_in_fresh(struct dm_mapping *m, char *target, size_t len, void *arg)
{
	(void)arg;
	char *fresh = map_anon_unpopulated(NULL, len, m->prot);
	int ret;

	if (fresh == MAP_FAILED)
		return ERR(-errno, "cannot map %zu bytes to tear down %p", len, (void *)target);
	if (madvise(fresh, len, MADV_DONTFORK) < 0) {
		ret = ERR(-errno, "madvise(MADV_DONTFORK) failed");
		goto out_unmap;
	}
	if ((ret = uffd_register(m->obj->tab->uffd, fresh, len, m->prot)) < 0)
		goto out_unmap;
	/* one step, under the process's mmap lock: no access to the target
	 * can land between the pool pages leaving and the registered range
	 * arriving (a mmap-then-register would let a store fall into plain
	 * anonymous memory). The registration moves along because the uffd
	 * has UFFD_FEATURE_EVENT_REMAP; the call returns once a handler has
	 * read the remap event. */
	if (mremap(fresh, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, target) == MAP_FAILED) {
		ret = ERR(-errno, "mremap over %p+%zu failed", (void *)target, len);
		goto out_unmap;
	}
	return 0;
out_unmap:
	munmap(fresh, len);
	return ret;
}

/*
 * Punch's way back to fault-on-touch: a new anonymous mapping in place,
 * registered, then emptied. Unlike a moved range, it lies at its own
 * address, so the kernel merges it with its registered neighbours and
 * punch/refault cycles do not pile up VMAs. Between the mmap and the
 * registration a store by another thread lands in plain anonymous memory;
 * the MADV_DONTNEED after the registration discards it, exactly as if it had
 * come just before the punch, which then zeroes it anyway. No store survives
 * in anonymous memory, and the range reads zero as a punched range must.
 * (A shrink cannot use this: a read past the new EOF in that window would
 * see zeros instead of the old data or SIGBUS.)
 */
static int map_replace_in_place(struct dm_mapping *m, char *target, size_t len, void *arg)
{
	int ret;

	(void)arg;
	if (mmap(target, len, m->prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		return ERR(-errno, "cannot remap %p+%zu for a punch", (void *)target, len);
	/* under mlockall(MCL_FUTURE) the new range came populated and locked:
	 * unlocked, the MADV_DONTNEED below empties it (it refuses locked pages) */
	if (munlock(target, len) < 0)
		ret = ERR(-errno, "munlock of %p+%zu for a punch failed", (void *)target, len);
	else if (madvise(target, len, MADV_DONTFORK) < 0)
		ret = ERR(-errno, "madvise(MADV_DONTFORK) failed");
	else
		ret = uffd_register(m->obj->tab->uffd, target, len, m->prot);
	if (ret < 0) {
		/* never leave an unregistered range behind: make it loud */
		mmap(target, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
		LOG(OUT_ERROR, "%p+%zu of a mapping is now inaccessible: %s", (void *)target, len,
		    daxmap_errormsg());
		return ret;
	}
	if (madvise(target, len, MADV_DONTNEED) < 0)
		return ERR(-errno, "madvise(MADV_DONTNEED) after a punch failed");
	return 0;
}

int map_teardown_obj_range(struct daxmap_obj *obj, uint64_t start, uint64_t end, int in_place)
{
	unsigned shift = obj->md->extent_shift;
	struct dm_mapping *hunt = NULL;
	uint64_t *strays = NULL;
	size_t nstrays = 0;
	int ret, foreign;

	for (size_t i = 0; i < nmaps; i++) {
		struct dm_mapping *m = maps[i];
		uint64_t lo, hi;
		char *target;

		lo = start;
		hi = end;
		if (m->obj != obj || !map_clip(m, &lo, &hi))
			continue;
		target = m->va + (lo - m->obj_off);
		foreign = 0;
		ret = map_each_owned(m, target, (size_t)(hi - lo),
				     in_place ? map_replace_in_place : map_swap_in_fresh, NULL,
				     &foreign);
		if (ret < 0)
			goto out;
		if (foreign) {
			/* pool pages of it may have been moved elsewhere */
			size_t k = 0;
			uint64_t *more = map_resolved_pidx(m, lo, hi, &k), *nv;
			if (k && (nv = realloc(strays, (nstrays + k) * sizeof(*nv))) != NULL) {
				strays = nv;
				memcpy(strays + nstrays, more, k * sizeof(*more));
				nstrays += k;
			}
			free(more);
			hunt = m;
		}
		for (uint64_t e = lo >> shift; e <= (hi - 1) >> shift; e++)
			map_clear_resolved(m, e);
	}
	/* no mapping of ours maps these extents now: any other VMA that does
	 * is pool pages the application moved */
	if (hunt)
		map_hunt_strays(hunt, strays, nstrays);
	ret = 0;
out:
	free(strays);
	return ret;
}

void map_drop_zero_copies(struct daxmap_obj *obj, uint64_t e, struct dm_mapping *except)
{
	uint64_t es = obj->md->extent_size, estart = e * es, eend = estart + es;

	if (obj->maps < (except ? 2u : 1u))
		return; /* the common case: no other mapping (maps changes only
			   under maps_lock exclusive, so this read is stable);
			   except NULL (a pwrite): every mapping counts */
	for (size_t i = 0; i < nmaps; i++) {
		struct dm_mapping *m = maps[i];
		uint64_t lo, hi;

		lo = estart;
		hi = eend;
		if (m == except || m->obj != obj)
			continue;
		if (map_clip(m, &lo, &hi) && !map_test_resolved(m, e))
			map_zap_owned(m, m->va + (lo - m->obj_off), (size_t)(hi - lo));
	}
}

struct map_pool_args {
	uint64_t pidx, estart;
	int populate;
	size_t mapped; /* bytes mapped so far */
};

/* The pool pages of one owned piece of an extent's part in mapping m. */
static int map_pool_piece(struct dm_mapping *m, char *va, size_t len, void *arg)
{
	struct map_pool_args *a = arg;
	const struct pool_media *md = m->obj->md;
	uint64_t off = m->obj_off + (uint64_t)(va - m->va);
	uint64_t poff = media_extent_off(md, a->pidx, off - a->estart);

	if (mmap(va, len, m->prot, MAP_FIXED | MAP_SHARED | (a->populate ? MAP_POPULATE : 0),
		 md->fd, (off_t)poff) == MAP_FAILED) {
		int err = errno;
		/* fail fast: no counting of the process's mappings here, with
		 * the range and maps_lock held (it took ~50-150 ms a fault) */
		if (err == ENOMEM)
			return ERR(-ENOMEM, "mmap of pool extent %llu at %p failed: the process may "
					    "be at its limit of memory mappings (vm.max_map_count "
					    "is %ld); raise it (sysctl -w vm.max_map_count=N) or "
					    "map fewer, larger objects",
				   (unsigned long long)a->pidx, (void *)va, map_max_count());
		return ERR(-err, "mmap of pool extent %llu at %p failed", (unsigned long long)a->pidx,
			   (void *)va);
	}
	/* a child of fork() must not inherit pool pages: see doc/DESIGN.md */
	madvise(va, len, MADV_DONTFORK);
	a->mapped += len;
	return 0;
}

int map_pool_pages(struct dm_mapping *m, uint64_t pidx, uint64_t estart, uint64_t lo, uint64_t hi,
		   int populate)
{
	const struct pool_media *md = m->obj->md;
	struct map_pool_args a = {.pidx = pidx, .estart = estart, .populate = populate, .mapped = 0};
	int ret;

	/* a damaged extent map must never make us map outside the pool */
	if (pidx >= md->nextents || media_extent_off(md, pidx, lo - estart) + (hi - lo) > md->mapped_len)
		return ERR(-EUCLEAN, "extent %llu lies outside pool %s", (unsigned long long)pidx,
			   md->path);
	/* before the application can touch them: once mapped, its pages may be
	 * pinned by the kernel, and only a punch detaches them when freed */
	media_hull_expose(md, pidx + ((lo - estart) >> md->extent_shift),
			  ((hi - 1 - estart) >> md->extent_shift) - ((lo - estart) >> md->extent_shift) + 1);
	/* only over what is still the mapping's: never over memory the
	 * application put where it unmapped part of the mapping */
	ret = map_each_owned(m, m->va + (lo - m->obj_off), (size_t)(hi - lo), map_pool_piece, &a,
			     NULL);
	/* a fault comes from a page of ours: none found means the check is
	 * wrong, and a wake would only bring the fault back, forever */
	if (ret == 0 && a.mapped == 0)
		ret = ERR(-EFAULT, "nothing of %p+%llu is the mapping's own any more",
			  (void *)(m->va + (lo - m->obj_off)), (unsigned long long)(hi - lo));
	return ret;
}

void map_extend_tail(struct daxmap_obj *obj, uint64_t e, uint64_t pidx, uint64_t from,
		     uint64_t to)
{
	const struct pool_media *md = obj->md;
	uint64_t estart = e << md->extent_shift, eend = estart + md->extent_size;

	if (to > eend)
		to = eend;
	if (from >= to || obj->maps == 0 || pidx >= md->nextents)
		return;
	for (size_t i = 0; i < nmaps; i++) {
		struct dm_mapping *m = maps[i];
		uint64_t lo = from, hi = to;

		if (m->obj != obj || !map_clip(m, &lo, &hi))
			continue;
		/* only an optimisation: if it fails, those pages fault as usual */
		if (map_pool_pages(m, pidx, estart, lo, hi, 1) < 0)
			LOG(OUT_WARN, "extending the mapping of a grown object: %s",
			    daxmap_errormsg());
	}
}

void map_fork_prepare(void)
{
	/* waits for every fault resolution in flight: none is between its
	 * mmap and its MADV_DONTFORK while the process forks */
	rwlock_wrlock(&maps_lock);
}

void map_fork_parent(void)
{
	rwlock_wrunlock(&maps_lock);
}

void map_fork_child(void) NO_TSA
{
	/* the child has none of the mappings (all MADV_DONTFORK); forget them */
	maps = NULL;
	nmaps = maps_cap = 0;
	/* the parent's moves are not the child's (the nodes leak: a child
	 * must not free what another thread of the parent may have pushed) */
	atomic_store(&map_moves, NULL);
	atomic_store(&map_noting, 0); /* the threads that were noting are not here */
	/* the inherited /proc/self/maps is the parent's address space */
	int fd = atomic_exchange(&map_query_fd, -1);
	if (fd >= 0)
		close(fd);
	rwlock_reinit_child(&maps_lock);
}
