/*
 * detrun_print.c - a small program whose output is reproducible under
 * detshim and not without it: kernel entropy, the libc PRNG, and the
 * addresses of a stack and a heap object (which follow ASLR).
 *
 *   detrun_print [OUTFILE]   prints to stdout; with OUTFILE also writes
 *                            the random bytes there (for --compare FILE)
 * Used by tests/it_detrun.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

int main(int argc, char **argv)
{
	unsigned char b[16];
	int local = 0;
	void *heap = malloc(64);
	size_t i;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return 3;
	printf("getrandom ");
	for (i = 0; i < sizeof(b); i++)
		printf("%02x", b[i]);
	printf("\nrand %d\n", rand());
	printf("stack %p\nheap %p\n", (void *)&local, heap);
	if (argc > 1) {
		FILE *f = fopen(argv[1], "wb");

		if (f == NULL || fwrite(b, 1, sizeof(b), f) != sizeof(b))
			return 4;
		fclose(f);
	}
	free(heap);
	return 0;
}
