/*
 * detrun.c - the front door of detshim: command line, run mode, main.
 *
 *   detrun [OPTIONS] -- COMMAND [ARG...]
 *   detrun --verify N [--compare WHAT]... [OPTIONS] -- COMMAND [ARG...]
 *   detrun report [--json] LOG...
 *   detrun diff LOG1 LOG2
 *
 * Run mode sets the DETSHIM_* variables, prepends the shim to LD_PRELOAD,
 * turns ASLR off for the child, runs the command and exits with its
 * status - unless the shim did not load in it, which is an error
 * (status 124), never a silent nondeterministic run (design.md, users'
 * expectation 5).  Every message detrun prints itself starts "detrun:".
 * Exit statuses: detrun.h and docs/detrun.1 (EXIT STATUS).
 */
#include "detrun.h"
#include "detshim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *dr_prog = "detrun";

void dr_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", dr_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void dr_note(const struct dr_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o && o->quiet)
		return;
	fflush(stdout);
	fprintf(stderr, "%s: ", dr_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *dr_xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	return p;
}

char *dr_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	return p;
}

char *dr_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	return p;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: detrun [OPTIONS] -- COMMAND [ARG...]\n"
"       detrun --verify N [--compare WHAT]... [OPTIONS] -- COMMAND [ARG...]\n"
"       detrun report [--json] LOG...\n"
"       detrun diff LOG1 LOG2\n"
"\n"
"Run COMMAND under detshim, the LD_PRELOAD shim that makes it reproducible.\n"
"\n"
"Options:\n"
"  -s, --seed N           seed (decimal or 0x-hex, 64 bits): DETSHIM_SEED\n"
"  -c, --config FILE      configuration file (detshim.conf(5)): DETSHIM_CONFIG\n"
"  -l, --log PATH         log file (%%p = pid): DETSHIM_LOG; with --verify,\n"
"                         the directory that keeps every run's log and output\n"
"  -p, --policy P         enforce (default), warn (log only) or off\n"
"      --seed-mode M      mix (default), override or respect\n"
"      --algo-cache FILE  GPU algorithm cache: DETSHIM_ALGO_CACHE\n"
"      --no-aslr          turn address randomisation off (the default)\n"
"      --aslr             leave address randomisation on\n"
"      --shim PATH        use this libdetshim.so (also: DETSHIM_SO)\n"
"      --verify N         run N times (2..%d) with the same seed, compare\n"
"      --compare WHAT     with --verify: stdout, stderr, or a file or glob\n"
"                         the command writes (repeatable; default stdout)\n"
"      --keep             with --verify: keep the run files when identical\n"
"  -q, --quiet            print only errors and verdicts\n"
"  -v, --verbose          print the variables given to the command\n"
"  -h, --help             this help\n"
"  -V, --version          version\n"
"\n"
"Exit status: the command's; --verify: 0 identical, 1 differ, 2 nothing\n"
"to compare; 124 the shim did not load; 125 bad usage or setup; 126 the\n"
"command cannot be executed; 127 not found.  See detrun(1).\n",
		DR_VERIFY_MAX);
}

/* Parse "--name VALUE" or "--name=VALUE". Returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *lng,
			     const char *shrt, bool *matched)
{
	const char *a = argv[*i];
	size_t n = strlen(lng);

	*matched = false;
	if (strncmp(a, lng, n) == 0 && a[n] == '=') {
		*matched = true;
		return a + n + 1;
	}
	if (strcmp(a, lng) == 0 || (shrt && strcmp(a, shrt) == 0)) {
		*matched = true;
		if (*i + 1 >= argc) {
			dr_err("option %s needs a value (see detrun --help)", a);
			exit(DR_EXIT_USAGE);
		}
		(*i)++;
		return argv[*i];
	}
	return NULL;
}

static bool one_of(const char *v, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(v, *names) == 0)
			return true;
	return false;
}

static void parse_args(int argc, char **argv, struct dr_opts *o)
{
	static const char *const policies[] = { "enforce", "warn", "off",
						NULL };
	static const char *const modes[] = { "mix", "override", "respect",
					     NULL };
	int i;

	o->compare = dr_xmalloc(sizeof(char *) * (size_t)argc);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v;
		bool m;

		if (strcmp(a, "--") == 0) {
			o->argv = argv + i + 1;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(DR_EXIT_OK);
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("detrun (detshim) %s\n", DS_VERSION);
			exit(DR_EXIT_OK);
		}
		if (strcmp(a, "--aslr") == 0) {
			o->aslr = true;
			continue;
		}
		if (strcmp(a, "--no-aslr") == 0) {
			o->aslr = false;
			continue;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			o->quiet = true;
			continue;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose = true;
			continue;
		}
		if (strcmp(a, "--keep") == 0) {
			o->keep = true;
			continue;
		}
		v = opt_value(argc, argv, &i, "--seed", "-s", &m);
		if (m) {
			uint64_t s;
			int e = ds_parse_seed(v, &s);

			if (e) {
				dr_err("--seed: %s '%s' (expected a decimal or "
				       "0x-hex unsigned 64-bit number)",
				       e == -ERANGE ? "does not fit in 64 bits:"
						    : "invalid seed", v);
				exit(DR_EXIT_USAGE);
			}
			o->seed = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--config", "-c", &m);
		if (m) {
			o->config = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--log", "-l", &m);
		if (m) {
			if (*v == '\0') {
				dr_err("--log: empty path");
				exit(DR_EXIT_USAGE);
			}
			o->log = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--policy", "-p", &m);
		if (m) {
			if (!one_of(v, policies)) {
				dr_err("--policy: invalid policy '%s' (expected "
				       "enforce, warn or off)", v);
				exit(DR_EXIT_USAGE);
			}
			o->policy = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--seed-mode", NULL, &m);
		if (m) {
			if (!one_of(v, modes)) {
				dr_err("--seed-mode: invalid mode '%s' (expected "
				       "mix, override or respect)", v);
				exit(DR_EXIT_USAGE);
			}
			o->seed_mode = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--algo-cache", NULL, &m);
		if (m) {
			o->algo_cache = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--shim", NULL, &m);
		if (m) {
			o->shim = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--compare", NULL, &m);
		if (m) {
			if (*v == '\0') {
				dr_err("--compare: empty name");
				exit(DR_EXIT_USAGE);
			}
			o->compare[o->ncompare++] = v;
			continue;
		}
		v = opt_value(argc, argv, &i, "--verify", NULL, &m);
		if (m) {
			char *end;
			long n;

			errno = 0;
			n = strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno) {
				dr_err("--verify: '%s' is not a number of runs", v);
				exit(DR_EXIT_USAGE);
			}
			if (n < 2) {
				dr_err("--verify %ld: at least 2 runs are needed "
				       "to compare", n);
				exit(DR_EXIT_USAGE);
			}
			if (n > DR_VERIFY_MAX) {
				dr_err("--verify %ld: too many runs (at most %d)",
				       n, DR_VERIFY_MAX);
				exit(DR_EXIT_USAGE);
			}
			o->verify = (unsigned)n;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			dr_err("unknown option '%s' (see detrun --help)", a);
			exit(DR_EXIT_USAGE);
		}
		dr_err("missing '--' before the command: write "
		       "'detrun [OPTIONS] -- %s ...'", a);
		exit(DR_EXIT_USAGE);
	}
	if (o->argv == NULL) {
		dr_err("missing '--' and the command to run (see detrun --help)");
		exit(DR_EXIT_USAGE);
	}
	if (o->argv[0] == NULL || o->argv[0][0] == '\0') {
		dr_err("no command after '--'");
		exit(DR_EXIT_USAGE);
	}
	if (o->ncompare && !o->verify) {
		dr_err("--compare needs --verify N");
		exit(DR_EXIT_USAGE);
	}
	if (o->keep && !o->verify) {
		dr_err("--keep needs --verify N");
		exit(DR_EXIT_USAGE);
	}
}

/* Check that the log named by --log can be written before the command
 * runs: the shim would only warn and run without a log. */
static int check_log_path(const char *tmpl)
{
	char path[DS_PATH_MAX];
	char dir[DS_PATH_MAX];
	char *slash;
	int e;

	e = ds_log_expand_path(tmpl, (long)getpid(), path, sizeof(path));
	if (e == -EINVAL) {
		dr_err("--log '%s': only %%p (the pid) and %%%% may follow "
		       "'%%'", tmpl);
		return DR_EXIT_USAGE;
	}
	if (e) {
		dr_err("--log '%s': path too long", tmpl);
		return DR_EXIT_USAGE;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(path, F_OK) == 0) {
		if (access(path, W_OK) != 0) {
			dr_err("--log '%s': cannot write: %s", path,
			       strerror(errno));
			return DR_EXIT_USAGE;
		}
		return 0;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		dr_err("--log '%s': cannot create the file in '%s': %s", path,
		       dir, strerror(errno));
		return DR_EXIT_USAGE;
	}
	return 0;
}

static int run_mode(const struct dr_opts *o, struct dr_launch *l)
{
	struct dr_result r;
	int e;

	if (o->log) {
		/* dr_build_env already set DETSHIM_LOG (absolute). */
		e = check_log_path(o->log);
		if (e)
			return e;
	}
	e = dr_run_once(l, o->argv, -1, -1, -1, &r);
	if (e)
		return e;
	if (r.exec_errno) {
		dr_err("cannot execute '%s': %s", l->exe, strerror(r.exec_errno));
		return r.exec_errno == ENOENT ? DR_EXIT_NOTFOUND
					      : DR_EXIT_NOEXEC;
	}
	if (!r.loaded)
		return dr_report_noshim(l, &r, NULL);
	dr_exit_like(r.status);
}

/*
 * detrun itself must not run under the shim (a detrun started from a
 * program that runs under detshim inherits LD_PRELOAD): the shim's fork
 * and exec hooks would give each run a different lineage key.  Drop the
 * shim from our own preload list and re-execute once.
 */
static void leave_shim(char **argv)
{
	const char *pre = getenv("LD_PRELOAD");
	char *keep, *copy, *tok, *save = NULL;
	bool found = false;

	if (pre == NULL || strstr(pre, "libdetshim") == NULL)
		return;
	keep = dr_xstrdup("");
	copy = dr_xstrdup(pre);
	for (tok = strtok_r(copy, ": ", &save); tok;
	     tok = strtok_r(NULL, ": ", &save)) {
		char *next;

		if (strstr(tok, "libdetshim")) {
			found = true;
			continue;
		}
		next = dr_xasprintf("%s%s%s", keep, *keep ? ":" : "", tok);
		free(keep);
		keep = next;
	}
	free(copy);
	if (!found) {
		free(keep);
		return;
	}
	if (*keep)
		setenv("LD_PRELOAD", keep, 1);
	else
		unsetenv("LD_PRELOAD");
	free(keep);
	unsetenv(DS_LINEAGE_VAR);
	execv("/proc/self/exe", argv);
	/* No /proc: go on; the child environment is still built from
	 * scratch without a lineage. */
}

int main(int argc, char **argv)
{
	struct dr_opts o;
	struct dr_launch l;
	int e;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	leave_shim(argv);
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return dr_cmd_report(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "diff") == 0)
		return dr_cmd_diff(argc - 1, argv + 1);
	if (argc < 2) {
		usage(stderr);
		return DR_EXIT_USAGE;
	}
	parse_args(argc, argv, &o);

	e = dr_find_shim(&o, l.shim, sizeof(l.shim));
	if (e)
		return e;
	e = dr_check_command(l.shim, o.argv[0], l.exe, sizeof(l.exe));
	if (e)
		return e;
	e = dr_build_env(&o, &l);
	if (e)
		return e;
	dr_aslr_setup(&o);
	if (o.verify)
		return dr_verify(&o, &l);
	return run_mode(&o, &l);
}
