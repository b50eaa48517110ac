/*
 * hook_sym.h - the shim's own definition of a hook, for the hook tests.
 */
#ifndef HOOK_SYM_H
#define HOOK_SYM_H

#include <dlfcn.h>

/* The shim's own export of a hook, for the "library lacks the function"
 * tests: dlsym(RTLD_DEFAULT, name) finds a hook only while a library in
 * the global scope defines the name too, as without the shim
 * (cuda_hooks/driver.c), so ask the shim's object itself. */
static __attribute__((unused)) void *hook_sym(const char *name)
{
	Dl_info info;
	void *h, *p = NULL;

	if (dladdr(dlsym(RTLD_DEFAULT, "dlsym"), &info) == 0)
		return NULL;
	h = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	if (h) {
		p = dlsym(h, name);
		dlclose(h);
	}
	return p;
}

#endif
