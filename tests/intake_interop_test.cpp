// Interop with the JavaScript reference tus client: tus-js-client on Node
// (tests/interop, installed by scripts/install-deps.sh with `npm ci`) uploads
// real batch files to shenbao-intake over HTTPS, trusting the test CA through
// NODE_EXTRA_CA_CERTS; the test then commits them and finds the records.
#include <doctest/doctest.h>

#include <filesystem>

#include "intake_support.h"

using namespace itest;
using namespace shenbao;

namespace {

std::string interop_dir() { return test::repo_path("tests/interop"); }

void require_node_packages() {
    REQUIRE_MESSAGE(std::filesystem::exists(interop_dir() + "/node_modules/tus-js-client/package.json"),
                    "tests/interop/node_modules is missing: run scripts/install-deps.sh (it runs `npm ci --prefix tests/interop`)");
}

test::CommandResult tus_js(const Commission& c, const std::string& file, const std::string& batch_id, const std::string& extra) {
    return test::run("NODE_EXTRA_CA_CERTS=" + shq(c.pki.ca) + " node " + shq(interop_dir() + "/tus_js_upload.mjs") +
                     " --endpoint " + c.server.url("/files/") + " --file " + shq(file) + " --kiosk-id " + c.kiosk.public_key.hex() +
                     " --batch-id " + batch_id + " " + extra);
}

std::string upload_id_in(const std::string& output) {
    auto at = output.find("/files/");
    REQUIRE_MESSAGE(at != std::string::npos, output);
    return output.substr(at + 7, 32);
}

}  // namespace

TEST_CASE("interop: tus-js-client uploads a batch to shenbao-intake over HTTPS, then it is committed and its records found") {
    require_node_packages();
    Commission c;
    std::vector<Record> records = make_records(20, 700);
    const std::string batch = c.batch(records);
    const std::string batch_id = batch_id_of(batch);
    const std::string file = c.dir.file(batch_id + ".shb");
    test::write_file(file, batch);

    auto run = tus_js(c, file, batch_id, "--chunk-size 65536");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output << "\n" << c.server.log_tail());
    const std::string id = upload_id_in(run.output);
    CHECK(c.tus.head(id).header("upload-offset") == std::to_string(batch.size()));
    // tus-js-client sent more than one PATCH.
    CHECK(c.server.log_tail().find("PATCH /files/" + id + " 204") != std::string::npos);

    Receipt receipt = c.verified(c.tus.commit(id), batch_id);
    REQUIRE(receipt.records.size() == records.size());
    CHECK(receipt.count(ReceiptOutcome::Accepted) == records.size());
    std::string rows = c.dump("SELECT id || '|' || data FROM records;");
    for (const Record& r : records) CHECK(rows.find(r.meta.id + "|" + r.data.dump() + "\n") != std::string::npos);
}

TEST_CASE("interop: tus-js-client resumes an upload another client began, from the offset shenbao-intake reports") {
    require_node_packages();
    Commission c;
    std::vector<Record> records = make_records(15, 800);
    const std::string batch = c.batch(records);
    const std::string batch_id = batch_id_of(batch);
    const std::string file = c.dir.file(batch_id + ".shb");
    test::write_file(file, batch);

    // Our own client sends the first 40,000 bytes, then "loses the link".
    Response created = c.tus.create(c.kiosk.public_key.hex(), batch_id, batch.size());
    REQUIRE(created.status == 201);
    const std::string id = Tus::id_of(created);
    REQUIRE(c.tus.patch(id, 0, batch.substr(0, 40000)).status == 204);

    auto run = tus_js(c, file, batch_id, "--chunk-size 32768 --upload-url " + c.server.url("/files/" + id));
    REQUIRE_MESSAGE(run.exit_code == 0, run.output << "\n" << c.server.log_tail());
    CHECK(upload_id_in(run.output) == id);
    CHECK(c.server.log_tail().find("HEAD /files/" + id + " 200") != std::string::npos);
    Receipt receipt = c.verified(c.tus.commit(id), batch_id);
    CHECK(receipt.count(ReceiptOutcome::Accepted) == records.size());
    CHECK(c.count("records") == static_cast<std::int64_t>(records.size()));
}
