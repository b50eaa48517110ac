/*
 * abi/cublas.h - the few cuBLAS 13 types and values detshim touches.
 *
 * The project's own mirror of cublas_api.h (CUDA 13.x), so that the shim
 * builds without CUDA headers.  Only what cuda_hooks/cublas.c needs.
 * Values read from /usr/local/cuda/include/cublas_api.h (CUDA 13.0);
 * tests/check_abi.sh compares them with the vendor headers when those exist.
 */
#ifndef DS_ABI_CUBLAS_H
#define DS_ABI_CUBLAS_H

#include <stdint.h>

typedef int ds_cublas_status;          /* cublasStatus_t */
typedef void *ds_cublas_handle;        /* cublasHandle_t (opaque) */
typedef void *ds_cuda_stream;          /* cudaStream_t (opaque) */

#define DS_CUBLAS_STATUS_SUCCESS 0
#define DS_CUBLAS_STATUS_NOT_INITIALIZED 1
#define DS_CUBLAS_STATUS_INVALID_VALUE 7
#define DS_CUBLAS_STATUS_NOT_SUPPORTED 15

/* cublasAtomicsMode_t */
#define DS_CUBLAS_ATOMICS_NOT_ALLOWED 0
#define DS_CUBLAS_ATOMICS_ALLOWED 1

/* cublasMath_t: low bits are the mode, 16 is a flag */
#define DS_CUBLAS_DEFAULT_MATH 0
#define DS_CUBLAS_TENSOR_OP_MATH 1
#define DS_CUBLAS_PEDANTIC_MATH 2
#define DS_CUBLAS_TF32_TENSOR_OP_MATH 3
#define DS_CUBLAS_FP32_EMULATED_BF16X9_MATH 4
#define DS_CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH 8
#define DS_CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION 16

/* cublasComputeType_t (the ones the TF32 strip rewrites) */
#define DS_CUBLAS_COMPUTE_32F 68
#define DS_CUBLAS_COMPUTE_64F 70
#define DS_CUBLAS_COMPUTE_32F_FAST_TF32 77
#define DS_CUBLAS_COMPUTE_32F_EMULATED_16BFX9 78
#define DS_CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT 79

/* cublasGemmAlgo_t */
#define DS_CUBLAS_GEMM_DEFAULT (-1)
#define DS_CUBLAS_GEMM_AUTOTUNE 999 /* "benchmark ... cached in handle" */

#endif /* DS_ABI_CUBLAS_H */
