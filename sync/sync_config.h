// shenbao-sync's configuration: a JSON file over embedded defaults. Every key
// is optional except the intake URL and the two commission keys; unknown keys
// are refused (a typo must not silently fall back to a default).
//
// | key                       | default                     | meaning                                        |
// |---------------------------|-----------------------------|------------------------------------------------|
// | intake_url                | (required)                  | base URL of shenbao-intake, https://host:port  |
// | ca_file                   | "" (system CAs)             | PEM file the intake's certificate must chain to|
// | commission_public_key     | (required)                  | X25519, 64 hex / 44 base64: batches sealed to it|
// | receipt_public_key        | (required)                  | Ed25519: receipts must verify with it          |
// | data_dir                  | default_data_dir()          | holds store.db, store.key, kiosk.identity, outbox/ |
// | store, key_file           | <data_dir>/store.db, …key   | the kiosk's encrypted store and its key        |
// | identity_file             | <data_dir>/kiosk.identity   | the kiosk's Ed25519 identity (crypto.h)        |
// | outbox_dir                | <data_dir>/outbox           | sealed batch files until committed             |
// | batch_max_records         | 500                         | records per batch (1..10000)                   |
// | batch_max_bytes           | 4194304                     | sealed batch file size (64 KiB..32 MiB)        |
// | batch_max_plaintext_bytes | 8388608                     | records' JSON per batch before compression (1..128 MiB): bounds the agent's memory (about 2× this, parsed) |
// | zstd_level                | 9                           | compression level (1..22); see below           |
// | chunk_bytes               | 32768                       | tus PATCH size (4 KiB..16 MiB); see below      |
// | upload_lanes              | 3                           | batches uploaded at once, each on its own connection (1..4); see below |
// | bandwidth_bytes_per_s     | 0                           | upload cap for all lanes together; 0: none     |
// | connect_timeout_s         | 20                          | TCP + TLS connect                              |
// | low_speed_bytes_per_s     | 50                          | a transfer slower than this ...                |
// | low_speed_time_s          | 60                          | ... for this long is abandoned and resumed     |
// | retry_base_ms, retry_max_ms | 250, 60000                | backoff: first wait, cap (jittered)            |
// | max_attempts              | 10                          | failures in a row (no progress) before a pass gives up |
// | window                    | "01:00-05:00"               | daemon's local-time window; the store's "sync.window" wins |
// | poll_s                    | 300                         | daemon: how often to look for new records in the window |
// | window_check_s            | 60                          | daemon: how often it re-reads the window (staff changes apply within this) |
// | retention_days            | 30                          | synced records are purged after this; 0: never |
// | allow_plain_http          | false                       | tests only: allow http:// intake URLs          |
//
// Why zstd level 9 and not batch.h's 19: on this project's generated applications
// (~91 KB of JSON each, 83 per 8 MiB batch) level 9 seals at 16.8× in 0.23 s and the
// agent peaks at ~52 MB RSS; level 19 sends 22 % fewer bytes (21.5×) but takes 4.9 s per batch —
// time the link sits idle, since batches are sealed between uploads — and the agent
// peaks at over 120 MB (zstd's level-19 tables), over the 64 MB budget of a 2 GB kiosk.
//
// Why three upload lanes and 32 KiB chunks: with one batch at a time the line sits
// idle whenever that batch waits — for each chunk's answer (a round trip), for its
// commit, for the next batch to be sealed. With several, the other lanes' bytes
// fill those gaps (the lanes share the line; none gets more than its share while
// all send), and the next batch is sealed while they upload. A cut line loses the
// part of every lane's chunk already sent (tus stores a checksummed chunk whole
// or not at all), so chunks are small: on bench/sync_bench.py's poor link (256
// kbit/s, 300 ms, a cut about once a minute) goodput went from 0.77 of the line
// (1 lane, 256 KiB) to 0.84 (2 lanes, 64 KiB) and 0.88 (3 lanes, 32 KiB).
#pragma once

#include <cstdint>
#include <string>

#include "shenbao/crypto.h"
#include "shenbao/receipt.h"
#include "shenbao/result.h"
#include "sync_tus.h"

namespace shenbao::sync {

struct SyncConfig {
    std::string intake_url;
    std::string ca_file;
    CommissionPublicKey commission_key;
    ReceiptPublicKey receipt_key;
    std::string data_dir, store_path, key_path, identity_path, outbox_dir;
    std::uint32_t batch_max_records = 500;
    std::uint64_t batch_max_bytes = 4u << 20;
    std::uint64_t batch_max_plaintext_bytes = 8u << 20;
    int zstd_level = 9;
    std::size_t chunk_bytes = kDefaultChunkBytes;
    int upload_lanes = 3;
    std::int64_t bandwidth_bytes_per_s = 0;
    long connect_timeout_s = 20;
    long low_speed_bytes_per_s = 50;
    long low_speed_time_s = 60;
    RetryPolicy retry;
    std::string window = "01:00-05:00";
    std::int64_t poll_s = 300;
    std::int64_t window_check_s = 60;
    int retention_days = 30;
    bool allow_plain_http = false;

    // One lane's HTTP options: the bandwidth cap is shared out among the lanes.
    HttpOptions http_options() const;
    // <intake_url>/files/ and the commit / receipt URLs of wire.h.
    std::string files_url() const;
    std::string commit_url(const std::string& upload_id) const;
    std::string receipt_url(const std::string& batch_id) const;
};

// The configuration in `path` over the defaults; data_dir (when the file does
// not set it) defaults to default_data_dir(). Errors (InvalidArgument, Io) name
// the file and the key and say what to write.
Result<SyncConfig> load_sync_config(const std::string& path);
// The same from JSON text (tests); `source` names it in errors.
Result<SyncConfig> parse_sync_config(const std::string& text, const std::string& source);

// The documented defaults as a JSON file with placeholders for the required keys.
std::string sync_config_template();

}  // namespace shenbao::sync
