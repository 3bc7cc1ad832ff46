// shenbao-intake's HTTPS server (see server.h and wire.h).
//
// [SECTION] Limits   [SECTION] Answers   [SECTION] tus headers   [SECTION] Routes
// [SECTION] Start and stop
//
// Every body has a named limit (see [SECTION] Limits), checked against
// Content-Length before the body is read, and while reading for chunked bodies:
// a PATCH chunk at most max_batch_file_bytes() (Tus-Max-Size) and never past its
// upload's Upload-Length; any other body kMaxSmallBodyBytes. A refused body is
// read and dropped when it is at most its limit (PATCH) or kMaxDrainBytes (the
// rest), so the client sees the answer and the connection stays usable; beyond
// that the connection is closed after the answer (close_after_answer()).
//
// PATCH writes its body straight into the upload's file at the upload's
// offset, hashing it (SHA-1) on the way. Complete and matching its
// Upload-Checksum: fsync, then the database's offset moves, then 204. Cut off
// mid-body: without a checksum the bytes received are kept (fsync'd, offset
// moved), as tus allows; with one they cannot be verified and are dropped.
// One request at a time per upload (UploadLocks); HEAD waits for a PATCH in
// progress so it reports the offset that PATCH left.
#include "server.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <sodium.h>

#include "ingest.h"
#include "intake_db.h"
#include "shenbao/batch.h"
#include "shenbao/crypto.h"
#include "shenbao/receipt.h"
#include "shenbao/store.h"
#include "shenbao/wire.h"
#include "upload_files.h"

namespace shenbao::intake {
namespace {

using nlohmann::json;

// [SECTION] Limits
constexpr std::size_t kMaxSmallBodyBytes = 64 * 1024;   // any body but a PATCH chunk
constexpr std::size_t kMaxDrainBytes = 4u << 20;        // a refused body up to this is read and dropped
constexpr std::size_t kMaxMetadataBytes = 4 * 1024;     // the Upload-Metadata header
constexpr std::int64_t kMaxOpenUploadsPerKiosk = 32;    // uncommitted uploads one kiosk may hold
constexpr std::uint64_t kDiskReserveBytes = 32u << 20;  // free space a new upload must leave
constexpr auto kUploadLockWait = std::chrono::seconds(2);   // HEAD/PATCH waiting for another request on an upload
constexpr auto kCommitWait = std::chrono::seconds(10);      // a commit waiting for the one in progress
constexpr int kReadTimeoutSeconds = 30;                  // a stalled body frees its thread after this
constexpr int kKeepAliveSeconds = 5;                     // an idle connection is closed after this (and delays a stop as long)
constexpr int kRetryAfterSeconds = 5;

const char* kTusExtensions = "creation,checksum";
const std::regex kFilesRoot(R"(/files/?)");
const std::regex kUploadPath(R"(/files/([0-9a-f]{32}))");
const std::regex kCommitPath(R"(/batches/([0-9a-f]{32})/commit)");
const std::regex kReceiptPath(R"(/batches/([0-9A-HJKMNP-TV-Z]{26})/receipt)");

// [SECTION] Answers

void answer_error(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
    res.status = status;
    res.set_content(json{{"error", kind}, {"message", message}}.dump(), "application/json");
    if (status == 503 || status == 423 || status == 429) res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
    if (status == 412) res.set_header("Tus-Version", wire::kTusVersion);
}

void answer(httplib::Response& res, const Refusal& r) { answer_error(res, r.status, r.kind, r.message); }

const char* default_kind(int status) {
    switch (status) {
        case 400: return "malformed";
        case 404: return "not-found";
        case 405: return "method-not-allowed";
        case 408: return "timeout";
        case 413: return "too-large";
        case 414: return "too-large";
        case 415: return "unsupported-media-type";
        case 503: return "busy";
        default: return status >= 500 ? "internal" : "refused";
    }
}

// The request's body, if any, read through `receiver`. Null when httplib
// dispatched a request without a body to a plain handler.
using BodyReader = std::function<bool(httplib::ContentReceiver)>;

BodyReader reader_of(const httplib::ContentReader& reader) {
    return [&reader](httplib::ContentReceiver r) { return reader(std::move(r)); };
}

std::optional<std::uint64_t> content_length(const httplib::Request& req) {
    if (!req.has_header("Content-Length")) return std::nullopt;
    const std::string v = req.get_header_value("Content-Length");
    if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) return UINT64_MAX;
    return std::stoull(v);
}

bool has_body(const httplib::Request& req) {
    auto cl = content_length(req);
    return (cl && *cl > 0) || req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
}

// Ends the connection once the answer is written. httplib 0.11.4 keeps a connection
// alive whatever the answer's "Connection: close" says, and would read an unread body
// as the next request; so the logger, which runs after the answer is written, shuts
// the socket's read side and the next read sees the end (end_if_closing()).
void close_after_answer(const httplib::Request&, httplib::Response& res) { res.set_header("Connection", "close"); }

void end_if_closing(const httplib::Request& req, const httplib::Response& res) {
    if (req.ssl && res.get_header_value("Connection") == "close") ::shutdown(SSL_get_fd(req.ssl), SHUT_RD);
}

// Reads and drops a refused request's body when it is small enough to be worth it.
void drop_body(const httplib::Request& req, httplib::Response& res, const BodyReader& body, std::uint64_t limit) {
    if (!body || !has_body(req)) return;
    auto cl = content_length(req);
    if (cl && *cl > limit) return close_after_answer(req, res);
    std::uint64_t seen = 0;
    bool ok = body([&](const char*, std::size_t n) {
        seen += n;
        return seen <= limit;
    });
    if (!ok) close_after_answer(req, res);
}

// A small body (creation, commit, anything else), up to kMaxSmallBodyBytes.
bool read_small_body(const BodyReader& body, std::string& out) {
    if (!body) return true;
    return body([&](const char* d, std::size_t n) {
        if (out.size() + n > kMaxSmallBodyBytes) return false;
        out.append(d, n);
        return true;
    });
}

// [SECTION] tus headers

std::optional<std::int64_t> parse_count(const std::string& v) {
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(v);
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out(text.size(), '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
        if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr, &len,
                              &end, variant) == 0 &&
            end == text.data() + text.size()) {
            out.resize(len);
            return out;
        }
    }
    return std::nullopt;
}

// Upload-Metadata: comma-separated "key base64(value)" pairs (value optional); keys unique.
std::optional<std::map<std::string, std::string>> parse_metadata(const std::string& header, std::string& why) {
    std::map<std::string, std::string> out;
    std::size_t pos = 0;
    while (pos <= header.size()) {
        std::size_t comma = header.find(',', pos);
        std::string pair = header.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? header.size() + 1 : comma + 1;
        std::size_t b = pair.find_first_not_of(' '), e = pair.find_last_not_of(' ');
        if (b == std::string::npos) {
            why = "an empty pair";
            return std::nullopt;
        }
        pair = pair.substr(b, e - b + 1);
        std::size_t sp = pair.find(' ');
        std::string key = pair.substr(0, sp);
        if (key.empty() || key.find_first_of("\t,") != std::string::npos) {
            why = "a key that is empty or holds a tab";
            return std::nullopt;
        }
        std::string value;
        if (sp != std::string::npos) {
            auto decoded = base64_decode(pair.substr(sp + 1));
            if (!decoded) {
                why = "the value of `" + key + "` is not base64";
                return std::nullopt;
            }
            value = std::move(*decoded);
        }
        if (!out.emplace(key, std::move(value)).second) {
            why = "the key `" + key + "` twice";
            return std::nullopt;
        }
    }
    return out;
}

bool is_ulid(const std::string& s) {
    static const std::regex re("[0-9A-HJKMNP-TV-Z]{26}");
    return std::regex_match(s, re);
}

std::string new_upload_id() {
    std::array<unsigned char, 16> raw{};
    randombytes_buf(raw.data(), raw.size());
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, raw.data(), raw.size());
    return hex;
}

// What a PATCH's headers say, once they make sense.
struct PatchHeaders {
    std::int64_t offset = 0;
    std::optional<std::uint64_t> length;         // Content-Length, when given
    std::optional<std::array<std::uint8_t, 20>> sha1;  // Upload-Checksum, when given
};

std::optional<Refusal> check_tus_version(const httplib::Request& req) {
    const std::string v = req.get_header_value("Tus-Resumable");
    if (v == wire::kTusVersion) return std::nullopt;
    return Refusal{412, "unsupported-tus-version",
                   v.empty() ? "the request lacks `Tus-Resumable: 1.0.0`; this server speaks tus 1.0.0"
                             : "Tus-Resumable `" + v.substr(0, 32) + "` is not supported; this server speaks tus 1.0.0"};
}

std::variant<PatchHeaders, Refusal> parse_patch_headers(const httplib::Request& req, std::uint64_t max_chunk) {
    if (auto r = check_tus_version(req)) return *r;
    std::string type = req.get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    if (type != "application/offset+octet-stream")
        return Refusal{415, "unsupported-media-type", "a PATCH body must be `Content-Type: application/offset+octet-stream`"};
    PatchHeaders h;
    auto offset = parse_count(req.get_header_value("Upload-Offset"));
    if (!offset) return Refusal{400, "malformed", "Upload-Offset must be a non-negative whole number of bytes"};
    h.offset = *offset;
    h.length = content_length(req);
    if (h.length && *h.length == UINT64_MAX) return Refusal{400, "malformed", "Content-Length is not a whole number"};
    if (h.length && *h.length > max_chunk)
        return Refusal{413, "too-large", "a PATCH chunk may hold at most " + std::to_string(max_chunk) + " bytes; send smaller chunks"};
    if (req.has_header("Upload-Checksum")) {
        const std::string v = req.get_header_value("Upload-Checksum");
        std::size_t sp = v.find(' ');
        std::string algo = v.substr(0, sp);
        if (algo != "sha1")
            return Refusal{400, "unsupported-checksum-algorithm",
                           "Upload-Checksum algorithm `" + algo.substr(0, 32) + "` is not supported; use sha1 (see Tus-Checksum-Algorithm)"};
        auto digest = sp == std::string::npos ? std::nullopt : base64_decode(v.substr(sp + 1));
        if (!digest || digest->size() != 20)
            return Refusal{400, "malformed", "Upload-Checksum must be `sha1 <base64 of the 20-byte SHA-1 of this chunk>`"};
        std::array<std::uint8_t, 20> d{};
        std::copy(digest->begin(), digest->end(), d.begin());
        h.sha1 = d;
    }
    return h;
}

// [SECTION] Routes

// One lock per upload id, alive while some request holds it.
class UploadLocks {
public:
    std::shared_ptr<std::timed_mutex> get(const std::string& upload_id) {
        std::lock_guard lock(mu_);
        std::weak_ptr<std::timed_mutex>& slot = locks_[upload_id];
        auto held = slot.lock();
        if (!held) {
            held = std::make_shared<std::timed_mutex>();
            slot = held;
        }
        if (locks_.size() > 4096)  // forget the ids nobody holds any more
            for (auto it = locks_.begin(); it != locks_.end();) it = it->second.expired() ? locks_.erase(it) : std::next(it);
        return held;
    }

private:
    std::mutex mu_;
    std::map<std::string, std::weak_ptr<std::timed_mutex>> locks_;
};

class IntakeServer {
public:
    IntakeServer(httplib::Server& http, IntakeDb& db, UploadFiles& files, Ingest& ingest)
        : http_(http), db_(db), files_(files), ingest_(ingest), max_chunk_(max_batch_file_bytes(ingest.limits)) {}

    void install() {
        http_.set_default_headers({{"Tus-Resumable", wire::kTusVersion}, {"Cache-Control", "no-store"}});
        http_.set_payload_max_length(static_cast<std::size_t>(max_chunk_));
        http_.set_read_timeout(kReadTimeoutSeconds, 0);
        http_.set_write_timeout(kReadTimeoutSeconds, 0);
        http_.set_keep_alive_max_count(1000);
        http_.set_keep_alive_timeout(kKeepAliveSeconds);
        // SO_REUSEADDR (a restart binds at once) but not httplib's default SO_REUSEPORT,
        // which would let a second server share the port unnoticed.
        http_.set_socket_options([](socket_t sock) {
            int yes = 1;
            ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        });

        http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            // Only PATCH carries a large body; refuse a huge other one before reading it.
            auto cl = content_length(req);
            if (req.method != "PATCH" && cl && *cl > kMaxDrainBytes) {
                answer_error(res, 413, "too-large", "this endpoint takes a body of at most " + std::to_string(kMaxSmallBodyBytes) + " bytes");
                close_after_answer(req, res);
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });
        http_.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
            std::smatch m;
            if (req.method == "PATCH" && std::regex_match(req.path, m, kUploadPath)) {
                if (auto r = patch_precheck(req, m[1])) {
                    answer(res, *r);
                    if (r->status == 409) add_offset(res, m[1]);
                    return r->status;
                }
            }
            return 100;
        });
        http_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
            if (res.body.empty())
                answer_error(res, res.status, default_kind(res.status), "the request was refused (HTTP " + std::to_string(res.status) + ")");
            return httplib::Server::HandlerResponse::Handled;
        }));
        http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            answer_error(res, 500, "internal", "the server failed on this request: " + what);
        });
        http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
            std::fprintf(stderr, "shenbao-intake: %s %s %d\n", req.method.c_str(), req.path.substr(0, 200).c_str(), res.status);
            end_if_closing(req, res);
        });

        http_.Options(R"(/files/?)", [this](const httplib::Request&, httplib::Response& res) {
            res.status = 204;
            res.set_header("Tus-Version", wire::kTusVersion);
            res.set_header("Tus-Extension", kTusExtensions);
            res.set_header("Tus-Checksum-Algorithm", "sha1");
            res.set_header("Tus-Max-Size", std::to_string(max_chunk_));
        });

        http_.Post(R"(/files/?)", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
            create(req, res, reader_of(r));
        });
        http_.Post(R"(/files/?)", [this](const httplib::Request& req, httplib::Response& res) { create(req, res, nullptr); });
        http_.Get(R"(/files/([0-9a-f]{32}))", [this](const httplib::Request& req, httplib::Response& res) { head(req, res); });
        http_.Patch(R"(/files/([0-9a-f]{32}))", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
            patch(req, res, reader_of(r));
        });
        http_.Patch(R"(/files/([0-9a-f]{32}))", [this](const httplib::Request& req, httplib::Response& res) { patch(req, res, nullptr); });
        http_.Post(R"(/batches/([0-9a-f]{32})/commit)", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
            commit(req, res, reader_of(r));
        });
        http_.Post(R"(/batches/([0-9a-f]{32})/commit)", [this](const httplib::Request& req, httplib::Response& res) { commit(req, res, nullptr); });
        http_.Get(R"(/batches/([0-9A-HJKMNP-TV-Z]{26})/receipt)", [this](const httplib::Request& req, httplib::Response& res) { receipt(req, res); });
        http_.Get(wire::kHealthPath, [this](const httplib::Request& req, httplib::Response& res) { health(req, res); });

        // Everything else: 404 for unknown paths, 405 for a known path with another method.
        auto other = [this](const httplib::Request& req, httplib::Response& res, const BodyReader& body) {
            drop_body(req, res, body, kMaxDrainBytes);
            const bool known = std::regex_match(req.path, kFilesRoot) || std::regex_match(req.path, kUploadPath) ||
                               std::regex_match(req.path, kCommitPath) || std::regex_match(req.path, kReceiptPath) ||
                               req.path == wire::kHealthPath;
            if (known) answer_error(res, 405, "method-not-allowed", req.method + " is not allowed on " + req.path + " (see wire.h)");
            else answer_error(res, 404, "not-found", "no such endpoint: " + req.path.substr(0, 200) +
                                                         " (the intake serves /files/, /batches/<upload>/commit, /batches/<batch>/receipt, /health)");
        };
        http_.Get(".*", [other](const httplib::Request& req, httplib::Response& res) { other(req, res, nullptr); });
        http_.Options(".*", [other](const httplib::Request& req, httplib::Response& res) { other(req, res, nullptr); });
        auto other_body = [other](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
            other(req, res, reader_of(r));
        };
        auto other_plain = [other](const httplib::Request& req, httplib::Response& res) { other(req, res, nullptr); };
        http_.Post(".*", other_body);
        http_.Post(".*", other_plain);
        http_.Put(".*", other_body);
        http_.Put(".*", other_plain);
        http_.Patch(".*", other_body);
        http_.Patch(".*", other_plain);
        http_.Delete(".*", other_body);
        http_.Delete(".*", other_plain);
    }

private:
    // A 409 tells the client where the upload stands.
    void add_offset(httplib::Response& res, const std::string& id) {
        if (auto up = db_.upload(id); up.ok() && up.value()) res.set_header("Upload-Offset", std::to_string(up.value()->offset));
    }


    // POST /files/: tus creation.
    void create(const httplib::Request& req, httplib::Response& res, const BodyReader& body) {
        auto refuse = [&](int status, const std::string& kind, const std::string& message) {
            drop_body(req, res, body, kMaxDrainBytes);
            answer_error(res, status, kind, message);
        };
        if (auto r = check_tus_version(req)) return refuse(r->status, r->kind, r->message);
        if (has_body(req))
            return refuse(400, "malformed", "this server does not take bytes with the creation request (no creation-with-upload); send them with PATCH");
        if (req.has_header("Upload-Defer-Length"))
            return refuse(400, "malformed", "Upload-Defer-Length is not supported: give Upload-Length, the batch file's size");
        auto length = parse_count(req.get_header_value("Upload-Length"));
        if (!length) return refuse(400, "malformed", "Upload-Length must be the batch file's size in bytes, a whole number");
        if (static_cast<std::uint64_t>(*length) > max_chunk_)
            return refuse(413, "too-large", "Upload-Length " + std::to_string(*length) + " is over Tus-Max-Size " +
                                                std::to_string(max_chunk_) + ", the largest batch this commission accepts; cut smaller batches");
        const std::string raw = req.get_header_value("Upload-Metadata");
        if (raw.empty())
            return refuse(400, "malformed", "Upload-Metadata must name the batch: kiosk_id (the kiosk's public key) and batch_id (its ULID)");
        if (raw.size() > kMaxMetadataBytes)
            return refuse(400, "malformed", "Upload-Metadata is longer than " + std::to_string(kMaxMetadataBytes) + " bytes");
        std::string why;
        auto meta = parse_metadata(raw, why);
        if (!meta) return refuse(400, "malformed", "Upload-Metadata is not `key base64,…`: " + why);
        auto kiosk_it = meta->find("kiosk_id");
        auto batch_it = meta->find("batch_id");
        if (kiosk_it == meta->end() || batch_it == meta->end())
            return refuse(400, "malformed", "Upload-Metadata must name the batch: kiosk_id (the kiosk's public key) and batch_id (its ULID)");
        auto kiosk = parse_kiosk_public_key(kiosk_it->second, "Upload-Metadata kiosk_id");
        if (!kiosk.ok()) return refuse(400, "malformed", kiosk.error().message);
        if (!is_ulid(batch_it->second)) return refuse(400, "malformed", "Upload-Metadata batch_id is not a ULID (26 characters, Crockford base32)");
        const std::string kiosk_id = kiosk->hex();
        auto enrolled = db_.kiosk(kiosk_id);
        if (!enrolled.ok()) return refuse(503, "busy", enrolled.error().message);
        if (!enrolled.value())
            return refuse(403, "unknown-kiosk", "kiosk " + kiosk_id + " is not enrolled at this commission; ask the commission to run "
                                                "`shenbao-intake enrol --kiosk-key " + kiosk_id + " --district <name>`");
        auto open = db_.open_uploads(kiosk_id);
        if (!open.ok()) return refuse(503, "busy", open.error().message);
        if (open.value() >= kMaxOpenUploadsPerKiosk)
            return refuse(429, "too-many-uploads", "kiosk " + kiosk_id.substr(0, 16) + "… already has " + std::to_string(open.value()) +
                                                       " unfinished uploads; finish or commit them (unfinished uploads expire)");
        if (files_.free_bytes() < static_cast<std::uint64_t>(*length) + kDiskReserveBytes)
            return refuse(507, "disk-full", "the commission's disk is too full for this upload; try again later");
        Upload u{new_upload_id(), kiosk_id, batch_it->second, raw, *length, 0, now_ms(), std::nullopt};
        if (auto st = files_.create(u.upload_id); !st.ok()) return answer_error(res, 500, "internal", st.error().message);
        if (auto st = db_.create_upload(u); !st.ok()) {
            files_.remove(u.upload_id);
            return answer_error(res, st.error().code == ErrorCode::Busy ? 503 : 500, st.error().code == ErrorCode::Busy ? "busy" : "internal",
                                st.error().message);
        }
        res.status = 201;
        res.set_header("Location", std::string(wire::kFilesPath) + u.upload_id);
        res.set_header("Upload-Offset", "0");
    }

    // HEAD /files/<id>: where to resume.
    void head(const httplib::Request& req, httplib::Response& res) {
        if (req.method != "HEAD") {
            res.set_header("Allow", "HEAD, PATCH");
            return answer_error(res, 405, "method-not-allowed", "an upload answers HEAD (its offset) and PATCH (more bytes), not " + req.method);
        }
        if (auto r = check_tus_version(req)) return answer(res, *r);
        const std::string id = req.matches[1];
        auto upload_lock = upload_locks_.get(id);
        std::unique_lock lock(*upload_lock, std::defer_lock);
        if (!lock.try_lock_for(kUploadLockWait))
            return answer_error(res, 423, "locked", "another request is writing upload " + id + "; ask again shortly");
        auto up = db_.upload(id);
        if (!up.ok()) return answer_error(res, 503, "busy", up.error().message);
        if (!up.value()) return answer_error(res, 404, "unknown-upload", "no upload " + id + " here (it expired, or never existed)");
        res.status = 200;
        res.set_header("Upload-Offset", std::to_string(up.value()->offset));
        res.set_header("Upload-Length", std::to_string(up.value()->length));
        if (!up.value()->metadata.empty()) res.set_header("Upload-Metadata", up.value()->metadata);
    }

    // The checks a PATCH passes before its body is read (also answers Expect: 100-continue).
    std::optional<Refusal> patch_precheck(const httplib::Request& req, const std::string& id, PatchHeaders* parsed = nullptr,
                                          Upload* upload = nullptr) {
        auto h = parse_patch_headers(req, max_chunk_);
        if (h.index() == 1) return std::get<1>(h);
        auto up = db_.upload(id);
        if (!up.ok()) return Refusal{503, "busy", up.error().message};
        if (!up.value()) return Refusal{404, "unknown-upload", "no upload " + id + " here (it expired, or never existed); create a new one"};
        const Upload& u = *up.value();
        const PatchHeaders& p = std::get<0>(h);
        if (u.committed_ms) return Refusal{410, "gone", "upload " + id + " was committed as batch " + u.batch_id + "; nothing more can be written to it"};
        if (p.offset != u.offset)
            return Refusal{409, "offset-mismatch", "Upload-Offset " + std::to_string(p.offset) + " is not where upload " + id +
                                                       " stands (" + std::to_string(u.offset) + "); ask HEAD and resume from there"};
        if (p.length && *p.length > static_cast<std::uint64_t>(u.length - u.offset))
            return Refusal{413, "too-large", "this chunk of " + std::to_string(*p.length) + " bytes would go past Upload-Length " +
                                                 std::to_string(u.length) + " (offset " + std::to_string(u.offset) + ")"};
        if (parsed) *parsed = p;
        if (upload) *upload = u;
        return std::nullopt;
    }

    // PATCH /files/<id>: more bytes at the upload's offset.
    void patch(const httplib::Request& req, httplib::Response& res, const BodyReader& body) {
        const std::string id = req.matches[1];
        auto refuse = [&](const Refusal& r) {
            drop_body(req, res, body, max_chunk_);
            answer(res, r);
            if (r.status == 409) add_offset(res, id);
        };
        if (auto h = parse_patch_headers(req, max_chunk_); h.index() == 1) return refuse(std::get<1>(h));
        auto upload_lock = upload_locks_.get(id);
        std::unique_lock lock(*upload_lock, std::defer_lock);
        if (!lock.try_lock_for(kUploadLockWait))
            return refuse(Refusal{423, "locked", "another request is writing upload " + id + "; ask HEAD again shortly and resume"});
        PatchHeaders p;
        Upload u;
        if (auto r = patch_precheck(req, id, &p, &u)) return refuse(*r);
        auto writer_r = ChunkWriter::open(files_.path_of(id), u.offset);
        if (!writer_r.ok()) return refuse(Refusal{500, "internal", writer_r.error().message});
        ChunkWriter writer = std::move(writer_r).value();
        const std::int64_t room = u.length - u.offset;
        bool over = false, write_failed = false;
        bool complete = !body || body([&](const char* d, std::size_t n) {
            if (writer.written() + static_cast<std::int64_t>(n) > room) {
                over = true;
                return false;
            }
            if (!writer.write(d, n)) {
                write_failed = true;
                return false;
            }
            return true;
        });
        if (over) {
            writer.rollback();
            close_after_answer(req, res);
            return answer_error(res, 413, "too-large", "the chunk goes past Upload-Length " + std::to_string(u.length) + "; nothing was written");
        }
        if (write_failed) {
            writer.rollback();
            return answer_error(res, 507, "disk-full", writer.error() + "; nothing was written, try again later");
        }
        if (complete && p.length && static_cast<std::uint64_t>(writer.written()) != *p.length) complete = false;
        if (!complete) {
            // The body was cut off (or timed out). Unverifiable bytes go; plain bytes stay, as tus allows.
            if (p.sha1 || writer.written() == 0 || !writer.make_durable().ok() ||
                !db_.set_offset(id, u.offset + writer.written()).ok()) {
                writer.rollback();
            }
            close_after_answer(req, res);
            return answer_error(res, 400, "incomplete-body", "the chunk ended early; ask HEAD for the offset and resume");
        }
        if (p.sha1 && writer.sha1() != *p.sha1) {
            writer.rollback();
            return answer_error(res, 460, "checksum-mismatch",
                                "the chunk's SHA-1 differs from its Upload-Checksum; nothing was written, send the chunk again");
        }
        if (auto st = writer.make_durable(); !st.ok()) {
            writer.rollback();
            return answer_error(res, st.error().code == ErrorCode::DiskFull ? 507 : 500, "internal", st.error().message);
        }
        const std::int64_t offset = u.offset + writer.written();
        if (auto st = db_.set_offset(id, offset); !st.ok()) {
            writer.rollback();
            return answer_error(res, st.error().code == ErrorCode::Busy ? 503 : 500, st.error().code == ErrorCode::Busy ? "busy" : "internal",
                                st.error().message);
        }
        res.status = 204;
        res.set_header("Upload-Offset", std::to_string(offset));
    }

    // POST /batches/<upload>/commit.
    void commit(const httplib::Request& req, httplib::Response& res, const BodyReader& body) {
        if (auto cl = content_length(req); cl && *cl > kMaxSmallBodyBytes) {
            drop_body(req, res, body, kMaxDrainBytes);
            return answer_error(res, 413, "too-large", "a commit takes no body");
        }
        std::string ignored;
        if (!read_small_body(body, ignored)) {
            close_after_answer(req, res);
            return answer_error(res, 413, "too-large", "a commit takes no body");
        }
        const std::string id = req.matches[1];
        std::unique_lock lock(commit_mu_, std::defer_lock);
        if (!lock.try_lock_for(kCommitWait))
            return answer_error(res, 503, "busy", "another batch is being committed; try again in a few seconds");
        auto out = ingest_.commit(id);
        if (out.index() == 1) return answer(res, std::get<1>(out));
        const Committed& c = std::get<0>(out);
        res.status = 200;
        res.set_content(c.receipt, "application/json");
        if (c.replay) res.set_header("Shenbao-Replay", "true");
    }

    // GET /batches/<batch>/receipt.
    void receipt(const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches[1];
        auto r = db_.receipt(id);
        if (!r.ok()) return answer_error(res, 503, "busy", r.error().message);
        if (!r.value()) return answer_error(res, 404, "unknown-batch", "no batch " + id + " has been committed here");
        res.status = 200;
        res.set_content(*r.value(), "application/json");
    }

    void health(const httplib::Request&, httplib::Response& res) {
        auto probe = db_.kiosk("");
        if (!probe.ok()) return answer_error(res, 503, "busy", "the database does not answer: " + probe.error().message);
        res.status = 200;
        res.set_content(json{{"status", "ok"}, {"version", SHENBAO_VERSION}}.dump(), "application/json");
    }

    httplib::Server& http_;
    IntakeDb& db_;
    UploadFiles& files_;
    Ingest& ingest_;
    const std::uint64_t max_chunk_;
    UploadLocks upload_locks_;
    std::timed_mutex commit_mu_;
};

// Deletes uncommitted uploads older than the expiry (rows first, then files).
void expire_uploads(IntakeDb& db, UploadFiles& files, int hours) {
    auto stale = db.stale_uploads(now_ms() - static_cast<std::int64_t>(hours) * 3600 * 1000);
    if (!stale.ok()) return;
    for (const std::string& id : stale.value())
        if (db.delete_upload(id).ok()) files.remove(id);
    if (!stale.value().empty())
        std::fprintf(stderr, "shenbao-intake: expired %zu unfinished upload(s) older than %d hours\n", stale.value().size(), hours);
}

}  // namespace

// [SECTION] Start and stop

int serve(const ServeOptions& o) {
    const std::string key_dir = o.key_dir.empty() ? o.data_dir : o.key_dir;
    if (::mkdir(o.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "shenbao-intake: %s: cannot create the data folder: %s\n", o.data_dir.c_str(), std::strerror(errno));
        return 2;
    }
    auto db = IntakeDb::open(o.data_dir + "/intake.db");
    if (!db.ok()) {
        std::fprintf(stderr, "shenbao-intake: %s\n", db.error().message.c_str());
        return 2;
    }
    auto commission = load_commission_keys(key_dir + "/commission.key");
    auto receipt_key = commission.ok() ? load_receipt_keys(key_dir + "/receipt.key") : Result<ReceiptKeyPair>(commission.error());
    if (!receipt_key.ok()) {
        std::fprintf(stderr, "shenbao-intake: %s (make the keys with `shenbao-intake keygen --out %s`)\n",
                     receipt_key.error().message.c_str(), key_dir.c_str());
        return 2;
    }
    UploadFiles files(o.data_dir + "/uploads");
    if (auto st = files.ensure(); !st.ok()) {
        std::fprintf(stderr, "shenbao-intake: %s\n", st.error().message.c_str());
        return 2;
    }
    expire_uploads(*db.value(), files, o.upload_expiry_hours);
    if (auto live = db.value()->live_upload_ids(); live.ok()) {
        if (int n = files.sweep(live.value()); n > 0)
            std::fprintf(stderr, "shenbao-intake: removed %d upload file(s) no upload needs\n", n);
    }

    Ingest ingest{*db.value(), files, commission.value(), receipt_key.value(), dictionaries_in(), BatchLimits{}, {}};

    // Signals go to one thread that stops the server; the others never see them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    httplib::SSLServer http(o.cert.c_str(), o.key.c_str());
    if (!http.is_valid()) {
        std::fprintf(stderr, "shenbao-intake: cannot load the TLS certificate %s and key %s (PEM files, the key unencrypted)\n",
                     o.cert.c_str(), o.key.c_str());
        return 3;
    }
    SSL_CTX_set_min_proto_version(http.ssl_context(), TLS1_2_VERSION);
    const int threads = o.threads > 0 ? o.threads : 16;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    IntakeServer server(http, *db.value(), files, ingest);
    server.install();

    int port = o.port;
    if (port == 0) port = http.bind_to_any_port(o.host);
    else if (!http.bind_to_port(o.host, port)) port = -1;
    if (port <= 0) {
        std::fprintf(stderr, "shenbao-intake: cannot listen on %s:%d (address in use, or not this machine's?)\n", o.host.c_str(), o.port);
        return 3;
    }
    std::printf("shenbao-intake listening on https://%s:%d\n", o.host.c_str(), port);
    std::fflush(stdout);
    std::fprintf(stderr, "shenbao-intake: data %s, commission key %.16s…, receipt key %s\n", o.data_dir.c_str(),
                 commission->public_key.hex().c_str(), receipt_key->public_key.hex().c_str());

    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;
    std::thread signals([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        {
            std::lock_guard lock(mu);
            stopping = true;
        }
        cv.notify_all();
        http.stop();
    });
    std::thread expiry([&] {
        std::unique_lock lock(mu);
        while (!cv.wait_for(lock, std::chrono::hours(1), [&] { return stopping; })) {
            lock.unlock();
            expire_uploads(*db.value(), files, o.upload_expiry_hours);
            lock.lock();
        }
    });
    bool ok = http.listen_after_bind();
    {
        std::lock_guard lock(mu);
        if (!stopping) ::kill(::getpid(), SIGTERM);  // wake the signal thread
    }
    signals.join();
    expiry.join();
    std::fprintf(stderr, "shenbao-intake: stopped\n");
    return ok ? 0 : 3;
}

}  // namespace shenbao::intake
