/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pool's userfaultfd, as the kernel interface: opening it (with the
 * fall-backs), negotiating features, registering ranges. Reading messages
 * and resolving faults is fault.c's; mappings register through here.
 */
#ifndef DAXMAP_UFFD_H
#define DAXMAP_UFFD_H

#include <stddef.h>
#include <stdint.h>

#include "uffd_compat.h"

/* Features a pool cannot work without. */
#define UFFD_FEATURES_REQUIRED                                                                     \
	(UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_REMAP)

struct pool_uffd {
	int fd;             /* non-blocking, close-on-exec; -1 when closed */
	uint64_t features;  /* what UFFDIO_API granted */
	int user_mode_only; /* 1: kernel-mode faults (syscalls) are not ours */
};

/* Opens and negotiates: -EPERM/-ENOSYS/... with a message saying how to
 * get access; -EINVAL-like errors when the kernel lacks required features. */
int uffd_open(struct pool_uffd *u);
/* Closes it (idempotent). */
void uffd_close(struct pool_uffd *u);
/* Registers [va, va+len) for missing faults, and write-protect faults when writable. */
int uffd_register(const struct pool_uffd *u, void *va, size_t len, int prot);

#endif
