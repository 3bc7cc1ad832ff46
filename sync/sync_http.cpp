// libcurl under the agent's HTTP client: see sync_http.h for the contract.
#include "sync_http.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <mutex>
#include <thread>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

namespace shenbao::sync {

const char* upload_error_name(UploadErrorKind kind) {
    switch (kind) {
        case UploadErrorKind::Network: return "network";
        case UploadErrorKind::Timeout: return "timeout";
        case UploadErrorKind::Busy: return "busy";
        case UploadErrorKind::Conflict: return "conflict";
        case UploadErrorKind::Gone: return "gone";
        case UploadErrorKind::Refused: return "refused";
        case UploadErrorKind::Tls: return "tls";
        case UploadErrorKind::Protocol: return "protocol";
        case UploadErrorKind::Config: return "config";
        case UploadErrorKind::Cancelled: return "cancelled";
    }
    return "?";
}

bool UploadError::retryable() const {
    switch (kind) {
        case UploadErrorKind::Network:
        case UploadErrorKind::Timeout:
        case UploadErrorKind::Busy:
        case UploadErrorKind::Conflict:
        case UploadErrorKind::Protocol:  // a proxy or a cut can garble one answer
            return true;
        default: return false;
    }
}

bool CancelToken::sleep_for(std::int64_t ms) const {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(ms, 0));
    while (!stop.load()) {
        auto now = std::chrono::steady_clock::now();
        if (now >= until) return true;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(100)));
    }
    return false;
}

std::string HttpResponse::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Exchange {
    HttpResponse* response;
    std::size_t header_bytes = 0;
    bool too_large = false;
    const CancelToken* cancel;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    std::size_t len = size * n;
    if (x->response->body.size() + len > kMaxResponseBodyBytes) {
        x->too_large = true;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    x->response->body.append(data, len);
    return len;
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    std::size_t len = size * n;
    x->header_bytes += len;
    if (x->header_bytes > kMaxResponseHeaderBytes) {
        x->too_large = true;
        return 0;
    }
    std::string line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
        x->response->headers.clear();  // a new answer (after 100 Continue): forget the old headers
        return len;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) return len;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    x->response->headers[trim(name)] = trim(line.substr(colon + 1));
    return len;
}

// Counts HTTP bytes each way (headers and bodies, before TLS) for TransferStats.
int on_debug(CURL*, curl_infotype type, char*, std::size_t size, void* user) {
    auto* stats = static_cast<TransferStats*>(user);
    if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT) stats->bytes_sent += static_cast<std::int64_t>(size);
    if (type == CURLINFO_HEADER_IN || type == CURLINFO_DATA_IN) stats->bytes_received += static_cast<std::int64_t>(size);
    return 0;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* x = static_cast<Exchange*>(user);
    return x->cancel && x->cancel->stop.load() ? 1 : 0;
}

UploadErrorKind kind_of(CURLcode rc) {
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT: return UploadErrorKind::Timeout;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return UploadErrorKind::Tls;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            return UploadErrorKind::Config;
        case CURLE_ABORTED_BY_CALLBACK: return UploadErrorKind::Cancelled;
        default: return UploadErrorKind::Network;  // refused, reset, partial, handshake cut, DNS …
    }
}

}  // namespace

struct HttpClient::Impl {
    CURL* curl = nullptr;
    ~Impl() {
        if (curl) curl_easy_cleanup(curl);
    }
};

HttpClient::HttpClient(HttpOptions options, const CancelToken* cancel)
    : options_(std::move(options)), cancel_(cancel), impl_(std::make_unique<Impl>()) {
    global_init();
    impl_->curl = curl_easy_init();
}

HttpClient::~HttpClient() = default;

UploadResult<HttpResponse> HttpClient::request(const std::string& method, const std::string& url,
                                               const std::vector<std::string>& headers,
                                               std::span<const std::uint8_t> body) {
    CURL* c = impl_->curl;
    if (!c) return UploadError{UploadErrorKind::Config, "libcurl could not be initialised"};
    if (cancel_ && cancel_->stop.load()) return UploadError{UploadErrorKind::Cancelled, "stopped before " + method + " " + url};
    bool https = url.rfind("https://", 0) == 0;
    if (!https && !(options_.allow_plain_http && url.rfind("http://", 0) == 0))
        return UploadError{UploadErrorKind::Config, url + ": only https:// URLs are allowed; fix intake_url in the configuration"};

    // Reset keeps the connection cache, so one TLS session serves every request.
    curl_easy_reset(c);
    HttpResponse response;
    Exchange x{&response, 0, false, cancel_};
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, options_.allow_plain_http ? "https,http" : "https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "shenbao-sync/" SHENBAO_VERSION);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_limit);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
    if (options_.request_timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, options_.request_timeout_s);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, options_.keepalive_idle_s);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, options_.keepalive_interval_s);
    if (options_.max_send_bytes_per_s > 0)
        curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, static_cast<curl_off_t>(options_.max_send_bytes_per_s));
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // tus Location headers are read, never followed
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxResponseBodyBytes));
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &stats_);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // feeds on_debug only; nothing is printed

    struct curl_slist* list = nullptr;
    for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip on a slow link
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

    if (method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method == "GET") {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.empty() ? "" : reinterpret_cast<const char*>(body.data()));
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);

    ++stats_.requests;

    if (rc != CURLE_OK) {
        if (x.too_large)
            return UploadError{UploadErrorKind::Protocol, method + " " + url + ": the answer is over the limit (" +
                                                              std::to_string(kMaxResponseBodyBytes) + " bytes of body, " +
                                                              std::to_string(kMaxResponseHeaderBytes) + " of headers)"};
        UploadErrorKind kind = kind_of(rc);
        std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        std::string hint;
        if (kind == UploadErrorKind::Tls)
            hint = "; check ca_file in the configuration (" + (options_.ca_file.empty() ? std::string("system CAs") : options_.ca_file) +
                   ") and the intake's certificate";
        else if (kind == UploadErrorKind::Timeout)
            hint = "; the link is down or too slow, will retry";
        return UploadError{kind, method + " " + url + ": " + detail + hint};
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

std::int64_t parse_retry_after(const std::string& value) {
    if (value.empty()) return -1;
    if (std::all_of(value.begin(), value.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
        if (value.size() > 9) return kMaxRetryAfterMs;
        return std::min<std::int64_t>(std::stoll(value) * 1000, kMaxRetryAfterMs);
    }
    time_t when = curl_getdate(value.c_str(), nullptr);
    if (when < 0) return -1;
    std::int64_t ms = (static_cast<std::int64_t>(when) - static_cast<std::int64_t>(std::time(nullptr))) * 1000;
    return std::clamp<std::int64_t>(ms, 0, kMaxRetryAfterMs);
}

UploadError http_error(const HttpResponse& r, const std::string& what, const std::string& url) {
    UploadError e;
    e.http_status = r.status;
    e.retry_after_ms = parse_retry_after(r.header("retry-after"));
    std::string said;
    try {
        auto j = nlohmann::json::parse(r.body);
        if (j.is_object()) {
            if (j.contains("error") && j["error"].is_string()) said = j["error"].get<std::string>();
            if (j.contains("message") && j["message"].is_string())
                said += (said.empty() ? "" : ": ") + j["message"].get<std::string>();
        }
    } catch (const nlohmann::json::exception&) {
        said = r.body.substr(0, 200);
    }
    long s = r.status;
    if (s == 429 || s >= 500) e.kind = UploadErrorKind::Busy;
    else if (s == 409 || s == 460) e.kind = UploadErrorKind::Conflict;
    else if (s == 404 || s == 410) e.kind = UploadErrorKind::Gone;
    else if (s == 400 || s == 401 || s == 403 || s == 413 || s == 415 || s == 422) e.kind = UploadErrorKind::Refused;
    else e.kind = UploadErrorKind::Protocol;
    e.message = what + ": " + url + " answered " + std::to_string(s) + (said.empty() ? "" : " (" + said + ")");
    return e;
}

std::string resolve_url(const std::string& base, const std::string& reference) {
    global_init();
    CURLU* u = curl_url();
    std::string out;
    if (curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, reference.c_str(), 0) == CURLUE_OK) {
        char* full = nullptr;
        if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) out = full;
        curl_free(full);
    }
    curl_url_cleanup(u);
    return out;
}

}  // namespace shenbao::sync
