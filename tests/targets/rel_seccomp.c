/*
 * rel_seccomp.c - a program that enters seccomp and then reads entropy
 * (docs/measurements/RELIABILITY.md, "Sandboxes").
 *
 *   rel_seccomp strict   open /dev/urandom, enter SECCOMP_MODE_STRICT with
 *                        prctl (only read, write, exit and sigreturn are
 *                        allowed from then on), read 8 bytes of the fd it
 *                        never read before, write them in hex, exit
 *   rel_seccomp seed     enter SECCOMP_MODE_STRICT, then seed and draw:
 *                        srand(42), rand, srandom(7), random,
 *                        srand48(5), lrand48, srand(time(NULL)), rand,
 *                        initstate; print each value in hex (one line
 *                        each) with write, exit
 *   rel_seccomp filter   enter a filter with seccomp(2) through syscall()
 *                        (as libseccomp does) that kills the process on
 *                        openat, fstat, newfstatat, fcntl, getpid and
 *                        rt_sigprocmask, then read an fd opened before,
 *                        fread a FILE opened before and call getrandom;
 *                        print the three in hex
 *
 * Without the shim both run (the kernel serves the reads).  Under the
 * shim, with or without a log, they must run too: a system call that the
 * program would not have made kills it.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void hex8(char *out, const unsigned char *b)
{
	static const char d[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 8; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
}

static int strict(void)
{
	unsigned char b[8];
	char line[] = "strict 0000000000000000\n";
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
		return 1;
	if (read(fd, b, 8) != 8)
		syscall(SYS_exit, 3);
	hex8(line + 7, b);
	if (write(1, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		syscall(SYS_exit, 4);
	syscall(SYS_exit, 0);
	return 0;
}

/* One "name value" line through write: stdio's first write would make an
 * fstat, which strict mode kills. */
static void put(const char *name, unsigned long v)
{
	char line[64];
	size_t n = strlen(name);
	int i;

	memcpy(line, name, n);
	line[n++] = ' ';
	for (i = 15; i >= 0; i--)
		line[n++] = "0123456789abcdef"[(v >> (4 * i)) & 15];
	line[n++] = '\n';
	if (write(1, line, n) != (ssize_t)n)
		syscall(SYS_exit, 4);
}

static int seed(void)
{
	static char state[64];

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
		return 1;
	srand(42);
	put("srand(42) rand", (unsigned long)rand());
	srandom(7);
	put("srandom(7) random", (unsigned long)random());
	srand48(5);
	put("srand48(5) lrand48", (unsigned long)lrand48());
	/* time() is the vDSO: no system call of the program's own. */
	srand((unsigned)time(NULL));
	put("srand(time) rand", (unsigned long)rand());
	put("initstate(3) ok", initstate(3, state, sizeof(state)) != NULL);
	put("initstate(3) random", (unsigned long)random());
	syscall(SYS_exit, 0);
	return 0;
}

#define KILL_ON(nr)                                                     \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

static char outbuf[4096], inbuf[4096];

static int filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		KILL_ON(SYS_openat),
		KILL_ON(SYS_fstat),
		KILL_ON(SYS_newfstatat),
		KILL_ON(SYS_fcntl),
		KILL_ON(SYS_getpid),
		KILL_ON(SYS_rt_sigprocmask),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	unsigned char b[8];
	char h[17] = "";
	int fd = open("/dev/urandom", O_RDONLY);
	FILE *fp = fopen("/dev/urandom", "r");

	if (fd < 0 || fp == NULL || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 1;
	/* Buffers given, so that stdio makes no fstat at the first use. */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	setvbuf(fp, inbuf, _IOFBF, sizeof(inbuf));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return 1;
	if (read(fd, b, 8) != 8)
		return 3;
	hex8(h, b);
	printf("filter read %s\n", h);
	if (fread(b, 1, 8, fp) != 8)
		return 3;
	hex8(h, b);
	printf("filter fread %s\n", h);
	if (getrandom(b, 8, 0) != 8)
		return 3;
	hex8(h, b);
	printf("filter getrandom %s\n", h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "strict") == 0)
		return strict();
	if (argc == 2 && strcmp(argv[1], "filter") == 0)
		return filter();
	if (argc == 2 && strcmp(argv[1], "seed") == 0)
		return seed();
	fprintf(stderr, "usage: rel_seccomp strict|filter|seed\n");
	return 2;
}
