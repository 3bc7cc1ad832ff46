// The district's preliminary review (初审) of a submitted application: the
// decisions, the final decision that travels with the record to the
// commission, and the field-by-field changes a reviewer sees after a return.
//
// A submitted record waits for review. Staff decide, by name:
//   recommend       final; a comment is optional
//   not-recommend   final; a reason is required
//   return          not final: the record goes back to the applicant (status
//                   returned, editable via the resume code) with a comment, and
//                   comes back to review when resubmitted
// Only records with a final decision are sent to the commission (store.h,
// [SECTION] Review). The decision names are the same in the store, the batch
// frame (batch.h), the intake's database and exports, and the CLI.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shenbao {

enum class ReviewDecision { Recommend, Return, NotRecommend };

// "recommend", "return", "not-recommend".
const char* review_decision_name(ReviewDecision decision);
// The inverse of review_decision_name; nullopt for anything else (no other spellings).
std::optional<ReviewDecision> parse_review_decision(std::string_view name);
// Recommend and not-recommend end the review; return does not.
bool is_final(ReviewDecision decision);

// Limits on what a reviewer types (checked by Store::review and by batch decoding).
inline constexpr std::size_t kReviewerNameMaxBytes = 100;
inline constexpr std::size_t kReviewCommentMaxBytes = 4000;

// A final decision as it travels with its record: the batch frame's "review"
// object and the intake's review columns.
struct RecordReview {
    ReviewDecision decision = ReviewDecision::Recommend;
    std::string reason;  // comment (recommend, may be empty) or reason (not-recommend, never empty)
    std::string reviewer;  // the staff member's name as they gave it
    std::int64_t at_ms = 0;
    friend bool operator==(const RecordReview&, const RecordReview&) = default;
};

// Why a reviewer, comment and decision are not acceptable together; nullopt
// when they are. Names the field and what to do. Used by the store before it
// writes and by the batch decoder, so both refuse the same things.
std::optional<std::string> review_input_problem(ReviewDecision decision, std::string_view reviewer,
                                                std::string_view comment);

// One top-level field that differs between two versions of a record's data.
struct FieldChange {
    std::string field_id;
    std::optional<nlohmann::json> before;  // nullopt: the field was not there
    std::optional<nlohmann::json> after;   // nullopt: the field was removed
};

// The fields whose values differ between `before` and `after` (both objects of
// {field_id: value}), in field id order. Equal values (JSON equality) are left out.
std::vector<FieldChange> changed_fields(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace shenbao
