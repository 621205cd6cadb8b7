/*
 * qtests for fph on a running VM: object-add / object_add hot-plug the
 * device, object-del / object_del ask for its unplug (the guest's ACPI
 * eject is emulated), both refused while a migration runs and with a
 * message naming the fix; the types are listed before anything created
 * one (qom-list-types, -device help).
 *
 * Runs the patched emulator named by QTEST_QEMU_BINARY with the module
 * directory in QEMU_MODULE_DIR.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qjson.h"
#include "qobject/qstring.h"

#define MACHINE_PC "-M pc -nodefaults -L /usr/share/seabios -L /usr/share/qemu "
#define MACHINE_Q35 "-M q35 -nodefaults -L /usr/share/seabios " \
    "-L /usr/share/qemu "
/* PIIX4 ACPI PCI hotplug: the eject register of bus 0 (hw/acpi/pcihp.c). */
#define ACPI_PCIHP_EJ 0xae08

static QDict *query_stats(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-fph-stats'}");
    QDict *ret = qdict_get_qdict(resp, "return");

    g_assert_nonnull(ret);
    qobject_ref(ret);
    qobject_unref(resp);
    return ret;
}

static void assert_enabled(QTestState *qts, bool enabled, bool device)
{
    g_autoptr(QDict) st = query_stats(qts);

    g_assert_cmpint(qdict_get_bool(st, "enabled"), ==, enabled);
    g_assert_cmpint(qdict_get_bool(st, "device-present"), ==, device);
}

static char *qom_get_str(QTestState *qts, const char *path, const char *prop)
{
    g_autoptr(QDict) resp = qtest_qmp(qts, "{'execute': 'qom-get', "
                                      "'arguments': {'path': %s, "
                                      "'property': %s}}", path, prop);

    return g_strdup(qdict_get_str(resp, "return"));
}

/* The error a QMP command failed with (asserting that it did). */
static char *qmp_error(QDict *resp)
{
    QDict *err = qdict_get_qdict(resp, "error");
    char *desc;

    g_assert_nonnull(err);
    desc = g_strdup(qdict_get_str(err, "desc"));
    g_test_message("error: %s", desc);
    qobject_unref(resp);
    return desc;
}

/* object-add of free-page-hint fph0, more arguments in @extra_json. */
static QDict *object_add_qmp(QTestState *qts, const char *extra_json)
{
    g_autofree char *cmd = g_strdup_printf(
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'free-page-hint', 'id': 'fph0'%s}}", extra_json);

    return qtest_qmp(qts, cmd);
}

static void object_add(QTestState *qts, const char *extra_json)
{
    g_autoptr(QDict) resp = object_add_qmp(qts, extra_json);

    g_assert_false(qdict_haskey(resp, "error"));
}

/* The same, expected to fail: its error. */
static char *object_add_error(QTestState *qts, const char *extra_json)
{
    return qmp_error(object_add_qmp(qts, extra_json));
}

/* Unplug as a PIIX guest does on the ACPI request: eject the slot. */
static void guest_eject(QTestState *qts, const char *addr)
{
    int slot = (int)strtol(addr, NULL, 16);

    qtest_outl(qts, ACPI_PCIHP_EJ, 1u << slot);
    /* The virtio device inside goes first (no id), then the proxy. */
    for (;;) {
        QDict *ev = qtest_qmp_eventwait_ref(qts, "DEVICE_DELETED");
        bool ours = !g_strcmp0(qdict_get_try_str(qdict_get_qdict(ev, "data"),
                                                 "device"), "fph0-dev");

        qobject_unref(ev);
        if (ours) {
            break;
        }
    }
}

static void test_qmp_add_del(void)
{
    QTestState *qts = qtest_init(MACHINE_PC);
    g_autofree char *bus = NULL, *addr = NULL, *addr2 = NULL;
    g_autofree char *blocked = NULL;
    g_autoptr(QDict) pci = NULL;
    g_autoptr(GString) pci_str = NULL;

    object_add(qts, ", 'max-ranges': 64");
    assert_enabled(qts, true, true);
    /* Where it went: what a migration's destination must be given. */
    bus = qom_get_str(qts, "/objects/fph0", "bus");
    addr = qom_get_str(qts, "/objects/fph0", "addr");
    g_assert_cmpstr(bus, ==, "pci.0");
    g_assert_cmpint(strlen(addr), ==, 4);
    pci = qtest_qmp(qts, "{'execute': 'query-pci'}");
    pci_str = qobject_to_json(QOBJECT(pci));
    g_assert_nonnull(strstr(pci_str->str, "\"device\": 4223"));
    g_assert_nonnull(strstr(pci_str->str, "\"qdev_id\": \"fph0-dev\""));

    /*
     * Deleted at once; the device goes when the guest ejects it, and until
     * then a migration would carry it: blocked.
     */
    qtest_qmp_assert_success(qts, "{'execute': 'object-del', "
                             "'arguments': {'id': 'fph0'}}");
    assert_enabled(qts, false, false);
    blocked = qmp_error(qtest_qmp(qts, "{'execute': 'migrate', 'arguments': "
                                  "{'uri': 'exec:cat >/dev/null'}}"));
    g_assert_nonnull(strstr(blocked, "device 'fph0-dev' is being unplugged"));

    /*
     * The way back while the guest does not eject it (it may never): the
     * object again takes the device back, and migration is allowed.
     */
    object_add(qts, "");
    assert_enabled(qts, true, true);
    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}");
    qtest_qmp_assert_success(qts, "{'execute': 'migrate_cancel'}");
    for (;;) {
        g_autoptr(QDict) mig = qtest_qmp(qts, "{'execute': 'query-migrate'}");

        if (!strcmp(qdict_get_str(qdict_get_qdict(mig, "return"), "status"),
                    "cancelled")) {
            break;
        }
        g_usleep(10 * 1000);
    }
    qtest_qmp_assert_success(qts, "{'execute': 'object-del', "
                             "'arguments': {'id': 'fph0'}}");
    guest_eject(qts, addr);

    /* And again, into the same slot. */
    object_add(qts, "");
    assert_enabled(qts, true, true);
    addr2 = qom_get_str(qts, "/objects/fph0", "addr");
    g_assert_cmpstr(addr2, ==, addr);
    qtest_quit(qts);
}

static void test_hmp_add_del(void)
{
    QTestState *qts = qtest_init(MACHINE_PC);
    g_autofree char *add = qtest_hmp(qts, "object_add free-page-hint,id=fph0");
    g_autofree char *twice = qtest_hmp(qts, "object_add free-page-hint,id=b");
    g_autofree char *del = NULL;

    g_assert_cmpstr(add, ==, "");
    g_assert_nonnull(strstr(twice, "only one instance is allowed"));
    assert_enabled(qts, true, true);
    del = qtest_hmp(qts, "object_del fph0");
    g_assert_cmpstr(del, ==, "");
    assert_enabled(qts, false, false);
    qtest_quit(qts);
}

static void test_q35_root_port(void)
{
    QTestState *qts = qtest_init(MACHINE_Q35 "-device pcie-root-port,"
                                 "id=rp0,bus=pcie.0,chassis=1,addr=05.0");
    g_autofree char *bus = NULL, *addr = NULL;

    object_add(qts, "");
    assert_enabled(qts, true, true);
    bus = qom_get_str(qts, "/objects/fph0", "bus");
    addr = qom_get_str(qts, "/objects/fph0", "addr");
    g_assert_cmpstr(bus, ==, "rp0");
    g_assert_cmpstr(addr, ==, "00.0");
    qtest_quit(qts);
}

static void test_q35_no_slot(void)
{
    QTestState *qts = qtest_init(MACHINE_Q35);
    g_autofree char *e1 = object_add_error(qts, "");
    g_autofree char *e2 = object_add_error(qts, ", 'bus': 'pcie.0'");

    g_assert_nonnull(strstr(e1, "no free hotpluggable PCI slot"));
    g_assert_nonnull(strstr(e1, "pcie-root-port"));
    g_assert_nonnull(strstr(e2, "cannot plug its device"));
    g_assert_nonnull(strstr(e2, "does not support hotplugging"));
    /* Nothing left behind by the failures. */
    assert_enabled(qts, false, false);
    qtest_quit(qts);
}

/* The default placement on q35, pcie.0, cannot be hot-unplugged. */
static void test_q35_del_cold_plugged(void)
{
    QTestState *qts = qtest_init(MACHINE_Q35 "-object free-page-hint,id=fph0");
    g_autofree char *e = qmp_error(qtest_qmp(qts,
        "{'execute': 'object-del', 'arguments': {'id': 'fph0'}}"));

    g_autofree char *bus = qom_get_str(qts, "/objects/fph0", "bus");
    g_autofree char *addr = qom_get_str(qts, "/objects/fph0", "addr");

    g_assert_nonnull(strstr(e, "cannot unplug device 'fph0-dev'"));
    g_assert_nonnull(strstr(e, "does not support hotplugging"));
    assert_enabled(qts, true, true);
    /* Where a cold-plugged device went is known too. */
    g_assert_cmpstr(bus, ==, "pcie.0");
    g_assert_cmpint(strlen(addr), ==, 4);
    qtest_quit(qts);
}

static void test_bad_property(void)
{
    QTestState *qts = qtest_init(MACHINE_PC);
    g_autofree char *e = object_add_error(qts, ", 'colour': 'blue'");
    g_autofree char *e_id = qmp_error(qtest_qmp(qts,
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'free-page-hint'}}"));

    g_assert_nonnull(strstr(e, "colour"));
    g_assert_nonnull(strstr(e_id, "Parameter 'id' is missing"));
    assert_enabled(qts, false, false);
    qtest_quit(qts);
}

/*
 * A slow migration to nowhere, running when this returns: at 64 KiB/s,
 * 512 MiB of RAM take at least 18 s even if every page is a zero page
 * (~9 bytes on the wire); the test cancels it within milliseconds.
 */
static void start_migration(QTestState *qts)
{
    g_autoptr(QDict) info = NULL;

    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'max-bandwidth': 65536}}");
    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}");
    info = qtest_qmp(qts, "{'execute': 'query-migrate'}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(info, "return"), "status"),
                    !=, "completed");
}

static void cancel_migration(QTestState *qts)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    qtest_qmp_assert_success(qts, "{'execute': 'migrate_cancel'}");
    for (;;) {
        g_autoptr(QDict) info = qtest_qmp(qts, "{'execute': 'query-migrate'}");
        const char *status = qdict_get_str(qdict_get_qdict(info, "return"),
                                           "status");

        if (!strcmp(status, "cancelled")) {
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
}

static void test_refused_during_migration(void)
{
    QTestState *qts = qtest_init(MACHINE_PC "-m 512");
    g_autofree char *e_add = NULL, *e_del = NULL, *e_hmp = NULL;

    start_migration(qts);
    e_add = object_add_error(qts, "");
    g_assert_nonnull(strstr(e_add, "while a migration runs"));
    cancel_migration(qts);

    object_add(qts, "");
    start_migration(qts);
    e_del = qmp_error(qtest_qmp(qts, "{'execute': 'object-del', "
                                "'arguments': {'id': 'fph0'}}"));
    g_assert_nonnull(strstr(e_del, "cannot delete 'fph0' while a migration "
                            "runs"));
    e_hmp = qtest_hmp(qts, "object_del fph0");
    g_assert_nonnull(strstr(e_hmp, "while a migration runs"));
    assert_enabled(qts, true, true);
    cancel_migration(qts);

    qtest_qmp_assert_success(qts, "{'execute': 'object-del', "
                             "'arguments': {'id': 'fph0'}}");
    assert_enabled(qts, false, false);
    qtest_quit(qts);
}

/*
 * Before the machine is built (-preconfig) the device is only queued:
 * object-del takes it back, and leaving preconfig then creates nothing
 * (rather than dying on a device without its object).
 */
static void test_preconfig_add_del(void)
{
    QTestState *qts = qtest_init(MACHINE_PC "-preconfig");
    g_autoptr(QDict) pci = NULL;
    g_autoptr(GString) pci_str = NULL;

    object_add(qts, "");
    qtest_qmp_assert_success(qts, "{'execute': 'object-del', "
                             "'arguments': {'id': 'fph0'}}");
    qtest_qmp_assert_success(qts, "{'execute': 'x-exit-preconfig'}");
    pci = qtest_qmp(qts, "{'execute': 'query-pci'}");
    pci_str = qobject_to_json(QOBJECT(pci));
    g_assert_null(strstr(pci_str->str, "\"device\": 4223"));
    assert_enabled(qts, false, false);
    qtest_quit(qts);
}

/* A -device the user gave is the user's to remove. */
static void test_del_explicit_device(void)
{
    QTestState *qts = qtest_init(MACHINE_PC "-object free-page-hint,id=fph0,"
                                 "plug=off -device virtio-fph-pci,id=mine");
    g_autofree char *e = qmp_error(qtest_qmp(qts,
        "{'execute': 'object-del', 'arguments': {'id': 'fph0'}}"));

    g_assert_nonnull(strstr(e, "device_del that first"));
    assert_enabled(qts, true, true);
    qtest_quit(qts);
}

static bool type_listed(QList *types, const char *name)
{
    const QListEntry *e;

    QLIST_FOREACH_ENTRY(types, e) {
        QDict *t = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(t, "name"), name)) {
            return true;
        }
    }
    return false;
}

/* stdout of the emulator run with @args, which must succeed. */
static char *qemu_stdout(const char *args)
{
    g_autofree char *cmd = g_strdup_printf("%s %s",
                                           g_getenv("QTEST_QEMU_BINARY"),
                                           args);
    g_autoptr(GError) err = NULL;
    char *out = NULL;
    int status;

    g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &status, &err));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return out;
}

static void test_types_listed(void)
{
    QTestState *qts = qtest_init(MACHINE_PC);
    g_autoptr(QDict) resp = qtest_qmp(qts, "{'execute': 'qom-list-types'}");
    QList *types = qdict_get_qlist(resp, "return");
    g_autofree char *devices = NULL, *objects = NULL;

    g_assert_true(type_listed(types, "free-page-hint"));
    g_assert_true(type_listed(types, "virtio-fph-pci"));
    g_assert_true(type_listed(types, "virtio-fph-device"));
    qtest_quit(qts);

    devices = qemu_stdout("-M none -device help");
    g_assert_nonnull(strstr(devices, "name \"virtio-fph-pci\""));
    objects = qemu_stdout("-M none -object help");
    g_assert_nonnull(strstr(objects, "  free-page-hint\n"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/fph/hotplug/qmp-add-del", test_qmp_add_del);
    qtest_add_func("/fph/hotplug/hmp-add-del", test_hmp_add_del);
    qtest_add_func("/fph/hotplug/q35-root-port", test_q35_root_port);
    qtest_add_func("/fph/hotplug/q35-no-slot", test_q35_no_slot);
    qtest_add_func("/fph/hotplug/q35-del-cold-plugged",
                   test_q35_del_cold_plugged);
    qtest_add_func("/fph/hotplug/bad-property", test_bad_property);
    qtest_add_func("/fph/hotplug/refused-during-migration",
                   test_refused_during_migration);
    qtest_add_func("/fph/hotplug/preconfig-add-del", test_preconfig_add_del);
    qtest_add_func("/fph/hotplug/del-explicit-device",
                   test_del_explicit_device);
    qtest_add_func("/fph/hotplug/types-listed", test_types_listed);
    return g_test_run();
}
