/* Test helper: runs its argument vector twice as sibling processes
 * (posix_spawnp, then fork+execvp), one after the other, printing a
 * separator line before each.  Used by tests/integration.sh for the
 * "sibling processes differ" check. */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 2)
		return 2;
	printf("--- sibling 1\n");
	fflush(stdout);
	if (posix_spawnp(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0)
		return 1;
	if (waitpid(pid, &st, 0) != pid || st != 0)
		return 1;
	printf("--- sibling 2\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
		return 1;
	return 0;
}
