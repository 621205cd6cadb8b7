/*
 * free-page-hint: the user-creatable object that enables free page hinting
 *
 *   -object free-page-hint,id=fph0[,max-ranges=N][,plug=on|off]
 *
 * Creating it plugs a virtio-fph-pci device (unless plug=off, for an
 * explicit -device virtio-fph-pci with bus/addr) and makes query-fph-stats
 * available.  There is at most one.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/config-file.h"
#include "qemu/option.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object_interfaces.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "fph-device.h"
#include "fph-qapi-visit.h"
#include "fph-stats.h"
#include "fph-types.h"

/*
 * There is at most one; the device finds it by type and links itself in
 * as "device" (so the object needs nothing of the device but its type).
 */
struct FreePageHint {
    Object parent_obj;

    uint32_t max_ranges;        /* for the device it plugs (plug=on) */
    bool plug;
    Object *dev;                /* link<virtio-fph-device> "device" */
};

OBJECT_DECLARE_SIMPLE_TYPE(FreePageHint, FREE_PAGE_HINT)

static void fph_check_device(const Object *obj, const char *name,
                             Object *val, Error **errp)
{
    if (val && FREE_PAGE_HINT(obj)->dev) {
        error_setg(errp, "only one virtio-fph device is supported; with an "
                   "explicit -device virtio-fph-pci, create the object with "
                   "plug=off");
    }
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

static void fph_get_stats(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    g_autoptr(FphStatsInfo) info = fph_stats_info(obj);

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

static void fph_complete(UserCreatable *uc, Error **errp)
{
    FreePageHint *fph = FREE_PAGE_HINT(uc);
    MachineState *ms = MACHINE(qdev_get_machine());
    QemuOptsList *devices = qemu_find_opts("device");
    g_autofree char *dev_id = NULL;
    FphFindOther find = { .self = OBJECT(fph) };
    QemuOpts *opts;

    /* This one is in /objects already: look for another. */
    if (object_child_foreach(object_get_objects_root(), fph_find_other,
                             &find)) {
        error_setg(errp, "free-page-hint: only one instance is allowed, "
                   "'%s' exists",
                   object_get_canonical_path_component(find.other));
        return;
    }
    if (!fph_machine_has_pci(ms)) {
        error_setg(errp, "free-page-hint: machine '%s' has no PCI bus; "
                   "use -machine q35 or -machine pc",
                   MACHINE_GET_CLASS(ms)->name);
        return;
    }
    if (phase_check(PHASE_MACHINE_READY)) {
        error_setg(errp, "free-page-hint: must be created on the command "
                   "line (-object), not at run time");
        return;
    }
    /*
     * Devices cannot be created yet (the board does not exist): queue a
     * -device for the board's cold-plug pass, unless the user gave one.
     */
    if (fph->plug &&
        !qemu_opts_foreach(devices, fph_find_device_opt, NULL, NULL)) {
        dev_id = g_strdup_printf("%s-dev",
                                 object_get_canonical_path_component(
                                     OBJECT(fph)));
        opts = qemu_opts_create(devices, dev_id, 1, errp);
        if (!opts) {
            return;
        }
        qemu_opt_set(opts, "driver", TYPE_VIRTIO_FPH_PCI, &error_abort);
        qemu_opt_set_number(opts, "max-ranges", fph->max_ranges,
                            &error_abort);
    }
}

static bool fph_can_be_deleted(UserCreatable *uc)
{
    return !FREE_PAGE_HINT(uc)->dev;
}

static void fph_instance_init(Object *obj)
{
    FreePageHint *fph = FREE_PAGE_HINT(obj);

    fph->max_ranges = FPH_DEFAULT_MAX_RANGES;
    fph->plug = true;
}

static void fph_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = fph_complete;
    ucc->can_be_deleted = fph_can_be_deleted;
    object_class_property_add(oc, "max-ranges", "uint32",
                              fph_get_max_ranges, fph_set_max_ranges,
                              NULL, NULL);
    object_class_property_set_description(oc, "max-ranges",
        "max-ranges of the device it plugs: ranges the guest may send per "
        "request (1-65536, default 4096)");
    object_class_property_add_link(oc, "device", TYPE_VIRTIO_FPH,
                                   offsetof(FreePageHint, dev),
                                   fph_check_device, 0);
    object_class_property_set_description(oc, "device",
        "the virtio-fph device (it links itself in when realized)");
    object_class_property_add(oc, "stats", "FphStatsInfo",
                              fph_get_stats, NULL, NULL, NULL);
    object_class_property_set_description(oc, "stats",
        "the statistics query-fph-stats returns (read-only)");
    object_class_property_add_bool(oc, "plug", fph_get_plug, fph_set_plug);
    object_class_property_set_description(oc, "plug",
        "plug a virtio-fph-pci device (default on; off with an explicit "
        "-device virtio-fph-pci)");
}

static const TypeInfo fph_object_info = {
    .name = TYPE_FREE_PAGE_HINT,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(FreePageHint),
    .instance_init = fph_instance_init,
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
