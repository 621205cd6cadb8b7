// SPDX-License-Identifier: GPL-2.0-or-later
// The one-shot planner the core had before planning was sliced, kept as
// the oracle the resumable fph::Planner is checked against: validate every
// range, sort and merge the survivors, walk the armed set group by group.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "interval_set.hpp"
#include "plan.hpp"
#include "range_validator.hpp"
#include "request_parser.hpp"
#include "work_budget.hpp"

namespace fph_test::reference {

struct Group {
    fph::Range span;
    std::uint32_t sources = 0;
};

inline std::vector<Group> group(std::vector<fph::Range> ranges)
{
    std::sort(ranges.begin(), ranges.end(),
              [](const fph::Range& a, const fph::Range& b) { return a.addr < b.addr; });
    std::vector<Group> groups;
    for (const fph::Range& r : ranges) {
        if (!groups.empty() && r.addr <= groups.back().span.end()) {
            Group& g = groups.back();
            g.span = fph::Range::from_bounds(g.span.addr, std::max(g.span.end(), r.end()));
            ++g.sources;
        } else {
            groups.push_back(Group{r, 1});
        }
    }
    return groups;
}

inline std::vector<fph::Range> valid_ranges(const fph::RequestView& req,
                                            const fph::IntervalSet& ram, fph::Plan& plan)
{
    std::vector<fph::Range> valid;
    for (std::uint32_t i = 0; i < req.nr_ranges(); ++i) {
        const fph::Range r = req.range(i);
        if (const auto why = fph::validate_range(r, ram)) {
            ++plan.rejects[*why];
            ++plan.nr_rejected;
        } else {
            valid.push_back(r);
        }
    }
    return valid;
}

template <typename PiecesOf>
void plan_groups(fph::Plan& plan, const std::vector<Group>& groups, fph::PieceAllowance& allowance,
                 PiecesOf&& pieces_of)
{
    const bool arms = plan.kind == fph::Plan::Kind::Candidates;
    bool spent = false;
    for (const Group& g : groups) {
        const auto index = static_cast<std::uint32_t>(plan.group_sources.size());
        if (!spent) {
            pieces_of(g.span, [&](const fph::Range& piece) {
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

inline fph::Plan plan(const fph::RequestView& req, const fph::IntervalSet& ram,
                      const fph::IntervalSet& armed, fph::PieceAllowance allowance)
{
    fph::Plan plan;
    if (req.type() == fph::RequestType::Candidates) {
        plan.kind = fph::Plan::Kind::Candidates;
        plan_groups(plan, group(valid_ranges(req, ram, plan)), allowance,
                    [&](const fph::Range& span, auto&& f) { armed.for_each_gap(span, f); });
        return plan;
    }
    plan.kind = fph::Plan::Kind::Confirm;
    std::vector<fph::Range> kept;
    for (const fph::Range& r : valid_ranges(req, ram, plan)) {
        if (!armed.contains(r)) {
            ++plan.rejects[FPH_REJECT_NOT_ARMED];
            if (!armed.intersects(r)) {
                ++plan.nr_rejected;
                continue;
            }
        }
        kept.push_back(r);
    }
    plan_groups(plan, group(std::move(kept)), allowance,
                [&](const fph::Range& span, auto&& f) { armed.for_each_intersection(span, f); });
    return plan;
}

}  // namespace fph_test::reference
