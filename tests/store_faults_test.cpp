// Faults with real processes: SIGKILL in the middle of saves, two writers at
// once, a genuinely full disk.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "shenbao/store.h"
#include "shenbao/store_files.h"
#include "test_support.h"

using namespace shenbao;
using nlohmann::json;

namespace {

// Reads whatever the child has written so far; returns the last complete line's number.
long drain(int fd, std::string& buffer, long last) {
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) break;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        buffer.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
        last = std::stol(buffer.substr(0, nl));
        buffer.erase(0, nl + 1);
    }
    return last;
}

std::string value_for(long i) { return "第" + std::to_string(i) + "次保存：重庆市沙坪坝区大学城南路" + std::to_string(i * 7) + "号"; }

}  // namespace

TEST_CASE("SIGKILL at random moments loses no save that had returned (200 kills)") {
    test::TempDir dir;
    std::string db = dir.file("store.db"), key = dir.file("store.key");
    open_store(db, key, true).value().reset();
    std::mt19937 rng(20220530);
    long total_acked = 0;
    for (int round = 0; round < 200; ++round) {
        std::string id;
        {
            auto s = open_store(db, key, false);
            REQUIRE_MESSAGE(s.ok(), "round " << round << ": " << (s.ok() ? "" : s.error().message));
            id = (*s)->create_record("alliance-2022", 1).value().id;
        }
        int pipefd[2];
        REQUIRE(::pipe(pipefd) == 0);
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(pipefd[0]);
            auto s = open_store(db, key, false);
            if (!s.ok()) ::_exit(3);
            for (long i = 0;; ++i) {
                if (!(*s)->save_field(id, "f" + std::to_string(i), value_for(i)).ok()) ::_exit(4);
                std::string line = std::to_string(i) + "\n";  // acknowledged only after save_field returned
                if (::write(pipefd[1], line.data(), line.size()) < 0) ::_exit(5);
            }
        }
        ::close(pipefd[1]);
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(500, 40000)(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        REQUIRE_MESSAGE(WIFSIGNALED(status), "the writer stopped by itself with " << WEXITSTATUS(status));
        std::string buffer;
        long acked = drain(pipefd[0], buffer, -1);
        ::close(pipefd[0]);

        auto s = open_store(db, key, false);
        REQUIRE_MESSAGE(s.ok(), "round " << round << ": the store did not open cleanly: " << (s.ok() ? "" : s.error().message));
        auto r = (*s)->get(id);
        REQUIRE(r.ok());
        for (long i = 0; i <= acked; ++i) {
            auto it = r->data.find("f" + std::to_string(i));
            REQUIRE_MESSAGE(it != r->data.end(), "round " << round << ": acknowledged save " << i << " of " << acked << " is lost");
            REQUIRE(*it == value_for(i));
        }
        // At most the one save in flight may also have landed.
        CHECK(static_cast<long>(r->data.size()) <= acked + 2);
        total_acked += acked + 1;
    }
    auto s = open_store(db, key, false).value();
    auto rep = s->verify().value();
    CHECK(rep.problems.empty());
    MESSAGE("acknowledged saves checked after 200 kills: " << total_acked);
    CHECK(total_acked > 200);
}

TEST_CASE("a kiosk-like and an agent-like process write at once without 'database is locked'") {
    test::TempDir dir;
    std::string db = dir.file("store.db"), key = dir.file("store.key");
    std::vector<std::string> queued;
    {
        auto s = open_store(db, key, true).value();
        for (int i = 0; i < 150; ++i) {
            auto id = s->create_record("alliance-2022", 1).value().id;
            REQUIRE(s->save_field(id, "alliance_name", "联盟" + std::to_string(i)).ok());
            REQUIRE(s->set_status(id, RecordStatus::Submitted, "applicant").ok());
            queued.push_back(id);
        }
    }
    auto spawn = [&](auto body) {
        pid_t pid = ::fork();
        if (pid == 0) {
            auto s = open_store(db, key, false);
            if (!s.ok()) { std::fprintf(stderr, "open: %s\n", s.error().message.c_str()); ::_exit(2); }
            ::_exit(body(**s));
        }
        return pid;
    };
    pid_t kiosk = spawn([](Store& s) {
        // Applicants typing: many small field saves across a few drafts.
        for (int d = 0; d < 6; ++d) {
            auto id = s.create_record("alliance-2022", 1);
            if (!id.ok()) { std::fprintf(stderr, "kiosk: %s\n", id.error().message.c_str()); return 1; }
            for (int i = 0; i < 80; ++i) {
                auto st = s.save_field(id->id, "report_importance", std::string(static_cast<std::size_t>(100 + i * 30), 'x'));
                if (!st.ok()) { std::fprintf(stderr, "kiosk: %s\n", st.error().message.c_str()); return 1; }
                if (!s.get(id->id).ok()) return 1;
            }
            if (!s.set_status(id->id, RecordStatus::Submitted, "applicant").ok()) return 1;
        }
        return 0;
    });
    pid_t agent = spawn([&](Store& s) {
        // The sync agent: reads the outbox and moves records along, with audit entries.
        for (const std::string& id : queued) {
            if (!s.list(RecordStatus::Submitted, 50).ok()) return 1;
            if (!s.get(id).ok()) return 1;
            for (RecordStatus to : {RecordStatus::Queued, RecordStatus::Synced}) {
                auto st = s.set_status(id, to, "sync");
                if (!st.ok()) { std::fprintf(stderr, "agent: %s\n", st.error().message.c_str()); return 1; }
            }
        }
        return 0;
    });
    int ks = 0, as = 0;
    ::waitpid(kiosk, &ks, 0);
    ::waitpid(agent, &as, 0);
    CHECK(WIFEXITED(ks));
    CHECK(WEXITSTATUS(ks) == 0);
    CHECK(WIFEXITED(as));
    CHECK(WEXITSTATUS(as) == 0);
    auto s = open_store(db, key, false).value();
    CHECK(s->count(RecordStatus::Synced).value() == 150);
    CHECK(s->count(RecordStatus::Submitted).value() == 6);
    CHECK(s->verify().value().problems.empty());
}

TEST_CASE("a full disk gives a clear error and no half-saved record") {
    test::TempDir dir;
    std::string mnt = dir.file("small-disk");
    REQUIRE(::mkdir(mnt.c_str(), 0700) == 0);
    // A real full disk: a 2 MiB tmpfs. Needs root (as on the developers' and CI machines).
    bool mounted = ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") == 0;
    REQUIRE_MESSAGE(mounted, "cannot mount a small tmpfs (not root?): " << std::strerror(errno));
    struct Unmount { std::string p; ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); } } unmount{mnt};

    std::string db = mnt + "/store.db", key = mnt + "/store.key";
    auto s = open_store(db, key, true).value();
    auto id = s->create_record("alliance-2022", 1).value().id;
    std::mt19937 rng(7);
    std::string last_ok;
    Error failure{ErrorCode::Internal, ""};
    int saved = 0;
    for (int i = 0; i < 10000; ++i) {
        // Random bytes (hex) so SQLCipher cannot shrink them; each value grows the file.
        std::string v;
        for (int j = 0; j < 8000; ++j) v += "0123456789abcdef"[rng() % 16];
        auto st = s->save_field(id, "f" + std::to_string(i), v);
        if (!st.ok()) { failure = st.error(); break; }
        ++saved;
    }
    REQUIRE(saved > 0);
    CHECK(failure.code == ErrorCode::DiskFull);
    CHECK(failure.message.find(db) == 0);
    CHECK(failure.message.find("disk is full") != std::string::npos);
    s.reset();
    // Everything saved before is there; the failed save left nothing behind.
    auto again = open_store(db, key, false);
    REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
    auto r = (*again)->get(id).value();
    CHECK(static_cast<int>(r.data.size()) == saved);
    CHECK_FALSE(r.data.contains("f" + std::to_string(saved)));
    CHECK((*again)->verify().value().problems.empty());
}
