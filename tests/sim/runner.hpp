// SPDX-License-Identifier: GPL-2.0-or-later
// Runs many seeds of one (model, variant) pair on all cores and sums them.
// Seeds run in fixed blocks, so "the first failing seed" is the smallest
// failing seed of the seeds run, whatever the thread timing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "simulation.hpp"

namespace fph_sim {

struct BatchOptions {
    Accel accel = Accel::Kvm;
    Variant variant = Variant::Correct;
    ArmClear arm_clear = ArmClear::Chunks;
    End end = End::Seeded;
    std::uint64_t first_seed = 0;
    std::uint64_t seeds = 1000;
    unsigned threads = 0;                // 0: hardware concurrency
    bool stop_at_first_failure = false;  // finish the block, then stop
    std::optional<std::chrono::seconds> time_budget;
};

struct BatchSummary {
    std::uint64_t seeds_run = 0;
    std::uint64_t failures = 0;
    std::optional<RunResult> first_failure;
    std::uint64_t pages_skipped = 0;
    std::uint64_t stale_refusals = 0;
    std::uint64_t hook_refusals = 0;
    std::uint64_t seeds_with_stale = 0;
    std::uint64_t armed_pages = 0;
    std::uint64_t confirmed_pages = 0;
    std::uint64_t pages_sent = 0;
    std::uint64_t pages_sent_final = 0;
    std::uint64_t pages_resent = 0;
    std::uint64_t postcopy_ends = 0;  // runs that ended in a switch to postcopy
    std::uint64_t pages_zero = 0;     // ... free pages they placed as zero
    std::uint64_t log_clears = 0;
    std::uint64_t empty_log_clears = 0;
    std::uint64_t arm_log_clears = 0;
    std::uint64_t arm_empty_log_clears = 0;
    std::uint64_t reaps = 0;
    std::uint64_t guest_pages = 0;
    std::uint64_t requests = 0;
    double seconds = 0;
};

BatchSummary run_batch(const BatchOptions& opt);

}  // namespace fph_sim
