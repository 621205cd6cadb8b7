// SPDX-License-Identifier: GPL-2.0-or-later
// `fph-sim --scale`: the cost of one hinting epoch as the guest grows to
// 1 TiB.  The guest is sparse (its free memory is a list of extents, not
// per-page state); the host side is the real core plus a backend that does
// what the hook patch does to QEMU's own structures -- a dense migration
// bitmap (the real size: 32 MiB for 1 TiB) and clear_bmap chunks of 2^18
// pages -- so the measured host time includes the bitmap work.  The core
// has the device's work budget: beyond it, free memory is not hinted.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace fph_sim {

struct ScaleRow {
    std::string layout;
    std::uint64_t guest_bytes = 0;
    std::uint32_t max_ranges = 0;
    std::uint64_t free_pages = 0;
    std::uint64_t free_ranges = 0;
    std::uint64_t messages = 0;    // CANDIDATES + CONFIRM requests
    std::uint64_t wire_bytes = 0;  // request + response bytes
    std::uint64_t pages_skipped = 0;
    std::uint64_t kvm_clears = 0;    // KVM_CLEAR_DIRTY_LOG calls (chunks)
    std::uint64_t exact_clears = 0;  // ... an exact arm would make (pieces)
    double core_ms = 0;              // parse + complete (main loop)
    double backend_ms = 0;           // plan execution (worker: arm + skip)
    double max_request_ms = 0;       // the longest parse + complete of one request
    std::uint64_t host_bytes = 0;    // heap the core holds at the epoch's end (armed set)
    std::uint64_t over_budget = 0;   // ranges refused by the work budget
};

std::vector<ScaleRow> run_scale(std::uint64_t max_guest_bytes);
void print_scale(std::ostream& out, const std::vector<ScaleRow>& rows);

}  // namespace fph_sim
