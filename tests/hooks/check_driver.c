/*
 * check_driver.c - the dlsym stub and the cuGetProcAddress wrappers
 * against the fake libcuda.so.1 (a driver entry-point table).
 *
 * Checks: RTLD_NEXT/RTLD_DEFAULT lookups behave as without the shim (the
 * stub jumps to the real dlsym with the caller's return address); a hooked
 * name that the library lacks is never answered with a wrapper; the
 * cuGetProcAddress wrappers follow the caller's ABI version; the
 * fingerprint is logged after cuInit; the opt-in fill reaches new
 * allocations (contrast: no fill without DETSHIM_ALLOC_FILL).
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>

#include "gpulibs_child.h"

typedef int (*gp2_fn)(const char *, void **, int, unsigned long long, int *);
typedef int (*init_fn)(unsigned);
typedef int (*alloc_fn)(unsigned long long *, size_t);
typedef int (*async_fn)(unsigned long long *, size_t, void *);

static const char *obj(const void *p)
{
	Dl_info i;
	const char *b;

	if (p == NULL)
		return "NULL";
	if (dladdr(p, &i) == 0 || i.dli_fname == NULL)
		return "?";
	b = strrchr(i.dli_fname, '/');
	return b ? b + 1 : i.dli_fname;
}

static int scenario(const char *name)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	gp2_fn gp;
	void *f = NULL;
	unsigned long long d = 0;
	int st = 0;

	(void)name;
	if (h == NULL)
		return 3;
	gp = (gp2_fn)dlsym(h, "cuGetProcAddress_v2");
	printf("getproc_in=%s\n", obj((void *)gp));
	printf("pool_export=%s\n", obj(dlsym(h, "cuMemAllocFromPoolAsync")));
	printf("dlerror_set=%d\n", dlerror() != NULL);
	gp("cuInit", &f, 13000, 0, &st);
	printf("init_in=%s\n", obj(f));
	((init_fn)f)(0);
	gp("cuMemAlloc", &f, 13000, 0, &st);
	printf("alloc_in=%s\n", obj(f));
	((alloc_fn)f)(&d, 64);
	printf("byte=%d\n", ((unsigned char *)(uintptr_t)d)[63]);
	gp("cuMemAllocAsync", &f, 13000, 2, &st);
	((async_fn)f)(&d, 32, NULL);
	printf("async_byte=%d\n", ((unsigned char *)(uintptr_t)d)[31]);
	gp("cuMemAlloc", &f, 3010, 0, &st);
	printf("alloc_v1_in=%s\n", obj(f));
	gp("cuGetProcAddress", &f, 11030, 0, &st);
	printf("getproc_v1_in=%s\n", obj(f));
	gp("cuMemAllocFromPoolAsync", &f, 13000, 0, &st);
	printf("pool_proc=%s\n", obj(f));
	return 0;
}

static char out[8192];

static bool has(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

START_TEST(rtld_next_and_default_unchanged)
{
	/* From the program, the next "dlsym" after it is the shim's own
	 * (the preload); if the stub resolved RTLD_NEXT relative to the
	 * shim, libc's would come back instead. */
	ck_assert_str_eq(obj(dlsym(RTLD_NEXT, "dlsym")), "libdetshim.so");
	ck_assert_str_eq(obj(dlsym(RTLD_DEFAULT, "dlsym")), "libdetshim.so");
	ck_assert_ptr_nonnull(dlsym(RTLD_NEXT, "malloc"));
	ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "no_such_symbol_detshim"));
	ck_assert_ptr_nonnull(dlerror());
}
END_TEST

START_TEST(wrappers_and_fill)
{
	char log[256], env_log[300];
	const char *fill[] = { "DETSHIM_ALLOC_FILL=1", env_log, NULL };

	snprintf(log, sizeof(log), "/tmp/check_driver_%d.jsonl", (int)getpid());
	snprintf(env_log, sizeof(env_log), "DETSHIM_LOG=%s", log);
	unlink(log);
	ck_assert_int_eq(run_child("d", fill, out, sizeof(out)), 0);
	ck_assert_msg(has(out, "getproc_in=libdetshim.so"), "%s", out);
	ck_assert(has(out, "pool_export=NULL"));
	ck_assert_int_eq(child_value(out, "dlerror_set"), 1);
	ck_assert(has(out, "init_in=libdetshim.so"));
	ck_assert(has(out, "alloc_in=libdetshim.so"));
	ck_assert_int_eq(child_value(out, "byte"), 0);        /* filled */
	ck_assert_int_eq(child_value(out, "async_byte"), 0);  /* filled */
	ck_assert(has(out, "alloc_v1_in=libcuda.so.1"));      /* old ABI */
	ck_assert(has(out, "getproc_v1_in=libdetshim.so"));
	ck_assert(has(out, "pool_proc=NULL"));
	ck_assert_int_eq(count_lines(log, "\"fingerprint\""), 1);
	ck_assert_int_eq(count_lines(log, "name=Fake GPU cc=9.0 sms=7 uuid=GPU-10111213-1415-1617-1819-1a1b1c1d1e1f"), 1);
	unlink(log);
}
END_TEST

START_TEST(no_fill_unless_asked)
{
	const char *none[] = { NULL };
	const char *off[] = { "DETSHIM_POLICY=off", "DETSHIM_ALLOC_FILL=1", NULL };

	ck_assert_int_eq(run_child("d", none, out, sizeof(out)), 0);
	ck_assert(has(out, "getproc_in=libdetshim.so"));
	ck_assert(has(out, "alloc_in=libcuda.so.1"));
	ck_assert_int_eq(child_value(out, "byte"), 0xab);     /* garbage */
	ck_assert_int_eq(run_child("d", off, out, sizeof(out)), 0);
	ck_assert(has(out, "getproc_in=libcuda.so.1"));
	ck_assert_int_eq(child_value(out, "byte"), 0xab);
}
END_TEST

static Suite *driver_suite(void)
{
	Suite *s = suite_create("driver hooks");
	TCase *t = tcase_create("fake libcuda.so.1");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, rtld_next_and_default_unchanged);
	tcase_add_test(t, wrappers_and_fill);
	tcase_add_test(t, no_fill_unless_asked);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(driver_suite, scenario)
