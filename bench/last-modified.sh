#!/usr/bin/env bash
# Which writes move a resource provider's Last-Modified, on placement-rs and
# on upstream Placement (gunicorn from conformance/.venv), each on a fresh
# SQLite database. Each step waits past a second boundary, makes one write
# and reads `GET /resource_providers/{uuid}` at 1.15; a Last-Modified at or
# after the write's second is "fresh", an earlier one "stale", none
# "absent". `PUT /resource_providers/{uuid}` lines report the update's own
# answer. Prints one table per server and whether they agree.
#
# Usage: bench/last-modified.sh [path/to/placement-api]
#        (default target/debug/placement-api; build it first)
set -euo pipefail
cd "$(dirname "$0")/.."
rs=${1:-target/debug/placement-api}
venv=conformance/.venv
[[ -x $venv/bin/gunicorn ]] || conformance/setup.sh
work=$(mktemp -d)
cleanup() {
  local pids
  pids=$(jobs -p)
  [[ -z $pids ]] || { kill $pids 2>/dev/null || true; wait $pids 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

for name in rs py; do
  mkdir -p "$work/$name"
  cat > "$work/$name/placement.conf" <<CONF
[api]
auth_strategy = noauth2
[placement_database]
connection = sqlite:///$work/$name.sqlite
sync_on_startup = True
CONF
done
"$rs" --config-file "$work/rs/placement.conf" --bind 127.0.0.1:18911 >"$work/rs.log" 2>&1 &
OS_PLACEMENT_CONFIG_DIR="$work/py" "$venv/bin/gunicorn" -b 127.0.0.1:18912 -w 1 \
  placement.wsgi.api:application >"$work/py.log" 2>&1 &
for port in 18911 18912; do
  for _ in $(seq 1 400); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
done

req() { # port method path version [body] -> headers+body in $work/out, status on stdout
  curl -s -D "$work/headers" -o "$work/out" -w '%{http_code}' -X "$2" "http://127.0.0.1:$1$3" \
    -H "x-auth-token: admin" -H "openstack-api-version: placement $4" \
    -H "content-type: application/json" ${5:+--data "$5"}
}
lm() { sed -n 's/^[Ll]ast-[Mm]odified: \(.*\)\r$/\1/p' "$work/headers"; }
next_second() { sleep "$(echo "1.05 - $(date +%s.%N) % 1" | bc)"; }
classify() { # write-start-epoch -> fresh|stale|absent from $work/headers
  local stamp; stamp=$(lm)
  if [[ -z $stamp ]]; then echo absent
  elif (( $(date -ud "$stamp" +%s) >= $1 )); then echo fresh
  else echo stale; fi
}
generation() { req "$1" GET "/resource_providers/$2" 1.15 >/dev/null; sed -E 's/.*"generation": ([0-9]+).*/\1/' "$work/out"; }

run() { # port -> the table
  local port=$1 root child start gen
  root=$(cat /proc/sys/kernel/random/uuid); child=$(cat /proc/sys/kernel/random/uuid)
  req "$port" POST /resource_providers 1.20 "{\"name\": \"root\", \"uuid\": \"$root\"}" >/dev/null
  req "$port" POST /resource_providers 1.20 \
    "{\"name\": \"child\", \"uuid\": \"$child\", \"parent_provider_uuid\": \"$root\"}" >/dev/null
  step() { # label write-command...
    local label=$1; shift
    next_second; start=$(date +%s)
    "$@" >/dev/null
    req "$port" GET "/resource_providers/$root" 1.15 >/dev/null
    printf '%-40s %s\n' "$label" "$(classify "$start")"
  }
  step "PUT inventories" req "$port" PUT "/resource_providers/$root/inventories" 1.15 \
    "{\"resource_provider_generation\": 0, \"inventories\": {\"VCPU\": {\"total\": 8}}}"
  gen=$(generation "$port" "$root")
  step "PUT inventories/VCPU" req "$port" PUT "/resource_providers/$root/inventories/VCPU" 1.15 \
    "{\"resource_provider_generation\": $gen, \"total\": 16}"
  gen=$(generation "$port" "$root")
  step "PUT traits" req "$port" PUT "/resource_providers/$root/traits" 1.15 \
    "{\"resource_provider_generation\": $gen, \"traits\": [\"HW_CPU_X86_AVX\"]}"
  gen=$(generation "$port" "$root")
  step "PUT aggregates (1.19)" req "$port" PUT "/resource_providers/$root/aggregates" 1.19 \
    "{\"resource_provider_generation\": $gen, \"aggregates\": [\"$(cat /proc/sys/kernel/random/uuid)\"]}"
  step "PUT allocations" req "$port" PUT "/allocations/$(cat /proc/sys/kernel/random/uuid)" 1.28 \
    "{\"allocations\": {\"$root\": {\"resources\": {\"VCPU\": 1}}}, \"project_id\": \"p\", \"user_id\": \"u\", \"consumer_generation\": null}"
  step "PUT resource_provider (rename)" req "$port" PUT "/resource_providers/$root" 1.15 '{"name": "root-1"}'
  next_second; start=$(date +%s)
  req "$port" PUT "/resource_providers/$root" 1.15 '{"name": "root-2"}' >/dev/null
  printf '%-40s %s\n' "PUT resource_provider: its answer" "$(classify "$start")"
  req "$port" PUT "/resource_providers/$child" 1.15 '{"name": "child-1"}' >/dev/null
  printf '%-40s %s\n' "PUT child (never stamped): its answer" "$(classify "$start")"
  req "$port" PUT "/resource_providers/$child/inventories" 1.15 \
    "{\"resource_provider_generation\": 0, \"inventories\": {\"VCPU\": {\"total\": 8}}}" >/dev/null
  req "$port" PUT "/resource_providers/$child" 1.15 '{"name": "child-2"}' >/dev/null
  printf '%-40s %s\n' "PUT child after inventory: its answer" "$(classify "$start")"
}

run 18911 > "$work/rs.table"
run 18912 > "$work/py.table"
echo "placement-rs:"; cat "$work/rs.table"
echo "upstream:"; cat "$work/py.table"
if diff -q "$work/rs.table" "$work/py.table" >/dev/null; then echo "agree"; else echo "DIFFER"; exit 1; fi
