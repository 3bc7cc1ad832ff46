// Committing an uploaded batch: verify and decode it against the enrolled
// kiosks and the commission key, validate every record against its form with
// the kiosk's own code (validate_record), store it in one transaction and sign
// the receipt. No HTTP here: the server maps a Refusal to its status and JSON.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "intake_db.h"
#include "shenbao/batch.h"
#include "shenbao/crypto.h"
#include "shenbao/form.h"
#include "shenbao/receipt.h"
#include "upload_files.h"

namespace shenbao::intake {

// The largest batch file BatchLimits allows (header with a full form table,
// the sealed key, the largest compressed payload in the smallest chunks, the
// signature): the Tus-Max-Size and the bound on every upload.
std::uint64_t max_batch_file_bytes(const BatchLimits& limits);

// Why a request was refused: the HTTP status, a stable kind and a message for a person.
struct Refusal {
    int status = 400;
    std::string kind;
    std::string message;
};

// A committed batch: the receipt bytes (the same on every later ask).
struct Committed {
    std::string receipt;
    bool replay = false;  // the batch had been committed before; nothing stored now
};

// The forms the intake validates against, loaded once each from assets/forms/.
class FormCache {
public:
    // The definition for (form_id, version), or the reason there is none.
    std::variant<std::shared_ptr<const FormDefinition>, std::string> get(const std::string& form_id, int version);

private:
    std::mutex mu_;
    std::map<std::string, std::variant<std::shared_ptr<const FormDefinition>, std::string>> forms_;
};

// Everything a commit needs; shared by the server's threads.
struct Ingest {
    IntakeDb& db;
    UploadFiles& files;
    CommissionKeyPair commission;
    ReceiptKeyPair receipt_key;
    DictionaryLookup dictionaries;
    BatchLimits limits;
    FormCache forms;

    // Commits upload `upload_id` (see the file comment). Idempotent: an upload
    // committed before, or another upload of a batch committed before, gets the
    // stored receipt. Refusals store nothing.
    std::variant<Committed, Refusal> commit(const std::string& upload_id);
};

// "too-large", "unknown-kiosk", … → the status wire.h gives that batch refusal.
int status_for_batch_error(BatchErrorKind kind);

}  // namespace shenbao::intake
