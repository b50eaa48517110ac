/*
 * A seed no value rule can see through: a hash of /proc/self/stat (pid,
 * start time, counters), so it differs in every run.  `detrun --verify 2
 * --learn F` must name this site, and runs with DETSHIM_SEEDS_FILE=F
 * must then print the same (tests/it_detrun.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char buf[1024];
	size_t n = 0, i;
	uint32_t h = 2166136261u;
	FILE *f = fopen("/proc/self/stat", "r");

	if (f) {
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)buf[i]) * 16777619u;
	srand(h);
	printf("%d %d\n", rand(), rand());
	return 0;
}
