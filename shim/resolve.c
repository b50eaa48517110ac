/*
 * resolve.c - the one door to real symbols (struct ds_sym, detshim.h).
 *
 * Only this file calls dlsym, dlvsym, dlopen or dl_iterate_phdr.
 *  - libc symbols: dlsym(RTLD_NEXT).
 *  - symbols of a library the program loaded (cuDNN, cuBLAS, libstdc++):
 *    the row's soname chain, each by dlopen(soname, RTLD_NOLOAD) or a
 *    dl_iterate_phdr walk for a versioned file name; then RTLD_NEXT; then
 *    every loaded object in load order.  RTLD_NEXT returns NULL for
 *    libraries loaded RTLD_LOCAL, as Python loads torch's
 *    (docs/DESIGN.md §9.5); a preload's definition still wins the binding, so a
 *    hook that trusted RTLD_NEXT alone would have no real function.  The last
 *    step makes a version no chain lists (libcublas.so.14) work as well.
 *  - a definition inside the shim is never returned (is_self).
 *  - the real dlsym is fetched once with dlvsym, so that resolution keeps
 *    working if the shim itself exports dlsym (driver.c).
 * Never loads a library the program did not load, with one documented
 * exception: libconfig, when the user names a config file.
 *
 * Thread safety: slots are published with a release store; racing
 * resolvers store the same pointer.  dlsym may allocate on failure, so
 * init resolves every libc slot up front and no hook resolves from a
 * signal handler after init.
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

/* A new reference to the loaded object with this soname, or NULL. */
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

/* name in the object behind h (and its dependencies), then drop the
 * reference RTLD_NOLOAD took: the program's own references keep the object
 * loaded, ours never keeps it alive past the program's dlclose. */
static void *lookup_and_close(void *h, const char *name)
{
	void *p;

	if (h == NULL)
		return NULL;
	p = ds_real_dlsym(h, name);
	dlclose(h);
	return p;
}

/* True if p lies inside the shim: a library that re-exports our own
 * definition would otherwise make a hook call itself (the HAMi-core crash
 * described in docs/GPU_LIBS.md). */
static bool is_self(const void *p)
{
	static const void *_Atomic self_base;
	const void *self = atomic_load_explicit(&self_base, memory_order_acquire);
	Dl_info info;

	if (self == NULL) {
		if (dladdr((const void *)is_self, &info) == 0)
			return false;
		self = info.dli_fbase;
		atomic_store_explicit(&self_base, self, memory_order_release);
	}
	return dladdr(p, &info) != 0 && info.dli_fbase == self;
}

static void *not_self(void *p)
{
	return p && !is_self(p) ? p : NULL;
}

/* Every loaded object in load order (the link-map list of the main
 * namespace, which also holds RTLD_LOCAL objects), skipping the main
 * program and objects without a file name.  Read without the loader's
 * lock, as debuggers do; it runs only when no chain soname is loaded. */
static void *search_all_loaded(const char *name)
{
	struct link_map *lm = NULL;
	void *main_h = dlopen(NULL, RTLD_NOLOAD | RTLD_LAZY);
	void *p = NULL;

	if (main_h == NULL)
		return NULL;
	if (dlinfo(main_h, RTLD_DI_LINKMAP, &lm) != 0)
		lm = NULL;
	for (; lm != NULL && p == NULL; lm = lm->l_next) {
		if (lm->l_name == NULL || lm->l_name[0] != '/')
			continue;
		p = not_self(lookup_and_close(
			dlopen(lm->l_name, RTLD_NOLOAD | RTLD_LAZY), name));
	}
	dlclose(main_h);
	return p;
}

void *ds_resolve_chain(const char *const *libs, const char *name)
{
	void *p = NULL;
	size_t i;

	if (libs == NULL)
		return ds_real_dlsym(RTLD_NEXT, name);
	/* 1. the listed sonames, newest first: no search when the program
	 *    loaded a version we know. */
	for (i = 0; libs[i] != NULL && p == NULL; i++)
		p = not_self(lookup_and_close(handle_of(libs[i]), name));
	/* 2. the global scope after the shim: where the program's own call
	 *    binds when its library was loaded RTLD_GLOBAL or linked. */
	if (p == NULL)
		p = not_self(ds_real_dlsym(RTLD_NEXT, name));
	/* 3. any loaded object: RTLD_LOCAL libraries of an unlisted version
	 *    (RTLD_NEXT does not see RTLD_LOCAL objects). */
	if (p == NULL)
		p = search_all_loaded(name);
	return p;
}

static int loads_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(unsigned long long *)data = info->dlpi_adds;
	return 1;
}

/* Objects loaded into the process so far (dlopen and start-up). */
static unsigned long objects_loaded(void)
{
	unsigned long long adds = 0;

	dl_iterate_phdr(loads_cb, &adds);
	return (unsigned long)adds;
}

void *ds_sym_get_slow(struct ds_sym *s)
{
	unsigned long loads = 0;
	void *p;

	ds_inside++;
	/* A library symbol missing at the last look stays missing until
	 * another object is loaded: no search of every object per call. */
	if (s->libs != NULL) {
		loads = objects_loaded();
		if (atomic_load(&s->miss_logged) &&
		    atomic_load(&s->miss_loads) == loads) {
			ds_inside--;
			return NULL;
		}
	}
	p = ds_resolve_chain(s->libs, s->name);
	ds_inside--;
	if (p) {
		atomic_store_explicit(&s->ptr, p, memory_order_release);
		return p;
	}
	atomic_store(&s->miss_loads, loads);
	if (!atomic_exchange(&s->miss_logged, true))
		ds_log_record(s->src, s->name, "missing",
			      "real %s not found in %s or any loaded object; "
			      "returning the library's error status", s->name,
			      s->libs ? s->libs[0] : "libc (RTLD_NEXT)");
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

/* Hidden: the section bounds are the shim's own, never exported. */
extern struct ds_sym __start_ds_libc_syms[]
	__attribute__((weak, visibility("hidden")));
extern struct ds_sym __stop_ds_libc_syms[]
	__attribute__((weak, visibility("hidden")));

void ds_resolve_libc_all(void)
{
	struct ds_sym *s;

	/* The linker's section bounds delimit one array. */
	// cppcheck-suppress comparePointers
	for (s = __start_ds_libc_syms; s && s < __stop_ds_libc_syms; s++)
		ds_sym_get(s);
}
