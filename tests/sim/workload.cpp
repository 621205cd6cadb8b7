// SPDX-License-Identifier: GPL-2.0-or-later
#include "workload.hpp"

namespace fph_sim {

unsigned Workload::random_order()
{
    // Mostly small blocks, occasionally up to order 10 (geometric tail).
    unsigned order = 0;
    while (order < BuddyAllocator::kMaxOrder && rng_.chance(2, 5)) {
        ++order;
    }
    return order;
}

bool Workload::alloc_one(unsigned order, bool init)
{
    const auto head = alloc_.alloc(order, rng_);
    if (!head) {
        return false;
    }
    const Pfn n = Pfn{1} << order;
    for (Pfn p = *head; p < *head + n; ++p) {
        mem_.on_alloc(p);
    }
    live_.push_back({*head, order});
    if (init) {
        // Typically the new owner initialises its memory right away.
        for (Pfn p = *head; p < *head + n; ++p) {
            mem_.write(p);
        }
    }
    trace_.log("guest", "alloc pfn ", *head, " order ", order, init ? " (written)" : "");
    return true;
}

void Workload::populate(unsigned percent)
{
    const Pfn target = alloc_.pages() * percent / 100;
    while (alloc_.pages() - alloc_.free_pages() < target) {
        if (!alloc_one(random_order(), true)) {
            break;
        }
    }
    // Free some again so the free lists are fragmented across all orders.
    for (std::size_t i = live_.size() / 4; i > 0 && !live_.empty(); --i) {
        do_free();
    }
}

void Workload::do_alloc()
{
    if (!alloc_one(random_order(), rng_.chance(3, 4))) {
        do_free();
    }
}

void Workload::do_free()
{
    if (live_.empty()) {
        return;
    }
    const std::size_t i = rng_.below(live_.size());
    const Allocation a = live_[i];
    live_[i] = live_.back();
    live_.pop_back();
    alloc_.free(a.head, a.order);
    trace_.log("guest", "free pfn ", a.head, " order ", a.order);
}

void Workload::do_write()
{
    if (live_.empty()) {
        return;
    }
    const Allocation& a = live_[rng_.below(live_.size())];
    const Pfn pfn = a.head + rng_.below(Pfn{1} << a.order);
    const std::uint64_t v = mem_.write(pfn);
    trace_.log("guest", "write pfn ", pfn, " = v", v);
}

void Workload::step()
{
    // Keep utilisation between ~30% and ~80% so both allocs and frees
    // happen at every stage and free blocks of every order come and go.
    const Pfn used = alloc_.pages() - alloc_.free_pages();
    const Pfn pages = alloc_.pages();
    const std::uint64_t r = rng_.below(100);
    if (used * 10 > pages * 8) {
        r < 60 ? do_free() : do_write();
    } else if (used * 10 < pages * 3) {
        r < 60 ? do_alloc() : do_write();
    } else if (r < 30) {
        do_alloc();
    } else if (r < 60) {
        do_free();
    } else {
        do_write();
    }
}

}  // namespace fph_sim
