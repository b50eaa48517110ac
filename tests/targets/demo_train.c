/* The README demo: a toy "training job" that, like real ones, takes its
 * randomness from several places at once - a time-seeded rand(), the
 * kernel's getrandom(), /dev/urandom and a shuffle - and prints a hash of
 * its final "weights". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	double w[8];
	unsigned long long h = 1469598103934665603ULL;
	unsigned char noise[64];
	int order[8], fd, i, step;

	srand((unsigned)time(NULL) ^ (unsigned)getpid()); /* "set the seed" */
	for (i = 0; i < 8; i++) {
		w[i] = rand() / (double)RAND_MAX;            /* init */
		order[i] = i;
	}
	if (getrandom(noise, 32, 0) != 32)                 /* dropout mask */
		return 1;
	fd = open("/dev/urandom", O_RDONLY);               /* data order */
	if (fd < 0 || read(fd, noise + 32, 32) != 32)
		return 1;
	close(fd);
	for (step = 0; step < 100; step++) {
		int j = noise[step % 64] % 8;
		int t = order[step % 8];

		order[step % 8] = order[j];
		order[j] = t;
		for (i = 0; i < 8; i++)
			w[order[i]] = 0.9 * w[order[i]] +
				      0.1 * (noise[(i + step) % 64] / 255.0);
	}
	for (i = 0; i < 8; i++) {
		unsigned long long bits;

		__builtin_memcpy(&bits, &w[i], sizeof(bits));
		h = (h ^ bits) * 1099511628211ULL;
	}
	printf("final weights hash: %016llx\n", h);
	return 0;
}
