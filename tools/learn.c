/*
 * learn.c - dr_learn (learn.h): compare the program's own seeds per site
 * across runs and record the sites whose seeds differed.
 *
 * A seed event (shim/provenance.c) carries "seed_program", "site"
 * ("<object>+0x<offset>#<ordinal>") and, in its detail, "program=<exe>
 * build_id=<hex>".  A site key is (program, call, site with ordinal);
 * each run's value is the list of its seed_program values at that key
 * (several processes may pass one site).  A key whose values are not the
 * same in every run is a learned site; the file lists it without the
 * ordinal, so that the shim replaces every call from that place.
 */
#include "learn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "detrun.h"

struct entry {
	char *key;      /* program \t build_id \t call \t site#ordinal */
	char **vals;    /* per run: the seed_program values, ", "-joined */
};

struct table {
	struct entry *e;
	size_t n, cap;
	int runs;
};

/* The JSON string value of "name" in line, unescaped enough for the
 * shim's own fields (no escapes in sites or decimal seeds); malloc'd. */
static char *field(const char *line, const char *name)
{
	char pat[64];
	const char *p, *q;
	char *out;

	snprintf(pat, sizeof(pat), "\"%s\":\"", name);
	p = strstr(line, pat);
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	for (q = p; *q && !(*q == '"' && q[-1] != '\\'); q++)
		;
	out = dr_xmalloc((size_t)(q - p) + 1);
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return out;
}

/* "word=value" in a detail string, up to the next space. */
static void detail_word(const char *detail, const char *word, char *out,
			size_t cap)
{
	const char *p = strstr(detail, word);
	size_t n = 0;

	snprintf(out, cap, "-");
	if (p == NULL)
		return;
	p += strlen(word);
	while (p[n] && p[n] != ' ' && n + 1 < cap)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* realloc through common.c's checked allocator (which zero-fills). */
static void *grow(void *p, size_t old, size_t want)
{
	void *q = dr_xmalloc(want);

	if (p)
		memcpy(q, p, old);
	free(p);
	return q;
}

static struct entry *lookup(struct table *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].key, key) == 0)
			return &t->e[i];
	if (t->n == t->cap) {
		size_t old = t->cap;

		t->cap = t->cap ? 2 * t->cap : 64;
		t->e = grow(t->e, old * sizeof(*t->e), t->cap * sizeof(*t->e));
	}
	t->e[t->n].key = dr_xstrdup(key);
	t->e[t->n].vals = dr_xmalloc((size_t)t->runs * sizeof(char *));
	return &t->e[t->n++];
}

static void add_value(char **slot, const char *v)
{
	size_t old = *slot ? strlen(*slot) : 0;
	char *s = grow(*slot, old, old + strlen(v) + 3);

	if (old) {
		memcpy(s + old, ", ", 2);
		old += 2;
	}
	strcpy(s + old, v);
	*slot = s;
}

static int read_log(struct table *t, int run, const char *path, FILE *report)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL) {
		fprintf(report ? report : stderr, "learn: cannot read '%s': %s\n",
			path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		char *prog = field(line, "seed_program");
		char *site = field(line, "site");
		char *call = field(line, "call");
		char *detail = field(line, "detail");
		char *rule = field(line, "rule");
		char exe[256], bid[128], *key;

		/* Only seeds the rules took for explicit: the others are
		 * replaced already. */
		if (prog && site && call && detail && rule &&
		    strcmp(rule, "explicit") == 0) {
			detail_word(detail, "program=", exe, sizeof(exe));
			detail_word(detail, "build_id=", bid, sizeof(bid));
			key = dr_xmalloc(strlen(exe) + strlen(bid) + strlen(call) +
					 strlen(site) + 4);
			sprintf(key, "%s\t%s\t%s\t%s", exe, bid, call, site);
			add_value(&lookup(t, key)->vals[run], prog);
			free(key);
		}
		free(prog);
		free(site);
		free(call);
		free(detail);
		free(rule);
	}
	free(line);
	fclose(f);
	return 0;
}

static bool differs(const struct entry *e, int runs)
{
	int r;

	for (r = 1; r < runs; r++)
		if (e->vals[r] == NULL || e->vals[0] == NULL ||
		    strcmp(e->vals[r], e->vals[0]) != 0)
			return true;
	return false;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key,
		      ((const struct entry *)b)->key);
}

int dr_learn(const char *const *logs, int nlogs, const char *seeds_path,
	     FILE *report)
{
	struct table t = { NULL, 0, 0, nlogs };
	FILE *out = NULL;
	char last_prog[512] = "", last_site[512] = "";
	int r, found = 0;
	size_t i;

	for (r = 0; r < nlogs; r++)
		if (read_log(&t, r, logs[r], report) < 0)
			return -1;
	if (t.n)
		qsort(t.e, t.n, sizeof(*t.e), cmp_key);
	if (seeds_path) {
		out = fopen(seeds_path, "w");
		if (out == NULL) {
			fprintf(report ? report : stderr,
				"learn: cannot write '%s': %s\n", seeds_path,
				strerror(errno));
			found = -1;
			goto done;
		}
		fprintf(out, "# detrun --verify --learn: seeding sites whose seed "
			"differed between runs (docs/SEEDS.md)\ndetshim-seeds 1\n");
	}
	for (i = 0; i < t.n; i++) {
		char exe[256], bid[128], call[128], site[256], prog[512];
		char *hash;

		if (!differs(&t.e[i], nlogs))
			continue;
		if (sscanf(t.e[i].key, "%255[^\t]\t%127[^\t]\t%127[^\t]\t%255s",
			   exe, bid, call, site) != 4)
			continue;
		if (report) {
			fprintf(report, "learn: %s called from %s got a different "
				"seed in each run:", call, site);
			for (r = 0; r < nlogs; r++)
				fprintf(report, "%s %s", r ? ";" : "",
					t.e[i].vals[r] ? t.e[i].vals[r] : "(none)");
			fprintf(report, "\n");
		}
		hash = strchr(site, '#');
		if (hash)
			*hash = '\0';
		snprintf(prog, sizeof(prog), "%s %s", exe, bid);
		if (strcmp(prog, last_prog) == 0 && strcmp(site, last_site) == 0)
			continue; /* another ordinal of one site */
		found++;
		if (out) {
			if (strcmp(prog, last_prog) != 0)
				fprintf(out, "program %s\n", prog);
			fprintf(out, "site %s %s\n", call, site);
		}
		snprintf(last_prog, sizeof(last_prog), "%s", prog);
		snprintf(last_site, sizeof(last_site), "%s", site);
	}
	if (out && fclose(out) != 0) {
		fprintf(report ? report : stderr, "learn: cannot write '%s'\n",
			seeds_path);
		found = -1;
	}
done:
	for (i = 0; i < t.n; i++) {
		for (r = 0; r < nlogs; r++)
			free(t.e[i].vals[r]);
		free(t.e[i].vals);
		free(t.e[i].key);
	}
	free(t.e);
	return found;
}
