/*
 * rel_semantics.c - contracts beyond tests/targets/semantics.c that a
 * program checking errors relies on (docs/measurements/RELIABILITY.md, "Semantics
 * preserved").  Prints "rel_semantics ok" or the first broken contract
 * and exits 1.  tests/it_reliability.sh runs it with and without the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "target_check.h"

#include <sys/wait.h>

/* 5000 arguments for execl: glibc takes any number, so must the shim. */
#define A10 "x", "x", "x", "x", "x", "x", "x", "x", "x", "x"
#define A100 A10, A10, A10, A10, A10, A10, A10, A10, A10, A10
#define A1000 A100, A100, A100, A100, A100, A100, A100, A100, A100, A100

static int execl_many(void)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		execl("/bin/true", "true", A1000, A1000, A1000, A1000, A1000,
		      (char *)NULL);
		_exit(127);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	unsigned char b[16], g[4] = { 0x5a, 0x5a, 0x5a, 0x5a };
	struct iovec v[2];
	/* volatile: the compiler must not see the bad values. */
	volatile size_t huge = SIZE_MAX;
	volatile int neg = -1, many = 1025;
	int fd;

	/* A write-only fd of /dev/urandom cannot be read. */
	fd = open("/dev/urandom", O_WRONLY);
	CHECK(fd >= 0);
	errno = 0;
	CHECK(read(fd, b, 8) == -1 && errno == EBADF);
	close(fd);
	/* An O_PATH fd cannot be read either. */
	fd = open("/dev/urandom", O_PATH);
	CHECK(fd >= 0);
	errno = 0;
	CHECK(read(fd, b, 8) == -1 && errno == EBADF);
	close(fd);
	/* fdopen refuses a mode the fd was not opened for. */
	fd = open("/dev/urandom", O_WRONLY);
	CHECK(fd >= 0);
	errno = 0;
	CHECK(fdopen(fd, "r") == NULL && errno == EINVAL);
	close(fd);

	fd = open("/dev/urandom", O_RDONLY);
	CHECK(fd >= 0);
	/* A range that wraps around the address space: EFAULT, no write. */
	memcpy(b + 8, g, 4);
	errno = 0;
	CHECK(read(fd, b, huge) == -1 && errno == EFAULT);
	CHECK(memcmp(b + 8, g, 4) == 0);
	/* (getrandom caps the count to INT_MAX before its check, so the
	 * same call there writes until it faults, with or without the
	 * shim: not a contract to test.) */
	/* readv: a bad count is EINVAL; the iovecs are filled in order and
	 * never beyond their lengths. */
	v[0].iov_base = b;
	v[0].iov_len = 3;
	v[1].iov_base = b + 4;
	v[1].iov_len = 4;
	errno = 0;
	CHECK(readv(fd, v, neg) == -1 && errno == EINVAL);
	CHECK(readv(fd, v, many) == -1 && errno == EINVAL);
	memcpy(b + 8, g, 4);
	b[3] = 0xa5;
	CHECK(readv(fd, v, 2) == 7 && b[3] == 0xa5 &&
	      memcmp(b + 8, g, 4) == 0);
	/* pread works on the character device, as the kernel allows. */
	CHECK(pread(fd, b, 8, 0) == 8);
	close(fd);

	/* O_NONBLOCK /dev/random and getrandom(GRND_RANDOM|GRND_NONBLOCK)
	 * succeed on a booted kernel (no EAGAIN once the pool is ready). */
	fd = open("/dev/random", O_RDONLY | O_NONBLOCK);
	CHECK(fd >= 0 && read(fd, b, 8) == 8);
	close(fd);
	CHECK(getrandom(b, 8, GRND_RANDOM | GRND_NONBLOCK) == 8);
	CHECK(getrandom(b, 8, GRND_INSECURE) == 8);
	/* Writing to /dev/urandom still reaches the kernel (adds to the
	 * pool) and succeeds. */
	fd = open("/dev/urandom", O_RDWR);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1 && read(fd, b, 4) == 4);
	close(fd);
	CHECK(execl_many() == 0);
	printf("rel_semantics ok\n");
	return 0;
}
