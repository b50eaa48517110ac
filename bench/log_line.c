/*
 * log_line.c - what one log line costs (docs/measurements/CORPUS.md, "Cost of a log
 * line").
 *
 *   log_line syscalls FILE   the system calls of each way to write a
 *                            ~110-byte line to FILE (no shim needed):
 *                            write on a kept fd; fstat + write (a kept fd
 *                            checked); openat + fstat + write + close (per
 *                            line); the same with the signal mask around
 *                            the write
 *   log_line events          getrandom(8 bytes) calls: run under the shim
 *                            with DETSHIM_LOG and DETSHIM_LOG_FIRST_N=
 *                            1000000000, each call is one log line;
 *                            without a log it is the hook alone
 *
 * Prints "name ns" lines: the median of 7 loops of 20000 calls.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define N 20000
#define LOOPS 7

static const char line[] =
	"{\"seq\":12,\"pid\":4242,\"src\":\"getrandom\",\"call\":\"getrandom\","
	"\"action\":\"replaced\",\"detail\":\"len=8 flags=0\"}\n";
static const char *path;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void run(const char *name, void (*f)(int), int fd)
{
	double t[LOOPS];
	int l, i;

	for (l = 0; l < LOOPS; l++) {
		double s = now();

		for (i = 0; i < N; i++)
			f(fd);
		t[l] = (now() - s) / N;
	}
	qsort(t, LOOPS, sizeof(t[0]), cmp);
	printf("%s %.0f\n", name, t[LOOPS / 2]);
}

static void w_kept(int fd)
{
	if (syscall(SYS_write, fd, line, sizeof(line) - 1) < 0)
		exit(1);
}

static void w_checked(int fd)
{
	struct stat st;

	syscall(SYS_fstat, fd, &st);
	w_kept(fd);
}

static void w_per_line(int unused)
{
	struct stat st;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path,
			      O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK |
				      O_NOCTTY, 0);

	(void)unused;
	syscall(SYS_fstat, fd, &st);
	w_kept(fd);
	syscall(SYS_close, fd);
}

static void w_per_line_masked(int unused)
{
	unsigned long set = (1UL << (SIGPIPE - 1)) | (1UL << (SIGXFSZ - 1)) |
			    (1UL << (SIGTTOU - 1)), old;
	struct stat st;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path,
			      O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK |
				      O_NOCTTY, 0);

	(void)unused;
	syscall(SYS_fstat, fd, &st);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 8);
	w_kept(fd);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	syscall(SYS_close, fd);
}

static void event(int unused)
{
	unsigned char b[8];

	(void)unused;
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		exit(1);
}

int main(int argc, char **argv)
{
	int fd;

	if (argc == 3 && strcmp(argv[1], "syscalls") == 0) {
		path = argv[2];
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return 1;
		run("write-kept-fd", w_kept, fd);
		run("fstat+write-kept-fd", w_checked, fd);
		run("open+fstat+write+close", w_per_line, fd);
		run("open+fstat+mask+write+close", w_per_line_masked, fd);
		close(fd);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "events") == 0) {
		run("getrandom-event", event, -1);
		return 0;
	}
	fprintf(stderr, "usage: log_line syscalls FILE | events\n");
	return 2;
}
