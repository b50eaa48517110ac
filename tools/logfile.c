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
 * Comparison ignores the pid and seq of each line (seq only restates the
 * position), and by default what the program neither produced nor saw
 * (norm_key).  Processes of two runs are matched by their place
 * in the process tree (the init record's id=) first, then by identical
 * event sequence, so processes that start in a different order (forked
 * workers) still match; two processes with the same events in another
 * order (threads) are reported as "order only", which is not a
 * divergence of results.  Keys a reader does not know are kept as
 * fields (any JSON value), so a newer shim's lines still parse.
 */
#include "detrun.h"
#include "detshim.h"
#include "hash.h"

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

/* Skip one JSON value of any kind at *p (a key detrun does not know: a
 * newer shim's); true if it was well formed. */
static bool skip_value(const char **p)
{
	const char *s = *p;
	int depth = 0;

	for (;;) {
		skip_ws(&s);
		if (*s == '"') {
			char *v = parse_str(&s);

			if (v == NULL)
				return false;
			free(v);
		} else if (*s == '{' || *s == '[') {
			depth++;
			s++;
			continue;
		} else if (depth > 0 && (*s == '}' || *s == ']')) {
			depth--;
			s++;
		} else {
			size_t k = strspn(s, "0123456789+-.eEtrufalsn");

			if (k == 0)
				return false;
			s += k;
		}
		skip_ws(&s);
		while (depth > 0 && (*s == '}' || *s == ']')) {
			depth--;
			s++;
			skip_ws(&s);
		}
		if (depth == 0)
			break;
		if (*s != ',' && *s != ':')
			return false;
		s++;
	}
	*p = s;
	return true;
}

static void add_field(struct dr_rec *r, char *key, char *val)
{
	r->fkeys = realloc(r->fkeys, (r->nf + 1) * sizeof(char *));
	r->fvals = realloc(r->fvals, (r->nf + 1) * sizeof(char *));
	if (r->fkeys == NULL || r->fvals == NULL) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	r->fkeys[r->nf] = key;
	r->fvals[r->nf] = val;
	r->nf++;
}

static void free_rec(struct dr_rec *r)
{
	size_t i;

	free(r->src);
	free(r->call);
	free(r->action);
	free(r->detail);
	for (i = 0; i < r->nf; i++) {
		free(r->fkeys[i]);
		free(r->fvals[i]);
	}
	free(r->fkeys);
	free(r->fvals);
	memset(r, 0, sizeof(*r));
}

const char *dr_rec_field(const struct dr_rec *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nf; i++)
		if (strcmp(r->fkeys[i], key) == 0)
			return r->fvals[i];
	return NULL;
}

/* Parse one log line into r. Returns true on a detshim record.  Keys
 * other than the line's own (v, seq, pid, src, call, action, detail) are
 * kept as fields: strings decoded, other values as written. */
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
				free(key);
			} else {
				add_field(r, key, v);
			}
		} else if (strcmp(key, "seq") == 0 || strcmp(key, "pid") == 0 ||
			   strcmp(key, "v") == 0) {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p) {
				free(key);
				goto out_bad;
			}
			p = end;
			if (key[0] == 's')
				r->seq = (unsigned long)v;
			else if (key[0] == 'v')
				r->v = (int)v;
			else {
				r->pid = (long)v;
				have_pid = true;
			}
			free(key);
		} else {
			const char *from = p;
			char *raw;

			if (!skip_value(&p)) {
				free(key);
				goto out_bad;
			}
			raw = dr_xmalloc((size_t)(p - from) + 1);
			memcpy(raw, from, (size_t)(p - from));
			add_field(r, key, raw);
		}
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
	free_rec(r);
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

/* The init record's "id=HEX" (the process's place in the run's process
 * tree, the same in every run: shim/init.c) and "prog=NAME" (last, to
 * the end: a name may hold spaces). */
static void config_ids(struct dr_proc *pr, const char *detail)
{
	const char *id = strstr(detail, " id=");
	const char *prog = strstr(detail, " prog=");

	if (id) {
		size_t k = strspn(id + 4, "0123456789abcdef");

		pr->id = dr_xmalloc(k + 1);
		memcpy(pr->id, id + 4, k);
	}
	if (prog)
		pr->prog = dr_xstrdup(prog + 6);
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
		if (pr->id == NULL && strcmp(r.src, "process") == 0 &&
		    strcmp(r.call, "init") == 0 &&
		    strcmp(r.action, "config") == 0)
			config_ids(pr, r.detail);
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
		for (j = 0; j < lg->procs[i].n; j++)
			free_rec(&lg->procs[i].recs[j]);
		free(lg->procs[i].recs);
		free(lg->procs[i].id);
		free(lg->procs[i].prog);
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

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Fields that are detshim's bookkeeping or the scheduler's, not what the
 * program produced or saw: left out of an "events" comparison. */
static bool field_ignored(const char *k)
{
	static const char *const exact[] = { "seed_program", "fd", "time",
					     "elapsed" };
	static const char *const suffix[] = { "_fd", "_ms", "_us", "_ns",
					      "_time" };
	size_t i, n = strlen(k);

	for (i = 0; i < DS_ARRAY_SIZE(exact); i++)
		if (strcmp(k, exact[i]) == 0)
			return true;
	for (i = 0; i < DS_ARRAY_SIZE(suffix); i++) {
		size_t m = strlen(suffix[i]);

		if (n > m && strcmp(k + n - m, suffix[i]) == 0)
			return true;
	}
	return false;
}

/*
 * "src\x1fcall\x1faction\x1ffields\x1fdetail", the form two runs'
 * events are compared in (the pid and seq of the line never are).
 * DR_CMP_EVENTS leaves out what the program did not produce or see: the
 * fields of field_ignored, and in details the program's own seed of
 * "seed=X -> Y" (Y, what the generator got, is compared), fd numbers
 * ("fd=N", "fd N": they follow thread timing) and addresses ("=0x" and 8
 * or more hex digits).  No detail of the shim's holds a pid, so numbers
 * are compared as written: "len=4096" stays itself although a process
 * of the run may have pid 4096.  DR_CMP_STRICT compares details as
 * written but for numbers equal to a pid of the same log, read "<pid>"
 * (a seed the program took from its pid).
 */
static char *norm_key(const struct dr_log *lg, const struct dr_rec *r,
		      enum dr_cmp mode)
{
	size_t cap = strlen(r->src) + strlen(r->call) + strlen(r->action) +
		     strlen(r->detail) * 2 + 32;
	bool ev = mode == DR_CMP_EVENTS;
	const char *d = r->detail;
	char *out;
	size_t n, i;

	for (i = 0; i < r->nf; i++)
		cap += strlen(r->fkeys[i]) + strlen(r->fvals[i]) + 2;
	out = dr_xmalloc(cap);
	n = (size_t)snprintf(out, cap, "%s\x1f%s\x1f%s\x1f", r->src, r->call,
			     r->action);
	for (i = 0; i < r->nf; i++)
		if (!ev || !field_ignored(r->fkeys[i]))
			n += (size_t)snprintf(out + n, cap - n, "%s=%s\x1e",
					      r->fkeys[i], r->fvals[i]);
	out[n++] = '\x1f';
	while (*d) {
		bool start = d == r->detail || !is_alnum(d[-1]);

		if (ev && start && strncmp(d, "seed=", 5) == 0) {
			size_t k = strspn(d + 5, "0123456789");

			if (k && strncmp(d + 5 + k, " -> ", 4) == 0) {
				memcpy(out + n, "seed=<program> -> ", 18);
				n += 18;
				d += 5 + k + 4;
				continue;
			}
		}
		if (ev && start && (strncmp(d, "fd=", 3) == 0 ||
				    strncmp(d, "fd ", 3) == 0) &&
		    d[3] >= '0' && d[3] <= '9') {
			memcpy(out + n, d, 3);
			memcpy(out + n + 3, "<fd>", 4);
			n += 7;
			d += 3 + strspn(d + 3, "0123456789");
			continue;
		}
		if (ev && d[0] == '=' && d[1] == '0' && d[2] == 'x') {
			size_t k = 0;

			while (is_hex(d[3 + k]))
				k++;
			if (k >= 8) {
				memcpy(out + n, "=<addr>", 7);
				n += 7;
				d += 3 + k;
				continue;
			}
		}
		if (!ev && *d >= '0' && *d <= '9' && start) {
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
	bool differs;   /* matched by id, but the events differ */
};

static struct norm_proc *normalise(const struct dr_log *lg, enum dr_cmp mode)
{
	struct norm_proc *np = dr_xmalloc((lg->nprocs + 1) * sizeof(*np));
	size_t i, j;

	for (i = 0; i < lg->nprocs; i++) {
		np[i].p = &lg->procs[i];
		np[i].n = lg->procs[i].n;
		np[i].keys = dr_xmalloc((np[i].n + 1) * sizeof(char *));
		np[i].match = -1;
		for (j = 0; j < np[i].n; j++)
			np[i].keys[j] = norm_key(lg, &lg->procs[i].recs[j], mode);
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

static char **sorted_keys(const struct norm_proc *a)
{
	char **s = dr_xmalloc((a->n + 1) * sizeof(char *));

	if (a->n) {
		memcpy(s, a->keys, a->n * sizeof(char *));
		qsort(s, a->n, sizeof(char *), cmp_str);
	}
	return s;
}

static bool same_multiset(const struct norm_proc *a,
			  const struct norm_proc *b)
{
	char **sa, **sb;
	bool same = true;
	size_t i;

	if (a->n != b->n)
		return false;
	sa = sorted_keys(a);
	sb = sorted_keys(b);
	for (i = 0; i < a->n && same; i++)
		same = strcmp(sa[i], sb[i]) == 0;
	free(sa);
	free(sb);
	return same;
}

static void pair(struct norm_proc *na, size_t i, struct norm_proc *nb,
		 size_t j)
{
	na[i].match = (int)j;
	nb[j].match = (int)i;
}

bool dr_log_compare(const struct dr_log *a, const struct dr_log *b,
		    enum dr_cmp mode, struct dr_div *d)
{
	struct norm_proc *na, *nb;
	size_t i, j;

	memset(d, 0, sizeof(*d));
	if (mode == DR_CMP_OFF)
		return true;
	na = normalise(a, mode);
	nb = normalise(b, mode);
	/* 0. the same place in the process tree (the init record's id); a
	 * pair whose events differ is the divergence. */
	for (i = 0; i < a->nprocs; i++) {
		if (a->procs[i].id == NULL)
			continue;
		for (j = 0; j < b->nprocs && na[i].match < 0; j++) {
			if (nb[j].match >= 0 || b->procs[j].id == NULL ||
			    strcmp(a->procs[i].id, b->procs[j].id) != 0)
				continue;
			pair(na, i, nb, j);
			if (same_seq(&na[i], &nb[j]))
				continue;
			if (same_multiset(&na[i], &nb[j])) {
				na[i].order_only = true;
				d->order_only++;
			} else {
				na[i].differs = true;
			}
		}
	}
	/* 1. identical sequences; 2. same events in another order. */
	for (i = 0; i < a->nprocs; i++)
		for (j = 0; j < b->nprocs && na[i].match < 0; j++)
			if (nb[j].match < 0 && same_seq(&na[i], &nb[j]))
				pair(na, i, nb, j);
	for (i = 0; i < a->nprocs; i++)
		for (j = 0; j < b->nprocs && na[i].match < 0; j++)
			if (nb[j].match < 0 && same_multiset(&na[i], &nb[j])) {
				pair(na, i, nb, j);
				na[i].order_only = true;
				d->order_only++;
			}
	/* 3. the first process of a, in order of first appearance, that
	 * has no match or differs from its own; else one of b's. */
	for (i = 0; i < a->nprocs && d->kind == DR_DIV_NONE; i++) {
		if (na[i].match >= 0 && !na[i].differs)
			continue;
		j = (size_t)na[i].match;
		if (na[i].match < 0)
			for (j = 0; j < b->nprocs && nb[j].match >= 0; j++)
				;
		d->pa = i;
		if (j < b->nprocs) {
			size_t k = 0;

			while (k < na[i].n && k < nb[j].n &&
			       strcmp(na[i].keys[k], nb[j].keys[k]) == 0)
				k++;
			d->kind = DR_DIV_EVENT;
			d->pb = j;
			d->ev = k;
		} else {
			d->kind = DR_DIV_ONLY_A;
		}
	}
	for (j = 0; j < b->nprocs && d->kind == DR_DIV_NONE; j++)
		if (nb[j].match < 0) {
			d->kind = DR_DIV_ONLY_B;
			d->pb = j;
		}
	free_norm(na, a->nprocs);
	free_norm(nb, b->nprocs);
	return d->kind == DR_DIV_NONE;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

uint64_t dr_log_digest(const struct dr_log *lg, enum dr_cmp mode)
{
	struct norm_proc *np;
	uint64_t *ph, h = 0;
	size_t i, k;

	if (mode == DR_CMP_OFF || lg->missing)
		return 0;
	np = normalise(lg, mode);
	ph = dr_xmalloc((lg->nprocs + 1) * sizeof(*ph));
	/* Per process the multiset of its events, then the set of
	 * processes: the same digest exactly when dr_log_compare finds no
	 * divergence (up to hash collisions). */
	for (i = 0; i < lg->nprocs; i++) {
		char **s = sorted_keys(&np[i]);

		ph[i] = 0;
		for (k = 0; k < np[i].n; k++)
			ph[i] = ds_hash_bytes(ph[i], s[k], strlen(s[k]) + 1);
		free(s);
	}
	if (lg->nprocs)
		qsort(ph, lg->nprocs, sizeof(*ph), cmp_u64);
	for (i = 0; i < lg->nprocs; i++)
		h = ds_hash_bytes(h, &ph[i], sizeof(ph[i]));
	free(ph);
	free_norm(np, lg->nprocs);
	return h;
}

/* ------------------------------------------------------------------ */
/* Showing a divergence. */

static void print_rec(FILE *f, const char *indent, const char *name,
		      const struct dr_rec *r)
{
	char esc[1024];
	size_t i;

	if (r == NULL) {
		fprintf(f, "%s  %s: (no further event: the process ends)\n",
			indent, name);
		return;
	}
	ds_json_escape(esc, sizeof(esc), 0, r->detail);
	fprintf(f, "%s  %s: seq=%lu src=%s call=%s action=%s library=%s",
		indent, name, r->seq, r->src, r->call, r->action,
		dr_src_library(r->src));
	for (i = 0; i < r->nf; i++)
		fprintf(f, " %s=%s", r->fkeys[i], r->fvals[i]);
	fprintf(f, " detail=\"%s\"\n", esc);
}

static void proc_text(char *buf, size_t cap, const struct dr_log *lg,
		      size_t i)
{
	const struct dr_proc *p = &lg->procs[i];

	snprintf(buf, cap, "process #%zu (pid %ld%s%s)", i + 1, p->pid,
		 p->prog ? ", " : "", p->prog ? p->prog : "");
}

void dr_div_print(const struct dr_log *a, const struct dr_log *b,
		  const struct dr_div *d, const char *na, const char *nb,
		  FILE *f, const char *indent)
{
	char pa[320], pb[320];
	const struct dr_proc *p, *q;

	switch (d->kind) {
	case DR_DIV_NONE:
		if (d->order_only)
			fprintf(f, "%snote: %zu process(es) logged the same "
				   "events in another order (threads); not a "
				   "divergence\n", indent, d->order_only);
		return;
	case DR_DIV_EVENT:
		p = &a->procs[d->pa];
		q = &b->procs[d->pb];
		proc_text(pa, sizeof(pa), a, d->pa);
		proc_text(pb, sizeof(pb), b, d->pb);
		fprintf(f, "%sfirst divergent event: event %zu of %s in %s and "
			   "of %s in %s\n", indent, d->ev + 1, pa, na, pb, nb);
		print_rec(f, indent, na, d->ev < p->n ? &p->recs[d->ev] : NULL);
		print_rec(f, indent, nb, d->ev < q->n ? &q->recs[d->ev] : NULL);
		if (d->ev > 0)
			fprintf(f, "%s  (the %zu events before it are the "
				   "same)\n", indent, d->ev);
		return;
	case DR_DIV_ONLY_A:
	case DR_DIV_ONLY_B: {
		bool in_a = d->kind == DR_DIV_ONLY_A;
		const struct dr_log *lg = in_a ? a : b;
		size_t i = in_a ? d->pa : d->pb;

		p = &lg->procs[i];
		proc_text(pa, sizeof(pa), lg, i);
		fprintf(f, "%s%s has a %s, %zu events, that %s does not have:\n",
			indent, in_a ? na : nb, pa, p->n, in_a ? nb : na);
		print_rec(f, indent, in_a ? na : nb, p->n ? &p->recs[0] : NULL);
		return;
	}
	}
}

void dr_json_str(FILE *f, const char *s)
{
	size_t cap = strlen(s) * 6 + 1;
	char *buf = dr_xmalloc(cap);

	ds_json_escape(buf, cap, 0, s);
	fprintf(f, "\"%s\"", buf);
	free(buf);
}

static void json_rec(FILE *f, const struct dr_rec *r)
{
	size_t i;

	if (r == NULL) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"seq\":%lu,\"src\":", r->seq);
	dr_json_str(f, r->src);
	fprintf(f, ",\"call\":");
	dr_json_str(f, r->call);
	fprintf(f, ",\"action\":");
	dr_json_str(f, r->action);
	fprintf(f, ",\"library\":");
	dr_json_str(f, dr_src_library(r->src));
	fprintf(f, ",\"fields\":{");
	for (i = 0; i < r->nf; i++) {
		fprintf(f, "%s", i ? "," : "");
		dr_json_str(f, r->fkeys[i]);
		fprintf(f, ":");
		dr_json_str(f, r->fvals[i]);
	}
	fprintf(f, "},\"detail\":");
	dr_json_str(f, r->detail);
	fprintf(f, "}");
}

static void json_proc(FILE *f, const struct dr_log *lg, size_t i)
{
	const struct dr_proc *p = &lg->procs[i];

	fprintf(f, "{\"index\":%zu,\"pid\":%ld,\"prog\":", i + 1, p->pid);
	if (p->prog)
		dr_json_str(f, p->prog);
	else
		fprintf(f, "null");
	fprintf(f, ",\"events\":%zu}", p->n);
}

void dr_div_json(const struct dr_log *a, const struct dr_log *b,
		 const struct dr_div *d, FILE *f)
{
	static const char *const kind[] = {
		[DR_DIV_NONE] = "none", [DR_DIV_EVENT] = "event",
		[DR_DIV_ONLY_A] = "process only in the first",
		[DR_DIV_ONLY_B] = "process only in the second",
	};

	fprintf(f, "{\"kind\":\"%s\",\"order_only\":%zu", kind[d->kind],
		d->order_only);
	if (d->kind == DR_DIV_EVENT) {
		const struct dr_proc *p = &a->procs[d->pa];
		const struct dr_proc *q = &b->procs[d->pb];

		fprintf(f, ",\"event\":%zu,\"same_before\":%zu,\"process\":[",
			d->ev + 1, d->ev);
		json_proc(f, a, d->pa);
		fprintf(f, ",");
		json_proc(f, b, d->pb);
		fprintf(f, "],\"records\":[");
		json_rec(f, d->ev < p->n ? &p->recs[d->ev] : NULL);
		fprintf(f, ",");
		json_rec(f, d->ev < q->n ? &q->recs[d->ev] : NULL);
		fprintf(f, "]");
	} else if (d->kind != DR_DIV_NONE) {
		const struct dr_log *lg = d->kind == DR_DIV_ONLY_A ? a : b;
		size_t i = d->kind == DR_DIV_ONLY_A ? d->pa : d->pb;

		fprintf(f, ",\"process\":");
		json_proc(f, lg, i);
		fprintf(f, ",\"records\":[");
		json_rec(f, lg->procs[i].n ? &lg->procs[i].recs[0] : NULL);
		fprintf(f, "]");
	}
	fprintf(f, "}");
}
