/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kvstore example with readers in other processes (kv_open_opts,
 * KV_SHARED and KV_READONLY): one writer puts, overwrites and deletes while
 * readers get; every value a reader gets is one the writer put for that key
 * (never torn, never another key's, never older than one it got before) and
 * a key put before the reader started and never deleted is always found;
 * a second writer gets -EBUSY and a reader's put -EROFS; a reader killed
 * while it holds an epoch (at a random moment in its gets, or stopped inside
 * a scan) does not keep the writer from giving chunks back; after the writer
 * is killed readers go on with the last committed state, a new writer opens,
 * and the chunks the dead writer left dead wait for the readers that may
 * still be in them.
 *
 * Every worker is this program again: fork() and execv() of /proc/self/exe
 * with its mode in argv[1], so each opens the pool itself (the parent has no
 * pool open while it forks). "Script" workers take one command per line on
 * stdin and answer with one line starting with a number; free-running
 * writers and readers print one line of results when they are done. Workers
 * die with the parent (PR_SET_PDEATHSIG).
 *
 * A value encodes its key and version (make_value), so a reader checks
 * every byte it got without knowing what the writer did. DAXMAP_TEST_SEED
 * replays the operation streams (not the interleaving of the processes).
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "kv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NKEYS 1500
#define NSTABLE 300 /* keys 0 .. NSTABLE-1 are never deleted */
#define MAX_VAL 2000
#define POOL_SIZE (UINT64_C(256) << 20)
#define SLOTS 8192
#define CHUNK (UINT64_C(2) << 20)
#define REPLY_SECS 30 /* a script worker silent this long is hung */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t make_key(char *buf, int k)
{
	return (size_t)sprintf(buf, "key%05d", k);
}

/* The value of version ver of key k: key, length and version, then bytes
 * that follow from them; 16 .. MAX_VAL bytes. */
static size_t make_value(char *buf, int k, uint64_t ver)
{
	uint64_t x = ((uint64_t)k * UINT64_C(0x9e3779b97f4a7c15)) ^ (ver * UINT64_C(0xc2b2ae3d27d4eb4f));
	uint32_t k32 = (uint32_t)k, l32;
	size_t len;

	x |= 1;
	len = 16 + (size_t)(tu_rand(&x) % (MAX_VAL - 16));
	l32 = (uint32_t)len;
	memcpy(buf, &k32, 4);
	memcpy(buf + 4, &l32, 4);
	memcpy(buf + 8, &ver, 8);
	for (size_t i = 16; i < len; i++)
		buf[i] = (char)(tu_rand(&x) >> 56);
	return len;
}

/* 1 when buf holds exactly a value make_value made for key k; its version goes to *ver. */
static int value_ok(const char *buf, size_t len, int k, uint64_t *ver)
{
	char want[MAX_VAL];
	uint64_t v;

	if (len < 16 || len > MAX_VAL)
		return 0;
	memcpy(&v, buf + 8, 8);
	if (make_value(want, k, v) != len || memcmp(want, buf, len) != 0)
		return 0;
	*ver = v;
	return 1;
}

static int put_ver(struct kv *kv, int k, uint64_t ver)
{
	char key[16], val[MAX_VAL];
	size_t klen = make_key(key, k), vlen = make_value(val, k, ver);
	return kv_put(kv, key, klen, val, vlen);
}

/* Gets key k: 0 with its version in *ver, -ENOENT, -EBADMSG for a value that
 * is not one of k's, or the error of kv_get. */
static int get_ver(struct kv *kv, int k, uint64_t *ver)
{
	char key[16], val[MAX_VAL];
	size_t klen = make_key(key, k), vlen = 0;
	int ret = kv_get(kv, key, klen, val, sizeof(val), &vlen);

	if (ret < 0)
		return ret;
	return value_ok(val, vlen, k, ver) ? 0 : -EBADMSG;
}

/* Opens as the writer or a reader; a failure is said on stderr when loud
 * (script workers answer with the message instead). */
static int open_shared(struct kv **kv, const char *path, int reader, int loud)
{
	struct kv_open_opts o = {.flags = reader ? KV_READONLY : KV_SHARED};
	int ret = kv_open_opts(kv, path, &o);

	if (ret < 0 && loud)
		fprintf(stderr, "[%d] kv_open_opts %s: %s\n", (int)getpid(), reader ? "reader" : "writer",
			kv_errormsg());
	return ret;
}

/* ---- workers ---------------------------------------------------------- */

/*
 * The writer: for ms milliseconds (0: until killed) overwrites, deletes and
 * puts again random keys, single or in batches, and now and then overwrites
 * every key in order (which kills whole chunks). Versions only grow.
 */
static int writer_main(const char *path, uint64_t seed, uint64_t ms)
{
	static uint64_t ver[NKEYS];
	static int gone[NKEYS];
	struct kv *kv;
	struct kv_stat st;
	uint64_t rng = seed | 1, ops = 0, end = now_ms() + ms;
	int ret = 0;

	if (open_shared(&kv, path, 0, 1) < 0)
		return 2;
	for (int k = 0; k < NKEYS; k++)
		ver[k] = 1; /* the parent's fill */
	while (ret == 0 && (ms == 0 || now_ms() < end)) {
		uint64_t r = tu_rand(&rng) % 100;
		int n = 1, batch = r >= 90;
		if (r >= 97) {
			n = NKEYS; /* a sweep */
		} else if (batch) {
			n = 2 + (int)(tu_rand(&rng) % 30);
		}
		if (batch && (ret = kv_begin(kv)) < 0)
			break;
		for (int i = 0; i < n && ret == 0; i++, ops++) {
			int k = n == NKEYS ? i : (int)(tu_rand(&rng) % NKEYS);
			char key[16];
			if (k >= NSTABLE && !gone[k] && n != NKEYS && tu_rand(&rng) % 4 == 0) {
				ret = kv_del(kv, key, make_key(key, k));
				gone[k] = 1;
			} else {
				ret = put_ver(kv, k, ++ver[k]);
				gone[k] = 0;
			}
		}
		if (batch && ret == 0)
			ret = kv_commit(kv);
	}
	if (ret < 0) {
		fprintf(stderr, "writer: %d: %s\n", ret, kv_errormsg());
		return 1;
	}
	kv_stat(kv, &st);
	printf("%llu ops, %llu chunks punched, %llu waiting\n", (unsigned long long)ops,
	       (unsigned long long)st.chunks_punched, (unsigned long long)st.chunks_waiting);
	return kv_close(kv) < 0 ? 1 : 0;
}

/* A reader: random gets for ms milliseconds, each value checked. */
static int reader_main(const char *path, uint64_t seed, uint64_t ms)
{
	static uint64_t seen[NKEYS];
	struct kv *kv;
	uint64_t rng = seed | 1, gets = 0, found = 0, end = now_ms() + ms;
	int bad = 0;

	if (open_shared(&kv, path, 1, 1) < 0)
		return 2;
	while (bad < 10 && ((gets & 255) != 0 || now_ms() < end)) {
		int k = (int)(tu_rand(&rng) % NKEYS);
		uint64_t v = 0;
		int ret = get_ver(kv, k, &v);
		gets++;
		if (ret == -ENOENT && k >= NSTABLE)
			continue;
		if (ret == 0 && v >= seen[k]) {
			seen[k] = v;
			found++;
			continue;
		}
		bad++;
		fprintf(stderr, "reader %d: key %d: %s (version %llu, had %llu)%s%s\n", (int)getpid(), k,
			ret == -ENOENT ? "missing"
			: ret == -EBADMSG ? "a value that is not one of its versions"
			: ret == 0 ? "went back to an older version" : "error",
			(unsigned long long)v, (unsigned long long)seen[k], ret < 0 ? ": " : "",
			ret < 0 && ret != -EBADMSG ? kv_errormsg() : "");
	}
	printf("%llu gets, %llu found\n", (unsigned long long)gets, (unsigned long long)found);
	kv_close(kv);
	return bad ? 1 : 0;
}

/* A reader that does nothing but gets, so that it is nearly always inside
 * one (its epoch published), until it is killed. */
static int doomed_main(const char *path)
{
	static char val[MAX_VAL];
	struct kv *kv;
	uint64_t rng = (uint64_t)getpid() | 1;

	if (open_shared(&kv, path, 1, 1) < 0)
		return 2;
	for (;;) {
		char key[16];
		size_t vlen;
		kv_get(kv, key, make_key(key, (int)(tu_rand(&rng) % NKEYS)), val, sizeof(val), &vlen);
	}
}

static int pin_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	(void)key, (void)klen, (void)val, (void)vlen, (void)arg;
	printf("0 pinned\n");
	fflush(stdout);
	for (;;)
		pause(); /* holding the epoch until killed */
	return 0;
}

/* A worker driven one command line at a time (see the commands below). */
static int script_main(const char *path)
{
	static char buf[MAX_VAL];
	char line[256], cmd[32];
	struct kv *kv = NULL;
	struct kv_stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		long long a = 0, b = 0;
		uint64_t v = 0;
		int ret = 0;

		if (sscanf(line, "%31s %lld %lld", cmd, &a, &b) < 1)
			continue;
		if (strcmp(cmd, "exit") == 0)
			break;
		if (strcmp(cmd, "open") == 0) { /* open 0: the writer; open 1: a reader */
			ret = open_shared(&kv, path, (int)a, 0);
		} else if (strcmp(cmd, "close") == 0) {
			ret = kv_close(kv);
			kv = NULL;
		} else if (strcmp(cmd, "put") == 0) { /* put KEY VERSION */
			ret = put_ver(kv, (int)a, (uint64_t)b);
		} else if (strcmp(cmd, "del") == 0) {
			char key[16];
			ret = kv_del(kv, key, make_key(key, (int)a));
		} else if (strcmp(cmd, "begin") == 0) {
			ret = kv_begin(kv);
		} else if (strcmp(cmd, "get") == 0) { /* the version, or the error */
			ret = get_ver(kv, (int)a, &v);
			if (ret == 0) {
				printf("%llu\n", (unsigned long long)v);
				continue;
			}
		} else if (strcmp(cmd, "churn") == 0) { /* churn N VERSION: N sweeps over every key */
			for (long long i = 0; i < a && ret == 0; i++)
				for (int k = 0; k < NKEYS && ret == 0; k++)
					ret = put_ver(kv, k, (uint64_t)(b + i));
		} else if (strcmp(cmd, "check") == 0) {
			/* every key: the number found and a hash of their versions, or
			 * -1000 - k for key k holding a value that is not its own */
			uint64_t h = 0, n = 0;
			for (int k = 0; k < NKEYS && ret == 0; k++) {
				int r = get_ver(kv, k, &v);
				if (r == -ENOENT)
					continue;
				if (r < 0)
					ret = -1000 - k;
				n++;
				h = (h ^ ((uint64_t)k << 40 ^ v)) * UINT64_C(0x100000001b3);
			}
			if (ret == 0) {
				printf("%llu %llu\n", (unsigned long long)n, (unsigned long long)h);
				continue;
			}
		} else if (strcmp(cmd, "stat") == 0) {
			/* 0 punched waiting pool_free readers */
			if ((ret = kv_stat(kv, &st)) == 0) {
				printf("0 %llu %llu %llu %llu\n", (unsigned long long)st.chunks_punched,
				       (unsigned long long)st.chunks_waiting,
				       (unsigned long long)st.pool_free, (unsigned long long)st.readers);
				continue;
			}
		} else if (strcmp(cmd, "pin") == 0) { /* a scan that stops in its first callback */
			ret = kv_scan(kv, pin_cb, buf);
		} else {
			ret = -ENOSYS;
		}
		printf("%d %s\n", ret, ret < 0 && ret > -1000 ? kv_errormsg() : "");
	}
	if (kv)
		kv_close(kv);
	return 0;
}

/* ---- the parent's side ------------------------------------------------ */

struct worker {
	pid_t pid;
	int to, from; /* its stdin (script workers; else -1) and stdout */
	char name[16];
	char line[300]; /* its last reply or result line */
};

/* workers not yet waited for, killed when a test failed (its struct worker is gone) */
static pid_t live[16];

static void live_set(pid_t old, pid_t pid)
{
	for (int i = 0; i < 16; i++)
		if (live[i] == old) {
			live[i] = pid;
			return;
		}
}

static void kill_all(void)
{
	for (int i = 0; i < 16; i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
}

static void spawn(struct worker *w, const char *name, int script, ...)
{
	char *argv[8];
	int in[2] = {-1, -1}, out[2], argc = 0;
	pid_t parent = getpid();
	const char *a;
	va_list ap;

	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", name);
	argv[argc++] = (char *)"test_kvstore_readers";
	va_start(ap, script);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 7)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	CU_ASSERT_FATAL(pipe2(out, O_CLOEXEC) == 0);
	if (script)
		CU_ASSERT_FATAL(pipe2(in, O_CLOEXEC) == 0);
	fflush(NULL);
	w->pid = fork();
	CU_ASSERT_FATAL(w->pid >= 0);
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if ((script && dup2(in[0], 0) < 0) || dup2(out[1], 1) < 0)
			_exit(125);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(out[1]);
	w->from = out[0];
	w->to = -1;
	if (script) {
		close(in[0]);
		w->to = in[1];
	}
	live_set(0, w->pid);
}

/* Reads the worker's next line into w->line; returns its leading number. */
static long long w_line(struct worker *w)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pfd = {.fd = w->from, .events = POLLIN};
		int r = poll(&pfd, 1, REPLY_SECS * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			fprintf(stderr, "worker %s (pid %d) did not answer: hung\n", w->name, (int)w->pid);
			CU_FAIL_FATAL("a worker hung");
		}
		if (read(w->from, w->line + n, 1) != 1) {
			int st = 0;
			waitpid(w->pid, &st, 0);
			live_set(w->pid, 0);
			fprintf(stderr, "worker %s (pid %d) died: %s %d\n", w->name, (int)w->pid,
				WIFEXITED(st) ? "exit status" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			w->pid = 0;
			CU_FAIL_FATAL("a worker died");
		}
		if (w->line[n] == '\n' || n == sizeof(w->line) - 2)
			break;
		n++;
	}
	w->line[n] = 0;
	return strtoll(w->line, NULL, 10);
}

static long long w_cmd(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long w_cmd(struct worker *w, const char *fmt, ...)
{
	char line[200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	CU_ASSERT_FATAL(write(w->to, line, (size_t)n) == n);
	return w_line(w);
}

/* The command's answer must be want; else the test fails, saying what it was. */
#define W_EQ(w, want, ...)                                                                         \
	do {                                                                                       \
		long long got_ = w_cmd((w), __VA_ARGS__);                                          \
		if (got_ != (want))                                                                \
			fprintf(stderr, "%s:%d: worker %s: \"%s\": %s, expected %lld\n", __FILE__, \
				__LINE__, (w)->name, #__VA_ARGS__, (w)->line, (long long)(want));  \
		CU_ASSERT(got_ == (want));                                                         \
	} while (0)

/* Waits for a worker to exit; returns its exit status (-1: killed by a signal). */
static int w_wait(struct worker *w)
{
	int st;

	if (w->to >= 0)
		close(w->to);
	w->to = -1;
	CU_ASSERT_FATAL(waitpid(w->pid, &st, 0) == w->pid);
	live_set(w->pid, 0);
	w->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void w_kill(struct worker *w)
{
	kill(w->pid, SIGKILL);
	CU_ASSERT(w_wait(w) == -1);
	close(w->from);
}

/* A free-running worker's result line, after it exited with status 0. */
static void w_finish(struct worker *w)
{
	int st = w_wait(w);
	ssize_t n = read(w->from, w->line, sizeof(w->line) - 1);

	w->line[n > 0 ? n : 0] = 0;
	if (n > 0 && w->line[n - 1] == '\n')
		w->line[n - 1] = 0;
	close(w->from);
	printf("  %s: %s\n", w->name, st == 0 ? w->line : "failed");
	if (st != 0)
		fprintf(stderr, "worker %s exited with %d\n", w->name, st);
	CU_ASSERT(st == 0);
}

static void begin_test(const char *what, unsigned secs)
{
	kill_all();
	tu_watchdog_arm(what, secs);
}

/* A new store at tu_path(name) holding version 1 of every key; closed again. */
static const char *make_store(const char *name)
{
	struct kv_create_opts co = {.pool_size = POOL_SIZE, .index_slots = SLOTS};
	struct kv_open_opts o = {.flags = KV_SHARED, .create = &co};
	const char *path = tu_path(name);
	struct kv *kv;

	unlink(path);
	if (kv_open_opts(&kv, path, &o) < 0)
		fprintf(stderr, "kv_open_opts: %s\n", kv_errormsg());
	CU_ASSERT_FATAL(kv != NULL);
	CU_ASSERT_FATAL(kv_begin(kv) == 0);
	for (int k = 0; k < NKEYS; k++)
		CU_ASSERT_FATAL(put_ver(kv, k, 1) == 0);
	CU_ASSERT_FATAL(kv_commit(kv) == 0);
	CU_ASSERT_FATAL(kv_close(kv) == 0);
	return path;
}

/* After the workers: the store opens exclusively (kv_open checks every
 * record), and every key never deleted is there with a version of its own. */
static void check_store(const char *path)
{
	struct kv *kv = NULL;
	uint64_t v;

	CU_ASSERT_FATAL(kv_open(&kv, path, NULL) == 0);
	for (int k = 0; k < NSTABLE; k++)
		CU_ASSERT(get_ver(kv, k, &v) == 0);
	CU_ASSERT(kv_close(kv) == 0);
}

static void test_readers_during_writes(void)
{
	char seed[3][24], ms[2][16];
	uint64_t s = tu_seed("test_readers_during_writes");
	struct worker w, r[3], doomed;
	const char *path;

	begin_test("readers during writes", 120);
	path = make_store("rw.pool");
	for (int i = 0; i < 3; i++)
		snprintf(seed[i], sizeof(seed[i]), "%llu", (unsigned long long)(s + (uint64_t)i));
	snprintf(ms[0], sizeof(ms[0]), "%d", 6000);
	snprintf(ms[1], sizeof(ms[1]), "%d", 4500);
	spawn(&w, "writer", 0, "--writer", path, seed[0], ms[0], (const char *)NULL);
	spawn(&r[0], "reader 1", 0, "--reader", path, seed[1], ms[0], (const char *)NULL);
	spawn(&r[1], "reader 2", 0, "--reader", path, seed[2], ms[0], (const char *)NULL);
	/*
	 * A reader killed at a random moment, most likely inside a get: the
	 * epoch it leaves must not stop reclamation, else the writer (about
	 * 1 GB of puts in 6 s) fills the 256 MiB pool and fails with -ENOSPC.
	 */
	spawn(&doomed, "doomed reader", 0, "--doomed", path, (const char *)NULL);
	/* one reader that comes while the writer is at work (before the kill,
	 * or it could take the dead reader's slot and clear what it left) */
	usleep(300 * 1000);
	spawn(&r[2], "reader 3", 0, "--reader", path, seed[2] + 1, ms[1], (const char *)NULL);
	usleep((useconds_t)(300 + s % 500) * 1000);
	w_kill(&doomed);
	w_finish(&w);
	for (int i = 0; i < 3; i++)
		w_finish(&r[i]);
	/* the writer gave chunks back while the readers read */
	CU_ASSERT(strstr(w.line, " 0 chunks punched") == NULL);
	check_store(path);
	tu_watchdog_disarm();
}

static void test_one_writer_and_read_only_readers(void)
{
	struct worker w1, w2, r;
	const char *path;
	struct kv *kv = NULL;
	uint64_t v = 0;

	begin_test("one writer, read-only readers", 60);
	path = make_store("busy.pool");
	spawn(&w1, "writer 1", 1, "--script", path, (const char *)NULL);
	spawn(&w2, "writer 2", 1, "--script", path, (const char *)NULL);
	spawn(&r, "reader", 1, "--script", path, (const char *)NULL);
	W_EQ(&w1, 0, "open 0");
	W_EQ(&w2, -EBUSY, "open 0");
	W_EQ(&r, 0, "open 1");
	W_EQ(&r, -EROFS, "put 1 7");
	W_EQ(&r, -EROFS, "del 1");
	W_EQ(&r, -EROFS, "begin");
	W_EQ(&r, 1, "get 1");
	W_EQ(&w1, 0, "put 1 7");
	W_EQ(&r, 7, "get 1"); /* the writer's put is seen at once */
	W_EQ(&w1, 0, "del %d", NSTABLE);
	W_EQ(&r, -ENOENT, "get %d", NSTABLE);
	/* the pool is shared now: an exclusive open cannot have it */
	CU_ASSERT(kv_open(&kv, path, NULL) == -EBUSY);
	/* a second reader in this process: the pool is open here once only */
	CU_ASSERT(kv_open_opts(&kv, path, &(struct kv_open_opts){.flags = KV_READONLY}) == 0);
	CU_ASSERT(get_ver(kv, 1, &v) == 0 && v == 7);
	CU_ASSERT(kv_close(kv) == 0);
	/* bad combinations */
	CU_ASSERT(kv_open_opts(&kv, path, &(struct kv_open_opts){.flags = 0x10}) == -EINVAL);
	CU_ASSERT(kv_open_opts(&kv, path,
			       &(struct kv_open_opts){.flags = KV_READONLY,
						      .create = &(struct kv_create_opts){0}}) ==
		  -EINVAL);
	/* the writer's lock goes with its close */
	W_EQ(&w1, 0, "close");
	W_EQ(&w2, 0, "open 0");
	W_EQ(&w2, 0, "put 1 8");
	W_EQ(&r, 8, "get 1");
	W_EQ(&w2, 0, "close");
	W_EQ(&r, 0, "close");
	CU_ASSERT(w_wait(&w1) == 0 && w_wait(&w2) == 0 && w_wait(&r) == 0);
	close(w1.from), close(w2.from), close(r.from);
	check_store(path);
	tu_watchdog_disarm();
}

/* The writer's "stat": punched, waiting, pool_free, readers. */
struct wstat {
	unsigned long long punched, waiting, free, readers;
};

static struct wstat w_stat(struct worker *w)
{
	struct wstat s = {0};

	CU_ASSERT(w_cmd(w, "stat") == 0);
	CU_ASSERT(sscanf(w->line, "0 %llu %llu %llu %llu", &s.punched, &s.waiting, &s.free,
			 &s.readers) == 4);
	return s;
}

static void test_killed_reader_does_not_hold_space(void)
{
	struct worker w, r, r2;
	struct wstat a, b, c;
	const char *path;

	begin_test("killed reader", 60);
	path = make_store("kreader.pool");
	spawn(&w, "writer", 1, "--script", path, (const char *)NULL);
	spawn(&r, "reader", 1, "--script", path, (const char *)NULL);
	spawn(&r2, "reader 2", 1, "--script", path, (const char *)NULL);
	W_EQ(&w, 0, "open 0");
	W_EQ(&r, 0, "open 1");
	W_EQ(&r2, 0, "open 1");
	W_EQ(&r, 0, "pin"); /* inside a scan now, its epoch published */
	a = w_stat(&w);
	CU_ASSERT(a.readers == 2);
	/* every record of the fill dies, six times over: nothing may be punched */
	W_EQ(&w, 0, "churn 6 100");
	W_EQ(&r2, 105, "get 5"); /* the other reader is not held up */
	b = w_stat(&w);
	CU_ASSERT(b.punched == a.punched);
	CU_ASSERT(b.waiting >= 3);
	CU_ASSERT(b.free + 3 * CHUNK <= a.free);
	w_kill(&r);
	/* the dead reader's epoch is ignored at the next commit */
	W_EQ(&w, 0, "put 5 200");
	c = w_stat(&w);
	printf("  before the churn: pool_free %llu; pinned: %llu waiting, pool_free %llu; "
	       "killed: %llu punched, %llu waiting, pool_free %llu\n",
	       a.free, b.waiting, b.free, c.punched, c.waiting, c.free);
	CU_ASSERT(c.readers == 1);
	CU_ASSERT(c.waiting == 0);
	CU_ASSERT(c.punched >= b.waiting - 1);
	/* (the put may have taken a new chunk) */
	CU_ASSERT(c.free + CHUNK >= b.free + (b.waiting - 1) * CHUNK);
	W_EQ(&r2, 200, "get 5");
	W_EQ(&w, 0, "close");
	W_EQ(&r2, 0, "close");
	CU_ASSERT(w_wait(&w) == 0 && w_wait(&r2) == 0);
	close(w.from), close(r2.from);
	check_store(path);
	tu_watchdog_disarm();
}

static void test_killed_writer(void)
{
	uint64_t s = tu_seed("test_killed_writer");
	struct worker w, w2, r;
	char seed[24], line[300];
	const char *path;
	struct wstat st;

	begin_test("killed writer", 60);
	path = make_store("kwriter.pool");
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)s);
	spawn(&r, "reader", 1, "--script", path, (const char *)NULL);
	W_EQ(&r, 0, "open 1");
	spawn(&w, "writer", 0, "--writer", path, seed, "0", (const char *)NULL);
	usleep((useconds_t)(300 + s % 700) * 1000);
	CU_ASSERT(w_cmd(&r, "check") >= NSTABLE); /* valid while it writes */
	w_kill(&w);
	/* the last committed state, the same each time it is read */
	CU_ASSERT(w_cmd(&r, "check") >= NSTABLE);
	snprintf(line, sizeof(line), "%s", r.line);
	CU_ASSERT(w_cmd(&r, "check") >= NSTABLE);
	CU_ASSERT(strcmp(line, r.line) == 0);
	/* the killed writer's lock went with it */
	spawn(&w2, "writer 2", 1, "--script", path, (const char *)NULL);
	W_EQ(&w2, 0, "open 0");
	W_EQ(&w2, 0, "put 3 1000000");
	W_EQ(&r, 1000000, "get 3");
	/* and the new writer gives chunks back (the old writer's dead ones too) */
	W_EQ(&w2, 0, "churn 2 2000000");
	st = w_stat(&w2);
	CU_ASSERT(st.punched > 0);
	W_EQ(&r, 2000001, "get 4");
	W_EQ(&w2, 0, "close");
	W_EQ(&r, 0, "close");
	CU_ASSERT(w_wait(&w2) == 0 && w_wait(&r) == 0);
	close(w2.from), close(r.from);
	check_store(path);
	tu_watchdog_disarm();
}

/* The chunks a killed writer left dead wait for the readers that were in them
 * when the next writer opens, and come back once those readers are gone. */
static void test_dead_chunks_of_a_killed_writer_wait_for_readers(void)
{
	struct worker w, w2, r, pinned;
	struct wstat a, b;
	const char *path;

	begin_test("dead chunks of a killed writer", 60);
	path = make_store("kwchunks.pool");
	spawn(&w, "writer", 1, "--script", path, (const char *)NULL);
	spawn(&pinned, "pinned reader", 1, "--script", path, (const char *)NULL);
	spawn(&r, "reader", 1, "--script", path, (const char *)NULL);
	W_EQ(&w, 0, "open 0");
	W_EQ(&pinned, 0, "open 1");
	W_EQ(&r, 0, "open 1");
	W_EQ(&pinned, 0, "pin");
	W_EQ(&w, 0, "churn 4 10");
	a = w_stat(&w);
	CU_ASSERT(a.waiting >= 3 && a.punched == 0);
	w_kill(&w);
	spawn(&w2, "writer 2", 1, "--script", path, (const char *)NULL);
	W_EQ(&w2, 0, "open 0");
	b = w_stat(&w2);
	CU_ASSERT(b.waiting >= a.waiting && b.punched == 0);
	W_EQ(&w2, 0, "put 7 50");
	CU_ASSERT(w_cmd(&r, "check") == NKEYS);
	W_EQ(&r, 13, "get 8");
	W_EQ(&r, 50, "get 7");
	b = w_stat(&w2);
	CU_ASSERT(b.punched == 0);
	w_kill(&pinned);
	W_EQ(&w2, 0, "put 7 51");
	b = w_stat(&w2);
	printf("  killed writer: %llu chunks waiting; after the pinned reader was killed: "
	       "%llu punched, %llu waiting\n", a.waiting, b.punched, b.waiting);
	CU_ASSERT(b.waiting == 0 && b.punched >= a.waiting - 1);
	CU_ASSERT(w_cmd(&r, "check") == NKEYS);
	W_EQ(&w2, 0, "close");
	W_EQ(&r, 0, "close");
	CU_ASSERT(w_wait(&w2) == 0 && w_wait(&r) == 0);
	close(w2.from), close(r.from);
	check_store(path);
	tu_watchdog_disarm();
}

int main(int argc, char **argv)
{
	static const struct tu_test tests[] = {
		{"readers get valid values while the writer writes and punches",
		 test_readers_during_writes},
		{"one writer (-EBUSY), readers are read-only (-EROFS)",
		 test_one_writer_and_read_only_readers},
		{"a reader killed inside a read does not keep space", test_killed_reader_does_not_hold_space},
		{"a killed writer: readers go on, a new writer opens", test_killed_writer},
		{"a killed writer's dead chunks wait for the readers in them",
		 test_dead_chunks_of_a_killed_writer_wait_for_readers},
		{NULL, NULL},
	};

	if (argc == 5 && strcmp(argv[1], "--writer") == 0)
		return writer_main(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	if (argc == 5 && strcmp(argv[1], "--reader") == 0)
		return reader_main(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	if (argc == 3 && strcmp(argv[1], "--doomed") == 0)
		return doomed_main(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--script") == 0)
		return script_main(argv[2]);
	atexit(kill_all);
	return tu_run("kvstore readers", tests);
}
