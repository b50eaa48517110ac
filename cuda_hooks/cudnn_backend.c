/*
 * cudnn_backend.c - cuDNN backend (graph) API hooks: deterministic
 * engines, one reproducible engine config per operation graph, and the
 * DETSHIM_ALGO_CACHE pinning file.
 *
 * PyTorch 2.11 runs every convolution through this API only (design.md):
 * CreateDescriptor/SetAttribute/GetAttribute/Finalize/Execute.  The lever
 * is cudnnBackendFinalize of an EXECUTION_PLAN: answering
 * CUDNN_STATUS_NOT_SUPPORTED makes PyTorch and cudnn-frontend skip the
 * plan and try the next config (research/gpu.md §2.5, §2.6), in both
 * benchmark modes.  At that point the hook
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
 * Policy: off -> pure pass-through; warn -> everything is observed and
 * logged ("observed"), nothing vetoed; enforce -> vetoes.
 */
#include "cudnn_core.h"
#include "hook_prof.h" /* empty unless -DDS_HOOK_PROF (bench/gpu.sh) */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One row per interposed entry point: name, parameters, arguments.  All
 * return cudnnStatus_t and answer NOT_INITIALIZED when the real one is
 * missing (style.md §3, §5). */
#define DS_CUDNN_BACKEND_HOOKS(X)                                            \
	X(cudnnBackendCreateDescriptor, (int type, ds_cudnn_desc *d), (type, d)) \
	X(cudnnBackendDestroyDescriptor, (ds_cudnn_desc d), (d))              \
	X(cudnnBackendSetAttribute,                                           \
	  (ds_cudnn_desc d, int name, int type, int64_t count,                \
	   const void *vals),                                                 \
	  (d, name, type, count, vals))                                       \
	X(cudnnBackendGetAttribute,                                           \
	  (ds_cudnn_desc d, int name, int type, int64_t req, int64_t *count,  \
	   void *vals),                                                       \
	  (d, name, type, req, count, vals))                                  \
	X(cudnnBackendFinalize, (ds_cudnn_desc d), (d))                       \
	X(cudnnBackendExecute,                                                \
	  (ds_cudnn_handle h, ds_cudnn_desc plan, ds_cudnn_desc vp),          \
	  (h, plan, vp))

#define X_DECL(name, params, args)                                            \
	typedef ds_cudnn_status(*name##_fn) params;                            \
	static struct ds_cudnn_real real_##name =                              \
		DS_CUDNN_REAL_INIT(#name, ds_cudnn_libs_graph);
DS_CUDNN_BACKEND_HOOKS(X_DECL)
#undef X_DECL

#define REAL(name) ((name##_fn)ds_cudnn_real_get(&real_##name))

typedef size_t (*cudnnGetVersion_fn)(void);
static struct ds_cudnn_real real_cudnnGetVersion =
	DS_CUDNN_REAL_INIT("cudnnGetVersion", ds_cudnn_libs_graph);

/* Counters for the exit record. */
static atomic_ulong n_plans;        /* plan Finalize calls seen */
static atomic_ulong n_veto_nondet;  /* vetoed: nondeterministic engine */
static atomic_ulong n_veto_choice;  /* vetoed: another config chosen/pinned */
static atomic_ulong n_nofp;         /* plans without a graph fingerprint */
static atomic_ulong n_untracked;    /* descriptors the table could not hold */

/* ------------------------------------------------------------------ */
/* Reading an engine config through the real library. */

struct cfg_info {
	struct ds_cudnn_cfgkey key; /* engine index + knobs */
	bool nondet;                /* NUMERICAL_NOTE_NONDETERMINISTIC */
};

/*
 * Fill info from the engine config descriptor cfg.  The getter rules
 * (research/gpu.md §2.3): descriptor outputs are pre-created by the
 * caller; knob choices are read into CUDNN_KNOB_TYPE_COUNTS descriptors,
 * as cudnn-frontend's buildTag does.  Returns 0 or -EIO.
 */
static int read_cfg(void *cfg, struct cfg_info *info)
{
	cudnnBackendCreateDescriptor_fn create = REAL(cudnnBackendCreateDescriptor);
	cudnnBackendDestroyDescriptor_fn destroy = REAL(cudnnBackendDestroyDescriptor);
	cudnnBackendGetAttribute_fn get = REAL(cudnnBackendGetAttribute);
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
			9 /* CUDNN_TYPE_KNOB_TYPE */, 1, &c, &t) != 0 || c != 1)
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

/* ------------------------------------------------------------------ */
/* The pin file. */

enum pin_state {
	PIN_NONE = 0,  /* no file configured, or not yet loaded */
	PIN_RECORD,    /* file absent: record at exit */
	PIN_LOADED,    /* file used; new graphs appended at exit */
	PIN_IGNORED    /* stale or malformed: neither used nor rewritten */
};

static pthread_once_t pin_once = PTHREAD_ONCE_INIT;
static enum pin_state pin_state;
static long pin_pid;            /* process that loaded it (fork children
				 * inherit the table but do not write) */
static struct ds_cudnn_pin_hdr pin_hdr;

typedef int (*cu_int_fn)(int *);
typedef int (*cu_attr_fn)(int *, int, int);
typedef int (*cu_name_fn)(char *, int, int);

/* "sm90 sms=132 NVIDIA H200" for the current context's device, through
 * the driver the program already loaded; "unknown" without one (tests). */
static void device_string(char *out, size_t cap)
{
	cu_int_fn ctx_dev;
	cu_attr_fn attr;
	cu_name_fn name;
	int dev = 0, major = 0, minor = 0, sms = 0;
	char nm[96] = "";

	ds_fmt(out, cap, "unknown");
	ds_inside++;
	*(void **)&ctx_dev = ds_resolve_in("libcuda.so.1", "cuCtxGetDevice");
	*(void **)&attr = ds_resolve_in("libcuda.so.1", "cuDeviceGetAttribute");
	*(void **)&name = ds_resolve_in("libcuda.so.1", "cuDeviceGetName");
	ds_inside--;
	if (!ctx_dev || !attr || !name || ctx_dev(&dev) != 0)
		return;
	/* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR/MINOR = 75/76,
	 * MULTIPROCESSOR_COUNT = 16 (research/gpu.md §6.4) */
	if (attr(&major, 75, dev) != 0 || attr(&minor, 76, dev) != 0 ||
	    attr(&sms, 16, dev) != 0 || name(nm, (int)sizeof(nm) - 1, dev) != 0)
		return;
	nm[sizeof(nm) - 1] = '\0';
	ds_fmt(out, cap, "sm%d%d sms=%d %s", major, minor, sms, nm);
}

static void pin_one(uint64_t g, const struct ds_cudnn_cfgkey *k, void *arg)
{
	int *conflicts = arg;

	if (ds_cudnn_pin(g, k) == -EEXIST)
		(*conflicts)++;
}

static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, e = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || st.st_size > (4 << 20)) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? -errno : 0;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (e) {
		free(buf);
		return e;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static void pin_load(void)
{
	cudnnGetVersion_fn ver = (cudnnGetVersion_fn)ds_cudnn_real_get(
		&real_cudnnGetVersion);
	const char *path = ds_cfg.algo_cache;
	char err[512] = "";
	char *text = NULL;
	size_t len = 0;
	int e, conflicts = 0;

	if (path[0] == '\0' || !ds_enforce(DS_SRC_CUDNN))
		return;
	pin_hdr.cudnn = ver ? (unsigned long)ver() : 0;
	device_string(pin_hdr.device, sizeof(pin_hdr.device));
	pin_pid = ds_sys_getpid();
	ds_inside++;
	e = read_file(path, &text, &len);
	ds_inside--;
	if (e == -ENOENT || (e == 0 && len == 0)) {
		pin_state = PIN_RECORD;
		ds_log_record(DS_SRC_CUDNN, "algo_cache", "record",
			      "%s absent: recording the configs this run "
			      "settles on (cudnn=%lu device=%s)", path,
			      pin_hdr.cudnn, pin_hdr.device);
		free(text);
		return;
	}
	if (e) {
		pin_state = PIN_IGNORED;
		ds_warn("algorithm cache %s unreadable (error %d); ignored",
			path, -e);
		ds_log_record(DS_SRC_CUDNN, "algo_cache", "error",
			      "%s unreadable (error %d); ignored", path, -e);
		return;
	}
	e = ds_cudnn_pin_parse(text, len, &pin_hdr, pin_one, &conflicts, err,
			       sizeof(err));
	free(text);
	if (e < 0) {
		pin_state = PIN_IGNORED;
		ds_warn("algorithm cache %s %s: %s; ignored (not rewritten: "
			"delete it to record a new one)", path,
			e == -ESTALE ? "is stale" : "is malformed", err);
		ds_log_record(DS_SRC_CUDNN, "algo_cache",
			      e == -ESTALE ? "stale" : "malformed",
			      "%s: %s; ignored", path, err);
		return;
	}
	pin_state = PIN_LOADED;
	ds_log_record(DS_SRC_CUDNN, "algo_cache", "loaded",
		      "%s: %d pinned graphs (%d conflicting duplicates "
		      "ignored) cudnn=%lu device=%s", path, e, conflicts,
		      pin_hdr.cudnn, pin_hdr.device);
}

struct pin_writer {
	int fd;        /* temp file */
	int lines;     /* entries written */
	int fresh;     /* entries not pinned at load */
	int err;       /* first write error */
};

static void write_graph(struct ds_cudnn_graph *gr, void *arg)
{
	struct pin_writer *w = arg;
	struct ds_cudnn_cfgkey k;
	char line[640];
	size_t n;

	if (!ds_cudnn_graph_settled(gr, &k))
		return;
	n = ds_cudnn_pin_format_line(gr->g, &k, line, sizeof(line));
	if (ds_sys_write(w->fd, line, n) != (ssize_t)n && !w->err)
		w->err = EIO;
	w->lines++;
	if (!gr->pinned)
		w->fresh++;
}

/* Rewrite the file (temp + rename: readers never see half a file). */
static void pin_save(void)
{
	struct pin_writer w = { -1, 0, 0, 0 };
	char tmp[DS_PATH_MAX + 32], hdr[512];
	size_t n;

	if (pin_state != PIN_RECORD && pin_state != PIN_LOADED)
		return;
	if (ds_sys_getpid() != pin_pid)
		return;
	ds_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", ds_cfg.algo_cache,
	       ds_sys_getpid());
	w.fd = ds_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		ds_warn("cannot write algorithm cache %s (error %d)", tmp, -w.fd);
		return;
	}
	n = ds_cudnn_pin_format_header(&pin_hdr, hdr, sizeof(hdr));
	if (ds_sys_write(w.fd, hdr, n) != (ssize_t)n)
		w.err = EIO;
	ds_cudnn_graphs_foreach(write_graph, &w);
	ds_sys_close(w.fd);
	ds_inside++;
	if (w.err || w.fresh == 0 || rename(tmp, ds_cfg.algo_cache) != 0) {
		if (w.err)
			ds_warn("cannot write algorithm cache %s", tmp);
		unlink(tmp);
		ds_inside--;
		return;
	}
	ds_inside--;
	ds_log_record(DS_SRC_CUDNN, "algo_cache", "written",
		      "%s: %d graphs (%d new)", ds_cfg.algo_cache, w.lines,
		      w.fresh);
}

/* At exit, first in shim/init.c's exit list (before the log summary). */
void ds_cudnn_exit(void)
{
	if (atomic_load_explicit(&ds_init_state, memory_order_acquire) != 2 ||
	    atomic_load(&n_plans) == 0)
		return;
	pin_save();
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
	cudnnBackendCreateDescriptor_fn f = REAL(cudnnBackendCreateDescriptor);
	ds_cudnn_status st;

	DS_PROF_ENTER(DS_PROF_CREATE);
	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = DS_PROF_REAL(f(type, d));
	if (st != DS_CUDNN_STATUS_SUCCESS || d == NULL || !ds_active() ||
	    !ds_watch(DS_SRC_CUDNN) || !ds_cudnn_track_wanted(type))
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
	cudnnBackendDestroyDescriptor_fn f = REAL(cudnnBackendDestroyDescriptor);

	DS_PROF_ENTER(DS_PROF_DESTROY);
	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	/* Forget it before the address can be handed out again. */
	if (ds_active())
		ds_cudnn_track_remove(d);
	return DS_PROF_REAL(f(d));
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

DS_EXPORT ds_cudnn_status cudnnBackendSetAttribute(ds_cudnn_desc d, int name,
						   int type, int64_t count,
						   const void *vals)
{
	cudnnBackendSetAttribute_fn f = REAL(cudnnBackendSetAttribute);
	struct ds_cudnn_desc *e;
	ds_cudnn_status st;
	void *ref = NULL;
	uint64_t g = 0;

	DS_PROF_ENTER(DS_PROF_SET);
	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = DS_PROF_REAL(f(d, name, type, count, vals));
	if (st != DS_CUDNN_STATUS_SUCCESS || !ds_active())
		return st;
	e = ds_cudnn_track_find(d);
	if (e == NULL)
		return st;
	if (type == DS_CUDNN_TYPE_BACKEND_DESCRIPTOR && count >= 1 && vals)
		ref = ((void *const *)vals)[0];
	switch (e->type) {
	case DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)
			e->cfg = ref;
		break;
	case DS_CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH) {
			bool known = ref && graph_fp(ref, &g);

			set_og(e, known, g);
		}
		break;
	case DS_CUDNN_BACKEND_ENGINE_DESCRIPTOR:
		if (name == DS_CUDNN_ATTR_ENGINE_OPERATION_GRAPH) {
			bool known = ref && graph_fp(ref, &g);

			set_og(e, known, g);
		}
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
	cudnnBackendGetAttribute_fn f = REAL(cudnnBackendGetAttribute);
	const struct ds_cudnn_desc *e;
	ds_cudnn_status st;
	int64_t i, n;

	DS_PROF_ENTER(DS_PROF_GET);
	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = DS_PROF_REAL(f(d, name, type, req, count, vals));
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
			 ds_cudnn_hex16(e->og, hx), (long long)n);
	}
	return st;
}

static ds_cudnn_status finalize_plan(cudnnBackendFinalize_fn f,
				     ds_cudnn_desc d, struct ds_cudnn_desc *e)
{
	DS_SITE(site_nondet, DS_SRC_CUDNN, "cudnnBackendFinalize");
	DS_SITE(site_choice, DS_SRC_CUDNN, "cudnnBackendFinalize");
	DS_SITE(site_chosen, DS_SRC_CUDNN, "cudnnBackendFinalize");
	DS_SITE(site_nofp, DS_SRC_CUDNN, "cudnnBackendFinalize");
	DS_SITE(site_unpin, DS_SRC_CUDNN, "cudnnBackendFinalize");
	bool enforce = ds_enforce(DS_SRC_CUDNN);
	const struct ds_cudnn_desc *c;
	struct ds_cudnn_graph *gr = NULL;
	enum ds_cudnn_verdict v;
	struct cfg_info info;
	char ktxt[512], hx[17];
	ds_cudnn_status st;
	uint64_t kh;

	DS_PROF_SLOT(DS_PROF_FINALIZE_PLAN);
	atomic_fetch_add(&n_plans, 1);
	if (read_cfg(e->cfg, &info) != 0) {
		atomic_fetch_add(&n_nofp, 1);
		ds_event(&site_nofp, "passed",
			 "engine config unreadable; plan not inspected");
		return DS_PROF_REAL(f(d));
	}
	ds_cudnn_cfgkey_format(&info.key, ktxt, sizeof(ktxt));
	c = ds_cudnn_track_find(e->cfg);
	if (info.nondet) {
		atomic_fetch_add(&n_veto_nondet, 1);
		ds_event(&site_nondet, enforce ? "vetoed" : "observed",
			 "%s g=%s reason=nondeterministic-note", ktxt,
			 ds_cudnn_hex16(c && (c->flags & DS_CUDNN_F_OG) ?
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
		return DS_PROF_REAL(f(d));
	}
	if (!enforce)
		return DS_PROF_REAL(f(d));
	pthread_once(&pin_once, pin_load);
	kh = ds_cudnn_cfgkey_hash(&info.key);
	v = ds_cudnn_choose(c->og, kh, ds_cfg.cudnn_choice, &gr);
	if (v == DS_CUDNN_VETO_CHOSEN || v == DS_CUDNN_VETO_PINNED) {
		atomic_fetch_add(&n_veto_choice, 1);
		ds_event(&site_choice, "vetoed", "%s g=%s reason=%s", ktxt,
			 ds_cudnn_hex16(c->og, hx),
			 v == DS_CUDNN_VETO_PINNED ? "not-pinned" : "not-first");
		return DS_CUDNN_STATUS_NOT_SUPPORTED;
	}
	st = DS_PROF_REAL(f(d));
	if (ds_cudnn_choose_done(gr, kh, v, st == DS_CUDNN_STATUS_SUCCESS)) {
		ds_warn("pinned cuDNN config %s for graph %s no longer "
			"builds (status %d); using the default choice", ktxt,
			ds_cudnn_hex16(c->og, hx), st);
		ds_event(&site_unpin, "unpinned", "%s g=%s status=%d", ktxt,
			 ds_cudnn_hex16(c->og, hx), st);
	}
	if (st != DS_CUDNN_STATUS_SUCCESS || gr == NULL)
		return st;
	e->graph = gr;
	e->cand = ds_cudnn_graph_cand(gr, &info.key);
	if (v == DS_CUDNN_ALLOW_FIRST || v == DS_CUDNN_ALLOW_PIN)
		ds_event(&site_chosen, v == DS_CUDNN_ALLOW_PIN ? "pinned" : "chosen",
			 "%s g=%s", ktxt, ds_cudnn_hex16(c->og, hx));
	return st;
}

DS_EXPORT ds_cudnn_status cudnnBackendFinalize(ds_cudnn_desc d)
{
	cudnnBackendFinalize_fn f = REAL(cudnnBackendFinalize);
	struct ds_cudnn_desc *e;

	DS_PROF_ENTER(DS_PROF_FINALIZE_OTHER);
	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CUDNN))
		return DS_PROF_REAL(f(d));
	e = ds_cudnn_track_find(d);
	if (e == NULL || e->type != DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR ||
	    e->cfg == NULL)
		return DS_PROF_REAL(f(d));
	return finalize_plan(f, d, e);
}

DS_EXPORT ds_cudnn_status cudnnBackendExecute(ds_cudnn_handle h,
					      ds_cudnn_desc plan,
					      ds_cudnn_desc vp)
{
	cudnnBackendExecute_fn f = REAL(cudnnBackendExecute);
	const struct ds_cudnn_desc *e;
	ds_cudnn_status st;

	DS_PROF_ENTER(DS_PROF_EXECUTE);
	if (f == NULL)
		return DS_CUDNN_STATUS_NOT_INITIALIZED;
	st = DS_PROF_REAL(f(h, plan, vp));
	if (st != DS_CUDNN_STATUS_SUCCESS || !ds_active())
		return st;
	e = ds_cudnn_track_find(plan);
	if (e && e->graph && e->cand >= 0)
		atomic_fetch_add_explicit(&e->graph->cand[e->cand].execs, 1,
					  memory_order_relaxed);
	return st;
}
