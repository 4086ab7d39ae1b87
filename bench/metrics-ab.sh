#!/usr/bin/env bash
# What Prometheus metrics cost on `GET /allocations/{consumer}`: one
# placement-api binary (release build), two servers on two copies of the
# same SQLite data, one with `[metrics] bind` and one without, measured in
# alternating rounds (off, on, off, on, …) so drift on the shared machine
# falls on both alike. Each round is crates/placement/examples/loadgen.rs at
# the same concurrency for the same time, cycling over the same consumers.
#
# Prints each round's requests/s, p50/p99 and the server's CPU time per
# request (user + system, from /proc, divided by the requests answered),
# then each side's median and the ratios on/off (1.00 = no cost). CPU time
# per request is the figure to read on a shared machine: throughput moves
# with whatever else runs, the server's own CPU per request much less. The
# metrics server is scraped at the end to show that it counted what it
# served.
#
# Then crates/placement/examples/metrics_cost.rs repeats the A/B in
# process (no network, one thread, alternating batches), on `GET /` (no
# database: the metrics layer's own cost stands out) and on
# `GET /allocations/{consumer}`, and prints each side's minimum and median
# microseconds per request. Only loopback addresses are used.
#
# Usage: bench/metrics-ab.sh [rounds] [concurrency] [seconds]
# BENCH_NO_BUILD=1 skips `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
concurrency=${2:-8}
seconds=${3:-8}
consumers=50

[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --bin placement-api --example loadgen --example metrics_cost -q
rs=target/release/placement-api
loadgen=target/release/examples/loadgen

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME EXTRA_CONFIG: a server with its own directory and database;
# sets $port. (Not in a command substitution: the server must stay this
# shell's child so cleanup can stop it.)
start() {
  local name=$1 extra=$2 dir=$work/$1
  mkdir -p "$dir"
  port=$(free_port)
  cat >"$dir/placement.conf" <<EOF
[api]
auth_strategy = noauth2
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

metrics_port=$(free_port)
start off ""
off_port=$port
off_pid=${pids[-1]}
start on "[metrics]
bind = 127.0.0.1:$metrics_port"
on_port=$port
on_pid=${pids[-1]}
# A process's user + system CPU time, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# The same data on both: one provider, $consumers consumers with one
# allocation each (fixed uuids, so both servers read the same rows).
uuids=$work/consumers.txt
python3 -c "import uuid; [print(uuid.UUID(int=i + 1)) for i in range($consumers)]" >"$uuids"
rp=11111111-2222-3333-4444-555555555555
for port in "$off_port" "$on_port"; do
  api() { curl -sf -m 10 -o /dev/null -w '%{http_code}' -H 'x-auth-token: admin' \
    -H 'openstack-api-version: placement 1.39' -H 'content-type: application/json' "$@"; }
  api -X POST -d "{\"name\": \"bench\", \"uuid\": \"$rp\"}" "http://127.0.0.1:$port/resource_providers" >/dev/null
  api -X PUT -d '{"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 100000}}}' \
    "http://127.0.0.1:$port/resource_providers/$rp/inventories" >/dev/null
  while read -r c; do
    code=$(api -X PUT -d "{\"allocations\": {\"$rp\": {\"resources\": {\"VCPU\": 1}}}, \"project_id\": \"p\", \"user_id\": \"u\", \"consumer_generation\": null, \"consumer_type\": \"INSTANCE\"}" \
      "http://127.0.0.1:$port/allocations/$c")
    [[ $code == 204 ]] || { echo "allocation write answered $code" >&2; exit 1; }
  done <"$uuids"
done

run() {
  "$loadgen" "http://127.0.0.1:$1/allocations/{uuid}" "$concurrency" "$seconds" \
    "x-auth-token: admin" "openstack-api-version: placement 1.39" --uuids "$uuids" --expect 200
}

echo "GET /allocations/{consumer}, $concurrency clients, ${seconds}s a round, $rounds rounds a side, alternating (SQLite, $consumers consumers)"
results=$work/results.txt
: >"$results"
for round in $(seq 1 "$rounds"); do
  for side in off on; do
    port=$off_port pid=$off_pid
    [[ $side == on ]] && port=$on_port pid=$on_pid
    before=$(cpu_ticks "$pid")
    line=$(run "$port")
    after=$(cpu_ticks "$pid")
    echo "$side $((after - before)) $line" >>"$results"
    python3 - "$round" "$side" "$((after - before))" "$ticks_per_second" "$line" <<'PY'
import json, sys
r, side, ticks, hz, line = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
cpu_us = ticks / hz * 1e6 / max(line["requests"], 1)
print(f"  round {r} metrics {side:<3} {line['rps']:>9.0f} req/s  p50 {line.get('p50_ms', 0):.3f} ms  "
      f"p99 {line.get('p99_ms', 0):.3f} ms  server CPU {cpu_us:.1f} us/request")
PY
  done
done
python3 - "$results" "$ticks_per_second" <<'PY'
import json, statistics, sys
hz = int(sys.argv[2])
rps = {"off": [], "on": []}
cpu = {"off": [], "on": []}
for line in open(sys.argv[1]):
    side, ticks, data = line.split(" ", 2)
    data = json.loads(data)
    rps[side].append(data["rps"])
    cpu[side].append(int(ticks) / hz * 1e6 / max(data["requests"], 1))
med = statistics.median
cpu_pairs = [b / a for a, b in zip(cpu["off"], cpu["on"])]
rps_pairs = [b / a for a, b in zip(rps["off"], rps["on"])]
print(f"  server CPU per request, median: off {med(cpu['off']):.1f} us, on {med(cpu['on']):.1f} us; "
      f"ratio on/off {med(cpu['on']) / med(cpu['off']):.3f} "
      f"(round pairs {min(cpu_pairs):.3f}..{max(cpu_pairs):.3f}, median {med(cpu_pairs):.3f})")
print(f"  throughput, median: off {med(rps['off']):.0f} req/s, on {med(rps['on']):.0f} req/s; "
      f"ratio on/off {med(rps['on']) / med(rps['off']):.3f} "
      f"(round pairs {min(rps_pairs):.3f}..{max(rps_pairs):.3f}, median {med(rps_pairs):.3f})")
PY
# The metrics server counted what it served.
curl -sf -m 5 "http://127.0.0.1:$metrics_port/metrics" \
  | grep -E '^placement_http_requests_total\{route="/allocations/\{consumer_uuid\}",method="GET"' \
  | sed 's/^/  scraped: /'
echo "In process, one thread, alternating batches (us per request; min is the least disturbed):"
target/release/examples/metrics_cost 40 5000 / | sed 's/^/  /'
target/release/examples/metrics_cost 40 2000 | sed 's/^/  /'
