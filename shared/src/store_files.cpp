// Data directory, key + store opening, crash-safe rekey and atomic file writes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "shenbao/store_files.h"

#include "secret_file.h"

namespace shenbao {

std::string default_data_dir() {
    if (const char* d = std::getenv("SHENBAO_DATA_DIR"); d && *d) return d;
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/shenbao";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : "/tmp") + "/.local/share/shenbao";
}

Status ensure_dir(const std::string& dir) {
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir.find('/', pos + 1);
        partial = dir.substr(0, pos);
        if (partial.empty()) continue;
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
            return Error{ErrorCode::Io, partial + ": cannot create the folder: " + std::strerror(errno)};
    }
    return ok_status();
}

Result<std::unique_ptr<Store>> open_store(const std::string& store_path, const std::string& key_path,
                                          bool create_if_missing, StoreOptions options) {
    const std::string pending = key_path + ".new";
    bool exists = ::access(store_path.c_str(), F_OK) == 0;
    if (!exists) {
        if (!create_if_missing) return Error{ErrorCode::Io, store_path + ": no such store file; create one with `shenbao-store init`"};
        if (::access(key_path.c_str(), F_OK) != 0) ::unlink(pending.c_str());
        auto key = load_or_create_key(key_path, true);
        if (!key.ok()) return key.error();
        return Store::create(store_path, *key, options);
    }
    auto key = load_or_create_key(key_path, false);
    if (!key.ok()) return key.error();
    auto store = Store::open(store_path, *key, options);
    bool has_pending = ::access(pending.c_str(), F_OK) == 0;
    if (store.ok()) {
        if (has_pending) ::unlink(pending.c_str());  // a rekey died before the store changed
        return store;
    }
    if (store.error().code != ErrorCode::WrongKey || !has_pending) return store;
    // A rekey died after the store changed but before the key file was replaced.
    auto fresh = read_key_file(pending);
    if (!fresh.ok()) return store;
    auto retry = Store::open(store_path, *fresh, options);
    if (!retry.ok()) return store;
    if (std::rename(pending.c_str(), key_path.c_str()) != 0)
        return Error{ErrorCode::Io, key_path + ": cannot finish an interrupted rekey: " + std::strerror(errno)};
    return retry;
}

Status rekey_store(Store& store, const std::string& key_path) {
    if (const char* d = std::getenv("CREDENTIALS_DIRECTORY"); d && *d)
        return Error{ErrorCode::KeyFile, "the store key comes from a systemd credential; rekey with a key file, then re-seal the credential"};
    const std::string pending = key_path + ".new";
    ::unlink(pending.c_str());
    StoreKey fresh = generate_store_key();
    SHENBAO_TRY(write_key_file(pending, fresh));
    Status st = store.rekey(fresh);
    if (!st.ok()) {
        ::unlink(pending.c_str());
        return st;
    }
    if (std::rename(pending.c_str(), key_path.c_str()) != 0)
        return Error{ErrorCode::Io, key_path + ": the store is rekeyed but the key file could not be replaced (" +
                                        std::strerror(errno) + "); the new key is in " + pending + " — keep it"};
    return ok_status();
}

Status write_file_atomic(const std::string& path, std::string_view bytes, mode_t mode) {
    std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return Error{ErrorCode::Io, path + ": cannot write here: " + std::strerror(errno)};
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error{e == ENOSPC ? ErrorCode::DiskFull : ErrorCode::Io, path + ": write failed: " + std::strerror(e) + "; nothing was replaced"};
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return Error{e == ENOSPC ? ErrorCode::DiskFull : ErrorCode::Io, path + ": write failed: " + std::strerror(e) + "; nothing was replaced"};
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return Error{ErrorCode::Io, path + ": cannot replace: " + std::strerror(e)};
    }
    detail::sync_parent_dir(path);
    return ok_status();
}

}  // namespace shenbao
