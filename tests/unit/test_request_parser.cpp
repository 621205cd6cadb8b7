// SPDX-License-Identifier: GPL-2.0-or-later
// Framing checks of parse_request(): everything decided before epoch/RAM.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "request_builder.hpp"
#include "request_parser.hpp"

namespace {

using fph_test::RequestBuilder;

fph::ParseResult parse(const std::vector<std::uint8_t>& b, std::uint32_t max = 8)
{
    return fph::parse_request(b, max);
}

std::vector<std::uint8_t> truncated(std::vector<std::uint8_t> b, std::size_t len)
{
    b.resize(len);
    return b;
}

void expect_reject(const std::vector<std::uint8_t>& b, FphReject why, std::uint32_t max = 8)
{
    const auto r = parse(b, max);
    ASSERT_FALSE(r.request.has_value());
    EXPECT_EQ(r.reject, why) << fph_reject_name(r.reject);
}

TEST(RequestParser, AcceptsWellFormedAndDecodesFields)
{
    const auto b = RequestBuilder(VIRTIO_FPH_REQ_CONFIRM)
                       .epoch(0x01020304)
                       .range(0x1122334455667000ULL, 0x8877665544332000ULL)
                       .range(0x2000, 0x1000)
                       .bytes();
    const auto r = parse(b);
    ASSERT_TRUE(r.request.has_value());
    EXPECT_EQ(r.request->type(), fph::RequestType::Confirm);
    EXPECT_EQ(r.request->epoch(), 0x01020304u);
    ASSERT_EQ(r.request->nr_ranges(), 2u);
    EXPECT_EQ(r.request->range(0), (fph::Range{0x1122334455667000ULL, 0x8877665544332000ULL}));
    EXPECT_EQ(r.request->range(1), (fph::Range{0x2000, 0x1000}));
}

TEST(RequestParser, CandidatesType)
{
    const auto r = parse(RequestBuilder(VIRTIO_FPH_REQ_CANDIDATES).range(0, 4096).bytes());
    ASSERT_TRUE(r.request.has_value());
    EXPECT_EQ(r.request->type(), fph::RequestType::Candidates);
}

TEST(RequestParser, ShorterThanHeader)
{
    auto b = RequestBuilder().range(0, 4096).bytes();
    for (std::size_t len = 0; len < 16; ++len) {
        expect_reject(truncated(b, len), FPH_REJECT_MALFORMED);
    }
}

TEST(RequestParser, UnknownTypes)
{
    for (std::uint16_t t : {0, 3, 0x100, 0x200, 0xffff}) {
        expect_reject(RequestBuilder(t).range(0, 4096).bytes(), FPH_REJECT_MALFORMED);
    }
}

TEST(RequestParser, ReservedFieldsMustBeZero)
{
    expect_reject(RequestBuilder().reserved(1).range(0, 4096).bytes(), FPH_REJECT_MALFORMED);
    expect_reject(RequestBuilder().reserved(0x8000).range(0, 4096).bytes(), FPH_REJECT_MALFORMED);
    expect_reject(RequestBuilder().reserved2(1).range(0, 4096).bytes(), FPH_REJECT_MALFORMED);
    expect_reject(RequestBuilder().reserved2(0x80000000u).range(0, 4096).bytes(),
                  FPH_REJECT_MALFORMED);
}

TEST(RequestParser, ZeroRanges)
{
    expect_reject(RequestBuilder().bytes(), FPH_REJECT_MALFORMED);
    // Header says zero but a range follows: still malformed (count first).
    expect_reject(RequestBuilder().nr_ranges(0).range(0, 4096).bytes(), FPH_REJECT_MALFORMED);
}

TEST(RequestParser, OverLimit)
{
    RequestBuilder b;
    for (int i = 0; i < 9; ++i)
        b.range(0, 4096);
    expect_reject(b.bytes(), FPH_REJECT_OVER_LIMIT, 8);
    EXPECT_TRUE(parse(b.bytes(), 9).request.has_value());
    // Over the limit regardless of the actual length.
    expect_reject(RequestBuilder().nr_ranges(UINT32_MAX).range(0, 4096).bytes(),
                  FPH_REJECT_OVER_LIMIT, 8);
}

TEST(RequestParser, TruncatedRanges)
{
    auto b = RequestBuilder().range(0, 4096).range(4096, 4096).bytes();
    for (std::size_t cut = 1; cut < 32; ++cut) {
        expect_reject(truncated(b, b.size() - cut), FPH_REJECT_MALFORMED);
    }
}

TEST(RequestParser, TrailingBytes)
{
    auto b = RequestBuilder().range(0, 4096).bytes();
    for (int extra = 1; extra <= 16; ++extra) {
        auto t = b;
        t.resize(b.size() + static_cast<std::size_t>(extra), 0);
        expect_reject(t, FPH_REJECT_MALFORMED);
    }
}

TEST(RequestParser, HeaderCountDisagreesWithLength)
{
    expect_reject(RequestBuilder().nr_ranges(2).range(0, 4096).bytes(), FPH_REJECT_MALFORMED);
    expect_reject(RequestBuilder().nr_ranges(1).range(0, 4096).range(0, 4096).bytes(),
                  FPH_REJECT_MALFORMED);
}

TEST(RequestParser, CountTimesSixteenOverflowIsNotAccepted)
{
    // 0x10000001 * 16 == 16 (mod 2^32): a u32 length computation would match
    // a one-range body.  Same for 2^28 * 16 == 0 with an empty body.
    const std::uint32_t max = UINT32_MAX;
    expect_reject(RequestBuilder().nr_ranges(0x10000001u).range(0, 4096).bytes(),
                  FPH_REJECT_MALFORMED, max);
    expect_reject(RequestBuilder().nr_ranges(0x10000000u).bytes(), FPH_REJECT_MALFORMED, max);
    expect_reject(RequestBuilder().nr_ranges(UINT32_MAX).range(0, 4096).bytes(),
                  FPH_REJECT_MALFORMED, max);
}

TEST(RequestParser, ByteOrderOfHeader)
{
    // type 1 stored big-endian reads as 0x0100: must be rejected.
    std::vector<std::uint8_t> b = RequestBuilder().range(0, 4096).bytes();
    b[0] = 0x00;
    b[1] = 0x01;
    expect_reject(b, FPH_REJECT_MALFORMED);
    // nr_ranges = 1 stored big-endian reads as 0x01000000: over the limit.
    b = RequestBuilder().range(0, 4096).bytes();
    b[8] = 0;
    b[11] = 1;
    expect_reject(b, FPH_REJECT_OVER_LIMIT);
}

TEST(RequestParser, UnalignedBufferIsFine)
{
    // Request bytes at an odd address: the parser must not assume alignment.
    const auto b = RequestBuilder().epoch(7).range(0x5000, 0x3000).bytes();
    std::vector<std::uint8_t> buf{0xee};
    buf.insert(buf.end(), b.begin(), b.end());
    const auto r = fph::parse_request(std::span<const std::uint8_t>(buf).subspan(1), 8);
    ASSERT_TRUE(r.request.has_value());
    EXPECT_EQ(r.request->epoch(), 7u);
    EXPECT_EQ(r.request->range(0), (fph::Range{0x5000, 0x3000}));
}

}  // namespace
