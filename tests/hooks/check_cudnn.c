/*
 * check_cudnn.c - cuDNN hooks against the fake libcudnn.so.9.
 *
 * The shim reads its configuration at start-up, so every scenario runs in
 * a child (this program re-executed with "child <scenario>" and a chosen
 * environment) that prints key=value lines; the tests compare them.  The
 * child plays the framework: for the backend API it does what PyTorch's
 * benchmark mode does (docs/GPU_FACTS.md §2.6) - heuristic configs, build a
 * plan for each, skip plans whose Finalize fails, "time" the survivors
 * (CHILD_PICK stands for timing noise: which survivor wins), then keep
 * executing the winner.  Every behaviour is also run without the shim
 * (LD_PRELOAD removed) to show the test can fail.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi/cudnn.h"
#include "hook_sym.h"

extern char **environ;

ds_cudnn_status cudnnBackendCreateDescriptor(int, ds_cudnn_desc *);
ds_cudnn_status cudnnBackendDestroyDescriptor(ds_cudnn_desc);
ds_cudnn_status cudnnBackendSetAttribute(ds_cudnn_desc, int, int, int64_t,
					 const void *);
ds_cudnn_status cudnnBackendGetAttribute(ds_cudnn_desc, int, int, int64_t,
					 int64_t *, void *);
ds_cudnn_status cudnnBackendFinalize(ds_cudnn_desc);
ds_cudnn_status cudnnBackendExecute(ds_cudnn_handle, ds_cudnn_desc,
				    ds_cudnn_desc);
ds_cudnn_status cudnnGetConvolutionBackwardFilterAlgorithm_v7(
	void *, void *, void *, void *, void *, int, int *,
	struct ds_cudnn_algo_perf *);
ds_cudnn_status cudnnFindConvolutionBackwardFilterAlgorithm(
	void *, void *, void *, void *, void *, int, int *,
	struct ds_cudnn_algo_perf *);
ds_cudnn_status cudnnGetConvolutionBackwardFilterWorkspaceSize(
	void *, void *, void *, void *, void *, int, size_t *);
ds_cudnn_status cudnnConvolutionBackwardFilter(void *, const void *, void *,
					       const void *, void *,
					       const void *, void *, int,
					       void *, size_t, const void *,
					       void *, void *);
ds_cudnn_status cudnnSetPooling2dDescriptor(void *, int, int, int, int, int,
					    int, int, int);
ds_cudnn_status cudnnCTCLoss(void *, void *, const void *, const int *,
			     const int *, const int *, void *, void *, void *,
			     int, void *, void *, size_t);
int fake_cudnn_last_algo(void);
int fake_cudnn_last_pool_mode(void);
int fake_cudnn_last_ctc_algo(void);
long fake_cudnn_last_exec_engine(void);
int fake_cudnn_plan_cand(void *plan);

/* ------------------------------------------------------------------ */
/* Child side. */

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 10) : def;
}

static void *mk(int type)
{
	void *d = NULL;

	/* no ck_assert in the child: Check reports even passing asserts to
	 * a runner that the child does not have */
	if (cudnnBackendCreateDescriptor(type, &d) != 0) {
		printf("create_failed=%d\n", type);
		exit(3);
	}
	return d;
}

static void set_i64(void *d, int name, const int64_t *v, int n)
{
	cudnnBackendSetAttribute(d, name, DS_CUDNN_TYPE_INT64, n, v);
}

static void set_ref(void *d, int name, void *ref)
{
	cudnnBackendSetAttribute(d, name, DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
				 &ref);
}

static void *tensor(int64_t uid, int64_t c, int perturb)
{
	void *t = mk(DS_CUDNN_BACKEND_TENSOR_DESCRIPTOR);
	int64_t dims[4] = { 32, c, 56, 56 };
	int64_t str[4] = { c * 56 * 56, 56 * 56, 56, 1 };
	int64_t align = 16;
	int32_t dtype = 0; /* CUDNN_DATA_FLOAT */

	if (perturb) { /* another order; same content */
		set_i64(t, DS_CUDNN_ATTR_TENSOR_UNIQUE_ID, &uid, 1);
		set_i64(t, DS_CUDNN_ATTR_TENSOR_STRIDES, str, 4);
		set_i64(t, DS_CUDNN_ATTR_TENSOR_DIMENSIONS, dims, 4);
		set_i64(t, 900, &align, 1);
		cudnnBackendSetAttribute(t, DS_CUDNN_ATTR_TENSOR_DATA_TYPE,
					 DS_CUDNN_TYPE_DATA_TYPE, 1, &dtype);
	} else {
		cudnnBackendSetAttribute(t, DS_CUDNN_ATTR_TENSOR_DATA_TYPE,
					 DS_CUDNN_TYPE_DATA_TYPE, 1, &dtype);
		set_i64(t, 900, &align, 1);
		set_i64(t, DS_CUDNN_ATTR_TENSOR_DIMENSIONS, dims, 4);
		set_i64(t, DS_CUDNN_ATTR_TENSOR_STRIDES, str, 4);
		set_i64(t, DS_CUDNN_ATTR_TENSOR_UNIQUE_ID, &uid, 1);
	}
	cudnnBackendFinalize(t);
	return t;
}

/* A conv-forward operation graph with c channels. */
static void *build_graph(int64_t c, int perturb)
{
	void *x, *w, *y, *conv, *op, *og, *junk[7];
	int64_t pads[2] = { 1, 1 }, ones[2] = { 1, 1 }, sd = 2;
	double alpha = 1.0, beta = 0.0;
	int i;

	if (perturb) /* shift every address this run hands out */
		for (i = 0; i < 7; i++)
			junk[i] = malloc(4096 + 64 * (size_t)i);
	x = tensor('x', c, perturb);
	w = tensor('w', c, perturb);
	y = tensor('y', c, perturb);
	conv = mk(DS_CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
	cudnnBackendSetAttribute(conv, DS_CUDNN_ATTR_CONVOLUTION_COMP_TYPE,
				 DS_CUDNN_TYPE_DATA_TYPE, 1, &(int32_t){ 0 });
	set_i64(conv, 106, &sd, 1);
	set_i64(conv, 102, ones, 2);
	set_i64(conv, 103, ones, 2);
	set_i64(conv, 104, pads, 2);
	set_i64(conv, 105, pads, 2);
	cudnnBackendFinalize(conv);
	op = mk(DS_CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
	cudnnBackendSetAttribute(op, 700, DS_CUDNN_TYPE_DOUBLE, 1, &alpha);
	cudnnBackendSetAttribute(op, 701, DS_CUDNN_TYPE_DOUBLE, 1, &beta);
	set_ref(op, 702, conv);
	set_ref(op, 703, w);
	set_ref(op, 704, x);
	set_ref(op, 705, y);
	cudnnBackendFinalize(op);
	og = mk(DS_CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
	/* the handle is a pointer: must not enter the fingerprint */
	cudnnBackendSetAttribute(og, DS_CUDNN_ATTR_OPERATIONGRAPH_HANDLE,
				 DS_CUDNN_TYPE_HANDLE, 1,
				 perturb ? (void *)&junk : (void *)&og);
	set_ref(og, DS_CUDNN_ATTR_OPERATIONGRAPH_OPS, op);
	cudnnBackendFinalize(og);
	return og;
}

/* Benchmark-mode autotuning of one graph; prints its outcome. */
static void autotune(int64_t c, int perturb, long pick, int steps,
		     const char *tag)
{
	void *og = build_graph(c, perturb), *heur, *cfgs[32], *ok[32];
	int64_t n = 0, i;
	int nok = 0, j, k;

	heur = mk(DS_CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
	set_ref(heur, DS_CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, og);
	cudnnBackendFinalize(heur);
	cudnnBackendGetAttribute(heur, DS_CUDNN_ATTR_ENGINEHEUR_RESULTS,
				 DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL);
	if (n > 32)
		n = 32;
	for (i = 0; i < n; i++)
		cfgs[i] = mk(DS_CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
	cudnnBackendGetAttribute(heur, DS_CUDNN_ATTR_ENGINEHEUR_RESULTS,
				 DS_CUDNN_TYPE_BACKEND_DESCRIPTOR, n, &n, cfgs);
	for (i = 0; i < n; i++) {
		void *plan = mk(DS_CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);

		set_ref(plan, DS_CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
			cfgs[i]);
		if (cudnnBackendFinalize(plan) == 0)
			ok[nok++] = plan;
		else
			cudnnBackendDestroyDescriptor(plan);
	}
	if (nok == 0) {
		printf("%s.nok=0\n%s.chosen=none\n", tag, tag);
		return;
	}
	for (j = 0; j < nok; j++) /* timing: each candidate twice */
		for (k = 0; k < 2; k++)
			cudnnBackendExecute(NULL, ok[j], NULL);
	for (k = 0; k < steps; k++) /* the winner, step after step */
		cudnnBackendExecute(NULL, ok[pick % nok], NULL);
	printf("%s.nok=%d\n%s.chosen=%d\n%s.engine=%ld\n", tag, nok, tag,
	       fake_cudnn_plan_cand(ok[pick % nok]), tag,
	       fake_cudnn_last_exec_engine());
	for (j = 0; j < nok; j++)
		cudnnBackendDestroyDescriptor(ok[j]);
	for (i = 0; i < n; i++)
		cudnnBackendDestroyDescriptor(cfgs[i]);
	cudnnBackendDestroyDescriptor(heur);
}

static int child(const char *scenario)
{
	long pick = env_long("CHILD_PICK", 0);
	long c = env_long("CHILD_C", 64);
	int perturb = (int)env_long("CHILD_PERTURB", 0);

	if (strcmp(scenario, "autotune") == 0) {
		autotune(c, perturb, pick, 20, "a");
		/* the same graph again, as a second thread's cache would */
		autotune(c, !perturb, pick + 1, 10, "b");
		if (env_long("CHILD_GRAPHS", 1) > 1)
			autotune(2 * c, perturb, pick, 20, "c");
	} else if (strcmp(scenario, "legacy") == 0) {
		struct ds_cudnn_algo_perf p[16];
		size_t ws = 0;
		int n = 0, i, nd = 0, st;

		cudnnGetConvolutionBackwardFilterAlgorithm_v7(NULL, NULL, NULL,
							       NULL, NULL, 16,
							       &n, p);
		for (i = 0; i < n; i++)
			nd += p[i].determinism == DS_CUDNN_NON_DETERMINISTIC;
		printf("get.n=%d\nget.nondet=%d\n", n, nd);
		cudnnFindConvolutionBackwardFilterAlgorithm(NULL, NULL, NULL,
							     NULL, NULL, 16,
							     &n, p);
		printf("find.n=%d\nfind.first=%d\nfind.order=", n, p[0].algo);
		for (i = 0; i < n; i++)
			printf("%d%s", p[i].algo, i + 1 < n ? "," : "\n");
		for (i = 1; i < n; i++)
			if (p[i].time < p[i - 1].time)
				printf("find.time_unsorted=1\n");
		cudnnGetConvolutionBackwardFilterWorkspaceSize(NULL, NULL, NULL,
							       NULL, NULL, 0,
							       &ws);
		printf("ws0=%zu\n", ws);
		st = cudnnConvolutionBackwardFilter(
			NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
			(size_t)env_long("CHILD_WS", 8192), NULL, NULL, NULL);
		printf("bwd.status=%d\nbwd.algo=%d\n", st, fake_cudnn_last_algo());
		cudnnSetPooling2dDescriptor(NULL, DS_CUDNN_POOLING_MAX, 0, 2, 2, 0,
					    0, 2, 2);
		printf("pool=%d\n", fake_cudnn_last_pool_mode());
		st = cudnnCTCLoss(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
				  NULL, DS_CUDNN_CTC_LOSS_ALGO_NON_DETERMINISTIC,
				  NULL, NULL, (size_t)env_long("CHILD_CTC_WS", 4096));
		printf("ctc.status=%d\nctc.algo=%d\n", st,
		       fake_cudnn_last_ctc_algo());
	} else if (strcmp(scenario, "missing") == 0) {
		typedef ds_cudnn_status (*st14)(void *, void *, const void *,
						void *, const void *,
						const void *, void *, void *,
						const void *, void *,
						const void *, const void *,
						const void *, void *);
		typedef ds_cudnn_status (*v8ws)(void *, int, void *, void *,
						void *, size_t *);
		st14 f;
		v8ws g;
		size_t sz = 0;

		*(void **)&f = hook_sym("cudnnSpatialTfSamplerBackward");
		*(void **)&g = hook_sym("cudnnGetCTCLossWorkspaceSize_v8");
		printf("found=%d\n", f != NULL && g != NULL);
		if (f)
			printf("st=%d\n", f(NULL, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL));
		if (g)
			printf("v8=%d\n", g(NULL, 1, NULL, NULL, NULL, &sz));
	}
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parent side. */

static char self_path[4096];

/* Run a child scenario with env changes ("NAME=v" sets, "-NAME" removes;
 * DETSHIM_*, FAKE_CUDNN_* and CHILD_* are cleared first).  stdout goes to
 * out, stderr to err; returns the exit status (or 128+signal). */
static int run_child(const char *scenario, const char *const *mods,
		     char *out, size_t cap, char *err, size_t ecap)
{
	const char *envp[256];
	int po[2], pe[2], n = 0, i, st = 0;
	char **e;
	pid_t pid;
	size_t got = 0, egot = 0;

	for (e = environ; *e && n < 200; e++) {
		bool drop = !strncmp(*e, "DETSHIM_", 8) ||
			    !strncmp(*e, "FAKE_CUDNN_", 11) ||
			    !strncmp(*e, "CHILD_", 6);

		for (i = 0; mods[i] && !drop; i++) {
			const char *m = mods[i][0] == '-' ? mods[i] + 1 : mods[i];
			size_t l = strcspn(m, "=");

			if (!strncmp(*e, m, l) && (*e)[l] == '=')
				drop = true;
		}
		if (!drop)
			envp[n++] = *e;
	}
	for (i = 0; mods[i]; i++)
		if (mods[i][0] != '-')
			envp[n++] = mods[i];
	envp[n] = NULL;
	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *argv[] = { self_path, "child", scenario, NULL };

		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execve(self_path, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	for (;;) { /* outputs are small: stdout first, then stderr */
		ssize_t r = read(po[0], out + got, cap - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	for (;;) {
		ssize_t r = read(pe[0], err + egot, ecap - 1 - egot);

		if (r <= 0)
			break;
		egot += (size_t)r;
	}
	out[got] = '\0';
	err[egot] = '\0';
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Value of "key=" in a child's output, or -999. */
static long val(const char *out, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", key);
	for (p = out; (p = strstr(p, pat)) != NULL; p++)
		if (p == out || p[-1] == '\n')
			return strtol(p + strlen(pat), NULL, 10);
	return -999;
}

static char out1[8192], out2[8192], err1[8192], err2[8192];

#define RUN(o, e, ...)                                                        \
	do {                                                                  \
		const char *m_[] = { __VA_ARGS__, NULL };                      \
		ck_assert_int_eq(run_child(scen, m_, o, sizeof(o), e,          \
					   sizeof(e)), 0);                     \
	} while (0)

START_TEST(first_deterministic_config_wins)
{
	const char *scen = "autotune";

	/* default mode: the NONDETERMINISTIC engine (cand 0) is vetoed and
	 * only the first deterministic config (cand 1) may finalize, so the
	 * "timing" (CHILD_PICK) no longer matters */
	RUN(out1, err1, "CHILD_PICK=1");
	RUN(out2, err2, "CHILD_PICK=2");
	ck_assert_int_eq(val(out1, "a.nok"), 1);
	ck_assert_int_eq(val(out1, "a.chosen"), 1);
	ck_assert_int_eq(val(out2, "a.chosen"), 1);
	/* a rebuild of the same graph gets the same config again */
	ck_assert_int_eq(val(out1, "b.nok"), 1);
	ck_assert_int_eq(val(out1, "b.chosen"), 1);
}
END_TEST

START_TEST(without_shim_timing_decides)
{
	const char *scen = "autotune";

	RUN(out1, err1, "CHILD_PICK=1", "-LD_PRELOAD");
	RUN(out2, err2, "CHILD_PICK=2", "-LD_PRELOAD");
	ck_assert_int_eq(val(out1, "a.nok"), 5);
	ck_assert_int_ne(val(out1, "a.chosen"), val(out2, "a.chosen"));
	/* and the nondeterministic engine can win */
	RUN(out1, err1, "CHILD_PICK=0", "-LD_PRELOAD");
	ck_assert_int_eq(val(out1, "a.engine"), 4);
}
END_TEST

START_TEST(any_mode_and_warn_policy)
{
	const char *scen = "autotune";

	RUN(out1, err1, "DETSHIM_CUDNN_CHOICE=any", "CHILD_PICK=0");
	ck_assert_int_eq(val(out1, "a.nok"), 4); /* only the nd one vetoed */
	ck_assert_int_ne(val(out1, "a.engine"), 4);
	RUN(out2, err2, "DETSHIM_POLICY=warn");
	ck_assert_int_eq(val(out2, "a.nok"), 5); /* observed, nothing vetoed */
}
END_TEST

START_TEST(failed_finalize_moves_first_choice)
{
	const char *scen = "autotune";

	/* both knob variants of engine 7 fail to build: the first config
	 * that finalizes is engine 9 (cand 3) */
	RUN(out1, err1, "FAKE_CUDNN_FAIL=7", "CHILD_PICK=3");
	ck_assert_int_eq(val(out1, "a.nok"), 1);
	ck_assert_int_eq(val(out1, "a.engine"), 9);
	ck_assert_int_eq(val(out1, "b.engine"), 9);
}
END_TEST

static char cache_path[256];

static void tmp_cache(void)
{
	snprintf(cache_path, sizeof(cache_path), "/tmp/check_cudnn_%d_%ld.txt",
		 (int)getpid(), random());
	unlink(cache_path);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(pin_file_round_trip)
{
	const char *scen = "autotune";
	char cachevar[300], *txt;

	tmp_cache();
	snprintf(cachevar, sizeof(cachevar), "DETSHIM_ALGO_CACHE=%s", cache_path);
	/* recording run: the autotuner is free (any) and settles on the
	 * second survivor, engine 7 with knob 2=2 (cand 2) */
	RUN(out1, err1, cachevar, "DETSHIM_CUDNN_CHOICE=any", "CHILD_PICK=1");
	ck_assert_int_eq(val(out1, "a.chosen"), 2);
	txt = slurp(cache_path);
	ck_assert_ptr_nonnull(txt);
	ck_assert_ptr_nonnull(strstr(txt, "detshim-algo-cache 1 cudnn=91900 "
					  "device=unknown\n"));
	ck_assert_ptr_nonnull(strstr(txt, " eng=7 knobs=2:2\n"));
	/* pinned runs: other "timings", same config - and not the other knob
	 * variant of the same engine, which the default rule would take */
	RUN(out1, err1, cachevar, "CHILD_PICK=0");
	RUN(out2, err2, cachevar, "CHILD_PICK=3", "DETSHIM_CUDNN_CHOICE=any");
	ck_assert_int_eq(val(out1, "a.nok"), 1);
	ck_assert_int_eq(val(out1, "a.chosen"), 2);
	ck_assert_int_eq(val(out1, "b.chosen"), 2);
	ck_assert_int_eq(val(out2, "a.chosen"), 2);
	unlink(cache_path);
}
END_TEST

START_TEST(pin_file_bad_is_reported_and_ignored)
{
	const char *scen = "autotune";
	static const char *const bad[] = {
		"garbage\n",
		"detshim-algo-cache 1 cudnn=91900 device=unknown\ng=xyz eng=7\n",
		("detshim-algo-cache 1 cudnn=91900 device=unknown\n"
		 "g=0123456789abcdef eng=7 knobs=2:\n"),
		"detshim-algo-cache 9 cudnn=91900 device=unknown\n",
	};
	char cachevar[300], *txt;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f;

		tmp_cache();
		f = fopen(cache_path, "w");
		fputs(bad[i], f);
		fclose(f);
		snprintf(cachevar, sizeof(cachevar), "DETSHIM_ALGO_CACHE=%s",
			 cache_path);
		/* A warning after start-up goes to the log (shim/log.c):
		 * here the log is the child's stderr. */
		RUN(out1, err1, cachevar, "CHILD_PICK=2", "DETSHIM_LOG=/dev/fd/2");
		ck_assert_int_eq(val(out1, "a.chosen"), 1); /* default rule */
		ck_assert_ptr_nonnull(strstr(err1, "malformed"));
		txt = slurp(cache_path);
		ck_assert_str_eq(txt, bad[i]); /* never rewritten */
		unlink(cache_path);
	}
}
END_TEST

START_TEST(pin_file_stale_is_ignored)
{
	const char *scen = "autotune";
	char cachevar[300];

	tmp_cache();
	snprintf(cachevar, sizeof(cachevar), "DETSHIM_ALGO_CACHE=%s", cache_path);
	RUN(out1, err1, cachevar, "DETSHIM_CUDNN_CHOICE=any", "CHILD_PICK=3");
	ck_assert_int_eq(val(out1, "a.engine"), 11);
	/* another cuDNN version: the file is stale */
	RUN(out2, err2, cachevar, "FAKE_CUDNN_VERSION=91800", "CHILD_PICK=3",
	    "DETSHIM_LOG=/dev/fd/2"); /* the warning: in the log */
	ck_assert_ptr_nonnull(strstr(err2, "stale"));
	ck_assert_int_eq(val(out2, "a.engine"), 7);
	/* the recorded pin still works for the version it was made with */
	RUN(out2, err2, cachevar, "CHILD_PICK=0");
	ck_assert_int_eq(val(out2, "a.engine"), 11);
	unlink(cache_path);
}
END_TEST

/* The g=... field of the cache line for engine eng. */
static void graph_ids(const char *txt, char ids[][17], int *n)
{
	const char *p = txt;

	*n = 0;
	while ((p = strstr(p, "\ng=")) != NULL && *n < 4) {
		memcpy(ids[*n], p + 3, 16);
		ids[*n][16] = '\0';
		(*n)++;
		p += 3;
	}
}

START_TEST(fingerprint_ignores_addresses_and_order)
{
	const char *scen = "autotune";
	char cachevar[300], a[4][17], b[4][17], c[4][17], *txt;
	int na, nb, nc;

	tmp_cache();
	snprintf(cachevar, sizeof(cachevar), "DETSHIM_ALGO_CACHE=%s", cache_path);
	RUN(out1, err1, cachevar, "CHILD_PERTURB=0");
	txt = slurp(cache_path);
	ck_assert_ptr_nonnull(txt);
	graph_ids(txt, a, &na);
	unlink(cache_path);
	/* other addresses, other attribute order, other handle pointer */
	RUN(out1, err1, cachevar, "CHILD_PERTURB=1");
	graph_ids(slurp(cache_path), b, &nb);
	unlink(cache_path);
	/* other content: twice the channels, plus a second graph */
	RUN(out1, err1, cachevar, "CHILD_C=128", "CHILD_GRAPHS=2");
	graph_ids(slurp(cache_path), c, &nc);
	unlink(cache_path);
	ck_assert_int_eq(na, 1);
	ck_assert_int_eq(nb, 1);
	ck_assert_str_eq(a[0], b[0]);
	ck_assert_int_eq(nc, 2);
	ck_assert_str_ne(a[0], c[0]);
	ck_assert_str_ne(a[0], c[1]);
	ck_assert_str_ne(c[0], c[1]);
}
END_TEST

START_TEST(missing_real_symbols_answer_not_initialized)
{
	const char *scen = "missing";

	RUN(out1, err1, "DETSHIM_POLICY=enforce");
	ck_assert_int_eq(val(out1, "found"), 1);
	ck_assert_int_eq(val(out1, "st"), DS_CUDNN_STATUS_NOT_INITIALIZED);
	ck_assert_int_eq(val(out1, "v8"), DS_CUDNN_STATUS_NOT_INITIALIZED);
}
END_TEST

START_TEST(legacy_filter_order_substitute)
{
	const char *scen = "legacy";
	char o3[8192], e3[8192];

	RUN(out1, err1, "FAKE_CUDNN_FIND_SEED=1");
	RUN(out2, err2, "FAKE_CUDNN_FIND_SEED=7");
	ck_assert_int_eq(val(out1, "get.n"), 4);
	ck_assert_int_eq(val(out1, "get.nondet"), 0);
	/* Find: heuristic order whatever the timing, nondeterministic gone */
	ck_assert_int_eq(val(out1, "find.n"), 4);
	ck_assert_ptr_nonnull(strstr(out1, "find.order=1,6,2,5\n"));
	ck_assert_ptr_nonnull(strstr(out2, "find.order=1,6,2,5\n"));
	ck_assert_ptr_null(strstr(out1, "find.time_unsorted"));
	/* workspace for ALGO_0 covers the substitute (ALGO_1: 4096 B) */
	ck_assert_int_eq(val(out1, "ws0"), 4096);
	ck_assert_int_eq(val(out1, "bwd.status"), 0);
	ck_assert_int_eq(val(out1, "bwd.algo"), 1);
	ck_assert_int_eq(val(out1, "pool"), DS_CUDNN_POOLING_MAX_DETERMINISTIC);
	ck_assert_int_eq(val(out1, "ctc.algo"), 0);
	/* ALGO_1 unsupported here: the next deterministic one that fits */
	RUN(out1, err1, "FAKE_CUDNN_UNSUP=1", "FAKE_CUDNN_WS=6:65536,2:999999,5:512");
	ck_assert_int_eq(val(out1, "bwd.algo"), 5);
	/* nothing fits: refused with the library's status, never run */
	RUN(out1, err1, "FAKE_CUDNN_WS=1:4096,6:65536,2:999999,5:512",
	    "CHILD_WS=0");
	ck_assert_int_eq(val(out1, "bwd.status"), DS_CUDNN_STATUS_NOT_SUPPORTED);
	ck_assert_int_eq(val(out1, "bwd.algo"), -1);
	/* CTC workspace too small for the deterministic algorithm: kept */
	RUN(out1, err1, "CHILD_CTC_WS=1024");
	ck_assert_int_eq(val(out1, "ctc.algo"), 1);
	/* without the shim: timing order, nondeterministic algorithms run */
	RUN(out1, err1, "FAKE_CUDNN_FIND_SEED=1", "-LD_PRELOAD");
	RUN(o3, e3, "FAKE_CUDNN_FIND_SEED=7", "-LD_PRELOAD");
	ck_assert_int_eq(val(out1, "find.n"), 6);
	ck_assert_int_ne(strcmp(strstr(out1, "find.order="),
				strstr(o3, "find.order=")), 0);
	ck_assert_int_eq(val(out1, "bwd.algo"), 0);
	ck_assert_int_eq(val(out1, "pool"), DS_CUDNN_POOLING_MAX);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	ssize_t n;
	int failed;

	if (argc >= 3 && strcmp(argv[1], "child") == 0)
		return child(argv[2]);
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		return 2;
	self_path[n] = '\0';
	srandom((unsigned)getpid());
	s = suite_create("cudnn_hooks");
	tc = tcase_create("backend");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, first_deterministic_config_wins);
	tcase_add_test(tc, without_shim_timing_decides);
	tcase_add_test(tc, any_mode_and_warn_policy);
	tcase_add_test(tc, failed_finalize_moves_first_choice);
	tcase_add_test(tc, pin_file_round_trip);
	tcase_add_test(tc, pin_file_bad_is_reported_and_ignored);
	tcase_add_test(tc, pin_file_stale_is_ignored);
	tcase_add_test(tc, fingerprint_ignores_addresses_and_order);
	tcase_add_test(tc, missing_real_symbols_answer_not_initialized);
	suite_add_tcase(s, tc);
	tc = tcase_create("legacy");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, legacy_filter_order_substitute);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
