/*
 * cublas_rules.c - pure decisions behind the cuBLAS and cuBLASLt hooks.
 *
 * Nothing here calls a CUDA library, reads the configuration or logs:
 * cublas.c and cublaslt.c ask these functions what to change and do the
 * rest.  Every rule cites the vendor statement it rests on
 * (docs/GPU_LIBS.md).
 */
#include "cublas_rules.h"

#include <string.h>

#include "abi/cublas.h"
#include "abi/cublaslt.h"

int ds_cublas_gemm_algo(int algo)
{
	/* cublas_api.h: CUBLAS_GEMM_AUTOTUNE "benchmark available algorithms
	 * and choose optimal one, cached in handle" - a timing choice. */
	return algo == DS_CUBLAS_GEMM_AUTOTUNE ? DS_CUBLAS_GEMM_DEFAULT : algo;
}

int ds_cublas_math_mode(int mode, bool strip)
{
	int low = mode & 0xf, flags = mode & ~0xf;

	if (!strip)
		return mode;
	/* TF32 tensor ops and the emulated BF16x9 / fixed-point paths exist
	 * only on some GPUs: the opt-in strip keeps fp32 and fp64 matmuls in
	 * IEEE arithmetic. */
	if (low == DS_CUBLAS_TF32_TENSOR_OP_MATH ||
	    low == DS_CUBLAS_FP32_EMULATED_BF16X9_MATH ||
	    low == DS_CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH)
		low = DS_CUBLAS_DEFAULT_MATH;
	return low | flags;
}

int ds_cublas_compute_type(int ct, bool strip)
{
	if (!strip)
		return ct;
	switch (ct) {
	case DS_CUBLAS_COMPUTE_32F_FAST_TF32:
	case DS_CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
		return DS_CUBLAS_COMPUTE_32F;
	case DS_CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT:
		return DS_CUBLAS_COMPUTE_64F;
	default:
		return ct;
	}
}

uint32_t ds_lt_allowed_schemes(void)
{
	return DS_CUBLASLT_REDUCTION_SCHEME_NONE;
}

bool ds_lt_algo_ok(uint32_t scheme, int32_t splitk)
{
	/* A split-K algo sums partial products in another order than an
	 * unsplit one; which split the heuristic picks depends on workspace,
	 * alignment and SM target, so only unsplit algos pass. */
	return (scheme & ~ds_lt_allowed_schemes()) == 0 && splitk <= 1;
}

int ds_compact(void *arr, size_t elem, int n, const bool *keep)
{
	unsigned char *a = arr;
	int i, out = 0;

	for (i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		if (out != i)
			memmove(a + (size_t)out * elem, a + (size_t)i * elem,
				elem);
		out++;
	}
	return out;
}

static bool lt_tensor_input(int32_t type)
{
	return type == DS_CUDA_R_16F || type == DS_CUDA_R_16BF ||
	       type == DS_CUDA_R_8F_E4M3 || type == DS_CUDA_R_8F_E5M2;
}

bool ds_lt_pins(const struct ds_lt_shape *s, bool pin_half)
{
	return pin_half || !lt_tensor_input(s->layout[0][0]) ||
	       !lt_tensor_input(s->layout[1][0]);
}

/* ------------------------------------------------------------------ */
/* The per-shape algorithm table (docs/DESIGN.md §13). */

static inline uint64_t lt_word(const unsigned char *p, size_t i)
{
	uint64_t w;

	memcpy(&w, p + 8 * i, 8);
	return w;
}

uint64_t ds_lt_shape_hash(const struct ds_lt_shape *s)
{
	const uint64_t k0 = UINT64_C(0x9e3779b97f4a7c15),
		       k1 = UINT64_C(0xc2b2ae3d27d4eb4f),
		       k2 = UINT64_C(0x165667b19e3779f9),
		       k3 = UINT64_C(0xd6e8feb86659fd93);
	const unsigned char *p = (const unsigned char *)s;
	const size_t n = sizeof(*s) / 8;
	uint64_t a = 1, b = 2, c = 3, d = 4, h;
	size_t i;

	/* Four independent multiply-xor lanes in registers, so the words
	 * do not wait for each other, and one final mix: the table's own
	 * hash, never written anywhere, so it may change freely. */
	_Static_assert(sizeof(*s) % 8 == 0, "the shape is whole words");
	for (i = 0; i + 4 <= n; i += 4) {
		a = (a ^ lt_word(p, i)) * k0;
		b = (b ^ lt_word(p, i + 1)) * k1;
		c = (c ^ lt_word(p, i + 2)) * k2;
		d = (d ^ lt_word(p, i + 3)) * k3;
	}
	for (; i < n; i++)
		a = (a ^ lt_word(p, i)) * k1;
	h = a ^ (b >> 17 | b << 47) ^ (c >> 31 | c << 33) ^ (d >> 45 | d << 19);
	h ^= h >> 32;
	h *= k3;
	h ^= h >> 29;
	return h ? h : 1;
}

static inline void lt_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* A writer copies about 250 bytes between claim and publish; wait that
 * long and more, never unbounded (a fork child's writer is gone). */
static bool lt_wait_ready(struct ds_lt_slot *sl)
{
	int i;

	for (i = 0; i < 4096; i++) {
		if (atomic_load_explicit(&sl->ready, memory_order_acquire))
			return true;
		lt_relax();
	}
	return false;
}

struct ds_lt_slot *ds_lt_find(struct ds_lt_table *t,
			      const struct ds_lt_shape *s, uint64_t hash,
			      bool *busy)
{
	size_t i, at = (size_t)hash & (DS_LT_SLOTS - 1);

	*busy = false;
	for (i = 0; i < DS_LT_SLOTS; i++, at = (at + 1) & (DS_LT_SLOTS - 1)) {
		struct ds_lt_slot *sl = &t->slot[at];
		uint64_t tag = atomic_load_explicit(&sl->tag,
						    memory_order_acquire);

		if (tag == 0)
			return NULL;
		if (tag != hash)
			continue;
		if (!lt_wait_ready(sl)) {
			*busy = true;
			return NULL;
		}
		if (memcmp(&sl->shape, s, sizeof(*s)) == 0)
			return sl;
	}
	return NULL;
}

struct ds_lt_slot *ds_lt_insert(struct ds_lt_table *t,
				const struct ds_lt_shape *s, uint64_t hash,
				const struct ds_cublaslt_algo *algo,
				uint64_t n, bool *inserted)
{
	size_t i = 0, at = (size_t)hash & (DS_LT_SLOTS - 1);

	*inserted = false;
	while (i < DS_LT_SLOTS) {
		struct ds_lt_slot *sl = &t->slot[at];
		uint64_t tag = atomic_load_explicit(&sl->tag,
						    memory_order_acquire);

		if (tag == 0) {
			if (!atomic_compare_exchange_strong_explicit(
				    &sl->tag, &tag, hash, memory_order_acq_rel,
				    memory_order_acquire))
				continue; /* taken meanwhile: look again */
			memcpy(&sl->shape, s, sizeof(*s));
			memcpy(&sl->algo, algo, sizeof(*algo));
			sl->first_n = n;
			atomic_store_explicit(&sl->ready, 1,
					      memory_order_release);
			*inserted = true;
			return sl;
		}
		if (tag == hash) {
			if (!lt_wait_ready(sl))
				return NULL;
			if (memcmp(&sl->shape, s, sizeof(*s)) == 0)
				return sl;
		}
		i++;
		at = (at + 1) & (DS_LT_SLOTS - 1);
	}
	return NULL;
}
