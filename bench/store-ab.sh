#!/usr/bin/env bash
# A/B of two placement-api builds (say, before and after a store change) on
# one SQLite database, in alternating rounds so machine noise hits both
# alike. Scenarios (closed loop, crates/placement/examples/loadgen.rs):
#
#  * GET /traits (1.6): 377 standard traits;
#  * GET /resource_providers?resources=VCPU:1 (1.4) over 10,000 providers,
#    each with VCPU inventory (inserted straight into the database);
#  * GET /allocations/{consumer} (1.38) of one consumer on two providers.
#
# Prints each round and, per scenario, the median requests/s and p50
# latency of A and B, with B/A throughput and A/B latency ratios.
#
# Usage: bench/store-ab.sh A-binary B-binary [rounds] [seconds] [concurrency]
#        (loadgen from target/release/examples/loadgen, or $LOADGEN)
set -euo pipefail
cd "$(dirname "$0")/.."
a=${1:?A binary}; b=${2:?B binary}
rounds=${3:-3}; seconds=${4:-3}; concurrency=${5:-4}
loadgen=${LOADGEN:-target/release/examples/loadgen}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/placement.conf" <<CONF
[api]
auth_strategy = noauth2
[placement_database]
connection = sqlite:///$work/bench.sqlite
sync_on_startup = True
CONF
port=18931
start() { "$1" --config-file "$work/placement.conf" --bind 127.0.0.1:$port >>"$work/server.log" 2>&1 &
  for _ in $(seq 1 400); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && return; sleep 0.05; done
  echo "server did not start" >&2; exit 1; }
stop() { kill "$(jobs -p)" 2>/dev/null || true; wait 2>/dev/null || true; }

# Schema and standard data, then 10,000 providers with VCPU inventory.
start "$a"; stop
python3 - "$work/bench.sqlite" <<'PY'
import sqlite3, sys, uuid
db = sqlite3.connect(sys.argv[1])
now = "2026-01-01 00:00:00.000000"
for i in range(10000):
    cur = db.execute(
        "INSERT INTO resource_providers (uuid, name, generation, created_at) VALUES (?, ?, 1, ?)",
        (str(uuid.uuid4()), f"bench-{i}", now))
    rp = cur.lastrowid
    db.execute("UPDATE resource_providers SET root_provider_id = id WHERE id = ?", (rp,))
    db.execute(
        "INSERT INTO inventories (resource_provider_id, resource_class_id, total, reserved,"
        " min_unit, max_unit, step_size, allocation_ratio, created_at)"
        " VALUES (?, 0, 64, 0, 1, 64, 1, 1.0, ?)", (rp, now))
db.commit()
PY
start "$a"
uuid_of() { curl -s "http://127.0.0.1:$port/resource_providers?name=$1" -H "x-auth-token: admin" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["resource_providers"][0]["uuid"])'; }
rp1=$(uuid_of bench-0); rp2=$(uuid_of bench-1)
consumer=$(cat /proc/sys/kernel/random/uuid)
curl -sf -o /dev/null -X PUT "http://127.0.0.1:$port/allocations/$consumer" -H "x-auth-token: admin" \
  -H "openstack-api-version: placement 1.38" -H "content-type: application/json" \
  --data "{\"allocations\": {\"$rp1\": {\"resources\": {\"VCPU\": 1}}, \"$rp2\": {\"resources\": {\"VCPU\": 2}}}, \"project_id\": \"p\", \"user_id\": \"u\", \"consumer_generation\": null, \"consumer_type\": \"INSTANCE\"}"
stop

scenarios=(traits providers allocations)
declare -A url version
url[traits]=/traits; version[traits]=1.6
url[providers]="/resource_providers?resources=VCPU:1"; version[providers]=1.4
url[allocations]=/allocations/$consumer; version[allocations]=1.38
declare -A results p50s
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$a; [[ $side == B ]] && bin=$b
    start "$bin"
    for s in "${scenarios[@]}"; do
      out=$("$loadgen" "http://127.0.0.1:$port${url[$s]}" "$concurrency" "$seconds" \
        "x-auth-token: admin" "openstack-api-version: placement ${version[$s]}")
      r=$(sed -E 's/.*"rps": ([0-9.]+).*/\1/' <<<"$out")
      results[$s,$side]+="$r "
      p50s[$s,$side]+="$(sed -E 's/.*"p50_ms": ([0-9.]+).*/\1/' <<<"$out") "
      echo "round $round $side $s: $out"
    done
    stop
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo
for s in "${scenarios[@]}"; do
  ma=$(median <<<"${results[$s,A]}"); mb=$(median <<<"${results[$s,B]}")
  pa=$(median <<<"${p50s[$s,A]}"); pb=$(median <<<"${p50s[$s,B]}")
  printf '%-12s A %9s rps %9s ms p50   B %9s rps %9s ms p50   rps B/A %s   p50 A/B %s\n' \
    "$s" "$ma" "$pa" "$mb" "$pb" "$(echo "scale=2; $mb / $ma" | bc)" "$(echo "scale=2; $pa / $pb" | bc)"
done
