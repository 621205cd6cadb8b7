// SPDX-License-Identifier: GPL-2.0-or-later
#include "epoch_state.hpp"

namespace fph {

std::uint32_t EpochState::begin(std::uint64_t token) noexcept
{
    ++counter_;
    if (counter_ == VIRTIO_FPH_EPOCH_NONE) {
        ++counter_;
    }
    token_ = token;
    ++generation_;
    open_ = true;
    return counter_;
}

}  // namespace fph
