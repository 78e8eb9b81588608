/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The diagnostic log (src/out.c): the application's log function gets every
 * message with its level, also from the fault handler threads, and setting
 * none sends them back to the file; the level follows daxmap_set_log_level;
 * DAXMAP_LOG_LEVEL takes names and numbers, and an unusable value or log
 * file is said once on stderr; warnings show at the default level, the
 * user-mode-only userfaultfd one once per process.
 *
 * The environment is read once per process, so those cases run this
 * program again as a child:
 *   test_out --child level            two failing calls, exits with the level
 *   test_out --child user-mode PATH   as nobody: a pool created at PATH, opened
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define RW (DAXMAP_PROT_READ | DAXMAP_PROT_WRITE)
#define NOBODY 65534

extern char **environ;

/* ---- what the log function got ---- */

#define MAX_GOT 64

static pthread_mutex_t got_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int level;
	int other_thread; /* not the test's own thread: a fault handler */
	char msg[600];
} got[MAX_GOT];
static int ngot;
static pthread_t test_thread;

static void collect(int level, const char *msg, void *arg)
{
	pthread_mutex_lock(&got_mu);
	if (ngot < MAX_GOT) {
		got[ngot].level = level;
		got[ngot].other_thread = !pthread_equal(pthread_self(), test_thread);
		snprintf(got[ngot].msg, sizeof(got[ngot].msg), "%s", msg);
		ngot++;
	}
	++*(int *)arg;
	pthread_mutex_unlock(&got_mu);
}

/* The index of the first message containing s, or -1. */
static int got_find(const char *s)
{
	int i, found = -1;

	pthread_mutex_lock(&got_mu);
	for (i = 0; i < ngot && found < 0; i++)
		if (strstr(got[i].msg, s))
			found = i;
	pthread_mutex_unlock(&got_mu);
	return found;
}

static char *read_file(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

static const char *log_path; /* $DAXMAP_LOG_FILE of this process, set by main */

static void test_log_func_gets_messages_with_their_level_and_unset_restores_the_file(void)
{
	char missing[512], missing2[512];
	int calls = 0, old;

	snprintf(missing, sizeof(missing), "%s", tu_path("missing-1.pool"));
	snprintf(missing2, sizeof(missing2), "%s", tu_path("missing-2.pool"));
	old = daxmap_set_log_level(DAXMAP_LOG_DEBUG);
	CU_ASSERT(old == DAXMAP_LOG_WARNING); /* the default */
	TU_OK(daxmap_set_log_func(collect, &calls));

	/* a debug message: every error message, in the calling thread */
	CU_ASSERT(daxmap_pool_open(&(daxmap_pool *){NULL}, missing) == -ENOENT);
	int i = got_find(missing);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT(got[i].level == DAXMAP_LOG_DEBUG);
	CU_ASSERT(!got[i].other_thread);
	CU_ASSERT(strncmp(got[i].msg, "cannot open pool ", 17) == 0); /* no prefix */
	CU_ASSERT(strchr(got[i].msg, '\n') == NULL);
	CU_ASSERT(calls >= 1);

	/* below the level nothing comes */
	CU_ASSERT(daxmap_set_log_level(DAXMAP_LOG_WARNING) == DAXMAP_LOG_DEBUG);
	int before = calls;
	CU_ASSERT(daxmap_pool_open(&(daxmap_pool *){NULL}, missing) == -ENOENT);
	CU_ASSERT(calls == before);

	/* an error from a fault handler thread: a write into a hole of a full pool */
	daxmap_pool *pool = tu_pool_create("full.pool", 16 * MiB);
	struct daxmap_pool_stat st;
	daxmap_obj *a, *b;
	uint8_t *p;
	TU_OK(daxmap_pool_stat(pool, &st));
	TU_OK(daxmap_obj_open(&a, pool, "a", DAXMAP_CREATE));
	TU_OK(daxmap_obj_allocate(a, 0, st.data_size));
	TU_OK(daxmap_obj_open(&b, pool, "b", DAXMAP_CREATE));
	TU_OK(daxmap_obj_truncate(b, st.extent_size));
	TU_OK(daxmap_map((void **)&p, b, 0, st.extent_size, RW));
	CU_ASSERT(tu_try_write8(p, 1) == SIGBUS);
	/* the handler logs after it has sent the SIGBUS */
	for (int ms = 0; (i = got_find("SIGBUS")) < 0 && ms < 5000; ms++)
		usleep(1000);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT(got[i].level == DAXMAP_LOG_ERROR);
	CU_ASSERT(got[i].other_thread);
	CU_ASSERT(strstr(got[i].msg, "is full") != NULL);
	TU_OK(daxmap_unmap(p, st.extent_size));
	TU_OK(daxmap_obj_close(a));
	TU_OK(daxmap_obj_close(b));
	TU_OK(daxmap_pool_close(pool));

	/* nothing went to the file meanwhile; unset, the file has the messages again */
	CU_ASSERT(strstr(read_file(log_path), "missing-1.pool") == NULL);
	TU_OK(daxmap_set_log_func(NULL, NULL));
	daxmap_set_log_level(DAXMAP_LOG_DEBUG);
	before = calls;
	CU_ASSERT(daxmap_pool_open(&(daxmap_pool *){NULL}, missing2) == -ENOENT);
	CU_ASSERT(calls == before);
	char want[600];
	snprintf(want, sizeof(want), "libdaxmap[%d] debug: cannot open pool %s (No such file",
		 (int)getpid(), missing2);
	CU_ASSERT(strstr(read_file(log_path), want) != NULL);
	CU_ASSERT(daxmap_set_log_level(old) == DAXMAP_LOG_DEBUG);
}

/* The log function must not call the library; setting it from there says so. */
static int recursion_ret = 1;

static void calls_back(int level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
	recursion_ret = daxmap_set_log_func(NULL, NULL);
}

static void test_setting_the_log_func_from_the_log_func_is_edeadlk(void)
{
	int old = daxmap_set_log_level(DAXMAP_LOG_DEBUG);

	TU_OK(daxmap_set_log_func(calls_back, NULL));
	CU_ASSERT(daxmap_obj_size(NULL, NULL) == -EINVAL); /* logs its message */
	CU_ASSERT(recursion_ret == -EDEADLK);
	TU_OK(daxmap_set_log_func(NULL, NULL));
	daxmap_set_log_level(old);
}

static void test_log_level_out_of_range_is_einval(void)
{
	int old = daxmap_set_log_level(DAXMAP_LOG_NONE);

	CU_ASSERT(old >= 0);
	CU_ASSERT(daxmap_set_log_level(-1) == -EINVAL);
	CU_ASSERT(daxmap_set_log_level(5) == -EINVAL);
	CU_ASSERT(daxmap_set_log_level(old) == DAXMAP_LOG_NONE);
}

/* ---- children with their own environment ---- */

struct child {
	int status; /* exit status, or -1 */
	char err[8192]; /* its stderr */
};

/*
 * Runs this program as `--child mode arg` with DAXMAP_LOG_LEVEL and
 * DAXMAP_LOG_FILE as given (NULL: unset).
 */
static void run_child(struct child *c, const char *mode, const char *arg, const char *level,
		      const char *file)
{
	char *env[256], lvl[256], fil[600];
	int fds[2], n = 0, status;
	size_t len = 0;
	ssize_t r;
	pid_t pid;

	for (char **e = environ; *e && n < 252; e++)
		if (strncmp(*e, "DAXMAP_LOG_", 11) != 0)
			env[n++] = *e;
	if (level) {
		snprintf(lvl, sizeof(lvl), "DAXMAP_LOG_LEVEL=%s", level);
		env[n++] = lvl;
	}
	if (file) {
		snprintf(fil, sizeof(fil), "DAXMAP_LOG_FILE=%s", file);
		env[n++] = fil;
	}
	env[n] = NULL;
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execle("/proc/self/exe", "test_out", "--child", mode, arg, (char *)NULL, env);
		_exit(101);
	}
	close(fds[1]);
	while ((r = read(fds[0], c->err + len, sizeof(c->err) - 1 - len)) > 0)
		len += (size_t)r;
	c->err[len] = 0;
	close(fds[0]);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	c->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count_lines(const char *s, const char *with)
{
	int n = 0;

	for (const char *l = s; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (!with || memmem(l, len, with, strlen(with)))
			n++;
		l += len + (nl != NULL);
	}
	return n;
}

/* The child of the level cases: the level it found, after two failing calls. */
static int child_level(void)
{
	daxmap_pool *pool;

	daxmap_pool_open(&pool, "/nonexistent-dir/a.pool");
	daxmap_pool_open(&pool, "/nonexistent-dir/b.pool");
	return daxmap_set_log_level(DAXMAP_LOG_NONE);
}

static void test_log_level_names_and_numbers(void)
{
	static const struct {
		const char *value;
		int level;
	} cases[] = {
		{"none", 0},  {"error", 1},   {"ERROR", 1},  {"warning", 2}, {"warn", 2},
		{"Warn", 2},  {"notice", 3},  {"debug", 4},  {"DeBuG", 4},   {"0", 0},
		{"1", 1},     {"3", 3},       {"4", 4},      {"", 2},
	};
	struct child c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_child(&c, "level", "", cases[i].value, NULL);
		if (c.status != cases[i].level)
			fprintf(stderr, "\nDAXMAP_LOG_LEVEL=%s: level %d, want %d\n", cases[i].value,
				c.status, cases[i].level);
		CU_ASSERT(c.status == cases[i].level);
		/* debug shows the two failures, each on its line; no complaint */
		CU_ASSERT(count_lines(c.err, NULL) == (cases[i].level == 4 ? 2 : 0));
		CU_ASSERT(count_lines(c.err, "DAXMAP_LOG_LEVEL") == 0);
	}
	run_child(&c, "level", "", NULL, NULL);
	CU_ASSERT(c.status == DAXMAP_LOG_WARNING);
	CU_ASSERT(c.err[0] == 0);
}

static void test_unusable_log_level_is_said_once_and_the_default_taken(void)
{
	static const char *const bad[] = {"bogus", "5", "-1", "2x", "debugging", " "};
	struct child c;
	char want[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_child(&c, "level", "", bad[i], NULL);
		CU_ASSERT(c.status == DAXMAP_LOG_WARNING);
		snprintf(want, sizeof(want), "DAXMAP_LOG_LEVEL=%s is not a level", bad[i]);
		if (count_lines(c.err, NULL) != 1 || count_lines(c.err, want) != 1)
			fprintf(stderr, "\nDAXMAP_LOG_LEVEL=%s: stderr was:\n%s", bad[i], c.err);
		CU_ASSERT(count_lines(c.err, NULL) == 1);
		CU_ASSERT(count_lines(c.err, want) == 1);
		CU_ASSERT(strncmp(c.err, "libdaxmap[", 10) == 0);
	}
}

static void test_log_file_gets_the_lines_and_an_unopenable_one_is_said_once(void)
{
	const char *file = tu_path("child.log");
	char want[128];
	struct child c;

	run_child(&c, "level", "", "debug", file);
	CU_ASSERT(c.status == DAXMAP_LOG_DEBUG);
	CU_ASSERT(c.err[0] == 0);
	const char *text = read_file(file);
	CU_ASSERT(count_lines(text, NULL) == 2);
	CU_ASSERT(count_lines(text, "] debug: cannot open pool /nonexistent-dir/a.pool") == 1);
	CU_ASSERT(count_lines(text, "] debug: cannot open pool /nonexistent-dir/b.pool") == 1);

	/* one line about the file, then the messages on stderr */
	run_child(&c, "level", "", "debug", "/nonexistent-dir/x.log");
	CU_ASSERT(c.status == DAXMAP_LOG_DEBUG);
	snprintf(want, sizeof(want), "cannot open DAXMAP_LOG_FILE=/nonexistent-dir/x.log");
	CU_ASSERT(count_lines(c.err, want) == 1);
	CU_ASSERT(count_lines(c.err, "] debug: cannot open pool") == 2);
	CU_ASSERT(count_lines(c.err, NULL) == 3);
}

/*
 * The child of the user-mode case: as nobody (from before its first library
 * call), a pool created, closed, opened and closed.
 */
static int child_user_mode(const char *path)
{
	struct daxmap_pool_stat st;
	daxmap_pool *pool;

	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0) {
		perror("becoming nobody");
		return 13;
	}
	if (daxmap_pool_create(&pool, path, 16 * MiB, 0600) < 0) {
		fprintf(stderr, "create: %s\n", daxmap_errormsg());
		return 10;
	}
	if (daxmap_pool_stat(pool, &st) < 0 || daxmap_pool_close(pool) < 0 ||
	    daxmap_pool_open(&pool, path) < 0 || daxmap_pool_close(pool) < 0) {
		fprintf(stderr, "reopen: %s\n", daxmap_errormsg());
		return 11;
	}
	return st.user_mode_only ? 0 : 12;
}

static void test_user_mode_only_warning_shows_by_default_once(void)
{
	char dir[512], path[600];
	struct child c;

	if (geteuid() != 0) {
		printf("\n  skipped: needs root to run a child as nobody\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s", tu_path("nobody"));
	CU_ASSERT_FATAL(mkdir(dir, 0777) == 0 && chmod(dir, 0777) == 0);
	CU_ASSERT_FATAL(chmod(tu_dir(), 0711) == 0);
	snprintf(path, sizeof(path), "%s/default.pool", dir);
	run_child(&c, "user-mode", path, NULL, NULL);
	if (c.status == 12) {
		printf("\n  skipped: nobody has a full userfaultfd here (vm.unprivileged_userfaultfd=1?)\n");
		return;
	}
	if (c.status != 0 || count_lines(c.err, NULL) != 1)
		fprintf(stderr, "\nchild as nobody: status %d, stderr:\n%s", c.status, c.err);
	CU_ASSERT(c.status == 0);
	CU_ASSERT(count_lines(c.err, "] warning: userfaultfd handles user-mode faults only") == 1);
	CU_ASSERT(count_lines(c.err, NULL) == 1);

	/* at level error it is not shown */
	snprintf(path, sizeof(path), "%s/error.pool", dir);
	run_child(&c, "user-mode", path, "error", NULL);
	CU_ASSERT(c.status == 0);
	CU_ASSERT(c.err[0] == 0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--child") == 0 && strcmp(argv[2], "level") == 0)
		return child_level();
	if (argc == 4 && strcmp(argv[1], "--child") == 0 && strcmp(argv[2], "user-mode") == 0)
		return child_user_mode(argv[3]);

	/* this process logs to a file of its own, at the default level */
	log_path = strdup(tu_path("test_out.log"));
	setenv("DAXMAP_LOG_FILE", log_path, 1);
	unsetenv("DAXMAP_LOG_LEVEL");
	test_thread = pthread_self();

	static const struct tu_test tests[] = {
		{"log_func_gets_messages_with_their_level_and_unset_restores_the_file",
		 test_log_func_gets_messages_with_their_level_and_unset_restores_the_file},
		{"setting_the_log_func_from_the_log_func_is_edeadlk",
		 test_setting_the_log_func_from_the_log_func_is_edeadlk},
		{"log_level_out_of_range_is_einval", test_log_level_out_of_range_is_einval},
		{"log_level_names_and_numbers", test_log_level_names_and_numbers},
		{"unusable_log_level_is_said_once_and_the_default_taken",
		 test_unusable_log_level_is_said_once_and_the_default_taken},
		{"log_file_gets_the_lines_and_an_unopenable_one_is_said_once",
		 test_log_file_gets_the_lines_and_an_unopenable_one_is_said_once},
		{"user_mode_only_warning_shows_by_default_once",
		 test_user_mode_only_warning_shows_by_default_once},
		{NULL, NULL},
	};
	return tu_run("out", tests);
}
