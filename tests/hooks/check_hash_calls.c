/*
 * check_hash_calls.c - call hashing (gpu.hash_calls, cuda_hooks/
 * hash_calls.h) against the fake CUDA libraries, run under
 * LD_PRELOAD=libdetshim.so (make check-hooks).
 *
 * The child scenario "seq" is the target: one run of a small "training
 * step" that calls every hashed entry point once or twice, on two
 * streams, each call reading the previous ones' outputs, on the fake
 * driver's device memory (tests/fakes/libcuda.so.1.c).  The tests run it
 * with DETSHIM_LOG and compare the "hashed" events of two runs; the
 * fakes' FAKE_HASH_VARY knob (tests/fakes/fake_compute.h) makes the
 * output of one chosen call differ between them, and the events must
 * show exactly that call as the first whose inputs agree and whose
 * output does not.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "gpulibs_child.h"

typedef void *ptr;
typedef unsigned long long dptr;

int cuInit(unsigned flags);
int cuMemAlloc_v2(dptr *p, size_t n);
int fake_cuda_copies(void);
int fake_cuda_capture_mode(void);
int curandCreateGenerator(ptr *g, int type);
int curandSetStream(ptr g, ptr s);
int curandSetPseudoRandomGeneratorSeed(ptr g, unsigned long long seed);
int curandGenerateUniform(ptr g, float *o, size_t n);
int curandGenerateNormal(ptr g, float *o, size_t n, float m, float s);
int cublasCreate_v2(ptr *h);
int cublasSetStream_v2(ptr h, ptr s);
int cublasGemmEx(ptr h, int ta, int tb, int m, int n, int k, const void *al,
		 const void *A, int At, int lda, const void *B, int Bt, int ldb,
		 const void *be, void *C, int Ct, int ldc, int ct, int algo);
int cublasSgemm_v2(ptr h, int ta, int tb, int m, int n, int k,
		   const float *al, const float *A, int lda, const float *B,
		   int ldb, const float *be, float *C, int ldc);
int cublasGemmStridedBatchedEx(ptr h, int ta, int tb, int m, int n, int k,
			       const void *al, const void *A, int At, int lda,
			       long long sA, const void *B, int Bt, int ldb,
			       long long sB, const void *be, void *C, int Ct,
			       int ldc, long long sC, int batch, int ct,
			       int algo);
int cublasLtMatrixLayoutCreate(ptr *l, uint32_t type, uint64_t rows,
			       uint64_t cols, int64_t ld);
int cublasLtMatmulDescCreate(ptr *d, int32_t compute, int32_t scale);
int cublasLtMatrixLayoutSetAttribute(ptr l, int attr, const void *buf,
				     size_t n);
int cublasLtMatmul(ptr h, ptr d, const void *al, const void *a, ptr A,
		   const void *b, ptr B, const void *be, const void *c, ptr C,
		   void *dd, ptr D, const void *algo, void *ws, size_t wss,
		   ptr stream);
int cudnnSetStream(ptr h, ptr s);
int cudnnCreateTensorDescriptor(ptr *d);
int cudnnCreateFilterDescriptor(ptr *d);
int cudnnSetTensorNdDescriptor(ptr d, int dtype, int nd, const int dims[],
			       const int strides[]);
int cudnnSetFilterNdDescriptor(ptr d, int dtype, int format, int nd,
			       const int dims[]);
int cudnnConvolutionForward(ptr h, const void *al, ptr xd, const void *x,
			    ptr wd, const void *w, ptr c, int algo, void *ws,
			    size_t wss, const void *be, ptr yd, void *y);
int cudnnConvolutionBackwardData(ptr h, const void *al, ptr wd, const void *w,
				 ptr dyd, const void *dy, ptr c, int algo,
				 void *ws, size_t wss, const void *be, ptr dxd,
				 void *dx);
int cudnnConvolutionBackwardFilter(ptr h, const void *al, ptr xd,
				   const void *x, ptr dyd, const void *dy,
				   ptr c, int algo, void *ws, size_t wss,
				   const void *be, ptr dwd, void *dw);
int cudnnBackendCreateDescriptor(int type, ptr *d);
int cudnnBackendSetAttribute(ptr d, int name, int type, int64_t count,
			     const void *vals);
int cudnnBackendGetAttribute(ptr d, int name, int type, int64_t req,
			     int64_t *count, void *vals);
int cudnnBackendFinalize(ptr d);
int cudnnBackendExecute(ptr h, ptr plan, ptr vp);
int ncclAllReduce(const void *s, void *r, size_t n, int t, int op, ptr comm,
		  ptr stream);
int ncclReduceScatter(const void *s, void *r, size_t n, int t, int op,
		      ptr comm, ptr stream);
int ncclAllGather(const void *s, void *r, size_t n, int t, ptr comm,
		  ptr stream);
int ncclReduce(const void *s, void *r, size_t n, int t, int op, int root,
	       ptr comm, ptr stream);
int ncclBroadcast(const void *s, void *r, size_t n, int t, int root,
		  ptr comm, ptr stream);
int ncclGroupStart(void);
int ncclGroupEnd(void);

/* ------------------------------------------------------------------ */
/* Child side: the target. */

#define S1 ((ptr)0x5100)
#define S2 ((ptr)0x5200)
#define COMM ((ptr)0x7700)
#define R_32F 0
#define FLOAT 0 /* CUDNN_DATA_FLOAT */

static float *dev(size_t nfloat)
{
	dptr p = 0;

	if (cuMemAlloc_v2(&p, nfloat * sizeof(float)) != 0) {
		printf("alloc_failed=1\n");
		exit(3);
	}
	return (float *)(uintptr_t)p;
}

static ptr bk(int type)
{
	ptr d = NULL;

	if (cudnnBackendCreateDescriptor(type, &d) != 0)
		exit(3);
	return d;
}

static void set_i64(ptr d, int name, const int64_t *v, int n)
{
	cudnnBackendSetAttribute(d, name, 3 /* INT64 */, n, v);
}

static void set_ref(ptr d, int name, ptr ref)
{
	cudnnBackendSetAttribute(d, name, 15 /* BACKEND_DESCRIPTOR */, 1, &ref);
}

/* A 1x1x2x2 float backend tensor (16 bytes). */
static ptr bk_tensor(int64_t uid)
{
	ptr t = bk(17);
	int64_t dims[4] = { 1, 1, 2, 2 }, str[4] = { 4, 4, 2, 1 };
	int32_t dtype = FLOAT;

	cudnnBackendSetAttribute(t, 901, 1 /* DATA_TYPE */, 1, &dtype);
	set_i64(t, 902, dims, 4);
	set_i64(t, 903, str, 4);
	set_i64(t, 906, &uid, 1);
	cudnnBackendFinalize(t);
	return t;
}

/* cudnnBackendExecute of one conv-forward graph: y = f(x, w). */
static void backend_conv(ptr h, const float *x, const float *w, float *y)
{
	ptr tx = bk_tensor('x'), tw = bk_tensor('w'), ty = bk_tensor('y');
	ptr op = bk(10), og = bk(15), heur = bk(4), cfgs[8], vp = bk(16);
	int64_t n = 0, i, uids[3] = { 'x', 'w', 'y' };
	void *ptrs[3] = { (void *)x, (void *)w, y };

	set_ref(op, 703, tw);
	set_ref(op, 704, tx);
	set_ref(op, 705, ty);
	cudnnBackendFinalize(op);
	set_ref(og, 801, op);
	cudnnBackendFinalize(og);
	set_ref(heur, 201, og);
	cudnnBackendFinalize(heur);
	for (i = 0; i < 8; i++)
		cfgs[i] = bk(3);
	cudnnBackendGetAttribute(heur, 202, 15, 8, &n, cfgs);
	set_i64(vp, 1000, uids, 3);
	cudnnBackendSetAttribute(vp, 1001, 6 /* VOID_PTR */, 3, ptrs);
	cudnnBackendFinalize(vp);
	for (i = 0; i < n; i++) { /* the first config that finalizes */
		ptr plan = bk(5);

		set_ref(plan, 401, cfgs[i]);
		if (cudnnBackendFinalize(plan) == 0) {
			cudnnBackendExecute(h, plan, vp);
			return;
		}
	}
	printf("no_plan=1\n");
}

static int seq(int host_operand)
{
	float *r1 = dev(256), *r2 = dev(256), *c1 = dev(256), *c2 = dev(256);
	float *c3 = dev(256), *d1 = dev(256), *y1 = dev(256), *dx = dev(256);
	float *dw = dev(256), *yb = dev(256), *n1 = dev(256), *n2 = dev(256);
	float *n3 = dev(256), *n4 = dev(256), *n5 = dev(256), *n6 = dev(256);
	float one = 1.0f, zero = 0.0f, ws[64];
	ptr g = NULL, h = NULL, lt = (ptr)0x1, md = NULL, la = NULL, ld = NULL;
	ptr xd = NULL, wd = NULL, yd = NULL, dnn = (ptr)0x2;
	int x_dims[4] = { 1, 1, 8, 8 }, x_str[4] = { 64, 64, 8, 1 };
	int w_dims[4] = { 1, 1, 3, 3 };

	curandCreateGenerator(&g, 100);
	/* kept (DETSHIM_SEED_MODE=respect): each child is exec'd with
	 * another lineage key, which would give it another derived seed */
	curandSetPseudoRandomGeneratorSeed(g, 1234);
	curandSetStream(g, S1);
	curandGenerateUniform(g, r1, 64);
	curandGenerateNormal(g, r2, 64, 0.0f, 1.0f);

	cublasCreate_v2(&h);
	cublasSetStream_v2(h, S1);
	cublasGemmEx(h, 0, 0, 8, 8, 8, &one, r1, R_32F, 8, r2, R_32F, 8, &zero,
		     c1, R_32F, 8, 68, -1);
	if (host_operand) { /* not device memory: hashed as unreadable */
		static float host[64];

		cublasSgemm_v2(h, 0, 0, 8, 8, 8, &one, host, 8, r1, 8, &zero,
			       c2, 8);
		printf("copies=%d\n", fake_cuda_copies());
		return 0;
	}
	cublasSgemm_v2(h, 0, 0, 8, 8, 8, &one, c1, 8, r1, 8, &zero, c2, 8);
	cublasGemmStridedBatchedEx(h, 0, 0, 4, 4, 4, &one, c2, R_32F, 4, 16, r1,
				   R_32F, 4, 16, &zero, c3, R_32F, 4, 16, 2, 68,
				   -1);

	cublasLtMatrixLayoutCreate(&la, R_32F, 8, 8, 8);
	cublasLtMatrixLayoutCreate(&ld, R_32F, 8, 8, 8);
	cublasLtMatmulDescCreate(&md, 68, R_32F);
	cublasLtMatmul(lt, md, &one, c3, la, r2, la, &zero, c3, la, d1, ld,
		       NULL, ws, 0, S2);

	cudnnSetStream(dnn, S2);
	cudnnCreateTensorDescriptor(&xd);
	cudnnCreateTensorDescriptor(&yd);
	cudnnCreateFilterDescriptor(&wd);
	cudnnSetTensorNdDescriptor(xd, FLOAT, 4, x_dims, x_str);
	cudnnSetTensorNdDescriptor(yd, FLOAT, 4, x_dims, x_str);
	cudnnSetFilterNdDescriptor(wd, FLOAT, 0, 4, w_dims);
	cudnnConvolutionForward(dnn, &one, xd, d1, wd, r1, NULL, 1, ws, 8192,
				&zero, yd, y1);
	cudnnConvolutionBackwardData(dnn, &one, wd, r1, yd, y1, NULL, 1, ws,
				     8192, &zero, xd, dx);
	cudnnConvolutionBackwardFilter(dnn, &one, xd, d1, yd, dx, NULL, 1, ws,
				       8192, &zero, wd, dw);
	backend_conv(dnn, dx, dw, yb);

	ncclAllReduce(yb, n1, 64, 7, 0, COMM, S1);
	ncclGroupStart();
	ncclAllReduce(yb, n2, 64, 7, 0, COMM, S1);
	ncclGroupEnd();
	ncclReduceScatter(n1, n3, 64, 7, 0, COMM, S1);
	ncclAllGather(n3, n4, 64, 7, COMM, S1);
	ncclReduce(n4, n5, 64, 7, 0, 0, COMM, S1);
	ncclBroadcast(n5, n6, 64, 7, 0, COMM, S1);
	printf("copies=%d\n", fake_cuda_copies());
	printf("capture_mode=%d\n", fake_cuda_capture_mode());
	return 0;
}

/* The cost of the hooks: ns per cublasGemmEx of 8x8 floats (with
 * BENCH_NULL=1, of no matrices: the fake then computes nothing), median
 * of 9 rounds of BENCH_CALLS calls (docs/measurements/BENCHMARKS.md). */
static int bench(void)
{
	const char *v = getenv("BENCH_CALLS"), *z = getenv("BENCH_NULL");
	long calls = v ? atol(v) : 100000, i;
	bool none = z && z[0] == '1';
	float *a = none ? NULL : dev(64), *b = none ? NULL : dev(64);
	float *c = none ? NULL : dev(64), one = 1.0f, zero = 0.0f;
	double ns[9], t;
	struct timespec t0, t1;
	ptr h = NULL;
	int r, j;

	cublasCreate_v2(&h);
	for (r = 0; r < 9; r++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < calls; i++)
			cublasGemmEx(h, 0, 0, 8, 8, 8, &one, a, R_32F, 8, b,
				     R_32F, 8, &zero, c, R_32F, 8, 68, -1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns[r] = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
			 (double)(t1.tv_nsec - t0.tv_nsec)) / (double)calls;
	}
	for (r = 1; r < 9; r++) /* insertion sort */
		for (j = r; j > 0 && ns[j - 1] > ns[j]; j--) {
			t = ns[j];
			ns[j] = ns[j - 1];
			ns[j - 1] = t;
		}
	printf("gemm_ns=%.1f\n", ns[4]);
	return 0;
}

/* Transposed, batched and row-major operands in buffers of exactly the
 * size they span: a hook that sized one too large gets a failed copy
 * ("unreadable"). */
static int shapes(void)
{
	float one = 1.0f, zero = 0.0f, ws[4];
	float *a = dev(32), *b = dev(48), *c = dev(24);
	float *sa = dev(12), *sb = dev(12), *sc = dev(12), *d = dev(24);
	ptr h = NULL, la = NULL, lb = NULL, ld = NULL, md = NULL;
	int32_t row = 1;

	cublasCreate_v2(&h);
	/* op(A) = A^T is 4x8: A is 8x4, lda 8; op(B) = B^T is 8x6: B is
	 * 6x8, ldb 6; C is 4x6 */
	cublasGemmEx(h, 1, 1, 4, 6, 8, &one, a, R_32F, 8, b, R_32F, 6, &zero,
		     c, R_32F, 4, 68, -1);
	/* 2x2 matrices 4 elements apart, 3 of them: 2 + 2 + 2 * 4 */
	cublasGemmStridedBatchedEx(h, 0, 0, 2, 2, 2, &one, sa, R_32F, 2, 4, sb,
				   R_32F, 2, 4, &zero, sc, R_32F, 2, 4, 3, 68,
				   -1);
	/* row-major 4x8 (ld 8) times 8x6 (ld 6) into 4x6 (ld 6) */
	cublasLtMatrixLayoutCreate(&la, R_32F, 4, 8, 8);
	cublasLtMatrixLayoutCreate(&lb, R_32F, 8, 6, 6);
	cublasLtMatrixLayoutCreate(&ld, R_32F, 4, 6, 6);
	cublasLtMatrixLayoutSetAttribute(la, 1, &row, sizeof(row));
	cublasLtMatrixLayoutSetAttribute(lb, 1, &row, sizeof(row));
	cublasLtMatrixLayoutSetAttribute(ld, 1, &row, sizeof(row));
	cublasLtMatmulDescCreate(&md, 68, R_32F);
	cublasLtMatmul((ptr)0x1, md, &one, a, la, b, lb, &zero, c, ld, d, ld,
		       NULL, ws, 0, S1);
	return 0;
}

static int scenario(const char *name)
{
	if (cuInit(0) != 0)
		return 3;
	if (strcmp(name, "bench") == 0)
		return bench();
	if (strcmp(name, "seq") == 0)
		return seq(0);
	if (strcmp(name, "host") == 0)
		return seq(1);
	if (strcmp(name, "shapes") == 0)
		return shapes();
	return 2;
}

/* ------------------------------------------------------------------ */
/* Parent side: the events. */

#define MAX_EV 64

struct ev {
	char call[64];
	long stream, ord, unreadable, status;
	char in[17], out[17];
	char line[1024];
};

/* The JSON string value of key in line into out (cap bytes), or "". */
static void str_field(const char *line, const char *key, char *out,
		      size_t cap)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	p = strstr(line, pat);
	if (p == NULL)
		return;
	for (p += strlen(pat); *p && *p != '"' && n + 1 < cap; p++)
		out[n++] = *p;
	out[n] = '\0';
}

static long num_field(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

/* The "hashed" events of log, in order; returns how many. */
static int read_events(const char *log, struct ev *ev)
{
	char line[1024];
	FILE *f = fopen(log, "r");
	int n = 0;

	if (f == NULL)
		return 0;
	while (n < MAX_EV && fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"action\":\"hashed\"") == NULL)
			continue;
		str_field(line, "call", ev[n].call, sizeof(ev[n].call));
		str_field(line, "in", ev[n].in, sizeof(ev[n].in));
		str_field(line, "out", ev[n].out, sizeof(ev[n].out));
		ev[n].stream = num_field(line, "stream");
		ev[n].ord = num_field(line, "ord");
		ev[n].unreadable = num_field(line, "unreadable");
		ev[n].status = num_field(line, "status");
		snprintf(ev[n].line, sizeof(ev[n].line), "%s", line);
		n++;
	}
	fclose(f);
	return n;
}

static char out[8192];
static struct ev a[MAX_EV], b[MAX_EV];

/* Run the scenario with a fresh log and the extra variables; its events. */
static int run_logged(const char *scen, const char *const *extra,
		      struct ev *ev)
{
	char logvar[128], log[96];
	const char *env[12];
	int i = 0, j;

	snprintf(log, sizeof(log), "/tmp/detshim-hashcalls-%ld.log",
		 (long)getpid());
	unlink(log);
	snprintf(logvar, sizeof(logvar), "DETSHIM_LOG=%s", log);
	env[i++] = logvar;
	env[i++] = "DETSHIM_SEED=7";
	env[i++] = "DETSHIM_SEED_MODE=respect";
	for (j = 0; extra && extra[j] && i < 11; j++)
		env[i++] = extra[j];
	env[i] = NULL;
	ck_assert_int_eq(run_child(scen, env, out, sizeof(out)), 0);
	i = read_events(log, ev);
	unlink(log);
	return i;
}

/* The calls of "seq", in order. */
static const char *const seq_calls[] = {
	"curandGenerateUniform", "curandGenerateNormal", "cublasGemmEx",
	"cublasSgemm_v2", "cublasGemmStridedBatchedEx", "cublasLtMatmul",
	"cudnnConvolutionForward", "cudnnConvolutionBackwardData",
	"cudnnConvolutionBackwardFilter", "cudnnBackendExecute",
	"ncclAllReduce", "ncclAllReduce", "ncclReduceScatter", "ncclAllGather",
	"ncclReduce", "ncclBroadcast",
};
#define NSEQ ((int)(sizeof(seq_calls) / sizeof(seq_calls[0])))

START_TEST(off_by_default)
{
	ck_assert_int_eq(run_logged("seq", NULL, a), 0);
	ck_assert_int_gt(child_value(out, "copies"), -1);
	ck_assert_int_eq(child_value(out, "copies"), 0);
}
END_TEST

START_TEST(every_call_hashed_uncapped_and_repeatable)
{
	const char *on[] = { "DETSHIM_HASH_CALLS=1", "DETSHIM_LOG_FIRST_N=1",
			     NULL };
	int n = run_logged("seq", on, a), m, i;

	ck_assert_int_gt(child_value(out, "copies"), 0);
	ck_assert_int_eq(n, NSEQ);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(a[i].call, seq_calls[i]);
		ck_assert_int_eq(a[i].status, 0);
		/* every buffer was sized right: read, not "unreadable" */
		ck_assert_msg(a[i].unreadable == 0, "%s", a[i].line);
		ck_assert_int_eq((int)strlen(a[i].in), 16);
		ck_assert_int_eq((int)strlen(a[i].out), 16);
	}
	/* streams by first use: S1 (cuRAND) is 0, S2 (cuBLASLt) is 1;
	 * ordinals count per stream */
	ck_assert_int_eq(a[0].stream, 0);
	ck_assert_int_eq(a[0].ord, 0);
	ck_assert_int_eq(a[4].stream, 0);
	ck_assert_int_eq(a[4].ord, 4);
	ck_assert_int_eq(a[5].stream, 1);
	ck_assert_int_eq(a[5].ord, 0);
	ck_assert_int_eq(a[9].stream, 1);
	ck_assert_int_eq(a[9].ord, 4);
	ck_assert_int_eq(a[10].stream, 0);
	ck_assert_int_eq(a[10].ord, 5);
	/* the grouped all-reduce of the same data hashes the same: its
	 * output was read after ncclGroupEnd, when the fake ran it */
	ck_assert_str_eq(a[10].in, a[11].in);
	ck_assert_str_eq(a[10].out, a[11].out);
	ck_assert_ptr_nonnull(strstr(a[11].line, "in a group"));
	/* what and why */
	ck_assert_ptr_nonnull(strstr(a[2].line, "\"what\":\"m=8 n=8 k=8 A=R_32F"));
	ck_assert_ptr_nonnull(strstr(a[2].line, "atomics not allowed (pinned)"));
	ck_assert_ptr_nonnull(strstr(a[6].line, "x=float[1,1,8,8]"));
	ck_assert_ptr_nonnull(strstr(a[9].line, ">121=float[1,1,2,2]"));
	ck_assert_ptr_nonnull(strstr(a[9].line, "deterministic"));
	m = run_logged("seq", on, b);
	ck_assert_int_eq(m, n);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(a[i].in, b[i].in);
		ck_assert_str_eq(a[i].out, b[i].out);
		ck_assert_int_eq(a[i].stream, b[i].stream);
		ck_assert_int_eq(a[i].ord, b[i].ord);
	}
}
END_TEST

/* Vary one call's output at its first or last byte (at): the events name
 * it as the first whose inputs agree and whose output differs, and a
 * call after it sees other inputs.  The last byte shows that the whole
 * output was hashed. */
static void vary(const char *call, const char *at)
{
	char v[96], w[64];
	const char *one[] = { "DETSHIM_HASH_CALLS=1", v, w,
			      "FAKE_HASH_VARY_BY=1", NULL };
	const char *two[] = { "DETSHIM_HASH_CALLS=1", v, w,
			      "FAKE_HASH_VARY_BY=2", NULL };
	int n, m, i;

	snprintf(v, sizeof(v), "FAKE_HASH_VARY=%s", call);
	snprintf(w, sizeof(w), "FAKE_HASH_VARY_AT=%s", at);
	n = run_logged("seq", one, a);
	m = run_logged("seq", two, b);
	ck_assert_int_eq(n, NSEQ);
	ck_assert_int_eq(m, NSEQ);
	for (i = 0; i < n; i++)
		if (strcmp(a[i].out, b[i].out) != 0 ||
		    strcmp(a[i].in, b[i].in) != 0)
			break;
	ck_assert_msg(i < n, "%s: no event differs", call);
	ck_assert_str_eq(a[i].call, call);
	ck_assert_str_eq(a[i].in, b[i].in);
	ck_assert_str_ne(a[i].out, b[i].out);
	/* the last call: nothing reads its output; a last byte: the next
	 * calls may read only the front of a buffer (a 4x4 view of 8x8) */
	if (i + 1 == n || strcmp(at, "last") == 0)
		return;
	for (m = i + 1; m < n; m++)
		if (strcmp(a[m].in, b[m].in) != 0)
			break;
	ck_assert_msg(m < n, "%s: no later call saw other inputs", call);
}

START_TEST(one_varied_call_is_named)
{
	vary(seq_calls[_i], "first");
	vary(seq_calls[_i], "last");
}
END_TEST

START_TEST(operands_sized_exactly)
{
	const char *on[] = { "DETSHIM_HASH_CALLS=1", NULL };
	const char *last[] = { "DETSHIM_HASH_CALLS=1", "FAKE_HASH_VARY_AT=last",
			       "FAKE_HASH_VARY=cublasGemmEx",
			       "FAKE_HASH_VARY_BY=1", NULL };
	int n = run_logged("shapes", on, a), i;

	ck_assert_int_eq(n, 3);
	for (i = 0; i < n; i++)
		ck_assert_msg(a[i].unreadable == 0, "%s", a[i].line);
	ck_assert_ptr_nonnull(strstr(a[0].line, "A=R_32F^T lda=8"));
	ck_assert_ptr_nonnull(strstr(a[2].line, "A=R_32F 4x8r ld=8"));
	/* C's last element is in the hash */
	ck_assert_int_eq(run_logged("shapes", last, b), 3);
	ck_assert_str_eq(a[0].in, b[0].in);
	ck_assert_str_ne(a[0].out, b[0].out);
}
END_TEST

START_TEST(host_memory_is_unreadable_not_read)
{
	const char *on[] = { "DETSHIM_HASH_CALLS=1", NULL };
	int n = run_logged("host", on, a);

	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(a[3].call, "cublasSgemm_v2");
	ck_assert_int_eq(a[3].unreadable, 1);
	ck_assert_int_eq(a[3].status, 0);
	ck_assert_int_eq(a[2].unreadable, 0);
}
END_TEST

START_TEST(captured_stream_is_not_waited_for)
{
	const char *on[] = { "DETSHIM_HASH_CALLS=1", "FAKE_CUDA_CAPTURING=1",
			     NULL };
	int n = run_logged("seq", on, a), i;

	ck_assert_int_eq(n, NSEQ);
	ck_assert_int_eq(child_value(out, "copies"), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_gt(a[i].unreadable, 0);
		ck_assert_ptr_nonnull(strstr(a[i].line, "being captured"));
	}
}
END_TEST

START_TEST(other_threads_capture_is_left_alone)
{
	const char *on[] = { "DETSHIM_HASH_CALLS=1", "FAKE_CUDA_OTHER_CAPTURE=1",
			     NULL };
	int n = run_logged("seq", on, a), i;

	/* read in relaxed mode, and the thread's mode given back */
	ck_assert_int_eq(n, NSEQ);
	ck_assert_int_gt(child_value(out, "copies"), 0);
	ck_assert_int_eq(child_value(out, "capture_mode"), 0);
	for (i = 0; i < n; i++)
		ck_assert_msg(a[i].unreadable == 0, "%s", a[i].line);
}
END_TEST

static Suite *hash_calls_suite(void)
{
	Suite *s = suite_create("call hashing");
	TCase *t = tcase_create("fake CUDA libraries");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, off_by_default);
	tcase_add_test(t, every_call_hashed_uncapped_and_repeatable);
	/* one varied call per entry point (the second all-reduce shares
	 * the first's name, so it is the first's test) */
	tcase_add_loop_test(t, one_varied_call_is_named, 0, 11);
	tcase_add_loop_test(t, one_varied_call_is_named, 12, NSEQ);
	tcase_add_test(t, operands_sized_exactly);
	tcase_add_test(t, host_memory_is_unreadable_not_read);
	tcase_add_test(t, captured_stream_is_not_waited_for);
	tcase_add_test(t, other_threads_capture_is_left_alone);
	suite_add_tcase(s, t);
	return s;
}

GPULIBS_TEST_MAIN(hash_calls_suite, scenario)
