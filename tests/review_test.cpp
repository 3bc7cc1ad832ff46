// The district's preliminary review (初审) in the store: decisions with the
// reviewer's name in the audit log, return → edit → resubmit with the changes
// shown, refusals that change nothing, tamper detection, the outbox only taking
// decided records, and the schema-4 → 5 migration of a committed v4 store.
#include "shenbao/review.h"

#include <doctest/doctest.h>

#include "shenbao/keys.h"
#include "shenbao/store.h"
#include "shenbao/store_files.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;

namespace {

// Runs SQL through the real sqlcipher shell, as an attacker with the key would.
test::CommandResult sqlcipher(const std::string& db, const std::string& key_hex,
                              const std::string& sql) {
    test::TempDir d;
    std::string script =
        "PRAGMA key = \"x'" + key_hex + "'\";\nPRAGMA cipher_page_size = 4096;\n" + sql + "\n";
    test::write_file(d.file("script.sql"), script);
    return test::run("sqlcipher -batch '" + db + "' < '" + d.file("script.sql") + "'");
}

struct Fixture {
    test::TempDir dir;
    std::string db = dir.file("store.db");
    std::unique_ptr<Store> store = open_store(db, dir.file("store.key"), true).value();
    std::string key_hex() { return read_key_file(dir.file("store.key")).value().hex(); }

    std::string submitted(const json& data) {
        auto id = store->create_record("alliance-2022", 1).value().id;
        REQUIRE(store->save_fields(id, data).ok());
        REQUIRE(store->set_status(id, RecordStatus::Submitted, "applicant").ok());
        return id;
    }
    std::vector<std::string> ids(ReviewQueue q) {
        std::vector<std::string> out;
        auto metas = store->list_review(q).value();
        CHECK(store->count_review(q).value() == static_cast<std::int64_t>(metas.size()));  // the staff screen's counts
        for (const RecordMeta& m : metas) out.push_back(m.id);
        return out;
    }
    std::size_t audit_size() { return store->audit_log().value().size(); }
};

using Ids = std::vector<std::string>;

}  // namespace

TEST_CASE("store.review: decision names and the changed-fields comparison") {
    CHECK(std::string(review_decision_name(ReviewDecision::NotRecommend)) == "not-recommend");
    CHECK(parse_review_decision("return") == ReviewDecision::Return);
    CHECK_FALSE(parse_review_decision("not_recommend").has_value());
    CHECK_FALSE(parse_review_decision("Recommend").has_value());
    CHECK(is_final(ReviewDecision::Recommend));
    CHECK_FALSE(is_final(ReviewDecision::Return));

    json before = {{"a", 1}, {"b", "旧"}, {"c", json::array({1, 2})}, {"same", "x"}};
    json after = {{"b", "新"}, {"c", json::array({1, 2, 3})}, {"d", true}, {"same", "x"}};
    auto changes = changed_fields(before, after);
    REQUIRE(changes.size() == 4);
    CHECK(changes[0].field_id == "a");
    CHECK(changes[0].before == json(1));
    CHECK_FALSE(changes[0].after.has_value());
    CHECK(changes[1].field_id == "b");
    CHECK(changes[1].after == json("新"));
    CHECK(changes[2].field_id == "c");
    CHECK(changes[3].field_id == "d");
    CHECK_FALSE(changes[3].before.has_value());
    CHECK(changed_fields(after, after).empty());
}

TEST_CASE(
    "store.review: return, edit, resubmit - the reviewer sees the changes - then recommend makes "
    "it ready to send") {
    Fixture f;
    const json first = {{"alliance_name", "重庆市甲产业技术创新联盟"},
                        {"staff_total", 20},
                        {"lead_name", "重庆甲公司"}};
    std::string id = f.submitted(first);
    CHECK(f.ids(ReviewQueue::Awaiting) == Ids{id});
    CHECK(f.ids(ReviewQueue::ReadyToSend).empty());
    CHECK_FALSE(f.store->get(id).value().review.has_value());

    auto ret =
        f.store->review(id, ReviewDecision::Return, "李娜", "请补充科技人员总数（不少于30人）");
    REQUIRE_MESSAGE(ret.ok(), ret.error().message);
    CHECK(ret->seq == 1);
    CHECK(ret->snapshot == first);
    CHECK(ret->content_hash == content_hash_of(first));
    auto returned = f.store->get(id).value();
    CHECK(returned.meta.status == RecordStatus::Returned);
    CHECK(returned.meta.content_hash.empty());
    CHECK_FALSE(returned.review.has_value());
    CHECK(f.ids(ReviewQueue::Awaiting).empty());
    CHECK(f.store->changes_since_return(id).value().value().empty());  // nothing edited yet

    // The applicant corrects two fields and resubmits.
    REQUIRE(f.store->save_field(id, "staff_total", 35).ok());
    REQUIRE(f.store->save_field(id, "contact_name", "赵敏").ok());
    REQUIRE(f.store->set_status(id, RecordStatus::Submitted, "applicant").ok());
    CHECK(f.ids(ReviewQueue::Awaiting) == Ids{id});
    auto changes = f.store->changes_since_return(id).value();
    REQUIRE(changes.has_value());
    REQUIRE(changes->size() == 2);
    CHECK((*changes)[0].field_id == "contact_name");
    CHECK_FALSE((*changes)[0].before.has_value());
    CHECK((*changes)[0].after == json("赵敏"));
    CHECK((*changes)[1].field_id == "staff_total");
    CHECK((*changes)[1].before == json(20));
    CHECK((*changes)[1].after == json(35));

    auto rec = f.store->review(id, ReviewDecision::Recommend, "王强", "");
    REQUIRE_MESSAGE(rec.ok(), rec.error().message);
    CHECK(rec->seq == 2);
    CHECK_FALSE(rec->snapshot.has_value());
    auto decided = f.store->get(id).value();
    REQUIRE(decided.review.has_value());
    CHECK(*decided.review ==
          RecordReview{ReviewDecision::Recommend, "", "王强", rec->review.at_ms});
    CHECK(f.ids(ReviewQueue::Awaiting).empty());
    CHECK(f.ids(ReviewQueue::ReadyToSend) == Ids{id});
    CHECK(f.ids(ReviewQueue::Recommended) == Ids{id});
    CHECK(f.ids(ReviewQueue::NotRecommended).empty());

    // Every decision is in the audit log with the staff member's name and time.
    std::vector<std::string> actions, actors;
    auto log = f.store->audit_log(id).value();
    for (const AuditEntry& e : log) {
        actions.push_back(e.action);
        actors.push_back(e.actor);
        if (e.action.rfind("review:", 0) == 0) CHECK(e.at_ms > 0);
    }
    CHECK(actions == std::vector<std::string>{"create", "status:submitted", "review:return",
                                              "status:returned", "status:submitted",
                                              "review:recommend"});
    CHECK(actors[2] == "staff:李娜");
    CHECK(actors[3] == "staff:李娜");
    CHECK(actors[5] == "staff:王强");
    auto history = f.store->reviews(id).value();
    REQUIRE(history.size() == 2);
    CHECK(history[0].review.reason == "请补充科技人员总数（不少于30人）");
    CHECK(history[1].content_hash == decided.meta.content_hash);
    auto rep = f.store->verify().value();
    CHECK_MESSAGE(rep.problems.empty(), (rep.problems.empty() ? "" : rep.problems[0]));
}

TEST_CASE(
    "store.review: bad input - wrong state, no name, no reason, a second decision - clear errors, "
    "nothing changed") {
    Fixture f;
    auto draft = f.store->create_record("alliance-2022", 1).value().id;
    std::string id = f.submitted({{"alliance_name", "重庆市乙产业技术创新联盟"}});
    const std::size_t audit_before = f.audit_size();

    auto on_draft = f.store->review(draft, ReviewDecision::Recommend, "李娜", "");
    REQUIRE_FALSE(on_draft.ok());
    CHECK(on_draft.error().code == ErrorCode::InvalidTransition);
    CHECK(on_draft.error().message.find("is draft") != std::string::npos);
    CHECK(f.store->review("01NOSUCHRECORD0000000000000", ReviewDecision::Recommend, "李娜", "")
              .error()
              .code == ErrorCode::NotFound);

    auto no_reason = f.store->review(id, ReviewDecision::NotRecommend, "李娜", " \n ");
    REQUIRE_FALSE(no_reason.ok());
    CHECK(no_reason.error().code == ErrorCode::InvalidArgument);
    CHECK(no_reason.error().message.find("not-recommend needs a reason") != std::string::npos);
    auto no_name = f.store->review(id, ReviewDecision::Recommend, "  ", "");
    CHECK(no_name.error().code == ErrorCode::InvalidArgument);
    CHECK(no_name.error().message.find("reviewer's name is empty") != std::string::npos);
    CHECK(f.store->review(id, ReviewDecision::Return, "李娜", "").error().code ==
          ErrorCode::InvalidArgument);
    CHECK(f.store->review(id, ReviewDecision::Recommend, "李\n娜", "").error().code ==
          ErrorCode::InvalidArgument);
    CHECK(
        f.store
            ->review(id, ReviewDecision::Recommend, std::string(kReviewerNameMaxBytes + 1, 'x'), "")
            .error()
            .code == ErrorCode::InvalidArgument);

    CHECK(f.audit_size() == audit_before);
    CHECK(f.store->reviews(id).value().empty());
    CHECK(f.store->get(id).value().meta.status == RecordStatus::Submitted);
    CHECK(f.ids(ReviewQueue::Awaiting) == Ids{id});

    REQUIRE(
        f.store
            ->review(id, ReviewDecision::NotRecommend, "李娜", "科技人员不足30人，不符合申报条件")
            .ok());
    const std::size_t audit_decided = f.audit_size();
    CHECK(audit_decided == audit_before + 1);
    auto again = f.store->review(id, ReviewDecision::Recommend, "王强", "");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == ErrorCode::InvalidTransition);
    CHECK(again.error().message.find("already decided (not-recommend by 李娜)") !=
          std::string::npos);
    // The low-level return cannot undo a final decision either.
    CHECK(f.store->set_status(id, RecordStatus::Returned, "staff:王强", "重新审核").error().code ==
          ErrorCode::InvalidTransition);
    CHECK(f.audit_size() == audit_decided);
    CHECK(f.store->reviews(id).value().size() == 1);
    CHECK(f.ids(ReviewQueue::NotRecommended) == Ids{id});
    CHECK(f.ids(ReviewQueue::ReadyToSend) == Ids{id});
    CHECK(f.store->verify().value().problems.empty());
}

TEST_CASE(
    "store.review: verify detects an altered, deleted or re-dated decision and an altered "
    "snapshot") {
    Fixture f;
    std::string a = f.submitted({{"alliance_name", "甲"}});
    std::string b = f.submitted({{"alliance_name", "乙"}});
    REQUIRE(f.store->review(a, ReviewDecision::NotRecommend, "李娜", "不符合条件").ok());
    REQUIRE(f.store->review(b, ReviewDecision::Return, "李娜", "请补充").ok());
    REQUIRE(f.store->verify().value().problems.empty());
    f.store.reset();

    auto problems = [&]() {
        auto s = Store::open(f.db, read_key_file(f.dir.file("store.key")).value()).value();
        return s->verify().value().problems;
    };
    auto has = [](const std::vector<std::string>& ps, const std::string& text) {
        for (const std::string& p : ps)
            if (p.find(text) != std::string::npos) return true;
        return false;
    };
    // Flip the decision: not-recommend becomes recommend.
    REQUIRE(sqlcipher(f.db, f.key_hex(),
                      "UPDATE reviews SET decision = 'recommend' WHERE record_id = '" + a + "';")
                .exit_code == 0);
    auto p1 = problems();
    CHECK(p1.size() == 1);
    CHECK(has(p1, "review 1 of record " + a + " was altered"));
    REQUIRE(
        sqlcipher(
            f.db, f.key_hex(),
            "UPDATE reviews SET decision = 'not-recommend', at_ms = at_ms + 1 WHERE record_id = '" +
                a + "';")
            .exit_code == 0);
    CHECK(has(problems(), "review 1 of record " + a + " was altered"));
    REQUIRE(sqlcipher(f.db, f.key_hex(),
                      "UPDATE reviews SET at_ms = at_ms - 1 WHERE record_id = '" + a + "';")
                .exit_code == 0);
    CHECK(problems().empty());  // put back exactly: verifies again
    REQUIRE(
        sqlcipher(f.db, f.key_hex(),
                  "UPDATE reviews SET snapshot = '{\"alliance_name\":\"丙\"}' WHERE record_id = '" +
                      b + "';")
            .exit_code == 0);
    CHECK(has(problems(), "snapshot of the returned data was altered"));
    REQUIRE(sqlcipher(f.db, f.key_hex(), "DELETE FROM reviews WHERE record_id = '" + a + "';")
                .exit_code == 0);
    CHECK(has(problems(), "review 1 of record " + a + " is in the audit log but was deleted"));
}

TEST_CASE(
    "store.review: only records with a final decision are filed into a batch, and purge drops the "
    "snapshots") {
    Fixture f;
    std::string id = f.submitted({{"alliance_name", "甲"}});
    auto batch = [&](const std::string& batch_id) {
        OutboxBatch b;
        b.batch_id = batch_id;
        b.file_path = f.dir.file(batch_id + ".shb");
        b.bytes = 100;
        return b;
    };
    auto hash = [&] { return f.store->get(id).value().meta.content_hash; };
    auto early = f.store->enqueue_batch(batch(new_ulid()), {{id, hash()}});
    REQUIRE_FALSE(early.ok());
    CHECK(early.error().code == ErrorCode::InvalidTransition);
    CHECK(early.error().message.find("has no final review decision") != std::string::npos);
    CHECK(f.store->get(id).value().meta.status == RecordStatus::Submitted);
    CHECK(f.store->live_batches().value().empty());

    REQUIRE(f.store->review(id, ReviewDecision::Return, "李娜", "请补充").ok());
    REQUIRE(f.store->save_field(id, "alliance_name", "甲（修改）").ok());
    REQUIRE(f.store->set_status(id, RecordStatus::Submitted, "applicant").ok());
    CHECK(f.store->enqueue_batch(batch(new_ulid()), {{id, hash()}}).error().code ==
          ErrorCode::InvalidTransition);
    REQUIRE(f.store->review(id, ReviewDecision::Recommend, "王强", "同意推荐").ok());
    std::string b = new_ulid();
    REQUIRE(f.store->enqueue_batch(batch(b), {{id, hash()}}).ok());
    CHECK(f.ids(ReviewQueue::ReadyToSend).empty());  // queued now
    CHECK(f.ids(ReviewQueue::Recommended) == Ids{id});
    REQUIRE(f.store->apply_receipt(b, "{}", {{id, true, "accepted", ""}}).ok());
    CHECK(f.store->get(id).value().review.value().reason == "同意推荐");
    CHECK(f.store->purge_synced_before(now_ms() + 1).value() == 1);
    auto history = f.store->reviews(id).value();
    REQUIRE(history.size() == 2);
    CHECK_FALSE(history[0].snapshot.has_value());  // the returned data went with the rest
    CHECK(history[1].review.reviewer == "王强");
    CHECK_FALSE(f.store->changes_since_return(id).value().has_value());
    auto rep = f.store->verify().value();
    CHECK_MESSAGE(rep.problems.empty(), (rep.problems.empty() ? "" : rep.problems[0]));
}

TEST_CASE("store.review: a store made by the schema-4 code migrates to 5 with its records intact") {
    // tests/data/store-v4.db was written by the schema-4 code (see tests/data/README.md).
    test::TempDir d;
    std::string db = d.file("v4.db");
    test::write_file(db, test::read_file(test::repo_path("tests/data/store-v4.db")));
    StoreKey key = read_key_file(test::repo_path("tests/data/store-v4.key")).value();
    REQUIRE(sqlcipher(db, key.hex(), "PRAGMA user_version;").output.find("4") == 0);
    auto opened = Store::open(db, key);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    Store& s = **opened;
    CHECK(store_schema_version() == 5);
    CHECK(s.schema_version().value() == 5);
    auto rows = s.list().value();
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].status == RecordStatus::Submitted);
    CHECK(rows[1].status == RecordStatus::Returned);
    CHECK(rows[2].status == RecordStatus::Draft);
    auto a = s.get(rows[0].id).value();
    CHECK(a.data == json{{"alliance_name", "重庆市智能网联汽车产业技术创新联盟"},
                         {"lead_name", "重庆甲公司"},
                         {"staff_total", 45}});
    CHECK(a.meta.content_hash == content_hash_of(a.data));
    CHECK(s.get(rows[2].id).value().data["alliance_name"] == "重庆市新材料产业技术创新联盟");
    std::string returned_comment;
    auto log = s.audit_log(rows[1].id).value();
    for (const AuditEntry& e : log)
        if (e.action == "status:returned") returned_comment = e.detail;
    CHECK(returned_comment == "请补充科技人员总数");
    auto rep = s.verify().value();
    CHECK_MESSAGE(rep.problems.empty(), (rep.problems.empty() ? "" : rep.problems[0]));
    // A record submitted before the review existed now waits for it, and is not sent until decided.
    CHECK(s.list_review(ReviewQueue::Awaiting).value().size() == 1);
    CHECK(s.list_review(ReviewQueue::ReadyToSend).value().empty());
    REQUIRE(s.review(rows[0].id, ReviewDecision::Recommend, "李娜", "").ok());
    CHECK(s.list_review(ReviewQueue::ReadyToSend).value().size() == 1);
    CHECK(s.verify().value().problems.empty());
}
