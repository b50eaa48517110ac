/*
 * common.c - what every file of detrun uses: its messages and the
 * allocation helpers that end it with status 125 when memory runs out.
 */
#include "detrun.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *dr_prog = "detrun";

void dr_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", dr_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void dr_note(const struct dr_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o && o->quiet)
		return;
	fflush(stdout);
	fprintf(stderr, "%s: ", dr_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *dr_xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	return p;
}

char *dr_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	return p;
}

char *dr_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		dr_err("out of memory");
		exit(DR_EXIT_USAGE);
	}
	return p;
}
