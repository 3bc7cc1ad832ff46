// The kiosk's staff paper actions through the model (no window): 附件3 into the
// export folder, the open record's PDF saved and (without a CUPS server here)
// a failed print that keeps the PDF, and a configured folder that is missing.
#include <doctest/doctest.h>

#include <filesystem>

#include "kiosk_model.h"
#include "shenbao/generator.h"
#include "shenbao/keys.h"
#include "shenbao/paper.h"
#include "shenbao/store_files.h"
#include "test_support.h"

using namespace shenbao;
using namespace shenbao::kiosk;

namespace {

const FormDefinition& form() {
    static const FormDefinition f = load_form(test::form_path()).value();
    return f;
}

}  // namespace

TEST_CASE("staff paper: export 附件3 and save or print the open record's PDF from the kiosk") {
    test::TempDir dir;
    std::int64_t now = 1'000'000;
    auto store = open_store(dir.file("store.db"), dir.file("store.key"), true).value();
    std::vector<std::string> ids;
    for (std::uint64_t seed = 3; seed < 6; ++seed) {
        auto meta = store->create_record(form().form_id, form().version, "cli").value();
        REQUIRE(store->save_fields(meta.id, generate_application(form(), seed)).ok());
        REQUIRE(store->set_status(meta.id, RecordStatus::Submitted, "cli").ok());
        ids.push_back(meta.id);
    }
    // 附件3 holds the recommended ones; the third is not recommended and stays out.
    REQUIRE(store->review(ids[0], ReviewDecision::Recommend, "李娜", "").ok());
    REQUIRE(store->review(ids[1], ReviewDecision::Recommend, "李娜", "").ok());
    REQUIRE(store->review(ids[2], ReviewDecision::NotRecommend, "李娜", "成员单位不足").ok());
    // The overnight sync has already taken the second one (queued): still the district's to summarise.
    REQUIRE(store->set_status(ids[1], RecordStatus::Queued, "sync").ok());
    {
        auto draft = store->create_record(form().form_id, form().version, "cli").value();  // not handed in: left out
        REQUIRE(store->save_fields(draft.id, generate_application(form(), 9)).ok());
    }
    REQUIRE(store->set_setting("kiosk.staff_pin_hash", hash_pin("13579").value()).ok());
    KioskModel m{store.get(), form(), [&] { return now; }};
    const std::string exports = dir.file("data/exports");
    m.set_default_export_dir(exports);

    CHECK_FALSE(m.staff_export_summary());  // not signed in: nothing happens
    m.open_staff_login();
    REQUIRE(m.staff_login("13579"));

    Settings s = m.settings();
    s.recommender = "渝北区经济和信息化委员会";
    s.contact = "张晓燕";
    s.phone = "023-67891234";
    REQUIRE(m.staff_save_settings(s));
    CHECK(store->setting("paper.recommender").value() == std::optional<std::string>("渝北区经济和信息化委员会"));

    // shenbao-store uses the header line the staff set at the kiosk.
    auto cli = test::run(std::string(SHENBAO_STORE_CLI) + " --data-dir " + dir.path() + " export-summary --out " + dir.file("cli.xlsx"));
    REQUIRE_MESSAGE(cli.exit_code == 0, cli.output);
    auto strings = test::run("python3 -c \"import zipfile,sys; sys.stdout.write(zipfile.ZipFile('" + dir.file("cli.xlsx") +
                             "').read('xl/sharedStrings.xml').decode())\"");
    CHECK(strings.output.find("推荐单位（盖章）：渝北区经济和信息化委员会") != std::string::npos);
    CHECK(strings.output.find("联系人：张晓燕  023-67891234") != std::string::npos);

    REQUIRE(m.staff_export_summary());
    CHECK(m.last_export().rfind(exports + "/summary-", 0) == 0);
    CHECK(m.notice().en == "Exported the summary of 2 application(s) to " + m.last_export());
    CHECK(test::read_file(m.last_export()).rfind("PK", 0) == 0);  // a zip: the .xlsx container

    m.staff_open(ids[0]);
    REQUIRE(m.staff_save_pdf(false));
    CHECK(m.last_export() == exports + "/application-" + ids[0] + ".pdf");
    CHECK(m.notice().zh == "PDF 已保存：" + m.last_export());
    CHECK(test::read_file(m.last_export()).rfind("%PDF-", 0) == 0);

    // A printer that cannot be reached (no CUPS server here): a clear notice, the PDF stays.
    std::filesystem::remove(m.last_export());
    s = m.settings();
    s.printer = "Office";
    REQUIRE(m.staff_save_settings(s));
    CHECK_FALSE(m.staff_save_pdf(true));
    CHECK(m.notice().en.find("Printing failed: printing on \"Office\" failed") == 0);
    CHECK(test::read_file(exports + "/application-" + ids[0] + ".pdf").rfind("%PDF-", 0) == 0);

    // A USB stick that is not plugged in: the notice names the folder; nothing is created.
    s = m.settings();
    s.export_dir = dir.file("media/usb");
    REQUIRE(m.staff_save_settings(s));
    CHECK_FALSE(m.staff_export_summary());
    CHECK(m.notice().en.find("the export folder " + dir.file("media/usb") + " does not exist") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("media")));
}
