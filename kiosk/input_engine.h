// The on-screen keyboard's input engines, without any GUI: pinyin through
// librime (schema luna_pinyin_simp) and handwriting through zinnia (the
// tegaki simplified-Chinese model), plus which layout a field type gets.
// The drawing (keyboard.cpp) reads their state and calls their actions; the
// tests drive them directly with the real Debian data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shenbao/form.h"
#include "shenbao/result.h"

namespace shenbao::kiosk {

// [SECTION] Layouts

enum class Layout { Numbers, Latin, Pinyin, Handwriting };

// The layout a field opens with: a number pad for integers, decimals, money,
// phone and postal code; Latin letters for e-mail and web addresses; pinyin
// for everything else texty.
Layout layout_for(FieldType type);
// The characters the number pad offers for a field type ("0123456789.-").
std::string number_keys_for(FieldType type);

// [SECTION] Where the data lives

// Debian's paths; the kiosk passes them on, tests use them as they are.
inline constexpr const char* kRimeSharedDir = "/usr/share/rime-data";
inline constexpr const char* kZinniaModel = "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model";
inline constexpr const char* kRimeSchema = "luna_pinyin_simp";

// Checks that the Rime shared data has what a luna_pinyin_simp deploy needs; the
// error names the missing file and the Debian package that provides it.
Status check_rime_data(const std::string& shared_dir);

// [SECTION] Pinyin

// Longest pinyin composition accepted; further letters are ignored (a finger
// resting on a key must not grow an unbounded search).
inline constexpr std::size_t kMaxComposition = 40;

// What the candidate bar shows. `generation` changes with every change of the
// composition or page, so a tap on a candidate drawn earlier is recognised as stale.
struct PinyinState {
    std::string input;    // the letters typed, e.g. "chanye"
    std::string preedit;  // as Rime shows them, e.g. "chan ye"
    std::vector<std::string> candidates;  // the current page
    int page = 0;
    bool last_page = true;
    std::uint64_t generation = 0;
    bool composing() const { return !input.empty(); }
};

// One librime engine for the process (librime is a process-wide singleton).
// Not thread-safe: one thread types; deploy() may run on another thread before.
class PinyinEngine {
public:
    // Writes the kiosk's patches (learning off, one schema, page size) into
    // `user_dir` and deploys the Rime data there: seconds on a slow terminal, so
    // call it at install (--deploy-ime) or on a background thread at start-up.
    // Fails with a message naming the missing package or the folder.
    static Status deploy(const std::string& shared_dir, const std::string& user_dir);
    // Opens a session on deployed data (deploy() first). At most one engine per process.
    static Result<std::unique_ptr<PinyinEngine>> open(const std::string& shared_dir, const std::string& user_dir);
    ~PinyinEngine();
    PinyinEngine(const PinyinEngine&) = delete;
    PinyinEngine& operator=(const PinyinEngine&) = delete;

    const PinyinState& state() const { return state_; }
    // A letter a–z (others are ignored, as are letters past kMaxComposition).
    void type(char letter);
    // Deletes the last letter of the composition; false when there was none.
    bool backspace();
    bool next_page();
    bool prev_page();
    // Chooses candidate `index` of the current page when `generation` is the
    // current one; returns the text to put into the field (empty while Rime still
    // has syllables left to convert, or when the tap was stale/out of range).
    std::string select(int index, std::uint64_t generation);
    // Gives the letters typed as they are (e.g. for "space" without a candidate).
    std::string commit_raw();
    // Drops the composition and starts a fresh Rime session: nothing typed so far
    // influences what the next applicant is offered.
    void reset();

private:
    PinyinEngine() = default;
    void refresh();
    bool ensure_session();
    std::uintptr_t session_ = 0;
    PinyinState state_;
};

// [SECTION] Handwriting

struct HandwritingState {
    std::vector<std::vector<std::pair<float, float>>> strokes;  // in pad coordinates
    std::vector<std::string> candidates;
    std::uint64_t generation = 0;
};

// zinnia with one model, recognising on a square pad of `size` units.
class Handwriting {
public:
    static constexpr std::size_t kMaxStrokes = 40;   // more than any character needs
    static constexpr std::size_t kMaxPoints = 400;   // per stroke; further points are dropped
    static constexpr std::size_t kCandidates = 10;

    // Loads the model; the error names the file and the Debian package.
    static Result<std::unique_ptr<Handwriting>> open(const std::string& model_path);
    ~Handwriting();
    Handwriting(const Handwriting&) = delete;
    Handwriting& operator=(const Handwriting&) = delete;

    // The pad's size in the units points are given in (points are pad-relative).
    void set_pad_size(float width, float height);
    const HandwritingState& state() const { return state_; }
    // A stroke: begin, points, end. Points outside the pad are ignored; a stroke
    // left with fewer than 1 point is dropped. end_stroke() recognises.
    void begin_stroke();
    void add_point(float x, float y);
    void end_stroke();
    bool in_stroke() const { return drawing_; }
    void undo_stroke();
    void clear();
    // The candidate at `index` when `generation` is current (then the pad is
    // cleared for the next character); empty when stale or out of range.
    std::string select(int index, std::uint64_t generation);

private:
    Handwriting() = default;
    void recognise();
    void* recognizer_ = nullptr;
    float width_ = 300, height_ = 300;
    bool drawing_ = false;
    HandwritingState state_;
};

}  // namespace shenbao::kiosk
