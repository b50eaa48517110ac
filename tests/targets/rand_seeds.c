/*
 * The seeding patterns of real code (issue 16), one srand() each: every
 * line must be the same in two runs under one DETSHIM_SEED and differ
 * under another (docs/SEEDS.md lists the rule that catches each).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timeb.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static void show(const char *name, unsigned seed)
{
	int a, b;

	srand(seed);
	a = rand();
	b = rand();
	printf("%-14s %d %d\n", name, a, b);
}

int main(void)
{
	struct timeval tv;
	struct timespec ts;
	struct timeb tb;
	int local = 0;
	void *heap = malloc(64);
	unsigned pid = (unsigned)getpid();
	unsigned t;

	show("time", (unsigned)time(NULL));
	show("time^pid", (unsigned)time(NULL) ^ (unsigned)getpid());
	show("time+pid", (unsigned)time(NULL) + (unsigned)getpid());
	show("const", 42);
	clock_gettime(CLOCK_REALTIME, &ts);
	show("tv_nsec", (unsigned)ts.tv_nsec);
	clock_gettime(CLOCK_REALTIME, &ts);
	show("nsec^pid", (unsigned)ts.tv_nsec ^ (unsigned)getpid());
	gettimeofday(&tv, NULL);
	show("tv_usec", (unsigned)tv.tv_usec);
	gettimeofday(&tv, NULL);
	show("ms32", (unsigned)(tv.tv_sec * 1000ULL + tv.tv_usec / 1000));
	gettimeofday(&tv, NULL);
	show("us32", (unsigned)(tv.tv_sec * 1000000ULL + tv.tv_usec));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	show("monotonic_ns",
	     (unsigned)(ts.tv_sec * 1000000000ULL + (unsigned long)ts.tv_nsec));
	show("clock", (unsigned)clock());
#if defined(__x86_64__)
	show("rdtsc", (unsigned)__rdtsc());
#else
	show("rdtsc", (unsigned)time(NULL));
#endif
	t = (unsigned)time(NULL);
	show("time<<16^pid", (t << 16) ^ pid);
	show("time*golden", (unsigned)time(NULL) * 2654435761u);
	show("&local", (unsigned)(uintptr_t)&local);
	show("heap", (unsigned)(uintptr_t)heap);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	ftime(&tb); /* deprecated, still in old code */
#pragma GCC diagnostic pop
	show("ftime_ms", (unsigned)(tb.time * 1000 + tb.millitm));
	show("gettid^time",
	     (unsigned)syscall(SYS_gettid) ^ (unsigned)time(NULL));
	clock_gettime(CLOCK_REALTIME, &ts);
	show("nsec*7919", (unsigned)ts.tv_nsec * 7919u);
	free(heap);
	return 0;
}
