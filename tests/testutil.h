/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the CUnit programs in tests/. */
#ifndef DAXMAP_TESTUTIL_H
#define DAXMAP_TESTUTIL_H

#include <libdaxmap.h>

#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Pools live in a fresh temp dir under $DAXMAP_TEST_DIR (default /dev/shm),
 * removed at exit. tu_path("x") gives "<dir>/x".
 */
const char *tu_dir(void);
const char *tu_path(const char *name);
/* Creates a pool with default options at tu_path(name), asserting success. */
daxmap_pool *tu_pool_create(const char *name, uint64_t size);
/* The same with options (NULL: the defaults). */
daxmap_pool *tu_pool_create_opts(const char *name, uint64_t size,
				 const struct daxmap_pool_opts *opts);

/*
 * Accesses that may raise SIGBUS or SIGSEGV: return 0 when the access
 * happened, or the signal number. The value read is stored in *out.
 */
int tu_try_write8(volatile void *addr, uint8_t val);
int tu_try_read8(volatile const void *addr, uint8_t *out);
/* si_addr of the last signal caught by the calling thread. */
void *tu_last_sigaddr(void);

/* VMAs (lines of /proc/self/maps) overlapping [start, start+len). */
int tu_vma_count(const void *start, size_t len);

/* Seed from $DAXMAP_TEST_SEED or the clock; printed so a failure can be replayed. */
uint64_t tu_seed(const char *test);
uint64_t tu_rand(uint64_t *state);

/*
 * The pool format's checksum (Fletcher-64 over 32-bit words), written here
 * independently of src/pool.c on purpose: tests that forge or patch pool
 * bytes check the format, not the library's own code.
 */
uint64_t tu_fletcher64(const void *buf, size_t len);

/*
 * A watchdog: a hang fails loudly instead of stalling ctest. arm() starts a
 * thread that prints "WATCHDOG: <what> did not finish within <secs> s" and
 * _exits the program with status 3 unless disarm() comes first. One at a time.
 */
void tu_watchdog_arm(const char *what, unsigned secs);
void tu_watchdog_disarm(void);

/* TU_SANITIZED: 1 in a build with AddressSanitizer or ThreadSanitizer;
 * TU_TSAN: 1 with ThreadSanitizer (it cannot follow a fork child that
 * reinitialises locks its parent held across fork). Else 0. */
#if defined(__SANITIZE_THREAD__)
#define TU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TU_TSAN 1
#endif
#endif
#ifndef TU_TSAN
#define TU_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__) || TU_TSAN
#define TU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_SANITIZED 1
#endif
#endif
#ifndef TU_SANITIZED
#define TU_SANITIZED 0
#endif

/* Runs the CUnit registry with the given suites; returns the exit status.
 * DAXMAP_TEST_ONLY=WORD runs only the tests whose name contains WORD. */
struct tu_test {
	const char *name;
	void (*fn)(void);
};
int tu_run(const char *suite, const struct tu_test *tests);

#define TU_OK(expr)                                                                                \
	do {                                                                                       \
		int tu_ret_ = (expr);                                                              \
		if (tu_ret_ < 0)                                                                   \
			fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__, __LINE__, #expr, tu_ret_, \
				daxmap_errormsg());                                                \
		CU_ASSERT_FATAL(tu_ret_ >= 0);                                                     \
	} while (0)

#endif
