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
#include "shenbao/review.h"

namespace shenbao {

// The store's schema version that this program writes (PRAGMA user_version).
int store_schema_version();

enum class RecordStatus { Draft, Submitted, Queued, Synced, Purged, Returned };
const char* status_name(RecordStatus status);
std::optional<RecordStatus> parse_status(std::string_view name);
// Whether the lifecycle allows from -> to (draft → submitted → queued → synced →
// purged; submitted → returned → submitted for corrections; queued → submitted to requeue).
// The preliminary review is not a status: a submitted record either awaits
// review or carries a final decision ([SECTION] Review below); only the latter
// may move on to queued.
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
    // The final review decision on this content (recommend / not-recommend),
    // which travels with the record (batch.h); nullopt while it awaits review.
    std::optional<RecordReview> review;
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

// [SECTION] Outbox (schema v4): what the sync agent has cut into batches.
//
// A record is in at most one live batch (sealed or uploading): enqueue_batch
// moves records submitted → queued in the same transaction that files them
// under the batch, and only submitted records with a final review decision
// (schema v5) can be filed. A batch leaves the
// live set only through apply_receipt, which marks its records synced or
// quarantines them, in one transaction with storing the receipt.
enum class OutboxState {
    Sealed,     // the batch file is on disk; no upload exists yet
    Uploading,  // an upload exists at upload_url (tus); resume from the server's offset
    Committed,  // the commission's receipt is stored; the file may be deleted
};
const char* outbox_state_name(OutboxState state);

struct OutboxBatch {
    std::string batch_id;  // ULID, as in the batch header
    OutboxState state = OutboxState::Sealed;
    std::string file_path;   // the sealed batch file, kept until committed
    std::string upload_url;  // empty until an upload is created
    std::int64_t upload_offset = 0;  // last offset the server confirmed (for display; HEAD is the truth)
    std::int64_t bytes = 0;          // size of the batch file
    std::int64_t record_count = 0;
    std::int64_t created_ms = 0, updated_ms = 0;
};

// One record of a batch as the agent sealed it.
struct BatchMember {
    std::string record_id;
    std::string content_hash;  // must equal the record's frozen hash when it is filed
};

// What the commission's receipt (receipt.h) says about one record of a batch.
struct BatchRecordOutcome {
    std::string record_id;
    bool synced = true;   // accepted or duplicate: mark synced; otherwise quarantine
    std::string result;   // the receipt's word: accepted, duplicate, conflict, invalid
    std::string reason;   // why, for a quarantined record (shown to staff)
};

// A record the commission refused; it stays queued, out of every live batch,
// until staff release it (release_quarantined) or it is purged.
struct QuarantineEntry {
    std::string record_id;
    std::string batch_id;  // "local" when the agent refused to send it
    std::string result;    // "conflict", "invalid", or "unsendable"
    std::string reason;  // the intake's words, shown on the staff screen
    std::int64_t at_ms = 0;
};

// The sync status the staff screen shows: settings "sync.last_success_ms",
// "sync.last_attempt_ms" and "sync.last_error" (empty when the last attempt
// succeeded), plus counts from the outbox.
struct SyncStatus {
    std::optional<std::int64_t> last_success_ms;
    std::optional<std::int64_t> last_attempt_ms;
    std::string last_error;
    std::int64_t live_batches = 0;
    std::int64_t quarantined = 0;
};

// [SECTION] Review (schema v5): the district's preliminary review (review.h).
//
// Not a status of its own, so the lifecycle and the outbox stay as they were:
// a submitted record awaits review until staff decide. `return` moves it
// submitted → returned in the same transaction (its data kept as a snapshot),
// and after the applicant resubmits it awaits review again. A final decision
// (recommend / not-recommend) is tied to the content hash it was made on and
// cannot be changed; only submitted records with a final decision are filed
// into batches (enqueue_batch refuses others), and the decision travels with
// them. Every decision is an audit entry by "staff:<name>" whose detail holds a
// hash of the decision row, so verify detects an edited or deleted decision.
struct ReviewEntry {
    std::int64_t seq = 0;      // 1, 2, 3 … per record, in decision order
    RecordReview review;       // decision, comment or reason, reviewer, time
    std::string content_hash;  // the submitted content the decision was made on
    std::optional<nlohmann::json> snapshot;  // a return's data as returned; nullopt otherwise or once purged
};

// Which records list_review lists, each in id order.
enum class ReviewQueue {
    Awaiting,        // submitted, no final decision: the reviewer's queue
    ReadyToSend,     // submitted with a final decision: what the sync agent sends
    Recommended,     // a final recommend on the current content, whatever the status since
    NotRecommended,  // a final not-recommend on the current content, whatever the status since
};
const char* review_queue_name(ReviewQueue queue);  // "awaiting", "ready", "recommended", "not-recommended"
std::optional<ReviewQueue> parse_review_queue(std::string_view name);

struct StoreOptions {
    int busy_timeout_ms = 10000;
    // SQLite page cache of this connection. The sync agent reads records once,
    // in order, and keeps its memory small with a smaller cache.
    int cache_kib = 16384;
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
    // returned freezes the content hash. `detail` goes to the audit log. Staff
    // return a record with review() (decision, snapshot, name); set_status(Returned)
    // is the bare move and refuses a record that has a final decision.
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

    // [SECTION] Review (see the section above Store). Records a decision by
    // `reviewer` in one transaction with its audit entry (actor "staff:<reviewer>");
    // a return also moves the record submitted → returned. Errors, nothing changed:
    // InvalidArgument (review_input_problem: no name, no reason for not-recommend,
    // no comment for return), NotFound, InvalidTransition (not submitted, or
    // already finally decided).
    Result<ReviewEntry> review(const std::string& record_id, ReviewDecision decision, const std::string& reviewer,
                               const std::string& comment);
    // A record's review history, oldest first (empty when never reviewed).
    Result<std::vector<ReviewEntry>> reviews(const std::string& record_id);
    Result<std::vector<RecordMeta>> list_review(ReviewQueue queue, std::size_t limit = 0);
    // How many records list_review would list (for status screens: no rows read).
    Result<std::int64_t> count_review(ReviewQueue queue);
    // What the applicant changed since the record's last return (that return's
    // snapshot against the data now); nullopt when it was never returned through
    // review(). Empty when they resubmitted without changes.
    Result<std::optional<std::vector<FieldChange>>> changes_since_return(const std::string& record_id);

    // [SECTION] Outbox (sync agent). Every call is one transaction; status
    // changes get audit entries with actor `actor`.

    // Files `members` under a new live batch (state Sealed, `batch` gives id,
    // file, size, count) and moves each record submitted → queued. Refuses the
    // whole batch (InvalidTransition, nothing changed) when any record is no
    // longer submitted, has no final review decision, or its content hash
    // differs: the caller cuts again.
    Status enqueue_batch(const OutboxBatch& batch, const std::vector<BatchMember>& members,
                         const std::string& actor = "sync");
    // Live batches (sealed or uploading), oldest first: the agent resumes these
    // before cutting new ones.
    Result<std::vector<OutboxBatch>> live_batches();
    // One batch in any state; NotFound when unknown.
    Result<OutboxBatch> outbox_batch(const std::string& batch_id);
    // Every batch, newest first, at most `limit` (0: all); for status screens and tools.
    Result<std::vector<OutboxBatch>> outbox_batches(std::size_t limit = 0);
    // The records filed under a batch, in batch order.
    Result<std::vector<BatchMember>> batch_members(const std::string& batch_id);
    // Records the upload of a live batch: its URL and the offset the server
    // confirmed; moves Sealed → Uploading. An empty url forgets the upload
    // (it expired at the server) and moves back to Sealed.
    Status set_batch_upload(const std::string& batch_id, const std::string& upload_url, std::int64_t offset);
    // Applies a verified receipt in one transaction: stores `receipt_json`,
    // marks accepted/duplicate records synced, quarantines conflict/invalid ones
    // with the reason, and moves the batch to Committed. `outcomes` must name
    // every record of the batch exactly once (InvalidArgument otherwise, nothing
    // changed). Applying the same batch again is a no-op.
    Status apply_receipt(const std::string& batch_id, const std::string& receipt_json,
                         const std::vector<BatchRecordOutcome>& outcomes, const std::string& actor = "sync");
    // Quarantines a submitted record the agent itself cannot send (its data no
    // longer matches its content hash, or it is over the batch format's record
    // limit): submitted → queued with a quarantine row (batch_id "local").
    Status quarantine_unsendable(const std::string& record_id, const std::string& reason,
                                 const std::string& actor = "sync");
    // The stored receipt JSON of a committed batch; nullopt when none.
    Result<std::optional<std::string>> receipt(const std::string& batch_id);
    // Quarantined records, newest first.
    Result<std::vector<QuarantineEntry>> quarantined();
    // Staff release a quarantined record: it goes back to submitted (queued →
    // submitted) and will be sent again in a new batch. NotFound when not quarantined.
    Status release_quarantined(const std::string& record_id, const std::string& actor);
    // Purges (status purged: fields deleted, content hash, audit and receipt kept)
    // synced records whose last status change is before `cutoff_ms`, in
    // transactions of at most 500 so the kiosk is never blocked long. Returns how many.
    Result<std::int64_t> purge_synced_before(std::int64_t cutoff_ms, const std::string& actor = "sync");

    // Records one sync attempt: sets sync.last_attempt_ms, and on success
    // sync.last_success_ms with an empty sync.last_error, else sync.last_error = `error`.
    Status note_sync_attempt(bool success, const std::string& error, std::int64_t at_ms);
    Result<SyncStatus> sync_status();

    struct Db;  // opaque: the SQLCipher connection, defined in store.cpp

private:
    Store(std::string path, std::unique_ptr<Db> db);
    std::string path_;
    std::unique_ptr<Db> db_;
};

// sha256 (hex) of a record's canonical data (sorted keys, compact JSON).
std::string content_hash_of(const nlohmann::json& data);
// The same for data already serialised canonically:
// content_hash_of(data) == content_hash_of_text(data.dump()).
std::string content_hash_of_text(std::string_view canonical_data);

// A new ULID (26 Crockford base32 chars), strictly increasing within a process.
std::string new_ulid();

// Milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace shenbao
