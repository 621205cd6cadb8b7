// SPDX-License-Identifier: GPL-2.0-or-later
// Byte order of the response and of ranges, checked byte by byte.
#include <gtest/gtest.h>

#include <cstring>

#include "core_fixture.hpp"

namespace {

using namespace fph_test;

class Wire : public CoreTest {};

TEST_F(Wire, ResponseIsLittleEndianByteByByte)
{
    // Reach epoch 0x0102 so every response field has two distinct bytes.
    for (int i = 0; i < 0x0102; ++i)
        begin();
    const auto e = fph_core_epoch(core.get());
    ASSERT_EQ(e, 0x0102u);
    RequestBuilder b = candidates(e);
    for (std::uint64_t i = 0; i < 3; ++i)
        b.pages(2 * i, 1);
    b.range(kGiB, kPage).range(0x10, kPage);  // 2 rejected
    PlanPtr plan = parse(b.bytes());
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    virtio_fph_resp resp;
    std::memset(&resp, 0xa5, sizeof(resp));
    fph_core_complete(core.get(), plan.release(), &resp);
    std::uint8_t raw[sizeof(resp)];
    std::memcpy(raw, &resp, sizeof(resp));
    const std::uint8_t expect[16] = {
        0x00, 0x00,              // status S_OK
        0x00, 0x00,              // reserved zeroed
        0x02, 0x01, 0x00, 0x00,  // epoch 0x0102
        0x03, 0x00, 0x00, 0x00,  // nr_done 3
        0x02, 0x00, 0x00, 0x00,  // nr_rejected 2
    };
    EXPECT_EQ(0, std::memcmp(raw, expect, sizeof(expect)));
}

TEST_F(Wire, StatusBytes)
{
    const Resp r = run(candidates(5).pages(0, 1));  // no epoch open
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.reserved, 0u);
    const Resp i = run(candidates(0));
    EXPECT_EQ(i.status, VIRTIO_FPH_S_INVALID);
}

TEST_F(Wire, RangeFieldsAreLittleEndian)
{
    const auto e = begin();
    // addr 0x0000000100003000 (4 GiB + 3 pages), len 0x2000, written by hand.
    std::vector<std::uint8_t> b = candidates(e).bytes();
    b[8] = 1;  // nr_ranges = 1
    const std::uint8_t range[16] = {0x00, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                    0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    // Appended by resize and memcpy, not by b.insert(b.end(), range, range + 16):
    // GCC 14 at -O2 warns (-Warray-bounds) inside vector::_M_range_insert there
    // for a size it cannot bound, although the insert is correct.
    const std::size_t at = b.size();
    b.resize(at + sizeof(range));
    std::memcpy(b.data() + at, range, sizeof(range));
    const Resp r = run(b);
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    ASSERT_EQ(backend.arms().size(), 1u);
    EXPECT_EQ(backend.arms()[0].addr, 0x100003000ULL);
    EXPECT_EQ(backend.arms()[0].len, 0x2000u);
}

TEST_F(Wire, EpochFieldIsLittleEndian)
{
    for (int i = 0; i < 0x0201; ++i)
        begin();
    std::vector<std::uint8_t> b = candidates(0x0102).pages(0, 1).bytes();  // byte-swapped epoch
    EXPECT_EQ(run(b).status, VIRTIO_FPH_S_STALE);
    b = candidates(0x0201).pages(0, 1).bytes();
    EXPECT_EQ(b[4], 0x01);
    EXPECT_EQ(b[5], 0x02);
    EXPECT_EQ(run(b).status, VIRTIO_FPH_S_OK);
}

TEST_F(Wire, CompleteWithNullRespStillFreesPlan)
{
    const auto e = begin();
    PlanPtr plan = parse(candidates(e).pages(0, 1).bytes());
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    fph_core_complete(core.get(), plan.release(), nullptr);  // ASan: no leak
    EXPECT_EQ(stats().pages_armed, 1u);
}

}  // namespace
