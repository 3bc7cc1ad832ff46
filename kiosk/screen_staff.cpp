// Staff mode behind the staff PIN: records by status with search, one record
// read-only with "return for corrections", the sync status and settings.
#include "ui.h"

#include <imgui_stdlib.h>

namespace shenbao::kiosk {

namespace {

void login(KioskModel& m, Ui& ui) {
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextUnformatted(tr(m, "工作人员登录", "Staff sign-in").c_str());
    ImGui::SetWindowFontScale(1.0f);
    ui.notice(m);
    auto& e = m.entry();
    entry_box(m, ui, "staff.pin", tr(m, "工作人员 PIN", "Staff PIN"), e.staff_pin, 0, true, ImGuiInputTextFlags_CharsDecimal);
    if (keypad(ui, "staff.key", "1234567890", e.staff_pin, 12, 5)) m.touch();
    ImGui::Dummy(ImVec2(0, ui.target * 0.5f));
    if (ui.button("staff.back", tr(m, "‹ 返回", "‹ Back"))) m.end_session();
    ImGui::SameLine();
    if (ui.button("staff.login", tr(m, "登录", "Sign in"), false, true)) {
        std::string pin = e.staff_pin;
        e.staff_pin.clear();
        m.staff_login(pin);
    }
}

void home(KioskModel& m, Ui& ui) {
    ImGui::SetWindowFontScale(1.3f);
    ImGui::TextUnformatted(tr(m, "工作人员", "Staff").c_str());
    ImGui::SetWindowFontScale(1.0f);
    ImGui::SameLine(ui.width - ui.target * 4);
    if (ui.button("staff.logout", tr(m, "退出", "Sign out"))) { m.end_session(); return; }
    ui.notice(m);
    for (const std::string& p : ui.input_problems)  // a hidden keyboard layout and the package to install
        ImGui::TextColored(ImVec4(0.75f, 0.35f, 0.0f, 1), "%s%s", tr(m, "屏幕键盘：", "On-screen keyboard: ").c_str(), p.c_str());
    if (!ui.input_problems.empty()) ui.mark("staff.input-problems");

    if (ImGui::BeginTabBar("staff-tabs")) {
        if (ImGui::BeginTabItem(tr(m, "申报记录", "Records").c_str())) {
            static const char* names[] = {"all", "draft", "submitted", "returned", "queued", "synced"};
            static int filter = 0;  // UI-only choice; holds no applicant data
            for (int i = 0; i < 6; ++i) {
                if (i) ImGui::SameLine();
                if (i == filter) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.72f, 0.84f, 0.98f, 1));
                if (ui.button(std::string("staff.filter.") + names[i], names[i])) filter = i;
                if (i == filter) ImGui::PopStyleColor();
            }
            ImGui::SetNextItemWidth(ui.target * 8);
            ImGui::InputTextWithHint("##search", tr(m, "搜索名称或编号", "Search name or id").c_str(), &m.entry().search);
            ui.mark("staff.search");
            auto status = filter ? parse_status(names[filter]) : std::nullopt;
            ImGui::BeginChild("records", ImVec2(0, 0), true);
            for (const auto& row : m.staff_records(status, m.entry().search)) {
                std::string label = row.meta.id + "  [" + status_name(row.meta.status) + "]  " + row.name + "  " + row.lead;
                ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0, 0.5f));
                if (ui.button("staff.record." + row.meta.id, label, true)) m.staff_open(row.meta.id);
                ImGui::PopStyleVar();
            }
            ui.drag_to_scroll();
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        if (ImGui::BeginTabItem(tr(m, "同步状态", "Sync status").c_str())) {
            auto s = m.sync_status();
            ImGui::Text("%s %lld", tr(m, "待提交队列（已提交）：", "Submitted, waiting: ").c_str(), static_cast<long long>(s.submitted));
            ImGui::Text("%s %lld", tr(m, "已排队：", "Queued: ").c_str(), static_cast<long long>(s.queued));
            ImGui::Text("%s %lld", tr(m, "已同步：", "Synced: ").c_str(), static_cast<long long>(s.synced));
            ImGui::Text("%s %s", tr(m, "上次成功：", "Last success: ").c_str(), s.last_success.empty() ? "—" : s.last_success.c_str());
            ImGui::TextWrapped("%s %s", tr(m, "上次错误：", "Last error: ").c_str(), s.last_error.empty() ? "—" : s.last_error.c_str());
            ui.mark("staff.sync");
            ImGui::EndTabItem();
        }
        if (ImGui::BeginTabItem(tr(m, "设置", "Settings").c_str())) {
            static Settings edit;  // UI-only copy of the settings being edited
            static bool loaded = false;
            if (!loaded) { edit = m.settings(); loaded = true; }
            ImGui::SetNextItemWidth(ui.target * 5);
            ImGui::InputInt(tr(m, "空闲返回首页（秒）", "Idle reset (seconds)").c_str(), &edit.idle_seconds, 10, 60);
            ui.mark("staff.idle");
            ImGui::SetNextItemWidth(ui.target * 5);
            ImGui::InputText(tr(m, "同步时段", "Sync window").c_str(), &edit.sync_window);
            ui.mark("staff.window");
            bool en = edit.lang == Lang::En;
            if (ImGui::Checkbox(tr(m, "默认英文界面", "English by default").c_str(), &en)) edit.lang = en ? Lang::En : Lang::Zh;
            if (ui.button("staff.save-settings", tr(m, "保存设置", "Save settings"), false, true) && m.staff_save_settings(edit))
                loaded = false;
            ImGui::EndTabItem();
        }
        ImGui::EndTabBar();
    }
}

void record(KioskModel& m, Ui& ui) {
    const Record& r = m.staff_record();
    if (ui.button("staff.record-back", tr(m, "‹ 返回列表", "‹ Back to the list"))) { m.staff_back(); return; }
    ImGui::SameLine();
    ImGui::Text("%s  [%s]", r.meta.id.c_str(), status_name(r.meta.status));
    ui.notice(m);
    float h = ImGui::GetContentRegionAvail().y - (r.meta.status == RecordStatus::Submitted ? ui.target * 4.5f : 0);
    ImGui::BeginChild("record-body", ImVec2(0, h), true);
    for (const Section& s : m.form().sections) {
        ImGui::SetWindowFontScale(1.15f);
        ImGui::TextUnformatted(tr(m, s.title).c_str());
        ImGui::SetWindowFontScale(1.0f);
        for (const Field& f : s.fields) {
            auto it = r.data.find(f.id);
            if (it == r.data.end() || !is_filled(&*it)) continue;
            std::string v = it->is_string() ? it->get<std::string>() : it->dump();
            ImGui::TextColored(ImVec4(0.35f, 0.35f, 0.4f, 1), "%s", tr(m, f.label).c_str());
            ImGui::TextWrapped("%s", v.c_str());
        }
        ImGui::Separator();
    }
    ui.drag_to_scroll();
    ImGui::EndChild();
    if (r.meta.status == RecordStatus::Submitted) {
        ImGui::TextUnformatted(tr(m, "退回修改意见（申请人续填时可见）", "Comment for the applicant (shown when they resume)").c_str());
        ImGui::InputTextMultiline("##comment", &m.entry().comment, ImVec2(-FLT_MIN, ui.target * 1.6f));
        ui.mark("staff.comment");
        if (ui.button("staff.return", tr(m, "退回修改", "Return for corrections"), false, true)) {
            std::string c = m.entry().comment;
            if (m.staff_return(c)) m.entry().comment.clear();
        }
    }
}

}  // namespace

void draw_staff(KioskModel& m, Ui& ui) {
    switch (m.screen()) {
        case Screen::StaffLogin: login(m, ui); break;
        case Screen::Staff: home(m, ui); break;
        default: record(m, ui); break;
    }
}

}  // namespace shenbao::kiosk
