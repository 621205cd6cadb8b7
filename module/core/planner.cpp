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

Plan plan_candidates(const RequestView& req, const IntervalSet& ram, const IntervalSet& armed)
{
    Plan plan;
    plan.kind = Plan::Kind::Candidates;
    const auto groups = group_ranges(valid_ranges(req, ram, plan));
    plan.group_sources.reserve(groups.size());
    for (const RangeGroup& g : groups) {
        const auto index = static_cast<std::uint32_t>(plan.group_sources.size());
        // Never re-arm what is armed this epoch: re-arming would drop the
        // record of a write made after the guest observed the page free
        // and before it confirms it (the last arm must precede that
        // observation).  What is already armed counts as done.
        armed.for_each_gap(g.span, [&](const Range& piece) { plan.add_work(piece, index); });
        plan.group_sources.push_back(g.sources);
    }
    return plan;
}

Plan plan_confirm(const RequestView& req, const IntervalSet& ram, const IntervalSet& armed)
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
    const auto groups = group_ranges(std::move(kept));
    plan.group_sources.reserve(groups.size());
    for (const RangeGroup& g : groups) {
        const auto index = static_cast<std::uint32_t>(plan.group_sources.size());
        armed.for_each_intersection(g.span,
                                    [&](const Range& piece) { plan.add_work(piece, index); });
        plan.group_sources.push_back(g.sources);
    }
    return plan;
}

}  // namespace fph
