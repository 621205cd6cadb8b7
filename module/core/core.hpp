// SPDX-License-Identifier: GPL-2.0-or-later
// The host-side protocol state machine: RAM map, epoch, armed set and stats.
// Single-threaded by contract (QEMU: main loop under the BQL).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "epoch_state.hpp"
#include "fph_core.h"
#include "interval_set.hpp"
#include "plan.hpp"
#include "planner.hpp"
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

// A request being planned (Core::begin .. Core::finish or Core::drop).
// Borrows the request's bytes until then.
class Planning {
public:
    // Planned, or refused: Core::finish() has the plan.
    bool done() const noexcept { return !planner_ || planner_->done(); }

private:
    friend class Core;

    Planning() noexcept = default;
    explicit Planning(const RequestView& req) noexcept
        : framed_(true), type_(req.type()), nr_ranges_(req.nr_ranges())
    {
    }

    std::optional<Planner> planner_;    // none: decided by Core::begin()
    Plan plan_;                         // ... then this is the decision
    std::optional<FphReject> refused_;  // refused whole, and why
    bool framed_ = false;               // well framed: counted as a batch of its ranges
    RequestType type_ = RequestType::Candidates;
    std::uint32_t nr_ranges_ = 0;
    std::uint64_t generation_ = 0;  // Core's, when planning began
};

// How a planning is given up (Core::drop).
enum class Drop {
    Unanswered,  // device reset: counted as received, its ranges not judged
    Requeued,    // back on the ring, to be taken again: counted then
};

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

    // Parses and plans a request in one go: begin, step, finish.  May
    // throw std::bad_alloc; the caller then reports note_failed_request().
    Plan parse(std::span<const std::uint8_t> bytes);

    // The same in slices (docs/design.rst, "Bounded cost").  One request
    // at a time, and no plan completed until it is finished or dropped: it
    // is planned against the armed set the previous ones left.  If the
    // epoch begins or ends meanwhile (or the RAM map or the armed set
    // changes), the request is refused as stale, as if it had come after.
    // Nothing is counted until finish() or drop().  begin() and step() may
    // throw std::bad_alloc: the planning is then of no use, and the caller
    // reports note_failed_request().
    Planning begin(std::span<const std::uint8_t> bytes);
    // Plans on within @budget (at least one operation if it is not spent);
    // true once done.
    bool step(Planning& planning, SliceBudget& budget);
    // The plan of a planning that is done; counts the request.
    Plan finish(Planning&& planning) noexcept;
    void drop(Planning&& planning, Drop how) noexcept;
    // Applies a (possibly executed) plan to the core state and stats.
    Response complete(const Plan& plan) noexcept;

    // A request we could not process for lack of memory: counted as
    // OVER_LIMIT (a resource limit), answered S_INVALID by the caller.
    void note_alloc_failure() noexcept { ++stats_.rejected[FPH_REJECT_OVER_LIMIT]; }
    // A request that could not be planned for lack of memory: the same,
    // and the request counted.
    void note_failed_request() noexcept
    {
        ++stats_.requests;
        note_alloc_failure();
    }

    FphStats stats() const noexcept;

    Reclaim& reclaim() noexcept { return reclaim_; }
    const Reclaim& reclaim() const noexcept { return reclaim_; }

private:
    friend struct TestAccess;

    static Planning refuse(FphReject why, const RequestView* req) noexcept;
    bool current(const Planning& planning) const noexcept
    {
        return planning.generation_ == generation_;
    }
    static void make_stale(Planning& planning) noexcept;
    void account_plan(const Plan& plan, std::uint32_t nr_ranges, RequestType type) noexcept;
    bool remember_armed(const Range& r) noexcept;

    std::uint32_t max_ranges_;
    WorkBudget budget_;
    std::uint64_t epoch_pieces_ = 0;  // work planned in the open epoch
    // Changes with whatever a plan is made against: the epoch, the RAM
    // map, the armed set.
    std::uint64_t generation_ = 0;
    IntervalSet ram_;
    IntervalSet armed_;  // ranges armed in the open epoch; empty when closed
    EpochState epoch_;
    FphStats stats_{};
    Reclaim reclaim_;
};

}  // namespace fph
