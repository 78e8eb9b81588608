/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Several processes on one pool (struct daxmap_pool_opts.shared = 1): shared
 * and exclusive openers exclude each other; objects, sizes and bytes are seen
 * by every process; a hole two processes touch at once is allocated once; a
 * read fault allocates; grow is refused; punch and truncate in one process
 * race stores in others without a stale byte, a lost store or a SIGBUS
 * inside EOF; an fsx model is shared by several processes; kill -9 of any
 * process at any moment leaves the others running and the pool clean; an
 * object another process holds cannot be unlinked.
 *
 * Every worker is a fresh process: fork() and execv() of /proc/self/exe
 * with a worker mode in argv[1]; it opens the pool itself (nothing of a
 * pool crosses fork: the parent never has one open while a worker runs).
 * The parent drives "script" workers one command line at a time over pipes,
 * and the others through a file under tu_dir() that every process maps
 * MAP_SHARED. Workers die with the parent (PR_SET_PDEATHSIG); a worker that
 * stops answering is hung: the parent prints its stacks (gdb) and fails.
 *
 * Environment: DAXMAP_TEST_SEED=S replays seed S (each test prints its
 * own; the interleaving of processes differs from run to run);
 * DAXMAP_SHARED_FSX_OPS=N the total operations of the multi-process fsx
 * (default 100,000; 20,000 with a sanitizer; a fifth off tmpfs);
 * DAXMAP_TEST_RACE_SECS the churn of the punch race (default 3 s).
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define PS UINT64_C(4096)
#define EXT64 (64 * KiB)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define REPLY_SECS 30 /* a worker silent this long on a command is hung */
#define U(x) ((unsigned long long)(x))

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t page_up(uint64_t x)
{
	return (x + PS - 1) & ~(PS - 1);
}

/* Byte `off` of pattern `seed`: never zero for a seed other than 0, so a
 * byte lost to a hole shows; seed 0 is all zeros. */
static uint8_t pat(uint64_t seed, uint64_t off)
{
	return seed ? (uint8_t)((seed * 0x9e3779b1u + off * 7 + (off >> 12)) % 255 + 1) : 0;
}

static void pat_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, off + i);
}

/* ---- files every process maps -------------------------------------------- */

/* A file of `size` zero bytes under tu_dir(), mapped MAP_SHARED; its path goes to path. */
static void *coord_create(const char *name, size_t size, char *path, size_t pathlen)
{
	int fd;
	void *p;

	snprintf(path, pathlen, "%s", tu_path(name));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)size) == 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	return p;
}

/* The same file in a worker; NULL (said on stderr) when it cannot be mapped. */
static void *coord_map(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	void *p = MAP_FAILED;

	if (fd >= 0) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
	}
	if (p == MAP_FAILED) {
		perror(path);
		return NULL;
	}
	return p;
}

/* ---- the parent's side of its workers ------------------------------------ */

#define MAX_LIVE 16

struct worker {
	pid_t pid;
	int to, from;  /* script workers: commands in, replies out; else -1 */
	char name[24];
	char msg[256]; /* the rest of the last reply line: daxmap_errormsg() of a failure */
};

/* every worker not yet waited for, so a failed test leaves none behind */
static pid_t live[MAX_LIVE];

static void live_add(pid_t pid)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (!live[i]) {
			live[i] = pid;
			return;
		}
	CU_FAIL_FATAL("too many live workers");
}

static void live_del(pid_t pid)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void live_kill_all(void)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i]) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
}

/* The tests' watchdog: a test that failed fatally left it armed. */
static int wd_on;

static void begin(const char *what, unsigned secs)
{
	live_kill_all();
	if (wd_on)
		tu_watchdog_disarm();
	tu_watchdog_arm(what, secs);
	wd_on = 1;
}

static void end(void)
{
	tu_watchdog_disarm();
	wd_on = 0;
}

/* Runs this program with the NULL-terminated arguments after argv[0]: a script
 * worker (its stdin and stdout are pipes to us) or a free-running one. */
static void spawn(struct worker *w, const char *name, int script, ...)
{
	char *argv[16];
	int in[2] = {-1, -1}, out[2] = {-1, -1}, argc = 0;
	pid_t parent = getpid();
	const char *a;
	va_list ap;

	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", name);
	argv[argc++] = strdup("test_shared");
	va_start(ap, script);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 15)
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	if (script)
		CU_ASSERT_FATAL(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	fflush(NULL);
	w->pid = fork();
	CU_ASSERT_FATAL(w->pid >= 0);
	if (w->pid == 0) {
		/* a worker never outlives the test program (the watchdog _exits it) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if (script && (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0))
			_exit(125);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	live_add(w->pid);
	w->to = w->from = -1;
	if (script) {
		close(in[0]);
		close(out[1]);
		w->to = in[1];
		w->from = out[0];
	}
}

static void spawn_script(struct worker *w, const char *name)
{
	spawn(w, name, 1, "--script", (const char *)NULL);
}

/* Prints the stacks of every thread of a (hung) process. */
static void dump_stacks(pid_t pid, const char *who)
{
	char cmd[200];

	fprintf(stderr, "\nthe stacks of %s (pid %d):\n", who, (int)pid);
	fflush(stderr);
	snprintf(cmd, sizeof(cmd),
		 "timeout 60 gdb -q -batch -p %d -ex 'thread apply all bt' </dev/null >&2 2>&1",
		 (int)pid);
	if (system(cmd) != 0)
		fprintf(stderr, "(gdb could not print them)\n");
}

static void w_close(struct worker *w)
{
	if (w->to >= 0)
		close(w->to);
	if (w->from >= 0)
		close(w->from);
	w->to = w->from = -1;
}

/* The number on the worker's next reply line; the rest of it goes to w->msg. */
static long long w_reply(struct worker *w)
{
	char line[300];
	size_t n = 0;
	char *rest;
	long long v;

	for (;;) {
		struct pollfd pfd = {.fd = w->from, .events = POLLIN};
		int r = poll(&pfd, 1, REPLY_SECS * 1000);
		ssize_t k;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			dump_stacks(w->pid, w->name);
			CU_FAIL_FATAL("a worker did not answer within REPLY_SECS: hang");
		}
		k = read(w->from, line + n, 1);
		if (k <= 0) {
			fprintf(stderr, "worker %s died (pid %d)\n", w->name, (int)w->pid);
			CU_FAIL_FATAL("a worker died");
		}
		if (line[n] == '\n' || n == sizeof(line) - 2)
			break;
		n++;
	}
	line[n] = 0;
	v = strtoll(line, &rest, 10);
	snprintf(w->msg, sizeof(w->msg), "%s", *rest == ' ' ? rest + 1 : rest);
	return v;
}

static void w_send(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void w_send(struct worker *w, const char *fmt, ...)
{
	char line[700];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(line) - 1);
	line[n++] = '\n';
	CU_ASSERT_FATAL(write(w->to, line, (size_t)n) == n);
}

static long long w_cmd(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static long long w_cmd(struct worker *w, const char *fmt, ...)
{
	char line[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w_send(w, "%s", line);
	return w_reply(w);
}

/* 1 when the worker's reply to the command is want; else says what it was. */
static int w_expect(struct worker *w, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int w_expect(struct worker *w, long long want, const char *fmt, ...)
{
	char line[700];
	long long got;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	got = w_cmd(w, "%s", line);
	if (got == want)
		return 1;
	fprintf(stderr, "worker %s: \"%s\" = %lld, expected %lld%s%s\n", w->name, line, got, want,
		w->msg[0] ? ": " : "", w->msg);
	return 0;
}

#define W_EQ(w, want, ...) CU_ASSERT(w_expect((w), (want), __VA_ARGS__))

/* Waits at most secs for the workers to exit. One still running then is hung:
 * its stacks are printed and it is killed. Returns how many did not exit 0. */
static int wait_all(struct worker *ws, int n, unsigned secs)
{
	uint64_t deadline = now_ns() + (uint64_t)secs * 1000000000u;
	int bad = 0, left = 0;

	for (int i = 0; i < n; i++)
		left += ws[i].pid > 0;
	while (left > 0) {
		for (int i = 0; i < n; i++) {
			int st;
			if (ws[i].pid <= 0 || waitpid(ws[i].pid, &st, WNOHANG) != ws[i].pid)
				continue;
			live_del(ws[i].pid);
			w_close(&ws[i]);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "worker %s (pid %d) %s %d\n", ws[i].name,
					(int)ws[i].pid,
					WIFEXITED(st) ? "exited with" : "died of signal",
					WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
				bad++;
			}
			ws[i].pid = 0;
			left--;
		}
		if (left > 0 && now_ns() > deadline) {
			for (int i = 0; i < n; i++) {
				if (ws[i].pid <= 0)
					continue;
				dump_stacks(ws[i].pid, ws[i].name);
				kill(ws[i].pid, SIGKILL);
				waitpid(ws[i].pid, NULL, 0);
				live_del(ws[i].pid);
				w_close(&ws[i]);
				ws[i].pid = 0;
				bad++;
			}
			break;
		}
		if (left > 0)
			usleep(5000);
	}
	return bad;
}

/* Tells script workers to exit and waits for them. */
static void w_exit_all(struct worker *ws, int n)
{
	for (int i = 0; i < n; i++)
		w_send(&ws[i], "exit");
	CU_ASSERT_EQUAL(wait_all(ws, n, 30), 0);
}

/* ---- pools the parent makes and checks (with no worker running) ---------- */

/* Creates a pool at tu_path(name) and closes it again. extent_size 0: 2 MiB. */
static void pool_make(char *path, size_t pathlen, const char *name, uint64_t size,
		      uint64_t extent_size)
{
	struct daxmap_pool_opts opts;

	daxmap_pool_opts_init(&opts);
	opts.extent_size = extent_size;
	snprintf(path, pathlen, "%s", tu_path(name));
	TU_OK(daxmap_pool_close(tu_pool_create_opts(name, size, &opts)));
}

struct report {
	int damaged, notices;
};

static void report_line(const char *msg, void *arg)
{
	struct report *r = arg;

	if (strncmp(msg, "damaged", 7) == 0) {
		r->damaged++;
		fprintf(stderr, "check: %s\n", msg);
	} else if (strncmp(msg, "notice", 6) == 0) {
		r->notices++;
	}
}

/* daxmap_pool_check's result; its "damaged" lines are printed. */
static int check_pool(const char *path, int flags, struct report *r)
{
	memset(r, 0, sizeof(*r));
	return daxmap_pool_check(path, flags, report_line, r);
}

static void assert_clean(const char *path, int flags)
{
	struct report r;

	CU_ASSERT_EQUAL(check_pool(path, flags, &r), 0);
	CU_ASSERT_EQUAL(r.damaged, 0);
}

/* ---- accesses in workers that may fault ---------------------------------- */

/*
 * Loads and stores that may raise SIGBUS or SIGSEGV return the signal
 * (g_addr: where). Not testutil's tu_try_read8/tu_try_write8: from -O1 on,
 * gcc drops their store of the jump buffer's address before the access
 * (nothing the compiler sees reads it), so a fault there kills the process.
 * Here a signal fence keeps the stores around the access. sigsetjmp does
 * not save the signal mask (a system call per access): the rare jump out of
 * the handler unblocks SIGBUS and SIGSEGV itself, which SA_NODEFER leaves
 * unblocked anyway, but not a sanitizer's handler that calls ours.
 */
static __thread sigjmp_buf *g_jmp;
static __thread volatile int g_sig;
static __thread void *volatile g_addr;

static void g_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (g_jmp) {
		g_sig = sig;
		g_addr = si->si_addr;
		siglongjmp(*g_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = g_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* After the jump out of the handler: the signal it caught. */
static int guard_caught(void)
{
	sigset_t set;

	g_jmp = NULL;
	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	sigaddset(&set, SIGSEGV);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return g_sig;
}

static void guard_arm(sigjmp_buf *jb)
{
	g_jmp = jb;
	atomic_signal_fence(memory_order_seq_cst);
}

static void guard_disarm(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	g_jmp = NULL;
}

/* memcpy that returns 0, or the signal an access raised. */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return guard_caught();
	guard_arm(&jb);
	memcpy(dst, src, n);
	guard_disarm();
	return 0;
}

static int guarded_store8(uint8_t *p, uint8_t v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return guard_caught();
	guard_arm(&jb);
	*(volatile uint8_t *)p = v;
	guard_disarm();
	return 0;
}

static int guarded_load8(const uint8_t *p, uint8_t *v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return guard_caught();
	guard_arm(&jb);
	*v = *(const volatile uint8_t *)p;
	guard_disarm();
	return 0;
}

/* One aligned 8-byte store or load: it happens whole or faults whole. */
static int guarded_store64(uint64_t *p, uint64_t v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return guard_caught();
	guard_arm(&jb);
	*(volatile uint64_t *)p = v;
	guard_disarm();
	return 0;
}

static int guarded_load64(const uint64_t *p, uint64_t *v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return guard_caught();
	guard_arm(&jb);
	*v = *(const volatile uint64_t *)p;
	guard_disarm();
	return 0;
}

static int open_shared(daxmap_pool **pool, const char *path)
{
	struct daxmap_pool_opts opts;

	daxmap_pool_opts_init(&opts);
	opts.shared = 1;
	return daxmap_pool_open_opts(pool, path, &opts);
}

/* ---- the script worker ----------------------------------------------------- */

/*
 * Reads one command a line on stdin and answers each with a line "N [msg]":
 * N the result (0 or a count, a size, a signal number, or a negative errno
 * with daxmap_errormsg() after it). I is a slot for one object handle and
 * one mapping; OFF, LEN, SEED are numbers (pattern SEED 0: zeros).
 *   create PATH SIZE EXTENT SHARED   open PATH SHARED   close   grow SIZE
 *   used   poolsize   obj I NAME FLAGS   objclose I   unlink NAME   size I
 *   truncate I SIZE   punch I OFF LEN   zero I OFF LEN   map I LEN   unmap I
 *   mstore I OFF LEN SEED   mcheck I OFF LEN SEED (mismatches, or -signal)
 *   pwrite I OFF LEN SEED   pcheck I OFF LEN SEED (mismatches, short counts)
 *   probe I OFF (signal of a load, 0)   byte I OFF (value, or -signal)
 *   coord PATH   race I OFF SEED READFIRST ROUND   exit
 * race answers "0 armed", waits until the word at the start of the coord
 * file reaches ROUND, loads (READFIRST) and stores one byte: the signal, or
 * 1000 + the byte a first load saw if it was not zero.
 */
#define SW_SLOTS 4

static daxmap_pool *sw_pool;
static daxmap_obj *sw_obj[SW_SLOTS];
static uint8_t *sw_map[SW_SLOTS];
static size_t sw_maplen[SW_SLOTS];
static _Atomic uint64_t *sw_go;

static uint64_t arg(char **a, int n, int i)
{
	return i < n ? strtoull(a[i], NULL, 0) : 0;
}

static long long sw_range(const char *c, unsigned i, uint64_t off, uint64_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len ? len : 1);
	long long ret = 0;

	if (!buf)
		return -ENOMEM;
	if (strcmp(c, "mstore") == 0 || strcmp(c, "pwrite") == 0) {
		pat_fill(buf, len, seed, off);
		if (c[0] == 'm')
			ret = guarded_copy(sw_map[i] + off, buf, len);
		else
			ret = daxmap_obj_pwrite(sw_obj[i], buf, len, off, 0);
	} else {
		ssize_t n = (ssize_t)len;
		if (c[0] == 'm') {
			int sig = guarded_copy(buf, sw_map[i] + off, len);
			if (sig)
				n = -sig;
		} else {
			n = daxmap_obj_pread(sw_obj[i], buf, len, off);
		}
		if (n < 0) {
			ret = n;
		} else {
			ret = (long long)(len - (uint64_t)n);
			for (uint64_t k = 0; k < (uint64_t)n; k++)
				ret += buf[k] != pat(seed, off + k);
		}
	}
	free(buf);
	return ret;
}

static long long sw_race(unsigned i, uint64_t off, uint64_t seed, int readfirst, uint64_t round)
{
	uint8_t *p = sw_map[i] + off, v = 0;
	uint64_t t0 = now_ns();
	int sig = 0;

	printf("0 armed\n");
	fflush(stdout);
	for (unsigned long spin = 0; atomic_load(sw_go) < round; spin++)
		if (spin % 4096 == 0 && now_ns() - t0 > 20000000000u)
			return -ETIMEDOUT;
	if (readfirst && (sig = guarded_load8(p, &v)) == 0 && v != 0)
		return 1000 + v;
	return sig ? sig : guarded_store8(p, pat(seed, off));
}

static long long sw_run(char **a, int n)
{
	const char *c = a[0];
	unsigned i = (unsigned)arg(a, n, 1) % SW_SLOTS;
	struct daxmap_pool_opts opts;
	struct daxmap_pool_stat st;
	daxmap_pool *pool = NULL;
	uint64_t size = 0;
	uint8_t v;
	int ret, sig;

	daxmap_pool_opts_init(&opts);
	if (strcmp(c, "create") == 0 && n == 5) {
		opts.extent_size = arg(a, n, 3);
		opts.shared = (int)arg(a, n, 4);
		ret = daxmap_pool_create_opts(&pool, a[1], arg(a, n, 2), 0600, &opts);
	} else if (strcmp(c, "open") == 0 && n == 3) {
		opts.shared = (int)arg(a, n, 2);
		ret = daxmap_pool_open_opts(&pool, a[1], &opts);
	} else if (strcmp(c, "close") == 0) {
		ret = daxmap_pool_close(sw_pool);
		if (ret == 0)
			sw_pool = NULL;
		return ret;
	} else if (strcmp(c, "grow") == 0) {
		return daxmap_pool_grow(sw_pool, arg(a, n, 1));
	} else if (strcmp(c, "used") == 0 || strcmp(c, "poolsize") == 0) {
		ret = daxmap_pool_stat(sw_pool, &st);
		return ret < 0 ? ret : (long long)(c[0] == 'u' ? st.used : st.size);
	} else if (strcmp(c, "obj") == 0 && n == 4) {
		return daxmap_obj_open(&sw_obj[i], sw_pool, a[2], (int)arg(a, n, 3));
	} else if (strcmp(c, "objclose") == 0) {
		ret = daxmap_obj_close(sw_obj[i]);
		sw_obj[i] = NULL;
		return ret;
	} else if (strcmp(c, "unlink") == 0 && n == 2) {
		return daxmap_obj_unlink(sw_pool, a[1]);
	} else if (strcmp(c, "size") == 0) {
		ret = daxmap_obj_size(sw_obj[i], &size);
		return ret < 0 ? ret : (long long)size;
	} else if (strcmp(c, "truncate") == 0) {
		return daxmap_obj_truncate(sw_obj[i], arg(a, n, 2));
	} else if (strcmp(c, "punch") == 0) {
		return daxmap_obj_punch_hole(sw_obj[i], arg(a, n, 2), arg(a, n, 3));
	} else if (strcmp(c, "zero") == 0) {
		return daxmap_obj_zero_range(sw_obj[i], arg(a, n, 2), arg(a, n, 3));
	} else if (strcmp(c, "map") == 0) {
		sw_maplen[i] = (size_t)arg(a, n, 2);
		return daxmap_map((void **)&sw_map[i], sw_obj[i], 0, sw_maplen[i], RW);
	} else if (strcmp(c, "unmap") == 0) {
		ret = daxmap_unmap(sw_map[i], sw_maplen[i]);
		sw_map[i] = NULL;
		return ret;
	} else if ((strcmp(c, "mstore") == 0 || strcmp(c, "mcheck") == 0 ||
		    strcmp(c, "pwrite") == 0 || strcmp(c, "pcheck") == 0) && n == 5) {
		return sw_range(c, i, arg(a, n, 2), arg(a, n, 3), arg(a, n, 4));
	} else if (strcmp(c, "probe") == 0) {
		sig = guarded_load8(sw_map[i] + arg(a, n, 2), &v);
		/* a SIGBUS names the byte that raised it */
		return sig == SIGBUS && g_addr != sw_map[i] + arg(a, n, 2) ? 999 : sig;
	} else if (strcmp(c, "byte") == 0) {
		sig = guarded_load8(sw_map[i] + arg(a, n, 2), &v);
		return sig ? -sig : v;
	} else if (strcmp(c, "coord") == 0 && n == 2) {
		sw_go = coord_map(a[1], PS);
		return sw_go ? 0 : -EIO;
	} else if (strcmp(c, "race") == 0 && n == 6) {
		return sw_race(i, arg(a, n, 2), arg(a, n, 3), (int)arg(a, n, 4), arg(a, n, 5));
	} else {
		return -ENOSYS;
	}
	if (ret == 0)
		sw_pool = pool;
	return ret;
}

static int script_main(void)
{
	char line[1024];

	guard_install();
	while (fgets(line, sizeof(line), stdin)) {
		char *a[8], *save = NULL;
		long long r;
		int n = 0;

		for (char *t = strtok_r(line, " \n", &save); t && n < 8;
		     t = strtok_r(NULL, " \n", &save))
			a[n++] = t;
		if (n == 0)
			continue;
		if (strcmp(a[0], "exit") == 0)
			return 0;
		r = sw_run(a, n);
		printf("%lld %s\n", r, r < 0 ? daxmap_errormsg() : "");
		fflush(stdout);
	}
	return 0;
}

/* ---- opens ------------------------------------------------------------------ */

static void test_shared_and_exclusive_openers_exclude_each_other(void)
{
	struct worker w[3];
	char path[512];

	begin("shared and exclusive openers", 120);
	snprintf(path, sizeof(path), "%s", tu_path("open.pool"));
	spawn_script(&w[0], "A");
	spawn_script(&w[1], "B");
	spawn_script(&w[2], "C");
	/* created shared, it is open shared at once: others join, exclusive is refused */
	W_EQ(&w[0], 0, "create %s %llu %llu 1", path, U(64 * MiB), U(EXT64));
	W_EQ(&w[1], -EBUSY, "open %s 0", path);
	W_EQ(&w[1], 0, "open %s 1", path);
	W_EQ(&w[2], 0, "open %s 1", path);
	/* something for the check to walk: an object with data and holes */
	W_EQ(&w[0], 0, "obj 0 c %d", DAXMAP_CREATE);
	W_EQ(&w[0], 0, "truncate 0 %llu", U(MiB));
	W_EQ(&w[0], 0, "map 0 %llu", U(MiB));
	W_EQ(&w[0], 0, "mstore 0 %llu 70000 5", U(3 * EXT64 + 11));
	W_EQ(&w[1], 0, "obj 0 c 0");
	W_EQ(&w[1], 200000, "pwrite 0 %llu 200000 6", U(8 * EXT64));
	W_EQ(&w[2], 0, "obj 0 c 0");
	W_EQ(&w[2], 0, "pcheck 0 %llu 70000 5", U(3 * EXT64 + 11));
	/* a forced check beside three shared openers; unforced, refused as beside
	 * an exclusive one */
	assert_clean(path, DAXMAP_CHECK_FORCE | DAXMAP_CHECK_DATA);
	CU_ASSERT_EQUAL(daxmap_pool_check(path, DAXMAP_CHECK_DATA, NULL, NULL), -EBUSY);
	W_EQ(&w[2], 0, "objclose 0");
	W_EQ(&w[2], 0, "close");
	/* exclusive is refused while any shared opener is left, down to the last */
	W_EQ(&w[2], -EBUSY, "open %s 0", path);
	W_EQ(&w[0], 0, "unmap 0");
	W_EQ(&w[0], 0, "objclose 0");
	W_EQ(&w[0], 0, "close");
	W_EQ(&w[2], -EBUSY, "open %s 0", path);
	W_EQ(&w[1], 0, "objclose 0");
	W_EQ(&w[1], 0, "close");
	/* the last one gone, an exclusive opener gets it and shuts shared ones out */
	W_EQ(&w[2], 0, "open %s 0", path);
	W_EQ(&w[0], -EBUSY, "open %s 1", path);
	W_EQ(&w[1], -EBUSY, "open %s 0", path);
	W_EQ(&w[2], 0, "obj 0 c 0");
	W_EQ(&w[2], 0, "pcheck 0 %llu 200000 6", U(8 * EXT64));
	W_EQ(&w[2], 0, "objclose 0");
	W_EQ(&w[2], 0, "close");
	/* and once it closed, shared openers come back */
	W_EQ(&w[0], 0, "open %s 1", path);
	W_EQ(&w[1], 0, "open %s 1", path);
	W_EQ(&w[2], -EBUSY, "open %s 0", path);
	W_EQ(&w[0], 0, "close");
	W_EQ(&w[1], 0, "close");
	w_exit_all(w, 3);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

static void test_grow_of_a_shared_pool_is_eopnotsupp(void)
{
	struct daxmap_pool_opts opts;
	struct worker w;
	char path[512];

	begin("grow of a shared pool", 60);
	daxmap_pool_opts_init(&opts);
	opts.max_size = 128 * MiB;
	snprintf(path, sizeof(path), "%s", tu_path("grow.pool"));
	TU_OK(daxmap_pool_close(tu_pool_create_opts("grow.pool", 64 * MiB, &opts)));
	spawn_script(&w, "A");
	W_EQ(&w, 0, "open %s 1", path);
	W_EQ(&w, -EOPNOTSUPP, "grow %llu", U(96 * MiB));
	W_EQ(&w, (long long)(64 * MiB), "poolsize");
	W_EQ(&w, 0, "close");
	/* the same grow of the same pool opened exclusively works */
	W_EQ(&w, 0, "open %s 0", path);
	W_EQ(&w, 0, "grow %llu", U(96 * MiB));
	W_EQ(&w, (long long)(96 * MiB), "poolsize");
	W_EQ(&w, 0, "close");
	w_exit_all(&w, 1);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

/* ---- what one process does, the others see -------------------------------- */

#define V_SIZE (6 * MiB + 123)
#define V_MAP (8 * MiB)

static void test_bytes_and_sizes_are_seen_by_every_process(void)
{
	struct worker w[2], *a = &w[0], *b = &w[1];
	char path[512];
	long long used;

	begin("bytes and sizes across processes", 120);
	pool_make(path, sizeof(path), "vis.pool", 64 * MiB, 0);
	spawn_script(a, "A");
	spawn_script(b, "B");
	W_EQ(a, 0, "open %s 1", path);
	W_EQ(b, 0, "open %s 1", path);
	/* A creates and writes, through a mapping and with pwrite */
	W_EQ(a, 0, "obj 0 v %d", DAXMAP_CREATE | DAXMAP_EXCL);
	W_EQ(a, 0, "truncate 0 %llu", U(V_SIZE));
	W_EQ(a, 0, "map 0 %llu", U(V_MAP));
	W_EQ(a, 0, "mstore 0 0 %llu 11", U(3 * MiB));
	W_EQ(a, 300000, "pwrite 0 %llu 300000 12", U(4 * MiB));
	/* B finds the object, its size and its bytes, through a mapping and pread */
	W_EQ(b, -EEXIST, "obj 0 v %d", DAXMAP_CREATE | DAXMAP_EXCL);
	W_EQ(b, 0, "obj 0 v 0");
	W_EQ(b, (long long)V_SIZE, "size 0");
	W_EQ(b, 0, "map 0 %llu", U(V_MAP));
	W_EQ(b, 0, "mcheck 0 0 %llu 11", U(3 * MiB));
	W_EQ(b, 0, "pcheck 0 0 %llu 11", U(3 * MiB));
	W_EQ(b, 0, "mcheck 0 %llu 300000 12", U(4 * MiB));
	W_EQ(b, 0, "pcheck 0 %llu 300000 12", U(4 * MiB));
	W_EQ(b, 0, "mcheck 0 %llu %llu 0", U(3 * MiB), U(MiB));
	W_EQ(b, 0, "pcheck 0 %llu %llu 0", U(5 * MiB), U(V_SIZE - 5 * MiB));
	/* B writes over part of A's bytes and into a hole; A reads both */
	W_EQ(b, 0, "mstore 0 %llu 5000 13", U(MiB));
	W_EQ(b, 100000, "pwrite 0 %llu 100000 14", U(5 * MiB + 7));
	W_EQ(a, 0, "mcheck 0 %llu 5000 13", U(MiB));
	W_EQ(a, 0, "pcheck 0 %llu 5000 13", U(MiB));
	W_EQ(a, 0, "mcheck 0 %llu 100000 14", U(5 * MiB + 7));
	W_EQ(a, 0, "pcheck 0 %llu 100000 14", U(5 * MiB + 7));
	W_EQ(a, 0, "mcheck 0 0 %llu 11", U(MiB));
	W_EQ(a, 0, "mcheck 0 %llu %llu 11", U(MiB + 5000), U(2 * MiB - 5000));
	/* a grow in B and a shrink in A are seen by the other */
	W_EQ(b, 0, "truncate 0 %llu", U(7 * MiB + 5));
	W_EQ(a, (long long)(7 * MiB + 5), "size 0");
	W_EQ(a, 0, "mcheck 0 %llu %llu 0", U(V_SIZE), U(7 * MiB + 5 - V_SIZE));
	W_EQ(a, 0, "truncate 0 %llu", U(2 * MiB + 100));
	W_EQ(b, (long long)(2 * MiB + 100), "size 0");
	/* past the new EOF B gets SIGBUS, also where it had pages mapped */
	W_EQ(b, SIGBUS, "probe 0 %llu", U(page_up(2 * MiB + 100)));
	W_EQ(b, SIGBUS, "probe 0 %llu", U(4 * MiB));
	W_EQ(b, SIGBUS, "probe 0 %llu", U(5 * MiB + 7));
	W_EQ(b, 0, "mcheck 0 0 %llu 11", U(MiB));
	W_EQ(b, 0, "mcheck 0 %llu 5000 13", U(MiB));
	W_EQ(b, 0, "mcheck 0 %llu 100 11", U(2 * MiB));
	W_EQ(b, 0, "mcheck 0 %llu %llu 0", U(2 * MiB + 100),
	     U(page_up(2 * MiB + 100) - 2 * MiB - 100));
	/* grown again, what the shrink cut reads zero everywhere */
	W_EQ(b, 0, "truncate 0 %llu", U(6 * MiB));
	W_EQ(a, (long long)(6 * MiB), "size 0");
	W_EQ(a, 0, "mcheck 0 %llu %llu 0", U(2 * MiB + 100), U(4 * MiB - 100));
	W_EQ(a, 0, "pcheck 0 %llu %llu 0", U(2 * MiB + 100), U(4 * MiB - 100));
	W_EQ(b, 0, "mcheck 0 %llu %llu 0", U(2 * MiB + 100), U(4 * MiB - 100));
	/* and the pool's space is one figure */
	used = w_cmd(a, "used");
	CU_ASSERT(used > 0);
	W_EQ(b, used, "used");
	W_EQ(a, 0, "unmap 0");
	W_EQ(a, 0, "objclose 0");
	W_EQ(a, 0, "close");
	W_EQ(b, 0, "unmap 0");
	W_EQ(b, 0, "objclose 0");
	W_EQ(b, 0, "close");
	w_exit_all(w, 2);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

/*
 * Punch, truncate, zero range and pwrite in one process reach pages the other
 * has mapped, however they came there (its stores, its loads of a hole), and
 * what the other stores afterwards lands in the object for both.
 */
static void test_a_change_in_one_process_reaches_the_mappings_of_the_other(void)
{
	struct worker w[2], *a = &w[0], *b = &w[1];
	char path[512];

	begin("changes reach the other's mappings", 60);
	pool_make(path, sizeof(path), "reach.pool", 64 * MiB, EXT64);
	spawn_script(a, "A");
	spawn_script(b, "B");
	W_EQ(a, 0, "open %s 1", path);
	W_EQ(b, 0, "open %s 1", path);
	W_EQ(a, 0, "obj 0 o %d", DAXMAP_CREATE);
	W_EQ(a, 0, "truncate 0 %llu", U(4 * MiB));
	W_EQ(a, 0, "map 0 %llu", U(4 * MiB));
	W_EQ(b, 0, "obj 0 o 0");
	W_EQ(b, 0, "map 0 %llu", U(4 * MiB));
	/* a shrink in B: A's stored page past the new EOF gives SIGBUS, its store is refused */
	W_EQ(a, 0, "mstore 0 %llu 4096 5", U(3 * MiB));
	W_EQ(b, 0, "truncate 0 %llu", U(MiB));
	W_EQ(a, (long long)MiB, "size 0");
	W_EQ(a, SIGBUS, "probe 0 %llu", U(3 * MiB));
	W_EQ(a, SIGBUS, "mstore 0 %llu 8 6", U(3 * MiB));
	W_EQ(b, 0, "truncate 0 %llu", U(4 * MiB));
	W_EQ(a, 0, "mcheck 0 %llu 4096 0", U(3 * MiB));
	W_EQ(b, 0, "pcheck 0 %llu 4096 0", U(3 * MiB));
	/* a punch in B of a page A stored to: A reads zero, and its next store is the object's */
	W_EQ(a, 0, "mstore 0 %llu 4096 7", U(2 * MiB));
	W_EQ(b, 0, "punch 0 %llu %llu", U(2 * MiB), U(EXT64));
	W_EQ(a, 0, "mcheck 0 %llu 4096 0", U(2 * MiB));
	W_EQ(a, 0, "mstore 0 %llu 8 8", U(2 * MiB));
	W_EQ(b, 0, "mcheck 0 %llu 8 8", U(2 * MiB));
	W_EQ(b, 0, "pcheck 0 %llu 8 8", U(2 * MiB));
	/* a page A loaded from a hole, written by B's pwrite and punched by B */
	W_EQ(a, 0, "mcheck 0 %llu 4096 0", U(MiB));
	W_EQ(b, 4096, "pwrite 0 %llu 4096 9", U(MiB));
	W_EQ(a, 0, "mcheck 0 %llu 4096 9", U(MiB));
	W_EQ(b, 0, "punch 0 %llu %llu", U(MiB), U(EXT64));
	W_EQ(a, 0, "mcheck 0 %llu 4096 0", U(MiB));
	W_EQ(a, 0, "pcheck 0 %llu 4096 0", U(MiB));
	/* zero range and pwrite in B over a page A stored to */
	W_EQ(a, 0, "mstore 0 %llu 8192 10", U(512 * KiB));
	W_EQ(b, 0, "zero 0 %llu 4096", U(512 * KiB));
	W_EQ(a, 0, "mcheck 0 %llu 4096 0", U(512 * KiB));
	W_EQ(b, 100, "pwrite 0 %llu 100 11", U(512 * KiB + 4096));
	W_EQ(a, 0, "mcheck 0 %llu 100 11", U(512 * KiB + 4096));
	W_EQ(a, 0, "mcheck 0 %llu %llu 10", U(512 * KiB + 4196), U(4096 - 100));
	W_EQ(b, w_cmd(a, "used"), "used");
	for (int i = 0; i < 2; i++) {
		W_EQ(&w[i], 0, "unmap 0");
		W_EQ(&w[i], 0, "objclose 0");
		W_EQ(&w[i], 0, "close");
	}
	w_exit_all(w, 2);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

static void test_read_fault_on_a_hole_allocates_in_a_shared_pool(void)
{
	struct worker w[2], *a = &w[0], *b = &w[1];
	char path[512];
	long long u0;

	begin("read fault on a hole", 60);
	pool_make(path, sizeof(path), "readfault.pool", 64 * MiB, EXT64);
	spawn_script(a, "A");
	spawn_script(b, "B");
	W_EQ(a, 0, "open %s 1", path);
	W_EQ(b, 0, "open %s 1", path);
	W_EQ(a, 0, "obj 0 r %d", DAXMAP_CREATE);
	W_EQ(a, 0, "truncate 0 %llu", U(16 * EXT64));
	W_EQ(a, 0, "map 0 %llu", U(16 * EXT64));
	W_EQ(b, 0, "obj 0 r 0");
	W_EQ(b, 0, "map 0 %llu", U(16 * EXT64));
	u0 = w_cmd(a, "used");
	/* a load of a hole reads zero and allocates its extent, once */
	W_EQ(a, 0, "mcheck 0 %llu 1 0", U(3 * EXT64 + 100));
	W_EQ(a, u0 + (long long)EXT64, "used");
	W_EQ(b, 0, "mcheck 0 %llu %llu 0", U(3 * EXT64), U(EXT64));
	W_EQ(b, u0 + (long long)EXT64, "used");
	W_EQ(b, 0, "mcheck 0 %llu %llu 0", U(5 * EXT64), U(2 * PS));
	W_EQ(a, u0 + 2 * (long long)EXT64, "used");
	/* the extent a load allocated is the object's: a store in one is read in the other */
	W_EQ(b, 0, "mstore 0 %llu 10 21", U(3 * EXT64 + 100));
	W_EQ(a, 0, "mcheck 0 %llu 10 21", U(3 * EXT64 + 100));
	W_EQ(a, 0, "mstore 0 %llu 10 22", U(5 * EXT64 + PS));
	W_EQ(b, 0, "mcheck 0 %llu 10 22", U(5 * EXT64 + PS));
	W_EQ(b, 0, "pcheck 0 %llu 10 22", U(5 * EXT64 + PS));
	W_EQ(a, u0 + 2 * (long long)EXT64, "used");
	W_EQ(a, 0, "unmap 0");
	W_EQ(a, 0, "objclose 0");
	W_EQ(a, 0, "close");
	W_EQ(b, 0, "unmap 0");
	W_EQ(b, 0, "objclose 0");
	W_EQ(b, 0, "close");
	w_exit_all(w, 2);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

/* ---- one hole, two processes at once ---------------------------------------- */

#define H_ROUNDS 256

/*
 * Each round takes a fresh hole extent: both processes spin on a word of a
 * shared file and, when the parent sets it, touch the extent at once, in
 * the same page or in two pages, storing straight away or loading first
 * (a load allocates too). One extent must come of it, holding both bytes.
 */
static void test_one_hole_touched_by_two_processes_is_allocated_once(void)
{
	struct worker w[2];
	char path[512], cpath[512];
	_Atomic uint64_t *go;
	uint64_t seed = tu_seed("one_hole_two_processes");
	unsigned long bad = 0;

	begin("one hole, two processes", 120);
	pool_make(path, sizeof(path), "hole.pool", 128 * MiB, EXT64);
	go = coord_create("hole.coord", PS, cpath, sizeof(cpath));
	spawn_script(&w[0], "A");
	spawn_script(&w[1], "B");
	for (int i = 0; i < 2; i++) {
		W_EQ(&w[i], 0, "open %s 1", path);
		W_EQ(&w[i], 0, "coord %s", cpath);
		W_EQ(&w[i], 0, "obj 0 h %d", DAXMAP_CREATE);
	}
	W_EQ(&w[0], 0, "truncate 0 %llu", U(H_ROUNDS * EXT64));
	for (int i = 0; i < 2; i++)
		W_EQ(&w[i], 0, "map 0 %llu", U(H_ROUNDS * EXT64));

	for (uint64_t r = 0; r < H_ROUNDS && !bad; r++) {
		uint64_t mode = (r + seed) % 4, page = (r * 7 + seed) % (EXT64 / PS), off[2];
		long long u0 = w_cmd(&w[0], "used"), got[2];

		off[0] = r * EXT64 + page * PS + 8;
		off[1] = r * EXT64 + (mode == 1 ? (page + 5) % (EXT64 / PS) : page) * PS + 16;
		for (int i = 0; i < 2; i++)
			w_send(&w[i], "race 0 %llu %d %d %llu", U(off[i]), i + 1,
			       mode == 3 || (mode == 2 && i == 0), U(r + 1));
		for (int i = 0; i < 2; i++)
			CU_ASSERT_FATAL(w_reply(&w[i]) == 0); /* armed */
		atomic_store(go, r + 1);
		for (int i = 0; i < 2; i++)
			got[i] = w_reply(&w[i]);
		for (int i = 0; i < 2; i++) {
			if (got[i] != 0) {
				fprintf(stderr,
					"round %llu: worker %s's access at %#llx gave %lld\n", U(r),
					w[i].name, U(off[i]), got[i]);
				bad++;
			}
			/* each reads the other's byte */
			if (!w_expect(&w[i], pat((uint64_t)(2 - i), off[1 - i]), "byte 0 %llu",
				      U(off[1 - i])))
				bad++;
			if (!w_expect(&w[i], u0 + (long long)EXT64, "used")) {
				fprintf(stderr,
					"round %llu (mode %llu): not one extent for one hole\n",
					U(r), U(mode));
				bad++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	W_EQ(&w[1], 0, "pcheck 0 %llu 1 1", U(8 + (seed % (EXT64 / PS)) * PS));
	for (int i = 0; i < 2; i++) {
		W_EQ(&w[i], 0, "unmap 0");
		W_EQ(&w[i], 0, "objclose 0");
		W_EQ(&w[i], 0, "close");
	}
	w_exit_all(w, 2);
	munmap((void *)go, PS);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

/* ---- unlink of an object another process holds ------------------------------ */

static void test_unlink_of_an_object_held_by_another_process_is_ebusy(void)
{
	struct worker w[3], *a = &w[0], *b = &w[1], *c = &w[2];
	char path[512];
	long long u0;
	int ret = -EBUSY, tries = 0;

	begin("unlink of a held object", 60);
	pool_make(path, sizeof(path), "unlink.pool", 64 * MiB, 0);
	spawn_script(a, "A");
	spawn_script(b, "B");
	spawn_script(c, "C");
	W_EQ(a, 0, "open %s 1", path);
	W_EQ(b, 0, "open %s 1", path);
	W_EQ(c, 0, "open %s 1", path);
	u0 = w_cmd(a, "used");
	W_EQ(a, 0, "obj 0 u %d", DAXMAP_CREATE);
	W_EQ(a, 0, "truncate 0 %llu", U(4 * MiB));
	W_EQ(a, (long long)(3 * MiB), "pwrite 0 0 %llu 3", U(3 * MiB));
	/* open in A */
	W_EQ(b, -EBUSY, "unlink u");
	W_EQ(b, 0, "obj 0 u 0");
	W_EQ(b, 0, "pcheck 0 0 %llu 3", U(3 * MiB));
	/* mapped in A, its handle closed */
	W_EQ(a, 0, "map 0 %llu", U(4 * MiB));
	W_EQ(a, 0, "objclose 0");
	W_EQ(b, 0, "objclose 0");
	W_EQ(b, -EBUSY, "unlink u");
	W_EQ(c, -EBUSY, "unlink u");
	W_EQ(a, 0, "mcheck 0 0 %llu 3", U(3 * MiB));
	/* unmapped in A too: it goes, for everyone, with its space */
	W_EQ(a, 0, "unmap 0");
	W_EQ(b, 0, "unlink u");
	W_EQ(a, -ENOENT, "obj 0 u 0");
	W_EQ(c, -ENOENT, "obj 0 u 0");
	W_EQ(c, -ENOENT, "unlink u");
	W_EQ(a, u0, "used");
	/* a process that died holding an object does not hold it any more */
	W_EQ(c, 0, "obj 0 d %d", DAXMAP_CREATE);
	W_EQ(c, 0, "truncate 0 %llu", U(2 * MiB));
	W_EQ(c, 0, "map 0 %llu", U(2 * MiB));
	W_EQ(c, 0, "mstore 0 0 4096 4");
	W_EQ(b, -EBUSY, "unlink d");
	kill(c->pid, SIGKILL);
	CU_ASSERT(waitpid(c->pid, NULL, 0) == c->pid);
	live_del(c->pid);
	w_close(c);
	c->pid = 0;
	/* (the library may notice the death a little later) */
	while ((ret = (int)w_cmd(b, "unlink d")) == -EBUSY && tries++ < 200)
		usleep(10000);
	if (ret != 0)
		fprintf(stderr,
			"unlink of an object held by a dead process: %d after %d tries: %s\n", ret,
			tries, b->msg);
	CU_ASSERT_EQUAL(ret, 0);
	if (tries)
		printf("  unlink held by a dead process: -EBUSY %d times first\n", tries);
	W_EQ(a, u0, "used");
	W_EQ(a, 0, "close");
	W_EQ(b, 0, "close");
	w_exit_all(w, 2);
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

/* ---- punch and truncate in one process, stores in others ------------------- */

/*
 * Process T punches, zeroes and shrinks-then-regrows ranges of object O
 * while writers W0 and W1 store 8-byte words into their own lanes of it
 * (one word per page each, in halves of the page) through their mappings,
 * and check them. T numbers its operations: before operation k it records
 * the range k erases and sets `started` to k; once it returned, `done` to k.
 * A writer records, per word, the value v it stored last, `done` read just
 * before the store (d) and `started` read just after it (s). Operation k
 * covering the word then
 *   - cannot have erased v if k <= d (it returned before the store);
 *   - has erased it if s < k <= D, where D is `done` read before a load
 *     (it began after the store and returned before the load);
 *   - may have erased it otherwise, when k began before the load ended.
 * So a load must see 0 (erased for sure: a punched range reads zero until
 * rewritten), 0 or v (maybe erased), or v (no lost store); anything else
 * is stale or foreign data. Words outside the lanes stay zero.
 *
 * EOF: T publishes (epoch, lowest EOF possible) in one word, lowered before
 * a shrink and raised after the regrow returned; a SIGBUS below the lowest
 * EOF of an access during which the word did not change is a SIGBUS inside
 * EOF. A decoy object D of T's, punched and rewritten extent by extent,
 * takes freed extents: a store that reached a freed extent shows there.
 * At the end all three processes check every word through a mapping and
 * pread, the parent checks the pool with DAXMAP_CHECK_DATA.
 */
#define R4_SIZE (8 * MiB)
#define R4_NW 2
#define R4_WORDS (R4_SIZE / PS)
#define R4_MAXOPS 200000
#define R4_DEXT 16 /* extents of the decoy object */
#define R4_LOW(w) ((w) & 0xffffffffu)

struct r4_rec {
	uint64_t v, d, s;
};

struct r4_coord {
	_Atomic int ready, stop, quiet, failed;
	_Atomic uint64_t started, done, eofword;
	_Atomic uint64_t stores[R4_NW], checks[R4_NW], sigbus[R4_NW], decoy_checks;
	uint64_t lo[R4_MAXOPS + 1], hi[R4_MAXOPS + 1];
	struct r4_rec rec[R4_NW][R4_WORDS];
};

static uint64_t r4_off(unsigned w, uint64_t j)
{
	return j * PS + w * (PS / 2) + (j * 37 % 32) * 64;
}

/* The writer of the lane word at off, or -1 when off is not one (*j: its index). */
static int r4_owner(uint64_t off, uint64_t *j)
{
	unsigned w = (unsigned)(off % PS / (PS / 2));

	*j = off / PS;
	return r4_off(w, *j) == off ? (int)w : -1;
}

static uint64_t r4_val(unsigned w, uint64_t j, uint64_t gen)
{
	return ((uint64_t)(w + 1) << 56) | (j << 40) | (gen & 0xffffffffffu);
}

static const char *r4_who = "?";

static void r4_fail(struct r4_coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void r4_fail(struct r4_coord *c, const char *fmt, ...)
{
	static int n;
	va_list ap;

	atomic_store(&c->failed, 1);
	if (n++ >= 10)
		return; /* the first ones tell the story */
	fprintf(stderr, "FAIL [punch race, %s]: ", r4_who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Whether x may be read from word j of writer w by a load after operation d1
 * returned and before operation s2 began (the rule above). */
static int r4_ok(const struct r4_coord *c, unsigned w, uint64_t j, uint64_t d1, uint64_t s2,
		 uint64_t x)
{
	const struct r4_rec *r = &c->rec[w][j];
	uint64_t off = r4_off(w, j);
	int may = 0;

	if (r->v == 0)
		return x == 0;
	for (uint64_t k = r->d + 1; k <= s2 && k <= R4_MAXOPS; k++) {
		if (off < c->lo[k] || off >= c->hi[k])
			continue;
		if (k > r->s && k <= d1)
			return x == 0;
		may = 1;
	}
	return x == r->v || (may && x == 0);
}

static const char *r4_why(uint64_t x, uint64_t v, unsigned w, uint64_t j)
{
	if (x == 0)
		return " (lost)";
	if (x == v)
		return " (an operation that erased it returned before the load: stale)";
	if (x >> 56 == w + 1 && (x >> 40 & 0xffff) == j)
		return " (an older value of the word: stale)";
	return " (not a value of this word: foreign data)";
}

static void r4_say_word(struct r4_coord *c, unsigned w, uint64_t j, uint64_t x, const char *when)
{
	const struct r4_rec *r = &c->rec[w][j];

	r4_fail(c, "%s: writer %u's word %llu (offset %#llx) reads %#llx; last stored %#llx "
		   "after op %llu returned, op %llu began after it; %llu ops so far%s",
		when, w, U(j), U(r4_off(w, j)), U(x), U(r->v), U(r->d), U(r->s + 1),
		U(atomic_load(&c->done)),
		r4_why(x, r->v, w, j));
}

/* A signal at an access to off, with the EOF word read before (w1) and after (w2). */
static void r4_signal(struct r4_coord *c, unsigned w, int sig, const uint8_t *p, uint64_t off,
		      uint64_t w1, uint64_t w2, const char *what)
{
	if (sig != SIGBUS) {
		r4_fail(c, "signal %d at the %s of offset %#llx", sig, what, U(off));
		return;
	}
	atomic_fetch_add(&c->sigbus[w], 1);
	if (g_addr != p)
		r4_fail(c, "SIGBUS at the %s of offset %#llx names address %p, not %p", what,
			U(off), g_addr, (const void *)p);
	if (w1 == w2 && off < R4_LOW(w1))
		r4_fail(c, "SIGBUS inside EOF: %s of offset %#llx, EOF at least %#llx all along",
			what, U(off), U(R4_LOW(w1)));
}

static void r4_wait_all(struct r4_coord *c, _Atomic int *count, int n)
{
	atomic_fetch_add(count, 1);
	while (atomic_load(count) < n && !atomic_load(&c->failed))
		usleep(1000);
}

static void r4_writer(struct r4_coord *c, uint8_t *m, daxmap_obj *o, unsigned w, uint64_t seed)
{
	uint64_t rng = seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (w + 1)), gen = 0;

	while (!atomic_load(&c->stop) && !atomic_load(&c->failed)) {
		uint64_t r = tu_rand(&rng), j = r % R4_WORDS, off = r4_off(w, j), x = 0, w1, w2;
		uint64_t *p = (uint64_t *)(m + off);
		int sig;

		if ((r >> 32) % 4 == 0) {
			uint64_t d1 = atomic_load(&c->done), s2;
			w1 = atomic_load(&c->eofword);
			if ((r >> 36) % 8 == 0) {
				/* pread reads the object's extents, whatever this mapping holds */
				ssize_t n = daxmap_obj_pread(o, &x, 8, off);
				sig = n == 8 ? 0 : -1;
				if (n < 0)
					r4_fail(c, "pread at %#llx = %zd: %s", U(off), n,
						daxmap_errormsg());
			} else {
				sig = guarded_load64(p, &x);
			}
			atomic_thread_fence(memory_order_seq_cst);
			s2 = atomic_load(&c->started);
			w2 = atomic_load(&c->eofword);
			if (sig < 0) {
				if (w1 == w2 && off < R4_LOW(w1))
					r4_fail(c, "pread at %#llx short inside EOF", U(off));
				continue;
			}
			if (sig) {
				r4_signal(c, w, sig, (const uint8_t *)p, off, w1, w2, "load");
				continue;
			}
			if (!r4_ok(c, w, j, d1, s2, x))
				r4_say_word(c, w, j, x, "during the race");
			atomic_fetch_add(&c->checks[w], 1);
		} else {
			uint64_t d = atomic_load(&c->done), v = r4_val(w, j, ++gen), s;
			w1 = atomic_load(&c->eofword);
			sig = guarded_store64(p, v);
			/* the store is out before `started` is read */
			atomic_thread_fence(memory_order_seq_cst);
			s = atomic_load(&c->started);
			w2 = atomic_load(&c->eofword);
			if (sig) {
				r4_signal(c, w, sig, (const uint8_t *)p, off, w1, w2, "store");
				continue;
			}
			c->rec[w][j] = (struct r4_rec){v, d, s};
			atomic_fetch_add(&c->stores[w], 1);
		}
	}
}

static int r4_decoy_check(struct r4_coord *c, daxmap_obj *d, const uint64_t *dgen, uint8_t *buf)
{
	for (uint64_t e = 0; e < R4_DEXT; e++) {
		if (daxmap_obj_pread(d, buf, EXT64, e * EXT64) != (ssize_t)EXT64) {
			r4_fail(c, "pread of the decoy: %s", daxmap_errormsg());
			return -1;
		}
		for (uint64_t i = 0; i < EXT64; i++)
			if (buf[i] != pat(dgen[e], e * EXT64 + i)) {
				r4_fail(c,
					"decoy extent %llu byte %#llx reads %#x, expected %#x: a "
					"store reached an extent after it was freed",
					U(e), U(i), buf[i], pat(dgen[e], e * EXT64 + i));
				return -1;
			}
	}
	atomic_fetch_add(&c->decoy_checks, 1);
	return 0;
}

/* Punches, zeroes, shrinks and regrows O for secs, then stops the writers. */
static void r4_truncater(struct r4_coord *c, daxmap_obj *o, daxmap_obj *d, uint64_t seed,
			 double secs)
{
	uint64_t rng = seed ^ UINT64_C(0x7472756e63617465), epoch = 0, dgen[R4_DEXT], deadline;
	uint8_t *buf = malloc(EXT64);
	uint64_t k = 0;

	if (!buf) {
		r4_fail(c, "out of memory");
		return;
	}
	for (uint64_t e = 0; e < R4_DEXT; e++) {
		dgen[e] = 100 + e;
		pat_fill(buf, EXT64, dgen[e], e * EXT64);
		if (daxmap_obj_pwrite(d, buf, EXT64, e * EXT64, 0) != (ssize_t)EXT64)
			r4_fail(c, "pwrite of the decoy: %s", daxmap_errormsg());
	}
	atomic_store(&c->eofword, R4_SIZE);
	r4_wait_all(c, &c->ready, R4_NW + 1);
	deadline = now_ns() + (uint64_t)(secs * 1e9);
	while (now_ns() < deadline && k < R4_MAXOPS && !atomic_load(&c->failed)) {
		uint64_t r = tu_rand(&rng), lo = tu_rand(&rng) % (R4_SIZE / 8) * 8, hi, e;
		unsigned kind = (unsigned)(r % 10);
		int ret;

		if ((r >> 8) % 3 == 0)
			lo &= ~(PS - 1);
		else if ((r >> 8) % 3 == 1)
			lo &= ~(EXT64 - 1);
		hi = kind < 7 ? min64(lo + 8 * (1 + tu_rand(&rng) % (MiB / 8)), R4_SIZE) : R4_SIZE;
		c->lo[++k] = lo;
		c->hi[k] = hi;
		atomic_store(&c->started, k);
		if (kind < 5) {
			ret = daxmap_obj_punch_hole(o, lo, hi - lo);
		} else if (kind < 7) {
			ret = daxmap_obj_zero_range(o, lo, hi - lo);
		} else {
			/* lowered before the shrink, raised after the regrow returned */
			atomic_store(&c->eofword, (++epoch << 32) | lo);
			ret = daxmap_obj_truncate(o, lo);
			if (ret == 0)
				ret = daxmap_obj_truncate(o, R4_SIZE);
			atomic_store(&c->eofword, (++epoch << 32) | R4_SIZE);
		}
		if (ret < 0)
			r4_fail(c, "op %llu (kind %u) on [%#llx, %#llx) = %d: %s", U(k), kind,
				U(lo), U(hi), ret, daxmap_errormsg());
		atomic_store(&c->done, k);
		/* the decoy takes a fresh extent, often the one just freed */
		e = tu_rand(&rng) % R4_DEXT;
		dgen[e] += R4_DEXT;
		pat_fill(buf, EXT64, dgen[e], e * EXT64);
		if (daxmap_obj_punch_hole(d, e * EXT64, EXT64) < 0 ||
		    daxmap_obj_pwrite(d, buf, EXT64, e * EXT64, 0) != (ssize_t)EXT64)
			r4_fail(c, "decoy rewrite: %s", daxmap_errormsg());
		if (k % 32 == 0)
			r4_decoy_check(c, d, dgen, buf);
		if ((r >> 40) % 4 == 0)
			usleep((useconds_t)((r >> 44) % 300));
	}
	atomic_store(&c->stop, 1);
	r4_decoy_check(c, d, dgen, buf);
	free(buf);
}

/* Every word of O, through the mapping and pread: lane words by the rule, the rest zero. */
static void r4_verify(struct r4_coord *c, const uint8_t *m, daxmap_obj *o)
{
	uint64_t n = atomic_load(&c->done), *buf = malloc(R4_SIZE);
	int sig;

	if (!buf) {
		r4_fail(c, "out of memory");
		return;
	}
	for (int via_map = 0; via_map < 2; via_map++) {
		const char *when =
			via_map ? "at the end, through the mapping" : "at the end, by pread";
		if (via_map && (sig = guarded_copy(buf, m, R4_SIZE)) != 0) {
			r4_fail(c, "signal %d reading the mapping at offset %#llx at the end", sig,
				U((const uint8_t *)g_addr - m));
			continue;
		}
		if (!via_map && daxmap_obj_pread(o, buf, R4_SIZE, 0) != (ssize_t)R4_SIZE) {
			r4_fail(c, "pread of all of O: %s", daxmap_errormsg());
			continue;
		}
		for (uint64_t i = 0; i < R4_SIZE / 8; i++) {
			uint64_t j;
			int w = r4_owner(i * 8, &j);
			if (w >= 0 && !r4_ok(c, (unsigned)w, j, n, n, buf[i]))
				r4_say_word(c, (unsigned)w, j, buf[i], when);
			else if (w < 0 && buf[i] != 0)
				r4_fail(c, "%s: offset %#llx, in no lane, reads %#llx", when,
					U(i * 8), U(buf[i]));
		}
	}
	free(buf);
}

/* --race PATH COORD ROLE SEED: ROLE 0 is T, 1.. the writers. */
static int race_main(const char *path, const char *cpath, unsigned role, uint64_t seed)
{
	struct r4_coord *c = coord_map(cpath, sizeof(struct r4_coord));
	const char *secs_env = getenv("DAXMAP_TEST_RACE_SECS");
	double secs = secs_env && *secs_env ? strtod(secs_env, NULL) : 3.0;
	static char who[24];
	daxmap_pool *pool = NULL;
	daxmap_obj *o = NULL, *d = NULL;
	uint8_t *m = NULL;

	if (!c)
		return 2;
	if (role)
		snprintf(who, sizeof(who), "writer %u", role - 1);
	else
		snprintf(who, sizeof(who), "truncater");
	r4_who = who;
	guard_install();
	if (open_shared(&pool, path) < 0 || daxmap_obj_open(&o, pool, "O", 0) < 0 ||
	    daxmap_map((void **)&m, o, 0, R4_SIZE, RW) < 0 ||
	    (role == 0 && daxmap_obj_open(&d, pool, "D", 0) < 0)) {
		r4_fail(c, "setup: %s", daxmap_errormsg());
		return 1;
	}
	if (role == 0) {
		r4_truncater(c, o, d, seed, secs > 0 ? secs : 3.0);
	} else {
		r4_wait_all(c, &c->ready, R4_NW + 1);
		r4_writer(c, m, o, role - 1, seed);
	}
	/* everyone still, then everyone checks everything */
	r4_wait_all(c, &c->quiet, R4_NW + 1);
	if (!atomic_load(&c->failed))
		r4_verify(c, m, o);
	if (daxmap_unmap(m, R4_SIZE) < 0 || daxmap_obj_close(o) < 0 || daxmap_obj_close(d) < 0 ||
	    daxmap_pool_close(pool) < 0)
		r4_fail(c, "teardown: %s", daxmap_errormsg());
	return atomic_load(&c->failed) ? 1 : 0;
}

static void test_punch_and_truncate_race_stores_in_other_processes(void)
{
	uint64_t seed = tu_seed("punch_truncate_race_across_processes");
	struct r4_coord *c;
	struct worker w[R4_NW + 1];
	char path[512], cpath[512], seeds[32], role[8];
	daxmap_pool *pool;
	daxmap_obj *o;
	uint64_t t0 = now_ns();

	begin("punch/truncate race across processes", 120);
	pool_make(path, sizeof(path), "race.pool", 128 * MiB, EXT64);
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&o, pool, "O", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(o, R4_SIZE));
	TU_OK(daxmap_obj_close(o));
	TU_OK(daxmap_obj_open(&o, pool, "D", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(o, R4_DEXT * EXT64));
	TU_OK(daxmap_obj_close(o));
	TU_OK(daxmap_pool_close(pool));
	c = coord_create("race.coord", sizeof(*c), cpath, sizeof(cpath));
	snprintf(seeds, sizeof(seeds), "%llu", U(seed));
	for (unsigned i = 0; i <= R4_NW; i++) {
		snprintf(role, sizeof(role), "%u", i);
		spawn(&w[i], i ? "writer" : "truncater", 0, "--race", path, cpath, role, seeds,
		      (const char *)NULL);
	}
	CU_ASSERT_EQUAL(wait_all(w, R4_NW + 1, 90), 0);
	printf("  %llu punch/zero/shrink ops in %.1f s; writers: %llu + %llu stores, %llu + %llu "
	       "checks, %llu + %llu SIGBUS past EOF; decoy checked %llu times\n",
	       U(atomic_load(&c->done)), (double)(now_ns() - t0) / 1e9, U(c->stores[0]),
	       U(c->stores[1]), U(c->checks[0]), U(c->checks[1]), U(c->sigbus[0]),
	       U(c->sigbus[1]), U(c->decoy_checks));
	CU_ASSERT_EQUAL(atomic_load(&c->failed), 0);
	CU_ASSERT(atomic_load(&c->done) > 0);
	CU_ASSERT(atomic_load(&c->done) == atomic_load(&c->started));
	CU_ASSERT(c->stores[0] > 0 && c->stores[1] > 0 && c->checks[0] > 0 && c->checks[1] > 0);
	munmap(c, sizeof(*c));
	assert_clean(path, DAXMAP_CHECK_DATA);
	unlink(path);
	end();
}

/* ---- fsx, several processes, one model -------------------------------------- */

/*
 * FX_NW processes run random operations on two shared objects, in the manner
 * of test_fsx.c, against one model kept in the coordination file: the bytes
 * of each object, its size and which extents are allocated. Each process
 * owns byte lanes (FX_LANE bytes, dealt round-robin) and stores into its own
 * only, through its mapping or with pwrite, and checks its own lanes after
 * every store and load, while the others do the same. Operations that change
 * extents or sizes (truncate, punch hole, zero range, a write past EOF) take
 * an exclusive flock on a lock file (every other operation a shared one),
 * update the model for every lane and are recorded in the coordination file;
 * under the exclusive lock a process checks every lane, the EOF and the
 * pool's space. So a process reads, through its own mapping, what the others
 * stored and what their punches and truncates left.
 *
 * Space: a load through a mapping allocates the extents it touches (a read
 * fault allocates in a shared pool); pread of a hole may or may not (the
 * model keeps "maybe" for it and settles it when the count allows).
 */
#define FX_EXT EXT64
#define FX_MAXLEN (4 * MiB)
#define FX_NEXT (FX_MAXLEN / FX_EXT)
#define FX_NOBJ 2
#define FX_NW 3
#define FX_MAXW 4
#define FX_LANE KiB
#define FX_RECS 32
#define FX_LOG 16
#define FX_FULL_EVERY 1000
/* (sanitized builds run several times slower: fewer there) */
#define FX_DEFAULT_OPS (TU_SANITIZED ? 20000 : 100000)
#define FX_CERTAIN 1
#define FX_MAYBE 2

struct fx_model {
	uint64_t size;
	_Atomic uint8_t alloc[FX_NEXT]; /* FX_CERTAIN, FX_MAYBE bits */
	uint8_t good[FX_MAXLEN];        /* zero from size on */
};

struct fx_coord {
	_Atomic int failed, want_ex;
	_Atomic uint64_t nrec;
	_Atomic uint64_t ops[FX_MAXW], exops[FX_MAXW];
	char rec[FX_RECS][128]; /* the last extent operations, for a failure report */
	struct fx_model m[FX_NOBJ];
};

enum {
	FO_MWRITE,
	FO_PWRITE,
	FO_MREAD,
	FO_PREAD,
	FO_PROBE,
	FO_REMAP,
	FO_REOPEN,
	FO_TRUNCATE, /* from here on: under the exclusive lock */
	FO_PUNCH,
	FO_ZERO,
	FO_EXTEND,
	FO_N
};

static const char *const fo_names[FO_N] = {"mwrite", "pwrite", "mread",  "pread",
					   "probe",  "remap",  "reopen", "truncate",
					   "punch",  "zero",   "extend"};

struct fx {
	struct fx_coord *c;
	unsigned id, nw;
	uint64_t seed, rng;
	unsigned long opno, nops;
	const char *path;
	int lockfd;
	daxmap_pool *pool;
	daxmap_obj *obj[FX_NOBJ];
	uint8_t *m[FX_NOBJ];
	uint8_t *buf;
	char log[FX_LOG][128];
	unsigned long counts[FO_N];
};

static uint64_t fx_rnd(struct fx *f, uint64_t n)
{
	return n ? tu_rand(&f->rng) % n : 0;
}

static void fx_log(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fx_log(struct fx *f, const char *fmt, ...)
{
	char *line = f->log[f->opno % FX_LOG];
	int n = snprintf(line, sizeof(f->log[0]), "%lu: ", f->opno);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(f->log[0]) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* An extent operation, in the shared record too (under the exclusive lock). */
static void fx_record(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fx_record(struct fx *f, const char *fmt, ...)
{
	uint64_t n = atomic_fetch_add(&f->c->nrec, 1);
	char *rec = f->c->rec[n % FX_RECS];
	int k = snprintf(rec, sizeof(f->c->rec[0]), "worker %u op %lu: ", f->id, f->opno);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rec + k, sizeof(f->c->rec[0]) - (size_t)k, fmt, ap);
	va_end(ap);
	snprintf(f->log[f->opno % FX_LOG], sizeof(f->log[0]), "%s", rec);
}

static void fx_fail(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fx_fail(struct fx *f, const char *fmt, ...)
{
	struct daxmap_pool_stat st;
	uint64_t nrec = atomic_load(&f->c->nrec);
	va_list ap;

	atomic_store(&f->c->failed, 1);
	fflush(stdout);
	fprintf(stderr, "\nmulti-process fsx FAILURE: seed %llu, worker %u of %u, op %lu: ",
		U(f->seed), f->id, f->nw, f->opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nmodel: sizes %#llx %#llx\n", U(f->c->m[0].size), U(f->c->m[1].size));
	if (f->pool && daxmap_pool_stat(f->pool, &st) == 0)
		fprintf(stderr, "pool: used %llu extents\n", U(st.used / FX_EXT));
	fprintf(stderr, "this worker's last operations (oldest first):\n");
	for (unsigned long i = f->opno >= FX_LOG - 1 ? f->opno - (FX_LOG - 1) : 0; i <= f->opno;
	     i++)
		if (f->log[i % FX_LOG][0])
			fprintf(stderr, "  %s\n", f->log[i % FX_LOG]);
	fprintf(stderr, "the last extent operations of all workers (oldest first):\n");
	for (uint64_t i = nrec > FX_RECS ? nrec - FX_RECS : 0; i < nrec; i++)
		fprintf(stderr, "  %s\n", f->c->rec[i % FX_RECS]);
	fprintf(stderr, "replay: DAXMAP_TEST_SEED=%llu DAXMAP_TEST_ONLY=fsx (the processes "
			"interleave differently each run)\n", U(f->seed));
	fflush(NULL);
	_exit(1);
}

static int fx_mine(const struct fx *f, uint64_t off)
{
	return (off / FX_LANE) % f->nw == f->id;
}

/* The first own-lane chunk [*lo, *end) at or after *lo and below hi; 0: none. */
static int fx_chunk(const struct fx *f, uint64_t *lo, uint64_t hi, uint64_t *end)
{
	uint64_t a = *lo;

	while (a < hi && !fx_mine(f, a))
		a = (a / FX_LANE + 1) * FX_LANE;
	if (a >= hi)
		return 0;
	*lo = a;
	*end = min64((a / FX_LANE + 1) * FX_LANE, hi);
	return 1;
}

static void fx_mark(struct fx_model *md, uint64_t lo, uint64_t hi, int bits)
{
	for (uint64_t e = lo / FX_EXT; e < FX_NEXT && e * FX_EXT < hi; e++)
		if (bits == FX_CERTAIN || !(atomic_load(&md->alloc[e]) & FX_CERTAIN))
			atomic_fetch_or(&md->alloc[e], (uint8_t)bits);
}

static void fx_free(struct fx_model *md, uint64_t e_lo, uint64_t e_hi)
{
	for (uint64_t e = e_lo; e < e_hi && e < FX_NEXT; e++)
		atomic_store(&md->alloc[e], 0);
}

static void fx_model_truncate(struct fx_model *md, uint64_t size)
{
	if (size < md->size) {
		memset(md->good + size, 0, md->size - size);
		fx_free(md, (size + FX_EXT - 1) / FX_EXT, FX_NEXT);
	}
	md->size = size;
}

/*
 * Compares [lo, hi) of object o with the model, through the mapping or by
 * pread, every byte (all) or this process's lanes only. hi is clipped to
 * what can be read: page-rounded EOF through a mapping, EOF by pread.
 */
static void fx_check(struct fx *f, unsigned o, uint64_t lo, uint64_t hi, int all, int via_map,
		     const char *when)
{
	struct fx_model *md = &f->c->m[o];
	uint64_t bad = 0, first = 0, a, end;
	int sig;

	hi = min64(hi, via_map ? page_up(md->size) : md->size);
	if (lo >= hi)
		return;
	if (via_map) {
		if ((sig = guarded_copy(f->buf, f->m[o] + lo, hi - lo)) != 0)
			fx_fail(f, "%s: signal %d reading object %u [%#llx, %#llx) through the "
				   "mapping, at offset %#llx (EOF %#llx)",
				when, sig, o, U(lo), U(hi), U((uint8_t *)g_addr - f->m[o]),
				U(md->size));
		fx_mark(md, lo, hi, FX_CERTAIN);
	} else {
		ssize_t n = daxmap_obj_pread(f->obj[o], f->buf, hi - lo, lo);
		if (n != (ssize_t)(hi - lo))
			fx_fail(f, "%s: pread of object %u [%#llx, %#llx) = %zd (EOF %#llx): %s",
				when, o, U(lo), U(hi), n, U(md->size), daxmap_errormsg());
		fx_mark(md, lo, hi, FX_MAYBE);
	}
	for (a = lo; all ? a < hi : fx_chunk(f, &a, hi, &end); a = end) {
		if (all)
			end = hi;
		if (memcmp(f->buf + (a - lo), md->good + a, end - a) == 0)
			continue;
		for (uint64_t i = a; i < end; i++)
			if (f->buf[i - lo] != md->good[i] && !bad++)
				first = i;
	}
	if (bad)
		fx_fail(f,
			"%s: %llu bytes of object %u differ in [%#llx, %#llx) read %s; the "
			"first at %#llx (lane of worker %llu, extent %llu): got %#x, expected %#x",
			when, U(bad), o, U(lo), U(hi), via_map ? "through the mapping" : "by pread",
			U(first), U(first / FX_LANE % f->nw), U(first / FX_EXT), f->buf[first - lo],
			md->good[first]);
}

/* Past page-rounded EOF: SIGBUS for a load and a store, naming the address. */
static void fx_check_eof(struct fx *f, unsigned o, const char *when)
{
	struct fx_model *md = &f->c->m[o];
	uint64_t eof = page_up(md->size), size = 0, later;
	uint8_t v;
	int sig;

	if (daxmap_obj_size(f->obj[o], &size) < 0 || size != md->size)
		fx_fail(f, "%s: object %u's size is %#llx, the model's %#llx", when, o, U(size),
			U(md->size));
	if (eof >= FX_MAXLEN)
		return;
	later = eof + fx_rnd(f, (FX_MAXLEN - eof) / PS) * PS;
	if ((sig = guarded_load8(f->m[o] + eof, &v)) != SIGBUS || g_addr != f->m[o] + eof)
		fx_fail(f, "%s: load of object %u at %#llx, the first page past EOF, gave signal "
			   "%d at %p, not SIGBUS at %p",
			when, o, U(eof), sig, sig ? g_addr : NULL, (void *)(f->m[o] + eof));
	if ((sig = guarded_store8(f->m[o] + later, 0xee)) != SIGBUS)
		fx_fail(f, "%s: store to object %u at %#llx past EOF gave signal %d, not SIGBUS",
			when, o, U(later), sig);
}

/* Under the exclusive lock: the pool's used space against the model. */
static void fx_check_space(struct fx *f, const char *when)
{
	struct daxmap_pool_info info;
	struct daxmap_pool_stat st;
	uint64_t certain = 0, maybe = 0;
	int ret;

	if ((ret = daxmap_pool_stat(f->pool, &st)) < 0)
		fx_fail(f, "daxmap_pool_stat: %d %s", ret, daxmap_errormsg());
	for (unsigned o = 0; o < FX_NOBJ; o++)
		for (uint64_t e = 0; e < FX_NEXT; e++) {
			uint8_t a = atomic_load(&f->c->m[o].alloc[e]);
			certain += (a & FX_CERTAIN) != 0;
			maybe += a == FX_MAYBE;
		}
	if (st.used < certain * FX_EXT || st.used > (certain + maybe) * FX_EXT) {
		char ext[512];
		int n = 0;

		for (unsigned o = 0; o < FX_NOBJ; o++)
			for (uint64_t e = 0; e < FX_NEXT && n < (int)sizeof(ext) - 24; e++)
				if (atomic_load(&f->c->m[o].alloc[e]))
					n += snprintf(ext + n, sizeof(ext) - (size_t)n,
						      " %u:%llu%s", o, U(e),
						      atomic_load(&f->c->m[o].alloc[e]) == FX_MAYBE
							      ? "?"
							      : "");
		ext[n] = 0;
		/* the file's extent table, as a reader that is no opener sees it */
		if (daxmap_pool_inspect(f->path, 0, &info, NULL, NULL) < 0)
			info.used = UINT64_MAX;
		fx_fail(f, "%s: the pool uses %llu extents (its extent table: %lld), the model "
			   "%llu (and %llu a pread of a hole may have allocated); the model's "
			   "(object:extent, ? maybe):%s",
			when, U(st.used / FX_EXT),
			info.used == UINT64_MAX ? -1LL : (long long)(info.used / FX_EXT),
			U(certain), U(maybe), ext);
	}
	if (maybe == 0 || (st.used != certain * FX_EXT && st.used != (certain + maybe) * FX_EXT))
		return;
	/* the count tells: all the maybes were allocated, or none */
	for (unsigned o = 0; o < FX_NOBJ; o++)
		for (uint64_t e = 0; e < FX_NEXT; e++)
			if (atomic_load(&f->c->m[o].alloc[e]) == FX_MAYBE)
				atomic_store(&f->c->m[o].alloc[e],
					     st.used == certain * FX_EXT ? 0 : FX_CERTAIN);
}

/* Under the exclusive lock: every byte of both objects, two ways, and the space. */
static void fx_check_all(struct fx *f, const char *when)
{
	for (unsigned o = 0; o < FX_NOBJ; o++) {
		fx_check(f, o, 0, FX_MAXLEN, 1, 1, when);
		fx_check(f, o, 0, FX_MAXLEN, 1, 0, when);
		fx_check_eof(f, o, when);
	}
	fx_check_space(f, when);
}

static void fx_lock(struct fx *f, int ex)
{
	int ret;

	if (ex) {
		atomic_fetch_add(&f->c->want_ex, 1);
		while ((ret = flock(f->lockfd, LOCK_EX)) < 0 && errno == EINTR)
			;
		atomic_fetch_sub(&f->c->want_ex, 1);
	} else {
		/* flock prefers no one: without this a stream of shared holders starves it */
		while (atomic_load(&f->c->want_ex) > 0)
			usleep(20);
		while ((ret = flock(f->lockfd, LOCK_SH)) < 0 && errno == EINTR)
			;
	}
	if (ret < 0)
		fx_fail(f, "flock: %s", strerror(errno));
}

static void fx_unlock(struct fx *f)
{
	if (flock(f->lockfd, LOCK_UN) < 0)
		fx_fail(f, "flock(LOCK_UN): %s", strerror(errno));
}

static void fx_map(struct fx *f, unsigned o)
{
	int ret = daxmap_map((void **)&f->m[o], f->obj[o], 0, FX_MAXLEN, RW);
	if (ret < 0)
		fx_fail(f, "daxmap_map of object %u: %d %s", o, ret, daxmap_errormsg());
}

static void fx_open_all(struct fx *f)
{
	char name[8];
	int ret;

	if ((ret = open_shared(&f->pool, f->path)) < 0)
		fx_fail(f, "shared open: %d %s", ret, daxmap_errormsg());
	for (unsigned o = 0; o < FX_NOBJ; o++) {
		snprintf(name, sizeof(name), "f%u", o);
		if ((ret = daxmap_obj_open(&f->obj[o], f->pool, name, 0)) < 0)
			fx_fail(f, "daxmap_obj_open(%s): %d %s", name, ret, daxmap_errormsg());
		fx_map(f, o);
	}
}

static void fx_close_all(struct fx *f)
{
	int ret;

	for (unsigned o = 0; o < FX_NOBJ; o++) {
		if ((ret = daxmap_unmap(f->m[o], FX_MAXLEN)) < 0 ||
		    (ret = daxmap_obj_close(f->obj[o])) < 0)
			fx_fail(f, "unmap/close of object %u: %d %s", o, ret, daxmap_errormsg());
		f->m[o] = NULL;
		f->obj[o] = NULL;
	}
	if ((ret = daxmap_pool_close(f->pool)) < 0)
		fx_fail(f, "daxmap_pool_close: %d %s", ret, daxmap_errormsg());
	f->pool = NULL;
}

/* An offset below FX_MAXLEN: near EOF, on an extent edge, page aligned, anywhere. */
static uint64_t fx_off(struct fx *f, uint64_t size)
{
	uint64_t off;

	switch (fx_rnd(f, 8)) {
	case 0:
	case 1:
		off = size + fx_rnd(f, 128 * KiB);
		off = off > 64 * KiB ? off - 64 * KiB : fx_rnd(f, 4 * KiB);
		break;
	case 2:
		off = fx_rnd(f, FX_NEXT) * FX_EXT + fx_rnd(f, 3);
		off = off ? off - 1 : 0;
		break;
	case 3:
		off = fx_rnd(f, FX_MAXLEN / PS) * PS;
		break;
	default:
		off = fx_rnd(f, FX_MAXLEN);
	}
	return min64(off, FX_MAXLEN - 1);
}

/* A length >= 1 with off + len <= FX_MAXLEN: mostly small. */
static uint64_t fx_len(struct fx *f, uint64_t off)
{
	uint64_t r = fx_rnd(f, 100), len;

	if (r < 60)
		len = 1 + fx_rnd(f, 16 * KiB);
	else if (r < 88)
		len = 1 + fx_rnd(f, 256 * KiB);
	else if (r < 96)
		len = FX_EXT * (1 + fx_rnd(f, 8));
	else
		len = 1 + fx_rnd(f, MiB);
	return min64(len, FX_MAXLEN - off);
}

static uint64_t fx_size(struct fx *f, uint64_t size)
{
	switch (fx_rnd(f, 10)) {
	case 0:
		return fx_rnd(f, 4) ? FX_MAXLEN / 2 + fx_rnd(f, FX_MAXLEN / 2) : 0;
	case 1:
	case 2:
		size += fx_rnd(f, 128 * KiB);
		return min64(size > 64 * KiB ? size - 64 * KiB : fx_rnd(f, 64 * KiB), FX_MAXLEN);
	case 3:
		return fx_rnd(f, FX_NEXT + 1) * FX_EXT;
	case 4:
		return min64(fx_rnd(f, FX_MAXLEN / PS + 1) * PS + fx_rnd(f, 3), FX_MAXLEN);
	default:
		return fx_rnd(f, FX_MAXLEN + 1);
	}
}

/* Stores this op's pattern into the own lanes of [lo, hi) of object o. */
static void fx_store(struct fx *f, unsigned o, uint64_t lo, uint64_t hi, int via_map)
{
	struct fx_model *md = &f->c->m[o];
	/* the byte tells the op and the worker, so a misplaced one tells where it came from */
	uint8_t opb = (uint8_t)((f->opno * FX_MAXW + f->id) % 251 + 1);
	uint64_t a, end;
	ssize_t n;
	int sig;

	for (a = lo; fx_chunk(f, &a, hi, &end); a = end) {
		for (uint64_t i = a; i < end; i++)
			f->buf[i - a] = (uint8_t)(opb + i % 251);
		if (via_map) {
			if ((sig = guarded_copy(f->m[o] + a, f->buf, end - a)) != 0)
				fx_fail(f,
					"signal %d storing to object %u [%#llx, %#llx) through the "
					"mapping, at offset %#llx (EOF %#llx)",
					sig, o, U(a), U(end), U((uint8_t *)g_addr - f->m[o]),
					U(md->size));
		} else if ((n = daxmap_obj_pwrite(f->obj[o], f->buf, end - a, a, 0)) !=
			   (ssize_t)(end - a)) {
			fx_fail(f, "pwrite of object %u [%#llx, %#llx) = %zd: %s", o, U(a), U(end),
				n, daxmap_errormsg());
		}
		memcpy(md->good + a, f->buf, end - a);
		fx_mark(md, a, end, FX_CERTAIN);
	}
}

/* A write inside EOF (shared lock): the size stays. */
static void fx_op_write(struct fx *f, unsigned o, int via_map)
{
	uint64_t size = f->c->m[o].size, off, len;

	if (size == 0) {
		fx_log(f, "write to object %u: empty, skipped", o);
		return;
	}
	off = fx_off(f, size) % size;
	len = min64(fx_len(f, off), size - off);
	if (!via_map)
		len = min64(len, 32 * KiB); /* a pwrite a lane */
	fx_log(f, "%s object %u [%#llx, %#llx) (size %#llx)", via_map ? "mwrite" : "pwrite", o,
	       U(off), U(off + len), U(size));
	fx_store(f, o, off, off + len, via_map);
	fx_check(f, o, off > 64 ? off - 64 : 0, off + len + 64, 0, 1, "after write");
}

static void fx_op_read(struct fx *f, unsigned o, int via_map)
{
	uint64_t size = f->c->m[o].size, lim = via_map ? page_up(size) : size, off, len;

	if (lim == 0) {
		fx_log(f, "read of object %u: empty, skipped", o);
		return;
	}
	off = fx_off(f, size) % lim;
	len = min64(fx_len(f, off), lim - off);
	fx_log(f, "%s object %u [%#llx, %#llx) (size %#llx)", via_map ? "mread" : "pread", o,
	       U(off), U(off + len), U(size));
	fx_check(f, o, off, off + len, 0, via_map, "read");
}

static void fx_op_extent(struct fx *f, int op, unsigned o)
{
	struct fx_model *md = &f->c->m[o];
	uint64_t old = md->size, off = fx_off(f, old), len = fx_len(f, off), end = off + len;
	int ret = 0, via_map = (int)fx_rnd(f, 2);

	switch (op) {
	case FO_TRUNCATE:
		end = off = fx_size(f, old);
		fx_record(f, "truncate object %u %#llx -> %#llx", o, U(old), U(off));
		if ((ret = daxmap_obj_truncate(f->obj[o], off)) == 0)
			fx_model_truncate(md, off);
		fx_check(f, o, off > 8 * KiB ? off - 8 * KiB : 0, off + 8 * KiB, 1, via_map,
			 "after truncate");
		fx_check(f, o, old > 8 * KiB ? old - 8 * KiB : 0, old + 8 * KiB, 1, !via_map,
			 "after truncate");
		break;
	case FO_PUNCH:
		fx_record(f, "punch object %u [%#llx, %#llx) (size %#llx)", o, U(off), U(end),
			  U(old));
		if ((ret = daxmap_obj_punch_hole(f->obj[o], off, len)) == 0 &&
		    off < min64(end, old)) {
			memset(md->good + off, 0, min64(end, old) - off);
			fx_free(md, (off + FX_EXT - 1) / FX_EXT, min64(end, old) / FX_EXT);
		}
		break;
	case FO_ZERO:
		fx_record(f, "zero object %u [%#llx, %#llx) (size %#llx)", o, U(off), U(end),
			  U(old));
		if ((ret = daxmap_obj_zero_range(f->obj[o], off, len)) == 0) {
			if (off < old)
				memset(md->good + off, 0, min64(end, old) - off);
			if (end > old)
				md->size = end;
		}
		break;
	default: /* FO_EXTEND: a write that may reach past EOF (a truncate first, as fsx) */
		fx_record(f, "extend-write object %u [%#llx, %#llx) (size %#llx)", o, U(off),
			  U(end), U(old));
		if (end > old && (ret = daxmap_obj_truncate(f->obj[o], end)) == 0)
			md->size = end;
		if (ret == 0)
			fx_store(f, o, off, end, via_map);
		break;
	}
	if (ret < 0)
		fx_fail(f, "%s of object %u: %d %s", fo_names[op], o, ret, daxmap_errormsg());
	if (op != FO_TRUNCATE)
		fx_check(f, o, off > 4096 ? off - 4096 : 0, end + 4096, 1, via_map, "after the op");
	fx_check_eof(f, o, "after the op");
	fx_check_space(f, "after the op");
}

static int fx_pick(struct fx *f)
{
	static const int w[FO_N] = {350, 100, 320, 120, 30, 3, 1, 20, 30, 16, 10};
	int r = (int)fx_rnd(f, 1000);

	for (int op = 0; op < FO_N; op++) {
		if (r < w[op])
			return op;
		r -= w[op];
	}
	return FO_MREAD;
}

static void fx_do(struct fx *f, int op)
{
	unsigned o = (unsigned)fx_rnd(f, FX_NOBJ);

	switch (op) {
	case FO_MWRITE:
	case FO_PWRITE:
		fx_op_write(f, o, op == FO_MWRITE);
		break;
	case FO_MREAD:
	case FO_PREAD:
		fx_op_read(f, o, op == FO_MREAD);
		break;
	case FO_PROBE:
		fx_log(f, "probe object %u past EOF %#llx", o, U(f->c->m[o].size));
		fx_check_eof(f, o, "probe");
		break;
	case FO_REMAP:
		fx_log(f, "remap object %u", o);
		if (daxmap_unmap(f->m[o], FX_MAXLEN) < 0)
			fx_fail(f, "daxmap_unmap of object %u: %s", o, daxmap_errormsg());
		fx_map(f, o);
		fx_check(f, o, 0, FX_MAXLEN, 0, 1, "after remap");
		break;
	case FO_REOPEN:
		fx_log(f, "close and reopen the pool");
		fx_close_all(f);
		fx_open_all(f);
		fx_check(f, o, 0, FX_MAXLEN, 0, 1, "after reopen");
		break;
	default:
		fx_op_extent(f, op, o);
		break;
	}
}

/* --fsx PATH COORD LOCK ID NW SEED NOPS */
static int fx_main(const char *path, const char *cpath, const char *lpath, unsigned id,
		   unsigned nw, uint64_t seed, unsigned long nops)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || nw > FX_MAXW || id >= nw)
		return 2;
	f->c = coord_map(cpath, sizeof(struct fx_coord));
	f->lockfd = open(lpath, O_RDWR | O_CLOEXEC);
	f->buf = malloc(FX_MAXLEN);
	if (!f->c || f->lockfd < 0 || !f->buf)
		return 2;
	f->id = id;
	f->nw = nw;
	f->seed = seed;
	f->rng = seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (id + 1));
	f->nops = nops;
	f->path = path;
	guard_install();
	fx_open_all(f);
	for (f->opno = 0; f->opno < nops; f->opno++) {
		int op = fx_pick(f), ex = op >= FO_TRUNCATE;

		if (atomic_load(&f->c->failed))
			_exit(2); /* another worker said why */
		f->counts[op]++;
		fx_lock(f, ex);
		fx_do(f, op);
		fx_unlock(f);
		atomic_fetch_add(&f->c->ops[id], 1);
		atomic_fetch_add(&f->c->exops[id], (uint64_t)ex);
		if ((f->opno + 1) % FX_FULL_EVERY == 0) {
			fx_lock(f, 1);
			fx_check_all(f, "periodic check of every lane");
			fx_unlock(f);
		}
	}
	fx_lock(f, 1);
	fx_check_all(f, "final check of every lane");
	fx_unlock(f);
	fx_close_all(f);
	printf("  worker %u: %lu ops:", id, nops);
	for (int i = 0; i < FO_N; i++)
		printf(" %s %lu", fo_names[i], f->counts[i]);
	printf("\n");
	close(f->lockfd);
	munmap(f->c, sizeof(struct fx_coord));
	free(f->buf);
	free(f);
	return 0;
}

static void test_several_processes_match_one_fsx_model(void)
{
	const char *env = getenv("DAXMAP_SHARED_FSX_OPS");
	struct statfs sfs;
	/* a disk file system makes every persist of the extent operations an
	 * msync (100,000 operations: 100 s there): fewer there */
	int on_tmpfs = statfs(tu_dir(), &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
	unsigned long total = env && *env ? strtoul(env, NULL, 0)
			      : on_tmpfs  ? FX_DEFAULT_OPS
					  : FX_DEFAULT_OPS / 5;
	uint64_t seed = tu_seed("fsx_several_processes"), t0;
	char path[512], cpath[512], lpath[512], ids[8], nws[8], seeds[32], nops[32];
	struct worker w[FX_NW];
	struct fx_coord *c;
	daxmap_pool *pool;
	daxmap_obj *o;
	/* (not malloc'ed: a failed assertion leaves the test at once) */
	static uint8_t buf[FX_MAXLEN];
	int fd;

	begin("multi-process fsx", 180);
	pool_make(path, sizeof(path), "fsx.pool", 64 * MiB, FX_EXT);
	TU_OK(daxmap_pool_open(&pool, path));
	TU_OK(daxmap_obj_open(&o, pool, "f0", DAXMAP_CREATE));
	TU_OK(daxmap_obj_close(o));
	TU_OK(daxmap_obj_open(&o, pool, "f1", DAXMAP_CREATE));
	TU_OK(daxmap_obj_close(o));
	TU_OK(daxmap_pool_close(pool));
	c = coord_create("fsx.coord", sizeof(*c), cpath, sizeof(cpath));
	snprintf(lpath, sizeof(lpath), "%s", tu_path("fsx.lock"));
	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	snprintf(nws, sizeof(nws), "%d", FX_NW);
	snprintf(seeds, sizeof(seeds), "%llu", U(seed));
	snprintf(nops, sizeof(nops), "%lu", (total + FX_NW - 1) / FX_NW);
	t0 = now_ns();
	for (int i = 0; i < FX_NW; i++) {
		snprintf(ids, sizeof(ids), "%d", i);
		spawn(&w[i], "fsx worker", 0, "--fsx", path, cpath, lpath, ids, nws, seeds, nops,
		      (const char *)NULL);
	}
	CU_ASSERT_EQUAL(wait_all(w, FX_NW, 120), 0);
	printf("  %llu + %llu + %llu operations (%llu + %llu + %llu under the exclusive lock) "
	       "in %.1f s\n",
	       U(c->ops[0]), U(c->ops[1]), U(c->ops[2]), U(c->exops[0]), U(c->exops[1]),
	       U(c->exops[2]), (double)(now_ns() - t0) / 1e9);
	CU_ASSERT_EQUAL(atomic_load(&c->failed), 0);
	CU_ASSERT(c->ops[0] + c->ops[1] + c->ops[2] >= total);
	/* what the shared openers left, seen by a fresh exclusive opener */
	assert_clean(path, DAXMAP_CHECK_DATA);
	TU_OK(daxmap_pool_open(&pool, path));
	for (unsigned i = 0; i < FX_NOBJ; i++) {
		char name[8];
		uint64_t size = 0;

		snprintf(name, sizeof(name), "f%u", i);
		TU_OK(daxmap_obj_open(&o, pool, name, 0));
		TU_OK(daxmap_obj_size(o, &size));
		CU_ASSERT_EQUAL(size, c->m[i].size);
		CU_ASSERT(daxmap_obj_pread(o, buf, FX_MAXLEN, 0) == (ssize_t)c->m[i].size);
		CU_ASSERT(memcmp(buf, c->m[i].good, c->m[i].size) == 0);
		TU_OK(daxmap_obj_close(o));
	}
	TU_OK(daxmap_pool_close(pool));
	munmap(c, sizeof(*c));
	unlink(path);
	end();
}

/* ---- kill -9 at any moment ------------------------------------------------------- */

/*
 * ST_NW workers each write, punch, zero and truncate slots (one extent each)
 * of an object of their own and of their own part of a common object, all
 * of which every worker maps, cycle a temporary object through create and
 * unlink, and load bytes of the others' slots. Before an operation a worker
 * records it as pending in the coordination file; once it returned, its
 * slots' acknowledged generations, then clears the pending record. The
 * parent SIGKILLs a random worker at random moments and starts it again;
 * meanwhile the others must keep completing operations (heartbeats). A
 * worker starting again checks every slot of its own (what was acknowledged,
 * or for the slots of the pending operation a mix of that and what it
 * stores), completes the pending operation, and unlinks the temporary object
 * a dead predecessor may have left. At the end the pool checks clean with
 * DAXMAP_CHECK_DATA and a fresh exclusive open finds every acknowledged slot.
 */
#define ST_NW 4
#define ST_SLOT EXT64
#define ST_OWN 16   /* slots of a worker's own object */
#define ST_COMMON 8 /* slots of a worker in the common object */
#define ST_OWN_SIZE (ST_OWN * ST_SLOT)
#define ST_COMMON_SIZE (ST_NW * ST_COMMON * ST_SLOT)
#define ST_ROUNDS 12
#define ST_PROGRESS 3 /* operations each survivor completes after a kill */

enum { ST_WRITE = 1, ST_PUNCH, ST_ZERO, ST_TRUNCATE };

struct st_pend {
	_Atomic int valid;
	int kind, common;
	uint32_t lo, hi; /* slots */
	uint64_t gen;    /* what they get: 0 is zeros */
};

#define ST_LOG 16

struct st_w {
	_Atomic uint64_t hb, starts, ready;
	_Atomic uint64_t gen[2][ST_OWN]; /* acknowledged: [0] own object, [1] common slots */
	struct st_pend p;
	uint64_t next_gen;
	uint64_t nlog;
	char log[ST_LOG][64]; /* the last operations, across restarts, for a failure report */
};

struct st_coord {
	_Atomic int stop, failed;
	_Atomic uint64_t busy_unlinks; /* unlinks of a dead predecessor's object that saw -EBUSY */
	struct st_w w[ST_NW];
};

static uint64_t st_off(unsigned id, int common, unsigned k)
{
	return common ? ((uint64_t)id * ST_COMMON + k) * ST_SLOT : (uint64_t)k * ST_SLOT;
}

static uint64_t st_seed(unsigned id, int common, unsigned k, uint64_t gen)
{
	return gen ? gen * 1000003 + id * 64 + (unsigned)common * 32 + k : 0;
}

/* 0 when slot k holds its acknowledged generation, or, covered by the pending
 * operation p (NULL: none), a mix of that and what p stores. */
static int st_slot_ok(const uint8_t *got, unsigned id, int common, unsigned k, uint64_t acked,
		      const struct st_pend *p, uint64_t *bad_at)
{
	uint64_t s = st_seed(id, common, k, acked), ps;
	int covered = p && p->common == common && k >= p->lo && k < p->hi;

	ps = covered ? st_seed(id, common, k, p->gen) : 0;
	for (uint64_t i = 0; i < ST_SLOT; i++)
		if (got[i] != pat(s, i) && (!covered || got[i] != pat(ps, i))) {
			*bad_at = i;
			return -1;
		}
	return 0;
}

struct st {
	struct st_coord *c;
	struct st_w *me;
	unsigned id;
	uint64_t rng;
	const char *path;
	daxmap_pool *pool;
	daxmap_obj *obj[2];
	uint8_t *m[2];
	uint8_t buf[ST_SLOT];
};

static void st_fail(struct st *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void st_fail(struct st *s, const char *fmt, ...)
{
	va_list ap;

	atomic_store(&s->c->failed, 1);
	fprintf(stderr, "\nkill -9 storm FAILURE: worker %u (start %llu): ", s->id,
		U(atomic_load(&s->me->starts)));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nits last operations (oldest first):\n");
	for (uint64_t i = s->me->nlog > ST_LOG ? s->me->nlog - ST_LOG : 0; i < s->me->nlog; i++)
		fprintf(stderr, "  %s\n", s->me->log[i % ST_LOG]);
	fflush(NULL);
	_exit(1);
}

static void st_read_slot(struct st *s, int common, unsigned k, int via_map)
{
	uint64_t off = st_off(s->id, common, k);
	ssize_t n;
	int sig;

	if (via_map) {
		if ((sig = guarded_copy(s->buf, s->m[common] + off, ST_SLOT)) != 0)
			st_fail(s, "signal %d reading slot %u of the %s object", sig, k,
				common ? "common" : "own");
	} else if ((n = daxmap_obj_pread(s->obj[common], s->buf, ST_SLOT, off)) !=
		   (ssize_t)ST_SLOT) {
		st_fail(s, "pread of slot %u of the %s object = %zd: %s", k,
			common ? "common" : "own", n, daxmap_errormsg());
	}
}

static int st_is(const uint8_t *got, uint64_t seed)
{
	for (uint64_t i = 0; i < ST_SLOT; i++)
		if (got[i] != pat(seed, i))
			return 0;
	return 1;
}

/* Whose slot and generation the 64 KiB at got hold, if any's: for a report. */
static void st_whose(const struct st *s, const uint8_t *got, char *out, size_t len)
{
	uint64_t top = 0;

	snprintf(out, len, "; they are no slot's data");
	for (unsigned id = 0; id < ST_NW; id++)
		top = s->c->w[id].next_gen > top ? s->c->w[id].next_gen : top;
	/* every (generation, worker, slot): own slots first, then common ones */
	for (uint64_t gen = 1; gen <= top; gen++) {
		for (unsigned i = 0; i < ST_NW * (ST_OWN + ST_COMMON); i++) {
			unsigned id = i / (ST_OWN + ST_COMMON), k = i % (ST_OWN + ST_COMMON);
			int common = k >= ST_OWN;

			k -= common ? ST_OWN : 0;
			if (!st_is(got, st_seed(id, common, k, gen)))
				continue;
			snprintf(out, len, "; they are worker %u's slot %u of the %s object, "
				 "generation %llu", id, k, common ? "common" : "own", U(gen));
			return;
		}
	}
}

static void st_verify_slot(struct st *s, int common, unsigned k, int via_map, const char *when)
{
	const struct st_pend *p = atomic_load(&s->me->p.valid) ? &s->me->p : NULL;
	uint64_t acked = atomic_load(&s->me->gen[common][k]), at = 0;

	st_read_slot(s, common, k, via_map);
	if (st_slot_ok(s->buf, s->id, common, k, acked, p, &at) < 0) {
		uint8_t got = s->buf[at];
		uint64_t at2 = 0;
		char whose[96];
		int other_ok;

		st_whose(s, s->buf, whose, sizeof(whose));
		/* does the other way of reading agree? */
		st_read_slot(s, common, k, !via_map);
		other_ok = st_slot_ok(s->buf, s->id, common, k, acked, p, &at2) == 0;
		st_fail(s, "%s: slot %u of the %s object, byte %#llx, read %s: %#x; acknowledged "
			   "generation %llu (%#x there)%s%s; read %s, the slot is %s",
			when, k, common ? "common" : "own", U(at),
			via_map ? "through the mapping" : "by pread", got, U(acked),
			pat(st_seed(s->id, common, k, acked), at),
			p ? ", an operation was pending" : "", whose,
			via_map ? "by pread" : "through the mapping",
			other_ok ? "right" : "wrong too");
	}
}

/* Stores generation gen into slot k, durably: pwrite with DAXMAP_DSYNC or a
 * store through the mapping and daxmap_persist. */
static void st_write_slot(struct st *s, int common, unsigned k, uint64_t gen, int via_map)
{
	uint64_t off = st_off(s->id, common, k);
	ssize_t n;
	int sig;

	pat_fill(s->buf, ST_SLOT, st_seed(s->id, common, k, gen), 0);
	if (via_map) {
		if ((sig = guarded_copy(s->m[common] + off, s->buf, ST_SLOT)) != 0)
			st_fail(s, "signal %d storing slot %u of the %s object", sig, k,
				common ? "common" : "own");
		if (daxmap_persist(s->m[common] + off, ST_SLOT) < 0)
			st_fail(s, "daxmap_persist: %s", daxmap_errormsg());
	} else if ((n = daxmap_obj_pwrite(s->obj[common], s->buf, ST_SLOT, off, DAXMAP_DSYNC)) !=
		   (ssize_t)ST_SLOT) {
		st_fail(s, "pwrite of slot %u = %zd: %s", k, n, daxmap_errormsg());
	}
}

/* Carries out a pending operation (again, after a kill, or the first time). */
static void st_perform(struct st *s, int via_map)
{
	struct st_pend *p = &s->me->p;
	daxmap_obj *o = s->obj[p->common];
	uint64_t lo = st_off(s->id, p->common, p->lo), len = (uint64_t)(p->hi - p->lo) * ST_SLOT;
	int ret = 0;

	switch (p->kind) {
	case ST_WRITE:
		st_write_slot(s, p->common, p->lo, p->gen, via_map);
		break;
	case ST_PUNCH:
		ret = daxmap_obj_punch_hole(o, lo, len);
		break;
	case ST_ZERO:
		ret = daxmap_obj_zero_range(o, lo, len);
		break;
	default: /* ST_TRUNCATE of the own object: cut and grown back */
		ret = daxmap_obj_truncate(o, lo);
		if (ret == 0)
			ret = daxmap_obj_truncate(o, ST_OWN_SIZE);
		break;
	}
	if (ret < 0)
		st_fail(s, "operation %d on slots [%u, %u) of the %s object: %d %s", p->kind, p->lo,
			p->hi, p->common ? "common" : "own", ret, daxmap_errormsg());
	/* acknowledged: the slots first, then the pending record goes */
	for (uint32_t k = p->lo; k < p->hi; k++)
		atomic_store(&s->me->gen[p->common][k], p->gen);
	atomic_store(&p->valid, 0);
}

static const char *const st_kinds[] = {"?", "write", "punch", "zero", "truncate"};

static void st_op(struct st *s, int kind, int common, uint32_t lo, uint32_t hi, uint64_t gen)
{
	struct st_pend *p = &s->me->p;
	int via_map;

	p->kind = kind;
	p->common = common;
	p->lo = lo;
	p->hi = hi;
	p->gen = gen;
	atomic_store(&p->valid, 1); /* after its fields */
	via_map = (int)(tu_rand(&s->rng) % 2);
	snprintf(s->me->log[s->me->nlog++ % ST_LOG], sizeof(s->me->log[0]),
		 "start %llu: %s slots [%u, %u) of %s%s: gen %llu", U(atomic_load(&s->me->starts)),
		 st_kinds[kind], lo, hi, common ? "common" : "own",
		 kind == ST_WRITE ? via_map ? " (mapping)" : " (pwrite)" : "", U(gen));
	st_perform(s, via_map);
}

static void st_tmp_name(char *name, size_t len, unsigned id)
{
	snprintf(name, len, "tmp%u", id);
}

/* Unlinks the temporary object a dead predecessor may have left, open or mapped. */
static void st_unlink_tmp(struct st *s)
{
	char name[16];
	uint64_t t0 = now_ns();
	int ret;

	st_tmp_name(name, sizeof(name), s->id);
	while ((ret = daxmap_obj_unlink(s->pool, name)) == -EBUSY && now_ns() - t0 < 3000000000u) {
		atomic_fetch_add(&s->c->busy_unlinks, 1);
		usleep(10000);
	}
	if (ret < 0 && ret != -ENOENT)
		st_fail(s, "unlink of %s, left by a dead predecessor: %d %s (after %.1f s)", name,
			ret, daxmap_errormsg(), (double)(now_ns() - t0) / 1e9);
}

static void st_tmp_cycle(struct st *s)
{
	daxmap_obj *t = NULL;
	uint8_t *m = NULL;
	char name[16];
	int ret;

	st_tmp_name(name, sizeof(name), s->id);
	if ((ret = daxmap_obj_open(&t, s->pool, name, DAXMAP_CREATE | DAXMAP_EXCL)) < 0)
		st_fail(s, "create of %s: %d %s", name, ret, daxmap_errormsg());
	pat_fill(s->buf, ST_SLOT, 7, 0);
	if (daxmap_obj_pwrite(t, s->buf, ST_SLOT, 0, 0) != (ssize_t)ST_SLOT ||
	    daxmap_map((void **)&m, t, 0, 2 * ST_SLOT, RW) < 0 ||
	    daxmap_obj_truncate(t, 2 * ST_SLOT) < 0)
		st_fail(s, "%s: %s", name, daxmap_errormsg());
	if (guarded_copy(m + ST_SLOT, s->buf, ST_SLOT) != 0 || memcmp(m, m + ST_SLOT, ST_SLOT) != 0)
		st_fail(s, "%s: its mapping does not read what was written", name);
	if ((ret = daxmap_unmap(m, 2 * ST_SLOT)) < 0 || (ret = daxmap_obj_close(t)) < 0 ||
	    (ret = daxmap_obj_unlink(s->pool, name)) < 0)
		st_fail(s, "%s: unmap, close, unlink: %d %s", name, ret, daxmap_errormsg());
}

/* One random operation. */
static void st_step(struct st *s)
{
	uint64_t r = tu_rand(&s->rng), k8 = (r >> 8) % ST_COMMON, k16 = (r >> 8) % ST_OWN;
	int common = (int)((r >> 16) % 2), kind = (int)(r % 100);
	uint32_t k = (uint32_t)(common ? k8 : k16);
	uint8_t v;

	if (kind < 30) {
		st_op(s, ST_WRITE, common, k, k + 1, ++s->me->next_gen);
	} else if (kind < 40) {
		st_op(s, ST_PUNCH, common, k, k + 1, 0);
	} else if (kind < 48) {
		st_op(s, ST_ZERO, common, k, k + 1, 0);
	} else if (kind < 53) {
		st_op(s, ST_TRUNCATE, 0, (uint32_t)k16, ST_OWN, 0);
	} else if (kind < 73) {
		st_verify_slot(s, common, k, (int)((r >> 24) % 2), "check");
	} else if (kind < 93) {
		/* a load in another worker's slot: a page of ours its punches tear down */
		unsigned other = (unsigned)((s->id + 1 + (r >> 24) % (ST_NW - 1)) % ST_NW);
		uint64_t off = st_off(other, 1, (unsigned)k8) + (r >> 32) % ST_SLOT;
		if (guarded_load8(s->m[1] + off, &v) != 0)
			st_fail(s, "load at %#llx of the common object (worker %u's slot) faulted",
				U(off), other);
	} else {
		st_tmp_cycle(s);
	}
}

/* --storm PATH COORD ID SEED */
static int storm_main(const char *path, const char *cpath, unsigned id, uint64_t seed)
{
	static struct st s;
	uint64_t size = 0;
	char name[16];
	int ret;

	s.c = coord_map(cpath, sizeof(struct st_coord));
	if (!s.c || id >= ST_NW)
		return 2;
	s.id = id;
	s.me = &s.c->w[id];
	s.path = path;
	s.rng = seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (id + 1)) ^
		(atomic_fetch_add(&s.me->starts, 1) << 32);
	guard_install();
	snprintf(name, sizeof(name), "own%u", id);
	if ((ret = open_shared(&s.pool, path)) < 0 ||
	    (ret = daxmap_obj_open(&s.obj[0], s.pool, name, 0)) < 0 ||
	    (ret = daxmap_obj_open(&s.obj[1], s.pool, "common", 0)) < 0 ||
	    (ret = daxmap_map((void **)&s.m[0], s.obj[0], 0, ST_OWN_SIZE, RW)) < 0 ||
	    (ret = daxmap_map((void **)&s.m[1], s.obj[1], 0, ST_COMMON_SIZE, RW)) < 0)
		st_fail(&s, "setup: %d %s", ret, daxmap_errormsg());
	/* what a predecessor left: a cut object only with a truncate pending */
	if ((ret = daxmap_obj_size(s.obj[0], &size)) < 0 ||
	    (size != ST_OWN_SIZE &&
	     !(atomic_load(&s.me->p.valid) && s.me->p.kind == ST_TRUNCATE)))
		st_fail(&s, "own object's size %#llx (%d), not %#llx", U(size), ret,
			U(ST_OWN_SIZE));
	if (size != ST_OWN_SIZE && (ret = daxmap_obj_truncate(s.obj[0], ST_OWN_SIZE)) < 0)
		st_fail(&s, "truncate back: %d %s", ret, daxmap_errormsg());
	st_unlink_tmp(&s);
	for (unsigned k = 0; k < ST_OWN; k++)
		st_verify_slot(&s, 0, k, (int)(k % 2), "after a restart");
	for (unsigned k = 0; k < ST_COMMON; k++)
		st_verify_slot(&s, 1, k, (int)(k % 2), "after a restart");
	if (atomic_load(&s.me->p.valid)) {
		snprintf(s.me->log[s.me->nlog++ % ST_LOG], sizeof(s.me->log[0]),
			 "start %llu: redo of the pending operation",
			 U(atomic_load(&s.me->starts)));
		st_perform(&s, 0);
	}
	atomic_store(&s.me->ready, 1);
	while (!atomic_load(&s.c->stop)) {
		if (atomic_load(&s.c->failed))
			_exit(2); /* another worker said why */
		st_step(&s);
		atomic_fetch_add(&s.me->hb, 1);
	}
	if ((ret = daxmap_unmap(s.m[0], ST_OWN_SIZE)) < 0 ||
	    (ret = daxmap_unmap(s.m[1], ST_COMMON_SIZE)) < 0 ||
	    (ret = daxmap_obj_close(s.obj[0])) < 0 || (ret = daxmap_obj_close(s.obj[1])) < 0 ||
	    (ret = daxmap_pool_close(s.pool)) < 0)
		st_fail(&s, "teardown: %d %s", ret, daxmap_errormsg());
	return 0;
}

static void st_spawn(struct worker *w, unsigned id, const char *path, const char *cpath,
		     uint64_t seed)
{
	char ids[8], seeds[32], name[16];

	snprintf(ids, sizeof(ids), "%u", id);
	snprintf(seeds, sizeof(seeds), "%llu", U(seed));
	snprintf(name, sizeof(name), "storm %u", id);
	spawn(w, name, 0, "--storm", path, cpath, ids, seeds, (const char *)NULL);
}

/* Waits until cond(c, i) holds for every i in mask, or secs passed; returns
 * the mask of those that did not get there. A worker that exited fails. */
static unsigned st_wait(struct st_coord *c, struct worker *w, unsigned mask, const uint64_t *hb0,
			unsigned secs)
{
	uint64_t deadline = now_ns() + (uint64_t)secs * 1000000000u;

	for (;;) {
		unsigned left = 0;
		for (unsigned i = 0; i < ST_NW; i++) {
			int st;
			if (!(mask & (1u << i)))
				continue;
			if (waitpid(w[i].pid, &st, WNOHANG) == w[i].pid) {
				live_del(w[i].pid);
				fprintf(stderr, "storm worker %u exited by itself (status %#x)\n",
					i, st);
				w[i].pid = 0;
				CU_FAIL_FATAL("a storm worker exited");
			}
			if (hb0 ? atomic_load(&c->w[i].hb) < hb0[i] + ST_PROGRESS
				: !atomic_load(&c->w[i].ready))
				left |= 1u << i;
		}
		if (!left || now_ns() > deadline || atomic_load(&c->failed))
			return left;
		usleep(2000);
	}
}

/* The stalled ones are named; every live worker's stacks are printed, for
 * the one holding what the others wait for may be among the live ones. */
static void st_stalled(struct st_coord *c, struct worker *w, unsigned left, const char *why)
{
	if (atomic_load(&c->failed))
		CU_FAIL_FATAL("a storm worker failed (see stderr)");
	fprintf(stderr, "\nkill -9 storm: %s:", why);
	for (unsigned i = 0; i < ST_NW; i++)
		if (left & (1u << i))
			fprintf(stderr, " %s (pid %d)", w[i].name, (int)w[i].pid);
	fprintf(stderr, "\n");
	for (unsigned i = 0; i < ST_NW; i++)
		if (w[i].pid > 0 && kill(w[i].pid, 0) == 0)
			dump_stacks(w[i].pid, w[i].name);
	CU_FAIL_FATAL("storm workers stalled (see stderr)");
}

/* How many of worker id's n slots in o (common or not) differ from what it acknowledged. */
static int st_bad_slots(daxmap_obj *o, const struct st_w *me, unsigned id, int common, unsigned n,
			uint8_t *buf)
{
	uint64_t at = 0;
	int bad = 0;

	for (unsigned k = 0; k < n; k++) {
		ssize_t got = daxmap_obj_pread(o, buf, ST_SLOT, st_off(id, common, k));
		bad += got != (ssize_t)ST_SLOT ||
		       st_slot_ok(buf, id, common, k, me->gen[common][k], NULL, &at) < 0;
	}
	return bad;
}

static void test_kill9_of_any_process_leaves_the_others_running_and_the_pool_clean(void)
{
	uint64_t seed = tu_seed("kill9_storm"), rng = seed, hb0[ST_NW], total = 0;
	struct worker w[ST_NW];
	struct st_coord *c;
	char path[512], cpath[512], name[16];
	static uint8_t buf[ST_SLOT];
	daxmap_pool *pool;
	daxmap_obj *o;
	unsigned left, kills = 0, all = (1u << ST_NW) - 1;

	begin("kill -9 storm", 180);
	pool_make(path, sizeof(path), "storm.pool", 64 * MiB, EXT64);
	TU_OK(daxmap_pool_open(&pool, path));
	for (unsigned i = 0; i < ST_NW; i++) {
		snprintf(name, sizeof(name), "own%u", i);
		TU_OK(daxmap_obj_open(&o, pool, name, DAXMAP_CREATE));
		TU_OK(daxmap_obj_truncate(o, ST_OWN_SIZE));
		TU_OK(daxmap_obj_close(o));
	}
	TU_OK(daxmap_obj_open(&o, pool, "common", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(o, ST_COMMON_SIZE));
	TU_OK(daxmap_obj_close(o));
	TU_OK(daxmap_pool_close(pool));
	c = coord_create("storm.coord", sizeof(*c), cpath, sizeof(cpath));
	for (unsigned i = 0; i < ST_NW; i++)
		st_spawn(&w[i], i, path, cpath, seed);
	if ((left = st_wait(c, w, all, NULL, 20)) != 0)
		st_stalled(c, w, left, "storm workers did not start");

	for (int round = 0; round < ST_ROUNDS && !atomic_load(&c->failed); round++) {
		unsigned v = (unsigned)(tu_rand(&rng) % ST_NW), others = all & ~(1u << v);
		int st = 0;

		usleep((useconds_t)(20000 + tu_rand(&rng) % 230000));
		kill(w[v].pid, SIGKILL);
		CU_ASSERT_FATAL(waitpid(w[v].pid, &st, 0) == w[v].pid);
		live_del(w[v].pid);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
			fprintf(stderr, "storm worker %u had exited by itself (status %#x)\n", v,
				st);
			CU_FAIL_FATAL("a storm worker exited");
		}
		kills++;
		/* the survivors carry on: whatever the dead one held, nobody waits for it */
		for (unsigned i = 0; i < ST_NW; i++)
			hb0[i] = atomic_load(&c->w[i].hb);
		if ((left = st_wait(c, w, others, hb0, 20)) != 0)
			st_stalled(c, w, left, "after a kill -9, other processes made no progress");
		atomic_store(&c->w[v].ready, 0);
		st_spawn(&w[v], v, path, cpath, seed);
		/* half the time the next kill may hit it while it recovers */
		if (tu_rand(&rng) % 2 && (left = st_wait(c, w, 1u << v, NULL, 20)) != 0)
			st_stalled(c, w, left, "a restarted storm worker did not get ready");
	}
	atomic_store(&c->stop, 1);
	CU_ASSERT_EQUAL_FATAL(wait_all(w, ST_NW, 60), 0);
	CU_ASSERT_EQUAL_FATAL(atomic_load(&c->failed), 0);
	for (unsigned i = 0; i < ST_NW; i++)
		total += atomic_load(&c->w[i].hb);
	printf("  %u kills, %llu operations completed, %llu unlinks of a dead predecessor's "
	       "object found it busy first\n",
	       kills, U(total), U(atomic_load(&c->busy_unlinks)));

	/* nothing damaged, and every acknowledged slot there for a fresh exclusive opener */
	assert_clean(path, DAXMAP_CHECK_DATA);
	TU_OK(daxmap_pool_open(&pool, path));
	for (unsigned i = 0; i < ST_NW; i++) {
		uint64_t size = 0;
		int bad = 0;

		CU_ASSERT_EQUAL(atomic_load(&c->w[i].p.valid), 0);
		snprintf(name, sizeof(name), "own%u", i);
		TU_OK(daxmap_obj_open(&o, pool, name, 0));
		TU_OK(daxmap_obj_size(o, &size));
		CU_ASSERT_EQUAL(size, ST_OWN_SIZE);
		bad += st_bad_slots(o, &c->w[i], i, 0, ST_OWN, buf);
		TU_OK(daxmap_obj_close(o));
		TU_OK(daxmap_obj_open(&o, pool, "common", 0));
		bad += st_bad_slots(o, &c->w[i], i, 1, ST_COMMON, buf);
		TU_OK(daxmap_obj_close(o));
		if (bad)
			fprintf(stderr, "storm worker %u: %d slots lost their acknowledged data\n",
				i, bad);
		CU_ASSERT_EQUAL(bad, 0);
		st_tmp_name(name, sizeof(name), i);
		CU_ASSERT_EQUAL(daxmap_obj_open(&o, pool, name, 0), -ENOENT);
	}
	TU_OK(daxmap_pool_close(pool));
	assert_clean(path, DAXMAP_CHECK_DATA);
	munmap(c, sizeof(*c));
	unlink(path);
	end();
}

/* ---- main --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct tu_test tests[] = {
		{"shared_and_exclusive_openers_exclude_each_other",
		 test_shared_and_exclusive_openers_exclude_each_other},
		{"grow_of_a_shared_pool_is_eopnotsupp", test_grow_of_a_shared_pool_is_eopnotsupp},
		{"bytes_and_sizes_are_seen_by_every_process",
		 test_bytes_and_sizes_are_seen_by_every_process},
		{"a_change_in_one_process_reaches_the_mappings_of_the_other",
		 test_a_change_in_one_process_reaches_the_mappings_of_the_other},
		{"read_fault_on_a_hole_allocates_in_a_shared_pool",
		 test_read_fault_on_a_hole_allocates_in_a_shared_pool},
		{"one_hole_touched_by_two_processes_is_allocated_once",
		 test_one_hole_touched_by_two_processes_is_allocated_once},
		{"unlink_of_an_object_held_by_another_process_is_ebusy",
		 test_unlink_of_an_object_held_by_another_process_is_ebusy},
		{"punch_and_truncate_race_stores_in_other_processes",
		 test_punch_and_truncate_race_stores_in_other_processes},
		{"several_processes_match_one_fsx_model",
		 test_several_processes_match_one_fsx_model},
		{"kill9_of_any_process_leaves_the_others_running_and_the_pool_clean",
		 test_kill9_of_any_process_leaves_the_others_running_and_the_pool_clean},
		{NULL, NULL},
	};
	int ret;

	if (argc == 2 && strcmp(argv[1], "--script") == 0)
		return script_main();
	if (argc == 6 && strcmp(argv[1], "--race") == 0)
		return race_main(argv[2], argv[3], (unsigned)atoi(argv[4]),
				 strtoull(argv[5], NULL, 0));
	if (argc == 9 && strcmp(argv[1], "--fsx") == 0)
		return fx_main(argv[2], argv[3], argv[4], (unsigned)atoi(argv[5]),
			       (unsigned)atoi(argv[6]), strtoull(argv[7], NULL, 0),
			       strtoul(argv[8], NULL, 0));
	if (argc == 6 && strcmp(argv[1], "--storm") == 0)
		return storm_main(argv[2], argv[3], (unsigned)atoi(argv[4]),
				  strtoull(argv[5], NULL, 0));
	/* a worker that died leaves a pipe without a reader: an error, not a signal */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = tu_run("shared", tests);
	live_kill_all();
	if (wd_on)
		tu_watchdog_disarm();
	return ret;
}
