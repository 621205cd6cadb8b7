/*
 * fph: query-fph-stats
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "fph-qapi-commands.h"
#include "fph-qapi-init-commands.h"
#include "fph-qapi-visit.h"
#include "qapi/visitor.h"
#include "fph.h"

FphStatsInfo *qmp_query_fph_stats(Error **errp)
{
    FphStatsInfo *info = g_new0(FphStatsInfo, 1);
    FreePageHint *fph = fph_object_get();
    VirtIOFph *dev = fph ? fph_object_device(fph) : NULL;
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
    info->rejected->stale_epoch = s.rejected[FPH_REJECT_STALE_EPOCH];
    info->rejected->out_of_ram = s.rejected[FPH_REJECT_OUT_OF_RAM];
    info->rejected->misaligned = s.rejected[FPH_REJECT_MISALIGNED];
    info->rejected->malformed = s.rejected[FPH_REJECT_MALFORMED];
    info->rejected->over_limit = s.rejected[FPH_REJECT_OVER_LIMIT];
    info->rejected->not_armed = s.rejected[FPH_REJECT_NOT_ARMED];

    /* The layout as it is now (hot-add, x-ignore-shared may change it). */
    ram = fph_ram_map_collect(&info->unhintable);
    info->hintable_bytes = fph_ram_map_bytes(ram);
    info->ram_bytes = info->hintable_bytes;
    for (e = info->unhintable; e; e = e->next) {
        info->ram_bytes += e->value->bytes;
    }
    return info;
}

void fph_qmp_register(void)
{
    Error *err = NULL;

    if (!monitor_register_qmp_commands(fph_qmp_init_marshal, &err)) {
        error_report_err(err);
    }
}

/*
 * The same statistics as a read-only QOM property of the object, so that
 * HMP users get them too: modules cannot add HMP commands ("info fph"), but
 * "qom-get /objects/<id> stats" works in HMP and QMP alike.
 */
void fph_qmp_get_stats_prop(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    g_autoptr(FphStatsInfo) info = qmp_query_fph_stats(errp);

    if (info) {
        visit_type_FphStatsInfo(v, name, &info, errp);
    }
}
