// The multi-line editor's layout without a window: line breaks for Chinese, Latin and
// mixed text with the punctuation rules (text_wrap.h), caret <-> line/column both ways.
// Editing at the caret through the model is in kiosk_model_test.cpp.
#include <doctest/doctest.h>

#include "text_wrap.h"

using namespace shenbao;
using namespace shenbao::kiosk;

namespace {

// A monospaced stand-in for the font: ASCII one unit, everything else (CJK) two.
float adv(char32_t c) { return c < 0x80 ? 1.0f : 2.0f; }

// The text of each line.
std::vector<std::string> wrap(const std::string& text, float width) {
    std::vector<std::string> out;
    for (const WrapLine& l : wrap_text(text, width, adv)) out.push_back(text.substr(l.begin, l.end - l.begin));
    return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("wrapping: Chinese breaks between any two characters, at the width") {
    CHECK(wrap("一二三四五六七八九十", 10) == Lines{"一二三四五", "六七八九十"});
    CHECK(wrap("一二三四五六七八九十", 9) == Lines{"一二三四", "五六七八", "九十"});
    CHECK(wrap("", 10) == Lines{""});
    CHECK(wrap("一", 1) == Lines{"一"});  // narrower than one character: one character a line, never none
}

TEST_CASE("wrapping: no line starts with closing punctuation, none ends with opening punctuation") {
    // 「，」 would start line 2: 四 goes down with it.
    CHECK(wrap("一二三四，五六", 8) == Lines{"一二三", "四，五六"});
    for (const char* closing : {"，", "。", "、", "；", "：", "？", "！", "）", "》", "」"}) {
        CAPTURE(closing);
        auto lines = wrap(std::string("甲乙丙丁") + closing + "戊己庚辛壬癸", 8);
        for (std::size_t i = 1; i < lines.size(); ++i) CHECK(lines[i].rfind(closing, 0) != 0);
        CHECK(lines[0] == "甲乙丙");
    }
    // 「（」 would end line 1: it goes down with 四.
    for (const char* opening : {"（", "《", "「"}) {
        CAPTURE(opening);
        auto lines = wrap(std::string("一二三") + opening + "四五六", 8);
        CHECK(lines == Lines{"一二三", std::string(opening) + "四五六"});
    }
    // Two closing marks in a row both stay off the next line's start.
    CHECK(wrap("一二三四。」五", 8) == Lines{"一二三", "四。」五"});
    // A dash or an ellipsis is never split.
    CHECK(wrap("一二三——四", 8) == Lines{"一二三", "——四"});
    CHECK(wrap("一二三……四", 8) == Lines{"一二三", "……四"});
}

TEST_CASE("wrapping: Latin words and numbers stay whole, spaces hang at the line's end") {
    CHECK(wrap("hello world foo", 11) == Lines{"hello world ", "foo"});
    CHECK(wrap("hello world foo", 8) == Lines{"hello ", "world ", "foo"});
    CHECK(wrap("abcdefghijkl", 5) == Lines{"abcde", "fghij", "kl"});  // a word wider than the line is cut
    CHECK(wrap("end of line.", 11) == Lines{"end of ", "line."});    // the full stop stays with its word
    // Mixed: a break may fall between a Chinese character and a Latin one, never inside "5G".
    CHECK(wrap("我们研发5G通信模块", 8) == Lines{"我们研发", "5G通信模", "块"});
    CHECK(wrap("我们研5G", 7) == Lines{"我们研", "5G"});
    CHECK(wrap("采用L3级自动驾驶", 9) == Lines{"采用L3级", "自动驾驶"});
    CHECK(wrap("经费3.6亿元，", 10) == Lines{"经费3.6亿", "元，"});
}

TEST_CASE("wrapping: newlines end lines; a trailing newline leaves an empty last line") {
    CHECK(wrap("一二\n三", 10) == Lines{"一二", "三"});
    CHECK(wrap("一二\n", 10) == Lines{"一二", ""});
    CHECK(wrap("\n\n", 10) == Lines{"", "", ""});
    CHECK(wrap("一二三四五六\n七", 6) == Lines{"一二三", "四五六", "七"});
}

TEST_CASE("caret: byte offset <-> line and column, both ways") {
    std::string t = "一二三四五六\n七八";  // width 6: 一二三 | 四五六 | 七八
    auto lines = wrap_text(t, 6, adv);
    REQUIRE(lines.size() == 3);
    CHECK(caret_line_col(lines, t, 0) == LineCol{0, 0});
    CHECK(caret_line_col(lines, t, 6) == LineCol{0, 2});
    CHECK(caret_line_col(lines, t, 9) == LineCol{1, 0});   // on a soft break: the start of the next line
    CHECK(caret_line_col(lines, t, 18) == LineCol{1, 3});  // before the newline: the end of its line
    CHECK(caret_line_col(lines, t, 19) == LineCol{2, 0});
    CHECK(caret_line_col(lines, t, t.size()) == LineCol{2, 2});
    for (std::size_t c = 0; c <= t.size(); c = next_boundary(t, c)) {
        CAPTURE(c);
        CHECK(caret_offset(lines, t, caret_line_col(lines, t, c)) == c);
        if (c == t.size()) break;
    }
    CHECK(caret_offset(lines, t, {1, 99}) == 18);  // column clamped to the line
    CHECK(caret_offset(lines, t, {99, 1}) == 22);  // line clamped to the last
    // x positions and taps: the nearer edge of the character under the finger.
    CHECK(caret_x(lines, t, 6, adv) == 4.0f);
    CHECK(caret_at_x(lines, t, 0, 2.9f, adv) == 3);
    CHECK(caret_at_x(lines, t, 0, 3.1f, adv) == 6);
    CHECK(caret_at_x(lines, t, 0, 99, adv) == 6);   // past a soft line's end: before its last character
    CHECK(caret_at_x(lines, t, 1, 99, adv) == 18);  // past a hard line's end: at its end
    CHECK(caret_at_x(lines, t, 2, -5, adv) == 19);
}

TEST_CASE("UTF-8: boundaries, validity, counts, grouping") {
    std::string t = "a中b";
    CHECK(next_boundary(t, 0) == 1);
    CHECK(next_boundary(t, 1) == 4);
    CHECK(prev_boundary(t, 4) == 1);
    CHECK(prev_boundary(t, 1) == 0);
    CHECK(prev_boundary(t, 0) == 0);
    CHECK(count_code_points("重庆abc") == 5);
    CHECK(valid_utf8("重庆 abc，。"));
    CHECK_FALSE(valid_utf8("\xC3\x28"));          // bad continuation
    CHECK_FALSE(valid_utf8("\xE4\xB8"));          // cut off
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));      // a surrogate
    CHECK_FALSE(valid_utf8("\xC0\xAF"));          // overlong
    CHECK_FALSE(valid_utf8("ok\xFF"));
    CHECK(group_thousands(0) == "0");
    CHECK(group_thousands(999) == "999");
    CHECK(group_thousands(20000) == "20,000");
    CHECK(group_thousands(1234567) == "1,234,567");
    // Malformed bytes still lay out, one character each.
    CHECK(wrap("\xFF\xFE", 1).size() == 2);
}
