// SPDX-License-Identifier: GPL-2.0-or-later
#include "planner.hpp"

#include <algorithm>

#include "range_validator.hpp"

namespace fph {

namespace {

// Validates every range of req; counts and drops the bad ones.
std::vector<Range> valid_ranges(const RequestView& req, const IntervalSet& ram, Plan& plan)
{
    std::vector<Range> valid;
    valid.reserve(req.nr_ranges());
    for (std::uint32_t i = 0; i < req.nr_ranges(); ++i) {
        const Range r = req.range(i);
        if (const auto why = validate_range(r, ram)) {
            ++plan.rejects[*why];
            ++plan.nr_rejected;
        } else {
            valid.push_back(r);
        }
    }
    return valid;
}

// Plans each group's pieces (from @pieces_of) while the allowance lasts.
// A group cut short and the groups after it count as rejected: their
// inputs are not done, although the pieces already planned are (partial
// arming or skipping is safe, only less).
template <typename PiecesOf>
void plan_groups(Plan& plan, const std::vector<RangeGroup>& groups, PieceAllowance& allowance,
                 PiecesOf&& pieces_of)
{
    const bool arms = plan.kind == Plan::Kind::Candidates;
    bool spent = false;
    plan.group_sources.reserve(groups.size());
    for (const RangeGroup& g : groups) {
        const auto index = static_cast<std::uint32_t>(plan.group_sources.size());
        if (!spent) {
            pieces_of(g.span, [&](const Range& piece) {
                if (!allowance.take(arms)) {
                    spent = true;
                    return false;
                }
                plan.add_work(piece, index);
                return true;
            });
        }
        if (spent) {
            plan.rejects[FPH_REJECT_OVER_BUDGET] += g.sources;
            plan.nr_rejected += g.sources;
            plan.group_sources.push_back(0);
        } else {
            plan.group_sources.push_back(g.sources);
        }
    }
}

}  // namespace

std::vector<RangeGroup> group_ranges(std::vector<Range> ranges)
{
    std::sort(ranges.begin(), ranges.end(),
              [](const Range& a, const Range& b) { return a.addr < b.addr; });
    std::vector<RangeGroup> groups;
    for (const Range& r : ranges) {
        if (!groups.empty() && r.addr <= groups.back().span.end()) {
            RangeGroup& g = groups.back();
            g.span = Range::from_bounds(g.span.addr, std::max(g.span.end(), r.end()));
            ++g.sources;
        } else {
            groups.push_back(RangeGroup{r, 1});
        }
    }
    return groups;
}

Plan plan_candidates(const RequestView& req, const IntervalSet& ram, const IntervalSet& armed,
                     PieceAllowance& allowance)
{
    Plan plan;
    plan.kind = Plan::Kind::Candidates;
    const auto groups = group_ranges(valid_ranges(req, ram, plan));
    // Never re-arm what is armed this epoch: re-arming would drop the
    // record of a write made after the guest observed the page free and
    // before it confirms it (the last arm must precede that observation).
    // What is already armed counts as done.
    plan_groups(plan, groups, allowance,
                [&](const Range& span, auto&& f) { armed.for_each_gap(span, f); });
    return plan;
}

Plan plan_confirm(const RequestView& req, const IntervalSet& ram, const IntervalSet& armed,
                  PieceAllowance& allowance)
{
    Plan plan;
    plan.kind = Plan::Kind::Confirm;
    std::vector<Range> kept;
    for (const Range& r : valid_ranges(req, ram, plan)) {
        // Only what was armed this epoch may be skipped (the re-arm rule, docs/design.rst);
        // the unarmed part is dropped, the armed part still counts.
        if (!armed.contains(r)) {
            ++plan.rejects[FPH_REJECT_NOT_ARMED];
            if (!armed.intersects(r)) {
                ++plan.nr_rejected;
                continue;
            }
        }
        kept.push_back(r);
    }
    plan_groups(plan, group_ranges(std::move(kept)), allowance,
                [&](const Range& span, auto&& f) { armed.for_each_intersection(span, f); });
    return plan;
}

}  // namespace fph
