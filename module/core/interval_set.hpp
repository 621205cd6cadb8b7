// SPDX-License-Identifier: GPL-2.0-or-later
// A set of disjoint, non-adjacent half-open byte intervals.  Used for the
// hintable RAM map and for the per-epoch armed set, which can hold ~200k
// ranges, hence an ordered map keyed by start: O(log n) insert and lookup.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <type_traits>
#include <vector>

#include "range.hpp"

namespace fph {

class IntervalSet {
public:
    // Adds r, merging with overlapping and adjacent intervals.  Empty or
    // wrapping ranges are ignored (returns false).  May throw std::bad_alloc.
    bool insert(const Range& r);
    // Removes r, splitting an interval that contains it.  May throw
    // std::bad_alloc (a split adds a node).
    void erase(const Range& r);
    void clear() noexcept { map_.clear(); }

    // True iff every byte of r lies in one interval (intervals are merged,
    // so "one" is the same as "the union").  False for empty/wrapping r.
    bool contains(const Range& r) const noexcept;
    // True iff some byte of r is in the set.
    bool intersects(const Range& r) const noexcept;

    // Calls f(Range) for each maximal piece of r inside the set, in order;
    // if f returns bool, false stops the walk (the cost is then bounded by
    // the pieces f accepted).
    template <typename F>
    void for_each_intersection(const Range& r, F&& f) const;
    // Calls f(Range) for each maximal piece of r outside the set, likewise.
    template <typename F>
    void for_each_gap(const Range& r, F&& f) const;

    std::size_t size() const noexcept { return map_.size(); }
    bool empty() const noexcept { return map_.empty(); }
    std::uint64_t total_bytes() const noexcept;
    std::vector<Range> to_vector() const;

private:
    // f(piece), and whether to go on.
    template <typename F>
    static bool visit(F& f, const Range& piece)
    {
        if constexpr (std::is_same_v<decltype(f(piece)), bool>) {
            return f(piece);
        } else {
            f(piece);
            return true;
        }
    }

    // start -> exclusive end; invariant: for consecutive a, b: a.end < b.start.
    using Map = std::map<std::uint64_t, std::uint64_t>;
    // First interval whose end is > addr, i.e. the first that could hold addr.
    Map::const_iterator first_reaching(std::uint64_t addr) const noexcept;

    Map map_;
};

template <typename F>
void IntervalSet::for_each_intersection(const Range& r, F&& f) const
{
    if (r.empty() || r.wraps()) {
        return;
    }
    const std::uint64_t end = r.end();
    for (auto it = first_reaching(r.addr); it != map_.end() && it->first < end; ++it) {
        if (!visit(f, Range::from_bounds(std::max(r.addr, it->first), std::min(end, it->second)))) {
            return;
        }
    }
}

template <typename F>
void IntervalSet::for_each_gap(const Range& r, F&& f) const
{
    if (r.empty() || r.wraps()) {
        return;
    }
    std::uint64_t at = r.addr;
    const std::uint64_t end = r.end();
    for (auto it = first_reaching(r.addr); it != map_.end() && it->first < end; ++it) {
        if (it->first > at && !visit(f, Range::from_bounds(at, it->first))) {
            return;
        }
        at = std::max(at, it->second);
    }
    if (at < end) {
        visit(f, Range::from_bounds(at, end));
    }
}

}  // namespace fph
