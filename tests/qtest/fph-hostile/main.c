/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qtest: a hostile virtio-fph driver during a live migration (see
 * framework.h).  One executable; each topic's file registers its cases,
 * and every case runs on a fixture of its own.
 */

#include "qemu/osdep.h"
#include "framework.h"

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    fph_hostile_add_hints_tests();
    fph_hostile_add_validation_tests();
    fph_hostile_add_ring_tests();
    fph_hostile_add_reset_tests();
    fph_hostile_add_migration_tests();
    fph_hostile_add_latency_tests();
    fph_hostile_add_runs_tests();
    fph_hostile_add_reentry_tests();
    return g_test_run();
}
