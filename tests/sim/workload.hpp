// SPDX-License-Identifier: GPL-2.0-or-later
// Guest activity between the driver's lock holds: allocations of random
// order and lifetime, frees, and writes into allocated memory.
#pragma once

#include <cstdint>
#include <vector>

#include "buddy_allocator.hpp"
#include "guest_memory.hpp"
#include "rng.hpp"
#include "trace.hpp"

namespace fph_sim {

class Workload {
public:
    Workload(BuddyAllocator& alloc, GuestMemory& mem, Rng& rng, const Trace& trace)
        : alloc_(alloc), mem_(mem), rng_(rng), trace_(trace)
    {
    }

    // Fills about @percent of RAM with written allocations (boot state).
    void populate(unsigned percent);
    // One random guest action.
    void step();

private:
    struct Allocation {
        Pfn head;
        unsigned order;
    };

    unsigned random_order();
    void do_alloc();
    void do_free();
    void do_write();
    bool alloc_one(unsigned order, bool init);

    BuddyAllocator& alloc_;
    GuestMemory& mem_;
    Rng& rng_;
    const Trace& trace_;
    std::vector<Allocation> live_;
};

}  // namespace fph_sim
