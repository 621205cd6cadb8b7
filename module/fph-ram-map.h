/*
 * fph: which guest-physical ranges may be hinted
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_RAM_MAP_H
#define FPH_RAM_MAP_H

#include "fph_core.h"
#include "fph-qapi-types.h"

/*
 * Guest RAM that may be hinted, as guest-physical ranges (FphRamRange);
 * the rest of guest RAM, by region and reason, into @unhintable if not
 * NULL.
 */
GArray *fph_ram_map_collect(FphUnhintableRamList **unhintable);
uint64_t fph_ram_map_bytes(const GArray *ranges);
void fph_ram_map_warn(const GArray *hintable,
                      const FphUnhintableRamList *unhintable);

#endif
