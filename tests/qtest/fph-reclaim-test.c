/*
 * qtests for page-cache reclaim requests (VIRTIO_FPH_F_RECLAIM): with
 * reclaim=SIZE a migration asks the driver (libqos here) for a reclaim in
 * its first epoch and waits in "wait-unplug" until the driver's report or
 * reclaim-timeout; a report that does not match the request is counted
 * and changes nothing; without the property, or with a driver that did not
 * negotiate the feature, nothing waits.
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
#include "libqos/virtio-fph.h"

#define MiB (1ULL << 20)
#define FPH_DEVFN QPCI_DEVFN(4, 0)
#define MACHINE "-M pc -nodefaults -m 256M -L /usr/share/seabios " \
                "-L /usr/share/qemu -device virtio-fph-pci,addr=04.0 " \
                "-object free-page-hint,id=f,plug=off"
#define CFG(field) offsetof(struct virtio_fph_config, field)
#define F_RECLAIM (1ull << VIRTIO_FPH_F_RECLAIM)

typedef struct Fixture {
    QTestState *qts;
    QVirtioFph d;
} Fixture;

static void setup(Fixture *f, const char *object_opts, uint64_t features)
{
    f->qts = qtest_initf(MACHINE "%s", object_opts);
    alloc_init(&f->d.alloc, 0, 1 * MiB, 16 * MiB, VIRTIO_FPH_PAGE_SIZE);
    qvirtio_fph_bind(&f->d, f->qts, FPH_DEVFN);
    qvirtio_fph_setup_queue_features(&f->d, true, features);
    /* Non-zero RAM, so that the migration at 1 MB/s lasts. */
    qtest_memset(f->qts, 16 * MiB, 0x5a, 64 * MiB);
}

static void teardown(Fixture *f)
{
    qtest_qmp_assert_success(f->qts, "{'execute': 'migrate_cancel'}");
    qvirtio_fph_unbind(&f->d);
    alloc_destroy(&f->d.alloc);
    qtest_quit(f->qts);
}

static char *migrate_status(QTestState *qts)
{
    g_autoptr(QDict) resp = qtest_qmp(qts, "{'execute': 'query-migrate'}");

    return g_strdup(qdict_get_str(qdict_get_qdict(resp, "return"), "status"));
}

static void start_migration(QTestState *qts)
{
    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'max-bandwidth': 1048576}}");
    qtest_qmp_assert_success(qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}");
}

/* Wait up to @timeout_ms for status @want; returns the ms it took. */
static int64_t wait_status(QTestState *qts, const char *want, int timeout_ms)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        g_autofree char *s = migrate_status(qts);

        if (!strcmp(s, want)) {
            return (g_get_monotonic_time() - start) / 1000;
        }
        g_assert_cmpint(g_get_monotonic_time() - start, <,
                        (gint64)timeout_ms * 1000);
        g_usleep(10 * 1000);
    }
}

static QDict *reclaim_stats(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-fph-stats'}");
    QDict *r = qdict_get_qdict(qdict_get_qdict(resp, "return"), "reclaim");

    g_assert_nonnull(r);
    qobject_ref(r);
    qobject_unref(resp);
    return r;
}

/* The driver's report, done_seq last as the protocol asks. */
static void report(Fixture *f, uint32_t seq, uint32_t status, uint32_t mib)
{
    qvirtio_fph_config_writel(&f->d, CFG(reclaim_status), status);
    qvirtio_fph_config_writel(&f->d, CFG(reclaimed_bytes), mib * MiB);
    qvirtio_fph_config_writel(&f->d, CFG(reclaimed_bytes) + 4, 0);
    qvirtio_fph_config_writel(&f->d, CFG(reclaim_us), 1234);
    qvirtio_fph_config_writel(&f->d, CFG(reclaim_done_seq), seq);
}

/* The migration does not wait, nothing is asked, and stats say why. */
static void check_no_wait(const char *object_opts, uint64_t features,
                          const char *outcome)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;

    setup(&f, object_opts, features);
    start_migration(f.qts);
    wait_status(f.qts, "active", 5000);
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq)), ==, 0);
    r = reclaim_stats(f.qts);
    g_assert_cmpint(qdict_get_int(r, "requests"), ==, 0);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==, outcome);
    teardown(&f);
}

/* Without reclaim=. */
static void test_off(void)
{
    check_no_wait("", F_RECLAIM, FPH_RECLAIM_KEY_NONE);
}

/* The request is in config; a bad report is counted; the good one ends it. */
static void test_report_ends_wait(void)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;
    uint32_t seq;

    setup(&f, ",reclaim=64M,reclaim-timeout=60000", F_RECLAIM);
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    seq = qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq));
    g_assert_cmpuint(seq, !=, 0);
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_bytes)), ==,
                     64 * MiB);
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_timeout_ms)),
                     ==, 60000);
    g_assert_cmpuint(qvirtio_fph_epoch(&f.d), !=, VIRTIO_FPH_EPOCH_NONE);

    /* A report is read when done_seq changes. */
    report(&f, seq + 1, VIRTIO_FPH_RECLAIM_S_OK, 32);       /* not this one */
    report(&f, seq + 2, VIRTIO_FPH_RECLAIM_S_MAX + 1, 32); /* no such status */
    g_usleep(600 * 1000);
    g_autofree char *still = migrate_status(f.qts);
    g_assert_cmpstr(still, ==, "wait-unplug");
    r = reclaim_stats(f.qts);
    g_assert_cmpuint(qdict_get_int(r, "bad-reports"), ==, 2);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_PENDING);
    qobject_unref(r);

    report(&f, seq, VIRTIO_FPH_RECLAIM_S_OK, 32);
    /* QEMU polls the wait every 250 ms. */
    wait_status(f.qts, "active", 2000);
    r = reclaim_stats(f.qts);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_OK);
    g_assert_cmpuint(qdict_get_int(r, "requests"), ==, 1);
    g_assert_cmpuint(qdict_get_int(r, "last-bytes"), ==, 32 * MiB);
    g_assert_cmpuint(qdict_get_int(r, "last-asked"), ==, 64 * MiB);
    g_assert_cmpuint(qdict_get_int(r, "last-guest-us"), ==, 1234);
    g_assert_cmpuint(qdict_get_int(r, "last-wait-ms"), <, 60000);
    /* The driver reads its report back. */
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_done_seq)),
                     ==, seq);
    teardown(&f);
}

/* No report: the migration goes on after reclaim-timeout. */
static void test_timeout(void)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;
    int64_t ms;
    uint32_t seq;

    setup(&f, ",reclaim=1G,reclaim-timeout=700", F_RECLAIM);
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    seq = qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq));
    ms = wait_status(f.qts, "active", 5000);
    g_assert_cmpint(ms, >=, 300);
    r = reclaim_stats(f.qts);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_TIMEOUT);
    g_assert_cmpuint(qdict_get_int(r, "timeouts"), ==, 1);
    g_assert_cmpuint(qdict_get_int(r, "last-wait-ms"), >=, 700);
    qobject_unref(r);

    /* A report after the wait is counted, and the outcome stays. */
    report(&f, seq, VIRTIO_FPH_RECLAIM_S_OK, 8);
    r = reclaim_stats(f.qts);
    g_assert_cmpuint(qdict_get_int(r, "late-reports"), ==, 1);
    g_assert_cmpuint(qdict_get_int(r, "last-bytes"), ==, 8 * MiB);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_TIMEOUT);
    teardown(&f);
}

/* A driver without the feature is not asked. */
static void test_no_driver_feature(void)
{
    check_no_wait(",reclaim=64M", 0, FPH_RECLAIM_KEY_NO_DRIVER);
}

/* The guest's status names the outcome: here, no helper installed. */
static void test_no_helper(void)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;

    setup(&f, ",reclaim=64M", F_RECLAIM);
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    report(&f, qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq)),
           VIRTIO_FPH_RECLAIM_S_NO_HELPER, 0);
    wait_status(f.qts, "active", 2000);
    r = reclaim_stats(f.qts);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_NO_HELPER);
    teardown(&f);
}

/*
 * Run a snapshot job (@cmd: snapshot-save or snapshot-load) to its end;
 * returns its error, if any.
 */
static char *snapshot_job(QTestState *qts, const char *cmd)
{
    gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    char *error = NULL;

    qtest_qmp_assert_success(qts, "{'execute': %s, 'arguments': "
                             "{'job-id': 'snap', 'tag': 't', 'vmstate': 'd0', "
                             "'devices': ['d0']}}", cmd);
    for (;;) {
        g_autoptr(QDict) resp = qtest_qmp(qts, "{'execute': 'query-jobs'}");
        QList *jobs = qdict_get_qlist(resp, "return");
        QDict *job = qobject_to(QDict, qlist_peek(jobs));

        g_assert_nonnull(job);
        if (!strcmp(qdict_get_str(job, "status"), "concluded")) {
            error = g_strdup(qdict_get_try_str(job, "error"));
            break;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
    qtest_qmp_assert_success(qts, "{'execute': 'job-dismiss', "
                             "'arguments': {'id': 'snap'}}");
    return error;
}

static void run_snapshot_job(QTestState *qts, const char *cmd)
{
    g_autofree char *error = snapshot_job(qts, cmd);

    if (error) {
        g_error("%s: %s", cmd, error);
    }
}

/*
 * Snapshots and the request numbering: a snapshot carries the number of
 * the last request, and loading it goes on from there.  Were a request
 * still pending at a load, it would end CANCELLED
 * (fph_reclaim_state_loaded(): the core asserts that nothing is pending
 * when the number is set); QEMU 10.0 refuses snapshot-load while a
 * migration runs (the migration's yank instance), after resetting the
 * devices, and then aborts at exit (bdrv_close_all), so that is not
 * tried here.
 */
static void test_snapshot_numbering(void)
{
    g_autofree char *dir = g_dir_make_tmp("fph-reclaim-XXXXXX", NULL);
    g_autofree char *img = g_build_filename(dir, "snap.qcow2", NULL);
    g_autofree char *mkimg = g_strdup_printf("qemu-img create -q -f qcow2 "
                                             "%s 16M", img);
    g_autofree char *opts = g_strdup_printf(
        ",reclaim=64M,reclaim-timeout=60000 "
        "-blockdev driver=qcow2,node-name=d0,file.driver=file,"
        "file.filename=%s", img);
    int status;
    Fixture f;
    uint32_t seq;

    g_assert_true(g_spawn_command_line_sync(mkimg, NULL, NULL, &status,
                                            NULL));
    g_assert_cmpint(status, ==, 0);
    setup(&f, opts, F_RECLAIM);

    /* Asked and answered, then cancelled: the snapshot has seq. */
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    seq = qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq));
    report(&f, seq, VIRTIO_FPH_RECLAIM_S_OK, 8);
    wait_status(f.qts, "active", 2000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'migrate_cancel'}");
    wait_status(f.qts, "cancelled", 5000);
    run_snapshot_job(f.qts, "snapshot-save");

    /* Asked again and answered. */
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq)), ==,
                     seq + 1);
    report(&f, seq + 1, VIRTIO_FPH_RECLAIM_S_OK, 8);
    wait_status(f.qts, "active", 2000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'migrate_cancel'}");
    wait_status(f.qts, "cancelled", 5000);

    /* Loaded: the number is the snapshot's again. */
    run_snapshot_job(f.qts, "snapshot-load");
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq)), ==,
                     seq);
    teardown(&f);
    unlink(img);
    rmdir(dir);
}

/*
 * A system reset while the migration waits: the driver asked is gone, so
 * the request ends CANCELLED and the migration goes on at once (before:
 * after reclaim-timeout).
 */
static void test_reset_ends_wait(void)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;

    setup(&f, ",reclaim=64M,reclaim-timeout=60000", F_RECLAIM);
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'system_reset'}");
    /* QEMU polls the wait every 250 ms. */
    wait_status(f.qts, "active", 2000);
    r = reclaim_stats(f.qts);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_CANCELLED);
    teardown(&f);
}

/*
 * migrate_cancel during the wait: cancelled at once (before: "cancelling"
 * for up to 30 s, QEMU's wait for failover unplugs, and a warning of a
 * "partially unplugged device" outside qtest).
 */
static void test_cancel_ends_wait(void)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;
    int64_t ms;

    setup(&f, ",reclaim=64M,reclaim-timeout=60000", F_RECLAIM);
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'migrate_cancel'}");
    ms = wait_status(f.qts, "cancelled", 5000);
    g_test_message("cancelled %" PRId64 " ms after migrate_cancel", ms);
    g_assert_cmpint(ms, <, 1000);
    r = reclaim_stats(f.qts);
    g_assert_cmpstr(qdict_get_str(r, "last-outcome"), ==,
                    FPH_RECLAIM_KEY_CANCELLED);
    teardown(&f);
}

/*
 * A migration that completed, the VM resumed on the source, migrated
 * again: asked again.  Before, the end of the first migration never
 * reached the device (no epoch was open at its cleanup, the final sync
 * had closed it), which took every later migration for the same one.
 */
static void test_asked_again_after_completion(void)
{
    Fixture f;
    g_autoptr(QDict) r = NULL;
    uint32_t seq;

    setup(&f, ",reclaim=64M,reclaim-timeout=60000", F_RECLAIM);
    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    seq = qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq));
    report(&f, seq, VIRTIO_FPH_RECLAIM_S_OK, 8);
    qtest_qmp_assert_success(f.qts, "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'max-bandwidth': 10737418240}}");
    wait_status(f.qts, "completed", 30000);
    qtest_qmp_assert_success(f.qts, "{'execute': 'cont'}");

    start_migration(f.qts);
    wait_status(f.qts, "wait-unplug", 5000);
    g_assert_cmpuint(qvirtio_fph_config_readl(&f.d, CFG(reclaim_seq)), ==,
                     seq + 1);
    r = reclaim_stats(f.qts);
    g_assert_cmpint(qdict_get_int(r, "requests"), ==, 2);
    teardown(&f);
}

/* reclaim-timeout's range; reclaim can be changed on a running VM. */
static void test_properties(void)
{
    QTestState *qts;
    g_autoptr(QDict) resp = NULL;
    const char *desc;

    qts = qtest_init(MACHINE);
    resp = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments': "
                     "{'path': '/objects/f', 'property': 'reclaim-timeout', "
                     "'value': 0}}");
    desc = qdict_get_str(qdict_get_qdict(resp, "error"), "desc");
    g_assert_nonnull(strstr(desc, "reclaim-timeout must be between 1 and "
                            "60000 ms, got 0"));
    qobject_unref(resp);
    qtest_qmp_assert_success(qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/objects/f', 'property': 'reclaim', "
                             "'value': 1073741824}}");
    resp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                     "{'path': '/objects/f', 'property': 'reclaim'}}");
    g_assert_cmpuint(qdict_get_int(resp, "return"), ==, 1073741824);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/fph/reclaim/off", test_off);
    qtest_add_func("/fph/reclaim/report-ends-wait", test_report_ends_wait);
    qtest_add_func("/fph/reclaim/timeout", test_timeout);
    qtest_add_func("/fph/reclaim/no-driver-feature", test_no_driver_feature);
    qtest_add_func("/fph/reclaim/no-helper", test_no_helper);
    qtest_add_func("/fph/reclaim/properties", test_properties);
    qtest_add_func("/fph/reclaim/reset-ends-wait", test_reset_ends_wait);
    qtest_add_func("/fph/reclaim/cancel-ends-wait", test_cancel_ends_wait);
    qtest_add_func("/fph/reclaim/asked-again-after-completion",
                   test_asked_again_after_completion);
    qtest_add_func("/fph/reclaim/snapshot-numbering",
                   test_snapshot_numbering);
    return g_test_run();
}
