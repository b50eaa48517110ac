/* Every libc entropy entry point, printed as hex. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static void hex(const char *what, const unsigned char *b, size_t n)
{
	size_t i;

	printf("%s ", what);
	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(void)
{
	unsigned char b[600];

	if (getrandom(b, 16, 0) != 16)
		return 1;
	hex("getrandom16", b, 16);
	if (getrandom(b, 600, 0) != 600)
		return 1;
	hex("getrandom600", b + 590, 10);
	if (getrandom(b, 8, GRND_NONBLOCK) != 8)
		return 1;
	hex("getrandom_nonblock", b, 8);
	if (getrandom(b, 8, GRND_RANDOM) != 8)
		return 1;
	hex("getrandom_random", b, 8);
	if (getentropy(b, 32) != 0)
		return 1;
	hex("getentropy", b, 32);
	if (syscall(SYS_getrandom, b, 12, 0) != 12)
		return 1;
	hex("syscall", b, 12);
	printf("arc4random %u %u\n", arc4random(), arc4random());
	arc4random_buf(b, 20);
	hex("arc4random_buf", b, 20);
	printf("arc4random_uniform %u %u %u\n", arc4random_uniform(1000),
	       arc4random_uniform(7), arc4random_uniform(1u << 31));
	return 0;
}
