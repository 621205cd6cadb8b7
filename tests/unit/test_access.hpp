// SPDX-License-Identifier: GPL-2.0-or-later
// The unit tests' way into the core's private state: a friend of the
// classes it reaches into (fph::Core, fph::EpochState), compiled only into
// the tests, so that the core carries no test API.
#pragma once

#include <cstdint>

#include "core.hpp"
#include "epoch_state.hpp"

namespace fph {

struct TestAccess {
    // The epoch's number, so that tests exercise its wrap without 2^32
    // epochs; the next begin() opens the one after it.
    static void set_epoch_number(EpochState& epoch, std::uint64_t number) noexcept
    {
        epoch.number_ = number;
    }
    static void set_epoch_number(Core& core, std::uint64_t number) noexcept
    {
        set_epoch_number(core.epoch_, number);
    }
    // The armed set, which the tests bound and empty.
    static const IntervalSet& armed(const Core& core) noexcept { return core.armed_; }
};

}  // namespace fph
