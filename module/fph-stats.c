/*
 * fph: the statistics query-fph-stats and the object's "stats" show
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "fph-device.h"
#include "fph-ram-map.h"
#include "fph-stats.h"

/* Every reason the core counts is a member of the QAPI FphRejectInfo. */
static void fph_stats_fill_rejected(FphRejectInfo *r, const FphStats *s)
{
#define FPH_REJECT_FILL(up, low, key) r->low = s->rejected[FPH_REJECT_##up];
    FPH_REJECT_REASONS(FPH_REJECT_FILL)
#undef FPH_REJECT_FILL
}

/*
 * The QAPI FphReclaimOutcome is the core's list, in its order: both are
 * generated from include/fph/names.toml (checked member by member here).
 */
#define FPH_RECLAIM_SAME(up, low, key) \
    QEMU_BUILD_BUG_ON((int)FPH_RECLAIM_##up != (int)FPH_RECLAIM_OUTCOME_##up);
FPH_RECLAIM_RESULTS(FPH_RECLAIM_SAME)
#undef FPH_RECLAIM_SAME
QEMU_BUILD_BUG_ON((int)FPH_RECLAIM__MAX != (int)FPH_RECLAIM_OUTCOME__MAX);

static FphReclaimInfo *fph_stats_reclaim(const FphReclaimStats *s)
{
    FphReclaimInfo *r = g_new0(FphReclaimInfo, 1);

    r->requests = s->requests;
    r->bytes = s->reclaimed_bytes;
    r->guest_us = s->guest_us;
    r->wait_ms = s->wait_ms;
    r->timeouts = s->timeouts;
    r->bad_reports = s->bad_reports;
    r->late_reports = s->late_reports;
    r->last_outcome = (FphReclaimOutcome)s->last_result;
    r->last_asked = s->last_asked_bytes;
    r->last_bytes = s->last_reclaimed_bytes;
    r->last_guest_us = s->last_guest_us;
    r->last_wait_ms = s->last_wait_ms;
    return r;
}

FphStatsInfo *fph_stats_info(FreePageHint *fph)
{
    FphStatsInfo *info = g_new0(FphStatsInfo, 1);
    VirtIOFph *dev = fph ? fph->dev : NULL;
    g_autoptr(GArray) ram = NULL;
    const FphUnhintableRamList *e;
    FphStats s = {};
    FphReclaimStats rs = {};

    info->rejected = g_new0(FphRejectInfo, 1);
    info->enabled = fph != NULL;
    info->device_present = dev != NULL;
    if (dev) {
        info->driver_ok = fph_device_driver_ok(dev);
        fph_device_get_stats(dev, &s);
        fph_device_get_reclaim_stats(dev, &rs);
    }
    info->reclaim = fph_stats_reclaim(&rs);
    info->epoch = s.epoch;
    info->epochs_seen = s.epochs_seen;
    info->requests = s.requests;
    info->candidate_batches = s.candidate_batches;
    info->confirm_batches = s.confirm_batches;
    info->ranges_received = s.ranges_received;
    info->pages_armed = s.pages_armed;
    info->pages_skipped = s.pages_skipped;
    info->bytes_skipped = s.pages_skipped * VIRTIO_FPH_PAGE_SIZE;
    fph_stats_fill_rejected(info->rejected, &s);

    /* The layout as it is now (hot-add, x-ignore-shared may change it). */
    ram = fph_ram_map_collect(&info->unhintable);
    info->hintable_bytes = fph_ram_map_bytes(ram);
    info->ram_bytes = info->hintable_bytes;
    for (e = info->unhintable; e; e = e->next) {
        info->ram_bytes += e->value->bytes;
    }
    return info;
}
