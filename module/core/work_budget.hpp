// SPDX-License-Identifier: GPL-2.0-or-later
// What one epoch of guest requests may make the host do and keep: the
// bound on the cost a guest can put on the host (docs/design.rst,
// "Bounded cost"): never more with more guest RAM.
#pragma once

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

}  // namespace fph
