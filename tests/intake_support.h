// Helpers for the intake tests: a test CA and server certificate made with the
// openssl command line, the real shenbao-intake run as a child process on an
// ephemeral loopback port, an HTTPS client (libcurl, verifying against the test
// CA), a raw TLS socket for garbage, a small tus client, and batches of
// generated applications. Tests include only the core's public headers and this.
#pragma once

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "shenbao/batch.h"
#include "shenbao/crypto.h"
#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/receipt.h"
#include "shenbao/store.h"
#include "test_support.h"

namespace itest {

using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;
using namespace shenbao;

inline std::string intake_cli() { return SHENBAO_INTAKE_CLI; }
// One shell word: `s` in single quotes, its own single quotes escaped.
inline std::string shq(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline EncodeOptions chunked(std::uint32_t chunk_size) {
    EncodeOptions o;
    o.chunk_size = chunk_size;
    return o;
}
inline EncodeOptions with_batch_id(const std::string& batch_id) {
    EncodeOptions o;
    o.batch_id = batch_id;
    return o;
}

// [SECTION] Test PKI: a CA and a certificate for 127.0.0.1 signed by it (EC P-256, fast).
struct Pki {
    std::string ca, cert, key;
    explicit Pki(const test::TempDir& dir) {
        const std::string d = dir.path();
        ca = d + "/ca.pem";
        cert = d + "/server.pem";
        key = d + "/server.key";
        test::write_file(d + "/ext.cnf",
                         "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                         "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n");
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
        auto r = test::run("(cd " + shq(d) + " && openssl req -x509" + ec + "-keyout ca.key -out ca.pem -days 2 -subj '/CN=Shenbao Test CA'" +
                           " && openssl req" + ec + "-keyout server.key -out server.csr -subj '/CN=127.0.0.1'" +
                           " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf)");
        REQUIRE_MESSAGE(r.exit_code == 0, "openssl could not make the test CA: " << r.output);
    }
};

// [SECTION] The server as a child process.
class IntakeProcess {
public:
    IntakeProcess(std::string data_dir, const Pki& pki, std::string key_dir = "")
        : data_dir_(std::move(data_dir)), key_dir_(std::move(key_dir)), pki_(pki) {}
    ~IntakeProcess() { stop(); }
    IntakeProcess(const IntakeProcess&) = delete;
    IntakeProcess& operator=(const IntakeProcess&) = delete;

    // Starts the server (on `port`, 0 = any) and waits for its "listening" line.
    void start(int port = 0) {
        REQUIRE(pid_ <= 0);
        int out[2];
        REQUIRE(::pipe(out) == 0);
        const std::string log = data_dir_ + ".log";
        std::vector<std::string> args = {intake_cli(), "--data-dir", data_dir_, "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                                         "--cert", pki_.cert, "--key", pki_.key};
        if (!key_dir_.empty()) args.insert(args.end(), {"--key-dir", key_dir_});
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::dup2(out[1], 1);
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) ::dup2(fd, 2);
            ::close(out[0]);
            std::vector<char*> argv;
            for (std::string& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        pid_ = pid;
        std::string line;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            pollfd p{out[0], POLLIN, 100};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[256];
            ssize_t n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<std::size_t>(n));
        }
        ::close(out[0]);
        auto at = line.find("127.0.0.1:");
        REQUIRE_MESSAGE(at != std::string::npos, "shenbao-intake did not start: " << line << "\n" << log_tail());
        port_ = std::stoi(line.substr(at + 10));
        ++starts_;
    }
    // SIGTERM and wait; returns the exit status (-1 when it had to be killed).
    int stop() {
        if (pid_ <= 0) return 0;
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 300; ++i) {  // idle keep-alive connections end within 5 s
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = 0;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill9();
        return -1;
    }
    void kill9() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
    }
    // SIGKILL, then start again on the same port.
    void crash_and_restart() {
        kill9();
        start(port_.load());
    }
    bool running() const { return pid_ > 0; }
    int port() const { return port_.load(); }
    std::string url(const std::string& path = "") const { return "https://127.0.0.1:" + std::to_string(port_.load()) + path; }
    std::string log_tail() const {
        std::string log = test::read_file(data_dir_ + ".log");
        return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
    }
    int starts() const { return starts_; }
    // The server's peak resident memory so far (VmHWM), 0 when unknown.
    long peak_memory_kib() const {
        std::string status = test::read_file("/proc/" + std::to_string(pid_) + "/status");
        auto at = status.find("VmHWM:");
        return at == std::string::npos ? 0 : std::stol(status.substr(at + 6));
    }
    const std::string& data_dir() const { return data_dir_; }

private:
    std::string data_dir_, key_dir_;
    const Pki& pki_;
    pid_t pid_ = 0;
    std::atomic<int> port_{0};  // read by client threads while a test restarts the server
    int starts_ = 0;
};

// [SECTION] HTTPS client (libcurl, verified against the test CA).
struct Response {
    long status = 0;  // 0: no answer (curl_error says why)
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string curl_error;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
    json json_body() const { return json::parse(body, nullptr, false); }
    // An error answer as wire.h says: JSON {"error": kind, "message": text}.
    bool is_json_error(const std::string& kind) const {
        json j = json_body();
        return j.is_object() && j.value("error", "") == kind && j.contains("message") && j["message"].is_string() &&
               !j["message"].get<std::string>().empty();
    }
};

struct RequestOptions {
    std::size_t abort_after = SIZE_MAX;  // cut the connection after sending this many body bytes
    curl_off_t max_send_speed = 0;       // bytes/s, 0 = unlimited
    bool expect_continue = false;        // let curl send "Expect: 100-continue"
    long timeout_ms = 30000;
};

class Https {
public:
    explicit Https(std::string ca) : ca_(std::move(ca)) {
        static const bool init = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
        REQUIRE(init);
        curl_ = curl_easy_init();
    }
    ~Https() { curl_easy_cleanup(curl_); }
    Https(const Https&) = delete;
    Https& operator=(const Https&) = delete;

    Response request(const std::string& method, const std::string& url, const std::vector<std::string>& headers = {},
                     const std::string& body = "", const RequestOptions& o = {}) {
        Response r;
        curl_easy_reset(curl_);
        curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_.c_str());
        curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, o.timeout_ms);
        curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
        struct curl_slist* list = nullptr;
        for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
        list = curl_slist_append(list, o.expect_continue ? "Expect: 100-continue" : "Expect:");
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
        Sent sent{&body, 0, o.abort_after};
        if (method == "HEAD") {
            curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
        } else if (method == "GET") {
            curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
        } else {
            curl_easy_setopt(curl_, CURLOPT_POST, 1L);
            curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &Https::read_cb);
            curl_easy_setopt(curl_, CURLOPT_READDATA, &sent);
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
            if (method != "POST") curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
            if (o.max_send_speed > 0) curl_easy_setopt(curl_, CURLOPT_MAX_SEND_SPEED_LARGE, o.max_send_speed);
        }
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Https::write_cb);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
        curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Https::header_cb);
        curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
        CURLcode rc = curl_easy_perform(curl_);
        curl_slist_free_all(list);
        if (rc != CURLE_OK) {
            r.curl_error = curl_easy_strerror(rc);
            r.status = 0;
            return r;
        }
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
        return r;
    }

private:
    struct Sent {
        const std::string* body;
        std::size_t pos;
        std::size_t abort_after;
    };
    static std::size_t read_cb(char* buf, std::size_t size, std::size_t n, void* p) {
        auto* s = static_cast<Sent*>(p);
        if (s->pos >= s->abort_after) return CURL_READFUNC_ABORT;
        std::size_t want = std::min({size * n, s->body->size() - s->pos, s->abort_after - s->pos});
        std::memcpy(buf, s->body->data() + s->pos, want);
        s->pos += want;
        return want;
    }
    static std::size_t write_cb(char* d, std::size_t size, std::size_t n, void* p) {
        static_cast<std::string*>(p)->append(d, size * n);
        return size * n;
    }
    static std::size_t header_cb(char* d, std::size_t size, std::size_t n, void* p) {
        auto* h = static_cast<std::map<std::string, std::string>*>(p);
        std::string line(d, size * n);
        if (line.rfind("HTTP/", 0) == 0) h->clear();  // a new (final) status line
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon), value = line.substr(colon + 1);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            value.erase(0, value.find_first_not_of(' '));
            while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
            (*h)[name] = value;
        }
        return size * n;
    }
    std::string ca_;
    CURL* curl_;
};

// Raw bytes over a verified TLS connection: the reply, whatever it is, until the server closes or 3 s pass.
inline std::string raw_tls_exchange(int port, const std::string& ca, const std::string& bytes) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    REQUIRE(SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "127.0.0.1");
    REQUIRE(SSL_connect(ssl) == 1);
    SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size()));
    std::string reply;
    char buf[4096];
    for (;;) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        reply.append(buf, static_cast<std::size_t>(n));
        if (reply.find("\r\n\r\n") != std::string::npos) {
            // Stop once one whole answer (headers + Content-Length body) is in.
            auto cl = reply.find("Content-Length: ");
            if (cl != std::string::npos) {
                std::size_t len = std::stoul(reply.substr(cl + 16));
                if (reply.size() >= reply.find("\r\n\r\n") + 4 + len) break;
            }
        }
    }
    SSL_free(ssl);
    ::close(fd);
    SSL_CTX_free(ctx);
    return reply;
}

// [SECTION] tus

inline std::string b64(const std::string& s) {
    std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()), s.size(), sodium_base64_VARIANT_ORIGINAL);
    out.pop_back();
    return out;
}

inline std::string sha1_b64(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
    return b64(std::string(reinterpret_cast<char*>(md), len));
}

inline std::string metadata(const std::string& kiosk_id, const std::string& batch_id) {
    return "Upload-Metadata: filename " + b64(batch_id + ".shb") + ",batch_id " + b64(batch_id) + ",kiosk_id " + b64(kiosk_id);
}

class Tus {
public:
    Tus(Https& http, std::function<std::string(const std::string&)> url) : http_(http), url_(std::move(url)) {}

    Response create(const std::string& kiosk_id, const std::string& batch_id, std::size_t length) {
        return http_.request("POST", url_("/files/"),
                             {"Tus-Resumable: 1.0.0", "Upload-Length: " + std::to_string(length), metadata(kiosk_id, batch_id)});
    }
    // The upload id from a creation answer's Location.
    static std::string id_of(const Response& created) {
        std::string loc = created.header("location");
        return loc.substr(loc.rfind('/') + 1);
    }
    Response head(const std::string& id) { return http_.request("HEAD", url_("/files/" + id), {"Tus-Resumable: 1.0.0"}); }
    Response patch(const std::string& id, std::size_t offset, const std::string& chunk, bool checksum = true, const RequestOptions& o = {}) {
        std::vector<std::string> h = {"Tus-Resumable: 1.0.0", "Content-Type: application/offset+octet-stream",
                                      "Upload-Offset: " + std::to_string(offset)};
        if (checksum) h.push_back("Upload-Checksum: sha1 " + sha1_b64(chunk));
        return http_.request("PATCH", url_("/files/" + id), h, chunk, o);
    }
    Response commit(const std::string& id) { return http_.request("POST", url_("/batches/" + id + "/commit")); }
    Response receipt(const std::string& batch_id) { return http_.request("GET", url_("/batches/" + batch_id + "/receipt")); }

    // Sends bytes [from, end) in chunks, as a tus client would: on any failure asks HEAD where
    // to resume and goes on from there (up to `max_failures` times). Returns the failures seen.
    // Without `checksum`, bytes of a cut PATCH that reached the server are kept (`resumed_bytes` counts them).
    int send(const std::string& id, const std::string& bytes, std::size_t from, std::size_t chunk, const RequestOptions& o = {},
             int max_failures = 0, std::size_t* resumed_bytes = nullptr, bool checksum = true) {
        std::size_t offset = from;
        int failures = 0;
        while (offset < bytes.size()) {
            std::string piece = bytes.substr(offset, chunk);
            Response r = patch(id, offset, piece, checksum, o);
            if (r.status == 204 && r.header("upload-offset") == std::to_string(offset + piece.size())) {
                offset += piece.size();
                continue;
            }
            ++failures;
            REQUIRE_MESSAGE(failures <= max_failures, "PATCH at " << offset << " failed: " << r.status << " " << r.curl_error << " " << r.body);
            for (int tries = 0;; ++tries) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                Response h = head(id);
                if (h.status == 200) {
                    std::size_t now_at = std::stoul(h.header("upload-offset"));
                    if (resumed_bytes && now_at > offset) *resumed_bytes += now_at - offset;
                    offset = now_at;
                    break;
                }
                REQUIRE_MESSAGE(tries < 500, "HEAD never answered: " << h.status << " " << h.curl_error);
            }
        }
        return failures;
    }

private:
    Https& http_;
    std::function<std::string(const std::string&)> url_;
};

// [SECTION] Batches of generated applications

inline const FormDefinition& form() {
    static const FormDefinition f = load_form(test::form_path()).value();
    return f;
}

inline Record make_record(std::uint64_t seed) {
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

inline std::vector<Record> make_records(std::size_t n, std::uint64_t first_seed) {
    std::vector<Record> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(make_record(first_seed + i));
    return out;
}

inline std::shared_ptr<const BatchDictionary> dict() {
    static const auto d = load_dictionary(kCurrentDictionaryId, test::repo_path("assets/dict")).value();
    return d;
}

inline std::string encode(std::span<const Record> records, const KioskIdentity& kiosk, const CommissionPublicKey& commission,
                          EncodeOptions o = {}) {
    if (o.level == kBatchDefaultLevel) o.level = 3;  // the format is the same at every level; tests need speed
    auto r = encode_batch(records, kiosk, commission, *dict(), o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::string(r.value().bytes.begin(), r.value().bytes.end());
}

inline std::string batch_id_of(const std::string& batch) { return peek_header(as_bytes(batch)).value().batch_id; }

// [SECTION] A commission: keys made by `shenbao-intake keygen`, one kiosk enrolled, the server running.
struct Commission {
    test::TempDir dir;
    Pki pki{dir};
    std::string data = dir.file("data");
    CommissionKeyPair keys;
    ReceiptPublicKey receipt_key;
    KioskIdentity kiosk = generate_kiosk_identity();
    IntakeProcess server{data, pki};
    Https http{pki.ca};
    Tus tus{http, [this](const std::string& p) { return server.url(p); }};

    explicit Commission(const std::string& district = "渝中区", bool start = true) {
        auto k = test::run(intake_cli() + " --data-dir " + shq(data) + " keygen");
        REQUIRE_MESSAGE(k.exit_code == 0, k.output);
        keys = load_commission_keys(data + "/commission.key").value();
        receipt_key = load_receipt_keys(data + "/receipt.key").value().public_key;
        CHECK(k.output.find("commission_public_key = " + keys.public_key.hex()) != std::string::npos);
        CHECK(k.output.find("receipt_public_key = " + receipt_key.hex()) != std::string::npos);
        enrol(kiosk.public_key, district);
        if (start) server.start();
    }
    void enrol(const KioskPublicKey& k, const std::string& district) {
        auto e = test::run(intake_cli() + " --data-dir " + shq(data) + " enrol --kiosk-key " + k.hex() + " --district " + shq(district));
        REQUIRE_MESSAGE(e.exit_code == 0, e.output);
    }
    std::string batch(std::span<const Record> records, EncodeOptions o = {}) { return encode(records, kiosk, keys.public_key, o); }
    std::string cli(const std::string& args) {
        auto r = test::run(intake_cli() + " --data-dir " + shq(data) + " " + args);
        REQUIRE_MESSAGE(r.exit_code == 0, args << ": " << r.output);
        return r.output;
    }
    // The database as SQL text (the sqlcipher shell; the file has no key).
    std::string dump(const std::string& what = ".dump") const {
        auto r = test::run("sqlcipher " + shq(data + "/intake.db") + " " + shq(what));
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);
        return r.output;
    }
    // What a refusal must leave as it was: kiosks, batches, records.
    std::string stored() const {
        return dump("SELECT kiosk_id, district FROM kiosks ORDER BY 1; SELECT batch_id, kiosk_id, receipt FROM batches ORDER BY 1;"
                    " SELECT id, batch_id, content_hash, data FROM records ORDER BY 1;");
    }
    std::int64_t count(const std::string& table) const { return std::stoll(dump("SELECT COUNT(*) FROM " + table + ";")); }

    // Creates, uploads in `chunk`-byte PATCHes with checksums, commits; returns the commit answer.
    Response upload_and_commit(const std::string& batch, std::size_t chunk = 16 * 1024) {
        BatchHeader h = peek_header(as_bytes(batch)).value();
        Response c = tus.create(h.kiosk_id(), h.batch_id, batch.size());
        REQUIRE_MESSAGE(c.status == 201, c.status << " " << c.body << " " << c.curl_error);
        tus.send(Tus::id_of(c), batch, 0, chunk);
        return tus.commit(Tus::id_of(c));
    }
    Receipt verified(const Response& r, const std::string& batch_id) {
        REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body << " " << r.curl_error);
        auto v = verify_receipt(r.body, receipt_key, batch_id, kiosk.public_key.hex());
        REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
        return v.value();
    }
};

}  // namespace itest
