// The daemon's sync window: "HH:MM-HH:MM" in local time, as the kiosk's staff
// screen saves it in the store setting "sync.window". A window may wrap past
// midnight ("22:00-02:00"); equal ends ("00:00-00:00") mean all day.
#pragma once

#include <ctime>
#include <optional>
#include <string_view>

namespace shenbao::sync {

struct SyncWindow {
    int start_minute = 60;  // minutes after local midnight, 0..1439
    int end_minute = 300;   // exclusive
    bool all_day() const { return start_minute == end_minute; }
    bool contains(int minute_of_day) const;
    // Minutes from `minute_of_day` until the window opens; 0 when it is open.
    int minutes_until_open(int minute_of_day) const;
};

// nullopt unless `text` is exactly "HH:MM-HH:MM" with valid times.
std::optional<SyncWindow> parse_sync_window(std::string_view text);

// Minutes after local midnight at `t` (localtime_r: honours TZ).
int local_minute_of_day(std::time_t t);

}  // namespace shenbao::sync
