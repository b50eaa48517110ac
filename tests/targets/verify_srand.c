/* srand(time(NULL) ^ getpid()): a seed that differs in every run, which
 * detshim replaces (a clock-like seed).  Its output is the same in every
 * run; the log's record keeps the program's own seed beside the one
 * used, and `detrun --verify` compares only the one used. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	printf("%d %d %d\n", rand(), rand(), rand());
	return 0;
}
