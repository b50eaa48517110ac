/*
 * gpulibs_target.cu - a plain CUDA C program with the GPU-library habits
 * detshim must make reproducible without code changes:
 *   curand  - a cuRAND generator seeded from time and pid, ordering
 *             CURAND_ORDERING_PSEUDO_DYNAMIC;
 *   gemm    - cublasGemmEx with CUBLAS_GEMM_AUTOTUNE on fixed-seed inputs;
 *   symv    - cublasSsymv on a handle with atomics allowed;
 *   uninit  - a buffer read before it is written: cudaMalloc right after
 *             freeing a buffer a kernel filled from %globaltimer.
 * Prints one FNV-1a hash per part and one over all of them.  Built only
 * when nvcc exists (tests/gpu/run_gpulibs.sh), never by the default make.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CK(x)                                                                \
	do {                                                                 \
		int e_ = (int)(x);                                           \
		if (e_ != 0) {                                               \
			fprintf(stderr, "%s:%d: %s -> %d\n", __FILE__,       \
				__LINE__, #x, e_);                           \
			exit(1);                                             \
		}                                                            \
	} while (0)

static unsigned long long fnv(const void *p, size_t n, unsigned long long h)
{
	const unsigned char *b = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static unsigned long long dev_hash(const void *d, size_t n)
{
	void *h = malloc(n);
	unsigned long long r;

	CK(cudaMemcpy(h, d, n, cudaMemcpyDeviceToHost));
	r = fnv(h, n, 1469598103934665603ull);
	free(h);
	return r;
}

__global__ void stamp(unsigned *x, size_t n)
{
	unsigned long long t;
	size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	if (i < n)
		x[i] = (unsigned)(t ^ (t >> 32)) ^ (unsigned)(i * 2654435761u);
}

int main(void)
{
	const int M = 2048;
	const size_t mm = (size_t)M * M;
	float *A, *B, *C, *x, *y, one = 1.0f, zero = 0.0f;
	unsigned *junk, *fresh;
	curandGenerator_t g, gf;
	cublasHandle_t h;
	unsigned long long hc, hg, hs, hu;
	int st;

	CK(cudaMalloc(&A, mm * 4));
	CK(cudaMalloc(&B, mm * 4));
	CK(cudaMalloc(&C, mm * 4));
	CK(cudaMalloc(&x, M * 4));
	CK(cudaMalloc(&y, M * 4));

	/* curand: time/pid-seeded generator, device-specific ordering. */
	CK(curandCreateGenerator(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10));
	CK(curandSetPseudoRandomGeneratorSeed(
		g, (unsigned long long)time(NULL) ^ (unsigned long long)getpid()));
	st = curandSetGeneratorOrdering(g, CURAND_ORDERING_PSEUDO_DYNAMIC);
	if (st != 0)
		fprintf(stderr, "note: PSEUDO_DYNAMIC ordering -> status %d\n", st);
	CK(curandGenerateUniform(g, C, mm));
	hc = dev_hash(C, mm * 4);

	/* gemm and symv inputs from a fixed-seed generator. */
	CK(curandCreateGenerator(&gf, CURAND_RNG_PSEUDO_DEFAULT));
	CK(curandSetPseudoRandomGeneratorSeed(gf, 1234));
	CK(curandGenerateNormal(gf, A, mm, 0.0f, 1.0f));
	CK(curandGenerateNormal(gf, B, mm, 0.0f, 1.0f));
	CK(curandGenerateNormal(gf, x, M, 0.0f, 1.0f));

	CK(cublasCreate(&h));
	st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, M, M, M, &one, A,
			  CUDA_R_32F, M, B, CUDA_R_32F, M, &zero, C, CUDA_R_32F,
			  M, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_AUTOTUNE);
	if (st != 0)
		fprintf(stderr, "note: GemmEx(AUTOTUNE) -> status %d\n", st);
	hg = dev_hash(C, mm * 4);

	CK(cublasSetAtomicsMode(h, CUBLAS_ATOMICS_ALLOWED));
	CK(cublasSsymv(h, CUBLAS_FILL_MODE_LOWER, M, &one, A, M, x, 1, &zero,
		       y, 1));
	hs = dev_hash(y, M * 4);

	/* uninit: the next allocation may reuse the freed pages. */
	CK(cudaMalloc(&junk, mm * 4));
	stamp<<<(unsigned)((mm + 255) / 256), 256>>>(junk, mm);
	CK(cudaDeviceSynchronize());
	CK(cudaFree(junk));
	CK(cudaMalloc(&fresh, mm * 4));
	hu = dev_hash(fresh, mm * 4);

	printf("curand %016llx\ngemm %016llx\nsymv %016llx\nuninit %016llx\n",
	       hc, hg, hs, hu);
	printf("all %016llx\n",
	       fnv(&hu, 8, fnv(&hs, 8, fnv(&hg, 8, fnv(&hc, 8, 1469598103934665603ull)))));
	cublasDestroy(h);
	curandDestroyGenerator(g);
	curandDestroyGenerator(gf);
	return 0;
}
