// Private to the core: writing secret files (store keys, kiosk identities,
// commission and receipt keys) the one careful way, and the small libsodium
// encodings their text forms share. Not a public header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shenbao/result.h"

namespace shenbao::detail {

// fsyncs the folder holding `path`, so a new or renamed entry survives a power cut.
void sync_parent_dir(const std::string& path);

// Creates `path` with mode 0600 and writes `text` durably (fsync of file and
// folder). Refuses to overwrite (ErrorCode::KeyFile); a failed write leaves no
// file behind. Wipes `text` in every case.
Status write_secret_file(const std::string& path, std::string& text);

// Initialises libsodium once; aborts if it cannot run at all (nothing safe to do then).
void ensure_sodium();

// Lower-case hex and padded standard base64 of `size` bytes.
std::string to_hex(const std::uint8_t* data, std::size_t size);
std::string to_base64(const std::uint8_t* data, std::size_t size);

// `s` without surrounding spaces, tabs and line ends.
std::string_view trim(std::string_view s);

}  // namespace shenbao::detail
