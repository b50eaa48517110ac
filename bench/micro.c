/* micro.c - ns per call of the functions the shim interposes (or seeds),
 * run once without and once with LD_PRELOAD by bench/run.sh.  Each figure
 * is the median of 7 repetitions of a timed loop. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static volatile unsigned long sink;
static unsigned char buf[4096];
static int regfd, pipefd[2], ufd;

#define BENCH(name, iters, body)                                             \
	do {                                                                 \
		double r[7];                                                 \
		long i;                                                      \
		int k;                                                       \
		for (k = 0; k < 7; k++) {                                    \
			double t0 = now();                                   \
			for (i = 0; i < (iters); i++) {                      \
				body;                                        \
			}                                                    \
			r[k] = (now() - t0) / (iters);                       \
		}                                                            \
		qsort(r, 7, sizeof(r[0]), cmpd);                             \
		printf("%-26s %10.1f\n", name, r[3]);                        \
	} while (0)

/*
 * What the read hook adds to a read it does not serve, paired in one
 * process: blocks of pread through the PLT (the shim's, when preloaded)
 * alternate with blocks through glibc's own pread, found in libc.so.6
 * itself.  Without the shim both are glibc's: the control, near 0.
 */
static void paired_pread(void)
{
	ssize_t (*libc_pread)(int, void *, size_t, off_t);
	void *h = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
	double r[7];
	int k, b;
	long i;

	libc_pread = h ? (ssize_t (*)(int, void *, size_t, off_t))
			 dlsym(h, "pread") : NULL;
	if (libc_pread == NULL)
		return;
	for (k = 0; k < 7; k++) {
		double plt = 0, direct = 0, t0;

		for (b = 0; b < 40; b++) {
			t0 = now();
			for (i = 0; i < 2500; i++)
				sink += (unsigned long)pread(regfd, buf, 64, 0);
			plt += now() - t0;
			t0 = now();
			for (i = 0; i < 2500; i++)
				sink += (unsigned long)libc_pread(regfd, buf, 64, 0);
			direct += now() - t0;
		}
		r[k] = (plt - direct) / 100000;
	}
	qsort(r, 7, sizeof(r[0]), cmpd);
	printf("%-26s %10.1f\n", "pread hook added (paired)", r[3]);
}

int main(void)
{
	char path[] = "/tmp/detshim-bench-XXXXXX";

	regfd = mkstemp(path);
	if (regfd < 0 || write(regfd, buf, sizeof(buf)) != sizeof(buf))
		return 1;
	unlink(path);
	if (pipe(pipefd) != 0)
		return 1;
	ufd = open("/dev/urandom", O_RDONLY);
	if (ufd < 0)
		return 1;
	BENCH("rand", 2000000, sink += (unsigned long)rand());
	BENCH("random", 2000000, sink += (unsigned long)random());
	BENCH("drand48", 2000000, sink += (unsigned long)(drand48() * 1e9));
	BENCH("getrandom 16 B", 100000, sink += (unsigned long)getrandom(buf, 16, 0));
	BENCH("getrandom 4 KiB", 10000, sink += (unsigned long)getrandom(buf, 4096, 0));
	BENCH("syscall(SYS_getrandom) 16 B", 100000,
	      sink += (unsigned long)syscall(SYS_getrandom, buf, 16, 0));
	BENCH("read regular file 64 B", 100000,
	      sink += (unsigned long)pread(regfd, buf, 64, 0));
	paired_pread();
	BENCH("read pipe 8 B", 100000,
	      if (write(pipefd[1], buf, 8) != 8) return 1;
	      sink += (unsigned long)read(pipefd[0], buf, 8));
	BENCH("read /dev/urandom 16 B", 100000,
	      sink += (unsigned long)read(ufd, buf, 16));
	BENCH("read /dev/urandom 4 KiB", 10000,
	      sink += (unsigned long)read(ufd, buf, 4096));
	BENCH("getpid (not hooked)", 200000, sink += (unsigned long)getpid());
	return 0;
}
