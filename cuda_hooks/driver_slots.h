/*
 * driver_slots.h - the CUDA driver entry points the shim wraps and the
 * ones it calls, each written once.
 *
 * DS_DRV_SLOTS: one row per wrapper slot (one ABI and one stream flavour
 * of one entry point):
 *   X(SLOT, export, base, from, below, ptsz, is_alloc, wrapper)
 *   SLOT      the enum member DS_DRV_<SLOT> (driver_rules.h)
 *   export    the exported name a dlsym asks for ("cuMemAlloc_v2")
 *   base      the name cuGetProcAddress is asked for ("cuMemAlloc")
 *   from, below  the caller's CUDA version range [from, below) for which
 *             cuGetProcAddress hands out this ABI
 *   ptsz      DS_DRV_PTSZ_ANY / _NO / _YES: whether the request carries
 *             CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
 *   is_alloc  wrapped only when gpu.alloc_fill is on
 *   wrapper   the static wrapper in driver.c
 * driver_rules.c expands it into the lookups (export, base), driver.c into
 * the wrapper table and the slot names.  Adding a wrapped entry point is
 * one row here and one wrapper in driver.c.
 *
 * DS_DRV_CALLS: the driver functions the shim calls itself (fingerprint,
 * device string, allocation fill, reading buffers for call hashing), with
 * the version each is fetched at:
 *   X(CALL, base, version, flags, export)
 * fetched through the program's own cuGetProcAddress by (base, version,
 * flags), else by the exported name from the loaded driver (driver.c).
 */
#ifndef DS_DRIVER_SLOTS_H
#define DS_DRIVER_SLOTS_H

#include <limits.h>

#include "abi/cuda.h"

#define DS_DRV_SLOTS(X)                                                      \
	X(GETPROC_V1, "cuGetProcAddress", "cuGetProcAddress", 0,             \
	  DS_CU_GETPROC_V2_FROM, DS_DRV_PTSZ_ANY, false, w_getproc_v1)       \
	X(GETPROC_V2, "cuGetProcAddress_v2", "cuGetProcAddress",             \
	  DS_CU_GETPROC_V2_FROM, INT_MAX, DS_DRV_PTSZ_NO, false,             \
	  w_getproc_v2)                                                      \
	X(GETPROC_V2_PTSZ, "cuGetProcAddress_v2_ptsz", "cuGetProcAddress",   \
	  DS_CU_GETPROC_V2_FROM, INT_MAX, DS_DRV_PTSZ_YES, false,            \
	  w_getproc_v2_ptsz)                                                 \
	X(INIT, "cuInit", "cuInit", 0, INT_MAX, DS_DRV_PTSZ_ANY, false,      \
	  w_init)                                                            \
	X(MEMALLOC, "cuMemAlloc_v2", "cuMemAlloc", DS_CU_MEMALLOC_V2_FROM,   \
	  INT_MAX, DS_DRV_PTSZ_ANY, true, w_memalloc)                        \
	X(MEMALLOC_PITCH, "cuMemAllocPitch_v2", "cuMemAllocPitch",           \
	  DS_CU_MEMALLOC_V2_FROM, INT_MAX, DS_DRV_PTSZ_ANY, true,            \
	  w_memalloc_pitch)                                                  \
	X(MEMALLOC_MANAGED, "cuMemAllocManaged", "cuMemAllocManaged",        \
	  DS_CU_MEMALLOC_V2_FROM, INT_MAX, DS_DRV_PTSZ_ANY, true,            \
	  w_memalloc_managed)                                                \
	X(MEMALLOC_ASYNC, "cuMemAllocAsync", "cuMemAllocAsync",              \
	  DS_CU_MEMALLOC_V2_FROM, INT_MAX, DS_DRV_PTSZ_NO, true,             \
	  w_memalloc_async)                                                  \
	X(MEMALLOC_ASYNC_PTSZ, "cuMemAllocAsync_ptsz", "cuMemAllocAsync",    \
	  DS_CU_MEMALLOC_V2_FROM, INT_MAX, DS_DRV_PTSZ_YES, true,            \
	  w_memalloc_async_ptsz)                                             \
	X(MEMALLOC_POOL, "cuMemAllocFromPoolAsync", "cuMemAllocFromPoolAsync", \
	  DS_CU_MEMALLOC_V2_FROM, INT_MAX, DS_DRV_PTSZ_NO, true,             \
	  w_memalloc_pool)                                                   \
	X(MEMALLOC_POOL_PTSZ, "cuMemAllocFromPoolAsync_ptsz",                \
	  "cuMemAllocFromPoolAsync", DS_CU_MEMALLOC_V2_FROM, INT_MAX,        \
	  DS_DRV_PTSZ_YES, true, w_memalloc_pool_ptsz)

#define DS_DRV_CALLS(X)                                                      \
	X(DRIVER_GET_VERSION, "cuDriverGetVersion", DS_CU_VERSION_2_2, 0,    \
	  "cuDriverGetVersion")                                              \
	X(DEVICE_GET_COUNT, "cuDeviceGetCount", DS_CU_VERSION_2_0, 0,        \
	  "cuDeviceGetCount")                                                \
	X(DEVICE_GET, "cuDeviceGet", DS_CU_VERSION_2_0, 0, "cuDeviceGet")    \
	X(DEVICE_GET_NAME, "cuDeviceGetName", DS_CU_VERSION_2_0, 0,          \
	  "cuDeviceGetName")                                                 \
	X(DEVICE_GET_ATTRIBUTE, "cuDeviceGetAttribute", DS_CU_VERSION_2_0, 0, \
	  "cuDeviceGetAttribute")                                            \
	X(DEVICE_GET_UUID, "cuDeviceGetUuid", DS_CU_VERSION_11_4, 0,         \
	  "cuDeviceGetUuid_v2")                                              \
	X(CTX_GET_DEVICE, "cuCtxGetDevice", DS_CU_VERSION_2_0, 0,            \
	  "cuCtxGetDevice")                                                  \
	X(MEMSET_D8, "cuMemsetD8", DS_CU_VERSION_3_2, 0, "cuMemsetD8_v2")    \
	X(MEMSET_D8_ASYNC, "cuMemsetD8Async", DS_CU_VERSION_3_2, 0,          \
	  "cuMemsetD8Async")                                                 \
	X(MEMSET_D8_ASYNC_PTSZ, "cuMemsetD8Async", DS_CU_VERSION_7_0,        \
	  DS_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,                  \
	  "cuMemsetD8Async_ptsz")                                            \
	X(STREAM_IS_CAPTURING, "cuStreamIsCapturing", DS_CU_VERSION_10_0, 0, \
	  "cuStreamIsCapturing")                                             \
	X(EXCHANGE_CAPTURE_MODE, "cuThreadExchangeStreamCaptureMode",        \
	  DS_CU_VERSION_10_1, 0, "cuThreadExchangeStreamCaptureMode")        \
	X(STREAM_SYNCHRONIZE, "cuStreamSynchronize", DS_CU_VERSION_2_0, 0,   \
	  "cuStreamSynchronize")                                             \
	X(POINTER_GET_ATTRIBUTE, "cuPointerGetAttribute", DS_CU_VERSION_4_0, \
	  0, "cuPointerGetAttribute")                                        \
	X(MEMCPY_DTOH_ASYNC, "cuMemcpyDtoHAsync", DS_CU_VERSION_3_2, 0,      \
	  "cuMemcpyDtoHAsync_v2")

#endif /* DS_DRIVER_SLOTS_H */
