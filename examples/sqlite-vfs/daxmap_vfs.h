/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daxmap_vfs - a SQLite VFS that keeps every file SQLite opens (database,
 * rollback journal, WAL) as an object in a libdaxmap pool.
 * See examples/sqlite-vfs/README.md for URI parameters, environment
 * variables, journal modes and limits.
 */
#ifndef DAXMAP_VFS_H
#define DAXMAP_VFS_H 1

#ifdef __cplusplus
extern "C" {
#endif

/* Name under which the VFS registers: open with vfs=daxmap. */
#define DAXMAP_VFS_NAME "daxmap"

/*
 * Registers the "daxmap" VFS with SQLite (again: harmless); with
 * make_default != 0 it becomes the default VFS. Returns a SQLite result
 * code (SQLITE_OK, or SQLITE_ERROR when no underlying "unix" VFS exists
 * for temporary files and the OS services).
 */
int daxmap_vfs_register(int make_default);

#ifdef __cplusplus
}
#endif
#endif
