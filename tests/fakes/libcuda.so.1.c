/*
 * Fake libcuda.so.1 for the hook tests (docs/DESIGN.md §8.14): a driver entry
 * point table behind cuGetProcAddress, device queries for the
 * fingerprint, and "device" memory that is host memory full of garbage.
 *
 * New allocations are filled with 0xAB ("uninitialised"), so a test sees
 * whether the shim's fill ran.  Call hashing (cuda_hooks/hash_calls.c)
 * reads them through cuPointerGetAttribute (device memory is what
 * cuMemAlloc_v2 handed out; anything else answers INVALID_VALUE, as host
 * memory does), cuStreamIsCapturing (FAKE_CUDA_CAPTURING=1: every
 * stream is being captured), cuStreamSynchronize and cuMemcpyDtoHAsync_v2
 * (a copy that leaves an allocation fails); fake_cuda_copies() counts
 * the copies.  FAKE_CUDA_OTHER_CAPTURE=1 plays another thread capturing
 * in global mode: both then fail unless this thread's capture mode is
 * relaxed (cuThreadExchangeStreamCaptureMode); fake_cuda_capture_mode()
 * reads the thread's mode.  cuMemAllocFromPoolAsync is deliberately
 * missing (not exported, not in the table): the shim must never hand out
 * a wrapper for it.  cuMemAlloc below version 3020 is the 32-bit v1 ABI.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long dptr;

#define OK 0
#define INVALID 1
#define NOT_INIT 3
#define NOT_FOUND 500

static int inited;
static int memsets;
static int copies;

/* The allocations, for cuPointerGetAttribute and the copies. */
#define MAX_ALLOCS 256
static struct {
	dptr base;
	size_t size;
} allocs[MAX_ALLOCS];

int cuInit(unsigned flags)
{
	if (flags != 0)
		return INVALID;
	inited = 1;
	return OK;
}

int cuDriverGetVersion(int *v) { *v = 13000; return OK; }

int cuDeviceGetCount(int *n)
{
	if (!inited)
		return NOT_INIT;
	*n = 1;
	return OK;
}

int cuDeviceGet(int *d, int ordinal)
{
	if (!inited)
		return NOT_INIT;
	if (ordinal != 0)
		return INVALID;
	*d = 0;
	return OK;
}

int cuDeviceGetName(char *name, int len, int d)
{
	(void)d;
	strncpy(name, "Fake GPU", (size_t)len);
	return OK;
}

int cuDeviceGetAttribute(int *v, int attr, int d)
{
	(void)d;
	switch (attr) {
	case 16: *v = 7; return OK;  /* SMs */
	case 75: *v = 9; return OK;  /* CC major */
	case 76: *v = 0; return OK;  /* CC minor */
	default: return INVALID;
	}
}

int cuDeviceGetUuid_v2(unsigned char *u, int d)
{
	int i;

	(void)d;
	for (i = 0; i < 16; i++)
		u[i] = (unsigned char)(0x10 + i);
	return OK;
}

static dptr fake_alloc(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	int i;

	memset(p, 0xAB, n);
	for (i = 0; i < MAX_ALLOCS; i++)
		if (allocs[i].base == 0) {
			allocs[i].base = (dptr)(uintptr_t)p;
			allocs[i].size = n;
			break;
		}
	return (dptr)(uintptr_t)p;
}

/* The allocation holding [p, p+n), or -1. */
static int alloc_of(dptr p, size_t n)
{
	int i;

	for (i = 0; i < MAX_ALLOCS; i++)
		if (allocs[i].base && p >= allocs[i].base &&
		    p - allocs[i].base <= allocs[i].size &&
		    n <= allocs[i].size - (p - allocs[i].base))
			return i;
	return -1;
}

int cuPointerGetAttribute(void *data, int attr, dptr p)
{
	if (alloc_of(p, 1) < 0)
		return INVALID; /* host memory the driver never saw */
	if (attr == 2)      /* MEMORY_TYPE */
		*(unsigned *)data = 2; /* DEVICE */
	else if (attr == 8) /* IS_MANAGED */
		*(unsigned *)data = 0;
	else
		return INVALID;
	return OK;
}

int cuStreamIsCapturing(void *s, int *status)
{
	const char *c = getenv("FAKE_CUDA_CAPTURING");

	(void)s;
	*status = c && c[0] == '1'; /* ACTIVE */
	return OK;
}

static __thread int capture_mode; /* 0 GLOBAL, 1 THREAD_LOCAL, 2 RELAXED */

int cuThreadExchangeStreamCaptureMode(int *mode)
{
	int old = capture_mode;

	capture_mode = *mode;
	*mode = old;
	return OK;
}

/* An unsafe call while another thread captures in global mode. */
static int forbidden(void)
{
	const char *c = getenv("FAKE_CUDA_OTHER_CAPTURE");

	return c && c[0] == '1' && capture_mode != 2;
}

int cuStreamSynchronize(void *s)
{
	(void)s;
	if (forbidden())
		return 900; /* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED */
	return inited ? OK : NOT_INIT;
}

int cuMemcpyDtoHAsync_v2(void *dst, dptr src, size_t n, void *s)
{
	(void)s;
	if (forbidden())
		return 900;
	if (alloc_of(src, n) < 0)
		return INVALID;
	copies++;
	memcpy(dst, (const void *)(uintptr_t)src, n);
	return OK;
}

int cuMemAlloc(unsigned *p, unsigned n) /* v1 ABI: never wrapped */
{
	(void)n;
	*p = 0xdead;
	return OK;
}

int cuMemAlloc_v2(dptr *p, size_t n)
{
	if (!inited)
		return NOT_INIT;
	*p = fake_alloc(n);
	return OK;
}

int cuMemAllocAsync(dptr *p, size_t n, void *s)
{
	(void)s;
	return cuMemAlloc_v2(p, n);
}

int cuMemAllocAsync_ptsz(dptr *p, size_t n, void *s)
{
	(void)s;
	return cuMemAlloc_v2(p, n);
}

int cuMemFree_v2(dptr p)
{
	int i = alloc_of(p, 0);

	if (i >= 0 && allocs[i].base == p)
		allocs[i].base = 0;
	free((void *)(uintptr_t)p);
	return OK;
}

int cuMemsetD8_v2(dptr p, unsigned char b, size_t n)
{
	memsets++;
	memset((void *)(uintptr_t)p, b, n);
	return OK;
}

int cuMemsetD8Async(dptr p, unsigned char b, size_t n, void *s)
{
	(void)s;
	return cuMemsetD8_v2(p, b, n);
}

int cuMemsetD8Async_ptsz(dptr p, unsigned char b, size_t n, void *s)
{
	(void)s;
	return cuMemsetD8_v2(p, b, n);
}

int cuGetProcAddress_v2(const char *sym, void **pfn, int ver,
			unsigned long long flags, int *status);

int cuGetProcAddress(const char *sym, void **pfn, int ver,
		     unsigned long long flags)
{
	return cuGetProcAddress_v2(sym, pfn, ver, flags, NULL);
}

int cuGetProcAddress_v2(const char *sym, void **pfn, int ver,
			unsigned long long flags, int *status)
{
	int ptsz = (flags & 2) != 0;
	void *f = NULL;

	if (sym == NULL || pfn == NULL)
		return INVALID;
#define IS(n) (strcmp(sym, n) == 0)
	if (IS("cuGetProcAddress"))
		f = ver >= 12000 ? (void *)cuGetProcAddress_v2 :
				   (void *)cuGetProcAddress;
	else if (IS("cuInit")) f = (void *)cuInit;
	else if (IS("cuDriverGetVersion")) f = (void *)cuDriverGetVersion;
	else if (IS("cuDeviceGetCount")) f = (void *)cuDeviceGetCount;
	else if (IS("cuDeviceGet")) f = (void *)cuDeviceGet;
	else if (IS("cuDeviceGetName")) f = (void *)cuDeviceGetName;
	else if (IS("cuDeviceGetAttribute")) f = (void *)cuDeviceGetAttribute;
	else if (IS("cuDeviceGetUuid")) f = (void *)cuDeviceGetUuid_v2;
	else if (IS("cuMemAlloc"))
		f = ver >= 3020 ? (void *)cuMemAlloc_v2 : (void *)cuMemAlloc;
	else if (IS("cuMemAllocAsync"))
		f = ptsz ? (void *)cuMemAllocAsync_ptsz : (void *)cuMemAllocAsync;
	else if (IS("cuMemFree")) f = (void *)cuMemFree_v2;
	else if (IS("cuMemsetD8")) f = (void *)cuMemsetD8_v2;
	else if (IS("cuMemsetD8Async"))
		f = ptsz ? (void *)cuMemsetD8Async_ptsz : (void *)cuMemsetD8Async;
	else if (IS("cuPointerGetAttribute")) f = (void *)cuPointerGetAttribute;
	else if (IS("cuStreamIsCapturing")) f = (void *)cuStreamIsCapturing;
	else if (IS("cuThreadExchangeStreamCaptureMode"))
		f = (void *)cuThreadExchangeStreamCaptureMode;
	else if (IS("cuStreamSynchronize")) f = (void *)cuStreamSynchronize;
	else if (IS("cuMemcpyDtoHAsync")) f = (void *)cuMemcpyDtoHAsync_v2;
#undef IS
	*pfn = f;
	if (status)
		*status = f ? 0 : 1;
	return f ? OK : NOT_FOUND;
}

/* Test probes. */
int fake_cuda_memsets(void) { return memsets; }
int fake_cuda_copies(void) { return copies; }
int fake_cuda_capture_mode(void) { return capture_mode; }
