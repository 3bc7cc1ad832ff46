// Kiosk identity and commission key pair: generation, 0600 key files, text encodings.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <sodium.h>

#include "shenbao/crypto.h"

#include "secret_file.h"

namespace shenbao {
namespace {

using detail::ensure_sodium;
using detail::to_base64;
using detail::to_hex;
using detail::trim;

// 32 bytes from 64 hex or 44 base64 characters.
bool decode_key32(std::string_view text, std::array<std::uint8_t, 32>& out) {
    text = trim(text);
    std::size_t bin_len = 0;
    const char* end = nullptr;
    if (text.size() == 64)
        return sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &bin_len, &end) == 0 &&
               bin_len == 32 && end == text.data() + text.size();
    if (text.size() == 44)
        return sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &bin_len, &end,
                                 sodium_base64_VARIANT_ORIGINAL) == 0 &&
               bin_len == 32 && end == text.data() + text.size();
    return false;
}

std::string sys_error(const std::string& path, const char* what) {
    return path + ": " + what + ": " + std::strerror(errno);
}

// The "name: value" lines of a secret key file. Wipes what it read.
class SecretFile {
public:
    ~SecretFile() { sodium_memzero(text_.data(), text_.size()); }

    Status read(const std::string& path) {
        path_ = path;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the key file")};
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            ::close(fd);
            return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the key file")};
        }
        if ((st.st_mode & 077) != 0) {
            ::close(fd);
            return Error{ErrorCode::KeyFile, path + ": the secret key file may be read by group or others; "
                                                    "run `chmod 600 " + path + "` and keep it private"};
        }
        if (st.st_size > 4096) {
            ::close(fd);
            return Error{ErrorCode::KeyFile, path + ": larger than any key file (4096-byte limit); is this the right file?"};
        }
        text_.assign(static_cast<std::size_t>(st.st_size), '\0');
        ssize_t n = ::read(fd, text_.data(), text_.size());
        ::close(fd);
        if (n != static_cast<ssize_t>(text_.size())) return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the key file")};
        return ok_status();
    }

    // The 32-byte value of line `name: <64 hex>`.
    Status key(std::string_view name, std::array<std::uint8_t, 32>& out) const {
        std::string_view rest = text_;
        while (!rest.empty()) {
            std::size_t nl = rest.find('\n');
            std::string_view line = trim(rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
                std::string_view value = trim(line.substr(name.size() + 1));
                if (value.size() == 64 && decode_key32(value, out)) return ok_status();
                return Error{ErrorCode::KeyFile, path_ + ": the `" + std::string(name) +
                                                     "` line does not hold 64 hexadecimal characters; restore the file from its backup"};
            }
        }
        return Error{ErrorCode::KeyFile, path_ + ": no `" + std::string(name) + ":` line; is this the right kind of key file?"};
    }

private:
    std::string path_;
    std::string text_;
};

}  // namespace

std::string KioskPublicKey::hex() const { return to_hex(bytes.data(), bytes.size()); }
std::string KioskPublicKey::base64() const { return to_base64(bytes.data(), bytes.size()); }
std::string CommissionPublicKey::hex() const { return to_hex(bytes.data(), bytes.size()); }
std::string CommissionPublicKey::base64() const { return to_base64(bytes.data(), bytes.size()); }

KioskIdentity::~KioskIdentity() { sodium_memzero(secret_key.data(), secret_key.size()); }
CommissionKeyPair::~CommissionKeyPair() { sodium_memzero(secret_key.data(), secret_key.size()); }

KioskIdentity generate_kiosk_identity() {
    ensure_sodium();
    KioskIdentity id;
    crypto_sign_keypair(id.public_key.bytes.data(), id.secret_key.data());
    return id;
}

CommissionKeyPair generate_commission_keys() {
    ensure_sodium();
    CommissionKeyPair k;
    crypto_box_keypair(k.public_key.bytes.data(), k.secret_key.data());
    return k;
}

Status save_kiosk_identity(const std::string& path, const KioskIdentity& identity) {
    std::string text = "# shenbao kiosk identity (Ed25519). Secret: keep mode 0600.\nkiosk-ed25519-seed: " +
                       to_hex(identity.secret_key.data(), crypto_sign_SEEDBYTES) +
                       "\nkiosk-ed25519-public: " + identity.public_key.hex() + "\n";
    return detail::write_secret_file(path, text);
}

Status save_commission_keys(const std::string& path, const CommissionKeyPair& keys) {
    std::string text = "# shenbao commission key pair (X25519). Secret: keep mode 0600.\ncommission-x25519-secret: " +
                       to_hex(keys.secret_key.data(), keys.secret_key.size()) +
                       "\ncommission-x25519-public: " + keys.public_key.hex() + "\n";
    return detail::write_secret_file(path, text);
}

Result<KioskIdentity> load_kiosk_identity(const std::string& path) {
    ensure_sodium();
    SecretFile f;
    SHENBAO_TRY(f.read(path));
    std::array<std::uint8_t, 32> seed{};
    KioskPublicKey claimed;
    Status st = f.key("kiosk-ed25519-seed", seed);
    if (st.ok()) st = f.key("kiosk-ed25519-public", claimed.bytes);
    KioskIdentity id;
    if (st.ok()) crypto_sign_seed_keypair(id.public_key.bytes.data(), id.secret_key.data(), seed.data());
    sodium_memzero(seed.data(), seed.size());
    if (!st.ok()) return st.error();
    if (!(id.public_key == claimed))
        return Error{ErrorCode::KeyFile, path + ": the public key line does not belong to the seed; the file is damaged — restore it from its backup"};
    return id;
}

Result<CommissionKeyPair> load_commission_keys(const std::string& path) {
    ensure_sodium();
    SecretFile f;
    SHENBAO_TRY(f.read(path));
    CommissionKeyPair k;
    CommissionPublicKey claimed;
    SHENBAO_TRY(f.key("commission-x25519-secret", k.secret_key));
    SHENBAO_TRY(f.key("commission-x25519-public", claimed.bytes));
    crypto_scalarmult_base(k.public_key.bytes.data(), k.secret_key.data());
    if (!(k.public_key == claimed))
        return Error{ErrorCode::KeyFile, path + ": the public key line does not belong to the secret key; the file is damaged — restore it from its backup"};
    return k;
}

Result<KioskPublicKey> parse_kiosk_public_key(std::string_view text, std::string_view what) {
    KioskPublicKey k;
    if (!decode_key32(text, k.bytes))
        return Error{ErrorCode::InvalidArgument, std::string(what) + ": not a kiosk public key (expected 64 hexadecimal or 44 base64 characters)"};
    return k;
}

Result<CommissionPublicKey> parse_commission_public_key(std::string_view text, std::string_view what) {
    CommissionPublicKey k;
    if (!decode_key32(text, k.bytes))
        return Error{ErrorCode::InvalidArgument, std::string(what) + ": not a commission public key (expected 64 hexadecimal or 44 base64 characters)"};
    return k;
}

}  // namespace shenbao
