// SPDX-License-Identifier: GPL-2.0-or-later
// Everything a run depends on: the seed, the dirty-log model and the
// protocol variant.  All other parameters are drawn from the seed so that
// seeds sweep guest sizes, batch limits, lock-hold lengths, chunk sizes and
// the relative speeds of guest, driver, device and migration thread.
#pragma once

#include <cstdint>

#include "guest_driver.hpp"
#include "ram_filter_hook.hpp"
#include "rng.hpp"
#include "types.hpp"

namespace fph_sim {

struct RunSpec {
    std::uint64_t seed = 0;
    Accel accel = Accel::Kvm;
    Variant variant = Variant::Correct;
    ArmClear arm_clear = ArmClear::Chunks;
    ModelFault fault = ModelFault::None;
    End end = End::Seeded;
};

struct Scenario {
    Pfn pages;                  // guest RAM, 1024..4096 pages of 4 KiB
    unsigned clear_bmap_shift;  // QEMU minimum is 6 (64 pages)
    std::uint32_t max_ranges;   // device limit, small to force many batches
    DriverParams driver;
    DriverFlags driver_flags;
    HookFlags hook_flags;
    RamFlags ram_flags;
    bool delay_apply_across_sync;
    unsigned populate_percent;
    unsigned iterative_syncs;  // syncs before the VM stops
    bool postcopy;             // the run ends in a switch to postcopy, not stop-and-copy
    Pfn send_budget;           // pages per migration-thread step
    std::uint64_t sync_odds;   // 1 in sync_odds migration steps syncs mid-pass
    // Scheduler weights.
    unsigned w_guest, w_driver, w_device, w_migration;
    // KvmRing only (drawn last, so the other models' streams are unchanged).
    unsigned ring_size;           // entries (KVM takes 1024..65536, a power of two;
                                  // scaled down to the model's 1024..4096 pages)
    unsigned w_reaper;            // the reaper thread ...
    unsigned dirtylimit_percent;  // ... or, this often, the dirty-limit thread's
                                  // memory_global_dirty_log_sync() between migration syncs
};

// Draws the scenario from @rng (the run's PRNG, so the run stays one stream).
Scenario make_scenario(const RunSpec& spec, Rng& rng);

}  // namespace fph_sim
