/*
 * log.c - the event log: JSON lines, one write(2) per line.
 *
 * Every line is formatted on the stack and written with a single write on
 * an O_APPEND descriptor, so lines from threads and processes sharing one
 * file never tear (style.md §9).  The descriptor is opened for the line
 * and closed after it (a FIFO's is kept at a high number): shim/logfd.c.  Nothing here allocates, locks or calls
 * stdio: ds_event is async-signal-safe and may run inside hooks called
 * from signal handlers or between vfork and exec.
 *
 * Lines carry no time: two runs of a deterministic program produce the
 * same log up to pids, which is what `detrun --verify` compares.
 *
 * A log failure never stops, blocks or kills the job: a line that cannot
 * be written is dropped and counted (in the summary), and the first
 * failure is reported once, on stderr before main or in the log itself
 * (write_line).
 */
#include "detshim.h"
#include "logfd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static atomic_ulong log_seq;
static atomic_ulong log_dropped;  /* lines that could not be written */
static atomic_int log_failed;     /* 0; first error (errno) to report; -1 reported */

/* ------------------------------------------------------------------ */
/* Formatting. */

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

/* Room for one of src, call, action in a line (escaped); the detail gets
 * the rest.  Lines are formatted into 1024 bytes. */
#define DS_LOG_FIELD_MAX 128

static size_t escape_field(char *buf, size_t cap, size_t len, const char *s)
{
	size_t fcap = len + 1 + DS_LOG_FIELD_MAX;

	return ds_json_escape(buf, fcap < cap ? fcap : cap, len, s);
}

size_t ds_log_format_line(char *buf, size_t cap, unsigned long seq, long pid,
			  const char *src, const char *call, const char *action,
			  const char *detail)
{
	size_t len = 0;

	len = ds_fmt(buf, cap, "{\"seq\":%lu,\"pid\":%ld,\"src\":\"", seq, pid);
	len = escape_field(buf, cap, len, src);
	len = put(buf, cap, len, "\",\"call\":\"", 10);
	len = escape_field(buf, cap, len, call);
	len = put(buf, cap, len, "\",\"action\":\"", 12);
	len = escape_field(buf, cap, len, action);
	len = put(buf, cap, len, "\",\"detail\":\"", 12);
	/* The detail stops before the room for the closing "}\n. */
	len = ds_json_escape(buf, cap > 3 ? cap - 3 : 0, len, detail);
	if (len > cap - 4)
		len = cap - 4;
	buf[len++] = '"';
	buf[len++] = '}';
	buf[len++] = '\n';
	buf[len] = '\0';
	return len;
}

int ds_log_expand_path(const char *tmpl, long pid, char *out, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (; *tmpl; tmpl++) {
		if (*tmpl == '%') {
			tmpl++;
			if (*tmpl == 'p')
				len = put_u(out, cap, len, (unsigned long long)pid,
					    10, false);
			else if (*tmpl == '%')
				len = put(out, cap, len, "%", 1);
			else
				return -EINVAL;
		} else {
			len = put(out, cap, len, tmpl, 1);
		}
		if (len >= cap - 1)
			return -ENAMETOOLONG;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Output.  Where the bytes go, and how the log never meets the program's
 * descriptors: shim/logfd.c. */

/* True until init has finished: the constructor, before main. */
static bool starting_up(void)
{
	return atomic_load_explicit(&ds_init_state, memory_order_acquire) != 2;
}

/* Before main, a warning is one "detshim: ..." line on stderr.  After
 * start-up the program's stderr is its own (it may have moved a file onto
 * fd 2): the warning goes into the log, and to stderr only when there is
 * no log.  A vfork child (sharing the parent's memory) writes nothing. */
void ds_warn(const char *fmt, ...)
{
	char line[1024];
	size_t n;
	va_list ap;

	if (!ds_logfd_owner())
		return;
	n = ds_fmt(line, sizeof(line), "detshim: ");
	va_start(ap, fmt);
	n += ds_vfmt(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (!starting_up() && ds_log_on()) {
		ds_log_record(DS_SRC_PROCESS, "detshim", "warning", "%s",
			      line + 9);
		return;
	}
	line[n++] = '\n';
	ds_logfd_write_quietly(2, line, n); /* stderr may be a broken pipe */
}

int ds_log_open(void)
{
	atomic_store(&log_failed, 0);
	atomic_store(&log_dropped, 0);
	return ds_logfd_open(ds_cfg.policy == DS_POLICY_OFF ? ""
							     : ds_cfg.log_path);
}

void ds_log_after_fork_child(void)
{
	/* The child's own counts; an append log is shared by design (lines
	 * carry the pid), a %p log becomes the child's own file. */
	atomic_store(&log_failed, 0);
	atomic_store(&log_dropped, 0);
	ds_logfd_after_fork_child();
}

/*
 * A line that cannot be written (full disk, full pipe, reader gone, log
 * deleted or replaced) is dropped and counted (the exit summary's "log
 * dropped" record).  The first failure is reported once: on stderr while
 * starting up, else by one "log error" record in the log itself as soon
 * as a line can be written again.  Never anything from a process that
 * does not own the log (a vfork child).
 */
static void write_line(const char *line, size_t n)
{
	long r = ds_logfd_write(line, n);
	int first;

	if (r == DS_LOGFD_NOT_OURS)
		return;
	if (r == (long)n) {
		first = atomic_load_explicit(&log_failed, memory_order_relaxed);
		if (first > 0 && atomic_compare_exchange_strong(&log_failed,
								&first, -1))
			ds_log_record(DS_SRC_PROCESS, "log", "error",
				      "cannot write the log %s (error %d); "
				      "%lu lines dropped so far",
				      ds_logfd_path(), first,
				      atomic_load(&log_dropped));
		return;
	}
	atomic_fetch_add(&log_dropped, 1);
	first = 0;
	if (!atomic_compare_exchange_strong(&log_failed, &first,
					    r < 0 ? (int)-r : EIO))
		return;
	if (starting_up()) {
		atomic_store(&log_failed, -1);
		ds_warn("cannot write the log %s (error %d); lines that cannot "
			"be written are counted, not retried",
			ds_logfd_path(), r < 0 ? (int)-r : EIO);
	}
}

static void emit(enum ds_source src, const char *call, const char *action,
		 const char *fmt, va_list ap)
{
	char detail[512];
	char line[1024];
	size_t n;

	ds_vfmt(detail, sizeof(detail), fmt ? fmt : "", ap);
	n = ds_log_format_line(line, sizeof(line),
			       atomic_fetch_add(&log_seq, 1) + 1,
			       ds_sys_getpid(), ds_source_name(src), call,
			       action, detail);
	write_line(line, n);
}

void ds_event(struct ds_site *site, const char *action, const char *fmt, ...)
{
	va_list ap;
	unsigned long n = atomic_fetch_add_explicit(&site->count, 1,
						    memory_order_relaxed);

	if (n >= ds_cfg.log_first_n ||
	    !ds_log_on())
		return;
	atomic_fetch_add_explicit(&site->logged, 1, memory_order_relaxed);
	va_start(ap, fmt);
	emit(site->src, site->call, action, fmt, ap);
	va_end(ap);
}

void ds_log_record(enum ds_source src, const char *call, const char *action,
		   const char *fmt, ...)
{
	va_list ap;

	if (!ds_log_on())
		return;
	va_start(ap, fmt);
	emit(src, call, action, fmt, ap);
	va_end(ap);
}

/* Sites live in the "ds_sites" section; the linker provides its bounds. */
extern struct ds_site __start_ds_sites[] __attribute__((weak));
extern struct ds_site __stop_ds_sites[] __attribute__((weak));

void ds_log_summary(void)
{
	unsigned long total[DS_SRC_COUNT] = { 0 };
	struct ds_site *s;
	int i;

	if (!ds_log_on())
		return;
	/* The linker's section bounds delimit one array. */
	// cppcheck-suppress comparePointers
	for (s = __start_ds_sites; s && s < __stop_ds_sites; s++) {
		unsigned long c = atomic_load(&s->count);

		if (c == 0)
			continue;
		total[s->src] += c;
		ds_log_record(s->src, s->call, "summary",
			      "count=%lu logged=%lu", c,
			      atomic_load(&s->logged));
	}
	for (i = 0; i < DS_SRC_COUNT; i++)
		if (total[i])
			ds_log_record((enum ds_source)i, "*", "total",
				      "count=%lu", total[i]);
	if (atomic_load(&log_dropped))
		ds_log_record(DS_SRC_PROCESS, "log", "dropped", "lines=%lu",
			      atomic_load(&log_dropped));
}
