/* startup.c - wall time of a program's whole life (spawn to exit), for
 * several environments, interleaved so that drift hits all alike.
 *
 *   startup N LABEL=ENVLIST [LABEL=ENVLIST ...] -- PROGRAM [ARGS]
 *
 * ENVLIST is a comma-separated list of NAME=VALUE added to the
 * environment ("-" for none).  Each round runs every variant once, in a
 * rotated order; the output is one line per variant: label, median,
 * minimum and maximum in microseconds, the failures (a non-zero exit
 * status), and, paired with the first variant round by round, the median
 * of the differences (us) and of the ratios.  bench/run.sh drives it. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define MAXV 8

struct variant {
	const char *label;
	char **env;
	double *t;
	double *d;   /* per round: minus the first variant's time */
	double *q;   /* per round: over the first variant's time */
	int fails;
};

/* environ plus the NAME=VALUE items of list (commas separate). */
static char **make_env(const char *list)
{
	size_t n = 0, k = 0;
	char **env, *copy, *tok, *save = NULL;

	while (environ[n])
		n++;
	env = calloc(n + 64, sizeof(*env));
	copy = strdup(list);
	if (env == NULL || copy == NULL)
		exit(1);
	for (tok = strtok_r(copy, ",", &save); tok && k < 63;
	     tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "-") != 0)
			env[k++] = tok;
	memcpy(env + k, environ, n * sizeof(*env));
	return env;
}

int main(int argc, char **argv)
{
	struct variant v[MAXV];
	int nv = 0, i, r, rounds, dash;

	if (argc < 5 || (rounds = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: startup N LABEL=ENV... -- PROGRAM [ARGS]\n");
		return 2;
	}
	for (dash = 2; dash < argc && strcmp(argv[dash], "--") != 0; dash++) {
		char *eq = strchr(argv[dash], '=');

		if (eq == NULL || nv == MAXV)
			return 2;
		*eq = '\0';
		v[nv].label = argv[dash];
		v[nv].env = make_env(eq + 1);
		v[nv].t = calloc((size_t)rounds, sizeof(double));
		v[nv].d = calloc((size_t)rounds, sizeof(double));
		v[nv].q = calloc((size_t)rounds, sizeof(double));
		v[nv].fails = 0;
		if (v[nv].t == NULL || v[nv].d == NULL || v[nv].q == NULL)
			return 1;
		nv++;
	}
	if (dash + 1 >= argc || nv == 0)
		return 2;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nv; i++) {
			struct variant *x = &v[(i + r) % nv];
			posix_spawn_file_actions_t fa;
			double t0 = now_us();
			pid_t pid;
			int st = 0;

			posix_spawn_file_actions_init(&fa);
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
							 1, 0);
			if (posix_spawnp(&pid, argv[dash + 1], &fa, NULL,
					 argv + dash + 1, x->env) != 0 ||
			    waitpid(pid, &st, 0) != pid || st != 0)
				x->fails++;
			x->t[r] = now_us() - t0;
			posix_spawn_file_actions_destroy(&fa);
		}
		for (i = 0; i < nv; i++) {
			v[i].d[r] = v[i].t[r] - v[0].t[r];
			v[i].q[r] = v[0].t[r] > 0 ? v[i].t[r] / v[0].t[r] : 1;
		}
	}
	for (i = 0; i < nv; i++) {
		qsort(v[i].t, (size_t)rounds, sizeof(double), cmpd);
		qsort(v[i].d, (size_t)rounds, sizeof(double), cmpd);
		qsort(v[i].q, (size_t)rounds, sizeof(double), cmpd);
		printf("%s %.0f %.0f %.0f %d %.1f %.4f\n", v[i].label,
		       v[i].t[rounds / 2], v[i].t[0], v[i].t[rounds - 1],
		       v[i].fails, v[i].d[rounds / 2], v[i].q[rounds / 2]);
	}
	return 0;
}
