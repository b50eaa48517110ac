/*
 * elfcheck.c - finding the shim and checking that the command can load
 * it, before anything runs.
 *
 * ld.so is known to refuse a preload in these cases, each answered here
 * with one line that says why (the pipe of spawn.c answers the rest
 * after the run):
 *  - a static binary (no PT_INTERP: no ld.so at all);
 *  - a set-id or file-capability binary (AT_SECURE: LD_PRELOAD paths
 *    with '/' are ignored, ld.so(8));
 *  - an ELF class or machine other than the shim's.
 * A script is checked through its interpreter (one level of #!, and the
 * program behind "#!/usr/bin/env NAME").
 */
#include "detrun.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

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

bool dr_is_shim_entry(const char *entry, const char *shim)
{
	const char *base = strrchr(entry, '/');

	base = base ? base + 1 : entry;
	return (shim && strcmp(entry, shim) == 0) ||
	       strcmp(base, DR_SHIM_NAME) == 0;
}

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
			snprintf(cand[n++], sizeof(cand[0]), "%s/" DR_SHIM_NAME,
				 dir);
			snprintf(cand[n++], sizeof(cand[0]),
				 "%s/../lib/detshim/" DR_SHIM_NAME, dir);
		}
		snprintf(cand[n++], sizeof(cand[0]), "%s/" DR_SHIM_NAME,
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
		if (access(interp, F_OK) != 0) {
			dr_err("'%s': its interpreter '%s' (the #! line) does "
			       "not exist", path, interp);
			return DR_EXIT_NOTFOUND;
		}
		if (access(interp, X_OK) != 0) {
			dr_err("'%s': its interpreter '%s' (the #! line) "
			       "cannot be executed: %s", path, interp,
			       strerror(errno));
			return DR_EXIT_NOEXEC;
		}
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

/* True if the 64-bit ELF program at path names libasan among its
 * DT_NEEDED libraries (its .dynamic section and the string table it
 * links to). */
bool dr_needs_asan(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *m;
	const Elf64_Ehdr *h;
	bool found = false;
	int i;

	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(*h)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	h = (const Elf64_Ehdr *)m;
#define IN_FILE(off, len) ((off) <= (size_t)st.st_size && \
			   (len) <= (size_t)st.st_size - (off))
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) == 0 &&
	    h->e_ident[EI_CLASS] == ELFCLASS64 && h->e_shentsize == sizeof(Elf64_Shdr) &&
	    IN_FILE(h->e_shoff, (size_t)h->e_shnum * sizeof(Elf64_Shdr))) {
		const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + h->e_shoff);

		for (i = 0; i < h->e_shnum && !found; i++) {
			const Elf64_Shdr *str = &sh[sh[i].sh_link % h->e_shnum];
			const Elf64_Dyn *d = (const Elf64_Dyn *)(m + sh[i].sh_offset);
			size_t k, n = sh[i].sh_size / sizeof(*d);

			if (sh[i].sh_type != SHT_DYNAMIC ||
			    !IN_FILE(sh[i].sh_offset, sh[i].sh_size) ||
			    !IN_FILE(str->sh_offset, str->sh_size))
				continue;
			for (k = 0; k < n && d[k].d_tag != DT_NULL; k++)
				if (d[k].d_tag == DT_NEEDED &&
				    d[k].d_un.d_val + 11 < str->sh_size &&
				    strncmp((const char *)m + str->sh_offset +
						    d[k].d_un.d_val,
					    "libasan.so", 10) == 0)
					found = true;
		}
	}
#undef IN_FILE
	munmap((void *)m, (size_t)st.st_size);
	return found;
}
