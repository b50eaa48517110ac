/*
 * check_cublaslt.c - cuBLASLt heuristic hook against the fake
 * libcublasLt.so.13 (scripted reduction schemes, see the fake).  Contrast:
 * DETSHIM_POLICY=off returns the split-K algorithm the heuristic ranks first.
 */
#include <stdint.h>

#include "gpulibs_child.h"

struct algo { uint64_t data[8]; };
struct result { struct algo algo; size_t ws; int state; float waves; int reserved[4]; };
int cublasLtMatmulPreferenceCreate(void **p);
int cublasLtMatmulPreferenceDestroy(void *p);
int cublasLtMatmulAlgoGetHeuristic(void *h, void *d, void *A, void *B, void *C,
				   void *D, void *p, int req,
				   struct result res[], int *ret);
int cublasLtMatmul(void *h, void *d, const void *alpha, const void *a, void *A,
		   const void *b, void *B, const void *beta, const void *c,
		   void *C, void *dd, void *D, const struct algo *algo,
		   void *ws, size_t wss, void *stream);
int fake_lt_last_index(void);
unsigned fake_lt_last_mask(void);

static int scenario(const char *name)
{
	struct result r[4];
	void *p = NULL;
	int n = -1, st;

	(void)name;
	cublasLtMatmulPreferenceCreate(&p);
	st = cublasLtMatmulAlgoGetHeuristic(NULL, NULL, NULL, NULL, NULL, NULL,
					    p, 1, r, &n);
	printf("status=%d\ncount=%d\n", st, n);
	if (st == 0 && n > 0)
		printf("scheme=%d\nindex=%d\n", (int)r[0].algo.data[0],
		       (int)r[0].algo.data[2]);
	printf("mask=%u\n", fake_lt_last_mask());
	st = cublasLtMatmul(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
			    NULL, NULL, NULL, NULL, NULL, NULL, 1 << 20, NULL);
	printf("null_algo_ran=%d\n", fake_lt_last_index());
	cublasLtMatmulPreferenceDestroy(p);
	return 0;
}

static char out[8192];

START_TEST(mask_pinned_to_unsplit)
{
	const char *on[] = { NULL };
	const char *off[] = { "DETSHIM_POLICY=off", NULL };

	ck_assert_int_eq(run_child("h", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "status"), 0);
	ck_assert_int_eq(child_value(out, "count"), 1);
	ck_assert_int_eq(child_value(out, "scheme"), 0);
	ck_assert_int_eq(child_value(out, "index"), 1);
	ck_assert_int_eq(child_value(out, "mask"), 0);
	/* algo == NULL: the shim chose the first unsplit algorithm */
	ck_assert_int_eq(child_value(out, "null_algo_ran"), 1);
	ck_assert_int_eq(run_child("h", off, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "scheme"), 1);
	ck_assert_int_eq(child_value(out, "index"), 0);
	ck_assert_int_eq(child_value(out, "mask"), 7);
	ck_assert_int_eq(child_value(out, "null_algo_ran"), -1);
}
END_TEST

START_TEST(results_filtered_when_library_ignores_mask)
{
	/* A library that ignores the mask: the result check still drops the
	 * split-K algorithms and the caller asking for 1 still gets one. */
	const char *on[] = { "FAKE_LT_IGNORE_MASK=1", "FAKE_LT_SCHEMES=2,4,1,0,0", NULL };
	const char *none[] = { "FAKE_LT_IGNORE_MASK=1", "FAKE_LT_SCHEMES=2,4", NULL };

	ck_assert_int_eq(run_child("h", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "count"), 1);
	ck_assert_int_eq(child_value(out, "scheme"), 0);
	ck_assert_int_eq(child_value(out, "index"), 3);
	/* only split-K on offer: the library's own NOT_SUPPORTED (15) */
	ck_assert_int_eq(run_child("h", none, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "status"), 15);
	ck_assert_int_eq(child_value(out, "count"), 0);
}
END_TEST

START_TEST(warn_changes_nothing)
{
	const char *warn[] = { "DETSHIM_POLICY=warn", NULL };

	ck_assert_int_eq(run_child("h", warn, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "scheme"), 1);
	ck_assert_int_eq(child_value(out, "mask"), 7);
}
END_TEST

static Suite *lt_suite(void)
{
	Suite *s = suite_create("cublasLt hooks");
	TCase *t = tcase_create("fake libcublasLt.so.13");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, mask_pinned_to_unsplit);
	tcase_add_test(t, results_filtered_when_library_ignores_mask);
	tcase_add_test(t, warn_changes_nothing);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(lt_suite, scenario)
