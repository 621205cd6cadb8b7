// SPDX-License-Identifier: GPL-2.0-or-later
// A recording FphHookOps backend for unit tests of the core.  In batch mode
// it provides arm_batch/skip_batch instead and records one BackendCall per
// range plus the number of batch calls.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "fph_core.h"

namespace fph_test {

struct BackendCall {
    bool is_arm;
    std::uint64_t token, addr, len;
    friend bool operator==(const BackendCall&, const BackendCall&) = default;
};

class FakeBackend {
public:
    bool batch = false;
    // Result for each single call; default succeeds.
    std::function<int(const BackendCall&)> result = [](const BackendCall&) { return 0; };
    // pages_skipped reported by a successful single skip; default: all pages.
    std::function<std::uint64_t(const BackendCall&)> skipped = [](const BackendCall& c) {
        return c.len / VIRTIO_FPH_PAGE_SIZE;
    };
    // Batch mode: result of a batch given its calls; pages reported skipped.
    std::function<int(const std::vector<BackendCall>&)> batch_result =
        [](const std::vector<BackendCall>&) { return 0; };
    std::function<std::uint64_t(const std::vector<BackendCall>&)> batch_skipped =
        [](const std::vector<BackendCall>& calls) {
            std::uint64_t pages = 0;
            for (const auto& c : calls)
                pages += c.len / VIRTIO_FPH_PAGE_SIZE;
            return pages;
        };

    std::vector<BackendCall> calls;
    int batch_calls = 0;

    const FphHookOps* ops() const { return batch ? &kBatchOps : &kOps; }
    void* opaque() { return this; }

    std::vector<BackendCall> arms() const { return filter(true); }
    std::vector<BackendCall> skips() const { return filter(false); }

private:
    std::vector<BackendCall> filter(bool arm) const
    {
        std::vector<BackendCall> out;
        for (const auto& c : calls) {
            if (c.is_arm == arm) {
                out.push_back(c);
            }
        }
        return out;
    }

    static int arm(void* opaque, std::uint64_t token, std::uint64_t addr, std::uint64_t len)
    {
        auto* self = static_cast<FakeBackend*>(opaque);
        self->calls.push_back({true, token, addr, len});
        return self->result(self->calls.back());
    }
    static int skip(void* opaque, std::uint64_t token, std::uint64_t addr, std::uint64_t len,
                    std::uint64_t* pages_skipped)
    {
        auto* self = static_cast<FakeBackend*>(opaque);
        self->calls.push_back({false, token, addr, len});
        const int rc = self->result(self->calls.back());
        if (rc == 0) {
            *pages_skipped = self->skipped(self->calls.back());
        }
        return rc;
    }
    static std::vector<BackendCall> record(FakeBackend* self, bool is_arm, std::uint64_t token,
                                           const FphRamRange* ranges, std::size_t n)
    {
        ++self->batch_calls;
        std::vector<BackendCall> batch;
        for (std::size_t i = 0; i < n; ++i) {
            batch.push_back({is_arm, token, ranges[i].addr, ranges[i].len});
            self->calls.push_back(batch.back());
        }
        return batch;
    }
    static int arm_batch(void* opaque, std::uint64_t token, const FphRamRange* ranges,
                         std::size_t n)
    {
        auto* self = static_cast<FakeBackend*>(opaque);
        return self->batch_result(record(self, true, token, ranges, n));
    }
    static int skip_batch(void* opaque, std::uint64_t token, const FphRamRange* ranges,
                          std::size_t n, std::uint64_t* pages_skipped)
    {
        auto* self = static_cast<FakeBackend*>(opaque);
        const auto batch = record(self, false, token, ranges, n);
        const int rc = self->batch_result(batch);
        if (rc == 0) {
            *pages_skipped = self->batch_skipped(batch);
        }
        return rc;
    }

    static constexpr FphHookOps kOps{.arm = &FakeBackend::arm,
                                     .skip = &FakeBackend::skip,
                                     .arm_batch = nullptr,
                                     .skip_batch = nullptr};
    // Single ops set to prove the batch forms take precedence.
    static constexpr FphHookOps kBatchOps{.arm = &FakeBackend::arm,
                                          .skip = &FakeBackend::skip,
                                          .arm_batch = &FakeBackend::arm_batch,
                                          .skip_batch = &FakeBackend::skip_batch};
};

// Batch-only backend, shaped like the QEMU glue (arm/skip left NULL):
// records each batch and answers every call with `result`.
class FakeBatchBackend {
public:
    struct Batch {
        bool is_arm;
        std::uint64_t token;
        std::vector<FphRamRange> ranges;
    };

    int result = 0;
    // pages_skipped to report; default: every page it was given.
    std::optional<std::uint64_t> skipped;
    std::vector<Batch> batches;

    const FphHookOps* ops() const { return &kOps; }
    void* opaque() { return this; }

private:
    static int arm_batch(void* opaque, std::uint64_t token, const FphRamRange* ranges,
                         std::size_t n)
    {
        auto* self = static_cast<FakeBatchBackend*>(opaque);
        self->batches.push_back({true, token, {ranges, ranges + n}});
        return self->result;
    }
    static int skip_batch(void* opaque, std::uint64_t token, const FphRamRange* ranges,
                          std::size_t n, std::uint64_t* pages_skipped)
    {
        auto* self = static_cast<FakeBatchBackend*>(opaque);
        self->batches.push_back({false, token, {ranges, ranges + n}});
        if (self->result == 0) {
            std::uint64_t pages = 0;
            for (std::size_t i = 0; i < n; ++i)
                pages += ranges[i].len / VIRTIO_FPH_PAGE_SIZE;
            *pages_skipped = self->skipped.value_or(pages);
        }
        return self->result;
    }

    static constexpr FphHookOps kOps{.arm = nullptr,
                                     .skip = nullptr,
                                     .arm_batch = &FakeBatchBackend::arm_batch,
                                     .skip_batch = &FakeBatchBackend::skip_batch};
};

}  // namespace fph_test
