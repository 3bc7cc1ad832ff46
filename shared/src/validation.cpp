// Validation from the form definition (FORMAT.md): per-field checks, cross-field
// rules and the notice's eligibility checklist. Messages name the field in both
// languages and say what to write instead.
#include <cmath>
#include <cstdio>
#include <regex>
#include <set>

#include "shenbao/validate.h"

namespace shenbao {
namespace {

using nlohmann::json;

std::size_t utf8_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

const json* lookup(const std::string& id, const json& record, const Field* table, const json* row) {
    if (table && row && table->find_column(id)) {
        if (!row->is_object()) return nullptr;
        auto it = row->find(id);
        return it == row->end() ? nullptr : &*it;
    }
    if (!record.is_object()) return nullptr;
    auto it = record.find(id);
    return it == record.end() ? nullptr : &*it;
}

std::string trimmed(const std::string& s) {
    std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    std::size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

bool is_valid_date(const std::string& s) {
    static const std::regex re(R"((\d{4})-(\d{2})-(\d{2}))");
    std::smatch m;
    if (!std::regex_match(s, m, re)) return false;
    int y = std::stoi(m[1]), mo = std::stoi(m[2]), d = std::stoi(m[3]);
    if (y < 1900 || y > 2100 || mo < 1 || mo > 12 || d < 1) return false;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = days[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return d <= max;
}

int decimals_of(const std::string& s) {
    std::size_t dot = s.find('.');
    return dot == std::string::npos ? 0 : static_cast<int>(s.size() - dot - 1);
}

std::string fmt_number(double v) {
    char buf[64];
    if (std::fabs(v - std::round(v)) < 1e-9) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

// "「联系电话」" / "Phone" — with the table and row when inside one.
Text name_of(const Field& field, const Field* table, std::size_t row) {
    if (!table) return {"「" + field.label.zh + "」", "\"" + field.label.en + "\""};
    return {"「" + table->label.zh + "」第" + std::to_string(row + 1) + "行「" + field.label.zh + "」",
            "\"" + table->label.en + "\" row " + std::to_string(row + 1) + ", \"" + field.label.en + "\""};
}

// Whom an issue names; its text (name_of) is built only when there is an issue,
// since most fields of most records have none (the intake validates every record).
struct Who {
    const Field& field;
    const Field* table;
    std::size_t row;
};

Issue make(const std::string& path, const Field& top, IssueKind kind, const Who& who, const std::string& zh,
           const std::string& en) {
    Text name = name_of(who.field, who.table, who.row);
    return Issue{path, top.id, "", kind, {name.zh + zh, name.en + ": " + en}};
}

// Checks a filled scalar value by its field's type.
void check_scalar(const Field& f, const json& v, const std::string& path, const Field& top, const Who& who,
                  std::vector<Issue>& out) {
    auto bad = [&](IssueKind k, const std::string& zh, const std::string& en) { out.push_back(make(path, top, k, who, zh, en)); };
    switch (f.type) {
        case FieldType::Checkbox:
        case FieldType::Commitment:
            if (!v.is_boolean()) bad(IssueKind::Type, "的值应为是或否", "must be true or false");
            else if (f.type == FieldType::Commitment && f.required && !v.get<bool>())
                bad(IssueKind::Missing, "须确认承诺后才能提交", "must be confirmed before submitting");
            return;
        case FieldType::MultiChoice: {
            if (!v.is_array()) { bad(IssueKind::Type, "的值应为选项列表", "must be a list of options"); return; }
            std::set<std::string> seen;
            for (const json& e : v) {
                if (!e.is_string() || !f.find_option(e.get<std::string>())) { bad(IssueKind::Format, "含有无效选项，请重新选择", "has an option that is not offered; choose again"); return; }
                if (!seen.insert(e.get<std::string>()).second) { bad(IssueKind::Format, "选项重复", "has an option twice"); return; }
            }
            return;
        }
        case FieldType::Table:
            return;  // handled by the caller
        default:
            break;
    }
    if (!v.is_string()) { bad(IssueKind::Type, "的值应为文字", "must be text"); return; }
    const std::string& raw = v.get_ref<const std::string&>();
    const std::string s = trimmed(raw);
    if (f.is_texty() && f.max_length && utf8_length(raw) > f.max_length) {
        bad(IssueKind::TooLong, "超过 " + std::to_string(f.max_length) + " 字的上限，请精简", "is longer than " + std::to_string(f.max_length) + " characters; shorten it");
        return;
    }
    switch (f.type) {
        case FieldType::Choice:
            if (!f.find_option(s)) bad(IssueKind::Format, "不是可选的选项，请重新选择", "is not one of the options; choose again");
            return;
        case FieldType::Integer:
        case FieldType::Decimal:
        case FieldType::Money: {
            static const std::regex int_re(R"(-?\d+)");
            static const std::regex dec_re(R"(-?\d+(\.\d+)?)");
            bool integer = f.type == FieldType::Integer;
            if (!std::regex_match(s, integer ? int_re : dec_re)) {
                if (integer) bad(IssueKind::Format, "应填写整数，如 12", "must be a whole number, e.g. 12");
                else bad(IssueKind::Format, "应填写数字，如 1250.50", "must be a number, e.g. 1250.50");
                return;
            }
            if (!integer && decimals_of(s) > f.precision) {
                bad(IssueKind::Format, "最多保留 " + std::to_string(f.precision) + " 位小数", "takes at most " + std::to_string(f.precision) + " decimal places");
                return;
            }
            double n = std::strtod(s.c_str(), nullptr);
            std::string unit_zh = f.unit.empty() ? "" : f.unit;
            if (f.min && n < *f.min) {
                if (*f.min == 0) bad(IssueKind::Range, "不能为负数", "must not be negative");
                else bad(IssueKind::Range, "不能小于 " + fmt_number(*f.min) + unit_zh, "must be at least " + fmt_number(*f.min));
            } else if (f.max && n > *f.max) {
                bad(IssueKind::Range, "不能大于 " + fmt_number(*f.max) + unit_zh, "must be at most " + fmt_number(*f.max));
            }
            return;
        }
        case FieldType::Date:
            if (!is_valid_date(s)) bad(IssueKind::Format, "应为有效日期，格式 2022-05-30", "must be a real date written 2022-05-30");
            return;
        case FieldType::Phone: {
            static const std::regex mobile(R"((\+86[- ]?)?1[3-9]\d{9})");
            static const std::regex landline(R"((0\d{2,3}-?)?[2-9]\d{6,7}(-\d{1,6})?)");
            if (!std::regex_match(s, mobile) && !std::regex_match(s, landline))
                bad(IssueKind::Format, "格式不正确：请填写11位手机号或座机号（如 023-63895941）",
                    "is not a phone number: use an 11-digit mobile or a landline such as 023-63895941");
            return;
        }
        case FieldType::Email: {
            static const std::regex re(R"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})");
            if (!std::regex_match(s, re)) bad(IssueKind::Format, "格式不正确，如 name@example.com", "is not an e-mail address such as name@example.com");
            return;
        }
        case FieldType::PostalCode: {
            static const std::regex re(R"(\d{6})");
            if (!std::regex_match(s, re)) bad(IssueKind::Format, "应为6位数字", "must be 6 digits");
            return;
        }
        case FieldType::Url: {
            static const std::regex re(R"((https?://|www\.)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?(/\S*)?)");
            if (!std::regex_match(s, re)) bad(IssueKind::Format, "格式不正确，如 www.example.com", "is not a web address such as www.example.com");
            return;
        }
        default:
            return;
    }
}

void check_field(const Field& f, const json& record, const std::string& path, const Field& top, const Field* table,
                 std::size_t row_index, const json* row, std::vector<Issue>& out) {
    if (!is_visible(f, record, table, row)) return;
    const json* v = table ? lookup(f.id, record, table, row) : lookup(f.id, record, nullptr, nullptr);
    const Who who{f, table, row_index};
    if (!is_filled(v)) {
        if (f.required && f.filled_by == FilledBy::Applicant)
            out.push_back(make(path, top, IssueKind::Missing, who, "为必填项", "is required"));
        return;
    }
    if (f.type != FieldType::Table) { check_scalar(f, *v, path, top, who, out); return; }
    if (!v->is_array()) { out.push_back(make(path, top, IssueKind::Type, who, "的值应为表格行", "must be a list of rows")); return; }
    if (v->size() > f.max_rows)
        out.push_back(make(path, top, IssueKind::Rows, who, "最多填写 " + std::to_string(f.max_rows) + " 行，请删除多余的行",
                           "takes at most " + std::to_string(f.max_rows) + " rows; remove the extra rows"));
    else if (v->size() < f.min_rows)
        out.push_back(make(path, top, IssueKind::Rows, who, "至少填写 " + std::to_string(f.min_rows) + " 行",
                           "needs at least " + std::to_string(f.min_rows) + " rows"));
    for (std::size_t i = 0; i < v->size(); ++i) {
        const json& r = (*v)[i];
        std::string rp = path + "[" + std::to_string(i) + "]";
        if (!r.is_object()) { out.push_back(make(rp, top, IssueKind::Type, who, "第" + std::to_string(i + 1) + "行格式无效", "row " + std::to_string(i + 1) + " is not a row")); continue; }
        for (const Field& c : f.columns) check_field(c, record, rp + "." + c.id, top, &f, i, &r, out);
    }
}

bool any_filled(const std::vector<std::string>& ids, const json& record) {
    for (const auto& id : ids) if (is_filled(lookup(id, record, nullptr, nullptr))) return true;
    return false;
}

bool all_filled(const std::vector<std::string>& ids, const json& record) {
    for (const auto& id : ids) if (!is_filled(lookup(id, record, nullptr, nullptr))) return false;
    return true;
}

bool rule_passes(const Rule& r, const json& record) {
    switch (r.kind) {
        case RuleKind::All:
            for (const Condition& c : r.conditions) if (!condition_holds(c, record)) return false;
            return true;
        case RuleKind::Any:
            for (const Condition& c : r.conditions) if (condition_holds(c, record)) return true;
            return false;
        case RuleKind::SumEquals: {
            double sum = 0;
            for (const auto& p : r.parts) sum += number_of(lookup(p, record, nullptr, nullptr)).value_or(0);
            auto total = number_of(lookup(r.total, record, nullptr, nullptr));
            return total && std::fabs(*total - sum) < 1e-6;
        }
    }
    return false;
}

CheckState rule_state(const Rule& r, const json& record) {
    if (rule_passes(r, record)) return CheckState::Pass;
    return all_filled(r.fields, record) ? CheckState::Fail : CheckState::Pending;
}

}  // namespace

bool is_filled(const json* v) {
    if (!v || v->is_null()) return false;
    if (v->is_string()) return v->get_ref<const std::string&>().find_first_not_of(" \t\r\n") != std::string::npos;
    if (v->is_array() || v->is_object()) return !v->empty();
    return true;
}

std::optional<double> number_of(const json* v) {
    if (!v) return std::nullopt;
    if (v->is_number()) return v->get<double>();
    if (!v->is_string()) return std::nullopt;
    static const std::regex re(R"(-?\d+(\.\d+)?)");
    std::string s = trimmed(v->get<std::string>());
    if (!std::regex_match(s, re)) return std::nullopt;
    return std::strtod(s.c_str(), nullptr);
}

bool condition_holds(const Condition& c, const json& record, const Field* table, const json* row) {
    const json* v = lookup(c.field, record, table, row);
    auto text = [&]() -> std::string { return v && v->is_string() ? trimmed(v->get<std::string>()) : std::string(); };
    switch (c.op) {
        case ConditionOp::Equals: return is_filled(v) && text() == c.text;
        case ConditionOp::NotEquals: return is_filled(v) && text() != c.text;
        case ConditionOp::Includes:
            if (!v || !v->is_array()) return false;
            for (const json& e : *v) if (e.is_string() && e.get<std::string>() == c.text) return true;
            return false;
        case ConditionOp::Filled: return is_filled(v);
        case ConditionOp::IsTrue: return v && v->is_boolean() && v->get<bool>();
        case ConditionOp::Contains: return text().find(c.text) != std::string::npos && !c.text.empty();
        case ConditionOp::Prefix: return !text().empty() && text().rfind(c.text, 0) == 0;
        case ConditionOp::Gte: { auto n = number_of(v); return n && *n >= c.number; }
        case ConditionOp::Lte: { auto n = number_of(v); return n && *n <= c.number; }
        case ConditionOp::LteField: {
            auto a = number_of(v);
            auto b = number_of(lookup(c.other, record, table, row));
            return !a || !b || *a <= *b + 1e-9;
        }
        case ConditionOp::RowsLte:
            return !v || v->is_null() || (v->is_array() && static_cast<double>(v->size()) <= c.number);
    }
    return false;
}

bool is_visible(const Field& field, const json& record, const Field* table, const json* row) {
    return !field.visible_if || condition_holds(*field.visible_if, record, table, row);
}

std::vector<Issue> validate_field(const FormDefinition&, const Field& field, const json& record) {
    std::vector<Issue> out;
    check_field(field, record, field.id, field, nullptr, 0, nullptr, out);
    return out;
}

std::vector<Issue> validate_record(const FormDefinition& form, const json& record) {
    std::vector<Issue> out;
    for (const Section& s : form.sections)
        for (const Field& f : s.fields) check_field(f, record, f.id, f, nullptr, 0, nullptr, out);
    for (const Rule& r : form.rules) {
        CheckState st = rule_state(r, record);
        if (st == CheckState::Pass) continue;
        if (r.category == RuleCategory::Field && (st == CheckState::Pending && !any_filled(r.fields, record))) continue;
        if (r.category == RuleCategory::Field && st == CheckState::Pending) {
            // Some inputs filled, some not: a sum can already be wrong; comparisons wait.
            if (r.kind != RuleKind::SumEquals) continue;
        }
        out.push_back(Issue{r.fields.front(), r.fields.front(), r.id,
                            r.category == RuleCategory::Eligibility ? IssueKind::Eligibility : IssueKind::Rule, r.message});
    }
    return out;
}

std::vector<EligibilityCheck> check_eligibility(const FormDefinition& form, const json& record) {
    std::vector<EligibilityCheck> out;
    for (const Rule& r : form.rules)
        if (r.category == RuleCategory::Eligibility) out.push_back({&r, rule_state(r, record)});
    return out;
}

std::vector<std::string> summary_row(const FormDefinition& form, const json& record, int index) {
    std::vector<std::string> row;
    for (const SummaryColumn& c : form.summary_columns) {
        std::string cell;
        switch (c.kind) {
            case DerivationKind::RowNumber: cell = std::to_string(index); break;
            case DerivationKind::FieldValue: {
                const Field* f = form.find_field(c.fields.front());
                const json* v = lookup(c.fields.front(), record, nullptr, nullptr);
                if (f && is_filled(v) && is_visible(*f, record)) {
                    if (v->is_string()) {
                        const Option* o = f->find_option(v->get<std::string>());
                        cell = o ? o->label.zh : v->get<std::string>();
                    } else if (v->is_number()) {
                        cell = fmt_number(v->get<double>());
                    }
                    if (f->is_numeric() && !number_of(v)) cell.clear();  // invalid number: empty cell
                    // A value that breaks its field's format, range or length (a phone of
                    // letters, a negative sum of money) is not printed as if it were right.
                    if (!validate_field(form, *f, record).empty()) cell.clear();
                }
                break;
            }
            case DerivationKind::Sum: {
                double sum = 0;
                bool any = false;
                bool invalid = false;
                for (const auto& id : c.fields) {
                    const Field* f = form.find_field(id);
                    const json* v = lookup(id, record, nullptr, nullptr);
                    if (!is_filled(v)) continue;
                    auto n = number_of(v);
                    // One unusable part makes the total unknown: an empty cell, not a wrong number.
                    if (!n || (f && !validate_field(form, *f, record).empty())) invalid = true;
                    else { sum += *n; any = true; }
                }
                if (any && !invalid) cell = fmt_number(sum);
                break;
            }
            case DerivationKind::Join:
                for (const auto& id : c.fields) {
                    const json* v = lookup(id, record, nullptr, nullptr);
                    if (is_filled(v) && v->is_string()) cell += (cell.empty() ? "" : c.separator) + v->get<std::string>();
                }
                break;
        }
        row.push_back(std::move(cell));
    }
    return row;
}

}  // namespace shenbao
