// The kiosk model without a window: the whole applicant flow, save-and-resume,
// idle reset, debounced saving, input hygiene, staff mode.
#include <doctest/doctest.h>

#include "kiosk_model.h"
#include "shenbao/generator.h"
#include "shenbao/keys.h"
#include "shenbao/store_files.h"
#include "test_support.h"
#include "text_wrap.h"

using namespace shenbao;
using namespace shenbao::kiosk;
using nlohmann::json;

namespace {

const FormDefinition& form() {
    static const FormDefinition f = load_form(test::form_path()).value();
    return f;
}

struct Kiosk {
    test::TempDir dir;
    std::int64_t now = 1'000'000;
    std::unique_ptr<Store> store = open_store(dir.file("store.db"), dir.file("store.key"), true).value();
    KioskModel m{store.get(), form(), [this] { return now; }};

    void advance(std::int64_t ms) {
        now += ms;
        m.tick();
    }
    json stored(const std::string& id) { return store->get(id).value().data; }
};

// Types a whole application the way the screens do: text through edit_text, the rest through set_value.
void fill(KioskModel& m, const json& app) {
    for (const Field* f : form().all_fields()) {
        auto it = app.find(f->id);
        if (it == app.end()) continue;
        if (f->type == FieldType::Table) {
            for (std::size_t r = 0; r < it->size(); ++r) m.add_row(f->id);
            for (std::size_t r = 0; r < it->size(); ++r)
                for (auto c = (*it)[r].begin(); c != (*it)[r].end(); ++c) {
                    const Field* col = f->find_column(c.key());
                    std::string path = f->id + "[" + std::to_string(r) + "]." + c.key();
                    if (col->is_texty()) {
                        m.edit_text(path, c.value().get<std::string>());
                    } else {
                        json rows = m.values()[f->id];
                        rows[r][c.key()] = c.value();
                        m.set_value(f->id, rows);
                    }
                }
        } else if (f->type == FieldType::Commitment) {
            continue;  // confirmed on its own screen
        } else if (f->is_texty()) {
            m.edit_text(f->id, it->get<std::string>());
        } else {
            m.set_value(f->id, *it);
        }
        m.leave_field(f->id);
    }
}

}  // namespace

TEST_CASE("the whole flow: new, fill, leave, resume with code and PIN, fix errors from review, submit") {
    Kiosk k;
    CHECK(k.m.screen() == Screen::Welcome);
    k.m.start_new();
    REQUIRE(k.m.screen() == Screen::Form);
    std::string id = k.m.record_id();
    json app = generate_application(form(), 11);
    fill(k.m, app);
    k.m.edit_text("lead_contact_phone", "12345");  // a mistake to fix later
    k.m.leave_field("lead_contact_phone");
    CHECK_FALSE(k.m.field_issues("lead_contact_phone").empty());
    k.m.go_section(4);

    // Leave with a PIN; nothing of the applicant stays on screen.
    k.m.open_leave();
    CHECK_FALSE(k.m.leave_with_pin("12", "12"));
    CHECK(k.m.notice().en.find("4 to 8 digits") != std::string::npos);
    CHECK_FALSE(k.m.leave_with_pin("2468", "2469"));
    REQUIRE(k.m.leave_with_pin("2468", "2468"));
    CHECK(k.m.screen() == Screen::LeaveDone);
    std::string code = k.m.resume_code();
    CHECK(code.size() == 8);
    CHECK(k.m.values().empty());
    CHECK(k.m.record_id().empty());
    k.m.end_session();

    // Resume: a wrong PIN says only that the pair is wrong.
    k.m.open_resume();
    CHECK_FALSE(k.m.resume(code, "1111"));
    CHECK(k.m.notice().zh == "续填码或 PIN 不正确");
    CHECK_FALSE(k.m.resume("ZZZZZZZZ", "2468"));
    CHECK(k.m.notice().zh == "续填码或 PIN 不正确");
    REQUIRE(k.m.resume(code, "2468"));
    CHECK(k.m.screen() == Screen::Form);
    CHECK(k.m.record_id() == id);
    CHECK(k.m.section() == 4);  // the position is restored too
    for (auto it = app.begin(); it != app.end(); ++it) {
        if (it.key() == "lead_commitment" || it.key() == "lead_contact_phone") continue;
        CAPTURE(it.key());
        CHECK(k.m.values()[it.key()] == it.value());
    }

    // Review lists the mistake; a tap jumps to its field; fixing it clears the list.
    k.m.open_review();
    auto issues = k.m.review_issues();
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].path == "lead_contact_phone");
    k.m.open_commitment();
    CHECK(k.m.screen() == Screen::Review);  // cannot go on with open issues
    k.m.jump_to(issues[0]);
    CHECK(k.m.screen() == Screen::Form);
    CHECK(k.m.section() == form().section_of("lead_contact_phone"));
    CHECK(k.m.focus_request() == "lead_contact_phone");
    k.m.edit_text("lead_contact_phone", "023-63895941");
    k.m.leave_field("lead_contact_phone");
    CHECK(k.m.field_issues("lead_contact_phone").empty());
    k.m.open_review();
    CHECK(k.m.review_issues().empty());
    for (const EligibilityCheck& c : k.m.eligibility()) CHECK(c.state == CheckState::Pass);

    // The commitment must be confirmed before submitting.
    k.m.open_commitment();
    REQUIRE(k.m.screen() == Screen::Commitment);
    CHECK_FALSE(k.m.submit());
    k.m.set_commitment(true);
    REQUIRE(k.m.submit());
    CHECK(k.m.screen() == Screen::Receipt);
    CHECK(k.m.receipt_reference() == id);
    auto rec = k.store->get(id).value();
    CHECK(rec.meta.status == RecordStatus::Submitted);
    CHECK(rec.data["lead_commitment"] == true);
    CHECK(rec.data["lead_contact_phone"] == "023-63895941");
    CHECK(rec.data["alliance_name"] == app["alliance_name"]);
    CHECK(validate_record(form(), rec.data).empty());
    // A submitted application cannot be resumed for editing.
    k.m.end_session();
    k.m.open_resume();
    CHECK_FALSE(k.m.resume(code, "2468"));
}

TEST_CASE("idle: a countdown warns, then the kiosk returns to Welcome with nothing of the applicant left") {
    Kiosk k;
    k.m.start_new();
    k.m.edit_text("alliance_name", "重庆市集成电路产业技术创新联盟");
    std::string id = k.m.record_id();
    int idle = k.m.settings().idle_seconds;
    CHECK(idle == 120);
    k.advance(1000);
    CHECK_FALSE(k.m.idle_countdown().has_value());
    CHECK(k.stored(id)["alliance_name"] == "重庆市集成电路产业技术创新联盟");  // the debounce flushed it
    k.advance((idle - k.m.settings().countdown_seconds) * 1000);
    REQUIRE(k.m.idle_countdown().has_value());
    CHECK(*k.m.idle_countdown() <= k.m.settings().countdown_seconds);
    k.m.touch();  // "Continue"
    CHECK_FALSE(k.m.idle_countdown().has_value());
    k.m.edit_text("chairman_name", "刘洋");
    k.advance(idle * 1000 + 1);
    CHECK(k.m.screen() == Screen::Welcome);
    CHECK(k.m.values().empty());
    CHECK(k.m.record_id().empty());
    CHECK(k.stored(id)["chairman_name"] == "刘洋");  // saved before the reset
    // The next applicant starts clean.
    k.m.start_new();
    CHECK(k.m.record_id() != id);
    CHECK(k.m.values().empty());
}

TEST_CASE("a field reaches the store within 500 ms of a keystroke, even while typing goes on, and at once when left") {
    Kiosk k;
    k.m.start_new();
    std::string id = k.m.record_id();
    k.m.edit_text("alliance_name", "重庆");
    k.advance(300);
    CHECK_FALSE(k.stored(id).contains("alliance_name"));  // within the delay: not yet
    k.m.edit_text("alliance_name", "重庆市");
    k.advance(150);  // 450 ms after the first unsaved keystroke: saved although typing goes on
    CHECK(k.stored(id)["alliance_name"] == "重庆市");
    // Steady typing, a key every 100 ms for 3 s: what is stored never lags more than 500 ms.
    std::string typed = "重庆市";
    std::vector<std::pair<std::int64_t, std::string>> history;
    for (int i = 0; i < 30; ++i) {
        typed += "联";
        k.m.edit_text("alliance_name", typed);
        history.emplace_back(k.now, typed);
        k.advance(100);
        std::string stored = k.stored(id)["alliance_name"];
        for (const auto& [at, text] : history)
            if (k.now - at >= 500) CHECK(stored.size() >= text.size());
    }
    REQUIRE(k.m.next_wakeup().has_value());
    k.m.edit_text("chairman_name", "张");
    CHECK(*k.m.next_wakeup() <= k.now + kSaveDelayMs);
    k.m.leave_field("chairman_name");
    CHECK(k.stored(id)["chairman_name"] == "张");
}

TEST_CASE("input hygiene: limits stop typing with a note, control characters are dropped") {
    EditNote note;
    CHECK(sanitize_input("重庆\x01市\t联盟", false, 100, &note) == "重庆市联盟");
    CHECK(note == EditNote::ControlDropped);
    CHECK(sanitize_input("第一段\n第二段", true, 100, &note) == "第一段\n第二段");
    CHECK(note == EditNote::None);
    CHECK(sanitize_input("一二三四五", false, 3, &note) == "一二三");
    CHECK(note == EditNote::Truncated);
    Kiosk k;
    k.m.start_new();
    const Field* name = form().find_field("alliance_name");
    std::string too_long;
    for (std::size_t i = 0; i < name->max_length + 10; ++i) too_long += "联";
    k.m.edit_text("alliance_name", too_long);
    CHECK(k.m.values()["alliance_name"].get<std::string>().size() == name->max_length * 3);
    CHECK(k.m.edit_note("alliance_name") == EditNote::Truncated);
    k.m.edit_text("lead_address", "重庆市\r\n渝北区");
    CHECK(k.m.values()["lead_address"] == "重庆市渝北区");
}

TEST_CASE("tables: rows are added up to the limit and removed") {
    Kiosk k;
    k.m.start_new();
    for (int i = 0; i < 7; ++i) k.m.add_row("main_members_enterprise");
    CHECK(k.m.values()["main_members_enterprise"].size() == 5);
    CHECK(k.m.notice().en.find("at most 5 rows") != std::string::npos);
    k.m.edit_text("main_members_enterprise[1].unit_name", "重庆长安汽车股份有限公司");
    k.m.remove_row("main_members_enterprise", 0);
    CHECK(k.m.values()["main_members_enterprise"].size() == 4);
    CHECK(k.m.values()["main_members_enterprise"][0]["unit_name"] == "重庆长安汽车股份有限公司");
    CHECK(k.stored(k.m.record_id())["main_members_enterprise"].size() == 4);
}

TEST_CASE("conditional fields appear and disappear with their condition") {
    Kiosk k;
    k.m.start_new();
    k.m.add_row("main_members_enterprise");
    const Field* t = form().find_field("main_members_enterprise");
    const Field* other = t->find_column("nature_other");
    auto row = [&]() -> const json* { return &k.m.values()["main_members_enterprise"][0]; };
    CHECK_FALSE(is_visible(*other, k.m.values(), t, row()));
    json rows = k.m.values()["main_members_enterprise"];
    rows[0]["nature"] = "other";
    k.m.set_value("main_members_enterprise", rows);
    CHECK(is_visible(*other, k.m.values(), t, row()));
}

TEST_CASE("staff: sign in with the staff PIN, find a record, return it with a comment the applicant sees") {
    Kiosk k;
    k.m.open_staff_login();
    CHECK_FALSE(k.m.staff_login("0000"));
    CHECK(k.m.notice().en.find("staff-pin") != std::string::npos);  // tells how to set one
    REQUIRE(k.store->set_setting("kiosk.staff_pin_hash", hash_pin("13579").value()).ok());
    CHECK_FALSE(k.m.staff_login("0000"));
    CHECK(k.m.staff_records(std::nullopt, "").empty());  // nothing before signing in

    // An applicant submits, then leaves a resume code (for corrections later).
    k.m.end_session();
    k.m.start_new();
    std::string id = k.m.record_id();
    fill(k.m, generate_application(form(), 5));
    k.m.open_commitment();
    k.m.set_commitment(true);
    REQUIRE(k.m.submit());
    k.m.end_session();
    auto code = k.store->set_resume_pin(id, "8642").value();

    k.m.open_staff_login();
    REQUIRE(k.m.staff_login("13579"));
    CHECK(k.m.screen() == Screen::Staff);
    auto rows = k.m.staff_records(RecordStatus::Submitted, "");
    REQUIRE(rows.size() == 1);
    std::string name = generate_application(form(), 5)["alliance_name"];
    CHECK(k.m.staff_records(std::nullopt, name.substr(0, 9)).size() == 1);
    CHECK(k.m.staff_records(std::nullopt, "不存在的名称").empty());
    k.m.staff_open(id);
    CHECK(k.m.screen() == Screen::StaffRecord);
    k.m.entry().reviewer = "李娜";
    CHECK_FALSE(k.m.staff_decide(ReviewDecision::Return, "  "));
    REQUIRE(k.m.staff_decide(ReviewDecision::Return, "请补充第2家企业的联系电话"));
    CHECK(k.store->get(id).value().meta.status == RecordStatus::Returned);
    auto sync = k.m.sync_status();
    CHECK(sync.awaiting_review == 0);

    Settings s = k.m.settings();
    s.idle_seconds = 10;
    CHECK_FALSE(k.m.staff_save_settings(s));
    s.idle_seconds = 90;
    s.sync_window = "22:00-06:00";
    REQUIRE(k.m.staff_save_settings(s));
    CHECK(k.m.settings().idle_seconds == 90);
    CHECK(k.store->setting("sync.window").value() == std::optional<std::string>("22:00-06:00"));
    k.m.end_session();

    k.m.open_resume();
    REQUIRE(k.m.resume(code, "8642"));
    CHECK(k.m.return_comment() == "请补充第2家企业的联系电话");
    k.m.edit_text("contact_name", "赵敏");
    k.m.leave_field("contact_name");
    k.m.open_commitment();
    k.m.set_commitment(true);
    REQUIRE(k.m.submit());
    CHECK(k.store->get(id).value().data["contact_name"] == "赵敏");
}

TEST_CASE("kiosk_model: staff review - the queue, name and reason required, changes since a return, final decisions") {
    Kiosk k;
    REQUIRE(k.store->set_setting("kiosk.staff_pin_hash", hash_pin("13579").value()).ok());
    auto submit_new = [&](std::uint64_t seed, bool end = true) {
        k.m.end_session();
        k.m.start_new();
        std::string id = k.m.record_id();
        fill(k.m, generate_application(form(), seed));
        k.m.open_commitment();
        k.m.set_commitment(true);
        REQUIRE(k.m.submit());
        if (end) k.m.end_session();
        return id;
    };
    // From the receipt the applicant takes a code and PIN, to come back if the district returns it.
    std::string a = submit_new(11, false);
    REQUIRE(k.m.screen() == Screen::Receipt);
    k.m.open_leave();
    CHECK(k.m.screen() == Screen::Leave);
    k.m.leave_back();
    CHECK(k.m.screen() == Screen::Receipt);  // back to the receipt, never into the submitted form
    k.m.open_leave();
    REQUIRE(k.m.leave_with_pin("8642", "8642"));
    CHECK(k.m.screen() == Screen::LeaveDone);
    std::string code = k.m.resume_code();
    CHECK(k.store->get(a).value().meta.status == RecordStatus::Submitted);
    k.m.end_session();
    k.m.open_resume();
    CHECK_FALSE(k.m.resume(code, "8642"));  // not returned: nothing to edit
    CHECK(k.m.notice().en == "This application has already been submitted");
    std::string b = submit_new(12);
    auto sign_in = [&] {
        k.m.open_staff_login();
        REQUIRE(k.m.staff_login("13579"));
    };
    sign_in();
    CHECK(k.m.staff_review_queue("").size() == 2);
    k.m.staff_open(a);
    CHECK(k.m.staff_can_decide());
    CHECK_FALSE(k.m.staff_changes().has_value());  // never returned
    // No name: nothing is recorded.
    CHECK_FALSE(k.m.staff_decide(ReviewDecision::Recommend, ""));
    CHECK(k.m.notice().en == "Please give your name as the reviewer");
    k.m.entry().reviewer = "  李娜 ";
    CHECK_FALSE(k.m.staff_decide(ReviewDecision::NotRecommend, ""));
    CHECK(k.m.notice().en == "Not recommending needs a reason");
    CHECK(k.store->reviews(a).value().empty());
    REQUIRE(k.m.staff_decide(ReviewDecision::Return, "请把联系人改为赵敏，科技人员总数核实后填写"));
    CHECK(k.m.staff_record().meta.status == RecordStatus::Returned);
    CHECK_FALSE(k.m.staff_can_decide());
    CHECK(k.m.staff_review_queue("").size() == 1);
    CHECK_FALSE(k.m.staff_changes().has_value());  // still with the applicant
    REQUIRE(k.m.staff_reviews().size() == 1);
    CHECK(k.m.staff_reviews()[0].review.reviewer == "李娜");  // trimmed
    k.m.end_session();

    // The applicant sees the comment, corrects one field and resubmits.
    k.m.open_resume();
    REQUIRE(k.m.resume(code, "8642"));
    CHECK(k.m.return_comment() == "请把联系人改为赵敏，科技人员总数核实后填写");
    std::string old_contact = k.m.values()["contact_name"];
    k.m.edit_text("contact_name", "赵敏");
    k.m.leave_field("contact_name");
    k.m.open_commitment();
    k.m.set_commitment(true);
    REQUIRE(k.m.submit());
    k.m.end_session();

    sign_in();
    CHECK(k.m.entry().reviewer.empty());  // a new staff session asks for the name again
    CHECK(k.m.staff_review_queue("").size() == 2);
    k.m.staff_open(a);
    REQUIRE(k.m.staff_changes().has_value());
    REQUIRE(k.m.staff_changes()->size() == 1);
    const auto& change = k.m.staff_changes()->at(0);
    CHECK(change.field_id == "contact_name");
    CHECK(change.label.zh == form().find_field("contact_name")->label.zh);
    CHECK(change.before == old_contact);
    CHECK(change.after == "赵敏");
    k.m.entry().reviewer = "王强";
    REQUIRE(k.m.staff_decide(ReviewDecision::Recommend, ""));
    CHECK(k.m.staff_record().review.value().decision == ReviewDecision::Recommend);
    CHECK_FALSE(k.m.staff_can_decide());
    // A final decision is final.
    CHECK_FALSE(k.m.staff_decide(ReviewDecision::NotRecommend, "改变主意"));
    CHECK(k.m.notice().en.find("already decided") != std::string::npos);
    k.m.staff_back();
    k.m.staff_open(b);
    REQUIRE(k.m.staff_decide(ReviewDecision::NotRecommend, "科技人员不足30人"));
    CHECK(k.m.staff_review_queue("").empty());
    CHECK(k.store->list_review(ReviewQueue::ReadyToSend).value().size() == 2);
    auto log = k.store->audit_log(b).value();
    CHECK(log.back().actor == "staff:王强");
    CHECK(log.back().action == "review:not-recommend");
}

TEST_CASE("a store that cannot be opened gives the staff-facing error screen") {
    KioskModel m(nullptr, form(), [] { return std::int64_t{0}; }, "/var/lib/shenbao/store.db: this key does not open the store");
    CHECK(m.screen() == Screen::Fatal);
    CHECK(m.fatal_error().find("/var/lib/shenbao/store.db") == 0);
    m.start_new();  // nothing happens, nothing crashes
    m.tick();
    CHECK(m.screen() == Screen::Fatal);
}

TEST_CASE("staff see records the commission refused, with its reason, apart from the queue, and can send them again") {
    Kiosk k;
    REQUIRE(k.store->set_setting("kiosk.staff_pin_hash", hash_pin("13579").value()).ok());
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto meta = k.store->create_record(form().form_id, form().version, "applicant").value();
        REQUIRE(k.store->save_fields(meta.id, generate_application(form(), 40 + static_cast<std::uint64_t>(i))).ok());
        REQUIRE(k.store->set_status(meta.id, RecordStatus::Submitted, "applicant").ok());
        ids.push_back(meta.id);
    }
    // One record goes into a live batch (reviewed first: only decided records are sent), one is refused.
    REQUIRE(k.store->review(ids[0], ReviewDecision::Recommend, "李娜", "").ok());
    OutboxBatch b;
    b.batch_id = new_ulid();
    b.file_path = k.dir.file("outbox/b.shb");
    b.bytes = 1000;
    b.record_count = 1;
    REQUIRE(k.store->enqueue_batch(b, {{ids[0], k.store->get(ids[0]).value().meta.content_hash}}).ok());
    REQUIRE(k.store->quarantine_unsendable(ids[1], "lead_phone: 电话号码格式不正确").ok());
    REQUIRE(k.store->note_sync_attempt(false, "connection refused", 1'700'000'000'000).ok());

    k.m.open_staff_login();
    REQUIRE(k.m.staff_login("13579"));
    auto s = k.m.sync_status();
    CHECK(s.awaiting_review == 1);
    CHECK(s.ready == 0);
    CHECK(s.queued == 1);  // the record in the live batch, not the refused one
    CHECK(s.live_batches == 1);
    CHECK(s.last_error == "connection refused");
    CHECK_FALSE(s.last_attempt.empty());
    CHECK(s.last_success.empty());
    REQUIRE(s.quarantined.size() == 1);
    CHECK(s.quarantined[0].record_id == ids[1]);
    CHECK(s.quarantined[0].reason == "lead_phone: 电话号码格式不正确");

    REQUIRE(k.m.staff_release(ids[1]));
    CHECK(k.store->get(ids[1]).value().meta.status == RecordStatus::Submitted);
    s = k.m.sync_status();
    CHECK(s.quarantined.empty());
    CHECK(s.awaiting_review == 2);  // released, it waits for a (new) decision on its content
    CHECK(s.queued == 1);
    CHECK_FALSE(k.m.staff_release(ids[1]));  // not quarantined any more: a notice, nothing changed
    CHECK(k.store->get(ids[1]).value().meta.status == RecordStatus::Submitted);
}

TEST_CASE("the staff sync tab shows the commission's receipt for the newest committed batch") {
    Kiosk k;
    auto meta = k.store->create_record(form().form_id, form().version, "applicant").value();
    REQUIRE(k.store->save_fields(meta.id, generate_application(form(), 7)).ok());
    REQUIRE(k.store->set_status(meta.id, RecordStatus::Submitted, "applicant").ok());
    REQUIRE(k.store->review(meta.id, ReviewDecision::Recommend, "李娜", "").ok());
    CHECK_FALSE(k.m.sync_status().last_receipt.has_value());  // nothing committed yet
    OutboxBatch b;
    b.batch_id = new_ulid();
    b.file_path = k.dir.file("outbox/b.shb");
    b.record_count = 1;
    REQUIRE(k.store->enqueue_batch(b, {{meta.id, k.store->get(meta.id).value().meta.content_hash}}).ok());
    json receipt = {{"batch_id", b.batch_id}, {"kiosk_id", std::string(64, 'a')}, {"received_ms", 1'700'000'000'000},
                    {"receipt_version", 1}, {"records", {{{"id", meta.id}, {"content_hash", "h"}, {"result", "accepted"}}}},
                    {"signature", "c2lnbmF0dXJlLW9mLXRoZS1jb21taXNzaW9u"}};
    REQUIRE(k.store->apply_receipt(b.batch_id, receipt.dump(), {{meta.id, true, "accepted", ""}}).ok());
    auto s = k.m.sync_status();
    REQUIRE(s.last_receipt.has_value());
    CHECK(s.last_receipt->batch_id == b.batch_id);
    CHECK(s.last_receipt->synced == 1);
    CHECK(s.last_receipt->refused == 0);
    CHECK(s.last_receipt->record_ids == std::vector<std::string>{meta.id});
    CHECK(s.last_receipt->signature == "c2lnbmF0dXJlLW9m");
    CHECK_FALSE(s.last_receipt->received.empty());
    CHECK(s.synced == 1);
}

// [SECTION] Editing at the caret (the multi-line editor and the on-screen keyboard type there)

namespace {

// The form's first field of `type` with a limit (no field id is assumed).
const Field& first_of(FieldType type) {
    for (const Field* f : form().all_fields())
        if (f->type == type && f->max_length > 0) return *f;
    FAIL("the form has no such field");
    throw;
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

}  // namespace

TEST_CASE("editing at the caret: insert and delete in the middle, the caret follows, the store gets it") {
    Kiosk k;
    k.m.start_new();
    const std::string path = first_of(FieldType::Multiline).id;
    CHECK(k.m.caret(path) == 0);
    k.m.insert_text(path, "一二三四");
    CHECK(k.m.text(path) == "一二三四");
    CHECK(k.m.caret(path) == 12);
    k.m.set_caret(path, 6);
    k.m.insert_text(path, "AI");
    CHECK(k.m.text(path) == "一二AI三四");
    CHECK(k.m.caret(path) == 8);
    k.m.erase_text(path, true);  // backspace
    CHECK(k.m.text(path) == "一二A三四");
    CHECK(k.m.caret(path) == 7);
    k.m.erase_text(path, false);  // delete
    CHECK(k.m.text(path) == "一二A四");
    CHECK(k.m.caret(path) == 7);
    k.m.set_caret(path, 4);  // inside 二: snaps back to its start
    CHECK(k.m.caret(path) == 3);
    k.m.set_caret(path, 0);
    k.m.erase_text(path, true);  // nothing before the start
    CHECK(k.m.text(path) == "一二A四");
    // Another field's caret is at the end of its text: typing there appends.
    const std::string other = first_of(FieldType::Text).id;
    k.m.edit_text(other, "重庆");
    CHECK(k.m.caret(other) == 6);
    k.m.insert_text(other, "市");
    CHECK(k.m.text(other) == "重庆市");
    k.advance(kSaveDelayMs);
    CHECK(k.stored(k.m.record_id())[path] == "一二A四");
    CHECK(k.m.saved_once());
    CHECK_FALSE(k.m.has_unsaved());
}

TEST_CASE("editing at the caret: the limit cuts what is inserted, never the text after the caret") {
    Kiosk k;
    k.m.start_new();
    const Field& f = first_of(FieldType::Multiline);
    k.m.edit_text(f.id, repeat("字", f.max_length - 2) + "尾");  // one short of the limit... and a tail
    k.m.set_caret(f.id, 0);
    k.m.insert_text(f.id, "甲乙丙丁");
    CHECK(k.m.edit_note(f.id) == EditNote::Truncated);
    CHECK(k.m.text(f.id).rfind("甲", 0) == 0);
    CHECK(k.m.text(f.id).substr(3, 3) == "字");  // only 甲 fitted
    CHECK(k.m.text(f.id).substr(k.m.text(f.id).size() - 3) == "尾");
    CHECK(count_code_points(k.m.text(f.id)) == f.max_length);
    // At the limit nothing more goes in.
    k.m.insert_text(f.id, "乙");
    CHECK(count_code_points(k.m.text(f.id)) == f.max_length);
    CHECK(k.m.edit_note(f.id) == EditNote::Truncated);
    // A paste longer than the whole limit into an empty field: exactly the limit.
    k.m.start_new();
    k.m.insert_text(f.id, repeat("联", f.max_length + 5000));
    CHECK(count_code_points(k.m.text(f.id)) == f.max_length);
    CHECK(k.m.caret(f.id) == f.max_length * 3);
}

TEST_CASE("editing at the caret: control characters are dropped, malformed UTF-8 is refused whole") {
    Kiosk k;
    k.m.start_new();
    const std::string ml = first_of(FieldType::Multiline).id, line = first_of(FieldType::Text).id;
    k.m.insert_text(ml, "第一段\x01\t\r\n第二段\x7F");
    CHECK(k.m.text(ml) == "第一段\n第二段");  // newlines stay in a multi-line field
    CHECK(k.m.edit_note(ml) == EditNote::ControlDropped);
    k.m.insert_text(line, "重庆\n市");
    CHECK(k.m.text(line) == "重庆市");  // and go in a one-line field
    k.m.insert_text(ml, "好\xFF\xFE坏");
    CHECK(k.m.text(ml) == "第一段\n第二段");
    CHECK(k.m.edit_note(ml) == EditNote::Malformed);
    k.m.edit_text(line, "\xC3\x28");  // also through a whole-value edit (a one-line field's paste)
    CHECK(k.m.text(line) == "重庆市");
    CHECK(k.m.edit_note(line) == EditNote::Malformed);
}
