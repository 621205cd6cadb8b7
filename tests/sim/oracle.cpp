// SPDX-License-Identifier: GPL-2.0-or-later
#include "oracle.hpp"

namespace fph_sim {

OracleVerdict check_destination(const BuddyAllocator& alloc, const GuestMemory& mem,
                                const MigrationRam& ram)
{
    OracleVerdict v;
    for (Pfn p = 0; p < mem.pages(); ++p) {
        if (alloc.is_allocated(p) && mem.defined(p) && mem.content(p) != ram.dest(p)) {
            if (v.bad_pages++ == 0) {
                v.first_bad = p;
                v.source = mem.content(p);
                v.destination = ram.dest(p);
            }
        }
    }
    return v;
}

}  // namespace fph_sim
