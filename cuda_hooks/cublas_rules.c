/*
 * cublas_rules.c - pure decisions behind the cuBLAS and cuBLASLt hooks.
 *
 * Nothing here calls a CUDA library, reads the configuration or logs:
 * cublas.c and cublaslt.c ask these functions what to change and do the
 * rest.  Every rule cites the vendor statement it rests on
 * (docs/GPU_LIBS.md).
 */
#include "cublas_rules.h"

#include <string.h>

#include "abi/cublas.h"
#include "abi/cublaslt.h"

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
	 * only on some GPUs: the opt-in strip keeps fp32 and fp64 matmuls in
	 * IEEE arithmetic. */
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
	 * alignment and SM target, so only unsplit algos pass. */
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
