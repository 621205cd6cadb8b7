/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile-driver qtests, the ring: descriptor chain shapes and buffers
 * outside RAM, rings the virtio core refuses, responses aimed at the
 * device's own registers, and a flood of requests.
 */

#include "qemu/osdep.h"
#include "standard-headers/linux/virtio_config.h"
#include "framework.h"

/* Descriptor chain shapes around an otherwise valid request. */
static void test_buffers(FphHostile *h, const void *data)
{
    uint8_t rom[16], rom2[16];
    QFphChain c;
    QFphStats d;

    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    fph_run_case(h, "no response buffer", &c, WANT_NO_RESPONSE,
                 fph_d_whole(QFPH_REJ_MALFORMED));
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 8);
    fph_run_case(h, "8-byte response buffer", &c, WANT_NO_RESPONSE,
                 fph_d_whole(QFPH_REJ_MALFORMED));
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                    15);
    fph_run_case(h, "15-byte response buffer", &c, WANT_NO_RESPONSE,
                 fph_d_whole(QFPH_REJ_MALFORMED));
    qfph_chain_init(&c, NULL, 16);
    fph_run_case(h, "response buffer only", &c, WANT_INVALID,
                 fph_d_whole(QFPH_REJ_MALFORMED));

    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE),
                    4096);
    fph_run_case(h, "4 KiB response buffer", &c, WANT_OK(1, 0), d);
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add(&c, 8, true);
    qfph_chain_add(&c, 8, true);
    fph_run_case(h, "response split 8 + 8", &c, WANT_OK(1, 0), d);
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add(&c, 2, true);
    qfph_chain_add(&c, 3, true);
    qfph_chain_add(&c, 11, true);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "response split 2 + 3 + 11 + 16", &c, WANT_OK(1, 0), d);
    qfph_chain_init(&c, NULL, 0);
    c.out = qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE);
    qfph_chain_add(&c, 3, false);
    qfph_chain_add(&c, 10, false);
    qfph_chain_add(&c, 1, false);
    qfph_chain_add(&c, 18, false);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "request split 3 + 10 + 1 + 18", &c, WANT_OK(1, 0), d);
    qfph_chain_init(&c, NULL, 0);
    c.out = qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE);
    qfph_chain_add(&c, 16, false);
    qfph_chain_add(&c, 16, false);
    qfph_chain_add(&c, 16, false);  /* zero padding */
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "16 bytes of padding in a third descriptor", &c,
                 WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));

    /*
     * Buffers outside RAM: the device maps them through a bounce buffer.
     * A request read from the PCI hole is garbage; a response written
     * there is lost, but the request is still applied.
     */
    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, PCI_HOLE_FREE, 32, false);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "request read from the PCI hole", &c, WANT_INVALID,
                 fph_d_whole(QFPH_REJ_MALFORMED));
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add_fixed(&c, PCI_HOLE_FREE, 16, true);
    qvirtio_fph_run_chains(&h->d, &c, 1, true);
    g_assert_true(c.used);
    g_assert_cmpuint(c.used_len, ==, 16);
    qfph_stats_add(&h->expect, &d, 1);
    fph_check_stats(h, "response written to the PCI hole");
    qfph_chain_clear(&c);

    /* A request out of the BIOS ROM (read-only memory). */
    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, 0xfffffff0ULL, 16, false);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "request read from the BIOS ROM", &c, WANT_INVALID,
                 fph_d_whole(QFPH_REJ_MALFORMED));

    /* A response buffer in ROM: the write is dropped, the device goes on. */
    qtest_memread(h->src, 0xfffc0000ULL, rom, sizeof(rom));
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add_fixed(&c, 0xfffc0000ULL, 16, true);
    qvirtio_fph_run_chains(&h->d, &c, 1, true);
    g_assert_true(c.used);
    qfph_stats_add(&h->expect, &d, 1);
    fph_check_stats(h, "response written to the BIOS ROM");
    qfph_chain_clear(&c);
    qtest_memread(h->src, 0xfffc0000ULL, rom2, sizeof(rom2));
    g_assert_true(memcmp(rom, rom2, sizeof(rom)) == 0);

    /* A 12 MiB request of zeros in RAM: read up to the device's cap. */
    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, HINT, 12 * MiB, false);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "12 MiB request descriptor", &c, WANT_INVALID,
                 fph_d_whole(QFPH_REJ_MALFORMED));
    fph_assert_epoch_held(h, "buffers");
}

/*
 * A ring the virtio core refuses: it marks the device broken
 * (NEEDS_RESET), QEMU stays up, and a reset brings the device back.
 */
static void break_ring(FphHostile *h, const char *what, QFphChain *c,
                       unsigned n)
{
    QFphStats s;

    g_test_message("broken ring: %s", what);
    qvirtio_fph_run_chains(&h->d, c, n, false);
    qfph_read_stats(h->src, &s, NULL);
    g_assert_cmpuint(s.requests, ==, h->expect.requests);
    g_assert_true(qvirtio_fph_status(&h->d) & VIRTIO_CONFIG_S_NEEDS_RESET);
    fph_assert_alive(h->src);
    fph_reinit_and_probe(h, what);
}

static void test_broken_ring(FphHostile *h, const void *data)
{
    QFphChain c;
    unsigned i;

    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, HINT, PAGE), 0);
    qfph_chain_add(&c, 16, true);
    qfph_chain_add(&c, 16, false);
    break_ring(h, "readable descriptor after a writable one", &c, 1);
    qfph_chain_clear(&c);

    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, HINT, PAGE), 0);
    c.seg[0].next = 0;
    break_ring(h, "descriptor chained to itself", &c, 1);
    qfph_chain_clear(&c);

    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, HINT, 0, false);
    qfph_chain_add(&c, 16, true);
    break_ring(h, "zero-length descriptor", &c, 1);

    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, PCI_HOLE_FREE, 64 * KiB, false);
    qfph_chain_add(&c, 16, true);
    break_ring(h, "64 KiB request in the PCI hole (beyond the bounce buffer)",
               &c, 1);

    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, 0x1000000000ULL, 16, false);
    qfph_chain_add(&c, 16, true);
    /* Far above RAM: also bounce-buffered, read as garbage. */
    fph_run_case(h, "request at 64 GiB", &c, WANT_INVALID,
                 fph_d_whole(QFPH_REJ_MALFORMED));

    qfph_chain_init(&c, NULL, 0);
    c.out = qfph_req1(CAND, h->epoch, HINT, PAGE);
    for (i = 0; i < QFPH_MAX_SEGS; i++) {
        qfph_chain_add(&c, 4, false);
    }
    c.seg[QFPH_MAX_SEGS - 1].next = 1;  /* loops back into the chain */
    break_ring(h, "chain looping through 8 descriptors", &c, 1);
    qfph_chain_clear(&c);

    /* Head index out of range (the ring has vq->size entries). */
    g_test_message("broken ring: head index %u of %u", h->d.vq->size + 7,
                   h->d.vq->size);
    qtest_writew(h->src,
                 h->d.vq->avail + 4 + 2 * (h->d.avail_idx % h->d.vq->size),
                 h->d.vq->size + 7);
    qtest_writew(h->src, h->d.vq->avail + 2, ++h->d.avail_idx);
    qvirtio_fph_kick(&h->d);
    g_assert_true(qvirtio_fph_status(&h->d) & VIRTIO_CONFIG_S_NEEDS_RESET);
    fph_assert_alive(h->src);
    fph_reinit_and_probe(h, "head index out of range");

    fph_check_stats(h, "broken rings");

    /*
     * avail->idx moved by more than the ring size, every ring slot naming
     * the same chain.  QEMU's split-ring pop does not check the distance
     * (only virtqueue_num_heads() does, on other paths), so the device
     * serves the chain ring-size + 1000 times, one after the other.  The
     * page was armed before, so none of them arms anything.  QEMU stays up
     * and the device stays usable.
     */
    {
        uint32_t n = h->d.vq->size + 1000;
        uint64_t page = fph_fresh_page(h);
        g_autofree uint16_t *heads = g_new0(uint16_t, h->d.vq->size);

        g_test_message("replayed chain: avail idx + %u", n);
        qfph_chain_init(&c, qfph_req1(CAND, h->epoch, page, PAGE), 16);
        qvirtio_fph_run_chains(&h->d, &c, 1, true);
        fph_check_chain(h, "replayed chain, first", &c, WANT_OK(1, 0));
        qfph_chain_clear(&c);
        qfph_stats_add(&h->expect, &(QFphStats){ .requests = 1, .cand = 1,
                                                 .ranges = 1, .armed = 1 }, 1);
        qtest_memwrite(h->src, h->d.vq->avail + 4, heads, 2 * h->d.vq->size);
        /*
         * The chain's descriptors (0, 1) still point at freed memory: make
         * them a request again.
         */
        c.out = qfph_req1(CAND, h->epoch, page, PAGE);
        {
            uint64_t buf = guest_alloc(&h->d.alloc, 64);

            qtest_memwrite(h->src, buf, c.out->data, c.out->len);
            qtest_writeq(h->src, h->d.vq->desc, buf);
            qtest_writel(h->src, h->d.vq->desc + 8, c.out->len);
            qtest_writeq(h->src, h->d.vq->desc + 16, buf + 32);
            qtest_writel(h->src, h->d.vq->desc + 24, 16);
            qfph_chain_clear(&c);
            h->d.avail_idx += n;
            qtest_writew(h->src, h->d.vq->avail + 2, h->d.avail_idx);
            qvirtio_fph_kick(&h->d);
            g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                                    QVIRTIO_FPH_TIMEOUT_US));
            h->d.used_idx = h->d.avail_idx;
            g_assert_cmpuint(qtest_readw(h->src, buf + 32), ==,
                             VIRTIO_FPH_S_OK);
            guest_free(&h->d.alloc, buf);
        }
        g_assert_false(qvirtio_fph_status(&h->d) &
                       VIRTIO_CONFIG_S_NEEDS_RESET);
        /* Armed by the first one: never again. */
        qfph_stats_add(&h->expect, &(QFphStats){ .requests = 1, .cand = 1,
                                                 .ranges = 1 }, n);
        fph_check_stats(h, "replayed chain");
        fph_assert_alive(h->src);
    }
    fph_reinit_and_probe(h, "replayed chain");
    fph_check_stats(h, "broken rings");
    fph_assert_epoch_held(h, "broken rings");
}

/*
 * Responses written by DMA into the device's own registers.  The device
 * writes a response when it completes a request (virtqueue_push unmaps
 * the buffer); a driver can aim that at the device's MMIO.  QEMU's
 * re-entrancy guard covers DMA issued from within an MMIO handler of the
 * same device or from a guarded BH; fph engages it for its other entries
 * too (FphScope), so every such write is refused and the device keeps its
 * state.
 */
static void test_dma_into_device(FphHostile *h, const void *data)
{
    uint64_t common = h->d.dev->bar.addr + h->d.dev->common_cfg_offset;
    /* virtio_pci_common_cfg.device_status */
    uint64_t status_reg = common + 20;
    QFphChain c;
    QFphStats d;

    g_test_message("common config at 0x%" PRIx64, common);

    /*
     * A request with work, completed from the done BH, its response aimed
     * at device_status: the BH is guarded (virtio_bh_new_guarded), so the
     * write into the device's own registers is refused and the device
     * keeps its status; the request is answered (used) and counted once.
     */
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add_fixed(&c, status_reg, 16, true);
    qvirtio_fph_run_chains(&h->d, &c, 1, false);
    g_assert_true(qvirtio_fph_wait_used_idx(&h->d, h->d.avail_idx,
                                            5 * G_USEC_PER_SEC));
    g_assert_cmphex(qvirtio_fph_status(&h->d) & VIRTIO_CONFIG_S_DRIVER_OK, ==,
                    VIRTIO_CONFIG_S_DRIVER_OK);
    qfph_chain_clear(&c);
    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    qfph_stats_add(&h->expect, &d, 1);
    fph_check_stats(h, "response into the device refused (guarded BH)");
    fph_assert_alive(h->src);
    fph_reinit_and_probe(h, "response into the device refused (guarded BH)");

    /*
     * Requests without work, completed inline from the queue handler:
     * refused too, wherever the handler was called from (before FphScope,
     * the ioeventfd handler's path let the device reset itself).  The
     * second request is queued behind the first.
     */
    {
        QFphChain cc[2];

        qfph_chain_init(&cc[0], qfph_req1(CONF, h->epoch, FILLER, PAGE), 0);
        qfph_chain_add_fixed(&cc[0], status_reg, 16, true);
        qfph_chain_init(&cc[1], qfph_req1(CONF, h->epoch, FILLER + PAGE, PAGE),
                        16);
        qvirtio_fph_run_chains(&h->d, cc, 2, true);
        g_assert_cmphex(qvirtio_fph_status(&h->d) & VIRTIO_CONFIG_S_DRIVER_OK,
                        ==, VIRTIO_CONFIG_S_DRIVER_OK);
        qfph_chain_clear(&cc[0]);
        qfph_chain_clear(&cc[1]);
        d = fph_d_range_reject(CONF, QFPH_REJ_NOT_ARMED);
        qfph_stats_add(&h->expect, &d, 2);
    }
    fph_check_stats(h, "response into the device refused (inline)");
    fph_assert_alive(h->src);

    /* A MALFORMED request's answer aimed at device_status: refused. */
    qfph_chain_init(&c, qfph_req_raw(9, 0, h->epoch, 1, 0, NULL, 0), 0);
    qfph_chain_add_fixed(&c, status_reg, 16, true);
    qvirtio_fph_run_chains(&h->d, &c, 1, true);
    g_assert_cmphex(qvirtio_fph_status(&h->d) & VIRTIO_CONFIG_S_DRIVER_OK, ==,
                    VIRTIO_CONFIG_S_DRIVER_OK);
    qfph_chain_clear(&c);
    qfph_stats_add(&h->expect,
                   &(QFphStats){ .requests = 1, .rej[QFPH_REJ_MALFORMED] = 1 },
                   1);
    fph_check_stats(h, "malformed answer into the device refused");
    fph_assert_alive(h->src);

    /* The response written to the notify register: one more kick. */
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, fph_fresh_page(h), PAGE), 0);
    qfph_chain_add_fixed(&c, h->d.dev->bar.addr + h->d.dev->notify_cfg_offset,
                         16, true);
    qvirtio_fph_run_chains(&h->d, &c, 1, true);
    g_assert_cmpuint(c.used_len, ==, 16);
    qfph_chain_clear(&c);
    d = fph_d_batch(CAND, 1);
    d.armed = 1;
    qfph_stats_add(&h->expect, &d, 1);
    fph_check_stats(h, "response written to the notify register");

    /* A request read from the device's own registers. */
    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, common, 64, false);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "request read from the common config", &c, WANT_INVALID,
                 fph_d_whole(QFPH_REJ_MALFORMED));
    qfph_chain_init(&c, NULL, 0);
    qfph_chain_add_fixed(&c, h->d.dev->bar.addr + h->d.dev->isr_cfg_offset, 32,
                         false);
    qfph_chain_add(&c, 16, true);
    fph_run_case(h, "request read from the ISR (read clears it)", &c,
                 WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_assert_alive(h->src);
    fph_assert_epoch_held(h, "DMA into the device");
}

/* 2000 requests in batches of 32, a deterministic mix. */
#define FLOOD 2000
#define FLOOD_BATCH 32
#define FLOOD_KINDS 8
static void test_flood(FphHostile *h, const void *data)
{
    QFphStats kind[FLOOD_KINDS] = {};
    FphWant want[FLOOD_KINDS];
    uint64_t count[FLOOD_KINDS] = {};
    /* The pages kind 1 confirms: armed and skipped already. */
    uint64_t conf[] = { HINT, PAGE, HINT + 2 * MiB, PAGE,
                        HINT + 4 * MiB, PAGE, HINT + 6 * MiB, PAGE };
    QFphStats before;
    gint64 start;
    unsigned i, k;

    kind[0] = fph_d_batch(CAND, 4);
    kind[0].armed = 4;
    want[0] = WANT_OK(4, 0);
    kind[1] = fph_d_batch(CONF, 4);
    want[1] = WANT_OK(4, 0);
    kind[2] = fph_d_whole(QFPH_REJ_MALFORMED);
    want[2] = WANT_INVALID;
    kind[3] = fph_d_stale(CAND, 1);
    want[3] = WANT_STALE;
    kind[4] = fph_d_range_reject(CONF, QFPH_REJ_NOT_ARMED);
    want[4] = WANT_OK(0, 1);
    kind[5] = fph_d_whole(QFPH_REJ_OVER_LIMIT);
    want[5] = WANT_INVALID;
    kind[6] = fph_d_batch(CAND, 2);
    kind[6].rej[QFPH_REJ_OUT_OF_RAM] = 1;
    kind[6].rej[QFPH_REJ_MISALIGNED] = 1;
    want[6] = WANT_OK(0, 2);
    kind[7] = fph_d_whole(QFPH_REJ_MALFORMED);
    want[7] = WANT_INVALID;

    fph_prepare(h, "the confirmed pages", conf, 4, true);
    before = h->expect;
    start = g_get_monotonic_time();

    for (i = 0; i < FLOOD; i += FLOOD_BATCH) {
        unsigned n = MIN(FLOOD_BATCH, FLOOD - i);
        QFphChain c[FLOOD_BATCH];

        for (k = 0; k < n; k++) {
            unsigned seq = i + k, kd = seq % FLOOD_KINDS;
            uint64_t a = A1 + 256 * KiB + (seq % 64) * 512 * KiB;
            uint64_t f = FLOODA + (seq / FLOOD_KINDS) * 8 * PAGE;
            uint64_t cand[] = { f, PAGE, f + 2 * PAGE, PAGE,
                                f + 4 * PAGE, PAGE, f + 6 * PAGE, PAGE };
            uint64_t bad[] = { 0xe0000000ULL, PAGE, a + 8, PAGE };
            uint64_t one[] = { a, PAGE };
            GByteArray *b = NULL;

            switch (kd) {
            case 0:
                b = qfph_req(CAND, h->epoch, cand, 4);
                break;
            case 1:
                b = qfph_req(CONF, h->epoch, conf, 4);
                break;
            case 2:
                b = qfph_req_raw(CAND, 0, h->epoch, 3, 0, cand, 4);
                break;
            case 3:
                b = qfph_req1(CAND, h->epoch + 1 + seq, a, PAGE);
                break;
            case 4:
                b = qfph_req1(CONF, h->epoch, FILLER + (seq % 32) * MiB, PAGE);
                break;
            case 5:
                b = qfph_req_raw(CONF, 0, h->epoch, h->max_ranges + 1 + seq,
                                 0, one, 1);
                break;
            case 6:
                b = qfph_req(CAND, h->epoch, bad, 2);
                break;
            case 7:
                b = qfph_req_raw(0x42 + seq, 0, h->epoch, 1, 0, one, 1);
                break;
            }
            qfph_chain_init(&c[k], b, 16);
            count[kd]++;
        }
        qvirtio_fph_run_chains(&h->d, c, n, true);
        for (k = 0; k < n; k++) {
            fph_check_chain(h, "flood", &c[k], want[(i + k) % FLOOD_KINDS]);
            qfph_chain_clear(&c[k]);
        }
    }
    for (k = 0; k < FLOOD_KINDS; k++) {
        qfph_stats_add(&h->expect, &kind[k], count[k]);
    }
    g_assert_cmpuint(h->expect.requests - before.requests, ==, FLOOD);
    fph_check_stats(h, "flood");
    g_test_message("flood: %u requests in %" PRId64 " ms", FLOOD,
                   (g_get_monotonic_time() - start) / 1000);
    fph_assert_alive(h->src);
    fph_assert_epoch_held(h, "flood");
}

void fph_hostile_add_ring_tests(void)
{
    fph_hostile_add("buffers", test_buffers);
    fph_hostile_add("broken-ring", test_broken_ring);
    fph_hostile_add("dma-into-device", test_dma_into_device);
    fph_hostile_add("flood", test_flood);
}
