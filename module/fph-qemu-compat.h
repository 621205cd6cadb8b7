/*
 * fph: what differs between the QEMU releases the module builds against
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_QEMU_COMPAT_H
#define FPH_QEMU_COMPAT_H

#define FPH_QEMU_AT_LEAST(major, minor) \
    (QEMU_VERSION_MAJOR > (major) || \
     (QEMU_VERSION_MAJOR == (major) && QEMU_VERSION_MINOR >= (minor)))

/* 10.1 moved exec/memory.h and exec/address-spaces.h to system/. */
#if __has_include("system/memory.h")
#include "system/address-spaces.h"
#include "system/memory.h"
#else
#include "exec/address-spaces.h"
#include "exec/memory.h"
#endif

/* 10.1: TypeInfo.class_init takes const class data. */
#if FPH_QEMU_AT_LEAST(10, 1)
typedef const void FphClassData;
#else
typedef void FphClassData;
#endif

/*
 * 10.2 (10.1 not checked): qdev_add_vm_change_state_handler() also takes
 * a handler that can fail (cb_ret).
 */
#if FPH_QEMU_AT_LEAST(10, 2)
#define fph_add_vm_change_state_handler(dev, cb, opaque) \
    qdev_add_vm_change_state_handler(dev, cb, NULL, opaque)
#else
#define fph_add_vm_change_state_handler(dev, cb, opaque) \
    qdev_add_vm_change_state_handler(dev, cb, opaque)
#endif

/* 10.2 (10.1 not checked): VirtioDeviceClass.set_status returns an int. */
#if FPH_QEMU_AT_LEAST(10, 2)
typedef int FphSetStatusRet;
#define FPH_SET_STATUS_RETURN return 0
#else
typedef void FphSetStatusRet;
#define FPH_SET_STATUS_RETURN return
#endif

#endif
