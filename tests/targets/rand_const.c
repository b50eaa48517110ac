/* An explicit constant seed: under "mix" the sequence depends on both the
 * program's seed and DETSHIM_SEED, and is the same in every process of a
 * run (so siblings agree, like the program intended). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	srand(12345);
	printf("rand %d %d\n", rand(), rand());
	return 0;
}
