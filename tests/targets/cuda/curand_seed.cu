/*
 * curand_seed.cu - cuRAND generators seeded the ways issue 16 found
 * unpinned on the H200: tv_nsec ^ getpid(), CLOCK_MONOTONIC ns and
 * tv_usec, one in the main thread and one created and seeded in a
 * std::thread.  Prints one FNV-1a hash of 1 Mi device uniforms per
 * generator ("part hash" lines, tests/gpu/parse_hashes.py).  Under one
 * DETSHIM_SEED every hash is the same run after run, under another
 * different, without the shim different every run.  Built only with
 * nvcc:
 *   nvcc -O2 -arch=sm_90 -o build/targets/cuda/curand_seed \
 *        tests/targets/cuda/curand_seed.cu -lcurand
 *   for s in 1 1 2; do LD_PRELOAD=$PWD/build/libdetshim.so DETSHIM_SEED=$s \
 *        build/targets/cuda/curand_seed; sleep 1; done
 * The CPU side of the same seeds is checked on the fake libcurand by
 * tests/hooks/check_curand.c and tests/it_seeds.sh.
 */
#include <cuda_runtime.h>
#include <curand.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <thread>
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

#define N (1 << 20)

static unsigned long long fnv(const void *p, size_t n)
{
	const unsigned char *b = (const unsigned char *)p;
	unsigned long long h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static unsigned long long draw(unsigned long long seed)
{
	static float host[N];
	curandGenerator_t g;
	float *dev;

	CK(cudaMalloc(&dev, N * sizeof(float)));
	CK(curandCreateGenerator(&g, CURAND_RNG_PSEUDO_DEFAULT));
	CK(curandSetPseudoRandomGeneratorSeed(g, seed));
	CK(curandGenerateUniform(g, dev, N));
	CK(cudaMemcpy(host, dev, N * sizeof(float), cudaMemcpyDeviceToHost));
	CK(curandDestroyGenerator(g));
	CK(cudaFree(dev));
	return fnv(host, sizeof(host));
}

int main(void)
{
	struct timespec ts;
	struct timeval tv;
	unsigned long long h_thread = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("nsec_pid %016llx\n",
	       draw((unsigned long long)ts.tv_nsec ^ (unsigned long long)getpid()));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("monotonic_ns %016llx\n",
	       draw((unsigned long long)ts.tv_sec * 1000000000ull +
		    (unsigned long long)ts.tv_nsec));
	gettimeofday(&tv, NULL);
	printf("usec %016llx\n", draw((unsigned long long)tv.tv_usec));
	std::thread t([&h_thread] {
		struct timespec t2;

		clock_gettime(CLOCK_REALTIME, &t2);
		h_thread = draw((unsigned long long)t2.tv_nsec ^
				(unsigned long long)getpid());
	});
	t.join();
	printf("thread_nsec_pid %016llx\n", h_thread);
	return 0;
}
