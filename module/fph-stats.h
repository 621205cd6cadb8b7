/*
 * fph: the statistics query-fph-stats and the object's "stats" show
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_STATS_H
#define FPH_STATS_H

#include "fph-object.h"
#include "fph-qapi-types.h"

/* Statistics of free-page-hint object @fph (NULL: there is none). */
FphStatsInfo *fph_stats_info(FreePageHint *fph);

#endif
