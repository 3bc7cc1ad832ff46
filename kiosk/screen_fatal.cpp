// The store cannot be opened: a staff-facing screen that names the file and
// says what to do, instead of a crash. The idle warning overlay lives here too.
#include "ui.h"

namespace shenbao::kiosk {

void draw_fatal(KioskModel& m, Ui& ui) {
    ImGui::Dummy(ImVec2(0, ui.height * 0.1f));
    ImGui::SetWindowFontScale(1.4f);
    ImGui::TextColored(ImVec4(0.8f, 0.1f, 0.1f, 1), "本机暂停服务 / This kiosk is out of service");
    ImGui::SetWindowFontScale(1.0f);
    ImGui::TextWrapped("请联系工作人员。Please ask the staff.");
    ImGui::Dummy(ImVec2(0, ui.target));
    ImGui::TextColored(ImVec4(0.3f, 0.3f, 0.35f, 1), "For staff:");
    ImGui::TextWrapped("%s", m.fatal_error().c_str());
    ui.mark("fatal.message");
}

void draw_idle_warning(KioskModel& m, Ui& ui) {
    auto left = m.idle_countdown();
    if (!left) return;
    ImVec2 size(std::min(ui.width * 0.6f, 900 * ui.scale), ui.target * 4.5f);
    ImGui::SetNextWindowPos(ImVec2((ui.width - size.x) / 2, (ui.height - size.y) / 2));
    ImGui::SetNextWindowSize(size);
    ImGui::SetNextWindowFocus();
    ImGui::Begin("idle", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings);
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextWrapped("%s", (tr(m, "还在吗？", "Still there? ") + std::to_string(*left) +
                              tr(m, " 秒后将返回首页。如需以后继续，请先「保存并离开」。", " seconds until the kiosk returns to the start. To carry on later, use \"Save and leave\" first.")).c_str());
    ImGui::SetWindowFontScale(1.0f);
    if (ui.button("idle.continue", tr(m, "继续填写", "Continue"), true, true)) m.touch();
    ImGui::End();
}

}  // namespace shenbao::kiosk
