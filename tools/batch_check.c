/*
 * batch_check.c - `detrun --verify-batch[=N]` (batch_check.h): one run of
 * the command with DETSHIM_BATCH_CHECK=N, then its log, module by module.
 *
 * The command runs as in run mode (its stdin, stdout and stderr are
 * detrun's; with --json its stdout goes to detrun's stderr, so that
 * detrun's stdout holds the verdict only), under the batch-invariant
 * profile unless --profile names one, with every event logged
 * (log.first_n at its largest unless DETSHIM_LOG_FIRST_N is set): the
 * checker logs one event per module and row.  The log is --log FILE,
 * else a file in a temporary directory that is removed when every
 * compared output was equal.
 */
#include "batch_check.h"
#include "detshim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* log.first_n's largest value (its row in shim/config.c). */
#define LOG_ALL "1000000"
#define PROFILE_FLAG "--profile"
#define PROFILE_CHECKED "batch-invariant"

static const struct dr_flag *flag_named(const char *lng)
{
	size_t i;

	for (i = 0; i < dr_nflags; i++)
		if (strcmp(dr_flags[i].lng, lng) == 0)
			return &dr_flags[i];
	return NULL;
}

void dr_batch_opts(struct dr_opts *o)
{
	const struct dr_flag *p = flag_named(PROFILE_FLAG);

	if (p && o->value[p - dr_flags] == NULL)
		o->value[p - dr_flags] = PROFILE_CHECKED;
}

/* A module whose output was compared: its rows, those that differed and
 * the first of those. */
struct module {
	char *name;
	unsigned rows, differ;
	const struct dr_rec *first;
};

struct verdict {
	struct module *mods;    /* in the order of their first event */
	size_t nmods, cap;
	unsigned checked;       /* batched calls compared */
	const struct dr_rec **skipped, **errors;
	size_t nskipped, nerrors;
};

static struct module *module_of(struct verdict *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->nmods; i++)
		if (strcmp(v->mods[i].name, name) == 0)
			return &v->mods[i];
	if (v->nmods == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 32;
		v->mods = realloc(v->mods, v->cap * sizeof(*v->mods));
		if (v->mods == NULL) {
			dr_err("out of memory");
			exit(DR_EXIT_USAGE);
		}
	}
	memset(&v->mods[v->nmods], 0, sizeof(*v->mods));
	v->mods[v->nmods].name = dr_xstrdup(name);
	return &v->mods[v->nmods++];
}

static void push(const struct dr_rec ***list, size_t *n,
		 const struct dr_rec *r)
{
	*list = realloc(*list, (*n + 1) * sizeof(**list));
	if (*list == NULL) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	(*list)[(*n)++] = r;
}

static void collect(const struct dr_log *lg, struct verdict *v)
{
	size_t i, j;

	for (i = 0; i < lg->nprocs; i++)
		for (j = 0; j < lg->procs[i].n; j++) {
			const struct dr_rec *r = &lg->procs[i].recs[j];
			const char *name = dr_rec_field(r, "module");
			struct module *m;
			bool differ;

			if (strcmp(r->src, "torch") != 0 ||
			    strcmp(r->call, "batch_check") != 0)
				continue;
			if (strcmp(r->action, "checked") == 0) {
				v->checked++;
				continue;
			}
			if (strcmp(r->action, "skipped") == 0) {
				push(&v->skipped, &v->nskipped, r);
				continue;
			}
			if (strcmp(r->action, "error") == 0) {
				push(&v->errors, &v->nerrors, r);
				continue;
			}
			differ = strcmp(r->action, "differ") == 0;
			if ((!differ && strcmp(r->action, "equal") != 0) ||
			    name == NULL)
				continue;
			m = module_of(v, name);
			m->rows++;
			if (differ && m->differ++ == 0)
				m->first = r;
		}
}

static const char *field_or(const struct dr_rec *r, const char *k,
			    const char *dflt)
{
	const char *s = dr_rec_field(r, k);

	return s ? s : dflt;
}

static size_t count_differ(const struct verdict *v)
{
	size_t i, n = 0;

	for (i = 0; i < v->nmods; i++)
		n += v->mods[i].differ != 0;
	return n;
}

static void print_text(const struct dr_opts *o, const struct verdict *v,
		       const char *profile, const char *verdict,
		       const char *status)
{
	size_t i, nd = count_differ(v);

	printf("%s: verify-batch: %s, %s rows per batch%s%s: %s\n", dr_prog,
	       o->argv[0], o->value[dr_batch_flag() - dr_flags],
	       profile ? ", profile " : "", profile ? profile : "", verdict);
	if (status)
		printf("  the command ended with %s\n", status);
	for (i = 0; i < v->nmods; i++) {
		const struct module *m = &v->mods[i];

		if (!m->differ)
			continue;
		printf("  %s: differs in %u of %u rows checked (first: row "
		       "%s of %s, element %s, max |difference| %s)\n", m->name,
		       m->differ, m->rows, field_or(m->first, "row", "?"),
		       field_or(m->first, "batch", "?"),
		       field_or(m->first, "first_diff", "?"),
		       field_or(m->first, "max_abs", "?"));
	}
	for (i = 0; i < v->nskipped; i++)
		printf("  skipped: %s\n", v->skipped[i]->detail);
	for (i = 0; i < v->nerrors; i++)
		printf("  error: %s\n", v->errors[i]->detail);
	printf("  %u batched call%s compared: %zu module%s equal in every "
	       "row, %zu differ\n", v->checked, v->checked == 1 ? "" : "s",
	       v->nmods - nd, v->nmods - nd == 1 ? "" : "s", nd);
	if (v->checked == 0 && v->nskipped == 0 && !status)
		printf("  no module was called with a batch: torch.nn.Module "
		       "calls whose tensor arguments lead with a dimension of "
		       "2 or more are checked (docs/GUIDE.md)\n");
}

static void print_json(const struct dr_opts *o, const struct verdict *v,
		       const char *profile, const char *verdict,
		       const struct dr_result *r, const char *log)
{
	size_t i;
	char **a;
	bool first = true;

	printf("{\"v\":1,\"verdict\":\"%s\",\"command\":[", verdict);
	for (a = o->argv; *a; a++) {
		printf("%s", a == o->argv ? "" : ",");
		dr_json_str(stdout, *a);
	}
	printf("],\"rows\":%s,\"profile\":",
	       o->value[dr_batch_flag() - dr_flags]);
	if (profile)
		dr_json_str(stdout, profile);
	else
		printf("null");
	if (WIFEXITED(r->status))
		printf(",\"exit\":%d,\"signal\":null", WEXITSTATUS(r->status));
	else
		printf(",\"exit\":null,\"signal\":%d",
		       WIFSIGNALED(r->status) ? WTERMSIG(r->status) : -1);
	printf(",\"wall_s\":%.3f,\"calls_checked\":%u,\"modules\":%zu,"
	       "\"differ\":[", r->wall_s, v->checked, v->nmods);
	for (i = 0; i < v->nmods; i++) {
		const struct module *m = &v->mods[i];

		if (!m->differ)
			continue;
		printf("%s{\"module\":", first ? "" : ",");
		first = false;
		dr_json_str(stdout, m->name);
		printf(",\"rows\":%u,\"rows_differ\":%u,\"row\":%s,"
		       "\"batch\":%s,\"first_diff\":", m->rows, m->differ,
		       field_or(m->first, "row", "null"),
		       field_or(m->first, "batch", "null"));
		dr_json_str(stdout, field_or(m->first, "first_diff", ""));
		printf(",\"max_abs\":");
		dr_json_str(stdout, field_or(m->first, "max_abs", ""));
		printf("}");
	}
	printf("],\"skipped\":[");
	for (i = 0; i < v->nskipped; i++) {
		printf("%s", i ? "," : "");
		dr_json_str(stdout, v->skipped[i]->detail);
	}
	printf("],\"errors\":[");
	for (i = 0; i < v->nerrors; i++) {
		printf("%s", i ? "," : "");
		dr_json_str(stdout, v->errors[i]->detail);
	}
	printf("],\"log\":");
	if (log)
		dr_json_str(stdout, log);
	else
		printf("null");
	printf("}\n");
}

const struct dr_flag *dr_batch_flag(void)
{
	size_t i;

	for (i = 0; i < dr_nflags; i++)
		if (dr_flags[i].kind == DR_ROWS)
			return &dr_flags[i];
	dr_err("internal error: no --verify-batch in the flag table");
	abort();
}

int dr_verify_batch(const struct dr_opts *o, struct dr_launch *l)
{
	const struct dr_spawn sp = { -1, o->json ? 2 : -1, -1, false, 0, -1,
				     -1 };
	const struct dr_flag *pf = flag_named(PROFILE_FLAG);
	const char *profile = pf ? o->value[pf - dr_flags] : NULL;
	const char *first_n = ds_config_var(offsetof(struct ds_config,
						     log_first_n));
	char dir[4096] = "", log[4096 + 8];
	struct verdict v;
	struct dr_result r;
	struct dr_log lg;
	const char *verdict;
	char st[64] = "";
	bool failed, keep;
	int e, rc;

	if (o->log) {
		if (strchr(o->log, '%')) {
			dr_err("--verify-batch reads one log: --log '%s' may "
			       "not hold %%", o->log);
			return DR_EXIT_USAGE;
		}
		if (access(o->log, F_OK) == 0) {
			dr_err("--log '%s' exists: remove it first (the "
			       "verdict is read from this run's lines)",
			       o->log);
			return DR_EXIT_USAGE;
		}
		/* dr_build_env set DETSHIM_LOG to its absolute path. */
		snprintf(log, sizeof(log), "%s", o->log);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/detrun-batch.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL) {
			dr_err("cannot create a directory for the log in "
			       "'%s': %s", tmp && *tmp ? tmp : "/tmp",
			       strerror(errno));
			return DR_EXIT_USAGE;
		}
		snprintf(log, sizeof(log), "%s/log", dir);
		dr_env_set(l, "DETSHIM_LOG", log);
	}
	if (getenv(first_n) == NULL)
		dr_env_set(l, first_n, LOG_ALL);
	e = dr_run(l, o->argv, &sp, &r);
	if (e)
		return e;
	e = dr_report_exec(l, &r);
	if (e)
		return e;
	if (!r.loaded)
		return dr_report_noshim(l, &r, NULL);

	memset(&lg, 0, sizeof(lg));
	memset(&v, 0, sizeof(v));
	e = dr_log_read(&lg, log);
	if (e && e != -ENOENT) {
		dr_err("cannot read '%s': %s", log, strerror(-e));
		return DR_EXIT_USAGE;
	}
	collect(&lg, &v);
	failed = !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0;
	if (failed) {
		if (WIFEXITED(r.status))
			snprintf(st, sizeof(st), "exit status %d",
				 WEXITSTATUS(r.status));
		else
			snprintf(st, sizeof(st), "signal %d",
				 WIFSIGNALED(r.status) ? WTERMSIG(r.status)
						       : -1);
		verdict = "FAILED";
		rc = DR_EXIT_FAILED;
	} else if (count_differ(&v)) {
		verdict = "DIFFER";
		rc = DR_EXIT_DIFFER;
	} else if (v.nmods == 0) {
		verdict = "NOTHING CHECKED";
		rc = DR_EXIT_NODATA;
	} else {
		verdict = "EQUAL";
		rc = DR_EXIT_OK;
	}
	keep = o->log != NULL || rc != DR_EXIT_OK;
	if (o->json) {
		static const char *const json_name[] = {
			[DR_EXIT_OK] = "equal", [DR_EXIT_DIFFER] = "differ",
			[DR_EXIT_NODATA] = "nothing", [DR_EXIT_FAILED] = "failed",
		};

		print_json(o, &v, profile, json_name[rc], &r,
			   keep ? log : NULL);
	} else {
		print_text(o, &v, profile, verdict, failed ? st : NULL);
		if (keep && !o->log)
			printf("  log kept in %s\n", log);
	}
	fflush(stdout);
	if (!keep) {
		unlink(log);
		rmdir(dir);
	}
	for (size_t i = 0; i < v.nmods; i++)
		free(v.mods[i].name);
	free(v.mods);
	free(v.skipped);
	free(v.errors);
	dr_log_free(&lg);
	return rc;
}
