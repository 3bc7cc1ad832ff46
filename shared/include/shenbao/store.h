// The encrypted local store (SQLCipher). One file holds records, their field
// values and the hash-chained audit log. The kiosk and the sync agent open the
// same file at once (WAL, busy timeout, BEGIN IMMEDIATE for every write).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shenbao/keys.h"
#include "shenbao/result.h"

namespace shenbao {

// The store's schema version that this program writes (PRAGMA user_version).
int store_schema_version();

enum class RecordStatus { Draft, Submitted, Queued, Synced, Purged, Returned };
const char* status_name(RecordStatus status);
std::optional<RecordStatus> parse_status(std::string_view name);
// Whether the lifecycle allows from -> to (draft → submitted → queued → synced →
// purged; submitted → returned → submitted for corrections; queued → submitted to requeue).
bool transition_allowed(RecordStatus from, RecordStatus to);

struct RecordMeta {
    std::string id;  // ULID: time-ordered, 26 chars
    std::string form_id;
    int form_version = 0;
    RecordStatus status = RecordStatus::Draft;
    std::int64_t created_ms = 0, updated_ms = 0;
    std::optional<std::int64_t> submitted_ms;
    std::string content_hash;  // sha256 hex of the canonical data; set when it leaves draft
};

struct Record {
    RecordMeta meta;
    nlohmann::json data = nlohmann::json::object();  // {field_id: value}
};

struct AuditEntry {
    std::int64_t seq = 0;
    std::int64_t at_ms = 0;
    std::string actor;      // "applicant", "staff:<name>", "sync", "cli"
    std::string record_id;  // may be empty for store-wide events
    std::string action;     // "create", "submit", "status:queued", "rekey", ...
    std::string detail;     // never field values: ids, hashes, counts
    std::string prev_hash;
    std::string hash;
};

struct VerifyReport {
    std::int64_t entries = 0;
    std::int64_t records_checked = 0;
    std::vector<std::string> problems;  // empty when everything verifies
};

// Failed PIN attempts allowed per resume code before it locks for kResumeLockMs (doubling after).
inline constexpr int kResumeFreeAttempts = 5;
inline constexpr std::int64_t kResumeLockMs = 5 * 60 * 1000;

enum class ResumeOutcome { Ok, WrongCodeOrPin, Locked };

struct ResumeCheck {
    ResumeOutcome outcome = ResumeOutcome::WrongCodeOrPin;
    std::string record_id;            // when Ok
    std::int64_t locked_until_ms = 0; // when Locked
};

struct StoreOptions {
    int busy_timeout_ms = 10000;
    // Only for tests that build an old store: stop migrating at this version.
    int migrate_to = 0;
    // Only for benchmarks: open without a key (plain SQLite). The product never does.
    bool unencrypted_for_benchmark = false;
};

class Store {
public:
    // Creates a new store file (refuses an existing one).
    static Result<std::unique_ptr<Store>> create(const std::string& path, const StoreKey& key,
                                                 StoreOptions options = {});
    // Opens an existing store, checks the key and integrity, migrates it forward.
    // Wrong key, not-a-store and corruption are errors naming the file; the file is untouched.
    static Result<std::unique_ptr<Store>> open(const std::string& path, const StoreKey& key,
                                               StoreOptions options = {});
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    const std::string& path() const { return path_; }
    Result<int> schema_version();

    // A new draft record; one durable transaction with its audit entry.
    Result<RecordMeta> create_record(const std::string& form_id, int form_version,
                                     const std::string& actor = "applicant");
    // Saves one field's value (JSON) of a draft or returned record: one durable transaction.
    Status save_field(const std::string& record_id, const std::string& field_id,
                      const nlohmann::json& value);
    // Saves several fields in one transaction (generator, imports).
    Status save_fields(const std::string& record_id, const nlohmann::json& values);

    Result<Record> get(const std::string& record_id);
    Result<std::vector<RecordMeta>> list(std::optional<RecordStatus> status = std::nullopt,
                                         std::size_t limit = 0);
    Result<std::int64_t> count(std::optional<RecordStatus> status = std::nullopt);

    // Moves a record along its lifecycle, with an audit entry; leaving draft or
    // returned freezes the content hash. `detail` goes to the audit log.
    Status set_status(const std::string& record_id, RecordStatus to, const std::string& actor,
                      const std::string& detail = "");

    // Appends one audit entry for a store-wide or record event.
    Status audit(const std::string& actor, const std::string& record_id,
                 const std::string& action, const std::string& detail);
    Result<std::vector<AuditEntry>> audit_log(const std::string& record_id = "");
    // Recomputes the chain and every frozen record's content hash.
    Result<VerifyReport> verify();

    // Re-encrypts the whole store under `new_key` (PRAGMA rekey).
    Status rekey(const StoreKey& new_key);

    // Key-value settings shared by kiosk, agent and staff (e.g. "kiosk.idle_seconds",
    // "sync.last_success_ms"). A missing key reads as nullopt.
    Status set_setting(const std::string& key, const std::string& value);
    Result<std::optional<std::string>> setting(const std::string& key);

    // Save-and-leave: gives the record a short resume code (new on every call,
    // replacing the old one) guarded by the applicant's PIN (Argon2id hash only).
    Result<std::string> set_resume_pin(const std::string& record_id, const std::string& pin);
    // Checks a code and PIN. A wrong code and a wrong PIN look the same to the
    // caller; after kResumeFreeAttempts failures a code locks, doubling each time.
    Result<ResumeCheck> check_resume(const std::string& code, const std::string& pin);

    struct Db;  // opaque: the SQLCipher connection, defined in store.cpp

private:
    Store(std::string path, std::unique_ptr<Db> db);
    std::string path_;
    std::unique_ptr<Db> db_;
};

// sha256 (hex) of a record's canonical data (sorted keys, compact JSON).
std::string content_hash_of(const nlohmann::json& data);

// A new ULID (26 Crockford base32 chars), strictly increasing within a process.
std::string new_ulid();

// Milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace shenbao
