// The commission's database over SQLite (the sqlcipher library the core links,
// used without a key: the intake's file holds what the commission received and
// lives on the commission's own server; protect it with disk encryption there).
//
// [SECTION] On-disk schema (PRAGMA user_version = the last migration applied)
//
// | table    | column        | type    | meaning                                                  |
// |----------|---------------|---------|----------------------------------------------------------|
// | kiosks   | kiosk_id      | TEXT PK | the kiosk's Ed25519 public key, 64 lowercase hex         |
// |          | district      | TEXT    | the district office it stands in (区县), as enrolled     |
// |          | enrolled_ms   | INTEGER | Unix ms of the (last) enrolment                          |
// | uploads  | upload_id     | TEXT PK | 32 lowercase hex, random; the tus resource /files/<id>   |
// |          | kiosk_id      | TEXT    | the enrolled kiosk its Upload-Metadata named             |
// |          | batch_id      | TEXT    | the batch ULID its Upload-Metadata named                 |
// |          | metadata      | TEXT    | the Upload-Metadata header as received (HEAD echoes it)  |
// |          | upload_length | INTEGER | Upload-Length: the whole batch file's size               |
// |          | upload_offset | INTEGER | bytes durable in uploads/<id>.part (fsync'd first)       |
// |          | created_ms    | INTEGER | Unix ms of the creation (uncommitted ones expire)        |
// |          | committed_ms  | INTEGER | Unix ms its batch was committed (or found committed); NULL before |
// | batches  | batch_id      | TEXT PK | the batch ULID                                           |
// |          | kiosk_id      | TEXT    | the kiosk that signed it                                 |
// |          | committed_ms  | INTEGER | Unix ms of the commit                                    |
// |          | receipt       | TEXT    | the signed receipt, byte for byte what every ask returns |
// | records  | id            | TEXT PK | the record's ULID (never stored twice)                   |
// |          | kiosk_id      | TEXT    | the kiosk that sent it                                   |
// |          | batch_id      | TEXT    | the batch it arrived in                                  |
// |          | form_id       | TEXT    | form definition id, e.g. alliance-2022                   |
// |          | form_version  | INTEGER | form definition version                                  |
// |          | content_hash  | TEXT    | sha256 hex of the canonical data (checked on decoding)   |
// |          | submitted_ms  | INTEGER | Unix ms the applicant submitted it at the kiosk, or NULL |
// |          | data          | TEXT    | the canonical JSON data, byte-identical to the kiosk's   |
// |          | received_ms   | INTEGER | Unix ms of the commit that stored it                     |
// | records  | review_decision | TEXT  | the district's final decision: recommend / not-recommend |
// |  (v2)    |               |         | (review.h); NULL when the batch carried no review         |
// |          | review_reason | TEXT    | its comment or reason (NULL with no review)              |
// |          | reviewer      | TEXT    | the district staff member who decided                    |
// |          | review_at_ms  | INTEGER | Unix ms of the decision at the kiosk                     |
//
// Rules: a batch is stored in one BEGIN IMMEDIATE transaction (on a connection of
// its own, open while the batch is decoded: BatchWriter in intake_db.h); a record id
// already stored is never overwritten (same hash: duplicate; other hash:
// conflict, the first copy stays); invalid records are not stored — the receipt
// lists them with the reason, so a corrected resubmission is accepted later.
// WAL, synchronous=FULL, 10 s busy timeout: the CLI (enrol, export) runs while
// the server does. Migrations are forward-only, one transaction each.
//
// [SECTION] Migrations   [SECTION] Opening   [SECTION] Kiosks   [SECTION] Uploads
// [SECTION] Batches and records
#include "intake_db.h"

#include <sqlite3.h>


#include "shenbao/store.h"

namespace shenbao::intake {

// [SECTION] Migrations
namespace {

struct Migration {
    int version;
    const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE kiosks (
  kiosk_id TEXT PRIMARY KEY NOT NULL,
  district TEXT NOT NULL,
  enrolled_ms INTEGER NOT NULL
);
CREATE TABLE uploads (
  upload_id TEXT PRIMARY KEY NOT NULL,
  kiosk_id TEXT NOT NULL REFERENCES kiosks(kiosk_id),
  batch_id TEXT NOT NULL,
  metadata TEXT NOT NULL,
  upload_length INTEGER NOT NULL,
  upload_offset INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  committed_ms INTEGER
);
CREATE INDEX uploads_by_kiosk ON uploads(kiosk_id, committed_ms);
CREATE TABLE batches (
  batch_id TEXT PRIMARY KEY NOT NULL,
  kiosk_id TEXT NOT NULL,
  committed_ms INTEGER NOT NULL,
  receipt TEXT NOT NULL
);
CREATE TABLE records (
  id TEXT PRIMARY KEY NOT NULL,
  kiosk_id TEXT NOT NULL,
  batch_id TEXT NOT NULL REFERENCES batches(batch_id),
  form_id TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  submitted_ms INTEGER,
  data TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
CREATE INDEX records_by_kiosk ON records(kiosk_id);
)sql"},
    {2, R"sql(
ALTER TABLE records ADD COLUMN review_decision TEXT;
ALTER TABLE records ADD COLUMN review_reason TEXT;
ALTER TABLE records ADD COLUMN reviewer TEXT;
ALTER TABLE records ADD COLUMN review_at_ms INTEGER;
)sql"},
};

constexpr int kSchemaVersion = 2;
static_assert(kMigrations[std::size(kMigrations) - 1].version == kSchemaVersion);

ErrorCode code_of(int rc) {
    switch (rc & 0xff) {
        case SQLITE_FULL: return ErrorCode::DiskFull;
        case SQLITE_BUSY: case SQLITE_LOCKED: return ErrorCode::Busy;
        case SQLITE_CORRUPT: return ErrorCode::Corrupt;
        case SQLITE_NOTADB: return ErrorCode::NotAStore;
        case SQLITE_IOERR: case SQLITE_CANTOPEN: case SQLITE_READONLY: return ErrorCode::Io;
        default: return ErrorCode::Internal;
    }
}

std::string hint_of(ErrorCode code) {
    switch (code) {
        case ErrorCode::DiskFull: return " — the disk is full; free space and try again (nothing was half-saved)";
        case ErrorCode::Busy: return " — another program kept the database busy; try again";
        case ErrorCode::Corrupt: return " — the database is damaged; restore it from backup";
        case ErrorCode::NotAStore: return " — this is not an intake database; check --data-dir";
        case ErrorCode::Io: return " — check the disk and the file's permissions";
        default: return "";
    }
}

// A prepared statement, finalized on destruction.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    int prepare_rc() const { return rc_; }
    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Stmt& bind(int i, const std::optional<std::int64_t>& v) {
        if (v) sqlite3_bind_int64(s_, i, *v);
        else sqlite3_bind_null(s_, i);
        return *this;
    }
    int step() { return rc_ == SQLITE_OK ? sqlite3_step(s_) : rc_; }
    void reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    std::string text(int col) const {
        const unsigned char* t = sqlite3_column_text(s_, col);
        return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                 : std::string();
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    std::optional<std::int64_t> opt_int64(int col) const {
        if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
        return sqlite3_column_int64(s_, col);
    }

private:
    sqlite3_stmt* s_ = nullptr;
    int rc_;
};

}  // namespace

struct IntakeDb::Conn {
    sqlite3* handle = nullptr;
    ~Conn() {
        if (handle) sqlite3_close_v2(handle);
    }
};

namespace {

Error db_error(sqlite3* db, const std::string& path, const std::string& what, int rc) {
    ErrorCode code = code_of(rc);
    return Error{code, path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) + hint_of(code)};
}

// Runs `body` inside BEGIN IMMEDIATE … COMMIT; rolls back on any error.
template <typename F>
auto in_transaction(sqlite3* db, const std::string& path, const char* what, F&& body) -> decltype(body()) {
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return db_error(db, path, what, rc);
    auto result = body();
    if (result.ok()) {
        rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) return result;
        Error e = db_error(db, path, what, rc);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return e;
    }
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return result;
}

}  // namespace

int intake_schema_version() { return kSchemaVersion; }

// [SECTION] Opening

IntakeDb::IntakeDb(std::string path, std::unique_ptr<Conn> conn) : path_(std::move(path)), conn_(std::move(conn)) {}
IntakeDb::~IntakeDb() = default;

Result<std::unique_ptr<IntakeDb>> IntakeDb::open(const std::string& path) {
    auto conn = std::make_unique<Conn>();
    int rc = sqlite3_open_v2(path.c_str(), &conn->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) return db_error(conn->handle, path, "cannot open the intake database", rc);
    sqlite3* db = conn->handle;
    sqlite3_busy_timeout(db, 10000);
    // Reading the header first tells "not a database" apart from everything else.
    int version = 0;
    {
        Stmt q(db, "PRAGMA user_version");
        rc = q.step();
        if (rc != SQLITE_ROW) return db_error(db, path, "cannot read the intake database", rc);
        version = static_cast<int>(q.int64(0));
    }
    if (version > kSchemaVersion)
        return Error{ErrorCode::UnsupportedVersion, path + ": written by a newer shenbao-intake (schema " + std::to_string(version) +
                                                        ", this one knows " + std::to_string(kSchemaVersion) + "); run the newer program"};
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
        rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return db_error(db, path, std::string("cannot set ") + pragma, rc);
    }
    for (const Migration& m : kMigrations) {
        if (m.version <= version) continue;
        Status st = in_transaction(db, path, "migrating the schema", [&]() -> Status {
            // Another process may have migrated while we waited for the lock.
            Stmt q(db, "PRAGMA user_version");
            if (q.step() == SQLITE_ROW && q.int64(0) >= m.version) return ok_status();
            if (int r = sqlite3_exec(db, m.sql, nullptr, nullptr, nullptr); r != SQLITE_OK)
                return db_error(db, path, "migration " + std::to_string(m.version), r);
            std::string set = "PRAGMA user_version = " + std::to_string(m.version);
            if (int r = sqlite3_exec(db, set.c_str(), nullptr, nullptr, nullptr); r != SQLITE_OK)
                return db_error(db, path, "migration " + std::to_string(m.version), r);
            return ok_status();
        });
        if (!st.ok()) return st.error();
    }
    return std::unique_ptr<IntakeDb>(new IntakeDb(path, std::move(conn)));
}

// [SECTION] Kiosks

Result<EnrolOutcome> IntakeDb::enrol(const std::string& kiosk_id, const std::string& district, bool move) {
    std::lock_guard lock(mu_);
    sqlite3* db = conn_->handle;
    return in_transaction(db, path_, "enrolling a kiosk", [&]() -> Result<EnrolOutcome> {
        Stmt q(db, "SELECT district FROM kiosks WHERE kiosk_id = ?");
        q.bind(1, kiosk_id);
        int rc = q.step();
        if (rc == SQLITE_ROW) {
            std::string was = q.text(0);
            if (was == district) return EnrolOutcome::AlreadyEnrolled;
            if (!move)
                return Error{ErrorCode::InvalidArgument, "kiosk " + kiosk_id + " is already enrolled in " + was +
                                                             "; to move it to " + district + ", run enrol again with --move"};
            Stmt u(db, "UPDATE kiosks SET district = ?, enrolled_ms = ? WHERE kiosk_id = ?");
            u.bind(1, district).bind(2, now_ms()).bind(3, kiosk_id);
            if (int r = u.step(); r != SQLITE_DONE) return db_error(db, path_, "moving a kiosk", r);
            return EnrolOutcome::Moved;
        }
        if (rc != SQLITE_DONE) return db_error(db, path_, "reading the kiosks", rc);
        Stmt ins(db, "INSERT INTO kiosks(kiosk_id, district, enrolled_ms) VALUES(?,?,?)");
        ins.bind(1, kiosk_id).bind(2, district).bind(3, now_ms());
        if (int r = ins.step(); r != SQLITE_DONE) return db_error(db, path_, "enrolling a kiosk", r);
        return EnrolOutcome::Enrolled;
    });
}

Result<std::optional<Kiosk>> IntakeDb::kiosk(const std::string& kiosk_id) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT kiosk_id, district, enrolled_ms FROM kiosks WHERE kiosk_id = ?");
    q.bind(1, kiosk_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<Kiosk>();
    if (rc != SQLITE_ROW) return db_error(conn_->handle, path_, "reading the kiosks", rc);
    return std::optional<Kiosk>(Kiosk{q.text(0), q.text(1), q.int64(2)});
}

Result<std::vector<DistrictCount>> IntakeDb::districts() {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle,
           "SELECT k.district, COUNT(DISTINCT k.kiosk_id), COUNT(r.id) FROM kiosks k "
           "LEFT JOIN records r ON r.kiosk_id = k.kiosk_id GROUP BY k.district ORDER BY k.district");
    std::vector<DistrictCount> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.int64(1), q.int64(2)});
    if (rc != SQLITE_DONE) return db_error(conn_->handle, path_, "counting districts", rc);
    return out;
}

// [SECTION] Uploads

Status IntakeDb::create_upload(const Upload& u) {
    std::lock_guard lock(mu_);
    sqlite3* db = conn_->handle;
    return in_transaction(db, path_, "creating an upload", [&]() -> Status {
        Stmt ins(db, "INSERT INTO uploads(upload_id, kiosk_id, batch_id, metadata, upload_length, upload_offset, created_ms) "
                     "VALUES(?,?,?,?,?,?,?)");
        ins.bind(1, u.upload_id).bind(2, u.kiosk_id).bind(3, u.batch_id).bind(4, u.metadata).bind(5, u.length)
            .bind(6, u.offset).bind(7, u.created_ms);
        if (int r = ins.step(); r != SQLITE_DONE) return db_error(db, path_, "creating an upload", r);
        return ok_status();
    });
}

Result<std::optional<Upload>> IntakeDb::upload(const std::string& upload_id) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle,
           "SELECT upload_id, kiosk_id, batch_id, metadata, upload_length, upload_offset, created_ms, committed_ms "
           "FROM uploads WHERE upload_id = ?");
    q.bind(1, upload_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<Upload>();
    if (rc != SQLITE_ROW) return db_error(conn_->handle, path_, "reading an upload", rc);
    return std::optional<Upload>(
        Upload{q.text(0), q.text(1), q.text(2), q.text(3), q.int64(4), q.int64(5), q.int64(6), q.opt_int64(7)});
}

Result<std::int64_t> IntakeDb::open_uploads(const std::string& kiosk_id) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT COUNT(*) FROM uploads WHERE kiosk_id = ? AND committed_ms IS NULL");
    q.bind(1, kiosk_id);
    int rc = q.step();
    if (rc != SQLITE_ROW) return db_error(conn_->handle, path_, "counting uploads", rc);
    return q.int64(0);
}

Status IntakeDb::set_offset(const std::string& upload_id, std::int64_t offset) {
    std::lock_guard lock(mu_);
    sqlite3* db = conn_->handle;
    return in_transaction(db, path_, "saving an upload offset", [&]() -> Status {
        Stmt u(db, "UPDATE uploads SET upload_offset = ? WHERE upload_id = ? AND committed_ms IS NULL");
        u.bind(1, offset).bind(2, upload_id);
        if (int r = u.step(); r != SQLITE_DONE) return db_error(db, path_, "saving an upload offset", r);
        return ok_status();
    });
}

Result<std::vector<std::string>> IntakeDb::stale_uploads(std::int64_t before_ms) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT upload_id FROM uploads WHERE committed_ms IS NULL AND created_ms < ?");
    q.bind(1, before_ms);
    std::vector<std::string> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(q.text(0));
    if (rc != SQLITE_DONE) return db_error(conn_->handle, path_, "listing stale uploads", rc);
    return out;
}

Status IntakeDb::delete_upload(const std::string& upload_id) {
    std::lock_guard lock(mu_);
    sqlite3* db = conn_->handle;
    return in_transaction(db, path_, "expiring an upload", [&]() -> Status {
        Stmt d(db, "DELETE FROM uploads WHERE upload_id = ? AND committed_ms IS NULL");
        d.bind(1, upload_id);
        if (int r = d.step(); r != SQLITE_DONE) return db_error(db, path_, "expiring an upload", r);
        return ok_status();
    });
}

Result<std::vector<std::string>> IntakeDb::live_upload_ids() {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT upload_id FROM uploads WHERE committed_ms IS NULL");
    std::vector<std::string> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(q.text(0));
    if (rc != SQLITE_DONE) return db_error(conn_->handle, path_, "listing uploads", rc);
    return out;
}

// [SECTION] Batches and records

Result<std::optional<std::string>> IntakeDb::receipt(const std::string& batch_id) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT receipt FROM batches WHERE batch_id = ?");
    q.bind(1, batch_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return db_error(conn_->handle, path_, "reading a receipt", rc);
    return std::optional<std::string>(q.text(0));
}

Result<std::optional<std::string>> IntakeDb::batch_owner(const std::string& batch_id) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT kiosk_id FROM batches WHERE batch_id = ?");
    q.bind(1, batch_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return db_error(conn_->handle, path_, "reading a batch", rc);
    return std::optional<std::string>(q.text(0));
}

struct BatchWriter::State {
    IntakeDb::Conn conn;  // this batch's own connection: its transaction spans threads and the whole decode
    std::string path, upload_id, batch_id, kiosk_id;
    std::int64_t now = 0;
    bool in_transaction = false;
    bool replay = false;
    std::string stored_receipt;  // on a replay
    Receipt receipt;
    std::unique_ptr<Stmt> find, insert;
};

BatchWriter::BatchWriter(std::unique_ptr<State> state) : s_(std::move(state)) {}

BatchWriter::~BatchWriter() {
    if (!s_) return;
    s_->find.reset();  // statements go before the connection closes
    s_->insert.reset();
    if (s_->in_transaction) sqlite3_exec(s_->conn.handle, "ROLLBACK", nullptr, nullptr, nullptr);
}

bool BatchWriter::replay() const { return s_->replay; }

Result<std::unique_ptr<BatchWriter>> IntakeDb::begin_batch(const std::string& upload_id, const std::string& batch_id,
                                                          const std::string& kiosk_id) {
    auto st = std::make_unique<BatchWriter::State>();
    st->path = path_;
    st->upload_id = upload_id;
    st->batch_id = batch_id;
    st->kiosk_id = kiosk_id;
    st->now = now_ms();
    // The schema and WAL mode are the file's (open() saw to them); these two are per connection.
    int rc = sqlite3_open_v2(path_.c_str(), &st->conn.handle, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3* db = st->conn.handle;
    if (rc != SQLITE_OK) return db_error(db, path_, "cannot open the intake database to store a batch", rc);
    sqlite3_busy_timeout(db, 10000);
    for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
        rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return db_error(db, path_, std::string("cannot set ") + pragma, rc);
    }
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return db_error(db, path_, "storing a batch", rc);
    st->in_transaction = true;
    std::unique_ptr<BatchWriter> w(new BatchWriter(std::move(st)));
    BatchWriter::State& s = *w->s_;
    {
        Stmt q(db, "SELECT kiosk_id, receipt FROM batches WHERE batch_id = ?");
        q.bind(1, batch_id);
        rc = q.step();
        if (rc == SQLITE_ROW) {
            if (q.text(0) != kiosk_id)
                return Error{ErrorCode::InvalidArgument, "batch " + batch_id + " was already committed by another kiosk (" +
                                                             q.text(0).substr(0, 16) + "…); batch ids are never reused"};
            s.replay = true;
            s.stored_receipt = q.text(1);
            return w;
        }
        if (rc != SQLITE_DONE) return db_error(db, path_, "reading batches", rc);
    }
    // The batch row goes first: records reference it. Its receipt is written by finish().
    {
        Stmt ins(db, "INSERT INTO batches(batch_id, kiosk_id, committed_ms, receipt) VALUES(?,?,?,'')");
        ins.bind(1, batch_id).bind(2, kiosk_id).bind(3, s.now);
        if (int r = ins.step(); r != SQLITE_DONE) return db_error(db, path_, "storing a batch", r);
    }
    s.receipt.batch_id = batch_id;
    s.receipt.kiosk_id = kiosk_id;
    s.receipt.received_ms = s.now;
    s.find = std::make_unique<Stmt>(db, "SELECT content_hash, batch_id FROM records WHERE id = ?");
    s.insert = std::make_unique<Stmt>(
        db, "INSERT INTO records(id, kiosk_id, batch_id, form_id, form_version, content_hash, submitted_ms, data, received_ms, "
            "review_decision, review_reason, reviewer, review_at_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (int r = s.find->prepare_rc(); r != SQLITE_OK) return db_error(db, path_, "storing a batch", r);
    if (int r = s.insert->prepare_rc(); r != SQLITE_OK) return db_error(db, path_, "storing a batch", r);
    return w;
}

Status BatchWriter::add(const IncomingRecord& rec) {
    State& s = *s_;
    if (s.replay) return ok_status();
    sqlite3* db = s.conn.handle;
    Stmt& find = *s.find;
    Stmt& ins = *s.insert;
    ReceiptRecord out{rec.id, rec.content_hash, ReceiptOutcome::Accepted, ""};
    find.bind(1, rec.id);
    int rc = find.step();
    if (rc == SQLITE_ROW) {
        std::string had = find.text(0), in_batch = find.text(1);
        if (had == rec.content_hash) {
            out.outcome = ReceiptOutcome::Duplicate;
        } else {
            out.outcome = ReceiptOutcome::Conflict;
            out.reason = make_receipt_reason(
                "record " + rec.id + " was received before in batch " + in_batch + " with content hash " +
                had.substr(0, 12) + "…; this copy differs (" + rec.content_hash.substr(0, 12) +
                "…), so the first copy is kept. To change an application, submit it as a new one. "
                "该申报此前已收到且内容不同，保留先前版本；如需修改请重新申报。");
        }
    } else if (rc != SQLITE_DONE) {
        find.reset();
        return db_error(db, s.path, "reading records", rc);
    } else if (!rec.invalid.empty()) {
        out.outcome = ReceiptOutcome::Invalid;
        out.reason = make_receipt_reason(rec.invalid);
    } else {
        ins.bind(1, rec.id).bind(2, s.kiosk_id).bind(3, s.batch_id).bind(4, rec.form_id)
            .bind(5, std::int64_t{rec.form_version}).bind(6, rec.content_hash).bind(7, rec.submitted_ms)
            .bind(8, rec.data).bind(9, s.now);
        if (rec.review) {
            ins.bind(10, std::string(review_decision_name(rec.review->decision))).bind(11, rec.review->reason)
                .bind(12, rec.review->reviewer).bind(13, rec.review->at_ms);
        }  // else the four stay NULL (reset cleared the bindings)
        int r = ins.step();
        ins.reset();
        if (r != SQLITE_DONE) {
            find.reset();
            return db_error(db, s.path, "storing record " + rec.id, r);
        }
    }
    find.reset();
    s.receipt.records.push_back(std::move(out));
    return ok_status();
}

Result<CommitOutcome> BatchWriter::finish(const std::function<Result<std::string>(const Receipt&)>& sign) {
    State& s = *s_;
    sqlite3* db = s.conn.handle;
    CommitOutcome outcome;
    if (s.replay) {
        outcome = CommitOutcome{s.stored_receipt, true, {}};
    } else {
        auto signed_bytes = sign(s.receipt);
        if (!signed_bytes.ok()) return signed_bytes.error();
        Stmt u(db, "UPDATE batches SET receipt = ? WHERE batch_id = ?");
        u.bind(1, signed_bytes.value()).bind(2, s.batch_id);
        if (int r = u.step(); r != SQLITE_DONE) return db_error(db, s.path, "storing a receipt", r);
        outcome = CommitOutcome{std::move(signed_bytes.value()), false, std::move(s.receipt)};
    }
    {
        Stmt u(db, "UPDATE uploads SET committed_ms = ? WHERE upload_id = ? AND committed_ms IS NULL");
        u.bind(1, s.now).bind(2, s.upload_id);
        if (int r = u.step(); r != SQLITE_DONE) return db_error(db, s.path, "marking the upload committed", r);
    }
    s.find.reset();  // no statement may be pending at COMMIT
    s.insert.reset();
    if (int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); rc != SQLITE_OK)
        return db_error(db, s.path, "storing a batch", rc);  // the destructor rolls back
    s.in_transaction = false;
    return outcome;
}

Status IntakeDb::each_record(const std::function<void(const StoredRecord&)>& each) {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle,
           "SELECT r.id, r.kiosk_id, COALESCE(k.district, ''), r.batch_id, r.form_id, r.form_version, r.content_hash, "
           "r.submitted_ms, r.data, r.received_ms, r.review_decision, r.review_reason, r.reviewer, r.review_at_ms "
           "FROM records r LEFT JOIN kiosks k ON k.kiosk_id = r.kiosk_id "
           "ORDER BY r.received_ms, r.id");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        StoredRecord r{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), static_cast<int>(q.int64(5)),
                       q.text(6), q.opt_int64(7), q.text(8), q.int64(9), std::nullopt};
        if (auto decision = parse_review_decision(q.text(10)); decision && q.opt_int64(13))
            r.review = RecordReview{*decision, q.text(11), q.text(12), *q.opt_int64(13)};
        each(r);
    }
    if (rc != SQLITE_DONE) return db_error(conn_->handle, path_, "reading records", rc);
    return ok_status();
}

Result<std::int64_t> IntakeDb::record_count() {
    std::lock_guard lock(mu_);
    Stmt q(conn_->handle, "SELECT COUNT(*) FROM records");
    int rc = q.step();
    if (rc != SQLITE_ROW) return db_error(conn_->handle, path_, "counting records", rc);
    return q.int64(0);
}

}  // namespace shenbao::intake
