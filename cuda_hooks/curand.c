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
 * Quasi generators (Sobol) have no seed and are left alone.  The device
 * API (curand_init in kernels) is header code the shim cannot see.
 *
 * Missing real functions: CURAND_STATUS_NOT_INITIALIZED, logged once by
 * resolve.c under the curand source.
 */
#include "detshim.h"

#include "abi/curand.h"
#include "curand_rules.h"

/* cuRAND 10: the soname of CUDA 10 to 13. */
static const char *const curand_libs[] = { "libcurand.so.10", NULL };

#define DS_CURAND_HOOKS(X)                                                   \
	X(curandCreateGenerator)                                             \
	X(curandCreateGeneratorHost)                                         \
	X(curandSetPseudoRandomGeneratorSeed)                                \
	X(curandSetGeneratorOrdering)

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
