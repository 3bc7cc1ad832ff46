// The encrypted store over SQLCipher.
//
// [SECTION] On-disk schema (PRAGMA user_version = the last migration applied)
//
// | table         | column        | type    | meaning                                            |
// |---------------|---------------|---------|----------------------------------------------------|
// | records       | id            | TEXT PK | ULID, time-ordered                                 |
// |               | form_id       | TEXT    | form definition id, e.g. alliance-2022             |
// |               | form_version  | INTEGER | form definition version                            |
// |               | status        | TEXT    | draft/submitted/queued/synced/purged/returned      |
// |               | created_ms    | INTEGER | Unix ms                                            |
// |               | updated_ms    | INTEGER | Unix ms of the last field save or status change    |
// |               | submitted_ms  | INTEGER | Unix ms of the last submit, NULL before            |
// |               | content_hash  | TEXT    | sha256 hex of canonical data; NULL while editable  |
// | record_fields | record_id     | TEXT    | records.id (PK with field_id, WITHOUT ROWID)       |
// |               | field_id      | TEXT    | top-level field id of the form                     |
// |               | value         | TEXT    | the field's value as JSON (FORMAT.md)              |
// |               | updated_ms    | INTEGER | Unix ms                                            |
// | audit_log     | seq           | INTEGER | 1, 2, 3 … without gaps                             |
// |               | at_ms, actor, record_id, action, detail | | who did what (never field values)   |
// |               | prev_hash     | TEXT    | hash of entry seq-1 (64 zeros for seq 1)           |
// |               | hash          | TEXT    | sha256 over prev_hash and this entry's fields      |
// | settings (v2) | key, value    | TEXT    | kiosk settings and sync status, key-value          |
// | resume_codes  | code          | TEXT PK | short code an applicant resumes with (v3)          |
// |   (v3)        | record_id     | TEXT    | records.id, one code per record                    |
// |               | pin_hash      | TEXT    | Argon2id string (crypto_pwhash_str), never the PIN |
// |               | failures, locked_until_ms | INTEGER | wrong attempts and the lock they caused |
// | outbox_batches| batch_id      | TEXT PK | ULID of a batch the sync agent sealed (v4)         |
// |   (v4)        | state         | TEXT    | sealed/uploading/committed (store.h OutboxState)   |
// |               | file_path     | TEXT    | the sealed batch file, kept until committed        |
// |               | upload_url    | TEXT    | tus upload URL; '' until created                   |
// |               | upload_offset | INTEGER | last offset the server confirmed                   |
// |               | bytes, record_count, created_ms, updated_ms | INTEGER | size, count, Unix ms |
// | batch_records | batch_id      | TEXT    | outbox_batches.batch_id (PK with record_id)        |
// |   (v4)        | record_id     | TEXT    | records.id; WITHOUT ROWID                          |
// |               | position      | INTEGER | order in the batch                                 |
// |               | content_hash  | TEXT    | the hash sealed into the batch                     |
// | quarantine    | record_id     | TEXT PK | a record the commission refused (v4)               |
// |   (v4)        | batch_id      | TEXT    | the batch whose receipt refused it                 |
// |               | result        | TEXT    | conflict / invalid / unsendable (batch_id 'local') |
// |               | reason        | TEXT    | the intake's words, shown on the staff screen      |
// |               | at_ms         | INTEGER | Unix ms                                            |
// | receipts (v4) | batch_id      | TEXT PK | outbox_batches.batch_id; kept after records purge  |
// |               | receipt       | TEXT    | the commission's signed receipt JSON, as received  |
// |               | received_ms   | INTEGER | Unix ms                                            |
// | reviews (v5)  | record_id     | TEXT    | records.id (PK with seq, WITHOUT ROWID)            |
// |               | seq           | INTEGER | 1, 2, 3 … per record, in decision order            |
// |               | decision      | TEXT    | recommend / return / not-recommend (review.h)      |
// |               | comment       | TEXT    | comment or reason ('' for a bare recommend)        |
// |               | reviewer      | TEXT    | the staff member's name                            |
// |               | at_ms         | INTEGER | Unix ms                                            |
// |               | content_hash  | TEXT    | the submitted content the decision was made on     |
// |               | snapshot      | TEXT    | a return's data as JSON (NULL otherwise, and once  |
// |               |               |         | the record is purged); its hash is content_hash    |
//
// A record is in at most one live (sealed/uploading) batch: only submitted
// records are filed, and filing moves them to queued in the same transaction.
// Quarantined records stay queued, outside every live batch, until released.
// Only records with a final review row (recommend / not-recommend) on their
// current content hash are filed (v5); each review row's hash is in its audit entry.
//
// Cipher settings: raw 256-bit key, cipher_page_size 4096 (set on every open;
// SQLCipher 4 needs `PRAGMA cipher_compatibility = 3` as well). WAL,
// synchronous=FULL, every write in BEGIN IMMEDIATE so two processes never
// deadlock on a read-to-write upgrade.
//
// [SECTION] Migrations   [SECTION] Opening   [SECTION] Records   [SECTION] Audit   [SECTION] Review
// [SECTION] Outbox
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <map>
#include <mutex>

#include <sodium.h>
#include <sqlite3.h>

#include "shenbao/store.h"

namespace shenbao {

using nlohmann::json;

// [SECTION] Migrations — forward only, each applied in one transaction.
namespace {

struct Migration {
    int version;
    const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE records (
  id TEXT PRIMARY KEY NOT NULL,
  form_id TEXT NOT NULL,
  form_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  submitted_ms INTEGER,
  content_hash TEXT
);
CREATE TABLE record_fields (
  record_id TEXT NOT NULL REFERENCES records(id),
  field_id TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (record_id, field_id)
) WITHOUT ROWID;
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY NOT NULL,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  record_id TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
)sql"},
    {2, R"sql(
CREATE INDEX records_by_status ON records(status, id);
CREATE INDEX audit_by_record ON audit_log(record_id, seq);
CREATE TABLE settings (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
)sql"},
    {3, R"sql(
CREATE TABLE resume_codes (
  code TEXT PRIMARY KEY NOT NULL,
  record_id TEXT NOT NULL UNIQUE REFERENCES records(id),
  pin_hash TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until_ms INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL
);
)sql"},
    {4, R"sql(
CREATE TABLE outbox_batches (
  batch_id TEXT PRIMARY KEY NOT NULL,
  state TEXT NOT NULL,
  file_path TEXT NOT NULL,
  upload_url TEXT NOT NULL DEFAULT '',
  upload_offset INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX outbox_by_state ON outbox_batches(state, batch_id);
CREATE TABLE batch_records (
  batch_id TEXT NOT NULL REFERENCES outbox_batches(batch_id),
  record_id TEXT NOT NULL REFERENCES records(id),
  position INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  PRIMARY KEY (batch_id, record_id)
) WITHOUT ROWID;
CREATE INDEX batch_records_by_record ON batch_records(record_id);
CREATE TABLE quarantine (
  record_id TEXT PRIMARY KEY NOT NULL REFERENCES records(id),
  batch_id TEXT NOT NULL,
  result TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE receipts (
  batch_id TEXT PRIMARY KEY NOT NULL REFERENCES outbox_batches(batch_id),
  receipt TEXT NOT NULL,
  received_ms INTEGER NOT NULL
);
)sql"},
    {5, R"sql(
CREATE TABLE reviews (
  record_id TEXT NOT NULL REFERENCES records(id),
  seq INTEGER NOT NULL,
  decision TEXT NOT NULL,
  comment TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  snapshot TEXT,
  PRIMARY KEY (record_id, seq)
) WITHOUT ROWID;
)sql"},
};

constexpr int kSchemaVersion = 5;
static_assert(kMigrations[std::size(kMigrations) - 1].version == kSchemaVersion);

const char* kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

std::string sha256_hex(std::string_view data) {
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, out, sizeof out);
    return hex;
}

ErrorCode code_of(int rc) {
    switch (rc & 0xff) {
        case SQLITE_FULL: return ErrorCode::DiskFull;
        case SQLITE_BUSY: case SQLITE_LOCKED: return ErrorCode::Busy;
        case SQLITE_CORRUPT: return ErrorCode::Corrupt;
        case SQLITE_NOTADB: return ErrorCode::WrongKey;
        case SQLITE_IOERR: case SQLITE_CANTOPEN: case SQLITE_READONLY: return ErrorCode::Io;
        default: return ErrorCode::Internal;
    }
}

std::string hint_of(ErrorCode code) {
    switch (code) {
        case ErrorCode::DiskFull: return " — the disk is full; free space and try again (nothing was half-saved)";
        case ErrorCode::Busy: return " — another program kept the store busy; try again";
        case ErrorCode::Corrupt: return " — the store is damaged; restore it from backup";
        case ErrorCode::Io: return " — check the disk and the file's permissions";
        default: return "";
    }
}

}  // namespace

// A prepared statement, reset on destruction.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool prepared() const { return rc_ == SQLITE_OK; }
    int prepare_rc() const { return rc_; }
    Stmt& bind(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); return *this; }
    Stmt& bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
    Stmt& bind_null(int i) { sqlite3_bind_null(s_, i); return *this; }
    int step() { return sqlite3_step(s_); }
    void reset() { sqlite3_reset(s_); sqlite3_clear_bindings(s_); }
    std::string text(int col) const {
        const unsigned char* t = sqlite3_column_text(s_, col);
        return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

private:
    sqlite3* db_;
    sqlite3_stmt* s_ = nullptr;
    int rc_;
};

struct Store::Db {
    sqlite3* handle = nullptr;
    ~Db() { if (handle) sqlite3_close_v2(handle); }

    Error error(const std::string& path, const std::string& what, int rc) const {
        ErrorCode code = code_of(rc);
        return Error{code, path + ": " + what + ": " + sqlite3_errmsg(handle) + hint_of(code)};
    }
    int exec(const char* sql) const { return sqlite3_exec(handle, sql, nullptr, nullptr, nullptr); }
};

namespace {

// Runs `body` inside BEGIN IMMEDIATE … COMMIT; rolls back on any error.
template <typename F>
Status in_transaction(sqlite3* db, const std::string& path, const char* what, F&& body) {
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        ErrorCode code = code_of(rc);
        return Error{code, path + ": " + what + ": " + sqlite3_errmsg(db) + hint_of(code)};
    }
    Status st = body();
    if (st.ok()) {
        rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) return st;
        ErrorCode code = code_of(rc);
        st = Error{code, path + ": " + what + ": " + sqlite3_errmsg(db) + hint_of(code)};
    }
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
}

Error step_error(sqlite3* db, const std::string& path, const char* what, int rc) {
    ErrorCode code = code_of(rc);
    return Error{code, path + ": " + what + ": " + sqlite3_errmsg(db) + hint_of(code)};
}

std::string entry_hash(const std::string& prev, std::int64_t seq, std::int64_t at, const std::string& actor,
                       const std::string& record_id, const std::string& action, const std::string& detail) {
    // Length-prefixed fields, so no value can imitate a separator.
    std::string buf;
    for (const std::string& part : {prev, std::to_string(seq), std::to_string(at), actor, record_id, action, detail})
        buf += std::to_string(part.size()) + ":" + part + ";";
    return sha256_hex(buf);
}

// Appends an audit entry; call inside a transaction.
Status append_audit(sqlite3* db, const std::string& path, const std::string& actor, const std::string& record_id,
                    const std::string& action, const std::string& detail) {
    std::int64_t seq = 1;
    std::string prev = kGenesisHash;
    {
        Stmt last(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
        int rc = last.step();
        if (rc == SQLITE_ROW) { seq = last.int64(0) + 1; prev = last.text(1); }
        else if (rc != SQLITE_DONE) return step_error(db, path, "reading the audit log", rc);
    }
    std::int64_t at = now_ms();
    Stmt ins(db, "INSERT INTO audit_log(seq, at_ms, actor, record_id, action, detail, prev_hash, hash) VALUES(?,?,?,?,?,?,?,?)");
    ins.bind(1, seq).bind(2, at).bind(3, actor).bind(4, record_id).bind(5, action).bind(6, detail).bind(7, prev)
        .bind(8, entry_hash(prev, seq, at, actor, record_id, action, detail));
    int rc = ins.step();
    if (rc != SQLITE_DONE) return step_error(db, path, "writing the audit log", rc);
    return ok_status();
}

// sha256 over one review row (length-prefixed like entry_hash). Its audit entry
// holds it, so an edited or deleted decision breaks verify. The snapshot is not
// in it: it is dropped at purge, and while kept its own hash is content_hash.
std::string review_row_hash(const std::string& record_id, std::int64_t seq, const std::string& decision,
                            const std::string& comment, const std::string& reviewer, std::int64_t at,
                            const std::string& content_hash) {
    std::string buf;
    for (const std::string& part : {record_id, std::to_string(seq), decision, comment, reviewer, std::to_string(at), content_hash})
        buf += std::to_string(part.size()) + ":" + part + ";";
    return sha256_hex(buf);
}

// "This record has a final decision on its current content", for WHERE clauses over `records`.
constexpr const char* kHasFinalReview =
    "EXISTS (SELECT 1 FROM reviews v WHERE v.record_id = records.id AND v.content_hash = records.content_hash "
    "AND v.decision IN ('recommend', 'not-recommend'))";

// The final decision on `content_hash` of a record, if any.
Result<std::optional<RecordReview>> final_review(sqlite3* db, const std::string& path, const std::string& record_id,
                                                 const std::string& content_hash) {
    if (content_hash.empty()) return std::optional<RecordReview>();
    Stmt q(db, "SELECT decision, comment, reviewer, at_ms FROM reviews WHERE record_id = ? AND content_hash = ? "
               "AND decision IN ('recommend', 'not-recommend') ORDER BY seq DESC LIMIT 1");
    q.bind(1, record_id).bind(2, content_hash);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<RecordReview>();
    if (rc != SQLITE_ROW) return step_error(db, path, "reading a review decision", rc);
    auto decision = parse_review_decision(q.text(0));
    if (!decision) return Error{ErrorCode::Corrupt, path + ": record " + record_id + " has a review with unknown decision '" + q.text(0) + "'"};
    return std::optional<RecordReview>(RecordReview{*decision, q.text(1), q.text(2), q.int64(3)});
}

RecordMeta meta_from(const Stmt& s) {
    RecordMeta m;
    m.id = s.text(0);
    m.form_id = s.text(1);
    m.form_version = static_cast<int>(s.int64(2));
    m.status = parse_status(s.text(3)).value_or(RecordStatus::Draft);
    m.created_ms = s.int64(4);
    m.updated_ms = s.int64(5);
    if (!s.is_null(6)) m.submitted_ms = s.int64(6);
    m.content_hash = s.text(7);
    return m;
}

constexpr const char* kMetaColumns = "id, form_id, form_version, status, created_ms, updated_ms, submitted_ms, content_hash";

bool is_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Why a file refused the key: a plain SQLite file or a runt is not a store at all.
Error refusal(const std::string& path) {
    char header[16] = {};
    std::int64_t size = 0;
    if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        ssize_t n = ::read(fd, header, sizeof header);
        struct stat st {};
        if (::fstat(fd, &st) == 0) size = st.st_size;
        ::close(fd);
        if (n == 16 && std::memcmp(header, "SQLite format 3", 16) == 0)
            return Error{ErrorCode::NotAStore, path + ": is an unencrypted SQLite database, not a Shenbao store; "
                                                      "check the --store path"};
    }
    if (size < 4096 || size % 1024 != 0)
        return Error{ErrorCode::NotAStore, path + ": is not a Shenbao store (size " + std::to_string(size) +
                                                  " bytes is no whole number of pages); check the --store path"};
    return Error{ErrorCode::WrongKey, path + ": this key does not open the store (wrong key file, or the file's "
                                             "first page is damaged); use the key file made with this store"};
}

}  // namespace

// [SECTION] Opening

Store::Store(std::string path, std::unique_ptr<Db> db) : path_(std::move(path)), db_(std::move(db)) {}
Store::~Store() = default;

int store_schema_version() { return kSchemaVersion; }

static Result<std::unique_ptr<Store::Db>> open_db(const std::string& path, const StoreKey& key, const StoreOptions& opt,
                                                  bool create) {
    auto db = std::make_unique<Store::Db>();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &db->handle, flags, nullptr);
    if (rc != SQLITE_OK) return db->error(path, "cannot open the store file", rc);
    sqlite3_busy_timeout(db->handle, opt.busy_timeout_ms);
    if (!opt.unencrypted_for_benchmark) {
        std::string pragma = "PRAGMA key = " + key.pragma_literal();
        rc = db->exec(pragma.c_str());
        sodium_memzero(pragma.data(), pragma.size());
        if (rc != SQLITE_OK) return db->error(path, "setting the key failed", rc);
        rc = db->exec("PRAGMA cipher_page_size = 4096");
        if (rc != SQLITE_OK) return db->error(path, "setting the cipher page size failed", rc);
    }
    return db;
}

static Status configure(Store::Db& db, const std::string& path, int cache_kib = StoreOptions{}.cache_kib) {
    // journal_mode answers with a row; the others with nothing.
    std::string cache = "PRAGMA cache_size = -" + std::to_string(cache_kib > 0 ? cache_kib : StoreOptions{}.cache_kib);
    for (const char* sql : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
                            cache.c_str()}) {
        int rc = db.exec(sql);
        if (rc != SQLITE_OK) return db.error(path, std::string("configuring the store (") + sql + ")", rc);
    }
    return ok_status();
}

static Status migrate(Store::Db& db, const std::string& path, int target) {
    for (const Migration& m : kMigrations) {
        if (m.version > target) break;
        Stmt uv(db.handle, "PRAGMA user_version");
        if (uv.step() != SQLITE_ROW) return db.error(path, "reading the schema version", sqlite3_errcode(db.handle));
        if (uv.int64(0) >= m.version) continue;
        Status st = in_transaction(db.handle, path, "migrating the store", [&]() -> Status {
            // Re-read inside the write lock: another process may have just migrated.
            Stmt again(db.handle, "PRAGMA user_version");
            if (again.step() != SQLITE_ROW) return db.error(path, "reading the schema version", sqlite3_errcode(db.handle));
            if (again.int64(0) >= m.version) return ok_status();
            int rc = db.exec(m.sql);
            if (rc != SQLITE_OK) return db.error(path, "migration " + std::to_string(m.version) + " failed", rc);
            std::string set = "PRAGMA user_version = " + std::to_string(m.version);
            rc = db.exec(set.c_str());
            if (rc != SQLITE_OK) return db.error(path, "recording migration " + std::to_string(m.version), rc);
            return append_audit(db.handle, path, "store", "", "migrate", "user_version=" + std::to_string(m.version));
        });
        SHENBAO_TRY(st);
    }
    return ok_status();
}

Result<std::unique_ptr<Store>> Store::create(const std::string& path, const StoreKey& key, StoreOptions options) {
    if (::access(path.c_str(), F_OK) == 0)
        return Error{ErrorCode::InvalidArgument, path + ": already exists; refusing to create a store over it"};
    // Made here with mode 0600 so the store (and the -wal/-shm SQLite copies its mode to) is private.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error{ErrorCode::Io, path + ": cannot create the store file: " + std::strerror(errno)};
    ::close(fd);
    auto db = open_db(path, key, options, true);
    if (!db.ok()) return db.error();
    Status st = configure(**db, path, options.cache_kib);
    if (st.ok()) st = migrate(**db, path, options.migrate_to ? options.migrate_to : kSchemaVersion);
    if (!st.ok()) {
        db->reset();
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
        return st.error();
    }
    return std::unique_ptr<Store>(new Store(path, std::move(db.value())));
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, const StoreKey& key, StoreOptions options) {
    if (!is_file(path)) return Error{ErrorCode::Io, path + ": no such store file; create one with `shenbao-store init`"};
    // SQLite would take an empty file for a new database and write into it.
    if (struct stat st {}; ::stat(path.c_str(), &st) == 0 && st.st_size == 0)
        return Error{ErrorCode::NotAStore, path + ": is empty, not a Shenbao store (a first run may have been interrupted); "
                                                  "move it aside to start a new store"};
    auto dbr = open_db(path, key, options, false);
    if (!dbr.ok()) return dbr.error();
    Db& db = **dbr;
    // Read before anything writes: a wrong key or a foreign file leaves no trace.
    {
        Stmt probe(db.handle, "SELECT count(*) FROM sqlite_master");
        int rc = probe.prepared() ? probe.step() : probe.prepare_rc();
        if (rc != SQLITE_ROW) {
            if ((rc & 0xff) == SQLITE_NOTADB) return refusal(path);
            if ((rc & 0xff) == SQLITE_CORRUPT)
                return Error{ErrorCode::Corrupt, path + ": the store is damaged (" + sqlite3_errmsg(db.handle) + "); restore it from backup"};
            return db.error(path, "cannot read the store", rc);
        }
    }
    {
        Stmt check(db.handle, "PRAGMA quick_check");
        int rc = check.prepared() ? check.step() : check.prepare_rc();
        if (rc != SQLITE_ROW || check.text(0) != "ok") {
            std::string why = rc == SQLITE_ROW ? check.text(0) : sqlite3_errmsg(db.handle);
            return Error{ErrorCode::Corrupt, path + ": the store failed its integrity check (" + why + "); restore it from backup"};
        }
    }
    {
        Stmt uv(db.handle, "PRAGMA user_version");
        if (uv.step() != SQLITE_ROW) return db.error(path, "reading the schema version", sqlite3_errcode(db.handle));
        if (uv.int64(0) > kSchemaVersion)
            return Error{ErrorCode::UnsupportedVersion, path + ": made by a newer Shenbao (schema " + std::to_string(uv.int64(0)) +
                                                            ", this program knows up to " + std::to_string(kSchemaVersion) + "); update this program"};
    }
    SHENBAO_TRY(configure(db, path, options.cache_kib));
    SHENBAO_TRY(migrate(db, path, options.migrate_to ? options.migrate_to : kSchemaVersion));
    return std::unique_ptr<Store>(new Store(path, std::move(dbr.value())));
}

Result<int> Store::schema_version() {
    Stmt uv(db_->handle, "PRAGMA user_version");
    if (uv.step() != SQLITE_ROW) return db_->error(path_, "reading the schema version", sqlite3_errcode(db_->handle));
    return static_cast<int>(uv.int64(0));
}

// [SECTION] Records

const char* status_name(RecordStatus s) {
    switch (s) {
        case RecordStatus::Draft: return "draft";
        case RecordStatus::Submitted: return "submitted";
        case RecordStatus::Queued: return "queued";
        case RecordStatus::Synced: return "synced";
        case RecordStatus::Purged: return "purged";
        case RecordStatus::Returned: return "returned";
    }
    return "?";
}

std::optional<RecordStatus> parse_status(std::string_view name) {
    for (RecordStatus s : {RecordStatus::Draft, RecordStatus::Submitted, RecordStatus::Queued, RecordStatus::Synced,
                           RecordStatus::Purged, RecordStatus::Returned})
        if (name == status_name(s)) return s;
    return std::nullopt;
}

bool transition_allowed(RecordStatus from, RecordStatus to) {
    using S = RecordStatus;
    switch (from) {
        case S::Draft: return to == S::Submitted || to == S::Purged;
        case S::Submitted: return to == S::Queued || to == S::Returned;
        case S::Returned: return to == S::Submitted || to == S::Purged;
        case S::Queued: return to == S::Synced || to == S::Submitted;
        case S::Synced: return to == S::Purged;
        case S::Purged: return false;
    }
    return false;
}

static bool editable(RecordStatus s) { return s == RecordStatus::Draft || s == RecordStatus::Returned; }

Result<RecordMeta> Store::create_record(const std::string& form_id, int form_version, const std::string& actor) {
    RecordMeta m;
    m.id = new_ulid();
    m.form_id = form_id;
    m.form_version = form_version;
    m.created_ms = m.updated_ms = now_ms();
    Status st = in_transaction(db_->handle, path_, "creating a record", [&]() -> Status {
        Stmt ins(db_->handle, "INSERT INTO records(id, form_id, form_version, status, created_ms, updated_ms) VALUES(?,?,?,?,?,?)");
        ins.bind(1, m.id).bind(2, form_id).bind(3, std::int64_t{form_version}).bind(4, std::string("draft"))
            .bind(5, m.created_ms).bind(6, m.updated_ms);
        if (int rc = ins.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "creating a record", rc);
        return append_audit(db_->handle, path_, actor, m.id, "create", form_id + "@" + std::to_string(form_version));
    });
    if (!st.ok()) return st.error();
    return m;
}

// Deletes a purged record's field values and the data snapshots its returns kept.
static Status purge_fields_in_tx(sqlite3* db, const std::string& path, const std::string& record_id) {
    for (const char* sql : {"DELETE FROM record_fields WHERE record_id = ?", "UPDATE reviews SET snapshot = NULL WHERE record_id = ?"}) {
        Stmt del(db, sql);
        del.bind(1, record_id);
        if (int rc = del.step(); rc != SQLITE_DONE) return step_error(db, path, "purging a record", rc);
    }
    return ok_status();
}

static Result<RecordStatus> status_in_tx(sqlite3* db, const std::string& path, const std::string& id) {
    Stmt q(db, "SELECT status FROM records WHERE id = ?");
    q.bind(1, id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return Error{ErrorCode::NotFound, path + ": no record " + id};
    if (rc != SQLITE_ROW) return step_error(db, path, "reading a record", rc);
    return parse_status(q.text(0)).value_or(RecordStatus::Draft);
}

Status Store::save_fields(const std::string& record_id, const json& values) {
    if (!values.is_object()) return Error{ErrorCode::InvalidArgument, "save_fields expects an object of field values"};
    return in_transaction(db_->handle, path_, "saving a field", [&]() -> Status {
        auto status = status_in_tx(db_->handle, path_, record_id);
        if (!status.ok()) return status.error();
        if (!editable(*status))
            return Error{ErrorCode::InvalidTransition, path_ + ": record " + record_id + " is " + status_name(*status) +
                                                           " and can no longer be edited"};
        std::int64_t now = now_ms();
        Stmt put(db_->handle, "INSERT OR REPLACE INTO record_fields(record_id, field_id, value, updated_ms) VALUES(?,?,?,?)");
        for (auto it = values.begin(); it != values.end(); ++it) {
            put.reset();
            put.bind(1, record_id).bind(2, it.key()).bind(3, it.value().dump()).bind(4, now);
            if (int rc = put.step(); rc != SQLITE_DONE)
                return step_error(db_->handle, path_, ("saving field " + it.key()).c_str(), rc);
        }
        Stmt touch(db_->handle, "UPDATE records SET updated_ms = ? WHERE id = ?");
        touch.bind(1, now).bind(2, record_id);
        if (int rc = touch.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "saving a field", rc);
        return ok_status();
    });
}

Status Store::save_field(const std::string& record_id, const std::string& field_id, const json& value) {
    return save_fields(record_id, json::object({{field_id, value}}));
}

static Result<json> load_data(sqlite3* db, const std::string& path, const std::string& id) {
    json data = json::object();
    Stmt q(db, "SELECT field_id, value FROM record_fields WHERE record_id = ? ORDER BY field_id");
    q.bind(1, id);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        try {
            data[q.text(0)] = json::parse(q.text(1));
        } catch (const json::exception&) {
            return Error{ErrorCode::Corrupt, path + ": record " + id + " field " + q.text(0) + " holds invalid JSON"};
        }
    }
    if (rc != SQLITE_DONE) return step_error(db, path, "reading record fields", rc);
    return data;
}

Result<Record> Store::get(const std::string& record_id) {
    // One read transaction, so meta and fields are from the same moment.
    if (int rc = db_->exec("BEGIN"); rc != SQLITE_OK) return db_->error(path_, "reading a record", rc);
    struct End { sqlite3* db; ~End() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); } } end{db_->handle};
    Record r;
    {
        Stmt q(db_->handle, (std::string("SELECT ") + kMetaColumns + " FROM records WHERE id = ?").c_str());
        q.bind(1, record_id);
        int rc = q.step();
        if (rc == SQLITE_DONE) return Error{ErrorCode::NotFound, path_ + ": no record " + record_id};
        if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading a record", rc);
        r.meta = meta_from(q);
    }
    auto data = load_data(db_->handle, path_, record_id);
    if (!data.ok()) return data.error();
    r.data = std::move(*data);
    auto review = final_review(db_->handle, path_, record_id, r.meta.content_hash);
    if (!review.ok()) return review.error();
    r.review = std::move(*review);
    return r;
}

Result<std::vector<RecordMeta>> Store::list(std::optional<RecordStatus> status, std::size_t limit) {
    std::string sql = std::string("SELECT ") + kMetaColumns + " FROM records" + (status ? " WHERE status = ?" : "") +
                      " ORDER BY id" + (limit ? " LIMIT " + std::to_string(limit) : "");
    Stmt q(db_->handle, sql.c_str());
    if (status) q.bind(1, std::string(status_name(*status)));
    std::vector<RecordMeta> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(meta_from(q));
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "listing records", rc);
    return out;
}

Result<std::int64_t> Store::count(std::optional<RecordStatus> status) {
    Stmt q(db_->handle, status ? "SELECT count(*) FROM records WHERE status = ?" : "SELECT count(*) FROM records");
    if (status) q.bind(1, std::string(status_name(*status)));
    int rc = q.step();
    if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "counting records", rc);
    return q.int64(0);
}

Status Store::set_status(const std::string& record_id, RecordStatus to, const std::string& actor, const std::string& detail) {
    return in_transaction(db_->handle, path_, "changing a record's status", [&]() -> Status {
        auto from = status_in_tx(db_->handle, path_, record_id);
        if (!from.ok()) return from.error();
        if (!transition_allowed(*from, to))
            return Error{ErrorCode::InvalidTransition, path_ + ": record " + record_id + " cannot go from " +
                                                           status_name(*from) + " to " + status_name(to)};
        if (to == RecordStatus::Returned) {
            // A final decision is final: returning would let the old decision ride on a resubmission.
            Stmt q(db_->handle, "SELECT content_hash FROM records WHERE id = ?");
            q.bind(1, record_id);
            if (int rc = q.step(); rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading a record", rc);
            auto decided = final_review(db_->handle, path_, record_id, q.text(0));
            if (!decided.ok()) return decided.error();
            if (*decided)
                return Error{ErrorCode::InvalidTransition, path_ + ": record " + record_id + " was already decided (" +
                                                               review_decision_name((*decided)->decision) + "); it cannot be returned"};
        }
        std::int64_t now = now_ms();
        std::string audit_detail = detail;
        if (to == RecordStatus::Submitted) {
            // Freeze: the content hash is what the commission will see.
            auto data = load_data(db_->handle, path_, record_id);
            if (!data.ok()) return data.error();
            std::string hash = content_hash_of(*data);
            Stmt u(db_->handle, "UPDATE records SET status = 'submitted', content_hash = ?, submitted_ms = ?, updated_ms = ? WHERE id = ?");
            u.bind(1, hash).bind(2, now).bind(3, now).bind(4, record_id);
            if (int rc = u.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "submitting a record", rc);
            audit_detail = "content_hash=" + hash + (detail.empty() ? "" : "; " + detail);
        } else {
            Stmt u(db_->handle, to == RecordStatus::Returned
                                    ? "UPDATE records SET status = ?, content_hash = NULL, updated_ms = ? WHERE id = ?"
                                    : "UPDATE records SET status = ?, updated_ms = ? WHERE id = ?");
            u.bind(1, std::string(status_name(to))).bind(2, now).bind(3, record_id);
            if (int rc = u.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "changing a record's status", rc);
            if (to == RecordStatus::Purged) SHENBAO_TRY(purge_fields_in_tx(db_->handle, path_, record_id));
        }
        return append_audit(db_->handle, path_, actor, record_id, std::string("status:") + status_name(to), audit_detail);
    });
}

// [SECTION] Audit

Status Store::audit(const std::string& actor, const std::string& record_id, const std::string& action, const std::string& detail) {
    return in_transaction(db_->handle, path_, "writing the audit log",
                          [&]() { return append_audit(db_->handle, path_, actor, record_id, action, detail); });
}

Result<std::vector<AuditEntry>> Store::audit_log(const std::string& record_id) {
    Stmt q(db_->handle, record_id.empty()
                            ? "SELECT seq, at_ms, actor, record_id, action, detail, prev_hash, hash FROM audit_log ORDER BY seq"
                            : "SELECT seq, at_ms, actor, record_id, action, detail, prev_hash, hash FROM audit_log WHERE record_id = ? ORDER BY seq");
    if (!record_id.empty()) q.bind(1, record_id);
    std::vector<AuditEntry> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back({q.int64(0), q.int64(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6), q.text(7)});
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "reading the audit log", rc);
    return out;
}

// The value of `key` in an audit detail written as "k1=v1; k2=v2"; empty when absent.
static std::string detail_value(const std::string& detail, const std::string& key) {
    std::size_t at = 0;
    while (at < detail.size()) {
        std::size_t end = detail.find("; ", at);
        std::string part = detail.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (part.rfind(key + "=", 0) == 0) return part.substr(key.size() + 1);
        if (end == std::string::npos) break;
        at = end + 2;
    }
    return "";
}

// Every review row must match the hash its audit entry holds, and every audited
// decision must still have its row; a kept snapshot must be the reviewed content.
static Status verify_reviews(sqlite3* db, const std::string& path,
                             std::map<std::pair<std::string, std::string>, std::string> audited,
                             std::vector<std::string>& problems) {
    Stmt q(db, "SELECT record_id, seq, decision, comment, reviewer, at_ms, content_hash, snapshot FROM reviews ORDER BY record_id, seq");
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        std::string id = q.text(0), seq = std::to_string(q.int64(1));
        std::string what = "review " + seq + " of record " + id;
        auto it = audited.find({id, seq});
        if (it == audited.end()) {
            problems.push_back(what + " has no audit entry");
            continue;
        }
        if (review_row_hash(id, q.int64(1), q.text(2), q.text(3), q.text(4), q.int64(5), q.text(6)) != it->second)
            problems.push_back(what + " was altered after it was recorded (decision, comment, reviewer or time)");
        if (!q.is_null(7)) {
            json snap = json::parse(q.text(7), nullptr, false);
            if (snap.is_discarded() || content_hash_of(snap) != q.text(6))
                problems.push_back(what + ": its snapshot of the returned data was altered");
        }
        audited.erase(it);
    }
    if (rc != SQLITE_DONE) return step_error(db, path, "verifying reviews", rc);
    for (const auto& [key, hash] : audited)
        problems.push_back("review " + key.second + " of record " + key.first + " is in the audit log but was deleted");
    return ok_status();
}

Result<VerifyReport> Store::verify() {
    VerifyReport rep;
    if (int rc = db_->exec("BEGIN"); rc != SQLITE_OK) return db_->error(path_, "verifying", rc);
    struct End { sqlite3* db; ~End() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); } } end{db_->handle};
    auto log = audit_log();
    if (!log.ok()) return log.error();
    std::string prev = kGenesisHash;
    std::map<std::string, std::string> last_status;  // record -> status its last audit entry set
    std::map<std::string, std::string> last_hash;    // record -> content hash at its last submit
    std::map<std::pair<std::string, std::string>, std::string> audited_reviews;  // (record, seq) -> review_sha256
    for (const AuditEntry& e : *log) {
        ++rep.entries;
        if (e.seq != rep.entries) rep.problems.push_back("audit entry " + std::to_string(rep.entries) + " is missing (next is " + std::to_string(e.seq) + ")");
        if (e.prev_hash != prev) rep.problems.push_back("audit entry " + std::to_string(e.seq) + " does not follow the one before it");
        if (entry_hash(e.prev_hash, e.seq, e.at_ms, e.actor, e.record_id, e.action, e.detail) != e.hash)
            rep.problems.push_back("audit entry " + std::to_string(e.seq) + " was altered");
        prev = e.hash;
        if (e.action == "create") last_status[e.record_id] = "draft";
        if (e.action.rfind("status:", 0) == 0) last_status[e.record_id] = e.action.substr(7);
        if (e.action == "status:submitted" && e.detail.rfind("content_hash=", 0) == 0)
            last_hash[e.record_id] = e.detail.substr(13, 64);
        if (e.action.rfind("review:", 0) == 0) {
            std::string seq = detail_value(e.detail, "seq"), hash = detail_value(e.detail, "review_sha256");
            audited_reviews[{e.record_id, seq}] = hash;
        }
    }
    SHENBAO_TRY(verify_reviews(db_->handle, path_, audited_reviews, rep.problems));
    auto metas = list();
    if (!metas.ok()) return metas.error();
    for (const RecordMeta& m : *metas) {
        ++rep.records_checked;
        auto it = last_status.find(m.id);
        if (it == last_status.end()) { rep.problems.push_back("record " + m.id + " has no audit history"); continue; }
        if (it->second != status_name(m.status))
            rep.problems.push_back("record " + m.id + " is " + status_name(m.status) + " but its audit history says " + it->second);
        if (m.content_hash.empty()) continue;
        if (last_hash[m.id] != m.content_hash)
            rep.problems.push_back("record " + m.id + " content hash differs from the one audited at submit");
        if (m.status == RecordStatus::Purged) continue;
        auto data = load_data(db_->handle, path_, m.id);
        if (!data.ok()) { rep.problems.push_back(data.error().message); continue; }
        if (content_hash_of(*data) != m.content_hash) rep.problems.push_back("record " + m.id + " content was changed after submit");
    }
    return rep;
}

Status Store::rekey(const StoreKey& new_key) {
    // SQLCipher cannot rekey a WAL database: leave WAL (needs no other connection), rekey, return to WAL.
    int rc = db_->exec("PRAGMA journal_mode = DELETE");
    std::string mode;
    {
        Stmt q(db_->handle, "PRAGMA journal_mode");
        if (q.step() == SQLITE_ROW) mode = q.text(0);
    }
    if (rc != SQLITE_OK || mode != "delete")
        return Error{ErrorCode::Busy, path_ + ": cannot rekey while another program has the store open; stop the kiosk and the sync agent first"};
    std::string pragma = "PRAGMA rekey = " + new_key.pragma_literal();
    rc = db_->exec(pragma.c_str());
    sodium_memzero(pragma.data(), pragma.size());
    if (rc != SQLITE_OK) return db_->error(path_, "rekey failed", rc);
    SHENBAO_TRY(configure(*db_, path_));
    return audit("cli", "", "rekey", "store re-encrypted under a new key");
}

// [SECTION] Review

const char* review_queue_name(ReviewQueue queue) {
    switch (queue) {
        case ReviewQueue::Awaiting: return "awaiting";
        case ReviewQueue::ReadyToSend: return "ready";
        case ReviewQueue::Recommended: return "recommended";
        case ReviewQueue::NotRecommended: return "not-recommended";
    }
    return "?";
}

std::optional<ReviewQueue> parse_review_queue(std::string_view name) {
    for (ReviewQueue q : {ReviewQueue::Awaiting, ReviewQueue::ReadyToSend, ReviewQueue::Recommended, ReviewQueue::NotRecommended})
        if (name == review_queue_name(q)) return q;
    return std::nullopt;
}

Result<ReviewEntry> Store::review(const std::string& record_id, ReviewDecision decision, const std::string& reviewer,
                                  const std::string& comment) {
    if (auto problem = review_input_problem(decision, reviewer, comment))
        return Error{ErrorCode::InvalidArgument, "review of record " + record_id + ": " + *problem};
    ReviewEntry entry;
    Status st = in_transaction(db_->handle, path_, "recording a review decision", [&]() -> Status {
        auto status = status_in_tx(db_->handle, path_, record_id);
        if (!status.ok()) return status.error();
        if (*status != RecordStatus::Submitted)
            return Error{ErrorCode::InvalidTransition, path_ + ": record " + record_id + " is " + status_name(*status) +
                                                           "; only a submitted record awaiting review can be decided"};
        std::string hash;
        {
            Stmt q(db_->handle, "SELECT content_hash FROM records WHERE id = ?");
            q.bind(1, record_id);
            if (int rc = q.step(); rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading a record", rc);
            hash = q.text(0);
        }
        auto decided = final_review(db_->handle, path_, record_id, hash);
        if (!decided.ok()) return decided.error();
        if (*decided)
            return Error{ErrorCode::InvalidTransition, path_ + ": record " + record_id + " was already decided (" +
                                                           review_decision_name((*decided)->decision) + " by " + (*decided)->reviewer +
                                                           "); a final decision cannot be changed"};
        std::int64_t seq = 1;
        {
            Stmt q(db_->handle, "SELECT COALESCE(MAX(seq), 0) + 1 FROM reviews WHERE record_id = ?");
            q.bind(1, record_id);
            if (int rc = q.step(); rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading reviews", rc);
            seq = q.int64(0);
        }
        std::int64_t now = now_ms();
        entry = ReviewEntry{seq, RecordReview{decision, comment, reviewer, now}, hash, std::nullopt};
        Stmt ins(db_->handle, "INSERT INTO reviews(record_id, seq, decision, comment, reviewer, at_ms, content_hash, snapshot) "
                              "VALUES(?,?,?,?,?,?,?,?)");
        const std::string name = review_decision_name(decision);
        ins.bind(1, record_id).bind(2, seq).bind(3, name).bind(4, comment).bind(5, reviewer).bind(6, now).bind(7, hash);
        if (decision == ReviewDecision::Return) {
            // The data as returned: after the resubmission the reviewer sees what changed.
            auto data = load_data(db_->handle, path_, record_id);
            if (!data.ok()) return data.error();
            entry.snapshot = *data;
            ins.bind(8, data->dump());
        } else {
            ins.bind_null(8);
        }
        if (int rc = ins.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "recording a review decision", rc);
        const std::string actor = "staff:" + reviewer;
        SHENBAO_TRY(append_audit(db_->handle, path_, actor, record_id, "review:" + name,
                                 "seq=" + std::to_string(seq) + "; content_hash=" + hash + "; review_sha256=" +
                                     review_row_hash(record_id, seq, name, comment, reviewer, now, hash)));
        if (decision != ReviewDecision::Return) return ok_status();
        Stmt u(db_->handle, "UPDATE records SET status = 'returned', content_hash = NULL, updated_ms = ? WHERE id = ? AND status = 'submitted'");
        u.bind(1, now).bind(2, record_id);
        if (int rc = u.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "returning a record", rc);
        // The comment stays in the status entry too: the kiosk shows it when the applicant resumes.
        return append_audit(db_->handle, path_, actor, record_id, "status:returned", comment);
    });
    if (!st.ok()) return st.error();
    return entry;
}

Result<std::vector<ReviewEntry>> Store::reviews(const std::string& record_id) {
    Stmt q(db_->handle, "SELECT seq, decision, comment, reviewer, at_ms, content_hash, snapshot FROM reviews "
                        "WHERE record_id = ? ORDER BY seq");
    q.bind(1, record_id);
    std::vector<ReviewEntry> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        auto decision = parse_review_decision(q.text(1));
        if (!decision) return Error{ErrorCode::Corrupt, path_ + ": record " + record_id + " has a review with unknown decision '" + q.text(1) + "'"};
        ReviewEntry e{q.int64(0), RecordReview{*decision, q.text(2), q.text(3), q.int64(4)}, q.text(5), std::nullopt};
        if (!q.is_null(6)) {
            json snap = json::parse(q.text(6), nullptr, false);
            if (snap.is_discarded()) return Error{ErrorCode::Corrupt, path_ + ": record " + record_id + " review " + std::to_string(e.seq) + " holds an invalid snapshot"};
            e.snapshot = std::move(snap);
        }
        out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "reading reviews", rc);
    return out;
}

// The WHERE clause that selects a review queue's records.
static std::string review_queue_where(ReviewQueue queue) {
    switch (queue) {
        case ReviewQueue::Awaiting: return "status = 'submitted' AND NOT " + std::string(kHasFinalReview);
        case ReviewQueue::ReadyToSend: return "status = 'submitted' AND " + std::string(kHasFinalReview);
        case ReviewQueue::Recommended:
        case ReviewQueue::NotRecommended:
            return std::string("EXISTS (SELECT 1 FROM reviews v WHERE v.record_id = records.id AND v.content_hash = records.content_hash "
                               "AND v.decision = '") +
                   (queue == ReviewQueue::Recommended ? "recommend" : "not-recommend") + "')";
    }
    return "0";
}

Result<std::vector<RecordMeta>> Store::list_review(ReviewQueue queue, std::size_t limit) {
    std::string sql = std::string("SELECT ") + kMetaColumns + " FROM records WHERE " + review_queue_where(queue) + " ORDER BY id" +
                      (limit ? " LIMIT " + std::to_string(limit) : "");
    Stmt q(db_->handle, sql.c_str());
    std::vector<RecordMeta> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(meta_from(q));
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "listing records by review", rc);
    return out;
}

Result<std::int64_t> Store::count_review(ReviewQueue queue) {
    Stmt q(db_->handle, ("SELECT count(*) FROM records WHERE " + review_queue_where(queue)).c_str());
    int rc = q.step();
    if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "counting records by review", rc);
    return q.int64(0);
}

Result<std::optional<std::vector<FieldChange>>> Store::changes_since_return(const std::string& record_id) {
    auto history = reviews(record_id);
    if (!history.ok()) return history.error();
    for (auto it = history->rbegin(); it != history->rend(); ++it) {
        if (it->review.decision != ReviewDecision::Return) continue;
        if (!it->snapshot) return std::optional<std::vector<FieldChange>>();  // purged
        auto now = get(record_id);
        if (!now.ok()) return now.error();
        return std::optional<std::vector<FieldChange>>(changed_fields(*it->snapshot, now->data));
    }
    return std::optional<std::vector<FieldChange>>();
}

// [SECTION] Settings and resume codes

Status Store::set_setting(const std::string& key, const std::string& value) {
    return in_transaction(db_->handle, path_, "saving a setting", [&]() -> Status {
        Stmt put(db_->handle, "INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)");
        put.bind(1, key).bind(2, value);
        if (int rc = put.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "saving a setting", rc);
        return ok_status();
    });
}

Result<std::optional<std::string>> Store::setting(const std::string& key) {
    Stmt q(db_->handle, "SELECT value FROM settings WHERE key = ?");
    q.bind(1, key);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading a setting", rc);
    return std::optional<std::string>(q.text(0));
}

namespace {
// 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L): 40 bits.
std::string new_resume_code() {
    static const char* alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    std::string code;
    for (int i = 0; i < 8; ++i) code += alphabet[randombytes_uniform(31)];
    return code;
}
}  // namespace

Result<std::string> Store::set_resume_pin(const std::string& record_id, const std::string& pin) {
    auto hash = hash_pin(pin);
    if (!hash.ok()) return hash.error();
    std::string code = new_resume_code();
    Status st = in_transaction(db_->handle, path_, "saving a resume code", [&]() -> Status {
        auto status = status_in_tx(db_->handle, path_, record_id);
        if (!status.ok()) return status.error();
        Stmt del(db_->handle, "DELETE FROM resume_codes WHERE record_id = ?");
        del.bind(1, record_id);
        if (int rc = del.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "saving a resume code", rc);
        Stmt ins(db_->handle, "INSERT INTO resume_codes(code, record_id, pin_hash, created_ms) VALUES(?,?,?,?)");
        ins.bind(1, code).bind(2, record_id).bind(3, *hash).bind(4, now_ms());
        if (int rc = ins.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "saving a resume code", rc);
        return append_audit(db_->handle, path_, "applicant", record_id, "resume-code", "");
    });
    if (!st.ok()) return st.error();
    return code;
}

Result<ResumeCheck> Store::check_resume(const std::string& code_in, const std::string& pin) {
    std::string code;
    for (char c : code_in) if (c != ' ' && c != '-') code += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ResumeCheck out;
    std::string hash, record_id;
    std::int64_t failures = 0, locked_until = 0;
    {
        Stmt q(db_->handle, "SELECT record_id, pin_hash, failures, locked_until_ms FROM resume_codes WHERE code = ?");
        q.bind(1, code);
        int rc = q.step();
        if (rc == SQLITE_DONE) return out;  // unknown code: same answer as a wrong PIN
        if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "checking a resume code", rc);
        record_id = q.text(0);
        hash = q.text(1);
        failures = q.int64(2);
        locked_until = q.int64(3);
    }
    std::int64_t now = now_ms();
    if (locked_until > now) {
        out.outcome = ResumeOutcome::Locked;
        out.locked_until_ms = locked_until;
        return out;
    }
    bool good = verify_pin(hash, pin);
    Status st = in_transaction(db_->handle, path_, "checking a resume code", [&]() -> Status {
        std::int64_t f = good ? 0 : failures + 1;
        std::int64_t lock = 0;
        if (f >= kResumeFreeAttempts) lock = now + (kResumeLockMs << std::min<std::int64_t>(f - kResumeFreeAttempts, 8));
        Stmt u(db_->handle, "UPDATE resume_codes SET failures = ?, locked_until_ms = ? WHERE code = ?");
        u.bind(1, f).bind(2, lock).bind(3, code);
        if (int rc = u.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "checking a resume code", rc);
        out.locked_until_ms = lock;
        return append_audit(db_->handle, path_, "applicant", record_id, good ? "resume" : "resume-failed",
                            "failures=" + std::to_string(f));
    });
    if (!st.ok()) return st.error();
    if (good) {
        out.outcome = ResumeOutcome::Ok;
        out.record_id = record_id;
    } else if (out.locked_until_ms) {
        out.outcome = ResumeOutcome::Locked;
    }
    return out;
}

// [SECTION] Outbox

const char* outbox_state_name(OutboxState state) {
    switch (state) {
        case OutboxState::Sealed: return "sealed";
        case OutboxState::Uploading: return "uploading";
        case OutboxState::Committed: return "committed";
    }
    return "?";
}

static std::optional<OutboxState> parse_outbox_state(std::string_view name) {
    for (OutboxState s : {OutboxState::Sealed, OutboxState::Uploading, OutboxState::Committed})
        if (name == outbox_state_name(s)) return s;
    return std::nullopt;
}

namespace {

constexpr const char* kBatchColumns =
    "batch_id, state, file_path, upload_url, upload_offset, bytes, record_count, created_ms, updated_ms";

OutboxBatch batch_from(const Stmt& s) {
    OutboxBatch b;
    b.batch_id = s.text(0);
    b.state = parse_outbox_state(s.text(1)).value_or(OutboxState::Sealed);
    b.file_path = s.text(2);
    b.upload_url = s.text(3);
    b.upload_offset = s.int64(4);
    b.bytes = s.int64(5);
    b.record_count = s.int64(6);
    b.created_ms = s.int64(7);
    b.updated_ms = s.int64(8);
    return b;
}

// Moves one record to `to` inside a transaction, as set_status does, with its audit entry.
Status move_record_in_tx(sqlite3* db, const std::string& path, const std::string& record_id, RecordStatus from,
                         RecordStatus to, std::int64_t now, const std::string& actor, const std::string& detail) {
    Stmt u(db, "UPDATE records SET status = ?, updated_ms = ? WHERE id = ? AND status = ?");
    u.bind(1, std::string(status_name(to))).bind(2, now).bind(3, record_id).bind(4, std::string(status_name(from)));
    if (int rc = u.step(); rc != SQLITE_DONE) return step_error(db, path, "changing a record's status", rc);
    if (sqlite3_changes(db) != 1)
        return Error{ErrorCode::InvalidTransition, path + ": record " + record_id + " is no longer " + status_name(from)};
    return append_audit(db, path, actor, record_id, std::string("status:") + status_name(to), detail);
}

}  // namespace

Status Store::enqueue_batch(const OutboxBatch& batch, const std::vector<BatchMember>& members, const std::string& actor) {
    if (batch.batch_id.empty() || members.empty())
        return Error{ErrorCode::InvalidArgument, path_ + ": a batch needs an id and at least one record"};
    return in_transaction(db_->handle, path_, "filing a batch", [&]() -> Status {
        std::int64_t now = now_ms();
        Stmt ins(db_->handle, "INSERT INTO outbox_batches(batch_id, state, file_path, bytes, record_count, created_ms, updated_ms) "
                              "VALUES(?,?,?,?,?,?,?)");
        ins.bind(1, batch.batch_id).bind(2, std::string(outbox_state_name(OutboxState::Sealed))).bind(3, batch.file_path)
            .bind(4, batch.bytes).bind(5, static_cast<std::int64_t>(members.size())).bind(6, batch.created_ms ? batch.created_ms : now)
            .bind(7, now);
        if (int rc = ins.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "filing a batch", rc);
        Stmt check(db_->handle, "SELECT status, content_hash FROM records WHERE id = ?");
        Stmt member(db_->handle, "INSERT INTO batch_records(batch_id, record_id, position, content_hash) VALUES(?,?,?,?)");
        std::int64_t position = 0;
        for (const BatchMember& m : members) {
            check.reset();
            check.bind(1, m.record_id);
            int rc = check.step();
            if (rc == SQLITE_DONE) return Error{ErrorCode::NotFound, path_ + ": no record " + m.record_id};
            if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "filing a batch", rc);
            if (check.text(0) != status_name(RecordStatus::Submitted))
                return Error{ErrorCode::InvalidTransition, path_ + ": record " + m.record_id + " is " + check.text(0) +
                                                               ", not submitted; cut the batch again"};
            if (check.text(1) != m.content_hash)
                return Error{ErrorCode::InvalidTransition, path_ + ": record " + m.record_id +
                                                               " changed since the batch was sealed; cut the batch again"};
            auto decided = final_review(db_->handle, path_, m.record_id, m.content_hash);
            if (!decided.ok()) return decided.error();
            if (!*decided)
                return Error{ErrorCode::InvalidTransition, path_ + ": record " + m.record_id +
                                                               " has no final review decision; only reviewed records are sent"};
            member.reset();
            member.bind(1, batch.batch_id).bind(2, m.record_id).bind(3, position++).bind(4, m.content_hash);
            if (rc = member.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "filing a batch", rc);
            SHENBAO_TRY(move_record_in_tx(db_->handle, path_, m.record_id, RecordStatus::Submitted, RecordStatus::Queued, now,
                                          actor, "batch=" + batch.batch_id));
        }
        return append_audit(db_->handle, path_, actor, "", "batch:sealed",
                            "batch=" + batch.batch_id + "; records=" + std::to_string(members.size()) +
                                "; bytes=" + std::to_string(batch.bytes));
    });
}

Result<std::vector<OutboxBatch>> Store::live_batches() {
    Stmt q(db_->handle, (std::string("SELECT ") + kBatchColumns +
                         " FROM outbox_batches WHERE state IN ('sealed', 'uploading') ORDER BY batch_id").c_str());
    std::vector<OutboxBatch> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(batch_from(q));
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "listing live batches", rc);
    return out;
}

Result<OutboxBatch> Store::outbox_batch(const std::string& batch_id) {
    Stmt q(db_->handle, (std::string("SELECT ") + kBatchColumns + " FROM outbox_batches WHERE batch_id = ?").c_str());
    q.bind(1, batch_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return Error{ErrorCode::NotFound, path_ + ": no batch " + batch_id + " in the outbox"};
    if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading a batch", rc);
    return batch_from(q);
}

Result<std::vector<OutboxBatch>> Store::outbox_batches(std::size_t limit) {
    std::string sql = std::string("SELECT ") + kBatchColumns + " FROM outbox_batches ORDER BY batch_id DESC" +
                      (limit ? " LIMIT " + std::to_string(limit) : "");
    Stmt q(db_->handle, sql.c_str());
    std::vector<OutboxBatch> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(batch_from(q));
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "listing batches", rc);
    return out;
}

Result<std::vector<BatchMember>> Store::batch_members(const std::string& batch_id) {
    Stmt q(db_->handle, "SELECT record_id, content_hash FROM batch_records WHERE batch_id = ? ORDER BY position");
    q.bind(1, batch_id);
    std::vector<BatchMember> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.text(1)});
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "reading a batch's records", rc);
    return out;
}

Status Store::set_batch_upload(const std::string& batch_id, const std::string& upload_url, std::int64_t offset) {
    return in_transaction(db_->handle, path_, "recording an upload", [&]() -> Status {
        Stmt u(db_->handle, "UPDATE outbox_batches SET state = ?, upload_url = ?, upload_offset = ?, updated_ms = ? "
                            "WHERE batch_id = ? AND state IN ('sealed', 'uploading')");
        u.bind(1, std::string(outbox_state_name(upload_url.empty() ? OutboxState::Sealed : OutboxState::Uploading)))
            .bind(2, upload_url).bind(3, upload_url.empty() ? std::int64_t{0} : offset).bind(4, now_ms()).bind(5, batch_id);
        if (int rc = u.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "recording an upload", rc);
        if (sqlite3_changes(db_->handle) != 1)
            return Error{ErrorCode::NotFound, path_ + ": no live batch " + batch_id + " in the outbox"};
        return ok_status();
    });
}

Status Store::apply_receipt(const std::string& batch_id, const std::string& receipt_json,
                            const std::vector<BatchRecordOutcome>& outcomes, const std::string& actor) {
    return in_transaction(db_->handle, path_, "applying a receipt", [&]() -> Status {
        std::string state;
        {
            Stmt q(db_->handle, "SELECT state FROM outbox_batches WHERE batch_id = ?");
            q.bind(1, batch_id);
            int rc = q.step();
            if (rc == SQLITE_DONE) return Error{ErrorCode::NotFound, path_ + ": no batch " + batch_id + " in the outbox"};
            if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "applying a receipt", rc);
            state = q.text(0);
        }
        if (state == outbox_state_name(OutboxState::Committed)) return ok_status();  // applied before
        std::map<std::string, const BatchRecordOutcome*> by_id;
        for (const BatchRecordOutcome& o : outcomes)
            if (!by_id.emplace(o.record_id, &o).second)
                return Error{ErrorCode::InvalidArgument, path_ + ": the receipt of batch " + batch_id + " names record " +
                                                             o.record_id + " twice"};
        std::vector<std::string> members;
        {
            Stmt q(db_->handle, "SELECT record_id FROM batch_records WHERE batch_id = ? ORDER BY position");
            q.bind(1, batch_id);
            int rc;
            while ((rc = q.step()) == SQLITE_ROW) members.push_back(q.text(0));
            if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "applying a receipt", rc);
        }
        if (members.size() != by_id.size())
            return Error{ErrorCode::InvalidArgument, path_ + ": the receipt of batch " + batch_id + " lists " +
                                                         std::to_string(by_id.size()) + " records, the batch holds " +
                                                         std::to_string(members.size())};
        std::int64_t now = now_ms();
        Stmt quarantine(db_->handle, "INSERT OR REPLACE INTO quarantine(record_id, batch_id, result, reason, at_ms) VALUES(?,?,?,?,?)");
        std::int64_t synced = 0, refused = 0;
        for (const std::string& id : members) {
            auto it = by_id.find(id);
            if (it == by_id.end())
                return Error{ErrorCode::InvalidArgument, path_ + ": the receipt of batch " + batch_id + " does not mention record " + id};
            const BatchRecordOutcome& o = *it->second;
            std::string detail = "batch=" + batch_id + "; result=" + o.result;
            if (o.synced) {
                SHENBAO_TRY(move_record_in_tx(db_->handle, path_, id, RecordStatus::Queued, RecordStatus::Synced, now, actor, detail));
                ++synced;
            } else {
                quarantine.reset();
                quarantine.bind(1, id).bind(2, batch_id).bind(3, o.result).bind(4, o.reason).bind(5, now);
                if (int rc = quarantine.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "quarantining a record", rc);
                SHENBAO_TRY(append_audit(db_->handle, path_, actor, id, "quarantine", detail));
                ++refused;
            }
        }
        Stmt keep(db_->handle, "INSERT INTO receipts(batch_id, receipt, received_ms) VALUES(?,?,?)");
        keep.bind(1, batch_id).bind(2, receipt_json).bind(3, now);
        if (int rc = keep.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "storing a receipt", rc);
        Stmt done(db_->handle, "UPDATE outbox_batches SET state = 'committed', updated_ms = ? WHERE batch_id = ?");
        done.bind(1, now).bind(2, batch_id);
        if (int rc = done.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "applying a receipt", rc);
        return append_audit(db_->handle, path_, actor, "", "batch:committed",
                            "batch=" + batch_id + "; synced=" + std::to_string(synced) + "; quarantined=" + std::to_string(refused) +
                                "; receipt_sha256=" + sha256_hex(receipt_json));
    });
}

Status Store::quarantine_unsendable(const std::string& record_id, const std::string& reason, const std::string& actor) {
    return in_transaction(db_->handle, path_, "quarantining a record", [&]() -> Status {
        std::int64_t now = now_ms();
        SHENBAO_TRY(move_record_in_tx(db_->handle, path_, record_id, RecordStatus::Submitted, RecordStatus::Queued, now, actor,
                                      "quarantined: unsendable"));
        Stmt q(db_->handle, "INSERT OR REPLACE INTO quarantine(record_id, batch_id, result, reason, at_ms) VALUES(?,?,?,?,?)");
        q.bind(1, record_id).bind(2, std::string("local")).bind(3, std::string("unsendable")).bind(4, reason).bind(5, now);
        if (int rc = q.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "quarantining a record", rc);
        return append_audit(db_->handle, path_, actor, record_id, "quarantine", "batch=local; result=unsendable");
    });
}

Result<std::optional<std::string>> Store::receipt(const std::string& batch_id) {
    Stmt q(db_->handle, "SELECT receipt FROM receipts WHERE batch_id = ?");
    q.bind(1, batch_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading a receipt", rc);
    return std::optional<std::string>(q.text(0));
}

Result<std::vector<QuarantineEntry>> Store::quarantined() {
    Stmt q(db_->handle, "SELECT record_id, batch_id, result, reason, at_ms FROM quarantine ORDER BY at_ms DESC, record_id");
    std::vector<QuarantineEntry> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.text(1), q.text(2), q.text(3), q.int64(4)});
    if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "listing quarantined records", rc);
    return out;
}

Status Store::release_quarantined(const std::string& record_id, const std::string& actor) {
    return in_transaction(db_->handle, path_, "releasing a quarantined record", [&]() -> Status {
        Stmt del(db_->handle, "DELETE FROM quarantine WHERE record_id = ?");
        del.bind(1, record_id);
        if (int rc = del.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "releasing a quarantined record", rc);
        if (sqlite3_changes(db_->handle) != 1) return Error{ErrorCode::NotFound, path_ + ": record " + record_id + " is not quarantined"};
        return move_record_in_tx(db_->handle, path_, record_id, RecordStatus::Queued, RecordStatus::Submitted, now_ms(), actor,
                                 "released from quarantine");
    });
}

Result<std::int64_t> Store::purge_synced_before(std::int64_t cutoff_ms, const std::string& actor) {
    constexpr int kPurgeChunk = 500;
    std::int64_t purged = 0;
    for (;;) {
        std::vector<std::string> ids;
        {
            Stmt q(db_->handle, "SELECT id FROM records WHERE status = 'synced' AND updated_ms < ? ORDER BY id LIMIT ?");
            q.bind(1, cutoff_ms).bind(2, std::int64_t{kPurgeChunk});
            int rc;
            while ((rc = q.step()) == SQLITE_ROW) ids.push_back(q.text(0));
            if (rc != SQLITE_DONE) return step_error(db_->handle, path_, "finding records to purge", rc);
        }
        if (ids.empty()) return purged;
        Status st = in_transaction(db_->handle, path_, "purging synced records", [&]() -> Status {
            std::int64_t now = now_ms();
            for (const std::string& id : ids) {
                // Re-checked inside the write lock by move_record_in_tx (status must still be synced).
                SHENBAO_TRY(move_record_in_tx(db_->handle, path_, id, RecordStatus::Synced, RecordStatus::Purged, now, actor,
                                              "retention"));
                SHENBAO_TRY(purge_fields_in_tx(db_->handle, path_, id));
            }
            return ok_status();
        });
        SHENBAO_TRY(st);
        purged += static_cast<std::int64_t>(ids.size());
    }
}

Status Store::note_sync_attempt(bool success, const std::string& error, std::int64_t at_ms) {
    return in_transaction(db_->handle, path_, "saving the sync status", [&]() -> Status {
        Stmt put(db_->handle, "INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)");
        auto set = [&](const char* key, const std::string& value) -> Status {
            put.reset();
            put.bind(1, std::string(key)).bind(2, value);
            if (int rc = put.step(); rc != SQLITE_DONE) return step_error(db_->handle, path_, "saving the sync status", rc);
            return ok_status();
        };
        SHENBAO_TRY(set("sync.last_attempt_ms", std::to_string(at_ms)));
        if (success) SHENBAO_TRY(set("sync.last_success_ms", std::to_string(at_ms)));
        return set("sync.last_error", success ? std::string() : error);
    });
}

Result<SyncStatus> Store::sync_status() {
    SyncStatus s;
    auto number = [&](const char* key) -> Result<std::optional<std::int64_t>> {
        auto v = setting(key);
        if (!v.ok()) return v.error();
        if (!*v || (*v)->empty()) return std::optional<std::int64_t>();
        return std::optional<std::int64_t>(std::atoll((*v)->c_str()));
    };
    auto ok = number("sync.last_success_ms");
    if (!ok.ok()) return ok.error();
    s.last_success_ms = *ok;
    auto attempt = number("sync.last_attempt_ms");
    if (!attempt.ok()) return attempt.error();
    s.last_attempt_ms = *attempt;
    auto err = setting("sync.last_error");
    if (!err.ok()) return err.error();
    s.last_error = err->value_or("");
    for (auto [sql, out] : {std::pair{"SELECT count(*) FROM outbox_batches WHERE state IN ('sealed', 'uploading')", &s.live_batches},
                            std::pair{"SELECT count(*) FROM quarantine", &s.quarantined}}) {
        Stmt q(db_->handle, sql);
        int rc = q.step();
        if (rc != SQLITE_ROW) return step_error(db_->handle, path_, "reading the sync status", rc);
        *out = q.int64(0);
    }
    return s;
}

// [SECTION] Ids and hashes

std::string content_hash_of(const json& data) { return sha256_hex(data.dump()); }
std::string content_hash_of_text(std::string_view canonical_data) { return sha256_hex(canonical_data); }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_ulid() {
    static std::mutex mu;
    static std::int64_t last_ms = -1;
    static std::array<std::uint8_t, 10> last_rand{};
    std::lock_guard<std::mutex> lock(mu);
    std::int64_t ms = now_ms();
    if (ms <= last_ms) {
        ms = last_ms;  // same millisecond (or clock stepped back): increment the random part
        for (int i = 9; i >= 0 && ++last_rand[static_cast<std::size_t>(i)] == 0; --i) {}
    } else {
        if (sodium_init() < 0) std::abort();
        randombytes_buf(last_rand.data(), last_rand.size());
        last_rand[0] &= 0x7f;  // room to increment without overflowing the 80 bits
        last_ms = ms;
    }
    static const char* alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    // 128 bits: 48-bit time then 80 random, written as 26 base32 digits (first digit holds 3 bits).
    std::array<std::uint8_t, 16> b{};
    for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
    std::memcpy(b.data() + 6, last_rand.data(), 10);
    std::string out(26, '0');
    for (int i = 25, bit = 0; i >= 0; --i, bit += 5) {
        int byte = 15 - bit / 8, shift = bit % 8;
        unsigned v = b[static_cast<std::size_t>(byte)] >> shift;
        if (shift > 3 && byte > 0) v |= static_cast<unsigned>(b[static_cast<std::size_t>(byte - 1)]) << (8 - shift);
        out[static_cast<std::size_t>(i)] = alphabet[v & 31];
    }
    return out;
}

}  // namespace shenbao
