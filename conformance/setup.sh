#!/usr/bin/env bash
# Creates or refreshes conformance/.venv with the exact pins of
# conformance/requirements.txt, using the python3 found on PATH.
#
# Idempotent: a venv whose stamp matches the pins and the interpreter is kept
# as it is; a missing, broken or stale one is rebuilt from scratch.
#
# Usage: conformance/setup.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
requirements="$here/requirements.txt"
stamp="$venv/.conformance-stamp"

python=$(command -v python3) || { echo "setup.sh: python3 is not on PATH" >&2; exit 2; }
want=$( { "$python" -c 'import sys; print(sys.version)'; cat "$requirements"; } | sha256sum | cut -d' ' -f1)

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import placement, gabbi, gunicorn, psycopg2, pymysql' 2>/dev/null; then
    echo "setup.sh: $venv is up to date"
    exit 0
fi

echo "setup.sh: building $venv with $("$python" --version)"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$requirements"
"$venv/bin/python" -c 'import placement, gabbi, gunicorn, psycopg2, pymysql'
echo "$want" > "$stamp"
echo "setup.sh: $venv ready"
