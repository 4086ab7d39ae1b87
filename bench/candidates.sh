#!/usr/bin/env bash
# GET /allocation_candidates, placement-rs side by side with upstream Python
# Placement in one run, on SQLite and PostgreSQL: upstream's CI performance
# workload plus the wide-tree shapes of its candidate-explosion bugs.
#
# Scenarios (the query of each at microversion 1.39, upstream's `latest`):
#
#  * flat N (N = 1,000 and 10,000): upstream's perfload job
#    (gate/perfload-server.sh and perfload-runner.sh, providers made by the
#    placeload tool): N compute nodes with VCPU 32 (max_unit 16), MEMORY_MB
#    8192 (min_unit 128), DISK_GB 8192 (min_unit 5), each in 1, 2 or 3 of
#    three aggregates and with 1, 2 or 3 of AVX2/SSE2/SSD, all in the first
#    aggregate and with AVX2. Query:
#      resources=VCPU:1,DISK_GB:10,MEMORY_MB:256&member_of=<agg 1>&required=HW_CPU_X86_AVX2
#    (N candidates).
#  * nested N (N = 1,000 and 10,000 trees): upstream's nested perfload job
#    (gate/perfload-nested-runner.sh, trees from gate/gabbits/nested-perfload.yaml):
#    trees of 7 providers, a compute node with DISK_GB, two NUMA nodes with
#    VCPU/MEMORY_MB, two FPGAs under one, an FPGA and a VGPU under the other.
#    Query:
#      resources=DISK_GB:10&required=COMPUTE_VOLUME_MULTI_ATTACH
#      &resources_COMPUTE=VCPU:1,MEMORY_MB:256&required_COMPUTE=CUSTOM_FOO
#      &resources_FPGA=FPGA:1&group_policy=none&same_subtree=_COMPUTE,_FPGA
#    (2 candidates a tree), and the same with limit=10.
#  * wide (once per backend, whatever the scale), the trees of upstream's
#    test_allocation_candidates.py: roots with VCPU 8, MEMORY_MB 4096,
#    DISK_GB 500 and single-class children (CUSTOM_VF); every query has the
#    unsuffixed group resources=DISK_GB:20,MEMORY_MB:2048,VCPU:2 and
#    suffixed groups resources<i>=CUSTOM_VF:1:
#    - bug 2126751: 1 root, 8 children of 1 unit, 8 groups,
#      group_policy=isolate, with limit=1000 (1,000 candidates) and without
#      a limit (all 8! = 40,320);
#    - bug 2160721: 1 root, 63 children of 1 unit, 64 groups,
#      group_policy=none: the answer must be empty;
#    - bug 2070257: 2 roots, 8 children of 8 units, 6 groups,
#      group_policy=none, limit=1000 (524,288 exist).
#    Upstream runs with its 16.0.0 defaults (max_allocation_candidates = -1,
#    no wide-tree workaround), so it enumerates everything before `limit`.
#
# Each figure: one request first (its latency and candidate count are
# printed, and a count other than expected is flagged), then a closed loop of 10 clients
# for --seconds (crates/placement/examples/candload.rs): p50, p99 and
# requests per second, for both servers, and the throughput ratio. A request
# that takes longer than --timeout is recorded as "timeout >Ns" and the
# server is restarted (upstream's worker would go on computing); when one
# request alone takes longer than --seconds the loop is skipped and that
# single latency is shown. When placement-rs answers 404 for the route
# (not built yet), its side is skipped and says so.
#
# Memory: the growth of placement-api's peak RSS (VmHWM in /proc/<pid>/status)
# over one flat request, on a freshly started process (and the same for a
# fresh upstream gunicorn worker, -w 1).
#
# Loading: each scenario gets fresh private databases. The providers are
# created once through placement-rs's HTTP API (the same calls upstream's
# jobs make, 16 at a time; SQLite files in /dev/shm, PostgreSQL with
# synchronous_commit off while loading); then the database is copied for
# upstream (a SQLite backup, or CREATE DATABASE ... TEMPLATE after ANALYZE
# on PostgreSQL), so both servers answer over identical rows. Both use the
# same schema, which upstream checks at startup (sync_on_startup).
# Upstream's jobs also write a few allocations between timings; this does
# not (every `used` is 0).
#
# Needs the conformance virtualenv (conformance/setup.sh; BENCH_VENV points
# at another one) for upstream; PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust auth) and psql for --db postgresql: it creates and drops
# uniquely named databases. Servers listen on loopback only.
#
# Usage: bench/candidates.sh [--db sqlite|postgresql|all] [--scale 1000|10000|all]
#            [--seconds S] [--timeout T] [--wide-timeout T] [--workers W] [--no-wide]
# Defaults: --db all, --scale all, --seconds 10, --timeout 60 (flat and
# nested), --wide-timeout 20 (wide trees), --workers 2 (upstream gunicorn
# workers). --scale takes any provider/tree count; --no-wide skips the wide
# trees. A full run (both backends, both scales) takes
# about half an hour on 2 cores. BENCH_NO_BUILD=1 skips `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
dbs=(sqlite postgresql)
scales=(1000 10000)
seconds=10
timeout=60
workers=2
wide=1
wide_timeout=20
while (($#)); do
  case $1 in
    --db)
      case ${2:-} in
        all) dbs=(sqlite postgresql) ;;
        sqlite|postgresql) dbs=("$2") ;;
        *) echo "--db needs sqlite, postgresql or all" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --scale)
      case ${2:-} in
        all) scales=(1000 10000) ;;
        [1-9]*) scales=("$2") ;;
        *) echo "--scale needs a number or all" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs a number}; shift 2 ;;
    --workers) workers=${2:?--workers needs a number}; shift 2 ;;
    --wide-timeout) wide_timeout=${2:?--wide-timeout needs a number}; shift 2 ;;
    --no-wide) wide=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
concurrency=10
venv=${BENCH_VENV:-conformance/.venv}
[[ -x $venv/bin/gunicorn ]] || conformance/setup.sh
[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --bin placement-api --example candload -q
rs=target/release/placement-api
candload=target/release/examples/candload
port_rs=${BENCH_PORT_RS:-18931}
port_py=${BENCH_PORT_PY:-18932}
# SQLite files live in memory when /dev/shm is there: loading then does
# not wait for fsync, and reading is the same for both servers.
if [[ -d /dev/shm && -w /dev/shm ]]; then work=$(mktemp -d -p /dev/shm); else work=$(mktemp -d); fi
pg_dbs=()
rs_pid=
py_pid=
rows=()
psql_admin() { PGOPTIONS='--client-min-messages=warning' psql -h 127.0.0.1 -p 5432 -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -qAtc "$1"; }
stop() { # pid: SIGTERM, and SIGKILL after 5 s
  [[ -n $1 ]] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop "$rs_pid"
  stop "$py_pid"
  for d in "${pg_dbs[@]}"; do
    psql_admin "DROP DATABASE IF EXISTS $d WITH (FORCE)" || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

new_db() { # backend name -> db_url: a fresh, empty database
  if [[ $1 == postgresql ]]; then
    local d=placement_cand_$$_$2
    psql_admin "DROP DATABASE IF EXISTS $d WITH (FORCE)"
    pg_dbs+=("$d")
    psql_admin "CREATE DATABASE $d"
    # Only while loading: commits need not wait for the disk (reset before
    # the copy; reads never wait for it anyway).
    psql_admin "ALTER DATABASE $d SET synchronous_commit = off"
    db_url=postgresql+psycopg2://postgres@127.0.0.1:5432/$d
  else
    db_url=sqlite:///$work/$2.sqlite
  fi
}

copy_db() { # backend from-name to-name -> db_url: the copy (the source must be idle)
  if [[ $1 == postgresql ]]; then
    local from=placement_cand_$$_$2 to=placement_cand_$$_$3
    psql_admin "ALTER DATABASE $from RESET synchronous_commit"
    psql_admin "ANALYZE" "$from"
    psql_admin "DROP DATABASE IF EXISTS $to WITH (FORCE)"
    pg_dbs+=("$to")
    psql_admin "CREATE DATABASE $to TEMPLATE $from"
    db_url=postgresql+psycopg2://postgres@127.0.0.1:5432/$to
  else
    "$venv/bin/python" -c 'import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()' "$work/$2.sqlite" "$work/$3.sqlite"
    db_url=sqlite:///$work/$3.sqlite
  fi
}

conf() { # dir url
  mkdir -p "$1"
  cat > "$1/placement.conf" <<CONF
[api]
auth_strategy = noauth2
[placement_database]
connection = $2
sync_on_startup = True
CONF
}

wait_up() { # port
  for _ in $(seq 1 3000); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.01
  done
  echo "the server on port $1 did not start" >&2
  exit 1
}

start_rs() { # url
  conf "$work/rs" "$1"
  "$rs" --config-file "$work/rs/placement.conf" --bind 127.0.0.1:$port_rs >>"$work/rs.log" 2>&1 &
  rs_pid=$!
  wait_up $port_rs
}

start_py() { # url [workers]
  conf "$work/py" "$1"
  # gunicorn's own worker timeout stays above ours, so a slow answer ends as
  # our timeout, not as a killed worker.
  OS_PLACEMENT_CONFIG_DIR="$work/py" "$venv/bin/gunicorn" -b 127.0.0.1:$port_py \
    -w "${2:-$workers}" --timeout $((timeout + 60)) --graceful-timeout 2 placement.wsgi.api:application >>"$work/py.log" 2>&1 &
  py_pid=$!
  wait_up $port_py
}

stop_servers() {
  stop "$rs_pid"; rs_pid=
  stop "$py_pid"; py_pid=
}

field() { sed -nE "s/.*\"$2\": \"?([^,\"}]*).*/\1/p" <<<"$1"; }

ratio() { # numerator denominator -> "N.Nx", or "n/a"
  if [[ -n $1 && -n $2 && $(echo "$1 > 0 && $2 > 0" | bc) == 1 ]]; then
    echo "$(echo "scale=1; $1 / $2" | bc)x"
  else
    echo "n/a"
  fi
}

# One side's cells: "candidates | one request ms | p50 / p99 ms | req/s",
# from candload's JSON.
cells() { # json expected
  local json=$1 status
  status=$(field "$json" status)
  case $status in
    200) ;;
    timeout) echo "- | timeout >${timeout}s | - | -"; return ;;
    skipped) echo "- | skipped: 404, route missing | - | -"; return ;;
    *) echo "- | answered $status | - | -"; return ;;
  esac
  local n mark=""
  n=$(field "$json" candidates)
  [[ $n == "$2" ]] || mark=" (expected $2!)"
  if [[ $(field "$json" loop) == skipped ]]; then
    echo "$n$mark | $(field "$json" first_ms) | loop skipped | -"
    return
  fi
  local extra=""
  (($(field "$json" timeouts) + $(field "$json" errors) == 0)) \
    || extra=" ($(field "$json" timeouts) timeouts, $(field "$json" errors) errors)"
  echo "$n$mark | $(field "$json" first_ms) | $(field "$json" p50_ms) / $(field "$json" p99_ms) | $(field "$json" rps)$extra"
}

measure() { # port query
  "$candload" measure "http://127.0.0.1:$1/allocation_candidates?$2" \
    --concurrency $concurrency --seconds "$seconds" --timeout "$timeout"
}

# Measures one query on both running servers and records a table row.
scenario() { # backend label expected query
  local backend=$1 label=$2 expected=$3 query=$4 rs_json py_json
  log "$backend: $label"
  rs_json=$(measure $port_rs "$query")
  if [[ $(field "$rs_json" status) == 404 ]]; then
    rs_json='{"status": "skipped"}'
  elif [[ $(field "$rs_json" status) == timeout || $(field "$rs_json" timeouts) =~ ^[1-9] ]]; then
    local url=$rs_url; stop "$rs_pid"; start_rs "$url"
  fi
  py_json=$(measure $port_py "$query")
  if [[ $(field "$py_json" status) == timeout || $(field "$py_json" timeouts) =~ ^[1-9] ]]; then
    local url=$py_url; stop "$py_pid"; start_py "$url"
  fi
  log "  placement-rs $rs_json"
  log "  upstream     $py_json"
  rows+=("| $label | $backend | $(cells "$rs_json" "$expected") | $(cells "$py_json" "$expected") | $(compare "$rs_json" "$py_json") |")
}

# The throughput ratio; when a loop was skipped, the ratio of single-request
# latencies; when only upstream timed out, a lower bound of that.
compare() { # rs-json py-json
  local r
  r=$(ratio "$(field "$1" rps)" "$(field "$2" rps)")
  [[ $r == n/a ]] || { echo "$r"; return; }
  if [[ $(field "$1" status) == 200 && $(field "$2" status) == 200 ]]; then
    r=$(ratio "$(field "$2" first_ms)" "$(field "$1" first_ms)")
    [[ $r == n/a ]] || { echo "$r (one-request latency)"; return; }
  elif [[ $(field "$1" status) == 200 && $(field "$2" status) == timeout ]]; then
    r=$(ratio "$((timeout * 1000))" "$(field "$1" first_ms)")
    [[ $r == n/a ]] || { echo ">$r (one-request latency)"; return; }
  fi
  echo "n/a"
}

# Loads a shape through placement-rs into a fresh database, copies it for
# upstream, and starts both servers over their copies.
prepare() { # backend name candload-load-args...
  local backend=$1 name=$2; shift 2
  new_db "$backend" "${name}_rs"
  rs_url=$db_url
  start_rs "$rs_url"
  log "$backend: loading $name: $("$candload" load "http://127.0.0.1:$port_rs" "$@")"
  stop "$rs_pid"; rs_pid=
  copy_db "$backend" "${name}_rs" "${name}_py"
  py_url=$db_url
  start_rs "$rs_url"
  start_py "$py_url"
}

hwm() { sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$1/status"; }

# Peak-RSS growth of a fresh process over one request.
memory() { # backend label query
  local backend=$1 label=$2 query=$3 before after rs_cell py_cell worker status
  stop_servers
  start_rs "$rs_url"
  before=$(hwm "$rs_pid")
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$timeout" \
    -H 'x-auth-token: admin' -H 'openstack-api-version: placement 1.39' \
    "http://127.0.0.1:$port_rs/allocation_candidates?$query" || true)
  after=$(hwm "$rs_pid")
  if [[ $status == 200 ]]; then
    rs_cell="$(((after - before) / 1024)) MB (peak $((after / 1024)) MB)"
  else
    rs_cell="skipped: answered $status"
  fi
  start_py "$py_url" 1
  worker=$(ps -o pid= --ppid "$py_pid" | head -n 1 | tr -d ' ')
  before=$(hwm "$worker")
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$timeout" \
    -H 'x-auth-token: admin' -H 'openstack-api-version: placement 1.39' \
    "http://127.0.0.1:$port_py/allocation_candidates?$query" || true)
  after=$(hwm "$worker")
  py_cell="$(((after - before) / 1024)) MB (peak $((after / 1024)) MB), answered $status"
  log "$backend: peak RSS growth over one $label request: placement-rs $rs_cell; upstream worker $py_cell"
  mem_rows+=("| $label | $backend | $rs_cell | $py_cell |")
  stop_servers
}
mem_rows=()

flat_query="resources=VCPU:1,DISK_GB:10,MEMORY_MB:256&member_of=14a5c8a3-5a99-4e8f-88be-00d85fcb1c17&required=HW_CPU_X86_AVX2"
nested_query="resources=DISK_GB:10&required=COMPUTE_VOLUME_MULTI_ATTACH&resources_COMPUTE=VCPU:1,MEMORY_MB:256&required_COMPUTE=CUSTOM_FOO&resources_FPGA=FPGA:1&group_policy=none&same_subtree=_COMPUTE,_FPGA"
wide_query() { # groups policy [limit]
  local q="resources=DISK_GB:20,MEMORY_MB:2048,VCPU:2"
  for ((g = 0; g < $1; g++)); do q+="&resources$g=CUSTOM_VF:1"; done
  q+="&group_policy=$2"
  [[ -z ${3:-} ]] || q+="&limit=$3"
  echo "$q"
}

start=$(date +%s)
for backend in "${dbs[@]}"; do
  for scale in "${scales[@]}"; do
    prepare "$backend" "flat$scale" flat "$scale"
    scenario "$backend" "flat $scale" "$scale" "$flat_query"
    memory "$backend" "flat $scale" "$flat_query"

    prepare "$backend" "nested$scale" nested "$scale"
    scenario "$backend" "nested $scale" $((2 * scale)) "$nested_query"
    scenario "$backend" "nested $scale limit=10" 10 "$nested_query&limit=10"
    stop_servers
  done
  if ((wide)); then
    workload_timeout=$timeout
    timeout=$wide_timeout
    prepare "$backend" wide8 wide 1 8 1
    scenario "$backend" "bug 2126751: 8x8 isolate limit=1000" 1000 "$(wide_query 8 isolate 1000)"
    scenario "$backend" "bug 2126751: 8x8 isolate unlimited" 40320 "$(wide_query 8 isolate)"
    stop_servers
    prepare "$backend" wide63 wide 1 63 1
    scenario "$backend" "bug 2160721: 64 groups vs 63 devices" 0 "$(wide_query 64 none 10000)"
    stop_servers
    prepare "$backend" wide2x8x8 wide 2 8 8
    scenario "$backend" "bug 2070257: 2x8x8, 6 groups limit=1000" 1000 "$(wide_query 6 none 1000)"
    stop_servers
    timeout=$workload_timeout
  fi
done

echo
echo "GET /allocation_candidates at concurrency $concurrency, ${seconds}s per figure (upstream: gunicorn -w $workers), $(( $(date +%s) - start ))s in all"
echo
echo "| scenario | db | candidates (rs) | rs one request ms | rs p50 / p99 ms | rs req/s | candidates (upstream) | upstream one request ms | upstream p50 / p99 ms | upstream req/s | throughput ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| peak RSS growth over one request (fresh process) | db | placement-rs | upstream (one gunicorn worker) |"
echo "|---|---|---|---|"
printf '%s\n' "${mem_rows[@]}"
