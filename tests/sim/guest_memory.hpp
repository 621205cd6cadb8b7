// SPDX-License-Identifier: GPL-2.0-or-later
// Source guest RAM content.  A page's content is a version number, unique
// per write, so any lost write shows as a mismatch.  Also tracks whether an
// allocated page was written since its allocation: only such pages hold
// content the guest relies on (a freshly allocated page is garbage to it).
#pragma once

#include <cstdint>
#include <vector>

#include "dirty_log.hpp"
#include "types.hpp"

namespace fph_sim {

class GuestMemory {
public:
    GuestMemory(Pfn pages, DirtyLog& log) : log_(log), content_(pages, 0), defined_(pages, 0) {}

    // A guest store (vCPU or device DMA): new content, seen by dirty tracking.
    std::uint64_t write(Pfn pfn)
    {
        content_[pfn] = ++version_;
        defined_[pfn] = 1;
        log_.guest_write(pfn);
        return version_;
    }
    void on_alloc(Pfn pfn) { defined_[pfn] = 0; }

    std::uint64_t content(Pfn pfn) const { return content_[pfn]; }
    bool defined(Pfn pfn) const { return defined_[pfn] != 0; }
    Pfn pages() const { return content_.size(); }

private:
    DirtyLog& log_;
    std::vector<std::uint64_t> content_;
    std::vector<std::uint8_t> defined_;
    std::uint64_t version_ = 0;
};

}  // namespace fph_sim
