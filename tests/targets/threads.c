/* 8 threads draw from getrandom and /dev/urandom concurrently.  Which
 * thread gets which bytes follows scheduling; the multiset of values does
 * not, so it is printed sorted. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define T 8
#define N 200

static unsigned long long vals[T * N * 2];
static int ufd;

static void *work(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = 0; i < N; i++) {
		unsigned long long v;

		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			exit(1);
		vals[(t * N + i) * 2] = v;
		if (read(ufd, &v, sizeof(v)) != sizeof(v))
			exit(1);
		vals[(t * N + i) * 2 + 1] = v;
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	pthread_t th[T];
	unsigned long long h = 1469598103934665603ULL;
	long t;
	size_t i;

	ufd = open("/dev/urandom", O_RDONLY);
	if (ufd < 0)
		return 1;
	for (t = 0; t < T; t++)
		pthread_create(&th[t], NULL, work, (void *)t);
	for (t = 0; t < T; t++)
		pthread_join(th[t], NULL);
	qsort(vals, T * N * 2, sizeof(vals[0]), cmp);
	for (i = 0; i < T * N * 2; i++)
		h = (h ^ vals[i]) * 1099511628211ULL;
	printf("sorted-values-hash %016llx first %016llx\n", h, vals[0]);
	return 0;
}
