// SPDX-License-Identifier: GPL-2.0-or-later
#include "simulation.hpp"

#include <array>
#include <stdexcept>

#include "buddy_allocator.hpp"
#include "dirty_log.hpp"
#include "fph_device.hpp"
#include "guest_driver.hpp"
#include "guest_memory.hpp"
#include "migration_ram.hpp"
#include "ram_filter_hook.hpp"
#include "workload.hpp"

namespace fph_sim {

namespace {

// A guard against a scheduler bug, far above any real run.
constexpr std::uint64_t kMaxSteps = 50'000'000;

class Migration {
public:
    Migration(const RunSpec& spec, std::ostream* trace_out)
        : spec_(spec), trace_(trace_out), rng_(spec.seed), sc_(make_scenario(spec, rng_)),
          alloc_(sc_.pages), log_(spec.accel, sc_.pages, spec.seed, sc_.ring_size, spec.fault),
          mem_(sc_.pages, log_), workload_(alloc_, mem_, rng_, trace_),
          ram_(mem_, log_, sc_.clear_bmap_shift, spec.arm_clear, sc_.ram_flags, trace_),
          hook_(ram_, sc_.hook_flags, trace_), dev_(hook_, sc_.max_ranges, sc_.pages, rng_, trace_),
          driver_(alloc_, dev_, sc_.driver_flags, sc_.driver, trace_)
    {
        dev_.set_delay_apply_across_sync(sc_.delay_apply_across_sync);
    }

    RunResult run();

private:
    enum Actor { kGuest, kDriver, kParse, kExecute, kComplete, kMigration, kReaper, kActors };

    // migration_bitmap_sync_precopy(): the epoch closes before the dirty
    // log is collected and reopens after, only while the VM runs.
    void sync(bool last_stage);
    void migration_step();
    Actor pick();
    void deliver_config_change();

    RunSpec spec_;
    Trace trace_;
    Rng rng_;
    Scenario sc_;
    BuddyAllocator alloc_;
    DirtyLog log_;
    GuestMemory mem_;
    Workload workload_;
    MigrationRam ram_;
    RamFilterHook hook_;
    FphDevice dev_;
    GuestDriver driver_;
    bool vm_running_ = true;
    unsigned iterative_syncs_ = 0;
    std::uint64_t syncs_ = 0;
    std::uint64_t steps_ = 0;
};

void Migration::deliver_config_change()
{
    if (dev_.config_changed()) {
        driver_.queue_work();
    }
}

void Migration::sync(bool last_stage)
{
    ++syncs_;
    trace_.log("migration", last_stage ? "final sync" : "sync ",
               last_stage ? "" : std::to_string(syncs_));
    hook_.epoch_end();
    ram_.bitmap_sync();
    dev_.note_sync();
    if (!last_stage && vm_running_) {
        hook_.epoch_begin();
    }
    deliver_config_change();
}

void Migration::migration_step()
{
    bool wrapped = false;
    ram_.send_pages(sc_.send_budget, &wrapped);
    // A pass over bmap ends in a sync; QEMU may also sync mid-pass when
    // the pending estimate drops, which moves epoch ends around.
    if (wrapped || rng_.below(sc_.sync_odds) == 0) {
        sync(false);
        ++iterative_syncs_;
    }
}

Migration::Actor Migration::pick()
{
    std::array<unsigned, kActors> w{};
    w[kGuest] = sc_.w_guest;
    w[kDriver] = driver_.runnable() ? sc_.w_driver : 0;
    w[kParse] = dev_.can_pop() ? sc_.w_device : 0;
    w[kExecute] = dev_.can_execute() ? sc_.w_device : 0;
    w[kComplete] = dev_.can_complete() ? sc_.w_device : 0;
    w[kMigration] = sc_.w_migration;
    w[kReaper] = sc_.w_reaper;
    unsigned total = 0;
    for (unsigned x : w) {
        total += x;
    }
    auto r = static_cast<unsigned>(rng_.below(total));
    for (int a = 0; a < kActors; ++a) {
        if (r < w[a]) {
            return static_cast<Actor>(a);
        }
        r -= w[a];
    }
    return kMigration;
}

RunResult Migration::run()
{
    trace_.log("setup", "seed ", spec_.seed, ", ", accel_name(spec_.accel), ", ",
               variant_name(spec_.variant), ", arm clears ", arm_clear_name(spec_.arm_clear), ": ",
               sc_.pages, " pages, clear_bmap_shift ", sc_.clear_bmap_shift, ", max_ranges ",
               sc_.max_ranges, ", scan_steps ", sc_.driver.scan_steps, ", min_order ",
               sc_.driver.min_order, ", ", sc_.iterative_syncs, " iterative syncs, then ",
               sc_.postcopy ? "postcopy" : "stop-and-copy");
    workload_.populate(sc_.populate_percent);
    // ram_init_bitmaps(): dirty logging on, bmap all ones, first sync.
    log_.start();
    ram_.init_bitmaps();
    sync(false);
    driver_.queue_work();

    while (iterative_syncs_ < sc_.iterative_syncs) {
        if (++steps_ > kMaxSteps) {
            throw std::runtime_error("simulation did not converge");
        }
        trace_.set_step(steps_);
        switch (pick()) {
        case kGuest:
            workload_.step();
            break;
        case kDriver:
            driver_.step();
            break;
        case kParse:
            dev_.pop_and_parse();
            break;
        case kExecute:
            dev_.execute_one();
            break;
        case kComplete:
            dev_.complete_one();
            break;
        case kMigration:
            migration_step();
            break;
        case kReaper:
            if (rng_.below(100) < sc_.dirtylimit_percent) {
                // dirtylimit_calc_func(): the slot bitmaps reach dirty
                // memory between migration syncs; the epoch stays open.
                log_.log_sync();
                trace_.log("kvm", "dirty-limit: memory_global_dirty_log_sync()");
            } else if (log_.reap()) {
                trace_.log("kvm", "reaper: dirty ring reaped");
            }
            break;
        case kActors:
            break;
        }
        deliver_config_change();
    }

    // Stop-and-copy or postcopy: vCPUs and the driver stop, the device
    // answers what is in flight, the final sync runs with no epoch after
    // it (for postcopy, ram_postcopy_send_discard_bitmap()'s sync).
    trace_.set_step(++steps_);
    trace_.log("migration", "stop VM", sc_.postcopy ? " (switch to postcopy)" : "");
    vm_running_ = false;
    dev_.set_vm_running(false);
    sync(true);
    const std::uint64_t sent_before = ram_.pages_sent();
    if (sc_.postcopy) {
        // The guest would resume on the destination here; the check is at
        // the switch, on what the source sends for the paused guest.
        ram_.postcopy_switch();
        ram_.send_postcopy();
    } else {
        ram_.send_all();
    }
    hook_.epoch_end();  // ram_save_cleanup()

    RunResult r;
    r.spec = spec_;
    r.verdict = check_destination(alloc_, mem_, ram_);
    r.pages = sc_.pages;
    r.steps = steps_;
    r.syncs = syncs_;
    const FphStats st = dev_.stats();
    r.requests = st.requests;
    r.stale_refusals = st.rejected[FPH_REJECT_STALE_EPOCH];
    r.hook_refusals = hook_.stats().refused_stale;
    r.pages_skipped = hook_.stats().pages_skipped;
    r.armed_pages = driver_.stats().armed_pages;
    r.confirmed_pages = driver_.stats().confirmed_pages;
    r.postcopy = sc_.postcopy;
    r.pages_sent = ram_.pages_sent();
    r.pages_sent_final = ram_.pages_sent() - sent_before;
    r.pages_zero = ram_.pages_zero();
    r.pages_resent = ram_.pages_resent();
    r.log_clears = log_.log_clears();
    r.empty_log_clears = log_.empty_log_clears();
    r.arm_log_clears = ram_.arm_log_clears();
    r.arm_empty_log_clears = ram_.arm_empty_log_clears();
    r.reaps = log_.reaps();
    if (trace_.on()) {
        trace_.log("oracle", r.verdict.safe() ? "PASS" : "FAIL", ": ", r.verdict.bad_pages,
                   " allocated pages differ", r.verdict.safe() ? "" : ", first pfn ",
                   r.verdict.safe() ? ""
                                    : std::to_string(r.verdict.first_bad) + " source v" +
                                          std::to_string(r.verdict.source) + " destination v" +
                                          std::to_string(r.verdict.destination));
        trace_.log("stats", r.pages_skipped, " pages skipped, ", r.stale_refusals,
                   " stale refusals, ", r.pages_sent, " pages sent (", r.pages_sent_final,
                   r.postcopy ? " in postcopy, " : " in stop-and-copy, ", r.pages_resent,
                   " resent unchanged), ", r.pages_zero, " placed as zero, ", r.log_clears,
                   " log clears (", r.empty_log_clears, " empty)");
    }
    return r;
}

}  // namespace

RunResult run_one(const RunSpec& spec, std::ostream* trace)
{
    return Migration(spec, trace).run();
}

}  // namespace fph_sim
