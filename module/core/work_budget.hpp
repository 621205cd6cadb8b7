// SPDX-License-Identifier: GPL-2.0-or-later
// What one epoch of guest requests may make the host do and keep: the
// bound on the cost a guest can put on the host (docs/design.rst,
// "Bounded cost"): never more with more guest RAM.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace fph {

struct WorkBudget {
    // Work items (arm/skip pieces, one RAM lookup each in the hook) per
    // request: a legitimate request needs about one per range.
    std::uint64_t pieces_per_request;
    // ... and per epoch: a legitimate pass arms and confirms each armed
    // interval once.
    std::uint64_t pieces_per_epoch;
    // Intervals the armed set may hold (~64 bytes of host memory each).
    // Beyond it, further candidates of the epoch are refused: their pages
    // are sent as without fph.
    std::size_t armed_intervals;

    // The device's: a request's worth scales with max-ranges; the armed
    // set is capped at 2^20 intervals (~64 MiB) whatever the guest's size.
    static constexpr WorkBudget for_max_ranges(std::uint32_t max_ranges) noexcept
    {
        constexpr std::size_t kArmedIntervals = std::size_t{1} << 20;
        return {4 * std::uint64_t{max_ranges}, 4 * std::uint64_t{kArmedIntervals}, kArmedIntervals};
    }
};

// The work one request may still plan: what is left of the epoch's budget,
// at most one request's worth.
class PieceAllowance {
public:
    PieceAllowance(std::uint64_t pieces, std::size_t armed_room) noexcept
        : pieces_(pieces), armed_room_(armed_room)
    {
    }

    // Takes one piece; false once the allowance is spent.  A candidate
    // piece may add an interval to the armed set, so it also takes room.
    bool take(bool arms) noexcept
    {
        if (pieces_ == 0 || (arms && armed_room_ == 0)) {
            return false;
        }
        --pieces_;
        armed_room_ -= arms ? 1 : 0;
        return true;
    }

private:
    std::uint64_t pieces_;
    std::size_t armed_room_;
};

// What one slice of planning may still cost (Core::step: a request is
// planned a slice at a time, so that the main loop never waits for the
// whole of a large one).  Counted in ticks: a step, the unit callers give,
// is one lookup in the armed set, the dominant cost (~0.5-1 us at 2^20
// intervals, mostly cache misses); the other operations' costs are
// relative to it, measured so that a slice of each of the worst requests
// takes about as long (a no-work CONFIRM, a CONFIRM of every armed
// interval, CANDIDATES of pages armed or not, in random order).
class SliceBudget {
public:
    static constexpr std::uint64_t kTicksPerStep = 16;
    static constexpr std::uint64_t kLookup = kTicksPerStep;  // in the armed set
    static constexpr std::uint64_t kValidate = 2;            // a range: framing, RAM map
    static constexpr std::uint64_t kSortShare = 1;           // a range kept: its run's sort
    static constexpr std::uint64_t kMerge = 1;               // a range merged into groups
    static constexpr std::uint64_t kPiece = 2;               // a work item planned
    static constexpr std::uint64_t kGroup = 1;               // a group refused

    explicit constexpr SliceBudget(std::uint64_t steps) noexcept : ticks_(steps * kTicksPerStep) {}
    static constexpr SliceBudget unlimited() noexcept
    {
        return SliceBudget(~std::uint64_t{0} / kTicksPerStep);
    }

    bool spent() const noexcept { return ticks_ == 0; }
    // Whole steps left (a started step counts as spent).
    std::uint64_t steps_left() const noexcept { return ticks_ / kTicksPerStep; }
    // Ticks charged so far, including what the last operation took beyond
    // the budget (an operation is never split).
    std::uint64_t charged() const noexcept { return charged_; }

    void charge(std::uint64_t ticks) noexcept
    {
        ticks_ -= std::min(ticks_, ticks);
        charged_ += ticks;
    }

private:
    std::uint64_t ticks_;
    std::uint64_t charged_ = 0;
};

}  // namespace fph
