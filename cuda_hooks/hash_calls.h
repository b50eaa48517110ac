/*
 * hash_calls.h - call hashing, the debug mode behind `detrun --verify
 * --bisect` (gpu.hash_calls / DETSHIM_HASH_CALLS; docs/DESIGN.md §11).
 *
 * Each hooked library call that writes device memory (cuBLAS and
 * cuBLASLt GEMMs, cuDNN convolutions and backend executes, cuRAND
 * generate, NCCL collectives) logs one "hashed" event: a hash of the
 * buffers it reads, taken before the real call, and one of the buffers it
 * writes, taken after it, each once the call's stream has finished, with
 * the stream's ordinal in this process and the call's ordinal on that
 * stream.  Aligning two runs' events by (stream, ord) names the first
 * call whose inputs agreed and whose output did not.
 *
 * A hook uses it like this, so that the real function is called from
 * one place and the mode costs one predictable branch when it is off
 * (the test of `on` after the call is of a register, or folded into
 * that branch by the compiler):
 *
 *	struct ds_hc hc;
 *	bool on = false;
 *	...
 *	if (DS_UNLIKELY(ds_hash_calls_on()) && ds_hc_begin(&hc, stream)) {
 *		on = true;
 *		ds_hc_in(&hc, a, a_bytes); ...   (ds_hc_matrix_bytes)
 *	}
 *	st = real(...);
 *	if (on) {
 *		ds_hc_out(&hc, c, c_bytes); ...
 *		ds_hc_end(&site, &hc, st, what, why);
 *	}
 *	return st;
 *
 * What only the hashing needs (the stream from a getter, the buffers'
 * description) is computed inside the first branch.  ds_hc_begin false:
 * the call is nested in another hashed one, or there is no log.
 *
 * Nothing here ever dereferences a buffer: memory the driver does not
 * call device memory (host or managed memory, a bad pointer) is hashed as
 * "unreadable" (its size only), and so is everything of a call whose
 * stream is being captured into a CUDA graph.
 */
#ifndef DS_HASH_CALLS_H
#define DS_HASH_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detshim.h"

/* True when calls are to be hashed: the one branch a hook pays when the
 * mode is off. */
static inline bool ds_hash_calls_on(void)
{
	return ds_cfg.hash_calls;
}

/* One call being hashed (on the hook's stack). */
struct ds_hc {
	void *stream;        /* the call's stream; NULL: the legacy default */
	bool waited;         /* the stream was waited for in this phase */
	bool out_phase;      /* ds_hc_out was called: the call has run */
	bool blocked;        /* the stream could not be waited for */
	uint64_t in;         /* hash of the inputs so far */
	uint64_t out;        /* hash of the outputs so far */
	unsigned nin;        /* input buffers */
	unsigned nout;       /* output buffers */
	unsigned unreadable; /* buffers hashed by their size only */
	bool parked;         /* ds_hc_park: the thread's depth already dropped */
};

/* Start hashing a call on stream.  False (nothing to do: call the real
 * function plainly) when the shim is not active, there is no log, or the
 * thread is already inside a hashed call (a library calling another
 * hooked one: only the outer call is hashed). */
bool ds_hc_begin(struct ds_hc *hc, void *stream);
/* Hash n bytes of device memory at p into the inputs (before the real
 * call) or the outputs (after it).  The first of each waits for the
 * stream. */
void ds_hc_in(struct ds_hc *hc, const void *p, size_t n);
void ds_hc_out(struct ds_hc *hc, const void *p, size_t n);
/* The real call has been made but its output is not ready yet (an NCCL
 * collective inside ncclGroupStart/End runs at ncclGroupEnd): other
 * calls may be hashed until ds_hc_out and ds_hc_end finish this one. */
void ds_hc_park(struct ds_hc *hc);
/* Log the "hashed" event at site (never capped by log.first_n) and end
 * the call.  status is the real call's; what names the shapes, types,
 * layouts and algorithm, why the hooks' view of the call. */
void ds_hc_end(struct ds_site *site, struct ds_hc *hc, int status,
	       const char *what, const char *why);

/* The same for a batch of buffers given by a device array of batch
 * pointers (cuBLAS's batched GEMMs), each of n bytes. */
void ds_hc_in_array(struct ds_hc *hc, const void *const *array,
		    int64_t batch, size_t n);
void ds_hc_out_array(struct ds_hc *hc, const void *const *array,
		     int64_t batch, size_t n);

/* Bits per element of a cudaDataType_t (library_types.h), 0 if unknown;
 * *name gets its name ("R_32F", "?"). */
int ds_hc_dtype_bits(int type, const char **name);
/* Bytes a matrix of rows x cols spans with leading dimension ld
 * (column-major, or row-major when row_major), batch of them stride
 * elements apart, bits per element.  0 when the description makes no
 * sense (negative, zero, overflow): nothing is read then. */
size_t ds_hc_matrix_bytes(int64_t rows, int64_t cols, int64_t ld,
			  bool row_major, int64_t batch, int64_t stride,
			  int bits);

/* The ordinal of stream in this process, by first use (0, 1, ...); the
 * streams past DS_HC_STREAMS share the ordinal DS_HC_STREAMS.
 * Lock-free. */
#define DS_HC_STREAMS 256
unsigned ds_hc_stream_ordinal(const void *stream);

#endif /* DS_HASH_CALLS_H */
