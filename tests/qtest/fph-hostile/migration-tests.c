/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile-driver qtests, the end of the migration: what arrives on the
 * destination, and the destination's device.
 */

#include "qemu/osdep.h"
#include "standard-headers/linux/virtio_config.h"
#include "framework.h"

/* Every byte of guest memory [@addr, @addr + @len) is @byte. */
static bool mem_equals_byte(QTestState *qts, uint64_t addr, uint64_t len,
                            uint8_t byte)
{
    g_autofree uint8_t *buf = g_malloc(4 * MiB);
    uint64_t off, i;

    for (off = 0; off < len; off += 4 * MiB) {
        uint64_t n = MIN(4 * MiB, len - off);

        qfph_memread(qts, addr + off, buf, n);
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

/*
 * Hostile hints at FILLER and CLIP, a clipped confirm, and then the
 * migration completes: on the destination, only the armed piece of CLIP
 * was left out; PATTERN, FILLER and the rest of CLIP arrived intact.
 */
static void test_migration_completes(FphHostile *h, const void *data)
{
    g_autoptr(QDict) info = NULL;
    g_autofree uint8_t *buf = NULL;
    uint64_t filler[2 * 8];
    uint32_t epoch;
    QFphStats s, d;
    unsigned i;

    /* A confirm wider than what was armed is clipped to the armed part. */
    fph_clip_case(h);

    /* FILLER: never armed and confirmed in one epoch. */
    for (i = 0; i < 8; i++) {
        filler[2 * i] = FILLER + i * 4 * MiB;
        filler[2 * i + 1] = 2 * MiB;
    }
    fph_simple_case(h, "FILLER: candidates, stale epoch",
                    qfph_req(CAND, h->epoch + 1, filler, 8), WANT_STALE,
                    fph_d_stale(CAND, 8));
    fph_simple_case(h, "FILLER: confirm, stale epoch",
                    qfph_req(CONF, h->epoch + 1, filler, 8), WANT_STALE,
                    fph_d_stale(CONF, 8));
    fph_simple_case(h, "FILLER: candidates, misaligned",
                    qfph_req1(CAND, h->epoch, FILLER + 8, FILLER_LEN - PAGE),
                    WANT_OK(0, 1),
                    fph_d_range_reject(CAND, QFPH_REJ_MISALIGNED));
    d = fph_d_batch(CONF, 8);
    d.rej[QFPH_REJ_NOT_ARMED] = 8;
    fph_simple_case(h, "FILLER: confirm never-armed ranges",
                    qfph_req(CONF, h->epoch, filler, 8), WANT_OK(0, 8), d);
    /*
     * All of RAM above 1 MiB: the only armed piece (in CLIP) is skipped
     * already, so nothing more is.
     */
    d = fph_d_range_reject(CONF, QFPH_REJ_NOT_ARMED);
    fph_simple_case(h, "confirm all RAM above 1 MiB",
                    qfph_req1(CONF, h->epoch, 1 * MiB, RAM_END - 1 * MiB),
                    WANT_OK(1, 0), d);
    fph_assert_epoch_held(h, "before completing the migration");

    fph_complete_migration(h);

    /* Guest RAM on the destination. */
    g_assert_nonnull(h->pattern);
    buf = g_malloc(PATTERN_LEN);
    qfph_memread(h->dst, PATTERN, buf, PATTERN_LEN);
    g_assert_true(memcmp(buf, h->pattern, PATTERN_LEN) == 0);
    /* Every hostile hint at FILLER was refused. */
    g_assert_true(mem_equals_byte(h->dst, FILLER, FILLER_LEN, FILLER_BYTE));
    /* Only the armed piece of the clipped confirm was skipped. */
    g_assert_true(mem_equals_byte(h->dst, CLIP, CLIP_ARMED - CLIP, CLIP_BYTE));
    g_assert_true(mem_equals_byte(h->dst, CLIP_ARMED, CLIP_ARMED_LEN, 0));
    g_assert_true(mem_equals_byte(h->dst, CLIP_ARMED + CLIP_ARMED_LEN,
                                  CLIP + CLIP_LEN -
                                  (CLIP_ARMED + CLIP_ARMED_LEN), CLIP_BYTE));
    /* And the source still has it all (nothing was written by hints). */
    qfph_memread(h->src, PATTERN, buf, PATTERN_LEN);
    g_assert_true(memcmp(buf, h->pattern, PATTERN_LEN) == 0);

    /* The source: epoch closed, counters as expected. */
    qfph_read_stats(h->src, &s, &epoch);
    g_assert_cmpuint(epoch, ==, VIRTIO_FPH_EPOCH_NONE);
    g_assert_cmpuint(qvirtio_fph_epoch(&h->d), ==, VIRTIO_FPH_EPOCH_NONE);
    fph_check_stats(h, "source after migration");
    info = qfph_qmp_return(h->src, "{'execute': 'query-fph-stats'}");
    g_test_message("source: epochs-seen %" PRId64 ", pages-skipped %" PRId64,
                   qdict_get_int(info, "epochs-seen"),
                   qdict_get_int(info, "pages-skipped"));
    g_assert_cmpint(qdict_get_int(info, "epochs-seen"), >=, 1);
    g_assert_true(qdict_get_bool(info, "driver-ok"));
}

/* The destination device serves the migrated ring: no epoch there. */
static void test_destination_device(FphHostile *h, const void *data)
{
    g_autoptr(QDict) info = NULL;
    uint64_t r[] = { fph_fresh_page(h), PAGE };
    QFphChain c;

    /* A ring with some history to migrate. */
    fph_prepare(h, "one page", r, 1, true);
    fph_complete_migration(h);

    info = qfph_qmp_return(h->dst, "{'execute': 'query-fph-stats'}");
    g_assert_true(qdict_get_bool(info, "driver-ok"));
    g_assert_cmpint(qdict_get_int(info, "epoch"), ==, 0);
    g_assert_cmpint(qdict_get_int(info, "requests"), ==, 0);
    qobject_unref(info);

    qvirtio_fph_unbind(&h->d);
    qvirtio_fph_bind(&h->d, h->dst, FPH_DEVFN);
    /* What the driver negotiated on the source came along. */
    h->d.dev->vdev.features = 1ull << VIRTIO_F_VERSION_1;
    h->d.dev->vdev.features_negotiated = true;
    h->d.vq->vdev = &h->d.dev->vdev;
    g_assert_cmpuint(qvirtio_fph_epoch(&h->d), ==, 0);
    qfph_chain_init(&c, qfph_req1(CAND, h->epoch, HINT, PAGE), 16);
    qvirtio_fph_run_chains(&h->d, &c, 1, true);
    g_assert_true(c.used);
    g_assert_cmpuint(c.used_len, ==, 16);
    g_assert_cmpuint(qfph_resp_status(&c), ==, VIRTIO_FPH_S_STALE);
    g_assert_cmpuint(ldl_le_p(c.in + 4), ==, 0);
    qfph_chain_clear(&c);

    info = qfph_qmp_return(h->dst, "{'execute': 'query-fph-stats'}");
    g_assert_cmpint(qdict_get_int(info, "requests"), ==, 1);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "rejected"),
                                  FPH_REJECT_KEY_STALE_EPOCH), ==, 1);
    fph_assert_alive(h->dst);
}

void fph_hostile_add_migration_tests(void)
{
    static const FphHostileArgs check_ram = { .check_ram = true };

    fph_hostile_add_args("migration-completes", test_migration_completes,
                         &check_ram);
    fph_hostile_add("destination-device", test_destination_device);
}
