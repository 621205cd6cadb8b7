// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: migrate the same guest between two QEMU processes on this
// machine (unix socket) for each scenario x contender x guest size x
// bandwidth x repetition, record query-migrate, query-fph-stats and the
// guest-side cost, and write raw JSON, markdown tables and a plot.
//
//   fph-bench --qemu build/fph-qemu --image build/guest --matrix reduced
//             --out docs/benchmarks/fph-bench.json
//             --plot docs/benchmarks/transferred.png --doc docs/benchmarks.md
//   fph-bench --smoke --qemu ... --image ...       (exit 1 if fph > default)
//   fph-bench --report-only docs/benchmarks/fph-bench.json --plot ... --doc ...
//
// See docs/benchmarks.md for the method and the results.

#include <algorithm>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "console.hpp"
#include "io.hpp"
#include "matrix.hpp"
#include "qmp.hpp"
#include "report.hpp"
#include "stats.hpp"

namespace fs = std::filesystem;
using namespace fphbench;

namespace {

// Kernel command line of the test guest (tests/e2e/guestctl.py DEFAULT_APPEND).
const char *kAppend = "console=ttyS0 transparent_hugepage=never quiet";

struct Options {
    std::string qemu;
    std::string image;
    std::vector<uint64_t> mems{1024, 2048};
    std::vector<uint64_t> bws{1250000000};
    unsigned reps = 3;
    std::vector<std::string> scenarios;
    std::vector<std::string> contenders;
    double settle_s = 3;
    uint64_t downtime_ms = 300;
    std::string out;
    std::string plot;
    std::string doc;
    std::string report_only;
    std::string workdir;
    std::string matrix = "reduced";
    double budget_min = 0;  // 0: no limit
    bool smoke = false;
    bool keep = false;
    bool append = false;
    double boot_timeout = 240, prepare_timeout = 900, migrate_timeout = 1200;
    std::string cmdline;
};

std::vector<std::string> split(const std::string &s, char sep = ',') {
    std::vector<std::string> v;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep))
        if (!cur.empty())
            v.push_back(cur);
    return v;
}

uint64_t parse_size_mib(const std::string &s) {
    char *end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    std::string u = end ? end : "";
    if (u == "G" || u == "g" || u == "GiB")
        return static_cast<uint64_t>(v * 1024);
    if (u == "M" || u == "m" || u == "MiB" || u.empty())
        return static_cast<uint64_t>(v);
    throw std::invalid_argument("bad size " + s);
}

// "10G" / "1G" are Gbit/s; a plain number is bytes/s (QEMU max-bandwidth).
uint64_t parse_bw(const std::string &s) {
    char *end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    std::string u = end ? end : "";
    if (u == "G" || u == "g")
        return static_cast<uint64_t>(v * 1e9 / 8);
    if (u == "M" || u == "m")
        return static_cast<uint64_t>(v * 1e6 / 8);
    if (u.empty())
        return static_cast<uint64_t>(v);
    throw std::invalid_argument("bad bandwidth " + s);
}

std::string fmt_dur(double s) {
    if (std::isnan(s) || s < 0)
        return "?";
    char b[32];
    int m = static_cast<int>(s / 60);
    if (m >= 60)
        std::snprintf(b, sizeof(b), "%dh%02dm", m / 60, m % 60);
    else
        std::snprintf(b, sizeof(b), "%dm%02ds", m, static_cast<int>(s) % 60);
    return b;
}

std::string shell_out(const std::string &cmd) {
    std::string out;
    FILE *p = popen(cmd.c_str(), "r");
    if (!p)
        return out;
    char buf[512];
    while (fgets(buf, sizeof(buf), p))
        out += buf;
    pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    return out;
}

std::string loadavg() { return shell_out("cut -d' ' -f1-3 /proc/loadavg"); }

std::string iso_now() {
    char b[64];
    time_t t = time(nullptr);
    strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    return b;
}

std::string tail_file(const std::string &path, size_t max = 600) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s.size() > max ? s.substr(s.size() - max) : s;
}

void write_json_atomic(const std::string &path, const json &j) {
    if (path.empty())
        return;
    fs::path p(path);
    if (p.has_parent_path())
        fs::create_directories(p.parent_path());
    std::ofstream o(path + ".tmp");
    o << j.dump(1) << "\n";
    o.close();
    std::rename((path + ".tmp").c_str(), path.c_str());
}

// ------------------------------------------------------------ one run

struct RunSpec {
    uint64_t mem_mib;
    uint64_t bw;
    const Scenario *scenario;
    const Contender *contender;
    unsigned rep;
};

std::vector<std::string> qemu_argv(const Options &o, const RunSpec &rs, const std::string &dir,
                                   const std::string &name, bool incoming) {
    std::string serial = dir + "/" + name + ".serial";
    std::string append = std::string(kAppend) + " fph.skipmods=" + rs.contender->skipmods;
    std::vector<std::string> a = {
        o.qemu, "-machine", "q35", "-accel", "tcg", "-m", std::to_string(rs.mem_mib) + "M",
        "-smp", "1", "-nodefaults", "-nographic", "-no-user-config",
        "-kernel", o.image + "/vmlinuz", "-initrd", o.image + "/initramfs",
        "-append", append,
        // The source waits for the console client so that nothing is lost;
        // the destination must not wait (migration would block).
        "-chardev",
        "socket,id=ser0,path=" + serial + ",server=on,wait=" + (incoming ? "off" : "on"),
        "-serial", "chardev:ser0",
        "-qmp", "unix:" + dir + "/" + name + ".qmp,server=on,wait=off"};
    a.insert(a.end(), rs.contender->qemu_args.begin(), rs.contender->qemu_args.end());
    if (incoming)
        a.insert(a.end(), {"-incoming", "defer"});
    return a;
}

json meminfo(Console &con) {
    auto kv = parse_kv(con.check("fph-workload meminfo", 60), "meminfo");
    json j;
    for (const char *k : {"memtotal_kib", "memfree_kib", "memavailable_kib"})
        if (kv.count(k))
            j[k] = std::stoull(kv[k]);
    return j;
}

// Samples MemFree every 100 ms in the guest and keeps the minimum in
// /run/fph-bench.min: how much memory a hinting scheme withholds.  Nice -20
// (busybox has no chrt) so that it still gets to run while the guest kernel
// is busy hinting; the sample count is recorded to show that it did.
const char *kSamplerStart =
    "rm -f /run/fph-bench.min; (min=999999999; n=0; while :; do while read k v u; do "
    "if [ \"$k\" = MemFree: ]; then [ \"$v\" -lt \"$min\" ] && min=$v; break; fi; "
    "done </proc/meminfo; n=$((n+1)); echo \"min=$min samples=$n\" >/run/fph-bench.min; "
    "sleep 0.1; done) >/dev/null 2>&1 </dev/null & echo $! >/run/fph-bench.pid; "
    "renice -n -20 -p $! >/dev/null";
const char *kSamplerStop =
    "kill $(cat /run/fph-bench.pid) 2>/dev/null; cat /run/fph-bench.min";

json run_one(const Options &o, const RunSpec &rs, const std::string &dir) {
    json r = {{"mem_mib", rs.mem_mib},     {"bandwidth", rs.bw},
              {"scenario", rs.scenario->name}, {"contender", rs.contender->name},
              {"rep", rs.rep},             {"ok", false},
              {"downtime_limit_ms", o.downtime_ms}, {"settle_s", o.settle_s},
              {"started", iso_now()},      {"loadavg_before", loadavg()}};
    double t0 = now_s();
    fs::create_directories(dir);
    Child src, dst;
    try {
        src = Child(qemu_argv(o, rs, dir, "src", false), dir + "/src.log");
        // Connect to the console (QEMU waits for it); give up early if QEMU
        // exits, e.g. because a contender's device does not exist.
        Console con;
        for (double dl = now_s() + 30;;) {
            try {
                con = Console(dir + "/src.serial", 0.5, dir + "/src.console", "s");
                break;
            } catch (const std::exception &e) {
                if (!src.running() || now_s() > dl)
                    throw std::runtime_error("source QEMU did not start (" +
                                             std::string(e.what()) + "); its log: " +
                                             tail_file(dir + "/src.log"));
            }
        }
        Qmp qmp(dir + "/src.qmp", 30);
        r["boot_s"] = con.wait_ready(o.boot_timeout);

        double tp = now_s();
        json prep = json::array();
        for (const auto &cmd : prepare_cmds(rs.scenario->name, rs.mem_mib))
            prep.push_back(con.check(cmd, o.prepare_timeout));
        r["prepare_out"] = prep;
        r["prepare_s"] = now_s() - tp;
        sleep_s(o.settle_s);

        con.check(kSamplerStart, 30);
        r["meminfo_before"] = meminfo(con);

        dst = Child(qemu_argv(o, rs, dir, "dst", true), dir + "/dst.log");
        Qmp dqmp(dir + "/dst.qmp", 30);
        std::string uri = "unix:" + dir + "/migrate.sock";
        dqmp.cmd("migrate-incoming", {{"uri", uri}});
        qmp.cmd("migrate-set-parameters",
                {{"max-bandwidth", rs.bw}, {"downtime-limit", o.downtime_ms}});
        double tm = now_s();
        qmp.cmd("migrate", {{"uri", uri}});
        json info;
        for (;;) {
            info = qmp.cmd("query-migrate");
            std::string st = info.value("status", "");
            if (st == "completed")
                break;
            if (st == "failed" || st == "cancelled")
                throw std::runtime_error("migration " + st + ": " +
                                         info.value("error-desc", std::string()));
            if (now_s() - tm > o.migrate_timeout) {
                qmp.cmd("migrate_cancel");
                throw std::runtime_error("migration timed out");
            }
            if (!src.running() || !dst.running())
                throw std::runtime_error("QEMU exited during migration; src log: " +
                                         tail_file(dir + "/src.log") +
                                         " dst log: " + tail_file(dir + "/dst.log"));
            sleep_s(0.1);
        }
        r["migrate"] = info;
        r["migrate_wall_s"] = now_s() - tm;
        if (rs.contender->fph)
            r["fph_stats"] = qmp.cmd("query-fph-stats");

        // On the destination: sampler minimum, memory afterwards, guest cost.
        Console dcon(dir + "/dst.serial", 30, dir + "/dst.console", "d");
        std::string mn = dcon.check(kSamplerStop, 60);
        {
            // Output: "min=<kib> samples=<n>" (kernel messages may precede it).
            size_t p = mn.rfind("min=");
            std::istringstream in(p == std::string::npos ? "" : mn.substr(p));
            std::string tok;
            while (in >> tok) {
                size_t eq = tok.find('=');
                if (eq == std::string::npos)
                    continue;
                try {
                    if (tok.compare(0, eq, "min") == 0)
                        r["memfree_min_kib"] = std::stoull(tok.substr(eq + 1));
                    else if (tok.compare(0, eq, "samples") == 0)
                        r["memfree_samples"] = std::stoull(tok.substr(eq + 1));
                } catch (const std::exception &) {
                }
            }
            if (!r.contains("memfree_min_kib"))
                r["memfree_min_raw"] = mn;
        }
        json after = json::array();
        for (const auto &cmd : after_cmds(rs.scenario->name))
            after.push_back(dcon.check(cmd, 120));
        r["after_out"] = after;
        if (rs.scenario->name == "churn") {
            auto kv = parse_kv(after[0].get<std::string>(), "churn");
            r["churn_bad"] = kv.count("bad") ? std::stoull(kv["bad"]) : 1;
            if (r["churn_bad"] != 0)
                throw std::runtime_error("churn verification failed: " +
                                         after[0].get<std::string>());
        }
        if (rs.contender->fph) {
            std::string out = dcon.check(
                "cd /sys/kernel/debug/virtio_fph && for f in *; do echo \"$f=$(cat $f)\"; done",
                60);
            json g = json::object();
            std::istringstream in(out);
            std::string line;
            while (std::getline(in, line)) {
                size_t eq = line.find('=');
                if (eq == std::string::npos)
                    continue;
                try {
                    g[line.substr(0, eq)] = std::stoull(line.substr(eq + 1));
                } catch (const std::exception &) {
                }
            }
            r["guest_fph"] = g;
        }
        sleep_s(1);
        r["meminfo_after"] = meminfo(dcon);
        r["ok"] = true;
    } catch (const std::exception &e) {
        r["error"] = e.what();
    }
    src.kill();
    dst.kill();
    r["wall_s"] = now_s() - t0;
    r["loadavg_after"] = loadavg();
    if (!o.keep && r["ok"].get<bool>())
        fs::remove_all(dir);
    else
        r["workdir"] = dir;
    return r;
}

// ------------------------------------------------------------ report

std::string part_header(const json &m) {
    std::ostringstream o;
    o << "- run: " << m.value("started", "") << " → " << m.value("finished", "(unfinished)")
      << ", wall time " << fmt_dur(m.value("wall_s", 0.0)) << ", " << m.value("runs_ok", 0)
      << " runs ok, " << m.value("runs_failed", 0) << " failed, " << m.value("runs_skipped", 0)
      << " not run (time budget)\n"
      << "- matrix `" << m.value("matrix", "") << "`: guest " << m["mems_mib"].dump()
      << " MiB, bandwidth " << m["bandwidths"].dump() << " B/s, " << m.value("reps", 0)
      << " repetitions, scenarios " << m["scenarios"].dump() << ", contenders "
      << m["contenders"].dump() << ", downtime-limit " << m.value("downtime_ms", 0)
      << " ms, settle " << m.value("settle_s", 0.0) << " s\n"
      << "- command: `" << m.value("cmdline", "") << "`\n"
      << "- host: " << m.value("host", "") << ", " << m.value("nproc", 0)
      << " CPUs, load average at start " << m.value("loadavg_start", "") << ", at end "
      << m.value("loadavg_end", "") << "\n"
      << "- emulator: " << m.value("qemu_version", "") << " (`" << m.value("qemu", "")
      << "`), guest kernel " << m.value("guest_kernel", "") << "\n\n";
    return o.str();
}

std::string report_header(const json &doc) {
    json parts = doc.contains("parts") ? doc["parts"] : json::array({doc["meta"]});
    std::ostringstream o;
    o << "Generated by fph-bench from `" << doc["meta"].value("out", std::string("fph-bench.json"))
      << "`" << (parts.size() > 1 ? ", which holds " + std::to_string(parts.size()) +
                                        " invocations (`--append`)" : std::string())
      << ".\n\n";
    for (size_t i = 0; i < parts.size(); i++)
        o << (parts.size() > 1 ? "**Part " + std::to_string(i + 1) + "**\n\n" : std::string())
          << part_header(parts[i]);
    return o.str();
}


int make_report(const Options &o, const json &doc) {
    Results R(doc);
    std::string body = report_header(doc) + markdown(R) + targets(R, 2048);
    int rc = 0;
    if (!o.plot.empty()) {
        std::string err;
        fs::path pp = fs::absolute(o.plot);
        fs::create_directories(pp.parent_path());
        std::string tmp = fs::temp_directory_path() / ("fph-bench-plot-" + std::to_string(getpid()));
        fs::create_directories(tmp);
        if (!plot(R, pp.string(), tmp, err)) {
            std::cerr << "fph-bench: plot: " << err << "\n";
            rc = 1;
        } else {
            std::cerr << "fph-bench: wrote " << o.plot << "\n";
        }
        fs::remove_all(tmp);
        if (!o.doc.empty()) {
            fs::path rel = fs::relative(pp, fs::absolute(o.doc).parent_path());
            body += "![MiB transferred and migration time per scenario and contender](" +
                    rel.string() + ")\n\n";
        }
    }
    if (!o.doc.empty()) {
        std::string err;
        if (!update_doc(o.doc, body, err)) {
            std::cerr << "fph-bench: " << err << "\n";
            rc = 1;
        } else {
            std::cerr << "fph-bench: updated " << o.doc << "\n";
        }
    } else {
        std::cout << body;
    }
    return rc;
}

void usage() {
    std::cerr <<
        "usage: fph-bench [options]\n"
        "  --qemu PATH            emulator (build/fph-qemu)\n"
        "  --image DIR            guest image dir with vmlinuz, initramfs (build/guest)\n"
        "  --matrix NAME          reduced (default): 1,2 GiB, 10 Gbit/s, 3 reps, all;\n"
        "                         full: 1,2,4 GiB, 10 and 1 Gbit/s, 3 reps, all\n"
        "  --smoke                1 GiB, 1 rep, freed-dirty, default vs fph; exit 1 if\n"
        "                         fph transfers more than default or a run fails\n"
        "  --mem 1G,2G            guest sizes      --bandwidth 10G,1G (Gbit/s; plain = B/s)\n"
        "  --reps N               repetitions      --settle SEC (pause before migrating, 3)\n"
        "  --scenarios a,b        idle,freed-dirty,fragmented,churn\n"
        "  --contenders a,b       default,balloon-hint,balloon-report,fph\n"
        "  --budget-min N         start no new run after N minutes\n"
        "  --out FILE.json        raw results (rewritten after every run)\n"
        "  --plot FILE.png        gnuplot PNG     --doc FILE.md  update its generated section\n"
        "  --report-only FILE.json  regenerate plot/doc (or print tables) from raw results\n"
        "  --append               add to the runs already in --out (another matrix part)\n"
        "  --workdir DIR          scratch (default /tmp/fph-bench-PID)   --keep (keep logs)\n";
}

bool parse_args(int argc, char **argv, Options &o) {
    std::vector<std::string> a(argv + 1, argv + argc);
    std::string mems, bws, reps, scen, cont;
    o.cmdline = "fph-bench";
    for (auto &s : a)
        o.cmdline += " " + s;
    for (size_t i = 0; i < a.size(); i++) {
        auto val = [&]() -> std::string {
            if (i + 1 >= a.size())
                throw std::invalid_argument(a[i] + " needs a value");
            return a[++i];
        };
        const std::string &k = a[i];
        if (k == "--qemu") o.qemu = val();
        else if (k == "--image") o.image = val();
        else if (k == "--matrix") o.matrix = val();
        else if (k == "--smoke") o.smoke = true;
        else if (k == "--mem") mems = val();
        else if (k == "--bandwidth") bws = val();
        else if (k == "--reps") reps = val();
        else if (k == "--scenarios") scen = val();
        else if (k == "--contenders") cont = val();
        else if (k == "--settle") o.settle_s = std::stod(val());
        else if (k == "--budget-min") o.budget_min = std::stod(val());
        else if (k == "--out") o.out = val();
        else if (k == "--plot") o.plot = val();
        else if (k == "--doc") o.doc = val();
        else if (k == "--report-only") o.report_only = val();
        else if (k == "--workdir") o.workdir = val();
        else if (k == "--keep") o.keep = true;
        else if (k == "--append") o.append = true;
        else if (k == "-h" || k == "--help") return false;
        else throw std::invalid_argument("unknown option " + k);
    }
    if (o.smoke)
        o.matrix = "smoke";
    if (o.matrix == "smoke") {
        o.mems = {1024};
        o.bws = {1250000000};
        o.reps = 1;
        o.scenarios = {"freed-dirty"};
        o.contenders = {"default", "fph"};
        o.smoke = true;
    } else if (o.matrix == "full") {
        o.mems = {1024, 2048, 4096};
        o.bws = {1250000000, 125000000};
    } else if (o.matrix != "reduced") {
        throw std::invalid_argument("unknown matrix " + o.matrix);
    }
    if (!o.smoke && !(mems + bws + reps + scen + cont).empty())
        o.matrix += " + overrides";
    if (!mems.empty()) {
        o.mems.clear();
        for (auto &s : split(mems))
            o.mems.push_back(parse_size_mib(s));
    }
    if (!bws.empty()) {
        o.bws.clear();
        for (auto &s : split(bws))
            o.bws.push_back(parse_bw(s));
    }
    if (!reps.empty())
        o.reps = static_cast<unsigned>(std::stoul(reps));
    if (!scen.empty())
        o.scenarios = split(scen);
    if (!cont.empty())
        o.contenders = split(cont);
    if (o.scenarios.empty())
        for (auto &s : all_scenarios())
            o.scenarios.push_back(s.name);
    if (o.contenders.empty())
        for (auto &c : all_contenders())
            o.contenders.push_back(c.name);
    for (auto &s : o.scenarios)
        if (std::none_of(all_scenarios().begin(), all_scenarios().end(),
                         [&](auto &x) { return x.name == s; }))
            throw std::invalid_argument("unknown scenario " + s);
    for (auto &c : o.contenders)
        if (std::none_of(all_contenders().begin(), all_contenders().end(),
                         [&](auto &x) { return x.name == c; }))
            throw std::invalid_argument("unknown contender " + c);
    return true;
}

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

}  // namespace

int main(int argc, char **argv) {
    Options o;
    try {
        if (!parse_args(argc, argv, o)) {
            usage();
            return 0;
        }
    } catch (const std::exception &e) {
        std::cerr << "fph-bench: " << e.what() << "\n";
        usage();
        return 2;
    }

    if (!o.report_only.empty()) {
        std::ifstream in(o.report_only);
        if (!in) {
            std::cerr << "fph-bench: cannot read " << o.report_only << "\n";
            return 2;
        }
        json doc = json::parse(in);
        return make_report(o, doc);
    }

    if (o.qemu.empty() || o.image.empty()) {
        std::cerr << "fph-bench: --qemu and --image are required\n";
        usage();
        return 2;
    }
    for (const char *f : {"vmlinuz", "initramfs"})
        if (!fs::exists(o.image + "/" + f)) {
            std::cerr << "fph-bench: " << o.image << "/" << f << " missing (make image)\n";
            return 2;
        }
    if (access(o.qemu.c_str(), X_OK) != 0) {
        std::cerr << "fph-bench: " << o.qemu << " is not executable\n";
        return 2;
    }
    o.qemu = fs::absolute(o.qemu).string();
    o.image = fs::absolute(o.image).string();
    if (o.workdir.empty())
        o.workdir = "/tmp/fph-bench-" + std::to_string(getpid());
    fs::create_directories(o.workdir);
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    std::signal(SIGPIPE, SIG_IGN);

    // The schedule: repetitions outermost so that an interrupted or
    // budget-limited run still covers every cell; contender order rotates.
    std::vector<RunSpec> plan;
    std::vector<const Contender *> conts;
    for (auto &name : o.contenders)
        for (auto &c : all_contenders())
            if (c.name == name)
                conts.push_back(&c);
    std::vector<const Scenario *> scens;
    for (auto &name : o.scenarios)
        for (auto &s : all_scenarios())
            if (s.name == name)
                scens.push_back(&s);
    unsigned rot = 0;
    for (unsigned rep = 1; rep <= o.reps; rep++)
        for (auto m : o.mems)
            for (auto bw : o.bws)
                for (auto *s : scens) {
                    for (size_t i = 0; i < conts.size(); i++)
                        plan.push_back({m, bw, s, conts[(i + rot) % conts.size()], rep});
                    rot++;
                }

    struct utsname un {};
    uname(&un);
    json doc;
    std::string kver = shell_out("cat '" + o.image + "/kver' 2>/dev/null");
    doc["meta"] = {
        {"tool", "fph-bench"},
        {"cmdline", o.cmdline},
        {"matrix", o.matrix},
        {"mems_mib", o.mems},
        {"bandwidths", o.bws},
        {"reps", o.reps},
        {"scenarios", o.scenarios},
        {"contenders", o.contenders},
        {"downtime_ms", o.downtime_ms},
        {"settle_s", o.settle_s},
        {"qemu", o.qemu},
        {"qemu_version", shell_out("'" + o.qemu + "' --version | head -1")},
        {"qemu_sha256", shell_out("sha256sum $(sed -n 's/^exec \\([^ ]*\\).*/\\1/p' '" + o.qemu +
                                  "' 2>/dev/null | head -1) 2>/dev/null | cut -c1-16")},
        {"image", o.image},
        {"initramfs_sha256",
         shell_out("sha256sum '" + o.image + "/initramfs' | cut -c1-16")},
        {"guest_kernel", kver},
        {"append", kAppend},
        {"host", std::string(un.sysname) + " " + un.release + " " + un.machine},
        {"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
        {"loadavg_start", loadavg()},
        {"started", iso_now()},
        {"planned_runs", plan.size()},
        {"out", o.out.empty() ? std::string("fph-bench.json") : fs::path(o.out).filename().string()}};
    doc["runs"] = json::array();
    // --append: keep the runs (and the description) of earlier invocations.
    json parts = json::array();
    if (o.append && !o.out.empty() && fs::exists(o.out)) {
        std::ifstream in(o.out);
        json old = json::parse(in);
        parts = old.contains("parts") ? old["parts"] : json::array({old["meta"]});
        doc["runs"] = old["runs"];
        std::cerr << "fph-bench: appending to " << o.out << " (" << doc["runs"].size()
                  << " earlier runs)\n";
    }
    auto save = [&]() {
        json d = doc;
        d["parts"] = parts;
        d["parts"].push_back(doc["meta"]);
        write_json_atomic(o.out, d);
        return d;
    };

    std::cerr << "fph-bench: " << plan.size() << " runs (matrix " << o.matrix << "), workdir "
              << o.workdir << "\n";
    double t_start = now_s();
    std::map<uint64_t, std::vector<double>> durations;  // per guest size
    unsigned ok = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < plan.size(); i++) {
        const RunSpec &rs = plan[i];
        double elapsed = now_s() - t_start;
        if (g_interrupted || (o.budget_min > 0 && elapsed > o.budget_min * 60)) {
            skipped = static_cast<unsigned>(plan.size() - i);
            std::cerr << "fph-bench: " << (g_interrupted ? "interrupted" : "time budget reached")
                      << ", " << skipped << " runs not started\n";
            break;
        }
        // ETA: mean duration per guest size so far (scaled from the others if
        // a size has not run yet).
        double eta = 0, per_mib = 0, n = 0;
        for (auto &[m, v] : durations)
            for (double d : v) {
                per_mib += d / static_cast<double>(m);
                n++;
            }
        for (size_t j = i; j < plan.size(); j++) {
            auto it = durations.find(plan[j].mem_mib);
            if (it != durations.end() && !it->second.empty()) {
                double s = 0;
                for (double d : it->second)
                    s += d;
                eta += s / static_cast<double>(it->second.size());
            } else if (n > 0) {
                eta += per_mib / n * static_cast<double>(plan[j].mem_mib);
            } else {
                eta = std::nan("");
            }
        }
        char head[256];
        std::snprintf(head, sizeof(head), "[%zu/%zu] %s %s %-11s %-14s rep %u/%u", i + 1,
                      plan.size(), mem_label(rs.mem_mib).c_str(), bw_label(rs.bw).c_str(),
                      rs.scenario->name.c_str(), rs.contender->name.c_str(), rs.rep, o.reps);
        std::cerr << head << "  (elapsed " << fmt_dur(elapsed) << ", ETA " << fmt_dur(eta)
                  << ") ..." << std::flush;
        json r = run_one(o, rs, o.workdir + "/run" + std::to_string(i + 1));
        durations[rs.mem_mib].push_back(r["wall_s"].get<double>());
        if (r["ok"].get<bool>()) {
            ok++;
            char line[256];
            std::snprintf(line, sizeof(line),
                          " %.0f MiB in %.2f s (downtime %.0f ms), used %.0f MiB, withheld "
                          "%.1f MiB [%.0f s]",
                          m_transferred_mib(r), m_time_s(r), m_downtime_ms(r), m_used_mib(r),
                          m_withheld_mib(r), r["wall_s"].get<double>());
            std::cerr << line << "\n";
        } else {
            failed++;
            std::cerr << " FAILED: " << r.value("error", "") << "\n";
        }
        r["part"] = parts.size() + 1;
        doc["runs"].push_back(r);
        doc["meta"]["runs_ok"] = ok;
        doc["meta"]["runs_failed"] = failed;
        doc["meta"]["wall_s"] = now_s() - t_start;
        save();
    }
    doc["meta"]["runs_skipped"] = skipped;
    doc["meta"]["finished"] = iso_now();
    doc["meta"]["wall_s"] = now_s() - t_start;
    doc["meta"]["loadavg_end"] = loadavg();
    doc = save();
    if (!o.keep && failed == 0)
        fs::remove_all(o.workdir);
    std::cerr << "fph-bench: " << ok << " ok, " << failed << " failed, " << skipped
              << " not run, " << fmt_dur(now_s() - t_start) << "\n";

    int rc = 0;
    if (!o.smoke || !o.plot.empty() || !o.doc.empty())
        rc = make_report(o, doc);
    if (o.smoke) {
        Results R(doc);
        Key d{1024, o.bws[0], "freed-dirty", "default"}, f{1024, o.bws[0], "freed-dirty", "fph"};
        double db = R.sum(d, m_transferred_mib).median, fb = R.sum(f, m_transferred_mib).median;
        double used = R.sum(f, m_used_mib).median;
        bool pass = failed == 0 && !std::isnan(db) && !std::isnan(fb) && fb <= db;
        if (failed) {
            std::printf("bench-smoke: FAIL (%u of %zu runs failed, see above)\n", failed,
                        plan.size());
            return 1;
        }
        std::printf("bench-smoke: 1 GiB freed-dirty: default %.0f MiB in %.2f s, fph %.0f MiB in "
                    "%.2f s (%.2f x default, %.2f x used %.0f MiB): %s\n",
                    db, R.sum(d, m_time_s).median, fb, R.sum(f, m_time_s).median, fb / db,
                    fb / used, used, pass ? "PASS" : "FAIL");
        if (!pass)
            return 1;
    }
    if (failed && !o.smoke)
        rc = rc ? rc : 3;
    return g_interrupted ? 130 : rc;
}
