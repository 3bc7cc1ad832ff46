// Synthetic applications, deterministic from a seed number: realistic Chinese
// names, Chongqing addresses and long report text, consistent with the rules.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "shenbao/form.h"

namespace shenbao {

// The same (form, seed) always gives the same record data, valid against the form.
nlohmann::json generate_application(const FormDefinition& form, std::uint64_t seed);

}  // namespace shenbao
