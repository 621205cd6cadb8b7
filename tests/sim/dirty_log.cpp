// SPDX-License-Identifier: GPL-2.0-or-later
#include "dirty_log.hpp"

#include <algorithm>
#include <cassert>

namespace fph_sim {

DirtyLog::DirtyLog(Accel accel, Pfn pages, std::uint64_t seed, unsigned ring_size, ModelFault fault)
    : accel_(accel), dirty_memory_(pages, 0), ring_size_(ring_size),
      dma_rng_(seed ^ 0x9e3779b97f4a7c15ULL), reprotect_(fault != ModelFault::ReprotectNothing)
{
    if (accel_ != Accel::Tcg) {
        dma_percent_ = static_cast<unsigned>(dma_rng_.below(4)) * 10;  // 0..30%
    }
    if (accel_ != Accel::Tcg) {
        kvm_dirty_.assign(pages, 0);
        kvm_protected_.assign(pages, 1);
    }
    if (accel_ == Accel::Kvm) {
        kvm_fetched_.assign(pages, 0);
    }
    assert(accel_ != Accel::KvmRing || ring_size_ > 0);
}

void DirtyLog::start()
{
    switch (accel_) {
    case Accel::Kvm:
        std::fill(kvm_dirty_.begin(), kvm_dirty_.end(), 1);
        std::fill(kvm_protected_.begin(), kvm_protected_.end(), 0);
        break;
    case Accel::KvmRing:
        std::fill(kvm_dirty_.begin(), kvm_dirty_.end(), 0);
        std::fill(kvm_protected_.begin(), kvm_protected_.end(), 1);
        ring_.clear();
        break;
    case Accel::Tcg:
        std::fill(dirty_memory_.begin(), dirty_memory_.end(), 1);
        break;
    }
}

void DirtyLog::guest_write(Pfn pfn)
{
    if (accel_ == Accel::Tcg) {
        dirty_memory_[pfn] = 1;
        return;
    }
    if (dma_percent_ && dma_rng_.below(100) < dma_percent_) {
        dirty_memory_[pfn] = 1;  // cpu_physical_memory_set_dirty_range()
        return;
    }
    if (!kvm_protected_[pfn]) {
        return;  // writable: KVM records nothing new
    }
    kvm_protected_[pfn] = 0;
    if (accel_ == Accel::Kvm) {
        kvm_dirty_[pfn] = 1;
        return;
    }
    // Dirty ring: queue the GFN; a full ring exits to QEMU, which reaps
    // before the vCPU runs again.
    ring_.push_back(pfn);
    if (ring_.size() == ring_size_) {
        reap_ring();
    }
}

void DirtyLog::reap_ring()
{
    // kvm_dirty_ring_reap_locked(): collect into the slot bitmap, then
    // KVM_RESET_DIRTY_RINGS re-protects every collected page.
    for (Pfn p : ring_) {
        kvm_dirty_[p] = 1;
        kvm_protected_[p] = reprotect_;
    }
    ring_.clear();
    ++reaps_;
}

bool DirtyLog::reap()
{
    if (accel_ != Accel::KvmRing || ring_.empty()) {
        return false;
    }
    reap_ring();
    return true;
}

void DirtyLog::log_sync()
{
    switch (accel_) {
    case Accel::Tcg:
        return;
    case Accel::Kvm:
        for (Pfn p = 0; p < kvm_dirty_.size(); ++p) {
            kvm_fetched_[p] = kvm_dirty_[p];
            dirty_memory_[p] |= kvm_dirty_[p];
        }
        return;
    case Accel::KvmRing:
        // kvm_log_sync_global(): reap, then the slot bitmap into dirty memory.
        reap();
        for (Pfn p = 0; p < kvm_dirty_.size(); ++p) {
            dirty_memory_[p] |= kvm_dirty_[p];
            kvm_dirty_[p] = 0;
        }
        return;
    }
}

bool DirtyLog::test_and_clear_dirty_memory(Pfn pfn)
{
    const bool was = dirty_memory_[pfn] != 0;
    dirty_memory_[pfn] = 0;
    return was;
}

void DirtyLog::clear_log(Pfn start, Pfn n)
{
    if (accel_ != Accel::Kvm) {
        return;
    }
    ++log_clears_;
    bool cleared = false;
    for (Pfn p = start; p < start + n && p < kvm_fetched_.size(); ++p) {
        // One bit stands for every write since the fetch: clearing it
        // forgets them all.  That is the hazard the arm step guards.
        if (kvm_fetched_[p]) {
            kvm_fetched_[p] = 0;
            kvm_dirty_[p] = 0;
            kvm_protected_[p] = reprotect_;
            cleared = true;
        }
    }
    empty_log_clears_ += cleared ? 0 : 1;
}

}  // namespace fph_sim
