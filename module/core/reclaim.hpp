// SPDX-License-Identifier: GPL-2.0-or-later
// Reclaim requests (VIRTIO_FPH_F_RECLAIM): at the start of a migration the
// device asks the guest to drop clean page cache and waits, bounded, for
// the guest's report, so that the pages freed are hinted before the bulk
// round sends them.  This class decides what is asked, which reports are
// valid, and keeps the statistics; the glue owns the clock and the wait.
#pragma once

#include <cstdint>

#include "fph_core.h"

namespace fph {

// The driver's part of the config, in host order.
struct ReclaimReport {
    std::uint32_t done_seq = 0;
    std::uint32_t status = VIRTIO_FPH_RECLAIM_S_OK;
    std::uint64_t reclaimed_bytes = 0;
    std::uint32_t us = 0;

    static ReclaimReport decode(const virtio_fph_config& c) noexcept;
};

class Reclaim {
public:
    FphReclaimResult begin(std::uint64_t bytes, std::uint32_t timeout_ms, bool negotiated,
                           std::uint64_t now_ms) noexcept;
    // A config write; true if it completed the pending request.
    bool write(const ReclaimReport& report, std::uint64_t now_ms) noexcept;
    void end(FphReclaimResult why, std::uint64_t now_ms) noexcept;

    bool pending() const noexcept { return stats_.last_result == FPH_RECLAIM_PENDING; }
    std::uint32_t seq() const noexcept { return seq_; }
    // On a migration destination, before any request (nothing pending).
    void set_seq(std::uint32_t seq) noexcept;
    void fill_config(virtio_fph_config* c) const noexcept;
    const FphReclaimStats& stats() const noexcept { return stats_; }

private:
    // The wait is over with @result.
    void finish(FphReclaimResult result, std::uint64_t now_ms) noexcept;

    std::uint32_t seq_ = 0;  // last request, 0: none yet
    std::uint64_t bytes_ = 0;
    std::uint32_t timeout_ms_ = 0;
    std::uint64_t began_ms_ = 0;
    ReclaimReport last_;  // as the driver last wrote it (read back as is)
    FphReclaimStats stats_{};
};

}  // namespace fph
