#!/usr/bin/env bash
# Captures the schema upstream placement 16.0.0 builds, once per backend, as
# the fixtures crates/placement-store/tests/schema.rs compares our
# migrations with:
#   crates/placement-store/tests/fixtures/upstream-schema-{sqlite,postgresql,mysql}.json
#
# For each backend it creates a scratch database, runs upstream's
# `placement-manage db sync` on it, describes it with our describer
# (examples/describe-schema.rs, which reads only the catalog), and drops it.
# SQLite is always captured; PostgreSQL and MySQL/MariaDB when
# PLACEMENT_TEST_POSTGRES_URL / PLACEMENT_TEST_MYSQL_URL name an
# administrative connection (the same variables the tests use), e.g.
#   PLACEMENT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
#   PLACEMENT_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/mysql
#
# Upstream is pip-installed into a temporary venv; set UPSTREAM_VENV to an
# existing venv that has openstack-placement==16.0.0, psycopg2-binary and
# PyMySQL to skip that.
set -euo pipefail

PLACEMENT_VERSION=16.0.0

repo_root=$(cd "$(dirname "$0")/.." && pwd)
fixtures="$repo_root/crates/placement-store/tests/fixtures"
work=$(mktemp -d "${TMPDIR:-/tmp}/placement-capture-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -n "${UPSTREAM_VENV:-}" ]]; then
    venv="$UPSTREAM_VENV"
else
    venv="$work/venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "openstack-placement==$PLACEMENT_VERSION" psycopg2-binary PyMySQL
fi
installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openstack-placement"))')
if [[ "$installed" != "$PLACEMENT_VERSION" ]]; then
    echo "upstream venv has openstack-placement $installed, want $PLACEMENT_VERSION" >&2
    exit 1
fi

(cd "$repo_root" && cargo build --quiet -p placement-store --example describe-schema)
describe="$repo_root/target/debug/examples/describe-schema"

# Creates or drops a scratch database through the admin URL, and prints the
# SQLAlchemy URL of the scratch database (for placement.conf) and ours.
admin() {
    "$venv/bin/python" - "$@" <<'PY'
import sys
import urllib.parse as up

action, admin_url, name = sys.argv[1:4]
u = up.urlsplit(admin_url)
scheme = u.scheme.split("+")[0]
if scheme in ("postgresql", "postgres"):
    import psycopg2
    conn = psycopg2.connect(host=u.hostname, port=u.port or 5432, user=u.username,
                            password=u.password, dbname=u.path.lstrip("/") or "postgres")
    conn.autocommit = True
    driver = "postgresql+psycopg2"
    ours = "postgresql"
    drop = f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
else:
    import pymysql
    conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username,
                           password=u.password or "", autocommit=True)
    driver = "mysql+pymysql"
    ours = "mysql"
    drop = f"DROP DATABASE IF EXISTS {name}"
with conn.cursor() as cur:
    # Upstream's install guide creates the database with no charset clause,
    # so the tables inherit the server's default.
    cur.execute(f"CREATE DATABASE {name}" if action == "create" else drop)
conn.close()
if action == "create":
    netloc = u.netloc
    print(f"{driver}://{netloc}/{name}")
    print(f"{ours}://{netloc}/{name}")
PY
}

capture() {
    local backend=$1 upstream_url=$2 our_url=$3
    cat > "$work/placement-$backend.conf" <<EOF
[placement_database]
connection = $upstream_url
EOF
    "$venv/bin/placement-manage" --config-file "$work/placement-$backend.conf" db sync
    "$describe" "$our_url" > "$fixtures/upstream-schema-$backend.json"
    echo "captured $fixtures/upstream-schema-$backend.json"
}

mkdir -p "$fixtures"
scratch="placement_capture_$$_$RANDOM"

capture sqlite "sqlite:///$work/upstream.sqlite" "sqlite:///$work/upstream.sqlite"

if [[ -n "${PLACEMENT_TEST_POSTGRES_URL:-}" ]]; then
    mapfile -t urls < <(admin create "$PLACEMENT_TEST_POSTGRES_URL" "$scratch")
    capture postgresql "${urls[0]}" "${urls[1]}" || status=$?
    admin drop "$PLACEMENT_TEST_POSTGRES_URL" "$scratch" >/dev/null
    [[ -z "${status:-}" ]] || exit "$status"
fi

if [[ -n "${PLACEMENT_TEST_MYSQL_URL:-}" ]]; then
    mapfile -t urls < <(admin create "$PLACEMENT_TEST_MYSQL_URL" "$scratch")
    capture mysql "${urls[0]}" "${urls[1]}" || status=$?
    admin drop "$PLACEMENT_TEST_MYSQL_URL" "$scratch" >/dev/null
    [[ -z "${status:-}" ]] || exit "$status"
fi
