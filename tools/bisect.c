/*
 * bisect.c - aligning the hashed GPU calls of N runs (bisect.h): the
 * first call whose output differed while its inputs were the same is
 * the culprit kernel; a call whose inputs already differed says the
 * divergence came from before it (the CPU events before it are shown).
 *
 * Per process of run 1 with hashed calls (in order of appearance), its
 * counterpart in every other run is the process with the same init id
 * (shim/init.c), else the one at the same place among the processes with
 * hashed calls.  Its calls are walked in run 1's order; each is found in
 * the other runs by (stream, ord).
 */
#include "bisect.h"
#include "detrun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One hashed call. */
struct call {
	const struct dr_rec *r;
	size_t at;              /* index in its process's records */
	long stream, ord;
	const char *in, *out;
};

/* The hashed calls of one process, sorted by (stream, ord). */
struct hproc {
	const struct dr_proc *p;
	size_t index;           /* in its log */
	struct call *c;         /* in file order */
	struct call **sorted;
	size_t n;
};

struct hlog {
	struct dr_log lg;
	struct hproc *hp;
	size_t n;
};

static long num_field(const struct dr_rec *r, const char *k)
{
	const char *v = dr_rec_field(r, k);

	return v ? strtol(v, NULL, 10) : -1;
}

static int cmp_call(const void *x, const void *y)
{
	const struct call *a = *(struct call *const *)x;
	const struct call *b = *(struct call *const *)y;

	if (a->stream != b->stream)
		return a->stream < b->stream ? -1 : 1;
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static void collect(struct hlog *h)
{
	size_t i, j;

	h->hp = dr_xmalloc((h->lg.nprocs + 1) * sizeof(*h->hp));
	for (i = 0; i < h->lg.nprocs; i++) {
		const struct dr_proc *p = &h->lg.procs[i];
		struct hproc *hp = &h->hp[h->n];

		for (j = 0; j < p->n; j++)
			if (strcmp(p->recs[j].action, "hashed") == 0)
				break;
		if (j == p->n)
			continue;
		hp->p = p;
		hp->index = i;
		hp->c = dr_xmalloc(p->n * sizeof(*hp->c));
		for (; j < p->n; j++) {
			const struct dr_rec *r = &p->recs[j];
			struct call *c = &hp->c[hp->n];

			if (strcmp(r->action, "hashed") != 0)
				continue;
			c->r = r;
			c->at = j;
			c->stream = num_field(r, "stream");
			c->ord = num_field(r, "ord");
			c->in = dr_rec_field(r, "in");
			c->out = dr_rec_field(r, "out");
			if (c->in == NULL)
				c->in = "";
			if (c->out == NULL)
				c->out = "";
			hp->n++;
		}
		hp->sorted = dr_xmalloc(hp->n * sizeof(*hp->sorted));
		for (j = 0; j < hp->n; j++)
			hp->sorted[j] = &hp->c[j];
		qsort(hp->sorted, hp->n, sizeof(*hp->sorted), cmp_call);
		h->n++;
	}
}

static const struct hproc *counterpart(const struct hlog *h,
				       const struct hproc *p1, size_t k)
{
	size_t i;

	if (p1->p->id) {
		for (i = 0; i < h->n; i++)
			if (h->hp[i].p->id && strcmp(h->hp[i].p->id, p1->p->id) == 0)
				return &h->hp[i];
	}
	return k < h->n ? &h->hp[k] : NULL;
}

static const struct call *find_call(const struct hproc *hp,
				    const struct call *want)
{
	struct call *const *f;
	const struct call *key = want;

	if (hp == NULL || hp->n == 0)
		return NULL;
	f = bsearch(&key, hp->sorted, hp->n, sizeof(*hp->sorted), cmp_call);
	return f ? *f : NULL;
}

/* A finding: the call (run 1's record) and its counterparts. */
struct finding {
	const struct hproc *hp;     /* run 1's process */
	const struct call *c1;
	const struct call **in_run; /* [nlogs], NULL where missing */
};

static void text_call(FILE *f, const struct finding *fd, int nlogs,
		      const char *label)
{
	const struct dr_proc *p = fd->hp->p;
	const struct call *c = fd->c1;
	const char *what = dr_rec_field(c->r, "what");
	const char *why = dr_rec_field(c->r, "why");
	bool same_in = true;
	int k;

	for (k = 1; k < nlogs; k++)
		if (fd->in_run[k] == NULL || strcmp(fd->in_run[k]->in, c->in))
			same_in = false;
	fprintf(f, "  %s:\n", label);
	fprintf(f, "    process #%zu (pid %ld%s%s), stream %ld, call %ld "
		   "(line %u of run 1's log)\n", fd->hp->index + 1, p->pid,
		p->prog ? ", " : "", p->prog ? p->prog : "", c->stream, c->ord,
		c->r->line);
	fprintf(f, "    %s %s (%s)\n", c->r->src, c->r->call,
		dr_src_library(c->r->src));
	if (what)
		fprintf(f, "    what: %s\n", what);
	if (why)
		fprintf(f, "    why:  %s\n", why);
	{
		const char *unread = dr_rec_field(c->r, "unreadable");

		/* Buffers the shim could not read are not in the hashes: say
		 * so beside them. */
		if (unread && strcmp(unread, "0") != 0)
			fprintf(f, "    (%s buffer%s could not be read and are "
				   "not in the hashes)\n", unread,
				strcmp(unread, "1") == 0 ? "" : "s");
	}
	if (same_in) {
		fprintf(f, "    inputs:  %s in every run\n", c->in);
	} else {
		fprintf(f, "    inputs: ");
		for (k = 0; k < nlogs; k++)
			fprintf(f, " run %d %s", k + 1,
				fd->in_run[k] ? fd->in_run[k]->in : "(missing)");
		fputc('\n', f);
	}
	fprintf(f, "    outputs:");
	for (k = 0; k < nlogs; k++)
		fprintf(f, " run %d %s", k + 1,
			fd->in_run[k] ? fd->in_run[k]->out : "(missing)");
	fputc('\n', f);
}

/* Up to 5 CPU (not hashed) events before the call, in run 1. */
static size_t cpu_before(const struct finding *fd, size_t idx[5])
{
	const struct dr_proc *p = fd->hp->p;
	size_t n = 0, j = fd->c1->at;

	while (j-- > 0 && n < 5)
		if (strcmp(p->recs[j].action, "hashed") != 0)
			idx[n++] = j;
	return n;
}

static void json_call(FILE *f, const struct finding *fd, int nlogs)
{
	const struct dr_proc *p = fd->hp->p;
	const struct call *c = fd->c1;
	const char *what = dr_rec_field(c->r, "what");
	const char *why = dr_rec_field(c->r, "why");
	int k;

	fprintf(f, "{\"process\":{\"index\":%zu,\"pid\":%ld,\"prog\":",
		fd->hp->index + 1, p->pid);
	if (p->prog)
		dr_json_str(f, p->prog);
	else
		fprintf(f, "null");
	fprintf(f, "},\"src\":");
	dr_json_str(f, c->r->src);
	fprintf(f, ",\"call\":");
	dr_json_str(f, c->r->call);
	fprintf(f, ",\"stream\":%ld,\"ord\":%ld,\"line\":%u,\"what\":",
		c->stream, c->ord, c->r->line);
	dr_json_str(f, what ? what : "");
	fprintf(f, ",\"why\":");
	dr_json_str(f, why ? why : "");
	fprintf(f, ",\"in\":[");
	for (k = 0; k < nlogs; k++) {
		fprintf(f, "%s", k ? "," : "");
		if (fd->in_run[k])
			dr_json_str(f, fd->in_run[k]->in);
		else
			fprintf(f, "null");
	}
	fprintf(f, "],\"out\":[");
	for (k = 0; k < nlogs; k++) {
		fprintf(f, "%s", k ? "," : "");
		if (fd->in_run[k])
			dr_json_str(f, fd->in_run[k]->out);
		else
			fprintf(f, "null");
	}
	fprintf(f, "]}");
}

static void json_cpu(FILE *f, const struct finding *fd)
{
	size_t idx[5], n = cpu_before(fd, idx), k;

	fprintf(f, "[");
	for (k = n; k-- > 0;) {
		const struct dr_rec *r = &fd->hp->p->recs[idx[k]];

		fprintf(f, "%s{\"seq\":%lu,\"src\":", k == n - 1 ? "" : ",",
			r->seq);
		dr_json_str(f, r->src);
		fprintf(f, ",\"call\":");
		dr_json_str(f, r->call);
		fprintf(f, ",\"action\":");
		dr_json_str(f, r->action);
		fprintf(f, ",\"detail\":");
		dr_json_str(f, r->detail);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

int dr_bisect(const char *const *logs, int nlogs, FILE *out, bool json)
{
	struct hlog *h = dr_xmalloc((size_t)nlogs * sizeof(*h));
	struct finding culprit = { 0 }, inputs = { 0 };
	const struct call **cur = dr_xmalloc((size_t)nlogs * sizeof(*cur));
	const struct call **keep_c = dr_xmalloc((size_t)nlogs * sizeof(*cur));
	const struct call **keep_i = dr_xmalloc((size_t)nlogs * sizeof(*cur));
	const char *misaligned = NULL;
	size_t aligned = 0, i, j;
	int k, rc = 0;

	for (k = 0; k < nlogs; k++) {
		int e = dr_log_read(&h[k].lg, logs[k]);

		if (e && e != -ENOENT) {
			dr_err("bisect: cannot read '%s': %s", logs[k],
			       strerror(-e));
			rc = -1;
			goto out;
		}
		collect(&h[k]);
	}
	for (i = 0; i < h[0].n && !culprit.c1 && !misaligned; i++) {
		const struct hproc *p1 = &h[0].hp[i];
		const struct hproc **pk = dr_xmalloc((size_t)nlogs *
						     sizeof(*pk));

		for (k = 0; k < nlogs; k++)
			pk[k] = k ? counterpart(&h[k], p1, i) : p1;
		for (j = 0; j < p1->n && !culprit.c1; j++) {
			const struct call *c1 = &p1->c[j];
			bool same_in = true, same_out = true;

			for (k = 0; k < nlogs; k++) {
				cur[k] = k ? find_call(pk[k], c1) : c1;
				if (cur[k] == NULL)
					break;
				same_in &= strcmp(cur[k]->in, c1->in) == 0;
				same_out &= strcmp(cur[k]->out, c1->out) == 0;
			}
			if (k < nlogs) {
				misaligned = logs[k];
				inputs.hp = p1;
				inputs.c1 = c1;
				memcpy(keep_i, cur, (size_t)nlogs * sizeof(*cur));
				for (; k < nlogs; k++)
					keep_i[k] = k ? find_call(pk[k], c1) : c1;
				break;
			}
			aligned++;
			if (!same_in && !inputs.c1) {
				inputs.hp = p1;
				inputs.c1 = c1;
				memcpy(keep_i, cur, (size_t)nlogs * sizeof(*cur));
			}
			if (same_in && !same_out) {
				culprit.hp = p1;
				culprit.c1 = c1;
				memcpy(keep_c, cur, (size_t)nlogs * sizeof(*cur));
			}
		}
		free(pk);
	}
	culprit.in_run = keep_c;
	inputs.in_run = keep_i;
	rc = culprit.c1 ? DR_BISECT_CULPRIT
	     : inputs.c1 || misaligned ? DR_BISECT_INPUTS
	     : h[0].n == 0 ? DR_BISECT_NONE : DR_BISECT_SAME;
	if (json) {
		fprintf(out, "{\"runs\":%d,\"processes\":%zu,\"aligned\":%zu,"
			     "\"result\":\"%s\",\"culprit\":", nlogs, h[0].n,
			aligned,
			rc == DR_BISECT_CULPRIT ? "culprit"
			: rc == DR_BISECT_INPUTS ? "inputs differed"
			: rc == DR_BISECT_NONE ? "no hashed calls" : "same");
		if (culprit.c1)
			json_call(out, &culprit, nlogs);
		else
			fprintf(out, "null");
		fprintf(out, ",\"first_input_difference\":");
		if (inputs.c1) {
			json_call(out, &inputs, nlogs);
			fprintf(out, ",\"cpu_events_before\":");
			json_cpu(out, &inputs);
		} else {
			fprintf(out, "null");
		}
		fprintf(out, ",\"misaligned\":%s}\n", misaligned ? "true"
								  : "false");
		goto out;
	}
	fprintf(out, "%s: bisect: %d runs, %zu process%s with hashed calls, "
		     "%zu calls compared\n", dr_prog, nlogs, h[0].n,
		h[0].n == 1 ? "" : "es", aligned);
	if (rc == DR_BISECT_NONE)
		fprintf(out, "  no hashed call in run 1's log: the command "
			     "made no GPU library call that detshim hashes, "
			     "or the shim was built without them\n");
	if (rc == DR_BISECT_SAME)
		fprintf(out, "  every hashed call had the same inputs and "
			     "output in every run\n");
	if (culprit.c1)
		text_call(out, &culprit, nlogs, "first call whose output "
			  "differed while its inputs were the same");
	if (inputs.c1) {
		size_t idx[5], n = cpu_before(&inputs, idx);
		bool earlier = !culprit.c1 ||
			       (inputs.hp == culprit.hp &&
				inputs.c1->at < culprit.c1->at);

		text_call(out, &inputs, nlogs, misaligned ?
			  "the calls stop aligning at (missing in a run)" :
			  earlier ? "first call whose inputs already differed "
			  "(the divergence came from before it)" :
			  "first call whose inputs differed (after the "
			  "culprit)");
		if (n)
			fprintf(out, "    the CPU events before it in run 1:\n");
		for (; n-- > 0;) {
			const struct dr_rec *r = &inputs.hp->p->recs[idx[n]];

			fprintf(out, "      seq=%lu src=%s call=%s action=%s "
				     "detail=\"%s\"\n", r->seq, r->src, r->call,
				r->action, r->detail);
		}
	} else if (culprit.c1) {
		fprintf(out, "  no call's inputs differed before it\n");
	}
out:
	for (k = 0; k < nlogs; k++) {
		for (i = 0; i < h[k].n; i++) {
			free(h[k].hp[i].c);
			free(h[k].hp[i].sorted);
		}
		free(h[k].hp);
		dr_log_free(&h[k].lg);
	}
	free(h);
	free(cur);
	free(keep_c);
	free(keep_i);
	return rc;
}
