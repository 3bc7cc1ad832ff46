// The on-screen keyboard's engines with the real Debian data: librime with
// rime-data-luna-pinyin (deployed into a temporary user folder, as the kiosk
// does into its data folder) and zinnia with the tegaki simplified-Chinese model.
#include <doctest/doctest.h>

#include <filesystem>

#include "input_engine.h"
#include "test_support.h"

using namespace shenbao;
using namespace shenbao::kiosk;

namespace {

// librime is one per process: every test case shares one deployed folder.
const std::string& rime_dir() {
    static test::TempDir dir;
    static bool deployed = [] {
        auto st = PinyinEngine::deploy(kRimeSharedDir, dir.path() + "/rime");
        if (!st.ok()) FAIL(st.error().message);
        return true;
    }();
    (void)deployed;
    static std::string path = dir.path() + "/rime";
    return path;
}

PinyinEngine& engine() {
    static std::unique_ptr<PinyinEngine> e = [] {
        auto r = PinyinEngine::open(kRimeSharedDir, rime_dir());
        if (!r.ok()) FAIL(r.error().message);
        return std::move(r.value());
    }();
    return *e;
}

void type(PinyinEngine& e, const std::string& letters) {
    for (char c : letters) e.type(c);
}

// Types `letters` and takes the first candidate until Rime commits.
std::string convert_first(PinyinEngine& e, const std::string& letters) {
    e.reset();
    type(e, letters);
    std::string out;
    for (int i = 0; i < 10 && e.state().composing(); ++i) out += e.select(0, e.state().generation);
    return out;
}

std::string first_candidate(PinyinEngine& e, const std::string& letters) {
    e.reset();
    type(e, letters);
    REQUIRE_FALSE(e.state().candidates.empty());
    return e.state().candidates[0];
}

std::unique_ptr<Handwriting> writer() {
    auto r = Handwriting::open(kZinniaModel);
    if (!r.ok()) FAIL(r.error().message);
    auto h = std::move(r.value());
    h->set_pad_size(300, 300);
    return h;
}

// A straight stroke from (x0, y0) to (x1, y1) in `n` points, as a finger would give it.
void stroke(Handwriting& h, float x0, float y0, float x1, float y1, int n = 12) {
    h.begin_stroke();
    for (int i = 0; i <= n; ++i) {
        float t = static_cast<float>(i) / static_cast<float>(n);
        h.add_point(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
    }
    h.end_stroke();
}

bool among_first(const std::vector<std::string>& c, const std::string& want, std::size_t n) {
    for (std::size_t i = 0; i < c.size() && i < n; ++i)
        if (c[i] == want) return true;
    return false;
}

}  // namespace

TEST_CASE("kiosk keyboard: layouts follow the field type") {
    CHECK(layout_for(FieldType::Integer) == Layout::Numbers);
    CHECK(layout_for(FieldType::Decimal) == Layout::Numbers);
    CHECK(layout_for(FieldType::Money) == Layout::Numbers);
    CHECK(layout_for(FieldType::Phone) == Layout::Numbers);
    CHECK(layout_for(FieldType::PostalCode) == Layout::Numbers);
    CHECK(layout_for(FieldType::Email) == Layout::Latin);
    CHECK(layout_for(FieldType::Url) == Layout::Latin);
    CHECK(layout_for(FieldType::Text) == Layout::Pinyin);
    CHECK(layout_for(FieldType::Multiline) == Layout::Pinyin);
    CHECK(number_keys_for(FieldType::PostalCode) == "1234567890");
    CHECK(number_keys_for(FieldType::Money) == "1234567890.-");
}

TEST_CASE("kiosk keyboard: missing Rime data names the Debian package") {
    test::TempDir empty;
    auto st = check_rime_data(empty.path());
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("rime-prelude") != std::string::npos);
    CHECK(st.error().message.find(empty.path() + "/default.yaml") != std::string::npos);
    auto open = PinyinEngine::open(kRimeSharedDir, empty.path() + "/never-deployed");
    REQUIRE_FALSE(open.ok());
    CHECK(open.error().message.find("--deploy-ime") != std::string::npos);
}

TEST_CASE("kiosk keyboard: a missing handwriting model names the Debian package") {
    auto r = Handwriting::open("/nonexistent/handwriting-zh_CN.model");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("tegaki-zinnia-simplified-chinese") != std::string::npos);
}

TEST_CASE("kiosk keyboard: the deploy writes the kiosk's patches and turns learning off") {
    const std::string& dir = rime_dir();
    std::string patch = test::read_file(dir + "/luna_pinyin_simp.custom.yaml");
    CHECK(patch.find("translator/enable_user_dict: false") != std::string::npos);
    CHECK(std::filesystem::exists(dir + "/build/luna_pinyin_simp.schema.yaml"));
    // The patch reached the compiled schema.
    std::string built = test::read_file(dir + "/build/luna_pinyin_simp.schema.yaml");
    CHECK(built.find("enable_user_dict: false") != std::string::npos);
}

TEST_CASE("kiosk keyboard: seed phrases come first from whole pinyin") {
    PinyinEngine& e = engine();
    CHECK(first_candidate(e, "chongqingshi") == "重庆市");
    CHECK(first_candidate(e, "chanyejishuchuangxinlianmeng") == "产业技术创新联盟");
    CHECK(first_candidate(e, "qiantoudanwei") == "牵头单位");
    CHECK(convert_first(e, "chanyejishuchuangxinlianmeng") == "产业技术创新联盟");
}

TEST_CASE("kiosk keyboard: the composition shows syllables and backspace walks back through it") {
    PinyinEngine& e = engine();
    e.reset();
    CHECK_FALSE(e.state().composing());
    type(e, "lianmeng");
    CHECK(e.state().input == "lianmeng");
    CHECK(e.state().preedit == "lian meng");
    CHECK(e.state().candidates.at(0) == "联盟");
    CHECK(e.backspace());
    CHECK(e.state().input == "lianmen");
    for (int i = 0; i < 7; ++i) CHECK(e.backspace());
    CHECK_FALSE(e.state().composing());
    CHECK(e.state().candidates.empty());
    CHECK_FALSE(e.backspace());  // nothing left: the field's own text is the caller's to delete
}

TEST_CASE("kiosk keyboard: candidates page forward and back") {
    PinyinEngine& e = engine();
    e.reset();
    type(e, "shi");
    REQUIRE(e.state().candidates.size() == 8);
    CHECK(e.state().page == 0);
    CHECK_FALSE(e.state().last_page);
    CHECK_FALSE(e.prev_page());
    std::vector<std::string> first = e.state().candidates;
    REQUIRE(e.next_page());
    CHECK(e.state().page == 1);
    CHECK(e.state().candidates != first);
    REQUIRE(e.prev_page());
    CHECK(e.state().page == 0);
    CHECK(e.state().candidates == first);
    // Picking on page 1 gives that page's candidate.
    REQUIRE(e.next_page());
    std::string pick = e.state().candidates.at(2);
    CHECK(e.select(2, e.state().generation) == pick);
    CHECK_FALSE(e.state().composing());
}

TEST_CASE("kiosk keyboard: a partial pick keeps the rest of the composition") {
    PinyinEngine& e = engine();
    e.reset();
    type(e, "qiantoudanwei");
    // Find a candidate covering only the first two syllables.
    int idx = -1;
    for (int page = 0; page < 5 && idx < 0; ++page) {
        for (std::size_t i = 0; i < e.state().candidates.size(); ++i)
            if (e.state().candidates[i] == "牵头") idx = static_cast<int>(i);
        if (idx < 0) REQUIRE(e.next_page());
    }
    REQUIRE(idx >= 0);
    CHECK(e.select(idx, e.state().generation).empty());  // not committed yet: 单位 is still pinyin
    CHECK(e.state().composing());
    CHECK(e.state().candidates.at(0) == "单位");
    CHECK(e.select(0, e.state().generation) == "牵头单位");
}

TEST_CASE("kiosk keyboard: stale or impossible candidate taps are ignored") {
    PinyinEngine& e = engine();
    e.reset();
    type(e, "ba");
    std::uint64_t old = e.state().generation;
    e.type('n');  // the bar changed under the finger
    CHECK(e.select(0, old).empty());
    CHECK(e.state().input == "ban");
    CHECK(e.select(99, e.state().generation).empty());
    CHECK(e.select(-1, e.state().generation).empty());
    CHECK(e.state().input == "ban");
    e.type('A');  // not a pinyin letter
    e.type('1');
    CHECK(e.state().input == "ban");
}

TEST_CASE("kiosk keyboard: an absurdly long composition is capped") {
    PinyinEngine& e = engine();
    e.reset();
    for (int i = 0; i < 500; ++i) e.type("chanyejishu"[i % 11]);
    CHECK(e.state().input.size() == kMaxComposition);
    CHECK_FALSE(e.state().candidates.empty());
    std::string typed = e.state().input;
    CHECK(e.commit_raw() == typed);
    CHECK_FALSE(e.state().composing());
}

TEST_CASE("kiosk keyboard: commit_raw gives the letters as typed") {
    PinyinEngine& e = engine();
    e.reset();
    type(e, "abc");
    CHECK(e.commit_raw() == "abc");
    CHECK_FALSE(e.state().composing());
}

TEST_CASE("kiosk keyboard: nothing one applicant chose is offered first to the next") {
    PinyinEngine& e = engine();
    // What a fresh kiosk offers first for "shiyan".
    std::string fresh = first_candidate(e, "shiyan");
    // Applicant A picks a lower candidate three times (a learning engine would promote it).
    std::string picked;
    for (int round = 0; round < 3; ++round) {
        e.reset();
        type(e, "shiyan");
        REQUIRE(e.state().candidates.size() > 3);
        picked = e.state().candidates[3];
        CHECK(e.select(3, e.state().generation) == picked);
    }
    REQUIRE(picked != fresh);
    e.reset();  // the session ends: a fresh Rime session for applicant B
    CHECK(first_candidate(e, "shiyan") == fresh);
    // No user dictionary was written into the kiosk's folder.
    for (const auto& entry : std::filesystem::directory_iterator(rime_dir()))
        CHECK(entry.path().filename().string().find(".userdb") == std::string::npos);
}

TEST_CASE("kiosk keyboard: one horizontal stroke is read as 一") {
    auto h = writer();
    stroke(*h, 40, 150, 260, 150);
    CHECK(h->state().strokes.size() == 1);
    CHECK(among_first(h->state().candidates, "一", 3));
}

TEST_CASE("kiosk keyboard: the strokes of 十 give 十") {
    auto h = writer();
    stroke(*h, 40, 140, 260, 140);
    stroke(*h, 150, 30, 150, 270);
    REQUIRE_FALSE(h->state().candidates.empty());
    CHECK(h->state().candidates[0] == "十");
    std::uint64_t g = h->state().generation;
    CHECK(h->select(0, g) == "十");
    CHECK(h->state().strokes.empty());  // ready for the next character
    CHECK(h->state().candidates.empty());
    CHECK(h->select(0, g).empty());      // the same tap again is stale
}

TEST_CASE("kiosk keyboard: the strokes of 二 and of 三 are told apart") {
    auto h = writer();
    stroke(*h, 80, 100, 220, 100);
    stroke(*h, 40, 200, 260, 200);
    CHECK(among_first(h->state().candidates, "二", 3));
    h->clear();
    stroke(*h, 70, 60, 230, 60);
    stroke(*h, 90, 150, 210, 150);
    stroke(*h, 40, 250, 260, 250);
    CHECK(among_first(h->state().candidates, "三", 3));
}

TEST_CASE("kiosk keyboard: strokes outside the pad are ignored and undo takes the last stroke back") {
    auto h = writer();
    stroke(*h, 400, 400, 600, 400);  // wholly outside: no stroke at all
    CHECK(h->state().strokes.empty());
    CHECK(h->state().candidates.empty());
    h->begin_stroke();  // partly outside: only the inside points count
    h->add_point(-50, 150);
    h->add_point(40, 150);
    h->add_point(150, 150);
    h->add_point(260, 150);
    h->add_point(900, 150);
    h->end_stroke();
    REQUIRE(h->state().strokes.size() == 1);
    CHECK(h->state().strokes[0].size() == 3);
    stroke(*h, 150, 30, 150, 270);
    CHECK(h->state().candidates.at(0) == "十");
    h->undo_stroke();
    CHECK(h->state().strokes.size() == 1);
    CHECK(among_first(h->state().candidates, "一", 3));
    for (int i = 0; i < 100; ++i) stroke(*h, 10, 10, 20, 20, 2);
    CHECK(h->state().strokes.size() == Handwriting::kMaxStrokes);
}

TEST_CASE("kiosk keyboard: --deploy-ime: a deploy killed half-way is redone from a clean folder") {
    // The kiosk binary in its own process, as at install (librime is one per process).
    test::TempDir data;
    std::string deploy = std::string(SHENBAO_KIOSK) + " --deploy-ime --data-dir " + data.path();
    auto r = test::run(deploy);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("pinyin data deployed in " + data.path() + "/rime") != std::string::npos);
    std::string dir = data.path() + "/rime", prism = dir + "/build/luna_pinyin_simp.prism.bin";
    REQUIRE(std::filesystem::exists(dir + "/shenbao-deployed.txt"));
    REQUIRE(std::filesystem::file_size(prism) > 1000);
    // Already deployed from the same data: nothing is rewritten.
    auto before = std::filesystem::last_write_time(prism);
    REQUIRE(test::run(deploy).exit_code == 0);
    CHECK(std::filesystem::last_write_time(prism) == before);
    // As after a power cut mid-deploy: no marker, a truncated binary.
    std::filesystem::remove(dir + "/shenbao-deployed.txt");
    std::filesystem::resize_file(prism, 0);
    r = test::run(deploy);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(std::filesystem::file_size(prism) > 1000);
    CHECK(std::filesystem::exists(dir + "/shenbao-deployed.txt"));
    // Without the data: exit code 4 and the package named.
    test::TempDir empty;
    r = test::run(std::string(SHENBAO_KIOSK) + " --deploy-ime --data-dir " + data.path() + " --rime-data " + empty.path());
    CHECK(r.exit_code == 4);
    CHECK(r.output.find("rime-prelude") != std::string::npos);
}
