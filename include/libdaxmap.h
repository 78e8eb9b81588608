/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libdaxmap - DAX fault semantics in user space, on a persistent-memory pool.
 *
 * A pool is one file mapped whole with libpmem. It holds objects: named,
 * sized, sparse byte ranges, each with an extent map. daxmap_map() places a
 * range of an object in the address space; nothing is allocated until a page
 * is touched. The first touch is caught with userfaultfd: the library takes a
 * zeroed extent from the pool, records it durably and maps the pool's own
 * pages at the faulting address. Loads and stores then go straight to the
 * pool.
 *
 * Conventions: every function returns 0 (or a documented non-negative value)
 * on success and a negative errno value on failure; daxmap_errormsg() then
 * says what failed and where. Nothing here installs a signal handler: SIGBUS
 * for an access past EOF or a fault that could not be resolved reaches the
 * application's own handler (si_code BUS_ADRERR, si_addr the faulting
 * address).
 *
 * Compatibility: a struct the library fills or reads keeps its layout.
 * struct daxmap_pool_stat may grow, at its end only (daxmap_pool_stat()
 * passes its size); struct daxmap_pool_opts and struct daxmap_pool_info
 * keep their size and may give their reserved fields a meaning (zero means
 * what it means today). struct daxmap_region does not change.
 *
 * This header is self-contained and may be included before any other.
 */
#ifndef LIBDAXMAP_H
#define LIBDAXMAP_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAXMAP_MAJOR_VERSION 0
#define DAXMAP_MINOR_VERSION 1

/* Largest object size and largest mapped offset + length: 64 TiB. */
#define DAXMAP_MAX_OBJ_SIZE (UINT64_C(1) << 46)
/* Longest object name in bytes, without the terminating NUL. */
#define DAXMAP_MAX_NAME 199
/* Smallest pool file accepted by daxmap_pool_create(). */
#define DAXMAP_MIN_POOL_SIZE (UINT64_C(16) << 20)
/* Default extent size: 2 MiB, the size of one PMD mapping on x86-64. */
#define DAXMAP_DEFAULT_EXTENT_SIZE (UINT64_C(2) << 20)
/* Default number of object slots of a new pool. */
#define DAXMAP_DEFAULT_MAX_OBJECTS 4096u

/* Flags of daxmap_obj_open(). */
#define DAXMAP_CREATE 0x1 /* create the object if it does not exist */
#define DAXMAP_EXCL 0x2   /* with DAXMAP_CREATE: fail with -EEXIST if it exists */
/* with DAXMAP_CREATE: an object it creates is made of 64 KiB blocks instead of
 * extents (small objects, journals: space in 64 KiB steps; mapped in 64 KiB
 * pieces, never with PMD mappings). No effect on an existing object, nor in
 * a pool without blocks (created by libdaxmap 0.1, or with extents below
 * 128 KiB). */
#define DAXMAP_SMALL 0x4

/* Protection of daxmap_map(): PROT_READ, or PROT_READ|PROT_WRITE. */
#define DAXMAP_PROT_READ 0x1  /* equal to PROT_READ */
#define DAXMAP_PROT_WRITE 0x2 /* equal to PROT_WRITE */

#if defined(__GNUC__)
#define DAXMAP_API __attribute__((visibility("default")))
#else
#define DAXMAP_API
#endif

typedef struct daxmap_pool daxmap_pool;
typedef struct daxmap_obj daxmap_obj;

/*
 * Options of a pool, chosen at create (extent_size, max_objects) or at each
 * open (prefault, fault_threads). Fill with daxmap_pool_opts_init() and change
 * what you need; zero in a field means "the default".
 */
struct daxmap_pool_opts {
	uint64_t extent_size;   /* power of two, 4 KiB .. 1 GiB; default 2 MiB */
	uint32_t max_objects;   /* object slots, 1 .. 4M; default 4096 */
	uint32_t fault_threads; /* fault-handler threads; default: online CPUs, at least 2 */
	int prefault;           /* 1: touch every page of the pool at open, before it
	                           returns, so first touches do not pay the kernel's
	                           lazy page allocation */
	int warm;               /* free space kept warm (its pages instantiated) by a
	                           background thread ahead of where allocations head,
	                           from create or open on: DAXMAP_WARM_ALL, DAXMAP_WARM_OFF
	                           or a window of that many MiB. 0 means the whole pool
	                           on tmpfs, nothing on pmem (no page cache to warm) and
	                           a 1024 MiB window elsewhere */
	uint64_t max_size;      /* at create: the size daxmap_pool_grow may grow the
	                           pool to. 0 (the default) or the size itself: the size
	                           is fixed. Costs 8 bytes of extent table per extent of
	                           the maximum (0.4 MiB per 100 GiB of 2 MiB extents)
	                           and that much address space while open */
	uint64_t grow_step;     /* at create and open: when an allocation finds the pool
	                           full, grow it by this much (rounded up to extents),
	                           up to max_size, instead of failing. 0 (the default):
	                           no automatic growth */
	int shared;             /* at create and open: 1 to share the pool with other
	                           processes that open it shared, several openers at
	                           once as processes share a file on fs-dax. 0 (the
	                           default): exclusive, one opener at a time. The two
	                           kinds conflict (-EBUSY). See daxmap_pool_open(3) */
	int reserved_[1];       /* must be zero */
};

/* Values of daxmap_pool_opts.warm besides a window in MiB. */
#define DAXMAP_WARM_OFF (-1)
#define DAXMAP_WARM_ALL (-2)

/* Sets every option to its default. */
DAXMAP_API void daxmap_pool_opts_init(struct daxmap_pool_opts *opts);

/*
 * Creates a pool file of `size` bytes at `path` (which must not exist) with
 * the given permission bits, and opens it. opts may be NULL for defaults.
 * Errors: -EINVAL (bad size or options), -EEXIST, -ENOSPC (file system full),
 * -EACCES, -EBUSY, -ENOSYS/-EPERM (userfaultfd unavailable: the message names
 * the fix), other errno values from the file system.
 */
DAXMAP_API int daxmap_pool_create_opts(daxmap_pool **pool, const char *path, uint64_t size,
			    mode_t mode, const struct daxmap_pool_opts *opts);
/* daxmap_pool_create_opts() with default options. */
DAXMAP_API int daxmap_pool_create(daxmap_pool **pool, const char *path, uint64_t size, mode_t mode);

/*
 * Opens an existing pool. Every byte of its header is validated.
 * A pool is open in one process at a time (opts->shared 0), or in up to 64
 * processes that all open it shared (1); the lock goes away when its owner
 * exits or dies. Errors: -ENOENT, -EACCES, -EBUSY (open elsewhere, or
 * already open in this process), -EUSERS (64 shared openers already),
 * -EOPNOTSUPP (shared: the pool has objects made of blocks), -EINVAL (not
 * a daxmap pool, bad options),
 * -EUCLEAN (pool damaged: header checksum, sizes or metadata inconsistent),
 * -EPROTONOSUPPORT (pool version from a newer libdaxmap), -ENOSYS/-EPERM
 * (userfaultfd unavailable).
 */
DAXMAP_API int daxmap_pool_open_opts(daxmap_pool **pool, const char *path,
			  const struct daxmap_pool_opts *opts);
/* daxmap_pool_open_opts() with default options. */
DAXMAP_API int daxmap_pool_open(daxmap_pool **pool, const char *path);

/*
 * Closes a pool. Every object must be closed and every mapping unmapped
 * first, else -EBUSY and the pool stays open. NULL is accepted (returns 0).
 */
DAXMAP_API int daxmap_pool_close(daxmap_pool *pool);

/*
 * Grows the pool file to new_size bytes while objects are open, mapped and
 * faulting: no address changes (the pool is mapped inside a reservation of
 * its maximum size), and the new space is free and zeroed at once. Durable
 * on return; a crash at any point leaves the old size or the new one.
 * Errors: -EINVAL (NULL, smaller than now, beyond the pool's max_size, or a
 * pool created without one), -ENOSPC (the file system is full: nothing
 * changed), -EIO.
 */
DAXMAP_API int daxmap_pool_grow(daxmap_pool *pool, uint64_t new_size);

/* Number of buckets of the fault latency histogram. */
#define DAXMAP_LAT_BUCKETS 32

struct daxmap_pool_stat {
	uint64_t size;             /* pool file size */
	uint64_t data_size;        /* bytes available to extents */
	uint64_t extent_size;
	uint64_t used;             /* bytes in allocated extents */
	uint64_t free;             /* bytes in free extents (zeroed or not) */
	uint64_t free_unzeroed;    /* free bytes still waiting to be zeroed */
	uint64_t objects;          /* live objects */
	uint64_t max_objects;
	uint64_t mappings;         /* live mappings */
	uint64_t fault_threads;
	int is_pmem;               /* 1: persistence is cache flushes, 0: msync */
	int user_mode_only;        /* 1: userfaultfd handles user-mode faults only */
	/* counters since open */
	uint64_t faults;           /* fault messages handled */
	uint64_t faults_write;     /* resolved by mapping pool pages (write, or read of data) */
	uint64_t faults_hole_read; /* reads of holes resolved with zeros, nothing allocated */
	uint64_t faults_sigbus;    /* faults answered with SIGBUS (past EOF, errors) */
	uint64_t faults_noop;      /* already resolved by another thread: woken only */
	uint64_t extents_allocated;
	uint64_t extents_freed;
	uint64_t bytes_zeroed_fault;      /* freed bytes made zero on the fault path (no zeroed
	                                     extent was left): detached or zeroed in place */
	uint64_t bytes_zeroed_background; /* freed bytes made zero by the background zeroer */
	/* fault latency (message read to wake), log2 buckets: bucket i counts
	 * faults that took [2^i, 2^(i+1)) nanoseconds */
	uint64_t latency_ns_log2[DAXMAP_LAT_BUCKETS];
	/* freed space and warmth (appended: the struct only grows at its end) */
	int free_detaches;         /* 1: freed extents leave the pool file (a punched
	                              hole), so a page the kernel still holds (a pipe,
	                              an io_uring buffer, direct I/O) never reaches the
	                              next owner. 0: the file system cannot punch, and
	                              freed extents are zeroed in place */
	int reserved_stat_;        /* zero */
	uint64_t bytes_detached;   /* freed bytes whose pages left the file */
	uint64_t free_warm;        /* free bytes whose pages are instantiated */
	uint64_t bytes_warmed;     /* free bytes the background thread warmed */
	uint64_t extents_warm;     /* allocations that took a warm extent */
	uint64_t extents_cold;     /* allocations that took a cold one (its pages were
	                              instantiated inside the fault) */
	uint64_t bytes_mapped_known; /* bytes of allocated extents that daxmap_map
	                                mapped at once: touching them took no fault */
	uint64_t max_size;         /* the size the pool may grow to (daxmap_pool_grow),
	                              or size itself when it cannot grow */
	uint64_t grows;            /* grows since open: daxmap_pool_grow and automatic */
	uint64_t block_size;       /* 64 KiB, or 0 in a pool without blocks */
	uint64_t blocks_split;     /* bytes of extents split into blocks (in used) */
	uint64_t blocks_used;      /* bytes of them in allocated blocks */
	uint64_t blocks_allocated; /* block allocations since open */
	uint64_t blocks_freed;     /* blocks freed since open */
	uint64_t blocks_unzeroed;  /* bytes of freed blocks still waiting to be zeroed */
};

/*
 * Fills the first st_size bytes of *st with the pool's figures; nothing
 * past them is written. struct daxmap_pool_stat grows at its end in later
 * versions, never changing a field: a program built with an older header
 * passes its smaller size and gets the fields it knows; one built with a
 * newer header than the library's gets 0 in the fields the library does not
 * know. Call it as daxmap_pool_stat(pool, &st), which passes the size of
 * the struct the program was compiled with. Errors: -EINVAL (NULL, pool
 * inherited across fork, st_size smaller than the struct of libdaxmap 0.1).
 */
DAXMAP_API int daxmap_pool_stat_sized(daxmap_pool *pool, struct daxmap_pool_stat *st,
				      size_t st_size);
#define daxmap_pool_stat(pool, st)                                                                 \
	daxmap_pool_stat_sized((pool), (st), sizeof(struct daxmap_pool_stat))

/*
 * Calls cb(name, size, arg) for every live object, in slot order. A non-zero
 * return from cb stops the walk and is returned. Errors: -EINVAL.
 */
DAXMAP_API int daxmap_pool_list(daxmap_pool *pool,
		     int (*cb)(const char *name, uint64_t size, void *arg), void *arg);

/*
 * Opens the object `name` (1..DAXMAP_MAX_NAME bytes, no NUL inside).
 * flags: 0 opens an existing object; DAXMAP_CREATE creates it (size 0) if
 * missing; DAXMAP_CREATE|DAXMAP_EXCL fails with -EEXIST if it exists.
 * Opening an object twice gives two handles to the same object.
 * Errors: -EINVAL (bad name or flags), -ENOENT, -EEXIST, -ENFILE (no free
 * object slot), -ENAMETOOLONG.
 */
DAXMAP_API int daxmap_obj_open(daxmap_obj **obj, daxmap_pool *pool, const char *name, int flags);

/* Closes a handle; mappings made through it stay valid. NULL returns 0. */
DAXMAP_API int daxmap_obj_close(daxmap_obj *obj);

/*
 * Removes an object and frees its extents. Errors: -ENOENT; -EBUSY while a
 * handle or a mapping of it is live.
 */
DAXMAP_API int daxmap_obj_unlink(daxmap_pool *pool, const char *name);

/* Stores the object's size (EOF) in *size. Errors: -EINVAL. */
DAXMAP_API int daxmap_obj_size(daxmap_obj *obj, uint64_t *size);

/*
 * Sets the object's size, as ftruncate(2). Growing allocates nothing (the new
 * range is a hole that reads zero; bytes that were stored past the old EOF in
 * its last page read zero too). Shrinking makes everything past the new EOF
 * unreachable in every mapping (SIGBUS on access, also for a fault that was
 * waiting while the shrink ran), frees the extents wholly past it, and zeroes
 * the rest of the last extent, so the object reads zero there if it grows
 * again. Errors: -EINVAL (NULL), -EFBIG (size beyond DAXMAP_MAX_OBJ_SIZE),
 * -ENOMEM (address space for tearing down mappings).
 */
DAXMAP_API int daxmap_obj_truncate(daxmap_obj *obj, uint64_t size);

/*
 * Deallocates [off, off+len) as fallocate(FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE): the range reads zero afterwards and the size is
 * kept; a range crossing EOF is allowed and changes nothing past EOF. Space
 * is freed in whole extents (every mapping of them is torn down first); the
 * parts of partly covered extents are zeroed in place. Bytes outside the
 * range never change. Errors: -EINVAL (len 0, off+len wraps), -EFBIG
 * (off+len beyond DAXMAP_MAX_OBJ_SIZE), -ENOMEM.
 */
DAXMAP_API int daxmap_obj_punch_hole(daxmap_obj *obj, uint64_t off, uint64_t len);

/*
 * Zeroes [off, off+len) as fallocate(FALLOC_FL_ZERO_RANGE): allocated
 * extents are zeroed in place and stay allocated, holes stay holes; a range
 * past EOF extends the size to off+len. Errors: as daxmap_obj_punch_hole.
 */
DAXMAP_API int daxmap_obj_zero_range(daxmap_obj *obj, uint64_t off, uint64_t len);

/*
 * Allocates (zeroed) extents for [off, off+len) as fallocate(2) mode 0, so
 * that stores there cannot fail for lack of space; extends the size to
 * off+len when all succeeded. Errors: -ENOSPC (pool full: extents allocated
 * before the failure stay allocated, the size is unchanged), and as
 * daxmap_obj_punch_hole.
 */
DAXMAP_API int daxmap_obj_allocate(daxmap_obj *obj, uint64_t off, uint64_t len);

/* Flags of daxmap_obj_pwrite(). */
#define DAXMAP_DSYNC 0x1 /* the bytes, the allocation and the size are durable on return */

/* Reads up to len bytes at object offset off into buf, as pread(2): returns the number
 * of bytes read (short at EOF, 0 at or past EOF), holes read as zeros, or a negative
 * errno. */
DAXMAP_API ssize_t daxmap_obj_pread(daxmap_obj *obj, void *buf, size_t len, uint64_t off);
/* Writes len bytes from buf at object offset off, as pwrite(2): allocates zeroed space
 * for holes (-ENOSPC when the pool is full: nothing past the bytes it reports written
 * was changed), extends the size when writing past EOF, returns len or a negative
 * errno. flags: 0, or DAXMAP_DSYNC: the bytes (and the allocation and size) are
 * durable on return. */
DAXMAP_API ssize_t daxmap_obj_pwrite(daxmap_obj *obj, const void *buf, size_t len, uint64_t off,
                                     int flags);

/*
 * Maps [offset, offset+len) of the object at an address the library chooses,
 * stored in *addr. offset must be a multiple of the page size; len is rounded
 * up to pages. The range may extend past the object's size, also for a size-0
 * object: pages at or past the page-rounded EOF give SIGBUS until the object
 * grows. Nothing is allocated until a page is written; a read of a hole shows
 * zeros and allocates nothing. prot is DAXMAP_PROT_READ, optionally with
 * DAXMAP_PROT_WRITE. Errors: -EINVAL (bad arguments, misaligned offset),
 * -EFBIG (offset+len beyond DAXMAP_MAX_OBJ_SIZE), -ENOMEM (no address space).
 */
DAXMAP_API int daxmap_map(void **addr, daxmap_obj *obj, uint64_t offset, size_t len, int prot);

/*
 * What the application may do with a mapping (README has the same table):
 *
 * mremap      A whole mapping with no pool pages in it yet (one kernel
 *             VMA: nothing touched there since the map, and no data of
 *             the object in its range at daxmap_map, which maps that data
 *             at once) is followed:
 *             faults at the new address resolve against the same object
 *             range; punch, truncate and daxmap_unmap find it there. A part
 *             moved, or a mapping grown in place, is not: SIGBUS there, the
 *             reason logged; never a hang. Written pages moved elsewhere
 *             reach the pool until their extent is punched or truncated
 *             away or the mapping is unmapped; then they are made
 *             inaccessible (SIGSEGV).
 * munmap      Of part (or mmap(MAP_FIXED) over part): that part is the
 *             application's from then on; the library never maps, tears
 *             down, zeroes or unmaps there again, also over memory of the
 *             application's own (checked with PROCMAP_QUERY, Linux 6.11+;
 *             not checked on older kernels). Still call daxmap_unmap for the
 *             whole mapping; until then the object counts as mapped (a whole
 *             mapping unmapped with munmap is forgotten, with a warning, once
 *             its address space is mapped anew).
 * mprotect    Not seen: later faults map with the mapping's protection,
 *             undoing it. Use daxmap_mprotect.
 * madvise     MADV_DONTNEED, MADV_FREE: harmless (written pages come back
 *             from the pool, read holes read zero). MADV_REMOVE on written
 *             pages destroys that data in the pool (use
 *             daxmap_obj_punch_hole). Never MADV_DOFORK.
 * mlock       mlock and mlockall(MCL_CURRENT|MCL_FUTURE) are supported:
 *             stores reach the pool, written pages are locked; mlock of a
 *             range faults in every page (a writable mapping allocates).
 * fork        The child has nothing at the parent's mappings (SIGSEGV) and
 *             dead handles; it may open pools of its own.
 * syscalls    As root, a system call reading into an untouched page faults
 *             it in; one past EOF fails with EFAULT. With user-mode-only
 *             userfaultfd (not root), a system call touching an untouched
 *             page fails with EFAULT.
 * io_uring, O_DIRECT, vmsplice, RDMA
 *             Pages the kernel holds on to outlive a punch, shrink or
 *             unlink: the freed extent may be zeroed and given to another
 *             object while the I/O still reads or writes it. Finish or
 *             unregister such I/O before changing what it covers.
 * debuggers   /proc/PID/mem and ptrace (gdb) read written pages and holes
 *             the program has read; an untouched hole gives EIO (the kernel
 *             lets no remote access raise a userfaultfd fault).
 *             process_vm_readv raises it and reads zeros.
 */

/*
 * Unmaps a whole mapping made by daxmap_map (addr and len as given/returned).
 * Pages of it that the application unmapped and reused are left alone.
 * Errors: -EINVAL (not a daxmap mapping, or only part of one).
 */
DAXMAP_API int daxmap_unmap(void *addr, size_t len);

/*
 * Changes the protection of a whole mapping (addr and len as for
 * daxmap_unmap) to prot: 0 (no access: SIGSEGV), DAXMAP_PROT_READ, or
 * DAXMAP_PROT_READ|DAXMAP_PROT_WRITE. The library applies it to every page
 * it maps there from then on. Use it instead of mprotect(2): the library
 * does not see an mprotect, and maps later faults with the protection the
 * mapping had (see "What the application may do with a mapping" below).
 * Errors: -EINVAL (not a whole daxmap mapping, bad prot).
 */
DAXMAP_API int daxmap_mprotect(void *addr, size_t len, int prot);

/*
 * Makes [addr, addr+len) durable, where the range lies within one daxmap
 * mapping. Holes (never written pages) in the range are fine: they are zero
 * in the pool already. Errors: -EINVAL (not inside a daxmap mapping), -EIO.
 */
DAXMAP_API int daxmap_persist(const void *addr, size_t len);

/* Flags of daxmap_pool_check(). */
#define DAXMAP_CHECK_FORCE 0x1    /* check a pool that is open elsewhere */
#define DAXMAP_CHECK_PROGRESS 0x2 /* report progress on large pools */
#define DAXMAP_CHECK_DATA 0x4     /* also read free extents and bytes past EOF: must be zero */

/*
 * Checks the pool file at `path` without changing anything: it needs no
 * userfaultfd and opens the file read-only. It walks the header (every
 * byte, as open does), the intent log, every object slot, every extent-table
 * entry and the accounting (every data extent is free, waiting to be zeroed,
 * or owned by exactly one (live object, extent index)); with
 * DAXMAP_CHECK_DATA it also reads every free, zeroed extent and requires
 * zeros there (a non-zero byte would become stale data in an object), and
 * the allocated bytes of each live object past its page-rounded EOF, where
 * nothing is ever stored: non-zero bytes there mean a damaged size word
 * (the checksums do not cover sizes; a grow zeroes what it exposes).
 *
 * report(msg, arg), when not NULL, gets one line per finding, without a
 * trailing newline, each starting with its kind:
 *   "damaged: "  a problem that makes daxmap_pool_open() fail or the pool
 *                wrong, naming the structure and its byte offset in the file;
 *   "notice: "   a state the next open repairs by itself: a committed log
 *                record ("will be replayed on the next open"), an unlink
 *                that a crash interrupted, extents past an object's EOF left
 *                by an interrupted shrink (its log record is pending) or
 *                allocate (or a damaged size word: DAXMAP_CHECK_DATA tells),
 *                torn log records;
 *   "progress: " with DAXMAP_CHECK_PROGRESS: at most one line per whole
 *                percent of the object table, the extent table and (with
 *                DAXMAP_CHECK_DATA) the free data read (reads are 1 MiB
 *                chunks), and when each is done;
 *   "summary: "  the last line: objects, extents, findings.
 * After 1000 "damaged" lines the rest are counted, not listed.
 *
 * Concurrency: the check holds a shared flock(2) on the file while it runs,
 * so a daxmap_pool_open() meanwhile fails with -EBUSY. A pool that is open
 * (it holds the exclusive lock) is refused with -EBUSY unless flags has
 * DAXMAP_CHECK_FORCE: then it is checked anyway, a "notice: in use: results
 * may be inconsistent" line comes first, and changes made during the check
 * may show up as false findings.
 *
 * Returns 0 when the pool is clean (notices allowed), 1 when it is damaged
 * (also for a file that is not a pool at all, or is truncated), or a
 * negative errno when the check could not run: -EINVAL (NULL path, unknown
 * flags, not a regular file), -ENOENT, -EACCES, -EBUSY, -EPROTONOSUPPORT
 * (pool of a newer version), -ENOMEM, -EIO.
 */
DAXMAP_API int daxmap_pool_check(const char *path, int flags,
				 void (*report)(const char *msg, void *arg), void *arg);

/* The message of the last error of the calling thread ("" if none). */
DAXMAP_API const char *daxmap_errormsg(void);

/* The library version as "MAJOR.MINOR.PATCH", a string constant. */
DAXMAP_API const char *daxmap_version(void);

/* Levels of the diagnostic log: each shows itself and the levels below it. */
#define DAXMAP_LOG_NONE 0
#define DAXMAP_LOG_ERROR 1   /* a failure the library cannot report to a caller (in a fault) */
#define DAXMAP_LOG_WARNING 2 /* something the user should know and can fix; the default */
#define DAXMAP_LOG_NOTICE 3  /* recovery at open, and the like */
#define DAXMAP_LOG_DEBUG 4   /* also every daxmap_errormsg() message */

/*
 * Sends the library's diagnostics to fn(level, msg, arg) instead of stderr
 * or $DAXMAP_LOG_FILE; fn NULL sends them back there. msg is one line,
 * without the "libdaxmap[PID] LEVEL: " prefix and without a newline, valid
 * during the call only. fn is called from any library thread, also fault
 * handlers, and from several at once, with library locks held: it must
 * return soon and must not call the library (a message it would cause is
 * dropped). When this returns, the previous function is no longer running
 * and will not be called again, so its arg may be freed. Errors: -ENOMEM,
 * -EDEADLK (called from fn).
 */
DAXMAP_API int daxmap_set_log_func(void (*fn)(int level, const char *msg, void *arg), void *arg);

/*
 * Sets the log level: messages of this level and below are logged
 * (DAXMAP_LOG_WARNING by default, or $DAXMAP_LOG_LEVEL: "none", "error",
 * "warning" or "warn", "notice", "debug" in any case, or 0 to 4; this call
 * overrides it). Returns the previous level. Errors: -EINVAL (not 0 to 4).
 */
DAXMAP_API int daxmap_set_log_level(int level);

/* A byte range of a pool file. */
struct daxmap_region {
	uint64_t off;
	uint64_t len;
};

/*
 * A pool file as daxmap_pool_inspect() read it. The five regions tile the
 * file in order, each running to the start of the next (alignment padding
 * included; from format version 3 extent_table holds the block table too);
 * what follows the data region is unused. Later versions may fill the
 * reserved fields (zero today), so the struct keeps its size.
 */
struct daxmap_pool_info {
	uint8_t uuid[16];       /* random, chosen at create */
	uint64_t create_time;   /* seconds since the epoch */
	uint32_t version;       /* of the pool format */
	int in_use;             /* 1: open in a process when it was read: figures may be moving */
	uint64_t size;          /* file size */
	uint64_t extent_size;
	uint64_t extents;       /* data extents */
	uint64_t max_objects;   /* object slots */
	struct daxmap_region header, log, object_table, extent_table, data;
	uint64_t used;          /* bytes in allocated extents (and split ones) */
	uint64_t free;          /* bytes in free extents (zeroed or not) */
	uint64_t free_unzeroed; /* free bytes still waiting to be zeroed */
	uint64_t objects;       /* live objects */
	uint64_t objects_dying; /* unlinks a crash interrupted (the next open finishes them) */
	uint64_t bad_slots;     /* object slots that did not validate: not listed */
	uint64_t bad_extents;   /* extent- (and block-) table entries that did not validate:
	                           not counted */
	uint64_t max_size;      /* the size daxmap_pool_grow may grow the pool to, or size
	                           itself when it cannot grow */
	uint64_t block_size;    /* 64 KiB, or 0 in a pool without blocks (format before 3) */
	uint64_t blocks_split;  /* bytes of extents split into blocks (in used) */
	uint64_t blocks_used;   /* bytes of them in allocated blocks */
	uint64_t growable;      /* 1: created with a max_size above its size (at its maximum
	                           now, or not), 0: fixed */
	uint64_t reserved_[3];
};

/*
 * Reads the pool file at `path` without opening the pool: it needs no
 * userfaultfd, opens the file read-only, writes nothing, repairs nothing and
 * never takes the pool's lock, so it reads a pool that is open in another
 * process too (as mdb_stat reads a live LMDB environment). It fills *info
 * from the header and the extent table, then walks the object table and
 * calls cb(name, size, arg), when cb is not NULL, for every live object in
 * slot order; a non-zero return from cb stops the walk and is returned (the
 * object counts of *info are then partial). flags must be 0.
 *
 * It validates what it needs to read safely (the header, each slot's
 * checksum and name) and no more: daxmap_pool_check() is the judge of a
 * damaged pool. What a crash left for the next open to finish is shown as
 * it is in the file (sizes before a pending log record is replayed).
 *
 * A pool open elsewhere (info->in_use, told from the owner's lock as
 * /proc/locks shows it) may change while it is read: the figures may then
 * disagree with each other by the changes made meanwhile, and an object
 * created or removed meanwhile may be missed or still listed.
 *
 * Errors: -EINVAL (NULL path or info, unknown flags, not a regular file,
 * not a daxmap pool), -ENOENT, -EACCES, -EPROTONOSUPPORT (pool of a newer
 * version), -EUCLEAN (header damaged or disagreeing with the file's size:
 * daxmap_pool_check() says more), -EIO (read error, the file shrank),
 * -ENOMEM.
 */
DAXMAP_API int daxmap_pool_inspect(const char *path, int flags, struct daxmap_pool_info *info,
				   int (*cb)(const char *name, uint64_t size, void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* LIBDAXMAP_H */
