/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error messages and diagnostics.
 *
 * ERR() records a thread-local message for daxmap_errormsg() at the point of
 * failure and yields the (negative) error code, so a failing call reads
 * `return ERR(-EINVAL, "offset %llu not page aligned", off);`.
 *
 * LOG() writes diagnostics to stderr or to the file named by DAXMAP_LOG_FILE,
 * or hands them to the application's function (daxmap_set_log_func), filtered
 * by DAXMAP_LOG_LEVEL or daxmap_set_log_level (0 none, 1 errors, 2 warnings
 * (default), 3 notices, 4 debug), in the manner of PMDK's
 * PMEM_LOG_LEVEL/PMEM_LOG_FILE. So a warning reaches the user unless they
 * ask for silence: log at OUT_WARN only what is unusual and worth acting on,
 * and once per process (LOG_ONCE) what every open would repeat. The log may
 * be called with any library lock held.
 */
#ifndef DAXMAP_OUT_H
#define DAXMAP_OUT_H

#include <errno.h>
#include <stdint.h>

enum out_level { OUT_ERROR = 1, OUT_WARN = 2, OUT_NOTICE = 3, OUT_DEBUG = 4 };

int out_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int out_level(void);

/* Room for out_size()'s text. */
#define OUT_SIZE_MAX 80
/* "6291456 bytes (6 MiB)", "3146000 bytes (3.0 MiB)", "512 bytes": for messages. */
const char *out_size(char buf[OUT_SIZE_MAX], uint64_t bytes);

#define ERR(code, ...) out_err((code), __VA_ARGS__)
#define LOG(level, ...)                                                                            \
	do {                                                                                       \
		if (out_level() >= (level))                                                        \
			out_log((level), __VA_ARGS__);                                             \
	} while (0)
/* LOG() the first time the level lets this one through, in this process. */
#define LOG_ONCE(level, ...)                                                                       \
	do {                                                                                       \
		static int out_logged_;                                                            \
		if (out_level() >= (level) &&                                                      \
		    !__atomic_exchange_n(&out_logged_, 1, __ATOMIC_RELAXED))                       \
			out_log((level), __VA_ARGS__);                                             \
	} while (0)

#endif
