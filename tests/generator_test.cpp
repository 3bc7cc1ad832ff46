// The synthetic-application generator: deterministic, valid, realistic.
#include <doctest/doctest.h>

#include <set>

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
std::size_t chars(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}
}  // namespace

TEST_CASE("the same seed gives the same application, and different seeds differ") {
    CHECK(generate_application(form(), 42).dump() == generate_application(form(), 42).dump());
    CHECK(generate_application(form(), 1).dump() != generate_application(form(), 2).dump());
    std::set<std::string> names;
    for (std::uint64_t s = 0; s < 50; ++s) names.insert(generate_application(form(), s)["alliance_name"].get<std::string>());
    CHECK(names.size() >= 40);
}

TEST_CASE("generated applications pass validation and every eligibility check") {
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
        json r = generate_application(form(), seed);
        auto issues = validate_record(form(), r);
        CAPTURE(seed);
        for (const Issue& i : issues) MESSAGE(i.path << ": " << i.message.en);
        CHECK(issues.empty());
        for (const EligibilityCheck& c : check_eligibility(form(), r)) CHECK(c.state == CheckState::Pass);
    }
}

TEST_CASE("generated text is realistic: Chinese names, Chongqing addresses, long reports") {
    json r = generate_application(form(), 7);
    std::string name = r["alliance_name"].get<std::string>();
    CHECK(name.find("产业技术创新联盟") != std::string::npos);
    CHECK(r["lead_address"].get<std::string>().find("重庆") != std::string::npos);
    CHECK(r["lead_postal_code"].get<std::string>().rfind("40", 0) == 0);
    std::size_t person = chars(r["lead_contact_name"].get<std::string>());
    CHECK(person >= 2);
    CHECK(person <= 4);
    std::size_t report = 0;
    for (const Section& s : form().sections)
        if (s.annex == 2)
            for (const Field& f : s.fields)
                if (r.contains(f.id)) report += chars(r[f.id].get<std::string>());
    CHECK(report >= 5000);  // the 建设运行报告 runs to pages
    CHECK(r["main_members_enterprise"].size() >= 1);
    CHECK(r["main_members_enterprise"].size() <= 5);
}
