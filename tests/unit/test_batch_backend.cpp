// SPDX-License-Identifier: GPL-2.0-or-later
// Backends offering batch operations get the whole plan in one call, with
// the same all-or-nothing semantics and the same distrust of their counts.
#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace {

using namespace fph_test;

class BatchBackend : public CoreTest {
protected:
    Resp run_batch(const RequestBuilder& b)
    {
        PlanPtr plan = parse(b.bytes());
        fph_plan_execute(plan.get(), batch.ops(), batch.opaque());
        return complete(std::move(plan));
    }

    FakeBatchBackend batch;
};

TEST_F(BatchBackend, CandidatesArmedInOneCall)
{
    const std::uint32_t e = begin();
    const Resp r = run_batch(candidates(e).pages(10, 2).pages(20, 3).pages(12, 1));
    ASSERT_EQ(batch.batches.size(), 1u);
    EXPECT_TRUE(batch.batches[0].is_arm);
    EXPECT_EQ(batch.batches[0].token, kToken);
    // 10-11 and 12 merge; 20-22 stays separate.
    ASSERT_EQ(batch.batches[0].ranges.size(), 2u);
    EXPECT_EQ(batch.batches[0].ranges[0].addr, 10 * kPage);
    EXPECT_EQ(batch.batches[0].ranges[0].len, 3 * kPage);
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 3u);
    EXPECT_EQ(stats().pages_armed, 6u);
}

TEST_F(BatchBackend, StaleBatchArmsNothing)
{
    const std::uint32_t e = begin();
    batch.result = -ESTALE;
    const Resp r = run_batch(candidates(e).pages(10, 2));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
    // Nothing was remembered as armed: a confirm is dropped, not skipped.
    batch.result = 0;
    batch.batches.clear();
    const Resp c = run_batch(confirm(e).pages(10, 2));
    EXPECT_TRUE(batch.batches.empty());
    EXPECT_EQ(c.nr_rejected, 1u);
}

TEST_F(BatchBackend, SkippedPagesClampedToRanges)
{
    const std::uint32_t e = begin();
    run_batch(candidates(e).pages(10, 4));
    batch.skipped = 1000;  // a backend claiming more than it was given
    const Resp r = run_batch(confirm(e).pages(10, 4));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(stats().pages_skipped, 4u);
}

}  // namespace
