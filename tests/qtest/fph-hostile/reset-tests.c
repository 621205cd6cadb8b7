/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile-driver qtests, resets: device resets with requests in flight,
 * the VM stopped under load, and the device ejected under load.
 */

#include "qemu/osdep.h"
#include "standard-headers/linux/virtio_config.h"
#include "framework.h"

/* Device reset with requests in flight, and requests around it. */
static void test_reset(FphHostile *h, const void *data)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * HEAVY_PAGES);
    QFphChain c[16];
    QFphStats s, d;
    uint64_t taken, armed;
    unsigned i, k;

    /*
     * 16 requests of 256 fresh ranges each, then reset at once.  The
     * device takes one request at a time, so the reset finds the first
     * request (or a later one) in the worker and the rest on the ring.
     */
    for (k = 0; k < 16; k++) {
        for (i = 0; i < HEAVY_PAGES; i++) {
            m[2 * i] = HEAVY + k * 2 * MiB + i * 2 * PAGE;
            m[2 * i + 1] = PAGE;
        }
        qfph_chain_init(&c[k], qfph_req(CAND, h->epoch, m, HEAVY_PAGES), 16);
    }
    qvirtio_fph_run_chains(&h->d, c, 16, false);
    qvirtio_fph_reset(&h->d);
    g_assert_cmphex(qvirtio_fph_status(&h->d), ==, 0);
    for (i = 0; i < 16; i++) {
        qfph_chain_clear(&c[i]);
    }
    qfph_read_stats(h->src, &s, NULL);
    taken = s.requests - h->expect.requests;
    armed = s.armed - h->expect.armed;
    g_test_message("reset: %" PRIu64 " of 16 requests taken, %" PRIu64
                   " completed", taken, armed / HEAVY_PAGES);
    g_assert_cmpuint(taken, >=, 1);
    g_assert_cmpuint(taken, <=, 16);
    g_assert_cmpuint(armed % HEAVY_PAGES, ==, 0);
    g_assert_cmpuint(armed / HEAVY_PAGES, <=, taken);
    g_assert_cmpuint(armed / HEAVY_PAGES, >=, taken - 1);
    d = fph_d_batch(CAND, HEAVY_PAGES);
    qfph_stats_add(&h->expect, &d, taken);
    h->expect.armed += armed;
    fph_check_stats(h, "reset in flight");
    fph_assert_alive(h->src);

    /* Kicks while reset: no ring, nothing happens. */
    qvirtio_fph_kick(&h->d);
    qpci_io_writew(h->d.dev->pdev, h->d.dev->bar, h->d.dev->notify_cfg_offset,
                   5);
    fph_check_stats(h, "kick while reset");

    /*
     * Set up a ring but no DRIVER_OK yet.  The device must not use buffers
     * before DRIVER_OK (virtio 1.2, 3.1.2), however often it is kicked; it
     * takes the waiting one when DRIVER_OK is set, with no further kick.
     */
    qvirtqueue_cleanup(h->d.dev->vdev.bus, h->d.vq, &h->d.alloc);
    qvirtio_fph_setup_queue(&h->d, false);
    qfph_chain_init(&c[0], qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                    16);
    qvirtio_fph_run_chains(&h->d, c, 1, false);
    qvirtio_fph_kick(&h->d);
    g_assert_false(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                             200 * 1000));
    fph_check_stats(h, "before DRIVER_OK");
    qvirtio_set_driver_ok(&h->d.dev->vdev);
    g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                            5 * 1000 * 1000));
    h->d.used_idx++;
    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    qfph_stats_add(&h->expect, &d, 1);
    qfph_chain_clear(&c[0]);
    fph_check_stats(h, "taken at DRIVER_OK");

    /* A clean re-init: both phases work, in the same (still open) epoch. */
    g_assert_cmpuint(qvirtio_fph_epoch(&h->d), ==, h->epoch);
    fph_reinit_and_probe(h, "reset");
    d = fph_d_batch(CAND, 1);
    d.armed = 16;
    fph_simple_case(h, "after reset: candidates",
                    qfph_req1(CAND, h->epoch, MISC + 1 * MiB, 16 * PAGE),
                    WANT_OK(1, 0), d);
    d = fph_d_batch(CONF, 1);
    d.skipped = 16;
    fph_simple_case(h, "after reset: confirm",
                    qfph_req1(CONF, h->epoch, MISC + 1 * MiB, 16 * PAGE),
                    WANT_OK(1, 0), d);
    fph_assert_epoch_held(h, "reset");
}

/*
 * A request dropped by a device reset while in flight must release the
 * guest memory it mapped (virtqueue_detach_element), as a completed one
 * does (virtqueue_push).  Mappings of non-RAM go through the device's
 * bounce buffer, 4 KiB per device by default: aim a request's response at
 * MMIO with 4 KiB, reset while it is in flight, and see whether the next
 * request with an MMIO buffer can still be mapped.
 */
static void test_reset_releases_mappings(FphHostile *h, const void *data)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * h->max_ranges);
    QFphChain c;
    QFphStats s, d;
    unsigned i, attempt;
    bool caught = false;

    /*
     * A CONFIRM of the max-ranges pages armed and skipped in MAXR: real
     * work for the worker every time, and no counter but the request's own
     * changes, whether it completes or not.  Reset right after the kick,
     * until a reset catches it taken but not answered.
     */
    for (i = 0; i < h->max_ranges; i++) {
        m[2 * i] = MAXR + i * 2 * PAGE;
        m[2 * i + 1] = PAGE;
    }
    fph_prepare(h, "MAXR", m, h->max_ranges, true);
    d = fph_d_batch(CONF, h->max_ranges);
    for (attempt = 1; attempt <= 50 && !caught; attempt++) {
        uint16_t used_before = qvirtio_fph_used_idx(&h->d);
        uint64_t taken;

        qfph_chain_init(&c, qfph_req(CONF, h->epoch, m, h->max_ranges), 0);
        qfph_chain_add_fixed(&c, PCI_HOLE_FREE, 4096, true);
        qvirtio_fph_run_chains(&h->d, &c, 1, false);
        qvirtio_fph_reset(&h->d);
        qfph_chain_clear(&c);
        qfph_read_stats(h->src, &s, NULL);
        taken = s.requests - h->expect.requests;
        g_assert_cmpuint(taken, <=, 1);
        qfph_stats_add(&h->expect, &d, taken);
        caught = taken && qvirtio_fph_used_idx(&h->d) == used_before;
        fph_check_stats(h, "reset with an MMIO-mapped request in flight");
        qvirtio_fph_reinit(&h->d);
    }
    g_test_message("request caught in flight by a reset: %s (attempt %u)",
                   caught ? "yes" : "no", attempt - 1);
    if (!caught) {
        g_test_skip("no reset caught the request in flight");
        return;
    }

    /* A request whose response needs the bounce buffer. */
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add_fixed(&c, PCI_HOLE_FREE, 16, true);
    qvirtio_fph_run_chains(&h->d, &c, 1, false);
    qfph_chain_clear(&c);
    if (qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                  2 * G_USEC_PER_SEC)) {
        h->d.used_idx = h->d.avail_idx;
        d = fph_d_batch(CAND, 1);
        d.armed = 1;
        qfph_stats_add(&h->expect, &d, 1);
        fph_check_stats(h, "MMIO buffer after the reset");
        fph_assert_epoch_held(h, "reset releases mappings");
        return;
    }
    g_assert_true(qvirtio_fph_status(&h->d) & VIRTIO_CONFIG_S_NEEDS_RESET);
    fph_assert_alive(h->src);
    fph_reinit_and_probe(h, "bounce buffer exhausted");
    /* Regression: a reset must unmap what it drops. */
    g_test_message("fph_reset() dropped in-flight elements without "
                   "virtqueue_detach_element(): their mappings leaked "
                   "(here the device's 4 KiB bounce buffer)");
    g_test_fail();
}

/*
 * Resets during a stall, with the worker waiting for the stalled
 * migration thread: each costs the main loop no wait for the worker
 * (before: 20 ms of the BQL each), and the worker keeps at most the one
 * plan it runs, cancelled (before: one more per reset); the request
 * queued meanwhile is taken once that plan is back.
 */
#define STALL_RESETS 8
static void test_reset_during_stall(FphHostile *h, const void *data)
{
    QFphChain c;
    QFphStats s, d;
    gint64 worst = 0;
    unsigned k;

    fph_stall_destination(h);
    for (k = 0; k < STALL_RESETS; k++) {
        gint64 t;

        qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                        16);
        qvirtio_fph_run_chains(&h->d, &c, 1, false);
        g_assert_false(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                                 100 * 1000));
        t = g_get_monotonic_time();
        qvirtio_fph_reset(&h->d);
        worst = MAX(worst, g_get_monotonic_time() - t);
        qfph_chain_clear(&c);
        qvirtio_fph_reinit(&h->d);
    }
    qfph_read_stats(h->src, &s, NULL);
    g_test_message("%u resets during a stall: %" PRIu64 " requests taken, "
                   "the slowest reset %" PRId64 " us", STALL_RESETS,
                   s.requests - h->expect.requests, worst);
    g_assert_cmpuint(s.requests - h->expect.requests, ==, 1);
    g_assert_cmpint(worst, <, 20 * 1000);

    /* Queued during the stall, taken after it. */
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                    16);
    qvirtio_fph_run_chains(&h->d, &c, 1, false);
    qfph_read_stats(h->src, &h->expect, NULL);
    fph_resume_destination(h);
    g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                            QVIRTIO_FPH_TIMEOUT_US));
    h->d.used_idx++;
    g_assert_cmpuint(qtest_readw(h->src, c.seg[1].addr), ==, VIRTIO_FPH_S_OK);
    qfph_chain_clear(&c);
    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    qfph_stats_add(&h->expect, &d, 1);
    fph_assert_epoch_held(h, "resets during a stall");
}

/*
 * The VM stops and resumes with requests queued and in flight: the device
 * answers what is in flight before the VM stops, takes nothing while it
 * is stopped, and the rest after it resumes (still in the same epoch:
 * stopping the VM does not end it, only a bitmap sync does).
 */
static void test_vm_stop(FphHostile *h, const void *data)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * HEAVY_PAGES);
    QFphChain c[3];
    QFphStats d;
    uint16_t used_at_stop, used_later;
    unsigned i, k;

    for (k = 0; k < 3; k++) {
        for (i = 0; i < HEAVY_PAGES; i++) {
            m[2 * i] = STOPA + k * 2 * MiB + i * 2 * PAGE;
            m[2 * i + 1] = PAGE;
        }
        qfph_chain_init(&c[k], qfph_req(CAND, h->epoch, m, HEAVY_PAGES), 16);
    }
    qvirtio_fph_run_chains(&h->d, c, 3, false);
    qtest_qmp_assert_success(h->src, "{'execute': 'stop'}");
    used_at_stop = qvirtio_fph_used_idx(&h->d);
    g_usleep(200 * 1000);
    used_later = qvirtio_fph_used_idx(&h->d);
    g_test_message("VM stopped with %u of 3 requests answered",
                   (uint16_t)(used_at_stop - h->d.used_idx));
    g_assert_cmpuint(used_later, ==, used_at_stop);
    g_assert_cmpuint((uint16_t)(used_at_stop - h->d.used_idx), <=, 3);
    qtest_qmp_assert_success(h->src, "{'execute': 'cont'}");
    g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                            QVIRTIO_FPH_TIMEOUT_US));
    for (k = 0; k < 3; k++, h->d.used_idx++) {
        uint64_t e = h->d.vq->used + 4 + 8 * (h->d.used_idx % h->d.vq->size);

        g_assert_cmpuint(qtest_readl(h->src, e + 4), ==, 16);
        qfph_chain_clear(&c[k]);
    }
    d = fph_d_batch(CAND, HEAVY_PAGES);
    d.armed = HEAVY_PAGES;
    qfph_stats_add(&h->expect, &d, 3);
    fph_check_stats(h, "stop and cont");
    fph_assert_alive(h->src);
    fph_assert_epoch_held(h, "VM stop");
}

/*
 * The guest ejects its own device (ACPI PCI hotplug: one port write, no
 * device_del needed, and not blocked during migration) while a request
 * with work is in flight in an open epoch.
 *
 * QEMU is not instrumented, so this only checks that it survives.  Run
 * the source under valgrind to see use-after-free in the unplug path:
 *   FPH_EJECT_QEMU_BINARY=<script: exec valgrind ... qemu-system-x86_64 "$@">
 *   fph-hostile-qtest -p /x86_64/fph/hostile/eject-in-flight
 */
#define ACPI_PCIHP_EJECT 0xae08
static void test_eject_in_flight(FphHostile *h, const void *data)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * 1024);
    g_autoptr(QDict) info = NULL;
    QFphChain c;
    unsigned i;

    for (i = 0; i < 1024; i++) {
        m[2 * i] = HINT + i * 2 * PAGE;
        m[2 * i + 1] = PAGE;
    }
    qfph_chain_init(&c, qfph_req(CAND, h->epoch, m, 1024), 16);
    qvirtio_fph_run_chains(&h->d, &c, 1, false);
    qtest_outl(h->src, ACPI_PCIHP_EJECT, 1 << 4);  /* slot 4: FPH_DEVFN */
    qfph_chain_clear(&c);
    info = qfph_qmp_return(h->src, "{'execute': 'query-fph-stats'}");
    g_test_message("after the eject: device-present %d, requests %" PRId64,
                   qdict_get_bool(info, "device-present"),
                   qdict_get_int(info, "requests"));
    g_assert_false(qdict_get_bool(info, "device-present"));
    fph_assert_alive(h->src);
    qtest_qmp_assert_success(h->src, "{'execute': 'migrate_cancel'}");
}

void fph_hostile_add_reset_tests(void)
{
    static const FphHostileArgs eject = {
        .src_binary_env = "FPH_EJECT_QEMU_BINARY",
    };

    fph_hostile_add("reset", test_reset);
    fph_hostile_add("reset-releases-mappings", test_reset_releases_mappings);
    fph_hostile_add("reset-during-stall", test_reset_during_stall);
    fph_hostile_add("vm-stop", test_vm_stop);
    fph_hostile_add_args("eject-in-flight", test_eject_in_flight, &eject);
}
