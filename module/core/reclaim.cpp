// SPDX-License-Identifier: GPL-2.0-or-later
#include "reclaim.hpp"

#include <cassert>
#include <cstddef>
#include <span>

#include "byte_order.hpp"

namespace fph {

// FphReclaimResult mirrors VIRTIO_FPH_RECLAIM_S_* from OK on: a status s
// is the result OK + s.
#define FPH_RECLAIM_MIRRORS(up, low, key)                                                          \
    static_assert(FPH_RECLAIM_OK + VIRTIO_FPH_RECLAIM_S_##up == FPH_RECLAIM_##up);
FPH_RECLAIM_GUEST_STATUSES(FPH_RECLAIM_MIRRORS)
#undef FPH_RECLAIM_MIRRORS
#define FPH_RECLAIM_ONE(up, low, key) +1
static_assert(VIRTIO_FPH_RECLAIM_S_MAX + 1 == 0 FPH_RECLAIM_GUEST_STATUSES(FPH_RECLAIM_ONE));
#undef FPH_RECLAIM_ONE

#define FPH_CONFIG_OFF(field) offsetof(virtio_fph_config, field)

ReclaimReport ReclaimReport::decode(const virtio_fph_config& c) noexcept
{
    const std::span<const std::uint8_t> b{reinterpret_cast<const std::uint8_t*>(&c), sizeof(c)};
    return ReclaimReport{
        .done_seq = load_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_done_seq)),
        .status = load_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_status)),
        .reclaimed_bytes = load_le<std::uint64_t>(b, FPH_CONFIG_OFF(reclaimed_bytes)),
        .us = load_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_us)),
    };
}

FphReclaimResult Reclaim::begin(std::uint64_t bytes, std::uint32_t timeout_ms, bool negotiated,
                                std::uint64_t now_ms) noexcept
{
    assert(!pending());
    if (!bytes) {
        return FPH_RECLAIM_NONE;
    }
    stats_.last_asked_bytes = bytes;
    stats_.last_reclaimed_bytes = stats_.last_guest_us = stats_.last_wait_ms = 0;
    if (!negotiated) {
        stats_.last_result = FPH_RECLAIM_NO_DRIVER;
        return FPH_RECLAIM_NO_DRIVER;
    }
    if (++seq_ == 0) {  // 0 means "no request"
        seq_ = 1;
    }
    bytes_ = bytes;
    timeout_ms_ = timeout_ms;
    began_ms_ = now_ms;
    ++stats_.requests;
    stats_.last_result = FPH_RECLAIM_PENDING;
    return FPH_RECLAIM_PENDING;
}

bool Reclaim::write(const ReclaimReport& report, std::uint64_t now_ms) noexcept
{
    const bool new_report = report.done_seq != last_.done_seq;
    last_ = report;
    // Only a change of done_seq reports; the driver writes it last.
    if (!new_report) {
        return false;
    }
    if (report.done_seq != seq_ || seq_ == 0 || report.status > VIRTIO_FPH_RECLAIM_S_MAX) {
        ++stats_.bad_reports;
        return false;
    }
    stats_.reclaimed_bytes += report.reclaimed_bytes;
    stats_.guest_us += report.us;
    stats_.last_reclaimed_bytes = report.reclaimed_bytes;
    stats_.last_guest_us = report.us;
    if (!pending()) {
        ++stats_.late_reports;  // the migration went on; the result stays
        return false;
    }
    finish(static_cast<FphReclaimResult>(FPH_RECLAIM_OK + report.status), now_ms);
    return true;
}

void Reclaim::end(FphReclaimResult why, std::uint64_t now_ms) noexcept
{
    assert(why == FPH_RECLAIM_TIMEOUT || why == FPH_RECLAIM_CANCELLED);
    if (!pending()) {
        return;
    }
    if (why == FPH_RECLAIM_TIMEOUT) {
        ++stats_.timeouts;
    }
    finish(why, now_ms);
}

void Reclaim::set_seq(std::uint32_t seq) noexcept
{
    assert(!pending());
    seq_ = seq;
}

void Reclaim::finish(FphReclaimResult result, std::uint64_t now_ms) noexcept
{
    assert(result != FPH_RECLAIM_PENDING);
    stats_.last_result = result;
    stats_.last_wait_ms = now_ms >= began_ms_ ? now_ms - began_ms_ : 0;
    stats_.wait_ms += stats_.last_wait_ms;
}

void Reclaim::fill_config(virtio_fph_config* c) const noexcept
{
    const std::span<std::uint8_t> b{reinterpret_cast<std::uint8_t*>(c), sizeof(*c)};
    store_le<std::uint64_t>(b, FPH_CONFIG_OFF(reclaim_bytes), bytes_);
    store_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_seq), seq_);
    store_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_timeout_ms), timeout_ms_);
    store_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_done_seq), last_.done_seq);
    store_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_status), last_.status);
    store_le<std::uint64_t>(b, FPH_CONFIG_OFF(reclaimed_bytes), last_.reclaimed_bytes);
    store_le<std::uint32_t>(b, FPH_CONFIG_OFF(reclaim_us), last_.us);
    store_le<std::uint32_t>(b, FPH_CONFIG_OFF(reserved), 0);
}

}  // namespace fph

extern "C" const char* fph_reclaim_result_name(FphReclaimResult result)
{
    switch (result) {
#define FPH_RECLAIM_NAME(up, low, key)                                                             \
    case FPH_RECLAIM_##up:                                                                         \
        return #low;
        FPH_RECLAIM_RESULTS(FPH_RECLAIM_NAME)
#undef FPH_RECLAIM_NAME
    case FPH_RECLAIM__MAX:
        break;
    }
    return "unknown";
}
