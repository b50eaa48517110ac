/*
 * driver.h - what the CUDA driver hooks share: the soname.
 */
#ifndef DS_DRIVER_HOOKS_H
#define DS_DRIVER_HOOKS_H

/* The driver every CUDA library dlopens itself (gpu.md §0 item 5). */
#define DS_CUDA_DRIVER_SONAME "libcuda.so.1"

#endif /* DS_DRIVER_HOOKS_H */
