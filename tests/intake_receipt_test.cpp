// Receipts (shenbao/receipt.h): canonical JSON, Ed25519 signing and
// verification with typed refusals, and the receipt key file's rules.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "shenbao/receipt.h"
#include "shenbao/store.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;

namespace {

Receipt sample() {
    Receipt r;
    r.batch_id = new_ulid();
    r.kiosk_id = std::string(64, 'a');
    r.received_ms = 1'653'868'800'000;
    r.records = {{new_ulid(), std::string(64, '1'), ReceiptOutcome::Accepted, ""},
                 {new_ulid(), std::string(64, '2'), ReceiptOutcome::Duplicate, ""},
                 {new_ulid(), std::string(64, '3'), ReceiptOutcome::Conflict, "received before with another content hash"},
                 {new_ulid(), std::string(64, '4'), ReceiptOutcome::Invalid, "lead_email: 「电子邮箱」格式不正确 / \"Email\": not an address"}};
    return r;
}

}  // namespace

TEST_CASE("intake receipt: signed, verified, canonical and deterministic") {
    ReceiptKeyPair key = generate_receipt_keys();
    Receipt r = sample();
    auto signed_bytes = sign_receipt(r, key);
    REQUIRE(signed_bytes.ok());
    const std::string& bytes = signed_bytes.value();
    json j = json::parse(bytes);
    CHECK(j.dump() == bytes);  // canonical: what nlohmann prints back, keys sorted, compact
    CHECK(j["receipt_version"] == kReceiptVersion);
    CHECK(!j["records"][0].contains("reason"));
    CHECK(j["records"][3]["reason"] == r.records[3].reason);
    CHECK(sign_receipt(r, key).value() == bytes);  // Ed25519 is deterministic

    auto v = verify_receipt(bytes, key.public_key, r.batch_id, r.kiosk_id);
    REQUIRE(v.ok());
    CHECK(v.value() == r);
    CHECK(v.value().count(ReceiptOutcome::Invalid) == 1);
    // Laid out differently (spaces, key order), still the same signed content.
    CHECK(verify_receipt(j.dump(2), key.public_key).ok());

    CHECK(verify_receipt(bytes, generate_receipt_keys().public_key).kind() == ReceiptErrorKind::BadSignature);
    CHECK(verify_receipt(bytes, key.public_key, new_ulid()).kind() == ReceiptErrorKind::Mismatch);
    CHECK(verify_receipt(bytes, key.public_key, "", std::string(64, 'b')).kind() == ReceiptErrorKind::Mismatch);
    json edited = j;
    edited["records"][1]["result"] = "accepted";
    CHECK(verify_receipt(edited.dump(), key.public_key).kind() == ReceiptErrorKind::BadSignature);
    edited = j;
    edited["received_ms"] = r.received_ms + 1;
    CHECK(verify_receipt(edited.dump(), key.public_key).kind() == ReceiptErrorKind::BadSignature);
}

TEST_CASE("intake receipt: malformed, unknown versions and oversized input are refused with their kind") {
    ReceiptKeyPair key = generate_receipt_keys();
    const std::string good = sign_receipt(sample(), key).value();
    json j = json::parse(good);
    auto kind_of = [&](const std::string& text) {
        auto v = verify_receipt(text, key.public_key);
        return v.ok() ? std::string("ok") : std::string(receipt_error_name(v.kind()));
    };
    CHECK(kind_of("not json") == "malformed");
    CHECK(kind_of("[]") == "malformed");
    CHECK(kind_of("") == "malformed");
    json v2 = j;
    v2["receipt_version"] = 2;
    CHECK(kind_of(v2.dump()) == "unsupported-version");
    json extra = j;
    extra["note"] = "x";
    CHECK(kind_of(extra.dump()) == "malformed");
    json no_reason = j;
    no_reason["records"][2].erase("reason");
    CHECK(kind_of(no_reason.dump()) == "malformed");
    json stray_reason = j;
    stray_reason["records"][0]["reason"] = "why";
    CHECK(kind_of(stray_reason.dump()) == "malformed");
    json unknown_result = j;
    unknown_result["records"][0]["result"] = "maybe";
    CHECK(kind_of(unknown_result.dump()) == "malformed");
    json short_sig = j;
    short_sig["signature"] = "AAAA";
    CHECK(kind_of(short_sig.dump()) == "malformed");
    json text_time = j;
    text_time["received_ms"] = "yesterday";
    CHECK(kind_of(text_time.dump()) == "malformed");
    CHECK(kind_of(std::string(100, '[') + std::string(100, ']')) == "too-large");
    CHECK(kind_of(std::string(kMaxReceiptBytes + 1, ' ')) == "too-large");
    // Not UTF-8: cannot be made canonical, so it is not signed.
    Receipt bad = sample();
    bad.records[3].reason = "\xff\xfe";
    CHECK(!sign_receipt(bad, key).ok());
}

TEST_CASE("intake receipt: reasons are cut at the limit on a UTF-8 boundary") {
    std::string long_zh;
    for (int i = 0; i < 600; ++i) long_zh += "字";  // 3 bytes each
    std::string cut = make_receipt_reason(long_zh);
    CHECK(cut.size() <= kMaxReceiptReasonBytes);
    CHECK(cut.substr(cut.size() - 3) == "\xE2\x80\xA6");
    CHECK(json(cut).dump().size() > 0);  // still valid UTF-8
    CHECK(make_receipt_reason("short") == "short");
}

TEST_CASE("intake receipt: the key file is 0600, refused when others may read it, never overwritten") {
    test::TempDir dir;
    const std::string path = dir.file("receipt.key");
    ReceiptKeyPair key = generate_receipt_keys();
    REQUIRE(save_receipt_keys(path, key).ok());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto loaded = load_receipt_keys(path);
    REQUIRE(loaded.ok());
    CHECK(loaded.value().public_key == key.public_key);
    CHECK(loaded.value().secret_key == key.secret_key);
    CHECK(test::read_file(path).find("receipt-ed25519-public: " + key.public_key.hex()) != std::string::npos);

    auto again = save_receipt_keys(path, generate_receipt_keys());
    CHECK(!again.ok());
    CHECK(again.error().code == ErrorCode::KeyFile);
    CHECK(load_receipt_keys(path).value().public_key == key.public_key);

    ::chmod(path.c_str(), 0640);
    auto open_to_group = load_receipt_keys(path);
    REQUIRE(!open_to_group.ok());
    CHECK(open_to_group.error().code == ErrorCode::KeyFile);
    CHECK(open_to_group.error().message.find("chmod 600") != std::string::npos);
    ::chmod(path.c_str(), 0600);

    // A damaged public line, a missing line, a missing file: each named.
    std::string text = test::read_file(path);
    std::string damaged = text;
    damaged[damaged.rfind(':') + 3] = damaged[damaged.rfind(':') + 3] == 'a' ? 'b' : 'a';
    const std::string other = dir.file("damaged.key");
    test::write_file(other, damaged);
    ::chmod(other.c_str(), 0600);
    CHECK(load_receipt_keys(other).error().message.find("does not belong") != std::string::npos);
    test::write_file(other, "# nothing here\n");
    CHECK(load_receipt_keys(other).error().message.find("receipt-ed25519-seed") != std::string::npos);
    CHECK(load_receipt_keys(dir.file("missing.key")).error().code == ErrorCode::KeyFile);

    // Public keys travel as hex or base64.
    CHECK(parse_receipt_public_key(key.public_key.hex(), "config").value() == key.public_key);
    CHECK(parse_receipt_public_key(" " + key.public_key.base64() + "\n", "config").value() == key.public_key);
    CHECK(parse_receipt_public_key("abc", "config").error().message.find("config") != std::string::npos);
}
