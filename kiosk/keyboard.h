// The on-screen keyboard: opens with the focused text field, picks its layout
// from the field type (number pad, Latin, pinyin, handwriting), and commits
// into the field through the model (so the save logic and length limits apply).
// The engines (input_engine.h) hold the composition; this file only draws them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "input_engine.h"
#include "kiosk_model.h"

namespace shenbao::kiosk {

struct Ui;

// The engines the keyboard may use; a null engine hides its layout, and its
// `problem` (which Debian package is missing) is shown on the staff screen.
struct InputEngines {
    std::unique_ptr<PinyinEngine> pinyin;
    // The handwriting model (~26 MB once used) is opened when the 手写 tab is first used
    // and released when the applicant's session ends.
    std::unique_ptr<Handwriting> handwriting;
    std::string handwriting_model;      // the zinnia model file, checked at start
    bool handwriting_available = false;
    std::string pinyin_problem;       // empty when pinyin works (or is still being prepared)
    std::string handwriting_problem;
    bool pinyin_pending = false;      // the Rime deploy is still running in the background
};

class Keyboard {
public:
    explicit Keyboard(InputEngines& engines) : engines_(engines) {}

    // [SECTION] Called by the text fields
    // A text field was tapped: open for it with the layout of its type.
    void open_for(const Field& f, const std::string& path, const std::string& top_id);
    bool is_open() const { return !path_.empty(); }
    bool targets(const std::string& path) const { return path_ == path; }
    // The target field was drawn this frame with `chars` characters (keys type at the model's caret).
    void field_drawn(std::size_t chars) {
        chars_ = chars;
        drawn_ = true;
    }
    // True once after a frame in which a key changed something: the loop draws another
    // frame to show it (the kiosk otherwise sleeps until the next input).
    bool take_redraw() {
        bool r = redraw_;
        redraw_ = false;
        return r;
    }
    // True for a few frames after the keyboard opened or typed: the field should scroll
    // into view above it (the form shrinks above the keyboard a frame after it opens).
    bool take_scroll_request() {
        if (scroll_frames_ <= 0) return false;
        --scroll_frames_;
        return true;
    }
    // Closes; the field is left (saved, its issues shown).
    void close(KioskModel& m);

    // [SECTION] Drawing
    // Height of the keyboard window when open (0 when closed), for the form to scroll above it.
    float height(const Ui& ui) const;
    // Draws the keyboard window at the bottom of the screen, if open.
    void draw(KioskModel& m, Ui& ui);

    Layout layout() const { return layout_; }

private:
    void ensure_layout_available();
    bool available(Layout l) const;
    void commit(KioskModel& m, const std::string& text);
    void backspace(KioskModel& m);
    void finish_composition(KioskModel& m);
    void end_session();
    void candidate_bar(KioskModel& m, Ui& ui);
    void layout_tabs(KioskModel& m, Ui& ui);
    void pinyin_keys(KioskModel& m, Ui& ui);
    void latin_keys(KioskModel& m, Ui& ui);
    void number_keys(KioskModel& m, Ui& ui);
    void handwriting_pad(KioskModel& m, Ui& ui);
    Handwriting* hand_engine();  // opens the model on first use; null when it cannot
    bool key(Ui& ui, const std::string& name, const std::string& label, float width, bool primary = false);
    void want(const std::vector<std::string>& texts);

    InputEngines& engines_;
    std::string path_, top_id_;
    std::size_t chars_ = 0;
    FieldType type_ = FieldType::Text;
    Layout layout_ = Layout::Pinyin;
    bool shift_ = false;
    bool drawn_ = false;   // the target field was drawn this frame
    int scroll_frames_ = 0;
    bool redraw_ = false;
    bool closed_under_finger_ = false;  // closed on a press: keep the room until the release (height())
    std::string session_;  // the record the keyboard last served: a new one resets the engines
};

}  // namespace shenbao::kiosk
