/*
 * report.c - `detrun report [--json|--markdown] LOG...` (what the shim did, per
 * source and library) and `detrun diff LOG1 LOG2` (the first divergent
 * event), both over logs read and compared by logfile.c.
 */
#include "detrun.h"
#include "detshim.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* detrun diff */

static void diff_usage(FILE *f)
{
	fprintf(f,
"Usage: detrun diff [--json] [--compare-log=events|strict] LOG1 LOG2\n"
"Print the first event where two detshim logs part (exit status 0: they\n"
"agree, 1: they differ, 2: a log cannot be read or holds no records).\n"
"  --json               one JSON object instead of text\n"
"  --compare-log=MODE   events (default): what the program produced and\n"
"                       saw; strict: every field as written but seq/pid\n");
}

/* "events" / "strict" (and for --verify "off") -> mode; -1 if neither. */
int dr_parse_cmp(const char *v, bool allow_off)
{
	if (strcmp(v, "events") == 0)
		return DR_CMP_EVENTS;
	if (strcmp(v, "strict") == 0)
		return DR_CMP_STRICT;
	if (allow_off && strcmp(v, "off") == 0)
		return DR_CMP_OFF;
	return -1;
}

int dr_cmd_diff(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "compare-log", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum dr_cmp mode = DR_CMP_EVENTS;
	struct dr_log a, b;
	struct dr_div d;
	bool same, json = false;
	int e, c, m;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'c':
			m = dr_parse_cmp(optarg, false);
			if (m < 0) {
				dr_err("diff: --compare-log '%s': events or "
				       "strict", optarg);
				return DR_EXIT_USAGE;
			}
			mode = (enum dr_cmp)m;
			break;
		case 'h':
			diff_usage(stdout);
			return DR_EXIT_OK;
		default:
			dr_err("diff: unknown option '%s'", argv[optind - 1]);
			diff_usage(stderr);
			return DR_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		diff_usage(stderr);
		return DR_EXIT_USAGE;
	}
	argv += optind;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	e = dr_log_read(&a, argv[0]);
	if (e) {
		dr_err("cannot read '%s': %s", argv[0], strerror(-e));
		return DR_EXIT_NODATA;
	}
	e = dr_log_read(&b, argv[1]);
	if (e) {
		dr_err("cannot read '%s': %s", argv[1], strerror(-e));
		return DR_EXIT_NODATA;
	}
	if (a.nrecs == 0 || b.nrecs == 0) {
		dr_err("'%s' holds no detshim records",
		       a.nrecs == 0 ? argv[0] : argv[1]);
		return DR_EXIT_NODATA;
	}
	same = dr_log_compare(&a, &b, mode, &d);
	if (json) {
		printf("{\"v\":1,\"verdict\":\"%s\",\"compare_log\":\"%s\","
		       "\"logs\":[", same ? "agree" : "differ",
		       mode == DR_CMP_STRICT ? "strict" : "events");
		dr_json_str(stdout, argv[0]);
		printf(",");
		dr_json_str(stdout, argv[1]);
		printf("],\"processes\":[%zu,%zu],\"events\":[%zu,%zu],"
		       "\"digest\":[\"%016llx\",\"%016llx\"],\"divergence\":",
		       a.nprocs, b.nprocs, a.nrecs, b.nrecs,
		       (unsigned long long)dr_log_digest(&a, mode),
		       (unsigned long long)dr_log_digest(&b, mode));
		dr_div_json(&a, &b, &d, stdout);
		printf("}\n");
	} else {
		dr_div_print(&a, &b, &d, argv[0], argv[1], stdout, "");
		if (same)
			printf("logs agree: %zu processes, %zu events\n",
			       a.nprocs, a.nrecs);
	}
	dr_log_free(&a);
	dr_log_free(&b);
	return same ? DR_EXIT_OK : DR_EXIT_DIFFER;
}

/* ------------------------------------------------------------------ */
/* detrun report */

/* A counted string: (src, key) -> n. */
struct tally {
	char *src;
	char *key;
	unsigned long n;
};

struct tallies {
	struct tally *t;
	size_t n, cap;
};

static void tally_add(struct tallies *ts, const char *src, const char *key,
		      unsigned long by)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i].src, src) == 0 &&
		    strcmp(ts->t[i].key, key) == 0) {
			ts->t[i].n += by;
			return;
		}
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 16;
		ts->t = realloc(ts->t, ts->cap * sizeof(*ts->t));
		if (ts->t == NULL) {
			dr_err("out of memory");
			exit(DR_EXIT_USAGE);
		}
	}
	ts->t[ts->n].src = dr_xstrdup(src);
	ts->t[ts->n].key = dr_xstrdup(key);
	ts->t[ts->n].n = by;
	ts->n++;
}

static void tally_free(struct tallies *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++) {
		free(ts->t[i].src);
		free(ts->t[i].key);
	}
	free(ts->t);
}

static unsigned long detail_count(const char *detail)
{
	const char *c = strstr(detail, "count=");

	return c ? strtoul(c + 6, NULL, 10) : 0;
}

static bool is_pin_action(const char *a)
{
	return strcmp(a, "pinned") == 0 || strcmp(a, "overridden") == 0 ||
	       strcmp(a, "kept") == 0 || strcmp(a, "would-pin") == 0;
}

static bool is_fingerprint(const struct dr_rec *r)
{
	return strstr(r->action, "fingerprint") || strstr(r->call, "fingerprint");
}

static bool is_problem(const char *a)
{
	return strcmp(a, "error") == 0 || strcmp(a, "missing") == 0 ||
	       strcmp(a, "dropped") == 0 || strcmp(a, "refused") == 0;
}

/* Pinned detail "NAME=value (why)" -> "NAME=value". */
static char *pin_text(const char *detail)
{
	char *s = dr_xstrdup(detail);
	char *why = strstr(s, " (");

	if (why)
		*why = '\0';
	return s;
}

struct report {
	struct tallies sources;   /* src -> total count (exit summary) */
	struct tallies logged;    /* src -> logged lines */
	struct tallies actions;   /* src, action -> logged lines */
	struct tallies configs;   /* "", init detail -> processes */
	struct tallies pins;      /* src, "NAME=value (action)" */
	struct tallies vetoes;    /* src, detail -> n */
	struct tallies prints;    /* src, detail */
	struct tallies problems;  /* src, "call action: detail" */
	bool have_totals;
};

static void report_collect(const struct dr_log *lg, struct report *rp)
{
	size_t i, j;

	for (i = 0; i < lg->nprocs; i++) {
		for (j = 0; j < lg->procs[i].n; j++) {
			const struct dr_rec *r = &lg->procs[i].recs[j];

			if (strcmp(r->action, "total") == 0) {
				tally_add(&rp->sources, r->src, "",
					  detail_count(r->detail));
				rp->have_totals = true;
				continue;
			}
			if (strcmp(r->action, "summary") == 0)
				continue;
			if (strcmp(r->src, "process") == 0 &&
			    strcmp(r->call, "init") == 0 &&
			    strcmp(r->action, "config") == 0) {
				/* Grouped without the id (one per process). */
				char *d = dr_xstrdup(r->detail);
				char *id = strstr(d, " id=");

				if (id) {
					char *end = id + 4 + strspn(id + 4,
						"0123456789abcdef");

					memmove(id, end, strlen(end) + 1);
				}
				tally_add(&rp->configs, "", d, 1);
				free(d);
				continue;
			}
			tally_add(&rp->logged, r->src, "", 1);
			tally_add(&rp->actions, r->src, r->action, 1);
			if (is_pin_action(r->action)) {
				char *t = pin_text(r->detail);
				char *k = dr_xasprintf("%s (%s)", t, r->action);

				tally_add(&rp->pins, r->src, k, 1);
				free(t);
				free(k);
			}
			if (strcmp(r->action, "vetoed") == 0)
				tally_add(&rp->vetoes, r->src, r->detail, 1);
			if (is_fingerprint(r))
				tally_add(&rp->prints, r->src, r->detail, 1);
			if (is_problem(r->action)) {
				char *k = dr_xasprintf("%s %s: %s", r->call,
						       r->action, r->detail);

				tally_add(&rp->problems, r->src, k, 1);
				free(k);
			}
		}
	}
}

/* Sources in the order of the union of totals and logged lines. */
static void source_list(const struct report *rp, struct tallies *out)
{
	size_t i;

	for (i = 0; i < rp->sources.n; i++)
		tally_add(out, rp->sources.t[i].src, "", 0);
	for (i = 0; i < rp->logged.n; i++)
		tally_add(out, rp->logged.t[i].src, "", 0);
}

static unsigned long tally_get(const struct tallies *ts, const char *src,
			       const char *key)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i].src, src) == 0 &&
		    strcmp(ts->t[i].key, key) == 0)
			return ts->t[i].n;
	return 0;
}

static bool tally_has(const struct tallies *ts, const char *src)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i].src, src) == 0)
			return true;
	return false;
}

static void report_text(const struct dr_log *lg, const struct report *rp,
			int nfiles)
{
	struct tallies srcs = { 0 };
	size_t i, j;

	printf("detshim log: %s%s (%zu records, %zu process%s",
	       lg->path, nfiles > 1 ? " and more" : "", lg->nrecs, lg->nprocs,
	       lg->nprocs == 1 ? "" : "es");
	if (lg->malformed)
		printf(", %zu malformed line%s", lg->malformed,
		       lg->malformed == 1 ? "" : "s");
	printf(")\n");
	printf("configuration:\n");
	if (rp->configs.n == 0)
		printf("  (no init record)\n");
	for (i = 0; i < rp->configs.n; i++)
		printf("  %s  [%lu process%s]\n", rp->configs.t[i].key,
		       rp->configs.t[i].n, rp->configs.t[i].n == 1 ? "" : "es");

	source_list(rp, &srcs);
	printf("events per source (count: calls counted by the exit summary, "
	       "- if none;\n  then logged lines per action):\n");
	if (srcs.n == 0)
		printf("  none\n");
	for (i = 0; i < srcs.n; i++) {
		const char *s = srcs.t[i].src;

		printf("  %-14s %-12s ", s, dr_src_library(s));
		if (tally_has(&rp->sources, s))
			printf("count %-8lu", tally_get(&rp->sources, s, ""));
		else
			printf("count -       ");
		for (j = 0; j < rp->actions.n; j++)
			if (strcmp(rp->actions.t[j].src, s) == 0)
				printf(" %s=%lu", rp->actions.t[j].key,
				       rp->actions.t[j].n);
		printf("\n");
	}
	if (!rp->have_totals)
		printf("  (no exit summary: the program did not exit normally, "
		       "or it is still running)\n");
	printf("pinned environment:\n");
	if (rp->pins.n == 0)
		printf("  none\n");
	for (i = 0; i < rp->pins.n; i++)
		printf("  %s%s\n", rp->pins.t[i].key,
		       rp->pins.t[i].n > 1 ? " [several processes]" : "");
	printf("vetoed engines and algorithms:\n");
	if (rp->vetoes.n == 0)
		printf("  none\n");
	for (i = 0; i < rp->vetoes.n; i++)
		printf("  %-8s %5lux  %s\n", rp->vetoes.t[i].src,
		       rp->vetoes.t[i].n, rp->vetoes.t[i].key);
	printf("device fingerprint:\n");
	if (rp->prints.n == 0)
		printf("  none recorded (no GPU library was used)\n");
	for (i = 0; i < rp->prints.n; i++)
		printf("  %s: %s\n", rp->prints.t[i].src, rp->prints.t[i].key);
	printf("errors and missing symbols:\n");
	if (rp->problems.n == 0)
		printf("  none\n");
	for (i = 0; i < rp->problems.n; i++)
		printf("  %s %s%s\n", rp->problems.t[i].src, rp->problems.t[i].key,
		       rp->problems.t[i].n > 1 ? " [repeated]" : "");
	tally_free(&srcs);
}

static void json_tally_list(FILE *f, const char *name,
			    const struct tallies *ts, const char *keyname)
{
	size_t i;

	fprintf(f, ",\"%s\":[", name);
	for (i = 0; i < ts->n; i++) {
		fprintf(f, "%s{\"src\":", i ? "," : "");
		dr_json_str(f, ts->t[i].src);
		fprintf(f, ",\"%s\":", keyname);
		dr_json_str(f, ts->t[i].key);
		fprintf(f, ",\"n\":%lu}", ts->t[i].n);
	}
	fprintf(f, "]");
}

static void report_json(const struct dr_log *lg, const struct report *rp,
			char **files, int nfiles)
{
	struct tallies srcs = { 0 };
	size_t i, j;
	int k;

	printf("{\"files\":[");
	for (k = 0; k < nfiles; k++) {
		printf("%s", k ? "," : "");
		dr_json_str(stdout, files[k]);
	}
	printf("],\"records\":%zu,\"malformed\":%zu,\"processes\":%zu,"
	       "\"pids\":[", lg->nrecs, lg->malformed, lg->nprocs);
	for (i = 0; i < lg->nprocs; i++)
		printf("%s%ld", i ? "," : "", lg->procs[i].pid);
	printf("],\"config\":[");
	for (i = 0; i < rp->configs.n; i++) {
		printf("%s{\"detail\":", i ? "," : "");
		dr_json_str(stdout, rp->configs.t[i].key);
		printf(",\"processes\":%lu}", rp->configs.t[i].n);
	}
	printf("],\"summary\":%s,\"sources\":{",
	       rp->have_totals ? "true" : "false");
	source_list(rp, &srcs);
	for (i = 0; i < srcs.n; i++) {
		const char *s = srcs.t[i].src;
		bool first = true;

		printf("%s", i ? "," : "");
		dr_json_str(stdout, s);
		printf(":{\"library\":");
		dr_json_str(stdout, dr_src_library(s));
		if (tally_has(&rp->sources, s))
			printf(",\"count\":%lu", tally_get(&rp->sources, s, ""));
		else
			printf(",\"count\":null");
		printf(",\"logged\":%lu,\"actions\":{",
		       tally_get(&rp->logged, s, ""));
		for (j = 0; j < rp->actions.n; j++) {
			if (strcmp(rp->actions.t[j].src, s) != 0)
				continue;
			printf("%s", first ? "" : ",");
			first = false;
			dr_json_str(stdout, rp->actions.t[j].key);
			printf(":%lu", rp->actions.t[j].n);
		}
		printf("}}");
	}
	printf("}");
	json_tally_list(stdout, "pinned", &rp->pins, "pin");
	json_tally_list(stdout, "vetoed", &rp->vetoes, "detail");
	json_tally_list(stdout, "fingerprint", &rp->prints, "detail");
	json_tally_list(stdout, "problems", &rp->problems, "detail");
	printf("}\n");
	tally_free(&srcs);
}

/* A Markdown table for a CI job's summary page (--markdown). */
static void report_markdown(const struct dr_log *lg, const struct report *rp,
			    char **files, int nfiles)
{
	struct tallies srcs = { 0 };
	size_t i, j;
	int k;

	printf("### detshim log:");
	for (k = 0; k < nfiles; k++)
		printf(" `%s`", files[k]);
	printf("\n\n%zu records, %zu process%s%s.\n\n", lg->nrecs, lg->nprocs,
	       lg->nprocs == 1 ? "" : "es",
	       rp->have_totals ? "" : " (no exit summary: the program did "
				      "not exit normally)");
	printf("| source | library | calls | logged per action |\n");
	printf("|---|---|---:|---|\n");
	source_list(rp, &srcs);
	for (i = 0; i < srcs.n; i++) {
		const char *s = srcs.t[i].src;
		bool first = true;

		printf("| %s | %s | ", s, dr_src_library(s));
		if (tally_has(&rp->sources, s))
			printf("%lu", tally_get(&rp->sources, s, ""));
		else
			printf("-");
		printf(" | ");
		for (j = 0; j < rp->actions.n; j++)
			if (strcmp(rp->actions.t[j].src, s) == 0) {
				printf("%s%s=%lu", first ? "" : ", ",
				       rp->actions.t[j].key, rp->actions.t[j].n);
				first = false;
			}
		printf(" |\n");
	}
	printf("\n**Pinned environment:** %zu; **vetoed engines and "
	       "algorithms:** %zu; **errors and missing symbols:** %zu.\n",
	       rp->pins.n, rp->vetoes.n, rp->problems.n);
	for (i = 0; i < rp->problems.n; i++)
		printf("- %s `%s`\n", rp->problems.t[i].src,
		       rp->problems.t[i].key);
	tally_free(&srcs);
}

int dr_cmd_report(int argc, char **argv)
{
	struct dr_log lg;
	struct report rp;
	char **files = dr_xmalloc((size_t)argc * sizeof(char *));
	bool json = false, markdown = false;
	int nfiles = 0;
	int i, e;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--markdown") == 0)
			markdown = true;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			printf("Usage: detrun report [--json|--markdown] "
			       "LOG...\n"
			       "Summarise detshim logs (several files, e.g. "
			       "the %%p logs of one run, are read as one).\n");
			return DR_EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			dr_err("report: unknown option '%s' (usage: detrun "
			       "report [--json|--markdown] LOG...)", argv[i]);
			return DR_EXIT_USAGE;
		} else
			files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		dr_err("report: no log file given (usage: detrun report "
		       "[--json|--markdown] LOG...)");
		return DR_EXIT_USAGE;
	}
	memset(&lg, 0, sizeof(lg));
	for (i = 0; i < nfiles; i++) {
		e = dr_log_read(&lg, files[i]);
		if (e) {
			dr_err("report: cannot read '%s': %s", files[i],
			       strerror(-e));
			return DR_EXIT_NODATA;
		}
	}
	if (lg.nrecs == 0) {
		dr_err("report: '%s' holds no detshim records%s", files[0],
		       lg.malformed ? " (lines are not detshim JSON)" : "");
		return DR_EXIT_NODATA;
	}
	memset(&rp, 0, sizeof(rp));
	report_collect(&lg, &rp);
	if (json && markdown) {
		dr_err("report: --json or --markdown, not both");
		return DR_EXIT_USAGE;
	}
	if (json)
		report_json(&lg, &rp, files, nfiles);
	else if (markdown)
		report_markdown(&lg, &rp, files, nfiles);
	else
		report_text(&lg, &rp, nfiles);
	tally_free(&rp.sources);
	tally_free(&rp.logged);
	tally_free(&rp.actions);
	tally_free(&rp.configs);
	tally_free(&rp.pins);
	tally_free(&rp.vetoes);
	tally_free(&rp.prints);
	tally_free(&rp.problems);
	dr_log_free(&lg);
	free(files);
	return DR_EXIT_OK;
}
