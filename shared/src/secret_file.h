// Private to the core: writing secret files (store keys, kiosk identities,
// commission keys) the one careful way. Not a public header.
#pragma once

#include <string>

#include "shenbao/result.h"

namespace shenbao::detail {

// fsyncs the folder holding `path`, so a new or renamed entry survives a power cut.
void sync_parent_dir(const std::string& path);

// Creates `path` with mode 0600 and writes `text` durably (fsync of file and
// folder). Refuses to overwrite (ErrorCode::KeyFile); a failed write leaves no
// file behind. Wipes `text` in every case.
Status write_secret_file(const std::string& path, std::string& text);

}  // namespace shenbao::detail
