// Parser of form definitions (assets/forms/FORMAT.md). Every error names the
// source file and the JSON pointer of the value at fault.
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "shenbao/form.h"

namespace shenbao {
namespace {

using nlohmann::json;

struct ParseError {
    std::string pointer;
    std::string what;
};

class Parser {
public:
    explicit Parser(std::string_view source) : source_(source) {}

    [[noreturn]] void fail(const std::string& pointer, const std::string& what) {
        throw ParseError{pointer.empty() ? "/" : pointer, what};
    }

    const json& member(const json& obj, const std::string& ptr, const char* key) {
        auto it = obj.find(key);
        if (it == obj.end()) fail(ptr, std::string("missing required key \"") + key + "\"");
        return *it;
    }

    void only_keys(const json& obj, const std::string& ptr, std::initializer_list<const char*> allowed) {
        if (!obj.is_object()) fail(ptr, "expected an object");
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            bool known = false;
            for (const char* a : allowed) known = known || it.key() == a;
            if (!known) fail(ptr + "/" + it.key(), "unknown key \"" + it.key() + "\" (see assets/forms/FORMAT.md)");
        }
    }

    std::string str(const json& v, const std::string& ptr) {
        if (!v.is_string()) fail(ptr, "expected a string");
        return v.get<std::string>();
    }

    std::string id(const json& v, const std::string& ptr, const char* pattern) {
        std::string s = str(v, ptr);
        if (!std::regex_match(s, std::regex(pattern))) fail(ptr, "\"" + s + "\" is not a valid id (" + pattern + ")");
        return s;
    }

    bool boolean(const json& v, const std::string& ptr) {
        if (!v.is_boolean()) fail(ptr, "expected true or false");
        return v.get<bool>();
    }

    double number(const json& v, const std::string& ptr) {
        if (!v.is_number()) fail(ptr, "expected a number");
        return v.get<double>();
    }

    long long integer(const json& v, const std::string& ptr, long long lo) {
        if (!v.is_number_integer()) fail(ptr, "expected an integer");
        long long n = v.get<long long>();
        if (n < lo) fail(ptr, "must be at least " + std::to_string(lo));
        return n;
    }

    Text text(const json& v, const std::string& ptr) {
        only_keys(v, ptr, {"zh", "en"});
        Text t{str(member(v, ptr, "zh"), ptr + "/zh"), str(member(v, ptr, "en"), ptr + "/en")};
        if (t.zh.empty()) fail(ptr + "/zh", "must not be empty");
        if (t.en.empty()) fail(ptr + "/en", "must not be empty");
        return t;
    }

    Condition condition(const json& v, const std::string& ptr) {
        only_keys(v, ptr, {"field", "equals", "not_equals", "includes", "filled", "is_true", "contains",
                           "prefix", "gte", "lte", "lte_field", "rows_lte"});
        Condition c;
        c.field = str(member(v, ptr, "field"), ptr + "/field");
        if (v.size() != 2) fail(ptr, "a condition has \"field\" and exactly one operator");
        for (auto it = v.begin(); it != v.end(); ++it) {
            const std::string& k = it.key();
            std::string p = ptr + "/" + k;
            if (k == "field") continue;
            if (k == "equals") { c.op = ConditionOp::Equals; c.text = str(*it, p); }
            else if (k == "not_equals") { c.op = ConditionOp::NotEquals; c.text = str(*it, p); }
            else if (k == "includes") { c.op = ConditionOp::Includes; c.text = str(*it, p); }
            else if (k == "contains") { c.op = ConditionOp::Contains; c.text = str(*it, p); }
            else if (k == "prefix") { c.op = ConditionOp::Prefix; c.text = str(*it, p); }
            else if (k == "filled") { c.op = ConditionOp::Filled; if (!boolean(*it, p)) fail(p, "only true is meaningful"); }
            else if (k == "is_true") { c.op = ConditionOp::IsTrue; if (!boolean(*it, p)) fail(p, "only true is meaningful"); }
            else if (k == "gte") { c.op = ConditionOp::Gte; c.number = number(*it, p); }
            else if (k == "lte") { c.op = ConditionOp::Lte; c.number = number(*it, p); }
            else if (k == "rows_lte") { c.op = ConditionOp::RowsLte; c.number = static_cast<double>(integer(*it, p, 0)); }
            else if (k == "lte_field") { c.op = ConditionOp::LteField; c.other = str(*it, p); }
        }
        return c;
    }

    static std::optional<FieldType> type_of(const std::string& s) {
        static const std::map<std::string, FieldType> types = {
            {"text", FieldType::Text}, {"multiline", FieldType::Multiline}, {"integer", FieldType::Integer},
            {"decimal", FieldType::Decimal}, {"money", FieldType::Money}, {"date", FieldType::Date},
            {"phone", FieldType::Phone}, {"email", FieldType::Email}, {"postal_code", FieldType::PostalCode},
            {"url", FieldType::Url}, {"choice", FieldType::Choice}, {"multi_choice", FieldType::MultiChoice},
            {"checkbox", FieldType::Checkbox}, {"table", FieldType::Table}, {"commitment", FieldType::Commitment}};
        auto it = types.find(s);
        if (it == types.end()) return std::nullopt;
        return it->second;
    }

    Field field(const json& v, const std::string& ptr, bool in_table) {
        only_keys(v, ptr, {"id", "type", "label", "help", "seed_labels", "required", "max_length", "min", "max",
                           "precision", "unit", "options", "columns", "max_rows", "min_rows", "visible_if",
                           "text", "filled_by", "gen"});
        Field f;
        f.id = id(member(v, ptr, "id"), ptr + "/id", "[a-z0-9_]+");
        std::string type = str(member(v, ptr, "type"), ptr + "/type");
        auto t = type_of(type);
        if (!t) fail(ptr + "/type", "unknown field type \"" + type + "\"");
        f.type = *t;
        f.label = text(member(v, ptr, "label"), ptr + "/label");
        if (v.contains("help")) f.help = text(v["help"], ptr + "/help");
        if (v.contains("seed_labels")) {
            const json& sl = v["seed_labels"];
            if (!sl.is_array()) fail(ptr + "/seed_labels", "expected an array of strings");
            for (std::size_t i = 0; i < sl.size(); ++i)
                f.seed_labels.push_back(str(sl[i], ptr + "/seed_labels/" + std::to_string(i)));
        }
        if (v.contains("required")) f.required = boolean(v["required"], ptr + "/required");
        if (f.type == FieldType::Text) f.max_length = 200;
        if (f.type == FieldType::Multiline) f.max_length = 20000;
        if (f.is_texty()) f.max_length = f.max_length ? f.max_length : 100;
        if (v.contains("max_length")) {
            if (!f.is_texty()) fail(ptr + "/max_length", "only text-like fields have a length");
            f.max_length = static_cast<std::size_t>(integer(v["max_length"], ptr + "/max_length", 1));
        }
        if (f.type == FieldType::Money) { f.precision = 2; f.min = 0.0; f.unit = "万元"; }
        if (f.type == FieldType::Decimal) f.precision = 2;
        if (v.contains("min") || v.contains("max")) {
            if (!f.is_numeric()) fail(ptr + (v.contains("min") ? "/min" : "/max"), "only numeric fields have min/max");
            if (v.contains("min")) f.min = number(v["min"], ptr + "/min");
            if (v.contains("max")) f.max = number(v["max"], ptr + "/max");
        }
        if (v.contains("precision")) {
            if (f.type != FieldType::Decimal) fail(ptr + "/precision", "only decimal fields take a precision");
            f.precision = static_cast<int>(integer(v["precision"], ptr + "/precision", 0));
        }
        if (v.contains("unit")) f.unit = str(v["unit"], ptr + "/unit");
        bool choice = f.type == FieldType::Choice || f.type == FieldType::MultiChoice;
        if (choice) {
            const json& opts = member(v, ptr, "options");
            if (!opts.is_array() || opts.empty()) fail(ptr + "/options", "expected a non-empty array");
            std::set<std::string> seen;
            for (std::size_t i = 0; i < opts.size(); ++i) {
                std::string op = ptr + "/options/" + std::to_string(i);
                only_keys(opts[i], op, {"value", "label"});
                Option o{id(member(opts[i], op, "value"), op + "/value", "[a-z0-9_]+"),
                         text(member(opts[i], op, "label"), op + "/label")};
                if (!seen.insert(o.value).second) fail(op + "/value", "duplicate option \"" + o.value + "\"");
                f.options.push_back(std::move(o));
            }
        } else if (v.contains("options")) {
            fail(ptr + "/options", "only choice and multi_choice fields have options");
        }
        if (f.type == FieldType::Table) {
            if (in_table) fail(ptr + "/type", "tables cannot be nested");
            const json& cols = member(v, ptr, "columns");
            if (!cols.is_array() || cols.empty()) fail(ptr + "/columns", "expected a non-empty array");
            std::set<std::string> seen;
            for (std::size_t i = 0; i < cols.size(); ++i) {
                Field c = field(cols[i], ptr + "/columns/" + std::to_string(i), true);
                if (!seen.insert(c.id).second) fail(ptr + "/columns/" + std::to_string(i) + "/id", "duplicate column id \"" + c.id + "\"");
                f.columns.push_back(std::move(c));
            }
            f.max_rows = static_cast<std::size_t>(integer(member(v, ptr, "max_rows"), ptr + "/max_rows", 1));
            if (v.contains("min_rows")) f.min_rows = static_cast<std::size_t>(integer(v["min_rows"], ptr + "/min_rows", 0));
            if (f.min_rows > f.max_rows) fail(ptr + "/min_rows", "greater than max_rows");
        } else {
            for (const char* k : {"columns", "max_rows", "min_rows"})
                if (v.contains(k)) fail(ptr + "/" + k, "only table fields have this");
        }
        if (f.type == FieldType::Commitment) f.text = text(member(v, ptr, "text"), ptr + "/text");
        else if (v.contains("text")) fail(ptr + "/text", "only commitment fields have a statement text");
        if (v.contains("visible_if")) f.visible_if = condition(v["visible_if"], ptr + "/visible_if");
        if (v.contains("filled_by")) {
            std::string fb = str(v["filled_by"], ptr + "/filled_by");
            if (fb == "district") f.filled_by = FilledBy::District;
            else if (fb != "applicant") fail(ptr + "/filled_by", "expected \"applicant\" or \"district\"");
        }
        if (v.contains("gen")) f.gen = str(v["gen"], ptr + "/gen");
        return f;
    }

    FormDefinition form(const json& root) {
        only_keys(root, "", {"format", "form_id", "version", "title", "sections", "rules", "summary_columns"});
        FormDefinition def;
        long long format = integer(member(root, "", "format"), "/format", 0);
        if (format != 1) fail("/format", "unsupported format version " + std::to_string(format) + " (this program reads 1)");
        def.form_id = id(member(root, "", "form_id"), "/form_id", "[a-z0-9-]+");
        def.version = static_cast<int>(integer(member(root, "", "version"), "/version", 1));
        def.title = text(member(root, "", "title"), "/title");
        const json& sections = member(root, "", "sections");
        if (!sections.is_array() || sections.empty()) fail("/sections", "expected a non-empty array");
        std::map<std::string, std::string> field_ptrs;
        std::set<std::string> section_ids;
        for (std::size_t si = 0; si < sections.size(); ++si) {
            std::string sp = "/sections/" + std::to_string(si);
            const json& s = sections[si];
            only_keys(s, sp, {"id", "annex", "title", "fields"});
            Section sec;
            sec.id = id(member(s, sp, "id"), sp + "/id", "[a-z0-9_]+");
            if (!section_ids.insert(sec.id).second) fail(sp + "/id", "duplicate section id \"" + sec.id + "\"");
            sec.annex = static_cast<int>(integer(member(s, sp, "annex"), sp + "/annex", 1));
            if (sec.annex > 2) fail(sp + "/annex", "expected 1 or 2");
            sec.title = text(member(s, sp, "title"), sp + "/title");
            const json& fields = member(s, sp, "fields");
            if (!fields.is_array()) fail(sp + "/fields", "expected an array");
            for (std::size_t fi = 0; fi < fields.size(); ++fi) {
                std::string fp = sp + "/fields/" + std::to_string(fi);
                Field f = field(fields[fi], fp, false);
                if (!field_ptrs.emplace(f.id, fp).second)
                    fail(fp + "/id", "duplicate field id \"" + f.id + "\" (first at " + field_ptrs[f.id] + ")");
                sec.fields.push_back(std::move(f));
            }
            def.sections.push_back(std::move(sec));
        }
        def.build_index();
        // References: visible_if (top level or within a table row), rules, summary columns.
        for (std::size_t si = 0; si < def.sections.size(); ++si)
            for (std::size_t fi = 0; fi < def.sections[si].fields.size(); ++fi) {
                const Field& f = def.sections[si].fields[fi];
                std::string fp = "/sections/" + std::to_string(si) + "/fields/" + std::to_string(fi);
                if (f.visible_if) check_ref(def, nullptr, f.visible_if->field, fp + "/visible_if/field");
                for (std::size_t ci = 0; ci < f.columns.size(); ++ci)
                    if (f.columns[ci].visible_if)
                        check_ref(def, &f, f.columns[ci].visible_if->field,
                                  fp + "/columns/" + std::to_string(ci) + "/visible_if/field");
            }
        if (root.contains("rules")) {
            const json& rules = root["rules"];
            if (!rules.is_array()) fail("/rules", "expected an array");
            std::set<std::string> ids;
            for (std::size_t i = 0; i < rules.size(); ++i) def.rules.push_back(rule(def, rules[i], "/rules/" + std::to_string(i), ids));
        }
        if (root.contains("summary_columns")) {
            const json& cols = root["summary_columns"];
            if (!cols.is_array()) fail("/summary_columns", "expected an array");
            for (std::size_t i = 0; i < cols.size(); ++i) def.summary_columns.push_back(summary(def, cols[i], "/summary_columns/" + std::to_string(i)));
        }
        return def;
    }

    void check_ref(const FormDefinition& def, const Field* table, const std::string& ref, const std::string& ptr) {
        if (table && table->find_column(ref)) return;
        if (!def.find_field(ref)) fail(ptr, "refers to unknown field \"" + ref + "\"");
    }

    Rule rule(const FormDefinition& def, const json& v, const std::string& ptr, std::set<std::string>& ids) {
        only_keys(v, ptr, {"id", "category", "message", "fields", "all", "any", "sum_equals"});
        Rule r;
        r.id = id(member(v, ptr, "id"), ptr + "/id", "[a-z0-9_]+");
        if (!ids.insert(r.id).second) fail(ptr + "/id", "duplicate rule id \"" + r.id + "\"");
        std::string cat = str(member(v, ptr, "category"), ptr + "/category");
        if (cat == "eligibility") r.category = RuleCategory::Eligibility;
        else if (cat != "field") fail(ptr + "/category", "expected \"field\" or \"eligibility\"");
        r.message = text(member(v, ptr, "message"), ptr + "/message");
        const json& fields = member(v, ptr, "fields");
        if (!fields.is_array() || fields.empty()) fail(ptr + "/fields", "expected a non-empty array of field ids");
        for (std::size_t i = 0; i < fields.size(); ++i) {
            std::string p = ptr + "/fields/" + std::to_string(i);
            r.fields.push_back(str(fields[i], p));
            check_ref(def, nullptr, r.fields.back(), p);
        }
        int kinds = int(v.contains("all")) + int(v.contains("any")) + int(v.contains("sum_equals"));
        if (kinds != 1) fail(ptr, "a rule has exactly one of \"all\", \"any\", \"sum_equals\"");
        if (v.contains("sum_equals")) {
            r.kind = RuleKind::SumEquals;
            const json& s = v["sum_equals"];
            std::string sp = ptr + "/sum_equals";
            only_keys(s, sp, {"total", "parts"});
            r.total = str(member(s, sp, "total"), sp + "/total");
            check_ref(def, nullptr, r.total, sp + "/total");
            const json& parts = member(s, sp, "parts");
            if (!parts.is_array() || parts.empty()) fail(sp + "/parts", "expected a non-empty array");
            for (std::size_t i = 0; i < parts.size(); ++i) {
                r.parts.push_back(str(parts[i], sp + "/parts/" + std::to_string(i)));
                check_ref(def, nullptr, r.parts.back(), sp + "/parts/" + std::to_string(i));
            }
        } else {
            r.kind = v.contains("all") ? RuleKind::All : RuleKind::Any;
            const char* key = r.kind == RuleKind::All ? "all" : "any";
            const json& conds = v[key];
            std::string cp = ptr + "/" + key;
            if (!conds.is_array() || conds.empty()) fail(cp, "expected a non-empty array of conditions");
            for (std::size_t i = 0; i < conds.size(); ++i) {
                std::string p = cp + "/" + std::to_string(i);
                Condition c = condition(conds[i], p);
                check_ref(def, nullptr, c.field, p + "/field");
                if (c.op == ConditionOp::LteField) check_ref(def, nullptr, c.other, p + "/lte_field");
                r.conditions.push_back(std::move(c));
            }
        }
        return r;
    }

    SummaryColumn summary(const FormDefinition& def, const json& v, const std::string& ptr) {
        only_keys(v, ptr, {"id", "label", "from"});
        SummaryColumn c;
        c.id = id(member(v, ptr, "id"), ptr + "/id", "[a-z0-9_]+");
        c.label = text(member(v, ptr, "label"), ptr + "/label");
        const json& from = member(v, ptr, "from");
        std::string fp = ptr + "/from";
        only_keys(from, fp, {"row_number", "field", "sum", "join", "separator"});
        auto refs = [&](const json& arr, const std::string& p) {
            if (!arr.is_array() || arr.empty()) fail(p, "expected a non-empty array of field ids");
            for (std::size_t i = 0; i < arr.size(); ++i) {
                c.fields.push_back(str(arr[i], p + "/" + std::to_string(i)));
                check_ref(def, nullptr, c.fields.back(), p + "/" + std::to_string(i));
            }
        };
        if (from.contains("row_number")) c.kind = DerivationKind::RowNumber;
        else if (from.contains("field")) {
            c.kind = DerivationKind::FieldValue;
            c.fields.push_back(str(from["field"], fp + "/field"));
            check_ref(def, nullptr, c.fields.back(), fp + "/field");
        } else if (from.contains("sum")) { c.kind = DerivationKind::Sum; refs(from["sum"], fp + "/sum"); }
        else if (from.contains("join")) {
            c.kind = DerivationKind::Join;
            refs(from["join"], fp + "/join");
            c.separator = from.contains("separator") ? str(from["separator"], fp + "/separator") : "、";
        } else fail(fp, "expected one of row_number, field, sum, join");
        return c;
    }

private:
    std::string source_;
};

}  // namespace

const std::string& pick(const Text& text, Lang lang) { return lang == Lang::En && !text.en.empty() ? text.en : text.zh; }

const char* field_type_name(FieldType type) {
    switch (type) {
        case FieldType::Text: return "text";
        case FieldType::Multiline: return "multiline";
        case FieldType::Integer: return "integer";
        case FieldType::Decimal: return "decimal";
        case FieldType::Money: return "money";
        case FieldType::Date: return "date";
        case FieldType::Phone: return "phone";
        case FieldType::Email: return "email";
        case FieldType::PostalCode: return "postal_code";
        case FieldType::Url: return "url";
        case FieldType::Choice: return "choice";
        case FieldType::MultiChoice: return "multi_choice";
        case FieldType::Checkbox: return "checkbox";
        case FieldType::Table: return "table";
        case FieldType::Commitment: return "commitment";
    }
    return "?";
}

bool Field::is_numeric() const {
    return type == FieldType::Integer || type == FieldType::Decimal || type == FieldType::Money;
}

bool Field::is_texty() const {
    switch (type) {
        case FieldType::Choice: case FieldType::MultiChoice: case FieldType::Checkbox:
        case FieldType::Table: case FieldType::Commitment:
            return false;
        default:
            return true;
    }
}

const Option* Field::find_option(std::string_view value) const {
    for (const Option& o : options) if (o.value == value) return &o;
    return nullptr;
}

const Field* Field::find_column(std::string_view column_id) const {
    for (const Field& c : columns) if (c.id == column_id) return &c;
    return nullptr;
}

const Field* FormDefinition::find_field(std::string_view id) const {
    auto it = index_.find(id);
    if (it == index_.end()) return nullptr;
    return &sections[static_cast<std::size_t>(it->second.first)].fields[static_cast<std::size_t>(it->second.second)];
}

int FormDefinition::section_of(std::string_view field_id) const {
    auto it = index_.find(field_id);
    return it == index_.end() ? -1 : it->second.first;
}

void FormDefinition::build_index() {
    index_.clear();
    for (std::size_t si = 0; si < sections.size(); ++si)
        for (std::size_t fi = 0; fi < sections[si].fields.size(); ++fi)
            index_[sections[si].fields[fi].id] = {static_cast<int>(si), static_cast<int>(fi)};
}

std::vector<const Field*> FormDefinition::all_fields() const {
    std::vector<const Field*> out;
    for (const Section& s : sections) for (const Field& f : s.fields) out.push_back(&f);
    return out;
}

Result<FormDefinition> parse_form(std::string_view json_text, std::string_view source) {
    std::string src(source);
    if (json_text.size() > kMaxFormDefinitionBytes)
        return Error{ErrorCode::InvalidForm, src + ": larger than the " + std::to_string(kMaxFormDefinitionBytes) + "-byte limit for a form definition"};
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& e) {
        return Error{ErrorCode::InvalidForm, src + ": not valid JSON at byte " + std::to_string(e.byte) + ": " + e.what()};
    }
    try {
        Parser p(source);
        return p.form(root);
    } catch (const ParseError& e) {
        return Error{ErrorCode::InvalidForm, src + ": " + e.pointer + ": " + e.what};
    }
}

Result<FormDefinition> load_form(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{ErrorCode::Io, path + ": cannot open the form definition (does the file exist?)"};
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::size_t>(in.tellg());
    if (size > kMaxFormDefinitionBytes)
        return Error{ErrorCode::InvalidForm, path + ": larger than the " + std::to_string(kMaxFormDefinitionBytes) + "-byte limit for a form definition"};
    in.seekg(0);
    std::string text(size, '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    if (!in) return Error{ErrorCode::Io, path + ": read failed"};
    return parse_form(text, path);
}

std::string assets_dir() {
    if (const char* env = std::getenv("SHENBAO_ASSETS_DIR"); env && *env) return env;
    // Installed (the Debian packages: /usr/bin/x -> /usr/share/shenbao): found beside
    // the program, so a build tree's binaries keep using the source tree's assets.
    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        std::string dir(exe, static_cast<std::size_t>(n));
        dir = dir.substr(0, dir.rfind('/'));
        std::string installed = dir.substr(0, dir.rfind('/')) + "/share/shenbao";
        if (::access((installed + "/forms").c_str(), F_OK) == 0) return installed;
    }
    return SHENBAO_DEFAULT_ASSETS_DIR;
}

std::string bundled_form_path(std::string_view form_id) {
    return assets_dir() + "/forms/" + std::string(form_id) + ".json";
}

}  // namespace shenbao
