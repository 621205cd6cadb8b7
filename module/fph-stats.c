/*
 * fph: the statistics query-fph-stats and the object's "stats" show
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "fph-device.h"
#include "fph-ram-map.h"
#include "fph-stats.h"

/* Every reason the core counts is a member of the QAPI FphRejectInfo. */
static void fph_stats_fill_rejected(FphRejectInfo *r, const FphStats *s)
{
#define FPH_REJECT_FILL(up, low, desc) r->low = s->rejected[FPH_REJECT_##up];
    FPH_REJECT_REASONS(FPH_REJECT_FILL)
#undef FPH_REJECT_FILL
}

FphStatsInfo *fph_stats_info(Object *fph)
{
    FphStatsInfo *info = g_new0(FphStatsInfo, 1);
    Object *obj = fph ? object_property_get_link(fph, "device",
                                                 &error_abort) : NULL;
    VirtIOFph *dev = obj ? VIRTIO_FPH(obj) : NULL;
    g_autoptr(GArray) ram = NULL;
    const FphUnhintableRamList *e;
    FphStats s = {};

    info->rejected = g_new0(FphRejectInfo, 1);
    info->enabled = fph != NULL;
    info->device_present = dev != NULL;
    if (dev) {
        info->driver_ok = fph_device_driver_ok(dev);
        fph_device_get_stats(dev, &s);
    }
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
