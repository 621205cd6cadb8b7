/*
 * fph: page-cache reclaim requests at the start of a migration
 *
 * The device's part of it, embedded in the device and handed what it
 * needs (its core, the object's settings): this file calls nothing of the
 * device's.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_RECLAIM_H
#define FPH_RECLAIM_H

#include "qemu/timer.h"
#include "fph_core.h"

/* Default and upper bound of the object's reclaim-timeout, in ms. */
#define FPH_DEFAULT_RECLAIM_TIMEOUT_MS 10000
#define FPH_MAX_RECLAIM_TIMEOUT_MS 60000

typedef struct FphReclaim {
    FphCore *core;              /* the device's: requests and statistics */
    QEMUTimer *timer;           /* the wait's bound */
    bool hold;                  /* atomic: the migration waits for it */
} FphReclaim;

void fph_reclaim_init(FphReclaim *r, FphCore *core);
void fph_reclaim_cleanup(FphReclaim *r);
/*
 * The first epoch of an outgoing migration is opening (BQL held): ask the
 * guest to reclaim @bytes (0: off), waiting up to @timeout_ms;
 * @negotiated: its driver is ready and took VIRTIO_FPH_F_RECLAIM.
 */
void fph_reclaim_migration_start(FphReclaim *r, uint64_t bytes,
                                 uint32_t timeout_ms, bool negotiated);
/*
 * The migration, or the guest's driver, that a pending request was for is
 * gone (migration cleanup, device reset): it ends CANCELLED (BQL held).
 */
void fph_reclaim_cancel(FphReclaim *r);
/*
 * The device's state was loaded (a destination, or a snapshot): a request
 * still pending ends CANCELLED; the numbering goes on from @seq.
 */
void fph_reclaim_state_loaded(FphReclaim *r, uint32_t seq);
/* The driver wrote to the config space: @config is the device's copy. */
void fph_reclaim_config_written(FphReclaim *r, const uint8_t *config);
/* For VMStateDescription.dev_unplug_pending: any thread, no lock. */
bool fph_reclaim_holds_migration(FphReclaim *r);

#endif
