/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqos driver for virtio-fph-pci: see virtio-fph.h.
 */

#include "qemu/osdep.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/pci_regs.h"
#include "virtio-fph.h"

#define XFER_CHUNK (64 * 1024)

#define QFPH_REJ_KEY(up, low, key) [QFPH_REJ_##up] = key,
const char *const qfph_reject_keys[QFPH_REJ__MAX] = {
    FPH_REJECT_REASONS(QFPH_REJ_KEY)
};
#undef QFPH_REJ_KEY

/* --- the device -------------------------------------------------------- */

void qvirtio_fph_bind(QVirtioFph *d, QTestState *qts, int devfn)
{
    QPCIAddress addr = { .devfn = devfn };

    d->qts = qts;
    d->bus = qpci_new_pc(qts, NULL);
    d->dev = virtio_pci_new(d->bus, &addr);
    g_assert_nonnull(d->dev);
    g_assert_cmphex(d->bus->config_readw(d->bus, devfn, 2), ==,
                    VIRTIO_FPH_PCI_DEVICE_ID);
    qvirtio_pci_device_enable(d->dev);
}

void qvirtio_fph_unbind(QVirtioFph *d)
{
    qos_object_destroy(&d->dev->obj);
    qpci_free_pc(d->bus);
    d->dev = NULL;
    d->bus = NULL;
}

void qvirtio_fph_setup_queue(QVirtioFph *d, bool driver_ok)
{
    qvirtio_fph_setup_queue_features(d, driver_ok, 0);
}

void qvirtio_fph_setup_queue_features(QVirtioFph *d, bool driver_ok,
                                      uint64_t features)
{
    uint64_t want = (1ull << VIRTIO_F_VERSION_1) | features;

    qvirtio_start_device(&d->dev->vdev);        /* reset, ACK, DRIVER */
    g_assert_cmphex(qvirtio_get_features(&d->dev->vdev) & want, ==, want);
    qvirtio_set_features(&d->dev->vdev, want);
    d->vq = qvirtqueue_setup(&d->dev->vdev, &d->alloc, 0);
    d->avail_idx = 0;
    d->used_idx = 0;
    if (driver_ok) {
        qvirtio_set_driver_ok(&d->dev->vdev);
    }
}

void qvirtio_fph_reinit(QVirtioFph *d)
{
    qvirtqueue_cleanup(d->dev->vdev.bus, d->vq, &d->alloc);
    qvirtio_fph_setup_queue(d, true);
}

void qvirtio_fph_reset(QVirtioFph *d)
{
    d->dev->vdev.bus->set_status(&d->dev->vdev, 0);
}

void qvirtio_fph_kick(QVirtioFph *d)
{
    d->dev->vdev.bus->virtqueue_kick(&d->dev->vdev, d->vq);
}

uint8_t qvirtio_fph_status(QVirtioFph *d)
{
    return d->dev->vdev.bus->get_status(&d->dev->vdev);
}

void qvirtio_fph_aim_msix(QVirtioFph *d, bool config, uint64_t addr,
                          uint32_t data)
{
    QPCIDevice *pdev = d->dev->pdev;
    uint16_t entry = config ? 1 : 0;
    uint64_t off;
    uint32_t ctrl;

    if (!pdev->msix_enabled) {
        qpci_msix_enable(pdev);
    }
    off = pdev->msix_table_off + entry * PCI_MSIX_ENTRY_SIZE;
    qpci_io_writel(pdev, pdev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_LOWER_ADDR, addr & 0xffffffffU);
    qpci_io_writel(pdev, pdev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_UPPER_ADDR, addr >> 32);
    qpci_io_writel(pdev, pdev->msix_table_bar, off + PCI_MSIX_ENTRY_DATA,
                   data);
    ctrl = qpci_io_readl(pdev, pdev->msix_table_bar,
                         off + PCI_MSIX_ENTRY_VECTOR_CTRL);
    qpci_io_writel(pdev, pdev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_VECTOR_CTRL,
                   ctrl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT);
    if (config) {
        d->dev->msix_ops->set_config_vector(d->dev, entry);
    } else {
        d->dev->msix_ops->set_queue_vector(d->dev, 0, entry);
    }
}

uint64_t qvirtio_fph_common_cfg_addr(QVirtioFph *d, uint32_t offset)
{
    return d->dev->bar.addr + d->dev->common_cfg_offset + offset;
}

bool qvirtio_fph_wait_status(QVirtioFph *d, uint8_t mask, uint8_t want,
                             gint64 timeout_us)
{
    gint64 end = g_get_monotonic_time() + timeout_us;

    while ((qvirtio_fph_status(d) & mask) != want) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(1000);
    }
    return true;
}

uint32_t qvirtio_fph_epoch(QVirtioFph *d)
{
    return qvirtio_config_readl(&d->dev->vdev,
                                offsetof(struct virtio_fph_config, epoch));
}

uint32_t qvirtio_fph_max_ranges(QVirtioFph *d)
{
    return qvirtio_config_readl(&d->dev->vdev,
                                offsetof(struct virtio_fph_config,
                                         max_ranges));
}

uint32_t qvirtio_fph_config_readl(QVirtioFph *d, uint64_t offset)
{
    return qvirtio_config_readl(&d->dev->vdev, offset);
}

void qvirtio_fph_config_writel(QVirtioFph *d, uint64_t offset, uint32_t val)
{
    qpci_io_writel(d->dev->pdev, d->dev->bar,
                   d->dev->device_cfg_offset + offset, val);
}

uint16_t qvirtio_fph_used_idx(QVirtioFph *d)
{
    return qtest_readw(d->qts, d->vq->used + 2);
}

bool qvirtio_fph_wait_used_idx(QVirtioFph *d, uint16_t want,
                               gint64 timeout_us)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        if (qvirtio_fph_used_idx(d) == want) {
            return true;
        }
        if (g_get_monotonic_time() - start > timeout_us) {
            return false;
        }
        g_usleep(50);
    }
}

/* --- chains ------------------------------------------------------------ */

void qfph_chain_add(QFphChain *c, uint32_t len, bool write)
{
    g_assert_cmpuint(c->nsegs, <, QFPH_MAX_SEGS);
    c->seg[c->nsegs++] = (QFphSeg){ .len = len, .write = write, .next = -1 };
}

void qfph_chain_add_fixed(QFphChain *c, uint64_t addr, uint32_t len,
                          bool write)
{
    qfph_chain_add(c, len, write);
    c->seg[c->nsegs - 1].fixed = true;
    c->seg[c->nsegs - 1].addr = addr;
}

void qfph_chain_init(QFphChain *c, GByteArray *out, uint32_t resp_len)
{
    memset(c, 0, sizeof(*c));
    c->out = out;
    if (out && out->len) {
        qfph_chain_add(c, out->len, false);
    }
    if (resp_len) {
        qfph_chain_add(c, resp_len, true);
    }
}

void qfph_chain_clear(QFphChain *c)
{
    if (c->out) {
        g_byte_array_unref(c->out);
    }
    c->out = NULL;
}

/*
 * Descriptors from 0: everything before has completed.  Buffers live in
 * one guest allocation per call.
 */
void qvirtio_fph_run_chains(QVirtioFph *d, QFphChain *c, unsigned n,
                            bool wait)
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
            QFphSeg *s = &c[i].seg[j];
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
        qfph_memwrite(qts, base, arena, arena_len);
    }
    qtest_memwrite(qts, d->vq->desc, desc, nd * 16);

    /* Publish and kick. */
    for (i = 0; i < n; i++) {
        qtest_writew(qts, d->vq->avail + 4 +
                     2 * ((uint16_t)(d->avail_idx + i) % size), heads[i]);
    }
    d->avail_idx += n;
    qtest_writew(qts, d->vq->avail + 2, d->avail_idx);
    qvirtio_fph_kick(d);
    if (d->kicked) {
        d->kicked(d->kicked_opaque);
    }
    if (!wait) {
        return;
    }

    g_assert_true(qvirtio_fph_wait_used_idx(d, d->avail_idx,
                                            QVIRTIO_FPH_TIMEOUT_US));
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
        qfph_memread(qts, base, arena, arena_len);
        for (i = 0; i < n; i++) {
            size_t got = 0;

            for (j = 0; j < c[i].nsegs; j++) {
                QFphSeg *s = &c[i].seg[j];

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

GByteArray *qfph_req_raw(uint16_t type, uint16_t reserved, uint32_t epoch,
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

GByteArray *qfph_req(uint16_t type, uint32_t epoch, const uint64_t *ranges,
                     unsigned n)
{
    return qfph_req_raw(type, 0, epoch, n, 0, ranges, n);
}

GByteArray *qfph_req1(uint16_t type, uint32_t epoch, uint64_t addr,
                      uint64_t len)
{
    uint64_t r[2] = { addr, len };

    return qfph_req(type, epoch, r, 1);
}

/* --- QMP and memory ---------------------------------------------------- */

QDict *qfph_qmp_return(QTestState *qts, const char *cmd)
{
    QDict *resp = qtest_qmp(qts, cmd);
    QDict *ret;

    g_assert_false(qdict_haskey(resp, "error"));
    ret = qdict_get_qdict(resp, "return");
    qobject_ref(ret);
    qobject_unref(resp);
    return ret;
}

void qfph_read_stats(QTestState *qts, QFphStats *s, uint32_t *epoch)
{
    g_autoptr(QDict) ret = qfph_qmp_return(qts,
                                           "{'execute': 'query-fph-stats'}");
    QDict *rej = qdict_get_qdict(ret, "rejected");
    int i;

    s->requests = qdict_get_int(ret, "requests");
    s->cand = qdict_get_int(ret, "candidate-batches");
    s->conf = qdict_get_int(ret, "confirm-batches");
    s->ranges = qdict_get_int(ret, "ranges-received");
    s->armed = qdict_get_int(ret, "pages-armed");
    s->skipped = qdict_get_int(ret, "pages-skipped");
    g_assert_cmpuint(qdict_get_int(ret, "bytes-skipped"), ==,
                     s->skipped * VIRTIO_FPH_PAGE_SIZE);
    for (i = 0; i < QFPH_REJ__MAX; i++) {
        s->rej[i] = qdict_get_int(rej, qfph_reject_keys[i]);
    }
    if (epoch) {
        *epoch = qdict_get_int(ret, "epoch");
    }
}

void qfph_stats_add(QFphStats *a, const QFphStats *b, uint64_t times)
{
    int i;

    a->requests += b->requests * times;
    a->cand += b->cand * times;
    a->conf += b->conf * times;
    a->ranges += b->ranges * times;
    a->armed += b->armed * times;
    a->skipped += b->skipped * times;
    for (i = 0; i < QFPH_REJ__MAX; i++) {
        a->rej[i] += b->rej[i] * times;
    }
}

void qfph_memwrite(QTestState *qts, uint64_t addr, const void *buf,
                   size_t len)
{
    size_t off;

    for (off = 0; off < len; off += XFER_CHUNK) {
        qtest_bufwrite(qts, addr + off, (const uint8_t *)buf + off,
                       MIN(XFER_CHUNK, len - off));
    }
}

void qfph_memread(QTestState *qts, uint64_t addr, void *buf, size_t len)
{
    size_t off;

    for (off = 0; off < len; off += XFER_CHUNK) {
        qtest_bufread(qts, addr + off, (uint8_t *)buf + off,
                      MIN(XFER_CHUNK, len - off));
    }
}
