// SPDX-License-Identifier: GPL-2.0-or-later
// A guest-physical byte range [addr, addr + len).
#pragma once

#include <cstdint>

#include "fph/virtio_fph.h"

namespace fph {

inline constexpr std::uint64_t kPageSize = VIRTIO_FPH_PAGE_SIZE;

struct Range {
    std::uint64_t addr = 0;
    std::uint64_t len = 0;

    // Exclusive end.  Only meaningful when !wraps(); the guest controls both
    // fields, so every caller checks wraps() before trusting end().
    constexpr std::uint64_t end() const noexcept { return addr + len; }
    constexpr bool empty() const noexcept { return len == 0; }
    // True when addr + len does not fit in 64 bits (a range ending exactly at
    // 2^64 counts: its end is not representable).
    constexpr bool wraps() const noexcept { return len != 0 && addr + len < addr; }
    constexpr bool page_aligned() const noexcept
    {
        return (addr % kPageSize) == 0 && (len % kPageSize) == 0;
    }
    constexpr std::uint64_t pages() const noexcept { return len / kPageSize; }

    static constexpr Range from_bounds(std::uint64_t start, std::uint64_t end) noexcept
    {
        return Range{start, end - start};
    }

    friend constexpr bool operator==(const Range&, const Range&) = default;
};

}  // namespace fph
