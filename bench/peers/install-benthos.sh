#!/usr/bin/env bash
# Builds Benthos v4.27.0 (the benchmark's peer) into a cache directory and
# prints its path. Does nothing when the binary is already there.
#
#   bench/peers/install-benthos.sh            -> ~/.cache/moka-bridge/benthos-4.27.0/benthos
#   BENTHOS_DIR=/somewhere bench/peers/install-benthos.sh
#
# Why not `go install github.com/benthosdev/benthos/v4/cmd/benthos@v4.27.0`:
# `go install pkg@version` looks up the module's deprecation (its @v/list),
# which some module proxies refuse; and with Go >= 1.23 the link of
# parquet-go (a dependency) needs -checklinkname=0. So we build from the small
# module in bench/peers/benthos-build (go.mod pins v4.27.0, go.sum the hashes).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=4.27.0
DIR=${BENTHOS_DIR:-$HOME/.cache/moka-bridge/benthos-$VERSION}
BIN=$DIR/benthos
if [[ -x $BIN ]] && "$BIN" --version >/dev/null 2>&1; then
    echo "$BIN"
    exit 0
fi
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || { echo "install-benthos: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
mkdir -p "$DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$HERE/benthos-build/go.mod" "$HERE/benthos-build/go.sum" "$HERE/benthos-build/tools.go" "$work/"
echo "install-benthos: building Benthos $VERSION with $("$GO" version) (several minutes the first time)" >&2
(cd "$work" && "$GO" build -mod=mod -trimpath \
    -ldflags "-checklinkname=0 -X github.com/benthosdev/benthos/v4/internal/cli.Version=$VERSION" \
    -o "$BIN.tmp" github.com/benthosdev/benthos/v4/cmd/benthos)
mv "$BIN.tmp" "$BIN"
"$BIN" --version >&2
echo "$BIN"
