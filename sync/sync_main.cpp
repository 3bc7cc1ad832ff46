// shenbao-sync: the kiosk's sync agent. `run-once` for a systemd timer or cron,
// `daemon` with its own window; see sync_agent.h for what a pass does.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <CLI/CLI.hpp>

#include "shenbao/batch.h"
#include "shenbao/store_files.h"
#include "sync_agent.h"
#include "sync_schedule.h"

using namespace shenbao;
using namespace shenbao::sync;

namespace {

CancelToken g_cancel;

// The agent reads each record once, in id order: a small page cache is enough,
// and it keeps the agent's memory small (the kiosk uses the store's default).
constexpr int kAgentStoreCacheKib = 2048;

extern "C" void on_stop_signal(int) { g_cancel.stop.store(true); }

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

void say(const std::string& line) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    std::fprintf(stderr, "%s shenbao-sync: %s\n", stamp, line.c_str());
    std::fflush(stderr);
}

std::string default_config_path() {
    if (const char* p = std::getenv("SHENBAO_SYNC_CONFIG"); p && *p) return p;
    return default_data_dir() + "/sync.json";
}

struct Loaded {
    SyncConfig config;
    std::unique_ptr<Store> store;
    KioskIdentity identity;
    std::shared_ptr<const BatchDictionary> dictionary;
};

// Loads the configuration, store, identity and dictionary; on failure prints why and returns the exit code.
int load_all(const std::string& config_path, Loaded& out) {
    auto c = load_sync_config(config_path);
    if (!c.ok()) {
        say("configuration: " + c.error().message);
        return kExitUsage;
    }
    out.config = std::move(c.value());
    StoreOptions small;
    small.cache_kib = kAgentStoreCacheKib;
    auto s = open_store(out.config.store_path, out.config.key_path, false, small);
    if (!s.ok()) {
        say("store: " + s.error().message);
        return kExitStore;
    }
    out.store = std::move(s.value());
    auto id = load_identity_for(out.config);
    if (!id.ok()) {
        say("identity: " + id.error().message);
        return kExitStore;
    }
    out.identity = id.value();
    auto d = load_dictionary(kCurrentDictionaryId);
    if (!d.ok()) {
        say("dictionary: " + d.error().message + " (is shenbao installed completely? $SHENBAO_ASSETS_DIR overrides where assets are)");
        return kExitError;
    }
    out.dictionary = d.value();
    return kExitOk;
}

SyncWindow current_window(Store& store, const SyncConfig& config, std::string& text) {
    text = config.window;
    if (auto v = store.setting("sync.window"); v.ok() && *v && parse_sync_window(**v)) text = **v;
    if (auto w = parse_sync_window(text)) return *w;
    text = "01:00-05:00";
    return *parse_sync_window(text);
}

int run_once(const std::string& config_path, bool respect_window) {
    Loaded l;
    if (int rc = load_all(config_path, l); rc != kExitOk) return rc;
    if (respect_window) {
        std::string text;
        SyncWindow w = current_window(*l.store, l.config, text);
        if (!w.contains(local_minute_of_day(std::time(nullptr)))) {
            say("outside the sync window " + text + "; nothing done (--now syncs regardless)");
            return kExitOk;
        }
    }
    SyncAgent agent(l.config, *l.store, l.identity, l.dictionary, &g_cancel, say);
    return agent.run_pass().exit_code();
}

int run_daemon(const std::string& config_path, bool now) {
    Loaded l;
    if (int rc = load_all(config_path, l); rc != kExitOk) return rc;
    SyncAgent agent(l.config, *l.store, l.identity, l.dictionary, &g_cancel, say);
    // Between passes after an outage: never longer than retry_max_ms (default one
    // minute), so a link that comes back is used within a minute, jittered so
    // kiosks that lost the link together do not return together.
    Backoff offline(RetryPolicy{1 << 30, l.config.retry.base_delay_ms, l.config.retry.max_delay_ms});
    bool force = now;
    std::string last_wait;
    say(std::string("daemon started (") + (now ? "syncing now, then " : "") + "window from the store's sync.window, else " +
        l.config.window + ")");
    while (!g_cancel.stop.load()) {
        std::string text;
        SyncWindow w = current_window(*l.store, l.config, text);
        int minute = local_minute_of_day(std::time(nullptr));
        if (!force && !w.contains(minute)) {
            int until = w.minutes_until_open(minute);
            std::string note = "outside the sync window " + text + "; opens in " + std::to_string(until) + " min";
            if (note.substr(0, note.find(';')) != last_wait) say(note);
            last_wait = note.substr(0, note.find(';'));
            // Wake every window_check_s (a minute) at most: staff may change the window meanwhile.
            g_cancel.sleep_for(std::min<std::int64_t>(l.config.window_check_s * 1000, std::int64_t{until} * 60'000));
            continue;
        }
        last_wait.clear();
        force = false;
        PassReport r = agent.run_pass();
        std::int64_t wait_ms = l.config.poll_s * 1000;
        switch (r.outcome) {
            case PassOutcome::Done: offline.reset(); break;
            case PassOutcome::Offline: wait_ms = offline.next_delay_ms(); break;
            case PassOutcome::Locked: wait_ms = std::min<std::int64_t>(wait_ms, 60'000); break;
            case PassOutcome::Cancelled: return kExitOk;
            case PassOutcome::Refused:
            case PassOutcome::Failed: break;  // a person must look; try again at the next poll, not in a storm
        }
        if (r.outcome != PassOutcome::Done)
            say("next pass in " + std::to_string((wait_ms + 999) / 1000) + " s (" + pass_outcome_name(r.outcome) + ")");
        // Wait, looking at the window every window_check_s: when it closes (or staff
        // move it), stop waiting for the next pass and go back to the window.
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
        while (!g_cancel.stop.load()) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
            if (left <= 0) break;
            g_cancel.sleep_for(std::min<std::int64_t>(left, l.config.window_check_s * 1000));
            if (!current_window(*l.store, l.config, text).contains(local_minute_of_day(std::time(nullptr)))) break;
        }
    }
    say("daemon stopped");
    return kExitOk;
}

int show_status(const std::string& config_path) {
    auto c = load_sync_config(config_path);
    if (!c.ok()) {
        say("configuration: " + c.error().message);
        return kExitUsage;
    }
    auto s = open_store(c->store_path, c->key_path, false);
    if (!s.ok()) {
        say("store: " + s.error().message);
        return kExitStore;
    }
    Store& store = **s;
    auto st = store.sync_status();
    if (!st.ok()) {
        say(st.error().message);
        return kExitError;
    }
    auto n = [&](RecordStatus x) { auto v = store.count(x); return v.ok() ? *v : -1; };
    std::printf("submitted %lld, queued %lld, synced %lld, purged %lld\n", static_cast<long long>(n(RecordStatus::Submitted)),
                static_cast<long long>(n(RecordStatus::Queued)), static_cast<long long>(n(RecordStatus::Synced)),
                static_cast<long long>(n(RecordStatus::Purged)));
    std::printf("last success ms %s, last attempt ms %s, last error: %s\n",
                st->last_success_ms ? std::to_string(*st->last_success_ms).c_str() : "-",
                st->last_attempt_ms ? std::to_string(*st->last_attempt_ms).c_str() : "-",
                st->last_error.empty() ? "-" : st->last_error.c_str());
    auto live = store.live_batches();
    if (live.ok())
        for (const OutboxBatch& b : *live)
            std::printf("live batch %s: %s, %lld records, %lld/%lld bytes confirmed\n", b.batch_id.c_str(),
                        outbox_state_name(b.state), static_cast<long long>(b.record_count),
                        static_cast<long long>(b.upload_offset), static_cast<long long>(b.bytes));
    auto q = store.quarantined();
    if (q.ok())
        for (const QuarantineEntry& e : *q)
            std::printf("quarantined %s (batch %s, %s): %s\n", e.record_id.c_str(), e.batch_id.c_str(), e.result.c_str(),
                        e.reason.c_str());
    return kExitOk;
}

int identity(const std::string& config_path, const std::string& path_opt, bool create) {
    std::string path = path_opt;
    if (path.empty()) {
        auto c = load_sync_config(config_path);
        if (!c.ok()) {
            say("configuration: " + c.error().message + " (or give --file)");
            return kExitUsage;
        }
        path = c->identity_path;
    }
    auto id = load_kiosk_identity(path);
    if (!id.ok() && create && ::access(path.c_str(), F_OK) != 0) {
        std::string dir = path.substr(0, path.rfind('/'));
        if (!dir.empty() && dir != path) (void)ensure_dir(dir);
        if (Status st = save_kiosk_identity(path, generate_kiosk_identity()); !st.ok()) {
            say(st.error().message);
            return kExitError;
        }
        id = load_kiosk_identity(path);
        if (id.ok()) say("created a new kiosk identity in " + path + "; enrol its public key at the commission");
    }
    if (!id.ok()) {
        say(id.error().message + (create ? "" : " (--create makes one)"));
        return kExitStore;
    }
    std::printf("%s\n", id->public_key.hex().c_str());
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"shenbao-sync — seals the kiosk's submitted applications into batches and uploads them to the commission"};
    app.set_version_flag("--version", std::string("shenbao-sync ") + SHENBAO_VERSION);
    app.footer(
        "Configuration: --config, else $SHENBAO_SYNC_CONFIG, else <data folder>/sync.json (JSON; see config-template).\n"
        "Data folder: $SHENBAO_DATA_DIR, else $XDG_DATA_HOME/shenbao, else ~/.local/share/shenbao.\n"
        "Log lines go to stderr: one per batch (records, bytes, time, result) and one per pass.\n"
        "Exit codes: 0 ok (all sent, nothing to send, or outside the window), 1 bad usage or configuration,\n"
        "2 store, key or kiosk identity cannot be opened, 3 intake unreachable or busy (the rest goes next time),\n"
        "4 refused (a batch, the TLS certificate or a receipt did not pass: a person must look),\n"
        "5 other error, 6 another shenbao-sync is syncing this store.");
    app.require_subcommand(1);
    std::string config_path = default_config_path();
    app.add_option("--config", config_path, "Configuration file (JSON)");

    bool respect_window = false;
    auto* once = app.add_subcommand("run-once", "Sync now, once, and exit (for a systemd timer or cron)");
    once->add_flag("--respect-window", respect_window, "Do nothing outside the sync window (the store's sync.window)");
    bool now = false;
    auto* daemon = app.add_subcommand("daemon", "Keep running; sync inside the window (default 01:00-05:00 local time)");
    daemon->add_flag("--now", now, "Sync at once, regardless of the window, then follow it");
    auto* status = app.add_subcommand("status", "Print the sync status, live batches and quarantined records");
    bool create = false;
    std::string identity_file;
    auto* ident = app.add_subcommand("identity", "Print the kiosk's public key (its id, to enrol at the commission)");
    ident->add_flag("--create", create, "Create the identity file when it does not exist");
    ident->add_option("--file", identity_file, "Identity file (default: identity_file of the configuration)");
    auto* tmpl = app.add_subcommand("config-template", "Print a configuration file with every setting at its default");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? kExitOk : kExitUsage;
    }
    install_signals();
    if (*once) return run_once(config_path, respect_window);
    if (*daemon) return run_daemon(config_path, now);
    if (*status) return show_status(config_path);
    if (*ident) return identity(config_path, identity_file, create);
    if (*tmpl) {
        std::fputs(sync_config_template().c_str(), stdout);
        return kExitOk;
    }
    return kExitUsage;
}
