// Review: every error and missing required field in one list, each a tap away
// from its field, and the notice's eligibility rules as a checklist.
#include "ui.h"

namespace shenbao::kiosk {

void draw_review(KioskModel& m, Ui& ui) {
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextUnformatted(tr(m, "检查申报内容", "Check your application").c_str());
    ImGui::SetWindowFontScale(1.0f);
    ui.notice(m);
    float bottom = ui.target + ImGui::GetStyle().ItemSpacing.y * 2 + ImGui::GetStyle().WindowPadding.y;
    float h = ImGui::GetContentRegionAvail().y - bottom;
    ImGui::BeginChild("review-body", ImVec2(0, h), true);
    ImGui::TextColored(ImVec4(0.1f, 0.3f, 0.6f, 1), "%s", tr(m, "申报条件", "Eligibility (from the notice)").c_str());
    int k = 0;
    for (const EligibilityCheck& c : m.eligibility()) {
        const char* mark = c.state == CheckState::Pass ? "✓" : c.state == CheckState::Fail ? "✗" : "…";
        ImVec4 col = c.state == CheckState::Pass ? ImVec4(0.1f, 0.55f, 0.2f, 1)
                     : c.state == CheckState::Fail ? ImVec4(0.8f, 0.1f, 0.1f, 1) : ImVec4(0.5f, 0.5f, 0.5f, 1);
        ImGui::TextColored(col, "%s", mark);
        ImGui::SameLine();
        ImGui::TextWrapped("%s", tr(m, c.rule->message).c_str());
        ui.mark("eligibility." + std::to_string(k++));
    }
    ImGui::Separator();
    auto issues = m.review_issues();
    if (issues.empty()) {
        ImGui::TextColored(ImVec4(0.1f, 0.55f, 0.2f, 1), "%s", tr(m, "没有需要处理的问题，可以提交。", "Nothing left to fix: you can submit.").c_str());
    } else {
        ImGui::TextColored(ImVec4(0.8f, 0.1f, 0.1f, 1), "%s",
                           (tr(m, "需要处理的问题：", "Items to fix: ") + std::to_string(issues.size())).c_str());
        for (std::size_t i = 0; i < issues.size(); ++i) {
            const Issue& is = issues[i];
            int s = m.form().section_of(is.field_id);
            std::string where = s >= 0 ? tr(m, m.form().sections[static_cast<std::size_t>(s)].title) + " · " : "";
            ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0, 0.5f));
            if (ui.button("issue." + std::to_string(i), where + tr(m, is.message), true)) {
                ImGui::PopStyleVar();
                m.jump_to(is);
                break;
            }
            ImGui::PopStyleVar();
        }
    }
    ui.drag_to_scroll();
    ImGui::EndChild();
    if (ui.button("review.back", tr(m, "‹ 返回填写", "‹ Back to the form"))) m.go_section(m.section());
    ImGui::SameLine();
    ImGui::BeginDisabled(!issues.empty());
    if (ui.button("review.submit", tr(m, "确认承诺并提交 ›", "Confirm and submit ›"), false, true)) m.open_commitment();
    ImGui::EndDisabled();
}

}  // namespace shenbao::kiosk
