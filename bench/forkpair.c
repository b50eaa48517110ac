/* forkpair.c - what fork's handlers cost, paired in one process: N pairs
 * of (glibc fork + waitpid) and (raw fork system call + waitpid), in
 * alternating order; each child exits at once.  Prints the median of
 * the per-pair differences in us: glibc's own fork work plus every
 * pthread_atfork handler (the shim's, when preloaded).  Without a
 * preload it is glibc's alone: the control.  bench/run.sh drives it.
 *   forkpair N */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* One fork + wait; raw: the system call itself, which runs no handler. */
static double one(int raw)
{
	double t0 = now_us();
	int st;
	pid_t p;

	if (raw) {
		p = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (p == 0)
			syscall(SYS_exit_group, 0);
	} else {
		p = fork();
		if (p == 0)
			_exit(0);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		exit(1);
	return now_us() - t0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, i;
	double *d = calloc(n > 0 ? (size_t)n : 1, sizeof(*d));

	if (d == NULL || n <= 0)
		return 2;
	for (i = 0; i < 20; i++) {
		one(0);
		one(1);
	}
	for (i = 0; i < n; i++) {
		double a, b;

		if (i & 1) {
			a = one(0);
			b = one(1);
		} else {
			b = one(1);
			a = one(0);
		}
		d[i] = a - b;
	}
	qsort(d, (size_t)n, sizeof(*d), cmpd);
	printf("fork handlers (us) %.2f\n", d[n / 2]);
	return 0;
}
