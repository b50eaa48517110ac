/*
 * cudnn_core.h - pure logic behind the cuDNN hooks (no interposed symbol).
 *
 *  - cudnn_track.c: the backend-descriptor table (type, attributes set by
 *    the program, op-graph fingerprint), bounded and lock-light;
 *  - cudnn_choice.c: engine-config keys and the per-op-graph choice table
 *    (first / any / pinned);
 *  - cudnn_cache.c: the DETSHIM_ALGO_CACHE file (format, parse, load,
 *    save);
 *  - cudnn_perf.c: legacy-API helpers (filtering and reproducible order
 *    of cudnnFind / cudnnGet_v7 results, deterministic substitutes).
 * These files are core: the unit tests link them without LD_PRELOAD
 * (docs/DESIGN.md §8.1); the hooks live in cudnn_backend.c and cudnn_legacy.c.
 */
#ifndef DS_CUDNN_CORE_H
#define DS_CUDNN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/cudnn.h"
#include "detshim.h"
#include "hash.h"

/* ------------------------------------------------------------------ */
/* Attribute types (cudnn_track.c). */

/*
 * Bytes per element of a backend attribute type; 0 for types whose values
 * vary run to run and are left out of fingerprints (HANDLE, VOID_PTR) or
 * are mapped (BACKEND_DESCRIPTOR: the referenced descriptor's content
 * hash); -1 for a type this build does not know.
 */
int ds_cudnn_attr_elem_size(int type);

/* ------------------------------------------------------------------ */
/* Descriptor table (cudnn_track.c). */

#define DS_CUDNN_TRACK_CAP 65536u /* slots; a ResNet-18 run creates ~47k
				   * descriptors in all, far fewer live */
#define DS_CUDNN_MAX_ATTRS 14     /* attributes remembered per descriptor */

#define DS_CUDNN_F_INCOMPLETE 1u  /* content not fully known (no fingerprint) */
#define DS_CUDNN_F_OG 2u          /* og holds an op-graph fingerprint */

struct ds_cudnn_graph;
struct ds_cudnn_hcinfo;

struct ds_cudnn_desc {
	void *_Atomic key;            /* descriptor handle; NULL free */
	int type;                     /* cudnnBackendDescriptorType_t */
	uint32_t flags;               /* DS_CUDNN_F_* */
	uint32_t nattr;               /* used entries of names/vals */
	uint32_t names[DS_CUDNN_MAX_ATTRS]; /* attribute name */
	uint64_t vals[DS_CUDNN_MAX_ATTRS];  /* hash of (type, count, values) */
	uint64_t og;                  /* op-graph fingerprint (F_OG) */
	void *cfg;                    /* plan: engine config set at 401 */
	struct ds_cudnn_graph *graph; /* plan: choice entry after Finalize */
	int cand;                     /* plan: candidate index in graph */
	int64_t engine;               /* plan: engine global index, -1 unknown */
	bool nondet;                  /* plan: engine noted nondeterministic */
	struct ds_cudnn_hcinfo *hc;   /* call hashing only, else NULL */
};

/* True for descriptor types the hooks keep (op-graph content and the
 * heuristic -> config -> plan chain); variant packs and knob descriptors
 * are not kept. */
bool ds_cudnn_track_wanted(int type);
/* Add a descriptor (fresh state).  NULL if the table is full or the
 * handle is NULL (the descriptor is then untracked). Thread-safe. */
struct ds_cudnn_desc *ds_cudnn_track_add(void *handle, int type);
/* Find a live descriptor; NULL if untracked. Lock-free. */
struct ds_cudnn_desc *ds_cudnn_track_find(const void *handle);
/* Forget a descriptor (cudnnBackendDestroyDescriptor). Thread-safe. */
void ds_cudnn_track_remove(const void *handle);
/*
 * Remember one SetAttribute.  Values of HANDLE/VOID_PTR types are left
 * out; BACKEND_DESCRIPTOR values are replaced by the referenced
 * descriptors' content hashes (untracked or incomplete references make
 * this descriptor incomplete).  A repeated name replaces the old value.
 */
void ds_cudnn_track_set_attr(struct ds_cudnn_desc *d, uint32_t name,
			     int type, int64_t count, const void *vals);
/* Canonical content hash: type plus the attributes sorted by name.
 * *complete is false if any part of the content is unknown. */
uint64_t ds_cudnn_track_content(const struct ds_cudnn_desc *d,
				bool *complete);
/* Live descriptors (for tests and the exit summary). */
unsigned ds_cudnn_track_live(void);
/* Drop every entry (unit tests only). */
void ds_cudnn_track_reset(void);

/* ------------------------------------------------------------------ */
/* Call hashing (cuda_hooks/hash_calls.h; cudnn_track.c).  While
 * gpu.hash_calls is on, the descriptor table also keeps what
 * cudnnBackendExecute needs to hash a variant pack: each tensor's id,
 * type, dimensions and strides; which tensors each operation and graph
 * references, and as what (input or output); the variant pack's ids and
 * pointers.  A graph's tensors are registered under its fingerprint, so
 * a plan finds them through its engine config (og). */

#define DS_CUDNN_HC_REFS 16 /* references, pack entries per descriptor */
#define DS_CUDNN_HC_DIMS 8  /* CUDNN_DIM_MAX */

struct ds_cudnn_hcinfo {
	int64_t uid;                 /* tensor: CUDNN_ATTR_TENSOR_UNIQUE_ID */
	int32_t dtype;               /* tensor: cudnnDataType_t, -1 unknown */
	int32_t nd;                  /* tensor: dimensions set */
	int64_t dims[DS_CUDNN_HC_DIMS];    /* tensor: dimensions */
	int64_t strides[DS_CUDNN_HC_DIMS]; /* tensor: strides, elements */
	bool is_virtual;             /* tensor: never in a variant pack */
	unsigned nref;               /* operation, graph: used refs */
	void *refs[DS_CUDNN_HC_REFS];      /* descriptors referenced */
	bool ref_out[DS_CUDNN_HC_REFS];    /* referenced as an output */
	unsigned npack;              /* variant pack: used entries */
	int64_t uids[DS_CUDNN_HC_REFS];    /* variant pack: tensor ids */
	void *ptrs[DS_CUDNN_HC_REFS];      /* variant pack: device pointers */
};

/* One tensor of a registered graph. */
struct ds_cudnn_hc_tensor {
	int64_t uid;                 /* CUDNN_ATTR_TENSOR_UNIQUE_ID */
	size_t bytes;                /* extent in bytes, 0 unknown */
	bool out;                    /* written by the graph */
	char shape[40];              /* "float[1,3,8,8]" */
};

struct ds_cudnn_hc_graph {
	uint64_t g;                  /* op-graph fingerprint */
	unsigned n;                  /* used entries of t */
	struct ds_cudnn_hc_tensor t[DS_CUDNN_HC_REFS]; /* non-virtual tensors */
};

/* Remember one SetAttribute for call hashing (as above). */
void ds_cudnn_hc_note(struct ds_cudnn_desc *d, uint32_t name, int type,
		      int64_t count, const void *vals);
/* Register the tensors of op graph descriptor og under fingerprint g
 * (once per g; bounded).  Thread-safe. */
void ds_cudnn_hc_register(uint64_t g, const void *og);
/* The registered tensors of g, or NULL. Lock-free. */
const struct ds_cudnn_hc_graph *ds_cudnn_hc_lookup(uint64_t g);
/* Bytes a tensor spans (1 + sum of (dim - 1) * stride elements), 0 when
 * unknown. Pure. */
size_t ds_cudnn_hc_tensor_bytes(const struct ds_cudnn_hcinfo *t);

/* ------------------------------------------------------------------ */
/* Engine configs and the choice table (cudnn_choice.c). */

#define DS_CUDNN_MAX_KNOBS 24
#define DS_CUDNN_MAX_CANDS 32 /* distinct configs remembered per graph */

/* An engine config: engine global index + knob choices (sorted by type).
 * This is the identity the design measured to be needed: several knob
 * variants of one engine are separate candidates (docs/DESIGN.md §9.3). */
struct ds_cudnn_cfgkey {
	int64_t engine;                    /* CUDNN_ATTR_ENGINE_GLOBAL_INDEX */
	int nknobs;                        /* entries used */
	int32_t ktype[DS_CUDNN_MAX_KNOBS]; /* cudnnBackendKnobType_t */
	int64_t kval[DS_CUDNN_MAX_KNOBS];  /* knob value */
};

/* Sort knobs by type (then value). Pure. */
void ds_cudnn_cfgkey_normalize(struct ds_cudnn_cfgkey *k);
/* Hash of a normalized key. Pure. */
uint64_t ds_cudnn_cfgkey_hash(const struct ds_cudnn_cfgkey *k);

/* One candidate config seen for an op graph. */
struct ds_cudnn_cand {
	uint64_t khash;              /* ds_cudnn_cfgkey_hash */
	struct ds_cudnn_cfgkey key;  /* the config */
	atomic_ulong execs;          /* cudnnBackendExecute calls with it */
};

/* Choice state of one op graph (one fingerprint). */
struct ds_cudnn_graph {
	uint64_t g;                  /* op-graph fingerprint */
	bool pinned;                 /* from the algo cache file */
	uint64_t pin_khash;          /* pinned config */
	struct ds_cudnn_cfgkey pin_key; /* pinned config, for rewriting */
	bool chosen;                 /* first config that finalized */
	uint64_t chosen_khash;
	bool pending;                /* a first config is finalizing now */
	uint64_t pending_khash;
	unsigned ncand;              /* used entries of cand */
	struct ds_cudnn_cand cand[DS_CUDNN_MAX_CANDS];
};

enum ds_cudnn_verdict {
	DS_CUDNN_ALLOW = 0,      /* finalize it */
	DS_CUDNN_ALLOW_FIRST,    /* finalize it; its outcome decides the graph */
	DS_CUDNN_ALLOW_PIN,      /* the pinned config */
	DS_CUDNN_VETO_CHOSEN,    /* another config was chosen first */
	DS_CUDNN_VETO_PINNED,    /* another config is pinned */
};

/*
 * Decide whether a plan with config khash may finalize for graph g.
 * choice: DS_CUDNN_FIRST or DS_CUDNN_ANY (graphs not pinned).  *out gets
 * the graph entry (NULL if the table is full: then DS_CUDNN_ALLOW).  May
 * wait while another thread finalizes the first config of the same graph.
 * After ALLOW_FIRST or ALLOW_PIN the caller must report the real outcome
 * with ds_cudnn_choose_done.  Thread-safe.
 */
enum ds_cudnn_verdict ds_cudnn_choose(uint64_t g, uint64_t khash,
				      enum ds_cudnn_choice choice,
				      struct ds_cudnn_graph **out);
/* Report the outcome of the real Finalize.  A pinned config that fails to
 * finalize unpins the graph (falls back to choice); returns true then. */
bool ds_cudnn_choose_done(struct ds_cudnn_graph *gr, uint64_t khash,
			  enum ds_cudnn_verdict v, bool ok);
/* Index of the candidate entry for key (added if new), -1 if full. */
int ds_cudnn_graph_cand(struct ds_cudnn_graph *gr,
			const struct ds_cudnn_cfgkey *key);
/* Pin a config for graph g (loading the cache file). 0, -ENOSPC, or
 * -EEXIST if g is already pinned to another config (the first wins). */
int ds_cudnn_pin(uint64_t g, const struct ds_cudnn_cfgkey *key);
/* The config the program settled on for gr: the pinned one, else the
 * candidate executed most often (ties: the earliest); false if none ran. */
bool ds_cudnn_graph_settled(struct ds_cudnn_graph *gr,
			    struct ds_cudnn_cfgkey *out);
/* Call fn for every graph entry, under the table lock. */
void ds_cudnn_graphs_foreach(void (*fn)(struct ds_cudnn_graph *gr,
					void *arg), void *arg);
/* Number of graph entries. */
unsigned ds_cudnn_graph_count(void);
/* Drop every entry (unit tests only). */
void ds_cudnn_graphs_reset(void);

/* ------------------------------------------------------------------ */
/* The algorithm cache file, DETSHIM_ALGO_CACHE (cudnn_cache.c). */

#define DS_CUDNN_PIN_MAGIC "detshim-algo-cache"
#define DS_CUDNN_PIN_VERSION 1

/* What a file must match to be used: cuDNN version and device. */
struct ds_cudnn_pin_hdr {
	unsigned long cudnn;         /* cudnnGetVersion(), e.g. 91900 */
	char device[128];            /* "sm90 sms=132 NVIDIA H200" or "unknown" */
};

/* "eng=38 knobs=2:1,13:0" ("knobs=-" when none). Returns length. */
size_t ds_cudnn_cfgkey_format(const struct ds_cudnn_cfgkey *k, char *buf,
			      size_t cap);
/* Parse the format above (normalizes). 0 or -EINVAL. */
int ds_cudnn_cfgkey_parse(const char *s, struct ds_cudnn_cfgkey *k);
/* "detshim-algo-cache 1 cudnn=91900 device=<rest of line>\n" */
size_t ds_cudnn_pin_format_header(const struct ds_cudnn_pin_hdr *h,
				  char *buf, size_t cap);
/* "g=<16 hex> eng=.. knobs=..\n" */
size_t ds_cudnn_pin_format_line(uint64_t g, const struct ds_cudnn_cfgkey *k,
				char *buf, size_t cap);
/*
 * Parse a whole file.  For each entry calls fn(g, key, arg).  Returns the
 * number of entries, -EINVAL for a malformed file (err: "line N: why";
 * fn is not called at all then), or -ESTALE when the header names another
 * cuDNN version or device (err says which).  Blank lines and '#' comments
 * are allowed.  Pure apart from fn.
 */
int ds_cudnn_pin_parse(const char *text, size_t len,
		       const struct ds_cudnn_pin_hdr *expect,
		       void (*fn)(uint64_t g, const struct ds_cudnn_cfgkey *k,
				  void *arg),
		       void *arg, char *err, size_t errlen);

enum ds_cudnn_cache_state {
	DS_CUDNN_CACHE_NONE = 0, /* no file configured, or not yet loaded */
	DS_CUDNN_CACHE_RECORD,   /* file absent or empty: record at exit */
	DS_CUDNN_CACHE_LOADED,   /* file used; new graphs appended at exit */
	DS_CUDNN_CACHE_IGNORED   /* unreadable, stale or malformed: neither
				  * used nor rewritten (warned, logged) */
};

/* Read path and pin each entry for the choice table (ds_cudnn_pin) if the
 * file matches hdr.  Remembers path, hdr and this process for the save.
 * Returns the state it leaves. */
enum ds_cudnn_cache_state ds_cudnn_cache_load(const char *path,
					      const struct ds_cudnn_pin_hdr *hdr);
/* At exit: rewrite the loaded path with every graph's settled config, if
 * the state is RECORD or LOADED, this is the process that loaded it and a
 * graph is new.  Returns the entries written, 0 if nothing was written, or
 * -errno. */
int ds_cudnn_cache_save(void);
/* Forget the loaded file (unit tests only). */
void ds_cudnn_cache_reset(void);

/* ------------------------------------------------------------------ */
/* Legacy API helpers (cudnn_perf.c). */

enum ds_cudnn_conv_kind {
	DS_CUDNN_CONV_FWD = 0,
	DS_CUDNN_CONV_BWD_DATA,
	DS_CUDNN_CONV_BWD_FILTER
};

/* True if NVIDIA lists algo as nondeterministic for kind
 * (docs/GPU_FACTS.md §1.1). */
bool ds_cudnn_algo_nondet(enum ds_cudnn_conv_kind kind, int algo);
/* True if a perf entry is nondeterministic (listed algo or field). */
bool ds_cudnn_perf_nondet(enum ds_cudnn_conv_kind kind,
			  const struct ds_cudnn_algo_perf *p);
/*
 * Drop nondeterministic entries and order the rest reproducibly: entries
 * with status SUCCESS first, then by rank in ref (the heuristic order of
 * cudnnGet*_v7: same (algo, math type), else same algo), unranked ones by
 * (algo, math type); stable.  When retime is true, time fields are made
 * non-decreasing in the new order so a caller that picks the smallest time
 * picks entry 0.  Returns the new count.  Pure.
 */
int ds_cudnn_perf_filter(enum ds_cudnn_conv_kind kind,
			 struct ds_cudnn_algo_perf *p, int n,
			 const struct ds_cudnn_algo_perf *ref, int nref,
			 bool reorder, bool retime);
/* Deterministic substitutes for kind, in the order tried; count in *n. */
const int *ds_cudnn_substitutes(enum ds_cudnn_conv_kind kind, int *n);

#endif /* DS_CUDNN_CORE_H */
