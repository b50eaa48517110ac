/*
 * log.c - the event log: JSON lines, one write(2) per line.
 *
 * Every line is formatted on the stack and written with a single write on
 * an O_APPEND descriptor, so lines from threads and processes sharing one
 * file never tear (docs/DESIGN.md §8.9).  Nothing here allocates, locks or
 * calls stdio: ds_event is async-signal-safe and may run inside hooks called
 * from signal handlers or between vfork and exec.
 *
 * Lines carry no time: two runs of a deterministic program produce the
 * same log up to pids, which is what `detrun --verify` compares.
 *
 * A log failure never stops the job: the first failing write is reported
 * once on stderr and later lines are dropped (counted in the summary).
 */
#include "detshim.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static atomic_int log_fd = -1;
static atomic_ulong log_seq;
static atomic_ulong log_dropped;
static atomic_int log_failed;
static long log_pid;          /* pid the log was opened for (%p logs) */
static bool log_per_pid;      /* the path has %p: each fork child reopens */

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
			  const char *detail)
{
	size_t len = 0;

	len = ds_fmt(buf, cap, "{\"seq\":%lu,\"pid\":%ld,\"src\":\"", seq, pid);
	len = escape_field(buf, cap, len, src);
	len = append(buf, cap, len, "\",\"call\":\"");
	len = escape_field(buf, cap, len, call);
	len = append(buf, cap, len, "\",\"action\":\"");
	len = escape_field(buf, cap, len, action);
	len = append(buf, cap, len, "\",\"detail\":\"");
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
/* Output. */

void ds_warn(const char *fmt, ...)
{
	char line[1024];
	size_t n;
	va_list ap;

	n = ds_fmt(line, sizeof(line), "detshim: ");
	va_start(ap, fmt);
	n += ds_vfmt(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	ds_sys_write(2, line, n);
}

int ds_log_open(void)
{
	char path[DS_PATH_MAX];
	int e, fd, old;

	if (ds_cfg.log_path[0] == '\0' || ds_cfg.policy == DS_POLICY_OFF)
		return 0;
	log_pid = ds_sys_getpid();
	log_per_pid = strstr(ds_cfg.log_path, "%p") != NULL;
	e = ds_log_expand_path(ds_cfg.log_path, log_pid, path, sizeof(path));
	if (e)
		return e;
	fd = ds_sys_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return fd;
	old = atomic_exchange(&log_fd, fd);
	if (old >= 0)
		ds_sys_close(old);
	return 0;
}

void ds_log_after_fork_child(void)
{
	/* An append log is shared by design: lines carry the pid.  A %p log
	 * becomes the child's own file.  (A fork table row: one load when
	 * there is nothing to do.) */
	if (!log_per_pid)
		return;
	if (ds_log_open() != 0) {
		int old = atomic_exchange(&log_fd, -1);

		if (old >= 0)
			ds_sys_close(old);
	}
}

static void write_line(const char *line, size_t n)
{
	int fd = atomic_load_explicit(&log_fd, memory_order_acquire);

	if (fd < 0)
		return;
	if (ds_sys_write(fd, line, n) != (ssize_t)n) {
		atomic_fetch_add(&log_dropped, 1);
		if (atomic_exchange(&log_failed, 1) == 0)
			ds_warn("cannot write the log %s; later events are "
				"counted but not written", ds_cfg.log_path);
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
	unsigned long n;

	/* The counts exist for the summary, which only a log gets: without
	 * one, an event costs a load (and writes no page after fork). */
	if (atomic_load_explicit(&log_fd, memory_order_relaxed) < 0)
		return;
	n = atomic_fetch_add_explicit(&site->count, 1, memory_order_relaxed);
	if (n >= ds_cfg.log_first_n)
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

	if (atomic_load_explicit(&log_fd, memory_order_relaxed) < 0)
		return;
	va_start(ap, fmt);
	emit(src, call, action, fmt, ap);
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

	if (atomic_load(&log_fd) < 0)
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
