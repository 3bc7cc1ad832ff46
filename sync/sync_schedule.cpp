// The daemon's sync window: see sync_schedule.h.
#include "sync_schedule.h"

#include <cctype>

namespace shenbao::sync {

bool SyncWindow::contains(int m) const {
    if (all_day()) return true;
    if (start_minute < end_minute) return m >= start_minute && m < end_minute;
    return m >= start_minute || m < end_minute;  // wraps past midnight
}

int SyncWindow::minutes_until_open(int m) const {
    if (contains(m)) return 0;
    return (start_minute - m + 1440) % 1440;
}

std::optional<SyncWindow> parse_sync_window(std::string_view t) {
    if (t.size() != 11 || t[2] != ':' || t[5] != '-' || t[8] != ':') return std::nullopt;
    for (std::size_t i : {0u, 1u, 3u, 4u, 6u, 7u, 9u, 10u})
        if (!std::isdigit(static_cast<unsigned char>(t[i]))) return std::nullopt;
    auto two = [&](std::size_t i) { return (t[i] - '0') * 10 + (t[i + 1] - '0'); };
    int h1 = two(0), m1 = two(3), h2 = two(6), m2 = two(9);
    if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59) return std::nullopt;
    return SyncWindow{h1 * 60 + m1, h2 * 60 + m2};
}

int local_minute_of_day(std::time_t t) {
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm.tm_hour * 60 + tm.tm_min;
}

}  // namespace shenbao::sync
