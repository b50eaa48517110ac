/*
 * seeds_file.h - the seeds file's parse and match (seeds_file.c).
 */
#ifndef DS_SEEDS_FILE_H
#define DS_SEEDS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#define DS_SEEDS_MAX 64
#define DS_SEEDS_NAME 128

struct ds_seeds {
	struct {
		char call[DS_SEEDS_NAME];  /* e.g. "srand" */
		char where[DS_SEEDS_NAME]; /* e.g. "train+0x1a2f" */
	} site[DS_SEEDS_MAX];
	size_t n;
	bool matched;       /* a program line named this program */
	char other[300];    /* the first program line naming another, or "" */
};

/*
 * Parse the text of a seeds file for the program (exe basename) with the
 * build id (hex, or "-" when it has none): keeps the sites under the
 * program lines naming it.  Returns 0, or -EINVAL with err naming the
 * line.  Pure.
 */
int ds_seeds_parse(const char *text, const char *program,
		   const char *build_id, struct ds_seeds *out, char *err,
		   size_t errcap);

/* True if (call, site) is listed; the site's "#ordinal" is ignored. */
bool ds_seeds_match(const struct ds_seeds *s, const char *call,
		    const char *site);

#endif /* DS_SEEDS_FILE_H */
