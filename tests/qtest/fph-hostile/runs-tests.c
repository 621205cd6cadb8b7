/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fph hostile qtests: the migration bitmap shaped into single-page runs.
 *
 * Arming a range costs the hook a step per run of pages still to be sent
 * in it, and the guest shapes those runs with its own skips: every other
 * page skipped in one epoch, one arm over the region in the next walks a
 * run per page, under the migration bitmap's lock.  A bitmap sync ends the
 * epoch and waits for the operation in flight -- with the BQL held, and,
 * for the final sync, with the VM stopped -- so a closing epoch cuts the
 * operation short between two runs (series patch 19).
 *
 * A precopy switchover always follows a sync made with the VM running
 * (the pending figure is made exact first), which absorbs an operation
 * started before it; the final sync finds in flight only what the guest
 * started in between.  The case builds the most runs an epoch's skips can
 * make here, measures one arm over all of them, and then has the guest
 * send that arm as soon as each epoch opens until the migration
 * completes: downtime stays within downtime-limit + 50 ms.
 */

#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "framework.h"

/*
 * Written while the migration runs, so that a sync brings back its even
 * pages (skipped, now dirty) and the pending figure rises past the
 * threshold that let the sync happen: the migration goes on in a new
 * epoch.  The end of the region.
 */
#define RUNS_DIRTY_LEN (64 * MiB)
#define RUNS_DIRTY (BIG_END - RUNS_DIRTY_LEN)
#define RUNS_DIRTY_BYTE 0x77
/* The region's two parts, below and above 4 GiB, up to RUNS_DIRTY. */
#define RUNS_LOW_LEN (BIG_LOW_END - BIG_BASE)
#define RUNS_HIGH_LEN (RUNS_DIRTY - BIG_HIGH)
#define RUNS_DOWNTIME_LIMIT_MS 300
/* Downtime above downtime-limit, at most. */
#define RUNS_DOWNTIME_OVER_MS 50

static uint64_t runs_remaining(FphHostile *h)
{
    g_autoptr(QDict) ret = qfph_qmp_return(h->src,
                                           "{'execute': 'query-migrate'}");

    return qdict_get_int(qdict_get_qdict(ret, "ram"), "remaining");
}

static void runs_set_switchover_bandwidth(FphHostile *h, uint64_t bytes_per_s)
{
    qtest_qmp_assert_success(h->src, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'avail-switchover-bandwidth': %"
                             PRIu64 "}}", bytes_per_s);
}

/* The epoch after h->epoch, once the source has opened it. */
static void runs_wait_epoch(FphHostile *h)
{
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    g_autofree char *st = NULL;
    uint32_t e;

    while ((e = qvirtio_fph_epoch(&h->d)) == h->epoch ||
           e == VIRTIO_FPH_EPOCH_NONE) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
    runs_set_switchover_bandwidth(h, 0);
    g_assert_cmpuint(e, ==, h->epoch + 1);
    g_assert_cmpstr(fph_migrate_status(h->src, &st), ==, "active");
    h->epoch = e;
}

/*
 * Let the source sync once, opening the next epoch: the migration
 * converges when its pending estimate (the dirty pages, and the pages
 * skipped since the page search last wrapped, @unwalked) fits
 * avail-switchover-bandwidth x downtime-limit.  Set that just above the
 * estimate, RUNS_DIRTY written: the sync brings back its even pages, the
 * exact figure is over the threshold, and the migration goes on.
 */
static void runs_next_epoch(FphHostile *h, uint64_t unwalked)
{
    uint64_t threshold;

    qtest_memset(h->src, RUNS_DIRTY, RUNS_DIRTY_BYTE, RUNS_DIRTY_LEN);
    threshold = runs_remaining(h) + unwalked * PAGE + RUNS_DIRTY_LEN / 4;
    runs_set_switchover_bandwidth(h, threshold / RUNS_DOWNTIME_LIMIT_MS *
                                     1000);
    runs_wait_epoch(h);
}

/* An arm of [@addr, @addr + @len) in the open epoch, on the ring. */
static void runs_arm(FphHostile *h, QFphChain *c, uint64_t addr, uint64_t len)
{
    qfph_chain_init(c, qfph_req1(CAND, h->epoch, addr, len), 16);
    qvirtio_fph_run_chains(&h->d, c, 1, false);
}

/*
 * One request arming every run of the region the guest left: both parts
 * of it, up to RUNS_DIRTY.
 */
static void runs_arm_all(FphHostile *h, QFphChain *c)
{
    uint64_t r[] = { BIG_BASE, RUNS_LOW_LEN, BIG_HIGH, RUNS_HIGH_LEN };

    qfph_chain_init(c, qfph_req(CAND, h->epoch, r, 2), 16);
    qvirtio_fph_run_chains(&h->d, c, 1, false);
}

/* The answer to the one request on the ring, and when it came. */
static uint16_t runs_answer(FphHostile *h, QFphChain *c, gint64 *at)
{
    uint16_t status;

    g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                            30 * G_USEC_PER_SEC));
    *at = g_get_monotonic_time();
    h->d.used_idx++;
    status = qtest_readw(h->src, c->seg[1].addr);
    qfph_chain_clear(c);
    return status;
}

static void test_single_page_runs(FphHostile *h, const void *data)
{
    g_autoptr(QDict) ret = NULL;
    g_autofree char *st = NULL;
    gint64 t0, answered;
    uint64_t downtime, runs;
    unsigned arms;
    bool busy;
    QFphChain c;

    g_assert_cmpuint(h->max_ranges, ==, BIG_MAX_RANGES);
    qtest_qmp_assert_success(h->src, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'downtime-limit': %d}}",
                             RUNS_DOWNTIME_LIMIT_MS);

    /*
     * Epoch 1: skip every other page of the region; the pages between
     * are still to be sent, a run each.
     */
    fph_big_every_other(h, CAND, 0);
    fph_big_every_other(h, CONF, 0);
    runs_next_epoch(h, BIG_ARMED);

    /*
     * Epoch 2, nothing armed in it: the low part's runs in one arm,
     * timed.
     */
    runs = RUNS_LOW_LEN / PAGE / 2;
    t0 = g_get_monotonic_time();
    runs_arm(h, &c, BIG_BASE, RUNS_LOW_LEN);
    g_assert_cmpuint(runs_answer(h, &c, &answered), ==, VIRTIO_FPH_S_OK);
    g_test_message("one arm over %" PRIu64 " single-page runs, request to "
                   "answer: %.1f ms (%.3f us a run)", runs,
                   (answered - t0) / 1000.0, (double)(answered - t0) / runs);

    /*
     * The end, at full speed: the high part's runs in one arm as the
     * migration speeds up, then every run in one arm as soon as each
     * epoch opens.
     */
    fph_set_bandwidth(h->src, 10ULL * 1024 * MiB);
    runs_arm(h, &c, BIG_HIGH, RUNS_HIGH_LEN);
    busy = true;
    arms = 1;
    t0 = g_get_monotonic_time();
    while (strcmp(fph_migrate_status(h->src, &st), "completed")) {
        uint32_t e;

        g_assert_true(!strcmp(st, "active") || !strcmp(st, "device"));
        g_assert_cmpint(g_get_monotonic_time() - t0, <,
                        60 * G_USEC_PER_SEC);
        if (busy && qvirtio_fph_used_idx(&h->d) == h->d.avail_idx) {
            runs_answer(h, &c, &answered);
            busy = false;
        }
        e = qvirtio_fph_epoch(&h->d);
        if (!busy && e != VIRTIO_FPH_EPOCH_NONE && e != h->epoch) {
            h->epoch = e;
            runs_arm_all(h, &c);
            busy = true;
            arms++;
        }
    }
    if (busy) {
        /* Back on the ring when the VM stopped, for the destination. */
        qfph_chain_clear(&c);
    }
    ret = qfph_qmp_return(h->src, "{'execute': 'query-migrate'}");
    downtime = qdict_get_int(ret, "downtime");
    g_test_message("downtime %" PRIu64 " ms (downtime-limit %u ms), %u "
                   "arms over the runs sent meanwhile", downtime,
                   RUNS_DOWNTIME_LIMIT_MS, arms);
    fph_wait_migration(h->dst, "completed", 30);
    fph_assert_alive(h->dst);
    g_assert_cmpuint(downtime, <=,
                     RUNS_DOWNTIME_LIMIT_MS + RUNS_DOWNTIME_OVER_MS);
}

void fph_hostile_add_runs_tests(void)
{
    static const FphHostileArgs big = { .machine_args = BIG_MACHINE };

    fph_hostile_add_args("single-page-runs", test_single_page_runs, &big);
}
