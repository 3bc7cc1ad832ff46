// The batch format: round trips, the dictionary, every refusal with its typed
// error, decompression bombs, the key files, and the committed golden and
// corrupt batches in tests/data/batches/ (regenerate them with
// SHENBAO_REGENERATE_GOLDEN=1 build/dev/tests/test_batch -tc="batch: golden*").
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <sodium.h>
#include <zstd.h>

#include "shenbao/batch.h"
#include "shenbao/crypto.h"
#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/store.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

namespace {

const FormDefinition& form() {
    static const FormDefinition f = load_form(test::form_path()).value();
    return f;
}

Record make_record(std::uint64_t seed) {
    Record r;
    r.meta.id = new_ulid();
    r.meta.form_id = form().form_id;
    r.meta.form_version = form().version;
    r.meta.status = RecordStatus::Submitted;
    r.meta.submitted_ms = 1'650'000'000'000 + static_cast<std::int64_t>(seed);
    r.data = generate_application(form(), seed);
    r.meta.content_hash = content_hash_of(r.data);
    return r;
}

std::vector<Record> make_records(std::size_t n, std::uint64_t first_seed = 0) {
    std::vector<Record> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(make_record(first_seed + i));
    return out;
}

std::string dict_dir() { return test::repo_path("assets/dict"); }

std::shared_ptr<const BatchDictionary> dict() {
    static const auto d = load_dictionary(kCurrentDictionaryId, dict_dir()).value();
    return d;
}

struct Keys {
    KioskIdentity kiosk = generate_kiosk_identity();
    CommissionKeyPair commission = generate_commission_keys();
};

const Keys& keys() {
    static const Keys k;
    return k;
}

Bytes encode(std::span<const Record> records, const Keys& k = keys(), EncodeOptions options = {}) {
    auto r = encode_batch(records, k.kiosk, k.commission.public_key, *dict(), options);
    if (!r.ok()) FAIL(r.error().message);
    return std::move(r.value().bytes);
}

BatchResult<DecodedBatch> decode(const Bytes& bytes, const Keys& k = keys(), const BatchLimits& limits = {}) {
    return decode_batch(bytes, k.kiosk.public_key, k.commission, dictionaries_in(dict_dir()), limits);
}

std::string kind_of(const BatchResult<DecodedBatch>& r) { return r.ok() ? "ok" : batch_error_name(r.kind()); }

std::string plaintext_of(std::span<const Record> records) {
    std::string p;
    for (const Record& r : records) p += frame_record(r).value();
    return p;
}

std::array<std::uint8_t, 32> sha256(std::string_view s) {
    std::array<std::uint8_t, 32> h{};
    crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(s.data()), s.size());
    return h;
}

// A header telling the truth about `plaintext` of `records`, for seal_batch to sign.
BatchHeader honest_header(std::span<const Record> records, const std::string& plaintext) {
    BatchHeader h;
    h.batch_id = new_ulid();
    h.created_ms = now_ms();
    h.record_count = static_cast<std::uint32_t>(records.size());
    h.dictionary_id = dict()->id();
    h.chunk_size = 4096;
    h.plaintext_size = plaintext.size();
    h.plaintext_sha256 = sha256(plaintext);
    std::map<std::pair<std::string, int>, std::uint32_t> forms;
    for (const Record& r : records) ++forms[{r.meta.form_id, r.meta.form_version}];
    for (const auto& [f, n] : forms) h.forms.push_back({f.first, f.second, n});
    return h;
}

Bytes compress(const std::string& plaintext) { return compress_payload(as_bytes(plaintext), dict().get(), 3).value(); }

// A zstd frame (with the dictionary) of a 4-byte record length `frame_len`
// followed by `zeros` zero bytes, made by streaming: the bomb never exists inflated.
Bytes zero_bomb(std::uint32_t frame_len, std::uint64_t zeros) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_loadDictionary(c, dict()->bytes().data(), dict()->bytes().size());
    Bytes out, buf(ZSTD_CStreamOutSize());
    auto feed = [&](const void* p, std::size_t n, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{p, n, 0};
        for (;;) {
            ZSTD_outBuffer o{buf.data(), buf.size(), 0};
            std::size_t rc = ZSTD_compressStream2(c, &o, &in, mode);
            REQUIRE(!ZSTD_isError(rc));
            out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(o.pos));
            if (mode == ZSTD_e_end ? rc == 0 : in.pos == in.size) break;
        }
    };
    std::uint8_t len[4] = {static_cast<std::uint8_t>(frame_len), static_cast<std::uint8_t>(frame_len >> 8),
                           static_cast<std::uint8_t>(frame_len >> 16), static_cast<std::uint8_t>(frame_len >> 24)};
    feed(len, 4, ZSTD_e_continue);
    Bytes zero(1 << 20, 0);
    for (std::uint64_t done = 0; done < zeros; done += zero.size()) feed(zero.data(), zero.size(), ZSTD_e_continue);
    feed(nullptr, 0, ZSTD_e_end);
    ZSTD_freeCCtx(c);
    return out;
}

// Offsets of the parts of a batch, from its header.
struct Parts {
    std::size_t header, sealed_key, stream_header, chunks, signature, total;
};
Parts parts_of(const Bytes& b) {
    BatchHeader h = peek_header(b).value();
    Parts p{};
    p.header = 0;
    p.sealed_key = h.header_size();
    p.stream_header = p.sealed_key + kBatchSealedKeyBytes;
    p.chunks = p.stream_header + kBatchStreamHeaderBytes;
    p.total = static_cast<std::size_t>(h.total_size());
    p.signature = p.total - kBatchSignatureBytes;
    return p;
}

// [SECTION] Forged batches: each a correctly signed lie (or a plain corruption),
// shared by the unit tests and the golden-file generator below.
struct Forged {
    std::string name;    // file name in tests/data/batches/
    BatchErrorKind kind; // what decoding must say
    Bytes bytes;
};

std::vector<Forged> forge_all(const Keys& k, const Keys& stranger, std::span<const Record> records, const Bytes& good) {
    const std::string plain = plaintext_of(records);
    const Bytes z = compress(plain);
    const Parts p = parts_of(good);
    auto seal = [&](const BatchHeader& h, const Bytes& payload) {
        return seal_batch(h, payload, k.kiosk, k.commission.public_key);
    };
    auto flipped = [&](std::size_t at) {
        Bytes b = good;
        b[at] ^= 0x01;
        return b;
    };
    std::vector<Forged> out;
    {
        std::string text = "this is not a batch\n";
        out.push_back({"not-a-batch.txt", BatchErrorKind::NotABatch, Bytes(text.begin(), text.end())});
    }
    out.push_back({"truncated-mid-chunk.batch", BatchErrorKind::Truncated, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(p.total / 2))});
    {
        Bytes b = good;
        for (char c : std::string("trailing garbage\n")) b.push_back(static_cast<std::uint8_t>(c));
        out.push_back({"trailing-garbage.batch", BatchErrorKind::TrailingData, b});
    }
    out.push_back({"flipped-byte-in-sealed-key.batch", BatchErrorKind::BadSignature, flipped(p.sealed_key + 10)});
    out.push_back({"flipped-byte-in-chunk-2.batch", BatchErrorKind::BadSignature, flipped(p.chunks + 4096 + 17 + 100)});
    out.push_back({"flipped-byte-in-signature.batch", BatchErrorKind::BadSignature, flipped(p.signature + 5)});
    out.push_back({"flipped-byte-in-form-table.batch", BatchErrorKind::BadSignature, flipped(kBatchFixedHeaderBytes + 3)});
    {
        BatchHeader h = honest_header(records, plain);
        h.format_version = 2;
        out.push_back({"unsupported-version-2.batch", BatchErrorKind::UnsupportedVersion, seal(h, z)});
    }
    out.push_back({"signed-by-unenrolled-kiosk.batch", BatchErrorKind::UnknownKiosk,
                   seal_batch(honest_header(records, plain), z, stranger.kiosk, k.commission.public_key)});
    out.push_back({"sealed-to-another-commission.batch", BatchErrorKind::NotForThisCommission,
                   seal_batch(honest_header(records, plain), z, k.kiosk, stranger.commission.public_key)});
    {
        BatchHeader h = honest_header(records, plain);
        h.dictionary_id = 12345;
        out.push_back({"unknown-dictionary-12345.batch", BatchErrorKind::UnknownDictionary, seal(h, z)});
    }
    {
        BatchHeader h = honest_header(records, plain);
        h.plaintext_size = 1ull << 40;
        out.push_back({"claims-1-tib-plaintext.batch", BatchErrorKind::TooLarge, seal(h, z)});
    }
    {
        BatchHeader h = honest_header(records, plain);
        h.record_count = 20'000;
        h.forms.front().records = 20'000 - static_cast<std::uint32_t>(records.size()) + h.forms.front().records;
        out.push_back({"claims-20000-records.batch", BatchErrorKind::TooManyRecords, seal(h, z)});
    }
    {
        BatchHeader h = honest_header(records, plain);
        h.plaintext_size = 1 << 20;  // honest-looking 1 MiB; the payload inflates to 1 GiB
        out.push_back({"bomb-inflates-1-gib-past-1-mib-claim.batch", BatchErrorKind::TooLarge, seal(h, zero_bomb(0x003fffff, 1ull << 30))});
    }
    {
        BatchHeader h = honest_header(records, plain);
        h.record_count += 1;
        h.forms.front().records += 1;
        out.push_back({"claims-one-record-more-than-it-holds.batch", BatchErrorKind::Mismatch, seal(h, z)});
    }
    {
        BatchHeader h = honest_header(records, plain);
        h.plaintext_sha256[0] ^= 1;
        out.push_back({"plaintext-hash-mismatch.batch", BatchErrorKind::Mismatch, seal(h, z)});
    }
    {
        std::vector<Record> altered(records.begin(), records.end());
        altered[1].data["alliance_name"] = "重庆市篡改产业技术创新联盟";  // content_hash left as it was
        std::string ap = plaintext_of(altered);
        out.push_back({"record-altered-after-submit.batch", BatchErrorKind::BadRecord, seal(honest_header(altered, ap), compress(ap))});
    }
    {
        Bytes twice = z;
        twice.insert(twice.end(), z.begin(), z.end());
        out.push_back({"data-after-compressed-frame.batch", BatchErrorKind::Corrupt, seal(honest_header(records, plain), twice)});
    }
    {
        Bytes noise(z.size());
        randombytes_buf(noise.data(), noise.size());
        out.push_back({"compressed-stream-is-noise.batch", BatchErrorKind::Corrupt, seal(honest_header(records, plain), noise)});
    }
    {
        // The second record carries a review whose decision no kiosk writes; the rest is honest and signed.
        std::string ap;
        for (std::size_t i = 0; i < records.size(); ++i) {
            std::string body = frame_record(records[i]).value().substr(4);
            if (i == 1)
                body.insert(body.rfind(",\"submitted_ms\":"),
                            R"(,"review":{"at_ms":1650000000000,"decision":"maybe","reason":"","reviewer":"王强"})");
            for (int b = 0; b < 4; ++b) ap.push_back(static_cast<char>((body.size() >> (8 * b)) & 0xff));
            ap += body;
        }
        out.push_back({"review-with-unknown-decision.batch", BatchErrorKind::BadRecord, seal(honest_header(records, ap), compress(ap))});
    }
    return out;
}

std::string golden_dir() { return test::repo_path("tests/data/batches"); }

// Rewrites every file in tests/data/batches/ (keeping existing key files), or
// only the corrupt file named `only`: a file added later must not change the
// golden batch, which proves that batches written before still decode.
void regenerate_golden(const std::string& only) {
    const std::string d = golden_dir();
    std::filesystem::create_directories(d);
    auto key_or_new = [&](const std::string& name, bool kiosk, Keys& k) {
        std::string path = d + "/" + name;
        ::chmod(path.c_str(), 0600);  // git checks files out 0644; the loader refuses that
        if (kiosk) {
            if (auto loaded = load_kiosk_identity(path); loaded.ok()) k.kiosk = loaded.value();
            else REQUIRE(save_kiosk_identity(path, k.kiosk).ok());
        } else {
            if (auto loaded = load_commission_keys(path); loaded.ok()) k.commission = loaded.value();
            else REQUIRE(save_commission_keys(path, k.commission).ok());
        }
    };
    Keys k, stranger;
    key_or_new("golden-kiosk.key", true, k);
    key_or_new("golden-commission.key", false, k);
    std::vector<Record> records = make_records(3, 0);
    EncodeOptions o;
    o.chunk_size = 4096;
    auto good = encode_batch(records, k.kiosk, k.commission.public_key, *dict(), o).value();
    const bool all = only == "1";
    for (const Forged& f : forge_all(k, stranger, records, good.bytes))
        if (all || f.name == only) test::write_file(d + "/" + f.name, std::string(f.bytes.begin(), f.bytes.end()));
    if (!all) return;
    test::write_file(d + "/golden-3-records.batch", std::string(good.bytes.begin(), good.bytes.end()));
    json expected = {{"batch_id", good.header.batch_id}, {"kiosk_id", good.header.kiosk_id()},
                     {"dictionary_id", good.header.dictionary_id}, {"records", json::array()}};
    for (const Record& r : records)
        expected["records"].push_back({{"id", r.meta.id}, {"form_id", r.meta.form_id}, {"form_version", r.meta.form_version},
                                       {"content_hash", r.meta.content_hash}, {"submitted_ms", *r.meta.submitted_ms}});
    test::write_file(d + "/golden-3-records.expected.json", expected.dump(2) + "\n");
}

// Copies a committed key file into `dir` with mode 0600 (git checks files out 0644).
std::string private_copy(const test::TempDir& dir, const std::string& name) {
    std::string path = dir.file(name);
    test::write_file(path, test::read_file(golden_dir() + "/" + name));
    ::chmod(path.c_str(), 0600);
    return path;
}

Bytes read_bytes(const std::string& path) {
    std::string s = test::read_file(path);
    return Bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("batch: round trips of 1, 50 and 1,000 generated records are byte-identical") {
    for (std::size_t n : {std::size_t{1}, std::size_t{50}, std::size_t{1000}}) {
        CAPTURE(n);
        std::vector<Record> records = make_records(n, 10'000);
        EncodeOptions o;
        if (n == 1000) o.level = 3;  // the format is the same at every level; 94 MB at level 19 only costs time
        auto enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o);
        REQUIRE(enc.ok());
        const BatchHeader& h = enc.value().header;
        CHECK(h.record_count == n);
        CHECK(h.kiosk == keys().kiosk.public_key);
        CHECK(h.dictionary_id == kCurrentDictionaryId);
        CHECK(h.forms == std::vector<BatchFormCount>{{form().form_id, form().version, static_cast<std::uint32_t>(n)}});
        CHECK(enc.value().bytes.size() == h.total_size());

        std::size_t i = 0, mismatched = 0;
        auto got = decode_batch_each(enc.value().bytes, [](const KioskPublicKey& k) { return k == keys().kiosk.public_key; },
                                     keys().commission, dictionaries_in(dict_dir()), BatchLimits{}, [&](DecodedRecord&& d) {
                                         const Record& r = d.record;
                                         const Record& want = records.at(i++);
                                         if (r.meta.id != want.meta.id || r.meta.content_hash != want.meta.content_hash ||
                                             r.meta.submitted_ms != want.meta.submitted_ms ||
                                             frame_record(r).value() != frame_record(want).value() ||
                                             d.canonical_data != want.data.dump())
                                             ++mismatched;
                                     });
        REQUIRE(got.ok());
        CHECK(i == n);
        CHECK(mismatched == 0);
        CHECK(got.value().batch_id == h.batch_id);
        CHECK(got.value().plaintext_sha256 == h.plaintext_sha256);
    }
}

TEST_CASE("batch: decode_batch returns the records in order with their metadata") {
    std::vector<Record> records = make_records(5, 20'000);
    records[2].meta.submitted_ms.reset();
    records[3].meta.form_version = 7;  // a later version of the form rides in the same batch
    auto got = decode(encode(records));
    REQUIRE(got.ok());
    REQUIRE(got.value().records.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        const RecordMeta& m = got.value().records[i].meta;
        CHECK(m.id == records[i].meta.id);
        CHECK(m.form_version == records[i].meta.form_version);
        CHECK(m.submitted_ms == records[i].meta.submitted_ms);
        CHECK(m.status == RecordStatus::Submitted);
        CHECK(got.value().records[i].data == records[i].data);
    }
    CHECK(got.value().header.forms.size() == 2);
}

TEST_CASE("batch: the dictionary is used: batches with it are smaller than without it") {
    for (std::size_t n : {std::size_t{1}, std::size_t{50}}) {
        CAPTURE(n);
        std::vector<Record> records = make_records(n, 30'000);  // not the training seeds
        std::string plain = plaintext_of(records);
        auto with = compress_payload(as_bytes(plain), dict().get(), kBatchDefaultLevel).value();
        auto without = compress_payload(as_bytes(plain), nullptr, kBatchDefaultLevel).value();
        MESSAGE(n << " record(s): " << plain.size() << " B plaintext, " << without.size() << " B zstd-19, " << with.size()
                  << " B zstd-19 + dictionary");
        CHECK(with.size() < without.size());
        auto enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict()).value();
        // encode_batch streams, so its frame omits the content size compress_payload records: a few bytes apart.
        CHECK(enc.header.compressed_size <= with.size());
        if (n == 1) CHECK(with.size() * 10 < without.size() * 6);  // a lone application: at least 40% saved
    }
    // The decoder needs it: without the dictionary the batch names, it refuses.
    Bytes b = encode(make_records(1, 30'100));
    auto none = [](std::uint32_t) { return std::shared_ptr<const BatchDictionary>(); };
    auto r = decode_batch(b, keys().kiosk.public_key, keys().commission, none);
    REQUIRE(!r.ok());
    CHECK(r.kind() == BatchErrorKind::UnknownDictionary);
}

TEST_CASE("batch: peek_header reads the kiosk id and the claims from the header bytes alone") {
    std::vector<Record> records = make_records(2, 40'000);
    auto enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict()).value();
    const BatchHeader& h = enc.header;
    Bytes only_header(enc.bytes.begin(), enc.bytes.begin() + static_cast<std::ptrdiff_t>(h.header_size()));
    auto peeked = peek_header(only_header);
    REQUIRE(peeked.ok());
    CHECK(peeked.value().kiosk_id() == keys().kiosk.public_key.hex());
    CHECK(peeked.value().batch_id == h.batch_id);
    CHECK(peeked.value().record_count == 2);
    CHECK(peeked.value().total_size() == enc.bytes.size());
    CHECK(peeked.value().plaintext_sha256 == h.plaintext_sha256);
    only_header.pop_back();
    CHECK(peek_header(only_header).kind() == BatchErrorKind::Truncated);
}

TEST_CASE("batch: an unknown format version is refused with unsupported-version") {
    std::vector<Record> records = make_records(1, 50'000);
    std::string plain = plaintext_of(records);
    BatchHeader h = honest_header(records, plain);
    h.format_version = 2;
    Bytes signed_v2 = seal_batch(h, compress(plain), keys().kiosk, keys().commission.public_key);
    auto r = decode(signed_v2);
    REQUIRE(!r.ok());
    CHECK(r.kind() == BatchErrorKind::UnsupportedVersion);
    CHECK(r.error().message.find("version 2") != std::string::npos);
    Bytes patched = encode(records);
    patched[8] = 0;  // version 0 (the signature would fail too, but the version is read first)
    CHECK(kind_of(decode(patched)) == "unsupported-version");
}

TEST_CASE("batch: a batch from an unenrolled or unexpected signer is refused") {
    std::vector<Record> records = make_records(1, 60'000);
    Keys stranger;
    Bytes b = encode(records);
    auto nobody = decode_batch(b, [](const KioskPublicKey&) { return false; }, keys().commission, dictionaries_in(dict_dir()));
    REQUIRE(!nobody.ok());
    CHECK(nobody.kind() == BatchErrorKind::UnknownKiosk);
    CHECK(nobody.error().message.find(keys().kiosk.public_key.hex()) != std::string::npos);
    auto wrong_expected = decode_batch(b, stranger.kiosk.public_key, keys().commission, dictionaries_in(dict_dir()));
    CHECK(wrong_expected.kind() == BatchErrorKind::UnknownKiosk);
    // Someone swaps in an enrolled kiosk's key as the signer: the signature gives it away.
    Bytes swapped = b;
    std::copy(stranger.kiosk.public_key.bytes.begin(), stranger.kiosk.public_key.bytes.end(), swapped.begin() + 16);
    auto both = decode_batch(swapped, [&](const KioskPublicKey& k) { return k == stranger.kiosk.public_key || k == keys().kiosk.public_key; },
                             keys().commission, dictionaries_in(dict_dir()));
    CHECK(both.kind() == BatchErrorKind::BadSignature);
    // Sealed for another commission: signed fine, but this commission cannot open it.
    CHECK(kind_of(decode(b, Keys{keys().kiosk, stranger.commission})) == "not-for-this-commission");
}

TEST_CASE("batch: a flipped byte anywhere is refused: header, sealed key, every chunk, signature") {
    std::vector<Record> records = make_records(2, 70'000);
    EncodeOptions o;
    o.chunk_size = 4096;
    o.level = 3;
    Bytes good = encode(records, keys(), o);
    REQUIRE(decode(good).ok());
    const Parts p = parts_of(good);
    const std::uint64_t chunks = peek_header(good).value().chunk_count();
    REQUIRE(chunks >= 3);
    std::map<std::string, int> header_kinds;
    std::vector<std::size_t> accepted, not_signature;
    for (std::size_t at = 0; at < good.size(); ++at) {
        Bytes b = good;
        b[at] ^= static_cast<std::uint8_t>(1u << (at % 8));
        auto r = decode(b);
        if (r.ok()) {
            accepted.push_back(at);
        } else if (at < p.sealed_key) {
            ++header_kinds[batch_error_name(r.kind())];
        } else if (r.kind() != BatchErrorKind::BadSignature) {
            not_signature.push_back(at);
        }
    }
    CHECK(accepted.empty());
    CHECK(not_signature.empty());
    for (const auto& [kind, n] : header_kinds) MESSAGE("header flips refused as " << kind << ": " << n);
    CHECK(header_kinds["bad-signature"] > 0);  // most header fields are only caught by the signature
    CHECK(header_kinds["not-a-batch"] == 8);
    MESSAGE(good.size() << " positions flipped over " << chunks << " chunks; sealed key at " << p.sealed_key
                        << ", chunks at " << p.chunks << ", signature at " << p.signature);
}

TEST_CASE("batch: a truncated batch is refused at every length with truncated") {
    Bytes good = encode(make_records(1, 80'000));
    std::vector<std::size_t> wrong;
    for (std::size_t len = 0; len < good.size(); ++len) {
        Bytes b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
        auto r = decode(b);
        if (r.ok() || r.kind() != BatchErrorKind::Truncated) wrong.push_back(len);
    }
    CHECK(wrong.empty());
}

TEST_CASE("batch: trailing garbage is refused with trailing-data") {
    Bytes good = encode(make_records(1, 90'000));
    for (std::size_t extra : {std::size_t{1}, std::size_t{64}, good.size()}) {
        CAPTURE(extra);
        Bytes b = good;
        for (std::size_t i = 0; i < extra; ++i) b.push_back(good[i % good.size()]);
        CHECK(kind_of(decode(b)) == "trailing-data");
    }
}

TEST_CASE("batch: decompression bomb: a signed header claiming a huge size is refused before allocating") {
    std::vector<Record> records = make_records(1, 100'000);
    std::string plain = plaintext_of(records);
    BatchHeader h = honest_header(records, plain);
    h.plaintext_size = (1ull << 47) - 1;  // an allocation this size would throw or abort, not fail politely
    auto r = decode(seal_batch(h, compress(plain), keys().kiosk, keys().commission.public_key));
    REQUIRE(!r.ok());
    CHECK(r.kind() == BatchErrorKind::TooLarge);
    CHECK(r.error().message.find("max_decompressed_bytes") != std::string::npos);

    // A compressed-size claim over the limit is refused from the header alone, before the signature.
    Bytes b = encode(records);
    b[96 + 5] = 0x40;  // compressed_size += 2^46
    auto peeked = peek_header(b);
    CHECK(peeked.kind() == BatchErrorKind::TooLarge);
    CHECK(kind_of(decode(b)) == "too-large");
}

TEST_CASE("batch: decompression bomb: a payload inflating far past its small claim is stopped at the claim") {
    std::vector<Record> records = make_records(1, 110'000);
    std::string plain = plaintext_of(records);
    const Bytes bomb = zero_bomb(0x003fffff, 1ull << 30);  // 1 GiB of zeros behind a 4 MiB record length
    MESSAGE("1 GiB bomb compresses to " << bomb.size() << " bytes");
    CHECK(bomb.size() < 200'000);

    BatchHeader h = honest_header(records, plain);
    h.plaintext_size = 1 << 20;  // claims 1 MiB
    auto start = std::chrono::steady_clock::now();
    auto r = decode(seal_batch(h, bomb, keys().kiosk, keys().commission.public_key));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(!r.ok());
    CHECK(r.kind() == BatchErrorKind::TooLarge);
    CHECK(r.error().message.find("inflates beyond the 1048576 bytes") != std::string::npos);
    CHECK(seconds < 5.0);  // inflating the whole gigabyte would take far longer under the sanitizers

    // Claiming exactly the (lowered) limit: inflating stops at the limit, not at 1 GiB.
    BatchLimits limits;
    limits.max_decompressed_bytes = 16u << 20;
    limits.max_record_bytes = 64u << 20;
    const Bytes bomb2 = zero_bomb(0x03ffffff, 1ull << 30);
    h.plaintext_size = limits.max_decompressed_bytes;
    auto r2 = decode(seal_batch(h, bomb2, keys().kiosk, keys().commission.public_key), keys(), limits);
    REQUIRE(!r2.ok());
    CHECK(r2.kind() == BatchErrorKind::TooLarge);
    CHECK(r2.error().message.find("inflates beyond the 16777216 bytes") != std::string::npos);
}

TEST_CASE("batch: a record count over the limit is refused, by the decoder and by the encoder") {
    std::vector<Record> records = make_records(50, 120'000);
    EncodeOptions o;
    o.level = 3;
    Bytes b = encode(records, keys(), o);
    BatchLimits limits;
    limits.max_records = 49;
    auto r = decode(b, keys(), limits);
    REQUIRE(!r.ok());
    CHECK(r.kind() == BatchErrorKind::TooManyRecords);
    limits.max_records = 50;
    CHECK(decode(b, keys(), limits).ok());

    o.limits.max_records = 49;
    auto enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o);
    REQUIRE(!enc.ok());
    CHECK(enc.error().code == ErrorCode::LimitExceeded);
}

TEST_CASE("batch: a record over the record-size limit is refused, by the decoder and by the encoder") {
    std::vector<Record> records = make_records(3, 130'000);
    std::size_t largest = 0;
    for (const Record& r : records) largest = std::max(largest, frame_record(r).value().size() - 4);
    Bytes b = encode(records);
    BatchLimits limits;
    limits.max_record_bytes = static_cast<std::uint32_t>(largest - 1);
    auto r = decode(b, keys(), limits);
    REQUIRE(!r.ok());
    CHECK(r.kind() == BatchErrorKind::RecordTooLarge);
    CHECK(r.error().message.find("max_record_bytes") != std::string::npos);
    limits.max_record_bytes = static_cast<std::uint32_t>(largest);
    CHECK(decode(b, keys(), limits).ok());

    EncodeOptions o;
    o.limits.max_record_bytes = static_cast<std::uint32_t>(largest - 1);
    auto enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o);
    REQUIRE(!enc.ok());
    CHECK(enc.error().code == ErrorCode::LimitExceeded);
}

TEST_CASE("batch: a compressed or decompressed size over the limit stops the encoder: cut a smaller batch") {
    std::vector<Record> records = make_records(4, 140'000);
    EncodeOptions o;
    o.limits.max_decompressed_bytes = plaintext_of(records).size() - 1;
    auto enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o);
    REQUIRE(!enc.ok());
    CHECK(enc.error().code == ErrorCode::LimitExceeded);
    o = EncodeOptions{};
    o.limits.max_compressed_bytes = 1000;
    enc = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o);
    REQUIRE(!enc.ok());
    CHECK(enc.error().code == ErrorCode::LimitExceeded);
}

TEST_CASE("batch: signed lies inside a batch are caught: counts, hashes, altered records, broken streams") {
    Keys stranger;
    std::vector<Record> records = make_records(3, 150'000);
    EncodeOptions o;
    o.chunk_size = 4096;
    Bytes good = encode(records, keys(), o);
    for (const Forged& f : forge_all(keys(), stranger, records, good)) {
        CAPTURE(f.name);
        auto r = decode(f.bytes);
        REQUIRE(!r.ok());
        CHECK(batch_error_name(r.kind()) == std::string(batch_error_name(f.kind)));
        CHECK(!r.error().message.empty());
    }
}

TEST_CASE("batch: hand-made record frames: equivalent JSON is accepted, hidden or malformed data refused") {
    const Record r = make_record(170'000);
    const std::string h = r.meta.content_hash, d = r.data.dump();
    const std::string id = json(r.meta.id).dump();
    auto framed = [](const std::string& text) {
        std::string f;
        for (int i = 0; i < 4; ++i) f.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
        return f + text;
    };
    auto seal_text = [&](const std::string& plain, std::uint32_t records = 1) {
        BatchHeader hd = honest_header(std::vector<Record>{r}, plain);
        hd.record_count = records;
        hd.forms.front().records = records;
        return seal_batch(hd, compress(plain), keys().kiosk, keys().commission.public_key);
    };
    auto decode_text = [&](const std::string& plain, std::uint32_t records = 1) { return decode(seal_text(plain, records)); };
    // Keys in another order, indented data: not what frame_record writes, but the same record.
    const std::string reordered_frame =
        framed("{\"id\":" + id + ", \"form_version\":1, \"form_id\":\"alliance-2022\", \"submitted_ms\":" +
               std::to_string(*r.meta.submitted_ms) + ", \"content_hash\":\"" + h + "\", \"data\":" + r.data.dump(2) + "}");
    auto reordered = decode_text(reordered_frame);
    REQUIRE_MESSAGE(reordered.ok(), reordered.error().message);
    CHECK(reordered.value().records.at(0).data == r.data);
    // Its canonical text is the data re-serialised, not the frame's indented bytes: what the intake stores.
    std::vector<std::string> canonical;
    auto each = decode_batch_each(seal_text(reordered_frame), [](const KioskPublicKey& k) { return k == keys().kiosk.public_key; },
                                  keys().commission, dictionaries_in(dict_dir()), BatchLimits{},
                                  [&](DecodedRecord&& x) { canonical.push_back(std::move(x.canonical_data)); });
    REQUIRE(each.ok());
    CHECK(canonical == std::vector<std::string>{d});

    const std::string prefix = "{\"content_hash\":\"" + h + "\",\"data\":" + d;
    const std::string suffix = ",\"form_version\":1,\"id\":" + id + ",\"submitted_ms\":" + std::to_string(*r.meta.submitted_ms) + "}";
    const std::string evil = "{\"alliance_name\":\"冒名顶替的联盟\"}";
    // A second "data" key (JSON parsers keep the last) must not ride on the first one's hash.
    CHECK(kind_of(decode_text(framed(prefix + ",\"form_id\":\"alliance-2022\",\"data\":" + evil + suffix))) == "bad-record");
    CHECK(kind_of(decode_text(framed(prefix + ",\"data\":" + evil + ",\"form_id\":\"alliance-2022\"" + suffix))) == "bad-record");
    // Malformed frames.
    CHECK(kind_of(decode_text(framed("{\"id\":" + id + "}"))) == "bad-record");
    CHECK(kind_of(decode_text(framed("not json at all"))) == "bad-record");
    CHECK(kind_of(decode_text(framed(std::string(40, '[') + std::string(40, ']')))) == "bad-record");
    CHECK(kind_of(decode_text(std::string(4, '\0'))) == "bad-record");  // a zero-length record
    const std::string good = frame_record(r).value();
    CHECK(kind_of(decode_text(good.substr(0, good.size() - 10))) == "corrupt");  // ends inside a record
    CHECK(kind_of(decode_text(good + good, 2)) == "bad-record");  // the same id twice
    CHECK(decode_text(good).ok());
}

TEST_CASE("batch: the nesting limit holds at exactly kBatchMaxJsonDepth for canonical frames and for others") {
    // Canonical frames go through the decoder's fast parser first, others through
    // nlohmann's alone: both must draw the line at the same depth.
    auto nested = [](int frame_depth) {
        Record r = make_record(175'000);
        json deep = json::array();
        for (int d = 3; d < frame_depth; ++d) deep = json::array({deep});
        r.data["deep"] = deep;  // the frame, data and frame_depth - 2 arrays
        r.meta.content_hash = content_hash_of(r.data);
        return r;
    };
    for (int depth : {kBatchMaxJsonDepth - 1, kBatchMaxJsonDepth, kBatchMaxJsonDepth + 1, kBatchMaxJsonDepth + 2}) {
        CAPTURE(depth);
        Record r = nested(depth);
        std::string canonical = frame_record(r).value();
        std::string loose = canonical;  // a space after the first colon: not canonical, the same record
        loose.insert(loose.find(':') + 1, " ");
        loose[0] = static_cast<char>(loose.size() - 4);
        loose[1] = static_cast<char>((loose.size() - 4) >> 8);
        loose[2] = static_cast<char>((loose.size() - 4) >> 16);
        for (const std::string& plain : {canonical, loose}) {
            auto got = decode(seal_batch(honest_header(std::vector<Record>{r}, plain), compress(plain), keys().kiosk,
                                         keys().commission.public_key));
            if (depth <= kBatchMaxJsonDepth) {
                REQUIRE_MESSAGE(got.ok(), got.error().message);
                CHECK(got.value().records.at(0).data == r.data);
            } else {
                REQUIRE(!got.ok());
                CHECK(kind_of(got) == "bad-record");
                CHECK(got.error().message.find("deeper than") != std::string::npos);
            }
        }
    }
}

TEST_CASE("batch: the fast parser gives nlohmann's own values: number types, escapes, empty containers, big integers") {
    Record r = make_record(176'000);
    r.data["numbers"] = json{{"zero", 0}, {"neg", -5}, {"big", std::numeric_limits<std::uint64_t>::max()},
                             {"min", std::numeric_limits<std::int64_t>::min()}, {"float", 1.5}, {"exp", 1e20},
                             {"negzero", -0.0}, {"tiny", 5e-324}};
    r.data["texts"] = json::array({"", "\"quoted\" \\ back", "tab\tnew\nline\u0001", "中文 ✓ 𝄞"});
    r.data["empty"] = json{{"o", json::object()}, {"a", json::array()}, {"n", nullptr}, {"t", true}, {"f", false}};
    r.meta.content_hash = content_hash_of(r.data);
    auto got = decode(encode(std::vector<Record>{r}));
    REQUIRE_MESSAGE(got.ok(), got.error().message);
    const json& d = got.value().records.at(0).data;
    CHECK(d == r.data);
    CHECK(d.dump() == r.data.dump());
    const json& n = d["numbers"];
    CHECK(n["zero"].is_number_unsigned());  // as json::parse makes them
    CHECK(n["big"].is_number_unsigned());
    CHECK(n["neg"].is_number_integer());
    CHECK(!n["neg"].is_number_unsigned());
    CHECK(n["min"].get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
    CHECK(n["float"].is_number_float());
    CHECK(std::signbit(n["negzero"].get<double>()));
    CHECK(json::parse(r.data.dump()) == d);
}

TEST_CASE("batch: the encoder refuses records it must not send") {
    std::vector<Record> records = make_records(2, 160'000);
    auto refuses = [&](std::vector<Record> rs) {
        auto r = encode_batch(rs, keys().kiosk, keys().commission.public_key, *dict());
        return !r.ok() && r.error().code == ErrorCode::InvalidArgument;
    };
    CHECK(refuses({}));
    auto no_hash = records;
    no_hash[1].meta.content_hash.clear();
    CHECK(refuses(no_hash));
    auto altered = records;
    altered[0].data["alliance_name"] = "改过的名字";
    CHECK(refuses(altered));
    auto twice = records;
    twice[1].meta.id = twice[0].meta.id;
    CHECK(refuses(twice));
    auto not_object = records;
    not_object[0].data = json::array();
    not_object[0].meta.content_hash = content_hash_of(not_object[0].data);
    CHECK(refuses(not_object));
    auto bad_form = records;
    bad_form[0].meta.form_id = "Alliance 2022";
    CHECK(refuses(bad_form));
    EncodeOptions o;
    o.batch_id = "not-a-ulid";
    CHECK(!encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o).ok());
}

TEST_CASE("batch: canonical records seal to a batch that decodes to the same records, and are checked the same") {
    std::vector<Record> records = make_records(20, 170'000);
    records[4].review = RecordReview{ReviewDecision::Recommend, "", "王强", 1'700'000'000'000};
    std::vector<CanonicalRecord> canon;
    for (const Record& r : records) {
        auto c = canonical_record(Record(r));
        REQUIRE(c.ok());
        CHECK(c->data == r.data.dump());
        canon.push_back(std::move(c.value()));
    }
    EncodeOptions o;
    o.batch_id = new_ulid();
    o.created_ms = 1'700'000'000'000;
    auto from_parsed = encode_batch(records, keys().kiosk, keys().commission.public_key, *dict(), o);
    auto from_text = encode_batch(canon, keys().kiosk, keys().commission.public_key, *dict(), o);
    REQUIRE(from_parsed.ok());
    REQUIRE(from_text.ok());
    // Same frames, so the same plaintext (the sealed bytes differ: a fresh key each time).
    CHECK(from_text->header.plaintext_sha256 == from_parsed->header.plaintext_sha256);
    CHECK(from_text->header.plaintext_size == from_parsed->header.plaintext_size);
    auto got = decode(from_text->bytes);
    REQUIRE(got.ok());
    REQUIRE(got->records.size() == records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        CHECK(got->records[i].data == records[i].data);
        CHECK(frame_record(got->records[i]).value() == frame_record(records[i]).value());
    }

    auto refuses = [&](std::vector<CanonicalRecord> rs) {
        auto r = encode_batch(rs, keys().kiosk, keys().commission.public_key, *dict());
        return !r.ok() && r.error().code == ErrorCode::InvalidArgument;
    };
    auto altered = canon;
    altered[3].data.insert(1, "\"x\":1,");  // still an object's text, no longer the hashed one
    CHECK(refuses(altered));
    auto not_object = canon;
    not_object[0].data = "[1,2]";
    not_object[0].meta.content_hash = content_hash_of(json::parse("[1,2]"));
    CHECK(refuses(not_object));
    auto twice = canon;
    twice[1].meta.id = twice[0].meta.id;
    CHECK(refuses(twice));
    // Data that cannot be serialised (not UTF-8) is named, not thrown.
    Record bad = records[0];
    bad.data["alliance_name"] = std::string("\xff\xfe");
    auto c = canonical_record(std::move(bad));
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == ErrorCode::InvalidArgument);
    CHECK(c.error().message.find(records[0].meta.id) != std::string::npos);
}

TEST_CASE("batch: a record's review decision travels and round-trips, and a bad one is refused with bad-record") {
    std::vector<Record> records = make_records(3, 180'000);
    records[0].review = RecordReview{ReviewDecision::Recommend, "材料齐全", "李娜", 1'650'000'000'001};
    records[2].review = RecordReview{ReviewDecision::NotRecommend, "科技人员不足30人", "王强", 1'650'000'000'002};
    auto decoded = decode(encode(records));
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().message);
    REQUIRE(decoded.value().records.size() == 3);
    CHECK(decoded.value().records[0].review == records[0].review);
    CHECK_FALSE(decoded.value().records[1].review.has_value());  // optional: a record without one still decodes
    CHECK(decoded.value().records[2].review == records[2].review);
    // The frame is canonical: the review sits between "id" and "submitted_ms", keys sorted.
    const std::string frame = frame_record(records[0]).value();
    CHECK(frame.find(",\"review\":{\"at_ms\":1650000000001,\"decision\":\"recommend\",\"reason\":\"材料齐全\",\"reviewer\":\"李娜\"},"
                     "\"submitted_ms\":") != std::string::npos);

    // The encoder refuses what the decoder would: a non-final decision, a not-recommend without a reason.
    auto refused = [&](const RecordReview& review) {
        std::vector<Record> one = {records[1]};
        one[0].review = review;
        auto r = encode_batch(one, keys().kiosk, keys().commission.public_key, *dict());
        return !r.ok() && r.error().code == ErrorCode::InvalidArgument;
    };
    CHECK(refused(RecordReview{ReviewDecision::Return, "请补充", "李娜", 1}));
    CHECK(refused(RecordReview{ReviewDecision::NotRecommend, " ", "李娜", 1}));
    CHECK(refused(RecordReview{ReviewDecision::Recommend, "", "", 1}));

    // Hand-made frames (correctly signed): every bad review is a typed bad-record naming the problem.
    const Record& r = records[1];
    auto with_review = [&](const std::string& review_json) {
        std::string body = "{\"content_hash\":\"" + r.meta.content_hash + "\",\"data\":" + r.data.dump() +
                           ",\"form_id\":\"alliance-2022\",\"form_version\":1,\"id\":\"" + r.meta.id + "\",\"review\":" + review_json +
                           ",\"submitted_ms\":" + std::to_string(*r.meta.submitted_ms) + "}";
        std::string plain;
        for (int i = 0; i < 4; ++i) plain.push_back(static_cast<char>((body.size() >> (8 * i)) & 0xff));
        plain += body;
        return decode(seal_batch(honest_header(std::vector<Record>{r}, plain), compress(plain), keys().kiosk, keys().commission.public_key));
    };
    auto good = with_review(R"({"at_ms":5,"decision":"not-recommend","reason":"不符合条件","reviewer":"王强"})");
    REQUIRE_MESSAGE(good.ok(), good.error().message);
    CHECK(good.value().records[0].review == RecordReview{ReviewDecision::NotRecommend, "不符合条件", "王强", 5});
    auto unknown = with_review(R"({"at_ms":5,"decision":"maybe","reason":"","reviewer":"王强"})");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.kind() == BatchErrorKind::BadRecord);
    CHECK(unknown.error().message.find("unknown decision 'maybe'") != std::string::npos);
    CHECK(unknown.error().message.find(r.meta.id) != std::string::npos);
    auto not_final = with_review(R"({"at_ms":5,"decision":"return","reason":"请补充","reviewer":"王强"})");
    CHECK(kind_of(not_final) == "bad-record");
    CHECK(not_final.error().message.find("not final") != std::string::npos);
    auto no_reason = with_review(R"({"at_ms":5,"decision":"not-recommend","reason":"","reviewer":"王强"})");
    CHECK(kind_of(no_reason) == "bad-record");
    CHECK(no_reason.error().message.find("needs a reason") != std::string::npos);
    CHECK(kind_of(with_review(R"({"at_ms":5,"decision":"recommend","reason":"","reviewer":"王强","extra":1})")) == "bad-record");
    CHECK(kind_of(with_review(R"({"at_ms":"5","decision":"recommend","reason":"","reviewer":"王强"})")) == "bad-record");
    CHECK(kind_of(with_review(R"("recommend")")) == "bad-record");
}

TEST_CASE("batch: dictionaries load by id from assets/dict and are checked") {
    auto d = load_dictionary(kCurrentDictionaryId, dict_dir());
    REQUIRE(d.ok());
    CHECK(d.value()->id() == kCurrentDictionaryId);
    CHECK(d.value()->bytes().size() >= 64 * 1024);
    CHECK(d.value()->bytes().size() <= 112 * 1024);
    CHECK(load_dictionary(12345, dict_dir()).error().code == ErrorCode::NotFound);
    test::TempDir tmp;
    test::write_file(tmp.file("7.zdict"), d.value()->bytes());  // the right dictionary under the wrong id
    CHECK(!load_dictionary(7, tmp.path()).ok());
    test::write_file(tmp.file("8.zdict"), "not a dictionary");
    CHECK(!load_dictionary(8, tmp.path()).ok());
    auto lookup = dictionaries_in(dict_dir());
    CHECK(lookup(kCurrentDictionaryId) == lookup(kCurrentDictionaryId));  // loaded once, shared
    CHECK(lookup(12345) == nullptr);
}

TEST_CASE("batch: kiosk and commission key files: 0600, round trip, refused when exposed or damaged") {
    test::TempDir dir;
    KioskIdentity id = generate_kiosk_identity();
    CommissionKeyPair ck = generate_commission_keys();
    REQUIRE(save_kiosk_identity(dir.file("kiosk.key"), id).ok());
    REQUIRE(save_commission_keys(dir.file("commission.key"), ck).ok());
    struct stat st {};
    REQUIRE(::stat(dir.file("kiosk.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(save_kiosk_identity(dir.file("kiosk.key"), id).error().code == ErrorCode::KeyFile);  // never overwritten

    auto id2 = load_kiosk_identity(dir.file("kiosk.key"));
    REQUIRE(id2.ok());
    CHECK(id2.value().public_key == id.public_key);
    CHECK(id2.value().secret_key == id.secret_key);
    auto ck2 = load_commission_keys(dir.file("commission.key"));
    REQUIRE(ck2.ok());
    CHECK(ck2.value().public_key == ck.public_key);
    CHECK(ck2.value().secret_key == ck.secret_key);
    // The wrong kind of file is named as such.
    CHECK(load_commission_keys(dir.file("kiosk.key")).error().message.find("commission-x25519-secret") != std::string::npos);

    ::chmod(dir.file("kiosk.key").c_str(), 0644);
    auto exposed = load_kiosk_identity(dir.file("kiosk.key"));
    REQUIRE(!exposed.ok());
    CHECK(exposed.error().message.find("chmod 600") != std::string::npos);

    std::string text = test::read_file(dir.file("commission.key"));
    std::size_t at = text.find("commission-x25519-public: ") + 30;
    text[at] = text[at] == '0' ? '1' : '0';
    test::write_file(dir.file("damaged.key"), text);
    ::chmod(dir.file("damaged.key").c_str(), 0600);
    CHECK(load_commission_keys(dir.file("damaged.key")).error().code == ErrorCode::KeyFile);
    CHECK(load_kiosk_identity(dir.file("missing.key")).error().code == ErrorCode::KeyFile);

    // Public keys travel as hex or base64.
    CHECK(parse_kiosk_public_key(id.public_key.hex(), "test").value() == id.public_key);
    CHECK(parse_kiosk_public_key(" " + id.public_key.base64() + "\n", "test").value() == id.public_key);
    CHECK(parse_commission_public_key(ck.public_key.base64(), "test").value() == ck.public_key);
    CHECK(!parse_commission_public_key(ck.public_key.hex().substr(1), "test").ok());
    CHECK(!parse_commission_public_key(std::string(64, 'g'), "test").ok());
}

TEST_CASE("batch: golden batches: the committed files decode, or are refused, as their names say") {
    if (const char* regen = std::getenv("SHENBAO_REGENERATE_GOLDEN"); regen && *regen) regenerate_golden(regen);
    test::TempDir tmp;
    auto kiosk = load_kiosk_identity(private_copy(tmp, "golden-kiosk.key"));
    auto commission = load_commission_keys(private_copy(tmp, "golden-commission.key"));
    REQUIRE(kiosk.ok());
    REQUIRE(commission.ok());
    auto decode_file = [&](const std::string& name) {
        return decode_batch(read_bytes(golden_dir() + "/" + name), kiosk.value().public_key, commission.value(),
                            dictionaries_in(dict_dir()));
    };

    json expected = json::parse(test::read_file(golden_dir() + "/golden-3-records.expected.json"));
    auto golden = decode_file("golden-3-records.batch");
    REQUIRE_MESSAGE(golden.ok(), golden.error().message);
    CHECK(golden.value().header.batch_id == expected["batch_id"].get<std::string>());
    CHECK(golden.value().header.kiosk_id() == expected["kiosk_id"].get<std::string>());
    CHECK(golden.value().header.dictionary_id == expected["dictionary_id"].get<std::uint32_t>());
    REQUIRE(golden.value().records.size() == expected["records"].size());
    for (std::size_t i = 0; i < golden.value().records.size(); ++i) {
        const RecordMeta& m = golden.value().records[i].meta;
        const json& e = expected["records"][i];
        CHECK(m.id == e["id"].get<std::string>());
        CHECK(m.form_id == e["form_id"].get<std::string>());
        CHECK(m.form_version == e["form_version"].get<int>());
        CHECK(m.content_hash == e["content_hash"].get<std::string>());
        CHECK(m.submitted_ms == e["submitted_ms"].get<std::int64_t>());
    }

    const std::map<std::string, BatchErrorKind> corrupt = {
        {"not-a-batch.txt", BatchErrorKind::NotABatch},
        {"truncated-mid-chunk.batch", BatchErrorKind::Truncated},
        {"trailing-garbage.batch", BatchErrorKind::TrailingData},
        {"flipped-byte-in-sealed-key.batch", BatchErrorKind::BadSignature},
        {"flipped-byte-in-chunk-2.batch", BatchErrorKind::BadSignature},
        {"flipped-byte-in-signature.batch", BatchErrorKind::BadSignature},
        {"flipped-byte-in-form-table.batch", BatchErrorKind::BadSignature},
        {"unsupported-version-2.batch", BatchErrorKind::UnsupportedVersion},
        {"signed-by-unenrolled-kiosk.batch", BatchErrorKind::UnknownKiosk},
        {"sealed-to-another-commission.batch", BatchErrorKind::NotForThisCommission},
        {"unknown-dictionary-12345.batch", BatchErrorKind::UnknownDictionary},
        {"claims-1-tib-plaintext.batch", BatchErrorKind::TooLarge},
        {"claims-20000-records.batch", BatchErrorKind::TooManyRecords},
        {"bomb-inflates-1-gib-past-1-mib-claim.batch", BatchErrorKind::TooLarge},
        {"claims-one-record-more-than-it-holds.batch", BatchErrorKind::Mismatch},
        {"plaintext-hash-mismatch.batch", BatchErrorKind::Mismatch},
        {"record-altered-after-submit.batch", BatchErrorKind::BadRecord},
        {"data-after-compressed-frame.batch", BatchErrorKind::Corrupt},
        {"compressed-stream-is-noise.batch", BatchErrorKind::Corrupt},
        {"review-with-unknown-decision.batch", BatchErrorKind::BadRecord},
    };
    for (const auto& [name, kind] : corrupt) {
        CAPTURE(name);
        auto r = decode_file(name);
        REQUIRE(!r.ok());
        CHECK(batch_error_name(r.kind()) == std::string(batch_error_name(kind)));
    }
    // Every committed batch file is checked here: none is left untested.
    const std::set<std::string> other = {"golden-3-records.batch", "golden-3-records.expected.json", "golden-kiosk.key",
                                         "golden-commission.key", "README.md"};
    for (const auto& e : std::filesystem::directory_iterator(golden_dir())) {
        std::string name = e.path().filename().string();
        CHECK_MESSAGE((corrupt.count(name) == 1 || other.count(name) == 1), name << " is not checked by this test");
    }
}
