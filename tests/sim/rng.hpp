// SPDX-License-Identifier: GPL-2.0-or-later
// The only source of nondeterminism in a run.  std::uniform_int_distribution
// is implementation-defined, so bounded draws are done here: the same seed
// gives the same trace with any standard library.
#pragma once

#include <cstdint>
#include <limits>
#include <random>

namespace fph_sim {

class Rng {
public:
    explicit Rng(std::uint64_t seed) : gen_(seed) {}

    // Uniform in [0, n); n > 0.  Rejection sampling, no modulo bias.
    std::uint64_t below(std::uint64_t n)
    {
        constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
        const std::uint64_t limit = kMax - kMax % n;
        std::uint64_t x;
        do {
            x = gen_();
        } while (x >= limit);
        return x % n;
    }

    // Uniform in [lo, hi].
    std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }

    // True with probability num/den.
    bool chance(std::uint64_t num, std::uint64_t den) { return below(den) < num; }

private:
    std::mt19937_64 gen_;
};

}  // namespace fph_sim
