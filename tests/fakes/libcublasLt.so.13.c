/*
 * Fake libcublasLt.so.13 for the hook tests (docs/DESIGN.md §8.14).
 *
 * The heuristic offers scripted algorithms: FAKE_LT_SCHEMES is a comma
 * list of reduction schemes in heuristic order (default "1,0,2,0"); an
 * algo's data[0] holds its scheme, data[1] its split-K count (4 for a
 * split scheme, else 1), data[2] its index.  The preference's
 * REDUCTION_SCHEME_MASK is honoured like the real library, unless
 * FAKE_LT_IGNORE_MASK=1 (an older or misbehaving library), so both the
 * mask and the result filter of the shim can be seen.  cublasLtMatmul
 * records the index of the algo it ran (-1 for NULL), and writes D from
 * A, B and C (fake_compute.h) when it is given layouts.  Matrix layouts
 * and matmul descriptors keep what they were created with, for the
 * shim's call hashing to read back.
 *
 * For the batch-invariant profile the heuristic's choice depends on n
 * (D's columns, when D is given), as a real one's does: below
 * FAKE_LT_SMALL_N (default 64) it offers tile 1, else tile 2 (data[3];
 * the algo id, data[4], is 10 + the index; the stages, data[5], ten
 * times the tile).  cublasLtMatmulAlgoCheck accepts any algo unless n is
 * at least FAKE_LT_CHECK_FAIL_N (then NOT_SUPPORTED) and reports
 * FAKE_LT_CHECK_WS bytes of workspace (default 0).  Descriptors keep
 * every int attribute set on them (TRANSA and the rest), preferences
 * their alignments.  Probes count heuristic and check calls, and the
 * preferences created and not destroyed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_compute.h"

/* cublasLtMatrixLayout_t: the attributes call hashing reads. */
struct layout {
	uint32_t type;
	int32_t order;
	uint64_t rows, cols;
	int64_t ld;
	int32_t batch;
	int64_t stride;
};
#define DESC_ATTRS 40
struct mdesc {
	int32_t compute;
	int32_t scale;
	int32_t attr[DESC_ATTRS]; /* the other int32 attributes; [25]: int8 */
	unsigned char set[DESC_ATTRS];
};

/* Bytes of a float layout, column-major or (order 1) row-major. */
static size_t layout_bytes(const struct layout *l)
{
	uint64_t inner, outer;

	if (l == NULL || l->rows == 0 || l->cols == 0)
		return 0;
	inner = l->order == 1 ? l->cols : l->rows;
	outer = l->order == 1 ? l->rows : l->cols;
	return ((outer - 1) * (uint64_t)l->ld + inner) * 4;
}


struct algo { uint64_t data[8]; };
struct result {
	struct algo algo;
	size_t workspace;
	int state;
	float waves;
	int reserved[4];
};
struct pref {
	uint32_t mask;
	uint64_t impl;
	uint64_t maxws;
	uint32_t align[4];
};

#define OK 0
#define BAD 7
#define NOTSUP 15

static int last_index = -2;
static int last_tile = -2;
static uint32_t last_mask = 0xffffffffu;
static int heuristic_calls, check_calls, live_prefs;

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : dflt;
}

int cublasLtMatmulPreferenceCreate(struct pref **p)
{
	*p = calloc(1, sizeof(**p));
	live_prefs++;
	(*p)->mask = 7;
	(*p)->impl = ~UINT64_C(0);
	(*p)->align[0] = (*p)->align[1] = (*p)->align[2] = (*p)->align[3] = 256;
	return OK;
}

int cublasLtMatmulPreferenceDestroy(struct pref *p)
{
	if (p)
		live_prefs--;
	free(p);
	return OK;
}

int cublasLtMatmulPreferenceSetAttribute(struct pref *p, int attr,
					 const void *buf, size_t n)
{
	if (p == NULL || buf == NULL)
		return BAD;
	if (attr == 3 && n == 4)
		memcpy(&p->mask, buf, 4);
	else if (attr == 12 && n == 8)
		memcpy(&p->impl, buf, 8);
	else if (attr == 1 && n == 8)
		memcpy(&p->maxws, buf, 8);
	else if (attr >= 5 && attr <= 8 && n == 4)
		memcpy(&p->align[attr - 5], buf, 4);
	else
		return BAD;
	return OK;
}

int cublasLtMatmulPreferenceGetAttribute(struct pref *p, int attr, void *buf,
					 size_t n, size_t *written)
{
	if (p == NULL || buf == NULL)
		return BAD;
	if (attr == 3 && n == 4)
		memcpy(buf, &p->mask, 4);
	else if (attr == 12 && n == 8)
		memcpy(buf, &p->impl, 8);
	else if (attr == 1 && n == 8)
		memcpy(buf, &p->maxws, 8);
	else if (attr >= 5 && attr <= 8 && n == 4)
		memcpy(buf, &p->align[attr - 5], 4);
	else
		return BAD;
	if (written)
		*written = n;
	return OK;
}

int cublasLtMatmulAlgoGetHeuristic(void *h, void *d, void *A, void *B,
				   void *C, void *D, struct pref *p, int req,
				   struct result res[], int *ret)
{
	const char *s = getenv("FAKE_LT_SCHEMES");
	const char *ign = getenv("FAKE_LT_IGNORE_MASK");
	uint32_t mask = p ? p->mask : 7;
	int n = 0, idx = 0;

	const struct layout *dl = D;
	uint64_t tile = dl && dl->cols < (uint64_t)env_long("FAKE_LT_SMALL_N", 64)
				? 1 : 2;

	(void)h; (void)d; (void)A; (void)B; (void)C;
	heuristic_calls++;
	if (req <= 0 || res == NULL || ret == NULL)
		return BAD;
	if (s == NULL)
		s = "1,0,2,0";
	last_mask = mask;
	while (*s && n < req) {
		uint32_t scheme = (uint32_t)strtoul(s, (char **)&s, 10);

		if (*s == ',')
			s++;
		if ((ign == NULL || ign[0] != '1') && (scheme & ~mask) != 0) {
			idx++;
			continue;
		}
		memset(&res[n], 0, sizeof(res[n]));
		res[n].algo.data[0] = scheme;
		res[n].algo.data[1] = scheme ? 4 : 1;
		res[n].algo.data[2] = (uint64_t)idx;
		res[n].algo.data[3] = tile;
		res[n].algo.data[4] = 10 + (uint64_t)idx;
		res[n].algo.data[5] = tile * 10;
		res[n].state = OK;
		res[n].waves = 1.0f;
		n++;
		idx++;
	}
	*ret = n;
	return n ? OK : NOTSUP;
}

int cublasLtMatmulAlgoConfigGetAttribute(const struct algo *a, int attr,
					 void *buf, size_t n, size_t *written)
{
	if (a == NULL || buf == NULL)
		return BAD;
	if (attr == 3 && n == 4) {
		uint32_t v = (uint32_t)a->data[0];
		memcpy(buf, &v, 4);
	} else if (attr == 2 && n == 4) {
		int32_t v = (int32_t)a->data[1];
		memcpy(buf, &v, 4);
	} else if (attr == 0 && n == 4) {
		int32_t v = (int32_t)a->data[4];
		memcpy(buf, &v, 4);
	} else if (attr == 1 && n == 4) {
		uint32_t v = (uint32_t)a->data[3];
		memcpy(buf, &v, 4);
	} else if (attr == 6 && n == 4) {
		uint32_t v = (uint32_t)a->data[5];
		memcpy(buf, &v, 4);
	} else {
		return BAD;
	}
	if (written)
		*written = n;
	return OK;
}

int cublasLtMatmul(void *h, void *d, const void *alpha, const void *a,
		   void *A, const void *b, void *B, const void *beta,
		   const void *c, void *C, void *dd, void *D,
		   const struct algo *algo, void *ws, size_t wss, void *stream)
{
	(void)h; (void)d; (void)alpha; (void)beta; (void)C; (void)ws;
	(void)wss; (void)stream;
	last_index = algo ? (int)algo->data[2] : -1;
	last_tile = algo ? (int)algo->data[3] : -1;
	if (A && B && D && a && b && dd) {
		fake_compute("cublasLtMatmul", dd, layout_bytes(D), a,
			     layout_bytes(A), b, layout_bytes(B));
		if (c && c != dd) /* beta * C, as a fixed function */
			((unsigned char *)dd)[1] ^= *(const unsigned char *)c;
	}
	return OK;
}

int cublasLtMatrixLayoutCreate(struct layout **l, uint32_t type,
			       uint64_t rows, uint64_t cols, int64_t ld)
{
	*l = calloc(1, sizeof(**l));
	if (*l == NULL)
		return BAD;
	(*l)->type = type;
	(*l)->rows = rows;
	(*l)->cols = cols;
	(*l)->ld = ld;
	(*l)->batch = 1;
	return OK;
}

int cublasLtMatrixLayoutDestroy(struct layout *l)
{
	free(l);
	return OK;
}

/* attr: 0 type, 1 order, 2 rows, 3 cols, 4 ld, 5 batch, 6 stride */
static void *layout_field(struct layout *l, int attr, size_t *size)
{
	switch (attr) {
	case 0: *size = 4; return &l->type;
	case 1: *size = 4; return &l->order;
	case 2: *size = 8; return &l->rows;
	case 3: *size = 8; return &l->cols;
	case 4: *size = 8; return &l->ld;
	case 5: *size = 4; return &l->batch;
	case 6: *size = 8; return &l->stride;
	default: return NULL;
	}
}

int cublasLtMatrixLayoutSetAttribute(struct layout *l, int attr,
				     const void *buf, size_t n)
{
	size_t size = 0;
	void *f = l ? layout_field(l, attr, &size) : NULL;

	if (f == NULL || n != size)
		return BAD;
	memcpy(f, buf, n);
	return OK;
}

int cublasLtMatrixLayoutGetAttribute(struct layout *l, int attr, void *buf,
				     size_t n, size_t *written)
{
	size_t size = 0;
	void *f = l ? layout_field(l, attr, &size) : NULL;

	if (f == NULL || n != size)
		return BAD;
	memcpy(buf, f, n);
	if (written)
		*written = n;
	return OK;
}

int cublasLtMatmulDescCreate(struct mdesc **d, int32_t compute, int32_t scale)
{
	*d = calloc(1, sizeof(**d));
	if (*d == NULL)
		return BAD;
	(*d)->compute = compute;
	(*d)->scale = scale;
	return OK;
}

int cublasLtMatmulDescDestroy(struct mdesc *d)
{
	free(d);
	return OK;
}

/* attr 0 compute, 1 scale (int32), 25 FAST_ACCUM (int8), 3..39 other
 * int32 attributes (unset ones read as their default 0, except
 * EPILOGUE (7), default 1); 8 BIAS_POINTER and others not kept: BAD. */
static int desc_size(int attr)
{
	if (attr < 0 || attr >= DESC_ATTRS || attr == 8 || (attr >= 17 &&
	    attr <= 21) || attr == 23 || attr == 24 || (attr >= 29 &&
	    attr <= 30))
		return 0;
	return attr == 25 ? 1 : 4;
}

int cublasLtMatmulDescSetAttribute(struct mdesc *d, int attr,
				   const void *buf, size_t n)
{
	int size = d ? desc_size(attr) : 0;

	if (size == 0 || n != (size_t)size || buf == NULL)
		return BAD;
	if (attr == 0) {
		memcpy(&d->compute, buf, 4);
	} else if (attr == 1) {
		memcpy(&d->scale, buf, 4);
	} else if (size == 1) {
		d->attr[attr] = *(const int8_t *)buf;
	} else {
		memcpy(&d->attr[attr], buf, 4);
	}
	d->set[attr] = 1;
	return OK;
}

int cublasLtMatmulDescGetAttribute(struct mdesc *d, int attr, void *buf,
				   size_t n, size_t *written)
{
	int size = d ? desc_size(attr) : 0;
	int32_t v;

	if (size == 0 || n != (size_t)size || buf == NULL)
		return BAD;
	if (attr == 0)
		v = d->compute;
	else if (attr == 1)
		v = d->scale;
	else
		v = d->set[attr] ? d->attr[attr] : attr == 7 ? 1 : 0;
	if (size == 1) {
		int8_t b = (int8_t)v;
		memcpy(buf, &b, 1);
	} else {
		memcpy(buf, &v, 4);
	}
	if (written)
		*written = (size_t)size;
	return OK;
}

int cublasLtMatmulAlgoCheck(void *h, struct mdesc *d, void *A, void *B,
			    void *C, struct layout *D, const struct algo *a,
			    struct result *r)
{
	long fail = env_long("FAKE_LT_CHECK_FAIL_N", 0);

	(void)h; (void)d; (void)A; (void)B; (void)C;
	check_calls++;
	if (a == NULL || r == NULL || D == NULL)
		return BAD;
	if (fail > 0 && D->cols >= (uint64_t)fail)
		return NOTSUP;
	r->workspace = (size_t)env_long("FAKE_LT_CHECK_WS", 0);
	r->state = OK;
	r->waves = 2.0f;
	return OK;
}

/* Test probes. */
int fake_lt_last_index(void) { return last_index; }
uint32_t fake_lt_last_mask(void) { return last_mask; }
int fake_lt_last_tile(void) { return last_tile; }
int fake_lt_heuristic_calls(void) { return heuristic_calls; }
int fake_lt_check_calls(void) { return check_calls; }
int fake_lt_live_prefs(void) { return live_prefs; }
