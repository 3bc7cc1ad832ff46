// Store benchmark: field-save latency and bulk records/s of the SQLCipher store,
// against the same schema in plain SQLite, with the disk's raw fsync latency as
// the floor — all measured in this run, printed as ratios.
//   bench_store [--saves N] [--records N] [--dir PATH]
// Targets (issue 2): p99 field save within 4x the fsync floor; SQLCipher at most 1.5x plain SQLite.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "shenbao/form.h"
#include "shenbao/generator.h"
#include "shenbao/store.h"

using namespace shenbao;
using Clock = std::chrono::steady_clock;

namespace {

struct Percentiles {
    double p50, p99;
};

Percentiles percentiles(std::vector<double> us) {
    std::sort(us.begin(), us.end());
    auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))]; };
    return {at(0.50), at(0.99)};
}

double since_us(Clock::time_point t) { return std::chrono::duration<double, std::micro>(Clock::now() - t).count(); }

std::unique_ptr<Store> fresh_store(const std::string& path, bool encrypted) {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
    StoreOptions o;
    o.unencrypted_for_benchmark = !encrypted;
    return Store::create(path, generate_store_key(), o).value();
}

// Field saves as the kiosk makes them (one field, one durable transaction), on a
// plain and an encrypted store, interleaved with the fsync floor probe so that
// background noise on this shared machine hits all three alike.
struct SaveRun {
    std::unique_ptr<Store> store;
    std::string id;
    std::vector<double> us;
};

SaveRun field_save_run(const std::string& path, bool encrypted, const nlohmann::json& app) {
    SaveRun r{fresh_store(path, encrypted), "", {}};
    r.id = r.store->create_record("alliance-2022", 1).value().id;
    if (!r.store->save_fields(r.id, app).ok()) std::abort();
    return r;
}

struct SaveFigures {
    Percentiles floor, plain, enc;
};

SaveFigures field_saves(const std::string& dir, const nlohmann::json& app, int n) {
    std::vector<std::string> keys;
    for (auto it = app.begin(); it != app.end(); ++it)
        if (it.value().is_string() && it.value().get<std::string>().size() < 200) keys.push_back(it.key());
    SaveRun plain = field_save_run(dir + "/plain.db", false, app);
    SaveRun enc = field_save_run(dir + "/enc.db", true, app);
    std::string probe = dir + "/fsync-probe";
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<double> floor_us;
    char buf[200];
    std::memset(buf, 'x', sizeof buf);
    for (int i = 0; i < n; ++i) {
        const std::string& k = keys[static_cast<std::size_t>(i) % keys.size()];
        std::string v = app[k].get<std::string>() + std::to_string(i);
        auto t = Clock::now();
        // The floor: append 200 bytes and fdatasync, the least a WAL commit must do.
        if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf) || ::fdatasync(fd) != 0) std::perror("fsync probe");
        floor_us.push_back(since_us(t));
        for (SaveRun* r : {&plain, &enc}) {
            t = Clock::now();
            if (!r->store->save_field(r->id, k, v).ok()) std::abort();
            r->us.push_back(since_us(t));
        }
    }
    ::close(fd);
    ::unlink(probe.c_str());
    return {percentiles(floor_us), percentiles(plain.us), percentiles(enc.us)};
}

// Whole applications: create, save all fields, submit (three transactions each),
// alternating between the plain and the encrypted store. Returns records/s of each.
std::pair<double, double> bulk_records_per_s(const std::string& dir, const std::vector<nlohmann::json>& apps) {
    auto plain = fresh_store(dir + "/plain-bulk.db", false);
    auto enc = fresh_store(dir + "/enc-bulk.db", true);
    double plain_us = 0, enc_us = 0;
    for (const auto& app : apps)
        for (Store* s : {plain.get(), enc.get()}) {
            auto t = Clock::now();
            auto id = s->create_record("alliance-2022", 1).value().id;
            if (!s->save_fields(id, app).ok() || !s->set_status(id, RecordStatus::Submitted, "bench").ok()) std::abort();
            (s == plain.get() ? plain_us : enc_us) += since_us(t);
        }
    double n = static_cast<double>(apps.size());
    return {n / (plain_us / 1e6), n / (enc_us / 1e6)};
}

}  // namespace

int main(int argc, char** argv) {
    int saves = 3000, records = 300;
    std::string dir = std::filesystem::temp_directory_path().string();
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--saves")) saves = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--records")) records = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    std::string work = dir + "/shenbao-bench-" + std::to_string(::getpid());
    std::filesystem::create_directories(work);
    auto form = load_form(bundled_form_path("alliance-2022"));
    if (!form.ok()) { std::fprintf(stderr, "%s\n", form.error().message.c_str()); return 1; }
    std::vector<nlohmann::json> apps;
    for (int i = 0; i < records; ++i) apps.push_back(generate_application(*form, static_cast<std::uint64_t>(i)));

    std::printf("store benchmark: %d field saves, %d applications (avg %zu bytes of JSON), folder %s\n\n", saves, records,
                apps[0].dump().size(), work.c_str());
    SaveFigures saves_fig = field_saves(work, apps[0], saves);
    Percentiles floor = saves_fig.floor, plain = saves_fig.plain, enc = saves_fig.enc;
    auto [plain_rps, enc_rps] = bulk_records_per_s(work, apps);
    std::filesystem::remove_all(work);

    std::printf("%-34s %10s %10s\n", "field save latency (us)", "p50", "p99");
    std::printf("%-34s %10.0f %10.0f\n", "fsync floor (200 B + fdatasync)", floor.p50, floor.p99);
    std::printf("%-34s %10.0f %10.0f\n", "plain SQLite (same schema)", plain.p50, plain.p99);
    std::printf("%-34s %10.0f %10.0f\n", "SQLCipher store", enc.p50, enc.p99);
    std::printf("\n%-34s %10s\n", "bulk (create + fields + submit)", "records/s");
    std::printf("%-34s %10.0f\n", "plain SQLite", plain_rps);
    std::printf("%-34s %10.0f\n", "SQLCipher store", enc_rps);
    double save_vs_floor = enc.p99 / floor.p99;
    double p99_vs_plain = enc.p99 / plain.p99;
    double bulk_vs_plain = plain_rps / enc_rps;
    std::printf("\nratios                                  value   target\n");
    std::printf("SQLCipher p99 save / fsync p99        %6.2fx   <= 4.0x  %s\n", save_vs_floor, save_vs_floor <= 4.0 ? "met" : "MISSED");
    std::printf("SQLCipher p99 save / plain p99        %6.2fx   <= 1.5x  %s\n", p99_vs_plain, p99_vs_plain <= 1.5 ? "met" : "MISSED");
    std::printf("plain bulk rate / SQLCipher bulk rate %6.2fx   <= 1.5x  %s\n", bulk_vs_plain, bulk_vs_plain <= 1.5 ? "met" : "MISSED");
    return 0;
}
