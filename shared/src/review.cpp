// Review decisions: names, the input rules shared by the store and the batch
// decoder, and the field-by-field comparison shown after a return.
#include "shenbao/review.h"

#include <set>

namespace shenbao {

const char* review_decision_name(ReviewDecision decision) {
    switch (decision) {
        case ReviewDecision::Recommend:
            return "recommend";
        case ReviewDecision::Return:
            return "return";
        case ReviewDecision::NotRecommend:
            return "not-recommend";
    }
    return "?";
}

std::optional<ReviewDecision> parse_review_decision(std::string_view name) {
    for (ReviewDecision d :
         {ReviewDecision::Recommend, ReviewDecision::Return, ReviewDecision::NotRecommend})
        if (name == review_decision_name(d)) return d;
    return std::nullopt;
}

bool is_final(ReviewDecision decision) {
    return decision != ReviewDecision::Return;
}

namespace {

bool blank(std::string_view s) {
    return s.find_first_not_of(" \t\r\n\xE3\x80\x80") == std::string_view::npos;
}

bool has_control(std::string_view s, bool allow_newline) {
    for (unsigned char c : s)
        if ((c < 0x20 && !(allow_newline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f)
            return true;
    return false;
}

}  // namespace

std::optional<std::string> review_input_problem(ReviewDecision decision, std::string_view reviewer,
                                                std::string_view comment) {
    if (blank(reviewer))
        return "the reviewer's name is empty; staff give their name with every decision";
    if (reviewer.size() > kReviewerNameMaxBytes)
        return "the reviewer's name is over " + std::to_string(kReviewerNameMaxBytes) +
               " bytes; shorten it";
    if (has_control(reviewer, false))
        return "the reviewer's name holds control characters; type it on one line";
    if (comment.size() > kReviewCommentMaxBytes)
        return "the comment is over " + std::to_string(kReviewCommentMaxBytes) +
               " bytes; shorten it";
    if (has_control(comment, true)) return "the comment holds control characters; remove them";
    if (decision == ReviewDecision::NotRecommend && blank(comment))
        return "not-recommend needs a reason; write why the application is not recommended";
    if (decision == ReviewDecision::Return && blank(comment))
        return "return needs a comment; write what the applicant must correct";
    return std::nullopt;
}

std::vector<FieldChange> changed_fields(const nlohmann::json& before, const nlohmann::json& after) {
    std::set<std::string> ids;
    for (const nlohmann::json* side : {&before, &after})
        if (side->is_object())
            for (auto it = side->begin(); it != side->end(); ++it) ids.insert(it.key());
    auto value = [](const nlohmann::json& side,
                    const std::string& id) -> std::optional<nlohmann::json> {
        if (!side.is_object()) return std::nullopt;
        auto it = side.find(id);
        if (it == side.end()) return std::nullopt;
        return *it;
    };
    std::vector<FieldChange> out;
    for (const std::string& id : ids) {
        FieldChange c{id, value(before, id), value(after, id)};
        if (c.before != c.after) out.push_back(std::move(c));
    }
    return out;
}

}  // namespace shenbao
