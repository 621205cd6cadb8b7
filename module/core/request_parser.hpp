// SPDX-License-Identifier: GPL-2.0-or-later
// Decodes and validates the framing of a request: header, type, reserved
// fields, range count and exact length.  Knows nothing of epochs or RAM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "fph_core.h"
#include "range.hpp"

namespace fph {

// Wire sizes, fixed by include/fph/virtio_fph.h.
inline constexpr std::size_t kReqHeaderSize = 16;
inline constexpr std::size_t kRangeSize = 16;
static_assert(sizeof(virtio_fph_req) == kReqHeaderSize);
static_assert(sizeof(virtio_fph_range) == kRangeSize);

enum class RequestType : std::uint16_t {
    Candidates = VIRTIO_FPH_REQ_CANDIDATES,
    Confirm = VIRTIO_FPH_REQ_CONFIRM,
};

// A well-framed request.  Borrows the caller's bytes: use it before they go.
class RequestView {
public:
    RequestView(RequestType type, std::uint32_t epoch,
                std::span<const std::uint8_t> ranges) noexcept
        : type_(type), epoch_(epoch), ranges_(ranges)
    {
    }

    RequestType type() const noexcept { return type_; }
    std::uint32_t epoch() const noexcept { return epoch_; }
    std::uint32_t nr_ranges() const noexcept
    {
        return static_cast<std::uint32_t>(ranges_.size() / kRangeSize);
    }
    Range range(std::uint32_t i) const noexcept;

private:
    RequestType type_;
    std::uint32_t epoch_;
    std::span<const std::uint8_t> ranges_;
};

// Either a view or the reason the whole request is rejected.
struct ParseResult {
    std::optional<RequestView> request;
    FphReject reject = FPH_REJECT_MALFORMED;  // meaningful only without request
};

ParseResult parse_request(std::span<const std::uint8_t> bytes, std::uint32_t max_ranges) noexcept;

}  // namespace fph
