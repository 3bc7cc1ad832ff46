// The store's outbox (schema v4): filing records under batches, uploads,
// receipts, quarantine, retention and the sync status — on real SQCipher files.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "shenbao/store.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;

namespace {

struct Fixture {
    test::TempDir dir;
    StoreKey key = generate_store_key();
    std::unique_ptr<Store> store;
    Fixture() {
        auto s = Store::create(dir.file("store.db"), key);
        REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
        store = std::move(s.value());
    }
    std::unique_ptr<Store> second_connection() { return std::move(Store::open(dir.file("store.db"), key).value()); }
    // n submitted records; returns them as batch members.
    std::vector<BatchMember> submitted(int n) {
        std::vector<BatchMember> out;
        for (int i = 0; i < n; ++i) {
            auto m = store->create_record("alliance-2022", 1).value();
            REQUIRE(store->save_fields(m.id, json{{"alliance_name", "联盟 " + std::to_string(i)}}).ok());
            REQUIRE(store->set_status(m.id, RecordStatus::Submitted, "applicant").ok());
            REQUIRE(store->review(m.id, ReviewDecision::Recommend, "测试审核员", "").ok());  // only reviewed records are filed
            out.push_back({m.id, store->get(m.id).value().meta.content_hash});
        }
        return out;
    }
    OutboxBatch batch(const std::string& id, std::size_t count) {
        OutboxBatch b;
        b.batch_id = id;
        b.file_path = dir.file(id + ".shb");
        b.bytes = 1234;
        b.record_count = static_cast<std::int64_t>(count);
        return b;
    }
    RecordStatus status(const std::string& id) { return store->get(id).value().meta.status; }
};

std::vector<BatchRecordOutcome> all_accepted(const std::vector<BatchMember>& ms) {
    std::vector<BatchRecordOutcome> out;
    for (const BatchMember& m : ms) out.push_back({m.record_id, true, "accepted", ""});
    return out;
}

}  // namespace

TEST_CASE("sync.store: a v3 store migrates to the outbox schema with its records intact") {
    test::TempDir dir;
    StoreKey key = generate_store_key();
    std::string id;
    {
        StoreOptions old;
        old.migrate_to = 3;
        auto s = Store::create(dir.file("s.db"), key, old).value();
        CHECK(s->schema_version().value() == 3);
        id = s->create_record("alliance-2022", 1).value().id;
        REQUIRE(s->set_status(id, RecordStatus::Submitted, "applicant").ok());
    }
    auto s = Store::open(dir.file("s.db"), key).value();
    CHECK(store_schema_version() >= 4);
    CHECK(s->schema_version().value() == store_schema_version());
    CHECK(s->get(id).value().meta.status == RecordStatus::Submitted);
    CHECK(s->live_batches().value().empty());
    CHECK(s->verify().value().problems.empty());
}

TEST_CASE("sync.store: filing a batch queues its records in one transaction, in order, audited") {
    Fixture f;
    auto ms = f.submitted(5);
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", 5), ms).ok());
    for (const BatchMember& m : ms) CHECK(f.status(m.record_id) == RecordStatus::Queued);
    auto live = f.store->live_batches().value();
    REQUIRE(live.size() == 1);
    CHECK(live[0].batch_id == "01B1");
    CHECK(live[0].state == OutboxState::Sealed);
    CHECK(live[0].record_count == 5);
    CHECK(live[0].bytes == 1234);
    CHECK(live[0].file_path == f.dir.file("01B1.shb"));
    auto members = f.store->batch_members("01B1").value();
    REQUIRE(members.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(members[i].record_id == ms[i].record_id);
        CHECK(members[i].content_hash == ms[i].content_hash);
    }
    auto log = f.store->audit_log(ms[0].record_id).value();
    CHECK(log.back().action == "status:queued");
    CHECK(log.back().detail == "batch=01B1");
    CHECK(f.store->verify().value().problems.empty());
    CHECK(f.store->count(RecordStatus::Submitted).value() == 0);
}

TEST_CASE("sync.store: a record is never filed in two live batches — a refused batch changes nothing") {
    Fixture f;
    auto ms = f.submitted(4);
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", 2), {ms[0], ms[1]}).ok());
    // ms[1] is already in 01B1.
    auto again = f.store->enqueue_batch(f.batch("01B2", 3), {ms[2], ms[1], ms[3]});
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == ErrorCode::InvalidTransition);
    CHECK(again.error().message.find(ms[1].record_id) != std::string::npos);
    CHECK(f.status(ms[2].record_id) == RecordStatus::Submitted);  // rolled back
    CHECK(f.store->live_batches().value().size() == 1);
    CHECK(f.store->batch_members("01B2").value().empty());
    CHECK_FALSE(f.store->outbox_batch("01B2").ok());
    // A content hash that is not the frozen one is refused too.
    BatchMember wrong = ms[2];
    wrong.content_hash = std::string(64, '0');
    auto bad = f.store->enqueue_batch(f.batch("01B3", 1), {wrong});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::InvalidTransition);
    // Drafts and unknown records are not filed.
    auto draft = f.store->create_record("alliance-2022", 1).value();
    CHECK_FALSE(f.store->enqueue_batch(f.batch("01B4", 1), {{draft.id, ""}}).ok());
    CHECK(f.store->enqueue_batch(f.batch("01B5", 1), {{"NOPE", ""}}).error().code == ErrorCode::NotFound);
    CHECK(f.store->enqueue_batch(f.batch("01B6", 0), {}).error().code == ErrorCode::InvalidArgument);
}

TEST_CASE("sync.store: two agents filing the same records at once never share one") {
    Fixture f;
    auto ms = f.submitted(40);
    auto a = f.second_connection();
    auto b = f.second_connection();
    std::atomic<int> ok_a{0}, ok_b{0};
    // Each tries overlapping slices of 10; every record may land in at most one batch.
    std::thread ta([&] {
        for (int i = 0; i < 4; ++i)
            ok_a += a->enqueue_batch(f.batch("A" + std::to_string(i), 10),
                                     std::vector<BatchMember>(ms.begin() + i * 10, ms.begin() + i * 10 + 10)).ok();
    });
    std::thread tb([&] {
        for (int i = 3; i >= 0; --i)
            ok_b += b->enqueue_batch(f.batch("B" + std::to_string(i), 10),
                                     std::vector<BatchMember>(ms.begin() + i * 10, ms.begin() + i * 10 + 10)).ok();
    });
    ta.join();
    tb.join();
    CHECK(ok_a + ok_b == 4);
    std::set<std::string> seen;
    auto live = f.store->live_batches().value();
    for (const OutboxBatch& batch : live) {
        auto members = f.store->batch_members(batch.batch_id).value();
        for (const BatchMember& m : members) CHECK(seen.insert(m.record_id).second);
    }
    CHECK(seen.size() == 40);
}

TEST_CASE("sync.store: the upload URL and offset are kept — forgetting the upload goes back to sealed") {
    Fixture f;
    auto ms = f.submitted(1);
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", 1), ms).ok());
    REQUIRE(f.store->set_batch_upload("01B1", "https://intake/files/u1", 0).ok());
    auto b = f.store->outbox_batch("01B1").value();
    CHECK(b.state == OutboxState::Uploading);
    CHECK(b.upload_url == "https://intake/files/u1");
    REQUIRE(f.store->set_batch_upload("01B1", "https://intake/files/u1", 900).ok());
    CHECK(f.store->outbox_batch("01B1").value().upload_offset == 900);
    REQUIRE(f.store->set_batch_upload("01B1", "", 0).ok());
    b = f.store->outbox_batch("01B1").value();
    CHECK(b.state == OutboxState::Sealed);
    CHECK(b.upload_url.empty());
    CHECK(b.upload_offset == 0);
    CHECK(f.store->set_batch_upload("NOPE", "x", 0).error().code == ErrorCode::NotFound);
}

TEST_CASE("sync.store: a receipt marks accepted and duplicate records synced and quarantines the rest, once") {
    Fixture f;
    auto ms = f.submitted(4);
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", 4), ms).ok());
    std::vector<BatchRecordOutcome> outcomes = {
        {ms[0].record_id, true, "accepted", ""},
        {ms[1].record_id, true, "duplicate", ""},
        {ms[2].record_id, false, "conflict", "a different record with this id was received before"},
        {ms[3].record_id, false, "invalid", "lead_unit.staff_total: must be at least 30"},
    };
    std::string receipt = R"({"batch_id":"01B1","signature":"x"})";
    SUBCASE("outcomes that do not match the batch are refused, nothing changed") {
        auto missing = outcomes;
        missing.pop_back();
        CHECK(f.store->apply_receipt("01B1", receipt, missing).error().code == ErrorCode::InvalidArgument);
        auto stranger = outcomes;
        stranger[3].record_id = "SOMEONE-ELSE";
        CHECK(f.store->apply_receipt("01B1", receipt, stranger).error().code == ErrorCode::InvalidArgument);
        auto twice = outcomes;
        twice[3].record_id = twice[2].record_id;
        CHECK(f.store->apply_receipt("01B1", receipt, twice).error().code == ErrorCode::InvalidArgument);
        CHECK(f.status(ms[0].record_id) == RecordStatus::Queued);
        CHECK(f.store->live_batches().value().size() == 1);
        CHECK_FALSE(f.store->receipt("01B1").value().has_value());
        CHECK(f.store->apply_receipt("NOPE", receipt, outcomes).error().code == ErrorCode::NotFound);
    }
    SUBCASE("applied") {
        REQUIRE(f.store->apply_receipt("01B1", receipt, outcomes).ok());
        CHECK(f.status(ms[0].record_id) == RecordStatus::Synced);
        CHECK(f.status(ms[1].record_id) == RecordStatus::Synced);
        CHECK(f.status(ms[2].record_id) == RecordStatus::Queued);
        CHECK(f.status(ms[3].record_id) == RecordStatus::Queued);
        CHECK(f.store->live_batches().value().empty());
        CHECK(f.store->outbox_batch("01B1").value().state == OutboxState::Committed);
        CHECK(f.store->receipt("01B1").value() == receipt);
        auto q = f.store->quarantined().value();
        REQUIRE(q.size() == 2);
        std::set<std::string> reasons;
        for (const QuarantineEntry& e : q) {
            CHECK(e.batch_id == "01B1");
            reasons.insert(e.result + ": " + e.reason);
        }
        CHECK(reasons.count("invalid: lead_unit.staff_total: must be at least 30") == 1);
        CHECK(reasons.count("conflict: a different record with this id was received before") == 1);
        // Again (a crash before the agent noticed): nothing changes, no error.
        REQUIRE(f.store->apply_receipt("01B1", "other bytes", outcomes).ok());
        CHECK(f.store->receipt("01B1").value() == receipt);
        // Quarantined records stay out of new batches...
        CHECK_FALSE(f.store->enqueue_batch(f.batch("01B2", 1), {ms[3]}).ok());
        // ...until staff release one; then it goes again.
        REQUIRE(f.store->release_quarantined(ms[3].record_id, "staff:wang").ok());
        CHECK(f.status(ms[3].record_id) == RecordStatus::Submitted);
        CHECK(f.store->quarantined().value().size() == 1);
        CHECK(f.store->release_quarantined(ms[3].record_id, "staff:wang").error().code == ErrorCode::NotFound);
        REQUIRE(f.store->enqueue_batch(f.batch("01B2", 1), {ms[3]}).ok());
        CHECK(f.store->verify().value().problems.empty());
        auto log = f.store->audit_log().value();
        CHECK(log.back().action == "batch:sealed");
        bool committed_logged = false;
        for (const AuditEntry& e : log) committed_logged |= e.action == "batch:committed" && e.detail.find("synced=2; quarantined=2") != std::string::npos;
        CHECK(committed_logged);
    }
}

TEST_CASE("sync.store: a record the agent cannot send is quarantined locally") {
    Fixture f;
    auto ms = f.submitted(2);
    REQUIRE(f.store->quarantine_unsendable(ms[0].record_id, "its data no longer matches its content hash").ok());
    CHECK(f.status(ms[0].record_id) == RecordStatus::Queued);
    auto q = f.store->quarantined().value();
    REQUIRE(q.size() == 1);
    CHECK(q[0].batch_id == "local");
    CHECK(q[0].result == "unsendable");
    CHECK(f.store->quarantine_unsendable(ms[0].record_id, "again").error().code == ErrorCode::InvalidTransition);
    CHECK(f.store->sync_status().value().quarantined == 1);
}

TEST_CASE("sync.store: retention purges synced records past the cutoff, keeping hashes and receipts") {
    Fixture f;
    auto ms = f.submitted(3);
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", 2), {ms[0], ms[1]}).ok());
    REQUIRE(f.store->apply_receipt("01B1", "{\"r\":1}", all_accepted({ms[0], ms[1]})).ok());
    std::int64_t later = now_ms() + 1000;
    CHECK(f.store->purge_synced_before(now_ms() - 60'000).value() == 0);  // too recent
    CHECK(f.store->purge_synced_before(later).value() == 2);
    for (int i : {0, 1}) {
        Record r = f.store->get(ms[static_cast<std::size_t>(i)].record_id).value();
        CHECK(r.meta.status == RecordStatus::Purged);
        CHECK(r.data.empty());
        CHECK(r.meta.content_hash == ms[static_cast<std::size_t>(i)].content_hash);
    }
    CHECK(f.status(ms[2].record_id) == RecordStatus::Submitted);  // never synced: untouched
    CHECK(f.store->receipt("01B1").value() == "{\"r\":1}");
    CHECK(f.store->purge_synced_before(later).value() == 0);
    CHECK(f.store->verify().value().problems.empty());
}

TEST_CASE("sync.store: retention purges a large backlog in bounded transactions") {
    Fixture f;
    auto ms = f.submitted(620);  // over one transaction's 500
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", ms.size()), ms).ok());
    REQUIRE(f.store->apply_receipt("01B1", "{}", all_accepted(ms)).ok());
    CHECK(f.store->purge_synced_before(now_ms() + 1000).value() == 620);
    CHECK(f.store->count(RecordStatus::Purged).value() == 620);
}

TEST_CASE("sync.store: the sync status the staff screen reads") {
    Fixture f;
    auto s = f.store->sync_status().value();
    CHECK_FALSE(s.last_success_ms.has_value());
    CHECK(s.last_error.empty());
    REQUIRE(f.store->note_sync_attempt(false, "intake unreachable: connection refused", 1000).ok());
    s = f.store->sync_status().value();
    CHECK(s.last_attempt_ms == 1000);
    CHECK_FALSE(s.last_success_ms.has_value());
    CHECK(s.last_error == "intake unreachable: connection refused");
    CHECK(f.store->setting("sync.last_error").value() == "intake unreachable: connection refused");
    REQUIRE(f.store->note_sync_attempt(true, "", 2000).ok());
    s = f.store->sync_status().value();
    CHECK(s.last_success_ms == 2000);
    CHECK(s.last_error.empty());
    CHECK(f.store->setting("sync.last_success_ms").value() == "2000");  // what kiosk_model.cpp reads
    auto ms = f.submitted(1);
    REQUIRE(f.store->enqueue_batch(f.batch("01B1", 1), ms).ok());
    CHECK(f.store->sync_status().value().live_batches == 1);
    CHECK(f.store->outbox_batches().value().size() == 1);
}
