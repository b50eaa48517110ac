/*
 * log.c - the event log: JSON lines, one write(2) per line.
 *
 * Every line is formatted on the stack and written with a single write on
 * an O_APPEND descriptor, so lines from threads and processes sharing one
 * file never tear (docs/DESIGN.md §8.9).  The descriptor is opened for the
 * line and closed after it (a FIFO's is kept at a high number):
 * shim/logfd.c.  Nothing here allocates, locks or calls stdio: ds_event is
 * async-signal-safe and may run inside hooks called
 * from signal handlers or between vfork and exec.
 *
 * Every line starts with the schema version, "v":DS_LOG_SCHEMA (shim/detshim.h),
 * which changes when a key changes meaning or goes away (not when one is
 * added: readers skip keys they do not know, as tools/logfile.c does).
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
/* Lines (the formatter is fmt.c). */

/* Append s to the string in buf (len bytes so far); returns the new
 * length.  Never writes past cap; always NUL-terminates. */
static size_t append(char *buf, size_t cap, size_t len, const char *s)
{
	if (len + 1 >= cap)
		return len;
	return len + ds_fmt(buf + len, cap - len, "%s", s);
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
			  const char *fields, const char *detail)
{
	size_t len = 0;

	len = ds_fmt(buf, cap, "{\"v\":%d,\"seq\":%lu,\"pid\":%ld,\"src\":\"",
		     DS_LOG_SCHEMA, seq, pid);
	len = escape_field(buf, cap, len, src);
	len = append(buf, cap, len, "\",\"call\":\"");
	len = escape_field(buf, cap, len, call);
	len = append(buf, cap, len, "\",\"action\":\"");
	len = escape_field(buf, cap, len, action);
	len = append(buf, cap, len, "\",");
	/* Fields are written whole or not at all (a cut one would not be
	 * JSON); room is kept for the detail's opening and the close. */
	if (fields && fields[0] && len + strlen(fields) + 16 < cap) {
		len = append(buf, cap, len, fields);
		len = append(buf, cap, len, ",");
	}
	len = append(buf, cap, len, "\"detail\":\"");
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
				len += ds_fmt(out + len, cap - len, "%ld", pid);
			else if (*tmpl == '%')
				len = append(out, cap, len, "%");
			else
				return -EINVAL;
		} else {
			len += ds_fmt(out + len, cap - len, "%c", *tmpl);
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

/* Before main, a warning is one "detshim: ..." line on stderr (the
 * start-up errors that stop the shim, a log that cannot be opened).
 * After start-up the program's stderr is its own (it may have moved a
 * file onto fd 2, or capture it): the warning goes into the log, and
 * without a log it is dropped (a log is where warnings are read; with no
 * log there is no exit summary to count it in either:
 * docs/measurements/RELIABILITY.md).  A vfork child (sharing the
 * parent's memory) writes nothing. */

void ds_warn(const char *fmt, ...)
{
	char line[1024];
	size_t n;
	va_list ap;

	if (!ds_logfd_owner())
		return;
	if (!starting_up() && !ds_log_on())
		return;
	n = ds_fmt(line, sizeof(line), "detshim: ");
	va_start(ap, fmt);
	n += ds_vfmt(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (!starting_up()) {
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
	/* A fork table row.  Without a log there is nothing to adopt and
	 * nothing is written (no page copied after fork).  Else the child's
	 * own counts; an append log is shared by design (lines carry the
	 * pid), a %p log becomes the child's own file. */
	if (!ds_log_on())
		return;
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
		 const char *fields, const char *fmt, va_list ap)
{
	char detail[512];
	char line[1024];
	size_t n;

	ds_vfmt(detail, sizeof(detail), fmt ? fmt : "", ap);
	n = ds_log_format_line(line, sizeof(line),
			       atomic_fetch_add(&log_seq, 1) + 1,
			       ds_sys_getpid(), ds_source_name(src), call,
			       action, fields, detail);
	write_line(line, n);
}

/* Count an event at site; true if it is to be written. */
static bool count_event(struct ds_site *site)
{
	unsigned long n;

	/* The counts exist for the summary, which only a log gets: without
	 * one, an event costs a load (and writes no page after fork). */
	if (!ds_log_on())
		return false;
	n = atomic_fetch_add_explicit(&site->count, 1, memory_order_relaxed);
	if (n >= ds_cfg.log_first_n)
		return false;
	atomic_fetch_add_explicit(&site->logged, 1, memory_order_relaxed);
	return true;
}

void ds_event(struct ds_site *site, const char *action, const char *fmt, ...)
{
	va_list ap;

	if (!count_event(site))
		return;
	va_start(ap, fmt);
	emit(site->src, site->call, action, NULL, fmt, ap);
	va_end(ap);
}

void ds_event_fields(struct ds_site *site, const char *action,
		     const char *fields, const char *fmt, ...)
{
	va_list ap;

	if (!count_event(site))
		return;
	va_start(ap, fmt);
	emit(site->src, site->call, action, fields, fmt, ap);
	va_end(ap);
}

void ds_event_fields_all(struct ds_site *site, const char *action,
			 const char *fields, const char *fmt, ...)
{
	va_list ap;

	if (!ds_log_on())
		return;
	atomic_fetch_add_explicit(&site->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&site->logged, 1, memory_order_relaxed);
	va_start(ap, fmt);
	emit(site->src, site->call, action, fields, fmt, ap);
	va_end(ap);
}

void ds_log_record(enum ds_source src, const char *call, const char *action,
		   const char *fmt, ...)
{
	va_list ap;

	if (!ds_log_on())
		return;
	va_start(ap, fmt);
	emit(src, call, action, NULL, fmt, ap);
	va_end(ap);
}

/* Sites live in the "ds_sites" section; the linker provides its bounds. */
extern struct ds_site __start_ds_sites[] DS_HIDDEN __attribute__((weak));
extern struct ds_site __stop_ds_sites[] DS_HIDDEN __attribute__((weak));

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
