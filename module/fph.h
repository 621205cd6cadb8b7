/*
 * fph QEMU module: types shared by its QOM glue files.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_MODULE_H
#define FPH_MODULE_H

#include "hw/virtio/virtio.h"
#include "qom/object.h"
#include "fph_core.h"

#define TYPE_FREE_PAGE_HINT "free-page-hint"
#define TYPE_VIRTIO_FPH "virtio-fph-device"
#define TYPE_VIRTIO_FPH_PCI "virtio-fph-pci"

/* Default and upper bound of ranges per request (virtio_fph_config). */
#define FPH_DEFAULT_MAX_RANGES 4096
#define FPH_MAX_RANGES_LIMIT 65536

typedef struct FreePageHint FreePageHint;
typedef struct VirtIOFph VirtIOFph;

typedef struct FphWorker FphWorker;
typedef struct RamFilter RamFilter;

struct VirtIOFph {
    VirtIODevice parent_obj;

    VirtQueue *vq;
    FphCore *core;              /* main loop (BQL) only */
    FreePageHint *owner;
    RamFilter *filter;
    FphWorker *worker;
    QEMUBH *done_bh;
    QEMUBH *kick_bh;
    uint32_t max_ranges;
    uint32_t config_epoch;      /* what the guest reads from config */
    bool busy;                  /* a request is with the worker */
    bool layout_reported;       /* fph_ram_map_warn() ran this migration */
    VMChangeStateEntry *vmstate;
};

DECLARE_INSTANCE_CHECKER(FreePageHint, FREE_PAGE_HINT, TYPE_FREE_PAGE_HINT)
DECLARE_INSTANCE_CHECKER(VirtIOFph, VIRTIO_FPH, TYPE_VIRTIO_FPH)

/* fph-object.c: the single free-page-hint object, or NULL. */
FreePageHint *fph_object_get(void);
uint32_t fph_object_max_ranges(FreePageHint *fph);
bool fph_object_attach(FreePageHint *fph, VirtIOFph *dev, Error **errp);
void fph_object_detach(FreePageHint *fph, VirtIOFph *dev);
VirtIOFph *fph_object_device(FreePageHint *fph);

/* fph-device.c */
bool fph_device_driver_ok(VirtIOFph *dev);
void fph_device_get_stats(VirtIOFph *dev, FphStats *stats);

/*
 * fph-ram-map.c: guest RAM that may be hinted, as guest-physical ranges
 * (FphRamRange); the rest of guest RAM, by region and reason, into
 * @unhintable if not NULL.
 */
typedef struct FphUnhintableRamList FphUnhintableRamList;
GArray *fph_ram_map_collect(FphUnhintableRamList **unhintable);
uint64_t fph_ram_map_bytes(const GArray *ranges);
void fph_ram_map_warn(const GArray *hintable,
                      const FphUnhintableRamList *unhintable);

/* fph-qmp.c */
void fph_qmp_register(void);
void fph_qmp_get_stats_prop(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp);

#endif
