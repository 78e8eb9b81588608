/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_preload.so: puts an unmodified program that uses the system
 * libsqlite3 on the daxmap VFS:
 *
 *   DAXMAP_POOL=/dev/shm/app.pool LD_PRELOAD=.../daxmap_preload.so \
 *       sqlite3 -vfs daxmap app.db
 *
 * With DAXMAP_VFS_DEFAULT=1 the VFS becomes SQLite's default, for programs
 * that take no VFS name at all.
 *
 * Registration cannot happen in a constructor: registering initializes
 * SQLite, after which the program's own sqlite3_config() calls (the shell
 * turns URIs on that way) fail. So this object interposes the calls a
 * program makes to find a VFS or open a database, registers the VFS at the
 * first of them, and passes each call on to libsqlite3.
 */
#define _GNU_SOURCE
#include "daxmap_vfs.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t register_lock = PTHREAD_MUTEX_INITIALIZER;
static int registered;         /* (register_lock; read atomically) */
static __thread int registering; /* the VFS's own sqlite3_vfs_find() calls come back here */

static void preload_register(void)
{
	if (registering || __atomic_load_n(&registered, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&register_lock);
	if (!registered) {
		const char *def = getenv("DAXMAP_VFS_DEFAULT");
		registering = 1;
		if (daxmap_vfs_register(def && strcmp(def, "1") == 0) != SQLITE_OK)
			fprintf(stderr, "daxmap_preload: cannot register the daxmap VFS\n");
		registering = 0;
		__atomic_store_n(&registered, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&register_lock);
}

static void *preload_next(const char *sym)
{
	void *fn = dlsym(RTLD_NEXT, sym);
	if (!fn) {
		fprintf(stderr, "daxmap_preload: %s not found: %s\n", sym, dlerror());
		abort();
	}
	return fn;
}

sqlite3_vfs *sqlite3_vfs_find(const char *name)
{
	static sqlite3_vfs *(*next)(const char *);
	if (!next)
		next = (sqlite3_vfs * (*)(const char *)) preload_next("sqlite3_vfs_find");
	preload_register();
	return next(name);
}

int sqlite3_open(const char *name, sqlite3 **db)
{
	static int (*next)(const char *, sqlite3 **);
	if (!next)
		next = (int (*)(const char *, sqlite3 **))preload_next("sqlite3_open");
	preload_register();
	return next(name, db);
}

int sqlite3_open16(const void *name, sqlite3 **db)
{
	static int (*next)(const void *, sqlite3 **);
	if (!next)
		next = (int (*)(const void *, sqlite3 **))preload_next("sqlite3_open16");
	preload_register();
	return next(name, db);
}

int sqlite3_open_v2(const char *name, sqlite3 **db, int flags, const char *vfs)
{
	static int (*next)(const char *, sqlite3 **, int, const char *);
	if (!next)
		next = (int (*)(const char *, sqlite3 **, int, const char *))preload_next("sqlite3_open_v2");
	preload_register();
	return next(name, db, flags, vfs);
}
