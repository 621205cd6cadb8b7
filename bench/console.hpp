// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: host side of the test guest's serial command protocol
// (guest-image/init; tests/e2e/guestctl.py is the Python twin).
//
//   guest: FPH-GUEST-READY                 once, when ready
//   host:  @<id> <command line>
//   guest: FPH-BEGIN id=<id>
//          ...output of sh -c <command line>...
//          FPH-DONE rc=<rc> id=<id>
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "io.hpp"

namespace fphbench {

class GuestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Console {
public:
    Console() = default;
    Console(const std::string &sock_path, double timeout_s, const std::string &log_path,
            const std::string &tag)
        : sock_(sock_path, timeout_s), log_(log_path, std::ios::app), tag_(tag) {}

    // Waits for FPH-GUEST-READY; returns the seconds waited.
    double wait_ready(double timeout_s) {
        double t0 = now_s();
        expect("FPH-GUEST-READY\n", timeout_s);
        return now_s() - t0;
    }

    // Runs cmd in the guest; returns (rc, output).
    std::pair<int, std::string> run(const std::string &cmd, double timeout_s) {
        if (cmd.find('\n') != std::string::npos)
            throw std::invalid_argument("guest command must be one line");
        std::string cid = tag_ + "-" + std::to_string(++counter_);
        sock_.send_all("@" + cid + " " + cmd + "\n");
        expect("FPH-BEGIN id=" + cid + "\n", timeout_s);
        const std::string done = "FPH-DONE rc=";
        const std::string idtail = " id=" + cid + "\n";
        double deadline = now_s() + timeout_s;
        for (;;) {
            size_t pos = 0;
            while ((pos = buf_.find(done, pos)) != std::string::npos) {
                size_t p = pos + done.size();
                size_t q = p;
                if (q < buf_.size() && buf_[q] == '-')
                    q++;
                while (q < buf_.size() && buf_[q] >= '0' && buf_[q] <= '9')
                    q++;
                if (q > p && buf_.compare(q, idtail.size(), idtail) == 0) {
                    int rc = std::stoi(buf_.substr(p, q - p));
                    std::string out = buf_.substr(0, pos);
                    buf_.erase(0, q + idtail.size());
                    return {rc, out};
                }
                pos = p;
            }
            pump(deadline, "running '" + cmd + "'");
        }
    }

    // run() that throws unless rc == 0; returns the output.
    std::string check(const std::string &cmd, double timeout_s) {
        auto [rc, out] = run(cmd, timeout_s);
        if (rc != 0)
            throw GuestError("guest command '" + cmd + "' failed rc=" + std::to_string(rc) +
                             ": " + out);
        return out;
    }

private:
    void expect(const std::string &needle, double timeout_s) {
        double deadline = now_s() + timeout_s;
        for (;;) {
            size_t pos = buf_.find(needle);
            if (pos != std::string::npos) {
                buf_.erase(0, pos + needle.size());
                return;
            }
            pump(deadline, "waiting for '" + needle.substr(0, needle.size() - 1) + "'");
        }
    }

    void pump(double deadline, const std::string &what) {
        double left = deadline - now_s();
        if (left <= 0)
            throw GuestError("guest timeout " + what);
        std::string chunk;
        if (!sock_.recv_some(chunk, std::min(left, 0.5)))
            throw GuestError("serial connection closed " + what);
        std::string clean;
        clean.reserve(chunk.size());
        for (char c : chunk)
            if (c != '\r')
                clean += c;
        buf_ += clean;
        if (log_)
            log_ << clean << std::flush;
    }

    UnixStream sock_;
    std::ofstream log_;
    std::string tag_;
    std::string buf_;
    unsigned counter_ = 0;
};

// Parses the last "<prefix> key=value ... ok" line of fph-workload output.
inline std::map<std::string, std::string> parse_kv(const std::string &out,
                                                   const std::string &prefix) {
    std::map<std::string, std::string> kv;
    std::istringstream in(out);
    std::string line, last;
    while (std::getline(in, line))
        if (line.rfind(prefix + " ", 0) == 0)
            last = line;
    std::istringstream toks(last);
    std::string tok;
    while (toks >> tok) {
        size_t eq = tok.find('=');
        if (eq == std::string::npos)
            kv[tok] = "";
        else
            kv[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    return kv;
}

}  // namespace fphbench
