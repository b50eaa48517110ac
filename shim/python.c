/*
 * python.c - the Python start-up module: the shim puts its directory in
 * front of PYTHONPATH for a Python process, and the module talks back
 * through detshim_py_event() (docs/DESIGN.md §12).
 *
 * A Python process is one whose argv[0] base name is python, python3 or
 * pythonX.Y (the interpreter a shebang names, through env too): one string
 * compare in every other program.  It is left alone under
 * DETSHIM_POLICY=off, with python_startup off, and when its options say
 * that Python ignores PYTHONPATH or site (-E, -I, -S): there the module
 * would never run to take its directory back out.
 *
 * The value written is "<dir>" for an unset PYTHONPATH, "<dir>:<dir>" for
 * an empty one ("<dir>:" would add the working directory to sys.path) and
 * "<dir>:<old>" otherwise; python/sitecustomize.py undoes exactly that
 * before the program runs.  <dir> is the python/ directory next to
 * the shim's own file, resolved, so a relative LD_PRELOAD still works.
 */
#include "detshim.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* True for python, python3, python3.13 (digits and dots after "python"). */
static bool python_name(const char *name)
{
	const char *p;

	if (name == NULL || strncmp(name, "python", 6) != 0)
		return false;
	for (p = name + 6; *p; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return false;
	return true;
}

/* False if an interpreter option before the program turns off PYTHONPATH
 * (-E, -I) or site (-S).  Options taking a value: -W, -X (and -c, -m,
 * which end the options). */
static bool python_reads_path(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i]; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
			return true;
		if (a[1] == '-')
			continue; /* --help, --version, --check-hash-based-pycs */
		for (a++; *a; a++) {
			if (*a == 'E' || *a == 'I' || *a == 'S')
				return false;
			if (*a == 'c' || *a == 'm')
				return true;
			if (*a == 'W' || *a == 'X') {
				if (a[1] == '\0')
					i++;
				break;
			}
		}
	}
	return true;
}

/* The python/ directory beside the shim's file, into buf; false if none. */
static bool module_dir(char *buf, size_t cap)
{
	Dl_info info;
	char real[PATH_MAX];
	char *slash;

	if (dladdr((const void *)python_name, &info) == 0 ||
	    info.dli_fname == NULL || realpath(info.dli_fname, real) == NULL)
		return false;
	slash = strrchr(real, '/');
	if (slash == NULL)
		return false;
	*slash = '\0';
	if (ds_fmt(buf, cap, "%s/python", real) + sizeof("/sitecustomize.py") >
	    cap)
		return false;
	return true;
}

static void inject(int argc, char **argv)
{
	char dir[PATH_MAX], file[PATH_MAX + 32];
	const char *old;
	char *val;
	size_t n;

	if (!python_name(program_invocation_short_name) ||
	    !python_reads_path(argc, argv) || !module_dir(dir, sizeof(dir)))
		return;
	ds_fmt(file, sizeof(file), "%s/sitecustomize.py", dir);
	if (access(file, R_OK) != 0) {
		ds_log_record(DS_SRC_TORCH, "PYTHONPATH", "missing",
			      "%s not found: the start-up module is not "
			      "loaded", file);
		return;
	}
	old = getenv("PYTHONPATH");
	if (old && *old == '\0')
		old = dir;
	n = strlen(dir) + (old ? strlen(old) + 1 : 0) + 1;
	val = malloc(n);
	if (val == NULL)
		return;
	ds_fmt(val, n, "%s%s%s", dir, old ? ":" : "", old ? old : "");
	setenv("PYTHONPATH", val, 1);
	free(val);
}

/* After init.c's constructor (101): the configuration is frozen.  glibc
 * passes argc and argv to the constructors of shared objects. */
__attribute__((constructor(102))) static void ds_python_constructor(
	int argc, char **argv)
{
	if (!ds_active() || ds_cfg.policy == DS_POLICY_OFF ||
	    !ds_cfg.python_startup)
		return;
	ds_inside++;
	inject(argc, argv);
	ds_inside--;
}

/* ------------------------------------------------------------------ */
/* Sites named at run time: events from Python and PyTorch's op names
 * (frameworks.c).  One log site per (source, call), made on first use, so
 * that log.first_n caps each as it caps the shim's own sites; past
 * PY_SITES names, NULL (the event is not logged). */

#define PY_SITES 128
#define PY_CALL_MAX 64

static struct ds_site py_sites[PY_SITES] DS_SITE_ATTR;
static char py_calls[PY_SITES][PY_CALL_MAX];
static unsigned py_nsites;
static pthread_mutex_t py_lock = PTHREAD_MUTEX_INITIALIZER;

struct ds_site *ds_site_named(enum ds_source src, const char *call,
			      size_t len)
{
	struct ds_site *s = NULL;
	unsigned i;

	if (len > PY_CALL_MAX - 1)
		len = PY_CALL_MAX - 1;
	pthread_mutex_lock(&py_lock);
	for (i = 0; i < py_nsites && s == NULL; i++)
		if (py_sites[i].src == src &&
		    strncmp(py_calls[i], call, len) == 0 &&
		    py_calls[i][len] == '\0')
			s = &py_sites[i];
	if (s == NULL && py_nsites < PY_SITES) {
		i = py_nsites++;
		memcpy(py_calls[i], call, len);
		py_calls[i][len] = '\0';
		py_sites[i].src = src;
		py_sites[i].call = py_calls[i];
		s = &py_sites[i];
	}
	pthread_mutex_unlock(&py_lock);
	return s;
}

DS_EXPORT int detshim_py_event(const char *src, const char *call,
			       const char *action, const char *fields,
			       const char *detail)
{
	struct ds_site *site;
	int s;

	if (!ds_active() || src == NULL || call == NULL || action == NULL)
		return -1;
	s = ds_source_from_name(src);
	if (s < 0 || !ds_watch((enum ds_source)s))
		return -1;
	site = ds_site_named((enum ds_source)s, call, strlen(call));
	if (site == NULL)
		return -1;
	ds_event_fields(site, action, fields, "%s", detail ? detail : "");
	return 0;
}

/*
 * The current value of the config row `key` (its config-file key, e.g.
 * "profile"), as the text a user would write in the config file, for the
 * start-up module (python/_detshim/_native.py).  Writes at most cap - 1
 * bytes and a NUL into buf and returns the value's full length (a longer
 * one was cut: ask again with more room), or -1 for a key no row has or
 * before the configuration is frozen.  No row holds a secret: the table
 * has no values but settings.
 */
DS_EXPORT int detshim_py_setting(const char *key, char *buf, size_t cap)
{
	if (!ds_active() || key == NULL || (buf == NULL && cap != 0))
		return -1;
	return ds_config_text(&ds_cfg, key, buf, cap);
}
