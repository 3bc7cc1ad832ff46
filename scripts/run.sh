#!/usr/bin/env bash
# The main job: install what is missing, build (release), and run the demo —
# a store with its key under the data folder, a sample application saved field
# by field, submitted and printed back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
exec build/release/tools/shenbao-store demo "$@"
