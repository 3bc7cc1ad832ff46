// The agent's configuration (defaults, refusals) and its schedule window.
#include <doctest/doctest.h>

#include "shenbao/crypto.h"
#include "shenbao/receipt.h"
#include "sync_agent.h"
#include "sync_config.h"
#include "sync_schedule.h"
#include "test_support.h"

using namespace shenbao;
using namespace shenbao::sync;
using nlohmann::json;

namespace {

json minimal() {
    return {{"intake_url", "https://intake.example:8443/"},
            {"commission_public_key", generate_commission_keys().public_key.hex()},
            {"receipt_public_key", generate_receipt_keys().public_key.base64()},
            {"data_dir", "/var/lib/shenbao"}};
}

}  // namespace

TEST_CASE("sync.config: defaults fill everything the file leaves out") {
    auto c = parse_sync_config(minimal().dump(), "sync.json");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->files_url() == "https://intake.example:8443/files/");
    CHECK(c->commit_url("u1") == "https://intake.example:8443/batches/u1/commit");
    CHECK(c->receipt_url("01B") == "https://intake.example:8443/batches/01B/receipt");
    CHECK(c->store_path == "/var/lib/shenbao/store.db");
    CHECK(c->key_path == "/var/lib/shenbao/store.key");
    CHECK(c->identity_path == "/var/lib/shenbao/kiosk.identity");
    CHECK(c->outbox_dir == "/var/lib/shenbao/outbox");
    CHECK(c->batch_max_records == 500);
    CHECK(c->batch_max_plaintext_bytes == 8u << 20);
    CHECK(c->zstd_level == 9);
    CHECK(c->chunk_bytes == 32 * 1024);
    CHECK(c->window == "01:00-05:00");
    CHECK(c->retention_days == 30);
    CHECK(c->bandwidth_bytes_per_s == 0);
    CHECK(c->retry.max_delay_ms == 60000);
    CHECK_FALSE(c->allow_plain_http);
    CHECK(c->upload_lanes == 3);
    HttpOptions h = c->http_options();
    CHECK(h.connect_timeout_s == 20);
    CHECK(h.low_speed_time_s == 60);
    CHECK(h.max_send_bytes_per_s == 0);
    // A bandwidth cap is the office line's share for all lanes together.
    json capped = minimal();
    capped["bandwidth_bytes_per_s"] = 100000;
    capped["upload_lanes"] = 2;
    auto cc = parse_sync_config(capped.dump(), "sync.json");
    REQUIRE(cc.ok());
    CHECK(cc->http_options().max_send_bytes_per_s == 50000);
    capped["upload_lanes"] = 3;
    CHECK(parse_sync_config(capped.dump(), "sync.json")->http_options().max_send_bytes_per_s == 33333);
    capped["upload_lanes"] = 1;
    CHECK(parse_sync_config(capped.dump(), "sync.json")->http_options().max_send_bytes_per_s == 100000);
    // The template parses once its placeholders are filled in.
    json t = json::parse(sync_config_template());
    json m = minimal();
    t["commission_public_key"] = m["commission_public_key"];
    t["receipt_public_key"] = m["receipt_public_key"];
    CHECK(parse_sync_config(t.dump(), "template").ok());
}

TEST_CASE("sync.config: every bad setting is refused with its name and what to write") {
    auto refused = [](json j, const std::string& expect) {
        auto c = parse_sync_config(j.dump(), "sync.json");
        REQUIRE_FALSE(c.ok());
        CHECK(c.error().code == ErrorCode::InvalidArgument);
        CHECK_MESSAGE(c.error().message.find(expect) != std::string::npos, c.error().message);
        CHECK(c.error().message.find("sync.json") == 0);
    };
    json j = minimal();
    j.erase("intake_url");
    refused(j, "intake_url");
    j = minimal();
    j["intake_url"] = "http://intake.example";
    refused(j, "https://");
    j["allow_plain_http"] = true;
    CHECK(parse_sync_config(j.dump(), "t").ok());
    j = minimal();
    j["commission_public_key"] = "abc";
    refused(j, "commission_public_key");
    j = minimal();
    j.erase("receipt_public_key");
    refused(j, "receipt_public_key");
    j = minimal();
    j["batch_max_records"] = 0;
    refused(j, "batch_max_records");
    j = minimal();
    j["chunk_bytes"] = "big";
    refused(j, "whole number");
    j = minimal();
    j["upload_lanes"] = 5;
    refused(j, "upload_lanes");
    j = minimal();
    j["bandwith_bytes_per_s"] = 1000;  // a typo must not silently mean "no cap"
    refused(j, "bandwith_bytes_per_s");
    j = minimal();
    j["retry_max_ms"] = 10;
    refused(j, "retry_max_ms");
    refused(json::array(), "object");
    CHECK(parse_sync_config("{", "sync.json").error().message.find("not valid JSON") != std::string::npos);
    CHECK(load_sync_config("/nonexistent/sync.json").error().code == ErrorCode::Io);
}

TEST_CASE("sync.window: parsing, wrapping past midnight, all day, and the wait until it opens") {
    auto w = parse_sync_window("01:00-05:00");
    REQUIRE(w);
    CHECK_FALSE(w->contains(59));
    CHECK(w->contains(60));
    CHECK(w->contains(299));
    CHECK_FALSE(w->contains(300));
    CHECK(w->minutes_until_open(0) == 60);
    CHECK(w->minutes_until_open(301) == 1440 - 301 + 60);
    CHECK(w->minutes_until_open(120) == 0);
    auto night = parse_sync_window("22:30-02:00");
    REQUIRE(night);
    CHECK(night->contains(23 * 60));
    CHECK(night->contains(60));
    CHECK_FALSE(night->contains(12 * 60));
    CHECK(night->minutes_until_open(22 * 60) == 30);
    auto all = parse_sync_window("00:00-00:00");
    REQUIRE(all);
    CHECK(all->all_day());
    for (int m : {0, 720, 1439}) CHECK(all->contains(m));
    for (const char* bad : {"", "1:00-5:00", "01:00-24:00", "01:60-05:00", "01:00 05:00", "aa:bb-cc:dd", "01:00-05:00x"})
        CHECK_MESSAGE(!parse_sync_window(bad), bad);
}

TEST_CASE("sync.exit: pass outcomes map to the documented exit codes") {
    PassReport r;
    CHECK(r.exit_code() == 0);
    r.outcome = PassOutcome::Offline;
    CHECK(r.exit_code() == 3);
    r.outcome = PassOutcome::Refused;
    CHECK(r.exit_code() == 4);
    r.outcome = PassOutcome::Failed;
    CHECK(r.exit_code() == 5);
    r.outcome = PassOutcome::Locked;
    CHECK(r.exit_code() == 6);
}
