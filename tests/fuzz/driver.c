/*
 * driver.c - a self-contained, deterministic mutation fuzzer for a
 * libFuzzer-style target (LLVMFuzzerTestOneInput), so that CI needs no
 * clang: built with gcc and ASan+UBSan by `make check-fuzz`.
 *
 *   fuzz_config [-seconds=S] [-runs=N] [-seed=X] [-max_len=L] PATH...
 *
 * PATHs are corpus files or directories of them.  Every corpus input runs
 * once; then, until S seconds or N runs have passed, an input is picked
 * from the pool, mutated (bit flips, byte sets, inserts, deletes, block
 * copies, dictionary tokens, splices with another input) and run.  Inputs
 * that reach a new (parser, length bucket, first-byte) cell join the pool,
 * a cheap stand-in for coverage.  The same seed gives the same sequence of
 * inputs, so a report can be replayed with -seed and -runs.  A crash or a
 * sanitizer report ends the process (the sanitizer prints the stack); the
 * input being run is written first to ./fuzz-crash-input.  Last line:
 * "fuzz: N runs in S s (seed X, pool P), no failure".
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sanitizer/common_interface_defs.h>)
#include <sanitizer/common_interface_defs.h>
#define HAVE_DEATH_CALLBACK 1
#endif
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL_MAX 4096

struct input {
	uint8_t *d;
	size_t n;
};

static struct input pool[POOL_MAX];
static size_t npool;
static uint64_t rng_state;
static size_t max_len = 4096;
static unsigned char seen[6][16][256];

static const char *const dict[] = {
	"seed", "policy", "seed_mode", "env_pins", "log", "path", "first_n",
	"level", "gpu", "algo_cache", "cudnn_choice", "cublas_strip_tf32",
	"alloc_fill", "alloc_fill_byte", "torch", "sources", "getrandom",
	"urandom", "=", ";", "{", "}", "(", ")", "[", "]", ",", "\"", "\\",
	"%p", "%%", "%", "0x", "0X", "18446744073709551615",
	"18446744073709551616", "-1", "true", "false", "on", "off", "yes",
	"enforce", "warn", "mix", "override", "respect", "first", "any",
	"debug", "@include", "DETSHIM_SEED=", "DETSHIM_LOG=", "RANK=",
	"DETSHIM_LINEAGE=", "\n", "\t", "\r", "#", "//", "/*", "*/", "L",
	"1e9", "0.5", "\xff", "\xc3\xa9", "\x00",
};

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a given -seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void add(const uint8_t *d, size_t n)
{
	uint8_t *c;

	if (npool >= POOL_MAX)
		return;
	c = malloc(n ? n : 1);
	if (c == NULL)
		abort();
	memcpy(c, d, n);
	pool[npool].d = c;
	pool[npool].n = n;
	npool++;
}

static const uint8_t *cur;
static size_t cur_n;

/* Write the input that was running when the process died: from the
 * sanitizers' death callback, or from a SIGABRT/SIGSEGV handler. */
static void save_crash(void)
{
	int fd = open("fuzz-crash-input", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (cur_n)
			(void)!write(fd, cur, cur_n);
		close(fd);
	}
}

static void on_fatal(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Run one input; remember the ones that reach a new cell. */
static void run(const uint8_t *d, size_t n, int keep)
{
	unsigned sel, bucket = 0, first;
	size_t m = n;

	cur = d;
	cur_n = n;
	LLVMFuzzerTestOneInput(d, n);
	if (!keep || n == 0)
		return;
	while (m > 1 && bucket < 15) {
		m >>= 1;
		bucket++;
	}
	sel = d[0] % 6;
	first = n > 1 ? d[1] : 0;
	if (!seen[sel][bucket][first]) {
		seen[sel][bucket][first] = 1;
		add(d, n);
	}
}

static size_t mutate(uint8_t *b, size_t n, size_t cap)
{
	int k, rounds = 1 + (int)below(4);

	for (k = 0; k < rounds; k++) {
		size_t at = below(n + 1), len;

		switch (below(8)) {
		case 0: /* bit flip */
			if (n > 1)
				b[1 + below(n - 1)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* byte set */
			if (n > 1)
				b[1 + below(n - 1)] = (uint8_t)rnd();
			break;
		case 2: /* delete a block */
			if (n > 1 && at > 0 && at < n) {
				len = 1 + below(n - at);
				memmove(b + at, b + at + len, n - at - len);
				n -= len;
			}
			break;
		case 3: /* insert random bytes */
			len = 1 + below(8);
			if (n + len <= cap && at > 0) {
				size_t i;

				memmove(b + at + len, b + at, n - at);
				for (i = 0; i < len; i++)
					b[at + i] = (uint8_t)rnd();
				n += len;
			}
			break;
		case 4:
		case 5: { /* insert a dictionary token */
			const char *t = dict[below(sizeof(dict) / sizeof(dict[0]))];

			len = t[0] ? strlen(t) : 1;
			if (n + len <= cap && at > 0) {
				memmove(b + at + len, b + at, n - at);
				memcpy(b + at, t, len);
				n += len;
			}
			break;
		}
		case 6: { /* copy a block inside the input */
			size_t from, to;

			if (n < 3)
				break;
			from = 1 + below(n - 1);
			len = 1 + below(n - from);
			to = 1 + below(n - 1);
			if (n + len <= cap) {
				memmove(b + to + len, b + to, n - to);
				memmove(b + to, b + (from >= to ? from + len : from),
					len);
				n += len;
			}
			break;
		}
		default: { /* splice the tail of another input */
			const struct input *o = &pool[below(npool)];

			if (o->n > 1 && at > 0) {
				size_t from = 1 + below(o->n - 1);

				len = o->n - from;
				if (at + len > cap)
					len = cap - at;
				memcpy(b + at, o->d + from, len);
				n = at + len;
			}
			break;
		}
		}
	}
	/* Sometimes retarget the input at another parser. */
	if (n && below(16) == 0)
		b[0] = (uint8_t)rnd();
	return n;
}

static void load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	buf = malloc(max_len);
	if (buf == NULL)
		abort();
	n = fread(buf, 1, max_len, f);
	fclose(f);
	run(buf, n, 0);
	add(buf, n);
	free(buf);
}

static void load(const char *path)
{
	struct stat st;
	struct dirent **ents;
	int i, k;

	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		load_file(path);
		return;
	}
	k = scandir(path, &ents, NULL, alphasort); /* sorted: reproducible */
	for (i = 0; i < k; i++) {
		char p[4096];

		if (ents[i]->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", path, ents[i]->d_name);
			load_file(p);
		}
		free(ents[i]);
	}
	free(ents);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = 10, t0;
	unsigned long long runs = 0, limit = 0, seed = 1, i;
	uint8_t *buf;
	int a;

	for (a = 1; a < argc; a++) {
		if (strncmp(argv[a], "-seconds=", 9) == 0)
			seconds = atof(argv[a] + 9);
		else if (strncmp(argv[a], "-runs=", 6) == 0)
			limit = strtoull(argv[a] + 6, NULL, 10);
		else if (strncmp(argv[a], "-seed=", 6) == 0)
			seed = strtoull(argv[a] + 6, NULL, 0);
		else if (strncmp(argv[a], "-max_len=", 9) == 0)
			max_len = (size_t)strtoull(argv[a] + 9, NULL, 10);
		else if (argv[a][0] == '-') {
			fprintf(stderr, "fuzz: unknown option %s\n", argv[a]);
			return 2;
		}
	}
	if (max_len < 16)
		max_len = 16;
	rng_state = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
#ifdef HAVE_DEATH_CALLBACK
	__sanitizer_set_death_callback(save_crash);
#endif
	signal(SIGABRT, on_fatal);
	signal(SIGSEGV, on_fatal);
	t0 = now();
	for (a = 1; a < argc; a++)
		if (argv[a][0] != '-')
			load(argv[a]);
	if (npool == 0) {
		static const uint8_t empty[] = { 0 };

		add(empty, 1);
	}
	buf = malloc(max_len);
	if (buf == NULL)
		abort();
	for (i = 0;; i++) {
		const struct input *in = &pool[below(npool)];
		size_t n = in->n < max_len ? in->n : max_len;

		if (limit ? i >= limit : (i % 256 == 0 && now() - t0 > seconds))
			break;
		memcpy(buf, in->d, n);
		n = mutate(buf, n, max_len);
		run(buf, n, 1);
		runs++;
	}
	cur_n = 0;
	printf("fuzz: %llu runs in %.1f s (seed %llu, pool %zu), no failure\n",
	       runs, now() - t0, seed, npool);
	free(buf);
	return 0;
}
