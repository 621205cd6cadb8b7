/*
 * virtio-fph-pci: PCI transport of the free page hinting device
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/qdev-properties.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "fph-device.h"
#include "fph-qemu-compat.h"

typedef struct VirtIOFphPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOFph vdev;
} VirtIOFphPCI;

#define TYPE_VIRTIO_FPH_PCI_BASE "virtio-fph-pci-base"
DECLARE_INSTANCE_CHECKER(VirtIOFphPCI, VIRTIO_FPH_PCI, TYPE_VIRTIO_FPH_PCI_BASE)

static const Property fph_pci_properties[] = {
    DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
                    VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, true),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors,
                       DEV_NVECTORS_UNSPECIFIED),
};

static void fph_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIOFphPCI *dev = VIRTIO_FPH_PCI(vpci_dev);

    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        vpci_dev->nvectors = 2;     /* config + one queue */
    }
    /* The device ID is beyond the legacy range: virtio 1.0 only. */
    virtio_pci_force_virtio_1(vpci_dev);
    vpci_dev->class_code = PCI_CLASS_OTHERS;
    qdev_realize(DEVICE(&dev->vdev), BUS(&vpci_dev->bus), errp);
}

static void fph_pci_class_init(ObjectClass *klass, FphClassData *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = fph_pci_realize;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    pcidev_k->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pcidev_k->device_id = VIRTIO_FPH_PCI_DEVICE_ID;
    pcidev_k->revision = VIRTIO_PCI_ABI_VERSION;
    pcidev_k->class_id = PCI_CLASS_OTHERS;
    device_class_set_props(dc, fph_pci_properties);
}

static void fph_pci_instance_init(Object *obj)
{
    VirtIOFphPCI *dev = VIRTIO_FPH_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VIRTIO_FPH);
}

static const VirtioPCIDeviceTypeInfo fph_pci_info = {
    .base_name = TYPE_VIRTIO_FPH_PCI_BASE,
    .generic_name = TYPE_VIRTIO_FPH_PCI,
    .instance_size = sizeof(VirtIOFphPCI),
    .instance_init = fph_pci_instance_init,
    .class_init = fph_pci_class_init,
};

static void fph_pci_register(void)
{
    virtio_pci_types_register(&fph_pci_info);
}

type_init(fph_pci_register)
