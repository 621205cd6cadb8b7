/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile-driver qtests, re-entry: the device's own writes to guest
 * memory and its MSI-X messages go where the driver says, which may be
 * the device's own registers.  Entries from outside MMIO dispatch (here
 * the VM state handler that answers requests when the VM stops) must not
 * let that reach the device: module/fph-device.c, FphScope.
 */

#include "qemu/osdep.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "framework.h"

#define DRIVER_READY (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
                      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

/*
 * The VM stops with a request in flight that the worker cannot finish
 * (the destination is stalled): the device answers it STALE at once and
 * notifies, through an MSI-X entry the driver aimed at the device's own
 * device_status with 0, i.e. a device reset from inside the answer.  Before
 * the fix the reset went through and, had the worker finished meanwhile,
 * freed the request's element a second time (a use-after-free and double
 * free in QEMU's heap): now the write is dropped and the device keeps its
 * state.
 */
static void test_notify_resets_itself_on_stop(FphHostile *h, const void *data)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * HEAVY_PAGES);
    QFphChain c;
    QFphStats d;
    gint64 start;
    unsigned i;

    qvirtio_fph_aim_msix(&h->d, false,
                         qvirtio_fph_common_cfg_addr(&h->d,
                                                     VIRTIO_PCI_COMMON_STATUS),
                         0);
    fph_stall_destination(h);
    /* Until a request stays unanswered: the migration thread is stuck. */
    for (i = 0; i < HEAVY_PAGES; i++) {
        m[2 * i] = HEAVY + i * 2 * PAGE;
        m[2 * i + 1] = PAGE;
    }
    qfph_chain_init(&c, qfph_req(CAND, h->epoch, m, HEAVY_PAGES), 16);
    qvirtio_fph_run_chains(&h->d, &c, 1, false);
    g_assert_false(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                             500 * 1000));

    start = g_get_monotonic_time();
    qtest_qmp_assert_success(h->src, "{'execute': 'stop'}");
    g_test_message("stop took %" PRId64 " ms",
                   (g_get_monotonic_time() - start) / 1000);
    g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                            2 * G_USEC_PER_SEC));
    h->d.used_idx++;
    /* The response segment (qfph_chain_init's second). */
    g_assert_cmpuint(qtest_readw(h->src, c.seg[1].addr), ==,
                     VIRTIO_FPH_S_STALE);
    g_assert_cmphex(qvirtio_fph_status(&h->d), ==, DRIVER_READY);
    qfph_chain_clear(&c);

    fph_resume_destination(h);
    qtest_qmp_assert_success(h->src, "{'execute': 'cont'}");
    fph_assert_alive(h->src);
    /*
     * The cancelled request was counted when taken; its plan runs once
     * the destination reads again, and is dropped.
     */
    qfph_read_stats(h->src, &h->expect, NULL);
    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    fph_simple_case(h, "after the stop",
                    qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                    WANT_OK(1, 0), d);
    fph_assert_epoch_held(h, "notify resets itself on stop");
}

void fph_hostile_add_reentry_tests(void)
{
    fph_hostile_add("notify-resets-itself-on-stop",
                    test_notify_resets_itself_on_stop);
}
