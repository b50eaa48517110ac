/*
 * devrandom.c - reads of /dev/urandom and /dev/random: the descriptor
 * table and the open, read, dup, close, fcntl and stdio hooks around it.
 *
 * Random devices are recognised by device number (char 1:9 urandom, 1:8
 * random), never by path: that covers symlinks, /dev/./urandom, openat
 * with a dirfd, /proc/self/fd/N and fds inherited across exec.  A byte
 * table indexed by fd says what each fd is:
 *   FD_UNKNOWN (0, the start state of every entry): not classified yet;
 *   FD_NONE: not a watched random device open for reading;
 *   FD_URANDOM, FD_RANDOM: served from the stream.
 * Classification is lazy: the first hooked read of an fd (fstat, and
 * fcntl(F_GETFL) on a random device) stores its kind.  So an open costs
 * one byte load (it forgets a stale entry), an fd that is never read
 * through the hooks costs nothing, inherited fds need no scan at start,
 * and a read of an FD_NONE fd costs the byte load and a tail jump: the
 * rest lives in cold functions.
 *
 * The table can go stale when an fd is closed behind our back (raw
 * syscalls, glibc's internal close in fclose, close_range from a
 * library, exec).  A stale FD_NONE or FD_UNKNOWN only costs a missed or
 * extra check; a stale random-device mark would corrupt a reused fd
 * number, so every read of a marked fd re-checks the device with fstat
 * before it serves stream bytes: a regular file reusing the number is
 * never corrupted.
 *
 * stdio: fopen/fdopen of a random device returns a fopencookie FILE whose
 * reads come from the stream (fread and getc use glibc's internal read
 * and would bypass the read hook), and so does a stdin that is a random
 * device at start; the stdio section below lists the contracts it keeps.
 * The FILE must be chosen at fopen, so a read-only fopen still makes one
 * fstat (docs/measurements/BENCHMARKS.md).  sendfile and splice from a
 * served fd are served too.
 *
 * Contracts kept: reads never write beyond what was asked; a NULL or
 * non-user buffer fails with EFAULT; a read of a write-only fd fails with
 * EBADF from the kernel.  Everything here is lock-free and
 * async-signal-safe except the stdio wrappers.
 */
#include "detshim.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wchar.h>

#define FD_TABLE 65536
enum { FD_UNKNOWN = 0, FD_URANDOM = 1, FD_RANDOM = 2, FD_NONE = 3 };

static atomic_uchar fd_kind[FD_TABLE];

DS_SITE(site_tracked, DS_SRC_URANDOM, "read (first read of the fd)");
DS_SITE(site_untracked, DS_SRC_URANDOM, "open (fd above the table)");
DS_SITE(site_read_u, DS_SRC_URANDOM, "read");
DS_SITE(site_read_r, DS_SRC_RANDOM, "read");
DS_SITE(site_fopen, DS_SRC_URANDOM, "fopen");

/* Kind of device behind fd, by device number; FD_NONE for anything else. */
static int device_kind(int fd)
{
	struct stat st;

	if (ds_syscall6(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) != 0)
		return FD_NONE;
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1)
		return FD_NONE;
	if (minor(st.st_rdev) == 9)
		return FD_URANDOM;
	if (minor(st.st_rdev) == 8)
		return FD_RANDOM;
	return FD_NONE;
}

static enum ds_source kind_source(int kind)
{
	return kind == FD_RANDOM ? DS_SRC_RANDOM : DS_SRC_URANDOM;
}

/* The table entry; fds outside it are never served. Hot path. */
static inline int kind_of(int fd)
{
	if ((unsigned)fd >= FD_TABLE)
		return FD_NONE;
	return atomic_load_explicit(&fd_kind[fd], memory_order_relaxed);
}

static inline void set_kind(int fd, int kind)
{
	if ((unsigned)fd < FD_TABLE)
		atomic_store_explicit(&fd_kind[fd], (unsigned char)kind,
				      memory_order_relaxed);
}

/* Forget what the table says about fd (closed, or a new open): one load,
 * and a store only when there is something to forget. */
static inline void forget(int fd)
{
	if ((unsigned)fd < FD_TABLE &&
	    atomic_load_explicit(&fd_kind[fd], memory_order_relaxed))
		atomic_store_explicit(&fd_kind[fd], FD_UNKNOWN,
				      memory_order_relaxed);
}

/* Once the program has entered seccomp (ds_in_sandbox) nothing here
 * makes a system call of its own.  Fds classified before
 * (ds_devrandom_before_sandbox classifies every open one) are served
 * without the re-check; an fd not classified by then, or opened later,
 * is read by the kernel. */

/* Kind of fd as the shim treats it: a random device the configuration
 * watches, open for reading (a read of a write-only or O_PATH fd must
 * still fail with EBADF, and fdopen of one with "r" with EINVAL), or
 * FD_NONE. */
static int classify(int fd)
{
	int kind;
	long fl;

	if (!ds_watch(DS_SRC_URANDOM) && !ds_watch(DS_SRC_RANDOM))
		return FD_NONE; /* no system call when nothing is watched */
	kind = device_kind(fd);
	if (kind == FD_NONE || !ds_watch(kind_source(kind)))
		return FD_NONE;
	fl = ds_syscall6(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY || (fl & O_PATH))
		return FD_NONE;
	return kind;
}

/*
 * Decide whether a read of fd is served from the stream: classify an
 * unknown fd (and remember it), re-check a marked one.  Returns the kind,
 * or FD_NONE to pass the read to the kernel.
 */
static int serve_kind(int fd)
{
	int kind = kind_of(fd);
	enum ds_source src;

	if (kind == FD_NONE || !ds_active())
		return FD_NONE; /* before init: leave the fd unclassified */
	if (kind == FD_UNKNOWN) {
		if (ds_in_sandbox())
			return FD_NONE; /* no fstat under seccomp */
		kind = classify(fd);
		set_kind(fd, kind);
		if (kind == FD_NONE)
			return FD_NONE;
		ds_event(&site_tracked, "tracked", "fd=%d device=%s", fd,
			 kind == FD_RANDOM ? "/dev/random" : "/dev/urandom");
	} else if (!ds_in_sandbox() && device_kind(fd) != kind) {
		/* Closed behind our back and the number reused. */
		kind = classify(fd);
		set_kind(fd, kind);
		if (kind == FD_NONE)
			return FD_NONE;
	}
	src = kind_source(kind);
	if (!ds_enforce(src)) {
		ds_event(kind == FD_RANDOM ? &site_read_r : &site_read_u,
			 "observed", "fd=%d (policy: not replaced)", fd);
		return FD_NONE;
	}
	return kind;
}

static ssize_t fill_read(int kind, void *buf, size_t n)
{
	enum ds_source src = kind_source(kind);

	if (n == 0)
		return 0;
	/* read(2) checks the whole range before capping the count. */
	if (buf == NULL || !ds_user_range_ok(buf, n)) {
		errno = EFAULT;
		return -1;
	}
	if (n > DS_MAX_RW)
		n = DS_MAX_RW;
	ds_stream_fill(src, 0, buf, n);
	ds_event(kind == FD_RANDOM ? &site_read_r : &site_read_u, "replaced",
		 "len=%zu", n);
	return (ssize_t)n;
}

static ssize_t fill_iov(int kind, const struct iovec *iov, int cnt)
{
	size_t total = 0;
	int i;

	if (cnt < 0 || cnt > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < cnt && total < DS_MAX_RW; i++) {
		size_t n = iov[i].iov_len;

		if (n > DS_MAX_RW - total)
			n = DS_MAX_RW - total;
		if (n && (iov[i].iov_base == NULL ||
			  !ds_user_range_ok(iov[i].iov_base, n))) {
			if (total)
				break; /* short read, as the kernel would */
			errno = EFAULT;
			return -1;
		}
		ds_stream_fill(kind_source(kind), 0, iov[i].iov_base, n);
		total += n;
	}
	ds_event(kind == FD_RANDOM ? &site_read_r : &site_read_u, "replaced",
		 "readv len=%zu", total);
	return (ssize_t)total;
}

/* The real function of a hook, without the resolve call: NULL before it
 * is resolved, and then the hook takes its cold path. */
#define REAL_NOW(sym) atomic_load_explicit(&(sym).ptr, memory_order_acquire)

/* ---- opening ----------------------------------------------------- */

DS_LIBC_SYM(real_open, "open");
DS_LIBC_SYM(real_open64, "open64");
DS_LIBC_SYM(real_openat, "openat");
DS_LIBC_SYM(real_openat64, "openat64");
DS_LIBC_SYM(real_open_2, "__open_2");
DS_LIBC_SYM(real_open64_2, "__open64_2");
DS_LIBC_SYM(real_openat_2, "__openat_2");
DS_LIBC_SYM(real_openat64_2, "__openat64_2");

/* The mode argument exists only with O_CREAT or O_TMPFILE (open(2)). */
static mode_t open_mode(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

/* An fd above the table is never served: say so once it is known to be
 * a random device.  Rare: only fds >= 65536. */
static __attribute__((noinline, cold)) void above_table(int fd)
{
	int kind;

	if (!ds_active() || ds_in_sandbox())
		return;
	kind = device_kind(fd);
	if (kind != FD_NONE && ds_watch(kind_source(kind)))
		ds_event(&site_untracked, "untracked",
			 "fd %d above the table size %d: reads not replaced",
			 fd, FD_TABLE);
}

/* After a real open: the new fd is unknown until its first read. */
static inline int opened(int fd)
{
	if ((unsigned)fd < FD_TABLE)
		forget(fd);
	else if (fd >= FD_TABLE)
		above_table(fd);
	return fd;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);

static int do_open(struct ds_sym *s, const char *path, int flags, mode_t mode)
{
	open_fn f = (open_fn)ds_sym_get(s);

	if (f == NULL)
		return ds_libc_missing();
	return opened(f(path, flags, mode));
}

static int do_openat(struct ds_sym *s, int dirfd, const char *path, int flags,
		     mode_t mode)
{
	openat_fn f = (openat_fn)ds_sym_get(s);

	if (f == NULL)
		return ds_libc_missing();
	return opened(f(dirfd, path, flags, mode));
}

DS_EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_open(&real_open, path, flags, mode);
}

DS_EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_open(&real_open64, path, flags, mode);
}

DS_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_openat(&real_openat, dirfd, path, flags, mode);
}

DS_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_openat(&real_openat64, dirfd, path, flags, mode);
}

/* Fortified opens (-D_FORTIFY_SOURCE): no mode argument by contract. */
static int do_open2(struct ds_sym *s, const char *path, int flags)
{
	open2_fn f = (open2_fn)ds_sym_get(s);

	if (f == NULL)
		return ds_libc_missing();
	return opened(f(path, flags));
}

static int do_openat2(struct ds_sym *s, int dirfd, const char *path, int flags)
{
	openat2_fn f = (openat2_fn)ds_sym_get(s);

	if (f == NULL)
		return ds_libc_missing();
	return opened(f(dirfd, path, flags));
}

DS_EXPORT int __open_2(const char *path, int flags)
{
	return do_open2(&real_open_2, path, flags);
}

DS_EXPORT int __open64_2(const char *path, int flags)
{
	return do_open2(&real_open64_2, path, flags);
}

DS_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat2(&real_openat_2, dirfd, path, flags);
}

DS_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat2(&real_openat64_2, dirfd, path, flags);
}

/* ---- reading ----------------------------------------------------- */

/*
 * Each read hook is a table load, a compare and a tail jump to the real
 * function; everything else (a first read, a random device, a real
 * function not resolved yet) is in the hook's cold twin, out of line so
 * that the hot path keeps no stack frame.
 */

DS_LIBC_SYM(real_read, "read");
DS_LIBC_SYM(real_read_chk, "__read_chk");
DS_LIBC_SYM(real_pread, "pread");
DS_LIBC_SYM(real_pread64, "pread64");
DS_LIBC_SYM(real_pread_chk, "__pread_chk");
DS_LIBC_SYM(real_pread64_chk, "__pread64_chk");
DS_LIBC_SYM(real_readv, "readv");
DS_LIBC_SYM(real_preadv, "preadv");
DS_LIBC_SYM(real_preadv64, "preadv64");
DS_LIBC_SYM(real_preadv2, "preadv2");
DS_LIBC_SYM(real_preadv64v2, "preadv64v2");

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pread_chk_fn)(int, void *, size_t, off_t, size_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef ssize_t (*preadv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*preadv2_fn)(int, const struct iovec *, int, off_t, int);

#define DS_COLD __attribute__((noinline, cold))

static DS_COLD ssize_t read_cold(int fd, void *buf, size_t n)
{
	int kind = serve_kind(fd);
	read_fn f;

	if (kind != FD_NONE)
		return fill_read(kind, buf, n);
	f = (read_fn)ds_sym_get(&real_read);
	return f ? f(fd, buf, n) : ds_libc_missing();
}

DS_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	read_fn f = (read_fn)REAL_NOW(real_read);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, buf, n);
	return read_cold(fd, buf, n);
}

static DS_COLD ssize_t read_chk_cold(int fd, void *buf, size_t n,
				     size_t buflen)
{
	/* n > buflen is a buffer overflow: let the real one abort. */
	int kind = n <= buflen ? serve_kind(fd) : FD_NONE;
	read_chk_fn f;

	if (kind != FD_NONE)
		return fill_read(kind, buf, n);
	f = (read_chk_fn)ds_sym_get(&real_read_chk);
	return f ? f(fd, buf, n, buflen) : ds_libc_missing();
}

DS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	read_chk_fn f = (read_chk_fn)REAL_NOW(real_read_chk);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, buf, n, buflen);
	return read_chk_cold(fd, buf, n, buflen);
}

static DS_COLD ssize_t pread_cold(struct ds_sym *s, int fd, void *buf,
				  size_t n, off_t off)
{
	int kind = serve_kind(fd);
	pread_fn f;

	if (kind != FD_NONE)
		return fill_read(kind, buf, n);
	f = (pread_fn)ds_sym_get(s);
	return f ? f(fd, buf, n, off) : ds_libc_missing();
}

DS_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	pread_fn f = (pread_fn)REAL_NOW(real_pread);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, buf, n, off);
	return pread_cold(&real_pread, fd, buf, n, off);
}

DS_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	pread_fn f = (pread_fn)REAL_NOW(real_pread64);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, buf, n, off);
	return pread_cold(&real_pread64, fd, buf, n, off);
}

static DS_COLD ssize_t pread_chk_cold(struct ds_sym *s, int fd, void *buf,
				      size_t n, off_t off, size_t buflen)
{
	int kind = n <= buflen ? serve_kind(fd) : FD_NONE;
	pread_chk_fn f;

	if (kind != FD_NONE)
		return fill_read(kind, buf, n);
	f = (pread_chk_fn)ds_sym_get(s);
	return f ? f(fd, buf, n, off, buflen) : ds_libc_missing();
}

DS_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
			      size_t buflen)
{
	pread_chk_fn f = (pread_chk_fn)REAL_NOW(real_pread_chk);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, buf, n, off, buflen);
	return pread_chk_cold(&real_pread_chk, fd, buf, n, off, buflen);
}

DS_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
				size_t buflen)
{
	pread_chk_fn f = (pread_chk_fn)REAL_NOW(real_pread64_chk);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, buf, n, off, buflen);
	return pread_chk_cold(&real_pread64_chk, fd, buf, n, off, buflen);
}

static DS_COLD ssize_t readv_cold(int fd, const struct iovec *iov, int cnt)
{
	int kind = serve_kind(fd);
	readv_fn f;

	if (kind != FD_NONE)
		return fill_iov(kind, iov, cnt);
	f = (readv_fn)ds_sym_get(&real_readv);
	return f ? f(fd, iov, cnt) : ds_libc_missing();
}

DS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	readv_fn f = (readv_fn)REAL_NOW(real_readv);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, iov, cnt);
	return readv_cold(fd, iov, cnt);
}

static DS_COLD ssize_t preadv_cold(struct ds_sym *s, int fd,
				   const struct iovec *iov, int cnt, off_t off)
{
	int kind = serve_kind(fd);
	preadv_fn f;

	if (kind != FD_NONE)
		return fill_iov(kind, iov, cnt);
	f = (preadv_fn)ds_sym_get(s);
	return f ? f(fd, iov, cnt, off) : ds_libc_missing();
}

DS_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	preadv_fn f = (preadv_fn)REAL_NOW(real_preadv);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, iov, cnt, off);
	return preadv_cold(&real_preadv, fd, iov, cnt, off);
}

DS_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	preadv_fn f = (preadv_fn)REAL_NOW(real_preadv64);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, iov, cnt, off);
	return preadv_cold(&real_preadv64, fd, iov, cnt, off);
}

static DS_COLD ssize_t preadv2_cold(struct ds_sym *s, int fd,
				    const struct iovec *iov, int cnt,
				    off_t off, int flags)
{
	int kind = serve_kind(fd);
	preadv2_fn f;

	if (kind != FD_NONE)
		return fill_iov(kind, iov, cnt);
	f = (preadv2_fn)ds_sym_get(s);
	return f ? f(fd, iov, cnt, off, flags) : ds_libc_missing();
}

DS_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off,
			  int flags)
{
	preadv2_fn f = (preadv2_fn)REAL_NOW(real_preadv2);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, iov, cnt, off, flags);
	return preadv2_cold(&real_preadv2, fd, iov, cnt, off, flags);
}

DS_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt,
			     off_t off, int flags)
{
	preadv2_fn f = (preadv2_fn)REAL_NOW(real_preadv64v2);

	if (DS_LIKELY(kind_of(fd) == FD_NONE && f != NULL))
		return f(fd, iov, cnt, off, flags);
	return preadv2_cold(&real_preadv64v2, fd, iov, cnt, off, flags);
}

/* ---- zero-copy reads: sendfile, splice -------------------------- */

/*
 * sendfile and splice from a served fd are served: the bytes come from
 * the fd's stream, as read() would give them, and are written to the
 * output fd with one write(2) per call (a short count, as both calls may
 * return).  Stream bytes that the write did not take are skipped, never
 * given twice.  splice still needs a pipe on the output side (else
 * EINVAL, as from the kernel).  copy_file_range needs regular files on
 * both sides, so the kernel refuses a random device with EINVAL: it is
 * not hooked.
 */
DS_LIBC_SYM(real_sendfile, "sendfile");
DS_LIBC_SYM(real_sendfile64, "sendfile64");
DS_LIBC_SYM(real_splice, "splice");

DS_SITE(site_sendfile, DS_SRC_URANDOM, "sendfile");
DS_SITE(site_splice, DS_SRC_URANDOM, "splice");

#define DS_COPY_CHUNK 16384 /* bytes per served call: stack-sized */

/* Serve up to n bytes of kind's stream into out_fd; the count written or
 * -1 with errno. */
static ssize_t serve_to_fd(struct ds_site *site, int kind, int out_fd,
			   size_t n)
{
	unsigned char buf[DS_COPY_CHUNK];
	long w;

	if (n > sizeof(buf))
		n = sizeof(buf);
	if (n == 0)
		return 0;
	ds_stream_fill(kind_source(kind), 0, buf, n);
	w = ds_syscall6(SYS_write, out_fd, (long)buf, (long)n, 0, 0, 0);
	if (w < 0) {
		errno = (int)-w;
		return -1;
	}
	ds_event(site, "replaced", "len=%ld", w);
	return (ssize_t)w;
}

typedef ssize_t (*sendfile_fn)(int, int, off_t *, size_t);

static DS_COLD ssize_t do_sendfile(struct ds_sym *s, int out_fd, int in_fd,
				   off_t *off, size_t n)
{
	sendfile_fn f = (sendfile_fn)ds_sym_get(s);
	int kind = serve_kind(in_fd);
	ssize_t r;

	if (kind == FD_NONE)
		return f ? f(out_fd, in_fd, off, n) : ds_libc_missing();
	r = serve_to_fd(&site_sendfile, kind, out_fd, n);
	if (r > 0 && off)
		*off += r;
	return r;
}

DS_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *off, size_t n)
{
	sendfile_fn f = (sendfile_fn)REAL_NOW(real_sendfile);

	if (DS_LIKELY(kind_of(in_fd) == FD_NONE && f != NULL))
		return f(out_fd, in_fd, off, n);
	return do_sendfile(&real_sendfile, out_fd, in_fd, off, n);
}

DS_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *off, size_t n)
{
	sendfile_fn f = (sendfile_fn)REAL_NOW(real_sendfile64);

	if (DS_LIKELY(kind_of(in_fd) == FD_NONE && f != NULL))
		return f(out_fd, in_fd, off, n);
	return do_sendfile(&real_sendfile64, out_fd, in_fd, off, n);
}

typedef ssize_t (*splice_fn)(int, loff_t *, int, loff_t *, size_t, unsigned);

static bool is_pipe(int fd)
{
	struct stat st;

	return ds_syscall6(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) == 0 &&
	       S_ISFIFO(st.st_mode);
}

static DS_COLD ssize_t splice_cold(int in_fd, loff_t *in_off, int out_fd,
				   loff_t *out_off, size_t n, unsigned flags)
{
	splice_fn f = (splice_fn)ds_sym_get(&real_splice);
	int kind = serve_kind(in_fd);
	ssize_t r;

	if (kind == FD_NONE || out_off != NULL || ds_in_sandbox() ||
	    !is_pipe(out_fd))
		return f ? f(in_fd, in_off, out_fd, out_off, n, flags)
			 : ds_libc_missing();
	r = serve_to_fd(&site_splice, kind, out_fd, n);
	if (r > 0 && in_off)
		*in_off += r;
	return r;
}

DS_EXPORT ssize_t splice(int in_fd, loff_t *in_off, int out_fd,
			 loff_t *out_off, size_t n, unsigned flags)
{
	splice_fn f = (splice_fn)REAL_NOW(real_splice);

	if (DS_LIKELY(kind_of(in_fd) == FD_NONE && f != NULL))
		return f(in_fd, in_off, out_fd, out_off, n, flags);
	return splice_cold(in_fd, in_off, out_fd, out_off, n, flags);
}

/* ---- fd lifecycle ------------------------------------------------ */

DS_LIBC_SYM(real_close, "close");
DS_LIBC_SYM(real_dup, "dup");
DS_LIBC_SYM(real_dup2, "dup2");
DS_LIBC_SYM(real_dup3, "dup3");
DS_LIBC_SYM(real_fcntl, "fcntl");
DS_LIBC_SYM(real_fcntl64, "fcntl64");
DS_LIBC_SYM(real_close_range, "close_range");
DS_LIBC_SYM(real_closefrom, "closefrom");

/* A duplicate refers to the same open file: it has the same kind. */
static void copy_kind(int from, int to)
{
	int kind = kind_of(from);

	if ((unsigned)from >= FD_TABLE)
		kind = FD_UNKNOWN;
	if ((unsigned)to < FD_TABLE && kind_of(to) != kind)
		set_kind(to, kind);
}

DS_EXPORT int close(int fd)
{
	int (*f)(int) = ds_sym_get(&real_close);

	forget(fd);
	return f ? f(fd) : ds_libc_missing();
}

DS_EXPORT int dup(int fd)
{
	int (*f)(int) = ds_sym_get(&real_dup);
	int r;

	if (f == NULL)
		return ds_libc_missing();
	r = f(fd);
	if (r >= 0)
		copy_kind(fd, r);
	return r;
}

DS_EXPORT int dup2(int fd, int fd2)
{
	int (*f)(int, int) = ds_sym_get(&real_dup2);
	int r;

	if (f == NULL)
		return ds_libc_missing();
	r = f(fd, fd2);
	if (r >= 0 && fd != fd2)
		copy_kind(fd, r);
	return r;
}

DS_EXPORT int dup3(int fd, int fd2, int flags)
{
	int (*f)(int, int, int) = ds_sym_get(&real_dup3);
	int r;

	if (f == NULL)
		return ds_libc_missing();
	r = f(fd, fd2, flags);
	if (r >= 0)
		copy_kind(fd, r);
	return r;
}

typedef int (*fcntl_fn)(int, int, ...);

/* fcntl's third argument is an int or a pointer; glibc reads it as a
 * pointer-sized word, and so do we.  F_SETFL cannot change the access
 * mode, so only the duplicating commands matter here. */
static int do_fcntl(struct ds_sym *s, int fd, int cmd, void *arg)
{
	fcntl_fn f = (fcntl_fn)ds_sym_get(s);
	int r;

	if (f == NULL)
		return ds_libc_missing();
	r = f(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		copy_kind(fd, r);
	return r;
}

DS_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(&real_fcntl, fd, cmd, arg);
}

DS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(&real_fcntl64, fd, cmd, arg);
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void forget_range(unsigned first, unsigned last)
{
	unsigned fd;

	if (last >= FD_TABLE)
		last = FD_TABLE - 1;
	for (fd = first; fd <= last && fd < FD_TABLE; fd++)
		forget((int)fd);
}

DS_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int (*f)(unsigned, unsigned, int) = ds_sym_get(&real_close_range);
	int r;

	if (f == NULL)
		return ds_libc_missing();
	r = f(first, last, flags);
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		forget_range(first, last);
	return r;
}

DS_EXPORT void closefrom(int lowfd)
{
	void (*f)(int) = ds_sym_get(&real_closefrom);

	if (lowfd >= 0)
		forget_range((unsigned)lowfd, FD_TABLE - 1);
	if (f)
		f(lowfd);
}

/* ---- stdio ------------------------------------------------------ */

/*
 * A FILE on a random device is a fopencookie FILE whose reads come from
 * the stream: glibc's fread and getc read through its internal __read,
 * which no preload sees.  The FILE keeps every other stdio contract:
 *   - fileno() gives the device's descriptor (the FILE's _fileno is set;
 *     glibc marks cookie FILEs with -2, which makes fileno fail);
 *   - seeks go to lseek on that descriptor, so setvbuf after a read,
 *     fseek and ftell give the device's own results and errors;
 *   - freopen (hooked below) turns it into the ordinary FILE that glibc
 *     makes, on the same descriptor number;
 *   - it starts unoriented; the first wide-character read turns it into
 *     that ordinary FILE too (the wide-character section below);
 *   - fclose closes the descriptor.
 * The FILE that fopen opened is released at once without closing its
 * descriptor (the cookie owns it).  Served FILEs are listed in streams[]
 * so that freopen can find their cookie; past DS_STREAMS at once, a FILE
 * is left to the kernel (logged).
 */
DS_LIBC_SYM(real_fopen, "fopen");
DS_LIBC_SYM(real_fopen64, "fopen64");
DS_LIBC_SYM(real_fdopen, "fdopen");
DS_LIBC_SYM(real_fclose, "fclose");
DS_LIBC_SYM(real_freopen, "freopen");
DS_LIBC_SYM(real_freopen64, "freopen64");

DS_SITE(site_freopen, DS_SRC_URANDOM, "freopen");

struct dev_cookie {
	FILE *self; /* the FILE the program holds */
	int fd;     /* the device fd, owned */
	int kind;
	bool known; /* pos is set: the FILE was seeked (cookie_seek) */
	off64_t pos; /* the position glibc would track for the device */
};

#define DS_STREAMS 64
static struct dev_cookie *_Atomic streams[DS_STREAMS];

static bool stream_add(struct dev_cookie *ck)
{
	int i;

	for (i = 0; i < DS_STREAMS; i++) {
		struct dev_cookie *none = NULL;

		if (atomic_compare_exchange_strong(&streams[i], &none, ck))
			return true;
	}
	return false;
}

/* Remove and return fp's cookie; NULL when fp is not a served FILE. */
static struct dev_cookie *stream_take(FILE *fp)
{
	int i;

	for (i = 0; i < DS_STREAMS; i++) {
		struct dev_cookie *ck = atomic_load(&streams[i]);

		if (ck && ck->self == fp &&
		    atomic_compare_exchange_strong(&streams[i], &ck, NULL))
			return ck;
	}
	return NULL;
}

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	struct dev_cookie *ck = c;

	ssize_t r;

	if (!ds_in_sandbox() && device_kind(ck->fd) != ck->kind) {
		errno = EBADF;
		return -1;
	}
	r = fill_read(ck->kind, buf, n);
	if (r > 0 && ck->known)
		ck->pos += r;
	return r;
}

/*
 * The position that ftell reports for an ordinary FILE on the device.
 * The kernel's lseek on a random device succeeds and answers 0, but
 * glibc keeps its own offset for a file FILE once a seek told it one,
 * and counts the bytes it reads from there; so after fseek(f, 16,
 * SEEK_SET) ftell gives 16, then 16 plus what was read.  glibc asks a
 * cookie FILE's seek function for every fseek and ftell (it keeps no
 * offset for it), so this function answers what glibc would have
 * computed: before any seek, the device's 0 (ftell then fails with
 * EINVAL while bytes are buffered, as without the shim); SEEK_SET to the
 * offset asked for; SEEK_CUR relative to the known offset (the device's
 * 0 while none is known); SEEK_END to the device's size, 0.  The device
 * is still asked (lseek is not hooked) so that its errors stay its own.
 * Offsets from one block (4096 bytes) up are where this stops matching:
 * glibc then seeks the kernel to the block and reads the rest, and the
 * kernel's 0 makes ftell give the offset modulo the block
 * (docs/measurements/RELIABILITY.md, "stdio").
 */
static int cookie_seek(void *c, off64_t *pos, int whence)
{
	struct dev_cookie *ck = c;
	off64_t r = lseek64(ck->fd, *pos, whence), to;

	if (r < 0)
		return -1;
	if (whence == SEEK_SET)
		to = *pos;
	else if (whence == SEEK_CUR)
		to = ck->known ? ck->pos + *pos : r;
	else
		to = r;
	if (to < 0) {
		errno = EINVAL;
		return -1;
	}
	/* ftell (SEEK_CUR 0) before any seek leaves nothing known. */
	if (whence != SEEK_CUR || *pos != 0 || ck->known) {
		ck->known = true;
		ck->pos = to;
	}
	*pos = to;
	return 0;
}

static int cookie_close(void *c)
{
	struct dev_cookie *ck = c;
	int r;

	stream_take(ck->self);
	r = close(ck->fd);
	free(ck);
	return r;
}

/* Reads only: a FILE opened for writing on a random device adds entropy
 * to the pool and is left alone. */
static bool read_only_mode(const char *mode)
{
	return mode && mode[0] == 'r' && strchr(mode, '+') == NULL;
}

/* A served FILE for fd, a random device of this kind; NULL when none
 * could be made. */
static FILE *make_stream(int fd, int kind)
{
	cookie_io_functions_t io = { cookie_read, NULL, cookie_seek,
				     cookie_close };
	struct dev_cookie *ck;
	FILE *w;

	ds_inside++;
	ck = malloc(sizeof(*ck));
	w = ck ? fopencookie(ck, "r", io) : NULL;
	ds_inside--;
	if (w == NULL) {
		free(ck);
		return NULL;
	}
	ck->self = w;
	ck->fd = fd;
	ck->kind = kind;
	ck->known = false;
	ck->pos = 0;
	if (!stream_add(ck)) {
		int (*fc)(FILE *) = ds_sym_get(&real_fclose);
		int e = errno;

		ck->fd = -1; /* the descriptor stays the caller's */
		if (fc)
			fc(w);
		errno = e;
		ds_event(&site_fopen, "untracked",
			 "more than %d FILEs on random devices: read by the "
			 "kernel", DS_STREAMS);
		return NULL;
	}
	w->_fileno = fd;
	w->_mode = 0; /* unoriented, as an ordinary FILE (fwide(fp, 0)) */
	ds_event(&site_fopen, "wrapped", "FILE on %s (fd %d) served from the stream",
		 kind == FD_RANDOM ? "/dev/random" : "/dev/urandom", fd);
	return w;
}

/* The kind to serve for a FILE on fd opened with mode, or FD_NONE. */
static int stream_kind(int fd, const char *mode)
{
	int kind;

	if (fd < 0 || !read_only_mode(mode) || kind_of(fd) == FD_NONE ||
	    ds_in_sandbox() || !ds_active())
		return FD_NONE;
	if (!ds_enforce(DS_SRC_URANDOM) && !ds_enforce(DS_SRC_RANDOM))
		return FD_NONE; /* no system call when nothing is served */
	kind = classify(fd); /* the device, and a readable fd */
	if (kind == FD_NONE || !ds_enforce(kind_source(kind)))
		return FD_NONE;
	return kind;
}

/* Release a FILE that glibc opened, keeping its descriptor open. */
static void release_keeping_fd(FILE *fp)
{
	int (*fc)(FILE *) = ds_sym_get(&real_fclose);
	int e = errno;

	if (fc == NULL)
		return;
	fp->_fileno = -1; /* glibc closes no descriptor then */
	fc(fp);
	errno = e;
}

typedef FILE *(*fopen_fn)(const char *, const char *);

static FILE *do_fopen(struct ds_sym *s, const char *path, const char *mode)
{
	fopen_fn f = (fopen_fn)ds_sym_get(s);
	FILE *fp, *w;
	int fd, kind;

	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	fp = f(path, mode);
	if (fp == NULL)
		return NULL;
	fd = fileno(fp);
	opened(fd);
	kind = stream_kind(fd, mode);
	if (kind == FD_NONE)
		return fp;
	w = make_stream(fd, kind);
	if (w == NULL)
		return fp;
	release_keeping_fd(fp);
	return w;
}

DS_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return do_fopen(&real_fopen, path, mode);
}

DS_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return do_fopen(&real_fopen64, path, mode);
}

DS_EXPORT FILE *fdopen(int fd, const char *mode)
{
	FILE *(*f)(int, const char *) = ds_sym_get(&real_fdopen);
	int kind = stream_kind(fd, mode);
	FILE *w;

	/* The FILE takes ownership of fd: closing it closes the fd. */
	if (kind != FD_NONE) {
		w = make_stream(fd, kind);
		if (w) {
			forget(fd);
			return w;
		}
	}
	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	return f(fd, mode);
}

/*
 * freopen of a served FILE: glibc turns the FILE into an ordinary file
 * FILE in place, writing the wide-character area's vtable; fopencookie
 * leaves that area unset ((void *)-1: a crash), so the FILE gets a
 * zeroed one first (never freed: freopen of a served FILE is rare).  The
 * cookie's descriptor stays open, and glibc moves the new file onto its
 * number, as without the shim.
 * A FILE that freopen puts onto a random device is an ordinary FILE,
 * read by the kernel, except stdin: the stdin variable then names a
 * served FILE on the same descriptor (glibc lets programs assign stdin).
 */
#define DS_WIDE_AREA 1024 /* bytes; glibc 2.36's area is about 300 */

typedef FILE *(*freopen_fn)(const char *, const char *, FILE *);

/* freopen of the served FILE fp, whose cookie ck was taken from
 * streams[]: glibc reopens it in place as an ordinary FILE. */
static FILE *reopen_served(freopen_fn f, struct dev_cookie *ck,
			   const char *path, const char *mode, FILE *fp)
{
	void *wide;
	FILE *r;

	ds_inside++;
	wide = calloc(1, DS_WIDE_AREA);
	ds_inside--;
	if (wide == NULL) {
		stream_add(ck);
		errno = ENOMEM;
		return NULL;
	}
	fp->_wide_data = wide;
	r = f(path, mode, fp);
	/* freopen flushed through the cookie first; now the FILE is an
	 * ordinary one and the cookie's fd is the FILE's. */
	free(ck);
	return r;
}

static FILE *do_freopen(struct ds_sym *s, const char *path, const char *mode,
			FILE *fp)
{
	freopen_fn f = (freopen_fn)ds_sym_get(s);
	struct dev_cookie *ck;
	FILE *r, *w;
	int kind;

	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	ck = fp ? stream_take(fp) : NULL;
	r = ck ? reopen_served(f, ck, path, mode, fp) : f(path, mode, fp);
	if (r == NULL || r != stdin)
		return r;
	kind = stream_kind(fileno(r), mode);
	if (kind == FD_NONE)
		return r;
	w = make_stream(fileno(r), kind);
	if (w) {
		stdin = w;
		ds_event(&site_freopen, "wrapped",
			 "stdin reopened on a random device: stdin is a "
			 "served FILE on fd %d", fileno(w));
	}
	return r;
}

DS_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	return do_freopen(&real_freopen, path, mode, fp);
}

DS_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	return do_freopen(&real_freopen64, path, mode, fp);
}

/*
 * Wide-character reads.  glibc gives a fopencookie FILE no wide side:
 * its _wide_data is (void *)-1 (glibc: "a predictable crash"),
 * so fgetwc, fgetws, fwscanf or fwide(fp, 1) on a served FILE would
 * crash where an ordinary FILE on the device works.  The first wide call
 * on a served FILE therefore makes it the ordinary FILE that glibc makes
 * (freopen onto the same device, same descriptor number and
 * close-on-exec flag, as the freopen hook does): from then on the kernel
 * reads it, as without the shim, and the log says so.  Every hook below
 * costs one load and compare on FILEs that are not served.  The scanf
 * family is hooked under the names that <wchar.h> binds programs to
 * (__isoc99_fwscanf for fwscanf, and so on); the pre-C99 names are not
 * (a program built for them before glibc 2.7 is left as it is).
 */
DS_SITE(site_wide, DS_SRC_URANDOM, "wide-character read");

static DS_COLD void unserve_wide(FILE *fp)
{
	freopen_fn f = (freopen_fn)ds_sym_get(&real_freopen);
	struct dev_cookie *ck = f ? stream_take(fp) : NULL;
	int e = errno, fd, kind;
	long fl;

	if (ck == NULL)
		return; /* not ours: glibc's behaviour for any cookie FILE */
	fd = ck->fd;
	kind = ck->kind;
	fl = ds_syscall6(SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0);
	if (reopen_served(f, ck, kind == FD_RANDOM ? "/dev/random" :
				 "/dev/urandom",
			  fl > 0 && (fl & FD_CLOEXEC) ? "re" : "r", fp) == NULL) {
		ds_event(&site_wide, "failed",
			 "wide-character read of a served FILE (fd %d): reopening "
			 "the device failed (error %d); the FILE is closed",
			 fd, errno);
	} else {
		ds_event(&site_wide, "released",
			 "wide-character read of a served FILE (fd %d): cookie "
			 "FILEs have no wide side in glibc, so it is an ordinary "
			 "FILE from now on, read by the kernel", fd);
	}
	errno = e;
}

/* A served FILE is a cookie FILE: no wide area.  Hot path. */
static inline void wide_use(FILE *fp)
{
	if (DS_UNLIKELY(fp != NULL &&
			fp->_wide_data == (struct _IO_wide_data *)-1L))
		unserve_wide(fp);
}

DS_LIBC_SYM(real_fwide, "fwide");
DS_LIBC_SYM(real_fgetwc, "fgetwc");
DS_LIBC_SYM(real_getwc, "getwc");
DS_LIBC_SYM(real_fgetwc_unlocked, "fgetwc_unlocked");
DS_LIBC_SYM(real_getwc_unlocked, "getwc_unlocked");
DS_LIBC_SYM(real_getwchar, "getwchar");
DS_LIBC_SYM(real_getwchar_unlocked, "getwchar_unlocked");
DS_LIBC_SYM(real_ungetwc, "ungetwc");
DS_LIBC_SYM(real_fgetws, "fgetws");
DS_LIBC_SYM(real_fgetws_unlocked, "fgetws_unlocked");
DS_LIBC_SYM(real_fgetws_chk, "__fgetws_chk");
DS_LIBC_SYM(real_fgetws_unlocked_chk, "__fgetws_unlocked_chk");
DS_LIBC_SYM(real_isoc99_vfwscanf, "__isoc99_vfwscanf");
DS_LIBC_SYM(real_isoc99_vwscanf, "__isoc99_vwscanf");

typedef wint_t (*getwc_fn)(FILE *);
typedef wint_t (*getwchar_fn)(void);
typedef wchar_t *(*fgetws_fn)(wchar_t *, int, FILE *);
typedef wchar_t *(*fgetws_chk_fn)(wchar_t *, size_t, int, FILE *);
typedef int (*vfwscanf_fn)(FILE *, const wchar_t *, va_list);
typedef int (*vwscanf_fn)(const wchar_t *, va_list);

static wint_t do_getwc(struct ds_sym *s, FILE *fp)
{
	getwc_fn f = (getwc_fn)ds_sym_get(s);

	wide_use(fp);
	if (f == NULL) {
		ds_libc_missing();
		return WEOF;
	}
	return f(fp);
}

static wint_t do_getwchar(struct ds_sym *s)
{
	getwchar_fn f = (getwchar_fn)ds_sym_get(s);

	wide_use(stdin);
	if (f == NULL) {
		ds_libc_missing();
		return WEOF;
	}
	return f();
}

static wchar_t *do_fgetws(struct ds_sym *s, wchar_t *ws, int n, FILE *fp)
{
	fgetws_fn f = (fgetws_fn)ds_sym_get(s);

	wide_use(fp);
	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	return f(ws, n, fp);
}

static wchar_t *do_fgetws_chk(struct ds_sym *s, wchar_t *ws, size_t size,
			      int n, FILE *fp)
{
	fgetws_chk_fn f = (fgetws_chk_fn)ds_sym_get(s);

	wide_use(fp);
	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	return f(ws, size, n, fp);
}

static int do_vfwscanf(struct ds_sym *s, FILE *fp, const wchar_t *fmt,
		       va_list ap)
{
	vfwscanf_fn f = (vfwscanf_fn)ds_sym_get(s);

	wide_use(fp);
	if (f == NULL)
		return ds_libc_missing();
	return f(fp, fmt, ap);
}

static int do_vwscanf(struct ds_sym *s, const wchar_t *fmt, va_list ap)
{
	vwscanf_fn f = (vwscanf_fn)ds_sym_get(s);

	wide_use(stdin);
	if (f == NULL)
		return ds_libc_missing();
	return f(fmt, ap);
}

DS_EXPORT int fwide(FILE *fp, int mode)
{
	int (*f)(FILE *, int) = ds_sym_get(&real_fwide);

	if (mode > 0)
		wide_use(fp);
	if (f == NULL)
		return ds_libc_missing();
	return f(fp, mode);
}

DS_EXPORT wint_t fgetwc(FILE *fp)
{
	return do_getwc(&real_fgetwc, fp);
}

DS_EXPORT wint_t getwc(FILE *fp)
{
	return do_getwc(&real_getwc, fp);
}

DS_EXPORT wint_t fgetwc_unlocked(FILE *fp)
{
	return do_getwc(&real_fgetwc_unlocked, fp);
}

DS_EXPORT wint_t getwc_unlocked(FILE *fp)
{
	return do_getwc(&real_getwc_unlocked, fp);
}

DS_EXPORT wint_t getwchar(void)
{
	return do_getwchar(&real_getwchar);
}

DS_EXPORT wint_t getwchar_unlocked(void)
{
	return do_getwchar(&real_getwchar_unlocked);
}

DS_EXPORT wint_t ungetwc(wint_t wc, FILE *fp)
{
	wint_t (*f)(wint_t, FILE *) = ds_sym_get(&real_ungetwc);

	wide_use(fp);
	if (f == NULL) {
		ds_libc_missing();
		return WEOF;
	}
	return f(wc, fp);
}

DS_EXPORT wchar_t *fgetws(wchar_t *ws, int n, FILE *fp)
{
	return do_fgetws(&real_fgetws, ws, n, fp);
}

DS_EXPORT wchar_t *fgetws_unlocked(wchar_t *ws, int n, FILE *fp)
{
	return do_fgetws(&real_fgetws_unlocked, ws, n, fp);
}

DS_EXPORT wchar_t *__fgetws_chk(wchar_t *ws, size_t size, int n, FILE *fp)
{
	return do_fgetws_chk(&real_fgetws_chk, ws, size, n, fp);
}

DS_EXPORT wchar_t *__fgetws_unlocked_chk(wchar_t *ws, size_t size, int n,
					 FILE *fp)
{
	return do_fgetws_chk(&real_fgetws_unlocked_chk, ws, size, n, fp);
}

DS_EXPORT int __isoc99_vfwscanf(FILE *fp, const wchar_t *fmt, va_list ap)
{
	return do_vfwscanf(&real_isoc99_vfwscanf, fp, fmt, ap);
}

DS_EXPORT int __isoc99_fwscanf(FILE *fp, const wchar_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = do_vfwscanf(&real_isoc99_vfwscanf, fp, fmt, ap);
	va_end(ap);
	return r;
}

DS_EXPORT int __isoc99_vwscanf(const wchar_t *fmt, va_list ap)
{
	return do_vwscanf(&real_isoc99_vwscanf, fmt, ap);
}

DS_EXPORT int __isoc99_wscanf(const wchar_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = do_vwscanf(&real_isoc99_vwscanf, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * At start-up: a stdin that is already a random device (`od < /dev/urandom`,
 * inherited across exec) becomes a served FILE, so that stdio reads of it
 * are served like read(0, ...).  One fstat of fd 0 when a random device is
 * served (two calls when fd 0 is a character device).
 */
void ds_devrandom_init(void)
{
	int kind;
	FILE *w;

	if (!ds_enforce(DS_SRC_URANDOM) && !ds_enforce(DS_SRC_RANDOM))
		return;
	kind = classify(0);
	if (kind == FD_NONE || !ds_enforce(kind_source(kind)))
		return;
	w = make_stream(0, kind);
	if (w)
		stdin = w;
}

/* ---- seccomp ----------------------------------------------------- */

DS_SITE(site_sandbox, DS_SRC_URANDOM, "seccomp");

static int classify_now(int fd)
{
	int kind;

	if ((unsigned)fd >= FD_TABLE || kind_of(fd) != FD_UNKNOWN)
		return 0;
	kind = classify(fd);
	set_kind(fd, kind);
	return kind != FD_NONE;
}

/*
 * Just before the program enters seccomp: classify every open fd now
 * (the /proc/self/fd list, else the numbers below 1024), so that a
 * random device opened before the sandbox is served after it without a
 * system call (docs/measurements/RELIABILITY.md, "Sandboxes").
 */
void ds_devrandom_before_sandbox(void)
{
	char buf[4096];
	int dfd, fd, found = 0;
	long n;

	if (!ds_watch(DS_SRC_URANDOM) && !ds_watch(DS_SRC_RANDOM))
		return;
	dfd = ds_sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			  0);
	if (dfd < 0) {
		for (fd = 0; fd < 1024; fd++)
			found += classify_now(fd);
	} else {
		while ((n = ds_syscall6(SYS_getdents64, dfd, (long)buf,
					sizeof(buf), 0, 0, 0)) > 0) {
			long off = 0;

			while (off < n) {
				const struct dirent64 *d =
					(const struct dirent64 *)(buf + off);
				const char *c = d->d_name;

				off += d->d_reclen;
				for (fd = 0; *c >= '0' && *c <= '9' &&
					     fd < FD_TABLE; c++)
					fd = fd * 10 + (*c - '0');
				if (*c == '\0' && c != d->d_name && fd != dfd)
					found += classify_now(fd);
			}
		}
		ds_sys_close(dfd);
	}
	ds_event(&site_sandbox, "tracked",
		 "%d random-device fds classified before seccomp; later "
		 "opens are read by the kernel", found);
}

