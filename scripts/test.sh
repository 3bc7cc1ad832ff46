#!/usr/bin/env bash
# Builds and runs the whole test suite through ctest (installs missing packages first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
ctest --preset release -j2 --timeout 900
