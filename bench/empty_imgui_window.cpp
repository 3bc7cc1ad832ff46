// empty_imgui_window: the baseline for bench/kiosk_bench.py. An empty Dear ImGui
// window on GLFW + OpenGL 3, set up like shenbao-kiosk (same libraries, context,
// shader version and event-driven loop: it sleeps in glfwWaitEvents and draws two
// frames per input), so the kiosk's figures can be read as "what the kiosk adds".
//
// Usage: empty_imgui_window [--window WxH] [--ui-map FILE]
//   --ui-map FILE  after each drawn frame, atomically rewrite FILE with
//                  {"screen": "empty", "frame": N, "rects": {}} -- the same file the
//                  kiosk writes, so the benchmark times both the same way.
// Exit codes: 0 closed, 1 bad usage, 3 no display.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>

namespace {

void write_ui_map(const std::string& path, long frame) {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) return;
    std::fprintf(f, "{\"frame\":%ld,\"rects\":{},\"screen\":\"empty\"}", frame);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
}

int usage() {
    std::fprintf(stderr, "usage: empty_imgui_window [--window WxH] [--ui-map FILE]\n");
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    int w = 1920, h = 1080;
    std::string ui_map;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--window") && i + 1 < argc) {
            if (std::sscanf(argv[++i], "%dx%d", &w, &h) != 2) return usage();
        } else if (!std::strcmp(argv[i], "--ui-map") && i + 1 < argc) {
            ui_map = argv[++i];
        } else {
            return usage();
        }
    }
    if (!glfwInit()) {
        std::fprintf(stderr, "empty_imgui_window: no display (try xvfb-run)\n");
        return 3;
    }
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    GLFWwindow* window = glfwCreateWindow(w, h, "empty", nullptr, nullptr);
    if (!window) {
        glfwTerminate();
        return 3;
    }
    glfwMakeContextCurrent(window);
    glfwSwapInterval(1);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    ImGui_ImplOpenGL3_Init("#version 130");

    long frame = 0;
    int frames_wanted = 3;
    while (!glfwWindowShouldClose(window)) {
        if (frames_wanted <= 0) {
            glfwWaitEvents();
            frames_wanted = 2;
        } else {
            glfwPollEvents();
        }
        int fw, fh;
        glfwGetFramebufferSize(window, &fw, &fh);
        ImGui_ImplOpenGL3_NewFrame();
        ImGui_ImplGlfw_NewFrame();
        ImGui::NewFrame();
        ImGui::SetNextWindowPos(ImVec2(0, 0));
        ImGui::SetNextWindowSize(ImVec2(static_cast<float>(fw), static_cast<float>(fh)));
        ImGui::Begin("empty", nullptr, ImGuiWindowFlags_NoDecoration);
        ImGui::End();
        ImGui::Render();
        glViewport(0, 0, fw, fh);
        glClearColor(0.98f, 0.98f, 0.97f, 1);
        glClear(GL_COLOR_BUFFER_BIT);
        ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
        glfwSwapBuffers(window);
        ++frame;
        --frames_wanted;
        if (!ui_map.empty()) write_ui_map(ui_map, frame);
    }
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window);
    glfwTerminate();
    return 0;
}
