/*
 * spawn.c - find the shim, check the command can load it, build the
 * child's environment and run the command once.
 *
 * Invariant: every run of one detrun invocation gets a byte-identical
 * environment, argv and working directory, and the same personality,
 * because with ASLR off the stack and heap layout still follow the size
 * of the environment (cpu.md §1.7).  Hence the fixed-width seed and the
 * fixed-width DETSHIM_LOADED_FD, and verify.c's fixed-width log names.
 *
 * "Did the shim load?" is answered twice:
 *  - before running, for the cases ld.so is known to refuse: a static
 *    binary (no PT_INTERP: no ld.so at all), a set-id or file-capability
 *    binary (AT_SECURE: LD_PRELOAD paths with '/' are ignored, ld.so(8)),
 *    and an ELF class or machine other than the shim's;
 *  - after running, by the pipe whose write end the child inherits as
 *    DETSHIM_LOADED_FD: the shim's constructor writes "detshim <version>"
 *    into it (shim/init.c).  No byte means the program ran without it.
 */
#include "detrun.h"
#include "detshim.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

extern char **environ;

#ifndef DS_BUILD_SO
#define DS_BUILD_SO ""
#endif
#ifndef DS_LIBDIR
#define DS_LIBDIR "/usr/local/lib"
#endif

/* ------------------------------------------------------------------ */
/* ELF inspection. */

struct elf_info {
	int cls;       /* ELFCLASS32 / ELFCLASS64 */
	int machine;   /* e_machine */
	int type;      /* e_type */
	bool interp;   /* has PT_INTERP (dynamically linked executable) */
};

/* Read the ELF header and program headers of path.  Returns 0, -ENOEXEC
 * if it is not ELF, or -errno. */
static int elf_read(const char *path, struct elf_info *ei)
{
	unsigned char id[EI_NIDENT];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = 0;
	int i;

	memset(ei, 0, sizeof(*ei));
	if (fd < 0)
		return -errno;
	if (pread(fd, id, sizeof(id), 0) != (ssize_t)sizeof(id) ||
	    memcmp(id, ELFMAG, SELFMAG) != 0) {
		e = -ENOEXEC;
		goto out_close;
	}
	ei->cls = id[EI_CLASS];
	/* The ELF header and program headers, for either class. */
#define READ_ELF(Ehdr, Phdr)                                                   \
	do {                                                                   \
		Ehdr h;                                                        \
		Phdr ph;                                                       \
                                                                               \
		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {       \
			e = -ENOEXEC;                                          \
			goto out_close;                                        \
		}                                                              \
		ei->machine = h.e_machine;                                     \
		ei->type = h.e_type;                                           \
		for (i = 0; i < h.e_phnum && i < 256; i++) {                   \
			off_t at = (off_t)h.e_phoff +                          \
				   (off_t)i * h.e_phentsize;                   \
                                                                               \
			if (pread(fd, &ph, sizeof(ph), at) !=                  \
			    (ssize_t)sizeof(ph))                               \
				break;                                         \
			if (ph.p_type == PT_INTERP)                            \
				ei->interp = true;                             \
		}                                                              \
	} while (0)
	if (ei->cls == ELFCLASS64)
		READ_ELF(Elf64_Ehdr, Elf64_Phdr);
	else if (ei->cls == ELFCLASS32)
		READ_ELF(Elf32_Ehdr, Elf32_Phdr);
	else
		e = -ENOEXEC;
#undef READ_ELF
out_close:
	close(fd);
	return e;
}

static const char *elf_class_name(int cls)
{
	return cls == ELFCLASS64 ? "64-bit" : cls == ELFCLASS32 ? "32-bit"
								: "unknown";
}

/* ------------------------------------------------------------------ */
/* Finding the shim. */

/* Directory of the running detrun, or "" if /proc is unavailable. */
static void self_dir(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	char *slash;

	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

/* Check one candidate: exists (else -ENOENT, silently skipped when not
 * explicit), is an ELF shared object. */
static int shim_check(const char *path, bool explicit_, const char *how)
{
	struct elf_info ei;
	struct stat st;
	int e;

	if (stat(path, &st) != 0) {
		if (explicit_)
			dr_err("%s '%s': %s", how, path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		dr_err("%s '%s': not a regular file", how, path);
		return -EINVAL;
	}
	e = elf_read(path, &ei);
	if (e == -ENOEXEC || (e == 0 && ei.type != ET_DYN)) {
		dr_err("%s '%s': not an ELF shared object; ld.so could not "
		       "preload it", how, path);
		return -ENOEXEC;
	}
	if (e) {
		dr_err("%s '%s': cannot read: %s", how, path, strerror(-e));
		return e;
	}
	return 0;
}

int dr_find_shim(const struct dr_opts *o, char *out, size_t cap)
{
	char dir[PATH_MAX];
	char cand[4][PATH_MAX + 32];
	const char *env = getenv("DETSHIM_SO");
	const char *pick = NULL;
	size_t n = 0;
	size_t i;

	if (o->shim || (env && *env)) {
		const char *p = o->shim ? o->shim : env;
		const char *how = o->shim ? "--shim" : "DETSHIM_SO";

		if (shim_check(p, true, how))
			return DR_EXIT_NOSHIM;
		pick = p;
	} else {
		/* Next to detrun (the build tree: build/detrun beside
		 * build/libdetshim.so), then ../lib/detshim of detrun (an install,
		 * also one under DESTDIR), then the configured LIBDIR, then
		 * the build tree this detrun was compiled in. */
		self_dir(dir, sizeof(dir));
		if (dir[0]) {
			snprintf(cand[n++], sizeof(cand[0]), "%s/libdetshim.so",
				 dir);
			snprintf(cand[n++], sizeof(cand[0]),
				 "%s/../lib/detshim/libdetshim.so", dir);
		}
		snprintf(cand[n++], sizeof(cand[0]), "%s/libdetshim.so",
			 DS_LIBDIR);
		if (DS_BUILD_SO[0])
			snprintf(cand[n++], sizeof(cand[0]), "%s", DS_BUILD_SO);
		for (i = 0; i < n && pick == NULL; i++) {
			int e = shim_check(cand[i], false, "shim");

			if (e == 0)
				pick = cand[i];
			else if (e != -ENOENT && e != -ENOTDIR)
				return DR_EXIT_NOSHIM;
		}
		if (pick == NULL) {
			dr_err("cannot find libdetshim.so; looked in:");
			for (i = 0; i < n; i++)
				fprintf(stderr, "  %s\n", cand[i]);
			fprintf(stderr, "  (name it with --shim PATH or "
					"DETSHIM_SO=PATH)\n");
			return DR_EXIT_USAGE;
		}
	}
	if (realpath(pick, out) == NULL || strlen(out) >= cap) {
		dr_err("shim '%s': %s", pick, strerror(errno));
		return DR_EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The command. */

/* Resolve cmd like execvp: with a '/', as given; else through PATH.
 * Returns 0, DR_EXIT_NOTFOUND or DR_EXIT_NOEXEC after a message. */
static int resolve_cmd(const char *cmd, char *exe, size_t cap)
{
	const char *path = getenv("PATH");
	struct stat st;
	bool denied = false;
	char *copy, *dir, *save = NULL;

	if (strchr(cmd, '/')) {
		if (stat(cmd, &st) != 0) {
			dr_err("%s: %s", cmd, strerror(errno));
			return errno == ENOENT || errno == ENOTDIR
				       ? DR_EXIT_NOTFOUND : DR_EXIT_NOEXEC;
		}
		if (S_ISDIR(st.st_mode)) {
			dr_err("%s: is a directory", cmd);
			return DR_EXIT_NOEXEC;
		}
		if (access(cmd, X_OK) != 0) {
			dr_err("%s: %s", cmd, strerror(errno));
			return DR_EXIT_NOEXEC;
		}
		snprintf(exe, cap, "%s", cmd);
		return 0;
	}
	if (path == NULL)
		path = "/bin:/usr/bin";
	copy = dr_xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];

		snprintf(cand, sizeof(cand), "%s/%s", *dir ? dir : ".", cmd);
		if (stat(cand, &st) != 0 || S_ISDIR(st.st_mode))
			continue;
		if (access(cand, X_OK) != 0) {
			denied = true;
			continue;
		}
		snprintf(exe, cap, "%s", cand);
		free(copy);
		return 0;
	}
	free(copy);
	if (denied) {
		dr_err("%s: permission denied", cmd);
		return DR_EXIT_NOEXEC;
	}
	dr_err("%s: command not found", cmd);
	return DR_EXIT_NOTFOUND;
}

/* True if exec'ing path would run with AT_SECURE, where ld.so ignores
 * LD_PRELOAD entries that contain a '/' (ld.so(8), "secure-execution
 * mode"). */
static bool secure_exec(const char *path, const struct stat *st,
			const char **why)
{
	struct statvfs vfs;
	uid_t euid;
	gid_t egid;

	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return false; /* set-id bits are not honoured */
	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return false;
	euid = (st->st_mode & S_ISUID) ? st->st_uid : geteuid();
	egid = (st->st_mode & S_ISGID) ? st->st_gid : getegid();
	if (euid != getuid()) {
		*why = "set-user-ID";
		return true;
	}
	if (egid != getgid()) {
		*why = "set-group-ID";
		return true;
	}
	if (getxattr(path, "security.capability", NULL, 0) > 0 &&
	    getuid() != 0) {
		*why = "file capabilities";
		return true;
	}
	return false;
}

/* Check that the shim can be preloaded into the program at path. */
static int check_loadable(const char *shim, const char *path, int depth)
{
	struct elf_info se, ce;
	struct stat st;
	const char *why = NULL;
	int e;

	if (stat(path, &st) != 0)
		return 0; /* exec will report it */
	e = elf_read(path, &ce);
	if (e == -ENOEXEC) {
		char line[PATH_MAX + 8];
		char interp[PATH_MAX];
		char arg[PATH_MAX];
		FILE *f;
		int n;

		/* A script: check its interpreter (one level), and the
		 * program behind "#!/usr/bin/env NAME". */
		if (depth > 0 || (f = fopen(path, "re")) == NULL)
			return 0;
		n = 0;
		if (fgets(line, sizeof(line), f) && line[0] == '#' &&
		    line[1] == '!')
			n = sscanf(line + 2, " %4095s %4095s", interp, arg);
		fclose(f);
		if (n < 1)
			return 0;
		e = check_loadable(shim, interp, depth + 1);
		if (e || n < 2 || strcmp(strrchr(interp, '/') ?
					 strrchr(interp, '/') + 1 : interp,
					 "env") != 0 || arg[0] == '-')
			return e;
		{
			char exe[PATH_MAX];
			int fd = dup(2);

			/* Quietly: a missing NAME is the script's error. */
			if (fd >= 0) {
				int nul = open("/dev/null", O_WRONLY);

				if (nul >= 0) {
					dup2(nul, 2);
					close(nul);
				}
			}
			e = resolve_cmd(arg, exe, sizeof(exe));
			if (fd >= 0) {
				dup2(fd, 2);
				close(fd);
			}
			return e ? 0 : check_loadable(shim, exe, depth + 1);
		}
	}
	if (e)
		return 0;
	if (!ce.interp) {
		dr_err("'%s' is statically linked (no ELF interpreter): "
		       "LD_PRELOAD cannot work and detshim would not load; "
		       "relink it dynamically (see detrun(1), LIMITS)", path);
		return DR_EXIT_NOSHIM;
	}
	if (elf_read(shim, &se) == 0 &&
	    (se.cls != ce.cls || se.machine != ce.machine)) {
		dr_err("'%s' is a %s ELF program for machine %d but the shim "
		       "'%s' is %s for machine %d: ld.so would ignore it; "
		       "build detshim for that target", path,
		       elf_class_name(ce.cls), ce.machine, shim,
		       elf_class_name(se.cls), se.machine);
		return DR_EXIT_NOSHIM;
	}
	if (secure_exec(path, &st, &why)) {
		dr_err("'%s' is %s: ld.so runs it in secure-execution mode and "
		       "ignores LD_PRELOAD paths, so detshim would not load "
		       "(see detrun(1), LIMITS)", path, why);
		return DR_EXIT_NOSHIM;
	}
	return 0;
}

int dr_check_command(const char *shim, const char *cmd, char *exe,
		     size_t cap)
{
	int e = resolve_cmd(cmd, exe, cap);

	if (e)
		return e;
	return check_loadable(shim, exe, 0);
}

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
		const char *base = strrchr(tok, '/');
		char *next;

		base = base ? base + 1 : tok;
		if (strcmp(tok, shim) == 0 || strcmp(base, "libdetshim.so") == 0)
			continue;
		next = dr_xasprintf("%s:%s", out, tok);
		free(out);
		out = next;
	}
	free(copy);
	return out;
}

int dr_build_env(const struct dr_opts *o, struct dr_launch *l)
{
	struct ds_config cfg;
	char err[DS_PATH_MAX + 256];
	size_t n = 0;
	char **e;
	char *v;

	for (e = environ; *e; e++)
		n++;
	l->envp = dr_xmalloc((n + 16) * sizeof(char *));
	for (e = environ; *e; e++)
		l->envp[l->nenv++] = *e;
	l->envp[l->nenv] = NULL;

	/* Each detrun starts a fresh key tree from the seed: a lineage
	 * inherited from an enclosing detshim run would key every run by
	 * that run's history instead. */
	env_unset(l, DS_LINEAGE_VAR);
	if (o->seed) {
		uint64_t s = 0;
		char buf[32];

		ds_parse_seed(o->seed, &s);
		snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)s);
		dr_env_set(l, "DETSHIM_SEED", buf);
	}
	if (o->config) {
		if (access(o->config, R_OK) != 0) {
			dr_err("--config '%s': %s", o->config, strerror(errno));
			return DR_EXIT_USAGE;
		}
		v = abs_path(o->config);
		dr_env_set(l, "DETSHIM_CONFIG", v);
	}
	if (o->policy)
		dr_env_set(l, "DETSHIM_POLICY", o->policy);
	if (o->seed_mode)
		dr_env_set(l, "DETSHIM_SEED_MODE", o->seed_mode);
	if (o->algo_cache)
		dr_env_set(l, "DETSHIM_ALGO_CACHE", abs_path(o->algo_cache));
	if (o->log && !o->verify)
		dr_env_set(l, "DETSHIM_LOG", abs_path(o->log));
	v = preload_value(l->shim, getenv("LD_PRELOAD"));
	dr_env_set(l, "LD_PRELOAD", v);
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
		static const char *const shown[] = {
			"LD_PRELOAD", "DETSHIM_SEED", "DETSHIM_CONFIG",
			"DETSHIM_LOG", "DETSHIM_POLICY", "DETSHIM_SEED_MODE",
			"DETSHIM_ALGO_CACHE", NULL };
		const char *const *s;

		for (s = shown; *s; s++) {
			ssize_t i = env_find(l, *s);

			if (i >= 0)
				fprintf(stderr, "%s: %s\n", dr_prog, l->envp[i]);
		}
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

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static void put_digits(char *at, int fd)
{
	at[0] = (char)('0' + fd / 1000 % 10);
	at[1] = (char)('0' + fd / 100 % 10);
	at[2] = (char)('0' + fd / 10 % 10);
	at[3] = (char)('0' + fd % 10);
}

int dr_run_once(const struct dr_launch *l, char **argv, int in_fd,
		int out_fd, int err_fd, struct dr_result *r)
{
	struct sigaction ign, fwd, old_int, old_quit, old_term, old_hup;
	int lp[2], ep[2];
	ssize_t slot = env_find(l, DR_LOADED_VAR);
	pid_t pid;
	ssize_t n;
	int err;

	memset(r, 0, sizeof(*r));
	if (pipe2(lp, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
		dr_err("pipe: %s", strerror(errno));
		return DR_EXIT_USAGE;
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	memset(&fwd, 0, sizeof(fwd));
	fwd.sa_handler = forward;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGTERM, &fwd, &old_term);
	sigaction(SIGHUP, &fwd, &old_hup);
	fflush(NULL);

	pid = fork();
	if (pid < 0) {
		dr_err("fork: %s", strerror(errno));
		return DR_EXIT_USAGE;
	}
	if (pid == 0) {
		int wfd;

		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (in_fd >= 0)
			dup2(in_fd, 0);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
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
			size_t k = 0;
			char **sh;

			while (argv[k])
				k++;
			sh = calloc(k + 2, sizeof(char *));
			if (sh) {
				sh[0] = (char *)"/bin/sh";
				sh[1] = (char *)l->exe;
				memcpy(sh + 2, argv + 1, k * sizeof(char *));
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
	child_pid = pid;
	close(lp[1]);
	close(ep[1]);
	do {
		n = read(ep[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(err))
		r->exec_errno = err;
	close(ep[0]);
	while (waitpid(pid, &r->status, 0) < 0) {
		if (errno != EINTR) {
			dr_err("waitpid: %s", strerror(errno));
			r->status = 0;
			break;
		}
	}
	child_pid = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);

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
