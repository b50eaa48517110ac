/* /dev/urandom and /dev/random through every open and read path. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void hex(const char *what, const unsigned char *b, size_t n)
{
	size_t i;

	printf("%s ", what);
	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static int must(int fd, const char *what)
{
	if (fd < 0) {
		perror(what);
		exit(1);
	}
	return fd;
}

int main(void)
{
	unsigned char b[64], c[64];
	struct iovec iov[2] = { { b, 5 }, { c, 7 } };
	FILE *f;
	int fd, fd2, dirfd;

	fd = must(open("/dev/urandom", O_RDONLY), "open");
	if (read(fd, b, 16) != 16)
		return 1;
	hex("open+read", b, 16);
	if (pread(fd, b, 8, 0) != 8)
		return 1;
	hex("pread", b, 8);
	if (readv(fd, iov, 2) != 12)
		return 1;
	hex("readv1", b, 5);
	hex("readv2", c, 7);
	fd2 = must(dup(fd), "dup");
	close(fd);
	if (read(fd2, b, 8) != 8)
		return 1;
	hex("dup+read", b, 8);
	fd = must(fcntl(fd2, F_DUPFD_CLOEXEC, 40), "fcntl");
	close(fd2);
	if (read(fd, b, 8) != 8)
		return 1;
	hex("fcntl_dupfd+read", b, 8);
	close(fd);
	fd = must(open64("/dev/./urandom", O_RDONLY | O_CLOEXEC), "open64");
	if (read(fd, b, 8) != 8)
		return 1;
	hex("open64_dotpath", b, 8);
	close(fd);
	dirfd = must(open("/dev", O_RDONLY | O_DIRECTORY), "open /dev");
	fd = must(openat(dirfd, "urandom", O_RDONLY), "openat");
	if (read(fd, b, 8) != 8)
		return 1;
	hex("openat", b, 8);
	close(fd);
	close(dirfd);
	fd = must(open("/dev/random", O_RDONLY | O_NONBLOCK), "open random");
	if (read(fd, b, 8) != 8)
		return 1;
	hex("dev_random_nonblock", b, 8);
	close(fd);
	f = fopen("/dev/urandom", "rb");
	if (f == NULL || fread(b, 1, 24, f) != 24)
		return 1;
	hex("fopen+fread", b, 24);
	printf("fgetc %02x\n", fgetc(f));
	fclose(f);
	fd = must(open("/dev/urandom", O_RDONLY), "open");
	f = fdopen(fd, "r");
	if (f == NULL || fread(b, 1, 8, f) != 8)
		return 1;
	hex("fdopen+fread", b, 8);
	fclose(f);
	memset(c, 0, sizeof(c));
	return 0;
}
