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
 * "would-pin".  Sources: research/cpu.md and research/gpu.md §7-8.
 */
#include "detshim.h"

#include <stdlib.h>
#include <string.h>

enum pin_kind {
	PIN_SET,       /* set to value unless already set */
	PIN_DERIVED,   /* value derived from the root key */
	PIN_APPEND,    /* append a --flag=value to a flag list */
};

struct pin {
	const char *name;      /* variable */
	const char *value;     /* value, or flag "--name=value" for PIN_APPEND */
	enum pin_kind kind;
	enum ds_source src;    /* switch that turns the row off */
	const char *why;       /* one-line reason, written to the log */
};

static const struct pin pins[] = {
	{ "PYTHONHASHSEED", NULL, PIN_DERIVED, DS_SRC_ENV,
	  "str/bytes hash secret and set order (cpu.md 2.2)" },
	{ "CUBLAS_WORKSPACE_CONFIG", ":4096:8", PIN_SET, DS_SRC_CUBLAS,
	  "fixed cuBLAS workspace (gpu.md 3.1)" },
	{ "TF_DETERMINISTIC_OPS", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "TensorFlow op determinism (gpu.md 8.2)" },
	{ "TF_CUDNN_DETERMINISTIC", "1", PIN_SET, DS_SRC_FRAMEWORK,
	  "TensorFlow 1.14-2.0 cuDNN determinism (gpu.md 8.2)" },
	{ "XLA_FLAGS", "--xla_gpu_deterministic_ops=true", PIN_APPEND,
	  DS_SRC_FRAMEWORK, "XLA/JAX deterministic GPU ops (gpu.md 8.3)" },
	{ "NCCL_ALGO", "Ring", PIN_SET, DS_SRC_NCCL,
	  "one all-reduce algorithm for every size (gpu.md 7.2)" },
	{ "NCCL_PROTO", "Simple", PIN_SET, DS_SRC_NCCL,
	  "one protocol for every size (gpu.md 7.2)" },
	{ "NCCL_NVLS_ENABLE", "0", PIN_SET, DS_SRC_NCCL,
	  "NVLink SHARP differs between calls (gpu.md 7.1)" },
	{ "NCCL_COLLNET_ENABLE", "0", PIN_SET, DS_SRC_NCCL,
	  "no in-network reduction (gpu.md 7.2)" },
	{ "NCCL_TUNER_PLUGIN", "none", PIN_SET, DS_SRC_NCCL,
	  "no external tuner (gpu.md 7.2)" },
};

static void derived_value(const struct pin *p, char *buf, size_t cap)
{
	struct ds_key root;
	uint64_t h;

	/* Keyed by the root (seed and rank), not the process: every process
	 * of the run hashes alike, as with a user-set PYTHONHASHSEED.  Ten
	 * digits always, so the environment size never varies with the seed
	 * (address layout depends on it: cpu.md §1.7). */
	ds_key_root(&root, ds_cfg.seed, ds_cfg.rank_given, ds_cfg.rank);
	h = ds_key_hash64(&root, (uint64_t)DS_SRC_ENV, (uintptr_t)p->name[0]);
	ds_fmt(buf, cap, "%llu",
	       (unsigned long long)(1000000000u + h % 3294967295u));
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
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(pins); i++) {
		const struct pin *p = &pins[i];
		const char *cur = getenv(p->name);
		char val[256];
		bool act = ds_enforce(p->src);

		if (!ds_watch(p->src))
			continue;
		if (p->kind == PIN_APPEND) {
			bool same = false;
			bool found = cur && has_flag(cur, p->value, &same);
			char *joined;
			size_t n;

			if (found && same) {
				if (ds_cfg.lineage[0] == '\0')
					ds_log_record(p->src, p->name, "kept",
					      "%s already holds %s", p->name,
					      p->value);
				continue;
			}
			if (!act) {
				ds_log_record(p->src, p->name, "would-pin",
					      "%s: would append %s%s", p->name,
					      p->value,
					      found ? " over a contrary flag" : "");
				continue;
			}
			n = (cur ? strlen(cur) + 1 : 0) + strlen(p->value) + 1;
			joined = malloc(n);
			if (joined == NULL)
				continue;
			ds_fmt(joined, n, "%s%s%s", cur ? cur : "",
			       cur && *cur ? " " : "", p->value);
			setenv(p->name, joined, 1);
			free(joined);
			ds_log_record(p->src, p->name,
				      found ? "overridden" : "pinned",
				      "%s += %s (%s)", p->name, p->value, p->why);
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
		else
			ds_fmt(val, sizeof(val), "%s", p->value);
		if (!act) {
			ds_log_record(p->src, p->name, "would-pin", "%s=%s (%s)",
				      p->name, val, p->why);
			continue;
		}
		setenv(p->name, val, 0);
		ds_log_record(p->src, p->name, "pinned", "%s=%s (%s)", p->name,
			      val, p->why);
	}
}
