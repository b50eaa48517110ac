/*
 * libc_random.c - the libc PRNG families and their seeds.
 *
 * An unseeded rand()/drand48() is already deterministic in glibc; the
 * nondeterminism enters through the seed the program computes, often
 * time(NULL) (docs/CPU_FACTS.md §5).  So: at start the global generators are
 * seeded from the process key (a new DETSHIM_SEED gives new values), and every
 * seeding call has its argument judged (docs/SEEDS.md) and mixed,
 * replaced or kept per seed_mode (ds_seed_decide, provenance.c).  rand(), random(), drand48() and friends are not
 * interposed and cost nothing extra.
 *
 * srand and srandom are aliases in glibc but separate dynamic symbols:
 * both are hooked, and both forward to the real srandom.
 */
#include "detshim.h"

#include <errno.h>
#include <stdlib.h>

DS_LIBC_SYM(real_srandom, "srandom");
DS_LIBC_SYM(real_initstate, "initstate");
DS_LIBC_SYM(real_srandom_r, "srandom_r");
DS_LIBC_SYM(real_initstate_r, "initstate_r");
DS_LIBC_SYM(real_srand48, "srand48");
DS_LIBC_SYM(real_seed48, "seed48");
DS_LIBC_SYM(real_lcong48, "lcong48");
DS_LIBC_SYM(real_srand48_r, "srand48_r");
DS_LIBC_SYM(real_seed48_r, "seed48_r");
DS_LIBC_SYM(real_lcong48_r, "lcong48_r");

DS_SITE(site_srand, DS_SRC_LIBC_RAND, "srand");
DS_SITE(site_srandom, DS_SRC_LIBC_RAND, "srandom");
DS_SITE(site_initstate, DS_SRC_LIBC_RAND, "initstate");
DS_SITE(site_srandom_r, DS_SRC_LIBC_RAND, "srandom_r");
DS_SITE(site_initstate_r, DS_SRC_LIBC_RAND, "initstate_r");
DS_SITE(site_srand48, DS_SRC_DRAND48, "srand48");
DS_SITE(site_seed48, DS_SRC_DRAND48, "seed48");
DS_SITE(site_lcong48, DS_SRC_DRAND48, "lcong48");
DS_SITE(site_srand48_r, DS_SRC_DRAND48, "srand48_r");
DS_SITE(site_seed48_r, DS_SRC_DRAND48, "seed48_r");
DS_SITE(site_lcong48_r, DS_SRC_DRAND48, "lcong48_r");
DS_SITE(site_init, DS_SRC_LIBC_RAND, "init");

/*
 * Decide the seed a seeding call really gets (provenance.c: the rules,
 * the seeds file, the seed mode, the event).  Returns the program's seed
 * when the shim should not change it (inactive, source off, policy warn
 * or off).  width: the bits the generator takes; mask: of the result.
 */
static uint64_t decide(struct ds_site *site, uint64_t seed, unsigned width,
		       uint64_t mask, const void *caller)
{
	struct ds_seed_req q = { .site = site, .value = seed, .width = width,
				 .wmask = mask, .judge = true,
				 .caller = caller };
	uint64_t out;

	return ds_seed_decide(&q, &out) ? out : seed;
}

#define CALLER __builtin_return_address(0)

typedef void (*srandom_fn)(unsigned);

static void seed_srandom(struct ds_site *site, unsigned seed,
			 const void *caller)
{
	srandom_fn f = (srandom_fn)ds_sym_get(&real_srandom);

	if (f)
		f((unsigned)decide(site, seed, 32, UINT32_MAX, caller));
}

DS_EXPORT void srand(unsigned seed)
{
	seed_srandom(&site_srand, seed, CALLER);
}

DS_EXPORT void srandom(unsigned seed)
{
	seed_srandom(&site_srandom, seed, CALLER);
}

DS_EXPORT char *initstate(unsigned seed, char *state, size_t n)
{
	char *(*f)(unsigned, char *, size_t) = ds_sym_get(&real_initstate);

	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	return f((unsigned)decide(&site_initstate, seed, 32, UINT32_MAX, CALLER),
		 state, n);
}

DS_EXPORT int srandom_r(unsigned seed, struct random_data *buf)
{
	int (*f)(unsigned, struct random_data *) = ds_sym_get(&real_srandom_r);

	if (f == NULL)
		return ds_libc_missing();
	return f((unsigned)decide(&site_srandom_r, seed, 32, UINT32_MAX, CALLER),
		 buf);
}

DS_EXPORT int initstate_r(unsigned seed, char *state, size_t n,
			  struct random_data *buf)
{
	int (*f)(unsigned, char *, size_t, struct random_data *) =
		ds_sym_get(&real_initstate_r);

	if (f == NULL)
		return ds_libc_missing();
	return f((unsigned)decide(&site_initstate_r, seed, 32, UINT32_MAX, CALLER),
		 state, n, buf);
}

/* drand48 family: X is 48 bits; srand48 takes the high 32 bits of X
 * (the low 16 are 0x330E), seed48 all 48. */
#define MASK48 UINT64_C(0xffffffffffff)

static uint64_t x_of(const unsigned short v[3])
{
	return (uint64_t)v[0] | (uint64_t)v[1] << 16 | (uint64_t)v[2] << 32;
}

static void x_to(uint64_t x, unsigned short v[3])
{
	v[0] = (unsigned short)x;
	v[1] = (unsigned short)(x >> 16);
	v[2] = (unsigned short)(x >> 32);
}

DS_EXPORT void srand48(long seed)
{
	void (*f)(long) = ds_sym_get(&real_srand48);

	if (f)
		f((long)decide(&site_srand48, (uint64_t)seed, 64, UINT64_MAX,
			       CALLER));
}

DS_EXPORT unsigned short *seed48(unsigned short v[3])
{
	unsigned short *(*f)(unsigned short *) = ds_sym_get(&real_seed48);
	unsigned short x[3];

	if (f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	x_to(decide(&site_seed48, x_of(v), 48, MASK48, CALLER), x);
	/* seed48 returns its static copy of the previous seed, not x. */
	// cppcheck-suppress returnDanglingLifetime
	return f(x);
}

DS_EXPORT void lcong48(unsigned short p[7])
{
	void (*f)(unsigned short *) = ds_sym_get(&real_lcong48);
	unsigned short q[7];
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < 7; i++)
		q[i] = p[i];
	/* Only X (p[0..2]) is a seed; the multiplier and addend are the
	 * program's choice of generator and are kept. */
	x_to(decide(&site_lcong48, x_of(p), 48, MASK48, CALLER), q);
	f(q);
}

DS_EXPORT int srand48_r(long seed, struct drand48_data *buf)
{
	int (*f)(long, struct drand48_data *) = ds_sym_get(&real_srand48_r);

	if (f == NULL)
		return ds_libc_missing();
	return f((long)decide(&site_srand48_r, (uint64_t)seed, 64, UINT64_MAX,
			       CALLER),
		 buf);
}

DS_EXPORT int seed48_r(unsigned short v[3], struct drand48_data *buf)
{
	int (*f)(unsigned short *, struct drand48_data *) =
		ds_sym_get(&real_seed48_r);
	unsigned short x[3];

	if (f == NULL)
		return ds_libc_missing();
	x_to(decide(&site_seed48_r, x_of(v), 48, MASK48, CALLER), x);
	return f(x, buf);
}

DS_EXPORT int lcong48_r(unsigned short p[7], struct drand48_data *buf)
{
	int (*f)(unsigned short *, struct drand48_data *) =
		ds_sym_get(&real_lcong48_r);
	unsigned short q[7];
	int i;

	if (f == NULL)
		return ds_libc_missing();
	for (i = 0; i < 7; i++)
		q[i] = p[i];
	x_to(decide(&site_lcong48_r, x_of(p), 48, MASK48, CALLER), q);
	return f(q, buf);
}

void ds_libc_random_init(void)
{
	ds_seed_init(); /* the program's identity, the seeds file */
	srandom_fn f = (srandom_fn)ds_sym_get(&real_srandom);
	unsigned short *(*s48)(unsigned short *) = ds_sym_get(&real_seed48);

	if (f && ds_enforce(DS_SRC_LIBC_RAND)) {
		f(ds_stream_u32(DS_SRC_LIBC_RAND, 0));
		ds_event(&site_init, "seeded", "rand/random seeded from the "
			 "process key");
	}
	if (s48 && ds_enforce(DS_SRC_DRAND48)) {
		unsigned short x[3];

		x_to(ds_stream_u64(DS_SRC_DRAND48, 0) & MASK48, x);
		s48(x);
		ds_event(&site_init, "seeded", "drand48 family seeded from the "
			 "process key");
	}
}
