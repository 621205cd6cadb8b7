// SPDX-License-Identifier: GPL-2.0-or-later
// The safety oracle: after the final round every allocated guest page the
// guest relies on (written since its allocation) must hold on the
// destination exactly what it holds on the source.  Free pages, and pages
// allocated but not yet written, are garbage to the guest and not checked.
#pragma once

#include <cstdint>

#include "buddy_allocator.hpp"
#include "guest_memory.hpp"
#include "migration_ram.hpp"

namespace fph_sim {

struct OracleVerdict {
    std::uint64_t bad_pages = 0;
    Pfn first_bad = 0;
    std::uint64_t source = 0;       // content of first_bad on the source
    std::uint64_t destination = 0;  // ... and on the destination
    bool safe() const { return bad_pages == 0; }
};

OracleVerdict check_destination(const BuddyAllocator& alloc, const GuestMemory& mem,
                                const MigrationRam& ram);

}  // namespace fph_sim
