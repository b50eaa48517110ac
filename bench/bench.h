/* bench.h - the clock and the sort order the benchmark programs of
 * bench/ share (each is one file built by bench/run.sh). */
#ifndef DS_BENCH_H
#define DS_BENCH_H

#include <time.h>

/* CLOCK_MONOTONIC in microseconds. */
static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* qsort order of doubles, ascending. */
static inline int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
