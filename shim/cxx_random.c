/*
 * cxx_random.c - libstdc++ std::random_device.
 *
 * With the "default" token libstdc++ draws from RDSEED/RDRAND and never
 * reaches libc (docs/CPU_FACTS.md §0.2, §4.1); PyTorch seeds every CUDA
 * generator this way.  operator() is inlined into callers as a call to the
 * exported _M_getval(), so defining that one symbol catches every caller
 * without knowing the object's layout; _M_getval_pretr1 jumps to it through the
 * PLT and is caught too.  _M_init and _M_fini stay untouched ("default"
 * consumes no entropy at init; a "/dev/urandom" token's fd is closed by
 * _M_fini).  The real function is resolved through the loaded
 * libstdc++.so.6, never RTLD_NEXT, which is NULL under Python
 * (docs/CPU_FACTS.md §0.3).  Not catchable: a library linked with
 * -static-libstdc++.
 */
#include "detshim.h"

static const char *const libstdcxx_libs[] = { "libstdc++.so.6", NULL };
static struct ds_sym real_getval = DS_SYM_INIT(
	libstdcxx_libs, DS_SRC_RANDOM_DEVICE, "_ZNSt13random_device9_M_getvalEv");

DS_SITE(site_getval, DS_SRC_RANDOM_DEVICE, "std::random_device::operator()");

typedef unsigned int (*getval_fn)(void *);

/* std::random_device::_M_getval() */
DS_EXPORT unsigned int _ZNSt13random_device9_M_getvalEv(void *self);
DS_EXPORT unsigned int _ZNSt13random_device9_M_getvalEv(void *self)
{
	getval_fn real;

	if (ds_active() && ds_enforce(DS_SRC_RANDOM_DEVICE)) {
		unsigned int v = ds_stream_u32(DS_SRC_RANDOM_DEVICE, 0);

		ds_event(&site_getval, "replaced", "4 bytes");
		return v;
	}
	real = (getval_fn)ds_sym_get(&real_getval);
	if (real == NULL) {
		/* Cannot happen for a caller linked to libstdc++; never call
		 * NULL: a pinned value is better than a crash. */
		ds_event(&site_getval, "missing",
			 "real _M_getval not found; served the pinned stream");
		return ds_stream_u32(DS_SRC_RANDOM_DEVICE, 0);
	}
	if (ds_active() && ds_watch(DS_SRC_RANDOM_DEVICE))
		ds_event(&site_getval, "observed", "4 bytes (policy: not replaced)");
	return real(self);
}
