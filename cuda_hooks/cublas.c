/*
 * cublas.c - cuBLAS handle settings that make GEMMs repeatable.
 *
 * NVIDIA: every cuBLAS routine gives bit-identical results run to run on
 * one GPU type if atomics are not allowed and one stream is active per
 * workspace (cuBLAS guide, "Results reproducibility";
 * docs/GPU_FACTS.md §3.1-3.2).  The hooks therefore
 *   - force CUBLAS_ATOMICS_NOT_ALLOWED at cublasCreate_v2 and whenever the
 *     program asks for atomics (cublasSetAtomicsMode);
 *   - rewrite CUBLAS_GEMM_AUTOTUNE (999: "benchmark ... cached in handle",
 *     a timing choice) to CUBLAS_GEMM_DEFAULT in the *GemmEx entry points;
 *   - optionally (gpu.cublas_strip_tf32) strip TF32 and emulated math modes
 *     and compute types, for results comparable across GPU types;
 *   - log the workspace size each handle is given: its variable is pinned
 *     by pins.c (CUBLAS_WORKSPACE_CONFIG=:4096:8) before the library starts,
 *     unless gpu.cublas_workspace is false.
 * Each decision is logged once per handle (ds_once table), and counted per
 * site.  Under policy warn the decisions are logged as "would-*" and the
 * calls pass unchanged.  With gpu.hash_calls on, each GEMM also logs a
 * "hashed" event with hashes of A, B and C before the call and of C
 * after it (hash_calls.h).
 *
 * A hook whose real function is loaded nowhere returns
 * CUBLAS_STATUS_NOT_INITIALIZED, the library's own answer before
 * initialisation (docs/GPU_LIBS.md); resolve.c logs the miss once under
 * the cublas source.  The real functions come from whichever cuBLAS the
 * program loaded: the chain below, else any loaded object (resolve.c).
 * Thread safety: the real pointers are resolved once (ds_sym); the
 * once-table is lock-free.
 */
#include "detshim.h"

#include "abi/cublas.h"
#include "cublas_rules.h"
#include "handle_set.h"
#include "hash_calls.h"

/* cuBLAS of CUDA 13, 12 and 11 (one ABI for every hooked function). */
static const char *const cublas_libs[] = {
	"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", NULL
};

/* One row per hook: the name.  Expanded into the lazily resolved slots
 * real_<name>; each hook takes its pointer type from its own definition
 * (__typeof__), so the parameter lists are written once, below. */
#define DS_CUBLAS_HOOKS(X)                                                   \
	X(cublasCreate_v2)                                                   \
	X(cublasDestroy_v2)                                                  \
	X(cublasSetAtomicsMode)                                              \
	X(cublasSetMathMode)                                                 \
	X(cublasSetWorkspace_v2)                                             \
	X(cublasGemmEx)                                                      \
	X(cublasGemmEx_64)                                                   \
	X(cublasGemmBatchedEx)                                               \
	X(cublasGemmBatchedEx_64)                                            \
	X(cublasGemmStridedBatchedEx)                                        \
	X(cublasGemmStridedBatchedEx_64)                                     \
	X(cublasSgemm_v2)
/* Only called (call hashing: the handle's stream and atomics mode). */
#define DS_CUBLAS_CALLS(X)                                                   \
	X(cublasGetStream_v2)                                                \
	X(cublasGetAtomicsMode)

ds_cublas_status cublasGetStream_v2(ds_cublas_handle h, ds_cuda_stream *s);
ds_cublas_status cublasGetAtomicsMode(ds_cublas_handle h, int *mode);

#define DS_CUBLAS_SLOT(name)                                                 \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(cublas_libs, DS_SRC_CUBLAS, #name);
DS_CUBLAS_HOOKS(DS_CUBLAS_SLOT)
DS_CUBLAS_CALLS(DS_CUBLAS_SLOT)
#undef DS_CUBLAS_SLOT

/* Decisions logged once per handle. */
enum {
	ONCE_ATOMICS = 0,   /* pinned at create */
	ONCE_ATOMICS_ASKED, /* program asked for atomics */
	ONCE_MATH,
	ONCE_WORKSPACE,
	ONCE_ALGO,
	ONCE_COMPUTE
};
static struct ds_once_table handles;

DS_EXPORT ds_cublas_status cublasSetAtomicsMode(ds_cublas_handle h, int mode);

/* Pin atomics off on h; logs once per handle. */
static void pin_atomics(ds_cublas_handle h, const char *why)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasSetAtomicsMode");
	__typeof__(&cublasSetAtomicsMode) set =
		ds_sym_get(&real_cublasSetAtomicsMode);
	bool first = ds_once_first(&handles, h, ONCE_ATOMICS);

	if (!ds_enforce(DS_SRC_CUBLAS)) {
		if (first)
			ds_event(&site, "would-pin", "handle=%p atomics=not-allowed (%s)",
				 h, why);
		return;
	}
	if (set == NULL)
		return;
	ds_inside++;
	set(h, DS_CUBLAS_ATOMICS_NOT_ALLOWED);
	ds_inside--;
	if (first)
		ds_event(&site, "pinned",
			 "handle=%p atomics=not-allowed (%s; cuBLAS guide: "
			 "results reproducibility)", h, why);
}

DS_EXPORT ds_cublas_status cublasCreate_v2(ds_cublas_handle *h)
{
	__typeof__(&cublasCreate_v2) real = ds_sym_get(&real_cublasCreate_v2);
	ds_cublas_status st;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	st = real(h);
	if (st != DS_CUBLAS_STATUS_SUCCESS || h == NULL || !ds_active() ||
	    !ds_watch(DS_SRC_CUBLAS))
		return st;
	/* A new handle may reuse a destroyed one's address. */
	ds_once_forget(&handles, *h);
	pin_atomics(*h, "new handle");
	return st;
}

DS_EXPORT ds_cublas_status cublasDestroy_v2(ds_cublas_handle h)
{
	__typeof__(&cublasDestroy_v2) real = ds_sym_get(&real_cublasDestroy_v2);

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	if (ds_active())
		ds_once_forget(&handles, h);
	return real(h);
}

DS_EXPORT ds_cublas_status cublasSetAtomicsMode(ds_cublas_handle h, int mode)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasSetAtomicsMode");
	__typeof__(&cublasSetAtomicsMode) real =
		ds_sym_get(&real_cublasSetAtomicsMode);

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CUBLAS) ||
	    mode != DS_CUBLAS_ATOMICS_ALLOWED)
		return real(h, mode);
	if (!ds_enforce(DS_SRC_CUBLAS)) {
		ds_event(&site, "would-replace",
			 "handle=%p atomics=allowed asked", h);
		return real(h, mode);
	}
	/* cublas_api.h: routines with an atomics variant (symv, hemv) are
	 * not run-to-run reproducible when atomics are allowed. */
	if (ds_once_first(&handles, h, ONCE_ATOMICS_ASKED))
		ds_event(&site, "replaced",
			 "handle=%p atomics=allowed -> not-allowed", h);
	return real(h, DS_CUBLAS_ATOMICS_NOT_ALLOWED);
}

DS_EXPORT ds_cublas_status cublasSetMathMode(ds_cublas_handle h, int mode)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasSetMathMode");
	__typeof__(&cublasSetMathMode) real =
		ds_sym_get(&real_cublasSetMathMode);
	int want;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CUBLAS))
		return real(h, mode);
	want = ds_cublas_math_mode(mode, ds_cfg.cublas_strip_tf32);
	if (want == mode)
		return real(h, mode);
	if (!ds_enforce(DS_SRC_CUBLAS)) {
		if (ds_once_first(&handles, h, ONCE_MATH))
			ds_event(&site, "would-replace",
				 "handle=%p math=%d -> %d (strip_tf32)", h, mode,
				 want);
		return real(h, mode);
	}
	if (ds_once_first(&handles, h, ONCE_MATH))
		ds_event(&site, "replaced",
			 "handle=%p math=%d -> %d (strip_tf32: TF32/emulated "
			 "math differs across GPU types, "
			 "docs/GPU_FACTS.md 3.4)", h, mode,
			 want);
	return real(h, want);
}

DS_EXPORT ds_cublas_status cublasSetWorkspace_v2(ds_cublas_handle h, void *ws, size_t sz)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasSetWorkspace_v2");
	__typeof__(&cublasSetWorkspace_v2) real =
		ds_sym_get(&real_cublasSetWorkspace_v2);

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	/* The size comes from CUBLAS_WORKSPACE_CONFIG, pinned before start
	 * (pins.c); PyTorch 2.11 gives each (handle, stream) its own buffer
	 * (docs/GPU_FACTS.md §0.1), so only the size is worth recording. */
	if (ds_active() && ds_watch(DS_SRC_CUBLAS) &&
	    ds_once_first(&handles, h, ONCE_WORKSPACE))
		ds_event(&site, "observed", "handle=%p workspace=%zu bytes", h,
			 sz);
	return real(h, ws, sz);
}

/* The GemmEx family: one rewrite, different parameter lists.  Rewrite
 * (compute type, algo) of a GemmEx-family call; logs once per
 * handle.  Returns nothing: *ct and *algo are updated in place. */
static void gemm_args(ds_cublas_handle h, int *ct, int *algo,
		      struct ds_site *site)
{
	int a, c;
	bool act;

	if (!ds_active() || !ds_watch(DS_SRC_CUBLAS))
		return;
	a = ds_cublas_gemm_algo(*algo);
	c = ds_cublas_compute_type(*ct, ds_cfg.cublas_strip_tf32);
	act = ds_enforce(DS_SRC_CUBLAS);

	if (a != *algo) {
		if (ds_once_first(&handles, h, ONCE_ALGO))
			ds_event(site, act ? "replaced" : "would-replace",
				 "handle=%p algo=CUBLAS_GEMM_AUTOTUNE -> "
				 "CUBLAS_GEMM_DEFAULT (autotune times kernels)",
				 h);
		if (act)
			*algo = a;
	}
	if (c != *ct) {
		if (ds_once_first(&handles, h, ONCE_COMPUTE))
			ds_event(site, act ? "replaced" : "would-replace",
				 "handle=%p computeType=%d -> %d (strip_tf32)",
				 h, *ct, c);
		if (act)
			*ct = c;
	}
}

/* ------------------------------------------------------------------ */
/* Call hashing (hash_calls.h): one description of a GEMM for every entry
 * point.  Column-major; op(A) is m x k, op(B) k x n, C m x n. */
struct gemm {
	int ta;                    /* cublasOperation_t of A: 0 = N */
	int tb;                    /* of B */
	int64_t m;                 /* rows of op(A) and C */
	int64_t n;                 /* columns of op(B) and C */
	int64_t k;                 /* columns of op(A), rows of op(B) */
	const void *a;             /* A, or a device array of them */
	const void *b;             /* B, or a device array of them */
	void *c;                   /* C, or a device array of them */
	int at;                    /* cudaDataType_t of A */
	int bt;                    /* of B */
	int ct;                    /* of C */
	int64_t lda;               /* leading dimensions */
	int64_t ldb;
	int64_t ldc;
	int64_t batch;             /* 1 unless batched */
	long long sa;              /* strides in elements (strided batch) */
	long long sb;
	long long sc;
	bool arrays;               /* a, b, c are device pointer arrays */
	int compute;               /* compute type, after gemm_args */
	int algo;                  /* algorithm, after gemm_args */
};

static size_t gemm_bytes(const struct gemm *g, int which)
{
	const char *name;
	int64_t rows, cols, ld;
	long long stride;
	int type;
	bool t;

	if (which == 0) {
		t = g->ta != 0;
		rows = t ? g->k : g->m;
		cols = t ? g->m : g->k;
		ld = g->lda, stride = g->sa, type = g->at;
	} else if (which == 1) {
		t = g->tb != 0;
		rows = t ? g->n : g->k;
		cols = t ? g->k : g->n;
		ld = g->ldb, stride = g->sb, type = g->bt;
	} else {
		rows = g->m, cols = g->n, ld = g->ldc, stride = g->sc;
		type = g->ct;
	}
	return ds_hc_matrix_bytes(rows, cols, ld, false,
				  g->arrays ? 1 : g->batch,
				  g->arrays ? 0 : stride,
				  ds_hc_dtype_bits(type, &name));
}

static void gemm_hash(struct ds_hc *hc, const struct gemm *g, int which,
		      bool out)
{
	const void *p = which == 0 ? g->a : which == 1 ? g->b : g->c;
	size_t n = gemm_bytes(g, which);

	if (g->arrays && out)
		ds_hc_out_array(hc, p, g->batch, n);
	else if (g->arrays)
		ds_hc_in_array(hc, p, g->batch, n);
	else if (out)
		ds_hc_out(hc, p, n);
	else
		ds_hc_in(hc, p, n);
}

/* Before the real call: A, B and C (read when beta is not 0). */
static bool gemm_begin(struct ds_hc *hc, ds_cublas_handle h,
		       const struct gemm *g)
{
	__typeof__(&cublasGetStream_v2) gs = ds_sym_get(&real_cublasGetStream_v2);
	ds_cuda_stream s = NULL;

	if (gs == NULL || gs(h, &s) != DS_CUBLAS_STATUS_SUCCESS)
		s = NULL;
	if (!ds_hc_begin(hc, s))
		return false;
	gemm_hash(hc, g, 0, false);
	gemm_hash(hc, g, 1, false);
	gemm_hash(hc, g, 2, false);
	return true;
}

/* After it: C, and the event. */
static void gemm_end(struct ds_site *site, struct ds_hc *hc,
		     ds_cublas_handle h, const struct gemm *g,
		     ds_cublas_status st)
{
	__typeof__(&cublasGetAtomicsMode) ga =
		ds_sym_get(&real_cublasGetAtomicsMode);
	const char *an, *bn, *cn;
	char what[160], why[64];
	int mode = -1;

	gemm_hash(hc, g, 2, true);
	ds_hc_dtype_bits(g->at, &an);
	ds_hc_dtype_bits(g->bt, &bn);
	ds_hc_dtype_bits(g->ct, &cn);
	ds_fmt(what, sizeof(what),
	       "m=%lld n=%lld k=%lld A=%s%s lda=%lld B=%s%s ldb=%lld C=%s "
	       "ldc=%lld batch=%lld compute=%d algo=%d",
	       (long long)g->m, (long long)g->n, (long long)g->k, an,
	       g->ta ? "^T" : "", (long long)g->lda, bn, g->tb ? "^T" : "",
	       (long long)g->ldb, cn, (long long)g->ldc, (long long)g->batch,
	       g->compute, g->algo);
	if (ga == NULL || ga(h, &mode) != DS_CUBLAS_STATUS_SUCCESS)
		mode = -1;
	ds_fmt(why, sizeof(why), "cuBLAS GEMM with atomics %s",
	       mode == DS_CUBLAS_ATOMICS_ALLOWED ? "allowed" :
	       mode < 0 ? "mode unknown" :
	       ds_enforce(DS_SRC_CUBLAS) ? "not allowed (pinned)" :
					   "not allowed");
	ds_hc_end(site, hc, st, what, why);
}

DS_EXPORT ds_cublas_status cublasGemmEx(ds_cublas_handle h, int ta, int tb,
					int m, int n, int k, const void *alpha,
					const void *A, int At, int lda,
					const void *B, int Bt, int ldb,
					const void *beta, void *C, int Ct,
					int ldc, int ct, int algo)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasGemmEx");
	__typeof__(&cublasGemmEx) real = ds_sym_get(&real_cublasGemmEx);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	gemm_args(h, &ct, &algo, &site);
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		g = (struct gemm){ ta, tb, m, n, k, A, B, C, At, Bt, Ct, lda,
				   ldb, ldc, 1, 0, 0, 0, false, ct, algo };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C,
		  Ct, ldc, ct, algo);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}

DS_EXPORT ds_cublas_status cublasGemmEx_64(ds_cublas_handle h, int ta, int tb,
					   int64_t m, int64_t n, int64_t k,
					   const void *alpha, const void *A,
					   int At, int64_t lda, const void *B,
					   int Bt, int64_t ldb,
					   const void *beta, void *C, int Ct,
					   int64_t ldc, int ct, int algo)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasGemmEx_64");
	__typeof__(&cublasGemmEx_64) real = ds_sym_get(&real_cublasGemmEx_64);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	gemm_args(h, &ct, &algo, &site);
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		g = (struct gemm){ ta, tb, m, n, k, A, B, C, At, Bt, Ct, lda,
				   ldb, ldc, 1, 0, 0, 0, false, ct, algo };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C,
		  Ct, ldc, ct, algo);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}

DS_EXPORT ds_cublas_status cublasGemmBatchedEx(ds_cublas_handle h, int ta,
					       int tb, int m, int n, int k,
					       const void *alpha,
					       const void *const A[], int At,
					       int lda, const void *const B[],
					       int Bt, int ldb,
					       const void *beta,
					       void *const C[], int Ct,
					       int ldc, int batch, int ct,
					       int algo)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasGemmBatchedEx");
	__typeof__(&cublasGemmBatchedEx) real =
		ds_sym_get(&real_cublasGemmBatchedEx);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	gemm_args(h, &ct, &algo, &site);
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		g = (struct gemm){ ta, tb, m, n, k, A, B, (void *)C, At, Bt,
				   Ct, lda, ldb, ldc, batch, 0, 0, 0, true, ct,
				   algo };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C,
		  Ct, ldc, batch, ct, algo);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}

DS_EXPORT ds_cublas_status cublasGemmBatchedEx_64(
	ds_cublas_handle h, int ta, int tb, int64_t m, int64_t n, int64_t k,
	const void *alpha, const void *const A[], int At, int64_t lda,
	const void *const B[], int Bt, int64_t ldb, const void *beta,
	void *const C[], int Ct, int64_t ldc, int64_t batch, int ct, int algo)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasGemmBatchedEx_64");
	__typeof__(&cublasGemmBatchedEx_64) real =
		ds_sym_get(&real_cublasGemmBatchedEx_64);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	gemm_args(h, &ct, &algo, &site);
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		g = (struct gemm){ ta, tb, m, n, k, A, B, (void *)C, At, Bt,
				   Ct, lda, ldb, ldc, batch, 0, 0, 0, true, ct,
				   algo };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, At, lda, B, Bt, ldb, beta, C,
		  Ct, ldc, batch, ct, algo);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}

DS_EXPORT ds_cublas_status cublasGemmStridedBatchedEx(
	ds_cublas_handle h, int ta, int tb, int m, int n, int k,
	const void *alpha, const void *A, int At, int lda, long long sA,
	const void *B, int Bt, int ldb, long long sB, const void *beta, void *C,
	int Ct, int ldc, long long sC, int batch, int ct, int algo)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasGemmStridedBatchedEx");
	__typeof__(&cublasGemmStridedBatchedEx) real =
		ds_sym_get(&real_cublasGemmStridedBatchedEx);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	gemm_args(h, &ct, &algo, &site);
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		g = (struct gemm){ ta, tb, m, n, k, A, B, C, At, Bt, Ct, lda,
				   ldb, ldc, batch, sA, sB, sC, false, ct,
				   algo };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, At, lda, sA, B, Bt, ldb, sB,
		  beta, C, Ct, ldc, sC, batch, ct, algo);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}

DS_EXPORT ds_cublas_status cublasGemmStridedBatchedEx_64(
	ds_cublas_handle h, int ta, int tb, int64_t m, int64_t n, int64_t k,
	const void *alpha, const void *A, int At, int64_t lda, long long sA,
	const void *B, int Bt, int64_t ldb, long long sB, const void *beta,
	void *C, int Ct, int64_t ldc, long long sC, int64_t batch, int ct,
	int algo)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasGemmStridedBatchedEx_64");
	__typeof__(&cublasGemmStridedBatchedEx_64) real =
		ds_sym_get(&real_cublasGemmStridedBatchedEx_64);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	gemm_args(h, &ct, &algo, &site);
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		g = (struct gemm){ ta, tb, m, n, k, A, B, C, At, Bt, Ct, lda,
				   ldb, ldc, batch, sA, sB, sC, false, ct,
				   algo };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, At, lda, sA, B, Bt, ldb, sB,
		  beta, C, Ct, ldc, sC, batch, ct, algo);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}

/* cublasSgemm_v2 (PyTorch's float matmul, docs/DESIGN.md §9.4): nothing to
 * rewrite (its algorithm is the library's default), hooked for call
 * hashing only. */
DS_EXPORT ds_cublas_status cublasSgemm_v2(ds_cublas_handle h, int ta, int tb,
					  int m, int n, int k,
					  const float *alpha, const float *A,
					  int lda, const float *B, int ldb,
					  const float *beta, float *C, int ldc)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasSgemm_v2");
	__typeof__(&cublasSgemm_v2) real = ds_sym_get(&real_cublasSgemm_v2);
	struct ds_hc hc;
	struct gemm g;
	ds_cublas_status st;
	bool on = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on())) {
		/* CUDA_R_32F everywhere, CUBLAS_COMPUTE_32F. */
		g = (struct gemm){ ta, tb, m, n, k, A, B, C, 0, 0, 0, lda, ldb,
				   ldc, 1, 0, 0, 0, false,
				   DS_CUBLAS_COMPUTE_32F,
				   DS_CUBLAS_GEMM_DEFAULT };
		on = gemm_begin(&hc, h, &g);
	}
	st = real(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
	if (on)
		gemm_end(&site, &hc, h, &g, st);
	return st;
}
