/*
 * cublaslt.c - cuBLASLt algorithm choice without split-K reductions.
 *
 * What cuBLASLt guarantees (docs/GPU_FACTS.md §3.1, §4): one algorithm gives
 * the same bits run to run on one GPU type; cublasLtMatmulAlgoGetHeuristic
 * ranks algorithms by *estimated* time, computed, not measured, so its order is
 * a pure function of the descriptors, the preference (workspace limit,
 * pointer alignments) and the GPU.  What can change the bits is *which*
 * algorithm is chosen: a split-K algorithm sums partial products in
 * another order than an unsplit one, and whether split-K is chosen depends
 * on the workspace limit and the alignments PyTorch derives from tensor
 * addresses (CUDABlas.cpp).  An NVIDIA cuBLAS engineer recommends allowing
 * only CUBLASLT_REDUCTION_SCHEME_NONE when exact repeatability matters
 * (NVIDIA/CUDALibrarySamples#243).
 *
 * So, in cublasLtMatmulAlgoGetHeuristic:
 *   1. the caller's preference gets REDUCTION_SCHEME_MASK = NONE (and, with
 *      gpu.cublas_strip_tf32, IMPL_MASK without INPUT_TF32) before the real
 *      call - PyTorch asks for one result, so filtering alone could leave
 *      none (docs/GPU_FACTS.md §4.2);
 *   2. the results are checked again by their algo's REDUCTION_SCHEME and
 *      SPLITK_NUM attributes; non-conforming ones are dropped, the rest
 *      keep the heuristic's order (reproducible: computed, not timed).
 *      The caller's count is asked for first; only when a result has to
 *      be dropped is the heuristic asked again for at least 8, so that a
 *      caller that asked for one still gets an answer.  PyTorch calls
 *      the heuristic on every matmul: asking for 8 every time cost host
 *      time on short steps (docs/measurements/BENCHMARKS.md).
 * cublasLtMatmul with algo == NULL runs an implicit heuristic with default
 * preferences (cuBLAS guide); under enforce the hook picks the algorithm
 * itself through step 1-2 with the caller's workspace as the limit.
 * The preference object is the caller's and keeps the mask afterwards.
 *
 * Under DETSHIM_PROFILE=batch-invariant (docs/DESIGN.md §13) the heuristic
 * answers one algorithm per shape, whatever the batch extent n: the first
 * call of a shape (struct ds_lt_shape, cublas_rules.h: everything of the
 * call but n) asks steps 1-2 for the shape at the representative n
 * (DS_LT_REP_N) and stores the first result, or, where that cannot be
 * asked, its own first result; every call of the shape gets that
 * algorithm, as the only result, once
 * cublasLtMatmulAlgoCheck has accepted it for this call's descriptors
 * and its workspace fits the preference's limit.  Otherwise the call
 * takes steps 1-2 and the shape is logged "batch-variant", once.  Built
 * with DS_LT_PIN_HALF=0, shapes of 16- and 8-bit float inputs are not
 * pinned but take steps 1-2 on every call ("filtered", once per shape;
 * ds_lt_pins in cublas_rules.h).  Under warn the results pass unchanged
 * and the hook logs what it would pin or filter.
 *
 * With gpu.hash_calls on, cublasLtMatmul logs a "hashed" event: A, B and
 * C before the call, D after it, sized from their layouts
 * (hash_calls.h).  Its src is "cublas", the one source of both
 * libraries; the call name says which.
 *
 * Missing real functions: CUBLAS_STATUS_NOT_INITIALIZED, logged once by
 * resolve.c under the cublas source.
 */
#include "detshim.h"

#include <string.h>

#include "abi/cublaslt.h"
#include "cublas_rules.h"
#include "hash_calls.h"

/* cuBLASLt of CUDA 13, 12 and 11 (one ABI for these functions). */
static const char *const cublaslt_libs[] = {
	"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11", NULL
};

/* Functions the hooks only call, declared for their pointer types. */
ds_cublas_status cublasLtMatmulPreferenceCreate(ds_cublaslt_pref *p);
ds_cublas_status cublasLtMatmulPreferenceDestroy(ds_cublaslt_pref p);
ds_cublas_status cublasLtMatmulPreferenceSetAttribute(ds_cublaslt_pref p,
						      int attr, const void *buf,
						      size_t n);
ds_cublas_status cublasLtMatmulPreferenceGetAttribute(ds_cublaslt_pref p,
						      int attr, void *buf,
						      size_t n, size_t *written);
ds_cublas_status cublasLtMatmulAlgoConfigGetAttribute(
	const struct ds_cublaslt_algo *algo, int attr, void *buf, size_t n,
	size_t *written);
ds_cublas_status cublasLtMatrixLayoutGetAttribute(ds_cublaslt_layout l,
						  int attr, void *buf,
						  size_t n, size_t *written);
ds_cublas_status cublasLtMatrixLayoutCreate(ds_cublaslt_layout *l,
					    uint32_t type, uint64_t rows,
					    uint64_t cols, int64_t ld);
ds_cublas_status cublasLtMatrixLayoutDestroy(ds_cublaslt_layout l);
ds_cublas_status cublasLtMatrixLayoutSetAttribute(ds_cublaslt_layout l,
						  int attr, const void *buf,
						  size_t n);
ds_cublas_status cublasLtMatmulDescGetAttribute(ds_cublaslt_matmul_desc d,
						int attr, void *buf, size_t n,
						size_t *written);
ds_cublas_status cublasLtMatmulAlgoCheck(ds_cublaslt_handle h,
					 ds_cublaslt_matmul_desc d,
					 ds_cublaslt_layout A, ds_cublaslt_layout B,
					 ds_cublaslt_layout C, ds_cublaslt_layout D,
					 const struct ds_cublaslt_algo *algo,
					 struct ds_cublaslt_heur_result *result);

/* Interposed: the definitions below. */
#define DS_CUBLASLT_HOOKS(X)                                                 \
	X(cublasLtMatmulAlgoGetHeuristic)                                    \
	X(cublasLtMatmul)
/* Only called. */
#define DS_CUBLASLT_CALLS(X)                                                 \
	X(cublasLtMatmulPreferenceCreate)                                    \
	X(cublasLtMatmulPreferenceDestroy)                                   \
	X(cublasLtMatmulPreferenceSetAttribute)                              \
	X(cublasLtMatmulPreferenceGetAttribute)                              \
	X(cublasLtMatmulAlgoConfigGetAttribute)                              \
	X(cublasLtMatrixLayoutGetAttribute)                                  \
	X(cublasLtMatrixLayoutCreate)                                        \
	X(cublasLtMatrixLayoutDestroy)                                       \
	X(cublasLtMatrixLayoutSetAttribute)                                  \
	X(cublasLtMatmulDescGetAttribute)                                    \
	X(cublasLtMatmulAlgoCheck)

#define DS_LT_SLOT(name)                                                     \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(cublaslt_libs, DS_SRC_CUBLAS, #name);
DS_CUBLASLT_HOOKS(DS_LT_SLOT)
DS_CUBLASLT_CALLS(DS_LT_SLOT)
#undef DS_LT_SLOT

/* The heuristic, whose pointer type heuristic() takes before the hook's
 * definition. */
DS_EXPORT ds_cublas_status cublasLtMatmulAlgoGetHeuristic(
	ds_cublaslt_handle h, ds_cublaslt_matmul_desc d, ds_cublaslt_layout A,
	ds_cublaslt_layout B, ds_cublaslt_layout C, ds_cublaslt_layout D,
	ds_cublaslt_pref p, int req, struct ds_cublaslt_heur_result res[],
	int *ret);

#define LT_MIN_ASK 8   /* results asked for internally, at least */
#define LT_MAX_ASK 64  /* larger requests: mask only, no re-check */

/* Step 1: restrict the caller's preference.  Best effort: a failing
 * attribute call leaves step 2 to do the work. */
static void restrict_pref(ds_cublaslt_pref p)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasLtMatmulPreferenceSetAttribute");
	__typeof__(&cublasLtMatmulPreferenceSetAttribute) set =
		ds_sym_get(&real_cublasLtMatmulPreferenceSetAttribute);
	__typeof__(&cublasLtMatmulPreferenceGetAttribute) get =
		ds_sym_get(&real_cublasLtMatmulPreferenceGetAttribute);
	uint32_t mask = DS_CUBLASLT_REDUCTION_SCHEME_MASK;
	size_t w = 0;

	if (set == NULL || p == NULL)
		return;
	if (get && get(p, DS_CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &mask,
		       sizeof(mask), &w) != DS_CUBLAS_STATUS_SUCCESS)
		mask = DS_CUBLASLT_REDUCTION_SCHEME_MASK;
	if ((mask & ~ds_lt_allowed_schemes()) != 0) {
		uint32_t want = mask & ds_lt_allowed_schemes();

		if (set(p, DS_CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &want,
			sizeof(want)) == DS_CUBLAS_STATUS_SUCCESS)
			ds_event(&site, "pinned",
				 "reduction_scheme_mask=0x%x -> 0x%x (no split-K: "
				 "CUDALibrarySamples#243)", mask, want);
	}
	if (ds_cfg.cublas_strip_tf32) {
		uint64_t impl = ~UINT64_C(0);

		if (get && get(p, DS_CUBLASLT_MATMUL_PREF_IMPL_MASK, &impl,
			       sizeof(impl), &w) != DS_CUBLAS_STATUS_SUCCESS)
			impl = ~UINT64_C(0);
		if (impl & DS_CUBLASLT_NUMERICAL_IMPL_FLAGS_INPUT_TF32) {
			impl &= ~DS_CUBLASLT_NUMERICAL_IMPL_FLAGS_INPUT_TF32;
			if (set(p, DS_CUBLASLT_MATMUL_PREF_IMPL_MASK, &impl,
				sizeof(impl)) == DS_CUBLAS_STATUS_SUCCESS)
				ds_event(&site, "pinned",
					 "impl_mask without INPUT_TF32 "
					 "(strip_tf32)");
		}
	}
}

/* Step 2: mark which results conform.  Returns how many do not. */
static int check_results(const struct ds_cublaslt_heur_result *res, int n,
			 bool *keep)
{
	__typeof__(&cublasLtMatmulAlgoConfigGetAttribute) get =
		ds_sym_get(&real_cublasLtMatmulAlgoConfigGetAttribute);
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		uint32_t scheme = DS_CUBLASLT_REDUCTION_SCHEME_NONE;
		int32_t splitk = 1;
		size_t w = 0;

		keep[i] = true;
		if (get == NULL)
			continue; /* cannot tell: the mask of step 1 stands */
		if (get(&res[i].algo, DS_CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
			&scheme, sizeof(scheme), &w) != DS_CUBLAS_STATUS_SUCCESS)
			scheme = DS_CUBLASLT_REDUCTION_SCHEME_NONE;
		if (get(&res[i].algo, DS_CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
			&splitk, sizeof(splitk), &w) != DS_CUBLAS_STATUS_SUCCESS)
			splitk = 1;
		if (!ds_lt_algo_ok(scheme, splitk)) {
			keep[i] = false;
			bad++;
		}
	}
	return bad;
}

/* The heuristic with steps 1 and 2; same contract as the real call.
 * Results are gathered in a local array (at most LT_MAX_ASK) and the
 * first req conforming ones copied out. */
static ds_cublas_status heuristic(
	__typeof__(&cublasLtMatmulAlgoGetHeuristic) real, ds_cublaslt_handle h,
	ds_cublaslt_matmul_desc d, ds_cublaslt_layout A, ds_cublaslt_layout B,
	ds_cublaslt_layout C, ds_cublaslt_layout D, ds_cublaslt_pref p, int req,
	struct ds_cublaslt_heur_result res[], int *ret)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasLtMatmulAlgoGetHeuristic.enforce");
	struct ds_cublaslt_heur_result local[LT_MAX_ASK];
	bool keep[LT_MAX_ASK];
	int ask = req;
	int n = 0, bad, kept;
	ds_cublas_status st;

	restrict_pref(p);
	if (req <= 0 || req > LT_MAX_ASK || res == NULL || ret == NULL)
		return real(h, d, A, B, C, D, p, req, res, ret);
	for (;;) {
		st = real(h, d, A, B, C, D, p, ask, local, &n);
		if (st != DS_CUBLAS_STATUS_SUCCESS)
			return st;
		if (n > ask)
			n = ask;
		bad = check_results(local, n, keep);
		if (bad == 0 || ask >= LT_MIN_ASK)
			break;
		ask = LT_MIN_ASK; /* room to drop some and still answer */
	}
	kept = ds_compact(local, sizeof(struct ds_cublaslt_heur_result), n, keep);
	if (bad)
		ds_event(&site, "vetoed",
			 "%d of %d heuristic results use split-K; kept %d", bad,
			 n, kept);
	if (kept == 0 && n > 0) {
		/* Nothing deterministic to offer: say so in the library's
		 * own terms rather than run a split-K algorithm. */
		*ret = 0;
		ds_event(&site, "error", "no unsplit algorithm among %d", n);
		return DS_CUBLAS_STATUS_NOT_SUPPORTED;
	}
	if (kept > req)
		kept = req;
	memcpy(res, local, (size_t)kept * sizeof(struct ds_cublaslt_heur_result));
	*ret = kept;
	return st;
}

/* ------------------------------------------------------------------ */
/* What a layout says about its matrix. */
struct lt_matrix {
	uint32_t type;      /* cudaDataType_t */
	int32_t order;      /* cublasLtOrder_t */
	uint64_t rows;      /* of the stored matrix */
	uint64_t cols;
	int64_t ld;         /* leading dimension */
	int32_t batch;      /* matrices in the batch */
	int64_t stride;     /* elements between batch members */
};

static void lt_layout(ds_cublaslt_layout l, struct lt_matrix *m)
{
	__typeof__(&cublasLtMatrixLayoutGetAttribute) get =
		ds_sym_get(&real_cublasLtMatrixLayoutGetAttribute);
	size_t w = 0;

	memset(m, 0, sizeof(*m));
	m->batch = 1;
	if (get == NULL || l == NULL)
		return;
	/* Each read leaves its default on failure. */
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_TYPE, &m->type, sizeof(m->type), &w);
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_ORDER, &m->order, sizeof(m->order),
	    &w);
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_ROWS, &m->rows, sizeof(m->rows), &w);
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_COLS, &m->cols, sizeof(m->cols), &w);
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_LD, &m->ld, sizeof(m->ld), &w);
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &m->batch,
	    sizeof(m->batch), &w);
	get(l, DS_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &m->stride,
	    sizeof(m->stride), &w);
}

/* The batch-invariant profile: one algorithm per shape (cublas_rules.h). */

static struct ds_lt_table lt_table;
DS_SITE(lt_site, DS_SRC_CUBLAS, "cublasLtMatmulAlgoGetHeuristic.profile");

/* The descriptor attributes of the shape, in its order, with their
 * sizes; one the library does not know reads as -1.  The fast-accumulate
 * switch and the scale modes serve 8-bit and narrower inputs (FP8, FP4):
 * for wider ones they are not read (each read is a library call on every
 * heuristic call) and stay -1. */
static const struct {
	int attr;
	unsigned char size;
	bool narrow_only;
} lt_desc_attrs[DS_LT_DESC_ATTRS] = {
	{ DS_CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_SCALE_TYPE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_POINTER_MODE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_TRANSA, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_TRANSB, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_TRANSC, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_FILL_MODE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_EPILOGUE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, 4, false },
	{ DS_CUBLASLT_MATMUL_DESC_FAST_ACCUM, 1, true },
	{ DS_CUBLASLT_MATMUL_DESC_A_SCALE_MODE, 4, true },
	{ DS_CUBLASLT_MATMUL_DESC_B_SCALE_MODE, 4, true },
	{ DS_CUBLASLT_MATMUL_DESC_C_SCALE_MODE, 4, true },
	{ DS_CUBLASLT_MATMUL_DESC_D_SCALE_MODE, 4, true },
};
enum { LT_COMPUTE = 0, LT_TRANSA = 3, LT_TRANSB = 4, LT_EPILOGUE = 7 };

/* The shape of a call and its n (D's columns); false when the
 * descriptors cannot be read, which leaves the call to steps 1-2. */
static bool lt_shape(ds_cublaslt_matmul_desc d, ds_cublaslt_layout A,
		     ds_cublaslt_layout B, ds_cublaslt_layout C,
		     ds_cublaslt_layout D, ds_cublaslt_pref p,
		     struct ds_lt_shape *s, uint64_t *n)
{
	__typeof__(&cublasLtMatmulDescGetAttribute) dget =
		ds_sym_get(&real_cublasLtMatmulDescGetAttribute);
	__typeof__(&cublasLtMatrixLayoutGetAttribute) lget =
		ds_sym_get(&real_cublasLtMatrixLayoutGetAttribute);
	__typeof__(&cublasLtMatmulPreferenceGetAttribute) pget =
		ds_sym_get(&real_cublasLtMatmulPreferenceGetAttribute);
	ds_cublaslt_layout l[4] = { A, B, C, D };
	uint64_t arows = 0, acols = 0, drows = 0, dcols = 0;
	size_t i, w = 0;
	const char *name;
	bool narrow;

	memset(s, 0, sizeof(*s));
	if (dget == NULL || lget == NULL || d == NULL || A == NULL ||
	    B == NULL || C == NULL || D == NULL)
		return false;
	for (i = 0; i < 4; i++) {
		/* Not the batch count either: eager attention's bmm has
		 * batch x heads matrices, so it grows with the batch; the
		 * stored algorithm runs each matrix alike (AlgoCheck still
		 * judges it for the call).  layout[i][2] stays 0. */
		static const int attr[2] = { DS_CUBLASLT_MATRIX_LAYOUT_TYPE,
					     DS_CUBLASLT_MATRIX_LAYOUT_ORDER };
		size_t j;

		for (j = 0; j < 2; j++) {
			int32_t v = -1;

			if (lget(l[i], attr[j], &v, 4, &w) !=
			    DS_CUBLAS_STATUS_SUCCESS)
				v = -1;
			s->layout[i][j] = v;
		}
	}
	/* An unknown type (0 bits) counts as narrow: read everything. */
	narrow = ds_hc_dtype_bits(s->layout[0][0], &name) <= 8 ||
		 ds_hc_dtype_bits(s->layout[1][0], &name) <= 8;
	for (i = 0; i < DS_LT_DESC_ATTRS; i++) {
		int32_t v = -1;
		int8_t b = -1;

		if (lt_desc_attrs[i].narrow_only && !narrow) {
			v = -1;
		} else if (lt_desc_attrs[i].size == 1) {
			if (dget(d, lt_desc_attrs[i].attr, &b, 1, &w) ==
			    DS_CUBLAS_STATUS_SUCCESS)
				v = b;
		} else if (dget(d, lt_desc_attrs[i].attr, &v, 4, &w) !=
			   DS_CUBLAS_STATUS_SUCCESS) {
			v = -1;
		}
		s->desc[i] = v;
	}
	if (lget(A, DS_CUBLASLT_MATRIX_LAYOUT_ROWS, &arows, 8, &w) ||
	    lget(A, DS_CUBLASLT_MATRIX_LAYOUT_COLS, &acols, 8, &w) ||
	    lget(A, DS_CUBLASLT_MATRIX_LAYOUT_LD, &s->lda, 8, &w) ||
	    lget(C, DS_CUBLASLT_MATRIX_LAYOUT_LD, &s->ldc, 8, &w) ||
	    lget(D, DS_CUBLASLT_MATRIX_LAYOUT_ROWS, &drows, 8, &w) ||
	    lget(D, DS_CUBLASLT_MATRIX_LAYOUT_COLS, &dcols, 8, &w) ||
	    lget(D, DS_CUBLASLT_MATRIX_LAYOUT_LD, &s->ldd, 8, &w))
		return false;
	/* op(A) is m x k: A itself is m x k, or k x m when transposed. */
	s->m = drows;
	if (s->desc[LT_TRANSA] == DS_CUBLAS_OP_N || s->desc[LT_TRANSA] == -1)
		s->k = acols;
	else
		s->k = arows;
	*n = dcols;
	if (pget && p) {
		static const int attr[4] = {
			DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
			DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
			DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
			DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES
		};

		for (i = 0; i < 4; i++)
			if (pget(p, attr[i], &s->align[i], 4, &w) !=
			    DS_CUBLAS_STATUS_SUCCESS)
				s->align[i] = 0;
		if (pget(p, DS_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
			 &s->max_ws, 8, &w) != DS_CUBLAS_STATUS_SUCCESS)
			s->max_ws = 0;
	}
	return true;
}

/* The shape as the log shows it (after "m=.. k=.. n=.."). */
static void lt_shape_text(char *buf, size_t cap, const struct ds_lt_shape *s)
{
	static const char tag[4] = { 'A', 'B', 'C', 'D' };
	size_t len = 0, i;

	for (i = 0; i < 4; i++) {
		const char *name;

		ds_hc_dtype_bits(s->layout[i][0], &name);
		len += ds_fmt(buf + len, cap - len, "%c=%s%s ", tag[i], name,
			      s->layout[i][1] == DS_CUBLASLT_ORDER_ROW ? "r"
								       : "");
	}
	ds_fmt(buf + len, cap - len,
	       "trans=%s%s lda=%lld ldc=%lld ldd=%lld compute=%d "
	       "epilogue=%d align=%u/%u/%u/%u workspace=%llu",
	       s->desc[LT_TRANSA] > 0 ? "T" : "N",
	       s->desc[LT_TRANSB] > 0 ? "T" : "N", (long long)s->lda,
	       (long long)s->ldc, (long long)s->ldd,
	       (int)s->desc[LT_COMPUTE], (int)s->desc[LT_EPILOGUE],
	       s->align[0], s->align[1], s->align[2], s->align[3],
	       (unsigned long long)s->max_ws);
}

/* An algorithm's id, tile and stages, as its config attributes say. */
static void lt_algo_ids(const struct ds_cublaslt_algo *a, int32_t *id,
			uint32_t *tile, uint32_t *stages)
{
	__typeof__(&cublasLtMatmulAlgoConfigGetAttribute) get =
		ds_sym_get(&real_cublasLtMatmulAlgoConfigGetAttribute);
	size_t w = 0;

	*id = -1;
	*tile = 0;
	*stages = 0;
	if (get == NULL)
		return;
	if (get(a, DS_CUBLASLT_ALGO_CONFIG_ID, id, sizeof(*id), &w))
		*id = -1;
	if (get(a, DS_CUBLASLT_ALGO_CONFIG_TILE_ID, tile, sizeof(*tile), &w))
		*tile = 0;
	if (get(a, DS_CUBLASLT_ALGO_CONFIG_STAGES_ID, stages, sizeof(*stages),
		&w))
		*stages = 0;
}

/* One event about a shape: fields m, k, n, algo, tile, stages (the
 * slot's algorithm), then what, then the shape.  Every shape's event
 * is written (at most DS_LT_SLOTS of each kind), whatever log.first_n. */
static void lt_log(struct ds_site *site, const char *action,
		   const struct ds_lt_shape *s, uint64_t n,
		   const struct ds_cublaslt_algo *algo, const char *what)
{
	char fields[192], text[256];
	uint32_t tile, stages;
	int32_t id;

	lt_algo_ids(algo, &id, &tile, &stages);
	ds_fmt(fields, sizeof(fields),
	       "\"m\":%llu,\"k\":%llu,\"n\":%llu,\"algo\":%d,\"tile\":%u,"
	       "\"stages\":%u", (unsigned long long)s->m,
	       (unsigned long long)s->k, (unsigned long long)n, (int)id, tile,
	       stages);
	lt_shape_text(text, sizeof(text), s);
	ds_event_fields_all(site, action, fields, "%s; %s", what, text);
}

/* Answer with the shape's stored algorithm if this call may run it. */
static bool lt_use(struct ds_lt_slot *sl, ds_cublaslt_handle h,
		   ds_cublaslt_matmul_desc d, ds_cublaslt_layout A,
		   ds_cublaslt_layout B, ds_cublaslt_layout C,
		   ds_cublaslt_layout D, uint64_t n,
		   struct ds_cublaslt_heur_result res[], int *ret)
{
	__typeof__(&cublasLtMatmulAlgoCheck) check =
		ds_sym_get(&real_cublasLtMatmulAlgoCheck);
	struct ds_cublaslt_heur_result r;
	ds_cublas_status st = DS_CUBLAS_STATUS_NOT_INITIALIZED;
	char why[128];

	memset(&r, 0, sizeof(r));
	if (check)
		st = check(h, d, A, B, C, D, &sl->algo, &r);
	if (check && st == DS_CUBLAS_STATUS_SUCCESS &&
	    r.state == DS_CUBLAS_STATUS_SUCCESS &&
	    r.workspace_size <= sl->shape.max_ws) {
		memset(&res[0], 0, sizeof(res[0]));
		res[0].algo = sl->algo;
		res[0].workspace_size = r.workspace_size;
		res[0].state = DS_CUBLAS_STATUS_SUCCESS;
		res[0].waves_count = r.waves_count;
		*ret = 1;
		return true;
	}
	if (atomic_exchange_explicit(&sl->variant_logged, true,
				     memory_order_relaxed))
		return false;
	if (check == NULL)
		ds_fmt(why, sizeof(why), "cublasLtMatmulAlgoCheck is missing");
	else if (st != DS_CUBLAS_STATUS_SUCCESS ||
		 r.state != DS_CUBLAS_STATUS_SUCCESS)
		ds_fmt(why, sizeof(why), "cublasLtMatmulAlgoCheck refused it "
		       "(status %d)", st != DS_CUBLAS_STATUS_SUCCESS ? st
								   : r.state);
	else
		ds_fmt(why, sizeof(why), "it needs %zu bytes of workspace",
		       r.workspace_size);
	{
		char what[200];

		ds_fmt(what, sizeof(what),
		       "the algorithm chosen at n=%llu cannot run at n=%llu: %s; "
		       "this call takes the heuristic",
		       (unsigned long long)sl->first_n, (unsigned long long)n,
		       why);
		lt_log(&lt_site, "batch-variant", &sl->shape, n, &sl->algo, what);
	}
	return false;
}

/* The n at which a shape's algorithm is chosen, whatever n its first
 * call has: the choice is then a function of the shape alone (not of
 * which call came first), and a general tiled kernel rather than the
 * one the heuristic keeps for n = 1, which refuses every other n
 * (docs/DESIGN.md §13 has the H200 figures behind the value). */
#ifndef DS_LT_REP_N
#define DS_LT_REP_N 256
#endif
/* 1: the representative choice may split K (a fixed split for every n
 * of the shape); 0: steps 1-2, no split-K. */
#ifndef DS_LT_REP_SPLITK
#define DS_LT_REP_SPLITK 0
#endif
/* 1: every shape is pinned; 0: shapes of 16- and 8-bit float inputs are
 * filtered instead, steps 1-2 on every call (ds_lt_pins, cublas_rules.h;
 * docs/DESIGN.md §13).  Others stay pinned either way. */
#ifndef DS_LT_PIN_HALF
#define DS_LT_PIN_HALF 1
#endif

/* A layout like l with its n extent (its rows when n_rows, else its
 * columns) set to n; NULL when one cannot be made. */
static ds_cublaslt_layout lt_layout_at(ds_cublaslt_layout l, bool n_rows,
				       uint64_t n)
{
	__typeof__(&cublasLtMatrixLayoutCreate) create =
		ds_sym_get(&real_cublasLtMatrixLayoutCreate);
	__typeof__(&cublasLtMatrixLayoutSetAttribute) set =
		ds_sym_get(&real_cublasLtMatrixLayoutSetAttribute);
	__typeof__(&cublasLtMatrixLayoutDestroy) destroy =
		ds_sym_get(&real_cublasLtMatrixLayoutDestroy);
	ds_cublaslt_layout out = NULL;
	struct lt_matrix m;
	uint64_t need;
	bool ok = true;

	if (create == NULL || set == NULL || destroy == NULL)
		return NULL;
	lt_layout(l, &m);
	if (m.order != DS_CUBLASLT_ORDER_COL && m.order != DS_CUBLASLT_ORDER_ROW)
		return NULL;
	if (n_rows)
		m.rows = n;
	else
		m.cols = n;
	need = m.order == DS_CUBLASLT_ORDER_ROW ? m.cols : m.rows;
	if (m.ld < 0 || (uint64_t)m.ld < need)
		m.ld = (int64_t)need;
	if (create(&out, m.type, m.rows, m.cols, m.ld) !=
	    DS_CUBLAS_STATUS_SUCCESS)
		return NULL;
	if (m.order != DS_CUBLASLT_ORDER_COL)
		ok = set(out, DS_CUBLASLT_MATRIX_LAYOUT_ORDER, &m.order,
			 sizeof(m.order)) == DS_CUBLAS_STATUS_SUCCESS;
	if (ok && m.batch > 1) {
		int64_t stride = m.ld * (int64_t)(m.order == DS_CUBLASLT_ORDER_ROW
							 ? m.rows : m.cols);

		ok = set(out, DS_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &m.batch,
			 sizeof(m.batch)) == DS_CUBLAS_STATUS_SUCCESS &&
		     set(out, DS_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
			 &stride, sizeof(stride)) == DS_CUBLAS_STATUS_SUCCESS;
	}
	if (!ok) {
		destroy(out);
		return NULL;
	}
	return out;
}

/* A preference of the hooks' own with the shape's workspace limit and
 * alignments, the preference inputs of the shape; NULL when one cannot
 * be made.  The caller's own is never changed here (under warn nothing
 * the program holds may change). */
static ds_cublaslt_pref lt_pref_of(const struct ds_lt_shape *s)
{
	__typeof__(&cublasLtMatmulPreferenceCreate) create =
		ds_sym_get(&real_cublasLtMatmulPreferenceCreate);
	__typeof__(&cublasLtMatmulPreferenceSetAttribute) set =
		ds_sym_get(&real_cublasLtMatmulPreferenceSetAttribute);
	static const int align[4] = {
		DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
		DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
		DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
		DS_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES
	};
	ds_cublaslt_pref p = NULL;
	size_t i;

	if (create == NULL || set == NULL ||
	    create(&p) != DS_CUBLAS_STATUS_SUCCESS)
		return NULL;
	set(p, DS_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &s->max_ws,
	    sizeof(s->max_ws));
	for (i = 0; i < 4; i++)
		if (s->align[i])
			set(p, align[i], &s->align[i], sizeof(s->align[i]));
	return p;
}

/* The shape's algorithm as chosen at n = DS_LT_REP_N: B, C and D are
 * asked for at that n, with the preference of the shape (lt_pref_of).
 * False when these cannot be made or the heuristic has no answer
 * there. */
static bool lt_rep(__typeof__(&cublasLtMatmulAlgoGetHeuristic) real,
		   ds_cublaslt_handle h, ds_cublaslt_matmul_desc d,
		   ds_cublaslt_layout A, ds_cublaslt_layout B,
		   ds_cublaslt_layout C, ds_cublaslt_layout D,
		   const struct ds_lt_shape *s, struct ds_cublaslt_algo *algo)
{
	__typeof__(&cublasLtMatrixLayoutDestroy) destroy =
		ds_sym_get(&real_cublasLtMatrixLayoutDestroy);
	__typeof__(&cublasLtMatmulPreferenceDestroy) pdestroy =
		ds_sym_get(&real_cublasLtMatmulPreferenceDestroy);
	/* op(B) is k x n: B is k x n, or n x k when transposed. */
	bool b_rows = s->desc[LT_TRANSB] != DS_CUBLAS_OP_N &&
		      s->desc[LT_TRANSB] != -1;
	ds_cublaslt_layout l[3];
	ds_cublaslt_pref p = pdestroy ? lt_pref_of(s) : NULL;
	struct ds_cublaslt_heur_result r[1];
	ds_cublas_status st = DS_CUBLAS_STATUS_NOT_SUPPORTED;
	int got = 0, i;

	l[0] = lt_layout_at(B, b_rows, DS_LT_REP_N);
	l[1] = lt_layout_at(C, false, DS_LT_REP_N);
	l[2] = lt_layout_at(D, false, DS_LT_REP_N);
	if (p && l[0] && l[1] && l[2])
		st = DS_LT_REP_SPLITK
			     ? real(h, d, A, l[0], l[1], l[2], p, 1, r, &got)
			     : heuristic(real, h, d, A, l[0], l[1], l[2], p, 1, r,
					 &got);
	for (i = 0; i < 3; i++)
		if (l[i] && destroy)
			destroy(l[i]);
	if (p)
		pdestroy(p);
	if (st != DS_CUBLAS_STATUS_SUCCESS || got < 1)
		return false;
	*algo = r[0].algo;
	return true;
}

/* Full table: said once; later shapes take steps 1-2 on every call. */
static void lt_full(void)
{

	if (!atomic_exchange_explicit(&lt_table.full_logged, true,
				      memory_order_relaxed))
		ds_event(&lt_site, "batch-variant",
			 "the shape table is full (%d shapes): the GEMMs of "
			 "later shapes take the heuristic on every call",
			 DS_LT_SLOTS);
}

/* A shape the profile filters (ds_lt_pins false): steps 1-2 on every
 * call, the heuristic free per n; its first answer is stored only so
 * that the shape is logged once. */
static ds_cublas_status lt_filter(
	__typeof__(&cublasLtMatmulAlgoGetHeuristic) real, ds_cublaslt_handle h,
	ds_cublaslt_matmul_desc d, ds_cublaslt_layout A, ds_cublaslt_layout B,
	ds_cublaslt_layout C, ds_cublaslt_layout D, ds_cublaslt_pref p, int req,
	struct ds_cublaslt_heur_result res[], int *ret,
	const struct ds_lt_shape *s, uint64_t hash, uint64_t n)
{
	ds_cublas_status st = heuristic(real, h, d, A, B, C, D, p, req, res,
					ret);
	bool busy = false, inserted = false;

	if (st != DS_CUBLAS_STATUS_SUCCESS || *ret < 1 ||
	    ds_lt_find(&lt_table, s, hash, &busy) || busy)
		return st;
	if (ds_lt_insert(&lt_table, s, hash, &res[0].algo, n, &inserted) ==
	    NULL)
		lt_full();
	else if (inserted)
		lt_log(&lt_site, "filtered", s, n, &res[0].algo,
		       "16- or 8-bit float inputs: no split-K on every call, "
		       "the heuristic's choice at each n");
	return st;
}

/* The heuristic under the profile, enforce: same contract as the real
 * call. */
static ds_cublas_status lt_profile(
	__typeof__(&cublasLtMatmulAlgoGetHeuristic) real, ds_cublaslt_handle h,
	ds_cublaslt_matmul_desc d, ds_cublaslt_layout A, ds_cublaslt_layout B,
	ds_cublaslt_layout C, ds_cublaslt_layout D, ds_cublaslt_pref p, int req,
	struct ds_cublaslt_heur_result res[], int *ret)
{
	struct ds_lt_shape s;
	struct ds_lt_slot *sl;
	struct ds_cublaslt_algo rep;
	uint64_t n = 0, hash;
	bool busy = false, inserted = false;
	ds_cublas_status st;

	if (req <= 0 || req > LT_MAX_ASK || res == NULL || ret == NULL ||
	    !lt_shape(d, A, B, C, D, p, &s, &n))
		return heuristic(real, h, d, A, B, C, D, p, req, res, ret);
	hash = ds_lt_shape_hash(&s);
	if (!ds_lt_pins(&s, DS_LT_PIN_HALF))
		return lt_filter(real, h, d, A, B, C, D, p, req, res, ret, &s,
				 hash, n);
	sl = ds_lt_find(&lt_table, &s, hash, &busy);
	if (sl && lt_use(sl, h, d, A, B, C, D, n, res, ret))
		return DS_CUBLAS_STATUS_SUCCESS;
	if (sl == NULL && !busy && lt_rep(real, h, d, A, B, C, D, &s, &rep)) {
		sl = ds_lt_insert(&lt_table, &s, hash, &rep, DS_LT_REP_N,
				  &inserted);
		if (sl == NULL)
			lt_full();
		else if (inserted)
			lt_log(&lt_site, "pinned", &s, DS_LT_REP_N, &rep,
			       "one algorithm for this shape at every n, "
			       "chosen at the representative n");
		if (sl && lt_use(sl, h, d, A, B, C, D, n, res, ret))
			return DS_CUBLAS_STATUS_SUCCESS;
	}
	st = heuristic(real, h, d, A, B, C, D, p, req, res, ret);
	if (sl || busy || st != DS_CUBLAS_STATUS_SUCCESS || *ret < 1)
		return st;
	sl = ds_lt_insert(&lt_table, &s, hash, &res[0].algo, n, &inserted);
	if (sl == NULL) {
		lt_full();
		return st;
	}
	if (inserted) {
		lt_log(&lt_site, "pinned", &s, n, &res[0].algo,
		       "one algorithm for this shape at every n");
		return st;
	}
	/* Another thread stored the shape first: its algorithm, if it can
	 * run here, else this call's own. */
	if (memcmp(&sl->algo, &res[0].algo, sizeof(sl->algo)) != 0)
		lt_use(sl, h, d, A, B, C, D, n, res, ret);
	return st;
}

/* Under warn: the results stay; say what the profile would pin, and
 * when a later n gets another algorithm than the one it would run. */
static void lt_observe(__typeof__(&cublasLtMatmulAlgoGetHeuristic) real,
		       ds_cublaslt_handle h, ds_cublaslt_matmul_desc d,
		       ds_cublaslt_layout A, ds_cublaslt_layout B,
		       ds_cublaslt_layout C, ds_cublaslt_layout D,
		       ds_cublaslt_pref p,
		       const struct ds_cublaslt_heur_result *res, int n_res)
{
	struct ds_lt_shape s;
	struct ds_lt_slot *sl;
	struct ds_cublaslt_algo rep;
	uint64_t n = 0, hash;
	bool busy = false, inserted = false;
	char what[160];

	if (res == NULL || n_res < 1 || !lt_shape(d, A, B, C, D, p, &s, &n))
		return;
	hash = ds_lt_shape_hash(&s);
	sl = ds_lt_find(&lt_table, &s, hash, &busy);
	if (!ds_lt_pins(&s, DS_LT_PIN_HALF)) {
		/* Filtered: enforce's choice at this n, asked with a
		 * preference of the hooks' own (the program's results and
		 * preference stay as they are). */
		__typeof__(&cublasLtMatmulPreferenceDestroy) pdestroy =
			ds_sym_get(&real_cublasLtMatmulPreferenceDestroy);
		ds_cublaslt_pref own;
		struct ds_cublaslt_heur_result r[1];
		int got = 0;

		if (sl || busy)
			return; /* said already */
		own = pdestroy ? lt_pref_of(&s) : NULL;
		if (own) {
			heuristic(real, h, d, A, B, C, D, own, 1, r, &got);
			pdestroy(own);
		}
		if (got < 1)
			r[0].algo = res[0].algo;
		if (ds_lt_insert(&lt_table, &s, hash, &r[0].algo, n,
				 &inserted) && inserted)
			lt_log(&lt_site, "would-filter", &s, n, &r[0].algo,
			       "16- or 8-bit float inputs: the profile would "
			       "take no split-K and the heuristic's choice at "
			       "each n");
		return;
	}
	if (sl == NULL && !busy) {
		/* The profile's choice (a query only: the program's results
		 * stay the real call's). */
		bool at_rep = lt_rep(real, h, d, A, B, C, D, &s, &rep);

		if (!at_rep)
			rep = res[0].algo;
		sl = ds_lt_insert(&lt_table, &s, hash, &rep,
				  at_rep ? DS_LT_REP_N : n, &inserted);
		if (sl == NULL || !inserted)
			return;
		lt_log(&lt_site, "would-pin", &s, sl->first_n, &rep,
		       "the profile would run this algorithm for this "
		       "shape at every n");
	}
	if (sl == NULL ||
	    memcmp(&sl->algo, &res[0].algo, sizeof(sl->algo)) == 0 ||
	    atomic_exchange_explicit(&sl->variant_logged, true,
				     memory_order_relaxed))
		return;
	{
		uint32_t tile, stages;
		int32_t id;

		lt_algo_ids(&res[0].algo, &id, &tile, &stages);
		ds_fmt(what, sizeof(what),
		       "at n=%llu the heuristic chose algo %d tile %u stages %u; "
		       "the profile would run the one chosen at n=%llu",
		       (unsigned long long)n, (int)id, tile, stages,
		       (unsigned long long)sl->first_n);
	}
	lt_log(&lt_site, "would-replace", &sl->shape, n, &sl->algo, what);
}

/* Steps 1-2, and the profile's table under the batch-invariant profile. */
static ds_cublas_status choose(
	__typeof__(&cublasLtMatmulAlgoGetHeuristic) real, ds_cublaslt_handle h,
	ds_cublaslt_matmul_desc d, ds_cublaslt_layout A, ds_cublaslt_layout B,
	ds_cublaslt_layout C, ds_cublaslt_layout D, ds_cublaslt_pref p, int req,
	struct ds_cublaslt_heur_result res[], int *ret)
{
	if (ds_cfg.profile == DS_PROFILE_BATCH_INVARIANT)
		return lt_profile(real, h, d, A, B, C, D, p, req, res, ret);
	return heuristic(real, h, d, A, B, C, D, p, req, res, ret);
}

DS_EXPORT ds_cublas_status cublasLtMatmulAlgoGetHeuristic(
	ds_cublaslt_handle h, ds_cublaslt_matmul_desc d, ds_cublaslt_layout A,
	ds_cublaslt_layout B, ds_cublaslt_layout C, ds_cublaslt_layout D,
	ds_cublaslt_pref p, int req, struct ds_cublaslt_heur_result res[],
	int *ret)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasLtMatmulAlgoGetHeuristic");
	__typeof__(&cublasLtMatmulAlgoGetHeuristic) real =
		ds_sym_get(&real_cublasLtMatmulAlgoGetHeuristic);
	bool keep[LT_MAX_ASK];
	ds_cublas_status st;
	int bad;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CUBLAS))
		return real(h, d, A, B, C, D, p, req, res, ret);
	if (ds_enforce(DS_SRC_CUBLAS))
		return choose(real, h, d, A, B, C, D, p, req, res, ret);
	/* warn: pass unchanged, say what enforce would drop. */
	st = real(h, d, A, B, C, D, p, req, res, ret);
	if (st == DS_CUBLAS_STATUS_SUCCESS && ret &&
	    ds_cfg.profile == DS_PROFILE_BATCH_INVARIANT)
		lt_observe(real, h, d, A, B, C, D, p, res, *ret);
	if (st == DS_CUBLAS_STATUS_SUCCESS && ret && res && *ret > 0 &&
	    *ret <= (int)DS_ARRAY_SIZE(keep)) {
		bad = check_results(res, *ret, keep);
		if (bad)
			ds_event(&site, "would-veto",
				 "%d of %d heuristic results use split-K", bad,
				 *ret);
	}
	return st;
}

/* ------------------------------------------------------------------ */
/* Call hashing (hash_calls.h). */

/* Bytes the matrix spans; 0 (not read) for the tiled orders (COL32 and
 * the like), whose extent the layout does not say plainly. */
static size_t lt_bytes(const struct lt_matrix *m)
{
	const char *name;

	if (m->order != DS_CUBLASLT_ORDER_COL &&
	    m->order != DS_CUBLASLT_ORDER_ROW)
		return 0;
	return ds_hc_matrix_bytes((int64_t)m->rows, (int64_t)m->cols, m->ld,
				  m->order == DS_CUBLASLT_ORDER_ROW, m->batch,
				  m->stride,
				  ds_hc_dtype_bits((int)m->type, &name));
}

static size_t lt_what(char *buf, size_t cap, char tag,
		      const struct lt_matrix *m, size_t len)
{
	const char *name;

	ds_hc_dtype_bits((int)m->type, &name);
	return len + ds_fmt(buf + len, cap - len, "%c=%s %llux%llu%s ld=%lld%s",
			    tag, name, (unsigned long long)m->rows,
			    (unsigned long long)m->cols,
			    m->order == DS_CUBLASLT_ORDER_ROW ? "r" : "",
			    (long long)m->ld, tag == 'D' ? "" : " ");
}

/* The hooks' view of the algorithm that runs. */
static void lt_why(char *buf, size_t cap, const struct ds_cublaslt_algo *algo,
		   bool chose)
{
	__typeof__(&cublasLtMatmulAlgoConfigGetAttribute) get =
		ds_sym_get(&real_cublasLtMatmulAlgoConfigGetAttribute);
	uint32_t scheme = DS_CUBLASLT_REDUCTION_SCHEME_NONE;
	int32_t id = -1, splitk = 1;
	size_t w = 0;

	if (algo == NULL) {
		ds_fmt(buf, cap, "cuBLASLt implicit heuristic (algo NULL)");
		return;
	}
	if (get) {
		get(algo, DS_CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &w);
		get(algo, DS_CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk,
		    sizeof(splitk), &w);
		get(algo, DS_CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme,
		    sizeof(scheme), &w);
	}
	ds_fmt(buf, cap, "cuBLASLt algo %d split-K %d reduction scheme %u%s",
	       id, splitk, scheme,
	       chose ? " (detshim: first unsplit)" : "");
}

/* The hashing state of one cublasLtMatmul call: its four matrices. */
struct lt_hc {
	struct ds_hc hc;
	struct lt_matrix ma, mb, mc, md;
};

/* Before the call: read the layouts and hash A, B and C.  False when
 * this call is not hashed. */
static bool lt_begin(struct lt_hc *x, const void *a, ds_cublaslt_layout A,
		     const void *b, ds_cublaslt_layout B, const void *c,
		     ds_cublaslt_layout C, ds_cublaslt_layout D, void *stream)
{
	if (!ds_hc_begin(&x->hc, stream))
		return false;
	lt_layout(A, &x->ma);
	lt_layout(B, &x->mb);
	lt_layout(C, &x->mc);
	lt_layout(D, &x->md);
	ds_hc_in(&x->hc, a, lt_bytes(&x->ma));
	ds_hc_in(&x->hc, b, lt_bytes(&x->mb));
	ds_hc_in(&x->hc, c, lt_bytes(&x->mc));
	return true;
}

/* After the call: hash D and log the "hashed" event. */
static void lt_end(struct lt_hc *x, struct ds_site *site,
		   ds_cublaslt_matmul_desc d, void *dd,
		   const struct ds_cublaslt_algo *algo, bool chose,
		   ds_cublas_status st)
{
	__typeof__(&cublasLtMatmulDescGetAttribute) dget =
		ds_sym_get(&real_cublasLtMatmulDescGetAttribute);
	char what[160], why[72];
	int32_t compute = -1;
	size_t len, w = 0;

	ds_hc_out(&x->hc, dd, lt_bytes(&x->md));
	if (dget)
		dget(d, DS_CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &compute,
		     sizeof(compute), &w);
	len = lt_what(what, sizeof(what), 'A', &x->ma, 0);
	len = lt_what(what, sizeof(what), 'B', &x->mb, len);
	len = lt_what(what, sizeof(what), 'C', &x->mc, len);
	len = lt_what(what, sizeof(what), 'D', &x->md, len);
	ds_fmt(what + len, sizeof(what) - len, " batch=%d compute=%d",
	       (int)x->md.batch, (int)compute);
	lt_why(why, sizeof(why), algo, chose);
	ds_hc_end(site, &x->hc, st, what, why);
}

/* algo == NULL under enforce: cuBLASLt would run its implicit
 * heuristic with default preferences; choose with the hooks' rules
 * instead, with the caller's workspace as the limit.  True when *r
 * holds the choice. */
static bool lt_implicit(struct ds_site *site, ds_cublaslt_handle h,
			ds_cublaslt_matmul_desc d, ds_cublaslt_layout A,
			ds_cublaslt_layout B, ds_cublaslt_layout C,
			ds_cublaslt_layout D, size_t wss,
			struct ds_cublaslt_heur_result *r)
{
	__typeof__(&cublasLtMatmulAlgoGetHeuristic) heur =
		ds_sym_get(&real_cublasLtMatmulAlgoGetHeuristic);
	__typeof__(&cublasLtMatmulPreferenceCreate) pcreate =
		ds_sym_get(&real_cublasLtMatmulPreferenceCreate);
	__typeof__(&cublasLtMatmulPreferenceDestroy) pdestroy =
		ds_sym_get(&real_cublasLtMatmulPreferenceDestroy);
	__typeof__(&cublasLtMatmulPreferenceSetAttribute) pset =
		ds_sym_get(&real_cublasLtMatmulPreferenceSetAttribute);
	ds_cublaslt_pref p = NULL;
	uint64_t lim = wss;
	bool got = false;
	int n = 0;

	if (heur == NULL || pcreate == NULL || pdestroy == NULL ||
	    pset == NULL || pcreate(&p) != DS_CUBLAS_STATUS_SUCCESS)
		return false;
	pset(p, DS_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &lim, sizeof(lim));
	if (choose(heur, h, d, A, B, C, D, p, 1, r, &n) ==
		    DS_CUBLAS_STATUS_SUCCESS && n == 1) {
		got = true;
		ds_event(site, "pinned", "algo=NULL: chose %s",
			 ds_cfg.profile == DS_PROFILE_BATCH_INVARIANT
				 ? "the profile's choice for the shape (batch-invariant)"
				 : "the first unsplit heuristic result");
	}
	pdestroy(p);
	return got;
}

DS_EXPORT ds_cublas_status cublasLtMatmul(
	ds_cublaslt_handle h, ds_cublaslt_matmul_desc d, const void *alpha,
	const void *a, ds_cublaslt_layout A, const void *b, ds_cublaslt_layout B,
	const void *beta, const void *c, ds_cublaslt_layout C, void *dd,
	ds_cublaslt_layout D, const struct ds_cublaslt_algo *algo, void *ws,
	size_t wss, void *stream)
{
	DS_SITE(site, DS_SRC_CUBLAS, "cublasLtMatmul");
	__typeof__(&cublasLtMatmul) real = ds_sym_get(&real_cublasLtMatmul);
	struct ds_cublaslt_heur_result r;
	struct lt_hc x;
	ds_cublas_status st;
	bool on = false, chose = false;

	if (real == NULL)
		return DS_CUBLAS_STATUS_NOT_INITIALIZED;
	if (algo == NULL && ds_active() && ds_enforce(DS_SRC_CUBLAS) &&
	    lt_implicit(&site, h, d, A, B, C, D, wss, &r)) {
		algo = &r.algo;
		chose = true;
	}
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = lt_begin(&x, a, A, b, B, c, C, D, stream);
	st = real(h, d, alpha, a, A, b, B, beta, c, C, dd, D, algo, ws, wss,
		  stream);
	if (on)
		lt_end(&x, &site, d, dd, algo, chose, st);
	return st;
}
