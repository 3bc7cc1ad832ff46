// The batch format (layout and checks documented in shenbao/batch.h).
//
// [SECTION] Little-endian fields and the header
// [SECTION] Errors
// [SECTION] Dictionaries
// [SECTION] Record frames
// [SECTION] Sealing (encrypt chunks, seal the key, sign)
// [SECTION] Encoding
// [SECTION] Decoding
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <variant>

#include <simdjson.h>
#include <sodium.h>
// For two enum names only (ZSTD_c_forceAttachDict, ZSTD_dictForceLoad), passed to the
// stable ZSTD_CCtx_setParameter; no experimental function is called, so the shared
// libzstd serves.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "shenbao/batch.h"
#include "shenbao/form.h"

namespace shenbao {

using nlohmann::json;

namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {0x89, 'S', 'H', 'B', '\r', '\n', 0x1a, '\n'};
// Largest zstd window a batch may use (2^23 = 8 MiB): bounds the decoder's memory.
constexpr int kMaxWindowLog = 23;
// No claimed size beyond this is plausible whatever the limits say; keeps size arithmetic far from overflow.
constexpr std::uint64_t kSizeCeiling = 1ull << 48;
constexpr std::size_t kMaxDictionaryBytes = 1u << 20;

void ensure_sodium() {
    static const bool ok = sodium_init() >= 0;
    if (!ok) std::abort();  // libsodium cannot run here at all: nothing safe to do
}

// [SECTION] Little-endian fields and the header

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_le(const std::uint8_t* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::size_t form_id_bytes(const BatchFormCount& f) { return std::min<std::size_t>(f.form_id.size(), 255); }
std::size_t form_count_written(const BatchHeader& h) { return std::min<std::size_t>(h.forms.size(), 0xffff); }

std::vector<std::uint8_t> serialize_header(const BatchHeader& h) {
    std::vector<std::uint8_t> out;
    out.reserve(h.header_size());
    out.insert(out.end(), kMagic.begin(), kMagic.end());
    put_le(out, h.format_version, 2);
    put_le(out, h.header_size(), 2);
    put_le(out, 0, 4);  // flags
    out.insert(out.end(), h.kiosk.bytes.begin(), h.kiosk.bytes.end());
    std::string id = h.batch_id;
    id.resize(26, '\0');
    out.insert(out.end(), id.begin(), id.end());
    put_le(out, form_count_written(h), 2);
    put_le(out, static_cast<std::uint64_t>(h.created_ms), 8);
    put_le(out, h.record_count, 4);
    put_le(out, h.dictionary_id, 4);
    put_le(out, h.chunk_size, 4);
    put_le(out, h.compressed_size, 8);
    put_le(out, h.plaintext_size, 8);
    out.insert(out.end(), h.plaintext_sha256.begin(), h.plaintext_sha256.end());
    for (std::size_t i = 0; i < form_count_written(h); ++i) {
        const BatchFormCount& f = h.forms[i];
        put_le(out, form_id_bytes(f), 1);
        out.insert(out.end(), f.form_id.begin(), f.form_id.begin() + static_cast<std::ptrdiff_t>(form_id_bytes(f)));
        put_le(out, static_cast<std::uint32_t>(f.form_version), 4);
        put_le(out, f.records, 4);
    }
    return out;
}

bool is_ulid(std::string_view s) {
    static constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if (s.size() != 26 || s[0] > '7') return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return kCrockford.find(c) != std::string_view::npos; });
}

bool is_form_id(std::string_view s) {
    return !s.empty() && s.size() <= kBatchMaxFormIdBytes &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool is_sha256_hex(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string to_hex(const std::uint8_t* p, std::size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), p, n);
    out.pop_back();
    return out;
}

std::string size_text(std::uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

std::size_t BatchHeader::header_size() const {
    std::size_t n = kBatchFixedHeaderBytes;
    for (std::size_t i = 0; i < form_count_written(*this); ++i) n += 1 + form_id_bytes(forms[i]) + 8;
    return n;
}

std::uint64_t BatchHeader::chunk_count() const {
    if (chunk_size == 0) return 1;
    return std::max<std::uint64_t>(1, (compressed_size + chunk_size - 1) / chunk_size);
}

std::uint64_t BatchHeader::total_size() const {
    return header_size() + kBatchSealedKeyBytes + kBatchStreamHeaderBytes + compressed_size +
           kBatchChunkOverheadBytes * chunk_count() + kBatchSignatureBytes;
}

// [SECTION] Errors

const char* batch_error_name(BatchErrorKind kind) {
    switch (kind) {
        case BatchErrorKind::NotABatch: return "not-a-batch";
        case BatchErrorKind::Truncated: return "truncated";
        case BatchErrorKind::TrailingData: return "trailing-data";
        case BatchErrorKind::UnsupportedVersion: return "unsupported-version";
        case BatchErrorKind::BadHeader: return "bad-header";
        case BatchErrorKind::TooLarge: return "too-large";
        case BatchErrorKind::TooManyRecords: return "too-many-records";
        case BatchErrorKind::RecordTooLarge: return "record-too-large";
        case BatchErrorKind::UnknownKiosk: return "unknown-kiosk";
        case BatchErrorKind::BadSignature: return "bad-signature";
        case BatchErrorKind::UnknownDictionary: return "unknown-dictionary";
        case BatchErrorKind::NotForThisCommission: return "not-for-this-commission";
        case BatchErrorKind::Corrupt: return "corrupt";
        case BatchErrorKind::Mismatch: return "mismatch";
        case BatchErrorKind::BadRecord: return "bad-record";
    }
    return "unknown";
}

Error BatchError::to_error() const {
    return Error{ErrorCode::BadBatch, std::string(batch_error_name(kind)) + ": " + message};
}

// [SECTION] Dictionaries

struct BatchDictionary::Digested {
    ZSTD_DDict* ddict = nullptr;
    ~Digested() { ZSTD_freeDDict(ddict); }
};

BatchDictionary::BatchDictionary(std::string bytes, std::uint32_t id, std::unique_ptr<Digested> digested)
    : bytes_(std::move(bytes)), id_(id), digested_(std::move(digested)) {}

BatchDictionary::~BatchDictionary() = default;

Result<std::shared_ptr<const BatchDictionary>> BatchDictionary::from_bytes(std::string bytes, std::string_view source) {
    unsigned id = ZSTD_getDictID_fromDict(bytes.data(), bytes.size());
    if (id == 0)
        return Error{ErrorCode::InvalidArgument, std::string(source) + ": not a zstd dictionary with an id; "
                                                                       "make dictionaries with tools/train_dict"};
    auto digested = std::make_unique<Digested>();
    digested->ddict = ZSTD_createDDict(bytes.data(), bytes.size());
    if (!digested->ddict)
        return Error{ErrorCode::InvalidArgument, std::string(source) + ": zstd cannot load this dictionary; it is damaged"};
    return std::shared_ptr<const BatchDictionary>(new BatchDictionary(std::move(bytes), id, std::move(digested)));
}

std::string dictionary_dir() { return assets_dir() + "/dict"; }

Result<std::shared_ptr<const BatchDictionary>> load_dictionary(std::uint32_t id, const std::string& dir) {
    const std::string path = dir + "/" + std::to_string(id) + ".zdict";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Error{errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                     path + ": cannot read the zstd dictionary: " + std::strerror(errno) +
                         "; install the assets that match this batch format (assets/dict/)"};
    std::string bytes;
    std::array<char, 65536> buf{};
    ssize_t n;
    while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
        bytes.append(buf.data(), static_cast<std::size_t>(n));
        if (bytes.size() > kMaxDictionaryBytes) {
            ::close(fd);
            return Error{ErrorCode::LimitExceeded, path + ": larger than the " + size_text(kMaxDictionaryBytes) +
                                                       " limit for a dictionary; is this the right file?"};
        }
    }
    int saved = errno;
    ::close(fd);
    if (n < 0) return Error{ErrorCode::Io, path + ": read failed: " + std::strerror(saved)};
    auto dict = BatchDictionary::from_bytes(std::move(bytes), path);
    if (!dict.ok()) return dict.error();
    if (dict.value()->id() != id)
        return Error{ErrorCode::InvalidArgument, path + ": holds dictionary " + std::to_string(dict.value()->id()) +
                                                     ", not " + std::to_string(id) + "; rename or replace the file"};
    return dict;
}

DictionaryLookup dictionaries_in(const std::string& dir) {
    struct Cache {
        std::mutex mu;
        std::map<std::uint32_t, std::shared_ptr<const BatchDictionary>> loaded;
    };
    auto cache = std::make_shared<Cache>();
    return [cache, dir](std::uint32_t id) -> std::shared_ptr<const BatchDictionary> {
        std::lock_guard<std::mutex> lock(cache->mu);
        if (auto it = cache->loaded.find(id); it != cache->loaded.end()) return it->second;
        auto dict = load_dictionary(id, dir);
        if (!dict.ok()) return nullptr;  // not cached: a dictionary installed later is found
        cache->loaded[id] = dict.value();
        return dict.value();
    };
}

// [SECTION] Record frames

namespace {

// The frame's optional "review" member with its leading comma, or "" (keys sorted: it sits between id and submitted_ms).
std::string review_member(const std::optional<RecordReview>& review) {
    if (!review) return "";
    json j = {{"at_ms", review->at_ms}, {"decision", review_decision_name(review->decision)}, {"reason", review->reason},
              {"reviewer", review->reviewer}};
    return ",\"review\":" + j.dump();
}

}  // namespace

namespace {

Error unserialisable(const std::string& id, const json::exception& e) {
    return Error{ErrorCode::InvalidArgument, "record " + id + ": cannot be serialised (" + e.what() +
                                                 "); check its field values in the store"};
}

// A parsed record's canonical data text (data.dump(), which throws on a string that is not UTF-8).
Result<std::string> data_text(const Record& r) {
    try {
        return r.data.dump();
    } catch (const json::exception& e) {
        return unserialisable(r.meta.id, e);
    }
}

// The frame around a record's canonical data text (see frame_record).
Result<std::string> frame_of(const RecordMeta& m, const std::optional<RecordReview>& review, std::string_view data) {
    std::string head, tail;
    try {
        head = "{\"content_hash\":" + json(m.content_hash).dump() + ",\"data\":";
        tail = ",\"form_id\":" + json(m.form_id).dump() + ",\"form_version\":" + std::to_string(m.form_version) +
               ",\"id\":" + json(m.id).dump() + review_member(review) + ",\"submitted_ms\":" +
               (m.submitted_ms ? std::to_string(*m.submitted_ms) : std::string("null")) + "}";
    } catch (const json::exception& e) {
        return unserialisable(m.id, e);
    }
    const std::size_t size = head.size() + data.size() + tail.size();
    if (size > 0xffffffffu)
        return Error{ErrorCode::LimitExceeded, "record " + m.id + ": larger than 4 GiB; it cannot be framed"};
    std::string frame;
    frame.reserve(4 + size);
    for (int i = 0; i < 4; ++i) frame.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
    frame.append(head).append(data).append(tail);
    return frame;
}

}  // namespace

Result<CanonicalRecord> canonical_record(Record&& r) {
    auto text = data_text(r);
    if (!text.ok()) return text.error();
    return CanonicalRecord{std::move(r.meta), std::move(r.review), std::move(text.value())};
}

Result<std::string> frame_record(const Record& r) {
    auto text = data_text(r);
    if (!text.ok()) return text.error();
    return frame_of(r.meta, r.review, *text);
}

namespace {

struct CCtxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
using CCtxPtr = std::unique_ptr<ZSTD_CCtx, CCtxFree>;
using DCtxPtr = std::unique_ptr<ZSTD_DCtx, DCtxFree>;

// A compression context at `level` with the window capped for decoders.
Result<CCtxPtr> make_cctx(int level, const BatchDictionary* dictionary) {
    if (level < 1 || level > ZSTD_maxCLevel())
        return Error{ErrorCode::InvalidArgument, "zstd level " + std::to_string(level) + " is outside 1.." +
                                                     std::to_string(ZSTD_maxCLevel())};
    CCtxPtr c(ZSTD_createCCtx());
    if (!c) return Error{ErrorCode::Internal, "zstd: out of memory creating a compression context"};
    size_t rc = ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, level);
    // Levels up to 19 use at most an 8 MiB window by themselves; the "ultra" levels above would use more.
    if (!ZSTD_isError(rc) && level > 19) rc = ZSTD_CCtx_setParameter(c.get(), ZSTD_c_windowLog, kMaxWindowLog);
    if (!ZSTD_isError(rc) && dictionary)
        rc = ZSTD_CCtx_loadDictionary(c.get(), dictionary->bytes().data(), dictionary->bytes().size());
    if (ZSTD_isError(rc)) return Error{ErrorCode::Internal, std::string("zstd: ") + ZSTD_getErrorName(rc)};
    // Index the dictionary as if it were the start of the input. zstd's default for
    // large inputs (attaching it as a separate match state) made whole batches of
    // applications 3-24% larger than no dictionary at all at levels 12-19; loading
    // it makes the dictionary help at every batch size (assets/dict/README.md).
    // Only an encoder preference: if a later libzstd refuses it, the default stands.
    if (dictionary) (void)ZSTD_CCtx_setParameter(c.get(), ZSTD_c_forceAttachDict, ZSTD_dictForceLoad);
    return c;
}

// [SECTION] Sealing (encrypt chunks, seal the key, sign)

// Builds a batch file in `out`: room for the header and sealed key first, then
// the secretstream, chunk by chunk as compressed bytes arrive. The last chunk is
// held back until finish(), which knows it is last and has the final header.
class Sealer {
public:
    Sealer(std::vector<std::uint8_t>& out, std::size_t header_size, std::uint32_t chunk_size)
        : out_(out), header_size_(header_size), chunk_size_(chunk_size) {
        ensure_sodium();
        out_.assign(header_size + kBatchSealedKeyBytes + kBatchStreamHeaderBytes, 0);
        crypto_secretstream_xchacha20poly1305_keygen(key_.data());
        crypto_secretstream_xchacha20poly1305_init_push(&state_, out_.data() + header_size + kBatchSealedKeyBytes,
                                                        key_.data());
        pending_.reserve(chunk_size);
    }
    ~Sealer() {
        sodium_memzero(key_.data(), key_.size());
        sodium_memzero(&state_, sizeof state_);
        sodium_memzero(pending_.data(), pending_.size());
    }
    Sealer(const Sealer&) = delete;
    Sealer& operator=(const Sealer&) = delete;

    // Seals the stream key to `commission`; false when that is not a usable X25519 key.
    bool seal_key(const CommissionPublicKey& commission) {
        return crypto_box_seal(out_.data() + header_size_, key_.data(), key_.size(), commission.bytes.data()) == 0;
    }

    void push(const std::uint8_t* p, std::size_t n) {
        while (n > 0) {
            if (pending_.size() == chunk_size_) flush(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, nullptr, 0);
            std::size_t take = std::min(n, chunk_size_ - pending_.size());
            pending_.insert(pending_.end(), p, p + take);
            p += take;
            n -= take;
            total_ += take;
        }
    }

    std::uint64_t total() const { return total_; }

    // Encrypts the last chunk with the header as associated data, writes the
    // header, and signs everything.
    void finish(const std::vector<std::uint8_t>& header, const KioskIdentity& kiosk) {
        flush(crypto_secretstream_xchacha20poly1305_TAG_FINAL, header.data(), header.size());
        std::copy(header.begin(), header.end(), out_.begin());
        std::size_t signed_len = out_.size();
        out_.resize(signed_len + kBatchSignatureBytes);
        crypto_sign_detached(out_.data() + signed_len, nullptr, out_.data(), signed_len, kiosk.secret_key.data());
    }

private:
    void flush(std::uint8_t tag, const std::uint8_t* ad, std::size_t ad_len) {
        std::size_t at = out_.size();
        out_.resize(at + pending_.size() + kBatchChunkOverheadBytes);
        crypto_secretstream_xchacha20poly1305_push(&state_, out_.data() + at, nullptr, pending_.data(), pending_.size(),
                                                   ad, ad_len, tag);
        pending_.clear();
    }

    std::vector<std::uint8_t>& out_;
    std::size_t header_size_;
    std::size_t chunk_size_;
    std::array<std::uint8_t, crypto_secretstream_xchacha20poly1305_KEYBYTES> key_{};
    crypto_secretstream_xchacha20poly1305_state state_{};
    std::vector<std::uint8_t> pending_;
    std::uint64_t total_ = 0;
};

}  // namespace

Result<std::vector<std::uint8_t>> compress_payload(std::span<const std::uint8_t> plaintext,
                                                   const BatchDictionary* dictionary, int level) {
    auto cctx = make_cctx(level, dictionary);
    if (!cctx.ok()) return cctx.error();
    std::vector<std::uint8_t> out(ZSTD_compressBound(plaintext.size()));
    size_t n = ZSTD_compress2(cctx.value().get(), out.data(), out.size(), plaintext.data(), plaintext.size());
    if (ZSTD_isError(n)) return Error{ErrorCode::Internal, std::string("zstd: ") + ZSTD_getErrorName(n)};
    out.resize(n);
    return out;
}

std::vector<std::uint8_t> seal_batch(BatchHeader header, std::span<const std::uint8_t> compressed,
                                     const KioskIdentity& kiosk, const CommissionPublicKey& commission) {
    header.kiosk = kiosk.public_key;
    header.compressed_size = compressed.size();
    if (header.chunk_size == 0) header.chunk_size = kBatchDefaultChunkSize;
    std::vector<std::uint8_t> out;
    Sealer sealer(out, header.header_size(), header.chunk_size);
    if (!sealer.seal_key(commission)) std::fill(out.begin(), out.end(), 0);  // a test's problem: nothing to check here
    sealer.push(compressed.data(), compressed.size());
    sealer.finish(serialize_header(header), kiosk);
    return out;
}

// [SECTION] Encoding

namespace {

bool data_is_object(const Record& r) { return r.data.is_object(); }
bool data_is_object(const CanonicalRecord& r) { return r.data.size() >= 2 && r.data.front() == '{' && r.data.back() == '}'; }

}  // namespace

template <typename R>
Result<EncodedBatch> encode_records(std::span<const R> records, const KioskIdentity& kiosk,
                                    const CommissionPublicKey& commission, const BatchDictionary& dictionary,
                                    const EncodeOptions& options) {
    ensure_sodium();
    const BatchLimits& limits = options.limits;
    if (records.empty()) return Error{ErrorCode::InvalidArgument, "a batch needs at least one record"};
    if (records.size() > limits.max_records)
        return Error{ErrorCode::LimitExceeded, std::to_string(records.size()) + " records is over the limit of " +
                                                   std::to_string(limits.max_records) + " per batch; cut a smaller batch"};
    if (options.chunk_size < kBatchMinChunkSize || options.chunk_size > kBatchMaxChunkSize)
        return Error{ErrorCode::InvalidArgument, "chunk size " + std::to_string(options.chunk_size) + " is outside " +
                                                     std::to_string(kBatchMinChunkSize) + ".." + std::to_string(kBatchMaxChunkSize)};

    BatchHeader h;
    h.kiosk = kiosk.public_key;
    h.batch_id = options.batch_id.empty() ? new_ulid() : options.batch_id;
    if (!is_ulid(h.batch_id)) return Error{ErrorCode::InvalidArgument, "batch id `" + h.batch_id + "` is not a ULID"};
    h.created_ms = options.created_ms != 0 ? options.created_ms : now_ms();
    h.record_count = static_cast<std::uint32_t>(records.size());
    h.dictionary_id = dictionary.id();
    h.chunk_size = options.chunk_size;

    // The form table and the checks that need no serialising, before any work.
    std::map<std::pair<std::string, int>, std::uint32_t> per_form;
    std::unordered_set<std::string_view> ids;
    for (const R& r : records) {
        const RecordMeta& m = r.meta;
        if (!is_ulid(m.id)) return Error{ErrorCode::InvalidArgument, "record `" + m.id + "`: the id is not a ULID"};
        if (!ids.insert(m.id).second)
            return Error{ErrorCode::InvalidArgument, "record " + m.id + " is in the batch twice; a record goes in one batch once"};
        if (!is_form_id(m.form_id) || m.form_version < 1)
            return Error{ErrorCode::InvalidArgument, "record " + m.id + ": form `" + m.form_id + "` version " +
                                                         std::to_string(m.form_version) + " is not a valid form id and version"};
        if (!data_is_object(r)) return Error{ErrorCode::InvalidArgument, "record " + m.id + ": its data is not a JSON object"};
        if (m.content_hash.empty())
            return Error{ErrorCode::InvalidArgument, "record " + m.id + " has no content hash: only submitted records can be sent"};
        if (r.review && !is_final(r.review->decision))
            return Error{ErrorCode::InvalidArgument, "record " + m.id + ": only a final review decision travels, not " +
                                                         review_decision_name(r.review->decision)};
        if (r.review)
            if (auto problem = review_input_problem(r.review->decision, r.review->reviewer, r.review->reason))
                return Error{ErrorCode::InvalidArgument, "record " + m.id + ": its review cannot be sent: " + *problem};
        ++per_form[{m.form_id, m.form_version}];
    }
    if (per_form.size() > kBatchMaxForms)
        return Error{ErrorCode::LimitExceeded, std::to_string(per_form.size()) + " different forms in one batch, over the limit of " +
                                                   std::to_string(kBatchMaxForms) + "; cut a smaller batch"};
    for (const auto& [key, n] : per_form) h.forms.push_back({key.first, key.second, n});

    auto cctx = make_cctx(options.level, &dictionary);
    if (!cctx.ok()) return cctx.error();
    ZSTD_CCtx* zc = cctx.value().get();

    EncodedBatch result;
    Sealer sealer(result.bytes, h.header_size(), h.chunk_size);
    if (!sealer.seal_key(commission))
        return Error{ErrorCode::InvalidArgument, "the commission public key " + commission.hex() +
                                                     " is not a usable X25519 key; check the kiosk's configuration"};
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    std::vector<std::uint8_t> zout(ZSTD_CStreamOutSize());

    auto compress = [&](const void* src, std::size_t size, ZSTD_EndDirective mode) -> Status {
        ZSTD_inBuffer in{src, size, 0};
        for (;;) {
            ZSTD_outBuffer o{zout.data(), zout.size(), 0};
            size_t rc = ZSTD_compressStream2(zc, &o, &in, mode);
            if (ZSTD_isError(rc)) return Error{ErrorCode::Internal, std::string("zstd: ") + ZSTD_getErrorName(rc)};
            sealer.push(zout.data(), o.pos);
            if (mode == ZSTD_e_end ? rc == 0 : in.pos == in.size) return ok_status();
        }
    };

    for (const R& r : records) {
        std::string dumped;  // a parsed record's canonical text
        const std::string* data = &dumped;
        if constexpr (std::is_same_v<R, CanonicalRecord>) {
            data = &r.data;
        } else {
            auto text = data_text(r);
            if (!text.ok()) return text.error();
            dumped = std::move(text.value());
        }
        if (content_hash_of_text(*data) != r.meta.content_hash)
            return Error{ErrorCode::InvalidArgument, "record " + r.meta.id + ": its content hash does not match its data; "
                                                                             "run `shenbao-store verify`"};
        auto frame = frame_of(r.meta, r.review, *data);
        if (!frame.ok()) return frame.error();
        const std::string& f = frame.value();
        if (f.size() - 4 > limits.max_record_bytes)
            return Error{ErrorCode::LimitExceeded, "record " + r.meta.id + " is " + size_text(f.size() - 4) + ", over the " +
                                                       size_text(limits.max_record_bytes) + " limit for one record; it cannot be sent"};
        h.plaintext_size += f.size();
        if (h.plaintext_size > limits.max_decompressed_bytes)
            return Error{ErrorCode::LimitExceeded, "the records come to more than the " + size_text(limits.max_decompressed_bytes) +
                                                       " limit for a batch's plaintext; cut a smaller batch"};
        crypto_hash_sha256_update(&sha, reinterpret_cast<const unsigned char*>(f.data()), f.size());
        SHENBAO_TRY(compress(f.data(), f.size(), ZSTD_e_continue));
    }
    SHENBAO_TRY(compress(nullptr, 0, ZSTD_e_end));
    crypto_hash_sha256_final(&sha, h.plaintext_sha256.data());
    h.compressed_size = sealer.total();
    if (h.compressed_size > limits.max_compressed_bytes)
        return Error{ErrorCode::LimitExceeded, "the batch compresses to " + size_text(h.compressed_size) + ", over the " +
                                                   size_text(limits.max_compressed_bytes) + " limit; cut a smaller batch"};
    sealer.finish(serialize_header(h), kiosk);
    result.header = std::move(h);
    return result;
}

Result<EncodedBatch> encode_batch(std::span<const Record> records, const KioskIdentity& kiosk,
                                  const CommissionPublicKey& commission, const BatchDictionary& dictionary,
                                  const EncodeOptions& options) {
    return encode_records(records, kiosk, commission, dictionary, options);
}

Result<EncodedBatch> encode_batch(std::span<const CanonicalRecord> records, const KioskIdentity& kiosk,
                                  const CommissionPublicKey& commission, const BatchDictionary& dictionary,
                                  const EncodeOptions& options) {
    return encode_records(records, kiosk, commission, dictionary, options);
}

// [SECTION] Decoding

namespace {

BatchError fail(BatchErrorKind kind, std::string message) { return BatchError{kind, std::move(message)}; }

std::string batch_name(const BatchHeader& h) { return "batch " + h.batch_id + " from kiosk " + h.kiosk.hex(); }

// Nesting depth of a JSON text, counted outside strings; stops early past `max`.
bool depth_within(std::string_view text, int max) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) return false;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return true;
}

// The fast content-hash check. A frame written by frame_record is the canonical
// prefix, data.dump() and the canonical suffix; when `text` is exactly that
// around some middle whose SHA-256 is the content hash, the middle is the
// kiosk's data.dump() byte for byte, and so the parsed data is the kiosk's data.
// (Requiring the whole suffix rules out a repeated "data" key.) Returns that
// middle, or nullopt: then the caller re-serialises the data and hashes that.
std::optional<std::string_view> canonical_data_of(std::string_view text, const Record& r) {
    const RecordMeta& m = r.meta;
    const std::string prefix = "{\"content_hash\":\"" + m.content_hash + "\",\"data\":";
    std::string suffix;
    try {
        suffix = ",\"form_id\":" + json(m.form_id).dump() + ",\"form_version\":" + std::to_string(m.form_version) +
                 ",\"id\":" + json(m.id).dump() + review_member(r.review) + ",\"submitted_ms\":" +
                 (m.submitted_ms ? std::to_string(*m.submitted_ms) : std::string("null")) + "}";
    } catch (const json::exception&) {
        return std::nullopt;
    }
    if (text.size() <= prefix.size() + suffix.size() || !text.starts_with(prefix) || !text.ends_with(suffix)) return std::nullopt;
    std::string_view middle = text.substr(prefix.size(), text.size() - prefix.size() - suffix.size());
    if (content_hash_of_text(middle) != m.content_hash) return std::nullopt;
    return middle;
}

// A frame's "review" object: exactly at_ms, decision, reason, reviewer; a final
// decision (an unknown or non-final one is refused) that review_input_problem accepts.
Result<RecordReview> parse_review(const json& j) {
    auto wrong = [](const std::string& what) { return Error{ErrorCode::BadBatch, "has a review " + what}; };
    static const std::set<std::string, std::less<>> kKeys = {"at_ms", "decision", "reason", "reviewer"};
    if (!j.is_object() || j.size() != kKeys.size() ||
        !std::all_of(j.items().begin(), j.items().end(), [](const auto& kv) { return kKeys.count(kv.key()) == 1; }))
        return wrong("that is not an object with exactly the keys at_ms, decision, reason, reviewer");
    if (!j["at_ms"].is_number_integer() || !j["decision"].is_string() || !j["reason"].is_string() || !j["reviewer"].is_string())
        return wrong("whose at_ms is not an integer or whose decision, reason or reviewer is not a string");
    const std::string& name = j["decision"].get_ref<const std::string&>();
    auto decision = parse_review_decision(name);
    if (!decision) return wrong("with unknown decision '" + name.substr(0, 40) + "' (known: recommend, not-recommend)");
    if (!is_final(*decision)) return wrong("with decision '" + name + "', which is not final and never travels");
    RecordReview r{*decision, j["reason"].get<std::string>(), j["reviewer"].get<std::string>(), j["at_ms"].get<std::int64_t>()};
    if (auto problem = review_input_problem(r.decision, r.reviewer, r.reason)) return wrong("that is not acceptable: " + *problem);
    return r;
}

// A simdjson value as the nlohmann::json that json::parse makes of the same text:
// a non-negative integer is number_unsigned and a negative one number_integer
// (nlohmann's lexer), objects are sorted maps, a repeated key keeps the last value.
json to_nlohmann(simdjson::dom::element e) {
    using Type = simdjson::dom::element_type;
    switch (e.type()) {
        case Type::OBJECT: {
            json o(json::value_t::object);
            auto& members = o.get_ref<json::object_t&>();
            simdjson::dom::object object;
            if (e.get_object().get(object) != simdjson::SUCCESS) return o;  // cannot be: e is an object
            for (simdjson::dom::key_value_pair kv : object) members.insert_or_assign(std::string(kv.key), to_nlohmann(kv.value));
            return o;
        }
        case Type::ARRAY: {
            json a(json::value_t::array);
            auto& items = a.get_ref<json::array_t&>();
            simdjson::dom::array array;
            if (e.get_array().get(array) != simdjson::SUCCESS) return a;  // cannot be: e is an array
            for (simdjson::dom::element item : array) items.push_back(to_nlohmann(item));
            return a;
        }
        case Type::INT64: {
            const std::int64_t v = e.get_int64().value_unsafe();
            return v >= 0 ? json(static_cast<std::uint64_t>(v)) : json(v);
        }
        case Type::UINT64: return json(e.get_uint64().value_unsafe());
        case Type::DOUBLE: return json(e.get_double().value_unsafe());
        case Type::STRING: return json(std::string(e.get_string().value_unsafe()));
        case Type::BOOL: return json(e.get_bool().value_unsafe());
        case Type::NULL_VALUE: return json(nullptr);
    }
    return json();
}

// Cuts the plaintext into record frames as it arrives and checks each record.
//
// Parsing is most of a batch's decoding time, and nlohmann's parser is slow on
// these long texts, so a frame is first parsed with simdjson (several times
// faster, depth-limited by itself) and converted. That fast path takes a record
// only when every check passes AND the frame is the canonical one, whose bytes
// nlohmann itself wrote: for such text both parsers give the same value. Anything
// else — simdjson refusing, a failed check, a frame written another way — goes
// the way it always went (depth scan, json::parse), so what is accepted or
// refused, and why, does not depend on the fast path.
class FrameParser {
public:
    FrameParser(const BatchHeader& h, const BatchLimits& limits, const std::function<void(DecodedRecord&&)>& on_record)
        : h_(h), limits_(limits), on_record_(on_record), fast_(limits.max_record_bytes) {
        for (const BatchFormCount& f : h.forms) seen_[{f.form_id, f.form_version}] = 0;
        // No allocation sized by the input here: simdjson grows to the largest frame seen.
        if (fast_.allocate(64 * 1024, kBatchMaxJsonDepth) != simdjson::SUCCESS) fast_ok_ = false;
    }

    std::optional<BatchError> push(const std::uint8_t* p, std::size_t n) {
        buf_.append(reinterpret_cast<const char*>(p), n);
        std::size_t at = 0;
        for (;;) {
            std::size_t avail = buf_.size() - at;
            if (avail < 4) break;
            std::uint64_t len = get_le(reinterpret_cast<const std::uint8_t*>(buf_.data() + at), 4);
            if (count_ >= h_.record_count)
                return fail(BatchErrorKind::Mismatch, batch_name(h_) + " holds more records than the " +
                                                          std::to_string(h_.record_count) + " its header claims");
            if (len == 0)
                return fail(BatchErrorKind::BadRecord, batch_name(h_) + ": record #" + std::to_string(count_ + 1) + " is empty");
            if (len > limits_.max_record_bytes)
                return fail(BatchErrorKind::RecordTooLarge,
                            batch_name(h_) + ": record #" + std::to_string(count_ + 1) + " is " + size_text(len) + ", over the " +
                                size_text(limits_.max_record_bytes) + " limit for one record (BatchLimits::max_record_bytes)");
            if (avail < 4 + len) break;
            if (auto e = take(std::string_view(buf_).substr(at + 4, len))) return e;
            at += 4 + len;
        }
        buf_.erase(0, at);
        return std::nullopt;
    }

    std::optional<BatchError> finish() {
        if (!buf_.empty())
            return fail(BatchErrorKind::Corrupt, batch_name(h_) + ": the plaintext ends inside record #" + std::to_string(count_ + 1));
        if (count_ != h_.record_count)
            return fail(BatchErrorKind::Mismatch, batch_name(h_) + " holds " + std::to_string(count_) + " records; its header claims " +
                                                      std::to_string(h_.record_count));
        for (const BatchFormCount& f : h_.forms)
            if (seen_[{f.form_id, f.form_version}] != f.records)
                return fail(BatchErrorKind::Mismatch, batch_name(h_) + " holds " + std::to_string(seen_[{f.form_id, f.form_version}]) +
                                                          " records of " + f.form_id + " v" + std::to_string(f.form_version) +
                                                          "; its header claims " + std::to_string(f.records));
        return std::nullopt;
    }

private:
    std::optional<BatchError> bad(const std::string& what) const {
        return fail(BatchErrorKind::BadRecord, batch_name(h_) + ": record #" + std::to_string(count_ + 1) + " " + what);
    }

    // A record that passed every check, and its form's count to bump once it is taken.
    struct Checked {
        DecodedRecord record;
        std::uint32_t* form_count = nullptr;
    };

    std::optional<BatchError> take(std::string_view text) {
        if (fast_ok_) {
            simdjson::dom::element root;
            if (fast_.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS) {
                auto checked = check(to_nlohmann(root), text, /*canonical_only=*/true);
                if (auto* c = std::get_if<Checked>(&checked)) return accept(std::move(*c));
            }
        }
        if (!depth_within(text, kBatchMaxJsonDepth))
            return bad("nests JSON deeper than " + std::to_string(kBatchMaxJsonDepth) + " levels");
        json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) return bad("is not valid JSON");
        auto checked = check(std::move(j), text, /*canonical_only=*/false);
        if (auto* e = std::get_if<BatchError>(&checked)) return std::move(*e);
        return accept(std::move(std::get<Checked>(checked)));
    }

    std::optional<BatchError> accept(Checked&& c) {
        ids_.insert(c.record.record.meta.id);
        ++*c.form_count;
        ++count_;
        on_record_(std::move(c.record));
        return std::nullopt;
    }

    // Every check of one parsed frame `j` of `text`; changes nothing. With
    // `canonical_only`, a frame that is not canonical is an error too (the fast path's).
    std::variant<Checked, BatchError> check(json j, std::string_view text, bool canonical_only) {
        auto bad = [this](const std::string& what) { return *this->bad(what); };
        static const std::set<std::string, std::less<>> kKeys = {"content_hash", "data", "form_id", "form_version", "id", "submitted_ms"};
        const bool has_review = j.is_object() && j.contains("review");
        if (!j.is_object() || j.size() != kKeys.size() + (has_review ? 1 : 0) ||
            !std::all_of(j.items().begin(), j.items().end(), [](const auto& kv) { return kKeys.count(kv.key()) == 1 || kv.key() == "review"; }))
            return bad("is not an object with exactly the keys content_hash, data, form_id, form_version, id, submitted_ms "
                       "(and optionally review)");
        const json& id = j["id"];
        if (!id.is_string() || !is_ulid(id.get_ref<const std::string&>())) return bad("has an id that is not a ULID");
        Record r;
        r.meta.id = id.get<std::string>();
        if (ids_.count(r.meta.id) != 0) return bad("(" + r.meta.id + ") repeats an earlier record's id");
        const json& form_id = j["form_id"];
        const json& version = j["form_version"];
        if (!form_id.is_string() || !version.is_number_integer() || version.get<std::int64_t>() < 1 ||
            version.get<std::int64_t>() > INT_MAX)
            return bad("(" + r.meta.id + ") has a malformed form_id or form_version");
        r.meta.form_id = form_id.get<std::string>();
        r.meta.form_version = static_cast<int>(version.get<std::int64_t>());
        auto seen = seen_.find({r.meta.form_id, r.meta.form_version});
        if (seen == seen_.end())
            return bad("(" + r.meta.id + ") is of form " + r.meta.form_id + " v" + std::to_string(r.meta.form_version) +
                       ", which the header's form table does not list");
        const json& hash = j["content_hash"];
        if (!hash.is_string() || !is_sha256_hex(hash.get_ref<const std::string&>()))
            return bad("(" + r.meta.id + ") has a content_hash that is not 64 lowercase hex digits");
        const json& submitted = j["submitted_ms"];
        if (!submitted.is_null() && !submitted.is_number_integer())
            return bad("(" + r.meta.id + ") has a submitted_ms that is neither an integer nor null");
        if (!j["data"].is_object()) return bad("(" + r.meta.id + ") has data that is not an object");
        r.meta.content_hash = hash.get<std::string>();
        if (submitted.is_number_integer()) r.meta.submitted_ms = submitted.get<std::int64_t>();
        if (has_review) {
            auto review = parse_review(j["review"]);
            if (!review.ok()) return bad("(" + r.meta.id + ") " + review.error().message);
            r.review = std::move(review.value());
        }
        r.meta.status = RecordStatus::Submitted;
        r.data = std::move(j["data"]);
        DecodedRecord d;
        if (auto middle = canonical_data_of(text, r)) {
            d.canonical_data.assign(*middle);
        } else if (canonical_only) {
            return bad("is not framed canonically");
        } else {
            // Equivalent JSON written another way (key order, spaces): the hash covers what the data dumps to.
            try {
                d.canonical_data = r.data.dump();
            } catch (const json::exception& e) {
                return bad("(" + r.meta.id + ") cannot be serialised canonically (" + e.what() + ")");
            }
            if (content_hash_of_text(d.canonical_data) != r.meta.content_hash)
                return bad("(" + r.meta.id + ") does not match its content hash: it was altered after the kiosk froze it");
        }
        d.record = std::move(r);
        return Checked{std::move(d), &seen->second};
    }

    const BatchHeader& h_;
    const BatchLimits& limits_;
    const std::function<void(DecodedRecord&&)>& on_record_;
    std::string buf_;
    std::uint32_t count_ = 0;
    std::unordered_set<std::string> ids_;
    std::map<std::pair<std::string, int>, std::uint32_t> seen_;
    simdjson::dom::parser fast_;
    bool fast_ok_ = true;
};

// SHA-256 of the plaintext on a thread of its own. libsodium's SHA-256 (~300 MB/s
// on the intake's machine) over every inflated byte was a third of the decoding
// thread's time, and its verdict is needed only at the end, so it runs beside
// the parsing. Blocks are copied in through a bounded queue; the destructor
// stops and joins the thread on every way out.
class PlaintextHasher {
public:
    PlaintextHasher() {
        crypto_hash_sha256_init(&sha_);
        thread_ = std::thread([this] { run(); });
    }
    ~PlaintextHasher() { stop(); }
    PlaintextHasher(const PlaintextHasher&) = delete;
    PlaintextHasher& operator=(const PlaintextHasher&) = delete;

    void push(const std::uint8_t* p, std::size_t n) {
        std::vector<std::uint8_t> block(p, p + n);
        std::unique_lock lock(mu_);
        room_.wait(lock, [&] { return blocks_.size() < kDepth; });
        blocks_.push_back(std::move(block));
        ready_.notify_one();
    }
    // The digest of everything pushed; call once.
    std::array<std::uint8_t, 32> finish() {
        stop();
        std::array<std::uint8_t, 32> digest{};
        crypto_hash_sha256_final(&sha_, digest.data());
        return digest;
    }

private:
    static constexpr std::size_t kDepth = 16;  // blocks of up to ZSTD_DStreamOutSize() (128 KiB)

    void run() {
        for (;;) {
            std::vector<std::uint8_t> block;
            {
                std::unique_lock lock(mu_);
                ready_.wait(lock, [&] { return !blocks_.empty() || closed_; });
                if (blocks_.empty()) return;
                block = std::move(blocks_.front());
                blocks_.pop_front();
                room_.notify_one();
            }
            crypto_hash_sha256_update(&sha_, block.data(), block.size());
        }
    }
    void stop() {
        {
            std::lock_guard lock(mu_);
            closed_ = true;
            ready_.notify_all();
        }
        if (thread_.joinable()) thread_.join();
    }

    crypto_hash_sha256_state sha_;
    std::mutex mu_;
    std::condition_variable ready_, room_;
    std::deque<std::vector<std::uint8_t>> blocks_;
    bool closed_ = false;
    std::thread thread_;
};

BatchResult<BatchHeader> decode_impl(std::span<const std::uint8_t> bytes, const KioskEnrolled& enrolled,
                                     const std::string& unknown_kiosk_hint, const CommissionKeyPair& commission,
                                     const DictionaryLookup& dictionaries, const BatchLimits& limits,
                                     const std::function<void(DecodedRecord&&)>& on_record) {
    ensure_sodium();
    auto peeked = peek_header(bytes, limits);
    if (!peeked.ok()) return peeked.error();
    const BatchHeader h = std::move(peeked.value());
    const std::uint64_t total = h.total_size();
    if (bytes.size() < total)
        return fail(BatchErrorKind::Truncated, batch_name(h) + " is " + size_text(bytes.size()) + " long; its header says " +
                                                   size_text(total) + ". The transfer stopped early: send it again");
    if (bytes.size() > total)
        return fail(BatchErrorKind::TrailingData, batch_name(h) + " is " + size_text(bytes.size()) + " long; its header says " +
                                                      size_text(total) + ". Something was appended to it: send it again");
    if (!enrolled || !enrolled(h.kiosk))
        return fail(BatchErrorKind::UnknownKiosk, batch_name(h) + ": " + unknown_kiosk_hint);

    const std::size_t signed_len = static_cast<std::size_t>(total) - kBatchSignatureBytes;
    if (crypto_sign_verify_detached(bytes.data() + signed_len, bytes.data(), signed_len, h.kiosk.bytes.data()) != 0)
        return fail(BatchErrorKind::BadSignature,
                    batch_name(h) + ": the signature does not verify — the file was altered in transit or on disk, or "
                                    "that kiosk did not make it. Ask the kiosk to send it again");

    std::shared_ptr<const BatchDictionary> dict = dictionaries ? dictionaries(h.dictionary_id) : nullptr;
    if (!dict || dict->id() != h.dictionary_id)
        return fail(BatchErrorKind::UnknownDictionary,
                    batch_name(h) + " was compressed with zstd dictionary " + std::to_string(h.dictionary_id) +
                        ", which is not installed here; install assets/dict/" + std::to_string(h.dictionary_id) +
                        ".zdict from the release the kiosk runs");

    const std::size_t hs = h.header_size();
    std::array<std::uint8_t, crypto_secretstream_xchacha20poly1305_KEYBYTES> key{};
    if (crypto_box_seal_open(key.data(), bytes.data() + hs, kBatchSealedKeyBytes, commission.public_key.bytes.data(),
                             commission.secret_key.data()) != 0)
        return fail(BatchErrorKind::NotForThisCommission,
                    batch_name(h) + " is sealed to another commission key, not " + commission.public_key.hex() +
                        "; check the commission public key in that kiosk's configuration");
    crypto_secretstream_xchacha20poly1305_state state;
    int rc_init = crypto_secretstream_xchacha20poly1305_init_pull(&state, bytes.data() + hs + kBatchSealedKeyBytes, key.data());
    sodium_memzero(key.data(), key.size());
    if (rc_init != 0) return fail(BatchErrorKind::Corrupt, batch_name(h) + ": the encrypted stream's header is invalid");
    struct Wipe {
        crypto_secretstream_xchacha20poly1305_state& s;
        ~Wipe() { sodium_memzero(&s, sizeof s); }
    } wipe_state{state};

    DCtxPtr dctx(ZSTD_createDCtx());
    if (!dctx) return fail(BatchErrorKind::Corrupt, "zstd: out of memory creating a decompression context");
    size_t zrc = ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kMaxWindowLog);
    if (!ZSTD_isError(zrc)) zrc = ZSTD_DCtx_refDDict(dctx.get(), dict->digested()->ddict);
    if (ZSTD_isError(zrc)) return fail(BatchErrorKind::Corrupt, std::string("zstd: ") + ZSTD_getErrorName(zrc));

    FrameParser parser(h, limits, on_record);
    PlaintextHasher sha;
    std::vector<std::uint8_t> chunk(h.chunk_size);
    std::vector<std::uint8_t> zout(ZSTD_DStreamOutSize());
    std::uint64_t inflated = 0;
    bool frame_done = false;

    std::size_t at = hs + kBatchSealedKeyBytes + kBatchStreamHeaderBytes;
    std::uint64_t left = h.compressed_size;
    const std::uint64_t chunks = h.chunk_count();
    for (std::uint64_t i = 0; i < chunks; ++i) {
        const bool last = i + 1 == chunks;
        const std::size_t plain_len = static_cast<std::size_t>(std::min<std::uint64_t>(left, h.chunk_size));
        unsigned long long got = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(&state, chunk.data(), &got, &tag, bytes.data() + at,
                                                       plain_len + kBatchChunkOverheadBytes, last ? bytes.data() : nullptr,
                                                       last ? hs : 0) != 0 ||
            got != plain_len)
            return fail(BatchErrorKind::Corrupt, batch_name(h) + ": encrypted chunk " + std::to_string(i + 1) + " of " +
                                                     std::to_string(chunks) + " does not decrypt");
        if (last != (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) ||
            (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL && tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE))
            return fail(BatchErrorKind::Corrupt, batch_name(h) + ": encrypted chunk " + std::to_string(i + 1) + " of " +
                                                     std::to_string(chunks) + " has the wrong end-of-stream marking");
        at += plain_len + kBatchChunkOverheadBytes;
        left -= plain_len;

        ZSTD_inBuffer in{chunk.data(), plain_len, 0};
        if (frame_done && plain_len > 0)
            return fail(BatchErrorKind::Corrupt, batch_name(h) + ": data follows the end of the compressed frame");
        while (!frame_done) {
            ZSTD_outBuffer out{zout.data(), zout.size(), 0};
            size_t rc = ZSTD_decompressStream(dctx.get(), &out, &in);
            if (ZSTD_isError(rc))
                return fail(BatchErrorKind::Corrupt, batch_name(h) + ": the compressed stream is damaged (zstd: " +
                                                         ZSTD_getErrorName(rc) + ")");
            if (out.pos > 0) {
                inflated += out.pos;
                if (inflated > h.plaintext_size)
                    return fail(BatchErrorKind::TooLarge,
                                batch_name(h) + " inflates beyond the " + size_text(h.plaintext_size) +
                                    " its header claims; refused there (a decompression bomb, or a broken kiosk)");
                sha.push(zout.data(), out.pos);
                if (auto e = parser.push(zout.data(), out.pos)) return *e;
            }
            if (rc == 0) {
                frame_done = true;
                if (in.pos < in.size)
                    return fail(BatchErrorKind::Corrupt, batch_name(h) + ": data follows the end of the compressed frame");
            } else if (in.pos == in.size && out.pos < out.size) {
                break;  // this chunk is used up and zstd holds nothing more back
            }
        }
    }
    if (!frame_done) return fail(BatchErrorKind::Corrupt, batch_name(h) + ": the compressed stream ends before its frame does");
    if (inflated != h.plaintext_size)
        return fail(BatchErrorKind::Mismatch, batch_name(h) + " inflates to " + size_text(inflated) + "; its header claims " +
                                                  size_text(h.plaintext_size));
    const std::array<std::uint8_t, 32> digest = sha.finish();
    if (digest != h.plaintext_sha256)
        return fail(BatchErrorKind::Mismatch, batch_name(h) + ": the plaintext's SHA-256 is " + to_hex(digest.data(), digest.size()) +
                                                  ", not the " + to_hex(h.plaintext_sha256.data(), 32) + " its header claims");
    if (auto e = parser.finish()) return *e;
    return h;
}

}  // namespace

BatchResult<BatchHeader> peek_header(std::span<const std::uint8_t> b, const BatchLimits& limits) {
    if (b.size() < kMagic.size()) {
        if (std::equal(b.begin(), b.end(), kMagic.begin()))
            return fail(BatchErrorKind::Truncated, "only " + size_text(b.size()) + " of a batch arrived; send it again");
        return fail(BatchErrorKind::NotABatch, "not a Shenbao batch: it does not start with the batch magic");
    }
    if (!std::equal(kMagic.begin(), kMagic.end(), b.begin()))
        return fail(BatchErrorKind::NotABatch, "not a Shenbao batch: it does not start with the batch magic");
    if (b.size() < 12) return fail(BatchErrorKind::Truncated, "only " + size_text(b.size()) + " of a batch arrived; send it again");
    BatchHeader h;
    h.format_version = static_cast<std::uint16_t>(get_le(b.data() + 8, 2));
    if (h.format_version != kBatchFormatVersion)
        return fail(BatchErrorKind::UnsupportedVersion,
                    "batch format version " + std::to_string(h.format_version) + "; this program reads version " +
                        std::to_string(kBatchFormatVersion) + ". Run the same Shenbao release on the kiosk and the intake");
    const std::size_t hs = static_cast<std::size_t>(get_le(b.data() + 10, 2));
    if (hs < kBatchFixedHeaderBytes + 10)
        return fail(BatchErrorKind::BadHeader, "the batch header claims a size of " + size_text(hs) + ", less than any header");
    if (b.size() < hs)
        return fail(BatchErrorKind::Truncated, "only " + size_text(b.size()) + " of a batch arrived, less than its " +
                                                   size_text(hs) + " header; send it again");
    std::copy_n(b.data() + 16, 32, h.kiosk.bytes.begin());
    h.batch_id.assign(reinterpret_cast<const char*>(b.data() + 48), 26);
    const std::string who = "batch from kiosk " + h.kiosk.hex();
    if (get_le(b.data() + 12, 4) != 0) return fail(BatchErrorKind::BadHeader, who + ": unknown header flags are set");
    if (!is_ulid(h.batch_id)) return fail(BatchErrorKind::BadHeader, who + ": the batch id is not a ULID");
    const std::string name = batch_name(h);
    const std::size_t form_count = static_cast<std::size_t>(get_le(b.data() + 74, 2));
    h.created_ms = static_cast<std::int64_t>(get_le(b.data() + 76, 8));
    h.record_count = static_cast<std::uint32_t>(get_le(b.data() + 84, 4));
    h.dictionary_id = static_cast<std::uint32_t>(get_le(b.data() + 88, 4));
    h.chunk_size = static_cast<std::uint32_t>(get_le(b.data() + 92, 4));
    h.compressed_size = get_le(b.data() + 96, 8);
    h.plaintext_size = get_le(b.data() + 104, 8);
    std::copy_n(b.data() + 112, 32, h.plaintext_sha256.begin());

    // Claims against the limits first: nothing below allocates by them, and nothing later may trust them.
    if (h.compressed_size > limits.max_compressed_bytes || h.compressed_size > kSizeCeiling)
        return fail(BatchErrorKind::TooLarge, name + " claims " + size_text(h.compressed_size) + " of compressed data, over the " +
                                                  size_text(limits.max_compressed_bytes) + " limit (BatchLimits::max_compressed_bytes)");
    if (h.plaintext_size > limits.max_decompressed_bytes || h.plaintext_size > kSizeCeiling)
        return fail(BatchErrorKind::TooLarge, name + " claims " + size_text(h.plaintext_size) + " of records once inflated, over the " +
                                                  size_text(limits.max_decompressed_bytes) +
                                                  " limit (BatchLimits::max_decompressed_bytes)");
    if (h.record_count > limits.max_records)
        return fail(BatchErrorKind::TooManyRecords, name + " claims " + std::to_string(h.record_count) + " records, over the limit of " +
                                                        std::to_string(limits.max_records) + " (BatchLimits::max_records)");
    if (h.record_count == 0) return fail(BatchErrorKind::BadHeader, name + " claims no records");
    if (h.compressed_size == 0 || h.plaintext_size == 0)
        return fail(BatchErrorKind::BadHeader, name + " claims an empty payload");
    if (h.chunk_size < kBatchMinChunkSize || h.chunk_size > kBatchMaxChunkSize)
        return fail(BatchErrorKind::BadHeader, name + ": chunk size " + std::to_string(h.chunk_size) + " is outside " +
                                                   std::to_string(kBatchMinChunkSize) + ".." + std::to_string(kBatchMaxChunkSize));
    if (form_count == 0 || form_count > kBatchMaxForms)
        return fail(BatchErrorKind::BadHeader, name + ": the form table has " + std::to_string(form_count) + " entries (1.." +
                                                   std::to_string(kBatchMaxForms) + " allowed)");

    std::size_t at = kBatchFixedHeaderBytes;
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < form_count; ++i) {
        if (at + 1 > hs) return fail(BatchErrorKind::BadHeader, name + ": the form table runs past the header's end");
        std::size_t n = b[at];
        if (at + 1 + n + 8 > hs) return fail(BatchErrorKind::BadHeader, name + ": the form table runs past the header's end");
        BatchFormCount f;
        f.form_id.assign(reinterpret_cast<const char*>(b.data() + at + 1), n);
        std::uint64_t version = get_le(b.data() + at + 1 + n, 4);
        f.records = static_cast<std::uint32_t>(get_le(b.data() + at + 1 + n + 4, 4));
        at += 1 + n + 8;
        if (!is_form_id(f.form_id) || version < 1 || version > INT_MAX || f.records == 0)
            return fail(BatchErrorKind::BadHeader, name + ": form table entry " + std::to_string(i + 1) + " is malformed");
        f.form_version = static_cast<int>(version);
        if (!h.forms.empty() && !(std::tie(h.forms.back().form_id, h.forms.back().form_version) <
                                  std::tie(f.form_id, f.form_version)))
            return fail(BatchErrorKind::BadHeader, name + ": the form table is not sorted or repeats a form");
        sum += f.records;
        h.forms.push_back(std::move(f));
    }
    if (at != hs) return fail(BatchErrorKind::BadHeader, name + ": the header size does not match its form table");
    if (sum != h.record_count)
        return fail(BatchErrorKind::BadHeader, name + ": the form table counts " + std::to_string(sum) +
                                                   " records, the header " + std::to_string(h.record_count));
    return h;
}

BatchResult<BatchHeader> decode_batch_each(std::span<const std::uint8_t> bytes, const KioskEnrolled& enrolled,
                                           const CommissionKeyPair& commission, const DictionaryLookup& dictionaries,
                                           const BatchLimits& limits, const std::function<void(DecodedRecord&&)>& on_record) {
    return decode_impl(bytes, enrolled,
                       "this kiosk's key is not enrolled here; enrol it (with its district) if the kiosk is ours",
                       commission, dictionaries, limits, on_record);
}

BatchResult<DecodedBatch> decode_batch(std::span<const std::uint8_t> bytes, const KioskEnrolled& enrolled,
                                       const CommissionKeyPair& commission, const DictionaryLookup& dictionaries,
                                       const BatchLimits& limits) {
    DecodedBatch d;
    auto h = decode_batch_each(bytes, enrolled, commission, dictionaries, limits,
                               [&](DecodedRecord&& r) { d.records.push_back(std::move(r.record)); });
    if (!h.ok()) return h.error();
    d.header = std::move(h.value());
    return d;
}

BatchResult<DecodedBatch> decode_batch(std::span<const std::uint8_t> bytes, const KioskPublicKey& signer,
                                       const CommissionKeyPair& commission, const DictionaryLookup& dictionaries,
                                       const BatchLimits& limits) {
    DecodedBatch d;
    auto h = decode_impl(
        bytes, [&](const KioskPublicKey& k) { return k == signer; },
        "signed by that kiosk, not by the expected kiosk " + signer.hex(), commission, dictionaries, limits,
        [&](DecodedRecord&& r) { d.records.push_back(std::move(r.record)); });
    if (!h.ok()) return h.error();
    d.header = std::move(h.value());
    return d;
}

}  // namespace shenbao
