// SPDX-License-Identifier: GPL-2.0-or-later
#include "buddy_allocator.hpp"

#include <cassert>
#include <stdexcept>

namespace fph_sim {

BuddyAllocator::BuddyAllocator(Pfn pages)
    : pages_(pages), free_order_(pages, -1), used_order_(pages, -1), allocated_(pages, 0),
      list_pos_(pages, 0)
{
    constexpr Pfn kBlock = Pfn{1} << kMaxOrder;
    if (pages == 0 || pages % kBlock != 0) {
        throw std::invalid_argument("guest size must be a multiple of an order-10 block");
    }
    for (Pfn head = 0; head < pages; head += kBlock) {
        add_free(head, kMaxOrder);
    }
}

void BuddyAllocator::add_free(Pfn head, unsigned order)
{
    free_order_[head] = static_cast<std::int8_t>(order);
    list_pos_[head] = static_cast<std::uint32_t>(lists_[order].size());
    lists_[order].push_back(head);
    free_pages_ += Pfn{1} << order;
}

void BuddyAllocator::remove_free(Pfn head)
{
    const auto order = static_cast<unsigned>(free_order_[head]);
    auto& list = lists_[order];
    const std::uint32_t pos = list_pos_[head];
    list[pos] = list.back();
    list_pos_[list[pos]] = pos;
    list.pop_back();
    free_order_[head] = -1;
    free_pages_ -= Pfn{1} << order;
}

std::optional<Pfn> BuddyAllocator::alloc(unsigned order, Rng& rng)
{
    unsigned o = order;
    while (o < kNrOrders && lists_[o].empty()) {
        ++o;
    }
    if (o >= kNrOrders) {
        return std::nullopt;
    }
    const Pfn head = lists_[o][rng.below(lists_[o].size())];
    remove_free(head);
    while (o > order) {
        --o;
        add_free(head + (Pfn{1} << o), o);
    }
    for (Pfn p = head; p < head + (Pfn{1} << order); ++p) {
        allocated_[p] = 1;
    }
    used_order_[head] = static_cast<std::int8_t>(order);
    return head;
}

void BuddyAllocator::free(Pfn head, unsigned order)
{
    assert(used_order_[head] == static_cast<int>(order));
    used_order_[head] = -1;
    for (Pfn p = head; p < head + (Pfn{1} << order); ++p) {
        allocated_[p] = 0;
    }
    while (order < kMaxOrder) {
        const Pfn buddy = head ^ (Pfn{1} << order);
        if (buddy >= pages_ || free_order_[buddy] != static_cast<int>(order)) {
            break;
        }
        remove_free(buddy);
        head = std::min(head, buddy);
        ++order;
    }
    add_free(head, order);
}

}  // namespace fph_sim
