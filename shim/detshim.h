/*
 * detshim.h - the internal API shared by every file of the shim.
 *
 * Data flows one way: init.c builds the frozen configuration and the
 * process key once; every hook asks stream.c for bytes keyed by (process
 * key, source, sub-key), asks resolve.c for real symbols, and tells log.c
 * what it did.  Hooks never read the environment (docs/DESIGN.md §3, §8.7).
 *
 * Naming: internals ds_, macros DS_, user variables DETSHIM_*.  Internal
 * predicates return bool; internal actions return 0 or a negative errno.
 */
#ifndef DETSHIM_H
#define DETSHIM_H

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The version comes from the file VERSION (the Makefile passes it). */
#ifndef DS_VERSION
#error "DS_VERSION is not defined: build with make, which reads VERSION"
#endif

/* Mark a symbol the shim interposes.  Everything else is hidden
 * (-fvisibility=hidden); tests/check_exports.sh diffs `nm -D` against the
 * list of DS_EXPORT definitions. */
#define DS_EXPORT __attribute__((visibility("default")))
#define DS_HIDDEN __attribute__((visibility("hidden")))
#define DS_LIKELY(x) __builtin_expect(!!(x), 1)
#define DS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define DS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* Code a fork child runs in its handlers.  A child faults on every text
 * page it touches (fork copies no page table entries of unwritten file
 * mappings), so these few functions share one section, and the linker
 * puts them side by side (GNU ld groups .text.hot.*). */
#define DS_FORK_PATH __attribute__((section(".text.hot.ds_fork")))
/* For code that can run inside a sanitizer runtime's own start-up (its
 * interceptors call dlsym before its shadow memory exists). */
#define DS_NO_SANITIZE __attribute__((no_sanitize("address", "undefined", "thread")))

/* ------------------------------------------------------------------ */
/* Randomness sources.  Each source has its own stream, so the order of
 * calls to one source cannot shift another (docs/DESIGN.md §3.1).
 * Append only: the numeric value is mixed into keys, so renumbering
 * changes every stream. */
enum ds_source {
	DS_SRC_LIBC_RAND = 0,   /* srand/srandom/initstate/random_r seeds */
	DS_SRC_DRAND48,         /* srand48/seed48/lcong48 seeds */
	DS_SRC_GETRANDOM,       /* getrandom(), syscall(SYS_getrandom) */
	DS_SRC_GETENTROPY,      /* getentropy() */
	DS_SRC_ARC4RANDOM,      /* arc4random, _buf, _uniform */
	DS_SRC_URANDOM,         /* reads of /dev/urandom (char 1:9) */
	DS_SRC_RANDOM,          /* reads of /dev/random (char 1:8) */
	DS_SRC_RANDOM_DEVICE,   /* libstdc++ std::random_device */
	DS_SRC_CURAND,          /* cuRAND generator seeds */
	DS_SRC_ENV,             /* derived environment pins (PYTHONHASHSEED) */
	DS_SRC_CUDNN,           /* cuDNN decisions (no bytes; log only) */
	DS_SRC_CUBLAS,          /* cuBLAS / cuBLASLt decisions */
	DS_SRC_DRIVER,          /* CUDA driver: fingerprint, alloc fill */
	DS_SRC_FRAMEWORK,       /* PyTorch at::Context, XLA, TF switches */
	DS_SRC_PROCESS,         /* fork/exec lineage */
	DS_SRC_NCCL,            /* NCCL pins */
	DS_SRC_TORCH,           /* PyTorch ops: replacements, unfixed ops */
	DS_SRC_COUNT
};

/* Stable lower-case name of a source, used in the log and config
 * (state.c holds the names). */
const char *ds_source_name(enum ds_source src);
/* Source for a config/log name; returns -1 if unknown. */
int ds_source_from_name(const char *name);

/* ------------------------------------------------------------------ */
/* Configuration: built once by config.c, then frozen.  The names of the
 * values of each enum below are one NULL-terminated table each, indexed
 * by the enum (state.c); the config parser, the log and detrun use them. */

enum ds_policy {
	DS_POLICY_ENFORCE = 0, /* replace nondeterministic behaviour */
	DS_POLICY_WARN,        /* log only, change nothing */
	DS_POLICY_OFF          /* pass everything through, log nothing */
};
extern const char *const ds_policy_names[];

enum ds_seed_mode {
	DS_SEED_MIX = 0,  /* program's explicit seed mixed with DETSHIM_SEED */
	DS_SEED_OVERRIDE, /* program's explicit seed replaced */
	DS_SEED_RESPECT   /* program's explicit seed kept as is */
};
extern const char *const ds_seed_mode_names[];

enum ds_cudnn_choice {
	DS_CUDNN_FIRST = 0, /* first deterministic plan per op graph */
	DS_CUDNN_ANY        /* only veto nondeterministic engines */
};
extern const char *const ds_cudnn_choice_names[];

/* DETSHIM_PROFILE / profile: what the GPU hooks aim for beyond run-to-run
 * identity.  batch-invariant: one cuBLASLt algorithm per GEMM shape
 * whatever the batch extent, and the environment pins of shim/pins.c
 * marked for it (docs/DESIGN.md §13). */
enum ds_profile {
	DS_PROFILE_DEFAULT = 0,     /* run-to-run identity only */
	DS_PROFILE_BATCH_INVARIANT  /* also the same bits at any batch size */
};
extern const char *const ds_profile_names[];

#define DS_DEFAULT_SEED UINT64_C(0x6465747368696d00) /* "detshim\0" */
#define DS_PATH_MAX 4096

struct ds_config {
	uint64_t seed;                  /* DETSHIM_SEED or DS_DEFAULT_SEED */
	bool seed_given;                /* DETSHIM_SEED was set */
	enum ds_policy policy;          /* DETSHIM_POLICY / policy */
	enum ds_seed_mode seed_mode;    /* DETSHIM_SEED_MODE / seed_mode */
	bool source_on[DS_SRC_COUNT];   /* sources.<name> switches */
	bool env_pins;                  /* set the environment pins */
	char log_path[DS_PATH_MAX];     /* DETSHIM_LOG / log.path; "" = none */
	unsigned log_first_n;           /* log.first_n: events per site */
	char config_path[DS_PATH_MAX];  /* DETSHIM_CONFIG, "" if none */
	char algo_cache[DS_PATH_MAX];   /* DETSHIM_ALGO_CACHE / gpu.algo_cache */
	char seeds_file[DS_PATH_MAX];   /* DETSHIM_SEEDS_FILE / seeds_file */
	bool aslr;                      /* DETSHIM_ASLR / aslr: leave address
					 * randomisation on (aslr.c) */
	enum ds_cudnn_choice cudnn_choice; /* gpu.cudnn_choice */
	enum ds_profile profile;        /* DETSHIM_PROFILE / profile */
	bool cublas_strip_tf32;         /* gpu.cublas_strip_tf32 (opt-in) */
	bool alloc_fill;                /* gpu.alloc_fill (opt-in) */
	unsigned alloc_fill_byte;       /* gpu.alloc_fill_byte, 0..255 */
	bool torch_switches;            /* gpu.torch: answer at::Context */
	bool torch_fill;                /* gpu.torch_fill: keep PyTorch's NaN fill */
	bool cublas_workspace;          /* gpu.cublas_workspace: pin the variable */
	bool hash_calls;                /* gpu.hash_calls: hash each GPU library
					 * call's buffers (cuda_hooks/hash_calls.h) */
	bool python_startup;            /* python_startup: load python/ */
	unsigned batch_check;           /* batch_check: rows the Python module
					 * checks per batched call, 0 = off
					 * (python/_detshim/batch_check.py) */
	char secret_programs[512];      /* secret_programs: executables left alone */
	uint64_t rank;                  /* a rank variable's value (config.c) */
	bool rank_given;                /* one of those was set */
	const char *rank_var;           /* which one, or NULL */
	const char *rank_ignored;       /* the rank variable that was not a clean
					 * integer (ignored, logged), or NULL */
	char lineage[80];               /* DETSHIM_LINEAGE as inherited */
};

/* Fill *cfg with defaults. Pure. */
void ds_config_defaults(struct ds_config *cfg);

/*
 * Build the configuration from an environment block (NULL-terminated
 * "NAME=value" strings) and, if DETSHIM_CONFIG names one, a config file.
 * On error writes one line (no newline) naming the variable or file:line
 * into err and returns -EINVAL; cfg then holds defaults plus what parsed.
 * Thread-compatible; no global state.
 */
int ds_config_from_env(struct ds_config *cfg, char *const *envp, char *err,
		       size_t errlen);

/*
 * The variable (e.g. "DETSHIM_SEED") of the config row that sets the
 * field at byte offset `field` of struct ds_config (offsetof), or NULL if
 * no variable sets it.  Lets detrun name the variables its options
 * mirror without spelling them (tools/detrun.c).  Pure.
 */
const char *ds_config_var(size_t field);
/* The i-th variable of the config rows in table order, NULL past the
 * last (for the fuzz target's list of names).  Pure. */
const char *ds_config_var_at(size_t i);

/*
 * The value of the config row whose file key is `key` (e.g. "profile",
 * "log.first_n"), as a user would write it in the config file
 * ("batch-invariant", "8", "true"), into buf (NUL-terminated, cut at
 * cap - 1; buf may be NULL when cap is 0).  Returns the full length, or
 * -1 for a key no row has.  Pure.
 */
int ds_config_text(const struct ds_config *cfg, const char *key, char *buf,
		   size_t cap);

/* Parse a config file (libconfig syntax) into cfg. Returns 0, -ENOENT/-EACCES
 * (unreadable), -ENOTSUP (built or running without libconfig) or -EINVAL
 * (syntax or value; err names file:line). */
int ds_config_load_file(struct ds_config *cfg, const char *path, char *err,
			size_t errlen);

/* Secure execution (setuid, setgid, file capabilities: AT_SECURE in the
 * auxiliary vector).  The environment then belongs to the caller, not to
 * the program's owner, so the shim trusts none of it. */
bool ds_secure_exec(void);
/* The configuration used under secure execution, and for a process that
 * did not ask (ds_config_asked): defaults with policy off
 * (nothing replaced, no log, no config file, no pins, no lineage).  Reads
 * no environment.  Pure. */
void ds_config_secure(struct ds_config *cfg);

/* True if the process asked for detshim: a DETSHIM_* variable is set, or
 * an LD_PRELOAD entry's file name is self (the shim's own file name).  A
 * shim that arrived any other way (/etc/ld.so.preload, a DT_NEEDED entry)
 * into a process whose environment names neither runs with
 * ds_config_secure()'s configuration.  Pure. */
bool ds_config_asked(char *const *envp, const char *self);

/* Programs whose job is to make secrets (keys, tokens, passwords): the
 * shim leaves them and their children alone unless the user names
 * another list (DETSHIM_SECRET_PROGRAMS / secret_programs).  Executable
 * base names, comma-separated. */
#define DS_SECRET_PROGRAMS_DEFAULT \
	"ssh-keygen,ssh,sshd,ssh-agent,ssh-add,gpg,gpg2,gpg-agent,gpgsm," \
	"openssl,certtool,age,age-keygen,pass,step,vault,certbot,keytool"
/* True if the base name of path (a file name, or a path) is on the list
 * of cfg->secret_programs.  Pure. */
bool ds_config_secret_program(const struct ds_config *cfg, const char *path);

/* Seed parsing: decimal or 0x-hex, full u64, nothing else.  Returns 0 or
 * -EINVAL (empty, junk, sign) or -ERANGE (overflow).  Pure. */
int ds_parse_seed(const char *s, uint64_t *out);

/* The frozen configuration (state.c).  Valid after ds_ensure_init(). */
extern struct ds_config ds_cfg;

/* True if the shim should change behaviour for this source. Hot path. */
static inline bool ds_enforce(enum ds_source src)
{
	return ds_cfg.policy == DS_POLICY_ENFORCE && ds_cfg.source_on[src];
}

/* True if the shim should at least log this source. */
static inline bool ds_watch(enum ds_source src)
{
	return ds_cfg.policy != DS_POLICY_OFF && ds_cfg.source_on[src];
}

/* ------------------------------------------------------------------ */
/* Initialisation and guards (init.c). */

/* Idempotent; safe from any hook, including hooks that run inside other
 * libraries' constructors before ours (docs/CPU_FACTS.md §0.5).  Returns true
 * once the configuration is frozen; false while init is in progress on this
 * thread (re-entry) - callers then take the pass-through path. */
bool ds_ensure_init(void);

/* Thread-local "inside detshim" depth (state.c).  Calls made while it is
 * non-zero go straight to the real function. */
extern __thread int ds_inside __attribute__((tls_model("initial-exec")));

/* Values of ds_init_state (state.c; init.c moves it forward once). */
enum ds_init_state {
	DS_INIT_NONE = 0,  /* nothing done yet */
	DS_INIT_RUNNING,   /* one thread runs ds_ensure_init's work */
	DS_INIT_DONE       /* the configuration is frozen */
};
extern atomic_int ds_init_state;

/* True if the hook should act: init done and not re-entered. */
static inline bool ds_active(void)
{
	if (DS_LIKELY(atomic_load_explicit(&ds_init_state,
					   memory_order_acquire) == DS_INIT_DONE))
		return ds_inside == 0;
	return ds_ensure_init() && ds_inside == 0;
}

/* ------------------------------------------------------------------ */
/* Hooks of libc functions. */

/*
 * The one rule for a libc function the shim cannot find (ds_sym_get
 * returned NULL: a libc without it).  A hook never calls NULL; it
 *  - fails the way the function reports failure, with errno ENOSYS: -1
 *    (ds_libc_missing()) or NULL, or the error number ENOSYS itself for a
 *    function that returns one (posix_spawn);
 *  - where the function cannot fail, returns what the shim serves under
 *    enforce (arc4random, arc4random_buf, arc4random_uniform,
 *    std::random_device), or, for a void function, does nothing.
 */
static inline int ds_libc_missing(void)
{
	errno = ENOSYS;
	return -1;
}

/* Largest single transfer the kernel does (MAX_RW_COUNT on x86-64). */
#define DS_MAX_RW 0x7ffff000UL

/*
 * Would the kernel accept [buf, buf+n) as user memory (access_ok)?  A
 * range that wraps or leaves the user half fails there with EFAULT
 * before anything is written; the shim answers the same instead of
 * writing until it faults.  (A range inside the user half that is not
 * all mapped still faults here where the kernel would return short.)
 * x86-64: 47-bit user space, or 56-bit when the buffer itself lies
 * above it (5-level paging).
 */
static inline bool ds_user_range_ok(const void *buf, size_t n)
{
#if defined(__x86_64__)
	const uintptr_t low = UINT64_C(0x00007ffffffff000);
	const uintptr_t high = UINT64_C(0x00fffffffffff000);
	uintptr_t top = (uintptr_t)buf < low ? low : high;
#elif defined(__aarch64__)
	const uintptr_t top = UINT64_C(0x0010000000000000);
#else
	const uintptr_t top = UINTPTR_MAX;
#endif
	uintptr_t p = (uintptr_t)buf;

	return p < top && n <= top - p;
}

/* ------------------------------------------------------------------ */
/* Keys and streams (stream.c).  Pure, lock-free, async-signal-safe. */

struct ds_key {
	uint32_t w[8]; /* 256-bit ChaCha20 key */
};

/* Root key from the seed (and rank when given). */
void ds_key_root(struct ds_key *out, uint64_t seed, bool rank_given,
		 uint64_t rank);
/* Child key: H(parent, label, n). label e.g. "fork", "exec". */
void ds_key_derive(struct ds_key *out, const struct ds_key *parent,
		   const char *label, uint64_t n);
/* Fixed-width lowercase hex of a key (64 chars + NUL). */
void ds_key_to_hex(const struct ds_key *k, char out[65]);
/* Parse ds_key_to_hex output. Returns 0 or -EINVAL. */
int ds_key_from_hex(struct ds_key *k, const char *hex);

/* Raw keyed bytes: ChaCha20(key, nonce=(stream, sub), offset..offset+len).
 * Byte-position based: reading 3x5 bytes equals reading 5x3 bytes. */
void ds_chacha_bytes(const struct ds_key *key, uint64_t stream_id,
		     uint64_t offset, void *buf, size_t len);

/* 64-bit keyed hash of a word (for seed mixing). */
uint64_t ds_key_hash64(const struct ds_key *key, uint64_t domain, uint64_t x);

/* The process key (state.c) as init.c set it, or as derived since the last fork.
 * Read it through ds_key_current: in a fork child it is the parent's until
 * the child's key is derived at first use. */
extern struct ds_key ds_process_key;
/* The key of this process now.  Derives a pending fork child's key (into
 * *scratch when another caller is storing it) and returns a pointer to
 * the key, which is &ds_process_key or scratch.  Lock-free,
 * async-signal-safe. */
const struct ds_key *ds_key_current(struct ds_key *scratch) DS_FORK_PATH;

/*
 * Fill buf with the next len bytes of the (src, sub) stream of this
 * process.  sub separates independent consumers of one source (e.g. the
 * getrandom request size and flags, so Python's hash-secret draw never
 * shifts its random-module draw).  Concurrent callers each get a distinct,
 * contiguous range; which thread gets which range is scheduling order.
 * Lock-free, async-signal-safe.
 */
void ds_stream_fill(enum ds_source src, uint64_t sub, void *buf, size_t len);
/* Convenience: next 32/64-bit word of the (src, sub) stream. */
uint32_t ds_stream_u32(enum ds_source src, uint64_t sub);
uint64_t ds_stream_u64(enum ds_source src, uint64_t sub);
/* Start a new generation: every stream position counts as 0 again (each
 * is reset at its first use).  O(1). */
void ds_stream_reset(void) DS_FORK_PATH;
/* Next value of a per-process counter that restarts at 0 in a fork child
 * (*counter zero-initialised; the fork and exec ordinals).  Lock-free. */
uint64_t ds_counter_next(atomic_ullong *counter);
/* fork, called from process.c's handlers.  Prepare (parent): derive a
 * pending key now.  Child: the key becomes H(parent key, "fork", ordinal),
 * derived at first use, and every stream and counter restarts at 0 (a
 * few stores, on one page). */
void ds_stream_fork_prepare(void) DS_FORK_PATH;
void ds_stream_fork_child(uint64_t ordinal) DS_FORK_PATH;

/*
 * Seed mixing per configured mode.  mix: H(root key, src, seed), unless
 * rule is non-NULL (the seed is volatile, docs/SEEDS.md: it names the
 * rule that fired, or "learned") - then as override; override: the next
 * word of the (src) override stream of this process; respect: the seed
 * unchanged.  *how names what was done ("mixed", "replaced",
 * "replaced-volatile", "kept").  Reads ds_cfg (mode, seed, rank);
 * override draws from the stream, so it is not pure.
 */
uint64_t ds_seed_apply(enum ds_source src, uint64_t program_seed,
		       const char *rule, const char **how);

/* A seeding call as a hook sees it (provenance.c). */
struct ds_seed_req {
	struct ds_site *site;    /* the hook's site: source and call */
	uint64_t value;          /* the program's seed as a number */
	unsigned width;          /* its bits as the generator takes it */
	uint64_t wmask;          /* mask of the value used, 0 = none */
	bool judge;              /* value may come from a clock (numbers) */
	const char *judge_rule;  /* or the rule already found, else NULL */
	const char *repr;        /* seed_program text; NULL = decimal value */
	const void *caller;      /* return address of the seeding call */
	const char *site_name;   /* or the site, named by the caller */
	const char *what;        /* detail prefix, e.g. "generator=0x..", or NULL */
};
/*
 * Decide a seed: judge it (docs/SEEDS.md), look its site up in the seeds
 * file, apply the seed mode, log one event with seed_program, seed_used,
 * rule and site.  Returns true with *used set when the generator must
 * get *used; false to keep the program's seed (inactive, not watched, or
 * not enforced: then it logs "observed").  Async-signal-safe but for
 * the site's dladdr.
 */
bool ds_seed_decide(const struct ds_seed_req *q, uint64_t *used);
/* The rules alone, on this thread's provenance; writes the rule name. */
bool ds_seed_judge(uint64_t seed, unsigned width, char *rule, size_t cap);
/* "<object>+0x<offset>#<ordinal>" of a return address. */
void ds_seed_site(const void *caller, char *out, size_t cap);
/* At init: the program's name and build id, the seeds file. */
void ds_seed_init(void);
/* The syscall() hook tells provenance what a clock or id call returned. */
void ds_prov_note_syscall(long nr, const long *args, long ret);
/* seccomp (process.c): record the ids before it; then no system call. */
void ds_prov_before_sandbox(void);

/* ------------------------------------------------------------------ */
/* Real symbols (resolve.c): the only file that calls dlsym/dlopen. */

/*
 * A lazily resolved real symbol.  libs == NULL: libc, through RTLD_NEXT.
 * Otherwise libs is the NULL-terminated soname chain of the library that
 * defines it, newest first (e.g. libcublas.so.13, .12, .11); each hook
 * file opens with its chain.  The lookup (resolve.c, ds_resolve_chain)
 * finds the definition the program's own call would have reached: the
 * chain's sonames among the loaded objects, then the global scope after
 * the shim, then every loaded object in load order, so a version no chain
 * lists also works.  A definition inside the shim itself is never taken
 * (calling it would recurse).  src is the source a miss is logged under.
 */
struct ds_sym {
	const char *const *libs; /* soname chain, or NULL for libc */
	const char *name;        /* symbol name */
	enum ds_source src;      /* source of the "missing" log line */
	void *_Atomic ptr;       /* resolved pointer, NULL until found */
	atomic_bool miss_logged; /* the first miss was logged */
	atomic_ulong miss_loads; /* objects loaded so far at the last miss */
};

#define DS_SYM_INIT(libs_, src_, name_) \
	{ (libs_), (name_), (src_), NULL, false, 0 }

/* Resolve-once accessor: one acquire load on the hot path.  Returns NULL
 * if the symbol is loaded nowhere; the first miss is logged under s->src.
 * A miss is looked up again once the process has loaded another object
 * (a libc miss: on every call).  Never loads a library the program did
 * not load. */
void *ds_sym_get_slow(struct ds_sym *s);
static inline void *ds_sym_get(struct ds_sym *s)
{
	void *p = atomic_load_explicit(&s->ptr, memory_order_acquire);
	if (DS_LIKELY(p != NULL))
		return p;
	return ds_sym_get_slow(s);
}

/* The lookup behind ds_sym for a name known only at run time (the CUDA
 * driver's exported names): the same order and self-guard, no log, no
 * cache.  NULL if no loaded object outside the shim defines name. */
void *ds_resolve_chain(const char *const *libs, const char *name);
/* The real dlsym, never an interposed one (driver.c may export dlsym). */
void *ds_real_dlsym(void *handle, const char *name);
/* The one library detshim itself loads: libconfig, when a config file is
 * asked for.  Returns a handle or NULL (dlerror text in err). */
void *ds_load_helper_library(const char *soname, char *err, size_t errlen);
/* Soname (basename) of the object containing addr, or "?" */
const char *ds_object_of(const void *addr);

/* ------------------------------------------------------------------ */
/* Log (log.c): JSON lines, one write(2) per line, no allocation. */

/* A log site: one per (source, call) in the code; counts every event.
 * Declared static at the call site with DS_SITE(). */
struct ds_site {
	enum ds_source src;
	const char *call;      /* e.g. "getrandom" */
	atomic_ulong count;    /* events at this site */
	atomic_ulong logged;   /* events written to the log */
};

#define DS_SITE_ATTR __attribute__((section("ds_sites"), used, aligned(8)))
#define DS_SITE(var, src_, call_) \
	static struct ds_site var DS_SITE_ATTR = { (src_), (call_), 0, 0 }

/*
 * With a log open, count an event at site and, for the first log_first_n
 * events of the site, write one JSON line:
 *   {"seq":N,"pid":P,"src":"getrandom","call":"getrandom",
 *    "action":"replaced","detail":"..."}
 * action: "replaced", "mixed", "vetoed", "pinned", "passed", "observed",
 * "missing", "error", ... detail: printf-style, formatted by ds_fmt (%s %d
 * %u %ld %lu %lld %llu %x %lx %llx %zu %p %c %%).  Async-signal-safe;
 * never fails the caller.
 */
void ds_event(struct ds_site *site, const char *action, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * ds_event with structured fields: fields is a JSON fragment of
 * "key":value pairs separated by commas, without a leading or trailing
 * comma (e.g. "\"seed_program\":\"12\",\"seed_used\":\"34\""), built
 * by the caller with ds_fmt and ds_json_escape; it is written between
 * "action" and "detail".  NULL or "" writes none.
 */
void ds_event_fields(struct ds_site *site, const char *action,
		     const char *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ds_event_fields for sites whose every event is needed (the "hashed"
 * events of cuda_hooks/hash_calls.c, which detrun --bisect aligns call
 * by call): counted like the others, never capped by log.first_n. */
void ds_event_fields_all(struct ds_site *site, const char *action,
			 const char *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A site for a call named at run time (python.c): one per (src, first
 * len bytes of call, at most 63), NULL once the fixed table is full. */
struct ds_site *ds_site_named(enum ds_source src, const char *call,
			      size_t len);

/* Unconditional one-off record (config, summary, fingerprint). */
void ds_log_record(enum ds_source src, const char *call, const char *action,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One "detshim: ..." line on stderr (errors and warnings). */
void ds_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formatting (fmt.c).  Minimal async-signal-safe formatter (subset of
 * printf, see ds_event).  Always NUL-terminates; returns the length
 * written. */
size_t ds_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t ds_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append s as a JSON string body (escaped, no quotes). Returns new len. */
size_t ds_json_escape(char *buf, size_t cap, size_t len, const char *s);
/* Format one JSON line into buf (pure; used by ds_event and the tests). */
#define DS_LOG_SCHEMA 1 /* "v" of every line (shim/log.c) */
size_t ds_log_format_line(char *buf, size_t cap, unsigned long seq, long pid,
			  const char *src, const char *call, const char *action,
			  const char *fields, const char *detail);

/* Open the log named by ds_cfg.log_path (%p -> pid). 0 or -errno. */
int ds_log_open(void);
/* After fork: reopen a %p log for the child, keep an append log. */
void ds_log_after_fork_child(void) DS_FORK_PATH;
/* Exit summary: counts per site, written as "summary" records. */
void ds_log_summary(void);
/* Expand %p (pid) and %% in a log path. -ENAMETOOLONG/-EINVAL or 0. Pure. */
int ds_log_expand_path(const char *tmpl, long pid, char *out, size_t cap);

/* ------------------------------------------------------------------ */
/* Raw system calls (sys.c): never reach our own hooks. */
long ds_syscall6(long nr, long a, long b, long c, long d, long e, long f);
int ds_sys_open(const char *path, int flags, int mode);
ssize_t ds_sys_write(int fd, const void *buf, size_t n);
int ds_sys_close(int fd);
long ds_sys_getpid(void);

/* ------------------------------------------------------------------ */
/* Environment pins (pins.c) and lineage (process.c). */

/* Apply the pin table to the process environment (constructor only). */
void ds_pins_apply(void);
/* Name of the lineage variable carrying the key across exec. */
#define DS_LINEAGE_VAR "DETSHIM_LINEAGE"
/* Name of the variable through which detrun hands the shim a pipe fd; the
 * constructor writes "detshim <version>" to it (init.c, tools/spawn.c). */
#define DS_LOADED_FD_VAR "DETSHIM_LOADED_FD"
/* Install the fork handlers: one pthread_atfork trio walking process.c's
 * fork table (init.c calls it once). */
void ds_process_init(void);
/* devrandom.c, at init: a stdin on a random device becomes a served FILE. */
void ds_devrandom_init(void);
/* The program enters seccomp (process.c's hooks): devrandom.c classifies
 * the open fds before, and makes no system call of its own after. */
void ds_devrandom_before_sandbox(void);
/* process.c: around the program's own prctl(PR_SET_SECCOMP) or
 * seccomp(SECCOMP_SET_MODE_STRICT/FILTER); after takes its result. */
void ds_sandbox_before(void);
void ds_sandbox_after(long result);
/* True for the seccomp calls that put this thread in a sandbox. */
bool ds_sandbox_call(long nr, long a0);
/* Set by ds_sandbox_after once the program is in seccomp: from then on
 * the shim makes no system call of its own (devrandom.c, provenance.c,
 * logfd.c read it through ds_in_sandbox). */
extern atomic_int ds_sandbox_state;
static inline bool ds_in_sandbox(void)
{
	return atomic_load_explicit(&ds_sandbox_state, memory_order_relaxed) != 0;
}
/* Rows of that table owned elsewhere: the cuDNN graph lock
 * (cuda_hooks/cudnn_choice.c). */
void ds_cudnn_fork_prepare(void) DS_FORK_PATH;
void ds_cudnn_fork_parent(void) DS_FORK_PATH;
void ds_cudnn_fork_child(void) DS_FORK_PATH;
/* Rows of init.c's exit list, run in order by its one destructor: the
 * cuDNN algorithm cache and summary (cuda_hooks/cudnn_backend.c), then
 * ds_log_summary. */
void ds_cudnn_exit(void);
/* Bare preload under enforce: re-execute once with address
 * randomisation off, as detrun runs programs (aslr.c; constructor only). */
void ds_aslr_reexec(void);
/* Its one log record, when randomisation stayed on (after the log opens). */
void ds_aslr_log(void);
/* libc PRNG: seed the global generators at start (init.c). */
void ds_libc_random_init(void);
/* Resolve every libc symbol of the ds_libc_syms section now, so that no
 * hook has to call dlsym later (e.g. from a signal handler). */
void ds_resolve_libc_all(void);

/* A libc symbol (RTLD_NEXT), resolved by ds_resolve_libc_all at init. */
#define DS_LIBC_SYM(var, name_) \
	static struct ds_sym var __attribute__((section("ds_libc_syms"), \
						used, aligned(8))) = \
		DS_SYM_INIT(NULL, DS_SRC_PROCESS, name_)

#endif /* DETSHIM_H */
