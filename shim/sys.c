/*
 * sys.c - raw system calls for the shim's own I/O.
 *
 * The shim interposes open, read, close and syscall, so its own log and
 * config I/O must never go through those symbols: a call through the PLT
 * would land in our own hook (docs/CPU_FACTS.md §7.2, "self-interposition").
 * These wrappers issue the system call instruction directly.  They are
 * async-signal-safe and usable before init.  Errors come back as -errno
 * from ds_syscall6; the typed wrappers return -1 and leave errno alone
 * (the shim must not change the caller's errno), except ds_sys_open,
 * which returns -errno.
 */
#include "detshim.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

long ds_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
#else
#error "detshim: ds_syscall6 needs a port for this architecture"
#endif
}

int ds_sys_open(const char *path, int flags, int mode)
{
	return (int)ds_syscall6(SYS_openat, AT_FDCWD, (long)path, flags, mode,
				0, 0);
}

ssize_t ds_sys_write(int fd, const void *buf, size_t n)
{
	long r;

	do {
		r = ds_syscall6(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
	} while (r == -EINTR);
	return r < 0 ? -1 : (ssize_t)r;
}

int ds_sys_close(int fd)
{
	return ds_syscall6(SYS_close, fd, 0, 0, 0, 0, 0) < 0 ? -1 : 0;
}

long ds_sys_getpid(void)
{
	return ds_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
}
