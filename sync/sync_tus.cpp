// tus 1.0.0 client and its retry loop: see sync_tus.h.
#include "sync_tus.h"

#include <algorithm>
#include <charconv>

#include <openssl/evp.h>
#include <sodium.h>

#include "shenbao/wire.h"

namespace shenbao::sync {

std::string base64(std::span<const std::uint8_t> bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::char_traits<char>::length(out.c_str()));
    return out;
}

std::string tus_sha1_checksum(std::span<const std::uint8_t> bytes) {
    // tus's checksum extension names SHA-1; it guards the chunk against transport
    // damage only. The batch's own integrity rests on its Ed25519 signature.
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha1(), nullptr);
    return "sha1 " + base64({digest, len});
}

std::string tus_metadata(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string out;
    for (const auto& [key, value] : pairs) {
        if (!out.empty()) out += ",";
        out += key + " " + base64({reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    }
    return out;
}

namespace {

const std::string kResumable = std::string("Tus-Resumable: ") + wire::kTusVersion;

bool parse_u64(const std::string& s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

UploadError protocol_error(const std::string& what, const std::string& url, const std::string& why) {
    return UploadError{UploadErrorKind::Protocol, what + ": " + url + " " + why};
}

}  // namespace

UploadResult<std::string> TusClient::create(const std::string& files_url, std::uint64_t length,
                                            const std::vector<std::pair<std::string, std::string>>& metadata) {
    auto r = http_.request("POST", files_url,
                           {kResumable, "Upload-Length: " + std::to_string(length),
                            "Upload-Metadata: " + tus_metadata(metadata), "Content-Type: application/offset+octet-stream"});
    if (!r) return r.error();
    if (r->status != 201) return http_error(*r, "creating the upload", files_url);
    std::string location = r->header("location");
    std::string url = location.empty() ? "" : resolve_url(files_url, location);
    if (url.empty()) return protocol_error("creating the upload", files_url, "answered 201 without a usable Location header");
    return url;
}

UploadResult<TusOffset> TusClient::head(const std::string& upload_url) {
    auto r = http_.request("HEAD", upload_url, {kResumable});
    if (!r) return r.error();
    if (r->status != 200 && r->status != 204) return http_error(*r, "asking the upload's offset", upload_url);
    TusOffset o;
    if (!parse_u64(r->header("upload-offset"), o.offset))
        return protocol_error("asking the upload's offset", upload_url, "answered without a valid Upload-Offset");
    std::uint64_t len = 0;
    if (parse_u64(r->header("upload-length"), len)) o.length = static_cast<std::int64_t>(len);
    return o;
}

UploadResult<std::uint64_t> TusClient::patch(const std::string& upload_url, std::uint64_t offset,
                                             std::span<const std::uint8_t> chunk) {
    auto r = http_.request("PATCH", upload_url,
                           {kResumable, "Content-Type: application/offset+octet-stream",
                            "Upload-Offset: " + std::to_string(offset), "Upload-Checksum: " + tus_sha1_checksum(chunk)},
                           chunk);
    if (!r) return r.error();
    if (r->status != 204 && r->status != 200) return http_error(*r, "sending a chunk", upload_url);
    std::uint64_t now = 0;
    if (!parse_u64(r->header("upload-offset"), now) || now < offset || now > offset + chunk.size())
        return protocol_error("sending a chunk", upload_url, "answered without a plausible Upload-Offset");
    return now;
}

Backoff::Backoff(RetryPolicy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

std::int64_t Backoff::next_delay_ms(std::int64_t retry_after_ms) {
    int n = std::min(failures_, 30);
    ++failures_;
    std::int64_t d = policy_.base_delay_ms;
    for (int i = 0; i < n && d < policy_.max_delay_ms; ++i) d *= 2;
    d = std::min(d, policy_.max_delay_ms);
    std::uniform_int_distribution<std::int64_t> half(0, std::max<std::int64_t>(d / 2, 0));
    std::int64_t wait = d - d / 2 + half(rng_);
    if (retry_after_ms >= 0) {
        std::uniform_int_distribution<std::int64_t> extra(0, std::max<std::int64_t>(retry_after_ms / 10, 0));
        wait = retry_after_ms + extra(rng_);
    }
    return wait;
}

UploadResult<UploadProgress> upload_resumable(TusClient& tus, UploadJob& job, std::span<const std::uint8_t> data,
                                              Backoff& backoff, const CancelToken* cancel,
                                              const OnUploadProgress& on_progress, const OnRetry& on_retry) {
    UploadProgress p;
    p.length = data.size();
    std::size_t chunk_bytes = std::clamp(job.chunk_bytes, kMinChunkBytes, kMaxChunkBytes);
    bool offset_known = false;  // after any failure, only the server's HEAD says where we are
    std::uint64_t best = 0;
    auto notify = [&](const std::string& url, std::uint64_t off) {
        if (on_progress) on_progress(url, off);
    };
    auto progressed = [&](std::uint64_t off) {
        if (off > best) {
            best = off;
            backoff.reset();
        }
    };
    for (;;) {
        if (cancel && cancel->stop.load()) return UploadError{UploadErrorKind::Cancelled, "stopped during the upload"};
        UploadError failure;
        bool failed = false;
        if (job.upload_url.empty()) {
            auto created = tus.create(job.files_url, data.size(), job.metadata);
            if (created) {
                job.upload_url = *created;
                p.offset = 0;
                offset_known = true;
                notify(job.upload_url, 0);
            } else {
                failure = created.error();
                failed = true;
            }
        } else if (!offset_known) {
            if (p.failures > 0) ++p.resumes;
            auto h = tus.head(job.upload_url);
            if (h && h->length >= 0 && static_cast<std::uint64_t>(h->length) != data.size()) {
                job.upload_url.clear();  // not our upload (any more): start a new one
                notify("", 0);
                continue;
            }
            if (h && h->offset <= data.size()) {
                p.offset = h->offset;
                offset_known = true;
                progressed(p.offset);
                notify(job.upload_url, p.offset);
            } else if (h) {
                failure = protocol_error("asking the upload's offset", job.upload_url, "reports an offset past the end");
                failed = true;
            } else if (h.kind() == UploadErrorKind::Gone) {
                job.upload_url.clear();  // expired or removed at the server: create it again
                notify("", 0);
                continue;
            } else {
                failure = h.error();
                failed = true;
            }
        }
        while (!failed && offset_known && p.offset < data.size()) {
            std::size_t n = std::min<std::size_t>(chunk_bytes, data.size() - p.offset);
            auto r = tus.patch(job.upload_url, p.offset, data.subspan(p.offset, n));
            if (!r) {
                failure = r.error();
                failed = true;
                break;
            }
            p.bytes_patched += static_cast<std::int64_t>(*r - p.offset);
            p.offset = *r;
            progressed(p.offset);
            notify(job.upload_url, p.offset);
        }
        if (!failed && offset_known && p.offset == data.size()) return p;
        if (!failed) continue;

        ++p.failures;
        offset_known = false;
        bool gone = failure.kind == UploadErrorKind::Gone && !job.upload_url.empty();
        if (gone) {
            job.upload_url.clear();  // the upload vanished mid-way: create it again (after a wait)
            notify("", 0);
        }
        if (!gone && !failure.retryable()) return failure;
        if (backoff.failures() >= backoff.policy().max_attempts) return failure;
        std::int64_t delay = backoff.next_delay_ms(failure.retry_after_ms);
        if (on_retry) on_retry(failure, delay);
        bool slept = cancel ? cancel->sleep_for(delay) : CancelToken{}.sleep_for(delay);
        if (!slept) return UploadError{UploadErrorKind::Cancelled, "stopped while waiting to retry"};
    }
}

}  // namespace shenbao::sync
