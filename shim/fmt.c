/*
 * fmt.c - the shim's printf: a minimal async-signal-safe formatter and
 * the JSON string escape, used by the log (log.c), warnings and the
 * lineage variable.  No allocation, no lock, no locale, no stdio.
 */
#include "detshim.h"

#include <string.h>

static size_t put(char *buf, size_t cap, size_t len, const char *s, size_t n)
{
	if (len >= cap)
		return len;
	if (n > cap - 1 - len)
		n = cap - 1 - len;
	memcpy(buf + len, s, n);
	len += n;
	buf[len] = '\0';
	return len;
}

static size_t put_u(char *buf, size_t cap, size_t len, unsigned long long v,
		    unsigned base, bool neg)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n] = "0123456789abcdef"[v % base];
		v /= base;
		n++;
	} while (v);
	if (neg) {
		tmp[sizeof(tmp) - 1 - n] = '-';
		n++;
	}
	return put(buf, cap, len, tmp + sizeof(tmp) - n, n);
}

size_t ds_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t len = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	while (*fmt) {
		const char *pct = strchr(fmt, '%');
		int lng = 0;
		bool z = false;

		if (pct == NULL) {
			len = put(buf, cap, len, fmt, strlen(fmt));
			break;
		}
		len = put(buf, cap, len, fmt, (size_t)(pct - fmt));
		fmt = pct + 1;
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (*fmt == 'z') {
			z = true;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			if (s == NULL)
				s = "(null)";
			len = put(buf, cap, len, s, strlen(s));
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			len = put(buf, cap, len, &c, 1);
			break;
		}
		case 'd':
		case 'i': {
			long long v = z ? (long long)va_arg(ap, ssize_t)
				      : lng >= 2 ? va_arg(ap, long long)
				      : lng == 1 ? va_arg(ap, long)
						 : va_arg(ap, int);
			unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
						     : (unsigned long long)v;

			len = put_u(buf, cap, len, u, 10, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v =
				z ? va_arg(ap, size_t)
				: lng >= 2 ? va_arg(ap, unsigned long long)
				: lng == 1 ? va_arg(ap, unsigned long)
					   : va_arg(ap, unsigned);

			len = put_u(buf, cap, len, v, *fmt == 'x' ? 16 : 10,
				    false);
			break;
		}
		case 'p':
			len = put(buf, cap, len, "0x", 2);
			len = put_u(buf, cap, len,
				    (uintptr_t)va_arg(ap, void *), 16, false);
			break;
		case '%':
			len = put(buf, cap, len, "%", 1);
			break;
		case '\0':
			return len;
		default:
			len = put(buf, cap, len, "%?", 2);
			break;
		}
		fmt++;
	}
	return len;
}

size_t ds_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = ds_vfmt(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* Append n bytes only if all of them fit (with the NUL): an escape is
 * never cut in half, so a truncated string is still a JSON string body. */
static bool put_whole(char *buf, size_t cap, size_t *len, const char *s,
		      size_t n)
{
	if (*len >= cap || n > cap - 1 - *len)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

size_t ds_json_escape(char *buf, size_t cap, size_t len, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t k = 2;

		esc[0] = '\\';
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
		} else if (c == '\n') {
			esc[1] = 'n';
		} else if (c == '\t') {
			esc[1] = 't';
		} else if (c < 0x20 || c >= 0x7f) {
			/* Control bytes, DEL, and bytes outside ASCII (escaped
			 * as \u00XX, Latin-1) keep the line valid UTF-8 JSON
			 * whatever the input. */
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = "0123456789abcdef"[c >> 4];
			esc[5] = "0123456789abcdef"[c & 15];
			k = 6;
		} else {
			esc[0] = (char)c;
			k = 1;
		}
		if (!put_whole(buf, cap, &len, esc, k))
			break;
	}
	return len;
}
