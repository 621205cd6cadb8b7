// SPDX-License-Identifier: GPL-2.0-or-later
// std::bad_alloc must never cross the C ABI.  Uses the failing operator new
// of alloc_hook.cpp.
#include <gtest/gtest.h>

#include "alloc_hook.hpp"
#include "core_fixture.hpp"

namespace {

using namespace fph_test;

class AllocFailure : public CoreTest {};

TEST_F(AllocFailure, ParseFailureIsRejectedAndCounted)
{
    const auto e = begin();
    const auto bytes = candidates(e).pages(0, 1).pages(4, 1).bytes();
    FphPlan* plan;
    {
        FailAllocations fail(0);
        plan = fph_core_parse(core.get(), bytes.data(), bytes.size());
    }
    ASSERT_NE(plan, nullptr);
    EXPECT_FALSE(fph_plan_has_work(plan));
    fph_plan_execute(plan, backend.ops(), backend.opaque());
    EXPECT_TRUE(backend.calls.empty());
    const Resp r = complete(PlanPtr{plan});
    EXPECT_EQ(r.status, VIRTIO_FPH_S_INVALID);
    const FphStats s = stats();
    EXPECT_EQ(s.requests, 1u);
    EXPECT_EQ(s.rejected[FPH_REJECT_OVER_LIMIT], 1u);
    EXPECT_EQ(s.ranges_received, 0u);  // not accounted: planning failed
}

TEST_F(AllocFailure, EveryParseAllocationPointIsSurvivable)
{
    const auto e = begin();
    const auto bytes = candidates(e).pages(0, 1).pages(4, 1).bytes();
    for (long after = 0; after < 8; ++after) {
        FphPlan* plan;
        {
            FailAllocations fail(after);
            plan = fph_core_parse(core.get(), bytes.data(), bytes.size());
        }
        fph_plan_execute(plan, backend.ops(), backend.opaque());
        const Resp r = complete(PlanPtr{plan});
        EXPECT_TRUE(r.status == VIRTIO_FPH_S_OK || r.status == VIRTIO_FPH_S_INVALID);
    }
}

TEST_F(AllocFailure, ArmedSetInsertFailureIsNotArmed)
{
    const auto e = begin();
    PlanPtr plan = parse(candidates(e).pages(0, 1).bytes());
    fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
    Resp r;
    {
        FailAllocations fail(1);  // group bookkeeping ok, map node fails
        r = complete(std::move(plan));
    }
    EXPECT_EQ(r.nr_done, 0u);
    EXPECT_EQ(stats().pages_armed, 0u);
    backend.calls.clear();
    run(confirm(e).pages(0, 1));
    EXPECT_TRUE(backend.skips().empty());
}

TEST_F(AllocFailure, CoreNewReturnsNull)
{
    FailAllocations fail(0);
    EXPECT_EQ(fph_core_new(8), nullptr);
}

TEST_F(AllocFailure, SetRamFailureLeavesNoRam)
{
    const auto e = begin();
    std::vector<FphRamRange> ram{{0, kGiB}, {2 * kGiB, kGiB}};
    {
        FailAllocations fail(1);
        fph_core_set_ram(core.get(), ram.data(), ram.size());
    }
    run(candidates(e).pages(0, 1));
    EXPECT_TRUE(backend.calls.empty());
    EXPECT_EQ(stats().rejected[FPH_REJECT_OUT_OF_RAM], 1u);
}

}  // namespace
