/*
 * hook_prof.h - bench-only timing of the cuDNN backend hooks' own work.
 *
 * Compiled in only with -DDS_HOOK_PROF, in a separate build directory
 * (bench/gpu.sh: make BUILD=build/prof EXTRA_CFLAGS=-DDS_HOOK_PROF).  The
 * default build expands every macro below to nothing or to its argument,
 * so its code is the same as without this file (checked when it was added:
 * `objcopy -O binary --only-section=.text` of cudnn_backend.o before and
 * after gave identical bytes).
 *
 * What is measured (docs/BENCHMARKS.md, GPU): for each hook call, the time
 * from entry to return minus the time inside the forwarded real call
 * (DS_PROF_REAL).  Extra real calls the shim makes itself (read_cfg's
 * GetAttribute reads at plan Finalize) count as the shim's own work.  A
 * hook reached from inside another hook's real call is accounted on its
 * own and lies inside the outer call's real time.  The clock is the TSC on
 * x86-64 (converted with CLOCK_MONOTONIC over the process lifetime), else
 * CLOCK_MONOTONIC.  The cost of the timing itself is measured at exit
 * (an empty hook scope, "floor") and printed beside the totals.
 * At exit one "detshim-prof:" line per hook goes to stderr.
 */
#ifndef DS_HOOK_PROF_H
#define DS_HOOK_PROF_H

#ifndef DS_HOOK_PROF

#define DS_PROF_ENTER(slot)
#define DS_PROF_SLOT(slot)
#define DS_PROF_REAL(call) (call)

#else /* DS_HOOK_PROF */

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "detshim.h"

enum ds_prof_slot {
	DS_PROF_CREATE = 0,
	DS_PROF_DESTROY,
	DS_PROF_SET,
	DS_PROF_GET,
	DS_PROF_FINALIZE_PLAN,  /* Finalize of an execution plan (the veto) */
	DS_PROF_FINALIZE_OTHER, /* every other Finalize (variant packs, ...) */
	DS_PROF_EXECUTE,
	DS_PROF_FLOOR,          /* empty scopes timed at exit */
	DS_PROF_NSLOTS
};

static const char *const ds_prof_names[DS_PROF_NSLOTS] = {
	"cudnnBackendCreateDescriptor", "cudnnBackendDestroyDescriptor",
	"cudnnBackendSetAttribute", "cudnnBackendGetAttribute",
	"cudnnBackendFinalize(plan)", "cudnnBackendFinalize(other)",
	"cudnnBackendExecute", "floor",
};

struct ds_prof_acc {
	atomic_ulong calls; /* hook calls */
	atomic_ulong own;   /* ticks outside the forwarded real call */
	atomic_ulong real;  /* ticks inside it */
};

struct ds_prof_scope {
	int slot;      /* enum ds_prof_slot */
	uint64_t t0;   /* entry tick */
	uint64_t real; /* ticks in DS_PROF_REAL calls */
};

#define DS_PROF_DEPTH 8 /* nested hooks per thread that are timed */

static struct ds_prof_acc ds_prof_acc[DS_PROF_NSLOTS];
/* Per thread: the hooks being run, innermost last (a hook reached from
 * inside a real call nests). */
static __thread struct ds_prof_scope ds_prof_stack[DS_PROF_DEPTH];
static __thread int ds_prof_depth;
static atomic_int ds_prof_started;
static uint64_t ds_prof_tick0, ds_prof_ns0;

static inline uint64_t ds_prof_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ds_prof_tick(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#else
	return ds_prof_mono_ns();
#endif
}

/* Opens a scope; returns its depth (1-based; 0: too deep, not timed). */
static inline int ds_prof_enter(int slot)
{
	struct ds_prof_scope *s;

	if (atomic_load_explicit(&ds_prof_started, memory_order_relaxed) == 0 &&
	    atomic_exchange(&ds_prof_started, 1) == 0) {
		ds_prof_ns0 = ds_prof_mono_ns();
		ds_prof_tick0 = ds_prof_tick();
	}
	if (ds_prof_depth >= DS_PROF_DEPTH)
		return 0;
	s = &ds_prof_stack[ds_prof_depth++];
	s->slot = slot;
	s->real = 0;
	s->t0 = ds_prof_tick();
	return ds_prof_depth;
}

static inline void ds_prof_leave(const int *depth)
{
	uint64_t t = ds_prof_tick();
	struct ds_prof_scope *s;
	struct ds_prof_acc *a;

	if (*depth == 0)
		return;
	s = &ds_prof_stack[*depth - 1];
	a = &ds_prof_acc[s->slot];
	atomic_fetch_add_explicit(&a->calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->own, t - s->t0 - s->real,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&a->real, s->real, memory_order_relaxed);
	ds_prof_depth = *depth - 1;
}

/* Opens the hook's scope; the cleanup closes it at every return. */
#define DS_PROF_ENTER(slot_)                                                 \
	const int ds_prof_scope_ __attribute__((cleanup(ds_prof_leave))) =   \
		ds_prof_enter(slot_)

/* Re-files the current hook call under another slot. */
#define DS_PROF_SLOT(slot_)                                                  \
	(ds_prof_depth > 0 ? (void)(ds_prof_stack[ds_prof_depth - 1].slot =  \
				    (slot_)) : (void)0)

/* The forwarded real call: its time is not the shim's. */
#define DS_PROF_REAL(call)                                                   \
	({                                                                   \
		uint64_t ds_prof_t_ = ds_prof_tick();                        \
		__typeof__(call) ds_prof_r_ = (call);                        \
		if (ds_prof_depth > 0)                                       \
			ds_prof_stack[ds_prof_depth - 1].real +=             \
				ds_prof_tick() - ds_prof_t_;                 \
		ds_prof_r_;                                                  \
	})

/* An empty hook: what the timing itself adds to "own" per call. */
static __attribute__((noinline)) int ds_prof_null(int x)
{
	DS_PROF_ENTER(DS_PROF_FLOOR);
	return DS_PROF_REAL(x + 1);
}

/* ticks -> ns over the process lifetime (integer math: ds_fmt has no
 * floats). */
static uint64_t ds_prof_ns(uint64_t ticks, uint64_t dt, uint64_t dn)
{
	if (dt == 0)
		return ticks;
	return (uint64_t)((unsigned __int128)ticks * dn / dt);
}

__attribute__((destructor(103))) static void ds_prof_report(void)
{
	struct ds_prof_acc *fl = &ds_prof_acc[DS_PROF_FLOOR];
	uint64_t dt, dn;
	char line[256];
	size_t n;
	int i, k;
	const int reps = 100000;

	if (atomic_load(&ds_prof_started) == 0)
		return;
	for (k = 0, i = 0; i < reps; i++)
		k += ds_prof_null(i);
	dt = ds_prof_tick() - ds_prof_tick0;
	dn = ds_prof_mono_ns() - ds_prof_ns0;
	n = ds_fmt(line, sizeof(line),
		   "detshim-prof: floor own_ps_per_call=%llu (%lu empty scopes, "
		   "check %d) pid=%ld\n",
		   (unsigned long long)(ds_prof_ns(atomic_load(&fl->own), dt,
						   dn) * 1000u /
					atomic_load(&fl->calls)),
		   atomic_load(&fl->calls), k & 1, (long)ds_sys_getpid());
	(void)ds_sys_write(2, line, n);
	for (i = 0; i < DS_PROF_FLOOR; i++) {
		n = ds_fmt(line, sizeof(line),
			   "detshim-prof: hook=%s calls=%lu own_ns=%llu "
			   "real_ns=%llu pid=%ld\n", ds_prof_names[i],
			   atomic_load(&ds_prof_acc[i].calls),
			   (unsigned long long)ds_prof_ns(
				   atomic_load(&ds_prof_acc[i].own), dt, dn),
			   (unsigned long long)ds_prof_ns(
				   atomic_load(&ds_prof_acc[i].real), dt, dn),
			   (long)ds_sys_getpid());
		(void)ds_sys_write(2, line, n);
	}
}

#endif /* DS_HOOK_PROF */
#endif /* DS_HOOK_PROF_H */
