/*
 * curand_rules.c - pure decisions behind the cuRAND hooks (curand.c).
 */
#include "curand_rules.h"

#include "abi/curand.h"

int ds_curand_ordering(int order)
{
	/* curand.h: PSEUDO_DYNAMIC is "adjusted to the device it is being
	 * executed on": the sequence differs across GPU models. */
	return order == DS_CURAND_ORDERING_PSEUDO_DYNAMIC ?
		       DS_CURAND_ORDERING_PSEUDO_DEFAULT : order;
}

bool ds_curand_is_pseudo(int rng_type)
{
	return rng_type >= DS_CURAND_RNG_PSEUDO_FIRST &&
	       rng_type <= DS_CURAND_RNG_PSEUDO_LAST;
}
