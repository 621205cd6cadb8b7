// SPDX-License-Identifier: GPL-2.0-or-later
#include "range_validator.hpp"

namespace fph {

std::optional<FphReject> validate_range(const Range& r, const IntervalSet& ram) noexcept
{
    if (r.empty() || r.wraps()) {
        return FPH_REJECT_MALFORMED;
    }
    if (!r.page_aligned()) {
        return FPH_REJECT_MISALIGNED;
    }
    if (!ram.contains(r)) {
        return FPH_REJECT_OUT_OF_RAM;
    }
    return std::nullopt;
}

}  // namespace fph
