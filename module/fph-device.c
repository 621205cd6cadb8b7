/*
 * virtio-fph: free page hinting device
 *
 * The guest driver sends candidate free ranges (phase 1); the device arms
 * dirty tracking for them through the migration RAM filter hook and
 * answers; the driver sends the ranges that are still free (phase 2); the
 * device skips them.  Validation and the protocol state live in the C++
 * core (module/core); this file is the virtio and QOM glue.
 * See docs/protocol.rst.
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
#include "fph-ram-map.h"
#include "fph-reclaim.h"
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


static void fph_epoch_begin(void *opaque, uint64_t epoch)
{
    VirtIOFph *dev = opaque;
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
        fph_reclaim_migration_start(dev);
    }
    qapi_free_FphUnhintableRamList(unhintable);
    /*
     * The guest reads the epoch (and a reclaim request) from config: the
     * core's, not a copy.
     */
    virtio_notify_config(VIRTIO_DEVICE(dev));
}

static void fph_epoch_end(void *opaque, uint64_t epoch, RamFilterEpochEnd why)
{
    VirtIOFph *dev = opaque;

    trace_fph_epoch_end(epoch, fph_core_epoch(dev->core), why);
    if (why == RAM_FILTER_EPOCH_END_CLEANUP) {
        dev->migrating = false;         /* the migration is over */
        fph_reclaim_migration_end(dev);
    }
    fph_core_epoch_end(dev->core);
    virtio_notify_config(VIRTIO_DEVICE(dev));
}

static const RamFilterOps fph_filter_ops = {
    .epoch_begin = fph_epoch_begin,
    .epoch_end = fph_epoch_end,
};

static void fph_complete(VirtIOFph *dev, FphRequest *req)
{
    struct virtio_fph_resp resp;

    fph_core_complete(dev->core, req->plan, &resp);
    trace_fph_request_done(le16_to_cpu(resp.status), le32_to_cpu(resp.nr_done),
                           le32_to_cpu(resp.nr_rejected));
    if (iov_from_buf(req->elem->in_sg, req->elem->in_num, 0, &resp,
                     sizeof(resp)) == sizeof(resp)) {
        virtqueue_push(dev->vq, req->elem, sizeof(resp));
    } else {
        /* No room for a response: the core counted it malformed. */
        virtqueue_push(dev->vq, req->elem, 0);
    }
    g_free(req->elem);
    g_free(req);
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
    bool any = false;

    while ((req = fph_worker_take_done(dev->worker))) {
        if (req != dev->in_flight) {
            fph_free_cancelled(req);
            continue;
        }
        dev->in_flight = NULL;
        fph_complete(dev, req);
        any = true;
    }
    if (any) {
        virtio_notify(VIRTIO_DEVICE(dev), dev->vq);
        /* The next request may be waiting for this one. */
        qemu_bh_schedule(dev->kick_bh);
    }
}

static void fph_done_bh(void *opaque)
{
    fph_complete_done(opaque);
}

static void fph_handle_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);
    /* One byte more than any valid request, so oversize ones stay so. */
    size_t cap = sizeof(struct virtio_fph_req) +
                 (size_t)dev->max_ranges * sizeof(struct virtio_fph_range) + 1;
    g_autofree uint8_t *buf = g_malloc(cap);
    VirtQueueElement *elem;
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
     */
    while (!dev->in_flight &&
           (elem = virtqueue_pop(vq, sizeof(VirtQueueElement)))) {
        FphRequest *req = g_new0(FphRequest, 1);
        size_t len = 0;

        req->elem = elem;
        if (iov_size(elem->in_sg, elem->in_num) >=
            sizeof(struct virtio_fph_resp)) {
            len = iov_to_buf(elem->out_sg, elem->out_num, 0, buf, cap);
        }
        /* len 0 (no room to answer) is rejected as malformed. */
        req->plan = fph_core_parse(dev->core, buf, len);
        trace_fph_request(len, fph_plan_has_work(req->plan));
        if (fph_plan_has_work(req->plan)) {
            dev->in_flight = req;
            fph_worker_submit(dev->worker, req);
        } else {
            fph_complete(dev, req);
            notify = true;
        }
    }
    if (notify) {
        virtio_notify(vdev, vq);
    }
}

static void fph_kick_bh(void *opaque)
{
    VirtIOFph *dev = opaque;

    fph_handle_queue(VIRTIO_DEVICE(dev), dev->vq);
}

static void fph_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);

    /* Runs before vdev->status changes: the BH sees the new status. */
    if (virtio_device_should_start(vdev, status)) {
        qemu_bh_schedule(dev->kick_bh);
    }
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
    fph_reclaim_config_written(VIRTIO_FPH(vdev), config_data);
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
    struct virtio_fph_resp resp = {};

    if (!req) {
        return;
    }
    trace_fph_request_cancelled(answer);
    dev->in_flight = NULL;
    if (answer) {
        stw_le_p(&resp.status, VIRTIO_FPH_S_STALE);
        stl_le_p(&resp.epoch, fph_core_epoch(dev->core));
        if (iov_from_buf(req->elem->in_sg, req->elem->in_num, 0, &resp,
                         sizeof(resp)) == sizeof(resp)) {
            virtqueue_push(dev->vq, req->elem, sizeof(resp));
        } else {
            virtqueue_push(dev->vq, req->elem, 0);
        }
        virtio_notify(VIRTIO_DEVICE(dev), dev->vq);
    } else {
        virtqueue_detach_element(dev->vq, req->elem, 0);
    }
    g_free(req->elem);
    req->elem = NULL;
}

/* Answer everything in flight, so no request is lost with the state. */
static void fph_flush(VirtIOFph *dev)
{
    if (!fph_worker_drain_timeout(dev->worker, FPH_DRAIN_WAIT_MS)) {
        fph_cancel_in_flight(dev, true);
    }
    fph_complete_done(dev);
}

static void fph_reset(VirtIODevice *vdev)
{
    VirtIOFph *dev = VIRTIO_FPH(vdev);
    FphRequest *req;

    fph_worker_drain_timeout(dev->worker, FPH_DRAIN_WAIT_MS);
    /* The rings are being reset: drop the answers, unmap the buffers. */
    fph_cancel_in_flight(dev, false);
    while ((req = fph_worker_take_done(dev->worker))) {
        if (req->elem) {
            virtqueue_detach_element(dev->vq, req->elem, 0);
            g_free(req->elem);
        }
        fph_free_cancelled(req);
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

    if (running) {
        qemu_bh_schedule(dev->kick_bh);
    } else {
        fph_flush(dev);
    }
}

static void fph_realize(DeviceState *qdev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(qdev);
    VirtIOFph *dev = VIRTIO_FPH(qdev);
    Object *owner = object_resolve_path_type("", TYPE_FREE_PAGE_HINT, NULL);

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
    if (!object_property_set_link(owner, "device", OBJECT(dev), errp)) {
        return;
    }
    dev->core = fph_core_new(dev->max_ranges);
    /* Guarded: a BH that touches guest RAM must not re-enter the device. */
    dev->done_bh = virtio_bh_new_guarded(qdev, fph_done_bh, dev);
    dev->kick_bh = virtio_bh_new_guarded(qdev, fph_kick_bh, dev);
    dev->worker = fph_worker_new(&fph_hook_ops, dev, dev->done_bh);
    virtio_init(vdev, VIRTIO_ID_FPH, sizeof(struct virtio_fph_config));
    dev->vq = virtio_add_queue(vdev, FPH_QUEUE_SIZE, fph_handle_queue);
    fph_reclaim_init(dev);
    dev->filter = ram_filter_register(TYPE_VIRTIO_FPH, &fph_filter_ops, dev);
    dev->vmstate = qdev_add_vm_change_state_handler(qdev, fph_vm_state_change,
                                                    dev);
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

static void fph_unrealize(DeviceState *qdev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(qdev);
    VirtIOFph *dev = VIRTIO_FPH(qdev);
    Object *owner;

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
    fph_complete_done(dev);
    fph_worker_free(dev->worker);
    ram_filter_unregister(dev->filter);
    fph_reclaim_cleanup(dev);
    qemu_bh_delete(dev->done_bh);
    qemu_bh_delete(dev->kick_bh);
    virtio_delete_queue(dev->vq);
    virtio_cleanup(vdev);
    fph_core_free(dev->core);
    /* Found again, not remembered: the link is all the object holds. */
    owner = object_resolve_path_type("", TYPE_FREE_PAGE_HINT, NULL);
    if (owner &&
        object_property_get_link(owner, "device", NULL) == OBJECT(dev)) {
        object_property_set_link(owner, "device", NULL, &error_abort);
    }
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
    .dev_unplug_pending = fph_reclaim_holds_migration,
};

static int fph_reclaim_pre_save(void *opaque)
{
    VirtIOFph *dev = opaque;

    dev->reclaim_seq = fph_core_reclaim_seq(dev->core);
    return 0;
}

static int fph_reclaim_post_load(void *opaque, int version_id)
{
    VirtIOFph *dev = opaque;

    fph_core_reclaim_set_seq(dev->core, dev->reclaim_seq);
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
    .post_load = fph_reclaim_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(reclaim_seq, VirtIOFph),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Device-specific state, saved within the virtio device state.  The guest
 * read max_ranges at probe and keeps using it: the destination must offer
 * the same, or every request would be refused there.
 */
static const VMStateDescription vmstate_virtio_fph_device = {
    .name = "virtio-fph-device",
    .version_id = 1,
    .minimum_version_id = 1,
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

static void fph_class_init(ObjectClass *klass, void *data)
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
