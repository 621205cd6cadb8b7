/*
 * free-page-hint: the user-creatable object that enables free page hinting
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_OBJECT_H
#define FPH_OBJECT_H

#include "qom/object.h"
#include "fph-types.h"

/*
 * There is at most one.  It and its device link each other (set and
 * cleared by fph_device_link() and fph_device_unlink(), fph-device.c); the
 * device reads the reclaim settings through its link.
 */
struct FreePageHint {
    Object parent_obj;

    struct VirtIOFph *dev;      /* its device, realized, or NULL */
    uint32_t max_ranges;        /* for the device it plugs (plug=on) */
    /* Read by the device when a migration starts. */
    uint64_t reclaim;
    uint32_t reclaim_timeout;
    bool plug;
    char *bus;                  /* where it is to plug it */
    char *addr;
    char *dev_id;               /* the device it plugged, if it did */
};

OBJECT_DECLARE_SIMPLE_TYPE(FreePageHint, FREE_PAGE_HINT)

#endif
