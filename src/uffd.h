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
	/* set once by the fault handlers' start: reads what is pending on the
	 * uffd (events consumed, fault messages handed to the handlers). An
	 * ioctl failing with EAGAIN (an unread remap event: the mremap waits
	 * for a reader) calls it before it retries, so that no thread spins
	 * without reading. NULL before the handlers run. */
	void (*drain)(void *arg);
	void *drain_arg;
};

/* Opens and negotiates: -EPERM/-ENOSYS/... with a message saying how to
 * get access; -EINVAL-like errors when the kernel lacks required features. */
int uffd_open(struct pool_uffd *u);
/* Closes it (idempotent). */
void uffd_close(struct pool_uffd *u);
/* Registers [va, va+len) for missing and write-protect faults (also when
 * read-only: uffd_owns relies on the write-protect registration). */
int uffd_register(const struct pool_uffd *u, void *va, size_t len, int prot);
/* An ioctl on the uffd, retried (after u->drain) while it fails with EAGAIN.
 * 0 or -errno. */
int uffd_ioctl_retry(const struct pool_uffd *u, unsigned long req, void *arg);
/*
 * 1 when every page of [va, va+len) is registered with a userfaultfd in
 * write-protect mode (this process uses one only: the pool's), 0 when not
 * (the application unmapped our range and put memory of its own there), or
 * -errno. It write-protects the present pages (zeros of hole reads,
 * write-protected already): harmless. Registration belongs to a VMA: one
 * page of one tells for the whole VMA.
 */
int uffd_owns(const struct pool_uffd *u, void *va, size_t len);

#endif
