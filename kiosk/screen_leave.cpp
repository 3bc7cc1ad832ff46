// Save and leave: the applicant chooses a PIN (typed twice) and gets a short
// resume code. A digit keypad makes it work by touch alone.
#include "ui.h"

#include <imgui_stdlib.h>

namespace shenbao::kiosk {

// A keypad typing into `target`; keys are touch-sized. Returns true when a key was tapped.
bool keypad(Ui& ui, const std::string& name, const std::string& keys, std::string& target, std::size_t max_len, int columns) {
    bool tapped = false;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i % static_cast<std::size_t>(columns) != 0) ImGui::SameLine();
        std::string k(1, keys[i]);
        ImGui::PushID(static_cast<int>(i));
        if (ImGui::Button(k.c_str(), ImVec2(ui.target * 1.4f, ui.target * 1.2f)) && target.size() < max_len) {
            target += k;
            tapped = true;
        }
        ui.mark(name + "." + k);
        ImGui::PopID();
    }
    if (ImGui::Button("← 退格", ImVec2(ui.target * 2.8f, ui.target * 1.2f)) && !target.empty()) {
        target.pop_back();
        tapped = true;
    }
    ui.mark(name + ".back");
    return tapped;
}

// A masked or plain box that shows what the keypad typed and takes keyboard input too.
void entry_box(KioskModel& m, Ui& ui, const std::string& name, const std::string& label, std::string& value, int index,
               bool masked, ImGuiInputTextFlags extra) {
    ImGui::TextUnformatted(label.c_str());
    bool selected = m.entry().target == index;
    if (selected) ImGui::PushStyleColor(ImGuiCol_FrameBg, ImVec4(0.85f, 0.92f, 1.0f, 1));
    ImGui::SetNextItemWidth(ui.target * 6);
    ImGui::InputText(("##" + name).c_str(), &value, extra | (masked ? ImGuiInputTextFlags_Password : 0));
    if (selected) ImGui::PopStyleColor();
    ui.mark(name);
    if (ImGui::IsItemActivated()) m.entry().target = index;
    if (ImGui::IsItemEdited()) m.touch();
}

void draw_leave(KioskModel& m, Ui& ui) {
    if (m.screen() == Screen::LeaveDone) {
        ImGui::Dummy(ImVec2(0, ui.height * 0.06f));
        ImGui::SetWindowFontScale(1.3f);
        ImGui::TextUnformatted(tr(m, "已保存。您的续填码：", "Saved. Your resume code:").c_str());
        ImGui::SetWindowFontScale(2.2f);
        std::string code = m.resume_code();
        ImGui::TextUnformatted((code.substr(0, 4) + " " + code.substr(4)).c_str());
        ui.mark("leave.code");
        ImGui::SetWindowFontScale(1.0f);
        ImGui::TextWrapped("%s", tr(m, "请记下续填码并牢记 PIN。下次在任一台本机上选择「继续填写」，输入续填码和 PIN 即可接着填写。",
                                    "Write the code down and remember your PIN. Next time choose \"Resume\" and enter both to carry on.").c_str());
        ImGui::Dummy(ImVec2(0, ui.target));
        if (ui.button("leave.done", tr(m, "完成", "Done"), false, true)) m.end_session();
        return;
    }
    const bool submitted = !m.receipt_reference().empty();  // from the receipt: a code for corrections
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextUnformatted(submitted ? tr(m, "领取修改码", "A code for corrections").c_str() : tr(m, "保存并离开", "Save and leave").c_str());
    ImGui::SetWindowFontScale(1.0f);
    if (submitted)
        ImGui::TextWrapped("%s", tr(m, "设置一个 4 到 8 位数字的 PIN。如区县经济信息委退回修改，凭续填码和 PIN 回来修改后重新提交。",
                                    "Choose a PIN of 4 to 8 digits. If the district office returns the application for corrections, "
                                    "come back with the code and the PIN to correct and resubmit it.").c_str());
    else
        ImGui::TextWrapped("%s", tr(m, "设置一个 4 到 8 位数字的 PIN，凭续填码和 PIN 可随时回来继续填写。",
                                    "Choose a PIN of 4 to 8 digits. With the resume code and the PIN you can come back at any time.").c_str());
    ui.notice(m);
    auto& e = m.entry();
    ImGui::BeginGroup();
    entry_box(m, ui, "leave.pin", tr(m, "PIN", "PIN"), e.pin, 0, true, ImGuiInputTextFlags_CharsDecimal);
    entry_box(m, ui, "leave.pin2", tr(m, "再输入一次", "PIN again"), e.pin_again, 1, true, ImGuiInputTextFlags_CharsDecimal);
    ImGui::EndGroup();
    ImGui::SameLine(0, ui.target);
    ImGui::BeginGroup();
    if (keypad(ui, "leave.key", "123456789", e.target == 0 ? e.pin : e.pin_again, 8, 3)) m.touch();
    ImGui::EndGroup();
    ImGui::Dummy(ImVec2(0, ui.target * 0.5f));
    if (ui.button("leave.back", submitted ? tr(m, "‹ 返回", "‹ Back") : tr(m, "‹ 返回填写", "‹ Back to the form"))) m.leave_back();
    ImGui::SameLine();
    if (ui.button("leave.confirm", tr(m, "保存并获取续填码", "Save and get my code"), false, true)) {
        std::string pin = e.pin, again = e.pin_again;
        if (!m.leave_with_pin(pin, again)) e.pin_again.clear();
    }
}

}  // namespace shenbao::kiosk
