/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qtest: a hostile virtio-fph driver against the real device while a live
 * migration is in progress, so that a hinting epoch is open.
 *
 * A source QEMU (-accel qtest, no guest CPU) migrates to a destination
 * QEMU over a unix socket at 1 MB/s, so precopy's first pass -- during
 * which epoch 1 stays open -- lasts far longer than this test needs.  The
 * test then drives the device through libqos and its own small ring code
 * and sends every malformed, out-of-range, stale, oversized or
 * out-of-protocol request it can think of, checking for each that it is
 * answered with the right status and counted under the right reason in
 * query-fph-stats (exact counter deltas), and that QEMU stays alive.  It
 * also floods the queue, resets the device under load and breaks the ring
 * itself.  Finally it lets the migration complete and checks, on the
 * destination, that guest RAM the hostile hints targeted arrived intact.
 *
 * Guest-physical layout (256 MiB, all below the PCI hole):
 *   [  1 MiB,  16 MiB)  libqos allocator: rings, requests, responses
 *   [ 16 MiB,  32 MiB)  PATTERN: distinct non-zero pages, never in any hint
 *   [ 32 MiB,  64 MiB)  FILLER (0xa5): target of hostile hints that must be
 *                       refused (never armed and confirmed in one epoch)
 *   [ 64 MiB,  96 MiB)  CLIP (0x3c): one piece armed, a wider range confirmed;
 *                       only the armed piece may be skipped
 *   [ 96 MiB, 128 MiB)  SPARE (zero): small legitimate hints
 *   [128 MiB, 256 MiB)  zero, legitimate hints:
 *       [128, 160) A1: 64 ranges of 256 KiB, 512 KiB apart (armed, skipped)
 *       [160, 192) MAXR: max-ranges single pages, 2 pages apart
 *       [192, 224) HEAVY: the reset tests (even pages, odd pages)
 *       [224, 228) MISC, [228, 236) FLOODA: the flood's candidates,
 *       [240, 248) FRESH: single pages handed out by fresh_page()
 *       [248, 254) STOPA: the VM stop test
 * The device never arms a page twice in one epoch (a second arm between
 * the guest's observation and its confirm would lose a write); the cases
 * that check this aside, each test arms fresh pages.
 * Precopy sends pc.ram from address 0 upward, so at 1 MB/s PATTERN and
 * FILLER keep the migration thread below 64 MiB for ~48 s: everything
 * above is still to be sent while the test runs, which makes pages-skipped
 * deterministic.
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "qemu/bswap.h"
#include <glib/gstdio.h>
#include "libqos/pci-pc.h"
#include "libqos/libqos-malloc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "fph/virtio_fph.h"

#define FPH_DEVFN QPCI_DEVFN(4, 0)
#define VGA_DEVFN QPCI_DEVFN(2, 0)
/*
 * A VGA device, so that 0xa0000 is its MMIO window (without one it is
 * plain pc.ram) and there is another RAM block (its VRAM) to hint at.
 */
#define MACHINE "-M pc -nodefaults -m 256M -L /usr/share/seabios " \
                "-L /usr/share/qemu -device VGA,addr=02.0 " \
                "-object free-page-hint,id=f,plug=off " \
                "-device virtio-fph-pci,addr=04.0 "
#define TIMEOUT_US (30 * G_USEC_PER_SEC)

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define PAGE VIRTIO_FPH_PAGE_SIZE
#define RAM_END (256 * MiB)
#define ALLOC_START (1 * MiB)
#define ALLOC_END (16 * MiB)
#define PATTERN (16 * MiB)
#define PATTERN_LEN (16 * MiB)
#define FILLER (32 * MiB)
#define FILLER_LEN (32 * MiB)
#define FILLER_BYTE 0xa5
#define CLIP (64 * MiB)
#define CLIP_LEN (32 * MiB)
#define CLIP_BYTE 0x3c
#define CLIP_ARMED (CLIP + 4 * MiB)     /* armed: [CLIP + 4M, CLIP + 8M) */
#define CLIP_ARMED_LEN (4 * MiB)
#define CLIP_CONFIRM (CLIP + 2 * MiB)   /* confirmed: [CLIP + 2M, CLIP + 10M) */
#define CLIP_CONFIRM_LEN (8 * MiB)
#define SPARE (96 * MiB)
#define HINT (128 * MiB)
#define A1 HINT
#define MAXR (160 * MiB)
#define HEAVY (192 * MiB)
#define HEAVY_PAGES 256
#define MISC (224 * MiB)
#define FLOODA (228 * MiB)
#define FRESH (240 * MiB)
#define STOPA (248 * MiB)
/* Nothing there: libqos maps BARs from 0xe0000000 up, a few MiB. */
#define PCI_HOLE_FREE 0xf0000000ULL
#define SLOW_BANDWIDTH (1 * MiB)        /* bytes per second */

#define NR_REJECT 6
static const char *const reject_keys[NR_REJECT] = {
    "stale-epoch", "out-of-ram", "misaligned", "malformed", "over-limit",
    "not-armed",
};
enum { R_STALE, R_OOR, R_MISALIGNED, R_MALFORMED, R_OVER_LIMIT,
       R_NOT_ARMED };

/* query-fph-stats, or an expected delta of it. */
typedef struct Stats {
    uint64_t requests, cand, conf, ranges, armed, skipped;
    uint64_t rej[NR_REJECT];
} Stats;

/* --- the driver: libqos for the device, our own ring handling ---------- */

typedef struct Driver {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QVirtioPCIDevice *dev;
    QVirtQueue *vq;
    uint16_t avail_idx;     /* next avail->idx to publish */
    uint16_t used_idx;      /* next used entry to consume */
} Driver;

#define MAX_SEGS 8
/* One descriptor of a chain. */
typedef struct Seg {
    uint32_t len;
    bool write;
    bool fixed;             /* @addr is a guest address, not in the arena */
    uint64_t addr;
    int next;               /* -1: the following segment; else chain index */
} Seg;

/* One request: a descriptor chain and what came back. */
typedef struct Chain {
    unsigned nsegs;
    Seg seg[MAX_SEGS];
    GByteArray *out;        /* bytes for the readable arena segments */
    /* results */
    bool used;
    uint32_t used_len;
    uint8_t in[32];         /* the writable arena segments, concatenated */
} Chain;

static struct {
    QTestState *src, *dst;
    char *tmpdir;
    Driver d;
    uint32_t epoch;
    uint32_t max_ranges;    /* from the device config */
    Stats expect;           /* cumulative, on the source */
    uint8_t *pattern;
} t;

/*
 * libqtest and QEMU's qtest both look for the end of a line in everything
 * received so far after each chunk: big transfers are quadratic.  Move
 * guest memory in small pieces.
 */
#define XFER_CHUNK (64 * KiB)

static void mem_write(QTestState *qts, uint64_t addr, const void *buf,
                      size_t len)
{
    size_t off;

    for (off = 0; off < len; off += XFER_CHUNK) {
        qtest_bufwrite(qts, addr + off, (const uint8_t *)buf + off,
                       MIN(XFER_CHUNK, len - off));
    }
}

static void mem_read(QTestState *qts, uint64_t addr, void *buf, size_t len)
{
    size_t off;

    for (off = 0; off < len; off += XFER_CHUNK) {
        qtest_bufread(qts, addr + off, (uint8_t *)buf + off,
                      MIN(XFER_CHUNK, len - off));
    }
}

static QDict *qmp_return(QTestState *qts, const char *cmd)
{
    QDict *resp = qtest_qmp(qts, cmd);
    QDict *ret;

    g_assert_false(qdict_haskey(resp, "error"));
    ret = qdict_get_qdict(resp, "return");
    qobject_ref(ret);
    qobject_unref(resp);
    return ret;
}

static void read_stats(QTestState *qts, Stats *s, uint32_t *epoch)
{
    g_autoptr(QDict) ret = qmp_return(qts, "{'execute': 'query-fph-stats'}");
    QDict *rej = qdict_get_qdict(ret, "rejected");
    int i;

    s->requests = qdict_get_int(ret, "requests");
    s->cand = qdict_get_int(ret, "candidate-batches");
    s->conf = qdict_get_int(ret, "confirm-batches");
    s->ranges = qdict_get_int(ret, "ranges-received");
    s->armed = qdict_get_int(ret, "pages-armed");
    s->skipped = qdict_get_int(ret, "pages-skipped");
    g_assert_cmpuint(qdict_get_int(ret, "bytes-skipped"), ==,
                     s->skipped * PAGE);
    for (i = 0; i < NR_REJECT; i++) {
        s->rej[i] = qdict_get_int(rej, reject_keys[i]);
    }
    if (epoch) {
        *epoch = qdict_get_int(ret, "epoch");
    }
}

static void stats_add(Stats *a, const Stats *b, uint64_t times)
{
    int i;

    a->requests += b->requests * times;
    a->cand += b->cand * times;
    a->conf += b->conf * times;
    a->ranges += b->ranges * times;
    a->armed += b->armed * times;
    a->skipped += b->skipped * times;
    for (i = 0; i < NR_REJECT; i++) {
        a->rej[i] += b->rej[i] * times;
    }
}

/* The source's counters equal t.expect. */
static void check_stats(const char *what)
{
    Stats s;
    int i;

    read_stats(t.src, &s, NULL);
    g_test_message("%s: requests %" PRIu64 " cand %" PRIu64 " conf %" PRIu64
                   " ranges %" PRIu64 " armed %" PRIu64 " skipped %" PRIu64,
                   what, s.requests, s.cand, s.conf, s.ranges, s.armed,
                   s.skipped);
    g_assert_cmpuint(s.requests, ==, t.expect.requests);
    g_assert_cmpuint(s.cand, ==, t.expect.cand);
    g_assert_cmpuint(s.conf, ==, t.expect.conf);
    g_assert_cmpuint(s.ranges, ==, t.expect.ranges);
    g_assert_cmpuint(s.armed, ==, t.expect.armed);
    g_assert_cmpuint(s.skipped, ==, t.expect.skipped);
    for (i = 0; i < NR_REJECT; i++) {
        if (s.rej[i] != t.expect.rej[i]) {
            g_test_message("%s: rejected.%s is %" PRIu64 ", expected %"
                           PRIu64, what, reject_keys[i], s.rej[i],
                           t.expect.rej[i]);
        }
        g_assert_cmpuint(s.rej[i], ==, t.expect.rej[i]);
    }
}

static void assert_alive(QTestState *qts)
{
    g_autoptr(QDict) ret = qmp_return(qts, "{'execute': 'query-status'}");

    g_assert_cmpstr(qdict_get_str(ret, "status"), ==, "running");
}

static uint8_t dev_status(Driver *d)
{
    return d->dev->vdev.bus->get_status(&d->dev->vdev);
}

static void driver_setup_queue(Driver *d, bool driver_ok)
{
    qvirtio_start_device(&d->dev->vdev);        /* reset, ACK, DRIVER */
    g_assert_true(qvirtio_get_features(&d->dev->vdev) &
                  (1ull << VIRTIO_F_VERSION_1));
    qvirtio_set_features(&d->dev->vdev, 1ull << VIRTIO_F_VERSION_1);
    d->vq = qvirtqueue_setup(&d->dev->vdev, &d->alloc, 0);
    d->avail_idx = 0;
    d->used_idx = 0;
    if (driver_ok) {
        qvirtio_set_driver_ok(&d->dev->vdev);
    }
}

/* Bind @d to the device of @qts (keeps the allocator and the ring). */
static void driver_bind(Driver *d, QTestState *qts)
{
    QPCIAddress addr = { .devfn = FPH_DEVFN };

    d->qts = qts;
    d->bus = qpci_new_pc(qts, NULL);
    d->dev = virtio_pci_new(d->bus, &addr);
    g_assert_nonnull(d->dev);
    g_assert_cmphex(d->bus->config_readw(d->bus, FPH_DEVFN, 2), ==,
                    VIRTIO_FPH_PCI_DEVICE_ID);
    qvirtio_pci_device_enable(d->dev);
}

static void driver_unbind(Driver *d)
{
    qos_object_destroy(&d->dev->obj);
    qpci_free_pc(d->bus);
    d->dev = NULL;
    d->bus = NULL;
}

static void chain_add(Chain *c, uint32_t len, bool write)
{
    g_assert_cmpuint(c->nsegs, <, MAX_SEGS);
    c->seg[c->nsegs++] = (Seg){ .len = len, .write = write, .next = -1 };
}

static void chain_add_fixed(Chain *c, uint64_t addr, uint32_t len, bool write)
{
    chain_add(c, len, write);
    c->seg[c->nsegs - 1].fixed = true;
    c->seg[c->nsegs - 1].addr = addr;
}

/* The usual shape: @out readable, then @resp_len writable (if nonzero). */
static void chain_init(Chain *c, GByteArray *out, uint32_t resp_len)
{
    memset(c, 0, sizeof(*c));
    c->out = out;
    if (out && out->len) {
        chain_add(c, out->len, false);
    }
    if (resp_len) {
        chain_add(c, resp_len, true);
    }
}

static void chain_clear(Chain *c)
{
    if (c->out) {
        g_byte_array_unref(c->out);
    }
    c->out = NULL;
}

static uint16_t resp_status(const Chain *c)
{
    return lduw_le_p(c->in);
}

/* Wait until the used index reaches @want; false on timeout. */
static bool wait_used_idx(Driver *d, uint16_t want, gint64 timeout_us)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        uint16_t idx = qtest_readw(d->qts, d->vq->used + 2);

        if (idx == want) {
            return true;
        }
        if (g_get_monotonic_time() - start > timeout_us) {
            return false;
        }
        g_usleep(50);
    }
}

/*
 * Put @n chains on the ring (descriptors from 0: everything before has
 * completed), kick once and, if @wait, wait for all of them and collect the
 * results.  Buffers live in one guest allocation per call.
 */
static void run_chains(Driver *d, Chain *c, unsigned n, bool wait)
{
    QTestState *qts = d->qts;
    uint32_t size = d->vq->size;
    g_autofree uint8_t *desc = NULL;
    g_autofree uint8_t *arena = NULL;
    g_autofree uint16_t *heads = NULL;
    size_t arena_len = 0, off;
    unsigned i, j, nd = 0;
    uint64_t base = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < c[i].nsegs; j++) {
            if (!c[i].seg[j].fixed) {
                arena_len += ROUND_UP(c[i].seg[j].len, 16);
            }
        }
        nd += c[i].nsegs;
    }
    g_assert_cmpuint(nd, <=, size);
    if (arena_len) {
        base = guest_alloc(&d->alloc, arena_len);
        g_assert_cmphex(base, !=, 0);
        arena = g_malloc(arena_len);
    }

    /* Lay out buffers and descriptors. */
    desc = g_malloc0(nd * 16);
    heads = g_new(uint16_t, n);
    off = 0;
    nd = 0;
    for (i = 0; i < n; i++) {
        size_t out_off = 0;

        heads[i] = nd;
        for (j = 0; j < c[i].nsegs; j++) {
            Seg *s = &c[i].seg[j];
            uint8_t *e = desc + 16 * (nd + j);
            uint16_t flags = s->write ? VRING_DESC_F_WRITE : 0;
            uint16_t next = 0;

            if (!s->fixed) {
                s->addr = base + off;
                if (s->write) {
                    memset(arena + off, 0xff, s->len);
                } else {
                    size_t have = c[i].out && out_off < c[i].out->len ?
                                  MIN(s->len, c[i].out->len - out_off) : 0;

                    memset(arena + off, 0, s->len);
                    if (have) {
                        memcpy(arena + off, c[i].out->data + out_off, have);
                    }
                    out_off += s->len;
                }
                off += ROUND_UP(s->len, 16);
            }
            if (s->next >= 0) {
                flags |= VRING_DESC_F_NEXT;
                next = nd + s->next;
            } else if (j + 1 < c[i].nsegs) {
                flags |= VRING_DESC_F_NEXT;
                next = nd + j + 1;
            }
            stq_le_p(e, s->addr);
            stl_le_p(e + 8, s->len);
            stw_le_p(e + 12, flags);
            stw_le_p(e + 14, next);
        }
        nd += c[i].nsegs;
        c[i].used = false;
    }
    if (arena_len) {
        mem_write(qts, base, arena, arena_len);
    }
    qtest_memwrite(qts, d->vq->desc, desc, nd * 16);

    /* Publish and kick. */
    for (i = 0; i < n; i++) {
        qtest_writew(qts, d->vq->avail + 4 +
                     2 * ((uint16_t)(d->avail_idx + i) % size), heads[i]);
    }
    d->avail_idx += n;
    qtest_writew(qts, d->vq->avail + 2, d->avail_idx);
    d->dev->vdev.bus->virtqueue_kick(&d->dev->vdev, d->vq);
    if (!wait) {
        /* The caller resets the device; the buffers go with the test. */
        return;
    }

    g_assert_true(wait_used_idx(d, d->avail_idx, TIMEOUT_US));
    for (i = 0; i < n; i++, d->used_idx++) {
        uint64_t e = d->vq->used + 4 + 8 * (d->used_idx % size);
        uint32_t id = qtest_readl(qts, e);

        j = 0;
        while (j < n && heads[j] != id) {
            j++;
        }
        g_assert_cmpuint(j, <, n);
        g_assert_false(c[j].used);
        c[j].used = true;
        c[j].used_len = qtest_readl(qts, e + 4);
    }
    if (arena_len) {
        mem_read(qts, base, arena, arena_len);
        for (i = 0; i < n; i++) {
            size_t got = 0;

            for (j = 0; j < c[i].nsegs; j++) {
                Seg *s = &c[i].seg[j];

                if (!s->fixed && s->write && got < sizeof(c[i].in)) {
                    size_t k = MIN(s->len, sizeof(c[i].in) - got);

                    memcpy(c[i].in + got, arena + (s->addr - base), k);
                    got += k;
                }
            }
        }
        guest_free(&d->alloc, base);
    }
}

/* --- requests ---------------------------------------------------------- */

static GByteArray *req_raw(uint16_t type, uint16_t reserved, uint32_t epoch,
                           uint32_t nr, uint32_t reserved2,
                           const uint64_t *ranges, unsigned n)
{
    GByteArray *b = g_byte_array_new();
    uint8_t hdr[16];
    unsigned i;

    stw_le_p(hdr, type);
    stw_le_p(hdr + 2, reserved);
    stl_le_p(hdr + 4, epoch);
    stl_le_p(hdr + 8, nr);
    stl_le_p(hdr + 12, reserved2);
    g_byte_array_append(b, hdr, sizeof(hdr));
    for (i = 0; i < n; i++) {
        uint8_t r[16];

        stq_le_p(r, ranges[2 * i]);
        stq_le_p(r + 8, ranges[2 * i + 1]);
        g_byte_array_append(b, r, sizeof(r));
    }
    return b;
}

/* A well-framed request of @n (addr, len) pairs. */
static GByteArray *req(uint16_t type, uint32_t epoch, const uint64_t *ranges,
                       unsigned n)
{
    return req_raw(type, 0, epoch, n, 0, ranges, n);
}

static GByteArray *req1(uint16_t type, uint32_t epoch, uint64_t addr,
                        uint64_t len)
{
    uint64_t r[2] = { addr, len };

    return req(type, epoch, r, 1);
}

/* What a case expects back. */
typedef struct Want {
    int status;             /* -1: no response (used len 0) */
    uint32_t nr_done, nr_rejected;
} Want;

static void check_chain(const char *name, const Chain *c, Want w)
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
    if (resp_status(c) != w.status) {
        g_test_message("%s: status %u, expected %d", name, resp_status(c),
                       w.status);
    }
    g_assert_cmpuint(resp_status(c), ==, w.status);
    g_assert_cmpuint(lduw_le_p(c->in + 2), ==, 0);
    g_assert_cmpuint(ldl_le_p(c->in + 4), ==, t.epoch);
    g_assert_cmpuint(ldl_le_p(c->in + 8), ==, w.nr_done);
    g_assert_cmpuint(ldl_le_p(c->in + 12), ==, w.nr_rejected);
}

/*
 * Send one chain, check the answer, add @delta to the expected counters and
 * check them.  Takes ownership of c->out.
 */
static void run_case(const char *name, Chain *c, Want w, Stats delta)
{
    g_test_message("case: %s", name);
    run_chains(&t.d, c, 1, true);
    check_chain(name, c, w);
    stats_add(&t.expect, &delta, 1);
    check_stats(name);
    chain_clear(c);
}

/* The usual chain: @out, then a 16-byte response buffer. */
static void simple_case(const char *name, GByteArray *out, Want w,
                        Stats delta)
{
    Chain c;

    chain_init(&c, out, sizeof(struct virtio_fph_resp));
    run_case(name, &c, w, delta);
}

/* Deltas of common outcomes. */
static Stats d_whole(int reason)
{
    Stats s = { .requests = 1 };

    s.rej[reason] = 1;
    return s;
}

static Stats d_batch(uint16_t type, uint64_t nr)
{
    Stats s = { .requests = 1, .ranges = nr };

    if (type == VIRTIO_FPH_REQ_CANDIDATES) {
        s.cand = 1;
    } else {
        s.conf = 1;
    }
    return s;
}

static Stats d_range_reject(uint16_t type, int reason)
{
    Stats s = d_batch(type, 1);

    s.rej[reason] = 1;
    return s;
}

static Stats d_stale(uint16_t type, uint64_t nr)
{
    Stats s = d_batch(type, nr);

    s.rej[R_STALE] = 1;
    return s;
}

#define OK(done, rej) ((Want){ VIRTIO_FPH_S_OK, (done), (rej) })
#define INVALID ((Want){ VIRTIO_FPH_S_INVALID, 0, 0 })
#define STALE ((Want){ VIRTIO_FPH_S_STALE, 0, 0 })
#define NO_RESPONSE ((Want){ -1, 0, 0 })
#define CAND VIRTIO_FPH_REQ_CANDIDATES
#define CONF VIRTIO_FPH_REQ_CONFIRM

/* --- migration --------------------------------------------------------- */

static const char *migrate_status(QTestState *qts, char **buf)
{
    g_autoptr(QDict) ret = qmp_return(qts, "{'execute': 'query-migrate'}");

    g_free(*buf);
    *buf = g_strdup(qdict_haskey(ret, "status") ?
                    qdict_get_str(ret, "status") : "none");
    return *buf;
}

static void wait_migration(QTestState *qts, const char *want, int timeout_s)
{
    gint64 end = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
    g_autofree char *st = NULL;

    while (strcmp(migrate_status(qts, &st), want)) {
        g_assert_cmpstr(st, !=, "failed");
        g_assert_cmpstr(st, !=, "cancelled");
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(20 * 1000);
    }
}

static void set_bandwidth(QTestState *qts, uint64_t bytes_per_s)
{
    qtest_qmp_assert_success(qts, "{'execute': 'migrate-set-parameters',"
                             " 'arguments': {'max-bandwidth': %" PRIu64 "}}",
                             bytes_per_s);
}

static void fill_pattern(uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i += 8) {
        uint64_t v = (PATTERN + i) * 0x9e3779b97f4a7c15ULL + 1;

        stq_le_p(p + i, v);
    }
}

/* --- the tests, in order; each builds on the previous ones ------------- */

/* A page no test has hinted yet. */
static uint64_t fresh_page(void)
{
    static uint64_t next = FRESH;

    g_assert_cmpuint(next, <, STOPA);
    next += PAGE;
    return next - PAGE;
}

static bool ready(void)
{
    if (!t.src) {
        g_test_skip("no migration in progress (setup failed)");
        return false;
    }
    return true;
}

static void test_setup(void)
{
    g_autofree char *uri = NULL;
    gint64 start, end;
    uint32_t cfg_epoch;

    t.tmpdir = g_dir_make_tmp("fph-hostile-XXXXXX", NULL);
    g_assert_nonnull(t.tmpdir);
    uri = g_strdup_printf("unix:%s/migsock", t.tmpdir);

    t.src = qtest_init(MACHINE);
    t.dst = qtest_init(MACHINE "-incoming defer");

    alloc_init(&t.d.alloc, 0, ALLOC_START, ALLOC_END, PAGE);
    driver_bind(&t.d, t.src);
    driver_setup_queue(&t.d, true);
    g_assert_cmpint(qvirtio_config_readl(&t.d.dev->vdev, 0), ==,
                    VIRTIO_FPH_EPOCH_NONE);
    t.max_ranges = qvirtio_config_readl(&t.d.dev->vdev, 4);
    g_test_message("max-ranges %u, queue size %u", t.max_ranges, t.d.vq->size);
    /* MAXR holds max-ranges pages, 2 pages apart. */
    g_assert_cmpuint(t.max_ranges, >=, 64);
    g_assert_cmpuint(t.max_ranges, <=, 32 * MiB / (2 * PAGE));

    /* Guest RAM contents to check on the destination. */
    t.pattern = g_malloc(PATTERN_LEN);
    fill_pattern(t.pattern, PATTERN_LEN);
    mem_write(t.src, PATTERN, t.pattern, PATTERN_LEN);
    qtest_memset(t.src, FILLER, FILLER_BYTE, FILLER_LEN);
    qtest_memset(t.src, CLIP, CLIP_BYTE, CLIP_LEN);

    qtest_qmp_assert_success(t.dst, "{'execute': 'migrate-incoming',"
                             " 'arguments': {'uri': %s}}", uri);
    set_bandwidth(t.src, SLOW_BANDWIDTH);
    qtest_qmp_assert_success(t.src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);

    /* Epoch 1 opens after the first bitmap sync, in migration setup. */
    start = g_get_monotonic_time();
    end = start + 10 * G_USEC_PER_SEC;
    while (!(cfg_epoch = qvirtio_config_readl(&t.d.dev->vdev, 0))) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
    g_test_message("epoch %u open after %" PRId64 " ms", cfg_epoch,
                   (g_get_monotonic_time() - start) / 1000);
    read_stats(t.src, &t.expect, &t.epoch);
    g_assert_cmpuint(t.epoch, ==, cfg_epoch);
    g_assert_cmpuint(t.epoch, ==, 1);
}

/* Legitimate two-phase hints on unsent RAM: pages are really skipped. */
static void test_legit(void)
{
    uint64_t r[2 * 64];
    Stats d;
    Chain c[2];
    unsigned i;

    if (!ready()) {
        return;
    }
    /* 64 ranges of 256 KiB, 256 KiB apart. */
    for (i = 0; i < 64; i++) {
        r[2 * i] = A1 + i * 512 * KiB;
        r[2 * i + 1] = 256 * KiB;
    }
    d = d_batch(CAND, 64);
    d.armed = 64 * 256 * KiB / PAGE;
    simple_case("candidates: 64 free ranges", req(CAND, t.epoch, r, 64),
                OK(64, 0), d);
    d = d_batch(CONF, 64);
    d.skipped = 64 * 256 * KiB / PAGE;  /* all still to be sent: skipped */
    simple_case("confirm: the same 64 ranges", req(CONF, t.epoch, r, 64),
                OK(64, 0), d);
    g_assert_cmpuint(t.expect.skipped, >, 0);

    /* Confirming again is harmless: nothing left to skip. */
    d = d_batch(CONF, 64);
    simple_case("confirm again: nothing left to skip",
                req(CONF, t.epoch, r, 64), OK(64, 0), d);

    /* A confirm wider than what was armed is clipped to the armed part. */
    d = d_batch(CAND, 1);
    d.armed = CLIP_ARMED_LEN / PAGE;
    simple_case("clip: arm 4 MiB", req1(CAND, t.epoch, CLIP_ARMED,
                                        CLIP_ARMED_LEN), OK(1, 0), d);
    d = d_batch(CONF, 1);
    d.skipped = CLIP_ARMED_LEN / PAGE;
    d.rej[R_NOT_ARMED] = 1;
    simple_case("clip: confirm 8 MiB around it",
                req1(CONF, t.epoch, CLIP_CONFIRM, CLIP_CONFIRM_LEN),
                OK(1, 0), d);

    /* Exactly max-ranges ranges, duplicates and overlaps merge. */
    {
        g_autofree uint64_t *m = g_new(uint64_t, 2 * t.max_ranges);

        for (i = 0; i < t.max_ranges; i++) {
            m[2 * i] = MAXR + i * 2 * PAGE;
            m[2 * i + 1] = PAGE;
        }
        d = d_batch(CAND, t.max_ranges);
        d.armed = t.max_ranges;
        simple_case("candidates: exactly max-ranges",
                    req(CAND, t.epoch, m, t.max_ranges), OK(t.max_ranges, 0),
                    d);
    }
    {
        uint64_t dup[] = { MISC, 4 * PAGE, MISC, 4 * PAGE,
                           MISC + 2 * PAGE, 4 * PAGE };

        d = d_batch(CAND, 3);
        d.armed = 6;   /* merged: [+0, +6 pages) */
        simple_case("candidates: duplicate and overlapping ranges",
                    req(CAND, t.epoch, dup, 3), OK(3, 0), d);
        d = d_batch(CONF, 3);
        d.skipped = 6;
        simple_case("confirm: duplicate and overlapping ranges",
                    req(CONF, t.epoch, dup, 3), OK(3, 0), d);
    }

    /* Never armed twice in one epoch: only the unarmed part is armed. */
    d = d_batch(CAND, 1);
    d.armed = 16;
    simple_case("candidates: 16 pages", req1(CAND, t.epoch, MISC + 2 * MiB,
                                             16 * PAGE), OK(1, 0), d);
    d = d_batch(CAND, 1);
    simple_case("candidates: the same again (armed already, not re-armed)",
                req1(CAND, t.epoch, MISC + 2 * MiB, 16 * PAGE), OK(1, 0), d);
    d = d_batch(CAND, 1);
    d.armed = 32;
    simple_case("candidates: around them (only the rest is armed)",
                req1(CAND, t.epoch, MISC + 2 * MiB - 16 * PAGE, 48 * PAGE),
                OK(1, 0), d);

    /* Low RAM below the VGA window is RAM, too. */
    d = d_batch(CAND, 1);
    d.armed = 1;
    simple_case("candidates: page 0", req1(CAND, t.epoch, 0, PAGE),
                OK(1, 0), d);

    /*
     * Both phases in one kick, the CONFIRM not waiting for the answer to
     * the CANDIDATES: the device takes one request at a time, each planned
     * against what the previous ones armed, so the CONFIRM finds the range
     * armed.  (Such a driver breaks the protocol -- it observed the pages
     * before they were armed -- but only at its own expense.)
     */
    chain_init(&c[0], req1(CAND, t.epoch, SPARE + 4 * MiB, 1 * MiB), 16);
    chain_init(&c[1], req1(CONF, t.epoch, SPARE + 4 * MiB, 1 * MiB), 16);
    run_chains(&t.d, c, 2, true);
    check_chain("in order: candidates", &c[0], OK(1, 0));
    check_chain("in order: confirm", &c[1], OK(1, 0));
    d = d_batch(CAND, 1);
    d.armed = 1 * MiB / PAGE;
    stats_add(&t.expect, &d, 1);
    d = d_batch(CONF, 1);
    d.skipped = 1 * MiB / PAGE;
    stats_add(&t.expect, &d, 1);
    check_stats("in order");
    chain_clear(&c[0]);
    chain_clear(&c[1]);
}

static void test_out_of_ram(void)
{
    static const struct {
        const char *name;
        uint64_t addr, len;
        int reason;
    } cases[] = {
        { "just above RAM end", RAM_END, PAGE, R_OOR },
        { "across RAM end", RAM_END - PAGE, 2 * PAGE, R_OOR },
        { "PCI hole", 0xe0000000ULL, 1 * MiB, R_OOR },
        { "BIOS ROM", 0xfffc0000ULL, 256 * KiB, R_OOR },
        { "IOAPIC", 0xfec00000ULL, PAGE, R_OOR },
        { "LAPIC", 0xfee00000ULL, PAGE, R_OOR },
        { "VGA window", 0xa0000, 128 * KiB, R_OOR },
        { "option ROM area", 0xc0000, 64 * KiB, R_OOR },
        { "BIOS shadow", 0xf0000, 64 * KiB, R_OOR },
        { "low RAM into VGA window", 0x9f000, 2 * PAGE, R_OOR },
        { "ROM into RAM", 0xff000, 2 * PAGE, R_OOR },
        { "above 4 GiB", 0x100000000ULL, PAGE, R_OOR },
        { "far above", 0x7ffffffff000ULL, PAGE, R_OOR },
        { "huge len", HINT, 1ULL << 63, R_OOR },
        { "all of RAM and more", 0, RAM_END + PAGE, R_OOR },
        { "wraps 2^64", 0xfffffffffffff000ULL, 2 * PAGE, R_MALFORMED },
        { "ends at 2^64", 0xfffffffffffff000ULL, PAGE, R_MALFORMED },
        { "len 2^64 - 4096", PAGE, 0xfffffffffffff000ULL, R_MALFORMED },
        { "max len", HINT, 0xfffffffffffff000ULL, R_MALFORMED },
    };
    QPCIDevice *vga;
    QPCIBar vram;
    uint64_t bar = 0, vram_size = 0;
    unsigned i;
    int type;

    if (!ready()) {
        return;
    }
    for (type = CAND; type <= CONF; type++) {
        for (i = 0; i < G_N_ELEMENTS(cases); i++) {
            g_autofree char *name = g_strdup_printf("%s: %s",
                type == CAND ? "candidates" : "confirm", cases[i].name);

            simple_case(name, req1(type, t.epoch, cases[i].addr,
                                   cases[i].len),
                        OK(0, 1), d_range_reject(type, cases[i].reason));
        }
    }

    /* Another RAM block: the VGA's VRAM, mapped at its BAR. */
    vga = qpci_device_find(t.d.bus, VGA_DEVFN);
    g_assert_nonnull(vga);
    qpci_device_enable(vga);
    vram = qpci_iomap(vga, 0, &vram_size);
    g_test_message("VGA VRAM: %" PRIu64 " MiB at 0x%" PRIx64,
                   (uint64_t)(vram_size / MiB), vram.addr);
    g_assert_cmpuint(vram_size, >=, 1 * MiB);
    qtest_writel(t.src, vram.addr, 0x12345678);
    g_assert_cmphex(qtest_readl(t.src, vram.addr), ==, 0x12345678);
    simple_case("candidates: VGA VRAM",
                req1(CAND, t.epoch, vram.addr, 1 * MiB), OK(0, 1),
                d_range_reject(CAND, R_OOR));
    simple_case("confirm: VGA VRAM",
                req1(CONF, t.epoch, vram.addr, vram_size), OK(0, 1),
                d_range_reject(CONF, R_OOR));
    simple_case("candidates: VGA VRAM and the MiB below it",
                req1(CAND, t.epoch, vram.addr - 1 * MiB, 2 * MiB), OK(0, 1),
                d_range_reject(CAND, R_OOR));
    g_free(vga);

    /* The device's own BAR (MMIO). */
    bar = t.d.dev->bar.addr;
    g_test_message("virtio-fph BAR at 0x%" PRIx64, bar);
    g_assert_cmphex(bar, !=, 0);
    simple_case("candidates: the device's BAR",
                req1(CAND, t.epoch, bar & ~(PAGE - 1), PAGE), OK(0, 1),
                d_range_reject(CAND, R_OOR));
}

static void test_alignment(void)
{
    uint64_t mixed[] = {
        SPARE + 10 * MiB, PAGE,                 /* ok */
        SPARE + 11 * MiB + 1, PAGE,             /* misaligned */
        0xe0000000ULL, PAGE,                    /* out of RAM */
        SPARE + 12 * MiB, 0,                    /* zero len */
        SPARE + 13 * MiB, 2 * PAGE,             /* ok */
        SPARE + 14 * MiB + 512, 0x7fffffffffffffffULL,  /* misaligned */
    };
    Stats d;

    if (!ready()) {
        return;
    }
    simple_case("misaligned addr", req1(CAND, t.epoch, HINT + 1, PAGE),
                OK(0, 1), d_range_reject(CAND, R_MISALIGNED));
    simple_case("misaligned len", req1(CAND, t.epoch, HINT, PAGE + 1),
                OK(0, 1), d_range_reject(CAND, R_MISALIGNED));
    simple_case("half pages", req1(CAND, t.epoch, HINT + 2048, 2048),
                OK(0, 1), d_range_reject(CAND, R_MISALIGNED));
    simple_case("misaligned confirm", req1(CONF, t.epoch, HINT + 8, PAGE),
                OK(0, 1), d_range_reject(CONF, R_MISALIGNED));
    simple_case("zero len", req1(CAND, t.epoch, HINT, 0), OK(0, 1),
                d_range_reject(CAND, R_MALFORMED));
    simple_case("zero len, misaligned addr", req1(CAND, t.epoch, 1, 0),
                OK(0, 1), d_range_reject(CAND, R_MALFORMED));
    simple_case("zero len confirm", req1(CONF, t.epoch, HINT, 0), OK(0, 1),
                d_range_reject(CONF, R_MALFORMED));

    d = d_batch(CAND, 6);
    d.armed = 3;
    d.rej[R_MISALIGNED] = 2;
    d.rej[R_OOR] = 1;
    d.rej[R_MALFORMED] = 1;
    simple_case("mixed good and bad ranges", req(CAND, t.epoch, mixed, 6),
                OK(2, 4), d);
}

static void test_framing(void)
{
    g_autofree uint64_t *many = g_new(uint64_t, 2 * (t.max_ranges + 1));
    uint64_t one[] = { HINT, PAGE }, two[] = { HINT, PAGE, HINT + 2 * PAGE,
                                               PAGE };
    GByteArray *b;
    unsigned i;

    if (!ready()) {
        return;
    }
    for (i = 0; i <= t.max_ranges; i++) {
        many[2 * i] = HINT + i * 2 * PAGE;
        many[2 * i + 1] = PAGE;
    }
    simple_case("nr_ranges = max-ranges + 1",
                req(CAND, t.epoch, many, t.max_ranges + 1), INVALID,
                d_whole(R_OVER_LIMIT));
    simple_case("confirm nr_ranges = max-ranges + 1",
                req(CONF, t.epoch, many, t.max_ranges + 1), INVALID,
                d_whole(R_OVER_LIMIT));
    simple_case("nr_ranges = 2^32 - 1",
                req_raw(CAND, 0, t.epoch, 0xffffffff, 0, one, 1), INVALID,
                d_whole(R_OVER_LIMIT));
    simple_case("nr_ranges * 16 = 2^32 (u32 overflow to 0), no ranges",
                req_raw(CAND, 0, t.epoch, 0x10000000, 0, NULL, 0), INVALID,
                d_whole(R_OVER_LIMIT));
    simple_case("nr_ranges * 16 = 2^32 + 16 (u32 overflow to 16), 1 range",
                req_raw(CAND, 0, t.epoch, 0x10000001, 0, one, 1), INVALID,
                d_whole(R_OVER_LIMIT));
    simple_case("nr_ranges = 0",
                req_raw(CAND, 0, t.epoch, 0, 0, NULL, 0), INVALID,
                d_whole(R_MALFORMED));
    simple_case("nr_ranges = 0 with a range",
                req_raw(CAND, 0, t.epoch, 0, 0, one, 1), INVALID,
                d_whole(R_MALFORMED));
    simple_case("truncated: nr_ranges 2, one range",
                req_raw(CAND, 0, t.epoch, 2, 0, one, 1), INVALID,
                d_whole(R_MALFORMED));
    simple_case("oversized: nr_ranges 1, two ranges",
                req_raw(CAND, 0, t.epoch, 1, 0, two, 2), INVALID,
                d_whole(R_MALFORMED));
    b = req1(CAND, t.epoch, HINT, PAGE);
    g_byte_array_append(b, (const uint8_t *)"12345678", 8);
    simple_case("8 trailing bytes", b, INVALID, d_whole(R_MALFORMED));
    b = req1(CAND, t.epoch, HINT, PAGE);
    g_byte_array_set_size(b, 31);
    simple_case("range cut short by one byte", b, INVALID,
                d_whole(R_MALFORMED));
    b = req1(CAND, t.epoch, HINT, PAGE);
    g_byte_array_set_size(b, 15);
    simple_case("header cut short", b, INVALID, d_whole(R_MALFORMED));
    b = req1(CAND, t.epoch, HINT, PAGE);
    g_byte_array_set_size(b, 1);
    simple_case("one byte", b, INVALID, d_whole(R_MALFORMED));
    b = req1(CAND, t.epoch, HINT, PAGE);
    g_byte_array_set_size(b, 1 * MiB);   /* zero padded */
    simple_case("1 MiB of request for one range", b, INVALID,
                d_whole(R_MALFORMED));
    /* One byte more than the largest valid request: the device's cap. */
    b = req(CAND, t.epoch, many, t.max_ranges);
    g_byte_array_set_size(b, b->len + 1);
    simple_case("max-ranges ranges plus one byte", b, INVALID,
                d_whole(R_MALFORMED));

    simple_case("type 0", req_raw(0, 0, t.epoch, 1, 0, one, 1), INVALID,
                d_whole(R_MALFORMED));
    simple_case("type 3", req_raw(3, 0, t.epoch, 1, 0, one, 1), INVALID,
                d_whole(R_MALFORMED));
    simple_case("type 0xffff", req_raw(0xffff, 0, t.epoch, 1, 0, one, 1),
                INVALID, d_whole(R_MALFORMED));
    simple_case("type 0x101", req_raw(0x101, 0, t.epoch, 1, 0, one, 1),
                INVALID, d_whole(R_MALFORMED));
    simple_case("reserved = 1", req_raw(CAND, 1, t.epoch, 1, 0, one, 1),
                INVALID, d_whole(R_MALFORMED));
    simple_case("reserved = 0x8000",
                req_raw(CONF, 0x8000, t.epoch, 1, 0, one, 1), INVALID,
                d_whole(R_MALFORMED));
    simple_case("reserved2 = 1", req_raw(CAND, 0, t.epoch, 1, 1, one, 1),
                INVALID, d_whole(R_MALFORMED));
    simple_case("reserved2 = 0x80000000",
                req_raw(CONF, 0, t.epoch, 1, 0x80000000, one, 1), INVALID,
                d_whole(R_MALFORMED));
    /* Framing is checked before the epoch. */
    simple_case("bad type and stale epoch",
                req_raw(7, 0, t.epoch + 1, 1, 0, one, 1), INVALID,
                d_whole(R_MALFORMED));
}

/* Descriptor chain shapes around an otherwise valid request. */
static void test_buffers(void)
{
    uint8_t rom[16], rom2[16];
    Chain c;
    Stats d;

    if (!ready()) {
        return;
    }
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    run_case("no response buffer", &c, NO_RESPONSE, d_whole(R_MALFORMED));
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 8);
    run_case("8-byte response buffer", &c, NO_RESPONSE,
             d_whole(R_MALFORMED));
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 15);
    run_case("15-byte response buffer", &c, NO_RESPONSE,
             d_whole(R_MALFORMED));
    chain_init(&c, NULL, 16);
    run_case("response buffer only", &c, INVALID, d_whole(R_MALFORMED));

    d = d_batch(CAND, 1);
    d.armed = 1;
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 4096);
    run_case("4 KiB response buffer", &c, OK(1, 0), d);
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add(&c, 8, true);
    chain_add(&c, 8, true);
    run_case("response split 8 + 8", &c, OK(1, 0), d);
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add(&c, 2, true);
    chain_add(&c, 3, true);
    chain_add(&c, 11, true);
    chain_add(&c, 16, true);
    run_case("response split 2 + 3 + 11 + 16", &c, OK(1, 0), d);
    chain_init(&c, NULL, 0);
    c.out = req1(CAND, t.epoch, fresh_page(), PAGE);
    chain_add(&c, 3, false);
    chain_add(&c, 10, false);
    chain_add(&c, 1, false);
    chain_add(&c, 18, false);
    chain_add(&c, 16, true);
    run_case("request split 3 + 10 + 1 + 18", &c, OK(1, 0), d);
    chain_init(&c, NULL, 0);
    c.out = req1(CAND, t.epoch, fresh_page(), PAGE);
    chain_add(&c, 16, false);
    chain_add(&c, 16, false);
    chain_add(&c, 16, false);   /* zero padding */
    chain_add(&c, 16, true);
    run_case("16 bytes of padding in a third descriptor", &c, INVALID,
             d_whole(R_MALFORMED));

    /*
     * Buffers outside RAM: the device maps them through a bounce buffer.
     * A request read from the PCI hole is garbage; a response written
     * there is lost, but the request is still applied.
     */
    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, PCI_HOLE_FREE, 32, false);
    chain_add(&c, 16, true);
    run_case("request read from the PCI hole", &c, INVALID,
             d_whole(R_MALFORMED));
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add_fixed(&c, PCI_HOLE_FREE, 16, true);
    run_chains(&t.d, &c, 1, true);
    g_assert_true(c.used);
    g_assert_cmpuint(c.used_len, ==, 16);
    stats_add(&t.expect, &d, 1);
    check_stats("response written to the PCI hole");
    chain_clear(&c);

    /* A request out of the BIOS ROM (read-only memory). */
    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, 0xfffffff0ULL, 16, false);
    chain_add(&c, 16, true);
    run_case("request read from the BIOS ROM", &c, INVALID,
             d_whole(R_MALFORMED));

    /* A response buffer in ROM: the write is dropped, the device goes on. */
    qtest_memread(t.src, 0xfffc0000ULL, rom, sizeof(rom));
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add_fixed(&c, 0xfffc0000ULL, 16, true);
    run_chains(&t.d, &c, 1, true);
    g_assert_true(c.used);
    stats_add(&t.expect, &d, 1);
    check_stats("response written to the BIOS ROM");
    chain_clear(&c);
    qtest_memread(t.src, 0xfffc0000ULL, rom2, sizeof(rom2));
    g_assert_true(memcmp(rom, rom2, sizeof(rom)) == 0);

    /* A 12 MiB request of zeros in RAM: read up to the device's cap. */
    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, HINT, 12 * MiB, false);
    chain_add(&c, 16, true);
    run_case("12 MiB request descriptor", &c, INVALID, d_whole(R_MALFORMED));
}

static void test_epochs(void)
{
    static const uint32_t bad[] = { 0, 2, 3, 0x100, 0x7fffffff, 0x80000000,
                                    0xfffffffe, 0xffffffff };
    uint64_t filler[2 * 4];
    unsigned i;

    if (!ready()) {
        return;
    }
    for (i = 0; i < 4; i++) {
        filler[2 * i] = FILLER + i * 2 * MiB;
        filler[2 * i + 1] = 1 * MiB;
    }
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *n1 = g_strdup_printf("candidates, epoch %u", bad[i]);
        g_autofree char *n2 = g_strdup_printf("confirm, epoch %u", bad[i]);

        g_assert_cmpuint(bad[i], !=, t.epoch);
        simple_case(n1, req1(CAND, bad[i], HINT, PAGE), STALE,
                    d_stale(CAND, 1));
        simple_case(n2, req(CONF, bad[i], filler, 4), STALE,
                    d_stale(CONF, 4));
    }
    /* Armed ranges (test_legit) confirmed with a wrong epoch. */
    simple_case("confirm armed ranges, future epoch",
                req1(CONF, t.epoch + 1, MISC, 6 * PAGE), STALE,
                d_stale(CONF, 1));
    /* Stale epoch wins over bad ranges (they are not looked at). */
    simple_case("stale epoch, bad ranges",
                req1(CAND, t.epoch + 1, 0xe0000000ULL, 3), STALE,
                d_stale(CAND, 1));
}

/* CONFIRM of ranges that were never armed in this epoch. */
static void test_not_armed(void)
{
    uint64_t r[2 * 8], mixed[] = {
        A1 + 2 * MiB, 256 * KiB,            /* armed in test_legit */
        FILLER, 1 * MiB,                    /* never armed */
        A1 + 256 * KiB, 256 * KiB,          /* never armed (gap) */
        0xe0000000ULL, PAGE,                /* out of RAM */
        HINT + 1, PAGE,                     /* misaligned */
    };
    Stats d;
    unsigned i;

    if (!ready()) {
        return;
    }
    simple_case("confirm never-armed FILLER range",
                req1(CONF, t.epoch, FILLER + 16 * MiB, 1 * MiB), OK(0, 1),
                d_range_reject(CONF, R_NOT_ARMED));
    for (i = 0; i < 8; i++) {
        r[2 * i] = FILLER + i * 4 * MiB;
        r[2 * i + 1] = 2 * MiB;
    }
    d = d_batch(CONF, 8);
    d.rej[R_NOT_ARMED] = 8;
    simple_case("confirm 8 never-armed FILLER ranges",
                req(CONF, t.epoch, r, 8), OK(0, 8), d);
    /*
     * Most of RAM but PATTERN and FILLER: only the armed pieces are
     * skipped, i.e. those armed and not yet confirmed: the max-ranges
     * pages in MAXR and the good ranges of the mixed request in
     * test_alignment (3 pages).  The unarmed rest of CLIP must survive.
     */
    {
        uint64_t most[] = { 0x100000, PATTERN - 0x100000,
                            CLIP, MAXR + 32 * MiB - CLIP };

        d = d_batch(CONF, 2);
        d.rej[R_NOT_ARMED] = 2;
        d.skipped = t.max_ranges + 3;
        simple_case("confirm most of RAM", req(CONF, t.epoch, most, 2),
                    OK(1, 1), d);
    }
    d = d_batch(CONF, 5);
    d.rej[R_NOT_ARMED] = 2;
    d.rej[R_OOR] = 1;
    d.rej[R_MISALIGNED] = 1;
    simple_case("confirm armed, unarmed and invalid ranges",
                req(CONF, t.epoch, mixed, 5), OK(1, 4), d);
}

/* 2000 requests in batches of 32, a deterministic mix. */
#define FLOOD 2000
#define FLOOD_BATCH 32
#define FLOOD_KINDS 8
static void test_flood(void)
{
    Stats kind[FLOOD_KINDS] = {};
    Want want[FLOOD_KINDS];
    uint64_t count[FLOOD_KINDS] = {};
    gint64 start = g_get_monotonic_time();
    Stats before = t.expect;
    unsigned i, k;

    if (!ready()) {
        return;
    }
    kind[0] = d_batch(CAND, 4);
    kind[0].armed = 4;
    want[0] = OK(4, 0);
    kind[1] = d_batch(CONF, 4);
    want[1] = OK(4, 0);
    kind[2] = d_whole(R_MALFORMED);
    want[2] = INVALID;
    kind[3] = d_stale(CAND, 1);
    want[3] = STALE;
    kind[4] = d_range_reject(CONF, R_NOT_ARMED);
    want[4] = OK(0, 1);
    kind[5] = d_whole(R_OVER_LIMIT);
    want[5] = INVALID;
    kind[6] = d_batch(CAND, 2);
    kind[6].rej[R_OOR] = 1;
    kind[6].rej[R_MISALIGNED] = 1;
    want[6] = OK(0, 2);
    kind[7] = d_whole(R_MALFORMED);
    want[7] = INVALID;

    for (i = 0; i < FLOOD; i += FLOOD_BATCH) {
        unsigned n = MIN(FLOOD_BATCH, FLOOD - i);
        Chain c[FLOOD_BATCH];

        for (k = 0; k < n; k++) {
            unsigned seq = i + k, kd = seq % FLOOD_KINDS;
            uint64_t a = A1 + 256 * KiB + (seq % 64) * 512 * KiB;
            uint64_t f = FLOODA + (seq / FLOOD_KINDS) * 8 * PAGE;
            uint64_t cand[] = { f, PAGE, f + 2 * PAGE, PAGE,
                                f + 4 * PAGE, PAGE, f + 6 * PAGE, PAGE };
            uint64_t conf[] = { HINT, PAGE, HINT + 2 * MiB, PAGE,
                                HINT + 4 * MiB, PAGE, HINT + 6 * MiB, PAGE };
            uint64_t bad[] = { 0xe0000000ULL, PAGE, a + 8, PAGE };
            uint64_t one[] = { a, PAGE };
            GByteArray *b = NULL;

            switch (kd) {
            case 0:
                b = req(CAND, t.epoch, cand, 4);
                break;
            case 1:
                b = req(CONF, t.epoch, conf, 4);
                break;
            case 2:
                b = req_raw(CAND, 0, t.epoch, 3, 0, cand, 4);
                break;
            case 3:
                b = req1(CAND, t.epoch + 1 + seq, a, PAGE);
                break;
            case 4:
                b = req1(CONF, t.epoch, FILLER + (seq % 32) * MiB, PAGE);
                break;
            case 5:
                b = req_raw(CONF, 0, t.epoch, t.max_ranges + 1 + seq, 0,
                            one, 1);
                break;
            case 6:
                b = req(CAND, t.epoch, bad, 2);
                break;
            case 7:
                b = req_raw(0x42 + seq, 0, t.epoch, 1, 0, one, 1);
                break;
            }
            chain_init(&c[k], b, 16);
            count[kd]++;
        }
        run_chains(&t.d, c, n, true);
        for (k = 0; k < n; k++) {
            check_chain("flood", &c[k], want[(i + k) % FLOOD_KINDS]);
            chain_clear(&c[k]);
        }
    }
    for (k = 0; k < FLOOD_KINDS; k++) {
        stats_add(&t.expect, &kind[k], count[k]);
    }
    g_assert_cmpuint(t.expect.requests - before.requests, ==, FLOOD);
    check_stats("flood");
    g_test_message("flood: %u requests in %" PRId64 " ms", FLOOD,
                   (g_get_monotonic_time() - start) / 1000);
    assert_alive(t.src);
}

/* Re-initialize the device and check it answers a valid request. */
static void reinit_and_probe(const char *what)
{
    Stats d = d_batch(CAND, 1);
    g_autofree char *name = g_strdup_printf("%s: request after re-init",
                                            what);

    qvirtqueue_cleanup(t.d.dev->vdev.bus, t.d.vq, &t.d.alloc);
    driver_setup_queue(&t.d, true);
    d.armed = 1;
    simple_case(name, req1(CAND, t.epoch, fresh_page(), PAGE), OK(1, 0), d);
}

/* Device reset with requests in flight, and requests around it. */
static void test_reset(void)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * HEAVY_PAGES);
    Chain c[16];
    Stats s, d;
    uint64_t taken, armed;
    unsigned i, k;

    if (!ready()) {
        return;
    }
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
        chain_init(&c[k], req(CAND, t.epoch, m, HEAVY_PAGES), 16);
    }
    run_chains(&t.d, c, 16, false);
    t.d.dev->vdev.bus->set_status(&t.d.dev->vdev, 0);
    g_assert_cmphex(dev_status(&t.d), ==, 0);
    for (i = 0; i < 16; i++) {
        chain_clear(&c[i]);
    }
    read_stats(t.src, &s, NULL);
    taken = s.requests - t.expect.requests;
    armed = s.armed - t.expect.armed;
    g_test_message("reset: %" PRIu64 " of 16 requests taken, %" PRIu64
                   " completed", taken, armed / HEAVY_PAGES);
    g_assert_cmpuint(taken, >=, 1);
    g_assert_cmpuint(taken, <=, 16);
    g_assert_cmpuint(armed % HEAVY_PAGES, ==, 0);
    g_assert_cmpuint(armed / HEAVY_PAGES, <=, taken);
    g_assert_cmpuint(armed / HEAVY_PAGES, >=, taken - 1);
    d = d_batch(CAND, HEAVY_PAGES);
    stats_add(&t.expect, &d, taken);
    t.expect.armed += armed;
    check_stats("reset in flight");
    assert_alive(t.src);

    /* Kicks while reset: no ring, nothing happens. */
    t.d.dev->vdev.bus->virtqueue_kick(&t.d.dev->vdev, t.d.vq);
    qpci_io_writew(t.d.dev->pdev, t.d.dev->bar, t.d.dev->notify_cfg_offset,
                   5);
    check_stats("kick while reset");

    /*
     * Set up a ring but no DRIVER_OK yet.  The device must not use buffers
     * before DRIVER_OK (virtio 1.2, 3.1.2), however often it is kicked; it
     * takes the waiting one when DRIVER_OK is set, with no further kick.
     */
    qvirtqueue_cleanup(t.d.dev->vdev.bus, t.d.vq, &t.d.alloc);
    driver_setup_queue(&t.d, false);
    chain_init(&c[0], req1(CAND, t.epoch, fresh_page(), PAGE), 16);
    run_chains(&t.d, c, 1, false);
    t.d.dev->vdev.bus->virtqueue_kick(&t.d.dev->vdev, t.d.vq);
    g_assert_false(wait_used_idx(&t.d, t.d.avail_idx, 200 * 1000));
    check_stats("before DRIVER_OK");
    qvirtio_set_driver_ok(&t.d.dev->vdev);
    g_assert_true(wait_used_idx(&t.d, t.d.avail_idx, 5 * 1000 * 1000));
    t.d.used_idx++;
    d = d_batch(CAND, 1);
    d.armed = 1;
    stats_add(&t.expect, &d, 1);
    chain_clear(&c[0]);
    check_stats("taken at DRIVER_OK");

    /* A clean re-init: both phases work, in the same (still open) epoch. */
    g_assert_cmpuint(qvirtio_config_readl(&t.d.dev->vdev, 0), ==, t.epoch);
    reinit_and_probe("reset");
    d = d_batch(CAND, 1);
    d.armed = 16;
    simple_case("after reset: candidates",
                req1(CAND, t.epoch, MISC + 1 * MiB, 16 * PAGE),
                OK(1, 0), d);
    d = d_batch(CONF, 1);
    d.skipped = 16;
    simple_case("after reset: confirm",
                req1(CONF, t.epoch, MISC + 1 * MiB, 16 * PAGE),
                OK(1, 0),
                d);
}

/*
 * A ring the virtio core refuses: it marks the device broken
 * (NEEDS_RESET), QEMU stays up, and a reset brings the device back.
 */
static void break_ring(const char *what, Chain *c, unsigned n)
{
    Stats s;

    g_test_message("broken ring: %s", what);
    run_chains(&t.d, c, n, false);
    read_stats(t.src, &s, NULL);
    g_assert_cmpuint(s.requests, ==, t.expect.requests);
    g_assert_true(dev_status(&t.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_alive(t.src);
    reinit_and_probe(what);
}

static void test_broken_ring(void)
{
    Chain c;
    unsigned i;

    if (!ready()) {
        return;
    }
    chain_init(&c, req1(CAND, t.epoch, HINT, PAGE), 0);
    chain_add(&c, 16, true);
    chain_add(&c, 16, false);
    break_ring("readable descriptor after a writable one", &c, 1);
    chain_clear(&c);

    chain_init(&c, req1(CAND, t.epoch, HINT, PAGE), 0);
    c.seg[0].next = 0;
    break_ring("descriptor chained to itself", &c, 1);
    chain_clear(&c);

    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, HINT, 0, false);
    chain_add(&c, 16, true);
    break_ring("zero-length descriptor", &c, 1);

    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, PCI_HOLE_FREE, 64 * KiB, false);
    chain_add(&c, 16, true);
    break_ring("64 KiB request in the PCI hole (beyond the bounce buffer)",
               &c, 1);

    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, 0x1000000000ULL, 16, false);
    chain_add(&c, 16, true);
    /* Far above RAM: also bounce-buffered, read as garbage. */
    run_case("request at 64 GiB", &c, INVALID, d_whole(R_MALFORMED));

    chain_init(&c, NULL, 0);
    c.out = req1(CAND, t.epoch, HINT, PAGE);
    for (i = 0; i < MAX_SEGS; i++) {
        chain_add(&c, 4, false);
    }
    c.seg[MAX_SEGS - 1].next = 1;   /* loops back into the chain */
    break_ring("chain looping through 8 descriptors", &c, 1);
    chain_clear(&c);

    /* Head index out of range (the ring has vq->size entries). */
    g_test_message("broken ring: head index %u of %u", t.d.vq->size + 7,
                   t.d.vq->size);
    qtest_writew(t.src, t.d.vq->avail + 4 +
                 2 * (t.d.avail_idx % t.d.vq->size), t.d.vq->size + 7);
    qtest_writew(t.src, t.d.vq->avail + 2, ++t.d.avail_idx);
    t.d.dev->vdev.bus->virtqueue_kick(&t.d.dev->vdev, t.d.vq);
    g_assert_true(dev_status(&t.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_alive(t.src);
    reinit_and_probe("head index out of range");

    check_stats("broken rings");

    /*
     * avail->idx moved by more than the ring size, every ring slot naming
     * the same chain.  QEMU's split-ring pop does not check the distance
     * (only virtqueue_num_heads() does, on other paths), so the device
     * serves the chain ring-size + 1000 times, one after the other.  The
     * page was armed before, so none of them arms anything.  QEMU stays up
     * and the device stays usable.
     */
    {
        uint32_t n = t.d.vq->size + 1000;
        uint64_t page = fresh_page();
        g_autofree uint16_t *heads = g_new0(uint16_t, t.d.vq->size);
        Chain c;

        g_test_message("replayed chain: avail idx + %u", n);
        chain_init(&c, req1(CAND, t.epoch, page, PAGE), 16);
        run_chains(&t.d, &c, 1, true);
        check_chain("replayed chain, first", &c, OK(1, 0));
        chain_clear(&c);
        stats_add(&t.expect, &(Stats){ .requests = 1, .cand = 1, .ranges = 1,
                                       .armed = 1 }, 1);
        qtest_memwrite(t.src, t.d.vq->avail + 4, heads,
                       2 * t.d.vq->size);
        /*
         * The chain's descriptors (0, 1) still point at freed memory: make
         * them a request again.
         */
        c.out = req1(CAND, t.epoch, page, PAGE);
        {
            uint64_t buf = guest_alloc(&t.d.alloc, 64);

            qtest_memwrite(t.src, buf, c.out->data, c.out->len);
            qtest_writeq(t.src, t.d.vq->desc, buf);
            qtest_writel(t.src, t.d.vq->desc + 8, c.out->len);
            qtest_writeq(t.src, t.d.vq->desc + 16, buf + 32);
            qtest_writel(t.src, t.d.vq->desc + 24, 16);
            chain_clear(&c);
            t.d.avail_idx += n;
            qtest_writew(t.src, t.d.vq->avail + 2, t.d.avail_idx);
            t.d.dev->vdev.bus->virtqueue_kick(&t.d.dev->vdev, t.d.vq);
            g_assert_true(wait_used_idx(&t.d, t.d.avail_idx, TIMEOUT_US));
            t.d.used_idx = t.d.avail_idx;
            g_assert_cmpuint(qtest_readw(t.src, buf + 32), ==,
                             VIRTIO_FPH_S_OK);
            guest_free(&t.d.alloc, buf);
        }
        g_assert_false(dev_status(&t.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
        /* Armed by the first one: never again. */
        stats_add(&t.expect, &(Stats){ .requests = 1, .cand = 1,
                                       .ranges = 1 }, n);
        check_stats("replayed chain");
        assert_alive(t.src);
    }
    reinit_and_probe("replayed chain");
    check_stats("broken rings");
}

/* Wait until the device status satisfies @want (masked by @mask). */
static bool wait_status(uint8_t mask, uint8_t want)
{
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while ((dev_status(&t.d) & mask) != want) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(1000);
    }
    return true;
}

/*
 * Responses written by DMA into the device's own registers.  The device
 * writes a response when it completes a request (virtqueue_push unmaps
 * the buffer); a driver can aim that at the device's MMIO.  QEMU's
 * re-entrancy guard covers DMA issued from within an MMIO handler of the
 * same device or from a guarded BH: fph completes requests that had work
 * from a guarded BH (refused), the others from the ioeventfd handler
 * (not covered: the device resets itself and recovers).
 */
static void test_dma_into_device(void)
{
    uint64_t common = t.d.dev->bar.addr + t.d.dev->common_cfg_offset;
    /* virtio_pci_common_cfg.device_status */
    uint64_t status_reg = common + 20;
    Chain c;
    Stats d;

    if (!ready()) {
        return;
    }
    g_test_message("common config at 0x%" PRIx64, common);

    /*
     * A request with work, completed from the done BH, its response aimed
     * at device_status: the BH is guarded (virtio_bh_new_guarded), so the
     * write into the device's own registers is refused and the device
     * keeps its status; the request is answered (used) and counted once.
     */
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add_fixed(&c, status_reg, 16, true);
    run_chains(&t.d, &c, 1, false);
    g_assert_true(wait_used_idx(&t.d, t.d.avail_idx, 5 * G_USEC_PER_SEC));
    g_assert_cmphex(dev_status(&t.d) & VIRTIO_CONFIG_S_DRIVER_OK, ==,
                    VIRTIO_CONFIG_S_DRIVER_OK);
    chain_clear(&c);
    d = d_batch(CAND, 1);
    d.armed = 1;
    stats_add(&t.expect, &d, 1);
    check_stats("response into the device refused (guarded BH)");
    assert_alive(t.src);
    reinit_and_probe("response into the device refused (guarded BH)");

    /*
     * A request without work, completed inline from the queue handler (the
     * ioeventfd handler): CONFIRM of an unarmed range is answered OK, so
     * again device_status = 0.  Stopping ioeventfd on the way re-runs the
     * queue handler from within itself; a second request is queued behind
     * so that the nested run has something to take.
     */
    {
        Chain cc[2];

        chain_init(&cc[0], req1(CONF, t.epoch, FILLER, PAGE), 0);
        chain_add_fixed(&cc[0], status_reg, 16, true);
        chain_init(&cc[1], req1(CONF, t.epoch, FILLER + PAGE, PAGE), 16);
        run_chains(&t.d, cc, 2, false);
        g_assert_true(wait_status(0xff, 0));
        chain_clear(&cc[0]);
        chain_clear(&cc[1]);
    }
    {
        Stats st;
        uint64_t n;

        /* One or both were taken (the second only by the nested run). */
        read_stats(t.src, &st, NULL);
        n = st.requests - t.expect.requests;
        g_test_message("inline self-reset: %" PRIu64 " of 2 requests taken",
                       n);
        g_assert_cmpuint(n, >=, 1);
        g_assert_cmpuint(n, <=, 2);
        d = d_range_reject(CONF, R_NOT_ARMED);
        stats_add(&t.expect, &d, n);
    }
    check_stats("device reset by its own response (inline)");
    assert_alive(t.src);
    reinit_and_probe("device reset by its own response (inline)");

    /*
     * A MALFORMED request (status 2: DRIVER) clears DRIVER_OK from within
     * the ioeventfd handler, which stops ioeventfd, which runs the handler
     * again; the epoch (1) goes to queue_size, nr_done (0) to queue_enable,
     * which the virtio core refuses with NEEDS_RESET.
     */
    chain_init(&c, req_raw(9, 0, t.epoch, 1, 0, NULL, 0), 0);
    chain_add_fixed(&c, status_reg, 16, true);
    run_chains(&t.d, &c, 1, false);
    g_assert_true(wait_status(VIRTIO_CONFIG_S_DRIVER_OK |
                              VIRTIO_CONFIG_S_DRIVER,
                              VIRTIO_CONFIG_S_DRIVER));
    g_test_message("device status 0x%x", dev_status(&t.d));
    chain_clear(&c);
    stats_add(&t.expect, &(Stats){ .requests = 1,
                                   .rej[R_MALFORMED] = 1 }, 1);
    check_stats("DRIVER_OK cleared by its own response");
    assert_alive(t.src);
    reinit_and_probe("DRIVER_OK cleared by its own response");

    /* The response written to the notify register: one more kick. */
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add_fixed(&c, t.d.dev->bar.addr + t.d.dev->notify_cfg_offset, 16,
                    true);
    run_chains(&t.d, &c, 1, true);
    g_assert_cmpuint(c.used_len, ==, 16);
    chain_clear(&c);
    d = d_batch(CAND, 1);
    d.armed = 1;
    stats_add(&t.expect, &d, 1);
    check_stats("response written to the notify register");

    /* A request read from the device's own registers. */
    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, common, 64, false);
    chain_add(&c, 16, true);
    run_case("request read from the common config", &c, INVALID,
             d_whole(R_MALFORMED));
    chain_init(&c, NULL, 0);
    chain_add_fixed(&c, t.d.dev->bar.addr + t.d.dev->isr_cfg_offset, 32,
                    false);
    chain_add(&c, 16, true);
    run_case("request read from the ISR (read clears it)", &c, INVALID,
             d_whole(R_MALFORMED));
    assert_alive(t.src);
}

/*
 * A request dropped by a device reset while in flight must release the
 * guest memory it mapped (virtqueue_detach_element), as a completed one
 * does (virtqueue_push).  Mappings of non-RAM go through the device's
 * bounce buffer, 4 KiB per device by default: aim a request's response at
 * MMIO with 4 KiB, reset while it is in flight, and see whether the next
 * request with an MMIO buffer can still be mapped.
 */
static void test_reset_releases_mappings(void)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * t.max_ranges);
    Chain c;
    Stats s, d;
    unsigned i, attempt;
    bool caught = false;

    if (!ready()) {
        return;
    }
    /*
     * A CONFIRM of the max-ranges pages armed (and skipped) in MAXR: real
     * work for the worker every time, and no counter but the request's own
     * changes, whether it completes or not.  Reset right after the kick,
     * until a reset catches it taken but not answered.
     */
    for (i = 0; i < t.max_ranges; i++) {
        m[2 * i] = MAXR + i * 2 * PAGE;
        m[2 * i + 1] = PAGE;
    }
    d = d_batch(CONF, t.max_ranges);
    for (attempt = 1; attempt <= 50 && !caught; attempt++) {
        uint16_t used_before = qtest_readw(t.src, t.d.vq->used + 2);
        uint64_t taken;

        chain_init(&c, req(CONF, t.epoch, m, t.max_ranges), 0);
        chain_add_fixed(&c, PCI_HOLE_FREE, 4096, true);
        run_chains(&t.d, &c, 1, false);
        t.d.dev->vdev.bus->set_status(&t.d.dev->vdev, 0);
        chain_clear(&c);
        read_stats(t.src, &s, NULL);
        taken = s.requests - t.expect.requests;
        g_assert_cmpuint(taken, <=, 1);
        stats_add(&t.expect, &d, taken);
        caught = taken &&
                 qtest_readw(t.src, t.d.vq->used + 2) == used_before;
        check_stats("reset with an MMIO-mapped request in flight");
        qvirtqueue_cleanup(t.d.dev->vdev.bus, t.d.vq, &t.d.alloc);
        driver_setup_queue(&t.d, true);
    }
    g_test_message("request caught in flight by a reset: %s (attempt %u)",
                   caught ? "yes" : "no", attempt - 1);
    if (!caught) {
        g_test_skip("no reset caught the request in flight");
        return;
    }

    /* A request whose response needs the bounce buffer. */
    chain_init(&c, req1(CAND, t.epoch, fresh_page(), PAGE), 0);
    chain_add_fixed(&c, PCI_HOLE_FREE, 16, true);
    run_chains(&t.d, &c, 1, false);
    chain_clear(&c);
    if (wait_used_idx(&t.d, t.d.avail_idx, 2 * G_USEC_PER_SEC)) {
        t.d.used_idx = t.d.avail_idx;
        d = d_batch(CAND, 1);
        d.armed = 1;
        stats_add(&t.expect, &d, 1);
        check_stats("MMIO buffer after the reset");
        return;
    }
    g_assert_true(dev_status(&t.d) & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_alive(t.src);
    reinit_and_probe("bounce buffer exhausted");
    /* Regression: a reset must unmap what it drops. */
    g_test_message("fph_reset() dropped in-flight elements without "
                   "virtqueue_detach_element(): their mappings leaked "
                   "(here the device's 4 KiB bounce buffer)");
    g_test_fail();
}

/*
 * The VM stops and resumes with requests queued and in flight: the device
 * answers what is in flight before the VM stops, takes nothing while it
 * is stopped, and the rest after it resumes (still in the same epoch:
 * stopping the VM does not end it, only a bitmap sync does).
 */
static void test_vm_stop(void)
{
    g_autofree uint64_t *m = g_new(uint64_t, 2 * HEAVY_PAGES);
    Chain c[3];
    Stats d;
    uint16_t used_at_stop, used_later;
    unsigned i, k;

    if (!ready()) {
        return;
    }
    for (k = 0; k < 3; k++) {
        for (i = 0; i < HEAVY_PAGES; i++) {
            m[2 * i] = STOPA + k * 2 * MiB + i * 2 * PAGE;
            m[2 * i + 1] = PAGE;
        }
        chain_init(&c[k], req(CAND, t.epoch, m, HEAVY_PAGES), 16);
    }
    run_chains(&t.d, c, 3, false);
    qtest_qmp_assert_success(t.src, "{'execute': 'stop'}");
    used_at_stop = qtest_readw(t.src, t.d.vq->used + 2);
    g_usleep(200 * 1000);
    used_later = qtest_readw(t.src, t.d.vq->used + 2);
    g_test_message("VM stopped with %u of 3 requests answered",
                   (uint16_t)(used_at_stop - t.d.used_idx));
    g_assert_cmpuint(used_later, ==, used_at_stop);
    g_assert_cmpuint((uint16_t)(used_at_stop - t.d.used_idx), <=, 3);
    qtest_qmp_assert_success(t.src, "{'execute': 'cont'}");
    g_assert_true(wait_used_idx(&t.d, t.d.avail_idx, TIMEOUT_US));
    for (k = 0; k < 3; k++, t.d.used_idx++) {
        uint64_t e = t.d.vq->used + 4 + 8 * (t.d.used_idx % t.d.vq->size);

        g_assert_cmpuint(qtest_readl(t.src, e + 4), ==, 16);
        chain_clear(&c[k]);
    }
    d = d_batch(CAND, HEAVY_PAGES);
    d.armed = HEAVY_PAGES;
    stats_add(&t.expect, &d, 3);
    check_stats("stop and cont");
    assert_alive(t.src);
}

/* All of the above happened inside the one epoch, with precopy running. */
static void test_epoch_held(void)
{
    g_autofree char *st = NULL;
    uint32_t epoch;
    Stats s;

    if (!ready()) {
        return;
    }
    read_stats(t.src, &s, &epoch);
    g_assert_cmpuint(epoch, ==, t.epoch);
    g_assert_cmpuint(qvirtio_config_readl(&t.d.dev->vdev, 0), ==, t.epoch);
    g_assert_cmpstr(migrate_status(t.src, &st), ==, "active");
    assert_alive(t.src);
    check_stats("end of the hostile phase");
}

static bool mem_equals_byte(QTestState *qts, uint64_t addr, uint64_t len,
                            uint8_t byte)
{
    g_autofree uint8_t *buf = g_malloc(4 * MiB);
    uint64_t off, i;

    for (off = 0; off < len; off += 4 * MiB) {
        uint64_t n = MIN(4 * MiB, len - off);

        mem_read(qts, addr + off, buf, n);
        for (i = 0; i < n; i++) {
            if (buf[i] != byte) {
                g_test_message("0x%" PRIx64 ": 0x%02x, expected 0x%02x",
                               addr + off + i, buf[i], byte);
                return false;
            }
        }
    }
    return true;
}

static void test_migration_completes(void)
{
    gint64 start = g_get_monotonic_time();
    g_autoptr(QDict) info = NULL;
    g_autofree uint8_t *buf = NULL;
    uint32_t epoch;
    Stats s;

    if (!ready()) {
        return;
    }
    set_bandwidth(t.src, 10ULL * 1024 * MiB);
    wait_migration(t.src, "completed", 30);
    g_test_message("migration completed %" PRId64 " ms after raising the "
                   "bandwidth", (g_get_monotonic_time() - start) / 1000);
    wait_migration(t.dst, "completed", 10);
    assert_alive(t.dst);

    /* Guest RAM on the destination. */
    buf = g_malloc(PATTERN_LEN);
    mem_read(t.dst, PATTERN, buf, PATTERN_LEN);
    g_assert_true(memcmp(buf, t.pattern, PATTERN_LEN) == 0);
    /* Every hostile hint at FILLER was refused. */
    g_assert_true(mem_equals_byte(t.dst, FILLER, FILLER_LEN, FILLER_BYTE));
    /* Only the armed piece of the clipped confirm was skipped. */
    g_assert_true(mem_equals_byte(t.dst, CLIP, CLIP_ARMED - CLIP, CLIP_BYTE));
    g_assert_true(mem_equals_byte(t.dst, CLIP_ARMED, CLIP_ARMED_LEN, 0));
    g_assert_true(mem_equals_byte(t.dst, CLIP_ARMED + CLIP_ARMED_LEN,
                                  CLIP + CLIP_LEN -
                                  (CLIP_ARMED + CLIP_ARMED_LEN), CLIP_BYTE));
    /* And the source still has it all (nothing was written by hints). */
    mem_read(t.src, PATTERN, buf, PATTERN_LEN);
    g_assert_true(memcmp(buf, t.pattern, PATTERN_LEN) == 0);

    /* The source: epoch closed, counters as expected. */
    read_stats(t.src, &s, &epoch);
    g_assert_cmpuint(epoch, ==, VIRTIO_FPH_EPOCH_NONE);
    g_assert_cmpuint(qvirtio_config_readl(&t.d.dev->vdev, 0), ==,
                     VIRTIO_FPH_EPOCH_NONE);
    check_stats("source after migration");
    info = qmp_return(t.src, "{'execute': 'query-fph-stats'}");
    g_test_message("source: epochs-seen %" PRId64 ", pages-skipped %" PRId64,
                   qdict_get_int(info, "epochs-seen"),
                   qdict_get_int(info, "pages-skipped"));
    g_assert_cmpint(qdict_get_int(info, "epochs-seen"), >=, 1);
    g_assert_true(qdict_get_bool(info, "driver-ok"));
}

/* The destination device serves the migrated ring: no epoch there. */
static void test_destination_device(void)
{
    g_autoptr(QDict) info = NULL;
    Chain c;

    if (!ready()) {
        return;
    }
    info = qmp_return(t.dst, "{'execute': 'query-fph-stats'}");
    g_assert_true(qdict_get_bool(info, "driver-ok"));
    g_assert_cmpint(qdict_get_int(info, "epoch"), ==, 0);
    g_assert_cmpint(qdict_get_int(info, "requests"), ==, 0);
    qobject_unref(info);

    driver_unbind(&t.d);
    driver_bind(&t.d, t.dst);
    /* What the driver negotiated on the source came along. */
    t.d.dev->vdev.features = 1ull << VIRTIO_F_VERSION_1;
    t.d.dev->vdev.features_negotiated = true;
    t.d.vq->vdev = &t.d.dev->vdev;
    g_assert_cmpuint(qvirtio_config_readl(&t.d.dev->vdev, 0), ==, 0);
    chain_init(&c, req1(CAND, t.epoch, HINT, PAGE), 16);
    run_chains(&t.d, &c, 1, true);
    g_assert_true(c.used);
    g_assert_cmpuint(c.used_len, ==, 16);
    g_assert_cmpuint(resp_status(&c), ==, VIRTIO_FPH_S_STALE);
    g_assert_cmpuint(ldl_le_p(c.in + 4), ==, 0);
    chain_clear(&c);

    info = qmp_return(t.dst, "{'execute': 'query-fph-stats'}");
    g_assert_cmpint(qdict_get_int(info, "requests"), ==, 1);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "rejected"),
                                  "stale-epoch"), ==, 1);
    assert_alive(t.dst);
}

/*
 * The guest ejects its own device (ACPI PCI hotplug: one port write, no
 * device_del needed, and not blocked during migration) while a request
 * with work is in flight in an open epoch.  Its own pair of QEMUs: the
 * device is gone afterwards.
 *
 * QEMU is not instrumented, so this only checks that it survives.  Run
 * the source under valgrind to see use-after-free in the unplug path:
 *   FPH_EJECT_QEMU_BINARY=<script: exec valgrind ... qemu-system-x86_64 "$@">
 *   fph-hostile-qtest -p /x86_64/fph/hostile/eject-in-flight
 */
#define ACPI_PCIHP_EJECT 0xae08
static void test_eject_in_flight(void)
{
    g_autofree char *dir = g_dir_make_tmp("fph-hostile-XXXXXX", NULL);
    g_autofree char *sock = g_strdup_printf("%s/migsock", dir);
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    g_autofree uint64_t *m = g_new(uint64_t, 2 * 1024);
    QTestState *src, *dst;
    Driver d = {};
    Chain c;
    gint64 end;
    unsigned i;

    /* FPH_EJECT_QEMU_BINARY: e.g. the source under valgrind. */
    src = qtest_init_with_env("FPH_EJECT_QEMU_BINARY", MACHINE, true);
    dst = qtest_init(MACHINE "-incoming defer");
    alloc_init(&d.alloc, 0, ALLOC_START, ALLOC_END, PAGE);
    driver_bind(&d, src);
    driver_setup_queue(&d, true);
    qtest_memset(src, FILLER, FILLER_BYTE, FILLER_LEN);
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming',"
                             " 'arguments': {'uri': %s}}", uri);
    set_bandwidth(src, SLOW_BANDWIDTH);
    qtest_qmp_assert_success(src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", uri);
    end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!qvirtio_config_readl(&d.dev->vdev, 0)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }

    for (i = 0; i < 1024; i++) {
        m[2 * i] = HINT + i * 2 * PAGE;
        m[2 * i + 1] = PAGE;
    }
    chain_init(&c, req(CAND, 1, m, 1024), 16);
    run_chains(&d, &c, 1, false);
    qtest_outl(src, ACPI_PCIHP_EJECT, 1 << 4);    /* slot 4: FPH_DEVFN */
    chain_clear(&c);
    {
        g_autoptr(QDict) info = qmp_return(src,
                                           "{'execute': 'query-fph-stats'}");

        g_test_message("after the eject: device-present %d, requests %"
                       PRId64, qdict_get_bool(info, "device-present"),
                       qdict_get_int(info, "requests"));
        g_assert_false(qdict_get_bool(info, "device-present"));
    }
    assert_alive(src);
    qtest_qmp_assert_success(src, "{'execute': 'migrate_cancel'}");
    qtest_set_expected_status(dst, EXIT_FAILURE);   /* incoming failed */
    qos_object_destroy(&d.dev->obj);
    qpci_free_pc(d.bus);
    alloc_destroy(&d.alloc);
    qtest_quit(src);
    qtest_quit(dst);
    g_unlink(sock);
    g_rmdir(dir);
}

static void cleanup(void)
{
    if (t.d.dev) {
        driver_unbind(&t.d);
    }
    if (t.src) {
        qtest_quit(t.src);
    }
    if (t.dst) {
        qtest_quit(t.dst);
    }
    if (t.tmpdir) {
        g_autofree char *sock = g_strdup_printf("%s/migsock", t.tmpdir);

        g_unlink(sock);
        g_rmdir(t.tmpdir);
        g_free(t.tmpdir);
    }
    if (t.pattern) {    /* set up by test_setup */
        alloc_destroy(&t.d.alloc);
        g_free(t.pattern);
    }
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/fph/hostile/setup", test_setup);
    qtest_add_func("/fph/hostile/legit-hints", test_legit);
    qtest_add_func("/fph/hostile/out-of-ram", test_out_of_ram);
    qtest_add_func("/fph/hostile/alignment", test_alignment);
    qtest_add_func("/fph/hostile/framing", test_framing);
    qtest_add_func("/fph/hostile/buffers", test_buffers);
    qtest_add_func("/fph/hostile/epochs", test_epochs);
    qtest_add_func("/fph/hostile/not-armed", test_not_armed);
    qtest_add_func("/fph/hostile/flood", test_flood);
    qtest_add_func("/fph/hostile/reset", test_reset);
    qtest_add_func("/fph/hostile/broken-ring", test_broken_ring);
    qtest_add_func("/fph/hostile/dma-into-device", test_dma_into_device);
    qtest_add_func("/fph/hostile/reset-releases-mappings",
                   test_reset_releases_mappings);
    qtest_add_func("/fph/hostile/vm-stop", test_vm_stop);
    qtest_add_func("/fph/hostile/epoch-held", test_epoch_held);
    qtest_add_func("/fph/hostile/migration-completes",
                   test_migration_completes);
    qtest_add_func("/fph/hostile/destination-device",
                   test_destination_device);
    qtest_add_func("/fph/hostile/eject-in-flight", test_eject_in_flight);
    ret = g_test_run();
    cleanup();
    return ret;
}
