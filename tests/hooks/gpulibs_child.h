/*
 * gpulibs_child.h - run this hook test again as a child process with a
 * chosen environment, for the GPU library hook tests.
 *
 * The shim reads its configuration once at start-up, so a test that needs
 * another DETSHIM_* setting re-executes itself: `<self> child <scenario>`
 * with the parent's environment minus every DETSHIM_* variable, plus the
 * given ones.  The child's stdout is returned for the test to check.
 */
#ifndef GPULIBS_CHILD_H
#define GPULIBS_CHILD_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook_sym.h"

extern char **environ;

/* Run scenario with env (NULL-terminated "K=V" list); stdout into out.
 * Returns the child's exit status, or -1. */
static __attribute__((unused)) int run_child(const char *scenario, const char *const *env, char *out,
		     size_t cap)
{
	char *envp[256];
	char self[4096];
	int fd[2], st = 0;
	size_t n = 0, i, k = 0;
	ssize_t r;
	pid_t pid;

	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return -1;
	self[sl] = '\0';
	for (i = 0; environ[i] && k < 200; i++)
		if (strncmp(environ[i], "DETSHIM_", 8) != 0 &&
		    strncmp(environ[i], "FAKE_", 5) != 0)
			envp[k++] = environ[i];
	for (i = 0; env && env[i] && k < 254; i++)
		envp[k++] = (char *)env[i];
	envp[k] = NULL;
	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { self, (char *)"child", (char *)scenario, NULL };

		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execve(self, argv, envp);
		_exit(127);
	}
	close(fd[1]);
	while (n + 1 < cap && (r = read(fd[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Value printed by the child as "key=<long>", or -9999 if absent. */
static __attribute__((unused)) long child_value(const char *out, const char *key)
{
	size_t len = strlen(key);
	const char *p;

	for (p = out; (p = strstr(p, key)) != NULL; p += len)
		if ((p == out || p[-1] == '\n') && p[len] == '=')
			return strtol(p + len + 1, NULL, 0);
	return -9999;
}

/* Count lines of file that contain needle (0 if unreadable). */
static __attribute__((unused)) int count_lines(const char *file, const char *needle)
{
	char line[2048];
	int n = 0;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* main() for a test: "child <scenario>" runs the scenario, else the suite. */
#define GPULIBS_TEST_MAIN(suite_fn, scenario_fn)                             \
	int main(int argc, char **argv)                                      \
	{                                                                    \
		SRunner *sr;                                                 \
		int failed;                                                  \
		if (argc == 3 && strcmp(argv[1], "child") == 0)              \
			return scenario_fn(argv[2]);                         \
		sr = srunner_create(suite_fn());                             \
		srunner_set_fork_status(sr, CK_FORK);                        \
		srunner_run_all(sr, CK_NORMAL);                              \
		failed = srunner_ntests_failed(sr);                          \
		srunner_free(sr);                                            \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;            \
	}

#endif /* GPULIBS_CHILD_H */
