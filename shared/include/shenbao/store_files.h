// Where a kiosk keeps its store and key, and opening them together. The kiosk,
// the sync agent and the CLI all go through here.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "shenbao/result.h"
#include "shenbao/store.h"

namespace shenbao {

// $SHENBAO_DATA_DIR, else $XDG_DATA_HOME/shenbao, else ~/.local/share/shenbao.
std::string default_data_dir();
inline std::string store_path_in(const std::string& dir) { return dir + "/store.db"; }
inline std::string key_path_in(const std::string& dir) { return dir + "/store.key"; }

// Creates `dir` (mode 0700) and its parents when missing.
Status ensure_dir(const std::string& dir);

// Opens the store at `store_path` with its key (from $CREDENTIALS_DIRECTORY or
// `key_path`). With `create_if_missing`, a missing store is created together
// with a new 0600 key file. Finishes or discards a rekey a crash interrupted.
Result<std::unique_ptr<Store>> open_store(const std::string& store_path, const std::string& key_path,
                                          bool create_if_missing, StoreOptions options = {});

// Re-encrypts the store under a fresh key and replaces the key file. Crash-safe:
// the new key waits in `<key_path>.new` until the store uses it.
Status rekey_store(Store& store, const std::string& key_path);

// Writes `bytes` to `path` via a temporary file (created with `mode`), fsync,
// rename and an fsync of the folder: readers see the old file or the whole new
// one, never a part, and a power cut after it returns keeps the new one.
// Removes the temporary on failure.
Status write_file_atomic(const std::string& path, std::string_view bytes, mode_t mode = 0644);

}  // namespace shenbao
