/* A seed composed from the pid and the clock in a way the "mix" mode
 * cannot recognise (README, "Limits"): it is made reproducible by
 * seed_mode=override, which this target's sidecar selects. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

int main(void)
{
	struct timeval tv;
	unsigned short x[3];

	gettimeofday(&tv, NULL);
	x[0] = (unsigned short)getpid();
	x[1] = (unsigned short)tv.tv_usec;
	x[2] = (unsigned short)tv.tv_sec;
	seed48(x);
	printf("seed48 %ld %ld\n", mrand48(), mrand48());
	srand((unsigned)(tv.tv_usec * 7919 + getpid()));
	printf("rand %d\n", rand());
	return 0;
}
