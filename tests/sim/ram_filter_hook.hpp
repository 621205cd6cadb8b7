// SPDX-License-Identifier: GPL-2.0-or-later
// The migration RAM filter hook of patches/qemu/0006-0009 (migration/ram-filter.c):
// the epoch (opened after each sync while the VM runs, closed at the start
// of the next sync and at cleanup), the epoch gate on arm/skip, and the
// FphHookOps backend the core's plans execute against.
//
// Broken variants live here as flags, so the core stays the real one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "fph_core.h"
#include "migration_ram.hpp"
#include "trace.hpp"

namespace fph_sim {

struct HookFlags {
    bool ignore_epoch_gate = false;  // (4): arm/skip succeed in any epoch
    bool arm_is_noop = false;        // (5): arm reports success, does nothing
    bool fused_arm_skip = false;     // (1): arm = qemu_guest_free_page_hint()
};

struct HookStats {
    std::uint64_t epochs = 0;
    std::uint64_t pages_armed = 0;
    std::uint64_t pages_skipped = 0;  // pages actually removed from bmap
    std::uint64_t refused_stale = 0;
    std::uint64_t refused_invalid = 0;
};

class RamFilterHook {
public:
    // The filter's epoch callbacks (fph-device.c registers two).
    struct Listener {
        std::function<void(std::uint64_t epoch)> epoch_begin;
        std::function<void()> epoch_end;
    };

    RamFilterHook(MigrationRam& ram, HookFlags flags, const Trace& trace)
        : ram_(ram), flags_(flags), trace_(trace)
    {
    }

    void set_listener(Listener l) { listener_ = std::move(l); }

    // ram_filter_epoch_begin() / ram_filter_epoch_end()
    void epoch_begin();
    void epoch_end();

    // ram_filter_arm() / ram_filter_skip(): a batch under one epoch check,
    // applied in one go (the bitmap lock is held for the whole batch).
    int arm(std::uint64_t epoch, const FphRamRange* ranges, std::size_t n);
    int skip(std::uint64_t epoch, const FphRamRange* ranges, std::size_t n, std::uint64_t* pages);

    // What fph-device.c hands the core: the batch forms only.
    static const FphHookOps* ops();
    const HookStats& stats() const { return stats_; }
    bool epoch_open() const { return open_; }

private:
    int op(std::uint64_t epoch, const FphRamRange* ranges, std::size_t n, bool skip,
           std::uint64_t* pages);
    bool is_ram(const FphRamRange& r) const;
    // ram_filter_apply_locked() for one range.
    void apply_one(const FphRamRange& r, bool skip, std::uint64_t* pages);

    MigrationRam& ram_;
    HookFlags flags_;
    const Trace& trace_;
    Listener listener_;
    std::uint64_t epoch_ = 0;
    bool open_ = false;
    HookStats stats_;
};

}  // namespace fph_sim
