/* forkloop.c - N times fork + waitpid, the child _exit(0)s at once: the
 * whole cost of a fork for bench/run.sh, handlers included.
 *   forkloop N */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int i, st;

	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0)
			_exit(0);
		if (p < 0 || waitpid(p, &st, 0) != p || st != 0)
			return 1;
	}
	return 0;
}
