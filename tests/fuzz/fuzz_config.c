/*
 * fuzz_config.c - fuzz target for everything the shim parses from its
 * user: the config file (libconfig syntax), the environment rows, seeds,
 * the log path template, the lineage key, and the JSON log line built
 * from untrusted strings (docs/measurements/RELIABILITY.md, "Bad input and fuzzing").
 *
 * A libFuzzer-style entry point: LLVMFuzzerTestOneInput.  Link it with
 * tests/fuzz/driver.c (self-contained, gcc, ASan+UBSan: `make check-fuzz`)
 * or with clang's -fsanitize=fuzzer (`make fuzz-libfuzzer`).
 *
 * The first byte picks the parser (mod 6); the rest is its input.
 * Besides "no crash, no sanitizer report", each branch checks the
 * parser's contract and aborts when it breaks:
 *   - an error message is NUL-terminated, inside its buffer, one line;
 *   - an accepted seed prints back to the same value;
 *   - an expanded log path fits its buffer and contains no '%' escape;
 *   - a log line is one line, ends in "}\n", has no control byte and
 *     no byte >= 0x80 (always valid UTF-8 JSON).
 */
#include "detshim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                          \
	do {                                                                \
		if (!(c)) {                                                 \
			fprintf(stderr, "fuzz_config: contract broken: %s "  \
				"(line %d)\n", #c, __LINE__);               \
			abort();                                            \
		}                                                           \
	} while (0)

static void check_err(const char *err, size_t cap)
{
	size_t n = strnlen(err, cap);

	REQUIRE(n < cap);
	REQUIRE(memchr(err, '\n', n) == NULL);
}

/* A NUL-terminated heap copy (so ASan sees reads past the end). */
static char *cstr(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

static void fuzz_seed(const uint8_t *d, size_t n)
{
	char *s = cstr(d, n);
	uint64_t v = 0, w = 0;
	char back[32];

	if (ds_parse_seed(s, &v) == 0) {
		ds_fmt(back, sizeof(back), "%llu", (unsigned long long)v);
		REQUIRE(ds_parse_seed(back, &w) == 0 && w == v);
	}
	free(s);
}

static void fuzz_log_path(const uint8_t *d, size_t n)
{
	/* Two bytes choose the buffer size (1..DS_PATH_MAX) and the pid. */
	size_t cap = n >= 2 ? 1 + ((size_t)d[0] << 8 | d[1]) % DS_PATH_MAX : 16;
	long pid = n >= 3 ? (long)d[2] * 7919 : 1;
	char *tmpl = cstr(d + (n >= 3 ? 3 : n), n >= 3 ? n - 3 : 0);
	char *out = malloc(cap);
	int e;

	if (out == NULL)
		abort();
	e = ds_log_expand_path(tmpl, pid, out, cap);
	REQUIRE(e == 0 || e == -EINVAL || e == -ENAMETOOLONG);
	if (e == 0) {
		REQUIRE(strnlen(out, cap) < cap);
		/* Only "%%" can leave a '%' behind. */
		REQUIRE(strchr(out, '%') == NULL || strstr(tmpl, "%%"));
	}
	free(out);
	free(tmpl);
}

/* Environment rows: the input's lines become the envp; a line without
 * '=' gets a known variable name in front, chosen by its first byte, so
 * the mutator reaches every row quickly.  The names: every variable of
 * the config rows (ds_config_var_at) except DETSHIM_CONFIG, then the
 * variables read beside the rows. */
static const char *env_names[64];
static size_t n_env_names;

static void env_names_init(void)
{
	static const char *const beside[] = { DS_LINEAGE_VAR, "RANK",
					      "LOCAL_RANK", "SLURM_PROCID" };
	const char *v;
	size_t i;

	if (n_env_names)
		return;
	for (i = 0; (v = ds_config_var_at(i)) != NULL; i++)
		if (strcmp(v, "DETSHIM_CONFIG") != 0 &&
		    n_env_names < DS_ARRAY_SIZE(env_names) - DS_ARRAY_SIZE(beside))
			env_names[n_env_names++] = v;
	for (i = 0; i < DS_ARRAY_SIZE(beside); i++)
		env_names[n_env_names++] = beside[i];
}

static void fuzz_env(const uint8_t *d, size_t n)
{
	char *buf = cstr(d, n);
	char *envp[65];
	char *owned[64];
	char err[DS_PATH_MAX + 256];
	struct ds_config cfg;
	size_t ne = 0, no = 0;
	char *line, *save = NULL;

	env_names_init();
	for (line = strtok_r(buf, "\n", &save); line && ne < 64;
	     line = strtok_r(NULL, "\n", &save)) {
		/* Never let the input name a file to read. */
		if (strncmp(line, "DETSHIM_CONFIG", 14) == 0)
			continue;
		if (strchr(line, '=') == NULL) {
			const char *nm = env_names[(unsigned char)line[0] %
						   n_env_names];
			size_t len = strlen(nm) + strlen(line + 1) + 2;
			char *o = malloc(len);

			if (o == NULL)
				abort();
			snprintf(o, len, "%s=%s", nm, line + 1);
			owned[no++] = o;
			line = o;
		}
		envp[ne++] = line;
	}
	envp[ne] = NULL;
	memset(err, 0x5a, sizeof(err));
	if (ds_config_from_env(&cfg, envp, err, sizeof(err)) != 0) {
		check_err(err, sizeof(err));
		REQUIRE(err[0] != '\0');
	} else {
		REQUIRE(cfg.policy <= DS_POLICY_OFF);
		REQUIRE(cfg.seed_mode <= DS_SEED_RESPECT);
		REQUIRE(cfg.cudnn_choice <= DS_CUDNN_ANY);
		REQUIRE(strnlen(cfg.log_path, DS_PATH_MAX) < DS_PATH_MAX);
		REQUIRE(cfg.log_first_n <= 1000000);
	}
	while (no)
		free(owned[--no]);
	free(buf);
}

/* The config file, written to a memfd and read through /proc/self/fd
 * (a regular file for stat, as a real config is). */
static int conf_fd = -1;

static void fuzz_file(const uint8_t *d, size_t n)
{
	char path[64];
	char err[DS_PATH_MAX + 256];
	struct ds_config cfg;
	int e;

	if (conf_fd < 0) {
		conf_fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
		if (conf_fd < 0)
			abort();
	}
	if (ftruncate(conf_fd, 0) != 0 ||
	    pwrite(conf_fd, d, n, 0) != (ssize_t)n)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", conf_fd);
	ds_config_defaults(&cfg);
	memset(err, 0x5a, sizeof(err));
	e = ds_config_load_file(&cfg, path, err, sizeof(err));
	REQUIRE(e == 0 || e == -EINVAL);
	if (e)
		check_err(err, sizeof(err));
	else
		REQUIRE(cfg.alloc_fill_byte <= 255);
}

static void fuzz_key(const uint8_t *d, size_t n)
{
	char *s = cstr(d, n);
	struct ds_key k;
	char hex[65];

	if (ds_key_from_hex(&k, s) == 0) {
		ds_key_to_hex(&k, hex);
		REQUIRE(strlen(hex) == 64);
		REQUIRE(strncasecmp(hex, s, 64) == 0);
	}
	free(s);
}

/* True if s[0..len) is a JSON string body: every backslash starts a
 * whole escape and no bare quote appears. */
static bool json_body_ok(const char *s, size_t len)
{
	size_t i, k;

	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			return false;
		if (s[i] != '\\')
			continue;
		if (++i >= len)
			return false;
		if (strchr("\"\\/bfnrt", s[i]))
			continue;
		if (s[i] != 'u' || i + 4 >= len)
			return false;
		for (k = 1; k <= 4; k++)
			if (!strchr("0123456789abcdefABCDEF", s[i + k]))
				return false;
		i += 4;
	}
	return true;
}

/* Split a log line into its six values and check each string body. */
static bool json_line_ok(const char *line, size_t len)
{
	static const char *const keys[] = { "\"src\":\"", "\"call\":\"",
					    "\"action\":\"",
					    "\"detail\":\"" };
	const char *p = line, *end = line + len - 2; /* before "}\n" */
	size_t k;

	if (strncmp(line, "{\"v\":1,\"seq\":", 13) != 0 || end[0] != '}')
		return false;
	for (k = 0; k < DS_ARRAY_SIZE(keys); k++) {
		const char *q;

		p = strstr(p, keys[k]);
		if (p == NULL)
			return false;
		p += strlen(keys[k]);
		/* The body ends at the first quote not escaped. */
		for (q = p; q < end && *q != '"'; q += (*q == '\\') ? 2 : 1)
			;
		if (q >= end || !json_body_ok(p, (size_t)(q - p)))
			return false;
		p = q;
	}
	return p == end - 1;
}

static void fuzz_log_line(const uint8_t *d, size_t n)
{
	/* Split the input in four untrusted strings at NUL bytes. */
	char *s = cstr(d, n);
	const char *part[4] = { "", "", "", "" };
	size_t i = 0, p = 0;
	char line[1024];
	size_t len, j;

	while (p < 4 && i <= n) {
		part[p++] = s + i;
		i += strlen(s + i) + 1;
	}
	len = ds_log_format_line(line, sizeof(line), (unsigned long)n,
				 (long)n - 7, part[0], part[1], part[2],
				 NULL, part[3]);
	REQUIRE(len < sizeof(line) && len >= 3);
	REQUIRE(strlen(line) == len);
	REQUIRE(line[len - 1] == '\n' && line[len - 2] == '}');
	for (j = 0; j < len - 1; j++)
		REQUIRE((unsigned char)line[j] >= 0x20 &&
			(unsigned char)line[j] < 0x80);
	REQUIRE(json_line_ok(line, len));
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_seed(data + 1, size - 1);
		break;
	case 1:
		fuzz_log_path(data + 1, size - 1);
		break;
	case 2:
		fuzz_env(data + 1, size - 1);
		break;
	case 3:
		fuzz_file(data + 1, size - 1);
		break;
	case 4:
		fuzz_key(data + 1, size - 1);
		break;
	default:
		fuzz_log_line(data + 1, size - 1);
		break;
	}
	return 0;
}
