/*
 * abi/cuda.h - the few CUDA driver API types and values detshim touches.
 * Mirror of cuda.h / cudaTypedefs.h (CUDA 13.0), 64-bit platforms only.
 */
#ifndef DS_ABI_CUDA_H
#define DS_ABI_CUDA_H

#include <stdint.h>

typedef int ds_cu_result;             /* CUresult */
typedef unsigned long long ds_cu_deviceptr; /* CUdeviceptr (v2) */
typedef void *ds_cu_stream;           /* CUstream */
typedef void *ds_cu_mempool;          /* CUmemoryPool */
typedef int ds_cu_device;             /* CUdevice */

#define DS_CUDA_SUCCESS 0
#define DS_CUDA_ERROR_INVALID_VALUE 1
#define DS_CUDA_ERROR_NOT_INITIALIZED 3

/* CUdriverProcAddress_flags */
#define DS_CU_GET_PROC_ADDRESS_DEFAULT 0
#define DS_CU_GET_PROC_ADDRESS_LEGACY_STREAM 1
#define DS_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM 2

/* CUdevice_attribute */
#define DS_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16
#define DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76

/* CUpointer_attribute, CUmemorytype, CUstreamCaptureStatus: what call
 * hashing asks before it copies a buffer (cuda_hooks/hash_calls.c). */
#define DS_CU_POINTER_ATTRIBUTE_MEMORY_TYPE 2
#define DS_CU_POINTER_ATTRIBUTE_IS_MANAGED 8
#define DS_CU_MEMORYTYPE_DEVICE 2
#define DS_CU_STREAM_CAPTURE_STATUS_NONE 0
#define DS_CU_STREAM_CAPTURE_MODE_RELAXED 2

/* ABI versions (cudaTypedefs.h PFN_*_vNNNN): the version from which
 * cuGetProcAddress hands out the _v2 ABI of these entry points. */
#define DS_CU_MEMALLOC_V2_FROM 3020       /* PFN_cuMemAlloc_v3020 */
#define DS_CU_GETPROC_V2_FROM 12000       /* PFN_cuGetProcAddress_v12000 */

/* CUDA versions (1000 * major + 10 * minor) the shim passes to
 * cuGetProcAddress for the entry points it calls itself: the version of
 * each one's PFN_<name>_v<version> typedef in cudaTypedefs.h. */
#define DS_CU_VERSION_2_0 2000   /* cuDeviceGet*, cuCtxGetDevice,
				  * cuStreamSynchronize */
#define DS_CU_VERSION_2_2 2020   /* cuDriverGetVersion */
#define DS_CU_VERSION_3_2 3020   /* cuMemsetD8_v2, cuMemsetD8Async,
				  * cuMemcpyDtoHAsync_v2 */
#define DS_CU_VERSION_4_0 4000   /* cuPointerGetAttribute */
#define DS_CU_VERSION_7_0 7000   /* cuMemsetD8Async_ptsz */
#define DS_CU_VERSION_10_0 10000 /* cuStreamIsCapturing */
#define DS_CU_VERSION_10_1 10010 /* cuThreadExchangeStreamCaptureMode */
#define DS_CU_VERSION_11_4 11040 /* cuDeviceGetUuid_v2 */

#endif /* DS_ABI_CUDA_H */
