// SPDX-License-Identifier: GPL-2.0-or-later
// Explicit little-endian loads/stores for the wire format.  Byte-wise so the
// code is correct on any host and never reads through a misaligned pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fph {

template <typename T>
constexpr T load_le(std::span<const std::uint8_t> bytes, std::size_t offset) noexcept
{
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        value |= static_cast<T>(static_cast<T>(bytes[offset + i]) << (8 * i));
    }
    return value;
}

template <typename T>
constexpr void store_le(std::span<std::uint8_t> bytes, std::size_t offset, T value) noexcept
{
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

}  // namespace fph
