/*
 * process.c - the key tree across fork and exec, and the entry into a
 * seccomp sandbox.
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
 * execveat, execl, execlp, execle, fexecve, posix_spawn, posix_spawnp,
 * and system and popen, whose internal spawn sees environ as it is at the
 * call) passes the child key H(process key, "exec", ordinal) in
 * DETSHIM_LINEAGE, a fixed-width variable (the environment's size moves
 * addresses: docs/CPU_FACTS.md §1.7), through one path, with_lineage.
 *
 * The exec hooks run between vfork and exec (Python's subprocess does
 * this), sharing the parent's memory: they use only the stack (or, past
 * MAX_ENV entries, a mapping made by a raw system call), no malloc, no
 * locks, no stdio.  The exec ordinal is an atomic in shared
 * memory, so a vfork child's increment is the parent's too.
 */
#include "detshim.h"
#include "logfd.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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
DS_LIBC_SYM(real_execveat, "execveat");
DS_LIBC_SYM(real_fexecve, "fexecve");
DS_LIBC_SYM(real_posix_spawn, "posix_spawn");
DS_LIBC_SYM(real_posix_spawnp, "posix_spawnp");
DS_LIBC_SYM(real_system, "system");
DS_LIBC_SYM(real_popen, "popen");

#define LINEAGE_LEN (sizeof(DS_LINEAGE_VAR "=") - 1 + 64)
/* Entries whose array lives on the stack (64 KiB); a larger environment
 * gets a private mapping (in a vfork child it stays mapped in the parent
 * after the exec: one per such exec). */
#define MAX_ENV 8192

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
 * Returns out. */
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

/* True if the exec should carry a lineage key; *n: envp's entries. */
static bool want_lineage(char *const *envp, size_t *n)
{
	bool preload;

	if (!ds_active() || !ds_enforce(DS_SRC_PROCESS))
		return false;
	*n = env_count(envp, &preload);
	return preload;
}

/* Room for n + 2 pointers past MAX_ENV: an anonymous mapping (raw system
 * calls: usable between vfork and exec).  NULL when it cannot be had. */
static char **big_room(size_t n)
{
	long p = ds_syscall6(SYS_mmap, 0, (long)((n + 2) * sizeof(char *)),
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p < 0 && p > -4096 ? NULL : (char **)p;
}

static void big_free(char **room, size_t n)
{
	ds_syscall6(SYS_munmap, (long)room, (long)((n + 2) * sizeof(char *)),
		    0, 0, 0, 0);
}

/*
 * The one path of every exec-like call: step(ctx, env) with env = envp
 * plus this child's lineage key when the shim loads in the child, else
 * envp itself.  The array is on the stack (no malloc: vfork children run
 * this), or mapped past MAX_ENV entries.
 */
typedef long (*exec_step)(void *ctx, char *const envp[]);

static long with_lineage(char *const *envp, exec_step step, void *ctx)
{
	size_t n = 0;

	if (want_lineage(envp, &n)) {
		char *room[n < MAX_ENV ? n + 2 : 1];
		char var[LINEAGE_LEN + 1];
		char **out = n < MAX_ENV ? room : big_room(n);
		long r;

		if (out != NULL) {
			r = step(ctx, child_env(envp, n, out, var));
			if (out != room)
				big_free(out, n);
			return r;
		}
		ds_event(&site_exec, "unchanged",
			 "%zu environment entries and no memory for a copy: "
			 "the child shares this process's streams", n);
	}
	return step(ctx, envp);
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[],
			   int);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *,
			const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[],
			char *const[]);

/* The arguments of any exec-like call, for its step. */
struct exec_args {
	void *f;      /* the real function */
	int fd;       /* fexecve, execveat */
	int flags;    /* execveat */
	const char *path;
	char *const *argv;
	pid_t *pid;   /* posix_spawn */
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *attr;
};

static long step_execve(void *c, char *const envp[])
{
	struct exec_args *a = c;

	return ((execve_fn)a->f)(a->path, a->argv, envp);
}

static long step_execveat(void *c, char *const envp[])
{
	struct exec_args *a = c;

	return ((execveat_fn)a->f)(a->fd, a->path, a->argv, envp, a->flags);
}

static long step_fexecve(void *c, char *const envp[])
{
	struct exec_args *a = c;

	return ((fexecve_fn)a->f)(a->fd, a->argv, envp);
}

static long step_spawn(void *c, char *const envp[])
{
	struct exec_args *a = c;

	return ((spawn_fn)a->f)(a->pid, a->path, a->fa, a->attr, a->argv,
				envp);
}

static int call_exec(struct ds_sym *sym, const char *path,
		     char *const argv[], char *const envp[])
{
	struct exec_args a = { .f = ds_sym_get(sym), .path = path,
			       .argv = argv };

	if (a.f == NULL)
		return ds_libc_missing();
	return (int)with_lineage(envp, step_execve, &a);
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

DS_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
		       char *const envp[], int flags)
{
	struct exec_args a = { .f = ds_sym_get(&real_execveat), .fd = dirfd,
			       .flags = flags, .path = path, .argv = argv };

	if (a.f == NULL)
		return ds_libc_missing();
	return (int)with_lineage(envp, step_execveat, &a);
}

DS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct exec_args a = { .f = ds_sym_get(&real_fexecve), .fd = fd,
			       .argv = argv };

	if (a.f == NULL)
		return ds_libc_missing();
	return (int)with_lineage(envp, step_fexecve, &a);
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
	struct exec_args a = { .f = ds_sym_get(sym), .path = path,
			       .argv = argv, .pid = pid, .fa = fa,
			       .attr = attr };

	if (a.f == NULL)
		return ENOSYS; /* posix_spawn returns its error (detshim.h) */
	return (int)with_lineage(envp, step_spawn, &a);
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

/*
 * system() and popen() start their shell through glibc's internal
 * posix_spawn, with the environ array as it is at the call; no preload
 * sees that spawn.  So for the length of the call environ names a copy
 * that carries the child's lineage key (the same copy every other exec
 * gets), and then the program's own array again.  A setenv in another
 * thread during the call copies the copy: the key is then taken out of
 * that new array again, and the old entry put back.
 */
struct env_swap {
	char **saved;  /* the program's array */
	void *f;       /* the real system or popen */
	const char *cmd;
	const char *mode;
	bool is_popen;
	long result;
};

static long call_shell(const struct env_swap *w)
{
	if (w->is_popen)
		return (long)((FILE * (*)(const char *, const char *))w->f)(
			w->cmd, w->mode);
	return ((int (*)(const char *))w->f)(w->cmd);
}

/* Put the program's array back, or mend the array that a concurrent
 * setenv made from the copy: var (ours) out, the old entry back. */
static void env_restore(const struct env_swap *w, char **copy, char *var)
{
	char *old = NULL;
	char **e;
	size_t i;

	if (environ == copy) {
		environ = w->saved;
		return;
	}
	for (i = 0; w->saved[i]; i++)
		if (has_prefix(w->saved[i], DS_LINEAGE_VAR "="))
			old = w->saved[i];
	for (e = environ; e && *e; e++) {
		if (*e != var)
			continue;
		if (old) {
			*e = old;
		} else {
			do
				e[0] = e[1];
			while (*e++);
		}
		return;
	}
}

static long step_shell(void *c, char *const envp[])
{
	struct env_swap *w = c;
	char **copy = (char **)envp;
	size_t n = 0;

	if (envp == w->saved) { /* no lineage for this child */
		w->result = call_shell(w);
		return 0;
	}
	while (copy[n])
		n++;
	environ = copy;
	w->result = call_shell(w);
	env_restore(w, copy, copy[n - 1]); /* child_env puts the key last */
	return 0;
}

static long run_shell(struct env_swap *w)
{
	w->saved = environ;
	with_lineage(w->saved, step_shell, w);
	return w->result;
}

DS_EXPORT int system(const char *cmd)
{
	struct env_swap w = { .f = ds_sym_get(&real_system), .cmd = cmd };

	if (w.f == NULL)
		return ds_libc_missing();
	return (int)run_shell(&w);
}

DS_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	struct env_swap w = { .f = ds_sym_get(&real_popen), .cmd = cmd,
			      .mode = mode, .is_popen = true };

	if (w.f == NULL) {
		ds_libc_missing();
		return NULL;
	}
	return (FILE *)run_shell(&w);
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
	ds_prov_before_sandbox();
	ds_event(&site_seccomp, "observed",
		 "entering seccomp: no log line and no system call of the "
		 "shim's own from now on");
}

void ds_sandbox_after(long result)
{
	if (result < 0) /* a filter with a listener returns its fd */
		return;
	atomic_store(&ds_sandbox_state, 1);
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
