// shenbao-intake killed with SIGKILL at random moments while batches are being
// uploaded and committed, and restarted on the same port each time: the client
// resumes from the offset HEAD gives, commits, and every record ends up stored
// exactly once, byte-identical.
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <set>

#include "intake_support.h"

using namespace itest;
using namespace shenbao;

TEST_CASE("intake: SIGKILL during uploads and commits: restarted, uploads resume, every record stored exactly once") {
    Commission c;
    constexpr int kBatches = 6;
    constexpr std::size_t kPerBatch = 30;  // ~230 KB a batch
    std::vector<std::vector<Record>> records;
    std::vector<std::string> batches;
    for (int b = 0; b < kBatches; ++b) {
        records.push_back(make_records(kPerBatch, 20'000 + static_cast<std::uint64_t>(b) * kPerBatch));
        batches.push_back(c.batch(records.back(), chunked(4096)));
    }

    std::atomic<bool> done{false}, killer_failed{false};
    std::atomic<int> kills{0};
    std::thread killer([&] {
        std::mt19937 rng(20220530);
        try {
            while (!done) {
                // Up to a second: long enough, now and then, for a commit to finish (~0.5 s in a Debug build).
                std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1000)(rng)));
                if (done) break;
                c.server.crash_and_restart();
                ++kills;
            }
        } catch (...) {
            killer_failed = true;
        }
    });

    // Joined on every way out: a failed REQUIRE below must not leave it running (std::terminate).
    struct JoinOnExit {
        std::atomic<bool>& done;
        std::thread& thread;
        ~JoinOnExit() {
            done = true;
            if (thread.joinable()) thread.join();
        }
    } join_killer{done, killer};

    RequestOptions slow;
    slow.max_send_speed = 256 << 10;  // 256 KiB/s, an office link: kills land in the middle of bodies
    slow.timeout_ms = 10000;
    int failures = 0;
    std::size_t resumed_bytes = 0;
    std::vector<std::string> receipts(kBatches);
    auto until_answered = [&](const std::function<Response()>& call) {
        for (int tries = 0;; ++tries) {
            Response r = call();
            if (r.status != 0 && r.status < 500) return r;
            REQUIRE_MESSAGE(tries < 1000, "no answer: " << r.status << " " << r.curl_error << "\n" << c.server.log_tail());
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    };
    for (int b = 0; b < kBatches && !killer_failed; ++b) {
        const std::string& batch = batches[b];
        const std::string batch_id = batch_id_of(batch);
        Response created = until_answered([&] { return c.tus.create(c.kiosk.public_key.hex(), batch_id, batch.size()); });
        REQUIRE(created.status == 201);
        const std::string id = Tus::id_of(created);
        // Every other batch without checksums (the server keeps what it stored even when the answer is lost).
        failures += c.tus.send(id, batch, 0, 128 * 1024, slow, 1000, &resumed_bytes, b % 2 == 0);
        Response committed = until_answered([&] { return c.tus.commit(id); });
        REQUIRE_MESSAGE(committed.status == 200, committed.body);
        receipts[b] = committed.body;
    }
    done = true;
    killer.join();
    REQUIRE(!killer_failed);
    MESSAGE(kills.load() << " SIGKILLs; " << failures << " interrupted PATCHes resumed; " << resumed_bytes
                         << " bytes were stored before their answer was lost, and not sent again");
    CHECK(kills.load() >= 8);
    CHECK(failures >= 3);

    // Every batch's receipt verifies, lists every record as accepted and is what the server still says.
    std::set<std::string> expected_ids;
    for (int b = 0; b < kBatches; ++b) {
        const std::string batch_id = batch_id_of(batches[b]);
        Receipt r = c.verified(Response{200, {}, receipts[b], ""}, batch_id);
        CHECK(r.count(ReceiptOutcome::Accepted) == kPerBatch);
        CHECK(until_answered([&] { return c.tus.receipt(batch_id); }).body == receipts[b]);
        for (const Record& rec : records[b]) expected_ids.insert(rec.meta.id);
    }
    // Exactly once: as many rows as records, each byte-identical.
    CHECK(c.count("records") == static_cast<std::int64_t>(kBatches * kPerBatch));
    CHECK(c.count("batches") == kBatches);
    std::string rows = c.dump("SELECT id || '|' || data FROM records;");
    for (int b = 0; b < kBatches; ++b)
        for (const Record& rec : records[b]) CHECK(rows.find(rec.meta.id + "|" + rec.data.dump() + "\n") != std::string::npos);

    // After a last restart no committed upload keeps its bytes on disk.
    c.server.stop();
    c.server.start();
    const std::int64_t open = std::stoll(c.dump("SELECT COUNT(*) FROM uploads WHERE committed_ms IS NULL;"));
    const std::string parts = test::run("ls " + shq(c.data + "/uploads") + " | grep -c part || true").output;
    CHECK(std::stoll(parts) == open);
}
