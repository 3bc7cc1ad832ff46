// shenbao-store end to end, as staff would use it.
#include <doctest/doctest.h>

#include <regex>

#include "shenbao/store.h"
#include "shenbao/store_files.h"
#include "test_support.h"

using nlohmann::json;

namespace {
std::string cli(const test::TempDir& d) { return std::string(SHENBAO_STORE_CLI) + " --data-dir '" + d.path() + "/data' "; }
}

TEST_CASE("init, generate, list, show, export, verify") {
    test::TempDir d;
    auto init = test::run(cli(d) + "init");
    REQUIRE_MESSAGE(init.exit_code == 0, init.output);
    CHECK(test::run(cli(d) + "init").exit_code == 5);  // never over an existing store

    auto gen = test::run(cli(d) + "generate -n 25 --seed 100");
    REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
    auto list = test::run(cli(d) + "list --status submitted");
    CHECK(list.exit_code == 0);
    CHECK(list.output.find("25 record(s)") != std::string::npos);
    CHECK(list.output.find("产业技术创新联盟") != std::string::npos);

    std::smatch id;
    REQUIRE(std::regex_search(list.output, id, std::regex("[0-9A-HJKMNP-TV-Z]{26}")));
    std::string first = id.str();
    auto show = test::run(cli(d) + "show " + first);
    CHECK(show.exit_code == 0);
    CHECK(show.output.find("联盟名称") != std::string::npos);
    CHECK(show.output.find("无问题") != std::string::npos);
    auto show_en = test::run(cli(d) + "--lang en show " + first);
    CHECK(show_en.output.find("no issues") != std::string::npos);
    CHECK(test::run(cli(d) + "show 01NOSUCHRECORD").exit_code == 4);

    auto exp = test::run(cli(d) + "export --out '" + d.file("out.json") + "'");
    REQUIRE_MESSAGE(exp.exit_code == 0, exp.output);
    json all = json::parse(test::read_file(d.file("out.json")));
    REQUIRE(all.size() == 25);
    CHECK(all[0]["id"] == first);
    CHECK(all[0]["content_hash"] == shenbao::content_hash_of(all[0]["data"]));

    auto bad = test::run(cli(d) + "export --out '" + d.file("no/such/folder/out.json") + "'");
    CHECK(bad.exit_code == 5);
    CHECK(bad.output.find("no/such/folder/out.json") != std::string::npos);

    auto verify = test::run(cli(d) + "verify");
    CHECK(verify.exit_code == 0);
    CHECK(verify.output.find("25 records checked: ok") != std::string::npos);
}

TEST_CASE("the main job: demo creates the store with its key, saves a sample and prints it back") {
    test::TempDir d;
    auto demo = test::run(cli(d) + "demo");
    REQUIRE_MESSAGE(demo.exit_code == 0, demo.output);
    CHECK(demo.output.find("submitted") != std::string::npos);
    CHECK(demo.output.find("联盟名称") != std::string::npos);
    CHECK(demo.output.find("[✓]") != std::string::npos);
    CHECK(test::read_file(d.path() + "/data/store.key").size() == 65);
    auto again = test::run(cli(d) + "demo");  // reuses the same store
    CHECK(again.exit_code == 0);
    CHECK(test::run(cli(d) + "list").output.find("2 record(s)") != std::string::npos);
}

TEST_CASE("a wrong key or a missing key file exits 2 naming the file") {
    test::TempDir d;
    REQUIRE(test::run(cli(d) + "init").exit_code == 0);
    test::write_file(d.file("other.key"), shenbao::generate_store_key().hex() + "\n");
    auto wrong = test::run(cli(d) + "--key-file '" + d.file("other.key") + "' list");
    CHECK(wrong.exit_code == 2);
    CHECK(wrong.output.find(d.path() + "/data/store.db") != std::string::npos);
    auto missing = test::run(cli(d) + "--key-file '" + d.file("nope.key") + "' list");
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("nope.key") != std::string::npos);
}

TEST_CASE("rekey from the command line keeps every record readable") {
    test::TempDir d;
    REQUIRE(test::run(cli(d) + "init").exit_code == 0);
    REQUIRE(test::run(cli(d) + "generate -n 5").exit_code == 0);
    std::string before = test::read_file(d.path() + "/data/store.key");
    auto rk = test::run(cli(d) + "rekey");
    REQUIRE_MESSAGE(rk.exit_code == 0, rk.output);
    CHECK(test::read_file(d.path() + "/data/store.key") != before);
    CHECK(test::run(cli(d) + "list").output.find("5 record(s)") != std::string::npos);
    CHECK(test::run(cli(d) + "verify").exit_code == 0);
}

TEST_CASE("check-form names the file and JSON pointer of a broken definition") {
    auto ok = test::run(std::string(SHENBAO_STORE_CLI) + " check-form '" + test::form_path() + "'");
    CHECK(ok.exit_code == 0);
    std::string bad_path = test::repo_path("tests/data/forms/unknown-field-type.json");
    auto bad = test::run(std::string(SHENBAO_STORE_CLI) + " check-form '" + bad_path + "'");
    CHECK(bad.exit_code == 5);
    CHECK(bad.output.find(bad_path + ": /sections/0/fields/1/type") != std::string::npos);
}

TEST_CASE("staff-pin stores only an Argon2id hash and refuses a bad PIN") {
    test::TempDir d;
    REQUIRE(test::run(cli(d) + "init").exit_code == 0);
    CHECK(test::run("echo 12 | " + cli(d) + "staff-pin").exit_code == 1);
    auto set = test::run("echo 13579 | " + cli(d) + "staff-pin");
    REQUIRE_MESSAGE(set.exit_code == 0, set.output);
    CHECK(test::run(cli(d) + "verify").exit_code == 0);
}

TEST_CASE("quarantined lists the records the commission refused, release sends one again, an unknown id exits 4") {
    test::TempDir d;
    REQUIRE(test::run(cli(d) + "init").exit_code == 0);
    REQUIRE(test::run(cli(d) + "generate -n 2 --seed 3").exit_code == 0);
    std::string refused;
    {
        auto s = shenbao::open_store(d.path() + "/data/store.db", d.path() + "/data/store.key", false).value();
        refused = s->list(shenbao::RecordStatus::Submitted).value().at(1).id;
        REQUIRE(s->quarantine_unsendable(refused, "lead_phone: 电话号码格式不正确").ok());
    }
    auto listed = test::run(cli(d) + "quarantined");
    REQUIRE_MESSAGE(listed.exit_code == 0, listed.output);
    CHECK(listed.output.find(refused + "  unsendable") != std::string::npos);
    CHECK(listed.output.find("lead_phone: 电话号码格式不正确") != std::string::npos);
    CHECK(listed.output.find("1 quarantined record(s)") != std::string::npos);

    auto released = test::run(cli(d) + "release " + refused);
    REQUIRE_MESSAGE(released.exit_code == 0, released.output);
    CHECK(test::run(cli(d) + "list --status submitted").output.find(refused) != std::string::npos);
    CHECK(test::run(cli(d) + "quarantined").output.find("0 quarantined record(s)") != std::string::npos);
    auto again = test::run(cli(d) + "release " + refused);
    CHECK(again.exit_code == 4);
    CHECK(test::run(cli(d) + "verify").exit_code == 0);
}

TEST_CASE("store.cli: review decisions from the command line, with clear refusals that change nothing") {
    test::TempDir d;
    REQUIRE(test::run(cli(d) + "init").exit_code == 0);
    REQUIRE(test::run(cli(d) + "generate -n 3 --seed 700").exit_code == 0);
    auto awaiting = test::run(cli(d) + "list --review awaiting");
    CHECK(awaiting.output.find("3 record(s)") != std::string::npos);
    std::vector<std::string> ids;
    std::regex ulid("[0-9A-HJKMNP-TV-Z]{26}");
    for (std::sregex_iterator it(awaiting.output.begin(), awaiting.output.end(), ulid), end; it != end; ++it) ids.push_back(it->str());
    REQUIRE(ids.size() == 3);

    auto ok = test::run(cli(d) + "review " + ids[0] + " --decision recommend --reviewer 李娜 --comment 同意推荐");
    CHECK_MESSAGE(ok.exit_code == 0, ok.output);
    CHECK(ok.output.find("#1 recommend by 李娜") != std::string::npos);
    auto no_reason = test::run(cli(d) + "review " + ids[1] + " --decision not-recommend --reviewer 王强");
    CHECK(no_reason.exit_code == 1);
    CHECK(no_reason.output.find("not-recommend needs a reason") != std::string::npos);
    CHECK(no_reason.output.find("nothing changed") != std::string::npos);
    auto unknown = test::run(cli(d) + "review " + ids[1] + " --decision maybe --reviewer 王强");
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.output.find("unknown decision \"maybe\"") != std::string::npos);
    auto twice = test::run(cli(d) + "review " + ids[0] + " --decision return --reviewer 王强 --comment 重审");
    CHECK(twice.exit_code == 5);
    CHECK(twice.output.find("already decided (recommend by 李娜)") != std::string::npos);
    CHECK(test::run(cli(d) + "review 01NOSUCHRECORD00000000000000 --decision recommend --reviewer 王强").exit_code == 4);
    CHECK(test::run(cli(d) + "list --review awaiting").output.find("2 record(s)") != std::string::npos);

    REQUIRE(test::run(cli(d) + "review " + ids[2] + " --decision return --reviewer 李娜 --comment 请补充联系人").exit_code == 0);
    CHECK(test::run(cli(d) + "list --status returned").output.find(ids[2]) != std::string::npos);
    auto show = test::run(cli(d) + "show " + ids[2]);
    CHECK(show.output.find("#1 return by 李娜") != std::string::npos);
    CHECK(show.output.find("请补充联系人") != std::string::npos);
    auto ready = test::run(cli(d) + "list --review ready");
    CHECK(ready.output.find("1 record(s)") != std::string::npos);
    CHECK(ready.output.find(ids[0] + "  submitted  recommend") != std::string::npos);
    CHECK(test::run(cli(d) + "list --review bogus").exit_code == 1);
    auto exported = json::parse(test::run(cli(d) + "export 2>/dev/null").output);
    std::size_t reviews = 0;
    for (const json& r : exported) reviews += r["reviews"].size();
    CHECK(reviews == 2);
    REQUIRE(test::run(cli(d) + "generate -n 2 --seed 800 --recommend-as 测试审核员").exit_code == 0);
    CHECK(test::run(cli(d) + "list --review ready").output.find("3 record(s)") != std::string::npos);
    CHECK(test::run(cli(d) + "verify").exit_code == 0);
}
