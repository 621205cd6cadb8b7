/*
 * fph: page-cache reclaim requests at the start of a migration
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_RECLAIM_H
#define FPH_RECLAIM_H

#include "fph-device.h"

/* Default and upper bound of the object's reclaim-timeout, in ms. */
#define FPH_DEFAULT_RECLAIM_TIMEOUT_MS 10000
#define FPH_MAX_RECLAIM_TIMEOUT_MS 60000

void fph_reclaim_init(VirtIOFph *dev);
void fph_reclaim_cleanup(VirtIOFph *dev);
/* The first epoch of an outgoing migration is opening (BQL held). */
void fph_reclaim_migration_start(VirtIOFph *dev);
/*
 * The migration, or the guest's driver, that a pending request was for is
 * gone (migration cleanup, device reset): it ends CANCELLED (BQL held).
 */
void fph_reclaim_cancel(VirtIOFph *dev);
/*
 * The device's state was loaded (a destination, or a snapshot): a request
 * still pending ends CANCELLED; the numbering goes on from @seq.
 */
void fph_reclaim_state_loaded(VirtIOFph *dev, uint32_t seq);
/* The driver wrote to the config space: @config is the device's copy. */
void fph_reclaim_config_written(VirtIOFph *dev, const uint8_t *config);
/* VMStateDescription.dev_unplug_pending: any thread, no lock. */
bool fph_reclaim_holds_migration(void *opaque);

#endif
