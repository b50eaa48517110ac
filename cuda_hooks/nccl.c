/*
 * nccl.c - NCCL collectives, hooked for call hashing only.
 *
 * NCCL's run-to-run variance is steered by its variables (NCCL_ALGO,
 * NCCL_PROTO and the like), which pins.c sets before the library starts;
 * nothing of a collective call is rewritten here.  With gpu.hash_calls
 * on, ncclAllReduce, ncclReduceScatter, ncclAllGather, ncclReduce and
 * ncclBroadcast each log a "hashed" event (hash_calls.h): the send
 * buffer before the call, the receive buffer after it, on the call's
 * stream.  Buffers that hold nothing on this rank (the receive buffer
 * of ncclReduce off the root, the send buffer of ncclBroadcast off the
 * root) are left out.
 *
 * Inside ncclGroupStart/ncclGroupEnd a collective is only queued; it
 * runs at the outermost ncclGroupEnd (NCCL guide, "Group calls").  Such
 * a call's inputs are hashed at the call and its outputs after that
 * ncclGroupEnd: each thread keeps up to PENDING_MAX calls waiting (more
 * are logged with their outputs unreadable).
 *
 * Every hook passes straight through when the mode is off: one branch.
 * A hook whose real function is loaded nowhere answers ncclSystemError
 * (NCCL has no "not initialised" status); resolve.c logs the miss once
 * under the nccl source.
 */
#include "detshim.h"

#include <stdlib.h>
#include <string.h>

#include "hash_calls.h"

/* NCCL 2 (every release since 2.0 keeps this soname). */
static const char *const nccl_libs[] = { "libnccl.so.2", NULL };

typedef int ds_nccl_result; /* ncclResult_t */
typedef void *ds_nccl_comm; /* ncclComm_t (opaque) */

/* ncclResult_t and ncclDataType_t values (nccl.h, NCCL 2.27). */
enum {
	DS_NCCL_SUCCESS = 0,
	DS_NCCL_SYSTEM_ERROR = 2,
};

#define DS_NCCL_HOOKS(X)                                                     \
	X(ncclAllReduce)                                                     \
	X(ncclReduceScatter)                                                 \
	X(ncclAllGather)                                                     \
	X(ncclReduce)                                                        \
	X(ncclBroadcast)                                                     \
	X(ncclGroupStart)                                                    \
	X(ncclGroupEnd)
/* Only called: the communicator's size and this rank. */
#define DS_NCCL_CALLS(X)                                                     \
	X(ncclCommCount)                                                     \
	X(ncclCommUserRank)

ds_nccl_result ncclCommCount(ds_nccl_comm comm, int *count);
ds_nccl_result ncclCommUserRank(ds_nccl_comm comm, int *rank);

#define DS_NCCL_SLOT(name)                                                   \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(nccl_libs, DS_SRC_NCCL, #name);
DS_NCCL_HOOKS(DS_NCCL_SLOT)
DS_NCCL_CALLS(DS_NCCL_SLOT)
#undef DS_NCCL_SLOT

/* ncclDataType_t: bytes and name, by value. */
static const struct {
	int bytes;             /* per element */
	const char *name;      /* as nccl.h spells it, less "nccl" */
} nccl_types[] = {
	{ 1, "int8" },    { 1, "uint8" },   { 4, "int32" },   { 4, "uint32" },
	{ 8, "int64" },   { 8, "uint64" },  { 2, "float16" }, { 4, "float32" },
	{ 8, "float64" }, { 2, "bfloat16" }, { 1, "float8e4m3" },
	{ 1, "float8e5m2" },
};

static const char *const nccl_ops[] = { "sum", "prod", "max", "min", "avg" };

static size_t type_bytes(int type)
{
	return type >= 0 && type < (int)DS_ARRAY_SIZE(nccl_types) ?
		       (size_t)nccl_types[type].bytes : 0;
}

static const char *type_name(int type)
{
	return type >= 0 && type < (int)DS_ARRAY_SIZE(nccl_types) ?
		       nccl_types[type].name : "?";
}

static const char *op_name(int op)
{
	return op >= 0 && op < (int)DS_ARRAY_SIZE(nccl_ops) ? nccl_ops[op] :
							       "custom";
}

/* count elements of type, 0 (nothing read) on overflow or unknown type */
static size_t span(size_t count, int type, int times)
{
	size_t b = type_bytes(type);

	if (b == 0 || times <= 0 || count > SIZE_MAX / b / (size_t)times)
		return 0;
	return count * b * (size_t)times;
}

static int comm_int(struct ds_sym *sym, ds_nccl_comm comm)
{
	__typeof__(&ncclCommCount) f = ds_sym_get(sym);
	int v = -1;

	if (f == NULL || f(comm, &v) != DS_NCCL_SUCCESS)
		return -1;
	return v;
}

/* ------------------------------------------------------------------ */
/* Group calls: a thread's depth and the calls waiting for their outputs. */

#define PENDING_MAX 32

struct pending {
	struct ds_hc hc;       /* inputs hashed, parked */
	struct ds_site *site;  /* where the event goes */
	void *out;             /* receive buffer, NULL: none */
	size_t out_bytes;      /* its size */
	int status;            /* of the real call */
	char what[120];        /* the event's what */
	char why[72];          /* and why, as at the call */
};

static __thread int group_depth;
static __thread struct pending *pending;
static __thread unsigned npending;

/* PIN_SET rows of shim/pins.c fix NCCL's algorithm and protocol under
 * enforce (when the program did not set them). */
static const char *why_of(void)
{
	if (!ds_enforce(DS_SRC_NCCL) || !ds_cfg.env_pins)
		return group_depth > 0 ? "NCCL collective in a group" :
					 "NCCL collective";
	return group_depth > 0 ?
		       "NCCL collective in a group; NCCL_ALGO/PROTO pinned" :
		       "NCCL collective; NCCL_ALGO/PROTO pinned";
}

/* After the real call: finish now, or at the outermost ncclGroupEnd. */
static void collective_done(struct ds_site *site, struct ds_hc *hc,
			    ds_nccl_result st, void *out, size_t out_bytes,
			    const char *what)
{
	struct pending *p;

	if (group_depth == 0) {
		if (out)
			ds_hc_out(hc, out, out_bytes);
		ds_hc_end(site, hc, st, what, why_of());
		return;
	}
	if (pending == NULL)
		pending = calloc(PENDING_MAX, sizeof(*pending));
	if (pending == NULL || npending == PENDING_MAX) {
		if (out)
			ds_hc_out(hc, NULL, out_bytes); /* unreadable */
		ds_hc_end(site, hc, st, what,
			  "NCCL collective in a group of too many calls: "
			  "output not read");
		return;
	}
	ds_hc_park(hc);
	p = &pending[npending++];
	p->hc = *hc;
	p->site = site;
	p->out = out;
	p->out_bytes = out_bytes;
	p->status = st;
	ds_fmt(p->what, sizeof(p->what), "%s", what);
	ds_fmt(p->why, sizeof(p->why), "%s", why_of());
}

static void flush_pending(void)
{
	unsigned i;

	for (i = 0; i < npending; i++) {
		struct pending *p = &pending[i];

		if (p->out)
			ds_hc_out(&p->hc, p->out, p->out_bytes);
		ds_hc_end(p->site, &p->hc, p->status, p->what, p->why);
	}
	npending = 0;
}

DS_EXPORT ds_nccl_result ncclGroupStart(void)
{
	__typeof__(&ncclGroupStart) real = ds_sym_get(&real_ncclGroupStart);
	ds_nccl_result st;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	st = real();
	if (DS_UNLIKELY(ds_hash_calls_on()) && st == DS_NCCL_SUCCESS)
		group_depth++;
	return st;
}

DS_EXPORT ds_nccl_result ncclGroupEnd(void)
{
	__typeof__(&ncclGroupEnd) real = ds_sym_get(&real_ncclGroupEnd);
	ds_nccl_result st;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	st = real();
	if (DS_UNLIKELY(ds_hash_calls_on()) && group_depth > 0 &&
	    --group_depth == 0)
		flush_pending();
	return st;
}

/* ------------------------------------------------------------------ */
/* The collectives. */

DS_EXPORT ds_nccl_result ncclAllReduce(const void *send, void *recv,
				       size_t count, int type, int op,
				       ds_nccl_comm comm, void *stream)
{
	DS_SITE(site, DS_SRC_NCCL, "ncclAllReduce");
	__typeof__(&ncclAllReduce) real = ds_sym_get(&real_ncclAllReduce);
	char what[120];
	struct ds_hc hc;
	ds_nccl_result st;
	bool on = false;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	if (DS_UNLIKELY(ds_hash_calls_on()) && ds_hc_begin(&hc, stream)) {
		on = true;
		ds_hc_in(&hc, send, span(count, type, 1));
	}
	st = real(send, recv, count, type, op, comm, stream);
	if (on) {
		ds_fmt(what, sizeof(what), "count=%zu %s op=%s ranks=%d%s",
		       count, type_name(type), op_name(op),
		       comm_int(&real_ncclCommCount, comm),
		       send == recv ? " in-place" : "");
		collective_done(&site, &hc, st, recv, span(count, type, 1),
				what);
	}
	return st;
}

DS_EXPORT ds_nccl_result ncclReduceScatter(const void *send, void *recv,
					   size_t count, int type, int op,
					   ds_nccl_comm comm, void *stream)
{
	DS_SITE(site, DS_SRC_NCCL, "ncclReduceScatter");
	__typeof__(&ncclReduceScatter) real =
		ds_sym_get(&real_ncclReduceScatter);
	char what[120];
	struct ds_hc hc;
	ds_nccl_result st;
	bool on = false;
	int n = 0;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	if (DS_UNLIKELY(ds_hash_calls_on()) && ds_hc_begin(&hc, stream)) {
		on = true;
		n = comm_int(&real_ncclCommCount, comm);
		ds_hc_in(&hc, send, span(count, type, n));
	}
	st = real(send, recv, count, type, op, comm, stream);
	if (on) {
		ds_fmt(what, sizeof(what), "recvcount=%zu %s op=%s ranks=%d",
		       count, type_name(type), op_name(op), n);
		collective_done(&site, &hc, st, recv, span(count, type, 1),
				what);
	}
	return st;
}

DS_EXPORT ds_nccl_result ncclAllGather(const void *send, void *recv,
				       size_t count, int type,
				       ds_nccl_comm comm, void *stream)
{
	DS_SITE(site, DS_SRC_NCCL, "ncclAllGather");
	__typeof__(&ncclAllGather) real = ds_sym_get(&real_ncclAllGather);
	char what[120];
	struct ds_hc hc;
	ds_nccl_result st;
	bool on = false;
	int n = 0;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	if (DS_UNLIKELY(ds_hash_calls_on()) && ds_hc_begin(&hc, stream)) {
		on = true;
		n = comm_int(&real_ncclCommCount, comm);
		ds_hc_in(&hc, send, span(count, type, 1));
	}
	st = real(send, recv, count, type, comm, stream);
	if (on) {
		ds_fmt(what, sizeof(what), "sendcount=%zu %s ranks=%d", count,
		       type_name(type), n);
		collective_done(&site, &hc, st, recv, span(count, type, n),
				what);
	}
	return st;
}

DS_EXPORT ds_nccl_result ncclReduce(const void *send, void *recv,
				    size_t count, int type, int op, int root,
				    ds_nccl_comm comm, void *stream)
{
	DS_SITE(site, DS_SRC_NCCL, "ncclReduce");
	__typeof__(&ncclReduce) real = ds_sym_get(&real_ncclReduce);
	char what[120];
	struct ds_hc hc;
	ds_nccl_result st;
	bool on = false;
	int rank = -1;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	if (DS_UNLIKELY(ds_hash_calls_on()) && ds_hc_begin(&hc, stream)) {
		on = true;
		rank = comm_int(&real_ncclCommUserRank, comm);
		ds_hc_in(&hc, send, span(count, type, 1));
	}
	st = real(send, recv, count, type, op, root, comm, stream);
	if (on) {
		ds_fmt(what, sizeof(what), "count=%zu %s op=%s root=%d rank=%d",
		       count, type_name(type), op_name(op), root, rank);
		collective_done(&site, &hc, st, rank == root ? recv : NULL,
				span(count, type, 1), what);
	}
	return st;
}

DS_EXPORT ds_nccl_result ncclBroadcast(const void *send, void *recv,
				       size_t count, int type, int root,
				       ds_nccl_comm comm, void *stream)
{
	DS_SITE(site, DS_SRC_NCCL, "ncclBroadcast");
	__typeof__(&ncclBroadcast) real = ds_sym_get(&real_ncclBroadcast);
	char what[120];
	struct ds_hc hc;
	ds_nccl_result st;
	bool on = false;
	int rank = -1;

	if (real == NULL)
		return DS_NCCL_SYSTEM_ERROR;
	if (DS_UNLIKELY(ds_hash_calls_on()) && ds_hc_begin(&hc, stream)) {
		on = true;
		rank = comm_int(&real_ncclCommUserRank, comm);
		if (rank == root)
			ds_hc_in(&hc, send, span(count, type, 1));
	}
	st = real(send, recv, count, type, root, comm, stream);
	if (on) {
		ds_fmt(what, sizeof(what), "count=%zu %s root=%d rank=%d",
		       count, type_name(type), root, rank);
		collective_done(&site, &hc, st, recv, span(count, type, 1),
				what);
	}
	return st;
}
