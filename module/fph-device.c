/*
 * virtio-fph: free page hinting device
 *
 * The guest driver sends candidate free ranges (phase 1); the device arms
 * dirty tracking for them through the migration RAM filter hook and
 * answers; the driver sends the ranges that are still free (phase 2); the
 * device skips them.  Validation and the protocol state live in the C++
 * core (module/core); this file is the virtio and QOM glue.
 * See docs/virtio-fph-spec.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/bswap.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "migration/ram-filter.h"
#include "system/runstate.h"
#include "fph-device.h"
#include "fph-object.h"
#include "fph-qemu-compat.h"
#include "fph-ram-map.h"
#include "fph-worker.h"
#include "trace-fph.h"

#define FPH_QUEUE_SIZE 64

/*
 * Backend for the core: the migration RAM filter hook, in batches (one
 * acquisition of the migration bitmap lock per request).  FphRamRange and
 * RamFilterRange have the same layout.
 */
QEMU_BUILD_BUG_ON(sizeof(FphRamRange) != sizeof(RamFilterRange));
QEMU_BUILD_BUG_ON(offsetof(FphRamRange, len) != offsetof(RamFilterRange, len));

static int fph_hook_arm(void *opaque, uint64_t token,
                        const FphRamRange *ranges, size_t n)
{
    VirtIOFph *dev = opaque;

    return ram_filter_arm(dev->filter, token,
                          (const RamFilterRange *)ranges, n, NULL);
}

static int fph_hook_skip(void *opaque, uint64_t token,
                         const FphRamRange *ranges, size_t n,
                         uint64_t *pages_skipped)
{
    VirtIOFph *dev = opaque;

    return ram_filter_skip(dev->filter, token, (const RamFilterRange *)ranges,
                           n, pages_skipped, NULL);
}

static const FphHookOps fph_hook_ops = {
    .arm_batch = fph_hook_arm,
    .skip_batch = fph_hook_skip,
};


/*
 * Guest-programmed I/O.  A used-ring write or a response through a bounce
 * buffer (virtqueue_push) and an MSI-X message (virtio_notify*) go to
 * whatever address the guest wrote into the ring or the MSI-X table: RAM
 * normally, but it may name this device's own registers (a write of 0 to
 * device_status resets it) or, on a PCIe port, the slot's control (power
 * off unplugs the device, which unrealizes it at once).  MMIO dispatch and
 * the device's BHs run under the transport's re-entrancy guard, which
 * drops the first kind; every other entry (the VM state handler, the RAM
 * filter's callbacks) runs in a scope that engages it too.  The scope
 * also holds a reference to the transport, which embeds this device, so
 * that after such I/O the device can still be asked whether it is gone
 * (dev->unrealized), and nothing else: code after guest-programmed I/O
 * checks that first, and holds nothing of the device's across it (a reset
 * there frees what the worker handed back).
 */
typedef struct FphScope {
    DeviceState *transport;
    bool guard_was_engaged;
} FphScope;

static void fph_scope_enter(VirtIOFph *dev, FphScope *scope)
{
    DeviceState *transport = qdev_get_parent_bus(DEVICE(dev))->parent;

    object_ref(OBJECT(transport));
    scope->transport = transport;
    scope->guard_was_engaged = transport->mem_reentrancy_guard.engaged_in_io;
    transport->mem_reentrancy_guard.engaged_in_io = true;
}

/* Last in its caller: this may free the device. */
static void fph_scope_leave(FphScope *scope)
{
    scope->transport->mem_reentrancy_guard.engaged_in_io =
        scope->guard_was_engaged;
    object_unref(OBJECT(scope->transport));
}

/*
 * An outgoing migration starts: the reclaim request that the object asks
 * for, if there is an object (object-del leaves the device until the guest
 * ejects it).
 */
static void fph_start_reclaim(VirtIOFph *dev)
{
    if (!dev->owner) {
        return;
    }
    fph_reclaim_migration_start(&dev->reclaim, dev->owner->reclaim,
                                dev->owner->reclaim_timeout,
                                fph_device_driver_ok(dev) &&
                                virtio_vdev_has_feature(VIRTIO_DEVICE(dev),
                                                        VIRTIO_FPH_F_RECLAIM));
}

static void fph_epoch_begin_scoped(VirtIOFph *dev, uint64_t epoch)
{
    FphUnhintableRamList *unhintable = NULL;
    g_autoptr(GArray) ram = fph_ram_map_collect(&unhintable);

    /* RAM may have been remapped (PAM) or hot-added since the last epoch. */
    fph_core_set_ram(dev->core, (FphRamRange *)ram->data, ram->len);
    trace_fph_epoch_begin(epoch, fph_core_epoch_begin(dev->core, epoch));
    if (!dev->migrating) {
        dev->migrating = true;
        fph_ram_map_warn(ram, unhintable);
        if (!fph_device_driver_ok(dev)) {
            /* query-fph-stats says so too: driver-ok false. */
            warn_report("free-page-hint: no guest driver is bound to the "
                        "virtio-fph device, nothing will be hinted (install "
                        "fph-guest-dkms in the guest; its supported kernels: "
                        "docs/usage.rst, \"Guest kernels\")");
        }
        fph_start_reclaim(dev);
    }
    qapi_free_FphUnhintableRamList(unhintable);
    /*
     * The guest reads the epoch (and a reclaim request) from config: the
     * core's, not a copy.  Guest-programmed I/O, last.
     */
    virtio_notify_config(VIRTIO_DEVICE(dev));
}

static void fph_epoch_begin(void *opaque, uint64_t epoch)
{
    VirtIOFph *dev = opaque;
    FphScope scope;

    fph_scope_enter(dev, &scope);
    fph_epoch_begin_scoped(dev, epoch);
    fph_scope_leave(&scope);
}

static void fph_epoch_end(void *opaque, uint64_t epoch, RamFilterEpochEnd why)
{
    VirtIOFph *dev = opaque;
    FphScope scope;

    fph_scope_enter(dev, &scope);
    trace_fph_epoch_end(epoch, fph_core_epoch(dev->core), why);
    if (why == RAM_FILTER_EPOCH_END_CLEANUP) {
        dev->migrating = false;         /* the migration is over */
        fph_reclaim_cancel(&dev->reclaim);
    }
    fph_core_epoch_end(dev->core);
    virtio_notify_config(VIRTIO_DEVICE(dev));
    fph_scope_leave(&scope);
}

/*
 * migrate_cancel: a reclaim wait ends now, not at cleanup (QEMU waits for
 * such holds when cancelling too).
 */
static void fph_migration_cancel(void *opaque)
{
    VirtIOFph *dev = opaque;

    fph_reclaim_cancel(&dev->reclaim);
}

static const RamFilterOps fph_filter_ops = {
    .epoch_begin = fph_epoch_begin,
    .epoch_end = fph_epoch_end,
    .migration_cancel = fph_migration_cancel,
};

/*
 * Hand @elem back to the guest with @resp and free it.  Used length 0
 * without @resp or room for it (the core counted such a request
 * malformed).  Guest-programmed I/O.
 */
static void fph_push(VirtIOFph *dev, VirtQueueElement *elem,
                     const struct virtio_fph_resp *resp)
{
    unsigned int len = 0;

    if (resp && iov_from_buf(elem->in_sg, elem->in_num, 0, resp,
                             sizeof(*resp)) == sizeof(*resp)) {
        len = sizeof(*resp);
    }
    virtqueue_push(dev->vq, elem, len);
    g_free(elem);
}

/* Answer @req, which is no one else's any more, and free it. */
static void fph_complete(VirtIOFph *dev, FphRequest *req)
{
    VirtQueueElement *elem = req->elem;
    struct virtio_fph_resp resp;

    fph_core_complete(dev->core, req->plan, &resp);
    g_free(req);
    trace_fph_request_done(le16_to_cpu(resp.status), le32_to_cpu(resp.nr_done),
                           le32_to_cpu(resp.nr_rejected));
    fph_push(dev, elem, &resp);
}

/* A request answered or dropped while with the worker, back from it. */
static void fph_free_cancelled(FphRequest *req)
{
    fph_plan_free(req->plan);
    g_free(req);
}

static void fph_complete_done(VirtIOFph *dev)
{
    FphRequest *req;
    bool taken = false, answered = false;

    while (!dev->unrealized && (req = fph_worker_take_done(dev->worker))) {
        taken = true;
        if (req->cancelled) {
            fph_free_cancelled(req);
            continue;
        }
        /* The worker runs one request at a time: the one in flight. */
        assert(req == dev->in_flight);
        dev->in_flight = NULL;
        fph_complete(dev, req);
        answered = true;
    }
    if (dev->unrealized) {
        return;
    }
    if (taken) {
        /* The next request may be waiting for this one. */
        qemu_bh_schedule(dev->kick_bh);
    }
    if (answered) {
        virtio_notify(VIRTIO_DEVICE(dev), dev->vq);
    }
}

static void fph_done_bh(void *opaque)
{
    fph_complete_done(opaque);
}

/*
 * Planning a request costs the main loop up to ~1 us per range, whether
 * or not it then plans any work (docs/design.rst, "Bounded cost"), so it
 * is planned in slices: one call of the queue handler plans at most this
 * many steps (a step: one lookup in the armed set, ~0.5 us with 2^20
 * intervals armed; a no-work range of a CONFIRM costs two), copying
 * requests included, at a step per FPH_COPY_STEP_BYTES.  512: a slice of
 * ~0.3 ms; QMP, whose round trip spans a few main loop turns, then
 * answers within ~2 ms of a ring kept full of the costliest requests
 * (2048: p99 11 ms).
 */
#define FPH_SLICE_STEPS 512
#define FPH_COPY_STEP_BYTES 4096
/*
 * The next slice follows after this long, the main loop waiting without
 * the BQL: back to back, slices would leave other threads only the main
 * loop's non-blocking polls to take it in (the migration thread waited
 * up to ~1 s for it to end a cancelled migration).
 */
#define FPH_SLICE_GAP_NS (50 * SCALE_US)

/* The request being planned: taken from the ring, not answered yet. */
struct FphPlanningReq {
    VirtQueueElement *elem;
    uint8_t *bytes;             /* the driver's, copied: the core reads them */
    size_t len;
    FphPlanning *planning;
};

/* Take the next request from the ring and begin planning it. */
static bool fph_planning_take(VirtIOFph *dev, uint32_t *budget)
{
    /* One byte more than any valid request, so oversize ones stay so. */
    size_t cap = sizeof(struct virtio_fph_req) +
                 (size_t)dev->max_ranges * sizeof(struct virtio_fph_range) + 1;
    VirtQueueElement *elem = virtqueue_pop(dev->vq, sizeof(VirtQueueElement));
    FphPlanningReq *p;

    if (!elem) {
        return false;
    }
    p = g_new0(FphPlanningReq, 1);
    p->elem = elem;
    p->bytes = g_malloc(cap);
    if (iov_size(elem->in_sg, elem->in_num) >=
        sizeof(struct virtio_fph_resp)) {
        p->len = iov_to_buf(elem->out_sg, elem->out_num, 0, p->bytes, cap);
    }
    *budget -= MIN(*budget, 1 + p->len / FPH_COPY_STEP_BYTES);
    /* len 0 (no room to answer) is rejected as malformed. */
    p->planning = fph_core_plan_begin(dev->core, p->bytes, p->len);
    dev->planning = p;
    return true;
}

static void fph_planning_free(FphPlanningReq *p)
{
    g_free(p->bytes);
    g_free(p);
}

/*
 * Plan on within @budget.  Once planned, the request is the caller's;
 * NULL until then (@budget is spent).
 */
static FphRequest *fph_planning_step(VirtIOFph *dev, uint32_t *budget)
{
    FphPlanningReq *p = dev->planning;
    FphPlan *plan = fph_core_plan_step(dev->core, p->planning, budget);
    FphRequest *req;

    if (!plan) {
        return NULL;
    }
    trace_fph_request(p->len, fph_plan_has_work(plan));
    req = g_new0(FphRequest, 1);
    req->elem = p->elem;
    req->plan = plan;
    dev->planning = NULL;
    fph_planning_free(p);
    return req;
}

/*
 * Give up the request being planned: put it back on the ring (@requeue:
 * the VM stops, and it is taken again when the VM runs, here or on a
 * migration's destination) or drop it (the rings are being reset).
 */
static void fph_planning_drop(VirtIOFph *dev, bool requeue)
{
    FphPlanningReq *p = dev->planning;

    if (!p) {
        return;
    }
    dev->planning = NULL;
    fph_core_plan_drop(dev->core, p->planning, requeue);
    if (requeue) {
        /* The last element taken: one request at a time. */
        virtqueue_unpop(dev->vq, p->elem, 0);
    } else {
        virtqueue_detach_element(dev->vq, p->elem, 0);
    }
    g_free(p->elem);
    fph_planning_free(p);
}

static void fph_handle_queue_scoped(VirtIOFph *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    uint32_t budget = FPH_SLICE_STEPS;
    bool notify = false;

    /*
     * Nothing is taken before DRIVER_OK (virtio 1.2, 3.1.2: the driver may
     * still be setting the device up) nor while the VM is stopped;
     * fph_set_status() and fph_vm_state_change() pick up what waits.
     */
    if (!virtio_device_should_start(vdev, vdev->status)) {
        return;
    }
    /*
     * One request at a time: each is planned against the armed set that
     * the previous ones left, so nothing armed is armed again (which
     * would drop the record of writes since the guest's observation).
     * Nor while the worker still runs one that was cancelled (by a reset
     * or the VM's stop): the worker holds at most one plan, however often
     * the guest resets it during a stall.
     */
    while (!dev->in_flight && !dev->unrealized &&
           !fph_worker_busy(dev->worker)) {
        FphRequest *req;

        if (!budget) {
            timer_mod(dev->slice_timer,
                      qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                      FPH_SLICE_GAP_NS);
            break;
        }
        if (!dev->planning && !fph_planning_take(dev, &budget)) {
            break;
        }
        req = fph_planning_step(dev, &budget);
        if (!req) {
            continue;
        }
        if (fph_plan_has_work(req->plan)) {
            dev->in_flight = req;
            fph_worker_submit(dev->worker, req);
        } else {
            fph_complete(dev, req);
            notify = true;
        }
    }
    if (notify && !dev->unrealized) {
        virtio_notify(vdev, dev->vq);
    }
}

/*
 * From MMIO dispatch, the kick BH or (with ioeventfd, under KVM) the main
 * loop's event handler, which is not guarded.
 */
static void fph_handle_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);
    FphScope scope;

    fph_scope_enter(dev, &scope);
    fph_handle_queue_scoped(dev);
    fph_scope_leave(&scope);
}

static void fph_kick_bh(void *opaque)
{
    VirtIOFph *dev = opaque;

    fph_handle_queue(VIRTIO_DEVICE(dev), dev->vq);
}

static void fph_slice_timer(void *opaque)
{
    VirtIOFph *dev = opaque;

    fph_handle_queue(VIRTIO_DEVICE(dev), dev->vq);
}

static FphSetStatusRet fph_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);

    /* Runs before vdev->status changes: the BH sees the new status. */
    if (virtio_device_should_start(vdev, status)) {
        qemu_bh_schedule(dev->kick_bh);
    }
    FPH_SET_STATUS_RETURN;
}

static void fph_get_config(VirtIODevice *vdev, uint8_t *config_data)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);
    struct virtio_fph_config config = {};

    stl_le_p(&config.epoch, fph_core_epoch(dev->core));
    stl_le_p(&config.max_ranges, dev->max_ranges);
    fph_core_reclaim_config(dev->core, &config);
    memcpy(config_data, &config, sizeof(config));
}

static void fph_set_config(VirtIODevice *vdev, const uint8_t *config_data)
{
    fph_reclaim_config_written(&VIRTIO_FPH(vdev)->reclaim, config_data);
}

static uint64_t fph_get_features(VirtIODevice *vdev, uint64_t features,
                                 Error **errp)
{
    /* Offered whether or not reclaim is on: it is the source's policy. */
    virtio_add_feature(&features, VIRTIO_FPH_F_RECLAIM);
    return features;
}

/*
 * How long the main loop waits for the worker before it stops waiting: the
 * worker may wait for the migration thread, which may be blocked on a
 * stalled destination with the bitmap lock held.
 */
#define FPH_DRAIN_WAIT_MS 20

/*
 * Stop waiting for the request with the worker: answer it STALE now
 * (@answer) or just release its element (the rings are being reset).  Its
 * plan still runs and is dropped when it comes back: arms that are not
 * remembered are never confirmable, and skips stand (the guest saw those
 * pages free after they were armed; the hook refuses them once the epoch
 * is over).
 */
static void fph_cancel_in_flight(VirtIOFph *dev, bool answer)
{
    FphRequest *req = dev->in_flight;
    VirtQueueElement *elem;
    struct virtio_fph_resp resp = {};

    if (!req) {
        return;
    }
    trace_fph_request_cancelled(answer);
    /*
     * The request stays the worker's, and comes back through the done
     * list to be freed; its element is ours from here on, taken out
     * before any guest-programmed I/O (which may reset the device and
     * free whatever is on that list).
     */
    dev->in_flight = NULL;
    req->cancelled = true;
    elem = req->elem;
    req->elem = NULL;
    if (answer) {
        stw_le_p(&resp.status, VIRTIO_FPH_S_STALE);
        stl_le_p(&resp.epoch, fph_core_epoch(dev->core));
        fph_push(dev, elem, &resp);
        if (!dev->unrealized) {
            virtio_notify(VIRTIO_DEVICE(dev), dev->vq);
        }
    } else {
        virtqueue_detach_element(dev->vq, elem, 0);
        g_free(elem);
    }
}

/* Answer everything in flight, so no request is lost with the state. */
static void fph_flush(VirtIOFph *dev)
{
    fph_planning_drop(dev, true);
    if (!fph_worker_drain_timeout(dev->worker, FPH_DRAIN_WAIT_MS)) {
        fph_cancel_in_flight(dev, true);
    }
    fph_complete_done(dev);
}

/*
 * No wait for the worker: what it still runs is cancelled (the rings are
 * being reset, so there is no one to answer), and comes back through the
 * done list to be freed.
 */
static void fph_reset(VirtIODevice *vdev)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);
    FphRequest *req;

    /* The driver asked to reclaim is gone. */
    fph_reclaim_cancel(&dev->reclaim);
    /* The rings are being reset: drop the answers, unmap the buffers. */
    fph_planning_drop(dev, false);
    fph_cancel_in_flight(dev, false);
    while ((req = fph_worker_take_done(dev->worker))) {
        /*
         * Only the request in flight has an element, and it is cancelled
         * by now: whatever the worker hands back is cancelled and bare.
         */
        assert(req->cancelled && !req->elem);
        fph_free_cancelled(req);
    }
}

void fph_device_link(VirtIOFph *dev, FreePageHint *fph)
{
    assert(!dev->owner && !fph->dev);
    dev->owner = fph;
    fph->dev = dev;
}

void fph_device_unlink(VirtIOFph *dev)
{
    if (dev->owner) {
        dev->owner->dev = NULL;
        dev->owner = NULL;
    }
}

bool fph_device_driver_ok(VirtIOFph *dev)
{
    return VIRTIO_DEVICE(dev)->status & VIRTIO_CONFIG_S_DRIVER_OK;
}

void fph_device_get_stats(VirtIOFph *dev, FphStats *stats)
{
    fph_core_get_stats(dev->core, stats);
}

void fph_device_get_reclaim_stats(VirtIOFph *dev, FphReclaimStats *stats)
{
    fph_core_get_reclaim_stats(dev->core, stats);
}

/*
 * Requests are only taken while the VM runs.  When it stops (e.g. for the
 * final migration round) every request in flight is answered first: the
 * answer is written to guest RAM, which must happen before that RAM is
 * sent.  When it runs again (e.g. on the destination) requests queued in
 * the meantime are picked up.
 */
static void fph_vm_state_change(void *opaque, bool running, RunState state)
{
    VirtIOFph *dev = opaque;
    FphScope scope;

    if (running) {
        qemu_bh_schedule(dev->kick_bh);
        return;
    }
    fph_scope_enter(dev, &scope);
    fph_flush(dev);
    fph_scope_leave(&scope);
}

static void fph_realize(DeviceState *qdev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(qdev);
    VirtIOFph *dev = VIRTIO_FPH(qdev);
    Object *obj = object_resolve_path_type("", TYPE_FREE_PAGE_HINT, NULL);
    FreePageHint *owner = obj ? FREE_PAGE_HINT(obj) : NULL;

    if (!owner) {
        error_setg(errp, "virtio-fph needs -object %s,id=<id>",
                   TYPE_FREE_PAGE_HINT);
        return;
    }
    if (dev->max_ranges < 1 || dev->max_ranges > FPH_MAX_RANGES_LIMIT) {
        error_setg(errp, "free-page-hint: max-ranges must be between 1 and "
                   "%u, got %" PRIu32, FPH_MAX_RANGES_LIMIT, dev->max_ranges);
        return;
    }
    /* The object serves one. */
    if (owner->dev) {
        error_setg(errp, "only one virtio-fph device is supported; with an "
                   "explicit -device virtio-fph-pci, create the object with "
                   "plug=off");
        return;
    }
    dev->core = fph_core_new(dev->max_ranges);
    /* Guarded: a BH that touches guest RAM must not re-enter the device. */
    dev->done_bh = virtio_bh_new_guarded(qdev, fph_done_bh, dev);
    dev->kick_bh = virtio_bh_new_guarded(qdev, fph_kick_bh, dev);
    dev->slice_timer = timer_new_ns(QEMU_CLOCK_REALTIME, fph_slice_timer, dev);
    dev->worker = fph_worker_new(&fph_hook_ops, dev, dev->done_bh);
    virtio_init(vdev, VIRTIO_ID_FPH, sizeof(struct virtio_fph_config));
    dev->vq = virtio_add_queue(vdev, FPH_QUEUE_SIZE, fph_handle_queue);
    fph_reclaim_init(&dev->reclaim, dev->core);
    dev->filter = ram_filter_register(TYPE_VIRTIO_FPH, &fph_filter_ops, dev);
    dev->vmstate = fph_add_vm_change_state_handler(qdev, fph_vm_state_change,
                                                   dev);
    fph_device_link(dev, owner);
}

/*
 * Until the device is gone: a migration now would carry a device the
 * destination, configured without it, does not have.
 */
void fph_device_block_migration(VirtIOFph *dev, const char *reason)
{
    Error *err = NULL;

    if (dev->unplug_blocker) {
        return;
    }
    error_setg(&dev->unplug_blocker, "%s", reason);
    if (migrate_add_blocker(&dev->unplug_blocker, &err) < 0) {
        warn_report_err(err);
    }
}

/* The unplug is called off (the object took the device back). */
void fph_device_unblock_migration(VirtIOFph *dev)
{
    migrate_del_blocker(&dev->unplug_blocker);
}

static void fph_unrealize(DeviceState *qdev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(qdev);
    VirtIOFph *dev = VIRTIO_FPH(qdev);

    /* Possibly from inside one of the device's own entries: FphScope. */
    dev->unrealized = true;
    fph_device_unlink(dev);
    migrate_del_blocker(&dev->unplug_blocker);

    qemu_del_vm_change_state_handler(dev->vmstate);
    /*
     * The worker uses the filter: stop it before the filter goes.  Its
     * waits for the migration thread are withdrawn, so this drain is
     * bounded even with the destination stalled.
     */
    ram_filter_cancel(dev->filter);
    fph_reset(vdev);
    fph_worker_drain(dev->worker);
    fph_reset(vdev);            /* frees what came back meanwhile */
    fph_worker_free(dev->worker);
    ram_filter_unregister(dev->filter);
    fph_reclaim_cleanup(&dev->reclaim);
    qemu_bh_delete(dev->done_bh);
    qemu_bh_delete(dev->kick_bh);
    timer_free(dev->slice_timer);
    virtio_delete_queue(dev->vq);
    virtio_cleanup(vdev);
    fph_core_free(dev->core);
}

/* Any thread, no lock: reads the device's own flag. */
static bool fph_unplug_pending(void *opaque)
{
    VirtIOFph *dev = opaque;

    return fph_reclaim_holds_migration(&dev->reclaim);
}

static const VMStateDescription vmstate_virtio_fph = {
    .name = "virtio-fph",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        VMSTATE_END_OF_LIST()
    },
    /* Holds the migration before its first iteration: fph-reclaim.c. */
    .dev_unplug_pending = fph_unplug_pending,
};

static int fph_reclaim_pre_save(void *opaque)
{
    VirtIOFph *dev = opaque;

    dev->reclaim_seq = fph_core_reclaim_seq(dev->core);
    return 0;
}

static bool fph_reclaim_seq_needed(void *opaque)
{
    VirtIOFph *dev = opaque;

    return fph_core_reclaim_seq(dev->core) != 0;
}

/*
 * The guest remembers the last reclaim request's number: the destination
 * goes on from it, so that its first request is new to the guest.
 */
static const VMStateDescription vmstate_virtio_fph_reclaim = {
    .name = "virtio-fph-device/reclaim",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = fph_reclaim_seq_needed,
    .pre_save = fph_reclaim_pre_save,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(reclaim_seq, VirtIOFph),
        VMSTATE_END_OF_LIST()
    },
};

/* Without the subsection, the number is 0. */
static int fph_device_pre_load(void *opaque)
{
    VirtIOFph *dev = opaque;

    dev->reclaim_seq = 0;
    return 0;
}

/*
 * Also a snapshot loaded while this QEMU waits for a reclaim (loadvm does
 * not check for a migration): fph-reclaim.c.
 */
static int fph_device_post_load(void *opaque, int version_id)
{
    VirtIOFph *dev = opaque;

    fph_reclaim_state_loaded(&dev->reclaim, dev->reclaim_seq);
    return 0;
}

/*
 * Device-specific state, saved within the virtio device state.  The guest
 * read max_ranges at probe and keeps using it: the destination must offer
 * the same, or every request would be refused there.
 */
static const VMStateDescription vmstate_virtio_fph_device = {
    .name = "virtio-fph-device",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_load = fph_device_pre_load,
    .post_load = fph_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_EQUAL(max_ranges, VirtIOFph,
                             "use the same free-page-hint max-ranges on "
                             "source and destination"),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_virtio_fph_reclaim,
        NULL
    },
};

static const Property fph_properties[] = {
    DEFINE_PROP_UINT32("max-ranges", VirtIOFph, max_ranges,
                       FPH_DEFAULT_MAX_RANGES),
};

static void fph_class_init(ObjectClass *klass, FphClassData *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);

    dc->vmsd = &vmstate_virtio_fph;
    dc->desc = "free page hinting for live migration";
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, fph_properties);
    vdc->realize = fph_realize;
    vdc->unrealize = fph_unrealize;
    vdc->get_config = fph_get_config;
    vdc->set_config = fph_set_config;
    vdc->get_features = fph_get_features;
    vdc->reset = fph_reset;
    vdc->set_status = fph_set_status;
    vdc->vmsd = &vmstate_virtio_fph_device;
}

static const TypeInfo fph_device_info = {
    .name = TYPE_VIRTIO_FPH,
    .parent = TYPE_VIRTIO_DEVICE,
    .instance_size = sizeof(VirtIOFph),
    .class_init = fph_class_init,
};

static void fph_device_register_types(void)
{
    type_register_static(&fph_device_info);
}

type_init(fph_device_register_types)
