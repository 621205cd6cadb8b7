// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: turn the raw results (JSON) into markdown tables, headline
// ratios, target checks and a gnuplot PNG.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "matrix.hpp"
#include "stats.hpp"

namespace fphbench {

using json = nlohmann::json;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ------------------------------------------------------------ run metrics

inline double jnum(const json &j, std::initializer_list<const char *> path) {
    const json *p = &j;
    for (const char *k : path) {
        if (!p->is_object() || !p->contains(k))
            return kNaN;
        p = &(*p)[k];
    }
    return p->is_number() ? p->get<double>() : kNaN;
}

inline double m_transferred_mib(const json &r) {
    return jnum(r, {"migrate", "ram", "transferred"}) / kMiB;
}
inline double m_time_s(const json &r) { return jnum(r, {"migrate", "total-time"}) / 1000; }
inline double m_downtime_ms(const json &r) { return jnum(r, {"migrate", "downtime"}); }
inline double m_setup_ms(const json &r) { return jnum(r, {"migrate", "setup-time"}); }
inline double m_syncs(const json &r) { return jnum(r, {"migrate", "ram", "dirty-sync-count"}); }
inline double m_normal_mib(const json &r) {
    return jnum(r, {"migrate", "ram", "normal"}) * 4096 / kMiB;
}
inline double m_zero_pages(const json &r) { return jnum(r, {"migrate", "ram", "duplicate"}); }
inline double m_used_mib(const json &r) {
    return (jnum(r, {"meminfo_before", "memtotal_kib"}) -
            jnum(r, {"meminfo_before", "memfree_kib"})) / 1024;
}
inline double m_unfree_mib(const json &r) {
    return jnum(r, {"mem_mib"}) - jnum(r, {"meminfo_before", "memfree_kib"}) / 1024;
}
// Largest drop of MemFree below its value just before migrating, sampled
// every 100 ms in the guest from migration start until read back.
inline double m_withheld_mib(const json &r) {
    double d = (jnum(r, {"meminfo_before", "memfree_kib"}) - jnum(r, {"memfree_min_kib"})) / 1024;
    return std::isnan(d) ? d : std::max(0.0, d);
}
inline double m_after_drop_mib(const json &r) {
    double d = (jnum(r, {"meminfo_before", "memfree_kib"}) -
                jnum(r, {"meminfo_after", "memfree_kib"})) / 1024;
    return d;
}
inline double m_guest(const json &r, const char *k) { return jnum(r, {"guest_fph", k}); }
inline double m_skipped_mib(const json &r) {
    return jnum(r, {"fph_stats", "bytes-skipped"}) / kMiB;
}

// ------------------------------------------------------------ grouping

struct Key {
    uint64_t mem_mib;
    uint64_t bw;
    std::string scenario;
    std::string contender;
    auto tie() const { return std::tie(mem_mib, bw, scenario, contender); }
    bool operator<(const Key &o) const { return tie() < o.tie(); }
};

class Results {
public:
    explicit Results(const json &doc) : doc_(doc) {
        for (const auto &r : doc.value("runs", json::array())) {
            Key k{r.value("mem_mib", uint64_t{0}), r.value("bandwidth", uint64_t{0}),
                  r.value("scenario", ""), r.value("contender", "")};
            mems_.insert(k.mem_mib);
            bws_.insert(k.bw);
            scen_.insert(k.scenario);
            cont_.insert(k.contender);
            if (r.value("ok", false))
                ok_[k].push_back(r);
            else
                failed_[k].push_back(r);
        }
    }

    Summary sum(const Key &k, const std::function<double(const json &)> &f) const {
        std::vector<double> v;
        auto it = ok_.find(k);
        if (it != ok_.end())
            for (const auto &r : it->second)
                v.push_back(f(r));
        return summarize(v);
    }
    size_t n_ok(const Key &k) const {
        auto it = ok_.find(k);
        return it == ok_.end() ? 0 : it->second.size();
    }
    size_t n_failed(const Key &k) const {
        auto it = failed_.find(k);
        return it == failed_.end() ? 0 : it->second.size();
    }
    const std::map<Key, std::vector<json>> &failed() const { return failed_; }

    std::vector<uint64_t> mems() const { return {mems_.begin(), mems_.end()}; }
    std::vector<uint64_t> bws() const {
        std::vector<uint64_t> v(bws_.begin(), bws_.end());
        std::sort(v.rbegin(), v.rend());  // fastest first
        return v;
    }
    std::vector<std::string> scenarios() const {
        std::vector<std::string> v;
        for (const auto &s : all_scenarios())
            if (scen_.count(s.name))
                v.push_back(s.name);
        return v;
    }
    std::vector<std::string> contenders() const {
        std::vector<std::string> v;
        for (const auto &c : all_contenders())
            if (cont_.count(c.name))
                v.push_back(c.name);
        return v;
    }
    bool has(const std::string &contender) const { return cont_.count(contender) > 0; }
    const json &doc() const { return doc_; }

private:
    json doc_;
    std::map<Key, std::vector<json>> ok_, failed_;
    std::set<uint64_t> mems_, bws_;
    std::set<std::string> scen_, cont_;
};

inline std::string mem_label(uint64_t mib) {
    if (mib % 1024 == 0)
        return std::to_string(mib / 1024) + " GiB";
    return std::to_string(mib) + " MiB";
}
inline std::string bw_label(uint64_t bw) {
    char b[32];
    std::snprintf(b, sizeof(b), "%g Gbit/s", static_cast<double>(bw) * 8 / 1e9);
    return b;
}
inline std::string ratio(double a, double b) {
    if (std::isnan(a) || std::isnan(b) || b == 0)
        return "—";
    char s[32];
    std::snprintf(s, sizeof(s), "%.2f", a / b);
    return s;
}

// ------------------------------------------------------------ markdown

inline std::string markdown(const Results &R) {
    std::ostringstream o;
    const auto mems = R.mems();
    const auto bws = R.bws();
    const auto scens = R.scenarios();
    const auto conts = R.contenders();

    // Headline ratios.
    if (R.has("fph")) {
        o << "### Headline: fph relative to the others (ratio of medians; < 1 means fph is better)\n\n"
          << "| guest | bandwidth | scenario | fph/default bytes | fph/default time |"
             " fph/balloon-hint bytes | fph/balloon-hint time |"
             " fph/balloon-report bytes | fph/balloon-report time | fph/default downtime |\n"
          << "|---|---|---|---|---|---|---|---|---|---|\n";
        for (auto m : mems)
            for (auto bw : bws)
                for (const auto &s : scens) {
                    Key f{m, bw, s, "fph"};
                    if (!R.n_ok(f))
                        continue;
                    double fb = R.sum(f, m_transferred_mib).median;
                    double ft = R.sum(f, m_time_s).median;
                    o << "| " << mem_label(m) << " | " << bw_label(bw) << " | " << s;
                    for (const char *c : {"default", "balloon-hint", "balloon-report"}) {
                        Key k{m, bw, s, c};
                        o << " | " << ratio(fb, R.sum(k, m_transferred_mib).median) << " | "
                          << ratio(ft, R.sum(k, m_time_s).median);
                    }
                    o << " | "
                      << ratio(R.sum(f, m_downtime_ms).median,
                               R.sum(Key{m, bw, s, "default"}, m_downtime_ms).median)
                      << " |\n";
                }
        o << "\n";
    }

    // Per guest size and bandwidth: everything.
    for (auto m : mems)
        for (auto bw : bws) {
            bool any = false;
            for (const auto &s : scens)
                for (const auto &c : conts)
                    any = any || R.n_ok(Key{m, bw, s, c}) || R.n_failed(Key{m, bw, s, c});
            if (!any)
                continue;
            o << "### " << mem_label(m) << " guest, " << bw_label(bw) << "\n\n"
              << "Cells: median (min–max) over the repetitions. *used* = MemTotal − MemFree and "
                 "*RAM − MemFree* (the physical limit: everything the guest does not report "
                 "free, incl. kernel-reserved memory) are guest figures just before migrating.\n\n"
              << "| scenario | contender | n | transferred MiB | ×used | ×(RAM−MemFree) |"
                 " non-zero pages MiB | zero pages | total time s | downtime ms | setup ms |"
                 " syncs | used MiB | RAM−MemFree MiB | withheld MiB (max) |\n"
              << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
            for (const auto &s : scens)
                for (const auto &c : conts) {
                    Key k{m, bw, s, c};
                    if (!R.n_ok(k) && !R.n_failed(k))
                        continue;
                    if (!R.n_ok(k)) {
                        o << "| " << s << " | " << c << " | 0 | failed (" << R.n_failed(k)
                          << " runs) ||||||||||||\n";
                        continue;
                    }
                    Summary tr = R.sum(k, m_transferred_mib);
                    Summary used = R.sum(k, m_used_mib);
                    Summary unfree = R.sum(k, m_unfree_mib);
                    Summary wh = R.sum(k, m_withheld_mib);
                    o << "| " << s << " | " << c << " | " << R.n_ok(k);
                    if (R.n_failed(k))
                        o << " (+" << R.n_failed(k) << " failed)";
                    o << " | " << spread(tr) << " | " << ratio(tr.median, used.median) << " | "
                      << ratio(tr.median, unfree.median) << " | "
                      << num(R.sum(k, m_normal_mib).median) << " | "
                      << num(R.sum(k, m_zero_pages).median) << " | "
                      << spread(R.sum(k, m_time_s), 2) << " | "
                      << spread(R.sum(k, m_downtime_ms)) << " | "
                      << num(R.sum(k, m_setup_ms).median) << " | "
                      << num(R.sum(k, m_syncs).median) << " | " << spread(used) << " | "
                      << spread(unfree) << " | " << num(wh.max, 1) << " |\n";
                }
            o << "\n";
        }

    // Guest-side cost of fph.
    if (R.has("fph")) {
        o << "### fph guest-side cost (guest debugfs `/sys/kernel/debug/virtio_fph/`, read on the "
             "destination after migrating)\n\n"
          << "| guest | bandwidth | scenario | passes | scan time, all passes ms | last pass ms |"
             " longest zone->lock hold µs | confirmed free MiB | host skipped MiB |"
             " withheld MiB (max) |\n"
          << "|---|---|---|---|---|---|---|---|---|---|\n";
        for (auto m : mems)
            for (auto bw : bws)
                for (const auto &s : scens) {
                    Key k{m, bw, s, "fph"};
                    if (!R.n_ok(k))
                        continue;
                    auto g = [&](const char *f, double scale) {
                        return R.sum(k, [f, scale](const json &r) { return m_guest(r, f) / scale; });
                    };
                    o << "| " << mem_label(m) << " | " << bw_label(bw) << " | " << s << " | "
                      << spread(g("passes", 1)) << " | " << spread(g("collect_ns_total", 1e6), 1)
                      << " | " << spread(g("last_pass_ns", 1e6), 1) << " | "
                      << spread(g("lock_hold_max_ns", 1e3)) << " | "
                      << spread(g("confirmed_bytes", kMiB)) << " | "
                      << spread(R.sum(k, m_skipped_mib)) << " | "
                      << num(R.sum(k, m_withheld_mib).max, 1) << " |\n";
                }
        o << "\n";
    }

    // Failures.
    if (!R.failed().empty()) {
        o << "### Failed runs\n\n| guest | bandwidth | scenario | contender | rep | error |\n"
          << "|---|---|---|---|---|---|\n";
        for (const auto &[k, runs] : R.failed())
            for (const auto &r : runs) {
                std::string e = r.value("error", "");
                std::replace(e.begin(), e.end(), '\n', ' ');
                std::replace(e.begin(), e.end(), '|', '/');
                if (e.size() > 200)
                    e = e.substr(0, 200) + "…";
                o << "| " << mem_label(k.mem_mib) << " | " << bw_label(k.bw) << " | "
                  << k.scenario << " | " << k.contender << " | " << r.value("rep", 0) << " | "
                  << e << " |\n";
            }
        o << "\n";
    }
    return o.str();
}

// Target checks of the issue, for one guest size (2 GiB by default).
inline std::string targets(const Results &R, uint64_t mem_mib) {
    std::ostringstream o;
    if (!R.has("fph"))
        return "";
    auto mems = R.mems();
    if (std::find(mems.begin(), mems.end(), mem_mib) == mems.end())
        return "";
    o << "### Targets (" << mem_label(mem_mib) << " guest)\n\n"
      << "| bandwidth | target | measured (medians) | met |\n|---|---|---|---|\n";
    for (auto bw : R.bws()) {
        auto med = [&](const std::string &s, const std::string &c,
                       const std::function<double(const json &)> &f) {
            return R.sum(Key{mem_mib, bw, s, c}, f).median;
        };
        if (!R.n_ok(Key{mem_mib, bw, "freed-dirty", "fph"}) &&
            !R.n_ok(Key{mem_mib, bw, "idle", "fph"}))
            continue;
        for (const char *s : {"freed-dirty", "fragmented"}) {
            double t = med(s, "fph", m_transferred_mib), u = med(s, "fph", m_used_mib),
                   nf = med(s, "fph", m_unfree_mib);
            if (std::isnan(t))
                continue;
            bool met = t <= 1.15 * u;
            o << "| " << bw_label(bw) << " | " << s << ": transferred ≤ 1.15 × used | "
              << num(t) << " MiB = " << ratio(t, u) << " × used (" << num(u) << " MiB), "
              << ratio(t, nf) << " × RAM−MemFree (" << num(nf) << " MiB) | "
              << (met ? "yes"
                      : "**no**: " + num(t - 1.15 * u) + " MiB over 1.15 × used (" +
                            num(1.15 * u) + " MiB)")
              << " |\n";
        }
        for (const auto &s : R.scenarios()) {
            double fb = med(s, "fph", m_transferred_mib), db = med(s, "default", m_transferred_mib);
            double ft = med(s, "fph", m_time_s), dt = med(s, "default", m_time_s);
            if (std::isnan(fb) || std::isnan(db))
                continue;
            bool met = fb <= db && ft <= dt;
            o << "| " << bw_label(bw) << " | " << s << ": not worse than default (bytes, time) | "
              << num(fb) << " vs " << num(db) << " MiB; " << num(ft, 2) << " vs " << num(dt, 2)
              << " s | " << (met ? "yes" : "**no**") << " |\n";
        }
        double wf = 0, wd = 0;
        for (const auto &s : R.scenarios()) {
            if (s == "churn")
                continue;  // churn itself moves MemFree by up to 64 MiB
            Summary a = R.sum(Key{mem_mib, bw, s, "fph"}, m_withheld_mib);
            Summary b = R.sum(Key{mem_mib, bw, s, "default"}, m_withheld_mib);
            if (a.valid())
                wf = std::max(wf, a.max);
            if (b.valid())
                wd = std::max(wd, b.max);
        }
        o << "| " << bw_label(bw) << " | guest memory withheld = 0 (max MemFree drop during "
          << "migration, non-churn scenarios) | fph " << num(wf, 1) << " MiB; default (noise "
          << "floor) " << num(wd, 1) << " MiB | " << (wf <= std::max(wd, 0.0) + 4 ? "yes" : "**no**")
          << " |\n";
    }
    o << "\n";
    return o.str();
}

// ------------------------------------------------------------ plot

// Writes DATA + SCRIPT next to png_path (in tmpdir) and runs gnuplot.
inline bool plot(const Results &R, const std::string &png_path, const std::string &tmpdir,
                 std::string &err) {
    const auto mems = R.mems();
    const auto bws = R.bws();
    const auto scens = R.scenarios();
    const auto conts = R.contenders();
    std::string dat = tmpdir + "/fph-bench-plot.dat";
    std::string gp = tmpdir + "/fph-bench-plot.gp";
    std::ofstream d(dat);
    std::vector<std::pair<uint64_t, uint64_t>> panels;
    for (auto m : mems)
        for (auto bw : bws) {
            bool any = false;
            for (const auto &s : scens)
                for (const auto &c : conts)
                    any = any || R.n_ok(Key{m, bw, s, c});
            if (any)
                panels.push_back({m, bw});
        }
    if (panels.empty()) {
        err = "nothing to plot";
        return false;
    }
    // Block 2p: transferred MiB, block 2p+1: total time s.  Columns:
    // scenario, per contender (median, min, max), used MiB, RAM-MemFree MiB.
    for (auto [m, bw] : panels)
        for (int metric = 0; metric < 2; metric++) {
            d << "# " << mem_label(m) << " " << bw_label(bw) << (metric ? " time" : " bytes")
              << "\n";
            for (const auto &s : scens) {
                d << '"' << s << '"';
                for (const auto &c : conts) {
                    Summary x = metric ? R.sum(Key{m, bw, s, c}, m_time_s)
                                       : R.sum(Key{m, bw, s, c}, m_transferred_mib);
                    d << ' ' << num(x.median, 3) << ' ' << num(x.min, 3) << ' ' << num(x.max, 3);
                }
                double used = kNaN, unfree = kNaN;
                for (const auto &c : conts) {
                    Summary u = R.sum(Key{m, bw, s, c}, m_used_mib);
                    Summary nf = R.sum(Key{m, bw, s, c}, m_unfree_mib);
                    if (u.valid() && std::isnan(used)) {
                        used = u.median;
                        unfree = nf.median;
                    }
                }
                d << ' ' << num(used, 1) << ' ' << num(unfree, 1) << "\n";
            }
            d << "\n\n";
        }
    d.close();
    // Replace the "—" of missing data by NaN for gnuplot.
    {
        std::ifstream in(dat);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string t = ss.str();
        for (size_t p; (p = t.find("—")) != std::string::npos;)
            t.replace(p, std::string("—").size(), "NaN");
        std::ofstream(dat) << t;
    }
    std::ofstream g(gp);
    // Panels two per row; each row of panels is a row of byte plots above a
    // row of time plots.
    size_t np = panels.size();
    size_t cols = std::min<size_t>(np, 2), rows = (np + cols - 1) / cols;
    int w = static_cast<int>(cols * 720), h = static_cast<int>(rows * 2 * 430 + 40);
    int ucol = 2 + 3 * static_cast<int>(conts.size());
    g << "set terminal pngcairo size " << w << "," << h << " font 'sans,9'\n"
      << "set output '" << png_path << "'\n"
      << "set datafile missing 'NaN'\n"
      << "set multiplot layout " << 2 * rows << "," << cols
      << " title 'fph-bench: live migration, TCG guest (median; error bars min–max)'\n"
      << "set style data histograms\nset style histogram errorbars gap 1 lw 1\n"
      << "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset grid ytics\n"
      << "set xtics nomirror\nset yrange [0:*]\nset key below horizontal font ',8'\n";
    const char *colors[] = {"#888888", "#e69f00", "#56b4e9", "#009e73", "#cc79a7"};
    for (size_t row = 0; row < rows; row++)
        for (int metric = 0; metric < 2; metric++)
            for (size_t col0 = 0; col0 < cols; col0++) {
                size_t p = row * cols + col0;
                if (p >= np) {
                    g << "set multiplot next\n";
                    continue;
                }
                auto [m, bw] = panels[p];
                g << "set title '" << mem_label(m) << " guest, " << bw_label(bw) << "'\n"
                  << "set ylabel '" << (metric ? "total migration time (s)" : "MiB transferred")
                  << "'\n";
                g << "plot ";
                for (size_t c = 0; c < conts.size(); c++) {
                    int col = 2 + 3 * static_cast<int>(c);
                    g << (c ? ", " : "") << "'" << dat << "' index " << (2 * p + metric)
                      << " using " << col << ":" << col + 1 << ":" << col + 2
                      << (c ? "" : ":xtic(1)") << " title '" << conts[c] << "' lc rgb '"
                      << colors[c % 5] << "'";
                }
                if (!metric)
                    g << ", '' index " << (2 * p) << " using ($0):" << ucol
                      << " with points pt 7 ps 1.2 lc rgb 'black' title 'used (MemTotal-MemFree)'"
                      << ", '' index " << (2 * p) << " using ($0):" << ucol + 1
                      << " with points pt 6 ps 1.4 lc rgb 'red' title 'RAM-MemFree'";
                g << "\n";
            }
    g << "unset multiplot\n";
    g.close();
    std::string cmd = "gnuplot '" + gp + "' 2>&1";
    FILE *pp = popen(cmd.c_str(), "r");
    if (!pp) {
        err = "cannot run gnuplot";
        return false;
    }
    char buf[512];
    std::string out;
    while (fgets(buf, sizeof(buf), pp))
        out += buf;
    int rc = pclose(pp);
    if (rc != 0) {
        err = "gnuplot failed (is gnuplot-nox installed?): " + out;
        return false;
    }
    return true;
}

// Replaces the text between the markers in doc_path (appends them if absent).
inline bool update_doc(const std::string &doc_path, const std::string &body, std::string &err) {
    const std::string begin = "<!-- fph-bench:begin (generated by fph-bench, do not edit) -->";
    const std::string end = "<!-- fph-bench:end -->";
    std::string text;
    {
        std::ifstream in(doc_path);
        if (in) {
            std::stringstream ss;
            ss << in.rdbuf();
            text = ss.str();
        }
    }
    size_t b = text.find("<!-- fph-bench:begin");
    size_t e = text.find(end);
    std::string block = begin + "\n\n" + body + end;
    if (b != std::string::npos && e != std::string::npos && e > b)
        text.replace(b, e + end.size() - b, block);
    else
        text += (text.empty() ? "" : "\n") + block + "\n";
    std::ofstream out(doc_path + ".tmp");
    out << text;
    out.close();
    if (!out || std::rename((doc_path + ".tmp").c_str(), doc_path.c_str()) != 0) {
        err = "cannot write " + doc_path;
        return false;
    }
    return true;
}

}  // namespace fphbench
