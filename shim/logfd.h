/*
 * logfd.h - where the log's lines go (logfd.c); used by log.c, and by
 * process.c's seccomp hooks (ds_logfd_sandboxed).
 */
#ifndef DS_LOGFD_H
#define DS_LOGFD_H

#include "detshim.h"

/* How this process reaches its log (ds_log_mode). */
enum ds_log_mode {
	DS_LOG_NONE = 0,   /* no log */
	DS_LOG_PER_LINE,   /* a file or device: opened, checked, closed per line */
	DS_LOG_KEPT        /* a FIFO: one high O_CLOEXEC fd, checked per line */
};

extern atomic_int ds_log_mode;

/* True while there is a log (ds_event's fast path: one relaxed load). */
static inline bool ds_log_on(void)
{
	return atomic_load_explicit(&ds_log_mode, memory_order_relaxed) !=
	       DS_LOG_NONE;
}

/* ds_logfd_write's answer when this process does not own the log (a vfork
 * child, or a fork child that no fork handler adopted): nothing written,
 * nothing to count. */
#define DS_LOGFD_NOT_OURS (-100000L)

/* Open the log for this process from a path template (%p -> pid; "": no
 * log, but this process becomes the owner all the same): a
 * relative template is made absolute first, so a later chdir changes
 * nothing.  Creates the file (O_APPEND, never truncated).  0 or -errno;
 * on error there is no log. */
int ds_logfd_open(const char *tmpl);
/* In a fork child: adopt the log (a %p log becomes the child's own file).
 * 0 or -errno (then the child has no log). */
int ds_logfd_after_fork_child(void);
/* Write one line: n, or -errno (nothing written), or DS_LOGFD_NOT_OURS.
 * Never raises SIGPIPE/SIGXFSZ/SIGTTOU, never blocks, never writes
 * through a descriptor that is not the log's. */
long ds_logfd_write(const char *line, size_t n);
/* One write(2) of buf to fd with SIGPIPE, SIGXFSZ and SIGTTOU blocked
 * (the one a failed write raised is taken back): n or -errno. */
long ds_logfd_write_quietly(int fd, const char *buf, size_t n);
/* Drop the log (no fd is left open). */
void ds_logfd_close(void);
/* The program entered seccomp (prctl(PR_SET_SECCOMP), seccomp()): from
 * now on the log and ds_warn make no system call and write nothing.
 * Async-signal-safe, no system call; inherited by fork children. */
void ds_logfd_sandboxed(void);
/* True in the process that owns the log (false in a vfork child, and
 * after ds_logfd_sandboxed). */
bool ds_logfd_owner(void);
/* The expanded path of this process's log ("" when none). */
const char *ds_logfd_path(void);

#endif
