/*
 * driver_rules.h - pure decisions behind the CUDA driver hooks (driver.c):
 * which slot a dlsym or cuGetProcAddress request names.  The slots
 * themselves are the rows of driver_slots.h.
 */
#ifndef DS_DRIVER_RULES_H
#define DS_DRIVER_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "driver_slots.h"

/* The ptsz column of DS_DRV_SLOTS. */
enum ds_drv_ptsz { DS_DRV_PTSZ_ANY = 0, DS_DRV_PTSZ_NO, DS_DRV_PTSZ_YES };

/* The wrapper slots, one per DS_DRV_SLOTS row. */
enum ds_drv_fn {
	DS_DRV_NONE = -1,
#define DS_DRV_ENUM(slot, ...) DS_DRV_##slot,
	DS_DRV_SLOTS(DS_DRV_ENUM)
#undef DS_DRV_ENUM
	DS_DRV_COUNT
};

/* Slot of an exported driver symbol name as passed to dlsym
 * ("cuGetProcAddress_v2", "cuMemAlloc_v2"), or DS_DRV_NONE. */
int ds_drv_by_export(const char *name);

/* Slot of a cuGetProcAddress request: base name ("cuMemAlloc"), the
 * caller's CUDA version (1000*major + 10*minor) and flags.  DS_DRV_NONE for
 * names not wrapped and for ABI versions the shim has no wrapper for
 * (cuMemAlloc below 3020 is the 32-bit v1 ABI: never wrapped). */
int ds_drv_by_proc(const char *base, int cuda_version, uint64_t flags);

/* True for the slots wrapped only when alloc fill is on (is_alloc). */
bool ds_drv_is_alloc(int slot);

/* Exported name of a slot ("?" for DS_DRV_NONE). */
const char *ds_drv_name(int slot);

/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as nvidia-smi prints it. */
void ds_uuid_format(const unsigned char b[16], char out[41]);

#endif /* DS_DRIVER_RULES_H */
