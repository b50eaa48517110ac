/*
 * check_sonames.c - the cuBLAS, cuBLASLt and cuDNN hooks against the same
 * fakes under the sonames of older releases and of one release no chain
 * lists, run under LD_PRELOAD=libdetshim.so (make check-hooks).
 *
 * The Makefile builds this file once per library set (SONAME_TESTS):
 *   -DSET_CUBLAS       linked against libcublas.so.N and libcublasLt.so.N
 *                      (N = 12, 11, and 14, which no chain lists)
 *   -DSET_CUDNN        linked against libcudnn.so.8
 *   -DSET_LOCAL=\"N\"   linked against none; dlopens libcublas.so.N and
 *                      libcublasLt.so.N RTLD_LOCAL at run time, as Python
 *                      loads torch's libraries (N = 12, and 14)
 * Every call goes through the shim's definition (hook_sym), exactly where
 * the program's own call binds.  Each
 * test runs a child with DETSHIM_POLICY=off and one with enforce: with
 * off the fake's own behaviour shows (the contrast that proves the check
 * can fail), with enforce the shim's pins show.
 */
#include <dlfcn.h>
#include <stdint.h>

#include "gpulibs_child.h"

static void *libs[2]; /* the RTLD_LOCAL libraries (SET_LOCAL) */

/* A hook (the shim's definition). */
static void *hook(const char *name)
{
	void *p = hook_sym(name);

	if (p == NULL) {
		printf("no symbol %s\n", name);
		exit(3);
	}
	return p;
}

/* A probe of the fake itself. */
static void *probe(const char *name)
{
	void *p = libs[0] ? dlsym(libs[0], name) : dlsym(RTLD_DEFAULT, name);

	if (p == NULL && libs[1])
		p = dlsym(libs[1], name);

	if (p == NULL) {
		printf("no probe %s\n", name);
		exit(3);
	}
	return p;
}

static int scenario_cublas(void)
{
	int (*create)(void **) = hook("cublasCreate_v2");
	int (*set_atomics)(void *, int) = hook("cublasSetAtomicsMode");
	int (*gemm)(void *, int, int, int, int, int, const void *, const void *,
		    int, int, const void *, int, int, const void *, void *,
		    int, int, int, int) = hook("cublasGemmEx");
	int (*atomics)(void *) = probe("fake_cublas_atomics");
	int (*algo)(void *) = probe("fake_cublas_algo");
	void *h = NULL;

	printf("create=%d\n", create(&h));
	if (h == NULL)
		return 0;
	printf("create_atomics=%d\n", atomics(h));
	set_atomics(h, 1);
	printf("asked_atomics=%d\n", atomics(h));
	gemm(h, 0, 0, 1, 1, 1, NULL, NULL, 0, 1, NULL, 0, 1, NULL, NULL, 0, 1,
	     68, 999);
	printf("algo=%d\n", algo(h));
	return 0;
}

/* cublasLtMatmulHeuristicResult_t: 64-byte algo first (abi/cublaslt.h). */
struct lt_result {
	uint64_t algo[8];
	size_t ws;
	int state;
	float waves;
	int reserved[4];
};

static int scenario_cublaslt(void)
{
	int (*pcreate)(void **) = probe("cublasLtMatmulPreferenceCreate");
	int (*heur)(void *, void *, void *, void *, void *, void *, void *,
		    int, struct lt_result *, int *) =
		hook("cublasLtMatmulAlgoGetHeuristic");
	struct lt_result r[1];
	void *pref = NULL;
	int n = 0, st;

	pcreate(&pref);
	memset(r, 0, sizeof(r));
	/* the fake offers schemes 1,0,2,0 in this order: split-K first */
	st = heur(NULL, NULL, NULL, NULL, NULL, NULL, pref, 1, r, &n);
	printf("lt_status=%d\nlt_n=%d\nlt_scheme=%d\n", st, n, (int)r[0].algo[0]);
	return 0;
}

static int scenario_cudnn(void)
{
	int (*create)(int, void **) = hook("cudnnBackendCreateDescriptor");
	int (*pool)(void *, int, int, int, int, int, int, int, int) =
		hook("cudnnSetPooling2dDescriptor");
	int (*pool_mode)(void) = probe("fake_cudnn_last_pool_mode");
	void *d = NULL;

	printf("create=%d\n", create(17 /* TENSOR */, &d));
	/* CUDNN_POOLING_MAX: nondeterministic backward */
	printf("pool=%d\n", pool(&d, 0, 0, 2, 2, 0, 0, 2, 2));
	printf("pool_mode=%d\n", pool_mode());
	return 0;
}

static int scenario(const char *name)
{
#ifdef SET_LOCAL
	if (strcmp(name, "late") == 0) {
		/* before the library is loaded: the library's own status */
		int (*create)(void **) = hook("cublasCreate_v2");
		void *h = NULL;

		printf("early=%d\n", create(&h));
		printf("early_again=%d\n", create(&h));
	}
	libs[0] = dlopen("libcublas.so." SET_LOCAL, RTLD_NOW | RTLD_LOCAL);
	libs[1] = dlopen("libcublasLt.so." SET_LOCAL, RTLD_NOW | RTLD_LOCAL);
	if (libs[0] == NULL || libs[1] == NULL) {
		printf("dlopen failed: %s\n", dlerror());
		return 4;
	}
#endif
	if (strcmp(name, "cublas") == 0 || strcmp(name, "late") == 0)
		return scenario_cublas();
	if (strcmp(name, "cublaslt") == 0)
		return scenario_cublaslt();
	if (strcmp(name, "cudnn") == 0)
		return scenario_cudnn();
	return 5;
}

static char out[8192];
static char log_path[256], env_log[300];

/* Run name under policy (NULL: enforce) with a log; out gets stdout. */
static void run(const char *name, const char *policy)
{
	const char *env[] = { "FAKE_CUBLAS_ATOMICS_DEFAULT=1", env_log, policy,
			      NULL };

	snprintf(log_path, sizeof(log_path), "/tmp/check_sonames_%d.jsonl",
		 (int)getpid());
	snprintf(env_log, sizeof(env_log), "DETSHIM_LOG=%s", log_path);
	unlink(log_path);
	ck_assert_int_eq(run_child(name, env, out, sizeof(out)), 0);
}

#if defined(SET_CUBLAS) || defined(SET_LOCAL)
START_TEST(cublas_works_and_is_pinned)
{
	run("cublas", "DETSHIM_POLICY=off");
	ck_assert_int_eq(child_value(out, "create"), 0);
	ck_assert_int_eq(child_value(out, "create_atomics"), 1);
	ck_assert_int_eq(child_value(out, "asked_atomics"), 1);
	ck_assert_int_eq(child_value(out, "algo"), 999);
	run("cublas", NULL);
	ck_assert_int_eq(child_value(out, "create"), 0);
	ck_assert_int_eq(child_value(out, "create_atomics"), 0);
	ck_assert_int_eq(child_value(out, "asked_atomics"), 0);
	ck_assert_int_eq(child_value(out, "algo"), -1);
	ck_assert_int_eq(count_lines(log_path, "\"action\":\"missing\""), 0);
	ck_assert_int_ge(count_lines(log_path, "atomics=not-allowed (new handle"), 1);
	unlink(log_path);
}
END_TEST

START_TEST(cublaslt_works_and_vetoes_split_k)
{
	run("cublaslt", "DETSHIM_POLICY=off");
	ck_assert_int_eq(child_value(out, "lt_status"), 0);
	ck_assert_int_eq(child_value(out, "lt_n"), 1);
	ck_assert_int_eq(child_value(out, "lt_scheme"), 1);
	run("cublaslt", NULL);
	ck_assert_int_eq(child_value(out, "lt_status"), 0);
	ck_assert_int_eq(child_value(out, "lt_n"), 1);
	ck_assert_int_eq(child_value(out, "lt_scheme"), 0);
	ck_assert_int_eq(count_lines(log_path, "\"action\":\"missing\""), 0);
	unlink(log_path);
}
END_TEST
#endif

#ifdef SET_LOCAL
START_TEST(library_loaded_after_a_miss_is_found)
{
	run("late", NULL);
	ck_assert_int_eq(child_value(out, "early"), 1); /* NOT_INITIALIZED */
	ck_assert_int_eq(child_value(out, "early_again"), 1);
	ck_assert_int_eq(child_value(out, "create"), 0);
	ck_assert_int_eq(child_value(out, "create_atomics"), 0);
	ck_assert_int_eq(count_lines(log_path, "\"src\":\"cublas\",\"call\":"
				     "\"cublasCreate_v2\",\"action\":\"missing\""),
			 1);
	unlink(log_path);
}
END_TEST
#endif

#ifdef SET_CUDNN
START_TEST(cudnn_works_and_is_pinned)
{
	run("cudnn", "DETSHIM_POLICY=off");
	ck_assert_int_eq(child_value(out, "create"), 0);
	ck_assert_int_eq(child_value(out, "pool"), 0);
	ck_assert_int_eq(child_value(out, "pool_mode"), 0);
	run("cudnn", NULL);
	ck_assert_int_eq(child_value(out, "create"), 0);
	ck_assert_int_eq(child_value(out, "pool"), 0);
	ck_assert_int_eq(child_value(out, "pool_mode"), 3); /* MAX_DETERMINISTIC */
	ck_assert_int_eq(count_lines(log_path, "\"action\":\"missing\""), 0);
	unlink(log_path);
}
END_TEST
#endif

static Suite *sonames_suite(void)
{
	Suite *s = suite_create("hooks under other sonames");
	TCase *t = tcase_create(SET_NAME);

	tcase_set_timeout(t, 30);
#if defined(SET_CUBLAS) || defined(SET_LOCAL)
	tcase_add_test(t, cublas_works_and_is_pinned);
	tcase_add_test(t, cublaslt_works_and_vetoes_split_k);
#endif
#ifdef SET_LOCAL
	tcase_add_test(t, library_loaded_after_a_miss_is_found);
#endif
#ifdef SET_CUDNN
	tcase_add_test(t, cudnn_works_and_is_pinned);
#endif
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(sonames_suite, scenario)
