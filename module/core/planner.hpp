// SPDX-License-Identifier: GPL-2.0-or-later
// Turns a well-framed, current-epoch request into a Plan: validates every
// range, merges the survivors and walks the armed set per group (CONFIRM:
// what is armed, clipped; CANDIDATES: what is not).  Resumable, so that a
// large request can be planned a slice at a time (Core::step).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "interval_set.hpp"
#include "plan.hpp"
#include "request_parser.hpp"
#include "work_budget.hpp"

namespace fph {

struct RangeGroup {
    Range span;                 // union of the merged inputs
    std::uint32_t sources = 0;  // how many inputs were merged

    friend bool operator==(const RangeGroup&, const RangeGroup&) = default;
};

// Adds @r to @groups, built from ranges in address order: merged into the
// last group if it overlaps or touches it.  May throw std::bad_alloc.
void add_to_groups(std::vector<RangeGroup>& groups, const Range& r);
// Sorts and merges overlapping or adjacent ranges (all valid, non-wrapping).
std::vector<RangeGroup> group_ranges(std::vector<Range> ranges);

// The planning of one request.  Each run() goes on where the last one
// stopped, for at least one operation and until the budget is spent; the
// plan is the same however the work is sliced, provided @ram and @armed
// do not change in between (the core makes sure of that).  What does not
// fit @allowance is rejected as FPH_REJECT_OVER_BUDGET.  Borrows the
// request's bytes until done.  Plan epoch fields are left to the caller.
class Planner {
public:
    Planner(const RequestView& req, PieceAllowance allowance);

    // May throw std::bad_alloc (the planner is then of no further use).
    void run(const IntervalSet& ram, const IntervalSet& armed, SliceBudget& budget);
    bool done() const noexcept { return phase_ == Phase::Done; }
    // The plan, once done.
    Plan take() noexcept;

private:
    enum class Phase { Validate, Merge, Walk, Done };
    // A sorted run of kept_ being merged: [next, end).
    struct Run {
        std::size_t next, end;
    };
    // Valid ranges are sorted in runs of this many, a run at a time.
    static constexpr std::size_t kRunLength = 1024;

    bool arms() const noexcept { return plan_.kind == Plan::Kind::Candidates; }
    void validate_one(const IntervalSet& ram, const IntervalSet& armed, SliceBudget& budget);
    void close_run();
    auto later() const noexcept;
    void start_merge();
    void merge_one(SliceBudget& budget);
    void start_walk();
    void walk_one(const IntervalSet& armed, SliceBudget& budget);
    void next_group() noexcept;

    RequestView req_;
    PieceAllowance allowance_;
    Plan plan_;
    Phase phase_ = Phase::Validate;
    std::uint32_t next_range_ = 0;  // Validate: the next range of req_
    std::vector<Range> kept_;       // valid ranges, sorted runs
    std::size_t run_start_ = 0;     // Validate: the run being filled
    std::vector<Run> runs_;         // Merge: a min-heap by next address
    std::vector<RangeGroup> groups_;
    std::size_t next_group_ = 0;   // Walk: the group being walked
    std::uint64_t walk_from_ = 0;  // ... from this address
    bool spent_ = false;           // Walk: the allowance ran out
};

}  // namespace fph
