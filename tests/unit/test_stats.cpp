// SPDX-License-Identifier: GPL-2.0-or-later
// Stats accounting and reject names.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core_fixture.hpp"

namespace {

using namespace fph_test;

// The key of each reason is its lower name in include/fph/names.toml.
TEST(RejectName, StableNames)
{
#define EXPECT_NAME(up, low, key) EXPECT_STREQ(fph_reject_name(FPH_REJECT_##up), #low);
    FPH_REJECT_REASONS(EXPECT_NAME)
#undef EXPECT_NAME
    EXPECT_STREQ(fph_reject_name(FPH_REJECT__MAX), "unknown");
    EXPECT_STREQ(fph_reject_name(static_cast<FphReject>(-1)), "unknown");
}

class Stats : public CoreTest {};

TEST_F(Stats, StartsAtZero)
{
    const FphStats s = stats();
    EXPECT_EQ(s.epoch, 0u);
    EXPECT_EQ(s.epochs_seen, 0u);
    EXPECT_EQ(s.requests, 0u);
    EXPECT_EQ(s.candidate_batches, 0u);
    EXPECT_EQ(s.confirm_batches, 0u);
    EXPECT_EQ(s.ranges_received, 0u);
    EXPECT_EQ(s.pages_armed, 0u);
    EXPECT_EQ(s.pages_skipped, 0u);
    for (auto r : s.rejected)
        EXPECT_EQ(r, 0u);
}

TEST_F(Stats, WholeRequestRejectsCountOnce)
{
    const auto e = begin();
    run(RequestBuilder(7).epoch(e).pages(0, 1).pages(1, 1));  // bad type
    run(candidates(e).reserved(1).pages(0, 1));               // reserved
    run(candidates(e).nr_ranges(3).pages(0, 1));              // length
    RequestBuilder big = candidates(e);
    for (int i = 0; i < 65; ++i)
        big.pages(0, 1);
    const Resp over = run(big);
    const Resp bad = run(candidates(e));  // zero ranges
    EXPECT_EQ(over.status, VIRTIO_FPH_S_INVALID);
    EXPECT_EQ(bad.status, VIRTIO_FPH_S_INVALID);
    EXPECT_EQ(over.epoch, e);
    EXPECT_EQ(over.nr_done, 0u);
    EXPECT_EQ(over.nr_rejected, 0u);
    const FphStats s = stats();
    EXPECT_EQ(s.requests, 5u);
    EXPECT_EQ(s.rejected[FPH_REJECT_MALFORMED], 4u);
    EXPECT_EQ(s.rejected[FPH_REJECT_OVER_LIMIT], 1u);
    EXPECT_EQ(s.ranges_received, 0u);  // none of them well-formed
    EXPECT_EQ(s.candidate_batches, 0u);
    EXPECT_TRUE(backend.calls.empty());
}

TEST_F(Stats, MalformedRequestIsInvalidEvenWithoutEpoch)
{
    const Resp r = run(candidates(0).reserved2(5).pages(0, 1));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_INVALID);
    EXPECT_EQ(stats().rejected[FPH_REJECT_MALFORMED], 1u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_STALE_EPOCH], 0u);
}

TEST_F(Stats, NullOrEmptyBufferIsMalformed)
{
    PlanPtr plan{fph_core_parse(core.get(), nullptr, 100)};
    EXPECT_EQ(complete(std::move(plan)).status, VIRTIO_FPH_S_INVALID);
    EXPECT_EQ(stats().rejected[FPH_REJECT_MALFORMED], 1u);
}

TEST_F(Stats, FullTwoPhaseAccounting)
{
    const auto e = begin();
    EXPECT_EQ(run(candidates(e).pages(0, 4).pages(8, 4).range(kGiB, kPage)).status,
              VIRTIO_FPH_S_OK);
    EXPECT_EQ(run(confirm(e).pages(0, 2).pages(6, 4)).status, VIRTIO_FPH_S_OK);
    const FphStats s = stats();
    EXPECT_EQ(s.epoch, e);
    EXPECT_EQ(s.epochs_seen, 1u);
    EXPECT_EQ(s.requests, 2u);
    EXPECT_EQ(s.candidate_batches, 1u);
    EXPECT_EQ(s.confirm_batches, 1u);
    EXPECT_EQ(s.ranges_received, 5u);
    EXPECT_EQ(s.pages_armed, 8u);
    EXPECT_EQ(s.pages_skipped, 4u);  // 0-1 and 8-9
    EXPECT_EQ(s.rejected[FPH_REJECT_OUT_OF_RAM], 1u);
    EXPECT_EQ(s.rejected[FPH_REJECT_NOT_ARMED], 1u);  // 6..10 partially armed
    EXPECT_EQ(s.rejected[FPH_REJECT_STALE_EPOCH], 0u);
}

TEST_F(Stats, StaleRequestCountsBatchAndRanges)
{
    begin();
    run(confirm(99).pages(0, 1).pages(1, 1).pages(2, 1));
    const FphStats s = stats();
    EXPECT_EQ(s.confirm_batches, 1u);
    EXPECT_EQ(s.ranges_received, 3u);
    EXPECT_EQ(s.rejected[FPH_REJECT_STALE_EPOCH], 1u);
}

TEST_F(Stats, MaxRangesZeroIsClampedToOne)
{
    CorePtr c{fph_core_new(0)};
    EXPECT_EQ(fph_core_max_ranges(c.get()), 1u);
}

TEST_F(Stats, DoneRejectedAndFailedPartitionTheInputs)
{
    const auto e = begin();
    backend.result = [](const BackendCall& c) { return c.addr == 30 * kPage ? -EIO : 0; };
    const Resp r = run(candidates(e)
                           .pages(0, 1)
                           .pages(1, 1)           // merged, ok
                           .pages(30, 1)          // backend fails
                           .range(0x123, kPage)   // misaligned
                           .range(kGiB, kPage));  // out of RAM
    EXPECT_EQ(r.nr_done, 2u);
    EXPECT_EQ(r.nr_rejected, 2u);
}

}  // namespace
