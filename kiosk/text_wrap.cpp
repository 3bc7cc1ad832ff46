// Line breaking and caret arithmetic for the multi-line editor (see text_wrap.h).
#include "text_wrap.h"

#include <algorithm>

namespace shenbao::kiosk {

namespace {

// The code point at byte `i` and its length in bytes; a malformed byte is U+FFFD of length 1.
std::pair<char32_t, std::size_t> decode(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return {c, 1};
    std::size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (len == 0 || i + len > s.size()) return {0xFFFD, 1};
    char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return {0xFFFD, 1};
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFD, 1};
    return {cp, len};
}

bool is_cjk(char32_t c) {
    return (c >= 0x2E80 && c <= 0x9FFF) ||    // radicals, CJK symbols and punctuation, kana, bopomofo, ext. A, unified
           (c >= 0xF900 && c <= 0xFAFF) ||    // compatibility ideographs
           (c >= 0xFE30 && c <= 0xFE4F) ||    // compatibility forms
           (c >= 0xFF00 && c <= 0xFFEF) ||    // full-width forms (，．：！？（）…)
           (c >= 0x20000 && c <= 0x3FFFF);    // supplementary ideographs
}

bool contains(std::u32string_view set, char32_t c) { return set.find(c) != std::u32string_view::npos; }

bool is_space(char32_t c) { return c == ' ' || c == 0x3000; }

// Whether a line may end after `a` and the next begin with `b`.
bool can_break(char32_t a, char32_t b) {
    if (is_space(b)) return false;  // spaces hang at the end of the line they follow
    if (no_line_start(b) || no_line_end(a)) return false;
    if (a == b && (a == U'—' || a == U'…')) return false;  // ——, …… are never split
    return is_space(a) || is_cjk(a) || is_cjk(b);
}

}  // namespace

bool no_line_start(char32_t c) {
    return contains(U"，。、；：？！）》」』】〕〉］｝〗”’％‰·．,.;:?!)]}%", c);
}

bool no_line_end(char32_t c) { return contains(U"（《「『【〔〈［｛〖“‘([{", c); }

std::vector<WrapLine> wrap_text(std::string_view text, float width, const Advance& advance) {
    std::vector<WrapLine> lines;
    std::size_t begin = 0, last_break = std::string_view::npos;
    float x = 0;
    char32_t prev = 0;
    for (std::size_t i = 0; i < text.size();) {
        auto [cp, len] = decode(text, i);
        if (cp == '\n') {
            lines.push_back({begin, i});
            begin = i + 1;
            x = 0;
            prev = 0;
            last_break = std::string_view::npos;
            i += 1;
            continue;
        }
        if (i > begin && can_break(prev, cp)) last_break = i;
        float w = advance(cp);
        if (!is_space(cp) && i > begin && x + w > width) {
            std::size_t brk = last_break != std::string_view::npos && last_break > begin ? last_break : i;
            // Forced inside a word: still never start the line with closing punctuation.
            if (brk == i && no_line_start(cp)) {
                std::size_t back = prev_boundary(text, i);
                if (back > begin) brk = back;
            }
            lines.push_back({begin, brk});
            begin = brk;
            last_break = std::string_view::npos;
            x = 0;
            for (std::size_t k = brk; k < i;) {  // what moved down with the break
                auto [c2, l2] = decode(text, k);
                x += advance(c2);
                k += l2;
            }
        }
        x += w;
        prev = cp;
        i += len;
    }
    lines.push_back({begin, text.size()});
    return lines;
}

namespace {
std::size_t line_of(const std::vector<WrapLine>& lines, std::size_t caret) {
    auto it = std::upper_bound(lines.begin(), lines.end(), caret, [](std::size_t c, const WrapLine& l) { return c < l.begin; });
    return it == lines.begin() ? 0 : static_cast<std::size_t>(it - lines.begin()) - 1;
}
}  // namespace

LineCol caret_line_col(const std::vector<WrapLine>& lines, std::string_view text, std::size_t caret) {
    caret = std::min(caret, text.size());
    std::size_t k = line_of(lines, caret);
    const WrapLine& l = lines[k];
    return {k, count_code_points(text.substr(l.begin, std::min(caret, l.end) - l.begin))};
}

std::size_t caret_offset(const std::vector<WrapLine>& lines, std::string_view text, LineCol pos) {
    const WrapLine& l = lines[std::min(pos.line, lines.size() - 1)];
    std::size_t i = l.begin;
    for (std::size_t n = 0; n < pos.column && i < l.end; ++n) i = next_boundary(text, i);
    return std::min(i, l.end);
}

float caret_x(const std::vector<WrapLine>& lines, std::string_view text, std::size_t caret, const Advance& advance) {
    caret = std::min(caret, text.size());
    const WrapLine& l = lines[line_of(lines, caret)];
    float x = 0;
    for (std::size_t i = l.begin; i < std::min(caret, l.end);) {
        auto [cp, len] = decode(text, i);
        x += advance(cp);
        i += len;
    }
    return x;
}

std::size_t caret_at_x(const std::vector<WrapLine>& lines, std::string_view text, std::size_t line, float x,
                       const Advance& advance) {
    line = std::min(line, lines.size() - 1);
    const WrapLine& l = lines[line];
    // The end of a soft-wrapped line is the start of the next one: stop before its last character.
    bool soft = line + 1 < lines.size() && lines[line + 1].begin == l.end;
    std::size_t last = soft && l.end > l.begin ? prev_boundary(text, l.end) : l.end;
    float cur = 0;
    for (std::size_t i = l.begin; i < last;) {
        auto [cp, len] = decode(text, i);
        float w = advance(cp);
        if (x < cur + w / 2) return i;
        cur += w;
        i += len;
    }
    return last;
}

std::size_t next_boundary(std::string_view text, std::size_t i) {
    if (i >= text.size()) return text.size();
    return i + decode(text, i).second;
}

std::size_t prev_boundary(std::string_view text, std::size_t i) {
    i = std::min(i, text.size());
    if (i == 0) return 0;
    // Step back over up to three continuation bytes, if they make one code point with their lead.
    for (std::size_t back = 2; back <= 4 && back <= i; ++back) {
        auto [cp, len] = decode(text, i - back);
        if (len == back && cp != 0xFFFD) return i - back;
    }
    return i - 1;
}

bool valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        auto [cp, len] = decode(text, i);
        if (cp == 0xFFFD && len == 1 && static_cast<unsigned char>(text[i]) >= 0x80) return false;
        i += len;
    }
    return true;
}

std::size_t count_code_points(std::string_view text) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); i += decode(text, i).second) ++n;
    return n;
}

std::string group_thousands(std::size_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace shenbao::kiosk
