// SPDX-License-Identifier: GPL-2.0-or-later
// The accelerator's dirty tracking, the three models of docs/design.rst.
//
// All feed QEMU's DIRTY_MEMORY_MIGRATION bitmap ("dirty memory"), which
// migration_bitmap_sync() test-and-clears into the migration bitmap:
//  - TCG: every guest write sets the page's dirty-memory bit directly.
//  - KVM with manual dirty-log protection (KVM_CLEAR_DIRTY_LOG, QEMU's
//    default): a write to a write-protected page sets its KVM bit and makes
//    it writable; a write to a writable page leaves no new record.  The
//    sync's GET copies set bits into dirty memory but neither clears nor
//    re-protects; QEMU remembers what it fetched (mem->dirty_bmap) and
//    kvm_log_clear_one_slot() later clears -- and re-protects -- only pages
//    whose bit was set at that fetch.
//    KVM starts with every bit set and nothing protected
//    (KVM_DIRTY_LOG_INITIALLY_SET), so the bulk round is "all dirty" in KVM too.
//  - KVM dirty ring (-accel kvm,dirty-ring-size=N): a write to a protected
//    page queues its GFN on the vCPU's ring and makes it writable.  A reap
//    (the reaper thread, a full ring, or the sync) moves queued GFNs into
//    the slot's bitmap and re-protects them (KVM_RESET_DIRTY_RINGS); only
//    the sync copies the slot bitmap into dirty memory.  QEMU registers no
//    log_clear for the ring, so memory_region_clear_dirty_bitmap() is a
//    no-op.  Logging starts with every page protected and the ring empty.
// Under both KVM models a share of the writes is QEMU-emulated device DMA
// (e.g. virtio-blk filling a read buffer, marked dirty in dirty memory when
// the device writes or unmaps it; KVM never sees it), so the dirty-memory
// half of the arm is exercised too.  (vhost and VFIO writes arrive through
// their own log_sync at a sync instead; not modelled.)
#pragma once

#include <cstdint>
#include <vector>

#include "rng.hpp"
#include "types.hpp"

namespace fph_sim {

class DirtyLog {
public:
    // @ring_size: dirty-ring entries (KvmRing only).  @seed draws the DMA
    // writes from a stream of its own: the run's main stream is unchanged.
    DirtyLog(Accel accel, Pfn pages, std::uint64_t seed, unsigned ring_size = 0,
             ModelFault fault = ModelFault::None);

    Accel accel() const { return accel_; }

    // Dirty logging switched on at migration setup.
    void start();
    // A guest write to @pfn, by a vCPU or (KVM) by QEMU-emulated device DMA.
    void guest_write(Pfn pfn);
    // memory_global_dirty_log_sync(): KVM_GET_DIRTY_LOG, or reap every ring
    // and sync the slot bitmap, into dirty memory.
    void log_sync();
    // KvmRing: kvm_dirty_ring_reap() outside a sync (the reaper thread);
    // true if the ring held anything.
    bool reap();
    // cpu_physical_memory_test_and_clear_dirty() without its log clear:
    // the dirty-memory bit of @pfn only.
    bool test_and_clear_dirty_memory(Pfn pfn);
    // memory_region_clear_dirty_bitmap() over [start, start + n): one
    // KVM_CLEAR_DIRTY_LOG of the bits fetched at the last GET (Kvm);
    // nothing for TCG and the dirty ring (no log_clear listener).
    void clear_log(Pfn start, Pfn n);

    // KVM_CLEAR_DIRTY_LOG calls, and how many of them cleared nothing.
    std::uint64_t log_clears() const { return log_clears_; }
    std::uint64_t empty_log_clears() const { return empty_log_clears_; }
    std::uint64_t reaps() const { return reaps_; }

private:
    void reap_ring();

    Accel accel_;
    std::vector<std::uint8_t> dirty_memory_;
    // KVM (both forms).
    std::vector<std::uint8_t> kvm_dirty_;  // manual: KVM's bit; ring: the slot bitmap
    std::vector<std::uint8_t> kvm_protected_;
    std::vector<std::uint8_t> kvm_fetched_;  // manual: QEMU's copy from the last GET
    std::vector<Pfn> ring_;                  // ring: queued GFNs, not yet reaped
    std::size_t ring_size_;
    Rng dma_rng_;
    unsigned dma_percent_ = 0;
    bool reprotect_ = true;
    std::uint64_t log_clears_ = 0;
    std::uint64_t empty_log_clears_ = 0;
    std::uint64_t reaps_ = 0;
};

}  // namespace fph_sim
