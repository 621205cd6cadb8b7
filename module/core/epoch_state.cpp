// SPDX-License-Identifier: GPL-2.0-or-later
#include "epoch_state.hpp"

namespace fph {

std::uint32_t EpochState::begin(std::uint64_t token) noexcept
{
    ++number_;
    if (wire(number_) == VIRTIO_FPH_EPOCH_NONE) {
        ++number_;
    }
    token_ = token;
    open_ = true;
    return wire(number_);
}

}  // namespace fph
