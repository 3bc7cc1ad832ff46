// shenbao-sync end to end: the real programs (shenbao-store, shenbao-sync,
// shenbao-intake) over real HTTPS on 127.0.0.1, with a test CA made here by
// the openssl command line. Records must arrive exactly once and byte-identical,
// through cut connections, SIGKILLs of the agent, a dead intake that comes
// back, an unenrolled kiosk, a certificate from another CA and invalid records.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <sodium.h>

#include "shenbao/crypto.h"
#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/receipt.h"
#include "shenbao/store.h"
#include "shenbao/store_files.h"
#include "sync_test_support.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kSync = SHENBAO_SYNC_CLI;
const std::string kIntake = SHENBAO_INTAKE_CLI;
const std::string kStoreCli = SHENBAO_STORE_CLI;

std::string q(const std::string& s) { return "'" + s + "'"; }

std::string sha256_hex(const std::string& bytes) {
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, out, sizeof out);
    return hex;
}

test::CommandResult must(const std::string& cmd) {
    auto r = test::run(cmd);
    REQUIRE_MESSAGE(r.exit_code == 0, cmd << "\n" << r.output);
    return r;
}

// A CA and a server certificate for 127.0.0.1 signed by it (EC P-256, openssl CLI).
void make_ca(const std::string& dir, const std::string& name) {
    std::string d = dir + "/" + name;
    fs::create_directories(d);
    test::write_file(d + "/ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    must("(cd " + q(d) + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
         "-days 2 -subj '/CN=Shenbao test CA " + name + "' && "
         "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' && "
         "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf)");
}

// The 1,000-application kiosk store, generated once per build folder (it takes
// most of a minute) and copied for each test that uses it.
std::string thousand_store_template() {
    std::string dir = std::string(SHENBAO_SYNC_FIXTURE_DIR) + "/kiosk-1000-recommended";
    if (fs::exists(dir + "/done")) return dir;
    std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    must(q(kStoreCli) + " --data-dir " + q(tmp) + " init");
    // Recommended as well: only reviewed records are sent.
    must(q(kStoreCli) + " --data-dir " + q(tmp) + " generate -n 1000 --seed 1 --recommend-as 测试审核员");
    test::write_file(tmp + "/done", "1000 submitted and recommended applications, seed 1\n");
    std::error_code ec;
    fs::rename(tmp, dir, ec);  // another test process may have won the race: fine
    if (ec) fs::remove_all(tmp);
    return dir;
}

struct Intake {
    std::string dir, certs;
    std::unique_ptr<test::Child> proc;
    int port = 0;
    void start(const std::string& cert_dir) {
        proc = std::make_unique<test::Child>(std::vector<std::string>{kIntake, "--data-dir", dir, "serve", "--listen", "127.0.0.1:0",
                                                                      "--cert", cert_dir + "/server.pem", "--key", cert_dir + "/server.key"},
                                             std::vector<std::string>{}, false, dir + "/intake.log");
        std::string url = proc->wait_line("shenbao-intake listening on https://127.0.0.1:");
        REQUIRE_MESSAGE(!url.empty(), "shenbao-intake did not start");
        port = std::stoi(url);
    }
    void stop() { proc.reset(); }
    // Every stored record, from `shenbao-intake export --format json`: id → (content_hash, raw data bytes).
    std::map<std::string, std::pair<std::string, std::string>> records(std::size_t* rows = nullptr) const {
        std::string out = dir + "/export.json";
        must(q(kIntake) + " --data-dir " + q(dir) + " export --format json --out " + q(out));
        std::map<std::string, std::pair<std::string, std::string>> m;
        std::istringstream lines(test::read_file(out));
        std::size_t n = 0;
        for (std::string line; std::getline(lines, line);) {
            auto at = line.find(",\"data\":");
            if (line.empty() || line[0] != '{' || at == std::string::npos) continue;
            if (line.back() == ',') line.pop_back();
            ++n;
            json meta = json::parse(line.substr(0, at) + "}");
            std::string raw = line.substr(at + 8, line.size() - at - 9);
            m[meta["id"].get<std::string>()] = {meta["content_hash"].get<std::string>(), raw};
        }
        if (rows) *rows = n;
        return m;
    }
};

struct E2E {
    test::TempDir root;
    std::string kiosk, config;
    Intake intake;
    std::string kiosk_id;
    json settings;

    // `store_from`: a data folder to copy the store from; empty: a new empty store.
    explicit E2E(const std::string& store_from = "") {
        kiosk = root.file("kiosk");
        intake.dir = root.file("intake");
        config = kiosk + "/sync.json";
        fs::create_directories(kiosk);
        fs::create_directories(intake.dir);
        make_ca(root.path(), "ca");
        if (store_from.empty()) {
            must(q(kStoreCli) + " --data-dir " + q(kiosk) + " init");
        } else {
            for (const char* f : {"store.db", "store.key"}) fs::copy_file(store_from + "/" + f, kiosk + "/" + f);
        }
        must(q(kIntake) + " --data-dir " + q(intake.dir) + " keygen");
        kiosk_id = must(q(kSync) + " identity --create --file " + q(kiosk + "/kiosk.identity")).output;
        kiosk_id = kiosk_id.substr(kiosk_id.rfind('\n', kiosk_id.size() - 2) + 1);
        while (!kiosk_id.empty() && kiosk_id.back() == '\n') kiosk_id.pop_back();
        REQUIRE(kiosk_id.size() == 64);
        auto commission = load_commission_keys(intake.dir + "/commission.key").value();
        auto receipt = load_receipt_keys(intake.dir + "/receipt.key").value();
        settings = {{"ca_file", root.file("ca/ca.pem")},
                    {"commission_public_key", commission.public_key.hex()},
                    {"receipt_public_key", receipt.public_key.hex()},
                    {"data_dir", kiosk},
                    {"zstd_level", 3},
                    {"batch_max_records", 250},
                    {"connect_timeout_s", 5},
                    {"low_speed_time_s", 5},
                    {"retry_base_ms", 100},
                    {"retry_max_ms", 1000},
                    {"max_attempts", 6}};
    }
    void enrol() { must(q(kIntake) + " --data-dir " + q(intake.dir) + " enrol --kiosk-key " + kiosk_id + " --district 渝中区"); }
    // The usual start: this kiosk enrolled, the intake serving with the test CA's certificate.
    void open_intake() {
        enrol();
        intake.start(root.file("ca"));
    }
    // Writes the configuration pointing at `port` (the intake, or a proxy before it).
    void configure(int port, const json& extra = json::object()) {
        json c = settings;
        c["intake_url"] = "https://127.0.0.1:" + std::to_string(port);
        for (auto it = extra.begin(); it != extra.end(); ++it) c[it.key()] = it.value();
        test::write_file(config, c.dump(2));
    }
    test::CommandResult sync(const std::string& args = "run-once") { return test::run(q(kSync) + " --config " + q(config) + " " + args); }
    std::unique_ptr<Store> store() {
        auto s = open_store(kiosk + "/store.db", kiosk + "/store.key", false);
        REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
        return std::move(s.value());
    }
    // Every record in the kiosk store must be at the intake exactly once, byte-identical:
    // the intake's bytes hash to the kiosk's frozen content hash (and verify() shows the
    // kiosk's data still has that hash); every `compare_every`-th is compared byte for byte too.
    void check_all_arrived(std::size_t expected, std::size_t compare_every = 1) {
        auto s = store();
        auto metas = s->list().value();
        CHECK(metas.size() == expected);
        std::size_t rows = 0;
        auto at_intake = intake.records(&rows);
        CHECK(rows == expected);  // no duplicates: one row per record
        CHECK(at_intake.size() == expected);
        std::size_t same = 0, compared = 0, i = 0;
        for (const RecordMeta& m : metas) {
            CHECK(m.status == RecordStatus::Synced);
            auto it = at_intake.find(m.id);
            if (it == at_intake.end()) continue;
            same += it->second.first == m.content_hash && sha256_hex(it->second.second) == m.content_hash;
            if (i++ % compare_every == 0) compared += it->second.second == s->get(m.id).value().data.dump();
        }
        CHECK(same == expected);
        CHECK(compared == (expected + compare_every - 1) / compare_every);
        CHECK(s->live_batches().value().empty());
        CHECK(s->verify().value().problems.empty());
    }
    std::size_t outbox_files() {
        std::size_t n = 0;
        if (fs::exists(kiosk + "/outbox"))
            for (const auto& e : fs::directory_iterator(kiosk + "/outbox")) n += e.path().extension() == ".shb";
        return n;
    }
};

// n fresh submitted applications in a store, in-process (fast for small n).
void add_applications(Store& s, int n, std::uint64_t seed) {
    static const FormDefinition form = load_form(test::form_path()).value();
    for (int i = 0; i < n; ++i) {
        auto m = s.create_record(form.form_id, form.version).value();
        REQUIRE(s.save_fields(m.id, generate_application(form, seed + static_cast<std::uint64_t>(i))).ok());
        REQUIRE(s.set_status(m.id, RecordStatus::Submitted, "applicant").ok());
        REQUIRE(s.review(m.id, ReviewDecision::Recommend, "测试审核员", "").ok());  // only reviewed records are sent
    }
}

}  // namespace

TEST_CASE("sync.e2e: 1,000 applications reach the intake over HTTPS exactly once, byte-identical") {
    E2E e(thousand_store_template());
    e.open_intake();
    // The default batch sizes (500 records, 4 MiB sealed, 8 MiB of JSON): these ~91 KB applications cut ~90 per batch.
    e.settings.erase("batch_max_records");
    e.configure(e.intake.port);
    auto t0 = std::chrono::steady_clock::now();
    auto r = e.sync();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    e.check_all_arrived(1000, 10);
    auto s = e.store();
    auto status = s->sync_status().value();
    CHECK(status.last_success_ms.has_value());
    CHECK(status.last_error.empty());
    auto batches_kept = s->outbox_batches().value();
    CHECK(batches_kept.size() >= 3);
    // One log line per batch: records, bytes, time, result.
    std::size_t lines = 0, records = 0;
    for (std::size_t at = 0; (at = r.output.find(" records, ", at)) != std::string::npos; ++at) ++lines;
    CHECK(lines == batches_kept.size());
    std::int64_t sealed_bytes = 0;
    for (const OutboxBatch& b : batches_kept) {
        records += static_cast<std::size_t>(b.record_count);
        sealed_bytes += b.bytes;
        CHECK(b.bytes <= 4 << 20);
        std::string line = "batch " + b.batch_id + ": " + std::to_string(b.record_count) + " records, " + std::to_string(b.bytes) + " bytes, ";
        CHECK_MESSAGE(r.output.find(line) != std::string::npos, line);
        CHECK(r.output.find(std::to_string(b.record_count) + " synced (" + std::to_string(b.record_count) + " accepted, 0 duplicate), 0 quarantined") !=
              std::string::npos);
    }
    CHECK(records == 1000);
    for (const OutboxBatch& b : batches_kept) {
        auto receipt = s->receipt(b.batch_id).value();
        REQUIRE(receipt.has_value());
        CHECK(verify_receipt(*receipt, load_receipt_keys(e.intake.dir + "/receipt.key")->public_key, b.batch_id, e.kiosk_id).ok());
    }
    CHECK(e.outbox_files() == 0);
    MESSAGE("1,000 applications synced in " << secs << " s, " << batches_kept.size() << " batches, " << sealed_bytes
                                            << " sealed bytes (zstd level 3 in tests)");
    // Again: nothing to send, nothing duplicated.
    auto again = e.sync();
    CHECK(again.exit_code == 0);
    CHECK(again.output.find("0 batches") != std::string::npos);
    CHECK(e.intake.records().size() == 1000);
}

TEST_CASE("sync.e2e: 100 SIGKILLs of the agent at random moments during a 1,000-record sync lose and duplicate nothing") {
    E2E e(thousand_store_template());
    e.open_intake();
    test::TcpProxy proxy(e.intake.port);
    proxy.cut_after(40'000, 8);  // eight connections also die in the middle of a body
    // Small batches and chunks and a bandwidth cap stretch the sync over the 100 kills, so
    // they land in every phase: sealing, filing, creating uploads, PATCHes, commits, receipts.
    e.configure(proxy.port(), {{"batch_max_records", 40}, {"chunk_bytes", 16384}, {"bandwidth_bytes_per_s", 100000}});
    std::mt19937 rng(20260529);
    int kills = 0, kills_in_flight = 0, finished = 0, rounds = 0;
    std::int64_t synced_at_kill = 0;
    while (kills < 100 && rounds++ < 300) {
        test::Child agent({kSync, "--config", e.config, "run-once"}, {}, true);
        int rc = agent.wait_exit(std::uniform_int_distribution<int>(30, 900)(rng));
        if (rc == -1) {
            agent.kill_and_wait(SIGKILL);
            ++kills;
            auto s = e.store();
            kills_in_flight += !s->live_batches().value().empty();
            synced_at_kill = s->count(RecordStatus::Synced).value();
            continue;
        }
        INFO(agent.output());
        CHECK((rc == 0 || rc == 3));
        finished += rc == 0;
        if (rc == 0) break;  // everything went: the kills must come sooner (see the checks below)
    }
    // Whatever the kills left behind: a last run, without the cap, finishes the job.
    e.configure(proxy.port(), {{"batch_max_records", 40}});
    test::Child last({kSync, "--config", e.config, "run-once"}, {}, true);
    int rc = last.wait_exit(300'000);
    INFO(last.output());
    CHECK(rc == 0);
    MESSAGE(kills << " SIGKILLs (" << kills_in_flight << " with a batch in flight), " << synced_at_kill
                  << " of 1,000 records synced at the last kill, " << proxy.cuts_done() << " cut connections");
    CHECK(kills == 100);
    CHECK(finished == 0);          // every kill came during the sync, none after it
    CHECK(synced_at_kill < 1000);
    CHECK(kills_in_flight >= 20);  // most, unless the machine is so loaded that sealing outlasts the kill times
    e.check_all_arrived(1000, 10);
    CHECK(e.outbox_files() == 0);
}

TEST_CASE("sync.e2e: the upload lanes send batches side by side, one connection each, every record once") {
    for (int lanes : {1, 3}) {
        CAPTURE(lanes);
        E2E e;
        e.open_intake();
        test::TcpProxy proxy(e.intake.port);
        // A cap stretches each ~70 KB batch over about a second, so the lanes overlap.
        e.configure(proxy.port(), {{"batch_max_records", 10}, {"upload_lanes", lanes}, {"bandwidth_bytes_per_s", 150'000}});
        add_applications(*e.store(), 60, 9100);
        auto r = e.sync();
        INFO(r.output);
        CHECK(r.exit_code == 0);
        e.check_all_arrived(60);
        MESSAGE(lanes << " lane(s): at most " << proxy.max_open() << " connections open at once, " << proxy.connections() << " in all");
        CHECK(proxy.max_open() == lanes);  // each lane keeps its own connection; never more than the lanes
    }
}

TEST_CASE("sync.e2e: the intake killed and restarted during uploads loses and duplicates nothing") {
    E2E e;
    e.open_intake();
    test::TcpProxy proxy(e.intake.port);
    e.configure(proxy.port(), {{"batch_max_records", 10}, {"chunk_bytes", 16384}, {"max_attempts", 3}});
    std::mt19937 rng(4242);
    int restarts = 0;
    std::int64_t total = 0;
    for (int round = 0; round < 40 && restarts < 6; ++round) {
        {
            auto s = e.store();
            if (s->count(RecordStatus::Synced).value() == total) {  // keep work in flight for the next kill
                add_applications(*s, 30, 6000 + static_cast<std::uint64_t>(total));
                total += 30;
            }
        }
        test::Child agent({kSync, "--config", e.config, "run-once"}, {}, true);
        if (agent.wait_exit(std::uniform_int_distribution<int>(50, 400)(rng)) == -1) {
            e.intake.proc->kill_and_wait(SIGKILL);  // the commission's server dies mid-upload
            e.intake.start(e.root.file("ca"));      // and comes back (another port, same data)
            proxy.set_upstream(e.intake.port);
            ++restarts;
        }
        int rc = agent.wait_exit(60'000);
        INFO(agent.output());
        CHECK((rc == 0 || rc == 3));
    }
    auto r = e.sync();
    INFO(r.output);
    CHECK(r.exit_code == 0);
    MESSAGE(restarts << " intake SIGKILLs and restarts, " << total << " applications");
    CHECK(restarts >= 6);
    e.check_all_arrived(static_cast<std::size_t>(total));
}

TEST_CASE("sync.e2e: bodies cut midway, a silent link and truncated answers only delay the sync") {
    E2E e;
    e.open_intake();
    test::TcpProxy proxy(e.intake.port);
    e.configure(proxy.port(), {{"batch_max_records", 10}, {"chunk_bytes", 16384}, {"low_speed_bytes_per_s", 1000},
                               {"low_speed_time_s", 1}, {"max_attempts", 8}});
    struct Phase {
        const char* what;
        test::TcpProxy::Fault fault;
        int connections;
        int records;  // the agent's two lanes share them out: enough that each connection gets far
    };
    const Phase phases[] = {
        {"request bodies cut midway", {30'000, -1, 0}, 3, 20},
        {"a link that goes silent", {20'000, -1, 4000}, 1, 20},
        {"answers truncated (TLS handshakes, tus answers, receipts)", {-1, 2500, 0}, 4, 20},
        {"answers truncated later in the connection", {-1, 4500, 0}, 4, 40},
    };
    std::size_t total = 0;
    std::uint64_t seed = 11000;
    for (const Phase& ph : phases) {
        {
            auto s = e.store();
            add_applications(*s, ph.records, seed);
        }
        seed += 100;
        total += static_cast<std::size_t>(ph.records);
        int cuts_before = proxy.cuts_done();
        proxy.fault(ph.fault, ph.connections);
        int rc = -1;
        std::string log;
        for (int run = 0; run < 6 && rc != 0; ++run) {
            auto r = e.sync();
            rc = r.exit_code;
            log += r.output;
            CHECK((rc == 0 || rc == 3));
        }
        INFO(std::string(ph.what) << "\n" << log);
        CHECK(rc == 0);
        CHECK(proxy.cuts_done() > cuts_before);
        MESSAGE(std::string(ph.what) << ": " << proxy.cuts_done() - cuts_before << " faults");
        e.check_all_arrived(total);
    }

    // Real error answers from the real intake, not from a script: 500 while its uploads
    // folder is unusable, 503 (Retry-After) while another writer holds its database.
    auto sync_until_done = [&](const char* what) {
        std::string log;
        int rc = -1;
        for (int run = 0; run < 4 && rc != 0; ++run) {
            auto r = e.sync();
            rc = r.exit_code;
            log += r.output;
        }
        INFO(what << "\n" << log);
        CHECK(rc == 0);
        e.check_all_arrived(total);
        return log;
    };
    {
        add_applications(*e.store(), 20, seed);
        seed += 100;
        total += 20;
        const std::string uploads = e.intake.dir + "/uploads";
        fs::rename(uploads, uploads + ".away");
        test::write_file(uploads, "not a folder\n");  // every new upload and every PATCH fails inside the intake
        std::thread repair([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            fs::remove(uploads);
            fs::rename(uploads + ".away", uploads);
        });
        std::string log = sync_until_done("500 answers");
        repair.join();
        CHECK(log.find("500") != std::string::npos);
        CHECK(log.find("retrying in") != std::string::npos);
    }
    {
        add_applications(*e.store(), 20, seed);
        total += 20;
        // The agent must outwait the intake's 10 s busy timeout to hear its 503.
        e.configure(proxy.port(), {{"batch_max_records", 10}, {"chunk_bytes", 16384}, {"low_speed_time_s", 30}, {"max_attempts", 8}});
        test::Child locker({"python3", "-c",
                            "import sqlite3, sys, time\n"
                            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                            "c.execute('BEGIN EXCLUSIVE')\n"
                            "print('locked', flush=True)\n"
                            "time.sleep(12)\n"
                            "c.execute('ROLLBACK')\n",
                            e.intake.dir + "/intake.db"},
                           {}, true);
        REQUIRE(locker.wait_line("lock") == "ed");  // the database is held from here on
        std::string log = sync_until_done("503 answers");
        CHECK(log.find("503") != std::string::npos);
        CHECK(log.find("retrying in 5") != std::string::npos);  // the intake's Retry-After: 5, not the 100 ms backoff
    }
}

TEST_CASE("sync.e2e: the daemon resumes by itself when the intake comes back, and stops on SIGTERM") {
    E2E e;
    {
        auto s = e.store();
        add_applications(*s, 30, 7000);
    }
    e.enrol();
    // The intake is down: the proxy's upstream is a port bound by nobody but this
    // test and never listening (a closed probe's port could be taken by a parallel test's server).
    int dead = 0;
    test::OwnedFd dead_socket(test::bind_loopback(dead));
    test::TcpProxy proxy(dead);
    // Two failures end a pass, so the daemon's own wait between passes (at most retry_max_ms) brings it back.
    e.configure(proxy.port(), {{"window", "00:00-00:00"}, {"retry_max_ms", 2000}, {"max_attempts", 2}, {"poll_s", 3600}});
    test::Child daemon({kSync, "--config", e.config, "daemon"}, {}, true);
    // It tries, fails (offline) and waits; no retry storm meanwhile.
    std::this_thread::sleep_for(std::chrono::seconds(4));
    int connections_while_down = proxy.connections();
    CHECK(connections_while_down >= 1);
    CHECK(connections_while_down < 40);
    CHECK(e.store()->count(RecordStatus::Synced).value() == 0);
    e.intake.start(e.root.file("ca"));
    proxy.set_upstream(e.intake.port);
    auto t0 = std::chrono::steady_clock::now();
    bool synced = false;
    while (!synced && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        daemon.drain(0);
        synced = e.store()->count(RecordStatus::Synced).value() == 30;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(daemon.output());
    REQUIRE(synced);
    MESSAGE("the daemon resumed " << secs << " s after the intake came back");  // within the minute the issue allows (the loop's bound)
    CHECK(daemon.output().find("pass offline") != std::string::npos);
    CHECK(daemon.output().find("next pass in") != std::string::npos);
    int status = daemon.kill_and_wait(SIGTERM);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    e.check_all_arrived(30);
}

TEST_CASE("sync.e2e: the daemon waits outside its window, and staff changes to the window apply") {
    E2E e;
    {
        auto s = e.store();
        add_applications(*s, 3, 8000);
        // A window that opens in two minutes (staff set it on the kiosk's settings screen).
        std::tm tm{};
        std::time_t t = std::time(nullptr);
        localtime_r(&t, &tm);
        int now = tm.tm_hour * 60 + tm.tm_min;
        auto hhmm = [](int m) {
            m = (m + 1440) % 1440;
            char b[8];
            std::snprintf(b, sizeof b, "%02d:%02d", m / 60, m % 60);
            return std::string(b);
        };
        REQUIRE(s->set_setting("sync.window", hhmm(now + 2) + "-" + hhmm(now + 3)).ok());
    }
    e.open_intake();
    e.configure(e.intake.port, {{"window", "00:00-00:00"}, {"window_check_s", 2}});  // the store's setting wins over the file
    test::Child daemon({kSync, "--config", e.config, "daemon"}, {}, true);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    daemon.drain(0);
    CHECK(daemon.output().find("outside the sync window") != std::string::npos);
    CHECK(e.store()->count(RecordStatus::Synced).value() == 0);
    // Staff open the window to the whole day: the daemon notices at its next look (window_check_s).
    REQUIRE(e.store()->set_setting("sync.window", "00:00-00:00").ok());
    auto t0 = std::chrono::steady_clock::now();
    while (e.store()->count(RecordStatus::Synced).value() < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    INFO(daemon.output());
    CHECK(e.store()->count(RecordStatus::Synced).value() == 3);
}

TEST_CASE("sync.e2e: daemon --now syncs at once outside its window, then follows the window") {
    E2E e;
    {
        auto s = e.store();
        add_applications(*s, 3, 8500);
    }
    e.open_intake();
    std::tm tm{};
    std::time_t t = std::time(nullptr);
    localtime_r(&t, &tm);
    int now = tm.tm_hour * 60 + tm.tm_min;
    char window[16];
    std::snprintf(window, sizeof window, "%02d:%02d-%02d:%02d", (now + 120) / 60 % 24, (now + 120) % 60, (now + 180) / 60 % 24,
                  (now + 180) % 60);
    e.configure(e.intake.port, {{"window", window}, {"window_check_s", 1}});
    test::Child daemon({kSync, "--config", e.config, "daemon", "--now"}, {}, true);
    auto t0 = std::chrono::steady_clock::now();
    while (e.store()->count(RecordStatus::Synced).value() < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    daemon.drain(0);
    INFO(daemon.output());
    CHECK(e.store()->count(RecordStatus::Synced).value() == 3);
    CHECK(daemon.output().find("outside the sync window " + std::string(window)) != std::string::npos);
}

TEST_CASE("sync.e2e: invalid records are quarantined with the intake's reason — the rest flow on") {
    E2E e;
    std::string bad_id;
    {
        auto s = e.store();
        add_applications(*s, 5, 9000);
        static const FormDefinition form = load_form(test::form_path()).value();
        auto m = s->create_record(form.form_id, form.version).value();
        json data = generate_application(form, 9100);
        data["alliance_name"] = "";  // a required field left empty: the intake's validation refuses it
        REQUIRE(s->save_fields(m.id, data).ok());
        REQUIRE(s->set_status(m.id, RecordStatus::Submitted, "applicant").ok());
        REQUIRE(s->review(m.id, ReviewDecision::Recommend, "测试审核员", "").ok());
        bad_id = m.id;
    }
    e.open_intake();
    e.configure(e.intake.port);
    auto r = e.sync();
    INFO(r.output);
    CHECK(r.exit_code == 0);
    auto s = e.store();
    CHECK(s->count(RecordStatus::Synced).value() == 5);
    auto qs = s->quarantined().value();
    REQUIRE(qs.size() == 1);
    CHECK(qs[0].record_id == bad_id);
    CHECK(qs[0].result == "invalid");
    CHECK_FALSE(qs[0].reason.empty());
    CHECK(r.output.find("quarantined by the intake (invalid)") != std::string::npos);
    CHECK(e.intake.records().size() == 5);
    // `shenbao-sync status` shows it with the reason.
    auto st = e.sync("status");
    CHECK(st.exit_code == 0);
    CHECK(st.output.find("quarantined " + bad_id + " (batch ") != std::string::npos);
    CHECK(st.output.find(qs[0].reason) != std::string::npos);
    CHECK(st.output.find("synced 5") != std::string::npos);
    // It is not sent again.
    auto again = e.sync();
    CHECK(again.exit_code == 0);
    CHECK(s->quarantined().value().size() == 1);
    MESSAGE("the intake's reason: " << qs[0].reason);
}

TEST_CASE("sync.e2e: a record altered in the store after submit is quarantined at home, not sent") {
    E2E e;
    std::string altered;
    {
        auto s = e.store();
        add_applications(*s, 4, 9300);
        altered = s->list(RecordStatus::Submitted).value()[1].id;
    }
    // Edit its frozen data behind the store's back (the sqlcipher shell, with the key).
    std::string key = test::read_file(e.kiosk + "/store.key").substr(0, 64);
    test::write_file(e.root.file("alter.sql"), "PRAGMA key = \"x'" + key + "'\";\nPRAGMA cipher_page_size = 4096;\n"
                                               "UPDATE record_fields SET value = '\"改过的名称\"' WHERE record_id = '" + altered +
                                               "' AND field_id = 'alliance_name';\n");
    must("sqlcipher -batch " + q(e.kiosk + "/store.db") + " < " + q(e.root.file("alter.sql")));
    e.open_intake();
    e.configure(e.intake.port);
    auto r = e.sync();
    INFO(r.output);
    CHECK(r.exit_code == 0);
    auto s = e.store();
    CHECK(s->count(RecordStatus::Synced).value() == 3);
    auto qs = s->quarantined().value();
    REQUIRE(qs.size() == 1);
    CHECK(qs[0].record_id == altered);
    CHECK(qs[0].batch_id == "local");
    CHECK(qs[0].reason.find("content hash") != std::string::npos);
    auto at_intake = e.intake.records();
    CHECK(at_intake.size() == 3);
    CHECK(at_intake.count(altered) == 0);
}

TEST_CASE("sync.e2e: review decisions travel with their records - the intake's JSON and CSV exports carry them") {
    E2E e;
    static const FormDefinition form = load_form(test::form_path()).value();
    std::string recommended, not_recommended, awaiting, corrected;
    {
        auto s = e.store();
        auto submit = [&](std::uint64_t seed) {
            auto m = s->create_record(form.form_id, form.version).value();
            REQUIRE(s->save_fields(m.id, generate_application(form, seed)).ok());
            REQUIRE(s->set_status(m.id, RecordStatus::Submitted, "applicant").ok());
            return m.id;
        };
        recommended = submit(9400);
        not_recommended = submit(9401);
        awaiting = submit(9402);
        corrected = submit(9403);
        REQUIRE(s->review(recommended, ReviewDecision::Recommend, "李娜", "材料齐全，同意推荐").ok());
        REQUIRE(s->review(not_recommended, ReviewDecision::NotRecommend, "王强", "牵头单位不在本区, \"不予推荐\"").ok());
        // Returned, corrected by the applicant, resubmitted and then recommended.
        REQUIRE(s->review(corrected, ReviewDecision::Return, "李娜", "请补充联系人").ok());
        REQUIRE(s->save_field(corrected, "contact_name", "赵敏").ok());
        REQUIRE(s->set_status(corrected, RecordStatus::Submitted, "applicant").ok());
        REQUIRE(s->changes_since_return(corrected).value().value().size() >= 1);
        REQUIRE(s->review(corrected, ReviewDecision::Recommend, "王强", "").ok());
    }
    e.open_intake();
    e.configure(e.intake.port);
    auto r = e.sync();
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    auto s = e.store();
    CHECK(s->get(recommended).value().meta.status == RecordStatus::Synced);
    CHECK(s->get(not_recommended).value().meta.status == RecordStatus::Synced);
    CHECK(s->get(corrected).value().meta.status == RecordStatus::Synced);
    CHECK(s->get(awaiting).value().meta.status == RecordStatus::Submitted);  // awaits review: not sent
    std::map<std::string, RecordReview> decided;
    for (const std::string& id : {recommended, not_recommended, corrected}) decided[id] = s->get(id).value().review.value();
    CHECK(s->verify().value().problems.empty());
    // The decisions are in the kiosk's audit log with the reviewers' names.
    std::set<std::string> reviewers;
    auto log = s->audit_log().value();
    for (const AuditEntry& a : log)
        if (a.action.rfind("review:", 0) == 0) reviewers.insert(a.actor + " " + a.action);
    CHECK(reviewers == std::set<std::string>{"staff:李娜 review:recommend", "staff:李娜 review:return", "staff:王强 review:not-recommend",
                                             "staff:王强 review:recommend"});

    // JSON export: one record per line, each with its "review" object.
    std::string json_out = e.root.file("export.json");
    must(q(kIntake) + " --data-dir " + q(e.intake.dir) + " export --format json --out " + q(json_out));
    json exported = json::parse(test::read_file(json_out));
    REQUIRE(exported.size() == 3);
    for (const json& rec : exported) {
        std::string id = rec["id"];
        REQUIRE(decided.count(id) == 1);
        const RecordReview& want = decided[id];
        CHECK(rec["review"] == json{{"at_ms", want.at_ms}, {"decision", review_decision_name(want.decision)}, {"reason", want.reason},
                                    {"reviewer", want.reviewer}});
    }
    CHECK(exported[0]["review"].is_object());

    // CSV export: four review columns after the metadata.
    std::string csv_out = e.root.file("export.csv");
    must(q(kIntake) + " --data-dir " + q(e.intake.dir) + " export --format csv --out " + q(csv_out));
    std::string csv = test::read_file(csv_out);
    CHECK(csv.rfind("id,district,kiosk_id,batch_id,form_id,form_version,content_hash,submitted_ms,received_ms,"
                    "review_decision,review_reason,reviewer,review_at_ms,", 0) == 0);
    const RecordReview& no = decided[not_recommended];
    CHECK(csv.find(",not-recommend,\"牵头单位不在本区, \"\"不予推荐\"\"\",王强," + std::to_string(no.at_ms) + ",") != std::string::npos);
    CHECK(csv.find(",recommend,材料齐全，同意推荐,李娜," + std::to_string(decided[recommended].at_ms) + ",") != std::string::npos);
    CHECK(csv.find(",recommend,,王强," + std::to_string(decided[corrected].at_ms) + ",") != std::string::npos);
    CHECK(csv.find(awaiting) == std::string::npos);
}

TEST_CASE("sync.e2e: refusals need a person: an unenrolled kiosk, a certificate from another CA, a wrong receipt key") {
    E2E e;
    {
        auto s = e.store();
        add_applications(*s, 4, 9500);
    }
    SUBCASE("unenrolled") {
        e.intake.start(e.root.file("ca"));
        e.configure(e.intake.port);
        auto r = e.sync();
        INFO(r.output);
        CHECK(r.exit_code == 4);
        CHECK(r.output.find("not enrolled") != std::string::npos);
        auto st = e.store()->sync_status().value();
        CHECK(st.last_error.find("not enrolled") != std::string::npos);
    }
    SUBCASE("another CA") {
        make_ca(e.root.path(), "other");
        e.enrol();
        e.intake.start(e.root.file("other"));
        e.configure(e.intake.port);
        auto r = e.sync();
        INFO(r.output);
        CHECK(r.exit_code == 4);
        CHECK(r.output.find("ca_file") != std::string::npos);
        CHECK(e.intake.records().empty());
    }
    SUBCASE("wrong receipt key") {
        e.open_intake();
        e.configure(e.intake.port, {{"receipt_public_key", generate_kiosk_identity().public_key.hex()}});
        auto r = e.sync();
        INFO(r.output);
        CHECK(r.exit_code == 4);
        CHECK(r.output.find("receipt does not verify") != std::string::npos);
        CHECK(e.store()->count(RecordStatus::Synced).value() == 0);  // nothing marked without a verified receipt
        // With the right key the same batch completes (the intake answers with the same receipt).
        e.configure(e.intake.port);
        auto ok = e.sync();
        INFO(ok.output);
        CHECK(ok.exit_code == 0);
        e.check_all_arrived(4);
    }
    CHECK(e.store()->count(RecordStatus::Synced).value() <= 4);
}

TEST_CASE("sync.e2e: a batch file lost from the outbox is sealed again under the same batch id") {
    E2E e;
    {
        auto s = e.store();
        add_applications(*s, 6, 9700);
    }
    e.enrol();
    e.configure(1);  // nobody at port 1: the batch is cut and stays live
    auto offline = e.sync();
    CHECK(offline.exit_code == 3);
    auto live = e.store()->live_batches().value();
    REQUIRE(live.size() == 1);
    REQUIRE(fs::remove(live[0].file_path));
    e.intake.start(e.root.file("ca"));
    e.configure(e.intake.port);
    auto r = e.sync();
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("sealing it again") != std::string::npos);
    CHECK(e.store()->outbox_batch(live[0].batch_id).value().state == OutboxState::Committed);
    e.check_all_arrived(6);
}

TEST_CASE("sync.cli: configuration errors and a missing identity give their documented exit codes") {
    test::TempDir d;
    test::write_file(d.file("bad.json"), R"({"intake_url": "https://x", "comission_public_key": "typo"})");
    auto r = test::run(q(kSync) + " --config " + q(d.file("bad.json")) + " run-once");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("comission_public_key") != std::string::npos);
    auto plain = test::run(q(kSync) + " --config " + q(d.file("none.json")) + " run-once");
    CHECK(plain.exit_code == 1);
    CHECK(plain.output.find("config-template") != std::string::npos);
    json c = {{"intake_url", "https://127.0.0.1:1"}, {"commission_public_key", generate_commission_keys().public_key.hex()},
              {"receipt_public_key", generate_kiosk_identity().public_key.hex()}, {"data_dir", d.path()}};
    test::write_file(d.file("c.json"), c.dump());
    must(q(kStoreCli) + " --data-dir " + q(d.path()) + " init");
    auto noid = test::run(q(kSync) + " --config " + q(d.file("c.json")) + " run-once");
    CHECK(noid.exit_code == 2);
    CHECK(noid.output.find("identity --create") != std::string::npos);
    c["intake_url"] = "http://127.0.0.1:1";
    test::write_file(d.file("c.json"), c.dump());
    CHECK(test::run(q(kSync) + " --config " + q(d.file("c.json")) + " run-once").exit_code == 1);
    auto tmpl = test::run(q(kSync) + " config-template");
    CHECK(tmpl.exit_code == 0);
    CHECK(json::parse(tmpl.output)["window"] == "01:00-05:00");
}
