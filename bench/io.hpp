// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: small POSIX helpers -- unix stream sockets with timeouts, child
// processes (QEMU), monotonic time.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fphbench {

inline double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

inline void sleep_s(double s) {
    if (s > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

inline std::string errno_str(const char *what) {
    return std::string(what) + ": " + std::strerror(errno);
}

// A connected AF_UNIX stream socket (non-blocking, used with poll()).
class UnixStream {
public:
    UnixStream() = default;
    // Connects, retrying until the socket exists and listens or timeout_s passes.
    UnixStream(const std::string &path, double timeout_s) {
        double deadline = now_s() + timeout_s;
        std::string last;
        for (;;) {
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                throw std::runtime_error(errno_str("socket"));
            sockaddr_un sa{};
            sa.sun_family = AF_UNIX;
            if (path.size() >= sizeof(sa.sun_path)) {
                close(fd);
                throw std::runtime_error("socket path too long: " + path);
            }
            std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
            if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == 0) {
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                fd_ = fd;
                return;
            }
            last = errno_str("connect");
            close(fd);
            if (now_s() > deadline)
                throw std::runtime_error("cannot connect to " + path + ": " + last);
            sleep_s(0.05);
        }
    }
    UnixStream(const UnixStream &) = delete;
    UnixStream &operator=(const UnixStream &) = delete;
    UnixStream(UnixStream &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    UnixStream &operator=(UnixStream &&o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.fd_;
            o.fd_ = -1;
        }
        return *this;
    }
    ~UnixStream() { reset(); }

    void reset() {
        if (fd_ >= 0)
            close(fd_);
        fd_ = -1;
    }
    bool ok() const { return fd_ >= 0; }

    void send_all(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n > 0) {
                data.remove_prefix(static_cast<size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                pollfd p{fd_, POLLOUT, 0};
                poll(&p, 1, 1000);
                continue;
            }
            throw std::runtime_error(errno_str("send"));
        }
    }

    // Appends what arrives within timeout_s to buf.  Returns false on EOF.
    bool recv_some(std::string &buf, double timeout_s) {
        pollfd p{fd_, POLLIN, 0};
        int ms = timeout_s <= 0 ? 0 : static_cast<int>(timeout_s * 1000) + 1;
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR)
            throw std::runtime_error(errno_str("poll"));
        if (r <= 0)
            return true;
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
        if (n == 0)
            return false;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return true;
            if (errno == ECONNRESET)
                return false;
            throw std::runtime_error(errno_str("recv"));
        }
        buf.append(tmp, static_cast<size_t>(n));
        return true;
    }

private:
    int fd_ = -1;
};

// A child process (QEMU) with stdout+stderr in a log file.  It gets SIGKILL
// if fph-bench dies, and is killed by the destructor.
class Child {
public:
    Child() = default;
    Child(const std::vector<std::string> &argv, const std::string &log_path) {
        std::vector<char *> av;
        for (const auto &a : argv)
            av.push_back(const_cast<char *>(a.c_str()));
        av.push_back(nullptr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
            throw std::runtime_error(errno_str("fork"));
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(127);
            int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int nul = open("/dev/null", O_RDONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            if (nul >= 0)
                dup2(nul, 0);
            execvp(av[0], av.data());
            _exit(127);
        }
        pid_ = pid;
    }
    Child(const Child &) = delete;
    Child &operator=(const Child &) = delete;
    Child(Child &&o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }
    Child &operator=(Child &&o) noexcept {
        if (this != &o) {
            kill();
            pid_ = o.pid_;
            status_ = o.status_;
            o.pid_ = -1;
        }
        return *this;
    }
    ~Child() { kill(); }

    pid_t pid() const { return pid_; }

    // True while the process has not exited.
    bool running() {
        if (pid_ <= 0)
            return false;
        int st = 0;
        pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = st;
            pid_ = -1;
            return false;
        }
        return true;
    }

    void kill() {
        if (pid_ <= 0)
            return;
        ::kill(pid_, SIGKILL);
        int st = 0;
        while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        status_ = st;
        pid_ = -1;
    }

    int status() const { return status_; }

private:
    pid_t pid_ = -1;
    int status_ = 0;
};

}  // namespace fphbench
