// The store key: 32 random bytes, kept as 64 hex characters in a key file made
// with mode 0600, or handed in by systemd as a credential ($CREDENTIALS_DIRECTORY).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "shenbao/result.h"

namespace shenbao {

// The credential name looked up in $CREDENTIALS_DIRECTORY (LoadCredential=shenbao-store-key:…).
inline constexpr const char* kStoreKeyCredential = "shenbao-store-key";

struct StoreKey {
    std::array<std::uint8_t, 32> bytes{};
    // "x'…'" blob literal for PRAGMA key; keep it out of logs.
    std::string pragma_literal() const;
    std::string hex() const;
    ~StoreKey();  // wipes the bytes
};

// A fresh random key (libsodium).
StoreKey generate_store_key();

// Reads a key file holding 64 hex characters (a trailing newline is allowed).
Result<StoreKey> read_key_file(const std::string& path);

// Writes a new key file with mode 0600, durably; refuses to overwrite.
Status write_key_file(const std::string& path, const StoreKey& key);

// The key for a store: $CREDENTIALS_DIRECTORY/shenbao-store-key when set and
// present, else `key_path`; when neither exists and `create_if_missing`, a new
// key is written to `key_path` (0600).
Result<StoreKey> load_or_create_key(const std::string& key_path, bool create_if_missing);

// An Argon2id hash string of a PIN (libsodium crypto_pwhash_str, interactive limits:
// ~64 MiB, a fraction of a second). Fails only when memory is short.
Result<std::string> hash_pin(const std::string& pin);
// Whether `pin` matches a hash_pin() string; false for a malformed hash.
bool verify_pin(const std::string& hash, const std::string& pin);

}  // namespace shenbao
