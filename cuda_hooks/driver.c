/*
 * driver.c - the CUDA driver API, reached through dlsym and
 * cuGetProcAddress: a device fingerprint in the log and, opt-in, a fixed
 * fill of new device allocations.
 *
 * Why dlsym: libcudart, libcublas, libcudnn_graph and libnccl each
 * dlopen("libcuda.so.1") and dlsym(handle, "cuGetProcAddress_v2"), then
 * fetch every driver entry point through that pointer (docs/GPU_FACTS.md §0.5,
 * §6.2; NVlabs/NVBit#134).  A dlsym on a handle searches that object, not
 * the preload, so exporting cuMemAlloc_v2 would catch nothing.  The shim
 * therefore exports dlsym and special-cases the names of driver_slots.h: cuGetProcAddress{,_v2,_v2_ptsz}, cuInit, and - only with
 * gpu.alloc_fill - the cuMemAlloc* family.  Every other call is forwarded
 * untouched.
 *
 * Invariants (HAMi-core pitfalls, docs/GPU_FACTS.md §6.2):
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
 * Allocation fill (docs/GPU_FACTS.md §6.3): after a successful cuMemAlloc_v2,
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
#include "device.h"
#include "driver_rules.h"

/* The driver every CUDA library dlopens itself. */
static const char *const cuda_libs[] = { "libcuda.so.1", NULL };

/* Real pointer behind each wrapper slot (first one seen). */
static void *_Atomic real_slot[DS_DRV_COUNT];

static void *slot_real(int slot)
{
	return atomic_load_explicit(&real_slot[slot], memory_order_acquire);
}

/* ------------------------------------------------------------------ */
/* Real driver functions the shim itself calls (DS_DRV_CALLS). */

enum drv_call {
#define DS_DRV_CALL_ENUM(call, ...) CALL_##call,
	DS_DRV_CALLS(DS_DRV_CALL_ENUM)
#undef DS_DRV_CALL_ENUM
	CALL_COUNT
};

static const struct {
	const char *base;
	int version;
	uint64_t flags;
	const char *export_name;
} calls[CALL_COUNT] = {
#define DS_DRV_CALL_ROW(call, base_, version_, flags_, export_) \
	[CALL_##call] = { base_, version_, flags_, export_ },
	DS_DRV_CALLS(DS_DRV_CALL_ROW)
#undef DS_DRV_CALL_ROW
};

static void *_Atomic call_cache[CALL_COUNT];

static ds_cu_result w_getproc_v1(const char *sym, void **pfn, int ver,
				 uint64_t flags);
static ds_cu_result w_getproc_v2(const char *sym, void **pfn, int ver,
				 uint64_t flags, int *status);

/* A driver function the shim calls, resolved once: through the real
 * cuGetProcAddress the program already fetched, else by exported name from
 * the loaded driver.  NULL without a driver. */
static void *drv_call(enum drv_call c)
{
	void *fn = atomic_load_explicit(&call_cache[c], memory_order_acquire);
	__typeof__(&w_getproc_v2) gp2 = slot_real(DS_DRV_GETPROC_V2);
	__typeof__(&w_getproc_v1) gp1 = slot_real(DS_DRV_GETPROC_V1);
	int status = 0;

	if (fn != NULL)
		return fn;
	if (gp2 != NULL) {
		if (gp2(calls[c].base, &fn, calls[c].version, calls[c].flags,
			&status) != DS_CUDA_SUCCESS)
			fn = NULL;
	} else if (gp1 != NULL) {
		if (gp1(calls[c].base, &fn, calls[c].version, calls[c].flags) !=
		    DS_CUDA_SUCCESS)
			fn = NULL;
	}
	if (fn == NULL)
		fn = ds_resolve_chain(cuda_libs, calls[c].export_name);
	if (fn != NULL)
		atomic_store_explicit(&call_cache[c], fn, memory_order_release);
	return fn;
}

/* ------------------------------------------------------------------ */
/* Device description (device.h): the fingerprint and the algorithm cache's
 * device string. */

/* Name, compute capability, SM count and UUID of device d; fields the
 * driver does not answer stay "?" / -1. */
static void describe(ds_cu_device d, struct ds_cu_device_info *out)
{
	ds_cu_result (*name)(char *, int, ds_cu_device);
	ds_cu_result (*attr)(int *, int, ds_cu_device);
	ds_cu_result (*uuid)(unsigned char *, ds_cu_device);
	unsigned char u[16];

	ds_inside++;
	name = drv_call(CALL_DEVICE_GET_NAME);
	attr = drv_call(CALL_DEVICE_GET_ATTRIBUTE);
	uuid = drv_call(CALL_DEVICE_GET_UUID);
	strcpy(out->name, "?");
	strcpy(out->uuid, "?");
	out->cc_major = out->cc_minor = out->sms = -1;
	if (name == NULL ||
	    name(out->name, (int)sizeof(out->name), d) != DS_CUDA_SUCCESS)
		strcpy(out->name, "?");
	out->name[sizeof(out->name) - 1] = '\0';
	if (attr &&
	    (attr(&out->cc_major,
		  DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d) != 0 ||
	     attr(&out->cc_minor,
		  DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d) != 0 ||
	     attr(&out->sms, DS_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
		  d) != 0))
		out->sms = -1;
	if (uuid && uuid(u, d) == DS_CUDA_SUCCESS)
		ds_uuid_format(u, out->uuid);
	ds_inside--;
}

bool ds_cu_device_describe(int ordinal, struct ds_cu_device_info *out)
{
	ds_cu_result (*get)(ds_cu_device *, int);
	ds_cu_device d = 0;

	ds_inside++;
	get = drv_call(CALL_DEVICE_GET);
	ds_inside--;
	if (get == NULL || get(&d, ordinal) != DS_CUDA_SUCCESS)
		return false;
	describe(d, out);
	return true;
}

void ds_cu_current_device_string(char *out, size_t cap)
{
	ds_cu_result (*ctx_dev)(ds_cu_device *);
	struct ds_cu_device_info info;
	ds_cu_device dev = 0;

	ds_fmt(out, cap, "unknown");
	ds_inside++;
	ctx_dev = drv_call(CALL_CTX_GET_DEVICE);
	ds_inside--;
	if (ctx_dev == NULL || ctx_dev(&dev) != DS_CUDA_SUCCESS)
		return;
	describe(dev, &info);
	if (info.sms < 0 || strcmp(info.name, "?") == 0)
		return;
	ds_fmt(out, cap, "sm%d%d sms=%d %s", info.cc_major, info.cc_minor,
	       info.sms, info.name);
}

/* ------------------------------------------------------------------ */
/* Reading device memory for call hashing (device.h, hash_calls.c).  Only
 * the driver the program loaded is used, through its own entry points;
 * nothing here runs unless gpu.hash_calls is on. */

bool ds_cu_stream_wait(void *stream)
{
	ds_cu_result (*capturing)(ds_cu_stream, int *);
	ds_cu_result (*sync)(ds_cu_stream);
	ds_cu_result (*mode)(int *);
	int status = DS_CU_STREAM_CAPTURE_STATUS_NONE;
	int m = DS_CU_STREAM_CAPTURE_MODE_RELAXED;
	bool ok = false;

	ds_inside++;
	capturing = drv_call(CALL_STREAM_IS_CAPTURING);
	sync = drv_call(CALL_STREAM_SYNCHRONIZE);
	mode = drv_call(CALL_EXCHANGE_CAPTURE_MODE);
	/* A synchronisation of a stream being captured into a CUDA graph
	 * fails and invalidates the capture (CUDA programming guide,
	 * "Prohibited and unhandled operations"): never try.  Another
	 * thread's capture in global mode would forbid this thread's
	 * synchronisation too: this thread's mode is relaxed meanwhile
	 * (cuThreadExchangeStreamCaptureMode), then given back. */
	if (sync && capturing &&
	    capturing(stream, &status) == DS_CUDA_SUCCESS &&
	    status == DS_CU_STREAM_CAPTURE_STATUS_NONE) {
		bool relaxed = mode && mode(&m) == DS_CUDA_SUCCESS;

		ok = sync(stream) == DS_CUDA_SUCCESS;
		if (relaxed)
			mode(&m);
	}
	ds_inside--;
	return ok;
}

bool ds_cu_is_device_memory(unsigned long long p)
{
	ds_cu_result (*attr)(void *, int, ds_cu_deviceptr);
	/* 8 bytes each, zeroed: the driver writes an int-sized value. */
	unsigned long long type = 0, managed = 0;
	bool ok = false;

	if (p == 0)
		return false;
	ds_inside++;
	attr = drv_call(CALL_POINTER_GET_ATTRIBUTE);
	/* Host memory the driver never saw answers INVALID_VALUE; managed
	 * memory is left alone too (a copy would migrate its pages). */
	if (attr &&
	    attr(&type, DS_CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) ==
		    DS_CUDA_SUCCESS &&
	    type == DS_CU_MEMORYTYPE_DEVICE &&
	    attr(&managed, DS_CU_POINTER_ATTRIBUTE_IS_MANAGED, p) ==
		    DS_CUDA_SUCCESS)
		ok = (unsigned int)managed == 0;
	ds_inside--;
	return ok;
}

bool ds_cu_copy_to_host(void *dst, unsigned long long src, size_t n,
			void *stream)
{
	ds_cu_result (*copy)(void *, ds_cu_deviceptr, size_t, ds_cu_stream);
	ds_cu_result (*sync)(ds_cu_stream);
	bool ok = false;

	ds_cu_result (*mode)(int *);
	int m = DS_CU_STREAM_CAPTURE_MODE_RELAXED;
	bool relaxed;

	ds_inside++;
	copy = drv_call(CALL_MEMCPY_DTOH_ASYNC);
	sync = drv_call(CALL_STREAM_SYNCHRONIZE);
	mode = drv_call(CALL_EXCHANGE_CAPTURE_MODE);
	relaxed = mode && mode(&m) == DS_CUDA_SUCCESS; /* as above */
	/* On the call's own stream, so that no other stream is waited for;
	 * the copy into pageable memory has finished when the stream has. */
	if (copy && sync && copy(dst, src, n, stream) == DS_CUDA_SUCCESS)
		ok = sync(stream) == DS_CUDA_SUCCESS;
	if (relaxed)
		mode(&m);
	ds_inside--;
	return ok;
}

/* Fingerprint: "results are comparable only on this GPU type". */
static void fingerprint(void)
{
	static atomic_int done;
	ds_cu_result (*ver)(int *);
	ds_cu_result (*count)(int *);
	int drv = 0, n = 0, i;

	if (atomic_load_explicit(&done, memory_order_acquire) ||
	    atomic_exchange(&done, 1))
		return;
	ds_inside++;
	ver = drv_call(CALL_DRIVER_GET_VERSION);
	count = drv_call(CALL_DEVICE_GET_COUNT);
	if (ver)
		ver(&drv);
	if (count == NULL || count(&n) != DS_CUDA_SUCCESS)
		n = 0;
	for (i = 0; i < n && i < 16; i++) {
		struct ds_cu_device_info info;

		if (!ds_cu_device_describe(i, &info))
			continue;
		ds_log_record(DS_SRC_DRIVER, "cuInit", "fingerprint",
			      "driver=%d device=%d name=%s cc=%d.%d sms=%d "
			      "uuid=%s (bit-equality holds only on the same GPU "
			      "type and SM count: docs/measurements/REPRODUCIBILITY.md)",
			      drv, i, info.name, info.cc_major, info.cc_minor,
			      info.sms, info.uuid);
	}
	if (n == 0)
		ds_log_record(DS_SRC_DRIVER, "cuInit", "fingerprint",
			      "driver=%d devices=0", drv);
	ds_inside--;
}

/* ------------------------------------------------------------------ */
/* Allocation fill. */

static void fill(struct ds_site *site, ds_cu_deviceptr p, size_t n,
		 bool async, ds_cu_stream s, bool ptsz)
{
	ds_cu_result (*ms)(ds_cu_deviceptr, unsigned char, size_t);
	ds_cu_result (*msa)(ds_cu_deviceptr, unsigned char, size_t,
			    ds_cu_stream);
	unsigned char b = (unsigned char)ds_cfg.alloc_fill_byte;
	ds_cu_result r = DS_CUDA_ERROR_NOT_INITIALIZED;

	fingerprint();
	if (n == 0)
		return;
	if (!ds_enforce(DS_SRC_DRIVER)) {
		ds_event(site, "would-fill", "ptr=0x%llx size=%zu", p, n);
		return;
	}
	ds_inside++;
	if (!async) {
		ms = drv_call(CALL_MEMSET_D8);
		if (ms)
			r = ms(p, b, n);
	} else {
		msa = drv_call(ptsz ? CALL_MEMSET_D8_ASYNC_PTSZ :
				      CALL_MEMSET_D8_ASYNC);
		if (msa)
			r = msa(p, b, n, s);
	}
	ds_inside--;
	ds_event(site, r == DS_CUDA_SUCCESS ? "filled" : "error",
		 "ptr=0x%llx size=%zu byte=0x%x%s (status %d)", p, n, b,
		 async ? " async" : "", r);
}

/* After a real allocation returned r: fill the new range if asked to. */
static void after_alloc(struct ds_site *site, ds_cu_result r,
			const ds_cu_deviceptr *p, size_t n, bool async,
			ds_cu_stream s, bool ptsz)
{
	if (r == DS_CUDA_SUCCESS && p && ds_active() &&
	    ds_watch(DS_SRC_DRIVER) && ds_cfg.alloc_fill)
		fill(site, *p, n, async, s, ptsz);
}

/* The wrappers, one per DS_DRV_SLOTS row.  Each has the ABI of its slot's
 * real function, so its own type is the real pointer's type. */

static ds_cu_result w_memalloc(ds_cu_deviceptr *p, size_t n)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAlloc_v2");
	__typeof__(&w_memalloc) real = slot_real(DS_DRV_MEMALLOC);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n);
	after_alloc(&site, r, p, n, false, NULL, false);
	return r;
}

static ds_cu_result w_memalloc_pitch(ds_cu_deviceptr *p, size_t *pitch,
				     size_t w, size_t h, unsigned elem)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocPitch_v2");
	__typeof__(&w_memalloc_pitch) real = slot_real(DS_DRV_MEMALLOC_PITCH);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, pitch, w, h, elem);
	if (pitch)
		after_alloc(&site, r, p, *pitch * h, false, NULL, false);
	return r;
}

static ds_cu_result w_memalloc_managed(ds_cu_deviceptr *p, size_t n,
				       unsigned flags)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocManaged");
	__typeof__(&w_memalloc_managed) real =
		slot_real(DS_DRV_MEMALLOC_MANAGED);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n, flags);
	after_alloc(&site, r, p, n, false, NULL, false);
	return r;
}

static ds_cu_result w_memalloc_async(ds_cu_deviceptr *p, size_t n,
				     ds_cu_stream s)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocAsync");
	__typeof__(&w_memalloc_async) real = slot_real(DS_DRV_MEMALLOC_ASYNC);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n, s);
	after_alloc(&site, r, p, n, true, s, false);
	return r;
}

static ds_cu_result w_memalloc_async_ptsz(ds_cu_deviceptr *p, size_t n,
					  ds_cu_stream s)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocAsync_ptsz");
	__typeof__(&w_memalloc_async_ptsz) real =
		slot_real(DS_DRV_MEMALLOC_ASYNC_PTSZ);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n, s);
	after_alloc(&site, r, p, n, true, s, true);
	return r;
}

static ds_cu_result w_memalloc_pool(ds_cu_deviceptr *p, size_t n,
				    ds_cu_mempool pool, ds_cu_stream s)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocFromPoolAsync");
	__typeof__(&w_memalloc_pool) real = slot_real(DS_DRV_MEMALLOC_POOL);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n, pool, s);
	after_alloc(&site, r, p, n, true, s, false);
	return r;
}

static ds_cu_result w_memalloc_pool_ptsz(ds_cu_deviceptr *p, size_t n,
					 ds_cu_mempool pool, ds_cu_stream s)
{
	DS_SITE(site, DS_SRC_DRIVER, "cuMemAllocFromPoolAsync_ptsz");
	__typeof__(&w_memalloc_pool_ptsz) real =
		slot_real(DS_DRV_MEMALLOC_POOL_PTSZ);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(p, n, pool, s);
	after_alloc(&site, r, p, n, true, s, true);
	return r;
}

/* ------------------------------------------------------------------ */
/* cuInit and cuGetProcAddress. */

static ds_cu_result w_init(unsigned flags)
{
	__typeof__(&w_init) real = slot_real(DS_DRV_INIT);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(flags);
	if (r == DS_CUDA_SUCCESS && ds_active() && ds_watch(DS_SRC_DRIVER))
		fingerprint();
	return r;
}

static void *wrap(int slot, void *real, const char *how);

/* After a lookup returned r: replace *pfn by our wrapper if wrapped. */
static void after_lookup(ds_cu_result r, const char *sym, void **pfn, int ver,
			 uint64_t flags)
{
	if (r != DS_CUDA_SUCCESS || pfn == NULL || *pfn == NULL ||
	    sym == NULL || !ds_active() || !ds_watch(DS_SRC_DRIVER))
		return;
	*pfn = wrap(ds_drv_by_proc(sym, ver, flags), *pfn, "cuGetProcAddress");
}

static ds_cu_result w_getproc_v1(const char *sym, void **pfn, int ver,
				 uint64_t flags)
{
	__typeof__(&w_getproc_v1) real = slot_real(DS_DRV_GETPROC_V1);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(sym, pfn, ver, flags);
	after_lookup(r, sym, pfn, ver, flags);
	return r;
}

static ds_cu_result w_getproc_v2(const char *sym, void **pfn, int ver,
				 uint64_t flags, int *status)
{
	__typeof__(&w_getproc_v2) real = slot_real(DS_DRV_GETPROC_V2);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(sym, pfn, ver, flags, status);
	after_lookup(r, sym, pfn, ver, flags);
	return r;
}

static ds_cu_result w_getproc_v2_ptsz(const char *sym, void **pfn, int ver,
				      uint64_t flags, int *status)
{
	__typeof__(&w_getproc_v2_ptsz) real = slot_real(DS_DRV_GETPROC_V2_PTSZ);
	ds_cu_result r;

	if (real == NULL)
		return DS_CUDA_ERROR_NOT_INITIALIZED;
	r = real(sym, pfn, ver, flags, status);
	after_lookup(r, sym, pfn, ver, flags);
	return r;
}

static void *const wrappers[DS_DRV_COUNT] = {
#define DS_DRV_WRAPPER(slot, export_, base, from, below, ptsz, alloc, wrapper_) \
	[DS_DRV_##slot] = (void *)wrapper_,
	DS_DRV_SLOTS(DS_DRV_WRAPPER)
#undef DS_DRV_WRAPPER
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
			 ds_drv_name(slot), real, expect);
		return real;
	}
	if ((atomic_fetch_or(&logged, 1u << slot) & (1u << slot)) == 0)
		ds_log_record(DS_SRC_DRIVER, ds_drv_name(slot), "wrapped",
			      "%s via %s (real %p in %s)", ds_drv_name(slot),
			      how, real, ds_object_of(real));
	return wrappers[slot];
}

/* ------------------------------------------------------------------ */
/* dlsym. */

/* The real dlsym the stub jumps to; set before ds_dlsym_route returns 0. */
DS_HIDDEN void *_Atomic ds_dlsym_next;

/*
 * dlsym(RTLD_DEFAULT, name) where the shim's own export (a cuBLAS, cuDNN
 * or cuRAND hook) is what the lookup finds: without the shim it finds
 * the name only if a library in the global scope defines it.  So the
 * shim's export answers only while an object after it defines the name
 * too; else the lookup fails, as it would without the shim (a program
 * that probes "is cuBLAS loaded?" by symbol keeps its CPU path), and
 * dlerror() names the symbol (the failed lookup set it).  Names bound
 * at load time (a weak reference) still bind to the hook, which answers
 * the library's "not initialised" status (README, "Limits").
 */
static DS_NO_SANITIZE bool own_name_without_library(const char *name)
{
	Dl_info own, found;
	void *p, *next;

	ds_inside++;
	p = ds_real_dlsym(RTLD_DEFAULT, name);
	if (p == NULL || dladdr(p, &found) == 0 ||
	    dladdr((const void *)own_name_without_library, &own) == 0 ||
	    found.dli_fbase != own.dli_fbase) {
		ds_inside--;
		return false;
	}
	next = ds_real_dlsym(RTLD_NEXT, name); /* sets dlerror when absent */
	ds_inside--;
	return next == NULL;
}

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
	if (handle == RTLD_DEFAULT && own_name_without_library(name)) {
		*answer = NULL;
		return 1;
	}
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

/* Declared for readers and tests/check_exports.sh: the definition is the
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
