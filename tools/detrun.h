/*
 * detrun.h - declarations shared by the files of the detrun launcher.
 *
 *   detrun.c   the flag table, command line, run mode, main
 *   common.c   messages and allocation helpers
 *   elfcheck.c finding the shim, checking the command can load it
 *   spawn.c    the child's environment, fork/exec with ASLR off and the
 *              "shim loaded" pipe
 *   verify.c   --verify N: N runs, outputs kept and compared, verdict
 *   logfile.c  reading shim logs, first-divergence finder
 *   report.c   `detrun report` and `detrun diff`
 *   batch_check.c  --verify-batch: batch invariance, module by module
 *
 * detrun is an ordinary program (it is never preloaded), so it uses stdio
 * and malloc freely; allocation failure ends it with status 125.
 */
#ifndef DETRUN_H
#define DETRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>

/* Exit statuses of detrun itself (documented in docs/detrun.1).  None is
 * timeout(1)'s 124 (or 137), so a wrapper's timeout stays told apart. */
#define DR_EXIT_OK 0        /* success; --verify: runs identical */
#define DR_EXIT_DIFFER 1    /* --verify / diff: runs differ */
#define DR_EXIT_NODATA 2    /* nothing to compare / log unreadable */
#define DR_EXIT_FAILED 3    /* --verify: a run exited non-zero, by a
			     * signal, or left processes running */
#define DR_EXIT_NOSHIM 122  /* the shim did not (or cannot) load */
#define DR_EXIT_USAGE 125   /* bad command line, setup error */
#define DR_EXIT_NOEXEC 126  /* command found but cannot be executed */
#define DR_EXIT_NOTFOUND 127 /* command not found */
/* --verify stopped by SIGINT, SIGTERM or SIGHUP: 128 + the signal. */

/* --bisect turns the shim's call hashes on (the bisect option's row in
 * shim/config.c). */
#define DR_HASH_CALLS_VAR "DETSHIM_HASH_CALLS"
#define DR_LINGER_DEFAULT 60 /* --wait-timeout default, seconds */

#define DR_VERIFY_MAX 1000  /* largest N accepted by --verify */
#define DR_STR_(x) #x
#define DR_STR(x) DR_STR_(x)
#define DR_LOADED_VAR DS_LOADED_FD_VAR
/* File name of the shim: an LD_PRELOAD entry with this base name is a
 * detshim (dr_is_shim_entry). */
#define DR_SHIM_NAME "libdetshim.so"

/* ---- the flag table (detrun.c) ---- */

/* What an option does with its value (or, without a value, its switch). */
enum dr_kind {
	DR_SWITCH_ON,   /* no value: sets the bool at dest */
	DR_SWITCH_OFF,  /* no value: clears the bool at dest */
	DR_HELP,        /* no value: the usage text, exit 0 */
	DR_VERSION,     /* no value: the version, exit 0 */
	/* Options that mirror a shim variable (var is set): */
	DR_SEED,        /* checked by the shim's parser at once; passed in
			 * fixed width (0x and 16 hex digits) */
	DR_WORD,        /* checked by the shim's parser at once; passed as
			 * given */
	DR_FILE,        /* must be readable; passed as an absolute path */
	DR_PATH,        /* passed as an absolute path */
	DR_LOG,         /* not empty; a plain run passes it as an absolute
			 * path; --verify makes it the run directory */
	DR_ROWS,        /* --verify-batch[=N]: the value is optional
			 * (DR_BATCH_ROWS), at least 1, checked by the
			 * shim's parser, passed as given; sets
			 * verify_batch (tools/batch_check.c) */
	/* detrun's own options with a value: */
	DR_STRING,      /* stored at dest */
	DR_LIST,        /* --compare: appended to compare[] */
	DR_RUNS,        /* --verify N */
	DR_CMPLOG,      /* --compare-log MODE */
	DR_ACCEPT,      /* --accept-status N */
	DR_SECONDS      /* --wait-timeout S */
};

#define DR_NO_VAR ((size_t)-1)
/* The variable an option mirrors, named by its field in struct ds_config:
 * the name itself comes from the shim's config rows (ds_config_var). */
#define DR_VAR(field) offsetof(struct ds_config, field)
#define DR_OPT(field) offsetof(struct dr_opts, field)

struct dr_flag {
	const char *lng;        /* "--seed" */
	const char *shrt;       /* "-s", or NULL */
	const char *arg;        /* the value's name in the usage text, NULL
				 * for an option without a value */
	size_t var;             /* DR_VAR(field) mirrored, or DR_NO_VAR */
	enum dr_kind kind;
	size_t dest;            /* DR_OPT(field) for DR_SWITCH_* and
				 * DR_STRING, else 0 */
	const char *help;       /* usage text; a mirrored option's first
				 * line ends with ": VARIABLE" */
};

#define DR_MAX_FLAGS 32
extern const struct dr_flag dr_flags[];
extern const size_t dr_nflags;
/* The variable of a mirrored option (aborts if the shim has none). */
const char *dr_flag_var(const struct dr_flag *f);

/* What of two logs is compared (--compare-log, docs/detrun.1):
 *   off     nothing;
 *   events  what the program produced and saw: every event, without
 *           seq, pid values (also inside details), the program's own
 *           seed beside the one used, fd numbers, addresses, timings
 *           (logfile.c: norm_key); the default;
 *   strict  every event and field as written, up to seq and pid values. */
enum dr_cmp { DR_CMP_OFF, DR_CMP_EVENTS, DR_CMP_STRICT };

struct dr_opts {
	/* Values of the options that mirror a variable, by row of
	 * dr_flags[]; NULL = not given (an inherited variable then passes
	 * unchanged). */
	const char *value[DR_MAX_FLAGS];
	const char *log;        /* --log: file (run) or directory (verify) */
	const char *shim;       /* --shim */
	const char *learn;      /* --learn FILE (tools/learn.c) */
	bool aslr;              /* --aslr: leave address randomisation on */
	bool quiet;             /* -q: no notes, only errors and verdicts */
	bool verbose;           /* -v: print the environment given */
	bool keep;              /* --keep: keep verify files when identical */
	unsigned verify;        /* --verify N, 0 = plain run */
	enum dr_cmp compare_log; /* --compare-log */
	bool accept[256];       /* --accept-status N (0 always) */
	unsigned linger_s;      /* --wait-timeout S */
	bool progress;          /* --progress (default: on a terminal) */
	bool stream;            /* --stream: run 1's output live */
	bool json;              /* --json: the verdict as JSON */
	bool bisect;            /* --bisect: hash GPU calls, align them */
	bool verify_batch;      /* --verify-batch: check batch invariance */
	const char **compare;   /* --compare items (stdout, stderr, FILE) */
	size_t ncompare;
	char **argv;            /* the command after "--" */
};

/* ---- common.c ---- */
extern const char *dr_prog;            /* "detrun" */
void dr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dr_note(const struct dr_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void *dr_xmalloc(size_t n);
char *dr_xstrdup(const char *s);
char *dr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Everything needed to start the command, prepared once. */
struct dr_launch {
	char shim[4096];        /* absolute path of libdetshim.so */
	char exe[4096];         /* resolved path of argv[0] */
	char **envp;            /* child environment (without the log and the
				 * loaded-fd variables, which run() adds) */
	size_t nenv;
};

/* ---- elfcheck.c ---- */

/* Find the shim (--shim, DETSHIM_SO, next to detrun, ../lib, DS_LIBDIR,
 * DS_BUILD_SO) and check it is a readable ELF shared object.  Returns 0
 * or a DR_EXIT_* status after printing why. */
int dr_find_shim(const struct dr_opts *o, char *out, size_t cap);

/* Resolve argv[0] like execvp and check that the shim can load into it:
 * not static, not set-id, same ELF class and machine as the shim (one
 * level of #! is followed).  Returns 0 or a DR_EXIT_* status. */
int dr_check_command(const char *shim, const char *cmd, char *exe,
		     size_t cap);

/* True if the (64-bit ELF) program at path needs libasan: ASan then
 * refuses to start unless its runtime comes first, so detrun adds
 * verify_asan_link_order=0 to ASAN_OPTIONS for it. */
bool dr_needs_asan(const char *path);

/* True if an LD_PRELOAD entry is a detshim: the path shim (NULL when not
 * known yet) or any file named DR_SHIM_NAME. */
bool dr_is_shim_entry(const char *entry, const char *shim);

/* ---- spawn.c ---- */

/* Build the child environment from environ and the options (the mirrored
 * rows of dr_flags[]); check it with the shim's own parser
 * (ds_config_from_env).  -v prints LD_PRELOAD and the mirrored variables
 * it holds.  Returns 0 or a DR_EXIT_* status. */
int dr_build_env(const struct dr_opts *o, struct dr_launch *l);

/* Set name=value in l->envp (replace or append). */
void dr_env_set(struct dr_launch *l, const char *name, const char *value);

/* Turn ASLR off for future children (personality), warning once if the
 * kernel refuses.  No-op with --aslr. */
void dr_aslr_setup(const struct dr_opts *o);

/* How to run the command (dr_run). */
struct dr_spawn {
	int in_fd, out_fd, err_fd;  /* the command's stdin/out/err; -1: ours */
	/* --verify: the command leads its own process group, every process
	 * it leaves behind is waited for (detrun is their subreaper: set by
	 * dr_verify), and dr_stop_signal stops them all: */
	bool tree;
	unsigned linger_s;      /* how long they may outlive the command */
	int tee_out, tee_err;   /* >= 0: also copy stdout/stderr here live */
};

/* Result of one run of the command. */
struct dr_result {
	int status;             /* wait status */
	bool loaded;            /* the shim signalled that it loaded */
	char loaded_msg[64];    /* what it wrote ("detshim 0.1.0") */
	int exec_errno;         /* nonzero: exec failed with this errno */
	double wall_s;          /* until the command itself exited */
	unsigned late;          /* tree: descendants that exited after it */
	bool lingered;          /* tree: some were killed after linger_s */
	int stopped;            /* tree: the stop signal that ended the run */
};

/* Set by SIGINT, SIGTERM, SIGHUP once dr_catch_stop has run. */
extern volatile sig_atomic_t dr_stop_signal;
void dr_catch_stop(void);

/*
 * Run the command once: fork, redirect its stdin/stdout/stderr, exec,
 * wait.  Run mode (!s->tree) forwards SIGTERM/SIGHUP and ignores
 * SIGINT/SIGQUIT like system(3).  Returns 0 or a DR_EXIT_* status on an
 * internal failure (fork, pipe).
 */
int dr_run(const struct dr_launch *l, char **argv, const struct dr_spawn *s,
	   struct dr_result *r);

/* 0 when the command was executed; else says why exec failed and
 * returns DR_EXIT_NOTFOUND (ENOENT) or DR_EXIT_NOEXEC. */
int dr_report_exec(const struct dr_launch *l, const struct dr_result *r);

/* Explain a run whose shim did not load; returns DR_EXIT_NOSHIM. */
int dr_report_noshim(const struct dr_launch *l, const struct dr_result *r,
		     const char *where);

/* Exit (or raise) like the child did. Does not return. */
void dr_exit_like(int status) __attribute__((noreturn));

/* ---- logfile.c and report.c ---- */

/* One parsed log line. */
struct dr_rec {
	unsigned long seq;
	long pid;
	int v;                  /* schema version ("v"; 0 before it) */
	char *src;
	char *call;
	char *action;
	char *detail;
	char **fkeys, **fvals;  /* other keys, in line order; string values
				 * decoded, others as written */
	size_t nf;
	unsigned line;          /* line number in its file */
};

/* One process of a log: its records in file order. */
struct dr_proc {
	long pid;
	char *id;               /* init record's id= (its place in the
				 * process tree), NULL if none (a fork
				 * child without exec) */
	char *prog;             /* init record's prog=, or NULL */
	struct dr_rec *recs;
	size_t n, cap;
};

struct dr_log {
	const char *path;
	struct dr_proc *procs;  /* in order of first appearance */
	size_t nprocs, capprocs;
	size_t nrecs;
	size_t malformed;       /* lines that are not detshim records */
	unsigned first_bad;     /* line number of the first of those */
	bool missing;           /* the file does not exist */
};

/* Read a log file (appending to *lg, so several %p files form one log).
 * Returns 0, or -errno if unreadable (a missing file sets lg->missing and
 * returns -ENOENT). */
int dr_log_read(struct dr_log *lg, const char *path);
void dr_log_free(struct dr_log *lg);

/* A field of a record (a key beyond the line's own), or NULL. */
const char *dr_rec_field(const struct dr_rec *r, const char *key);

/* The source library a record's source belongs to ("libc", "libcudnn"). */
const char *dr_src_library(const char *src);


/* The first divergence of two logs. */
struct dr_div {
	enum { DR_DIV_NONE, DR_DIV_EVENT, DR_DIV_ONLY_A, DR_DIV_ONLY_B } kind;
	size_t pa, pb;          /* process indices in a and b */
	size_t ev;              /* DR_DIV_EVENT: index of the first differing
				 * event (= the number of equal ones) */
	size_t order_only;      /* processes with the same events in another
				 * order (threads): not a divergence */
};

/*
 * Compare two logs process by process.  Processes are matched by their
 * place in the process tree (the init record's id) first, then by
 * identical event sequence, then by the same events in another order,
 * then in order of first appearance.  Returns true if they are the same;
 * *d gets the first divergence.
 */
bool dr_log_compare(const struct dr_log *a, const struct dr_log *b,
		    enum dr_cmp mode, struct dr_div *d);
/* Print *d (each line prefixed with indent; names of the two logs). */
void dr_div_print(const struct dr_log *a, const struct dr_log *b,
		  const struct dr_div *d, const char *na, const char *nb,
		  FILE *f, const char *indent);
/* *d as one JSON object. */
void dr_div_json(const struct dr_log *a, const struct dr_log *b,
		 const struct dr_div *d, FILE *f);
/* A digest of what mode compares: equal for logs dr_log_compare finds the
 * same (0 for DR_CMP_OFF or a missing log). */
uint64_t dr_log_digest(const struct dr_log *lg, enum dr_cmp mode);
/* s as a JSON string, quoted. */
void dr_json_str(FILE *f, const char *s);

/* `detrun report [--json] LOG...` and `detrun diff A B`. Return exit
 * status. */
int dr_cmd_report(int argc, char **argv);
/* "events", "strict" (and "off" if allow_off) -> enum dr_cmp; -1 if none. */
int dr_parse_cmp(const char *v, bool allow_off);
int dr_cmd_diff(int argc, char **argv);

/* ---- verify.c ---- */
int dr_verify(const struct dr_opts *o, struct dr_launch *l);

#endif /* DETRUN_H */
