/*
 * curand.c - cuRAND host-API generators get derived seeds and a
 * device-independent ordering.
 *
 * cuRAND's sequences are a pure function of (generator type, seed,
 * offset, ordering) and host generation equals device generation (cuRAND
 * host API overview; gpu.md §5).  New pseudo generators start at seed 0,
 * so the variance in real programs is the seed they compute (time, pid)
 * and CURAND_ORDERING_PSEUDO_DYNAMIC, "adjusted to the device it is being
 * executed on".  The hooks:
 *   - curandCreateGenerator / curandCreateGeneratorHost: a pseudo generator
 *     gets a seed from the curand stream of this process (sub-key = the
 *     generator type), so DETSHIM_SEED steers even unseeded programs;
 *   - curandSetPseudoRandomGeneratorSeed: the program's seed follows the
 *     seed mode (mix / override / respect, ds_seed_apply), clock- or
 *     pid-like seeds are replaced;
 *   - curandSetGeneratorOrdering: PSEUDO_DYNAMIC becomes PSEUDO_DEFAULT.
 * Quasi generators (Sobol) have no seed and are left alone.  The device
 * API (curand_init in kernels) is header code the shim cannot see.
 *
 * Missing real functions: CURAND_STATUS_NOT_INITIALIZED (style.md §5).
 */
#include "detshim.h"

#include <time.h>

#include "abi/curand.h"
#include "curand.h"
#include "gpu_policy.h"

typedef ds_curand_generator gen_t;
typedef ds_curand_status st_t;

#define DS_CURAND_HOOKS(X)                                                   \
	X(curandCreateGenerator, (gen_t * g, int type))                      \
	X(curandCreateGeneratorHost, (gen_t * g, int type))                  \
	X(curandSetPseudoRandomGeneratorSeed,                                \
	  (gen_t g, unsigned long long seed))                                \
	X(curandSetGeneratorOrdering, (gen_t g, int order))

#define DS_CURAND_SLOT(name, params)                                         \
	typedef st_t(*name##_fn) params;                                     \
	static struct ds_sym real_##name =                                   \
		DS_SYM_INIT(DS_CURAND_SONAME, #name);
DS_CURAND_HOOKS(DS_CURAND_SLOT)
#undef DS_CURAND_SLOT

/* After a successful create: give a pseudo generator its derived seed. */
static void seed_new(gen_t g, int type, struct ds_site *site)
{
	curandSetPseudoRandomGeneratorSeed_fn set =
		ds_sym_get(&real_curandSetPseudoRandomGeneratorSeed);
	uint64_t seed;
	st_t st;

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
static st_t create(struct ds_sym *sym, struct ds_site *site, gen_t *g,
		   int type)
{
	curandCreateGenerator_fn real = ds_sym_get(sym);
	st_t st;

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	st = real(g, type);
	if (st == DS_CURAND_STATUS_SUCCESS && g && ds_active() &&
	    ds_watch(DS_SRC_CURAND))
		seed_new(*g, type, site);
	return st;
}

DS_EXPORT st_t curandCreateGenerator(gen_t *g, int type)
{
	DS_SITE(site, DS_SRC_CURAND, "curandCreateGenerator");

	return create(&real_curandCreateGenerator, &site, g, type);
}

DS_EXPORT st_t curandCreateGeneratorHost(gen_t *g, int type)
{
	DS_SITE(site, DS_SRC_CURAND, "curandCreateGeneratorHost");

	return create(&real_curandCreateGeneratorHost, &site, g, type);
}

DS_EXPORT st_t curandSetPseudoRandomGeneratorSeed(gen_t g,
						  unsigned long long seed)
{
	DS_SITE(site, DS_SRC_CURAND, "curandSetPseudoRandomGeneratorSeed");
	curandSetPseudoRandomGeneratorSeed_fn real =
		ds_sym_get(&real_curandSetPseudoRandomGeneratorSeed);
	struct timespec ts = { 0, 0 };
	const char *how = "kept";
	uint64_t now, s;

	if (real == NULL)
		return DS_CURAND_STATUS_NOT_INITIALIZED;
	if (!ds_active() || !ds_watch(DS_SRC_CURAND))
		return real(g, seed);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	s = ds_seed_apply(DS_SRC_CURAND, seed, now,
			  (uint64_t)ds_sys_getpid(), &how);
	if (!ds_enforce(DS_SRC_CURAND)) {
		if (s != seed)
			ds_event(&site, "would-replace",
				 "generator=%p seed=%llu (%s)", g, seed, how);
		return real(g, seed);
	}
	ds_event(&site, how, "generator=%p seed=%llu -> %llu", g, seed,
		 (unsigned long long)s);
	return real(g, s);
}

DS_EXPORT st_t curandSetGeneratorOrdering(gen_t g, int order)
{
	DS_SITE(site, DS_SRC_CURAND, "curandSetGeneratorOrdering");
	curandSetGeneratorOrdering_fn real =
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
