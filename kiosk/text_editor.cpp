// The word-wrapped multi-line editor (ui.h wrapped_editor): an ImGui item of our own,
// laid out by text_wrap.h, editing through the model at the model's caret.
// [SECTION] Layout   [SECTION] Input   [SECTION] Drawing
#include <algorithm>
#include <cmath>

#include <imgui_internal.h>

#include "keyboard.h"
#include "ui.h"

namespace shenbao::kiosk {

namespace {

std::string utf8_of(unsigned int c) {
    std::string s;
    if (c < 0x80) {
        s += static_cast<char>(c);
    } else if (c < 0x800) {
        s += static_cast<char>(0xC0 | (c >> 6));
        s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        s += static_cast<char>(0xE0 | (c >> 12));
        s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
    }
    return s;
}

bool key_pressed(ImGuiKey k) { return ImGui::IsKeyPressed(ImGui::GetKeyIndex(k), true); }

}  // namespace

void wrapped_editor(KioskModel& m, Ui& ui, const std::string& path, bool read_only, ImVec4* focus) {
    ImGuiContext& g = *GImGui;
    ImGuiIO& io = ImGui::GetIO();
    const ImGuiStyle& st = ImGui::GetStyle();
    ImGuiWindow* window = ImGui::GetCurrentWindow();
    const ImGuiID id = window->GetID("##wrapped");
    EditorView& view = ui.editors[path];

    ImFont* font = ImGui::GetFont();
    const float font_size = ImGui::GetFontSize();
    const Advance advance = font_advance();
    const float line_h = std::round(font_size * 1.35f);
    const ImVec2 pad(st.FramePadding.x + 4 * ui.scale, st.FramePadding.y + 4 * ui.scale);
    const float width = ImGui::CalcItemWidth();
    const float text_w = std::max(line_h, width - 2 * pad.x - 8 * ui.scale);  // room for the scroll mark

    // [SECTION] Layout
    auto relayout = [&](const std::string& text) {
        if (view.laid_width == text_w && view.laid_text == text) return;
        view.lines = wrap_text(text, text_w, advance);
        view.laid_text = text;
        view.laid_width = text_w;
    };
    relayout(m.text(path));
    // The field grows with its text from four lines up to a comfortable share of the body, then scrolls.
    float body = ui.body_height > 0 ? ui.body_height : ui.height * 0.6f;
    float max_lines = std::clamp(std::floor(body * 0.5f / line_h), 4.0f, 14.0f);
    float shown_lines = std::clamp(static_cast<float>(view.lines.size()), 4.0f, max_lines);
    const float view_h = shown_lines * line_h;
    ImVec2 pos = window->DC.CursorPos;
    ImRect frame(pos, ImVec2(pos.x + width, pos.y + view_h + 2 * pad.y));
    ImVec2 text_min(frame.Min.x + pad.x, frame.Min.y + pad.y);
    ImGui::ItemSize(frame, st.FramePadding.y);
    bool visible = ImGui::ItemAdd(frame, id);  // keeps the id alive even when scrolled out of view
    bool hovered = ImGui::ItemHoverable(frame, id);
    if (hovered) ImGui::SetMouseCursor(ImGuiMouseCursor_TextInput);

    // [SECTION] Input
    bool active = g.ActiveId == id;
    bool editing = !read_only && (active || (ui.keyboard && ui.keyboard->targets(path)));
    auto caret_from_mouse = [&] {
        float y = io.MousePos.y - text_min.y + view.scroll;
        auto line = static_cast<std::size_t>(std::max(0.0f, std::floor(y / line_h)));
        m.set_caret(path, caret_at_x(view.lines, m.text(path), line, io.MousePos.x - text_min.x, advance));
        view.want_x = -1;
    };
    if (m.focus_request() == path && !read_only) {  // a jump from the review: straight into the field
        ImGui::SetActiveID(id, window);
        ImGui::SetFocusID(id, window);
        m.focus_done();
    }
    if (hovered && io.MouseClicked[0]) {
        view.pressed = true;
        view.dragged = false;
    }
    const float max_scroll = std::max(0.0f, static_cast<float>(view.lines.size()) * line_h - view_h);
    if (view.pressed) {
        // The field being edited (and a read-only one) scrolls its own text under a finger;
        // an idle field lets the drag scroll the page.
        bool owns_drag = editing || read_only;
        if (owns_drag) ui.drag_taken = true;
        if (io.MouseDown[0]) {
            if (!view.dragged && ImGui::IsMouseDragPastThreshold(ImGuiMouseButton_Left, 14.0f * ui.scale)) view.dragged = true;
            if (view.dragged && owns_drag && io.MouseDelta.y != 0) {
                float want = view.scroll - io.MouseDelta.y;
                float inner = std::clamp(want, 0.0f, max_scroll);
                float rest = want - inner;  // what the text could not take moves the page
                view.scroll = inner;
                if (rest != 0) ImGui::SetScrollY(ImGui::GetScrollY() + rest);
            }
        } else {
            if (!view.dragged && hovered && !read_only) {  // a tap: the caret goes where it landed
                if (!active) {
                    ImGui::SetActiveID(id, window);
                    ImGui::SetFocusID(id, window);
                    ImGui::FocusWindow(window);
                }
                caret_from_mouse();
                view.shown_caret = static_cast<std::size_t>(-1);
            }
            view.pressed = false;
        }
    } else if (active && io.MouseClicked[0] && !hovered) {
        ImGui::ClearActiveID();  // a tap elsewhere leaves the field
    }
    active = g.ActiveId == id;

    if (active && !read_only) {
        g.WantTextInputNextFrame = 1;
        std::string typed;
        for (ImWchar c : io.InputQueueCharacters)
            if (c != '\r') typed += utf8_of(c);
        io.InputQueueCharacters.resize(0);
        if (key_pressed(ImGuiKey_Enter) || key_pressed(ImGuiKey_KeyPadEnter)) typed += '\n';
        if (!typed.empty()) {
            want_glyphs(typed);
            m.insert_text(path, typed);
        }
        if ((io.KeyCtrl && key_pressed(ImGuiKey_V)) || (io.KeyShift && key_pressed(ImGuiKey_Insert))) {
            if (const char* clip = ImGui::GetClipboardText()) {
                want_glyphs(clip);
                m.insert_text(path, clip);  // refused with a note when it is not UTF-8 text
            }
        }
        if (key_pressed(ImGuiKey_Backspace)) m.erase_text(path, true);
        if (key_pressed(ImGuiKey_Delete)) m.erase_text(path, false);
        const std::string& text = m.text(path);
        std::size_t caret = m.caret(path);
        relayout(text);
        if (key_pressed(ImGuiKey_LeftArrow)) m.set_caret(path, prev_boundary(text, caret));
        if (key_pressed(ImGuiKey_RightArrow)) m.set_caret(path, next_boundary(text, caret));
        bool up = key_pressed(ImGuiKey_UpArrow), down = key_pressed(ImGuiKey_DownArrow);
        if (up || down) {
            LineCol lc = caret_line_col(view.lines, text, caret);
            if (view.want_x < 0) view.want_x = caret_x(view.lines, text, caret, advance);
            if (up && lc.line > 0) m.set_caret(path, caret_at_x(view.lines, text, lc.line - 1, view.want_x, advance));
            if (down && lc.line + 1 < view.lines.size())
                m.set_caret(path, caret_at_x(view.lines, text, lc.line + 1, view.want_x, advance));
        } else if (m.caret(path) != caret) {
            view.want_x = -1;
        }
        if (key_pressed(ImGuiKey_Home) || key_pressed(ImGuiKey_End)) {
            LineCol lc = caret_line_col(view.lines, text, caret);
            const WrapLine& l = view.lines[lc.line];
            m.set_caret(path, key_pressed(ImGuiKey_Home) ? (io.KeyCtrl ? 0 : l.begin) : (io.KeyCtrl ? text.size() : l.end));
        }
    }

    // Keep the caret in sight: inside the field, and the field's caret line inside the page.
    const std::string& text = m.text(path);
    relayout(text);
    std::size_t caret = m.caret(path);
    LineCol lc = caret_line_col(view.lines, text, caret);
    float caret_top = static_cast<float>(lc.line) * line_h;
    const float max_scroll_now = std::max(0.0f, static_cast<float>(view.lines.size()) * line_h - view_h);
    bool follow = editing && caret != view.shown_caret;
    if (follow) {
        if (caret_top < view.scroll) view.scroll = caret_top;
        if (caret_top + line_h > view.scroll + view_h) view.scroll = caret_top + line_h - view_h;
        view.shown_caret = caret;
    }
    view.scroll = std::clamp(view.scroll, 0.0f, max_scroll_now);
    float cy = text_min.y + caret_top - view.scroll;
    // What to keep in view: from the line above the caret down to the count under the field,
    // or, where the page is too short for that, the caret's line with a line around it.
    float keep_top = std::max(frame.Min.y, cy - line_h), keep_bottom = frame.Max.y + line_h + st.ItemSpacing.y;
    if (keep_bottom - keep_top > window->InnerRect.GetHeight()) keep_bottom = std::min(keep_bottom, cy + 2 * line_h);
    const ImVec4 near_caret(frame.Min.x, keep_top, frame.Max.x, keep_bottom);
    if (focus) *focus = near_caret;
    // For the GUI tests (the UI map): how the text is laid out and where the caret is.
    ui.labels["editor." + path] = "lines=" + std::to_string(view.lines.size()) + " line=" + std::to_string(lc.line) +
                                  " caret=" + std::to_string(count_code_points(std::string_view(text).substr(0, caret))) +
                                  " scroll=" + std::to_string(static_cast<int>(view.scroll)) + " editing=" + (editing ? "1" : "0");
    if (follow && !view.pressed) {
        float top = window->InnerRect.Min.y, bottom = window->InnerRect.Max.y;
        if (near_caret.y < top) ImGui::SetScrollY(ImGui::GetScrollY() - (top - near_caret.y));
        else if (near_caret.w > bottom) ImGui::SetScrollY(ImGui::GetScrollY() + (near_caret.w - bottom));
    }
    if (active && !read_only) {
        float x = text_min.x + std::min(caret_x(view.lines, text, caret, advance), text_w);
        g.PlatformImePos = ImVec2(x - 1.0f, cy);  // where the system input method shows its candidates
    }

    // [SECTION] Drawing
    if (!visible) return;
    ImDrawList* dl = window->DrawList;
    ImU32 border = editing ? IM_COL32(25, 105, 205, 255) : ImGui::GetColorU32(ImGuiCol_Border);
    dl->AddRectFilled(frame.Min, frame.Max, ImGui::GetColorU32(read_only ? ImGuiCol_WindowBg : ImGuiCol_FrameBg), st.FrameRounding);
    dl->AddRect(frame.Min, frame.Max, border, st.FrameRounding, 0, editing ? 2.0f * ui.scale : 1.0f);
    ImRect clip(frame.Min.x + 1, frame.Min.y + 1, frame.Max.x - 1, frame.Max.y - 1);
    ImGui::PushClipRect(clip.Min, clip.Max, true);
    std::size_t first = static_cast<std::size_t>(std::max(0.0f, std::floor(view.scroll / line_h)));
    std::size_t last = std::min(view.lines.size(), static_cast<std::size_t>(std::ceil((view.scroll + view_h) / line_h)) + 1);
    ImU32 ink = ImGui::GetColorU32(ImGuiCol_Text);
    float baseline = (line_h - font_size) * 0.5f;
    for (std::size_t i = first; i < last; ++i) {
        const WrapLine& l = view.lines[i];
        float y = text_min.y + static_cast<float>(i) * line_h - view.scroll + baseline;
        if (l.end > l.begin) dl->AddText(font, font_size, ImVec2(text_min.x, y), ink, text.data() + l.begin, text.data() + l.end);
    }
    if (editing) {
        float x = text_min.x + std::min(caret_x(view.lines, text, caret, advance), text_w);
        dl->AddLine(ImVec2(x, cy + 2), ImVec2(x, cy + line_h - 2), ink, 2.0f * ui.scale);
    }
    if (max_scroll_now > 0) {  // where the view is in the whole text
        float track = frame.GetHeight() - 8 * ui.scale;
        float bar = std::max(24.0f * ui.scale, track * view_h / (view_h + max_scroll_now));
        float y = frame.Min.y + 4 * ui.scale + (track - bar) * (view.scroll / max_scroll_now);
        float x = frame.Max.x - 8 * ui.scale;
        dl->AddRectFilled(ImVec2(x, y), ImVec2(x + 4 * ui.scale, y + bar), IM_COL32(150, 160, 175, 200), 2 * ui.scale);
    }
    ImGui::PopClipRect();
}

}  // namespace shenbao::kiosk
