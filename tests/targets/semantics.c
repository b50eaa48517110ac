/* The contracts of the replaced functions still hold under the shim
 * (docs/DESIGN.md §8.6).  Exits non-zero naming the first broken contract. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "target_check.h"

int main(void)
{
	unsigned char b[300], guard[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	char path[] = "/tmp/detshim-sem-XXXXXX";
	char rb[16];
	void *volatile nullbuf = NULL;
	int fd, fd2;

	errno = 0;
	CHECK(getrandom(b, 8, 0x80) == -1 && errno == EINVAL);
	CHECK(getrandom(b, 8, GRND_INSECURE | GRND_RANDOM) == -1 &&
	      errno == EINVAL);
	CHECK(syscall(SYS_getrandom, b, 8, 0x80) == -1 && errno == EINVAL);
	CHECK(getrandom(NULL, 0, 0) == 0);
	CHECK(getrandom(nullbuf, 8, 0) == -1 && errno == EFAULT);
	CHECK(getrandom(b, 300, 0) == 300);
	CHECK(getentropy(b, 256) == 0);
	CHECK(getentropy(b, 257) == -1 && errno == EIO);
	CHECK(arc4random_uniform(0) == 0 && arc4random_uniform(1) == 0);
	CHECK(arc4random_uniform(10) < 10);

	/* Never more than asked. */
	memcpy(b + 4, guard, 4);
	CHECK(getrandom(b, 4, 0) == 4 && memcmp(b + 4, guard, 4) == 0);
	fd = open("/dev/urandom", O_RDONLY | O_NONBLOCK);
	CHECK(fd >= 0);
	memcpy(b + 3, guard, 4);
	CHECK(read(fd, b, 3) == 3 && memcmp(b + 3, guard, 4) == 0);
	CHECK(read(fd, b, 0) == 0);
	close(fd);

	/* A regular file reusing the closed urandom fd number reads its own
	 * bytes, also when the close happened behind the shim's back. */
	fd = open("/dev/urandom", O_RDONLY);
	CHECK(fd >= 0);
	CHECK(syscall(SYS_close, fd) == 0);
	fd2 = mkstemp(path);
	CHECK(fd2 == fd);
	CHECK(write(fd2, "hello, world", 12) == 12);
	CHECK(pread(fd2, rb, 12, 0) == 12 && memcmp(rb, "hello, world", 12) == 0);
	CHECK(lseek(fd2, 0, SEEK_SET) == 0);
	CHECK(read(fd2, rb, 5) == 5 && memcmp(rb, "hello", 5) == 0);
	close(fd2);
	unlink(path);

	/* Closed fds stay closed. */
	errno = 0;
	CHECK(read(fd, rb, 1) == -1 && errno == EBADF);
	/* Opening something that does not exist still fails the same way. */
	CHECK(open("/nonexistent/x", O_RDONLY) == -1 && errno == ENOENT);
	CHECK(fopen("/nonexistent/x", "r") == NULL && errno == ENOENT);
	/* /dev/random opens and reads (no blocking on a booted kernel). */
	fd = open("/dev/random", O_RDONLY);
	CHECK(fd >= 0 && read(fd, b, 16) == 16);
	close(fd);
	printf("semantics ok\n");
	return 0;
}
