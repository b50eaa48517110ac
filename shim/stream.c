/*
 * stream.c - keys, the key tree and the deterministic byte streams.
 *
 * Every byte the shim hands out is ChaCha20(key, nonce, counter) at a
 * byte position: output depends only on (process key, source, sub-key,
 * position), never on timing.  Because streams are positional, three
 * 5-byte reads equal five 3-byte reads, and a short kernel-style read
 * followed by a retry gives the same bytes as one full read.
 *
 * Invariants:
 *  - No allocation, no lock, no syscall: every function here is
 *    async-signal-safe and callable before init.
 *  - Positions live in a fixed open-addressed table claimed with CAS;
 *    concurrent readers of one (source, sub) get disjoint, contiguous
 *    ranges via atomic fetch_add (which thread gets which range follows
 *    scheduling: see README.md, "Threads and ordering").
 *  - Source numbers are mixed into nonces: enum ds_source is append-only.
 *  - fork costs the child two stores (ds_stream_fork_child): a new
 *    generation, under which every position word still carrying the old
 *    one counts as 0 and is reset by the first claim that sees it (one
 *    CAS, lock-free), and a pending key, derived H(parent, "fork",
 *    ordinal) at its first use.  Most children exec or exit without
 *    drawing, and then never pay for either.
 */
#include "detshim.h"
#include "hash.h"

#include <errno.h>
#include <string.h>

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d)                                                      \
	do {                                                                \
		a += b; d ^= a; d = ROTL32(d, 16);                          \
		c += d; b ^= c; b = ROTL32(b, 12);                          \
		a += b; d ^= a; d = ROTL32(d, 8);                           \
		c += d; b ^= c; b = ROTL32(b, 7);                           \
	} while (0)

/* One ChaCha20 block (RFC 8439 layout with a 64-bit counter and a
 * 64-bit nonce, as in the original ChaCha). */
static void chacha_block(const struct ds_key *k, uint64_t nonce,
			 uint64_t counter, uint32_t out[16])
{
	uint32_t in[16] = {
		0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
		k->w[0], k->w[1], k->w[2], k->w[3],
		k->w[4], k->w[5], k->w[6], k->w[7],
		(uint32_t)counter, (uint32_t)(counter >> 32),
		(uint32_t)nonce, (uint32_t)(nonce >> 32),
	};
	uint32_t x[16];
	int i;

	memcpy(x, in, sizeof(x));
	for (i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (i = 0; i < 16; i++)
		out[i] = x[i] + in[i];
}

static void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void ds_chacha_bytes(const struct ds_key *key, uint64_t stream_id,
		     uint64_t offset, void *buf, size_t len)
{
	uint8_t *out = buf;
	uint64_t block = offset / 64;
	size_t skip = (size_t)(offset % 64);

	while (len > 0) {
		uint32_t w[16];
		uint8_t b[64];
		size_t n;
		int i;

		chacha_block(key, stream_id, block, w);
		if (skip == 0 && len >= 64) {
			for (i = 0; i < 16; i++)
				store_le32(out + 4 * i, w[i]);
			n = 64;
		} else {
			for (i = 0; i < 16; i++)
				store_le32(b + 4 * i, w[i]);
			n = 64 - skip;
			if (n > len)
				n = len;
			memcpy(out, b + skip, n);
			skip = 0;
		}
		out += n;
		len -= n;
		block++;
	}
}

/* SplitMix64 finaliser: a bijection, used to spread small labels. */
static uint64_t mix64(uint64_t z)
{
	z += UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t label_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static void key_from_block(struct ds_key *out, const struct ds_key *parent,
			   uint64_t nonce, uint64_t counter)
{
	uint32_t w[16];

	chacha_block(parent, nonce, counter, w);
	memcpy(out->w, w, sizeof(out->w));
}

void ds_key_root(struct ds_key *out, uint64_t seed, bool rank_given,
		 uint64_t rank)
{
	/* A fixed public key: the root is a keyed function of the seed only. */
	static const struct ds_key base = { { 0x73746564, 0x206d6968,
					      0x746f6f72, 0x0079656b,
					      0x2d736421, 0x31762d6b,
					      0x00000000, 0x00000000 } };
	struct ds_key k;

	key_from_block(&k, &base, label_hash("root"), seed);
	if (rank_given)
		ds_key_derive(&k, &k, "rank", rank);
	*out = k;
}

void ds_key_derive(struct ds_key *out, const struct ds_key *parent,
		   const char *label, uint64_t n)
{
	struct ds_key k;

	key_from_block(&k, parent, label_hash(label), n);
	*out = k;
}

void ds_key_to_hex(const struct ds_key *k, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	int i, j;

	for (i = 0; i < 8; i++)
		for (j = 0; j < 8; j++)
			out[i * 8 + j] = hex[(k->w[i] >> (28 - 4 * j)) & 0xf];
	out[64] = '\0';
}

int ds_key_from_hex(struct ds_key *k, const char *hex)
{
	struct ds_key tmp;
	int i;

	for (i = 0; i < 8; i++) {
		uint64_t v;

		if (!ds_hex_parse(hex + i * 8, 8, &v)) /* stops at a NUL */
			return -EINVAL;
		tmp.w[i] = (uint32_t)v;
	}
	if (hex[64] != '\0')
		return -EINVAL;
	*k = tmp;
	return 0;
}

uint64_t ds_key_hash64(const struct ds_key *key, uint64_t domain, uint64_t x)
{
	uint32_t w[16];

	chacha_block(key, mix64(domain) ^ UINT64_C(0x68617368), x, w);
	return ((uint64_t)w[1] << 32) | w[0];
}

/* ------------------------------------------------------------------ */
/* The process key across fork. */

/*
 * Everything a fork child writes lives in this one struct (one page to
 * copy on write).  key_state: KEY_READY, ds_process_key is this process's
 * key; KEY_PENDING, it is still the parent's and the key is derived from
 * fork_parent at first use; KEY_WRITING, one caller is storing the derived
 * key.  A caller that finds the key pending or being written derives it
 * into its own scratch copy (the same bytes: the derivation is a pure
 * function), so no caller ever waits - not a signal handler that
 * interrupted the writer either.
 */
enum { KEY_READY = 0, KEY_PENDING, KEY_WRITING };

static struct {
	atomic_uint gen;          /* stream generation (16 bits used) */
	atomic_int key_state;
	uint64_t ordinal;         /* fork ordinal of the pending derivation */
	struct ds_key parent;     /* the key it derives from */
} fork_state;

const struct ds_key *ds_key_current(struct ds_key *scratch)
{
	int st = atomic_load_explicit(&fork_state.key_state,
				      memory_order_acquire);
	int expect = KEY_PENDING;

	if (DS_LIKELY(st == KEY_READY))
		return &ds_process_key;
	ds_key_derive(scratch, &fork_state.parent, "fork", fork_state.ordinal);
	if (st == KEY_PENDING &&
	    atomic_compare_exchange_strong(&fork_state.key_state, &expect,
					   KEY_WRITING)) {
		ds_process_key = *scratch;
		atomic_store_explicit(&fork_state.key_state, KEY_READY,
				      memory_order_release);
	}
	return scratch;
}

void ds_stream_fork_prepare(void)
{
	struct ds_key scratch;

	/* A child that forks before it drew derives its own key now, in
	 * the parent of the new fork, so that the new child starts from it. */
	(void)ds_key_current(&scratch);
}

void ds_stream_fork_child(uint64_t ordinal)
{
	struct ds_key scratch;

	/* READY after the prepare handler above, unless another thread was
	 * storing the key at fork: that thread does not exist here. */
	fork_state.parent = *ds_key_current(&scratch);
	fork_state.ordinal = ordinal;
	atomic_store_explicit(&fork_state.key_state, KEY_PENDING,
			      memory_order_release);
	ds_stream_reset();
}

/* ------------------------------------------------------------------ */
/* Stream positions. */

#define SLOTS 1024 /* power of two */
/* A position word is (generation << POS_BITS) | position: one stream
 * holds 2^48 bytes (256 TiB) per process, and 65536 nested forks pass
 * before a generation number comes round again. */
#define POS_BITS 48
#define POS_MASK ((UINT64_C(1) << POS_BITS) - 1)
#define GEN_MASK 0xffffu

struct slot {
	atomic_ullong tag;  /* stream id + 1; 0 = free */
	atomic_ullong pos;  /* generation and next byte position */
};

static struct slot slots[SLOTS];

static uint64_t stream_id(enum ds_source src, uint64_t sub)
{
	return mix64(sub ^ ((uint64_t)src << 56)) ^ ((uint64_t)src << 56);
}

/*
 * Take len bytes from a position word of this generation.  A word left
 * by an older generation (the parent's, before fork) counts as position
 * 0: the first caller to see it stores (gen, 0) with one CAS; a caller
 * that loses re-reads it, now current.  Tags survive fork on purpose: a
 * stream id does not depend on the key, so the parent's slot is the
 * child's slot for the same stream.
 */
static uint64_t take(atomic_ullong *pos, size_t len)
{
	uint64_t gen = atomic_load_explicit(&fork_state.gen,
					    memory_order_relaxed) & GEN_MASK;
	unsigned long long p = atomic_load_explicit(pos, memory_order_relaxed);

	while ((p >> POS_BITS) != gen)
		if (atomic_compare_exchange_weak(pos, &p,
						 (unsigned long long)gen
							 << POS_BITS))
			break;
	return atomic_fetch_add(pos, len) & POS_MASK;
}

/* Claim `len` bytes of the stream and return the start position. */
static uint64_t claim(uint64_t sid, size_t len)
{
	uint64_t tag = sid + 1;
	size_t i = (size_t)(mix64(sid) & (SLOTS - 1));
	size_t probes;

	if (tag == 0)
		tag = 1;
	for (probes = 0; probes < SLOTS; probes++) {
		struct slot *s = &slots[(i + probes) & (SLOTS - 1)];
		unsigned long long cur =
			atomic_load_explicit(&s->tag, memory_order_acquire);

		if (cur == 0) {
			unsigned long long expect = 0;

			if (atomic_compare_exchange_strong(&s->tag, &expect,
							   tag))
				cur = tag;
			else
				cur = expect;
		}
		if (cur == tag)
			return take(&s->pos, len);
	}
	/* Table full (more than SLOTS distinct sub-streams): every further
	 * stream shares one overflow position, the last slot's, still
	 * deterministic for a single-threaded program. */
	return take(&slots[SLOTS - 1].pos, len);
}

void ds_stream_fill(enum ds_source src, uint64_t sub, void *buf, size_t len)
{
	uint64_t sid = stream_id(src, sub);
	struct ds_key scratch;
	uint64_t off;

	if (len == 0)
		return;
	off = claim(sid, len);
	ds_chacha_bytes(ds_key_current(&scratch), sid, off, buf, len);
}

uint32_t ds_stream_u32(enum ds_source src, uint64_t sub)
{
	uint8_t b[4];

	ds_stream_fill(src, sub, b, sizeof(b));
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

uint64_t ds_stream_u64(enum ds_source src, uint64_t sub)
{
	uint8_t b[8];
	uint64_t v = 0;
	int i;

	ds_stream_fill(src, sub, b, sizeof(b));
	for (i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

uint64_t ds_counter_next(atomic_ullong *counter)
{
	return take(counter, 1);
}

void ds_stream_reset(void)
{
	atomic_fetch_add_explicit(&fork_state.gen, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Seed mixing. */

#define SUB_OVERRIDE UINT64_C(0x6f76657272696465) /* "override" */

uint64_t ds_seed_apply(enum ds_source src, uint64_t program_seed,
		       const char *rule, const char **how)
{
	const char *what;
	uint64_t out;

	switch (ds_cfg.seed_mode) {
	case DS_SEED_RESPECT:
		out = program_seed;
		what = "kept";
		break;
	case DS_SEED_MIX:
		/* A seed taken from the clock, an id or an address carries
		 * nothing the program means (docs/SEEDS.md): treat it as in
		 * override mode. */
		if (rule == NULL) {
			/* Explicit seeds keep their meaning across processes:
			 * one program seed gives one result in every process
			 * of the run, every rank included (keyed by the run
			 * seed alone, not the process or the rank), so that
			 * ranks which seed alike start alike, as without the
			 * shim (docs/SEEDS.md). */
			struct ds_key root;

			ds_key_root(&root, ds_cfg.seed, false, 0);
			out = ds_key_hash64(&root, (uint64_t)src,
					    program_seed);
			what = "mixed";
			break;
		}
		out = ds_stream_u64(src, SUB_OVERRIDE);
		what = "replaced-volatile";
		break;
	case DS_SEED_OVERRIDE:
	default:
		out = ds_stream_u64(src, SUB_OVERRIDE);
		what = "replaced";
		break;
	}
	if (how)
		*how = what;
	return out;
}
