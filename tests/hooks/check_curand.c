/*
 * check_curand.c - cuRAND hooks against the fake libcurand.so.10: derived
 * seeds at create, seed modes, clock-like seeds, PSEUDO_DYNAMIC ordering,
 * and the missing curandCreateGeneratorHost.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "gpulibs_child.h"

int curandCreateGenerator(void **g, int type);
int curandDestroyGenerator(void *g);
int curandSetPseudoRandomGeneratorSeed(void *g, unsigned long long s);
int curandSetGeneratorOrdering(void *g, int order);
unsigned long long fake_curand_seed(const void *g);
int fake_curand_ordering(const void *g);

/* The seed of the CUDA target tests/targets/cuda/curand_seed.cu:
 * tv_nsec ^ getpid(), read before the generator is created in the
 * calling thread; creating it reads the clock itself many times the
 * first time (the fake stands for the CUDA runtime's initialisation). */
static void *nsec_pid_seeded(void *arg)
{
	struct timespec ts;
	void *g = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	curandCreateGenerator(&g, 100);
	curandSetPseudoRandomGeneratorSeed(
		g, (unsigned long long)ts.tv_nsec ^ (unsigned long long)getpid());
	*(unsigned long long *)arg = fake_curand_seed(g);
	curandDestroyGenerator(g);
	return NULL;
}

static int scenario(const char *name)
{
	unsigned long long main_seed = 0, thread_seed = 0;
	pthread_t th;

	nsec_pid_seeded(&main_seed);
	if (pthread_create(&th, NULL, nsec_pid_seeded, &thread_seed) == 0)
		pthread_join(th, NULL);
	printf("nsec_pid_seed=%llu\nthread_nsec_pid_seed=%llu\n", main_seed,
	       thread_seed);
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

/* tv_nsec ^ getpid(), in the main thread and in a thread that created
 * its own generator: both judged volatile (the log names the rule) and
 * replaced; without the shim two runs differ.  That two root processes
 * get the same replaced seeds is tests/it_seeds.sh's check (these
 * children are siblings, whose keys differ by design). */
START_TEST(clock_pid_seed_in_threads)
{
	char log[] = "/tmp/check_curand_log_XXXXXX", buf[16384], var[64];
	const char *s42[] = { "DETSHIM_SEED=42", var, NULL };
	const char *off[] = { "DETSHIM_POLICY=off", NULL };
	int fd = mkstemp(log);
	ssize_t n;
	const char *p;
	int hits = 0;

	ck_assert_int_ge(fd, 0);
	snprintf(var, sizeof(var), "DETSHIM_LOG=%s", log);
	ck_assert_int_eq(run_child("c", s42, out, sizeof(out)), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(log);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, "\"rule\":\"xor-id:nsec\"")) != NULL; p++)
		hits++;
	ck_assert_int_eq(hits, 2);
	ck_assert_int_eq(run_child("c", off, out, sizeof(out)), 0);
	usleep(20000);
	ck_assert_int_eq(run_child("c", off, out2, sizeof(out2)), 0);
	ck_assert_int_ne(child_value(out, "nsec_pid_seed"),
			 child_value(out2, "nsec_pid_seed"));
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
	tcase_add_test(t, clock_pid_seed_in_threads);
	tcase_add_test(t, missing_create_host);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(curand_suite, scenario)
