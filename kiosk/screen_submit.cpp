// Commitment (承诺) and the receipt with its reference number and QR code.
#include "ui.h"

namespace shenbao::kiosk {

void draw_commitment(KioskModel& m, Ui& ui) {
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextUnformatted(tr(m, "承诺与提交", "Commitment and submission").c_str());
    ImGui::SetWindowFontScale(1.0f);
    ui.notice(m);
    ImGui::Dummy(ImVec2(0, ui.target * 0.5f));
    const Field* f = nullptr;
    for (const Field* x : m.form().all_fields())
        if (x->type == FieldType::Commitment) f = x;
    if (f) {
        ImGui::TextWrapped("%s", tr(m, f->label).c_str());
        ImGui::Dummy(ImVec2(0, 8 * ui.scale));
        ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(ui.target * 0.25f, ui.target * 0.25f));
        bool on = m.commitment_confirmed();
        if (ImGui::Checkbox(tr(m, f->text).c_str(), &on)) m.set_commitment(on);
        ImGui::PopStyleVar();
        ui.mark("commit.confirm");
    }
    ImGui::Dummy(ImVec2(0, ui.target));
    if (ui.button("commit.back", tr(m, "‹ 返回检查", "‹ Back to review"))) m.open_review();
    ImGui::SameLine();
    ImGui::BeginDisabled(!m.commitment_confirmed());
    if (ui.button("commit.submit", tr(m, "提交申报", "Submit the application"), false, true)) m.submit();
    ImGui::EndDisabled();
}

void draw_receipt(KioskModel& m, Ui& ui) {
    ImGui::Dummy(ImVec2(0, ui.height * 0.05f));
    ImGui::SetWindowFontScale(1.4f);
    ImGui::TextColored(ImVec4(0.1f, 0.55f, 0.2f, 1), "%s", tr(m, "✓ 已提交", "✓ Submitted").c_str());
    ImGui::SetWindowFontScale(1.0f);
    ImGui::TextWrapped("%s", tr(m, "请记下或拍下参考编号。打印的申报表须经联盟所有成员单位盖章后交区县经济信息委。",
                                "Note or photograph the reference number. The printed application must be stamped by every member unit and handed to the district office.").c_str());
    ImGui::Dummy(ImVec2(0, 12 * ui.scale));
    ImGui::TextUnformatted(tr(m, "参考编号", "Reference number").c_str());
    ImGui::SetWindowFontScale(1.5f);
    ImGui::TextUnformatted(m.receipt_reference().c_str());
    ImGui::SetWindowFontScale(1.0f);
    ui.mark("receipt.reference");
    draw_qr(m.receipt_reference(), 300 * ui.scale);
    ui.mark("receipt.qr");
    ImGui::Dummy(ImVec2(0, ui.target * 0.5f));
    if (ui.button("receipt.done", tr(m, "完成", "Done"), false, true)) m.end_session();
    ImGui::SameLine();
    // Without a code an applicant whose application is returned could not come back to correct it.
    if (ui.button("receipt.code", tr(m, "领取修改码（如被退回）", "Get a code for corrections"))) m.open_leave();
}

}  // namespace shenbao::kiosk
