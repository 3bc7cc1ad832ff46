// Errors as values at the core's edge: every fallible public call returns a
// [[nodiscard]] Result<T> whose error says which file or field and what to do.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace shenbao {

enum class ErrorCode {
    Io,                  // a file could not be read or written (message names it)
    KeyFile,             // the key file is missing, unreadable or malformed
    WrongKey,            // the store exists but this key does not open it
    NotAStore,           // the file is not a SQLCipher store at all
    Corrupt,             // the store opened but failed its integrity check
    DiskFull,            // the disk (or a size limit) is full; nothing was half-saved
    Busy,                // another process held the store longer than the busy timeout
    UnsupportedVersion,  // a store or format newer than this program understands
    InvalidForm,         // a form definition broke FORMAT.md (message has file and JSON pointer)
    InvalidArgument,     // a caller passed something unusable (unknown field, bad value type)
    NotFound,            // no such record
    InvalidTransition,   // a lifecycle change the record's status does not allow
    AuditBroken,         // the audit chain does not verify
    Internal,            // an invariant failed; a bug
    BadBatch,            // a batch file was refused (batch.h's BatchError says why)
    LimitExceeded,       // something is over a named limit (message names it and what to do)
};

// Short stable name of a code, for logs and tests ("wrong-key").
const char* error_code_name(ErrorCode code);

struct Error {
    ErrorCode code;
    std::string message;  // for a person: what, where (file / field), what to do
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    // Valid only when ok().
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    // Valid only when !ok().
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

struct Ok {};

// Result of an operation with no value.
using Status = Result<Ok>;

inline Status ok_status() { return Ok{}; }

}  // namespace shenbao

// Returns the error of a Result-valued expression from the enclosing function.
#define SHENBAO_TRY(expr)                              \
    do {                                               \
        auto&& shenbao_try_r_ = (expr);                \
        if (!shenbao_try_r_.ok()) return shenbao_try_r_.error(); \
    } while (0)
