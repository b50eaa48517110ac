/*
 * detrun_branchy.c - a program that behaves differently on every run
 * through state detshim does not control: a counter file.  It lets the
 * tests know exactly where two runs diverge.
 *
 *   detrun_branchy COUNTER events   three getrandom calls; the third asks
 *                                   16 bytes in run 1 and 32 bytes after
 *   detrun_branchy COUNTER file OUT writes OUT only in odd runs
 *   detrun_branchy COUNTER exit     exits with the run number
 * Used by tests/it_detrun.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int main(int argc, char **argv)
{
	unsigned char b[32];
	int run = 0;
	FILE *f;

	if (argc < 3)
		return 2;
	f = fopen(argv[1], "r");
	if (f) {
		if (fscanf(f, "%d", &run) != 1)
			run = 0;
		fclose(f);
	}
	run++;
	f = fopen(argv[1], "w");
	if (f == NULL)
		return 2;
	fprintf(f, "%d\n", run);
	fclose(f);

	if (strcmp(argv[2], "events") == 0) {
		size_t third = run == 1 ? 16 : 32;

		if (getrandom(b, 16, 0) != 16 || getrandom(b, 16, 0) != 16 ||
		    getrandom(b, third, 0) != (ssize_t)third)
			return 3;
		printf("done\n");
		return 0;
	}
	if (strcmp(argv[2], "file") == 0 && argc > 3) {
		if (run % 2) {
			f = fopen(argv[3], "w");
			if (f == NULL)
				return 2;
			fprintf(f, "output\n");
			fclose(f);
		}
		return 0;
	}
	if (strcmp(argv[2], "exit") == 0)
		return run;
	return 2;
}
