// Touch widgets and field drawing shared by the screens.
// [SECTION] Ui helpers   [SECTION] Text fields   [SECTION] Fields by type   [SECTION] Frame
#include "ui.h"

#include <imgui_internal.h>
#include <imgui_stdlib.h>

#include <qrencode.h>

#include "keyboard.h"

namespace shenbao::kiosk {

namespace {
void (*g_glyph_sink)(const std::string&) = nullptr;
}  // namespace

void want_glyphs(const std::string& utf8) {
    if (g_glyph_sink) g_glyph_sink(utf8);
}
void set_glyph_sink(void (*sink)(const std::string& utf8)) { g_glyph_sink = sink; }

using nlohmann::json;

// [SECTION] Ui helpers

void Ui::mark_window(const std::string& name) {
    ImVec2 a = ImGui::GetWindowPos(), size = ImGui::GetWindowSize();
    rects[name] = ImVec4(a.x, a.y, size.x, size.y);
}

void Ui::mark(const std::string& name) {
    ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    rects[name] = ImVec4(a.x, a.y, b.x - a.x, b.y - a.y);
}

bool Ui::button(const std::string& name, const std::string& label, bool wide, bool primary) {
    if (primary) {
        ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.10f, 0.42f, 0.80f, 1));
        ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(0.15f, 0.50f, 0.88f, 1));
        ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImVec4(0.05f, 0.32f, 0.65f, 1));
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 1, 1, 1));
    }
    ImVec2 size(wide ? -FLT_MIN : 0, target);
    if (label.find('\n') != std::string::npos)  // a wrapped label: as tall as its lines
        size.y = std::max(target, ImGui::CalcTextSize(label.c_str()).y + ImGui::GetStyle().FramePadding.y * 2 + 12 * scale);
    ImGui::PushID(name.c_str());
    if (!wide) size.x = button_width(label);
    bool pressed = ImGui::Button(label.c_str(), size);
    ImGui::PopID();
    if (primary) ImGui::PopStyleColor(4);
    mark(name);
    return pressed;
}

float Ui::button_width(const std::string& label) const {
    return std::max(target * 2.0f, ImGui::CalcTextSize(label.c_str()).x + ImGui::GetStyle().FramePadding.x * 2 + 24 * scale);
}

void Ui::drag_to_scroll() {
    ImGuiIO& io = ImGui::GetIO();
    if (drag_taken) return;  // a multi-line field scrolls its own text under this finger
    if (!ImGui::IsWindowHovered(ImGuiHoveredFlags_AllowWhenBlockedByActiveItem | ImGuiHoveredFlags_ChildWindows)) return;
    if (io.WantTextInput) return;  // a finger in a text box selects text instead
    if (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 14.0f * scale)) {
        ImGui::SetScrollY(ImGui::GetScrollY() - io.MouseDelta.y);
        ImGui::ClearActiveID();  // a drag that began on a button must not press it
    }
}

void Ui::notice(const KioskModel& m) {
    const Text& n = m.notice();
    if (n.zh.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(1.0f, 0.93f, 0.75f, 1));
    ImGui::BeginChild("notice", ImVec2(0, target * 1.2f), true);
    ImGui::TextWrapped("%s", pick(n, m.lang()).c_str());
    ImGui::EndChild();
    ImGui::PopStyleColor();
    mark("notice");
}

// [SECTION] Text fields

Advance font_advance() {
    ImFont* font = ImGui::GetFont();
    float k = ImGui::GetFontSize() / font->FontSize;
    return [font, k](char32_t c) { return (c < 0x10000 ? font->GetCharAdvance(static_cast<ImWchar>(c)) : font->FallbackAdvanceX) * k; };
}

std::string wrapped_label(const std::string& prefix, const std::string& text, float width) {
    float indent = ImGui::CalcTextSize(prefix.c_str()).x, space = std::max(1.0f, ImGui::CalcTextSize(" ").x);
    std::string hang(static_cast<std::size_t>(std::lround(indent / space)), ' '), out = prefix;
    bool first = true;
    for (const WrapLine& l : wrap_text(text, width - indent, font_advance())) {
        if (!first) out += "\n" + hang;
        first = false;
        out.append(text, l.begin, l.end - l.begin);
    }
    return out;
}

namespace {

struct LimitData {
    std::size_t max_chars;
};

int limit_callback(ImGuiInputTextCallbackData* d) {
    auto* lim = static_cast<LimitData*>(d->UserData);
    if (d->EventFlag == ImGuiInputTextFlags_CallbackCharFilter) {
        // Control characters (typed or pasted) never reach the field; newlines only in multi-line.
        if (d->EventChar < 0x20 && !(d->EventChar == '\n' && (d->Flags & ImGuiInputTextFlags_Multiline))) return 1;
        if (d->EventChar == 0x7F) return 1;
        return 0;
    }
    if (d->EventFlag == ImGuiInputTextFlags_CallbackEdit && lim->max_chars) {
        std::size_t chars = 0;
        for (int i = 0; i < d->BufTextLen; ++i) {
            if ((static_cast<unsigned char>(d->Buf[i]) & 0xC0) != 0x80) {
                if (chars == lim->max_chars) {
                    d->DeleteChars(i, d->BufTextLen - i);
                    break;
                }
                ++chars;
            }
        }
    }
    return 0;
}

ImGuiInputTextFlags flags_for(FieldType t) {
    switch (t) {
        case FieldType::Integer: case FieldType::Decimal: case FieldType::Money: return ImGuiInputTextFlags_CharsDecimal;
        default: return 0;
    }
}

const char* hint_for(const Field& f, Lang lang) {
    bool zh = lang == Lang::Zh;
    switch (f.type) {
        case FieldType::Date: return "2022-05-30";
        case FieldType::Phone: return zh ? "手机或座机，如 023-63895941" : "mobile or landline, e.g. 023-63895941";
        case FieldType::Email: return "name@example.com";
        case FieldType::PostalCode: return zh ? "6位数字" : "6 digits";
        case FieldType::Url: return "www.example.com";
        case FieldType::Money: return zh ? "单位：万元，最多两位小数" : "in 10,000 yuan, up to 2 decimals";
        default: return "";
    }
}

// The field the on-screen keyboard types into: outlined, and scrolled above the
// keyboard when it opens or after a key changed it. `focus` is the part to keep in
// view (the caret's line of a tall multi-line field; else the whole field).
void keyboard_target(Ui& ui, std::size_t chars, const ImVec4& focus, bool outline) {
    ui.keyboard->field_drawn(chars);
    ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    float pad = 3 * ui.scale;
    if (outline)
        ImGui::GetWindowDrawList()->AddRect(ImVec2(a.x - pad, a.y - pad), ImVec2(b.x + pad, b.y + pad), IM_COL32(25, 105, 205, 255),
                                            8 * ui.scale, 0, 3 * ui.scale);
    if (!ui.keyboard->take_scroll_request()) return;
    float bottom = std::min(ui.height - ui.keyboard->height(ui), ImGui::GetWindowPos().y + ImGui::GetWindowHeight()) - 16 * ui.scale;
    float top = ImGui::GetWindowPos().y + 16 * ui.scale;
    if (focus.w > bottom) ImGui::SetScrollY(ImGui::GetScrollY() + (focus.w - bottom));
    else if (focus.y < top) ImGui::SetScrollY(ImGui::GetScrollY() - (top - focus.y));
}

}  // namespace

void text_field(KioskModel& m, Ui& ui, const Field& f, const std::string& path, const std::string& top_id,
                const std::string& value, bool read_only) {
    std::string buf = value;
    LimitData lim{f.max_length};
    ImGuiInputTextFlags flags = flags_for(f.type) | ImGuiInputTextFlags_CallbackCharFilter | ImGuiInputTextFlags_CallbackEdit;
    if (read_only) flags |= ImGuiInputTextFlags_ReadOnly;
    bool changed = false, multiline = f.type == FieldType::Multiline;
    if (m.focus_request() == path) {
        ImGui::SetScrollHereY(0.3f);
        if (!multiline) {  // the multi-line editor takes the request itself
            ImGui::SetKeyboardFocusHere();
            m.focus_done();
        }
    }
    ImGui::PushID(path.c_str());
    ImGui::SetNextItemWidth(-FLT_MIN);
    ImVec4 focus;
    if (multiline) {
        wrapped_editor(m, ui, path, read_only, &focus);  // edits the model itself, at the caret
    } else {
        changed = ImGui::InputTextWithHint("##v", hint_for(f, m.lang()), &buf, flags, limit_callback, &lim);
        ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
        focus = ImVec4(a.x, a.y, b.x, b.y);
    }
    ui.mark("field." + path);
    bool left = ImGui::IsItemDeactivated();
    bool activated = ImGui::IsItemActivated();
    ImGui::PopID();
    if (changed && !read_only) m.edit_text(path, buf);
    bool keyboard_tap = false;
    if (ui.keyboard && !read_only) {
        if (activated) ui.keyboard->open_for(f, path, top_id);
        // A tap on the on-screen keyboard takes ImGui's focus from the field, but the
        // applicant is still editing it: it is left when the keyboard closes.
        keyboard_tap = ui.keyboard->targets(path) && ImGui::GetIO().MousePos.y >= ui.height - ui.keyboard->height(ui);
        if (ui.keyboard->targets(path))
            keyboard_target(ui, multiline ? count_code_points(m.text(path)) : count_code_points(buf), focus, !multiline);
    }
    if (left && !read_only && !keyboard_tap) {
        // A tap anywhere else leaves the field; the keyboard goes with it (close() leaves it).
        if (ui.keyboard && ui.keyboard->targets(path)) ui.keyboard->close(m);
        else m.leave_field(top_id);
    }
    if (ImGui::IsItemActive()) m.touch();
    EditNote note = m.edit_note(path);
    std::size_t chars = multiline ? count_code_points(m.text(path)) : count_code_points(buf);
    const ImVec4 warn(0.75f, 0.35f, 0.0f, 1);
    bool noted = true;
    if (note == EditNote::Truncated || (f.max_length && chars >= f.max_length && (ImGui::IsItemActive() || multiline))) {
        ImGui::TextColored(warn, "%s", (tr(m, "已达到字数上限 ", "Limit reached: ") + group_thousands(f.max_length) + tr(m, " 字", " characters")).c_str());
    } else if (note == EditNote::ControlDropped) {
        ImGui::TextColored(warn, "%s", tr(m, "已去除无效的控制字符", "Invalid control characters were removed").c_str());
    } else if (note == EditNote::Malformed) {
        ImGui::TextColored(warn, "%s", tr(m, "粘贴的内容不是有效文字，未粘贴", "What was pasted is not valid text; nothing was pasted").c_str());
    } else {
        noted = false;
    }
    if (multiline) {  // the count against the limit, right-aligned under the field
        std::string count = group_thousands(chars) + (f.max_length ? " / " + group_thousands(f.max_length) : "") + tr(m, " 字", " characters");
        float w = ImGui::CalcTextSize(count.c_str()).x;
        if (noted) ImGui::SameLine();
        ImGui::SetCursorPosX(std::max(ImGui::GetCursorPosX(), ImGui::GetContentRegionMax().x - w));
        ImGui::TextColored(ImVec4(0.40f, 0.40f, 0.45f, 1), "%s", count.c_str());
        ui.mark("count." + path);
    }
}

// [SECTION] Fields by type

namespace {

void label_line(const KioskModel& m, const Field& f) {
    std::string label = tr(m, f.label);
    if (!f.unit.empty() && f.type != FieldType::Table && label.find(f.unit) == std::string::npos) label += "（" + f.unit + "）";
    if (f.required) {
        ImGui::TextColored(ImVec4(0.8f, 0.1f, 0.1f, 1), "*");
        ImGui::SameLine();
    }
    ImGui::TextWrapped("%s", label.c_str());
    if (!f.help.zh.empty()) ImGui::TextColored(ImVec4(0.40f, 0.40f, 0.45f, 1), "%s", tr(m, f.help).c_str());
}

// Inline issues come from the Ui's snapshot of the previous frame: leaving a field
// (when a finger taps the next one) must not move that next one under the finger.
void issues_under(const Ui& ui, const std::string& field_id, const std::string& path) {
    auto it = ui.shown_issues.find(field_id);
    if (it == ui.shown_issues.end()) return;
    for (const Issue& i : it->second)
        if (i.path == path) ImGui::TextColored(ImVec4(0.80f, 0.10f, 0.10f, 1), "%s", pick(i.message, ui.lang).c_str());
}

std::string str_of(const json* v) { return v && v->is_string() ? v->get<std::string>() : std::string(); }

// Choice buttons that wrap; returns the chosen value when one was tapped.
std::optional<std::string> option_buttons(KioskModel& m, Ui& ui, const Field& f, const std::string& path,
                                          const std::function<bool(const std::string&)>& selected, bool read_only) {
    std::optional<std::string> tapped;
    float avail = ImGui::GetContentRegionAvail().x, used = 0;
    for (const Option& o : f.options) {
        std::string label = (selected(o.value) ? "● " : "○ ") + tr(m, o.label);
        float w = ImGui::CalcTextSize(label.c_str()).x + ImGui::GetStyle().FramePadding.x * 2 + 24 * ui.scale;
        if (used > 0 && used + w < avail) ImGui::SameLine();
        else used = 0;
        used += w + ImGui::GetStyle().ItemSpacing.x;
        bool on = selected(o.value);
        if (on) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.72f, 0.84f, 0.98f, 1));
        ImGui::BeginDisabled(read_only);
        if (ui.button(path + "=" + o.value, label)) tapped = o.value;
        ImGui::EndDisabled();
        if (on) ImGui::PopStyleColor();
    }
    return tapped;
}

bool big_checkbox(Ui& ui, const std::string& name, const std::string& label, bool value, bool read_only) {
    ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(ui.target * 0.22f, ui.target * 0.22f));
    bool v = value;
    ImGui::BeginDisabled(read_only);
    bool changed = ImGui::Checkbox(label.c_str(), &v);
    ImGui::EndDisabled();
    ImGui::PopStyleVar();
    ui.mark(name);
    return changed;
}

void scalar_widget(KioskModel& m, Ui& ui, const Field& f, const std::string& path, const std::string& top_id,
                   const json* v, bool read_only, const std::function<void(json)>& set) {
    switch (f.type) {
        case FieldType::Choice: {
            std::string cur = str_of(v);
            if (auto t = option_buttons(m, ui, f, path, [&](const std::string& o) { return o == cur; }, read_only)) {
                set(*t == cur ? json() : json(*t));  // tapping the chosen one again clears it
                m.leave_field(top_id);
            }
            break;
        }
        case FieldType::MultiChoice: {
            json cur = v && v->is_array() ? *v : json::array();
            auto has = [&](const std::string& o) { return std::find(cur.begin(), cur.end(), o) != cur.end(); };
            if (auto t = option_buttons(m, ui, f, path, has, read_only)) {
                json next = json::array();
                for (const Option& o : f.options)
                    if ((o.value == *t) != has(o.value)) next.push_back(o.value);
                set(next);
                m.leave_field(top_id);
            }
            break;
        }
        case FieldType::Checkbox:
        case FieldType::Commitment: {
            bool on = v && v->is_boolean() && v->get<bool>();
            std::string label = f.type == FieldType::Commitment ? tr(m, f.text) : tr(m, "是", "Yes");
            if (big_checkbox(ui, "field." + path, label, on, read_only)) {
                set(!on);
                m.leave_field(top_id);
            }
            break;
        }
        default:
            text_field(m, ui, f, path, top_id, str_of(v), read_only);
    }
}

void table_widget(KioskModel& m, Ui& ui, const Field& t, bool read_only) {
    const json& all = m.values();
    auto it = all.find(t.id);
    std::size_t rows = it != all.end() && it->is_array() ? it->size() : 0;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    for (std::size_t r = 0; r < rows; ++r) {
        ImGui::PushID(static_cast<int>(r));
        // Each row is a framed group as tall as its content: the frame is drawn
        // behind it once its size is known (channel 0 under channel 1).
        dl->ChannelsSplit(2);
        dl->ChannelsSetCurrent(1);
        float pad = 12 * ui.scale;
        ImGui::Indent(pad);
        ImGui::BeginGroup();
        ImGui::Dummy(ImVec2(0, pad * 0.5f));
        ImGui::TextColored(ImVec4(0.1f, 0.3f, 0.6f, 1), "%s", (tr(m, "第 ", "Row ") + std::to_string(r + 1) + tr(m, " 行", "")).c_str());
        bool removed = false;
        if (!read_only) {
            ImGui::SameLine(ImGui::GetContentRegionAvail().x - ui.target * 3);
            removed = ui.button(t.id + "[" + std::to_string(r) + "].remove", tr(m, "删除此行", "Remove row"));
        }
        if (!removed) {
            // A copy: a choice tapped below replaces the table's value, which would leave a
            // reference into it dangling for the columns after it.
            const json row = m.values()[t.id][r];
            ImGui::PushItemWidth(ImGui::GetContentRegionAvail().x - pad);
            for (const Field& c : t.columns) {
                if (!is_visible(c, m.values(), &t, &row)) continue;
                std::string path = t.id + "[" + std::to_string(r) + "]." + c.id;
                label_line(m, c);
                auto cv = row.find(c.id);
                const json* v = cv == row.end() ? nullptr : &*cv;
                scalar_widget(m, ui, c, path, t.id, v, read_only, [&](json nv) {
                    json rows_now = m.values()[t.id];
                    rows_now[r][c.id] = std::move(nv);
                    m.set_value(t.id, rows_now);
                });
                issues_under(ui, t.id, path);
            }
            ImGui::PopItemWidth();
        }
        ImGui::Dummy(ImVec2(0, pad * 0.5f));
        ImGui::EndGroup();
        ImGui::Unindent(pad);
        ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
        a.x -= pad;
        b.x = a.x + ImGui::GetContentRegionAvail().x + pad;
        dl->ChannelsSetCurrent(0);
        dl->AddRectFilled(a, b, IM_COL32(244, 247, 252, 255), 8 * ui.scale);
        dl->AddRect(a, b, IM_COL32(190, 200, 215, 255), 8 * ui.scale);
        dl->ChannelsMerge();
        ImGui::Dummy(ImVec2(0, 6 * ui.scale));
        ImGui::PopID();
        if (removed) {
            m.remove_row(t.id, r);
            return;
        }
    }
    if (!read_only) {
        std::string add = tr(m, "＋ 添加一行", "+ Add a row") + "（" + std::to_string(rows) + "/" + std::to_string(t.max_rows) + "）";
        ImGui::BeginDisabled(rows >= t.max_rows);
        if (ui.button(t.id + ".add", add)) m.add_row(t.id);
        ImGui::EndDisabled();
        if (rows >= t.max_rows) {
            ImGui::SameLine();
            ImGui::TextColored(ImVec4(0.5f, 0.5f, 0.5f, 1), "%s", (tr(m, "已达上限 ", "Limit: ") + std::to_string(t.max_rows)).c_str());
        }
    }
}

}  // namespace

void field_widget(KioskModel& m, Ui& ui, const Field& f, bool read_only) {
    ImGui::PushID(f.id.c_str());
    if (m.focus_request() == f.id && !f.is_texty()) {  // texty fields take focus themselves
        ImGui::SetScrollHereY(0.2f);
        m.focus_done();
    }
    label_line(m, f);
    if (f.type == FieldType::Table) {
        table_widget(m, ui, f, read_only);
        issues_under(ui, f.id, f.id);
    } else {
        auto it = m.values().find(f.id);
        const json* v = it == m.values().end() ? nullptr : &*it;
        scalar_widget(m, ui, f, f.id, f.id, v, read_only, [&](json nv) { m.set_value(f.id, std::move(nv)); });
        issues_under(ui, f.id, f.id);
    }
    ImGui::Dummy(ImVec2(0, 12 * ui.scale));
    ImGui::PopID();
}

void draw_qr(const std::string& text, float size) {
    QRcode* qr = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    ImVec2 p = ImGui::GetCursorScreenPos();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(p, ImVec2(p.x + size, p.y + size), IM_COL32_WHITE);
    if (qr) {
        int n = qr->width + 8;  // 4-module quiet zone each side
        float cell = size / static_cast<float>(n);
        for (int y = 0; y < qr->width; ++y)
            for (int x = 0; x < qr->width; ++x)
                if (qr->data[y * qr->width + x] & 1) {
                    ImVec2 a(p.x + static_cast<float>(x + 4) * cell, p.y + static_cast<float>(y + 4) * cell);
                    dl->AddRectFilled(a, ImVec2(a.x + cell, a.y + cell), IM_COL32_BLACK);
                }
        QRcode_free(qr);
    }
    ImGui::Dummy(ImVec2(size, size));
}

// [SECTION] Frame

void draw_kiosk(KioskModel& m, Ui& ui) {
    ui.rects.clear();
    ui.labels.clear();
    ui.drag_taken = false;
    ui.form_keyboard = 0;
    if (ui.editors_record != m.record_id()) {  // nothing of one applicant's editing view stays for the next
        ui.editors.clear();
        ui.editors_record = m.record_id();
    }
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(ui.width, ui.height));
    ImGui::Begin("kiosk", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                                       ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse);
    // A new applicant gets fresh widget state: ids are scoped by the record.
    ImGui::PushID(m.record_id().c_str());
    switch (m.screen()) {
        case Screen::Welcome: ui.screen_name = "welcome"; draw_welcome(m, ui); break;
        case Screen::Form: ui.screen_name = "form"; draw_form(m, ui); break;
        case Screen::Review: ui.screen_name = "review"; draw_review(m, ui); break;
        case Screen::Commitment: ui.screen_name = "commitment"; draw_commitment(m, ui); break;
        case Screen::Receipt: ui.screen_name = "receipt"; draw_receipt(m, ui); break;
        case Screen::Leave: case Screen::LeaveDone: ui.screen_name = m.screen() == Screen::Leave ? "leave" : "leave-done"; draw_leave(m, ui); break;
        case Screen::Resume: ui.screen_name = "resume"; draw_resume(m, ui); break;
        case Screen::StaffLogin: case Screen::Staff: case Screen::StaffRecord:
            ui.screen_name = m.screen() == Screen::StaffLogin ? "staff-login" : m.screen() == Screen::Staff ? "staff" : "staff-record";
            draw_staff(m, ui);
            break;
        case Screen::Fatal: ui.screen_name = "fatal"; draw_fatal(m, ui); break;
    }
    ImGui::PopID();
    ImGui::End();
    if (ui.keyboard) ui.keyboard->draw(m, ui);
    // The form laid out around one keyboard height; if the keyboard opened or closed
    // after that, the next frame lays out again (the kiosk otherwise sleeps until input).
    ui.relayout = m.screen() == Screen::Form && ui.keyboard && ui.keyboard->height(ui) != ui.form_keyboard;
    draw_idle_warning(m, ui);
    ui.shown_issues = m.all_field_issues();
    ui.lang = m.lang();
}

}  // namespace shenbao::kiosk
