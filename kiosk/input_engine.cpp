// [SECTION] Layouts   [SECTION] Rime data   [SECTION] Pinyin   [SECTION] Handwriting
#include "input_engine.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <rime_api.h>
#include <zinnia.h>

namespace shenbao::kiosk {

namespace fs = std::filesystem;

// [SECTION] Layouts

Layout layout_for(FieldType type) {
    switch (type) {
        case FieldType::Integer: case FieldType::Decimal: case FieldType::Money:
        case FieldType::Phone: case FieldType::PostalCode: case FieldType::Date:
            return Layout::Numbers;
        case FieldType::Email: case FieldType::Url: return Layout::Latin;
        default: return Layout::Pinyin;
    }
}

std::string number_keys_for(FieldType type) {
    switch (type) {
        case FieldType::PostalCode: return "1234567890";
        case FieldType::Integer: return "1234567890-";
        case FieldType::Phone: case FieldType::Date: return "1234567890-";
        default: return "1234567890.-";
    }
}

// [SECTION] Rime data

namespace {

// What a luna_pinyin_simp deploy reads, and which Debian package ships it.
struct NeededFile {
    const char* name;
    const char* package;
};
constexpr NeededFile kRimeFiles[] = {
    {"default.yaml", "rime-prelude"},
    {"luna_pinyin_simp.schema.yaml", "rime-data-luna-pinyin"},
    {"luna_pinyin.dict.yaml", "rime-data-luna-pinyin"},
    {"stroke.schema.yaml", "rime-data-stroke"},  // the schema's reverse lookup
    // Without the preset vocabulary the deploy rebuilds luna_pinyin's table with
    // single characters only, and whole-phrase conversion is lost.
    {"essay.txt", "rime-essay"},
};

// The kiosk's patches: one schema, a page of 8, and no learning at all, so nothing
// an applicant typed is ever offered to the next one.
constexpr const char* kDefaultPatch =
    "# Written by shenbao-kiosk; rewritten at every deploy.\n"
    "patch:\n"
    "  schema_list:\n"
    "    - schema: luna_pinyin_simp\n"
    "  menu/page_size: 8\n";
constexpr const char* kSchemaPatch =
    "# Written by shenbao-kiosk; rewritten at every deploy.\n"
    "# No user dictionary: a kiosk is shared, nothing typed may be learnt.\n"
    "patch:\n"
    "  translator/enable_user_dict: false\n";

Status write_if_changed(const fs::path& path, const std::string& text) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream old;
    old << in.rdbuf();
    if (in && old.str() == text) return ok_status();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Error{ErrorCode::Io, "cannot write " + path.string() + ": check the data folder is writable"};
    return ok_status();
}

// librime is one per process: set up once, initialised once, finalised at exit.
struct RimeProcess {
    std::mutex mu;
    bool setup = false;
    bool initialized = false;
    std::string shared_dir, user_dir;
    RimeTraits traits{};  // points into the strings above
};
RimeProcess& rime_process() {
    static RimeProcess p;
    return p;
}

// Sets up and initialises librime for these folders; the caller holds the mutex.
Status start_rime(RimeProcess& p, const std::string& shared_dir, const std::string& user_dir) {
    if (p.initialized) {
        if (p.user_dir != user_dir || p.shared_dir != shared_dir)
            return Error{ErrorCode::InvalidArgument, "librime is already running on " + p.user_dir + " (one folder per process)"};
        return ok_status();
    }
    p.shared_dir = shared_dir;  // the traits keep pointers to these strings
    p.user_dir = user_dir;
    RimeApi* api = rime_get_api();
    RIME_STRUCT_INIT(RimeTraits, p.traits);
    RimeTraits& traits = p.traits;
    traits.shared_data_dir = p.shared_dir.c_str();
    traits.user_data_dir = p.user_dir.c_str();
    traits.distribution_name = "Shenbao";
    traits.distribution_code_name = "shenbao-kiosk";
    traits.distribution_version = SHENBAO_VERSION;
    traits.app_name = "rime.shenbao";
    traits.min_log_level = 2;  // errors only: info lines would log what applicants type
    traits.log_dir = "";       // to stderr, never a file under /tmp
    if (!p.setup) {
        api->setup(&traits);
        p.setup = true;
    }
    api->initialize(&traits);
    p.initialized = true;
    return ok_status();
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// What a deploy was made from: the data files (size and time) and the kiosk's patches.
// A different stamp (a package upgrade, a new kiosk version) means deploy again.
std::string deploy_stamp(const std::string& shared_dir) {
    std::string s = std::string("shenbao-kiosk ") + SHENBAO_VERSION + "\n" + kDefaultPatch + kSchemaPatch;
    for (const NeededFile& f : kRimeFiles) {
        std::error_code ec;
        fs::path p = fs::path(shared_dir) / f.name;
        auto size = fs::file_size(p, ec);
        auto time = fs::last_write_time(p, ec).time_since_epoch().count();
        s += std::string(f.name) + " " + std::to_string(size) + " " + std::to_string(time) + "\n";
    }
    return s;
}

// Present in the Rime folder only after a complete deploy; holds its deploy_stamp().
constexpr const char* kDeployedMarker = "shenbao-deployed.txt";

}  // namespace

Status check_rime_data(const std::string& shared_dir) {
    for (const NeededFile& f : kRimeFiles) {
        fs::path p = fs::path(shared_dir) / f.name;
        if (::access(p.c_str(), R_OK) != 0)
            return Error{ErrorCode::NotFound, "pinyin input is off: " + p.string() + " is missing; install the Debian package " +
                                                  f.package + " (scripts/install-deps.sh), then run shenbao-kiosk --deploy-ime"};
    }
    return ok_status();
}

Status PinyinEngine::deploy(const std::string& shared_dir, const std::string& user_dir) {
    SHENBAO_TRY(check_rime_data(shared_dir));
    fs::path user(user_dir), marker = user / kDeployedMarker;
    std::string stamp = deploy_stamp(shared_dir);
    if (read_text(marker) == stamp && ::access((user / "build" / (std::string(kRimeSchema) + ".schema.yaml")).c_str(), R_OK) == 0)
        return ok_status();  // deployed from this very data: nothing to do, nothing rewritten
    // A deploy killed half-way (power cut, the kiosk stopped at start) leaves truncated
    // binary files that librime would map and fail on: start from a clean build folder.
    std::error_code ec;
    fs::remove(marker, ec);
    fs::remove_all(user / "build", ec);
    fs::create_directories(user, ec);
    if (ec) return Error{ErrorCode::Io, "cannot create the Rime folder " + user_dir + ": " + ec.message()};
    SHENBAO_TRY(write_if_changed(user / "default.custom.yaml", kDefaultPatch));
    SHENBAO_TRY(write_if_changed(user / (std::string(kRimeSchema) + ".custom.yaml"), kSchemaPatch));
    RimeProcess& p = rime_process();
    std::lock_guard lock(p.mu);
    SHENBAO_TRY(start_rime(p, shared_dir, user_dir));
    bool deployed = false;
    std::string why;
    try {
        // The deploy tasks live in librime's deployer modules, which initialize() does not
        // load; deploy() then runs them in this thread, so their exceptions reach us.
        rime_get_api()->deployer_initialize(&p.traits);
        deployed = rime_get_api()->deploy() != 0;
    } catch (const std::exception& e) {
        why = std::string(" (") + e.what() + ")";
    }
    fs::path built = user / "build" / (std::string(kRimeSchema) + ".schema.yaml");
    if (!deployed || ::access(built.c_str(), R_OK) != 0)
        return Error{ErrorCode::Io, "the Rime deploy into " + user_dir + " failed" + why +
                                        "; check the folder is writable, reinstall rime-data-luna-pinyin, then run "
                                        "shenbao-kiosk --deploy-ime"};
    // Written last, atomically: present only after a complete deploy.
    std::string tmp = marker.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << stamp;
    }
    if (std::rename(tmp.c_str(), marker.c_str()) != 0)
        return Error{ErrorCode::Io, "cannot write " + marker.string() + ": check the data folder is writable"};
    return ok_status();
}

Result<std::unique_ptr<PinyinEngine>> PinyinEngine::open(const std::string& shared_dir, const std::string& user_dir) {
    if (read_text(fs::path(user_dir) / kDeployedMarker).empty())
        return Error{ErrorCode::NotFound, "the Rime data is not deployed in " + user_dir + ": run shenbao-kiosk --deploy-ime"};
    RimeProcess& p = rime_process();
    {
        std::lock_guard lock(p.mu);
        SHENBAO_TRY(start_rime(p, shared_dir, user_dir));
    }
    std::unique_ptr<PinyinEngine> e(new PinyinEngine());
    bool ok = false;
    try {
        ok = e->ensure_session();
    } catch (const std::exception&) {
        ok = false;
    }
    if (!ok)
        return Error{ErrorCode::Io, std::string("librime cannot open the schema ") + kRimeSchema + " in " + user_dir +
                                        ": run shenbao-kiosk --deploy-ime"};
    return e;
}

PinyinEngine::~PinyinEngine() {
    if (session_) rime_get_api()->destroy_session(session_);
}

bool PinyinEngine::ensure_session() {
    RimeApi* api = rime_get_api();
    if (session_ && api->find_session(session_)) return true;
    session_ = api->create_session();
    if (!session_) return false;
    if (!api->select_schema(session_, kRimeSchema)) return false;
    refresh();
    return true;
}

void PinyinEngine::refresh() {
    RimeApi* api = rime_get_api();
    std::uint64_t gen = state_.generation + 1;
    state_ = PinyinState{};
    state_.generation = gen;
    const char* input = api->get_input(session_);
    state_.input = input ? input : "";
    RIME_STRUCT(RimeContext, ctx);
    if (!api->get_context(session_, &ctx)) return;
    if (ctx.composition.preedit) state_.preedit = ctx.composition.preedit;
    for (int i = 0; i < ctx.menu.num_candidates; ++i) state_.candidates.emplace_back(ctx.menu.candidates[i].text);
    state_.page = ctx.menu.page_no;
    state_.last_page = ctx.menu.is_last_page != 0;
    api->free_context(&ctx);
}

void PinyinEngine::type(char letter) {
    if (letter < 'a' || letter > 'z') return;
    if (state_.input.size() >= kMaxComposition || !ensure_session()) return;
    rime_get_api()->process_key(session_, letter, 0);
    refresh();
}

bool PinyinEngine::backspace() {
    if (!state_.composing() || !ensure_session()) return false;
    rime_get_api()->process_key(session_, 0xff08 /* XK_BackSpace */, 0);
    refresh();
    return true;
}

bool PinyinEngine::next_page() {
    if (!state_.composing() || state_.last_page || !ensure_session()) return false;
    rime_get_api()->process_key(session_, 0xff56 /* XK_Page_Down */, 0);
    refresh();
    return true;
}

bool PinyinEngine::prev_page() {
    if (!state_.composing() || state_.page == 0 || !ensure_session()) return false;
    rime_get_api()->process_key(session_, 0xff55 /* XK_Page_Up */, 0);
    refresh();
    return true;
}

std::string PinyinEngine::select(int index, std::uint64_t generation) {
    if (generation != state_.generation || index < 0 || index >= static_cast<int>(state_.candidates.size())) return "";
    if (!ensure_session()) return "";
    RimeApi* api = rime_get_api();
    api->select_candidate_on_current_page(session_, static_cast<std::size_t>(index));
    std::string text;
    RIME_STRUCT(RimeCommit, commit);
    if (api->get_commit(session_, &commit)) {
        if (commit.text) text = commit.text;
        api->free_commit(&commit);
    }
    refresh();
    return text;
}

std::string PinyinEngine::commit_raw() {
    if (!state_.composing() || !ensure_session()) return "";
    RimeApi* api = rime_get_api();
    api->process_key(session_, 0xff0d /* XK_Return: commits the letters as typed */, 0);
    std::string text;
    RIME_STRUCT(RimeCommit, commit);
    if (api->get_commit(session_, &commit)) {
        if (commit.text) text = commit.text;
        api->free_commit(&commit);
    }
    api->clear_composition(session_);
    refresh();
    return text;
}

void PinyinEngine::reset() {
    RimeApi* api = rime_get_api();
    if (session_) api->destroy_session(session_);
    session_ = 0;
    ensure_session();
}

// [SECTION] Handwriting

Result<std::unique_ptr<Handwriting>> Handwriting::open(const std::string& model_path) {
    if (::access(model_path.c_str(), R_OK) != 0)
        return Error{ErrorCode::NotFound, "handwriting input is off: the model " + model_path +
                                              " is missing; install the Debian package tegaki-zinnia-simplified-chinese"};
    std::unique_ptr<Handwriting> h(new Handwriting());
    zinnia_recognizer_t* r = zinnia_recognizer_new();
    h->recognizer_ = r;
    if (!zinnia_recognizer_open(r, model_path.c_str()))
        return Error{ErrorCode::Io, "handwriting input is off: zinnia cannot read " + model_path + " (" +
                                        zinnia_recognizer_strerror(r) + "); reinstall tegaki-zinnia-simplified-chinese"};
    return h;
}

Handwriting::~Handwriting() {
    if (recognizer_) zinnia_recognizer_destroy(static_cast<zinnia_recognizer_t*>(recognizer_));
}

void Handwriting::set_pad_size(float width, float height) {
    if (width > 0 && height > 0) {
        width_ = width;
        height_ = height;
    }
}

void Handwriting::begin_stroke() {
    if (drawing_ || state_.strokes.size() >= kMaxStrokes) return;
    state_.strokes.emplace_back();
    drawing_ = true;
}

void Handwriting::add_point(float x, float y) {
    if (!drawing_ || x < 0 || y < 0 || x > width_ || y > height_) return;
    auto& s = state_.strokes.back();
    if (s.size() >= kMaxPoints) return;
    if (!s.empty() && s.back().first == x && s.back().second == y) return;
    s.emplace_back(x, y);
}

void Handwriting::end_stroke() {
    if (!drawing_) return;
    drawing_ = false;
    if (state_.strokes.back().empty()) {
        state_.strokes.pop_back();  // begun outside the pad: nothing to recognise
        return;
    }
    recognise();
}

void Handwriting::undo_stroke() {
    if (drawing_ || state_.strokes.empty()) return;
    state_.strokes.pop_back();
    recognise();
}

void Handwriting::clear() {
    drawing_ = false;
    state_.strokes.clear();
    state_.candidates.clear();
    ++state_.generation;
}

std::string Handwriting::select(int index, std::uint64_t generation) {
    if (generation != state_.generation || index < 0 || index >= static_cast<int>(state_.candidates.size())) return "";
    std::string text = state_.candidates[static_cast<std::size_t>(index)];
    clear();
    return text;
}

void Handwriting::recognise() {
    ++state_.generation;
    state_.candidates.clear();
    if (state_.strokes.empty()) return;
    // zinnia takes integer points in a box it normalises; 1000 units keep sub-pixel detail.
    constexpr float kUnits = 1000;
    float side = std::max(width_, height_);
    zinnia_character_t* ch = zinnia_character_new();
    zinnia_character_set_width(ch, static_cast<std::size_t>(kUnits));
    zinnia_character_set_height(ch, static_cast<std::size_t>(kUnits));
    for (std::size_t id = 0; id < state_.strokes.size(); ++id)
        for (const auto& [x, y] : state_.strokes[id])
            zinnia_character_add(ch, id, static_cast<int>(x / side * kUnits), static_cast<int>(y / side * kUnits));
    zinnia_result_t* r = zinnia_recognizer_classify(static_cast<zinnia_recognizer_t*>(recognizer_), ch, kCandidates);
    if (r) {
        for (std::size_t i = 0; i < zinnia_result_size(r); ++i) state_.candidates.emplace_back(zinnia_result_value(r, i));
        zinnia_result_destroy(r);
    }
    zinnia_character_destroy(ch);
}

}  // namespace shenbao::kiosk
