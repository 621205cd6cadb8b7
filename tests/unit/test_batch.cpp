// SPDX-License-Identifier: GPL-2.0-or-later
// The optional batch hooks: one call per plan, all or nothing.
#include <gtest/gtest.h>

#include <cerrno>

#include "core_fixture.hpp"

namespace {

using namespace fph_test;

class Batch : public CoreTest {
protected:
    void SetUp() override
    {
        CoreTest::SetUp();
        backend.batch = true;
        epoch = begin();
    }
    std::uint32_t epoch = 0;
};

TEST_F(Batch, ArmIsOneCallWithTheMergedWork)
{
    const Resp r = run(candidates(epoch).pages(8, 1).pages(0, 2).pages(2, 2).range(kGiB, kPage));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(backend.batch_calls, 1);
    EXPECT_EQ(backend.calls, (std::vector<BackendCall>{{true, kToken, 0, 4 * kPage},
                                                       {true, kToken, 8 * kPage, kPage}}));
    EXPECT_EQ(r.nr_done, 3u);
    EXPECT_EQ(r.nr_rejected, 1u);
    EXPECT_EQ(stats().pages_armed, 5u);
}

TEST_F(Batch, SkipIsOneCallWithClippedWork)
{
    arm_pages(0, 2);
    arm_pages(4, 2);
    backend.calls.clear();
    backend.batch_calls = 0;
    const Resp r = run(confirm(epoch).pages(0, 8));
    EXPECT_EQ(backend.batch_calls, 1);
    EXPECT_EQ(backend.skips(), (std::vector<BackendCall>{{false, kToken, 0, 2 * kPage},
                                                         {false, kToken, 4 * kPage, 2 * kPage}}));
    EXPECT_EQ(r.nr_done, 1u);
    EXPECT_EQ(stats().pages_skipped, 4u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 1u);
}

TEST_F(Batch, NoWorkMeansNoCall)
{
    run(candidates(epoch).range(kGiB, kPage));
    EXPECT_EQ(backend.batch_calls, 0);
}

TEST_F(Batch, ArmEstaleDropsEverything)
{
    backend.batch_result = [](const std::vector<BackendCall>&) { return -ESTALE; };
    const Resp r = run(candidates(epoch).pages(0, 2).pages(8, 2));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
    backend.batch_result = [](const std::vector<BackendCall>&) { return 0; };
    backend.calls.clear();
    run(confirm(epoch).pages(0, 2));
    EXPECT_TRUE(backend.skips().empty());
}

TEST_F(Batch, ArmErrorFailsEveryRange)
{
    backend.batch_result = [](const std::vector<BackendCall>&) { return -EIO; };
    const Resp r = run(candidates(epoch).pages(0, 2).pages(8, 2));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
}

TEST_F(Batch, SkipEstaleIsStaleAndCountsNothing)
{
    arm_pages(0, 4);
    backend.batch_result = [](const std::vector<BackendCall>& b) {
        return b[0].is_arm ? 0 : -ESTALE;
    };
    const Resp r = run(confirm(epoch).pages(0, 4));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_skipped, 0u);
}

TEST_F(Batch, SkippedPagesAreBoundedByThePlan)
{
    arm_pages(0, 4);
    backend.batch_skipped = [](const std::vector<BackendCall>&) { return std::uint64_t{1} << 40; };
    run(confirm(epoch).pages(0, 3));
    EXPECT_EQ(stats().pages_skipped, 3u);
    backend.batch_skipped = [](const std::vector<BackendCall>&) { return std::uint64_t{1}; };
    run(confirm(epoch).pages(0, 3));
    EXPECT_EQ(stats().pages_skipped, 4u);
}

TEST_F(Batch, EpochChangeAfterBatchArmDropsIt)
{
    PlanPtr plan = parse(candidates(epoch).pages(0, 4).bytes());
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    begin();
    EXPECT_EQ(complete(std::move(plan)).status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(stats().pages_armed, 0u);
}

}  // namespace
