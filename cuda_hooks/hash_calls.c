/*
 * hash_calls.c - the shared part of call hashing (hash_calls.h): stream
 * and call ordinals, reading and hashing device buffers, the "hashed"
 * event (docs/DESIGN.md §11).
 *
 * Buffers are read by copy-and-hash: after the call's stream has
 * finished (cuStreamSynchronize), each buffer is copied to the host in
 * chunks of HC_CHUNK bytes (cuMemcpyDtoHAsync on the same stream, then a
 * wait) and hashed with ds_hash_bytes, chunk by chunk.  A hashing kernel
 * would avoid the copy, but it cannot be tested without a GPU; the copy
 * can, against tests/fakes/libcuda.so.1.c.  The chunk buffer is one per
 * thread, allocated at the first hashed call and freed at thread exit.
 *
 * Costs nothing when the mode is off: no hook reaches this file then.
 * With it on, every hashed call waits for its stream twice, so the run
 * is slower (docs/measurements/BENCHMARKS.md), but what the program
 * computes is the same: the waits and copies change no result.
 *
 * Stream ordinals: a table of DS_HC_STREAMS keys, claimed by CAS in
 * first-use order; a stream destroyed and another created at its address
 * share one ordinal.  Ordinals match across runs when the program first
 * uses its streams in the same order (one thread, or threads that do not
 * race to their first call).
 */
#include "hash_calls.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "hash.h"

#define HC_CHUNK ((size_t)1 << 20)
/* Mixed in place of the bytes of a buffer that is not read. */
#define HC_UNREADABLE UINT64_C(0x756e7265616461)
#define HC_SEED_IN UINT64_C(0x68632d696e)
#define HC_SEED_OUT UINT64_C(0x68632d6f7574)

/* Keys are stream + 1, so that the legacy default stream (NULL) has a
 * key and 0 means free. */
static atomic_uintptr_t stream_key[DS_HC_STREAMS];
static atomic_ullong stream_calls[DS_HC_STREAMS + 1];

/* The thread's chunk buffer, and the depth that makes nested calls pass. */
static __thread unsigned char *hc_buf;
static __thread int hc_depth;
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static bool buf_key_ok;

static void buf_key_init(void)
{
	buf_key_ok = pthread_key_create(&buf_key, free) == 0;
}

static unsigned char *chunk_buffer(void)
{
	if (hc_buf != NULL)
		return hc_buf;
	pthread_once(&buf_once, buf_key_init);
	if (!buf_key_ok)
		return NULL;
	hc_buf = malloc(HC_CHUNK);
	if (hc_buf != NULL && pthread_setspecific(buf_key, hc_buf) != 0) {
		free(hc_buf);
		hc_buf = NULL;
	}
	return hc_buf;
}

unsigned ds_hc_stream_ordinal(const void *stream)
{
	uintptr_t want = (uintptr_t)stream + 1;
	unsigned i;

	for (i = 0; i < DS_HC_STREAMS; i++) {
		uintptr_t k = atomic_load_explicit(&stream_key[i],
						   memory_order_acquire);

		if (k == want)
			return i;
		if (k != 0)
			continue;
		if (atomic_compare_exchange_strong(&stream_key[i], &k, want) ||
		    k == want)
			return i;
	}
	return DS_HC_STREAMS;
}

bool ds_hc_begin(struct ds_hc *hc, void *stream)
{
	if (!ds_active() || ds_cfg.policy == DS_POLICY_OFF ||
	    ds_cfg.log_path[0] == '\0' || hc_depth > 0)
		return false;
	hc_depth++;
	memset(hc, 0, sizeof(*hc));
	hc->stream = stream;
	hc->in = HC_SEED_IN;
	hc->out = HC_SEED_OUT;
	return true;
}

/* Wait for the stream once per phase; a stream that cannot be waited for
 * (being captured) blocks every read of the call. */
static void wait_phase(struct ds_hc *hc)
{
	if (hc->waited || hc->blocked)
		return;
	hc->waited = true;
	if (!ds_cu_stream_wait(hc->stream))
		hc->blocked = true;
}

/* Hash n bytes at device address p into h. */
static uint64_t hash_buffer(struct ds_hc *hc, uint64_t h, const void *p,
			    size_t n)
{
	unsigned long long d = (unsigned long long)(uintptr_t)p;
	unsigned char *buf;
	size_t off;

	h = ds_mix64(h, n);
	if (n == 0)
		return h;
	wait_phase(hc);
	buf = chunk_buffer();
	if (hc->blocked || buf == NULL || !ds_cu_is_device_memory(d))
		goto out_unreadable;
	for (off = 0; off < n; off += HC_CHUNK) {
		size_t len = n - off < HC_CHUNK ? n - off : HC_CHUNK;

		if (!ds_cu_copy_to_host(buf, d + off, len, hc->stream))
			goto out_unreadable;
		h = ds_hash_bytes(h, buf, len);
	}
	return h;
out_unreadable:
	hc->unreadable++;
	return ds_mix64(ds_mix64(h, HC_UNREADABLE), n);
}

void ds_hc_in(struct ds_hc *hc, const void *p, size_t n)
{
	hc->nin++;
	hc->in = hash_buffer(hc, hc->in, p, n);
}

/* Count an output; the first one of a call starts its output phase: the
 * call has run since the inputs were read, so the stream is waited for
 * again. */
static void out_phase(struct ds_hc *hc)
{
	if (!hc->out_phase) {
		hc->out_phase = true;
		hc->waited = false;
	}
	hc->nout++;
}

void ds_hc_out(struct ds_hc *hc, const void *p, size_t n)
{
	out_phase(hc);
	hc->out = hash_buffer(hc, hc->out, p, n);
}

/* A device array of batch pointers, read 64 at a time. */
static void hash_array(struct ds_hc *hc, uint64_t *h,
		       const void *const *array, int64_t batch, size_t n)
{
	unsigned long long d = (unsigned long long)(uintptr_t)array;
	const void *ptrs[64];
	int64_t i, j;

	*h = ds_mix64(*h, (uint64_t)batch);
	wait_phase(hc);
	for (i = 0; i < batch; i += 64) {
		int64_t m = batch - i < 64 ? batch - i : 64;

		if (hc->blocked || !ds_cu_is_device_memory(d) ||
		    !ds_cu_copy_to_host(ptrs, d + (unsigned long long)i * 8,
					(size_t)m * sizeof(ptrs[0]),
					hc->stream)) {
			hc->unreadable++;
			*h = ds_mix64(ds_mix64(*h, HC_UNREADABLE), n);
			return;
		}
		for (j = 0; j < m; j++)
			*h = hash_buffer(hc, *h, ptrs[j], n);
	}
}

void ds_hc_in_array(struct ds_hc *hc, const void *const *array,
		    int64_t batch, size_t n)
{
	hc->nin++;
	hash_array(hc, &hc->in, array, batch, n);
}

void ds_hc_out_array(struct ds_hc *hc, const void *const *array,
		     int64_t batch, size_t n)
{
	out_phase(hc);
	hash_array(hc, &hc->out, array, batch, n);
}

/* cudaDataType_t (library_types.h, CUDA 13.0): value, bits, name. */
static const struct {
	int type;              /* cudaDataType_t */
	int bits;              /* per element */
	const char *name;      /* less "CUDA_" */
} dtypes[] = {
	{ 0, 32, "R_32F" },   { 1, 64, "R_64F" },   { 2, 16, "R_16F" },
	{ 3, 8, "R_8I" },     { 4, 64, "C_32F" },   { 5, 128, "C_64F" },
	{ 6, 32, "C_16F" },   { 7, 16, "C_8I" },    { 8, 8, "R_8U" },
	{ 9, 16, "C_8U" },    { 10, 32, "R_32I" },  { 11, 64, "C_32I" },
	{ 12, 32, "R_32U" },  { 13, 64, "C_32U" },  { 14, 16, "R_16BF" },
	{ 15, 32, "C_16BF" }, { 16, 4, "R_4I" },    { 17, 8, "C_4I" },
	{ 18, 4, "R_4U" },    { 19, 8, "C_4U" },    { 20, 16, "R_16I" },
	{ 21, 32, "C_16I" },  { 22, 16, "R_16U" },  { 23, 32, "C_16U" },
	{ 24, 64, "R_64I" },  { 25, 128, "C_64I" }, { 26, 64, "R_64U" },
	{ 27, 128, "C_64U" }, { 28, 8, "R_8F_E4M3" }, { 29, 8, "R_8F_E5M2" },
	{ 30, 8, "R_8F_UE8M0" }, { 31, 6, "R_6F_E2M3" }, { 32, 6, "R_6F_E3M2" },
	{ 33, 4, "R_4F_E2M1" },
};

int ds_hc_dtype_bits(int type, const char **name)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(dtypes); i++)
		if (dtypes[i].type == type) {
			*name = dtypes[i].name;
			return dtypes[i].bits;
		}
	*name = "?";
	return 0;
}

size_t ds_hc_matrix_bytes(int64_t rows, int64_t cols, int64_t ld,
			  bool row_major, int64_t batch, int64_t stride,
			  int bits)
{
	int64_t inner = row_major ? cols : rows, outer = row_major ? rows : cols;
	unsigned __int128 elems;

	if (rows <= 0 || cols <= 0 || ld < inner || batch <= 0 ||
	    stride < 0 || bits <= 0)
		return 0;
	elems = (unsigned __int128)(outer - 1) * (uint64_t)ld +
		(uint64_t)inner;
	elems += (unsigned __int128)(batch - 1) * (uint64_t)stride;
	elems = (elems * (unsigned)bits + 7) / 8;
	return elems > (unsigned __int128)(SIZE_MAX / 2) ? 0 : (size_t)elems;
}

void ds_hc_park(struct ds_hc *hc)
{
	if (!hc->parked) {
		hc->parked = true;
		hc_depth--;
	}
}

/* Append s escaped, at most max bytes of it (a JSON string body). */
static size_t escape_max(char *buf, size_t cap, size_t len, const char *s,
			 size_t max)
{
	size_t fcap = len + 1 + max;

	return ds_json_escape(buf, fcap < cap ? fcap : cap, len, s ? s : "");
}

void ds_hc_end(struct ds_site *site, struct ds_hc *hc, int status,
	       const char *what, const char *why)
{
	unsigned s = ds_hc_stream_ordinal(hc->stream);
	unsigned long long ord =
		atomic_fetch_add_explicit(&stream_calls[s], 1,
					  memory_order_relaxed);
	char fields[400], hin[17], hout[17];
	size_t len;

	len = ds_fmt(fields, sizeof(fields),
		     "\"stream\":%u,\"ord\":%llu,\"in\":\"%s\",\"out\":\"%s\","
		     "\"what\":\"", s, ord, ds_hex16(hc->in, hin),
		     ds_hex16(hc->out, hout));
	len = escape_max(fields, sizeof(fields), len, what, 120);
	len += ds_fmt(fields + len, sizeof(fields) - len, "\",\"why\":\"");
	len = escape_max(fields, sizeof(fields), len, why, 72);
	ds_fmt(fields + len, sizeof(fields) - len,
	       "\",\"status\":%d,\"unreadable\":%u", status, hc->unreadable);
	ds_event_fields_all(site, "hashed", fields,
			    "inputs=%u outputs=%u%s", hc->nin, hc->nout,
			    hc->blocked ? " (stream being captured: not read)"
					: "");
	if (!hc->parked)
		hc_depth--;
}
