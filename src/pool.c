/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool handle: create, open (assembly of the modules, recovery), close,
 * fork, and the public calls that take the handle (stat, list, object open
 * and unlink; daxmap_inject_clear in injection builds).
 */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <libpmem.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "map.h"
#include "out.h"

/* protects: the list of open pools (fork handling walks it) */
static struct dm_mutex pools_lock = MUTEX_INITIALIZER(lockclass_pools_lock);
static struct daxmap_pool *open_pools GUARDED_BY(pools_lock);
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* -EINVAL with a message when pool is NULL or was inherited across fork. */
static int pool_usable(struct daxmap_pool *pool)
{
	if (!pool)
		return ERR(-EINVAL, "pool handle is NULL");
	return media_usable(&pool->media);
}

void daxmap_pool_opts_init(struct daxmap_pool_opts *opts)
{
	if (opts)
		memset(opts, 0, sizeof(*opts));
}

/* Checks the arguments common to open and create; copies the options (or defaults) to *o. */
static int pool_args(daxmap_pool **poolp, const char *path, const struct daxmap_pool_opts *opts,
		     struct daxmap_pool_opts *o)
{
	if (!poolp)
		return ERR(-EINVAL, "pool is NULL");
	*poolp = NULL;
	if (!path)
		return ERR(-EINVAL, "path is NULL");
	daxmap_pool_opts_init(o);
	if (opts)
		*o = *opts;
	for (size_t i = 0; i < sizeof(o->reserved_) / sizeof(o->reserved_[0]); i++)
		if (o->reserved_[i])
			return ERR(-EINVAL, "reserved option fields must be zero");
	if (o->prefault != 0 && o->prefault != 1)
		return ERR(-EINVAL, "prefault must be 0 or 1");
	if (o->warm < DAXMAP_WARM_ALL)
		return ERR(-EINVAL, "warm %d: DAXMAP_WARM_ALL, DAXMAP_WARM_OFF, 0 or a window in MiB",
			   o->warm);
	if (o->fault_threads > 64)
		return ERR(-EINVAL, "fault_threads %u: at most 64", o->fault_threads);
	if (o->shared != 0 && o->shared != 1)
		return ERR(-EINVAL, "shared must be 0 or 1");
	return 0;
}

static void pool_atfork_prepare(void) NO_TSA
{
	mutex_lock(&pools_lock);
	map_fork_prepare();
}

static void pool_atfork_parent(void) NO_TSA
{
	map_fork_parent();
	mutex_unlock(&pools_lock);
}

/* In the child: every pool handle is dead; close its descriptors so the
 * pool lock goes away with the parent, and forget the handles. */
static void pool_atfork_child(void) NO_TSA
{
	map_fork_child();
	for (struct daxmap_pool *p = open_pools; p; p = p->next_open) {
		media_forget_child(&p->media);
		uffd_close(&p->uffd);
		fault_forget_child(&p->fault);
	}
	open_pools = NULL;
	mutex_reinit_child(&pools_lock);
}

static void pool_atfork_install(void)
{
	pthread_atfork(pool_atfork_prepare, pool_atfork_parent, pool_atfork_child);
}

/* Each module undoes what its own state records: safe at any point of pool_start. */
static void pool_free(struct daxmap_pool *pool)
{
	shared_stop(&pool->shared);
	fault_stop(&pool->fault);
	uffd_close(&pool->uffd);
	alloc_stop_zeroer(&pool->alloc_blk);
	alloc_stop_zeroer(&pool->alloc);
	object_unload(&pool->objtab);
	alloc_fini(&pool->alloc_blk);
	alloc_fini(&pool->alloc);
	log_fini(&pool->log);
	shared_detach(&pool->shared);
	media_fini(&pool->media);
	mutex_destroy(&pool->grow_lock);
	free(pool);
}

static int pool_autogrow(void *arg, uint64_t seen_size);

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2u : (n > 16 ? 16u : (unsigned)n);
}

/*
 * How many free extents the zeroer keeps warm: all of them on tmpfs (the
 * file is its memory: warming costs none the pool does not hold already),
 * none on pmem (no page cache: a first touch only maps), else a window of
 * 1 GiB, or the option's.
 */
static uint64_t pool_warm_budget(const struct pool_media *md, int warm)
{
	uint64_t mib = warm > 0 ? (uint64_t)warm : 1024;

	if (warm == DAXMAP_WARM_OFF || (warm == 0 && md->is_pmem))
		return 0;
	if (warm == DAXMAP_WARM_ALL || (warm == 0 && md->tmpfs))
		return UINT64_MAX;
	return ((mib << 20) + md->extent_size - 1) >> md->extent_shift;
}

/*
 * Opened shared: joins the run file (its flock held until shared_ready, so
 * that one opener at a time builds its state) and takes meta once no
 * operation of another process is half done, so that the tables load as
 * one consistent snapshot. Objects made of blocks are not shared yet.
 */
static int pool_share_begin(struct daxmap_pool *pool) NO_TSA
{
	struct pool_media *md = &pool->media;
	struct shared *sh = &pool->shared;
	struct stat st;
	int ret;

	if (fstat(md->fd, &st) < 0)
		return ERR(-errno, "cannot stat %s", md->path);
	if ((ret = shared_attach(sh, md->hdr->uuid, md->max_objects, &st)) < 0)
		return ret;
	md->shared = 1;
	for (;;) {
		uint32_t seen = shared_fence_seq(sh);
		shared_meta_lock(sh);
		if (!sh->run->fence.active)
			return 0;
		shared_meta_unlock(sh);
		shared_fence_wait(sh, seen);
	}
}

/* Nothing of blocks in a pool opened shared (yet): -EOPNOTSUPP. */
static int pool_share_check(const struct pool_media *md)
{
	for (uint32_t i = 0; i < md->max_objects; i++)
		if (md->slots[i].state != SLOT_FREE && (md->slots[i].flags & SLOT_F_SMALL))
			return ERR(-EOPNOTSUPP, "pool %s has objects made of blocks (DAXMAP_SMALL): "
						"it cannot be opened shared", md->path);
	for (uint64_t i = 0; md->blk && i < md->nextents; i++)
		if (ext_entry_tag(md->exttab[i]) == EXT_TAG_SPLIT)
			return ERR(-EOPNOTSUPP, "pool %s has extents split into blocks: it cannot "
						"be opened shared", md->path);
	return 0;
}

static int pool_load(struct daxmap_pool *pool, const struct daxmap_pool_opts *o,
		     struct shared *sh);
static void pool_share_state(struct daxmap_pool *pool, struct shared *sh);

/* Maps, validates and brings up a pool whose file is open and locked as media.fd. */
static int pool_start(struct daxmap_pool *pool, const struct daxmap_pool_opts *o) NO_TSA
{
	struct pool_media *md = &pool->media;
	struct objtab *tab = &pool->objtab;
	struct shared *sh = o->shared ? &pool->shared : NULL;
	int ret;

	if ((ret = media_map(md)) < 0 || (ret = media_map_blocks(md)) < 0 ||
	    (ret = log_load(&pool->log, md)) < 0)
		return ret;
	if (sh && (ret = pool_share_begin(pool)) < 0)
		return ret;
	ret = pool_load(pool, o, sh);
	if (sh && !sh->first && ret == 0)
		pool_share_state(pool, sh); /* in the hold of meta that loaded it */
	if (sh)
		shared_meta_unlock(sh);
	/* finish what a crash interrupted: logged operations, then unlinks
	 * and extents past EOF (shared: only when no other process has it
	 * open, theirs are in flight, not interrupted; the run file's flock
	 * keeps newcomers out meanwhile) */
	if (ret == 0 && (!sh || sh->first)) {
		ret = log_replay(&pool->log, object_replay, tab);
		if (ret == 0)
			object_recover(tab);
		if (ret == 0 && sh) {
			shared_meta_lock(sh);
			pool_share_state(pool, sh);
			shared_meta_unlock(sh);
		}
	}
	if (ret < 0)
		return ret;
	if ((ret = alloc_start_zeroer(&pool->alloc)) < 0 ||
	    (tab->alloc_blk && (ret = alloc_start_zeroer(&pool->alloc_blk)) < 0))
		return ret;
	if ((ret = uffd_open(&pool->uffd)) < 0 ||
	    (ret = fault_start(&pool->fault, pool, md, &pool->uffd, &pool->counters,
			       o->fault_threads ? o->fault_threads : default_threads())) < 0)
		return ret;
	if (sh) {
		fault_share(&pool->fault, sh);
		pool->peer = (struct peer){.tab = tab, .fault = &pool->fault, .log = &pool->log,
					   .sh = sh, .path = md->path};
		if ((ret = shared_start(sh, peer_handle, peer_fence_dropped, peer_recover,
					&pool->peer)) < 0)
			return ret;
		shared_ready(sh);
	}

	pthread_once(&atfork_once, pool_atfork_install);
	mutex_lock(&pools_lock);
	pool->next_open = open_pools;
	open_pools = pool;
	mutex_unlock(&pools_lock);
	return 0;
}

/* The tables into the modules' state. */
static int pool_load(struct daxmap_pool *pool, const struct daxmap_pool_opts *o,
		     struct shared *sh)
{
	struct pool_media *md = &pool->media;
	struct objtab *tab = &pool->objtab;
	int ret;

	tab->pool = pool;
	tab->md = md;
	tab->alloc = &pool->alloc;
	tab->alloc_blk = md->blk && !sh ? &pool->alloc_blk : NULL;
	tab->log = &pool->log;
	tab->uffd = &pool->uffd;
	tab->counters = &pool->counters;
	if (o->prefault)
		media_prefault(md); /* every data page now, so first touches only map */
	/* the object table validates every extent entry before the
	 * allocator builds its bitmaps from them */
	/* (shared: warming only reads, media_warm: another process may
	 * allocate what it warms) */
	if ((sh && (ret = pool_share_check(md)) < 0) || (ret = object_load(tab)) < 0 ||
	    (ret = alloc_init(&pool->alloc, md, &pool->counters, pool_warm_budget(md, o->warm),
			      o->prefault, NULL)) < 0 ||
	    (tab->alloc_blk && (ret = alloc_init(&pool->alloc_blk, md->blk, &pool->counters_blk,
						 0, 0, &pool->alloc)) < 0))
		return ret;
	if (o->grow_step && sh)
		return ERR(-EINVAL, "grow_step: a pool opened shared does not grow (yet)");
	if (o->grow_step && !md->growable)
		return ERR(-EINVAL, "grow_step: pool %s cannot grow (it was created without a "
				    "max_size larger than its size)", md->path);
	if (o->grow_step) {
		/* whole extents, at least one */
		pool->grow_step = (o->grow_step + md->extent_size - 1) & ~(md->extent_size - 1);
		pool->alloc.grow = pool_autogrow;
		pool->alloc.grow_arg = pool;
	}
	return 0;
}

/* Under meta: the loaded state is this process's view of the shared one. */
static void pool_share_state(struct daxmap_pool *pool, struct shared *sh)
{
	alloc_share(&pool->alloc, sh, 0);
	object_share(&pool->objtab, sh);
}

static struct daxmap_pool *pool_alloc(const char *path)
{
	struct daxmap_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->uffd.fd = pool->fault.stop_fd = pool->fault.kick_fd = -1;
	if (media_init(&pool->media, path) < 0) {
		free(pool);
		return NULL;
	}
	mutex_init(&pool->grow_lock, lockclass_grow);
	return pool;
}

/* -EBUSY when this process has the file open as a pool already (a shared
 * flock would not tell: two handles of one process would be two openers
 * with one set of locks). Takes pools_lock. */
static int pool_open_here(struct daxmap_pool *pool)
{
	struct stat st, other;
	int ret = 0;

	if (fstat(pool->media.fd, &st) < 0)
		return ERR(-errno, "cannot stat %s", pool->media.path);
	mutex_lock(&pools_lock);
	for (struct daxmap_pool *p = open_pools; p && ret == 0; p = p->next_open)
		if (fstat(p->media.fd, &other) == 0 && other.st_dev == st.st_dev &&
		    other.st_ino == st.st_ino)
			ret = ERR(-EBUSY, "pool %s is open in this process already",
				  pool->media.path);
	mutex_unlock(&pools_lock);
	return ret;
}

static int pool_lock_file(struct daxmap_pool *pool, int shared)
{
	/* flock belongs to the open file description: a second open, in this
	 * process or another, conflicts; the kernel drops it when the owner
	 * dies. Shared openers share the lock and conflict with exclusive ones. */
	if (flock(pool->media.fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return errno == EWOULDBLOCK
			       ? ERR(-EBUSY, "pool %s is open elsewhere (in this or another process%s)",
				     pool->media.path,
				     shared ? ", not shared" : "; opened shared, or exclusive")
			       : ERR(-errno, "cannot lock %s", pool->media.path);
	return 0;
}

int daxmap_pool_open_opts(daxmap_pool **poolp, const char *path, const struct daxmap_pool_opts *opts)
{
	struct daxmap_pool_opts o;
	struct daxmap_pool *pool;
	int ret;

	if ((ret = pool_args(poolp, path, opts, &o)) < 0)
		return ret;
	if (!(pool = pool_alloc(path)))
		return ERR(-ENOMEM, "out of memory");
	pool->media.fd = open(path, O_RDWR | O_CLOEXEC);
	if (pool->media.fd < 0) {
		ret = ERR(-errno, "cannot open pool %s", path);
		goto out_free;
	}
	if ((ret = pool_open_here(pool)) < 0 || (ret = pool_lock_file(pool, o.shared)) < 0 ||
	    (ret = pool_start(pool, &o)) < 0)
		goto out_free;
	*poolp = pool;
	return 0;
out_free:
	pool_free(pool);
	return ret;
}

int daxmap_pool_open(daxmap_pool **pool, const char *path)
{
	return daxmap_pool_open_opts(pool, path, NULL);
}

/*
 * The new pool's file: unnamed (O_TMPFILE) in the directory of `path`, so
 * that a create killed half way leaves nothing at `path`; it gets its name
 * only once it is a whole pool (pool_create_publish). Where the file system
 * has no O_TMPFILE, the file is made at `path` with O_EXCL. *named says which.
 */
static int pool_create_file(const char *path, mode_t mode, int *named)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd;

	if (stat(path, &st) == 0)
		return ERR(-EEXIST, "cannot create pool %s: it exists", path);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return ERR(-ENAMETOOLONG, "pool path %s is too long", path);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd >= 0) {
		*named = 0;
		return fd;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return ERR(-errno, "cannot create pool %s", path);
	*named = 1;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	return fd >= 0 ? fd : ERR(-errno, "cannot create pool %s", path);
}

/* Gives the finished, durable pool file its name; -EEXIST if taken meanwhile. */
static int pool_create_publish(int fd, const char *path)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0)
		return ERR(-errno, "cannot create pool %s", path);
	return 0;
}

int daxmap_pool_create_opts(daxmap_pool **poolp, const char *path, uint64_t size, mode_t mode,
			    const struct daxmap_pool_opts *opts)
{
	struct daxmap_pool_opts o;
	struct daxmap_pool *pool;
	struct pool_hdr h;
	uint64_t meta, budget, max;
	int ret, rc, named = 1, blocks;

	if ((ret = pool_args(poolp, path, opts, &o)) < 0)
		return ret;
	if (!o.extent_size)
		o.extent_size = DAXMAP_DEFAULT_EXTENT_SIZE;
	if (!o.max_objects)
		o.max_objects = DAXMAP_DEFAULT_MAX_OBJECTS;
	if (o.extent_size < POOL_MIN_EXTENT || o.extent_size > POOL_MAX_EXTENT ||
	    (o.extent_size & (o.extent_size - 1)))
		return ERR(-EINVAL, "extent size %llu: must be a power of two from 4 KiB to 1 GiB",
			   (unsigned long long)o.extent_size);
	if (o.max_objects > POOL_MAX_OBJECTS)
		return ERR(-EINVAL, "max_objects %u: at most %u", o.max_objects, POOL_MAX_OBJECTS);
	if (size < DAXMAP_MIN_POOL_SIZE || size > POOL_MAX_SIZE)
		return ERR(-EINVAL, "pool size %llu: must be from %llu to %llu bytes",
			   (unsigned long long)size, (unsigned long long)DAXMAP_MIN_POOL_SIZE,
			   (unsigned long long)POOL_MAX_SIZE);
	max = o.max_size ? o.max_size : size;
	if (max < size || max > POOL_MAX_SIZE)
		return ERR(-EINVAL, "max_size %llu: must be from the pool's size %llu to %llu bytes",
			   (unsigned long long)max, (unsigned long long)size,
			   (unsigned long long)POOL_MAX_SIZE);
	if (o.grow_step && max == size)
		return ERR(-EINVAL, "grow_step needs a max_size larger than the pool's size");
	/* metadata budget of the brief: at most 1% of the pool plus 8 MiB; the
	 * object table alone may exceed it (then no extent fits either): blame
	 * the slots, not the extent size. A growable pool's metadata is laid
	 * out for its maximum, and must fit in its size too. */
	budget = size / 100 + (UINT64_C(8) << 20);
	if (POOL_OBJTAB_OFF + (uint64_t)o.max_objects * SLOT_SIZE > budget)
		return ERR(-EINVAL, "%u object slots need %llu bytes of object table, more than "
				    "1%% of a %llu-byte pool plus 8 MiB", o.max_objects,
			   (unsigned long long)(POOL_OBJTAB_OFF + (uint64_t)o.max_objects * SLOT_SIZE),
			   (unsigned long long)size);
	memset(&h, 0, sizeof(h));
	blocks = layout_blocks_fit(o.extent_size);
	if (layout_compute(&h, max, o.extent_size, o.max_objects, blocks) < 0)
		return ERR(-EINVAL, "pool size %llu holds no extent of %llu bytes",
			   (unsigned long long)max, (unsigned long long)o.extent_size);
	meta = h.data_off;
	if (max > size && meta + o.extent_size > size)
		return ERR(-EINVAL, "pool size %llu holds no extent of %llu bytes after the "
				    "%llu bytes of metadata a maximum of %llu needs",
			   (unsigned long long)size, (unsigned long long)o.extent_size,
			   (unsigned long long)meta, (unsigned long long)max);
	if (max > size)
		budget = max / 100 + (UINT64_C(8) << 20);
	if (meta > budget)
		return ERR(-EINVAL, "%u object slots need %llu bytes of metadata, more than 1%% "
				    "of a %llu-byte pool plus 8 MiB", o.max_objects,
			   (unsigned long long)meta, (unsigned long long)size);
	memcpy(h.magic, POOL_MAGIC, sizeof(h.magic));
	/* blocks need version 3; without them (extents below 128 KiB) a pool
	 * keeps the format older libraries read */
	h.version = blocks ? POOL_VERSION : max > size ? POOL_VERSION_GROW : POOL_VERSION_FIXED;
	if (h.version >= POOL_VERSION_GROW)
		h.cur_size = size;
	if (blocks && max > size)
		h.flags = POOL_F_GROWABLE;
	h.hdr_size = POOL_HDR_SIZE;
	h.create_time = (uint64_t)time(NULL);
	if (getrandom(h.uuid, sizeof(h.uuid), 0) != (ssize_t)sizeof(h.uuid))
		return ERR(-errno, "getrandom failed");
	h.checksum = layout_hdr_checksum(&h);

	if (!(pool = pool_alloc(path)))
		return ERR(-ENOMEM, "out of memory");
	pool->media.fd = pool_create_file(path, mode, &named);
	if (pool->media.fd < 0) {
		ret = pool->media.fd;
		goto out_free;
	}
	if ((ret = pool_lock_file(pool, o.shared)) < 0)
		goto out_unlink;
	/* fallocated space reads as zero, durably: every object slot is
	 * free, every extent is free and zeroed */
	if ((rc = posix_fallocate(pool->media.fd, 0, (off_t)size)) != 0) {
		ret = ERR(-rc, "cannot allocate %llu bytes for %s", (unsigned long long)size, path);
		goto out_unlink;
	}
	/* the header goes last: a crash before it leaves a file that is
	 * plainly not a pool (and with O_TMPFILE, no file at all) */
	if (pwrite(pool->media.fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    fsync(pool->media.fd) < 0) {
		ret = ERR(-errno ? -errno : -EIO, "cannot write the header of %s", path);
		goto out_unlink;
	}
	if (!named) {
		if ((ret = pool_create_publish(pool->media.fd, path)) < 0)
			goto out_free;
		named = 1;
	}
	if ((ret = pool_start(pool, &o)) < 0)
		goto out_unlink;
	*poolp = pool;
	return 0;
out_unlink:
	if (named)
		unlink(path);
out_free:
	pool_free(pool);
	return ret;
}

int daxmap_pool_create(daxmap_pool **pool, const char *path, uint64_t size, mode_t mode)
{
	return daxmap_pool_create_opts(pool, path, size, mode, NULL);
}

/* The file to new_size (> now, <= max), then the new extents to the allocator. */
static int pool_grow_locked(struct daxmap_pool *pool, uint64_t new_size) REQUIRES(pool->grow_lock)
{
	struct pool_media *md = &pool->media;
	uint64_t from = atomic_load(&md->npresent);
	int ret = media_grow(md, new_size);

	if (ret == 0) {
		alloc_grow(&pool->alloc, from, atomic_load(&md->npresent));
		counter_add(&pool->counters.grows, 1);
	}
	return ret;
}

/*
 * Automatic growth (alloc->grow), from an allocation that found the pool
 * full: by grow_step, up to the maximum, unless another thread grew it past
 * seen_size meanwhile. Takes pool->grow_lock (under the allocating object's
 * range and extents_lock), then the allocator's lock.
 */
static int pool_autogrow(void *arg, uint64_t seen_size)
{
	struct daxmap_pool *pool = arg;
	struct pool_media *md = &pool->media;
	uint64_t now, to;
	char sz[OUT_SIZE_MAX];
	int ret = 0;

	mutex_lock(&pool->grow_lock);
	now = atomic_load(&md->size);
	to = md->mapped_len - now > pool->grow_step ? now + pool->grow_step : md->mapped_len;
	if (now == seen_size && now >= md->mapped_len)
		ret = ERR(-ENOSPC, "pool %s is full at its maximum size %s (max_size)", md->path,
			  out_size(sz, md->mapped_len));
	else if (now == seen_size && (ret = pool_grow_locked(pool, to)) < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", daxmap_errormsg());
		ret = ERR(-ENOSPC, "pool %s is full and could not grow: %s", md->path, why);
	}
	mutex_unlock(&pool->grow_lock);
	return ret;
}

/* takes pool->grow_lock, then the allocator's lock (alloc_grow) */
int daxmap_pool_grow(daxmap_pool *pool, uint64_t new_size)
{
	struct pool_media *md;
	uint64_t old;
	int ret = 0;

	if ((ret = pool_usable(pool)) < 0)
		return ret;
	md = &pool->media;
	if (!md->growable)
		return ERR(-EINVAL, "pool %s cannot grow: it was created without a max_size "
				    "larger than its size", md->path);
	if (pool->shared.run)
		return ERR(-EOPNOTSUPP, "pool %s is open shared: it cannot grow (yet)", md->path);
	mutex_lock(&pool->grow_lock);
	old = atomic_load(&md->size);
	if (new_size < old)
		ret = ERR(-EINVAL, "pool %s has %llu bytes: %llu would shrink it", md->path,
			  (unsigned long long)old, (unsigned long long)new_size);
	else if (new_size > md->mapped_len)
		ret = ERR(-EINVAL, "pool %s can grow to %llu bytes at most (its max_size), not %llu",
			  md->path, (unsigned long long)md->mapped_len,
			  (unsigned long long)new_size);
	else if (new_size > old)
		ret = pool_grow_locked(pool, new_size);
	mutex_unlock(&pool->grow_lock);
	return ret;
}

int daxmap_pool_close(daxmap_pool *pool)
{
	uint64_t opens, maps;

	if (!pool)
		return 0;
	if (pool->media.forked)
		return ERR(-EINVAL, "pool handle %s was inherited across fork()", pool->media.path);
	object_busy_counts(&pool->objtab, &opens, &maps);
	if (opens || maps)
		return ERR(-EBUSY, "pool %s still has %llu open objects and %llu mappings",
			   pool->media.path, (unsigned long long)opens, (unsigned long long)maps);
	mutex_lock(&pools_lock);
	for (struct daxmap_pool **pp = &open_pools; *pp; pp = &(*pp)->next_open)
		if (*pp == pool) {
			*pp = pool->next_open;
			break;
		}
	mutex_unlock(&pools_lock);
	pool_free(pool);
	return 0;
}

/* The whole of this library's struct daxmap_pool_stat; the caller's may be smaller. */
static int pool_stat_fill(daxmap_pool *pool, struct daxmap_pool_stat *st)
{
	const struct pool_media *md;
	struct pool_counters *c;
	uint64_t nfree, ndirty, nwarm;
	int ret;

	if ((ret = pool_usable(pool)) < 0)
		return ret;
	memset(st, 0, sizeof(*st));
	md = &pool->media;
	c = &pool->counters;
	/* a split or a give-back of an extent between the two allocators'
	 * counts would show it split and free, or in neither: the block
	 * counts before and after must agree (the two locks are never held
	 * together) */
	uint64_t b_free = 0, b_dirty = 0, b_warm = 0, b_split = 0, again = 0;
	int blocks = pool->objtab.alloc_blk != NULL; /* (none in a pool opened shared) */
	for (int tries = 0; tries < 100; tries++) {
		if (blocks)
			alloc_counts(&pool->alloc_blk, &b_free, &b_dirty, &b_warm, &b_split);
		alloc_counts(&pool->alloc, &nfree, &ndirty, &nwarm, NULL);
		if (!blocks)
			break;
		alloc_counts(&pool->alloc_blk, &b_free, &b_dirty, &b_warm, &again);
		if (again == b_split)
			break;
	}
	st->size = atomic_load(&md->size);
	st->data_size = atomic_load(&md->npresent) * md->extent_size;
	st->extent_size = md->extent_size;
	st->free = nfree * md->extent_size;
	st->free_unzeroed = ndirty * md->extent_size;
	st->used = st->data_size - st->free;
	st->objects = object_live_count(&pool->objtab);
	st->max_objects = md->max_objects;
	st->mappings = atomic_load(&c->nmappings);
	st->fault_threads = pool->fault.nthreads;
	st->is_pmem = md->is_pmem;
	st->user_mode_only = pool->uffd.user_mode_only;
	st->faults = atomic_load(&c->faults);
	st->faults_write = atomic_load(&c->faults_write);
	st->faults_hole_read = atomic_load(&c->faults_hole_read);
	st->faults_sigbus = atomic_load(&c->faults_sigbus);
	st->faults_noop = atomic_load(&c->faults_noop);
	st->extents_allocated = atomic_load(&c->extents_allocated);
	st->extents_freed = atomic_load(&c->extents_freed);
	st->bytes_zeroed_fault = atomic_load(&c->bytes_zeroed_fault);
	st->bytes_zeroed_background = atomic_load(&c->bytes_zeroed_background);
	for (int i = 0; i < DAXMAP_LAT_BUCKETS; i++)
		st->latency_ns_log2[i] = atomic_load(&c->latency[i]);
	/* blocks learn it on their own (their first punch): both must detach */
	st->free_detaches = atomic_load(&md->detach) && (!md->blk || atomic_load(&md->blk->detach));
	st->bytes_detached = atomic_load(&c->bytes_detached);
	st->free_warm = nwarm * md->extent_size;
	st->bytes_warmed = atomic_load(&c->bytes_warmed);
	st->extents_warm = atomic_load(&c->extents_warm);
	st->extents_cold = atomic_load(&c->extents_cold);
	st->bytes_mapped_known = atomic_load(&c->bytes_mapped_known);
	st->max_size = md->mapped_len;
	st->grows = atomic_load(&c->grows);
	if (blocks) {
		const struct pool_counters *b = &pool->counters_blk;
		uint64_t nsplit = b_split;
		nfree = b_free;
		ndirty = b_dirty;
		st->block_size = md->blk->extent_size;
		st->blocks_split = nsplit * md->extent_size;
		st->blocks_used = st->blocks_split - nfree * md->blk->extent_size;
		st->blocks_allocated = atomic_load(&b->extents_allocated);
		st->blocks_freed = atomic_load(&b->extents_freed);
		st->blocks_unzeroed = ndirty * md->blk->extent_size;
	}
	return 0;
}

/*
 * The struct of libdaxmap 0.1, the smallest a caller may have: the struct
 * grows at its end only, so these bytes keep their layout for good.
 */
#define POOL_STAT_SIZE_0_1                                                                         \
	(offsetof(struct daxmap_pool_stat, latency_ns_log2) +                                      \
	 sizeof(((struct daxmap_pool_stat *)0)->latency_ns_log2))
_Static_assert(POOL_STAT_SIZE_0_1 == 416, "the fields of libdaxmap 0.1's daxmap_pool_stat moved");

/*
 * A program built with an older header passes its smaller size and gets
 * that prefix; one built with a newer header than this library gets zeros
 * for the fields this library does not know.
 */
int daxmap_pool_stat_sized(daxmap_pool *pool, struct daxmap_pool_stat *st, size_t st_size)
{
	struct daxmap_pool_stat all;
	int ret;

	if (!st)
		return ERR(-EINVAL, "stat is NULL");
	if (st_size < POOL_STAT_SIZE_0_1)
		return ERR(-EINVAL, "stat size %zu is smaller than the %zu bytes of the first "
				    "struct daxmap_pool_stat", st_size, (size_t)POOL_STAT_SIZE_0_1);
	if ((ret = pool_stat_fill(pool, &all)) < 0)
		return ret;
	memcpy(st, &all, st_size < sizeof(all) ? st_size : sizeof(all));
	if (st_size > sizeof(all))
		memset((char *)st + sizeof(all), 0, st_size - sizeof(all));
	return 0;
}

int daxmap_pool_list(daxmap_pool *pool, int (*cb)(const char *name, uint64_t size, void *arg),
		     void *arg)
{
	int ret;

	if ((ret = pool_usable(pool)) < 0)
		return ret;
	if (!cb)
		return ERR(-EINVAL, "callback is NULL");
	return object_list(&pool->objtab, cb, arg);
}

int daxmap_obj_open(daxmap_obj **objp, daxmap_pool *pool, const char *name, int flags)
{
	int ret;

	if (!objp)
		return ERR(-EINVAL, "obj is NULL");
	*objp = NULL;
	if ((ret = pool_usable(pool)) < 0)
		return ret;
	return object_open(&pool->objtab, objp, name, flags);
}

int daxmap_obj_unlink(daxmap_pool *pool, const char *name)
{
	int ret;

	if ((ret = pool_usable(pool)) < 0 || (ret = object_unlink(&pool->objtab, name)) < 0)
		return ret;
	fault_retry_errors(&pool->fault); /* space came back: failed faults may succeed now */
	return 0;
}

#ifdef DAXMAP_INJECT
void daxmap_inject_clear(daxmap_pool *pool)
{
	inject_disarm_all();
	if (pool)
		fault_retry_errors(&pool->fault);
}
#endif
