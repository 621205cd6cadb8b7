/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile-driver qtests, hints: the two phases used right and wrong,
 * stale epochs, CONFIRM of what was never armed, and the epoch holding.
 */

#include "qemu/osdep.h"
#include "framework.h"

/* A1: 64 ranges of 256 KiB, 256 KiB apart. */
static void a1_ranges(uint64_t *r)
{
    unsigned i;

    for (i = 0; i < A1_RANGES; i++) {
        r[2 * i] = A1 + i * A1_STRIDE;
        r[2 * i + 1] = A1_LEN;
    }
}

/* MAXR: max-ranges single pages, 2 pages apart. */
static uint64_t *maxr_ranges(FphHostile *h)
{
    uint64_t *m = g_new(uint64_t, 2 * h->max_ranges);
    unsigned i;

    for (i = 0; i < h->max_ranges; i++) {
        m[2 * i] = MAXR + i * 2 * PAGE;
        m[2 * i + 1] = PAGE;
    }
    return m;
}

/* Legitimate two-phase hints on unsent RAM: pages are really skipped. */
static void test_legit(FphHostile *h, const void *data)
{
    uint64_t r[2 * A1_RANGES];
    QFphStats d;
    QFphChain c[2];

    a1_ranges(r);
    d = fph_d_batch(CAND, 64);
    d.armed = 64 * 256 * KiB / PAGE;
    fph_simple_case(h, "candidates: 64 free ranges",
                    qfph_req(CAND, h->epoch, r, 64), WANT_OK(64, 0), d);
    d = fph_d_batch(CONF, 64);
    d.skipped = 64 * 256 * KiB / PAGE;  /* all still to be sent: skipped */
    fph_simple_case(h, "confirm: the same 64 ranges",
                    qfph_req(CONF, h->epoch, r, 64), WANT_OK(64, 0), d);
    g_assert_cmpuint(h->expect.skipped, >, 0);

    /* Confirming again is harmless: nothing left to skip. */
    d = fph_d_batch(CONF, 64);
    fph_simple_case(h, "confirm again: nothing left to skip",
                    qfph_req(CONF, h->epoch, r, 64), WANT_OK(64, 0), d);

    /* A confirm wider than what was armed is clipped to the armed part. */
    fph_clip_case(h);

    /* Exactly max-ranges ranges, duplicates and overlaps merge. */
    {
        g_autofree uint64_t *m = maxr_ranges(h);

        d = fph_d_batch(CAND, h->max_ranges);
        d.armed = h->max_ranges;
        fph_simple_case(h, "candidates: exactly max-ranges",
                        qfph_req(CAND, h->epoch, m, h->max_ranges),
                        WANT_OK(h->max_ranges, 0), d);
    }
    {
        uint64_t dup[] = { MISC, 4 * PAGE, MISC, 4 * PAGE,
                           MISC + 2 * PAGE, 4 * PAGE };

        d = fph_d_batch(CAND, 3);
        d.armed = 6;   /* merged: [+0, +6 pages) */
        fph_simple_case(h, "candidates: duplicate and overlapping ranges",
                        qfph_req(CAND, h->epoch, dup, 3), WANT_OK(3, 0), d);
        d = fph_d_batch(CONF, 3);
        d.skipped = 6;
        fph_simple_case(h, "confirm: duplicate and overlapping ranges",
                        qfph_req(CONF, h->epoch, dup, 3), WANT_OK(3, 0), d);
    }

    /* Never armed twice in one epoch: only the unarmed part is armed. */
    d = fph_d_batch(CAND, 1);
    d.armed = 16;
    fph_simple_case(h, "candidates: 16 pages",
                    qfph_req1(CAND, h->epoch, MISC + 2 * MiB, 16 * PAGE),
                    WANT_OK(1, 0), d);
    d = fph_d_batch(CAND, 1);
    fph_simple_case(h, "candidates: the same again (armed already, "
                    "not re-armed)",
                    qfph_req1(CAND, h->epoch, MISC + 2 * MiB, 16 * PAGE),
                    WANT_OK(1, 0), d);
    d = fph_d_batch(CAND, 1);
    d.armed = 32;
    fph_simple_case(h, "candidates: around them (only the rest is armed)",
                    qfph_req1(CAND, h->epoch, MISC + 2 * MiB - 16 * PAGE,
                              48 * PAGE),
                    WANT_OK(1, 0), d);

    /* Low RAM below the VGA window is RAM, too. */
    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    fph_simple_case(h, "candidates: page 0", qfph_req1(CAND, h->epoch, 0,
                                                       PAGE),
                    WANT_OK(1, 0), d);

    /*
     * Both phases in one kick, the CONFIRM not waiting for the answer to
     * the CANDIDATES: the device takes one request at a time, each planned
     * against what the previous ones armed, so the CONFIRM finds the range
     * armed.  (Such a driver breaks the protocol -- it observed the pages
     * before they were armed -- but only at its own expense.)
     */
    qfph_chain_init(&c[0], qfph_req1(CAND, h->epoch, SPARE + 4 * MiB,
                                     1 * MiB), 16);
    qfph_chain_init(&c[1], qfph_req1(CONF, h->epoch, SPARE + 4 * MiB,
                                     1 * MiB), 16);
    qvirtio_fph_run_chains(&h->d, c, 2, true);
    fph_check_chain(h, "in order: candidates", &c[0], WANT_OK(1, 0));
    fph_check_chain(h, "in order: confirm", &c[1], WANT_OK(1, 0));
    d = fph_d_batch(CAND, 1);
    d.armed = 1 * MiB / PAGE;
    qfph_stats_add(&h->expect, &d, 1);
    d = fph_d_batch(CONF, 1);
    d.skipped = 1 * MiB / PAGE;
    qfph_stats_add(&h->expect, &d, 1);
    fph_check_stats(h, "in order");
    qfph_chain_clear(&c[0]);
    qfph_chain_clear(&c[1]);
    fph_assert_epoch_held(h, "legit hints");
}

static void test_epochs(FphHostile *h, const void *data)
{
    static const uint32_t bad[] = { 0, 2, 3, 0x100, 0x7fffffff, 0x80000000,
                                    0xfffffffe, 0xffffffff };
    uint64_t filler[2 * 4], misc[] = { MISC, 6 * PAGE };
    unsigned i;

    for (i = 0; i < 4; i++) {
        filler[2 * i] = FILLER + i * 2 * MiB;
        filler[2 * i + 1] = 1 * MiB;
    }
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *n1 = g_strdup_printf("candidates, epoch %u", bad[i]);
        g_autofree char *n2 = g_strdup_printf("confirm, epoch %u", bad[i]);

        g_assert_cmpuint(bad[i], !=, h->epoch);
        fph_simple_case(h, n1, qfph_req1(CAND, bad[i], HINT, PAGE),
                        WANT_STALE, fph_d_stale(CAND, 1));
        fph_simple_case(h, n2, qfph_req(CONF, bad[i], filler, 4),
                        WANT_STALE, fph_d_stale(CONF, 4));
    }
    /* Armed ranges confirmed with a wrong epoch: nothing is skipped. */
    fph_prepare(h, "MISC", misc, 1, false);
    fph_simple_case(h, "confirm armed ranges, future epoch",
                    qfph_req1(CONF, h->epoch + 1, MISC, 6 * PAGE),
                    WANT_STALE, fph_d_stale(CONF, 1));
    /* Stale epoch wins over bad ranges (they are not looked at). */
    fph_simple_case(h, "stale epoch, bad ranges",
                    qfph_req1(CAND, h->epoch + 1, 0xe0000000ULL, 3),
                    WANT_STALE, fph_d_stale(CAND, 1));
    fph_assert_epoch_held(h, "epochs");
}

/* CONFIRM of ranges that were never armed in this epoch. */
static void test_not_armed(FphHostile *h, const void *data)
{
    uint64_t r[2 * 8], mixed[] = {
        A1 + 2 * MiB, 256 * KiB,            /* armed and skipped */
        FILLER, 1 * MiB,                    /* never armed */
        A1 + 256 * KiB, 256 * KiB,          /* never armed (gap) */
        0xe0000000ULL, PAGE,                /* out of RAM */
        HINT + 1, PAGE,                     /* misaligned */
    };
    uint64_t a1[2 * A1_RANGES], clip[] = { CLIP_ARMED, CLIP_ARMED_LEN };
    uint64_t spare[] = { SPARE + 10 * MiB, PAGE, SPARE + 13 * MiB, 2 * PAGE };
    g_autofree uint64_t *m = maxr_ranges(h);
    QFphStats d;
    unsigned i;

    /*
     * Armed and skipped: A1 and the armed piece of CLIP.  Armed only: the
     * max-ranges pages of MAXR and three pages of SPARE.
     */
    a1_ranges(a1);
    fph_prepare(h, "A1", a1, A1_RANGES, true);
    fph_prepare(h, "CLIP", clip, 1, true);
    fph_prepare(h, "MAXR", m, h->max_ranges, false);
    fph_prepare(h, "SPARE", spare, 2, false);

    fph_simple_case(h, "confirm never-armed FILLER range",
                    qfph_req1(CONF, h->epoch, FILLER + 16 * MiB, 1 * MiB),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CONF, QFPH_REJ_NOT_ARMED));
    for (i = 0; i < 8; i++) {
        r[2 * i] = FILLER + i * 4 * MiB;
        r[2 * i + 1] = 2 * MiB;
    }
    d = fph_d_batch(CONF, 8);
    d.rej[QFPH_REJ_NOT_ARMED] = 8;
    fph_simple_case(h, "confirm 8 never-armed FILLER ranges",
                    qfph_req(CONF, h->epoch, r, 8), WANT_OK(0, 8), d);
    /*
     * Most of RAM but PATTERN and FILLER: only the armed pieces are
     * skipped, i.e. those armed and not yet confirmed: the max-ranges
     * pages in MAXR and the three in SPARE.
     */
    {
        uint64_t most[] = { 0x100000, PATTERN - 0x100000,
                            CLIP, MAXR + 32 * MiB - CLIP };

        d = fph_d_batch(CONF, 2);
        d.rej[QFPH_REJ_NOT_ARMED] = 2;
        d.skipped = h->max_ranges + 3;
        fph_simple_case(h, "confirm most of RAM",
                        qfph_req(CONF, h->epoch, most, 2), WANT_OK(1, 1), d);
    }
    d = fph_d_batch(CONF, 5);
    d.rej[QFPH_REJ_NOT_ARMED] = 2;
    d.rej[QFPH_REJ_OUT_OF_RAM] = 1;
    d.rej[QFPH_REJ_MISALIGNED] = 1;
    fph_simple_case(h, "confirm armed, unarmed and invalid ranges",
                    qfph_req(CONF, h->epoch, mixed, 5), WANT_OK(1, 4), d);
    fph_assert_epoch_held(h, "not armed");
}

/*
 * The epoch stays open whatever the driver does to the device -- hints,
 * a reset, a ring without DRIVER_OK, a re-init -- until a bitmap sync
 * closes it.  Every other case ends with the same check, so that what it
 * saw happened inside the one epoch, with precopy running.
 */
static void test_epoch_held(FphHostile *h, const void *data)
{
    uint64_t r[] = { fph_fresh_page(h), PAGE };
    QFphStats d = fph_d_batch(CAND, 1);

    fph_prepare(h, "one page", r, 1, true);
    fph_assert_epoch_held(h, "after a batch");
    qvirtio_fph_reset(&h->d);
    g_assert_cmphex(qvirtio_fph_status(&h->d), ==, 0);
    fph_assert_epoch_held(h, "device reset");
    qvirtqueue_cleanup(h->d.dev->vdev.bus, h->d.vq, &h->d.alloc);
    qvirtio_fph_setup_queue(&h->d, false);
    fph_assert_epoch_held(h, "ring set up, no DRIVER_OK");
    qvirtio_set_driver_ok(&h->d.dev->vdev);
    d.armed = 1;
    fph_simple_case(h, "after DRIVER_OK",
                    qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                    WANT_OK(1, 0), d);
    fph_assert_epoch_held(h, "end");
}

void fph_hostile_add_hints_tests(void)
{
    fph_hostile_add("legit-hints", test_legit);
    fph_hostile_add("epochs", test_epochs);
    fph_hostile_add(FPH_REJECT_KEY_NOT_ARMED, test_not_armed);
    fph_hostile_add("epoch-held", test_epoch_held);
}
