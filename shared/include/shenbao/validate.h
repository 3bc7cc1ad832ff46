// Validation of a record's values against its form definition. The kiosk (as the
// applicant leaves a field, and before submit) and the intake run this same code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shenbao/form.h"

namespace shenbao {

// True when a stored value counts as filled (FORMAT.md: "" / null / [] / missing are not).
bool is_filled(const nlohmann::json* value);

// The number a numeric value holds, or nullopt when it is empty or not a number.
std::optional<double> number_of(const nlohmann::json* value);

// Whether a field is shown, given the record (and, for a table column, its table
// and row: a condition naming a column of that table reads the row).
bool is_visible(const Field& field, const nlohmann::json& record, const Field* table = nullptr,
                const nlohmann::json* row = nullptr);

enum class IssueKind { Missing, Format, Range, TooLong, Rows, Rule, Eligibility, Type };

struct Issue {
    std::string path;      // "lead_email" or "council[2].phone" (row index 0-based)
    std::string field_id;  // top-level field to navigate to
    std::string rule_id;   // for Rule / Eligibility issues
    IssueKind kind;
    Text message;          // names the field; says what to do
};

// Checks one field (a top-level field, or a table with its cells) of a record.
std::vector<Issue> validate_field(const FormDefinition& form, const Field& field,
                                  const nlohmann::json& record);

// Checks every visible field plus every rule; what must be empty before submit.
std::vector<Issue> validate_record(const FormDefinition& form, const nlohmann::json& record);

enum class CheckState { Pass, Fail, Pending };

struct EligibilityCheck {
    const Rule* rule;
    CheckState state;
};

// The notice's 申报条件 as a checklist: Pending while the fields involved are unfilled.
std::vector<EligibilityCheck> check_eligibility(const FormDefinition& form, const nlohmann::json& record);

// Evaluates one condition against a record (and a table row for column references).
// Numeric tests fail on an unfilled value, except lte_field, which holds when
// either side is unfilled (nothing to compare yet).
bool condition_holds(const Condition& cond, const nlohmann::json& record, const Field* table = nullptr,
                     const nlohmann::json* row = nullptr);

// The 附件3 summary row of one record (`index` is its 1-based row number); an
// invalid or missing value gives an empty cell.
std::vector<std::string> summary_row(const FormDefinition& form, const nlohmann::json& record, int index);

}  // namespace shenbao
