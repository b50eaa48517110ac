/*
 * curand.h - what the cuRAND hooks share: the soname.
 */
#ifndef DS_CURAND_HOOKS_H
#define DS_CURAND_HOOKS_H

/* cuRAND 10 (CUDA 12 and 13; gpu.md §5). */
#define DS_CURAND_SONAME "libcurand.so.10"

#endif /* DS_CURAND_HOOKS_H */
