// SPDX-License-Identifier: GPL-2.0-or-later
// Stable names for FphReject, used as stats/trace keys: never rename.
#include "fph_core.h"

extern "C" const char* fph_reject_name(FphReject reason)
{
    switch (reason) {
    case FPH_REJECT_STALE_EPOCH:
        return "stale_epoch";
    case FPH_REJECT_OUT_OF_RAM:
        return "out_of_ram";
    case FPH_REJECT_MISALIGNED:
        return "misaligned";
    case FPH_REJECT_MALFORMED:
        return "malformed";
    case FPH_REJECT_OVER_LIMIT:
        return "over_limit";
    case FPH_REJECT_NOT_ARMED:
        return "not_armed";
    case FPH_REJECT__MAX:
        break;
    }
    return "unknown";
}
