/*
 * abi/curand.h - the few cuRAND 10 types and values detshim touches.
 * Mirror of curand.h (CUDA 13.0).
 */
#ifndef DS_ABI_CURAND_H
#define DS_ABI_CURAND_H

typedef int ds_curand_status;      /* curandStatus_t */
typedef void *ds_curand_generator; /* curandGenerator_t (opaque) */

#define DS_CURAND_STATUS_SUCCESS 0
#define DS_CURAND_STATUS_NOT_INITIALIZED 101

/* curandRngType_t ranges */
#define DS_CURAND_RNG_PSEUDO_FIRST 100 /* PSEUDO_DEFAULT */
#define DS_CURAND_RNG_PSEUDO_LAST 199  /* PHILOX4_32_10 = 161 is the last used */
#define DS_CURAND_RNG_PSEUDO_DEFAULT 100
#define DS_CURAND_RNG_QUASI_DEFAULT 200

/* curandOrdering_t */
#define DS_CURAND_ORDERING_PSEUDO_BEST 100
#define DS_CURAND_ORDERING_PSEUDO_DEFAULT 101
#define DS_CURAND_ORDERING_PSEUDO_SEEDED 102
#define DS_CURAND_ORDERING_PSEUDO_LEGACY 103
#define DS_CURAND_ORDERING_PSEUDO_DYNAMIC 104 /* "adjusted to the device" */
#define DS_CURAND_ORDERING_QUASI_DEFAULT 201

#endif /* DS_ABI_CURAND_H */
