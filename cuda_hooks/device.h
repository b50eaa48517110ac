/*
 * device.h - what the CUDA driver hooks (driver.c) tell other hook files
 * about the GPU: one device query, used by the log's fingerprint and by
 * the algorithm cache's device string (cudnn_backend.c), and the reads
 * behind call hashing (hash_calls.c).  Both go through
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

/* Reading device memory for call hashing (cuda_hooks/hash_calls.c),
 * through the program's own driver; each is false without one. */

/* Wait for the work queued on stream (NULL: the legacy default stream).
 * False when the stream is being captured into a CUDA graph (waiting
 * would invalidate the capture) or the driver reports an error. */
bool ds_cu_stream_wait(void *stream);
/* True if the driver calls p device memory, not managed: host memory
 * (which the driver answers with an error) and managed memory are
 * false, and are never read. */
bool ds_cu_is_device_memory(unsigned long long p);
/* Copy n bytes at device address src into dst, ordered on stream, and
 * wait for it.  False on any driver error (dst is then undefined). */
bool ds_cu_copy_to_host(void *dst, unsigned long long src, size_t n,
			void *stream);

#endif /* DS_DEVICE_H */
