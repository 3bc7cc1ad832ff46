// The agent's upload layer (sync/sync_http.*, sync/sync_tus.*) against the
// reference tus server from npm (@tus/server + @tus/file-store, installed in
// tests/interop/ by `npm ci`), started here on 127.0.0.1 over plain HTTP: a
// real sealed batch goes up, through a proxy that cuts the connection in the
// middle of request bodies, and the server's file must equal it byte for byte.
// Also: backoff, Retry-After and the refusal of errors no retry can fix.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>

#include "shenbao/batch.h"
#include "shenbao/crypto.h"
#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/store.h"
#include "sync_test_support.h"
#include "sync_tus.h"
#include "test_support.h"

using namespace shenbao;
using namespace shenbao::sync;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> real_batch(std::size_t records) {
    static const FormDefinition form = load_form(test::form_path()).value();
    std::vector<Record> rs;
    for (std::size_t i = 0; i < records; ++i) {
        Record r;
        r.meta.id = new_ulid();
        r.meta.form_id = form.form_id;
        r.meta.form_version = form.version;
        r.meta.submitted_ms = 1'650'000'000'000;
        r.data = generate_application(form, 1000 + i);
        r.meta.content_hash = content_hash_of(r.data);
        rs.push_back(std::move(r));
    }
    auto dict = load_dictionary(kCurrentDictionaryId, test::repo_path("assets/dict")).value();
    EncodeOptions opt;
    opt.level = 3;  // fast: the bytes' shape does not matter here, only that they are a real batch
    opt.chunk_size = 4096;
    auto b = encode_batch(rs, generate_kiosk_identity(), generate_commission_keys().public_key, *dict, opt);
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().message));
    return std::move(b.value().bytes);
}

std::string interop_dir() { return test::repo_path("tests/interop"); }

// The npm reference server over a temporary upload folder.
struct TusServer {
    test::TempDir dir;
    std::unique_ptr<test::Child> node;
    int port = 0;
    TusServer() {
        REQUIRE_MESSAGE(fs::exists(interop_dir() + "/node_modules/@tus/server/package.json"),
                        "the npm reference tus server is missing: run `npm ci` in tests/interop (scripts/install-deps.sh does)");
        node = std::make_unique<test::Child>(std::vector<std::string>{
            "node", test::repo_path("tests/data/sync/tus_file_server.mjs"), interop_dir(), dir.path()});
        std::string p = node->wait_line("listening ");
        REQUIRE_MESSAGE(!p.empty(), "node did not start the tus server");
        port = std::stoi(p);
    }
    // The bytes the server stored for an upload URL ending in /files/<id>.
    std::string stored(const std::string& upload_url) const {
        return test::read_file(dir.file(upload_url.substr(upload_url.rfind('/') + 1)));
    }
    std::string stored_info(const std::string& upload_url) const {
        return test::read_file(dir.file(upload_url.substr(upload_url.rfind('/') + 1) + ".json"));
    }
};

HttpOptions plain_http() {
    HttpOptions o;
    o.allow_plain_http = true;
    o.connect_timeout_s = 5;
    o.low_speed_time_s = 10;
    return o;
}

std::string as_string(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

// Answers each connection's requests from a script of raw HTTP responses, one
// per request, and remembers when each request arrived.
class ScriptedServer {
public:
    explicit ScriptedServer(std::vector<std::string> answers) : answers_(std::move(answers)) {
        listen_ = test::listen_loopback(16, port_);
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptedServer() {
        stop_ = true;
        thread_.join();
        ::close(listen_);
    }
    int port() const { return port_; }
    std::vector<std::chrono::steady_clock::time_point> times() {
        std::lock_guard<std::mutex> l(mu_);
        return times_;
    }

private:
    void serve() {
        std::size_t next = 0;
        while (!stop_) {
            pollfd p{listen_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            int c = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            std::string req;
            char buf[4096];
            while (!stop_ && next < answers_.size()) {
                std::size_t end = req.find("\r\n\r\n");
                if (end == std::string::npos) {
                    pollfd q{c, POLLIN, 0};
                    if (::poll(&q, 1, 100) <= 0) continue;
                    ssize_t n = ::read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    req.append(buf, static_cast<std::size_t>(n));
                    continue;
                }
                std::size_t body = 0;
                if (auto cl = req.find("Content-Length: "); cl != std::string::npos && cl < end)
                    body = std::stoul(req.substr(cl + 16));
                if (req.size() < end + 4 + body) {
                    ssize_t n = ::read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    req.append(buf, static_cast<std::size_t>(n));
                    continue;
                }
                req.erase(0, end + 4 + body);
                {
                    std::lock_guard<std::mutex> l(mu_);
                    times_.push_back(std::chrono::steady_clock::now());
                }
                const std::string& a = answers_[next++];
                ::send(c, a.data(), a.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        }
    }
    std::vector<std::string> answers_;
    int listen_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<std::chrono::steady_clock::time_point> times_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("sync.tus: a real batch uploads to the reference tus server byte for byte, with its metadata") {
    TusServer server;
    auto batch = real_batch(60);
    HttpClient http(plain_http());
    TusClient tus(http);
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(server.port) + "/files/";
    job.metadata = {{"filename", "01TESTBATCH.shb"}, {"batch_id", "01TESTBATCH"}, {"kiosk_id", "abc"}};
    job.chunk_bytes = 16 * 1024;
    Backoff backoff(RetryPolicy{3, 10, 100});
    int progress_calls = 0;
    auto r = upload_resumable(tus, job, batch, backoff, nullptr, [&](const std::string&, std::uint64_t) { ++progress_calls; });
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(r->offset == batch.size());
    CHECK(r->failures == 0);
    CHECK(progress_calls >= static_cast<int>(batch.size() / job.chunk_bytes));
    CHECK(server.stored(job.upload_url) == as_string(batch));
    auto info = nlohmann::json::parse(server.stored_info(job.upload_url));
    CHECK(info["metadata"]["batch_id"] == "01TESTBATCH");
    CHECK(info["metadata"]["filename"] == "01TESTBATCH.shb");
    CHECK(info["size"] == batch.size());
    // HEAD agrees with the finished upload.
    auto h = tus.head(job.upload_url);
    REQUIRE(h.ok());
    CHECK(h->offset == batch.size());
    CHECK(h->length == static_cast<std::int64_t>(batch.size()));
}

TEST_CASE("sync.tus: connections cut in the middle of bodies resume from the server's offset, byte-identical") {
    TusServer server;
    auto batch = real_batch(120);
    REQUIRE(batch.size() > 3 * 64 * 1024);
    test::TcpProxy proxy(server.port);
    // Three connections die mid-PATCH: each after 100 KB of a 64 KiB-chunked upload.
    proxy.cut_after(100'000, 3);
    HttpClient http(plain_http());
    TusClient tus(http);
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(proxy.port()) + "/files/";
    job.metadata = {{"filename", "cut.shb"}};
    job.chunk_bytes = 64 * 1024;
    Backoff backoff(RetryPolicy{5, 20, 200});
    std::vector<std::string> retries;
    auto r = upload_resumable(tus, job, batch, backoff, nullptr, {},
                              [&](const UploadError& e, std::int64_t) { retries.push_back(upload_error_name(e.kind)); });
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    // Every cut is one failure and one resume (HEAD); each cut may land in any request.
    CHECK(proxy.cuts_done() >= 2);
    CHECK(r->failures == proxy.cuts_done());
    CHECK(r->resumes == proxy.cuts_done());
    CHECK(retries.size() == static_cast<std::size_t>(proxy.cuts_done()));
    CHECK(server.stored(job.upload_url) == as_string(batch));
    // The server keeps the part of a cut chunk it got; resuming never sends the file again from zero.
    CHECK(r->bytes_patched <= static_cast<std::int64_t>(batch.size()));
    CHECK(proxy.client_bytes() < static_cast<long long>(batch.size() + 3 * 64 * 1024 + 64 * 1024));
    MESSAGE("batch " << batch.size() << " bytes; proxy saw " << proxy.client_bytes() << " bytes from the client over "
                     << proxy.connections() << " connections");
}

TEST_CASE("sync.tus: a stall longer than the low-speed limit is abandoned and resumed") {
    TusServer server;
    auto batch = real_batch(40);
    test::TcpProxy proxy(server.port);
    // The link goes silent after 50 KB (the connection stays open) for longer than the limit.
    proxy.fault(test::TcpProxy::Fault{50'000, -1, 10'000}, 1);
    HttpOptions o = plain_http();
    // libcurl averages the speed over a few seconds: a high limit makes a silence count at once.
    o.low_speed_limit = 100'000;
    o.low_speed_time_s = 1;
    HttpClient http(o);
    TusClient tus(http);
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(proxy.port()) + "/files/";
    job.chunk_bytes = 64 * 1024;
    // The server may hold the upload's lock while the stalled request lasts: HEADs can time out too.
    Backoff backoff(RetryPolicy{20, 10, 100});
    std::vector<UploadErrorKind> kinds;
    double first_failure_s = -1;
    auto t0 = std::chrono::steady_clock::now();
    auto r = upload_resumable(tus, job, batch, backoff, nullptr, {}, [&](const UploadError& e, std::int64_t) {
        if (kinds.empty()) first_failure_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        kinds.push_back(e.kind);
    });
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    REQUIRE(!kinds.empty());
    CHECK(kinds[0] == UploadErrorKind::Timeout);
    CHECK(first_failure_s < 5);  // abandoned after a second or two, not after the 10 s silence
    CHECK(server.stored(job.upload_url) == as_string(batch));
}

TEST_CASE("sync.tus: the bandwidth cap holds the upload to its rate") {
    TusServer server;
    auto batch = real_batch(40);
    REQUIRE(batch.size() > 200'000);
    std::vector<std::uint8_t> part(batch.begin(), batch.begin() + 200'000);
    HttpOptions o = plain_http();
    o.max_send_bytes_per_s = 100'000;
    HttpClient http(o);
    TusClient tus(http);
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(server.port) + "/files/";
    job.chunk_bytes = 64 * 1024;
    Backoff backoff(RetryPolicy{3, 10, 100});
    auto t0 = std::chrono::steady_clock::now();
    auto r = upload_resumable(tus, job, part, backoff, nullptr);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    MESSAGE("200,000 bytes under a 100,000 B/s cap took " << secs << " s");
    CHECK(secs >= 1.5);
    CHECK(secs < 6);
    CHECK(server.stored(job.upload_url) == std::string(part.begin(), part.end()));
}

TEST_CASE("sync.tus: a known upload resumes in a new client (after a restart) from HEAD, not from zero") {
    TusServer server;
    auto batch = real_batch(80);
    std::string url;
    {
        // The first agent is stopped (SIGTERM's cancel flag) part way through.
        CancelToken cancel;
        HttpClient http(plain_http(), &cancel);
        TusClient tus(http);
        UploadJob job;
        job.files_url = "http://127.0.0.1:" + std::to_string(server.port) + "/files/";
        job.chunk_bytes = 32 * 1024;
        Backoff backoff(RetryPolicy{2, 10, 20});
        auto r = upload_resumable(tus, job, batch, backoff, &cancel, [&](const std::string& u, std::uint64_t off) {
            url = u;
            if (off > 100'000) cancel.stop = true;
        });
        REQUIRE_FALSE(r.ok());
        CHECK(r.kind() == UploadErrorKind::Cancelled);
    }
    HttpClient http(plain_http());
    TusClient tus(http);
    auto before = tus.head(url);
    REQUIRE(before.ok());
    CHECK(before->offset > 0);
    CHECK(before->offset < batch.size());
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(server.port) + "/files/";
    job.upload_url = url;
    job.chunk_bytes = 32 * 1024;
    Backoff backoff(RetryPolicy{3, 10, 100});
    auto r = upload_resumable(tus, job, batch, backoff, nullptr);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(job.upload_url == url);  // the same upload, continued
    CHECK(r->bytes_patched == static_cast<std::int64_t>(batch.size() - before->offset));
    CHECK(server.stored(url) == as_string(batch));
}

TEST_CASE("sync.tus: an upload the server forgot is created again") {
    TusServer server;
    auto batch = real_batch(10);
    HttpClient http(plain_http());
    TusClient tus(http);
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(server.port) + "/files/";
    job.upload_url = job.files_url + "0123456789abcdef0123456789abcdef";  // never existed
    Backoff backoff(RetryPolicy{3, 10, 100});
    std::vector<std::string> urls;
    auto r = upload_resumable(tus, job, batch, backoff, nullptr, [&](const std::string& u, std::uint64_t) { urls.push_back(u); });
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    REQUIRE(urls.size() >= 2);
    CHECK(urls[0].empty());  // forgotten first, so a crash now does not resume the dead URL
    CHECK(job.upload_url != job.files_url + "0123456789abcdef0123456789abcdef");
    CHECK(server.stored(job.upload_url) == as_string(batch));
}

TEST_CASE("sync.tus: 503 with Retry-After is waited out — a refusal is not retried") {
    SUBCASE("Retry-After") {
        ScriptedServer s({"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
                          "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
                          "HTTP/1.1 201 Created\r\nTus-Resumable: 1.0.0\r\nLocation: /files/abc\r\nContent-Length: 0\r\n\r\n",
                          "HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 5\r\n\r\n"});
        HttpClient http(plain_http());
        TusClient tus(http);
        UploadJob job;
        job.files_url = "http://127.0.0.1:" + std::to_string(s.port()) + "/files/";
        Backoff backoff(RetryPolicy{5, 10, 50});  // far shorter than Retry-After: the header must win
        std::vector<std::uint8_t> data = {1, 2, 3, 4, 5};
        auto r = upload_resumable(tus, job, data, backoff, nullptr);
        REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
        CHECK(job.upload_url == "http://127.0.0.1:" + std::to_string(s.port()) + "/files/abc");
        auto t = s.times();
        REQUIRE(t.size() == 4);
        CHECK(t[1] - t[0] >= std::chrono::milliseconds(1000));
        CHECK(t[2] - t[1] >= std::chrono::milliseconds(1000));
    }
    SUBCASE("403 is final") {
        ScriptedServer s({"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
                          "{\"error\":\"unknown-kiosk\",\"message\":\"this kiosk is not enrolled\"}",
                          "HTTP/1.1 201 Created\r\nLocation: /files/abc\r\nContent-Length: 0\r\n\r\n"});
        HttpClient http(plain_http());
        TusClient tus(http);
        UploadJob job;
        job.files_url = "http://127.0.0.1:" + std::to_string(s.port()) + "/files/";
        Backoff backoff(RetryPolicy{5, 10, 50});
        std::vector<std::uint8_t> data = {1, 2, 3};
        auto r = upload_resumable(tus, job, data, backoff, nullptr);
        REQUIRE_FALSE(r.ok());
        CHECK(r.kind() == UploadErrorKind::Refused);
        CHECK(r.error().http_status == 403);
        CHECK(r.error().message.find("not enrolled") != std::string::npos);
        CHECK(s.times().size() == 1);
    }
}

TEST_CASE("sync.tus: a dead server is retried with growing waits, then given up") {
    // A port nobody listens on, held by this test so a parallel test's server cannot take it.
    int port = 0;
    test::OwnedFd dead(test::bind_loopback(port));
    HttpClient http(plain_http());
    TusClient tus(http);
    UploadJob job;
    job.files_url = "http://127.0.0.1:" + std::to_string(port) + "/files/";
    Backoff backoff(RetryPolicy{4, 50, 400}, 7);
    std::vector<std::int64_t> delays;
    std::vector<std::uint8_t> data = {1};
    auto r = upload_resumable(tus, job, data, backoff, nullptr,
                              {}, [&](const UploadError&, std::int64_t d) { delays.push_back(d); });
    REQUIRE_FALSE(r.ok());
    CHECK(r.kind() == UploadErrorKind::Network);
    REQUIRE(delays.size() == 4);
    CHECK(delays[0] >= 25);
    CHECK(delays[0] <= 50);
    CHECK(delays[3] >= 200);
    CHECK(delays[3] <= 400);
}

TEST_CASE("sync.tus: backoff doubles, caps, jitters, and honours Retry-After") {
    Backoff b(RetryPolicy{100, 1000, 8000}, 42);
    std::int64_t prev_cap = 0;
    for (int i = 0; i < 8; ++i) {
        std::int64_t cap = std::min<std::int64_t>(1000LL << i, 8000);
        std::int64_t d = b.next_delay_ms();
        CHECK(d >= cap / 2);
        CHECK(d <= cap);
        CHECK(cap >= prev_cap);
        prev_cap = cap;
    }
    std::int64_t d = b.next_delay_ms(30'000);
    CHECK(d >= 30'000);
    CHECK(d <= 33'000);
    b.reset();
    CHECK(b.next_delay_ms() <= 1000);
    // Two kiosks that failed together do not retry together.
    Backoff x(RetryPolicy{}, 1), y(RetryPolicy{}, 2);
    int same = 0;
    for (int i = 0; i < 6; ++i) same += x.next_delay_ms() == y.next_delay_ms();
    CHECK(same < 3);
    CHECK(parse_retry_after("120") == 120'000);
    CHECK(parse_retry_after("") == -1);
    CHECK(parse_retry_after("soon") == -1);
    CHECK(parse_retry_after("99999999999") == kMaxRetryAfterMs);
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0);  // in the past: at once
}

TEST_CASE("sync.tus: checksum, metadata and URL helpers follow the tus spec") {
    std::string hello = "hello";
    std::vector<std::uint8_t> h(hello.begin(), hello.end());
    CHECK(tus_sha1_checksum(h) == "sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=");
    CHECK(tus_metadata({{"filename", "a.shb"}, {"batch_id", "01ABC"}}) == "filename YS5zaGI=,batch_id MDFBQkM=");
    CHECK(resolve_url("https://intake:8443/files/", "/files/xyz") == "https://intake:8443/files/xyz");
    CHECK(resolve_url("https://intake:8443/files/", "https://other/files/1") == "https://other/files/1");
}

TEST_CASE("sync.tus: plain http is refused unless allowed") {
    HttpClient http(HttpOptions{});
    auto r = http.request("GET", "http://127.0.0.1:1/health", {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.kind() == UploadErrorKind::Config);
    CHECK(r.error().message.find("https") != std::string::npos);
}
