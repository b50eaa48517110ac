/*
 * cublaslt.h - what the cuBLASLt hooks share: the soname.
 */
#ifndef DS_CUBLASLT_HOOKS_H
#define DS_CUBLASLT_HOOKS_H

/* cuBLASLt of CUDA 13 (gpu.md §4). */
#define DS_CUBLASLT_SONAME "libcublasLt.so.13"

#endif /* DS_CUBLASLT_HOOKS_H */
