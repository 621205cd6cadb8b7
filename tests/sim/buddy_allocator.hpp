// SPDX-License-Identifier: GPL-2.0-or-later
// Guest page allocator model: a binary buddy allocator over one zone with
// Linux's orders 0..10.  It exposes exactly what the guest driver reads
// under zone->lock: whether a PFN heads a free block and its order
// (PageBuddy + buddy_order), and the order of an allocated compound head.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "rng.hpp"
#include "types.hpp"

namespace fph_sim {

class BuddyAllocator {
public:
    static constexpr unsigned kMaxOrder = 10;  // MAX_PAGE_ORDER
    static constexpr unsigned kNrOrders = kMaxOrder + 1;

    // @pages must be a multiple of the largest block; all of it starts free.
    explicit BuddyAllocator(Pfn pages);

    // Takes a random block from the smallest non-empty order >= @order and
    // splits it down (random, not LIFO, so the free lists get shuffled).
    std::optional<Pfn> alloc(unsigned order, Rng& rng);
    // Returns the block and merges it with its free buddies.
    void free(Pfn head, unsigned order);

    Pfn pages() const { return pages_; }
    Pfn free_pages() const { return free_pages_; }
    bool is_allocated(Pfn pfn) const { return allocated_[pfn] != 0; }
    // PageBuddy(page) ? buddy_order(page) : -1
    int free_head_order(Pfn pfn) const { return free_order_[pfn]; }
    // PageHead(page) ? compound_order(page) : -1, for allocated blocks
    int used_head_order(Pfn pfn) const { return used_order_[pfn]; }

private:
    void add_free(Pfn head, unsigned order);
    void remove_free(Pfn head);

    Pfn pages_;
    Pfn free_pages_ = 0;
    std::vector<std::int8_t> free_order_;
    std::vector<std::int8_t> used_order_;
    std::vector<std::uint8_t> allocated_;
    // Free lists with O(1) removal: list_pos_[head] indexes lists_[order].
    std::array<std::vector<Pfn>, kNrOrders> lists_;
    std::vector<std::uint32_t> list_pos_;
};

}  // namespace fph_sim
