/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest: a hostile virtio-fph driver against the real device while a live
 * migration is in progress, so that a hinting epoch is open.
 *
 * Every case gets its own fixture (fph_hostile_setup): a source QEMU
 * (-accel qtest, no guest CPU) migrating to a destination QEMU over a
 * unix socket at 1 MB/s, so that precopy's first pass -- during which
 * epoch 1 stays open -- lasts far longer than a case needs, and the
 * driver (libqos/virtio-fph.h) bound to the source's device.  A case
 * builds whatever device state it relies on itself, so that it can run
 * alone (-p) or in any order.
 *
 * The cases send every malformed, out-of-range, stale, oversized or
 * out-of-protocol request we could think of, checking for each that it is
 * answered with the right status and counted under the right reason in
 * query-fph-stats (exact counter deltas), and that QEMU stays alive.
 * They also flood the queue, reset the device under load and break the
 * ring itself; some let the migration complete and check, on the
 * destination, that guest RAM the hostile hints targeted arrived intact.
 *
 * Guest-physical layout (256 MiB, all below the PCI hole):
 *   [  1 MiB,  16 MiB)  libqos allocator: rings, requests, responses
 *   [ 16 MiB,  32 MiB)  PATTERN: distinct non-zero pages (0x5a unless the
 *                       case checks RAM), never in any hint
 *   [ 32 MiB,  64 MiB)  FILLER (0xa5): target of hostile hints that must be
 *                       refused (never armed and confirmed in one epoch)
 *   [ 64 MiB,  96 MiB)  CLIP (0x3c if the case checks RAM, else zero): one
 *                       piece armed, a wider range confirmed; only the armed
 *                       piece may be skipped
 *   [ 96 MiB, 128 MiB)  SPARE (zero): small legitimate hints
 *   [128 MiB, 256 MiB)  zero, legitimate hints:
 *       [128, 160) A1: 64 ranges of 256 KiB, 512 KiB apart (armed, skipped)
 *       [160, 192) MAXR: max-ranges single pages, 2 pages apart
 *       [192, 224) HEAVY: the reset tests (even pages, odd pages)
 *       [224, 228) MISC, [228, 236) FLOODA: the flood's candidates,
 *       [240, 248) FRESH: single pages handed out by fph_fresh_page()
 *       [248, 254) STOPA: the VM stop test
 * The device never arms a page twice in one epoch (a second arm between
 * the guest's observation and its confirm would lose a write); the cases
 * that check this aside, each case arms pages it has not armed before.
 * Precopy sends pc.ram from address 0 upward, so at 1 MB/s PATTERN and
 * FILLER keep the migration thread below 64 MiB for ~48 s: everything
 * above is still to be sent while a case runs, which makes pages-skipped
 * deterministic.
 */

#ifndef FPH_HOSTILE_FRAMEWORK_H
#define FPH_HOSTILE_FRAMEWORK_H

#include "libqos/virtio-fph.h"

#define FPH_DEVFN QPCI_DEVFN(4, 0)
#define VGA_DEVFN QPCI_DEVFN(2, 0)

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define PAGE VIRTIO_FPH_PAGE_SIZE
#define RAM_END (256 * MiB)
#define ALLOC_START (1 * MiB)
#define ALLOC_END (16 * MiB)
#define PATTERN (16 * MiB)
#define PATTERN_LEN (16 * MiB)
#define PATTERN_BYTE 0x5a
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
#define A1_RANGES 64
#define A1_LEN (256 * KiB)
#define A1_STRIDE (512 * KiB)
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

#define CAND VIRTIO_FPH_REQ_CANDIDATES
#define CONF VIRTIO_FPH_REQ_CONFIRM

/*
 * The big machine, for cases that pass BIG_MACHINE as machine_args:
 * max-ranges at its limit, and RAM for an armed set at the core's cap
 * (BIG_ARMED intervals: every other page of the region from BIG_BASE, 2 *
 * BIG_ARMED pages, 8 GiB).  With 9 GiB the pc machine puts 3 GiB below 4
 * GiB and the rest from 4 GiB up; the region ends at BIG_END.
 */
#define BIG_MAX_RANGES 65536
#define BIG_MACHINE "-m 9G -global virtio-fph-pci.max-ranges=65536 "
#define BIG_BASE (256 * MiB)
#define BIG_LOW_END (3ULL << 30)
#define BIG_HIGH (4ULL << 30)
#define BIG_ARMED (1u << 20)
#define BIG_END (BIG_HIGH + 2ULL * BIG_ARMED * PAGE - (BIG_LOW_END - BIG_BASE))

/* One case's world: two QEMUs migrating, the driver bound to the source. */
typedef struct FphHostile {
    QTestState *src, *dst;
    char *tmpdir;
    QVirtioFph d;
    uint32_t epoch;         /* open on the source since setup */
    uint32_t max_ranges;    /* from the device config */
    QFphStats expect;       /* cumulative, on the source */
    uint8_t *pattern;       /* what PATTERN holds, if check_ram */
    uint64_t next_fresh;    /* fph_fresh_page() */
} FphHostile;

/* What fph_hostile_setup() takes as its data, if not NULL. */
typedef struct FphHostileArgs {
    /* Environment variable naming the source's binary, if set. */
    const char *src_binary_env;
    /*
     * The case checks guest RAM on the destination: PATTERN gets distinct
     * pages (h->pattern), CLIP its byte.
     */
    bool check_ram;
    /*
     * Appended to both QEMUs' command lines: more RAM, another
     * max-ranges.  Such a case does not use MAXR (which holds at most
     * 4096 pages) nor assume the RAM size.
     */
    const char *machine_args;
} FphHostileArgs;

void fph_hostile_setup(FphHostile *h, const void *data);
void fph_hostile_teardown(FphHostile *h, const void *data);

/* Register /fph/hostile/@name, run with a fixture of its own. */
#define fph_hostile_add_args(name, fn, args) \
    qtest_add("fph/hostile/" name, FphHostile, args, fph_hostile_setup, \
              fn, fph_hostile_teardown)
#define fph_hostile_add(name, fn) fph_hostile_add_args(name, fn, NULL)

/* The topics, one source file each. */
void fph_hostile_add_hints_tests(void);
void fph_hostile_add_validation_tests(void);
void fph_hostile_add_ring_tests(void);
void fph_hostile_add_reset_tests(void);
void fph_hostile_add_migration_tests(void);
void fph_hostile_add_latency_tests(void);
void fph_hostile_add_runs_tests(void);
void fph_hostile_add_reentry_tests(void);

/* What a case expects back. */
typedef struct FphWant {
    int status;             /* -1: no response (used len 0) */
    uint32_t nr_done, nr_rejected;
} FphWant;

#define WANT_OK(done, rej) ((FphWant){ VIRTIO_FPH_S_OK, (done), (rej) })
#define WANT_INVALID ((FphWant){ VIRTIO_FPH_S_INVALID, 0, 0 })
#define WANT_STALE ((FphWant){ VIRTIO_FPH_S_STALE, 0, 0 })
#define WANT_NO_RESPONSE ((FphWant){ -1, 0, 0 })

/* Deltas of common outcomes. */
QFphStats fph_d_whole(int reason);
QFphStats fph_d_batch(uint16_t type, uint64_t nr);
QFphStats fph_d_range_reject(uint16_t type, int reason);
QFphStats fph_d_stale(uint16_t type, uint64_t nr);

/* The source's counters equal h->expect. */
void fph_check_stats(FphHostile *h, const char *what);
void fph_assert_alive(QTestState *qts);
/* The answer in @c is @w (response epoch: the open one). */
void fph_check_chain(FphHostile *h, const char *name, const QFphChain *c,
                     FphWant w);
/*
 * Send one chain, check the answer, add @delta to the expected counters
 * and check them.  Takes ownership of c->out.
 */
void fph_run_case(FphHostile *h, const char *name, QFphChain *c, FphWant w,
                  QFphStats delta);
/* The usual chain: @out, then a 16-byte response buffer. */
void fph_simple_case(FphHostile *h, const char *name, GByteArray *out,
                     FphWant w, QFphStats delta);
/*
 * The state a case builds on: arm @n disjoint ranges no one armed yet
 * (CANDIDATES) and, if @confirm, skip them (CONFIRM), checked like any
 * other request.
 */
void fph_prepare(FphHostile *h, const char *what, const uint64_t *ranges,
                 unsigned n, bool confirm);
/*
 * Arm CLIP_ARMED, then confirm CLIP_CONFIRM around it: only the armed part
 * is skipped, the range counts as not armed.
 */
void fph_clip_case(FphHostile *h);

/* The @k-th page of the big region (k < 2 * BIG_ARMED). */
uint64_t fph_big_page(uint64_t k);
/*
 * Arm (@type CAND) or skip (CONF) every other page of the big region, the
 * even ones (@odd 0) or the odd ones: BIG_ARMED single pages, checked
 * like any other request; a skip expects them all still to be sent.
 */
void fph_big_every_other(FphHostile *h, uint16_t type, unsigned odd);

/* A page this case has not hinted yet. */
uint64_t fph_fresh_page(FphHostile *h);
/* Re-initialize the device and check it answers a valid request. */
void fph_reinit_and_probe(FphHostile *h, const char *what);
/*
 * The case ran inside the epoch open since setup, with precopy still
 * running, and the counters add up.
 */
void fph_assert_epoch_held(FphHostile *h, const char *what);

/* Migration. */
const char *fph_migrate_status(QTestState *qts, char **buf);
void fph_wait_migration(QTestState *qts, const char *want, int timeout_s);
void fph_set_bandwidth(QTestState *qts, uint64_t bytes_per_s);
/*
 * Stall the source's migration thread: the destination stops reading, so
 * the thread blocks in a write with the migration bitmap's lock held, and
 * the worker's next arm or skip waits for it.  Resume: read again, at the
 * slow bandwidth.
 */
void fph_stall_destination(FphHostile *h);
void fph_resume_destination(FphHostile *h);
/* Lift the bandwidth limit and wait until both sides have completed. */
void fph_complete_migration(FphHostile *h);
/*
 * A wall-time bound of a latency test, as this build meets it: times
 * FPH_QTEST_TIME_SCALE, which the sanitizer build sets
 * (tests/qtest/meson.build); 1 otherwise.
 */
int64_t fph_time_bound(int64_t bound);

#endif
