/*
 * entropy.c - kernel entropy: getrandom, getentropy, arc4random*, and
 * syscall(SYS_getrandom).  Reads of /dev/urandom and /dev/random are in
 * devrandom.c.
 *
 * Each exported entry point is hooked by itself: glibc's arc4random and
 * getentropy make their own inline system call and never reach the
 * exported getrandom (docs/CPU_FACTS.md §0.1).
 *
 * Contracts kept: getrandom rejects unknown flags and
 * GRND_INSECURE|GRND_RANDOM with EINVAL, accepts len 0 without touching
 * buf, never fails with EAGAIN/ENOSYS/EPERM (callers switch to weaker
 * sources on those); getentropy refuses > 256 bytes with EIO; a NULL
 * buffer with a non-zero length fails with EFAULT.  Everything here is
 * lock-free and async-signal-safe.
 */
#include "detshim.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#ifndef GRND_NONBLOCK
#define GRND_NONBLOCK 0x01
#endif
#ifndef GRND_RANDOM
#define GRND_RANDOM 0x02
#endif
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x04
#endif

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
 * The deterministic getrandom.  Sub-streams are keyed by (length, flags):
 * CPython's 24-byte hash-secret draw, its 2496-byte random-module seed
 * and NumPy's 16-byte SeedSequence each get their own stream, so an
 * extra import that draws earlier does not shift the others.  Returns bytes written or -errno.
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
	if (!ds_user_range_ok(buf, len))
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
	return f ? f(buf, len, flags) : ds_libc_missing();
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
	return f ? f(buf, len) : ds_libc_missing();
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
	/* Missing (detshim.h): it cannot fail, so it serves the stream. */
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

/* A uniform value below bound from the arc4random_uniform stream. */
static uint32_t stream_uniform(uint32_t bound)
{
	uint32_t min, r;

	if (bound < 2)
		return 0;
	/* Rejection sampling, no modulo bias: 2^32 mod bound. */
	min = (uint32_t)(-bound) % bound;
	do
		r = ds_stream_u32(DS_SRC_ARC4RANDOM, 2);
	while (r < min);
	return r % bound;
}

DS_EXPORT uint32_t arc4random_uniform(uint32_t bound)
{
	uint32_t (*f)(uint32_t);

	if (ds_active() && ds_enforce(DS_SRC_ARC4RANDOM)) {
		ds_event(&site_arc4random_uniform, "replaced", "bound=%u",
			 bound);
		return stream_uniform(bound);
	}
	if (ds_active() && ds_watch(DS_SRC_ARC4RANDOM))
		ds_event(&site_arc4random_uniform, "observed", "bound=%u",
			 bound);
	f = ds_sym_get(&real_arc4random_uniform);
	return f ? f(bound) : stream_uniform(bound);
}

/*
 * syscall(): only SYS_getrandom is served; seccomp(2) and
 * prctl(PR_SET_SECCOMP) are bracketed by the sandbox rules of process.c;
 * every other number passes through with all six arguments (reading six longs from a variadic call
 * is how glibc's own syscall() works on x86-64 and aarch64).
 */
DS_EXPORT long syscall(long nr, ...)
{
	long (*f)(long, ...);
	long a[6], ret;
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
	if (f == NULL)
		return ds_libc_missing();
	if (DS_UNLIKELY(ds_sandbox_call(nr, a[0]))) {
		ds_sandbox_before();
		ret = f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		ds_sandbox_after(ret);
		return ret;
	}
	ret = f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	ds_prov_note_syscall(nr, a, ret); /* clocks and ids: provenance.c */
	return ret;
}
