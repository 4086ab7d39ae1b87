#!/usr/bin/env bash
# Side-by-side benchmark of placement-rs and upstream Python Placement on the
# same machine, in one run, each server on a fresh database of its own
# (SQLite by default, PostgreSQL with --db postgresql). Measures:
#
#  * startup: time from process start until `GET /` answers (median of 5);
#  * `GET /` (no database) and `GET /traits` (377 standard traits);
#  * `PUT /allocations/{consumer}` at 1.38, the scheduler's claim: every
#    request a new consumer allocating VCPU 1 + MEMORY_MB 128 from one of 4
#    providers (taken in turn) with effectively unlimited inventory; every
#    answer must be 204, others are counted and reported;
#  * `GET /allocations/{consumer}` over the consumers the PUT run created on
#    that server, and `GET /resource_providers/{uuid}/usages` over the 4
#    providers.
#
# Throughput scenarios are closed loop (crates/placement/examples/loadgen.rs):
# the same concurrency and duration for both servers, one after the other.
# Both servers get the same providers (same uuids and inventories). Prints
# each figure and the ratio. Both servers listen on loopback only.
#
# Needs the conformance virtualenv (conformance/setup.sh) for upstream and
# gunicorn; --db postgresql needs PostgreSQL on 127.0.0.1:5432 (user postgres,
# trust auth) and psql: it creates and drops two uniquely named databases.
#
# Usage: bench/compare-upstream.sh [concurrency] [seconds] [workers]
#            [--db sqlite|postgresql] [--write-concurrency N]
# --write-concurrency (default: concurrency) sets the clients of the PUT
# scenario, for both servers alike. BENCH_NO_BUILD=1 skips `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
positional=()
db=sqlite
write_concurrency=
while (($#)); do
  case $1 in
    --db) db=${2:?--db needs sqlite or postgresql}; shift 2 ;;
    --write-concurrency) write_concurrency=${2:?--write-concurrency needs a number}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "unknown option $1" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
concurrency=${positional[0]:-16}
seconds=${positional[1]:-10}
workers=${positional[2]:-2}
write_concurrency=${write_concurrency:-$concurrency}
case $db in
  sqlite|postgresql) ;;
  *) echo "--db must be sqlite or postgresql, not $db" >&2; exit 2 ;;
esac
venv=conformance/.venv
[[ -x $venv/bin/gunicorn ]] || conformance/setup.sh

[[ ${BENCH_NO_BUILD:-} == 1 ]] || cargo build --release --bin placement-api --example loadgen -q
rs=target/release/placement-api
loadgen=target/release/examples/loadgen
work=$(mktemp -d)
pg_dbs=()
psql_admin() { PGOPTIONS='--client-min-messages=warning' psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAtc "$1"; }
cleanup() {
  local pids
  pids=$(jobs -p)
  if [[ -n $pids ]]; then
    kill $pids 2>/dev/null || true
    wait $pids 2>/dev/null || true
  fi
  for d in "${pg_dbs[@]}"; do
    psql_admin "DROP DATABASE IF EXISTS $d WITH (FORCE)" || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

for name in rs py; do # a fresh database for each server
  if [[ $db == postgresql ]]; then
    dbname=placement_bench_$$_$name
    psql_admin "DROP DATABASE IF EXISTS $dbname WITH (FORCE)"
    pg_dbs+=("$dbname")
    psql_admin "CREATE DATABASE $dbname"
    url=postgresql+psycopg2://postgres@127.0.0.1:5432/$dbname
  else
    url=sqlite:///$work/$name.sqlite
  fi
  mkdir -p "$work/$name"
  cat > "$work/$name/placement.conf" <<CONF
[api]
auth_strategy = noauth2
[placement_database]
connection = $url
sync_on_startup = True
CONF
done
port_rs=18901
port_py=18902
rs_cmd=("$rs" --config-file "$work/rs/placement.conf" --bind 127.0.0.1:$port_rs)
py_cmd=(env OS_PLACEMENT_CONFIG_DIR="$work/py" "$venv/bin/gunicorn" -b 127.0.0.1:$port_py -w "$workers" placement.wsgi.api:application)

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
  printf '%.4f\n' "${times[@]}" | sort -n | sed -n 3p
}

url=http://127.0.0.1:$port_rs/
rs_start=$(startup rs "${rs_cmd[@]}")
url=http://127.0.0.1:$port_py/
py_start=$(startup py "${py_cmd[@]}")

"${rs_cmd[@]}" >"$work/rs.log" 2>&1 &
"${py_cmd[@]}" >"$work/py.log" 2>&1 &
wait_up http://127.0.0.1:$port_rs/ >/dev/null
wait_up http://127.0.0.1:$port_py/ >/dev/null

rps() { sed -E 's/.*"rps": ([0-9.]+).*/\1/' <<<"$1"; }
p99() { sed -E 's/.*"p99_ms": ([0-9.]+).*/\1/' <<<"$1"; }
errors() { sed -E 's/.*"errors": ([0-9]+).*/\1/' <<<"$1"; }
ratio() { # numerator denominator -> "N.Nx", or "n/a" when either is zero
  if [[ $(echo "$1 > 0 && $2 > 0" | bc) == 1 ]]; then
    echo "$(echo "scale=1; $1 / $2" | bc)x"
  else
    echo "n/a"
  fi
}
report() { # title rs-json py-json
  echo "$1"
  echo "  placement-rs $2"
  echo "  upstream     $3"
  echo "  throughput ratio $(ratio "$(rps "$2")" "$(rps "$3")"), p99 ratio $(ratio "$(p99 "$3")" "$(p99 "$2")")"
}

echo "database: $db (a fresh one per server); upstream: gunicorn -w $workers"
echo "startup to first answer (median of 5):  placement-rs ${rs_start}s   upstream ${py_start}s   ratio $(ratio "$py_start" "$rs_start")"

rs_load=$("$loadgen" http://127.0.0.1:$port_rs/ "$concurrency" "$seconds")
py_load=$("$loadgen" http://127.0.0.1:$port_py/ "$concurrency" "$seconds")
report "GET / at concurrency $concurrency for ${seconds}s:" "$rs_load" "$py_load"

auth=("x-auth-token: admin" "openstack-api-version: placement 1.6")
rs_traits=$("$loadgen" http://127.0.0.1:$port_rs/traits "$concurrency" "$seconds" "${auth[@]}")
py_traits=$("$loadgen" http://127.0.0.1:$port_py/traits "$concurrency" "$seconds" "${auth[@]}")
report "GET /traits (377 rows from the database) at concurrency $concurrency for ${seconds}s:" "$rs_traits" "$py_traits"

# The scheduler's hot paths. Four providers with the same uuids on both
# servers, each with effectively unlimited VCPU and MEMORY_MB.
v138=("x-auth-token: admin" "openstack-api-version: placement 1.38" "content-type: application/json")
providers=()
for i in 1 2 3 4; do providers+=("$(cat /proc/sys/kernel/random/uuid)"); done
big=1000000000
inventory="{\"total\": $big, \"max_unit\": $big}"
call() { # method url expected-status [body] -> fails loudly on another status
  local status
  status=$(curl -s -o "$work/answer" -w '%{http_code}' -X "$1" "$2" \
    -H "x-auth-token: admin" -H "openstack-api-version: placement 1.38" \
    -H "content-type: application/json" ${4:+--data "$4"})
  if [[ $status != "$3" ]]; then
    echo "$1 $2 answered $status, expected $3: $(cat "$work/answer")" >&2
    exit 1
  fi
}
for port in $port_rs $port_py; do
  for i in "${!providers[@]}"; do
    rp=${providers[$i]}
    call POST http://127.0.0.1:$port/resource_providers 200 \
      "{\"name\": \"bench-rp-$i\", \"uuid\": \"$rp\"}"
    call PUT http://127.0.0.1:$port/resource_providers/$rp/inventories 200 \
      "{\"resource_provider_generation\": 0, \"inventories\": {\"VCPU\": $inventory, \"MEMORY_MB\": $inventory}}"
  done
done
rp_list=$(IFS=,; echo "${providers[*]}")
project=$(cat /proc/sys/kernel/random/uuid)
user=$(cat /proc/sys/kernel/random/uuid)
claim="{\"allocations\": {\"{rp}\": {\"resources\": {\"VCPU\": 1, \"MEMORY_MB\": 128}}}, \"project_id\": \"$project\", \"user_id\": \"$user\", \"consumer_generation\": null, \"consumer_type\": \"INSTANCE\"}"
put() { # port server-name -> loadgen JSON; records the consumers it created
  "$loadgen" "http://127.0.0.1:$1/allocations/{uuid}" "$write_concurrency" "$seconds" "${v138[@]}" \
    --method PUT --body "$claim" --var "rp=$rp_list" --expect 204 --record "$work/$2.consumers"
}
rs_put=$(put $port_rs rs)
py_put=$(put $port_py py)
report "PUT /allocations/{new consumer} (VCPU 1 + MEMORY_MB 128, 1.38) at concurrency $write_concurrency for ${seconds}s:" "$rs_put" "$py_put"
for name in rs py; do
  json=${name}_put
  n=$(errors "${!json}")
  if [[ $n != 0 ]]; then
    label=$([[ $name == rs ]] && echo placement-rs || echo upstream)
    echo "  NOTE: $label answered $n PUTs with another status than 204: $(sed -E 's/.*"errors_by_status": //; s/}$//' <<<"${!json}")"
    grep -m 3 -i -E "database is locked|error" "$work/$name.log" | sed 's/^/    log: /' || true
  fi
done
rs_consumers=$(grep -c . "$work/rs.consumers" || true)
py_consumers=$(grep -c . "$work/py.consumers" || true)
echo "  consumers created: placement-rs $rs_consumers, upstream $py_consumers"

if ((rs_consumers > 0 && py_consumers > 0)); then
  get_alloc() { # port server-name
    "$loadgen" "http://127.0.0.1:$1/allocations/{uuid}" "$concurrency" "$seconds" "${v138[@]}" \
      --uuids "$work/$2.consumers" --expect 200
  }
  rs_get=$(get_alloc $port_rs rs)
  py_get=$(get_alloc $port_py py)
  report "GET /allocations/{consumer} over each server's own consumers at concurrency $concurrency for ${seconds}s:" "$rs_get" "$py_get"
else
  echo "GET /allocations/{consumer}: skipped, a server created no consumers"
fi

usages() { # port
  "$loadgen" "http://127.0.0.1:$1/resource_providers/{rp}/usages" "$concurrency" "$seconds" "${v138[@]}" \
    --var "rp=$rp_list" --expect 200
}
rs_usages=$(usages $port_rs)
py_usages=$(usages $port_py)
report "GET /resource_providers/{uuid}/usages over the 4 providers at concurrency $concurrency for ${seconds}s (each server sums its own allocations):" "$rs_usages" "$py_usages"
