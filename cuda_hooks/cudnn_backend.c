/*
 * cudnn_backend.c - cuDNN backend (graph) API hooks: deterministic
 * engines, one reproducible engine config per operation graph, and the
 * DETSHIM_ALGO_CACHE pinning file.
 *
 * PyTorch 2.11 runs every convolution through this API only
 * (docs/DESIGN.md §9.4):
 * CreateDescriptor/SetAttribute/GetAttribute/Finalize/Execute.  The lever is
 * cudnnBackendFinalize of an EXECUTION_PLAN: answering
 * CUDNN_STATUS_NOT_SUPPORTED makes PyTorch and cudnn-frontend skip the plan and
 * try the next config (docs/GPU_FACTS.md §2.5, §2.6), in both benchmark modes.
 * At that point the hook
 *   1. reads the plan's engine config through the real library (engine
 *      global index, numerical notes, knob choices - the same reads
 *      cudnn-frontend makes to build its plan tags);
 *   2. vetoes engines noted NONDETERMINISTIC;
 *   3. asks cudnn_choice.c whether this config may serve the plan's
 *      operation graph (fingerprint from cudnn_track.c): the pinned one,
 *      else the first that finalizes (DS_CUDNN_FIRST) or any (DS_CUDNN_ANY).
 * Execute only counts which candidate ran (for recording the pin file).
 *
 * Cost: SetAttribute/GetAttribute/Create/Destroy add one table lookup
 * (and a hash of the values set); Execute one lookup and one atomic add;
 * the config reads happen once per plan Finalize (~2k in a ResNet-18
 * run, each also built by PyTorch itself).  A program that never calls
 * cuDNN touches none of this.
 *
 * Call hashing (gpu.hash_calls, hash_calls.h): cudnnBackendExecute logs
 * a "hashed" event with the variant pack's tensors by UID - those the
 * graph reads before the call, those it writes after it - sized from the
 * tensor descriptors the program set (cudnn_track.c keeps them while the
 * mode is on).
 *
 * Policy: off -> pure pass-through; warn -> everything is observed and
 * logged ("observed"), nothing vetoed; enforce -> vetoes.
 */
#include "cudnn_core.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "device.h"
#include "hash_calls.h"

/* cuDNN 9 (libcudnn.so.9 re-exports the graph sub-library) and 8. */
static const char *const cudnn_graph_libs[] = {
	"libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn.so.8", NULL
};

/* Interposed: one row per definition below.  All return cudnnStatus_t
 * and answer CUDNN_STATUS_NOT_INITIALIZED when the real one is loaded
 * nowhere (resolve.c logs it once under the cudnn source). */
#define DS_CUDNN_BACKEND_HOOKS(X)                                            \
	X(cudnnBackendCreateDescriptor)                                      \
	X(cudnnBackendDestroyDescriptor)                                     \
	X(cudnnBackendSetAttribute)                                          \
	X(cudnnBackendGetAttribute)                                          \
	X(cudnnBackendFinalize)                                              \
	X(cudnnBackendExecute)
/* Only called. */
#define DS_CUDNN_BACKEND_CALLS(X) X(cudnnGetVersion) X(cudnnGetStream)

size_t cudnnGetVersion(void);
ds_cudnn_status cudnnGetStream(ds_cudnn_handle h, void **stream);

#define DS_CUDNN_SLOT(name)                                                  \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(cudnn_graph_libs, DS_SRC_CUDNN, #name);
DS_CUDNN_BACKEND_HOOKS(DS_CUDNN_SLOT)
DS_CUDNN_BACKEND_CALLS(DS_CUDNN_SLOT)
#undef DS_CUDNN_SLOT

/* Counters for the exit record. */
static atomic_ulong n_plans;        /* plan Finalize calls seen */
static atomic_ulong n_veto_nondet;  /* vetoed: nondeterministic engine */
static atomic_ulong n_veto_choice;  /* vetoed: another config chosen/pinned */
static atomic_ulong n_nofp;         /* plans without a graph fingerprint */
static atomic_ulong n_untracked;    /* descriptors the table could not hold */

/* ------------------------------------------------------------------ */
/* The algorithm cache file (cudnn_cache.c), loaded at the first plan
 * Finalize under enforce, saved at exit. */

static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void pin_load(void)
{
	__typeof__(&cudnnGetVersion) ver = ds_sym_get(&real_cudnnGetVersion);
	struct ds_cudnn_pin_hdr hdr;

	if (ds_cfg.algo_cache[0] == '\0' || !ds_enforce(DS_SRC_CUDNN))
		return;
	hdr.cudnn = ver ? (unsigned long)ver() : 0;
	ds_cu_current_device_string(hdr.device, sizeof(hdr.device));
	ds_cudnn_cache_load(ds_cfg.algo_cache, &hdr);
}

/* At exit, first in shim/init.c's exit list (before the log summary). */
void ds_cudnn_exit(void)
{
	if (atomic_load_explicit(&ds_init_state, memory_order_acquire) != DS_INIT_DONE ||
	    atomic_load(&n_plans) == 0)
		return;
	ds_cudnn_cache_save();
	ds_log_record(DS_SRC_CUDNN, "cudnnBackendFinalize", "summary",
		      "plans=%lu vetoed_nondeterministic=%lu "
		      "vetoed_not_chosen=%lu no_fingerprint=%lu graphs=%u "
		      "live_descriptors=%u untracked=%lu",
		      atomic_load(&n_plans), atomic_load(&n_veto_nondet),
		      atomic_load(&n_veto_choice), atomic_load(&n_nofp),
		      ds_cudnn_graph_count(), ds_cudnn_track_live(),
		      atomic_load(&n_untracked));
}

/* ------------------------------------------------------------------ */
/* Hooks. */

DS_EXPORT ds_cudnn_status cudnnBackendCreateDescriptor(int type,
						       ds_cudnn_desc *d)
{
	__typeof__(&cudnnBackendCreateDescriptor) f =
		ds_sym_get(&real_cudnnBackendCreateDescriptor);
	ds_cudnn_status st;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(type, d);
	if (st != DS_CUDNN_STATUS_SUCCESS || d == NULL || !ds_active() ||
	    !ds_watch(DS_SRC_CUDNN))
		return st;
	/* Variant packs are kept for call hashing only. */
	if (!ds_cudnn_track_wanted(type) &&
	    !(ds_hash_calls_on() &&
	      type == DS_CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR))
		return st;
	if (ds_cudnn_track_add(*d, type) == NULL) {
		DS_SITE(site, DS_SRC_CUDNN, "cudnnBackendCreateDescriptor");

		atomic_fetch_add(&n_untracked, 1);
		ds_event(&site, "untracked",
			 "descriptor table full (%u live); graphs built from "
			 "it get no fingerprint", ds_cudnn_track_live());
	}
	return st;
}

DS_EXPORT ds_cudnn_status cudnnBackendDestroyDescriptor(ds_cudnn_desc d)
{
	__typeof__(&cudnnBackendDestroyDescriptor) f =
		ds_sym_get(&real_cudnnBackendDestroyDescriptor);

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	/* Forget it before the address can be handed out again. */
	if (ds_active())
		ds_cudnn_track_remove(d);
	return f(d);
}

/* Fingerprint of the op graph descriptor og, if known. */
static bool graph_fp(const void *og, uint64_t *g)
{
	const struct ds_cudnn_desc *o = ds_cudnn_track_find(og);
	bool complete = false;

	if (o == NULL || o->type != DS_CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR)
		return false;
	*g = ds_cudnn_track_content(o, &complete);
	return complete;
}

static void set_og(struct ds_cudnn_desc *e, bool known, uint64_t g)
{
	if (known) {
		e->og = g;
		e->flags |= DS_CUDNN_F_OG;
	} else {
		e->flags &= ~DS_CUDNN_F_OG;
	}
}

/* An engine or heuristics descriptor e given the op graph og: its
 * fingerprint, and the graph's tensors kept for call hashing. */
static void set_graph(struct ds_cudnn_desc *e, const void *og)
{
	uint64_t g = 0;
	bool known = og && graph_fp(og, &g);

	set_og(e, known, g);
	if (DS_UNLIKELY(ds_hash_calls_on()) && known)
		ds_cudnn_hc_register(g, og);
}

DS_EXPORT ds_cudnn_status cudnnBackendSetAttribute(ds_cudnn_desc d, int name,
						   int type, int64_t count,
						   const void *vals)
{
	__typeof__(&cudnnBackendSetAttribute) f =
		ds_sym_get(&real_cudnnBackendSetAttribute);
	struct ds_cudnn_desc *e;
	ds_cudnn_status st;
	void *ref = NULL;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(d, name, type, count, vals);
	if (st != DS_CUDNN_STATUS_SUCCESS || !ds_active())
		return st;
	e = ds_cudnn_track_find(d);
	if (e == NULL)
		return st;
	if (type == DS_CUDNN_TYPE_BACKEND_DESCRIPTOR && count >= 1 && vals)
		ref = ((void *const *)vals)[0];
	if (DS_UNLIKELY(ds_hash_calls_on()))
		ds_cudnn_hc_note(e, (uint32_t)name, type, count, vals);
	switch (e->type) {
	case DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)
			e->cfg = ref;
		break;
	case DS_CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH)
			set_graph(e, ref);
		break;
	case DS_CUDNN_BACKEND_ENGINE_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_ENGINE_OPERATION_GRAPH)
			set_graph(e, ref);
		break;
	case DS_CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_ENGINECFG_ENGINE) {
			const struct ds_cudnn_desc *en = ds_cudnn_track_find(ref);

			set_og(e, en && (en->flags & DS_CUDNN_F_OG),
			       en ? en->og : 0);
		}
		break;
	default:
		ds_cudnn_track_set_attr(e, (uint32_t)name, type, count, vals);
		break;
	}
	return st;
}

DS_EXPORT ds_cudnn_status cudnnBackendGetAttribute(ds_cudnn_desc d, int name,
						   int type, int64_t req,
						   int64_t *count, void *vals)
{
	__typeof__(&cudnnBackendGetAttribute) f =
		ds_sym_get(&real_cudnnBackendGetAttribute);
	const struct ds_cudnn_desc *e;
	ds_cudnn_status st;
	int64_t i, n;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = f(d, name, type, req, count, vals);
	if (st != DS_CUDNN_STATUS_SUCCESS || vals == NULL || req <= 0 ||
	    type != DS_CUDNN_TYPE_BACKEND_DESCRIPTOR ||
	    (name != DS_CUDNN_ATTR_ENGINEHEUR_RESULTS &&
	     name != DS_CUDNN_ATTR_ENGINECFG_ENGINE) || !ds_active())
		return st;
	/* Heuristic results and the engine of a config inherit the op-graph
	 * fingerprint: cuDNN fills descriptors the program pre-created, so
	 * no SetAttribute ever tells us their graph.  (Dropping results here
	 * is not possible: cudnn-frontend copies the handles into a
	 * temporary array and keeps using its own list, so the veto at
	 * Finalize is the enforcement point.) */
	e = ds_cudnn_track_find(d);
	if (e == NULL || !(e->flags & DS_CUDNN_F_OG))
		return st;
	n = count ? *count : req;
	if (n > req)
		n = req;
	for (i = 0; i < n; i++) {
		struct ds_cudnn_desc *c =
			ds_cudnn_track_find(((void *const *)vals)[i]);

		if (c)
			set_og(c, true, e->og);
	}
	if (name == DS_CUDNN_ATTR_ENGINEHEUR_RESULTS) {
		DS_SITE(site, DS_SRC_CUDNN, "cudnnBackendGetAttribute");

		char hx[17];

		ds_event(&site, "observed", "g=%s heuristic_results=%lld",
			 ds_hex16(e->og, hx), (long long)n);
	}
	return st;
}

/* ------------------------------------------------------------------ */
/* Reading an engine config through the real library. */

struct cfg_info {
	struct ds_cudnn_cfgkey key; /* engine index + knobs */
	bool nondet;                /* NUMERICAL_NOTE_NONDETERMINISTIC */
};

/*
 * Fill info from the engine config descriptor cfg.  The getter rules
 * (docs/GPU_FACTS.md §2.3): descriptor outputs are pre-created by the
 * caller; knob choices are read into CUDNN_KNOB_TYPE_COUNTS descriptors,
 * as cudnn-frontend's buildTag does.  Returns 0 or -EIO.
 */
static int read_cfg(void *cfg, struct cfg_info *info)
{
	__typeof__(&cudnnBackendCreateDescriptor) create =
		ds_sym_get(&real_cudnnBackendCreateDescriptor);
	__typeof__(&cudnnBackendDestroyDescriptor) destroy =
		ds_sym_get(&real_cudnnBackendDestroyDescriptor);
	__typeof__(&cudnnBackendGetAttribute) get =
		ds_sym_get(&real_cudnnBackendGetAttribute);
	void *eng = NULL, *knobs[DS_CUDNN_KNOB_TYPE_COUNTS];
	int32_t notes[32];
	int64_t n = 0, idx = -1;
	int i, nk = 0, e = -EIO;

	memset(info, 0, sizeof(*info));
	if (!create || !destroy || !get)
		return -EIO;
	if (create(DS_CUDNN_BACKEND_ENGINE_DESCRIPTOR, &eng) != 0)
		return -EIO;
	if (get(cfg, DS_CUDNN_ATTR_ENGINECFG_ENGINE,
		DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &eng) != 0 || n != 1)
		goto out_eng;
	if (get(eng, DS_CUDNN_ATTR_ENGINE_GLOBAL_INDEX, DS_CUDNN_TYPE_INT64, 1,
		&n, &idx) != 0 || n != 1)
		goto out_eng;
	info->key.engine = idx;
	n = 0;
	if (get(eng, DS_CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
		DS_CUDNN_TYPE_NUMERICAL_NOTE, (int64_t)DS_ARRAY_SIZE(notes), &n,
		notes) != 0)
		goto out_eng;
	for (i = 0; i < n && i < (int)DS_ARRAY_SIZE(notes); i++)
		if (notes[i] == DS_CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC)
			info->nondet = true;
	for (nk = 0; nk < DS_CUDNN_KNOB_TYPE_COUNTS; nk++)
		if (create(DS_CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR, &knobs[nk]) != 0)
			goto out_knobs;
	n = 0;
	if (get(cfg, DS_CUDNN_ATTR_ENGINECFG_KNOB_CHOICES,
		DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, DS_CUDNN_KNOB_TYPE_COUNTS, &n,
		knobs) != 0)
		goto out_knobs;
	for (i = 0; i < n && i < DS_CUDNN_KNOB_TYPE_COUNTS &&
		    info->key.nknobs < DS_CUDNN_MAX_KNOBS; i++) {
		int32_t t = 0;
		int64_t v = 0, c = 0;

		if (get(knobs[i], DS_CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE,
			DS_CUDNN_TYPE_KNOB_TYPE, 1, &c, &t) != 0 || c != 1)
			goto out_knobs;
		if (get(knobs[i], DS_CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE,
			DS_CUDNN_TYPE_INT64, 1, &c, &v) != 0 || c != 1)
			goto out_knobs;
		info->key.ktype[info->key.nknobs] = t;
		info->key.kval[info->key.nknobs] = v;
		info->key.nknobs++;
	}
	ds_cudnn_cfgkey_normalize(&info->key);
	e = 0;
out_knobs:
	for (i = 0; i < nk; i++)
		destroy(knobs[i]);
out_eng:
	destroy(eng);
	return e;
}

/* Its pointer type is finalize_plan's first parameter. */
DS_EXPORT ds_cudnn_status cudnnBackendFinalize(ds_cudnn_desc d);

static ds_cudnn_status finalize_plan(__typeof__(&cudnnBackendFinalize) f,
				     ds_cudnn_desc d, struct ds_cudnn_desc *e)
{
	DS_SITE(site_nondet, DS_SRC_CUDNN, "cudnnBackendFinalize.nondeterministic");
	DS_SITE(site_choice, DS_SRC_CUDNN, "cudnnBackendFinalize.not_chosen");
	DS_SITE(site_chosen, DS_SRC_CUDNN, "cudnnBackendFinalize.chosen");
	DS_SITE(site_nofp, DS_SRC_CUDNN, "cudnnBackendFinalize.no_fingerprint");
	DS_SITE(site_unpin, DS_SRC_CUDNN, "cudnnBackendFinalize.unpinned");
	bool enforce = ds_enforce(DS_SRC_CUDNN);
	const struct ds_cudnn_desc *c;
	struct ds_cudnn_graph *gr = NULL;
	enum ds_cudnn_verdict v;
	struct cfg_info info;
	char ktxt[512], hx[17];
	ds_cudnn_status st;
	uint64_t kh;

	atomic_fetch_add(&n_plans, 1);
	if (read_cfg(e->cfg, &info) != 0) {
		atomic_fetch_add(&n_nofp, 1);
		ds_event(&site_nofp, "passed",
			 "engine config unreadable; plan not inspected");
		return f(d);
	}
	ds_cudnn_cfgkey_format(&info.key, ktxt, sizeof(ktxt));
	e->engine = info.key.engine;
	e->nondet = info.nondet;
	c = ds_cudnn_track_find(e->cfg);
	if (info.nondet) {
		atomic_fetch_add(&n_veto_nondet, 1);
		ds_event(&site_nondet, enforce ? "vetoed" : "observed",
			 "%s g=%s reason=nondeterministic-note", ktxt,
			 ds_hex16(c && (c->flags & DS_CUDNN_F_OG) ?
						c->og : 0, hx));
		if (enforce)
			return DS_CUDNN_STATUS_NOT_SUPPORTED;
	}
	if (c == NULL || !(c->flags & DS_CUDNN_F_OG)) {
		/* No fingerprint: never conflate graphs, only the note veto
		 * applies. */
		atomic_fetch_add(&n_nofp, 1);
		ds_event(&site_nofp, "passed",
			 "%s no operation-graph fingerprint; only the "
			 "nondeterminism veto applies", ktxt);
		return f(d);
	}
	if (!enforce)
		return f(d);
	pthread_once(&pin_once, pin_load);
	kh = ds_cudnn_cfgkey_hash(&info.key);
	v = ds_cudnn_choose(c->og, kh, ds_cfg.cudnn_choice, &gr);
	if (v == DS_CUDNN_VETO_CHOSEN || v == DS_CUDNN_VETO_PINNED) {
		atomic_fetch_add(&n_veto_choice, 1);
		ds_event(&site_choice, "vetoed", "%s g=%s reason=%s", ktxt,
			 ds_hex16(c->og, hx),
			 v == DS_CUDNN_VETO_PINNED ? "not-pinned" : "not-first");
		return DS_CUDNN_STATUS_NOT_SUPPORTED;
	}
	st = f(d);
	if (ds_cudnn_choose_done(gr, kh, v, st == DS_CUDNN_STATUS_SUCCESS)) {
		ds_warn("pinned cuDNN config %s for graph %s no longer "
			"builds (status %d); using the default choice", ktxt,
			ds_hex16(c->og, hx), st);
		ds_event(&site_unpin, "unpinned", "%s g=%s status=%d", ktxt,
			 ds_hex16(c->og, hx), st);
	}
	if (st != DS_CUDNN_STATUS_SUCCESS || gr == NULL)
		return st;
	e->graph = gr;
	e->cand = ds_cudnn_graph_cand(gr, &info.key);
	if (v == DS_CUDNN_ALLOW_FIRST || v == DS_CUDNN_ALLOW_PIN)
		ds_event(&site_chosen, v == DS_CUDNN_ALLOW_PIN ? "pinned" : "chosen",
			 "%s g=%s", ktxt, ds_hex16(c->og, hx));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnBackendFinalize(ds_cudnn_desc d)
{
	__typeof__(&cudnnBackendFinalize) f =
		ds_sym_get(&real_cudnnBackendFinalize);
	struct ds_cudnn_desc *e;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CUDNN))
		return f(d);
	e = ds_cudnn_track_find(d);
	if (e == NULL || e->type != DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR ||
	    e->cfg == NULL)
		return f(d);
	return finalize_plan(f, d, e);
}

/* The variant pack's tensors that the plan's graph reads (out false) or
 * writes (out true) into hc. */
static void hash_pack(struct ds_hc *hc, const struct ds_cudnn_hcinfo *pack,
		      const struct ds_cudnn_hc_graph *gr, bool out)
{
	unsigned i, j;

	for (i = 0; pack && i < pack->npack; i++) {
		const struct ds_cudnn_hc_tensor *t = NULL;

		for (j = 0; gr && j < gr->n; j++)
			if (gr->t[j].uid == pack->uids[i])
				t = &gr->t[j];
		if (t == NULL && !out)
			ds_hc_in(hc, NULL, 1); /* size unknown: unreadable */
		else if (t && t->out == out && out)
			ds_hc_out(hc, pack->ptrs[i], t->bytes);
		else if (t && t->out == out)
			ds_hc_in(hc, pack->ptrs[i], t->bytes);
	}
}

/* What the hashing of one cudnnBackendExecute carries across the call. */
struct execute_hc {
	struct ds_hc hc;
	const struct ds_cudnn_desc *p;        /* the plan, if tracked */
	const struct ds_cudnn_hcinfo *pack;   /* the variant pack's tensors */
	const struct ds_cudnn_hc_graph *gr;   /* the plan's graph, if known */
};

/* Before the call: the tensors the graph reads into the inputs.  False:
 * not hashed (ds_hc_begin). */
static bool execute_begin(struct execute_hc *x, ds_cudnn_handle h,
			  ds_cudnn_desc plan, ds_cudnn_desc vp)
{
	__typeof__(&cudnnGetStream) gs = ds_sym_get(&real_cudnnGetStream);
	const struct ds_cudnn_desc *p = ds_cudnn_track_find(plan);
	const struct ds_cudnn_desc *v = ds_cudnn_track_find(vp);
	const struct ds_cudnn_desc *c = p ? ds_cudnn_track_find(p->cfg) : NULL;
	void *stream = NULL;

	x->p = p;
	x->pack = v ? v->hc : NULL;
	x->gr = NULL;
	if (gs == NULL || gs(h, &stream) != DS_CUDNN_STATUS_SUCCESS)
		stream = NULL;
	if (!ds_hc_begin(&x->hc, stream))
		return false;
	if (c && (c->flags & DS_CUDNN_F_OG))
		x->gr = ds_cudnn_hc_lookup(c->og);
	if (x->pack == NULL || x->pack->npack == 0)
		ds_hc_in(&x->hc, NULL, 1); /* pack unknown: say so, never "same" */
	hash_pack(&x->hc, x->pack, x->gr, false);
	return true;
}

/* After it: the tensors it writes, and the event. */
static void execute_end(struct execute_hc *x, ds_cudnn_status st)
{
	DS_SITE(site, DS_SRC_CUDNN, "cudnnBackendExecute");
	const struct ds_cudnn_desc *p = x->p;
	const struct ds_cudnn_hc_graph *gr = x->gr;
	char what[160], why[72], hx[17];
	size_t len;
	unsigned i;

	hash_pack(&x->hc, x->pack, gr, true);
	len = ds_fmt(what, sizeof(what), "g=%s engine=%lld",
		     gr ? ds_hex16(gr->g, hx) : "?",
		     (long long)(p ? p->engine : -1));
	for (i = 0; gr && i < gr->n; i++)
		len += ds_fmt(what + len, sizeof(what) - len, " %s%lld=%s",
			      gr->t[i].out ? ">" : "", (long long)gr->t[i].uid,
			      gr->t[i].shape);
	if (p == NULL || p->engine < 0)
		ds_fmt(why, sizeof(why), "cuDNN plan not inspected");
	else if (p->nondet)
		ds_fmt(why, sizeof(why), "cuDNN engine %lld noted nondeterministic",
		       (long long)p->engine);
	else
		ds_fmt(why, sizeof(why), "cuDNN engine %lld deterministic%s",
		       (long long)p->engine,
		       p->graph == NULL ? "" :
		       p->graph->pinned ? " (pinned from the algo cache)" :
					  " (chosen by detshim)");
	ds_hc_end(&site, &x->hc, st, what, why);
}

DS_EXPORT ds_cudnn_status cudnnBackendExecute(ds_cudnn_handle h,
					      ds_cudnn_desc plan,
					      ds_cudnn_desc vp)
{
	__typeof__(&cudnnBackendExecute) f =
		ds_sym_get(&real_cudnnBackendExecute);
	const struct ds_cudnn_desc *e;
	struct execute_hc x;
	ds_cudnn_status st;
	bool on = false;

	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = execute_begin(&x, h, plan, vp);
	st = f(h, plan, vp);
	if (on)
		execute_end(&x, st);
	if (st != DS_CUDNN_STATUS_SUCCESS || !ds_active())
		return st;
	e = ds_cudnn_track_find(plan);
	if (e && e->graph && e->cand >= 0)
		atomic_fetch_add_explicit(&e->graph->cand[e->cand].execs, 1,
					  memory_order_relaxed);
	return st;
}
