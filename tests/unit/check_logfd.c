/*
 * check_logfd.c - the log's descriptor (shim/logfd.c): no fd held
 * between lines, never a line in a file that is not the log, a FIFO kept
 * high and O_CLOEXEC and given up when the program takes its number, no
 * SIGPIPE, no hang, nothing from a vfork child, failures reported once.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_detshim.h"
#include "logfd.h"

static char dir[64];
static char logp[128];

static void setup(void)
{
	strcpy(dir, "/tmp/detshim-logfd-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/log.jsonl", dir);
	ds_config_defaults(&ds_cfg);
	ds_cfg.log_first_n = 1000000;
	atomic_store(&ds_init_state, 2); /* after start-up unless a test says */
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Read a whole small file into buf (NUL-terminated); -1 if absent. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Point fd 2 at a file for the test; returns the saved fd 2. */
static int capture_stderr(const char *path)
{
	int saved = dup(2);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static void restore_stderr(int saved)
{
	dup2(saved, 2);
	close(saved);
}

DS_SITE(site_t, DS_SRC_GETRANDOM, "test");

START_TEST(test_no_fd_between_lines)
{
	char buf[8192];
	int before = open_fds(), i;

	strcpy(ds_cfg.log_path, logp);
	ck_assert_int_eq(ds_log_open(), 0);
	for (i = 0; i < 5; i++)
		ds_event(&site_t, "replaced", "i=%d", i);
	ck_assert_int_eq(open_fds(), before);
	ck_assert_int_gt(slurp(logp, buf, sizeof(buf)), 0);
	ck_assert_int_eq(count_lines(buf), 5);
}
END_TEST

START_TEST(test_relative_path_survives_chdir)
{
	char cwd[256], buf[4096], abs[192];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	strcpy(ds_cfg.log_path, "rel-%p.jsonl");
	ck_assert_int_eq(ds_log_open(), 0);
	ck_assert_int_eq(chdir("/"), 0);
	ds_event(&site_t, "replaced", "after chdir");
	snprintf(abs, sizeof(abs), "%s/rel-%ld.jsonl", dir, (long)getpid());
	ck_assert_int_gt(slurp(abs, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "after chdir"));
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_replaced_or_deleted_log_gets_nothing)
{
	char old[160], buf[4096];
	int fd;

	strcpy(ds_cfg.log_path, logp);
	ck_assert_int_eq(ds_log_open(), 0);
	ds_event(&site_t, "replaced", "one");
	/* Renamed away, and another file now at the path. */
	snprintf(old, sizeof(old), "%s.old", logp);
	ck_assert_int_eq(rename(logp, old), 0);
	fd = open(logp, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ds_event(&site_t, "replaced", "two");
	ck_assert_int_eq(slurp(logp, buf, sizeof(buf)), 0);
	slurp(old, buf, sizeof(buf));
	ck_assert_int_eq(count_lines(buf), 1);
	/* Deleted: never created again. */
	ck_assert_int_eq(unlink(logp), 0);
	ds_event(&site_t, "replaced", "three");
	ck_assert_int_eq(slurp(logp, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(test_failure_reported_once_in_the_log)
{
	char hidden[160], buf[4096], errp[160];
	int saved;

	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	strcpy(ds_cfg.log_path, logp);
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 2); /* after start-up */
	saved = capture_stderr(errp);
	snprintf(hidden, sizeof(hidden), "%s.hidden", logp);
	ck_assert_int_eq(rename(logp, hidden), 0);
	ds_event(&site_t, "replaced", "lost 1");
	ds_event(&site_t, "replaced", "lost 2");
	ck_assert_int_eq(rename(hidden, logp), 0);
	ds_event(&site_t, "replaced", "back");
	ds_event(&site_t, "replaced", "again");
	restore_stderr(saved);
	ck_assert_int_eq(slurp(errp, buf, sizeof(buf)), 0); /* nothing on stderr */
	slurp(logp, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\"call\":\"log\",\"action\":\"error\""));
	ck_assert_ptr_nonnull(strstr(buf, "(error 2); 2 lines dropped so far"));
	ck_assert_ptr_null(strstr(buf, "lost"));
	ck_assert_ptr_nonnull(strstr(buf, "back"));
	ck_assert_ptr_nonnull(strstr(buf, "again"));
	ck_assert_int_eq(count_lines(buf), 3); /* error record once */
}
END_TEST

START_TEST(test_failure_at_start_up_on_stderr_once)
{
	char buf[4096], errp[160];
	int saved;

	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	strcpy(ds_cfg.log_path, "/dev/full");
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 1); /* init running: before main */
	saved = capture_stderr(errp);
	ds_event(&site_t, "replaced", "a");
	ds_event(&site_t, "replaced", "b");
	restore_stderr(saved);
	slurp(errp, buf, sizeof(buf));
	ck_assert_int_eq(count_lines(buf), 1);
	ck_assert_ptr_nonnull(strstr(buf, "detshim: cannot write the log /dev/full (error 28)"));
}
END_TEST

START_TEST(test_warn_after_start_up_goes_to_the_log)
{
	char buf[4096], errp[160];
	int saved;

	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	strcpy(ds_cfg.log_path, logp);
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 2);
	saved = capture_stderr(errp);
	ds_warn("something %d", 42);
	restore_stderr(saved);
	ck_assert_int_eq(slurp(errp, buf, sizeof(buf)), 0);
	slurp(logp, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\"action\":\"warning\",\"detail\":\"something 42\""));
}
END_TEST

/* After start-up without a log, a warning is dropped: the program's
 * stderr is its own.  Before main it is one line on stderr. */
START_TEST(test_warn_without_log_after_start_up_dropped)
{
	char buf[4096], errp[160];
	int saved;

	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	ds_cfg.log_path[0] = '\0';
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 2);
	saved = capture_stderr(errp);
	ds_warn("after main %d", 1);
	restore_stderr(saved);
	ck_assert_int_eq(slurp(errp, buf, sizeof(buf)), 0);
	atomic_store(&ds_init_state, 1);
	saved = capture_stderr(errp);
	ds_warn("before main %d", 2);
	restore_stderr(saved);
	slurp(errp, buf, sizeof(buf));
	ck_assert_str_eq(buf, "detshim: before main 2\n");
}
END_TEST

START_TEST(test_vfork_child_writes_nothing)
{
	char buf[8192], errp[160], pidstr[32];
	int saved, st;
	pid_t pid;

	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	strcpy(ds_cfg.log_path, "/dev/full"); /* every write fails */
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 2);
	saved = capture_stderr(errp);
	pid = vfork();
	if (pid == 0) {
		/* What the exec hooks do between vfork and exec. */
		ds_event(&site_t, "derived", "in the vfork child");
		ds_warn("from the vfork child");
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	waitpid(pid, &st, 0);
	/* The child set no failure flag of ours: the parent's own first
	 * failure is still reported (at start-up: on stderr). */
	atomic_store(&ds_init_state, 1);
	ds_event(&site_t, "replaced", "parent");
	restore_stderr(saved);
	slurp(errp, buf, sizeof(buf));
	ck_assert_int_eq(count_lines(buf), 1);
	ck_assert_ptr_nonnull(strstr(buf, "cannot write the log"));
	ck_assert_ptr_null(strstr(buf, "vfork child"));
	/* And with a working log, the child's line is not there. */
	strcpy(ds_cfg.log_path, logp);
	ck_assert_int_eq(ds_log_open(), 0);
	pid = vfork();
	if (pid == 0) {
		ds_event(&site_t, "derived", "in the vfork child");
		_exit(0);
	}
	waitpid(pid, &st, 0);
	ds_event(&site_t, "replaced", "parent");
	slurp(logp, buf, sizeof(buf));
	snprintf(pidstr, sizeof(pidstr), "\"pid\":%ld,", (long)pid);
	ck_assert_ptr_null(strstr(buf, pidstr));
	ck_assert_int_eq(count_lines(buf), 1);
}
END_TEST

START_TEST(test_sandboxed_writes_nothing)
{
	char buf[4096], errp[160];
	int saved;

	snprintf(errp, sizeof(errp), "%s/stderr", dir);
	strcpy(ds_cfg.log_path, logp);
	ck_assert_int_eq(ds_log_open(), 0);
	ds_event(&site_t, "replaced", "before");
	ds_logfd_sandboxed();
	saved = capture_stderr(errp);
	ds_event(&site_t, "replaced", "after");
	ds_warn("after the sandbox");
	restore_stderr(saved);
	ck_assert_int_eq(slurp(errp, buf, sizeof(buf)), 0);
	slurp(logp, buf, sizeof(buf));
	ck_assert_int_eq(count_lines(buf), 1);
	ck_assert_ptr_nonnull(strstr(buf, "before"));
}
END_TEST

/* ---- FIFO logs -------------------------------------------------------- */

static char fifo[128];

static int fifo_reader(void)
{
	int r;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	r = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(r, 0);
	return r;
}

/* The fd that holds the FIFO (other than the reader), or -1. */
static int kept_fd(int reader)
{
	struct stat a, b;
	int fd;

	ck_assert_int_eq(stat(fifo, &a), 0);
	for (fd = 0; fd < 1024; fd++)
		if (fd != reader && fstat(fd, &b) == 0 && b.st_ino == a.st_ino &&
		    b.st_dev == a.st_dev)
			return fd;
	return -1;
}

START_TEST(test_fifo_without_reader_fails_fast)
{
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	strcpy(ds_cfg.log_path, fifo);
	ck_assert_int_eq(ds_log_open(), -ENXIO);
}
END_TEST

START_TEST(test_fifo_kept_high_and_cloexec)
{
	struct rlimit rl;
	char buf[4096];
	int r = fifo_reader(), fd;
	ssize_t n;

	strcpy(ds_cfg.log_path, fifo);
	ck_assert_int_eq(ds_log_open(), 0);
	fd = kept_fd(r);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= 1024)
		ck_assert_int_ge(fd, 896);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ds_event(&site_t, "replaced", "through the fifo");
	n = read(r, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "through the fifo"));
}
END_TEST

START_TEST(test_fifo_number_taken_over)
{
	char buf[4096], other[160];
	int r = fifo_reader(), fd, f;
	ssize_t n;

	strcpy(ds_cfg.log_path, fifo);
	ck_assert_int_eq(ds_log_open(), 0);
	fd = kept_fd(r);
	ck_assert_int_ge(fd, 3);
	snprintf(other, sizeof(other), "%s/program.txt", dir);
	f = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(f, 0);
	ck_assert_int_eq(dup2(f, fd), fd); /* the program takes the number */
	close(f);
	ds_event(&site_t, "replaced", "after the takeover");
	ck_assert_int_eq(slurp(other, buf, sizeof(buf)), 0);
	n = read(r, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "after the takeover"));
	/* The shim's new fd closed by the program (closefrom, say): opened
	 * again, and the program's file at the old number left alone. */
	f = kept_fd(r);
	ck_assert_int_ge(f, 3);
	ck_assert_int_ne(f, fd);
	close(f);
	ds_event(&site_t, "replaced", "after close");
	n = read(r, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "after close"));
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	ck_assert_int_eq(slurp(other, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_fifo_reader_gone_no_sigpipe)
{
	char buf[4096];
	sigset_t pend;
	int r = fifo_reader();
	ssize_t n;

	signal(SIGPIPE, SIG_DFL);
	strcpy(ds_cfg.log_path, fifo);
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 2);
	close(r);
	ds_event(&site_t, "replaced", "nobody reads this"); /* EPIPE */
	sigpending(&pend);
	ck_assert(!sigismember(&pend, SIGPIPE));
	/* A new reader: lines flow again, with the error record first. */
	r = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(r, 0);
	ds_event(&site_t, "replaced", "a new reader");
	n = read(r, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "(error 32); 1 lines dropped so far"));
	ck_assert_ptr_nonnull(strstr(buf, "a new reader"));
}
END_TEST

START_TEST(test_fifo_programs_pending_sigpipe_kept)
{
	sigset_t set, pend;
	int r = fifo_reader(), sig = 0;

	strcpy(ds_cfg.log_path, fifo);
	ck_assert_int_eq(ds_log_open(), 0);
	atomic_store(&ds_init_state, 2);
	close(r);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGPIPE); /* the program's own, pending */
	ds_event(&site_t, "replaced", "EPIPE while one is pending");
	sigpending(&pend);
	ck_assert(sigismember(&pend, SIGPIPE));
	ck_assert_int_eq(sigwait(&set, &sig), 0);
	ck_assert_int_eq(sig, SIGPIPE);
	/* Blocked but not pending: ours is taken back. */
	ds_event(&site_t, "replaced", "EPIPE, none pending");
	sigpending(&pend);
	ck_assert(!sigismember(&pend, SIGPIPE));
}
END_TEST

START_TEST(test_fifo_full_never_blocks)
{
	int r = fifo_reader(), i;

	strcpy(ds_cfg.log_path, fifo);
	ck_assert_int_eq(ds_log_open(), 0);
	/* Nobody reads: 64 KiB fill the pipe, the rest is dropped. */
	for (i = 0; i < 5000; i++)
		ds_event(&site_t, "replaced", "filler line %d", i);
	close(r);
}
END_TEST

static Suite *make_logfd_suite(void)
{
	Suite *s = suite_create("logfd");
	TCase *t = tcase_create("file");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_no_fd_between_lines);
	tcase_add_test(t, test_relative_path_survives_chdir);
	tcase_add_test(t, test_replaced_or_deleted_log_gets_nothing);
	tcase_add_test(t, test_failure_reported_once_in_the_log);
	tcase_add_test(t, test_failure_at_start_up_on_stderr_once);
	tcase_add_test(t, test_warn_after_start_up_goes_to_the_log);
	tcase_add_test(t, test_warn_without_log_after_start_up_dropped);
	tcase_add_test(t, test_vfork_child_writes_nothing);
	tcase_add_test(t, test_sandboxed_writes_nothing);
	suite_add_tcase(s, t);
	t = tcase_create("fifo");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_fifo_without_reader_fails_fast);
	tcase_add_test(t, test_fifo_kept_high_and_cloexec);
	tcase_add_test(t, test_fifo_number_taken_over);
	tcase_add_test(t, test_fifo_reader_gone_no_sigpipe);
	tcase_add_test(t, test_fifo_programs_pending_sigpipe_kept);
	tcase_add_test(t, test_fifo_full_never_blocks);
	suite_add_tcase(s, t);
	return s;
}
DS_TEST_SUITE(make_logfd_suite);
