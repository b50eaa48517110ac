/* urandom_aliases.c - every way an fd can come to name /dev/urandom
 * without the shim seeing an open of "/dev/urandom", and fd numbers
 * that stop naming it: a symlink, /proc/self/fd/N, an fd inherited
 * across exec, and a marked fd closed and reused behind the shim's back
 * by raw system calls (it must read the file, never stream bytes).
 * Prints the bytes each alias reads; CHECK fails the run otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "target_check.h"

static void hex(const char *what, const unsigned char *b, size_t n)
{
	size_t i;

	printf("%s ", what);
	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

/* The exec'd half: read the inherited fd named by argv[2]. */
static int inherited(const char *arg)
{
	unsigned char b[8];
	int fd = atoi(arg);

	CHECK(read(fd, b, 8) == 8);
	hex("inherited", b, 8);
	return 0;
}

int main(int argc, char **argv)
{
	char link[64], path[64], file[64];
	unsigned char b[16];
	const char data[] = "plain file bytes";
	int fd, fd2, wfd;

	if (argc == 3 && strcmp(argv[1], "inherited") == 0)
		return inherited(argv[2]);
	fflush(stdout);

	/* A symlink with a name that says nothing. */
	snprintf(link, sizeof(link), "/tmp/ds-alias-%ld", (long)getpid());
	unlink(link);
	CHECK(symlink("/dev/urandom", link) == 0);
	fd = open(link, O_RDONLY);
	unlink(link);
	CHECK(fd >= 0);
	CHECK(read(fd, b, 8) == 8);
	hex("symlink", b, 8);

	/* /proc/self/fd/N of that fd. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd2 = open(path, O_RDONLY);
	CHECK(fd2 >= 0);
	CHECK(read(fd2, b, 8) == 8);
	hex("proc_self_fd", b, 8);
	close(fd2);

	/* Closed and reused behind the shim's back: raw close, raw open of a
	 * regular file that gets the same number.  The read must return the
	 * file's bytes. */
	snprintf(file, sizeof(file), "/tmp/ds-alias-file-%ld", (long)getpid());
	wfd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(wfd >= 0 && write(wfd, data, 16) == 16);
	close(wfd);
	CHECK(syscall(SYS_close, fd) == 0);
	fd2 = (int)syscall(SYS_openat, AT_FDCWD, file, O_RDONLY, 0);
	unlink(file);
	CHECK(fd2 == fd);
	memset(b, 0, sizeof(b));
	CHECK(read(fd2, b, 16) == 16 && memcmp(b, data, 16) == 0);
	close(fd2);

	/* Inherited across exec: the child never opens anything. */
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/urandom", O_RDONLY, 0);
	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "%d", fd);
	{
		char *args[] = { argv[0], (char *)"inherited", path, NULL };

		fflush(stdout);
		execv("/proc/self/exe", args);
	}
	CHECK(!"exec failed");
	return 1;
}
