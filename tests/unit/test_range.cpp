// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "byte_order.hpp"
#include "range.hpp"

namespace {

using fph::Range;

TEST(Range, EndPagesAndAlignment)
{
    const Range r{0x3000, 0x2000};
    EXPECT_EQ(r.end(), 0x5000u);
    EXPECT_EQ(r.pages(), 2u);
    EXPECT_TRUE(r.page_aligned());
    EXPECT_FALSE((Range{0x3001, 0x2000}.page_aligned()));
    EXPECT_FALSE((Range{0x3000, 0x2001}.page_aligned()));
    EXPECT_EQ(Range::from_bounds(0x1000, 0x4000), (Range{0x1000, 0x3000}));
}

TEST(Range, WrapsAtTwoToTheSixtyFour)
{
    constexpr std::uint64_t kMax = UINT64_MAX;
    EXPECT_FALSE((Range{kMax - 0xfff, 0xfff}.wraps()));  // ends at 2^64 - 1
    EXPECT_TRUE((Range{kMax - 0xfff, 0x1000}.wraps()));  // ends exactly at 2^64
    EXPECT_TRUE((Range{0x1000, kMax}.wraps()));
    EXPECT_FALSE((Range{kMax, 0}.wraps()));  // empty never wraps
    EXPECT_TRUE((Range{kMax, 0}.empty()));
}

TEST(ByteOrder, LoadIsLittleEndian)
{
    const std::array<std::uint8_t, 8> b{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    EXPECT_EQ(fph::load_le<std::uint16_t>(b, 0), 0x0201u);
    EXPECT_EQ(fph::load_le<std::uint32_t>(b, 1), 0x05040302u);
    EXPECT_EQ(fph::load_le<std::uint64_t>(b, 0), 0x0807060504030201ULL);
}

TEST(ByteOrder, HighBytesAreNotSignExtended)
{
    const std::array<std::uint8_t, 8> b{0xff, 0xfe, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xf0};
    EXPECT_EQ(fph::load_le<std::uint64_t>(b, 0), 0xf0c0b0a09080feffULL);
    EXPECT_EQ(fph::load_le<std::uint16_t>(b, 0), 0xfeffu);
}

TEST(ByteOrder, StoreRoundTrips)
{
    std::array<std::uint8_t, 8> b{};
    fph::store_le<std::uint32_t>(b, 2, 0xdeadbeef);
    EXPECT_EQ(b[2], 0xef);
    EXPECT_EQ(b[3], 0xbe);
    EXPECT_EQ(b[4], 0xad);
    EXPECT_EQ(b[5], 0xde);
    EXPECT_EQ(b[0], 0);
    EXPECT_EQ(b[6], 0);
    EXPECT_EQ(fph::load_le<std::uint32_t>(b, 2), 0xdeadbeefu);
}

}  // namespace
