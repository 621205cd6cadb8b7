// SPDX-License-Identifier: GPL-2.0-or-later
// The host-side protocol state machine: RAM map, epoch, armed set and stats.
// Single-threaded by contract (QEMU: main loop under the BQL).
#pragma once

#include <cstdint>
#include <span>

#include "epoch_state.hpp"
#include "fph_core.h"
#include "interval_set.hpp"
#include "plan.hpp"
#include "reclaim.hpp"
#include "request_parser.hpp"
#include "work_budget.hpp"

namespace fph {

// Response fields in host order; encoded to the wire by encode_response().
struct Response {
    std::uint16_t status = VIRTIO_FPH_S_OK;
    std::uint32_t epoch = VIRTIO_FPH_EPOCH_NONE;
    std::uint32_t nr_done = 0;
    std::uint32_t nr_rejected = 0;
};

void encode_response(const Response& r, virtio_fph_resp* out) noexcept;

class Core {
public:
    explicit Core(std::uint32_t max_ranges) noexcept;
    // With another budget than the device's (tests).
    Core(std::uint32_t max_ranges, const WorkBudget& budget) noexcept;

    // May throw std::bad_alloc; the RAM map is then left empty (hint nothing).
    void set_ram(std::span<const FphRamRange> ranges);

    std::uint32_t epoch_begin(std::uint64_t token) noexcept;
    void epoch_end() noexcept;
    std::uint32_t epoch() const noexcept { return epoch_.current(); }
    std::uint32_t max_ranges() const noexcept { return max_ranges_; }

    // May throw std::bad_alloc; the caller then reports note_alloc_failure().
    Plan parse(std::span<const std::uint8_t> bytes);
    // Applies a (possibly executed) plan to the core state and stats.
    Response complete(const Plan& plan) noexcept;

    // A request we could not process for lack of memory: counted as
    // OVER_LIMIT (a resource limit), answered S_INVALID by the caller.
    void note_alloc_failure() noexcept { ++stats_.rejected[FPH_REJECT_OVER_LIMIT]; }

    FphStats stats() const noexcept;
    const IntervalSet& armed() const noexcept { return armed_; }
    const IntervalSet& ram() const noexcept { return ram_; }
    const WorkBudget& budget() const noexcept { return budget_; }
    EpochState& epoch_state_for_test() noexcept { return epoch_; }

    Reclaim& reclaim() noexcept { return reclaim_; }
    const Reclaim& reclaim() const noexcept { return reclaim_; }

private:
    Plan reject_whole(FphReject why) noexcept;
    void account_plan(const Plan& plan, std::uint32_t nr_ranges, RequestType type) noexcept;
    bool remember_armed(const Range& r) noexcept;

    std::uint32_t max_ranges_;
    WorkBudget budget_;
    std::uint64_t epoch_pieces_ = 0;  // work planned in the open epoch
    IntervalSet ram_;
    IntervalSet armed_;  // ranges armed in the open epoch; empty when closed
    EpochState epoch_;
    FphStats stats_{};
    Reclaim reclaim_;
};

}  // namespace fph
