/*
 * check_gpu_policy.c - the pure decisions behind the GPU library hooks
 * (cuda_hooks/cublas_rules.c, curand_rules.c, driver_rules.c) and the
 * once-per-handle set (shim/handle_set.c), and the project's ABI mirrors
 * (cuda_hooks/abi/) against the CUDA headers when those exist.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_detshim.h"
#include "cublas_rules.h"
#include "curand_rules.h"
#include "driver_rules.h"
#include "handle_set.h"
#include "abi/cublas.h"
#include "abi/cublaslt.h"
#include "abi/cuda.h"
#include "abi/curand.h"

START_TEST(gemm_autotune_becomes_default)
{
	ck_assert_int_eq(ds_cublas_gemm_algo(999), -1);
	ck_assert_int_eq(ds_cublas_gemm_algo(-1), -1);
	ck_assert_int_eq(ds_cublas_gemm_algo(99), 99);
	ck_assert_int_eq(ds_cublas_gemm_algo(5), 5);
}
END_TEST

START_TEST(math_mode_strip)
{
	/* off: untouched */
	ck_assert_int_eq(ds_cublas_math_mode(3, false), 3);
	/* TF32, BF16x9, fixed point -> default; flag 16 kept */
	ck_assert_int_eq(ds_cublas_math_mode(3, true), 0);
	ck_assert_int_eq(ds_cublas_math_mode(3 | 16, true), 16);
	ck_assert_int_eq(ds_cublas_math_mode(4, true), 0);
	ck_assert_int_eq(ds_cublas_math_mode(8, true), 0);
	/* pedantic and default stay */
	ck_assert_int_eq(ds_cublas_math_mode(2, true), 2);
	ck_assert_int_eq(ds_cublas_math_mode(0 | 16, true), 16);
}
END_TEST

START_TEST(compute_type_strip)
{
	ck_assert_int_eq(ds_cublas_compute_type(77, true), 68);
	ck_assert_int_eq(ds_cublas_compute_type(78, true), 68);
	ck_assert_int_eq(ds_cublas_compute_type(79, true), 70);
	ck_assert_int_eq(ds_cublas_compute_type(77, false), 77);
	ck_assert_int_eq(ds_cublas_compute_type(74, true), 74);
}
END_TEST

START_TEST(lt_only_unsplit)
{
	ck_assert_uint_eq(ds_lt_allowed_schemes(), 0);
	ck_assert(ds_lt_algo_ok(0, 1));
	ck_assert(!ds_lt_algo_ok(1, 4));
	ck_assert(!ds_lt_algo_ok(2, 4));
	ck_assert(!ds_lt_algo_ok(4, 2));
	ck_assert(!ds_lt_algo_ok(0, 3)); /* split-K without a scheme */
}
END_TEST

START_TEST(compact_keeps_order)
{
	int a[6] = { 10, 11, 12, 13, 14, 15 };
	bool keep[6] = { false, true, false, true, true, false };
	int n = ds_compact(a, sizeof(a[0]), 6, keep);

	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(a[0], 11);
	ck_assert_int_eq(a[1], 13);
	ck_assert_int_eq(a[2], 14);
	memset(keep, 0, sizeof(keep));
	ck_assert_int_eq(ds_compact(a, sizeof(a[0]), 6, keep), 0);
}
END_TEST

START_TEST(curand_rules)
{
	ck_assert_int_eq(ds_curand_ordering(104), 101);
	ck_assert_int_eq(ds_curand_ordering(103), 103);
	ck_assert_int_eq(ds_curand_ordering(201), 201);
	ck_assert(ds_curand_is_pseudo(100));
	ck_assert(ds_curand_is_pseudo(161));
	ck_assert(!ds_curand_is_pseudo(200));
	ck_assert(!ds_curand_is_pseudo(0));
}
END_TEST

START_TEST(driver_names)
{
	ck_assert_int_eq(ds_drv_by_export("cuGetProcAddress_v2"), DS_DRV_GETPROC_V2);
	ck_assert_int_eq(ds_drv_by_export("cuGetProcAddress"), DS_DRV_GETPROC_V1);
	ck_assert_int_eq(ds_drv_by_export("cuMemAlloc_v2"), DS_DRV_MEMALLOC);
	ck_assert_int_eq(ds_drv_by_export("cuMemAlloc"), DS_DRV_NONE);
	ck_assert_int_eq(ds_drv_by_export("cudnnCreate"), DS_DRV_NONE);
	ck_assert_int_eq(ds_drv_by_export("malloc"), DS_DRV_NONE);
	ck_assert_int_eq(ds_drv_by_export(NULL), DS_DRV_NONE);
}
END_TEST

START_TEST(driver_slot_rows)
{
	int i;

	/* every row of driver_slots.h is found by its own exported name */
	for (i = 0; i < DS_DRV_COUNT; i++)
		ck_assert_int_eq(ds_drv_by_export(ds_drv_name(i)), i);
	ck_assert_str_eq(ds_drv_name(DS_DRV_NONE), "?");
	ck_assert_str_eq(ds_drv_name(DS_DRV_MEMALLOC_POOL_PTSZ),
			 "cuMemAllocFromPoolAsync_ptsz");
	/* is_alloc is the row's column, not the enum order */
	ck_assert(ds_drv_is_alloc(DS_DRV_MEMALLOC));
	ck_assert(ds_drv_is_alloc(DS_DRV_MEMALLOC_ASYNC_PTSZ));
	ck_assert(!ds_drv_is_alloc(DS_DRV_GETPROC_V2_PTSZ));
	ck_assert(!ds_drv_is_alloc(DS_DRV_NONE));
	ck_assert(!ds_drv_is_alloc(DS_DRV_COUNT));
	/* below the _v2 ABI's version no allocation slot is handed out */
	ck_assert_int_eq(ds_drv_by_proc("cuMemAllocManaged", 3010, 0),
			 DS_DRV_NONE);
	ck_assert_int_eq(ds_drv_by_proc("cuInit", 2000, 2), DS_DRV_INIT);
	ck_assert_int_eq(ds_drv_by_proc("cuMemAllocFromPoolAsync", 11020, 2),
			 DS_DRV_MEMALLOC_POOL_PTSZ);
}
END_TEST

START_TEST(driver_proc_abi)
{
	/* the ABI follows the caller's version (HAMi-core#57) */
	ck_assert_int_eq(ds_drv_by_proc("cuMemAlloc", 13000, 0), DS_DRV_MEMALLOC);
	ck_assert_int_eq(ds_drv_by_proc("cuMemAlloc", 3020, 0), DS_DRV_MEMALLOC);
	ck_assert_int_eq(ds_drv_by_proc("cuMemAlloc", 3010, 0), DS_DRV_NONE);
	ck_assert_int_eq(ds_drv_by_proc("cuGetProcAddress", 11030, 0),
			 DS_DRV_GETPROC_V1);
	ck_assert_int_eq(ds_drv_by_proc("cuGetProcAddress", 12000, 0),
			 DS_DRV_GETPROC_V2);
	ck_assert_int_eq(ds_drv_by_proc("cuGetProcAddress", 13000, 2),
			 DS_DRV_GETPROC_V2_PTSZ);
	ck_assert_int_eq(ds_drv_by_proc("cuMemAllocAsync", 13000, 2),
			 DS_DRV_MEMALLOC_ASYNC_PTSZ);
	ck_assert_int_eq(ds_drv_by_proc("cuMemAllocAsync", 13000, 1),
			 DS_DRV_MEMALLOC_ASYNC);
	ck_assert_int_eq(ds_drv_by_proc("cuLaunchKernel", 13000, 0), DS_DRV_NONE);
	ck_assert(ds_drv_is_alloc(DS_DRV_MEMALLOC_POOL));
	ck_assert(!ds_drv_is_alloc(DS_DRV_INIT));
}
END_TEST

START_TEST(uuid_like_nvidia_smi)
{
	unsigned char u[16];
	char out[41];
	int i;

	for (i = 0; i < 16; i++)
		u[i] = (unsigned char)(0xf0 + i);
	ds_uuid_format(u, out);
	ck_assert_str_eq(out, "GPU-f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
}
END_TEST

START_TEST(once_per_handle)
{
	static struct ds_once_table t;
	static int a, b;

	ck_assert(ds_once_first(&t, &a, 0));
	ck_assert(!ds_once_first(&t, &a, 0));
	ck_assert(ds_once_first(&t, &a, 1));
	ck_assert(ds_once_first(&t, &b, 0));
	ds_once_forget(&t, &a);
	ck_assert(ds_once_first(&t, &a, 0));
	ck_assert(!ds_once_first(&t, &b, 0));
}
END_TEST

START_TEST(once_table_full_still_logs)
{
	static struct ds_once_table t;
	uintptr_t k;

	for (k = 1; k <= DS_ONCE_SLOTS; k++)
		ck_assert(ds_once_first(&t, (void *)(k * 64), 0));
	/* full: a new handle is not tracked, so it always says "first" */
	ck_assert(ds_once_first(&t, (void *)(uintptr_t)0x999999, 0));
	ck_assert(ds_once_first(&t, (void *)(uintptr_t)0x999999, 0));
}
END_TEST

/* The ABI mirrors against the vendor headers, when they are installed.
 * The headers need their own include path, which the unit build does not
 * have, so the enum values are read from the header text: "NAME = value". */
#define CUDA_INC "/usr/local/cuda/include/"

/* Value of "name = <int>" in header file, or -12345 if absent. */
static long header_value(const char *file, const char *name)
{
	static char buf[1 << 20];
	FILE *f = fopen(file, "r");
	size_t n;
	const char *p;
	size_t len = strlen(name);

	if (f == NULL)
		return -12345;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, name)) != NULL; p += len) {
		const char *q = p + len;

		if (p > buf && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		while (*q == ' ')
			q++;
		if (*q != '=')
			continue;
		return strtol(q + 1, NULL, 0);
	}
	return -12345;
}

START_TEST(abi_matches_vendor_headers)
{
	static const struct {
		const char *file, *name;
		long ours;
	} rows[] = {
		{ "cublas_api.h", "CUBLAS_STATUS_NOT_INITIALIZED", DS_CUBLAS_STATUS_NOT_INITIALIZED },
		{ "cublas_api.h", "CUBLAS_STATUS_NOT_SUPPORTED", DS_CUBLAS_STATUS_NOT_SUPPORTED },
		{ "cublas_api.h", "CUBLAS_ATOMICS_ALLOWED", DS_CUBLAS_ATOMICS_ALLOWED },
		{ "cublas_api.h", "CUBLAS_TF32_TENSOR_OP_MATH", DS_CUBLAS_TF32_TENSOR_OP_MATH },
		{ "cublas_api.h", "CUBLAS_FP32_EMULATED_BF16X9_MATH", DS_CUBLAS_FP32_EMULATED_BF16X9_MATH },
		{ "cublas_api.h", "CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH", DS_CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH },
		{ "cublas_api.h", "CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION",
		  DS_CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION },
		{ "cublas_api.h", "CUBLAS_COMPUTE_32F", DS_CUBLAS_COMPUTE_32F },
		{ "cublas_api.h", "CUBLAS_COMPUTE_64F", DS_CUBLAS_COMPUTE_64F },
		{ "cublas_api.h", "CUBLAS_COMPUTE_32F_FAST_TF32", DS_CUBLAS_COMPUTE_32F_FAST_TF32 },
		{ "cublas_api.h", "CUBLAS_COMPUTE_32F_EMULATED_16BFX9", DS_CUBLAS_COMPUTE_32F_EMULATED_16BFX9 },
		{ "cublas_api.h", "CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT", DS_CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT },
		{ "cublas_api.h", "CUBLAS_GEMM_AUTOTUNE", DS_CUBLAS_GEMM_AUTOTUNE },
		{ "cublas_api.h", "CUBLAS_GEMM_DEFAULT", DS_CUBLAS_GEMM_DEFAULT },
		{ "cublasLt.h", "CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK", DS_CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK },
		{ "cublasLt.h", "CUBLASLT_MATMUL_PREF_IMPL_MASK", DS_CUBLASLT_MATMUL_PREF_IMPL_MASK },
		{ "cublasLt.h", "CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES", DS_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES },
		{ "cublasLt.h", "CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME", DS_CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME },
		{ "cublasLt.h", "CUBLASLT_ALGO_CONFIG_SPLITK_NUM", DS_CUBLASLT_ALGO_CONFIG_SPLITK_NUM },
		{ "cublasLt.h", "CUBLASLT_REDUCTION_SCHEME_NONE", DS_CUBLASLT_REDUCTION_SCHEME_NONE },
		{ "cublasLt.h", "CUBLASLT_REDUCTION_SCHEME_MASK", DS_CUBLASLT_REDUCTION_SCHEME_MASK },
		{ "curand.h", "CURAND_STATUS_NOT_INITIALIZED", DS_CURAND_STATUS_NOT_INITIALIZED },
		{ "curand.h", "CURAND_ORDERING_PSEUDO_DYNAMIC", DS_CURAND_ORDERING_PSEUDO_DYNAMIC },
		{ "curand.h", "CURAND_ORDERING_PSEUDO_DEFAULT", DS_CURAND_ORDERING_PSEUDO_DEFAULT },
		{ "curand.h", "CURAND_RNG_PSEUDO_DEFAULT", DS_CURAND_RNG_PSEUDO_DEFAULT },
		{ "curand.h", "CURAND_RNG_QUASI_DEFAULT", DS_CURAND_RNG_QUASI_DEFAULT },
		{ "cuda.h", "CUDA_ERROR_NOT_INITIALIZED", DS_CUDA_ERROR_NOT_INITIALIZED },
		{ "cuda.h", "CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT", DS_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT },
		{ "cuda.h", "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR", DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR },
		{ "cuda.h", "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR", DS_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR },
	};
	char path[256];
	size_t i;

	if (access(CUDA_INC "cublasLt.h", R_OK) != 0) {
		printf("check_gpu_policy: CUDA headers not found: ABI comparison skipped\n");
		return;
	}
	for (i = 0; i < DS_ARRAY_SIZE(rows); i++) {
		snprintf(path, sizeof(path), CUDA_INC "%s", rows[i].file);
		ck_assert_msg(header_value(path, rows[i].name) == rows[i].ours,
			      "%s: header %ld, abi/ %ld", rows[i].name,
			      header_value(path, rows[i].name), rows[i].ours);
	}
	/* Layouts copied by value (cublasLt.h: uint64_t data[8]; then
	 * size_t, cublasStatus_t, float, int[4]). */
	ck_assert_uint_eq(sizeof(struct ds_cublaslt_algo), 64);
	ck_assert_uint_eq(sizeof(struct ds_cublaslt_heur_result), 96);
	ck_assert_uint_eq(offsetof(struct ds_cublaslt_heur_result, state), 72);
}
END_TEST

/* The batch-invariant profile's shape table: a shape stored once keeps
 * its first algorithm; a shape that differs in any byte is another; a
 * hash collision is told apart by the shape itself; a full table and a
 * slot whose writer never published answer NULL, never wait for ever. */
static struct ds_lt_table lt_t;

START_TEST(lt_table_one_algo_per_shape)
{
	struct ds_lt_shape a, b;
	struct ds_cublaslt_algo x, y;
	struct ds_lt_slot *sl, *sl2;
	bool busy, ins;
	uint64_t ha, hb;
	int i;

	memset(&lt_t, 0, sizeof(lt_t));
	memset(&a, 0, sizeof(a));
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	a.m = 4096;
	a.k = 4096;
	a.desc[0] = 68;
	x.data[0] = 1;
	y.data[0] = 2;
	b = a;
	b.k = 14336;
	ha = ds_lt_shape_hash(&a);
	hb = ds_lt_shape_hash(&b);
	ck_assert(ha != 0 && hb != 0 && ha != hb);
	ck_assert_ptr_null(ds_lt_find(&lt_t, &a, ha, &busy));
	ck_assert(!busy);
	sl = ds_lt_insert(&lt_t, &a, ha, &x, 1, &ins);
	ck_assert_ptr_nonnull(sl);
	ck_assert(ins);
	ck_assert_uint_eq(sl->first_n, 1);
	/* a second insert of the shape keeps the first algorithm */
	sl2 = ds_lt_insert(&lt_t, &a, ha, &y, 512, &ins);
	ck_assert_ptr_eq(sl2, sl);
	ck_assert(!ins);
	ck_assert_uint_eq(sl->algo.data[0], 1);
	ck_assert_ptr_eq(ds_lt_find(&lt_t, &a, ha, &busy), sl);
	ck_assert_ptr_null(ds_lt_find(&lt_t, &b, hb, &busy));
	/* the same hash for another shape: found apart by its bytes */
	sl2 = ds_lt_insert(&lt_t, &b, ha, &y, 8, &ins);
	ck_assert(ins && sl2 != sl);
	ck_assert_ptr_eq(ds_lt_find(&lt_t, &b, ha, &busy), sl2);
	ck_assert_ptr_eq(ds_lt_find(&lt_t, &a, ha, &busy), sl);
	/* a claimed, never published slot: busy, then NULL */
	memset(&lt_t, 0, sizeof(lt_t));
	atomic_store(&lt_t.slot[ha & (DS_LT_SLOTS - 1)].tag, ha);
	ck_assert_ptr_null(ds_lt_find(&lt_t, &a, ha, &busy));
	ck_assert(busy);
	ck_assert_ptr_null(ds_lt_insert(&lt_t, &a, ha, &x, 1, &ins));
	ck_assert(!ins);
	/* full: every slot another shape's */
	memset(&lt_t, 0, sizeof(lt_t));
	for (i = 0; i < DS_LT_SLOTS; i++) {
		b.m = 1000 + (uint64_t)i;
		ck_assert_ptr_nonnull(ds_lt_insert(&lt_t, &b,
						   ds_lt_shape_hash(&b), &y, 1,
						   &ins));
	}
	ck_assert_ptr_null(ds_lt_insert(&lt_t, &a, ha, &x, 1, &ins));
	ck_assert_ptr_null(ds_lt_find(&lt_t, &a, ha, &busy));
	ck_assert(!busy);
}
END_TEST

/* Threads that race to store the same shapes, each with its own
 * algorithm: every shape ends in one slot, and every thread reads back
 * the algorithm of the one insert that won. */
#define LT_RACE_THREADS 4
#define LT_RACE_SHAPES 64

static void *lt_race(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	struct ds_lt_shape s;
	struct ds_cublaslt_algo a;
	uintptr_t bad = 0;
	int i, r;

	memset(&a, 0, sizeof(a));
	a.data[0] = me;
	for (r = 0; r < 50; r++)
		for (i = 0; i < LT_RACE_SHAPES; i++) {
			struct ds_lt_slot *sl, *got;
			bool busy, ins;
			uint64_t h;

			memset(&s, 0, sizeof(s));
			s.m = 64 + (uint64_t)i;
			s.k = 4096;
			h = ds_lt_shape_hash(&s);
			sl = ds_lt_find(&lt_t, &s, h, &busy);
			if (sl == NULL)
				sl = ds_lt_insert(&lt_t, &s, h, &a, me, &ins);
			got = ds_lt_find(&lt_t, &s, h, &busy);
			if (sl == NULL || got != sl ||
			    got->algo.data[0] != got->first_n)
				bad++;
		}
	return (void *)bad;
}

START_TEST(lt_table_threads_agree)
{
	pthread_t t[LT_RACE_THREADS];
	void *bad;
	int i, used = 0;

	memset(&lt_t, 0, sizeof(lt_t));
	for (i = 0; i < LT_RACE_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, lt_race,
						(void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < LT_RACE_THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
	for (i = 0; i < DS_LT_SLOTS; i++)
		used += atomic_load(&lt_t.slot[i].tag) != 0;
	ck_assert_int_eq(used, LT_RACE_SHAPES);
}
END_TEST

Suite *make_gpu_policy_suite(void)
{
	Suite *s = suite_create("gpu_policy");
	TCase *t = tcase_create("rules");

	tcase_add_test(t, gemm_autotune_becomes_default);
	tcase_add_test(t, math_mode_strip);
	tcase_add_test(t, compute_type_strip);
	tcase_add_test(t, lt_only_unsplit);
	tcase_add_test(t, compact_keeps_order);
	tcase_add_test(t, lt_table_one_algo_per_shape);
	tcase_add_test(t, lt_table_threads_agree);
	tcase_add_test(t, curand_rules);
	tcase_add_test(t, driver_names);
	tcase_add_test(t, driver_slot_rows);
	tcase_add_test(t, driver_proc_abi);
	tcase_add_test(t, uuid_like_nvidia_smi);
	tcase_add_test(t, once_per_handle);
	tcase_add_test(t, once_table_full_still_logs);
	tcase_add_test(t, abi_matches_vendor_headers);
	suite_add_tcase(s, t);
	return s;
}

DS_TEST_SUITE(make_gpu_policy_suite);
