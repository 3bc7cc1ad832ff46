// The wire between shenbao-sync (libcurl) and shenbao-intake (cpp-httplib), over
// HTTPS only. Bytes move with tus 1.0.0 (core + creation + checksum), so any
// standard tus client or server interoperates; a small API of our own commits an
// uploaded batch and returns the commission's signed receipt.
//
// [SECTION] Endpoints (all under the intake's base URL, e.g. https://intake.example:8443)
//
// | method  | path                          | what                                                         |
// |---------|-------------------------------|--------------------------------------------------------------|
// | OPTIONS | /files/                       | tus discovery: Tus-Version 1.0.0, Tus-Extension              |
// |         |                               | "creation,checksum", Tus-Checksum-Algorithm "sha1",          |
// |         |                               | Tus-Max-Size = BatchLimits' largest batch                    |
// | POST    | /files/                       | tus creation: Upload-Length, Upload-Metadata (base64 values: |
// |         |                               | filename = <batch_id>.shb, batch_id, kiosk_id). 201 +        |
// |         |                               | Location: /files/<upload_id>. An unenrolled kiosk_id: 403.   |
// | HEAD    | /files/<upload_id>            | Upload-Offset, Upload-Length (resume from here)              |
// | PATCH   | /files/<upload_id>            | Content-Type application/offset+octet-stream, Upload-Offset, |
// |         |                               | Upload-Checksum "sha1 <base64>" of this chunk: 204 + new     |
// |         |                               | Upload-Offset; 409 offset mismatch; 460 checksum mismatch    |
// | POST    | /batches/<upload_id>/commit   | verify + decode + store the finished upload in one           |
// |         |                               | transaction; 200 + receipt (below). Idempotent: committing   |
// |         |                               | again returns the same receipt.                              |
// | GET     | /batches/<batch_id>/receipt   | the receipt of a committed batch (the same bytes every time) |
// | GET     | /health                       | 200 {"status":"ok","version":"…"}                            |
//
// Every request carries "Tus-Resumable: 1.0.0" (tus requests) and every answer of
// ours is JSON: errors are {"error": "<kind>", "message": "<for a person>"} with
// 400 (malformed), 403 (unenrolled / bad signature), 404, 409, 413 (over a limit),
// 422 (a batch refused: kind is a batch_error_name), 429/503 + Retry-After (busy).
//
// [SECTION] Receipt (JSON, canonical: keys sorted, no spaces), signed by the
// commission's Ed25519 receipt key; the agent verifies it before marking anything synced.
//
//   {"batch_id": "<ULID>", "kiosk_id": "<hex>", "received_ms": <int>,
//    "records": [{"id": "<ULID>", "content_hash": "<hex>",
//                 "result": "accepted" | "duplicate" | "conflict" | "invalid",
//                 "reason": "<for conflict/invalid, else absent>"}, …],
//    "signature": "<base64 Ed25519 over the canonical JSON without this key>"}
//
// accepted: stored now; duplicate: the same id and content hash was stored before
// (acknowledged, not stored twice); conflict: the same id arrived before with a
// different content hash (kept as it was; the new one refused); invalid: the
// record fails the form's validation (reason names the field). The agent marks
// accepted and duplicate records synced, and quarantines conflict and invalid ones
// with the reason (shown on the kiosk's staff screen).
#pragma once

namespace shenbao::wire {

inline constexpr const char* kTusVersion = "1.0.0";
inline constexpr const char* kFilesPath = "/files/";
inline constexpr const char* kHealthPath = "/health";

}  // namespace shenbao::wire
