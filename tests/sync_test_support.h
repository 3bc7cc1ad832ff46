// Helpers of the sync tests: child processes (node, shenbao-intake) and a
// small TCP proxy on 127.0.0.1 that cuts or stalls connections on purpose.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test {

// A child process with its stdout on a pipe (stderr inherited); SIGTERM, then
// SIGKILL, at scope exit.
class Child {
public:
    // With `merge_stderr`, the child's stderr goes to the same pipe as its stdout;
    // with `stderr_path`, it is appended to that file.
    explicit Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}, bool merge_stderr = false,
                   const std::string& stderr_path = "") {
        int out[2], in[2];
        if (::pipe(out) != 0 || ::pipe(in) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            if (merge_stderr) ::dup2(out[1], 2);
            if (!stderr_path.empty()) {
                int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (fd >= 0) ::dup2(fd, 2);
            }
            ::dup2(in[0], 0);
            ::close(out[0]);
            ::close(out[1]);
            ::close(in[0]);
            ::close(in[1]);
            for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
            std::vector<char*> args;
            for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(in[0]);
        out_ = out[0];
        in_ = in[1];
    }
    ~Child() { stop(); }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    // Reads stdout until a line starting with `prefix`; the rest of that line, or "" on timeout/exit.
    std::string wait_line(const std::string& prefix, int timeout_ms = 20000) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            for (std::size_t nl; (nl = buf_.find('\n')) != std::string::npos;) {
                std::string line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                output_ += line + "\n";
                if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
            if (left <= 0) return "";
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
            char tmp[4096];
            ssize_t n = ::read(out_, tmp, sizeof tmp);
            if (n <= 0) return "";
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }
    std::string output() const { return output_ + buf_; }

    // Waits up to `timeout_ms` for the child to exit, collecting its output;
    // its exit code, 128+signal when killed, or -1 while it still runs.
    int wait_exit(int timeout_ms) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            drain(20);
            int status = 0;
            if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                drain(0);
                exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return exit_;
            }
            if (pid_ <= 0) return exit_;
            if (std::chrono::steady_clock::now() >= until) return -1;
        }
    }

    // Reads what the child wrote so far (waits up to `ms` for the first bytes).
    void drain(int ms) {
        while (out_ >= 0) {
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, ms) <= 0) return;
            char tmp[4096];
            ssize_t n = ::read(out_, tmp, sizeof tmp);
            if (n <= 0) return;
            buf_.append(tmp, static_cast<std::size_t>(n));
            ms = 0;
        }
    }

    // Sends `sig`; waits for the exit and returns the wait status (-1 if none).
    int kill_and_wait(int sig) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, sig);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }
    void stop() {
        if (in_ >= 0) ::close(in_), in_ = -1;
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            for (int i = 0; i < 50; ++i) {
                int status;
                if (::waitpid(pid_, &status, WNOHANG) == pid_) { pid_ = -1; break; }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            if (pid_ > 0) kill_and_wait(SIGKILL);
        }
        if (out_ >= 0) ::close(out_), out_ = -1;
    }

private:
    pid_t pid_ = -1;
    int out_ = -1, in_ = -1;
    int exit_ = -1;
    std::string buf_, output_;
};

// A listening TCP socket on 127.0.0.1, any free port (written to `port`).
// A socket bound to a free port on 127.0.0.1 (set in `port`), not listening:
// while it is open, connections to that port are refused and no one else can
// take it — a dead server that a parallel test cannot bring to life.
inline int bind_loopback(int& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

// Closes a file descriptor at the end of its scope.
struct OwnedFd {
    int fd = -1;
    explicit OwnedFd(int f) : fd(f) {}
    ~OwnedFd() {
        if (fd >= 0) ::close(fd);
    }
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
};

inline int listen_loopback(int backlog, int& port) {
    int fd = bind_loopback(port);
    ::listen(fd, backlog);
    return fd;
}

// A TCP connection to 127.0.0.1:port; -1 when nothing listens there.
inline int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Listens on 127.0.0.1 (a free port) and forwards each connection to
// 127.0.0.1:upstream (changeable: a server restarted on another port).
// Faults on demand, each for the next `n` connections: cut after a number of
// bytes from the client (the middle of a request body) or from the server (a
// truncated answer), optionally after stalling that long first (a link that
// goes silent without closing).
class TcpProxy {
public:
    struct Fault {
        long long after_client_bytes = -1;  // -1: no limit that way
        long long after_server_bytes = -1;
        int stall_ms = 0;                   // silence before the cut
    };

    explicit TcpProxy(int upstream_port) : upstream_(upstream_port) {
        listen_ = listen_loopback(64, port_);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~TcpProxy() {
        stop_ = true;
        acceptor_.join();
        std::lock_guard<std::mutex> lock(mu_);
        for (std::thread& t : pipes_) t.join();
        ::close(listen_);
    }
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    int port() const { return port_; }
    void set_upstream(int port) { upstream_ = port; }
    // The next `connections` connections suffer `fault`.
    void fault(Fault f, int connections) {
        std::lock_guard<std::mutex> lock(mu_);
        fault_ = f;
        faults_left_ = connections;
    }
    // The next `connections` connections close after `client_bytes` bytes from the client.
    void cut_after(long long client_bytes, int connections) { fault(Fault{client_bytes, -1, 0}, connections); }
    int cuts_done() const { return cuts_done_; }
    int connections() const { return connections_; }
    // The most connections that were open through the proxy at one time.
    int max_open() const { return max_open_; }
    long long client_bytes() const { return client_bytes_; }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{listen_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            int c = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            ++connections_;
            std::lock_guard<std::mutex> lock(mu_);
            Fault f;
            if (faults_left_ > 0) {
                --faults_left_;
                f = fault_;
            }
            pipes_.emplace_back([this, c, f] { forward(c, f); });
        }
    }
    void forward(int client, Fault f) {
        int up = connect_loopback(upstream_.load());
        if (up < 0) {
            ::close(client);
            return;
        }
        int open = ++open_;
        for (int seen = max_open_.load(); open > seen && !max_open_.compare_exchange_weak(seen, open);) {
        }
        long long from_client = 0, from_server = 0;
        char buf[16384];
        auto limit = [](long long cap, long long done, std::size_t want) {
            return cap < 0 ? want : static_cast<std::size_t>(std::min<long long>(static_cast<long long>(want), cap - done));
        };
        bool faulted = false;
        while (!stop_ && !faulted) {
            pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
            if (::poll(p, 2, 100) <= 0) continue;
            if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                std::size_t want = limit(f.after_client_bytes, from_client, sizeof buf);
                ssize_t n = want ? ::read(client, buf, want) : 0;
                if (n <= 0) break;
                if (::send(up, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
                from_client += n;
                client_bytes_ += n;
                faulted = f.after_client_bytes >= 0 && from_client >= f.after_client_bytes;
            }
            if (!faulted && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                std::size_t want = limit(f.after_server_bytes, from_server, sizeof buf);
                ssize_t n = want ? ::read(up, buf, want) : 0;
                if (n <= 0) break;
                if (::send(client, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
                from_server += n;
                faulted = f.after_server_bytes >= 0 && from_server >= f.after_server_bytes;
            }
        }
        if (faulted) {
            ++cuts_done_;
            for (int waited = 0; waited < f.stall_ms && !stop_; waited += 50)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        --open_;
        ::close(up);
        ::close(client);
    }

    std::atomic<int> upstream_;
    int listen_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    Fault fault_;
    int faults_left_ = 0;
    std::atomic<int> cuts_done_{0}, connections_{0}, open_{0}, max_open_{0};
    std::atomic<long long> client_bytes_{0};
    std::mutex mu_;
    std::vector<std::thread> pipes_;
    std::thread acceptor_;
};

}  // namespace test
