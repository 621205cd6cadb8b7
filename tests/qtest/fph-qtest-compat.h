/*
 * fph qtests: what differs between the QEMU releases they build against
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_QTEST_COMPAT_H
#define FPH_QTEST_COMPAT_H

#include "libqtest.h"

/* 10.2 (at the latest) replaced qtest_init_with_env() by qtest_init_ext(). */
#if QEMU_VERSION_MAJOR > 10 || \
    (QEMU_VERSION_MAJOR == 10 && QEMU_VERSION_MINOR >= 2)
#define fph_qtest_init_with_env(var, extra_args) \
    qtest_init_ext(var, extra_args, NULL, true)
#else
#define fph_qtest_init_with_env(var, extra_args) \
    qtest_init_with_env(var, extra_args, true)
#endif

#endif
