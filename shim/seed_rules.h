/*
 * seed_rules.h - is a seed the program computed volatile?  The rules of
 * docs/SEEDS.md, pure (seed_rules.c), and the provenance that feeds them
 * (provenance.c: the clock and pid hooks, the address ranges, sites).
 */
#ifndef DS_SEED_RULES_H
#define DS_SEED_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a recorded value is.  a and b as the libc call returned them. */
enum ds_prov_kind {
	DS_PROV_NONE = 0,
	DS_PROV_SEC,   /* time(): a = seconds */
	DS_PROV_TS,    /* clock_gettime, timespec_get: a = s, b = ns */
	DS_PROV_TV,    /* gettimeofday: a = s, b = us */
	DS_PROV_TB,    /* ftime: a = s, b = ms */
	DS_PROV_CLOCK, /* clock(): a = the clock_t value */
	DS_PROV_ID     /* getpid, gettid, getppid: a = the id */
};

struct ds_prov_val {
	uint64_t a;
	uint32_t b;
	uint32_t kind; /* enum ds_prov_kind */
};

/* The values recorded per thread (newest last, ring order undone). */
#define DS_PROV_RING 8
/* A judgment sees two rings: the values the program's own image got and
 * those every other object got (provenance.c). */
#define DS_PROV_VALS (2 * DS_PROV_RING)

struct ds_seed_ctx {
	struct ds_prov_val vals[DS_PROV_VALS]; /* oldest first */
	size_t nvals;
	uint64_t ids[4];   /* pid, tid, ppid of the caller now (0 = none) */
	uint64_t now_ns;   /* CLOCK_REALTIME now */
	uint64_t tsc;      /* a fresh time-stamp counter read, 0 if none */
	uint64_t tsc_start; /* the counter when the shim started (0: none) */
	uint64_t sp;       /* an address on the caller's stack */
};

/* An address range [lo, hi) of the process; stack_or_heap marks [stack],
 * [heap] (the ranges whose low 32 bits are judged too). */
struct ds_range {
	uint64_t lo, hi;
	bool stack_or_heap;
};

/*
 * The value rules (docs/SEEDS.md): writes the name of the first rule
 * that holds into rule (e.g. "xor-id:nsec", "trunc32:us", "tsc") and
 * returns true; false when none holds (an explicit seed, as far as the
 * values go).  width: the bits of the seed as the generator takes it (32
 * for srand, 48 for seed48, 64 for srand48's long and cuRAND).  Pure.
 */
bool ds_seed_rule_values(uint64_t seed, unsigned width,
			 const struct ds_seed_ctx *ctx, char *rule,
			 size_t cap);

/* The address rule: the seed, or for [stack] and [heap] and the
 * caller's stack its low 32 bits, lies in one of the ranges.  Writes
 * "address" or "address/32".  Pure. */
bool ds_seed_rule_address(uint64_t seed, const struct ds_seed_ctx *ctx,
			  const struct ds_range *r, size_t n, char *rule,
			  size_t cap);

/*
 * Parse /proc/self/maps text (as much as fits in buf, NUL-terminated)
 * into at most cap ranges; returns the number stored.  Pure.
 */
size_t ds_parse_maps(const char *buf, struct ds_range *out, size_t cap);

#endif /* DS_SEED_RULES_H */
