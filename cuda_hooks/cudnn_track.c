/*
 * cudnn_track.c - the table of cuDNN backend descriptors and the
 * canonical content hash behind op-graph fingerprints.
 *
 * Why: the same operation graph must get the same engine config in every
 * run (issue 3), so the choice is keyed by what the graph *is* - op kinds,
 * tensor dims/strides/dtypes/ids, conv parameters, compute type - never
 * by descriptor addresses, which differ run to run.  cuDNN offers no way
 * to read a graph's content back in full, so the attributes the program
 * sets are remembered here as it sets them (docs/GPU_FACTS.md §2.8 item 5).
 *
 * Invariants:
 *  - bounded: DS_CUDNN_TRACK_CAP slots, allocated on first use (a program
 *    that never calls cuDNN pays nothing); a full table leaves new
 *    descriptors untracked, and anything built from them has no
 *    fingerprint (the hooks then only veto nondeterministic engines);
 *  - lock-free: open addressing keyed by the handle; a slot is claimed by
 *    CAS (EMPTY or TOMB -> BUSY), filled, then published with a release
 *    store of the key; removal stores TOMB.  A handle is live in at most
 *    one slot because cuDNN hands out each address once until destroyed;
 *  - content hashes never include pointers: HANDLE and VOID_PTR values are
 *    dropped and descriptor references are replaced by the referenced
 *    descriptor's own content hash at the time it is set (descriptors are
 *    finalized before they can be set, so their content is frozen).
 * Slot contents are written by the thread that owns the descriptor; cuDNN
 * itself forbids concurrent use of one descriptor.
 */
#include "cudnn_core.h"

#include <stdlib.h>
#include <string.h>

#define SLOT_BUSY ((void *)1)
#define SLOT_TOMB ((void *)2)
#define PROBE_MAX 64u /* bounds the cost of a miss (untracked handle) */

static struct ds_cudnn_desc *_Atomic table;
static atomic_uint live;

int ds_cudnn_attr_elem_size(int type)
{
	switch (type) {
	case DS_CUDNN_TYPE_HANDLE:
	case DS_CUDNN_TYPE_VOID_PTR:
	case DS_CUDNN_TYPE_BACKEND_DESCRIPTOR:
		return 0;
	case DS_CUDNN_TYPE_BOOLEAN: /* C bool in the vendor header */
	case DS_CUDNN_TYPE_CHAR:
		return 1;
	case DS_CUDNN_TYPE_INT64:
	case DS_CUDNN_TYPE_DOUBLE:
		return 8;
	case DS_CUDNN_TYPE_FRACTION: /* { int64_t numerator, denominator } */
		return 16;
	default:
		/* every other known type is an int-sized enum or int32 */
		if (type >= 0 && type <= DS_CUDNN_TYPE_MOE_GROUPED_MATMUL_MODE)
			return 4;
		return -1;
	}
}

bool ds_cudnn_track_wanted(int type)
{
	switch (type) {
	case DS_CUDNN_BACKEND_INTERMEDIATE_INFO_DESCRIPTOR:
	case DS_CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR:
	case DS_CUDNN_BACKEND_KNOB_INFO_DESCRIPTOR:
	case DS_CUDNN_BACKEND_LAYOUT_INFO_DESCRIPTOR:
	case DS_CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR:
	case DS_CUDNN_BACKEND_KERNEL_CACHE_DESCRIPTOR:
		return false;
	default:
		return type >= 0;
	}
}

static struct ds_cudnn_desc *get_table(bool create)
{
	struct ds_cudnn_desc *t = atomic_load_explicit(&table,
						      memory_order_acquire);
	struct ds_cudnn_desc *expect = NULL;

	if (t || !create)
		return t;
	/* calloc of this size is an mmap of zero pages: only the slots in
	 * use ever become resident. */
	t = calloc(DS_CUDNN_TRACK_CAP, sizeof(*t));
	if (t == NULL)
		return NULL;
	if (!atomic_compare_exchange_strong(&table, &expect, t)) {
		free(t);
		t = expect;
	}
	return t;
}

static inline unsigned slot_of(const void *h)
{
	uint64_t x = (uint64_t)(uintptr_t)h;

	x = (x >> 4) * UINT64_C(0x9e3779b97f4a7c15);
	return (unsigned)(x >> 40) & (DS_CUDNN_TRACK_CAP - 1);
}

struct ds_cudnn_desc *ds_cudnn_track_add(void *handle, int type)
{
	struct ds_cudnn_desc *t;
	unsigned i, s;

	if (handle == NULL || handle == SLOT_BUSY || handle == SLOT_TOMB)
		return NULL;
	t = get_table(true);
	if (t == NULL)
		return NULL;
	s = slot_of(handle);
	for (i = 0; i < PROBE_MAX; i++) {
		struct ds_cudnn_desc *d = &t[(s + i) & (DS_CUDNN_TRACK_CAP - 1)];
		void *k = atomic_load_explicit(&d->key, memory_order_relaxed);

		if (k != NULL && k != SLOT_TOMB)
			continue;
		if (!atomic_compare_exchange_strong(&d->key, &k, SLOT_BUSY))
			continue;
		d->type = type;
		d->flags = 0;
		d->nattr = 0;
		d->og = 0;
		d->cfg = NULL;
		d->graph = NULL;
		d->cand = -1;
		d->engine = -1;
		d->nondet = false;
		/* A removed descriptor's hashing notes (no one can use a
		 * destroyed descriptor: cuDNN's rule). */
		free(d->hc);
		d->hc = NULL;
		atomic_store_explicit(&d->key, handle, memory_order_release);
		atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
		return d;
	}
	return NULL;
}

struct ds_cudnn_desc *ds_cudnn_track_find(const void *handle)
{
	struct ds_cudnn_desc *t = get_table(false);
	unsigned i, s;

	if (t == NULL || handle == NULL)
		return NULL;
	s = slot_of(handle);
	for (i = 0; i < PROBE_MAX; i++) {
		struct ds_cudnn_desc *d = &t[(s + i) & (DS_CUDNN_TRACK_CAP - 1)];
		void *k = atomic_load_explicit(&d->key, memory_order_acquire);

		if (k == handle)
			return d;
		if (k == NULL)
			return NULL;
	}
	return NULL;
}

void ds_cudnn_track_remove(const void *handle)
{
	struct ds_cudnn_desc *d = ds_cudnn_track_find(handle);
	void *k = (void *)handle;

	if (d && atomic_compare_exchange_strong(&d->key, &k, SLOT_TOMB))
		atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
}

unsigned ds_cudnn_track_live(void)
{
	return atomic_load_explicit(&live, memory_order_relaxed);
}

void ds_cudnn_track_reset(void)
{
	struct ds_cudnn_desc *t = get_table(false);

	if (t)
		memset(t, 0, (size_t)DS_CUDNN_TRACK_CAP * sizeof(*t));
	atomic_store(&live, 0);
}

void ds_cudnn_track_set_attr(struct ds_cudnn_desc *d, uint32_t name,
			     int type, int64_t count, const void *vals)
{
	int esz = ds_cudnn_attr_elem_size(type);
	uint64_t h;
	uint32_t i;

	if (type == DS_CUDNN_TYPE_HANDLE || type == DS_CUDNN_TYPE_VOID_PTR)
		return; /* pointers: never part of a fingerprint */
	if (esz < 0 || count < 0 || (count > 0 && vals == NULL) ||
	    count > (1 << 20)) {
		d->flags |= DS_CUDNN_F_INCOMPLETE;
		return;
	}
	h = ds_mix64(ds_mix64(name, (uint64_t)type), (uint64_t)count);
	if (type == DS_CUDNN_TYPE_BACKEND_DESCRIPTOR) {
		void *const *refs = vals;
		int64_t j;

		for (j = 0; j < count; j++) {
			const struct ds_cudnn_desc *r = ds_cudnn_track_find(refs[j]);
			bool complete = false;

			if (r == NULL) {
				d->flags |= DS_CUDNN_F_INCOMPLETE;
				h = ds_mix64(h, 0);
				continue;
			}
			h = ds_mix64(h, ds_cudnn_track_content(r, &complete));
			if (!complete)
				d->flags |= DS_CUDNN_F_INCOMPLETE;
		}
	} else if (count > 0) {
		h = ds_hash_bytes(h, vals, (size_t)count * (size_t)esz);
	}
	for (i = 0; i < d->nattr; i++)
		if (d->names[i] == name) {
			d->vals[i] = h;
			return;
		}
	if (d->nattr == DS_CUDNN_MAX_ATTRS) {
		d->flags |= DS_CUDNN_F_INCOMPLETE;
		return;
	}
	d->names[d->nattr] = name;
	d->vals[d->nattr] = h;
	d->nattr++;
}

uint64_t ds_cudnn_track_content(const struct ds_cudnn_desc *d, bool *complete)
{
	uint32_t idx[DS_CUDNN_MAX_ATTRS];
	uint32_t i, j, n = d->nattr;
	uint64_t h;

	if (n > DS_CUDNN_MAX_ATTRS)
		n = DS_CUDNN_MAX_ATTRS;
	/* insertion sort of attribute indices by name: the order in which
	 * the program set them does not matter */
	for (i = 0; i < n; i++) {
		uint32_t v = i;

		for (j = i; j > 0 && d->names[idx[j - 1]] > d->names[v]; j--)
			idx[j] = idx[j - 1];
		idx[j] = v;
	}
	h = ds_mix64(UINT64_C(0x6364736e6e666770), (uint64_t)d->type);
	for (i = 0; i < n; i++)
		h = ds_mix64(ds_mix64(h, d->names[idx[i]]),
				 d->vals[idx[i]]);
	*complete = !(d->flags & DS_CUDNN_F_INCOMPLETE);
	return h;
}

/* ------------------------------------------------------------------ */
/* Call hashing (cudnn_core.h). */

static bool is_output_attr(uint32_t name)
{
	switch (name) {
	case DS_CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y:
	case DS_CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX:
	case DS_CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW:
	case DS_CUDNN_ATTR_OPERATION_POINTWISE_YDESC:
	case DS_CUDNN_ATTR_OPERATION_POINTWISE_DXDESC:
	case DS_CUDNN_ATTR_OPERATION_MATMUL_CDESC:
	case DS_CUDNN_ATTR_OPERATION_REDUCTION_YDESC:
		return true;
	default:
		return false;
	}
}

static struct ds_cudnn_hcinfo *hcinfo(struct ds_cudnn_desc *d)
{
	if (d->hc == NULL) {
		d->hc = calloc(1, sizeof(*d->hc));
		if (d->hc)
			d->hc->dtype = -1;
	}
	return d->hc;
}

void ds_cudnn_hc_note(struct ds_cudnn_desc *d, uint32_t name, int type,
		      int64_t count, const void *vals)
{
	struct ds_cudnn_hcinfo *h;
	int64_t i;

	/* Only what a variant pack's sizes are found through. */
	if (count <= 0 || vals == NULL ||
	    (d->type != DS_CUDNN_BACKEND_TENSOR_DESCRIPTOR &&
	     d->type != DS_CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR &&
	     type != DS_CUDNN_TYPE_BACKEND_DESCRIPTOR) ||
	    (h = hcinfo(d)) == NULL)
		return;
	if (d->type == DS_CUDNN_BACKEND_TENSOR_DESCRIPTOR) {
		if (name == DS_CUDNN_ATTR_TENSOR_UNIQUE_ID &&
		    type == DS_CUDNN_TYPE_INT64)
			memcpy(&h->uid, vals, sizeof(h->uid));
		else if (name == DS_CUDNN_ATTR_TENSOR_DATA_TYPE &&
			 type == DS_CUDNN_TYPE_DATA_TYPE)
			memcpy(&h->dtype, vals, sizeof(h->dtype));
		else if (name == DS_CUDNN_ATTR_TENSOR_IS_VIRTUAL &&
			 type == DS_CUDNN_TYPE_BOOLEAN)
			h->is_virtual = *(const bool *)vals;
		else if ((name == DS_CUDNN_ATTR_TENSOR_DIMENSIONS ||
			  name == DS_CUDNN_ATTR_TENSOR_STRIDES) &&
			 type == DS_CUDNN_TYPE_INT64 &&
			 count <= DS_CUDNN_HC_DIMS) {
			memcpy(name == DS_CUDNN_ATTR_TENSOR_DIMENSIONS ?
				       h->dims : h->strides,
			       vals, (size_t)count * sizeof(int64_t));
			if (name == DS_CUDNN_ATTR_TENSOR_DIMENSIONS)
				h->nd = (int32_t)count;
		}
		return;
	}
	if (d->type == DS_CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR) {
		if (count > DS_CUDNN_HC_REFS)
			count = DS_CUDNN_HC_REFS;
		if (name == DS_CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS &&
		    type == DS_CUDNN_TYPE_INT64) {
			memcpy(h->uids, vals, (size_t)count * sizeof(int64_t));
			h->npack = (unsigned)count;
		} else if (name == DS_CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS &&
			   type == DS_CUDNN_TYPE_VOID_PTR) {
			memcpy(h->ptrs, vals, (size_t)count * sizeof(void *));
		}
		return;
	}
	if (type != DS_CUDNN_TYPE_BACKEND_DESCRIPTOR)
		return;
	/* An operation's tensors, or a graph's operations. */
	for (i = 0; i < count && h->nref < DS_CUDNN_HC_REFS; i++) {
		h->ref_out[h->nref] = is_output_attr(name);
		h->refs[h->nref++] = ((void *const *)vals)[i];
	}
}

/* cudnnDataType_t: bits per element and name (cudnn_graph.h, 9.19). */
static const struct {
	int bits;              /* per element */
	const char *name;      /* less "CUDNN_DATA_", lower case */
} cudnn_dtypes[] = {
	{ 32, "float" },  { 64, "double" }, { 16, "half" },   { 8, "int8" },
	{ 32, "int32" },  { 32, "int8x4" }, { 8, "uint8" },   { 32, "uint8x4" },
	{ 256, "int8x32" }, { 16, "bfloat16" }, { 64, "int64" }, { 8, "bool" },
	{ 8, "fp8_e4m3" }, { 8, "fp8_e5m2" }, { 32, "fast_float_for_fp8" },
	{ 8, "fp8_e8m0" }, { 4, "fp4_e2m1" }, { 4, "int4" }, { 4, "uint4" },
	{ 32, "uint32" }, { 64, "complex_fp32" }, { 128, "complex_fp64" },
};

size_t ds_cudnn_hc_tensor_bytes(const struct ds_cudnn_hcinfo *t)
{
	unsigned __int128 elems = 1;
	int i, bits;

	if (t->dtype < 0 || t->dtype >= (int)DS_ARRAY_SIZE(cudnn_dtypes) ||
	    t->nd <= 0 || t->nd > DS_CUDNN_HC_DIMS)
		return 0;
	bits = cudnn_dtypes[t->dtype].bits;
	for (i = 0; i < t->nd; i++) {
		if (t->dims[i] <= 0 || t->strides[i] < 0)
			return 0;
		elems += (unsigned __int128)(t->dims[i] - 1) *
			 (uint64_t)t->strides[i];
	}
	elems = (elems * (unsigned)bits + 7) / 8;
	return elems > (unsigned __int128)(SIZE_MAX / 2) ? 0 : (size_t)elems;
}

static void shape_of(const struct ds_cudnn_hcinfo *t, char *buf, size_t cap)
{
	size_t len;
	int i;

	len = ds_fmt(buf, cap, "%s[", t->dtype >= 0 &&
		     t->dtype < (int)DS_ARRAY_SIZE(cudnn_dtypes) ?
			     cudnn_dtypes[t->dtype].name : "?");
	for (i = 0; i < t->nd && i < DS_CUDNN_HC_DIMS; i++)
		len += ds_fmt(buf + len, cap - len, "%s%lld", i ? "," : "",
			      (long long)t->dims[i]);
	ds_fmt(buf + len, cap - len, "]");
}

/* Add tensor descriptor ref of an operation to gr (by uid, once; an
 * output anywhere stays an output). */
static void graph_add(struct ds_cudnn_hc_graph *gr, const void *ref, bool out)
{
	const struct ds_cudnn_desc *t = ds_cudnn_track_find(ref);
	unsigned i;

	if (t == NULL || t->type != DS_CUDNN_BACKEND_TENSOR_DESCRIPTOR ||
	    t->hc == NULL || t->hc->is_virtual)
		return;
	for (i = 0; i < gr->n; i++)
		if (gr->t[i].uid == t->hc->uid) {
			gr->t[i].out |= out;
			return;
		}
	if (gr->n == DS_CUDNN_HC_REFS)
		return;
	gr->t[gr->n].uid = t->hc->uid;
	gr->t[gr->n].bytes = ds_cudnn_hc_tensor_bytes(t->hc);
	gr->t[gr->n].out = out;
	shape_of(t->hc, gr->t[gr->n].shape, sizeof(gr->t[gr->n].shape));
	gr->n++;
}

#define HC_GRAPHS 4096 /* graphs registered, at most */
static struct ds_cudnn_hc_graph *_Atomic hc_graphs[HC_GRAPHS];

void ds_cudnn_hc_register(uint64_t g, const void *og)
{
	const struct ds_cudnn_desc *o = ds_cudnn_track_find(og);
	struct ds_cudnn_hc_graph *gr, *expect;
	unsigned i, j, s;

	if (o == NULL || o->hc == NULL || ds_cudnn_hc_lookup(g) != NULL)
		return;
	gr = calloc(1, sizeof(*gr));
	if (gr == NULL)
		return;
	gr->g = g;
	for (i = 0; i < o->hc->nref; i++) {
		const struct ds_cudnn_desc *op = ds_cudnn_track_find(o->hc->refs[i]);

		if (op == NULL || op->hc == NULL)
			continue;
		for (j = 0; j < op->hc->nref; j++)
			graph_add(gr, op->hc->refs[j], op->hc->ref_out[j]);
	}
	s = (unsigned)(g % HC_GRAPHS);
	for (i = 0; i < HC_GRAPHS; i++) {
		expect = NULL;
		if (atomic_compare_exchange_strong(&hc_graphs[(s + i) % HC_GRAPHS],
						   &expect, gr))
			return;
		if (expect->g == g)
			break; /* registered meanwhile */
	}
	free(gr);
}

const struct ds_cudnn_hc_graph *ds_cudnn_hc_lookup(uint64_t g)
{
	unsigned i, s = (unsigned)(g % HC_GRAPHS);

	for (i = 0; i < HC_GRAPHS; i++) {
		const struct ds_cudnn_hc_graph *gr = atomic_load_explicit(
			&hc_graphs[(s + i) % HC_GRAPHS], memory_order_acquire);

		if (gr == NULL)
			return NULL;
		if (gr->g == g)
			return gr;
	}
	return NULL;
}
