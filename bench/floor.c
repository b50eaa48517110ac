/* floor.c - the floor of any interposer, for bench/run.sh: a preload that
 * hooks read, pread, open, openat, fopen and close with a bare tail jump
 * to the real function (resolved in its constructor).  Its cost over no
 * preload is what loading an object and passing a call through cost;
 * detshim's is measured against both.
 *   cc -O2 -fPIC -shared -o floor.so bench/floor.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))

static ssize_t (*r_read)(int, void *, size_t);
static ssize_t (*r_pread)(int, void *, size_t, off_t);
static int (*r_open)(const char *, int, int);
static int (*r_openat)(int, const char *, int, int);
static FILE *(*r_fopen)(const char *, const char *);
static int (*r_close)(int);

__attribute__((constructor)) static void resolve(void)
{
	*(void **)&r_read = dlsym(RTLD_NEXT, "read");
	*(void **)&r_pread = dlsym(RTLD_NEXT, "pread");
	*(void **)&r_open = dlsym(RTLD_NEXT, "open");
	*(void **)&r_openat = dlsym(RTLD_NEXT, "openat");
	*(void **)&r_fopen = dlsym(RTLD_NEXT, "fopen");
	*(void **)&r_close = dlsym(RTLD_NEXT, "close");
}

EXPORT ssize_t read(int fd, void *b, size_t n) { return r_read(fd, b, n); }
EXPORT ssize_t pread(int fd, void *b, size_t n, off_t o) { return r_pread(fd, b, n, o); }
/* The mode is read as the third word whatever the flags: the same call
 * the variadic prototype makes on x86-64 and aarch64. */
EXPORT int open(const char *p, int f, int m) { return r_open(p, f, m); }
EXPORT int openat(int d, const char *p, int f, int m) { return r_openat(d, p, f, m); }
EXPORT FILE *fopen(const char *p, const char *m) { return r_fopen(p, m); }
EXPORT int close(int fd) { return r_close(fd); }
