#!/usr/bin/env bash
# The fault suite at long scale (docs/reliability.md): builds, starts a Kafka
# broker (scripts/kafka.sh), runs the checker's self-test and
# tests/integration/test_faults.py with MOKA_FAULTS_SCALE=long, and prints the
# counts of every fault as a table.
#   scripts/faults.sh                      the long suite (about 15 minutes)
#   MOKA_FAULTS_SCALE=short scripts/faults.sh     the CI scale
#   scripts/faults.sh -k kill9            pytest arguments pass through
# FAULTS_RESULTS=FILE chooses the JSON-lines results file (default
# build/faults-results-<UTC time>.jsonl). KAFKA_BROKERS set: use that broker
# (the broker-restart test always starts its own).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export MOKA_FAULTS_SCALE=${MOKA_FAULTS_SCALE:-long}
mkdir -p build
export FAULTS_RESULTS=${FAULTS_RESULTS:-$ROOT/build/faults-results-$(date -u +%Y%m%dT%H%M%SZ).jsonl}

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

if [[ -z ${KAFKA_BROKERS:-} ]]; then
    KDIR=$(mktemp -d /tmp/moka-bridge-faults-kafka.XXXXXX)
    export KAFKA_LAST_FILE=$KDIR.last
    cleanup() { scripts/kafka.sh stop "$KDIR" >/dev/null 2>&1 || true; rm -f "$KDIR.last"; }
    trap cleanup EXIT
    eval "$(scripts/kafka.sh start "$KDIR")"
    export KAFKA_BROKERS
fi

echo "== fault suite, scale $MOKA_FAULTS_SCALE, broker $KAFKA_BROKERS, results $FAULTS_RESULTS"
rc=0
(cd tests/integration &&
    MOKA_BUILD_DIR=$ROOT/build MOKA_SOURCE_DIR=$ROOT \
    python3 -m pytest -q -p no:cacheprovider test_checker.py test_faults.py "$@") || rc=$?
echo
echo "== counts ($(date -u +%Y-%m-%d), scale $MOKA_FAULTS_SCALE)"
if [[ -s $FAULTS_RESULTS ]]; then
    python3 tests/integration/faults_common.py "$FAULTS_RESULTS"
else
    echo "no results recorded"
fi
exit $rc
