/*
 * check_batch_invariant.c - DETSHIM_PROFILE=batch-invariant against the
 * fake libcublasLt.so.13, whose heuristic offers tile 1 below n = 64 and
 * tile 2 from there (see the fake), as a real one changes its choice with
 * the batch.  Contrast: the default profile gets both tiles; the profile
 * gets the first call's tile at every n of one shape, a shape of its own
 * gets its own, and a shape whose algorithm the check refuses falls back
 * and is logged "batch-variant" once.  The variant build
 * (DS_LT_PIN_HALF=0, DS_LT_REP_N=16) filters a bf16 shape on every call
 * and pins an fp32 one at n = 16.  Also the profile's environment
 * pins and detshim_py_setting, the setting export for Python.
 */
#include <stdint.h>

#include "gpulibs_child.h"

struct algo { uint64_t data[8]; };
struct result { struct algo algo; size_t ws; int state; float waves; int reserved[4]; };
int cublasLtMatmulPreferenceCreate(void **p);
int cublasLtMatmulPreferenceDestroy(void *p);
int cublasLtMatmulPreferenceSetAttribute(void *p, int attr, const void *buf,
					 size_t n);
int cublasLtMatmulPreferenceGetAttribute(void *p, int attr, void *buf,
					 size_t n, size_t *written);
int cublasLtMatmulAlgoGetHeuristic(void *h, void *d, void *A, void *B, void *C,
				   void *D, void *p, int req,
				   struct result res[], int *ret);
int cublasLtMatmul(void *h, void *d, const void *alpha, const void *a, void *A,
		   const void *b, void *B, const void *beta, const void *c,
		   void *C, void *dd, void *D, const struct algo *algo,
		   void *ws, size_t wss, void *stream);
int cublasLtMatrixLayoutCreate(void **l, uint32_t type, uint64_t rows,
			       uint64_t cols, int64_t ld);
int cublasLtMatrixLayoutDestroy(void *l);
int cublasLtMatrixLayoutSetAttribute(void *l, int attr, const void *buf,
				     size_t n);
int cublasLtMatmulDescCreate(void **d, int32_t compute, int32_t scale);
int cublasLtMatmulDescDestroy(void *d);
int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf,
				   size_t n);
int fake_lt_last_tile(void);
int fake_lt_heuristic_calls(void);
int fake_lt_check_calls(void);
int fake_lt_live_prefs(void);

/* PyTorch's linear layer as cuBLAS sees it: D[m,n] = op(A)[m,k] B[k,n]
 * with A the weight, transposed (stored k x m), m out features, k in
 * features, n tokens (column-major). */
struct gemm {
	void *desc, *A, *B, *C, *D, *pref;
};

/* A and B of cudaDataType_t type, C and D fp32. */
static void gemm_make_typed(struct gemm *g, uint64_t m, uint64_t k,
			    uint32_t type)
{
	int32_t t = 1;
	uint64_t ws = 1024;

	cublasLtMatmulDescCreate(&g->desc, 68 /* COMPUTE_32F */, 0);
	cublasLtMatmulDescSetAttribute(g->desc, 3 /* TRANSA */, &t, 4);
	cublasLtMatrixLayoutCreate(&g->A, type, k, m, (int64_t)k);
	cublasLtMatrixLayoutCreate(&g->B, type, k, 1, (int64_t)k);
	cublasLtMatrixLayoutCreate(&g->C, 0, m, 1, (int64_t)m);
	cublasLtMatrixLayoutCreate(&g->D, 0, m, 1, (int64_t)m);
	cublasLtMatmulPreferenceCreate(&g->pref);
	cublasLtMatmulPreferenceSetAttribute(g->pref, 1, &ws, 8);
}

static void gemm_set_n(struct gemm *g, uint64_t n)
{
	cublasLtMatrixLayoutSetAttribute(g->B, 3 /* COLS */, &n, 8);
	cublasLtMatrixLayoutSetAttribute(g->C, 3, &n, 8);
	cublasLtMatrixLayoutSetAttribute(g->D, 3, &n, 8);
}

static void gemm_make(struct gemm *g, uint64_t m, uint64_t k)
{
	gemm_make_typed(g, m, k, 0 /* CUDA_R_32F */);
}

/* Split-K counts the heuristic answered, at most (the fake's data[1]). */
static int max_splitk;

/* The tile the heuristic answers at n (-1: no answer). */
static int gemm_tile(struct gemm *g, uint64_t n)
{
	struct result r[4];
	int cnt = -1;

	gemm_set_n(g, n);
	if (cublasLtMatmulAlgoGetHeuristic(NULL, g->desc, g->A, g->B, g->C,
					   g->D, g->pref, 1, r, &cnt) != 0 ||
	    cnt != 1)
		return -1;
	if ((int)r[0].algo.data[1] > max_splitk)
		max_splitk = (int)r[0].algo.data[1];
	return (int)r[0].algo.data[3];
}

static const uint64_t ns[] = { 1, 2, 8, 63, 64, 512, 2048 };

static int scenario(const char *name)
{
	struct gemm g, g2;
	size_t i;
	char buf[64];
	int len;
	int (*setting)(const char *, char *, size_t);

	if (strcmp(name, "env") == 0) {
		const char *vars[] = { "CUBLAS_WORKSPACE_CONFIG",
				       "CUBLASLT_WORKSPACE_SIZE",
				       "TORCHINDUCTOR_BATCH_INVARIANT",
				       "TORCHINDUCTOR_DETERMINISTIC", "NCCL_ALGO" };

		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			const char *v = getenv(vars[i]);

			printf("%s=%s\n", vars[i], v ? v : "(unset)");
		}
		*(void **)&setting = hook_sym("detshim_py_setting");
		if (setting == NULL)
			return 3;
		len = setting("profile", buf, sizeof(buf));
		printf("setting_len=%d\nsetting=%s\n", len, len >= 0 ? buf : "");
		printf("setting_short=%d\n", setting("profile", buf, 4));
		printf("setting_short_text=%s\n", buf);
		printf("setting_unknown=%d\n", setting("no_such_key", buf,
						      sizeof(buf)));
		return 0;
	}
	if (strcmp(name, "half") == 0) {
		/* One shape in fp32 and in bf16 (A and B), alternating. */
		gemm_make(&g, 128, 64);
		gemm_make_typed(&g2, 128, 64, 14 /* CUDA_R_16BF */);
		for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			printf("fp32_%llu=%d\n", (unsigned long long)ns[i],
			       gemm_tile(&g, ns[i]));
			printf("bf16_%llu=%d\n", (unsigned long long)ns[i],
			       gemm_tile(&g2, ns[i]));
		}
		printf("max_splitk=%d\n", max_splitk);
		printf("live_prefs=%d\n", fake_lt_live_prefs());
		return 0;
	}
	gemm_make(&g, 128, 64);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		printf("tile_%llu=%d\n", (unsigned long long)ns[i],
		       gemm_tile(&g, ns[i]));
	printf("heuristic_calls=%d\ncheck_calls=%d\n", fake_lt_heuristic_calls(),
	       fake_lt_check_calls());
	/* Another shape (another k): its own first choice, at n = 512. */
	gemm_make(&g2, 128, 96);
	printf("other_512=%d\n", gemm_tile(&g2, 512));
	printf("other_1=%d\n", gemm_tile(&g2, 1));
	/* algo == NULL: the shim picks, through the same table. */
	gemm_set_n(&g, 2048);
	cublasLtMatmul(NULL, g.desc, NULL, NULL, g.A, NULL, g.B, NULL, NULL,
		       g.C, NULL, g.D, NULL, NULL, 1024, NULL);
	printf("null_algo_tile=%d\n", fake_lt_last_tile());
	{
		uint32_t mask = 0;
		size_t w = 0;

		/* The caller's own preference, after every call above. */
		cublasLtMatmulPreferenceGetAttribute(g.pref, 3, &mask, 4, &w);
		printf("pref_mask=%u\n", (unsigned)mask);
	}
	return 0;
}

static char out[8192];
static char logpath[] = "/tmp/detshim_bi_XXXXXX";

static int run_logged_as(const char *scenario, const char *const *extra)
{
	const char *env[12];
	char var[64];
	int fd, i = 0;

	strcpy(logpath, "/tmp/detshim_bi_XXXXXX");
	fd = mkstemp(logpath);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(var, sizeof(var), "DETSHIM_LOG=%s", logpath);
	env[i++] = var;
	for (; extra && *extra && i < 11; extra++)
		env[i++] = *extra;
	env[i] = NULL;
	return run_child(scenario, env, out, sizeof(out));
}

static int run_logged(const char *const *extra)
{
	return run_logged_as("gemm", extra);
}

/* The children of this test run the variant build (Makefile: LTVAR_SO,
 * DS_LT_PIN_HALF=0 DS_LT_REP_N=16) instead of the shim this test runs
 * under. */
static void use_variant(void)
{
	const char *so = getenv("DS_TEST_LTVAR_SO");

	ck_assert_msg(so && *so, "DS_TEST_LTVAR_SO unset (make check-hooks sets it)");
	ck_assert_int_eq(access(so, R_OK), 0);
	ck_assert_int_eq(setenv("LD_PRELOAD", so, 1), 0);
}

START_TEST(default_profile_varies_with_n)
{
	ck_assert_int_eq(run_logged(NULL), 0);
	unlink(logpath);
	ck_assert_int_eq(child_value(out, "tile_1"), 1);
	ck_assert_int_eq(child_value(out, "tile_63"), 1);
	ck_assert_int_eq(child_value(out, "tile_64"), 2);
	ck_assert_int_eq(child_value(out, "tile_2048"), 2);
	ck_assert_int_eq(child_value(out, "heuristic_calls"), 7);
	ck_assert_int_eq(child_value(out, "check_calls"), 0);
	ck_assert_int_eq(child_value(out, "null_algo_tile"), 2);
}
END_TEST

START_TEST(profile_one_algo_per_shape)
{
	const char *bi[] = { "DETSHIM_PROFILE=batch-invariant", NULL };
	size_t i;
	char key[32];

	ck_assert_int_eq(run_logged(bi), 0);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(key, sizeof(key), "tile_%llu", (unsigned long long)ns[i]);
		/* The heuristic's answer at the representative n = 256
		 * (tile 2), also at n = 1, where it would answer tile 1. */
		ck_assert_msg(child_value(out, key) == 2, "%s: %s", key, out);
	}
	/* The first call asked the heuristic, at n = 256; every call,
	 * the first too, checked the stored algorithm at its own n. */
	ck_assert_int_eq(child_value(out, "heuristic_calls"), 1);
	ck_assert_int_eq(child_value(out, "check_calls"), 7);
	/* The other shape pinned its own, also at n = 256. */
	ck_assert_int_eq(child_value(out, "other_512"), 2);
	ck_assert_int_eq(child_value(out, "other_1"), 2);
	ck_assert_int_eq(child_value(out, "null_algo_tile"), 2);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"pinned\",\"m\":128,"), 2);
	ck_assert_int_eq(count_lines(logpath, "\"m\":128,\"k\":64,\"n\":256,\"algo\":11,"
					   "\"tile\":2,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"m\":128,\"k\":96,\"n\":256,"), 1);
	ck_assert_int_eq(count_lines(logpath, "batch-variant"), 0);
	unlink(logpath);
}
END_TEST

START_TEST(profile_check_refuses_falls_back_once)
{
	const char *bi[] = { "DETSHIM_PROFILE=batch-invariant",
			     "FAKE_LT_CHECK_FAIL_N=512", NULL };
	const char *ws[] = { "DETSHIM_PROFILE=batch-invariant",
			     "FAKE_LT_CHECK_WS=4096", NULL };

	ck_assert_int_eq(run_logged(bi), 0);
	ck_assert_int_eq(child_value(out, "tile_1"), 2);
	ck_assert_int_eq(child_value(out, "tile_64"), 2);
	ck_assert_int_eq(child_value(out, "tile_512"), 2);
	ck_assert_int_eq(child_value(out, "tile_2048"), 2);
	/* once for each shape, though two calls of the first fell back
	 * (and the NULL algo's third) */
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"batch-variant\""), 2);
	ck_assert_int_eq(count_lines(logpath, "cublasLtMatmulAlgoCheck refused it "
					   "(status 15)"), 2);
	ck_assert_int_eq(count_lines(logpath, "chosen at n=256 cannot run at n=512"), 2);
	unlink(logpath);
	/* An algorithm that wants more workspace than the limit (1024). */
	ck_assert_int_eq(run_logged(ws), 0);
	ck_assert_int_eq(child_value(out, "tile_2"), 1);
	ck_assert_int_eq(child_value(out, "tile_2048"), 2);
	/* once per shape, at its first call: k = 64 at n = 1, k = 96 at
	 * n = 512; the algorithm is the one chosen at n = 256 */
	ck_assert_int_eq(count_lines(logpath, "needs 4096 bytes of workspace"), 2);
	ck_assert_int_eq(count_lines(logpath, "\"k\":64,\"n\":1,\"algo\":11,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"k\":96,\"n\":512,\"algo\":11,"), 1);
	unlink(logpath);
}
END_TEST

START_TEST(profile_under_warn_only_logs)
{
	const char *warn[] = { "DETSHIM_PROFILE=batch-invariant",
			       "DETSHIM_POLICY=warn", NULL };

	ck_assert_int_eq(run_logged(warn), 0);
	ck_assert_int_eq(child_value(out, "tile_1"), 1);
	ck_assert_int_eq(child_value(out, "tile_2048"), 2);
	ck_assert_int_eq(child_value(out, "check_calls"), 0);
	/* The profile's own query leaves the program's preference as it
	 * was (the library's default mask, 7). */
	ck_assert_int_eq(child_value(out, "pref_mask"), 7);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-pin\",\"m\""), 2);
	/* The profile's choice is made at n = 256; the first call that
	 * differs from it, once per shape: k = 64 at n = 1, k = 96 at
	 * n = 512 */
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-pin\",\"m\":128,\"k\":64,\"n\":256,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-replace\",\"m\""), 2);
	ck_assert_int_eq(count_lines(logpath, "at n=1 the heuristic chose algo 10 "
					   "tile 1"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"pinned\",\"m\""), 0);
	unlink(logpath);
}
END_TEST

START_TEST(profile_pins_and_setting)
{
	const char *bi[] = { "DETSHIM_PROFILE=batch-invariant", NULL };
	const char *mine[] = { "DETSHIM_PROFILE=batch-invariant",
			       "NCCL_ALGO=Ring", "CUBLASLT_WORKSPACE_SIZE=64",
			       NULL };
	const char *dflt[] = { "DETSHIM_SEED=1", NULL };
	static const char *const pinned[] = { "CUBLAS_WORKSPACE_CONFIG",
		"CUBLASLT_WORKSPACE_SIZE", "TORCHINDUCTOR_BATCH_INVARIANT",
		"TORCHINDUCTOR_DETERMINISTIC", "NCCL_ALGO" };
	size_t i;

	/* This process runs under the shim too: its own pins would reach
	 * the child as the user's. */
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
		unsetenv(pinned[i]);

	ck_assert_int_eq(run_child("env", bi, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "CUBLAS_WORKSPACE_CONFIG=:16:8\n"));
	ck_assert_ptr_nonnull(strstr(out, "CUBLASLT_WORKSPACE_SIZE=1\n"));
	ck_assert_ptr_nonnull(strstr(out, "TORCHINDUCTOR_BATCH_INVARIANT=1\n"));
	ck_assert_ptr_nonnull(strstr(out, "TORCHINDUCTOR_DETERMINISTIC=1\n"));
	ck_assert_ptr_nonnull(strstr(out, "NCCL_ALGO=allreduce:tree\n"));
	ck_assert_int_eq(child_value(out, "setting_len"), 15);
	ck_assert_ptr_nonnull(strstr(out, "setting=batch-invariant\n"));
	ck_assert_int_eq(child_value(out, "setting_short"), 15);
	ck_assert_ptr_nonnull(strstr(out, "setting_short_text=bat\n"));
	ck_assert_int_eq(child_value(out, "setting_unknown"), -1);
	/* The user's values stay. */
	ck_assert_int_eq(run_child("env", mine, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "NCCL_ALGO=Ring\n"));
	ck_assert_ptr_nonnull(strstr(out, "CUBLASLT_WORKSPACE_SIZE=64\n"));
	/* The default profile: today's pins, none of the profile's. */
	ck_assert_int_eq(run_child("env", dflt, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "CUBLAS_WORKSPACE_CONFIG=:4096:8\n"));
	ck_assert_ptr_nonnull(strstr(out, "CUBLASLT_WORKSPACE_SIZE=(unset)\n"));
	ck_assert_ptr_nonnull(strstr(out, "TORCHINDUCTOR_BATCH_INVARIANT=(unset)\n"));
	ck_assert_ptr_nonnull(strstr(out, "NCCL_ALGO=Ring\n"));
	ck_assert_ptr_nonnull(strstr(out, "setting=default\n"));
}
END_TEST

/* The default build pins the bf16 shape as it pins the fp32 one: one
 * algorithm, chosen at n = 256, at every n. */
START_TEST(default_build_pins_half)
{
	const char *bi[] = { "DETSHIM_PROFILE=batch-invariant", NULL };
	size_t i;
	char key[32];

	ck_assert_int_eq(run_logged_as("half", bi), 0);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(key, sizeof(key), "bf16_%llu", (unsigned long long)ns[i]);
		ck_assert_msg(child_value(out, key) == 2, "%s: %s", key, out);
		snprintf(key, sizeof(key), "fp32_%llu", (unsigned long long)ns[i]);
		ck_assert_msg(child_value(out, key) == 2, "%s: %s", key, out);
	}
	ck_assert_int_eq(child_value(out, "max_splitk"), 1);
	ck_assert_int_eq(child_value(out, "live_prefs"), 2);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"pinned\",\"m\":128,"), 2);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"filtered\""), 0);
	unlink(logpath);
}
END_TEST

/* DS_LT_PIN_HALF=0 DS_LT_REP_N=16: the bf16 shape takes the heuristic's
 * unsplit choice at each n (tile 1 below 64, tile 2 from there), the
 * fp32 shape one algorithm, chosen at n = 16 (tile 1), at every n. */
START_TEST(variant_filters_half_pins_fp32)
{
	const char *bi[] = { "DETSHIM_PROFILE=batch-invariant", NULL };
	size_t i;
	char key[32];

	use_variant();
	ck_assert_int_eq(run_logged_as("half", bi), 0);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(key, sizeof(key), "bf16_%llu", (unsigned long long)ns[i]);
		ck_assert_msg(child_value(out, key) == (ns[i] < 64 ? 1 : 2),
			      "%s: %s", key, out);
		snprintf(key, sizeof(key), "fp32_%llu", (unsigned long long)ns[i]);
		ck_assert_msg(child_value(out, key) == 1, "%s: %s", key, out);
	}
	/* The fake's first result is split-K (scheme 1, split 4): dropped
	 * for both, at every n. */
	ck_assert_int_eq(child_value(out, "max_splitk"), 1);
	/* the program's two preferences; the hooks' own are destroyed */
	ck_assert_int_eq(child_value(out, "live_prefs"), 2);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"pinned\",\"m\":128,"
					   "\"k\":64,\"n\":16,\"algo\":11,\"tile\":1,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"pinned\",\"m\""), 1);
	/* once for the shape, at its first call (n = 1) */
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"filtered\",\"m\":128,"
					   "\"k\":64,\"n\":1,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"filtered\""), 1);
	ck_assert_int_eq(count_lines(logpath, "A=R_16BF B=R_16BF"), 1);
	ck_assert_int_eq(count_lines(logpath, "batch-variant"), 0);
	unlink(logpath);
}
END_TEST

/* Under warn the variant says what it would filter and what it would
 * pin; only the pinned fp32 shape has a would-replace. */
START_TEST(variant_under_warn_only_logs)
{
	const char *warn[] = { "DETSHIM_PROFILE=batch-invariant",
			       "DETSHIM_POLICY=warn", NULL };

	use_variant();
	ck_assert_int_eq(run_logged_as("half", warn), 0);
	ck_assert_int_eq(child_value(out, "bf16_1"), 1);
	ck_assert_int_eq(child_value(out, "bf16_2048"), 2);
	ck_assert_int_eq(child_value(out, "fp32_2048"), 2);
	/* the program's own results, split-K first */
	ck_assert_int_eq(child_value(out, "max_splitk"), 4);
	ck_assert_int_eq(child_value(out, "live_prefs"), 2);
	/* its first unsplit result (algo 11), not the program's split one */
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-filter\",\"m\":128,"
					   "\"k\":64,\"n\":1,\"algo\":11,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-filter\",\"m\""), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-pin\",\"m\":128,"
					   "\"k\":64,\"n\":16,"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-pin\",\"m\""), 1);
	/* fp32 at n = 1 gets the split-K algo 10, not the unsplit 11 of
	 * n = 16 */
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"would-replace\",\"m\""), 1);
	ck_assert_int_eq(count_lines(logpath, "at n=1 the heuristic chose algo 10 "
					   "tile 1 stages 10; the profile would run the one "
					   "chosen at n=16"), 1);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"pinned\",\"m\""), 0);
	ck_assert_int_eq(count_lines(logpath, "\"action\":\"filtered\""), 0);
	unlink(logpath);
}
END_TEST

static Suite *bi_suite(void)
{
	Suite *s = suite_create("batch-invariant profile");
	TCase *t = tcase_create("fake libcublasLt.so.13");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, default_profile_varies_with_n);
	tcase_add_test(t, profile_one_algo_per_shape);
	tcase_add_test(t, profile_check_refuses_falls_back_once);
	tcase_add_test(t, profile_under_warn_only_logs);
	tcase_add_test(t, profile_pins_and_setting);
	tcase_add_test(t, default_build_pins_half);
	tcase_add_test(t, variant_filters_half_pins_fp32);
	tcase_add_test(t, variant_under_warn_only_logs);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(bi_suite, scenario)
