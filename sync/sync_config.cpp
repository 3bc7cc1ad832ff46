// Loading shenbao-sync's configuration: see sync_config.h for the keys.
#include "sync_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shenbao/store_files.h"

namespace shenbao::sync {

using nlohmann::json;

namespace {

// A configuration file larger than this is not one.
constexpr std::size_t kMaxConfigBytes = 1u << 20;

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

HttpOptions SyncConfig::http_options() const {
    HttpOptions o;
    o.ca_file = ca_file;
    o.allow_plain_http = allow_plain_http;
    o.connect_timeout_s = connect_timeout_s;
    o.low_speed_limit = low_speed_bytes_per_s;
    o.low_speed_time_s = low_speed_time_s;
    o.max_send_bytes_per_s = bandwidth_bytes_per_s > 0 ? std::max<std::int64_t>(1, bandwidth_bytes_per_s / upload_lanes) : 0;
    return o;
}

std::string SyncConfig::files_url() const { return trim_slash(intake_url) + "/files/"; }
std::string SyncConfig::commit_url(const std::string& upload_id) const {
    return trim_slash(intake_url) + "/batches/" + upload_id + "/commit";
}
std::string SyncConfig::receipt_url(const std::string& batch_id) const {
    return trim_slash(intake_url) + "/batches/" + batch_id + "/receipt";
}

Result<SyncConfig> parse_sync_config(const std::string& text, const std::string& source) {
    auto bad = [&](const std::string& key, const std::string& what) {
        return Error{ErrorCode::InvalidArgument, source + ": \"" + key + "\" " + what};
    };
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        return Error{ErrorCode::InvalidArgument, source + ": not valid JSON (" + e.what() + "); see `shenbao-sync config-template`"};
    }
    if (!j.is_object()) return Error{ErrorCode::InvalidArgument, source + ": must be a JSON object of settings"};
    static const std::set<std::string> known = {
        "intake_url", "ca_file", "commission_public_key", "receipt_public_key", "data_dir", "store", "key_file",
        "identity_file", "outbox_dir", "batch_max_records", "batch_max_bytes", "batch_max_plaintext_bytes", "zstd_level", "chunk_bytes", "upload_lanes",
        "bandwidth_bytes_per_s", "connect_timeout_s", "low_speed_bytes_per_s", "low_speed_time_s", "retry_base_ms",
        "retry_max_ms", "max_attempts", "window", "poll_s", "window_check_s", "retention_days", "allow_plain_http"};
    for (auto it = j.begin(); it != j.end(); ++it)
        if (!known.count(it.key()) && it.key().rfind("_comment", 0) != 0)
            return bad(it.key(), "is not a setting of shenbao-sync (a typo?); see `shenbao-sync config-template`");

    SyncConfig c;
    auto str = [&](const char* key, std::string& out) -> Status {
        if (!j.contains(key)) return ok_status();
        if (!j[key].is_string()) return bad(key, "must be a string");
        out = j[key].get<std::string>();
        return ok_status();
    };
    auto num = [&](const char* key, auto& out, std::int64_t lo, std::int64_t hi) -> Status {
        if (!j.contains(key)) return ok_status();
        if (!j[key].is_number_integer()) return bad(key, "must be a whole number");
        std::int64_t v = j[key].get<std::int64_t>();
        if (v < lo || v > hi) return bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        out = static_cast<std::remove_reference_t<decltype(out)>>(v);
        return ok_status();
    };
    std::string commission, receipt, store, key, identity, outbox;
    SHENBAO_TRY(str("intake_url", c.intake_url));
    SHENBAO_TRY(str("ca_file", c.ca_file));
    SHENBAO_TRY(str("commission_public_key", commission));
    SHENBAO_TRY(str("receipt_public_key", receipt));
    SHENBAO_TRY(str("data_dir", c.data_dir));
    SHENBAO_TRY(str("store", store));
    SHENBAO_TRY(str("key_file", key));
    SHENBAO_TRY(str("identity_file", identity));
    SHENBAO_TRY(str("outbox_dir", outbox));
    SHENBAO_TRY(str("window", c.window));
    SHENBAO_TRY(num("batch_max_records", c.batch_max_records, 1, 10'000));
    SHENBAO_TRY(num("batch_max_bytes", c.batch_max_bytes, 64 * 1024, 32ll << 20));
    SHENBAO_TRY(num("batch_max_plaintext_bytes", c.batch_max_plaintext_bytes, 1ll << 20, 128ll << 20));
    SHENBAO_TRY(num("zstd_level", c.zstd_level, 1, 22));
    SHENBAO_TRY(num("chunk_bytes", c.chunk_bytes, static_cast<std::int64_t>(kMinChunkBytes), static_cast<std::int64_t>(kMaxChunkBytes)));
    SHENBAO_TRY(num("upload_lanes", c.upload_lanes, 1, 4));
    SHENBAO_TRY(num("bandwidth_bytes_per_s", c.bandwidth_bytes_per_s, 0, 1ll << 40));
    SHENBAO_TRY(num("connect_timeout_s", c.connect_timeout_s, 1, 600));
    SHENBAO_TRY(num("low_speed_bytes_per_s", c.low_speed_bytes_per_s, 1, 1 << 30));
    SHENBAO_TRY(num("low_speed_time_s", c.low_speed_time_s, 1, 3600));
    SHENBAO_TRY(num("retry_base_ms", c.retry.base_delay_ms, 1, 600'000));
    SHENBAO_TRY(num("retry_max_ms", c.retry.max_delay_ms, 1, 3'600'000));
    SHENBAO_TRY(num("max_attempts", c.retry.max_attempts, 1, 1000));
    SHENBAO_TRY(num("poll_s", c.poll_s, 1, 86'400));
    SHENBAO_TRY(num("window_check_s", c.window_check_s, 1, 3600));
    SHENBAO_TRY(num("retention_days", c.retention_days, 0, 36'500));
    if (j.contains("allow_plain_http")) {
        if (!j["allow_plain_http"].is_boolean()) return bad("allow_plain_http", "must be true or false");
        c.allow_plain_http = j["allow_plain_http"].get<bool>();
    }

    if (c.intake_url.empty()) return bad("intake_url", "is required: the intake's base URL, e.g. https://intake.example:8443");
    bool https = c.intake_url.rfind("https://", 0) == 0;
    if (!https && !(c.allow_plain_http && c.intake_url.rfind("http://", 0) == 0))
        return bad("intake_url", "must start with https:// (the intake is only reached over verified TLS)");
    if (commission.empty()) return bad("commission_public_key", "is required: the commission's X25519 public key (64 hex)");
    auto ck = parse_commission_public_key(commission, source + " commission_public_key");
    if (!ck.ok()) return ck.error();
    c.commission_key = *ck;
    if (receipt.empty()) return bad("receipt_public_key", "is required: the commission's Ed25519 receipt key (64 hex)");
    auto rk = parse_receipt_public_key(receipt, source + " receipt_public_key");
    if (!rk.ok()) return rk.error();
    c.receipt_key = *rk;
    if (c.retry.max_delay_ms < c.retry.base_delay_ms) return bad("retry_max_ms", "must not be below retry_base_ms");

    if (c.data_dir.empty()) c.data_dir = default_data_dir();
    c.store_path = store.empty() ? store_path_in(c.data_dir) : store;
    c.key_path = key.empty() ? key_path_in(c.data_dir) : key;
    c.identity_path = identity.empty() ? c.data_dir + "/kiosk.identity" : identity;
    c.outbox_dir = outbox.empty() ? c.data_dir + "/outbox" : outbox;
    return c;
}

Result<SyncConfig> load_sync_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Error{ErrorCode::Io, path + ": cannot read the configuration file; write one from `shenbao-sync config-template`"};
    std::string text;
    text.resize(kMaxConfigBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
        return Error{ErrorCode::LimitExceeded, path + ": over " + std::to_string(kMaxConfigBytes) + " bytes; not a configuration file"};
    return parse_sync_config(text, path);
}

std::string sync_config_template() {
    json j = {
        {"intake_url", "https://intake.example:8443"},
        {"ca_file", "/etc/shenbao/intake-ca.pem"},
        {"commission_public_key", "<64 hex: the commission's X25519 public key>"},
        {"receipt_public_key", "<64 hex: the commission's Ed25519 receipt key>"},
        {"data_dir", ""},
        {"batch_max_records", 500},
        {"batch_max_bytes", 4 << 20},
        {"batch_max_plaintext_bytes", 8 << 20},
        {"zstd_level", 9},
        {"chunk_bytes", 32 * 1024},
        {"upload_lanes", 3},
        {"bandwidth_bytes_per_s", 0},
        {"connect_timeout_s", 20},
        {"low_speed_bytes_per_s", 50},
        {"low_speed_time_s", 60},
        {"retry_base_ms", 250},
        {"retry_max_ms", 60000},
        {"max_attempts", 10},
        {"window", "01:00-05:00"},
        {"poll_s", 300},
        {"window_check_s", 60},
        {"retention_days", 30},
    };
    return j.dump(2) + "\n";
}

}  // namespace shenbao::sync
