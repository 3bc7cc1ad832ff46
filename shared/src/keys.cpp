// Store keys: generation, the 0600 key file, and systemd credentials.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sodium.h>

#include "shenbao/keys.h"

#include "secret_file.h"

namespace shenbao {
namespace {

std::string sys_error(const std::string& path, const char* what) {
    return path + ": " + what + ": " + std::strerror(errno);
}

bool ensure_sodium() {
    static const bool ok = sodium_init() >= 0;
    return ok;
}

}  // namespace

std::string StoreKey::hex() const {
    char buf[65];
    sodium_bin2hex(buf, sizeof buf, bytes.data(), bytes.size());
    std::string out(buf, 64);
    sodium_memzero(buf, sizeof buf);
    return out;
}

std::string StoreKey::pragma_literal() const { return "\"x'" + hex() + "'\""; }

StoreKey::~StoreKey() { sodium_memzero(bytes.data(), bytes.size()); }

StoreKey generate_store_key() {
    ensure_sodium();
    StoreKey k;
    randombytes_buf(k.bytes.data(), k.bytes.size());
    return k;
}

Result<StoreKey> read_key_file(const std::string& path) {
    ensure_sodium();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the store key file")};
    char buf[130];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n < 0) return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the store key file")};
    std::size_t len = static_cast<std::size_t>(n);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) --len;
    StoreKey k;
    std::size_t bin_len = 0;
    if (len != 64 || sodium_hex2bin(k.bytes.data(), k.bytes.size(), buf, len, nullptr, &bin_len, nullptr) != 0 ||
        bin_len != 32) {
        sodium_memzero(buf, sizeof buf);
        return Error{ErrorCode::KeyFile, path + ": not a store key file (expected 64 hexadecimal characters); "
                                                "restore the kiosk's key file from its backup"};
    }
    sodium_memzero(buf, sizeof buf);
    return k;
}

Status write_key_file(const std::string& path, const StoreKey& key) {
    std::string text = key.hex() + "\n";
    return detail::write_secret_file(path, text);
}

Result<StoreKey> load_or_create_key(const std::string& key_path, bool create_if_missing) {
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
        std::string cred = std::string(dir) + "/" + kStoreKeyCredential;
        if (::access(cred.c_str(), F_OK) == 0) return read_key_file(cred);
    }
    if (::access(key_path.c_str(), F_OK) == 0) return read_key_file(key_path);
    if (!create_if_missing)
        return Error{ErrorCode::KeyFile, key_path + ": no store key file (and no " + kStoreKeyCredential +
                                             " credential); pass --key-file or restore the key"};
    StoreKey k = generate_store_key();
    SHENBAO_TRY(write_key_file(key_path, k));
    return k;
}

Result<std::string> hash_pin(const std::string& pin) {
    ensure_sodium();
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, pin.data(), pin.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return Error{ErrorCode::Internal, "not enough memory to hash the PIN"};
    return std::string(hash);
}

bool verify_pin(const std::string& hash, const std::string& pin) {
    ensure_sodium();
    return crypto_pwhash_str_verify(hash.c_str(), pin.data(), pin.size()) == 0;
}

}  // namespace shenbao
