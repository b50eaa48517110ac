/* 4 threads each open /dev/urandom, read 8 bytes and close it, 50 times.
 * Which thread gets which fd number and which bytes follows the
 * scheduler; the sorted values do not.  The log's fd numbers race, so
 * `detrun --verify` must leave them out of the comparison. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define T 4
#define N 50

static unsigned long long vals[T * N];

static void *work(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = 0; i < N; i++) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || read(fd, &vals[t * N + i], 8) != 8)
			exit(1);
		close(fd);
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
	long t;
	int i;

	for (t = 0; t < T; t++)
		if (pthread_create(&th[t], NULL, work, (void *)t) != 0)
			return 1;
	for (t = 0; t < T; t++)
		pthread_join(th[t], NULL);
	qsort(vals, T * N, sizeof(vals[0]), cmp);
	for (i = 0; i < T * N; i += 40)
		printf("%016llx\n", vals[i]);
	return 0;
}
