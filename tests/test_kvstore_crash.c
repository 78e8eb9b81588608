/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kvstore crash test: a child process (this program, exec'd with --child)
 * runs random puts and deletes, single and in batches, and writes the count
 * of acknowledged operations to a pipe after each one returns. The parent
 * SIGKILLs it at a random moment, reopens the store and checks that every
 * key holds the result of its last acknowledged operation or of one still in
 * flight, and that no value is torn. Both sides derive the operations from
 * (seed, round), so only a count crosses the pipe.
 *
 * DAXMAP_KV_CRASH_ROUNDS (default 40) sets the number of kills;
 * DAXMAP_TEST_SEED replays a run.
 */
#define _GNU_SOURCE
#include "testutil.h"
#include "kv.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NKEYS 500
#define NONE UINT64_MAX
#define MAX_VAL 3000

struct op {
	int del;
	int key;
	uint64_t id; /* round << 32 | index: also names the value */
};

/* The operation stream of a round: groups of 1 (no batch) or 2..40 (a batch). */
struct stream {
	uint64_t rng;
	uint64_t round, next;
};

static void stream_init(struct stream *s, uint64_t seed, uint64_t round)
{
	s->rng = seed ^ (round * UINT64_C(0x9e3779b97f4a7c15)) ^ 0x5bd1e995;
	s->rng = s->rng ? s->rng : 1;
	s->round = round;
	s->next = 0;
}

/* Fills ops with the next group; returns its length (> 1: a batch). */
static int stream_group(struct stream *s, struct op *ops)
{
	int n = tu_rand(&s->rng) % 4 == 0 ? 2 + (int)(tu_rand(&s->rng) % 39) : 1;
	for (int i = 0; i < n; i++) {
		ops[i].del = tu_rand(&s->rng) % 4 == 0;
		ops[i].key = (int)(tu_rand(&s->rng) % NKEYS);
		ops[i].id = s->round << 32 | s->next++;
	}
	return n;
}

static size_t make_key(char *buf, int k)
{
	int n = sprintf(buf, "key%d", k);
	memset(buf + n, '.', (size_t)(k % 40));
	return (size_t)n + (size_t)(k % 40);
}

/* The value an operation writes: its id, then bytes that follow from it. */
static size_t make_value(char *buf, uint64_t id)
{
	uint64_t x = id * UINT64_C(0x2545f4914f6cdd1d) + 1;
	size_t len = 8 + (size_t)(tu_rand(&x) % (MAX_VAL - 8));
	memcpy(buf, &id, 8);
	for (size_t i = 8; i < len; i++)
		buf[i] = (char)(tu_rand(&x) >> 56);
	return len;
}

static int child_main(const char *path, uint64_t seed, uint64_t round, int fd)
{
	struct op ops[40];
	struct stream s;
	struct kv *kv;
	char key[64], val[MAX_VAL];
	uint64_t acked = 0;
	int ret;

	if ((ret = kv_open(&kv, path, NULL)) < 0) {
		fprintf(stderr, "child: kv_open: %s\n", kv_errormsg());
		return 3;
	}
	stream_init(&s, seed, round);
	for (;;) {
		int n = stream_group(&s, ops);
		if (n > 1 && kv_begin(kv) < 0)
			break;
		for (int i = 0; i < n; i++) {
			size_t klen = make_key(key, ops[i].key);
			if (ops[i].del) {
				ret = kv_del(kv, key, klen);
				ret = ret == -ENOENT ? 0 : ret;
			} else {
				ret = kv_put(kv, key, klen, val, make_value(val, ops[i].id));
			}
			if (ret < 0)
				goto fail;
		}
		if (n > 1 && (ret = kv_commit(kv)) < 0)
			goto fail;
		acked += (uint64_t)n;
		if (write(fd, &acked, sizeof(acked)) != sizeof(acked))
			return 4;
	}
fail:
	fprintf(stderr, "child: %s\n", kv_errormsg());
	return 3;
}

static uint64_t base[NKEYS]; /* the op id each key holds after the last check, or NONE */
static char exe[4096];

/* Runs one child, kills it at a random moment; returns the acknowledged count. */
static uint64_t run_child(const char *path, uint64_t seed, uint64_t round, uint64_t *rng)
{
	char s_seed[32], s_round[32], s_fd[16];
	uint64_t acked = 0, v;
	int fds[2], status;
	pid_t pid;

	CU_ASSERT_FATAL(pipe(fds) == 0);
	snprintf(s_seed, sizeof(s_seed), "%llu", (unsigned long long)seed);
	snprintf(s_round, sizeof(s_round), "%llu", (unsigned long long)round);
	snprintf(s_fd, sizeof(s_fd), "%d", fds[1]);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		execl(exe, exe, "--child", path, s_seed, s_round, s_fd, (char *)NULL);
		_exit(5);
	}
	close(fds[1]);
	/* one kill in eight may land while the child opens the store */
	if (tu_rand(rng) % 8 != 0 && read(fds[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	usleep((useconds_t)(tu_rand(rng) % 20000));
	kill(pid, SIGKILL);
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		acked = v;
	close(fds[0]);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	if (!WIFSIGNALED(status))
		fprintf(stderr, "child exited with %d before the kill\n", WEXITSTATUS(status));
	CU_ASSERT_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return acked;
}

static int count_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
	(void)val, (void)vlen;
	CU_ASSERT(klen >= 4 && memcmp(key, "key", 3) == 0);
	++*(uint64_t *)arg;
	return 0;
}

static void check_round(const char *path, uint64_t seed, uint64_t round, uint64_t acked)
{
	static char buf[MAX_VAL], want[MAX_VAL];
	static uint64_t inflight[NKEYS][40];
	static int ninflight[NKEYS];
	uint64_t expect[NKEYS], keys = 0, scanned = 0;
	struct op ops[40];
	struct stream s;
	struct kv *kv;
	uint64_t done = 0;
	char key[64];

	/* replay the stream: acknowledged operations, then the group in flight */
	memcpy(expect, base, sizeof(expect));
	memset(ninflight, 0, sizeof(ninflight));
	stream_init(&s, seed, round);
	while (done < acked) {
		int n = stream_group(&s, ops);
		CU_ASSERT_FATAL(done + (uint64_t)n <= acked); /* acks come per group */
		for (int i = 0; i < n; i++)
			expect[ops[i].key] = ops[i].del ? NONE : ops[i].id;
		done += (uint64_t)n;
	}
	int n = stream_group(&s, ops);
	for (int i = 0; i < n; i++) {
		int k = ops[i].key;
		inflight[k][ninflight[k]++] = ops[i].del ? NONE : ops[i].id;
	}

	int ret = kv_open(&kv, path, NULL);
	if (ret < 0)
		fprintf(stderr, "round %llu: kv_open: %s\n", (unsigned long long)round, kv_errormsg());
	CU_ASSERT_FATAL(ret == 0);
	for (int k = 0; k < NKEYS; k++) {
		size_t klen = make_key(key, k), vlen;
		uint64_t got = NONE;
		int ok;
		ret = kv_get(kv, key, klen, buf, sizeof(buf), &vlen);
		CU_ASSERT_FATAL(ret == 0 || ret == -ENOENT);
		if (ret == 0) {
			CU_ASSERT_FATAL(vlen >= 8 && vlen <= sizeof(buf));
			memcpy(&got, buf, 8);
			/* not torn: every byte is the one its operation wrote */
			CU_ASSERT_FATAL(make_value(want, got) == vlen && memcmp(want, buf, vlen) == 0);
			keys++;
		}
		ok = got == expect[k];
		for (int i = 0; i < ninflight[k]; i++)
			ok |= got == inflight[k][i];
		if (!ok)
			fprintf(stderr, "round %llu key %d: holds op %llx, acknowledged %llx\n",
				(unsigned long long)round, k, (unsigned long long)got,
				(unsigned long long)expect[k]);
		CU_ASSERT_FATAL(ok);
		base[k] = got;
	}
	CU_ASSERT(kv_scan(kv, count_cb, &scanned) == 0);
	CU_ASSERT(scanned == keys);
	CU_ASSERT(kv_close(kv) == 0);
}

static void test_acknowledged_ops_survive_sigkill(void)
{
	const char *env = getenv("DAXMAP_KV_CRASH_ROUNDS");
	uint64_t rounds = env && *env ? strtoull(env, NULL, 0) : 40;
	uint64_t seed = tu_seed("test_acknowledged_ops_survive_sigkill"), rng = seed, total = 0;
	struct kv_create_opts o = {.pool_size = 128 << 20, .index_slots = 4096};
	const char *path = tu_path("crash");
	struct kv *kv;

	CU_ASSERT_FATAL(kv_open(&kv, path, &o) == 0);
	CU_ASSERT_FATAL(kv_close(kv) == 0);
	for (int k = 0; k < NKEYS; k++)
		base[k] = NONE;
	for (uint64_t r = 1; r <= rounds; r++) {
		uint64_t acked = run_child(path, seed, r, &rng);
		check_round(path, seed, r, acked);
		total += acked;
	}
	printf("  %llu kills, %llu acknowledged operations checked\n", (unsigned long long)rounds,
	       (unsigned long long)total);
}

int main(int argc, char **argv)
{
	static const struct tu_test tests[] = {
		{"acknowledged_ops_survive_sigkill", test_acknowledged_ops_survive_sigkill},
		{NULL, NULL},
	};
	if (argc == 6 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
				  atoi(argv[5]));
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 2;
	exe[n] = 0;
	return tu_run("kvstore_crash", tests);
}
