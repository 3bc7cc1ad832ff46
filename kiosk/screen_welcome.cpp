// Welcome: start a new application or resume one; Chinese first, English switchable.
#include "ui.h"

namespace shenbao::kiosk {

void draw_welcome(KioskModel& m, Ui& ui) {
    ImGui::Dummy(ImVec2(0, ui.height * 0.08f));
    ImGui::SetWindowFontScale(1.5f);
    ImGui::TextWrapped("%s", tr(m, m.form().title).c_str());
    ImGui::SetWindowFontScale(1.0f);
    ImGui::TextColored(ImVec4(0.35f, 0.35f, 0.4f, 1), "%s",
                       tr(m, "请在本机自助填写申报表。可随时保存并离开，凭续填码和 PIN 继续。",
                          "Fill in the application here yourself. You can save and leave at any time and come back with a resume code and PIN.").c_str());
    ImGui::Dummy(ImVec2(0, ui.height * 0.06f));
    ui.notice(m);
    float w = std::min(ui.width * 0.5f, 720 * ui.scale);
    ImGui::SetCursorPosX((ui.width - w) / 2);
    ImGui::BeginGroup();
    ImGui::PushItemWidth(w);
    ImGui::SetWindowFontScale(1.25f);
    ImGui::BeginChild("actions", ImVec2(w, ui.target * 5.5f), false);
    if (ui.button("welcome.new", tr(m, "开始新的申报", "Start a new application"), true, true)) m.start_new();
    ImGui::Dummy(ImVec2(0, ui.target * 0.4f));
    if (ui.button("welcome.resume", tr(m, "继续填写（续填码 + PIN）", "Resume (code + PIN)"), true)) m.open_resume();
    ImGui::EndChild();
    ImGui::SetWindowFontScale(1.0f);
    ImGui::PopItemWidth();
    ImGui::EndGroup();

    // Language and staff entry sit in the bottom corners.
    ImGui::SetCursorPos(ImVec2(ImGui::GetStyle().WindowPadding.x, ui.height - ui.target * 1.6f));
    if (ui.button("lang", m.lang() == Lang::Zh ? "English" : "中文")) m.set_language(m.lang() == Lang::Zh ? Lang::En : Lang::Zh);
    ImGui::SameLine(ui.width - ui.target * 4);
    if (ui.button("welcome.staff", tr(m, "工作人员", "Staff"))) m.open_staff_login();
}

}  // namespace shenbao::kiosk
