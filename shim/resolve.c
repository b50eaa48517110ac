/*
 * resolve.c - the one door to real symbols (style.md §2).
 *
 * Only this file calls dlsym, dlvsym, dlopen or dl_iterate_phdr.
 *  - libc symbols: dlsym(RTLD_NEXT).
 *  - symbols of a library the program loaded (cuDNN, cuBLAS, libstdc++):
 *    dlopen(soname, RTLD_NOLOAD|RTLD_LAZY) then dlsym(handle), falling
 *    back to a dl_iterate_phdr walk.  RTLD_NEXT returns NULL for libraries
 *    loaded RTLD_LOCAL, as Python loads torch's (design.md); a preload's
 *    definition still wins the binding, so a hook that trusted RTLD_NEXT
 *    would call NULL.
 *  - the real dlsym is fetched once with dlvsym, so that resolution keeps
 *    working if the shim itself exports dlsym (driver.c).
 * Never loads a library the program did not load, with one documented
 * exception: libconfig, when the user names a config file.
 *
 * Thread safety: slots are published with a release store; racing
 * resolvers store the same pointer.  dlsym may allocate on failure
 * (cpu.md §7.1), so init resolves every libc slot up front and no hook
 * resolves from a signal handler after init.
 */
#include "detshim.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

typedef void *(*dlsym_fn)(void *, const char *);
static dlsym_fn real_dlsym_ptr;

/* Not instrumented: the dlsym stub (driver.c) reaches this from ASan's
 * interceptor set-up, before ASan's shadow memory exists. */
DS_NO_SANITIZE void *ds_real_dlsym(void *handle, const char *name)
{
	dlsym_fn f = __atomic_load_n(&real_dlsym_ptr, __ATOMIC_ACQUIRE);

	if (f == NULL) {
		/* dlvsym is not interposed by the shim; the version names
		 * cover glibc >= 2.34 and the x86-64/aarch64 originals. */
		static const char *const versions[] = { "GLIBC_2.34",
							"GLIBC_2.2.5",
							"GLIBC_2.17" };
		size_t i;

		for (i = 0; i < DS_ARRAY_SIZE(versions) && f == NULL; i++)
			*(void **)&f = dlvsym(RTLD_NEXT, "dlsym", versions[i]);
		if (f == NULL)
			f = dlsym; /* the shim exports no dlsym of its own */
		__atomic_store_n(&real_dlsym_ptr, f, __ATOMIC_RELEASE);
	}
	return f(handle, name);
}

void *ds_resolve_next(const char *name)
{
	return ds_real_dlsym(RTLD_NEXT, name);
}

struct phdr_find {
	const char *soname;
	size_t len;
	char path[DS_PATH_MAX];
};

/* Match "…/libcudnn.so.9" and "…/libcudnn.so.9.19.0" for "libcudnn.so.9". */
static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct phdr_find *f = data;
	const char *base;

	(void)size;
	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
		return 0;
	base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, f->soname, f->len) != 0)
		return 0;
	if (base[f->len] != '\0' && base[f->len] != '.')
		return 0;
	if (strlen(info->dlpi_name) >= sizeof(f->path))
		return 0;
	strcpy(f->path, info->dlpi_name);
	return 1;
}

static void *handle_of(const char *soname)
{
	struct phdr_find f;
	void *h;

	h = dlopen(soname, RTLD_NOLOAD | RTLD_LAZY);
	if (h)
		return h;
	f.soname = soname;
	f.len = strlen(soname);
	f.path[0] = '\0';
	if (dl_iterate_phdr(phdr_cb, &f) == 0)
		return NULL;
	return dlopen(f.path, RTLD_NOLOAD | RTLD_LAZY);
}

bool ds_lib_loaded(const char *soname)
{
	void *h = handle_of(soname);

	if (h == NULL)
		return false;
	dlclose(h); /* drops the reference RTLD_NOLOAD took */
	return true;
}

void *ds_resolve_in(const char *soname, const char *name)
{
	void *h = handle_of(soname);
	void *p;

	if (h == NULL)
		return NULL;
	p = ds_real_dlsym(h, name);
	/* The object stays loaded by the program; our extra reference is
	 * dropped so we never keep a library alive past the program's own
	 * dlclose. */
	dlclose(h);
	return p;
}

void *ds_sym_get_slow(struct ds_sym *s)
{
	void *p;

	ds_inside++;
	p = s->lib ? ds_resolve_in(s->lib, s->name) : ds_resolve_next(s->name);
	ds_inside--;
	if (p) {
		atomic_store_explicit(&s->ptr, p, memory_order_release);
		atomic_store(&s->state, 1);
		return p;
	}
	if (atomic_exchange(&s->state, 2) != 2)
		ds_log_record(DS_SRC_PROCESS, s->name, "missing",
			      "real %s not found in %s", s->name,
			      s->lib ? s->lib : "libc (RTLD_NEXT)");
	return NULL;
}

void *ds_load_helper_library(const char *soname, char *err, size_t errlen)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL && err && errlen) {
		const char *e = dlerror();

		ds_fmt(err, errlen, "%s", e ? e : "dlopen failed");
	}
	return h;
}

const char *ds_object_of(const void *addr)
{
	Dl_info info;
	const char *base;

	if (dladdr(addr, &info) == 0 || info.dli_fname == NULL)
		return "?";
	base = strrchr(info.dli_fname, '/');
	return base ? base + 1 : info.dli_fname;
}

extern struct ds_sym __start_ds_libc_syms[] __attribute__((weak));
extern struct ds_sym __stop_ds_libc_syms[] __attribute__((weak));

void ds_resolve_libc_all(void)
{
	struct ds_sym *s;

	/* The linker's section bounds delimit one array. */
	// cppcheck-suppress comparePointers
	for (s = __start_ds_libc_syms; s && s < __stop_ds_libc_syms; s++)
		ds_sym_get(s);
}
