#!/usr/bin/env bash
# Rewrites crates/placement-store/data/{resource_classes,traits}.txt from the
# exact os-resource-classes and os-traits releases placement 16.0.0 runs with.
#
# resource_classes.txt keeps os_resource_classes.STANDARDS order because the
# line number (from 0) is the class id upstream stores; traits.txt is sorted
# because trait ids are not fixed, only the set matters.
#
# Usage: tools/regen-standard-lists.sh   (needs python3 with venv and PyPI)
set -euo pipefail

ORC_VERSION=1.1.0
OS_TRAITS_VERSION=3.9.0

repo_root=$(cd "$(dirname "$0")/.." && pwd)
data_dir="$repo_root/crates/placement-store/data"
venv=$(mktemp -d "${TMPDIR:-/tmp}/placement-regen-XXXXXX")
trap 'rm -rf "$venv"' EXIT

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    "os-resource-classes==$ORC_VERSION" "os-traits==$OS_TRAITS_VERSION"

"$venv/bin/python" - "$data_dir" <<'PY'
import pathlib
import sys

import os_resource_classes
import os_traits

out = pathlib.Path(sys.argv[1])
classes = [str(name) for name in os_resource_classes.STANDARDS]
traits = sorted(str(name) for name in os_traits.get_traits())
(out / "resource_classes.txt").write_text("\n".join(classes) + "\n")
(out / "traits.txt").write_text("\n".join(traits) + "\n")
print(f"{len(classes)} resource classes, {len(traits)} traits written to {out}")
PY
