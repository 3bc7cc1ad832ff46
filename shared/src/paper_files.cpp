// Export files and printing: the atomic writer with folder-level error messages,
// file names, and handing a saved file to CUPS through its `lp` command.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <ctime>
#include <vector>

#include "shenbao/paper.h"

#include "secret_file.h"

extern char** environ;

namespace shenbao {

namespace {

std::string folder_of(const std::string& path) {
    std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// What went wrong with the export folder, in words staff can act on.
Error folder_error(const std::string& path, int err) {
    const std::string folder = folder_of(path);
    switch (err) {
        case ENOSPC: case EDQUOT:
            return {ErrorCode::DiskFull, "the export folder " + folder + " is full (no space left for " + path +
                                             "); free some space or choose another folder. Nothing was written"};
        case EROFS:
            return {ErrorCode::Io, "the export folder " + folder + " is read-only (" + path +
                                       " cannot be written); unlock the USB stick or choose a writable folder"};
        case EACCES: case EPERM:
            return {ErrorCode::Io, "no permission to write in the export folder " + folder +
                                       "; choose a folder this program may write to"};
        case ENOENT: case ENOTDIR:
            return {ErrorCode::Io, "the export folder " + folder +
                                       " does not exist; plug in the USB stick or set an existing folder"};
        default:
            return {ErrorCode::Io, "cannot write " + path + " in the export folder " + folder + ": " + std::strerror(err) +
                                       "; check the folder or choose another one"};
    }
}

constexpr int kTimedOut = -2;

// Runs argv[0] (looked up in PATH) without a shell; returns its exit status
// (-1 when it could not run, kTimedOut when it was killed after `timeout_ms`)
// and its standard output and error together. The limit matters: the kiosk
// waits for this, and lp can hang on a CUPS server that does not answer.
int run_program(const std::vector<std::string>& args, std::string* output, int timeout_ms) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        if (output) *output = std::strerror(rc);
        return -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    std::string out;
    bool timed_out = false;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;  // timeout: checked at the top
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the program closed its output: it is ending
        if (out.size() < 64 * 1024) out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (output) *output = std::string(detail::trim(out));
    if (timed_out) return kTimedOut;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string default_export_dir(const std::string& data_dir) { return data_dir + "/exports"; }

std::string summary_file_name(std::int64_t at_ms) {
    std::time_t t = static_cast<std::time_t>(at_ms / 1000);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "summary-%Y%m%d-%H%M%S.xlsx", &tm);
    return buf;
}

std::string application_file_name(const std::string& id) { return "application-" + id + ".pdf"; }

Status write_export_file(const std::string& path, std::string_view bytes) {
    // The temporary sits in the target folder so the rename cannot cross file systems.
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return folder_error(path, errno);
    auto fail = [&](int err) -> Status {
        ::close(fd);
        ::unlink(tmp.c_str());
        return folder_error(path, err);
    };
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(errno);
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return fail(errno);
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return folder_error(path, err);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return folder_error(path, err);
    }
    detail::sync_parent_dir(path);
    return ok_status();
}

std::string choose_printer(const std::string& configured) {
    if (!configured.empty()) return configured;
    std::string out;
    if (run_program({"lpstat", "-d"}, &out, 10'000) != 0) return "";
    // "system default destination: Office" (CUPS prints this in the C locale's words).
    const std::string marker = "destination: ";
    std::size_t at = out.find(marker);
    if (at == std::string::npos) return "";
    std::string name = out.substr(at + marker.size());
    return std::string(detail::trim(name.substr(0, name.find('\n'))));
}

Status print_file(const std::string& path, const std::string& printer) {
    if (printer.empty())
        return Error{ErrorCode::InvalidArgument, "no printer is configured; " + path + " is saved — print it from there"};
    std::string out;
    int rc = run_program({"lp", "-d", printer, "--", path}, &out, 30'000);
    if (rc == 0) return ok_status();
    if (rc == kTimedOut) out = "lp did not finish within 30 s (is the CUPS server reachable?)";
    if (rc < 0 && out.empty()) out = "the lp command could not run (is cups-client installed?)";
    return Error{ErrorCode::Io, "printing on \"" + printer + "\" failed: " + out + "; the file is saved at " + path};
}

}  // namespace shenbao
