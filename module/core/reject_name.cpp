// SPDX-License-Identifier: GPL-2.0-or-later
// Stable names for FphReject (FPH_REJECT_REASONS), used as stats/trace keys.
#include "fph_core.h"

extern "C" const char* fph_reject_name(FphReject reason)
{
    switch (reason) {
#define FPH_REJECT_NAME(up, low, key)                                                              \
    case FPH_REJECT_##up:                                                                          \
        return #low;
        FPH_REJECT_REASONS(FPH_REJECT_NAME)
#undef FPH_REJECT_NAME
    case FPH_REJECT__MAX:
        break;
    }
    return "unknown";
}
