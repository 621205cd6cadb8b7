// SPDX-License-Identifier: GPL-2.0-or-later
// A recording FphHookOps backend for unit tests of the core.
#pragma once

#include <cstdint>
#include <functional>
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
    // Result for each call; default succeeds and skips every page.
    std::function<int(const BackendCall&)> result = [](const BackendCall&) { return 0; };
    // pages_skipped reported by a successful skip; default: all of them.
    std::function<std::uint64_t(const BackendCall&)> skipped =
        [](const BackendCall& c) { return c.len / VIRTIO_FPH_PAGE_SIZE; };
    std::vector<BackendCall> calls;

    const FphHookOps* ops() const { return &kOps; }
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
    static constexpr FphHookOps kOps{&FakeBackend::arm, &FakeBackend::skip};
};

}  // namespace fph_test
