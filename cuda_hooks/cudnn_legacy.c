/*
 * cudnn_legacy.c - cuDNN legacy (imperative) API hooks.
 *
 * PyTorch 2.11 uses these only with TORCH_CUDNN_V8_API_DISABLED=1, but
 * older frameworks and hand-written code still do (research/gpu.md §1):
 *  - cudnnGetConvolution*Algorithm_v7: drop nondeterministic entries
 *    (heuristic order is already reproducible);
 *  - cudnnFindConvolution*Algorithm(Ex): drop nondeterministic entries and
 *    replace this run's timing order by the heuristic order (the v7 list);
 *  - cudnnConvolutionBackward{Data,Filter}: a nondeterministic algorithm
 *    is replaced by the first deterministic one whose workspace fits the
 *    caller's; none fits -> CUDNN_STATUS_NOT_SUPPORTED (never allocate
 *    inside the call: it would break CUDA-graph capture).  The matching
 *    cudnnGet*WorkspaceSize answers cover the substitute, so a caller that
 *    sizes its workspace for ALGO_0 gets room for the replacement;
 *  - pooling mode MAX -> MAX_DETERMINISTIC at descriptor set-up;
 *  - CTC loss NON_DETERMINISTIC -> DETERMINISTIC where it fits;
 *  - cudnnSpatialTfSamplerBackward has no deterministic variant: logged,
 *    and refused under enforce (a loud error, never silent variance).
 * Forward convolution algorithms are all deterministic (NVIDIA's list),
 * so cudnnConvolutionForward is not interposed.
 */
#include "cudnn_core.h"

/* name, parameters, arguments, soname chain.  All return cudnnStatus_t
 * and answer NOT_INITIALIZED when the real one is missing. */
#define DS_CUDNN_LEGACY_HOOKS(X)                                              \
	X(cudnnGetConvolutionForwardAlgorithm_v7,                              \
	  (ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_filter w,            \
	   ds_cudnn_conv c, ds_cudnn_tensor y, int req, int *ret,              \
	   struct ds_cudnn_algo_perf *p),                                      \
	  (h, x, w, c, y, req, ret, p), ds_cudnn_libs_cnn)                     \
	X(cudnnGetConvolutionBackwardDataAlgorithm_v7,                         \
	  (ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,           \
	   ds_cudnn_conv c, ds_cudnn_tensor dx, int req, int *ret,             \
	   struct ds_cudnn_algo_perf *p),                                      \
	  (h, w, dy, c, dx, req, ret, p), ds_cudnn_libs_cnn)                   \
	X(cudnnGetConvolutionBackwardFilterAlgorithm_v7,                       \
	  (ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,           \
	   ds_cudnn_conv c, ds_cudnn_filter dw, int req, int *ret,             \
	   struct ds_cudnn_algo_perf *p),                                      \
	  (h, x, dy, c, dw, req, ret, p), ds_cudnn_libs_cnn)                   \
	X(cudnnFindConvolutionForwardAlgorithm,                                \
	  (ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_filter w,            \
	   ds_cudnn_conv c, ds_cudnn_tensor y, int req, int *ret,              \
	   struct ds_cudnn_algo_perf *p),                                      \
	  (h, x, w, c, y, req, ret, p), ds_cudnn_libs_cnn)                     \
	X(cudnnFindConvolutionBackwardDataAlgorithm,                           \
	  (ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,           \
	   ds_cudnn_conv c, ds_cudnn_tensor dx, int req, int *ret,             \
	   struct ds_cudnn_algo_perf *p),                                      \
	  (h, w, dy, c, dx, req, ret, p), ds_cudnn_libs_cnn)                   \
	X(cudnnFindConvolutionBackwardFilterAlgorithm,                         \
	  (ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,           \
	   ds_cudnn_conv c, ds_cudnn_filter dw, int req, int *ret,             \
	   struct ds_cudnn_algo_perf *p),                                      \
	  (h, x, dy, c, dw, req, ret, p), ds_cudnn_libs_cnn)                   \
	X(cudnnFindConvolutionForwardAlgorithmEx,                              \
	  (ds_cudnn_handle h, ds_cudnn_tensor xd, const void *x,               \
	   ds_cudnn_filter wd, const void *w, ds_cudnn_conv c,                 \
	   ds_cudnn_tensor yd, void *y, int req, int *ret,                     \
	   struct ds_cudnn_algo_perf *p, void *ws, size_t wss),                \
	  (h, xd, x, wd, w, c, yd, y, req, ret, p, ws, wss), ds_cudnn_libs_cnn) \
	X(cudnnFindConvolutionBackwardDataAlgorithmEx,                         \
	  (ds_cudnn_handle h, ds_cudnn_filter wd, const void *w,               \
	   ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,               \
	   ds_cudnn_tensor dxd, void *dx, int req, int *ret,                   \
	   struct ds_cudnn_algo_perf *p, void *ws, size_t wss),                \
	  (h, wd, w, dyd, dy, c, dxd, dx, req, ret, p, ws, wss),               \
	  ds_cudnn_libs_cnn)                                                   \
	X(cudnnFindConvolutionBackwardFilterAlgorithmEx,                       \
	  (ds_cudnn_handle h, ds_cudnn_tensor xd, const void *x,               \
	   ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,               \
	   ds_cudnn_filter dwd, void *dw, int req, int *ret,                   \
	   struct ds_cudnn_algo_perf *p, void *ws, size_t wss),                \
	  (h, xd, x, dyd, dy, c, dwd, dw, req, ret, p, ws, wss),               \
	  ds_cudnn_libs_cnn)                                                   \
	X(cudnnGetConvolutionBackwardDataWorkspaceSize,                        \
	  (ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,           \
	   ds_cudnn_conv c, ds_cudnn_tensor dx, int algo, size_t *size),       \
	  (h, w, dy, c, dx, algo, size), ds_cudnn_libs_cnn)                    \
	X(cudnnGetConvolutionBackwardFilterWorkspaceSize,                      \
	  (ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,           \
	   ds_cudnn_conv c, ds_cudnn_filter dw, int algo, size_t *size),       \
	  (h, x, dy, c, dw, algo, size), ds_cudnn_libs_cnn)                    \
	X(cudnnConvolutionBackwardData,                                        \
	  (ds_cudnn_handle h, const void *alpha, ds_cudnn_filter wd,           \
	   const void *w, ds_cudnn_tensor dyd, const void *dy,                 \
	   ds_cudnn_conv c, int algo, void *ws, size_t wss,                    \
	   const void *beta, ds_cudnn_tensor dxd, void *dx),                   \
	  (h, alpha, wd, w, dyd, dy, c, algo, ws, wss, beta, dxd, dx),         \
	  ds_cudnn_libs_cnn)                                                   \
	X(cudnnConvolutionBackwardFilter,                                      \
	  (ds_cudnn_handle h, const void *alpha, ds_cudnn_tensor xd,           \
	   const void *x, ds_cudnn_tensor dyd, const void *dy,                 \
	   ds_cudnn_conv c, int algo, void *ws, size_t wss,                    \
	   const void *beta, ds_cudnn_filter dwd, void *dw),                   \
	  (h, alpha, xd, x, dyd, dy, c, algo, ws, wss, beta, dwd, dw),         \
	  ds_cudnn_libs_cnn)                                                   \
	X(cudnnSetPooling2dDescriptor,                                         \
	  (ds_cudnn_pooling d, int mode, int nan, int wh, int ww, int ph,      \
	   int pw, int sh, int sw),                                            \
	  (d, mode, nan, wh, ww, ph, pw, sh, sw), ds_cudnn_libs_ops)           \
	X(cudnnSetPoolingNdDescriptor,                                         \
	  (ds_cudnn_pooling d, int mode, int nan, int nb, const int *win,      \
	   const int *pad, const int *stride),                                 \
	  (d, mode, nan, nb, win, pad, stride), ds_cudnn_libs_ops)             \
	X(cudnnSpatialTfSamplerBackward,                                       \
	  (ds_cudnn_handle h, ds_cudnn_st st, const void *alpha,               \
	   ds_cudnn_tensor xd, const void *x, const void *beta,                \
	   ds_cudnn_tensor dxd, void *dx, const void *alpha_g,                 \
	   ds_cudnn_tensor dyd, const void *dy, const void *grid,              \
	   const void *beta_g, void *dgrid),                                   \
	  (h, st, alpha, xd, x, beta, dxd, dx, alpha_g, dyd, dy, grid, beta_g, \
	   dgrid), ds_cudnn_libs_ops)                                          \
	X(cudnnGetCTCLossWorkspaceSize,                                        \
	  (ds_cudnn_handle h, ds_cudnn_tensor pd, ds_cudnn_tensor gd,          \
	   const int *labels, const int *llen, const int *ilen, int algo,      \
	   ds_cudnn_ctc ctc, size_t *size),                                    \
	  (h, pd, gd, labels, llen, ilen, algo, ctc, size), ds_cudnn_libs_adv) \
	X(cudnnGetCTCLossWorkspaceSize_v8,                                     \
	  (ds_cudnn_handle h, int algo, ds_cudnn_ctc ctc, ds_cudnn_tensor pd,  \
	   ds_cudnn_tensor gd, size_t *size),                                  \
	  (h, algo, ctc, pd, gd, size), ds_cudnn_libs_adv)                     \
	X(cudnnCTCLoss,                                                        \
	  (ds_cudnn_handle h, ds_cudnn_tensor pd, const void *probs,           \
	   const int *labels, const int *llen, const int *ilen, void *costs,   \
	   ds_cudnn_tensor gd, void *grads, int algo, ds_cudnn_ctc ctc,        \
	   void *ws, size_t wss),                                              \
	  (h, pd, probs, labels, llen, ilen, costs, gd, grads, algo, ctc, ws,  \
	   wss), ds_cudnn_libs_adv)                                            \
	X(cudnnCTCLoss_v8,                                                     \
	  (ds_cudnn_handle h, int algo, ds_cudnn_ctc ctc, ds_cudnn_tensor pd,  \
	   const void *probs, const int *labels, const int *llen,              \
	   const int *ilen, void *costs, ds_cudnn_tensor gd, void *grads,      \
	   size_t wss, void *ws),                                              \
	  (h, algo, ctc, pd, probs, labels, llen, ilen, costs, gd, grads, wss, \
	   ws), ds_cudnn_libs_adv)

#define X_DECL(name, params, args, libs)                                      \
	typedef ds_cudnn_status(*name##_fn) params;                            \
	static struct ds_cudnn_real real_##name =                              \
		DS_CUDNN_REAL_INIT(#name, libs);
DS_CUDNN_LEGACY_HOOKS(X_DECL)
#undef X_DECL

#define REAL(name) ((name##_fn)ds_cudnn_real_get(&real_##name))
#define REF_MAX 32 /* heuristic entries fetched to order Find results */

static const char *const kind_name[] = { "fwd", "bwd_data", "bwd_filter" };

/* Filter a Get_v7 result (no reordering: heuristic order is stable). */
static void filter_get(enum ds_cudnn_conv_kind kind, int *ret,
		       struct ds_cudnn_algo_perf *p)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnGetConvolutionAlgorithm_v7");
	int before, after, i, nd = 0;

	if (ret == NULL || p == NULL || *ret <= 0)
		return;
	before = *ret;
	for (i = 0; i < before && i < 64; i++)
		nd += ds_cudnn_perf_nondet(kind, &p[i]);
	if (nd == 0)
		return;
	if (!ds_enforce(DS_SRC_CUDNN)) {
		ds_event(&site, "observed", "%s: %d of %d results nondeterministic",
			 kind_name[kind], nd, before);
		return;
	}
	after = ds_cudnn_perf_filter(kind, p, before, NULL, 0, false, false);
	*ret = after;
	ds_event(&site, "filtered", "%s: dropped %d nondeterministic of %d",
		 kind_name[kind], before - after, before);
}

/* Filter and reorder a Find result by the heuristic list in ref. */
static void order_find(enum ds_cudnn_conv_kind kind, int *ret,
		       struct ds_cudnn_algo_perf *p,
		       const struct ds_cudnn_algo_perf *ref, int nref)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnFindConvolutionAlgorithm");
	int before, first;

	if (ret == NULL || p == NULL || *ret <= 0)
		return;
	before = *ret;
	first = p[0].algo;
	if (!ds_enforce(DS_SRC_CUDNN)) {
		ds_event(&site, "observed", "%s: %d results in timing order",
			 kind_name[kind], before);
		return;
	}
	*ret = ds_cudnn_perf_filter(kind, p, before, ref, nref, true, true);
	ds_event(&site, "reordered",
		 "%s: %d results (%d kept) in heuristic order; first %d -> %d",
		 kind_name[kind], before, *ret, first, *ret ? p[0].algo : -1);
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionForwardAlgorithm_v7(
	ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_filter w,
	ds_cudnn_conv c, ds_cudnn_tensor y, int req, int *ret,
	struct ds_cudnn_algo_perf *p)
{
	cudnnGetConvolutionForwardAlgorithm_v7_fn f =
		REAL(cudnnGetConvolutionForwardAlgorithm_v7);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, x, w, c, y, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && ds_active() &&
	    ds_watch(DS_SRC_CUDNN))
		filter_get(DS_CUDNN_CONV_FWD, ret, p);
	return st;
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardDataAlgorithm_v7(
	ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_tensor dx, int req, int *ret,
	struct ds_cudnn_algo_perf *p)
{
	cudnnGetConvolutionBackwardDataAlgorithm_v7_fn f =
		REAL(cudnnGetConvolutionBackwardDataAlgorithm_v7);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, w, dy, c, dx, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && ds_active() &&
	    ds_watch(DS_SRC_CUDNN))
		filter_get(DS_CUDNN_CONV_BWD_DATA, ret, p);
	return st;
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardFilterAlgorithm_v7(
	ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_filter dw, int req, int *ret,
	struct ds_cudnn_algo_perf *p)
{
	cudnnGetConvolutionBackwardFilterAlgorithm_v7_fn f =
		REAL(cudnnGetConvolutionBackwardFilterAlgorithm_v7);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, x, dy, c, dw, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && ds_active() &&
	    ds_watch(DS_SRC_CUDNN))
		filter_get(DS_CUDNN_CONV_BWD_FILTER, ret, p);
	return st;
}

/* The heuristic list for the same descriptors, through the real Get_v7
 * (never our hook: its filtering would not matter, but its log would). */
static int heur_fwd(ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_filter w,
		    ds_cudnn_conv c, ds_cudnn_tensor y,
		    struct ds_cudnn_algo_perf *ref)
{
	cudnnGetConvolutionForwardAlgorithm_v7_fn g =
		REAL(cudnnGetConvolutionForwardAlgorithm_v7);
	int n = 0;

	if (g == NULL || g(h, x, w, c, y, REF_MAX, &n, ref) != 0)
		return 0;
	return n;
}

static int heur_bwd_data(ds_cudnn_handle h, ds_cudnn_filter w,
			 ds_cudnn_tensor dy, ds_cudnn_conv c, ds_cudnn_tensor dx,
			 struct ds_cudnn_algo_perf *ref)
{
	cudnnGetConvolutionBackwardDataAlgorithm_v7_fn g =
		REAL(cudnnGetConvolutionBackwardDataAlgorithm_v7);
	int n = 0;

	if (g == NULL || g(h, w, dy, c, dx, REF_MAX, &n, ref) != 0)
		return 0;
	return n;
}

static int heur_bwd_filter(ds_cudnn_handle h, ds_cudnn_tensor x,
			   ds_cudnn_tensor dy, ds_cudnn_conv c,
			   ds_cudnn_filter dw, struct ds_cudnn_algo_perf *ref)
{
	cudnnGetConvolutionBackwardFilterAlgorithm_v7_fn g =
		REAL(cudnnGetConvolutionBackwardFilterAlgorithm_v7);
	int n = 0;

	if (g == NULL || g(h, x, dy, c, dw, REF_MAX, &n, ref) != 0)
		return 0;
	return n;
}

static bool legacy_on(void)
{
	return ds_active() && ds_watch(DS_SRC_CUDNN);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionForwardAlgorithm(
	ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_filter w,
	ds_cudnn_conv c, ds_cudnn_tensor y, int req, int *ret,
	struct ds_cudnn_algo_perf *p)
{
	cudnnFindConvolutionForwardAlgorithm_fn f =
		REAL(cudnnFindConvolutionForwardAlgorithm);
	struct ds_cudnn_algo_perf ref[REF_MAX];
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, x, w, c, y, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		order_find(DS_CUDNN_CONV_FWD, ret, p, ref,
			   heur_fwd(h, x, w, c, y, ref));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardDataAlgorithm(
	ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_tensor dx, int req, int *ret,
	struct ds_cudnn_algo_perf *p)
{
	cudnnFindConvolutionBackwardDataAlgorithm_fn f =
		REAL(cudnnFindConvolutionBackwardDataAlgorithm);
	struct ds_cudnn_algo_perf ref[REF_MAX];
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, w, dy, c, dx, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		order_find(DS_CUDNN_CONV_BWD_DATA, ret, p, ref,
			   heur_bwd_data(h, w, dy, c, dx, ref));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardFilterAlgorithm(
	ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_filter dw, int req, int *ret,
	struct ds_cudnn_algo_perf *p)
{
	cudnnFindConvolutionBackwardFilterAlgorithm_fn f =
		REAL(cudnnFindConvolutionBackwardFilterAlgorithm);
	struct ds_cudnn_algo_perf ref[REF_MAX];
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, x, dy, c, dw, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		order_find(DS_CUDNN_CONV_BWD_FILTER, ret, p, ref,
			   heur_bwd_filter(h, x, dy, c, dw, ref));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionForwardAlgorithmEx(
	ds_cudnn_handle h, ds_cudnn_tensor xd, const void *x,
	ds_cudnn_filter wd, const void *w, ds_cudnn_conv c, ds_cudnn_tensor yd,
	void *y, int req, int *ret, struct ds_cudnn_algo_perf *p, void *ws,
	size_t wss)
{
	cudnnFindConvolutionForwardAlgorithmEx_fn f =
		REAL(cudnnFindConvolutionForwardAlgorithmEx);
	struct ds_cudnn_algo_perf ref[REF_MAX];
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, xd, x, wd, w, c, yd, y, req, ret, p, ws, wss);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		order_find(DS_CUDNN_CONV_FWD, ret, p, ref,
			   heur_fwd(h, xd, wd, c, yd, ref));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardDataAlgorithmEx(
	ds_cudnn_handle h, ds_cudnn_filter wd, const void *w,
	ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,
	ds_cudnn_tensor dxd, void *dx, int req, int *ret,
	struct ds_cudnn_algo_perf *p, void *ws, size_t wss)
{
	cudnnFindConvolutionBackwardDataAlgorithmEx_fn f =
		REAL(cudnnFindConvolutionBackwardDataAlgorithmEx);
	struct ds_cudnn_algo_perf ref[REF_MAX];
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, wd, w, dyd, dy, c, dxd, dx, req, ret, p, ws, wss);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		order_find(DS_CUDNN_CONV_BWD_DATA, ret, p, ref,
			   heur_bwd_data(h, wd, dyd, c, dxd, ref));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardFilterAlgorithmEx(
	ds_cudnn_handle h, ds_cudnn_tensor xd, const void *x,
	ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,
	ds_cudnn_filter dwd, void *dw, int req, int *ret,
	struct ds_cudnn_algo_perf *p, void *ws, size_t wss)
{
	cudnnFindConvolutionBackwardFilterAlgorithmEx_fn f =
		REAL(cudnnFindConvolutionBackwardFilterAlgorithmEx);
	struct ds_cudnn_algo_perf ref[REF_MAX];
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, xd, x, dyd, dy, c, dwd, dw, req, ret, p, ws, wss);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		order_find(DS_CUDNN_CONV_BWD_FILTER, ret, p, ref,
			   heur_bwd_filter(h, xd, dyd, c, dwd, ref));
	return st;
}

/* ------------------------------------------------------------------ */
/* Workspace queries and execution of backward convolutions. */

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardDataWorkspaceSize(
	ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_tensor dx, int algo, size_t *size)
{
	cudnnGetConvolutionBackwardDataWorkspaceSize_fn f =
		REAL(cudnnGetConvolutionBackwardDataWorkspaceSize);
	ds_cudnn_status st;
	const int *sub;
	int i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, w, dy, c, dx, algo, size);
	if (st != DS_CUDNN_STATUS_SUCCESS || size == NULL || !legacy_on() ||
	    !ds_enforce(DS_SRC_CUDNN) ||
	    !ds_cudnn_algo_nondet(DS_CUDNN_CONV_BWD_DATA, algo))
		return st;
	/* Room for the substitute the execution hook will pick. */
	sub = ds_cudnn_substitutes(DS_CUDNN_CONV_BWD_DATA, &n);
	for (i = 0; i < n; i++) {
		size_t s = 0;

		if (f(h, w, dy, c, dx, sub[i], &s) == DS_CUDNN_STATUS_SUCCESS) {
			if (s > *size)
				*size = s;
			break;
		}
	}
	return st;
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardFilterWorkspaceSize(
	ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_filter dw, int algo, size_t *size)
{
	cudnnGetConvolutionBackwardFilterWorkspaceSize_fn f =
		REAL(cudnnGetConvolutionBackwardFilterWorkspaceSize);
	ds_cudnn_status st;
	const int *sub;
	int i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, x, dy, c, dw, algo, size);
	if (st != DS_CUDNN_STATUS_SUCCESS || size == NULL || !legacy_on() ||
	    !ds_enforce(DS_SRC_CUDNN) ||
	    !ds_cudnn_algo_nondet(DS_CUDNN_CONV_BWD_FILTER, algo))
		return st;
	sub = ds_cudnn_substitutes(DS_CUDNN_CONV_BWD_FILTER, &n);
	for (i = 0; i < n; i++) {
		size_t s = 0;

		if (f(h, x, dy, c, dw, sub[i], &s) == DS_CUDNN_STATUS_SUCCESS) {
			if (s > *size)
				*size = s;
			break;
		}
	}
	return st;
}

DS_EXPORT ds_cudnn_status cudnnConvolutionBackwardData(
	ds_cudnn_handle h, const void *alpha, ds_cudnn_filter wd,
	const void *w, ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,
	int algo, void *ws, size_t wss, const void *beta, ds_cudnn_tensor dxd,
	void *dx)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnConvolutionBackwardData");
	cudnnConvolutionBackwardData_fn f = REAL(cudnnConvolutionBackwardData);
	cudnnGetConvolutionBackwardDataWorkspaceSize_fn q =
		REAL(cudnnGetConvolutionBackwardDataWorkspaceSize);
	ds_cudnn_status st;
	const int *sub;
	int i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (!legacy_on() || !ds_cudnn_algo_nondet(DS_CUDNN_CONV_BWD_DATA, algo))
		return f(h, alpha, wd, w, dyd, dy, c, algo, ws, wss, beta, dxd, dx);
	if (!ds_enforce(DS_SRC_CUDNN) || q == NULL) {
		ds_event(&site, "observed", "nondeterministic algo %d", algo);
		return f(h, alpha, wd, w, dyd, dy, c, algo, ws, wss, beta, dxd, dx);
	}
	sub = ds_cudnn_substitutes(DS_CUDNN_CONV_BWD_DATA, &n);
	for (i = 0; i < n; i++) {
		size_t need = 0;

		if (q(h, wd, dyd, c, dxd, sub[i], &need) != 0 || need > wss)
			continue;
		st = f(h, alpha, wd, w, dyd, dy, c, sub[i], ws, wss, beta, dxd,
		       dx);
		if (st == DS_CUDNN_STATUS_NOT_SUPPORTED)
			continue;
		ds_event(&site, "replaced", "algo %d -> %d (workspace %zu of %zu)",
			 algo, sub[i], need, wss);
		return st;
	}
	ds_event(&site, "error",
		 "algo %d nondeterministic and no deterministic algorithm fits "
		 "workspace %zu", algo, wss);
	ds_warn("cudnnConvolutionBackwardData: nondeterministic algorithm %d "
		"and no deterministic one fits the %zu-byte workspace; refused",
		algo, wss);
	return DS_CUDNN_STATUS_NOT_SUPPORTED;
}

DS_EXPORT ds_cudnn_status cudnnConvolutionBackwardFilter(
	ds_cudnn_handle h, const void *alpha, ds_cudnn_tensor xd,
	const void *x, ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,
	int algo, void *ws, size_t wss, const void *beta, ds_cudnn_filter dwd,
	void *dw)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnConvolutionBackwardFilter");
	cudnnConvolutionBackwardFilter_fn f =
		REAL(cudnnConvolutionBackwardFilter);
	cudnnGetConvolutionBackwardFilterWorkspaceSize_fn q =
		REAL(cudnnGetConvolutionBackwardFilterWorkspaceSize);
	ds_cudnn_status st;
	const int *sub;
	int i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (!legacy_on() ||
	    !ds_cudnn_algo_nondet(DS_CUDNN_CONV_BWD_FILTER, algo))
		return f(h, alpha, xd, x, dyd, dy, c, algo, ws, wss, beta, dwd, dw);
	if (!ds_enforce(DS_SRC_CUDNN) || q == NULL) {
		ds_event(&site, "observed", "nondeterministic algo %d", algo);
		return f(h, alpha, xd, x, dyd, dy, c, algo, ws, wss, beta, dwd, dw);
	}
	sub = ds_cudnn_substitutes(DS_CUDNN_CONV_BWD_FILTER, &n);
	for (i = 0; i < n; i++) {
		size_t need = 0;

		if (q(h, xd, dyd, c, dwd, sub[i], &need) != 0 || need > wss)
			continue;
		st = f(h, alpha, xd, x, dyd, dy, c, sub[i], ws, wss, beta, dwd,
		       dw);
		if (st == DS_CUDNN_STATUS_NOT_SUPPORTED)
			continue;
		ds_event(&site, "replaced", "algo %d -> %d (workspace %zu of %zu)",
			 algo, sub[i], need, wss);
		return st;
	}
	ds_event(&site, "error",
		 "algo %d nondeterministic and no deterministic algorithm fits "
		 "workspace %zu", algo, wss);
	ds_warn("cudnnConvolutionBackwardFilter: nondeterministic algorithm %d "
		"and no deterministic one fits the %zu-byte workspace; refused",
		algo, wss);
	return DS_CUDNN_STATUS_NOT_SUPPORTED;
}

/* ------------------------------------------------------------------ */
/* Pooling, spatial transformer, CTC loss. */

static int pool_mode(int mode)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnSetPoolingDescriptor");

	if (mode != DS_CUDNN_POOLING_MAX || !legacy_on())
		return mode;
	if (!ds_enforce(DS_SRC_CUDNN)) {
		ds_event(&site, "observed", "CUDNN_POOLING_MAX (nondeterministic "
			 "backward)");
		return mode;
	}
	/* Same forward values; the backward routes ties deterministically
	 * (research/gpu.md §1.4). */
	ds_event(&site, "replaced", "CUDNN_POOLING_MAX -> "
		 "CUDNN_POOLING_MAX_DETERMINISTIC");
	return DS_CUDNN_POOLING_MAX_DETERMINISTIC;
}

DS_EXPORT ds_cudnn_status cudnnSetPooling2dDescriptor(ds_cudnn_pooling d,
						      int mode, int nan, int wh,
						      int ww, int ph, int pw,
						      int sh, int sw)
{
	cudnnSetPooling2dDescriptor_fn f = REAL(cudnnSetPooling2dDescriptor);

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	return f(d, pool_mode(mode), nan, wh, ww, ph, pw, sh, sw);
}

DS_EXPORT ds_cudnn_status cudnnSetPoolingNdDescriptor(ds_cudnn_pooling d,
						      int mode, int nan, int nb,
						      const int *win,
						      const int *pad,
						      const int *stride)
{
	cudnnSetPoolingNdDescriptor_fn f = REAL(cudnnSetPoolingNdDescriptor);

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	return f(d, pool_mode(mode), nan, nb, win, pad, stride);
}

DS_EXPORT ds_cudnn_status cudnnSpatialTfSamplerBackward(
	ds_cudnn_handle h, ds_cudnn_st st, const void *alpha,
	ds_cudnn_tensor xd, const void *x, const void *beta,
	ds_cudnn_tensor dxd, void *dx, const void *alpha_g, ds_cudnn_tensor dyd,
	const void *dy, const void *grid, const void *beta_g, void *dgrid)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnSpatialTfSamplerBackward");
	cudnnSpatialTfSamplerBackward_fn f = REAL(cudnnSpatialTfSamplerBackward);
	static atomic_int warned;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (legacy_on()) {
		if (ds_enforce(DS_SRC_CUDNN)) {
			ds_event(&site, "refused", "nondeterministic, no "
				 "deterministic variant in cuDNN");
			if (atomic_exchange(&warned, 1) == 0)
				ds_warn("cudnnSpatialTfSamplerBackward is "
					"nondeterministic and has no "
					"deterministic variant; refused "
					"(DETSHIM_POLICY=warn lets it run)");
			return DS_CUDNN_STATUS_NOT_SUPPORTED;
		}
		ds_event(&site, "observed", "nondeterministic, no deterministic "
			 "variant in cuDNN");
	}
	return f(h, st, alpha, xd, x, beta, dxd, dx, alpha_g, dyd, dy, grid,
		 beta_g, dgrid);
}

/* CTC: the deterministic algorithm has input limits (label length etc.);
 * where its workspace query fails it is not usable and the original runs,
 * logged as nondeterministic. */
DS_EXPORT ds_cudnn_status cudnnGetCTCLossWorkspaceSize(
	ds_cudnn_handle h, ds_cudnn_tensor pd, ds_cudnn_tensor gd,
	const int *labels, const int *llen, const int *ilen, int algo,
	ds_cudnn_ctc ctc, size_t *size)
{
	cudnnGetCTCLossWorkspaceSize_fn f = REAL(cudnnGetCTCLossWorkspaceSize);
	ds_cudnn_status st;
	size_t s = 0;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, pd, gd, labels, llen, ilen, algo, ctc, size);
	if (st == DS_CUDNN_STATUS_SUCCESS && size && legacy_on() &&
	    ds_enforce(DS_SRC_CUDNN) &&
	    algo == DS_CUDNN_CTC_LOSS_ALGO_NON_DETERMINISTIC &&
	    f(h, pd, gd, labels, llen, ilen,
	      DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC, ctc, &s) == 0 && s > *size)
		*size = s;
	return st;
}

DS_EXPORT ds_cudnn_status cudnnGetCTCLossWorkspaceSize_v8(
	ds_cudnn_handle h, int algo, ds_cudnn_ctc ctc, ds_cudnn_tensor pd,
	ds_cudnn_tensor gd, size_t *size)
{
	cudnnGetCTCLossWorkspaceSize_v8_fn f =
		REAL(cudnnGetCTCLossWorkspaceSize_v8);
	ds_cudnn_status st;
	size_t s = 0;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, algo, ctc, pd, gd, size);
	if (st == DS_CUDNN_STATUS_SUCCESS && size && legacy_on() &&
	    ds_enforce(DS_SRC_CUDNN) &&
	    algo == DS_CUDNN_CTC_LOSS_ALGO_NON_DETERMINISTIC &&
	    f(h, DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC, ctc, pd, gd, &s) == 0 &&
	    s > *size)
		*size = s;
	return st;
}

DS_EXPORT ds_cudnn_status cudnnCTCLoss(ds_cudnn_handle h, ds_cudnn_tensor pd,
				       const void *probs, const int *labels,
				       const int *llen, const int *ilen,
				       void *costs, ds_cudnn_tensor gd,
				       void *grads, int algo, ds_cudnn_ctc ctc,
				       void *ws, size_t wss)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnCTCLoss");
	cudnnCTCLoss_fn f = REAL(cudnnCTCLoss);
	cudnnGetCTCLossWorkspaceSize_fn q = REAL(cudnnGetCTCLossWorkspaceSize);
	size_t need = 0;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (algo == DS_CUDNN_CTC_LOSS_ALGO_NON_DETERMINISTIC && legacy_on()) {
		if (ds_enforce(DS_SRC_CUDNN) && q &&
		    q(h, pd, gd, labels, llen, ilen,
		      DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC, ctc, &need) == 0 &&
		    need <= wss) {
			ds_event(&site, "replaced", "CTC algo 1 -> 0");
			return f(h, pd, probs, labels, llen, ilen, costs, gd,
				 grads, DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC,
				 ctc, ws, wss);
		}
		ds_event(&site, "observed", "CTC algo 1 (nondeterministic) kept: "
			 "deterministic algo unavailable or workspace too small");
	}
	return f(h, pd, probs, labels, llen, ilen, costs, gd, grads, algo, ctc,
		 ws, wss);
}

DS_EXPORT ds_cudnn_status cudnnCTCLoss_v8(ds_cudnn_handle h, int algo,
					  ds_cudnn_ctc ctc, ds_cudnn_tensor pd,
					  const void *probs, const int *labels,
					  const int *llen, const int *ilen,
					  void *costs, ds_cudnn_tensor gd,
					  void *grads, size_t wss, void *ws)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnCTCLoss_v8");
	cudnnCTCLoss_v8_fn f = REAL(cudnnCTCLoss_v8);
	cudnnGetCTCLossWorkspaceSize_v8_fn q =
		REAL(cudnnGetCTCLossWorkspaceSize_v8);
	size_t need = 0;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (algo == DS_CUDNN_CTC_LOSS_ALGO_NON_DETERMINISTIC && legacy_on()) {
		if (ds_enforce(DS_SRC_CUDNN) && q &&
		    q(h, DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC, ctc, pd, gd,
		      &need) == 0 && need <= wss) {
			ds_event(&site, "replaced", "CTC algo 1 -> 0");
			return f(h, DS_CUDNN_CTC_LOSS_ALGO_DETERMINISTIC, ctc, pd,
				 probs, labels, llen, ilen, costs, gd, grads,
				 wss, ws);
		}
		ds_event(&site, "observed", "CTC algo 1 (nondeterministic) kept: "
			 "deterministic algo unavailable or workspace too small");
	}
	return f(h, algo, ctc, pd, probs, labels, llen, ilen, costs, gd, grads,
		 wss, ws);
}
