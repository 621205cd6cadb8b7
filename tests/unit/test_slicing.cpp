// SPDX-License-Identifier: GPL-2.0-or-later
// Planning in slices (docs/design.rst, "Bounded cost"): a request planned
// a slice at a time is planned as in one go, each slice keeps to its
// budget, and a change of epoch, RAM map or armed set between slices makes
// the request stale.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "alloc_hook.hpp"
#include "core.hpp"
#include "core_fixture.hpp"
#include "planner.hpp"
#include "reference_planner.hpp"
#include "test_access.hpp"

namespace {

using namespace fph_test;
using fph::IntervalSet;
using fph::Plan;
using fph::Range;
using fph::SliceBudget;

constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr std::uint64_t kTicks = SliceBudget::kTicksPerStep;
// The most one operation charges (a CONFIRM range validated, both
// armed-set lookups, kept): a slice may overrun its budget by less.
constexpr std::uint64_t kMaxOp =
    SliceBudget::kValidate + 2 * SliceBudget::kLookup + SliceBudget::kSortShare;

void expect_same(const Plan& a, const Plan& b)
{
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.reject_status, b.reject_status);
    EXPECT_EQ(a.nr_rejected, b.nr_rejected);
    EXPECT_EQ(a.rejects, b.rejects);
    EXPECT_EQ(a.group_sources, b.group_sources);
    EXPECT_EQ(a.work_group, b.work_group);
    ASSERT_EQ(a.work.size(), b.work.size());
    for (std::size_t i = 0; i < a.work.size(); ++i) {
        EXPECT_EQ(a.work[i].addr, b.work[i].addr) << "work item " << i;
        EXPECT_EQ(a.work[i].len, b.work[i].len) << "work item " << i;
    }
}

void expect_same(const FphStats& a, const FphStats& b)
{
    EXPECT_EQ(a.epoch, b.epoch);
    EXPECT_EQ(a.epochs_seen, b.epochs_seen);
    EXPECT_EQ(a.requests, b.requests);
    EXPECT_EQ(a.candidate_batches, b.candidate_batches);
    EXPECT_EQ(a.confirm_batches, b.confirm_batches);
    EXPECT_EQ(a.ranges_received, b.ranges_received);
    EXPECT_EQ(a.pages_armed, b.pages_armed);
    EXPECT_EQ(a.pages_skipped, b.pages_skipped);
    for (int i = 0; i < FPH_REJECT__MAX; ++i) {
        EXPECT_EQ(a.rejected[i], b.rejected[i]) << fph_reject_name(static_cast<FphReject>(i));
    }
}

// RAM [0, 64 MiB) and [128 MiB, 192 MiB): requests also land in the hole.
const std::vector<FphRamRange> kRam{{0, 64 * kMiB}, {128 * kMiB, 64 * kMiB}};

IntervalSet ram_set()
{
    IntervalSet ram;
    for (const FphRamRange& r : kRam) {
        ram.insert(Range{r.addr, r.len});
    }
    return ram;
}

// Random requests of every kind a guest can send, over a region small
// enough for ranges to overlap each other and the armed set, or not.
class Random {
public:
    explicit Random(std::uint64_t seed) : rng_(seed), pages_(pick({256, 4096, 50000})) {}

    std::uint64_t below(std::uint64_t n) { return rng_() % n; }
    std::uint64_t pick(std::initializer_list<std::uint64_t> from)
    {
        return *(from.begin() + below(from.size()));
    }

    Range pages(std::uint64_t max_pages)
    {
        return Range{below(pages_) * kPage, (1 + below(max_pages)) * kPage};
    }

    IntervalSet armed()
    {
        IntervalSet armed;
        const std::uint64_t n = below(400);
        for (std::uint64_t i = 0; i < n; ++i) {
            armed.insert(pages(8));
        }
        return armed;
    }

    RequestBuilder request(std::uint16_t type, std::uint32_t epoch)
    {
        RequestBuilder b(type);
        b.epoch(epoch);
        const std::uint64_t n = 1 + below(pick({8, 600, 3000}));
        for (std::uint64_t i = 0; i < n; ++i) {
            const std::uint64_t kind = below(100);
            Range r = pages(kind < 70 ? 4 : 64);
            if (kind >= 90 && kind < 93) {
                r.addr += 512;  // misaligned
            } else if (kind >= 93 && kind < 95) {
                r.len = 0;
            } else if (kind >= 95 && kind < 97) {
                r.addr = ~std::uint64_t{0} - kPage + 1;  // wraps
            } else if (kind >= 97) {
                r = Range{below(pages_) * kPage, below(pages_ + 1) * kPage + kPage};
            }
            b.range(r.addr, r.len);
        }
        return b;
    }

    fph::PieceAllowance allowance()
    {
        return fph::PieceAllowance(pick({1, 7, 100, 1'000'000}), pick({0, 5, 1'000'000}));
    }

    std::uint64_t budget() { return pick({1, 2, 3, 17, 64, 300, 5000}); }

private:
    std::mt19937_64 rng_;
    std::uint64_t pages_;
};

fph::RequestView view(const std::vector<std::uint8_t>& bytes)
{
    const fph::ParseResult parsed = fph::parse_request(bytes, ~std::uint32_t{0});
    EXPECT_TRUE(parsed.request.has_value());
    return *parsed.request;
}

struct Sliced {
    Plan plan;
    unsigned slices = 0;
};

// Plans in slices of @steps; checks each slice against its budget.
Sliced plan_in_slices(const fph::RequestView& req, const IntervalSet& ram, const IntervalSet& armed,
                      fph::PieceAllowance allowance, std::uint64_t steps)
{
    fph::Planner planner(req, allowance);
    Sliced out;
    while (!planner.done()) {
        SliceBudget budget(steps);
        planner.run(ram, armed, budget);
        ++out.slices;
        EXPECT_LT(budget.charged(), steps * kTicks + kMaxOp);
        if (!planner.done()) {
            // It stopped for the budget, not before.
            EXPECT_TRUE(budget.spent());
            EXPECT_GE(budget.charged(), steps * kTicks);
        }
    }
    out.plan = planner.take();
    return out;
}

TEST(Slicing, SameAsOneShotForRandomRequests)
{
    const IntervalSet ram = ram_set();
    for (std::uint64_t seed = 1; seed <= 1500; ++seed) {
        SCOPED_TRACE(testing::Message() << "seed " << seed);
        Random rnd(seed);
        const IntervalSet armed = rnd.armed();
        const auto type = rnd.below(2) ? VIRTIO_FPH_REQ_CANDIDATES : VIRTIO_FPH_REQ_CONFIRM;
        const auto bytes = rnd.request(type, 1).bytes();
        const fph::RequestView req = view(bytes);
        const fph::PieceAllowance allowance = rnd.allowance();
        const std::uint64_t steps = rnd.budget();

        const Plan expected = reference::plan(req, ram, armed, allowance);
        expect_same(plan_in_slices(req, ram, armed, allowance, steps).plan, expected);
        SliceBudget unlimited = SliceBudget::unlimited();
        fph::Planner whole(req, allowance);
        whole.run(ram, armed, unlimited);
        ASSERT_TRUE(whole.done());
        expect_same(whole.take(), expected);
        if (HasFailure()) {
            return;
        }
    }
}

// One step a slice: every operation is resumed from where the last one
// stopped, including a walk in the middle of a group.
TEST(Slicing, OneStepAtATime)
{
    const IntervalSet ram = ram_set();
    IntervalSet armed;
    for (std::uint64_t page = 0; page < 2000; page += 2) {
        armed.insert(Range{page * kPage, kPage});
    }
    const fph::PieceAllowance allowance(1'000'000, 1'000'000);
    for (const auto type : {VIRTIO_FPH_REQ_CANDIDATES, VIRTIO_FPH_REQ_CONFIRM}) {
        const auto bytes = RequestBuilder(type).pages(0, 2000).pages(3, 1).pages(5000, 9).bytes();
        const fph::RequestView req = view(bytes);
        const Sliced s = plan_in_slices(req, ram, armed, allowance, 1);
        expect_same(s.plan, reference::plan(req, ram, armed, allowance));
        EXPECT_EQ(s.plan.work.size(), type == VIRTIO_FPH_REQ_CONFIRM ? 1000u : 1001u);
        EXPECT_GT(s.slices, 100u);
    }
}

// The cost of the worst requests a guest can send is counted, so a slice
// holds only so much of it: a no-work CONFIRM pays two armed-set lookups
// per range, a CONFIRM of one range a piece per armed interval.
TEST(Slicing, WorkIsChargedPerRangeAndPiece)
{
    const IntervalSet ram = ram_set();
    IntervalSet armed;
    // 8000 intervals, in the first 64 MiB of RAM.
    for (std::uint64_t page = 0; page < 16000; page += 2) {
        armed.insert(Range{page * kPage, kPage});
    }
    const fph::PieceAllowance allowance(1'000'000, 1'000'000);
    constexpr std::uint64_t kSteps = 64;

    RequestBuilder unarmed(VIRTIO_FPH_REQ_CONFIRM);
    for (std::uint64_t page = 1; page < 8192; page += 2) {
        unarmed.pages((page * 7919) % 16000 | 1, 1);
    }
    const auto no_work = unarmed.bytes();
    fph::Planner planner(view(no_work), allowance);
    std::uint64_t charged = 0;
    unsigned slices = 0;
    while (!planner.done()) {
        SliceBudget budget(kSteps);
        planner.run(ram, armed, budget);
        charged += budget.charged();
        ++slices;
    }
    const Plan plan = planner.take();
    EXPECT_TRUE(plan.work.empty());
    EXPECT_EQ(plan.rejects[FPH_REJECT_NOT_ARMED], 4096u);
    EXPECT_EQ(charged, 4096 * (SliceBudget::kValidate + 2 * SliceBudget::kLookup));
    // Each slice validated at most kSteps / 2 of them (plus one).
    EXPECT_GE(slices, 4096 / (kSteps / 2 + 1));

    const auto one_range = RequestBuilder(VIRTIO_FPH_REQ_CONFIRM).pages(0, 16000).bytes();
    const Sliced s = plan_in_slices(view(one_range), ram, armed, allowance, kSteps);
    EXPECT_EQ(s.plan.work.size(), 8000u);
    EXPECT_GE(s.slices, 8000 * SliceBudget::kPiece / (kSteps * kTicks + kMaxOp));
}

// --- through the core ---------------------------------------------------

constexpr std::uint32_t kMaxRanges = 4096;

fph::Plan plan_through(fph::Core& core, const std::vector<std::uint8_t>& bytes, std::uint64_t steps,
                       unsigned* slices = nullptr)
{
    fph::Planning p = core.begin(bytes);
    unsigned n = 0;
    for (;;) {
        SliceBudget budget(steps);
        ++n;
        if (core.step(p, budget)) {
            break;
        }
    }
    if (slices) {
        *slices = n;
    }
    return core.finish(std::move(p));
}

// Two cores with the same history, one planning in one go and one in
// slices, answer and count every request alike.
TEST(SlicedCore, AnswersAndCountsAsParse)
{
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        SCOPED_TRACE(testing::Message() << "seed " << seed);
        Random rnd(seed);
        fph::Core whole(kMaxRanges), sliced(kMaxRanges);
        for (fph::Core* c : {&whole, &sliced}) {
            c->set_ram(kRam);
            c->epoch_begin(7);
        }
        for (int i = 0; i < 60; ++i) {
            const auto type = rnd.below(3) ? VIRTIO_FPH_REQ_CANDIDATES : VIRTIO_FPH_REQ_CONFIRM;
            const std::uint32_t epoch = rnd.below(20) ? whole.epoch() : whole.epoch() + 1;
            RequestBuilder b = rnd.request(type, epoch);
            if (rnd.below(30) == 0) {
                b.reserved(1);
            }
            const auto bytes = b.bytes();
            Plan a = whole.parse(bytes);
            Plan s = plan_through(sliced, bytes, rnd.budget());
            expect_same(a, s);
            EXPECT_EQ(a.epoch, s.epoch);
            EXPECT_EQ(a.token, s.token);
            // The backend takes all, or (rarely) refuses all as stale.
            const int rc = rnd.below(10) ? 0 : -ESTALE;
            for (Plan* p : {&a, &s}) {
                std::fill(p->work_rc.begin(), p->work_rc.end(), rc);
            }
            const fph::Response ra = whole.complete(a);
            const fph::Response rs = sliced.complete(s);
            EXPECT_EQ(ra.status, rs.status);
            EXPECT_EQ(ra.nr_done, rs.nr_done);
            EXPECT_EQ(ra.nr_rejected, rs.nr_rejected);
            expect_same(whole.stats(), sliced.stats());
            if (HasFailure()) {
                return;
            }
        }
    }
}

class Midway : public ::testing::Test {
protected:
    void SetUp() override
    {
        core.set_ram(kRam);
        epoch = core.epoch_begin(7);
        // Armed: every other page of the first 8 MiB.
        RequestBuilder arm(VIRTIO_FPH_REQ_CANDIDATES);
        arm.epoch(epoch);
        for (std::uint64_t page = 0; page < 4096; page += 2) {
            arm.pages(page, 1);
        }
        const auto bytes = arm.bytes();
        Plan p = core.parse(bytes);
        std::fill(p.work_rc.begin(), p.work_rc.end(), 0);
        ASSERT_EQ(core.complete(p).nr_done, 2048u);
        before = core.stats();
        // A CONFIRM of them all, and of one misaligned range first (so
        // that the first slice has found a bad range already).
        RequestBuilder b(VIRTIO_FPH_REQ_CONFIRM);
        b.epoch(epoch).range(kPage + 1, kPage);
        for (std::uint64_t page = 0; page < 4096; page += 2) {
            b.pages(page, 1);
        }
        request = b.bytes();
    }

    // Begins planning the request and plans a slice, not all of it.
    fph::Planning begun()
    {
        fph::Planning p = core.begin(request);
        SliceBudget budget(16);
        EXPECT_FALSE(core.step(p, budget));
        return p;
    }

    // The request was counted as a stale one, and nothing else changed.
    void expect_counted_stale(const Plan& plan)
    {
        EXPECT_EQ(plan.kind, Plan::Kind::Rejected);
        EXPECT_EQ(plan.reject_status, VIRTIO_FPH_S_STALE);
        EXPECT_TRUE(plan.work.empty());
        FphStats want = before;
        ++want.requests;
        ++want.confirm_batches;
        want.ranges_received += 2049;
        ++want.rejected[FPH_REJECT_STALE_EPOCH];
        FphStats got = core.stats();
        want.epoch = got.epoch;
        want.epochs_seen = got.epochs_seen;
        expect_same(got, want);
    }

    Plan finish(fph::Planning& p)
    {
        SliceBudget budget(16);
        EXPECT_TRUE(core.step(p, budget));
        return core.finish(std::move(p));
    }

    fph::Core core{kMaxRanges};
    std::uint32_t epoch = 0;
    FphStats before{};
    std::vector<std::uint8_t> request;
};

TEST_F(Midway, NothingIsCountedUntilFinished)
{
    fph::Planning p = begun();
    expect_same(core.stats(), before);
    unsigned slices = 1;
    for (;;) {
        SliceBudget budget(16);
        ++slices;
        if (core.step(p, budget)) {
            break;
        }
        expect_same(core.stats(), before);
    }
    const Plan plan = core.finish(std::move(p));
    EXPECT_GT(slices, 10u);
    EXPECT_EQ(plan.work.size(), 2048u);
    EXPECT_EQ(core.stats().requests, before.requests + 1);
    EXPECT_EQ(core.stats().rejected[FPH_REJECT_MISALIGNED], 1u);
}

TEST_F(Midway, EpochBeginMakesItStale)
{
    fph::Planning p = begun();
    core.epoch_begin(8);
    expect_counted_stale(finish(p));
}

TEST_F(Midway, EpochEndMakesItStale)
{
    fph::Planning p = begun();
    core.epoch_end();
    expect_counted_stale(finish(p));
}

// Even if the new epoch's wire number is the old one's (it wrapped).
TEST_F(Midway, EpochWithTheSameWireNumberMakesItStale)
{
    fph::Planning p = begun();
    fph::TestAccess::set_epoch_number(core, (std::uint64_t{1} << 32) + epoch - 1);
    ASSERT_EQ(core.epoch_begin(8), epoch);
    expect_counted_stale(finish(p));
}

TEST_F(Midway, RamMapChangeMakesItStale)
{
    fph::Planning p = begun();
    core.set_ram(kRam);
    expect_counted_stale(finish(p));
}

// Another plan completed meanwhile (the device never does that): what was
// planned so far may be armed already.
TEST_F(Midway, ArmedSetChangeMakesItStale)
{
    fph::Planning p = begun();
    const auto arm = RequestBuilder(VIRTIO_FPH_REQ_CANDIDATES).epoch(epoch).pages(5001, 1).bytes();
    Plan other = core.parse(arm);
    std::fill(other.work_rc.begin(), other.work_rc.end(), 0);
    core.complete(other);
    before = core.stats();
    expect_counted_stale(finish(p));
}

// A CONFIRM completed meanwhile changes no armed set: no harm.
TEST_F(Midway, ConfirmCompletedMeanwhileChangesNothing)
{
    fph::Planning p = begun();
    const auto skip = RequestBuilder(VIRTIO_FPH_REQ_CONFIRM).epoch(epoch).pages(0, 1).bytes();
    Plan other = core.parse(skip);
    std::fill(other.work_rc.begin(), other.work_rc.end(), 0);
    core.complete(other);
    for (;;) {
        SliceBudget budget(1000);
        if (core.step(p, budget)) {
            break;
        }
    }
    EXPECT_EQ(core.finish(std::move(p)).work.size(), 2048u);
}

// Finished without a step after the change: still stale.
TEST_F(Midway, ChangeAfterTheLastStepMakesItStale)
{
    fph::Planning p = core.begin(request);
    SliceBudget budget = SliceBudget::unlimited();
    ASSERT_TRUE(core.step(p, budget));
    core.epoch_begin(8);
    expect_counted_stale(core.finish(std::move(p)));
}

TEST_F(Midway, DroppedUnansweredIsCountedAsReceived)
{
    fph::Planning p = begun();
    core.drop(std::move(p), fph::Drop::Unanswered);
    FphStats want = before;
    ++want.requests;
    ++want.confirm_batches;
    want.ranges_received += 2049;
    expect_same(core.stats(), want);
}

TEST_F(Midway, DroppedRequeuedIsNotCounted)
{
    fph::Planning p = begun();
    core.drop(std::move(p), fph::Drop::Requeued);
    expect_same(core.stats(), before);
    // Taken again, it is planned and counted as if for the first time.
    EXPECT_EQ(plan_through(core, request, 100).work.size(), 2048u);
    EXPECT_EQ(core.stats().requests, before.requests + 1);
    EXPECT_EQ(core.stats().rejected[FPH_REJECT_MISALIGNED], 1u);
}

// --- the C ABI ------------------------------------------------------------

class SlicedApi : public CoreTest {};

TEST_F(SlicedApi, StepTakesFromTheBudgetUntilDone)
{
    const auto e = begin();
    arm_pages(0, 4);
    RequestBuilder b = confirm(e);
    for (int i = 0; i < 60; ++i) {
        b.pages(100 + 2 * i, 1);  // not armed: two lookups each
    }
    b.pages(0, 4);
    const auto bytes = b.bytes();
    const FphStats before = stats();
    FphPlanning* planning = fph_core_plan_begin(core.get(), bytes.data(), bytes.size());
    FphPlan* plan = nullptr;
    unsigned slices = 0;
    while (!plan) {
        std::uint32_t budget = 10;
        plan = fph_core_plan_step(core.get(), planning, &budget);
        ++slices;
        if (!plan) {
            EXPECT_EQ(budget, 0u);
            EXPECT_EQ(stats().requests, before.requests);
        } else {
            EXPECT_LT(budget, 10u);
        }
    }
    EXPECT_GE(slices, 12u);
    EXPECT_TRUE(fph_plan_has_work(plan));
    fph_plan_execute(plan, backend.ops(), backend.opaque());
    const Resp r = complete(PlanPtr{plan});
    EXPECT_EQ(r.status, VIRTIO_FPH_S_OK);
    EXPECT_EQ(r.nr_done, 1u);
    EXPECT_EQ(r.nr_rejected, 60u);
    EXPECT_EQ(stats().rejected[FPH_REJECT_NOT_ARMED], 60u);
    EXPECT_EQ(stats().requests, before.requests + 1);
}

TEST_F(SlicedApi, RefusedWholeIsDoneAtOnceWithoutBudget)
{
    begin();
    const auto bytes = candidates(12345).pages(0, 1).bytes();
    FphPlanning* planning = fph_core_plan_begin(core.get(), bytes.data(), bytes.size());
    std::uint32_t budget = 0;
    PlanPtr plan{fph_core_plan_step(core.get(), planning, &budget)};
    ASSERT_NE(plan, nullptr);
    EXPECT_EQ(complete(std::move(plan)).status, VIRTIO_FPH_S_STALE);
    EXPECT_EQ(stats().rejected[FPH_REJECT_STALE_EPOCH], 1u);
    EXPECT_EQ(stats().ranges_received, 1u);
}

TEST_F(SlicedApi, NoProgressWithoutBudget)
{
    const auto e = begin();
    const auto bytes = candidates(e).pages(0, 1).bytes();
    FphPlanning* planning = fph_core_plan_begin(core.get(), bytes.data(), bytes.size());
    std::uint32_t budget = 0;
    EXPECT_EQ(fph_core_plan_step(core.get(), planning, &budget), nullptr);
    fph_core_plan_drop(core.get(), planning, true);
    EXPECT_EQ(stats().requests, 0u);
}

TEST_F(SlicedApi, DropUnansweredCountsTheRequest)
{
    const auto e = begin();
    const auto bytes = candidates(e).pages(0, 1).pages(1, 1).bytes();
    fph_core_plan_drop(core.get(), fph_core_plan_begin(core.get(), bytes.data(), bytes.size()),
                       false);
    EXPECT_EQ(stats().requests, 1u);
    EXPECT_EQ(stats().candidate_batches, 1u);
    EXPECT_EQ(stats().ranges_received, 2u);
    EXPECT_EQ(stats().pages_armed, 0u);
}

// Out of memory anywhere: answered INVALID, counted once as over_limit,
// as fph_core_parse() does.
TEST_F(SlicedApi, AllocationFailureAnywhereIsOneFailedRequest)
{
    const auto e = begin();
    RequestBuilder b = candidates(e);
    for (int i = 0; i < 40; ++i) {
        b.pages(3 * i, 2);
    }
    const auto bytes = b.bytes();
    std::uint64_t failed = 0;
    for (long after = 0; after < 30; ++after) {
        const FphStats before = stats();
        FphPlan* plan = nullptr;
        {
            FailAllocations fail(after);
            FphPlanning* planning = fph_core_plan_begin(core.get(), bytes.data(), bytes.size());
            while (!plan) {
                std::uint32_t budget = 3;
                plan = fph_core_plan_step(core.get(), planning, &budget);
            }
        }
        const bool oom =
            stats().rejected[FPH_REJECT_OVER_LIMIT] != before.rejected[FPH_REJECT_OVER_LIMIT];
        EXPECT_EQ(stats().requests, before.requests + 1);
        EXPECT_EQ(stats().ranges_received, before.ranges_received + (oom ? 0 : 40));
        failed += oom;
        fph_plan_execute(plan, backend.ops(), backend.opaque());
        const Resp r = complete(PlanPtr{plan});
        EXPECT_EQ(r.status, oom ? VIRTIO_FPH_S_INVALID : VIRTIO_FPH_S_OK);
    }
    EXPECT_GT(failed, 3u);
    // Dropped after its allocation failed: counted as failed, once.
    const FphStats before = stats();
    FphPlanning* planning;
    {
        FailAllocations fail(0);
        planning = fph_core_plan_begin(core.get(), bytes.data(), bytes.size());
    }
    fph_core_plan_drop(core.get(), planning, false);
    EXPECT_EQ(stats().requests, before.requests + 1);
    EXPECT_EQ(stats().rejected[FPH_REJECT_OVER_LIMIT], before.rejected[FPH_REJECT_OVER_LIMIT] + 1);
}

}  // namespace
