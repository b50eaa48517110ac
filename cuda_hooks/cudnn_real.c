/*
 * cudnn_real.c - finding the real cuDNN entry points behind our hooks.
 *
 * Python loads torch's extensions RTLD_LOCAL, so dlsym(RTLD_NEXT) cannot
 * see libcudnn (design.md); resolve.c's ds_resolve_in looks in the
 * already loaded object by soname instead and never loads anything.  A
 * pointer that resolves back into this shim (possible only if a library
 * re-exported our own definition) is treated as missing: calling it would
 * recurse (the HAMi-core crash in research/gpu.md §6.2).
 */
#include "cudnn_core.h"

#include <string.h>

const char *const ds_cudnn_libs_graph[] = {
	"libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn.so.8", NULL
};
const char *const ds_cudnn_libs_cnn[] = {
	"libcudnn.so.9", "libcudnn_cnn.so.9", "libcudnn.so.8",
	"libcudnn_cnn_train.so.8", "libcudnn_cnn_infer.so.8", NULL
};
const char *const ds_cudnn_libs_ops[] = {
	"libcudnn.so.9", "libcudnn_ops.so.9", "libcudnn.so.8",
	"libcudnn_ops_train.so.8", "libcudnn_ops_infer.so.8", NULL
};
const char *const ds_cudnn_libs_adv[] = {
	"libcudnn.so.9", "libcudnn_adv.so.9", "libcudnn.so.8",
	"libcudnn_adv_train.so.8", "libcudnn_adv_infer.so.8", NULL
};

void *ds_cudnn_real_slow(struct ds_cudnn_real *r)
{
	const char *self = ds_object_of((const void *)ds_cudnn_real_slow);
	void *p = NULL;
	int i;

	ds_inside++;
	for (i = 0; r->libs[i] && p == NULL; i++) {
		p = ds_resolve_in(r->libs[i], r->name);
		if (p && strcmp(ds_object_of(p), self) == 0)
			p = NULL;
	}
	ds_inside--;
	if (p) {
		atomic_store_explicit(&r->ptr, p, memory_order_release);
		return p;
	}
	if (atomic_exchange(&r->missing_logged, 1) == 0)
		ds_log_record(DS_SRC_CUDNN, r->name, "missing",
			      "real %s not found in %s or its sub-libraries; "
			      "returning the library's error status",
			      r->name, r->libs[0]);
	return NULL;
}
