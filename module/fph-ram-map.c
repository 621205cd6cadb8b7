/*
 * fph: which guest-physical ranges may be hinted
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "qemu/error-report.h"
#include "qemu/units.h"
#include "hw/boards.h"
#include "migration/misc.h"
#include "fph-qemu-compat.h"
#include "fph-ram-map.h"

typedef struct FphRamWalk {
    MachineState *ms;
    GArray *hintable;                   /* FphRamRange */
    FphUnhintableRamList *unhintable;
} FphRamWalk;

/*
 * Guest RAM is what the machine maps as memory for the guest: main RAM
 * (ms->ram; with -numa node,memdev= a container of the nodes' memory
 * backends) and device memory (pc-dimm, nvdimm, virtio-mem).  Nothing
 * else is hintable: a guest has no business hinting ROM, MMIO or device
 * RAM such as VGA's.
 */
static bool fph_ram_is_guest_ram(MachineState *ms, const MemoryRegion *mr)
{
    MemoryRegion *dm = ms->device_memory ? &ms->device_memory->mr : NULL;
    const MemoryRegion *c;

    for (c = mr; c; c = c->container) {
        if (c == ms->ram || (dm && c == dm)) {
            return true;
        }
    }
    return false;
}

static void fph_ram_unhintable(FphRamWalk *w, const MemoryRegion *mr,
                               uint64_t bytes, FphUnhintableReason why)
{
    const char *name = memory_region_name(mr);
    FphUnhintableRamList *e;
    FphUnhintableRam *u;

    for (e = w->unhintable; e; e = e->next) {
        if (e->value->reason == why && !strcmp(e->value->region, name)) {
            e->value->bytes += bytes;
            return;
        }
    }
    u = g_new0(FphUnhintableRam, 1);
    u->region = g_strdup(name);
    u->bytes = bytes;
    u->reason = why;
    QAPI_LIST_PREPEND(w->unhintable, u);
}

static bool fph_ram_map_add(Int128 start, Int128 len, const MemoryRegion *mr,
                            hwaddr offset_in_region, void *opaque)
{
    FphRamWalk *w = opaque;
    MemoryRegion *m = (MemoryRegion *)mr;
    MemoryRegionSection mrs;
    FphRamRange r;
    bool readonly;

    if (!memory_region_is_ram(m) || memory_region_is_ram_device(m) ||
        !fph_ram_is_guest_ram(w->ms, mr)) {
        return false;
    }
    r.addr = int128_get64(start);
    r.len = int128_get64(len);
    /*
     * RAM mapped read-only (the PC's PAM BIOS shadow) is ROM to the
     * guest.  The flat view callback does not say, the section does.
     */
    mrs = memory_region_find(get_system_memory(), r.addr, r.len);
    if (!mrs.mr) {
        return false;
    }
    readonly = mrs.readonly || memory_region_is_rom(m);
    memory_region_unref(mrs.mr);
    if (readonly) {
        fph_ram_unhintable(w, mr, r.len, FPH_UNHINTABLE_REASON_READ_ONLY);
    } else if (!mr->ram_block || migrate_ram_is_ignored(mr->ram_block)) {
        fph_ram_unhintable(w, mr, r.len, FPH_UNHINTABLE_REASON_NOT_MIGRATED);
    } else {
        g_array_append_val(w->hintable, r);
    }
    return false;
}

GArray *fph_ram_map_collect(FphUnhintableRamList **unhintable)
{
    FphRamWalk w = {
        .ms = MACHINE(qdev_get_machine()),
        .hintable = g_array_new(false, false, sizeof(FphRamRange)),
    };
    FlatView *fv;

    RCU_READ_LOCK_GUARD();
    fv = address_space_to_flatview(&address_space_memory);
    flatview_for_each_range(fv, fph_ram_map_add, &w);
    if (unhintable) {
        *unhintable = w.unhintable;
    } else {
        qapi_free_FphUnhintableRamList(w.unhintable);
    }
    return w.hintable;
}

uint64_t fph_ram_map_bytes(const GArray *ranges)
{
    uint64_t sum = 0;

    for (guint i = 0; i < ranges->len; i++) {
        sum += g_array_index(ranges, FphRamRange, i).len;
    }
    return sum;
}

/*
 * Say once per migration what cannot be hinted, so that a layout fph
 * cannot help is never silent.  ROM to the guest is not worth a line.
 */
void fph_ram_map_warn(const GArray *hintable,
                      const FphUnhintableRamList *unhintable)
{
    g_autoptr(GString) what = g_string_new("");
    const FphUnhintableRamList *e;
    uint64_t lost = 0;

    for (e = unhintable; e; e = e->next) {
        if (e->value->reason == FPH_UNHINTABLE_REASON_READ_ONLY) {
            continue;
        }
        lost += e->value->bytes;
        g_string_append_printf(what, "%s%s %" PRIu64 " MiB (%s)",
                               what->len ? ", " : "", e->value->region,
                               e->value->bytes / MiB,
                               FphUnhintableReason_str(e->value->reason));
    }
    if (!hintable->len) {
        warn_report("free-page-hint: no guest RAM can be hinted (%s); "
                    "this migration sends every page",
                    what->len ? what->str : "none in main or device memory");
    } else if (lost) {
        warn_report("free-page-hint: %" PRIu64 " of %" PRIu64 " MiB of guest "
                    "RAM cannot be hinted: %s", lost / MiB,
                    (lost + fph_ram_map_bytes(hintable)) / MiB, what->str);
    }
}
