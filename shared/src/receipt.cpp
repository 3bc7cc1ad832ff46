// Receipts: canonical JSON, Ed25519 signing and verification, the receipt key file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "shenbao/receipt.h"

#include "secret_file.h"

namespace shenbao {
namespace {

using nlohmann::json;

using detail::ensure_sodium;
using detail::to_base64;
using detail::to_hex;
using detail::trim;

// Exactly `out.size()` bytes from hex (2 chars a byte) or padded standard base64.
template <std::size_t N>
bool decode_fixed(std::string_view text, std::array<std::uint8_t, N>& out, bool allow_hex) {
    std::size_t bin_len = 0;
    const char* end = nullptr;
    if (allow_hex && text.size() == 2 * N)
        return sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &bin_len, &end) == 0 &&
               bin_len == N && end == text.data() + text.size();
    if (text.size() == sodium_base64_ENCODED_LEN(N, sodium_base64_VARIANT_ORIGINAL) - 1)
        return sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &bin_len, &end,
                                 sodium_base64_VARIANT_ORIGINAL) == 0 &&
               bin_len == N && end == text.data() + text.size();
    return false;
}

std::string sys_error(const std::string& path, const char* what) { return path + ": " + what + ": " + std::strerror(errno); }

// The nesting depth of JSON text, counting brackets outside strings; stops early past `limit`.
int json_depth(std::string_view text, int limit) {
    int depth = 0, max = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > max) max = depth;
            if (max > limit) return max;
        } else if (c == ']' || c == '}') --depth;
    }
    return max;
}

json receipt_to_json(const Receipt& r) {
    json records = json::array();
    for (const ReceiptRecord& rec : r.records) {
        json o = {{"id", rec.id}, {"content_hash", rec.content_hash}, {"result", receipt_outcome_name(rec.outcome)}};
        if (rec.outcome == ReceiptOutcome::Conflict || rec.outcome == ReceiptOutcome::Invalid) o["reason"] = rec.reason;
        records.push_back(std::move(o));
    }
    return json{{"receipt_version", kReceiptVersion},
                {"batch_id", r.batch_id},
                {"kiosk_id", r.kiosk_id},
                {"received_ms", r.received_ms},
                {"records", std::move(records)}};
}

Result<std::string> canonical(const json& j) {
    try {
        return j.dump();  // object keys sorted (std::map), no spaces, UTF-8 as is; throws on invalid UTF-8
    } catch (const json::exception& e) {
        return Error{ErrorCode::InvalidArgument, std::string("the receipt holds text that is not UTF-8: ") + e.what()};
    }
}

ReceiptError fail(ReceiptErrorKind kind, std::string message) { return ReceiptError{kind, std::move(message)}; }

bool has_only(const json& o, std::initializer_list<const char*> keys) {
    for (auto it = o.begin(); it != o.end(); ++it) {
        bool known = false;
        for (const char* k : keys) known = known || it.key() == k;
        if (!known) return false;
    }
    return true;
}

bool is_short_string(const json& o, const char* key, std::size_t max) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() && !it->get_ref<const std::string&>().empty() &&
           it->get_ref<const std::string&>().size() <= max;
}

}  // namespace

const char* receipt_outcome_name(ReceiptOutcome outcome) {
    switch (outcome) {
        case ReceiptOutcome::Accepted: return "accepted";
        case ReceiptOutcome::Duplicate: return "duplicate";
        case ReceiptOutcome::Conflict: return "conflict";
        case ReceiptOutcome::Invalid: return "invalid";
    }
    return "invalid";
}

std::optional<ReceiptOutcome> parse_receipt_outcome(std::string_view name) {
    for (ReceiptOutcome o : {ReceiptOutcome::Accepted, ReceiptOutcome::Duplicate, ReceiptOutcome::Conflict, ReceiptOutcome::Invalid})
        if (name == receipt_outcome_name(o)) return o;
    return std::nullopt;
}

const char* receipt_error_name(ReceiptErrorKind kind) {
    switch (kind) {
        case ReceiptErrorKind::TooLarge: return "too-large";
        case ReceiptErrorKind::Malformed: return "malformed";
        case ReceiptErrorKind::UnsupportedVersion: return "unsupported-version";
        case ReceiptErrorKind::BadSignature: return "bad-signature";
        case ReceiptErrorKind::Mismatch: return "mismatch";
    }
    return "malformed";
}

std::size_t Receipt::count(ReceiptOutcome outcome) const {
    std::size_t n = 0;
    for (const ReceiptRecord& r : records) n += r.outcome == outcome;
    return n;
}

std::string make_receipt_reason(std::string_view text) {
    if (text.size() <= kMaxReceiptReasonBytes) return std::string(text);
    std::size_t cut = kMaxReceiptReasonBytes - 3;  // room for "…"
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return std::string(text.substr(0, cut)) + "\xE2\x80\xA6";
}

// [SECTION] Keys

std::string ReceiptPublicKey::hex() const { return to_hex(bytes.data(), bytes.size()); }
std::string ReceiptPublicKey::base64() const { return to_base64(bytes.data(), bytes.size()); }
ReceiptKeyPair::~ReceiptKeyPair() { sodium_memzero(secret_key.data(), secret_key.size()); }

ReceiptKeyPair generate_receipt_keys() {
    ensure_sodium();
    ReceiptKeyPair k;
    crypto_sign_keypair(k.public_key.bytes.data(), k.secret_key.data());
    return k;
}

Status save_receipt_keys(const std::string& path, const ReceiptKeyPair& keys) {
    std::string text = "# shenbao commission receipt key (Ed25519). Secret: keep mode 0600.\nreceipt-ed25519-seed: " +
                       to_hex(keys.secret_key.data(), crypto_sign_SEEDBYTES) +
                       "\nreceipt-ed25519-public: " + keys.public_key.hex() + "\n";
    return detail::write_secret_file(path, text);
}

Result<ReceiptKeyPair> load_receipt_keys(const std::string& path) {
    ensure_sodium();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the receipt key file")};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the receipt key file")};
    }
    if ((st.st_mode & 077) != 0) {
        ::close(fd);
        return Error{ErrorCode::KeyFile, path + ": the secret key file may be read by group or others; run `chmod 600 " +
                                             path + "` and keep it private"};
    }
    if (st.st_size > 4096) {
        ::close(fd);
        return Error{ErrorCode::KeyFile, path + ": larger than any key file (4096-byte limit); is this the right file?"};
    }
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    ssize_t n = ::read(fd, text.data(), text.size());
    ::close(fd);
    auto wipe = [&] { sodium_memzero(text.data(), text.size()); };
    if (n != static_cast<ssize_t>(text.size())) {
        wipe();
        return Error{ErrorCode::KeyFile, sys_error(path, "cannot read the receipt key file")};
    }
    auto line = [&](std::string_view name, std::array<std::uint8_t, 32>& out) -> Status {
        std::string_view rest = text;
        while (!rest.empty()) {
            std::size_t nl = rest.find('\n');
            std::string_view l = trim(rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (l.size() > name.size() && l.substr(0, name.size()) == name && l[name.size()] == ':') {
                std::string_view value = trim(l.substr(name.size() + 1));
                if (value.size() == 64 && decode_fixed(value, out, true)) return ok_status();
                return Error{ErrorCode::KeyFile, path + ": the `" + std::string(name) +
                                                     "` line does not hold 64 hexadecimal characters; restore the file from its backup"};
            }
        }
        return Error{ErrorCode::KeyFile, path + ": no `" + std::string(name) + ":` line; is this the receipt key file (receipt.key)?"};
    };
    std::array<std::uint8_t, 32> seed{};
    ReceiptPublicKey claimed;
    Status st1 = line("receipt-ed25519-seed", seed);
    Status st2 = st1.ok() ? line("receipt-ed25519-public", claimed.bytes) : st1;
    wipe();
    ReceiptKeyPair k;
    if (st2.ok()) crypto_sign_seed_keypair(k.public_key.bytes.data(), k.secret_key.data(), seed.data());
    sodium_memzero(seed.data(), seed.size());
    if (!st2.ok()) return st2.error();
    if (!(k.public_key == claimed))
        return Error{ErrorCode::KeyFile, path + ": the public key line does not belong to the seed; the file is damaged — restore it from its backup"};
    return k;
}

Result<ReceiptPublicKey> parse_receipt_public_key(std::string_view text, std::string_view what) {
    ReceiptPublicKey k;
    if (!decode_fixed(trim(text), k.bytes, true))
        return Error{ErrorCode::InvalidArgument,
                     std::string(what) + ": not a receipt public key (expected 64 hexadecimal or 44 base64 characters)"};
    return k;
}

// [SECTION] Signing and verifying

Result<std::string> receipt_canonical_json(const Receipt& receipt) { return canonical(receipt_to_json(receipt)); }

Result<std::string> sign_receipt(const Receipt& receipt, const ReceiptKeyPair& key) {
    ensure_sodium();
    json j = receipt_to_json(receipt);
    auto body = canonical(j);
    if (!body.ok()) return body.error();
    std::array<std::uint8_t, crypto_sign_BYTES> sig{};
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(body->data()), body->size(),
                         key.secret_key.data());
    j["signature"] = to_base64(sig.data(), sig.size());
    return canonical(j);
}

ReceiptCheck verify_receipt(std::string_view bytes, const ReceiptPublicKey& key, std::string_view expected_batch_id,
                            std::string_view expected_kiosk_id) {
    ensure_sodium();
    if (bytes.size() > kMaxReceiptBytes)
        return fail(ReceiptErrorKind::TooLarge, "the receipt is " + std::to_string(bytes.size()) + " bytes, over the " +
                                                    std::to_string(kMaxReceiptBytes) + "-byte limit; it is not from a commission");
    if (json_depth(bytes, kMaxReceiptJsonDepth) > kMaxReceiptJsonDepth)
        return fail(ReceiptErrorKind::TooLarge, "the receipt nests deeper than any receipt does; it is not from a commission");
    json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail(ReceiptErrorKind::Malformed, "the receipt is not a JSON object");
    auto version = j.find("receipt_version");
    if (version == j.end() || !version->is_number_integer())
        return fail(ReceiptErrorKind::Malformed, "the receipt has no integer receipt_version");
    if (version->get<std::int64_t>() != kReceiptVersion)
        return fail(ReceiptErrorKind::UnsupportedVersion,
                    "receipt version " + version->dump() + " is not one this program reads (it reads " +
                        std::to_string(kReceiptVersion) + "); update shenbao-sync");
    if (!has_only(j, {"receipt_version", "batch_id", "kiosk_id", "received_ms", "records", "signature"}))
        return fail(ReceiptErrorKind::Malformed, "the receipt has a key the format does not define");
    if (!is_short_string(j, "batch_id", 64) || !is_short_string(j, "kiosk_id", 64) || !is_short_string(j, "signature", 200))
        return fail(ReceiptErrorKind::Malformed, "the receipt lacks batch_id, kiosk_id or signature as text");
    auto received = j.find("received_ms");
    if (received == j.end() || !received->is_number_integer())
        return fail(ReceiptErrorKind::Malformed, "the receipt has no integer received_ms");
    auto records = j.find("records");
    if (records == j.end() || !records->is_array()) return fail(ReceiptErrorKind::Malformed, "the receipt has no records array");

    Receipt r;
    r.batch_id = j["batch_id"].get<std::string>();
    r.kiosk_id = j["kiosk_id"].get<std::string>();
    r.received_ms = received->get<std::int64_t>();
    r.records.reserve(records->size());
    for (std::size_t i = 0; i < records->size(); ++i) {
        const json& o = (*records)[i];
        const std::string where = "receipt record " + std::to_string(i + 1);
        if (!o.is_object() || !has_only(o, {"id", "content_hash", "result", "reason"}) || !is_short_string(o, "id", 64) ||
            !is_short_string(o, "content_hash", 128) || !is_short_string(o, "result", 16))
            return fail(ReceiptErrorKind::Malformed, where + " is not {id, content_hash, result[, reason]} as text");
        auto outcome = parse_receipt_outcome(o["result"].get<std::string>());
        if (!outcome) return fail(ReceiptErrorKind::Malformed, where + " has an unknown result `" + o["result"].get<std::string>() + "`");
        bool needs_reason = *outcome == ReceiptOutcome::Conflict || *outcome == ReceiptOutcome::Invalid;
        auto reason = o.find("reason");
        if (needs_reason != (reason != o.end()) || (reason != o.end() && !reason->is_string()))
            return fail(ReceiptErrorKind::Malformed, where + (needs_reason ? " lacks the reason its result needs" : " has a reason its result does not take"));
        r.records.push_back({o["id"].get<std::string>(), o["content_hash"].get<std::string>(), *outcome,
                             reason == o.end() ? std::string() : reason->get<std::string>()});
    }

    std::array<std::uint8_t, crypto_sign_BYTES> sig{};
    if (!decode_fixed(j["signature"].get_ref<const std::string&>(), sig, false))
        return fail(ReceiptErrorKind::Malformed, "the receipt's signature is not 64 bytes of base64");
    j.erase("signature");
    auto body = canonical(j);
    if (!body.ok()) return fail(ReceiptErrorKind::Malformed, body.error().message);
    if (crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(body->data()), body->size(),
                                    key.bytes.data()) != 0)
        return fail(ReceiptErrorKind::BadSignature,
                    "the receipt for batch " + r.batch_id + " is not signed by the commission's receipt key " +
                        key.hex().substr(0, 16) + "…: it was altered, or the configured receipt key is wrong");
    if (!expected_batch_id.empty() && r.batch_id != expected_batch_id)
        return fail(ReceiptErrorKind::Mismatch, "the receipt is for batch " + r.batch_id + ", not for batch " + std::string(expected_batch_id));
    if (!expected_kiosk_id.empty() && r.kiosk_id != expected_kiosk_id)
        return fail(ReceiptErrorKind::Mismatch, "the receipt is for kiosk " + r.kiosk_id + ", not for this kiosk " + std::string(expected_kiosk_id));
    return r;
}

}  // namespace shenbao
