// The batch: how submitted records travel from a kiosk to the commission.
//
// A batch is one self-contained file. Its records are framed, compressed with
// zstd using a trained dictionary, encrypted with libsodium's secretstream
// (XChaCha20-Poly1305) under a fresh random key, that key is sealed to the
// commission's X25519 public key (crypto_box_seal), and everything is signed
// with the kiosk's Ed25519 key (crypto_sign_detached). The header is plaintext,
// so the intake can find the signer and refuse oversized claims cheaply, but
// the signature covers it, and it is also the associated data of the last
// encrypted chunk.
//
// [SECTION] File layout, format version 1. Integers are little-endian.
//
// | offset  | size | field             | meaning                                                     |
// |---------|------|-------------------|-------------------------------------------------------------|
// | 0       | 8    | magic             | 89 53 48 42 0D 0A 1A 0A ("\x89SHB\r\n\x1a\n", PNG-style)     |
// | 8       | 2    | format_version    | u16 = 1; any other value is refused (unsupported-version)   |
// | 10      | 2    | header_size       | u16 = H: bytes from offset 0 to the end of the form table   |
// | 12      | 4    | flags             | u32, 0 in version 1 (anything else: bad-header)             |
// | 16      | 32   | kiosk_key         | the signer's Ed25519 public key; it is the kiosk id         |
// | 48      | 26   | batch_id          | ULID, 26 ASCII Crockford base32 characters                  |
// | 74      | 2    | form_count        | u16 F, 1..255: entries in the form table                    |
// | 76      | 8    | created_ms        | i64 Unix ms when the kiosk sealed the batch                 |
// | 84      | 4    | record_count      | u32 ≥ 1: records in the plaintext                           |
// | 88      | 4    | dictionary_id     | u32 zstd dictionary id: assets/dict/<id>.zdict              |
// | 92      | 4    | chunk_size        | u32 C, 4 KiB..1 MiB: compressed bytes per encrypted chunk   |
// | 96      | 8    | compressed_size   | u64 Z ≥ 1: bytes of the zstd frame                          |
// | 104     | 8    | plaintext_size    | u64 P: bytes of the framed records before compression       |
// | 112     | 32   | plaintext_sha256  | SHA-256 of those P bytes                                    |
// | 144     | var  | form table        | F × { u8 n (1..64), n bytes form_id ([a-z0-9-]),            |
// |         |      |                   |       u32 form_version (≥ 1), u32 records of that form };   |
// |         |      |                   | sorted by (form_id, form_version), no repeats, the records  |
// |         |      |                   | summing to record_count                                     |
// | H       | 80   | sealed_key        | crypto_box_seal(32-byte secretstream key, commission key)   |
// | H+80    | 24   | stream_header     | crypto_secretstream_xchacha20poly1305 header                |
// | H+104   | var  | chunks            | N = max(1, ceil(Z / C)) chunks, each min(C, rest) bytes of  |
// |         |      |                   | the zstd frame + 17 bytes: TAG_MESSAGE with no associated   |
// |         |      |                   | data, except the last: TAG_FINAL, associated data = [0, H)  |
// | end-64  | 64   | signature         | Ed25519 over every byte before it                           |
//
// Total size = H + 80 + 24 + Z + 17·N + 64, so a batch one byte short or long
// is refused before any cryptography (truncated / trailing-data).
//
// The zstd frame uses the dictionary named in the header (its frame header
// repeats the dictionary id) and a window of at most 8 MiB (decoders refuse more).
//
// [SECTION] Plaintext: the framed records, one after another, nothing between.
//
// | size | field  | meaning                                                              |
// |------|--------|----------------------------------------------------------------------|
// | 4    | length | u32 L, 1..max_record_bytes                                           |
// | L    | json   | one record as canonical JSON (keys sorted, no spaces, UTF-8 as is):  |
// |      |        | {"content_hash":"<sha256 hex of data>","data":{…},"form_id":"…",     |
// |      |        |  "form_version":1,"id":"<ULID>","submitted_ms":<int or null>}        |
// |      |        | plus, when the district reviewed it (review.h), between "id" and     |
// |      |        | "submitted_ms": "review":{"at_ms":<int>,"decision":"recommend" or    |
// |      |        | "not-recommend","reason":"…","reviewer":"…"}                         |
//
// content_hash is content_hash_of(data) (store.h) and is checked on decoding, so
// each record arrives byte-identical to what the kiosk froze at submit. Other
// RecordMeta fields do not travel; decoded records have status Submitted.
// The "review" member is optional (so batches written before it still decode:
// it is not a new format version); when present it must hold exactly those four
// keys, a final decision (an unknown decision, or "return", is bad-record), and
// pass review_input_problem (a reviewer name; a reason for not-recommend). It is
// Record::review; the content hash covers the data only, the signature covers both.
//
// [SECTION] What decoding checks, in order (each failure has its BatchErrorKind)
//  1. magic, version, header fields, claimed sizes and count against BatchLimits
//     (before any allocation sized by the input)
//  2. exact total size        3. signer enrolled / expected   4. signature
//  5. dictionary known        6. sealed key opens             7. chunks decrypt
//  8. zstd inflates no further than the claimed plaintext size, record by record
//  9. every record well formed, under max_record_bytes, of a listed form, hash right,
//     its review (if any) a known final decision
// 10. plaintext size, SHA-256, record count and per-form counts equal the header's
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "shenbao/crypto.h"
#include "shenbao/result.h"
#include "shenbao/store.h"

namespace shenbao {

inline constexpr std::uint16_t kBatchFormatVersion = 1;
inline constexpr std::size_t kBatchFixedHeaderBytes = 144;
inline constexpr std::size_t kBatchSealedKeyBytes = 80;
inline constexpr std::size_t kBatchStreamHeaderBytes = 24;
inline constexpr std::size_t kBatchChunkOverheadBytes = 17;
inline constexpr std::size_t kBatchSignatureBytes = 64;
inline constexpr std::uint32_t kBatchDefaultChunkSize = 64 * 1024;
inline constexpr std::uint32_t kBatchMinChunkSize = 4 * 1024;
inline constexpr std::uint32_t kBatchMaxChunkSize = 1024 * 1024;
inline constexpr std::size_t kBatchMaxForms = 255;
inline constexpr std::size_t kBatchMaxFormIdBytes = 64;
// Deeper JSON nesting in a record is refused before parsing (form data is at most 3 deep).
inline constexpr int kBatchMaxJsonDepth = 16;
// The zstd level encode_batch uses unless told otherwise.
inline constexpr int kBatchDefaultLevel = 19;

// The dictionary this build compresses with (assets/dict/<id>.zdict, see its README).
// Decoders accept any dictionary present in assets/dict/.
inline constexpr std::uint32_t kCurrentDictionaryId = 629844214;

// Limits on what a decoder accepts; checked against the header's claims before
// allocating, and again while inflating. The encoder refuses to produce a batch
// its limits would refuse, so the agent learns to cut smaller batches at home.
struct BatchLimits {
    std::uint64_t max_compressed_bytes = 32ull << 20;    // zstd frame bytes (Z)
    std::uint64_t max_decompressed_bytes = 128ull << 20; // framed plaintext bytes (P)
    std::uint32_t max_records = 10'000;                  // records in one batch
    std::uint32_t max_record_bytes = 4u << 20;           // one record's JSON (L)
};

// One entry of the header's form table.
struct BatchFormCount {
    std::string form_id;
    int form_version = 0;
    std::uint32_t records = 0;
    friend bool operator==(const BatchFormCount&, const BatchFormCount&) = default;
};

// The parsed header (layout above).
struct BatchHeader {
    std::uint16_t format_version = kBatchFormatVersion;
    KioskPublicKey kiosk;  // the signer; its hex is the kiosk id
    std::string batch_id;  // ULID
    std::int64_t created_ms = 0;
    std::uint32_t record_count = 0;
    std::uint32_t dictionary_id = 0;
    std::uint32_t chunk_size = kBatchDefaultChunkSize;
    std::uint64_t compressed_size = 0;
    std::uint64_t plaintext_size = 0;
    std::array<std::uint8_t, 32> plaintext_sha256{};
    std::vector<BatchFormCount> forms;

    std::string kiosk_id() const { return kiosk.hex(); }
    std::size_t header_size() const;   // H: fixed part plus the form table
    std::uint64_t chunk_count() const; // N
    std::uint64_t total_size() const;  // the whole file; valid once the sizes are in range
};

enum class BatchErrorKind {
    NotABatch,             // no batch magic: some other file
    Truncated,             // shorter than its header says (or than a header)
    TrailingData,          // longer than its header says
    UnsupportedVersion,    // a format version this program does not read
    BadHeader,             // a malformed header field (flags, ULID, form table, chunk size)
    TooLarge,              // a claimed size over a limit, or a payload inflating beyond its claim
    TooManyRecords,        // a claimed record count over the limit
    RecordTooLarge,        // one record over max_record_bytes
    UnknownKiosk,          // the signer is not enrolled (or not the expected key)
    BadSignature,          // the signature does not verify: altered, or not signed by that kiosk
    UnknownDictionary,     // no dictionary with the header's id here
    NotForThisCommission,  // the sealed key does not open with this commission key
    Corrupt,               // signed, but the encrypted or compressed stream is broken
    Mismatch,              // the contents disagree with the header (size, hash, counts)
    BadRecord,             // a record is not the documented JSON, repeats an id, or its hash is wrong
};

// Short stable name, for logs, receipts and tests ("bad-signature").
const char* batch_error_name(BatchErrorKind kind);

struct BatchError {
    BatchErrorKind kind;
    std::string message;  // for a person: what is wrong with which batch, what to do
    // As a core Error (ErrorCode::BadBatch, "<kind-name>: <message>").
    Error to_error() const;
};

// Result of a decoding step: the value or a typed BatchError.
template <typename T>
class [[nodiscard]] BatchResult {
public:
    BatchResult(T value) : v_(std::move(value)) {}
    BatchResult(BatchError error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // Valid only when ok().
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    // Valid only when !ok().
    const BatchError& error() const { return std::get<1>(v_); }
    BatchErrorKind kind() const { return error().kind; }

private:
    std::variant<T, BatchError> v_;
};

// [SECTION] Dictionaries

// A zstd dictionary, digested once for decoding; immutable and safe to share
// between threads.
class BatchDictionary {
public:
    // Checks `bytes` is a zstd dictionary with a nonzero id; `source` names it in errors.
    static Result<std::shared_ptr<const BatchDictionary>> from_bytes(std::string bytes, std::string_view source);
    ~BatchDictionary();
    BatchDictionary(const BatchDictionary&) = delete;
    BatchDictionary& operator=(const BatchDictionary&) = delete;

    std::uint32_t id() const { return id_; }
    const std::string& bytes() const { return bytes_; }

    struct Digested;  // opaque: the zstd decoding dictionary
    const Digested* digested() const { return digested_.get(); }

private:
    BatchDictionary(std::string bytes, std::uint32_t id, std::unique_ptr<Digested> digested);
    std::string bytes_;
    std::uint32_t id_;
    std::unique_ptr<Digested> digested_;
};

// Finds a dictionary by id; nullptr when there is none.
using DictionaryLookup = std::function<std::shared_ptr<const BatchDictionary>(std::uint32_t id)>;

// assets_dir() + "/dict".
std::string dictionary_dir();
// Loads `<dir>/<id>.zdict` (at most 1 MiB) and checks its embedded id is `id`.
Result<std::shared_ptr<const BatchDictionary>> load_dictionary(std::uint32_t id,
                                                               const std::string& dir = dictionary_dir());
// A lookup over `<dir>/<id>.zdict` files that loads each once and keeps it. Thread-safe.
DictionaryLookup dictionaries_in(const std::string& dir = dictionary_dir());

// [SECTION] Encoding

struct EncodeOptions {
    std::string batch_id;       // empty: a new ULID
    std::int64_t created_ms = 0; // 0: now
    int level = kBatchDefaultLevel;
    std::uint32_t chunk_size = kBatchDefaultChunkSize;
    BatchLimits limits;         // the intake's limits: a batch they would refuse is an error here
};

struct EncodedBatch {
    BatchHeader header;
    std::vector<std::uint8_t> bytes;  // the whole batch file
};

// Frames, compresses, encrypts, seals and signs `records` (1..limits.max_records,
// each with data an object and content_hash == content_hash_of(data), no id twice).
// Streams record by record: besides the records and the result it holds one
// record's frame, one chunk and the zstd state. Errors: InvalidArgument (a record
// unfit to send; the message names it), LimitExceeded (over `options.limits`: cut
// a smaller batch; a lone record over max_record_bytes can never be sent).
Result<EncodedBatch> encode_batch(std::span<const Record> records, const KioskIdentity& kiosk,
                                  const CommissionPublicKey& commission, const BatchDictionary& dictionary,
                                  const EncodeOptions& options = {});

// A record with its data already in canonical JSON (data.dump(): the bytes its
// content hash covers). A batch waiting to be sealed is held this way by the
// sync agent: the text takes about a third of the parsed JSON's memory, and the
// data is serialised once, not once per check.
struct CanonicalRecord {
    RecordMeta meta;
    std::optional<RecordReview> review;
    std::string data;  // canonical JSON text of an object
};

// `record` with its data serialised; InvalidArgument (naming the record) when
// the data cannot be (e.g. a string that is not UTF-8).
Result<CanonicalRecord> canonical_record(Record&& record);

// encode_batch for canonical records: the same bytes as from the parsed records.
// The data must be a JSON object's text whose SHA-256 is content_hash.
Result<EncodedBatch> encode_batch(std::span<const CanonicalRecord> records, const KioskIdentity& kiosk,
                                  const CommissionPublicKey& commission, const BatchDictionary& dictionary,
                                  const EncodeOptions& options = {});

// [SECTION] Decoding

// Whether a kiosk key is enrolled at this commission.
using KioskEnrolled = std::function<bool(const KioskPublicKey& kiosk)>;

struct DecodedBatch {
    BatchHeader header;
    std::vector<Record> records;  // in batch order
};

// One checked record as decode_batch_each hands it over, with the exact bytes its
// content hash covers: the kiosk's data.dump() (sorted keys, no spaces), taken from
// the frame when it was written canonically, else re-serialised from the parsed
// data. Either way SHA-256(canonical_data) == record.meta.content_hash, so a
// caller storing the canonical text need not dump the data again.
struct DecodedRecord {
    Record record;
    std::string canonical_data;
};

// Parses and checks the header alone (step 1 above): enough bytes for the
// header suffice, so the intake can find the kiosk id and refuse oversized
// claims before receiving or verifying the rest. Proves nothing about the signer.
BatchResult<BatchHeader> peek_header(std::span<const std::uint8_t> bytes, const BatchLimits& limits = {});

// Verifies, decrypts and inflates a whole batch (every check above). Memory is
// bounded by the limits: the records themselves, one record's frame, one chunk,
// and up to 2 MiB of plaintext queued for the helper thread that hashes it while
// this one parses (started and joined inside each call).
BatchResult<DecodedBatch> decode_batch(std::span<const std::uint8_t> bytes, const KioskEnrolled& enrolled,
                                       const CommissionKeyPair& commission, const DictionaryLookup& dictionaries,
                                       const BatchLimits& limits = {});
// The same, accepting only `signer` (the sync agent's self-check, tests).
BatchResult<DecodedBatch> decode_batch(std::span<const std::uint8_t> bytes, const KioskPublicKey& signer,
                                       const CommissionKeyPair& commission, const DictionaryLookup& dictionaries,
                                       const BatchLimits& limits = {});
// The same, handing each record (with its canonical data text) to `on_record` as
// soon as it is checked instead of collecting them. The batch is only good if the
// result is ok: records come before the final plaintext hash and count checks, so
// keep them uncommitted until then.
BatchResult<BatchHeader> decode_batch_each(std::span<const std::uint8_t> bytes, const KioskEnrolled& enrolled,
                                           const CommissionKeyPair& commission,
                                           const DictionaryLookup& dictionaries, const BatchLimits& limits,
                                           const std::function<void(DecodedRecord&&)>& on_record);

// Bytes of a std::string (e.g. an HTTP body) for the calls above.
inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// [SECTION] Lower-level pieces, for tools/train_dict and tests. The product uses
// encode_batch / decode_batch.

// One record's plaintext frame (4-byte length + canonical JSON), exactly as
// encode_batch writes it. InvalidArgument when the data cannot be serialised.
Result<std::string> frame_record(const Record& record);

// One zstd frame of `plaintext` at `level`, with `dictionary` or (nullptr) none.
Result<std::vector<std::uint8_t>> compress_payload(std::span<const std::uint8_t> plaintext,
                                                   const BatchDictionary* dictionary, int level = kBatchDefaultLevel);

// Encrypts `compressed` into chunks, seals a fresh key to `commission` and signs
// with `kiosk`, under a header whose claims the caller vouches for: every field
// is written as given except kiosk and compressed_size, which are set here.
// Nothing is checked — this is how tests build well-signed lies.
std::vector<std::uint8_t> seal_batch(BatchHeader header, std::span<const std::uint8_t> compressed,
                                     const KioskIdentity& kiosk, const CommissionPublicKey& commission);

}  // namespace shenbao
