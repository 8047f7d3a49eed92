#!/usr/bin/env bash
# The benchmark, from a fresh machine: installs what is needed, builds
# moka-bridge and moka-sim (Release, in build-release/), installs the peers
# (Benthos 4.27.0 built with Go, the Python consumer's packages, matplotlib),
# then runs bench/run.py, which starts its own Kafka broker unless --brokers is
# given. Every argument passes through to bench/run.py:
#
#   scripts/bench.sh                                   full run (hours on 2 cores)
#   scripts/bench.sh --events-scale 0.1 --scenarios a,b
#   scripts/bench.sh --systems moka-bridge --sweep
#
# Environment: BUILD_DIR (default build-release), GO (Go >= 1.22 for Benthos;
# default: `go` on PATH, else /usr/local/go/bin/go). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-release}

scripts/setup.sh

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target moka-bridge moka-sim

python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install -q matplotlib

# Benthos only when a benthos system is selected (default systems include it).
systems="moka-bridge,benthos,python"
prev=""
for a in "$@"; do
    [[ $prev == --systems ]] && systems=$a
    [[ $a == --systems=* ]] && systems=${a#--systems=}
    prev=$a
done
args=()
if [[ $systems == *benthos* ]]; then
    BENTHOS=$(bench/peers/install-benthos.sh)
    args+=(--benthos "$BENTHOS")
fi

exec python3 bench/run.py --bridge "$BUILD_DIR/moka-bridge" \
    --sim "$BUILD_DIR/src/sim/moka-sim" "${args[@]}" "$@"
