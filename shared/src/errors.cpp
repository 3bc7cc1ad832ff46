#include "shenbao/result.h"

namespace shenbao {

const char* error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::Io: return "io";
        case ErrorCode::KeyFile: return "key-file";
        case ErrorCode::WrongKey: return "wrong-key";
        case ErrorCode::NotAStore: return "not-a-store";
        case ErrorCode::Corrupt: return "corrupt";
        case ErrorCode::DiskFull: return "disk-full";
        case ErrorCode::Busy: return "busy";
        case ErrorCode::UnsupportedVersion: return "unsupported-version";
        case ErrorCode::InvalidForm: return "invalid-form";
        case ErrorCode::InvalidArgument: return "invalid-argument";
        case ErrorCode::NotFound: return "not-found";
        case ErrorCode::InvalidTransition: return "invalid-transition";
        case ErrorCode::AuditBroken: return "audit-broken";
        case ErrorCode::Internal: return "internal";
        case ErrorCode::BadBatch: return "bad-batch";
        case ErrorCode::LimitExceeded: return "limit-exceeded";
    }
    return "unknown";
}

}  // namespace shenbao
