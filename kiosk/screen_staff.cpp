// Staff mode behind the staff PIN: records by status (or awaiting review) with
// search, one record read-only with the review panel (初审: recommend, return
// for corrections, not recommend, by name; what changed since a return) and its
// PDF (save / print), the sync status with the records the commission refused,
// paper (附件3 export, export folder, printer) and settings.
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

// 附件3 export and where paper goes: the export folder (a USB stick's mount path), the printer, the header line.
void paper(KioskModel& m, Ui& ui) {
    if (ui.button("staff.export-summary", tr(m, "导出推荐汇总表（附件3，.xlsx）", "Export the summary table (附件3, .xlsx)"), false, true))
        m.staff_export_summary();
    static Settings edit;  // UI-only copy of the settings being edited
    static bool loaded = false;
    if (!loaded) { edit = m.settings(); loaded = true; }
    auto input = [&](const char* name, const std::string& label, std::string& value) {
        ImGui::SetNextItemWidth(ui.target * 10);
        ImGui::InputText(label.c_str(), &value);
        ui.mark(name);
    };
    input("staff.export-dir", tr(m, "导出文件夹（空：数据文件夹下 exports）", "Export folder (empty: exports in the data folder)"), edit.export_dir);
    input("staff.printer", tr(m, "打印机（空：系统默认）", "Printer (empty: the system default)"), edit.printer);
    input("staff.recommender", tr(m, "推荐单位", "Recommending office (推荐单位)"), edit.recommender);
    input("staff.contact", tr(m, "联系人", "Contact person"), edit.contact);
    input("staff.phone", tr(m, "联系电话", "Contact phone"), edit.phone);
    if (ui.button("staff.save-paper", tr(m, "保存", "Save"), false, true)) {
        Settings s = m.settings();
        s.export_dir = edit.export_dir;
        s.printer = edit.printer;
        s.recommender = edit.recommender;
        s.contact = edit.contact;
        s.phone = edit.phone;
        if (m.staff_save_settings(s)) loaded = false;
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
            static const char* names[] = {"all", "draft", "submitted", "returned", "queued", "synced", "awaiting-review"};
            static int filter = 0;  // UI-only choice; holds no applicant data
            constexpr int kAwaitingReview = 6;
            for (int i = 0; i < 7; ++i) {
                if (i) ImGui::SameLine();
                // Pop what was pushed: a tap changes `filter` between the two.
                const bool selected = i == filter;
                if (selected) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.72f, 0.84f, 0.98f, 1));
                std::string label = i == kAwaitingReview ? tr(m, "待初审", "awaiting review") : names[i];
                if (ui.button(std::string("staff.filter.") + names[i], label)) filter = i;
                if (selected) ImGui::PopStyleColor();
            }
            ImGui::SetNextItemWidth(ui.target * 8);
            ImGui::InputTextWithHint("##search", tr(m, "搜索名称或编号", "Search name or id").c_str(), &m.entry().search);
            ui.mark("staff.search");
            auto status = filter && filter != kAwaitingReview ? parse_status(names[filter]) : std::nullopt;
            ImGui::BeginChild("records", ImVec2(0, 0), true);
            auto rows = filter == kAwaitingReview ? m.staff_review_queue(m.entry().search) : m.staff_records(status, m.entry().search);
            for (const auto& row : rows) {
                std::string label = row.meta.id + "  [" + status_name(row.meta.status) + "]  " + row.name + "  " + row.lead;
                want_glyphs(label);
                ImGui::PushStyleVar(ImGuiStyleVar_ButtonTextAlign, ImVec2(0, 0.5f));
                if (ui.button("staff.record." + row.meta.id, label, true)) m.staff_open(row.meta.id);
                ImGui::PopStyleVar();
            }
            ui.drag_to_scroll();
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        bool sync_open = ImGui::BeginTabItem(tr(m, "同步状态", "Sync status").c_str());
        ui.mark("staff.tab.sync");
        if (sync_open) {
            auto s = m.sync_status();
            ImGui::Text("%s %lld", tr(m, "待初审（初审后才发送）：", "Awaiting review (sent once decided): ").c_str(),
                        static_cast<long long>(s.awaiting_review));
            ImGui::Text("%s %lld", tr(m, "已初审、待发送：", "Reviewed, waiting to be sent: ").c_str(), static_cast<long long>(s.ready));
            ImGui::Text("%s %lld (%s %lld)", tr(m, "已排队：", "Queued: ").c_str(), static_cast<long long>(s.queued),
                        tr(m, "上传中的批次", "batches in flight").c_str(), static_cast<long long>(s.live_batches));
            ImGui::Text("%s %lld", tr(m, "已同步：", "Synced: ").c_str(), static_cast<long long>(s.synced));
            ImGui::Text("%s %s", tr(m, "上次成功：", "Last success: ").c_str(), s.last_success.empty() ? "—" : s.last_success.c_str());
            ImGui::Text("%s %s", tr(m, "上次尝试：", "Last attempt: ").c_str(), s.last_attempt.empty() ? "—" : s.last_attempt.c_str());
            want_glyphs(s.last_error);
            ImGui::TextWrapped("%s %s", tr(m, "上次错误：", "Last error: ").c_str(), s.last_error.empty() ? "—" : s.last_error.c_str());
            ui.mark("staff.sync");
            if (const auto& r = s.last_receipt) {  // what the commission signed for the newest batch
                ImGui::Separator();
                ImGui::Text("%s %s", tr(m, "最近回执：批次", "Last receipt: batch").c_str(), r->batch_id.c_str());
                ImGui::Text("%s %s  ·  %s %lld  ·  %s %lld", tr(m, "委员会接收于", "received by the commission at").c_str(),
                            r->received.c_str(), tr(m, "已接收", "accepted").c_str(), static_cast<long long>(r->synced),
                            tr(m, "拒收", "refused").c_str(), static_cast<long long>(r->refused));
                std::string ids;
                for (const std::string& id : r->record_ids) ids += (ids.empty() ? "" : ", ") + id;
                ImGui::TextWrapped("%s %s", tr(m, "记录：", "Records: ").c_str(), ids.c_str());
                ImGui::Text("%s %s…", tr(m, "签名（已验证）：", "Signature (verified): ").c_str(), r->signature.c_str());
                ui.mark("staff.receipt");
                ui.labels["staff.receipt"] = r->batch_id;
                ui.labels["staff.receipt.records"] = ids;
            }
            ImGui::Separator();
            ImGui::Text("%s %zu", tr(m, "被委员会拒收（隔离）：", "Refused by the commission (quarantined): ").c_str(), s.quarantined.size());
            ui.mark("staff.quarantined");
            ImGui::BeginChild("quarantine", ImVec2(0, 0), true);
            for (const QuarantineEntry& q : s.quarantined) {
                ImGui::PushID(q.record_id.c_str());
                ImGui::Text("%s  [%s]", q.record_id.c_str(), q.result.c_str());
                want_glyphs(q.reason);
                ImGui::TextWrapped("%s", q.reason.c_str());
                ui.mark("staff.quarantine." + q.record_id);
                if (ui.button("staff.release." + q.record_id, tr(m, "修正后重新发送", "Send again (after fixing)"))) m.staff_release(q.record_id);
                ImGui::Separator();
                ImGui::PopID();
            }
            ui.drag_to_scroll();
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        bool paper_open = ImGui::BeginTabItem(tr(m, "纸质材料", "Paper").c_str());
        ui.mark("staff.tab.paper");
        if (paper_open) {
            paper(m, ui);
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

const char* decision_label(const KioskModel& m, ReviewDecision d) {
    switch (d) {
        case ReviewDecision::Recommend: return m.lang() == Lang::Zh ? "推荐" : "recommended";
        case ReviewDecision::Return: return m.lang() == Lang::Zh ? "退回修改" : "returned for corrections";
        case ReviewDecision::NotRecommend: return m.lang() == Lang::Zh ? "不推荐" : "not recommended";
    }
    return "";
}

// The decisions so far and, after a resubmission, what changed since the return (old → new).
void review_history(KioskModel& m, Ui& ui) {
    for (const ReviewEntry& e : m.staff_reviews()) {
        want_glyphs(e.review.reviewer + e.review.reason);
        ImGui::TextWrapped("%s #%lld  %s  %s %s  %s", tr(m, "初审", "Review").c_str(), static_cast<long long>(e.seq),
                           decision_label(m, e.review.decision), tr(m, "审核人", "by").c_str(), e.review.reviewer.c_str(),
                           e.review.reason.c_str());
    }
    if (const auto& changes = m.staff_changes()) {
        ImGui::SetWindowFontScale(1.15f);
        ImGui::Text("%s (%zu)", tr(m, "退回后的修改", "Changes since the return").c_str(), changes->size());
        ImGui::SetWindowFontScale(1.0f);
        if (changes->empty()) ImGui::TextUnformatted(tr(m, "申请人未作修改", "The applicant changed nothing").c_str());
        for (const auto& c : *changes) {
            ImGui::TextColored(ImVec4(0.55f, 0.35f, 0.0f, 1), "%s", tr(m, c.label).c_str());
            // Two lines rather than an arrow: the kiosk's font has no glyph for U+2192.
            want_glyphs(c.before + c.after);
            ImGui::TextWrapped("%s%s", tr(m, "原：", "Was: ").c_str(), c.before.empty() ? "—" : c.before.c_str());
            ImGui::TextWrapped("%s%s", tr(m, "现：", "Now: ").c_str(), c.after.empty() ? "—" : c.after.c_str());
        }
        ui.mark("staff.changes");
    }
    if (!m.staff_reviews().empty() || m.staff_changes()) ImGui::Separator();
}

// The decision panel: reviewer's name, comment or reason, and the three decisions.
void decision_panel(KioskModel& m, Ui& ui) {
    auto& e = m.entry();
    ImGui::TextUnformatted(tr(m, "审核人姓名", "Reviewer's name").c_str());
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ui.target * 6);
    ImGui::InputText("##reviewer", &e.reviewer);
    ui.mark("staff.reviewer");
    ImGui::TextUnformatted(tr(m, "意见（退回：需修改的内容，申请人续填时可见；不推荐：理由）",
                              "Comment (return: what to correct, shown to the applicant; not recommend: the reason)").c_str());
    ImGui::InputTextMultiline("##comment", &e.comment, ImVec2(-FLT_MIN, ui.target * 1.6f));
    ui.mark("staff.comment");
    std::optional<ReviewDecision> chosen;
    if (ui.button("staff.recommend", tr(m, "推荐", "Recommend"), false, true)) chosen = ReviewDecision::Recommend;
    ImGui::SameLine();
    if (ui.button("staff.return", tr(m, "退回修改", "Return for corrections"))) chosen = ReviewDecision::Return;
    ImGui::SameLine();
    if (ui.button("staff.not-recommend", tr(m, "不推荐", "Not recommend"))) chosen = ReviewDecision::NotRecommend;
    if (chosen && m.staff_decide(*chosen, e.comment)) e.comment.clear();
}

void record(KioskModel& m, Ui& ui) {
    const Record& r = m.staff_record();
    if (ui.button("staff.record-back", tr(m, "‹ 返回列表", "‹ Back to the list"))) { m.staff_back(); return; }
    ImGui::SameLine();
    ImGui::Text("%s  [%s]%s%s", r.meta.id.c_str(), status_name(r.meta.status), r.review ? "  " : "",
                r.review ? decision_label(m, r.review->decision) : "");
    ImGui::SameLine();
    if (ui.button("staff.save-pdf", tr(m, "保存 PDF", "Save PDF"))) m.staff_save_pdf(false);
    ImGui::SameLine();
    if (ui.button("staff.print", tr(m, "打印", "Print"))) m.staff_save_pdf(true);
    ui.notice(m);
    const bool deciding = m.staff_can_decide();
    float h = ImGui::GetContentRegionAvail().y - (deciding ? ui.target * 5.0f : 0);
    ImGui::BeginChild("record-body", ImVec2(0, h), true);
    review_history(m, ui);
    for (const Section& s : m.form().sections) {
        ImGui::SetWindowFontScale(1.15f);
        ImGui::TextUnformatted(tr(m, s.title).c_str());
        ImGui::SetWindowFontScale(1.0f);
        for (const Field& f : s.fields) {
            auto it = r.data.find(f.id);
            if (it == r.data.end() || !is_filled(&*it)) continue;
            std::string v = it->is_string() ? it->get<std::string>() : it->dump();
            want_glyphs(v);
            ImGui::TextColored(ImVec4(0.35f, 0.35f, 0.4f, 1), "%s", tr(m, f.label).c_str());
            ImGui::TextWrapped("%s", v.c_str());
        }
        ImGui::Separator();
    }
    ui.drag_to_scroll();
    ImGui::EndChild();
    if (deciding) decision_panel(m, ui);
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
