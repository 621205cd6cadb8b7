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
#include "fph.h"

struct FreePageHint {
    Object parent_obj;

    uint32_t max_ranges;
    bool plug;
    VirtIOFph *dev;
};

static FreePageHint *fph_instance;

FreePageHint *fph_object_get(void)
{
    return fph_instance;
}

uint32_t fph_object_max_ranges(FreePageHint *fph)
{
    return fph->max_ranges;
}

VirtIOFph *fph_object_device(FreePageHint *fph)
{
    return fph->dev;
}

bool fph_object_attach(FreePageHint *fph, VirtIOFph *dev, Error **errp)
{
    if (fph->dev) {
        error_setg(errp, "only one virtio-fph device is supported; with an "
                   "explicit -device virtio-fph-pci, create the object with "
                   "plug=off");
        return false;
    }
    fph->dev = dev;
    return true;
}

void fph_object_detach(FreePageHint *fph, VirtIOFph *dev)
{
    if (fph->dev == dev) {
        fph->dev = NULL;
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
    uint32_t value;

    if (!visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    if (value < 1 || value > FPH_MAX_RANGES_LIMIT) {
        error_setg(errp, "free-page-hint: max-ranges must be between 1 and "
                   "%u, got %" PRIu32, FPH_MAX_RANGES_LIMIT, value);
        return;
    }
    FREE_PAGE_HINT(obj)->max_ranges = value;
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
    QemuOpts *opts;

    if (fph_instance) {
        error_setg(errp, "free-page-hint: only one instance is allowed, "
                   "'%s' exists", object_get_canonical_path_component(
                       OBJECT(fph_instance)));
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
    }
    fph_instance = fph;
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

static void fph_instance_finalize(Object *obj)
{
    if (fph_instance == FREE_PAGE_HINT(obj)) {
        fph_instance = NULL;
    }
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
        "ranges the guest may send per request (1-65536, default 4096)");
    object_class_property_add(oc, "stats", "FphStatsInfo",
                              fph_qmp_get_stats_prop, NULL, NULL, NULL);
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
    /* The module is loaded for this type: its QMP commands come with it. */
    fph_qmp_register();
}

type_init(fph_object_register_types)
