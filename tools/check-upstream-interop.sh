#!/usr/bin/env bash
# The drop-in database contract, checked with upstream's own tools: for each
# server backend, our `placement-manage db sync` builds a scratch database,
# then upstream's `placement-manage db version` must report the head revision
# and upstream's `placement-status upgrade check` must pass on it.
#
# Uses the conformance virtualenv (openstack-placement 16.0.0 from PyPI).
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and MariaDB on
# 127.0.0.1:3306 (root); creates and drops its own databases.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=conformance/.venv
[[ -x $venv/bin/placement-manage ]] || conformance/setup.sh
cargo build -q --bin placement-manage
ours=target/debug/placement-manage
head=a082b8bb98d0
name=placement_interop_$$_$RANDOM
work=$(mktemp -d)
cleanup() {
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
  mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $name"
mysql -h 127.0.0.1 -uroot -e "CREATE DATABASE $name"

status=0
for url in "postgresql+psycopg2://postgres@127.0.0.1:5432/$name" \
           "mysql+pymysql://root@127.0.0.1:3306/$name?charset=utf8"; do
  printf '[placement_database]\nconnection = %s\n' "$url" > "$work/placement.conf"
  "$ours" --config-file "$work/placement.conf" db sync
  got=$("$venv/bin/placement-manage" --config-file "$work/placement.conf" db version 2>/dev/null | tail -n1)
  if [[ "$got" == "$head" ]]; then
    echo "ok: upstream placement-manage db version reads ${url%%:*} database as $got"
  else
    echo "FAIL: upstream placement-manage db version on ${url%%:*} said '$got', want $head" >&2
    status=1
  fi
  if "$venv/bin/placement-status" --config-file "$work/placement.conf" upgrade check >"$work/status.txt" 2>&1; then
    echo "ok: upstream placement-status upgrade check passes on ${url%%:*}"
  else
    echo "FAIL: upstream placement-status upgrade check on ${url%%:*}:" >&2
    cat "$work/status.txt" >&2
    status=1
  fi
done
exit $status
