/*
 * init.c - start-up and exit of the shim.
 *
 * ds_ensure_init() runs once per process, from our constructor or from
 * the first hook that fires before it (a hook can be called from another
 * library's constructor: docs/CPU_FACTS.md §0.5).  It
 *   1. builds and freezes the configuration (config.c);
 *   2. derives the process key: from DETSHIM_LINEAGE when an ancestor
 *      passed one across exec, else from the seed; then the rank, when a
 *      launcher gave one;
 *   3. opens the log and records the configuration;
 *   4. resolves every libc symbol the hooks need (no dlsym later);
 *   5. seeds the libc PRNGs, installs the fork handlers, and applies the
 *      environment pins.  Inherited fds need no scan: devrandom.c
 *      classifies each fd at its first read.
 * Under secure execution (AT_SECURE: setuid, setgid, capabilities), and
 * in a process that did not ask for the shim (no DETSHIM_* variable and
 * no LD_PRELOAD entry naming it: /etc/ld.so.preload), step 1 is
 * ds_config_secure() instead: no file opened, no log written, and the
 * policy is off.
 * A bad variable or config stops the program with one line and exit
 * status 2, unless DETSHIM_POLICY=warn (then: a warning and defaults).
 *
 * Re-entry: init itself runs with ds_inside set, so every hook it reaches
 * (fopen inside libconfig, say) passes straight through.  A second thread
 * arriving during init waits; the initialising thread re-entering gets
 * false and passes through.
 */
#include "detshim.h"

#include <errno.h> /* program_invocation_name */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DS_CONSTRUCTOR __attribute__((constructor(101)))

extern char **environ;

static __thread int init_owner __attribute__((tls_model("initial-exec")));

static void record_config(void)
{
	char off[256] = "";
	char rank[64] = "none";
	size_t n = 0;
	int i;

	if (ds_cfg.rank_given)
		ds_fmt(rank, sizeof(rank), "%llu(%s)",
		       (unsigned long long)ds_cfg.rank, ds_cfg.rank_var);

	for (i = 0; i < DS_SRC_COUNT; i++)
		if (!ds_cfg.source_on[i])
			n = ds_fmt(off + n, sizeof(off) - n, "%s%s", n ? "," : "",
				   ds_source_name((enum ds_source)i)) + n;
	ds_log_record(DS_SRC_PROCESS, "init", "config",
		      "version=%s seed=%llu%s policy=%s seed_mode=%s "
		      "lineage=%s rank=%s off=%s config=%s id=%llx prog=%s",
		      DS_VERSION, (unsigned long long)ds_cfg.seed,
		      ds_cfg.seed_given ? "" : " (default: DETSHIM_SEED unset)",
		      ds_policy_names[ds_cfg.policy],
		      ds_seed_mode_names[ds_cfg.seed_mode],
		      ds_cfg.lineage[0] ? "inherited" : "root", rank,
		      n ? off : "none",
		      ds_cfg.config_path[0] ? ds_cfg.config_path : "none",
		      /* id: this process's place in the run's process tree,
		       * the same in every run (tools/logfile.c matches
		       * processes by it); prog: what it runs. */
		      (unsigned long long)ds_key_hash64(&ds_process_key,
							DS_SRC_COUNT, 0),
		      program_invocation_name);
	if (ds_cfg.rank_ignored)
		ds_log_record(DS_SRC_PROCESS, "init", "ignored",
			      "%s is not a non-negative integer: not mixed "
			      "into the key", ds_cfg.rank_ignored);
}

/*
 * A program whose job is to make secrets (ssh-keygen, gpg, openssl, ...:
 * ds_cfg.secret_programs) is left alone with its children: a key made
 * under one seed would be the same key in every run and on every machine
 * that exports the shim.  Matched by the base name of the file the kernel
 * ran (AT_EXECFN: a script's own name) and of argv[0].  The log says so
 * once; the constructor passes the policy off to the children.
 */
static bool stepped_aside;

static void step_aside_for_secrets(void)
{
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	const char *name = NULL;

	if (ds_cfg.policy == DS_POLICY_OFF)
		return;
	if (execfn && ds_config_secret_program(&ds_cfg, execfn))
		name = execfn;
	else if (program_invocation_name &&
		 ds_config_secret_program(&ds_cfg, program_invocation_name))
		name = program_invocation_name;
	if (name == NULL)
		return;
	ds_log_record(DS_SRC_PROCESS, "init", "stepped-aside",
		      "%s makes secrets: nothing is replaced in it or in its "
		      "children (secret_programs, DETSHIM_SECRET_PROGRAMS)",
		      name);
	ds_cfg.policy = DS_POLICY_OFF;
	stepped_aside = true;
}

/* The configuration is built in place: no struct-sized stack frame and
 * copy (each page of either is a page fault in every exec'd process).
 * Hooks read ds_cfg only once ds_init_state says it is frozen. */
static void do_init(void)
{
	static char err[DS_PATH_MAX + 256];
	int e;

	if (ds_secure_exec() ||
	    !ds_config_asked(environ, ds_object_of((const void *)ds_ensure_init))) {
		/* setuid/setgid/capabilities, or loaded without being asked
		 * (/etc/ld.so.preload): read no variable, open no file, write
		 * no log, replace nothing (docs/measurements/RELIABILITY.md). */
		ds_config_secure(&ds_cfg);
		ds_resolve_libc_all();
		return;
	}
	e = ds_config_from_env(&ds_cfg, environ, err, sizeof(err));
	if (e) {
		if (ds_cfg.policy != DS_POLICY_WARN) {
			ds_warn("%s", err);
			ds_warn("stopping (exit status 2); set DETSHIM_POLICY=warn "
				"to continue with defaults");
			_exit(2);
		}
		ds_warn("%s (continuing with defaults: DETSHIM_POLICY=warn)",
			err);
		ds_config_defaults(&ds_cfg);
		ds_cfg.policy = DS_POLICY_WARN;
	}

	ds_aslr_reexec(); /* the bare preload as detrun (aslr.c): before any output */
	if (ds_cfg.lineage[0])
		ds_key_from_hex(&ds_process_key, ds_cfg.lineage);
	else
		ds_key_root(&ds_process_key, ds_cfg.seed, ds_cfg.rank_given,
			    ds_cfg.rank);
	/* The rank is mixed in under an inherited key too: the tasks that
	 * srun or mpirun starts, or the workers of one torchrun per node,
	 * can inherit one DETSHIM_LINEAGE and one place in the tree, and
	 * only their rank tells them apart (docs/DESIGN.md §4.1). */
	if (ds_cfg.lineage[0] && ds_cfg.rank_given)
		ds_key_derive(&ds_process_key, &ds_process_key, "rank",
			      ds_cfg.rank);

	e = ds_log_open();
	if (e)
		ds_warn("cannot open the log '%s' (error %d); continuing "
			"without a log", ds_cfg.log_path, -e);
	record_config();

	step_aside_for_secrets();
	ds_resolve_libc_all();
	if (ds_cfg.policy == DS_POLICY_OFF)
		return;
	ds_libc_random_init();
	ds_devrandom_init();
	ds_process_init();
}

bool ds_ensure_init(void)
{
	int st = atomic_load_explicit(&ds_init_state, memory_order_acquire);
	int expect = DS_INIT_NONE;

	if (st == DS_INIT_DONE)
		return true;
	if (st == DS_INIT_RUNNING) {
		if (init_owner)
			return false; /* re-entered from our own init */
		while (atomic_load_explicit(&ds_init_state,
					    memory_order_acquire) != DS_INIT_DONE)
			sched_yield();
		return true;
	}
	if (!atomic_compare_exchange_strong(&ds_init_state, &expect,
					    DS_INIT_RUNNING))
		return ds_ensure_init();
	init_owner = 1;
	ds_inside++;
	do_init();
	ds_inside--;
	init_owner = 0;
	atomic_store_explicit(&ds_init_state, DS_INIT_DONE, memory_order_release);
	return true;
}

/*
 * Tell the launcher that the shim really loaded.  ld.so only warns and
 * runs the program anyway when a preload cannot be loaded (missing file,
 * wrong class, setuid, static binary), so detrun passes the write end of a
 * pipe as DETSHIM_LOADED_FD and fails loudly if no byte arrives.  The fd
 * is written only if it is a pipe, then closed and the variable removed,
 * so a descendant never writes into an fd number that its parent reused.
 * Absent variable: nothing happens.  Constructor only (unsetenv).
 */
static void signal_loaded(void)
{
	const char *v = getenv(DS_LOADED_FD_VAR);
	struct stat st;
	char msg[64];
	long fd = 0;
	long r;

	if (v == NULL)
		return;
	for (; *v >= '0' && *v <= '9' && fd < 65536; v++)
		fd = fd * 10 + (*v - '0');
	if (*v == '\0' && fd > 2 && fd < 65536) {
#ifdef SYS_fstat
		r = ds_syscall6(SYS_fstat, fd, (long)&st, 0, 0, 0, 0);
#else
		r = ds_syscall6(SYS_newfstatat, fd, (long)"", (long)&st,
				AT_EMPTY_PATH, 0, 0);
#endif
		if (r == 0 && S_ISFIFO(st.st_mode)) {
			size_t n = ds_fmt(msg, sizeof(msg), "detshim %s\n",
					  DS_VERSION);

			ds_sys_write((int)fd, msg, n);
			ds_sys_close((int)fd);
		}
	}
	unsetenv(DS_LOADED_FD_VAR);
}

DS_CONSTRUCTOR static void ds_constructor(void)
{
	/* First: a config error below exits 2, and the launcher must still
	 * see that the shim itself loaded. */
	ds_inside++;
	if (!ds_secure_exec())
		signal_loaded(); /* an fd named by the environment */
	ds_inside--;
	ds_ensure_init();
	if (stepped_aside) {
		/* The children of a program that makes secrets stay alone
		 * too (constructor only: setenv is not thread-safe). */
		ds_inside++;
		setenv("DETSHIM_POLICY", "off", 1);
		ds_inside--;
	}
	/* The pins run in the constructor only (setenv allocates and is not
	 * thread-safe): before the program's main reads its environment. */
	if (ds_cfg.policy != DS_POLICY_OFF && ds_cfg.env_pins) {
		ds_inside++;
		ds_pins_apply();
		ds_inside--;
	}
}

/* The one exit path: every row runs, in this order (a row that has
 * nothing to do returns at once). */
static void (*const exit_list[])(void) = {
	ds_cudnn_exit,   /* save the algorithm cache, then its summary */
	ds_log_summary,  /* counts per site: last, so that it counts all */
};

__attribute__((destructor)) static void ds_destructor(void)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(exit_list); i++)
		exit_list[i]();
}
