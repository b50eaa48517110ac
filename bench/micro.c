/* micro.c - ns per call of the functions the shim interposes (or seeds),
 * run without and with LD_PRELOAD by bench/run.sh.  Each figure is the
 * median of 7 repetitions of a timed loop; the paired rows at the end
 * measure what a hook adds, inside one process. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
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
 * What a hook adds to a call it does not serve, paired in one process:
 * blocks through the PLT (the hook, when a preload is present) alternate
 * with blocks through glibc's own function, found in libc.so.6 itself.
 * Without a preload both are glibc's: the control, near 0.  Each figure
 * is the median of 7 rounds of 20 pairs of blocks.  Lines start with
 * "paired:" (bench/run.sh keeps them apart from the rows above).
 */
static ssize_t (*libc_read)(int, void *, size_t);
static ssize_t (*libc_pread)(int, void *, size_t, off_t);
static int (*libc_open)(const char *, int, ...);
static int (*libc_openat)(int, const char *, int, ...);
static int (*libc_close)(int);
static FILE *(*libc_fopen)(const char *, const char *);
static int (*libc_fclose)(FILE *);
static int (*libc_clock_gettime)(clockid_t, struct timespec *);
static pid_t (*libc_getpid)(void);
static const char *regpath;

#define PAIRED(name, iters, plt_body, direct_body)                           \
	do {                                                                 \
		double r[7];                                                 \
		int k, b;                                                    \
		long i;                                                      \
		for (k = 0; k < 7; k++) {                                    \
			double plt = 0, direct = 0, t0;                      \
			for (b = 0; b < 20; b++) {                           \
				t0 = now();                                  \
				for (i = 0; i < (iters); i++) {              \
					plt_body;                            \
				}                                            \
				plt += now() - t0;                           \
				t0 = now();                                  \
				for (i = 0; i < (iters); i++) {              \
					direct_body;                         \
				}                                            \
				direct += now() - t0;                        \
			}                                                    \
			r[k] = (plt - direct) / (20.0 * (iters));            \
		}                                                            \
		qsort(r, 7, sizeof(r[0]), cmpd);                             \
		printf("paired: %-40s %10.2f\n", name, r[3]);                \
	} while (0)

static int libc_syms(void)
{
	void *h = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);

	if (h == NULL)
		return -1;
	*(void **)&libc_read = dlsym(h, "read");
	*(void **)&libc_pread = dlsym(h, "pread");
	*(void **)&libc_open = dlsym(h, "open");
	*(void **)&libc_openat = dlsym(h, "openat");
	*(void **)&libc_close = dlsym(h, "close");
	*(void **)&libc_fopen = dlsym(h, "fopen");
	*(void **)&libc_fclose = dlsym(h, "fclose");
	*(void **)&libc_clock_gettime = dlsym(h, "clock_gettime");
	*(void **)&libc_getpid = dlsym(h, "getpid");
	return libc_clock_gettime && libc_getpid && libc_read && libc_pread && libc_open && libc_openat &&
	       libc_close && libc_fopen && libc_fclose ? 0 : -1;
}

static void paired_rows(void)
{
	int zfd = open("/dev/zero", O_RDONLY);
	FILE *f;

	if (libc_syms() != 0 || zfd < 0)
		return;
	PAIRED("read /dev/zero 64 B (an fd not served)", 2000,
	       sink += (unsigned long)read(zfd, buf, 64),
	       sink += (unsigned long)libc_read(zfd, buf, 64));
	PAIRED("pread regular file 64 B", 2000,
	       sink += (unsigned long)pread(regfd, buf, 64, 0),
	       sink += (unsigned long)libc_pread(regfd, buf, 64, 0));
	PAIRED("open+close regular file", 500,
	       close(open(regpath, O_RDONLY)),
	       libc_close(libc_open(regpath, O_RDONLY)));
	PAIRED("openat+close regular file", 500,
	       close(openat(AT_FDCWD, regpath, O_RDONLY)),
	       libc_close(libc_openat(AT_FDCWD, regpath, O_RDONLY)));
	PAIRED("fopen+fclose regular file", 500,
	       if ((f = fopen(regpath, "r")) != NULL) fclose(f),
	       if ((f = libc_fopen(regpath, "r")) != NULL) libc_fclose(f));
	/* The provenance hooks (shim/provenance.c): the real call plus a
	 * store into the thread's ring. */
	PAIRED("clock_gettime(CLOCK_MONOTONIC)", 20000,
	       { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
		 sink += (unsigned long)ts.tv_nsec; },
	       { struct timespec ts; libc_clock_gettime(CLOCK_MONOTONIC, &ts);
		 sink += (unsigned long)ts.tv_nsec; });
	PAIRED("getpid", 20000, sink += (unsigned long)getpid(),
	       sink += (unsigned long)libc_getpid());
	close(zfd);
}

int main(void)
{
	char path[] = "/tmp/detshim-bench-XXXXXX";

	regfd = mkstemp(path);
	if (regfd < 0 || write(regfd, buf, sizeof(buf)) != sizeof(buf))
		return 1;
	regpath = path;
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
	BENCH("read pipe 8 B", 100000,
	      if (write(pipefd[1], buf, 8) != 8) return 1;
	      sink += (unsigned long)read(pipefd[0], buf, 8));
	BENCH("read /dev/urandom 16 B", 100000,
	      sink += (unsigned long)read(ufd, buf, 16));
	BENCH("read /dev/urandom 4 KiB", 10000,
	      sink += (unsigned long)read(ufd, buf, 4096));
	BENCH("getpid (not hooked)", 200000, sink += (unsigned long)getpid());
	paired_rows();
	unlink(path);
	return 0;
}
