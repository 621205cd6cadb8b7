/*
 * fph: page-cache reclaim requests at the start of a migration
 *
 * With reclaim=SIZE on the free-page-hint object, the first epoch of an
 * outgoing migration carries a request to the guest (VIRTIO_FPH_F_RECLAIM):
 * drop up to SIZE of clean, cold page cache.  The pages it frees are only
 * worth something if they are hinted before the bulk round sends them, so
 * the migration waits, after its setup and before its first iteration, for
 * the guest's report or reclaim-timeout, whichever comes first.  The wait
 * is QEMU's own (qemu_savevm_wait_unplug(), the "wait-unplug" state that
 * virtio-net failover uses): the device's dev_unplug_pending() says true
 * while the request is out.  The core (fph_core_reclaim_*) validates the
 * guest's report and keeps the statistics; this file owns the clock.
 * See docs/design.rst, "Page-cache reclaim".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "qemu/cutils.h"
#include "migration/misc.h"
#include "fph-reclaim.h"
#include "trace-fph.h"

static uint64_t fph_reclaim_now_ms(void)
{
    return qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
}

/* Why each outcome that did nothing did nothing, and the fix. */
#define FPH_RESULT(up) FPH_RECLAIM_##up
static const char *const fph_reclaim_advice[FPH_RECLAIM__MAX] = {
    FPH_RECLAIM_ADVICE_TABLE(FPH_RESULT)
};
#undef FPH_RESULT

/* One line per request that did not reclaim, naming the fix. */
static void fph_reclaim_report_result(FphReclaim *r)
{
    FphReclaimStats s;
    g_autofree char *asked = NULL;
    const char *advice;

    fph_core_get_reclaim_stats(r->core, &s);
    trace_fph_reclaim_result(fph_reclaim_result_name(s.last_result),
                             s.last_reclaimed_bytes, s.last_guest_us,
                             s.last_wait_ms);
    asked = size_to_str(s.last_asked_bytes);
    advice = fph_reclaim_advice[s.last_result];
    if (advice) {
        warn_report("free-page-hint: reclaim=%s not done: %s", asked, advice);
    } else if (s.last_result == FPH_RECLAIM_TIMEOUT) {
        warn_report("free-page-hint: no reclaim report from the guest within "
                    "reclaim-timeout (%" PRIu64 " ms); the migration went "
                    "on", s.last_wait_ms);
    }
}

static void fph_reclaim_stop_waiting(FphReclaim *r)
{
    timer_del(r->timer);
    qatomic_set(&r->hold, false);
    fph_reclaim_report_result(r);
}

static void fph_reclaim_timeout(void *opaque)
{
    FphReclaim *r = opaque;

    if (fph_core_reclaim_pending(r->core)) {
        fph_core_reclaim_end(r->core, FPH_RECLAIM_TIMEOUT,
                             fph_reclaim_now_ms());
        fph_reclaim_stop_waiting(r);
    }
}

void fph_reclaim_init(FphReclaim *r, FphCore *core)
{
    r->core = core;
    r->timer = timer_new_ms(QEMU_CLOCK_REALTIME, fph_reclaim_timeout, r);
}

void fph_reclaim_cleanup(FphReclaim *r)
{
    qatomic_set(&r->hold, false);
    timer_free(r->timer);
    r->timer = NULL;
}

void fph_reclaim_migration_start(FphReclaim *r, uint64_t bytes,
                                 uint32_t timeout_ms, bool negotiated)
{
    if (migration_in_bg_snapshot()) {
        return;
    }
    switch (fph_core_reclaim_begin(r->core, bytes, timeout_ms, negotiated,
                                   fph_reclaim_now_ms())) {
    case FPH_RECLAIM_PENDING:
        trace_fph_reclaim_request(bytes, timeout_ms);
        qatomic_set(&r->hold, true);
        timer_mod(r->timer, fph_reclaim_now_ms() + timeout_ms);
        /* The caller notifies the config change with the epoch's. */
        break;
    case FPH_RECLAIM_NO_DRIVER:
        fph_reclaim_report_result(r);
        break;
    default:
        break;
    }
}

void fph_reclaim_cancel(FphReclaim *r)
{
    if (fph_core_reclaim_pending(r->core)) {
        fph_core_reclaim_end(r->core, FPH_RECLAIM_CANCELLED,
                             fph_reclaim_now_ms());
        fph_reclaim_stop_waiting(r);
    }
}

void fph_reclaim_state_loaded(FphReclaim *r, uint32_t seq)
{
    /* The driver that was asked is gone with the state it had. */
    fph_reclaim_cancel(r);
    fph_core_reclaim_set_seq(r->core, seq);
}

void fph_reclaim_config_written(FphReclaim *r, const uint8_t *config)
{
    struct virtio_fph_config c;

    memcpy(&c, config, sizeof(c));
    if (fph_core_reclaim_write(r->core, &c, fph_reclaim_now_ms())) {
        fph_reclaim_stop_waiting(r);
    }
}

bool fph_reclaim_holds_migration(FphReclaim *r)
{
    return qatomic_read(&r->hold);
}
