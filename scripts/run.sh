#!/usr/bin/env bash
# The main job: install what is missing, build (release), and start the kiosk on
# the default store in the data folder (created with its key on first run).
# Without a display the kiosk says so and shows the xvfb-run form of the command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
exec build/release/kiosk/shenbao-kiosk "$@"
