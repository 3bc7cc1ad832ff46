// The form model: the bundled alliance form loads and covers every label of the
// seed's 附件1; broken definitions are refused naming the file and JSON pointer.
#include <doctest/doctest.h>

#include <set>

#include "shenbao/form.h"
#include "test_support.h"

using namespace shenbao;

namespace {

std::string strip_ws(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
        if (s.compare(i, 3, "\xE3\x80\x80") == 0) { i += 3; continue; }  // U+3000 ideographic space
        out += s[i++];
    }
    return out;
}

bool field_answers(const Field& f, const std::string& label) {
    std::string zh = strip_ws(f.label.zh);
    if (zh == label || zh.find(label) != std::string::npos) return true;
    for (const std::string& s : f.seed_labels) if (strip_ws(s) == label) return true;
    return false;
}

std::string minimal_form(const std::string& fields_json) {
    return R"({"format": 1, "form_id": "t", "version": 1, "title": {"zh": "测", "en": "T"},
               "sections": [{"id": "s", "annex": 1, "title": {"zh": "一", "en": "One"}, "fields": [)" +
           fields_json + "]}]}";
}

}  // namespace

TEST_CASE("the alliance form definition loads") {
    auto form = load_form(test::form_path());
    REQUIRE_MESSAGE(form.ok(), (form.ok() ? "" : form.error().message));
    CHECK(form->form_id == "alliance-2022");
    CHECK(form->version == 1);
    CHECK(form->sections.size() >= 10);
    int annex2 = 0;
    for (const Section& s : form->sections) annex2 += s.annex == 2;
    CHECK(annex2 >= 3);
    const Field* enterprises = form->find_field("main_members_enterprise");
    REQUIRE(enterprises);
    CHECK(enterprises->type == FieldType::Table);
    CHECK(enterprises->max_rows == 5);
    const Field* academic = form->find_field("main_members_academic");
    REQUIRE(academic);
    CHECK(academic->max_rows == 5);
    REQUIRE(form->find_field("council"));
    CHECK(form->find_field("lead_commitment")->type == FieldType::Commitment);
    CHECK(form->find_field("lead_revenue")->type == FieldType::Money);
    CHECK(form->summary_columns.size() == 10);
    CHECK(form->summary_columns[0].kind == DerivationKind::RowNumber);
}

TEST_CASE("every field label of the seed's 附件1 maps to a field of the definition") {
    auto form = load_form(test::form_path());
    REQUIRE(form.ok());
    std::string seed = strip_ws(test::read_file(test::repo_path("tests/data/seed-notice-2022.txt")));
    REQUIRE(seed.size() > 10000);
    std::string annex1 = seed.substr(seed.find("附件1重庆市产业技术创新联盟申报表"));
    annex1 = annex1.substr(0, annex1.find("附件2"));
    std::ifstream labels(test::repo_path("tests/data/seed_annex1_labels.txt"));
    std::string label;
    int n = 0;
    std::set<std::string> seen;
    while (std::getline(labels, label)) {
        if (label.empty()) continue;
        ++n;
        CHECK_MESSAGE(seen.insert(label).second, "duplicate label " << label);
        CHECK_MESSAGE(annex1.find(label) != std::string::npos, "not a label of the seed's 附件1: " << label);
        bool mapped = false;
        for (const Section& s : form->sections)
            for (const Field& f : s.fields) {
                mapped = mapped || field_answers(f, label);
                for (const Field& c : f.columns) mapped = mapped || field_answers(c, label);
            }
        CHECK_MESSAGE(mapped, "no field of the definition answers the seed label " << label);
    }
    CHECK(n >= 120);
}

TEST_CASE("an invalid form definition names the file and the JSON pointer") {
    SUBCASE("unknown field type, from a file") {
        std::string path = test::repo_path("tests/data/forms/unknown-field-type.json");
        auto form = load_form(path);
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().code == ErrorCode::InvalidForm);
        CHECK(form.error().message.find(path) != std::string::npos);
        CHECK(form.error().message.find("/sections/0/fields/1/type") != std::string::npos);
        CHECK(form.error().message.find("txt") != std::string::npos);
    }
    SUBCASE("a rule naming an unknown field, from a file") {
        std::string path = test::repo_path("tests/data/forms/rule-refers-to-unknown-field.json");
        auto form = load_form(path);
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("/rules/0/all/0/field") != std::string::npos);
        CHECK(form.error().message.find("\"staf\"") != std::string::npos);
    }
    SUBCASE("not JSON") {
        auto form = parse_form("{\"format\": 1,,}", "bad.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.rfind("bad.json: not valid JSON", 0) == 0);
    }
    SUBCASE("missing label") {
        auto form = parse_form(minimal_form(R"({"id": "a", "type": "text"})"), "f.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message == "f.json: /sections/0/fields/0: missing required key \"label\"");
    }
    SUBCASE("unknown key") {
        auto form = parse_form(minimal_form(R"({"id": "a", "type": "text", "label": {"zh": "甲", "en": "A"}, "requried": true})"), "f.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("/sections/0/fields/0/requried") != std::string::npos);
    }
    SUBCASE("duplicate field id") {
        auto form = parse_form(minimal_form(R"({"id": "a", "type": "text", "label": {"zh": "甲", "en": "A"}},
                                               {"id": "a", "type": "text", "label": {"zh": "乙", "en": "B"}})"), "f.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("/sections/0/fields/1/id: duplicate field id \"a\"") != std::string::npos);
    }
    SUBCASE("table without a row limit") {
        auto form = parse_form(minimal_form(R"({"id": "t", "type": "table", "label": {"zh": "表", "en": "T"},
                                               "columns": [{"id": "c", "type": "text", "label": {"zh": "列", "en": "C"}}]})"), "f.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("/sections/0/fields/0: missing required key \"max_rows\"") != std::string::npos);
    }
    SUBCASE("choice without options") {
        auto form = parse_form(minimal_form(R"({"id": "c", "type": "choice", "label": {"zh": "选", "en": "C"}})"), "f.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("missing required key \"options\"") != std::string::npos);
    }
    SUBCASE("unknown format version") {
        auto form = parse_form(R"({"format": 2})", "f.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("/format: unsupported format version 2") != std::string::npos);
    }
    SUBCASE("over the size limit") {
        std::string big(kMaxFormDefinitionBytes + 1, ' ');
        auto form = parse_form(big, "huge.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().message.find("huge.json: larger than") == 0);
    }
    SUBCASE("missing file") {
        auto form = load_form("/nonexistent/form.json");
        REQUIRE_FALSE(form.ok());
        CHECK(form.error().code == ErrorCode::Io);
        CHECK(form.error().message.find("/nonexistent/form.json") == 0);
    }
}

TEST_CASE("field lookup and visibility conditions come from the definition") {
    auto form = load_form(test::form_path());
    REQUIRE(form.ok());
    for (const Field* f : form->all_fields()) {
        CHECK(form->find_field(f->id) == f);
        CHECK(form->section_of(f->id) >= 0);
    }
    CHECK(form->find_field("no_such_field") == nullptr);
    const Field* t = form->find_field("main_members_enterprise");
    const Field* other = t->find_column("nature_other");
    REQUIRE(other);
    REQUIRE(other->visible_if);
    CHECK(other->visible_if->field == "nature");
}
