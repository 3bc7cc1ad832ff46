// Validation from the definition: each rule with a failing and a passing example,
// on a generated application that starts out valid.
#include <doctest/doctest.h>

#include <algorithm>

#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/validate.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;

namespace {

const FormDefinition& form() {
    static const FormDefinition f = load_form(test::form_path()).value();
    return f;
}

json valid_record() {
    json r = generate_application(form(), 7);
    auto issues = validate_record(form(), r);
    for (const Issue& i : issues) MESSAGE("unexpected issue in the base record: " << i.path << " " << i.message.en);
    REQUIRE(issues.empty());
    return r;
}

std::vector<Issue> issues_at(const json& record, const std::string& path) {
    std::vector<Issue> out;
    for (const Issue& i : validate_record(form(), record))
        if (i.path == path) out.push_back(i);
    return out;
}

bool rule_fails(const json& record, const std::string& rule_id) {
    auto all = validate_record(form(), record);
    return std::any_of(all.begin(), all.end(), [&](const Issue& i) { return i.rule_id == rule_id; });
}

CheckState eligibility(const json& record, const std::string& rule_id) {
    for (const EligibilityCheck& c : check_eligibility(form(), record))
        if (c.rule->id == rule_id) return c.state;
    FAIL("no eligibility rule " << rule_id);
    return CheckState::Fail;
}

// Sets a field and expects exactly `fails` issues of `kind` at it.
void expect(json record, const std::string& field, const json& value, bool fails, IssueKind kind = IssueKind::Format) {
    record[field] = value;
    auto issues = issues_at(record, field);
    CAPTURE(field);
    CAPTURE(value.dump());
    if (!fails) {
        CHECK(issues.empty());
        return;
    }
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].kind == kind);
    const Field* f = form().find_field(field);
    CHECK(issues[0].message.zh.find(f->label.zh) != std::string::npos);
    CHECK(issues[0].message.en.find(f->label.en) != std::string::npos);
}

}  // namespace

TEST_CASE("a generated application is valid") { valid_record(); }

TEST_CASE("required fields and text length") {
    json r = valid_record();
    expect(r, "alliance_name", "", true, IssueKind::Missing);
    expect(r, "alliance_name", "   ", true, IssueKind::Missing);
    r.erase("alliance_name");
    CHECK(issues_at(r, "alliance_name").size() == 1);
    const Field* name = form().find_field("alliance_name");
    std::string too_long;
    for (std::size_t i = 0; i <= name->max_length; ++i) too_long += "联";
    expect(valid_record(), "alliance_name", too_long, true, IssueKind::TooLong);
    too_long.resize(too_long.size() - 3);  // exactly max_length characters
    expect(valid_record(), "alliance_name", too_long, false);
}

TEST_CASE("phone numbers") {
    json r = valid_record();
    for (const char* good : {"023-63895941", "02363895941", "63895941", "13812345678", "+86 13812345678", "023-63895941-802"})
        expect(r, "lead_contact_phone", good, false);
    for (const char* bad : {"12345", "1381234567", "电话", "023-6389594a", "23812345678"})
        expect(r, "lead_contact_phone", bad, true);
}

TEST_CASE("e-mail addresses") {
    json r = valid_record();
    expect(r, "lead_email", "caowh@cq.gov.cn", false);
    for (const char* bad : {"caowh.cq.gov.cn", "caowh@", "@cq.gov.cn", "caowh@cq", "曹@cq.cn"}) expect(r, "lead_email", bad, true);
}

TEST_CASE("6-digit postal codes") {
    json r = valid_record();
    expect(r, "lead_postal_code", "401120", false);
    for (const char* bad : {"40112", "4011200", "40112a", "４０１１２０"}) expect(r, "lead_postal_code", bad, true);
}

TEST_CASE("money in 万元: non-negative, at most 2 decimals") {
    json r = valid_record();
    for (const char* good : {"0", "1250", "1250.5", "1250.50"}) expect(r, "lead_revenue", good, false);
    expect(r, "lead_revenue", "-1", true, IssueKind::Range);
    expect(r, "lead_revenue", "1250.505", true, IssueKind::Format);
    expect(r, "lead_revenue", "一千万", true, IssueKind::Format);
    expect(r, "lead_revenue", 12, true, IssueKind::Type);  // stored values are the typed strings
}

TEST_CASE("integers and dates") {
    json r = valid_record();
    expect(r, "lead_staff_total", "120", false);
    expect(r, "lead_staff_total", "12.5", true);
    expect(r, "lead_staff_total", "-3", true, IssueKind::Range);
    expect(r, "lead_sign_date", "2022-05-30", false);
    expect(r, "lead_sign_date", "2024-02-29", false);
    for (const char* bad : {"2022-02-30", "2023-02-29", "2022/05/30", "2022-13-01", "30-05-2022"}) expect(r, "lead_sign_date", bad, true);
}

TEST_CASE("choices, multiple choices and the commitment") {
    json r = valid_record();
    expect(r, "lead_category", json::array({"leading", "city_sme"}), false);
    expect(r, "lead_category", json::array({"leading", "nonsense"}), true);
    expect(r, "lead_category", json::array({"leading", "leading"}), true);
    expect(r, "lead_commitment", true, false);
    expect(r, "lead_commitment", false, true, IssueKind::Missing);
}

TEST_CASE("table cells are checked by their column, with row numbers in the message") {
    json r = valid_record();
    r["council"][0]["phone"] = "12345";
    auto issues = issues_at(r, "council[0].phone");
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].field_id == "council");
    CHECK(issues[0].message.zh.find("第1行") != std::string::npos);
    r["council"][0]["phone"] = "023-63895941";
    CHECK(issues_at(r, "council[0].phone").empty());
    r["main_members_enterprise"][0]["website"] = "not a url";
    CHECK(issues_at(r, "main_members_enterprise[0].website").size() == 1);
    r["main_members_enterprise"][0]["website"] = "www.changan.com.cn";
    CHECK(issues_at(r, "main_members_enterprise[0].website").empty());
}

TEST_CASE("conditional visibility: 其它（请注明） only when 其它 is chosen") {
    json r = valid_record();
    json& row = r["main_members_enterprise"][0];
    row["nature"] = "other";
    row.erase("nature_other");
    CHECK(issues_at(r, "main_members_enterprise[0].nature_other").size() == 1);
    row["nature_other"] = "事业单位转制企业";
    CHECK(issues_at(r, "main_members_enterprise[0].nature_other").empty());
    row["nature"] = "state_owned";
    row.erase("nature_other");
    CHECK(issues_at(r, "main_members_enterprise[0].nature_other").empty());
    const Field* t = form().find_field("main_members_enterprise");
    CHECK_FALSE(is_visible(*t->find_column("nature_other"), r, t, &row));
}

TEST_CASE("member counts by type add up to the total") {
    json r = valid_record();
    const char* parts[] = {"members_enterprise_count", "members_university_count", "members_research_count",
                           "members_association_count", "members_agency_count", "members_finance_count", "members_other_count"};
    for (const char* p : parts) r[p] = "1";
    r["members_city_total"] = "7";
    CHECK_FALSE(rule_fails(r, "members_sum"));
    r["members_city_total"] = "8";
    CHECK(rule_fails(r, "members_sum"));
    r["members_other_count"] = "2";
    CHECK_FALSE(rule_fails(r, "members_sum"));
}

TEST_CASE("granted patents cannot exceed applications, nor can parts exceed their totals") {
    json r = valid_record();
    r["lead_invention_applied"] = "10";
    r["lead_invention_granted"] = "11";
    CHECK(rule_fails(r, "lead_invention_granted_le_applied"));
    r["lead_invention_granted"] = "10";
    CHECK_FALSE(rule_fails(r, "lead_invention_granted_le_applied"));
    r["lead_staff_total"] = "100";
    r["lead_staff_rd"] = "101";
    CHECK(rule_fails(r, "lead_staff_rd_le_total"));
    r["lead_staff_rd"] = "40";
    CHECK_FALSE(rule_fails(r, "lead_staff_rd_le_total"));
}

TEST_CASE("eligibility: the lead unit is registered in Chongqing") {
    json r = valid_record();
    r["lead_address"] = "四川省成都市高新区天府大道100号";
    r["lead_postal_code"] = "610041";
    CHECK(eligibility(r, "elig_lead_in_chongqing") == CheckState::Fail);
    CHECK(rule_fails(r, "elig_lead_in_chongqing"));
    r["lead_address"] = "重庆市渝北区金开大道88号";
    CHECK(eligibility(r, "elig_lead_in_chongqing") == CheckState::Pass);
    r["lead_address"] = "两江新区云杉南路12号";
    r["lead_postal_code"] = "401121";
    CHECK(eligibility(r, "elig_lead_in_chongqing") == CheckState::Pass);
}

TEST_CASE("eligibility: members include an enterprise and a university or research institute") {
    json r = valid_record();
    r["members_enterprise_count"] = "0";
    CHECK(eligibility(r, "elig_members_enterprise") == CheckState::Fail);
    r["members_enterprise_count"] = "3";
    CHECK(eligibility(r, "elig_members_enterprise") == CheckState::Pass);
    r["members_university_count"] = "0";
    r["members_research_count"] = "0";
    CHECK(eligibility(r, "elig_members_academic") == CheckState::Fail);
    r["members_research_count"] = "1";
    CHECK(eligibility(r, "elig_members_academic") == CheckState::Pass);
    r["members_research_count"] = "0";
    r["members_university_count"] = "2";
    CHECK(eligibility(r, "elig_members_academic") == CheckState::Pass);
}

TEST_CASE("eligibility: at least 30 science and technology staff") {
    json r = valid_record();
    r["alliance_rd_staff"] = "29";
    CHECK(eligibility(r, "elig_sci_staff") == CheckState::Fail);
    CHECK(rule_fails(r, "elig_sci_staff"));
    r["alliance_rd_staff"] = "30";
    CHECK(eligibility(r, "elig_sci_staff") == CheckState::Pass);
    r.erase("alliance_rd_staff");
    CHECK(eligibility(r, "elig_sci_staff") == CheckState::Pending);
}

TEST_CASE("eligibility: at most 5 rows in each main-member table") {
    for (const char* table : {"main_members_enterprise", "main_members_academic"}) {
        CAPTURE(table);
        json r = valid_record();
        while (r[table].size() < 5) r[table].push_back(r[table][0]);
        std::string rule = std::string("elig_") + (table == std::string("main_members_enterprise") ? "main_enterprise_rows" : "main_academic_rows");
        CHECK(eligibility(r, rule) == CheckState::Pass);
        CHECK(issues_at(r, table).empty());
        r[table].push_back(r[table][0]);
        CHECK(eligibility(r, rule) == CheckState::Fail);
        auto issues = issues_at(r, table);
        REQUIRE(issues.size() >= 1);
        CHECK(issues[0].kind == IssueKind::Rows);
    }
}

TEST_CASE("the 附件3 summary row is derived from the application") {
    json r = valid_record();
    r["members_city_total"] = "7";
    r["members_outside_total"] = "2";
    auto row = summary_row(form(), r, 3);
    REQUIRE(row.size() == form().summary_columns.size());
    CHECK(row[0] == "3");
    CHECK(row[1] == r["alliance_name"].get<std::string>());
    CHECK(row[3] == r["lead_name"].get<std::string>());
    CHECK(row[4] == "9");
    r["alliance_funding"] = "not a number";
    r.erase("tech_field");
    row = summary_row(form(), r, 1);
    CHECK(row[2].empty());
    CHECK(row[5].empty());
    // A value that breaks its field's checks is an empty cell too, and a sum with an unusable part is unknown.
    r["contact_phone"] = "call me maybe";
    r["members_outside_total"] = "many";
    row = summary_row(form(), r, 1);
    CHECK(row[9].empty());
    CHECK(row[4].empty());
    CHECK(row[1] == r["alliance_name"].get<std::string>());
}
