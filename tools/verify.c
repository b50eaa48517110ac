/*
 * verify.c - `detrun --verify N`: run the command N times with the same
 * seed in fresh processes and say whether the runs are identical.
 *
 * Compared, run 1 against every later run: the exit status, stdout (or
 * the --compare items: stdout, stderr, files or globs the command
 * writes) and the shim logs (logfile.c, event by event per process).
 *
 * Every run gets the same argv, working directory and an environment of
 * the same size (fixed-width run-NNNN names; docs/CPU_FACTS.md §1.7), stdin
 * from /dev/null, and its own log, stdout and stderr files in the run
 * directory (--log DIR, else a temporary one that is removed when the
 * runs are identical).  Files named by --compare are moved into the run
 * directory after each run, so a run that fails to write one is seen as
 * "missing" rather than compared stale; files present before run 1 are
 * moved to DIR/before/ (nothing is deleted), and the last run's files are
 * put back in place at the end.
 */
#include "detrun.h"
#include "bisect.h"
#include "learn.h"
#include "detshim.h"
#include "hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct run {
	bool ran;        /* dr_run returned for it */
	int status;      /* wait status */
	double wall_s;
	int stopped;     /* a stop signal ended it */
	bool lingered;   /* descendants killed after --wait-timeout */
	char **files;    /* --compare paths matched after this run, sorted */
	size_t nfiles;
	uint64_t dig_streams, dig_files, dig_log; /* what is compared */
};

struct verify {
	const struct dr_opts *o;
	struct dr_launch *l;
	char dir[PATH_MAX];
	bool keep;
	const char **items;  /* what to compare besides status and log */
	size_t nitems;
	unsigned n;          /* runs asked for */
	struct run *runs;    /* runs[1..N] */
	struct dr_log *logs; /* logs[1..N], read after each run */
	bool *nothing;       /* nothing[k]: no run wrote --compare item k */
	char *bisect_json;   /* --bisect --json: dr_bisect's object */
};

/* ------------------------------------------------------------------ */
/* Files. */

static char *run_path(const struct verify *v, unsigned i, const char *what)
{
	return dr_xasprintf("%s/run-%04u.%s", v->dir, i, what);
}

/* "a/b%c" -> "a%2Fb%25c": one flat, unique name per path. */
static char *escape_name(const char *p)
{
	char *out = dr_xmalloc(strlen(p) * 3 + 1);
	size_t n = 0;

	for (; *p; p++) {
		if (*p == '/' || *p == '%') {
			n += (size_t)sprintf(out + n, "%%%02X",
					     (unsigned char)*p);
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out;
	ssize_t n;
	int e = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		e = -errno;
		close(in);
		return e;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			e = -EIO;
			break;
		}
	if (n < 0)
		e = -errno;
	close(in);
	if (close(out) != 0 && e == 0)
		e = -errno;
	return e;
}

static int move_file(const char *from, const char *to)
{
	int e;

	if (rename(from, to) == 0)
		return 0;
	if (errno != EXDEV)
		return -errno;
	e = copy_file(from, to);
	if (e == 0 && unlink(from) != 0)
		e = -errno;
	return e;
}

static int ensure_dir(const char *d)
{
	struct stat st;

	if (mkdir(d, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -errno;
}

/* rm -r of the directories this file created (one level of subdirs). */
static void remove_tree(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char *p;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = dr_xasprintf("%s/%s", d, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(p);
		else
			unlink(p);
		free(p);
	}
	closedir(dp);
	rmdir(d);
}

static bool is_stream(const char *item)
{
	return strcmp(item, "stdout") == 0 || strcmp(item, "stderr") == 0;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files matching the file patterns now, sorted, no duplicates. */
static char **match_files(const struct verify *v, size_t *count)
{
	char **out = NULL;
	size_t n = 0, cap = 0, i, k;

	for (i = 0; i < v->nitems; i++) {
		glob_t g;

		if (is_stream(v->items[i]))
			continue;
		if (glob(v->items[i], 0, NULL, &g) != 0)
			continue;
		for (k = 0; k < g.gl_pathc; k++) {
			struct stat st;

			if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (n + 1 >= cap) {
				cap = cap ? cap * 2 : 16;
				out = realloc(out, cap * sizeof(char *));
				if (out == NULL) {
					dr_err("out of memory");
					exit(DR_EXIT_USAGE);
				}
			}
			out[n++] = dr_xstrdup(g.gl_pathv[k]);
		}
		globfree(&g);
	}
	if (n)
		qsort(out, n, sizeof(char *), cmp_strp);
	for (i = 0, k = 0; i < n; i++) {
		if (k && strcmp(out[k - 1], out[i]) == 0) {
			free(out[i]);
			continue;
		}
		out[k++] = out[i];
	}
	*count = k;
	return out;
}

/* Move the matched files into sub (a directory under the run dir). */
static int stash_files(const struct verify *v, char **files, size_t n,
		       const char *sub)
{
	size_t i;
	int e;

	if (n == 0)
		return 0;
	e = ensure_dir(sub);
	if (e) {
		dr_err("cannot create '%s': %s", sub, strerror(-e));
		return DR_EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		char *esc = escape_name(files[i]);
		char *to = dr_xasprintf("%s/%s", sub, esc);

		e = move_file(files[i], to);
		if (e) {
			dr_err("cannot move '%s' to '%s': %s", files[i], to,
			       strerror(-e));
			free(esc);
			free(to);
			return DR_EXIT_USAGE;
		}
		free(esc);
		free(to);
	}
	(void)v;
	return 0;
}

static char *stashed(const struct verify *v, unsigned run, const char *file)
{
	char *esc = escape_name(file);
	char *p = dr_xasprintf("%s/run-%04u.files/%s", v->dir, run, esc);

	free(esc);
	return p;
}

/* ------------------------------------------------------------------ */
/* Comparing two files. */

struct fdiff {
	bool same;
	off_t off;          /* first differing byte */
	unsigned long line; /* 1-based line of that byte */
	off_t line_start;   /* offset of that line's first byte */
	off_t size_a, size_b;
};

static int compare_files(const char *a, const char *b, struct fdiff *d)
{
	char ba[65536], bb[65536];
	FILE *fa = fopen(a, "re");
	FILE *fb = fopen(b, "re");
	off_t off = 0;
	int e = 0;

	memset(d, 0, sizeof(*d));
	d->line = 1;
	if (fa == NULL || fb == NULL) {
		e = -errno;
		goto out_close;
	}
	for (;;) {
		size_t na = fread(ba, 1, sizeof(ba), fa);
		size_t nb = fread(bb, 1, sizeof(bb), fb);
		size_t n = na < nb ? na : nb;
		size_t i;

		for (i = 0; i < n && ba[i] == bb[i]; i++)
			if (ba[i] == '\n') {
				d->line++;
				d->line_start = off + (off_t)i + 1;
			}
		off += (off_t)i;
		if (i < n || na != nb) {
			d->same = false;
			d->off = off;
			break;
		}
		if (na == 0) {
			d->same = true;
			break;
		}
	}
	fseeko(fa, 0, SEEK_END);
	fseeko(fb, 0, SEEK_END);
	d->size_a = ftello(fa);
	d->size_b = ftello(fb);
out_close:
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return e;
}

/* Print the line around a difference, escaped, at most 100 bytes. */
static void show_line(const char *path, off_t start, off_t off,
		      const char *name)
{
	char buf[101] = { 0 };
	char esc[700];
	FILE *f = fopen(path, "re");
	size_t n = 0;

	if (f == NULL)
		return;
	/* Long lines: start 40 bytes before the difference. */
	if (off - start > 60)
		start = off - 40;
	if (fseeko(f, start, SEEK_SET) == 0)
		n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	{
		char *nl = memchr(buf, '\n', n);

		if (nl) {
			n = (size_t)(nl - buf);
			*nl = '\0';
		}
	}
	{
		/* Bytes may include NULs: escape them one by one. */
		size_t len = 0, i;
		char one[2] = { 0, 0 };

		esc[0] = '\0';
		for (i = 0; i < n && len < sizeof(esc) - 8; i++) {
			if (buf[i] == '\0') {
				len = (size_t)(stpcpy(esc + len, "\\u0000") - esc);
				continue;
			}
			one[0] = buf[i];
			len = ds_json_escape(esc, sizeof(esc), len, one);
		}
	}
	printf("      %s: \"%s\"%s\n", name, esc,
	       n == sizeof(buf) - 1 ? "..." : "");
}

/* ------------------------------------------------------------------ */
/* Comparing two runs. */

static void status_text(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, cap, "wait status 0x%x", (unsigned)st);
}

/* Compare one file pair; print when verbose.  Returns true if same. */
static bool diff_pair(const char *label, const char *pa, const char *pb,
		      unsigned ra, unsigned rb, bool print)
{
	struct fdiff d;
	char na[16], nb[16];
	int e = compare_files(pa, pb, &d);

	snprintf(na, sizeof(na), "run %u", ra);
	snprintf(nb, sizeof(nb), "run %u", rb);
	if (e) {
		if (print)
			printf("  %s: cannot compare: %s\n", label, strerror(-e));
		return false;
	}
	if (d.same)
		return true;
	if (print) {
		printf("  %s: first difference at byte %lld (line %lu, column "
		       "%lld); sizes %lld and %lld bytes\n", label,
		       (long long)d.off, d.line,
		       (long long)(d.off - d.line_start + 1),
		       (long long)d.size_a, (long long)d.size_b);
		show_line(pa, d.line_start, d.off, na);
		show_line(pb, d.line_start, d.off, nb);
	}
	return false;
}

static bool has_file(const struct run *r, const char *f)
{
	if (r->nfiles == 0)
		return false; /* files is NULL: bsearch's argument is nonnull */
	return bsearch(&f, r->files, r->nfiles, sizeof(char *), cmp_strp) !=
	       NULL;
}

/* Compare run ra with run rb; print details if print.  Returns the
 * number of differing items; *what gets a short list. */
static unsigned compare_runs(struct verify *v, unsigned ra, unsigned rb,
			     bool print, char *what, size_t cap,
			     const struct dr_log *la, const struct dr_log *lb)
{
	const struct run *a = &v->runs[ra], *b = &v->runs[rb];
	unsigned ndiff = 0;
	size_t i;
	char sa[64], sb[64];

	what[0] = '\0';
#define NOTE_DIFF(s) do { \
		ndiff++; \
		snprintf(what + strlen(what), cap - strlen(what), "%s%s", \
			 ndiff > 1 ? ", " : "", (s)); \
	} while (0)

	if (a->status != b->status) {
		NOTE_DIFF("exit status");
		status_text(a->status, sa, sizeof(sa));
		status_text(b->status, sb, sizeof(sb));
		if (print)
			printf("  exit status: run %u: %s, run %u: %s\n", ra, sa,
			       rb, sb);
	}
	for (i = 0; i < v->nitems; i++) {
		const char *it = v->items[i];
		char *pa, *pb;

		if (!is_stream(it))
			continue;
		pa = run_path(v, ra, it);
		pb = run_path(v, rb, it);
		if (!diff_pair(it, pa, pb, ra, rb, print))
			NOTE_DIFF(it);
		free(pa);
		free(pb);
	}
	/* Files: the union of both runs' matches, in sorted order. */
	for (i = 0; i < a->nfiles + b->nfiles; i++) {
		const char *f = i < a->nfiles ? a->files[i]
					      : b->files[i - a->nfiles];
		bool ina = has_file(a, f), inb = has_file(b, f);
		char *label;

		if (i >= a->nfiles && ina)
			continue; /* already seen from a's list */
		label = dr_xasprintf("file %s", f);
		if (!ina || !inb) {
			NOTE_DIFF(label);
			if (print)
				printf("  %s: missing in run %u (present in "
				       "run %u)\n", label, ina ? rb : ra,
				       ina ? ra : rb);
		} else {
			char *pa = stashed(v, ra, f), *pb = stashed(v, rb, f);

			if (!diff_pair(label, pa, pb, ra, rb, print))
				NOTE_DIFF(label);
			free(pa);
			free(pb);
		}
		free(label);
	}
	/* The logs. */
	if (v->o->compare_log == DR_CMP_OFF) {
		/* not compared */
	} else if (la->missing != lb->missing) {
		NOTE_DIFF("log");
		if (print)
			printf("  log: written in run %u only\n",
			       la->missing ? rb : ra);
	} else if (!la->missing) {
		struct dr_div d;

		if (!dr_log_compare(la, lb, v->o->compare_log, &d)) {
			NOTE_DIFF("log");
			if (print) {
				char na[16], nb[16];

				snprintf(na, sizeof(na), "run %u", ra);
				snprintf(nb, sizeof(nb), "run %u", rb);
				dr_div_print(la, lb, &d, na, nb, stdout,
					     "  log: ");
			}
		}
	}
#undef NOTE_DIFF
	return ndiff;
}

/* ------------------------------------------------------------------ */

static int setup_dir(struct verify *v)
{
	const struct dr_opts *o = v->o;
	int e;

	if (o->log) {
		if (strlen(o->log) >= sizeof(v->dir) - 64) {
			dr_err("--log '%s': path too long", o->log);
			return DR_EXIT_USAGE;
		}
		snprintf(v->dir, sizeof(v->dir), "%s", o->log);
		e = ensure_dir(v->dir);
		if (e == 0 && access(v->dir, W_OK | X_OK) != 0)
			e = -errno;
		if (e) {
			dr_err("--log '%s': cannot use it as the run directory: "
			       "%s", v->dir, strerror(-e));
			return DR_EXIT_USAGE;
		}
		v->keep = true;
	} else {
		const char *tmp = getenv("TMPDIR");

		if (tmp == NULL || *tmp == '\0')
			tmp = "/tmp";
		snprintf(v->dir, sizeof(v->dir), "%s/detrun-verify.XXXXXX",
			 tmp);
		if (mkdtemp(v->dir) == NULL) {
			dr_err("cannot create a run directory in '%s': %s", tmp,
			       strerror(errno));
			return DR_EXIT_USAGE;
		}
		v->keep = o->keep;
	}
	/* Absolute, so the logs do not follow a chdir of the command. */
	if (v->dir[0] != '/') {
		char *abs = realpath(v->dir, NULL);

		if (abs) {
			snprintf(v->dir, sizeof(v->dir), "%s", abs);
			free(abs);
		}
	}
	return 0;
}

/* A --log DIR used before: the run files of that verification go, so
 * the directory holds this one's only (nothing else is touched). */
static void remove_stale_runs(const struct verify *v)
{
	DIR *dp = opendir(v->dir);
	struct dirent *de;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char *p;

		if (strncmp(de->d_name, "run-", 4) != 0 ||
		    strspn(de->d_name + 4, "0123456789") != 4 ||
		    de->d_name[8] != '.')
			continue;
		p = dr_xasprintf("%s/%s", v->dir, de->d_name);
		remove_tree(p);
		unlink(p);
		free(p);
	}
	closedir(dp);
}

/* 64-bit digest of a file's bytes (0 if unreadable). */
static uint64_t file_digest(const char *path)
{
	char buf[65536];
	uint64_t h = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		h = ds_hash_bytes(h, buf, (size_t)n);
	close(fd);
	return h;
}

/* What the progress line and --json show of a run: a digest of each
 * compared stream, one of its files together, and of its log. */
static void run_digests(struct verify *v, unsigned i)
{
	struct run *run = &v->runs[i];
	size_t k;

	run->dig_streams = 0;
	for (k = 0; k < v->nitems; k++) {
		char *p;

		if (!is_stream(v->items[k]))
			continue;
		p = run_path(v, i, v->items[k]);
		run->dig_streams = ds_hash_bytes(run->dig_streams, p,
						 0) ^ file_digest(p);
		run->dig_streams = ds_mix64(run->dig_streams, k);
		free(p);
	}
	run->dig_files = 0;
	for (k = 0; k < run->nfiles; k++) {
		char *p = stashed(v, i, run->files[k]);
		uint64_t d = file_digest(p);

		run->dig_files = ds_hash_bytes(run->dig_files, run->files[k],
					       strlen(run->files[k]) + 1);
		run->dig_files = ds_hash_bytes(run->dig_files, &d, sizeof(d));
		free(p);
	}
	run->dig_log = dr_log_digest(&v->logs[i], v->o->compare_log);
}

static bool status_accepted(const struct dr_opts *o, int st)
{
	if (!WIFEXITED(st))
		return false;
	return WEXITSTATUS(st) == 0 || o->accept[WEXITSTATUS(st)];
}

static bool show_progress(const struct dr_opts *o)
{
	return !o->quiet && (o->progress || isatty(2));
}

static int one_run(struct verify *v, unsigned i)
{
	char *log = run_path(v, i, "log");
	char *out = run_path(v, i, "stdout");
	char *err = run_path(v, i, "stderr");
	char *sub = run_path(v, i, "files");
	struct dr_spawn sp;
	struct dr_result r;
	int in_fd, out_fd, err_fd, e;
	struct run *run = &v->runs[i];
	bool tty = show_progress(v->o) && isatty(2);

	unlink(log);
	remove_tree(sub);
	dr_env_set(v->l, "DETSHIM_LOG", log);
	in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	err_fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
		dr_err("cannot create the run files in '%s': %s", v->dir,
		       strerror(errno));
		e = DR_EXIT_USAGE;
		goto out;
	}
	memset(&sp, 0, sizeof(sp));
	sp.in_fd = in_fd;
	sp.out_fd = out_fd;
	sp.err_fd = err_fd;
	sp.tree = true;
	sp.linger_s = v->o->linger_s;
	/* --stream: run 1 live (on stderr when stdout carries --json). */
	sp.tee_out = v->o->stream && i == 1 ? (v->o->json ? 2 : 1) : -1;
	sp.tee_err = v->o->stream && i == 1 ? 2 : -1;
	if (tty && !v->o->stream)
		fprintf(stderr, "%s: run %u/%u: running...", dr_prog, i,
			v->n);
	e = dr_run(v->l, v->o->argv, &sp, &r);
	if (tty && !v->o->stream)
		fprintf(stderr, "\r\033[K");
	if (e)
		goto out;
	run->ran = true;
	run->status = r.status;
	run->wall_s = r.wall_s;
	run->stopped = r.stopped;
	run->lingered = r.lingered;
	if (r.stopped)
		goto out;
	e = dr_report_exec(v->l, &r);
	if (e)
		goto out;
	if (!r.loaded) {
		char *where = dr_xasprintf("run %u (its stderr is kept in %s)",
					   i, err);

		v->keep = true;
		e = dr_report_noshim(v->l, &r, where);
		free(where);
		goto out;
	}
	run->files = match_files(v, &run->nfiles);
	e = stash_files(v, run->files, run->nfiles, sub);
	if (e)
		goto out;
	e = dr_log_read(&v->logs[i], log);
	v->logs[i].path = NULL; /* log is freed below */
	if (e && e != -ENOENT) {
		dr_err("cannot read '%s': %s", log, strerror(-e));
		e = DR_EXIT_USAGE;
		goto out;
	}
	e = 0;
	run_digests(v, i);
	if (show_progress(v->o)) {
		char st[64];

		status_text(run->status, st, sizeof(st));
		fprintf(stderr, "%s: run %u/%u: %s in %.2f s; output %016llx, "
			"log %016llx\n", dr_prog, i, v->n, st, run->wall_s,
			(unsigned long long)(run->dig_streams ^ run->dig_files),
			(unsigned long long)run->dig_log);
	}
out:
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	free(log);
	free(out);
	free(err);
	free(sub);
	return e;
}

/* Put the last run's files back where the command wrote them. */
static void restore_files(const struct verify *v, unsigned last)
{
	const struct run *r = &v->runs[last];
	size_t i;

	for (i = 0; i < r->nfiles; i++) {
		char *from = stashed(v, last, r->files[i]);
		int e = copy_file(from, r->files[i]);

		if (e)
			dr_err("cannot restore '%s': %s", r->files[i],
			       strerror(-e));
		free(from);
	}
}

static const char *seed_text(const struct dr_launch *l)
{
	size_t i;

	for (i = 0; i < l->nenv; i++)
		if (strncmp(l->envp[i], "DETSHIM_SEED=", 13) == 0)
			return l->envp[i] + 13;
	return "default (DETSHIM_SEED unset)";
}

/* The last lines of a run's stderr, each prefixed "  | ". */
static void stderr_tail(const struct verify *v, unsigned i, FILE *f,
			unsigned lines)
{
	char *p = run_path(v, i, "stderr");
	FILE *in = fopen(p, "re");
	char **ring = dr_xmalloc(lines * sizeof(char *));
	char *line = NULL;
	size_t cap = 0, n = 0, k;

	if (in) {
		while (getline(&line, &cap, in) > 0) {
			free(ring[n % lines]);
			ring[n % lines] = dr_xstrdup(line);
			n++;
		}
		fclose(in);
	}
	if (n == 0)
		fprintf(f, "  (its stderr, %s, is empty)\n", p);
	else
		fprintf(f, "  last %zu line%s of its stderr (%s):\n",
			n < lines ? n : lines, n == 1 ? "" : "s", p);
	for (k = n > lines ? n - lines : 0; k < n; k++) {
		char *l = ring[k % lines];

		l[strcspn(l, "\n")] = '\0';
		fprintf(f, "  | %s\n", l);
	}
	for (k = 0; k < lines; k++)
		free(ring[k]);
	free(ring);
	free(line);
	free(p);
}

static const char *cmp_name(enum dr_cmp m)
{
	return m == DR_CMP_OFF ? "off" : m == DR_CMP_STRICT ? "strict"
							    : "events";
}

/* The verdict as one JSON object (--json). */
static void verdict_json(struct verify *v, const char *verdict,
			 unsigned upto, unsigned first_bad, unsigned failed,
			 int stopped)
{
	const struct dr_opts *o = v->o;
	unsigned i;
	char **a;

	printf("{\"v\":1,\"verdict\":\"%s\",\"command\":[", verdict);
	for (a = o->argv; *a; a++) {
		printf("%s", a == o->argv ? "" : ",");
		dr_json_str(stdout, *a);
	}
	printf("],\"seed\":");
	dr_json_str(stdout, seed_text(v->l));
	printf(",\"compare_log\":\"%s\",\"runs_asked\":%u,\"runs\":[",
	       cmp_name(o->compare_log), v->n);
	for (i = 1; i <= upto; i++) {
		const struct run *r = &v->runs[i];

		if (!r->ran)
			break;
		printf("%s{\"run\":%u,", i > 1 ? "," : "", i);
		if (r->stopped)
			printf("\"exit\":null,\"signal\":null,\"stopped\":true");
		else if (WIFEXITED(r->status))
			printf("\"exit\":%d,\"signal\":null",
			       WEXITSTATUS(r->status));
		else
			printf("\"exit\":null,\"signal\":%d",
			       WIFSIGNALED(r->status) ? WTERMSIG(r->status)
						      : -1);
		printf(",\"wall_s\":%.3f,\"digests\":{\"output\":\"%016llx\","
		       "\"files\":\"%016llx\",\"log\":\"%016llx\"}}",
		       r->wall_s, (unsigned long long)r->dig_streams,
		       (unsigned long long)r->dig_files,
		       (unsigned long long)r->dig_log);
	}
	printf("]");
	if (failed)
		printf(",\"failed_run\":%u", failed);
	if (stopped)
		printf(",\"signal\":%d", stopped);
	if (first_bad) {
		char what[1024];
		struct dr_div d;

		compare_runs(v, 1, first_bad, false, what, sizeof(what),
			     &v->logs[1], &v->logs[first_bad]);
		printf(",\"first_divergence\":{\"run\":%u,\"items\":",
		       first_bad);
		dr_json_str(stdout, what);
		printf(",\"log\":");
		if (o->compare_log != DR_CMP_OFF &&
		    !v->logs[1].missing && !v->logs[first_bad].missing &&
		    !dr_log_compare(&v->logs[1], &v->logs[first_bad],
				    o->compare_log, &d))
			dr_div_json(&v->logs[1], &v->logs[first_bad], &d,
				    stdout);
		else
			printf("null");
		printf("}");
	}
	if (v->bisect_json) {
		printf(",\"bisect\":%s", v->bisect_json);
	}
	printf(",\"run_dir\":");
	if (v->keep)
		dr_json_str(stdout, v->dir);
	else
		printf("null");
	printf("}\n");
}

/* --bisect: align the runs' call hashes (tools/bisect.c). */
static void run_bisect(struct verify *v, unsigned upto)
{
	const char **paths = dr_xmalloc((upto + 1) * sizeof(char *));
	unsigned i;

	for (i = 1; i <= upto; i++)
		paths[i - 1] = run_path(v, i, "log");
	if (v->o->json) {
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);

		if (mem) {
			dr_bisect(paths, (int)upto, mem, true);
			fclose(mem);
			if (len && buf[len - 1] == '\n')
				buf[len - 1] = '\0';
			v->bisect_json = buf;
		}
	} else {
		dr_bisect(paths, (int)upto, stdout, false);
	}
	for (i = 1; i <= upto; i++)
		free((char *)paths[i - 1]);
	free(paths);
}

int dr_verify(const struct dr_opts *o, struct dr_launch *l)
{
	static const char *const default_items[] = { "stdout" };
	struct verify v;
	unsigned n = o->verify, i, first_bad = 0, nbad = 0;
	unsigned failed = 0;
	char what[1024];
	char st[64];
	int e, rc = DR_EXIT_OK;
	size_t k;
	char **pre;
	size_t npre;
	const char *verdict;

	memset(&v, 0, sizeof(v));
	v.o = o;
	v.l = l;
	v.n = n;
	v.items = o->ncompare ? o->compare : (const char **)default_items;
	v.nitems = o->ncompare ? o->ncompare : 1;
	v.runs = dr_xmalloc((n + 1) * sizeof(*v.runs));
	v.logs = dr_xmalloc((n + 1) * sizeof(*v.logs));
	v.nothing = dr_xmalloc(v.nitems * sizeof(*v.nothing));
	e = setup_dir(&v);
	if (e)
		return e;
	remove_stale_runs(&v);
	/* Every process a run leaves behind is reparented to detrun and
	 * waited for (spawn.c: wait_tree); a stop signal ends them all. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		dr_note(o, "warning: cannot become the runs' subreaper (%s): "
			   "processes that outlive a run's command are not "
			   "waited for", strerror(errno));
	dr_catch_stop();
	if (o->bisect)
		dr_env_set(l, DR_HASH_CALLS_VAR, "1");

	/* Files from an earlier invocation: keep them, out of the way. */
	pre = match_files(&v, &npre);
	if (npre) {
		char *before = dr_xasprintf("%s/before", v.dir);

		dr_note(o, "moved %zu existing file(s) matching --compare to "
			   "%s before run 1", npre, before);
		v.keep = true;
		e = stash_files(&v, pre, npre, before);
		free(before);
		if (e)
			return e;
	}

	for (i = 1; i <= n && !dr_stop_signal; i++) {
		e = one_run(&v, i);
		if (e) {
			dr_note(o, "run files kept in %s", v.dir);
			return e;
		}
		if (v.runs[i].stopped)
			break;
		if (!status_accepted(o, v.runs[i].status) ||
		    v.runs[i].lingered) {
			failed = i;
			break;
		}
	}
	if (dr_stop_signal) {
		int sig = dr_stop_signal;

		v.keep = true;
		if (o->json)
			verdict_json(&v, "interrupted", i <= n ? i : n, 0, 0,
				     sig);
		else
			printf("%s: verify: %u runs of %s: INTERRUPTED by %s "
			       "during run %u; its processes were stopped\n"
			       "  runs kept in %s\n", dr_prog, n, o->argv[0],
			       sig == SIGINT ? "INT" : sig == SIGTERM ? "TERM"
			       : sig == SIGHUP ? "HUP" : "a signal",
			       i <= n ? i : n, v.dir);
		fflush(stdout);
		return 128 + sig;
	}
	if (failed) {
		const struct run *r = &v.runs[failed];

		v.keep = true;
		status_text(r->status, st, sizeof(st));
		if (o->json) {
			verdict_json(&v, "failed", failed, 0, failed, 0);
		} else {
			printf("%s: verify: %u runs of %s, seed %s: FAILED\n",
			       dr_prog, n, o->argv[0], seed_text(l));
			if (r->lingered)
				printf("  run %u: processes it started were "
				       "still running %u s after the command "
				       "exited (%s); they were killed "
				       "(--wait-timeout)\n", failed,
				       o->linger_s, st);
			else
				printf("  run %u ended with %s; no further "
				       "run was started (--accept-status N "
				       "accepts an exit status)\n", failed, st);
			stderr_tail(&v, failed, stdout, 20);
			printf("  runs kept in %s\n", v.dir);
		}
		fflush(stdout);
		return DR_EXIT_FAILED;
	}

	for (i = 2; i <= n; i++) {
		if (compare_runs(&v, 1, i, false, what, sizeof(what), &v.logs[1],
				 &v.logs[i]) == 0)
			continue;
		if (first_bad == 0)
			first_bad = i;
		nbad++;
	}
	if (first_bad) {
		rc = DR_EXIT_DIFFER;
		v.keep = true;
	}
	/* A --compare file that no run produced: nothing was compared. */
	for (k = 0; k < v.nitems; k++) {
		bool any = false;

		if (is_stream(v.items[k]))
			continue;
		for (i = 1; i <= n && !any; i++) {
			size_t f;

			for (f = 0; f < v.runs[i].nfiles && !any; f++)
				any = fnmatch(v.items[k],
						     v.runs[i].files[f],
						     FNM_PATHNAME | FNM_PERIOD) == 0;
		}
		if (!any) {
			v.nothing[k] = true;
			if (rc == DR_EXIT_OK)
				rc = DR_EXIT_NODATA;
			v.keep = true;
		}
	}
	if (o->bisect && o->json)
		run_bisect(&v, n);
	verdict = first_bad ? "DIFFER" : "IDENTICAL";
	if (o->json) {
		verdict_json(&v, first_bad ? "differ" : rc == DR_EXIT_NODATA
				 ? "nodata" : "identical", n, first_bad, 0, 0);
	} else {
		printf("%s: verify: %u runs of %s, seed %s: %s\n", dr_prog, n,
		       o->argv[0], seed_text(l), verdict);
	}
	if (first_bad && !o->json) {
		printf("  run %u differs from run 1:\n", first_bad);
		compare_runs(&v, 1, first_bad, true, what, sizeof(what),
			     &v.logs[1], &v.logs[first_bad]);
		if (o->compare_log != DR_CMP_OFF && !strstr(what, "log") &&
		    !v.logs[1].missing)
			printf("  log: identical: the difference comes from "
			       "outside what detshim intercepts (clock, "
			       "threads, files read; docs/TROUBLESHOOTING.md)\n");
		for (i = first_bad + 1; i <= n && nbad > 1; i++)
			if (compare_runs(&v, 1, i, false, what, sizeof(what),
					 &v.logs[1], &v.logs[i]))
				printf("  run %u also differs from run 1 in: "
				       "%s\n", i, what);
	} else if (!o->json) {
		status_text(v.runs[1].status, st, sizeof(st));
		printf("  %s in every run\n", st);
		for (k = 0; k < v.nitems; k++) {
			struct stat sb;
			char *p;

			if (!is_stream(v.items[k]))
				continue;
			p = run_path(&v, 1, v.items[k]);
			if (stat(p, &sb) == 0)
				printf("  %s: identical (%lld bytes)\n",
				       v.items[k], (long long)sb.st_size);
			free(p);
		}
		for (k = 0; k < v.runs[1].nfiles; k++)
			printf("  file %s: identical\n", v.runs[1].files[k]);
		if (o->compare_log == DR_CMP_OFF)
			printf("  log: not compared (--compare-log=off)\n");
		else if (v.logs[1].missing)
			printf("  log: none written (policy off, or a log "
			       "path set in the config file)\n");
		else
			printf("  log: identical (%zu process%s, %zu events%s)\n",
			       v.logs[1].nprocs,
			       v.logs[1].nprocs == 1 ? "" : "es",
			       v.logs[1].nrecs, o->compare_log == DR_CMP_STRICT
			       ? "; --compare-log=strict" : "");
		/* Order-only notes print here. */
		for (i = 2; i <= n; i++) {
			struct dr_div d;

			if (o->compare_log != DR_CMP_OFF &&
			    !v.logs[1].missing && !v.logs[i].missing &&
			    dr_log_compare(&v.logs[1], &v.logs[i],
					   o->compare_log, &d) && d.order_only) {
				dr_div_print(&v.logs[1], &v.logs[i], &d,
					     "run 1", "", stdout, "  log: ");
				break;
			}
		}
	}
	for (k = 0; k < v.nitems && !o->json; k++)
		if (v.nothing[k])
			printf("  --compare '%s': no run wrote such a file; "
			       "nothing to compare\n", v.items[k]);
	if (o->learn) { /* --learn FILE: tools/learn.c, docs/SEEDS.md */
		const char **lp = dr_xmalloc(n * sizeof(*lp));
		int nl;

		for (i = 1; i <= n; i++)
			lp[i - 1] = run_path(&v, i, "log");
		nl = dr_learn(lp, (int)n, o->learn,
			      o->json ? stderr : stdout);
		if (nl < 0)
			rc = DR_EXIT_USAGE;
		else
			fprintf(o->json ? stderr : stdout,
				"  learn: %d site%s written to %s\n", nl,
				nl == 1 ? "" : "s", o->learn);
		for (i = 0; i < n; i++)
			free((char *)lp[i]);
		free(lp);
	}
	if (o->bisect && !o->json)
		run_bisect(&v, n);
	restore_files(&v, n);
	if (v.keep) {
		if (!o->json)
			printf("  runs kept in %s (run-NNNN.log, .stdout, "
			       ".stderr, .files/)\n", v.dir);
	} else {
		for (i = 1; i <= n; i++) {
			char *p = run_path(&v, i, "files");

			remove_tree(p);
			free(p);
		}
		remove_tree(v.dir);
	}
	fflush(stdout);
	for (i = 1; i <= n; i++)
		dr_log_free(&v.logs[i]);
	free(v.logs);
	free(v.bisect_json);
	free(v.nothing);
	return rc;
}
