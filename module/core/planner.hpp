// SPDX-License-Identifier: GPL-2.0-or-later
// Turns a well-framed, current-epoch request into a Plan: validates every
// range, merges the survivors and (for CONFIRM) clips them to the armed set.
#pragma once

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
};

// Sorts and merges overlapping or adjacent ranges (all valid, non-wrapping).
std::vector<RangeGroup> group_ranges(std::vector<Range> ranges);

// Both may throw std::bad_alloc; plan epoch fields are left to the caller.
// They plan no more work than @allowance grants (WorkBudget); what does
// not fit is rejected as FPH_REJECT_OVER_BUDGET.
Plan plan_candidates(const RequestView& req, const IntervalSet& ram, const IntervalSet& armed,
                     PieceAllowance& allowance);
Plan plan_confirm(const RequestView& req, const IntervalSet& ram, const IntervalSet& armed,
                  PieceAllowance& allowance);

}  // namespace fph
