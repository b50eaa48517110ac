/*
 * seeds_file.c - the seeds file (DETSHIM_SEEDS_FILE): the seeding sites
 * `detrun --verify --learn FILE` found taking a different seed in each
 * run, which the shim then replaces like a volatile seed, in every seed
 * mode but respect.  Format (docs/SEEDS.md, "The seeds file"):
 *
 *   detshim-seeds 1
 *   program <exe basename> <GNU build id in hex, or ->
 *   site <call> <object>+0x<offset>
 *   ...
 *
 * '#' starts a comment line.  Pure: parsing and matching only (the shim
 * reads the file in provenance.c, tools/learn.c writes it).
 */
#include "seeds_file.h"

#include <string.h>

#include "detshim.h"

/* Copy the next space-separated word of *p (up to the line end) into
 * out; false if there is none or it does not fit. */
static bool word(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
		if (n + 1 >= cap)
			return false;
		out[n++] = *s++;
	}
	out[n] = '\0';
	*p = s;
	return n > 0;
}

static const char *next_line(const char *p)
{
	const char *e = strchr(p, '\n');

	return e ? e + 1 : p + strlen(p);
}

int ds_seeds_parse(const char *text, const char *program,
		   const char *build_id, struct ds_seeds *out, char *err,
		   size_t errcap)
{
	const char *p = text;
	bool header = false, mine = false, any_program = false;
	int line = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *q = p;
		char kw[16], a[DS_SEEDS_NAME], b[DS_SEEDS_NAME];

		line++;
		p = next_line(p);
		if (!word(&q, kw, sizeof(kw)) || kw[0] == '#')
			continue;
		if (!header) {
			if (strcmp(kw, "detshim-seeds") != 0 || !word(&q, a, sizeof(a)) ||
			    strcmp(a, "1") != 0) {
				ds_fmt(err, errcap, "line %d: not a detshim seeds "
				       "file (want 'detshim-seeds 1')", line);
				return -EINVAL;
			}
			header = true;
			continue;
		}
		if (strcmp(kw, "program") == 0) {
			if (!word(&q, a, sizeof(a)) || !word(&q, b, sizeof(b))) {
				ds_fmt(err, errcap, "line %d: want 'program NAME "
				       "BUILD_ID'", line);
				return -EINVAL;
			}
			any_program = true;
			mine = strcmp(a, program) == 0 &&
			       (strcmp(b, "-") == 0 || strcmp(b, build_id) == 0);
			if (!mine && out->other[0] == '\0')
				ds_fmt(out->other, sizeof(out->other), "%s (build id %s)",
				       a, b);
			if (mine)
				out->matched = true;
			continue;
		}
		if (strcmp(kw, "site") == 0) {
			if (!word(&q, a, sizeof(a)) || !word(&q, b, sizeof(b))) {
				ds_fmt(err, errcap, "line %d: want 'site CALL "
				       "OBJECT+0xOFFSET'", line);
				return -EINVAL;
			}
			if (!any_program) {
				ds_fmt(err, errcap, "line %d: a site before any "
				       "'program' line", line);
				return -EINVAL;
			}
			if (mine && out->n < DS_SEEDS_MAX) {
				ds_fmt(out->site[out->n].call, DS_SEEDS_NAME, "%s", a);
				ds_fmt(out->site[out->n].where, DS_SEEDS_NAME, "%s", b);
				out->n++;
			}
			continue;
		}
		ds_fmt(err, errcap, "line %d: unknown keyword '%s'", line, kw);
		return -EINVAL;
	}
	if (!header) {
		ds_fmt(err, errcap, "empty: not a detshim seeds file");
		return -EINVAL;
	}
	return 0;
}

bool ds_seeds_match(const struct ds_seeds *s, const char *call,
		    const char *site)
{
	size_t len, i;
	const char *hash = strchr(site, '#');

	len = hash ? (size_t)(hash - site) : strlen(site);
	for (i = 0; i < s->n; i++)
		if (strcmp(s->site[i].call, call) == 0 &&
		    strlen(s->site[i].where) == len &&
		    memcmp(s->site[i].where, site, len) == 0)
			return true;
	return false;
}
