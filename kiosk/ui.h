// Shared drawing helpers for the kiosk screens: touch-sized widgets, the
// UI map (widget rectangles by name, for the GUI test and for debugging),
// drag-to-scroll, and text fields wired to the model.
#pragma once

#include <map>
#include <string>

#include <imgui.h>

#include "kiosk_model.h"
#include "text_wrap.h"

namespace shenbao::kiosk {

class Keyboard;

// What the multi-line editor of one field keeps between frames (text_editor.cpp).
struct EditorView {
    std::string laid_text;          // the text `lines` were wrapped from, at `laid_width`
    float laid_width = -1;
    std::vector<WrapLine> lines;
    float scroll = 0;               // px of text scrolled up inside the field
    std::size_t shown_caret = static_cast<std::size_t>(-1);  // the caret the view last kept in sight
    bool pressed = false;           // a finger went down on the field and is still down
    bool dragged = false;           // ... and moved: a scroll, not a tap
    float want_x = -1;              // the x that up / down keep (-1: the caret's own)
};

struct Ui {
    float scale = 1.0f;   // 1.0 at 1080 px high
    float target = 48.0f; // minimum touch target, px (≈9 mm)
    float width = 0, height = 0;
    std::map<std::string, ImVec4> rects;  // name -> x, y, w, h of this frame's widgets
    std::map<std::string, std::string> labels;  // name -> text of widgets whose text changes (keyboard candidates)
    std::string screen_name;
    // The model's inline issues as of the end of the previous frame (see issues_under).
    std::map<std::string, std::vector<Issue>> shown_issues;
    Lang lang = Lang::Zh;
    int shown_section = -1;  // the section list scrolls to a newly current section once
    Keyboard* keyboard = nullptr;  // the on-screen keyboard; null when the kiosk runs without one
    std::vector<std::string> input_problems;  // why a keyboard layout is hidden (for the staff screen)
    std::map<std::string, EditorView> editors;  // by field path; emptied when the record changes
    std::string editors_record;
    bool drag_taken = false;   // a field scrolls its own text with this frame's drag: the body stays
    float body_height = 0;     // the section body's height this frame (the editor's comfortable height follows it)
    float form_keyboard = 0;   // the keyboard height the form was laid out around this frame
    bool relayout = false;     // the keyboard's height changed after the form was laid out: draw again

    // Records the last item's rectangle under `name`.
    void mark(const std::string& name);
    // Records the current window's (or child's) rectangle under `name`.
    void mark_window(const std::string& name);
    // A button at least one touch target tall; `wide` stretches to the available width.
    bool button(const std::string& name, const std::string& label, bool wide = false, bool primary = false);
    // The width button() gives a label when not `wide`.
    float button_width(const std::string& label) const;
    // Scrolls the current window when a finger drags on it (nothing needs hover or a wheel).
    void drag_to_scroll();
    // The banner for the model's notice, if any.
    void notice(const KioskModel& m);
};

// Characters of text drawn from outside the current record (staff lists, other
// records, the commission's reasons) may be missing from the font atlas: screens
// pass such text here and main() adds what is missing before the next frame.
void want_glyphs(const std::string& utf8);
void set_glyph_sink(void (*sink)(const std::string& utf8));

// Text of a Text in the model's language.
inline const std::string& tr(const KioskModel& m, const Text& t) { return pick(t, m.lang()); }
inline std::string tr(const KioskModel& m, const char* zh, const char* en) { return m.lang() == Lang::Zh ? zh : en; }

// An editable text field bound to a model path ("lead_email", "council[2].phone").
void text_field(KioskModel& m, Ui& ui, const Field& f, const std::string& path, const std::string& top_id,
                const std::string& value, bool read_only = false);

// Advances of the current font at its current size, for wrap_text (text_wrap.h).
Advance font_advance();
// `prefix` + `text` with a newline wherever the text must wrap to fit `width` (a multi-line
// button label); lines after the first are indented by the prefix's width.
std::string wrapped_label(const std::string& prefix, const std::string& text, float width);

// The word-wrapped editor of a `multiline` field at `path` (ImGui 1.86's InputTextMultiline
// cannot wrap). It edits through the model at the model's caret: a tap places the caret, a
// drag scrolls the text, keys, the system input method, paste and the on-screen keyboard
// insert and delete at it. It is an ImGui item: IsItemActivated/Deactivated/Active work
// after it. `focus` gets the caret's line (screen coordinates), to keep in view.
void wrapped_editor(KioskModel& m, Ui& ui, const std::string& path, bool read_only, ImVec4* focus);

// One field of any type, with label, help, inline issues and notes.
void field_widget(KioskModel& m, Ui& ui, const Field& f, bool read_only = false);

// A keypad of touch-sized keys typing into `target` (at most `max_len` chars), with
// a backspace key; true when a key was tapped.
bool keypad(Ui& ui, const std::string& name, const std::string& keys, std::string& target, std::size_t max_len, int columns);
// A labelled entry box for the keypad's text (also takes keyboard input); tapping
// it points the keypad at `value` (entry().target = index).
void entry_box(KioskModel& m, Ui& ui, const std::string& name, const std::string& label, std::string& value, int index,
               bool masked, ImGuiInputTextFlags extra);

// The screens (one file each).
void draw_welcome(KioskModel& m, Ui& ui);
void draw_form(KioskModel& m, Ui& ui);
void draw_review(KioskModel& m, Ui& ui);
void draw_commitment(KioskModel& m, Ui& ui);
void draw_receipt(KioskModel& m, Ui& ui);
void draw_leave(KioskModel& m, Ui& ui);
void draw_resume(KioskModel& m, Ui& ui);
void draw_staff(KioskModel& m, Ui& ui);
void draw_fatal(KioskModel& m, Ui& ui);
void draw_idle_warning(KioskModel& m, Ui& ui);

// Draws a QR code of `text` as a square of `size` px at the cursor.
void draw_qr(const std::string& text, float size);

// The whole frame for the model's current screen.
void draw_kiosk(KioskModel& m, Ui& ui);

}  // namespace shenbao::kiosk
