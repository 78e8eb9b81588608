/* SPDX-License-Identifier: BSD-3-Clause */
/* userfaultfd: open, negotiate, register (uffd.h). */
#define _GNU_SOURCE
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "out.h"

static int uffd_open_fd(int *user_mode_only)
{
	int fd, dev;

	*user_mode_only = 0;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd >= 0) {
		*user_mode_only = 1;
		LOG_ONCE(OUT_WARN, "userfaultfd handles user-mode faults only: a system call that "
				   "reads into an untouched mapped page fails with EFAULT (run as "
				   "root, give access to /dev/userfaultfd, or set "
				   "vm.unprivileged_userfaultfd=1)");
		return fd;
	}
	return -errno;
}

int uffd_open(struct pool_uffd *u)
{
	struct uffdio_api api;
	int fd;

	u->fd = -1;
	fd = uffd_open_fd(&u->user_mode_only);
	if (fd < 0)
		return ERR(fd, "cannot open a userfaultfd: run as root, give this user read-write "
			       "access to /dev/userfaultfd, or set the sysctl "
			       "vm.unprivileged_userfaultfd=1");
	u->fd = fd;
	/* ask for everything we can use; then check what we must have */
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURES_REQUIRED | UFFD_FEATURE_POISON;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		memset(&api, 0, sizeof(api));
		api.api = UFFD_API;
		api.features = UFFD_FEATURES_REQUIRED;
		if (ioctl(fd, UFFDIO_API, &api) < 0)
			return ERR(-errno, "userfaultfd lacks features this library needs "
					   "(thread id, write-protect faults, remap events): "
					   "Linux 5.7 or later is required");
	}
	u->features = api.features;
	if (!(u->features & UFFD_FEATURE_POISON))
		LOG_ONCE(OUT_WARN, "kernel has no UFFDIO_POISON (Linux 6.6+): SIGBUS for faults "
				   "past EOF is sent as a queued signal (si_code SI_QUEUE)");
	return 0;
}

void uffd_close(struct pool_uffd *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int uffd_register(const struct pool_uffd *u, void *va, size_t len, int prot)
{
	struct uffdio_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)va;
	reg.range.len = len;
	/* write-protect faults: a hole that was read (zeros, write-protected)
	 * must still bring its first write to us, never to anonymous memory.
	 * A read-only range is registered so too: UFFDIO_WRITEPROTECT then
	 * tells our ranges from the application's (uffd_owns) */
	(void)prot;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	if (ioctl(u->fd, UFFDIO_REGISTER, &reg) < 0)
		return ERR(-errno, "UFFDIO_REGISTER of %zu bytes at %p failed", len, va);
	if (!(reg.ioctls & ((uint64_t)1 << _UFFDIO_COPY)) ||
	    !(reg.ioctls & ((uint64_t)1 << _UFFDIO_WAKE)))
		return ERR(-ENOTSUP, "userfaultfd range lacks UFFDIO_COPY/UFFDIO_WAKE");
	return 0;
}

int uffd_ioctl_retry(const struct pool_uffd *u, unsigned long req, void *arg)
{
	for (;;) {
		if (ioctl(u->fd, req, arg) == 0)
			return 0;
		if (errno != EAGAIN)
			return -errno;
		if (u->drain)
			u->drain(u->drain_arg);
		else
			usleep(100);
	}
}

int uffd_owns(const struct pool_uffd *u, void *va, size_t len)
{
	struct uffdio_writeprotect wp = {.range = {.start = (uintptr_t)va, .len = len},
					 .mode = UFFDIO_WRITEPROTECT_MODE_WP};
	int ret = uffd_ioctl_retry(u, UFFDIO_WRITEPROTECT, &wp);

	if (ret == -ENOENT || ret == -EINVAL)
		return 0;
	return ret < 0 ? ERR(ret, "UFFDIO_WRITEPROTECT of %p+%zu failed", va, len) : 1;
}
