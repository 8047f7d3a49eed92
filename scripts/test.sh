#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit and integration)
# under ctest against a real Kafka broker started here and moka-sim.
#   scripts/test.sh            all tests
#   scripts/test.sh -L unit    only unit tests (any ctest arguments pass through)
# The unit and integration tests also run once more in an AddressSanitizer/
# UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

echo "== unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMOKA_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan -L unit --output-on-failure

echo "== fuzz targets (libFuzzer, docs/fuzzing.md)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh

echo "== starting Kafka for the integration tests"
KDIR=$(mktemp -d /tmp/moka-bridge-test-kafka.XXXXXX)
cleanup() { "$ROOT/scripts/kafka.sh" stop "$KDIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
eval "$(scripts/kafka.sh start "$KDIR")"
export KAFKA_BROKERS KAFKA_DIR

echo "== all tests"
ctest --test-dir build --output-on-failure "$@"

# The integration suite once more with the AddressSanitizer/UBSan build of
# moka-bridge and moka-sim: a sanitizer report on a bridge's stderr is not a
# JSON log line, so the harness fails the test; bridges still running at a
# test's end are stopped with SIGTERM so LeakSanitizer checks them too.
# test_deploy (static checks of the deployment files) is the same in both
# builds. MOKA_SKIP_ASAN_IT=1 skips this step, and so do ctest arguments
# (a selection of tests); either way it says so.
if [ -n "${MOKA_SKIP_ASAN_IT:-}" ]; then
    echo "== SKIPPED: integration tests under AddressSanitizer + UBSan (MOKA_SKIP_ASAN_IT is set)"
elif [ "$#" -ne 0 ]; then
    echo "== SKIPPED: integration tests under AddressSanitizer + UBSan (ctest arguments given: $*)"
else
    echo "== integration tests under AddressSanitizer + UBSan"
    MOKA_TEST_GRACEFUL_STOP=1 ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ctest --test-dir build-asan -L integration -E 'integration[.]test_deploy$' \
        --output-on-failure
fi
