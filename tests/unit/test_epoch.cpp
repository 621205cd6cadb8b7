// SPDX-License-Identifier: GPL-2.0-or-later
// Epoch lifecycle: numbering, stale requests, epoch changes mid-request.
#include <gtest/gtest.h>

#include <cerrno>

#include "core.hpp"
#include "core_fixture.hpp"
#include "epoch_state.hpp"
#include "test_access.hpp"

namespace {

using namespace fph_test;

TEST(EpochState, NumberingSkipsNoneOnWrap)
{
    fph::EpochState e;
    EXPECT_FALSE(e.is_open());
    EXPECT_EQ(e.current(), VIRTIO_FPH_EPOCH_NONE);
    EXPECT_EQ(e.begin(10), 1u);
    EXPECT_EQ(e.token(), 10u);
    EXPECT_EQ(e.begin(11), 2u);
    fph::TestAccess::set_epoch_number(e, UINT32_MAX - 1);
    EXPECT_EQ(e.begin(12), UINT32_MAX);
    EXPECT_EQ(e.begin(13), 1u);
    EXPECT_EQ(e.number(), (std::uint64_t{1} << 32) + 1);
    e.end();
    EXPECT_EQ(e.current(), VIRTIO_FPH_EPOCH_NONE);
    EXPECT_FALSE(e.accepts(1));
    EXPECT_FALSE(e.accepts(VIRTIO_FPH_EPOCH_NONE));
}

TEST(EpochState, NumberDistinguishesWrappedEpochs)
{
    fph::EpochState e;
    e.begin(1);
    const auto gen = e.number();
    EXPECT_TRUE(e.still_open(gen));
    fph::TestAccess::set_epoch_number(e, std::uint64_t{1} << 32);  // next: wire epoch 1 again
    EXPECT_EQ(e.begin(2), 1u);
    EXPECT_TRUE(e.accepts(1));
    EXPECT_FALSE(e.still_open(gen));
}

class Epoch : public CoreTest {};

TEST_F(Epoch, ClosedAtStart)
{
    EXPECT_EQ(fph_core_epoch(core.get()), VIRTIO_FPH_EPOCH_NONE);
    EXPECT_EQ(stats().epochs_seen, 0u);
    EXPECT_EQ(fph_core_max_ranges(core.get()), 64u);
}

TEST_F(Epoch, BeginEndCycle)
{
    EXPECT_EQ(begin(), 1u);
    EXPECT_EQ(fph_core_epoch(core.get()), 1u);
    EXPECT_EQ(begin(), 2u);  // begin closes the open one
    fph_core_epoch_end(core.get());
    EXPECT_EQ(fph_core_epoch(core.get()), VIRTIO_FPH_EPOCH_NONE);
    fph_core_epoch_end(core.get());  // idempotent
    EXPECT_EQ(begin(), 3u);
    EXPECT_EQ(stats().epochs_seen, 3u);
    EXPECT_EQ(stats().epoch, 3u);
}

TEST_F(Epoch, RequestWithNoEpochOpenIsStale)
{
    for (std::uint32_t e : {0u, 1u}) {
        PlanPtr plan = parse(candidates(e).pages(0, 1).bytes());
        EXPECT_FALSE(fph_plan_has_work(plan.get()));
        fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
        const Resp r = complete(std::move(plan));
        EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
        EXPECT_EQ(r.epoch, 0u);
    }
    EXPECT_TRUE(backend.calls.empty());
    EXPECT_EQ(stats().rejected[FPH_REJECT_STALE_EPOCH], 2u);
}

TEST_F(Epoch, RequestWithOldOrFutureEpochIsStale)
{
    const auto e1 = begin();
    const auto e2 = begin();
    for (std::uint32_t e : {e1, e2 + 1, 0u}) {
        const Resp r = run(candidates(e).pages(0, 1).range(0x1001, 0));  // bad range too
        EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
        EXPECT_EQ(r.epoch, e2);
        EXPECT_EQ(r.nr_done, 0u);
        EXPECT_EQ(r.nr_rejected, 0u);
    }
    EXPECT_TRUE(backend.calls.empty());
    const FphStats s = stats();
    EXPECT_EQ(s.rejected[FPH_REJECT_STALE_EPOCH], 3u);  // per request, not per range
    EXPECT_EQ(s.rejected[FPH_REJECT_MALFORMED], 0u);    // ranges never looked at
    EXPECT_EQ(s.ranges_received, 6u);
}

TEST_F(Epoch, ConfirmWithStaleEpochIsStale)
{
    const auto e1 = begin();
    arm_pages(0, 4);
    begin();
    const Resp r = run(confirm(e1).pages(0, 4));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_TRUE(backend.skips().empty());
}

TEST_F(Epoch, TokenIsPassedToBackend)
{
    const auto e = begin(0x1111);
    arm_pages(0, 1);
    run(confirm(e).pages(0, 1));
    const auto e2 = begin(0x2222);
    arm_pages(8, 1);
    run(confirm(e2).pages(8, 1));
    ASSERT_EQ(backend.calls.size(), 4u);
    EXPECT_EQ(backend.calls[0].token, 0x1111u);
    EXPECT_EQ(backend.calls[1].token, 0x1111u);
    EXPECT_EQ(backend.calls[2].token, 0x2222u);
    EXPECT_EQ(backend.calls[3].token, 0x2222u);
}

TEST_F(Epoch, ChangeBetweenParseAndCompleteDropsArms)
{
    const auto e1 = begin();
    PlanPtr plan = parse(candidates(e1).pages(0, 4).bytes());
    ASSERT_TRUE(fph_plan_has_work(plan.get()));
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    const auto e2 = begin();  // sync happened while the plan was in flight
    const Resp r = complete(std::move(plan));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.epoch, e2);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_STALE_EPOCH], 1u);
    // Nothing from epoch 1 is confirmable in epoch 2.
    backend.calls.clear();
    const Resp c = run(confirm(e2).pages(0, 4));
    EXPECT_TRUE(backend.skips().empty());
    EXPECT_EQ(c.nr_rejected, 1u);
}

TEST_F(Epoch, EndBetweenParseAndCompleteDropsArms)
{
    const auto e1 = begin();
    PlanPtr plan = parse(candidates(e1).pages(0, 4).bytes());
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    fph_core_epoch_end(core.get());
    const Resp r = complete(std::move(plan));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.epoch, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
}

TEST(EpochCore, WrapToSameWireNumberStillDropsArms)
{
    // The u32 wire epoch repeats after a wrap; a plan from the old epoch with
    // the same number must still be stale.  Uses the C++ core for the hook.
    fph::Core core(8);
    const FphRamRange ram{0, kGiB};
    core.set_ram({&ram, 1});
    EXPECT_EQ(core.epoch_begin(1), 1u);
    const auto bytes = candidates(1).pages(0, 4).bytes();
    fph::Plan plan = core.parse(bytes);
    FakeBackend backend;
    plan.execute(backend.ops(), backend.opaque());
    fph::TestAccess::set_epoch_number(core, std::uint64_t{1} << 32);
    EXPECT_EQ(core.epoch_begin(2), 1u);
    const fph::Response r = core.complete(plan);
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_TRUE(fph::TestAccess::armed(core).empty());
}

TEST_F(Epoch, ChangeBetweenParseAndExecuteOfConfirm)
{
    const auto e1 = begin();
    arm_pages(0, 4);
    PlanPtr plan = parse(confirm(e1).pages(0, 4).bytes());
    begin(0x9999);
    // The backend refuses the old token, as the hook contract requires.
    backend.result = [](const BackendCall& c) { return c.token == kToken ? -ESTALE : 0; };
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    ASSERT_EQ(backend.skips().size(), 1u);
    EXPECT_EQ(backend.skips()[0].token, kToken);  // plan keeps its own token
    const Resp r = complete(std::move(plan));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_skipped, 0u);
}

TEST_F(Epoch, BackendEstaleOnArmDropsWholePlan)
{
    const auto e = begin();
    // Ranges 0-1 and 8-9 and 16-17: second arm says the epoch is over.
    int n = 0;
    backend.result = [&n](const BackendCall&) { return ++n == 2 ? -ESTALE : 0; };
    const Resp r = run(candidates(e).pages(0, 2).pages(8, 2).pages(16, 2));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(backend.arms().size(), 2u);  // stops at the first -ESTALE
    EXPECT_EQ(stats().pages_armed, 0u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_STALE_EPOCH], 1u);
    // Even the first, successfully armed, range is not confirmable.
    backend.result = [](const BackendCall&) { return 0; };
    backend.calls.clear();
    run(confirm(e).pages(0, 2));
    EXPECT_TRUE(backend.skips().empty());
}

TEST_F(Epoch, BackendEstaleOnSkipReportsStaleButKeepsEarlierSkips)
{
    const auto e = begin();
    arm_pages(0, 64);
    int n = 0;
    backend.result = [&n](const BackendCall&) { return ++n == 2 ? -ESTALE : 0; };
    backend.calls.clear();
    const Resp r = run(confirm(e).pages(0, 2).pages(8, 2).pages(16, 2));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(backend.skips().size(), 2u);
    EXPECT_EQ(r.nr_done, 1u);  // the first skip was accepted by the backend
    EXPECT_EQ(stats().pages_skipped, 2u);
}

TEST_F(Epoch, OtherBackendErrorsAreNotStale)
{
    const auto e = begin();
    backend.result = [](const BackendCall& c) { return c.addr == 8 * kPage ? -EIO : 0; };
    const Resp r = run(candidates(e).pages(0, 2).pages(8, 2).pages(16, 2));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 2u);
    EXPECT_EQ(stats().pages_armed, 4u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_STALE_EPOCH], 0u);
    // The failed range was not armed.
    backend.result = [](const BackendCall&) { return 0; };
    backend.calls.clear();
    const Resp c = run(confirm(e).pages(8, 2));
    EXPECT_TRUE(backend.skips().empty());
    EXPECT_EQ(c.nr_rejected, 1u);
}

TEST_F(Epoch, UnexecutedPlanDoesNothing)
{
    const auto e = begin();
    PlanPtr plan = parse(candidates(e).pages(0, 2).bytes());
    const Resp r = complete(std::move(plan));
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
    backend.calls.clear();
    run(confirm(e).pages(0, 2));
    EXPECT_TRUE(backend.skips().empty());
}

TEST_F(Epoch, PlanFreeWithoutCompleteAccountsNothing)
{
    const auto e = begin();
    PlanPtr plan = parse(candidates(e).pages(0, 2).bytes());
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    plan.reset();  // device reset path
    EXPECT_EQ(stats().pages_armed, 0u);
    backend.calls.clear();
    run(confirm(e).pages(0, 2));
    EXPECT_TRUE(backend.skips().empty());
}

}  // namespace
