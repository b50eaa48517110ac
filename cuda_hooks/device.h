/*
 * device.h - what the CUDA driver hooks (driver.c) tell other hook files
 * about the GPU: one device query, used by the log's fingerprint and by
 * the algorithm cache's device string (cudnn_backend.c).  Both go through
 * the driver the program already loaded; without one they answer "?" /
 * "unknown" and never load it.
 */
#ifndef DS_DEVICE_H
#define DS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

struct ds_cu_device_info {
	char name[96];          /* cuDeviceGetName, "?" if unknown */
	int cc_major, cc_minor; /* compute capability, -1 if unknown */
	int sms;                /* multiprocessor count, -1 if unknown */
	char uuid[41];          /* "GPU-…" as nvidia-smi prints it, or "?" */
};

/* Describe device number ordinal; false if the driver has no such device
 * (or none is loaded). */
bool ds_cu_device_describe(int ordinal, struct ds_cu_device_info *out);

/* "sm90 sms=132 NVIDIA H200" for the current context's device, "unknown"
 * without a driver or context. */
void ds_cu_current_device_string(char *out, size_t cap);

#endif /* DS_DEVICE_H */
