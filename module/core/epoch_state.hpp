// SPDX-License-Identifier: GPL-2.0-or-later
// The device epoch: the number the driver tags hints with, and the backend
// token it maps to.  A hint is only valid in the epoch it was observed in.
#pragma once

#include <cstdint>

#include "fph/virtio_fph.h"

namespace fph {

struct TestAccess;  // the unit tests' seam: tests/unit/test_access.hpp

// One representation: the number of the epoch, counting every epoch opened
// (u64, never wraps); the wire carries its low 32 bits.  Numbers whose wire
// value would be VIRTIO_FPH_EPOCH_NONE are skipped.
class EpochState {
public:
    // Closes any open epoch and opens the next one; returns its wire value.
    std::uint32_t begin(std::uint64_t token) noexcept;
    void end() noexcept { open_ = false; }

    bool is_open() const noexcept { return open_; }
    // Wire value: VIRTIO_FPH_EPOCH_NONE while closed.
    std::uint32_t current() const noexcept { return open_ ? wire(number_) : VIRTIO_FPH_EPOCH_NONE; }
    std::uint64_t token() const noexcept { return token_; }
    // The epoch's number: unambiguous even after the wire value wraps, so
    // plans remember it.
    std::uint64_t number() const noexcept { return number_; }

    // Does a request tagged with wire epoch e belong to the open epoch?
    bool accepts(std::uint32_t e) const noexcept { return open_ && e == wire(number_); }
    // Is the epoch a plan was made in still the open one?
    bool still_open(std::uint64_t number) const noexcept { return open_ && number == number_; }

private:
    friend struct TestAccess;

    static constexpr std::uint32_t wire(std::uint64_t number) noexcept
    {
        return static_cast<std::uint32_t>(number);
    }

    std::uint64_t number_ = 0;
    std::uint64_t token_ = 0;
    bool open_ = false;
};

}  // namespace fph
