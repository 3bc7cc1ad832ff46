// Form: one section at a time, a section list to jump around, progress, and
// save-and-leave. Fields are drawn from the definition by field_widget().
#include <cstdio>

#include "keyboard.h"
#include "ui.h"

namespace shenbao::kiosk {

namespace {

void top_bar(KioskModel& m, Ui& ui) {
    ImGui::SetWindowFontScale(1.15f);
    ImGui::TextUnformatted(tr(m, m.form().title).c_str());
    ImGui::SetWindowFontScale(1.0f);
    std::string lang_label = m.lang() == Lang::Zh ? "English" : "中文", leave_label = tr(m, "保存并离开", "Save and leave");
    float right = ui.button_width(lang_label) + ui.button_width(leave_label) + ImGui::GetStyle().ItemSpacing.x +
                  ImGui::GetStyle().WindowPadding.x;
    ImGui::SameLine(ui.width - right);
    if (ui.button("lang", lang_label)) m.set_language(m.lang() == Lang::Zh ? Lang::En : Lang::Zh);
    ImGui::SameLine();
    if (ui.button("form.leave", leave_label)) m.open_leave();
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.0f%%", m.progress() * 100);
    ImGui::ProgressBar(static_cast<float>(m.progress()), ImVec2(-FLT_MIN, 10 * ui.scale + 8), "");
    ui.mark("progress");
    ImGui::TextColored(ImVec4(0.35f, 0.35f, 0.4f, 1), "%s %s", tr(m, "必填项完成", "Required fields done").c_str(), pct);
    // Autosave, visibly: every change reaches the store within 400 ms.
    if (m.has_unsaved() || m.saved_once()) {
        ImGui::SameLine(0, 24 * ui.scale);
        if (m.has_unsaved()) ImGui::TextColored(ImVec4(0.45f, 0.45f, 0.5f, 1), "%s", tr(m, "正在保存…", "Saving…").c_str());
        else ImGui::TextColored(ImVec4(0.10f, 0.50f, 0.25f, 1), "%s", tr(m, "✓ 已自动保存", "✓ Saved").c_str());
        ui.mark("form.saved");
    }
    if (!m.return_comment().empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.6f, 0.2f, 0.0f, 1));
        ImGui::TextWrapped("%s%s", tr(m, "工作人员退回修改意见：", "Returned by staff for corrections: ").c_str(), m.return_comment().c_str());
        ImGui::PopStyleColor();
        ui.mark("return-comment");
    }
    ui.notice(m);
}

void section_list(KioskModel& m, Ui& ui, float width, float height) {
    ImGui::BeginChild("sections", ImVec2(width, height), true);
    ui.mark_window("sections");
    const auto& sections = m.form().sections;
    int annex = 0;
    for (int i = 0; i < static_cast<int>(sections.size()); ++i) {
        const Section& s = sections[static_cast<std::size_t>(i)];
        if (s.annex != annex) {
            annex = s.annex;
            ImGui::TextColored(ImVec4(0.4f, 0.4f, 0.45f, 1), "%s", annex == 1 ? tr(m, "附件1 申报表", "Annex 1 Form").c_str()
                                                                              : tr(m, "附件2 建设运行报告", "Annex 2 Report").c_str());
        }
        double p = m.section_progress(i);
        bool issues = m.section_has_issues(i);
        std::string mark = issues ? "! " : p >= 1.0 ? "✓ " : "  ";
        bool current = i == m.section();
        if (current) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.72f, 0.84f, 0.98f, 1));
        if (issues) ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.70f, 0.08f, 0.08f, 1));
        ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0, 0.5f));
        // A long title wraps inside its button (never cut off), with the Chinese line-breaking rules.
        std::string label = wrapped_label(mark, tr(m, s.title), ImGui::GetContentRegionAvail().x - ImGui::GetStyle().FramePadding.x * 2);
        if (ui.button("section." + std::to_string(i), label, true)) m.go_section(i);
        if (issues) ImGui::PopStyleColor();
        if (current && ui.shown_section != i) {  // keep the current section in view
            ImGui::SetScrollHereY(0.5f);
            ui.shown_section = i;
        }
        ImGui::PopStyleVar();
        if (current) ImGui::PopStyleColor();
    }
    ui.drag_to_scroll();
    ImGui::EndChild();
}

}  // namespace

void draw_form(KioskModel& m, Ui& ui) {
    top_bar(m, ui);
    float bottom = ui.target + ImGui::GetStyle().ItemSpacing.y * 2 + ImGui::GetStyle().WindowPadding.y;
    // The on-screen keyboard takes the bottom of the screen: the form shrinks above it,
    // so no field or button is ever hidden behind it.
    float keyboard = ui.keyboard ? ui.keyboard->height(ui) : 0;
    ui.form_keyboard = keyboard;
    float h = ImGui::GetContentRegionAvail().y - bottom - keyboard;
    ui.body_height = h;
    float side = std::clamp(ui.width * 0.24f, 260.0f, 460.0f * ui.scale);
    section_list(m, ui, side, h);
    ImGui::SameLine();
    const Section& s = m.form().sections[static_cast<std::size_t>(m.section())];
    ImGui::BeginChild(("section-body-" + s.id).c_str(), ImVec2(0, h), true);
    ui.mark_window("section-body");
    ui.labels["section"] = std::to_string(m.section());  // for the GUI tests: which section is shown
    ImGui::SetWindowFontScale(1.2f);
    ImGui::TextWrapped("%s", tr(m, s.title).c_str());
    ImGui::SetWindowFontScale(1.0f);
    ImGui::Separator();
    ImGui::Dummy(ImVec2(0, 8 * ui.scale));
    for (const Field* f : m.visible_fields(m.section())) field_widget(m, ui, *f);
    ImGui::Dummy(ImVec2(0, h * 0.4f));  // room to scroll the last field up, above any keyboard
    ui.drag_to_scroll();
    ImGui::EndChild();

    ImGui::BeginDisabled(m.section() == 0);
    if (ui.button("form.prev", tr(m, "‹ 上一节", "‹ Previous"))) m.prev_section();
    ImGui::EndDisabled();
    ImGui::SameLine();
    bool last = m.section() + 1 == static_cast<int>(m.form().sections.size());
    if (ui.button("form.next", last ? tr(m, "检查并提交 ›", "Check and submit ›") : tr(m, "下一节 ›", "Next ›"), false, true))
        m.next_section();
    ImGui::SameLine(ui.width - ui.target * 5);
    if (ui.button("form.review", tr(m, "检查全部", "Check all"))) m.open_review();
}

}  // namespace shenbao::kiosk
