// SPDX-License-Identifier: GPL-2.0-or-later
#include "runner.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace fph_sim {

namespace {

constexpr std::uint64_t kBlock = 64;

void add(BatchSummary& s, const RunResult& r)
{
    ++s.seeds_run;
    s.pages_skipped += r.pages_skipped;
    s.stale_refusals += r.stale_refusals;
    s.hook_refusals += r.hook_refusals;
    s.seeds_with_stale += r.stale_refusals ? 1 : 0;
    s.armed_pages += r.armed_pages;
    s.confirmed_pages += r.confirmed_pages;
    s.pages_sent += r.pages_sent;
    s.pages_sent_final += r.pages_sent_final;
    s.pages_resent += r.pages_resent;
    s.postcopy_ends += r.postcopy ? 1 : 0;
    s.pages_zero += r.pages_zero;
    s.log_clears += r.log_clears;
    s.empty_log_clears += r.empty_log_clears;
    s.arm_log_clears += r.arm_log_clears;
    s.arm_empty_log_clears += r.arm_empty_log_clears;
    s.reaps += r.reaps;
    s.guest_pages += r.pages;
    s.requests += r.requests;
    if (!r.verdict.safe()) {
        ++s.failures;
        if (!s.first_failure || r.spec.seed < s.first_failure->spec.seed) {
            s.first_failure = r;
        }
    }
}

void merge(BatchSummary& into, const BatchSummary& from)
{
    into.seeds_run += from.seeds_run;
    into.failures += from.failures;
    if (from.first_failure &&
        (!into.first_failure || from.first_failure->spec.seed < into.first_failure->spec.seed)) {
        into.first_failure = from.first_failure;
    }
    into.pages_skipped += from.pages_skipped;
    into.stale_refusals += from.stale_refusals;
    into.hook_refusals += from.hook_refusals;
    into.seeds_with_stale += from.seeds_with_stale;
    into.armed_pages += from.armed_pages;
    into.confirmed_pages += from.confirmed_pages;
    into.pages_sent += from.pages_sent;
    into.pages_sent_final += from.pages_sent_final;
    into.pages_resent += from.pages_resent;
    into.postcopy_ends += from.postcopy_ends;
    into.pages_zero += from.pages_zero;
    into.log_clears += from.log_clears;
    into.empty_log_clears += from.empty_log_clears;
    into.arm_log_clears += from.arm_log_clears;
    into.arm_empty_log_clears += from.arm_empty_log_clears;
    into.reaps += from.reaps;
    into.guest_pages += from.guest_pages;
    into.requests += from.requests;
}

}  // namespace

BatchSummary run_batch(const BatchOptions& opt)
{
    const auto t0 = std::chrono::steady_clock::now();
    const unsigned threads =
        opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
    BatchSummary total;
    std::uint64_t done = 0;
    while (done < opt.seeds) {
        if (opt.time_budget && std::chrono::steady_clock::now() - t0 >= *opt.time_budget) {
            break;
        }
        if (opt.stop_at_first_failure && total.failures) {
            break;
        }
        // One block: seeds [base, base + n) spread over the threads.
        const std::uint64_t base = opt.first_seed + done;
        const std::uint64_t n = std::min(kBlock * threads, opt.seeds - done);
        std::atomic<std::uint64_t> next{0};
        std::mutex m;
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([&] {
                BatchSummary local;
                for (std::uint64_t i; (i = next.fetch_add(1)) < n;) {
                    RunSpec spec{base + i, opt.accel, opt.variant, opt.arm_clear};
                    spec.end = opt.end;
                    add(local, run_one(spec));
                }
                const std::lock_guard lock(m);
                merge(total, local);
            });
        }
        for (std::thread& t : pool) {
            t.join();
        }
        done += n;
    }
    total.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return total;
}

}  // namespace fph_sim
