// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-workload: guest-side memory workload generator for the fph
// (paravirtualized free-page hinting) end-to-end tests and benchmarks.
//
// Built as a static binary and shipped in the guest initramfs.  Every
// subcommand prints exactly one machine-readable result line on stdout:
//
//     <subcommand> key=value key=value ... ok|FAIL
//
// Exit status: 0 on success, 1 on failure (result line ends in FAIL),
// 2 on usage errors.
//
// Background holders (fragment, fill, churn) fork, do their setup in the
// child, report the setup result to the parent through a pipe and then stay
// alive; the parent prints the result line and exits.  Their pid files and
// result files live in $FPH_RUNDIR (default /run).
//
// The tool assumes 4 KiB base pages and transparent_hugepage=never in the
// guest (otherwise `fragment` frees nothing: a 2 MiB THP stays allocated
// until every 4 KiB piece of it is gone).

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <getopt.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kWords = kPage / sizeof(uint64_t);
constexpr size_t kMiB = 1024 * 1024;
constexpr uint64_t kFillMagic = 0x4650482d46494c4cULL;  // "FPH-FILL"

// ---------------------------------------------------------------- utilities

uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Small 64-bit hash over words (xxhash64-style round/avalanche).
uint64_t hash_words(const uint64_t* w, size_t n, uint64_t seed)
{
    constexpr uint64_t p1 = 0x9e3779b185ebca87ULL;
    constexpr uint64_t p2 = 0xc2b2ae3d27d4eb4fULL;
    uint64_t h = seed + p1;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = w[i] * p2;
        k = (k << 31) | (k >> 33);
        h ^= k * p1;
        h = ((h << 27) | (h >> 37)) * p1 + 0x85ebca77c2b2ae63ULL;
    }
    h ^= h >> 33;
    h *= p2;
    h ^= h >> 29;
    return h;
}

std::string rundir()
{
    const char* d = getenv("FPH_RUNDIR");
    return (d && *d) ? d : "/run";
}

std::string run_path(const char* name)
{
    return rundir() + "/" + name;
}

// Write a file atomically (tmp + rename) so readers never see half a line.
bool write_file_atomic(const std::string& path, const std::string& content)
{
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    size_t off = 0;
    while (off < content.size()) {
        ssize_t r = write(fd, content.data() + off, content.size() - off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return false;
        }
        off += static_cast<size_t>(r);
    }
    close(fd);
    return rename(tmp.c_str(), path.c_str()) == 0;
}

bool read_file(const std::string& path, std::string& out)
{
    FILE* f = fopen(path.c_str(), "re");
    if (!f)
        return false;
    out.clear();
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        out.append(buf, n);
    fclose(f);
    return true;
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return buf;
}

// Print the single result line and return the matching exit code.
int result(const std::string& line)
{
    printf("%s\n", line.c_str());
    fflush(stdout);
    bool ok = line.size() >= 3 && line.compare(line.size() - 3, 3, " ok") == 0;
    return ok ? 0 : 1;
}

void console_msg(const std::string& line)
{
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    std::string l = line + "\n";
    ssize_t r = write(fd, l.data(), l.size());
    (void)r;
    close(fd);
}

double now_s()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool parse_u64(const char* s, uint64_t& v)
{
    if (!s || !*s)
        return false;
    char* end = nullptr;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end || s[0] == '-')
        return false;
    v = x;
    return true;
}

void* map_anon(size_t bytes)
{
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return nullptr;
    // Keep the 4 KiB granularity fragment/hinting tests rely on even if
    // THP is enabled in the guest.
    madvise(p, bytes, MADV_NOHUGEPAGE);
    return p;
}

// Fill one page with non-zero pseudo-random words derived from (seed, idx).
void fill_random_page(uint64_t* w, uint64_t seed, uint64_t idx)
{
    uint64_t st = seed ^ (idx * 0xd1342543de82ef95ULL);
    for (size_t i = 0; i < kWords; i++)
        w[i] = splitmix64(st) | 1;  // |1: never a zero word
}

// ------------------------------------------------------------ pid handling

pid_t read_pid(const std::string& pidfile)
{
    std::string s;
    if (!read_file(pidfile, s))
        return -1;
    uint64_t v;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    if (!parse_u64(s.c_str(), v) || v == 0 || v > 0x7fffffff)
        return -1;
    return static_cast<pid_t>(v);
}

// Alive and not a zombie (init in the guest may be slow to reap).
bool pid_alive(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) != 0)
        return false;
    std::string stat;
    if (!read_file(fmt("/proc/%d/stat", pid), stat))
        return true;  // no /proc: trust kill()
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size())
        return true;
    char st = stat[rp + 2];
    return st != 'Z' && st != 'X';
}

// SIGTERM the holder recorded in pidfile and wait up to 30 s for it to go.
bool stop_holder(const std::string& pidfile)
{
    pid_t pid = read_pid(pidfile);
    if (pid <= 0 || !pid_alive(pid)) {
        unlink(pidfile.c_str());
        return false;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 3000 && pid_alive(pid); i++) {
        waitpid(pid, nullptr, WNOHANG);
        usleep(10000);
    }
    if (pid_alive(pid)) {
        kill(pid, SIGKILL);
        usleep(100000);
    }
    unlink(pidfile.c_str());
    return true;
}

// Fork a holder.  `setup` runs in the child and returns the result line; it
// is sent to the parent, which prints it and exits.  If the line ends in
// " ok", the child writes `pidfile`, detaches and runs `hold` (which does not
// return); otherwise the child exits.
template <typename Setup, typename Hold>
int spawn_holder(const std::string& pidfile, bool foreground, Setup setup, Hold hold)
{
    if (foreground) {
        std::string line = setup();
        int rc = result(line);
        if (rc)
            return rc;
        write_file_atomic(pidfile, fmt("%d\n", getpid()));
        hold();
        return 0;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return result(fmt("spawn FAIL error=pipe errno=%d", errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return result(fmt("spawn FAIL error=fork errno=%d", errno));
    if (pid == 0) {
        close(pfd[0]);
        setsid();
        std::string line = setup();
        bool ok = line.size() >= 3 && line.compare(line.size() - 3, 3, " ok") == 0;
        if (ok) {
            write_file_atomic(pidfile, fmt("%d\n", getpid()));
            // Insert pid=N before the trailing " ok".
            line = line.substr(0, line.size() - 3) + fmt(" pid=%d ok", getpid());
        }
        std::string msg = line + "\n";
        ssize_t r = write(pfd[1], msg.data(), msg.size());
        (void)r;
        close(pfd[1]);
        if (!ok)
            _exit(1);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
            if (devnull > 2)
                close(devnull);
        }
        if (chdir("/") != 0) {
        }
        hold();
        _exit(0);
    }
    close(pfd[1]);
    std::string line;
    char buf[512];
    for (;;) {
        ssize_t r = read(pfd[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        line.append(buf, static_cast<size_t>(r));
    }
    close(pfd[0]);
    while (!line.empty() && line.back() == '\n')
        line.pop_back();
    if (line.empty()) {
        int st = 0;
        waitpid(pid, &st, 0);
        return result(fmt("spawn FAIL error=holder-died status=%d", st));
    }
    // Reap a failed child; a healthy one keeps running.
    waitpid(pid, nullptr, WNOHANG);
    return result(line);
}

// Block signals handled synchronously by holders (sigwaitinfo loop).
sigset_t holder_sigset()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

// -------------------------------------------------------------------- dirty

int cmd_dirty(uint64_t mib, uint64_t seed)
{
    size_t bytes = mib * kMiB;
    double t0 = now_s();
    auto* p = static_cast<uint8_t*>(map_anon(bytes));
    if (!p)
        return result(
            fmt("dirty mib=%llu FAIL error=mmap errno=%d", (unsigned long long)mib, errno));
    size_t pages = bytes / kPage;
    for (size_t i = 0; i < pages; i++)
        fill_random_page(reinterpret_cast<uint64_t*>(p + i * kPage), seed, i);
    munmap(p, bytes);
    double dt = now_s() - t0;
    return result(
        fmt("dirty mib=%llu pages=%zu seconds=%.3f ok", (unsigned long long)mib, pages, dt));
}

// ----------------------------------------------------------------- fragment

int cmd_fragment(uint64_t mib, bool hold_fg, uint64_t seed)
{
    std::string pidfile = run_path("fragment.pid");
    stop_holder(pidfile);
    auto setup = [=]() -> std::string {
        size_t bytes = mib * kMiB;
        auto* p = static_cast<uint8_t*>(map_anon(bytes));
        if (!p)
            return fmt("fragment mib=%llu FAIL error=mmap errno=%d", (unsigned long long)mib,
                       errno);
        size_t pages = bytes / kPage, freed = 0;
        for (size_t i = 0; i < pages; i++)
            fill_random_page(reinterpret_cast<uint64_t*>(p + i * kPage), seed, i);
        for (size_t i = 1; i < pages; i += 2) {
            if (madvise(p + i * kPage, kPage, MADV_DONTNEED) != 0)
                return fmt("fragment mib=%llu FAIL error=madvise errno=%d", (unsigned long long)mib,
                           errno);
            freed++;
        }
        return fmt("fragment mib=%llu pages=%zu kept_pages=%zu freed_pages=%zu ok",
                   (unsigned long long)mib, pages, pages - freed, freed);
    };
    auto hold = [pidfile]() {
        sigset_t set = holder_sigset();
        sigprocmask(SIG_BLOCK, &set, nullptr);
        for (;;) {
            int sig = sigwaitinfo(&set, nullptr);
            if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
                break;
        }
        unlink(pidfile.c_str());
    };
    return spawn_holder(pidfile, hold_fg, setup, hold);
}

// --------------------------------------------------------------------- fill
//
// Page layout: w[0] magic, w[1] page index, w[2] seed,
// w[3..510] pseudo-random, w[511] hash of w[0..510].

void fill_page(uint64_t* w, uint64_t idx, uint64_t seed)
{
    uint64_t st = seed ^ (idx * 0xd1342543de82ef95ULL) ^ 0x5555;
    w[0] = kFillMagic;
    w[1] = idx;
    w[2] = seed;
    for (size_t i = 3; i < kWords - 1; i++)
        w[i] = splitmix64(st) | 1;
    w[kWords - 1] = hash_words(w, kWords - 1, seed);
}

bool check_page(const uint64_t* w, uint64_t idx, uint64_t seed)
{
    return w[0] == kFillMagic && w[1] == idx && w[2] == seed &&
           w[kWords - 1] == hash_words(w, kWords - 1, seed);
}

int cmd_fill(uint64_t mib, bool hold_fg, uint64_t seed)
{
    std::string pidfile = run_path("fill.pid");
    std::string resfile = run_path("fill.result");
    stop_holder(pidfile);
    unlink(resfile.c_str());
    size_t bytes = mib * kMiB, pages = bytes / kPage;
    uint8_t* mem = nullptr;
    auto setup = [&]() -> std::string {
        mem = static_cast<uint8_t*>(map_anon(bytes));
        if (!mem)
            return fmt("fill mib=%llu FAIL error=mmap errno=%d", (unsigned long long)mib, errno);
        double t0 = now_s();
        for (size_t i = 0; i < pages; i++)
            fill_page(reinterpret_cast<uint64_t*>(mem + i * kPage), i, seed);
        return fmt("fill mib=%llu pages=%zu seed=%llu seconds=%.3f ok", (unsigned long long)mib,
                   pages, (unsigned long long)seed, now_s() - t0);
    };
    auto hold = [&]() {
        sigset_t set = holder_sigset();
        sigprocmask(SIG_BLOCK, &set, nullptr);
        unsigned long rounds = 0;
        for (;;) {
            int sig = sigwaitinfo(&set, nullptr);
            if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
                break;
            if (sig != SIGUSR1)
                continue;
            double t0 = now_s();
            size_t bad = 0, first_bad = 0;
            for (size_t i = 0; i < pages; i++) {
                if (!check_page(reinterpret_cast<uint64_t*>(mem + i * kPage), i, seed)) {
                    if (!bad)
                        first_bad = i;
                    bad++;
                }
            }
            rounds++;
            std::string line;
            if (bad == 0)
                line = fmt("verify pages=%zu bad=0 round=%lu seconds=%.3f ok", pages, rounds,
                           now_s() - t0);
            else {
                const uint64_t* w = reinterpret_cast<uint64_t*>(mem + first_bad * kPage);
                line = fmt("verify pages=%zu bad=%zu round=%lu first_bad=%zu "
                           "first_bad_w0=0x%llx first_bad_w1=0x%llx FAIL",
                           pages, bad, rounds, first_bad, (unsigned long long)w[0],
                           (unsigned long long)w[1]);
                console_msg("fph-workload: " + line);
            }
            write_file_atomic(resfile, line + "\n");
        }
        unlink(pidfile.c_str());
    };
    return spawn_holder(pidfile, hold_fg, setup, hold);
}

int cmd_verify(double timeout_s)
{
    std::string pidfile = run_path("fill.pid");
    std::string resfile = run_path("fill.result");
    pid_t pid = read_pid(pidfile);
    if (pid <= 0 || !pid_alive(pid))
        return result("verify FAIL error=no-fill-holder");
    unlink(resfile.c_str());
    if (kill(pid, SIGUSR1) != 0)
        return result(fmt("verify FAIL error=kill errno=%d", errno));
    double deadline = now_s() + timeout_s;
    std::string line;
    while (now_s() < deadline) {
        if (read_file(resfile, line) && !line.empty()) {
            while (!line.empty() && line.back() == '\n')
                line.pop_back();
            return result(line);
        }
        if (!pid_alive(pid))
            return result("verify FAIL error=holder-died");
        usleep(20000);
    }
    return result(fmt("verify FAIL error=timeout seconds=%.0f", timeout_s));
}

// -------------------------------------------------------------------- churn

volatile sig_atomic_t g_stop = 0;
void on_stop(int)
{
    g_stop = 1;
}

struct Chunk {
    uint8_t* p;
    size_t bytes;
    uint64_t seed;
    uint64_t sum;
};

uint64_t chunk_write(Chunk& c)
{
    uint64_t st = c.seed;
    uint64_t h = 0;
    size_t pages = c.bytes / kPage;
    for (size_t i = 0; i < pages; i++) {
        auto* w = reinterpret_cast<uint64_t*>(c.p + i * kPage);
        w[0] = c.seed ^ i;  // ties each page to its chunk and position
        for (size_t k = 1; k < kWords; k++)
            w[k] = splitmix64(st) | 1;
        h = hash_words(w, kWords, h);
    }
    return h;
}

uint64_t chunk_sum(const Chunk& c)
{
    uint64_t h = 0;
    size_t pages = c.bytes / kPage;
    for (size_t i = 0; i < pages; i++)
        h = hash_words(reinterpret_cast<const uint64_t*>(c.p + i * kPage), kWords, h);
    return h;
}

struct ChurnStats {
    uint64_t iterations = 0, allocs = 0, frees = 0, verified = 0, bad = 0;
    uint64_t bytes_written = 0;
    std::string first_error;
};

std::string churn_line(const ChurnStats& s, uint64_t mib, double elapsed, const char* state)
{
    std::string l =
        fmt("churn iterations=%llu allocs=%llu frees=%llu verified=%llu "
            "bad=%llu written_mib=%llu limit_mib=%llu seconds=%.1f state=%s",
            (unsigned long long)s.iterations, (unsigned long long)s.allocs,
            (unsigned long long)s.frees, (unsigned long long)s.verified, (unsigned long long)s.bad,
            (unsigned long long)(s.bytes_written / kMiB), (unsigned long long)mib, elapsed, state);
    if (s.bad)
        l += " " + s.first_error + " FAIL";
    else
        l += " ok";
    return l;
}

// rate_mib_s > 0 paces the writer to that many MiB/s, so that a migration
// of the churning guest can converge at a given bandwidth; 0 writes flat out.
int cmd_churn(uint64_t mib, uint64_t seconds, uint64_t rate_mib_s, bool fg, uint64_t seed)
{
    std::string pidfile = run_path("churn.pid");
    std::string resfile = run_path("churn.result");
    stop_holder(pidfile);
    unlink(resfile.c_str());
    if (mib < 8)
        return result(
            fmt("churn mib=%llu FAIL error=need-at-least-8-mib", (unsigned long long)mib));
    auto setup = [&]() -> std::string {
        std::string l = fmt("churn mib=%llu seconds=%llu rate_mib_s=%llu seed=%llu started ok",
                            (unsigned long long)mib, (unsigned long long)seconds,
                            (unsigned long long)rate_mib_s, (unsigned long long)seed);
        write_file_atomic(resfile, churn_line(ChurnStats{}, mib, 0, "running") + "\n");
        return l;
    };
    auto hold = [&]() {
        struct sigaction sa = {};
        sa.sa_handler = on_stop;
        sigaction(SIGTERM, &sa, nullptr);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGHUP, &sa, nullptr);
        uint64_t rng = seed * 0x2545f4914f6cdd1dULL + 1;
        std::vector<Chunk> live;
        size_t live_bytes = 0, limit = mib * kMiB;
        ChurnStats s;
        double t0 = now_s(), last_report = t0;
        auto verify = [&](const Chunk& c) {
            s.verified++;
            if (chunk_sum(c) != c.sum) {
                size_t pages = c.bytes / kPage, badpage = pages;
                for (size_t i = 0; i < pages; i++) {
                    auto* w = reinterpret_cast<const uint64_t*>(c.p + i * kPage);
                    if (w[0] != (c.seed ^ i)) {
                        badpage = i;
                        break;
                    }
                }
                s.bad++;
                if (s.first_error.empty())
                    s.first_error =
                        fmt("first_bad_chunk_kib=%zu first_bad_page=%zd", c.bytes / 1024,
                            badpage == pages ? (ssize_t)-1 : (ssize_t)badpage);
                console_msg(fmt("churn FAIL chunk_kib=%zu seed=0x%llx bad_page=%zd", c.bytes / 1024,
                                (unsigned long long)c.seed,
                                badpage == pages ? (ssize_t)-1 : (ssize_t)badpage));
            }
        };
        auto free_chunk = [&](size_t idx) {
            verify(live[idx]);
            munmap(live[idx].p, live[idx].bytes);
            live_bytes -= live[idx].bytes;
            live[idx] = live.back();
            live.pop_back();
            s.frees++;
        };
        while (!g_stop) {
            double now = now_s();
            if (seconds && now - t0 >= static_cast<double>(seconds))
                break;
            if (now - last_report >= 1.0) {
                write_file_atomic(resfile, churn_line(s, mib, now - t0, "running") + "\n");
                last_report = now;
            }
            s.iterations++;
            // 4 KiB .. 4 MiB, log-uniform so small chunks are common.
            uint64_t r = splitmix64(rng);
            size_t max_pages = static_cast<size_t>(1) << (r % 11);  // 1..1024
            size_t pages = 1 + static_cast<size_t>((r >> 8) % max_pages);
            size_t bytes = pages * kPage;
            while (!live.empty() && (live_bytes + bytes > limit || splitmix64(rng) % 4 == 0))
                free_chunk(static_cast<size_t>(splitmix64(rng) % live.size()));
            if (!live.empty() && splitmix64(rng) % 8 == 0)
                verify(live[static_cast<size_t>(splitmix64(rng) % live.size())]);
            Chunk c{static_cast<uint8_t*>(map_anon(bytes)), bytes, splitmix64(rng), 0};
            if (!c.p) {
                usleep(10000);
                continue;
            }
            c.sum = chunk_write(c);
            s.bytes_written += bytes;
            s.allocs++;
            live.push_back(c);
            live_bytes += bytes;
            if (rate_mib_s) {
                double due = t0 + static_cast<double>(s.bytes_written) /
                                      static_cast<double>(rate_mib_s * kMiB);
                double ahead = due - now_s();
                if (ahead > 0)
                    usleep(static_cast<useconds_t>(ahead * 1e6));
            }
        }
        while (!live.empty())
            free_chunk(live.size() - 1);
        write_file_atomic(resfile,
                          churn_line(s, mib, now_s() - t0, g_stop ? "stopped" : "finished") + "\n");
        unlink(pidfile.c_str());
    };
    return spawn_holder(pidfile, fg, setup, hold);
}

int cmd_churn_status()
{
    std::string line;
    if (!read_file(run_path("churn.result"), line) || line.empty())
        return result("churn FAIL error=no-result");
    while (!line.empty() && line.back() == '\n')
        line.pop_back();
    return result(line);
}

// ------------------------------------------------------------------ meminfo

int cmd_meminfo()
{
    std::string s;
    if (!read_file("/proc/meminfo", s))
        return result("meminfo FAIL error=no-proc-meminfo");
    auto field = [&](std::string_view key) -> long long {
        size_t pos = 0;
        while (pos < s.size()) {
            size_t eol = s.find('\n', pos);
            if (eol == std::string::npos)
                eol = s.size();
            std::string_view line(s.data() + pos, eol - pos);
            if (line.size() > key.size() && line.substr(0, key.size()) == key &&
                line[key.size()] == ':')
                return atoll(std::string(line.substr(key.size() + 1)).c_str());
            pos = eol + 1;
        }
        return -1;
    };
    long long total = field("MemTotal"), free_ = field("MemFree"), avail = field("MemAvailable");
    if (total < 0 || free_ < 0)
        return result("meminfo FAIL error=parse");
    return result(fmt("meminfo memtotal_kib=%lld memfree_kib=%lld memavailable_kib=%lld "
                      "used_kib=%lld ok",
                      total, free_, avail, total - free_));
}

// --------------------------------------------------------------------- stop

int cmd_stop(const std::string& what)
{
    if (what != "fill" && what != "fragment" && what != "churn")
        return result("stop FAIL error=unknown-holder");
    bool was = stop_holder(run_path((what + ".pid").c_str()));
    return result(fmt("stop holder=%s was_running=%d ok", what.c_str(), was ? 1 : 0));
}

void usage()
{
    fprintf(stderr,
            "usage: fph-workload COMMAND [ARGS]\n"
            "  dirty MIB                 write MIB of non-zero data, then munmap it\n"
            "  fragment MIB [--hold]     fill MIB, free every other 4 KiB page, hold the rest\n"
            "  fill MIB [--hold]         fill MIB with checksummed pages, hold them\n"
            "  verify [TIMEOUT_S]        ask the fill holder to verify every page\n"
            "  churn [MIB] [SECONDS] [--hold] [--rate=MIB_PER_S]\n"
            "                            alloc/verify/free loop (default 64 MiB, 0 = forever;\n"
            "                            --rate paces the writer, default 0 = flat out)\n"
            "  churn-status              print the churn result so far\n"
            "  stop fill|fragment|churn  stop a background holder\n"
            "  meminfo                   print /proc/meminfo totals\n"
            "options: --seed=N; env FPH_RUNDIR (default /run) for pid/result files\n");
}

}  // namespace

int main(int argc, char** argv)
{
    enum { kHold = 256, kSeed, kRate };
    static const option kOptions[] = {
        {"hold", no_argument, nullptr, kHold},
        {"seed", required_argument, nullptr, kSeed},
        {"rate", required_argument, nullptr, kRate},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    bool hold = false;
    uint64_t seed = 0x1234, rate = 0;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "h", kOptions, nullptr)) != -1;) {
        switch (c) {
        case kHold:
            hold = true;
            break;
        case kSeed:
        case kRate:
            if (!parse_u64(optarg, c == kSeed ? seed : rate)) {
                usage();
                return 2;
            }
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    // getopt_long has moved the operands (command and numbers) to the end.
    const std::vector<std::string> args(argv + optind, argv + argc);
    if (args.empty()) {
        usage();
        return 2;
    }
    const std::string& cmd = args[0];
    auto num = [&](size_t i, uint64_t def, uint64_t& out) -> bool {
        if (args.size() <= i) {
            out = def;
            return def != UINT64_MAX;
        }
        return parse_u64(args[i].c_str(), out);
    };
    uint64_t a = 0, b = 0;
    const uint64_t kRequired = UINT64_MAX;
    if (cmd == "dirty" && args.size() == 2 && num(1, kRequired, a) && a > 0)
        return cmd_dirty(a, seed);
    if (cmd == "fragment" && args.size() == 2 && num(1, kRequired, a) && a > 0)
        return cmd_fragment(a, hold, seed);
    if (cmd == "fill" && args.size() == 2 && num(1, kRequired, a) && a > 0)
        return cmd_fill(a, hold, seed);
    if (cmd == "verify" && args.size() <= 2 && num(1, 600, a))
        return cmd_verify(static_cast<double>(a));
    if (cmd == "churn" && args.size() <= 3 && num(1, 64, a) && num(2, 0, b))
        return cmd_churn(a, b, rate, hold, seed);
    if (cmd == "churn-status" && args.size() == 1)
        return cmd_churn_status();
    if (cmd == "stop" && args.size() == 2)
        return cmd_stop(args[1]);
    if (cmd == "meminfo" && args.size() == 1)
        return cmd_meminfo();
    usage();
    return 2;
}
