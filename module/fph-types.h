/*
 * fph QEMU module: its QOM type names, defined once
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_TYPES_H
#define FPH_TYPES_H

#define TYPE_FREE_PAGE_HINT "free-page-hint"
#define TYPE_VIRTIO_FPH "virtio-fph-device"
#define TYPE_VIRTIO_FPH_PCI "virtio-fph-pci"

#endif
