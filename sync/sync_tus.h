// The tus 1.0.0 client (core + creation + checksum), as wire.h fixes it, and
// the retry policy around it: exponential backoff with jitter honouring
// Retry-After, and resuming from the server's offset (HEAD) after any failure.
// It speaks plain tus, so it works against any tus server (tests use the npm
// reference server @tus/server).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sync_http.h"

namespace shenbao::sync {

// Small, because a dropped line loses every lane's chunk in flight (a chunk is
// stored whole or not at all: its checksum covers all of it); see sync_config.h.
inline constexpr std::size_t kDefaultChunkBytes = 32 * 1024;
inline constexpr std::size_t kMinChunkBytes = 4 * 1024;
inline constexpr std::size_t kMaxChunkBytes = 16u << 20;

// Base64 (standard alphabet, padded) and the tus checksum value "sha1 <base64>".
std::string base64(std::span<const std::uint8_t> bytes);
std::string tus_sha1_checksum(std::span<const std::uint8_t> bytes);
// An Upload-Metadata header value: "key base64(value),…" in the given order.
std::string tus_metadata(const std::vector<std::pair<std::string, std::string>>& pairs);

struct TusOffset {
    std::uint64_t offset = 0;
    std::int64_t length = -1;  // Upload-Length, -1 when the server did not say
};

// Single tus requests; each failure is typed (sync_http.h).
class TusClient {
public:
    explicit TusClient(HttpClient& http) : http_(http) {}
    // POST `files_url` (creation): an upload of `length` bytes; the absolute upload URL.
    UploadResult<std::string> create(const std::string& files_url, std::uint64_t length,
                                     const std::vector<std::pair<std::string, std::string>>& metadata);
    // HEAD: where the server's copy ends.
    UploadResult<TusOffset> head(const std::string& upload_url);
    // PATCH one chunk at `offset` with its Upload-Checksum; the server's new offset.
    UploadResult<std::uint64_t> patch(const std::string& upload_url, std::uint64_t offset,
                                      std::span<const std::uint8_t> chunk);
    HttpClient& http() { return http_; }

private:
    HttpClient& http_;
};

struct RetryPolicy {
    // A quick first retry: a dropped line costs every lane a reconnect anyway. Ten
    // attempts from 250 ms wait about as long in all (~3 min) as eight from 1 s did.
    int max_attempts = 10;                 // failures in a row without progress before giving up
    std::int64_t base_delay_ms = 250;      // first wait; doubles each failure
    std::int64_t max_delay_ms = 60000;     // cap of the doubling (before jitter)
};

// Exponential backoff with "equal jitter": wait in [d/2, d] for d = base·2^n
// capped, so kiosks that lost the link together do not come back together.
// A Retry-After is a floor (plus up to 10 % jitter).
class Backoff {
public:
    explicit Backoff(RetryPolicy policy, std::uint64_t seed = std::random_device{}());
    // The wait before the next attempt; counts a failure.
    std::int64_t next_delay_ms(std::int64_t retry_after_ms = -1);
    void reset() { failures_ = 0; }
    int failures() const { return failures_; }
    const RetryPolicy& policy() const { return policy_; }

private:
    RetryPolicy policy_;
    int failures_ = 0;
    std::mt19937_64 rng_;
};

// One file to send and where the upload stands.
struct UploadJob {
    std::string files_url;  // the creation endpoint, e.g. https://intake:8443/files/
    std::vector<std::pair<std::string, std::string>> metadata;
    std::size_t chunk_bytes = kDefaultChunkBytes;
    std::string upload_url;  // in: a known upload to resume ("" to create); out: the upload
};

struct UploadProgress {
    std::uint64_t offset = 0;       // confirmed by the server
    std::uint64_t length = 0;
    std::int64_t resumes = 0;       // HEADs after a failure
    std::int64_t failures = 0;      // failed requests, all kinds
    std::int64_t bytes_patched = 0; // chunk bytes the server confirmed, counting re-sends
};

// Called after the upload is created (offset 0) and after each confirmed chunk,
// so the caller can persist the URL and offset; also on a forgotten upload (url "").
using OnUploadProgress = std::function<void(const std::string& upload_url, std::uint64_t offset)>;
// Called before each backoff wait (for log lines).
using OnRetry = std::function<void(const UploadError& error, std::int64_t delay_ms)>;

// Uploads `data` resumably: creates the upload unless job.upload_url is set,
// PATCHes chunks, and after any failure waits (Backoff) and asks the server's
// offset (HEAD) before going on; an upload the server no longer knows (or of
// another length) is created anew. Progress resets the failure count. Fails
// with the last error after policy.max_attempts failures in a row, at once on
// an error no retry can fix (Refused, Tls, Config), or when cancelled.
UploadResult<UploadProgress> upload_resumable(TusClient& tus, UploadJob& job, std::span<const std::uint8_t> data,
                                              Backoff& backoff, const CancelToken* cancel,
                                              const OnUploadProgress& on_progress = {}, const OnRetry& on_retry = {});

}  // namespace shenbao::sync
