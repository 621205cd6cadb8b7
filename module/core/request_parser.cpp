// SPDX-License-Identifier: GPL-2.0-or-later
#include "request_parser.hpp"

#include <cstddef>

#include "byte_order.hpp"

namespace fph {

namespace {

// Field offsets in struct virtio_fph_req / virtio_fph_range.
constexpr std::size_t kOffType = offsetof(virtio_fph_req, type);
constexpr std::size_t kOffReserved = offsetof(virtio_fph_req, reserved);
constexpr std::size_t kOffEpoch = offsetof(virtio_fph_req, epoch);
constexpr std::size_t kOffNrRanges = offsetof(virtio_fph_req, nr_ranges);
constexpr std::size_t kOffReserved2 = offsetof(virtio_fph_req, reserved2);
constexpr std::size_t kOffAddr = offsetof(virtio_fph_range, addr);
constexpr std::size_t kOffLen = offsetof(virtio_fph_range, len);

ParseResult reject(FphReject why) noexcept
{
    return ParseResult{std::nullopt, why};
}

}  // namespace

Range RequestView::range(std::uint32_t i) const noexcept
{
    const std::size_t base = std::size_t{i} * kRangeSize;
    return Range{load_le<std::uint64_t>(ranges_, base + kOffAddr),
                 load_le<std::uint64_t>(ranges_, base + kOffLen)};
}

ParseResult parse_request(std::span<const std::uint8_t> bytes, std::uint32_t max_ranges) noexcept
{
    if (bytes.size() < kReqHeaderSize) {
        return reject(FPH_REJECT_MALFORMED);
    }
    const auto type = load_le<std::uint16_t>(bytes, kOffType);
    if (type != VIRTIO_FPH_REQ_CANDIDATES && type != VIRTIO_FPH_REQ_CONFIRM) {
        return reject(FPH_REJECT_MALFORMED);
    }
    if (load_le<std::uint16_t>(bytes, kOffReserved) != 0 ||
        load_le<std::uint32_t>(bytes, kOffReserved2) != 0) {
        return reject(FPH_REJECT_MALFORMED);
    }
    const auto nr_ranges = load_le<std::uint32_t>(bytes, kOffNrRanges);
    if (nr_ranges == 0) {
        return reject(FPH_REJECT_MALFORMED);
    }
    if (nr_ranges > max_ranges) {
        return reject(FPH_REJECT_OVER_LIMIT);
    }
    // Compare by division so nr_ranges * kRangeSize cannot overflow size_t
    // (it could on 32-bit hosts, and in u32 arithmetic anywhere).
    const std::size_t body = bytes.size() - kReqHeaderSize;
    if (body % kRangeSize != 0 || body / kRangeSize != nr_ranges) {
        return reject(FPH_REJECT_MALFORMED);
    }
    return ParseResult{RequestView{static_cast<RequestType>(type),
                                   load_le<std::uint32_t>(bytes, kOffEpoch),
                                   bytes.subspan(kReqHeaderSize)},
                       FPH_REJECT_MALFORMED};
}

}  // namespace fph
