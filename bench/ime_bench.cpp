// bench_ime: the on-screen keyboard's engines in-process, with the real Debian data.
//   pinyin        one key tap -> Rime's new candidates (process_key + get_context), p50/p99,
//                 typing seed phrases letter by letter; beside it, the same loop on the
//                 Latin path (the key appended to the field text), measured in this run.
//   handwriting   stroke end -> zinnia's candidates (classify of all strokes so far), p50/p99.
//   memory        VmRSS before the engines (this process with its libraries) and after
//                 deploy + open + use: what the keyboard adds to the kiosk.
//   deploy        the Rime deploy into a fresh folder, and again when already deployed.
// Targets (issue 5): p99 < 30 ms pinyin, < 50 ms handwriting, <= 60 MB added.
// Asserts nothing; exit 1 only when it cannot measure (data missing).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "input_engine.h"

using namespace shenbao::kiosk;
using Clock = std::chrono::steady_clock;

namespace {

long rss_kb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100 * static_cast<double>(v.size() - 1) + 0.5))];
}

// Phrases of the seed notice, as an applicant would type them.
const char* kPhrases[] = {"chongqingshi", "chanyejishuchuangxinlianmeng", "qiantoudanwei", "jingjihexinxihuaweiyuanhui",
                          "shifanlianmeng", "shidianlianmeng", "chengyuandanwei", "zhishichanquan", "kejirenyuan",
                          "yanfatouru", "jianshe", "yunxingbaogao", "quxianjingxinwei", "tuijianhuizongbiao"};

struct Stroke {
    float x0, y0, x1, y1;
};
// Characters as strokes on a 300 x 300 pad.
const std::vector<std::vector<Stroke>> kChars = {
    {{40, 150, 260, 150}},                                                                  // 一
    {{40, 140, 260, 140}, {150, 30, 150, 270}},                                             // 十
    {{80, 100, 220, 100}, {40, 200, 260, 200}},                                             // 二
    {{70, 60, 230, 60}, {90, 150, 210, 150}, {40, 250, 260, 250}},                          // 三
    {{75, 60, 225, 60}, {90, 150, 210, 150}, {150, 60, 150, 240}, {60, 240, 240, 240}},     // 王
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bench_ime: pinyin and handwriting engine latency and memory (see the header of bench/ime_bench.cpp)"};
    int rounds = 20;
    app.add_option("--rounds", rounds, "times each phrase and character is entered")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    long rss_base = rss_kb();
    std::string dir = (std::filesystem::temp_directory_path() / ("bench-ime-" + std::to_string(::getpid()))).string();
    auto t0 = Clock::now();
    if (auto st = PinyinEngine::deploy(kRimeSharedDir, dir); !st.ok()) {
        std::fprintf(stderr, "bench_ime: %s\n", st.error().message.c_str());
        return 1;
    }
    double deploy_ms = ms_since(t0);
    t0 = Clock::now();
    (void)PinyinEngine::deploy(kRimeSharedDir, dir);
    double redeploy_ms = ms_since(t0);
    auto opened = PinyinEngine::open(kRimeSharedDir, dir);
    if (!opened.ok()) {
        std::fprintf(stderr, "bench_ime: %s\n", opened.error().message.c_str());
        return 1;
    }
    PinyinEngine& py = *opened.value();
    long rss_pinyin_open = rss_kb();

    std::vector<double> key_ms, latin_ms;
    std::size_t committed = 0;
    for (int r = 0; r < rounds; ++r)
        for (const char* phrase : kPhrases) {
            py.reset();
            for (const char* c = phrase; *c; ++c) {
                auto k0 = Clock::now();
                py.type(*c);
                key_ms.push_back(ms_since(k0));
            }
            committed += py.select(0, py.state().generation).size();
            // Baseline: the same taps on the Latin layout, which only append to the field text.
            std::string field;
            for (const char* c = phrase; *c; ++c) {
                auto k0 = Clock::now();
                field.push_back(*c);
                latin_ms.push_back(ms_since(k0));
            }
            committed += field.size();
        }
    long rss_pinyin = rss_kb();

    auto hw_open = Handwriting::open(kZinniaModel);
    if (!hw_open.ok()) {
        std::fprintf(stderr, "bench_ime: %s\n", hw_open.error().message.c_str());
        return 1;
    }
    Handwriting& hw = *hw_open.value();
    hw.set_pad_size(300, 300);
    long rss_hand_open = rss_kb();
    std::vector<double> stroke_ms;
    for (int r = 0; r < rounds; ++r)
        for (const auto& ch : kChars) {
            hw.clear();
            for (const Stroke& s : ch) {
                hw.begin_stroke();
                for (int i = 0; i <= 16; ++i) {
                    float t = static_cast<float>(i) / 16.0f;
                    hw.add_point(s.x0 + (s.x1 - s.x0) * t, s.y0 + (s.y1 - s.y0) * t);
                }
                auto k0 = Clock::now();
                hw.end_stroke();  // recognises
                stroke_ms.push_back(ms_since(k0));
            }
            committed += hw.state().candidates.size();
        }
    long rss_all = rss_kb();
    std::filesystem::remove_all(dir);

    auto verdict = [](bool ok) { return ok ? "meets target" : "MISSES target"; };
    std::printf("bench_ime: librime %s schema %s, zinnia %s; %d rounds (%zu keys, %zu strokes; %zu chars out)\n",
                "1.8", kRimeSchema, kZinniaModel, rounds, key_ms.size(), stroke_ms.size(), committed);
    std::printf("%-44s %12s %14s %10s %10s  %s\n", "figure", "keyboard", "baseline", "ratio", "target", "");
    std::printf("%-44s %10.3f ms %12.5f ms %9.0fx %10s  %s\n", "pinyin key -> candidates, p50 (vs Latin key)", pct(key_ms, 50),
                pct(latin_ms, 50), pct(key_ms, 50) / std::max(1e-6, pct(latin_ms, 50)), "", "");
    std::printf("%-44s %10.3f ms %12.5f ms %9.0fx %10s  %s\n", "pinyin key -> candidates, p99 (vs Latin key)", pct(key_ms, 99),
                pct(latin_ms, 99), pct(key_ms, 99) / std::max(1e-6, pct(latin_ms, 99)), "< 30 ms", verdict(pct(key_ms, 99) < 30));
    std::printf("%-44s %10.3f ms %14s %10s %10s  %s\n", "  worst pinyin key", pct(key_ms, 100), "", "", "", "");
    std::printf("%-44s %10.3f ms %14s %10s %10s  %s\n", "stroke end -> candidates, p50", pct(stroke_ms, 50), "", "", "", "");
    std::printf("%-44s %10.3f ms %14s %10s %10s  %s\n", "stroke end -> candidates, p99", pct(stroke_ms, 99), "", "", "< 50 ms",
                verdict(pct(stroke_ms, 99) < 50));
    std::printf("%-44s %10.1f MB %11.1f MB %+9.1f MB %10s  %s\n", "resident memory: engines open and used (vs none)",
                static_cast<double>(rss_all) / 1024, static_cast<double>(rss_base) / 1024,
                static_cast<double>(rss_all - rss_base) / 1024, "<= +60 MB", verdict(rss_all - rss_base <= 60 * 1024));
    std::printf("%-44s %+10.1f MB  (open %+.1f MB)\n", "  of which pinyin (Rime)", static_cast<double>(rss_pinyin - rss_base) / 1024,
                static_cast<double>(rss_pinyin_open - rss_base) / 1024);
    std::printf("%-44s %+10.1f MB  (open %+.1f MB)\n", "  of which handwriting (zinnia model)",
                static_cast<double>(rss_all - rss_pinyin) / 1024, static_cast<double>(rss_hand_open - rss_pinyin) / 1024);
    std::printf("%-44s %10.0f ms  (already deployed: %.0f ms)\n", "Rime deploy into a fresh folder", deploy_ms, redeploy_ms);
    return 0;
}
