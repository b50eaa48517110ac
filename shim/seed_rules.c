/*
 * seed_rules.c - the volatility rules for seeds (docs/SEEDS.md).
 *
 * A seed is volatile when it is a simple function of a value the process
 * obtained from a clock, a pid or tid, the time-stamp counter, or of an
 * address of the process.  provenance.c records those values per thread
 * as the program gets them; these rules only compare.  Everything here
 * is pure: no allocation, no system call, async-signal-safe.
 *
 * The search is bounded: DS_PROV_VALS records x a few bases each x the
 * ids x the operations x the odd constants, about 40 000 comparisons
 * (tens of microseconds) per seeding call.  The chance that an explicit
 * 32-bit seed matches one of them by accident is about 1e-5 per call
 * (docs/SEEDS.md, "False positives").
 */
#include "seed_rules.h"

#include <string.h>

#include "detshim.h"

#define M32 UINT64_C(0xffffffff)
#define M16 UINT64_C(0xffff)

/* Odd multipliers found in seeding code: Knuth's and the golden-ratio
 * hashes, LCG multipliers, FNV primes, MurmurHash constants, and 7919,
 * README.md's example of a seed a value heuristic misses. */
static const uint64_t odd_constants[] = {
	UINT64_C(2654435761),         UINT64_C(2654435769),
	UINT64_C(0x9e3779b97f4a7c15), UINT64_C(1103515245),
	UINT64_C(69069),              UINT64_C(1664525),
	UINT64_C(6364136223846793005), UINT64_C(1000003),
	UINT64_C(16777619),           UINT64_C(1099511628211),
	UINT64_C(0x85ebca6b),         UINT64_C(0xcc9e2d51),
	UINT64_C(0x27d4eb2d),         UINT64_C(0x5bd1e995),
	UINT64_C(2862933555777941757), UINT64_C(48271),
	UINT64_C(16807),              UINT64_C(7919),
	UINT64_C(31),                 UINT64_C(33),
	UINT64_C(37),                 UINT64_C(101),
};

struct base {
	const char *name;
	uint64_t v;
	bool field; /* a field as returned (judged at 16 bits too) */
};

/* The values a record stands for: its fields and the usual ways to
 * make one number of seconds and a sub-second field. */
static size_t bases_of(const struct ds_prov_val *r, struct base *out)
{
	uint64_t a = r->a, b = r->b;
	size_t n = 0;

#define B(nm, val, fld) (out[n].name = (nm), out[n].v = (val), \
			 out[n].field = (fld), n++)
	switch (r->kind) {
	case DS_PROV_SEC:
		B("sec", a, true);
		break;
	case DS_PROV_TS:
		B("sec", a, true);
		B("nsec", b, true);
		B("ns", a * 1000000000u + b, false);
		B("us", a * 1000000u + b / 1000u, false);
		B("ms", a * 1000u + b / 1000000u, false);
		B("usec", b / 1000u, false);
		B("sec^sub", a ^ b, false);
		B("sec+sub", a + b, false);
		break;
	case DS_PROV_TV:
		B("sec", a, true);
		B("usec", b, true);
		B("us", a * 1000000u + b, false);
		B("ms", a * 1000u + b / 1000u, false);
		B("sec^sub", a ^ b, false);
		B("sec+sub", a + b, false);
		break;
	case DS_PROV_TB:
		B("sec", a, true);
		B("millitm", b, true);
		B("ms", a * 1000u + b, false);
		break;
	case DS_PROV_CLOCK:
		B("clock", a, true);
		break;
	case DS_PROV_ID:
		B("id", a, true);
		break;
	default:
		break;
	}
#undef B
	return n;
}

struct judge {
	uint64_t seed;
	uint64_t wmask; /* the seed's own width */
	bool try32;     /* the seed fits 32 bits: truncation to 32 counts */
	char *rule;
	size_t cap;
};

static bool hit(const struct judge *j, uint64_t v, const char *op, bool mul,
		const char *base)
{
	const char *trunc;

	if (((v ^ j->seed) & j->wmask) == 0)
		trunc = (v & ~j->wmask) ? (j->wmask == M32 ? "/32" : "/48") : "";
	else if (j->try32 && (v & M32) == j->seed)
		trunc = "/32";
	else
		return false;
	if (mul && strcmp(op, "identity") == 0)
		ds_fmt(j->rule, j->cap, "mul-odd%s:%s", trunc, base);
	else
		ds_fmt(j->rule, j->cap, "%s%s%s:%s", op, mul ? "*odd" : "",
		       trunc, base);
	return true;
}

/* v, then v times each odd constant. */
static bool hit_or_mul(const struct judge *j, uint64_t v, const char *op,
		       const char *base)
{
	size_t i;

	if (hit(j, v, op, false, base))
		return true;
	for (i = 0; i < DS_ARRAY_SIZE(odd_constants); i++)
		if (hit(j, v * odd_constants[i], op, true, base))
			return true;
	return false;
}

/* The operations combining a base b with an id p. */
static bool combos(const struct judge *j, uint64_t b, uint64_t p,
		   const char *base)
{
	static const unsigned shifts[] = { 8, 16 };
	size_t i;

	if (hit_or_mul(j, b ^ p, "xor-id", base) ||
	    hit_or_mul(j, b + p, "add-id", base) ||
	    hit_or_mul(j, b - p, "sub-id", base) ||
	    hit_or_mul(j, p - b, "sub-id", base))
		return true;
	for (i = 0; i < DS_ARRAY_SIZE(shifts); i++) {
		unsigned k = shifts[i];

		if (hit_or_mul(j, (b << k) ^ p, "shift-id", base) ||
		    hit_or_mul(j, (b << k) + p, "shift-id", base) ||
		    hit_or_mul(j, b ^ (p << k), "shift-id", base))
			return true;
	}
	/* Multiplied first, then combined: (t * C) ^ pid. */
	for (i = 0; i < DS_ARRAY_SIZE(odd_constants); i++) {
		uint64_t m = b * odd_constants[i];

		if (hit(j, m ^ p, "xor-id", true, base) ||
		    hit(j, m + p, "add-id", true, base))
			return true;
	}
	return false;
}

static bool near(uint64_t a, uint64_t b, uint64_t tol)
{
	return (a > b ? a - b : b - a) <= tol;
}

/* The clock read by nobody the shim saw (another thread, a raw system
 * call): within two days of now in s, ms, us or ns, as is or after xor or
 * minus the pid. */
static bool near_now(const struct judge *j, const struct ds_seed_ctx *c)
{
	static const char *const unit[] = { "sec", "ms", "us", "ns" };
	const uint64_t day = 86400;
	uint64_t now[4], tol[4];
	uint64_t cand[3];
	size_t i, u;

	now[0] = c->now_ns / 1000000000u;
	now[1] = c->now_ns / 1000000u;
	now[2] = c->now_ns / 1000u;
	now[3] = c->now_ns;
	tol[0] = 2 * day;
	tol[1] = tol[0] * 1000u;
	tol[2] = tol[1] * 1000u;
	tol[3] = tol[2] * 1000u;
	cand[0] = j->seed;
	cand[1] = j->seed ^ c->ids[0];
	cand[2] = j->seed - c->ids[0];
	if (c->now_ns == 0)
		return false;
	for (i = 0; i < DS_ARRAY_SIZE(cand); i++)
		for (u = 0; u < 4; u++)
			if (near(cand[i], now[u], tol[u])) {
				ds_fmt(j->rule, j->cap, "near-now:%s", unit[u]);
				return true;
			}
	return false;
}

/* The time-stamp counter: a fresh read is a little later than the
 * program's.  64 bits: within 2^40 cycles (minutes) and not before the
 * shim started (a machine booted minutes ago has a counter below 2^40,
 * and then every small constant would fall in the window); 32 bits:
 * within 2^18 cycles (under 100 us at 3 GHz), and only for seeds of at
 * least 2^18, so that small constants are never judged by it. */
#define TSC_WINDOW64 (UINT64_C(1) << 40)
#define TSC_WINDOW32 (UINT64_C(1) << 18)

static bool tsc_rule(const struct judge *j, const struct ds_seed_ctx *c)
{
	if (c->tsc == 0)
		return false;
	if (j->wmask != M32 && j->seed <= c->tsc &&
	    c->tsc - j->seed < TSC_WINDOW64 && c->tsc_start != 0 &&
	    j->seed >= c->tsc_start) {
		ds_fmt(j->rule, j->cap, "tsc");
		return true;
	}
	if (j->seed <= M32 && j->seed >= TSC_WINDOW32 &&
	    ((c->tsc - j->seed) & M32) < TSC_WINDOW32) {
		ds_fmt(j->rule, j->cap, "tsc/32");
		return true;
	}
	return false;
}

bool ds_seed_rule_values(uint64_t seed, unsigned width,
			 const struct ds_seed_ctx *ctx, char *rule, size_t cap)
{
	static const char *const id_names[] = { "pid", "tid", "ppid", "id" };
	struct judge j;
	uint64_t ids[4 + DS_PROV_VALS] = { 0 };
	const char *id_name[4 + DS_PROV_VALS] = { NULL };
	size_t nids = 0, i, k, r;

	j.wmask = width >= 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1;
	j.seed = seed & j.wmask;
	j.try32 = width > 32 && j.seed <= M32;
	j.rule = rule;
	j.cap = cap;
	if (cap)
		rule[0] = '\0';

	/* The ids: the caller's now, then any recorded, without repeats. */
	for (i = 0; i < 4 + DS_PROV_VALS; i++) {
		uint64_t v;

		if (i < 4)
			v = ctx->ids[i];
		else if (i - 4 < ctx->nvals &&
			 ctx->vals[i - 4].kind == DS_PROV_ID)
			v = ctx->vals[i - 4].a;
		else
			continue;
		if (v == 0)
			continue;
		for (k = 0; k < nids && ids[k] != v; k++)
			;
		if (k < nids)
			continue;
		ids[nids] = v;
		id_name[nids] = id_names[i < 3 ? i : 3];
		nids++;
	}
	/* An id below 300 (init, a container's first processes) is the
	 * same in every run: not judged as a seed by itself.  Not higher:
	 * once pids wrap, the kernel hands them out again from 300
	 * (RESERVED_PIDS), so on a busy machine a pid of 300-1023 is as
	 * volatile as any other (a 1024 bound missed srandom(getpid()) in
	 * tests/it_detrun.sh now and then). */
	for (k = 0; k < nids; k++)
		if (ids[k] >= 300 &&
		    hit_or_mul(&j, ids[k], "identity", id_name[k]))
			return true;

	for (r = ctx->nvals; r-- > 0;) {
		struct base b[8];
		size_t nb = bases_of(&ctx->vals[r], b);

		if (ctx->vals[r].kind == DS_PROV_ID)
			continue; /* judged above, as an id */
		for (i = 0; i < nb; i++) {
			/* A field this small (a clock() early on, a sub-second
			 * near 0) would make small constants look volatile. */
			if (b[i].v < 1024)
				continue;
			if (hit_or_mul(&j, b[i].v, "identity", b[i].name))
				return true;
			for (k = 0; k < nids; k++)
				if (combos(&j, b[i].v, ids[k], b[i].name))
					return true;
			/* 16 bits: only a field of the newest record, as is. */
			if (r == ctx->nvals - 1 && b[i].field &&
			    j.seed <= M16 && (b[i].v & M16) == j.seed &&
			    b[i].v > M16) {
				ds_fmt(rule, cap, "identity/16:%s", b[i].name);
				return true;
			}
		}
	}
	return tsc_rule(&j, ctx) || near_now(&j, ctx);
}

bool ds_seed_rule_address(uint64_t seed, const struct ds_seed_ctx *ctx,
			  const struct ds_range *r, size_t n, char *rule,
			  size_t cap)
{
	uint64_t s32 = seed & M32;
	size_t i;

	/* Below 4 GiB only the heap and the stack count.  Anything else
	 * there is a non-PIE executable's image (Debian's python3 at
	 * 0x400000) or a fixed mapping: at the same address in every run,
	 * so a seed there (random.seed(8675309)) is a number, not an
	 * address.  The part below 4 GiB of a mapping that crosses it
	 * counts no more: ASan's shadow gap runs from 0x8fff7000 to
	 * 0x2008fff7000, and would take every 32-bit hash above it. */
	if (seed >= 0x10000)
		for (i = 0; i < n; i++)
			if (seed >= r[i].lo && seed < r[i].hi &&
			    (seed > M32 || r[i].stack_or_heap)) {
				ds_fmt(rule, cap, "address");
				return true;
			}
	/* Below 0x10000 nothing is mapped: small constants are no address. */
	if (seed > M32 || seed < 0x10000)
		return false;
	/* The caller's own stack (a thread's is no named mapping): from 64
	 * KiB below its pointer to 1 MiB above, without wrapping past 2^32
	 * (the main stack's top is 0x...fffff000 with randomisation off). */
	if (ctx->sp) {
		uint64_t sp32 = ctx->sp & M32;
		uint64_t lo = sp32 > 0x10000 ? sp32 - 0x10000 : 0;
		uint64_t hi = sp32 + 0x100000 > M32 ? M32 + 1 : sp32 + 0x100000;

		if (s32 >= lo && s32 < hi) {
			ds_fmt(rule, cap, "address/32:stack");
			return true;
		}
	}
	for (i = 0; i < n; i++) {
		uint64_t size = r[i].hi - r[i].lo, lo32 = r[i].lo & M32;

		if (!r[i].stack_or_heap || size > M32)
			continue;
		/* The low 32 bits of [lo, hi): one interval, or two where it
		 * crosses a multiple of 2^32. */
		if ((s32 >= lo32 && s32 < lo32 + size) ||
		    (lo32 + size > M32 + 1 && s32 < lo32 + size - (M32 + 1))) {
			ds_fmt(rule, cap, "address/32");
			return true;
		}
	}
	return false;
}

static const char *hex_of(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	int d = 0;

	for (;; p++, d++) {
		char ch = *p;

		if (ch >= '0' && ch <= '9')
			x = x << 4 | (uint64_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			x = x << 4 | (uint64_t)(ch - 'a' + 10);
		else
			break;
	}
	*v = x;
	return d ? p : NULL;
}

size_t ds_parse_maps(const char *buf, struct ds_range *out, size_t cap)
{
	const char *p = buf;
	size_t n = 0;

	while (*p && n < cap) {
		const char *eol = strchr(p, '\n');
		const char *q;
		uint64_t lo, hi;
		size_t len;

		if (eol == NULL)
			break; /* a cut line at the end of the buffer */
		len = (size_t)(eol - p);
		q = hex_of(p, &lo);
		if (q && *q == '-' && hex_of(q + 1, &hi) != NULL && hi > lo) {
			out[n].lo = lo;
			out[n].hi = hi;
			out[n].stack_or_heap =
				(len >= 7 && memcmp(eol - 7, "[stack]", 7) == 0) ||
				(len >= 6 && memcmp(eol - 6, "[heap]", 6) == 0);
			n++;
		}
		p = eol + 1;
	}
	return n;
}
