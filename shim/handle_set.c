/*
 * handle_set.c - the once-per-handle set (handle_set.h).  Lock-free: a
 * slot is claimed by a CAS of its key and never released (forget clears
 * the bits only), so a lookup never races a removal.
 */
#include "handle_set.h"

#include <stddef.h>

static size_t once_hash(uintptr_t k)
{
	k ^= k >> 17;
	k *= UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(k >> 40) % DS_ONCE_SLOTS;
}

static atomic_uint *once_slot(struct ds_once_table *t, uintptr_t k,
			      bool insert)
{
	size_t h = once_hash(k), i;

	for (i = 0; i < DS_ONCE_SLOTS; i++) {
		size_t j = (h + i) % DS_ONCE_SLOTS;
		uintptr_t cur = atomic_load(&t->key[j]);

		if (cur == k)
			return &t->bits[j];
		if (cur == 0) {
			uintptr_t zero = 0;

			if (!insert)
				return NULL;
			if (atomic_compare_exchange_strong(&t->key[j], &zero, k))
				return &t->bits[j];
			if (zero == k)
				return &t->bits[j];
		}
	}
	return NULL;
}

bool ds_once_first(struct ds_once_table *t, const void *handle, unsigned bit)
{
	atomic_uint *b = once_slot(t, (uintptr_t)handle, true);

	if (b == NULL)
		return true;
	return (atomic_fetch_or(b, 1u << bit) & (1u << bit)) == 0;
}

void ds_once_forget(struct ds_once_table *t, const void *handle)
{
	atomic_uint *b = once_slot(t, (uintptr_t)handle, false);

	if (b)
		atomic_store(b, 0);
}
