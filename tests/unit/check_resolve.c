/*
 * check_resolve.c - the one resolver (shim/resolve.c): the soname chain,
 * the global scope after the caller for a soname no chain lists, and
 * misses.  The unit binary links the core archive, so "the caller" is
 * this executable.  The self-guard and RTLD_LOCAL objects need the
 * preloaded shim: tests/hooks/check_sonames.c.
 */
#include <dlfcn.h>

#include "check_detshim.h"

static const char *const libm_chain[] = { "libm.so.6", NULL };
static const char *const unlisted_chain[] = { "libm.so.99", NULL };

START_TEST(chain_finds_the_loaded_library)
{
	void *want = dlsym(RTLD_DEFAULT, "cos");

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_eq(ds_resolve_chain(libm_chain, "cos"), want);
	/* libc through RTLD_NEXT */
	ck_assert_ptr_eq(ds_resolve_chain(NULL, "strlen"),
			 dlsym(RTLD_DEFAULT, "strlen"));
}
END_TEST

START_TEST(unlisted_soname_finds_the_definition_the_program_binds)
{
	/* no libm.so.99 is loaded: the definition after the caller is used */
	ck_assert_ptr_eq(ds_resolve_chain(unlisted_chain, "cos"),
			 dlsym(RTLD_DEFAULT, "cos"));
}
END_TEST

START_TEST(missing_is_null_and_noted_once)
{
	static struct ds_sym s =
		DS_SYM_INIT(unlisted_chain, DS_SRC_CUBLAS, "no_such_symbol_ds");

	ck_assert_ptr_null(ds_resolve_chain(libm_chain, "no_such_symbol_ds"));
	/* a slot: NULL, the miss noted once, NULL again */
	ck_assert_ptr_null(ds_sym_get(&s));
	ck_assert(atomic_load(&s.miss_logged));
	ck_assert_ptr_null(ds_sym_get(&s));
	ck_assert_ptr_null(atomic_load(&s.ptr));
}
END_TEST

START_TEST(slot_resolves_once)
{
	static struct ds_sym s = DS_SYM_INIT(libm_chain, DS_SRC_CUBLAS, "cos");
	void *p = ds_sym_get(&s);

	ck_assert_ptr_eq(p, dlsym(RTLD_DEFAULT, "cos"));
	ck_assert_ptr_eq(atomic_load(&s.ptr), p);
	ck_assert(!atomic_load(&s.miss_logged));
	ck_assert_ptr_eq(ds_sym_get(&s), p);
}
END_TEST

static Suite *make_resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("chain");

	tcase_add_test(tc, chain_finds_the_loaded_library);
	tcase_add_test(tc, unlisted_soname_finds_the_definition_the_program_binds);
	tcase_add_test(tc, missing_is_null_and_noted_once);
	tcase_add_test(tc, slot_resolves_once);
	suite_add_tcase(s, tc);
	return s;
}

DS_TEST_SUITE(make_resolve_suite);
