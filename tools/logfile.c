/*
 * logfile.c - reading detshim logs: `detrun report`, `detrun diff` and
 * the first-divergence finder used by --verify.
 *
 * A log is JSON lines written by shim/log.c:
 *   {"seq":N,"pid":P,"src":"...","call":"...","action":"...","detail":"..."}
 * Lines carry no time, so two runs of a deterministic program write the
 * same records up to pid values.  Records are grouped per process (pid)
 * in order of first appearance; seq is the per-process sequence number.
 *
 * Comparison ignores pid values, also inside details (a number equal to
 * a pid of the same log is read as "<pid>"), and seq (it only restates
 * the position).  Processes of two runs are matched by identical event
 * sequence first, so processes that start in a different order (forked
 * workers) still match; two processes with the same events in another
 * order (threads) are reported as "order only", which is not a
 * divergence of results.
 */
#include "detrun.h"
#include "detshim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Parsing. */

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\r')
		(*p)++;
}

/* Parse a JSON string at *p (at the opening quote) into a new buffer. */
static char *parse_str(const char **p)
{
	const char *s = *p;
	size_t cap = strlen(s) + 1;
	char *out = dr_xmalloc(cap);
	size_t n = 0;

	if (*s != '"')
		goto out_bad;
	for (s++; *s && *s != '"'; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		s++;
		switch (*s) {
		case '"':
		case '\\':
		case '/':
			out[n++] = *s;
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'u': {
			unsigned v = 0;
			int i;

			for (i = 1; i <= 4; i++) {
				char c = s[i];

				v <<= 4;
				if (c >= '0' && c <= '9')
					v |= (unsigned)(c - '0');
				else if (c >= 'a' && c <= 'f')
					v |= (unsigned)(c - 'a' + 10);
				else if (c >= 'A' && c <= 'F')
					v |= (unsigned)(c - 'A' + 10);
				else
					goto out_bad;
			}
			s += 4;
			/* log.c escapes single bytes as \u00XX */
			out[n++] = v < 256 ? (char)v : '?';
			break;
		}
		default:
			goto out_bad;
		}
	}
	if (*s != '"')
		goto out_bad;
	out[n] = '\0';
	*p = s + 1;
	return out;
out_bad:
	free(out);
	return NULL;
}

/* Parse one log line into r. Returns true on a detshim record. */
static bool parse_line(const char *line, struct dr_rec *r)
{
	const char *p = line;
	bool have_pid = false;

	memset(r, 0, sizeof(*r));
	skip_ws(&p);
	if (*p++ != '{')
		return false;
	for (;;) {
		char *key;

		skip_ws(&p);
		if (*p == '}')
			break;
		key = parse_str(&p);
		if (key == NULL)
			goto out_bad;
		skip_ws(&p);
		if (*p++ != ':') {
			free(key);
			goto out_bad;
		}
		skip_ws(&p);
		if (*p == '"') {
			char *v = parse_str(&p);
			char **slot = NULL;

			if (v == NULL) {
				free(key);
				goto out_bad;
			}
			if (strcmp(key, "src") == 0)
				slot = &r->src;
			else if (strcmp(key, "call") == 0)
				slot = &r->call;
			else if (strcmp(key, "action") == 0)
				slot = &r->action;
			else if (strcmp(key, "detail") == 0)
				slot = &r->detail;
			if (slot) {
				free(*slot);
				*slot = v;
			} else {
				free(v);
			}
		} else {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p) {
				free(key);
				goto out_bad;
			}
			p = end;
			if (strcmp(key, "seq") == 0)
				r->seq = (unsigned long)v;
			else if (strcmp(key, "pid") == 0) {
				r->pid = (long)v;
				have_pid = true;
			}
		}
		free(key);
		skip_ws(&p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '}')
			break;
		goto out_bad;
	}
	if (!have_pid || !r->src || !r->call || !r->action)
		goto out_bad;
	if (r->detail == NULL)
		r->detail = dr_xstrdup("");
	return true;
out_bad:
	free(r->src);
	free(r->call);
	free(r->action);
	free(r->detail);
	memset(r, 0, sizeof(*r));
	return false;
}

static struct dr_proc *proc_of(struct dr_log *lg, long pid)
{
	size_t i;

	for (i = lg->nprocs; i-- > 0;)
		if (lg->procs[i].pid == pid)
			return &lg->procs[i];
	if (lg->nprocs == lg->capprocs) {
		lg->capprocs = lg->capprocs ? lg->capprocs * 2 : 8;
		lg->procs = realloc(lg->procs,
				    lg->capprocs * sizeof(*lg->procs));
		if (lg->procs == NULL) {
			dr_err("out of memory");
			exit(DR_EXIT_USAGE);
		}
	}
	memset(&lg->procs[lg->nprocs], 0, sizeof(*lg->procs));
	lg->procs[lg->nprocs].pid = pid;
	return &lg->procs[lg->nprocs++];
}

int dr_log_read(struct dr_log *lg, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;

	if (lg->path == NULL)
		lg->path = path;
	if (f == NULL) {
		int e = errno;

		if (e == ENOENT)
			lg->missing = true;
		return -e;
	}
	while (getline(&line, &cap, f) > 0) {
		struct dr_rec r;
		struct dr_proc *pr;

		no++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (!parse_line(line, &r)) {
			if (lg->malformed++ == 0)
				lg->first_bad = no;
			continue;
		}
		r.line = no;
		pr = proc_of(lg, r.pid);
		if (pr->n == pr->cap) {
			pr->cap = pr->cap ? pr->cap * 2 : 32;
			pr->recs = realloc(pr->recs, pr->cap * sizeof(r));
			if (pr->recs == NULL) {
				dr_err("out of memory");
				exit(DR_EXIT_USAGE);
			}
		}
		pr->recs[pr->n++] = r;
		lg->nrecs++;
	}
	free(line);
	fclose(f);
	return 0;
}

void dr_log_free(struct dr_log *lg)
{
	size_t i, j;

	for (i = 0; i < lg->nprocs; i++) {
		for (j = 0; j < lg->procs[i].n; j++) {
			free(lg->procs[i].recs[j].src);
			free(lg->procs[i].recs[j].call);
			free(lg->procs[i].recs[j].action);
			free(lg->procs[i].recs[j].detail);
		}
		free(lg->procs[i].recs);
	}
	free(lg->procs);
	memset(lg, 0, sizeof(*lg));
}

const char *dr_src_library(const char *src)
{
	static const char *const map[][2] = {
		{ "libc_rand", "libc" },       { "drand48", "libc" },
		{ "getrandom", "libc" },       { "getentropy", "libc" },
		{ "arc4random", "libc" },      { "urandom", "libc" },
		{ "dev_random", "libc" },      { "random_device", "libstdc++" },
		{ "curand", "libcurand" },     { "env", "environment" },
		{ "cudnn", "libcudnn" },       { "cublas", "libcublas" },
		{ "driver", "libcuda" },       { "framework", "framework" },
		{ "process", "detshim" },      { "nccl", "libnccl" },
	};
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(map); i++)
		if (strcmp(src, map[i][0]) == 0)
			return map[i][1];
	return "?";
}

/* ------------------------------------------------------------------ */
/* Normalised events. */

static bool is_pid_of(const struct dr_log *lg, long v)
{
	size_t i;

	for (i = 0; i < lg->nprocs; i++)
		if (lg->procs[i].pid == v)
			return true;
	return false;
}

/* "src\x1fcall\x1faction\x1fdetail" with pid values replaced. */
static char *norm_key(const struct dr_log *lg, const struct dr_rec *r)
{
	size_t cap = strlen(r->src) + strlen(r->call) + strlen(r->action) +
		     strlen(r->detail) * 2 + 16;
	char *out = dr_xmalloc(cap);
	const char *d = r->detail;
	size_t n;

	n = (size_t)snprintf(out, cap, "%s\x1f%s\x1f%s\x1f", r->src, r->call,
			     r->action);
	while (*d) {
		if (*d >= '0' && *d <= '9' &&
		    (d == r->detail || !((d[-1] >= '0' && d[-1] <= '9') ||
					 (d[-1] >= 'a' && d[-1] <= 'z') ||
					 (d[-1] >= 'A' && d[-1] <= 'Z')))) {
			size_t k = strspn(d, "0123456789");

			if (k < 12 && is_pid_of(lg, strtol(d, NULL, 10))) {
				memcpy(out + n, "<pid>", 5);
				n += 5;
				d += k;
				continue;
			}
			memcpy(out + n, d, k);
			n += k;
			d += k;
			continue;
		}
		out[n++] = *d++;
	}
	out[n] = '\0';
	return out;
}

struct norm_proc {
	const struct dr_proc *p;
	char **keys;
	size_t n;
	int match;      /* index of the matched process in the other log */
	bool order_only;
};

static struct norm_proc *normalise(const struct dr_log *lg)
{
	struct norm_proc *np = dr_xmalloc((lg->nprocs + 1) * sizeof(*np));
	size_t i, j;

	for (i = 0; i < lg->nprocs; i++) {
		np[i].p = &lg->procs[i];
		np[i].n = lg->procs[i].n;
		np[i].keys = dr_xmalloc((np[i].n + 1) * sizeof(char *));
		np[i].match = -1;
		for (j = 0; j < np[i].n; j++)
			np[i].keys[j] = norm_key(lg, &lg->procs[i].recs[j]);
	}
	return np;
}

static void free_norm(struct norm_proc *np, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < np[i].n; j++)
			free(np[i].keys[j]);
		free(np[i].keys);
	}
	free(np);
}

static bool same_seq(const struct norm_proc *a, const struct norm_proc *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->keys[i], b->keys[i]) != 0)
			return false;
	return true;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool same_multiset(const struct norm_proc *a,
			  const struct norm_proc *b)
{
	char **sa, **sb;
	bool same = true;
	size_t i;

	if (a->n != b->n)
		return false;
	sa = dr_xmalloc((a->n + 1) * sizeof(char *));
	sb = dr_xmalloc((b->n + 1) * sizeof(char *));
	memcpy(sa, a->keys, a->n * sizeof(char *));
	memcpy(sb, b->keys, b->n * sizeof(char *));
	qsort(sa, a->n, sizeof(char *), cmp_str);
	qsort(sb, b->n, sizeof(char *), cmp_str);
	for (i = 0; i < a->n && same; i++)
		same = strcmp(sa[i], sb[i]) == 0;
	free(sa);
	free(sb);
	return same;
}

static void print_rec(FILE *f, const char *indent, const char *name,
		      const struct dr_rec *r)
{
	char esc[1024];

	if (r == NULL) {
		fprintf(f, "%s  %s: (no further event: the process ends)\n",
			indent, name);
		return;
	}
	ds_json_escape(esc, sizeof(esc), 0, r->detail);
	fprintf(f, "%s  %s: seq=%lu src=%s call=%s action=%s library=%s "
		   "detail=\"%s\"\n", indent, name, r->seq, r->src, r->call,
		r->action, dr_src_library(r->src), esc);
}

static void first_event_diff(const struct norm_proc *a, size_t ia,
			     const struct norm_proc *b, size_t ib,
			     const char *na, const char *nb, FILE *f,
			     const char *indent)
{
	size_t i = 0;

	while (i < a->n && i < b->n && strcmp(a->keys[i], b->keys[i]) == 0)
		i++;
	fprintf(f, "%sfirst divergent event: event %zu of process #%zu "
		   "(pid %ld) in %s and of process #%zu (pid %ld) in %s\n",
		indent, i + 1, ia + 1, a->p->pid, na, ib + 1, b->p->pid, nb);
	print_rec(f, indent, na, i < a->n ? &a->p->recs[i] : NULL);
	print_rec(f, indent, nb, i < b->n ? &b->p->recs[i] : NULL);
	if (i > 0)
		fprintf(f, "%s  (the %zu events before it are the same)\n",
			indent, i);
}

bool dr_log_compare(const struct dr_log *a, const struct dr_log *b,
		    const char *name_a, const char *name_b, FILE *f,
		    const char *indent)
{
	struct norm_proc *na = normalise(a);
	struct norm_proc *nb = normalise(b);
	size_t i, j, order_only = 0;
	bool same = true;

	/* 1. identical sequences; 2. same events in another order. */
	for (i = 0; i < a->nprocs; i++)
		for (j = 0; j < b->nprocs && na[i].match < 0; j++)
			if (nb[j].match < 0 && same_seq(&na[i], &nb[j])) {
				na[i].match = (int)j;
				nb[j].match = (int)i;
			}
	for (i = 0; i < a->nprocs; i++)
		for (j = 0; j < b->nprocs && na[i].match < 0; j++)
			if (nb[j].match < 0 && same_multiset(&na[i], &nb[j])) {
				na[i].match = (int)j;
				nb[j].match = (int)i;
				na[i].order_only = true;
				order_only++;
			}
	/* 3. the first unmatched pair, in order of first appearance. */
	for (i = 0; i < a->nprocs && same; i++) {
		if (na[i].match >= 0)
			continue;
		same = false;
		for (j = 0; j < b->nprocs && nb[j].match >= 0; j++)
			;
		if (j < b->nprocs) {
			first_event_diff(&na[i], i, &nb[j], j, name_a, name_b, f,
					 indent);
		} else {
			fprintf(f, "%s%s has a process (#%zu, pid %ld, %zu "
				   "events) that %s does not have:\n", indent,
				name_a, i + 1, na[i].p->pid, na[i].n, name_b);
			print_rec(f, indent, name_a,
				  na[i].n ? &na[i].p->recs[0] : NULL);
		}
	}
	for (j = 0; j < b->nprocs && same; j++) {
		if (nb[j].match >= 0)
			continue;
		same = false;
		fprintf(f, "%s%s has a process (#%zu, pid %ld, %zu events) "
			   "that %s does not have:\n", indent, name_b, j + 1,
			nb[j].p->pid, nb[j].n, name_a);
		print_rec(f, indent, name_b, nb[j].n ? &nb[j].p->recs[0] : NULL);
	}
	if (same && order_only)
		fprintf(f, "%snote: %zu process(es) logged the same events in "
			   "another order (threads); not a divergence\n",
			indent, order_only);
	free_norm(na, a->nprocs);
	free_norm(nb, b->nprocs);
	return same;
}

/* ------------------------------------------------------------------ */
/* detrun diff */

int dr_cmd_diff(int argc, char **argv)
{
	struct dr_log a, b;
	bool same;
	int e;

	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		dr_err("usage: detrun diff LOG1 LOG2");
		return DR_EXIT_USAGE;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	e = dr_log_read(&a, argv[1]);
	if (e) {
		dr_err("cannot read '%s': %s", argv[1], strerror(-e));
		return DR_EXIT_NODATA;
	}
	e = dr_log_read(&b, argv[2]);
	if (e) {
		dr_err("cannot read '%s': %s", argv[2], strerror(-e));
		return DR_EXIT_NODATA;
	}
	if (a.nrecs == 0 || b.nrecs == 0) {
		dr_err("'%s' holds no detshim records",
		       a.nrecs == 0 ? argv[1] : argv[2]);
		return DR_EXIT_NODATA;
	}
	same = dr_log_compare(&a, &b, argv[1], argv[2], stdout, "");
	if (same)
		printf("logs agree: %zu processes, %zu events\n", a.nprocs,
		       a.nrecs);
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

static void json_str(FILE *f, const char *s)
{
	size_t cap = strlen(s) * 6 + 1;
	char *buf = dr_xmalloc(cap);

	ds_json_escape(buf, cap, 0, s);
	fprintf(f, "\"%s\"", buf);
	free(buf);
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
				tally_add(&rp->configs, "", r->detail, 1);
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
		json_str(f, ts->t[i].src);
		fprintf(f, ",\"%s\":", keyname);
		json_str(f, ts->t[i].key);
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
		json_str(stdout, files[k]);
	}
	printf("],\"records\":%zu,\"malformed\":%zu,\"processes\":%zu,"
	       "\"pids\":[", lg->nrecs, lg->malformed, lg->nprocs);
	for (i = 0; i < lg->nprocs; i++)
		printf("%s%ld", i ? "," : "", lg->procs[i].pid);
	printf("],\"config\":[");
	for (i = 0; i < rp->configs.n; i++) {
		printf("%s{\"detail\":", i ? "," : "");
		json_str(stdout, rp->configs.t[i].key);
		printf(",\"processes\":%lu}", rp->configs.t[i].n);
	}
	printf("],\"summary\":%s,\"sources\":{",
	       rp->have_totals ? "true" : "false");
	source_list(rp, &srcs);
	for (i = 0; i < srcs.n; i++) {
		const char *s = srcs.t[i].src;
		bool first = true;

		printf("%s", i ? "," : "");
		json_str(stdout, s);
		printf(":{\"library\":");
		json_str(stdout, dr_src_library(s));
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
			json_str(stdout, rp->actions.t[j].key);
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

int dr_cmd_report(int argc, char **argv)
{
	struct dr_log lg;
	struct report rp;
	char **files = dr_xmalloc((size_t)argc * sizeof(char *));
	bool json = false;
	int nfiles = 0;
	int i, e;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			printf("Usage: detrun report [--json] LOG...\n"
			       "Summarise detshim logs (several files, e.g. "
			       "the %%p logs of one run, are read as one).\n");
			return DR_EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			dr_err("report: unknown option '%s' (usage: detrun "
			       "report [--json] LOG...)", argv[i]);
			return DR_EXIT_USAGE;
		} else
			files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		dr_err("report: no log file given (usage: detrun report "
		       "[--json] LOG...)");
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
	if (json)
		report_json(&lg, &rp, files, nfiles);
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
