/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqos driver for virtio-fph-pci, the free-page-hint device.
 *
 * The transport (PCI, feature negotiation, queue setup) is QEMU's libqos.
 * The ring is driven here, descriptor by descriptor, because the tests
 * need chains that libqos' qvirtqueue_add() cannot build: split and
 * padded requests, loops, buffers outside RAM, responses aimed at the
 * device's own registers, avail indices moved by more than the ring.
 */

#ifndef TESTS_LIBQOS_VIRTIO_FPH_H
#define TESTS_LIBQOS_VIRTIO_FPH_H

#include "libqtest.h"
#include "qobject/qdict.h"
#include "qemu/bswap.h"
#include "libqos/pci-pc.h"
#include "libqos/libqos-malloc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "fph/virtio_fph.h"
#include "fph_names.h"

/* How long a request may take to be answered. */
#define QVIRTIO_FPH_TIMEOUT_US (30 * G_USEC_PER_SEC)

/* The driver: libqos for the device, our own ring handling. */
typedef struct QVirtioFph {
    QTestState *qts;
    QGuestAllocator alloc;  /* survives a re-bind, as the ring does */
    QPCIBus *bus;
    QVirtioPCIDevice *dev;
    QVirtQueue *vq;
    uint16_t avail_idx;     /* next avail->idx to publish */
    uint16_t used_idx;      /* next used entry to consume */
    /* If set, called between the kick and the wait of run_chains(). */
    void (*kicked)(void *opaque);
    void *kicked_opaque;
} QVirtioFph;

/* Bind @d to the virtio-fph-pci at @devfn of @qts (keeps alloc and ring). */
void qvirtio_fph_bind(QVirtioFph *d, QTestState *qts, int devfn);
void qvirtio_fph_unbind(QVirtioFph *d);
/* Reset, negotiate VERSION_1, set up the hintq, optionally DRIVER_OK. */
void qvirtio_fph_setup_queue(QVirtioFph *d, bool driver_ok);
/* The same, negotiating VERSION_1 and the device features @features. */
void qvirtio_fph_setup_queue_features(QVirtioFph *d, bool driver_ok,
                                      uint64_t features);
/* Free the hintq and set it up again, with DRIVER_OK. */
void qvirtio_fph_reinit(QVirtioFph *d);
void qvirtio_fph_reset(QVirtioFph *d);
void qvirtio_fph_kick(QVirtioFph *d);
uint8_t qvirtio_fph_status(QVirtioFph *d);
/*
 * Enable MSI-X and aim the hintq's vector (or, if @config, the config
 * vector) at @addr with @data: a hostile driver's way to make the device
 * write where it likes when it notifies.
 */
void qvirtio_fph_aim_msix(QVirtioFph *d, bool config, uint64_t addr,
                          uint32_t data);
/* The guest-physical address of a register of the common configuration. */
uint64_t qvirtio_fph_common_cfg_addr(QVirtioFph *d, uint32_t offset);
/* Wait until the status, masked by @mask, is @want; false on timeout. */
bool qvirtio_fph_wait_status(QVirtioFph *d, uint8_t mask, uint8_t want,
                             gint64 timeout_us);
uint32_t qvirtio_fph_epoch(QVirtioFph *d);
uint32_t qvirtio_fph_max_ranges(QVirtioFph *d);
/* A 32-bit config field at @offset (offsetof(struct virtio_fph_config)). */
uint32_t qvirtio_fph_config_readl(QVirtioFph *d, uint64_t offset);
void qvirtio_fph_config_writel(QVirtioFph *d, uint64_t offset, uint32_t val);
/* used->idx as the device last wrote it. */
uint16_t qvirtio_fph_used_idx(QVirtioFph *d);
/* Wait until used->idx reaches @want; false on timeout. */
bool qvirtio_fph_wait_used_idx(QVirtioFph *d, uint16_t want,
                               gint64 timeout_us);

#define QFPH_MAX_SEGS 8

/* One descriptor of a chain. */
typedef struct QFphSeg {
    uint32_t len;
    bool write;
    bool fixed;             /* @addr is a guest address, not in the arena */
    uint64_t addr;
    int next;               /* -1: the following segment; else chain index */
} QFphSeg;

/* One request: a descriptor chain and what came back. */
typedef struct QFphChain {
    unsigned nsegs;
    QFphSeg seg[QFPH_MAX_SEGS];
    GByteArray *out;        /* bytes for the readable arena segments */
    /* results */
    bool used;
    uint32_t used_len;
    uint8_t in[32];         /* the writable arena segments, concatenated */
} QFphChain;

/* The usual shape: @out readable, then @resp_len writable (if nonzero). */
void qfph_chain_init(QFphChain *c, GByteArray *out, uint32_t resp_len);
void qfph_chain_add(QFphChain *c, uint32_t len, bool write);
void qfph_chain_add_fixed(QFphChain *c, uint64_t addr, uint32_t len,
                          bool write);
void qfph_chain_clear(QFphChain *c);

static inline uint16_t qfph_resp_status(const QFphChain *c)
{
    return lduw_le_p(c->in);
}

/*
 * Put @n chains on the ring, kick once and, if @wait, wait for all of
 * them and collect the results.  Without @wait the caller resets the
 * device or waits itself; the buffers are not freed.
 */
void qvirtio_fph_run_chains(QVirtioFph *d, QFphChain *c, unsigned n,
                            bool wait);

/* A request header and @n (addr, len) pairs, fields as given. */
GByteArray *qfph_req_raw(uint16_t type, uint16_t reserved, uint32_t epoch,
                         uint32_t nr, uint32_t reserved2,
                         const uint64_t *ranges, unsigned n);
/* A well-framed request of @n (addr, len) pairs. */
GByteArray *qfph_req(uint16_t type, uint32_t epoch, const uint64_t *ranges,
                     unsigned n);
GByteArray *qfph_req1(uint16_t type, uint32_t epoch, uint64_t addr,
                      uint64_t len);

/*
 * The reasons of query-fph-stats' "rejected", QFPH_REJ_<reason> in QAPI
 * FphRejectInfo's order, and their keys: fph_names.h, generated from
 * include/fph/names.toml.
 */
#define QFPH_REJ_ENUM(up, low, key) QFPH_REJ_##up,
enum {
    FPH_REJECT_REASONS(QFPH_REJ_ENUM)
    QFPH_REJ__MAX,
};
#undef QFPH_REJ_ENUM
extern const char *const qfph_reject_keys[QFPH_REJ__MAX];

/* query-fph-stats, or an expected delta of it. */
typedef struct QFphStats {
    uint64_t requests, cand, conf, ranges, armed, skipped;
    uint64_t rej[QFPH_REJ__MAX];
} QFphStats;

/* The "return" of @cmd, which must not fail. */
QDict *qfph_qmp_return(QTestState *qts, const char *cmd);
/* query-fph-stats of @qts; @epoch (if not NULL) gets its "epoch". */
void qfph_read_stats(QTestState *qts, QFphStats *s, uint32_t *epoch);
/* @a += @b * @times */
void qfph_stats_add(QFphStats *a, const QFphStats *b, uint64_t times);

/*
 * Guest memory in small pieces: libqtest and QEMU's qtest both look for
 * the end of a line in everything received so far after each chunk, so
 * one big transfer is quadratic.
 */
void qfph_memwrite(QTestState *qts, uint64_t addr, const void *buf,
                   size_t len);
void qfph_memread(QTestState *qts, uint64_t addr, void *buf, size_t len);

#endif
