/*
 * check_curand.c - cuRAND hooks against the fake libcurand.so.10: derived
 * seeds at create, seed modes, clock-like seeds, PSEUDO_DYNAMIC ordering,
 * and the missing curandCreateGeneratorHost.
 */
#include <dlfcn.h>
#include <time.h>

#include "gpulibs_child.h"

int curandCreateGenerator(void **g, int type);
int curandDestroyGenerator(void *g);
int curandSetPseudoRandomGeneratorSeed(void *g, unsigned long long s);
int curandSetGeneratorOrdering(void *g, int order);
unsigned long long fake_curand_seed(const void *g);
int fake_curand_ordering(const void *g);

static int scenario(const char *name)
{
	void *g = NULL, *q = NULL;

	(void)name;
	curandCreateGenerator(&g, 161);
	printf("create_seed=%llu\n", fake_curand_seed(g));
	curandSetPseudoRandomGeneratorSeed(g, 1234);
	printf("set_seed=%llu\n", fake_curand_seed(g));
	curandSetPseudoRandomGeneratorSeed(g, (unsigned long long)time(NULL));
	printf("time_seed_kept=%d\n",
	       fake_curand_seed(g) == (unsigned long long)time(NULL) ||
	       fake_curand_seed(g) + 1 == (unsigned long long)time(NULL));
	curandSetGeneratorOrdering(g, 104);
	printf("ordering=%d\n", fake_curand_ordering(g));
	curandCreateGenerator(&q, 201); /* quasi: no seed */
	printf("quasi_seed=%llu\n", fake_curand_seed(q));
	curandDestroyGenerator(g);
	curandDestroyGenerator(q);
	return 0;
}

static char out[8192], out2[8192];

START_TEST(derived_seed_at_create)
{
	const char *s42[] = { "DETSHIM_SEED=42", NULL };
	const char *s43[] = { "DETSHIM_SEED=43", NULL };
	const char *off[] = { "DETSHIM_POLICY=off", NULL };

	ck_assert_int_eq(run_child("c", s42, out, sizeof(out)), 0);
	ck_assert_int_eq(run_child("c", s42, out2, sizeof(out2)), 0);
	/* The create seed comes from this process's key, which depends on
	 * its fork/exec lineage (two sibling children differ by design);
	 * a mixed program seed depends only on DETSHIM_SEED. */
	ck_assert_int_eq(child_value(out, "set_seed"), child_value(out2, "set_seed"));
	ck_assert_int_ne(child_value(out, "create_seed"), 0);
	ck_assert_int_eq(child_value(out, "quasi_seed"), 0);
	ck_assert_int_eq(run_child("c", s43, out2, sizeof(out2)), 0);
	ck_assert_int_ne(child_value(out, "set_seed"),
			 child_value(out2, "set_seed"));
	ck_assert_int_eq(run_child("c", off, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "create_seed"), 0);
	ck_assert_int_eq(child_value(out, "set_seed"), 1234);
	ck_assert_int_eq(child_value(out, "time_seed_kept"), 1);
	ck_assert_int_eq(child_value(out, "ordering"), 104);
}
END_TEST

START_TEST(seed_modes)
{
	const char *mix[] = { "DETSHIM_SEED=42", NULL };
	const char *respect[] = { "DETSHIM_SEED=42", "DETSHIM_SEED_MODE=respect", NULL };

	ck_assert_int_eq(run_child("c", mix, out, sizeof(out)), 0);
	ck_assert_int_ne(child_value(out, "set_seed"), 1234);
	ck_assert_int_eq(child_value(out, "time_seed_kept"), 0);
	ck_assert_int_eq(child_value(out, "ordering"), 101);
	ck_assert_int_eq(run_child("c", respect, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "set_seed"), 1234);
}
END_TEST

START_TEST(missing_create_host)
{
	typedef int (*fn)(void **, int);
	fn f = (fn)hook_sym("curandCreateGeneratorHost");
	void *g = NULL;

	ck_assert_ptr_nonnull(f); /* the shim's hook; the fake has none */
	ck_assert_int_eq(f(&g, 100), 101); /* CURAND_STATUS_NOT_INITIALIZED */
}
END_TEST

static Suite *curand_suite(void)
{
	Suite *s = suite_create("curand hooks");
	TCase *t = tcase_create("fake libcurand.so.10");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, derived_seed_at_create);
	tcase_add_test(t, seed_modes);
	tcase_add_test(t, missing_create_host);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(curand_suite, scenario)
