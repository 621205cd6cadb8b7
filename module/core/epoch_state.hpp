// SPDX-License-Identifier: GPL-2.0-or-later
// The device epoch: the number the driver tags hints with, and the backend
// token it maps to.  A hint is only valid in the epoch it was observed in.
#pragma once

#include <cstdint>

#include "fph/virtio_fph.h"

namespace fph {

class EpochState {
public:
    // Closes any open epoch and opens the next one.  The u32 wire counter
    // skips VIRTIO_FPH_EPOCH_NONE when it wraps.
    std::uint32_t begin(std::uint64_t token) noexcept;
    void end() noexcept { open_ = false; }

    bool is_open() const noexcept { return open_; }
    // Wire value: VIRTIO_FPH_EPOCH_NONE while closed.
    std::uint32_t current() const noexcept { return open_ ? counter_ : VIRTIO_FPH_EPOCH_NONE; }
    std::uint64_t token() const noexcept { return token_; }
    // Number of epochs opened so far; identifies one epoch unambiguously even
    // after the u32 wire counter wraps, so plans compare against it.
    std::uint64_t generation() const noexcept { return generation_; }

    // Does a request tagged with wire epoch e belong to the open epoch?
    bool accepts(std::uint32_t e) const noexcept { return open_ && e == counter_; }
    // Is the epoch a plan was made in (by generation) still the open one?
    bool still_open(std::uint64_t generation) const noexcept
    {
        return open_ && generation == generation_;
    }

    // Test hook: lets unit tests exercise the wrap without 2^32 epochs.
    void set_counter_for_test(std::uint32_t counter) noexcept { counter_ = counter; }

private:
    std::uint32_t counter_ = VIRTIO_FPH_EPOCH_NONE;
    std::uint64_t token_ = 0;
    std::uint64_t generation_ = 0;
    bool open_ = false;
};

}  // namespace fph
