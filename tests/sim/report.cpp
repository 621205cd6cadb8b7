// SPDX-License-Identifier: GPL-2.0-or-later
#include "report.hpp"

namespace fph_sim {

void print_summary(std::ostream& out, const BatchOptions& opt, const BatchSummary& s)
{
    const double seeds = s.seeds_run ? static_cast<double>(s.seeds_run) : 1.0;
    out << accel_name(opt.accel) << " " << variant_name(opt.variant) << " (arm clears "
        << arm_clear_name(opt.arm_clear) << "): " << s.seeds_run << " seeds, " << s.pages_skipped
        << " skipped pages, " << s.stale_refusals << " stale refusals (in " << s.seeds_with_stale
        << " seeds), " << s.failures << " failures; " << s.armed_pages << " pages armed, "
        << s.confirmed_pages
        << " confirmed still free; per seed: " << static_cast<double>(s.pages_sent) / seeds
        << " pages sent, " << static_cast<double>(s.pages_sent_final) / seeds
        << " after the VM stopped (stop-and-copy or postcopy), "
        << static_cast<double>(s.pages_resent) / seeds << " resent unchanged, of "
        << static_cast<double>(s.guest_pages) / seeds << " guest pages; "
        << static_cast<double>(s.log_clears) / seeds << " log clears ("
        << static_cast<double>(s.empty_log_clears) / seeds << " empty); " << s.postcopy_ends
        << " postcopy ends, " << s.pages_zero << " pages placed as zero";
    if (opt.accel == Accel::KvmRing) {
        out << "; " << static_cast<double>(s.reaps) / seeds << " ring reaps";
    }
    out << "; " << s.seconds << " s\n";
    if (s.first_failure) {
        print_failure(out, *s.first_failure);
    }
}

void print_failure(std::ostream& out, const RunResult& r)
{
    out << "  first failing seed " << r.spec.seed << " (" << accel_name(r.spec.accel) << ", "
        << variant_name(r.spec.variant) << "): " << r.verdict.bad_pages
        << " allocated pages differ, pfn " << r.verdict.first_bad << " source v" << r.verdict.source
        << " destination v" << r.verdict.destination << "\n  replay: fph-sim --seed " << r.spec.seed
        << " --model " << accel_name(r.spec.accel) << " --variant " << variant_name(r.spec.variant)
        << " --arm-clear " << arm_clear_name(r.spec.arm_clear);
    if (r.spec.end != End::Seeded) {
        out << " --end " << end_name(r.spec.end);
    }
    out << " --trace\n";
}

}  // namespace fph_sim
