#!/usr/bin/env bash
# Rewrites the key table of docs/configuration.md from
# `moka-bridge check-config --reference` (test_config checks they agree).
#   scripts/update-config-reference.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/moka-bridge
ref=$(mktemp)
"$bin" check-config --reference >"$ref"
python3 - "$ref" <<'PY'
import sys
ref = open(sys.argv[1]).read().rstrip("\n").split("\n")
path = "docs/configuration.md"
lines = open(path).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("| Key |"))
end = start
while end < len(lines) and lines[end].startswith("|"):
    end += 1
table = [l for l in ref if l.startswith("|")]
lines[start:end] = table
open(path, "w").write("\n".join(lines))
PY
rm -f "$ref"
