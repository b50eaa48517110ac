/*
 * cublas_rules.h - pure decisions behind the cuBLAS and cuBLASLt hooks
 * (cublas.c, cublaslt.c): no interposed symbol, no I/O, so the unit tests
 * link them from the core archive and check every rewrite rule.
 */
#ifndef DS_CUBLAS_RULES_H
#define DS_CUBLAS_RULES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/cublaslt.h"

/* ---- cuBLAS ---- */

/* cublasGemmAlgo_t to run: CUBLAS_GEMM_AUTOTUNE (999, timing, cached in the
 * handle) becomes CUBLAS_GEMM_DEFAULT; everything else is kept. */
int ds_cublas_gemm_algo(int algo);

/* cublasMath_t with TF32 and emulated modes replaced by the default mode
 * when strip is true; the flag bits (DISALLOW_REDUCED_PRECISION_REDUCTION)
 * are kept.  Unchanged when strip is false. */
int ds_cublas_math_mode(int mode, bool strip);

/* cublasComputeType_t with FAST_TF32 / emulated types replaced by the
 * plain 32F / 64F types when strip is true. */
int ds_cublas_compute_type(int ct, bool strip);

/* ---- cuBLASLt ---- */

/* Reduction-scheme mask the shim asks cuBLASLt for: only
 * CUBLASLT_REDUCTION_SCHEME_NONE (no split-K), as an NVIDIA cuBLAS engineer
 * recommends for exact repeatability (NVIDIA/CUDALibrarySamples#243). */
uint32_t ds_lt_allowed_schemes(void);

/* True if an algo with this reduction scheme and split-K count is one the
 * shim lets through. */
bool ds_lt_algo_ok(uint32_t scheme, int32_t splitk);

/* Keep the elements of arr (n of size elem) whose keep[i] is true, in
 * their order, packed at the front: the heuristic results that pass
 * ds_lt_algo_ok keep the heuristic's order.  Returns the new count. */
int ds_compact(void *arr, size_t elem, int n, const bool *keep);

/* ---- cuBLASLt under the batch-invariant profile (docs/DESIGN.md §13) ---- */

/*
 * What a matmul is, without its batch extent.  cuBLAS is column-major:
 * PyTorch's row-major X[M,K] times W^T (W[N,K]) becomes D = A^T B with
 * A = W (TRANSA = T), m = N (out features), n = M (tokens), k = K, so n is
 * the batch, and so are B's rows or columns, ldb when B is transposed,
 * and C's and D's columns.  None of them is in the shape; everything else
 * the heuristic sees is.  cublaslt.c fills it (zeroed first: the bytes
 * are hashed and compared); a value the library would not give is -1.
 */
#define DS_LT_DESC_ATTRS 16
struct ds_lt_shape {
	int32_t desc[DS_LT_DESC_ATTRS]; /* matmul descriptor attributes */
	int32_t layout[4][3];  /* A, B, C, D: data type, order, 0 (not the
				* batch count, which grows with the batch) */
	uint32_t align[4];     /* preference MIN_ALIGNMENT_{A,B,C,D}_BYTES */
	uint64_t m, k;         /* D's rows; A's k extent */
	int64_t lda, ldc, ldd;
	uint64_t max_ws;       /* preference MAX_WORKSPACE_BYTES */
};
_Static_assert(offsetof(struct ds_lt_shape, m) ==
		       (DS_LT_DESC_ATTRS + 12 + 4) * 4 &&
	       sizeof(struct ds_lt_shape) == offsetof(struct ds_lt_shape, m) + 48,
	       "no padding: the shape's bytes are its value");

/* Whether the profile pins the shape to one algorithm (true) or only
 * filters its heuristic results on every call, no split-K and no
 * reduction scheme (false).  With pin_half false, a shape whose A and B
 * are both 16-bit or 8-bit floats (DS_CUDA_R_16F, _16BF, _8F_E4M3,
 * _8F_E5M2: tensor-core GEMMs, whose per-element K order the hypothesis
 * of docs/DESIGN.md §13 says follows split-K alone) is filtered; every
 * other shape (fp32, tf32, fp64, integers, an unreadable type) is pinned.
 * With pin_half true every shape is pinned. */
bool ds_lt_pins(const struct ds_lt_shape *s, bool pin_half);

/* One shape's algorithm: claimed by compare-and-swap of tag (0: free,
 * else the shape's hash), published by ready. */
struct ds_lt_slot {
	_Atomic uint64_t tag;
	atomic_uint ready;
	atomic_bool variant_logged;  /* "batch-variant" logged for it */
	struct ds_lt_shape shape;
	struct ds_cublaslt_algo algo;
	uint64_t first_n;            /* n of the call that chose it */
};

#define DS_LT_SLOTS 2048 /* a power of two */
struct ds_lt_table {
	struct ds_lt_slot slot[DS_LT_SLOTS];
	atomic_bool full_logged;
};

/* The shape's hash, never 0.  A few ns: no allocation, no call. */
uint64_t ds_lt_shape_hash(const struct ds_lt_shape *s);

/* The published slot of the shape, or NULL: *busy is set when another
 * thread is writing a slot of this hash (it waits a bounded while for
 * it, never blocks).  Lock-free, async-signal-safe. */
struct ds_lt_slot *ds_lt_find(struct ds_lt_table *t,
			      const struct ds_lt_shape *s, uint64_t hash,
			      bool *busy);

/* Store the shape's algorithm unless it has one: returns the slot that
 * holds the shape now (*inserted tells whether this call wrote it; if
 * not, its algo may be another thread's choice), or NULL when the table
 * is full or a writer of this hash does not finish.  Lock-free: a
 * thread forked while another was writing leaves that one slot
 * unpublished in the child, whose calls of that shape then get NULL. */
struct ds_lt_slot *ds_lt_insert(struct ds_lt_table *t,
				const struct ds_lt_shape *s, uint64_t hash,
				const struct ds_cublaslt_algo *algo,
				uint64_t n, bool *inserted);

#endif /* DS_CUBLAS_RULES_H */
