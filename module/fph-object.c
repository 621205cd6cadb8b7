/*
 * free-page-hint: the user-creatable object that enables free page hinting
 *
 *   -object free-page-hint,id=fph0[,max-ranges=N][,bus=B][,addr=A][,plug=off]
 *                         [,reclaim=SIZE][,reclaim-timeout=MS]
 *   object-add qom-type=free-page-hint,id=fph0[,...]      (a running VM)
 *
 * Creating it plugs a virtio-fph-pci device "<id>-dev" (unless plug=off,
 * for an explicit -device virtio-fph-pci) and makes query-fph-stats
 * available; on a running VM the device is hot-plugged.  object-del asks
 * for that device's unplug and removes the object.  There is at most one.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/config-file.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qobject/qdict.h"
#include "qom/object_interfaces.h"
#include "hw/boards.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pci_bus.h"
#include "hw/qdev-core.h"
#include "migration/misc.h"
#include "monitor/qdev.h"
#include "fph-device.h"
#include "fph-object.h"
#include "fph-qemu-compat.h"
#include "fph-qapi-visit.h"
#include "fph-reclaim.h"
#include "fph-stats.h"
#include "fph-types.h"

/*
 * Its device is the one that linked itself in when it was realized
 * ("device", read-only: the guest's device is not the user's to swap with
 * qom-set), or that it took back (fph_adopt_device()).
 */
static void fph_get_device(Object *obj, Visitor *v, const char *name,
                           void *opaque, Error **errp)
{
    VirtIOFph *dev = FREE_PAGE_HINT(obj)->dev;
    g_autofree char *path = dev ? object_get_canonical_path(OBJECT(dev)) :
                                  g_strdup("");

    visit_type_str(v, name, &path, errp);
}

static void fph_get_max_ranges(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    visit_type_uint32(v, name, &FREE_PAGE_HINT(obj)->max_ranges, errp);
}

static void fph_set_max_ranges(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    visit_type_uint32(v, name, &FREE_PAGE_HINT(obj)->max_ranges, errp);
}

static void fph_get_reclaim(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    visit_type_size(v, name, &FREE_PAGE_HINT(obj)->reclaim, errp);
}

static void fph_set_reclaim(Object *obj, Visitor *v, const char *name,
                            void *opaque, Error **errp)
{
    visit_type_size(v, name, &FREE_PAGE_HINT(obj)->reclaim, errp);
}

static void fph_get_reclaim_timeout(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    visit_type_uint32(v, name, &FREE_PAGE_HINT(obj)->reclaim_timeout, errp);
}

static void fph_set_reclaim_timeout(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    uint32_t value;

    if (!visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    if (value < 1 || value > FPH_MAX_RECLAIM_TIMEOUT_MS) {
        error_setg(errp, "free-page-hint: reclaim-timeout must be between 1 "
                   "and %u ms, got %" PRIu32, FPH_MAX_RECLAIM_TIMEOUT_MS,
                   value);
        return;
    }
    FREE_PAGE_HINT(obj)->reclaim_timeout = value;
}

static void fph_get_stats(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    g_autoptr(FphStatsInfo) info = fph_stats_info(FREE_PAGE_HINT(obj));

    visit_type_FphStatsInfo(v, name, &info, errp);
}

static bool fph_get_plug(Object *obj, Error **errp)
{
    return FREE_PAGE_HINT(obj)->plug;
}

static void fph_set_plug(Object *obj, bool value, Error **errp)
{
    FREE_PAGE_HINT(obj)->plug = value;
}

/* The PCI proxy of its device, if it has one. */
static PCIDevice *fph_pci_device(FreePageHint *fph)
{
    return fph->dev ?
           PCI_DEVICE(qdev_get_parent_bus(DEVICE(fph->dev))->parent) : NULL;
}

/* Where its device is (what a destination needs), else where it is to go. */
static char *fph_get_bus(Object *obj, Error **errp)
{
    FreePageHint *fph = FREE_PAGE_HINT(obj);
    PCIDevice *pdev = fph_pci_device(fph);

    return g_strdup(pdev ? pci_get_bus(pdev)->qbus.name : fph->bus);
}

static void fph_set_bus(Object *obj, const char *value, Error **errp)
{
    g_free(FREE_PAGE_HINT(obj)->bus);
    FREE_PAGE_HINT(obj)->bus = g_strdup(value);
}

static char *fph_get_addr(Object *obj, Error **errp)
{
    FreePageHint *fph = FREE_PAGE_HINT(obj);
    PCIDevice *pdev = fph_pci_device(fph);

    if (pdev) {
        return g_strdup_printf("%02x.%x", PCI_SLOT(pdev->devfn),
                               PCI_FUNC(pdev->devfn));
    }
    return g_strdup(fph->addr);
}

static void fph_set_addr(Object *obj, const char *value, Error **errp)
{
    g_free(FREE_PAGE_HINT(obj)->addr);
    FREE_PAGE_HINT(obj)->addr = g_strdup(value);
}

static int fph_find_device_opt(void *opaque, QemuOpts *opts, Error **errp)
{
    const char *driver = qemu_opt_get(opts, "driver");

    return driver && !strcmp(driver, TYPE_VIRTIO_FPH_PCI);
}

typedef struct FphFindOther {
    Object *self;
    Object *other;
} FphFindOther;

/* A free-page-hint in /objects other than @opaque's self; 0 to go on. */
static int fph_find_other(Object *child, void *opaque)
{
    FphFindOther *f = opaque;

    if (child != f->self && object_dynamic_cast(child, TYPE_FREE_PAGE_HINT)) {
        f->other = child;
        return 1;
    }
    return 0;
}

/* Hinting needs a PCI bus; of the x86 machines only "pc" and "q35" have one. */
static bool fph_machine_has_pci(MachineState *ms)
{
    return object_dynamic_cast(OBJECT(ms), "generic-pc-machine") &&
           !object_dynamic_cast(OBJECT(ms), "isapc-machine");
}

/* The -device / device_add options of the device it plugs. */
static QDict *fph_device_opts(FreePageHint *fph, const char *bus)
{
    QDict *opts = qdict_new();
    g_autofree char *id = g_strdup_printf(
        "%s-dev", object_get_canonical_path_component(OBJECT(fph)));

    qdict_put_str(opts, "driver", TYPE_VIRTIO_FPH_PCI);
    qdict_put_str(opts, "id", id);
    qdict_put_int(opts, "max-ranges", fph->max_ranges);
    if (bus) {
        qdict_put_str(opts, "bus", bus);
    }
    if (fph->addr) {
        qdict_put_str(opts, "addr", fph->addr);
    }
    return opts;
}

/*
 * A PCI bus a device can be hot-plugged into now: a PCIe port with its
 * one slot free, or a hotpluggable bus with a free slot.  1 stops.
 */
static int fph_find_hotplug_bus(Object *obj, void *opaque)
{
    PCIBus *bus = (PCIBus *)object_dynamic_cast(obj, TYPE_PCI_BUS);
    int devfn;

    if (!bus || !qbus_is_hotpluggable(BUS(bus))) {
        return 0;
    }
    for (devfn = bus->devfn_min; devfn < ARRAY_SIZE(bus->devices);
         devfn += PCI_FUNC_MAX) {
        if (!bus->devices[devfn] &&
            !(bus->slot_reserved_mask & (1u << PCI_SLOT(devfn)))) {
            *(PCIBus **)opaque = bus;
            return 1;
        }
        if (pci_bus_is_express(bus) && !pci_bus_is_root(bus)) {
            break;      /* behind a port: slot 0 only */
        }
    }
    return 0;
}

/*
 * The device an earlier object plugged, still there: object-del asked for
 * its unplug, and the guest has not ejected it (it may never).  Only a
 * new object looks for it: any device there is then one of those.
 */
static VirtIOFph *fph_find_left_device(void)
{
    Object *dev = object_resolve_path_type("", TYPE_VIRTIO_FPH, NULL);

    return dev && DEVICE(dev)->realized ? VIRTIO_FPH(dev) : NULL;
}

/*
 * Take @dev back (fph_find_left_device()), and with it the migrations that
 * the pending unplug blocked: the way back for an operator whose guest
 * does not answer.  The guest may still eject it later; query-fph-stats
 * then says device-present false.
 */
static void fph_adopt_device(FreePageHint *fph, VirtIOFph *dev)
{
    DeviceState *proxy;

    fph_device_link(dev, fph);
    proxy = DEVICE(fph_pci_device(fph));
    g_free(fph->dev_id);
    fph->dev_id = g_strdup(proxy->id);
    fph_device_unblock_migration(dev);
    info_report("free-page-hint: '%s' takes back device '%s', whose unplug "
                "the guest has not completed; migration is no longer "
                "blocked", object_get_canonical_path_component(OBJECT(fph)),
                proxy->id);
}

/* On a running VM: hot-plug the device. */
static void fph_hotplug_device(FreePageHint *fph, Error **errp)
{
    g_autoptr(QDict) opts = NULL;
    PCIBus *bus = NULL;
    DeviceState *dev;
    Error *err = NULL;

    if (!fph->bus &&
        !object_child_foreach_recursive(object_get_root(),
                                        fph_find_hotplug_bus, &bus)) {
        error_setg(errp, "free-page-hint: no free hotpluggable PCI slot for "
                   "its device; add a pcie-root-port (q35) or give bus=");
        return;
    }
    opts = fph_device_opts(fph, fph->bus ? fph->bus : BUS(bus)->name);
    dev = qdev_device_add_from_qdict(opts, true, &err);
    if (!dev) {
        if (err) {
            error_propagate_prepend(errp, err, "free-page-hint: cannot plug "
                                    "its device: ");
        } else {
            error_setg(errp, "free-page-hint: its device was not created");
        }
        return;
    }
    fph->dev_id = g_strdup(dev->id);
    object_unref(OBJECT(dev));
}

static void fph_complete(UserCreatable *uc, Error **errp)
{
    FreePageHint *fph = FREE_PAGE_HINT(uc);
    MachineState *ms = MACHINE(qdev_get_machine());
    QemuOptsList *devices = qemu_find_opts("device");
    FphFindOther find = { .self = OBJECT(fph) };
    VirtIOFph *left;

    /* This one is in /objects already: look for another. */
    if (object_child_foreach(object_get_objects_root(), fph_find_other,
                             &find)) {
        error_setg(errp, "free-page-hint: only one instance is allowed, "
                   "'%s' exists",
                   object_get_canonical_path_component(find.other));
        return;
    }
    if (!OBJECT(fph)->parent) {
        error_setg(errp, "free-page-hint: needs an id, e.g. id=fph0");
        return;
    }
    if (!fph_machine_has_pci(ms)) {
        error_setg(errp, "free-page-hint: machine '%s' has no PCI bus; "
                   "use -machine q35 or -machine pc",
                   MACHINE_GET_CLASS(ms)->name);
        return;
    }
    if (phase_check(PHASE_MACHINE_READY) && migration_is_running()) {
        error_setg(errp, "free-page-hint: cannot create '%s' while a "
                   "migration runs; create it before migrate",
                   object_get_canonical_path_component(OBJECT(fph)));
        return;
    }
    left = phase_check(PHASE_MACHINE_READY) ? fph_find_left_device() : NULL;
    if (left) {
        fph_adopt_device(fph, left);
        return;
    }
    if (!fph->plug) {
        return;
    }
    if (phase_check(PHASE_MACHINE_READY)) {
        fph_hotplug_device(fph, errp);
        return;
    }
    /*
     * Devices cannot be created yet (the board does not exist): queue a
     * -device for the board's cold-plug pass, unless the user gave one.
     */
    if (!qemu_opts_foreach(devices, fph_find_device_opt, NULL, NULL)) {
        g_autoptr(QDict) dev_opts = fph_device_opts(fph, fph->bus);

        if (qemu_opts_from_qdict(devices, dev_opts, errp)) {
            fph->dev_id = g_strdup(qdict_get_str(dev_opts, "id"));
        }
    }
}

/*
 * object-del: refused while a migration runs (the destination expects the
 * device) and for a device the user plugged; else ask for the unplug of
 * the device this object plugged -- the guest completes it, and
 * DEVICE_DELETED says when; migration is blocked until then.
 */
static bool fph_prepare_delete(UserCreatable *uc, Error **errp)
{
    FreePageHint *fph = FREE_PAGE_HINT(uc);
    const char *id = object_get_canonical_path_component(OBJECT(fph));
    DeviceState *proxy;
    Error *err = NULL;

    if (!phase_check(PHASE_MACHINE_READY)) {
        /* preconfig: the device is only queued; it goes with the object */
        if (fph->dev_id) {
            qemu_opts_del(qemu_opts_find(qemu_find_opts("device"),
                                         fph->dev_id));
        }
        return true;
    }
    if (!fph->dev) {
        return true;
    }
    if (migration_is_running()) {
        error_setg(errp, "free-page-hint: cannot delete '%s' while a "
                   "migration runs; delete it once the migration ended", id);
        return false;
    }
    proxy = DEVICE(fph_pci_device(fph));
    if (!fph->dev_id || g_strcmp0(proxy->id, fph->dev_id)) {
        error_setg(errp, "free-page-hint: '%s' did not plug its device "
                   "(-device virtio-fph-pci); device_del that first", id);
        return false;
    }
    qdev_unplug(proxy, &err);
    if (err) {
        error_propagate_prepend(errp, err, "free-page-hint: cannot unplug "
                                "device '%s': ", fph->dev_id);
        return false;
    }
    if (fph->dev) {             /* the guest has yet to eject it */
        g_autofree char *reason = g_strdup_printf(
            "free-page-hint: device '%s' is being unplugged (object-del); "
            "migrate once DEVICE_DELETED says it is gone", fph->dev_id);

        fph_device_block_migration(fph->dev, reason);
    }
    return true;
}

static void fph_instance_init(Object *obj)
{
    FreePageHint *fph = FREE_PAGE_HINT(obj);

    fph->max_ranges = FPH_DEFAULT_MAX_RANGES;
    fph->reclaim_timeout = FPH_DEFAULT_RECLAIM_TIMEOUT_MS;
    fph->plug = true;
}

static void fph_class_init(ObjectClass *oc, FphClassData *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = fph_complete;
    ucc->prepare_delete = fph_prepare_delete;
    object_class_property_add(oc, "max-ranges", "uint32",
                              fph_get_max_ranges, fph_set_max_ranges,
                              NULL, NULL);
    object_class_property_set_description(oc, "max-ranges",
        "max-ranges of the device it plugs: ranges the guest may send per "
        "request (1-" stringify(FPH_MAX_RANGES_LIMIT) ", default "
        stringify(FPH_DEFAULT_MAX_RANGES) ")");
    object_class_property_add(oc, "reclaim", "size",
                              fph_get_reclaim, fph_set_reclaim, NULL, NULL);
    object_class_property_set_description(oc, "reclaim",
        "clean page cache the guest drops when a migration starts, which "
        "waits for it (default 0: off; docs/usage.rst)");
    object_class_property_add(oc, "reclaim-timeout", "uint32",
                              fph_get_reclaim_timeout,
                              fph_set_reclaim_timeout, NULL, NULL);
    object_class_property_set_description(oc, "reclaim-timeout",
        "how long a migration waits for the guest's reclaim, in ms "
        "(1-60000, default 10000)");
    object_class_property_add(oc, "device", "link<" TYPE_VIRTIO_FPH ">",
                              fph_get_device, NULL, NULL, NULL);
    object_class_property_set_description(oc, "device",
        "the virtio-fph device, once realized (read-only)");
    object_class_property_add(oc, "stats", "FphStatsInfo",
                              fph_get_stats, NULL, NULL, NULL);
    object_class_property_set_description(oc, "stats",
        "the statistics query-fph-stats returns (read-only)");
    object_class_property_add_str(oc, "bus", fph_get_bus, fph_set_bus);
    object_class_property_set_description(oc, "bus",
        "the PCI bus of its device (to plug it: default the machine's, on "
        "a running VM the first free hotpluggable one)");
    object_class_property_add_str(oc, "addr", fph_get_addr, fph_set_addr);
    object_class_property_set_description(oc, "addr",
        "the PCI slot.function of its device (to plug it: default the "
        "first free)");
    object_class_property_add_bool(oc, "plug", fph_get_plug, fph_set_plug);
    object_class_property_set_description(oc, "plug",
        "plug a virtio-fph-pci device (default on; off with an explicit "
        "-device virtio-fph-pci)");
}

/*
 * object-del (or a failed object-add, or QEMU's exit): a device whose
 * unplug is pending stays, without an object, until the guest ejects it.
 */
static void fph_instance_finalize(Object *obj)
{
    FreePageHint *fph = FREE_PAGE_HINT(obj);

    if (fph->dev) {
        fph_device_unlink(fph->dev);
    }
    g_free(fph->bus);
    g_free(fph->addr);
    g_free(fph->dev_id);
}

static const TypeInfo fph_object_info = {
    .name = TYPE_FREE_PAGE_HINT,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(FreePageHint),
    .instance_init = fph_instance_init,
    .instance_finalize = fph_instance_finalize,
    .class_init = fph_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void fph_object_register_types(void)
{
    type_register_static(&fph_object_info);
}

type_init(fph_object_register_types)
