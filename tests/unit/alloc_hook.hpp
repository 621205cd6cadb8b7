// SPDX-License-Identifier: GPL-2.0-or-later
// Fault injection for allocation failure tests: while a FailAllocations is
// alive, the global operator new of the test binary throws std::bad_alloc
// after letting `after` allocations through.
#pragma once

namespace fph_test {

void set_alloc_failure(long after) noexcept;  // < 0: never fail

struct FailAllocations {
    explicit FailAllocations(long after) noexcept { set_alloc_failure(after); }
    ~FailAllocations() { set_alloc_failure(-1); }
    FailAllocations(const FailAllocations&) = delete;
    FailAllocations& operator=(const FailAllocations&) = delete;
};

}  // namespace fph_test
