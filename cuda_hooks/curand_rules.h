/*
 * curand_rules.h - pure decisions behind the cuRAND hooks (curand.c).
 */
#ifndef DS_CURAND_RULES_H
#define DS_CURAND_RULES_H

#include <stdbool.h>

/* Ordering to set: PSEUDO_DYNAMIC ("adjusted to the device it is being
 * executed on") becomes PSEUDO_DEFAULT; others are kept. */
int ds_curand_ordering(int order);

/* True for pseudo-random generator types (100..199): those have a seed. */
bool ds_curand_is_pseudo(int rng_type);

#endif /* DS_CURAND_RULES_H */
