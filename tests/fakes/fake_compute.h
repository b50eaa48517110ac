/*
 * fake_compute.h - what the fake GPU libraries "compute" for the call
 * hashing tests (tests/hooks/check_hash_calls.c): an output that is a
 * fixed function of the inputs, so that a change upstream shows in every
 * call downstream, and one knob that makes one call's output vary:
 *
 *   FAKE_HASH_VARY=<function>  FAKE_HASH_VARY_BY=<n>
 *
 * adds n to the first byte that function writes, as a kernel with
 * atomics would change a low bit from run to run (FAKE_HASH_VARY_BY=clock:
 * an odd number from the clock, so that two runs of one command differ,
 * as under detrun --verify).  FAKE_HASH_VARY_AT=last changes the last
 * byte instead, so that a hook that hashes too little of the output is
 * seen.
 * The fakes' "device memory" is host memory (tests/fakes/libcuda.so.1.c).
 */
#ifndef FAKE_COMPUTE_H
#define FAKE_COMPUTE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* out[0..n) from the first na bytes of a and nb bytes of b (either may
 * be NULL), then the knob for call. */
static __attribute__((unused)) void fake_compute(const char *call, void *out,
						 size_t n, const void *a,
						 size_t na, const void *b,
						 size_t nb)
{
	const char *vary = getenv("FAKE_HASH_VARY");
	const unsigned char *pa = a, *pb = b;
	unsigned char *po = out;
	uint32_t h = 2166136261u;
	size_t i;

	if (out == NULL || n == 0)
		return;
	for (i = 0; pa && i < na; i++)
		h = (h ^ pa[i]) * 16777619u;
	for (i = 0; pb && i < nb; i++)
		h = (h ^ pb[i]) * 16777619u;
	for (i = 0; i < n; i++) {
		h = (h ^ (uint32_t)i) * 16777619u;
		po[i] = (unsigned char)(h >> 24);
	}
	if (vary && strcmp(vary, call) == 0 && getenv("FAKE_HASH_VARY_BY")) {
		const char *by = getenv("FAKE_HASH_VARY_BY");
		struct timespec ts;
		const char *at = getenv("FAKE_HASH_VARY_AT");
		unsigned char *v = at && strcmp(at, "last") == 0 ? &po[n - 1] :
								 &po[0];

		clock_gettime(CLOCK_MONOTONIC, &ts);
		*v = (unsigned char)(*v + (strcmp(by, "clock") == 0 ?
						   (int)ts.tv_nsec | 1 : atoi(by)));
	}
}

#endif /* FAKE_COMPUTE_H */
