// The sync agent's pass: see sync_agent.h for the steps and why they are crash-safe.
//
// [SECTION] Files   [SECTION] Cutting   [SECTION] Sending   [SECTION] The pass
#include "sync_agent.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <thread>

#include "shenbao/receipt.h"
#include "shenbao/store_files.h"

namespace shenbao::sync {

const char* pass_outcome_name(PassOutcome o) {
    switch (o) {
        case PassOutcome::Done: return "done";
        case PassOutcome::Offline: return "offline";
        case PassOutcome::Refused: return "refused";
        case PassOutcome::Locked: return "locked";
        case PassOutcome::Cancelled: return "cancelled";
        case PassOutcome::Failed: return "failed";
    }
    return "?";
}

int PassReport::exit_code() const {
    switch (outcome) {
        case PassOutcome::Done: return kExitOk;
        case PassOutcome::Offline: return kExitOffline;
        case PassOutcome::Refused: return kExitRefused;
        case PassOutcome::Locked: return kExitLocked;
        case PassOutcome::Cancelled: return kExitOk;
        case PassOutcome::Failed: return kExitError;
    }
    return kExitError;
}

Result<KioskIdentity> load_identity_for(const SyncConfig& config) {
    auto id = load_kiosk_identity(config.identity_path);
    if (!id.ok())
        return Error{id.error().code, id.error().message + " (create the kiosk identity with `shenbao-sync identity --create`, "
                                                           "then enrol its public key at the commission)"};
    return id;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", s);
    return buf;
}

// A frame's bytes beyond the record's canonical data: length prefix, keys,
// content hash, form id (≤ 64), version, ULID and timestamp (batch.h, "Plaintext").
constexpr std::uint64_t kFrameOverhead = 4 + 256;

// Bytes the record's review adds to its frame: the member's keys and quotes, the texts, the time.
std::uint64_t review_frame_bytes(const std::optional<RecordReview>& review) {
    if (!review) return 0;
    return 128 + review->reason.size() * 2 + review->reviewer.size() * 2;  // *2: JSON escapes, generously
}

// [SECTION] Files

// A sealed batch on disk: written atomically and durably, private to the agent.
Status write_durably(const std::string& path, std::span<const std::uint8_t> bytes) {
    return write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), 0600);
}

Result<std::vector<std::uint8_t>> read_whole(const std::string& path, std::uint64_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io, path + ": " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) > limit) {
        ::close(fd);
        return Error{ErrorCode::LimitExceeded, path + ": larger than any batch may be"};
    }
    std::vector<std::uint8_t> out(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::read(fd, out.data() + done, out.size() - done);
        if (n <= 0) {
            ::close(fd);
            return Error{ErrorCode::Io, path + ": read failed"};
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return out;
}

// The last path segment of an upload URL: the upload id the commit endpoint takes.
std::string upload_id_of(const std::string& url) {
    std::string u = url.substr(0, url.find_first_of("?#"));
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u.substr(u.rfind('/') + 1);
}

// An exclusive, non-blocking flock on `path`, released on destruction.
class PassLock {
public:
    explicit PassLock(const std::string& path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~PassLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    PassLock(const PassLock&) = delete;
    PassLock& operator=(const PassLock&) = delete;
    bool held() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace

SyncAgent::SyncAgent(SyncConfig config, Store& store, KioskIdentity identity,
                     std::shared_ptr<const BatchDictionary> dictionary, const CancelToken* cancel, LogLine log)
    : config_(std::move(config)),
      store_(store),
      identity_(std::move(identity)),
      dictionary_(std::move(dictionary)),
      cancel_(cancel),
      log_(std::move(log)) {
    for (int i = 0; i < std::max(1, config_.upload_lanes); ++i)
        lanes_.push_back(std::make_unique<HttpClient>(config_.http_options(), cancel));
}

SyncAgent::~SyncAgent() = default;

TransferStats SyncAgent::transfer_stats() const {
    TransferStats sum;
    for (const auto& lane : lanes_) {
        sum.requests += lane->stats().requests;
        sum.bytes_sent += lane->stats().bytes_sent;
        sum.bytes_received += lane->stats().bytes_received;
    }
    return sum;
}

void SyncAgent::log(const std::string& line) const {
    std::lock_guard lock(log_mu_);
    if (log_) log_(line);
    else std::fprintf(stderr, "shenbao-sync: %s\n", line.c_str());
}

Status SyncAgent::clean_outbox() {
    DIR* d = ::opendir(config_.outbox_dir.c_str());
    if (!d) return Error{ErrorCode::Io, config_.outbox_dir + ": cannot list the outbox folder: " + std::strerror(errno)};
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
    for (const std::string& name : names) {
        std::string path = config_.outbox_dir + "/" + name;
        if (name.find(".shb.tmp-") != std::string::npos) {
            ::unlink(path.c_str());  // a write a crash interrupted (we hold the lock: no one else writes)
            continue;
        }
        if (name.size() < 5 || name.compare(name.size() - 4, 4, ".shb") != 0) continue;
        auto batch = store_.outbox_batch(name.substr(0, name.size() - 4));
        if (batch.ok() && batch->state != OutboxState::Committed) continue;
        if (!batch.ok() && batch.error().code != ErrorCode::NotFound) return batch.error();
        ::unlink(path.c_str());  // committed, or sealed but never filed (a crash before enqueue_batch)
    }
    return ok_status();
}

// [SECTION] Cutting

Result<std::optional<OutboxBatch>> SyncAgent::cut_batch() {
    BatchLimits limits;
    // The batch is held as canonical text (each record parsed from the store one at a
    // time): this budget, not the record count, bounds the agent's memory.
    const std::uint64_t plaintext_budget = std::min<std::uint64_t>(config_.batch_max_plaintext_bytes, limits.max_decompressed_bytes);
    for (int attempt = 0; attempt < 8; ++attempt) {
        // Only reviewed records leave the kiosk: a record awaiting the district's review stays.
        auto metas = with_store([&](Store& s) { return s.list_review(ReviewQueue::ReadyToSend, config_.batch_max_records); });
        if (!metas.ok()) return metas.error();
        if (metas->empty()) return std::optional<OutboxBatch>();
        std::vector<CanonicalRecord> records;
        std::uint64_t plaintext = 0;
        for (const RecordMeta& m : *metas) {
            auto got = with_store([&](Store& s) { return s.get(m.id); });
            if (!got.ok()) return got.error();
            // One serialisation serves the hash check, the size and the seal: the frame
            // is the canonical data plus the record's metadata (kFrameOverhead bytes at most).
            std::string why;
            auto r = canonical_record(std::move(got.value()));
            std::uint64_t frame_bytes = r.ok() ? r->data.size() + kFrameOverhead + review_frame_bytes(r->review) : 0;
            if (!r.ok()) {
                why = r.error().message;
            } else if (content_hash_of_text(r->data) != r->meta.content_hash) {
                why = "its data no longer matches the content hash frozen at submit (the store was altered); "
                      "check it with `shenbao-store verify`";
            } else if (frame_bytes - 4 > limits.max_record_bytes) {
                why = "it is about " + std::to_string(frame_bytes) + " bytes, over the batch format's limit of " +
                      std::to_string(limits.max_record_bytes) + " bytes per record";
            } else if (!records.empty() && plaintext + frame_bytes > plaintext_budget) {
                break;  // the batch is full; the rest goes in the next one
            } else {
                plaintext += frame_bytes;
                records.push_back(std::move(r.value()));
                continue;
            }
            SHENBAO_TRY(with_store([&](Store& s) { return s.quarantine_unsendable(m.id, why); }));
            log("record " + m.id + " quarantined, not sent: " + why);
        }
        if (records.empty()) continue;

        std::size_t n = records.size();
        std::string batch_id = new_ulid();
        std::optional<EncodedBatch> encoded;
        bool unsendable = false;  // a record was quarantined: list again
        for (int shrink = 0; shrink < 12 && !encoded && !unsendable; ++shrink) {
            EncodeOptions opt;
            opt.batch_id = batch_id;
            opt.level = config_.zstd_level;
            opt.limits = limits;
            auto e = seal(std::span<const CanonicalRecord>(records.data(), n), opt);
            if (!e.ok() && e.error().code == ErrorCode::LimitExceeded && n > 1) {
                n = std::max<std::size_t>(1, n / 2);
                continue;
            }
            if (!e.ok() && (e.error().code == ErrorCode::LimitExceeded || e.error().code == ErrorCode::InvalidArgument)) {
                // One record the format refuses must not block the rest: find it (rare, so one by one) and quarantine it.
                for (std::size_t i = 0; i < n; ++i) {
                    EncodeOptions one = opt;
                    one.level = 1;
                    auto alone = seal(std::span<const CanonicalRecord>(&records[i], 1), one);
                    if (alone.ok()) continue;
                    SHENBAO_TRY(with_store([&](Store& s) { return s.quarantine_unsendable(records[i].meta.id, alone.error().message); }));
                    log("record " + records[i].meta.id + " quarantined, not sent: " + alone.error().message);
                    unsendable = true;
                }
                if (!unsendable) return e.error();
                continue;
            }
            if (!e.ok()) return e.error();
            if (e->bytes.size() > config_.batch_max_bytes && n > 1) {
                double fit = static_cast<double>(config_.batch_max_bytes) / static_cast<double>(e->bytes.size());
                n = std::max<std::size_t>(1, std::min(n - 1, static_cast<std::size_t>(static_cast<double>(n) * fit * 0.9)));
                continue;
            }
            encoded = std::move(e.value());
        }
        if (unsendable) continue;
        if (!encoded) return Error{ErrorCode::Internal, "could not cut a batch under batch_max_bytes"};

        OutboxBatch b;
        b.batch_id = batch_id;
        b.file_path = config_.outbox_dir + "/" + batch_id + ".shb";
        b.bytes = static_cast<std::int64_t>(encoded->bytes.size());
        b.record_count = static_cast<std::int64_t>(n);
        b.created_ms = encoded->header.created_ms;
        SHENBAO_TRY(write_durably(b.file_path, encoded->bytes));
        std::vector<BatchMember> members;
        for (std::size_t i = 0; i < n; ++i) members.push_back({records[i].meta.id, records[i].meta.content_hash});
        Status filed = with_store([&](Store& s) { return s.enqueue_batch(b, members); });
        if (filed.ok()) return std::optional<OutboxBatch>(b);
        ::unlink(b.file_path.c_str());
        if (filed.error().code != ErrorCode::InvalidTransition) return filed.error();
        log("a record changed while its batch was sealed; cutting again (" + filed.error().message + ")");
    }
    return Error{ErrorCode::Busy, "records kept changing while batches were cut; try again"};
}

Result<std::vector<std::uint8_t>> SyncAgent::batch_bytes(const OutboxBatch& b) {
    BatchLimits limits;
    auto bytes = read_whole(b.file_path, limits.max_compressed_bytes * 2 + (1u << 20));
    if (bytes.ok()) {
        auto h = peek_header(*bytes, limits);
        if (h.ok() && h->batch_id == b.batch_id && h->total_size() == bytes->size()) return bytes;
    }
    // The file is gone or damaged: seal the same records again under the same batch id.
    // Same records, dictionary and level give the same compressed size, so the
    // same total size; the bytes differ (fresh key), so any old upload is forgotten.
    log("batch " + b.batch_id + ": its file " + b.file_path + " is missing or damaged; sealing it again");
    auto members = with_store([&](Store& s) { return s.batch_members(b.batch_id); });
    if (!members.ok()) return members.error();
    std::vector<CanonicalRecord> records;
    for (const BatchMember& m : *members) {
        auto got = with_store([&](Store& s) { return s.get(m.record_id); });
        if (!got.ok()) return got.error();
        auto r = canonical_record(std::move(got.value()));
        if (!r.ok()) return r.error();
        if (r->meta.content_hash != m.content_hash || content_hash_of_text(r->data) != m.content_hash)
            return Error{ErrorCode::Corrupt, "batch " + b.batch_id + ": record " + m.record_id +
                                                 " no longer matches the hash it was sealed with; check the store with `shenbao-store verify`"};
        records.push_back(std::move(r.value()));
    }
    EncodeOptions opt;
    opt.batch_id = b.batch_id;
    opt.created_ms = b.created_ms;
    opt.level = config_.zstd_level;
    auto e = seal(records, opt);
    if (!e.ok()) return e.error();
    SHENBAO_TRY(write_durably(b.file_path, e->bytes));
    SHENBAO_TRY(with_store([&](Store& s) { return s.set_batch_upload(b.batch_id, "", 0); }));
    return std::move(e->bytes);
}

Result<EncodedBatch> SyncAgent::seal(std::span<const CanonicalRecord> records, const EncodeOptions& options) {
    std::lock_guard lock(seal_mu_);
    return encode_batch(records, identity_, config_.commission_key, *dictionary_, options);
}

// [SECTION] Sending

struct SyncAgent::BatchResult {
    PassOutcome outcome = PassOutcome::Done;
    std::string error;
    std::int64_t synced = 0, quarantined = 0;
};

namespace {

// What a failed network step means for the pass.
PassOutcome outcome_of(const UploadError& e) {
    switch (e.kind) {
        case UploadErrorKind::Cancelled: return PassOutcome::Cancelled;
        case UploadErrorKind::Refused:
        case UploadErrorKind::Tls:
        case UploadErrorKind::Config:
            return PassOutcome::Refused;
        default: return PassOutcome::Offline;
    }
}

}  // namespace

SyncAgent::BatchResult SyncAgent::send_batch(OutboxBatch b, bool resumed, HttpClient& http) {
    auto t0 = std::chrono::steady_clock::now();
    std::int64_t wire0 = http.stats().bytes_sent + http.stats().bytes_received;
    BatchResult res;
    auto finish = [&](const std::string& result) {
        std::int64_t wire = http.stats().bytes_sent + http.stats().bytes_received - wire0;
        log("batch " + b.batch_id + ": " + std::to_string(b.record_count) + " records, " + std::to_string(b.bytes) +
            " bytes, " + std::to_string(wire) + " bytes on the wire, " + fmt_seconds(seconds_since(t0)) + " s, " + result);
        return res;
    };
    auto fail = [&](PassOutcome o, const std::string& why) {
        res.outcome = o;
        res.error = "batch " + b.batch_id + ": " + why;
        return finish(std::string(pass_outcome_name(o)) + ": " + why);
    };

    auto bytes = batch_bytes(b);
    if (!bytes.ok()) return fail(PassOutcome::Failed, bytes.error().message);
    if (auto fresh = with_store([&](Store& s) { return s.outbox_batch(b.batch_id); }); fresh.ok()) b = *fresh;  // batch_bytes may have forgotten the upload

    TusClient tus(http);
    Backoff backoff(config_.retry);
    std::string kiosk_id = identity_.public_key.hex();

    // Asks for the receipt of a batch whose upload vanished: it may have been
    // committed just before a crash. nullopt when there is none.
    auto receipt_if_committed = [&]() -> std::optional<std::string> {
        auto r = http.request("GET", config_.receipt_url(b.batch_id), {"Accept: application/json"});
        if (r.ok() && r->status == 200) return r->body;
        return std::nullopt;
    };

    std::optional<std::string> receipt;
    if (resumed && !b.upload_url.empty()) {
        auto h = tus.head(b.upload_url);
        if (!h.ok() && h.kind() == UploadErrorKind::Gone) {
            receipt = receipt_if_committed();
            if (!receipt) {
                if (Status st = with_store([&](Store& s) { return s.set_batch_upload(b.batch_id, "", 0); }); !st.ok()) return fail(PassOutcome::Failed, st.error().message);
                b.upload_url.clear();
            }
        }
    }

    std::int64_t last_saved_ms = 0;
    std::string saved_url = b.upload_url;
    Status save_error = ok_status();
    OnUploadProgress on_progress = [&](const std::string& url, std::uint64_t offset) {
        std::int64_t now = now_ms();
        if (url == saved_url && offset != static_cast<std::uint64_t>(b.bytes) && now - last_saved_ms < 2000) return;
        Status st = with_store([&](Store& s) { return s.set_batch_upload(b.batch_id, url, static_cast<std::int64_t>(offset)); });
        if (!st.ok()) save_error = st;
        saved_url = url;
        last_saved_ms = now;
    };
    OnRetry on_retry = [&](const UploadError& e, std::int64_t delay) {
        log("batch " + b.batch_id + ": " + upload_error_name(e.kind) + " (" + e.message + "); retrying in " +
            fmt_seconds(static_cast<double>(delay) / 1000) + " s");
    };

    for (int round = 0; !receipt && round < 4; ++round) {
        UploadJob job;
        job.files_url = config_.files_url();
        job.metadata = {{"filename", b.batch_id + ".shb"}, {"batch_id", b.batch_id}, {"kiosk_id", kiosk_id}};
        job.chunk_bytes = config_.chunk_bytes;
        job.upload_url = b.upload_url;
        auto up = upload_resumable(tus, job, *bytes, backoff, cancel_, on_progress, on_retry);
        if (!save_error.ok()) return fail(PassOutcome::Failed, save_error.error().message);
        if (!up.ok()) {
            if (up.kind() == UploadErrorKind::Refused) {
                // A replay refusal may mean the batch went through before a crash.
                if ((receipt = receipt_if_committed())) break;
            }
            return fail(outcome_of(up.error()), up.error().message);
        }
        b.upload_url = job.upload_url;

        // Commit: idempotent at the intake, so it is simply asked again after any failure.
        bool reupload = false;
        while (!receipt && !reupload) {
            std::string url = config_.commit_url(upload_id_of(b.upload_url));
            auto r = http.request("POST", url, {"Accept: application/json", "Content-Type: application/json"});
            UploadError e;
            if (r.ok() && r->status == 200) {
                receipt = r->body;
                break;
            }
            e = r.ok() ? http_error(*r, "committing the batch", url) : r.error();
            if (e.kind == UploadErrorKind::Gone || e.kind == UploadErrorKind::Conflict || e.kind == UploadErrorKind::Refused) {
                if ((receipt = receipt_if_committed())) break;
                if (e.kind == UploadErrorKind::Refused) return fail(PassOutcome::Refused, e.message);
                // The upload is unknown or unfinished at the intake: back to the tus layer (HEAD decides).
                if (e.kind == UploadErrorKind::Gone) {
                    b.upload_url.clear();
                    if (Status st = with_store([&](Store& s) { return s.set_batch_upload(b.batch_id, "", 0); }); !st.ok()) return fail(PassOutcome::Failed, st.error().message);
                }
                reupload = true;
                break;
            }
            if (!e.retryable() || backoff.failures() >= config_.retry.max_attempts) return fail(outcome_of(e), e.message);
            std::int64_t delay = backoff.next_delay_ms(e.retry_after_ms);
            on_retry(e, delay);
            bool slept = cancel_ ? cancel_->sleep_for(delay) : CancelToken{}.sleep_for(delay);
            if (!slept) return fail(PassOutcome::Cancelled, "stopped while waiting to commit");
        }
    }
    if (!receipt) return fail(PassOutcome::Offline, "the intake kept losing the upload; will try again");

    // Verify before anything is marked: the commission's signature, this batch, this kiosk, these records.
    auto checked = verify_receipt(*receipt, config_.receipt_key, b.batch_id, kiosk_id);
    if (!checked.ok())
        return fail(PassOutcome::Refused, std::string("the receipt does not verify (") + receipt_error_name(checked.kind()) +
                                              ": " + checked.error().message + "); check receipt_public_key in the configuration");
    auto members = with_store([&](Store& s) { return s.batch_members(b.batch_id); });
    if (!members.ok()) return fail(PassOutcome::Failed, members.error().message);
    std::map<std::string, std::string> sealed;
    for (const BatchMember& m : *members) sealed[m.record_id] = m.content_hash;
    std::vector<BatchRecordOutcome> outcomes;
    std::map<std::string, int> counts;
    for (const ReceiptRecord& r : checked.value().records) {
        auto it = sealed.find(r.id);
        if (it == sealed.end() || it->second != r.content_hash)
            return fail(PassOutcome::Refused, "the receipt names record " + r.id + (it == sealed.end() ? " that is not in the batch" : " with another content hash"));
        bool ok = receipt_outcome_is_synced(r.outcome);
        outcomes.push_back({r.id, ok, receipt_outcome_name(r.outcome), r.reason});
        ++counts[receipt_outcome_name(r.outcome)];
        (ok ? res.synced : res.quarantined) += 1;
    }
    if (outcomes.size() != sealed.size())
        return fail(PassOutcome::Refused, "the receipt lists " + std::to_string(outcomes.size()) + " records, the batch holds " +
                                              std::to_string(sealed.size()));
    if (Status st = with_store([&](Store& s) { return s.apply_receipt(b.batch_id, *receipt, outcomes); }); !st.ok()) return fail(PassOutcome::Failed, st.error().message);
    ::unlink(b.file_path.c_str());
    for (const BatchRecordOutcome& o : outcomes)
        if (!o.synced) log("record " + o.record_id + " quarantined by the intake (" + o.result + "): " + o.reason);
    std::string summary = "committed: " + std::to_string(res.synced) + " synced (" + std::to_string(counts["accepted"]) +
                          " accepted, " + std::to_string(counts["duplicate"]) + " duplicate), " + std::to_string(res.quarantined) +
                          " quarantined";
    return finish(summary);
}

// [SECTION] The pass

PassReport SyncAgent::run_pass() {
    PassReport report;
    auto t0 = std::chrono::steady_clock::now();
    auto wire_now = [&]() {
        TransferStats t = transfer_stats();
        return t.bytes_sent + t.bytes_received;
    };
    std::int64_t wire0 = wire_now();
    auto done = [&]() {
        report.bytes_on_wire = wire_now() - wire0;
        if (report.outcome != PassOutcome::Locked && report.outcome != PassOutcome::Cancelled) {
            Status st = store_.note_sync_attempt(report.outcome == PassOutcome::Done, report.error, now_ms());
            if (!st.ok()) log("could not save the sync status: " + st.error().message);
        }
        log(std::string("pass ") + pass_outcome_name(report.outcome) + ": " + std::to_string(report.batches_committed) +
            " batches, " + std::to_string(report.records_synced) + " records synced, " + std::to_string(report.records_quarantined) +
            " quarantined, " + std::to_string(report.records_purged) + " purged, " + std::to_string(report.bytes_on_wire) +
            " bytes on the wire, " + fmt_seconds(seconds_since(t0)) + " s" + (report.error.empty() ? "" : " — " + report.error));
        return report;
    };
    auto failed = [&](const Error& e) {
        report.outcome = PassOutcome::Failed;
        report.error = e.message;
        return done();
    };

    if (Status st = ensure_dir(config_.outbox_dir); !st.ok()) return failed(st.error());
    PassLock lock(config_.outbox_dir + "/.lock");
    if (!lock.held()) {
        report.outcome = PassOutcome::Locked;
        report.error = "another shenbao-sync is syncing this store (" + config_.outbox_dir + "/.lock); nothing done";
        return done();
    }
    if (Status st = clean_outbox(); !st.ok()) return failed(st.error());
    auto live = store_.live_batches();
    if (!live.ok()) return failed(live.error());

    // The hand-over between this thread (which cuts and seals) and the lanes.
    struct Work {
        OutboxBatch batch;
        bool resumed = false;
    };
    std::mutex mu;
    std::condition_variable changed;
    std::deque<Work> queue;
    bool closed = false;   // nothing more will be handed over
    bool stopped = false;  // a dead link, a failure or a stop: the lanes take nothing more
    bool refused = false;  // after a refusal no new batches are cut: the same refusal would queue them all

    // A lane's result, under `mu`. Refusals of one batch do not stop the others;
    // a dead link or a stop ends the pass.
    auto take = [&](const BatchResult& r) {
        report.records_synced += r.synced;
        report.records_quarantined += r.quarantined;
        if (r.outcome == PassOutcome::Done) {
            ++report.batches_committed;
            return;
        }
        if (report.outcome == PassOutcome::Done || r.outcome != PassOutcome::Refused) {
            report.outcome = r.outcome;
            report.error = r.error;
        }
        if (r.outcome == PassOutcome::Refused) refused = true;
        else stopped = true;
    };
    std::vector<std::thread> lanes;
    for (auto& lane : lanes_) {
        lanes.emplace_back([&, http = lane.get()] {
            for (;;) {
                Work w;
                {
                    std::unique_lock l(mu);
                    changed.wait(l, [&] { return stopped || closed || !queue.empty(); });
                    if (stopped || queue.empty()) return;
                    w = std::move(queue.front());
                    queue.pop_front();
                    changed.notify_all();
                }
                BatchResult r = send_batch(std::move(w.batch), w.resumed, *http);
                std::lock_guard l(mu);
                take(r);
                changed.notify_all();
            }
        });
    }

    // Live batches first (already sealed), then new ones, each cut once the last
    // one handed over has been taken by a lane: one batch sealed ahead at most.
    std::optional<Error> cut_error;
    {
        std::lock_guard l(mu);
        for (const OutboxBatch& b : *live) queue.push_back({b, true});
        changed.notify_all();
    }
    for (;;) {
        {
            std::unique_lock l(mu);
            changed.wait(l, [&] { return stopped || refused || queue.empty(); });
            if (stopped || refused) break;
        }
        if (cancel_ && cancel_->stop.load()) {
            std::lock_guard l(mu);
            report.outcome = PassOutcome::Cancelled;
            stopped = true;
            break;
        }
        auto cut = cut_batch();
        if (!cut.ok()) {
            cut_error = cut.error();
            break;
        }
        if (!*cut) break;
        std::lock_guard l(mu);
        queue.push_back({**cut, false});
        changed.notify_all();
    }
    {
        std::lock_guard l(mu);
        closed = true;
        changed.notify_all();
    }
    for (std::thread& t : lanes) t.join();
    if (cut_error && report.outcome == PassOutcome::Done) return failed(*cut_error);

    if (config_.retention_days > 0 && report.outcome != PassOutcome::Cancelled) {
        auto purged = store_.purge_synced_before(now_ms() - std::int64_t{config_.retention_days} * 86'400'000);
        if (!purged.ok()) return failed(purged.error());
        report.records_purged = *purged;
    }
    return done();
}

}  // namespace shenbao::sync
