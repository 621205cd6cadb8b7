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
#include "fph_names.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Why a range (or a whole request) was dropped: FPH_REJECT_REASONS of
 * fph_names.h, generated from include/fph/names.toml (the one list; the
 * QAPI FphRejectInfo members come from it too).  fph_reject_name() gives
 * "lower", a stable stats/trace key.  Order is ABI for stats.
 */
#define FPH_REJECT_ENUM(up, low, key) FPH_REJECT_##up,
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


/*
 * What the last reclaim request (VIRTIO_FPH_F_RECLAIM) came to:
 * FPH_RECLAIM_RESULTS of fph_names.h (include/fph/names.toml; QAPI's
 * FphReclaimOutcome too); fph_reclaim_result_name() gives "lower".  The
 * members from OK on are the guest's VIRTIO_FPH_RECLAIM_S_* in order
 * (FPH_RECLAIM_GUEST_STATUSES).
 */
#define FPH_RECLAIM_ENUM(up, low, key) FPH_RECLAIM_##up,
typedef enum FphReclaimResult {
    FPH_RECLAIM_RESULTS(FPH_RECLAIM_ENUM)
    FPH_RECLAIM__MAX,
} FphReclaimResult;
#undef FPH_RECLAIM_ENUM

typedef struct FphReclaimStats {
    uint64_t requests;          /* reclaims asked of the guest */
    uint64_t reclaimed_bytes;   /* reported by the guest, all requests */
    uint64_t guest_us;          /* reported by the guest, all requests */
    uint64_t wait_ms;           /* the migrations waited, all requests */
    uint64_t timeouts;
    uint64_t bad_reports;       /* reports dropped by validation */
    uint64_t late_reports;      /* valid reports after the wait ended */
    FphReclaimResult last_result;
    uint64_t last_asked_bytes;
    uint64_t last_reclaimed_bytes;
    uint64_t last_guest_us;
    uint64_t last_wait_ms;
} FphReclaimStats;

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
typedef struct FphPlanning FphPlanning;

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

/*
 * The same in slices, for a caller that must not be held for the whole of
 * a large request (QEMU's main loop: docs/design.rst, "Bounded cost").
 *
 * fph_core_plan_begin() takes the request as fph_core_parse() does and
 * plans nothing yet; it borrows @req, which must stay as it is until the
 * planning is planned or dropped.  fph_core_plan_step() plans on for at
 * most *@budget steps (a step: one lookup in the armed set, ~0.5 us with
 * 2^20 intervals; cheaper work costs a fraction of one; a slice may
 * overrun by a few) and takes what it used from *@budget.  Once done it returns the plan fph_core_parse() would have
 * returned, counts the request and frees the planning; until then NULL
 * (*@budget is then 0).  A request refused whole is done at once, even
 * with a budget of 0.
 *
 * One planning at a time, and no plan completed while it lasts: each
 * request is planned against the armed set the previous ones left.  If an
 * epoch begins or ends meanwhile, the request is refused as stale, as if
 * it had come after (S_STALE, counted as such).
 */
FphPlanning *fph_core_plan_begin(FphCore *core, const void *req, size_t len);
FphPlan *fph_core_plan_step(FphCore *core, FphPlanning *planning,
                            uint32_t *budget);
/*
 * Give a planning up and free it.  @requeued: its request goes back to
 * the queue, to be taken again (and counted then); else it is dropped
 * unanswered (a device reset), counted as received, its ranges unjudged.
 */
void fph_core_plan_drop(FphCore *core, FphPlanning *planning, bool requeued);

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

/*
 * Reclaim requests: at most one at a time, asked at the start of a
 * migration, which waits for the report until fph_core_reclaim_end().
 * @now_ms: any monotonic clock, for the wait statistics.
 *
 * Ask for @bytes (0: reclaim is off) if the driver negotiated
 * VIRTIO_FPH_F_RECLAIM (@negotiated).  Returns PENDING if the request is
 * out (the caller notifies a config change and waits), else NONE (off) or
 * NO_DRIVER.
 */
FphReclaimResult fph_core_reclaim_begin(FphCore *core, uint64_t bytes,
                                        uint32_t timeout_ms, bool negotiated,
                                        uint64_t now_ms);
/*
 * The driver wrote to the config space: @config is the device's copy after
 * the write (only the driver's fields are read).  Returns true if this
 * completed the pending request: the caller stops waiting.
 */
bool fph_core_reclaim_write(FphCore *core,
                            const struct virtio_fph_config *config,
                            uint64_t now_ms);
/* Stop waiting: @why is TIMEOUT or CANCELLED.  No-op if none pending. */
void fph_core_reclaim_end(FphCore *core, FphReclaimResult why,
                          uint64_t now_ms);
bool fph_core_reclaim_pending(const FphCore *core);
/*
 * The last request's number, carried to a migration destination so that
 * its next request has a number the driver has not seen.
 */
uint32_t fph_core_reclaim_seq(const FphCore *core);
void fph_core_reclaim_set_seq(FphCore *core, uint32_t seq);
/* Fill the reclaim fields of @config, both parts, as the driver reads them. */
void fph_core_reclaim_config(const FphCore *core,
                             struct virtio_fph_config *config);
void fph_core_get_reclaim_stats(const FphCore *core, FphReclaimStats *stats);
const char *fph_reclaim_result_name(FphReclaimResult result);

/* Introspection for tests and the glue. */
bool fph_plan_has_work(const FphPlan *plan);
void fph_core_get_stats(const FphCore *core, FphStats *stats);
const char *fph_reject_name(FphReject reason);

#ifdef __cplusplus
}
#endif

#endif /* FPH_CORE_H */
