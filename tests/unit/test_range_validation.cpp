// SPDX-License-Identifier: GPL-2.0-or-later
// Per-range rejects, seen through the C ABI: what reaches the backend.
#include <gtest/gtest.h>

#include "core_fixture.hpp"
#include "interval_set.hpp"
#include "range_validator.hpp"

namespace {

using namespace fph_test;

TEST(RangeValidator, Precedence)
{
    fph::IntervalSet ram;
    ram.insert(fph::Range{0, 1ULL << 20});
    EXPECT_EQ(fph::validate_range({0x1000, 0}, ram), FPH_REJECT_MALFORMED);
    EXPECT_EQ(fph::validate_range({0x1001, 0}, ram),
              FPH_REJECT_MALFORMED);  // empty beats misaligned
    EXPECT_EQ(fph::validate_range({UINT64_MAX - 0xfff, 0x2000}, ram), FPH_REJECT_MALFORMED);
    EXPECT_EQ(fph::validate_range({0x1001, 0x1000}, ram), FPH_REJECT_MISALIGNED);
    EXPECT_EQ(fph::validate_range({1ULL << 40 | 1, 0x1000}, ram), FPH_REJECT_MISALIGNED);
    EXPECT_EQ(fph::validate_range({1ULL << 40, 0x1000}, ram), FPH_REJECT_OUT_OF_RAM);
    EXPECT_EQ(fph::validate_range({0, 1ULL << 20}, ram), std::nullopt);
}

class Validation : public CoreTest {
protected:
    void SetUp() override
    {
        CoreTest::SetUp();
        epoch = begin();
    }

    // Sends one CANDIDATES range in a fresh epoch (nothing armed yet, so
    // an accepted range reaches the backend whole); returns whether it did.
    bool accepted(std::uint64_t addr, std::uint64_t len, FphReject expect_if_rejected)
    {
        epoch = begin();
        const FphStats before = stats();
        backend.calls.clear();
        const Resp r = run(candidates(epoch).range(addr, len));
        EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
        const FphStats after = stats();
        if (backend.calls.empty()) {
            EXPECT_EQ(r.nr_rejected, 1u);
            EXPECT_EQ(after.rejected[expect_if_rejected], before.rejected[expect_if_rejected] + 1)
                << fph_reject_name(expect_if_rejected);
            return false;
        }
        EXPECT_EQ(backend.calls.size(), 1u);
        EXPECT_EQ(backend.calls[0].addr, addr);
        EXPECT_EQ(backend.calls[0].len, len);
        EXPECT_EQ(r.nr_done, 1u);
        return true;
    }

    std::uint32_t epoch = 0;
};

TEST_F(Validation, ZeroLength)
{
    EXPECT_FALSE(accepted(0x1000, 0, FPH_REJECT_MALFORMED));
}

TEST_F(Validation, WrapAroundTwoToTheSixtyFour)
{
    EXPECT_FALSE(accepted(UINT64_MAX - 0xfff, 0x1000, FPH_REJECT_MALFORMED));  // end == 2^64
    EXPECT_FALSE(accepted(0xfffffffffffff000ULL, 0x2000, FPH_REJECT_MALFORMED));
    EXPECT_FALSE(accepted(0x1000, 0xfffffffffffff000ULL, FPH_REJECT_MALFORMED));
    // Does not wrap, but is not RAM.
    EXPECT_FALSE(accepted(0xffffffffffffe000ULL, 0x1000, FPH_REJECT_OUT_OF_RAM));
}

TEST_F(Validation, Misaligned)
{
    EXPECT_FALSE(accepted(0x1800, 0x1000, FPH_REJECT_MISALIGNED));
    EXPECT_FALSE(accepted(0x1000, 0x800, FPH_REJECT_MISALIGNED));
    EXPECT_FALSE(accepted(0x1000, 0x1001, FPH_REJECT_MISALIGNED));
    EXPECT_FALSE(accepted(0x1, 0x1000, FPH_REJECT_MISALIGNED));
}

TEST_F(Validation, ExactRamBoundaries)
{
    EXPECT_TRUE(accepted(0, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_TRUE(accepted(kGiB - kPage, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_TRUE(accepted(0, kGiB, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(kGiB - kPage, 2 * kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(kGiB, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(4 * kGiB - kPage, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_TRUE(accepted(4 * kGiB, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_TRUE(accepted(5 * kGiB - kPage, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(5 * kGiB, kPage, FPH_REJECT_OUT_OF_RAM));
}

TEST_F(Validation, StraddlingTwoNonAdjacentRamRanges)
{
    EXPECT_FALSE(accepted(kGiB - kPage, 3 * kGiB + 2 * kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(0, 5 * kGiB, FPH_REJECT_OUT_OF_RAM));
}

TEST_F(Validation, AdjacentRamRangesAreMerged)
{
    set_ram({{2 * kGiB, kGiB}, {kGiB, kGiB}, {0, kGiB}});  // unsorted, adjacent
    EXPECT_TRUE(accepted(kGiB - kPage, 2 * kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_TRUE(accepted(0, 3 * kGiB, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(0, 3 * kGiB + kPage, FPH_REJECT_OUT_OF_RAM));
}

TEST_F(Validation, SetRamReplacesAndShrinksToPages)
{
    // Partial pages at the edges are not hintable; bogus entries are ignored.
    set_ram({{0x10800, 0x3000}, {0, 0}, {UINT64_MAX - 0xfff, 0x2000}});
    EXPECT_FALSE(accepted(0, kPage, FPH_REJECT_OUT_OF_RAM));  // old RAM is gone
    EXPECT_FALSE(accepted(0x10000, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_TRUE(accepted(0x11000, 2 * kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(0x13000, kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(UINT64_MAX - 0xfff, kPage, FPH_REJECT_MALFORMED));
}

TEST_F(Validation, RamNearTopOfAddressSpace)
{
    set_ram({{0xffffffffffff0000ULL, 0xffff}});  // ends at 2^64 - 1: last page partial
    EXPECT_TRUE(accepted(0xffffffffffff0000ULL, 15 * kPage, FPH_REJECT_OUT_OF_RAM));
    EXPECT_FALSE(accepted(0xffffffffffff0000ULL, 16 * kPage, FPH_REJECT_MALFORMED));
    EXPECT_FALSE(accepted(0xfffffffffffff000ULL, 0xfff, FPH_REJECT_MISALIGNED));
}

TEST_F(Validation, NoRamRejectsEverything)
{
    set_ram({});
    EXPECT_FALSE(accepted(0, kPage, FPH_REJECT_OUT_OF_RAM));
}

TEST_F(Validation, MixedRequestKeepsOnlyGoodRanges)
{
    const Resp r = run(candidates(epoch)
                           .range(0x1000, 0x1000)      // ok
                           .range(0x2000, 0)           // malformed
                           .range(0x3001, 0x1000)      // misaligned
                           .range(kGiB, 0x1000)        // out of RAM
                           .range(4 * kGiB, 0x1000));  // ok
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 2u);
    EXPECT_EQ(r.nr_rejected, 3u);
    ASSERT_EQ(backend.arms().size(), 2u);
    EXPECT_EQ(backend.arms()[0].addr, 0x1000u);
    EXPECT_EQ(backend.arms()[1].addr, 4 * kGiB);
    const FphStats s = stats();
    EXPECT_EQ(s.rejected[FPH_REJECT_MALFORMED], 1u);
    EXPECT_EQ(s.rejected[FPH_REJECT_MISALIGNED], 1u);
    EXPECT_EQ(s.rejected[FPH_REJECT_OUT_OF_RAM], 1u);
    EXPECT_EQ(s.ranges_received, 5u);
}

TEST_F(Validation, ConfirmRangesAreValidatedToo)
{
    arm_pages(0, 16);
    backend.calls.clear();
    const Resp r = run(confirm(epoch).range(0x1001, 0x1000).range(0, 0).pages(1, 2));
    EXPECT_EQ(r.nr_rejected, 2u);
    EXPECT_EQ(r.nr_done, 1u);
    ASSERT_EQ(backend.skips().size(), 1u);
    EXPECT_EQ(backend.skips()[0].addr, kPage);
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 0u);
}

}  // namespace
