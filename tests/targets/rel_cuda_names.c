/*
 * rel_cuda_names.c - a program without CUDA that probes for CUDA libraries
 * by symbol (docs/measurements/RELIABILITY.md, "Exported names").
 *
 *   rel_cuda_names LIBCUBLAS   the probes, then LIBCUBLAS (the fake of
 *                              tests/fakes/) opened RTLD_LOCAL, then
 *                              promoted to RTLD_GLOBAL, probing after each
 *
 * dlsym(RTLD_DEFAULT, name) finds a name only if an object in the global
 * scope defines it: the output must be the same with and without the shim.
 */
#include <dlfcn.h>
#include <stdio.h>

static const char *const names[] = {
	"cublasCreate_v2", "cublasLtMatmul", "cudnnCreate",
	"cudnnBackendExecute", "curandCreateGenerator", "cuInit",
};

static void probe(const char *when)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *p;
		const char *e;

		dlerror();
		p = dlsym(RTLD_DEFAULT, names[i]);
		e = dlerror();
		printf("%s %s %s%s\n", when, names[i], p ? "found" : "absent",
		       !p && e ? " (dlerror set)" : "");
	}
}

int main(int argc, char **argv)
{
	void *h;

	if (argc != 2)
		return 2;
	probe("start");
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return 1;
	probe("local");
	if (dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == NULL)
		return 1;
	probe("global");
	return 0;
}
