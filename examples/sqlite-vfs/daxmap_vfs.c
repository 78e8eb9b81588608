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
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Address space per open object: the largest file this VFS can grow. */
#define DMV_MAP_LEN (UINT64_C(64) << 30)
/* Size of a pool created on first use, unless pool_size / DAXMAP_POOL_SIZE say otherwise. */
#define DMV_DEFAULT_POOL_SIZE (UINT64_C(256) << 20)
/* Longest main database name: leaves room for "-journal", "-wal", "-mjXXXXXXXXXX". */
#define DMV_MAX_DB_NAME (DAXMAP_MAX_NAME - 16)

struct dmv_pool {
	struct dmv_pool *next;
	char *path; /* realpath of the pool file */
	daxmap_pool *pool;
	uint64_t extent_size;
	int refs; /* nodes plus transient users (xAccess, xDelete) */
};

/* WAL index of one database: process-local memory (the pool has one opener). */
struct dmv_shm {
	char **regions;
	int nregion;
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
	if (daxmap_pool_close(p->pool) < 0)
		dmv_error(SQLITE_IOERR, "closing pool %s: %s", p->path, daxmap_errormsg());
	free(p->path);
	free(p);
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

static struct dmv_pool *pool_get(const char *path, const struct dmv_sizes *z, int create)
{
	char real[PATH_MAX];
	daxmap_pool *dp = NULL;
	struct daxmap_pool_opts o;
	int ret;

	daxmap_pool_opts_init(&o);
	o.grow_step = z->step;

	if (realpath(path, real)) {
		for (struct dmv_pool *p = pools; p; p = p->next) {
			if (strcmp(p->path, real) == 0) {
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
		if (ret == -EBUSY)
			dmv_error(SQLITE_CANTOPEN, "pool %s is busy: open in another process (a pool "
				  "has one opener at a time, until it closes the pool or exits)", path);
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
	p->next = pools;
	pools = p;
	return p;
}

/* The default pool ($DAXMAP_POOL), or NULL with the reason recorded. */
static struct dmv_pool *pool_get_default(int create)
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
	return pool_get(path, &z, create);
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
	return pool_get_default(create);
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
	 * pwrite: 64 KiB blocks, not 2 MiB extents, of space each */
	if ((flags & SQLITE_OPEN_CREATE) &&
	    (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL)))
		oflags |= DAXMAP_SMALL;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		dmv_error(SQLITE_NOMEM, "\"%s\": out of memory", name);
		ret = SQLITE_NOMEM;
		goto out_free;
	}
	ret = daxmap_obj_open(&n->obj, p->pool, name, oflags);
	if (ret < 0) {
		dmv_error(SQLITE_CANTOPEN, "object \"%s\": %s", name, daxmap_errormsg());
		last_errno = -ret;
		ret = SQLITE_CANTOPEN;
		goto out_free;
	}
	n->io = !!(flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL));
	n->keep = !!(flags & SQLITE_OPEN_MAIN_JOURNAL);
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
	if (n)
		free(n->name);
	free(n);
	pool_put(p);
	return ret;
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
	/* a clean close leaves no padding (a crash may: see README.md) */
	if (n->obj_size > n->size && !n->delete_on_close && daxmap_obj_truncate(n->obj, n->size) < 0)
		dmv_error(SQLITE_IOERR_TRUNCATE, "closing \"%s\": %s", n->name, daxmap_errormsg());
	/* unmap and close before unlink: unlink refuses a mapped object */
	if ((n->map && daxmap_unmap(n->map, DMV_MAP_LEN) < 0) || daxmap_obj_close(n->obj) < 0)
		dmv_error(SQLITE_IOERR_CLOSE, "closing \"%s\": %s", n->name, daxmap_errormsg());
	if (n->delete_on_close && daxmap_obj_unlink(n->pool->pool, n->name) < 0)
		dmv_error(SQLITE_IOERR_DELETE, "deleting \"%s\": %s", n->name, daxmap_errormsg());
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

/* ---- file locks: unix's in-process inode logic; the pool has one opener ---- */

static int dmv_lock(sqlite3_file *f, int level)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	int rc = SQLITE_OK;

	pthread_mutex_lock(&vfs_lock);
	if (fh->lock >= level)
		goto out;
	/* another handle holds a lock that precludes this one */
	if (fh->lock != n->lock && (n->lock >= SQLITE_LOCK_PENDING || level > SQLITE_LOCK_SHARED)) {
		rc = SQLITE_BUSY;
		goto out;
	}
	if (level == SQLITE_LOCK_SHARED) {
		if (n->lock == SQLITE_LOCK_NONE)
			n->lock = SQLITE_LOCK_SHARED;
		n->nshared++;
		fh->lock = SQLITE_LOCK_SHARED;
		goto out;
	}
	if (level == SQLITE_LOCK_EXCLUSIVE && n->nshared > 1) {
		/* readers remain: keep PENDING so that no new reader comes in */
		fh->lock = n->lock = SQLITE_LOCK_PENDING;
		rc = SQLITE_BUSY;
		goto out;
	}
	fh->lock = n->lock = level;
out:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

static int dmv_unlock(sqlite3_file *f, int level)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;

	pthread_mutex_lock(&vfs_lock);
	if (fh->lock > level) {
		if (fh->lock > SQLITE_LOCK_SHARED)
			n->lock = SQLITE_LOCK_SHARED;
		if (level == SQLITE_LOCK_NONE && --n->nshared == 0)
			n->lock = SQLITE_LOCK_NONE;
		fh->lock = level;
	}
	pthread_mutex_unlock(&vfs_lock);
	return SQLITE_OK;
}

static int dmv_check_reserved(sqlite3_file *f, int *res)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	pthread_mutex_lock(&vfs_lock);
	*res = fh->node->lock > SQLITE_LOCK_SHARED;
	pthread_mutex_unlock(&vfs_lock);
	return SQLITE_OK;
}

/* ---- data ---- */

/* xRead: a copy from the mapping, or daxmap_obj_pread for a journal; short
 * at the size SQLite sees (past it a journal holds zeroed padding). */
static int dmv_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	uint64_t size, have = 0;

	if (off < 0 || amt < 0)
		return SQLITE_IOERR_READ;
	pthread_mutex_lock(&n->size_lock);
	size = n->size;
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
	if (put > 0 && (uint64_t)off + (uint64_t)put > n->size)
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
	if (end > n->alloc_hi || end > n->obj_size) {
		uint64_t es = n->pool->extent_size;
		/*
		 * Allocate before storing: a store into a hole of a full pool would be
		 * SIGBUS. A journal or WAL grows in whole extents: the library maps an
		 * extent only up to EOF, so growing page by page costs one fault per page.
		 */
		uint64_t alloc_end = n->pad ? (end + es - 1) / es * es : end;
		ret = daxmap_obj_allocate(n->obj, (uint64_t)off, alloc_end - (uint64_t)off);
		if (ret < 0) {
			pthread_mutex_unlock(&n->size_lock);
			dmv_error(dmv_errno_rc(ret, SQLITE_IOERR_WRITE), "\"%s\": allocating %d bytes at %lld: %s",
				  n->name, amt, (long long)off, daxmap_errormsg());
			return dmv_errno_rc(ret, SQLITE_IOERR_WRITE);
		}
		if (alloc_end > n->obj_size)
			n->obj_size = alloc_end;
		if ((uint64_t)off <= n->alloc_hi) {
			uint64_t hi = (end + es - 1) / es * es; /* allocate works in whole extents */
			if (hi > n->alloc_hi)
				n->alloc_hi = hi;
		}
	}
	if (end > n->size)
		n->size = end;
	pthread_mutex_unlock(&n->size_lock);
	memcpy(n->map + off, buf, (size_t)amt);
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
	}
	pthread_mutex_unlock(&n->size_lock);
	return rc;
}

/* xSync: daxmap_persist over what was written since the last sync (sizes are durable already). */
static int dmv_sync(sqlite3_file *f, int flags)
{
	struct dmv_node *n = ((struct dmv_file *)f)->node;
	uint64_t lo, hi;
	int ret = 0;

	(void)flags;
	pthread_mutex_lock(&n->size_lock);
	lo = n->dirty_lo;
	hi = n->dirty_hi < n->size ? n->dirty_hi : n->size;
	if (lo < hi && n->map) /* journals are written durably: never dirty */
		ret = daxmap_persist(n->map + lo, hi - lo);
	if (ret == 0) {
		n->dirty_lo = UINT64_MAX;
		n->dirty_hi = 0;
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
	*size = (sqlite3_int64)n->size;
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
	size = n->size;
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

/* ---- WAL index: process-local memory, locks as an in-process table ---- */

static int dmv_shm_map(sqlite3_file *f, int region, int szregion, int extend, void volatile **pp)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;
	int rc = SQLITE_OK;

	*pp = NULL;
	pthread_mutex_lock(&vfs_lock);
	if (!n->shm && !(n->shm = calloc(1, sizeof(*n->shm)))) {
		rc = SQLITE_NOMEM;
		goto out;
	}
	if (!fh->shm_mapped) {
		fh->shm_mapped = 1;
		n->shm->refs++;
	}
	struct dmv_shm *s = n->shm;
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
	pthread_mutex_unlock(&vfs_lock);
	if (rc != SQLITE_OK)
		dmv_error(rc, "\"%s\": WAL index: out of memory", n->name);
	return rc;
}

static int dmv_shm_lock(sqlite3_file *f, int ofst, int cnt, int flags)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_shm *s;
	int rc = SQLITE_OK;

	if (ofst < 0 || cnt < 1 || ofst + cnt > SQLITE_SHM_NLOCK)
		return SQLITE_IOERR_SHMLOCK;
	pthread_mutex_lock(&vfs_lock);
	s = fh->node->shm;
	if (!s || !fh->shm_mapped) {
		rc = SQLITE_IOERR_SHMLOCK;
		goto out;
	}
	for (int i = ofst; i < ofst + cnt; i++) {
		unsigned bit = 1u << i;
		if (flags & SQLITE_SHM_UNLOCK) {
			if (fh->shm_shared & bit)
				s->shared[i]--;
			if (fh->shm_excl & bit)
				s->excl[i] = 0;
			fh->shm_shared &= ~bit;
			fh->shm_excl &= ~bit;
		} else if (flags & SQLITE_SHM_SHARED) {
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
	/* all slots free for us: take them */
	if (!(flags & SQLITE_SHM_UNLOCK)) {
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
	}
out:
	pthread_mutex_unlock(&vfs_lock);
	return rc;
}

static void dmv_shm_barrier(sqlite3_file *f)
{
	(void)f;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Drops this handle's WAL-index use; the last one frees it (it is rebuilt from the WAL). */
static int dmv_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct dmv_file *fh = (struct dmv_file *)f;
	struct dmv_node *n = fh->node;

	(void)delete_flag;
	pthread_mutex_lock(&vfs_lock);
	if (fh->shm_mapped) {
		struct dmv_shm *s = n->shm;
		for (int i = 0; i < SQLITE_SHM_NLOCK; i++) {
			if (fh->shm_shared & (1u << i))
				s->shared[i]--;
			if (fh->shm_excl & (1u << i))
				s->excl[i] = 0;
		}
		fh->shm_shared = fh->shm_excl = 0;
		fh->shm_mapped = 0;
		if (--s->refs == 0) {
			for (int i = 0; i < s->nregion; i++)
				free(s->regions[i]);
			free(s->regions);
			free(s);
			n->shm = NULL;
		}
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
		if (dmv_sizes_parse(&z, "pool_size", sqlite3_uri_parameter(name, "pool_size"),
				    "pool_max", sqlite3_uri_parameter(name, "pool_max"), "pool_grow",
				    sqlite3_uri_parameter(name, "pool_grow")) < 0) {
			last_errno = EINVAL;
			rc = SQLITE_CANTOPEN;
			goto out;
		}
		p = path ? pool_get(path, &z, 1) : pool_get_default(1);
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
	else
		ret = daxmap_obj_unlink(p->pool, name);
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
		size = n->size;
		pthread_mutex_unlock(&n->size_lock);
		*res = !n->absent;
	} else if (daxmap_obj_open(&obj, p->pool, name, 0) == 0) {
		*res = daxmap_obj_size(obj, &size) == 0;
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
