/*
 * pins.c - environment variables that steer libraries and frameworks to
 * deterministic behaviour, set in the constructor before the program's
 * main reads them.
 *
 * One table, one row per variable.  A variable the user already set is
 * kept (and logged as kept), except append-rows such as XLA_FLAGS, where
 * our flag is appended to theirs; a contrary flag of theirs is overridden
 * under enforce (our later flag wins) and only logged under warn.
 * Under DETSHIM_POLICY=warn nothing is set: each row is logged as
 * "would-pin".  Sources: docs/CPU_FACTS.md and docs/GPU_FACTS.md §7-8.
 *
 * Rows marked PIN_WITH_CACHE apply only when a pinning cache is named
 * (DETSHIM_ALGO_CACHE), rows marked PIN_NO_CACHE only when none is; an
 * '@' in their value stands for the cache path.  Under the cache the
 * frameworks' own autotuners keep their results next to it, so that the
 * first run's choices are reused by every later run (docs/measurements/REPRODUCIBILITY.md):
 *   <cache>.xla/       XLA per-fusion autotune results
 *   <cache>.inductor/  TorchInductor caches (FX graph, autotune)
 *   <cache>.triton/    Triton kernels and @triton.autotune winners
 *
 * Rows marked PROFILE_BI apply only under DETSHIM_PROFILE=batch-invariant,
 * rows marked PROFILE_DEFAULT only without it: where the profile wants
 * another value of a variable (CUBLAS_WORKSPACE_CONFIG, NCCL_ALGO), each
 * value is a row of its own (docs/DESIGN.md §13).
 */
#include "detshim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum pin_kind {
	PIN_SET,       /* set to value unless already set */
	PIN_DERIVED,   /* value derived from the root key */
	PIN_APPEND,    /* append a --flag=value to a flag list */
};

enum pin_when {
	PIN_ALWAYS = 0,  /* with or without a pinning cache */
	PIN_NO_CACHE,    /* only without DETSHIM_ALGO_CACHE */
	PIN_WITH_CACHE,  /* only with DETSHIM_ALGO_CACHE ('@' = its path) */
	PIN_IF_WORKSPACE, /* only with gpu.cublas_workspace (the default) */
};

enum pin_profile {
	PROFILE_ANY = 0,       /* under every profile */
	PROFILE_DEFAULT,       /* only under the default profile */
	PROFILE_BI,            /* only under the batch-invariant profile */
};

struct pin {
	const char *name;      /* variable */
	const char *value;     /* value, or flag "--name=value" for PIN_APPEND */
	enum pin_kind kind;
	enum ds_source src;    /* switch that turns the row off */
	const char *why;       /* one-line reason, written to the log */
	enum pin_when when;    /* condition (default: always) */
	bool mkdir;            /* create the directory the value names */
	enum pin_profile profile; /* which profile the row serves */
};

static const struct pin pins[] = {
	{ "PYTHONHASHSEED", NULL, PIN_DERIVED, DS_SRC_ENV,
	  "str/bytes hash secret and set order (docs/CPU_FACTS.md 2.2)",
	  PIN_ALWAYS, false, PROFILE_ANY },
	/* NVIDIA's condition for cuBLAS determinism with several streams
	 * (docs/GPU_FACTS.md §3.1).  It costs PyTorch host time per matmul
	 * (+47% on a small GPT step on the H200, docs/measurements/BENCHMARKS.md);
	 * torch 2 keeps a workspace per handle and stream and needs none, so
	 * the Python start-up module takes this value back when torch 2 is
	 * imported (python/_detshim/torch_ops.py, docs/DESIGN.md §12).
	 * gpu.cublas_workspace turns it off everywhere. */
	{ "CUBLAS_WORKSPACE_CONFIG", ":4096:8", PIN_SET, DS_SRC_CUBLAS,
	  "fixed cuBLAS workspace (docs/GPU_FACTS.md 3.1)",
	  PIN_IF_WORKSPACE, false, PROFILE_DEFAULT },
	/* The batch-invariant profile: workspaces too small for split-K,
	 * the pair vLLM's batch-invariant mode sets.  PyTorch parses the
	 * first to size its cuBLAS workspaces and reads the second in KiB
	 * as cuBLASLt's workspace limit; a split-K algorithm needs more.
	 * The start-up module takes back only the :4096:8 value. */
	{ "CUBLAS_WORKSPACE_CONFIG", ":16:8", PIN_SET, DS_SRC_CUBLAS,
	  "cuBLAS workspace too small for split-K (batch-invariant)",
	  PIN_IF_WORKSPACE, false, PROFILE_BI },
	{ "CUBLASLT_WORKSPACE_SIZE", "1", PIN_SET, DS_SRC_CUBLAS,
	  "PyTorch's cuBLASLt workspace 1 KiB: no split-K (batch-invariant)",
	  PIN_ALWAYS, false, PROFILE_BI },
	{ "TF_DETERMINISTIC_OPS", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "TensorFlow op determinism (docs/GPU_FACTS.md 8.2)",
	  PIN_ALWAYS, false, PROFILE_ANY },
	{ "TF_CUDNN_DETERMINISTIC", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "TensorFlow 1.14-2.0 cuDNN determinism (docs/GPU_FACTS.md 8.2)",
	  PIN_ALWAYS, false, PROFILE_ANY },
	/* Transformer Engine: deterministic attention/GEMM algorithms (the
	 * variable Megatron-Core's --deterministic-mode sets; TE also
	 * follows torch.are_deterministic_algorithms_enabled(), which
	 * frameworks.c answers). */
	{ "NVTE_ALLOW_NONDETERMINISTIC_ALGO", "0", PIN_SET, DS_SRC_FRAMEWORK,
	  "Transformer Engine deterministic algorithms",
	  PIN_ALWAYS, false, PROFILE_ANY },
	/* XLA: without a cache, deterministic ops (no timing autotuner).
	 * With one, the documented pair: non-deterministic ops excluded
	 * and the autotuner's results persisted per fusion, loaded by
	 * every later compilation
	 * (https://github.com/openxla/xla/blob/main/docs/determinism.md).  The
	 * directory is detshim's own and the recording run already excludes
	 * nondeterministic ops: on the H200, results tuned without the flag and
	 * loaded with it made runs differ.  JAX 0.11.2 does not autotune under
	 * either flag, so the directory stays empty there
	 * (docs/measurements/REPRODUCIBILITY.md). */
	{ "XLA_FLAGS", "--xla_gpu_deterministic_ops=true", PIN_APPEND,
	  DS_SRC_FRAMEWORK, "XLA/JAX deterministic GPU ops "
			    "(docs/GPU_FACTS.md 8.3)",
	  PIN_NO_CACHE, false, PROFILE_ANY },
	{ "XLA_FLAGS", "--xla_gpu_exclude_nondeterministic_ops=true",
	  PIN_APPEND, DS_SRC_FRAMEWORK,
	  "XLA/JAX deterministic ops, autotuner kept (docs/GPU_FACTS.md 8.3)",
	  PIN_WITH_CACHE, false, PROFILE_ANY },
	{ "XLA_FLAGS", "--xla_gpu_per_fusion_autotune_cache_dir=@.xla",
	  PIN_APPEND, DS_SRC_FRAMEWORK,
	  "XLA autotune results persisted beside the pinning cache",
	  PIN_WITH_CACHE, true, PROFILE_ANY },
	/* torch.compile: the first run's compiled graphs and max-autotune
	 * choices are reused by later runs (FX graph and autotune caches);
	 * user @triton.autotune winners are stored and reused too. */
	{ "TORCHINDUCTOR_CACHE_DIR", "@.inductor", PIN_SET, DS_SRC_FRAMEWORK,
	  "Inductor caches beside the pinning cache", PIN_WITH_CACHE, false,
	  PROFILE_ANY },
	{ "TRITON_CACHE_DIR", "@.triton", PIN_SET, DS_SRC_FRAMEWORK,
	  "Triton caches beside the pinning cache", PIN_WITH_CACHE, false,
	  PROFILE_ANY },
	{ "TRITON_CACHE_AUTOTUNING", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "Triton stores and reuses @triton.autotune winners "
	  "(docs/GPU_FACTS.md 8.4)",
	  PIN_WITH_CACHE, false, PROFILE_ANY },
	/* torch.compile under the batch-invariant profile: Inductor's own
	 * switches, read from the environment by torch/_inductor/config.py
	 * (no split reductions keyed on the batch; deterministic kernels). */
	{ "TORCHINDUCTOR_BATCH_INVARIANT", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "Inductor batch-invariant reductions (batch-invariant)",
	  PIN_ALWAYS, false, PROFILE_BI },
	{ "TORCHINDUCTOR_DETERMINISTIC", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "Inductor deterministic mode (batch-invariant)",
	  PIN_ALWAYS, false, PROFILE_BI },
	{ "NCCL_ALGO", "Ring", PIN_SET, DS_SRC_NCCL,
	  "one all-reduce algorithm for every size (docs/GPU_FACTS.md 7.2)",
	  PIN_ALWAYS, false, PROFILE_DEFAULT },
	/* Tensor-parallel inference: a ring all-reduce starts each chunk at
	 * another rank, so an element's summation order follows the message
	 * size, i.e. the batch; a tree sums every element in one order
	 * (SGLang's deterministic inference sets this value). */
	{ "NCCL_ALGO", "allreduce:tree", PIN_SET, DS_SRC_NCCL,
	  "tree all-reduce: one order whatever the size (batch-invariant)",
	  PIN_ALWAYS, false, PROFILE_BI },
	{ "NCCL_PROTO", "Simple", PIN_SET, DS_SRC_NCCL,
	  "one protocol for every size (docs/GPU_FACTS.md 7.2)",
	  PIN_ALWAYS, false, PROFILE_ANY },
	{ "NCCL_NVLS_ENABLE", "0", PIN_SET, DS_SRC_NCCL,
	  "NVLink SHARP differs between calls (docs/GPU_FACTS.md 7.1)",
	  PIN_ALWAYS, false, PROFILE_ANY },
	{ "NCCL_COLLNET_ENABLE", "0", PIN_SET, DS_SRC_NCCL,
	  "no in-network reduction (docs/GPU_FACTS.md 7.2)",
	  PIN_ALWAYS, false, PROFILE_ANY },
	{ "NCCL_TUNER_PLUGIN", "none", PIN_SET, DS_SRC_NCCL,
	  "no external tuner (docs/GPU_FACTS.md 7.2)",
	  PIN_ALWAYS, false, PROFILE_ANY },
};

static void derived_value(const struct pin *p, char *buf, size_t cap)
{
	struct ds_key root;
	uint64_t h;

	/* Keyed by the root (seed and rank), not the process: every process
	 * of the run hashes alike, as with a user-set PYTHONHASHSEED.  Ten
	 * digits always, so the environment size never varies with the seed
	 * (address layout depends on it: docs/CPU_FACTS.md §1.7). */
	ds_key_root(&root, ds_cfg.seed, ds_cfg.rank_given, ds_cfg.rank);
	h = ds_key_hash64(&root, (uint64_t)DS_SRC_ENV, (uintptr_t)p->name[0]);
	ds_fmt(buf, cap, "%llu",
	       (unsigned long long)(1000000000u + h % 3294967295u));
}

/* Expand '@' in a row's value to the pinning cache path.  Returns false
 * if the result does not fit. */
static bool expand_value(const char *tmpl, char *buf, size_t cap)
{
	size_t n = 0;
	const char *p;

	for (p = tmpl ? tmpl : ""; *p != '\0'; p++) {
		const char *add = *p == '@' ? ds_cfg.algo_cache : NULL;
		size_t len = add ? strlen(add) : 1;

		if (n + len + 1 > cap)
			return false;
		if (add)
			memcpy(buf + n, add, len);
		else
			buf[n] = *p;
		n += len;
	}
	buf[n] = '\0';
	return true;
}

/* The directory named by a value: the text after '=' for a flag. */
static void make_dir(const struct pin *p, const char *val)
{
	const char *dir = p->kind == PIN_APPEND ? strchr(val, '=') : NULL;

	dir = dir ? dir + 1 : val;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		ds_log_record(p->src, p->name, "error", "mkdir %s: errno %d",
			      dir, errno);
}

/* True if list (space-separated flags) holds flag's name with any value;
 * *same tells whether the value matches. */
static bool has_flag(const char *list, const char *flag, bool *same)
{
	const char *eq = strchr(flag, '=');
	size_t nlen = eq ? (size_t)(eq - flag) : strlen(flag);
	const char *p;
	bool found = false;

	*same = false;
	for (p = list; (p = strstr(p, "--")) != NULL; p += 2) {
		if ((p == list || p[-1] == ' ') && strncmp(p, flag, nlen) == 0 &&
		    (p[nlen] == '=' || p[nlen] == ' ' || p[nlen] == '\0')) {
			size_t vlen = strcspn(p, " ");

			found = true;
			/* The last occurrence wins in flag parsers. */
			*same = vlen == strlen(flag) &&
				strncmp(p, flag, vlen) == 0;
		}
	}
	return found;
}

void ds_pins_apply(void)
{
	DS_SITE(site, DS_SRC_ENV, "setenv");
	bool cache = ds_cfg.algo_cache[0] != '\0';
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(pins); i++) {
		const struct pin *p = &pins[i];
		const char *cur = getenv(p->name);
		char val[DS_PATH_MAX + 64];
		bool act = ds_enforce(p->src);

		if (!ds_watch(p->src))
			continue;
		if ((p->profile == PROFILE_DEFAULT &&
		     ds_cfg.profile != DS_PROFILE_DEFAULT) ||
		    (p->profile == PROFILE_BI &&
		     ds_cfg.profile != DS_PROFILE_BATCH_INVARIANT))
			continue;
		if ((p->when == PIN_NO_CACHE && cache) ||
		    (p->when == PIN_WITH_CACHE && !cache) ||
		    (p->when == PIN_IF_WORKSPACE && !ds_cfg.cublas_workspace))
			continue;
		if (!expand_value(p->value, val, sizeof(val))) {
			ds_log_record(p->src, p->name, "error",
				      "%s: value too long, not set", p->name);
			continue;
		}
		if (p->kind == PIN_APPEND) {
			bool same = false;
			bool found = cur && has_flag(cur, val, &same);
			char *joined;
			size_t n;

			if (found && same) {
				if (ds_cfg.lineage[0] == '\0')
					ds_log_record(p->src, p->name, "kept",
					      "%s already holds %s", p->name,
					      val);
				continue;
			}
			if (!act) {
				ds_log_record(p->src, p->name, "would-pin",
					      "%s: would append %s%s", p->name,
					      val,
					      found ? " over a contrary flag" : "");
				continue;
			}
			if (p->mkdir)
				make_dir(p, val);
			n = (cur ? strlen(cur) + 1 : 0) + strlen(val) + 1;
			joined = malloc(n);
			if (joined == NULL)
				continue;
			ds_fmt(joined, n, "%s%s%s", cur ? cur : "",
			       cur && *cur ? " " : "", val);
			setenv(p->name, joined, 1);
			free(joined);
			ds_log_record(p->src, p->name,
				      found ? "overridden" : "pinned",
				      "%s += %s (%s)", p->name, val, p->why);
			continue;
		}
		if (cur != NULL) {
			/* Children inherit the pins: only the first process of
			 * the run says what it found. */
			if (ds_cfg.lineage[0] == '\0')
				ds_event(&site, "kept", "%s=%s already set",
					 p->name, cur);
			continue;
		}
		if (p->kind == PIN_DERIVED)
			derived_value(p, val, sizeof(val));
		if (!act) {
			ds_log_record(p->src, p->name, "would-pin", "%s=%s (%s)",
				      p->name, val, p->why);
			continue;
		}
		if (p->mkdir)
			make_dir(p, val);
		setenv(p->name, val, 0);
		ds_log_record(p->src, p->name, "pinned", "%s=%s (%s)", p->name,
			      val, p->why);
	}
}
