/*
 * driver.c - the CUDA driver API, reached through dlsym and
 * cuGetProcAddress: a device fingerprint in the log and, opt-in, a fixed
 * fill of new device allocations.
 *
 * Why dlsym: libcudart, libcublas, libcudnn_graph and libnccl each
 * dlopen("libcuda.so.1") and dlsym(handle, "cuGetProcAddress_v2"), then
 * fetch every driver entry point through that pointer (gpu.md §0 item 5,
 * §6.2; NVlabs/NVBit#134).  A dlsym on a handle searches that object, not
 * the preload, so exporting cuMemAlloc_v2 would catch nothing.  The shim
 * therefore exports dlsym and special-cases a few names (gpu_policy.c
 * drv_exports): cuGetProcAddress{,_v2,_v2_ptsz}, cuInit, and - only with
 * gpu.alloc_fill - the cuMemAlloc* family.  Every other call is forwarded
 * untouched.
 *
 * Invariants (HAMi-core pitfalls, gpu.md §6.2):
 *  - dlsym is a small assembly stub: it asks ds_dlsym_route() whether to
 *    answer, and otherwise *jumps* (not calls) to the real dlsym with the
 *    original arguments and return address.  glibc's dlsym finds its
 *    caller from that return address (RTLD_NEXT, and the namespace for
 *    RTLD_DEFAULT), so forwarded calls behave exactly as if the shim were
 *    absent: dlsym(RTLD_NEXT, x) from libfoo still searches after libfoo.
 *    RTLD_NEXT lookups are always forwarded.
 *  - a hooked name is first resolved for real on the caller's handle; if
 *    it does not exist the call is forwarded (and fails as it would have),
 *    so the shim never hands out a wrapper for a missing function.  The
 *    wrappers are static and never exported, so no lookup can resolve a
 *    cu* name to the shim itself (the HAMi-core cudnnCreate loop).
 *  - cuGetProcAddress wrappers forward first, then replace *pfn only for
 *    the wrapped entry points and only for the ABI the caller asked for
 *    (ds_drv_by_proc: cuMemAlloc below CUDA 3.2 is the 32-bit v1 ABI and is
 *    never wrapped; HAMi-core#57/#65).  A request for cuGetProcAddress
 *    itself is wrapped too, so later lookups are caught.
 *  - each slot remembers the first real pointer it wrapped; a different
 *    real pointer for the same slot is passed through unwrapped.
 *  - the fingerprint is taken after the program's own successful cuInit
 *    (or its first wrapped allocation), never from the constructor:
 *    initialising the driver there would change the program (fork after
 *    cuInit is unsupported).
 *  - the shim never calls cuMulticastCreate or anything NVLS-related.
 * Allocation fill (gpu.md §6.3): after a successful cuMemAlloc_v2,
 * cuMemAllocPitch_v2 or cuMemAllocManaged the new range is set with
 * cuMemsetD8_v2; after cuMemAllocAsync / cuMemAllocFromPoolAsync with
 * cuMemsetD8Async on the same stream (the _ptsz variant for per-thread
 * streams).  Caching allocators above the driver (PyTorch's) reuse blocks
 * without the driver seeing them; those are not filled.
 */
#include "detshim.h"

#include <dlfcn.h>
#include <string.h>

#include "abi/cuda.h"
#include "driver.h"
#include "gpu_policy.h"

typedef ds_cu_result cr;
typedef ds_cu_deviceptr dptr;
typedef cr (*getproc_v1_fn)(const char *, void **, int, uint64_t);
typedef cr (*getproc_v2_fn)(const char *, void **, int, uint64_t, int *);
typedef cr (*init_fn)(unsigned);
typedef cr (*alloc_fn)(dptr *, size_t);
typedef cr (*pitch_fn)(dptr *, size_t *, size_t, size_t, unsigned);
typedef cr (*managed_fn)(dptr *, size_t, unsigned);
typedef cr (*async_fn)(dptr *, size_t, ds_cu_stream);
typedef cr (*pool_fn)(dptr *, size_t, ds_cu_mempool, ds_cu_stream);
typedef cr (*memset_fn)(dptr, unsigned char, size_t);
typedef cr (*memset_async_fn)(dptr, unsigned char, size_t, ds_cu_stream);

/* Real pointer behind each wrapper slot (first one seen). */
static void *_Atomic real_slot[DS_DRV_COUNT];

static void *slot_real(int slot)
{
	return atomic_load_explicit(&real_slot[slot], memory_order_acquire);
}

/* ------------------------------------------------------------------ */
/* Real driver functions the shim itself calls (fingerprint, memset). */

/* A driver function by base name through the real cuGetProcAddress the
 * program already fetched, else by exported name from libcuda.so.1. */
static void *drv_get(const char *base, int version, uint64_t flags,
		     const char *export_name)
{
	void *gp, *fn = NULL;
	int status = 0;

	if ((gp = slot_real(DS_DRV_GETPROC_V2)) != NULL) {
		if (((getproc_v2_fn)gp)(base, &fn, version, flags, &status) ==
		    DS_CUDA_SUCCESS && fn)
			return fn;
	} else if ((gp = slot_real(DS_DRV_GETPROC_V1)) != NULL) {
		if (((getproc_v1_fn)gp)(base, &fn, version, flags) ==
		    DS_CUDA_SUCCESS && fn)
			return fn;
	}
	return ds_resolve_in(DS_CUDA_DRIVER_SONAME, export_name);
}

/* Resolve-once cache of a drv_get result. */
static void *drv_cached(void *_Atomic *cache, const char *base, int version,
			uint64_t flags, const char *export_name)
{
	void *p = atomic_load_explicit(cache, memory_order_acquire);

	if (p == NULL) {
		p = drv_get(base, version, flags, export_name);
		if (p)
			atomic_store_explicit(cache, p, memory_order_release);
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* Fingerprint: "results are comparable only on this GPU type". */

static void fingerprint(void)
{
	static atomic_int done;
	typedef cr (*ver_fn)(int *);
	typedef cr (*count_fn)(int *);
	typedef cr (*get_fn)(ds_cu_device *, int);
	typedef cr (*name_fn)(char *, int, ds_cu_device);
	typedef cr (*attr_fn)(int *, int, ds_cu_device);
	typedef cr (*uuid_fn)(unsigned char *, ds_cu_device);
	ver_fn ver;
	count_fn count;
	get_fn get;
	name_fn name;
	attr_fn attr;
	uuid_fn uuid;
	int drv = 0, n = 0, i;

	if (atomic_load_explicit(&done, memory_order_acquire) ||
	    atomic_exchange(&done, 1))
		return;
	ds_inside++;
	ver = (ver_fn)drv_get("cuDriverGetVersion", 2020, 0,
			      "cuDriverGetVersion");
	count = (count_fn)drv_get("cuDeviceGetCount", 2000, 0,
				  "cuDeviceGetCount");
	get = (get_fn)drv_get("cuDeviceGet", 2000, 0, "cuDeviceGet");
	name = (name_fn)drv_get("cuDeviceGetName", 2000, 0, "cuDeviceGetName");
	attr = (attr_fn)drv_get("cuDeviceGetAttribute", 2000, 0,
				"cuDeviceGetAttribute");
	uuid = (uuid_fn)drv_get("cuDeviceGetUuid", 11040, 0,
				"cuDeviceGetUuid_v2");
	if (ver)
		ver(&drv);
	if (count == NULL || count(&n) != DS_CUDA_SUCCESS)
		n = 0;
	for (i = 0; i < n && i < 16; i++) {
		ds_cu_device d = 0;
		char nm[128] = "?", id[41] = "?";
		unsigned char u[16];
		int ccmaj = -1, ccmin = -1, sms = -1;

		if (get == NULL || get(&d, i) != DS_CUDA_SUCCESS)
			continue;
		if (name == NULL || name(nm, (int)sizeof(nm), d) != DS_CUDA_SUCCESS)
			strcpy(nm, "?");
		nm[sizeof(nm) - 1] = '\0';
		if (attr) {
			attr(&ccmaj, DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d);
			attr(&ccmin, DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d);
			attr(&sms, DS_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d);
		}
		if (uuid && uuid(u, d) == DS_CUDA_SUCCESS)
			ds_uuid_format(u, id);
		ds_log_record(DS_SRC_DRIVER, "cuInit", "fingerprint",
			      "driver=%d device=%d name=%s cc=%d.%d sms=%d "
			      "uuid=%s (bit-equality holds only on the same GPU "
			      "type and SM count: gpu.md 9)",
			      drv, i, nm, ccmaj, ccmin, sms, id);
	}
	if (n == 0)
		ds_log_record(DS_SRC_DRIVER, "cuInit", "fingerprint",
			      "driver=%d devices=0", drv);
	ds_inside--;
}

/* ------------------------------------------------------------------ */
/* Allocation fill. */

static void fill(struct ds_site *site, dptr p, size_t n, bool async,
		 ds_cu_stream s, bool ptsz)
{
	static void *_Atomic ms, *_Atomic msa, *_Atomic msa_ptsz;
	unsigned char b = (unsigned char)ds_cfg.alloc_fill_byte;
	cr r = DS_CUDA_ERROR_NOT_INITIALIZED;
	void *fn;

	fingerprint();
	if (n == 0)
		return;
	if (!ds_enforce(DS_SRC_DRIVER)) {
		ds_event(site, "would-fill", "ptr=0x%llx size=%zu", p, n);
		return;
	}
	ds_inside++;
	if (!async) {
		fn = drv_cached(&ms, "cuMemsetD8", 3020, 0, "cuMemsetD8_v2");
		if (fn)
			r = ((memset_fn)fn)(p, b, n);
	} else if (ptsz) {
		fn = drv_cached(&msa_ptsz, "cuMemsetD8Async", 7000,
				DS_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
				"cuMemsetD8Async_ptsz");
		if (fn)
			r = ((memset_async_fn)fn)(p, b, n, s);
	} else {
		fn = drv_cached(&msa, "cuMemsetD8Async", 3020, 0,
				"cuMemsetD8Async");
		if (fn)
			r = ((memset_async_fn)fn)(p, b, n, s);
	}
	ds_inside--;
	ds_event(site, r == DS_CUDA_SUCCESS ? "filled" : "error",
		 "ptr=0x%llx size=%zu byte=0x%x%s (status %d)", p, n, b,
		 async ? " async" : "", r);
}

static bool fill_on(void)
{
	return ds_active() && ds_watch(DS_SRC_DRIVER) && ds_cfg.alloc_fill;
}

static cr w_memalloc(dptr *p, size_t n)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAlloc_v2");
	alloc_fn real = (alloc_fn)slot_real(DS_DRV_MEMALLOC);
	cr r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n);
	if (r == DS_CUDA_SUCCESS && p && fill_on())
		fill(&site, *p, n, false, NULL, false);
	return r;
}

static cr w_memalloc_pitch(dptr *p, size_t *pitch, size_t w, size_t h,
			   unsigned elem)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocPitch_v2");
	pitch_fn real = (pitch_fn)slot_real(DS_DRV_MEMALLOC_PITCH);
	cr r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, pitch, w, h, elem);
	if (r == DS_CUDA_SUCCESS && p && pitch && fill_on())
		fill(&site, *p, *pitch * h, false, NULL, false);
	return r;
}

static cr w_memalloc_managed(dptr *p, size_t n, unsigned flags)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocManaged");
	managed_fn real = (managed_fn)slot_real(DS_DRV_MEMALLOC_MANAGED);
	cr r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n, flags);
	if (r == DS_CUDA_SUCCESS && p && fill_on())
		fill(&site, *p, n, false, NULL, false);
	return r;
}

#define DS_ASYNC_WRAPPER(fname, slot, ptsz, sitename)                        \
	static cr fname(dptr *p, size_t n, ds_cu_stream s)                   \
	{                                                                    \
		DS_SITE(site, DS_SRC_DRIVER, sitename);                      \
		async_fn real = (async_fn)slot_real(slot);                   \
		cr r;                                                        \
		if (real == NULL)                                            \
			return DS_CUDA_ERROR_NOT_INITIALIZED;                \
		r = real(p, n, s);                                           \
		if (r == DS_CUDA_SUCCESS && p && fill_on())                  \
			fill(&site, *p, n, true, s, ptsz);                   \
		return r;                                                    \
	}
DS_ASYNC_WRAPPER(w_memalloc_async, DS_DRV_MEMALLOC_ASYNC, false,
		 "cuMemAllocAsync")
DS_ASYNC_WRAPPER(w_memalloc_async_ptsz, DS_DRV_MEMALLOC_ASYNC_PTSZ, true,
		 "cuMemAllocAsync_ptsz")

#define DS_POOL_WRAPPER(fname, slot, ptsz, sitename)                         \
	static cr fname(dptr *p, size_t n, ds_cu_mempool pool,               \
			ds_cu_stream s)                                      \
	{                                                                    \
		DS_SITE(site, DS_SRC_DRIVER, sitename);                      \
		pool_fn real = (pool_fn)slot_real(slot);                     \
		cr r;                                                        \
		if (real == NULL)                                            \
			return DS_CUDA_ERROR_NOT_INITIALIZED;                \
		r = real(p, n, pool, s);                                     \
		if (r == DS_CUDA_SUCCESS && p && fill_on())                  \
			fill(&site, *p, n, true, s, ptsz);                   \
		return r;                                                    \
	}
DS_POOL_WRAPPER(w_memalloc_pool, DS_DRV_MEMALLOC_POOL, false,
		"cuMemAllocFromPoolAsync")
DS_POOL_WRAPPER(w_memalloc_pool_ptsz, DS_DRV_MEMALLOC_POOL_PTSZ, true,
		"cuMemAllocFromPoolAsync_ptsz")

/* ------------------------------------------------------------------ */
/* cuInit and cuGetProcAddress. */

static cr w_init(unsigned flags)
{
	init_fn real = (init_fn)slot_real(DS_DRV_INIT);
	cr r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(flags);
	if (r == DS_CUDA_SUCCESS && ds_active() && ds_watch(DS_SRC_DRIVER))
		fingerprint();
	return r;
}

static void *wrap(int slot, void *real, const char *how);

/* After a successful lookup: replace *pfn by our wrapper if wrapped. */
static void after_lookup(const char *sym, void **pfn, int ver, uint64_t flags)
{
	if (pfn == NULL || *pfn == NULL || sym == NULL || !ds_active() ||
	    !ds_watch(DS_SRC_DRIVER))
		return;
	*pfn = wrap(ds_drv_by_proc(sym, ver, flags), *pfn, "cuGetProcAddress");
}

static cr w_getproc_v1(const char *sym, void **pfn, int ver, uint64_t flags)
{
	getproc_v1_fn real = (getproc_v1_fn)slot_real(DS_DRV_GETPROC_V1);
	cr r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(sym, pfn, ver, flags);
	if (r == DS_CUDA_SUCCESS)
		after_lookup(sym, pfn, ver, flags);
	return r;
}

#define DS_GETPROC_V2_WRAPPER(fname, slot)                                   \
	static cr fname(const char *sym, void **pfn, int ver,                \
			uint64_t flags, int *status)                         \
	{                                                                    \
		getproc_v2_fn real = (getproc_v2_fn)slot_real(slot);         \
		cr r;                                                        \
		if (real == NULL)                                            \
			return DS_CUDA_ERROR_NOT_INITIALIZED;                \
		r = real(sym, pfn, ver, flags, status);                      \
		if (r == DS_CUDA_SUCCESS)                                    \
			after_lookup(sym, pfn, ver, flags);                  \
		return r;                                                    \
	}
DS_GETPROC_V2_WRAPPER(w_getproc_v2, DS_DRV_GETPROC_V2)
DS_GETPROC_V2_WRAPPER(w_getproc_v2_ptsz, DS_DRV_GETPROC_V2_PTSZ)

static void *const wrappers[DS_DRV_COUNT] = {
	[DS_DRV_GETPROC_V1] = (void *)w_getproc_v1,
	[DS_DRV_GETPROC_V2] = (void *)w_getproc_v2,
	[DS_DRV_GETPROC_V2_PTSZ] = (void *)w_getproc_v2_ptsz,
	[DS_DRV_INIT] = (void *)w_init,
	[DS_DRV_MEMALLOC] = (void *)w_memalloc,
	[DS_DRV_MEMALLOC_PITCH] = (void *)w_memalloc_pitch,
	[DS_DRV_MEMALLOC_MANAGED] = (void *)w_memalloc_managed,
	[DS_DRV_MEMALLOC_ASYNC] = (void *)w_memalloc_async,
	[DS_DRV_MEMALLOC_ASYNC_PTSZ] = (void *)w_memalloc_async_ptsz,
	[DS_DRV_MEMALLOC_POOL] = (void *)w_memalloc_pool,
	[DS_DRV_MEMALLOC_POOL_PTSZ] = (void *)w_memalloc_pool_ptsz,
};

static const char *const slot_names[DS_DRV_COUNT] = {
	"cuGetProcAddress", "cuGetProcAddress_v2", "cuGetProcAddress_v2_ptsz",
	"cuInit", "cuMemAlloc_v2", "cuMemAllocPitch_v2", "cuMemAllocManaged",
	"cuMemAllocAsync", "cuMemAllocAsync_ptsz", "cuMemAllocFromPoolAsync",
	"cuMemAllocFromPoolAsync_ptsz",
};

/* Our wrapper for slot in place of real, or real itself when the slot is
 * not wrapped now or already wraps another real pointer. */
static void *wrap(int slot, void *real, const char *how)
{
	static atomic_uint logged;
	void *expect = NULL;

	if (slot == DS_DRV_NONE || real == NULL || real == wrappers[slot])
		return real;
	if (ds_drv_is_alloc(slot) && !ds_cfg.alloc_fill)
		return real;
	if (!atomic_compare_exchange_strong(&real_slot[slot], &expect, real) &&
	    expect != real) {
		DS_SITE(site, DS_SRC_DRIVER, "wrap");
		ds_event(&site, "passed",
			 "%s: second real pointer %p (first %p); not wrapped",
			 slot_names[slot], real, expect);
		return real;
	}
	if ((atomic_fetch_or(&logged, 1u << slot) & (1u << slot)) == 0)
		ds_log_record(DS_SRC_DRIVER, slot_names[slot], "wrapped",
			      "%s via %s (real %p in %s)", slot_names[slot], how,
			      real, ds_object_of(real));
	return wrappers[slot];
}

/* ------------------------------------------------------------------ */
/* dlsym. */

/* The real dlsym the stub jumps to; set before ds_dlsym_route returns 0. */
DS_HIDDEN void *_Atomic ds_dlsym_next;

/*
 * Decide one dlsym call.  Returns 1 with *answer set when the shim answers
 * (a wrapper), 0 when the stub must jump to the real dlsym.  Only "cu"
 * names reach the configuration; everything else costs two compares.
 */
DS_HIDDEN __attribute__((used)) DS_NO_SANITIZE int ds_dlsym_route(void *handle,
						   const char *name,
						   void **answer)
{
	void *real;
	int slot;

	if (atomic_load_explicit(&ds_dlsym_next, memory_order_acquire) == NULL) {
		/* From inside the shim RTLD_NEXT means "after the shim":
		 * libc's own dlsym. */
		void *next = ds_real_dlsym(RTLD_NEXT, "dlsym");

		if (next == NULL) {
			*answer = NULL; /* cannot forward: fail the lookup */
			return 1;
		}
		atomic_store_explicit(&ds_dlsym_next, next, memory_order_release);
	}
	if (handle == RTLD_NEXT || name == NULL || name[0] != 'c' ||
	    name[1] != 'u')
		return 0;
	slot = ds_drv_by_export(name);
	if (slot == DS_DRV_NONE || !ds_active() || !ds_watch(DS_SRC_DRIVER))
		return 0;
	if (ds_drv_is_alloc(slot) && !ds_cfg.alloc_fill)
		return 0;
	ds_inside++;
	real = ds_real_dlsym(handle, name);
	ds_inside--;
	if (real == NULL)
		return 0; /* forward: it fails there too and sets dlerror */
	*answer = wrap(slot, real, "dlsym");
	return 1;
}

/* Declared for readers and tools/check_exports: the definition is the
 * assembly stub below. */
DS_EXPORT void *dlsym(void *handle, const char *name);

#if defined(__x86_64__)
/* rsp is 8 mod 16 at entry; two pushes and 24 bytes make it 0 mod 16 for
 * the call, with the answer slot at 0(%rsp). */
__asm__(".text\n"
	".globl dlsym\n"
	".type dlsym, @function\n"
	"dlsym:\n"
	".cfi_startproc\n"
	"endbr64\n"
	"pushq %rdi\n"
	".cfi_adjust_cfa_offset 8\n"
	"pushq %rsi\n"
	".cfi_adjust_cfa_offset 8\n"
	"subq $24, %rsp\n"
	".cfi_adjust_cfa_offset 24\n"
	"movq %rsp, %rdx\n"
	"call ds_dlsym_route\n"
	"movq (%rsp), %rcx\n"
	"addq $24, %rsp\n"
	".cfi_adjust_cfa_offset -24\n"
	"popq %rsi\n"
	".cfi_adjust_cfa_offset -8\n"
	"popq %rdi\n"
	".cfi_adjust_cfa_offset -8\n"
	"testl %eax, %eax\n"
	"jz 1f\n"
	"movq %rcx, %rax\n"
	"ret\n"
	"1:\n"
	"jmp *ds_dlsym_next(%rip)\n"
	".cfi_endproc\n"
	".size dlsym, .-dlsym\n");
#elif defined(__aarch64__)
/* Frame: x29/x30 at [sp], x0/x1 at [sp+16], answer at [sp+32].  The
 * restored x30 is the caller's, so the real dlsym sees it. */
__asm__(".text\n"
	".globl dlsym\n"
	".type dlsym, %function\n"
	"dlsym:\n"
	".cfi_startproc\n"
	"stp x29, x30, [sp, #-48]!\n"
	".cfi_def_cfa_offset 48\n"
	".cfi_offset 29, -48\n"
	".cfi_offset 30, -40\n"
	"mov x29, sp\n"
	"stp x0, x1, [sp, #16]\n"
	"add x2, sp, #32\n"
	"bl ds_dlsym_route\n"
	"mov w10, w0\n"
	"ldr x9, [sp, #32]\n"
	"ldp x0, x1, [sp, #16]\n"
	"ldp x29, x30, [sp], #48\n"
	".cfi_def_cfa_offset 0\n"
	"cbz w10, 1f\n"
	"mov x0, x9\n"
	"ret\n"
	"1:\n"
	"adrp x16, ds_dlsym_next\n"
	"ldr x16, [x16, #:lo12:ds_dlsym_next]\n"
	"br x16\n"
	".cfi_endproc\n"
	".size dlsym, .-dlsym\n");
#else
#error "driver.c: dlsym stub written for x86-64 and aarch64 only"
#endif
