// The commission's signed receipt for a committed batch (its wire form is in
// wire.h, "Receipt"), and the Ed25519 key that signs receipts.
//
// shenbao-intake builds and signs a receipt once per batch and keeps its bytes;
// the sync agent verifies it with the receipt public key from its configuration
// before marking anything synced.
//
// [SECTION] Canonical form: the receipt as JSON with keys sorted (byte order), no
// spaces, UTF-8 as is (nlohmann::json's dump()). The signature is Ed25519 over the
// canonical JSON of every key except "signature", which is then added (base64,
// standard alphabet, padded). verify_receipt() re-canonicalises what it parsed,
// so it does not depend on how the bytes were laid out.
//
// [SECTION] Key file (text; written with mode 0600 and refused when group or
// others may read it, like crypto.h's key files):
//
//   # shenbao commission receipt key (Ed25519). Secret: keep mode 0600.
//   receipt-ed25519-seed: <64 hex>
//   receipt-ed25519-public: <64 hex>
//
// The public line is redundant; loading checks it against the seed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "shenbao/result.h"

namespace shenbao {

// The "receipt_version" this program writes and the only one it reads.
inline constexpr int kReceiptVersion = 1;
// A receipt larger than this is refused before parsing (10,000 records with long reasons fit).
inline constexpr std::size_t kMaxReceiptBytes = 32u << 20;
// Deeper JSON nesting is refused before parsing (a receipt is 3 deep).
inline constexpr int kMaxReceiptJsonDepth = 8;
// make_receipt_reason() cuts reasons to this many bytes (on a UTF-8 boundary).
inline constexpr std::size_t kMaxReceiptReasonBytes = 1000;

// What the commission did with one record of the batch (wire.h).
enum class ReceiptOutcome { Accepted, Duplicate, Conflict, Invalid };
// "accepted", "duplicate", "conflict", "invalid".
const char* receipt_outcome_name(ReceiptOutcome outcome);
std::optional<ReceiptOutcome> parse_receipt_outcome(std::string_view name);
// Whether the agent may mark the record synced (accepted or duplicate).
inline bool receipt_outcome_is_synced(ReceiptOutcome o) {
    return o == ReceiptOutcome::Accepted || o == ReceiptOutcome::Duplicate;
}

struct ReceiptRecord {
    std::string id;            // the record's ULID
    std::string content_hash;  // the content hash this batch carried for it
    ReceiptOutcome outcome = ReceiptOutcome::Accepted;
    std::string reason;        // conflict / invalid: for a person (names the field); else empty
    friend bool operator==(const ReceiptRecord&, const ReceiptRecord&) = default;
};

struct Receipt {
    std::string batch_id;       // ULID of the batch
    std::string kiosk_id;       // the signing kiosk's public key, 64 hex
    std::int64_t received_ms = 0;  // when the commission committed the batch
    std::vector<ReceiptRecord> records;  // in batch order, one per record of the batch
    friend bool operator==(const Receipt&, const Receipt&) = default;

    std::size_t count(ReceiptOutcome outcome) const;
};

// A reason cut to kMaxReceiptReasonBytes without splitting a UTF-8 character.
std::string make_receipt_reason(std::string_view text);

// [SECTION] Keys

struct ReceiptPublicKey {
    std::array<std::uint8_t, 32> bytes{};
    std::string hex() const;
    std::string base64() const;
    friend bool operator==(const ReceiptPublicKey&, const ReceiptPublicKey&) = default;
};

// The commission's receipt signing key. The secret bytes are wiped on destruction.
struct ReceiptKeyPair {
    ReceiptPublicKey public_key;
    std::array<std::uint8_t, 64> secret_key{};  // libsodium layout: seed || public key
    ReceiptKeyPair() = default;
    ReceiptKeyPair(const ReceiptKeyPair&) = default;
    ReceiptKeyPair& operator=(const ReceiptKeyPair&) = default;
    ~ReceiptKeyPair();
};

// A fresh random key pair (libsodium's CSPRNG).
ReceiptKeyPair generate_receipt_keys();
// Writes a new key file (format above), mode 0600, durably; refuses to overwrite
// an existing file (ErrorCode::KeyFile).
Status save_receipt_keys(const std::string& path, const ReceiptKeyPair& keys);
// Reads a key file. Errors (ErrorCode::KeyFile) name the file and say what to do:
// missing, readable by group/others (chmod 600), malformed, public line not matching.
Result<ReceiptKeyPair> load_receipt_keys(const std::string& path);
// Parses a receipt public key given as 64 hex or 44 base64 characters
// (surrounding whitespace ignored); `what` names the source in the error.
Result<ReceiptPublicKey> parse_receipt_public_key(std::string_view text, std::string_view what);

// [SECTION] Signing and verifying

// The canonical JSON of `receipt` without a signature. InvalidArgument when a
// string in it is not valid UTF-8 (the message names it).
Result<std::string> receipt_canonical_json(const Receipt& receipt);

// The signed receipt's bytes: canonical JSON including "signature". Same receipt,
// same key: same bytes (Ed25519 is deterministic).
Result<std::string> sign_receipt(const Receipt& receipt, const ReceiptKeyPair& key);

enum class ReceiptErrorKind {
    TooLarge,            // over kMaxReceiptBytes or kMaxReceiptJsonDepth: not read
    Malformed,           // not JSON, or not the documented shape (missing/extra/mistyped keys)
    UnsupportedVersion,  // a receipt_version this program does not read
    BadSignature,        // the signature does not verify with the given key: altered or not ours
    Mismatch,            // signed, but for another batch or kiosk than the caller expected
};
// "too-large", "malformed", "unsupported-version", "bad-signature", "mismatch".
const char* receipt_error_name(ReceiptErrorKind kind);

struct ReceiptError {
    ReceiptErrorKind kind;
    std::string message;  // for a person: what is wrong, what to do
};

// The verified receipt or a typed ReceiptError.
class [[nodiscard]] ReceiptCheck {
public:
    ReceiptCheck(Receipt receipt) : v_(std::move(receipt)) {}
    ReceiptCheck(ReceiptError error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // Valid only when ok().
    const Receipt& value() const& { return std::get<0>(v_); }
    Receipt&& value() && { return std::get<0>(std::move(v_)); }
    // Valid only when !ok().
    const ReceiptError& error() const { return std::get<1>(v_); }
    ReceiptErrorKind kind() const { return error().kind; }

private:
    std::variant<Receipt, ReceiptError> v_;
};

// Parses `bytes` (strictly the documented shape: every key present, no others,
// reason present exactly for conflict/invalid) and checks the signature with
// `key`. A non-empty `expected_batch_id` / `expected_kiosk_id` must match too
// (Mismatch otherwise): the agent passes the batch it committed and its own id.
ReceiptCheck verify_receipt(std::string_view bytes, const ReceiptPublicKey& key,
                            std::string_view expected_batch_id = {}, std::string_view expected_kiosk_id = {});

}  // namespace shenbao
