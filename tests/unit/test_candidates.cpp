// SPDX-License-Identifier: GPL-2.0-or-later
// CANDIDATES: merging, arming, and what becomes confirmable.
#include <gtest/gtest.h>

#include "core_fixture.hpp"
#include "planner.hpp"

namespace {

using namespace fph_test;
using fph::Range;

TEST(GroupRanges, MergesOverlappingAndAdjacentCountingSources)
{
    const auto g =
        fph::group_ranges({Range{0x5000, 0x1000}, Range{0x0, 0x2000}, Range{0x1000, 0x2000},
                           Range{0x3000, 0x1000}, Range{0x8000, 0x1000}, Range{0x8000, 0x1000}});
    ASSERT_EQ(g.size(), 3u);
    EXPECT_EQ(g[0].span, (Range{0x0, 0x4000}));
    EXPECT_EQ(g[0].sources, 3u);
    EXPECT_EQ(g[1].span, (Range{0x5000, 0x1000}));
    EXPECT_EQ(g[1].sources, 1u);
    EXPECT_EQ(g[2].span, (Range{0x8000, 0x1000}));
    EXPECT_EQ(g[2].sources, 2u);
}

TEST(GroupRanges, ContainedRangeDoesNotShrinkGroup)
{
    const auto g = fph::group_ranges({Range{0x0, 0x8000}, Range{0x1000, 0x1000}});
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].span, (Range{0x0, 0x8000}));
}

class Candidates : public CoreTest {
protected:
    void SetUp() override
    {
        CoreTest::SetUp();
        epoch = begin();
    }
    std::uint32_t epoch = 0;
};

TEST_F(Candidates, ArmsEachValidRange)
{
    const Resp r = run(candidates(epoch).pages(10, 2).pages(0, 1));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.epoch, epoch);
    EXPECT_EQ(r.nr_done, 2u);
    EXPECT_EQ(r.nr_rejected, 0u);
    // Sorted by address.
    EXPECT_EQ(backend.calls, (std::vector<BackendCall>{{true, kToken, 0, kPage},
                                                       {true, kToken, 10 * kPage, 2 * kPage}}));
    EXPECT_EQ(stats().pages_armed, 3u);
}

TEST_F(Candidates, MergesAdjacentAndOverlappingBeforeArming)
{
    const Resp r = run(candidates(epoch).pages(0, 2).pages(2, 2).pages(3, 3).pages(20, 1));
    EXPECT_EQ(r.nr_done, 4u);  // counted per input range
    EXPECT_EQ(backend.calls, (std::vector<BackendCall>{{true, kToken, 0, 6 * kPage},
                                                       {true, kToken, 20 * kPage, kPage}}));
    EXPECT_EQ(stats().pages_armed, 7u);  // overlap not counted twice
}

TEST_F(Candidates, DuplicateRangesArmOnce)
{
    const Resp r = run(candidates(epoch).pages(5, 1).pages(5, 1).pages(5, 1));
    EXPECT_EQ(r.nr_done, 3u);
    EXPECT_EQ(backend.arms().size(), 1u);
    EXPECT_EQ(stats().pages_armed, 1u);
}

TEST_F(Candidates, FailedMergedGroupFailsAllItsInputs)
{
    backend.result = [](const BackendCall& c) { return c.addr == 0 ? -EIO : 0; };
    const Resp r = run(candidates(epoch).pages(0, 1).pages(1, 1).pages(9, 1));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 1u);
    EXPECT_EQ(r.nr_rejected, 0u);
}

TEST_F(Candidates, AllRangesInvalidMeansNoWork)
{
    PlanPtr plan = parse(candidates(epoch).range(kGiB, kPage).range(0x10, kPage).bytes());
    EXPECT_FALSE(fph_plan_has_work(plan.get()));
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    const Resp r = complete(std::move(plan));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(r.nr_rejected, 2u);
    EXPECT_TRUE(backend.calls.empty());
}

TEST_F(Candidates, ArmingIsCumulativeWithinEpoch)
{
    arm_pages(0, 2);
    arm_pages(2, 2);
    backend.calls.clear();
    const Resp r = run(confirm(epoch).pages(0, 4));
    EXPECT_EQ(r.nr_done, 1u);
    EXPECT_EQ(backend.skips(), (std::vector<BackendCall>{{false, kToken, 0, 4 * kPage}}));
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 0u);
}

// Re-arming a page between the guest's observation and its confirm would
// drop the record of a write made in between: armed parts are never armed
// again in the same epoch, only the rest is.
TEST_F(Candidates, AlreadyArmedPartsAreNotArmedAgain)
{
    arm_pages(10, 4);
    backend.calls.clear();
    const Resp r = run(candidates(epoch).pages(8, 8));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 1u);
    EXPECT_EQ(backend.arms(), (std::vector<BackendCall>{{true, kToken, 8 * kPage, 2 * kPage},
                                                        {true, kToken, 14 * kPage, 2 * kPage}}));
    backend.calls.clear();
    const Resp again = run(candidates(epoch).pages(10, 4));
    EXPECT_EQ(again.nr_done, 1u);
    EXPECT_TRUE(backend.arms().empty());
    EXPECT_EQ(stats().pages_armed, 8u);
}

TEST_F(Candidates, RearmedInNewEpoch)
{
    arm_pages(10, 4);
    epoch = begin();
    backend.calls.clear();
    run(candidates(epoch).pages(10, 4));
    EXPECT_EQ(backend.arms(), (std::vector<BackendCall>{{true, kToken, 10 * kPage, 4 * kPage}}));
}

TEST_F(Candidates, ExecuteWithoutOpsFailsSafely)
{
    PlanPtr plan = parse(candidates(epoch).pages(0, 1).bytes());
    fph_plan_execute(plan.get(), nullptr, nullptr);
    const Resp r = complete(std::move(plan));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
}

TEST_F(Candidates, MaxRangesIsAccepted)
{
    RequestBuilder b = candidates(epoch);
    for (std::uint64_t i = 0; i < max_ranges; ++i)
        b.pages(2 * i, 1);
    const Resp r = run(b);
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, max_ranges);
    EXPECT_EQ(backend.arms().size(), max_ranges);
}

}  // namespace
