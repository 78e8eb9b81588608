/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_vfs.c - SQLite on libdaxmap objects, through the public API only.
 *
 * Every file SQLite opens by name (database, rollback journal, WAL,
 * super-journal) is an object of a pool; its name is the file name SQLite
 * gives. Temporary files (no name, or TEMP/TRANSIENT/SUBJOURNAL flags) go to
 * the stock "unix" VFS: they are never durable anyway.
 *
 * Data path of databases and WALs: one mapping per open object, DMV_MAP_LEN
 * (64 GiB) of address space made once at open and never remapped (libdaxmap
 * reserves it without backing; pages past EOF give SIGBUS only until the
 * object grows). xRead and xWrite copy through it; xFetch hands SQLite
 * pointers into it (PRAGMA mmap_size). A write never stores into a page that
 * may be a hole: the range is allocated first (daxmap_obj_allocate, which
 * also extends the size), so a full pool is SQLITE_FULL from xWrite, never a
 * SIGBUS inside SQLite.
 *
 * Rollback journals and super-journals are not mapped: they are short-lived,
 * written once and read back only after a crash, so a mapping (a 64 GiB
 * reservation and its registration at every open, a fault per extent, a
 * teardown at every truncate) costs far more than it gives. xRead and xWrite
 * go through daxmap_obj_pread and daxmap_obj_pwrite (DAXMAP_DSYNC: each
 * write is durable when it returns, so xSync has nothing left to do). A
 * journal's commit (truncate to 0, or delete of a journal parked at its
 * close) zeroes it in place and keeps its space for the next transaction.
 *
 * Built three ways from this file (CMakeLists.txt beside it): a static
 * library for programs (daxmap_vfs_register()), a loadable extension
 * (-DDAXMAP_VFS_EXTENSION, entry point sqlite3_daxmapvfs_init) and, with
 * preload.c, an LD_PRELOAD object.
 *
 * Locks: vfs_lock (one mutex) protects the pool and node tables, the file
 * locks and the WAL index; node->size_lock protects a node's size, its
 * allocated prefix and its dirty range. vfs_lock may be held while taking
 * size_lock, never the other way round. No lock is held across a copy.
 *
 * Several processes (a pool opened shared: URI shared=1 or
 * DAXMAP_POOL_SHARED=1; README.md, "Several processes"): the library keeps
 * objects, sizes and bytes coherent; the VFS adds what SQLite's unix VFS
 * gets from the kernel. File locks and WAL-index locks are OFD byte-range
 * locks on the pool file, in a range of their own per database far past the
 * pool's data (the kernel drops them when a process dies); the WAL index is
 * an object "<db>-shm" every process maps; and no size is ever kept only in
 * a process: the size SQLite sees is the object's, read from the library
 * each time (a WAL's growth in whole extents shows as zeros at its end,
 * which SQLite's WAL format treats as the end), and what a process knows to
 * be allocated is forgotten when it takes a write lock after another process
 * shrank a file of the database (counted in the pool's DMV_STATE_NAME
 * object, which every process maps).
 */
#define _GNU_SOURCE
#ifdef DAXMAP_VFS_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#else
#include <sqlite3.h>
#endif
#include <libdaxmap.h>

#include "daxmap_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Address space per open object: the largest file this VFS can grow. */
#define DMV_MAP_LEN (UINT64_C(64) << 30)
/* Size of a pool created on first use, unless pool_size / DAXMAP_POOL_SIZE say otherwise. */
#define DMV_DEFAULT_POOL_SIZE (UINT64_C(256) << 20)
/* Longest main database name: leaves room for "-journal", "-wal", "-mjXXXXXXXXXX". */
#define DMV_MAX_DB_NAME (DAXMAP_MAX_NAME - 16)
/* Address space of a shared WAL index ("<db>-shm"): 32768 regions of 32 KiB,
 * a WAL of 134 million frames. */
#define DMV_SHM_MAP_LEN (UINT64_C(1) << 30)

/*
 * Cross-process locks of a pool opened shared: OFD locks on the pool file
 * (F_OFD_SETLK: owned by the open file description, so two databases of one
 * process, each with its own descriptor, exclude each other as two processes
 * do; the kernel drops them when the descriptor's last user dies). Each
 * database has DMV_LOCK_STRIDE bytes at DMV_LOCK_BASE + slot * stride, slot
 * the low 32 bits of a hash of its name: from 2^62 on, past any pool file
 * (OFD locks may lie past EOF), below 2^62 + 2^44. Two names of one slot
 * share their locks: more waiting (SQLITE_BUSY), never less exclusion.
 * Inside a slot, the layout of unix's bytes: PENDING, RESERVED, then the
 * SHARED range; the WAL-index slots and its dead-man switch further on.
 */
/* The object of a shared pool that holds the VFS's own shared state, per lock
 * slot (modulo DMV_STATE_SLOTS): shrink counters, then the lowest WAL offset
 * written since the last checkpointer's sync. */
#define DMV_STATE_NAME "daxmap_vfs-state"
#define DMV_STATE_SLOTS 4096
#define DMV_STATE_LEN (2 * DMV_STATE_SLOTS * sizeof(uint64_t))

#define DMV_LOCK_BASE ((off_t)1 << 62)
#define DMV_LOCK_STRIDE 4096
#define DMV_LK_PENDING 0
#define DMV_LK_RESERVED 1
#define DMV_LK_SHARED 2
#define DMV_LK_SHARED_LEN 510
#define DMV_LK_SHM 1024                          /* SQLITE_SHM_NLOCK bytes */
#define DMV_LK_DMS (DMV_LK_SHM + SQLITE_SHM_NLOCK) /* held shared while a process maps the index */

struct dmv_pool {
	struct dmv_pool *next;
	char *path; /* realpath of the pool file */
	daxmap_pool *pool;
	uint64_t extent_size;
	int refs; /* nodes plus transient users (xAccess, xDelete) */
	int shared; /* opened shared (opts.shared): other processes use it too */
	/* shared: the object DMV_STATE_NAME, mapped by every process. shrinks:
	 * DMV_STATE_SLOTS counters of shrinks of the files of the databases of
	 * each lock slot (modulo), so that a writer knows when to forget what it
	 * knows to be allocated; wal_lo: as many lowest WAL offsets written since
	 * a checkpointer last synced the WAL (0 when never known), so that it
	 * persists what other processes wrote and no more. NULL if it could not
	 * be had: then a writer always forgets, a checkpointer persists all. */
	daxmap_obj *state_obj;
	uint64_t *shrinks, *wal_lo;
};

/*
 * WAL index of one database: process-local memory in a pool with one opener;
 * in a pool opened shared, the object "<db>-shm" mapped by every process
 * (regions are its 32 KiB pieces), its locks also OFD locks.
 */
struct dmv_shm {
	char **regions;
	int nregion;
	daxmap_obj *obj; /* shared: "<db>-shm" and its mapping, DMV_SHM_MAP_LEN bytes */
	char *map;
	int refs;                    /* handles that mapped it */
	int shared[SQLITE_SHM_NLOCK]; /* handles holding each slot shared */
	int excl[SQLITE_SHM_NLOCK];   /* 1: a handle holds the slot exclusive */
};

/* One open object, shared by every handle on it in this process. */
struct dmv_node {
	struct dmv_node *next;
	struct dmv_pool *pool;
	char *name;
	daxmap_obj *obj;
	char *map; /* DMV_MAP_LEN bytes of the object, read-write */
	int refs;
	int delete_on_close;
	/* file locks, as unix's inode locks (vfs_lock) */
	int lock;    /* highest SQLITE_LOCK_* held by any handle */
	int nshared; /* handles holding SHARED or more */
	struct dmv_shm *shm; /* (vfs_lock) */
	int shared;          /* the pool is opened shared: sizes come from the object */
	int lockfd;          /* shared, main database: the pool file, for its OFD locks; else -1 */
	off_t lockbase;      /* its lock bytes (DMV_LOCK_BASE + slot * DMV_LOCK_STRIDE) */
	uint32_t slot;       /* shared: its database's lock slot (dmv_name_slot) */
	uint64_t shrinks_seen; /* (vfs_lock) shared, main database: its shrink counter when
				  it last forgot */
	pthread_mutex_t size_lock;
	int pad;           /* WAL: the object grows in whole extents */
	int io;            /* journal: no mapping, xRead/xWrite by pread/pwrite */
	int keep;          /* main journal: parked at its last close, while its database is open */
	int parked;        /* (vfs_lock) no handle, kept open for the next transaction */
	int absent;        /* (vfs_lock) parked and deleted: not there for SQLite */
	uint64_t size;     /* (size_lock) the file's size, as SQLite sees it */
	uint64_t obj_size; /* (size_lock) the object's size: size, or more when pad */
	uint64_t alloc_hi; /* (size_lock) [0, alloc_hi) is allocated: stores there cannot fail */
	uint64_t dirty_lo, dirty_hi; /* (size_lock) written since the last xSync */
};

struct dmv_file {
	sqlite3_file base;
	struct dmv_node *node;
	int lock; /* SQLITE_LOCK_* held by this handle */
	int shm_mapped;
	unsigned shm_shared, shm_excl; /* WAL-index lock slots held (bit masks) */
	sqlite3_int64 mmap_limit;      /* SQLITE_FCNTL_MMAP_SIZE: xFetch only below it */
};

static pthread_mutex_t vfs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dmv_pool *pools;  /* (vfs_lock) */
static struct dmv_node *nodes;  /* (vfs_lock) */
static sqlite3_vfs *under;      /* the "unix" VFS: temp files and OS services */
static __thread char last_error[512];
static __thread int last_errno; /* of last_error's failure, 0 when it was no OS error */

static const sqlite3_io_methods dmv_io;

/*
 * Records why an operation failed, for xGetLastError and the SQLite log:
 * SQLite's own message for a failed open is only "unable to open database
 * file". A caller that knows the errno stores it in last_errno afterwards.
 */
static void dmv_error(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dmv_error(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	last_errno = 0;
	sqlite3_log(rc, "daxmap: %s", last_error);
}

#define DMV_SIZE_FORM "bytes, or with a K, M, G or T suffix"
/* "256M", "1G", "16777216": bytes, binary suffixes K M G T. 0 if malformed. */
static uint64_t dmv_parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return 0;
	return (uint64_t)v << shift;
}

static void pool_put(struct dmv_pool *p)
{
	if (--p->refs > 0)
		return;
	for (struct dmv_pool **pp = &pools; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->shrinks)
		daxmap_unmap(p->shrinks, DMV_STATE_LEN);
	daxmap_obj_close(p->state_obj);
	if (daxmap_pool_close(p->pool) < 0)
		dmv_error(SQLITE_IOERR, "closing pool %s: %s", p->path, daxmap_errormsg());
	free(p->path);
	free(p);
}

/*
 * Shared: maps the shrink counters (DMV_STATE_NAME), made on first use by
 * whichever process comes first (an allocate of what is there already is
 * harmless). Without them writers forget at every write lock, which is
 * correct, only slower: so a failure here is no error.
 */
static void pool_state_open(struct dmv_pool *p)
{
	void *addr;

	if (daxmap_obj_open(&p->state_obj, p->pool, DMV_STATE_NAME, DAXMAP_CREATE) < 0)
		return;
	if (daxmap_obj_allocate(p->state_obj, 0, DMV_STATE_LEN) < 0 ||
	    daxmap_map(&addr, p->state_obj, 0, DMV_STATE_LEN, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE) < 0) {
		daxmap_obj_close(p->state_obj);
		p->state_obj = NULL;
		return;
	}
	p->shrinks = addr;
	p->wal_lo = p->shrinks + DMV_STATE_SLOTS;
}

/*
 * The open pool at `path`, opened (or, with create_size != 0, created with
 * that size if missing) on first use; one more reference. Caller holds
 * vfs_lock. NULL with the reason recorded when it cannot be opened.
 */
/* How a pool is created and opened: its size and maximum at create, the
 * automatic growth step at open (0: none). */
struct dmv_sizes {
	uint64_t size, max, step;
	int step_given; /* 0: the step is the default of a pool_max */
};

/* The growth step of a pool that may grow and was given none: 64 MiB. */
#define DMV_DEFAULT_GROW_STEP (UINT64_C(64) << 20)

/*
 * Parses the sizes from the URI parameters or environment values given
 * (NULL: absent): a maximum larger than the size makes the pool growable,
 * with the step given or the default. 0, or -1 with the reason recorded.
 */
static int dmv_sizes_parse(struct dmv_sizes *z, const char *size_name, const char *sz,
			   const char *max_name, const char *max, const char *step_name,
			   const char *step)
{
	z->size = DMV_DEFAULT_POOL_SIZE;
	z->max = z->step = 0;
	if (sz && !(z->size = dmv_parse_size(sz))) {
		dmv_error(SQLITE_CANTOPEN, "%s=%s is not a size (" DMV_SIZE_FORM ")", size_name, sz);
		return -1;
	}
	if (max && !(z->max = dmv_parse_size(max))) {
		dmv_error(SQLITE_CANTOPEN, "%s=%s is not a size (" DMV_SIZE_FORM ")", max_name, max);
		return -1;
	}
	if (step && !(z->step = dmv_parse_size(step))) {
		dmv_error(SQLITE_CANTOPEN, "%s=%s is not a size (" DMV_SIZE_FORM ")", step_name, step);
		return -1;
	}
	z->step_given = z->step != 0;
	if (z->max && !z->step)
		z->step = DMV_DEFAULT_GROW_STEP;
	return 0;
}

/*
 * Whether to open pools shared when the URI does not say: $DAXMAP_POOL_SHARED
 * ("1" or "0", absent or empty: 0). 0 or 1, or -1 with the reason recorded.
 */
static int dmv_shared_env(void)
{
	const char *v = getenv("DAXMAP_POOL_SHARED");

	if (!v || !*v || strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "1") == 0)
		return 1;
	dmv_error(SQLITE_CANTOPEN, "DAXMAP_POOL_SHARED=%s: 1 (open pools shared) or 0", v);
	last_errno = EINVAL;
	return -1;
}

/*
 * A pool opened shared cannot grow (libdaxmap: daxmap_pool_grow is
 * -EOPNOTSUPP, grow_step -EINVAL): growth options are refused rather than
 * dropped, so that nobody counts on a growth that will not come. 0, or -1
 * with the reason recorded.
 */
static int dmv_sizes_shared_check(const struct dmv_sizes *z, const char *max_name,
				  const char *step_name)
{
	if (!z->max && !z->step_given)
		return 0;
	dmv_error(SQLITE_CANTOPEN, "%s: a pool opened shared cannot grow; leave %s and %s out, "
		  "or open it unshared", z->max ? max_name : step_name, max_name, step_name);
	last_errno = EINVAL;
	return -1;
}

static struct dmv_pool *pool_get(const char *path, const struct dmv_sizes *z, int create,
				 int shared)
{
	char real[PATH_MAX];
	daxmap_pool *dp = NULL;
	struct daxmap_pool_opts o;
	int ret;

	daxmap_pool_opts_init(&o);
	o.grow_step = z->step;
	o.shared = shared;
	/* shared: no warming. Each process would warm the same free space, in
	 * steps under the pool's cross-process lock, in the background of every
	 * one of them, for the first touches of files that grow seldom (size
	 * hints, WAL steps): with 4 processes on 2 CPUs it cost a quarter of the
	 * throughput of bench/sqlite_multi */
	if (shared)
		o.warm = DAXMAP_WARM_OFF;

	if (realpath(path, real)) {
		for (struct dmv_pool *p = pools; p; p = p->next) {
			if (strcmp(p->path, real) == 0) {
				/* one handle per pool and process: its kind is the first opener's */
				if (p->shared != shared) {
					dmv_error(SQLITE_CANTOPEN, "pool %s is open %s in this process; "
						  "a database asks for it %s", path,
						  p->shared ? "shared" : "unshared",
						  shared ? "shared" : "unshared");
					last_errno = EBUSY;
					return NULL;
				}
				p->refs++;
				return p;
			}
		}
		ret = daxmap_pool_open_opts(&dp, real, &o);
		/* an existing pool of fixed size, and no growth asked for but
		 * the default of a pool_max (which is for creating): as it is */
		if (ret == -EINVAL && o.grow_step && !z->step_given) {
			o.grow_step = 0;
			ret = daxmap_pool_open_opts(&dp, real, &o);
		}
	} else {
		ret = -errno;
	}
	if (ret == -ENOENT && create) {
		o.max_size = z->max;
		ret = daxmap_pool_create_opts(&dp, path, z->size, 0644, &o);
		o.max_size = 0;
		if (ret == -EEXIST) /* another process created it meanwhile */
			ret = daxmap_pool_open_opts(&dp, path, &o);
		if (ret == 0 && !realpath(path, real))
			ret = -errno;
	}
	if (ret < 0) {
		if (ret == -EBUSY && shared)
			dmv_error(SQLITE_CANTOPEN, "pool %s is busy: open unshared in another process "
				  "(shared and unshared openers exclude each other): %s", path,
				  daxmap_errormsg());
		else if (ret == -EBUSY)
			dmv_error(SQLITE_CANTOPEN, "pool %s is busy: open in another process (a pool "
				  "has one opener at a time, until it closes the pool or exits, unless "
				  "all open it shared)", path);
		else if (ret == -ENOENT && !create)
			dmv_error(SQLITE_CANTOPEN, "pool %s: no such pool", path);
		else
			dmv_error(SQLITE_CANTOPEN, "pool %s: %s", path, daxmap_errormsg());
		last_errno = -ret;
		daxmap_pool_close(dp);
		return NULL;
	}
	struct daxmap_pool_stat st;
	struct dmv_pool *p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(real)) || daxmap_pool_stat(dp, &st) < 0) {
		dmv_error(SQLITE_CANTOPEN, "pool %s: out of memory", path);
		if (p)
			free(p->path);
		free(p);
		daxmap_pool_close(dp);
		return NULL;
	}
	p->pool = dp;
	p->extent_size = st.extent_size;
	p->refs = 1;
	p->shared = shared;
	if (shared)
		pool_state_open(p);
	p->next = pools;
	pools = p;
	return p;
}

/* The default pool ($DAXMAP_POOL), opened shared or not (-1: as
 * $DAXMAP_POOL_SHARED says), or NULL with the reason recorded. */
static struct dmv_pool *pool_get_default(int create, int shared)
{
	const char *path = getenv("DAXMAP_POOL");
	struct dmv_sizes z;

	if (!path || !*path) {
		dmv_error(SQLITE_CANTOPEN, "no pool: DAXMAP_POOL is not set and the URI names none "
			  "(file:NAME?vfs=daxmap&pool=PATH)");
		return NULL;
	}
	if (dmv_sizes_parse(&z, "DAXMAP_POOL_SIZE", getenv("DAXMAP_POOL_SIZE"), "DAXMAP_POOL_MAX",
			    getenv("DAXMAP_POOL_MAX"), "DAXMAP_POOL_GROW",
			    getenv("DAXMAP_POOL_GROW")) < 0) {
		last_errno = EINVAL;
		return NULL;
	}
	if ((shared < 0 && (shared = dmv_shared_env()) < 0) ||
	    (shared && dmv_sizes_shared_check(&z, "DAXMAP_POOL_MAX", "DAXMAP_POOL_GROW") < 0))
		return NULL;
	return pool_get(path, &z, create, shared);
}

/*
 * The open node whose name is the database that `name` belongs to: the
 * longest open name N with name == N + "-..." (journal, WAL, super-journal).
 */
static struct dmv_node *node_owner(const char *name)
{
	struct dmv_node *best = NULL;
	size_t bestlen = 0;
	for (struct dmv_node *n = nodes; n; n = n->next) {
		size_t len = strlen(n->name);
		if (len > bestlen && strncmp(n->name, name, len) == 0 && name[len] == '-') {
			best = n;
			bestlen = len;
		}
	}
	return best;
}

/* Pool of a journal, WAL or super-journal: its database's, else the default. */
static struct dmv_pool *pool_for_name(const char *name, int create)
{
	struct dmv_node *owner = node_owner(name);
	if (owner) {
		owner->pool->refs++;
		return owner->pool;
	}
	return pool_get_default(create, -1);
}

/* The lock slot of a database name: 32 bits of its FNV-1a hash. */
static uint32_t dmv_name_slot(const char *name)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * UINT64_C(1099511628211);
	return (uint32_t)(h ^ (h >> 32));
}

/* A main rollback journal by its name: "<db>-journal". */
static int dmv_main_journal_name(const char *name)
{
	size_t len = strlen(name);

	return len > 8 && strcmp(name + len - 8, "-journal") == 0;
}

/* A rollback journal or super-journal by its name: "<db>-journal", "<db>-mjXXXXXX9XX". */
static int dmv_journal_name(const char *name)
{
	size_t len = strlen(name);

	if (dmv_main_journal_name(name))
		return 1;
	if (len <= 12 || strncmp(name + len - 12, "-mj", 3) != 0)
		return 0;
	for (size_t i = len - 9; i < len; i++)
		if (!strchr("0123456789ABCDEFabcdef", name[i]))
			return 0;
	return 1;
}

/*
 * Shared: a journal zeroed in place (dmv_zero_object, a TRUNCATE journal's
 * commit) is absent, as the parked journals of an unshared pool are: its
 * first byte is zero, which SQLite itself takes for "not hot".
 */
static int dmv_journal_live(daxmap_obj *obj, uint64_t size)
{
	unsigned char first = 0;

	return size > 0 && daxmap_obj_pread(obj, &first, 1, 0) == 1 && first != 0;
}

static struct dmv_node *node_find(struct dmv_pool *p, const char *name)
{
	for (struct dmv_node *n = nodes; n; n = n->next)
		if (n->pool == p && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/*
 * Opens the object `name` of pool p and maps it, or takes one more reference
 * to the node already open. Takes over the caller's pool reference. Caller
 * holds vfs_lock. Returns a SQLite code.
 */
static int node_get(struct dmv_node **out, struct dmv_pool *p, const char *name, int flags)
{
	struct dmv_node *n = node_find(p, name);
	int ret, oflags = 0;

	if (n) {
		if (n->absent && !(flags & SQLITE_OPEN_CREATE)) {
			dmv_error(SQLITE_CANTOPEN, "no object \"%s\"", name);
			pool_put(p);
			return SQLITE_CANTOPEN;
		}
		if (!n->absent && (flags & SQLITE_OPEN_EXCLUSIVE) && (flags & SQLITE_OPEN_CREATE)) {
			dmv_error(SQLITE_CANTOPEN, "object \"%s\" exists", name);
			pool_put(p);
			return SQLITE_CANTOPEN;
		}
		n->absent = n->parked = 0; /* a deleted journal comes back empty */
		n->refs++;
		pool_put(p); /* the node holds one already */
		*out = n;
		return SQLITE_OK;
	}
	if (flags & SQLITE_OPEN_CREATE)
		oflags = DAXMAP_CREATE | ((flags & SQLITE_OPEN_EXCLUSIVE) ? DAXMAP_EXCL : 0);
	/* journals are small and short-lived, read and written with pread and
	 * pwrite: 64 KiB blocks, not 2 MiB extents, of space each (not in a pool
	 * opened shared: a pool with objects of blocks cannot be opened shared) */
	if ((flags & SQLITE_OPEN_CREATE) && !p->shared &&
	    (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL)))
		oflags |= DAXMAP_SMALL;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		dmv_error(SQLITE_NOMEM, "\"%s\": out of memory", name);
		ret = SQLITE_NOMEM;
		goto out_free;
	}
	n->lockfd = -1;
	n->shared = p->shared;
	if (p->shared) {
		/* a journal or WAL counts its shrinks with its database's */
		struct dmv_node *db = (flags & SQLITE_OPEN_MAIN_DB) ? NULL : node_owner(name);
		n->slot = db ? db->slot : dmv_name_slot(name);
		if (p->shrinks)
			n->shrinks_seen = __atomic_load_n(&p->shrinks[n->slot % DMV_STATE_SLOTS],
							  __ATOMIC_ACQUIRE);
	}
	if (p->shared && (flags & SQLITE_OPEN_MAIN_DB)) {
		/* a descriptor of its own: OFD locks belong to it, so another
		 * database of this process in the same lock slot is another owner */
		n->lockfd = open(p->path, O_RDWR | O_CLOEXEC);
		if (n->lockfd < 0) {
			last_errno = errno;
			dmv_error(SQLITE_CANTOPEN, "\"%s\": opening %s for its locks: %s", name, p->path,
				  strerror(last_errno));
			ret = SQLITE_CANTOPEN;
			goto out_free;
		}
		n->lockbase = DMV_LOCK_BASE + (off_t)n->slot * DMV_LOCK_STRIDE;
	}
	ret = daxmap_obj_open(&n->obj, p->pool, name, oflags);
	if (ret < 0) {
		dmv_error(SQLITE_CANTOPEN, "object \"%s\": %s", name, daxmap_errormsg());
		last_errno = -ret;
		ret = SQLITE_CANTOPEN;
		goto out_free;
	}
	n->io = !!(flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL));
	/* shared: no parking; a journal this process keeps open and calls absent
	 * would hide another process's hot journal from this one */
	n->keep = !!(flags & SQLITE_OPEN_MAIN_JOURNAL) && !p->shared;
	if (!n->io) {
		void *addr;
		ret = daxmap_map(&addr, n->obj, 0, DMV_MAP_LEN, DAXMAP_PROT_READ | DAXMAP_PROT_WRITE);
		if (ret < 0) {
			dmv_error(SQLITE_CANTOPEN, "mapping \"%s\": %s", name, daxmap_errormsg());
			last_errno = -ret;
			ret = SQLITE_CANTOPEN;
			goto out_close;
		}
		n->map = addr;
	}
	if (daxmap_obj_size(n->obj, &n->size) < 0 || n->size > DMV_MAP_LEN) {
		dmv_error(SQLITE_CANTOPEN, "object \"%s\": larger than %llu bytes", name,
			  (unsigned long long)DMV_MAP_LEN);
		ret = SQLITE_CANTOPEN;
		goto out_unmap;
	}
	pthread_mutex_init(&n->size_lock, NULL);
	n->obj_size = n->size;
	n->pad = !!(flags & SQLITE_OPEN_WAL);
	n->pool = p;
	n->refs = 1;
	n->dirty_lo = UINT64_MAX;
	n->next = nodes;
	nodes = n;
	*out = n;
	return SQLITE_OK;

out_unmap:
	if (n->map)
		daxmap_unmap(n->map, DMV_MAP_LEN);
out_close:
	daxmap_obj_close(n->obj);
out_free:
	if (n) {
		if (n->lockfd >= 0)
			close(n->lockfd);
		free(n->name);
	}
	free(n);
	pool_put(p);
	return ret;
}

/*
 * Shared, the last connection of this process to database n closes: its
 * journal, zeroed in place by the commits (dmv_zero_object), goes unless it
 * is hot or another process has it open (the unlink is then -EBUSY, and the
 * journal stays for that one).
 */
static void node_journal_cleanup(struct dmv_node *n)
{
	char name[DAXMAP_MAX_NAME + 1];
	daxmap_obj *obj;
	uint64_t size = 0;
	int live;

	if (snprintf(name, sizeof(name), "%s-journal", n->name) >= (int)sizeof(name) ||
	    daxmap_obj_open(&obj, n->pool->pool, name, 0) < 0)
		return;
	live = daxmap_obj_size(obj, &size) < 0 || dmv_journal_live(obj, size);
	daxmap_obj_close(obj);
	if (!live)
		daxmap_obj_unlink(n->pool->pool, name);
}

/* Unmaps, closes (and maybe unlinks) the object of a node nobody holds. */
static void node_release(struct dmv_node *n)
{
	for (struct dmv_node **pp = &nodes; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	/* a clean close leaves no padding (a crash may: see README.md); shared,
	 * there is none to cut: the size is the object's */
	if (!n->shared && n->obj_size > n->size && !n->delete_on_close &&
	    daxmap_obj_truncate(n->obj, n->size) < 0)
		dmv_error(SQLITE_IOERR_TRUNCATE, "closing \"%s\": %s", n->name, daxmap_errormsg());
	/* unmap and close before unlink: unlink refuses a mapped object */
	if ((n->map && daxmap_unmap(n->map, DMV_MAP_LEN) < 0) || daxmap_obj_close(n->obj) < 0)
		dmv_error(SQLITE_IOERR_CLOSE, "closing \"%s\": %s", n->name, daxmap_errormsg());
	if (n->delete_on_close && daxmap_obj_unlink(n->pool->pool, n->name) < 0)
		dmv_error(SQLITE_IOERR_DELETE, "deleting \"%s\": %s", n->name, daxmap_errormsg());
	if (n->lockfd >= 0) {
		node_journal_cleanup(n);
		close(n->lockfd); /* and with it every OFD lock it held */
	}
	pool_put(n->pool);
	pthread_mutex_destroy(&n->size_lock);
	free(n->name);
	free(n);
}

/* Releases the journals parked for database `db`; a deleted one goes for good. */
static void node_release_parked(const char *db)
{
	size_t len = strlen(db);
	struct dmv_node *j, *next;

	for (j = nodes; j; j = next) {
		next = j->next;
		if (j->parked && strncmp(j->name, db, len) == 0 && j->name[len] == '-') {
			j->delete_on_close |= j->absent;
			node_release(j);
		}
	}
}

/*
 * Drops a reference. The last one of a main journal parks it while its
 * database is open: DELETE mode closes and deletes the journal at every
 * commit, and a new object per transaction costs a slot, an extent and its
 * clearing each time; a parked journal is deleted in place (dmv_delete) and
 * opened again by the next transaction. The last reference of anything else
 * releases it, a database with the journals parked for it. Caller holds
 * vfs_lock.
 */
static void node_put(struct dmv_node *n)
{
	if (--n->refs > 0)
		return;
	if (n->keep && !n->delete_on_close && node_owner(n->name)) {
		n->parked = 1;
		return;
	}
	if (!n->io)
		node_release_parked(n->name);
	node_release(n);
}

/*
 * ---- file locks: unix's in-process inode logic (handles of one process on
 * a node); in a pool opened shared, each level the process holds is also the
 * OFD lock on the pool file that unix takes on the database file ----
 */

/* An OFD lock (F_RDLCK, F_WRLCK or F_UNLCK) on [off, off+len) of the node's
 * lock slot, without waiting: 0, or -errno (EAGAIN: another holder). */
static int dmv_ofd(const struct dmv_node *n, off_t off, off_t len, short type)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = n->lockbase + off, .l_len = len,
	};

	return fcntl(n->lockfd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

/* SQLITE_BUSY for a lock another process holds, else `rc` with the reason recorded. */
static int dmv_ofd_rc(const struct dmv_node *n, int err, int rc, const char *what)
{
	if (err == -EAGAIN || err == -EACCES)
		return SQLITE_BUSY;
	dmv_error(rc, "\"%s\": %s lock: %s", n->name, what, strerror(-err));
	last_errno = -err;
	return rc;
}

/*
 * Forgets what this process knows to be allocated of database `db`'s files
 * (it, its WAL) if any of them shrank since it last looked: called as it
 * takes a lock under which it may write them, since another process may have
 * shrunk them meanwhile (SQLite shrinks files under the same locks, and the
 * VFS counts a shrink before it makes it: dmv_truncate). The next write then
 * allocates again, for what is there already a short walk of the extent
 * map. Caller holds vfs_lock.
 */
static void node_forget_alloc(struct dmv_node *db)
{
	size_t len = strlen(db->name);
	uint64_t *c = db->pool->shrinks;

	if (!db->shared)
		return;
	if (c) {
		uint64_t now = __atomic_load_n(&c[db->slot % DMV_STATE_SLOTS], __ATOMIC_ACQUIRE);
		if (now == db->shrinks_seen)
			return;
		db->shrinks_seen = now;
	}
	for (struct dmv_node *n = nodes; n; n = n->next) {
		if (n->pool == db->pool && strncmp(n->name, db->name, len) == 0 &&
		    (n->name[len] == 0 || n->name[len] == '-')) {
			pthread_mutex_lock(&n->size_lock);
			n->alloc_hi = 0;
			pthread_mutex_unlock(&n->size_lock);
		}
	}
}

static int dmv_lock(sqlite3_file *f, int level)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	int rc = SQLITE_OK, err;

	pthread_mutex_lock(&vfs_lock);
	if (fh->lock >= level)
		goto out;
	/* another handle holds a lock that precludes this one */
	if (fh->lock != n->lock && (n->lock >= SQLITE_LOCK_PENDING || level > SQLITE_LOCK_SHARED)) {
		rc = SQLITE_BUSY;
		goto out;
	}
	if (level == SQLITE_LOCK_SHARED) {
		/* n->lock is NONE, SHARED or RESERVED here: only the first reader
		 * of this process takes the lock of the file */
		if (n->lock == SQLITE_LOCK_NONE && n->lockfd >= 0) {
			/* as unix: a reader comes in only while nobody holds PENDING */
			if ((err = dmv_ofd(n, DMV_LK_PENDING, 1, F_RDLCK)) < 0) {
				rc = dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "shared");
				goto out;
			}
			err = dmv_ofd(n, DMV_LK_SHARED, DMV_LK_SHARED_LEN, F_RDLCK);
			dmv_ofd(n, DMV_LK_PENDING, 1, F_UNLCK);
			if (err < 0) {
				rc = dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "shared");
				goto out;
			}
		}
		if (n->lock == SQLITE_LOCK_NONE)
			n->lock = SQLITE_LOCK_SHARED;
		n->nshared++;
		fh->lock = SQLITE_LOCK_SHARED;
		goto out;
	}
	if (level == SQLITE_LOCK_EXCLUSIVE) {
		/* PENDING first, kept while readers drain, so no new one comes in */
		if (fh->lock < SQLITE_LOCK_PENDING) {
			if (n->lockfd >= 0 && (err = dmv_ofd(n, DMV_LK_PENDING, 1, F_WRLCK)) < 0) {
				rc = dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "pending");
				goto out;
			}
			fh->lock = n->lock = SQLITE_LOCK_PENDING;
		}
		if (n->nshared > 1) {
			/* readers of this process remain */
			rc = SQLITE_BUSY;
			goto out;
		}
		if (n->lockfd >= 0 && (err = dmv_ofd(n, DMV_LK_SHARED, DMV_LK_SHARED_LEN, F_WRLCK)) < 0) {
			/* readers of other processes remain */
			rc = dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "exclusive");
			goto out;
		}
	} else if (n->lockfd >= 0 && (err = dmv_ofd(n, DMV_LK_RESERVED, 1, F_WRLCK)) < 0) {
		rc = dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "reserved");
		goto out;
	}
	fh->lock = n->lock = level;
	node_forget_alloc(n);
out:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

static int dmv_unlock(sqlite3_file *f, int level)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	int rc = SQLITE_OK, err;

	pthread_mutex_lock(&vfs_lock);
	if (fh->lock > level) {
		if (fh->lock > SQLITE_LOCK_SHARED) {
			if (n->lockfd >= 0) {
				/* EXCLUSIVE back to a reader: the SHARED range in place,
				 * one atomic change (no moment without a lock) */
				if (fh->lock == SQLITE_LOCK_EXCLUSIVE && level == SQLITE_LOCK_SHARED &&
				    (err = dmv_ofd(n, DMV_LK_SHARED, DMV_LK_SHARED_LEN, F_RDLCK)) < 0)
					rc = dmv_ofd_rc(n, err, SQLITE_IOERR_RDLOCK, "downgrading");
				dmv_ofd(n, DMV_LK_PENDING, 2, F_UNLCK); /* PENDING and RESERVED */
			}
			n->lock = SQLITE_LOCK_SHARED;
		}
		if (level == SQLITE_LOCK_NONE && --n->nshared == 0) {
			if (n->lockfd >= 0 &&
			    (err = dmv_ofd(n, DMV_LK_PENDING, DMV_LK_SHARED + DMV_LK_SHARED_LEN, F_UNLCK)) < 0)
				rc = dmv_ofd_rc(n, err, SQLITE_IOERR_UNLOCK, "unlocking");
			n->lock = SQLITE_LOCK_NONE;
		}
		fh->lock = level;
	}
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

static int dmv_check_reserved(sqlite3_file *f, int *res)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	int rc = SQLITE_OK;

	pthread_mutex_lock(&vfs_lock);
	*res = n->lock > SQLITE_LOCK_SHARED;
	if (!*res && n->lockfd >= 0) {
		/* another process's RESERVED (or more): a write lock there conflicts */
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = n->lockbase + DMV_LK_RESERVED, .l_len = 1 };
		if (fcntl(n->lockfd, F_OFD_GETLK, &fl) < 0) {
			last_errno = errno;
			dmv_error(SQLITE_IOERR_CHECKRESERVEDLOCK, "\"%s\": testing the reserved lock: %s",
				  n->name, strerror(last_errno));
			rc = SQLITE_IOERR_CHECKRESERVEDLOCK;
		} else {
			*res = fl.l_type != F_UNLCK;
		}
	}
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

/* ---- data ---- */

/* *p = min(*p, v), atomically: *p is shared with other processes. */
static void dmv_atomic_min(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_ACQUIRE);

	while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
		;
}


/*
 * The size SQLite sees. In a pool opened shared it is the object's, which
 * another process may have changed since this one last looked (the library
 * moves EOF in every process before the call that moved it returns): read
 * afresh each time, an atomic load, and the cached sizes with it. Caller
 * holds size_lock.
 */
static uint64_t node_size_locked(struct dmv_node *n)
{
	uint64_t sz;

	if (n->shared && daxmap_obj_size(n->obj, &sz) == 0)
		n->size = n->obj_size = sz;
	return n->size;
}

/* xRead: a copy from the mapping, or daxmap_obj_pread for a journal; short
 * at the size SQLite sees (past it a journal holds zeroed padding). */
static int dmv_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	uint64_t size, have = 0;

	if (off < 0 || amt < 0)
		return SQLITE_IOERR_READ;
	pthread_mutex_lock(&n->size_lock);
	size = node_size_locked(n);
	pthread_mutex_unlock(&n->size_lock);
	if ((uint64_t)off < size)
		have = size - (uint64_t)off < (uint64_t)amt ? size - (uint64_t)off : (uint64_t)amt;
	if (have && !n->map) {
		ssize_t got = daxmap_obj_pread(n->obj, buf, (size_t)have, (uint64_t)off);
		if (got < 0) {
			dmv_error(SQLITE_IOERR_READ, "%s: reading %d bytes at %lld: %s", n->name, amt,
				  (long long)off, daxmap_errormsg());
			return SQLITE_IOERR_READ;
		}
		have = (uint64_t)got;
	} else if (have) {
		memcpy(buf, n->map + off, have);
	}
	if (have < (uint64_t)amt) {
		memset((char *)buf + have, 0, (size_t)amt - have); /* SQLite requires the zeros */
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int dmv_errno_rc(int ret, int rc)
{
	return ret == -ENOSPC || ret == -EFBIG ? SQLITE_FULL : ret == -ENOMEM ? SQLITE_IOERR_NOMEM : rc;
}

/* xWrite of a journal: daxmap_obj_pwrite, durable on return (allocation,
 * data and size); a full pool is SQLITE_FULL, nothing past the bytes it
 * wrote changed. */
static int dmv_write_io(struct dmv_node *n, const void *buf, int amt, sqlite3_int64 off)
{
	ssize_t put = daxmap_obj_pwrite(n->obj, buf, (size_t)amt, (uint64_t)off, DAXMAP_DSYNC);
	int rc;

	pthread_mutex_lock(&n->size_lock);
	if (put > 0 && (uint64_t)off + (uint64_t)put > node_size_locked(n))
		n->size = n->obj_size = (uint64_t)off + (uint64_t)put;
	pthread_mutex_unlock(&n->size_lock);
	if (put == amt)
		return SQLITE_OK;
	rc = put < 0 ? dmv_errno_rc((int)put, SQLITE_IOERR_WRITE) : SQLITE_FULL;
	dmv_error(rc, "%s: writing %d bytes at %lld: %s", n->name, amt, (long long)off,
		  put < 0 ? daxmap_errormsg() : "the pool is full");
	return rc;
}

static int dmv_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	uint64_t end = (uint64_t)off + (uint64_t)amt;
	int ret;

	if (off < 0 || amt < 0)
		return SQLITE_IOERR_WRITE;
	if (n->io)
		return dmv_write_io(n, buf, amt, off);
	if (end > DMV_MAP_LEN) {
		dmv_error(SQLITE_FULL, "\"%s\": larger than the mapping (%llu bytes)", n->name,
			  (unsigned long long)DMV_MAP_LEN);
		return SQLITE_FULL;
	}
	pthread_mutex_lock(&n->size_lock);
	node_size_locked(n);
	if (end > n->alloc_hi || end > n->obj_size) {
		uint64_t es = n->pool->extent_size, lo = (uint64_t)off;
		/*
		 * Allocate before storing: a store into a hole of a full pool would be
		 * SIGBUS. A journal or WAL grows in whole extents: the library maps an
		 * extent only up to EOF, so growing page by page costs one fault per page.
		 * Shared, where the known prefix was forgotten at a lock: the range
		 * from it on, inside the file, so that the prefix is known again at
		 * once and the writes after this one need no call.
		 */
		uint64_t alloc_end = n->pad ? (end + es - 1) / es * es : end;
		/* shared: a WAL grows by an eighth of its size at least, since
		 * each growth is a request every other process must answer (a WAL
		 * that checkpoints cannot reset grows for as long as they last) */
		if (n->pad && n->shared && alloc_end > n->obj_size) {
			uint64_t want = (n->obj_size + n->obj_size / 8 + es - 1) / es * es;
			if (want > DMV_MAP_LEN)
				want = DMV_MAP_LEN;
			if (want > alloc_end)
				alloc_end = want;
		}
		if (n->shared && lo > n->alloc_hi && lo < n->obj_size)
			lo = n->alloc_hi;
		ret = daxmap_obj_allocate(n->obj, lo, alloc_end - lo);
		if (ret < 0) {
			pthread_mutex_unlock(&n->size_lock);
			dmv_error(dmv_errno_rc(ret, SQLITE_IOERR_WRITE), "\"%s\": allocating %d bytes at %lld: %s",
				  n->name, amt, (long long)off, daxmap_errormsg());
			return dmv_errno_rc(ret, SQLITE_IOERR_WRITE);
		}
		if (alloc_end > n->obj_size)
			n->obj_size = alloc_end;
		if (lo <= n->alloc_hi) {
			uint64_t hi = (end + es - 1) / es * es; /* allocate works in whole extents */
			if (hi > n->alloc_hi)
				n->alloc_hi = hi;
		}
	}
	/* shared: a WAL's whole extents are its size for every process (zeros
	 * at the end, where SQLite's WAL ends: no frame has a zero salt) */
	if (n->shared)
		n->size = n->obj_size;
	else if (end > n->size)
		n->size = end;
	pthread_mutex_unlock(&n->size_lock);
	memcpy(n->map + off, buf, (size_t)amt);
	if (n->pad && n->shared && n->pool->wal_lo) {
		/* stored first: a checkpointer that sees the offset persists the bytes */
		dmv_atomic_min(&n->pool->wal_lo[n->slot % DMV_STATE_SLOTS], (uint64_t)off);
	}
	/* dirty only once stored: an xSync after this write returned covers it */
	pthread_mutex_lock(&n->size_lock);
	if ((uint64_t)off < n->dirty_lo)
		n->dirty_lo = (uint64_t)off;
	if (end > n->dirty_hi)
		n->dirty_hi = end;
	pthread_mutex_unlock(&n->size_lock);
	return SQLITE_OK;
}

/*
 * A journal truncated to 0 (the commit of journal_mode=TRUNCATE) keeps its
 * space: freeing an extent per transaction makes the pool clear 2 MiB per
 * commit. Its bytes are zeroed in place instead (daxmap_obj_zero_range: logged,
 * so a crash leaves them all old or all zero, and the zero first byte is
 * SQLite's own test of a journal that is not hot), and SQLite sees size 0
 * from then on: the rest is padding that reads zero, as for a WAL, cut off
 * at the last close (node_put). Caller holds size_lock.
 */
static int dmv_truncate_io_to_zero(struct dmv_node *n)
{
	int ret = n->size ? daxmap_obj_zero_range(n->obj, 0, n->size) : 0;

	if (ret == 0)
		n->size = 0;
	return ret;
}

static int dmv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	int ret = 0, rc = SQLITE_OK;

	if (size < 0)
		return SQLITE_IOERR_TRUNCATE;
	if ((uint64_t)size > DMV_MAP_LEN)
		return SQLITE_FULL;
	pthread_mutex_lock(&n->size_lock);
	node_size_locked(n);
	if (n->io && size == 0) {
		ret = dmv_truncate_io_to_zero(n);
	} else if ((uint64_t)size > n->obj_size) {
		/* growing: allocate now, so that the pool is full here and not at a later store */
		ret = daxmap_obj_allocate(n->obj, n->obj_size, (uint64_t)size - n->obj_size);
		if (ret == 0)
			n->obj_size = (uint64_t)size;
	} else if ((uint64_t)size > n->size) {
		/* within the padding, which reads zero (never written, or zeroed) */
	} else if ((uint64_t)size < n->obj_size) {
		/* shared: counted before it is made, so that a writer of another
		 * process, taking its lock after ours is released, forgets */
		if (n->shared && n->pool->shrinks)
			__atomic_fetch_add(&n->pool->shrinks[n->slot % DMV_STATE_SLOTS], 1,
					   __ATOMIC_SEQ_CST);
		ret = daxmap_obj_truncate(n->obj, (uint64_t)size);
		if (ret == 0) {
			n->obj_size = (uint64_t)size;
			uint64_t es = n->pool->extent_size;
			uint64_t lo = (uint64_t)size / es * es; /* extents past it are freed */
			if (n->alloc_hi > lo)
				n->alloc_hi = lo;
			if (n->dirty_hi > (uint64_t)size)
				n->dirty_hi = (uint64_t)size;
		}
	}
	if (ret < 0) {
		rc = dmv_errno_rc(ret, SQLITE_IOERR_TRUNCATE);
		dmv_error(rc, "\"%s\": truncating to %lld: %s", n->name, (long long)size, daxmap_errormsg());
	} else {
		n->size = (uint64_t)size;
		/* shared: a journal zeroed in place keeps its size, for every
		 * process alike (all zeros: not a hot journal, as in PERSIST mode) */
		node_size_locked(n);
	}
	pthread_mutex_unlock(&n->size_lock);
	return rc;
}

/* WAL_CKPT_LOCK of SQLite's wal.c: the WAL-index slot a checkpointer holds exclusive. */
#define DMV_SHM_CKPT 1

/*
 * xSync: daxmap_persist over what was written since the last sync (sizes are
 * durable already). Shared, a checkpointer's sync of the WAL covers what any
 * process wrote since the last such sync (the pool's wal_lo, to EOF): its
 * frames were written by other processes, and SQLite syncs the WAL before it
 * copies frames into the database (a persist reaches the stores of any
 * process: cache lines or pages of the pool file are the same ones).
 */
static int dmv_sync(sqlite3_file *f, int flags)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	uint64_t lo, hi, from = UINT64_MAX;
	int ret = 0, all = 0;

	(void)flags;
	if (n->shared && n->pad) {
		pthread_mutex_lock(&vfs_lock);
		struct dmv_node *db = node_owner(n->name);
		all = db && db->shm && db->shm->excl[DMV_SHM_CKPT];
		pthread_mutex_unlock(&vfs_lock);
	}
	pthread_mutex_lock(&n->size_lock);
	node_size_locked(n);
	lo = n->dirty_lo;
	hi = n->dirty_hi < n->size ? n->dirty_hi : n->size;
	if (all) {
		/* taken before the persist: a write after it counts for the next */
		from = n->pool->wal_lo ? __atomic_exchange_n(&n->pool->wal_lo[n->slot % DMV_STATE_SLOTS],
							     UINT64_MAX, __ATOMIC_SEQ_CST)
				       : 0;
		if (from < lo)
			lo = from;
		hi = n->size;
	}
	if (lo < hi && n->map) /* journals are written durably: never dirty */
		ret = daxmap_persist(n->map + lo, hi - lo);
	if (ret == 0) {
		n->dirty_lo = UINT64_MAX;
		n->dirty_hi = 0;
	} else if (from != UINT64_MAX && n->pool->wal_lo) {
		/* not persisted: the next checkpointer's, then */
		dmv_atomic_min(&n->pool->wal_lo[n->slot % DMV_STATE_SLOTS], from);
	}
	pthread_mutex_unlock(&n->size_lock);
	if (ret < 0) {
		dmv_error(SQLITE_IOERR_FSYNC, "\"%s\": persist: %s", n->name, daxmap_errormsg());
		return SQLITE_IOERR_FSYNC;
	}
	return SQLITE_OK;
}

static int dmv_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	pthread_mutex_lock(&n->size_lock);
	*size = (sqlite3_int64)node_size_locked(n);
	pthread_mutex_unlock(&n->size_lock);
	return SQLITE_OK;
}

static int dmv_file_control(sqlite3_file *f, int op, void *arg)
{
	struct dmv_file *fh = (struct dmv_file *)f;

	switch (op) {
	case SQLITE_FCNTL_MMAP_SIZE: {
		sqlite3_int64 *lim = arg, want = *lim;
		*lim = fh->mmap_limit;
		if (want >= 0)
			fh->mmap_limit = want;
		return SQLITE_OK;
	}
	case SQLITE_FCNTL_SIZE_HINT: {
		/*
		 * SQLite is about to write the database up to this size (commit,
		 * checkpoint): grow it in one step, as unix does with a chunk size. The
		 * library maps an extent only up to EOF, so growing page by page would
		 * cost one fault per page; and a full pool shows up here, before any write.
		 */
		struct dmv_node *n = fh->node;
		sqlite3_int64 hint = *(sqlite3_int64 *)arg;
		int ret = 0;
		if (n->pad || hint < 0 || (uint64_t)hint > DMV_MAP_LEN)
			return SQLITE_OK;
		pthread_mutex_lock(&n->size_lock);
		node_size_locked(n);
		if ((uint64_t)hint > n->obj_size) {
			ret = daxmap_obj_allocate(n->obj, n->obj_size, (uint64_t)hint - n->obj_size);
			if (ret == 0)
				n->size = n->obj_size = (uint64_t)hint;
		}
		pthread_mutex_unlock(&n->size_lock);
		if (ret < 0) {
			dmv_error(dmv_errno_rc(ret, SQLITE_IOERR_WRITE), "\"%s\": growing to %lld: %s", n->name,
				  (long long)hint, daxmap_errormsg());
			return dmv_errno_rc(ret, SQLITE_IOERR_WRITE);
		}
		return SQLITE_OK;
	}
	case SQLITE_FCNTL_VFSNAME:
		*(char **)arg = sqlite3_mprintf("%s", DAXMAP_VFS_NAME);
		return SQLITE_OK;
	case SQLITE_FCNTL_HAS_MOVED:
		*(int *)arg = 0;
		return SQLITE_OK;
	default:
		return SQLITE_NOTFOUND;
	}
}

static int dmv_sector_size(sqlite3_file *f)
{
	(void)f;
	return 4096;
}

static int dmv_device_characteristics(sqlite3_file *f)
{
	(void)f;
	/* a store changes only its own bytes; appends are not safe (size grows first);
	 * an open object cannot be unlinked (daxmap_obj_unlink says -EBUSY), so
	 * SQLite keeps a TRUNCATE or PERSIST journal open across transactions */
	return SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN;
}

/* xFetch: a pointer straight into the mapping, below EOF and the mmap_size limit. */
static int dmv_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	uint64_t size;

	*pp = NULL;
	pthread_mutex_lock(&n->size_lock);
	size = node_size_locked(n);
	pthread_mutex_unlock(&n->size_lock);
	if (n->map && off >= 0 && amt > 0 && (uint64_t)off + (uint64_t)amt <= size &&
	    off + amt <= fh->mmap_limit)
		*pp = n->map + off;
	return SQLITE_OK;
}

static int dmv_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	(void)f;
	(void)off;
	(void)p;
	return SQLITE_OK; /* the mapping lives as long as the node */
}

/*
 * ---- WAL index: process-local memory, locks as an in-process table; in a
 * pool opened shared, the object "<db>-shm" every process maps, its locks
 * also OFD locks (unix's -shm file and its locks) ----
 */

/*
 * Opens the shared WAL index of database n into s, as unix opens its -shm
 * file: the dead-man switch (DMV_LK_DMS) is held shared by every process
 * that has it; one that gets it exclusive is alone, and empties the index
 * left by processes that are gone (SQLite rebuilds it from the WAL). The
 * switch is taken before the object is opened, so no process has it open
 * without holding the switch. Caller holds vfs_lock. A SQLite code.
 */
static int shm_open_shared(struct dmv_node *n, struct dmv_shm *s)
{
	char name[DAXMAP_MAX_NAME + 1];
	void *addr;
	int err, ret, first = 0;

	if (snprintf(name, sizeof(name), "%s-shm", n->name) >= (int)sizeof(name)) {
		dmv_error(SQLITE_CANTOPEN, "\"%s\": name too long for its WAL index", n->name);
		return SQLITE_CANTOPEN;
	}
	if ((err = dmv_ofd(n, DMV_LK_DMS, 1, F_WRLCK)) == 0)
		first = 1;
	else if (err != -EAGAIN && err != -EACCES)
		return dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "WAL-index switch");
	else if ((err = dmv_ofd(n, DMV_LK_DMS, 1, F_RDLCK)) < 0)
		return dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "WAL-index switch"); /* BUSY: one empties it */
	if ((ret = daxmap_obj_open(&s->obj, n->pool->pool, name, DAXMAP_CREATE)) < 0) {
		dmv_error(SQLITE_CANTOPEN, "WAL index \"%s\": %s", name, daxmap_errormsg());
		last_errno = -ret;
		goto fail;
	}
	if (first && (ret = daxmap_obj_truncate(s->obj, 0)) < 0) {
		dmv_error(SQLITE_IOERR_SHMOPEN, "emptying WAL index \"%s\": %s", name, daxmap_errormsg());
		last_errno = -ret;
		goto fail;
	}
	if ((ret = daxmap_map(&addr, s->obj, 0, DMV_SHM_MAP_LEN,
			      DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)) < 0) {
		dmv_error(SQLITE_IOERR_SHMMAP, "mapping WAL index \"%s\": %s", name, daxmap_errormsg());
		last_errno = -ret;
		goto fail;
	}
	s->map = addr;
	/* from now on one of the many users */
	if (first && (err = dmv_ofd(n, DMV_LK_DMS, 1, F_RDLCK)) < 0) {
		ret = dmv_ofd_rc(n, err, SQLITE_IOERR_LOCK, "WAL-index switch");
		daxmap_unmap(s->map, DMV_SHM_MAP_LEN);
		s->map = NULL;
		daxmap_obj_close(s->obj);
		s->obj = NULL;
		dmv_ofd(n, DMV_LK_DMS, 1, F_UNLCK);
		return ret;
	}
	return SQLITE_OK;
fail:
	daxmap_obj_close(s->obj);
	s->obj = NULL;
	dmv_ofd(n, DMV_LK_DMS, 1, F_UNLCK);
	return ret == -ENOSPC ? SQLITE_FULL : SQLITE_CANTOPEN;
}

/* Frees the WAL index of node n, the last handle of this process gone;
 * shared, with `del` removes the object unless another process uses it. */
static void shm_free(struct dmv_node *n, int del)
{
	struct dmv_shm *s = n->shm;

	for (int i = 0; i < s->nregion; i++)
		free(s->regions[i]);
	free(s->regions);
	if (s->obj) {
		if (daxmap_unmap(s->map, DMV_SHM_MAP_LEN) < 0 || daxmap_obj_close(s->obj) < 0)
			dmv_error(SQLITE_IOERR_CLOSE, "\"%s\": closing the WAL index: %s", n->name,
				  daxmap_errormsg());
		/* nobody else holds the switch: nobody else has the index */
		if (del && dmv_ofd(n, DMV_LK_DMS, 1, F_WRLCK) == 0) {
			char name[DAXMAP_MAX_NAME + 1];
			snprintf(name, sizeof(name), "%s-shm", n->name);
			int ret = daxmap_obj_unlink(n->pool->pool, name);
			if (ret < 0 && ret != -ENOENT && ret != -EBUSY)
				dmv_error(SQLITE_IOERR_DELETE, "deleting \"%s\": %s", name, daxmap_errormsg());
		}
		dmv_ofd(n, DMV_LK_SHM, SQLITE_SHM_NLOCK + 1, F_UNLCK);
	}
	free(s);
	n->shm = NULL;
}

static int dmv_shm_map(sqlite3_file *f, int region, int szregion, int extend, void volatile **pp)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	int rc = SQLITE_OK;

	*pp = NULL;
	pthread_mutex_lock(&vfs_lock);
	if (!n->shm) {
		if (!(n->shm = calloc(1, sizeof(*n->shm)))) {
			rc = SQLITE_NOMEM;
			goto out;
		}
		if (n->lockfd >= 0 && (rc = shm_open_shared(n, n->shm)) != SQLITE_OK) {
			free(n->shm);
			n->shm = NULL;
			goto out_quiet;
		}
	}
	if (!fh->shm_mapped) {
		fh->shm_mapped = 1;
		n->shm->refs++;
	}
	struct dmv_shm *s = n->shm;
	if (s->obj) {
		/* a region is there when the object covers it (any process may
		 * have grown it); growing allocates whole extents, zeroed */
		uint64_t need = (uint64_t)(region + 1) * (uint64_t)szregion, size = 0;
		uint64_t es = n->pool->extent_size;
		if (need > DMV_SHM_MAP_LEN) {
			dmv_error(SQLITE_IOERR_SHMSIZE, "\"%s\": WAL index larger than %llu bytes",
				  n->name, (unsigned long long)DMV_SHM_MAP_LEN);
			rc = SQLITE_IOERR_SHMSIZE;
			goto out_quiet;
		}
		daxmap_obj_size(s->obj, &size);
		if (size < need) {
			if (!extend)
				goto out;
			uint64_t to = (need + es - 1) / es * es;
			int ret = daxmap_obj_allocate(s->obj, size, to - size);
			if (ret < 0) {
				rc = dmv_errno_rc(ret, SQLITE_IOERR_SHMSIZE);
				dmv_error(rc, "\"%s\": growing the WAL index: %s", n->name, daxmap_errormsg());
				goto out_quiet;
			}
		}
		*pp = s->map + (uint64_t)region * (uint64_t)szregion;
		goto out;
	}
	if (region >= s->nregion) {
		if (!extend)
			goto out;
		char **r = realloc(s->regions, sizeof(*r) * (size_t)(region + 1));
		if (!r) {
			rc = SQLITE_NOMEM;
			goto out;
		}
		s->regions = r;
		for (; s->nregion <= region; s->nregion++) {
			if (!(r[s->nregion] = calloc(1, (size_t)szregion))) {
				rc = SQLITE_NOMEM;
				goto out;
			}
		}
	}
	*pp = s->regions[region];
out:
	if (rc != SQLITE_OK)
		dmv_error(rc, "\"%s\": WAL index: out of memory", n->name);
out_quiet:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

/*
 * As unix: within the process a table of which handle holds which slot; the
 * process as a whole holds a slot's OFD lock (shared: a read lock while any
 * of its handles holds it shared, a write lock while one holds it
 * exclusive), so the OFD lock changes only when the first handle takes a
 * slot or the last one leaves it.
 */
static int dmv_shm_lock(sqlite3_file *f, int ofst, int cnt, int flags)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	struct dmv_shm *s;
	int rc = SQLITE_OK, err;

	if (ofst < 0 || cnt < 1 || ofst + cnt > SQLITE_SHM_NLOCK)
		return SQLITE_IOERR_SHMLOCK;
	pthread_mutex_lock(&vfs_lock);
	s = n->shm;
	if (!s || !fh->shm_mapped) {
		rc = SQLITE_IOERR_SHMLOCK;
		goto out;
	}
	if (flags & SQLITE_SHM_UNLOCK) {
		for (int i = ofst; i < ofst + cnt; i++) {
			unsigned bit = 1u << i;
			int held = (fh->shm_shared | fh->shm_excl) & bit;
			if (fh->shm_shared & bit)
				s->shared[i]--;
			if (fh->shm_excl & bit)
				s->excl[i] = 0;
			fh->shm_shared &= ~bit;
			fh->shm_excl &= ~bit;
			if (held && s->obj && !s->excl[i] && s->shared[i] == 0)
				dmv_ofd(n, DMV_LK_SHM + i, 1, F_UNLCK);
		}
		goto out;
	}
	for (int i = ofst; i < ofst + cnt; i++) {
		unsigned bit = 1u << i;
		if (flags & SQLITE_SHM_SHARED) {
			if (!(fh->shm_shared & bit) && s->excl[i] && !(fh->shm_excl & bit)) {
				rc = SQLITE_BUSY;
				goto out;
			}
		} else if ((s->excl[i] && !(fh->shm_excl & bit)) ||
			   s->shared[i] > ((fh->shm_shared & bit) ? 1 : 0)) {
			rc = SQLITE_BUSY;
			goto out;
		}
	}
	/* free in this process: now the other processes */
	if (s->obj) {
		if (flags & SQLITE_SHM_SHARED) {
			for (int i = ofst; i < ofst + cnt; i++) {
				if (s->shared[i] || s->excl[i])
					continue; /* this process holds it already */
				if ((err = dmv_ofd(n, DMV_LK_SHM + i, 1, F_RDLCK)) < 0) {
					for (int j = ofst; j < i; j++)
						if (!s->shared[j] && !s->excl[j])
							dmv_ofd(n, DMV_LK_SHM + j, 1, F_UNLCK);
					rc = dmv_ofd_rc(n, err, SQLITE_IOERR_SHMLOCK, "WAL-index");
					goto out;
				}
			}
		} else if ((err = dmv_ofd(n, DMV_LK_SHM + ofst, cnt, F_WRLCK)) < 0) {
			rc = dmv_ofd_rc(n, err, SQLITE_IOERR_SHMLOCK, "WAL-index");
			goto out;
		}
	}
	for (int i = ofst; i < ofst + cnt; i++) {
		unsigned bit = 1u << i;
		if (flags & SQLITE_SHM_SHARED) {
			if (!(fh->shm_shared & bit))
				s->shared[i]++;
			fh->shm_shared |= bit;
		} else {
			s->excl[i] = 1;
			fh->shm_excl |= bit;
		}
	}
	/* a writer or checkpointer may write files another process shrank */
	if (!(flags & SQLITE_SHM_SHARED))
		node_forget_alloc(n);
out:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

static void dmv_shm_barrier(sqlite3_file *f)
{
	(void)f;
	/* the index is the same memory in every process: a fence orders it */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Drops this handle's WAL-index use; the last one of the process frees it (it
 * is rebuilt from the WAL); shared, delete_flag removes it from the pool
 * unless another process uses it. */
static int dmv_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;

	pthread_mutex_lock(&vfs_lock);
	if (fh->shm_mapped) {
		struct dmv_shm *s = n->shm;
		for (int i = 0; i < SQLITE_SHM_NLOCK; i++) {
			unsigned bit = 1u << i;
			int held = (fh->shm_shared | fh->shm_excl) & bit;
			if (fh->shm_shared & bit)
				s->shared[i]--;
			if (fh->shm_excl & bit)
				s->excl[i] = 0;
			if (held && s->obj && !s->excl[i] && s->shared[i] == 0)
				dmv_ofd(n, DMV_LK_SHM + i, 1, F_UNLCK);
		}
		fh->shm_shared = fh->shm_excl = 0;
		fh->shm_mapped = 0;
		if (--s->refs == 0)
			shm_free(n, delete_flag);
	}
	pthread_mutex_unlock(&vfs_lock);
	return SQLITE_OK;
}

static int dmv_close(sqlite3_file *f)
{
	struct dmv_file *fh = (struct dmv_file *)f;

	dmv_unlock(f, SQLITE_LOCK_NONE);
	dmv_shm_unmap(f, 0);
	pthread_mutex_lock(&vfs_lock);
	node_put(fh->node);
	pthread_mutex_unlock(&vfs_lock);
	fh->node = NULL;
	return SQLITE_OK;
}

static const sqlite3_io_methods dmv_io = {
	.iVersion = 3,
	.xClose = dmv_close,
	.xRead = dmv_read,
	.xWrite = dmv_write,
	.xTruncate = dmv_truncate,
	.xSync = dmv_sync,
	.xFileSize = dmv_file_size,
	.xLock = dmv_lock,
	.xUnlock = dmv_unlock,
	.xCheckReservedLock = dmv_check_reserved,
	.xFileControl = dmv_file_control,
	.xSectorSize = dmv_sector_size,
	.xDeviceCharacteristics = dmv_device_characteristics,
	.xShmMap = dmv_shm_map,
	.xShmLock = dmv_shm_lock,
	.xShmBarrier = dmv_shm_barrier,
	.xShmUnmap = dmv_shm_unmap,
	.xFetch = dmv_fetch,
	.xUnfetch = dmv_unfetch,
};

/* ---- the VFS ---- */

static int dmv_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_pool *p;
	int rc;

	(void)vfs;
	if (!name || (flags & (SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL |
			       SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_SUBJOURNAL)))
		return under->xOpen(under, name, f, flags, out_flags); /* f is big enough for both */
	memset(fh, 0, sizeof(*fh));
	if (strlen(name) > DAXMAP_MAX_NAME) {
		dmv_error(SQLITE_CANTOPEN, "\"%s\": name longer than %d bytes", name, DAXMAP_MAX_NAME);
		return SQLITE_CANTOPEN;
	}
	pthread_mutex_lock(&vfs_lock);
	if (flags & SQLITE_OPEN_MAIN_DB) {
		const char *path = sqlite3_uri_parameter(name, "pool");
		struct dmv_sizes z;
		int shared = sqlite3_uri_parameter(name, "shared") ? sqlite3_uri_boolean(name, "shared", 0)
								    : dmv_shared_env();
		if (shared < 0) {
			rc = SQLITE_CANTOPEN;
			goto out;
		}
		if (dmv_sizes_parse(&z, "pool_size", sqlite3_uri_parameter(name, "pool_size"),
				    "pool_max", sqlite3_uri_parameter(name, "pool_max"), "pool_grow",
				    sqlite3_uri_parameter(name, "pool_grow")) < 0) {
			last_errno = EINVAL;
			rc = SQLITE_CANTOPEN;
			goto out;
		}
		if (path && shared && dmv_sizes_shared_check(&z, "pool_max", "pool_grow") < 0) {
			rc = SQLITE_CANTOPEN;
			goto out;
		}
		p = path ? pool_get(path, &z, 1, shared) : pool_get_default(1, shared);
		if (!p) {
			rc = SQLITE_CANTOPEN;
			goto out;
		}
		/* journals find their pool by their database's name: it must be unambiguous */
		for (struct dmv_node *n = nodes; n; n = n->next) {
			if (n->pool != p && strcmp(n->name, name) == 0) {
				dmv_error(SQLITE_CANTOPEN, "a database named \"%s\" is open in pool %s already",
					  name, n->pool->path);
				pool_put(p);
				rc = SQLITE_CANTOPEN;
				goto out;
			}
		}
	} else {
		p = pool_for_name(name, 1);
		if (!p) {
			rc = SQLITE_CANTOPEN;
			goto out;
		}
	}
	rc = node_get(&fh->node, p, name, flags);
	if (rc == SQLITE_OK) {
		if (flags & SQLITE_OPEN_DELETEONCLOSE)
			fh->node->delete_on_close = 1;
		fh->base.pMethods = &dmv_io;
		if (out_flags)
			*out_flags = flags;
	}
out:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

/*
 * Deletes a parked journal in place, as a TRUNCATE journal's commit zeroes
 * it (dmv_truncate_io_to_zero); then it is absent for SQLite until a
 * transaction creates it again. Its space stays.
 */
static int node_delete_parked(struct dmv_node *n)
{
	int ret;

	pthread_mutex_lock(&n->size_lock);
	ret = dmv_truncate_io_to_zero(n);
	pthread_mutex_unlock(&n->size_lock);
	if (ret == 0)
		n->absent = 1;
	return ret;
}

/*
 * Shared: a delete that zeroes the object in place. For a main journal, always
 * (not a super-journal: its name is new each time, zeroed ones would pile up):
 * DELETE mode would otherwise create, allocate (an extent, zeroed) and unlink
 * an object per transaction, as the parked journals of an unshared pool
 * avoid; and a zeroed journal is what SQLite asks of a deleted one (a zero
 * first byte is not a hot journal; xAccess calls it absent). For anything else, when another
 * process has the object open (-EBUSY from the unlink): nothing to replay
 * either (a zero WAL header is no WAL). 0 or -errno.
 */
static int dmv_zero_object(struct dmv_pool *p, const char *name)
{
	daxmap_obj *obj;
	uint64_t size = 0;
	int ret = daxmap_obj_open(&obj, p->pool, name, 0);

	if (ret < 0)
		return ret;
	if ((ret = daxmap_obj_size(obj, &size)) == 0 && size)
		ret = daxmap_obj_zero_range(obj, 0, size);
	daxmap_obj_close(obj);
	return ret;
}

static int dmv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	struct dmv_node *n;
	struct dmv_pool *p;
	int ret, rc = SQLITE_OK;

	(void)vfs;
	(void)sync_dir; /* the unlink is durable when it returns */
	pthread_mutex_lock(&vfs_lock);
	p = pool_for_name(name, 0);
	if (!p) {
		rc = SQLITE_IOERR_DELETE;
		goto out;
	}
	n = node_find(p, name);
	if (n && n->absent)
		ret = -ENOENT;
	else if (n && n->parked)
		ret = node_delete_parked(n);
	else if (p->shared && dmv_main_journal_name(name))
		ret = dmv_zero_object(p, name);
	else
		ret = daxmap_obj_unlink(p->pool, name);
	if (ret == -EBUSY && p->shared)
		ret = dmv_zero_object(p, name);
	if (ret == -ENOENT) {
		rc = SQLITE_IOERR_DELETE_NOENT;
	} else if (ret < 0) {
		dmv_error(SQLITE_IOERR_DELETE, "deleting \"%s\": %s", name, daxmap_errormsg());
		rc = SQLITE_IOERR_DELETE;
	}
	pool_put(p);
out:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

/* As unix: a file "exists" when it is there and not empty. */
static int dmv_access(sqlite3_vfs *vfs, const char *name, int flags, int *res)
{
	struct dmv_pool *p;
	struct dmv_node *n;
	daxmap_obj *obj;
	uint64_t size = 0;

	(void)vfs;
	*res = 0;
	pthread_mutex_lock(&vfs_lock);
	p = pool_for_name(name, 0);
	if (!p)
		goto out; /* no pool: nothing exists */
	if ((n = node_find(p, name))) {
		pthread_mutex_lock(&n->size_lock);
		size = node_size_locked(n);
		pthread_mutex_unlock(&n->size_lock);
		*res = !n->absent;
		if (*res && p->shared && dmv_journal_name(name))
			*res = dmv_journal_live(n->obj, size);
	} else if (daxmap_obj_open(&obj, p->pool, name, 0) == 0) {
		*res = daxmap_obj_size(obj, &size) == 0;
		if (*res && p->shared && dmv_journal_name(name))
			*res = dmv_journal_live(obj, size);
		daxmap_obj_close(obj);
	}
	if (flags == SQLITE_ACCESS_EXISTS && size == 0)
		*res = 0;
	pool_put(p);
out:
	pthread_mutex_unlock(&vfs_lock);
	return SQLITE_OK;
}

/* Names are object names, not paths: kept as given. */
static int dmv_full_pathname(sqlite3_vfs *vfs, const char *name, int nout, char *out)
{
	size_t len = strlen(name);

	(void)vfs;
	if (len > DMV_MAX_DB_NAME || len >= (size_t)nout) {
		dmv_error(SQLITE_CANTOPEN, "\"%s\": name longer than %d bytes", name, DMV_MAX_DB_NAME);
		return SQLITE_CANTOPEN;
	}
	memcpy(out, name, len + 1);
	return SQLITE_OK;
}

static void *dmv_dlopen(sqlite3_vfs *vfs, const char *path)
{
	(void)vfs;
	return under->xDlOpen(under, path);
}

static void dmv_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	under->xDlError(under, n, msg);
}

static void (*dmv_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return under->xDlSym(under, h, sym);
}

static void dmv_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	under->xDlClose(under, h);
}

static int dmv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return under->xRandomness(under, n, out);
}

static int dmv_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return under->xSleep(under, us);
}

static int dmv_current_time(sqlite3_vfs *vfs, double *t)
{
	(void)vfs;
	return under->xCurrentTime(under, t);
}

static int dmv_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	if (n > 0)
		snprintf(out, (size_t)n, "%s", last_error);
	return last_errno; /* what sqlite3_system_errno() gives */
}

static int dmv_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	(void)vfs;
	return under->xCurrentTimeInt64(under, t);
}

static sqlite3_vfs dmv_vfs = {
	.iVersion = 2,
	.szOsFile = sizeof(struct dmv_file), /* raised to the unix VFS's at register */
	.mxPathname = DAXMAP_MAX_NAME,
	.zName = DAXMAP_VFS_NAME,
	.xOpen = dmv_open,
	.xDelete = dmv_delete,
	.xAccess = dmv_access,
	.xFullPathname = dmv_full_pathname,
	.xDlOpen = dmv_dlopen,
	.xDlError = dmv_dlerror,
	.xDlSym = dmv_dlsym,
	.xDlClose = dmv_dlclose,
	.xRandomness = dmv_randomness,
	.xSleep = dmv_sleep,
	.xCurrentTime = dmv_current_time,
	.xGetLastError = dmv_get_last_error,
	.xCurrentTimeInt64 = dmv_current_time_int64,
};

int daxmap_vfs_register(int make_default)
{
	pthread_mutex_lock(&vfs_lock);
	if (!under) {
		under = sqlite3_vfs_find("unix");
		if (!under || under->iVersion < 2) {
			pthread_mutex_unlock(&vfs_lock);
			return SQLITE_ERROR;
		}
		if (under->szOsFile > dmv_vfs.szOsFile)
			dmv_vfs.szOsFile = under->szOsFile;
	}
	pthread_mutex_unlock(&vfs_lock);
	return sqlite3_vfs_register(&dmv_vfs, make_default);
}

#ifdef DAXMAP_VFS_EXTENSION
/* Entry point of ".load daxmapvfs": registers the VFS and stays loaded. */
int sqlite3_daxmapvfs_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);
int sqlite3_daxmapvfs_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	(void)db;
	int rc = daxmap_vfs_register(0);
	if (rc != SQLITE_OK) {
		*err = sqlite3_mprintf("daxmap: no unix VFS to build on");
		return rc;
	}
	return SQLITE_OK_LOAD_PERMANENTLY;
}
#endif
