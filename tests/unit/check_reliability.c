/*
 * check_reliability.c - fork safety of the shim's one mutex (the cuDNN
 * graph table), the secure-execution configuration, and when a process
 * counts as having asked for the shim (docs/measurements/RELIABILITY.md).
 *
 * The fork tests run the child under alarm(): a child that blocks on a
 * lock copied in the locked state dies of SIGALRM, and the test fails
 * instead of hanging.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_detshim.h"
#include "cudnn_core.h"

/* The shim registers the cuDNN rows of its fork table from
 * shim/process.c, which is not in the core library: register the same
 * three functions here, once per test process. */
static pthread_once_t fork_rows_once = PTHREAD_ONCE_INIT;

static void register_fork_rows(void)
{
	pthread_atfork(ds_cudnn_fork_prepare, ds_cudnn_fork_parent,
		       ds_cudnn_fork_child);
}

static void fork_setup(void)
{
	pthread_once(&fork_rows_once, register_fork_rows);
}

/* Fork; the child runs fn under a 5 s alarm and exits with its result.
 * Returns the child's wait status. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		alarm(5);
		_exit(fn());
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static int child_first_choice(void)
{
	struct ds_cudnn_graph *gr;

	/* Another config of graph 7 was pending in the parent's thread,
	 * which does not exist here: the child must decide by itself. */
	return ds_cudnn_choose(7, 200, DS_CUDNN_FIRST, &gr) ==
		       DS_CUDNN_ALLOW_FIRST ? 0 : 1;
}

START_TEST(test_fork_with_pending_first_choice)
{
	struct ds_cudnn_graph *gr;
	int st;

	ds_cudnn_graphs_reset();
	ck_assert_int_eq(ds_cudnn_choose(7, 100, DS_CUDNN_FIRST, &gr),
			 DS_CUDNN_ALLOW_FIRST);
	st = in_child(child_first_choice);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child blocked or chose wrong (status 0x%x)", st);
	/* The parent's pending decision is untouched. */
	ds_cudnn_choose_done(gr, 100, DS_CUDNN_ALLOW_FIRST, true);
	ck_assert_int_eq(ds_cudnn_choose(7, 100, DS_CUDNN_FIRST, &gr),
			 DS_CUDNN_ALLOW);
}
END_TEST

static atomic_int holding;

static void slow_visit(struct ds_cudnn_graph *gr, void *arg)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	(void)gr;
	(void)arg;
	atomic_store(&holding, 1);
	nanosleep(&ts, NULL);
}

static atomic_int held_done;

static void *hold_lock(void *arg)
{
	(void)arg;
	ds_cudnn_graphs_foreach(slow_visit, NULL); /* under graph_lock */
	atomic_store(&held_done, 1);
	return NULL;
}

static int child_count(void)
{
	return ds_cudnn_graph_count() == 1 ? 0 : 1;
}

START_TEST(test_fork_while_other_thread_holds_lock)
{
	struct ds_cudnn_graph *gr;
	pthread_attr_t attr;
	pthread_t th;
	int st;

	ds_cudnn_graphs_reset();
	ds_cudnn_choose(9, 1, DS_CUDNN_ANY, &gr); /* one graph to visit */
	atomic_store(&holding, 0);
	atomic_store(&held_done, 0);
	/* Detached: in the child the thread does not exist, and TSan would
	 * report a joinable one as leaked. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ck_assert_int_eq(pthread_create(&th, &attr, hold_lock, NULL), 0);
	pthread_attr_destroy(&attr);
	while (!atomic_load(&holding))
		sched_yield();
	st = in_child(child_count);
	while (!atomic_load(&held_done))
		sched_yield();
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "child blocked on the graph lock (status 0x%x)", st);
}
END_TEST

START_TEST(test_secure_config_is_off)
{
	struct ds_config cfg;
	int i;

	memset(&cfg, 0xa5, sizeof(cfg));
	ds_config_secure(&cfg);
	ck_assert_int_eq(cfg.policy, DS_POLICY_OFF);
	ck_assert(!cfg.seed_given);
	ck_assert(!cfg.env_pins);
	ck_assert_str_eq(cfg.log_path, "");
	ck_assert_str_eq(cfg.config_path, "");
	ck_assert_str_eq(cfg.algo_cache, "");
	ck_assert_str_eq(cfg.lineage, "");
	for (i = 0; i < DS_SRC_COUNT; i++)
		ck_assert(!ds_enforce((enum ds_source)i) ||
			  ds_cfg.policy != DS_POLICY_OFF);
}
END_TEST

struct asked_case {
	const char *env[3];
	bool want;
};

static const struct asked_case asked_cases[] = {
	{ { "PATH=/bin", NULL }, false },
	{ { "DETSHIM_SEED=1", NULL }, true },
	{ { "DETSHIM_POLICY=off", NULL }, true },
	{ { "XDETSHIM_SEED=1", NULL }, false },
	{ { "LD_PRELOAD=/opt/lib/libdetshim.so", NULL }, true },
	{ { "LD_PRELOAD=libdetshim.so", NULL }, true },
	{ { "LD_PRELOAD=/x/libasan.so.8 /b/libdetshim.so", NULL }, true },
	{ { "LD_PRELOAD=/x/libasan.so.8:/b/libdetshim.so:", NULL }, true },
	{ { "LD_PRELOAD=/x/libdetshim.so.old", NULL }, false },
	{ { "LD_PRELOAD=/x/notlibdetshim.so", NULL }, false },
	{ { "LD_PRELOAD=/libdetshim.so/libfoo.so", NULL }, false },
	{ { "LD_PRELOAD=", NULL }, false },
	{ { "LD_PRELOAD= : ", "HOME=/root", NULL }, false },
};

START_TEST(test_asked_table)
{
	const struct asked_case *c = &asked_cases[_i];

	ck_assert_msg(ds_config_asked((char *const *)c->env, "libdetshim.so") ==
			      c->want,
		      "case %d (%s)", _i, c->env[0]);
}
END_TEST

START_TEST(test_not_secure_here)
{
	/* The test runner is not setuid: the flag reads false, so the
	 * integration test (tests/it_reliability.sh) is what proves the
	 * true branch with a real setgid binary. */
	ck_assert(!ds_secure_exec());
}
END_TEST

Suite *make_reliability_suite(void)
{
	Suite *s = suite_create("reliability");
	TCase *tc = tcase_create("fork");

	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, fork_setup, NULL);
	tcase_add_test(tc, test_fork_with_pending_first_choice);
	tcase_add_test(tc, test_fork_while_other_thread_holds_lock);
	suite_add_tcase(s, tc);
	tc = tcase_create("secure");
	tcase_add_test(tc, test_secure_config_is_off);
	tcase_add_test(tc, test_not_secure_here);
	tcase_add_loop_test(tc, test_asked_table, 0,
			    (int)DS_ARRAY_SIZE(asked_cases));
	suite_add_tcase(s, tc);
	return s;
}

DS_TEST_SUITE(make_reliability_suite);
