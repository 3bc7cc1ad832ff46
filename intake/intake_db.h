// The commission's database: enrolled kiosks, tus uploads in progress,
// committed batches with their receipts, and the records received. One SQLite
// file in the intake's data folder (schema and rules at the top of intake_db.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shenbao/receipt.h"
#include "shenbao/result.h"
#include "shenbao/review.h"

namespace shenbao::intake {

// The schema version this program writes (PRAGMA user_version).
int intake_schema_version();

struct Kiosk {
    std::string kiosk_id;  // Ed25519 public key, 64 hex
    std::string district;
    std::int64_t enrolled_ms = 0;
};

struct Upload {
    std::string upload_id;  // 32 hex, random
    std::string kiosk_id;
    std::string batch_id;
    std::string metadata;   // the Upload-Metadata header as received (echoed by HEAD)
    std::int64_t length = 0;
    std::int64_t offset = 0;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> committed_ms;  // set once this upload's batch is committed
};

struct DistrictCount {
    std::string district;
    std::int64_t kiosks = 0;
    std::int64_t records = 0;
};

struct StoredRecord {
    std::string id, kiosk_id, district, batch_id, form_id;
    int form_version = 0;
    std::string content_hash;
    std::optional<std::int64_t> submitted_ms;
    std::string data;  // canonical JSON, byte-identical to what the kiosk froze at submit
    std::int64_t received_ms = 0;
    std::optional<RecordReview> review;  // the district's final decision; nullopt when the batch carried none
};

// One record of a batch being committed, as the intake judged it before storing.
struct IncomingRecord {
    std::string id, form_id;
    int form_version = 0;
    std::string content_hash;
    std::optional<std::int64_t> submitted_ms;
    std::string data;    // canonical JSON
    std::string invalid; // non-empty: the validation failure (not stored; listed in the receipt)
    std::optional<RecordReview> review;  // the district's final decision, as the batch carried it
};

// What commit_batch did.
struct CommitOutcome {
    std::string receipt;  // the signed receipt bytes, the same on every later ask
    bool replay = false;  // the batch was committed before: nothing stored now
    Receipt parsed;       // the receipt as data (for logs); empty records on a replay
};

enum class EnrolOutcome { Enrolled, AlreadyEnrolled, Moved };

// A batch stored record by record while it is still being decoded, in ONE
// BEGIN IMMEDIATE transaction on a connection of its own (IntakeDb::begin_batch),
// idempotently: a batch_id already committed is a replay (nothing stored, the
// stored receipt returned); a record id already stored with the same content
// hash is a duplicate, with another hash a conflict (the stored one stays);
// invalid records are not stored. Nothing is visible to anyone before finish();
// a writer destroyed unfinished rolls back, so a batch refused late (a bad
// record, a count or hash mismatch at its end) stores nothing. While it is open
// the server's other requests still read through IntakeDb's own connection; its
// writers (tus offsets) wait for the commit, up to the 10 s busy timeout.
// Not thread-safe: one thread at a time, which may be handed on (e.g. by join).
class BatchWriter {
public:
    ~BatchWriter();
    BatchWriter(const BatchWriter&) = delete;
    BatchWriter& operator=(const BatchWriter&) = delete;

    // The batch was committed before: add() stores nothing, finish() returns the stored receipt.
    bool replay() const;
    // Judges `record` against what is stored and stores it when accepted; its outcome joins the receipt.
    // Busy / DiskFull / Io errors: the writer is spent (destroy it; nothing is stored).
    Status add(const IncomingRecord& record);
    // Signs the receipt with `sign`, stores it, marks the upload committed and commits. Call once.
    Result<CommitOutcome> finish(const std::function<Result<std::string>(const Receipt&)>& sign);

    struct State;  // opaque: the connection, the statements, the receipt so far

private:
    friend class IntakeDb;
    explicit BatchWriter(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

// Thread-safe: one connection behind a mutex (SQLite has one writer anyway).
class IntakeDb {
public:
    // Opens `path`, creating it when missing, and migrates it forward. A file
    // written by a newer shenbao-intake is refused (UnsupportedVersion).
    static Result<std::unique_ptr<IntakeDb>> open(const std::string& path);
    ~IntakeDb();
    IntakeDb(const IntakeDb&) = delete;
    IntakeDb& operator=(const IntakeDb&) = delete;

    const std::string& path() const { return path_; }

    // [SECTION] Kiosks
    // Enrols a kiosk in a district. The same key again: AlreadyEnrolled when
    // the district is the same, else an error unless `move` (then Moved).
    Result<EnrolOutcome> enrol(const std::string& kiosk_id, const std::string& district, bool move);
    Result<std::optional<Kiosk>> kiosk(const std::string& kiosk_id);
    Result<std::vector<DistrictCount>> districts();

    // [SECTION] Uploads
    Status create_upload(const Upload& upload);
    Result<std::optional<Upload>> upload(const std::string& upload_id);
    // Uploads of this kiosk not yet committed.
    Result<std::int64_t> open_uploads(const std::string& kiosk_id);
    // Moves an upload's offset forward (after its bytes are durable).
    Status set_offset(const std::string& upload_id, std::int64_t offset);
    // Uncommitted uploads created before `before_ms` (to expire).
    Result<std::vector<std::string>> stale_uploads(std::int64_t before_ms);
    Status delete_upload(const std::string& upload_id);
    // Upload ids whose bytes are still needed (not committed).
    Result<std::vector<std::string>> live_upload_ids();

    // [SECTION] Batches and records
    // The receipt of a committed batch; nullopt when there is none.
    Result<std::optional<std::string>> receipt(const std::string& batch_id);
    // The kiosk that committed `batch_id`; nullopt when none did.
    Result<std::optional<std::string>> batch_owner(const std::string& batch_id);

    // Starts storing batch `batch_id` of `kiosk_id`, uploaded as `upload_id` (see
    // BatchWriter). InvalidArgument when another kiosk committed that batch id;
    // Busy when the write lock stayed taken past the busy timeout.
    Result<std::unique_ptr<BatchWriter>> begin_batch(const std::string& upload_id, const std::string& batch_id,
                                                     const std::string& kiosk_id);

    // Every stored record with its district, in (received, id) order, handed to `each`.
    Status each_record(const std::function<void(const StoredRecord&)>& each);
    Result<std::int64_t> record_count();

    struct Conn;  // opaque: the SQLite connection

private:
    IntakeDb(std::string path, std::unique_ptr<Conn> conn);
    std::string path_;
    std::unique_ptr<Conn> conn_;
    std::mutex mu_;
};

}  // namespace shenbao::intake
