/*
 * gpu_policy.c - pure decisions behind the GPU library hooks.
 *
 * Nothing here calls a CUDA library, reads the configuration or logs: the
 * hook files (cublas.c, cublaslt.c, curand.c, driver.c) ask these
 * functions what to change and do the rest.  Every rule cites the vendor
 * statement it rests on (research/gpu.md).
 */
#include "gpu_policy.h"

#include <string.h>

#include "abi/cublas.h"
#include "abi/cublaslt.h"
#include "abi/cuda.h"
#include "abi/curand.h"

int ds_cublas_gemm_algo(int algo)
{
	/* cublas_api.h: CUBLAS_GEMM_AUTOTUNE "benchmark available algorithms
	 * and choose optimal one, cached in handle" - a timing choice. */
	return algo == DS_CUBLAS_GEMM_AUTOTUNE ? DS_CUBLAS_GEMM_DEFAULT : algo;
}

int ds_cublas_math_mode(int mode, bool strip)
{
	int low = mode & 0xf, flags = mode & ~0xf;

	if (!strip)
		return mode;
	/* TF32 tensor ops and the emulated BF16x9 / fixed-point paths exist
	 * only on some GPUs (gpu.md §3.4, §9): the opt-in strip keeps fp32
	 * and fp64 matmuls in IEEE arithmetic. */
	if (low == DS_CUBLAS_TF32_TENSOR_OP_MATH ||
	    low == DS_CUBLAS_FP32_EMULATED_BF16X9_MATH ||
	    low == DS_CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH)
		low = DS_CUBLAS_DEFAULT_MATH;
	return low | flags;
}

int ds_cublas_compute_type(int ct, bool strip)
{
	if (!strip)
		return ct;
	switch (ct) {
	case DS_CUBLAS_COMPUTE_32F_FAST_TF32:
	case DS_CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
		return DS_CUBLAS_COMPUTE_32F;
	case DS_CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT:
		return DS_CUBLAS_COMPUTE_64F;
	default:
		return ct;
	}
}

uint32_t ds_lt_allowed_schemes(void)
{
	return DS_CUBLASLT_REDUCTION_SCHEME_NONE;
}

bool ds_lt_algo_ok(uint32_t scheme, int32_t splitk)
{
	/* A split-K algo sums partial products in another order than an
	 * unsplit one; which split the heuristic picks depends on workspace,
	 * alignment and SM target (gpu.md §4.1), so only unsplit algos pass. */
	return (scheme & ~ds_lt_allowed_schemes()) == 0 && splitk <= 1;
}

int ds_compact(void *arr, size_t elem, int n, const bool *keep)
{
	unsigned char *a = arr;
	int i, out = 0;

	for (i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		if (out != i)
			memmove(a + (size_t)out * elem, a + (size_t)i * elem,
				elem);
		out++;
	}
	return out;
}

int ds_curand_ordering(int order)
{
	/* curand.h: PSEUDO_DYNAMIC is "adjusted to the device it is being
	 * executed on": the sequence differs across GPU models. */
	return order == DS_CURAND_ORDERING_PSEUDO_DYNAMIC ?
		       DS_CURAND_ORDERING_PSEUDO_DEFAULT : order;
}

bool ds_curand_is_pseudo(int rng_type)
{
	return rng_type >= DS_CURAND_RNG_PSEUDO_FIRST &&
	       rng_type <= DS_CURAND_RNG_PSEUDO_LAST;
}

static const struct {
	const char *name;
	int slot;
} drv_exports[] = {
	{ "cuGetProcAddress", DS_DRV_GETPROC_V1 },
	{ "cuGetProcAddress_v2", DS_DRV_GETPROC_V2 },
	{ "cuGetProcAddress_v2_ptsz", DS_DRV_GETPROC_V2_PTSZ },
	{ "cuInit", DS_DRV_INIT },
	{ "cuMemAlloc_v2", DS_DRV_MEMALLOC },
	{ "cuMemAllocPitch_v2", DS_DRV_MEMALLOC_PITCH },
	{ "cuMemAllocManaged", DS_DRV_MEMALLOC_MANAGED },
	{ "cuMemAllocAsync", DS_DRV_MEMALLOC_ASYNC },
	{ "cuMemAllocAsync_ptsz", DS_DRV_MEMALLOC_ASYNC_PTSZ },
	{ "cuMemAllocFromPoolAsync", DS_DRV_MEMALLOC_POOL },
	{ "cuMemAllocFromPoolAsync_ptsz", DS_DRV_MEMALLOC_POOL_PTSZ },
};

int ds_drv_by_export(const char *name)
{
	size_t i;

	if (name == NULL || name[0] != 'c' || name[1] != 'u')
		return DS_DRV_NONE;
	for (i = 0; i < sizeof(drv_exports) / sizeof(drv_exports[0]); i++)
		if (strcmp(name, drv_exports[i].name) == 0)
			return drv_exports[i].slot;
	return DS_DRV_NONE;
}

int ds_drv_by_proc(const char *base, int cuda_version, uint64_t flags)
{
	bool ptsz = (flags & DS_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;

	if (base == NULL || base[0] != 'c' || base[1] != 'u')
		return DS_DRV_NONE;
	if (strcmp(base, "cuGetProcAddress") == 0) {
		/* PFN_cuGetProcAddress_v11030 (4 args) vs _v12000 (5 args). */
		if (cuda_version < DS_CU_GETPROC_V2_FROM)
			return DS_DRV_GETPROC_V1;
		return ptsz ? DS_DRV_GETPROC_V2_PTSZ : DS_DRV_GETPROC_V2;
	}
	if (strcmp(base, "cuInit") == 0)
		return DS_DRV_INIT;
	/* Below 3020 these names have the 32-bit v1 ABI: never wrapped
	 * (HAMi-core#57: handing a newer ABI to an old caller breaks it). */
	if (cuda_version < DS_CU_MEMALLOC_V2_FROM)
		return DS_DRV_NONE;
	if (strcmp(base, "cuMemAlloc") == 0)
		return DS_DRV_MEMALLOC;
	if (strcmp(base, "cuMemAllocPitch") == 0)
		return DS_DRV_MEMALLOC_PITCH;
	if (strcmp(base, "cuMemAllocManaged") == 0)
		return DS_DRV_MEMALLOC_MANAGED;
	if (strcmp(base, "cuMemAllocAsync") == 0)
		return ptsz ? DS_DRV_MEMALLOC_ASYNC_PTSZ : DS_DRV_MEMALLOC_ASYNC;
	if (strcmp(base, "cuMemAllocFromPoolAsync") == 0)
		return ptsz ? DS_DRV_MEMALLOC_POOL_PTSZ : DS_DRV_MEMALLOC_POOL;
	return DS_DRV_NONE;
}

bool ds_drv_is_alloc(int slot)
{
	return slot >= DS_DRV_MEMALLOC && slot < DS_DRV_COUNT;
}

void ds_uuid_format(const unsigned char b[16], char out[41])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	int i;

	memcpy(p, "GPU-", 4);
	p += 4;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 0xf];
	}
	*p = '\0';
}

static size_t once_hash(uintptr_t k)
{
	k ^= k >> 17;
	k *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(k >> 40) % DS_ONCE_SLOTS;
}

static atomic_uint *once_slot(struct ds_once_table *t, uintptr_t k,
			      bool insert)
{
	size_t h = once_hash(k), i;

	for (i = 0; i < DS_ONCE_SLOTS; i++) {
		size_t j = (h + i) % DS_ONCE_SLOTS;
		uintptr_t cur = atomic_load(&t->key[j]);

		if (cur == k)
			return &t->bits[j];
		if (cur == 0) {
			uintptr_t zero = 0;

			if (!insert)
				return NULL;
			if (atomic_compare_exchange_strong(&t->key[j], &zero, k))
				return &t->bits[j];
			if (zero == k)
				return &t->bits[j];
		}
	}
	return NULL;
}

bool ds_once_first(struct ds_once_table *t, const void *handle, unsigned bit)
{
	atomic_uint *b = once_slot(t, (uintptr_t)handle, true);

	if (b == NULL)
		return true;
	return (atomic_fetch_or(b, 1u << bit) & (1u << bit)) == 0;
}

void ds_once_forget(struct ds_once_table *t, const void *handle)
{
	atomic_uint *b = once_slot(t, (uintptr_t)handle, false);

	if (b)
		atomic_store(b, 0);
}
