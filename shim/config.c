/*
 * config.c - the environment and the optional libconfig file, turned into
 * one struct ds_config, checked strictly.
 *
 * Precedence: built-in defaults < config file (DETSHIM_CONFIG) < variables.
 * One table of rows (file key, variable, type, field) drives both inputs
 * (docs/DESIGN.md §8.7).  Every error is one line naming the variable or
 * file:line; the caller (init.c) decides between exit 2 and a warning.
 *
 * libconfig is never linked: the file parser dlopens libconfig.so.9 only
 * when a config file is asked for, so libdetshim.so loads on machines
 * without it (ldd shows only glibc).  Nothing here touches process
 * globals (they live in state.c); parsing works on the caller's struct
 * and envp, so the unit tests drive it directly.
 */
#include "detshim.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if DS_HAVE_LIBCONFIG
#include <libconfig.h>
#endif

void ds_config_defaults(struct ds_config *cfg)
{
	int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = DS_DEFAULT_SEED;
	cfg->policy = DS_POLICY_ENFORCE;
	cfg->seed_mode = DS_SEED_MIX;
	for (i = 0; i < DS_SRC_COUNT; i++)
		cfg->source_on[i] = true;
	cfg->env_pins = true;
	cfg->log_first_n = 8;
	cfg->cudnn_choice = DS_CUDNN_FIRST;
	cfg->torch_switches = true;
	cfg->cublas_workspace = true;
	cfg->python_startup = true;
	memcpy(cfg->secret_programs, DS_SECRET_PROGRAMS_DEFAULT,
	       sizeof(DS_SECRET_PROGRAMS_DEFAULT));
}

_Static_assert(sizeof(DS_SECRET_PROGRAMS_DEFAULT) <=
		       sizeof(((struct ds_config *)0)->secret_programs) / 2,
	       "the default list leaves room for additions");

bool ds_config_secret_program(const struct ds_config *cfg, const char *path)
{
	const char *base = strrchr(path, '/');
	const char *p = cfg->secret_programs;
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n == 0)
		return false;
	while (*p) {
		size_t k = strcspn(p, ",");

		if (k == n && strncmp(p, base, n) == 0)
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

bool ds_secure_exec(void)
{
	return getauxval(AT_SECURE) != 0;
}

void ds_config_secure(struct ds_config *cfg)
{
	/* Not secure_getenv: with no trusted variable the defaults would
	 * still pin entropy (DS_DEFAULT_SEED) in a setuid program that never
	 * asked for it, e.g. one reached through /etc/ld.so.preload. */
	ds_config_defaults(cfg);
	cfg->policy = DS_POLICY_OFF;
	cfg->env_pins = false;
}

bool ds_config_asked(char *const *envp, const char *self)
{
	const char *p = NULL;
	size_t n = strlen(self);

	for (; envp && *envp; envp++) {
		if (strncmp(*envp, "DETSHIM_", 8) == 0)
			return true;
		if (strncmp(*envp, "LD_PRELOAD=", 11) == 0)
			p = *envp + 11;
	}
	/* ld.so splits LD_PRELOAD at spaces and colons (ld.so(8)). */
	while (p && *p) {
		size_t len = strcspn(p, " :");
		const char *base = p, *q;

		for (q = p; q < p + len; q++)
			if (*q == '/')
				base = q + 1;
		if (n && (size_t)(p + len - base) == n &&
		    strncmp(base, self, n) == 0)
			return true;
		p += len;
		p += strspn(p, " :");
	}
	return false;
}

int ds_parse_seed(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (*s == '\0')
			return -EINVAL;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The table. */

enum row_type {
	T_SEED,
	T_ENUM,    /* one of the row's names; stored as its index */
	T_BOOL,
	T_UINT,
	T_PATH,
	T_PROGRAMS, /* comma-separated base names; "+a,b" adds to the default */
	T_REMOVED, /* a setting that no longer exists: always an error */
};

struct row {
	const char *key;   /* config file path ("log.path"), NULL if env-only */
	const char *env;   /* variable, NULL if file-only */
	enum row_type type;
	size_t off;        /* field offset in struct ds_config */
	unsigned max;      /* T_UINT upper bound */
	const char *const *names; /* T_ENUM: NULL-terminated (state.c) */
	const char *what;  /* T_ENUM: what the value is, for messages */
};

#define F(field) offsetof(struct ds_config, field)

/* A variable added here that detrun should mirror also gets a row in
 * detrun's flag table (tools/detrun.c says what else). */
static const struct row rows[] = {
	{ "seed", "DETSHIM_SEED", T_SEED, F(seed), 0, NULL, NULL },
	{ "policy", "DETSHIM_POLICY", T_ENUM, F(policy), 0, ds_policy_names,
	  "policy" },
	{ "seed_mode", "DETSHIM_SEED_MODE", T_ENUM, F(seed_mode), 0,
	  ds_seed_mode_names, "seed mode" },
	{ "profile", "DETSHIM_PROFILE", T_ENUM, F(profile), 0,
	  ds_profile_names, "profile" },
	{ NULL, "DETSHIM_CONFIG", T_PATH, F(config_path), 0, NULL, NULL },
	{ "env_pins", "DETSHIM_ENV_PINS", T_BOOL, F(env_pins), 0, NULL, NULL },
	{ "log.path", "DETSHIM_LOG", T_PATH, F(log_path), 0, NULL, NULL },
	{ "log.first_n", "DETSHIM_LOG_FIRST_N", T_UINT, F(log_first_n),
	  1000000, NULL, NULL },
	{ "log.level", "DETSHIM_LOG_LEVEL", T_REMOVED, 0, 0, NULL, NULL },
	{ "gpu.algo_cache", "DETSHIM_ALGO_CACHE", T_PATH, F(algo_cache), 0,
	  NULL, NULL },
	{ "seeds_file", "DETSHIM_SEEDS_FILE", T_PATH, F(seeds_file), 0, NULL,
	  NULL },
	{ "aslr", "DETSHIM_ASLR", T_BOOL, F(aslr), 0, NULL, NULL },
	{ "gpu.cudnn_choice", "DETSHIM_CUDNN_CHOICE", T_ENUM, F(cudnn_choice),
	  0, ds_cudnn_choice_names, "cuDNN choice" },
	{ "gpu.cublas_strip_tf32", "DETSHIM_STRIP_TF32", T_BOOL,
	  F(cublas_strip_tf32), 0, NULL, NULL },
	{ "gpu.alloc_fill", "DETSHIM_ALLOC_FILL", T_BOOL, F(alloc_fill), 0,
	  NULL, NULL },
	{ "gpu.alloc_fill_byte", NULL, T_UINT, F(alloc_fill_byte), 255, NULL,
	  NULL },
	{ "gpu.torch", "DETSHIM_TORCH", T_BOOL, F(torch_switches), 0, NULL,
	  NULL },
	{ "gpu.torch_fill", "DETSHIM_TORCH_FILL", T_BOOL, F(torch_fill), 0,
	  NULL, NULL },
	{ "gpu.cublas_workspace", "DETSHIM_CUBLAS_WORKSPACE", T_BOOL,
	  F(cublas_workspace), 0, NULL, NULL },
	{ "gpu.hash_calls", "DETSHIM_HASH_CALLS", T_BOOL, F(hash_calls), 0,
	  NULL, NULL },
	{ "python_startup", "DETSHIM_PYTHON_STARTUP", T_BOOL,
	  F(python_startup), 0, NULL, NULL },
	{ "batch_check", "DETSHIM_BATCH_CHECK", T_UINT, F(batch_check), 1024,
	  NULL, NULL },
	{ "secret_programs", "DETSHIM_SECRET_PROGRAMS", T_PROGRAMS,
	  F(secret_programs), 0, NULL, NULL },
};

/* T_ENUM stores the index of the name into the enum field. */
_Static_assert(sizeof(enum ds_policy) == sizeof(int) &&
	       sizeof(enum ds_seed_mode) == sizeof(int) &&
	       sizeof(enum ds_cudnn_choice) == sizeof(int) &&
	       sizeof(enum ds_profile) == sizeof(int),
	       "enum fields are int-sized");

/* The row that sets a field (T_REMOVED rows set none). */
static const struct row *row_of(size_t field)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(rows); i++)
		if (rows[i].type != T_REMOVED && rows[i].off == field)
			return &rows[i];
	return NULL;
}

const char *ds_config_var(size_t field)
{
	const struct row *r = row_of(field);

	return r ? r->env : NULL;
}

const char *ds_config_var_at(size_t i)
{
	size_t j;

	for (j = 0; j < DS_ARRAY_SIZE(rows); j++)
		if (rows[j].env && i-- == 0)
			return rows[j].env;
	return NULL;
}

int ds_config_text(const struct ds_config *cfg, const char *key, char *buf,
		   size_t cap)
{
	const struct row *r = NULL;
	const char *field, *v = NULL;
	char num[24];
	size_t i, n;

	for (i = 0; key && i < DS_ARRAY_SIZE(rows); i++)
		if (rows[i].key && rows[i].type != T_REMOVED &&
		    strcmp(rows[i].key, key) == 0)
			r = &rows[i];
	if (r == NULL)
		return -1;
	field = (const char *)cfg + r->off;
	switch (r->type) {
	case T_SEED:
		ds_fmt(num, sizeof(num), "%llu", (unsigned long long)cfg->seed);
		v = num;
		break;
	case T_ENUM: {
		int e = *(const int *)(const void *)field, k;

		for (k = 0; k < e && r->names[k]; k++)
			;
		v = e >= 0 && k == e ? r->names[e] : NULL;
		break;
	}
	case T_BOOL:
		v = *(const bool *)(const void *)field ? "true" : "false";
		break;
	case T_UINT:
		ds_fmt(num, sizeof(num), "%u",
		       *(const unsigned *)(const void *)field);
		v = num;
		break;
	case T_PATH:
	case T_PROGRAMS:
		v = field;
		break;
	case T_REMOVED:
		break;
	}
	if (v == NULL)
		return -1;
	n = strlen(v);
	if (buf && cap) {
		size_t k = n < cap - 1 ? n : cap - 1;

		memcpy(buf, v, k);
		buf[k] = '\0';
	}
	return n > INT_MAX ? INT_MAX : (int)n;
}

static int set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		char *p;

		va_start(ap, fmt);
		ds_vfmt(err, errlen, fmt, ap);
		va_end(ap);
		/* One line, whatever the value quoted in it (a config string
		 * may hold a newline or a terminal escape). */
		for (p = err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return -EINVAL;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int parse_enum(const char *v, const char *const *names)
{
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

/* "a, b or c" */
static void names_text(const char *const *names, char *buf, size_t cap)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; names[i]; i++)
		n += ds_fmt(buf + n, cap - n, "%s%s",
			    i == 0 ? "" : names[i + 1] ? ", " : " or ",
			    names[i]);
}

/* Apply one textual value to a row. `where` names the variable or
 * file:line for the message. */
static int apply_text(struct ds_config *cfg, const struct row *r,
		      const char *v, const char *where, char *err,
		      size_t errlen)
{
	char *field = (char *)cfg + r->off;
	int e;

	switch (r->type) {
	case T_SEED: {
		uint64_t seed;

		e = ds_parse_seed(v, &seed);
		if (e == -ERANGE)
			return set_err(err, errlen,
				       "%s: seed '%s' does not fit in 64 bits",
				       where, v);
		if (e)
			return set_err(err, errlen,
				       "%s: invalid seed '%s' (expected a decimal "
				       "or 0x-hex unsigned 64-bit number)",
				       where, v);
		cfg->seed = seed;
		cfg->seed_given = true;
		return 0;
	}
	case T_ENUM:
		e = parse_enum(v, r->names);
		if (e < 0) {
			char expected[128];

			names_text(r->names, expected, sizeof(expected));
			return set_err(err, errlen,
				       "%s: invalid %s '%s' (expected %s)", where,
				       r->what, v, expected);
		}
		*(int *)field = e;
		return 0;
	case T_BOOL: {
		bool b;

		if (!parse_bool(v, &b))
			return set_err(err, errlen,
				       "%s: invalid boolean '%s' (expected 1/0, "
				       "true/false, yes/no, on/off)", where, v);
		*(bool *)field = b;
		return 0;
	}
	case T_UINT: {
		uint64_t u;

		if (ds_parse_seed(v, &u) || u > r->max)
			return set_err(err, errlen,
				       "%s: invalid number '%s' (expected 0..%u)",
				       where, v, r->max);
		*(unsigned *)field = (unsigned)u;
		return 0;
	}
	case T_PATH:
		if (strlen(v) >= DS_PATH_MAX)
			return set_err(err, errlen, "%s: path too long (%zu bytes)",
				       where, strlen(v));
		strcpy(field, v);
		return 0;
	case T_PROGRAMS: {
		/* "none" or "": no list; "+a,b": the default list and a, b;
		 * else the list itself.  Names are base names: no '/', no
		 * blank, no empty entry. */
		const size_t cap = sizeof(cfg->secret_programs);
		char buf[sizeof(cfg->secret_programs)];
		const char *add = v;
		size_t len = 0, i;

		if (strcmp(v, "none") == 0)
			add = "";
		if (*v == '+') {
			len = strlen(DS_SECRET_PROGRAMS_DEFAULT);
			memcpy(buf, DS_SECRET_PROGRAMS_DEFAULT, len);
			add = v + 1;
			if (*add)
				buf[len++] = ',';
		}
		for (i = 0; add[i]; i++)
			if (add[i] == '/' || add[i] == ' ' || add[i] == '\t' ||
			    (add[i] == ',' && (i == 0 || add[i + 1] == '\0' ||
					       add[i + 1] == ',')))
				return set_err(err, errlen,
					       "%s: invalid program list '%s' "
					       "(expected executable names "
					       "separated by commas, '+name' "
					       "to add to the default list, or "
					       "none)", where, v);
		if (len + strlen(add) >= cap)
			return set_err(err, errlen, "%s: list too long (%zu "
				       "bytes; limit %zu)", where,
				       len + strlen(add), cap - 1);
		memcpy(buf + len, add, strlen(add) + 1);
		memcpy(field, buf, strlen(buf) + 1);
		return 0;
	}
	case T_REMOVED:
		return set_err(err, errlen,
			       "%s: no longer supported: it never had an effect "
			       "(remove it)", where);
	}
	return set_err(err, errlen, "%s: internal error (row type)", where);
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (envp == NULL)
		return NULL;
	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * The rank variables, first to last in precedence: the first one set to a
 * clean integer is mixed into the process key, so that the ranks of one
 * job get distinct streams from one seed (docs/GUIDE.md, "torchrun and
 * Slurm", says why this order).  RANK is what the launcher nearest the
 * program set (torchrun, accelerate, DeepSpeed) and the rank the program
 * itself uses; then the MPI launchers' ranks (Open MPI, MPICH/Hydra and
 * Intel MPI); then Slurm's, which a task of a one-task-per-node step
 * (mpirun or torchrun started by srun) passes to every process on its
 * node; LOCAL_RANK last, unique on one node only.
 */
#define RANK_VAR(name) { name, sizeof(name) - 1 }
static const struct rank_var {
	const char *name;
	size_t len;
} rank_vars[] = {
	RANK_VAR("RANK"),
	RANK_VAR("OMPI_COMM_WORLD_RANK"),
	RANK_VAR("PMI_RANK"),
	RANK_VAR("SLURM_PROCID"),
	RANK_VAR("LOCAL_RANK"),
};
#undef RANK_VAR

/* The rank variable that entry e ("NAME=value") sets, or NULL. */
static const struct rank_var *rank_var_of(const char *e)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(rank_vars); i++) {
		const struct rank_var *r = &rank_vars[i];

		if (e[0] == r->name[0] && strncmp(e, r->name, r->len) == 0 &&
		    e[r->len] == '=')
			return r;
	}
	return NULL;
}

/*
 * The entries the shim can read: every variable name it knows starts with
 * "DETSHIM_", plus the rank variables.  One pass over the environment
 * collects them into out (NULL-terminated, at most cap - 1), so that the
 * row lookups below scan a handful of entries instead of the whole
 * environment once per row (a job's environment can hold hundreds:
 * measured, the per-row scans were a sixth of a C program's start-up
 * instructions under the shim).  Returns out, or envp itself when more
 * entries match than fit.
 */
static char *const *env_mine(char *const *envp, char **out, size_t cap)
{
	char *const *all = envp;
	size_t n = 0;

	if (envp == NULL)
		return NULL;
	for (; *envp; envp++) {
		const char *e = *envp;

		if (!(e[0] == 'D' && strncmp(e, "DETSHIM_", 8) == 0) &&
		    rank_var_of(e) == NULL)
			continue;
		if (n + 1 >= cap)
			return all;
		out[n++] = *envp;
	}
	out[n] = NULL;
	return out;
}

/* The first rank variable of rank_vars that holds a clean integer.  An
 * empty one counts as unset. */
static void read_rank(struct ds_config *cfg, char *const *envp)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(rank_vars); i++) {
		const char *v = env_get(envp, rank_vars[i].name);
		uint64_t r;

		if (v == NULL || *v == '\0')
			continue;
		/* Another tool's variable is input, not an order: a value
		 * that is not a clean integer is ignored (and logged), never
		 * a reason to stop the program. */
		if (ds_parse_seed(v, &r)) {
			if (cfg->rank_ignored == NULL)
				cfg->rank_ignored = rank_vars[i].name;
			continue;
		}
		cfg->rank = r;
		cfg->rank_given = true;
		cfg->rank_var = rank_vars[i].name;
		return;
	}
}

int ds_config_from_env(struct ds_config *cfg, char *const *envp, char *err,
		       size_t errlen)
{
	const struct row *policy = row_of(F(policy));
	const struct row *file = row_of(F(config_path));
	char *mine[64]; /* the entries env_mine keeps */
	const char *v;
	size_t i;
	int e;

	ds_config_defaults(cfg);
	if (err && errlen)
		err[0] = '\0';
	envp = env_mine(envp, mine, DS_ARRAY_SIZE(mine));

	/* The policy first: it decides whether later errors are fatal. */
	v = env_get(envp, policy->env);
	if (v) {
		e = apply_text(cfg, policy, v, policy->env, err, errlen);
		if (e)
			return e;
	}

	/* Then the file, so that the variables below override it. */
	v = env_get(envp, file->env);
	if (v) {
		if (*v == '\0')
			return set_err(err, errlen, "%s: empty path", file->env);
		e = apply_text(cfg, file, v, file->env, err, errlen);
		if (e)
			return e;
		e = ds_config_load_file(cfg, v, err, errlen);
		if (e)
			return e;
	}

	for (i = 0; i < DS_ARRAY_SIZE(rows); i++) {
		if (rows[i].env == NULL || &rows[i] == file)
			continue;
		v = env_get(envp, rows[i].env);
		if (v == NULL)
			continue;
		e = apply_text(cfg, &rows[i], v, rows[i].env, err, errlen);
		if (e)
			return e;
	}

	v = env_get(envp, DS_LINEAGE_VAR);
	if (v) {
		/* The form ds_key_to_hex writes; init.c parses it. */
		if (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64)
			return set_err(err, errlen,
				       "%s: malformed value (64 hex digits "
				       "expected; it is set by detshim for child "
				       "processes and should not be edited)",
				       DS_LINEAGE_VAR);
		strcpy(cfg->lineage, v);
	}
	read_rank(cfg, envp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The config file. */

#if DS_HAVE_LIBCONFIG

struct lc_api {
	void (*init)(config_t *);
	void (*destroy)(config_t *);
	int (*read_file)(config_t *, const char *);
	int (*setting_length)(const config_setting_t *);
	config_setting_t *(*setting_get_elem)(const config_setting_t *,
					       unsigned int);
	long long (*get_int64)(const config_setting_t *);
	int (*get_bool)(const config_setting_t *);
	const char *(*get_string)(const config_setting_t *);
};

#define LC_SONAME "libconfig.so.9"

static int lc_load(struct lc_api *api, char *err, size_t errlen)
{
	char why[256];
	void *h = ds_load_helper_library(LC_SONAME, why, sizeof(why));

	if (h == NULL) {
		set_err(err, errlen, "cannot read config files: %s could not "
			"be loaded (%s); install libconfig (Debian: libconfig9) "
			"or configure with DETSHIM_* variables only", LC_SONAME,
			why);
		return -EINVAL;
	}
	*(void **)&api->init = ds_real_dlsym(h, "config_init");
	*(void **)&api->destroy = ds_real_dlsym(h, "config_destroy");
	*(void **)&api->read_file = ds_real_dlsym(h, "config_read_file");
	*(void **)&api->setting_length = ds_real_dlsym(h, "config_setting_length");
	*(void **)&api->setting_get_elem =
		ds_real_dlsym(h, "config_setting_get_elem");
	*(void **)&api->get_int64 = ds_real_dlsym(h, "config_setting_get_int64");
	*(void **)&api->get_bool = ds_real_dlsym(h, "config_setting_get_bool");
	*(void **)&api->get_string = ds_real_dlsym(h, "config_setting_get_string");
	if (!api->init || !api->destroy || !api->read_file ||
	    !api->setting_length || !api->setting_get_elem ||
	    !api->get_int64 || !api->get_bool || !api->get_string) {
		set_err(err, errlen, "cannot read config files: %s lacks a "
			"needed function", LC_SONAME);
		return -EINVAL;
	}
	return 0;
}

/*
 * Line `line` (1-based) of the file at path into buf, NUL-terminated and
 * cut at cap - 1 bytes.  Raw system calls: no hook is reached.  Returns 0
 * or -errno (-ENOENT: the file has fewer lines).
 */
static int read_line(const char *path, unsigned line, char *buf, size_t cap)
{
	char chunk[4096];
	int fd = ds_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	unsigned at = 1;
	size_t len = 0;
	long n, i;

	if (fd < 0)
		return fd;
	while (at <= line &&
	       (n = ds_syscall6(SYS_read, fd, (long)chunk, sizeof(chunk), 0, 0,
				0)) > 0) {
		for (i = 0; i < n && at <= line; i++) {
			if (chunk[i] == '\n')
				at++;
			else if (at == line && len + 1 < cap)
				buf[len++] = chunk[i];
		}
	}
	ds_sys_close(fd);
	buf[len] = '\0';
	return at > line ? 0 : (len ? 0 : -ENOENT);
}

/*
 * libconfig stores an integer written without the L suffix in 32 bits:
 * `seed = 4294967296;` reaches the shim as 0, and `0x123456789` as
 * 0x23456789 (libconfig 1.5, Debian 12).  The literal is read again from
 * the file and compared with the stored value; a value that did not fit
 * is refused rather than silently changed.  True if the literal is
 * unchanged, or if it cannot be found (then libconfig's value stands).
 */
static bool int_literal_fits(const char *path, unsigned line,
			     const char *name, long long v)
{
	char text[1024];
	const char *p;
	size_t nl = strlen(name);

	if (name[0] == '\0' || read_line(path, line, text, sizeof(text)) != 0)
		return true;
	for (p = strstr(text, name); p; p = strstr(p + 1, name)) {
		const char *q = p + nl;
		unsigned long long u;
		char *end;
		bool neg = false;

		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
				 p[-1] == '-' || p[-1] == '*'))
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=' && *q != ':')
			continue;
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '-' || *q == '+')
			neg = *q++ == '-';
		if (!isdigit((unsigned char)*q))
			return true;
		errno = 0; /* libconfig reads 0x-hex and decimal, never octal */
		u = strtoull(q, &end,
			     q[0] == '0' && (q[1] == 'x' || q[1] == 'X') ? 16
									  : 10);
		if (errno == ERANGE)
			return false;
		if (neg)
			return u <= (unsigned long long)LLONG_MAX + 1 &&
			       (long long)(0 - u) == v;
		return u <= (unsigned long long)LLONG_MAX && (long long)u == v;
	}
	return true;
}

/* Turn a scalar setting into text so one parser serves both inputs. */
static int setting_text(const struct lc_api *api, const config_setting_t *s,
			const char *path, char *buf, size_t cap)
{
	switch (s->type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: {
		long long v = api->get_int64(s);

		if (s->type == CONFIG_TYPE_INT &&
		    !int_literal_fits(path, s->line, s->name ? s->name : "", v))
			return -ERANGE;

		if (v < 0)
			ds_fmt(buf, cap, "-%llu", (unsigned long long)-v);
		else
			ds_fmt(buf, cap, "%llu", (unsigned long long)v);
		return 0;
	}
	case CONFIG_TYPE_BOOL:
		ds_fmt(buf, cap, "%s", api->get_bool(s) ? "true" : "false");
		return 0;
	case CONFIG_TYPE_STRING: {
		const char *v = api->get_string(s);

		if (strlen(v) >= cap)
			return -ENAMETOOLONG;
		strcpy(buf, v);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static int walk(const struct lc_api *api, struct ds_config *cfg,
		const config_setting_t *group, const char *prefix,
		const char *path, char *err, size_t errlen)
{
	int n = api->setting_length(group);
	int i;

	for (i = 0; i < n; i++) {
		const config_setting_t *s =
			api->setting_get_elem(group, (unsigned)i);
		char key[128];
		char where[DS_PATH_MAX + 32];
		char text[DS_PATH_MAX];
		const struct row *r = NULL;
		size_t j;
		int e;

		ds_fmt(key, sizeof(key), "%s%s", prefix, s->name ? s->name : "?");
		ds_fmt(where, sizeof(where), "%s:%u: %s", path,
		       (unsigned)s->line, key);
		if (s->type == CONFIG_TYPE_GROUP) {
			char sub[128];

			if (strcmp(key, "log") && strcmp(key, "gpu") &&
			    strcmp(key, "sources"))
				return set_err(err, errlen, "%s: unknown group",
					       where);
			ds_fmt(sub, sizeof(sub), "%s.", key);
			e = walk(api, cfg, s, sub, path, err, errlen);
			if (e)
				return e;
			continue;
		}
		if (strncmp(key, "sources.", 8) == 0) {
			int src = ds_source_from_name(key + 8);

			if (src < 0)
				return set_err(err, errlen,
					       "%s: unknown source", where);
			if (s->type != CONFIG_TYPE_BOOL)
				return set_err(err, errlen,
					       "%s: expected true or false",
					       where);
			cfg->source_on[src] = api->get_bool(s) != 0;
			continue;
		}
		for (j = 0; j < DS_ARRAY_SIZE(rows); j++)
			if (rows[j].key && strcmp(rows[j].key, key) == 0)
				r = &rows[j];
		if (r == NULL)
			return set_err(err, errlen, "%s: unknown setting", where);
		e = setting_text(api, s, path, text, sizeof(text));
		if (e == -ERANGE)
			return set_err(err, errlen,
				       "%s: the number does not fit in 32 bits "
				       "as libconfig reads it: write it with "
				       "the L suffix (4294967296L) or as a "
				       "string (\"4294967296\")", where);
		if (e)
			return set_err(err, errlen,
				       "%s: expected a number, boolean or string",
				       where);
		e = apply_text(cfg, r, text, where, err, errlen);
		if (e)
			return e;
	}
	return 0;
}

/*
 * Line of the first libconfig "@include" directive in the file, 0 if none,
 * -errno if unreadable.  libconfig follows @include to any path, with no
 * size limit and into devices or FIFOs that never end; the shim reads only
 * the file it was given (docs/measurements/RELIABILITY.md), so includes are refused.
 * The directive is "@include" first on a line after blanks (libconfig's
 * scanner); a comment or string holding the word is a false alarm only
 * at the start of a line.  Raw system calls: no hook is reached.
 */
static int find_include(const char *path)
{
	static const char word[] = "@include";
	char buf[4096];
	int fd = ds_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	int line = 1, at_start = 1, found = 0;
	size_t match = 0;
	long n, i;

	if (fd < 0)
		return fd;
	while (!found &&
	       (n = ds_syscall6(SYS_read, fd, (long)buf, sizeof(buf), 0, 0,
				0)) > 0) {
		for (i = 0; i < n && !found; i++) {
			char c = buf[i];

			if (match) {
				if (c == word[match]) {
					if (++match == sizeof(word) - 1)
						found = line;
					continue;
				}
				match = 0;
				at_start = 0;
			}
			if (c == '\n') {
				line++;
				at_start = 1;
			} else if (at_start && c == '@') {
				match = 1;
			} else if (c != ' ' && c != '\t' && c != '\r') {
				at_start = 0;
			}
		}
	}
	ds_sys_close(fd);
	return found;
}

int ds_config_load_file(struct ds_config *cfg, const char *path, char *err,
			size_t errlen)
{
	struct lc_api api = { 0 };
	struct stat st;
	config_t c;
	int e;

	/* Check the file before loading libconfig: a missing or unreadable
	 * file is the common mistake and needs no library to report. */
	if (stat(path, &st) != 0)
		return set_err(err, errlen, "DETSHIM_CONFIG: cannot read '%s': %s",
			       path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return set_err(err, errlen,
			       "DETSHIM_CONFIG: '%s' is not a regular file", path);
	if (st.st_size > 1024 * 1024)
		return set_err(err, errlen,
			       "DETSHIM_CONFIG: '%s' is too large (%lld bytes; "
			       "limit 1 MiB)", path, (long long)st.st_size);
	/* The scan opens the file first: an unreadable one is reported here
	 * with its reason (libconfig would report it without). */
	e = find_include(path);
	if (e < 0)
		return set_err(err, errlen, "DETSHIM_CONFIG: cannot read '%s': %s",
			       path, strerror(-e));
	if (e > 0)
		return set_err(err, errlen,
			       "%s:%d: @include is not supported (detshim reads "
			       "only the file DETSHIM_CONFIG names)", path, e);
	e = lc_load(&api, err, errlen);
	if (e)
		return e;
	api.init(&c);
	if (!api.read_file(&c, path)) {
		if (c.error_type == CONFIG_ERR_FILE_IO)
			set_err(err, errlen, "DETSHIM_CONFIG: cannot read '%s'",
				path);
		else
			set_err(err, errlen, "%s:%d: %s",
				c.error_file ? c.error_file : path,
				c.error_line, c.error_text ? c.error_text
							   : "syntax error");
		api.destroy(&c);
		return -EINVAL;
	}
	e = walk(&api, cfg, c.root, "", path, err, errlen);
	api.destroy(&c);
	return e;
}

#else /* !DS_HAVE_LIBCONFIG */

int ds_config_load_file(struct ds_config *cfg, const char *path, char *err,
			size_t errlen)
{
	(void)cfg;
	return set_err(err, errlen,
		       "DETSHIM_CONFIG: cannot read '%s': this detshim was built "
		       "without libconfig; configure with DETSHIM_* variables "
		       "or rebuild with libconfig-dev installed", path);
}

#endif
