// Long-lived key pairs of the sync path (libsodium only, nothing home-made):
//  - the kiosk's identity: an Ed25519 signing key pair; its public half is the
//    kiosk id in every batch it signs, and is what the commission enrols;
//  - the commission's X25519 key pair: batches are sealed to its public half
//    (crypto_box_seal), which sits in every kiosk's configuration.
//
// Secret key files are text, written with mode 0600 and refused when group or
// others may read them (like ssh):
//
//   # shenbao kiosk identity (Ed25519). Secret: keep mode 0600.
//   kiosk-ed25519-seed: <64 hex>
//   kiosk-ed25519-public: <64 hex>
//
//   # shenbao commission key pair (X25519). Secret: keep mode 0600.
//   commission-x25519-secret: <64 hex>
//   commission-x25519-public: <64 hex>
//
// The public line is redundant; loading checks it against the secret, which
// catches a damaged or hand-edited file. A public key travels as text: 64 hex
// characters or 44 base64 characters (standard alphabet, padded); both parse.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "shenbao/result.h"

namespace shenbao {

// An Ed25519 public key: a kiosk's id.
struct KioskPublicKey {
    std::array<std::uint8_t, 32> bytes{};
    std::string hex() const;
    std::string base64() const;
    friend bool operator==(const KioskPublicKey&, const KioskPublicKey&) = default;
};

// An X25519 public key: where batches are sealed to.
struct CommissionPublicKey {
    std::array<std::uint8_t, 32> bytes{};
    std::string hex() const;
    std::string base64() const;
    friend bool operator==(const CommissionPublicKey&, const CommissionPublicKey&) = default;
};

// A kiosk's signing identity. The secret bytes are wiped on destruction.
struct KioskIdentity {
    KioskPublicKey public_key;
    std::array<std::uint8_t, 64> secret_key{};  // libsodium layout: seed || public key
    KioskIdentity() = default;
    KioskIdentity(const KioskIdentity&) = default;
    KioskIdentity& operator=(const KioskIdentity&) = default;
    ~KioskIdentity();
};

// The commission's key pair. The secret bytes are wiped on destruction.
struct CommissionKeyPair {
    CommissionPublicKey public_key;
    std::array<std::uint8_t, 32> secret_key{};
    CommissionKeyPair() = default;
    CommissionKeyPair(const CommissionKeyPair&) = default;
    CommissionKeyPair& operator=(const CommissionKeyPair&) = default;
    ~CommissionKeyPair();
};

// Fresh random key pairs (libsodium's CSPRNG).
KioskIdentity generate_kiosk_identity();
CommissionKeyPair generate_commission_keys();

// Writes a new secret key file (format above) with mode 0600, durably; refuses
// to overwrite an existing file (ErrorCode::KeyFile).
Status save_kiosk_identity(const std::string& path, const KioskIdentity& identity);
Status save_commission_keys(const std::string& path, const CommissionKeyPair& keys);

// Reads a secret key file. Errors (ErrorCode::KeyFile) name the file and say what
// to do: missing, readable by group/others (chmod 600), malformed, or public
// line not matching the secret.
Result<KioskIdentity> load_kiosk_identity(const std::string& path);
Result<CommissionKeyPair> load_commission_keys(const std::string& path);

// Parses a public key given as 64 hex or 44 base64 characters (surrounding
// whitespace ignored). `what` names the source in the error (a config key, a file).
Result<KioskPublicKey> parse_kiosk_public_key(std::string_view text, std::string_view what);
Result<CommissionPublicKey> parse_commission_public_key(std::string_view text, std::string_view what);

}  // namespace shenbao
