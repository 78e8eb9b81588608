/* Error messages (thread-local, for daxmap_errormsg) and the diagnostic log. */
#define _GNU_SOURCE
#include "out.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libdaxmap.h"

#define OUT_MSG_MAX 512

static __thread char errmsg[OUT_MSG_MAX];

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static int log_level = OUT_ERROR;
static FILE *log_file; /* set once by out_log_init; stderr unless DAXMAP_LOG_FILE */

static void out_log_init(void)
{
	const char *lvl = getenv("DAXMAP_LOG_LEVEL");
	const char *path = getenv("DAXMAP_LOG_FILE");

	if (lvl && *lvl)
		log_level = atoi(lvl);
	log_file = stderr;
	if (path && *path) {
		FILE *f = fopen(path, "ae");
		if (f) {
			setvbuf(f, NULL, _IOLBF, 0);
			log_file = f;
		}
	}
}

int out_level(void)
{
	pthread_once(&log_once, out_log_init);
	return log_level;
}

void out_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"", "error", "warning", "notice", "debug"};
	char line[OUT_MSG_MAX + 64];
	va_list ap;
	int n;

	pthread_once(&log_once, out_log_init);
	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "libdaxmap[%d] %s: ", (int)getpid(),
		     names[level >= 1 && level <= 4 ? level : 0]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(log_file, "%s\n", line);
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
