/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fph core: host-side protocol state machine and validation (C ABI).
 *
 * Implemented in C++20 (the .cpp files in module/core); used by the QEMU glue in C and by
 * the deterministic simulator in tests/sim.  The core owns every decision
 * about guest input: which ranges are valid, which may be armed, which may be
 * skipped.  It never touches guest memory or migration state itself; it hands
 * validated work to a backend (FphHookOps) -- the QEMU migration filter hook
 * in the module, a modelled accelerator in the simulator.
 *
 * Threading: all fph_core_* functions run in one thread (QEMU: main loop
 * under the BQL).  fph_plan_execute() may run in a worker thread; it touches
 * only the plan.
 */
#ifndef FPH_CORE_H
#define FPH_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "fph/virtio_fph.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Why a range (or a whole request) was dropped: the one list of reasons.
 * X(UPPER, lower, description): the enum, fph_reject_name() ("lower", a
 * stable stats/trace key: never rename) and the QAPI FphRejectInfo members
 * (lower with '-', checked by scripts/check-reject-reasons.py) come from
 * it.  Order is ABI for stats.
 */
#define FPH_REJECT_REASONS(X) \
    X(STALE_EPOCH, stale_epoch, "request epoch is not the open epoch") \
    X(OUT_OF_RAM, out_of_ram, "range not fully inside hintable guest RAM") \
    X(MISALIGNED, misaligned, "addr or len not VIRTIO_FPH_PAGE_SIZE aligned") \
    X(MALFORMED, malformed, "bad header, type, length, zero len, wrap") \
    X(OVER_LIMIT, over_limit, "nr_ranges above max_ranges") \
    X(NOT_ARMED, not_armed, "CONFIRM range (part) not armed this epoch") \
    X(OVER_BUDGET, over_budget, "the epoch's work or armed-set budget is spent")

#define FPH_REJECT_ENUM(up, low, desc) FPH_REJECT_##up,
typedef enum FphReject {
    FPH_REJECT_REASONS(FPH_REJECT_ENUM)
    FPH_REJECT__MAX,
} FphReject;
#undef FPH_REJECT_ENUM

typedef struct FphStats {
    uint32_t epoch;            /* current device epoch, 0 = closed */
    uint64_t epochs_seen;      /* epochs opened since creation */
    uint64_t requests;         /* requests received (both phases) */
    uint64_t candidate_batches;
    uint64_t confirm_batches;
    uint64_t ranges_received;
    uint64_t pages_armed;
    uint64_t pages_skipped;
    uint64_t rejected[FPH_REJECT__MAX];  /* counted per range (per request
                                          * for whole-request rejects) */
} FphStats;


/* A guest-physical range of hintable RAM. */
typedef struct FphRamRange {
    uint64_t addr;
    uint64_t len;
} FphRamRange;

/*
 * Backend operations (the migration filter hook).  Both take the backend's
 * epoch token the plan was created in and must refuse with -ESTALE once that
 * epoch is over.  Return 0 on success or a negative errno.
 */
typedef struct FphHookOps {
    int (*arm)(void *opaque, uint64_t token, uint64_t addr, uint64_t len);
    int (*skip)(void *opaque, uint64_t token, uint64_t addr, uint64_t len,
                uint64_t *pages_skipped);
    /*
     * Optional batch forms, used instead of the above when set: the whole
     * plan in one call, so the backend takes its locks once (the QEMU hook
     * contends with the migration thread).  All or nothing: 0, or a
     * negative errno for the whole batch (-ESTALE: epoch over; -EINVAL,
     * -ECANCELED from the QEMU hook); every item gets the same result.
     */
    int (*arm_batch)(void *opaque, uint64_t token, const FphRamRange *ranges,
                     size_t n);
    int (*skip_batch)(void *opaque, uint64_t token, const FphRamRange *ranges,
                      size_t n, uint64_t *pages_skipped);
} FphHookOps;

typedef struct FphCore FphCore;
typedef struct FphPlan FphPlan;

/* max_ranges: per-request limit advertised in config (>= 1). */
FphCore *fph_core_new(uint32_t max_ranges);
void fph_core_free(FphCore *core);

/* Replace the set of hintable guest RAM ranges (need not be sorted). */
void fph_core_set_ram(FphCore *core, const FphRamRange *ranges, size_t n);

/*
 * Open a new epoch tied to backend epoch @token (closes any open one).
 * Returns the device epoch (never VIRTIO_FPH_EPOCH_NONE) to put in config.
 */
uint32_t fph_core_epoch_begin(FphCore *core, uint64_t token);
/* Close the open epoch, if any; forgets everything armed in it. */
void fph_core_epoch_end(FphCore *core);
uint32_t fph_core_epoch(const FphCore *core);
uint32_t fph_core_max_ranges(const FphCore *core);

/*
 * Parse and validate one request (@req: the driver-readable bytes of the
 * chain, @len bytes).  Never fails: a rejected request yields a plan with no
 * work whose completion reports the status.  Bad ranges are counted and
 * dropped; CONFIRM ranges are clipped to what was armed this epoch.
 */
FphPlan *fph_core_parse(FphCore *core, const void *req, size_t len);

/* Run the plan's backend operations.  Thread-safe w.r.t. the core. */
void fph_plan_execute(FphPlan *plan, const FphHookOps *ops, void *opaque);

/*
 * Account a (possibly executed) plan, fill @resp and free the plan.
 * Successfully armed ranges become confirmable if their epoch is still open.
 */
void fph_core_complete(FphCore *core, FphPlan *plan,
                       struct virtio_fph_resp *resp);
/* Free a plan without accounting it (device reset / unrealize). */
void fph_plan_free(FphPlan *plan);

/* Introspection for tests and the glue. */
bool fph_plan_has_work(const FphPlan *plan);
void fph_core_get_stats(const FphCore *core, FphStats *stats);
const char *fph_reject_name(FphReject reason);

#ifdef __cplusplus
}
#endif

#endif /* FPH_CORE_H */
