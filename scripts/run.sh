#!/usr/bin/env bash
# The main job, the demonstration set-up: the whole flow on one machine. Installs
# what is missing, builds (release), then, all under the data folder:
#   - a local commission: shenbao-intake on 127.0.0.1 (a free port) with its own
#     keys (keygen) and a test certificate for 127.0.0.1 from a test CA (openssl);
#   - the kiosk's identity (shenbao-sync identity --create), enrolled there;
#   - a sync.json from `shenbao-sync config-template`, filled in for that intake;
#   - the agent, `shenbao-sync run-once`, as soon as a record is ready to send
#     (submitted and recommended) and every minute;
#   - shenbao-kiosk on the store (created with its key, and staff PIN 13579, on
#     first run), with this script's arguments (e.g. --window 1366x768).
# Everything it started stops when the kiosk exits. Without a display the kiosk
# says so and prints the xvfb-run form of the command (nothing else starts).
# SHENBAO_RUN_SKIP_BUILD=1 skips the install and build steps (the tests: ctest
# has built build/release already).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${SHENBAO_RUN_SKIP_BUILD:-}" ]]; then
  scripts/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)"
fi
bin=$PWD/build/release
kiosk=$bin/kiosk/shenbao-kiosk
store_cli=$bin/tools/shenbao-store
sync=$bin/sync/shenbao-sync
intake=$bin/intake/shenbao-intake

if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "run.sh: no display found (DISPLAY is unset); nothing started. Run it under a virtual display instead:" >&2
  echo "  xvfb-run -a -s '-screen 0 1920x1080x24' $0 $*" >&2
  exit 3  # the kiosk's own exit code for no display
fi

data=${SHENBAO_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/shenbao}
export SHENBAO_DATA_DIR=$data
demo=$data/demo                 # the demonstration's commission and agent settings
commission=$demo/intake         # shenbao-intake's data folder: keys, intake.db
mkdir -p "$data" "$demo"
chmod 0700 "$data" "$demo"

say() { echo "run.sh: $*"; }

# The store (and its key), with the demonstration's staff PIN, on first run.
if [[ ! -e $data/store.db ]]; then
  "$store_cli" init >/dev/null
  echo 13579 | "$store_cli" staff-pin >/dev/null
  say "new store in $data; staff PIN 13579 (工作人员; change it: echo NEWPIN | $store_cli staff-pin)"
fi

# The commission's keys and a TLS certificate for 127.0.0.1 signed by a test CA.
if [[ ! -e $commission/commission.key ]]; then
  mkdir -p "$commission"
  "$intake" --data-dir "$commission" keygen >"$demo/commission-keys.txt"
fi
if [[ ! -e $demo/tls/server.pem ]]; then
  mkdir -p "$demo/tls"
  (cd "$demo/tls" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj '/CN=Shenbao demonstration CA' &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 3650 -extfile ext.cnf) \
    >"$demo/tls/openssl.log" 2>&1
  chmod 0600 "$demo/tls/ca.key" "$demo/tls/server.key"
fi

# The kiosk's identity, enrolled at the demonstration commission (again is a no-op).
kiosk_id=$("$sync" identity --create --file "$data/kiosk.identity" 2>/dev/null | tail -1)
"$intake" --data-dir "$commission" enrol --kiosk-key "$kiosk_id" --district 演示区 >/dev/null

pids=()
stop_all() {
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_all' EXIT
trap 'stop_all; exit 143' TERM
trap 'stop_all; exit 130' INT

"$intake" --data-dir "$commission" serve --listen 127.0.0.1:0 --cert "$demo/tls/server.pem" --key "$demo/tls/server.key" \
  >"$demo/intake.out" 2>>"$demo/intake.log" &
pids+=($!)
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's#^shenbao-intake listening on \(https://[0-9.:]*\).*#\1#p' "$demo/intake.out")
  [[ -n "$url" ]] && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$url" ]]; then
  say "the demonstration intake did not start; its log, $demo/intake.log:"
  tail -5 "$demo/intake.log" >&2
  exit 1
fi

# sync.json: the template filled in for this intake (its port changes every run).
"$sync" config-template | python3 -c '
import json, sys
c = json.load(sys.stdin)
keys = dict(l.split(" = ", 1) for l in open(sys.argv[1]).read().split("\n") if " = " in l)
c.update(intake_url=sys.argv[2], ca_file=sys.argv[3], data_dir=sys.argv[4],
         commission_public_key=keys["commission_public_key"], receipt_public_key=keys["receipt_public_key"],
         retry_max_ms=5000, max_attempts=3)
json.dump(c, open(sys.argv[5], "w"), indent=2)
' "$demo/commission-keys.txt" "$url" "$demo/tls/ca.pem" "$data" "$demo/sync.json"

# The agent: a pass as soon as a record is ready to send (submitted and recommended;
# looked up read-only, which never blocks the kiosk's saves) and every minute.
ready_ids() { "$store_cli" list --review ready 2>/dev/null | awk 'length($1) == 26 { printf "%s ", $1 }' || true; }
agent_loop() {
  local child="" ready failed_for="" since=60
  trap '[[ -n $child ]] && kill $child 2>/dev/null; exit 0' TERM INT
  while :; do
    ready=$(ready_ids)
    # After a failed pass (the intake away), the same records wait for the next minute.
    if [[ -n "$ready" && "$ready" != "$failed_for" ]] || ((since >= 60)); then
      "$sync" --config "$demo/sync.json" run-once >>"$demo/sync.log" 2>&1 &
      child=$!
      if wait $child; then failed_for=""; else failed_for=$ready; fi
      child=""
      since=0
    fi
    sleep 2 &
    child=$!
    wait $child || true
    child=""
    since=$((since + 2))
  done
}
agent_loop &
pids+=($!)

say "demonstration commission (shenbao-intake) on $url, data in $commission"
say "the agent sends what staff recommended within seconds (log: $demo/sync.log); received:"
say "  $intake --data-dir $commission export --format csv --out records.csv"

"$kiosk" "$@" &
kiosk_pid=$!
pids=("$kiosk_pid" "${pids[@]}")
rc=0
wait "$kiosk_pid" || rc=$?
stop_all
exit "$rc"
