// SPDX-License-Identifier: GPL-2.0-or-later
// The guest hint driver (guest/virtio_fph_main.c, its PFN scan in
// guest/fph_buddy_walk.c) as a state machine: each step() is one zone->lock hold
// of the PFN scan or one request, so guest allocator activity, device steps
// and syncs interleave between them.
//
// Phase 1 collects free blocks of every order >= min_order into a batch of
// at most max_ranges ranges and sends CANDIDATES; phase 2 re-checks which
// pages of the answered candidates are still free, under the lock, and
// sends CONFIRM.  The pass stops on an epoch change or a STALE answer.
#pragma once

#include <cstdint>
#include <vector>

#include "buddy_allocator.hpp"
#include "fph_device.hpp"
#include "trace.hpp"
#include "wire.hpp"

namespace fph_sim {

struct DriverFlags {
    bool enabled = true;
    bool send_confirm = true;       // false: (1) nothing after CANDIDATES
    bool recheck_after_arm = true;  // false: (2) confirm the candidates as collected
    bool check_before_arm = false;  // (3) still-free re-check before CANDIDATES
};

struct DriverParams {
    unsigned scan_steps = 4096;  // FPH_SCAN_STEPS
    unsigned epoch_poll = 64;    // FPH_EPOCH_POLL
    unsigned min_order = 0;
};

struct DriverStats {
    std::uint64_t passes = 0;
    std::uint64_t aborted_passes = 0;
    std::uint64_t batches = 0;
    std::uint64_t stale_batches = 0;
    std::uint64_t armed_pages = 0;      // in CANDIDATES answered OK
    std::uint64_t confirmed_pages = 0;  // in CONFIRMs answered OK
    std::uint64_t rejected_ranges = 0;
};

class GuestDriver {
public:
    GuestDriver(const BuddyAllocator& alloc, FphDevice& dev, DriverFlags flags, DriverParams params,
                const Trace& trace);

    // fph_config_changed() / fph_start(): queue the work item.
    void queue_work() { work_queued_ = flags_.enabled; }
    bool runnable() const;
    void step();

    const DriverStats& stats() const { return stats_; }

private:
    enum class State {
        Idle,
        Scan,      // phase 1 lock holds
        PreCheck,  // (3) only: still-free re-check before the arm
        SendCandidates,
        AwaitCandidates,
        Confirm,  // phase 2 lock holds
        SendConfirm,
        AwaitConfirm,
    };

    // struct fph_buf: ranges in ascending PFN order, merged when adjacent.
    struct Buf {
        std::vector<PageRange> r;
        std::size_t cap = 0;
        bool can_merge = false;
        void reset()
        {
            r.clear();
            can_merge = false;
        }
        bool emit(Pfn pfn, Pfn end);
    };

    int free_block(Pfn pfn, Pfn* head) const;
    Pfn used_span(Pfn pfn) const;
    bool scan(Pfn* cursor, Pfn end, unsigned min_order, Buf& b) const;

    bool epoch_ok() const;
    bool epoch_poll();
    int evaluate(std::uint16_t type, const Answer& a);
    void send(std::uint16_t type, std::vector<PageRange> ranges);

    void start_pass();
    void begin_batch(bool final);
    void end_batch();
    void abort(int err);
    // One re-check lock hold over the candidates into @out; true when done.
    bool recheck_hold(Buf& out, bool* full);
    // Variants (2), (3) confirm a precomputed list in max_ranges chunks.
    bool chunked() const;

    void step_scan();
    void step_recheck(bool pre_arm);
    void step_send_candidates();
    void step_await_candidates();
    void step_send_confirm();
    void step_await_confirm();

    const BuddyAllocator& alloc_;
    FphDevice& dev_;
    DriverFlags flags_;
    DriverParams params_;
    const Trace& trace_;
    DriverStats stats_;

    State state_ = State::Idle;
    bool work_queued_ = false;
    std::uint32_t epoch_ = VIRTIO_FPH_EPOCH_NONE;
    std::uint32_t done_epoch_ = VIRTIO_FPH_EPOCH_NONE;
    unsigned polls_ = 0;
    Pfn cursor_ = 0;
    bool batch_final_ = false;
    bool confirm_last_ = false;  // the CONFIRM in flight ends the batch
    Buf cand_;
    Buf conf_;
    // Phase 2 position: candidate index and PFN within it.
    std::size_t ci_ = 0;
    Pfn cpfn_ = 0;
    // Ranges waiting to be confirmed in max_ranges chunks (variants 2, 3).
    std::vector<PageRange> pending_;
    std::size_t pending_pos_ = 0;
    Pfn in_flight_pages_ = 0;
};

}  // namespace fph_sim
