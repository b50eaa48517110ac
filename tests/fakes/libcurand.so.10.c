/*
 * Fake libcurand.so.10 for the hook tests (docs/DESIGN.md §8.14).
 *
 * Generators record their type, seed (0 at creation, like cuRAND) and
 * ordering; fake_curand_*() read them.  curandCreateGeneratorHost is
 * deliberately missing: the hook test checks the shim's missing-symbol
 * path on it.
 */
#include <stdlib.h>

struct gen {
	int type;
	unsigned long long seed;
	int ordering;
};

#define OK 0
#define TYPE_ERROR 103

int curandCreateGenerator(struct gen **g, int type)
{
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
