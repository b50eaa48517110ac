/* Seeds the libc PRNGs from the clock and the pid, the classic way. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timeval tv;
	unsigned short x[3];
	char state[64];
	struct random_data rd = { 0 };
	int32_t r;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	printf("rand %d %d %d\n", rand(), rand(), rand());
	srandom((unsigned)getpid());
	printf("random %ld %ld\n", random(), random());
	gettimeofday(&tv, NULL);
	srand48(tv.tv_sec * 1000000L + tv.tv_usec);
	printf("drand48 %.17g lrand48 %ld\n", drand48(), lrand48());
	x[0] = 0x330e;
	x[1] = (unsigned short)tv.tv_sec;
	x[2] = (unsigned short)(tv.tv_sec >> 16);
	seed48(x);
	printf("seed48 %ld\n", mrand48());
	initstate_r((unsigned)time(NULL), state, sizeof(state), &rd);
	random_r(&rd, &r);
	printf("random_r %d\n", r);
	return 0;
}
