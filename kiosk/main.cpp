// shenbao-kiosk: the touchscreen application. Sets up GLFW + OpenGL 3 + Dear
// ImGui, opens the store, and runs the frame loop, drawing only when input,
// a pending save or the idle countdown needs a frame.
// Exit codes: 0 closed normally, 1 bad usage, 3 no display (try xvfb-run),
// 4 --deploy-ime failed.
#include <malloc.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>

#include "fonts.h"
#include "input_engine.h"
#include "keyboard.h"
#include "kiosk_model.h"
#include "shenbao/paper.h"
#include "shenbao/store_files.h"
#include "ui.h"

using namespace shenbao;
using namespace shenbao::kiosk;

namespace {

FontAtlas* g_atlas = nullptr;

// Chained before ImGui's own callback: characters typed that the atlas lacks are queued.
void on_char(GLFWwindow*, unsigned int c) {
    if (g_atlas) g_atlas->want(c);
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#ifndef GL_R8
#define GL_R8 0x8229
#endif
#ifndef GL_TEXTURE_SWIZZLE_RGBA
#define GL_TEXTURE_SWIZZLE_RGBA 0x8E46
#endif

// Uploads the font atlas as a one-channel texture, swizzled to white with the glyph as
// alpha (what the backend's RGBA32 texture holds), replacing `old`. A quarter of the
// memory: the CJK atlas is ~4 MB instead of ~16 MB, and llvmpipe keeps textures in the
// kiosk's own memory. The atlas' CPU pixels must still be there (before ClearTexData).
GLuint upload_font_texture(GLuint old) {
    ImGuiIO& io = ImGui::GetIO();
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsAlpha8(&pixels, &w, &h);
    if (old) glDeleteTextures(1, &old);
    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, w, h, 0, GL_RED, GL_UNSIGNED_BYTE, pixels);
    const GLint swizzle[] = {GL_ONE, GL_ONE, GL_ONE, GL_RED};
    glTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_SWIZZLE_RGBA, swizzle);
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(tex)));
    return tex;
}

// Writes the UI map (screen name + widget rectangles) atomically, for the GUI test.
// `frame_ms`: how long that frame took, from the events it read to its buffer swap.
void write_ui_map(const std::string& path, const Ui& ui, long frame, double frame_ms) {
    nlohmann::json j;
    j["screen"] = ui.screen_name;
    j["frame"] = frame;
    j["frame_ms"] = std::round(frame_ms * 10) / 10;
    for (const auto& [name, r] : ui.rects) j["rects"][name] = {r.x, r.y, r.z, r.w};
    for (const auto& [name, text] : ui.labels) j["labels"][name] = text;
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump();
    }
    std::rename(tmp.c_str(), path.c_str());
}

// The keyboard's engines, loaded off the frame loop: a Rime deploy takes seconds on a
// slow terminal (none when --deploy-ime ran at install), the handwriting model ~26 MB.
struct EngineLoader {
    std::mutex mu;
    InputEngines loaded;
    std::atomic<bool> done{false};
    std::thread thread;

    void start(const std::string& rime_shared, const std::string& rime_user, const std::string& model) {
        thread = std::thread([this, rime_shared, rime_user, model] {
            InputEngines e;
            try {  // librime is C++ inside: nothing it throws may take the kiosk down
                if (auto st = PinyinEngine::deploy(rime_shared, rime_user); !st.ok()) {
                    e.pinyin_problem = st.error().message;
                } else if (auto p = PinyinEngine::open(rime_shared, rime_user); p.ok()) {
                    e.pinyin = std::move(p.value());
                } else {
                    e.pinyin_problem = p.error().message;
                }
            } catch (const std::exception& x) {
                e.pinyin = nullptr;
                e.pinyin_problem = std::string("pinyin input is off: librime failed (") + x.what() + ") on " + rime_user +
                                   "; run shenbao-kiosk --deploy-ime";
            }
            // Checked now (opened and closed); the keyboard opens it again on first use.
            e.handwriting_model = model;
            if (auto h = Handwriting::open(model); h.ok()) e.handwriting_available = true;
            else e.handwriting_problem = h.error().message;
            {
                std::lock_guard lock(mu);
                loaded = std::move(e);
            }
            done = true;
            glfwPostEmptyEvent();  // wake the frame loop to take them
        });
    }
    // Moves the loaded engines into `into` once, on the frame loop's thread.
    bool take(InputEngines& into) {
        if (!done || !thread.joinable()) return false;
        thread.join();
        std::lock_guard lock(mu);
        into.pinyin = std::move(loaded.pinyin);
        into.handwriting_model = loaded.handwriting_model;
        into.handwriting_available = loaded.handwriting_available;
        into.pinyin_problem = loaded.pinyin_problem;
        into.handwriting_problem = loaded.handwriting_problem;
        into.pinyin_pending = false;
        return true;
    }
    ~EngineLoader() {
        if (thread.joinable()) thread.join();
    }
};

void style(float scale) {
    ImGui::StyleColorsLight();
    ImGuiStyle& s = ImGui::GetStyle();
    s.FramePadding = ImVec2(14, 10);
    s.ItemSpacing = ImVec2(12, 12);
    s.WindowPadding = ImVec2(20, 16);
    s.FrameRounding = 8;
    s.ChildRounding = 8;
    s.GrabMinSize = 30;
    s.ScrollbarSize = 28;
    s.FrameBorderSize = 1;
    s.Colors[ImGuiCol_WindowBg] = ImVec4(0.98f, 0.98f, 0.97f, 1);
    s.Colors[ImGuiCol_FrameBg] = ImVec4(1, 1, 1, 1);
    s.Colors[ImGuiCol_Button] = ImVec4(0.90f, 0.92f, 0.95f, 1);
    s.ScaleAllSizes(scale);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"shenbao-kiosk — the touchscreen application for filling in applications"};
    app.set_version_flag("--version", std::string("shenbao-kiosk ") + SHENBAO_VERSION);
    app.footer("Data folder: $SHENBAO_DATA_DIR, else $XDG_DATA_HOME/shenbao, else ~/.local/share/shenbao.\n"
               "Without a display: xvfb-run -a -s '-screen 0 1920x1080x24' shenbao-kiosk\n"
               "Exit codes: 0 closed, 1 bad usage, 3 no display, 4 --deploy-ime failed.");
    std::string data_dir = default_data_dir(), store_path, key_path, form_id = "alliance-2022", ui_map;
    std::string window_size, rime_data = kRimeSharedDir, hand_model = kZinniaModel;
    bool deploy_ime = false, no_keyboard = false;
    app.add_option("--data-dir", data_dir, "Folder holding store.db and store.key (created on first run)");
    app.add_option("--store", store_path, "Store file (default: <data-dir>/store.db)");
    app.add_option("--key-file", key_path, "Key file (default: <data-dir>/store.key)");
    app.add_option("--form", form_id, "Form id under assets/forms/")->capture_default_str();
    app.add_option("--window", window_size, "Run in a window of WxH pixels instead of fullscreen, e.g. 1366x768");
    app.add_option("--ui-map", ui_map, "Write the widget rectangles of each drawn frame to this JSON file (for tests)");
    app.add_flag("--deploy-ime", deploy_ime, "Deploy the pinyin data into <data-dir>/rime and exit (at install; takes seconds)");
    app.add_option("--rime-data", rime_data, "Rime shared data folder (rime-data-luna-pinyin)")->capture_default_str();
    app.add_option("--handwriting-model", hand_model, "zinnia model (tegaki-zinnia-simplified-chinese)")->capture_default_str();
    app.add_flag("--no-keyboard", no_keyboard, "No on-screen keyboard (a physical keyboard only)");
    CLI11_PARSE(app, argc, argv);
    std::string rime_user = data_dir + "/rime";
    if (deploy_ime) {
        if (auto st = ensure_dir(data_dir); !st.ok()) {
            std::fprintf(stderr, "shenbao-kiosk: %s\n", st.error().message.c_str());
            return 4;
        }
        if (auto st = PinyinEngine::deploy(rime_data, rime_user); !st.ok()) {
            std::fprintf(stderr, "shenbao-kiosk: %s\n", st.error().message.c_str());
            return 4;
        }
        std::printf("pinyin data deployed in %s\n", rime_user.c_str());
        return 0;
    }

    auto form = load_form(bundled_form_path(form_id));
    if (!form.ok()) {
        std::fprintf(stderr, "shenbao-kiosk: %s\n", form.error().message.c_str());
        return 1;
    }
    if (store_path.empty()) store_path = store_path_in(data_dir);
    if (key_path.empty()) key_path = key_path_in(data_dir);

    if (!glfwInit()) {
        std::fprintf(stderr, "shenbao-kiosk: no display found (DISPLAY is %s).\n"
                             "Run it under a virtual display instead:\n"
                             "  xvfb-run -a -s '-screen 0 1920x1080x24' %s\n",
                     std::getenv("DISPLAY") ? std::getenv("DISPLAY") : "unset", argv[0]);
        return 3;
    }
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    GLFWmonitor* monitor = glfwGetPrimaryMonitor();
    const GLFWvidmode* mode = monitor ? glfwGetVideoMode(monitor) : nullptr;
    int w = mode ? mode->width : 1366, h = mode ? mode->height : 768;
    bool windowed = !window_size.empty();
    if (windowed && std::sscanf(window_size.c_str(), "%dx%d", &w, &h) != 2) {
        std::fprintf(stderr, "shenbao-kiosk: --window takes WxH, e.g. 1366x768\n");
        return 1;
    }
    GLFWwindow* window = glfwCreateWindow(w, h, "申报 Shenbao", windowed ? nullptr : monitor, nullptr);
    if (!window) {
        std::fprintf(stderr, "shenbao-kiosk: cannot open an OpenGL 3 window on this display\n");
        glfwTerminate();
        return 3;
    }
    glfwMakeContextCurrent(window);
    glfwSwapInterval(1);

    // The store: a failure is a staff-facing screen, not a crash.
    std::unique_ptr<Store> store;
    std::string fatal;
    if (auto st = ensure_dir(data_dir); !st.ok()) fatal = st.error().message;
    if (fatal.empty()) {
        auto s = open_store(store_path, key_path, true);
        if (s.ok()) store = std::move(s.value());
        else fatal = s.error().message;
    }
    KioskModel model(store.get(), *form, steady_ms, fatal);
    model.set_default_export_dir(default_export_dir(data_dir));

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // nothing of a session is written outside the store
    io.ConfigInputTextCursorBlink = false;  // a blinking caret would need frames forever
    glfwSetCharCallback(window, on_char);
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    ImGui_ImplOpenGL3_Init("#version 130");

    Ui ui;
    ui.width = static_cast<float>(w);
    ui.height = static_cast<float>(h);
    ui.scale = std::max(0.72f, ui.height / 1080.0f);
    ui.target = 56.0f * ui.scale;
    style(ui.scale);
    FontAtlas atlas;
    g_atlas = &atlas;
    set_glyph_sink([](const std::string& utf8) {
        if (g_atlas) g_atlas->want(utf8);
    });
    std::string font = FontAtlas::find_font();
    if (font.empty()) std::fprintf(stderr, "shenbao-kiosk: no CJK font found; install fonts-noto-cjk\n");
    atlas.init(*form, std::round(28.0f * ui.scale), font);

    InputEngines engines;
    Keyboard keyboard(engines);
    EngineLoader loader;
    if (!no_keyboard && fatal.empty()) {
        engines.pinyin_pending = true;
        ui.keyboard = &keyboard;
        loader.start(rime_data, rime_user, hand_model);
    }

    long frame = 0;
    bool atlas_in_memory = true;
    GLuint font_texture = 0;
    int frames_wanted = 3;  // ImGui settles layout over a couple of frames
    std::string seen_record;
    while (!glfwWindowShouldClose(window)) {
        // Sleep until input, a save deadline or the countdown needs us.
        if (frames_wanted <= 0) {
            auto wake = model.next_wakeup();
            double timeout = wake ? std::max(0.0, static_cast<double>(*wake - steady_ms()) / 1000.0) : 3600.0;
            glfwWaitEventsTimeout(std::min(timeout, 3600.0));
            frames_wanted = 3;
        } else {
            glfwPollEvents();
        }
        auto frame_start = std::chrono::steady_clock::now();
        model.tick();
        if (loader.take(engines)) {
            ui.input_problems.clear();
            for (const std::string* p : {&engines.pinyin_problem, &engines.handwriting_problem})
                if (!p->empty()) {
                    std::fprintf(stderr, "shenbao-kiosk: %s\n", p->c_str());
                    ui.input_problems.push_back(*p);
                    atlas.want("屏幕键盘：" + *p);  // the staff screen's line (屏 is outside the common range)
                }
            frames_wanted = std::max(frames_wanted, 2);
        }
        if (model.record_id() != seen_record) {  // a resumed record may hold characters the atlas lacks
            seen_record = model.record_id();
            for (auto it = model.values().begin(); it != model.values().end(); ++it) atlas.want(it->dump());
        }
        if (atlas.needs_rebuild()) {
            atlas.rebuild();
            font_texture = upload_font_texture(font_texture);
            atlas_in_memory = true;
            frames_wanted = std::max(frames_wanted, 2);  // the frame that asked for glyphs is redrawn with them
        }
        int fw, fh;
        glfwGetFramebufferSize(window, &fw, &fh);
        ui.width = static_cast<float>(fw);
        ui.height = static_cast<float>(fh);
        ImGui_ImplOpenGL3_NewFrame();  // the first makes the backend's objects, an RGBA font texture among them
        if (!font_texture) {  // ... which the one-channel texture replaces
            ImGui_ImplOpenGL3_DestroyFontsTexture();
            font_texture = upload_font_texture(0);
        }
        if (atlas_in_memory) {
            // Once on the GPU, the CPU copies of the atlas (~16 MB RGBA) and the font
            // file (~20 MB) are dead weight on a 2 GB terminal; a rebuild reloads the file.
            io.Fonts->ClearTexData();
            io.Fonts->ClearInputData();
            malloc_trim(0);  // give those pages back to the system, not to malloc's free lists
            atlas_in_memory = false;
        }
        ImGui_ImplGlfw_NewFrame();
        ImGui::NewFrame();
        Screen before = model.screen();
        draw_kiosk(model, ui);
        ImGui::Render();
        glViewport(0, 0, fw, fh);
        glClearColor(0.98f, 0.98f, 0.97f, 1);
        glClear(GL_COLOR_BUFFER_BIT);
        ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
        glfwSwapBuffers(window);
        ++frame;
        --frames_wanted;
        // A new screen lays out over a frame or two; otherwise only events and deadlines wake us,
        // so an idle kiosk (even with a text field focused) draws nothing.
        // A touch arrives as move + press + release in one batch; ImGui needs a few frames to
        // turn that into a click, and a held finger (drag-scroll, a pressed button) needs frames too.
        bool busy = ImGui::IsAnyMouseDown() || (ImGui::IsAnyItemActive() && !io.WantTextInput);
        if (model.screen() != before || busy || keyboard.take_redraw() || ui.relayout) frames_wanted = std::max(frames_wanted, 2);
        if (!ui_map.empty())
            write_ui_map(ui_map, ui, frame, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - frame_start).count());
    }
    model.end_session();  // flushes pending saves
    if (font_texture) glDeleteTextures(1, &font_texture);
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window);
    glfwTerminate();
    return 0;
}
