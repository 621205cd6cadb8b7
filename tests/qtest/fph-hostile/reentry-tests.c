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
#include "standard-headers/linux/pci_regs.h"
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

/*
 * The device behind a PCIe root port with native hotplug: its slot's
 * power-off is a write to the port's config space, which MMCONFIG puts in
 * memory space where a device's DMA and MSI-X messages can reach it.
 */
#define Q35 "-M q35 -nodefaults -m 256M -L /usr/share/seabios " \
            "-L /usr/share/qemu " \
            "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off " \
            "-device pcie-root-port,id=rp0,bus=pcie.0,addr=04.0,chassis=1 " \
            "-object free-page-hint,id=f,plug=off " \
            "-device virtio-fph-pci,bus=rp0,addr=00.0 "
#define Q35_PORT QPCI_DEVFN(4, 0)
#define Q35_FPH (1 << 8)            /* bus 1, devfn 0 (libqos: bus << 8) */
#define Q35_MMCONFIG 0xb0000000ULL
/* The MCH's PCIEXBAR, which firmware programs: MMCONFIG on. */
#define MCH_PCIEXBAR 0x60
/* Slot control: power controller off, power and attention indicators off. */
#define SLTCTL_POWER_OFF (PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PWR_IND_OFF | \
                          PCI_EXP_SLTCTL_ATTN_IND_OFF)

/* What firmware does: MMCONFIG on, bus 1 behind the port, its windows. */
static uint64_t q35_setup_port(QTestState *qts)
{
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    QPCIDevice *port;
    uint8_t exp;
    uint64_t sltctl;

    bus->config_writel(bus, 0, MCH_PCIEXBAR, Q35_MMCONFIG | 1);
    port = qpci_device_find(bus, Q35_PORT);
    g_assert_nonnull(port);
    qpci_config_writeb(port, PCI_PRIMARY_BUS, 0);
    qpci_config_writeb(port, PCI_SECONDARY_BUS, 1);
    qpci_config_writeb(port, PCI_SUBORDINATE_BUS, 1);
    /* libqos maps BARs from 0xe0000000 up. */
    qpci_config_writew(port, PCI_MEMORY_BASE, 0xe000);
    qpci_config_writew(port, PCI_MEMORY_LIMIT, 0xeff0);
    qpci_config_writew(port, PCI_PREF_MEMORY_BASE, 0xe000);
    qpci_config_writew(port, PCI_PREF_MEMORY_LIMIT, 0xeff0);
    qpci_config_writel(port, PCI_PREF_BASE_UPPER32, 0);
    qpci_config_writel(port, PCI_PREF_LIMIT_UPPER32, 0);
    qpci_config_writew(port, PCI_COMMAND,
                       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    exp = qpci_find_capability(port, PCI_CAP_ID_EXP, 0);
    g_assert_cmpuint(exp, !=, 0);
    sltctl = Q35_MMCONFIG + (Q35_PORT << 12) + exp + PCI_EXP_SLTCTL;
    g_free(port);
    qpci_free_pc(bus);
    return sltctl;
}

static bool q35_device_present(QTestState *qts)
{
    g_autoptr(QDict) r = qfph_qmp_return(qts, "{'execute': 'query-fph-stats'}");

    return qdict_get_bool(r, "device-present");
}

/* How the device is made to power its own slot off. */
typedef enum {
    /* The response of a completed request, through a bounce buffer. */
    UNPLUG_FROM_RESPONSE,
    /* The MSI-X message of the hintq, after completions (done BH). */
    UNPLUG_FROM_NOTIFY,
    /* The config change a migration's first epoch notifies (epoch_begin). */
    UNPLUG_FROM_EPOCH_BEGIN,
} UnplugFrom;

/*
 * The response lands 8 bytes before the slot control register: nr_done
 * (offset 8) is written to slot control and status, nr_rejected (0) to
 * the root control, status and epoch to the read-only link status and
 * slot capabilities.  So many ranges done is the power-off value.
 */
#define UNPLUG_RANGES SLTCTL_POWER_OFF

/*
 * The device unplugs itself from inside its own code.  It must be gone,
 * QEMU alive and its heap intact: the module is instrumented in the ASan
 * build (`make check-asan`), where a use of what unrealize freed is
 * reported.  Before FphScope, the done BH went on with the freed worker
 * after a response that unplugged the device.
 */
static void unplug_from_inside(UnplugFrom how)
{
    QTestState *qts = qtest_init(Q35);
    g_autofree uint64_t *m = g_new(uint64_t, 2 * UNPLUG_RANGES);
    QVirtioFph d = {};
    QFphChain c;
    uint64_t sltctl = q35_setup_port(qts);
    unsigned i;
    gint64 end;

    alloc_init(&d.alloc, 0, ALLOC_START, ALLOC_END, PAGE);
    qvirtio_fph_bind(&d, qts, Q35_FPH);
    qvirtio_fph_setup_queue(&d, true);
    if (how != UNPLUG_FROM_RESPONSE) {
        qvirtio_fph_aim_msix(&d, how == UNPLUG_FROM_EPOCH_BEGIN, sltctl,
                             SLTCTL_POWER_OFF);
    }
    qtest_memset(qts, PATTERN, PATTERN_BYTE, PATTERN_LEN);
    fph_set_bandwidth(qts, SLOW_BANDWIDTH);
    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}");
    if (how != UNPLUG_FROM_EPOCH_BEGIN) {
        end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        while (qvirtio_fph_epoch(&d) == VIRTIO_FPH_EPOCH_NONE) {
            g_assert_cmpint(g_get_monotonic_time(), <, end);
            g_usleep(1000);
        }
        for (i = 0; i < UNPLUG_RANGES; i++) {
            m[2 * i] = HINT + i * 2 * PAGE;
            m[2 * i + 1] = PAGE;
        }
        qfph_chain_init(&c, qfph_req(CAND, qvirtio_fph_epoch(&d), m,
                                     UNPLUG_RANGES),
                        how == UNPLUG_FROM_RESPONSE ? 0 : 16);
        if (how == UNPLUG_FROM_RESPONSE) {
            qfph_chain_add_fixed(&c, sltctl - 8, 16, true);
        }
        qvirtio_fph_run_chains(&d, &c, 1, false);
    }
    end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (q35_device_present(qts)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10 * 1000);
    }
    fph_assert_alive(qts);
    qtest_qmp_assert_success(qts, "{'execute': 'migrate_cancel'}");
    qtest_quit(qts);
    if (how != UNPLUG_FROM_EPOCH_BEGIN) {
        qfph_chain_clear(&c);
    }
    alloc_destroy(&d.alloc);
}

static void test_unplug_from_response(void)
{
    unplug_from_inside(UNPLUG_FROM_RESPONSE);
}

static void test_unplug_from_notify(void)
{
    unplug_from_inside(UNPLUG_FROM_NOTIFY);
}

static void test_unplug_from_epoch_begin(void)
{
    unplug_from_inside(UNPLUG_FROM_EPOCH_BEGIN);
}

void fph_hostile_add_reentry_tests(void)
{
    qtest_add_func("fph/hostile/reentry/unplug-from-response",
                   test_unplug_from_response);
    qtest_add_func("fph/hostile/reentry/unplug-from-notify",
                   test_unplug_from_notify);
    qtest_add_func("fph/hostile/reentry/unplug-from-epoch-begin",
                   test_unplug_from_epoch_begin);
    fph_hostile_add("reentry/notify-resets-itself-on-stop",
                    test_notify_resets_itself_on_stop);
}
