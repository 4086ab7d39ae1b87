#!/usr/bin/env bash
# A real Keystone 30.0.0 for placement-rs's token-validation tests.
#
#   tools/keystone.sh setup [DIR]
#       Installs keystone and gunicorn in DIR/venv (from PyPI, pinned), builds a
#       SQLite database with Fernet keys, bootstraps it, creates the test
#       identities through the API and writes them to DIR/identities.env.
#       Idempotent: a DIR that is already set up is left as it is. DIR
#       defaults to target/keystone.
#   tools/keystone.sh serve DIR PORT [--expiration SECONDS] [--watch-stdin]
#       Starts an instance on 127.0.0.1:PORT (gunicorn, one sync worker) with
#       its own config and logs under DIR/run/PORT, sharing DIR's database and
#       keys, and waits until it answers. Registers region `port-PORT` with
#       identity endpoints (public, internal, admin) pointing at it, so a
#       client with `region_name = port-PORT` finds this instance in the
#       catalog, and prunes the regions of instances no longer running.
#       Prints `ready http://127.0.0.1:PORT` when done. `--expiration` sets
#       `[token] expiration` (seconds) for tokens it issues. With
#       `--watch-stdin` it then stays in the foreground until its standard
#       input closes (its parent died or let go) and stops the instance.
#   tools/keystone.sh stop DIR PORT
#       Stops the instance on PORT.
#
# Only loopback addresses are used. See shared notes on the pitfalls this
# avoids: gunicorn is started from a config file with no arguments (keystone
# parses sys.argv), readiness probes use `curl -m`, the PID comes from
# gunicorn's pidfile, and key setup runs as root.
set -euo pipefail

KEYSTONE_VERSION=30.0.0
GUNICORN_VERSION=23.0.0
ADMIN_PASSWORD=adminpass

die() {
  echo "keystone.sh: $*" >&2
  exit 1
}

abspath() {
  mkdir -p "$1"
  (cd "$1" && pwd)
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  die "keystone $KEYSTONE_VERSION needs Python >= 3.11"
}

free_port() {
  "$1/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# keystone.conf for one instance (or for keystone-manage when $2 is empty).
write_keystone_conf() {
  local dir=$1 instance=$2 expiration=$3
  local log=$dir/keystone-manage.log
  [[ -z $instance ]] || log=$instance/keystone.log
  cat <<EOF
[DEFAULT]
log_file = $log
[database]
connection = sqlite:///$dir/state/keystone.db
[token]
provider = fernet
expiration = $expiration
[fernet_tokens]
key_repository = $dir/state/fernet-keys
[fernet_receipts]
key_repository = $dir/state/fernet-keys
[credential]
key_repository = $dir/state/credential-keys
EOF
}

pid_of() {
  local pidfile=$1/run/$2/gunicorn.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

stop_instance() {
  local dir=$1 port=$2 pid
  pid=$(pid_of "$dir" "$port") || {
    rm -f "$dir/run/$port/gunicorn.pid"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/run/$port/gunicorn.pid"
}

# Starts gunicorn for PORT and waits until /v3 answers.
start_instance() {
  local dir=$1 port=$2 expiration=$3
  local run=$dir/run/$port
  stop_instance "$dir" "$port"
  mkdir -p "$run"
  write_keystone_conf "$dir" "$run" "$expiration" >"$run/keystone.conf"
  cat >"$run/gunicorn.conf.py" <<EOF
bind = "127.0.0.1:$port"
workers = 1
wsgi_app = "keystone.wsgi.api:application"
daemon = True
pidfile = "$run/gunicorn.pid"
errorlog = "$run/gunicorn-error.log"
accesslog = "$run/access.log"
EOF
  (cd "$run" && OS_KEYSTONE_CONFIG_DIR=$run "$dir/venv/bin/gunicorn" >>"$run/gunicorn-error.log" 2>&1) ||
    die "gunicorn for port $port did not start; see $run/gunicorn-error.log"
  local started=$SECONDS
  while ((SECONDS - started < 60)); do
    if curl -sf -m 2 -o /dev/null "http://127.0.0.1:$port/v3"; then
      return 0
    fi
    # The daemonized master writes its pidfile shortly after starting.
    if ! pid_of "$dir" "$port" >/dev/null && ((SECONDS - started > 10)); then
      tail -n 20 "$run/gunicorn-error.log" >&2 || true
      die "keystone on port $port exited before answering"
    fi
    sleep 0.2
  done
  stop_instance "$dir" "$port"
  tail -n 20 "$run/gunicorn-error.log" >&2 || true
  die "keystone on port $port did not answer within 60 s"
}

# The API calls of setup and serve, in Python for its JSON handling.
api() {
  "$1/venv/bin/python" - "$@" <<'PY'
import json
import os
import secrets
import sys
import urllib.error
import urllib.request

_, dir_, command, port, *rest = sys.argv
base = f"http://127.0.0.1:{port}/v3"


def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, response.headers, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        if error.code in ok:
            return error.code, error.headers, None
        raise SystemExit(f"{method} {path}: {error.code} {error.read()[:300]!r}")


def admin_token(password):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    _, headers, _ = call("POST", "/auth/tokens", body)
    return headers["X-Subject-Token"]


def find(token, collection, name):
    _, _, body = call("GET", f"/{collection}?name={name}", token=token)
    items = body[collection]
    return items[0]["id"] if items else None


def ensure(token, collection, singular, fields):
    found = find(token, collection, fields["name"])
    if found:
        return found
    _, _, body = call("POST", f"/{collection}", {singular: fields}, token=token)
    return body[singular]["id"]


if command == "identities":
    token = admin_token(rest[0])
    env = {"ADMIN_USER": "admin", "ADMIN_PASSWORD": rest[0], "DOMAIN": "Default",
           "ADMIN_PROJECT_ID": find(token, "projects", "admin")}
    projects = {}
    for name in ("service", "demo"):
        projects[name] = ensure(token, "projects", "project",
                                {"name": name, "domain_id": "default"})
        env[f"{name.upper()}_PROJECT_ID"] = projects[name]
    roles = {name: find(token, "roles", name)
             for name in ("admin", "member", "reader", "service")}
    grants = {
        "placement": [("service", "service"), ("service", "admin")],
        "demo-reader": [("demo", "reader")],
        "demo-member": [("demo", "member")],
        "demo-service": [("service", "service")],
    }
    for user, pairs in grants.items():
        password = secrets.token_hex(12)
        existing = find(token, "users", user)
        if existing:
            call("PATCH", f"/users/{existing}", {"user": {"password": password}}, token=token)
            user_id = existing
        else:
            user_id = ensure(token, "users", "user",
                             {"name": user, "domain_id": "default", "password": password})
        for project, role in pairs:
            call("PUT", f"/projects/{projects[project]}/users/{user_id}/roles/{roles[role]}",
                 token=token)
        key = user.upper().replace("-", "_")
        env[f"{key}_USER"] = user
        env[f"{key}_USER_ID"] = user_id
        env[f"{key}_PASSWORD"] = password
    target = os.path.join(dir_, "identities.env")
    with open(target + ".tmp", "w") as out:
        for key, value in env.items():
            out.write(f"{key}={value}\n")
    os.replace(target + ".tmp", target)
elif command == "register":
    token = admin_token(rest[0])
    running = set(rest[1:])
    region = f"port-{port}"
    _, _, body = call("GET", "/services?type=identity", token=token)
    service = body["services"][0]["id"]
    _, _, body = call("GET", "/regions", token=token)
    for existing in body["regions"]:
        rid = existing["id"]
        if not rid.startswith("port-"):
            continue
        if rid != region and rid[len("port-"):] in running:
            continue
        _, _, endpoints = call("GET", f"/endpoints?region_id={rid}", token=token)
        for endpoint in endpoints["endpoints"]:
            call("DELETE", f"/endpoints/{endpoint['id']}", token=token, ok=(204, 404))
        call("DELETE", f"/regions/{rid}", token=token, ok=(204, 404))
    call("POST", "/regions", {"region": {"id": region}}, token=token)
    for interface in ("public", "internal", "admin"):
        call("POST", "/endpoints", {"endpoint": {
            "service_id": service, "interface": interface, "region_id": region,
            "url": base}}, token=token)
else:
    raise SystemExit(f"unknown api command {command}")
PY
}

setup() {
  local dir
  dir=$(abspath "${1:-target/keystone}")
  if [[ -f $dir/identities.env && -x $dir/venv/bin/gunicorn && -f $dir/state/keystone.db ]]; then
    echo "keystone already set up in $dir"
    return 0
  fi
  if ! "$dir/venv/bin/python" -c "import keystone, gunicorn" 2>/dev/null ||
    [[ $("$dir/venv/bin/pip" show keystone 2>/dev/null | sed -n 's/^Version: //p') != "$KEYSTONE_VERSION" ]]; then
    local python
    python=$(find_python)
    echo "installing keystone $KEYSTONE_VERSION and gunicorn $GUNICORN_VERSION in $dir/venv"
    rm -rf "$dir/venv"
    "$python" -m venv "$dir/venv"
    "$dir/venv/bin/pip" install -q --disable-pip-version-check \
      "keystone==$KEYSTONE_VERSION" "gunicorn==$GUNICORN_VERSION"
  fi
  rm -rf "$dir/state" "$dir/run" "$dir/identities.env"
  mkdir -p "$dir/state/fernet-keys" "$dir/state/credential-keys"
  write_keystone_conf "$dir" "" 3600 >"$dir/keystone.conf"
  local manage=("$dir/venv/bin/keystone-manage" --config-file "$dir/keystone.conf")
  local port
  port=$(free_port "$dir")
  echo "creating the database and keys in $dir/state"
  "${manage[@]}" db_sync 2>/dev/null
  "${manage[@]}" fernet_setup --keystone-user root --keystone-group root 2>/dev/null
  "${manage[@]}" credential_setup --keystone-user root --keystone-group root 2>/dev/null
  "${manage[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-region-id RegionOne \
    --bootstrap-public-url "http://127.0.0.1:$port/v3" \
    --bootstrap-internal-url "http://127.0.0.1:$port/v3" \
    --bootstrap-admin-url "http://127.0.0.1:$port/v3" 2>/dev/null
  echo "creating the test identities"
  start_instance "$dir" "$port" 3600
  local status=0
  api "$dir" identities "$port" "$ADMIN_PASSWORD" || status=$?
  stop_instance "$dir" "$port"
  rm -rf "${dir:?}/run/$port"
  [[ $status -eq 0 ]] || die "creating the test identities failed"
  echo "keystone set up in $dir (identities in $dir/identities.env)"
}

running_ports() {
  local dir=$1 run port
  for run in "$dir"/run/*/; do
    [[ -d $run ]] || continue
    port=$(basename "$run")
    pid_of "$dir" "$port" >/dev/null && echo "$port"
  done
  return 0
}

# Removes the directories of instances that stopped a while ago (recent
# ones may belong to an instance still starting).
prune_run_dirs() {
  local dir=$1 run
  [[ -d $dir/run ]] || return 0
  while IFS= read -r run; do
    pid_of "$dir" "$(basename "$run")" >/dev/null || rm -rf "$run"
  done < <(find "$dir/run" -mindepth 1 -maxdepth 1 -type d -mmin +10)
}

serve() {
  [[ $# -ge 2 ]] || die "usage: serve DIR PORT [--expiration SECONDS] [--watch-stdin]"
  local dir port=$2 expiration=3600 watch=false
  dir=$(abspath "$1")
  shift 2
  while [[ $# -gt 0 ]]; do
    case $1 in
      --expiration)
        expiration=${2:?--expiration needs seconds}
        shift 2
        ;;
      --watch-stdin)
        watch=true
        shift
        ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ -f $dir/identities.env ]] || die "$dir is not set up: run tools/keystone.sh setup $dir"
  [[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number"
  if $watch; then
    trap 'stop_instance "$dir" "$port"; exit 0' TERM INT HUP
  fi
  prune_run_dirs "$dir"
  start_instance "$dir" "$port" "$expiration"
  local others
  others=$(running_ports "$dir" | grep -vx "$port" || true)
  # shellcheck disable=SC2086
  if ! api "$dir" register "$port" "$ADMIN_PASSWORD" $others; then
    stop_instance "$dir" "$port"
    die "registering region port-$port failed"
  fi
  echo "ready http://127.0.0.1:$port"
  if $watch; then
    # In the background (with stdin passed explicitly) so that the traps
    # run while waiting.
    cat <&0 >/dev/null &
    wait $! || true
    stop_instance "$dir" "$port"
  fi
}

case "${1:-}" in
  setup)
    shift
    setup "$@"
    ;;
  serve)
    shift
    serve "$@"
    ;;
  stop)
    shift
    [[ $# -eq 2 ]] || die "usage: stop DIR PORT"
    stop_instance "$(abspath "$1")" "$2"
    ;;
  *)
    sed -n '2,24p' "$0" >&2
    exit 2
    ;;
esac
