// SPDX-License-Identifier: GPL-2.0-or-later
#include "planner.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "range_validator.hpp"

namespace fph {

void add_to_groups(std::vector<RangeGroup>& groups, const Range& r)
{
    if (!groups.empty() && r.addr <= groups.back().span.end()) {
        RangeGroup& g = groups.back();
        g.span = Range::from_bounds(g.span.addr, std::max(g.span.end(), r.end()));
        ++g.sources;
    } else {
        groups.push_back(RangeGroup{r, 1});
    }
}

std::vector<RangeGroup> group_ranges(std::vector<Range> ranges)
{
    std::sort(ranges.begin(), ranges.end(),
              [](const Range& a, const Range& b) { return a.addr < b.addr; });
    std::vector<RangeGroup> groups;
    for (const Range& r : ranges) {
        add_to_groups(groups, r);
    }
    return groups;
}

Planner::Planner(const RequestView& req, PieceAllowance allowance)
    : req_(req), allowance_(allowance)
{
    plan_.kind =
        req.type() == RequestType::Candidates ? Plan::Kind::Candidates : Plan::Kind::Confirm;
    kept_.reserve(req.nr_ranges());
    if (req.nr_ranges() == 0) {
        start_merge();
    }
}

void Planner::run(const IntervalSet& ram, const IntervalSet& armed, SliceBudget& budget)
{
    // The budget is checked between operations: one always runs, and the
    // last one may overrun by its own cost (at most a range's validation
    // with two lookups, or the sort of a run, which its ranges paid for).
    while (!done() && !budget.spent()) {
        switch (phase_) {
        case Phase::Validate:
            validate_one(ram, armed, budget);
            break;
        case Phase::Merge:
            merge_one(budget);
            break;
        case Phase::Walk:
            walk_one(armed, budget);
            break;
        case Phase::Done:
            break;
        }
    }
}

Plan Planner::take() noexcept
{
    assert(done());
    return std::move(plan_);
}

// Validates one range; bad ones are counted and dropped.  For CONFIRM,
// only what was armed this epoch may be skipped (the re-arm rule,
// docs/design.rst): the unarmed part is dropped, the armed part still
// counts.
void Planner::validate_one(const IntervalSet& ram, const IntervalSet& armed, SliceBudget& budget)
{
    const Range r = req_.range(next_range_++);
    bool keep = true;

    budget.charge(SliceBudget::kValidate);
    if (const auto why = validate_range(r, ram)) {
        ++plan_.rejects[*why];
        ++plan_.nr_rejected;
        keep = false;
    } else if (!arms()) {
        budget.charge(SliceBudget::kLookup);
        if (!armed.contains(r)) {
            ++plan_.rejects[FPH_REJECT_NOT_ARMED];
            budget.charge(SliceBudget::kLookup);
            if (!armed.intersects(r)) {
                ++plan_.nr_rejected;
                keep = false;
            }
        }
    }
    if (keep) {
        kept_.push_back(r);
        budget.charge(SliceBudget::kSortShare);
        if (kept_.size() - run_start_ == kRunLength) {
            close_run();
        }
    }
    if (next_range_ == req_.nr_ranges()) {
        close_run();
        start_merge();
    }
}

// Sorts the ranges kept since the last run: sorting them all at once
// would cost the main loop ~4 ms at 65536 ranges.
void Planner::close_run()
{
    if (kept_.size() == run_start_) {
        return;
    }
    const auto first = kept_.begin() + static_cast<std::ptrdiff_t>(run_start_);
    std::sort(first, kept_.end(), [](const Range& a, const Range& b) { return a.addr < b.addr; });
    runs_.push_back(Run{run_start_, kept_.size()});
    run_start_ = kept_.size();
}

// Orders runs by their next range, the lowest address on top of the heap.
auto Planner::later() const noexcept
{
    return [this](const Run& a, const Run& b) { return kept_[a.next].addr > kept_[b.next].addr; };
}

void Planner::start_merge()
{
    phase_ = Phase::Merge;
    std::make_heap(runs_.begin(), runs_.end(), later());
    groups_.reserve(kept_.size());
    if (runs_.empty()) {
        start_walk();
    }
}

// Merges the runs' lowest range into the groups (the runs are sorted, so
// the groups come out in address order, as one sort would make them).
void Planner::merge_one(SliceBudget& budget)
{
    const auto order = later();

    std::pop_heap(runs_.begin(), runs_.end(), order);
    Run& run = runs_.back();
    add_to_groups(groups_, kept_[run.next]);
    budget.charge(SliceBudget::kMerge);
    if (++run.next == run.end) {
        runs_.pop_back();
    } else {
        std::push_heap(runs_.begin(), runs_.end(), order);
    }
    if (runs_.empty()) {
        start_walk();
    }
}

void Planner::start_walk()
{
    phase_ = groups_.empty() ? Phase::Done : Phase::Walk;
    plan_.group_sources.reserve(groups_.size());
    next_group_ = 0;
    walk_from_ = groups_.empty() ? 0 : groups_.front().span.addr;
}

// Plans the next pieces of the group being walked while the allowance
// lasts (CANDIDATES: what is not armed yet; CONFIRM: what is armed), and
// at least one before the slice's budget stops it there.  A group cut
// short by the allowance and the groups after it count as rejected: their
// inputs are not done, although the pieces already planned are (partial
// arming or skipping is safe, only less).
void Planner::walk_one(const IntervalSet& armed, SliceBudget& budget)
{
    const RangeGroup& g = groups_[next_group_];
    const auto index = static_cast<std::uint32_t>(plan_.group_sources.size());

    if (spent_) {
        budget.charge(SliceBudget::kGroup);
    } else {
        bool planned = false, paused = false;
        auto plan_piece = [&](const Range& piece) {
            if (planned && budget.spent()) {
                // The set does not change until the next slice: the walk
                // from here finds this piece again.
                walk_from_ = piece.addr;
                paused = true;
                return false;
            }
            if (!allowance_.take(arms())) {
                spent_ = true;
                return false;
            }
            plan_.add_work(piece, index);
            budget.charge(SliceBudget::kPiece);
            planned = true;
            return true;
        };
        const Range rest = Range::from_bounds(walk_from_, g.span.end());

        budget.charge(SliceBudget::kLookup);
        // Never re-arm what is armed this epoch: re-arming would drop the
        // record of a write made after the guest observed the page free
        // and before it confirms it (the last arm must precede that
        // observation).  What is already armed counts as done.
        if (arms()) {
            armed.for_each_gap(rest, plan_piece);
        } else {
            armed.for_each_intersection(rest, plan_piece);
        }
        if (paused) {
            return;
        }
    }
    if (spent_) {
        plan_.rejects[FPH_REJECT_OVER_BUDGET] += g.sources;
        plan_.nr_rejected += g.sources;
        plan_.group_sources.push_back(0);
    } else {
        plan_.group_sources.push_back(g.sources);
    }
    next_group();
}

void Planner::next_group() noexcept
{
    if (++next_group_ == groups_.size()) {
        phase_ = Phase::Done;
    } else {
        walk_from_ = groups_[next_group_].span.addr;
    }
}

}  // namespace fph
