// SPDX-License-Identifier: GPL-2.0-or-later
// The accelerator's dirty tracking, the two models of docs/design.rst.
//
// Both feed QEMU's DIRTY_MEMORY_MIGRATION bitmap ("dirty memory"), which
// migration_bitmap_sync() test-and-clears into the migration bitmap:
//  - TCG: every guest write sets the page's dirty-memory bit directly.
//  - KVM with manual dirty-log protection (KVM_CLEAR_DIRTY_LOG, QEMU's
//    default): a write to a write-protected page sets its KVM bit and makes
//    it writable; a write to a writable page leaves no new record.  The
//    sync's GET copies set bits into dirty memory but neither clears nor
//    re-protects; QEMU remembers what it fetched (mem->dirty_bmap) and
//    kvm_log_clear_one_slot() later clears -- and re-protects -- only pages
//    whose bit was set at that fetch.
// KVM starts with every bit set and nothing protected
// (KVM_DIRTY_LOG_INITIALLY_SET), so the bulk round is "all dirty" in KVM too.
#pragma once

#include <cstdint>
#include <vector>

#include "types.hpp"

namespace fph_sim {

class DirtyLog {
public:
    DirtyLog(Accel accel, Pfn pages);

    Accel accel() const { return accel_; }

    // Dirty logging switched on at migration setup.
    void start();
    // A guest (vCPU) write to @pfn.
    void guest_write(Pfn pfn);
    // memory_global_dirty_log_sync(): KVM_GET_DIRTY_LOG into dirty memory.
    void log_sync();
    // cpu_physical_memory_test_and_clear_dirty(..., DIRTY_MEMORY_MIGRATION)
    bool test_and_clear_dirty_memory(Pfn pfn);
    // memory_region_clear_dirty_bitmap() over [start, start + n):
    // KVM_CLEAR_DIRTY_LOG of the bits fetched at the last GET; TCG: nothing.
    void clear_log(Pfn start, Pfn n);

    std::uint64_t kvm_clears() const { return kvm_clears_; }

private:
    Accel accel_;
    std::vector<std::uint8_t> dirty_memory_;
    // KVM only.
    std::vector<std::uint8_t> kvm_dirty_;
    std::vector<std::uint8_t> kvm_protected_;
    std::vector<std::uint8_t> kvm_fetched_;  // QEMU's copy from the last GET
    std::uint64_t kvm_clears_ = 0;
};

}  // namespace fph_sim
