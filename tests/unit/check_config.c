/* check_config.c - seed parsing, the environment table, the config file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_detshim.h"

struct seed_case {
	const char *in;
	int err;
	uint64_t want;
};

static const struct seed_case seed_cases[] = {
	{ "0", 0, 0 },
	{ "42", 0, 42 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "0x0", 0, 0 },
	{ "0xdeadBEEF", 0, 0xdeadbeef },
	{ "0XFFFFFFFFFFFFFFFF", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "0x10000000000000000", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "abc", -EINVAL, 0 },
	{ "42x", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ " 42", -EINVAL, 0 },
	{ "42 ", -EINVAL, 0 },
	{ "0x", -EINVAL, 0 },
	{ "1e3", -EINVAL, 0 },
};

START_TEST(test_parse_seed_table)
{
	const struct seed_case *c = &seed_cases[_i];
	uint64_t v = 12345;
	int e = ds_parse_seed(c->in, &v);

	ck_assert_msg(e == c->err, "'%s': got %d want %d", c->in, e, c->err);
	if (c->err == 0)
		ck_assert_msg(v == c->want, "'%s' parsed wrong", c->in);
	else
		ck_assert_msg(v == 12345, "'%s': output written on error", c->in);
}
END_TEST

START_TEST(test_parse_seed_null)
{
	uint64_t v;

	ck_assert_int_eq(ds_parse_seed(NULL, &v), -EINVAL);
}
END_TEST

static int from_env(struct ds_config *c, char *err, size_t n, ...)
{
	char *env[32];
	va_list ap;
	int i = 0;

	va_start(ap, n);
	while (i < 31 && (env[i] = va_arg(ap, char *)) != NULL)
		i++;
	va_end(ap);
	env[i] = NULL;
	return ds_config_from_env(c, env, err, n);
}

START_TEST(test_defaults)
{
	struct ds_config c;
	char err[256];
	int i;

	ck_assert_int_eq(from_env(&c, err, sizeof(err), NULL), 0);
	ck_assert(c.seed == DS_DEFAULT_SEED);
	ck_assert(!c.seed_given);
	ck_assert_int_eq(c.policy, DS_POLICY_ENFORCE);
	ck_assert_int_eq(c.seed_mode, DS_SEED_MIX);
	for (i = 0; i < DS_SRC_COUNT; i++)
		ck_assert(c.source_on[i]);
	ck_assert_str_eq(c.log_path, "");
	ck_assert(!c.rank_given);
}
END_TEST

START_TEST(test_env_seed_and_policy)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_SEED=0x2a",
				  "DETSHIM_POLICY=warn", "DETSHIM_SEED_MODE=override",
				  "DETSHIM_LOG=/tmp/x-%p.log", NULL), 0);
	ck_assert(c.seed == 42 && c.seed_given);
	ck_assert_int_eq(c.policy, DS_POLICY_WARN);
	ck_assert_int_eq(c.seed_mode, DS_SEED_OVERRIDE);
	ck_assert_str_eq(c.log_path, "/tmp/x-%p.log");
}
END_TEST

START_TEST(test_env_bad_seed_names_variable)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_SEED=42x", NULL),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "DETSHIM_SEED"));
	ck_assert_ptr_nonnull(strstr(err, "42x"));
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(test_env_overflow_seed)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_SEED=99999999999999999999", NULL),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "64 bits"));
}
END_TEST

START_TEST(test_env_empty_seed)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_SEED=", NULL),
			 -EINVAL);
}
END_TEST

START_TEST(test_env_bad_policy)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_POLICY=loud",
				  NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "DETSHIM_POLICY"));
}
END_TEST

START_TEST(test_env_policy_read_first)
{
	struct ds_config c;
	char err[256];

	/* The policy is known even when a later variable is bad, so that
	 * init can choose between exit 2 and a warning. */
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_SEED=zz",
				  "DETSHIM_POLICY=warn", NULL), -EINVAL);
	ck_assert_int_eq(c.policy, DS_POLICY_WARN);
}
END_TEST

START_TEST(test_env_bad_mode_and_bool)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_SEED_MODE=maybe", NULL), -EINVAL);
	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_ENV_PINS=perhaps", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "DETSHIM_ENV_PINS"));
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_ENV_PINS=off",
				  NULL), 0);
	ck_assert(!c.env_pins);
}
END_TEST

START_TEST(test_env_rank_order)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err), "LOCAL_RANK=3",
				  "RANK=5", NULL), 0);
	ck_assert(c.rank_given && c.rank == 5);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "SLURM_PROCID=7", NULL), 0);
	ck_assert(c.rank == 7);
	/* Another tool's variable that is not a clean integer is ignored
	 * (init.c logs it), and the next one is used. */
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "RANK=x", NULL), 0);
	ck_assert(!c.rank_given);
	ck_assert_str_eq(c.rank_ignored, "RANK");
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "RANK=node-1",
				  "LOCAL_RANK=2", NULL), 0);
	ck_assert(c.rank_given && c.rank == 2);
	ck_assert_str_eq(c.rank_ignored, "RANK");
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "RANK=4", NULL), 0);
	ck_assert_ptr_null(c.rank_ignored);
	ck_assert_str_eq(c.rank_var, "RANK");
	/* The MPI ranks before Slurm's, LOCAL_RANK last (config.c). */
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "LOCAL_RANK=1",
				  "SLURM_PROCID=2", "PMI_RANK=3",
				  "OMPI_COMM_WORLD_RANK=4", NULL), 0);
	ck_assert(c.rank == 4);
	ck_assert_str_eq(c.rank_var, "OMPI_COMM_WORLD_RANK");
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "LOCAL_RANK=1",
				  "SLURM_PROCID=2", "PMI_RANK=3", NULL), 0);
	ck_assert(c.rank == 3);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "LOCAL_RANK=1",
				  "SLURM_PROCID=2", NULL), 0);
	ck_assert(c.rank == 2);
	ck_assert_str_eq(c.rank_var, "SLURM_PROCID");
}
END_TEST

START_TEST(test_env_lineage)
{
	struct ds_config c;
	char err[256];
	char var[100];
	struct ds_key k;
	char hex[65];

	ds_key_root(&k, 1, false, 0);
	ds_key_to_hex(&k, hex);
	snprintf(var, sizeof(var), "%s=%s", DS_LINEAGE_VAR, hex);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), var, NULL), 0);
	ck_assert_str_eq(c.lineage, hex);
	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  DS_LINEAGE_VAR "=nothex", NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, DS_LINEAGE_VAR));
	/* Exactly the form ds_key_to_hex writes: 64 lower-case digits. */
	hex[0] = 'A';
	snprintf(var, sizeof(var), "%s=%s", DS_LINEAGE_VAR, hex);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), var, NULL), -EINVAL);
	hex[0] = '0';
	snprintf(var, sizeof(var), "%s=%.63s", DS_LINEAGE_VAR, hex);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), var, NULL), -EINVAL);
	snprintf(var, sizeof(var), "%s=%s0", DS_LINEAGE_VAR, hex);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), var, NULL), -EINVAL);
}
END_TEST

/* Every name of each enum table parses to its index, through the
 * variable; a bad value names the variable, what it is and the names. */
START_TEST(test_env_enum_names)
{
	static const struct {
		const char *var;
		const char *const *names;
		size_t off;
		const char *bad_msg;
	} enums[] = {
		{ "DETSHIM_POLICY", ds_policy_names,
		  offsetof(struct ds_config, policy),
		  "DETSHIM_POLICY: invalid policy 'x' (expected enforce, warn or "
		  "off)" },
		{ "DETSHIM_SEED_MODE", ds_seed_mode_names,
		  offsetof(struct ds_config, seed_mode),
		  "DETSHIM_SEED_MODE: invalid seed mode 'x' (expected mix, "
		  "override or respect)" },
		{ "DETSHIM_CUDNN_CHOICE", ds_cudnn_choice_names,
		  offsetof(struct ds_config, cudnn_choice),
		  "DETSHIM_CUDNN_CHOICE: invalid cuDNN choice 'x' (expected "
		  "first or any)" },
		{ "DETSHIM_PROFILE", ds_profile_names,
		  offsetof(struct ds_config, profile),
		  "DETSHIM_PROFILE: invalid profile 'x' (expected default or "
		  "batch-invariant)" },
	};
	struct ds_config c;
	char err[256], var[64];
	size_t i;
	int j;

	for (i = 0; i < sizeof(enums) / sizeof(enums[0]); i++) {
		ck_assert_str_eq(ds_config_var(enums[i].off), enums[i].var);
		for (j = 0; enums[i].names[j]; j++) {
			snprintf(var, sizeof(var), "%s=%s", enums[i].var,
				 enums[i].names[j]);
			ck_assert_int_eq(from_env(&c, err, sizeof(err), var,
						  NULL), 0);
			ck_assert_int_eq(*(int *)((char *)&c + enums[i].off), j);
		}
		ck_assert_int_ge(j, 2);
		snprintf(var, sizeof(var), "%s=x", enums[i].var);
		ck_assert_int_eq(from_env(&c, err, sizeof(err), var, NULL),
				 -EINVAL);
		ck_assert_str_eq(err, enums[i].bad_msg);
	}
}
END_TEST

/* log.level was parsed and never used: it is gone, and whoever still
 * sets it is told so, like any bad value. */
/* The rows read only the entries the first pass keeps (DETSHIM_* and the
 * rank variables), and an environment with more of those than the pass
 * holds is read whole: either way every variable is found. */
START_TEST(test_env_large_environments)
{
	static char names[300][40];
	char *env[310];
	struct ds_config c;
	char err[256];
	size_t i, n = 0, extra;

	for (extra = 10; extra <= 200; extra += 190) {
		n = 0;
		for (i = 0; i < 80; i++) {
			snprintf(names[n], sizeof(names[n]), "PATHLIKE_%zu=x", i);
			env[n] = names[n];
			n++;
		}
		for (i = 0; i < extra; i++) {
			snprintf(names[n], sizeof(names[n]),
				 "DETSHIM_UNKNOWN_%zu=1", i);
			env[n] = names[n];
			n++;
		}
		env[n++] = (char *)"RANKING=9";
		env[n++] = (char *)"LOCAL_RANK=3";
		env[n++] = (char *)"DETSHIM_SEED=77";
		env[n++] = (char *)"DETSHIM_POLICY=warn";
		env[n] = NULL;
		ck_assert_int_eq(ds_config_from_env(&c, env, err, sizeof(err)), 0);
		ck_assert_uint_eq(c.seed, 77);
		ck_assert_int_eq(c.policy, DS_POLICY_WARN);
		ck_assert(c.rank_given);
		ck_assert_uint_eq(c.rank, 3);
	}
}
END_TEST

/* The programs left alone: default list, replaced, extended, emptied;
 * matched by base name only. */
START_TEST(test_secret_programs)
{
	static const char *const bad[] = {
		"DETSHIM_SECRET_PROGRAMS=/usr/bin/ssh",
		"DETSHIM_SECRET_PROGRAMS=,ssh", "DETSHIM_SECRET_PROGRAMS=ssh,",
		"DETSHIM_SECRET_PROGRAMS=ssh,,gpg",
		"DETSHIM_SECRET_PROGRAMS=ssh gpg",
		"DETSHIM_SECRET_PROGRAMS=+,x",
	};
	struct ds_config c;
	char err[256];
	size_t i;

	ck_assert_int_eq(from_env(&c, err, sizeof(err), NULL), 0);
	ck_assert(ds_config_secret_program(&c, "/usr/bin/ssh-keygen"));
	ck_assert(ds_config_secret_program(&c, "ssh"));
	ck_assert(ds_config_secret_program(&c, "keytool"));
	ck_assert(!ds_config_secret_program(&c, "ssh-keygen2"));
	ck_assert(!ds_config_secret_program(&c, "/usr/bin/python3"));
	ck_assert(!ds_config_secret_program(&c, "/usr/bin/"));
	ck_assert(!ds_config_secret_program(&c, ""));

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_SECRET_PROGRAMS=mykeys,tok", NULL), 0);
	ck_assert(ds_config_secret_program(&c, "./mykeys"));
	ck_assert(ds_config_secret_program(&c, "tok"));
	ck_assert(!ds_config_secret_program(&c, "ssh-keygen"));

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_SECRET_PROGRAMS=+mykeys", NULL), 0);
	ck_assert(ds_config_secret_program(&c, "mykeys"));
	ck_assert(ds_config_secret_program(&c, "gpg"));

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_SECRET_PROGRAMS=none", NULL), 0);
	ck_assert(!ds_config_secret_program(&c, "ssh-keygen"));
	ck_assert_str_eq(c.secret_programs, "");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(from_env(&c, err, sizeof(err), bad[i], NULL),
				 -EINVAL);
		ck_assert_msg(strstr(err, "DETSHIM_SECRET_PROGRAMS: invalid "
				      "program list") != NULL, "%s: %s", bad[i],
			      err);
	}
}
END_TEST

START_TEST(test_env_log_level_removed)
{
	struct ds_config c;
	char err[256];

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_LOG_LEVEL=info", NULL), -EINVAL);
	ck_assert_str_eq(err, "DETSHIM_LOG_LEVEL: no longer supported: it "
			      "never had an effect (remove it)");
	/* Under policy warn it is a warning, as for every bad value. */
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_POLICY=warn",
				  "DETSHIM_LOG_LEVEL=debug", NULL), -EINVAL);
	ck_assert_int_eq(c.policy, DS_POLICY_WARN);
	/* Other names detshim does not know are still ignored. */
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_NO_SUCH=1",
				  NULL), 0);
}
END_TEST

/* The accessor detrun and the fuzz target use instead of their own lists
 * of variable names. */
START_TEST(test_config_var_names)
{
	size_t i, j;

	ck_assert_str_eq(ds_config_var(offsetof(struct ds_config, seed)),
			 "DETSHIM_SEED");
	ck_assert_str_eq(ds_config_var(offsetof(struct ds_config, config_path)),
			 "DETSHIM_CONFIG");
	ck_assert_str_eq(ds_config_var(offsetof(struct ds_config, log_path)),
			 "DETSHIM_LOG");
	ck_assert_str_eq(ds_config_var(offsetof(struct ds_config, algo_cache)),
			 "DETSHIM_ALGO_CACHE");
	ck_assert_ptr_null(ds_config_var(offsetof(struct ds_config,
						  alloc_fill_byte)));
	ck_assert_ptr_null(ds_config_var(offsetof(struct ds_config, rank)));
	ck_assert_str_eq(ds_config_var_at(0), "DETSHIM_SEED");
	for (i = 0; ds_config_var_at(i); i++) {
		ck_assert(strncmp(ds_config_var_at(i), "DETSHIM_", 8) == 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ds_config_var_at(i), ds_config_var_at(j));
	}
	ck_assert_uint_ge(i, 15);
}
END_TEST

START_TEST(test_source_names_round_trip)
{
	int i;

	for (i = 0; i < DS_SRC_COUNT; i++)
		ck_assert_int_eq(ds_source_from_name(
					 ds_source_name((enum ds_source)i)), i);
	ck_assert_int_eq(ds_source_from_name("nope"), -1);
	ck_assert_str_eq(ds_source_name(DS_SRC_COUNT), "?");
}
END_TEST

/* ---- config file ---------------------------------------------------- */

static char cfg_path[64];

static void write_cfg(const char *text)
{
	FILE *f;

	strcpy(cfg_path, "/tmp/detshim-cfg-XXXXXX");
	ck_assert_int_ge(mkstemp(cfg_path), 0);
	f = fopen(cfg_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int load_cfg(struct ds_config *c, char *err, size_t n)
{
	char var[128];
	int e;

	snprintf(var, sizeof(var), "DETSHIM_CONFIG=%s", cfg_path);
	e = from_env(c, err, n, var, NULL);
	unlink(cfg_path);
	return e;
}

START_TEST(test_file_full)
{
	struct ds_config c;
	char err[512];

	write_cfg("policy = \"warn\";\nseed = 0x10;\nseed_mode = \"respect\";\n"
		  "log = { path = \"/tmp/a.log\"; first_n = 3; };\n"
		  "sources = { urandom = false; getrandom = true; };\n"
		  "gpu = { algo_cache = \"/tmp/algo\"; cudnn_choice = \"any\";\n"
		  "        cublas_strip_tf32 = true; alloc_fill = true;\n"
		  "        alloc_fill_byte = 255; torch = false; };\n");
	ck_assert_msg(load_cfg(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.policy, DS_POLICY_WARN);
	ck_assert(c.seed == 16);
	ck_assert_int_eq(c.seed_mode, DS_SEED_RESPECT);
	ck_assert_str_eq(c.log_path, "/tmp/a.log");
	ck_assert_uint_eq(c.log_first_n, 3);
	ck_assert(!c.source_on[DS_SRC_URANDOM]);
	ck_assert(c.source_on[DS_SRC_GETRANDOM]);
	ck_assert_str_eq(c.algo_cache, "/tmp/algo");
	ck_assert_int_eq(c.cudnn_choice, DS_CUDNN_ANY);
	ck_assert(c.cublas_strip_tf32 && c.alloc_fill && !c.torch_switches);
	ck_assert_uint_eq(c.alloc_fill_byte, 255);
}
END_TEST

/* The profile row from the file, and ds_config_text: each row's value
 * written back as the file would hold it; the whole length returned
 * whatever room there is; -1 for what no row has. */
START_TEST(test_file_profile_and_text)
{
	struct ds_config c;
	char err[512], buf[64];

	write_cfg("profile = \"batch-invariant\";\nseed = 42;\n"
		  "log = { first_n = 5; };\ngpu = { hash_calls = true; };\n");
	ck_assert_msg(load_cfg(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.profile, DS_PROFILE_BATCH_INVARIANT);
	ck_assert_int_eq(ds_config_text(&c, "profile", buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "batch-invariant");
	ck_assert_int_eq(ds_config_text(&c, "seed", buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "42");
	ck_assert_int_eq(ds_config_text(&c, "log.first_n", buf, sizeof(buf)),
			 1);
	ck_assert_str_eq(buf, "5");
	ck_assert_int_eq(ds_config_text(&c, "gpu.hash_calls", buf,
					sizeof(buf)), 4);
	ck_assert_str_eq(buf, "true");
	ck_assert_int_eq(ds_config_text(&c, "gpu.torch_fill", buf,
					sizeof(buf)), 5);
	ck_assert_str_eq(buf, "false");
	ck_assert_int_eq(ds_config_text(&c, "policy", buf, 4), 7);
	ck_assert_str_eq(buf, "enf");
	ck_assert_int_eq(ds_config_text(&c, "policy", NULL, 0), 7);
	ck_assert_int_eq(ds_config_text(&c, "gpu.algo_cache", buf,
					sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(ds_config_text(&c, "nope", buf, sizeof(buf)), -1);
	ck_assert_int_eq(ds_config_text(&c, "log.level", buf, sizeof(buf)),
			 -1);
	ck_assert_int_eq(ds_config_text(&c, "DETSHIM_PROFILE", buf,
					sizeof(buf)), -1);
	ck_assert_int_eq(ds_config_text(&c, NULL, buf, sizeof(buf)), -1);
	ds_config_defaults(&c);
	ck_assert_int_eq(ds_config_text(&c, "profile", buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "default");
	write_cfg("profile = \"fast\";\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "profile: invalid profile 'fast' (expected "
			      "default or batch-invariant)") != NULL, "%s",
		      err);
}
END_TEST

START_TEST(test_file_env_wins)
{
	struct ds_config c;
	char err[512];
	char var[128];

	write_cfg("seed = 1;\n");
	snprintf(var, sizeof(var), "DETSHIM_CONFIG=%s", cfg_path);
	ck_assert_int_eq(from_env(&c, err, sizeof(err), var, "DETSHIM_SEED=2",
				  NULL), 0);
	unlink(cfg_path);
	ck_assert(c.seed == 2);
}
END_TEST

START_TEST(test_file_syntax_error_names_line)
{
	struct ds_config c;
	char err[512];
	char want[80];

	write_cfg("seed = 1;\n\npolicy = \"warn\"\nbroken here;\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4", cfg_path);
	ck_assert_msg(strstr(err, want) != NULL, "got: %s", err);
}
END_TEST

START_TEST(test_file_unknown_key_names_line)
{
	struct ds_config c;
	char err[512];

	write_cfg("seed = 1;\nsede = 2;\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, ":2: sede: unknown setting") != NULL, "got: %s",
		      err);
}
END_TEST

START_TEST(test_file_log_level_removed)
{
	struct ds_config c;
	char err[512];

	write_cfg("log = {\n  path = \"\";\n  level = \"info\";\n};\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, ":3: log.level: no longer supported: it never "
			      "had an effect (remove it)") != NULL, "got: %s", err);
}
END_TEST

/* libconfig keeps an integer without the L suffix in 32 bits: a larger
 * one is refused, never run with its truncated value. */
START_TEST(test_file_seed_beyond_32_bits)
{
	static const char *const refused[] = {
		"seed = 4294967296;\n", "seed = 0x123456789;\n",
		"seed = 0x80000000;\n", "seed = 1;\nlog = { first_n = 4294967297; };\n",
	};
	struct ds_config c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		write_cfg(refused[i]);
		ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, "does not fit in 32 bits") != NULL,
			      "%s: got: %s", refused[i], err);
	}
	write_cfg("seed = 4294967296L;\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.seed, UINT64_C(4294967296));
	write_cfg("seed = \"0x123456789\";\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.seed, UINT64_C(0x123456789));
	write_cfg("seed = 2147483647; # seed = 4294967296\n");
	ck_assert_int_eq(load_cfg(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.seed, UINT64_C(2147483647));
}
END_TEST

START_TEST(test_file_bad_values)
{
	static const char *const bad[] = {
		"policy = \"sometimes\";\n", "seed = \"12z\";\n",
		"sources = { nosuch = true; };\n", "sources = { urandom = 1; };\n",
		"gpu = { alloc_fill_byte = 256; };\n", "log = { first_n = -1; };\n",
		"other = { a = 1; };\n", "log = { path = [1, 2]; };\n",
	};
	struct ds_config c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_cfg(bad[i]);
		ck_assert_msg(load_cfg(&c, err, sizeof(err)) == -EINVAL,
			      "accepted: %s", bad[i]);
		ck_assert_msg(strchr(err, ':') != NULL, "no location: %s", err);
	}
}
END_TEST

START_TEST(test_file_missing_and_directory)
{
	struct ds_config c;
	char err[512];

	ck_assert_int_eq(from_env(&c, err, sizeof(err),
				  "DETSHIM_CONFIG=/nonexistent/detshim.conf", NULL),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/detshim.conf"));
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_CONFIG=/tmp",
				  NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert_int_eq(from_env(&c, err, sizeof(err), "DETSHIM_CONFIG=", NULL),
			 -EINVAL);
}
END_TEST

START_TEST(test_shipped_config_parses)
{
	struct ds_config c, d;
	char err[512];

	/* conf/detshim.conf documents the defaults: loading it must change
	 * nothing. Run from the top of the tree (make check does). */
	ck_assert_msg(from_env(&c, err, sizeof(err),
			       "DETSHIM_CONFIG=conf/detshim.conf", NULL) == 0,
		      "%s", err);
	ds_config_defaults(&d);
	strcpy(d.config_path, "conf/detshim.conf");
	ck_assert(memcmp(&c, &d, sizeof(c)) == 0);
}
END_TEST

static Suite *make_config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *t = tcase_create("seed");

	tcase_add_loop_test(t, test_parse_seed_table, 0,
			    sizeof(seed_cases) / sizeof(seed_cases[0]));
	tcase_add_test(t, test_parse_seed_null);
	suite_add_tcase(s, t);
	t = tcase_create("env");
	tcase_add_test(t, test_defaults);
	tcase_add_test(t, test_env_seed_and_policy);
	tcase_add_test(t, test_env_bad_seed_names_variable);
	tcase_add_test(t, test_env_overflow_seed);
	tcase_add_test(t, test_env_empty_seed);
	tcase_add_test(t, test_env_bad_policy);
	tcase_add_test(t, test_env_policy_read_first);
	tcase_add_test(t, test_env_bad_mode_and_bool);
	tcase_add_test(t, test_env_rank_order);
	tcase_add_test(t, test_env_lineage);
	tcase_add_test(t, test_source_names_round_trip);
	tcase_add_test(t, test_env_enum_names);
	tcase_add_test(t, test_env_log_level_removed);
	tcase_add_test(t, test_secret_programs);
	tcase_add_test(t, test_env_large_environments);
	tcase_add_test(t, test_config_var_names);
	suite_add_tcase(s, t);
	t = tcase_create("file");
	tcase_add_test(t, test_file_full);
	tcase_add_test(t, test_file_env_wins);
	tcase_add_test(t, test_file_syntax_error_names_line);
	tcase_add_test(t, test_file_unknown_key_names_line);
	tcase_add_test(t, test_file_log_level_removed);
	tcase_add_test(t, test_file_profile_and_text);
	tcase_add_test(t, test_file_seed_beyond_32_bits);
	tcase_add_test(t, test_file_bad_values);
	tcase_add_test(t, test_file_missing_and_directory);
	tcase_add_test(t, test_shipped_config_parses);
	suite_add_tcase(s, t);
	return s;
}
DS_TEST_SUITE(make_config_suite);
