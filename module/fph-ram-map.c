/*
 * fph: which guest-physical ranges may be hinted
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/rcu.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "fph.h"

/*
 * Only the machine's main RAM is hintable: a guest has no business
 * hinting ROM, MMIO, device RAM (e.g. VGA) or other RAM blocks, and the
 * flat view of system memory tells exactly where main RAM is mapped (the
 * PC splits it below and above 4 GiB).
 */
static bool fph_ram_map_add(Int128 start, Int128 len, const MemoryRegion *mr,
                            hwaddr offset_in_region, void *opaque)
{
    GArray *ranges = opaque;
    MachineState *ms = MACHINE(qdev_get_machine());
    MemoryRegionSection mrs;
    FphRamRange r;

    if (mr != ms->ram) {
        return false;
    }
    r.addr = int128_get64(start);
    r.len = int128_get64(len);
    /*
     * Main RAM mapped read-only (the PC's PAM BIOS shadow) is ROM to the
     * guest: not hintable.  The flat view callback does not say, the
     * section does.
     */
    mrs = memory_region_find(get_system_memory(), r.addr, r.len);
    if (mrs.mr) {
        if (!mrs.readonly) {
            g_array_append_val(ranges, r);
        }
        memory_region_unref(mrs.mr);
    }
    return false;
}

GArray *fph_ram_map_collect(void)
{
    GArray *ranges = g_array_new(false, false, sizeof(FphRamRange));
    FlatView *fv;

    RCU_READ_LOCK_GUARD();
    fv = address_space_to_flatview(&address_space_memory);
    flatview_for_each_range(fv, fph_ram_map_add, ranges);
    return ranges;
}
