/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile-driver qtests, validation: ranges outside hintable RAM,
 * misaligned and empty ranges, and malformed request framing.
 */

#include "qemu/osdep.h"
#include "framework.h"

static void test_out_of_ram(FphHostile *h, const void *data)
{
    static const struct {
        const char *name;
        uint64_t addr, len;
        int reason;
    } cases[] = {
        { "just above RAM end", RAM_END, PAGE, QFPH_REJ_OUT_OF_RAM },
        { "across RAM end", RAM_END - PAGE, 2 * PAGE, QFPH_REJ_OUT_OF_RAM },
        { "PCI hole", 0xe0000000ULL, 1 * MiB, QFPH_REJ_OUT_OF_RAM },
        { "BIOS ROM", 0xfffc0000ULL, 256 * KiB, QFPH_REJ_OUT_OF_RAM },
        { "IOAPIC", 0xfec00000ULL, PAGE, QFPH_REJ_OUT_OF_RAM },
        { "LAPIC", 0xfee00000ULL, PAGE, QFPH_REJ_OUT_OF_RAM },
        { "VGA window", 0xa0000, 128 * KiB, QFPH_REJ_OUT_OF_RAM },
        { "option ROM area", 0xc0000, 64 * KiB, QFPH_REJ_OUT_OF_RAM },
        { "BIOS shadow", 0xf0000, 64 * KiB, QFPH_REJ_OUT_OF_RAM },
        { "low RAM into VGA window", 0x9f000, 2 * PAGE, QFPH_REJ_OUT_OF_RAM },
        { "ROM into RAM", 0xff000, 2 * PAGE, QFPH_REJ_OUT_OF_RAM },
        { "above 4 GiB", 0x100000000ULL, PAGE, QFPH_REJ_OUT_OF_RAM },
        { "far above", 0x7ffffffff000ULL, PAGE, QFPH_REJ_OUT_OF_RAM },
        { "huge len", HINT, 1ULL << 63, QFPH_REJ_OUT_OF_RAM },
        { "all of RAM and more", 0, RAM_END + PAGE, QFPH_REJ_OUT_OF_RAM },
        { "wraps 2^64", 0xfffffffffffff000ULL, 2 * PAGE, QFPH_REJ_MALFORMED },
        { "ends at 2^64", 0xfffffffffffff000ULL, PAGE, QFPH_REJ_MALFORMED },
        { "len 2^64 - 4096", PAGE, 0xfffffffffffff000ULL, QFPH_REJ_MALFORMED },
        { "max len", HINT, 0xfffffffffffff000ULL, QFPH_REJ_MALFORMED },
    };
    QPCIDevice *vga;
    QPCIBar vram;
    uint64_t bar = 0, vram_size = 0;
    unsigned i;
    int type;

    for (type = CAND; type <= CONF; type++) {
        for (i = 0; i < G_N_ELEMENTS(cases); i++) {
            g_autofree char *name = g_strdup_printf("%s: %s",
                type == CAND ? "candidates" : "confirm", cases[i].name);

            fph_simple_case(h, name,
                            qfph_req1(type, h->epoch, cases[i].addr,
                                      cases[i].len),
                            WANT_OK(0, 1),
                            fph_d_range_reject(type, cases[i].reason));
        }
    }

    /* Another RAM block: the VGA's VRAM, mapped at its BAR. */
    vga = qpci_device_find(h->d.bus, VGA_DEVFN);
    g_assert_nonnull(vga);
    qpci_device_enable(vga);
    vram = qpci_iomap(vga, 0, &vram_size);
    g_test_message("VGA VRAM: %" PRIu64 " MiB at 0x%" PRIx64,
                   (uint64_t)(vram_size / MiB), vram.addr);
    g_assert_cmpuint(vram_size, >=, 1 * MiB);
    qtest_writel(h->src, vram.addr, 0x12345678);
    g_assert_cmphex(qtest_readl(h->src, vram.addr), ==, 0x12345678);
    fph_simple_case(h, "candidates: VGA VRAM",
                    qfph_req1(CAND, h->epoch, vram.addr, 1 * MiB),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_OUT_OF_RAM));
    fph_simple_case(h, "confirm: VGA VRAM",
                    qfph_req1(CONF, h->epoch, vram.addr, vram_size),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CONF, QFPH_REJ_OUT_OF_RAM));
    fph_simple_case(h, "candidates: VGA VRAM and the MiB below it",
                    qfph_req1(CAND, h->epoch, vram.addr - 1 * MiB, 2 * MiB),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_OUT_OF_RAM));
    g_free(vga);

    /* The device's own BAR (MMIO). */
    bar = h->d.dev->bar.addr;
    g_test_message("virtio-fph BAR at 0x%" PRIx64, bar);
    g_assert_cmphex(bar, !=, 0);
    fph_simple_case(h, "candidates: the device's BAR",
                    qfph_req1(CAND, h->epoch, bar & ~(PAGE - 1), PAGE),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_OUT_OF_RAM));
    fph_assert_epoch_held(h, "out of RAM");
}

static void test_alignment(FphHostile *h, const void *data)
{
    uint64_t mixed[] = {
        SPARE + 10 * MiB, PAGE,                 /* ok */
        SPARE + 11 * MiB + 1, PAGE,             /* misaligned */
        0xe0000000ULL, PAGE,                    /* out of RAM */
        SPARE + 12 * MiB, 0,                    /* zero len */
        SPARE + 13 * MiB, 2 * PAGE,             /* ok */
        SPARE + 14 * MiB + 512, 0x7fffffffffffffffULL,  /* misaligned */
    };
    QFphStats d;

    fph_simple_case(h, "misaligned addr",
                    qfph_req1(CAND, h->epoch, HINT + 1, PAGE), WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_MISALIGNED));
    fph_simple_case(h, "misaligned len",
                    qfph_req1(CAND, h->epoch, HINT, PAGE + 1), WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_MISALIGNED));
    fph_simple_case(h, "half pages",
                    qfph_req1(CAND, h->epoch, HINT + 2048, 2048),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_MISALIGNED));
    fph_simple_case(h, "misaligned confirm",
                    qfph_req1(CONF, h->epoch, HINT + 8, PAGE), WANT_OK(0, 1),
                    fph_d_range_reject(CONF, QFPH_REJ_MISALIGNED));
    fph_simple_case(h, "zero len", qfph_req1(CAND, h->epoch, HINT, 0),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_MALFORMED));
    fph_simple_case(h, "zero len, misaligned addr",
                    qfph_req1(CAND, h->epoch, 1, 0), WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_MALFORMED));
    fph_simple_case(h, "zero len confirm", qfph_req1(CONF, h->epoch, HINT, 0),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CONF, QFPH_REJ_MALFORMED));

    d = fph_d_batch(CAND, 6);
    d.armed = 3;
    d.rej[QFPH_REJ_MISALIGNED] = 2;
    d.rej[QFPH_REJ_OUT_OF_RAM] = 1;
    d.rej[QFPH_REJ_MALFORMED] = 1;
    fph_simple_case(h, "mixed good and bad ranges",
                    qfph_req(CAND, h->epoch, mixed, 6), WANT_OK(2, 4), d);
    fph_assert_epoch_held(h, "alignment");
}

static void test_framing(FphHostile *h, const void *data)
{
    g_autofree uint64_t *many = g_new(uint64_t, 2 * (h->max_ranges + 1));
    uint64_t one[] = { HINT, PAGE }, two[] = { HINT, PAGE, HINT + 2 * PAGE,
                                               PAGE };
    GByteArray *b;
    unsigned i;

    for (i = 0; i <= h->max_ranges; i++) {
        many[2 * i] = HINT + i * 2 * PAGE;
        many[2 * i + 1] = PAGE;
    }
    fph_simple_case(h, "nr_ranges = max-ranges + 1",
                    qfph_req(CAND, h->epoch, many, h->max_ranges + 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_OVER_LIMIT));
    fph_simple_case(h, "confirm nr_ranges = max-ranges + 1",
                    qfph_req(CONF, h->epoch, many, h->max_ranges + 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_OVER_LIMIT));
    fph_simple_case(h, "nr_ranges = 2^32 - 1",
                    qfph_req_raw(CAND, 0, h->epoch, 0xffffffff, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_OVER_LIMIT));
    fph_simple_case(h, "nr_ranges * 16 = 2^32 (u32 overflow to 0), no ranges",
                    qfph_req_raw(CAND, 0, h->epoch, 0x10000000, 0, NULL, 0),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_OVER_LIMIT));
    fph_simple_case(h,
                    "nr_ranges * 16 = 2^32 + 16 (u32 overflow to 16), 1 range",
                    qfph_req_raw(CAND, 0, h->epoch, 0x10000001, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_OVER_LIMIT));
    fph_simple_case(h, "nr_ranges = 0",
                    qfph_req_raw(CAND, 0, h->epoch, 0, 0, NULL, 0),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "nr_ranges = 0 with a range",
                    qfph_req_raw(CAND, 0, h->epoch, 0, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "truncated: nr_ranges 2, one range",
                    qfph_req_raw(CAND, 0, h->epoch, 2, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "oversized: nr_ranges 1, two ranges",
                    qfph_req_raw(CAND, 0, h->epoch, 1, 0, two, 2),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    b = qfph_req1(CAND, h->epoch, HINT, PAGE);
    g_byte_array_append(b, (const uint8_t *)"12345678", 8);
    fph_simple_case(h, "8 trailing bytes", b, WANT_INVALID,
                    fph_d_whole(QFPH_REJ_MALFORMED));
    b = qfph_req1(CAND, h->epoch, HINT, PAGE);
    g_byte_array_set_size(b, 31);
    fph_simple_case(h, "range cut short by one byte", b, WANT_INVALID,
                    fph_d_whole(QFPH_REJ_MALFORMED));
    b = qfph_req1(CAND, h->epoch, HINT, PAGE);
    g_byte_array_set_size(b, 15);
    fph_simple_case(h, "header cut short", b, WANT_INVALID,
                    fph_d_whole(QFPH_REJ_MALFORMED));
    b = qfph_req1(CAND, h->epoch, HINT, PAGE);
    g_byte_array_set_size(b, 1);
    fph_simple_case(h, "one byte", b, WANT_INVALID,
                    fph_d_whole(QFPH_REJ_MALFORMED));
    b = qfph_req1(CAND, h->epoch, HINT, PAGE);
    g_byte_array_set_size(b, 1 * MiB);   /* zero padded */
    fph_simple_case(h, "1 MiB of request for one range", b, WANT_INVALID,
                    fph_d_whole(QFPH_REJ_MALFORMED));
    /* One byte more than the largest valid request: the device's cap. */
    b = qfph_req(CAND, h->epoch, many, h->max_ranges);
    g_byte_array_set_size(b, b->len + 1);
    fph_simple_case(h, "max-ranges ranges plus one byte", b, WANT_INVALID,
                    fph_d_whole(QFPH_REJ_MALFORMED));

    fph_simple_case(h, "type 0", qfph_req_raw(0, 0, h->epoch, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "type 3", qfph_req_raw(3, 0, h->epoch, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "type 0xffff",
                    qfph_req_raw(0xffff, 0, h->epoch, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "type 0x101",
                    qfph_req_raw(0x101, 0, h->epoch, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "reserved = 1",
                    qfph_req_raw(CAND, 1, h->epoch, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "reserved = 0x8000",
                    qfph_req_raw(CONF, 0x8000, h->epoch, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "reserved2 = 1",
                    qfph_req_raw(CAND, 0, h->epoch, 1, 1, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_simple_case(h, "reserved2 = 0x80000000",
                    qfph_req_raw(CONF, 0, h->epoch, 1, 0x80000000, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    /* Framing is checked before the epoch. */
    fph_simple_case(h, "bad type and stale epoch",
                    qfph_req_raw(7, 0, h->epoch + 1, 1, 0, one, 1),
                    WANT_INVALID, fph_d_whole(QFPH_REJ_MALFORMED));
    fph_assert_epoch_held(h, "framing");
}

void fph_hostile_add_validation_tests(void)
{
    fph_hostile_add(FPH_REJECT_KEY_OUT_OF_RAM, test_out_of_ram);
    fph_hostile_add("alignment", test_alignment);
    fph_hostile_add("framing", test_framing);
}
