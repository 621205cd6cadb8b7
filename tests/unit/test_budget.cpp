// SPDX-License-Identifier: GPL-2.0-or-later
// The work budget: what a guest can make the host do per request and per
// epoch, and keep in the armed set, is bounded, whatever the guest's size.
#include <gtest/gtest.h>

#include "core.hpp"
#include "core_fixture.hpp"
#include "test_access.hpp"
#include "work_budget.hpp"

namespace {

using namespace fph_test;

constexpr std::uint32_t kMaxRanges = 64;

// A small budget, so that spending it takes few requests.
constexpr fph::WorkBudget kBudget{256, 16384, 4096};

class Budget : public ::testing::Test {
protected:
    void SetUp() override
    {
        const FphRamRange ram{0, kGiB};
        core.set_ram({&ram, 1});
        epoch = core.epoch_begin(1);
    }

    fph::Response run(const RequestBuilder& b)
    {
        const auto bytes = b.bytes();
        fph::Plan plan = core.parse(bytes);
        plan.execute(backend.ops(), backend.opaque());
        return core.complete(plan);
    }

    // Arms @n single pages two pages apart (n intervals), kMaxRanges at a
    // time; returns the page after the last one.
    std::uint64_t arm_scattered(std::uint64_t n)
    {
        std::uint64_t page = 0;
        for (std::uint64_t done = 0; done < n;) {
            RequestBuilder b = candidates(epoch);
            for (std::uint32_t i = 0; i < kMaxRanges && done < n; ++i, ++done, page += 2) {
                b.pages(page, 1);
            }
            const fph::Response r = run(b);
            EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
            EXPECT_EQ(r.nr_rejected, 0u);
        }
        return page;
    }

    std::uint64_t over_budget() const { return core.stats().rejected[FPH_REJECT_OVER_BUDGET]; }

    fph::Core core{kMaxRanges, kBudget};
    FakeBackend backend;
    std::uint32_t epoch = 0;
};

TEST(WorkBudget, DevicesDoesNotGrowWithTheGuest)
{
    const auto b = fph::WorkBudget::for_max_ranges(4096);
    EXPECT_EQ(b.pieces_per_request, 4u * 4096);
    EXPECT_EQ(b.armed_intervals, std::size_t{1} << 20);
    EXPECT_EQ(b.pieces_per_epoch, 4u << 20);
    EXPECT_EQ(fph::WorkBudget::for_max_ranges(65536).armed_intervals, b.armed_intervals);
}

TEST_F(Budget, LegitimatePassIsUntouched)
{
    const std::uint64_t end = arm_scattered(1000);
    backend.calls.clear();
    // Confirm them as the driver does: the ranges it armed, a request at a time.
    for (std::uint64_t page = 0; page < end;) {
        RequestBuilder b = confirm(epoch);
        for (std::uint32_t i = 0; i < kMaxRanges && page < end; ++i, page += 2) {
            b.pages(page, 1);
        }
        const fph::Response r = run(b);
        EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
        EXPECT_EQ(r.nr_rejected, 0u);
    }
    EXPECT_EQ(backend.skips().size(), 1000u);
    EXPECT_EQ(over_budget(), 0u);
}

TEST_F(Budget, OneHugeConfirmIsCutAtThePerRequestBudget)
{
    const std::uint64_t end = arm_scattered(1000);
    backend.calls.clear();
    const fph::Response r = run(confirm(epoch).pages(0, end));
    // 1000 armed intervals inside; only a request's worth is skipped, and
    // the range does not count as done.
    EXPECT_EQ(backend.skips().size(), kBudget.pieces_per_request);
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(r.nr_rejected, 1u);
    EXPECT_EQ(over_budget(), 1u);
}

TEST_F(Budget, RepeatedConfirmsSpendTheEpochBudget)
{
    const std::uint64_t end = arm_scattered(1000);
    const std::size_t armed_pieces = backend.arms().size();
    backend.calls.clear();
    int stale = 0;
    for (int i = 0; i < 200; ++i) {
        stale += run(confirm(epoch).pages(0, end)).status == VIRTIO_FPH_S_STALE;
    }
    // Skips are idempotent, so a guest could repeat them without end: the
    // epoch's budget bounds the work, then every request is refused (as
    // STALE: nothing more this epoch).
    const std::size_t pieces = backend.skips().size() + armed_pieces;
    EXPECT_LE(pieces, kBudget.pieces_per_epoch);
    EXPECT_GT(pieces, kBudget.pieces_per_epoch - kBudget.pieces_per_request);
    EXPECT_GT(stale, 100);
    // A new epoch has a new budget.
    epoch = core.epoch_begin(2);
    EXPECT_EQ(run(candidates(epoch).pages(0, 1)).status, VIRTIO_FPH_S_OK);
}

TEST_F(Budget, ArmedSetIsCapped)
{
    const std::uint64_t end = arm_scattered(kBudget.armed_intervals);
    EXPECT_EQ(fph::TestAccess::armed(core).size(), kBudget.armed_intervals);
    // Full: more candidates of this epoch are refused, nothing is armed.
    backend.calls.clear();
    const fph::Response r = run(candidates(epoch).pages(end, 1));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_TRUE(backend.arms().empty());
    EXPECT_EQ(over_budget(), 1u);
    EXPECT_EQ(fph::TestAccess::armed(core).size(), kBudget.armed_intervals);
    // What is armed can still be confirmed.
    EXPECT_EQ(run(confirm(epoch).pages(0, 1)).status, VIRTIO_FPH_S_OK);
}

TEST_F(Budget, CandidatesCutWhenTheArmedSetFills)
{
    const std::uint64_t end = arm_scattered(kBudget.armed_intervals - 10);
    backend.calls.clear();
    RequestBuilder b = candidates(epoch);
    for (std::uint64_t i = 0; i < 20; ++i) {
        b.pages(end + 2 * i, 1);
    }
    const fph::Response r = run(b);
    EXPECT_EQ(backend.arms().size(), 10u);
    EXPECT_EQ(r.nr_done, 10u);
    EXPECT_EQ(r.nr_rejected, 10u);
    EXPECT_EQ(over_budget(), 10u);
    EXPECT_LE(fph::TestAccess::armed(core).size(), kBudget.armed_intervals);
}

}  // namespace
