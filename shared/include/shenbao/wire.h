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
// [SECTION] Details (shenbao-intake; the kinds are stable, the messages are not)
//
// - Every answer carries Tus-Resumable: 1.0.0 and Cache-Control: no-store.
// - tus requests without "Tus-Resumable: 1.0.0": 412 unsupported-tus-version, with
//   Tus-Version: 1.0.0.
// - POST /files/: Upload-Metadata must hold kiosk_id (64 hex or 44 base64) and
//   batch_id (ULID); both only route the upload — commit checks them against the
//   signed header. Missing/unparsable Upload-Length or metadata, Upload-Defer-Length,
//   a body (no creation-with-upload): 400 malformed. Upload-Length over Tus-Max-Size:
//   413 too-large. Unenrolled kiosk_id: 403 unknown-kiosk. More than 32 unfinished
//   uploads of one kiosk: 429 too-many-uploads. Disk too full: 507 disk-full.
//   Uncommitted uploads expire after 7 days (serve --upload-expiry-hours).
// - HEAD /files/<id>: 200 with Upload-Offset, Upload-Length and the Upload-Metadata
//   given at creation; waits for a PATCH in progress on that upload (up to 2 s, else
//   423 locked + Retry-After). Unknown upload: 404 unknown-upload. A committed upload
//   still answers (offset = length).
// - PATCH /files/<id>: other Content-Type: 415; Upload-Offset not where the upload
//   stands: 409 offset-mismatch with the right Upload-Offset; the chunk past
//   Upload-Length (or over Tus-Max-Size): 413 too-large; an Upload-Checksum algorithm
//   other than sha1: 400 unsupported-checksum-algorithm; mismatch: 460
//   checksum-mismatch (nothing written); a committed upload: 410 gone; another
//   request writing the same upload: 423 locked. A body cut off mid-way keeps the
//   bytes that arrived when it had no Upload-Checksum (tus core), and drops them when
//   it had one (they cannot be verified). The answer comes after the bytes are fsync'd.
//   "Expect: 100-continue" gets the refusal before the body is sent.
// - POST /batches/<upload_id>/commit: unknown upload: 404 unknown-upload; not all
//   bytes there: 409 incomplete-upload; the signer not enrolled: 403 unknown-kiosk;
//   a bad signature: 403 bad-signature; too-large, too-many-records,
//   record-too-large: 413; the other batch_error_names: 422; the file's kiosk or
//   batch id differ from the upload's metadata: 422 mismatch; the batch id was
//   committed by another kiosk: 409 batch-id-conflict; another commit running for
//   10 s: 503 busy. A refused commit changes nothing and is refused the same way
//   again. A batch committed before (replay: the same batch id, signed by the same
//   kiosk, in any upload) gets its stored receipt, byte for byte, with
//   "Shenbao-Replay: true", and nothing is stored again.
// - GET /batches/<batch_id>/receipt: 404 unknown-batch until committed.
// - Limits: bodies other than PATCH chunks at most 64 KiB; Upload-Metadata 4 KiB;
//   an idle connection closes after 5 s, a stalled body after 30 s.
//
// [SECTION] Receipt (JSON, canonical: keys sorted, no spaces), signed by the
// commission's Ed25519 receipt key; the agent verifies it before marking anything synced.
//
//   {"batch_id": "<ULID>", "kiosk_id": "<hex>", "receipt_version": 1, "received_ms": <int>,
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
//
// records lists every record of the batch once, in batch order. Invalid records
// are not stored, so a corrected copy sent later under the same id is accepted.
// receipt_version is 1; a reader refuses any other (shenbao/receipt.h builds,
// signs and verifies receipts: verify_receipt() is what the agent calls).
#pragma once

namespace shenbao::wire {

inline constexpr const char* kTusVersion = "1.0.0";
inline constexpr const char* kFilesPath = "/files/";
inline constexpr const char* kHealthPath = "/health";

}  // namespace shenbao::wire
