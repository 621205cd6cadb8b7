// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: minimal synchronous QMP client (one JSON object per line).
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "io.hpp"

namespace fphbench {

using json = nlohmann::json;

class QmpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Qmp {
public:
    Qmp() = default;
    Qmp(const std::string &path, double timeout_s) : sock_(path, timeout_s) {
        json greeting = read_msg(timeout_s);
        if (!greeting.contains("QMP"))
            throw QmpError("bad QMP greeting: " + greeting.dump());
        cmd("qmp_capabilities");
    }

    bool ok() const { return sock_.ok(); }

    // Runs a command; returns its "return" member, throws QmpError on error.
    json cmd(const std::string &name, const json &args = nullptr,
             double timeout_s = 60) {
        json msg = {{"execute", name}};
        if (!args.is_null())
            msg["arguments"] = args;
        sock_.send_all(msg.dump() + "\n");
        for (;;) {
            json r = read_msg(timeout_s);
            if (r.contains("event"))
                continue;  // not needed: the caller polls query-migrate
            if (r.contains("error"))
                throw QmpError(name + ": " + r["error"].value("desc", r.dump()));
            if (r.contains("return"))
                return r["return"];
        }
    }

private:
    json read_msg(double timeout_s) {
        double deadline = now_s() + timeout_s;
        for (;;) {
            size_t nl = buf_.find('\n');
            if (nl != std::string::npos) {
                std::string line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                if (line.find_first_not_of(" \r\t") == std::string::npos)
                    continue;
                return json::parse(line);
            }
            double left = deadline - now_s();
            if (left <= 0)
                throw QmpError("QMP timeout");
            if (!sock_.recv_some(buf_, std::min(left, 0.5)))
                throw QmpError("QMP connection closed");
        }
    }

    UnixStream sock_;
    std::string buf_;
};

}  // namespace fphbench
