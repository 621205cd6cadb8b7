/*
 * fph: query-fph-stats
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qapi/qmp-registry.h"
#include "fph-qapi-commands.h"
#include "fph-qapi-init-commands.h"
#include "fph-object.h"
#include "fph-stats.h"

FphStatsInfo *qmp_query_fph_stats(Error **errp)
{
    Object *fph = object_resolve_path_type("", TYPE_FREE_PAGE_HINT, NULL);

    return fph_stats_info(fph ? FREE_PAGE_HINT(fph) : NULL);
}

/* The module is loaded for its types: its QMP commands come with it. */
static void fph_qmp_register(void)
{
    Error *err = NULL;

    if (!monitor_register_qmp_commands(fph_qmp_init_marshal, &err)) {
        error_report_err(err);
    }
}

type_init(fph_qmp_register)
