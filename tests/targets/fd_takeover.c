/*
 * fd_takeover.c - a program that takes over descriptor numbers the way
 * daemons and shells do, run by tests/it_corpus.sh under the shim with a
 * log.  Each mode frees numbers, opens FILE, makes log events (getrandom,
 * getentropy, a urandom read), writes "program data\n" to FILE and
 * closes it; the test then asserts FILE holds exactly that line.
 *
 *   fd_takeover closefrom FILE    closefrom(3) first
 *   fd_takeover close_range FILE  close_range(3, ~0U, 0) first
 *   fd_takeover close_loop FILE   close() of 3 .. RLIMIT_NOFILE-1 first
 *   fd_takeover dup2_all FILE     FILE dup2'ed onto every free number
 *                                 3 .. min(RLIMIT_NOFILE, 1024)-1 (and on
 *                                 the numbers closefrom freed), events,
 *                                 then all those copies closed
 *   fd_takeover events N USEC     N rounds of events, USEC apart; writes
 *                                 nothing itself (the log's own tests:
 *                                 a FIFO or pipe whose reader goes away)
 *
 * Exit status 0, or 1 with a message when a call of its own fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void events(void)
{
	unsigned char b[8];
	int fd;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b) ||
	    getentropy(b, sizeof(b)) != 0) {
		fprintf(stderr, "fd_takeover: getrandom/getentropy failed\n");
		exit(1);
	}
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		fprintf(stderr, "fd_takeover: /dev/urandom failed\n");
		exit(1);
	}
	close(fd);
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void finish(int fd)
{
	int i;

	for (i = 0; i < 4; i++)
		events();
	if (write(fd, "program data\n", 13) != 13) {
		perror("write");
		exit(1);
	}
	for (i = 0; i < 4; i++)
		events();
	close(fd);
}

static long nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > 65536)
		return 65536;
	return (long)rl.rlim_cur;
}

int main(int argc, char **argv)
{
	long fd, top;
	int f;

	if (argc == 4 && strcmp(argv[1], "events") == 0) {
		long i, n = atol(argv[2]);

		for (i = 0; i < n; i++) {
			events();
			usleep((useconds_t)atol(argv[3]));
		}
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: fd_takeover closefrom|close_range|"
				"close_loop|dup2_all FILE | events N USEC\n");
		return 2;
	}
	events(); /* the log is in use before the numbers are taken */
	if (strcmp(argv[1], "closefrom") == 0) {
		closefrom(3);
	} else if (strcmp(argv[1], "close_range") == 0) {
		if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
			perror("close_range");
			return 1;
		}
	} else if (strcmp(argv[1], "close_loop") == 0) {
		for (fd = 3, top = nofile(); fd < top; fd++)
			close((int)fd);
	} else if (strcmp(argv[1], "dup2_all") == 0) {
		closefrom(3);
		f = open_file(argv[2]);
		top = nofile() < 1024 ? nofile() : 1024;
		for (fd = 3; fd < top; fd++)
			if (fd != f && dup2(f, (int)fd) < 0) {
				perror("dup2");
				return 1;
			}
		for (fd = 0; fd < 4; fd++)
			events();
		for (fd = 3; fd < top; fd++)
			if (fd != f)
				close((int)fd);
		finish(f);
		return 0;
	} else {
		fprintf(stderr, "fd_takeover: unknown mode %s\n", argv[1]);
		return 2;
	}
	finish(open_file(argv[2]));
	return 0;
}
