// SPDX-License-Identifier: GPL-2.0-or-later
// The driver's side of the wire format (include/fph/virtio_fph.h): request
// bytes built explicitly little-endian, as cpu_to_le*() would on the guest,
// and the response decoded the same way.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fph/virtio_fph.h"
#include "types.hpp"

namespace fph_sim {

// A guest-physical range in pages, as the driver collects it.
struct PageRange {
    Pfn start;
    Pfn count;
    Pfn end() const { return start + count; }
};

struct Answer {
    std::uint16_t status;
    std::uint32_t epoch;
    std::uint32_t nr_done;
    std::uint32_t nr_rejected;
};

namespace wire_detail {

inline void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}

inline std::uint64_t get_le(const std::uint8_t* p, int bytes)
{
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) {
        v = (v << 8) | p[i];
    }
    return v;
}

}  // namespace wire_detail

inline std::vector<std::uint8_t> encode_request(std::uint16_t type, std::uint32_t epoch,
                                                std::span<const PageRange> ranges)
{
    using wire_detail::put_le;
    std::vector<std::uint8_t> out;
    out.reserve(sizeof(virtio_fph_req) + ranges.size() * sizeof(virtio_fph_range));
    put_le(out, type, 2);
    put_le(out, 0, 2);
    put_le(out, epoch, 4);
    put_le(out, ranges.size(), 4);
    put_le(out, 0, 4);
    for (const PageRange& r : ranges) {
        put_le(out, r.start * kPageSize, 8);
        put_le(out, r.count * kPageSize, 8);
    }
    return out;
}

inline Answer decode_response(const virtio_fph_resp& resp)
{
    using wire_detail::get_le;
    const auto* p = reinterpret_cast<const std::uint8_t*>(&resp);
    return Answer{
        static_cast<std::uint16_t>(get_le(p + offsetof(virtio_fph_resp, status), 2)),
        static_cast<std::uint32_t>(get_le(p + offsetof(virtio_fph_resp, epoch), 4)),
        static_cast<std::uint32_t>(get_le(p + offsetof(virtio_fph_resp, nr_done), 4)),
        static_cast<std::uint32_t>(get_le(p + offsetof(virtio_fph_resp, nr_rejected), 4)),
    };
}

inline std::uint16_t request_type(std::span<const std::uint8_t> req)
{
    return req.size() >= 2 ? static_cast<std::uint16_t>(wire_detail::get_le(req.data(), 2)) : 0;
}

}  // namespace fph_sim
