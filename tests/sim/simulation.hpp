// SPDX-License-Identifier: GPL-2.0-or-later
// One migration, start to finish, under one seed: setup sync, bulk and
// iterative rounds with guest, driver, device and migration-thread steps
// interleaved by the seeded PRNG, then stop-and-copy or a switch to
// postcopy, and the oracle.
#pragma once

#include <cstdint>
#include <ostream>

#include "oracle.hpp"
#include "scenario.hpp"

namespace fph_sim {

struct RunResult {
    RunSpec spec;
    OracleVerdict verdict;
    Pfn pages = 0;
    std::uint64_t steps = 0;
    std::uint64_t syncs = 0;
    std::uint64_t requests = 0;
    std::uint64_t pages_skipped = 0;     // removed from bmap by hints
    std::uint64_t stale_refusals = 0;    // requests the core answered STALE
    std::uint64_t hook_refusals = 0;     // arm/skip refused -ESTALE by the hook
    std::uint64_t armed_pages = 0;       // candidate pages the driver saw armed
    std::uint64_t confirmed_pages = 0;   // ... and then confirmed still free
    bool postcopy = false;               // ended in a switch to postcopy
    std::uint64_t pages_sent = 0;        // all rounds, with content
    std::uint64_t pages_sent_final = 0;  // after the VM stopped: stop-and-copy (downtime)
                                         // or postcopy
    std::uint64_t pages_zero = 0;        // free pages placed as zero after the switch
    std::uint64_t pages_resent = 0;      // sends of content the destination held
    std::uint64_t log_clears = 0;        // KVM_CLEAR_DIRTY_LOG calls (manual KVM)
    std::uint64_t empty_log_clears = 0;  // ... that cleared no bit
    std::uint64_t arm_log_clears = 0;    // ... made by the arm
    std::uint64_t arm_empty_log_clears = 0;
    std::uint64_t reaps = 0;  // dirty-ring reaps (KvmRing)
};

// @trace: null for a silent run, else a step-by-step human-readable log.
RunResult run_one(const RunSpec& spec, std::ostream* trace = nullptr);

}  // namespace fph_sim
