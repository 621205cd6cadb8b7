// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenario.hpp"

namespace fph_sim {

namespace {

// The end is drawn on a stream of its own, so a seed's interleaving up to
// the VM stop is the same whichever way it ends (and as before the
// postcopy end existed).  Broken postcopy variants end in postcopy unless
// told otherwise, so every run exercises what they break.
bool ends_in_postcopy(const RunSpec& spec)
{
    switch (spec.end) {
    case End::StopAndCopy:
        return false;
    case End::Postcopy:
        return true;
    case End::Seeded:
        break;
    }
    if (spec.variant == Variant::PostcopyFreeIgnoresWrites ||
        spec.variant == Variant::PostcopySkipMarkKept) {
        return true;
    }
    Rng end_rng(spec.seed ^ 0xd1b54a32d192ed03ULL);
    return end_rng.chance(1, 2);
}

void apply_variant(Variant v, Scenario& s)
{
    switch (v) {
    case Variant::Correct:
        break;
    case Variant::FusedNoConfirm:
        s.hook_flags.fused_arm_skip = true;
        s.driver_flags.send_confirm = false;
        break;
    case Variant::ArmSkipNoConfirm:
        s.driver_flags.recheck_after_arm = false;
        break;
    case Variant::ConfirmBeforeArm:
        s.driver_flags.check_before_arm = true;
        break;
    case Variant::ApplyAfterSync:
        s.hook_flags.ignore_epoch_gate = true;
        s.delay_apply_across_sync = true;
        break;
    case Variant::SkipWithoutArm:
        s.hook_flags.arm_is_noop = true;
        break;
    case Variant::PostcopyFreeIgnoresWrites:
        s.ram_flags.free_ignores_writes = true;
        break;
    case Variant::PostcopySkipMarkKept:
        s.ram_flags.keep_skip_mark = true;
        break;
    case Variant::NoHints:
        s.driver_flags.enabled = false;
        break;
    }
}

}  // namespace

Scenario make_scenario(const RunSpec& spec, Rng& rng)
{
    Scenario s{};
    s.pages = Pfn{1024} << rng.below(3);
    s.clear_bmap_shift = static_cast<unsigned>(rng.between(6, 8));
    s.max_ranges =
        static_cast<std::uint32_t>(rng.chance(1, 8) ? rng.between(64, 512) : rng.between(1, 16));
    s.driver.scan_steps = static_cast<unsigned>(rng.between(4, 96));
    s.driver.epoch_poll = static_cast<unsigned>(rng.between(1, 8));
    s.driver.min_order = rng.chance(1, 8) ? static_cast<unsigned>(rng.between(1, 3)) : 0;
    s.populate_percent = static_cast<unsigned>(rng.between(30, 70));
    s.iterative_syncs = static_cast<unsigned>(rng.between(2, 8));
    s.send_budget = rng.between(1, 32);
    s.sync_odds = rng.between(40, 400);
    s.w_guest = static_cast<unsigned>(rng.between(10, 60));
    s.w_driver = static_cast<unsigned>(rng.between(10, 40));
    s.w_device = static_cast<unsigned>(rng.between(3, 20));
    s.w_migration = static_cast<unsigned>(rng.between(1, 12));
    if (spec.accel == Accel::KvmRing) {
        // Scaled to the model's 1024..4096 pages: a ring fills anywhere
        // from a few dozen writes to several rounds' worth.
        s.ring_size = static_cast<unsigned>(rng.between(4, 256));
        s.w_reaper = static_cast<unsigned>(rng.between(1, 20));
        s.dirtylimit_percent = rng.chance(1, 2) ? 0 : static_cast<unsigned>(rng.between(10, 50));
    }
    s.postcopy = ends_in_postcopy(spec);
    apply_variant(spec.variant, s);
    return s;
}

}  // namespace fph_sim
