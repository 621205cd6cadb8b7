// SPDX-License-Identifier: GPL-2.0-or-later
// Per-range checks on guest-supplied ranges, in order of precedence.
#pragma once

#include <optional>

#include "fph_core.h"
#include "interval_set.hpp"
#include "range.hpp"

namespace fph {

// nullopt if r may be handed to the backend: non-empty, not wrapping, page
// aligned and wholly inside one (merged) hintable RAM interval.
std::optional<FphReject> validate_range(const Range& r, const IntervalSet& ram) noexcept;

}  // namespace fph
