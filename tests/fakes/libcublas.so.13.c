/*
 * Fake libcublas.so.13 for the hook tests (docs/DESIGN.md §8.14).
 *
 * Handles are heap structs that record what the shim let through: the
 * atomics mode, the math mode, the workspace size, and the algo and
 * compute type of the last GemmEx-family call.  fake_cublas_*() read them.
 * FAKE_CUBLAS_ATOMICS_DEFAULT=1 makes new handles start with atomics
 * allowed, so a test can see the shim pin them off.
 * cublasGemmStridedBatchedEx_64 is deliberately missing: the hook test
 * checks the shim's missing-symbol path on it.
 */
#include <stdint.h>
#include <stdlib.h>

struct fake_handle {
	int atomics;
	int math;
	size_t ws;
	int algo;
	int compute;
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
	(void)ta; (void)tb; (void)m; (void)n; (void)k; (void)alpha; (void)A;
	(void)At; (void)lda; (void)B; (void)Bt; (void)ldb; (void)beta;
	(void)C; (void)Ct; (void)ldc;
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
	(void)ta; (void)tb; (void)m; (void)n; (void)k; (void)alpha; (void)A;
	(void)At; (void)lda; (void)B; (void)Bt; (void)ldb; (void)beta;
	(void)C; (void)Ct; (void)ldc; (void)batch; (void)sA; (void)sB;
	(void)sC;
	return gemm(h, ct, algo);
}

/* Test probes. */
int fake_cublas_atomics(const struct fake_handle *h) { return h->atomics; }
int fake_cublas_math(const struct fake_handle *h) { return h->math; }
int fake_cublas_algo(const struct fake_handle *h) { return h->algo; }
int fake_cublas_compute(const struct fake_handle *h) { return h->compute; }
size_t fake_cublas_ws(const struct fake_handle *h) { return h->ws; }
