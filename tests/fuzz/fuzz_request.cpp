// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the fph core: arbitrary bytes as a request, run as
// CANDIDATES and then as CONFIRM, against an oracle backend that aborts if
// the core ever hands it a range the safety rule forbids.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fph_core.h"

namespace {

constexpr std::uint64_t kPage = VIRTIO_FPH_PAGE_SIZE;
constexpr std::uint64_t kMiB = 1ULL << 20;

// Hintable RAM as given to the core: two adjacent blocks, a hole, more RAM
// above 4 GiB and a block ending just below 2^64.
const FphRamRange kRam[] = {
    {0, 16 * kMiB},
    {16 * kMiB, 16 * kMiB},
    {64 * kMiB, 8 * kMiB},
    {0x100000000ULL, 4 * kMiB},
    {0xffffffffff000000ULL, 0xfff000ULL},
};

[[noreturn]] void fail(const char* what, std::uint64_t addr, std::uint64_t len)
{
    std::fprintf(stderr, "fph oracle: %s: addr=%#llx len=%#llx\n", what,
                 static_cast<unsigned long long>(addr), static_cast<unsigned long long>(len));
    std::abort();
}

// The independent oracle: plain vectors and linear scans, no shared code.
struct Oracle {
    const FphHookOps* ops = nullptr;
    std::uint64_t token = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> armed;  // [start, end)

    static bool in_ram(std::uint64_t addr, std::uint64_t end)
    {
        // Adjacent blocks 0 and 1 form one RAM range [0, 32 MiB).
        if (end <= 32 * kMiB)
            return true;
        for (const auto& r : kRam) {
            if (addr >= r.addr && end <= r.addr + r.len)
                return true;
        }
        return false;
    }

    void check_range(std::uint64_t tok, std::uint64_t addr, std::uint64_t len) const
    {
        if (tok != token)
            fail("wrong token", addr, len);
        if (len == 0)
            fail("empty range", addr, len);
        if (addr % kPage || len % kPage)
            fail("misaligned range", addr, len);
        if (addr + len < addr)
            fail("wrapping range", addr, len);
        if (!in_ram(addr, addr + len))
            fail("range outside RAM", addr, len);
    }

    bool covered_by_arms(std::uint64_t addr, std::uint64_t end) const
    {
        auto arms = armed;
        std::sort(arms.begin(), arms.end());
        std::uint64_t reached = addr;
        for (const auto& [s, e] : arms) {
            if (s <= reached && e > reached)
                reached = e;
            if (reached >= end)
                return true;
        }
        return false;
    }

    // The core never arms again what is armed in this epoch: a second arm
    // between the guest's observation and its confirm would drop the record
    // of a write made in between.
    void check_not_armed(std::uint64_t addr, std::uint64_t len) const
    {
        for (const auto& [s, e] : armed) {
            if (addr < e && s < addr + len)
                fail("range armed twice in one epoch", addr, len);
        }
    }

    // Fail some arms so confirms must be clipped around them.
    static bool arm_fails(std::uint64_t addr) { return (addr / kPage) % 5 == 3; }

    static int arm(void* opaque, std::uint64_t tok, std::uint64_t addr, std::uint64_t len)
    {
        auto* o = static_cast<Oracle*>(opaque);
        o->check_range(tok, addr, len);
        o->check_not_armed(addr, len);
        if (arm_fails(addr))
            return -EIO;
        o->armed.emplace_back(addr, addr + len);
        return 0;
    }

    static int skip(void* opaque, std::uint64_t tok, std::uint64_t addr, std::uint64_t len,
                    std::uint64_t* pages)
    {
        auto* o = static_cast<Oracle*>(opaque);
        o->check_range(tok, addr, len);
        // The safety rule: only what was armed in this epoch may be skipped.
        if (!o->covered_by_arms(addr, addr + len))
            fail("skip of unarmed range", addr, len);
        *pages = len / kPage;
        return 0;
    }

    // Batch forms: all or nothing.
    static int arm_batch(void* opaque, std::uint64_t tok, const FphRamRange* r, std::size_t n)
    {
        auto* o = static_cast<Oracle*>(opaque);
        if (n == 0)
            fail("empty batch", 0, 0);
        bool ok = true;
        for (std::size_t i = 0; i < n; ++i) {
            o->check_range(tok, r[i].addr, r[i].len);
            o->check_not_armed(r[i].addr, r[i].len);
            ok = ok && !arm_fails(r[i].addr);
        }
        if (!ok)
            return -EIO;
        for (std::size_t i = 0; i < n; ++i)
            o->armed.emplace_back(r[i].addr, r[i].addr + r[i].len);
        return 0;
    }

    static int skip_batch(void* opaque, std::uint64_t tok, const FphRamRange* r, std::size_t n,
                          std::uint64_t* pages)
    {
        if (n == 0)
            fail("empty batch", 0, 0);
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t p = 0;
            skip(opaque, tok, r[i].addr, r[i].len, &p);
            total += p;
        }
        *pages = total;
        return 0;
    }
};

const FphHookOps kSingleOps{
    .arm = &Oracle::arm, .skip = &Oracle::skip, .arm_batch = nullptr, .skip_batch = nullptr};
const FphHookOps kBatchOps{.arm = nullptr,
                           .skip = nullptr,
                           .arm_batch = &Oracle::arm_batch,
                           .skip_batch = &Oracle::skip_batch};

void run(FphCore* core, Oracle& oracle, const std::uint8_t* data, std::size_t size)
{
    FphPlan* plan = fph_core_parse(core, data, size);
    fph_plan_execute(plan, oracle.ops, &oracle);
    virtio_fph_resp resp;
    fph_core_complete(core, plan, &resp);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&resp);
    const unsigned status = b[0] | b[1] << 8;
    if (status > VIRTIO_FPH_S_INVALID || b[2] || b[3])
        fail("bad response header", status, 0);
    if (size >= sizeof(virtio_fph_req)) {
        const std::uint32_t nr =
            data[8] | data[9] << 8 | data[10] << 16 | static_cast<std::uint32_t>(data[11]) << 24;
        const std::uint64_t done = b[8] | b[9] << 8 | b[10] << 16 | std::uint64_t{b[11]} << 24;
        const std::uint64_t rej = b[12] | b[13] << 8 | b[14] << 16 | std::uint64_t{b[15]} << 24;
        if (done + rej > nr)
            fail("done + rejected > nr_ranges", done, rej);
    }
}

// A copy of a request with another type/epoch and, optionally, every range
// widened by a page on each side so confirms only partly overlap what was
// armed.  Only touches fields the input is long enough to have.
std::vector<std::uint8_t> variant(const std::uint8_t* data, std::size_t size, std::uint16_t type,
                                  std::uint32_t epoch, bool widen)
{
    std::vector<std::uint8_t> v(data, data + size);
    auto put = [&v](std::size_t off, std::uint64_t val, int n) {
        for (int i = 0; i < n && off + i < v.size(); ++i) {
            v[off + i] = static_cast<std::uint8_t>(val >> (8 * i));
        }
    };
    auto get = [&v](std::size_t off) {
        std::uint64_t val = 0;
        for (int i = 0; i < 8; ++i)
            val |= std::uint64_t{v[off + i]} << (8 * i);
        return val;
    };
    if (size >= 2 && v[1] == 0 && (v[0] == 1 || v[0] == 2))
        put(0, type, 2);  // keep bad types bad
    put(4, epoch, 4);
    if (widen) {
        for (std::size_t off = sizeof(virtio_fph_req); off + 16 <= v.size(); off += 16) {
            put(off, get(off) - kPage, 8);
            put(off + 8, get(off + 8) + 2 * kPage, 8);
        }
    }
    return v;
}

void scenario(const FphHookOps* ops, const std::uint8_t* data, std::size_t size)
{
    FphCore* core = fph_core_new(64);
    fph_core_set_ram(core, kRam, sizeof(kRam) / sizeof(kRam[0]));
    Oracle oracle;
    oracle.ops = ops;
    oracle.token = 0x5eed;
    const std::uint32_t e1 = fph_core_epoch_begin(core, oracle.token);  // 1, as in the corpus

    // As sent, then as both phases over the same ranges (the CANDIDATES pass
    // arms what the CONFIRM passes may skip), then a CONFIRM of widened ranges.
    run(core, oracle, data, size);
    auto cand = variant(data, size, VIRTIO_FPH_REQ_CANDIDATES, e1, false);
    auto conf = variant(data, size, VIRTIO_FPH_REQ_CONFIRM, e1, false);
    auto wide = variant(data, size, VIRTIO_FPH_REQ_CONFIRM, e1, true);
    run(core, oracle, cand.data(), cand.size());
    run(core, oracle, conf.data(), conf.size());
    run(core, oracle, wide.data(), wide.size());

    // A new epoch forgets every arm, and so does the oracle: confirming the
    // same ranges, now tagged with the new epoch, must skip nothing.
    oracle.token = 0x5eee;
    oracle.armed.clear();
    const std::uint32_t e2 = fph_core_epoch_begin(core, oracle.token);
    conf = variant(data, size, VIRTIO_FPH_REQ_CONFIRM, e2, false);
    run(core, oracle, conf.data(), conf.size());
    run(core, oracle, data, size);  // stale if it was tagged e1
    fph_core_free(core);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    scenario(&kSingleOps, data, size);
    scenario(&kBatchOps, data, size);
    return 0;
}
