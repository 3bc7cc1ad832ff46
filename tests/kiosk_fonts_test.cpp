// The kiosk's font atlas without a window: the common simplified range and every
// character of the form up front, rarer characters added by a rebuild.
#include <doctest/doctest.h>

#include <imgui.h>

#include "fonts.h"
#include "test_support.h"

using namespace shenbao;
using namespace shenbao::kiosk;

namespace {
struct ImGuiContextScope {
    ImGuiContextScope() { ImGui::CreateContext(); }
    ~ImGuiContextScope() { ImGui::DestroyContext(); }
};
bool has_glyph(ImWchar c) { return ImGui::GetIO().Fonts->Fonts[0]->FindGlyphNoFallback(c) != nullptr; }
}  // namespace

TEST_CASE("the atlas holds the form's characters and adds a rare one at run time") {
    ImGuiContextScope ctx;
    auto form = load_form(test::form_path()).value();
    std::string font = FontAtlas::find_font();
    REQUIRE_MESSAGE(!font.empty(), "no CJK font: install fonts-noto-cjk");
    FontAtlas atlas;
    REQUIRE(atlas.init(form, 28.0f, font));
    std::size_t before = atlas.glyph_count();
    CHECK(before > 2500);   // the common range is there...
    CHECK(before < 9000);   // ...but not all ~21,000 CJK glyphs
    CHECK(before > 4400);   // GB2312 level 1 too: pinyin candidates rarely need a rebuild
    CHECK(has_glyph(0x8054));  // 联, from the form
    CHECK(has_glyph(0x76DF));  // 盟
    CHECK(has_glyph(0x6E1D));  // 渝, from the district names (渝北区)
    CHECK(has_glyph(0x7DA6));  // 綦 (綦江区), outside the common range
    // 犇 (U+7287) is a real character used in company names, outside the common set.
    REQUIRE_FALSE(has_glyph(0x7287));
    atlas.want("重庆犇腾科技有限公司");
    CHECK(atlas.needs_rebuild());
    atlas.rebuild();
    CHECK_FALSE(atlas.needs_rebuild());
    CHECK(has_glyph(0x7287));
    CHECK(atlas.glyph_count() == before + 1);
    atlas.want("犇");  // already there: nothing to do
    CHECK_FALSE(atlas.needs_rebuild());
}
