/*
 * spawn.c - the child's environment, address randomisation and running
 * the command once.
 *
 * Invariant: every run of one detrun invocation gets a byte-identical
 * environment, argv and working directory, and the same personality,
 * because with ASLR off the stack and heap layout still follow the size
 * of the environment (docs/CPU_FACTS.md §1.7).  Hence the fixed-width seed and
 * the fixed-width DETSHIM_LOADED_FD, and verify.c's fixed-width log names.
 *
 * "Did the shim load?" is answered twice: before running, for the cases
 * ld.so is known to refuse (elfcheck.c); after running, by the pipe whose
 * write end the child inherits as DETSHIM_LOADED_FD: the shim's
 * constructor writes "detshim <version>" into it (shim/init.c).  No byte
 * means the program ran without it.
 */
#include "detrun.h"
#include "detshim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------ */
/* Environment. */

static ssize_t env_find(const struct dr_launch *l, const char *name)
{
	size_t n = strlen(name);
	size_t i;

	for (i = 0; i < l->nenv; i++)
		if (strncmp(l->envp[i], name, n) == 0 && l->envp[i][n] == '=')
			return (ssize_t)i;
	return -1;
}

void dr_env_set(struct dr_launch *l, const char *name, const char *value)
{
	ssize_t i = env_find(l, name);
	char *kv = dr_xasprintf("%s=%s", name, value);

	if (i >= 0) {
		l->envp[i] = kv;
		return;
	}
	l->envp[l->nenv++] = kv;
	l->envp[l->nenv] = NULL;
}

static void env_unset(struct dr_launch *l, const char *name)
{
	ssize_t i = env_find(l, name);

	if (i < 0)
		return;
	memmove(&l->envp[i], &l->envp[i + 1],
		(l->nenv - (size_t)i) * sizeof(char *));
	l->nenv--;
}

/* Absolute form of a path the child may open after a chdir. */
static char *abs_path(const char *p)
{
	char cwd[PATH_MAX];

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return dr_xstrdup(p);
	return dr_xasprintf("%s/%s", cwd, p);
}

/* LD_PRELOAD = shim, then the user's entries (space or colon separated,
 * ld.so(8)) without earlier copies of a detshim. */
static char *preload_value(const char *shim, const char *user)
{
	char *out = dr_xstrdup(shim);
	char *copy, *tok, *save = NULL;

	if (user == NULL)
		return out;
	copy = dr_xstrdup(user);
	for (tok = strtok_r(copy, ": ", &save); tok;
	     tok = strtok_r(NULL, ": ", &save)) {
		char *next;

		if (dr_is_shim_entry(tok, shim))
			continue;
		next = dr_xasprintf("%s:%s", out, tok);
		free(out);
		out = next;
	}
	free(copy);
	return out;
}

/* -v: one variable of the child's environment, if set. */
static void show(const struct dr_launch *l, const char *name)
{
	ssize_t i = env_find(l, name);

	if (i >= 0)
		fprintf(stderr, "%s: %s\n", dr_prog, l->envp[i]);
}

int dr_build_env(const struct dr_opts *o, struct dr_launch *l)
{
	struct ds_config cfg;
	char err[DS_PATH_MAX + 256];
	size_t n = 0, i;
	char **e;
	char *v;

	for (e = environ; *e; e++)
		n++;
	l->envp = dr_xmalloc((n + DR_MAX_FLAGS + 8) * sizeof(char *));
	for (e = environ; *e; e++)
		l->envp[l->nenv++] = *e;
	l->envp[l->nenv] = NULL;

	/* Each detrun starts a fresh key tree from the seed: a lineage
	 * inherited from an enclosing detshim run would key every run by
	 * that run's history instead. */
	env_unset(l, DS_LINEAGE_VAR);
	for (i = 0; i < dr_nflags; i++) {
		const struct dr_flag *f = &dr_flags[i];
		const char *val = o->value[i];
		char buf[32];
		uint64_t s = 0;

		if (val == NULL)
			continue;
		switch (f->kind) {
		case DR_SEED:
			ds_parse_seed(val, &s); /* checked by parse_args */
			snprintf(buf, sizeof(buf), "0x%016llx",
				 (unsigned long long)s);
			val = buf;
			break;
		case DR_FILE:
			if (access(val, R_OK) != 0) {
				dr_err("%s '%s': %s", f->lng, val,
				       strerror(errno));
				return DR_EXIT_USAGE;
			}
			val = abs_path(val);
			break;
		case DR_LOG:
			if (o->verify)
				continue; /* verify.c names one per run */
			val = abs_path(val);
			break;
		case DR_PATH:
			val = abs_path(val);
			break;
		default:
			break;
		}
		dr_env_set(l, dr_flag_var(f), val);
	}
	v = preload_value(l->shim, getenv("LD_PRELOAD"));
	dr_env_set(l, "LD_PRELOAD", v);
	if (o->aslr) /* the shim would turn it off itself (shim/aslr.c) */
		dr_env_set(l, ds_config_var(offsetof(struct ds_config, aslr)), "1");
	/* Fixed width; spawn fills in the fd number in the child. */
	dr_env_set(l, DR_LOADED_VAR, "0000");

	/* Check the variables and the config file with the shim's own
	 * parser now: one clear message before anything runs, instead of
	 * the child stopping with status 2. */
	if (ds_config_from_env(&cfg, l->envp, err, sizeof(err)) != 0) {
		if (cfg.policy == DS_POLICY_WARN) {
			dr_note(o, "warning: %s (policy warn: the shim will "
				   "continue with defaults)", err);
		} else {
			dr_err("%s", err);
			return DR_EXIT_USAGE;
		}
	}
	if (o->verbose) {
		show(l, "LD_PRELOAD");
		for (i = 0; i < dr_nflags; i++)
			if (dr_flags[i].var != DR_NO_VAR)
				show(l, dr_flag_var(&dr_flags[i]));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* ASLR. */

void dr_aslr_setup(const struct dr_opts *o)
{
	int cur;

	if (o->aslr)
		return;
	cur = personality(0xffffffff);
	if (cur == -1 || (cur & ADDR_NO_RANDOMIZE))
		return;
	if (personality((unsigned long)cur | ADDR_NO_RANDOMIZE) == -1 ||
	    !(personality(0xffffffff) & ADDR_NO_RANDOMIZE))
		dr_note(o, "warning: cannot turn address randomisation off "
			   "(personality: %s; a container's seccomp profile "
			   "may forbid it); addresses will differ between "
			   "runs, continuing", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Running. */

static volatile sig_atomic_t child_pid;
volatile sig_atomic_t dr_stop_signal;

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static void note_stop(int sig)
{
	dr_stop_signal = sig;
}

void dr_catch_stop(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_stop; /* no SA_RESTART: waits return EINTR */
	/* A signal detrun was started with ignored (nohup, a shell's
	 * background job) stays ignored, as in a shell. */
	for (i = 0; i < DS_ARRAY_SIZE(sigs); i++) {
		struct sigaction old;

		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static void put_digits(char *at, int fd)
{
	at[0] = (char)('0' + fd / 1000 % 10);
	at[1] = (char)('0' + fd / 100 % 10);
	at[2] = (char)('0' + fd / 10 % 10);
	at[3] = (char)('0' + fd % 10);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write all of buf to fd (a file or the terminal); errors are ignored: a
 * closed terminal must not stop the run. */
static void put_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* One read from a tee pipe into both fds; false at its end. */
static bool tee_once(int from, int to_file, int to_tty)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	put_all(to_file, buf, (size_t)n);
	put_all(to_tty, buf, (size_t)n);
	return true;
}

/*
 * Tree mode (--verify): wait until the command and every process it left
 * behind have exited.  The command leads its own process group and
 * detrun is their subreaper (dr_verify), so orphans are reaped here too.
 * Descendants still running linger_s seconds after the command exited
 * are killed (r->lingered).  A stop signal (dr_stop_signal) sends
 * SIGTERM to the group, SIGKILL 3 s later.  Tee pipes are copied as
 * they fill.
 */
static void wait_tree(pid_t pid, const struct dr_spawn *s, int *tee_fd,
		      double t0, struct dr_result *r)
{
	double t_done = 0, t_kill = 0;
	bool done = false;
	int killed = 0; /* 1: SIGTERM sent, 2: SIGKILL sent */
	int to_file[2] = { s->out_fd, s->err_fd };
	int to_tty[2] = { s->tee_out, s->tee_err };

	for (;;) {
		struct pollfd pf[2];
		nfds_t np = 0;
		int st, k;
		pid_t w;
		double t;

		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w == pid) {
				r->status = st;
				done = true;
				t_done = now_s();
				r->wall_s = t_done - t0;
			} else if (done) {
				r->late++;
			}
		}
		if (w < 0 && errno == ECHILD)
			break;
		t = now_s();
		if (dr_stop_signal && !r->stopped) {
			r->stopped = dr_stop_signal;
			kill(-pid, SIGTERM);
			if (!done)
				kill(pid, SIGTERM);
			killed = 1;
			t_kill = t;
		}
		if (done && !killed && t - t_done > (double)s->linger_s) {
			r->lingered = true;
			kill(-pid, SIGKILL);
			killed = 2;
			t_kill = t;
		}
		if (killed == 1 && t - t_kill > 3) {
			kill(-pid, SIGKILL);
			if (!done)
				kill(pid, SIGKILL);
			killed = 2;
			t_kill = t;
		}
		if (killed == 2 && t - t_kill > 2)
			break; /* left the group (setsid) and ignores us */
		for (k = 0; k < 2; k++)
			if (tee_fd[k] >= 0) {
				pf[np].fd = tee_fd[k];
				pf[np].events = POLLIN;
				np++;
			}
		poll(pf, np, 20);
		for (k = 0; k < 2; k++)
			if (tee_fd[k] >= 0 && !tee_once(tee_fd[k], to_file[k],
							 to_tty[k])) {
				close(tee_fd[k]);
				tee_fd[k] = -1;
			}
	}
	if (!done)
		r->wall_s = now_s() - t0;
	for (int k = 0; k < 2; k++) {
		if (tee_fd[k] < 0)
			continue;
		while (tee_once(tee_fd[k], to_file[k], to_tty[k]))
			;
		close(tee_fd[k]);
	}
}

int dr_run(const struct dr_launch *l, char **argv, const struct dr_spawn *s,
	   struct dr_result *r)
{
	struct sigaction ign, fwd, old_int, old_quit, old_term, old_hup;
	int lp[2], ep[2];
	int tp[2][2] = { { -1, -1 }, { -1, -1 } };
	int tee_fd[2] = { -1, -1 };
	ssize_t slot = env_find(l, DR_LOADED_VAR);
	double t0;
	pid_t pid;
	ssize_t n;
	int err, k;

	memset(r, 0, sizeof(*r));
	if (pipe2(lp, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
		dr_err("pipe: %s", strerror(errno));
		return DR_EXIT_USAGE;
	}
	for (k = 0; k < 2 && s->tree; k++)
		if ((k ? s->tee_err : s->tee_out) >= 0 &&
		    pipe2(tp[k], O_CLOEXEC) != 0) {
			dr_err("pipe: %s", strerror(errno));
			return DR_EXIT_USAGE;
		}
	if (!s->tree) {
		/* Run mode: like system(3), forwarding SIGTERM/SIGHUP. */
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		memset(&fwd, 0, sizeof(fwd));
		fwd.sa_handler = forward;
		sigaction(SIGINT, &ign, &old_int);
		sigaction(SIGQUIT, &ign, &old_quit);
		sigaction(SIGTERM, &fwd, &old_term);
		sigaction(SIGHUP, &fwd, &old_hup);
	}
	fflush(NULL);
	t0 = now_s();

	pid = fork();
	if (pid < 0) {
		dr_err("fork: %s", strerror(errno));
		return DR_EXIT_USAGE;
	}
	if (pid == 0) {
		int wfd;

		if (s->tree) {
			setpgid(0, 0);
			signal(SIGINT, SIG_DFL);
			signal(SIGQUIT, SIG_DFL);
		} else {
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGQUIT, &old_quit, NULL);
		}
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (s->in_fd >= 0)
			dup2(s->in_fd, 0);
		if (tp[0][1] >= 0)
			dup2(tp[0][1], 1);
		else if (s->out_fd >= 0)
			dup2(s->out_fd, 1);
		if (tp[1][1] >= 0)
			dup2(tp[1][1], 2);
		else if (s->err_fd >= 0)
			dup2(s->err_fd, 2);
		/* The write end, inheritable, at the lowest free fd >= 10
		 * (the same number in every run). */
		wfd = fcntl(lp[1], F_DUPFD, 10);
		if (wfd < 0 || wfd > 9999 || slot < 0) {
			err = wfd < 0 ? errno : EMFILE;
			goto child_fail;
		}
		put_digits(l->envp[slot] + strlen(DR_LOADED_VAR) + 1, wfd);
		execve(l->exe, argv, l->envp);
		if (errno == ENOEXEC) {
			/* No #! line: run it with the shell, as execvp does. */
			size_t i = 0;
			char **sh;

			while (argv[i])
				i++;
			sh = calloc(i + 2, sizeof(char *));
			if (sh) {
				sh[0] = (char *)"/bin/sh";
				sh[1] = (char *)l->exe;
				memcpy(sh + 2, argv + 1, i * sizeof(char *));
				execve("/bin/sh", sh, l->envp);
			}
			errno = ENOEXEC;
		}
		err = errno;
child_fail:
		n = write(ep[1], &err, sizeof(err));
		(void)n;
		_exit(DR_EXIT_NOTFOUND);
	}
	if (s->tree)
		setpgid(pid, pid); /* either side may run first */
	child_pid = pid;
	close(lp[1]);
	close(ep[1]);
	for (k = 0; k < 2; k++)
		if (tp[k][1] >= 0) {
			close(tp[k][1]);
			tee_fd[k] = tp[k][0];
		}
	do {
		n = read(ep[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(err))
		r->exec_errno = err;
	close(ep[0]);
	if (s->tree) {
		wait_tree(pid, s, tee_fd, t0, r);
	} else {
		while (waitpid(pid, &r->status, 0) < 0) {
			if (errno != EINTR) {
				dr_err("waitpid: %s", strerror(errno));
				r->status = 0;
				break;
			}
		}
		r->wall_s = now_s() - t0;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
	}
	child_pid = 0;

	/* Never block here: without the shim, descendants of the command
	 * may still hold the write end. */
	fcntl(lp[0], F_SETFL, O_NONBLOCK);
	do {
		n = read(lp[0], r->loaded_msg, sizeof(r->loaded_msg) - 1);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		r->loaded_msg[n] = '\0';
		r->loaded_msg[strcspn(r->loaded_msg, "\n")] = '\0';
		r->loaded = strncmp(r->loaded_msg, "detshim ", 8) == 0;
	}
	close(lp[0]);
	return 0;
}

static void describe_status(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, cap, "wait status 0x%x", (unsigned)st);
}

int dr_report_exec(const struct dr_launch *l, const struct dr_result *r)
{
	if (r->exec_errno == 0)
		return 0;
	dr_err("cannot execute '%s': %s", l->exe, strerror(r->exec_errno));
	return r->exec_errno == ENOENT ? DR_EXIT_NOTFOUND : DR_EXIT_NOEXEC;
}

int dr_report_noshim(const struct dr_launch *l, const struct dr_result *r,
		     const char *where)
{
	char st[96];

	describe_status(r->status, st, sizeof(st));
	if (WIFSIGNALED(r->status)) {
		dr_err("'%s' was %s before detshim reported loading%s%s; "
		       "its run cannot be trusted", l->exe, st,
		       where ? " in " : "", where ? where : "");
		return DR_EXIT_NOSHIM;
	}
	dr_err("detshim did NOT load in '%s'%s%s (%s): the program ran "
	       "WITHOUT the shim, so its results are not reproducible.",
	       l->exe, where ? " in " : "", where ? where : "", st);
	fprintf(stderr,
		"  shim: %s\n"
		"  ld.so says why on the program's stderr (\"ERROR: ld.so: "
		"object ... cannot be preloaded\");\n"
		"  common causes: the shim file is not detshim or misses a "
		"library, the program\n"
		"  is set-id or static, or a wrapper cleared LD_PRELOAD "
		"before exec.  See detrun(1),\n  DIAGNOSTICS.\n", l->shim);
	return DR_EXIT_NOSHIM;
}

void dr_exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit no_core = { 0, 0 };
		sigset_t set;

		/* Die the same way so a shell or make sees the signal;
		 * no core file of detrun itself. */
		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		fflush(NULL);
		raise(sig);
		exit(128 + sig);
	}
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : DR_EXIT_USAGE);
}
