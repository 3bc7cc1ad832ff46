#!/usr/bin/env bash
# packaging.deb: builds the Debian packages (cpack -G DEB), runs lintian on each
# (errors fail), installs them on this machine, runs systemd-analyze verify on
# every installed unit, upgrades a store written by the previous schema
# (tests/data/store-v4.db) in the installed data folder, then starts the
# installed shenbao-intake and shenbao-sync from their units' ExecStart= lines,
# as the units' users with the installed configuration, on loopback, and syncs
# a record; finally `dpkg -r` (data kept) and `dpkg -P` (data, users and
# /etc/shenbao gone). The README's "Installing in a district office" and
# "Installing at the commission" are the commands below.
#
# Needs root (it installs packages; CI runs as root) and leaves the machine as
# it found it: it refuses to start when a shenbao package, user or folder is
# already there, and purges what it installed on every exit.
#
# Usage: packaging_test.sh BUILD_DIR SOURCE_DIR   (ctest -R packaging.deb)
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
SKIP=77

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: installs Debian packages, needs root"
  exit $SKIP
fi
for tool in cpack lintian dpkg systemd-analyze openssl runuser setpriv python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
packages=(shenbao-common shenbao-kiosk shenbao-sync shenbao-intake)
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [[ -n "$status" && "$status" != not-installed ]]; then
    echo "FAIL: $p is already on this machine ($status); this test installs and purges the packages, so it would remove it"
    exit 1
  fi
done
for u in shenbao shenbao-intake; do
  if getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; then
    echo "FAIL: the user or group $u exists already; this test creates and removes it"; exit 1
  fi
done
for d in /var/lib/shenbao /var/lib/shenbao-intake /etc/shenbao; do
  [[ -e $d ]] && { echo "FAIL: $d exists already; this test creates and removes it"; exit 1; }
done

work=$(mktemp -d /tmp/shenbao-packaging.XXXXXX)
chmod 0755 "$work"
intake_pid=""
cleanup() {
  local rc=$?
  [[ -n "$intake_pid" ]] && kill "$intake_pid" 2>/dev/null && wait "$intake_pid" 2>/dev/null || true
  dpkg -P "${packages[@]}" >/dev/null 2>&1 || true
  # None of these was there before the test (checked above).
  rm -rf /etc/shenbao /var/lib/shenbao /var/lib/shenbao-intake
  for u in shenbao shenbao-intake; do
    getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null
    getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null
  done
  if [[ $rc -ne 0 ]]; then echo "scratch kept in $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { echo; echo "== $*"; }

step "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/packages" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
debs=()
for p in "${packages[@]}"; do
  f=$(ls "$work"/packages/${p}_*.deb 2>/dev/null | head -1)
  [[ -n "$f" ]] || fail "cpack made no $p package (see $work/cpack.log)"
  debs+=("$f")
  echo "$(basename "$f"): $(dpkg-deb -f "$f" Depends)"
done

step "lintian (errors fail; warnings listed)"
out=$(lintian --tag-display-limit 0 "${debs[@]}" 2>&1 | grep -v 'running with root privileges' || true)
[[ -n "$out" ]] && echo "$out"
if grep -q '^E: ' <<<"$out"; then fail "lintian reports errors (above)"; fi
echo "lintian: no errors"

step "dpkg -i (as on a district office machine and the commission's server)"
dpkg -i "${debs[@]}" >"$work/dpkg-i.log" 2>&1 || { cat "$work/dpkg-i.log"; fail "dpkg -i failed"; }
for u in shenbao shenbao-intake; do
  getent passwd "$u" >/dev/null || fail "postinst made no user $u"
  [[ $(getent passwd "$u" | cut -d: -f3) -lt 1000 ]] || fail "$u is not a system user"
done
[[ $(stat -c '%a %U' /var/lib/shenbao) == "700 shenbao" ]] || fail "/var/lib/shenbao: $(stat -c '%a %U' /var/lib/shenbao), not 700 shenbao"
[[ $(stat -c '%a %U' /var/lib/shenbao-intake) == "700 shenbao-intake" ]] || fail "/var/lib/shenbao-intake is not 700 shenbao-intake"
[[ -d /var/lib/shenbao/rime ]] || fail "postinst did not deploy the pinyin data (shenbao-kiosk --deploy-ime)"
for c in /etc/shenbao/sync.json /etc/shenbao/intake.env /etc/pam.d/shenbao-kiosk; do
  dpkg-query -W -f='${Conffiles}\n' "${packages[@]}" | grep -q " $c " || fail "$c is not a conffile"
done
echo "users, /var/lib/shenbao* (0700), rime deployed, conffiles: ok"

step "the maintainer scripts are idempotent: configure again (dpkg-reconfigure-like) and reinstall"
for p in shenbao-kiosk shenbao-sync shenbao-intake; do
  /var/lib/dpkg/info/$p.postinst configure "$(dpkg-query -W -f='${Version}' "$p")" >/dev/null || fail "$p postinst configure failed on a second run"
done
dpkg -i "${debs[@]}" >"$work/dpkg-i2.log" 2>&1 || { cat "$work/dpkg-i2.log"; fail "reinstalling over itself failed"; }

step "systemd-analyze verify"
units=(/lib/systemd/system/shenbao-*.service /lib/systemd/system/shenbao-*.timer)
[[ ${#units[@]} -eq 5 ]] || fail "expected 5 installed units, found ${#units[@]}: ${units[*]}"
for u in "${units[@]}"; do
  if ! out=$(systemd-analyze verify "$u" 2>&1); then echo "$out"; fail "systemd-analyze verify $u"; fi
  # Only the unit's own problems count (the host's other units are not ours).
  if grep "$(basename "$u")" <<<"$out"; then fail "systemd-analyze verify complains about $u"; fi
  echo "verified $(basename "$u")"
done

# A unit's Environment= and EnvironmentFile= as `env` arguments, and its ExecStart= with ${VAR} expanded.
unit_env() {
  local unit=$1
  sed -n 's/^Environment=//p' "$unit"
  local f
  for f in $(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit"); do grep -E '^[A-Z_]+=' "$f" || true; done
}
unit_exec() {
  local unit=$1
  local line
  line=$(sed -n 's/^ExecStart=//p' "$unit")
  local -a vars
  mapfile -t vars < <(unit_env "$unit")
  env -i "${vars[@]}" bash -c 'eval "printf \"%s\n\" $1"' _ "$line"
}
unit_user() { sed -n 's/^User=//p' "$1"; }
# Runs a unit's ExecStart= as its User= with its environment (systemd is not PID 1 here).
run_unit() {
  local unit=/lib/systemd/system/$1
  local -a vars cmd
  mapfile -t vars < <(unit_env "$unit")
  mapfile -t cmd < <(unit_exec "$unit")
  local user
  user=$(unit_user "$unit")
  # setpriv execs (no process in between), so the caller's kill reaches the service.
  cd / && exec setpriv --reuid="$user" --regid="$user" --init-groups env -i PATH=/usr/bin:/bin "${vars[@]}" "${cmd[@]}"
}
as_district() { (cd / && runuser -u shenbao -- env -i PATH=/usr/bin:/bin SHENBAO_DATA_DIR=/var/lib/shenbao "$@"); }
as_intake() { (cd / && runuser -u shenbao-intake -- env -i PATH=/usr/bin:/bin "$@"); }

step "upgrade: the previous release's district data (schema 4: drafts, queued records in a sealed batch) with the installed programs"
# tests/data/store-v4-queued: made by the schema-4 programs in /var/lib/shenbao (README there).
golden=$src/tests/data/store-v4-queued
for f in store.db store.key kiosk.identity; do install -m 0600 -o shenbao -g shenbao "$golden/kiosk/$f" /var/lib/shenbao/; done
install -d -m 0700 -o shenbao -g shenbao /var/lib/shenbao/outbox
install -m 0600 -o shenbao -g shenbao "$golden"/kiosk/outbox/*.shb /var/lib/shenbao/outbox/
listing=$(as_district shenbao-store list) || fail "the installed shenbao-store cannot open the schema-4 store"
echo "$listing"
[[ $(grep -c ' queued ' <<<"$listing") -eq 3 && $(grep -c ' returned ' <<<"$listing") -eq 1 && $(grep -c ' draft ' <<<"$listing") -eq 1 ]] \
  || fail "the schema-4 store's records (3 queued, 1 returned, 1 draft) are not all there"
as_district shenbao-store verify >/dev/null || fail "verify fails on the migrated store"
as_district shenbao-store show "$(awk '/ draft /{print $1}' <<<"$listing")" --json | grep -q '重庆市新材料产业技术创新联盟' \
  || fail "the draft lost its data"
echo 13579 | as_district shenbao-store staff-pin >/dev/null
# A complete application submitted and recommended with the new programs, to go with the queued ones.
as_district shenbao-store generate -n 1 --seed 13 --recommend-as 李娜 >/dev/null
fresh=$(as_district shenbao-store list --review ready | awk 'length($1)==26{print $1}')
[[ ${#fresh} -eq 26 ]] || fail "expected one record ready to send, got: $fresh"
# The golden's two generated applications travel; its first record (3 fields) is invalid at the intake.
want=$( (grep ' queued ' <<<"$listing" | grep -v 重庆市智能网联汽车 | awk '{print $1}'; echo "$fresh") | sort)
invalid=$(grep ' queued ' <<<"$listing" | grep 重庆市智能网联汽车 | awk '{print $1}')

step "the commission (Installing at the commission): its keys kept from the previous release, the TLS certificate"
install -m 0600 -o shenbao-intake -g shenbao-intake "$golden/intake/commission.key" "$golden/intake/receipt.key" /var/lib/shenbao-intake/
rc=0; as_intake shenbao-intake --data-dir /var/lib/shenbao-intake keygen >/dev/null 2>&1 || rc=$?
[[ $rc -eq 4 ]] || fail "keygen over existing keys should refuse (exit 4), got $rc"
cmp -s "$golden/intake/commission.key" /var/lib/shenbao-intake/commission.key || fail "keygen changed the existing keys"
commission_key=$(sed -n 's/^commission_public_key = //p' "$golden/intake/public-keys.txt")
receipt_key=$(sed -n 's/^receipt_public_key = //p' "$golden/intake/public-keys.txt")
(cd "$work" && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=Shenbao packaging test CA' &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf) >"$work/openssl.log" 2>&1 \
  || { cat "$work/openssl.log"; fail "openssl"; }
install -m 0644 "$work/server.pem" /etc/shenbao/intake-tls.crt
install -m 0640 -g shenbao-intake "$work/server.key" /etc/shenbao/intake-tls.key
sed -i 's/^SHENBAO_INTAKE_LISTEN=.*/SHENBAO_INTAKE_LISTEN=127.0.0.1:0/' /etc/shenbao/intake.env

step "the district: sync.json, the kiosk identity, enrolled at the commission (Installing in a district office)"
install -m 0644 "$work/ca.pem" /etc/shenbao/intake-ca.pem
# The sync window around now (the store has none of its own), so --respect-window syncs.
window=$(python3 -c 'import time; t=time.localtime(); m=t.tm_hour*60+t.tm_min; f=lambda x: "%02d:%02d"%((x//60)%24, x%60); print(f(m-60)+"-"+f(m+120))')
set_config() {  # key=value ... into /etc/shenbao/sync.json, as an operator would edit it
  python3 - /etc/shenbao/sync.json "$@" <<'EOF'
import json, sys
path, pairs = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
for p in pairs:
    k, v = p.split("=", 1)
    c[k] = v
json.dump(c, open(path, "w"), indent=2)
EOF
}
set_config "commission_public_key=$commission_key" "receipt_public_key=$receipt_key" "window=$window"
kiosk_id=$(as_district shenbao-sync --config /etc/shenbao/sync.json identity --create 2>/dev/null | tail -1)
[[ "$kiosk_id" == "$(sed -n 's/^kiosk_public_key = //p' "$golden/intake/public-keys.txt")" ]] \
  || fail "identity --create did not keep the kiosk's existing identity (printed: $kiosk_id)"
[[ $(stat -c '%a %U' /var/lib/shenbao/kiosk.identity) == "600 shenbao" ]] || fail "kiosk.identity is not 0600 shenbao"
as_intake shenbao-intake --data-dir /var/lib/shenbao-intake enrol --kiosk-key "$kiosk_id" --district 渝北区 >/dev/null

step "shenbao-intake.service's ExecStart as shenbao-intake"
echo "ExecStart: $(unit_exec /lib/systemd/system/shenbao-intake.service | tr '\n' ' ')"
(run_unit shenbao-intake.service) >"$work/intake.out" 2>"$work/intake.err" &
intake_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's#^shenbao-intake listening on https://127.0.0.1:\([0-9]*\).*#\1#p' "$work/intake.out")
  [[ -n "$port" ]] && break
  kill -0 "$intake_pid" 2>/dev/null || { cat "$work/intake.err"; fail "shenbao-intake exited"; }
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/intake.err"; fail "shenbao-intake did not say where it listens"; }
set_config "intake_url=https://127.0.0.1:$port"

step "shenbao-sync.service's ExecStart as shenbao"
echo "ExecStart: $(unit_exec /lib/systemd/system/shenbao-sync.service | tr '\n' ' ')"
(run_unit shenbao-sync.service) >"$work/sync.log" 2>&1 || { cat "$work/sync.log" "$work/intake.err"; fail "the sync pass failed"; }
cat "$work/sync.log"
as_district shenbao-sync --config /etc/shenbao/sync.json status | tee "$work/status.txt"
grep -q '^submitted 0, queued 1, synced 3,' "$work/status.txt" || fail "the district store does not show the 3 records synced"
grep -q "^quarantined $invalid " "$work/status.txt" || fail "the schema-4 store's invalid record is not quarantined with the intake's reasons"
as_intake shenbao-intake --data-dir /var/lib/shenbao-intake export --format json --out /var/lib/shenbao-intake/export.json
got=$(python3 -c 'import json,sys; print("\n".join(sorted(r["id"] for r in json.load(open(sys.argv[1])))))' /var/lib/shenbao-intake/export.json)
[[ "$got" == "$want" ]] || fail "the intake holds [$got], expected [$want]"
echo "the intake holds the previous release's two queued applications and the new one: $(tr '\n' ' ' <<<"$got")"
kill "$intake_pid"; wait "$intake_pid" 2>/dev/null || true; intake_pid=""

step "dpkg -r: programs gone, data and configuration kept"
dpkg -r "${packages[@]}" >"$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log"; fail "dpkg -r failed"; }
for f in /usr/bin/shenbao-kiosk /usr/bin/shenbao-sync /usr/bin/shenbao-intake /usr/bin/shenbao-store /lib/systemd/system/shenbao-intake.service; do
  [[ ! -e $f ]] || fail "$f is still there after dpkg -r"
done
for f in /var/lib/shenbao/store.db /var/lib/shenbao/store.key /var/lib/shenbao/kiosk.identity /var/lib/shenbao-intake/intake.db \
         /var/lib/shenbao-intake/commission.key /etc/shenbao/sync.json /etc/shenbao/intake.env; do
  [[ -e $f ]] || fail "$f is gone after dpkg -r (only purge removes data)"
done
getent passwd shenbao >/dev/null && getent passwd shenbao-intake >/dev/null || fail "dpkg -r removed a user"
echo "data, keys, configuration and users kept"

step "dpkg -P: data, users and configuration gone"
rm -f /etc/shenbao/intake-tls.crt /etc/shenbao/intake-tls.key /etc/shenbao/intake-ca.pem  # the operator's own files
dpkg -P "${packages[@]}" >"$work/dpkg-p.log" 2>&1 || { cat "$work/dpkg-p.log"; fail "dpkg -P failed"; }
for d in /var/lib/shenbao /var/lib/shenbao-intake /etc/shenbao /etc/pam.d/shenbao-kiosk /usr/share/shenbao; do
  [[ ! -e $d ]] || fail "$d is still there after dpkg -P"
done
for u in shenbao shenbao-intake; do
  getent passwd "$u" >/dev/null && fail "the user $u is still there after dpkg -P"
  getent group "$u" >/dev/null && fail "the group $u is still there after dpkg -P"
done
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ -z "$status" || "$status" == not-installed ]] || fail "$p is $status after dpkg -P"
done
echo "nothing left"
echo
echo "PASS"
