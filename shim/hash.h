/*
 * hash.h - stable 64-bit hashing and fixed-width hex, shared by the cuDNN
 * fingerprints, the algorithm-cache file and the lineage key parser
 * (stream.c).
 *
 * Stable across runs and builds: the values are written to
 * DETSHIM_ALGO_CACHE files, so changing a formula invalidates them.  Pure.
 */
#ifndef DS_HASH_H
#define DS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Mix the word v into h (splitmix64 finalizer over a boost-style combine). */
uint64_t ds_mix64(uint64_t h, uint64_t v);
/* Mix n bytes at p into h (length first, then 8-byte words). */
uint64_t ds_hash_bytes(uint64_t h, const void *p, size_t n);

/* 16 lowercase hex digits + NUL (ds_fmt has no field widths); returns out. */
const char *ds_hex16(uint64_t v, char out[17]);
/* Exactly n lowercase hex digits at s (n <= 16) into *out; false on any
 * other character.  The inverse of ds_hex16 for n == 16. */
bool ds_hex_parse(const char *s, size_t n, uint64_t *out);

#endif /* DS_HASH_H */
