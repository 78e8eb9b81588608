/*
 * Error messages and diagnostics.
 *
 * ERR() records a thread-local message for daxmap_errormsg() at the point of
 * failure and yields the (negative) error code, so a failing call reads
 * `return ERR(-EINVAL, "offset %llu not page aligned", off);`.
 *
 * LOG() writes diagnostics to stderr or to the file named by DAXMAP_LOG_FILE,
 * filtered by DAXMAP_LOG_LEVEL (0 none, 1 errors (default), 2 warnings,
 * 3 notices, 4 debug), in the manner of PMDK's PMEM_LOG_LEVEL/PMEM_LOG_FILE.
 */
#ifndef DAXMAP_OUT_H
#define DAXMAP_OUT_H

#include <errno.h>

enum out_level { OUT_ERROR = 1, OUT_WARN = 2, OUT_NOTICE = 3, OUT_DEBUG = 4 };

int out_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int out_level(void);

#define ERR(code, ...) out_err((code), __VA_ARGS__)
#define LOG(level, ...)                                                                            \
	do {                                                                                       \
		if (out_level() >= (level))                                                        \
			out_log((level), __VA_ARGS__);                                             \
	} while (0)

#endif
