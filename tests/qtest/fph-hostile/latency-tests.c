/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fph hostile qtests: what a flood of worst-case requests costs the main
 * loop while a migration runs, measured as QMP round trips.
 */

#include "qemu/osdep.h"
#include "framework.h"

/* The armed set: every other page of [LAT_BASE, RAM_END). */
#define LAT_BASE (64 * MiB)
#define LAT_PAGES ((RAM_END - LAT_BASE) / PAGE)
/*
 * Requests per flood: three floods stay within the epoch's work budget
 * (4 x 2^20 pieces, 16384 per CONFIRM here), so every request is served
 * and costs what it can.
 */
#define LAT_ROUNDS 100
/* Added to the idle main loop's p99 and maximum, at most. */
#define LAT_P99_US fph_time_bound(5000)
#define LAT_MAX_US fph_time_bound(20000)

static int cmp_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

typedef struct LatencyLog {
    QTestState *qts;
    gint64 *rtt;
    unsigned n;
} LatencyLog;

/* After a kick: one query-status round trip, in microseconds. */
static void qmp_round_trip(void *opaque)
{
    LatencyLog *log = opaque;
    gint64 t0 = g_get_monotonic_time();
    QDict *resp = qtest_qmp(log->qts, "{'execute': 'query-status'}");

    g_assert(qdict_haskey(resp, "return"));
    qobject_unref(resp);
    log->rtt[log->n++] = g_get_monotonic_time() - t0;
}

/* Arm every other page of the region, max_ranges pages per request. */
static void arm_scattered(FphHostile *h)
{
    g_autofree uint64_t *r = g_new(uint64_t, 2 * h->max_ranges);
    uint64_t page = 0;

    while (page < LAT_PAGES) {
        unsigned n = 0;
        QFphChain c;

        for (; n < h->max_ranges && page < LAT_PAGES; n++, page += 2) {
            r[2 * n] = LAT_BASE + page * PAGE;
            r[2 * n + 1] = PAGE;
        }
        qfph_chain_init(&c, qfph_req(CAND, h->epoch, r, n), 16);
        qvirtio_fph_run_chains(&h->d, &c, 1, true);
        g_assert_cmpint(qfph_resp_status(&c), ==, VIRTIO_FPH_S_OK);
        qfph_chain_clear(&c);
    }
}

typedef struct Latency {
    gint64 p50, p99, max;
} Latency;

static Latency latency_of(gint64 *rtt, unsigned n)
{
    qsort(rtt, n, sizeof(*rtt), cmp_i64);
    return (Latency){ rtt[n / 2], rtt[(n * 99 + 99) / 100 - 1], rtt[n - 1] };
}

/*
 * The worst a guest can ask of the main loop: CONFIRMs of the whole
 * region, each intersecting every armed interval, and CANDIDATES of
 * max_ranges scattered pages, back to back.  After each kick, one QMP
 * round trip measures how long the main loop was busy with it.
 */
static Latency flood(FphHostile *h, unsigned *stale)
{
    g_autofree gint64 *rtt = g_new(gint64, LAT_ROUNDS);
    g_autofree uint64_t *cand = g_new(uint64_t, 2 * h->max_ranges);
    uint64_t all[] = { LAT_BASE, RAM_END - LAT_BASE };
    LatencyLog log = { .qts = h->src, .rtt = rtt };
    unsigned i, k;

    h->d.kicked = qmp_round_trip;
    h->d.kicked_opaque = &log;
    for (i = 0; i < LAT_ROUNDS; i++) {
        QFphChain c;

        if (i % 4 == 3) {
            /* Odd pages: each one a new interval, a piece each. */
            for (k = 0; k < h->max_ranges; k++) {
                uint64_t page = (2 * (k + i * 7) + 1) % LAT_PAGES;

                cand[2 * k] = LAT_BASE + page * PAGE;
                cand[2 * k + 1] = PAGE;
            }
            qfph_chain_init(&c, qfph_req(CAND, h->epoch, cand,
                                         h->max_ranges), 16);
        } else {
            qfph_chain_init(&c, qfph_req(CONF, h->epoch, all, 1), 16);
        }
        qvirtio_fph_run_chains(&h->d, &c, 1, true);
        *stale += qfph_resp_status(&c) == VIRTIO_FPH_S_STALE;
        qfph_chain_clear(&c);
    }
    h->d.kicked = NULL;
    g_assert_cmpuint(log.n, ==, LAT_ROUNDS);
    return latency_of(rtt, LAT_ROUNDS);
}

/*
 * What the flood adds to the main loop's own noise (the same round trips
 * with nothing to do), best of three floods: a scheduling hiccup of a
 * shared machine is not the device's.
 */
static void test_main_loop_latency(FphHostile *h, const void *data)
{
    g_autofree gint64 *idle_rtt = g_new(gint64, LAT_ROUNDS);
    LatencyLog idle_log = { .qts = h->src, .rtt = idle_rtt };
    Latency idle, best = { G_MAXINT64, G_MAXINT64, G_MAXINT64 };
    unsigned i, stale = 0;

    for (i = 0; i < LAT_ROUNDS; i++) {
        qmp_round_trip(&idle_log);
    }
    idle = latency_of(idle_rtt, LAT_ROUNDS);
    arm_scattered(h);
    for (i = 0; i < 3; i++) {
        Latency l = flood(h, &stale);

        g_test_message("flood %u (%u requests, max-ranges %u): QMP round "
                       "trip p50 %.2f ms, p99 %.2f ms, max %.2f ms", i + 1,
                       LAT_ROUNDS, h->max_ranges, l.p50 / 1000.0,
                       l.p99 / 1000.0, l.max / 1000.0);
        if (l.max < best.max) {
            best = l;
        }
        if (best.p99 - idle.p99 <= LAT_P99_US &&
            best.max - idle.max <= LAT_MAX_US) {
            break;
        }
    }
    g_test_message("main loop under a worst-case flood: p99 %.2f ms, max "
                   "%.2f ms (idle: p99 %.2f ms, max %.2f ms)",
                   best.p99 / 1000.0, best.max / 1000.0, idle.p99 / 1000.0,
                   idle.max / 1000.0);
    g_assert_cmpuint(stale, ==, 0);
    g_assert_cmpint(best.p99 - idle.p99, <=, LAT_P99_US);
    g_assert_cmpint(best.max - idle.max, <=, LAT_MAX_US);
    /* The counters are the device's own; the epoch is still open. */
    qfph_read_stats(h->src, &h->expect, NULL);
}

/* --- the ring kept full of max-size requests that plan no work --------- */

/*
 * Long enough for the armed set to be built first (~1.2 s; the migration
 * waits meanwhile), so that the timer fires during the flood.
 */
#define FULL_RECLAIM_TIMEOUT_MS 8000
#define FULL_TIMER_LATE_MS fph_time_bound(100)
#define FULL_CANCEL_MS fph_time_bound(1000)
/* QMP round trips per flood, or as many as fit in FULL_FLOOD_S. */
#define FULL_SAMPLES 300
#define FULL_FLOOD_S 10
/* Slow enough that the migration is still running at the end. */
#define FULL_BANDWIDTH (16 * KiB)

/*
 * A ring kept full of one request: each chain reads the same request
 * bytes (the device copies them) and has a response slot of its own.
 */
typedef struct FullRing {
    FphHostile *h;
    uint64_t resp;          /* the chains' response slots, 16 bytes each */
    unsigned chains;
    uint64_t ok, stale;     /* answers seen, by status */
} FullRing;

static void full_ring_publish(FullRing *f, uint16_t head)
{
    QVirtioFph *d = &f->h->d;

    qtest_writew(d->qts, d->vq->avail + 4 + 2 * (d->avail_idx % d->vq->size),
                 head);
    d->avail_idx++;
}

static void full_ring_start(FullRing *f, FphHostile *h, GByteArray *req)
{
    QVirtioFph *d = &h->d;
    g_autofree uint8_t *desc = NULL;
    uint64_t bytes;
    unsigned i;

    *f = (FullRing){ .h = h, .chains = d->vq->size / 2 };
    bytes = guest_alloc(&d->alloc, req->len);
    qfph_memwrite(h->src, bytes, req->data, req->len);
    f->resp = guest_alloc(&d->alloc, f->chains * 16);
    desc = g_malloc0(f->chains * 32);
    for (i = 0; i < f->chains; i++) {
        uint8_t *e = desc + 32 * i;

        stq_le_p(e, bytes);
        stl_le_p(e + 8, req->len);
        stw_le_p(e + 12, VRING_DESC_F_NEXT);
        stw_le_p(e + 14, 2 * i + 1);
        stq_le_p(e + 16, f->resp + 16 * i);
        stl_le_p(e + 24, 16);
        stw_le_p(e + 28, VRING_DESC_F_WRITE);
    }
    qtest_memwrite(h->src, d->vq->desc, desc, f->chains * 32);
    for (i = 0; i < f->chains; i++) {
        full_ring_publish(f, 2 * i);
    }
    qtest_writew(h->src, d->vq->avail + 2, d->avail_idx);
    qvirtio_fph_kick(d);
}

/*
 * Take up to FULL_REFILL answers and, if @refill, hand their chains back
 * at once, as a guest keeping the ring full does.  Each access waits for
 * the main loop, so a few at a time: the ring holds hundreds.
 */
#define FULL_REFILL 4
static void full_ring_refill(FullRing *f, bool refill)
{
    QVirtioFph *d = &f->h->d;
    uint16_t used = qvirtio_fph_used_idx(d);
    unsigned n;

    for (n = 0; n < FULL_REFILL && d->used_idx != used; n++, d->used_idx++) {
        uint64_t e = d->vq->used + 4 + 8 * (d->used_idx % d->vq->size);
        uint8_t elem[8];
        uint32_t head;
        uint16_t status;

        qtest_memread(d->qts, e, elem, sizeof(elem));
        head = ldl_le_p(elem);
        g_assert_cmpuint(head % 2, ==, 0);
        g_assert_cmpuint(head, <, 2 * f->chains);
        g_assert_cmpuint(ldl_le_p(elem + 4), ==, 16);
        status = qtest_readw(d->qts, f->resp + 16 * (head / 2));
        if (status == VIRTIO_FPH_S_OK) {
            f->ok++;
        } else {
            g_assert_cmpuint(status, ==, VIRTIO_FPH_S_STALE);
            f->stale++;
        }
        if (refill) {
            full_ring_publish(f, head);
        }
    }
    if (n && refill) {
        qtest_writew(d->qts, d->vq->avail + 2, d->avail_idx);
        qvirtio_fph_kick(d);
    }
}

/* Stop refilling and take the answers to what is still on the ring. */
static void full_ring_drain(FullRing *f)
{
    QVirtioFph *d = &f->h->d;
    gint64 end = g_get_monotonic_time() + QVIRTIO_FPH_TIMEOUT_US;

    while (d->used_idx != d->avail_idx) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        full_ring_refill(f, false);
    }
}

/*
 * The worst a request can cost without planning any work: max-ranges
 * single pages, each between two armed ones (two full lookups in the
 * armed set, then refused as not armed), in random order.
 */
static GByteArray *full_no_work_confirm(FphHostile *h)
{
    g_autofree uint64_t *r = g_new(uint64_t, 2 * BIG_MAX_RANGES);
    GRand *rand = g_rand_new_with_seed(32);
    unsigned i;

    for (i = 0; i < BIG_MAX_RANGES; i++) {
        uint64_t k = g_rand_int_range(rand, 0, BIG_ARMED - 1);

        r[2 * i] = fph_big_page(2 * k + 1);
        r[2 * i + 1] = PAGE;
    }
    g_rand_free(rand);
    return qfph_req(CONF, h->epoch, r, BIG_MAX_RANGES);
}

static QDict *full_reclaim_stats(FphHostile *h)
{
    g_autoptr(QDict) ret = qfph_qmp_return(h->src,
                                           "{'execute': 'query-fph-stats'}");

    return qdict_clone_shallow(qdict_get_qdict(ret, "reclaim"));
}

static gint64 full_reclaim_late_ms(FphHostile *h)
{
    g_autoptr(QDict) r = full_reclaim_stats(h);

    if (strcmp(qdict_get_str(r, "last-outcome"), FPH_RECLAIM_KEY_TIMEOUT)) {
        return -1;
    }
    return qdict_get_int(r, "last-wait-ms") - FULL_RECLAIM_TIMEOUT_MS;
}

/*
 * The migration the fixture started gives way to one that asks the guest
 * to reclaim page cache, which this driver never does: the migration
 * waits for reclaim-timeout, a QEMU timer of the main loop.
 */
static void full_migrate_with_reclaim(FphHostile *h)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    g_autofree char *st = NULL;
    uint32_t epoch;

    qtest_qmp_assert_success(h->src, "{'execute': 'migrate_cancel'}");
    while (strcmp(fph_migrate_status(h->src, &st), "cancelled")) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
    qtest_qmp_assert_success(h->src, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/objects/f', 'property': "
                             "'reclaim', 'value': 1073741824}}");
    qtest_qmp_assert_success(h->src, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/objects/f', 'property': "
                             "'reclaim-timeout', 'value': %d}}",
                             FULL_RECLAIM_TIMEOUT_MS);
    fph_set_bandwidth(h->src, FULL_BANDWIDTH);
    qvirtqueue_cleanup(h->d.dev->vdev.bus, h->d.vq, &h->d.alloc);
    qvirtio_fph_setup_queue_features(&h->d, true,
                                     1ull << VIRTIO_FPH_F_RECLAIM);
    qtest_qmp_assert_success(h->src, "{'execute': 'migrate', 'arguments': "
                             "{'uri': 'exec:cat >/dev/null'}}");
    while ((epoch = qvirtio_fph_epoch(&h->d)) == VIRTIO_FPH_EPOCH_NONE ||
           epoch == h->epoch) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
    h->epoch = epoch;
    fph_wait_migration(h->src, "wait-unplug", 10);
    g_assert_cmpint(full_reclaim_late_ms(h), <, 0);
    qfph_read_stats(h->src, &h->expect, NULL);
}

/*
 * A guest keeping the ring full of the costliest requests that plan no
 * work, at max-ranges 65536 with the armed set full: the main loop still
 * answers QMP within LAT_P99_US / LAT_MAX_US of its idle figures (best of
 * three floods, as above), a QEMU timer of the main loop (reclaim-timeout,
 * its lateness as QEMU measures the wait) fires within FULL_TIMER_LATE_MS,
 * and migrate_cancel completes within FULL_CANCEL_MS.  Every request is
 * answered and counted once, including the one being planned when the VM
 * stops.
 */
static void test_full_ring_no_work(FphHostile *h, const void *data)
{
    g_autofree gint64 *idle_rtt = g_new(gint64, LAT_ROUNDS);
    g_autofree gint64 *rtt = g_new(gint64, FULL_SAMPLES);
    g_autoptr(GByteArray) req = NULL;
    g_autofree char *st = NULL;
    LatencyLog idle_log = { .qts = h->src, .rtt = idle_rtt };
    Latency idle, best = { G_MAXINT64, G_MAXINT64, G_MAXINT64 };
    gint64 t, armed_ms, late_ms = -1, cancel_ms;
    uint64_t answered;
    uint16_t used0, used;
    FullRing f;
    QFphStats d, s;
    unsigned i;

    g_assert_cmpuint(h->max_ranges, ==, BIG_MAX_RANGES);
    t = g_get_monotonic_time();
    full_migrate_with_reclaim(h);
    for (i = 0; i < LAT_ROUNDS; i++) {
        qmp_round_trip(&idle_log);
    }
    idle = latency_of(idle_rtt, LAT_ROUNDS);
    fph_big_every_other(h, CAND, 0);
    armed_ms = (g_get_monotonic_time() - t) / 1000;
    g_test_message("armed set of %u intervals built within %" PRId64 " ms "
                   "of the migration's start (reclaim-timeout %u ms)",
                   BIG_ARMED, armed_ms, FULL_RECLAIM_TIMEOUT_MS);

    req = full_no_work_confirm(h);
    used0 = h->d.used_idx;
    full_ring_start(&f, h, req);
    for (i = 0; i < 3; i++) {
        LatencyLog log = { .qts = h->src, .rtt = rtt };
        gint64 end = g_get_monotonic_time() + FULL_FLOOD_S * G_USEC_PER_SEC;
        uint64_t before = f.ok;
        Latency l;

        while (log.n < FULL_SAMPLES && g_get_monotonic_time() < end) {
            full_ring_refill(&f, true);
            qmp_round_trip(&log);
        }
        l = latency_of(rtt, log.n);
        g_test_message("full ring %u: %u QMP round trips, %" PRIu64
                       " requests of %u no-work ranges answered meanwhile: "
                       "p50 %.2f ms, p99 %.2f ms, max %.2f ms", i + 1, log.n,
                       f.ok - before, BIG_MAX_RANGES, l.p50 / 1000.0,
                       l.p99 / 1000.0, l.max / 1000.0);
        /* The epoch is open throughout: nothing is stale. */
        g_assert_cmpuint(f.stale, ==, 0);
        g_assert_cmpuint(f.ok, >, before);
        if (l.max < best.max) {
            best = l;
        }
        if (best.p99 - idle.p99 <= LAT_P99_US &&
            best.max - idle.max <= LAT_MAX_US) {
            break;
        }
    }
    g_test_message("main loop with the ring full of no-work requests at "
                   "max-ranges %u: p99 %.2f ms, max %.2f ms (idle: p99 "
                   "%.2f ms, max %.2f ms)", BIG_MAX_RANGES,
                   best.p99 / 1000.0, best.max / 1000.0, idle.p99 / 1000.0,
                   idle.max / 1000.0);

    /*
     * The VM stops with a request being planned: it goes back on the
     * ring, nothing is answered while the VM is stopped, and it is taken
     * again (and counted once, checked below) when the VM runs.
     */
    qtest_qmp_assert_success(h->src, "{'execute': 'stop'}");
    used = qvirtio_fph_used_idx(&h->d);
    qfph_read_stats(h->src, &s, NULL);
    g_assert_cmpuint(s.conf - h->expect.conf, ==, (uint16_t)(used - used0));
    g_usleep(100 * 1000);
    g_assert_cmpuint(qvirtio_fph_used_idx(&h->d), ==, used);
    qtest_qmp_assert_success(h->src, "{'execute': 'cont'}");

    /* The reclaim wait ends when its timer fires, the flood going on. */
    while (late_ms < 0) {
        g_assert_cmpint(g_get_monotonic_time() - t, <,
                        (FULL_RECLAIM_TIMEOUT_MS + 30000) * 1000LL);
        full_ring_refill(&f, true);
        late_ms = full_reclaim_late_ms(h);
    }
    g_test_message("reclaim-timeout (%u ms) fired %" PRId64 " ms late",
                   FULL_RECLAIM_TIMEOUT_MS, late_ms);

    /* migrate_cancel, the flood going on. */
    fph_wait_migration(h->src, "active", 10);
    t = g_get_monotonic_time();
    qtest_qmp_assert_success(h->src, "{'execute': 'migrate_cancel'}");
    while (strcmp(fph_migrate_status(h->src, &st), "cancelled")) {
        g_assert_cmpint(g_get_monotonic_time() - t, <, 30 * G_USEC_PER_SEC);
        full_ring_refill(&f, true);
    }
    cancel_ms = (g_get_monotonic_time() - t) / 1000;
    g_test_message("migrate_cancel completed in %" PRId64 " ms", cancel_ms);

    /*
     * Every request was answered: OK (its ranges not armed) while the
     * epoch was open, STALE after.
     */
    full_ring_drain(&f);
    answered = f.ok + f.stale;
    g_test_message("%" PRIu64 " requests answered, %" PRIu64 " of them "
                   "stale", answered, f.stale);
    d = fph_d_batch(CONF, BIG_MAX_RANGES);
    d.rej[QFPH_REJ_NOT_ARMED] = BIG_MAX_RANGES;
    qfph_stats_add(&h->expect, &d, f.ok);
    d = fph_d_stale(CONF, BIG_MAX_RANGES);
    qfph_stats_add(&h->expect, &d, f.stale);
    fph_check_stats(h, "full ring");
    fph_assert_alive(h->src);

    g_assert_cmpint(armed_ms, <, FULL_RECLAIM_TIMEOUT_MS);
    g_assert_cmpint(best.p99 - idle.p99, <=, LAT_P99_US);
    g_assert_cmpint(best.max - idle.max, <=, LAT_MAX_US);
    g_assert_cmpint(late_ms, <=, FULL_TIMER_LATE_MS);
    g_assert_cmpint(cancel_ms, <=, FULL_CANCEL_MS);
}

void fph_hostile_add_latency_tests(void)
{
    static const FphHostileArgs full = { .machine_args = BIG_MACHINE };

    fph_hostile_add("main-loop-latency", test_main_loop_latency);
    fph_hostile_add_args("full-ring-no-work", test_full_ring_no_work, &full);
}
