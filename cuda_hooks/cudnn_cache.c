/*
 * cudnn_cache.c - the DETSHIM_ALGO_CACHE file: its text format, parsing,
 * loading into the choice table and saving what the run settled on.
 *
 * The file (docs/CUDNN.md):
 *   # comments and blank lines anywhere
 *   detshim-algo-cache 1 cudnn=91900 device=sm90 sms=132 NVIDIA H200
 *   g=<16 hex digits> eng=38 knobs=2:1,13:0
 * one entry per operation-graph fingerprint.  A file recorded with another
 * cuDNN version or on another device is stale: ignored, not rewritten.
 * A malformed file pins nothing at all (the parse validates every line
 * before delivering any).
 *
 * Core (no interposed symbol): the unit tests load and save files with it
 * directly.  The hooks give it the header to expect (the cuDNN version and
 * the device string, cudnn_backend.c); it opens, reads and writes with raw
 * system calls (sys.c), so no hook of the shim is reached (fstat, rename
 * and unlink are not interposed).  Only the
 * process that loaded the file writes it back, at exit.
 */
#include "cudnn_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hash.h"

#define CACHE_MAX_BYTES (4 << 20) /* a file larger than this is refused */

/* ------------------------------------------------------------------ */
/* Text format. */

size_t ds_cudnn_cfgkey_format(const struct ds_cudnn_cfgkey *k, char *buf,
			      size_t cap)
{
	size_t n;
	int i;

	n = ds_fmt(buf, cap, "eng=%lld knobs=", (long long)k->engine);
	if (k->nknobs == 0)
		return n + ds_fmt(buf + n, cap - n, "-");
	for (i = 0; i < k->nknobs && n < cap; i++)
		n += ds_fmt(buf + n, cap - n, "%s%d:%lld", i ? "," : "",
			    (int)k->ktype[i], (long long)k->kval[i]);
	return n;
}

/* Strict decimal int64 at *p (optional '-'); advances *p. */
static bool parse_i64(const char **p, int64_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		if (v > (UINT64_C(1) << 62))
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	*p = s;
	return true;
}

int ds_cudnn_cfgkey_parse(const char *s, struct ds_cudnn_cfgkey *k)
{
	int64_t v;

	memset(k, 0, sizeof(*k));
	if (strncmp(s, "eng=", 4) != 0)
		return -EINVAL;
	s += 4;
	if (!parse_i64(&s, &k->engine))
		return -EINVAL;
	if (strncmp(s, " knobs=", 7) != 0)
		return -EINVAL;
	s += 7;
	if (*s == '-') {
		s++;
	} else {
		for (;;) {
			if (k->nknobs == DS_CUDNN_MAX_KNOBS)
				return -EINVAL;
			if (!parse_i64(&s, &v) || v < 0 || v > 1000 || *s != ':')
				return -EINVAL;
			s++;
			k->ktype[k->nknobs] = (int32_t)v;
			if (!parse_i64(&s, &k->kval[k->nknobs]))
				return -EINVAL;
			k->nknobs++;
			if (*s != ',')
				break;
			s++;
		}
	}
	if (*s != '\0')
		return -EINVAL;
	ds_cudnn_cfgkey_normalize(k);
	return 0;
}

size_t ds_cudnn_pin_format_header(const struct ds_cudnn_pin_hdr *h,
				  char *buf, size_t cap)
{
	return ds_fmt(buf, cap,
		      "# cuDNN engine configs pinned per operation graph; "
		      "written by detshim\n%s %d cudnn=%lu device=%s\n",
		      DS_CUDNN_PIN_MAGIC, DS_CUDNN_PIN_VERSION, h->cudnn,
		      h->device);
}

size_t ds_cudnn_pin_format_line(uint64_t g, const struct ds_cudnn_cfgkey *k,
				char *buf, size_t cap)
{
	char hx[17];
	size_t n = ds_fmt(buf, cap, "g=%s ", ds_hex16(g, hx));

	n += ds_cudnn_cfgkey_format(k, buf + n, cap - n);
	return n + ds_fmt(buf + n, cap - n, "\n");
}

/* Parse one entry line (NUL-terminated, no newline). */
static int parse_entry(const char *s, uint64_t *g, struct ds_cudnn_cfgkey *k)
{
	if (strncmp(s, "g=", 2) != 0 || strlen(s) < 19 || s[18] != ' ')
		return -EINVAL;
	if (!ds_hex_parse(s + 2, 16, g))
		return -EINVAL;
	return ds_cudnn_cfgkey_parse(s + 19, k);
}

static int parse_header(const char *s, const struct ds_cudnn_pin_hdr *expect,
			char *err, size_t errlen)
{
	const char *p = s;
	int64_t ver, cud;
	size_t ml = strlen(DS_CUDNN_PIN_MAGIC);

	if (strncmp(p, DS_CUDNN_PIN_MAGIC, ml) != 0 || p[ml] != ' ') {
		ds_fmt(err, errlen, "line 1: not a detshim algorithm cache");
		return -EINVAL;
	}
	p += ml + 1;
	if (!parse_i64(&p, &ver) || ver != DS_CUDNN_PIN_VERSION ||
	    strncmp(p, " cudnn=", 7) != 0) {
		ds_fmt(err, errlen, "line 1: unsupported format version");
		return -EINVAL;
	}
	p += 7;
	if (!parse_i64(&p, &cud) || cud < 0 || strncmp(p, " device=", 8) != 0) {
		ds_fmt(err, errlen, "line 1: malformed header");
		return -EINVAL;
	}
	p += 8;
	if ((unsigned long)cud != expect->cudnn) {
		ds_fmt(err, errlen, "recorded with cuDNN %lld, running %lu",
		       (long long)cud, expect->cudnn);
		return -ESTALE;
	}
	if (strcmp(p, expect->device) != 0) {
		ds_fmt(err, errlen, "recorded on device '%s', running on '%s'",
		       p, expect->device);
		return -ESTALE;
	}
	return 0;
}

int ds_cudnn_pin_parse(const char *text, size_t len,
		       const struct ds_cudnn_pin_hdr *expect,
		       void (*fn)(uint64_t g, const struct ds_cudnn_cfgkey *k,
				  void *arg),
		       void *arg, char *err, size_t errlen)
{
	char line[1024];
	size_t pos;
	int pass, lineno, n = 0, e;

	/* Two passes: validate everything first, so a malformed file pins
	 * nothing at all; then deliver the entries. */
	for (pass = 0; pass < 2; pass++) {
		bool seen_header = false;

		pos = 0;
		lineno = 0;
		n = 0;
		while (pos < len) {
			size_t end = pos, l;
			uint64_t g;
			struct ds_cudnn_cfgkey k;

			while (end < len && text[end] != '\n')
				end++;
			l = end - pos;
			lineno++;
			if (l >= sizeof(line)) {
				ds_fmt(err, errlen, "line %d: too long", lineno);
				return -EINVAL;
			}
			memcpy(line, text + pos, l);
			line[l] = '\0';
			pos = end + 1;
			if (memchr(line, '\0', l) != NULL) {
				ds_fmt(err, errlen, "line %d: NUL byte", lineno);
				return -EINVAL;
			}
			if (l == 0 || line[0] == '#')
				continue;
			if (!seen_header) {
				e = parse_header(line, expect, err, errlen);
				if (e)
					return e;
				seen_header = true;
				continue;
			}
			if (parse_entry(line, &g, &k) != 0) {
				ds_fmt(err, errlen, "line %d: malformed entry",
				       lineno);
				return -EINVAL;
			}
			if (pass == 1)
				fn(g, &k, arg);
			n++;
		}
		if (!seen_header) {
			ds_fmt(err, errlen, "no header line");
			return -EINVAL;
		}
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Load and save. */

static enum ds_cudnn_cache_state cache_state;
static long cache_pid;       /* process that loaded it (fork children
			      * inherit the table but do not write) */
static struct ds_cudnn_pin_hdr cache_hdr;
static char cache_path[DS_PATH_MAX];

/* The whole file into a malloc'd, NUL-terminated buffer.  0 or -errno. */
static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	long r;
	int fd, e = 0;

	fd = ds_sys_open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0 || /* not interposed by the shim */
	    !S_ISREG(st.st_mode) || st.st_size > CACHE_MAX_BYTES) {
		ds_sys_close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		ds_sys_close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		r = ds_syscall6(SYS_read, fd, (long)(buf + got),
				(long)((size_t)st.st_size - got), 0, 0, 0);
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			e = (int)r;
			break;
		}
		got += (size_t)r;
	}
	ds_sys_close(fd);
	if (e) {
		free(buf);
		return e;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static void pin_one(uint64_t g, const struct ds_cudnn_cfgkey *k, void *arg)
{
	int *conflicts = arg;

	if (ds_cudnn_pin(g, k) == -EEXIST)
		(*conflicts)++;
}

enum ds_cudnn_cache_state ds_cudnn_cache_load(const char *path,
					      const struct ds_cudnn_pin_hdr *hdr)
{
	char err[512] = "";
	char *text = NULL;
	size_t len = 0;
	int e, conflicts = 0;

	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(cache_path))
		return cache_state = DS_CUDNN_CACHE_NONE;
	strcpy(cache_path, path);
	cache_hdr = *hdr;
	cache_pid = ds_sys_getpid();
	e = read_file(path, &text, &len);
	if (e == -ENOENT || (e == 0 && len == 0)) {
		free(text);
		ds_log_record(DS_SRC_CUDNN, "algo_cache", "record",
			      "%s absent: recording the configs this run "
			      "settles on (cudnn=%lu device=%s)", path,
			      hdr->cudnn, hdr->device);
		return cache_state = DS_CUDNN_CACHE_RECORD;
	}
	if (e) {
		ds_warn("algorithm cache %s unreadable (error %d); ignored",
			path, -e);
		ds_log_record(DS_SRC_CUDNN, "algo_cache", "error",
			      "%s unreadable (error %d); ignored", path, -e);
		return cache_state = DS_CUDNN_CACHE_IGNORED;
	}
	e = ds_cudnn_pin_parse(text, len, hdr, pin_one, &conflicts, err,
			       sizeof(err));
	free(text);
	if (e < 0) {
		ds_warn("algorithm cache %s %s: %s; ignored (not rewritten: "
			"delete it to record a new one)", path,
			e == -ESTALE ? "is stale" : "is malformed", err);
		ds_log_record(DS_SRC_CUDNN, "algo_cache",
			      e == -ESTALE ? "stale" : "malformed",
			      "%s: %s; ignored", path, err);
		return cache_state = DS_CUDNN_CACHE_IGNORED;
	}
	ds_log_record(DS_SRC_CUDNN, "algo_cache", "loaded",
		      "%s: %d pinned graphs (%d conflicting duplicates "
		      "ignored) cudnn=%lu device=%s", path, e, conflicts,
		      hdr->cudnn, hdr->device);
	return cache_state = DS_CUDNN_CACHE_LOADED;
}

struct cache_writer {
	int fd;        /* temp file */
	int lines;     /* entries written */
	int fresh;     /* entries not pinned at load */
	int err;       /* first write error */
};

static void write_graph(struct ds_cudnn_graph *gr, void *arg)
{
	struct cache_writer *w = arg;
	struct ds_cudnn_cfgkey k;
	char line[640];
	size_t n;

	if (!ds_cudnn_graph_settled(gr, &k))
		return;
	n = ds_cudnn_pin_format_line(gr->g, &k, line, sizeof(line));
	if (ds_sys_write(w->fd, line, n) != (ssize_t)n && !w->err)
		w->err = EIO;
	w->lines++;
	if (!gr->pinned)
		w->fresh++;
}

int ds_cudnn_cache_save(void)
{
	struct cache_writer w = { -1, 0, 0, 0 };
	char tmp[DS_PATH_MAX + 32], hdr[512];
	size_t n;

	if (cache_state != DS_CUDNN_CACHE_RECORD &&
	    cache_state != DS_CUDNN_CACHE_LOADED)
		return 0;
	if (ds_sys_getpid() != cache_pid)
		return 0;
	/* Temp file + rename: readers never see half a file. */
	ds_fmt(tmp, sizeof(tmp), "%s.tmp.%ld", cache_path, ds_sys_getpid());
	w.fd = ds_sys_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		ds_warn("cannot write algorithm cache %s (error %d)", tmp, -w.fd);
		return w.fd;
	}
	n = ds_cudnn_pin_format_header(&cache_hdr, hdr, sizeof(hdr));
	if (ds_sys_write(w.fd, hdr, n) != (ssize_t)n)
		w.err = EIO;
	ds_cudnn_graphs_foreach(write_graph, &w);
	ds_sys_close(w.fd);
	if (w.err || w.fresh == 0 || rename(tmp, cache_path) != 0) {
		if (w.err)
			ds_warn("cannot write algorithm cache %s", tmp);
		unlink(tmp);
		return w.err ? -w.err : 0;
	}
	ds_log_record(DS_SRC_CUDNN, "algo_cache", "written",
		      "%s: %d graphs (%d new)", cache_path, w.lines, w.fresh);
	return w.lines;
}

void ds_cudnn_cache_reset(void)
{
	cache_state = DS_CUDNN_CACHE_NONE;
	cache_path[0] = '\0';
	cache_pid = 0;
}
