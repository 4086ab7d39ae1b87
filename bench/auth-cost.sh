#!/usr/bin/env bash
# What authentication and policy cost per request, measured side by side in
# one run on one placement-api binary (release build, SQLite, empty
# provider table so the database does as little as possible):
#
#  * noauth2, registered policy defaults only (the policy check, no files);
#  * noauth2 with a policy.yaml and a policy.d/ beside placement.conf (the
#    check plus the per-request file stamp that notices edits);
#  * keystone with a real Keystone 30.0.0 (tools/keystone.sh) and one admin
#    token, validated once and then served from the cache: token lookup,
#    header rewrite and policy on every request;
#  * the same keystone server on `GET /`, which skips auth and policy, as a
#    floor.
#
# Every scenario is `GET /resource_providers` (or `/`) at the same
# concurrency for the same time with crates/placement/examples/loadgen.rs;
# the script prints requests/s, p50/p99 and each scenario's cost relative to
# the first as 1/rps difference: machine time per request with the machine
# saturated (server and load generator share its cores, so it is an upper
# bound's fraction, not CPU time of one core). Only loopback addresses are
# used.
#
# Usage: bench/auth-cost.sh [concurrency] [seconds]
# BENCH_NO_BUILD=1 skips `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-16}
seconds=${2:-10}

[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --bin placement-api --example loadgen -q
rs=target/release/placement-api
loadgen=target/release/examples/loadgen
keystone_dir=target/keystone
tools/keystone.sh setup "$keystone_dir" >/dev/null
# shellcheck disable=SC1091
source "$keystone_dir/identities.env"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ -n ${ks_port:-} ]] && tools/keystone.sh stop "$keystone_dir" "$ks_port" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ks_port=$(free_port)
tools/keystone.sh serve "$keystone_dir" "$ks_port" >/dev/null
ks=http://127.0.0.1:$ks_port

# One admin token (project-scoped), issued once.
token=$(curl -sf -m 30 -o /dev/null -D - -H 'content-type: application/json' \
  -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$ADMIN_USER\",\"domain\":{\"name\":\"$DOMAIN\"},\"password\":\"$ADMIN_PASSWORD\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"$DOMAIN\"}}}}}" \
  "$ks/v3/auth/tokens" | awk 'tolower($1) == "x-subject-token:" { print $2 }' | tr -d '\r')
[[ -n $token ]] || { echo "could not get a token from $ks" >&2; exit 1; }

# start NAME AUTH_SECTION_TEXT: a server with its own config dir and
# database; sets $port. (Not run in a command substitution: the server must
# stay this shell's child, so cleanup can stop it.)
start() {
  local name=$1 extra=$2 dir=$work/$1
  mkdir -p "$dir"
  port=$(free_port)
  cat >"$dir/placement.conf" <<EOF
[placement_database]
connection = sqlite:///$dir/placement.sqlite
sync_on_startup = True
$extra
EOF
  (cd "$dir" && HOME=$dir exec "$OLDPWD/$rs" --config-file placement.conf --bind "127.0.0.1:$port" 2>"$dir/server.log") &
  pids+=($!)
  for _ in $(seq 1 200); do
    curl -sf -m 1 "http://127.0.0.1:$port/" >/dev/null && return
    sleep 0.05
  done
  echo "$name did not start: $(cat "$dir/server.log")" >&2
  exit 1
}

start noauth "[api]
auth_strategy = noauth2"
noauth_port=$port
start files "[api]
auth_strategy = noauth2"
files_port=$port
mkdir -p "$work/files/policy.d"
printf '"placement:resource_providers:list": "role:admin or role:service"\n' >"$work/files/policy.yaml"
printf '"placement:traits:list": "rule:admin_or_service_api"\n' >"$work/files/policy.d/10-traits.yaml"
start keystone "[api]
auth_strategy = keystone
[keystone_authtoken]
auth_type = password
auth_url = $ks/v3
www_authenticate_uri = $ks/v3
interface = public
region_name = port-$ks_port
username = $PLACEMENT_USER
password = $PLACEMENT_PASSWORD
project_name = service
user_domain_name = Default
project_domain_name = Default"
keystone_port=$port

# Warm the token cache and check every scenario answers 200 before timing.
for check in "$noauth_port|admin" "$files_port|admin" "$keystone_port|$token"; do
  port=${check%%|*} tok=${check#*|}
  code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "x-auth-token: $tok" "http://127.0.0.1:$port/resource_providers")
  [[ $code == 200 ]] || { echo "port $port answered $code" >&2; exit 1; }
done

run() {
  "$loadgen" "$1" "$concurrency" "$seconds" "x-auth-token: $2" "openstack-api-version: placement 1.39"
}
rps() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rps"])' "$1"; }

declare -A out
out[noauth2]=$(run "http://127.0.0.1:$noauth_port/resource_providers" admin)
out[files]=$(run "http://127.0.0.1:$files_port/resource_providers" admin)
out[keystone]=$(run "http://127.0.0.1:$keystone_port/resource_providers" "$token")
out[root]=$(run "http://127.0.0.1:$keystone_port/" "$token")
# The baseline once more, last, to show the run-to-run spread.
out[again]=$(run "http://127.0.0.1:$noauth_port/resource_providers" admin)

echo "GET /resource_providers, $concurrency clients, ${seconds}s each (SQLite, empty table)"
base=$(rps "${out[noauth2]}")
for scenario in noauth2 files keystone root again; do
  python3 - "$scenario" "${out[$scenario]}" "$base" "$concurrency" <<'PY'
import json, sys
name, line, base, conc = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rps = line["rps"]
added_us = (1 / rps - 1 / base) * 1e6
labels = {
    "noauth2": "noauth2, policy defaults",
    "files": "noauth2, policy.yaml + policy.d",
    "keystone": "keystone, cached token",
    "root": "keystone server, GET / (no auth)",
    "again": "noauth2, policy defaults (again)",
}
print(f"  {labels[name]:<34} {rps:>9.0f} req/s  p50 {line.get('p50_ms', 0):.2f} ms  "
      f"p99 {line.get('p99_ms', 0):.2f} ms  vs noauth2: {rps / base:.2f}x, "
      f"{added_us:+.1f} us of machine time per request")
PY
done
