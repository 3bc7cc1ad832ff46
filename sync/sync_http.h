// The agent's HTTP(S) client over libcurl: one reused connection, TLS verified
// against a configured CA, connect and low-speed timeouts, TCP keepalive, an
// optional upload bandwidth cap, and typed errors that say whether a retry can
// help. Used by the tus layer (sync_tus.h) and the commit/receipt calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace shenbao::sync {

// Answers larger than this are refused (the largest receipt — 10,000 records
// with reasons — is a few MiB).
inline constexpr std::size_t kMaxResponseBodyBytes = 16u << 20;
// All response header lines of one answer together.
inline constexpr std::size_t kMaxResponseHeaderBytes = 64u << 10;
// A Retry-After longer than this is taken as this.
inline constexpr std::int64_t kMaxRetryAfterMs = 3600 * 1000;

enum class UploadErrorKind {
    Network,    // connection refused, reset, cut mid-body, DNS: retry later
    Timeout,    // connect timeout or a stall below the low-speed limit: retry later
    Busy,       // 429/503 (Retry-After honoured) or another 5xx: retry later
    Conflict,   // 409/460 from tus (offset or checksum mismatch): ask the offset again
    Gone,       // 404/410: the upload (or batch) is unknown at the server
    Refused,    // 400/403/413/422: the server will not take this; a person must look
    Tls,        // the server's certificate does not verify against the CA file
    Protocol,   // the answer breaks the protocol (missing header, bad JSON, too large)
    Config,     // the URL or options are unusable (plain http not allowed, bad URL)
    Cancelled,  // stop was requested (SIGTERM)
};
const char* upload_error_name(UploadErrorKind kind);

struct UploadError {
    UploadErrorKind kind = UploadErrorKind::Network;
    std::string message;           // for a person: which URL, what happened, what to do
    long http_status = 0;          // 0 when no answer came
    std::int64_t retry_after_ms = -1;  // from Retry-After, -1 when absent
    // Whether trying again later (after a backoff) can succeed.
    bool retryable() const;
};

// Result of a network step: the value or a typed UploadError.
template <typename T>
class [[nodiscard]] UploadResult {
public:
    UploadResult(T value) : v_(std::move(value)) {}
    UploadResult(UploadError error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const UploadError& error() const { return std::get<1>(v_); }
    UploadErrorKind kind() const { return error().kind; }

private:
    std::variant<T, UploadError> v_;
};

// A stop flag shared with signal handlers: sleeps end early and transfers abort.
struct CancelToken {
    std::atomic<bool> stop{false};
    // Sleeps up to `ms`; false when stop was requested (at once or while sleeping).
    bool sleep_for(std::int64_t ms) const;
};

struct HttpOptions {
    std::string ca_file;            // PEM file to verify servers with; empty: the system's CAs
    bool allow_plain_http = false;  // http:// URLs (tests against a plain tus server only)
    long connect_timeout_s = 20;
    long low_speed_limit = 50;      // bytes/s; slower than this for low_speed_time_s aborts
    long low_speed_time_s = 60;
    long request_timeout_s = 0;     // whole request; 0: none (the low-speed limit catches stalls)
    std::int64_t max_send_bytes_per_s = 0;  // upload bandwidth cap; 0: none
    long keepalive_idle_s = 30;     // TCP keepalive probes keep NAT entries alive
    long keepalive_interval_s = 15;
};

struct HttpResponse {
    long status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased; the last of repeats
    std::string body;
    // The header's value, or "" when absent.
    std::string header(const std::string& lower_name) const;
};

// HTTP bytes moved by a client, headers and bodies, before TLS framing.
struct TransferStats {
    std::int64_t requests = 0;
    std::int64_t bytes_sent = 0;
    std::int64_t bytes_received = 0;
};

class HttpClient {
public:
    // `cancel` may be null; when set it aborts transfers and must outlive the client.
    explicit HttpClient(HttpOptions options, const CancelToken* cancel = nullptr);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // One request. `headers` are "Name: value" lines; `body` is sent for POST
    // and PATCH (and may be empty). HEAD asks for no body. Any HTTP status is a
    // value; only transport failures (and oversized answers) are errors.
    UploadResult<HttpResponse> request(const std::string& method, const std::string& url,
                                       const std::vector<std::string>& headers,
                                       std::span<const std::uint8_t> body = {});

    const HttpOptions& options() const { return options_; }
    const TransferStats& stats() const { return stats_; }

    struct Impl;

private:
    HttpOptions options_;
    const CancelToken* cancel_;
    TransferStats stats_;
    std::unique_ptr<Impl> impl_;
};

// The error a non-2xx answer means (status, Retry-After and the server's JSON
// "message" when there is one). `what` names the step, e.g. "creating the upload".
UploadError http_error(const HttpResponse& response, const std::string& what, const std::string& url);

// Parses Retry-After (delta seconds or an HTTP date) into ms from now; -1 when absent or malformed.
std::int64_t parse_retry_after(const std::string& value);

// `reference` resolved against `base` (e.g. a relative Location header); "" when unusable.
std::string resolve_url(const std::string& base, const std::string& reference);

}  // namespace shenbao::sync
