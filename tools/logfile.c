/*
 * logfile.c - reading detshim logs and the first-divergence finder used
 * by --verify and `detrun diff` (report.c).
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
	static const char *const lib[DS_SRC_COUNT] = {
		[DS_SRC_LIBC_RAND] = "libc",
		[DS_SRC_DRAND48] = "libc",
		[DS_SRC_GETRANDOM] = "libc",
		[DS_SRC_GETENTROPY] = "libc",
		[DS_SRC_ARC4RANDOM] = "libc",
		[DS_SRC_URANDOM] = "libc",
		[DS_SRC_RANDOM] = "libc",
		[DS_SRC_RANDOM_DEVICE] = "libstdc++",
		[DS_SRC_CURAND] = "libcurand",
		[DS_SRC_ENV] = "environment",
		[DS_SRC_CUDNN] = "libcudnn",
		[DS_SRC_CUBLAS] = "libcublas",
		[DS_SRC_DRIVER] = "libcuda",
		[DS_SRC_FRAMEWORK] = "framework",
		[DS_SRC_PROCESS] = "detshim",
		[DS_SRC_NCCL] = "libnccl",
		[DS_SRC_TORCH] = "torch",
	};
	int s = ds_source_from_name(src);

	return s < 0 || lib[s] == NULL ? "?" : lib[s];
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
