/*
 * detrun.c - the front door of detshim: the flag table, the command
 * line, run mode, main.
 *
 *   detrun [OPTIONS] [--] COMMAND [ARG...]
 *   detrun --verify N [--compare WHAT]... [OPTIONS] [--] COMMAND [ARG...]
 *   detrun --verify-batch[=N] [OPTIONS] [--] COMMAND [ARG...]
 *   detrun report [--json|--markdown] LOG...
 *   detrun diff [--json] [--compare-log=MODE] LOG1 LOG2
 *   detrun help
 *
 * Run mode sets the DETSHIM_* variables, prepends the shim to LD_PRELOAD,
 * turns ASLR off for the child, runs the command and exits with its
 * status - unless the shim did not load in it, which is an error
 * (status 122), never a silent nondeterministic run (docs/DESIGN.md §1.1,
 * users' expectation 5).  Every message detrun prints itself starts "detrun:".
 * Exit statuses: detrun.h and docs/detrun.1 (EXIT STATUS).
 */
#include "detrun.h"
#include "batch_check.h"
#include "detshim.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The command line, one row per option.  The rows drive parse_args, the
 * usage text, the environment given to the command and -v
 * (spawn.c:dr_build_env), so an option that mirrors a shim variable
 * mirrors it by construction: its variable is named by its field in
 * struct ds_config, the name comes from the shim's config rows
 * (ds_config_var) and its value is checked by the shim's own parser.
 *
 * To add an option that mirrors a new DETSHIM_* variable:
 *   1. the field in struct ds_config (shim/detshim.h);
 *   2. the row in shim/config.c's rows[];
 *   3. a row here, e.g.
 *        { "--cudnn-choice", NULL, "C", DR_VAR(cudnn_choice), DR_WORD, 0,
 *          "first (default) or any" },
 *   4. the docs: the option in docs/detrun.1, the key in
 *      docs/detshim.conf.5 and conf/detshim.conf, the variable in
 *      README.md's table.
 * Seven places, three of them code; parsing, checking, the usage line,
 * the child's environment and -v follow from the row.
 */
const struct dr_flag dr_flags[] = {
	{ "--seed", "-s", "N", DR_VAR(seed), DR_SEED, 0,
	  "seed (decimal or 0x-hex, 64 bits)" },
	{ "--config", "-c", "FILE", DR_VAR(config_path), DR_FILE, 0,
	  "configuration file (detshim.conf(5))" },
	{ "--log", "-l", "PATH", DR_VAR(log_path), DR_LOG, 0,
	  "log file (%p = pid)\n"
	  "with --verify: the directory that keeps every run's\n"
	  "log and output" },
	{ "--policy", "-p", "P", DR_VAR(policy), DR_WORD, 0,
	  "enforce (default), warn (log), off" },
	{ "--seed-mode", NULL, "M", DR_VAR(seed_mode), DR_WORD, 0,
	  "mix (default), override or respect" },
	{ "--profile", NULL, "NAME", DR_VAR(profile), DR_WORD, 0,
	  "default or batch-invariant (detshim(7))" },
	{ "--algo-cache", NULL, "FILE", DR_VAR(algo_cache), DR_PATH, 0,
	  "GPU algorithm cache" },
	{ "--no-aslr", NULL, NULL, DR_NO_VAR, DR_SWITCH_OFF, DR_OPT(aslr),
	  "turn address randomisation off (the default)" },
	{ "--aslr", NULL, NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(aslr),
	  "leave address randomisation on" },
	{ "--shim", NULL, "PATH", DR_NO_VAR, DR_STRING, DR_OPT(shim),
	  "use this libdetshim.so (also: DETSHIM_SO)" },
	{ "--verify", NULL, "N", DR_NO_VAR, DR_RUNS, 0,
	  "run N times (2.." DR_STR(DR_VERIFY_MAX) ") with the same seed, compare" },
	{ "--compare", NULL, "WHAT", DR_NO_VAR, DR_LIST, 0,
	  "with --verify: stdout, stderr, or a file or glob\n"
	  "the command writes (repeatable; default stdout)" },
	{ "--learn", NULL, "FILE", DR_NO_VAR, DR_STRING, DR_OPT(learn),
	  "with --verify: write the seeding sites whose seed\n"
	  "differed between runs to FILE (DETSHIM_SEEDS_FILE)" },
	{ "--keep", NULL, NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(keep),
	  "with --verify: keep the run files when identical" },
	{ "--compare-log", NULL, "MODE", DR_NO_VAR, DR_CMPLOG, 0,
	  "with --verify: events (default: what the program\n"
	  "produced and saw), strict (every field) or off" },
	{ "--accept-status", NULL, "N", DR_NO_VAR, DR_ACCEPT, 0,
	  "with --verify: a run may exit with status N\n"
	  "(repeatable; else only 0 passes)" },
	{ "--wait-timeout", NULL, "S", DR_NO_VAR, DR_SECONDS, 0,
	  "with --verify: seconds the processes a run leaves\n"
	  "behind may outlive it (default " DR_STR(DR_LINGER_DEFAULT) ")" },
	{ "--progress", NULL, NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(progress),
	  "with --verify: a line per run (default on a terminal)" },
	{ "--stream", NULL, NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(stream),
	  "with --verify: show run 1's output as it comes" },
	{ "--json", NULL, NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(json),
	  "with --verify or --verify-batch: the verdict as\n"
	  "one JSON object" },
	{ "--bisect", NULL, NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(bisect),
	  "with --verify: hash every GPU library call; name\n"
	  "the first whose output differed (detrun(1))" },
	{ "--verify-batch", NULL, "[=N]", DR_VAR(batch_check), DR_ROWS, 0,
	  "run once; rerun N sampled rows (default "
	  DR_STR(DR_BATCH_ROWS) ") of each\n"
	  "batched torch module call alone, compare every\n"
	  "layer's output bit for bit (detrun(1))" },
	{ "--quiet", "-q", NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(quiet),
	  "print only errors and verdicts" },
	{ "--verbose", "-v", NULL, DR_NO_VAR, DR_SWITCH_ON, DR_OPT(verbose),
	  "print the variables given to the command" },
	{ "--help", "-h", NULL, DR_NO_VAR, DR_HELP, 0, "this help" },
	{ "--version", "-V", NULL, DR_NO_VAR, DR_VERSION, 0, "version" },
};
const size_t dr_nflags = DS_ARRAY_SIZE(dr_flags);
_Static_assert(DS_ARRAY_SIZE(dr_flags) <= DR_MAX_FLAGS,
	       "struct dr_opts holds DR_MAX_FLAGS values");

const char *dr_flag_var(const struct dr_flag *f)
{
	const char *v = ds_config_var(f->var);

	if (v == NULL) {
		dr_err("internal error: %s mirrors no shim variable", f->lng);
		abort();
	}
	return v;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
"Usage: detrun [OPTIONS] [--] COMMAND [ARG...]\n"
"       detrun --verify N [--compare WHAT]... [OPTIONS] [--] COMMAND [ARG...]\n"
"       detrun --verify-batch[=N] [OPTIONS] [--] COMMAND [ARG...]\n"
"       detrun report [--json|--markdown] LOG...\n"
"       detrun diff [--json] [--compare-log=MODE] LOG1 LOG2\n"
"       detrun help\n"
"\n"
"Run COMMAND under detshim, the LD_PRELOAD shim that makes it reproducible.\n"
"Options end at the first word that is not one (or at --).\n"
"\n"
"Options:\n");
	for (i = 0; i < dr_nflags; i++) {
		const struct dr_flag *fl = &dr_flags[i];
		const char *h = fl->help;
		size_t n = strcspn(h, "\n");
		char name[32];

		snprintf(name, sizeof(name), "%s%s%s", fl->lng,
			 fl->arg && fl->kind != DR_ROWS ? " " : "",
			 fl->arg ? fl->arg : "");
		fprintf(f, "  %s%s%-19s%.*s", fl->shrt ? fl->shrt : "",
			fl->shrt ? ", " : "    ", name, (int)n, h);
		if (fl->var != DR_NO_VAR)
			fprintf(f, ": %s", dr_flag_var(fl));
		for (h += n; *h; h += n) {
			h++;
			n = strcspn(h, "\n");
			fprintf(f, "\n%25s%.*s", "", (int)n, h);
		}
		fputc('\n', f);
	}
	fprintf(f,
"\n"
"Exit status: the command's; --verify: 0 identical, 1 differ, 2 nothing\n"
"to compare, 3 a run failed (status, signal), 128+N stopped by signal N;\n"
"--verify-batch: 0 equal, 1 differ, 2 nothing checked, 3 the command failed;\n"
"122 the shim did not load; 125 bad usage or setup; 126 the command\n"
"cannot be executed; 127 not found.  See detrun(1).\n");
}

/* Check the value of a mirrored option with the shim's own parser, as
 * the only variable, and report an error under the option's name. */
static void check_value(const struct dr_flag *f, const char *v)
{
	const char *var = dr_flag_var(f);
	size_t n = strlen(var);
	char *kv = dr_xasprintf("%s=%s", var, v);
	char *envp[] = { kv, NULL };
	struct ds_config cfg;
	char err[DS_PATH_MAX + 256];

	if (ds_config_from_env(&cfg, envp, err, sizeof(err)) != 0) {
		/* "DETSHIM_POLICY: invalid policy ..." */
		if (strncmp(err, var, n) == 0 && err[n] == ':')
			dr_err("%s%s", f->lng, err + n);
		else
			dr_err("%s: %s", f->lng, err);
		exit(DR_EXIT_USAGE);
	}
	free(kv);
}

static unsigned parse_runs(const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno) {
		dr_err("--verify: '%s' is not a number of runs", v);
		exit(DR_EXIT_USAGE);
	}
	if (n < 2) {
		dr_err("--verify %ld: at least 2 runs are needed to compare", n);
		exit(DR_EXIT_USAGE);
	}
	if (n > DR_VERIFY_MAX) {
		dr_err("--verify %ld: too many runs (at most %d)", n,
		       DR_VERIFY_MAX);
		exit(DR_EXIT_USAGE);
	}
	return (unsigned)n;
}

static unsigned parse_uint(const struct dr_flag *f, const char *v,
			   unsigned max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno || n > max) {
		dr_err("%s: '%s' is not a number from 0 to %u", f->lng, v, max);
		exit(DR_EXIT_USAGE);
	}
	return (unsigned)n;
}

/* One option of the table with its value ("" for a switch). */
static void apply(const struct dr_flag *f, const char *v, struct dr_opts *o)
{
	int m;

	switch (f->kind) {
	case DR_HELP:
		usage(stdout);
		exit(DR_EXIT_OK);
	case DR_VERSION:
		printf("detrun (detshim) %s\n", DS_VERSION);
		exit(DR_EXIT_OK);
	case DR_SWITCH_ON:
	case DR_SWITCH_OFF:
		*(bool *)((char *)o + f->dest) = f->kind == DR_SWITCH_ON;
		break;
	case DR_SEED:
	case DR_WORD:
		check_value(f, v);
		o->value[f - dr_flags] = v;
		break;
	case DR_ROWS: {
		uint64_t rows;

		if (*v == '\0')
			v = DR_STR(DR_BATCH_ROWS);
		check_value(f, v);
		ds_parse_seed(v, &rows); /* checked: decimal or 0x-hex */
		if (rows == 0) {
			dr_err("%s=%s: at least 1 row is needed", f->lng, v);
			exit(DR_EXIT_USAGE);
		}
		o->value[f - dr_flags] = dr_xasprintf("%llu",
						      (unsigned long long)rows);
		o->verify_batch = true;
		break;
	}
	case DR_LOG:
		if (*v == '\0') {
			dr_err("%s: empty path", f->lng);
			exit(DR_EXIT_USAGE);
		}
		o->log = v;
		o->value[f - dr_flags] = v;
		break;
	case DR_FILE:
	case DR_PATH:
		o->value[f - dr_flags] = v;
		break;
	case DR_STRING:
		*(const char **)((char *)o + f->dest) = v;
		break;
	case DR_LIST:
		if (*v == '\0') {
			dr_err("%s: empty name", f->lng);
			exit(DR_EXIT_USAGE);
		}
		o->compare[o->ncompare++] = v;
		break;
	case DR_RUNS:
		o->verify = parse_runs(v);
		break;
	case DR_CMPLOG:
		m = dr_parse_cmp(v, true);
		if (m < 0) {
			dr_err("%s '%s': off, events or strict", f->lng, v);
			exit(DR_EXIT_USAGE);
		}
		o->compare_log = (enum dr_cmp)m;
		break;
	case DR_ACCEPT:
		o->accept[parse_uint(f, v, 255)] = true;
		break;
	case DR_SECONDS:
		o->linger_s = parse_uint(f, v, 86400);
		break;
	}
}

/*
 * getopt_long over the table: "-s42", "-qv", "--seed=42", "--seed 42";
 * "+": options end at the first word that is not one, so "--" before the
 * command is needed only when the command's name starts with "-".
 */
static void parse_args(int argc, char **argv, struct dr_opts *o)
{
	struct option lopts[DR_MAX_FLAGS + 1];
	char shorts[2 * DR_MAX_FLAGS + 3] = "+:";
	size_t i, ns = 2;
	int c;

	memset(lopts, 0, sizeof(lopts));
	for (i = 0; i < dr_nflags; i++) {
		lopts[i].name = dr_flags[i].lng + 2;
		lopts[i].has_arg = dr_flags[i].kind == DR_ROWS
					   ? optional_argument
				   : dr_flags[i].arg ? required_argument
						     : no_argument;
		lopts[i].val = 256 + (int)i;
		if (dr_flags[i].shrt) {
			shorts[ns++] = dr_flags[i].shrt[1];
			if (dr_flags[i].arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	o->compare = dr_xmalloc(sizeof(char *) * (size_t)argc);
	o->compare_log = DR_CMP_EVENTS;
	o->linger_s = DR_LINGER_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		const struct dr_flag *f = NULL;

		if (c >= 256) {
			f = &dr_flags[c - 256];
		} else if (c == '?' || c == ':') {
			const char *a = argv[optind - 1];

			if (c == ':')
				dr_err("option %s needs a value (see detrun "
				       "--help)", a);
			else if (optopt && a[0] == '-' && a[1] != '-')
				dr_err("unknown option '-%c' (see detrun "
				       "--help)", optopt);
			else
				dr_err("unknown option '%s' (see detrun "
				       "--help)", a);
			exit(DR_EXIT_USAGE);
		} else {
			for (i = 0; i < dr_nflags && f == NULL; i++)
				if (dr_flags[i].shrt && dr_flags[i].shrt[1] == c)
					f = &dr_flags[i];
		}
		apply(f, f->arg && optarg ? optarg : "", o);
	}
	o->argv = argv + optind;
	if (o->argv[0] == NULL) {
		dr_err("no command to run (see detrun --help)");
		exit(DR_EXIT_USAGE);
	}
	if (o->argv[0][0] == '\0') {
		dr_err("empty command name");
		exit(DR_EXIT_USAGE);
	}
	if (o->verify && o->verify_batch) {
		dr_err("--verify and --verify-batch are two modes: use one");
		exit(DR_EXIT_USAGE);
	}
	if (!o->verify) {
		static const char *const need[] = {
			"--compare", "--keep", "--compare-log", "--accept-status",
			"--wait-timeout", "--progress", "--stream", "--json",
			"--bisect", "--learn",
		};
		bool given[DS_ARRAY_SIZE(need)] = {
			o->ncompare > 0, o->keep, o->compare_log != DR_CMP_EVENTS,
			false, o->linger_s != DR_LINGER_DEFAULT, o->progress,
			o->stream, o->json && !o->verify_batch, o->bisect,
			o->learn != NULL,
		};

		for (i = 1; i < 256; i++)
			given[3] |= o->accept[i];
		for (i = 0; i < DS_ARRAY_SIZE(need); i++)
			if (given[i]) {
				dr_err("%s needs --verify N", need[i]);
				exit(DR_EXIT_USAGE);
			}
	}
}

/* Check that the log named by --log can be written before the command
 * runs: the shim would only warn and run without a log. */
static int check_log_path(const struct dr_opts *o, const char *tmpl)
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
		/* The shim appends (processes share the file): say so
		 * rather than mix two runs silently. */
		if (strstr(tmpl, "%p") == NULL)
			dr_note(o, "warning: --log '%s' exists: this run's "
				   "lines are appended to it (remove it first "
				   "for a log of this run only)", path);
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
	const struct dr_spawn spawn = { -1, -1, -1, false, 0, -1, -1 };
	struct dr_result r;
	int e;

	if (o->log) {
		/* dr_build_env already set DETSHIM_LOG (absolute). */
		e = check_log_path(o, o->log);
		if (e)
			return e;
	}
	e = dr_run(l, o->argv, &spawn, &r);
	if (e)
		return e;
	e = dr_report_exec(l, &r);
	if (e)
		return e;
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

	if (pre == NULL)
		return;
	keep = dr_xstrdup("");
	copy = dr_xstrdup(pre);
	for (tok = strtok_r(copy, ": ", &save); tok;
	     tok = strtok_r(NULL, ": ", &save)) {
		char *next;

		if (dr_is_shim_entry(tok, NULL)) {
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
	if (argc == 2 && strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return DR_EXIT_OK;
	}
	if (argc < 2) {
		usage(stderr);
		return DR_EXIT_USAGE;
	}
	parse_args(argc, argv, &o);
	if (o.verify_batch)
		dr_batch_opts(&o);

	e = dr_find_shim(&o, l.shim, sizeof(l.shim));
	if (e)
		return e;
	e = dr_check_command(l.shim, o.argv[0], l.exe, sizeof(l.exe));
	if (e)
		return e;
	e = dr_build_env(&o, &l);
	if (e)
		return e;
	if (dr_needs_asan(l.exe)) {
		/* ASan exits 1 when a preload comes before its runtime; the
		 * runtime still initialises before the shim, which it serves
		 * (docs/measurements/RELIABILITY.md, "Sanitized programs"). */
		const char *a = getenv("ASAN_OPTIONS");
		char v[4096];

		snprintf(v, sizeof(v), "%s%sverify_asan_link_order=0",
			 a ? a : "", a && *a ? ":" : "");
		dr_env_set(&l, "ASAN_OPTIONS", v);
	}
	dr_aslr_setup(&o);
	if (o.verify)
		return dr_verify(&o, &l);
	if (o.verify_batch)
		return dr_verify_batch(&o, &l);
	return run_mode(&o, &l);
}
