/* Pool files: create, open (header checks, recovery), close, stat, list. */
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

#include "alloc.h"
#include "crashtest.h"
#include "fault.h"
#include "log.h"
#include "map.h"
#include "object.h"
#include "out.h"

/* protects: the list of open pools (fork handling walks it) */
static struct dm_mutex pools_lock = MUTEX_INITIALIZER(lockclass_pools_lock);
static struct daxmap_pool *open_pools GUARDED_BY(pools_lock);
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

uint64_t layout_checksum(const void *buf, uint64_t len)
{
	/* Fletcher-64 over 32-bit words; a trailing partial word is zero-padded */
	const unsigned char *p = buf;
	uint64_t lo = 0, hi = 0;

	for (uint64_t i = 0; i < len; i += 4) {
		uint32_t w = 0;
		memcpy(&w, p + i, len - i >= 4 ? 4 : (size_t)(len - i));
		lo += w;
		hi += lo;
	}
	return (hi << 32) | (lo & 0xffffffffu);
}

void pool_persist(struct daxmap_pool *pool, const void *addr, size_t len)
{
	crashtest_persist(pool, addr, len); /* a persistence point (crash-test builds) */
	if (pool->is_pmem)
		pmem_persist(addr, len);
	else if (pmem_msync(addr, len) < 0)
		LOG(OUT_ERROR, "msync of pool %s failed: %s", pool->path, strerror(errno));
}

void pool_zero_persist(struct daxmap_pool *pool, void *addr, size_t len)
{
	if (pool->is_pmem && !crashtest_hooked()) {
		pmem_memset_persist(addr, 0, len);
	} else {
		/* non-temporal stores: zeroing megabytes through the cache
		 * costs several times more and evicts the application's data */
		pmem_memset(addr, 0, len, PMEM_F_MEM_NONTEMPORAL);
		pool_persist(pool, addr, len);
	}
}

int pool_check(struct daxmap_pool *pool)
{
	if (!pool)
		return ERR(-EINVAL, "pool handle is NULL");
	if (pool->forked)
		return ERR(-EINVAL, "pool handle %s was inherited across fork(): it is not usable "
				    "in the child", pool->path);
	return 0;
}

void daxmap_pool_opts_init(struct daxmap_pool_opts *opts)
{
	if (opts)
		memset(opts, 0, sizeof(*opts));
}

/* Where each part goes for a pool of this size: computed, never trusted from the file. */
static int layout_compute(struct pool_hdr *h, uint64_t size, uint64_t extent, uint32_t max_objects)
{
	uint64_t objtab = (uint64_t)max_objects * SLOT_SIZE, exttab_off, n, data_off;

	exttab_off = POOL_OBJTAB_OFF + ((objtab + 4095) & ~UINT64_C(4095));
	if (exttab_off >= size)
		return -1;
	n = (size - exttab_off) / (extent + sizeof(uint64_t));
	for (;;) {
		uint64_t end = exttab_off + n * sizeof(uint64_t);
		data_off = (end + POOL_DATA_ALIGN - 1) & ~(POOL_DATA_ALIGN - 1);
		if (data_off <= size && n <= (size - data_off) / extent)
			break;
		if (n == 0)
			return -1;
		n--;
	}
	if (n == 0)
		return -1;
	h->pool_size = size;
	h->extent_size = extent;
	h->max_objects = max_objects;
	h->objtab_off = POOL_OBJTAB_OFF;
	h->exttab_off = exttab_off;
	h->data_off = data_off;
	h->nextents = n;
	return 0;
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
	if (o->fault_threads > 64)
		return ERR(-EINVAL, "fault_threads %u: at most 64", o->fault_threads);
	return 0;
}

int pool_hdr_check(const struct pool_hdr *h, uint64_t file_size, const char *path)
{
	struct pool_hdr want;
	const uint8_t *r = h->reserved;

	if (memcmp(h->magic, POOL_MAGIC, sizeof(h->magic)) != 0)
		return ERR(-EINVAL, "%s is not a daxmap pool (bad magic)", path);
	if (h->version > POOL_VERSION)
		return ERR(-EPROTONOSUPPORT, "%s: pool version %u is newer than this library's %u",
			   path, h->version, POOL_VERSION);
	if (h->checksum != layout_checksum(h, offsetof(struct pool_hdr, checksum)))
		return ERR(-EUCLEAN, "%s: pool header checksum mismatch at offset %zu", path,
			   offsetof(struct pool_hdr, checksum));
	if (h->version != POOL_VERSION || h->hdr_size != POOL_HDR_SIZE || h->flags != 0)
		return ERR(-EUCLEAN, "%s: bad version, header size or flags in the header", path);
	for (size_t i = 0; i < sizeof(h->reserved); i++)
		if (r[i])
			return ERR(-EUCLEAN, "%s: reserved header byte at offset %zu is not zero",
				   path, offsetof(struct pool_hdr, reserved) + i);
	if (h->pool_size != file_size)
		return ERR(-EUCLEAN, "%s: header says %llu bytes but the file has %llu "
				     "(truncated or extended copy?)", path,
			   (unsigned long long)h->pool_size, (unsigned long long)file_size);
	if (h->extent_size < POOL_MIN_EXTENT || h->extent_size > POOL_MAX_EXTENT ||
	    (h->extent_size & (h->extent_size - 1)) || h->max_objects == 0 ||
	    h->max_objects > POOL_MAX_OBJECTS)
		return ERR(-EUCLEAN, "%s: bad extent size or object count in the header", path);
	memset(&want, 0, sizeof(want));
	if (layout_compute(&want, h->pool_size, h->extent_size, h->max_objects) < 0 ||
	    want.objtab_off != h->objtab_off || want.exttab_off != h->exttab_off ||
	    want.data_off != h->data_off || want.nextents != h->nextents)
		return ERR(-EUCLEAN, "%s: header layout does not match its sizes", path);
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
		p->forked = 1;
		close(p->fd);
		if (p->fault.uffd >= 0)
			close(p->fault.uffd);
		if (p->fault.stop_fd >= 0)
			close(p->fault.stop_fd);
		if (p->fault.kick_fd >= 0)
			close(p->fault.kick_fd);
		p->fd = p->fault.uffd = p->fault.stop_fd = p->fault.kick_fd = -1;
	}
	open_pools = NULL;
	mutex_reinit_child(&pools_lock);
}

static void pool_atfork_install(void)
{
	pthread_atfork(pool_atfork_prepare, pool_atfork_parent, pool_atfork_child);
}

static void pool_free(struct daxmap_pool *pool)
{
	if (pool->fault.uffd >= 0 || pool->fault.stop_fd >= 0 || pool->fault.threads)
		fault_stop(pool);
	alloc_stop_zeroer(pool);
	object_unload(pool);
	if (pool->alloc.free_zeroed)
		alloc_fini(pool);
	if (pool->log.records)
		log_fini(pool);
	if (pool->base)
		pmem_unmap(pool->base, pool->mapped_len);
	if (pool->fd >= 0)
		close(pool->fd);
	free(pool->path);
	free(pool);
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2u : (n > 16 ? 16u : (unsigned)n);
}

/* Maps, validates and brings up a pool whose file is open and locked as pool->fd. */
static int pool_start(struct daxmap_pool *pool, const struct daxmap_pool_opts *o)
{
	struct stat st;
	struct pool_hdr h;
	ssize_t n;
	int ret;

	if (fstat(pool->fd, &st) < 0)
		return ERR(-errno, "cannot stat %s", pool->path);
	if (!S_ISREG(st.st_mode))
		return ERR(-EINVAL, "%s is not a regular file", pool->path);
	if ((uint64_t)st.st_size < POOL_HDR_SIZE)
		return ERR(-EINVAL, "%s is not a daxmap pool: %lld bytes is smaller than a pool "
				    "header", pool->path, (long long)st.st_size);
	n = pread(pool->fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h))
		return ERR(n < 0 ? -errno : -EIO, "cannot read the header of %s", pool->path);
	if ((ret = pool_hdr_check(&h, (uint64_t)st.st_size, pool->path)) < 0)
		return ret;

	pool->base = pmem_map_file(pool->path, 0, 0, 0, &pool->mapped_len, &pool->is_pmem);
	if (!pool->base)
		return ERR(errno ? -errno : -EIO, "pmem_map_file(%s) failed: %s", pool->path,
			   pmem_errormsg());
	if (pool->mapped_len != h.pool_size)
		return ERR(-EUCLEAN, "%s changed size while opening", pool->path);
	madvise(pool->base, pool->mapped_len, MADV_DONTFORK);
	pool->hdr = (struct pool_hdr *)pool->base;
	if (memcmp(pool->hdr, &h, sizeof(h)) != 0)
		return ERR(-EUCLEAN, "%s: header changed while opening", pool->path);
	pool->slots = (struct obj_slot *)(pool->base + h.objtab_off);
	pool->exttab = (uint64_t *)(pool->base + h.exttab_off);
	pool->data_off = h.data_off;
	pool->extent_size = h.extent_size;
	pool->extent_shift = (unsigned)__builtin_ctzll(h.extent_size);
	pool->nextents = h.nextents;
	pool->max_objects = h.max_objects;

	if ((ret = log_load(pool)) < 0 || (ret = object_load(pool)) < 0 ||
	    (ret = alloc_init(pool)) < 0)
		return ret;
	/* finish what a crash interrupted: logged operations, then unlinks
	 * and extents past EOF */
	if ((ret = log_replay(pool)) < 0)
		return ret;
	object_recover(pool);
	if ((ret = alloc_start_zeroer(pool)) < 0)
		return ret;
	if (o->prefault) {
		/* fault in every data page now (on tmpfs this is where a
		 * fallocated page gets zeroed), so first touches only map */
		if (madvise(pool->base + pool->data_off, pool->mapped_len - pool->data_off,
			    MADV_POPULATE_READ) < 0)
			LOG(OUT_WARN, "prefault of %s failed: %s", pool->path, strerror(errno));
	}
	pool->fault.nthreads = o->fault_threads ? o->fault_threads : default_threads();
	if ((ret = fault_open(pool)) < 0)
		return ret;
	if ((ret = fault_start(pool)) < 0)
		return ret;

	pthread_once(&atfork_once, pool_atfork_install);
	mutex_lock(&pools_lock);
	pool->next_open = open_pools;
	open_pools = pool;
	mutex_unlock(&pools_lock);
	return 0;
}

static struct daxmap_pool *pool_alloc(const char *path)
{
	struct daxmap_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->fd = -1;
	pool->fault.uffd = pool->fault.stop_fd = pool->fault.kick_fd = -1;
	pool->path = strdup(path);
	if (!pool->path) {
		free(pool);
		return NULL;
	}
	return pool;
}

static int pool_lock_file(struct daxmap_pool *pool)
{
	/* flock belongs to the open file description: a second open, in this
	 * process or another, conflicts; the kernel drops it when the owner dies */
	if (flock(pool->fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK
			       ? ERR(-EBUSY, "pool %s is open elsewhere (in this or another process)",
				     pool->path)
			       : ERR(-errno, "cannot lock %s", pool->path);
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
	pool->fd = open(path, O_RDWR | O_CLOEXEC);
	if (pool->fd < 0) {
		ret = ERR(-errno, "cannot open pool %s", path);
		goto out_free;
	}
	if ((ret = pool_lock_file(pool)) < 0 || (ret = pool_start(pool, &o)) < 0)
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
	uint64_t meta;
	int ret, rc, named = 1;

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
	memset(&h, 0, sizeof(h));
	if (layout_compute(&h, size, o.extent_size, o.max_objects) < 0)
		return ERR(-EINVAL, "pool size %llu holds no extent of %llu bytes",
			   (unsigned long long)size, (unsigned long long)o.extent_size);
	/* metadata budget of the brief: at most 1% of the pool plus 8 MiB */
	meta = h.data_off;
	if (meta > size / 100 + (UINT64_C(8) << 20))
		return ERR(-EINVAL, "%u object slots need %llu bytes of metadata, more than 1%% "
				    "of a %llu-byte pool plus 8 MiB", o.max_objects,
			   (unsigned long long)meta, (unsigned long long)size);
	memcpy(h.magic, POOL_MAGIC, sizeof(h.magic));
	h.version = POOL_VERSION;
	h.hdr_size = POOL_HDR_SIZE;
	h.create_time = (uint64_t)time(NULL);
	if (getrandom(h.uuid, sizeof(h.uuid), 0) != (ssize_t)sizeof(h.uuid))
		return ERR(-errno, "getrandom failed");
	h.checksum = layout_checksum(&h, offsetof(struct pool_hdr, checksum));

	if (!(pool = pool_alloc(path)))
		return ERR(-ENOMEM, "out of memory");
	pool->fd = pool_create_file(path, mode, &named);
	if (pool->fd < 0) {
		ret = pool->fd;
		goto out_free;
	}
	if ((ret = pool_lock_file(pool)) < 0)
		goto out_unlink;
	/* fallocated space reads as zero, durably: every object slot is
	 * free, every extent is free and zeroed */
	if ((rc = posix_fallocate(pool->fd, 0, (off_t)size)) != 0) {
		ret = ERR(-rc, "cannot allocate %llu bytes for %s", (unsigned long long)size, path);
		goto out_unlink;
	}
	/* the header goes last: a crash before it leaves a file that is
	 * plainly not a pool (and with O_TMPFILE, no file at all) */
	if (pwrite(pool->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(pool->fd) < 0) {
		ret = ERR(-errno ? -errno : -EIO, "cannot write the header of %s", path);
		goto out_unlink;
	}
	if (!named) {
		if ((ret = pool_create_publish(pool->fd, path)) < 0)
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

int daxmap_pool_close(daxmap_pool *pool)
{
	uint64_t opens, maps;

	if (!pool)
		return 0;
	if (pool->forked)
		return ERR(-EINVAL, "pool handle %s was inherited across fork()", pool->path);
	object_busy_counts(pool, &opens, &maps);
	if (opens || maps)
		return ERR(-EBUSY, "pool %s still has %llu open objects and %llu mappings",
			   pool->path, (unsigned long long)opens, (unsigned long long)maps);
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

int daxmap_pool_stat(daxmap_pool *pool, struct daxmap_pool_stat *st)
{
	struct pool_counters *c;
	uint64_t nfree, ndirty;
	int ret;

	if ((ret = pool_check(pool)) < 0)
		return ret;
	if (!st)
		return ERR(-EINVAL, "stat is NULL");
	memset(st, 0, sizeof(*st));
	alloc_counts(pool, &nfree, &ndirty);
	c = &pool->counters;
	st->size = pool->mapped_len;
	st->data_size = pool->nextents * pool->extent_size;
	st->extent_size = pool->extent_size;
	st->free = nfree * pool->extent_size;
	st->free_unzeroed = ndirty * pool->extent_size;
	st->used = st->data_size - st->free;
	mutex_lock(&pool->objtab.lock);
	st->objects = pool->objtab.live;
	mutex_unlock(&pool->objtab.lock);
	st->max_objects = pool->max_objects;
	st->mappings = atomic_load(&pool->nmappings);
	st->fault_threads = pool->fault.nthreads;
	st->is_pmem = pool->is_pmem;
	st->user_mode_only = pool->fault.user_mode_only;
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
	return 0;
}

int daxmap_pool_list(daxmap_pool *pool, int (*cb)(const char *name, uint64_t size, void *arg),
		     void *arg)
{
	int ret;

	if ((ret = pool_check(pool)) < 0)
		return ret;
	if (!cb)
		return ERR(-EINVAL, "callback is NULL");
	/* names are copied out under the lock; the callback runs without it
	 * (it may open, close or unlink objects) */
	for (uint32_t i = 0; i < pool->max_objects && ret == 0; i++) {
		char name[DAXMAP_MAX_NAME + 1];
		uint64_t size = 0;
		int live = 0;

		mutex_lock(&pool->objtab.lock);
		struct daxmap_obj *obj = pool->objtab.objs[i];
		if (obj && !obj->dying) {
			const struct obj_slot *s = &pool->slots[i];
			memcpy(name, s->name, s->name_len);
			name[s->name_len] = 0;
			size = atomic_load(&obj->size);
			live = 1;
		}
		mutex_unlock(&pool->objtab.lock);
		if (live)
			ret = cb(name, size, arg);
	}
	return ret;
}
