/*
 * curand.c - cuRAND host-API generators get derived seeds and a
 * device-independent ordering.
 *
 * cuRAND's sequences are a pure function of (generator type, seed,
 * offset, ordering) and host generation equals device generation (cuRAND
 * host API overview; docs/GPU_FACTS.md §5).  New pseudo generators start at
 * seed 0, so the variance in real programs is the seed they compute (time, pid)
 * and CURAND_ORDERING_PSEUDO_DYNAMIC, "adjusted to the device it is being
 * executed on".  The hooks:
 *   - curandCreateGenerator / curandCreateGeneratorHost: a pseudo generator
 *     gets a seed from the curand stream of this process (sub-key = the
 *     generator type), so DETSHIM_SEED steers even unseeded programs;
 *   - curandSetPseudoRandomGeneratorSeed: the program's seed is judged
 *     and follows the seed mode like a libc seed (ds_seed_decide,
 *     docs/SEEDS.md): volatile seeds are replaced, explicit ones mixed;
 *   - curandSetGeneratorOrdering: PSEUDO_DYNAMIC becomes PSEUDO_DEFAULT.
 * With gpu.hash_calls on, each curandGenerate* call logs a "hashed"
 * event with a hash of its output (a generator has no input buffer), on
 * the stream curandSetStream gave the generator (hash_calls.h).
 * Quasi generators (Sobol) have no seed and are left alone.  The device
 * API (curand_init in kernels) is header code the shim cannot see.
 *
 * Missing real functions: CURAND_STATUS_NOT_INITIALIZED, logged once by
 * resolve.c under the curand source.
 */
#include "detshim.h"

#include "abi/curand.h"
#include "curand_rules.h"
#include "hash_calls.h"

/* cuRAND 10: the soname of CUDA 10 to 13. */
static const char *const curand_libs[] = { "libcurand.so.10", NULL };

#define DS_CURAND_HOOKS(X)                                                   \
	X(curandCreateGenerator)                                             \
	X(curandCreateGeneratorHost)                                         \
	X(curandSetPseudoRandomGeneratorSeed)                                \
	X(curandSetGeneratorOrdering)                                        \
	X(curandSetStream)                                                   \
	X(curandGenerate)                                                    \
	X(curandGenerateLongLong)                                            \
	X(curandGenerateUniform)                                             \
	X(curandGenerateNormal)                                              \
	X(curandGenerateLogNormal)                                           \
	X(curandGeneratePoisson)                                             \
	X(curandGenerateUniformDouble)                                       \
	X(curandGenerateNormalDouble)                                        \
	X(curandGenerateLogNormalDouble)

#define DS_CURAND_SLOT(name)                                                 \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(curand_libs, DS_SRC_CURAND, #name);
DS_CURAND_HOOKS(DS_CURAND_SLOT)
#undef DS_CURAND_SLOT

/* The type create() calls both creators through. */
DS_EXPORT ds_curand_status curandCreateGenerator(ds_curand_generator *g,
						 int type);

DS_EXPORT ds_curand_status curandSetPseudoRandomGeneratorSeed(
	ds_curand_generator g, unsigned long long seed)
{
	DS_SITE(site, DS_SRC_CURAND, "curandSetPseudoRandomGeneratorSeed");
	__typeof__(&curandSetPseudoRandomGeneratorSeed) real =
		ds_sym_get(&real_curandSetPseudoRandomGeneratorSeed);
	char what[48];
	struct ds_seed_req q = { .site = &site, .value = seed, .width = 64,
				 .judge = true, .what = what,
				 .caller = __builtin_return_address(0) };
	uint64_t s;

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	/* The thread that seeds is the one whose clock and ids are judged:
	 * a generator created and seeded in a worker thread is judged on
	 * that thread's provenance (provenance.c). */
	ds_fmt(what, sizeof(what), "generator=%p", (void *)g);
	if (!ds_seed_decide(&q, &s))
		return real(g, seed);
	return real(g, s);
}

DS_EXPORT ds_curand_status curandSetGeneratorOrdering(ds_curand_generator g,
						     int order)
{
	DS_SITE(site, DS_SRC_CURAND, "curandSetGeneratorOrdering");
	__typeof__(&curandSetGeneratorOrdering) real =
		ds_sym_get(&real_curandSetGeneratorOrdering);
	int want;

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CURAND))
		return real(g, order);
	want = ds_curand_ordering(order);
	if (want == order)
		return real(g, order);
	if (!ds_enforce(DS_SRC_CURAND)) {
		ds_event(&site, "would-replace",
			 "generator=%p ordering=%d (PSEUDO_DYNAMIC)", g, order);
		return real(g, order);
	}
	ds_event(&site, "replaced",
		 "generator=%p ordering=%d (PSEUDO_DYNAMIC: device-specific) -> "
		 "%d (PSEUDO_DEFAULT)", g, order, want);
	return real(g, want);
}

/* After a successful create: give a pseudo generator its derived seed. */
static void seed_new(ds_curand_generator g, int type, struct ds_site *site)
{
	__typeof__(&curandSetPseudoRandomGeneratorSeed) set =
		ds_sym_get(&real_curandSetPseudoRandomGeneratorSeed);
	uint64_t seed;
	ds_curand_status st;

	if (!ds_curand_is_pseudo(type))
		return;
	seed = ds_stream_u64(DS_SRC_CURAND, (uint64_t)type);
	if (!ds_enforce(DS_SRC_CURAND)) {
		ds_event(site, "would-replace",
			 "generator=%p type=%d seed 0 (default) -> derived", g,
			 type);
		return;
	}
	if (set == NULL)
		return;
	st = set(g, seed);
	ds_event(site, st == DS_CURAND_STATUS_SUCCESS ? "replaced" : "error",
		 "generator=%p type=%d seed 0 (default) -> %llu (status %d)",
		 g, type, (unsigned long long)seed, st);
}

/* curandCreateGenerator and curandCreateGeneratorHost: one signature. */
static ds_curand_status create(struct ds_sym *sym, struct ds_site *site,
			       ds_curand_generator *g, int type)
{
	__typeof__(&curandCreateGenerator) real = ds_sym_get(sym);
	ds_curand_status st;

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	st = real(g, type);
	if (st == DS_CURAND_STATUS_SUCCESS && g && ds_active() &&
	    ds_watch(DS_SRC_CURAND))
		seed_new(*g, type, site);
	return st;
}

DS_EXPORT ds_curand_status curandCreateGenerator(ds_curand_generator *g,
						 int type)
{
	DS_SITE(site, DS_SRC_CURAND, "curandCreateGenerator");

	return create(&real_curandCreateGenerator, &site, g, type);
}

DS_EXPORT ds_curand_status curandCreateGeneratorHost(ds_curand_generator *g,
						     int type)
{
	DS_SITE(site, DS_SRC_CURAND, "curandCreateGeneratorHost");

	return create(&real_curandCreateGeneratorHost, &site, g, type);
}

/* ------------------------------------------------------------------ */
/* Call hashing (hash_calls.h).  cuRAND has no getter for a generator's
 * stream, so curandSetStream records it in a small table (only while
 * the mode is on); a generator not in it runs on the legacy default
 * stream, which is also cuRAND's default.  (A generator created at the
 * address of a destroyed one that had a stream is taken to be on that
 * stream until it gets its own: only the ordinal is wrong then.) */

#define GEN_STREAMS 64
static struct {
	ds_curand_generator _Atomic gen; /* NULL: free */
	void *_Atomic stream;
} gen_streams[GEN_STREAMS];

static void *gen_stream(ds_curand_generator g)
{
	unsigned i;

	for (i = 0; i < GEN_STREAMS; i++)
		if (atomic_load_explicit(&gen_streams[i].gen,
					 memory_order_acquire) == g)
			return atomic_load_explicit(&gen_streams[i].stream,
						    memory_order_relaxed);
	return NULL;
}

static void gen_stream_set(ds_curand_generator g, void *stream)
{
	unsigned i;

	for (i = 0; i < GEN_STREAMS; i++) {
		ds_curand_generator k = NULL;

		if (atomic_load(&gen_streams[i].gen) == g ||
		    atomic_compare_exchange_strong(&gen_streams[i].gen, &k, g) ||
		    k == g) {
			atomic_store(&gen_streams[i].stream, stream);
			return;
		}
	}
}

DS_EXPORT ds_curand_status curandSetStream(ds_curand_generator g, void *stream)
{
	__typeof__(&curandSetStream) real = ds_sym_get(&real_curandSetStream);
	ds_curand_status st;

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	st = real(g, stream);
	if (DS_UNLIKELY(ds_hash_calls_on()) && st == DS_CURAND_STATUS_SUCCESS)
		gen_stream_set(g, stream);
	return st;
}

/* After a generate call: hash its n outputs of elem bytes, log. */
static void generated(struct ds_site *site, struct ds_hc *hc,
		      ds_curand_status st, const void *out, size_t n,
		      size_t elem, const char *type, const char *params)
{
	char what[120], why[72];

	ds_hc_out(hc, out, n <= SIZE_MAX / elem ? n * elem : 0);
	ds_fmt(what, sizeof(what), "n=%zu out=%s%s", n, type, params);
	if (ds_enforce(DS_SRC_CURAND))
		ds_fmt(why, sizeof(why),
		       "cuRAND generator: seed mode %s, ordering pinned",
		       ds_seed_mode_names[ds_cfg.seed_mode]);
	else
		ds_fmt(why, sizeof(why), "cuRAND generator as the program set it");
	ds_hc_end(site, hc, st, what, why);
}

/* The generate functions: one body each, the real call between
 * ds_hc_begin and generated(). */
#define GEN_BEGIN(name)                                                      \
	DS_SITE(site, DS_SRC_CURAND, #name);                                 \
	__typeof__(&name) real = ds_sym_get(&real_##name);                   \
	struct ds_hc hc;                                                     \
	ds_curand_status st;                                                 \
	bool on = false

DS_EXPORT ds_curand_status curandGenerate(ds_curand_generator g,
					  unsigned int *out, size_t n)
{
	GEN_BEGIN(curandGenerate);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n);
	if (on)
		generated(&site, &hc, st, out, n, 4, "u32", "");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateLongLong(ds_curand_generator g,
						  unsigned long long *out,
						  size_t n)
{
	GEN_BEGIN(curandGenerateLongLong);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n);
	if (on)
		generated(&site, &hc, st, out, n, 8, "u64", "");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateUniform(ds_curand_generator g,
						 float *out, size_t n)
{
	GEN_BEGIN(curandGenerateUniform);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n);
	if (on)
		generated(&site, &hc, st, out, n, 4, "R_32F", " uniform");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateUniformDouble(ds_curand_generator g,
						       double *out, size_t n)
{
	GEN_BEGIN(curandGenerateUniformDouble);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n);
	if (on)
		generated(&site, &hc, st, out, n, 8, "R_64F", " uniform");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateNormal(ds_curand_generator g,
						float *out, size_t n,
						float mean, float sd)
{
	GEN_BEGIN(curandGenerateNormal);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n, mean, sd);
	if (on)
		generated(&site, &hc, st, out, n, 4, "R_32F", " normal");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateNormalDouble(ds_curand_generator g,
						      double *out, size_t n,
						      double mean, double sd)
{
	GEN_BEGIN(curandGenerateNormalDouble);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n, mean, sd);
	if (on)
		generated(&site, &hc, st, out, n, 8, "R_64F", " normal");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateLogNormal(ds_curand_generator g,
						   float *out, size_t n,
						   float mean, float sd)
{
	GEN_BEGIN(curandGenerateLogNormal);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n, mean, sd);
	if (on)
		generated(&site, &hc, st, out, n, 4, "R_32F", " log-normal");
	return st;
}

DS_EXPORT ds_curand_status curandGenerateLogNormalDouble(
	ds_curand_generator g, double *out, size_t n, double mean, double sd)
{
	GEN_BEGIN(curandGenerateLogNormalDouble);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n, mean, sd);
	if (on)
		generated(&site, &hc, st, out, n, 8, "R_64F", " log-normal");
	return st;
}

DS_EXPORT ds_curand_status curandGeneratePoisson(ds_curand_generator g,
						 unsigned int *out, size_t n,
						 double lambda)
{
	GEN_BEGIN(curandGeneratePoisson);

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (DS_UNLIKELY(ds_hash_calls_on()))
		on = ds_hc_begin(&hc, gen_stream(g));
	st = real(g, out, n, lambda);
	if (on)
		generated(&site, &hc, st, out, n, 4, "u32", " poisson");
	return st;
}
