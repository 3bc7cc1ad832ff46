// The form model: a parsed form definition (assets/forms/FORMAT.md). Immutable
// once loaded; the kiosk, validation, generator and exports all read it.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shenbao/result.h"

namespace shenbao {

// A definition file larger than this is refused before parsing.
inline constexpr std::size_t kMaxFormDefinitionBytes = 4 * 1024 * 1024;

// A label or message in both languages.
struct Text {
    std::string zh;
    std::string en;
};

enum class Lang { Zh, En };
const std::string& pick(const Text& text, Lang lang);

enum class FieldType {
    Text, Multiline, Integer, Decimal, Money, Date, Phone, Email, PostalCode, Url,
    Choice, MultiChoice, Checkbox, Table, Commitment,
};
const char* field_type_name(FieldType type);

enum class ConditionOp { Equals, NotEquals, Includes, Filled, IsTrue, Contains, Prefix, Gte, Lte, LteField, RowsLte };

// One test of one field's value (FORMAT.md, "Condition").
struct Condition {
    std::string field;
    ConditionOp op = ConditionOp::Filled;
    std::string text;       // Equals, NotEquals, Includes, Contains, Prefix
    double number = 0;      // Gte, Lte, RowsLte
    std::string other;      // LteField
};

struct Option {
    std::string value;
    Text label;
};

enum class FilledBy { Applicant, District };

struct Field {
    std::string id;
    FieldType type = FieldType::Text;
    Text label;
    Text help;
    std::vector<std::string> seed_labels;
    bool required = false;
    std::size_t max_length = 0;  // code points; 0 for non-text types
    std::optional<double> min, max;
    int precision = 0;           // decimals allowed (Decimal, Money)
    std::string unit;
    std::vector<Option> options;
    std::vector<Field> columns;  // Table only
    std::size_t min_rows = 0, max_rows = 0;
    std::optional<Condition> visible_if;
    Text text;                   // Commitment statement
    FilledBy filled_by = FilledBy::Applicant;
    std::string gen;             // generator hint

    bool is_numeric() const;
    bool is_texty() const;       // stored as a free string typed by the applicant
    const Option* find_option(std::string_view value) const;
    const Field* find_column(std::string_view column_id) const;
};

struct Section {
    std::string id;
    int annex = 1;
    Text title;
    std::vector<Field> fields;
};

enum class RuleCategory { Field, Eligibility };
enum class RuleKind { All, Any, SumEquals };

struct Rule {
    std::string id;
    RuleCategory category = RuleCategory::Field;
    Text message;
    std::vector<std::string> fields;
    RuleKind kind = RuleKind::All;
    std::vector<Condition> conditions;  // All / Any
    std::string total;                  // SumEquals
    std::vector<std::string> parts;     // SumEquals
};

enum class DerivationKind { RowNumber, FieldValue, Sum, Join };

struct SummaryColumn {
    std::string id;
    Text label;
    DerivationKind kind = DerivationKind::FieldValue;
    std::vector<std::string> fields;
    std::string separator;
};

struct FormDefinition {
    std::string form_id;
    int version = 0;
    Text title;
    std::vector<Section> sections;
    std::vector<Rule> rules;
    std::vector<SummaryColumn> summary_columns;

    // Top-level field by id; nullptr when absent. Pointers live as long as the definition.
    const Field* find_field(std::string_view id) const;
    // Section index holding the field, or -1.
    int section_of(std::string_view field_id) const;
    // Every top-level field in display order.
    std::vector<const Field*> all_fields() const;

    // Rebuilds the id index after `sections` changed (the parser calls it).
    void build_index();

private:
    std::map<std::string, std::pair<int, int>, std::less<>> index_;  // id -> (section, field)
};

// Parses a definition. `source` names the file in error messages. Errors carry
// the JSON pointer of the offending value.
Result<FormDefinition> parse_form(std::string_view json_text, std::string_view source);

// Reads and parses a definition file (refuses files over kMaxFormDefinitionBytes).
Result<FormDefinition> load_form(const std::string& path);

// The assets folder: $SHENBAO_ASSETS_DIR, else <program's folder>/../share/shenbao when
// it holds forms/ (installed: /usr/share/shenbao), else the one this build was made from.
std::string assets_dir();

// Path of a bundled form: assets_dir()/forms/<form_id>.json.
std::string bundled_form_path(std::string_view form_id);

}  // namespace shenbao
