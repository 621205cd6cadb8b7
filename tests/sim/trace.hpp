// SPDX-License-Identifier: GPL-2.0-or-later
// Human-readable event log for `fph-sim --seed N --trace`.  Disabled (no
// stream) in check and long mode, where a call costs one branch.
#pragma once

#include <cstdint>
#include <ostream>

namespace fph_sim {

class Trace {
public:
    explicit Trace(std::ostream* out = nullptr) : out_(out) {}

    bool on() const { return out_ != nullptr; }
    void set_step(std::uint64_t step) { step_ = step; }

    template <typename... Args>
    void log(const char* actor, const Args&... args) const
    {
        if (!out_) {
            return;
        }
        *out_ << '[' << step_ << "] " << actor << ": ";
        (*out_ << ... << args);
        *out_ << '\n';
    }

private:
    std::ostream* out_;
    std::uint64_t step_ = 0;
};

}  // namespace fph_sim
