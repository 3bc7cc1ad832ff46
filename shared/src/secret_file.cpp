#include "secret_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <sodium.h>

namespace shenbao::detail {

void sync_parent_dir(const std::string& path) {
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    if (dir.empty()) dir = "/";
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

Status write_secret_file(const std::string& path, std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        sodium_memzero(text.data(), text.size());
        return Error{e == EEXIST ? ErrorCode::KeyFile : ErrorCode::Io,
                     path + ": " + (e == EEXIST ? "refusing to overwrite an existing key file" : "cannot create the key file") +
                         ": " + std::strerror(e)};
    }
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    int saved = errno;
    ::close(fd);
    sodium_memzero(text.data(), text.size());
    if (!ok) {
        ::unlink(path.c_str());
        return Error{saved == ENOSPC ? ErrorCode::DiskFull : ErrorCode::Io,
                     path + ": cannot write the key file: " + std::strerror(saved)};
    }
    sync_parent_dir(path);
    return ok_status();
}

}  // namespace shenbao::detail
