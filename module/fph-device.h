/*
 * fph: the virtio-fph device
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_DEVICE_H
#define FPH_DEVICE_H

#include "hw/virtio/virtio.h"
#include "qom/object.h"
#include "fph_core.h"
#include "fph-reclaim.h"
#include "fph-types.h"

/* Default and upper bound of ranges per request (virtio_fph_config). */
#define FPH_DEFAULT_MAX_RANGES 4096
#define FPH_MAX_RANGES_LIMIT 65536

typedef struct FreePageHint FreePageHint;
typedef struct FphWorker FphWorker;
typedef struct FphRequest FphRequest;
typedef struct FphPlanningReq FphPlanningReq;
typedef struct RamFilter RamFilter;

typedef struct VirtIOFph {
    VirtIODevice parent_obj;

    VirtQueue *vq;
    FreePageHint *owner;        /* its object, or NULL: fph_device_link() */
    FphCore *core;              /* main loop (BQL) only */
    RamFilter *filter;
    FphWorker *worker;
    QEMUBH *done_bh;
    QEMUBH *kick_bh;
    QEMUTimer *slice_timer;     /* the next slice of planning */
    uint32_t max_ranges;        /* property "max-ranges" */
    FphRequest *in_flight;      /* the request with the worker, if any */
    FphPlanningReq *planning;   /* the request being planned, if any */
    bool migrating;             /* an outgoing migration opened an epoch */
    bool unrealized;            /* gone, maybe under a caller: FphScope */
    FphReclaim reclaim;         /* page-cache reclaim: fph-reclaim.c */
    uint32_t reclaim_seq;       /* migrated: the core's, see pre_save */
    VMChangeStateEntry *vmstate;
    Error *unplug_blocker;      /* set while an unplug is pending */
} VirtIOFph;

DECLARE_INSTANCE_CHECKER(VirtIOFph, VIRTIO_FPH, TYPE_VIRTIO_FPH)

/*
 * The device and its free-page-hint object @fph link each other: from the
 * device's realize, or from @fph taking back a device an earlier object
 * left, until the device's unrealize or the object's finalization
 * (fph_device_unlink()).
 */
void fph_device_link(VirtIOFph *dev, FreePageHint *fph);
void fph_device_unlink(VirtIOFph *dev);
bool fph_device_driver_ok(VirtIOFph *dev);
void fph_device_block_migration(VirtIOFph *dev, const char *reason);
void fph_device_unblock_migration(VirtIOFph *dev);
void fph_device_get_stats(VirtIOFph *dev, FphStats *stats);
void fph_device_get_reclaim_stats(VirtIOFph *dev, FphReclaimStats *stats);

#endif
