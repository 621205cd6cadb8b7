// SPDX-License-Identifier: GPL-2.0-or-later
#include "interval_set.hpp"

namespace fph {

IntervalSet::Map::const_iterator IntervalSet::first_reaching(std::uint64_t addr) const noexcept
{
    auto it = map_.upper_bound(addr);
    if (it != map_.begin()) {
        auto prev = std::prev(it);
        if (prev->second > addr) {
            return prev;
        }
    }
    return it;
}

bool IntervalSet::insert(const Range& r)
{
    if (r.empty() || r.wraps()) {
        return false;
    }
    std::uint64_t start = r.addr;
    std::uint64_t end = r.end();

    auto it = map_.upper_bound(start);
    if (it != map_.begin()) {
        auto prev = std::prev(it);
        // >= so that an interval ending exactly at start is merged (adjacent).
        if (prev->second >= start) {
            start = prev->first;
            end = std::max(end, prev->second);
            it = map_.erase(prev);
        }
    }
    while (it != map_.end() && it->first <= end) {
        end = std::max(end, it->second);
        it = map_.erase(it);
    }
    map_.emplace_hint(it, start, end);
    return true;
}

void IntervalSet::erase(const Range& r)
{
    if (r.empty() || r.wraps()) {
        return;
    }
    const std::uint64_t start = r.addr;
    const std::uint64_t end = r.end();

    auto it = map_.upper_bound(start);
    if (it != map_.begin()) {
        auto prev = std::prev(it);
        if (prev->second > start) {
            const std::uint64_t prev_end = prev->second;
            if (prev_end > end) {
                // r is strictly inside prev: split it.  Add the tail first so
                // an allocation failure leaves the set unchanged.
                map_.emplace_hint(it, end, prev_end);
            }
            if (prev->first == start) {
                map_.erase(prev);
            } else {
                prev->second = start;
            }
            if (prev_end >= end) {
                return;
            }
        }
    }
    while (it != map_.end() && it->first < end) {
        if (it->second > end) {
            // Keys are immutable: re-insert the surviving tail.
            map_.emplace_hint(std::next(it), end, it->second);
            map_.erase(it);
            return;
        }
        it = map_.erase(it);
    }
}

bool IntervalSet::contains(const Range& r) const noexcept
{
    if (r.empty() || r.wraps()) {
        return false;
    }
    auto it = first_reaching(r.addr);
    return it != map_.end() && it->first <= r.addr && it->second >= r.end();
}

bool IntervalSet::intersects(const Range& r) const noexcept
{
    if (r.empty() || r.wraps()) {
        return false;
    }
    auto it = first_reaching(r.addr);
    return it != map_.end() && it->first < r.end();
}

std::uint64_t IntervalSet::total_bytes() const noexcept
{
    std::uint64_t total = 0;
    for (const auto& [start, end] : map_) {
        total += end - start;
    }
    return total;
}

std::vector<Range> IntervalSet::to_vector() const
{
    std::vector<Range> out;
    out.reserve(map_.size());
    for (const auto& [start, end] : map_) {
        out.push_back(Range::from_bounds(start, end));
    }
    return out;
}

}  // namespace fph
