/*
 * cublas_rules.h - pure decisions behind the cuBLAS and cuBLASLt hooks
 * (cublas.c, cublaslt.c): no interposed symbol, no I/O, so the unit tests
 * link them from the core archive and check every rewrite rule.
 */
#ifndef DS_CUBLAS_RULES_H
#define DS_CUBLAS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- cuBLAS ---- */

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

/* ---- cuBLASLt ---- */

/* Reduction-scheme mask the shim asks cuBLASLt for: only
 * CUBLASLT_REDUCTION_SCHEME_NONE (no split-K), as an NVIDIA cuBLAS engineer
 * recommends for exact repeatability (NVIDIA/CUDALibrarySamples#243). */
uint32_t ds_lt_allowed_schemes(void);

/* True if an algo with this reduction scheme and split-K count is one the
 * shim lets through. */
bool ds_lt_algo_ok(uint32_t scheme, int32_t splitk);

/* Keep the elements of arr (n of size elem) whose keep[i] is true, in
 * their order, packed at the front: the heuristic results that pass
 * ds_lt_algo_ok keep the heuristic's order.  Returns the new count. */
int ds_compact(void *arr, size_t elem, int n, const bool *keep);

#endif /* DS_CUBLAS_RULES_H */
