/*
 * Fake libcurand.so.10 for the hook tests (docs/DESIGN.md §8.14).
 *
 * Generators record their type, seed (0 at creation, like cuRAND) and
 * ordering; fake_curand_*() read them.  curandCreateGeneratorHost is
 * deliberately missing: the hook test checks the shim's missing-symbol
 * path on it.  The generate functions write a fixed function of the
 * seed and of how many numbers the generator gave so far
 * (fake_compute.h), for the call hashing tests.
 */
#include <stdlib.h>
#include <time.h>

#include "fake_compute.h"

struct gen {
	int type;
	unsigned long long seed;
	int ordering;
	void *stream;
	unsigned long long offset; /* numbers generated so far */
};

#define OK 0
#define TYPE_ERROR 103

int curandCreateGenerator(struct gen **g, int type)
{
	static int initialised;

	/* The real library's first call initialises the CUDA runtime, which
	 * reads the clock many times (more than a small ring of recent
	 * values holds) between a program's own clock read and its seed. */
	if (!initialised) {
		struct timespec ts;
		int i;

		initialised = 1;
		for (i = 0; i < 32; i++)
			clock_gettime(CLOCK_MONOTONIC, &ts);
	}
	if (type < 100 || type > 204)
		return TYPE_ERROR;
	*g = calloc(1, sizeof(**g));
	(*g)->type = type;
	(*g)->ordering = type < 200 ? 101 : 201;
	return OK;
}

int curandDestroyGenerator(struct gen *g)
{
	free(g);
	return OK;
}

int curandSetPseudoRandomGeneratorSeed(struct gen *g, unsigned long long s)
{
	if (g->type >= 200)
		return TYPE_ERROR;
	g->seed = s;
	return OK;
}

int curandSetGeneratorOrdering(struct gen *g, int order)
{
	g->ordering = order;
	return OK;
}

/* Test probes. */
unsigned long long fake_curand_seed(const struct gen *g) { return g->seed; }
int fake_curand_ordering(const struct gen *g) { return g->ordering; }

int curandSetStream(struct gen *g, void *stream)
{
	g->stream = stream;
	return OK;
}

static int generate(const char *call, struct gen *g, void *out, size_t n,
		    size_t elem)
{
	unsigned long long key[2] = { g->seed, g->offset };

	fake_compute(call, out, n * elem, key, sizeof(key), NULL, 0);
	g->offset += n;
	return OK;
}

int curandGenerate(struct gen *g, unsigned *o, size_t n)
{
	return generate("curandGenerate", g, o, n, 4);
}

int curandGenerateLongLong(struct gen *g, unsigned long long *o, size_t n)
{
	return generate("curandGenerateLongLong", g, o, n, 8);
}

int curandGenerateUniform(struct gen *g, float *o, size_t n)
{
	return generate("curandGenerateUniform", g, o, n, 4);
}

int curandGenerateUniformDouble(struct gen *g, double *o, size_t n)
{
	return generate("curandGenerateUniformDouble", g, o, n, 8);
}

int curandGenerateNormal(struct gen *g, float *o, size_t n, float m, float s)
{
	(void)m; (void)s;
	return generate("curandGenerateNormal", g, o, n, 4);
}

int curandGenerateNormalDouble(struct gen *g, double *o, size_t n, double m,
			       double s)
{
	(void)m; (void)s;
	return generate("curandGenerateNormalDouble", g, o, n, 8);
}

int curandGenerateLogNormal(struct gen *g, float *o, size_t n, float m,
			    float s)
{
	(void)m; (void)s;
	return generate("curandGenerateLogNormal", g, o, n, 4);
}

int curandGenerateLogNormalDouble(struct gen *g, double *o, size_t n,
				  double m, double s)
{
	(void)m; (void)s;
	return generate("curandGenerateLogNormalDouble", g, o, n, 8);
}

int curandGeneratePoisson(struct gen *g, unsigned *o, size_t n, double l)
{
	(void)l;
	return generate("curandGeneratePoisson", g, o, n, 4);
}
