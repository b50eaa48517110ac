/*
 * cublas.h - what the cuBLAS hooks share with other files: the soname the
 * real functions are resolved from.
 */
#ifndef DS_CUBLAS_HOOKS_H
#define DS_CUBLAS_HOOKS_H

/* cuBLAS of CUDA 13 (gpu.md §3); PyTorch 2.11+cu130 loads this name. */
#define DS_CUBLAS_SONAME "libcublas.so.13"

#endif /* DS_CUBLAS_HOOKS_H */
