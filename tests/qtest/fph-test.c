/*
 * qtests for the fph module: object creation and its errors, the
 * query-fph-stats schema, the module-absent error, and the device
 * answering a driver (driven through libqos, no guest CPU).
 *
 * Runs the patched emulator named by QTEST_QEMU_BINARY with the module
 * directory in QEMU_MODULE_DIR.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest-single.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qjson.h"
#include "qemu/bswap.h"
#include <glib/gstdio.h>
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "standard-headers/linux/virtio_config.h"
#include "fph/virtio_fph.h"
#include "fph_names.h"

#define FPH_DEVFN QPCI_DEVFN(4, 0)
#define TIMEOUT_US (30 * 1000 * 1000)
#define MACHINE "-M pc -nodefaults -L /usr/share/seabios -L /usr/share/qemu "

/* Run the emulator expecting it to fail; returns its stderr. */
static char *qemu_expect_failure(const char *args, const char *module_dir)
{
    const char *binary = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = g_strdup_printf("%s " MACHINE "-display none "
                                           "-accel qtest %s",
                                           binary, args);
    g_auto(GStrv) argv = NULL;
    g_auto(GStrv) envp = g_get_environ();
    g_autoptr(GError) err = NULL;
    char *out = NULL, *errout = NULL;
    int status;

    if (module_dir) {
        envp = g_environ_setenv(envp, "QEMU_MODULE_DIR", module_dir, true);
    }
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &err));
    g_assert_true(g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &errout, &status, &err));
    g_free(out);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    return errout;
}

/* The error is one line (plus newline) and contains @needle. */
static void assert_one_line_error(const char *errout, const char *needle)
{
    g_test_message("stderr: %s", errout);
    g_assert_nonnull(strstr(errout, needle));
    g_assert_cmpint(strchr(errout, '\n') - errout + 1, ==, strlen(errout));
}

static QDict *query_stats(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-fph-stats'}");

    g_assert_false(qdict_haskey(resp, "error"));
    return resp;
}

static void test_object_creates_device(void)
{
    QTestState *qts = qtest_init(MACHINE "-object free-page-hint,id=fph0");
    g_autoptr(QDict) resp = query_stats(qts);
    QDict *ret = qdict_get_qdict(resp, "return");
    g_autoptr(QDict) pci = NULL;
    g_autoptr(GString) pci_str = NULL;

    g_assert_true(qdict_get_bool(ret, "enabled"));
    g_assert_true(qdict_get_bool(ret, "device-present"));
    g_assert_false(qdict_get_bool(ret, "driver-ok"));
    g_assert_cmpint(qdict_get_int(ret, "epoch"), ==, 0);

    /* Plugged as a modern virtio-pci device with ID 0x1040 + 63. */
    pci = qtest_qmp(qts, "{'execute': 'query-pci'}");
    pci_str = qobject_to_json(QOBJECT(pci));
    g_assert_nonnull(strstr(pci_str->str, "\"device\": 4223"));
    qtest_quit(qts);
}

static void test_stats_schema(void)
{
    static const char *const u64_keys[] = {
        "epochs-seen", "requests", "candidate-batches", "confirm-batches",
        "ranges-received", "pages-armed", "pages-skipped", "bytes-skipped",
    };
#define REJECT_KEY(up, low, key) key,
    static const char *const reject_keys[] = {
        FPH_REJECT_REASONS(REJECT_KEY)
    };
#undef REJECT_KEY
    QTestState *qts = qtest_init(MACHINE "-object free-page-hint,id=fph0");
    g_autoptr(QDict) resp = query_stats(qts);
    g_autoptr(QDict) cmds = NULL;
    g_autoptr(GString) cmds_str = NULL;
    QDict *ret = qdict_get_qdict(resp, "return");
    QDict *rejected = qdict_get_qdict(ret, "rejected");
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(u64_keys); i++) {
        g_assert_true(qdict_haskey(ret, u64_keys[i]));
        g_assert_cmpint(qdict_get_int(ret, u64_keys[i]), ==, 0);
    }
    g_assert_nonnull(rejected);
    for (i = 0; i < G_N_ELEMENTS(reject_keys); i++) {
        g_assert_cmpint(qdict_get_int(rejected, reject_keys[i]), ==, 0);
    }
    g_assert_cmpint(qdict_size(ret), ==, 17);
    /* No device: no reclaim asked. */
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ret, "reclaim"),
                                  "last-outcome"), ==, FPH_RECLAIM_KEY_NONE);
    g_assert_cmpint(qdict_get_int(ret, "hintable-bytes"), >, 0);
    g_assert_cmpint(qdict_get_int(ret, "hintable-bytes"), <=,
                    qdict_get_int(ret, "ram-bytes"));
    g_assert_nonnull(qdict_get_qlist(ret, "unhintable"));

    cmds = qtest_qmp(qts, "{'execute': 'query-commands'}");
    cmds_str = qobject_to_json(QOBJECT(cmds));
    g_assert_nonnull(strstr(cmds_str->str, "\"query-fph-stats\""));
    qtest_quit(qts);
}

/* HMP users read the same statistics through the object's property. */
static void test_stats_qom_property(void)
{
    QTestState *qts = qtest_init(MACHINE "-object free-page-hint,id=fph0");
    g_autoptr(QDict) resp = qtest_qmp(qts, "{'execute': 'qom-get', "
                                      "'arguments': {'path': '/objects/fph0',"
                                      " 'property': 'stats'}}");
    QDict *ret = qdict_get_qdict(resp, "return");
    g_autofree char *hmp = qtest_hmp(qts, "qom-get /objects/fph0 stats");

    g_assert_nonnull(ret);
    g_assert_true(qdict_get_bool(ret, "enabled"));
    g_assert_true(qdict_get_bool(ret, "device-present"));
    g_assert_nonnull(strstr(hmp, "\"pages-skipped\": 0"));
    qtest_quit(qts);
}

/*
 * An explicit device is found by the object; its "device" property names
 * it and is read-only (before, qom-set could point the object at another
 * device or at none).
 */
static void test_explicit_device(void)
{
    QTestState *qts = qtest_init(MACHINE
                                 "-object free-page-hint,id=f,plug=off,"
                                 "max-ranges=64 "
                                 "-device virtio-fph-pci,id=mine,addr=06.0");
    g_autoptr(QDict) resp = query_stats(qts);
    g_autoptr(QDict) link = NULL;
    g_autoptr(QDict) set = NULL;

    g_assert_true(qdict_get_bool(qdict_get_qdict(resp, "return"),
                                 "device-present"));
    link = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                     "{'path': '/objects/f', 'property': 'device'}}");
    g_assert_cmpstr(qdict_get_str(link, "return"), ==,
                    "/machine/peripheral/mine/virtio-backend");
    set = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments': "
                    "{'path': '/objects/f', 'property': 'device', "
                    "'value': ''}}");
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(set, "error"),
                                          "desc"), "not writable"));
    qtest_quit(qts);
}

static void test_bad_property_value(void)
{
    g_autofree char *e1 = qemu_expect_failure(
        "-object free-page-hint,id=f,max-ranges=0", NULL);
    g_autofree char *e2 = qemu_expect_failure(
        "-object free-page-hint,id=f,max-ranges=lots", NULL);
    g_autofree char *e3 = qemu_expect_failure(
        "-object free-page-hint,id=f,colour=blue", NULL);

    assert_one_line_error(e1, "max-ranges must be between 1 and 65536");
    assert_one_line_error(e2, "max-ranges");
    assert_one_line_error(e3, "colour");
}

static void test_second_instance(void)
{
    g_autofree char *e = qemu_expect_failure(
        "-object free-page-hint,id=a -object free-page-hint,id=b", NULL);

    assert_one_line_error(e, "only one instance is allowed, 'a' exists");
}

static void test_device_without_object(void)
{
    g_autofree char *e = qemu_expect_failure("-device virtio-fph-pci", NULL);

    assert_one_line_error(e, "needs -object free-page-hint");
}

static void test_two_devices(void)
{
    g_autofree char *e = qemu_expect_failure(
        "-object free-page-hint,id=f -device virtio-fph-pci "
        "-device virtio-fph-pci", NULL);

    assert_one_line_error(e, "plug=off");
}

static void test_machine_without_pci(void)
{
    g_autofree char *e = qemu_expect_failure(
        "-M isapc -object free-page-hint,id=f", NULL);

    assert_one_line_error(e, "has no PCI bus; use -machine q35");
}

static void test_module_absent(void)
{
    g_autofree char *empty = g_dir_make_tmp("fph-no-module-XXXXXX", NULL);
    g_autofree char *e = qemu_expect_failure(
        "-object free-page-hint,id=f", empty);

    assert_one_line_error(e, "no module 'qom-free-page-hint' is installed "
                          "in the QEMU module directory");
    g_rmdir(empty);
}

/* A minimal driver: the device, its one queue, DRIVER_OK. */
typedef struct FphDriver {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QVirtioPCIDevice *dev;
    QVirtQueue *vq;
} FphDriver;

static void driver_start(FphDriver *d)
{
    QPCIAddress addr = { .devfn = FPH_DEVFN };
    uint64_t features;

    d->qts = qtest_init(MACHINE "-object free-page-hint,id=f,plug=off "
                        "-device virtio-fph-pci,addr=04.0");
    pc_alloc_init(&d->alloc, d->qts, 0);
    d->bus = qpci_new_pc(d->qts, NULL);
    d->dev = virtio_pci_new(d->bus, &addr);
    g_assert_nonnull(d->dev);
    g_assert_cmphex(d->dev->pdev->bus->config_readw(d->dev->pdev->bus,
                                                    FPH_DEVFN, 2),
                    ==, VIRTIO_FPH_PCI_DEVICE_ID);
    qvirtio_pci_device_enable(d->dev);
    qvirtio_start_device(&d->dev->vdev);
    features = qvirtio_get_features(&d->dev->vdev);
    g_assert_true(features & (1ull << VIRTIO_F_VERSION_1));
    qvirtio_set_features(&d->dev->vdev, 1ull << VIRTIO_F_VERSION_1);
    d->vq = qvirtqueue_setup(&d->dev->vdev, &d->alloc, 0);
    qvirtio_set_driver_ok(&d->dev->vdev);
}

static void driver_stop(FphDriver *d)
{
    qvirtqueue_cleanup(d->dev->vdev.bus, d->vq, &d->alloc);
    qos_object_destroy(&d->dev->obj);
    qpci_free_pc(d->bus);
    alloc_destroy(&d->alloc);
    qtest_quit(d->qts);
}

/* Send @len request bytes; returns the device's response. */
static struct virtio_fph_resp driver_request(FphDriver *d, const void *req,
                                             size_t len)
{
    struct virtio_fph_resp resp;
    uint64_t req_gpa = guest_alloc(&d->alloc, len);
    uint64_t resp_gpa = guest_alloc(&d->alloc, sizeof(resp));
    uint32_t head;

    qtest_memwrite(d->qts, req_gpa, req, len);
    qtest_memset(d->qts, resp_gpa, 0xff, sizeof(resp));
    head = qvirtqueue_add(d->qts, d->vq, req_gpa, len, false, true);
    qvirtqueue_add(d->qts, d->vq, resp_gpa, sizeof(resp), true, false);
    qvirtqueue_kick(d->qts, &d->dev->vdev, d->vq, head);
    qvirtio_wait_used_elem(d->qts, &d->dev->vdev, d->vq, head, NULL,
                           TIMEOUT_US);
    qtest_memread(d->qts, resp_gpa, &resp, sizeof(resp));
    guest_free(&d->alloc, req_gpa);
    guest_free(&d->alloc, resp_gpa);
    return resp;
}

static void test_driver_outside_migration(void)
{
    FphDriver d;
    struct {
        struct virtio_fph_req hdr;
        struct virtio_fph_range range;
    } QEMU_PACKED req = {
        .hdr = { .type = cpu_to_le16(VIRTIO_FPH_REQ_CANDIDATES),
                 .epoch = cpu_to_le32(1), .nr_ranges = cpu_to_le32(1) },
        .range = { .addr = cpu_to_le64(0x100000),
                   .len = cpu_to_le64(0x1000) },
    };
    struct virtio_fph_resp resp;
    g_autoptr(QDict) stats = NULL;
    QDict *ret;

    driver_start(&d);
    /* No migration: no epoch open; the config says so. */
    g_assert_cmpint(qvirtio_config_readl(&d.dev->vdev, 0), ==,
                    VIRTIO_FPH_EPOCH_NONE);
    g_assert_cmpint(qvirtio_config_readl(&d.dev->vdev, 4), ==, 4096);

    resp = driver_request(&d, &req, sizeof(req));
    g_assert_cmpint(le16_to_cpu(resp.status), ==, VIRTIO_FPH_S_STALE);
    g_assert_cmpint(le32_to_cpu(resp.nr_done), ==, 0);

    /* Truncated: header claims one range, carries none. */
    resp = driver_request(&d, &req, sizeof(req.hdr));
    g_assert_cmpint(le16_to_cpu(resp.status), ==, VIRTIO_FPH_S_INVALID);

    stats = query_stats(d.qts);
    ret = qdict_get_qdict(stats, "return");
    g_assert_true(qdict_get_bool(ret, "driver-ok"));
    g_assert_cmpint(qdict_get_int(ret, "requests"), ==, 2);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(ret, "rejected"),
                                  FPH_REJECT_KEY_STALE_EPOCH), ==, 1);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(ret, "rejected"),
                                  FPH_REJECT_KEY_MALFORMED), ==, 1);
    driver_stop(&d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/fph/object/creates-device", test_object_creates_device);
    qtest_add_func("/fph/object/explicit-device", test_explicit_device);
    qtest_add_func("/fph/qmp/stats-schema", test_stats_schema);
    qtest_add_func("/fph/qmp/stats-qom-property", test_stats_qom_property);
    qtest_add_func("/fph/errors/bad-property", test_bad_property_value);
    qtest_add_func("/fph/errors/second-instance", test_second_instance);
    qtest_add_func("/fph/errors/device-without-object",
                   test_device_without_object);
    qtest_add_func("/fph/errors/two-devices", test_two_devices);
    qtest_add_func("/fph/errors/machine-without-pci",
                   test_machine_without_pci);
    qtest_add_func("/fph/errors/module-absent", test_module_absent);
    qtest_add_func("/fph/device/outside-migration",
                   test_driver_outside_migration);
    return g_test_run();
}
