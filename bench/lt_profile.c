/*
 * lt_profile.c - what the batch-invariant profile costs a cuBLASLt
 * heuristic call, on the fake libcublasLt of the hook tests.
 *
 *   hook:   ns per cublasLtMatmulAlgoGetHeuristic through the PLT, for one
 *           linear-layer shape whose n cycles through 1, 8, 64 and 512;
 *           run under the shim with DETSHIM_PROFILE=default and
 *           =batch-invariant, alternately (the script below);
 *   lookup: ns per ds_lt_shape_hash + ds_lt_find of a stored shape, the
 *           table alone (linked with the core archive).
 *
 * After `make BUILD=build all`:
 *   cc -O2 -o build/bench/lt_profile bench/lt_profile.c \
 *      -Lbuild/fakes -l:libcublasLt.so.13
 *   cc -O2 -Icuda_hooks -DLT_LOOKUP -o build/bench/lt_lookup \
 *      bench/lt_profile.c build/libdetshim_core.a
 *   for r in 1 2 3 4 5; do for p in default batch-invariant; do
 *     LD_LIBRARY_PATH=build/fakes LD_PRELOAD=$PWD/build/libdetshim.so \
 *       DETSHIM_SEED=1 DETSHIM_PROFILE=$p build/bench/lt_profile; done; done
 *   build/bench/lt_lookup
 * Each figure is the median of 7 timed loops.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define ITERS 200000

#ifdef LT_LOOKUP
#include "cublas_rules.h"

static struct ds_lt_table table;

int main(void)
{
	struct ds_lt_shape s[8];
	struct ds_cublaslt_algo algo;
	double r[7];
	volatile uintptr_t sink = 0;
	bool busy, ins;
	int i, k;

	memset(s, 0, sizeof(s));
	memset(&algo, 0, sizeof(algo));
	for (i = 0; i < 8; i++) {
		s[i].m = 4096;
		s[i].k = 1024u * (unsigned)(i + 1);
		s[i].desc[0] = 68;
		s[i].lda = (int64_t)s[i].k;
		ds_lt_insert(&table, &s[i], ds_lt_shape_hash(&s[i]), &algo, 1,
			     &ins);
	}
	for (k = 0; k < 7; k++) {
		double t0 = now();

		for (i = 0; i < ITERS; i++) {
			const struct ds_lt_shape *q = &s[i & 7];

			sink += (uintptr_t)ds_lt_find(&table, q,
						      ds_lt_shape_hash(q), &busy);
		}
		r[k] = (now() - t0) / ITERS;
	}
	qsort(r, 7, sizeof(r[0]), cmpd);
	printf("lt_lookup_ns %.1f\n", r[3]);
	return sink == 0;
}

#else

struct algo { uint64_t data[8]; };
struct result { struct algo algo; size_t ws; int state; float waves; int reserved[4]; };
int cublasLtMatmulPreferenceCreate(void **p);
int cublasLtMatmulPreferenceSetAttribute(void *p, int attr, const void *buf,
					 size_t n);
int cublasLtMatmulAlgoGetHeuristic(void *h, void *d, void *A, void *B, void *C,
				   void *D, void *p, int req,
				   struct result res[], int *ret);
int cublasLtMatrixLayoutCreate(void **l, uint32_t type, uint64_t rows,
			       uint64_t cols, int64_t ld);
int cublasLtMatrixLayoutSetAttribute(void *l, int attr, const void *buf,
				     size_t n);
int cublasLtMatmulDescCreate(void **d, int32_t compute, int32_t scale);
int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf,
				   size_t n);

int main(void)
{
	static const uint64_t ns[4] = { 1, 8, 64, 512 };
	void *d, *A, *B[4], *C[4], *D[4], *p;
	struct result res[1];
	uint64_t ws = 1024;
	int32_t t = 1;
	double r[7];
	int i, k, n;
	const char *prof = getenv("DETSHIM_PROFILE");

	cublasLtMatmulDescCreate(&d, 68, 0);
	cublasLtMatmulDescSetAttribute(d, 3, &t, 4);
	cublasLtMatrixLayoutCreate(&A, 0, 4096, 4096, 4096);
	for (i = 0; i < 4; i++) {
		cublasLtMatrixLayoutCreate(&B[i], 0, 4096, ns[i], 4096);
		cublasLtMatrixLayoutCreate(&C[i], 0, 4096, ns[i], 4096);
		cublasLtMatrixLayoutCreate(&D[i], 0, 4096, ns[i], 4096);
	}
	cublasLtMatmulPreferenceCreate(&p);
	cublasLtMatmulPreferenceSetAttribute(p, 1, &ws, 8);
	for (k = 0; k < 7; k++) {
		double t0 = now();

		for (i = 0; i < ITERS; i++)
			cublasLtMatmulAlgoGetHeuristic(NULL, d, A, B[i & 3],
						       C[i & 3], D[i & 3], p, 1,
						       res, &n);
		r[k] = (now() - t0) / ITERS;
	}
	qsort(r, 7, sizeof(r[0]), cmpd);
	printf("lt_heuristic_ns profile=%s %.1f\n", prof ? prof : "(unset)",
	       r[3]);
	return 0;
}

#endif
