/*
 * state.c - the process-wide state of the shim and the names of its
 * values.
 *
 * The state: the frozen configuration (ds_cfg, written once by init.c),
 * the init state (init.c), the per-thread re-entry depth (every hook) and
 * the process key (init.c sets it; in a fork child stream.c derives the
 * child's key at its first use: ds_key_current).
 * Defined here, in a core file with no interposed symbol, so that the
 * unit tests link them without a preload.
 *
 * The names: one table per value kind (sources, policies, seed modes,
 * cuDNN choices), read by config.c to parse, by init.c and log.c to
 * write, and by detrun (tools/) through the config parser.
 */
#include "detshim.h"

#include <string.h>

struct ds_config ds_cfg;
atomic_int ds_init_state;
/* 1 once the program is in seccomp (process.c, ds_sandbox_after). */
atomic_int ds_sandbox_state;
__thread int ds_inside __attribute__((tls_model("initial-exec")));
struct ds_key ds_process_key;

static const char *const source_names[DS_SRC_COUNT] = {
	[DS_SRC_LIBC_RAND] = "libc_rand",
	[DS_SRC_DRAND48] = "drand48",
	[DS_SRC_GETRANDOM] = "getrandom",
	[DS_SRC_GETENTROPY] = "getentropy",
	[DS_SRC_ARC4RANDOM] = "arc4random",
	[DS_SRC_URANDOM] = "urandom",
	[DS_SRC_RANDOM] = "dev_random",
	[DS_SRC_RANDOM_DEVICE] = "random_device",
	[DS_SRC_CURAND] = "curand",
	[DS_SRC_ENV] = "env",
	[DS_SRC_CUDNN] = "cudnn",
	[DS_SRC_CUBLAS] = "cublas",
	[DS_SRC_DRIVER] = "driver",
	[DS_SRC_FRAMEWORK] = "framework",
	[DS_SRC_PROCESS] = "process",
	[DS_SRC_NCCL] = "nccl",
	[DS_SRC_TORCH] = "torch",
};

const char *const ds_policy_names[] = {
	[DS_POLICY_ENFORCE] = "enforce",
	[DS_POLICY_WARN] = "warn",
	[DS_POLICY_OFF] = "off",
	NULL
};

const char *const ds_seed_mode_names[] = {
	[DS_SEED_MIX] = "mix",
	[DS_SEED_OVERRIDE] = "override",
	[DS_SEED_RESPECT] = "respect",
	NULL
};

const char *const ds_cudnn_choice_names[] = {
	[DS_CUDNN_FIRST] = "first",
	[DS_CUDNN_ANY] = "any",
	NULL
};

const char *const ds_profile_names[] = {
	[DS_PROFILE_DEFAULT] = "default",
	[DS_PROFILE_BATCH_INVARIANT] = "batch-invariant",
	NULL
};

const char *ds_source_name(enum ds_source src)
{
	if ((unsigned)src >= DS_SRC_COUNT)
		return "?";
	return source_names[src];
}

int ds_source_from_name(const char *name)
{
	int i;

	for (i = 0; i < DS_SRC_COUNT; i++)
		if (strcmp(name, source_names[i]) == 0)
			return i;
	return -1;
}
