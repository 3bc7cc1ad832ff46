#include "fonts.h"

#include <iconv.h>
#include <unistd.h>

#include <imgui_freetype.h>
#include <imgui_internal.h>

namespace shenbao::kiosk {

namespace {

void add_utf8(ImFontGlyphRangesBuilder& b, const std::string& s) { b.AddText(s.c_str(), s.c_str() + s.size()); }

void add_text(ImFontGlyphRangesBuilder& b, const Text& t) {
    add_utf8(b, t.zh);
    add_utf8(b, t.en);
}

void add_field(ImFontGlyphRangesBuilder& b, const Field& f) {
    add_text(b, f.label);
    add_text(b, f.help);
    add_text(b, f.text);
    add_utf8(b, f.unit);
    for (const Option& o : f.options) add_text(b, o.label);
    for (const Field& c : f.columns) add_field(b, c);
}

// The kiosk's own UI strings live in the screen files; these cover their characters.
const char* kUiChars =
    "开始新的申报继续填写续填码工作人员保存并离开必填项完成上一节下一节检查并提交全部返回确认承诺提交已达到字数上限去除无效控制字符"
    "添加一行删除此行第行已达上限申报条件没有需要处理的问题可以需要处理的问题返回填写确认承诺并提交与已提交请记下或拍下参考编号"
    "打印的申报表须经联盟所有成员单位盖章后交区县经济信息委完成设置一个到位数字的凭和随时回来再输入一次并获取您的下次在任一台本机上选择"
    "输入即可接着填写登录退出申报记录同步状态待队列已排队已同步上次成功错误空闲首页秒时段默认英文界面保存设置列表退回修改意见申请人可见"
    "暂停服务请联系还在吗将如需以后先搜索名称或编号尝试次数过多后再试不正确该无需两不一致须为未能无法开始新提交失败所有本表最多"
    "中文✓✗…●○‹›←退格＋（）：，。、「」"
    // Chongqing's districts and counties: every applicant types an address here.
    "渝中渝北江北沙坪坝九龙坡南岸北碚綦江大足巴南黔江长寿江津合川永川南川璧山铜梁潼南荣昌开州梁平武隆城口丰都垫江忠县"
    "云阳奉节巫山巫溪石柱秀山酉阳彭水万州涪陵两江新区万盛经开区高新区";

// GB2312 level 1, the 3,755 most used hanzi (rows 0xB0-0xD7), through glibc's iconv. Most
// pinyin candidates are among them, so typing rarely waits for an atlas rebuild; they fit
// the same texture as the common range (~1,300 more glyphs, ~10 ms more to build).
void add_gb2312_level1(ImFontGlyphRangesBuilder& b) {
    iconv_t cd = iconv_open("UTF-8", "GB2312");
    if (cd == reinterpret_cast<iconv_t>(-1)) return;  // no gconv module: rebuilds still add them
    for (int hi = 0xB0; hi <= 0xD7; ++hi)
        for (int lo = 0xA1; lo <= 0xFE; ++lo) {
            char in[2] = {static_cast<char>(hi), static_cast<char>(lo)}, out[8] = {};
            char *ip = in, *op = out;
            std::size_t il = 2, ol = sizeof out;
            if (iconv(cd, &ip, &il, &op, &ol) != static_cast<std::size_t>(-1)) b.AddText(out, op);
        }
    iconv_close(cd);
}

}  // namespace

std::string FontAtlas::find_font() {
    for (const char* p : {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                          "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"})
        if (::access(p, R_OK) == 0) return p;
    return "";
}

bool FontAtlas::init(const FormDefinition& form, float pixel_size, const std::string& font_path) {
    path_ = font_path;
    size_ = pixel_size;
    ImFontGlyphRangesBuilder b;
    b.AddRanges(ImGui::GetIO().Fonts->GetGlyphRangesChineseSimplifiedCommon());
    add_text(b, form.title);
    for (const Section& s : form.sections) {
        add_text(b, s.title);
        for (const Field& f : s.fields) add_field(b, f);
    }
    for (const Rule& r : form.rules) add_text(b, r.message);
    add_utf8(b, kUiChars);
    add_gb2312_level1(b);
    b.BuildRanges(&ranges_);
    build();
    return ImGui::GetIO().Fonts->Fonts.Size > 0 && ImGui::GetIO().Fonts->IsBuilt();
}

void FontAtlas::want(unsigned int c) {
    if (c < 0x80 || c > 0xFFFF) return;  // ASCII is always there; ImWchar is 16-bit here
    ImFont* font = ImGui::GetIO().Fonts->Fonts.Size ? ImGui::GetIO().Fonts->Fonts[0] : nullptr;
    if (font && font->FindGlyphNoFallback(static_cast<ImWchar>(c))) return;
    // A character the font file lacks stays missing after a rebuild: ask for it once,
    // or every frame would rebuild the atlas (and, redrawn, ask again).
    if (!asked_.insert(static_cast<ImWchar>(c)).second) return;
    extra_.insert(static_cast<ImWchar>(c));
    dirty_ = true;
}

void FontAtlas::want(const std::string& utf8) {
    const char* p = utf8.c_str();
    const char* end = p + utf8.size();
    while (p < end) {
        unsigned int c = 0;
        int n = ImTextCharFromUtf8(&c, p, end);
        if (n <= 0) break;
        want(c);
        p += n;
    }
}

void FontAtlas::rebuild() {
    if (!dirty_) return;
    ImFontGlyphRangesBuilder b;
    b.AddRanges(ranges_.Data);
    for (ImWchar c : extra_) b.AddChar(c);
    ImVector<ImWchar> merged;
    b.BuildRanges(&merged);
    ranges_.swap(merged);
    extra_.clear();
    build();
    dirty_ = false;
}

void FontAtlas::build() {
    ImGuiIO& io = ImGui::GetIO();
    io.Fonts->Clear();
    io.Fonts->FontBuilderIO = ImGuiFreeType::GetBuilderForFreeType();
    ImFontConfig cfg;
    cfg.FontNo = path_.find("NotoSansCJK") != std::string::npos ? 2 : 0;  // index 2 of the .ttc is SC
    cfg.OversampleH = cfg.OversampleV = 1;
    if (!path_.empty()) io.Fonts->AddFontFromFileTTF(path_.c_str(), size_, &cfg, ranges_.Data);
    else io.Fonts->AddFontDefault();
    io.Fonts->Build();
}

std::size_t FontAtlas::glyph_count() const {
    ImFont* font = ImGui::GetIO().Fonts->Fonts.Size ? ImGui::GetIO().Fonts->Fonts[0] : nullptr;
    return font ? static_cast<std::size_t>(font->Glyphs.Size) : 0;
}

}  // namespace shenbao::kiosk
