/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixture of the hostile-driver qtests and what the cases share:
 * see framework.h.
 */

#include "qemu/osdep.h"
#include <glib/gstdio.h>
#include <signal.h>
#include "framework.h"
#include "fph-qtest-compat.h"

/*
 * A VGA device, so that 0xa0000 is its MMIO window (without one it is
 * plain pc.ram) and there is another RAM block (its VRAM) to hint at.
 */
#define MACHINE "-M pc -nodefaults -m 256M -L /usr/share/seabios " \
                "-L /usr/share/qemu -device VGA,addr=02.0 " \
                "-object free-page-hint,id=f,plug=off " \
                "-device virtio-fph-pci,addr=04.0 "

static void fill_pattern(uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i += 8) {
        uint64_t v = (PATTERN + i) * 0x9e3779b97f4a7c15ULL + 1;

        stq_le_p(p + i, v);
    }
}

void fph_hostile_setup(FphHostile *h, const void *data)
{
    const FphHostileArgs *args = data;
    g_autofree char *uri = NULL;
    g_autofree char *machine = NULL;
    gint64 start = g_get_monotonic_time(), opened, end;
    uint32_t cfg_epoch;

    h->tmpdir = g_dir_make_tmp("fph-hostile-XXXXXX", NULL);
    g_assert_nonnull(h->tmpdir);
    uri = g_strdup_printf("unix:%s/migsock", h->tmpdir);

    machine = g_strdup_printf(MACHINE "%s", args && args->machine_args ?
                              args->machine_args : "");
    if (args && args->src_binary_env) {
        h->src = fph_qtest_init_with_env(args->src_binary_env, machine);
    } else {
        h->src = qtest_init(machine);
    }
    h->dst = qtest_initf("%s -incoming defer", machine);

    alloc_init(&h->d.alloc, 0, ALLOC_START, ALLOC_END, PAGE);
    qvirtio_fph_bind(&h->d, h->src, FPH_DEVFN);
    qvirtio_fph_setup_queue(&h->d, true);
    g_assert_cmpint(qvirtio_fph_epoch(&h->d), ==, VIRTIO_FPH_EPOCH_NONE);
    h->max_ranges = qvirtio_fph_max_ranges(&h->d);
    /* MAXR holds max-ranges pages, 2 pages apart. */
    g_assert_cmpuint(h->max_ranges, >=, 64);
    if (!args || !args->machine_args) {
        g_assert_cmpuint(h->max_ranges, <=, 32 * MiB / (2 * PAGE));
    }
    h->next_fresh = FRESH;

    /*
     * Non-zero guest RAM, so that sending it takes the migration its
     * ~48 s.  Distinct pages, and CLIP's contents, only for a case that
     * checks them on the destination: that takes ~0.5 s of the setup.
     */
    if (args && args->check_ram) {
        h->pattern = g_malloc(PATTERN_LEN);
        fill_pattern(h->pattern, PATTERN_LEN);
        qfph_memwrite(h->src, PATTERN, h->pattern, PATTERN_LEN);
        qtest_memset(h->src, CLIP, CLIP_BYTE, CLIP_LEN);
    } else {
        qtest_memset(h->src, PATTERN, PATTERN_BYTE, PATTERN_LEN);
    }
    qtest_memset(h->src, FILLER, FILLER_BYTE, FILLER_LEN);

    /*
     * exit-on-error off: most cases end with the migration unfinished, and
     * the destination is to wait for teardown rather than exit with an
     * error status when the source goes away.
     */
    qtest_qmp_assert_success(h->dst, "{'execute': 'migrate-incoming',"
                             " 'arguments': {'uri': %s,"
                             " 'exit-on-error': false}}", uri);
    fph_set_bandwidth(h->src, SLOW_BANDWIDTH);
    qtest_qmp_assert_success(h->src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);

    /* Epoch 1 opens after the first bitmap sync, in migration setup. */
    opened = g_get_monotonic_time();
    end = opened + 10 * G_USEC_PER_SEC;
    while (!(cfg_epoch = qvirtio_fph_epoch(&h->d))) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
    qfph_read_stats(h->src, &h->expect, &h->epoch);
    g_assert_cmpuint(h->epoch, ==, cfg_epoch);
    g_assert_cmpuint(h->epoch, ==, 1);
    g_test_message("max-ranges %u, queue size %u; epoch %u open %" PRId64
                   " ms after migrate, %" PRId64 " ms after start",
                   h->max_ranges, h->d.vq->size, cfg_epoch,
                   (g_get_monotonic_time() - opened) / 1000,
                   (g_get_monotonic_time() - start) / 1000);
}

/*
 * Quit both QEMUs at once and reap them as soon as they have exited:
 * qtest_quit() alone signals one at a time and polls every 100 ms, a
 * fifth of a second per case.
 */
static void quit_pair(QTestState *a, QTestState *b)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    qtest_qmp_assert_success(a, "{'execute': 'quit'}");
    qtest_qmp_assert_success(b, "{'execute': 'quit'}");
    while ((qtest_probe_child(a) || qtest_probe_child(b)) &&
           g_get_monotonic_time() < end) {
        g_usleep(1000);
    }
    qtest_quit(a);
    qtest_quit(b);
}

void fph_hostile_teardown(FphHostile *h, const void *data)
{
    g_autofree char *sock = g_strdup_printf("%s/migsock", h->tmpdir);

    if (h->d.dev) {
        qvirtio_fph_unbind(&h->d);
    }
    /* Quitting the source cancels a migration still in progress. */
    quit_pair(h->src, h->dst);
    g_unlink(sock);
    g_rmdir(h->tmpdir);
    g_free(h->tmpdir);
    alloc_destroy(&h->d.alloc);
    g_free(h->pattern);
}

/* --- expectations ------------------------------------------------------ */

QFphStats fph_d_whole(int reason)
{
    QFphStats s = { .requests = 1 };

    s.rej[reason] = 1;
    return s;
}

QFphStats fph_d_batch(uint16_t type, uint64_t nr)
{
    QFphStats s = { .requests = 1, .ranges = nr };

    if (type == VIRTIO_FPH_REQ_CANDIDATES) {
        s.cand = 1;
    } else {
        s.conf = 1;
    }
    return s;
}

QFphStats fph_d_range_reject(uint16_t type, int reason)
{
    QFphStats s = fph_d_batch(type, 1);

    s.rej[reason] = 1;
    return s;
}

QFphStats fph_d_stale(uint16_t type, uint64_t nr)
{
    QFphStats s = fph_d_batch(type, nr);

    s.rej[QFPH_REJ_STALE_EPOCH] = 1;
    return s;
}

void fph_check_stats(FphHostile *h, const char *what)
{
    QFphStats s;
    int i;

    qfph_read_stats(h->src, &s, NULL);
    g_test_message("%s: requests %" PRIu64 " cand %" PRIu64 " conf %" PRIu64
                   " ranges %" PRIu64 " armed %" PRIu64 " skipped %" PRIu64,
                   what, s.requests, s.cand, s.conf, s.ranges, s.armed,
                   s.skipped);
    g_assert_cmpuint(s.requests, ==, h->expect.requests);
    g_assert_cmpuint(s.cand, ==, h->expect.cand);
    g_assert_cmpuint(s.conf, ==, h->expect.conf);
    g_assert_cmpuint(s.ranges, ==, h->expect.ranges);
    g_assert_cmpuint(s.armed, ==, h->expect.armed);
    g_assert_cmpuint(s.skipped, ==, h->expect.skipped);
    for (i = 0; i < QFPH_REJ__MAX; i++) {
        if (s.rej[i] != h->expect.rej[i]) {
            g_test_message("%s: rejected.%s is %" PRIu64 ", expected %"
                           PRIu64, what, qfph_reject_keys[i], s.rej[i],
                           h->expect.rej[i]);
        }
        g_assert_cmpuint(s.rej[i], ==, h->expect.rej[i]);
    }
}

void fph_assert_alive(QTestState *qts)
{
    g_autoptr(QDict) ret = qfph_qmp_return(qts,
                                           "{'execute': 'query-status'}");

    g_assert_cmpstr(qdict_get_str(ret, "status"), ==, "running");
}

void fph_check_chain(FphHostile *h, const char *name, const QFphChain *c,
                     FphWant w)
{
    g_assert_true(c->used);
    if (w.status < 0) {
        if (c->used_len != 0) {
            g_test_message("%s: used len %u", name, c->used_len);
        }
        g_assert_cmpuint(c->used_len, ==, 0);
        return;
    }
    g_assert_cmpuint(c->used_len, ==, sizeof(struct virtio_fph_resp));
    if (qfph_resp_status(c) != w.status) {
        g_test_message("%s: status %u, expected %d", name,
                       qfph_resp_status(c), w.status);
    }
    g_assert_cmpuint(qfph_resp_status(c), ==, w.status);
    g_assert_cmpuint(lduw_le_p(c->in + 2), ==, 0);
    g_assert_cmpuint(ldl_le_p(c->in + 4), ==, h->epoch);
    g_assert_cmpuint(ldl_le_p(c->in + 8), ==, w.nr_done);
    g_assert_cmpuint(ldl_le_p(c->in + 12), ==, w.nr_rejected);
}

void fph_run_case(FphHostile *h, const char *name, QFphChain *c, FphWant w,
                  QFphStats delta)
{
    g_test_message("case: %s", name);
    qvirtio_fph_run_chains(&h->d, c, 1, true);
    fph_check_chain(h, name, c, w);
    qfph_stats_add(&h->expect, &delta, 1);
    fph_check_stats(h, name);
    qfph_chain_clear(c);
}

void fph_simple_case(FphHostile *h, const char *name, GByteArray *out,
                     FphWant w, QFphStats delta)
{
    QFphChain c;

    qfph_chain_init(&c, out, sizeof(struct virtio_fph_resp));
    fph_run_case(h, name, &c, w, delta);
}

void fph_prepare(FphHostile *h, const char *what, const uint64_t *ranges,
                 unsigned n, bool confirm)
{
    g_autofree char *cand = g_strdup_printf("prepare %s: candidates", what);
    g_autofree char *conf = g_strdup_printf("prepare %s: confirm", what);
    uint64_t pages = 0;
    QFphStats d;
    unsigned i;

    for (i = 0; i < n; i++) {
        pages += ranges[2 * i + 1] / PAGE;
    }
    d = fph_d_batch(CAND, n);
    d.armed = pages;
    fph_simple_case(h, cand, qfph_req(CAND, h->epoch, ranges, n),
                    WANT_OK(n, 0), d);
    if (confirm) {
        d = fph_d_batch(CONF, n);
        d.skipped = pages;      /* all still to be sent */
        fph_simple_case(h, conf, qfph_req(CONF, h->epoch, ranges, n),
                        WANT_OK(n, 0), d);
    }
}

uint64_t fph_big_page(uint64_t k)
{
    uint64_t addr = BIG_BASE + k * PAGE;

    g_assert_cmpuint(k, <, 2ULL * BIG_ARMED);
    return addr < BIG_LOW_END ? addr : addr - BIG_LOW_END + BIG_HIGH;
}

void fph_big_every_other(FphHostile *h, uint16_t type, unsigned odd)
{
    g_autofree uint64_t *r = g_new(uint64_t, 2 * BIG_MAX_RANGES);
    QFphStats d = fph_d_batch(type, BIG_MAX_RANGES);
    unsigned k, i;

    if (type == CAND) {
        d.armed = BIG_MAX_RANGES;
    } else {
        d.skipped = BIG_MAX_RANGES;
    }
    for (k = 0; k < BIG_ARMED / BIG_MAX_RANGES; k++) {
        QFphChain c;

        for (i = 0; i < BIG_MAX_RANGES; i++) {
            r[2 * i] = fph_big_page(2 * ((uint64_t)k * BIG_MAX_RANGES + i) +
                                    odd);
            r[2 * i + 1] = PAGE;
        }
        qfph_chain_init(&c, qfph_req(type, h->epoch, r, BIG_MAX_RANGES), 16);
        qvirtio_fph_run_chains(&h->d, &c, 1, true);
        fph_check_chain(h, type == CAND ? "arm every other page" :
                        "skip every other page", &c,
                        WANT_OK(BIG_MAX_RANGES, 0));
        qfph_chain_clear(&c);
        qfph_stats_add(&h->expect, &d, 1);
    }
    fph_check_stats(h, "every other page of the big region");
}

uint64_t fph_fresh_page(FphHostile *h)
{
    g_assert_cmpuint(h->next_fresh, <, STOPA);
    h->next_fresh += PAGE;
    return h->next_fresh - PAGE;
}

void fph_reinit_and_probe(FphHostile *h, const char *what)
{
    QFphStats d = fph_d_batch(CAND, 1);
    g_autofree char *name = g_strdup_printf("%s: request after re-init",
                                            what);

    qvirtio_fph_reinit(&h->d);
    d.armed = 1;
    fph_simple_case(h, name, qfph_req1(CAND, h->epoch, fph_fresh_page(h),
                                       PAGE), WANT_OK(1, 0), d);
}

void fph_assert_epoch_held(FphHostile *h, const char *what)
{
    g_autofree char *st = NULL;
    uint32_t epoch;
    QFphStats s;

    qfph_read_stats(h->src, &s, &epoch);
    g_assert_cmpuint(epoch, ==, h->epoch);
    g_assert_cmpuint(qvirtio_fph_epoch(&h->d), ==, h->epoch);
    g_assert_cmpstr(fph_migrate_status(h->src, &st), ==, "active");
    fph_assert_alive(h->src);
    fph_check_stats(h, what);
}

/* --- migration --------------------------------------------------------- */

const char *fph_migrate_status(QTestState *qts, char **buf)
{
    g_autoptr(QDict) ret = qfph_qmp_return(qts,
                                           "{'execute': 'query-migrate'}");

    g_free(*buf);
    *buf = g_strdup(qdict_haskey(ret, "status") ?
                    qdict_get_str(ret, "status") : "none");
    return *buf;
}

void fph_wait_migration(QTestState *qts, const char *want, int timeout_s)
{
    gint64 end = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
    g_autofree char *st = NULL;

    while (strcmp(fph_migrate_status(qts, &st), want)) {
        g_assert_cmpstr(st, !=, "failed");
        g_assert_cmpstr(st, !=, "cancelled");
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
}

void fph_set_bandwidth(QTestState *qts, uint64_t bytes_per_s)
{
    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'max-bandwidth': %" PRIu64 "}}",
                             bytes_per_s);
}

int64_t fph_time_bound(int64_t bound)
{
    const char *scale = g_getenv("FPH_QTEST_TIME_SCALE");

    return scale ? bound * g_ascii_strtoll(scale, NULL, 10) : bound;
}

void fph_stall_destination(FphHostile *h)
{
    g_assert_cmpint(kill(qtest_pid(h->dst), SIGSTOP), ==, 0);
    fph_set_bandwidth(h->src, 10ULL * 1024 * MiB);
    /* Until the socket's buffer is full. */
    g_usleep(500 * 1000);
}

void fph_resume_destination(FphHostile *h)
{
    fph_set_bandwidth(h->src, SLOW_BANDWIDTH);
    g_assert_cmpint(kill(qtest_pid(h->dst), SIGCONT), ==, 0);
}

void fph_complete_migration(FphHostile *h)
{
    gint64 start = g_get_monotonic_time();

    fph_set_bandwidth(h->src, 10ULL * 1024 * MiB);
    fph_wait_migration(h->src, "completed", 30);
    g_test_message("migration completed %" PRId64 " ms after raising the "
                   "bandwidth", (g_get_monotonic_time() - start) / 1000);
    fph_wait_migration(h->dst, "completed", 10);
    fph_assert_alive(h->dst);
}

void fph_clip_case(FphHostile *h)
{
    QFphStats d;

    d = fph_d_batch(CAND, 1);
    d.armed = CLIP_ARMED_LEN / PAGE;
    fph_simple_case(h, "clip: arm 4 MiB",
                    qfph_req1(CAND, h->epoch, CLIP_ARMED, CLIP_ARMED_LEN),
                    WANT_OK(1, 0), d);
    d = fph_d_batch(CONF, 1);
    d.skipped = CLIP_ARMED_LEN / PAGE;
    d.rej[QFPH_REJ_NOT_ARMED] = 1;
    fph_simple_case(h, "clip: confirm 8 MiB around it",
                    qfph_req1(CONF, h->epoch, CLIP_CONFIRM,
                              CLIP_CONFIRM_LEN),
                    WANT_OK(1, 0), d);
}
