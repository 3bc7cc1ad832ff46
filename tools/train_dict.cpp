// train_dict: trains the zstd dictionary batches are compressed with, from
// generated applications framed exactly as a batch frames them, and writes it
// to <out>/<id>.zdict (the id is the one zstd stores in the dictionary).
// It then prints how much the dictionary saves on 1- and 50-record batches of
// applications it was not trained on.
//
// Exit codes: 0 ok · 1 bad usage · 2 a form definition or dictionary cannot be loaded ·
// 3 training failed · 4 the dictionary cannot be written.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <zdict.h>

#include "shenbao/batch.h"
#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/store.h"
#include "shenbao/store_files.h"

namespace {

using namespace shenbao;

// A submitted record of `form` with generated data, as the kiosk would send it.
Record make_record(const FormDefinition& form, std::uint64_t seed) {
    Record r;
    r.meta.id = new_ulid();
    r.meta.form_id = form.form_id;
    r.meta.form_version = form.version;
    r.meta.status = RecordStatus::Submitted;
    r.meta.submitted_ms = now_ms();
    r.data = generate_application(form, seed);
    r.meta.content_hash = content_hash_of(r.data);
    return r;
}

std::string frames_of(const std::vector<FormDefinition>& forms, std::uint64_t first_seed, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += frame_record(make_record(forms[i % forms.size()], first_seed + i)).value();
    return out;
}

void report(const std::vector<FormDefinition>& forms, const BatchDictionary& dict, std::size_t records, int level) {
    std::string plain = frames_of(forms, 0, records);  // seeds 0.. : not the training seeds
    auto with = compress_payload(as_bytes(plain), &dict, level);
    auto without = compress_payload(as_bytes(plain), nullptr, level);
    if (!with.ok() || !without.ok()) return;
    double a = static_cast<double>(plain.size()), w = static_cast<double>(with.value().size()),
           wo = static_cast<double>(without.value().size());
    std::printf("%4zu record(s), level %2d: plaintext %9zu B | zstd %8zu B (%.2fx) | zstd+dict %8zu B (%.2fx) | dict saves %.1f%%\n",
                records, level, plain.size(), without.value().size(), a / wo, with.value().size(), a / w,
                100.0 * (1.0 - w / wo));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Trains the zstd dictionary for Shenbao batches from generated applications."};
    std::size_t count = 2000;
    std::size_t dict_size = 110 * 1024;
    std::uint64_t seed = 1'000'000;
    std::string out_dir = dictionary_dir();
    std::vector<std::string> form_ids;
    bool report_only = false;
    std::uint32_t report_id = kCurrentDictionaryId;
    app.add_option("-n,--count", count, "applications to train on")->capture_default_str();
    app.add_option("--size", dict_size, "dictionary capacity in bytes")->capture_default_str();
    app.add_option("--seed", seed, "first generator seed (evaluation uses seeds from 0, so keep these apart)")
        ->capture_default_str();
    app.add_option("--out", out_dir, "folder to write <id>.zdict into")->capture_default_str();
    app.add_option("--form", form_ids, "form id to train on (repeatable; default: every form in assets/forms)");
    app.add_flag("--report-only", report_only, "only print the figures for the dictionary --id");
    app.add_option("--id", report_id, "dictionary id for --report-only")->capture_default_str();
    app.set_version_flag("--version", std::string("train_dict ") + SHENBAO_VERSION);
    app.footer("Exit codes: 0 ok, 1 bad usage, 2 a form definition or dictionary cannot be loaded, "
               "3 training failed, 4 the dictionary cannot be written.");
    CLI11_PARSE(app, argc, argv);

    if (form_ids.empty()) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(assets_dir() + "/forms", ec))
            if (e.path().extension() == ".json") form_ids.push_back(e.path().stem().string());
        std::sort(form_ids.begin(), form_ids.end());
    }
    std::vector<FormDefinition> forms;
    for (const std::string& id : form_ids) {
        auto f = load_form(bundled_form_path(id));
        if (!f.ok()) {
            std::cerr << "train_dict: " << f.error().message << "\n";
            return 2;
        }
        forms.push_back(std::move(f.value()));
    }
    if (forms.empty()) {
        std::cerr << "train_dict: no form definitions in " << assets_dir() << "/forms\n";
        return 2;
    }

    if (report_only) {
        auto dict = load_dictionary(report_id, out_dir);
        if (!dict.ok()) {
            std::cerr << "train_dict: " << dict.error().message << "\n";
            return 2;
        }
        for (int level : {3, kBatchDefaultLevel})
            for (std::size_t n : {1, 50}) report(forms, *dict.value(), n, level);
        return 0;
    }

    std::string samples;
    std::vector<size_t> sizes;
    for (std::size_t i = 0; i < count; ++i) {
        auto frame = frame_record(make_record(forms[i % forms.size()], seed + i));
        if (!frame.ok()) {
            std::cerr << "train_dict: " << frame.error().message << "\n";
            return 3;
        }
        samples += frame.value();
        sizes.push_back(frame.value().size());
    }
    std::string dict(dict_size, '\0');
    size_t n = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sizes.data(), static_cast<unsigned>(sizes.size()));
    if (ZDICT_isError(n)) {
        std::cerr << "train_dict: zstd training failed: " << ZDICT_getErrorName(n) << "\n";
        return 3;
    }
    dict.resize(n);
    auto loaded = BatchDictionary::from_bytes(dict, "the trained dictionary");
    if (!loaded.ok()) {
        std::cerr << "train_dict: " << loaded.error().message << "\n";
        return 3;
    }
    const std::uint32_t id = loaded.value()->id();
    if (Status st = ensure_dir(out_dir); !st.ok()) {
        std::cerr << "train_dict: " << st.error().message << "\n";
        return 4;
    }
    const std::string path = out_dir + "/" + std::to_string(id) + ".zdict";
    if (Status st = write_file_atomic(path, dict); !st.ok()) {
        std::cerr << "train_dict: " << st.error().message << "\n";
        return 4;
    }
    std::printf("trained on %zu applications (%zu bytes of frames, seeds %llu..%llu, forms:", count, samples.size(),
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed + count - 1));
    for (const FormDefinition& f : forms) std::printf(" %s v%d", f.form_id.c_str(), f.version);
    std::printf(")\nwrote %s: dictionary id %u, %zu bytes\n", path.c_str(), id, dict.size());
    for (int level : {3, kBatchDefaultLevel})
        for (std::size_t records : {1, 50}) report(forms, *loaded.value(), records, level);
    return 0;
}
