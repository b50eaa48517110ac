/*
 * cudnn_legacy.c - cuDNN legacy (imperative) API hooks.
 *
 * PyTorch 2.11 uses these only with TORCH_CUDNN_V8_API_DISABLED=1, but
 * older frameworks and hand-written code still do (docs/GPU_FACTS.md §1):
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
 * Forward convolution algorithms are all deterministic (NVIDIA's list):
 * cudnnConvolutionForward is interposed for call hashing only.  With
 * gpu.hash_calls on, each of the three convolutions logs a "hashed"
 * event: both operands and the output before the call (beta may read
 * it), the output after it, sized by cudnnGet{Tensor,Filter}SizeInBytes
 * (hash_calls.h).
 */
#include "cudnn_core.h"

#include "hash_calls.h"

/*
 * The convolution hooks come in families of one function per kind (fwd,
 * bwd_data, bwd_filter).  cuDNN's descriptors are all opaque pointers, so
 * the three members of a family have one C signature (the typedefs
 * below): one table indexed by kind (families[]) holds every family's
 * real function, one body per family does the work, and each exported
 * member is a one-line definition naming its kind.  The
 * descriptors keep cuDNN's order, named here by position: (a, b, conv, d)
 * is (x, w, conv, y) forward, (w, dy, conv, dx) for backward data and
 * (x, dy, conv, dw) for backward filter.
 */
typedef ds_cudnn_status (*get_v7_fn)(ds_cudnn_handle, void *, void *,
				     ds_cudnn_conv, void *, int, int *,
				     struct ds_cudnn_algo_perf *);
typedef get_v7_fn find_fn; /* cudnnFind*Algorithm: the same signature */
typedef ds_cudnn_status (*find_ex_fn)(ds_cudnn_handle, void *, const void *,
				      void *, const void *, ds_cudnn_conv,
				      void *, void *, int, int *,
				      struct ds_cudnn_algo_perf *, void *,
				      size_t);
typedef ds_cudnn_status (*ws_size_fn)(ds_cudnn_handle, void *, void *,
				      ds_cudnn_conv, void *, int, size_t *);
typedef ds_cudnn_status (*exec_fn)(ds_cudnn_handle, const void *, void *,
				   const void *, void *, const void *,
				   ds_cudnn_conv, int, void *, size_t,
				   const void *, void *, void *);

/* cuDNN 9's sub-libraries (libcudnn.so.9 re-exports them), then cuDNN 8's. */
static const char *const cudnn_cnn_libs[] = {
	"libcudnn.so.9", "libcudnn_cnn.so.9", "libcudnn.so.8",
	"libcudnn_cnn_train.so.8", "libcudnn_cnn_infer.so.8", NULL
};
static const char *const cudnn_ops_libs[] = {
	"libcudnn.so.9", "libcudnn_ops.so.9", "libcudnn.so.8",
	"libcudnn_ops_train.so.8", "libcudnn_ops_infer.so.8", NULL
};
static const char *const cudnn_adv_libs[] = {
	"libcudnn.so.9", "libcudnn_adv.so.9", "libcudnn.so.8",
	"libcudnn_adv_train.so.8", "libcudnn_adv_infer.so.8", NULL
};

#define CNN_SYM(name) DS_SYM_INIT(cudnn_cnn_libs, DS_SRC_CUDNN, name)

/* The convolution families, one row per kind: its name in the log and the
 * real function of each family.  Forward algorithms are all deterministic:
 * forward has no workspace hook (a NULL name, never called), and its
 * execution only passes through (and is hashed). */
static struct conv_family {
	const char *kind;
	struct ds_sym get_v7, find, find_ex, ws_size, exec;
} families[] = {
	[DS_CUDNN_CONV_FWD] = {
		"fwd",
		CNN_SYM("cudnnGetConvolutionForwardAlgorithm_v7"),
		CNN_SYM("cudnnFindConvolutionForwardAlgorithm"),
		CNN_SYM("cudnnFindConvolutionForwardAlgorithmEx"),
		CNN_SYM(NULL),
		CNN_SYM("cudnnConvolutionForward"),
	},
	[DS_CUDNN_CONV_BWD_DATA] = {
		"bwd_data",
		CNN_SYM("cudnnGetConvolutionBackwardDataAlgorithm_v7"),
		CNN_SYM("cudnnFindConvolutionBackwardDataAlgorithm"),
		CNN_SYM("cudnnFindConvolutionBackwardDataAlgorithmEx"),
		CNN_SYM("cudnnGetConvolutionBackwardDataWorkspaceSize"),
		CNN_SYM("cudnnConvolutionBackwardData"),
	},
	[DS_CUDNN_CONV_BWD_FILTER] = {
		"bwd_filter",
		CNN_SYM("cudnnGetConvolutionBackwardFilterAlgorithm_v7"),
		CNN_SYM("cudnnFindConvolutionBackwardFilterAlgorithm"),
		CNN_SYM("cudnnFindConvolutionBackwardFilterAlgorithmEx"),
		CNN_SYM("cudnnGetConvolutionBackwardFilterWorkspaceSize"),
		CNN_SYM("cudnnConvolutionBackwardFilter"),
	},
};

/* The other hooks, one row per definition below, by the sub-library that
 * defines them.  All return cudnnStatus_t and answer
 * CUDNN_STATUS_NOT_INITIALIZED when the real one is loaded nowhere. */
#define DS_CUDNN_OPS_HOOKS(X)                                                 \
	X(cudnnSetPooling2dDescriptor)                                         \
	X(cudnnSetPoolingNdDescriptor)                                         \
	X(cudnnSpatialTfSamplerBackward)
#define DS_CUDNN_ADV_HOOKS(X)                                                 \
	X(cudnnGetCTCLossWorkspaceSize)                                        \
	X(cudnnGetCTCLossWorkspaceSize_v8)                                     \
	X(cudnnCTCLoss)                                                        \
	X(cudnnCTCLoss_v8)

#define DS_OPS_SLOT(name)                                                     \
	static struct ds_sym real_##name =                                     \
		DS_SYM_INIT(cudnn_ops_libs, DS_SRC_CUDNN, #name);
#define DS_ADV_SLOT(name)                                                     \
	static struct ds_sym real_##name =                                     \
		DS_SYM_INIT(cudnn_adv_libs, DS_SRC_CUDNN, #name);
/* Only called (call hashing: stream, buffer sizes, shapes). */
#define DS_CUDNN_OPS_CALLS(X)                                                 \
	X(cudnnGetStream)                                                      \
	X(cudnnGetTensorSizeInBytes)                                           \
	X(cudnnGetFilterSizeInBytes)                                           \
	X(cudnnGetTensorNdDescriptor)                                          \
	X(cudnnGetFilterNdDescriptor)

ds_cudnn_status cudnnGetStream(ds_cudnn_handle h, void **stream);
ds_cudnn_status cudnnGetTensorSizeInBytes(ds_cudnn_tensor d, size_t *size);
ds_cudnn_status cudnnGetFilterSizeInBytes(ds_cudnn_filter d, size_t *size);
ds_cudnn_status cudnnGetTensorNdDescriptor(ds_cudnn_tensor d, int req,
					   int *type, int *nd, int dims[],
					   int strides[]);
ds_cudnn_status cudnnGetFilterNdDescriptor(ds_cudnn_filter d, int req,
					   int *type, int *format, int *nd,
					   int dims[]);

DS_CUDNN_OPS_HOOKS(DS_OPS_SLOT)
DS_CUDNN_OPS_CALLS(DS_OPS_SLOT)
DS_CUDNN_ADV_HOOKS(DS_ADV_SLOT)
#undef DS_OPS_SLOT
#undef DS_ADV_SLOT

#define REF_MAX 32 /* heuristic entries fetched to order Find results */

static bool legacy_on(void)
{
	return ds_active() && ds_watch(DS_SRC_CUDNN);
}

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
			 families[kind].kind, nd, before);
		return;
	}
	after = ds_cudnn_perf_filter(kind, p, before, NULL, 0, false, false);
	*ret = after;
	ds_event(&site, "filtered", "%s: dropped %d nondeterministic of %d",
		 families[kind].kind, before - after, before);
}

/* The heuristic list for the same descriptors, through the real Get_v7
 * (never our hook: its filtering would not matter, but its log would). */
static int heuristic(enum ds_cudnn_conv_kind kind, ds_cudnn_handle h, void *a,
		     void *b, ds_cudnn_conv c, void *d,
		     struct ds_cudnn_algo_perf *ref)
{
	get_v7_fn g = ds_sym_get(&families[kind].get_v7);
	int n = 0;

	if (g == NULL || g(h, a, b, c, d, REF_MAX, &n, ref) != 0)
		return 0;
	return n;
}

/* Filter and reorder a successful Find result by the heuristic order. */
static void order_find(enum ds_cudnn_conv_kind kind, ds_cudnn_handle h,
		       void *a, void *b, ds_cudnn_conv c, void *d, int *ret,
		       struct ds_cudnn_algo_perf *p)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnFindConvolutionAlgorithm");
	struct ds_cudnn_algo_perf ref[REF_MAX];
	int before, first, nref;

	if (!legacy_on() || ret == NULL || p == NULL || *ret <= 0)
		return;
	before = *ret;
	first = p[0].algo;
	if (!ds_enforce(DS_SRC_CUDNN)) {
		ds_event(&site, "observed", "%s: %d results in timing order",
			 families[kind].kind, before);
		return;
	}
	nref = heuristic(kind, h, a, b, c, d, ref);
	*ret = ds_cudnn_perf_filter(kind, p, before, ref, nref, true, true);
	ds_event(&site, "reordered",
		 "%s: %d results (%d kept) in heuristic order; first %d -> %d",
		 families[kind].kind, before, *ret, first, *ret ? p[0].algo : -1);
}

static ds_cudnn_status get_v7(enum ds_cudnn_conv_kind kind, ds_cudnn_handle h,
			      void *a, void *b, ds_cudnn_conv c, void *d,
			      int req, int *ret, struct ds_cudnn_algo_perf *p)
{
	get_v7_fn f = ds_sym_get(&families[kind].get_v7);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, a, b, c, d, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS && legacy_on())
		filter_get(kind, ret, p);
	return st;
}

static ds_cudnn_status find(enum ds_cudnn_conv_kind kind, ds_cudnn_handle h,
			    void *a, void *b, ds_cudnn_conv c, void *d, int req,
			    int *ret, struct ds_cudnn_algo_perf *p)
{
	find_fn f = ds_sym_get(&families[kind].find);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, a, b, c, d, req, ret, p);
	if (st == DS_CUDNN_STATUS_SUCCESS)
		order_find(kind, h, a, b, c, d, ret, p);
	return st;
}

static ds_cudnn_status find_ex(enum ds_cudnn_conv_kind kind, ds_cudnn_handle h,
			       void *ad, const void *a, void *bd, const void *b,
			       ds_cudnn_conv c, void *dd, void *d, int req,
			       int *ret, struct ds_cudnn_algo_perf *p, void *ws,
			       size_t wss)
{
	find_ex_fn f = ds_sym_get(&families[kind].find_ex);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, ad, a, bd, b, c, dd, d, req, ret, p, ws, wss);
	if (st == DS_CUDNN_STATUS_SUCCESS)
		order_find(kind, h, ad, bd, c, dd, ret, p);
	return st;
}

/* The family members: thin definitions, one per kind. */

DS_EXPORT ds_cudnn_status cudnnGetConvolutionForwardAlgorithm_v7(
	ds_cudnn_handle h, void *a, void *b, ds_cudnn_conv c, void *d, int req,
	int *ret, struct ds_cudnn_algo_perf *p)
{
	return get_v7(DS_CUDNN_CONV_FWD, h, a, b, c, d, req, ret, p);
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardDataAlgorithm_v7(
	ds_cudnn_handle h, void *a, void *b, ds_cudnn_conv c, void *d, int req,
	int *ret, struct ds_cudnn_algo_perf *p)
{
	return get_v7(DS_CUDNN_CONV_BWD_DATA, h, a, b, c, d, req, ret, p);
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardFilterAlgorithm_v7(
	ds_cudnn_handle h, void *a, void *b, ds_cudnn_conv c, void *d, int req,
	int *ret, struct ds_cudnn_algo_perf *p)
{
	return get_v7(DS_CUDNN_CONV_BWD_FILTER, h, a, b, c, d, req, ret, p);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionForwardAlgorithm(
	ds_cudnn_handle h, void *a, void *b, ds_cudnn_conv c, void *d, int req,
	int *ret, struct ds_cudnn_algo_perf *p)
{
	return find(DS_CUDNN_CONV_FWD, h, a, b, c, d, req, ret, p);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardDataAlgorithm(
	ds_cudnn_handle h, void *a, void *b, ds_cudnn_conv c, void *d, int req,
	int *ret, struct ds_cudnn_algo_perf *p)
{
	return find(DS_CUDNN_CONV_BWD_DATA, h, a, b, c, d, req, ret, p);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardFilterAlgorithm(
	ds_cudnn_handle h, void *a, void *b, ds_cudnn_conv c, void *d, int req,
	int *ret, struct ds_cudnn_algo_perf *p)
{
	return find(DS_CUDNN_CONV_BWD_FILTER, h, a, b, c, d, req, ret, p);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionForwardAlgorithmEx(
	ds_cudnn_handle h, void *ad, const void *a, void *bd, const void *b,
	ds_cudnn_conv c, void *dd, void *d, int req, int *ret,
	struct ds_cudnn_algo_perf *p, void *ws, size_t wss)
{
	return find_ex(DS_CUDNN_CONV_FWD, h, ad, a, bd, b, c, dd, d, req, ret, p, ws, wss);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardDataAlgorithmEx(
	ds_cudnn_handle h, void *ad, const void *a, void *bd, const void *b,
	ds_cudnn_conv c, void *dd, void *d, int req, int *ret,
	struct ds_cudnn_algo_perf *p, void *ws, size_t wss)
{
	return find_ex(DS_CUDNN_CONV_BWD_DATA, h, ad, a, bd, b, c, dd, d, req, ret, p, ws, wss);
}

DS_EXPORT ds_cudnn_status cudnnFindConvolutionBackwardFilterAlgorithmEx(
	ds_cudnn_handle h, void *ad, const void *a, void *bd, const void *b,
	ds_cudnn_conv c, void *dd, void *d, int req, int *ret,
	struct ds_cudnn_algo_perf *p, void *ws, size_t wss)
{
	return find_ex(DS_CUDNN_CONV_BWD_FILTER, h, ad, a, bd, b, c, dd, d, req, ret, p, ws, wss);
}

/* ------------------------------------------------------------------ */
/* Workspace queries and execution of backward convolutions. */

static ds_cudnn_status ws_size(enum ds_cudnn_conv_kind kind, ds_cudnn_handle h,
			       void *a, void *b, ds_cudnn_conv c, void *d,
			       int algo, size_t *size)
{
	ws_size_fn f = ds_sym_get(&families[kind].ws_size);
	ds_cudnn_status st;
	const int *sub;
	int i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(h, a, b, c, d, algo, size);
	if (st != DS_CUDNN_STATUS_SUCCESS || size == NULL || !legacy_on() ||
	    !ds_enforce(DS_SRC_CUDNN) || !ds_cudnn_algo_nondet(kind, algo))
		return st;
	/* Room for the substitute the execution hook will pick. */
	sub = ds_cudnn_substitutes(kind, &n);
	for (i = 0; i < n; i++) {
		size_t s = 0;

		if (f(h, a, b, c, d, sub[i], &s) == DS_CUDNN_STATUS_SUCCESS) {
			if (s > *size)
				*size = s;
			break;
		}
	}
	return st;
}

static ds_cudnn_status exec(enum ds_cudnn_conv_kind kind, struct ds_site *site,
			    ds_cudnn_handle h, const void *alpha, void *ad,
			    const void *a, void *bd, const void *b,
			    ds_cudnn_conv c, int algo, void *ws, size_t wss,
			    const void *beta, void *dd, void *d)
{
	exec_fn f = ds_sym_get(&families[kind].exec);
	ws_size_fn q;
	ds_cudnn_status st;
	const int *sub;
	int i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (!legacy_on() || !ds_cudnn_algo_nondet(kind, algo))
		return f(h, alpha, ad, a, bd, b, c, algo, ws, wss, beta, dd, d);
	/* Not before: forward has no workspace function (and no
	 * nondeterministic algorithm). */
	q = ds_sym_get(&families[kind].ws_size);
	if (!ds_enforce(DS_SRC_CUDNN) || q == NULL) {
		ds_event(site, "observed", "nondeterministic algo %d", algo);
		return f(h, alpha, ad, a, bd, b, c, algo, ws, wss, beta, dd, d);
	}
	sub = ds_cudnn_substitutes(kind, &n);
	for (i = 0; i < n; i++) {
		size_t need = 0;

		if (q(h, ad, bd, c, dd, sub[i], &need) != 0 || need > wss)
			continue;
		st = f(h, alpha, ad, a, bd, b, c, sub[i], ws, wss, beta, dd, d);
		if (st == DS_CUDNN_STATUS_NOT_SUPPORTED)
			continue;
		ds_event(site, "replaced", "algo %d -> %d (workspace %zu of %zu)",
			 algo, sub[i], need, wss);
		return st;
	}
	ds_event(site, "error",
		 "algo %d nondeterministic and no deterministic algorithm fits "
		 "workspace %zu", algo, wss);
	ds_warn("%s: nondeterministic algorithm %d and no deterministic one "
		"fits the %zu-byte workspace; refused", families[kind].exec.name,
		algo, wss);
	return DS_CUDNN_STATUS_NOT_SUPPORTED;
}

/* ------------------------------------------------------------------ */
/* Call hashing of the convolutions (hash_calls.h). */

/* cudnnDataType_t names (cudnn_graph.h), by value. */
static const char *const cudnn_types[] = {
	"float", "double", "half", "int8", "int32", "int8x4", "uint8",
	"uint8x4", "int8x32", "bfloat16", "int64", "bool", "fp8_e4m3",
	"fp8_e5m2",
};

/* Bytes of the operand described by d (a filter or a tensor), and its
 * shape appended to what (" x=float[1,3,8,8]"). */
static size_t operand(void *d, bool filter, char tag, char *what, size_t cap,
		      size_t *len)
{
	__typeof__(&cudnnGetTensorSizeInBytes) tsz =
		ds_sym_get(&real_cudnnGetTensorSizeInBytes);
	__typeof__(&cudnnGetFilterSizeInBytes) fsz =
		ds_sym_get(&real_cudnnGetFilterSizeInBytes);
	__typeof__(&cudnnGetTensorNdDescriptor) tnd =
		ds_sym_get(&real_cudnnGetTensorNdDescriptor);
	__typeof__(&cudnnGetFilterNdDescriptor) fnd =
		ds_sym_get(&real_cudnnGetFilterNdDescriptor);
	int type = -1, format = 0, nd = 0, dims[8], strides[8], i;
	size_t bytes = 0;
	ds_cudnn_status st;

	if (filter)
		st = fsz ? fsz(d, &bytes) : DS_CUDNN_STATUS_NOT_INITIALIZED;
	else
		st = tsz ? tsz(d, &bytes) : DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (st != DS_CUDNN_STATUS_SUCCESS)
		bytes = 0;
	if (filter)
		st = fnd ? fnd(d, 8, &type, &format, &nd, dims) :
			   DS_CUDNN_STATUS_NOT_INITIALIZED;
	else
		st = tnd ? tnd(d, 8, &type, &nd, dims, strides) :
			   DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (st != DS_CUDNN_STATUS_SUCCESS || nd < 0 || nd > 8)
		nd = 0;
	*len += ds_fmt(what + *len, cap - *len, " %c=%s[", tag,
		       type >= 0 && type < (int)DS_ARRAY_SIZE(cudnn_types) ?
			       cudnn_types[type] : "?");
	for (i = 0; i < nd; i++)
		*len += ds_fmt(what + *len, cap - *len, "%s%d", i ? "," : "",
			       dims[i]);
	*len += ds_fmt(what + *len, cap - *len, "]");
	return bytes;
}

/* What the hashing of one convolution carries across the call. */
struct conv_hc {
	struct ds_hc hc;
	size_t nd;      /* bytes of the output d */
	char what[160]; /* kind, algorithm and the operands' shapes */
};

/* Before exec(): the operands' shapes into ch->what, then both operands
 * and the output (beta may read it) into the inputs.  Descriptors by
 * position as in exec(): the filter is b forward, a for backward data,
 * d for backward filter.  False: not hashed (ds_hc_begin). */
static bool conv_begin(struct conv_hc *ch, enum ds_cudnn_conv_kind kind,
		       ds_cudnn_handle h, int algo, void *ad, const void *a,
		       void *bd, const void *b, void *dd, const void *d)
{
	static const char tags[][3] = { { 'x', 'w', 'y' }, { 'w', 'd', 'D' },
					{ 'x', 'd', 'W' } };
	__typeof__(&cudnnGetStream) gs = ds_sym_get(&real_cudnnGetStream);
	size_t na, nb, len;
	void *stream = NULL;

	if (gs == NULL || gs(h, &stream) != DS_CUDNN_STATUS_SUCCESS)
		stream = NULL;
	if (!ds_hc_begin(&ch->hc, stream))
		return false;
	len = ds_fmt(ch->what, sizeof(ch->what), "%s algo=%d",
		     families[kind].kind, algo);
	na = operand(ad, kind == DS_CUDNN_CONV_BWD_DATA, tags[kind][0],
		     ch->what, sizeof(ch->what), &len);
	nb = operand(bd, kind == DS_CUDNN_CONV_FWD, tags[kind][1], ch->what,
		     sizeof(ch->what), &len);
	ch->nd = operand(dd, kind == DS_CUDNN_CONV_BWD_FILTER, tags[kind][2],
			 ch->what, sizeof(ch->what), &len);
	ds_hc_in(&ch->hc, a, na);
	ds_hc_in(&ch->hc, b, nb);
	ds_hc_in(&ch->hc, d, ch->nd);
	return true;
}

/* After it: the output, and the event. */
static void conv_end(struct ds_site *site, struct conv_hc *ch,
		     enum ds_cudnn_conv_kind kind, int algo, const void *d,
		     ds_cudnn_status st)
{
	char why[72];

	ds_hc_out(&ch->hc, d, ch->nd);
	if (!ds_cudnn_algo_nondet(kind, algo))
		ds_fmt(why, sizeof(why), "cuDNN algo %d deterministic", algo);
	else
		ds_fmt(why, sizeof(why), "cuDNN algo %d noted nondeterministic%s",
		       algo, ds_enforce(DS_SRC_CUDNN) ?
				     ": replaced by a deterministic one" :
				     ": kept (policy warn)");
	ds_hc_end(site, &ch->hc, st, ch->what, why);
}

/* One convolution of the given kind: exec(), hashed around it when
 * gpu.hash_calls is on. */
static ds_cudnn_status conv(enum ds_cudnn_conv_kind kind, struct ds_site *site,
			    ds_cudnn_handle h, const void *alpha, void *ad,
			    const void *a, void *bd, const void *b,
			    ds_cudnn_conv c, int algo, void *ws, size_t wss,
			    const void *beta, void *dd, void *d)
{
	struct conv_hc ch;
	ds_cudnn_status st;
	bool on = false;

	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = conv_begin(&ch, kind, h, algo, ad, a, bd, b, dd, d);
	st = exec(kind, site, h, alpha, ad, a, bd, b, c, algo, ws, wss, beta,
		  dd, d);
	if (on)
		conv_end(site, &ch, kind, algo, d, st);
	return st;
}

DS_EXPORT ds_cudnn_status cudnnConvolutionForward(
	ds_cudnn_handle h, const void *alpha, ds_cudnn_tensor xd,
	const void *x, ds_cudnn_filter wd, const void *w, ds_cudnn_conv c,
	int algo, void *ws, size_t wss, const void *beta, ds_cudnn_tensor yd,
	void *y)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnConvolutionForward");

	return conv(DS_CUDNN_CONV_FWD, &site, h, alpha, xd, x, wd, w, c, algo,
		    ws, wss, beta, yd, y);
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardDataWorkspaceSize(
	ds_cudnn_handle h, ds_cudnn_filter w, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_tensor dx, int algo, size_t *size)
{
	return ws_size(DS_CUDNN_CONV_BWD_DATA, h, w, dy, c, dx, algo, size);
}

DS_EXPORT ds_cudnn_status cudnnGetConvolutionBackwardFilterWorkspaceSize(
	ds_cudnn_handle h, ds_cudnn_tensor x, ds_cudnn_tensor dy,
	ds_cudnn_conv c, ds_cudnn_filter dw, int algo, size_t *size)
{
	return ws_size(DS_CUDNN_CONV_BWD_FILTER, h, x, dy, c, dw, algo, size);
}

DS_EXPORT ds_cudnn_status cudnnConvolutionBackwardData(
	ds_cudnn_handle h, const void *alpha, ds_cudnn_filter wd,
	const void *w, ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,
	int algo, void *ws, size_t wss, const void *beta, ds_cudnn_tensor dxd,
	void *dx)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnConvolutionBackwardData");

	return conv(DS_CUDNN_CONV_BWD_DATA, &site, h, alpha, wd, w, dyd, dy, c,
		    algo, ws, wss, beta, dxd, dx);
}

DS_EXPORT ds_cudnn_status cudnnConvolutionBackwardFilter(
	ds_cudnn_handle h, const void *alpha, ds_cudnn_tensor xd,
	const void *x, ds_cudnn_tensor dyd, const void *dy, ds_cudnn_conv c,
	int algo, void *ws, size_t wss, const void *beta, ds_cudnn_filter dwd,
	void *dw)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnConvolutionBackwardFilter");

	return conv(DS_CUDNN_CONV_BWD_FILTER, &site, h, alpha, xd, x, dyd, dy,
		    c, algo, ws, wss, beta, dwd, dw);
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
	 * (docs/GPU_FACTS.md §1.4). */
	ds_event(&site, "replaced", "CUDNN_POOLING_MAX -> "
		 "CUDNN_POOLING_MAX_DETERMINISTIC");
	return DS_CUDNN_POOLING_MAX_DETERMINISTIC;
}

DS_EXPORT ds_cudnn_status cudnnSetPooling2dDescriptor(ds_cudnn_pooling d,
						      int mode, int nan, int wh,
						      int ww, int ph, int pw,
						      int sh, int sw)
{
	__typeof__(&cudnnSetPooling2dDescriptor) f =
		ds_sym_get(&real_cudnnSetPooling2dDescriptor);

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
	__typeof__(&cudnnSetPoolingNdDescriptor) f =
		ds_sym_get(&real_cudnnSetPoolingNdDescriptor);

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
	__typeof__(&cudnnSpatialTfSamplerBackward) f =
		ds_sym_get(&real_cudnnSpatialTfSamplerBackward);
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
	__typeof__(&cudnnGetCTCLossWorkspaceSize) f =
		ds_sym_get(&real_cudnnGetCTCLossWorkspaceSize);
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
	__typeof__(&cudnnGetCTCLossWorkspaceSize_v8) f =
		ds_sym_get(&real_cudnnGetCTCLossWorkspaceSize_v8);
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
	__typeof__(&cudnnCTCLoss) f = ds_sym_get(&real_cudnnCTCLoss);
	__typeof__(&cudnnGetCTCLossWorkspaceSize) q =
		ds_sym_get(&real_cudnnGetCTCLossWorkspaceSize);
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
	__typeof__(&cudnnCTCLoss_v8) f = ds_sym_get(&real_cudnnCTCLoss_v8);
	__typeof__(&cudnnGetCTCLossWorkspaceSize_v8) q =
		ds_sym_get(&real_cudnnGetCTCLossWorkspaceSize_v8);
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
