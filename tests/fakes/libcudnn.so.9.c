/*
 * Fake libcudnn.so.9 for the hook tests (docs/DESIGN.md §8.14): the few backend
 * and legacy entry points detshim interposes, with scripted engines,
 * notes, knobs, statuses and workspace sizes.  Test code: scripted
 * through FAKE_CUDNN_* variables, read at each call.
 *
 *   FAKE_CUDNN_ENGINES  heuristic results in order, comma separated:
 *                       <engine>[:nd][:k<type>=<value>]...  (nd = the
 *                       NONDETERMINISTIC numerical note)
 *                       default "4:nd,7:k2=1,7:k2=2,9:k13=0:k14=4,11"
 *   FAKE_CUDNN_FAIL     engine indices whose Finalize fails ("9,11")
 *   FAKE_CUDNN_VERSION  cudnnGetVersion() (default 91900)
 *   FAKE_CUDNN_FIND_SEED  permutes cudnnFind* timings (timing noise)
 *   FAKE_CUDNN_WS       legacy workspace bytes per algorithm "1:4096,6:65536"
 *   FAKE_CUDNN_UNSUP    legacy algorithms that are not supported ("6")
 * Deliberately missing (to test the shim's missing-symbol path):
 * cudnnSpatialTfSamplerBackward, cudnnCTCLoss_v8,
 * cudnnGetCTCLossWorkspaceSize_v8.
 * Inspection helpers for the tests: fake_cudnn_*.
 * For the call hashing tests (fake_compute.h): legacy tensor and filter
 * descriptors keep their type and dimensions; the convolutions write
 * their output from their operands; a backend variant pack keeps its
 * pointers, and cudnnBackendExecute writes the first 16 bytes of the
 * last one from the first 16 of the others; the handle's stream is kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/cudnn.h"
#include "fake_compute.h"

#define MAXE 32

struct fengine {
	int64_t eng;
	int nd;
	int nk;
	int32_t kt[4];
	int64_t kv[4];
};

struct fdesc {
	int type;
	int finalized;
	int cand;      /* index into the engine list (cfg, engine) */
	void *og;      /* heur / engine */
	void *cfg;     /* plan */
	int32_t kt;    /* knob choice */
	int64_t kv;
	int64_t npack; /* variant pack: data pointers */
	void *pack[16];
};

static int nengines;
static struct fengine engines[MAXE];
static int finalize_calls, last_exec_cand = -1, last_algo = -1;
static int last_pool_mode = -1, last_ctc_algo = -1;

static void load_engines(void)
{
	const char *s = getenv("FAKE_CUDNN_ENGINES");
	char buf[1024], *tok, *save = NULL;

	if (s == NULL)
		s = "4:nd,7:k2=1,7:k2=2,9:k13=0:k14=4,11";
	snprintf(buf, sizeof(buf), "%s", s);
	nengines = 0;
	for (tok = strtok_r(buf, ",", &save); tok && nengines < MAXE;
	     tok = strtok_r(NULL, ",", &save)) {
		struct fengine *e = &engines[nengines++];
		char *p = tok, *part, *s2 = NULL;

		memset(e, 0, sizeof(*e));
		part = strtok_r(p, ":", &s2);
		e->eng = strtoll(part, NULL, 10);
		while ((part = strtok_r(NULL, ":", &s2)) != NULL) {
			if (strcmp(part, "nd") == 0)
				e->nd = 1;
			else if (part[0] == 'k' && e->nk < 4) {
				e->kt[e->nk] = (int32_t)strtol(part + 1, &part, 10);
				e->kv[e->nk] = strtoll(part + 1, NULL, 10);
				e->nk++;
			}
		}
	}
}

static int in_list(const char *var, long v)
{
	const char *s = getenv(var);
	char *end;

	while (s && *s) {
		long x = strtol(s, &end, 10);

		if (end == s)
			break;
		if (x == v)
			return 1;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

ds_cudnn_status cudnnBackendCreateDescriptor(int type, ds_cudnn_desc *d)
{
	struct fdesc *f = calloc(1, sizeof(*f));

	if (f == NULL || d == NULL)
		return DS_CUDNN_STATUS_BAD_PARAM;
	f->type = type;
	f->cand = -1;
	*d = f;
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnBackendDestroyDescriptor(ds_cudnn_desc d)
{
	free(d);
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnBackendSetAttribute(ds_cudnn_desc d, int name, int type,
					 int64_t count, const void *vals)
{
	struct fdesc *f = d;
	void *ref = NULL;

	if (f == NULL || f->finalized || count < 0)
		return DS_CUDNN_STATUS_BAD_PARAM;
	if (type == DS_CUDNN_TYPE_BACKEND_DESCRIPTOR && count > 0)
		ref = ((void *const *)vals)[0];
	switch (name) {
	case DS_CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH:
	case DS_CUDNN_ATTR_ENGINE_OPERATION_GRAPH:
		f->og = ref;
		break;
	case DS_CUDNN_ATTR_ENGINE_GLOBAL_INDEX: {
		int i;

		if (nengines == 0)
			load_engines();
		for (i = 0; i < nengines; i++)
			if (engines[i].eng == *(const int64_t *)vals) {
				f->cand = i;
				break;
			}
		break;
	}
	case DS_CUDNN_ATTR_ENGINECFG_ENGINE:
		f->cand = ((struct fdesc *)ref)->cand;
		f->og = ((struct fdesc *)ref)->og;
		break;
	case DS_CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG:
		f->cfg = ref;
		break;
	case DS_CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS:
		f->npack = count < 16 ? count : 16;
		memcpy(f->pack, vals, (size_t)f->npack * sizeof(void *));
		break;
	default:
		break;
	}
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnBackendGetAttribute(ds_cudnn_desc d, int name, int type,
					 int64_t req, int64_t *count,
					 void *vals)
{
	struct fdesc *f = d, *c;
	struct fengine *e;
	int64_t i, n;

	(void)type;
	if (f == NULL)
		return DS_CUDNN_STATUS_BAD_PARAM;
	load_engines();
	switch (name) {
	case DS_CUDNN_ATTR_ENGINEHEUR_RESULTS:
		n = req < nengines ? req : nengines;
		if (req == 0) {
			*count = nengines;
			return DS_CUDNN_STATUS_SUCCESS;
		}
		for (i = 0; i < n; i++) {
			c = ((struct fdesc **)vals)[i];
			c->cand = (int)i;
			c->og = f->og;
			c->finalized = 1;
		}
		*count = n;
		return DS_CUDNN_STATUS_SUCCESS;
	case DS_CUDNN_ATTR_ENGINECFG_ENGINE:
		c = ((struct fdesc **)vals)[0];
		c->cand = f->cand;
		c->og = f->og;
		c->finalized = 1;
		*count = 1;
		return DS_CUDNN_STATUS_SUCCESS;
	case DS_CUDNN_ATTR_ENGINE_GLOBAL_INDEX:
		if (f->cand < 0)
			return DS_CUDNN_STATUS_BAD_PARAM;
		*(int64_t *)vals = engines[f->cand].eng;
		*count = 1;
		return DS_CUDNN_STATUS_SUCCESS;
	case DS_CUDNN_ATTR_ENGINE_NUMERICAL_NOTE:
		if (f->cand < 0)
			return DS_CUDNN_STATUS_BAD_PARAM;
		e = &engines[f->cand];
		n = 0;
		if (req > 0)
			((int32_t *)vals)[n++] = 0; /* TENSOR_CORE */
		if (e->nd && req > 1)
			((int32_t *)vals)[n++] =
				DS_CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC;
		*count = n;
		return DS_CUDNN_STATUS_SUCCESS;
	case DS_CUDNN_ATTR_ENGINECFG_KNOB_CHOICES:
		if (f->cand < 0)
			return DS_CUDNN_STATUS_BAD_PARAM;
		e = &engines[f->cand];
		n = req < e->nk ? req : e->nk;
		for (i = 0; i < n; i++) {
			c = ((struct fdesc **)vals)[i];
			c->kt = e->kt[i];
			c->kv = e->kv[i];
		}
		*count = n;
		return DS_CUDNN_STATUS_SUCCESS;
	case DS_CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE:
		*(int32_t *)vals = f->kt;
		*count = 1;
		return DS_CUDNN_STATUS_SUCCESS;
	case DS_CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE:
		*(int64_t *)vals = f->kv;
		*count = 1;
		return DS_CUDNN_STATUS_SUCCESS;
	default:
		return DS_CUDNN_STATUS_NOT_SUPPORTED;
	}
}

ds_cudnn_status cudnnBackendFinalize(ds_cudnn_desc d)
{
	struct fdesc *f = d;

	if (f == NULL)
		return DS_CUDNN_STATUS_BAD_PARAM;
	if (f->type == DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR) {
		struct fdesc *cfg = f->cfg;

		finalize_calls++;
		load_engines();
		if (cfg == NULL || cfg->cand < 0)
			return DS_CUDNN_STATUS_BAD_PARAM;
		if (in_list("FAKE_CUDNN_FAIL", (long)engines[cfg->cand].eng))
			return DS_CUDNN_STATUS_NOT_SUPPORTED;
		f->cand = cfg->cand;
	}
	f->finalized = 1;
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnBackendExecute(ds_cudnn_handle h, ds_cudnn_desc plan,
				    ds_cudnn_desc vp)
{
	struct fdesc *f = plan, *v = vp;

	(void)h;
	if (f == NULL || !f->finalized)
		return DS_CUDNN_STATUS_BAD_PARAM;
	last_exec_cand = f->cand;
	if (v && v->npack >= 2 && v->pack[v->npack - 1]) {
		unsigned char in[16 * 15];
		int64_t i;

		for (i = 0; i + 1 < v->npack; i++)
			memcpy(in + 16 * i, v->pack[i], 16);
		fake_compute("cudnnBackendExecute", v->pack[v->npack - 1], 16,
			     in, (size_t)(16 * (v->npack - 1)), NULL, 0);
	}
	return DS_CUDNN_STATUS_SUCCESS;
}

size_t cudnnGetVersion(void)
{
	const char *v = getenv("FAKE_CUDNN_VERSION");

	return v ? (size_t)strtoul(v, NULL, 10) : 91900;
}

/* ------------------------------------------------------------------ */
/* Legacy API. */

static size_t ws_of(int algo)
{
	const char *s = getenv("FAKE_CUDNN_WS");
	char *end;

	if (s == NULL)
		s = "1:4096,6:65536,2:1048576,3:8192,5:0";
	while (*s) {
		long a = strtol(s, &end, 10);
		unsigned long v;

		if (*end != ':')
			break;
		v = strtoul(end + 1, &end, 10);
		if (a == algo)
			return v;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* Heuristic (Get_v7) order: fixed, nondeterministic ones first. */
static int legacy_list(int kind, struct ds_cudnn_algo_perf *p, int req,
		       int timed)
{
	static const int fwd[] = { 1, 0, 2, 6 };
	static const int bdata[] = { 0, 1, 3, 2, 5 };
	static const int bfilt[] = { 0, 3, 1, 6, 2, 5 };
	const int *l = kind == 0 ? fwd : kind == 1 ? bdata : bfilt;
	int n = kind == 0 ? 4 : kind == 1 ? 5 : 6, i, j;
	const char *seed = getenv("FAKE_CUDNN_FIND_SEED");
	unsigned x = seed ? (unsigned)strtoul(seed, NULL, 10) : 1;

	if (n > req)
		n = req;
	for (i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].algo = l[i];
		p[i].status = DS_CUDNN_STATUS_SUCCESS;
		p[i].memory = ws_of(l[i]);
		p[i].determinism = (kind == 1 && l[i] == 0) ||
					   (kind == 2 && (l[i] == 0 || l[i] == 3))
				   ? DS_CUDNN_NON_DETERMINISTIC
				   : DS_CUDNN_DETERMINISTIC;
		p[i].time = -1.0f;
		if (timed) {
			x = x * 1103515245u + 12345u;
			p[i].time = (float)((x >> 16) % 1000) / 100.0f;
		}
	}
	if (timed) /* Find: sorted by this run's time */
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && p[j].time < p[j - 1].time; j--) {
				struct ds_cudnn_algo_perf t = p[j];

				p[j] = p[j - 1];
				p[j - 1] = t;
			}
	return n;
}

#define GET_V7(name, kind)                                                    \
	ds_cudnn_status name(void *h, void *a, void *b, void *c, void *d,      \
			     int req, int *ret, struct ds_cudnn_algo_perf *p)  \
	{                                                                      \
		(void)h; (void)a; (void)b; (void)c; (void)d;                   \
		*ret = legacy_list(kind, p, req, 0);                           \
		return DS_CUDNN_STATUS_SUCCESS;                                \
	}
#define FIND(name, kind)                                                      \
	ds_cudnn_status name(void *h, void *a, void *b, void *c, void *d,      \
			     int req, int *ret, struct ds_cudnn_algo_perf *p)  \
	{                                                                      \
		(void)h; (void)a; (void)b; (void)c; (void)d;                   \
		*ret = legacy_list(kind, p, req, 1);                           \
		return DS_CUDNN_STATUS_SUCCESS;                                \
	}
GET_V7(cudnnGetConvolutionForwardAlgorithm_v7, 0)
GET_V7(cudnnGetConvolutionBackwardDataAlgorithm_v7, 1)
GET_V7(cudnnGetConvolutionBackwardFilterAlgorithm_v7, 2)
FIND(cudnnFindConvolutionForwardAlgorithm, 0)
FIND(cudnnFindConvolutionBackwardDataAlgorithm, 1)
FIND(cudnnFindConvolutionBackwardFilterAlgorithm, 2)

#define WS(name)                                                              \
	ds_cudnn_status name(void *h, void *a, void *b, void *c, void *d,      \
			     int algo, size_t *size)                           \
	{                                                                      \
		(void)h; (void)a; (void)b; (void)c; (void)d;                   \
		if (in_list("FAKE_CUDNN_UNSUP", algo))                         \
			return DS_CUDNN_STATUS_NOT_SUPPORTED;                  \
		*size = ws_of(algo);                                           \
		return DS_CUDNN_STATUS_SUCCESS;                                \
	}
WS(cudnnGetConvolutionBackwardDataWorkspaceSize)
WS(cudnnGetConvolutionBackwardFilterWorkspaceSize)

/* Legacy tensor and filter descriptors (NCHW, float or half). */
struct ftensor {
	int filter;
	int dtype, format, nd;
	int dims[8], strides[8];
};

static void *handle_stream;

ds_cudnn_status cudnnSetStream(void *h, void *s)
{
	(void)h;
	handle_stream = s;
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnGetStream(void *h, void **s)
{
	(void)h;
	*s = handle_stream;
	return DS_CUDNN_STATUS_SUCCESS;
}

static ds_cudnn_status create(void **d, int filter)
{
	struct ftensor *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return DS_CUDNN_STATUS_BAD_PARAM;
	t->filter = filter;
	*d = t;
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnCreateTensorDescriptor(void **d) { return create(d, 0); }
ds_cudnn_status cudnnCreateFilterDescriptor(void **d) { return create(d, 1); }
ds_cudnn_status cudnnDestroyTensorDescriptor(void *d) { free(d); return 0; }
ds_cudnn_status cudnnDestroyFilterDescriptor(void *d) { free(d); return 0; }

ds_cudnn_status cudnnSetTensorNdDescriptor(struct ftensor *t, int dtype,
					   int nd, const int dims[],
					   const int strides[])
{
	if (t == NULL || nd < 1 || nd > 8)
		return DS_CUDNN_STATUS_BAD_PARAM;
	t->dtype = dtype;
	t->nd = nd;
	memcpy(t->dims, dims, (size_t)nd * sizeof(int));
	memcpy(t->strides, strides, (size_t)nd * sizeof(int));
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnSetFilterNdDescriptor(struct ftensor *t, int dtype,
					   int format, int nd, const int dims[])
{
	int i, st = 1;

	if (t == NULL || nd < 1 || nd > 8)
		return DS_CUDNN_STATUS_BAD_PARAM;
	t->dtype = dtype;
	t->format = format;
	t->nd = nd;
	memcpy(t->dims, dims, (size_t)nd * sizeof(int));
	for (i = nd - 1; i >= 0; i--) { /* packed */
		t->strides[i] = st;
		st *= dims[i];
	}
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnGetTensorNdDescriptor(const struct ftensor *t, int req,
					   int *dtype, int *nd, int dims[],
					   int strides[])
{
	int i;

	if (t == NULL || t->filter)
		return DS_CUDNN_STATUS_BAD_PARAM;
	*dtype = t->dtype;
	*nd = t->nd;
	for (i = 0; i < t->nd && i < req; i++) {
		dims[i] = t->dims[i];
		strides[i] = t->strides[i];
	}
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnGetFilterNdDescriptor(const struct ftensor *t, int req,
					   int *dtype, int *format, int *nd,
					   int dims[])
{
	int i;

	if (t == NULL || !t->filter)
		return DS_CUDNN_STATUS_BAD_PARAM;
	*dtype = t->dtype;
	*format = t->format;
	*nd = t->nd;
	for (i = 0; i < t->nd && i < req; i++)
		dims[i] = t->dims[i];
	return DS_CUDNN_STATUS_SUCCESS;
}

static size_t bytes_of(const struct ftensor *t)
{
	size_t e = 1;
	int i;

	if (t == NULL || t->nd == 0)
		return 0;
	for (i = 0; i < t->nd; i++)
		e += (size_t)(t->dims[i] - 1) * (size_t)t->strides[i];
	return e * (t->dtype == 2 ? 2 : t->dtype == 1 ? 8 : 4);
}

ds_cudnn_status cudnnGetTensorSizeInBytes(const struct ftensor *t, size_t *n)
{
	if (t == NULL || t->filter)
		return DS_CUDNN_STATUS_BAD_PARAM;
	*n = bytes_of(t);
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnGetFilterSizeInBytes(const struct ftensor *t, size_t *n)
{
	if (t == NULL || !t->filter)
		return DS_CUDNN_STATUS_BAD_PARAM;
	*n = bytes_of(t);
	return DS_CUDNN_STATUS_SUCCESS;
}

/* Output from the operands, when the test gave data. */
static void conv_compute(const char *call, void *ad, const void *a, void *bd,
			 const void *b, void *od, void *o)
{
	if (a && b && o && ad && bd && od)
		fake_compute(call, o, bytes_of(od), a, bytes_of(ad), b,
			     bytes_of(bd));
}

ds_cudnn_status cudnnConvolutionForward(void *h, const void *al, void *xd,
					const void *x, void *wd, const void *w,
					void *c, int algo, void *ws, size_t wss,
					const void *be, void *yd, void *y)
{
	(void)h; (void)al; (void)c; (void)algo; (void)ws; (void)wss; (void)be;
	conv_compute("cudnnConvolutionForward", xd, x, wd, w, yd, y);
	return DS_CUDNN_STATUS_SUCCESS;
}

#define BWD(name)                                                             \
	ds_cudnn_status name(void *h, const void *al, void *ad, const void *a, \
			     void *bd, const void *b, void *c, int algo,       \
			     void *ws, size_t wss, const void *be, void *od,   \
			     void *o)                                          \
	{                                                                      \
		(void)h; (void)al; (void)c; (void)ws; (void)be;                \
		if (in_list("FAKE_CUDNN_UNSUP", algo))                         \
			return DS_CUDNN_STATUS_NOT_SUPPORTED;                  \
		if (ws_of(algo) > wss)                                         \
			return DS_CUDNN_STATUS_BAD_PARAM;                      \
		last_algo = algo;                                              \
		conv_compute(#name, ad, a, bd, b, od, o);                      \
		return DS_CUDNN_STATUS_SUCCESS;                                \
	}
BWD(cudnnConvolutionBackwardData)
BWD(cudnnConvolutionBackwardFilter)

ds_cudnn_status cudnnSetPooling2dDescriptor(void *d, int mode, int nan, int wh,
					    int ww, int ph, int pw, int sh,
					    int sw)
{
	(void)d; (void)nan; (void)wh; (void)ww; (void)ph; (void)pw; (void)sh;
	(void)sw;
	last_pool_mode = mode;
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnGetCTCLossWorkspaceSize(void *h, void *pd, void *gd,
					     const int *l, const int *ll,
					     const int *il, int algo, void *ctc,
					     size_t *size)
{
	(void)h; (void)pd; (void)gd; (void)l; (void)ll; (void)il; (void)ctc;
	*size = algo == 0 ? 2048 : 1024;
	return DS_CUDNN_STATUS_SUCCESS;
}

ds_cudnn_status cudnnCTCLoss(void *h, void *pd, const void *probs,
			     const int *l, const int *ll, const int *il,
			     void *costs, void *gd, void *grads, int algo,
			     void *ctc, void *ws, size_t wss)
{
	(void)h; (void)pd; (void)probs; (void)l; (void)ll; (void)il;
	(void)costs; (void)gd; (void)grads; (void)ctc; (void)ws;
	if (wss < (algo == 0 ? 2048u : 1024u))
		return DS_CUDNN_STATUS_BAD_PARAM;
	last_ctc_algo = algo;
	return DS_CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Inspection helpers. */

int fake_cudnn_finalize_calls(void) { return finalize_calls; }
int fake_cudnn_last_algo(void) { return last_algo; }
int fake_cudnn_last_pool_mode(void) { return last_pool_mode; }
int fake_cudnn_last_ctc_algo(void) { return last_ctc_algo; }
/* Engine index of the plan executed last, or -1. */
long fake_cudnn_last_exec_engine(void)
{
	return last_exec_cand < 0 ? -1 : (long)engines[last_exec_cand].eng;
}
/* Position in the heuristic list of a plan's config, or -1. */
int fake_cudnn_plan_cand(void *plan)
{
	return plan ? ((struct fdesc *)plan)->cand : -1;
}
