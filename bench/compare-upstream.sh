#!/usr/bin/env bash
# Side-by-side benchmark of placement-rs and upstream Python Placement on the
# same machine, in one run, on SQLite: time from process start until `GET /`
# answers, and throughput under closed-loop load of `GET /` (no database) and
# `GET /traits` (a database read of the 377 standard traits). Prints each
# figure and the ratio. Both servers listen on loopback only.
#
# Needs the conformance virtualenv (conformance/setup.sh) for upstream and
# gunicorn. Usage: bench/compare-upstream.sh [concurrency] [seconds] [workers]
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-16}
seconds=${2:-10}
workers=${3:-2}
venv=conformance/.venv
[[ -x $venv/bin/gunicorn ]] || conformance/setup.sh

cargo build --release --bin placement-api --example loadgen -q
rs=target/release/placement-api
loadgen=target/release/examples/loadgen
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/placement.conf" <<CONF
[api]
auth_strategy = noauth2
[placement_database]
connection = sqlite:///$work/bench.sqlite
sync_on_startup = True
CONF
port_rs=18901
port_py=18902

wait_up() { # url -> seconds until it answers
  local start=$(date +%s.%N)
  for _ in $(seq 1 2000); do
    curl -sf -o /dev/null "$1" && { echo "$(date +%s.%N) - $start" | bc; return; }
    sleep 0.005
  done
  echo "server at $1 did not start" >&2; exit 1
}

startup() { # name cmd... -> median of 5 start-to-ready times
  local name=$1; shift
  local times=()
  for _ in 1 2 3 4 5; do
    local start=$(date +%s.%N)
    "$@" >"$work/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 4000); do
      curl -sf -o /dev/null "$url" && break
      sleep 0.002
    done
    times+=("$(echo "$(date +%s.%N) - $start" | bc)")
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}

url=http://127.0.0.1:$port_rs/
rs_start=$(startup rs "$rs" --config-file "$work/placement.conf" --bind 127.0.0.1:$port_rs)
url=http://127.0.0.1:$port_py/
py_start=$(startup py env OS_PLACEMENT_CONFIG_DIR="$work" "$venv/bin/gunicorn" -b 127.0.0.1:$port_py -w "$workers" placement.wsgi.api:application)

"$rs" --config-file "$work/placement.conf" --bind 127.0.0.1:$port_rs >"$work/rs.log" 2>&1 &
OS_PLACEMENT_CONFIG_DIR="$work" "$venv/bin/gunicorn" -b 127.0.0.1:$port_py -w "$workers" placement.wsgi.api:application >"$work/py.log" 2>&1 &
wait_up http://127.0.0.1:$port_rs/ >/dev/null
wait_up http://127.0.0.1:$port_py/ >/dev/null

rs_load=$("$loadgen" http://127.0.0.1:$port_rs/ "$concurrency" "$seconds")
py_load=$("$loadgen" http://127.0.0.1:$port_py/ "$concurrency" "$seconds")
rps() { sed -E 's/.*"rps": ([0-9.]+).*/\1/' <<<"$1"; }
p99() { sed -E 's/.*"p99_ms": ([0-9.]+).*/\1/' <<<"$1"; }

echo "startup to first answer (median of 5):  placement-rs ${rs_start}s   upstream ${py_start}s   ratio $(echo "scale=1; $py_start / $rs_start" | bc)x"
echo "GET / at concurrency $concurrency for ${seconds}s (upstream: gunicorn -w $workers):"
echo "  placement-rs $rs_load"
echo "  upstream     $py_load"
echo "  throughput ratio $(echo "scale=1; $(rps "$rs_load") / $(rps "$py_load")" | bc)x, p99 ratio $(echo "scale=1; $(p99 "$py_load") / $(p99 "$rs_load")" | bc)x"

auth=("x-auth-token: admin" "openstack-api-version: placement 1.6")
rs_traits=$("$loadgen" http://127.0.0.1:$port_rs/traits "$concurrency" "$seconds" "${auth[@]}")
py_traits=$("$loadgen" http://127.0.0.1:$port_py/traits "$concurrency" "$seconds" "${auth[@]}")
echo "GET /traits (377 rows from the database) at concurrency $concurrency for ${seconds}s:"
echo "  placement-rs $rs_traits"
echo "  upstream     $py_traits"
echo "  throughput ratio $(echo "scale=1; $(rps "$rs_traits") / $(rps "$py_traits")" | bc)x, p99 ratio $(echo "scale=1; $(p99 "$py_traits") / $(p99 "$rs_traits")" | bc)x"
