/*
 * logfd.c - where the log's lines go: the shim owns its descriptors and
 * nothing else (docs/measurements/CORPUS.md, "Where the log's lines go").
 *
 * A log in a regular file or on a device (the usual case, and every
 * `detrun --verify` run) is opened for each line, checked, written and
 * closed:
 *     openat(path, O_WRONLY|O_APPEND|O_CLOEXEC|O_NONBLOCK|O_NOCTTY)
 *     fstat: still the (st_dev, st_ino) opened at start?
 *     write (one line, whole)        close
 * So no log descriptor exists between two lines.  A program that closes
 * every fd above 2 (Python's subprocess, daemons, closefrom, close_range),
 * dup2s onto any number, opens files after closing its standard streams
 * or lists its fds never meets the log, and no child inherits it.  The
 * path is made absolute at start (a chdir changes nothing); reopening
 * never creates it again, so a deleted, renamed or replaced log, or a
 * /dev/fd/N whose N now names another file, loses lines (counted) and
 * never receives a line in someone else's file.  A line opened at 0-2
 * (the program closed a standard stream) is moved above 2 at once.
 * Cost: docs/measurements/CORPUS.md, "Cost of a log line".
 *
 * A FIFO (a named pipe, or /dev/fd/N naming a pipe) cannot be opened per
 * line: the reader would see end-of-file after each one.  It is opened
 * once with O_NONBLOCK (no reader: ENXIO at start instead of a hang) and
 * moved to a high O_CLOEXEC number (F_DUPFD_CLOEXEC above 7/8 of
 * min(RLIMIT_NOFILE, 1024), 896 by default, out of the way of the lowest
 * free numbers that programs get).  Before each line an fstat checks that
 * the number still holds that pipe; if the program closed it or reused
 * the number, the shim forgets the number (it is the program's now: never
 * closed, never written) and opens the path again.  A full pipe (EAGAIN)
 * drops the line.
 *
 * Signals: the write (and ds_warn's line on stderr, which may be a pipe
 * whose reader is gone) runs with SIGPIPE, SIGXFSZ and SIGTTOU blocked in
 * the calling thread (rt_sigprocmask; async-signal-safe).  Blocked, a
 * tty write never stops a background job; a write to a pipe whose reader
 * is gone, or past RLIMIT_FSIZE, fails with EPIPE or EFBIG and leaves its
 * signal pending on the thread, and that signal is taken back with a
 * zero-timeout sigtimedwait, unless the same signal was already pending
 * before the write (then the program's own signal and ours are one
 * standard signal, and it stays).  Masking costs two system calls; a
 * third (sigpending) only when the program itself blocks one of them.
 *
 * Ownership: the log belongs to the process that opened it (or adopted
 * it after fork, ds_logfd_after_fork_child).  A vfork child shares the
 * parent's memory and runs the exec hooks: there getpid() differs from
 * the owner, and nothing is written and no state of the parent's is
 * changed.
 *
 * Sandboxes: once the program has entered seccomp (ds_logfd_sandboxed,
 * called by process.c's prctl hook and by the syscall hook for
 * seccomp(2)), the log makes no system call at all
 * (openat, fstat, rt_sigprocmask, getpid may be forbidden where write is
 * not): later lines and warnings are not written.
 *
 * Everything here is raw system calls on the stack: no allocation, no
 * lock, no stdio, async-signal-safe, usable before init.
 */
#include "logfd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

atomic_int ds_log_mode;

static char log_tmpl[DS_PATH_MAX];  /* absolute template (%p kept) */
static char log_path[DS_PATH_MAX];  /* this process's expanded path */
static unsigned long log_dev;       /* identity of the file opened at start */
static unsigned long log_ino;
static atomic_int log_kept = -1;    /* DS_LOG_KEPT: the FIFO's fd */
static atomic_long log_owner;       /* pid that may write; 0 = not yet known */

#define OPEN_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define KERNEL_SIGSET 8 /* bytes: the kernel's sigset_t on x86_64, aarch64 */
#define SIGBIT(s) (1UL << ((s) - 1))
#define LOG_SIGNALS (SIGBIT(SIGPIPE) | SIGBIT(SIGXFSZ) | SIGBIT(SIGTTOU))

/* ------------------------------------------------------------------ */
/* Raw system calls (never our own hooks; shim/sys.c says why). */

static int sys_fstat(int fd, struct stat *st)
{
#ifdef SYS_fstat
	return (int)ds_syscall6(SYS_fstat, fd, (long)st, 0, 0, 0, 0);
#else
	return (int)ds_syscall6(SYS_newfstatat, fd, (long)"", (long)st,
				AT_EMPTY_PATH, 0, 0);
#endif
}

static int sys_dupfd_cloexec(int fd, int floor)
{
	return (int)ds_syscall6(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor, 0, 0, 0);
}

static long sys_write(int fd, const void *buf, size_t n)
{
	long r;

	do {
		r = ds_syscall6(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
	} while (r == -EINTR);
	return r;
}

static void sys_sigmask(int how, const unsigned long *set, unsigned long *old)
{
	ds_syscall6(SYS_rt_sigprocmask, how, (long)set, (long)old,
		    KERNEL_SIGSET, 0, 0);
}

static unsigned long sys_sigpending(void)
{
	unsigned long set = 0;

	ds_syscall6(SYS_rt_sigpending, (long)&set, KERNEL_SIGSET, 0, 0, 0, 0);
	return set;
}

/* Take back one pending signal of set, without waiting. */
static void sys_sigtake(unsigned long set)
{
	struct timespec zero = { 0, 0 };

	ds_syscall6(SYS_rt_sigtimedwait, (long)&set, 0, (long)&zero,
		    KERNEL_SIGSET, 0, 0);
}

/* ------------------------------------------------------------------ */

/* The lowest number a kept fd may take: 7/8 of min(RLIMIT_NOFILE, 1024),
 * never below 3.  Capped at 1024 so a huge limit never grows the fd
 * table; below the soft limit so a low `ulimit -n` still works. */
static int high_floor(void)
{
	struct rlimit rl;
	unsigned long lim = 1024;

	if (ds_syscall6(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&rl, 0, 0) ==
	    0 && rl.rlim_cur < lim)
		lim = (unsigned long)rl.rlim_cur;
	lim -= lim / 8;
	return lim < 3 ? 3 : (int)lim;
}

/* Move fd to at least floor (else to at least 3); closes the original.
 * Returns the new fd or -errno (fd closed either way). */
static int move_fd(int fd, int floor)
{
	int hi = sys_dupfd_cloexec(fd, floor);

	if (hi < 0 && floor > 3)
		hi = sys_dupfd_cloexec(fd, 3);
	ds_sys_close(fd);
	return hi;
}

/* Open the log's path (no O_CREAT after start), never at 0-2, and check
 * that it is the file opened at start.  fd or -errno. */
static int open_checked(bool create, struct stat *st)
{
	int fd = ds_sys_open(log_path, OPEN_FLAGS | (create ? O_CREAT : 0),
			     0644);

	if (fd >= 0 && fd <= 2)
		fd = move_fd(fd, 3);
	if (fd < 0)
		return fd;
	if (sys_fstat(fd, st) != 0) {
		ds_sys_close(fd);
		return -EBADF;
	}
	if (!create && ((unsigned long)st->st_dev != log_dev ||
			(unsigned long)st->st_ino != log_ino)) {
		ds_sys_close(fd);
		return -ESTALE; /* the path now names another file */
	}
	return fd;
}

/* Give the path up: the kept fd (ours) is closed. */
void ds_logfd_close(void)
{
	int old;

	atomic_store(&ds_log_mode, DS_LOG_NONE);
	old = atomic_exchange(&log_kept, -1);
	if (old >= 0)
		ds_sys_close(old);
}

/* Expand the template for this pid and open it: sets the mode. */
static int open_for(long pid)
{
	struct stat st;
	int e, fd;

	ds_logfd_close();
	e = ds_log_expand_path(log_tmpl, pid, log_path, sizeof(log_path));
	if (e) {
		log_path[0] = '\0';
		return e;
	}
	fd = open_checked(true, &st);
	if (fd < 0)
		return fd;
	log_dev = (unsigned long)st.st_dev;
	log_ino = (unsigned long)st.st_ino;
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
		ds_sys_close(fd);
		atomic_store(&ds_log_mode, DS_LOG_PER_LINE);
		return 0;
	}
	fd = move_fd(fd, high_floor());
	if (fd < 0)
		return fd;
	atomic_store(&log_kept, fd);
	atomic_store(&ds_log_mode, DS_LOG_KEPT);
	return 0;
}

int ds_logfd_open(const char *tmpl)
{
	size_t n = 0, k = strlen(tmpl);
	long pid = ds_sys_getpid();
	int e;

	atomic_store(&log_owner, pid);
	if (tmpl[0] == '\0') { /* no log */
		log_tmpl[0] = log_path[0] = '\0';
		ds_logfd_close();
		return 0;
	}
	if (tmpl[0] != '/') {
		long r = ds_syscall6(SYS_getcwd, (long)log_tmpl,
				     sizeof(log_tmpl), 0, 0, 0, 0);

		/* An unreachable cwd ("(unreachable)/...") keeps the path
		 * relative. */
		if (r > 1 && log_tmpl[0] == '/') {
			n = strlen(log_tmpl);
			if (n > 1)
				log_tmpl[n++] = '/';
		}
	}
	if (n + k >= sizeof(log_tmpl)) {
		log_tmpl[0] = log_path[0] = '\0';
		ds_logfd_close();
		return -ENAMETOOLONG;
	}
	memcpy(log_tmpl + n, tmpl, k + 1);
	e = open_for(pid);
	if (e)
		ds_logfd_close();
	return e;
}

int ds_logfd_after_fork_child(void)
{
	long pid = ds_sys_getpid();

	atomic_store(&log_owner, pid);
	if (atomic_load(&ds_log_mode) == DS_LOG_NONE ||
	    strstr(log_tmpl, "%p") == NULL)
		return 0; /* one shared file: lines carry the pid */
	/* A %p log becomes the child's own file (the inherited FIFO fd is
	 * this process's copy: open_for closes it). */
	if (open_for(pid) != 0) {
		ds_logfd_close();
		return -1;
	}
	return 0;
}

bool ds_logfd_owner(void)
{
	long owner = atomic_load_explicit(&log_owner, memory_order_relaxed);

	if (ds_in_sandbox())
		return false;
	return owner == 0 || owner == ds_sys_getpid();
}

void ds_logfd_sandboxed(void)
{
	/* No system call here: after seccomp even close may be forbidden.
	 * A kept FIFO fd stays open, unused.  With the mode at none, no
	 * event is formatted either (formatting reads the pid). */
	atomic_store(&ds_log_mode, DS_LOG_NONE);
}

const char *ds_logfd_path(void)
{
	return log_path;
}

/* One write with the log's signals blocked; the signal our own failed
 * write raised is taken back (see the head of this file). */
long ds_logfd_write_quietly(int fd, const char *line, size_t n)
{
	const unsigned long set = LOG_SIGNALS;
	unsigned long old = 0, before = 0, raised = 0;
	long r;

	sys_sigmask(SIG_BLOCK, &set, &old);
	if (old & set)
		before = sys_sigpending();
	r = sys_write(fd, line, n);
	if (r == -EPIPE)
		raised = SIGBIT(SIGPIPE);
	else if (r == -EFBIG)
		raised = SIGBIT(SIGXFSZ);
	if (raised && !(before & raised) && (sys_sigpending() & raised))
		sys_sigtake(raised);
	sys_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* The kept fd, if it still holds the FIFO opened at start; else open the
 * path again (the number is the program's now and is left alone). */
static int kept_fd(void)
{
	struct stat st;
	int fd = atomic_load_explicit(&log_kept, memory_order_acquire);
	int expect = fd;

	if (fd >= 0 && sys_fstat(fd, &st) == 0 &&
	    (unsigned long)st.st_dev == log_dev &&
	    (unsigned long)st.st_ino == log_ino)
		return fd;
	fd = open_checked(false, &st);
	if (fd < 0)
		return fd;
	fd = move_fd(fd, high_floor());
	if (fd < 0)
		return fd;
	if (!atomic_compare_exchange_strong(&log_kept, &expect, fd)) {
		/* Another thread reopened first: use its fd. */
		ds_sys_close(fd);
		fd = expect;
	}
	return fd;
}

long ds_logfd_write(const char *line, size_t n)
{
	struct stat st;
	long r;
	int fd;

	switch (atomic_load_explicit(&ds_log_mode, memory_order_acquire)) {
	case DS_LOG_PER_LINE:
		if (!ds_logfd_owner())
			return DS_LOGFD_NOT_OURS;
		fd = open_checked(false, &st);
		if (fd < 0)
			return fd;
		r = ds_logfd_write_quietly(fd, line, n);
		ds_sys_close(fd);
		return r;
	case DS_LOG_KEPT:
		if (!ds_logfd_owner())
			return DS_LOGFD_NOT_OURS;
		fd = kept_fd();
		if (fd < 0)
			return fd;
		return ds_logfd_write_quietly(fd, line, n);
	default:
		return -EBADF;
	}
}
