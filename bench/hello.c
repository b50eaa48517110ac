/* hello.c - the C program whose start-up bench/run.sh times. */
#include <stdio.h>

int main(void)
{
	puts("hello, world");
	return 0;
}
