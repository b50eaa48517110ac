/*
 * Fake libcuda.so.1 for the hook tests (docs/DESIGN.md §8.14): a driver entry
 * point table behind cuGetProcAddress, device queries for the
 * fingerprint, and "device" memory that is host memory full of garbage.
 *
 * New allocations are filled with 0xAB ("uninitialised"), so a test sees
 * whether the shim's fill ran.  cuMemAllocFromPoolAsync is deliberately
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

	memset(p, 0xAB, n);
	return (dptr)(uintptr_t)p;
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
#undef IS
	*pfn = f;
	if (status)
		*status = f ? 0 : 1;
	return f ? OK : NOT_FOUND;
}

/* Test probes. */
int fake_cuda_memsets(void) { return memsets; }
