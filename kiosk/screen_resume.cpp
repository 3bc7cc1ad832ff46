// Resume: the applicant enters the resume code and PIN; a wrong one says only
// that the pair is wrong.
#include "ui.h"

#include <imgui_stdlib.h>

namespace shenbao::kiosk {

void draw_resume(KioskModel& m, Ui& ui) {
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextUnformatted(tr(m, "继续填写", "Resume an application").c_str());
    ImGui::SetWindowFontScale(1.0f);
    ui.notice(m);
    auto& e = m.entry();
    ImGui::BeginGroup();
    entry_box(m, ui, "resume.code", tr(m, "续填码（8位）", "Resume code (8 characters)"), e.code, 0, false, ImGuiInputTextFlags_CharsUppercase);
    entry_box(m, ui, "resume.pin", "PIN", e.pin, 1, true, ImGuiInputTextFlags_CharsDecimal);
    ImGui::EndGroup();
    ImGui::SameLine(0, ui.target);
    ImGui::BeginGroup();
    // The code alphabet has no 0/O or 1/I/L look-alikes.
    if (e.target == 0 ? keypad(ui, "resume.key", "23456789ABCDEFGHJKMNPQRSTUVWXYZ", e.code, 9, 8)
                      : keypad(ui, "resume.key", "1234567890", e.pin, 8, 5))
        m.touch();
    ImGui::EndGroup();
    ImGui::Dummy(ImVec2(0, ui.target * 0.5f));
    if (ui.button("resume.back", tr(m, "‹ 返回", "‹ Back"))) m.end_session();
    ImGui::SameLine();
    if (ui.button("resume.go", tr(m, "继续", "Continue"), false, true)) {
        std::string code = e.code, pin = e.pin;
        if (!m.resume(code, pin)) m.entry().pin.clear();
    }
}

}  // namespace shenbao::kiosk
