/*
 * gpu_policy.h - pure decisions behind the cuBLAS, cuBLASLt, cuRAND and
 * driver hooks: no interposed symbol, no I/O, so the unit tests link them
 * from the core archive (style.md §1) and check every rewrite rule.
 */
#ifndef DS_GPU_POLICY_H
#define DS_GPU_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- cuBLAS (gpu.md §3) ---- */

/* cublasGemmAlgo_t to run: CUBLAS_GEMM_AUTOTUNE (999, timing, cached in the
 * handle) becomes CUBLAS_GEMM_DEFAULT; everything else is kept. */
int ds_cublas_gemm_algo(int algo);

/* cublasMath_t with TF32 and emulated modes replaced by the default mode
 * when strip is true; the flag bits (DISALLOW_REDUCED_PRECISION_REDUCTION)
 * are kept.  Unchanged when strip is false. */
int ds_cublas_math_mode(int mode, bool strip);

/* cublasComputeType_t with FAST_TF32 / emulated types replaced by the
 * plain 32F / 64F types when strip is true. */
int ds_cublas_compute_type(int ct, bool strip);

/* ---- cuBLASLt (gpu.md §4) ---- */

/* Reduction-scheme mask the shim asks cuBLASLt for: only
 * CUBLASLT_REDUCTION_SCHEME_NONE (no split-K), as an NVIDIA cuBLAS engineer
 * recommends for exact repeatability (NVIDIA/CUDALibrarySamples#243). */
uint32_t ds_lt_allowed_schemes(void);

/* True if an algo with this reduction scheme and split-K count is one the
 * shim lets through. */
bool ds_lt_algo_ok(uint32_t scheme, int32_t splitk);

/* Keep the elements of arr (n of size elem) whose keep[i] is true, in
 * their order, packed at the front.  Returns the new count.  Pure. */
int ds_compact(void *arr, size_t elem, int n, const bool *keep);

/* ---- cuRAND (gpu.md §5) ---- */

/* Ordering to set: PSEUDO_DYNAMIC ("adjusted to the device it is being
 * executed on") becomes PSEUDO_DEFAULT; others are kept. */
int ds_curand_ordering(int order);

/* True for pseudo-random generator types (100..199): those have a seed. */
bool ds_curand_is_pseudo(int rng_type);

/* ---- CUDA driver (gpu.md §6) ---- */

/* The driver entry points the shim wraps.  A slot is one ABI (and one
 * stream flavour) of one entry point. */
enum ds_drv_fn {
	DS_DRV_NONE = -1,
	DS_DRV_GETPROC_V1 = 0,   /* cuGetProcAddress (4 arguments) */
	DS_DRV_GETPROC_V2,       /* cuGetProcAddress_v2 (5 arguments) */
	DS_DRV_GETPROC_V2_PTSZ,  /* cuGetProcAddress_v2_ptsz */
	DS_DRV_INIT,             /* cuInit: fingerprint after it */
	DS_DRV_MEMALLOC,         /* cuMemAlloc_v2 */
	DS_DRV_MEMALLOC_PITCH,   /* cuMemAllocPitch_v2 */
	DS_DRV_MEMALLOC_MANAGED, /* cuMemAllocManaged */
	DS_DRV_MEMALLOC_ASYNC,   /* cuMemAllocAsync */
	DS_DRV_MEMALLOC_ASYNC_PTSZ,
	DS_DRV_MEMALLOC_POOL,    /* cuMemAllocFromPoolAsync */
	DS_DRV_MEMALLOC_POOL_PTSZ,
	DS_DRV_COUNT
};

/* Slot of an exported driver symbol name as passed to dlsym
 * ("cuGetProcAddress_v2", "cuMemAlloc_v2"), or DS_DRV_NONE. */
int ds_drv_by_export(const char *name);

/* Slot of a cuGetProcAddress request: base name ("cuMemAlloc"), the
 * caller's CUDA version (1000*major + 10*minor) and flags.  DS_DRV_NONE for
 * names not wrapped and for ABI versions the shim has no wrapper for
 * (cuMemAlloc below 3020 is the 32-bit v1 ABI: never wrapped). */
int ds_drv_by_proc(const char *base, int cuda_version, uint64_t flags);

/* True for the allocation slots (wrapped only when alloc fill is on). */
bool ds_drv_is_alloc(int slot);

/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as nvidia-smi prints it. */
void ds_uuid_format(const unsigned char b[16], char out[41]);

/* ---- "once per handle" table ---- */

/* A fixed, lock-free open-addressed set of (handle, decision bits).  Used
 * to log each decision once per cuBLAS handle.  Handles are reused after
 * destroy: ds_once_forget clears the bits of a handle. */
#define DS_ONCE_SLOTS 512
struct ds_once_table {
	_Atomic uintptr_t key[DS_ONCE_SLOTS];   /* handle, 0 = empty */
	atomic_uint bits[DS_ONCE_SLOTS];        /* decisions logged */
};

/* Set bit for handle; true if it was not set before (log now).  When the
 * table is full, returns true (logging then falls back to the site cap). */
bool ds_once_first(struct ds_once_table *t, const void *handle, unsigned bit);
/* Forget every bit of handle (cublasDestroy). */
void ds_once_forget(struct ds_once_table *t, const void *handle);

#endif /* DS_GPU_POLICY_H */
