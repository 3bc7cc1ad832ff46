// The sync agent: one pass takes the store's submitted records to the intake.
//
//  1. Clean the outbox folder: files of committed or never-filed batches go.
//  2. Resume every live batch first (same batch id, same file): ask the
//     server's offset (HEAD), send the rest, commit. An upload the server no
//     longer knows is checked for a receipt (it may have been committed just
//     before a crash) and otherwise created again.
//  3. Cut new batches from submitted records with a final review decision
//     (store.h ReviewQueue::ReadyToSend; the decision travels in the batch)
//     (batch_max_records, then smaller
//     until the sealed file fits batch_max_bytes), seal each with encode_batch,
//     write it to the outbox folder durably, and only then file it in the store
//     (records submitted → queued, one transaction). Upload, commit, verify the
//     signed receipt, and apply it (synced / quarantined, one transaction).
//  4. Purge synced records past the retention period; record the sync status.
//
// Crash safety: every step's durable effect is either a whole file renamed into
// place or one store transaction, ordered so that a kill at any moment leaves
// either an orphan file (deleted in step 1) or a live batch (resumed in step 2).
// A record is never in two live batches (store.h) and never marked synced
// without a verified receipt that names it with the hash the kiosk sealed.
//
// One pass holds `<outbox_dir>/.lock` (flock), so a timer's run-once and the
// daemon never sync at the same time.
//
// Threads: the pass's own thread cuts and seals (one batch at a time, so the
// agent's memory is one batch's records), handing each sealed batch to
// `upload_lanes` lane threads (sync_config.h says why two); each lane sends
// whole batches (steps 2–3) on its own HTTP connection. The store is one SQLite
// connection, used under a mutex; a batch is sealed ahead while the lanes send,
// at most one waiting, so a stop leaves few live batches for the next pass.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "shenbao/batch.h"
#include "shenbao/crypto.h"
#include "shenbao/store.h"
#include "sync_config.h"
#include "sync_http.h"
#include "sync_tus.h"

namespace shenbao::sync {

// Exit codes of shenbao-sync (also printed by --help).
enum ExitCode : int {
    kExitOk = 0,        // every record sent (or nothing to send, or outside the window)
    kExitUsage = 1,     // bad command line or configuration file
    kExitStore = 2,     // the store, its key or the kiosk identity cannot be opened
    kExitOffline = 3,   // the intake could not be reached (or stayed busy): the rest goes next time
    kExitRefused = 4,   // the intake refused a batch, TLS did not verify, or a receipt did not verify: a person must look
    kExitError = 5,     // any other error (disk full, missing dictionary …)
    kExitLocked = 6,    // another shenbao-sync is syncing this store right now
};

enum class PassOutcome { Done, Offline, Refused, Locked, Cancelled, Failed };
const char* pass_outcome_name(PassOutcome outcome);

struct PassReport {
    PassOutcome outcome = PassOutcome::Done;
    std::string error;  // for a person; empty when Done
    int batches_committed = 0;
    std::int64_t records_synced = 0;
    std::int64_t records_quarantined = 0;
    std::int64_t records_purged = 0;
    std::int64_t bytes_on_wire = 0;  // sent + received, headers included
    int exit_code() const;
};

// One log line (no newline); the default writes "shenbao-sync: <line>" to stderr.
using LogLine = std::function<void(const std::string& line)>;

class SyncAgent {
public:
    // `store` and `cancel` (may be null) must outlive the agent.
    SyncAgent(SyncConfig config, Store& store, KioskIdentity identity,
              std::shared_ptr<const BatchDictionary> dictionary, const CancelToken* cancel = nullptr,
              LogLine log = {});
    ~SyncAgent();

    // One pass (see the top of this file).
    PassReport run_pass();

    const SyncConfig& config() const { return config_; }
    // All lanes' HTTP traffic so far.
    TransferStats transfer_stats() const;

private:
    struct BatchResult;
    BatchResult send_batch(OutboxBatch batch, bool resumed, HttpClient& http);
    Result<std::optional<OutboxBatch>> cut_batch();
    Result<std::vector<std::uint8_t>> batch_bytes(const OutboxBatch& batch);
    Result<EncodedBatch> seal(std::span<const CanonicalRecord> records, const EncodeOptions& options);
    Status clean_outbox();
    void log(const std::string& line) const;
    // Runs f(store_) holding the store's mutex (lanes and the sealer share the connection).
    template <typename F>
    auto with_store(F&& f) {
        std::lock_guard lock(store_mu_);
        return f(store_);
    }

    SyncConfig config_;
    Store& store_;
    KioskIdentity identity_;
    std::shared_ptr<const BatchDictionary> dictionary_;
    const CancelToken* cancel_;
    LogLine log_;
    std::vector<std::unique_ptr<HttpClient>> lanes_;  // one connection per upload lane
    std::mutex store_mu_;
    std::mutex seal_mu_;  // one batch sealed at a time: the agent's memory is one batch's records
    mutable std::mutex log_mu_;
};

// Loads what an agent needs besides the store: the kiosk identity and the
// batch dictionary. Errors name the file and say what to do.
Result<KioskIdentity> load_identity_for(const SyncConfig& config);

}  // namespace shenbao::sync
