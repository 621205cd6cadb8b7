// SPDX-License-Identifier: GPL-2.0-or-later
// Builds request bytes by hand, little-endian, independent of the core's
// own byte-order helpers so a byte-order bug there cannot cancel out.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fph/virtio_fph.h"

namespace fph_test {

inline constexpr std::uint64_t kPage = VIRTIO_FPH_PAGE_SIZE;

inline void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}

class RequestBuilder {
public:
    explicit RequestBuilder(std::uint16_t type = VIRTIO_FPH_REQ_CANDIDATES) : type_(type) {}

    RequestBuilder& type(std::uint16_t t)
    {
        type_ = t;
        return *this;
    }
    RequestBuilder& epoch(std::uint32_t e)
    {
        epoch_ = e;
        return *this;
    }
    RequestBuilder& reserved(std::uint16_t r)
    {
        reserved_ = r;
        return *this;
    }
    RequestBuilder& reserved2(std::uint32_t r)
    {
        reserved2_ = r;
        return *this;
    }
    // Overrides the header count; by default it is the number of ranges.
    RequestBuilder& nr_ranges(std::uint32_t n)
    {
        nr_ = n;
        return *this;
    }
    RequestBuilder& range(std::uint64_t addr, std::uint64_t len)
    {
        ranges_.push_back({addr, len});
        return *this;
    }
    RequestBuilder& pages(std::uint64_t first_page, std::uint64_t count)
    {
        return range(first_page * kPage, count * kPage);
    }

    std::vector<std::uint8_t> bytes() const
    {
        std::vector<std::uint8_t> out;
        put_le(out, type_, 2);
        put_le(out, reserved_, 2);
        put_le(out, epoch_, 4);
        put_le(out, nr_.value_or(static_cast<std::uint32_t>(ranges_.size())), 4);
        put_le(out, reserved2_, 4);
        for (const auto& [addr, len] : ranges_) {
            put_le(out, addr, 8);
            put_le(out, len, 8);
        }
        return out;
    }

private:
    struct R {
        std::uint64_t addr, len;
    };
    std::uint16_t type_;
    std::uint16_t reserved_ = 0;
    std::uint32_t epoch_ = 1;
    std::uint32_t reserved2_ = 0;
    std::optional<std::uint32_t> nr_;
    std::vector<R> ranges_;
};

}  // namespace fph_test
