// The on-screen keyboard window.
// [SECTION] Opening and closing   [SECTION] Editing the field   [SECTION] Drawing   [SECTION] Layouts
#include "keyboard.h"

#include <algorithm>

#include <imgui.h>
#include <imgui_internal.h>

#include "ui.h"

namespace shenbao::kiosk {

namespace {

// Every label the keyboard draws, for the font atlas.
const char* kLabels = "拼音手写完成空格退格换行重写撤销大写小写准备中，。、：；？！（）—…";

float key_height(const Ui& ui) { return ui.target * 1.1f; }

// True when every code point of `s` is in the Basic Multilingual Plane (4-byte UTF-8 is not).
bool drawable(const std::string& s) {
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xF8) == 0xF0) return false;
    return true;
}

}  // namespace

// [SECTION] Opening and closing

void Keyboard::open_for(const Field& f, const std::string& path, const std::string& top_id) {
    if (path_ == path) return;
    if (engines_.pinyin && engines_.pinyin->state().composing()) engines_.pinyin->commit_raw();  // drop, never carry over
    if (engines_.handwriting) engines_.handwriting->clear();
    path_ = path;
    top_id_ = top_id;
    type_ = f.type;
    layout_ = layout_for(f.type);
    shift_ = false;
    scroll_frames_ = 3;
    redraw_ = true;
    ensure_layout_available();
    want_glyphs(kLabels);  // ui.h: the font atlas adds what it lacks
}

bool Keyboard::available(Layout l) const {
    switch (l) {
        case Layout::Pinyin: return engines_.pinyin != nullptr;
        case Layout::Handwriting: return engines_.handwriting_available;
        default: return true;
    }
}

void Keyboard::ensure_layout_available() {
    if (available(layout_)) return;
    // Chinese text without pinyin: handwriting if there is one, else pinyin's place
    // shows "being prepared" while the deploy runs, else Latin letters.
    if (layout_ == Layout::Pinyin && engines_.pinyin_pending) return;
    layout_ = available(Layout::Handwriting) && layout_ == Layout::Pinyin ? Layout::Handwriting : Layout::Latin;
}

void Keyboard::close(KioskModel& m) {
    if (path_.empty()) return;
    closed_under_finger_ = ImGui::IsMouseDown(ImGuiMouseButton_Left);
    finish_composition(m);
    if (engines_.handwriting) engines_.handwriting->clear();
    std::string top = top_id_;
    path_.clear();
    top_id_.clear();
    m.leave_field(top);
}

void Keyboard::end_session() {
    path_.clear();
    top_id_.clear();
    chars_ = 0;
    if (engines_.pinyin) engines_.pinyin->reset();  // a fresh Rime session for the next applicant
    engines_.handwriting.reset();                    // its model's pages go back to the system
}

// [SECTION] Editing the field

void Keyboard::commit(KioskModel& m, const std::string& text) {
    if (text.empty() || path_.empty()) return;
    m.insert_text(path_, text);  // at the caret; the model keeps to the field's limit and notes it
    scroll_frames_ = 3;
    m.touch();
    want_glyphs(text);
}

void Keyboard::backspace(KioskModel& m) {
    m.touch();
    if (layout_ == Layout::Pinyin && engines_.pinyin && engines_.pinyin->backspace()) {
        want(engines_.pinyin->state().candidates);
        return;
    }
    if (layout_ == Layout::Handwriting && engines_.handwriting && !engines_.handwriting->state().strokes.empty()) {
        engines_.handwriting->undo_stroke();
        return;
    }
    m.erase_text(path_, true);
    scroll_frames_ = 3;
}

void Keyboard::finish_composition(KioskModel& m) {
    if (!engines_.pinyin) return;
    PinyinEngine& p = *engines_.pinyin;
    // The first candidate until Rime commits (a partial pick leaves syllables over).
    for (int i = 0; i < 16 && p.state().composing(); ++i) {
        if (p.state().candidates.empty()) {
            commit(m, p.commit_raw());
            break;
        }
        commit(m, p.select(0, p.state().generation));
    }
}

void Keyboard::want(const std::vector<std::string>& texts) {
    for (const std::string& t : texts) want_glyphs(t);
}

// [SECTION] Drawing

float Keyboard::height(const Ui& ui) const {
    // Closed by a finger that is still down (a tap on another button: ImGui leaves
    // the field on the press), the form keeps its shape until the finger lifts, so
    // the button under it does not move away before the release that presses it.
    if (path_.empty() && !(closed_under_finger_ && (ImGui::IsMouseDown(ImGuiMouseButton_Left) ||
                                                     ImGui::IsMouseReleased(ImGuiMouseButton_Left))))
        return 0;
    const ImGuiStyle& s = ImGui::GetStyle();
    return 6 * key_height(ui) + 5 * s.ItemSpacing.y + 2 * s.WindowPadding.y;
}

bool Keyboard::key(Ui& ui, const std::string& name, const std::string& label, float width, bool primary) {
    if (primary) {
        ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.10f, 0.42f, 0.80f, 1));
        ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(0.15f, 0.50f, 0.88f, 1));
        ImGui::PushStyleColor(ImGuiCol_ButtonActive, ImVec4(0.05f, 0.32f, 0.65f, 1));
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 1, 1, 1));
    }
    ImGui::PushID(name.c_str());
    bool pressed = ImGui::Button(label.c_str(), ImVec2(std::max(width, ui.target), key_height(ui)));
    ImGui::PopID();
    if (primary) ImGui::PopStyleColor(4);
    ui.mark(name);
    if (pressed) redraw_ = true;
    return pressed;
}

void Keyboard::draw(KioskModel& m, Ui& ui) {
    if (m.record_id() != session_) {  // a new applicant (or none): nothing of the last one stays
        end_session();
        session_ = m.record_id();
    }
    // Another screen, or the field is gone (another section, a removed row): close quietly.
    if (m.screen() != Screen::Form || !drawn_) path_.clear();
    drawn_ = false;
    if (closed_under_finger_ && !ImGui::IsMouseDown(ImGuiMouseButton_Left) && !ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
        closed_under_finger_ = false;
        redraw_ = true;  // the form takes the keyboard's room back in the next frame
    }
    if (path_.empty()) return;
    ensure_layout_available();
    float h = height(ui);
    ImGui::SetNextWindowPos(ImVec2(0, ui.height - h));
    ImGui::SetNextWindowSize(ImVec2(ui.width, h));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, ImVec4(0.86f, 0.88f, 0.91f, 1));
    ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(1, 1, 1, 1));
    ImGui::Begin("keyboard", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                                          ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoFocusOnAppearing);
    ui.mark_window("kbd");
    // How long the field is as drawn this frame (never its text), for the benchmark.
    ui.labels["kbd.chars"] = std::to_string(chars_);
    candidate_bar(m, ui);
    switch (layout_) {
        case Layout::Pinyin: pinyin_keys(m, ui); break;
        case Layout::Latin: latin_keys(m, ui); break;
        case Layout::Numbers: number_keys(m, ui); break;
        case Layout::Handwriting: handwriting_pad(m, ui); break;
    }
    layout_tabs(m, ui);
    ImGui::End();
    ImGui::PopStyleColor(2);
}

void Keyboard::candidate_bar(KioskModel& m, Ui& ui) {
    float kh = key_height(ui);
    ImVec2 start = ImGui::GetCursorPos();  // the bar is one key tall whatever it holds: rows below never move
    std::vector<std::string> cands;
    std::uint64_t gen = 0;
    bool pinyin = layout_ == Layout::Pinyin && engines_.pinyin;
    bool hand = layout_ == Layout::Handwriting && hand_engine();
    if (pinyin) {
        const PinyinState& s = engines_.pinyin->state();
        cands = s.candidates;
        gen = s.generation;
        // The syllables typed so far, then the candidates.
        ImGui::SetCursorPosY(start.y + (kh - ImGui::GetTextLineHeight()) * 0.5f);
        ImGui::TextColored(ImVec4(0.1f, 0.3f, 0.6f, 1), "%s", s.preedit.empty() ? " " : s.preedit.c_str());
        ui.mark("kbd.preedit");
        ui.labels["kbd.preedit"] = s.preedit;
    } else if (hand) {
        cands = engines_.handwriting->state().candidates;
        gen = engines_.handwriting->state().generation;
    } else if (layout_ == Layout::Pinyin && engines_.pinyin_pending) {
        ImGui::SetCursorPosY(start.y + (kh - ImGui::GetTextLineHeight()) * 0.5f);
        ImGui::TextUnformatted(tr(m, "拼音输入准备中…", "Preparing pinyin input…").c_str());
    }
    // The state the bar shows, for the GUI test to wait on (each key or stroke changes it).
    if (pinyin || hand) ui.labels["kbd.generation"] = std::to_string(gen);
    float paging = pinyin ? 2 * (ui.target * 1.4f + ImGui::GetStyle().ItemSpacing.x) : 0;
    float right_edge = ImGui::GetWindowContentRegionMax().x + ImGui::GetWindowPos().x - paging;
    bool first = !pinyin;
    int tapped = -1;
    for (std::size_t i = 0; i < cands.size(); ++i) {
        // ImGui 1.86 draws only the Basic Multilingual Plane: a rare Extension B
        // character would show as '?', so such candidates are left off the bar.
        if (!drawable(cands[i])) continue;
        if (!first) ImGui::SameLine();
        first = false;
        ImGui::SetCursorPosY(start.y);
        float w = std::max(ui.target * 1.3f, ImGui::CalcTextSize(cands[i].c_str()).x + ImGui::GetStyle().FramePadding.x * 2 + 16 * ui.scale);
        if (ImGui::GetCursorScreenPos().x + w > right_edge) break;  // no room: the next page has it
        if (key(ui, "kbd.cand." + std::to_string(i), cands[i], w, i == 0)) tapped = static_cast<int>(i);
        ui.labels["kbd.cand." + std::to_string(i)] = cands[i];
    }
    // Applied after the whole bar is drawn: the frame shows the bar the finger saw.
    if (tapped >= 0 && pinyin) {
        commit(m, engines_.pinyin->select(tapped, gen));
        want(engines_.pinyin->state().candidates);
    } else if (tapped >= 0 && hand) {
        commit(m, engines_.handwriting->select(tapped, gen));
    }
    if (pinyin && engines_.pinyin->state().composing()) {
        const PinyinState& s = engines_.pinyin->state();
        ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - paging + ImGui::GetStyle().ItemSpacing.x);
        ImGui::SetCursorPosY(start.y);
        ImGui::BeginDisabled(s.page == 0);
        if (key(ui, "kbd.page.prev", "‹", ui.target * 1.4f)) engines_.pinyin->prev_page();
        ImGui::EndDisabled();
        ImGui::SameLine();
        ImGui::BeginDisabled(s.last_page);
        if (key(ui, "kbd.page.next", "›", ui.target * 1.4f)) engines_.pinyin->next_page();
        ImGui::EndDisabled();
        want(engines_.pinyin->state().candidates);
    }
    ImGui::SetCursorPos(ImVec2(start.x, start.y + kh + ImGui::GetStyle().ItemSpacing.y));
}

namespace {

// Width of each of `n` keys filling `share` of the row.
float key_width(const Ui& ui, int n, float share = 1.0f) {
    float avail = ImGui::GetContentRegionAvail().x * share;
    float w = (avail - ImGui::GetStyle().ItemSpacing.x * static_cast<float>(n - 1)) / static_cast<float>(n);
    return std::clamp(w, ui.target, ui.target * 2.6f);
}

// Starts a row of keys of total width `total`, centred.
void centre_row(float total) {
    float avail = ImGui::GetContentRegionAvail().x;
    if (total < avail) ImGui::SetCursorPosX(ImGui::GetCursorPosX() + (avail - total) * 0.5f);
}

float row_width(float key_w, int n) { return key_w * static_cast<float>(n) + ImGui::GetStyle().ItemSpacing.x * static_cast<float>(n - 1); }

}  // namespace

void Keyboard::pinyin_keys(KioskModel& m, Ui& ui) {
    if (!engines_.pinyin) {
        for (int i = 0; i < 4; ++i) ImGui::Dummy(ImVec2(0, key_height(ui)));
        return;
    }
    PinyinEngine& p = *engines_.pinyin;
    static const char* rows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
    float w = key_width(ui, 11);
    for (int r = 0; r < 3; ++r) {
        std::string row = rows[r];
        int n = static_cast<int>(row.size()) + (r == 2 ? 2 : 0);
        centre_row(row_width(w, n));  // the third row adds a double-width 退格
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) ImGui::SameLine();
            std::string k(1, row[i]);
            if (key(ui, "kbd.key." + k, k, w)) {
                p.type(row[i]);
                m.touch();
                want(p.state().candidates);
            }
        }
        if (r == 2) {
            ImGui::SameLine();
            if (key(ui, "kbd.key.backspace", "退格", w * 2 + ImGui::GetStyle().ItemSpacing.x)) backspace(m);
        }
    }
    // Punctuation commits the composition first, as on a desktop input method.
    static const char* punct[] = {"，", "。", "、", "：", "；", "？", "！", "（", "）", "—"};
    centre_row(row_width(w, 10));
    for (int i = 0; i < 10; ++i) {
        if (i) ImGui::SameLine();
        if (key(ui, "kbd.punct." + std::to_string(i), punct[i], w)) {
            finish_composition(m);
            commit(m, punct[i]);
        }
    }
}

void Keyboard::latin_keys(KioskModel& m, Ui& ui) {
    static const char* rows[] = {"1234567890", "qwertyuiop", "asdfghjkl@", "zxcvbnm.-_"};
    float w = key_width(ui, 12);
    for (int r = 0; r < 4; ++r) {
        std::string row = rows[r];
        int n = static_cast<int>(row.size()) + (r == 3 ? 2 : r == 2 ? 1 : 0);
        centre_row(row_width(w, n));
        if (r == 2) {
            if (key(ui, "kbd.key.shift", shift_ ? "小写" : "大写", w)) shift_ = !shift_;
            ImGui::SameLine();
        }
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i) ImGui::SameLine();
            char c = row[i];
            if (shift_ && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            std::string k(1, c);
            if (key(ui, "kbd.key." + std::string(1, row[i]), k, w)) commit(m, k);
        }
        if (r == 3) {
            ImGui::SameLine();
            if (key(ui, "kbd.key.slash", "/", w)) commit(m, "/");
            ImGui::SameLine();
            if (key(ui, "kbd.key.backspace", "退格", w)) backspace(m);
        }
    }
}

void Keyboard::number_keys(KioskModel& m, Ui& ui) {
    std::string extra = number_keys_for(type_).substr(10);  // ".", "-", or nothing
    const std::string rows[] = {"123", "456", "789", std::string(extra.find('.') != std::string::npos ? "." : " ") + "0" +
                                                         (extra.find('-') != std::string::npos ? "-" : " ")};
    float w = std::min(ui.target * 2.6f, key_width(ui, 4));
    for (int r = 0; r < 4; ++r) {
        centre_row(row_width(w, 4));
        for (int i = 0; i < 3; ++i) {
            if (i) ImGui::SameLine();
            char c = rows[r][static_cast<std::size_t>(i)];
            if (c == ' ') {
                ImGui::Dummy(ImVec2(w, key_height(ui)));
                continue;
            }
            std::string k(1, c);
            if (key(ui, "kbd.key." + k, k, w)) commit(m, k);
        }
        ImGui::SameLine();
        if (r == 0 && key(ui, "kbd.key.backspace", "退格", w)) backspace(m);
        if (r != 0) ImGui::Dummy(ImVec2(w, key_height(ui)));
    }
}

Handwriting* Keyboard::hand_engine() {
    if (!engines_.handwriting && engines_.handwriting_available) {
        auto h = Handwriting::open(engines_.handwriting_model);
        if (h.ok()) {
            engines_.handwriting = std::move(h.value());
        } else {  // gone since start-up: hide the layout, tell staff
            engines_.handwriting_available = false;
            engines_.handwriting_problem = h.error().message;
        }
    }
    return engines_.handwriting.get();
}

void Keyboard::handwriting_pad(KioskModel& m, Ui& ui) {
    if (!hand_engine()) {
        for (int i = 0; i < 4; ++i) ImGui::Dummy(ImVec2(0, key_height(ui)));
        return;
    }
    Handwriting& hw = *engines_.handwriting;
    float side = 4 * key_height(ui) + 3 * ImGui::GetStyle().ItemSpacing.y;
    float w = key_width(ui, 10);
    centre_row(side * 1.6f + ImGui::GetStyle().ItemSpacing.x + w * 2);
    // A pad a little wider than tall: fingers start strokes near the edges.
    ImVec2 size(side * 1.6f, side);
    ImVec2 p0 = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton("kbd.pad", size);
    ui.mark("kbd.pad");
    hw.set_pad_size(size.x, size.y);
    ImGuiIO& io = ImGui::GetIO();
    if (ImGui::IsItemActivated()) hw.begin_stroke();
    if (ImGui::IsItemActive()) {
        hw.add_point(io.MousePos.x - p0.x, io.MousePos.y - p0.y);
        m.touch();
    }
    if (ImGui::IsItemDeactivated()) {
        redraw_ = true;
        hw.end_stroke();
        want(hw.state().candidates);
    }
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImVec2 p1(p0.x + size.x, p0.y + size.y);
    dl->AddRectFilled(p0, p1, IM_COL32(255, 255, 252, 255), 8 * ui.scale);
    dl->AddRect(p0, p1, IM_COL32(150, 160, 175, 255), 8 * ui.scale, 0, 2);
    // Guide lines (米字格 centre cross), faint.
    ImVec2 c((p0.x + p1.x) * 0.5f, (p0.y + p1.y) * 0.5f);
    dl->AddLine(ImVec2(c.x, p0.y), ImVec2(c.x, p1.y), IM_COL32(225, 215, 215, 255));
    dl->AddLine(ImVec2(p0.x, c.y), ImVec2(p1.x, c.y), IM_COL32(225, 215, 215, 255));
    for (const auto& stroke : hw.state().strokes) {
        std::vector<ImVec2> pts;
        for (const auto& [x, y] : stroke) pts.emplace_back(p0.x + x, p0.y + y);
        if (pts.size() == 1) dl->AddCircleFilled(pts[0], 4 * ui.scale, IM_COL32(20, 20, 30, 255));
        else dl->AddPolyline(pts.data(), static_cast<int>(pts.size()), IM_COL32(20, 20, 30, 255), 0, 6 * ui.scale);
    }
    if (hw.state().strokes.empty()) {
        const char* hint = m.lang() == Lang::Zh ? "在此书写" : "Write here";
        ImVec2 ts = ImGui::CalcTextSize(hint);
        dl->AddText(ImVec2(c.x - ts.x * 0.5f, c.y - ts.y * 0.5f), IM_COL32(170, 170, 180, 255), hint);
    }
    ImGui::SameLine();
    ImGui::BeginGroup();
    if (key(ui, "kbd.hand.clear", "重写", w * 2)) hw.clear();
    if (key(ui, "kbd.hand.undo", "撤销", w * 2)) hw.undo_stroke();
    if (key(ui, "kbd.key.backspace", "退格", w * 2)) backspace(m);
    if (key(ui, "kbd.punct.0", "，", w)) commit(m, "，");
    ImGui::SameLine();
    if (key(ui, "kbd.punct.1", "。", w)) commit(m, "。");
    ImGui::EndGroup();
}

void Keyboard::layout_tabs(KioskModel& m, Ui& ui) {
    struct Tab {
        Layout layout;
        const char* name;
        const char* label;
    };
    static const Tab tabs[] = {{Layout::Pinyin, "pinyin", "拼音"},
                               {Layout::Handwriting, "handwriting", "手写"},
                               {Layout::Latin, "latin", "ABC"},
                               {Layout::Numbers, "numbers", "123"}};
    float w = ui.target * 1.8f;
    for (const Tab& t : tabs) {
        if (!available(t.layout)) continue;  // no data: the layout is hidden (the staff screen says why)
        bool on = layout_ == t.layout;
        if (on) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.72f, 0.84f, 0.98f, 1));
        if (key(ui, std::string("kbd.layout.") + t.name, t.label, w) && !on) {
            finish_composition(m);
            if (engines_.handwriting) engines_.handwriting->clear();
            layout_ = t.layout;
        }
        if (on) ImGui::PopStyleColor();
        ImGui::SameLine();
    }
    float done_w = ui.target * 2.6f, enter_w = type_ == FieldType::Multiline ? ui.target * 2.0f : 0;
    float spacing = ImGui::GetStyle().ItemSpacing.x;
    float space_w = ImGui::GetContentRegionAvail().x - done_w - (enter_w > 0 ? enter_w + spacing : 0) - spacing;
    if (key(ui, "kbd.key.space", "空格", space_w)) {
        m.touch();
        PinyinEngine* p = layout_ == Layout::Pinyin ? engines_.pinyin.get() : nullptr;
        if (p && p->state().composing() && !p->state().candidates.empty()) {
            commit(m, p->select(0, p->state().generation));
            want(p->state().candidates);
        } else if (!(p && p->state().composing())) {
            commit(m, " ");
        }
    }
    if (enter_w > 0) {
        ImGui::SameLine();
        if (key(ui, "kbd.key.enter", "换行", enter_w)) {
            finish_composition(m);
            commit(m, "\n");
        }
    }
    ImGui::SameLine();
    if (key(ui, "kbd.done", "完成", done_w, true)) close(m);
}

}  // namespace shenbao::kiosk
