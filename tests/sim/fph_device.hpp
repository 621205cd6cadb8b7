// SPDX-License-Identifier: GPL-2.0-or-later
// The virtio-fph device glue (module/fph-device.c) around the real core:
// config epoch, virtqueue pop + fph_core_parse on the main loop, the
// worker's fph_plan_execute against the hook, fph_core_complete in the
// done bottom half, and the flush when the VM stops.  Each of those is a
// separate step, so syncs and guest activity interleave between them.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "fph_core.h"
#include "ram_filter_hook.hpp"
#include "rng.hpp"
#include "trace.hpp"
#include "wire.hpp"

namespace fph_sim {

class FphDevice {
public:
    FphDevice(RamFilterHook& hook, std::uint32_t max_ranges, Pfn ram_pages, Rng& rng,
              const Trace& trace);
    ~FphDevice();
    FphDevice(const FphDevice&) = delete;
    FphDevice& operator=(const FphDevice&) = delete;

    // Variant (4): hold some CONFIRM plans in the worker until a sync passed.
    void set_delay_apply_across_sync(bool on) { delay_across_sync_ = on; }

    // Config space, as the driver reads it.
    // The core's epoch, as the module's get_config reads it (no copy).
    std::uint32_t config_epoch() const { return fph_core_epoch(core_); }
    std::uint32_t max_ranges() const { return max_ranges_; }
    bool config_changed() { return std::exchange(config_changed_, false); }

    // RamFilterOps callbacks.
    void epoch_begin(std::uint64_t token);
    void epoch_end();
    void note_sync() { ++syncs_; }

    // Driver side of the virtqueue: one request in flight at a time.
    void add_request(std::vector<std::uint8_t> bytes);
    std::optional<Answer> take_answer();
    bool answer_ready() const { return answer_.has_value(); }

    // Device side steps.
    bool can_pop() const { return vm_running_ && !avail_.empty(); }
    void pop_and_parse();
    bool can_execute() const;
    void execute_one();
    bool can_complete() const { return !done_.empty(); }
    void complete_one();
    // fph_vm_state_change(): stopping answers everything in flight first.
    void set_vm_running(bool running);

    FphStats stats() const;

private:
    struct InFlight {
        FphPlan* plan;
        std::uint16_t type;
        std::uint64_t syncs_at_parse;
        bool delayed;
    };

    void complete(FphPlan* plan);
    void execute(InFlight& f);

    RamFilterHook& hook_;
    FphCore* core_;
    Rng& rng_;
    const Trace& trace_;
    std::uint32_t max_ranges_;
    FphRamRange ram_;
    bool config_changed_ = false;
    bool vm_running_ = true;
    bool delay_across_sync_ = false;
    std::uint64_t syncs_ = 0;
    std::deque<std::vector<std::uint8_t>> avail_;
    std::deque<InFlight> worker_;
    std::deque<FphPlan*> done_;
    std::optional<Answer> answer_;
};

}  // namespace fph_sim
