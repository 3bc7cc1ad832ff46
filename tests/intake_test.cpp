// shenbao-intake over real HTTPS on 127.0.0.1 (a CA made by the test, verified
// by libcurl): tus uploads in chunks, commit, signed receipts, resume after a
// cut, idempotence and replay, duplicates / conflicts / invalid records, the
// golden and corrupt batches of tests/data/batches, flipped bytes, garbage on
// every endpoint (each refused with a JSON error, the database unchanged), the
// CLI, and a 1,000-record batch (bench/sync_bench.py measures the ingest rate).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>

#include "intake_support.h"

using namespace itest;
using namespace shenbao;

namespace {

std::string golden_dir() { return test::repo_path("tests/data/batches"); }

// `SELECT id, data FROM records` as a map (the shell prints "id|data" lines; data has no raw newlines).
std::map<std::string, std::string> stored_data(const Commission& c) {
    std::map<std::string, std::string> out;
    std::string text = c.dump("SELECT id || '|' || data FROM records;");
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        auto bar = line.find('|');
        if (bar != std::string::npos) out[line.substr(0, bar)] = line.substr(bar + 1);
    }
    return out;
}

Record with_data(Record r, const std::function<void(json&)>& change) {
    change(r.data);
    r.meta.content_hash = content_hash_of(r.data);
    return r;
}

std::string framed(const std::string& text) {
    std::string f;
    for (int i = 0; i < 4; ++i) f.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
    return f + text;
}

// A batch of `c`'s kiosk sealed by hand around `plaintext` (record frames) with a
// header telling the truth about it, unless `lie` changes the header or
// `compressed` (the zstd frame) is given instead.
std::string hand_sealed(const Commission& c, std::size_t records, const std::string& plaintext,
                        const std::function<void(BatchHeader&)>& lie = {}, std::optional<Bytes> compressed = std::nullopt) {
    BatchHeader h;
    h.batch_id = new_ulid();
    h.created_ms = now_ms();
    h.record_count = static_cast<std::uint32_t>(records);
    h.dictionary_id = dict()->id();
    h.plaintext_size = plaintext.size();
    crypto_hash_sha256(h.plaintext_sha256.data(), reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size());
    h.forms = {{form().form_id, form().version, static_cast<std::uint32_t>(records)}};
    if (lie) lie(h);
    if (!compressed) compressed = compress_payload(as_bytes(plaintext), dict().get(), 3).value();
    Bytes sealed = seal_batch(h, *compressed, c.kiosk, c.keys.public_key);
    return std::string(sealed.begin(), sealed.end());
}

}  // namespace

TEST_CASE("intake: health and tus discovery answer as wire.h says") {
    Commission c;
    {
        Https http(c.pki.ca);  // its own connection, closed before the stop below
        Response h = http.request("GET", c.server.url("/health"));
        CHECK(h.status == 200);
        CHECK(h.json_body()["status"] == "ok");
        CHECK(h.json_body()["version"] == SHENBAO_VERSION);
        Response o = http.request("OPTIONS", c.server.url("/files/"));
        CHECK(o.status == 204);
        CHECK(o.header("tus-version") == "1.0.0");
        CHECK(o.header("tus-resumable") == "1.0.0");
        CHECK(o.header("tus-extension") == "creation,checksum");
        CHECK(o.header("tus-checksum-algorithm") == "sha1");
        // The largest batch BatchLimits allows: 32 MiB of compressed payload plus framing.
        CHECK(std::stoull(o.header("tus-max-size")) > BatchLimits{}.max_compressed_bytes);
        CHECK(std::stoull(o.header("tus-max-size")) < BatchLimits{}.max_compressed_bytes + (1u << 20));
    }
    // A clean and prompt stop on SIGTERM.
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.server.stop() == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
}

TEST_CASE("intake: the raw HTTP exchanges of tests/data/intake get their answers, nothing stored") {
    Commission c;
    struct Exchange {
        const char* file;
        const char* status_line;
        const char* kind;  // nullptr: no error body
    };
    const Exchange exchanges[] = {
        {"options-discovery.http", "HTTP/1.1 204", nullptr},
        {"creation-without-tus-resumable.http", "HTTP/1.1 412", "unsupported-tus-version"},
        {"creation-claims-1-tib.http", "HTTP/1.1 413", "too-large"},
        {"creation-by-unenrolled-kiosk.http", "HTTP/1.1 403", "unknown-kiosk"},
        {"patch-of-unknown-upload.http", "HTTP/1.1 404", "unknown-upload"},
        {"patch-body-over-tus-max-size.http", "HTTP/1.1 413", "too-large"},
        {"commit-of-unknown-upload.http", "HTTP/1.1 404", "unknown-upload"},
        {"receipt-of-unknown-batch.http", "HTTP/1.1 404", "unknown-batch"},
        {"unknown-method.http", "HTTP/1.1 400", "malformed"},
        {"unknown-http-version.http", "HTTP/1.1 400", "malformed"},
        {"request-line-over-8-kib.http", "HTTP/1.1 414", "too-large"},
        {"random-bytes.bin", "HTTP/1.1 400", "malformed"},
    };
    const std::string dir = test::repo_path("tests/data/intake");
    std::set<std::string> listed;
    const std::string before = c.dump();
    for (const Exchange& e : exchanges) {
        const std::string file = e.file;
        CAPTURE(file);
        listed.insert(file);
        std::string request = test::read_file(dir + "/" + e.file);
        REQUIRE(!request.empty());
        if (std::string(e.file).ends_with(".http")) {  // LF in the file, CRLF on the wire (header lines only)
            std::size_t end = request.find("\n\n");
            std::string head = request.substr(0, end == std::string::npos ? request.size() : end + 2), crlf;
            for (char ch : head) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
            request = crlf + (end == std::string::npos ? "" : request.substr(end + 2));
        }
        std::string reply = raw_tls_exchange(c.server.port(), c.pki.ca, request);
        CHECK_MESSAGE(reply.rfind(e.status_line, 0) == 0, reply.substr(0, 300));
        if (e.kind) CHECK_MESSAGE(reply.find(std::string("{\"error\":\"") + e.kind + "\"") != std::string::npos, reply.substr(0, 400));
    }
    CHECK(c.dump() == before);
    CHECK(c.http.request("GET", c.server.url("/health")).status == 200);
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name != "README.md") CHECK_MESSAGE(listed.count(name) == 1, name << " is in tests/data/intake but not in this test's table");
    }
}

TEST_CASE("intake: a batch uploaded in checksummed chunks commits, and its signed receipt verifies and never changes") {
    Commission c;
    std::vector<Record> records = make_records(40, 100);
    std::string batch = c.batch(records, chunked(4096));
    const std::string batch_id = batch_id_of(batch);

    Response created = c.tus.create(c.kiosk.public_key.hex(), batch_id, batch.size());
    REQUIRE(created.status == 201);
    CHECK(created.header("location").rfind("/files/", 0) == 0);
    const std::string id = Tus::id_of(created);
    Response h = c.tus.head(id);
    CHECK(h.status == 200);
    CHECK(h.header("upload-offset") == "0");
    CHECK(h.header("upload-length") == std::to_string(batch.size()));
    CHECK(h.header("cache-control") == "no-store");
    CHECK(h.header("upload-metadata").find("kiosk_id ") != std::string::npos);
    CHECK(c.tus.send(id, batch, 0, 7000) == 0);
    CHECK(c.tus.head(id).header("upload-offset") == std::to_string(batch.size()));

    Response committed = c.tus.commit(id);
    Receipt receipt = c.verified(committed, batch_id);
    REQUIRE(receipt.records.size() == records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        CHECK(receipt.records[i].id == records[i].meta.id);
        CHECK(receipt.records[i].content_hash == records[i].meta.content_hash);
        CHECK(receipt.records[i].outcome == ReceiptOutcome::Accepted);
    }
    // The receipt is canonical JSON and says which receipt version it is.
    CHECK(committed.body.find(' ') == std::string::npos);
    CHECK(committed.json_body()["receipt_version"] == kReceiptVersion);

    // The same bytes every time: the receipt endpoint, and committing again.
    CHECK(c.tus.receipt(batch_id).body == committed.body);
    CHECK(c.tus.commit(id).body == committed.body);
    CHECK(c.tus.receipt(batch_id).body == committed.body);
    // The upload is finished: more bytes are refused.
    CHECK(c.tus.patch(id, batch.size(), "x").status == 410);

    // Stored byte-identical to what the kiosk froze at submit.
    auto stored = stored_data(c);
    REQUIRE(stored.size() == records.size());
    for (const Record& r : records) CHECK(stored[r.meta.id] == r.data.dump());
    CHECK(c.cli("districts").find("渝中区\t1\t40") != std::string::npos);

    // A receipt altered in transit does not verify; nor with another key.
    std::string altered = committed.body;
    altered.replace(altered.find("accepted"), 8, "conflict");
    CHECK(verify_receipt(altered, c.receipt_key).kind() == ReceiptErrorKind::Malformed);  // a conflict needs its reason
    altered = committed.body;
    altered[altered.find("\"received_ms\":") + 15] ^= 1;
    CHECK(verify_receipt(altered, c.receipt_key).kind() == ReceiptErrorKind::BadSignature);
    CHECK(verify_receipt(committed.body, generate_receipt_keys().public_key).kind() == ReceiptErrorKind::BadSignature);
    CHECK(verify_receipt(committed.body, c.receipt_key, new_ulid()).kind() == ReceiptErrorKind::Mismatch);
}

TEST_CASE("intake: an upload cut off mid-PATCH resumes from the offset HEAD gives") {
    Commission c;
    std::vector<Record> records = make_records(30, 200);
    std::string batch = c.batch(records);
    REQUIRE(batch.size() > 80'000);
    const std::string batch_id = batch_id_of(batch);
    Response created = c.tus.create(c.kiosk.public_key.hex(), batch_id, batch.size());
    REQUIRE(created.status == 201);
    const std::string id = Tus::id_of(created);
    REQUIRE(c.tus.patch(id, 0, batch.substr(0, 16384)).status == 204);

    SUBCASE("without a checksum the bytes that arrived are kept") {
        RequestOptions cut;
        cut.abort_after = 30000;
        Response r = c.tus.patch(id, 16384, batch.substr(16384, 60000), false, cut);
        CHECK(r.status == 0);  // the connection was cut: no answer
        std::size_t offset = 16384;
        for (int i = 0; i < 100 && offset == 16384; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            offset = std::stoul(c.tus.head(id).header("upload-offset"));
        }
        CHECK(offset > 16384);
        CHECK(offset <= 16384 + 30000);
        c.tus.send(id, batch, offset, 16384);
    }
    SUBCASE("with a checksum the unverifiable part is dropped") {
        RequestOptions cut;
        cut.abort_after = 30000;
        Response r = c.tus.patch(id, 16384, batch.substr(16384, 60000), true, cut);
        CHECK(r.status == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        Response h = c.tus.head(id);
        CHECK(h.header("upload-offset") == "16384");
        c.tus.send(id, batch, 16384, 16384);
    }
    Receipt receipt = c.verified(c.tus.commit(id), batch_id);
    CHECK(receipt.count(ReceiptOutcome::Accepted) == records.size());
    CHECK(c.count("records") == static_cast<std::int64_t>(records.size()));
}

TEST_CASE("intake: committing again and replaying a batch return the same receipt and store nothing twice") {
    Commission c;
    std::vector<Record> records = make_records(12, 300);
    std::string batch = c.batch(records);
    const std::string batch_id = batch_id_of(batch);
    Response first = c.upload_and_commit(batch);
    REQUIRE(first.status == 200);
    CHECK(first.header("shenbao-replay").empty());
    const std::string before = c.stored();

    // The very same bytes in a new upload (the agent lost the receipt after the commit).
    Response replay = c.upload_and_commit(batch);
    CHECK(replay.status == 200);
    CHECK(replay.body == first.body);
    CHECK(replay.header("shenbao-replay") == "true");
    // The same records re-sealed under the same batch id (fresh key, so other bytes).
    std::string resealed = c.batch(records, with_batch_id(batch_id));
    REQUIRE(resealed != batch);
    Response again = c.upload_and_commit(resealed);
    CHECK(again.status == 200);
    CHECK(again.body == first.body);
    CHECK(c.stored() == before);
    CHECK(c.count("records") == 12);
    CHECK(c.count("batches") == 1);
}

TEST_CASE("intake: duplicates, conflicts and invalid records are listed in the receipt with their reasons") {
    Commission c;
    std::vector<Record> first = make_records(3, 400);
    Receipt r1 = c.verified(c.upload_and_commit(c.batch(first)), "");
    CHECK(r1.count(ReceiptOutcome::Accepted) == 3);

    Record same = first[0];
    Record changed = with_data(first[1], [](json& d) { d["alliance_name"] = "重庆市改名产业技术创新联盟"; });
    Record missing = with_data(make_record(410), [](json& d) { d.erase("alliance_name"); });
    Record fresh = make_record(411);
    Record later_form = make_record(412);
    later_form.meta.form_version = 99;
    std::vector<Record> second = {same, changed, missing, fresh, later_form};
    std::string batch2 = c.batch(second);
    Receipt r2 = c.verified(c.upload_and_commit(batch2), batch_id_of(batch2));
    REQUIRE(r2.records.size() == 5);
    CHECK(r2.records[0].outcome == ReceiptOutcome::Duplicate);
    CHECK(r2.records[0].reason.empty());
    CHECK(r2.records[1].outcome == ReceiptOutcome::Conflict);
    CHECK(r2.records[1].reason.find(first[1].meta.id) != std::string::npos);
    CHECK(r2.records[2].outcome == ReceiptOutcome::Invalid);
    CHECK(r2.records[2].reason.find("alliance_name") != std::string::npos);  // names the field
    CHECK(r2.records[3].outcome == ReceiptOutcome::Accepted);
    CHECK(r2.records[4].outcome == ReceiptOutcome::Invalid);
    CHECK(r2.records[4].reason.find("version 99") != std::string::npos);

    // Stored: the first batch's three and the fresh one; the conflicting copy did not overwrite.
    auto stored = stored_data(c);
    CHECK(stored.size() == 4);
    CHECK(stored[first[1].meta.id] == first[1].data.dump());
    CHECK(stored.count(missing.meta.id) == 0);
    CHECK(stored.count(fresh.meta.id) == 1);

    // The corrected record, sent again, is accepted: invalid ones were not stored.
    Record corrected = with_data(missing, [](json& d) { d["alliance_name"] = "重庆市补正产业技术创新联盟"; });
    Receipt r3 = c.verified(c.upload_and_commit(c.batch(std::vector<Record>{corrected})), "");
    CHECK(r3.records.at(0).outcome == ReceiptOutcome::Accepted);
}

TEST_CASE("intake: the golden and corrupt batches of tests/data/batches are refused with their kind, nothing stored") {
    Commission c("江北区", false);
    // The golden batches are sealed to a committed test key: this commission uses it.
    ::unlink((c.data + "/commission.key").c_str());
    test::write_file(c.data + "/commission.key", test::read_file(golden_dir() + "/golden-commission.key"));
    ::chmod((c.data + "/commission.key").c_str(), 0600);
    const KioskPublicKey golden = parse_kiosk_public_key("9dd4545ffc8c3c15d90f941cca34a02f5f0bd27b798d00fff4053786be518cd3", "golden").value();
    c.enrol(golden, "江北区");
    c.server.start();

    struct Expect {
        const char* file;
        long status;
        const char* kind;
    };
    const Expect cases[] = {
        {"not-a-batch.txt", 422, "not-a-batch"},
        {"truncated-mid-chunk.batch", 422, "truncated"},
        {"trailing-garbage.batch", 422, "trailing-data"},
        {"flipped-byte-in-sealed-key.batch", 403, "bad-signature"},
        {"flipped-byte-in-chunk-2.batch", 403, "bad-signature"},
        {"flipped-byte-in-signature.batch", 403, "bad-signature"},
        {"flipped-byte-in-form-table.batch", 403, "bad-signature"},
        {"unsupported-version-2.batch", 422, "unsupported-version"},
        {"signed-by-unenrolled-kiosk.batch", 403, "unknown-kiosk"},
        {"sealed-to-another-commission.batch", 422, "not-for-this-commission"},
        {"unknown-dictionary-12345.batch", 422, "unknown-dictionary"},
        {"claims-1-tib-plaintext.batch", 413, "too-large"},
        {"claims-20000-records.batch", 413, "too-many-records"},
        {"bomb-inflates-1-gib-past-1-mib-claim.batch", 413, "too-large"},
        {"claims-one-record-more-than-it-holds.batch", 422, "mismatch"},
        {"plaintext-hash-mismatch.batch", 422, "mismatch"},
        {"record-altered-after-submit.batch", 422, "bad-record"},
        {"data-after-compressed-frame.batch", 422, "corrupt"},
        {"compressed-stream-is-noise.batch", 422, "corrupt"},
        {"review-with-unknown-decision.batch", 422, "bad-record"},
    };
    for (const Expect& e : cases) {
        CAPTURE(e.file);
        const std::string bytes = test::read_file(golden_dir() + "/" + e.file);
        REQUIRE(!bytes.empty());
        auto peeked = peek_header(as_bytes(bytes));
        const std::string batch_id = peeked.ok() ? peeked->batch_id : new_ulid();
        Response created = c.tus.create(golden.hex(), batch_id, bytes.size());  // the upload claims the enrolled kiosk
        REQUIRE(created.status == 201);
        const std::string id = Tus::id_of(created);
        c.tus.send(id, bytes, 0, 8192);
        const std::string before = c.dump();
        const auto started = std::chrono::steady_clock::now();
        Response r = c.tus.commit(id);
        CHECK(r.status == e.status);
        CHECK_MESSAGE(r.is_json_error(e.kind), r.body);
        CHECK(c.dump() == before);
        // Refused again, the same way, if asked again.
        CHECK(c.tus.commit(id).status == e.status);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
    }
    CHECK(c.count("records") == 0);
    CHECK(c.count("batches") == 0);

    // The golden batch itself goes in, exactly as expected.json says.
    const std::string golden_batch = test::read_file(golden_dir() + "/golden-3-records.batch");
    json expected = json::parse(test::read_file(golden_dir() + "/golden-3-records.expected.json"));
    Response ok = c.upload_and_commit(golden_batch);
    REQUIRE(ok.status == 200);
    auto v = verify_receipt(ok.body, c.receipt_key, expected["batch_id"].get<std::string>(), golden.hex());
    REQUIRE(v.ok());
    REQUIRE(v.value().records.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(v.value().records[i].id == expected["records"][i]["id"]);
        CHECK(v.value().records[i].content_hash == expected["records"][i]["content_hash"]);
        CHECK(v.value().records[i].outcome == ReceiptOutcome::Accepted);
    }
    CHECK(c.cli("districts").find("江北区\t2\t3") != std::string::npos);
}

TEST_CASE("intake: a flipped byte anywhere, a truncated batch, an unenrolled kiosk: refused, nothing stored") {
    Commission c;
    std::vector<Record> records = make_records(6, 500);
    const std::string batch = c.batch(records, chunked(4096));
    const BatchHeader h = peek_header(as_bytes(batch)).value();
    const std::size_t H = h.header_size(), n = batch.size();
    const std::size_t positions[] = {0, 9, 13, 20, 50, 75, 80, 90, 100, 110, 130, H - 2, H + 5, H + 90, H + 110,
                                     H + 104 + 4096 + 20, n / 2, n - 70, n - 65, n - 30, n - 1};
    auto commit_refused = [&](const std::string& bytes, const std::string& what) {
        CAPTURE(what);
        Response created = c.tus.create(c.kiosk.public_key.hex(), h.batch_id, bytes.size());
        REQUIRE(created.status == 201);
        const std::string id = Tus::id_of(created);
        c.tus.send(id, bytes, 0, 16384);
        const std::string before = c.dump();
        Response r = c.tus.commit(id);
        CHECK((r.status == 403 || r.status == 413 || r.status == 422));
        json j = r.json_body();
        CHECK_MESSAGE((j.is_object() && j.contains("error") && j.contains("message")), r.body);
        CHECK(c.dump() == before);
        return j.value("error", "");
    };
    std::set<std::string> kinds;
    for (std::size_t at : positions) {
        std::string flipped = batch;
        flipped[at] = static_cast<char>(flipped[at] ^ 0x20);
        kinds.insert(commit_refused(flipped, "byte " + std::to_string(at) + " of " + std::to_string(n) + " flipped"));
    }
    MESSAGE("refusal kinds seen: " << [&] { std::string s; for (auto& k : kinds) s += k + " "; return s; }());
    CHECK(kinds.count("bad-signature") == 1);
    CHECK(commit_refused(batch.substr(0, n - 1), "one byte short") == "truncated");
    CHECK(commit_refused(batch.substr(0, n / 2), "half") == "truncated");
    CHECK(c.count("records") == 0);

    // Signed by a kiosk nobody enrolled: refused at creation already, nothing stored.
    KioskIdentity stranger = generate_kiosk_identity();
    std::string foreign = encode(records, stranger, c.keys.public_key);
    const std::int64_t uploads = c.count("uploads");
    Response refused = c.tus.create(stranger.public_key.hex(), batch_id_of(foreign), foreign.size());
    CHECK(refused.status == 403);
    CHECK(refused.is_json_error("unknown-kiosk"));
    CHECK(refused.body.find(stranger.public_key.hex()) != std::string::npos);
    CHECK(c.count("uploads") == uploads);

    // The unaltered batch was good all along.
    Receipt ok = c.verified(c.upload_and_commit(batch), h.batch_id);
    CHECK(ok.count(ReceiptOutcome::Accepted) == records.size());
}

TEST_CASE("intake: a batch refused after 150 good records were stored in its transaction stores nothing, and then commits whole") {
    Commission c;
    // The intake stores records while the batch is still being decoded; these
    // batches turn out bad only at record 150 or at their very end.
    std::vector<Record> records = make_records(160, 30'000);
    std::string plaintext;
    for (const Record& r : records) plaintext += frame_record(r).value();
    Record altered = records[150];
    altered.data["alliance_name"] = "重庆市篡改产业技术创新联盟";  // the content hash stays the kiosk's
    std::string tampered;
    for (std::size_t i = 0; i < records.size(); ++i) tampered += frame_record(i == 150 ? altered : records[i]).value();
    Bytes cut = compress_payload(as_bytes(plaintext), dict().get(), 3).value();
    cut.resize(cut.size() - 200);  // the zstd frame ends early: the last records never arrive

    struct Late {
        const char* what;
        std::string batch;
        const char* kind;
    };
    const Late lates[] = {
        {"header claims one record more", hand_sealed(c, records.size(), plaintext, [](BatchHeader& h) {
             ++h.record_count;
             ++h.forms.front().records;
         }), "mismatch"},
        {"record 151 altered after the kiosk froze it", hand_sealed(c, records.size(), tampered), "bad-record"},
        {"plaintext hash wrong", hand_sealed(c, records.size(), plaintext, [](BatchHeader& h) { h.plaintext_sha256[0] ^= 1; }),
         "mismatch"},
        {"compressed stream cut short", hand_sealed(c, records.size(), plaintext, {}, cut), "corrupt"},
    };
    for (const Late& late : lates) {
        CAPTURE(late.what);
        const BatchHeader h = peek_header(as_bytes(late.batch)).value();
        Response created = c.tus.create(c.kiosk.public_key.hex(), h.batch_id, late.batch.size());
        REQUIRE(created.status == 201);
        const std::string id = Tus::id_of(created);
        c.tus.send(id, late.batch, 0, 1 << 20);
        const std::string before = c.dump();
        Response r = c.tus.commit(id);
        CHECK(r.status == 422);
        CHECK_MESSAGE(r.is_json_error(late.kind), r.body);
        CHECK(c.dump() == before);  // no record, no batch row, the upload still uncommitted
        CHECK(c.tus.commit(id).is_json_error(late.kind));  // and refused the same way again
    }
    CHECK(c.count("records") == 0);
    CHECK(c.count("batches") == 0);

    // Nothing of the refused batches lingers: the same records are all accepted, not duplicates.
    const std::string good = hand_sealed(c, records.size(), plaintext);
    Receipt receipt = c.verified(c.upload_and_commit(good, 1 << 20), batch_id_of(good));
    CHECK(receipt.count(ReceiptOutcome::Accepted) == records.size());
    auto stored = stored_data(c);
    REQUIRE(stored.size() == records.size());
    CHECK(stored[records[150].meta.id] == records[150].data.dump());
}

TEST_CASE("intake: a record framed as equivalent JSON (other key order, indented data) is stored with the canonical bytes") {
    Commission c;
    std::vector<Record> records = make_records(2, 31'000);
    const Record& r = records[1];
    // Not what frame_record writes, so the decoder's canonical-text check fails; the data
    // re-serialised still has the content hash, and that canonical text is what is stored.
    const std::string loose = framed("{\"id\":" + json(r.meta.id).dump() + ", \"submitted_ms\":" + std::to_string(*r.meta.submitted_ms) +
                                     ", \"form_version\":1, \"form_id\":\"alliance-2022\", \"content_hash\":\"" +
                                     r.meta.content_hash + "\",\n \"data\":" + r.data.dump(2) + "}");
    const std::string batch = hand_sealed(c, 2, frame_record(records[0]).value() + loose);
    Receipt receipt = c.verified(c.upload_and_commit(batch), batch_id_of(batch));
    CHECK(receipt.count(ReceiptOutcome::Accepted) == 2);
    auto stored = stored_data(c);
    CHECK(stored[records[0].meta.id] == records[0].data.dump());
    CHECK(stored[r.meta.id] == r.data.dump());
    CHECK(stored[r.meta.id] != r.data.dump(2));
}

TEST_CASE("intake: garbage on every endpoint is refused with a JSON error and the database unchanged") {
    Commission c;
    const std::string kiosk = c.kiosk.public_key.hex(), batch_id = new_ulid();
    Response created = c.tus.create(kiosk, batch_id, 1000);
    REQUIRE(created.status == 201);
    const std::string id = Tus::id_of(created);
    const std::string before = c.dump();
    std::mt19937 rng(4);
    auto random_bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (char& ch : s) ch = static_cast<char>(rng());
        return s;
    };
    const std::string files = c.server.url("/files/"), upload = c.server.url("/files/" + id);
    const std::string tus = "Tus-Resumable: 1.0.0", octets = "Content-Type: application/offset+octet-stream";
    struct Case {
        std::string what, method, url;
        std::vector<std::string> headers;
        std::string body;
        long status;
        std::string kind;
    };
    const std::vector<Case> cases = {
        {"creation without Tus-Resumable", "POST", files, {"Upload-Length: 10", metadata(kiosk, batch_id)}, "", 412, "unsupported-tus-version"},
        {"creation with tus 0.2.2", "POST", files, {"Tus-Resumable: 0.2.2", "Upload-Length: 10", metadata(kiosk, batch_id)}, "", 412, "unsupported-tus-version"},
        {"creation without Upload-Length", "POST", files, {tus, metadata(kiosk, batch_id)}, "", 400, "malformed"},
        {"negative Upload-Length", "POST", files, {tus, "Upload-Length: -5", metadata(kiosk, batch_id)}, "", 400, "malformed"},
        {"Upload-Length not a number", "POST", files, {tus, "Upload-Length: 12abc", metadata(kiosk, batch_id)}, "", 400, "malformed"},
        {"Upload-Length of 20 digits", "POST", files, {tus, "Upload-Length: 99999999999999999999", metadata(kiosk, batch_id)}, "", 400, "malformed"},
        {"huge Upload-Length", "POST", files, {tus, "Upload-Length: 1000000000000", metadata(kiosk, batch_id)}, "", 413, "too-large"},
        {"deferred length", "POST", files, {tus, "Upload-Defer-Length: 1", metadata(kiosk, batch_id)}, "", 400, "malformed"},
        {"no metadata", "POST", files, {tus, "Upload-Length: 10"}, "", 400, "malformed"},
        {"metadata not base64", "POST", files, {tus, "Upload-Length: 10", "Upload-Metadata: kiosk_id !!!!,batch_id ????"}, "", 400, "malformed"},
        {"metadata kiosk_id not a key", "POST", files, {tus, "Upload-Length: 10", "Upload-Metadata: kiosk_id " + b64("me") + ",batch_id " + b64(batch_id)}, "", 400, "malformed"},
        {"metadata batch_id not a ULID", "POST", files, {tus, "Upload-Length: 10", "Upload-Metadata: kiosk_id " + b64(kiosk) + ",batch_id " + b64("batch-1")}, "", 400, "malformed"},
        {"metadata key twice", "POST", files, {tus, "Upload-Length: 10", metadata(kiosk, batch_id) + ",batch_id " + b64(batch_id)}, "", 400, "malformed"},
        {"metadata of 5,000 bytes", "POST", files, {tus, "Upload-Length: 10", metadata(kiosk, batch_id) + ",pad " + b64(std::string(3700, 'x'))}, "", 400, "malformed"},
        {"unenrolled kiosk", "POST", files, {tus, "Upload-Length: 10", metadata(generate_kiosk_identity().public_key.hex(), batch_id)}, "", 403, "unknown-kiosk"},
        {"random bytes with the creation", "POST", files, {tus, "Upload-Length: 10", metadata(kiosk, batch_id)}, random_bytes(3000), 400, "malformed"},
        {"a creation body over the limit", "POST", files, {tus, "Upload-Length: 10", metadata(kiosk, batch_id)}, random_bytes(200'000), 400, "malformed"},
        {"PATCH at the wrong offset", "PATCH", upload, {tus, octets, "Upload-Offset: 5"}, random_bytes(100), 409, "offset-mismatch"},
        {"PATCH without Upload-Offset", "PATCH", upload, {tus, octets}, random_bytes(100), 400, "malformed"},
        {"PATCH with a negative offset", "PATCH", upload, {tus, octets, "Upload-Offset: -1"}, random_bytes(100), 400, "malformed"},
        {"PATCH of another content type", "PATCH", upload, {tus, "Content-Type: application/json", "Upload-Offset: 0"}, "{}", 415, "unsupported-media-type"},
        {"PATCH without Tus-Resumable", "PATCH", upload, {octets, "Upload-Offset: 0"}, random_bytes(100), 412, "unsupported-tus-version"},
        {"PATCH with a bad checksum", "PATCH", upload, {tus, octets, "Upload-Offset: 0", "Upload-Checksum: sha1 " + sha1_b64("other bytes")}, random_bytes(100), 460, "checksum-mismatch"},
        {"PATCH with an md5 checksum", "PATCH", upload, {tus, octets, "Upload-Offset: 0", "Upload-Checksum: md5 " + b64(random_bytes(16))}, random_bytes(100), 400, "unsupported-checksum-algorithm"},
        {"PATCH with a checksum not base64", "PATCH", upload, {tus, octets, "Upload-Offset: 0", "Upload-Checksum: sha1 @@@"}, random_bytes(100), 400, "malformed"},
        {"PATCH past Upload-Length", "PATCH", upload, {tus, octets, "Upload-Offset: 0"}, random_bytes(1001), 413, "too-large"},
        {"PATCH of an unknown upload", "PATCH", c.server.url("/files/0123456789abcdef0123456789abcdef"), {tus, octets, "Upload-Offset: 0"}, random_bytes(10), 404, "unknown-upload"},
        {"PATCH of a path outside /files", "PATCH", c.server.url("/files/../../etc/passwd"), {tus, octets, "Upload-Offset: 0"}, random_bytes(10), 404, "not-found"},
        {"GET of an upload", "GET", upload, {tus}, "", 405, "method-not-allowed"},
        {"DELETE of an upload (no termination)", "DELETE", upload, {tus}, "", 405, "method-not-allowed"},
        {"commit of an incomplete upload", "POST", c.server.url("/batches/" + id + "/commit"), {}, "", 409, "incomplete-upload"},
        {"commit of an unknown upload", "POST", c.server.url("/batches/0123456789abcdef0123456789abcdef/commit"), {}, "", 404, "unknown-upload"},
        {"commit with a 100 KB body", "POST", c.server.url("/batches/" + id + "/commit"), {}, random_bytes(100'000), 413, "too-large"},
        {"receipt of an unknown batch", "GET", c.server.url("/batches/" + new_ulid() + "/receipt"), {}, "", 404, "unknown-batch"},
        {"receipt of a malformed batch id", "GET", c.server.url("/batches/nope/receipt"), {}, "", 404, "not-found"},
        {"an unknown endpoint with random bytes", "POST", c.server.url("/admin"), {}, random_bytes(5000), 404, "not-found"},
        {"PUT on /files/", "PUT", files, {tus}, random_bytes(50), 405, "method-not-allowed"},
    };
    for (const Case& k : cases) {
        CAPTURE(k.what);
        Response r = c.http.request(k.method, k.url, k.headers, k.body);
        CHECK(r.status == k.status);
        CHECK_MESSAGE(r.is_json_error(k.kind), r.body);
        if (k.status == 412) CHECK(r.header("tus-version") == "1.0.0");
    }
    // HEAD answers have no body: the status says it.
    CHECK(c.tus.head("0123456789abcdef0123456789abcdef").status == 404);
    CHECK(c.http.request("HEAD", upload, {}).status == 412);
    // A wrong offset announced with Expect: 100-continue is refused before the body is sent.
    RequestOptions expect;
    expect.expect_continue = true;
    Response early = c.http.request("PATCH", upload, {tus, octets, "Upload-Offset: 7"}, random_bytes(900), expect);
    CHECK(early.status == 409);
    CHECK(early.header("upload-offset") == "0");
    CHECK(early.is_json_error("offset-mismatch"));
    // Random bytes as a whole request, and a request line of nonsense.
    for (const std::string& garbage : {random_bytes(2000) + "\r\n\r\n", std::string("FROB /files/ HTTP/1.1\r\nHost: x\r\n\r\n"),
                                       std::string("GET /health HTTP/9.9\r\n\r\n")}) {
        std::string reply = raw_tls_exchange(c.server.port(), c.pki.ca, garbage);
        CHECK_MESSAGE(reply.rfind("HTTP/1.1 4", 0) == 0, reply);
        CHECK(reply.find("{\"error\":") != std::string::npos);
    }
    // Nothing changed, not even the upload's offset; the server is still well.
    CHECK(c.tus.head(id).header("upload-offset") == "0");
    CHECK(c.dump() == before);
    CHECK(c.http.request("GET", c.server.url("/health")).status == 200);

    // A whole upload of random bytes, committed: not a batch; nothing stored.
    std::string noise = random_bytes(1000);
    CHECK(c.tus.send(id, noise, 0, 400) == 0);
    const std::string uploaded = c.dump();
    Response r = c.tus.commit(id);
    CHECK(r.status == 422);
    CHECK(r.is_json_error("not-a-batch"));
    CHECK(c.dump() == uploaded);
}

TEST_CASE("intake: the CLI enrols, lists districts, exports JSON and CSV, and refuses what it must") {
    Commission c("渝中区", false);
    const std::string cli = intake_cli() + " --data-dir " + shq(c.data);
    // Keys are never overwritten.
    auto again = test::run(cli + " keygen");
    CHECK(again.exit_code == 4);
    CHECK(again.output.find("never overwrites") != std::string::npos);
    // Enrolment: a bad key is a usage error; a second district needs --move.
    CHECK(test::run(cli + " enrol --kiosk-key nothex --district 渝中区").exit_code == 1);
    CHECK(test::run(cli + " enrol --kiosk-key " + c.kiosk.public_key.base64() + " --district 渝中区").output.find("already") != std::string::npos);
    auto moved = test::run(cli + " enrol --kiosk-key " + c.kiosk.public_key.hex() + " --district 沙坪坝区");
    CHECK(moved.exit_code == 4);
    CHECK(moved.output.find("--move") != std::string::npos);
    KioskIdentity second = generate_kiosk_identity();
    c.enrol(second.public_key, "沙坪坝区");
    CHECK(test::run(cli + " enrol --kiosk-key " + second.public_key.hex() + " --district 北碚区 --move").exit_code == 0);
    // serve: no TLS files, no keys, a port in use.
    CHECK(test::run(cli + " serve --listen 127.0.0.1:0 --cert /nonexistent.pem --key /nonexistent.key").exit_code == 3);
    test::TempDir empty;
    CHECK(test::run(intake_cli() + " --data-dir " + shq(empty.file("d")) + " serve --listen 127.0.0.1:0 --cert " + c.pki.cert +
                    " --key " + c.pki.key).exit_code == 2);
    CHECK(test::run(cli + " serve --listen nowhere --cert x --key y").exit_code == 1);
    c.server.start();
    CHECK(test::run(cli + " serve --listen 127.0.0.1:" + std::to_string(c.server.port()) + " --cert " + c.pki.cert + " --key " + c.pki.key)
              .exit_code == 3);

    std::vector<Record> records = make_records(5, 600);
    records[2].data["alliance_name"] = "=HYPERLINK(\"http://x\")重庆市公式产业技术创新联盟";  // a cell a spreadsheet would run
    records[2].meta.content_hash = content_hash_of(records[2].data);
    // The district's decisions ride along (batch.h "review"); records[0] carries none, as from an older kiosk.
    records[1].review = RecordReview{ReviewDecision::NotRecommend, "=1+1 不符合条件, 见\"说明\"", "王强", 1'650'000'000'123};
    records[3].review = RecordReview{ReviewDecision::Recommend, "", "李娜", 1'650'000'000'456};
    Receipt receipt = c.verified(c.upload_and_commit(c.batch(records)), "");
    CHECK(receipt.count(ReceiptOutcome::Accepted) == 5);

    const std::string districts = c.cli("districts");
    CHECK(districts.rfind("district\tkiosks\trecords\n", 0) == 0);
    CHECK(districts.find("渝中区\t1\t5") != std::string::npos);
    CHECK(districts.find("北碚区\t1\t0") != std::string::npos);

    test::TempDir out;
    c.cli("export --format json --out " + shq(out.file("records.json")));
    const std::string text = test::read_file(out.file("records.json"));
    json exported = json::parse(text);
    REQUIRE(exported.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(exported[i]["id"] == records[i].meta.id);
        CHECK(exported[i]["district"] == "渝中区");
        CHECK(exported[i]["content_hash"] == records[i].meta.content_hash);
        CHECK(text.find("\"data\":" + records[i].data.dump() + "}") != std::string::npos);  // byte for byte
    }
    CHECK(exported[0]["review"].is_null());
    CHECK(exported[1]["review"] == json{{"at_ms", 1'650'000'000'123}, {"decision", "not-recommend"},
                                        {"reason", "=1+1 不符合条件, 见\"说明\""}, {"reviewer", "王强"}});
    CHECK(exported[3]["review"] == json{{"at_ms", 1'650'000'000'456}, {"decision", "recommend"}, {"reason", ""}, {"reviewer", "李娜"}});
    c.cli("export --format csv --out " + shq(out.file("records.csv")));
    const std::string csv = test::read_file(out.file("records.csv"));
    CHECK(csv.rfind("id,district,kiosk_id,batch_id,form_id,form_version,content_hash,submitted_ms,received_ms,"
                    "review_decision,review_reason,reviewer,review_at_ms,alliance_name,", 0) == 0);
    CHECK(csv.find(",not-recommend,\"'=1+1 不符合条件, 见\"\"说明\"\"\",王强,1650000000123,") != std::string::npos);  // defused, quoted
    CHECK(csv.find(",recommend,,李娜,1650000000456,") != std::string::npos);
    for (const Record& r : records) CHECK(csv.find("\r\n" + r.meta.id + ",渝中区,") != std::string::npos);
    CHECK(csv.find(",\"'=HYPERLINK(\"\"http://x\"\")") != std::string::npos);  // defused and quoted
    // Written through a temporary file: nothing else is left in the folder.
    CHECK(test::run("ls " + shq(out.path())).output == "records.csv\nrecords.json\n");
    CHECK(test::run(cli + " export --format xml --out x").exit_code == 1);
}

TEST_CASE("intake: a schema-1 database (before reviews) migrates to 2, its records exported with review null") {
    test::TempDir d;
    const std::string db = d.file("intake.db");
    // The schema-1 tables as intake_db.cpp created them, with one stored record.
    test::write_file(d.file("v1.sql"), R"sql(
CREATE TABLE kiosks (kiosk_id TEXT PRIMARY KEY NOT NULL, district TEXT NOT NULL, enrolled_ms INTEGER NOT NULL);
CREATE TABLE uploads (upload_id TEXT PRIMARY KEY NOT NULL, kiosk_id TEXT NOT NULL REFERENCES kiosks(kiosk_id), batch_id TEXT NOT NULL,
  metadata TEXT NOT NULL, upload_length INTEGER NOT NULL, upload_offset INTEGER NOT NULL, created_ms INTEGER NOT NULL, committed_ms INTEGER);
CREATE INDEX uploads_by_kiosk ON uploads(kiosk_id, committed_ms);
CREATE TABLE batches (batch_id TEXT PRIMARY KEY NOT NULL, kiosk_id TEXT NOT NULL, committed_ms INTEGER NOT NULL, receipt TEXT NOT NULL);
CREATE TABLE records (id TEXT PRIMARY KEY NOT NULL, kiosk_id TEXT NOT NULL, batch_id TEXT NOT NULL REFERENCES batches(batch_id),
  form_id TEXT NOT NULL, form_version INTEGER NOT NULL, content_hash TEXT NOT NULL, submitted_ms INTEGER, data TEXT NOT NULL,
  received_ms INTEGER NOT NULL);
CREATE INDEX records_by_kiosk ON records(kiosk_id);
INSERT INTO kiosks VALUES ('aa', '渝北区', 1);
INSERT INTO batches VALUES ('01HBATCH000000000000000000', 'aa', 2, '{}');
INSERT INTO records VALUES ('01HRECORD00000000000000000', 'aa', '01HBATCH000000000000000000', 'alliance-2022', 1, 'ff', 3,
  '{"alliance_name":"旧联盟"}', 4);
PRAGMA user_version = 1;
)sql");
    REQUIRE(test::run("sqlcipher -batch " + shq(db) + " < " + shq(d.file("v1.sql"))).exit_code == 0);
    auto r = test::run(intake_cli() + " --data-dir " + shq(d.path()) + " export --format json --out " + shq(d.file("out.json")));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    json exported = json::parse(test::read_file(d.file("out.json")));
    REQUIRE(exported.size() == 1);
    CHECK(exported[0]["id"] == "01HRECORD00000000000000000");
    CHECK(exported[0]["district"] == "渝北区");
    CHECK(exported[0]["data"] == json{{"alliance_name", "旧联盟"}});
    CHECK(exported[0]["review"].is_null());
    CHECK(test::run("sqlcipher -batch " + shq(db) + " 'PRAGMA user_version;'").output == "2\n");
}

TEST_CASE("intake: a 1,000-record batch is stored whole on loopback (figures printed: bench/sync_bench.py measures the rate)") {
    Commission c;
    std::vector<Record> records = make_records(1000, 10'000);
    std::string batch = c.batch(records);
    const std::string batch_id = batch_id_of(batch);
    const auto t0 = std::chrono::steady_clock::now();
    Response created = c.tus.create(c.kiosk.public_key.hex(), batch_id, batch.size());
    REQUIRE(created.status == 201);
    c.tus.send(Tus::id_of(created), batch, 0, 1 << 20);
    const auto t1 = std::chrono::steady_clock::now();
    Response committed = c.tus.commit(Tus::id_of(created));
    const auto t2 = std::chrono::steady_clock::now();
    Receipt receipt = c.verified(committed, batch_id);
    CHECK(receipt.count(ReceiptOutcome::Accepted) == 1000);
    CHECK(c.count("records") == 1000);
    const double upload_s = std::chrono::duration<double>(t1 - t0).count(), commit_s = std::chrono::duration<double>(t2 - t1).count();
    MESSAGE("1,000 records, batch " << batch.size() / 1024 << " KiB: upload " << upload_s << " s, commit " << commit_s << " s = "
                                    << static_cast<int>(1000 / commit_s) << " records/s ingested, "
                                    << static_cast<int>(1000 / (upload_s + commit_s)) << " records/s end to end");
    MESSAGE("server peak memory (VmHWM): " << c.server.peak_memory_kib() / 1024 << " MiB");
    const std::string log = c.server.log_tail();
    const auto line = log.find(batch_id + " from kiosk");
    if (line != std::string::npos) MESSAGE("server: " << log.substr(line, log.find('\n', line) - line));
}
