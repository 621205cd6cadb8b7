// SPDX-License-Identifier: GPL-2.0-or-later
// CONFIRM: only what was armed in this epoch is ever skipped.
#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace {

using namespace fph_test;

class Confirm : public CoreTest {
protected:
    void SetUp() override
    {
        CoreTest::SetUp();
        epoch = begin();
    }

    std::vector<BackendCall> confirm_pages(std::uint64_t first, std::uint64_t count,
                                           Resp* out = nullptr)
    {
        backend.calls.clear();
        const Resp r = run(confirm(epoch).pages(first, count));
        if (out)
            *out = r;
        return backend.skips();
    }

    std::uint32_t epoch = 0;
};

BackendCall skip(std::uint64_t first, std::uint64_t count)
{
    return {false, CoreTest::kToken, first * kPage, count * kPage};
}

TEST_F(Confirm, FullyArmedRangeIsSkipped)
{
    arm_pages(10, 4);
    Resp r;
    EXPECT_EQ(confirm_pages(10, 4, &r), (std::vector<BackendCall>{skip(10, 4)}));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 1u);
    EXPECT_EQ(r.nr_rejected, 0u);
    EXPECT_EQ(stats().pages_skipped, 4u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 0u);
}

TEST_F(Confirm, SubrangeOfArmedIsSkipped)
{
    arm_pages(10, 10);
    EXPECT_EQ(confirm_pages(12, 3), (std::vector<BackendCall>{skip(12, 3)}));
}

TEST_F(Confirm, NeverArmedIsDropped)
{
    Resp r;
    EXPECT_TRUE(confirm_pages(0, 4, &r).empty());
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(r.nr_rejected, 1u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 1u);
}

TEST_F(Confirm, PartiallyArmedIsClippedOnBothSides)
{
    arm_pages(10, 4);
    Resp r;
    EXPECT_EQ(confirm_pages(8, 8, &r), (std::vector<BackendCall>{skip(10, 4)}));
    EXPECT_EQ(r.nr_done, 1u);                               // its armed part was skipped
    EXPECT_EQ(r.nr_rejected, 0u);                           // not dropped entirely
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 1u);  // once per range
    EXPECT_EQ(stats().pages_skipped, 4u);
}

TEST_F(Confirm, RangeSpanningSeveralArmedPiecesIsSplit)
{
    arm_pages(0, 2);
    arm_pages(4, 2);
    arm_pages(8, 2);
    Resp r;
    EXPECT_EQ(confirm_pages(1, 8, &r),
              (std::vector<BackendCall>{skip(1, 1), skip(4, 2), skip(8, 1)}));
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 1u);
    EXPECT_EQ(r.nr_done, 1u);
}

TEST_F(Confirm, ExactArmedBoundaries)
{
    arm_pages(10, 4);
    EXPECT_TRUE(confirm_pages(9, 1).empty());
    EXPECT_TRUE(confirm_pages(14, 1).empty());
    EXPECT_EQ(confirm_pages(13, 1), (std::vector<BackendCall>{skip(13, 1)}));
    EXPECT_EQ(confirm_pages(10, 1), (std::vector<BackendCall>{skip(10, 1)}));
    EXPECT_EQ(confirm_pages(13, 2), (std::vector<BackendCall>{skip(13, 1)}));
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 3u);
}

TEST_F(Confirm, ArmedInPreviousEpochIsNotArmed)
{
    arm_pages(0, 16);
    epoch = begin();
    Resp r;
    EXPECT_TRUE(confirm_pages(0, 16, &r).empty());
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_rejected, 1u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 1u);
}

TEST_F(Confirm, ArmedBeforeEpochEndIsNotArmedAfterReopen)
{
    arm_pages(0, 16);
    fph_core_epoch_end(core.get());
    epoch = begin();
    EXPECT_TRUE(confirm_pages(0, 16).empty());
}

TEST_F(Confirm, ArmedStaysConfirmableAfterSkip)
{
    // Skipping does not disarm: a page freed again in the same epoch was
    // still tracked since its arm, so skipping it again is safe.
    arm_pages(0, 4);
    EXPECT_EQ(confirm_pages(0, 4), (std::vector<BackendCall>{skip(0, 4)}));
    EXPECT_EQ(confirm_pages(0, 4), (std::vector<BackendCall>{skip(0, 4)}));
}

TEST_F(Confirm, OverlappingConfirmRangesAreMergedThenClipped)
{
    arm_pages(0, 4);
    arm_pages(6, 4);
    backend.calls.clear();
    const Resp r = run(confirm(epoch).pages(0, 3).pages(2, 6).pages(20, 1));
    EXPECT_EQ(backend.skips(), (std::vector<BackendCall>{skip(0, 4), skip(6, 2)}));
    EXPECT_EQ(r.nr_done, 2u);
    EXPECT_EQ(r.nr_rejected, 1u);                           // pages 20: nothing armed
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 2u);  // 2..8 and 20
}

TEST_F(Confirm, FailedSkipPieceFailsItsGroup)
{
    arm_pages(0, 2);
    arm_pages(4, 2);
    arm_pages(10, 1);
    backend.result = [](const BackendCall& c) { return c.addr == 4 * kPage ? -EIO : 0; };
    backend.calls.clear();
    const Resp r = run(confirm(epoch).pages(0, 6).pages(10, 1));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(backend.skips().size(), 3u);
    EXPECT_EQ(r.nr_done, 1u);  // only the group of page 10 fully succeeded
    EXPECT_EQ(stats().pages_skipped, 3u);
}

TEST_F(Confirm, PagesSkippedComesFromBackendAndIsBounded)
{
    arm_pages(0, 8);
    backend.skipped = [](const BackendCall&) { return std::uint64_t{3}; };
    confirm_pages(0, 8);
    EXPECT_EQ(stats().pages_skipped, 3u);
    backend.skipped = [](const BackendCall&) { return std::uint64_t{1000}; };
    confirm_pages(0, 2);
    EXPECT_EQ(stats().pages_skipped, 5u);  // clamped to the range's 2 pages
}

TEST_F(Confirm, ConfirmRangesOutsideRamNeverReachBackendEvenIfArmed)
{
    arm_pages(0, 4);
    set_ram({{4 * kGiB, kGiB}});  // RAM unplugged under the armed range
    Resp r;
    EXPECT_TRUE(confirm_pages(0, 4, &r).empty());
    EXPECT_EQ(stats().rejected[FPH_REJECT_OUT_OF_RAM], 1u);
}

}  // namespace
