/*
 * check_cublas.c - cuBLAS hooks against the fake libcublas.so.13, run
 * under LD_PRELOAD=libdetshim.so (make check-hooks).  Each test runs a
 * child with its own DETSHIM_* settings; the DETSHIM_POLICY=off child is
 * the "no shim" contrast that proves each check can fail.
 */
#include <dlfcn.h>
#include <stdint.h>

#include "gpulibs_child.h"

typedef void *hdl;
int cublasCreate_v2(hdl *h);
int cublasDestroy_v2(hdl h);
int cublasSetAtomicsMode(hdl h, int mode);
int cublasSetMathMode(hdl h, int mode);
int cublasGemmEx(hdl h, int ta, int tb, int m, int n, int k, const void *alpha,
		 const void *A, int At, int lda, const void *B, int Bt, int ldb,
		 const void *beta, void *C, int Ct, int ldc, int ct, int algo);
int fake_cublas_atomics(hdl h);
int fake_cublas_math(hdl h);
int fake_cublas_algo(hdl h);
int fake_cublas_compute(hdl h);

typedef int (*strided64_fn)(hdl, int, int, int64_t, int64_t, int64_t,
			    const void *, const void *, int, int64_t, long long,
			    const void *, int, int64_t, long long, const void *,
			    void *, int, int64_t, long long, int64_t, int, int);

static int scenario(const char *name)
{
	hdl h = NULL;

	if (strcmp(name, "missing") == 0) {
		strided64_fn f = (strided64_fn)hook_sym("cublasGemmStridedBatchedEx_64");
		int i;

		for (i = 0; i < 3; i++)
			printf("status=%d\n", f(NULL, 0, 0, 1, 1, 1, NULL, NULL,
						0, 1, 0, NULL, 0, 1, 0, NULL,
						NULL, 0, 1, 0, 1, 68, 999));
		return 0;
	}

	if (cublasCreate_v2(&h) != 0)
		return 2;
	printf("create_atomics=%d\n", fake_cublas_atomics(h));
	if (strcmp(name, "atomics3") == 0) {
		cublasSetAtomicsMode(h, 1);
		cublasSetAtomicsMode(h, 1);
		cublasSetAtomicsMode(h, 1);
	} else {
		cublasSetAtomicsMode(h, 1);
	}
	printf("asked_atomics=%d\n", fake_cublas_atomics(h));
	cublasGemmEx(h, 0, 0, 1, 1, 1, NULL, NULL, 0, 1, NULL, 0, 1, NULL, NULL,
		     0, 1, 77, 999);
	printf("algo=%d\ncompute=%d\n", fake_cublas_algo(h),
	       fake_cublas_compute(h));
	cublasGemmEx(h, 0, 0, 1, 1, 1, NULL, NULL, 0, 1, NULL, 0, 1, NULL, NULL,
		     0, 1, 68, 5);
	printf("algo5=%d\n", fake_cublas_algo(h));
	cublasSetMathMode(h, 3 | 16);
	printf("math=%d\n", fake_cublas_math(h));
	cublasDestroy_v2(h);
	return 0;
}

static char out[8192];

START_TEST(atomics_pinned_at_create_and_on_request)
{
	const char *on[] = { "FAKE_CUBLAS_ATOMICS_DEFAULT=1", NULL };
	const char *off[] = { "FAKE_CUBLAS_ATOMICS_DEFAULT=1",
			      "DETSHIM_POLICY=off", NULL };
	const char *warn[] = { "FAKE_CUBLAS_ATOMICS_DEFAULT=1",
			       "DETSHIM_POLICY=warn", NULL };

	ck_assert_int_eq(run_child("basic", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "create_atomics"), 0);
	ck_assert_int_eq(child_value(out, "asked_atomics"), 0);
	ck_assert_int_eq(run_child("basic", off, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "create_atomics"), 1);
	ck_assert_int_eq(child_value(out, "asked_atomics"), 1);
	ck_assert_int_eq(run_child("basic", warn, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "asked_atomics"), 1);
}
END_TEST

START_TEST(autotune_becomes_default)
{
	const char *on[] = { NULL };
	const char *off[] = { "DETSHIM_POLICY=off", NULL };

	ck_assert_int_eq(run_child("basic", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "algo"), -1);
	ck_assert_int_eq(child_value(out, "algo5"), 5);
	/* TF32 strip is opt-in: untouched by default */
	ck_assert_int_eq(child_value(out, "compute"), 77);
	ck_assert_int_eq(child_value(out, "math"), 19);
	ck_assert_int_eq(run_child("basic", off, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "algo"), 999);
}
END_TEST

START_TEST(strip_tf32_opt_in)
{
	const char *on[] = { "DETSHIM_STRIP_TF32=1", NULL };

	ck_assert_int_eq(run_child("basic", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "compute"), 68);
	ck_assert_int_eq(child_value(out, "math"), 16);
}
END_TEST

START_TEST(logged_once_per_handle)
{
	char log[256], env_log[300];
	const char *on[] = { env_log, "FAKE_CUBLAS_ATOMICS_DEFAULT=1", NULL };

	snprintf(log, sizeof(log), "/tmp/check_cublas_%d.jsonl", (int)getpid());
	snprintf(env_log, sizeof(env_log), "DETSHIM_LOG=%s", log);
	unlink(log);
	ck_assert_int_eq(run_child("atomics3", on, out, sizeof(out)), 0);
	ck_assert_int_eq(count_lines(log, "atomics=allowed -> not-allowed"), 1);
	ck_assert_int_eq(count_lines(log, "atomics=not-allowed (new handle"), 1);
	ck_assert_int_eq(count_lines(log, "CUBLAS_GEMM_AUTOTUNE -> CUBLAS_GEMM_DEFAULT"), 1);
	unlink(log);
}
END_TEST

START_TEST(missing_real_symbol_returns_not_initialized)
{
	/* The fake has no cublasGemmStridedBatchedEx_64: the shim's hook is
	 * found, and must answer NOT_INITIALIZED (1) instead of calling NULL. */
	typedef int (*fn)(hdl, int, int, int64_t, int64_t, int64_t,
			  const void *, const void *, int, int64_t, long long,
			  const void *, int, int64_t, long long, const void *,
			  void *, int, int64_t, long long, int64_t, int, int);
	fn f = (fn)hook_sym("cublasGemmStridedBatchedEx_64");
	hdl h = NULL;

	ck_assert_ptr_nonnull(f);
	cublasCreate_v2(&h);
	ck_assert_int_eq(f(h, 0, 0, 1, 1, 1, NULL, NULL, 0, 1, 0, NULL, 0, 1, 0,
			   NULL, NULL, 0, 1, 0, 1, 68, 999), 1);
	cublasDestroy_v2(h);
}
END_TEST

START_TEST(missing_real_symbol_logged_once_under_cublas)
{
	char log[256], env_log[300];
	const char *on[] = { env_log, NULL };
	const char *off[] = { env_log, "DETSHIM_POLICY=off", NULL };

	snprintf(log, sizeof(log), "/tmp/check_cublas_miss_%d.jsonl", (int)getpid());
	snprintf(env_log, sizeof(env_log), "DETSHIM_LOG=%s", log);
	unlink(log);
	ck_assert_int_eq(run_child("missing", on, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "status"), 1);
	ck_assert_int_eq(count_lines(log, "\"src\":\"cublas\",\"call\":"
				     "\"cublasGemmStridedBatchedEx_64\","
				     "\"action\":\"missing\""), 1);
	ck_assert_int_eq(count_lines(log, "\"src\":\"process\",\"call\":"
				     "\"cublasGemmStridedBatchedEx_64\""), 0);
	unlink(log);
	/* policy off: still the library's status, never a call through NULL */
	ck_assert_int_eq(run_child("missing", off, out, sizeof(out)), 0);
	ck_assert_int_eq(child_value(out, "status"), 1);
	unlink(log);
}
END_TEST

static Suite *cublas_suite(void)
{
	Suite *s = suite_create("cublas hooks");
	TCase *t = tcase_create("fake libcublas.so.13");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, atomics_pinned_at_create_and_on_request);
	tcase_add_test(t, autotune_becomes_default);
	tcase_add_test(t, strip_tf32_opt_in);
	tcase_add_test(t, logged_once_per_handle);
	tcase_add_test(t, missing_real_symbol_returns_not_initialized);
	tcase_add_test(t, missing_real_symbol_logged_once_under_cublas);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(cublas_suite, scenario)
