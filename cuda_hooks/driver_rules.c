/*
 * driver_rules.c - the slot lookups of the CUDA driver hooks, expanded
 * from driver_slots.h.  Pure: no driver call, no configuration, no log.
 */
#include "driver_rules.h"

#include <string.h>

static const struct drv_row {
	const char *export_name;
	const char *base;
	int from, below;          /* CUDA version range of this ABI */
	enum ds_drv_ptsz ptsz;
	bool is_alloc;
} rows[DS_DRV_COUNT] = {
#define DS_DRV_ROW(slot, export_, base_, from_, below_, ptsz_, alloc_, wrapper) \
	[DS_DRV_##slot] = { export_, base_, from_, below_, ptsz_, alloc_ },
	DS_DRV_SLOTS(DS_DRV_ROW)
#undef DS_DRV_ROW
};

int ds_drv_by_export(const char *name)
{
	int i;

	if (name == NULL || name[0] != 'c' || name[1] != 'u')
		return DS_DRV_NONE;
	for (i = 0; i < DS_DRV_COUNT; i++)
		if (strcmp(name, rows[i].export_name) == 0)
			return i;
	return DS_DRV_NONE;
}

int ds_drv_by_proc(const char *base, int cuda_version, uint64_t flags)
{
	enum ds_drv_ptsz ptsz =
		(flags & DS_CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) ?
			DS_DRV_PTSZ_YES : DS_DRV_PTSZ_NO;
	int i;

	if (base == NULL || base[0] != 'c' || base[1] != 'u')
		return DS_DRV_NONE;
	/* Outside a row's version range the caller expects another ABI
	 * (below 3020 cuMemAlloc is the 32-bit v1 one): never wrapped, as
	 * handing a newer ABI to an old caller breaks it (HAMi-core#57). */
	for (i = 0; i < DS_DRV_COUNT; i++)
		if (strcmp(base, rows[i].base) == 0 &&
		    cuda_version >= rows[i].from &&
		    cuda_version < rows[i].below &&
		    (rows[i].ptsz == DS_DRV_PTSZ_ANY || rows[i].ptsz == ptsz))
			return i;
	return DS_DRV_NONE;
}

bool ds_drv_is_alloc(int slot)
{
	return slot >= 0 && slot < DS_DRV_COUNT && rows[slot].is_alloc;
}

const char *ds_drv_name(int slot)
{
	return slot >= 0 && slot < DS_DRV_COUNT ? rows[slot].export_name : "?";
}

void ds_uuid_format(const unsigned char b[16], char out[41])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	int i;

	memcpy(p, "GPU-", 4);
	p += 4;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 0xf];
	}
	*p = '\0';
}
