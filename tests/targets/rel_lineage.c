/*
 * rel_lineage.c - children started in ways the exec hooks must see
 * (docs/measurements/RELIABILITY.md, "Lineage"): every child prints one
 * getrandom value, the parent first.
 *
 *   rel_lineage system    3 x system() and 3 x popen() of this program
 *   rel_lineage execveat  2 x fork + execveat(fd of this program,
 *                         AT_EMPTY_PATH)
 *   rel_lineage bigenv    fork + execve with 9000 more environment entries
 *
 * Under the shim every value must differ from every other (each child
 * has its own key), and two runs with one seed print the same lines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void print_value(const char *who)
{
	unsigned long long v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		exit(3);
	printf("%s %016llx\n", who, v);
	fflush(stdout);
}

static int wait_child(pid_t p)
{
	int st;

	return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int by_shell(const char *self)
{
	char cmd[4200], line[128];
	int i, bad = 0;

	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "'%s' print system%d", self, i);
		bad |= system(cmd) != 0;
	}
	for (i = 0; i < 3; i++) {
		FILE *p;

		snprintf(cmd, sizeof(cmd), "'%s' print popen%d", self, i);
		p = popen(cmd, "r");
		if (p == NULL)
			return 1;
		while (fgets(line, sizeof(line), p))
			fputs(line, stdout);
		bad |= pclose(p) != 0;
	}
	return bad;
}

static int by_execveat(void)
{
	char *argv[] = { "rel_lineage", "print", NULL, NULL };
	int i, bad = 0;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	for (i = 0; i < 2; i++) {
		char who[32];
		pid_t p;

		snprintf(who, sizeof(who), "execveat%d", i);
		argv[2] = who;
		fflush(stdout);
		p = fork();
		if (p == 0) {
			execveat(fd, "", argv, environ, AT_EMPTY_PATH);
			_exit(127);
		}
		bad |= wait_child(p);
	}
	return bad;
}

static int by_bigenv(const char *self)
{
	size_t n = 0, i, extra = 9000;
	char **env, *argv[] = { "rel_lineage", "print", "bigenv", NULL };
	static char names[9000][16];
	pid_t p;

	while (environ[n])
		n++;
	env = calloc(n + extra + 1, sizeof(*env));
	if (env == NULL)
		return 1;
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	for (i = 0; i < extra; i++) {
		snprintf(names[i], sizeof(names[i]), "X%zu=1", i);
		env[n + i] = names[i];
	}
	fflush(stdout);
	p = fork();
	if (p == 0) {
		execve(self, argv, env);
		_exit(127);
	}
	return wait_child(p);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "print") == 0) {
		print_value(argv[2]);
		return 0;
	}
	if (argc != 2)
		return 2;
	print_value("parent");
	if (strcmp(argv[1], "system") == 0)
		return by_shell(argv[0]);
	if (strcmp(argv[1], "execveat") == 0)
		return by_execveat();
	if (strcmp(argv[1], "bigenv") == 0)
		return by_bigenv(argv[0]);
	return 2;
}
