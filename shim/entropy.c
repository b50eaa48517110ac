/*
 * entropy.c - kernel entropy: getrandom, getentropy, arc4random*,
 * syscall(SYS_getrandom), and reads of /dev/urandom and /dev/random.
 *
 * Each exported entry point is hooked by itself: glibc's arc4random and
 * getentropy make their own inline system call and never reach the
 * exported getrandom (cpu.md §0.1).
 *
 * Random devices are recognised by device number after a successful
 * real open (char 1:9 urandom, 1:8 random), which covers symlinks,
 * /dev/./urandom, openat with a dirfd and /proc/self/fd/N (cpu.md §1.4).
 * A byte table indexed by fd marks them; read/pread/readv on any other
 * fd cost one byte load.  The table can go stale when an fd is closed
 * behind our back (raw syscalls, close_range from a library, exec), so
 * every read of a marked fd re-checks the device with fstat before
 * serving stream bytes: a regular file reusing the number is never
 * corrupted.  stdio: fopen/fdopen of a random device returns a
 * fopencookie FILE whose reads come from the stream (fread and getc use
 * glibc's internal read and would bypass the read hook); fileno() on it
 * returns -1.
 *
 * Contracts kept (style.md §6): getrandom rejects unknown flags and
 * GRND_INSECURE|GRND_RANDOM with EINVAL, accepts len 0 without touching
 * buf, never fails with EAGAIN/ENOSYS/EPERM (callers switch to weaker
 * sources on those: cpu.md §0.6); getentropy refuses > 256 bytes with
 * EIO; a NULL buffer with a non-zero length fails with EFAULT; reads
 * never write beyond what was asked.  Everything here is lock-free and
 * async-signal-safe except the stdio wrappers.
 */
#include "detshim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 0x01
#endif
#ifndef GRND_RANDOM
#define GRND_RANDOM 0x02
#endif
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x04
#endif

/* Largest single transfer the kernel does (MAX_RW_COUNT on x86-64). */
#define DS_MAX_RW 0x7ffff000UL

/* ------------------------------------------------------------------ */
/* getrandom and friends */

DS_LIBC_SYM(real_getrandom, "getrandom");
DS_LIBC_SYM(real_getentropy, "getentropy");
DS_LIBC_SYM(real_arc4random, "arc4random");
DS_LIBC_SYM(real_arc4random_buf, "arc4random_buf");
DS_LIBC_SYM(real_arc4random_uniform, "arc4random_uniform");
DS_LIBC_SYM(real_syscall, "syscall");

DS_SITE(site_getrandom, DS_SRC_GETRANDOM, "getrandom");
DS_SITE(site_sys_getrandom, DS_SRC_GETRANDOM, "syscall(SYS_getrandom)");
DS_SITE(site_getentropy, DS_SRC_GETENTROPY, "getentropy");
DS_SITE(site_arc4random, DS_SRC_ARC4RANDOM, "arc4random");
DS_SITE(site_arc4random_buf, DS_SRC_ARC4RANDOM, "arc4random_buf");
DS_SITE(site_arc4random_uniform, DS_SRC_ARC4RANDOM, "arc4random_uniform");

/*
 * Would the kernel accept [buf, buf+n) as user memory (access_ok)?  A
 * range that wraps or leaves the user half fails there with EFAULT
 * before anything is written; the shim answers the same instead of
 * writing until it faults.  (A range inside the user half that is not
 * all mapped still faults here where the kernel would return short.)
 * x86-64: 47-bit user space, or 56-bit when the buffer itself lies
 * above it (5-level paging).
 */
static bool user_range_ok(const void *buf, size_t n)
{
#if defined(__x86_64__)
	const uintptr_t low = UINT64_C(0x00007ffffffff000);
	const uintptr_t high = UINT64_C(0x00fffffffffff000);
	uintptr_t top = (uintptr_t)buf < low ? low : high;
#elif defined(__aarch64__)
	const uintptr_t top = UINT64_C(0x0010000000000000);
#else
	const uintptr_t top = UINTPTR_MAX;
#endif
	uintptr_t p = (uintptr_t)buf;

	return p < top && n <= top - p;
}

/*
 * The deterministic getrandom.  Sub-streams are keyed by (length, flags):
 * CPython's 24-byte hash-secret draw, its 2496-byte random-module seed
 * and NumPy's 16-byte SeedSequence each get their own stream, so an
 * extra import that draws earlier does not shift the others (cpu.md
 * §2.1).  Returns bytes written or -errno.
 */
static long det_getrandom(struct ds_site *site, void *buf, size_t len,
			  unsigned flags)
{
	if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	if ((flags & GRND_INSECURE) && (flags & GRND_RANDOM))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (buf == NULL)
		return -EFAULT;
	if (len > DS_MAX_RW)
		len = DS_MAX_RW;
	if (!user_range_ok(buf, len))
		return -EFAULT; /* the kernel checks after its own cap */
	ds_stream_fill(DS_SRC_GETRANDOM, ((uint64_t)len << 8) | flags, buf, len);
	ds_event(site, "replaced", "len=%zu flags=%u", len, flags);
	return (long)len;
}

DS_EXPORT ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
	ssize_t (*f)(void *, size_t, unsigned);
	long r;

	if (ds_active() && ds_enforce(DS_SRC_GETRANDOM)) {
		r = det_getrandom(&site_getrandom, buf, len, flags);
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return r;
	}
	if (ds_active() && ds_watch(DS_SRC_GETRANDOM))
		ds_event(&site_getrandom, "observed", "len=%zu flags=%u", len,
			 flags);
	f = ds_sym_get(&real_getrandom);
	if (f)
		return f(buf, len, flags);
	r = ds_syscall6(SYS_getrandom, (long)buf, (long)len, flags, 0, 0, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

DS_EXPORT int getentropy(void *buf, size_t len)
{
	int (*f)(void *, size_t);

	if (ds_active() && ds_enforce(DS_SRC_GETENTROPY)) {
		if (len > 256) {
			errno = EIO;
			return -1;
		}
		if (len && buf == NULL) {
			errno = EFAULT;
			return -1;
		}
		ds_stream_fill(DS_SRC_GETENTROPY, len, buf, len);
		ds_event(&site_getentropy, "replaced", "len=%zu", len);
		return 0;
	}
	if (ds_active() && ds_watch(DS_SRC_GETENTROPY))
		ds_event(&site_getentropy, "observed", "len=%zu", len);
	f = ds_sym_get(&real_getentropy);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(buf, len);
}

/* arc4random: three sub-streams, one per entry point. */
DS_EXPORT uint32_t arc4random(void)
{
	uint32_t (*f)(void);

	if (ds_active() && ds_enforce(DS_SRC_ARC4RANDOM)) {
		ds_event(&site_arc4random, "replaced", "4 bytes");
		return ds_stream_u32(DS_SRC_ARC4RANDOM, 0);
	}
	if (ds_active() && ds_watch(DS_SRC_ARC4RANDOM))
		ds_event(&site_arc4random, "observed", "4 bytes");
	f = ds_sym_get(&real_arc4random);
	/* A caller reached the libc symbol, so it exists; if not, a value
	 * from the stream is still better than calling NULL. */
	return f ? f() : ds_stream_u32(DS_SRC_ARC4RANDOM, 0);
}

DS_EXPORT void arc4random_buf(void *buf, size_t n)
{
	void (*f)(void *, size_t);

	if (ds_active() && ds_enforce(DS_SRC_ARC4RANDOM)) {
		ds_stream_fill(DS_SRC_ARC4RANDOM, 1, buf, n);
		ds_event(&site_arc4random_buf, "replaced", "len=%zu", n);
		return;
	}
	if (ds_active() && ds_watch(DS_SRC_ARC4RANDOM))
		ds_event(&site_arc4random_buf, "observed", "len=%zu", n);
	f = ds_sym_get(&real_arc4random_buf);
	if (f)
		f(buf, n);
	else
		ds_stream_fill(DS_SRC_ARC4RANDOM, 1, buf, n);
}

DS_EXPORT uint32_t arc4random_uniform(uint32_t bound)
{
	uint32_t (*f)(uint32_t);

	if (ds_active() && ds_enforce(DS_SRC_ARC4RANDOM)) {
		uint32_t min, r;

		ds_event(&site_arc4random_uniform, "replaced", "bound=%u",
			 bound);
		if (bound < 2)
			return 0;
		/* Rejection sampling, no modulo bias: 2^32 mod bound. */
		min = (uint32_t)(-bound) % bound;
		do
			r = ds_stream_u32(DS_SRC_ARC4RANDOM, 2);
		while (r < min);
		return r % bound;
	}
	if (ds_active() && ds_watch(DS_SRC_ARC4RANDOM))
		ds_event(&site_arc4random_uniform, "observed", "bound=%u",
			 bound);
	f = ds_sym_get(&real_arc4random_uniform);
	return f ? f(bound) : 0;
}

/*
 * syscall(): only SYS_getrandom is served; every other number passes
 * through with all six arguments (reading six longs from a variadic call
 * is how glibc's own syscall() works on x86-64 and aarch64).
 */
DS_EXPORT long syscall(long nr, ...)
{
	long (*f)(long, ...);
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_getrandom && ds_active() &&
	    ds_enforce(DS_SRC_GETRANDOM)) {
		long r = det_getrandom(&site_sys_getrandom, (void *)a[0],
				       (size_t)a[1], (unsigned)a[2]);

		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return r;
	}
	f = ds_sym_get(&real_syscall);
	if (f)
		return f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	{
		long r = ds_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);

		if (r < 0 && r > -4096) {
			errno = (int)-r;
			return -1;
		}
		return r;
	}
}

/* ------------------------------------------------------------------ */
/* Random-device file descriptors */

#define FD_TABLE 65536
enum { FD_NONE = 0, FD_URANDOM = 1, FD_RANDOM = 2 };

static atomic_uchar fd_kind[FD_TABLE];

DS_SITE(site_open, DS_SRC_URANDOM, "open");
DS_SITE(site_untracked, DS_SRC_URANDOM, "open");
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

/* Remember fd if it is a random device the configuration watches and is
 * open for reading: a read of a write-only fd must still fail with EBADF. */
static void mark_fd(int fd)
{
	int kind = device_kind(fd);
	long fl;

	if (kind == FD_NONE || !ds_watch(kind_source(kind)))
		return;
	fl = ds_syscall6(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY)
		return;
	if (fd >= FD_TABLE) {
		ds_event(&site_untracked, "untracked",
			 "fd %d above the table size %d: reads not replaced",
			 fd, FD_TABLE);
		return;
	}
	atomic_store_explicit(&fd_kind[fd], (unsigned char)kind,
			      memory_order_release);
	ds_event(&site_open, "tracked", "fd=%d device=%s", fd,
		 kind == FD_RANDOM ? "/dev/random" : "/dev/urandom");
}

/* After a real open: one fstat, then remember random devices. */
static int track_open(int fd)
{
	if (fd >= 0 && ds_active())
		mark_fd(fd);
	return fd;
}

static inline int tracked(int fd)
{
	if ((unsigned)fd >= FD_TABLE)
		return FD_NONE;
	return atomic_load_explicit(&fd_kind[fd], memory_order_relaxed);
}

static inline void untrack(int fd)
{
	if ((unsigned)fd < FD_TABLE &&
	    atomic_load_explicit(&fd_kind[fd], memory_order_relaxed))
		atomic_store_explicit(&fd_kind[fd], FD_NONE,
				      memory_order_relaxed);
}

/*
 * Decide whether a read of a marked fd is served from the stream.
 * Returns the source, or -1 to pass the read to the kernel.  Clears a
 * stale mark (the fd is no longer a random device).
 */
static int serve_source(int fd, int kind)
{
	enum ds_source src = kind_source(kind);

	if (!ds_active())
		return -1;
	if (device_kind(fd) != kind) {
		untrack(fd);
		return -1;
	}
	if (!ds_enforce(src)) {
		if (ds_watch(src))
			ds_event(kind == FD_RANDOM ? &site_read_r : &site_read_u,
				 "observed", "fd=%d (policy: not replaced)", fd);
		return -1;
	}
	return (int)src;
}

static ssize_t fill_read(int kind, void *buf, size_t n)
{
	enum ds_source src = kind_source(kind);

	if (n == 0)
		return 0;
	/* read(2) checks the whole range before capping the count. */
	if (buf == NULL || !user_range_ok(buf, n)) {
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
			  !user_range_ok(iov[i].iov_base, n))) {
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

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);

static int do_open(struct ds_sym *s, const char *path, int flags, mode_t mode)
{
	open_fn f = (open_fn)ds_sym_get(s);

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return track_open(f(path, flags, mode));
}

static int do_openat(struct ds_sym *s, int dirfd, const char *path, int flags,
		     mode_t mode)
{
	openat_fn f = (openat_fn)ds_sym_get(s);

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return track_open(f(dirfd, path, flags, mode));
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

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return track_open(f(path, flags));
}

static int do_openat2(struct ds_sym *s, int dirfd, const char *path, int flags)
{
	openat2_fn f = (openat2_fn)ds_sym_get(s);

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return track_open(f(dirfd, path, flags));
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

/* Hot path: one byte load for an unmarked fd, then the real call. */
DS_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	ssize_t (*f)(int, void *, size_t);
	int kind = tracked(fd);

	if (DS_UNLIKELY(kind) && serve_source(fd, kind) >= 0)
		return fill_read(kind, buf, n);
	f = ds_sym_get(&real_read);
	if (DS_UNLIKELY(f == NULL)) {
		long r = ds_syscall6(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);

		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return r;
	}
	return f(fd, buf, n);
}

DS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	ssize_t (*f)(int, void *, size_t, size_t) = ds_sym_get(&real_read_chk);
	int kind = tracked(fd);

	/* n > buflen is a buffer overflow: let the real one abort. */
	if (DS_UNLIKELY(kind) && n <= buflen && serve_source(fd, kind) >= 0)
		return fill_read(kind, buf, n);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, buf, n, buflen);
}

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pread_chk_fn)(int, void *, size_t, off_t, size_t);

static ssize_t do_pread(struct ds_sym *s, int fd, void *buf, size_t n,
			off_t off)
{
	pread_fn f;
	int kind = tracked(fd);

	if (DS_UNLIKELY(kind) && serve_source(fd, kind) >= 0)
		return fill_read(kind, buf, n);
	f = (pread_fn)ds_sym_get(s);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, buf, n, off);
}

static ssize_t do_pread_chk(struct ds_sym *s, int fd, void *buf, size_t n,
			    off_t off, size_t buflen)
{
	pread_chk_fn f;
	int kind = tracked(fd);

	if (DS_UNLIKELY(kind) && n <= buflen && serve_source(fd, kind) >= 0)
		return fill_read(kind, buf, n);
	f = (pread_chk_fn)ds_sym_get(s);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, buf, n, off, buflen);
}

DS_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return do_pread(&real_pread, fd, buf, n, off);
}

DS_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return do_pread(&real_pread64, fd, buf, n, off);
}

DS_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
			      size_t buflen)
{
	return do_pread_chk(&real_pread_chk, fd, buf, n, off, buflen);
}

DS_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
				size_t buflen)
{
	return do_pread_chk(&real_pread64_chk, fd, buf, n, off, buflen);
}

DS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	ssize_t (*f)(int, const struct iovec *, int);
	int kind = tracked(fd);

	if (DS_UNLIKELY(kind) && serve_source(fd, kind) >= 0)
		return fill_iov(kind, iov, cnt);
	f = ds_sym_get(&real_readv);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, iov, cnt);
}

typedef ssize_t (*preadv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*preadv2_fn)(int, const struct iovec *, int, off_t, int);

static ssize_t do_preadv(struct ds_sym *s, int fd, const struct iovec *iov,
			 int cnt, off_t off)
{
	preadv_fn f;
	int kind = tracked(fd);

	if (DS_UNLIKELY(kind) && serve_source(fd, kind) >= 0)
		return fill_iov(kind, iov, cnt);
	f = (preadv_fn)ds_sym_get(s);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, iov, cnt, off);
}

static ssize_t do_preadv2(struct ds_sym *s, int fd, const struct iovec *iov,
			  int cnt, off_t off, int flags)
{
	preadv2_fn f;
	int kind = tracked(fd);

	if (DS_UNLIKELY(kind) && serve_source(fd, kind) >= 0)
		return fill_iov(kind, iov, cnt);
	f = (preadv2_fn)ds_sym_get(s);
	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, iov, cnt, off, flags);
}

DS_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return do_preadv(&real_preadv, fd, iov, cnt, off);
}

DS_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return do_preadv(&real_preadv64, fd, iov, cnt, off);
}

DS_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off,
			  int flags)
{
	return do_preadv2(&real_preadv2, fd, iov, cnt, off, flags);
}

DS_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt,
			     off_t off, int flags)
{
	return do_preadv2(&real_preadv64v2, fd, iov, cnt, off, flags);
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

static void copy_mark(int from, int to)
{
	int kind = tracked(from);

	if ((unsigned)to >= FD_TABLE)
		return;
	atomic_store_explicit(&fd_kind[to], (unsigned char)kind,
			      memory_order_release);
}

DS_EXPORT int close(int fd)
{
	int (*f)(int) = ds_sym_get(&real_close);

	untrack(fd);
	if (f == NULL)
		return ds_sys_close(fd);
	return f(fd);
}

DS_EXPORT int dup(int fd)
{
	int (*f)(int) = ds_sym_get(&real_dup);
	int r;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = f(fd);
	if (r >= 0)
		copy_mark(fd, r);
	return r;
}

DS_EXPORT int dup2(int fd, int fd2)
{
	int (*f)(int, int) = ds_sym_get(&real_dup2);
	int r;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = f(fd, fd2);
	if (r >= 0 && fd != fd2)
		copy_mark(fd, r);
	return r;
}

DS_EXPORT int dup3(int fd, int fd2, int flags)
{
	int (*f)(int, int, int) = ds_sym_get(&real_dup3);
	int r;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = f(fd, fd2, flags);
	if (r >= 0)
		copy_mark(fd, r);
	return r;
}

typedef int (*fcntl_fn)(int, int, ...);

/* fcntl's third argument is an int or a pointer; glibc reads it as a
 * pointer-sized word, and so do we. */
static int do_fcntl(struct ds_sym *s, int fd, int cmd, void *arg)
{
	fcntl_fn f = (fcntl_fn)ds_sym_get(s);
	int r;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = f(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		copy_mark(fd, r);
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

static void untrack_range(unsigned first, unsigned last)
{
	unsigned fd;

	if (last >= FD_TABLE)
		last = FD_TABLE - 1;
	for (fd = first; fd <= last && fd < FD_TABLE; fd++)
		untrack((int)fd);
}

DS_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int (*f)(unsigned, unsigned, int) = ds_sym_get(&real_close_range);
	int r;

	if (f == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = f(first, last, flags);
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		untrack_range(first, last);
	return r;
}

DS_EXPORT void closefrom(int lowfd)
{
	void (*f)(int) = ds_sym_get(&real_closefrom);

	if (lowfd >= 0)
		untrack_range((unsigned)lowfd, FD_TABLE - 1);
	if (f)
		f(lowfd);
}

/* ---- stdio ------------------------------------------------------- */

DS_LIBC_SYM(real_fopen, "fopen");
DS_LIBC_SYM(real_fopen64, "fopen64");
DS_LIBC_SYM(real_fdopen, "fdopen");
DS_LIBC_SYM(real_fclose, "fclose");

struct dev_cookie {
	FILE *inner; /* the real FILE, or NULL (fdopen: fd only) */
	int fd;      /* the device fd */
	int kind;
};

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	struct dev_cookie *ck = c;

	if (device_kind(ck->fd) != ck->kind) {
		errno = EBADF;
		return -1;
	}
	return fill_read(ck->kind, buf, n);
}

static int cookie_close(void *c)
{
	struct dev_cookie *ck = c;
	int (*fc)(FILE *) = ds_sym_get(&real_fclose);
	int r;

	if (ck->inner && fc)
		r = fc(ck->inner);
	else
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

static FILE *wrap_stream(FILE *inner, int fd, const char *mode)
{
	cookie_io_functions_t io = { cookie_read, NULL, NULL, cookie_close };
	struct dev_cookie *ck;
	FILE *wrapped;
	int kind;

	if (fd < 0 || !read_only_mode(mode) || !ds_active())
		return NULL;
	kind = device_kind(fd);
	if (kind == FD_NONE || !ds_enforce(kind_source(kind)))
		return NULL;
	ds_inside++;
	ck = malloc(sizeof(*ck));
	wrapped = ck ? fopencookie(ck, "r", io) : NULL;
	ds_inside--;
	if (wrapped == NULL) {
		free(ck);
		return NULL;
	}
	ck->inner = inner;
	ck->fd = fd;
	ck->kind = kind;
	ds_event(&site_fopen, "wrapped",
		 "FILE on %s served from the stream (fileno() is -1)",
		 kind == FD_RANDOM ? "/dev/random" : "/dev/urandom");
	return wrapped;
}

typedef FILE *(*fopen_fn)(const char *, const char *);

static FILE *do_fopen(struct ds_sym *s, const char *path, const char *mode)
{
	fopen_fn f = (fopen_fn)ds_sym_get(s);
	FILE *fp, *w;

	if (f == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	fp = f(path, mode);
	if (fp == NULL)
		return NULL;
	w = wrap_stream(fp, fileno(fp), mode);
	return w ? w : fp;
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
	FILE *w;

	/* The FILE takes ownership of fd: closing it closes the fd. */
	w = wrap_stream(NULL, fd, mode);
	if (w) {
		untrack(fd);
		return w;
	}
	if (f == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	return f(fd, mode);
}

/* ---- start-up ---------------------------------------------------- */

/* Mark random-device fds inherited across exec (cpu.md §1.4). */
void ds_entropy_init(void)
{
	char buf[4096];
	int dir;
	long n;

	dir = ds_sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			  0);
	if (dir < 0)
		return;
	while ((n = ds_syscall6(SYS_getdents64, dir, (long)buf, sizeof(buf), 0,
				0, 0)) > 0) {
		long off = 0;

		while (off < n) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			char *end;
			long fd = strtol(d->name, &end, 10);

			if (*end == '\0' && end != d->name && fd != dir)
				mark_fd((int)fd);
			off += d->reclen;
		}
	}
	ds_sys_close(dir);
}
