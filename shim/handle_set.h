/*
 * handle_set.h - "log this decision once per handle": a fixed, lock-free
 * open-addressed set of (handle, decision bits), for hooks that see the
 * same library handle on every call (cuBLAS handles).
 */
#ifndef DS_HANDLE_SET_H
#define DS_HANDLE_SET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Handles are reused after destroy: ds_once_forget clears a handle's bits. */
#define DS_ONCE_SLOTS 512
struct ds_once_table {
	_Atomic uintptr_t key[DS_ONCE_SLOTS];   /* handle, 0 = empty */
	atomic_uint bits[DS_ONCE_SLOTS];        /* decisions logged */
};

/* Set bit for handle; true if it was not set before (log now).  When the
 * table is full, returns true (logging then falls back to the site cap). */
bool ds_once_first(struct ds_once_table *t, const void *handle, unsigned bit);
/* Forget every bit of handle (cublasDestroy). */
void ds_once_forget(struct ds_once_table *t, const void *handle);

#endif /* DS_HANDLE_SET_H */
