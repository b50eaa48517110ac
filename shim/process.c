/*
 * process.c - the key tree across fork and exec.
 *
 * fork: one pthread_atfork trio walks one table (fork_table below): the
 * stream key and positions, the log, the cuDNN graph lock.  The parent's
 * prepare handler takes the next fork ordinal (the parent must count, or
 * every sibling gets the same stream: docs/CPU_FACTS.md §0.7); the child's key
 * is H(parent key, "fork", ordinal), derived at its first use, and every
 * stream position and ordinal restarts at 0 (shim/stream.c).  The ordinal
 * travels in a thread-local, since the child is a copy of the forking
 * thread.  The child handlers write as little as they can: each page the
 * child writes is a copy-on-write fault, which costs more than the rest
 * of the handler.
 *
 * exec: every exported exec entry point (execve, execv, execvp, execvpe,
 * execl, execlp, execle, fexecve, posix_spawn, posix_spawnp) passes the
 * child key H(process key, "exec", ordinal) in DETSHIM_LINEAGE, a
 * fixed-width variable (the environment's size moves addresses:
 * docs/CPU_FACTS.md §1.7).  glibc's system() and popen() reach the kernel
 * through internal symbols no preload can see; their children inherit this
 * process's DETSHIM_LINEAGE unchanged (README, "Limits").
 *
 * The exec hooks run between vfork and exec (Python's subprocess does
 * this), sharing the parent's memory: they use only the stack, no
 * malloc, no locks, no stdio.  The exec ordinal is an atomic in shared
 * memory, so a vfork child's increment is the parent's too.
 */
#include "detshim.h"
#include "logfd.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static atomic_ullong fork_ordinal; /* ds_counter_next: 0 again in a child */
static atomic_ullong exec_ordinal;
static __thread unsigned long long pending_fork
	__attribute__((tls_model("initial-exec")));

DS_SITE(site_fork, DS_SRC_PROCESS, "fork");
DS_SITE(site_exec, DS_SRC_PROCESS, "exec");

DS_FORK_PATH static void stream_prepare(void)
{
	if (!ds_cfg.source_on[DS_SRC_PROCESS])
		return;
	ds_stream_fork_prepare();
	pending_fork = ds_counter_next(&fork_ordinal);
	ds_event(&site_fork, "derived", "child key from fork ordinal %llu",
		 pending_fork);
}

DS_FORK_PATH static void stream_child(void)
{
	if (ds_cfg.source_on[DS_SRC_PROCESS])
		ds_stream_fork_child(pending_fork);
}

/* The fork table: prepare handlers run from the last row to the first,
 * parent and child handlers from the first to the last (the order of
 * pthread_atfork registrations). */
static const struct {
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(void);
} fork_table[] = {
	{ stream_prepare, NULL, stream_child },  /* key ordinal, streams */
	{ NULL, NULL, ds_log_after_fork_child }, /* a %p log: the child's own */
	{ ds_cudnn_fork_prepare, ds_cudnn_fork_parent,
	  ds_cudnn_fork_child },                 /* the cuDNN graph lock */
};

DS_FORK_PATH static void on_prepare(void)
{
	size_t i = DS_ARRAY_SIZE(fork_table);

	while (i-- > 0)
		if (fork_table[i].prepare)
			fork_table[i].prepare();
}

DS_FORK_PATH static void on_parent(void)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(fork_table); i++)
		if (fork_table[i].parent)
			fork_table[i].parent();
}

DS_FORK_PATH static void on_child(void)
{
	size_t i;

	for (i = 0; i < DS_ARRAY_SIZE(fork_table); i++)
		if (fork_table[i].child)
			fork_table[i].child();
}

void ds_process_init(void)
{
	pthread_atfork(on_prepare, on_parent, on_child);
}

/* ------------------------------------------------------------------ */
/* exec */

DS_LIBC_SYM(real_execve, "execve");
DS_LIBC_SYM(real_execvpe, "execvpe");
DS_LIBC_SYM(real_fexecve, "fexecve");
DS_LIBC_SYM(real_posix_spawn, "posix_spawn");
DS_LIBC_SYM(real_posix_spawnp, "posix_spawnp");

#define LINEAGE_LEN (sizeof(DS_LINEAGE_VAR "=") - 1 + 64)
#define MAX_ENV 8192 /* entries (64 KiB of stack); larger environments pass unchanged */

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Count entries, and say whether the shim will load in the child. */
static size_t env_count(char *const *envp, bool *preload)
{
	size_t n = 0;

	*preload = false;
	if (envp == NULL)
		return 0;
	for (; envp[n]; n++)
		if (has_prefix(envp[n], "LD_PRELOAD="))
			*preload = true;
	return n;
}

/* Fill out[] (room for n + 2) with envp minus any old lineage, plus var.
 * Returns out, or envp itself when nothing should change. */
static char *const *child_env(char *const *envp, size_t n, char **out,
			      char *var)
{
	struct ds_key child, scratch;
	char hex[65];
	size_t i, j = 0;

	ds_key_derive(&child, ds_key_current(&scratch), "exec",
		      ds_counter_next(&exec_ordinal));
	ds_key_to_hex(&child, hex);
	ds_fmt(var, LINEAGE_LEN + 1, "%s=%s", DS_LINEAGE_VAR, hex);
	for (i = 0; i < n; i++)
		if (!has_prefix(envp[i], DS_LINEAGE_VAR "="))
			out[j++] = envp[i];
	out[j++] = var;
	out[j] = NULL;
	ds_event(&site_exec, "derived", "child key passed in %s",
		 DS_LINEAGE_VAR);
	return out;
}

/* True if the exec should carry a lineage key (macro-free: the caller
 * owns the stack arrays, sized from n). */
static bool want_lineage(char *const *envp, size_t *n)
{
	bool preload;

	if (!ds_active() || !ds_enforce(DS_SRC_PROCESS))
		return false;
	*n = env_count(envp, &preload);
	return preload && *n < MAX_ENV;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *,
			const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[],
			char *const[]);

static int call_exec(struct ds_sym *sym, const char *path,
		     char *const argv[], char *const envp[])
{
	execve_fn f = (execve_fn)ds_sym_get(sym);
	size_t n = 0;

	if (f == NULL)
		return ds_libc_missing();
	if (want_lineage(envp, &n)) {
		char *out[n + 2];
		char var[LINEAGE_LEN + 1];

		return f(path, argv, child_env(envp, n, out, var));
	}
	return f(path, argv, envp);
}

DS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return call_exec(&real_execve, path, argv, envp);
}

DS_EXPORT int execv(const char *path, char *const argv[])
{
	return call_exec(&real_execve, path, argv, environ);
}

DS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return call_exec(&real_execvpe, file, argv, envp);
}

DS_EXPORT int execvp(const char *file, char *const argv[])
{
	return call_exec(&real_execvpe, file, argv, environ);
}

DS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	fexecve_fn f = (fexecve_fn)ds_sym_get(&real_fexecve);
	size_t n = 0;

	if (f == NULL)
		return ds_libc_missing();
	if (want_lineage(envp, &n)) {
		char *out[n + 2];
		char var[LINEAGE_LEN + 1];

		return f(fd, argv, child_env(envp, n, out, var));
	}
	return f(fd, argv, envp);
}

/* execl family: gather the variadic list on the stack, as glibc's own
 * execl does (a variable-length array of every argument: no limit but
 * INT_MAX; the kernel's E2BIG stays the kernel's), then take the execv
 * path. */
static long count_args(va_list ap)
{
	long n = 1;

	while (va_arg(ap, const char *) != NULL)
		if (++n == INT_MAX)
			return -1;
	return n;
}

static void fill_args(const char **argv, const char *arg0, va_list ap, long n)
{
	long i;

	argv[0] = arg0;
	for (i = 1; i < n; i++)
		argv[i] = va_arg(ap, const char *);
	argv[n] = NULL;
}

/* The execl family's common path; env_follows: execle's envp comes after
 * the terminating NULL. */
static int exec_list(struct ds_sym *sym, const char *path, const char *arg,
		     va_list ap, bool env_follows)
{
	char *const *envp = environ;
	va_list cp;
	long n;

	va_copy(cp, ap);
	n = count_args(cp);
	va_end(cp);
	if (n < 0) {
		errno = E2BIG;
		return -1;
	}
	{
		const char *argv[n + 1];

		fill_args(argv, arg, ap, n);
		if (env_follows) {
			(void)va_arg(ap, const char *); /* the terminating NULL */
			envp = va_arg(ap, char *const *);
		}
		return call_exec(sym, path, (char *const *)argv, envp);
	}
}

DS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(&real_execve, path, arg, ap, false);
	va_end(ap);
	return r;
}

DS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(&real_execvpe, file, arg, ap, false);
	va_end(ap);
	return r;
}

DS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(&real_execve, path, arg, ap, true);
	va_end(ap);
	return r;
}

static int call_spawn(struct ds_sym *sym, pid_t *pid, const char *path,
		      const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[],
		      char *const envp[])
{
	spawn_fn f = (spawn_fn)ds_sym_get(sym);
	size_t n = 0;

	if (f == NULL)
		return ENOSYS; /* posix_spawn returns its error (detshim.h) */
	if (want_lineage(envp, &n)) {
		char *out[n + 2];
		char var[LINEAGE_LEN + 1];

		return f(pid, path, fa, attr, argv,
			 child_env(envp, n, out, var));
	}
	return f(pid, path, fa, attr, argv, envp);
}

DS_EXPORT int posix_spawn(pid_t *pid, const char *path,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	return call_spawn(&real_posix_spawn, pid, path, fa, attr, argv, envp);
}

DS_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	return call_spawn(&real_posix_spawnp, pid, file, fa, attr, argv, envp);
}

/* ------------------------------------------------------------------ */
/* seccomp */

/*
 * A program that enters seccomp (prctl(PR_SET_SECCOMP), or seccomp(2)
 * through syscall(), as libseccomp does) is allowed from then on only the
 * system calls its filter names; strict mode allows read, write, exit and
 * sigreturn.  The shim must make no call the program would not have made:
 * before the call it classifies the open fds (devrandom.c) and logs one
 * line; once the call succeeded the log stops (ds_logfd_sandboxed: no
 * getpid, open, fstat or signal masking) and devrandom.c makes no system
 * call of its own.  The same rules then hold for every filter, whatever
 * it allows.
 */
DS_LIBC_SYM(real_prctl, "prctl");

DS_SITE(site_seccomp, DS_SRC_PROCESS, "seccomp");

bool ds_sandbox_call(long nr, long a0)
{
	if (nr == SYS_prctl)
		return a0 == PR_SET_SECCOMP;
#ifdef SYS_seccomp
	if (nr == SYS_seccomp)
		return a0 == SECCOMP_SET_MODE_STRICT ||
		       a0 == SECCOMP_SET_MODE_FILTER;
#endif
	return false;
}

void ds_sandbox_before(void)
{
	if (!ds_active())
		return;
	ds_devrandom_before_sandbox();
	ds_event(&site_seccomp, "observed",
		 "entering seccomp: no log line and no system call of the "
		 "shim's own from now on");
}

void ds_sandbox_after(long result)
{
	if (result != 0)
		return;
	ds_devrandom_sandboxed();
	ds_logfd_sandboxed();
}

DS_EXPORT int prctl(int option, ...)
{
	int (*f)(int, ...) = ds_sym_get(&real_prctl);
	unsigned long a[4];
	va_list ap;
	int i, r;

	va_start(ap, option);
	for (i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (f == NULL)
		return ds_libc_missing();
	if (!ds_sandbox_call(SYS_prctl, option))
		return f(option, a[0], a[1], a[2], a[3]);
	ds_sandbox_before();
	r = f(option, a[0], a[1], a[2], a[3]);
	ds_sandbox_after(r);
	return r;
}
