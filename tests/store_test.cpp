// The encrypted store: encryption at rest (checked with the real sqlcipher
// shell), bad files refused untouched, migrations, lifecycle, audit chain, rekey.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <set>

#include "shenbao/store.h"
#include "shenbao/store_files.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;

namespace {

StoreKey key_from_hex(const std::string& hex) {
    test::TempDir d;
    test::write_file(d.file("k"), hex + "\n");
    return read_key_file(d.file("k")).value();
}

// Runs SQL through the real sqlcipher shell; `key_hex` empty means no key.
test::CommandResult sqlcipher(const std::string& db, const std::string& key_hex, const std::string& sql) {
    test::TempDir d;
    std::string script;
    if (!key_hex.empty()) script += "PRAGMA key = \"x'" + key_hex + "'\";\nPRAGMA cipher_page_size = 4096;\n";
    script += sql + "\n";
    test::write_file(d.file("script.sql"), script);
    return test::run("sqlcipher -batch '" + db + "' < '" + d.file("script.sql") + "'");
}

// The whole file's bytes, to show a refused open changed nothing.
std::string fingerprint(const std::string& path) { return test::read_file(path); }

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

struct Fixture {
    test::TempDir dir;
    std::string db = dir.file("store.db");
    std::string key_path = dir.file("store.key");
    std::unique_ptr<Store> open(bool create = true) {
        auto s = open_store(db, key_path, create);
        REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
        return std::move(s.value());
    }
    std::string key_hex() { return read_key_file(key_path).value().hex(); }
};

const char* kSecret = "渝北区玄武湖路秘密测试地址XYZZY-4815162342";

}  // namespace

TEST_CASE("first run creates the store and a 0600 key file, and records round-trip") {
    Fixture f;
    auto store = f.open();
    struct stat st {};
    REQUIRE(::stat(f.key_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(f.db.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(store->schema_version().value() == store_schema_version());

    auto meta = store->create_record("alliance-2022", 1);
    REQUIRE(meta.ok());
    CHECK(meta->id.size() == 26);
    CHECK(meta->status == RecordStatus::Draft);
    REQUIRE(store->save_field(meta->id, "alliance_name", "重庆市智能网联汽车产业技术创新联盟").ok());
    REQUIRE(store->save_field(meta->id, "council", json::array({{{"name", "王伟"}, {"phone", "023-63895941"}}})).ok());
    REQUIRE(store->save_field(meta->id, "alliance_name", "重庆市集成电路产业技术创新联盟").ok());
    store.reset();

    auto again = f.open(false);
    auto r = again->get(meta->id);
    REQUIRE(r.ok());
    CHECK(r->data["alliance_name"] == "重庆市集成电路产业技术创新联盟");
    CHECK(r->data["council"][0]["name"] == "王伟");
    CHECK(r->meta.form_id == "alliance-2022");
    CHECK(r->meta.content_hash.empty());
}

TEST_CASE("the store file holds no plaintext, and the sqlcipher shell needs the key") {
    Fixture f;
    auto store = f.open();
    auto meta = store->create_record("alliance-2022", 1).value();
    REQUIRE(store->save_field(meta.id, "lead_address", kSecret).ok());
    // While open: the database, its WAL and shared-memory files.
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::string bytes = test::read_file(f.db + suffix);
        CHECK_MESSAGE(bytes.find("XYZZY-4815162342") == std::string::npos, "plaintext in store" << suffix);
        CHECK_MESSAGE(bytes.find("玄武湖路秘密") == std::string::npos, "plaintext in store" << suffix);
        CHECK(bytes.find("record_fields") == std::string::npos);  // not even the schema
    }
    store.reset();
    std::string bytes = test::read_file(f.db);
    CHECK(bytes.find("XYZZY-4815162342") == std::string::npos);
    CHECK(bytes.rfind("SQLite format 3", 0) != 0);

    auto with_key = sqlcipher(f.db, f.key_hex(), "SELECT value FROM record_fields WHERE field_id = 'lead_address';");
    CHECK(with_key.exit_code == 0);
    CHECK(with_key.output.find(kSecret) != std::string::npos);
    auto without = sqlcipher(f.db, "", "SELECT count(*) FROM sqlite_master;");
    CHECK(without.output.find("file is encrypted or is not a database") != std::string::npos);
    CHECK(without.output.find(kSecret) == std::string::npos);
    auto wrong = sqlcipher(f.db, generate_store_key().hex(), "SELECT value FROM record_fields;");
    CHECK(wrong.output.find("file is encrypted or is not a database") != std::string::npos);
}

TEST_CASE("a wrong key is refused naming the file, and the file is untouched") {
    Fixture f;
    {
        auto store = f.open();
        REQUIRE(store->create_record("alliance-2022", 1).ok());
    }
    std::string before = fingerprint(f.db);
    auto r = Store::open(f.db, generate_store_key());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::WrongKey);
    CHECK(r.error().message.find(f.db) == 0);
    CHECK(fingerprint(f.db) == before);
    CHECK_FALSE(exists(f.db + "-wal"));
    CHECK_FALSE(exists(f.db + "-journal"));
}

TEST_CASE("a file that is not a store is refused naming the file, untouched") {
    test::TempDir d;
    SUBCASE("a text file") {
        std::string p = d.file("notes.txt");
        test::write_file(p, std::string(5000, 'x'));
        auto r = Store::open(p, generate_store_key());
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::NotAStore);
        CHECK(r.error().message.find(p) == 0);
        CHECK(test::read_file(p) == std::string(5000, 'x'));
    }
    SUBCASE("an unencrypted SQLite database made by the sqlite shell") {
        std::string p = d.file("plain.db");
        REQUIRE(sqlcipher(p, "", "CREATE TABLE t(x); INSERT INTO t VALUES('hello');").exit_code == 0);
        std::string before = fingerprint(p);
        auto r = Store::open(p, generate_store_key());
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::NotAStore);
        CHECK(r.error().message.find("unencrypted SQLite") != std::string::npos);
        CHECK(fingerprint(p) == before);
    }
    SUBCASE("an empty file") {
        std::string p = d.file("empty.db");
        test::write_file(p, "");
        auto r = Store::open(p, generate_store_key());
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::NotAStore);
        CHECK(test::read_file(p).empty());
    }
    SUBCASE("a missing file is not created by open") {
        auto r = Store::open(d.file("missing.db"), generate_store_key());
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("missing.db") != std::string::npos);
        CHECK_FALSE(exists(d.file("missing.db")));
    }
}

TEST_CASE("a corrupted store is refused naming the file, untouched") {
    Fixture f;
    {
        auto store = f.open();
        for (int i = 0; i < 40; ++i) {
            auto m = store->create_record("alliance-2022", 1).value();
            REQUIRE(store->save_field(m.id, "report_importance", std::string(3000, 'a' + static_cast<char>(i % 26))).ok());
        }
    }
    std::string bytes = test::read_file(f.db);
    REQUIRE(bytes.size() > 4096 * 8);
    // Flip bytes inside page 5 (any page but the first would do).
    for (std::size_t i = 4096 * 4 + 200; i < 4096 * 4 + 232; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
    test::write_file(f.db, bytes);
    std::string before = fingerprint(f.db);
    auto r = Store::open(f.db, read_key_file(f.key_path).value());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::Corrupt);
    CHECK(r.error().message.find(f.db) == 0);
    CHECK(r.error().message.find("restore it from backup") != std::string::npos);
    CHECK(fingerprint(f.db) == before);
}

TEST_CASE("a store made by the first schema version opens and is migrated") {
    // tests/data/store-v1.db was written by the schema-1 code (see tests/data/README.md).
    test::TempDir d;
    std::string db = d.file("old.db");
    test::write_file(db, test::read_file(test::repo_path("tests/data/store-v1.db")));
    StoreKey key = read_key_file(test::repo_path("tests/data/store-v1.key")).value();
    auto before = sqlcipher(db, key.hex(), "PRAGMA user_version;");
    REQUIRE(before.output.find("1") == 0);
    auto store = Store::open(db, key);
    REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
    CHECK((*store)->schema_version().value() == store_schema_version());
    auto rows = (*store)->list().value();
    REQUIRE(rows.size() == 3);
    auto r = (*store)->get(rows[0].id).value();
    CHECK(r.data["alliance_name"] == "重庆市智能装备产业技术创新联盟");
    auto rep = (*store)->verify().value();
    CHECK(rep.problems.empty());
    CHECK((*store)->count(RecordStatus::Submitted).value() == 2);  // uses the index migration 2 added
    store->reset();
    CHECK(sqlcipher(db, key.hex(), "SELECT count(*) FROM settings;").exit_code == 0);
}

TEST_CASE("a store from a newer program is refused, not downgraded") {
    Fixture f;
    f.open().reset();
    REQUIRE(sqlcipher(f.db, f.key_hex(), "PRAGMA user_version = 99;").exit_code == 0);
    auto r = Store::open(f.db, read_key_file(f.key_path).value());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::UnsupportedVersion);
    CHECK(r.error().message.find(f.db) == 0);
}

TEST_CASE("the lifecycle: draft → submitted → queued → synced → purged, with returns for corrections") {
    Fixture f;
    auto s = f.open();
    auto id = s->create_record("alliance-2022", 1).value().id;
    REQUIRE(s->save_field(id, "alliance_name", "甲").ok());
    CHECK(s->set_status(id, RecordStatus::Synced, "sync").error().code == ErrorCode::InvalidTransition);
    REQUIRE(s->set_status(id, RecordStatus::Submitted, "applicant").ok());
    auto r = s->get(id).value();
    CHECK(r.meta.content_hash == content_hash_of(r.data));
    CHECK(r.meta.submitted_ms.has_value());
    auto edit = s->save_field(id, "alliance_name", "乙");
    CHECK(edit.error().code == ErrorCode::InvalidTransition);
    REQUIRE(s->set_status(id, RecordStatus::Returned, "staff:李娜", "请补充理事会成员").ok());
    REQUIRE(s->save_field(id, "alliance_name", "乙").ok());
    REQUIRE(s->set_status(id, RecordStatus::Submitted, "applicant").ok());
    CHECK(s->get(id).value().meta.content_hash == content_hash_of(json{{"alliance_name", "乙"}}));
    REQUIRE(s->set_status(id, RecordStatus::Queued, "sync").ok());
    REQUIRE(s->set_status(id, RecordStatus::Synced, "sync").ok());
    REQUIRE(s->set_status(id, RecordStatus::Purged, "sync").ok());
    auto purged = s->get(id).value();
    CHECK(purged.data.empty());
    CHECK_FALSE(purged.meta.content_hash.empty());
    CHECK(s->set_status(id, RecordStatus::Draft, "x").error().code == ErrorCode::InvalidTransition);
    CHECK(s->get("01NOPE").error().code == ErrorCode::NotFound);
    auto log = s->audit_log(id).value();
    std::vector<std::string> actions;
    for (const auto& e : log) actions.push_back(e.action);
    CHECK(actions == std::vector<std::string>{"create", "status:submitted", "status:returned", "status:submitted",
                                               "status:queued", "status:synced", "status:purged"});
    CHECK(log[2].detail == "请补充理事会成员");
    CHECK(log[2].actor == "staff:李娜");
    CHECK(s->verify().value().problems.empty());
}

TEST_CASE("the audit chain detects edits and deletions of history") {
    Fixture f;
    std::vector<std::string> ids;
    {
        auto s = f.open();
        for (int i = 0; i < 4; ++i) {
            auto id = s->create_record("alliance-2022", 1).value().id;
            REQUIRE(s->save_field(id, "alliance_name", "联盟" + std::to_string(i)).ok());
            REQUIRE(s->set_status(id, RecordStatus::Submitted, "applicant").ok());
            ids.push_back(id);
        }
        auto rep = s->verify().value();
        CHECK(rep.problems.empty());
        CHECK(rep.records_checked == 4);
    }
    std::string pristine = test::read_file(f.db);
    struct Case { std::string what; std::string sql; const char* expect; };
    std::vector<Case> cases = {
        {"an audit entry edited", "UPDATE audit_log SET actor = 'someone' WHERE seq = 4;", "was altered"},
        {"an audit entry deleted", "DELETE FROM audit_log WHERE seq = 5;", "missing"},
        {"the chain rewritten from an entry on", "UPDATE audit_log SET prev_hash = 'x' WHERE seq = 6;", "does not follow"},
        {"a submitted record's content changed", "UPDATE record_fields SET value = '\"假联盟\"' WHERE record_id = '" + ids[1] + "';", "changed after submit"},
        {"a record's status changed", "UPDATE records SET status = 'synced' WHERE id = '" + ids[2] + "';", "audit history says"},
        {"the last entries cut off", "DELETE FROM audit_log WHERE seq >= (SELECT max(seq) FROM audit_log) - 1;", "has no audit history"},
        {"the last entry cut off", "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log);", "audit history says"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        test::write_file(f.db, pristine);
        REQUIRE(sqlcipher(f.db, f.key_hex(), c.sql).exit_code == 0);
        auto s = f.open(false);
        auto rep = s->verify().value();
        REQUIRE_FALSE(rep.problems.empty());
        bool found = false;
        for (const auto& p : rep.problems) found = found || p.find(c.expect) != std::string::npos;
        CHECK_MESSAGE(found, rep.problems.front());
    }
}

TEST_CASE("rekey: the old key stops working, the new key file opens the store") {
    Fixture f;
    std::string id;
    {
        auto s = f.open();
        id = s->create_record("alliance-2022", 1).value().id;
        REQUIRE(s->save_field(id, "alliance_name", kSecret).ok());
    }
    std::string old_hex = f.key_hex();
    {
        auto s = f.open(false);
        REQUIRE(rekey_store(*s, f.key_path).ok());
        REQUIRE(s->save_field(id, "chairman_name", "张强").ok());
    }
    CHECK(f.key_hex() != old_hex);
    CHECK_FALSE(exists(f.key_path + ".new"));
    CHECK(Store::open(f.db, key_from_hex(old_hex)).error().code == ErrorCode::WrongKey);
    auto s = f.open(false);
    CHECK(s->get(id).value().data["alliance_name"] == kSecret);
    CHECK(s->get(id).value().data["chairman_name"] == "张强");
    CHECK(s->verify().value().problems.empty());
    CHECK(test::read_file(f.db).find("XYZZY") == std::string::npos);
}

TEST_CASE("a rekey interrupted after the store changed is finished at the next open") {
    Fixture f;
    {
        auto s = f.open();
        REQUIRE(s->create_record("alliance-2022", 1).ok());
    }
    std::string old_hex = f.key_hex();
    {
        // What rekey_store does, stopped just before the key file is replaced.
        auto s = f.open(false);
        StoreKey fresh = generate_store_key();
        REQUIRE(write_key_file(f.key_path + ".new", fresh).ok());
        REQUIRE(s->rekey(fresh).ok());
    }
    CHECK(f.key_hex() == old_hex);
    auto s = f.open(false);
    CHECK(f.key_hex() != old_hex);
    CHECK_FALSE(exists(f.key_path + ".new"));
    CHECK(s->count().value() == 1);
}

TEST_CASE("the key can come from a systemd credential") {
    Fixture f;
    f.open().reset();
    test::TempDir creds;
    test::write_file(creds.file(kStoreKeyCredential), f.key_hex() + "\n");
    std::string moved = f.key_path + ".elsewhere";
    REQUIRE(std::rename(f.key_path.c_str(), moved.c_str()) == 0);
    ::setenv("CREDENTIALS_DIRECTORY", creds.path().c_str(), 1);
    auto s = open_store(f.db, f.key_path, false);
    ::unsetenv("CREDENTIALS_DIRECTORY");
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
    CHECK_FALSE(exists(f.key_path));  // nothing written beside the store
}

TEST_CASE("a malformed key file is refused with a clear message") {
    test::TempDir d;
    test::write_file(d.file("k"), "not a key");
    auto k = read_key_file(d.file("k"));
    REQUIRE_FALSE(k.ok());
    CHECK(k.error().code == ErrorCode::KeyFile);
    CHECK(k.error().message.find(d.file("k")) == 0);
    CHECK_FALSE(write_key_file(d.file("k"), generate_store_key()).ok());  // never overwrites
    CHECK(test::read_file(d.file("k")) == "not a key");
}

TEST_CASE("record ids are time-ordered ULIDs, unique and increasing") {
    std::set<std::string> seen;
    std::string prev;
    for (int i = 0; i < 10000; ++i) {
        std::string id = new_ulid();
        REQUIRE(id.size() == 26);
        CHECK(id > prev);
        prev = id;
        seen.insert(id);
    }
    CHECK(seen.size() == 10000);
}

TEST_CASE("resume codes: the right PIN resumes, wrong ones lock the code, nothing says which part was wrong") {
    Fixture f;
    auto s = f.open();
    auto id = s->create_record("alliance-2022", 1).value().id;
    auto code = s->set_resume_pin(id, "2580");
    REQUIRE(code.ok());
    CHECK(code->size() == 8);
    CHECK(test::read_file(f.db + "-wal").find("2580") == std::string::npos);
    auto ok = s->check_resume(*code, "2580").value();
    CHECK(ok.outcome == ResumeOutcome::Ok);
    CHECK(ok.record_id == id);
    // Lower case and separators typed by the applicant are accepted.
    std::string typed = code->substr(0, 4) + "-" + code->substr(4);
    for (char& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(s->check_resume(typed, "2580").value().outcome == ResumeOutcome::Ok);
    CHECK(s->check_resume("NOSUCHCD", "2580").value().outcome == ResumeOutcome::WrongCodeOrPin);
    for (int i = 1; i < kResumeFreeAttempts; ++i) CHECK(s->check_resume(*code, "0000").value().outcome == ResumeOutcome::WrongCodeOrPin);
    auto locked = s->check_resume(*code, "0000").value();
    CHECK(locked.outcome == ResumeOutcome::Locked);
    CHECK(locked.locked_until_ms > now_ms() + kResumeLockMs - 10000);
    CHECK(s->check_resume(*code, "2580").value().outcome == ResumeOutcome::Locked);  // even the right PIN waits
    // A new code (leaving again) replaces the old one.
    auto code2 = s->set_resume_pin(id, "1234").value();
    CHECK(s->check_resume(*code, "2580").value().outcome == ResumeOutcome::WrongCodeOrPin);
    CHECK(s->check_resume(code2, "1234").value().outcome == ResumeOutcome::Ok);
    CHECK(s->verify().value().problems.empty());
}

TEST_CASE("settings are shared key-value pairs") {
    Fixture f;
    auto s = f.open();
    CHECK_FALSE(s->setting("kiosk.idle_seconds").value().has_value());
    REQUIRE(s->set_setting("kiosk.idle_seconds", "90").ok());
    REQUIRE(s->set_setting("kiosk.idle_seconds", "120").ok());
    CHECK(s->setting("kiosk.idle_seconds").value() == std::optional<std::string>("120"));
}
