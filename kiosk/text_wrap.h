// Word wrapping and caret arithmetic for the kiosk's multi-line text editor. No
// ImGui here: the editor (ui_editor.cpp) draws what this computes, and the model
// tests check breaks and carets without a window.
//
// Line breaking follows the usual rules for Chinese text (GB/T 15834 practice,
// "避头尾"): a line may break between any two CJK characters and after a space,
// never inside a Latin word or number (unless the word alone is wider than the
// line), never before closing punctuation such as ，。、；：？！）》」 and never
// after opening punctuation such as （《「.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace shenbao::kiosk {

// One visual line: the bytes [begin, end) of the text. A '\n' belongs to no line
// (the line before it ends at it); spaces at a soft break stay at the line's end.
struct WrapLine {
    std::size_t begin = 0, end = 0;
    bool operator==(const WrapLine& o) const { return begin == o.begin && end == o.end; }
};

// Advance width of one code point, in the caller's units (pixels in the kiosk).
using Advance = std::function<float(char32_t)>;

// True for characters that must not start a line (closing punctuation) or end one (opening).
bool no_line_start(char32_t c);
bool no_line_end(char32_t c);

// The lines of UTF-8 `text` wrapped to `width`. Always at least one line (an
// empty text is one empty line); a text ending in '\n' ends with an empty line.
// Malformed bytes count as one character each, so any input lays out.
std::vector<WrapLine> wrap_text(std::string_view text, float width, const Advance& advance);

// A caret as a visual line and a column counted in code points from the line's start.
struct LineCol {
    std::size_t line = 0, column = 0;
    bool operator==(const LineCol& o) const { return line == o.line && column == o.column; }
};

// Where the caret at byte `caret` (a code point boundary, clamped to the text) is
// drawn. A caret on a soft break belongs to the start of the next line.
LineCol caret_line_col(const std::vector<WrapLine>& lines, std::string_view text, std::size_t caret);
// The byte offset of `pos`; the line and column are clamped to what exists.
std::size_t caret_offset(const std::vector<WrapLine>& lines, std::string_view text, LineCol pos);
// The x of the caret at byte `caret` within its line.
float caret_x(const std::vector<WrapLine>& lines, std::string_view text, std::size_t caret, const Advance& advance);
// The caret nearest to x on `line` (a tap, or moving up and down): the nearer edge of the character under x.
std::size_t caret_at_x(const std::vector<WrapLine>& lines, std::string_view text, std::size_t line, float x,
                       const Advance& advance);

// UTF-8 steps: the boundary after / before the code point at `i` (clamped to the text).
std::size_t next_boundary(std::string_view text, std::size_t i);
std::size_t prev_boundary(std::string_view text, std::size_t i);
// True when `text` is well-formed UTF-8 (no stray continuation bytes, overlongs, surrogates or cut-off sequences).
bool valid_utf8(std::string_view text);
// Number of code points in `text`.
std::size_t count_code_points(std::string_view text);
// "20,000": a count with thousands separators, for the editor's character count.
std::string group_thousands(std::size_t n);

}  // namespace shenbao::kiosk
