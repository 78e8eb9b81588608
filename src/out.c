/* SPDX-License-Identifier: BSD-3-Clause */
/* Error messages (thread-local, for daxmap_errormsg) and the diagnostic log. */
#define _GNU_SOURCE
#include "out.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libdaxmap.h"

#define OUT_MSG_MAX 512

_Static_assert(OUT_ERROR == DAXMAP_LOG_ERROR && OUT_WARN == DAXMAP_LOG_WARNING &&
		       OUT_NOTICE == DAXMAP_LOG_NOTICE && OUT_DEBUG == DAXMAP_LOG_DEBUG,
	       "the log levels of out.h are the public ones");

static __thread char errmsg[OUT_MSG_MAX];

static const char *const level_names[] = {"none", "error", "warning", "notice", "debug"};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static atomic_int log_level = OUT_WARN;
static FILE *log_file; /* set once by out_log_init; stderr unless DAXMAP_LOG_FILE */

/*
 * The application's log function (daxmap_set_log_func), NULL for the file.
 * A sink is never changed, only replaced: out_log() loads the pointer once,
 * so fn and arg always come as a pair, and daxmap_set_log_func() frees the
 * sink it replaced only once no call can still use it (log_calls).
 */
struct log_sink {
	void (*fn)(int level, const char *msg, void *arg);
	void *arg;
};
static _Atomic(struct log_sink *) log_sink;
/* out_log() calls between their count (before they load log_sink) and their uncount */
static atomic_uint log_calls;
/* this thread is in the application's log function: it must not call us back */
static __thread int in_log_func;

/* "warning", "WARN", "2": the level, or -1. */
static int out_parse_level(const char *s)
{
	char *end;
	long n;

	if (!strcasecmp(s, "warn"))
		return OUT_WARN;
	for (int i = 0; i <= OUT_DEBUG; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	errno = 0;
	n = strtol(s, &end, 10);
	return end != s && !*end && !errno && n >= 0 && n <= OUT_DEBUG ? (int)n : -1;
}

/* Only the forking thread goes on in the child: no other is in out_log(). */
static void out_atfork_child(void)
{
	atomic_store(&log_calls, 0);
}

/* What the environment cannot give is said once, on stderr, and the default taken. */
static void out_log_init(void)
{
	const char *lvl = getenv("DAXMAP_LOG_LEVEL");
	const char *path = getenv("DAXMAP_LOG_FILE");
	int level;

	log_file = stderr;
	if (lvl && *lvl) {
		if ((level = out_parse_level(lvl)) >= 0)
			atomic_store(&log_level, level);
		else
			fprintf(stderr, "libdaxmap[%d]: DAXMAP_LOG_LEVEL=%s is not a level (none, "
					"error, warning, notice, debug, or 0 to 4): using warning\n",
				(int)getpid(), lvl);
	}
	if (path && *path) {
		FILE *f = fopen(path, "ae");
		if (f) {
			setvbuf(f, NULL, _IOLBF, 0);
			log_file = f;
		} else {
			fprintf(stderr, "libdaxmap[%d]: cannot open DAXMAP_LOG_FILE=%s (%s): logging "
					"to stderr\n", (int)getpid(), path, strerror(errno));
		}
	}
	pthread_atfork(NULL, NULL, out_atfork_child);
}

int out_level(void)
{
	pthread_once(&log_once, out_log_init);
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}

void out_log(int level, const char *fmt, ...)
{
	char line[OUT_MSG_MAX + 64];
	struct log_sink *sink;
	va_list ap;
	int n;

	if (level > out_level() || in_log_func)
		return;
	n = snprintf(line, sizeof(line), "libdaxmap[%d] %s: ", (int)getpid(),
		     level_names[level >= OUT_ERROR && level <= OUT_DEBUG ? level : 0]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* counted before the load: a daxmap_set_log_func() that replaces the
	 * sink after the load sees the count until the call is done with it */
	atomic_fetch_add(&log_calls, 1);
	sink = atomic_load(&log_sink);
	if (sink) {
		in_log_func = 1;
		sink->fn(level, line + n, sink->arg);
		in_log_func = 0;
	} else {
		fprintf(log_file, "%s\n", line);
	}
	atomic_fetch_sub(&log_calls, 1);
}

int daxmap_set_log_func(void (*fn)(int level, const char *msg, void *arg), void *arg)
{
	struct log_sink *sink = NULL, *old;

	if (in_log_func)
		return ERR(-EDEADLK, "daxmap_set_log_func() called from the log function");
	if (fn) {
		if (!(sink = malloc(sizeof(*sink))))
			return ERR(-ENOMEM, "out of memory for the log function");
		*sink = (struct log_sink){fn, arg};
	}
	old = atomic_exchange(&log_sink, sink);
	/*
	 * A call that loaded old counted itself before its load, and so before
	 * the exchange (all seq_cst): the count stays above 0 until it is done.
	 * Calls of the new sink or the file may delay us, never deceive us.
	 */
	while (atomic_load(&log_calls))
		sched_yield();
	free(old);
	return 0;
}

int daxmap_set_log_level(int level)
{
	pthread_once(&log_once, out_log_init); /* the environment first: this call has the last word */
	if (level < DAXMAP_LOG_NONE || level > DAXMAP_LOG_DEBUG)
		return ERR(-EINVAL, "log level %d: 0 (none) to 4 (debug)", level);
	return atomic_exchange(&log_level, level);
}

const char *out_size(char buf[OUT_SIZE_MAX], uint64_t bytes)
{
	static const char units[][4] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(buf, OUT_SIZE_MAX, "%llu bytes", (unsigned long long)bytes);
		return buf;
	}
	while (u < 5 && bytes >> (10 * (u + 2)))
		u++;
	if (bytes & ((UINT64_C(1) << (10 * (u + 1))) - 1))
		snprintf(buf, OUT_SIZE_MAX, "%llu bytes (%.1f %s)", (unsigned long long)bytes,
			 (double)bytes / (double)(UINT64_C(1) << (10 * (u + 1))), units[u]);
	else
		snprintf(buf, OUT_SIZE_MAX, "%llu bytes (%llu %s)", (unsigned long long)bytes,
			 (unsigned long long)(bytes >> (10 * (u + 1))), units[u]);
	return buf;
}

int out_err(int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	if (code < 0 && n >= 0 && (size_t)n < sizeof(errmsg) - 8)
		snprintf(errmsg + n, sizeof(errmsg) - (size_t)n, " (%s)", strerror(-code));
	LOG(OUT_DEBUG, "%s", errmsg);
	return code;
}

const char *daxmap_errormsg(void)
{
	return errmsg;
}

#include "daxmap_version.h" /* generated from project(VERSION) in CMakeLists.txt */

const char *daxmap_version(void)
{
	return DAXMAP_VERSION_STRING;
}
