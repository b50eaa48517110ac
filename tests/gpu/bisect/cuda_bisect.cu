/*
 * cuda_bisect.cu - a CUDA C step with one deliberately nondeterministic
 * part, for `detrun --verify --bisect` (tests/gpu/bisect/run.sh).
 *
 *   cuda_bisect atomics   a kernel sums with atomicAdd (the order of the
 *                         float additions follows the scheduler), then
 *                         cuBLAS multiplies its result: the kernel is no
 *                         library call, so the bisection names the first
 *                         cublasSgemm_v2 whose inputs already differ;
 *   cuda_bisect curand    a cuRAND generator seeded from the clock, kept
 *                         by DETSHIM_SEED_MODE=respect: the bisection
 *                         names curandGenerateUniform (no inputs, output
 *                         differs);
 *   cuda_bisect symv      as gpulibs_target's symv: cublasSsymv with
 *                         atomics allowed (not hooked: named by the GEMM
 *                         reading it, with "atomics allowed" under
 *                         DETSHIM_POLICY=warn).
 * Before the nondeterministic part, two GEMMs with fixed inputs: their
 * events must agree in every run.  Prints one FNV-1a hash of the result.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CK(x)                                                                \
	do {                                                                 \
		int e_ = (int)(x);                                           \
		if (e_ != 0) {                                               \
			fprintf(stderr, "%s:%d: %s -> %d\n", __FILE__,       \
				__LINE__, #x, e_);                           \
			exit(1);                                             \
		}                                                            \
	} while (0)

#define N 512

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

__global__ void fill(float *x, size_t n, unsigned seed)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	if (i < n)
		x[i] = (float)((i * 2654435761u + seed) % 1000u) / 1000.0f - 0.5f;
}

/* Row sums of src (n x N) into N bins by i % N, with atomics. */
__global__ void scatter_add(float *acc, const float *src, size_t n)
{
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	if (i < n)
		atomicAdd(&acc[(i * 7919u) % (N * N)], src[i]);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "atomics";
	size_t big = (size_t)N * N * 64;
	float *a, *b, *c, *acc, *src, *h, one = 1.0f, zero = 0.0f;
	unsigned long long hash = 1469598103934665603ull;
	cublasHandle_t blas;
	cudaStream_t s;
	size_t i;

	CK(cudaStreamCreate(&s));
	CK(cudaMalloc(&a, N * N * sizeof(float)));
	CK(cudaMalloc(&b, N * N * sizeof(float)));
	CK(cudaMalloc(&c, N * N * sizeof(float)));
	CK(cudaMalloc(&acc, N * N * sizeof(float)));
	CK(cudaMalloc(&src, big * sizeof(float)));
	fill<<<(N * N + 255) / 256, 256, 0, s>>>(a, N * N, 1);
	fill<<<(N * N + 255) / 256, 256, 0, s>>>(b, N * N, 2);
	fill<<<(unsigned)((big + 255) / 256), 256, 0, s>>>(src, big, 3);
	CK(cublasCreate(&blas));
	CK(cublasSetStream(blas, s));
	/* deterministic: the same events in every run */
	CK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one, a, N, b,
		       N, &zero, c, N));
	CK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, N, N, N, &one, c, N, a,
		       N, &zero, b, N));
	if (strcmp(mode, "curand") == 0) {
		curandGenerator_t g;

		CK(curandCreateGenerator(&g, CURAND_RNG_PSEUDO_DEFAULT));
		CK(curandSetStream(g, s));
		CK(curandSetPseudoRandomGeneratorSeed(
			g, now_ns()));
		CK(curandGenerateUniform(g, acc, N * N));
	} else if (strcmp(mode, "symv") == 0) {
		CK(cublasSetAtomicsMode(blas, CUBLAS_ATOMICS_ALLOWED));
		CK(cublasSsymv(blas, CUBLAS_FILL_MODE_UPPER, N, &one, b, N, a, 1,
			       &zero, acc, 1));
	} else {
		CK(cudaMemsetAsync(acc, 0, N * N * sizeof(float), s));
		scatter_add<<<(unsigned)((big + 255) / 256), 256, 0, s>>>(
			acc, src, big);
	}
	/* reads the nondeterministic part */
	CK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one, acc, N,
		       b, N, &zero, c, N));
	CK(cudaStreamSynchronize(s));
	h = (float *)malloc(N * N * sizeof(float));
	CK(cudaMemcpy(h, c, N * N * sizeof(float), cudaMemcpyDeviceToHost));
	for (i = 0; i < N * N * sizeof(float); i++)
		hash = (hash ^ ((unsigned char *)h)[i]) * 1099511628211ull;
	printf("%s %016llx\n", mode, hash);
	return 0;
}
