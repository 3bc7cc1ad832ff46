#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/debian-packages.txt that are
# not installed yet (apt-get; as root, or through sudo). Does nothing when all are present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/debian-packages.txt"
# tests/interop: the reference tus peers from the npm registry (tus-js-client, @tus/server,
# @tus/file-store), installed at set-up time, never at build time; again only when
# package-lock.json is newer than what node_modules holds. Debian's nodejs comes without
# npm (NodeSource's bundles it), so npm is installed only when the command is missing.
install_interop() {
  local dir="$here/../tests/interop"
  [[ -f "$dir/node_modules/.package-lock.json" && ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]] && return 0
  if ! command -v npm >/dev/null; then
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get install -y -qq --no-install-recommends npm
  fi
  echo "installing the npm packages of tests/interop (npm ci)"
  npm ci --prefix "$dir" --no-audit --no-fund
}
[[ ${#missing[@]} -eq 0 ]] && install_interop
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_interop
