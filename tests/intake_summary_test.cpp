// shenbao-intake export-summary: the commission's 附件3 across districts, built
// from records that really arrived (two kiosks in two districts, uploaded over
// HTTPS and committed), read back by LibreOffice.
#include <doctest/doctest.h>

#include "intake_support.h"
#include "libreoffice_support.h"

using namespace itest;

TEST_CASE("intake: export-summary lists the recommended applications with their district, grouped by district, --all every one") {
    Commission c("渝中区");
    KioskIdentity second = generate_kiosk_identity();
    c.enrol(second.public_key, "北碚区");
    std::vector<Record> yuzhong = make_records(2, 700), beibei = make_records(1, 800);
    c.verified(c.upload_and_commit(c.batch(yuzhong)), "");
    Response r = c.upload_and_commit(encode(beibei, second, c.keys.public_key));
    REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body);

    test::TempDir out;
    const std::string xlsx = out.file("all.xlsx");
    auto run = test::run(intake_cli() + " --data-dir " + shq(c.data) + " export-summary --out " + shq(xlsx) +
                         " --recommender 重庆市经济和信息化委员会 --contact 曹文华 --phone 63895941");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    CHECK(run.output.find("exported 3 application(s) to " + xlsx) != std::string::npos);

    test::Csv csv = test::libreoffice_csv(out, xlsx);
    REQUIRE(csv.size() == 6);
    CHECK(csv[1][0] == "推荐单位（盖章）：重庆市经济和信息化委员会");
    REQUIRE(csv[2].size() >= 11);
    CHECK(csv[2][0] == "序号");
    CHECK(csv[2][1] == "区县");
    CHECK(csv[2][2] == "创新联盟名称");
    CHECK(csv[2][10] == "电话");
    // 北碚区 sorts before 渝中区 (by code point); received order within a district.
    const std::vector<std::pair<std::string, const Record*>> want = {{"北碚区", &beibei[0]}, {"渝中区", &yuzhong[0]}, {"渝中区", &yuzhong[1]}};
    for (std::size_t i = 0; i < want.size(); ++i) {
        CAPTURE(i);
        CHECK(csv[3 + i][0] == std::to_string(i + 1));
        CHECK(csv[3 + i][1] == want[i].first);
        CHECK(csv[3 + i][2] == want[i].second->data["alliance_name"].get<std::string>());
        CHECK(csv[3 + i][10] == want[i].second->data["contact_phone"].get<std::string>());
    }

    // One district only; nothing but the workbook is left in the folder.
    const std::string one = out.file("beibei.xlsx");
    run = test::run(intake_cli() + " --data-dir " + shq(c.data) + " export-summary --district 北碚区 --out " + shq(one));
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    CHECK(run.output.find("exported 1 application(s)") != std::string::npos);
    CHECK(test::run(intake_cli() + " --data-dir " + shq(c.data) + " export-summary --out /nonexistent-folder/x.xlsx").exit_code == 5);

    // Reviewed records: the recommended one is listed, the not-recommended one only with --all.
    std::vector<Record> reviewed = make_records(2, 900);
    reviewed[0].review = RecordReview{ReviewDecision::Recommend, "同意推荐", "李娜", 1'764'000'000'000};
    reviewed[1].review = RecordReview{ReviewDecision::NotRecommend, "成员单位不足", "李娜", 1'764'000'000'001};
    r = c.upload_and_commit(c.batch(reviewed));
    REQUIRE_MESSAGE(r.status == 200, r.status << " " << r.body);
    const std::string recommended = out.file("recommended.xlsx"), every = out.file("every.xlsx");
    run = test::run(intake_cli() + " --data-dir " + shq(c.data) + " export-summary --out " + shq(recommended));
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    CHECK(run.output.find("exported 4 application(s)") != std::string::npos);
    test::Csv rec = test::libreoffice_csv(out, recommended);
    bool has_recommended = false, has_refused = false;
    for (const auto& row : rec) {
        if (row.size() < 3) continue;
        has_recommended |= row[2] == reviewed[0].data["alliance_name"].get<std::string>();
        has_refused |= row[2] == reviewed[1].data["alliance_name"].get<std::string>();
    }
    CHECK(has_recommended);
    CHECK_FALSE(has_refused);
    run = test::run(intake_cli() + " --data-dir " + shq(c.data) + " export-summary --all --out " + shq(every));
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    CHECK(run.output.find("exported 5 application(s)") != std::string::npos);
}
