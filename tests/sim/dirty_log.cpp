// SPDX-License-Identifier: GPL-2.0-or-later
#include "dirty_log.hpp"

#include <algorithm>

namespace fph_sim {

DirtyLog::DirtyLog(Accel accel, Pfn pages) : accel_(accel), dirty_memory_(pages, 0)
{
    if (accel_ == Accel::Kvm) {
        kvm_dirty_.assign(pages, 0);
        kvm_protected_.assign(pages, 1);
        kvm_fetched_.assign(pages, 0);
    }
}

void DirtyLog::start()
{
    if (accel_ == Accel::Kvm) {
        std::fill(kvm_dirty_.begin(), kvm_dirty_.end(), 1);
        std::fill(kvm_protected_.begin(), kvm_protected_.end(), 0);
    } else {
        std::fill(dirty_memory_.begin(), dirty_memory_.end(), 1);
    }
}

void DirtyLog::guest_write(Pfn pfn)
{
    if (accel_ == Accel::Tcg) {
        dirty_memory_[pfn] = 1;
    } else if (kvm_protected_[pfn]) {
        // Write fault: record once, then the page is writable.
        kvm_dirty_[pfn] = 1;
        kvm_protected_[pfn] = 0;
    }
}

void DirtyLog::log_sync()
{
    if (accel_ != Accel::Kvm) {
        return;
    }
    for (Pfn p = 0; p < kvm_dirty_.size(); ++p) {
        kvm_fetched_[p] = kvm_dirty_[p];
        dirty_memory_[p] |= kvm_dirty_[p];
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
    ++kvm_clears_;
    for (Pfn p = start; p < start + n && p < kvm_fetched_.size(); ++p) {
        // One bit stands for every write since the fetch: clearing it
        // forgets them all.  That is the hazard the arm step guards.
        if (kvm_fetched_[p]) {
            kvm_fetched_[p] = 0;
            kvm_dirty_[p] = 0;
            kvm_protected_[p] = 1;
        }
    }
}

}  // namespace fph_sim
