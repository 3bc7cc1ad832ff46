// The kiosk's CJK font atlas: the common simplified-Chinese range plus every
// character of the form definition up front; any other character met at run
// time is added by rebuilding the atlas between frames.
#pragma once

#include <set>
#include <string>

#include <imgui.h>

#include "shenbao/form.h"

namespace shenbao::kiosk {

class FontAtlas {
public:
    // Finds a CJK font (Noto Sans CJK SC, else WenQuanYi Micro Hei); empty if none.
    static std::string find_font();
    // Builds the first atlas; false when no font could be loaded (the caller says which).
    bool init(const FormDefinition& form, float pixel_size, const std::string& font_path);
    // Notes characters of `utf8` the atlas lacks; they are added at the next rebuild().
    void want(const std::string& utf8);
    void want(unsigned int codepoint);
    bool needs_rebuild() const { return dirty_; }
    // Rebuilds the atlas with the wanted characters; call between frames, then
    // re-upload the texture (the OpenGL backend's Destroy/CreateFontsTexture).
    void rebuild();
    std::size_t glyph_count() const;

private:
    void build();
    std::string path_;
    float size_ = 26;
    std::set<ImWchar> extra_;
    std::set<ImWchar> asked_;  // every character ever asked for, found in the font or not
    ImVector<ImWchar> ranges_;
    bool dirty_ = false;
};

}  // namespace shenbao::kiosk
