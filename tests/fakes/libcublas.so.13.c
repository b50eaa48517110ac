/*
 * Fake libcublas.so.13 for the hook tests (docs/DESIGN.md §8.14).
 *
 * Handles are heap structs that record what the shim let through: the
 * atomics mode, the math mode, the workspace size, and the algo and
 * compute type of the last GemmEx-family call.  fake_cublas_*() read them.
 * FAKE_CUBLAS_ATOMICS_DEFAULT=1 makes new handles start with atomics
 * allowed, so a test can see the shim pin them off.
 * cublasGemmStridedBatchedEx_64 is deliberately missing: the hook test
 * checks the shim's missing-symbol path on it.  GEMMs given matrices
 * write C from A and B (fake_compute.h), for the call hashing tests; the
 * handle keeps the stream cublasSetStream_v2 gave it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fake_compute.h"

struct fake_handle {
	int atomics;
	int math;
	size_t ws;
	int algo;
	int compute;
	void *stream;
};

#define OK 0
#define BAD 7 /* CUBLAS_STATUS_INVALID_VALUE */

int cublasCreate_v2(struct fake_handle **h)
{
	const char *d = getenv("FAKE_CUBLAS_ATOMICS_DEFAULT");

	if (h == NULL)
		return BAD;
	*h = calloc(1, sizeof(**h));
	(*h)->atomics = d && d[0] == '1';
	(*h)->algo = -2;
	return OK;
}

int cublasDestroy_v2(struct fake_handle *h)
{
	free(h);
	return OK;
}

int cublasSetAtomicsMode(struct fake_handle *h, int mode)
{
	if (h == NULL || mode < 0 || mode > 1)
		return BAD;
	h->atomics = mode;
	return OK;
}

int cublasSetMathMode(struct fake_handle *h, int mode)
{
	if (h == NULL)
		return BAD;
	h->math = mode;
	return OK;
}

int cublasSetWorkspace_v2(struct fake_handle *h, void *ws, size_t sz)
{
	(void)ws;
	if (h == NULL)
		return BAD;
	h->ws = sz;
	return OK;
}

int cublasSetStream_v2(struct fake_handle *h, void *s)
{
	if (h == NULL)
		return BAD;
	h->stream = s;
	return OK;
}

int cublasGetStream_v2(struct fake_handle *h, void **s)
{
	if (h == NULL || s == NULL)
		return BAD;
	*s = h->stream;
	return OK;
}

int cublasGetAtomicsMode(struct fake_handle *h, int *mode)
{
	if (h == NULL || mode == NULL)
		return BAD;
	*mode = h->atomics;
	return OK;
}

static size_t elem(int type)
{
	return type == 1 ? 8 : type == 2 || type == 14 ? 2 : 4;
}

/* Column-major bytes of a rows x cols matrix with leading dimension ld. */
static size_t span(int64_t rows, int64_t cols, int64_t ld, int type)
{
	return rows > 0 && cols > 0 ? (size_t)((cols - 1) * ld + rows) * elem(type)
				    : 0;
}

/* C from A and B, batch times (strided). */
static void compute(const char *call, int ta, int tb, int64_t m, int64_t n,
		    int64_t k, const void *A, int At, int64_t lda,
		    long long sA, const void *B, int Bt, int64_t ldb,
		    long long sB, void *C, int Ct, int64_t ldc, long long sC,
		    int64_t batch)
{
	int64_t i;

	for (i = 0; A && B && C && i < batch; i++)
		fake_compute(call, (char *)C + i * sC * (long long)elem(Ct),
			     span(m, n, ldc, Ct),
			     (const char *)A + i * sA * (long long)elem(At),
			     ta ? span(k, m, lda, At) : span(m, k, lda, At),
			     (const char *)B + i * sB * (long long)elem(Bt),
			     tb ? span(n, k, ldb, Bt) : span(k, n, ldb, Bt));
}

static int gemm(struct fake_handle *h, int ct, int algo)
{
	if (h == NULL)
		return BAD;
	h->compute = ct;
	h->algo = algo;
	return OK;
}

int cublasGemmEx(struct fake_handle *h, int ta, int tb, int m, int n, int k,
		 const void *alpha, const void *A, int At, int lda,
		 const void *B, int Bt, int ldb, const void *beta, void *C,
		 int Ct, int ldc, int ct, int algo)
{
	(void)alpha; (void)beta;
	compute("cublasGemmEx", ta, tb, m, n, k, A, At, lda, 0, B, Bt, ldb, 0,
		C, Ct, ldc, 0, 1);
	return gemm(h, ct, algo);
}

int cublasGemmEx_64(struct fake_handle *h, int ta, int tb, int64_t m,
		    int64_t n, int64_t k, const void *alpha, const void *A,
		    int At, int64_t lda, const void *B, int Bt, int64_t ldb,
		    const void *beta, void *C, int Ct, int64_t ldc, int ct,
		    int algo)
{
	(void)ta; (void)tb; (void)m; (void)n; (void)k; (void)alpha; (void)A;
	(void)At; (void)lda; (void)B; (void)Bt; (void)ldb; (void)beta;
	(void)C; (void)Ct; (void)ldc;
	return gemm(h, ct, algo);
}

int cublasGemmBatchedEx(struct fake_handle *h, int ta, int tb, int m, int n,
			int k, const void *alpha, const void *const A[],
			int At, int lda, const void *const B[], int Bt,
			int ldb, const void *beta, void *const C[], int Ct,
			int ldc, int batch, int ct, int algo)
{
	(void)ta; (void)tb; (void)m; (void)n; (void)k; (void)alpha; (void)A;
	(void)At; (void)lda; (void)B; (void)Bt; (void)ldb; (void)beta;
	(void)C; (void)Ct; (void)ldc; (void)batch;
	return gemm(h, ct, algo);
}

int cublasGemmBatchedEx_64(struct fake_handle *h, int ta, int tb, int64_t m,
			   int64_t n, int64_t k, const void *alpha,
			   const void *const A[], int At, int64_t lda,
			   const void *const B[], int Bt, int64_t ldb,
			   const void *beta, void *const C[], int Ct,
			   int64_t ldc, int64_t batch, int ct, int algo)
{
	(void)ta; (void)tb; (void)m; (void)n; (void)k; (void)alpha; (void)A;
	(void)At; (void)lda; (void)B; (void)Bt; (void)ldb; (void)beta;
	(void)C; (void)Ct; (void)ldc; (void)batch;
	return gemm(h, ct, algo);
}

int cublasGemmStridedBatchedEx(struct fake_handle *h, int ta, int tb, int m,
			       int n, int k, const void *alpha, const void *A,
			       int At, int lda, long long sA, const void *B,
			       int Bt, int ldb, long long sB, const void *beta,
			       void *C, int Ct, int ldc, long long sC,
			       int batch, int ct, int algo)
{
	(void)alpha; (void)beta;
	compute("cublasGemmStridedBatchedEx", ta, tb, m, n, k, A, At, lda, sA,
		B, Bt, ldb, sB, C, Ct, ldc, sC, batch);
	return gemm(h, ct, algo);
}

int cublasSgemm_v2(struct fake_handle *h, int ta, int tb, int m, int n,
		   int k, const float *alpha, const float *A, int lda,
		   const float *B, int ldb, const float *beta, float *C,
		   int ldc)
{
	(void)alpha; (void)beta;
	if (h == NULL)
		return BAD;
	compute("cublasSgemm_v2", ta, tb, m, n, k, A, 0, lda, 0, B, 0, ldb, 0,
		C, 0, ldc, 0, 1);
	return OK;
}

/* Test probes. */
int fake_cublas_atomics(const struct fake_handle *h) { return h->atomics; }
int fake_cublas_math(const struct fake_handle *h) { return h->math; }
int fake_cublas_algo(const struct fake_handle *h) { return h->algo; }
int fake_cublas_compute(const struct fake_handle *h) { return h->compute; }
size_t fake_cublas_ws(const struct fake_handle *h) { return h->ws; }
