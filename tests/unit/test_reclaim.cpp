// SPDX-License-Identifier: GPL-2.0-or-later
// Reclaim requests: what is asked, which driver reports count, and the
// statistics.  The config's layout: tests/unit/test_spec.py.
#include <gtest/gtest.h>

#include <cstring>

#include "core_fixture.hpp"

namespace {

using namespace fph_test;

constexpr std::uint64_t kMiB = 1ull << 20;

class Reclaim : public CoreTest {
protected:
    virtio_fph_config config() const
    {
        virtio_fph_config c;
        std::memset(&c, 0xa5, sizeof(c));
        fph_core_reclaim_config(core.get(), &c);
        return c;
    }

    // The driver's write of a report, field by field as virtio-pci does
    // (done_seq last); returns what the last write returned.
    bool report(std::uint32_t seq, std::uint32_t status, std::uint64_t bytes, std::uint32_t us,
                std::uint64_t now_ms = 0)
    {
        virtio_fph_config c = config();
        c.reclaim_status = status;
        c.reclaimed_bytes = bytes;
        c.reclaim_us = us;
        EXPECT_FALSE(fph_core_reclaim_write(core.get(), &c, now_ms));
        c.reclaim_done_seq = seq;
        return fph_core_reclaim_write(core.get(), &c, now_ms);
    }

    FphReclaimStats stats() const
    {
        FphReclaimStats s;
        fph_core_get_reclaim_stats(core.get(), &s);
        return s;
    }

    std::uint32_t seq() const { return config().reclaim_seq; }
};

TEST_F(Reclaim, OffAsksNothing)
{
    EXPECT_EQ(FPH_RECLAIM_NONE, fph_core_reclaim_begin(core.get(), 0, 1000, true, 0));
    EXPECT_FALSE(fph_core_reclaim_pending(core.get()));
    EXPECT_EQ(0u, seq());
    EXPECT_EQ(0u, config().reclaim_bytes);
    EXPECT_EQ(0u, stats().requests);
    EXPECT_EQ(FPH_RECLAIM_NONE, stats().last_result);
}

TEST_F(Reclaim, DriverWithoutTheFeatureIsNotAsked)
{
    EXPECT_EQ(FPH_RECLAIM_NO_DRIVER, fph_core_reclaim_begin(core.get(), kMiB, 1000, false, 0));
    EXPECT_FALSE(fph_core_reclaim_pending(core.get()));
    EXPECT_EQ(0u, seq());
    EXPECT_EQ(FPH_RECLAIM_NO_DRIVER, stats().last_result);
    EXPECT_EQ(kMiB, stats().last_asked_bytes);
}

TEST_F(Reclaim, RequestInConfigAndReportCompletesIt)
{
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), 64 * kMiB, 5000, true, 100));
    EXPECT_TRUE(fph_core_reclaim_pending(core.get()));
    const virtio_fph_config c = config();
    EXPECT_EQ(64 * kMiB, c.reclaim_bytes);
    EXPECT_EQ(1u, c.reclaim_seq);
    EXPECT_EQ(5000u, c.reclaim_timeout_ms);
    EXPECT_EQ(0u, c.reclaim_done_seq);
    EXPECT_EQ(0u, c.reserved);

    EXPECT_TRUE(report(1, VIRTIO_FPH_RECLAIM_S_OK, 60 * kMiB, 1234, 350));
    EXPECT_FALSE(fph_core_reclaim_pending(core.get()));
    const FphReclaimStats s = stats();
    EXPECT_EQ(FPH_RECLAIM_OK, s.last_result);
    EXPECT_EQ(60 * kMiB, s.last_reclaimed_bytes);
    EXPECT_EQ(1234u, s.last_guest_us);
    EXPECT_EQ(250u, s.last_wait_ms);
    EXPECT_EQ(1u, s.requests);
    // The driver reads its report back as written.
    EXPECT_EQ(1u, config().reclaim_done_seq);
    EXPECT_EQ(60 * kMiB, config().reclaimed_bytes);
}

TEST_F(Reclaim, GuestStatusesMapToResults)
{
    const FphReclaimResult expect[] = {FPH_RECLAIM_OK, FPH_RECLAIM_UNSUPPORTED,
                                       FPH_RECLAIM_WOULD_SWAP, FPH_RECLAIM_FAILED,
                                       FPH_RECLAIM_NO_HELPER};
    for (std::uint32_t st = 0; st <= VIRTIO_FPH_RECLAIM_S_MAX; ++st) {
        ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
        EXPECT_TRUE(report(seq(), st, 0, 0));
        EXPECT_EQ(expect[st], stats().last_result) << st;
    }
}

TEST_F(Reclaim, BadReportsAreCountedAndKeepTheWait)
{
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
    EXPECT_FALSE(report(seq() + 1, VIRTIO_FPH_RECLAIM_S_OK, kMiB, 1));   // wrong request
    EXPECT_FALSE(report(seq(), VIRTIO_FPH_RECLAIM_S_MAX + 1, kMiB, 1));  // unknown status
    EXPECT_FALSE(report(0, VIRTIO_FPH_RECLAIM_S_OK, kMiB, 1));           // none
    EXPECT_EQ(3u, stats().bad_reports);
    EXPECT_TRUE(fph_core_reclaim_pending(core.get()));
    EXPECT_EQ(0u, stats().reclaimed_bytes);
    EXPECT_TRUE(report(seq(), VIRTIO_FPH_RECLAIM_S_OK, kMiB, 1));
}

TEST_F(Reclaim, RewritingTheSameReportIsNotANewOne)
{
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
    ASSERT_TRUE(report(1, VIRTIO_FPH_RECLAIM_S_OK, kMiB, 1));
    virtio_fph_config c = config();
    EXPECT_FALSE(fph_core_reclaim_write(core.get(), &c, 0));
    EXPECT_EQ(kMiB, stats().reclaimed_bytes);
    EXPECT_EQ(0u, stats().bad_reports);
}

TEST_F(Reclaim, ReportBeforeAnyRequestIsBad)
{
    EXPECT_FALSE(report(1, VIRTIO_FPH_RECLAIM_S_OK, kMiB, 1));
    EXPECT_EQ(1u, stats().bad_reports);
}

TEST_F(Reclaim, TimeoutEndsTheWaitAndALateReportOnlyCounts)
{
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 10));
    fph_core_reclaim_end(core.get(), FPH_RECLAIM_TIMEOUT, 1010);
    EXPECT_FALSE(fph_core_reclaim_pending(core.get()));
    EXPECT_EQ(FPH_RECLAIM_TIMEOUT, stats().last_result);
    EXPECT_EQ(1u, stats().timeouts);
    EXPECT_EQ(1000u, stats().last_wait_ms);
    EXPECT_FALSE(report(1, VIRTIO_FPH_RECLAIM_S_OK, kMiB, 7));
    EXPECT_EQ(FPH_RECLAIM_TIMEOUT, stats().last_result);
    EXPECT_EQ(1u, stats().late_reports);
    EXPECT_EQ(kMiB, stats().last_reclaimed_bytes);
    // Ending again (the migration's cleanup) changes nothing.
    fph_core_reclaim_end(core.get(), FPH_RECLAIM_CANCELLED, 2000);
    EXPECT_EQ(FPH_RECLAIM_TIMEOUT, stats().last_result);
}

TEST_F(Reclaim, CancelledIsNotATimeout)
{
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
    fph_core_reclaim_end(core.get(), FPH_RECLAIM_CANCELLED, 5);
    EXPECT_EQ(FPH_RECLAIM_CANCELLED, stats().last_result);
    EXPECT_EQ(0u, stats().timeouts);
}

TEST_F(Reclaim, EachMigrationIsANewRequest)
{
    for (std::uint32_t i = 1; i <= 3; ++i) {
        ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
        EXPECT_EQ(i, seq());
        // The previous request's report is stale for this one.
        EXPECT_FALSE(report(i - 1, VIRTIO_FPH_RECLAIM_S_OK, 0, 0));
        EXPECT_TRUE(report(i, VIRTIO_FPH_RECLAIM_S_OK, kMiB, 0));
    }
    EXPECT_EQ(3u, stats().requests);
    EXPECT_EQ(3 * kMiB, stats().reclaimed_bytes);
}

TEST_F(Reclaim, NumbersGoOnFromTheSourcesOnADestination)
{
    fph_core_reclaim_set_seq(core.get(), 41);
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
    EXPECT_EQ(42u, seq());
    EXPECT_EQ(42u, fph_core_reclaim_seq(core.get()));
}

TEST_F(Reclaim, NumberZeroIsSkippedOnWrap)
{
    fph_core_reclaim_set_seq(core.get(), 0xffffffffu);
    ASSERT_EQ(FPH_RECLAIM_PENDING, fph_core_reclaim_begin(core.get(), kMiB, 1000, true, 0));
    EXPECT_EQ(1u, seq());
}

TEST_F(Reclaim, ResultNamesAreTheListsLowerNames)
{
#define EXPECT_NAME(up, low, key) EXPECT_STREQ(#low, fph_reclaim_result_name(FPH_RECLAIM_##up));
    FPH_RECLAIM_RESULTS(EXPECT_NAME)
#undef EXPECT_NAME
    EXPECT_STREQ("unknown", fph_reclaim_result_name(FPH_RECLAIM__MAX));
}

}  // namespace
